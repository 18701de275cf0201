/* Internal: what gRPC puts on HTTP/2 besides protobuf, shared by the
 * server (grpc_server.c) and the client (grpc_client.c): status codes, the
 * 5-byte message prefix, grpc-timeout and the percent-encoded grpc-message
 * (gRPC over HTTP/2, "PROTOCOL-HTTP2.md" of grpc/grpc), the protobuf-c
 * allocator that goes through ours, and the HTTP/2 connection both ends
 * drive on a libuv stream (ofctx__h2_conn_t: its owner embeds it and owns
 * it; the connection owns its socket, its session and its write buffer). */
#ifndef OFCTX_GRPC_WIRE_H
#define OFCTX_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "buf.h"

enum {
  OFCTX__GRPC_OK = 0,
  OFCTX__GRPC_CANCELLED = 1,
  OFCTX__GRPC_UNKNOWN = 2,
  OFCTX__GRPC_INVALID_ARGUMENT = 3,
  OFCTX__GRPC_DEADLINE_EXCEEDED = 4,
  OFCTX__GRPC_NOT_FOUND = 5,
  OFCTX__GRPC_PERMISSION_DENIED = 7,
  OFCTX__GRPC_RESOURCE_EXHAUSTED = 8,
  OFCTX__GRPC_FAILED_PRECONDITION = 9,
  OFCTX__GRPC_ABORTED = 10,
  OFCTX__GRPC_UNIMPLEMENTED = 12,
  OFCTX__GRPC_INTERNAL = 13,
  OFCTX__GRPC_UNAVAILABLE = 14,
  OFCTX__GRPC_UNAUTHENTICATED = 16
};

/* "UNAVAILABLE" and so on; "UNKNOWN" for a code gRPC does not define. */
const char *ofctx__grpc_code_name(int code);

/* A call that ended so may work when made again: UNAVAILABLE,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED. */
int ofctx__grpc_code_retryable(int code);

/* grpc-status's value: a code from 0 to 16 in decimal, else UNKNOWN (any
 * other text, or a number past 16 however long). */
int ofctx__grpc_status_parse(const char *value);

/* The length-prefixed message: 5 bytes (flag 0: not compressed; length,
 * big-endian) then the message. */
#define OFCTX__GRPC_PREFIX 5
void ofctx__grpc_prefix(unsigned char out[OFCTX__GRPC_PREFIX], size_t len);

/* How a body reads as one message (ofctx__grpc_unframe). */
typedef enum {
  OFCTX__UNFRAME_OK,         /* one whole message */
  OFCTX__UNFRAME_MALFORMED,  /* not one whole message */
  OFCTX__UNFRAME_COMPRESSED, /* compressed: we offer no encoding */
  OFCTX__UNFRAME_TOO_LONG    /* longer than the limit */
} ofctx__unframe_rc_t;

/* Reads a request or response body as one message of at most `max` bytes:
 * OFCTX__UNFRAME_OK with `*msg`, `*len` inside `body`, or why not. */
ofctx__unframe_rc_t ofctx__grpc_unframe(const char *body, size_t body_len, size_t max,
                                        const char **msg, size_t *len);

/* grpc-timeout ("100m", "5S", ...: at most 8 digits, then H M S m u n) in
 * milliseconds, rounded up; -1 when it is not one. */
int64_t ofctx__grpc_timeout_parse(const char *value);
/* `ms` as a grpc-timeout value ("250m"), into `out` (at least 16 bytes). */
void ofctx__grpc_timeout_format(uint64_t ms, char *out, size_t size);

/* grpc-message: percent-encoded UTF-8 (bytes outside 0x20-0x7E and '%'
 * as %XX). The decoder keeps a '%' that starts no escape. */
void ofctx__grpc_message_encode(ofctx__buf_t *b, const char *text);
void ofctx__grpc_message_decode(ofctx__buf_t *b, const char *value);

/* How an HTTP/2 connection failed (ofctx__h2_hooks_t.on_error). */
typedef enum {
  OFCTX__H2_LOST,        /* a read or a write failed */
  OFCTX__H2_PEER_CLOSED, /* the peer closed its end */
  OFCTX__H2_PEER_BROKE,  /* the peer broke HTTP/2 (nghttp2 refused what it read) */
  OFCTX__H2_SEND_FAILED  /* nghttp2 failed to send, or memory ran out */
} ofctx__h2_failure_t;

