/* Internal jansson helpers shared by the parsers: Go-compatible key lookup,
 * JSONPath building, and quoting of user values inside error messages. */
#ifndef OFCTX_JSON_UTIL_H
#define OFCTX_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

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

/* `value` as JSON text (json_dumpb `flags`) in a new NUL-terminated buffer
 * from the library's allocator (free with ofctx__free), never from jansson's,
 * which the application may have replaced; NULL when out of memory. */
char *ofctx__json_text(const json_t *value, size_t flags);

/* json_string(s), or JSON null when `s` is NULL. */
json_t *ofctx__json_string_or_null(const char *s);

/* Whether `s` is non-empty and made only of letters, digits, '.', '-' and
 * '_': safe as a URL path segment or a host name. */
int ofctx__name_chars_ok(const char *s);

/* A Dapr component name: name characters, and not "." or "..". */
int ofctx__component_name_ok(const char *s);

/* Whether `s` is an IPv4 address or an IPv6 address (without brackets). */
int ofctx__ip_address_ok(const char *s);

/* Whether `s` may go into a sidecar URL as a pub/sub topic: Dapr takes the
 * rest of the publish path as the topic, so '/' may separate parts, but no
 * part may be empty, "." or ".." (which a path normalizer would remove,
 * addressing another topic or another API), and there is no '?' or '#'. */
int ofctx__topic_ok(const char *s);

/* The length (1-4) of the well-formed UTF-8 sequence that starts at `s`, or 0
 * when the bytes there are not one (bad lead byte, overlong form, surrogate,
 * past U+10FFFF, or cut short). */
size_t ofctx__utf8_len(const char *s);

/* Whether `s` is well-formed UTF-8 free of control characters (C0, DEL, C1)
 * and of bidirectional formatting characters: text that is safe to put in a
 * message, a log line or a header. */
int ofctx__text_ok(const char *s);

/* Whether `s` is a CloudEvents String: UTF-8 without control characters
 * or noncharacters. */
int ofctx__ce_string_ok(const char *s);

/* Writes `s` as a double-quoted string shortened to fit `out` (ending in
 * `..."` when cut), for quoting user input in a message: quotes and
 * backslashes are escaped, bytes that are not UTF-8 become \xNN, control and
 * bidirectional formatting characters \uNNNN, and a cut never splits a
 * sequence or an escape. */
void ofctx__quote(char *out, size_t size, const char *s);

/* The media type of a Content-Type value: where it starts in `value` and
 * its length in `*len` (without parameters or surrounding blanks; borrowed,
 * never cut). */
const char *ofctx__media_type(const char *value, size_t *len);

/* Whether the media type of the Content-Type `value` is `type` (ASCII
 * case-insensitively). */
int ofctx__media_type_is(const char *value, const char *type);

/* Whether a Content-Type says JSON, as CloudEvents' JSON format reads
 * datacontenttype: a subtype "json" or one ending in "+json"; NULL (no
 * type) says JSON too. */
int ofctx__json_media(const char *content_type);

/* Appends `len` bytes of `s` as a JSON string (NUL bytes as \u0000): 0, or
 * -1 when they are not UTF-8 (nothing is added); out of memory marks `b`
 * failed. */
int ofctx__buf_json_string(ofctx__buf_t *b, const char *s, size_t len);

#endif
