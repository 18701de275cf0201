/* Internal: unary gRPC calls from the function to its sidecar's gRPC API
 * (DAPR_HOST:DAPR_GRPC_PORT), over one cleartext HTTP/2 connection (nghttp2)
 * on the runtime's libuv loop, every call a stream of it. The connection is
 * made at the first call, made again after it is lost, and given up for a
 * new one when the sidecar sends GOAWAY; calls past the sidecar's limit of
 * concurrent streams wait for a free one.
 *
 * Retries: UNAVAILABLE (also a connection that failed or was lost, and a
 * stream the sidecar refused), DEADLINE_EXCEEDED (also an attempt that ran
 * past the policy's timeout) and RESOURCE_EXHAUSTED are tried again after
 * the policy's back-off, up to its max_attempts in all; any other status
 * fails at once. */
#ifndef OFCTX_GRPC_CLIENT_H
#define OFCTX_GRPC_CLIENT_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "ofctx/error.h"
#include "retry.h"

typedef struct ofctx__grpc_client ofctx__grpc_client_t;

/* How a call ended: `code` the last gRPC status (OFCTX__GRPC_OK when ok),
 * `error` what went wrong (valid during the callback), NULL when ok. */
typedef struct {
  int ok;
  int code;
  int attempts;
  int cancelled; /* the client was closed first */
  const char *error;
  /* the answer's message (without its frame prefix), when ok; valid during
   * the callback */
  const uint8_t *response;
  size_t response_len;
} ofctx__grpc_result_t;

typedef void (*ofctx__grpc_done_fn)(void *arg, const ofctx__grpc_result_t *result);

/* `host` (a DNS name, or an IP address, IPv6 bracketed or not) and `token`
 * (sent as dapr-api-token; may be NULL) are copied. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__grpc_client_new(ofctx__grpc_client_t **out, uv_loop_t *loop, const char *host,
                                   int port, const char *token);

/* Calls `path` ("/dapr.proto.runtime.v1.Dapr/PublishEvent": a string that
 * outlives the call, such as a literal) with the request message `msg`
 * (packed here). `done` runs exactly once, later, on the loop, never inside
 * this call. OFCTX_OK; or OFCTX_ENOMEM, OFCTX_ESEND (the client is
 * closing), and then `done` never runs. */
ofctx_err_t ofctx__grpc_client_call(ofctx__grpc_client_t *client, const char *path,
                                    const ProtobufCMessage *msg,
                                    const ofctx__retry_policy_t *policy, ofctx__grpc_done_fn done,
                                    void *arg);

/* The same, and when the sidecar answers UNIMPLEMENTED (an older Dapr)
 * once more at `fallback` (a literal too), with the same message. */
ofctx_err_t ofctx__grpc_client_call_or(ofctx__grpc_client_t *client, const char *path,
                                       const char *fallback, const ProtobufCMessage *msg,
                                       const ofctx__retry_policy_t *policy,
                                       ofctx__grpc_done_fn done, void *arg);

/* The same, with the call's own metadata `md` (name, value, ..., NULL; or
 * NULL; copied), at most OFCTX__GRPC_CALL_MD_MAX pairs, sent after the
 * client's own: OFCTX_EINVAL for more, or a name without a value. */
#define OFCTX__GRPC_CALL_MD_MAX 4
ofctx_err_t ofctx__grpc_client_call_md(ofctx__grpc_client_t *client, const char *path,
                                       const char *fallback, const char *const *md,
                                       const ProtobufCMessage *msg,
                                       const ofctx__retry_policy_t *policy,
                                       ofctx__grpc_done_fn done, void *arg);

/* Calls not yet ended. */
size_t ofctx__grpc_client_pending(const ofctx__grpc_client_t *client);

/* Ends every call (each `done` runs with `cancelled`), closes the
 * connection and frees the client once its handles are closed. */
void ofctx__grpc_client_close(ofctx__grpc_client_t *client);

#endif
