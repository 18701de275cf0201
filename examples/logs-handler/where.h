/* A rule's `where` conditions ("status >= 500", "path !~ ^/healthz",
 * "level in [error, fatal]"), parsed at compile time and evaluated on a
 * view. Operators: ==, !=, <, <=, >, >=, =~, !~ (PCRE2, unanchored search),
 * in [a, b, ...]; a value may be quoted with " or '. `status` takes classes
 * (4xx, 5xx) in ==, != and in. <, <=, > and >= compare numbers (a value that
 * is not one makes the condition false); == and != compare numbers when both
 * sides are numbers, else text. A missing field makes every condition on it
 * false except != and !~. A list owns everything it holds. */
#ifndef LH_WHERE_H
#define LH_WHERE_H

#include <stddef.h>

#include <jansson.h>

#include "matcher.h"
#include "view.h"

typedef struct lh_where lh_where_t;

/* `list` (a JSON array of strings) at `path` ("rules[0].match.where") for a
 * rule parsing with `parse` whose regex is `regex` (NULL: none): 0 and
 * `*out` (an empty list for an empty array), or -1 with the element's path
 * and the fault in `err`. */
int lh_where_compile(lh_where_t **out, const json_t *list, const char *path, lh_parse_t parse,
                     const pcre2_code *regex, char *err, size_t size);
void lh_where_free(lh_where_t *w);

/* 1 when every condition holds on `v`; `md` is match data for the regexes. */
int lh_where_test(const lh_where_t *w, lh_view_t *v, pcre2_match_data *md);

/* The statuses (an array of 600 flags) a record must have for the list to
 * hold, or NULL when the list also holds for a record without one. */
const unsigned char *lh_where_statuses(const lh_where_t *w);

/* The strings one of which a record's raw bytes hold when condition `i` of
 * the list holds (a text it must equal, literals its regex needs), for a
 * field the record spells as it is (the metadata, the line, what the access
 * log cuts from it): their count (at most `max`) in `out`; 0 when none is
 * known or `i` is past the end. */
size_t lh_where_literals(const lh_where_t *w, size_t i, lh_prefix_t *out, size_t max);
/* The list's conditions: how many (0 for NULL). */
size_t lh_where_count(const lh_where_t *w);

#endif
