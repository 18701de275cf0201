/* Internal: what gRPC puts on HTTP/2 besides protobuf, shared by the
 * server (grpc_server.c) and the client (grpc_client.c): status codes, the
 * 5-byte message prefix, grpc-timeout and the percent-encoded grpc-message
 * (gRPC over HTTP/2, "PROTOCOL-HTTP2.md" of grpc/grpc), and the protobuf-c
 * allocator that goes through ours. */
#ifndef OFCTX_GRPC_WIRE_H
#define OFCTX_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <protobuf-c/protobuf-c.h>

#include "buf.h"

enum {
  OFCTX__GRPC_OK = 0,
  OFCTX__GRPC_CANCELLED = 1,
  OFCTX__GRPC_UNKNOWN = 2,
  OFCTX__GRPC_INVALID_ARGUMENT = 3,
  OFCTX__GRPC_DEADLINE_EXCEEDED = 4,
  OFCTX__GRPC_NOT_FOUND = 5,
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

/* A request or response body as one message: 0 with `*msg`, `*len` inside
 * `body`; -1 (not one whole message), -2 (compressed: we offer no
 * encoding), -3 (longer than `max`). */
int ofctx__grpc_unframe(const char *body, size_t body_len, size_t max, const char **msg,
                        size_t *len);

/* grpc-timeout ("100m", "5S", ...: at most 8 digits, then H M S m u n) in
 * milliseconds, rounded up; -1 when it is not one. */
int64_t ofctx__grpc_timeout_parse(const char *value);
/* `ms` as a grpc-timeout value ("250m"), into `out` (at least 16 bytes). */
void ofctx__grpc_timeout_format(uint64_t ms, char *out, size_t size);

/* grpc-message: percent-encoded UTF-8 (bytes outside 0x20-0x7E and '%'
 * as %XX). The decoder keeps a '%' that starts no escape. */
void ofctx__grpc_message_encode(ofctx__buf_t *b, const char *text);
void ofctx__grpc_message_decode(ofctx__buf_t *b, const char *value);

/* Appends to `out` what nghttp2 has to send, until it has no more or `out`
 * holds `max` bytes, with `*busy` set meanwhile (nghttp2's callbacks run
 * inside, and must not send). 0, or -1 when nghttp2 failed or memory ran out. */
int ofctx__h2_gather(nghttp2_session *session, ofctx__buf_t *out, size_t max, int *busy);

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
