/* Internal jansson helpers shared by the parsers: Go-compatible key lookup,
 * JSONPath building, and quoting of user values inside error messages. */
#ifndef OFCTX_JSON_UTIL_H
#define OFCTX_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

/* Big enough for any path we print; longer paths are truncated. */
#define OFCTX_PATH_SIZE 256
/* Big enough for any quoted value we print (values are shortened to fit). */
#define OFCTX_QUOTE_SIZE 96

/* The member `key` of `obj` the way Go's encoding/json finds it: an exact
 * match first, else the first member whose name matches case-insensitively.
 * Borrowed; NULL when absent or when `obj` is not an object. */
json_t *ofctx__json_member(const json_t *obj, const char *key);

/* "a string", "a number", "an object", "an array", "a boolean" or "null". */
const char *ofctx__json_kind(const json_t *value);

/* Writes `parent` + `.key` (or `["key"]` when the key is not a plain name)
 * into `out`. */
void ofctx__json_path(char *out, size_t size, const char *parent, const char *key);

/* Writes `parent` + `[index]` into `out`. */
void ofctx__json_index(char *out, size_t size, const char *parent, size_t index);

/* Writes `s` as a double-quoted, escaped string shortened to fit `out`, for
 * quoting user input in a message without passing control bytes through. */
void ofctx__quote(char *out, size_t size, const char *s);

#endif
