/* Annotation templates: text with {{name}} placeholders, checked once when
 * the rules are compiled and rendered for each notification.
 *
 *   - A placeholder is "{{", a name, "}}"; spaces around the name are
 *     allowed ({{ count }}). A name is letters, digits, '_', '-' and '.'.
 *   - "{{{{" is a literal "{{" (so "{{{{count}}" renders "{{count}}"); any
 *     other brace is literal text.
 *   - The built-in names: count, new_count, total, window, rule, severity,
 *     first_seen, last_seen, suppressed, samples. Besides: a group_by name
 *     (the key's value), first.FIELD and last.FIELD (a field of the first
 *     and the last match). A built-in name wins over a group_by name.
 *   - A name with no value (a field the record did not have) renders as
 *     the empty string.
 *   - The output is bounded by its buffer and is valid UTF-8: invalid bytes
 *     of a value become U+FFFD, a cut never splits a character.
 *
 * Nothing here allocates; every string is borrowed. */
#ifndef LH_TEMPLATE_H
#define LH_TEMPLATE_H

#include <stddef.h>

/* The longest name inside a placeholder. */
#define LH_TEMPLATE_NAME_MAX 128

/* What a rule's templates may name besides the built-in names. */
typedef struct {
  const char *const *key; /* the group_by names */
  size_t key_count;
  /* 1 when FIELD (of first.FIELD, last.FIELD) is a field of the rule's
   * records (status, level, error.kind, a named group, ...); NULL: any */
  int (*field)(void *arg, const char *field, size_t len);
  void *arg;
} lh_template_names_t;

/* 0 when `tmpl` is a valid template whose names are all known, else -1
 * with a message in `err` naming the offset: `unknown name "cont" at
 * offset 3 (did you mean "count"?)`, `unclosed "{{" at offset 12`. */
int lh_template_check(const char *tmpl, const lh_template_names_t *names, char *err, size_t size);

/* The fields a template needs from the records: `each` is called with
 * FIELD for every first.FIELD and last.FIELD placeholder and with every
 * other name that is not built in (a group_by name, itself a field); the
 * name is not NUL-terminated, and comes once per placeholder (possibly
 * more than once per field). The count of placeholders, or -1 (and no
 * call) when the template is not valid. */
int lh_template_fields(const char *tmpl, void (*each)(void *arg, const char *name, size_t len),
                       void *arg);

/* A placeholder's value: the text (borrowed, copied before the next call),
 * or NULL for none. `name` is not NUL-terminated. */
typedef const char *(*lh_template_value_fn)(void *arg, const char *name, size_t len);

/* `tmpl` with every placeholder replaced by its value, into `out` (always
 * NUL-terminated when size > 0). The length written. */
size_t lh_template_render(const char *tmpl, lh_template_value_fn value, void *arg, char *out,
                          size_t size);

/* `in` as valid UTF-8 into `out` (at most size - 1 bytes, NUL-terminated):
 * invalid bytes become U+FFFD, and a cut falls between characters. The
 * length written. */
size_t lh_utf8_copy(const char *in, size_t len, char *out, size_t size);

/* 1 when `in` (len bytes) is valid UTF-8 without a NUL byte. */
int lh_utf8_valid(const char *in, size_t len);

/* `seconds` as the rules file writes durations: 90s, 5m, 1h, 1d. */
void lh_duration_format(double seconds, char out[32]);

#endif
