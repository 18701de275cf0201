/* The select matchers of a rule (`"VALUE"`, `"=~RE"`, `"!=VALUE"`,
 * `"!~RE"`, `"*"`) and the regex compiler the rules share: PCRE2 (UTF,
 * JIT), with PCRE2's message and offset in errors. A list holds when any of
 * its matchers holds; an empty list holds for any value. A list owns its
 * strings' copies and its compiled patterns. */
#ifndef LH_MATCHER_H
#define LH_MATCHER_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include <jansson.h>

typedef enum { LH_MATCH_ANY, LH_MATCH_EQ, LH_MATCH_NE, LH_MATCH_RE, LH_MATCH_NRE } lh_match_kind_t;

typedef struct {
  lh_match_kind_t kind;
  char *text; /* EQ, NE: the value; RE, NRE: the pattern */
  size_t len;
  pcre2_code *re;
} lh_matcher_t;

typedef struct {
  lh_matcher_t *items;
  size_t count;
} lh_matchers_t;

/* `pattern` compiled (anchored at both ends when `whole`) with JIT: the
 * code, or NULL with "PATH: \"SHOWN\": PCRE2 error at offset N: message"
 * in `err` (`shown` is the text as the user wrote it). */
pcre2_code *lh_regex_compile(const char *pattern, int whole, const char *path, const char *shown,
                             char *err, size_t size);

/* `re` on `s` (`n` bytes of UTF-8) with `md`: 1 when it matches, 0 when
 * it does not, -1 when it cannot tell (its match limit of a million steps
 * passed): then a condition on it, =~ or !~, is false. */
int lh_regex_test(const pcre2_code *re, const char *s, size_t n, pcre2_match_data *md);

/* `list` (a JSON array of matcher strings) at `path` ("rules[0].select.pod")
 * into `out`: 0, or -1 with the element's path and the fault in `err`. */
int lh_matchers_compile(lh_matchers_t *out, const json_t *list, const char *path, char *err,
                        size_t size);
void lh_matchers_free(lh_matchers_t *m);

/* 1 when `value` (`len` bytes; NULL is the empty string) passes the list.
 * `md` is match data large enough for one pair. */
int lh_matchers_test(const lh_matchers_t *m, const char *value, size_t len, pcre2_match_data *md);

/* A string that a regex's matches start with (a prefilter's literal). */
#define LH_PREFIX_SIZE 48
typedef struct {
  char text[LH_PREFIX_SIZE]; /* NUL-terminated */
  size_t len;
} lh_prefix_t;

/* The strings one of which starts every match of `pattern` (after a `^`):
 * literal characters up to the first that is not, a group of literal
 * branches spelled out ("\\[(ERROR|Error)\\]": "[ERROR]", "[Error]"), one set
 * per top-level branch. Each is at least one character, and none holds a
 * character that JSON text escapes (", \\, /, controls): the raw record
 * spells it as the line holds it, unless a \\u escape hides it. Their count,
 * at most `max`, in `out`; 0 when not every match is known to start with
 * one (a class, a wildcard, an optional part or an option first). */
size_t lh_regex_prefixes(const char *pattern, lh_prefix_t *out, size_t max);

#endif
