/* Internal: filling an ofctx_error_t. */
#ifndef OFCTX_ERROR_MSG_H
#define OFCTX_ERROR_MSG_H

#include "ofctx/error.h"

/* Sets err->code and a printf-formatted err->message (truncated to fit) when
 * `err` is not NULL; returns `code` so callers can `return ofctx__error(...)`. */
ofctx_err_t ofctx__error(ofctx_error_t *err, ofctx_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks `err` (if not NULL) as success: code OFCTX_OK, empty message. */
void ofctx__error_clear(ofctx_error_t *err);

#endif