typedef struct ofctx__h2_conn ofctx__h2_conn_t;

/* What the owner of a connection does at its turns; each hook gets the
 * owner (ofctx__h2_conn_t.owner). Every hook runs outside nghttp2's calls,
 * so it may submit to the session (nghttp2 must not be asked to send from
 * inside its own callbacks). */
typedef struct {
  /* Bytes were given to nghttp2 (its callbacks have run); a flush follows. */
  void (*on_read)(void *owner);
  /* A flush is over and the connection is open: a write was started
   * (`writing`), or nghttp2 had nothing to send. */
  void (*on_flushed)(void *owner);
  /* The connection failed: the owner closes it (ofctx__h2_conn_close). */
  void (*on_error)(void *owner, ofctx__h2_failure_t failure);
  /* The socket is closed and the session deleted: the owner may free the
   * connection now. */
  void (*on_closed)(void *owner);
} ofctx__h2_hooks_t;

/* One HTTP/2 connection on a TCP socket, with nghttp2 as its framing. It
 * reads into the owner's buffer, hands what comes to nghttp2, and writes
 * what nghttp2 has queued, one write at a time (flags below). The session
 * is made by the owner (its user data is the owner's) and freed here. */
struct ofctx__h2_conn {
  uv_tcp_t tcp;
  uv_write_t wr;
  nghttp2_session *session;
  const ofctx__h2_hooks_t *hooks;
  void *owner;
  ofctx__buf_t wbuf;    /* nghttp2's frames for the write in flight */
  char *readbuf;        /* borrowed from the owner */
  size_t readbuf_size;  /* its size */
  uint64_t write_start; /* loop time the write in flight started */
  uint64_t last_read;   /* loop time of the last bytes read */
  int reading;          /* started: flush writes from now on */
  int writing;          /* a write is in flight */
  int in_nghttp2;       /* inside nghttp2_session_mem_recv or _mem_send */
  int closing;
};

/* Sets up `conn` for `owner` on `loop` (its socket not yet open or
 * connected). Reads go into `readbuf` (`size` bytes, the owner's: one buffer
 * may serve every connection of a loop, since a read is consumed whole). */
void ofctx__h2_conn_init(ofctx__h2_conn_t *conn, uv_loop_t *loop, const ofctx__h2_hooks_t *hooks,
                         void *owner, char *readbuf, size_t size);
/* Starts reading once the socket is connected. Returns 0, or a libuv
 * error. */
int ofctx__h2_conn_start(ofctx__h2_conn_t *conn);
/* Gives `len` bytes to nghttp2 as if read, then calls on_read and flushes. */
void ofctx__h2_conn_recv(ofctx__h2_conn_t *conn, const char *data, size_t len);
/* Writes what nghttp2 has queued, unless a write is in flight (it flushes
 * again when done), the connection is not started, closing, or inside
 * nghttp2. */
void ofctx__h2_conn_flush(ofctx__h2_conn_t *conn);
/* Closes the socket; on_closed runs once it is closed. Closing a closing
 * connection does nothing. */
void ofctx__h2_conn_close(ofctx__h2_conn_t *conn);

/* How deep google.protobuf.Value messages nest inside the Structs at `path`
 * in the message `msg` (field numbers, at most 4: {10} is a field of `msg`,
 * {2, 3, 7} field 7 of field 3 of field 2, each step a message, repeated or
 * not), read off the wire without recursion
 * (protobuf-c's unpacking recurses once per level, which a deep enough
 * message turns into a stack overflow). Stops counting past `limit` and
 * returns limit + 1; 0 when the field is absent; -1 when the bytes are not
 * protobuf (protobuf-c will say so itself). */
int ofctx__pb_struct_depth(const uint8_t *msg, size_t len, const uint32_t *path, size_t path_len,
                           int limit);

/* Calls `fn` for each length-delimited field `field` of the message `msg`
 * (its bytes; no recursion): 0; -1 when the bytes are not protobuf; or what
 * `fn` returned to stop. */
int ofctx__pb_fields(const uint8_t *msg, size_t len, uint32_t field,
                     int (*fn)(void *arg, const uint8_t *bytes, size_t len), void *arg);

/* protobuf-c's and nghttp2's allocations through ofctx__malloc and the rest. */
extern ProtobufCAllocator ofctx__pb_allocator;
extern nghttp2_mem ofctx__nghttp2_mem;

#endif
