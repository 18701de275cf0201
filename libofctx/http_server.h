/* Internal: the HTTP/1.1 server under the HTTP runtimes (Async over HTTP,
 * Knative), on libuv and http-parser; a connection that opens with the
 * HTTP/2 preface goes to the gRPC server (ofctx__http_server_on_h2).
 *
 * One request at a time per connection, in order: while a request is being
 * handled, reading goes on and what arrives is kept for after its answer, up
 * to 64 KiB; past that the connection stops reading, so further pipelined
 * requests wait in the kernel and memory stays bounded. A connection keeps
 * its buffers for its next request while they are small (2 KiB each).
 * Limits and timeouts protect the server from slow or hostile clients; a
 * request that breaks one is answered by the server itself (400, 408, 413,
 * 414, 417, 431, 501, 503, 505) and the connection closed. The server owns
 * its connections and requests; a handler borrows a request until it
 * answers it. */
#ifndef OFCTX_HTTP_SERVER_H
#define OFCTX_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ofctx/error.h"

typedef struct ofctx__http_server ofctx__http_server_t;
typedef struct ofctx__http_request ofctx__http_request_t;

typedef struct {
  size_t max_header_size;     /* the head as sent: request line, fields, CRLFs, the empty
                                 line, to the byte → 431 (default 16 KiB); also the
                                 bound on a chunked body's trailer fields */
  size_t max_url_size;        /* → 414 (default 8 KiB) */
  size_t max_body_size;       /* → 413 (default 4 MiB, like Dapr) */
  size_t max_bodies_size;     /* all requests' bodies held at once, on every connection:
                                 the one that would pass it → 503 (default 64 MiB) */
  uint64_t header_timeout_ms; /* first byte → end of headers, → 408 (default 10 s) */
  uint64_t body_timeout_ms;   /* end of headers → end of body, → 408 (default 60 s) */
  uint64_t idle_timeout_ms;   /* keep-alive wait for the next request (default 60 s) */
  uint64_t write_timeout_ms;  /* an answer not taken by the peer in time: close (60 s) */
  size_t max_connections;     /* more are accepted and closed at once (default 4096) */
  size_t max_metadata;        /* metadata entries of one event, for the modes that read
                                 them from a body (default 1024) */
} ofctx__http_limits_t;

/* The defaults above. */
void ofctx__http_limits_default(ofctx__http_limits_t *limits);

/* Bytes held for clients (request bodies, what handlers decoded from them,
 * a gRPC call's head and answer) against one bound: a server's own, or one
 * its runtime shares among its servers (ofctx__http_server_share_budget,
 * ofctx__grpc_server_share_budget), so that max_bodies_size bounds them all
 * together. */
typedef struct {
  size_t used, max;
} ofctx__budget_t;

/* What is left of it. */
static inline size_t ofctx__budget_left(const ofctx__budget_t *b) {
  return b->used < b->max ? b->max - b->used : 0;
}

typedef struct {
  const char *name;
  const char *value;
} ofctx__http_header_t;

/* Called once per complete request, on the loop thread. The handler must
 * answer it exactly once with ofctx__http_respond, now or later. */
typedef void (*ofctx__http_handler_fn)(void *arg, ofctx__http_request_t *req);

/* Called once a request's head is whole, before any of its body is read
 * (the request's method, path, query and headers can be read; its body is
 * ""): 0 lets it go on to the handler; any other status is the answer, with
 * `*json` (a static JSON text) as its body, and the connection is closed
 * without reading the body. */
typedef int (*ofctx__http_head_fn)(void *arg, const ofctx__http_request_t *req, const char **json);

/* Called for a connection whose first bytes are the HTTP/2 client preface
 * (cleartext HTTP/2 with prior knowledge): `fd` is a duplicate of its socket,
 * the callee's to close, and `bytes` what was read of it so far. The HTTP/1.1
 * server closes its own handle and forgets the connection. */
