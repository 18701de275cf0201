/* Internal: base64 (RFC 4648, standard alphabet), for CloudEvents'
 * data_base64. */
#ifndef OFCTX_BASE64_H
#define OFCTX_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Decodes `len` characters of `in` into a new buffer (free with ofctx__free;
 * NUL-terminated, `*out_len` bytes). Padding is optional; white space and
 * any other character outside the alphabet fail. NULL when `in` is not
 * base64 or memory runs out. */
char *ofctx__base64_decode(const char *in, size_t len, size_t *out_len);

/* Whether `in` is base64 as _decode takes it (allocates nothing). */
int ofctx__base64_valid(const char *in, size_t len);

/* Appends `data` base64-encoded, with padding, to `b`. */
void ofctx__base64_encode(ofctx__buf_t *b, const void *data, size_t len);

#endif
