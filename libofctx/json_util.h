/* Internal: jansson helpers shared by the parsers and the codecs: Go's key
 * lookup, JSON paths for messages, JSON text in the library's memory, and
 * a JSON string appended to a buffer. */
#ifndef OFCTX_JSON_UTIL_H
#define OFCTX_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* Big enough for any path we print; longer paths are truncated. */
#define OFCTX_PATH_SIZE 256

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

/* `value` as JSON text (json_dumpb `flags`) in a new NUL-terminated buffer
 * from the library's allocator (free with ofctx__free), never from jansson's,
 * which the application may have replaced; NULL when out of memory. */
char *ofctx__json_text(const json_t *value, size_t flags);

/* json_string(s), or JSON null when `s` is NULL. */
json_t *ofctx__json_string_or_null(const char *s);

/* Appends `len` bytes of `s` as a JSON string (NUL bytes as \u0000): 0, or
 * -1 when they are not UTF-8 (nothing is added); out of memory marks `b`
 * failed. */
int ofctx__buf_json_string(ofctx__buf_t *b, const char *s, size_t len);

#endif
