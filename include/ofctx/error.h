/* libofctx errors: one enum for every function, a static text per code, and
 * an optional ofctx_error_t out-parameter that says where a problem is. */
#ifndef OFCTX_ERROR_H
#define OFCTX_ERROR_H

#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every code libofctx returns. OFCTX_OK is 0; codes are only ever appended,
 * never renumbered or removed. Be prepared for codes added later. */
#define OFCTX_ERRNO_MAP(XX)                                                                        \
  XX(OK, "success")                                                                                \
  XX(ENOMEM, "out of memory")                                                                      \
  XX(EINVAL, "invalid argument")                                                                   \
  XX(ECONTEXT, "invalid function context")                                                         \
  XX(ENOCONTEXT, "no function context")                                                            \
  XX(EENV, "invalid environment variable")                                                         \
  XX(EIO, "input/output error")                                                                    \
  XX(ENOOUTPUT, "no output of that name")                                                          \
  XX(ESETTLED, "the invocation has already settled")                                               \
  XX(ESEND, "the sidecar did not accept the send")                                                 \
  XX(EOPTION, "invalid runtime option")                                                            \
  XX(ESTATE, "the sidecar did not perform the state request")                                      \
  XX(ECONFLICT, "the state's ETag did not match")                                                  \
  XX(ENOTFOUND, "no value at that path")                                                           \
  XX(ECOMPONENT, "invalid Dapr component")

typedef enum {
#define OFCTX_ERRNO_GEN(name, text) OFCTX_##name,
  OFCTX_ERRNO_MAP(OFCTX_ERRNO_GEN)
#undef OFCTX_ERRNO_GEN
} ofctx_err_t;

/* The message buffer of ofctx_error_t, including the terminating NUL. */
#define OFCTX_ERROR_MESSAGE_SIZE 512

/* Filled by functions that take an `ofctx_error_t *err` (which may be NULL):
 * `code` equals the returned code and `message` names where the problem is,
 * e.g. `FUNC_CONTEXT: $.inputs.kafka.componentType: "state.redis" is not
 * bindings.* or pubsub.*`. On success `code` is OFCTX_OK and `message` is "".
 * Caller-allocated; it holds no pointers, so nothing to free. */
typedef struct ofctx_error {
  ofctx_err_t code;
  char message[OFCTX_ERROR_MESSAGE_SIZE];
} ofctx_error_t;

/* A static English text for `code` ("unknown error" for codes this version
 * does not know). Never NULL, never freed. */
OFCTX_EXTERN const char *ofctx_strerror(ofctx_err_t code);

/* The code's symbolic name without the prefix, e.g. "ECONTEXT"; static. */
OFCTX_EXTERN const char *ofctx_err_name(ofctx_err_t code);

#ifdef __cplusplus
}
#endif
#endif
