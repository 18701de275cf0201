/* The response of a plain HTTP function (ofctx_main_opts_t.http, runtime
 * Knative): its status, headers and body, each set through a call that
 * copies what it is given. Each call returns OFCTX_ESETTLED once the
 * invocation has settled.
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_RESPONSE_H
#define OFCTX_RESPONSE_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The response of a plain HTTP function (Knative runtime): status, headers
 * and body, written when the invocation settles. Owned by the runtime; valid
 * until then, so send callbacks may still change it. */
typedef struct ofctx_response ofctx_response_t;

/* Sets the status code, 200-599 (default 200); the last call wins.
 * OFCTX_EINVAL for another code. */
OFCTX_EXTERN ofctx_err_t ofctx_response_set_status(ofctx_response_t *res, int status);
/* Adds a header (both strings copied), after those added before; a name
 * added twice is sent twice. OFCTX_EINVAL for a name that is not an HTTP
 * token, a value with control characters (CR, LF...), and for
 * Content-Length, Transfer-Encoding and Connection, which the server writes
 * itself. */
OFCTX_EXTERN ofctx_err_t ofctx_response_add_header(ofctx_response_t *res, const char *name,
                                                   const char *value);
/* Appends `len` bytes (copied) to the body. */
OFCTX_EXTERN ofctx_err_t ofctx_response_append(ofctx_response_t *res, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
