/* Internal: calls from the function to its Dapr sidecar's HTTP API, made
 * with libcurl's multi interface on the runtime's libuv loop, so that no call
 * ever blocks the loop. Connections are kept alive and reused.
 *
 * Retries (retry.h): a 5xx answer (and 408 or 429), a connection failure or
 * a timeout is tried again after the policy's back-off, up to `max_attempts`
 * in all, and a Retry-After on a 429 or 503 is honoured within its cap; any
 * other 4xx fails at once (with the policy's gateway_only, any status but
 * 429, 502, 503 and 504). */
#ifndef OFCTX_DAPR_HTTP_CLIENT_H
#define OFCTX_DAPR_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ofctx/error.h"
#include "retry.h"

typedef struct ofctx__dapr_http_client ofctx__dapr_http_client_t;

/* The outcome of a call. `status` is the last HTTP status, 0 when no answer
 * came; `ok` is 1 for a 2xx; `error` says what went wrong (static or valid
 * during the callback only), NULL when ok; the body is valid during the
 * callback only. */
typedef struct {
  int ok;
  int status;
  const char *error;
  const char *body;
  size_t body_len;
  int attempts;
  int cancelled;    /* the client was closed before the call could end */
  const char *etag; /* the answer's ETag header, "" when none; valid as the body */
} ofctx__dapr_result_t;

typedef void (*ofctx__dapr_done_fn)(void *arg, const ofctx__dapr_result_t *result);

/* `host` and `token` (may be NULL) are copied. Opens libcurl if it is not
 * open yet. OFCTX_OK; OFCTX_ESEND (after a logged error) when libcurl cannot
 * be opened or set up; OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_http_client_new(ofctx__dapr_http_client_t **out, uv_loop_t *loop,
                                        const char *host, int port, const char *token,
                                        const ofctx__retry_policy_t *policy);

/* The same client for another HTTP server (the OTLP exporter's, the direct mode's HTTP outputs):
 * `base` is "http://authority" or "https://authority" (copied), where calls' paths go; `token` (may
 * be NULL) as above. Never through a proxy, like the sidecar's. */
ofctx_err_t ofctx__http_client_new(ofctx__dapr_http_client_t **out, uv_loop_t *loop,
                                   const char *base, const char *token,
                                   const ofctx__retry_policy_t *policy);

/* Starts a call: `method` "GET", "POST" or "DELETE" (GET and DELETE
 * without a body), `path` from "/v1.0/...", `body`
 * copied, `headers` (NULL, or header lines "Name: value" ending with a NULL,
 * such as a traceparent) copied and sent after the client's own. `done` runs exactly once, later,
 * on the loop (also when the client is closed first: then with `cancelled` set). OFCTX_OK; or, and
 * then `done` never runs, OFCTX_ESEND (the client is closing, or the request cannot be started) or
 * OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_call(ofctx__dapr_http_client_t *client, const char *method,
                             const char *path, const char *content_type, const char *const *headers,
                             const void *body, size_t body_len, const ofctx__retry_policy_t *policy,
                             ofctx__dapr_done_fn done, void *arg);

/* Calls in flight. */
size_t ofctx__dapr_http_client_pending(const ofctx__dapr_http_client_t *client);

/* Cancels what is in flight (each `done` runs with "cancelled") and frees
 * the client once its handles are closed; `closed` (may be NULL) runs then. */
void ofctx__dapr_http_client_close(ofctx__dapr_http_client_t *client, void (*closed)(void *arg),
                                   void *arg);

#endif
