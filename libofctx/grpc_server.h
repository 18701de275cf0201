/* Internal: the gRPC server of the Async runtime over gRPC: unary calls on
 * cleartext HTTP/2 (nghttp2, driven by the one libuv loop).
 *
 * It does not listen itself: the HTTP/1.1 server hands it every connection
 * that opens with the HTTP/2 preface (http_server.h), so one port serves
 * Dapr's gRPC calls and the kubelet's and Prometheus's HTTP/1.1 requests.
 * Each call is one request message and one answer. A call that breaks the
 * protocol or a limit is answered by the server itself: HTTP 415 (not
 * application/grpc), 405 (not POST), RESOURCE_EXHAUSTED (message too big,
 * or the budget spent), UNIMPLEMENTED (a compressed message), INTERNAL
 * (not one whole message), DEADLINE_EXCEEDED (grpc-timeout), whatever the
 * head check answers (ofctx__grpc_server_on_head).
 *
 * What a peer can make it hold is bounded (docs/reliability.md, "HTTP/2"):
 * every call is counted in one budget, max_bodies_size, with its head, its
 * message, its unsent answer and what its handler holds for it (until the
 * handler answers, even when the client has reset the stream); a call is
 * refused (REFUSED_STREAM before its head, RESOURCE_EXHAUSTED after) when
 * the budget is spent. A request must be whole within header_timeout_ms;
 * an answer must move 16 KiB (or its end) every write_timeout_ms (else the stream is
 * reset); a connection goes idle_timeout_ms after its last call, whatever
 * else it sends. */
#ifndef OFCTX_GRPC_SERVER_H
#define OFCTX_GRPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "http_server.h"
#include "ofctx/error.h"

typedef struct ofctx__grpc_server ofctx__grpc_server_t;
typedef struct ofctx__grpc_call ofctx__grpc_call_t;

typedef struct {
  /* Of the HTTP limits: max_header_size (a call's header list, counted as
   * HPACK counts it), max_bodies_size (what every call of every connection
   * holds at once: heads, messages, unsent answers), max_connections,
   * header_timeout_ms (a call's request must be whole in time: else the
   * stream is reset), idle_timeout_ms (a connection without calls, counted
   * from its last call), write_timeout_ms (a write, or an answer, that the
   * peer does not take in time: the connection closed, the stream reset). */
  ofctx__http_limits_t http;
  size_t max_message_size; /* a request message (default 4 MiB, Dapr's) */
  size_t max_streams;      /* concurrent calls per connection, advertised (default 100) */
} ofctx__grpc_limits_t;

void ofctx__grpc_limits_default(ofctx__grpc_limits_t *limits);

/* Called once per complete call, on the loop thread; the handler answers it
 * exactly once (ofctx__grpc_reply or _fail), now or later. */
typedef void (*ofctx__grpc_handler_fn)(void *arg, ofctx__grpc_call_t *call);

/* Called once a call's request head (its HEADERS frame) has ended, before
 * any of its message is taken, with the call's path and metadata readable:
 * 0 lets it go on; any other gRPC status code is its answer, with
 * `*message` (static text, or NULL), and nothing of its message is held. */
typedef int (*ofctx__grpc_head_fn)(void *arg, const ofctx__grpc_call_t *call, const char **message);

/* A server with no connection yet. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__grpc_server_new(ofctx__grpc_server_t **out, uv_loop_t *loop,
                                   const ofctx__grpc_limits_t *limits,
                                   ofctx__grpc_handler_fn handler, void *arg);
/* Takes over the connected socket `fd` (owned from now on: closed on any
 * failure) whose first `len` bytes, the preface among them, were `bytes`
 * (copied). */
void ofctx__grpc_server_adopt(ofctx__grpc_server_t *server, uv_os_sock_t fd, const char *bytes,
                              size_t len);
/* Sets the check of request heads (same `arg` as the handler); NULL: none. */
void ofctx__grpc_server_on_head(ofctx__grpc_server_t *server, ofctx__grpc_head_fn check);
/* Charges its calls to `budget` (borrowed: it must outlive the server)
 * instead of its own, whose max is limits.http.max_bodies_size. Call it
 * before any connection. */
void ofctx__grpc_server_share_budget(ofctx__grpc_server_t *server, ofctx__budget_t *budget);
size_t ofctx__grpc_server_connections(const ofctx__grpc_server_t *server);
/* Sends GOAWAY on every connection: no new call is taken, the calls in
 * flight are answered, then each connection closes; `done` runs once the
 * last is closed, and every call the handler holds is answered (a call
 * whose client went stays charged to the budget until then), and the
 * server is freed. Connections adopted later are closed at once. */
void ofctx__grpc_server_stop(ofctx__grpc_server_t *server, void (*done)(void *arg), void *arg);
/* After _stop: closes every connection now; unanswered calls go unanswered. */
void ofctx__grpc_server_abort(ofctx__grpc_server_t *server);

/* The call, valid until it is answered. "/package.Service/Method". */
const char *ofctx__grpc_call_path(const ofctx__grpc_call_t *call);
/* The first metadata entry of that (lower-case) name, or NULL. */
const char *ofctx__grpc_call_metadata(const ofctx__grpc_call_t *call, const char *name);
/* Every metadata entry (no pseudo-header), in the order received. */
const ofctx__http_header_t *ofctx__grpc_call_headers(const ofctx__grpc_call_t *call, size_t *count);
/* The request message (protobuf bytes). */
const void *ofctx__grpc_call_message(const ofctx__grpc_call_t *call, size_t *len);
/* Counts `bytes` that the handler holds for the call (what it decoded from
 * the message) in the bodies' budget, with the message, until the call
 * ends: 0, or -1 when that would pass max_bodies_size or the connection is
 * gone (nothing counted). */
int ofctx__grpc_call_hold(ofctx__grpc_call_t *call, size_t bytes);
/* What the call could hold now: the budget's room (0 once its connection
 * or stream is gone). */
size_t ofctx__grpc_call_room(const ofctx__grpc_call_t *call);
/* Answers OK with the response message `msg` (packed here; NULL: an empty
 * message) and releases the call. */
void ofctx__grpc_reply(ofctx__grpc_call_t *call, const ProtobufCMessage *msg);
/* Answers with the status `code` (not OK) and `message` (may be NULL),
 * trailers only, and releases the call. */
void ofctx__grpc_fail(ofctx__grpc_call_t *call, int code, const char *message);

#endif