typedef void (*ofctx__http_h2_fn)(void *arg, uv_os_sock_t fd, const char *bytes, size_t len);

/* Starts listening on host:port (port 0 picks one; see _port). OFCTX_OK;
 * else OFCTX_EINVAL (not an address), OFCTX_EIO (cannot bind or listen:
 * the reason, e.g. "address already in use", in `err`) or OFCTX_ENOMEM. */
ofctx_err_t ofctx__http_server_start(ofctx__http_server_t **out, uv_loop_t *loop, const char *host,
                                     int port, const ofctx__http_limits_t *limits,
                                     ofctx__http_handler_fn handler, void *arg, ofctx_error_t *err);
/* Sets the check of request heads (same `arg` as the handler); NULL: none. */
void ofctx__http_server_on_head(ofctx__http_server_t *server, ofctx__http_head_fn check);
/* Sets where HTTP/2 connections go (same `arg` as the handler); NULL: none,
 * and the preface is answered 400 as a bad HTTP/1.1 request. */
void ofctx__http_server_on_h2(ofctx__http_server_t *server, ofctx__http_h2_fn fn);
/* The port actually bound. */
int ofctx__http_server_port(const ofctx__http_server_t *server);
/* Number of open connections. */
size_t ofctx__http_server_connections(const ofctx__http_server_t *server);
/* Counts what the server holds in `budget` (borrowed: it must outlive the
 * server) instead of its own, whose max is limits.max_bodies_size. Call it
 * before any connection. */
void ofctx__http_server_share_budget(ofctx__http_server_t *server, ofctx__budget_t *budget);
/* Stops accepting, closes idle connections at once and the others as soon as
 * their current response is written; `done` runs when the last is closed
 * and the server is freed. */
void ofctx__http_server_stop(ofctx__http_server_t *server, void (*done)(void *arg), void *arg);

/* After _stop: closes every connection at once, also those still reading a
 * request or writing an answer; a connection whose request has not been
 * answered yet goes as soon as it is. */
void ofctx__http_server_abort(ofctx__http_server_t *server);

/* The request, valid until it is answered. Strings are NUL-terminated. */
const char *ofctx__http_request_method(const ofctx__http_request_t *req);
/* The URL's path (no query), percent-encoding kept. */
const char *ofctx__http_request_path(const ofctx__http_request_t *req);
/* The query string without "?", or "" when there is none. */
const char *ofctx__http_request_query(const ofctx__http_request_t *req);
/* First header of that name (case-insensitive), or NULL. */
const char *ofctx__http_request_header(const ofctx__http_request_t *req, const char *name);
/* Every header, in the order received (repeated names repeated). */
const ofctx__http_header_t *ofctx__http_request_headers(const ofctx__http_request_t *req,
                                                        size_t *count);
const char *ofctx__http_request_body(const ofctx__http_request_t *req, size_t *len);
/* Counts `bytes` that the handler holds for `req` (what it decoded from
 * the body) in the bodies' budget until the request is released: 0, or -1
 * when that would pass max_bodies_size (nothing counted). */
int ofctx__http_request_hold(ofctx__http_request_t *req, size_t bytes);
/* Answers `req` and releases it: status line, the given headers, then
 * Content-Length and Connection added by the server; `body` is copied
 * (and not sent for HEAD, 1xx, 204 and 304). */
void ofctx__http_respond(ofctx__http_request_t *req, int status,
                         const ofctx__http_header_t *headers, size_t header_count, const void *body,
                         size_t body_len);

/* Answers `req` with `status` and the JSON text `json` (copied). */
void ofctx__http_respond_json(ofctx__http_request_t *req, int status, const char *json);

/* `count` headers stored one after the other as name NUL value NUL in
 * `pairs`, as an array (free with ofctx__free) with `extra` zeroed slots
 * after them; the strings stay in `pairs`. NULL when out of memory. */
ofctx__http_header_t *ofctx__http_headers_unpack(const char *pairs, size_t count, size_t extra);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *ofctx__http_reason(int status);

#endif
