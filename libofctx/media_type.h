/* Internal: media types, as a Content-Type names them and as data shows
 * them. The strings returned are borrowed: from the value given, or
 * static. */
#ifndef OFCTX_MEDIA_TYPE_H
#define OFCTX_MEDIA_TYPE_H

#include <stddef.h>

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

/* The media type data carries when nobody said: "application/json" for
 * JSON, "text/plain; charset=utf-8" for other UTF-8 text without NUL
 * bytes (and for no data), else "application/octet-stream". Static. */
const char *ofctx__media_type_of(const void *data, size_t len);

#endif
