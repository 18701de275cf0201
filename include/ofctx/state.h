/* State from a function: reading, writing and deleting keys of the state
 * stores its context names under `states` (ofctx_state_get,
 * ofctx_state_set, ofctx_state_delete). Like a send, each call copies what
 * it needs and returns at once, the request runs on the loop through the
 * sidecar's state API, and the invocation does not settle (its input is not
 * answered) before every state request it made has finished. What a request
 * is on the wire is in docs/async-runtime.md.
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_STATE_H
#define OFCTX_STATE_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/export.h"
#include "ofctx/function.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a state request ended, for its callback. `code`: OFCTX_OK when the
 * sidecar answered it; OFCTX_ECONFLICT when the ETag did not match (or,
 * with first-write and no ETag, the key existed): the sidecar's 409 (gRPC
 * ABORTED);
 * OFCTX_ESTATE for any other refusal, or when the sidecar could not be
 * reached after bounded retries. Every pointer is valid during the call
 * only. */
typedef struct {
  ofctx_err_t code;
  int http_status;     /* the sidecar's HTTP status, 0 when it never answered (and over gRPC) */
  int grpc_status;     /* over the sidecar's gRPC API its last status (10 ABORTED for a
                          conflict, 14 UNAVAILABLE also when it was not reached); over
                          HTTP always -1 */
  const char *message; /* "ok", or why it failed */
  const char *store;   /* the state entry's name in the context */
  const char *key;
  /* ofctx_state_get: whether the key has a value, the value (`len` bytes,
   * NUL-terminated for convenience) and its ETag ("" when the store gave
   * none); for the other calls found is 0, value "" and etag "". */
  int found;
  const void *value;
  size_t len;
  const char *etag;
} ofctx_state_result_t;

typedef void (*ofctx_state_cb)(ofctx_t *ctx, const ofctx_state_result_t *result, void *arg);

typedef enum {
  OFCTX_STATE_CONCURRENCY_DEFAULT = 0, /* the store's own (Dapr: last-write) */
  OFCTX_STATE_FIRST_WRITE,             /* a write needs the current ETag */
  OFCTX_STATE_LAST_WRITE
} ofctx_state_concurrency_t;

typedef enum {
  OFCTX_STATE_CONSISTENCY_DEFAULT = 0, /* the store's own */
  OFCTX_STATE_EVENTUAL,
  OFCTX_STATE_STRONG
} ofctx_state_consistency_t;

/* Per-call options of ofctx_state_set and ofctx_state_delete, borrowed for
 * the call (what they point to too). */
typedef struct {
  /* sizeof the struct as the caller was compiled: start from
   * OFCTX_STATE_OPTS_INIT (see ofctx_send_opts_t). */
  size_t size;
  /* The ETag the write expects (from ofctx_state_get), or NULL: sent as the
   * item's etag (set) or as If-Match (delete). */
  const char *etag;
  ofctx_state_concurrency_t concurrency;
  ofctx_state_consistency_t consistency;
  /* The store's metadata for this request, key/value pairs ending with a
   * NULL key (e.g. "ttlInSeconds", "60"), or NULL. */
  const char *const *metadata;
  /* Called exactly once when the request has finished (as the done
   * callback of ofctx_send_opts_t: normally before the invocation
   * settles). */
  ofctx_state_cb done;
  void *arg;
} ofctx_state_opts_t;

/* The options with their size set and every field empty; options whose
 * `size` is not set make a call fail with OFCTX_EINVAL. */
#define OFCTX_STATE_OPTS_INIT                                                                      \
  { .size = sizeof(ofctx_state_opts_t) }

/* Reads `key` of the state store that the context's `states` entry `store`
 * names (its componentName is the Dapr store), and returns at once; `done`
 * (required) gets the value, once, on the loop, while the invocation is
 * still open: it may send, or make other state requests. A failed read
 * does not by itself fail the invocation: `done` decides (with ofctx_hold
 * and ofctx_release, say). The value is what ofctx_state_set stored, byte
 * for byte; a value another program stored is given as the sidecar has it
 * (JSON), except that a JSON string is given as its text.
 * Errors returned at once, and then nothing is asked: OFCTX_EINVAL (no
 * state entry of that name, which is logged; an empty key; no callback),
 * OFCTX_ESETTLED (the invocation has already settled), OFCTX_ESEND (no way
 * to the sidecar: the function is stopping; with --invoke the requests go
 * to a store in memory that lasts the run),
 * OFCTX_ENOMEM. `store` and `key` are copied. */
OFCTX_EXTERN ofctx_err_t ofctx_state_get(ofctx_t *ctx, const char *store, const char *key,
                                         ofctx_state_cb done, void *arg);

/* Stores `len` bytes of `value` (copied) under `key` of the state store
 * `store` (as for ofctx_state_get), with `opts` (may be NULL), and returns
 * at once. JSON other than a JSON string is stored as JSON, so that other
 * programs read it as such (the sidecar may re-encode it: compact, keys
 * sorted); any other UTF-8 text (a JSON string too) is stored as a JSON
 * string of its bytes, which ofctx_state_get gives back unchanged (over
 * the sidecar's gRPC API too, so that both read the same key alike). Other
 * bytes cannot be carried by the sidecar's HTTP API: OFCTX_EINVAL (encode
 * them, in base64 say). Like a send, the write is at least once: the
 * invocation does not settle before it has finished, and a write that
 * fails (refused, or the sidecar not reached after bounded retries) fails
 * the invocation, so the input is delivered again. A conflict (the ETag
 * did not match: OFCTX_ECONFLICT for `done`) is an answer, not a failure:
 * it does not fail the invocation, and is not retried. Errors returned at
 * once as for ofctx_state_get, and OFCTX_EINVAL for bad options. */
OFCTX_EXTERN ofctx_err_t ofctx_state_set(ofctx_t *ctx, const char *store, const char *key,
                                         const void *value, size_t len,
                                         const ofctx_state_opts_t *opts);

/* Deletes `key` of the state store `store`, with `opts` (may be NULL; its
 * etag is sent as If-Match), and returns at once; a write, as for
 * ofctx_state_set. Deleting a key that has no value succeeds. */
OFCTX_EXTERN ofctx_err_t ofctx_state_delete(ofctx_t *ctx, const char *store, const char *key,
                                            const ofctx_state_opts_t *opts);

#ifdef __cplusplus
}
#endif
#endif
