/* Internal: JSON text as RFC 8259 defines it, read without building values.
 *
 * jansson refuses valid JSON that it cannot represent: integers beyond 64
 * bits, numbers beyond a double (1e999), "\u0000" (without a flag), lone
 * surrogates ("\ud800") and nesting deeper than 2048. Whatever decides
 * whether data is JSON, or carries JSON through (event data, a binding
 * send, a reply), uses this scanner instead and keeps the bytes as they
 * came. Nesting costs no stack: depth is kept in a bit stack. */
#ifndef OFCTX_JSON_SCAN_H
#define OFCTX_JSON_SCAN_H

#include <stddef.h>

#include "buf.h"
#include "ofctx/error.h"

/* Whether `len` bytes of `data` are one JSON text: white space, one value
 * of any type, white space, and nothing else (no byte order mark). */
int ofctx__json_valid(const void *data, size_t len);

/* The length of the one JSON value that starts at s[0] (no white space
 * before it), or 0 when no valid value starts there. What follows it is not
 * looked at. */
size_t ofctx__json_value_len(const char *s, size_t len);
/* The same for a string token: 0 when no valid string starts at s[0]. */
size_t ofctx__json_string_len(const char *s, size_t len);

/* Called for each member of an object, in order: `key` is the member name
 * as a JSON string token (quotes included; decode it with
 * ofctx__json_string_decode), `value` the member's value as it is written.
 * Both point into the text. A non-zero return stops the walk. */
typedef int (*ofctx__json_member_fn)(void *arg, const char *key, size_t key_len, const char *value,
                                     size_t value_len);

/* Walks the members of the object that the JSON text `s` holds: 0, -1 when
 * the text is not JSON, -2 when its value is not an object (nothing is
 * called then), or what `fn` returned to stop. */
int ofctx__json_members(const char *s, size_t len, ofctx__json_member_fn fn, void *arg);
/* The same for text known to be one JSON value (a value that a walk of
 * valid text handed out): nothing is checked again. -2 when not an object. */
int ofctx__json_members_valid(const char *s, size_t len, ofctx__json_member_fn fn, void *arg);

/* Where the containers of one valid JSON text start and end, recorded as
 * it is validated, so that its walks step over a container at once instead
 * of reading it again: a bulk delivery's entries, each entry's event, each
 * event's data. Only the outermost OFCTX__JSON_MAP_DEPTH levels are kept
 * (deeper ones are stepped over), so nesting still costs no stack. */
#define OFCTX__JSON_MAP_DEPTH 8
typedef struct {
  const char *text;
  size_t *spans; /* start and end (one past) offsets, in order of start */
  size_t count, cap;
} ofctx__json_map_t;

/* Whether `len` bytes of `s` are one JSON text (as ofctx__json_valid
 * decides), filling `map`, which ofctx__json_map_free frees either way;
 * out of memory only leaves containers out of it. */
int ofctx__json_map(ofctx__json_map_t *map, const char *s, size_t len);
void ofctx__json_map_free(ofctx__json_map_t *map);
/* ofctx__json_members_valid for a value of the map's text, `s` pointing
 * into it; `map` may be NULL. */
int ofctx__json_members_in(const ofctx__json_map_t *map, const char *s, size_t len,
                           ofctx__json_member_fn fn, void *arg);

/* Called for each element of an array, in order, with the element as it is
 * written; a non-zero return stops the walk. */
typedef int (*ofctx__json_element_fn)(void *arg, const char *value, size_t value_len);

/* Walks the elements of the array that the JSON text `s` (or a value of it:
 * white space around is allowed) holds: 0, -1 when the text is not JSON,
 * -2 when it is not an array, or what `fn` returned to stop. */
int ofctx__json_elements(const char *s, size_t len, ofctx__json_element_fn fn, void *arg);
/* The same for text known to be one JSON value: nothing is checked again. */
int ofctx__json_elements_valid(const char *s, size_t len, ofctx__json_element_fn fn, void *arg);
/* The same for a value of a map's text (`map` may be NULL). */
int ofctx__json_elements_in(const ofctx__json_map_t *map, const char *s, size_t len,
                            ofctx__json_element_fn fn, void *arg);

/* Appends the characters of the JSON string token `s` (quotes included, as
 * ofctx__json_value_len found it) as UTF-8: escapes decoded, "\u0000" as a
 * NUL byte, and a lone surrogate, which no UTF-8 can hold, as U+FFFD.
 * Returns how many lone surrogates were replaced so; marks `out` failed
 * when out of memory (`out->data` is set otherwise, even for ""). */
int ofctx__json_string_decode(ofctx__buf_t *out, const char *s, size_t len);

/* The same characters into `out`, which has room for `len` - 2 bytes
 * (they never take more): how many; `*lone` the lone surrogates replaced.
 * No NUL is added. */
size_t ofctx__json_string_copy(char *out, const char *s, size_t len, int *lone);
/* Whether the characters of the JSON string token `s` (quotes included)
 * are the NUL-terminated `name`, byte for byte. */
int ofctx__json_string_is(const char *s, size_t len, const char *name);

/* The length of the value at s[0] in text known to be valid JSON (a value
 * a walk of valid text reached): nothing is checked again. */
size_t ofctx__json_valid_len(const char *s, size_t len);

/* The bytes that the JSON string token `s` (quotes included) holds as
 * base64, into `*out`: a new buffer (free it with ofctx__free), `*out_len`
 * bytes followed by a NUL. OFCTX_OK; OFCTX_EINVAL when its characters are
 * not base64; OFCTX_ENOMEM. Base64 written without escapes, as it nearly
 * always is, is decoded where it stands. */
ofctx_err_t ofctx__json_base64(const char *s, size_t len, char **out, size_t *out_len);

#endif
