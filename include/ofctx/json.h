/* JSON text read where it stands: the values at a few paths of a document,
 * found in one pass without building a tree, handed out as the bytes the
 * text holds them with (zero copy), and decoded only when asked.
 *
 * A path is a list of member names, from the outermost object in: the keys
 * "kubernetes", "pod_name" lead to the value of `pod_name` in the object
 * that is the value of `kubernetes`. Names are compared with the members'
 * names decoded (escapes undone; a lone surrogate is U+FFFD), byte for
 * byte: exact and case-sensitive. Arrays are not indexed: a path that meets
 * an array, or any value other than an object, before its last key leads
 * nowhere. When an object holds a name twice, the last member counts, as
 * in jansson (RFC 8259 leaves it open): a path through the first one leads
 * nowhere unless the last one holds it as well.
 *
 * The text must be one JSON text as RFC 8259 defines it (white space
 * around one value; no byte order mark, no NUL byte outside a string).
 * Every function that takes a text checks all of it, so that nothing is
 * found in text that is not JSON; valid JSON that jansson refuses (integers
 * past 64 bits, 1e999, "\u0000", lone surrogates, deep nesting) is JSON
 * here. Nesting costs no stack, however deep.
 *
 * Values are borrowed from the caller's text: they point into it and live
 * as long as it does. Nothing here keeps state: every function may be called
 * from any thread (ofctx_json_number reads the C locale's decimal point, as
 * strtod does: not while another thread calls setlocale). */
#ifndef OFCTX_JSON_H
#define OFCTX_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "ofctx/error.h"
#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One path for ofctx_json_lookup: the caller sets `keys` (an array of
 * `nkeys` NUL-terminated names, borrowed for the call; a name cannot hold a
 * NUL byte, so a member whose name decodes to one is never found) and the
 * lookup sets `value` and `value_len`: the value's bytes in the text (no
 * white space around it), or NULL and 0 when the path leads nowhere. No
 * keys (`nkeys` 0) is the whole text's value. */
typedef struct {
  const char *const *keys;
  size_t nkeys;
  const char *value;
  size_t value_len;
} ofctx_json_path_t;

/* Finds the values of `npaths` paths in the `len` bytes of `text`, all in
 * one pass over it: a document's few members at the cost of reading it
 * once, however many there are. OFCTX_OK, each path's value set (NULL when
 * it leads nowhere); OFCTX_EINVAL when the text is not JSON, `text` is NULL
 * (unless `len` is 0, which is no JSON either), `paths` is NULL (unless
 * `npaths` is 0), or a path's `keys` or one of its names is NULL (then no
 * path is set); OFCTX_ENOMEM. */
OFCTX_EXTERN ofctx_err_t ofctx_json_lookup(const char *text, size_t len, ofctx_json_path_t *paths,
                                           size_t npaths);

/* The value at one path given as `nkeys` names (see ofctx_json_path_t):
 * OFCTX_OK and `*value` (`*value_len` bytes) set; OFCTX_ENOTFOUND when the
 * path leads nowhere (`*value` NULL); OFCTX_EINVAL as ofctx_json_lookup. */
OFCTX_EXTERN ofctx_err_t ofctx_json_getv(const char *text, size_t len, const char *const *keys,
                                         size_t nkeys, const char **value, size_t *value_len);

/* The same with the path written as one string: names separated by dots
 * ("kubernetes.labels.app"), a dot or a backslash inside a name written
 * "\." or "\\" ("labels.app\.kubernetes\.io/name" is the two names "labels"
 * and "app.kubernetes.io/name"). "" is the whole text's value; an empty
 * name is written between two dots. OFCTX_EINVAL also when `path` is NULL,
 * or a backslash in it is followed by anything but a dot or a backslash. */
OFCTX_EXTERN ofctx_err_t ofctx_json_get(const char *text, size_t len, const char *path,
                                        const char **value, size_t *value_len);

/* The kinds of JSON value, as ofctx_json_type tells them. */
typedef enum {
  OFCTX_JSON_INVALID = 0,
  OFCTX_JSON_OBJECT,
  OFCTX_JSON_ARRAY,
  OFCTX_JSON_STRING,
  OFCTX_JSON_NUMBER,
  OFCTX_JSON_TRUE,
  OFCTX_JSON_FALSE,
  OFCTX_JSON_NULL
} ofctx_json_type_t;

/* The kind of the value a lookup found, by its first byte (nothing else is
 * checked); OFCTX_JSON_INVALID for NULL, no bytes, or another first byte. */
OFCTX_EXTERN ofctx_json_type_t ofctx_json_type(const char *value, size_t value_len);

/* The characters of the JSON string `value` (its token as a lookup found
 * it, quotes included), as UTF-8 into the caller's `buf` of `size` bytes:
 * escapes decoded, "\u0000" as a NUL byte, a lone surrogate (which no
 * UTF-8 holds) as U+FFFD, then a NUL. The characters never take more bytes
 * than the token less its quotes, so `value_len` - 1 bytes always suffice.
 * OFCTX_OK and `*out_len` (may be NULL) the characters' length, the NUL
 * not counted; OFCTX_EINVAL when `value` is not one whole JSON string or
 * `buf` is too small for it (`buf` then holds "" when `size` is not 0). */
OFCTX_EXTERN ofctx_err_t ofctx_json_string(const char *value, size_t value_len, char *buf,
                                           size_t size, size_t *out_len);

/* The JSON number `value` (its token, as a lookup found it) as the nearest
 * double, whatever the C locale's decimal point: OFCTX_OK; OFCTX_EINVAL
 * when `value` is not one JSON number, or its magnitude is beyond a
 * double's (1e999; `*out` is then +-HUGE_VAL; a number too small for a
 * double gives 0 or the nearest subnormal, OFCTX_OK). */
OFCTX_EXTERN ofctx_err_t ofctx_json_number(const char *value, size_t value_len, double *out);

/* The JSON number `value` as an integer: OFCTX_OK; OFCTX_EINVAL when it is
 * not a JSON number written without a fraction or exponent ("3", "-12"; not
 * "3.0" nor "3e0"), or is beyond int64_t. */
OFCTX_EXTERN ofctx_err_t ofctx_json_integer(const char *value, size_t value_len, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
