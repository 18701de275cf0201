/* Internal: text that is no JSON: whether a name, an address, a topic or a
 * string is acceptable, UTF-8 sequences, user values quoted safely for
 * messages, and printf's numbers with a '.' point. Every result is the
 * caller's: nothing is allocated here. */
#ifndef OFCTX_TEXT_H
#define OFCTX_TEXT_H

#include <stddef.h>

/* Big enough for any quoted value we print (values are shortened to fit). */
#define OFCTX_QUOTE_SIZE 96

/* Whether `s` is non-empty and made only of letters, digits, '.', '-' and
 * '_': safe as a URL path segment or a host name. */
int ofctx__name_chars_ok(const char *s);

/* Whether `s` is a Dapr component name: name characters, and not "." or
 * "..". */
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

/* Whether the `n` bytes at `s` are well-formed UTF-8, every sequence whole
 * within them (NUL bytes are UTF-8 too). */
int ofctx__utf8_valid(const char *s, size_t n);

/* Whether `s` is well-formed UTF-8 free of control characters (C0, DEL, C1)
 * and of bidirectional formatting characters: text that is safe to put in a
 * message, a log line or a header. */
int ofctx__text_ok(const char *s);

/* Whether `s` is a CloudEvents String: UTF-8 without control characters
 * or noncharacters. It checks attribute values in either mode (headers,
 * and the members of a structured event). */
int ofctx__ce_string_ok(const char *s);

/* Writes `s` as a double-quoted string shortened to fit `out` (ending in
 * `..."` when cut), for quoting user input in a message: quotes and
 * backslashes are escaped, bytes that are not UTF-8 become \xNN, control and
 * bidirectional formatting characters \uNNNN, and a cut never splits a
 * sequence or an escape. */
void ofctx__quote(char *out, size_t size, const char *s);

/* A number that printf wrote in `text` (NUL-terminated, changed in place)
 * with `point` as its decimal point, made to use '.': the point of
 * LC_NUMERIC (`localeconv()`), which printf follows, when `point` is NULL.
 * Wire formats (JSON, the Prometheus text format, log fields) are read with
 * '.' whatever locale a function set (a "de_DE" one writes 0,5). */
void ofctx__dot_decimal(char *text, const char *point);

/* The next item of the comma-separated list at `*s` ("a, b,c"), spaces and
 * tabs around it trimmed: its first byte and `*len` (0 for an empty item),
 * `*s` moved past it and its comma; NULL at the end of the list. */
const char *ofctx__list_next(const char **s, size_t *len);

#endif
