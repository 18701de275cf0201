/* The value checks of the rules document (rules_doc.c's helpers): each
 * takes a value of the parsed file and its JSON path, and gives the
 * normalized value, or -1 with "PATH: message" in the check's err. The
 * values returned are new references the caller owns. */
#ifndef LH_RULES_CHECK_H
#define LH_RULES_CHECK_H

#include <stddef.h>

#include <jansson.h>

#define LH_PATH_SIZE 192

/* One check of a document: where its message goes, and the outputs. */
typedef struct {
  char *err;
  size_t size;
  int (*has_output)(void *arg, const char *name);
  void *arg;
} lh_check_t;

/* A JSON path, "rules[2].condition.window". */
typedef struct {
  char s[LH_PATH_SIZE];
} lh_path_t;

/* `parent.key` (or parent["key"] when the key is not a plain name). */
const char *lh_path_key(lh_path_t *buf, const char *parent, const char *key);
/* `parent[i]`. */
const char *lh_path_index(lh_path_t *buf, const char *parent, size_t i);

/* "PATH: message" into the check's err: -1. */
int lh_check_fail(lh_check_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds `value` (a new reference, or NULL after a failed check) to `out`
 * under `key`: 0, or -1 (the check's err says why when out of memory). */
int lh_check_put(lh_check_t *c, json_t *out, const char *key, json_t *value, const char *path);
/* "PATH: expected WHAT, got a list": -1. */
int lh_check_type(lh_check_t *c, const char *path, const char *what, const json_t *got);
/* `s` in double quotes, escaped and cut to 60 bytes, into buf. */
const char *lh_quote(char *buf, size_t size, const char *s);
#define LH_QUOTE_SIZE 256

/* The value of `key` in `obj`; JSON null counts as absent (NULL). */
json_t *lh_member(const json_t *obj, const char *key);

/* Every key of `obj` is one of `known` (NULL-terminated), or -1 naming the
 * first other one with the nearest known key. */
int lh_check_keys(lh_check_t *c, const json_t *obj, const char *path, const char *const *known);

/* Text for a label or an annotation: a string without control characters
 * (but newlines and tabs when `multiline`), non-empty. */
json_t *lh_check_text(lh_check_t *c, const json_t *v, const char *path, int multiline);
/* A duration (a number of seconds or "90", "30s", "5m", "1h", "1d") from
 * 1s to `max` seconds, as a real. */
json_t *lh_check_duration(lh_check_t *c, const json_t *v, const char *path, double max);
/* "1d" for 86400, "90s" for 90: a duration as the rules file writes it. */
const char *lh_duration_text(char *buf, size_t size, double seconds);
/* An integer from `min` to `max`. */
json_t *lh_check_integer(lh_check_t *c, const json_t *v, const char *path, json_int_t min,
                         json_int_t max);
/* A number from `min` to `max`, as a real. */
json_t *lh_check_number(lh_check_t *c, const json_t *v, const char *path, double min, double max);
/* One of the NULL-terminated `choices`, as a string. */
json_t *lh_check_choice(lh_check_t *c, const json_t *v, const char *path,
                        const char *const *choices);
/* A string or a list of non-empty strings, as a list. */
json_t *lh_check_strings(lh_check_t *c, const json_t *v, const char *path);
/* Select matchers: a string or a list of them, as a list; "*" → [] (any);
 * a negative matcher (!=, !~) must be the only one of its list. */
json_t *lh_check_matchers(lh_check_t *c, const json_t *v, const char *path);
/* A mapping of label names ([a-zA-Z_][a-zA-Z0-9_]*, not "__...") to text. */
json_t *lh_check_labels(lh_check_t *c, const json_t *v, const char *path, int multiline);
/* A mapping of Kubernetes label keys to select matchers. */
json_t *lh_check_label_select(lh_check_t *c, const json_t *v, const char *path);
/* A list of field names (a string is a list of one), distinct, at most 8. */
json_t *lh_check_fields(lh_check_t *c, const json_t *v, const char *path);

/* A rule's condition → {"kind": "any"} | {"kind": "count", "count", "window"}
 * | {"kind": "ratio", "ratio", "of": {"where"}, "min_total", "window"} |
 * {"kind": "absent", "absent", "forget_after"} into *out: 0 or -1. */
int lh_check_condition(lh_check_t *c, const json_t *v, const char *path, json_t **out);

#endif
