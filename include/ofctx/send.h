/* Sending from a function to its outputs (ofctx_send_to), or straight to
 * a binding or a pub/sub component (ofctx_invoke_binding, ofctx_publish,
 * ofctx_publish_bulk): each call copies what it sends and returns at once,
 * the send runs on the loop, and the invocation does not settle (its input
 * is not answered) before every send it made has finished. What a send is
 * on the wire, over the sidecar's gRPC or HTTP API, is in
 * docs/async-runtime.md.
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_SEND_H
#define OFCTX_SEND_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/export.h"
#include "ofctx/function.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a send ended, for its callback: `code` is OFCTX_OK when the sidecar
 * accepted it; otherwise OFCTX_ESEND, with the sidecar's HTTP status (0 when
 * it never answered, and over gRPC) and a message. The strings are valid
 * during the call. */
typedef struct {
  ofctx_err_t code;
  int http_status;
  const char *message;
  const char *output; /* the output name, or the component for direct sends */
  int grpc_status;    /* over the sidecar's gRPC API its last status (0 OK; 14
                         UNAVAILABLE also when it could not be reached);
                         over HTTP always -1 */
  /* ofctx_publish_bulk: the ids of the entries the sidecar did not publish
   * (all of them when it could not be reached); 0 and NULL otherwise. */
  size_t failed_count;
  const char *const *failed_entries;
} ofctx_send_result_t;

typedef void (*ofctx_send_cb)(ofctx_t *ctx, const ofctx_send_result_t *result, void *arg);

/* Per-call options, borrowed for the call (what they point to too); every
 * field but `size` may be NULL. */
typedef struct {
  /* sizeof the struct as the caller was compiled: start from OFCTX_SEND_OPTS_INIT.
   * Fields that later versions add come after the last one here, and the
   * library reads only those `size` covers, so a program built against
   * this version keeps working with later libraries. */
  size_t size;
  /* Binding operation; default: the output's, else "create". */
  const char *operation;
  /* Extra metadata, key/value pairs ending with a NULL key: merged over the
   * output's metadata from the context. */
  const char *const *metadata;
  /* The data's media type. Pub/sub: sent as the Content-Type; default
   * application/json when the data is JSON, text/plain for other UTF-8
   * text, else application/octet-stream (which Dapr carries as
   * data_base64). Bindings: a JSON type (subtype json, or +json) embeds the
   * data as JSON unchecked (the caller vouches for it, and saves a parse;
   * if it is not JSON the sidecar refuses the send), any other type embeds
   * it as a JSON string; default: JSON if it parses as JSON. */
  const char *content_type;
  /* Called exactly once when the send has finished: normally before the
   * invocation settles; after an invocation timeout or a shutdown abort it
   * may come later, when the event is gone and new sends are refused with
   * OFCTX_ESETTLED. */
  ofctx_send_cb done;
  void *arg;
} ofctx_send_opts_t;

/* The options with their size set and every field empty; a call given
 * options whose `size` is not set fails with OFCTX_EINVAL. */
#define OFCTX_SEND_OPTS_INIT                                                                       \
  { .size = sizeof(ofctx_send_opts_t) }

/* Sends `data` (`len` bytes, copied) to the output of that name in the
 * function context (a binding, with its operation and metadata, or a
 * pub/sub topic), and returns at once; `opts` (borrowed for the call) may
 * be NULL. The send runs on the loop through the sidecar (over its gRPC or
 * its HTTP API, see docs/async-runtime.md) or, with --invoke, is printed;
 * the invocation does not settle before it has finished. A binding gets
 * data that is JSON as JSON and anything else as a string (see
 * content_type); pub/sub gets the data as it is. A send that fails (the
 * sidecar refuses it, or it cannot be reached after bounded retries) fails
 * the invocation: the input is not acknowledged, and Dapr delivers it
 * again. Errors returned at once, and then nothing is sent:
 * OFCTX_ENOOUTPUT (no output of that name), OFCTX_EINVAL (bad argument),
 * OFCTX_ESETTLED (the invocation has already settled), OFCTX_ESEND (no
 * sidecar client: libcurl cannot be opened, which is logged, memory ran
 * out, or the function is stopping), OFCTX_ENOMEM. */
OFCTX_EXTERN ofctx_err_t ofctx_send_to(ofctx_t *ctx, const char *output, const void *data,
                                       size_t len, const ofctx_send_opts_t *opts);
/* Direct sends to a component by its Dapr name, without an output in the
 * context. `operation` is required for bindings. A topic may hold '/', but
 * no part between slashes may be empty, "." or ".." (it would address
 * another topic or sidecar API once a path is normalized): OFCTX_EINVAL. */
OFCTX_EXTERN ofctx_err_t ofctx_invoke_binding(ofctx_t *ctx, const char *component,
                                              const char *operation, const void *data, size_t len,
                                              const ofctx_send_opts_t *opts);
OFCTX_EXTERN ofctx_err_t ofctx_publish(ofctx_t *ctx, const char *pubsub, const char *topic,
                                       const void *data, size_t len, const ofctx_send_opts_t *opts);

/* ---- bulk publish ---- */

/* One message of a bulk publish; everything borrowed for the call. */
typedef struct {
  const char *entry_id; /* unique in the call; NULL: its index ("0", "1", ...) */
  const void *data;
  size_t len;
  const char *content_type;    /* NULL: as for ofctx_publish */
  const char *const *metadata; /* key, value, ..., NULL; or NULL */
} ofctx_bulk_entry_t;

/* Publishes `count` (1 or more) messages to `topic` of the pub/sub
 * component `pubsub` in one request (Dapr's bulk publish, also from
 * sidecars older than Dapr 1.17). Copied; returns at once, like
 * ofctx_publish. JSON data under a JSON type (the default for JSON) goes as
 * JSON, other data must be UTF-8 text (OFCTX_EINVAL otherwise: publish bytes
 * with ofctx_publish). `opts`: its metadata is the request's, its
 * content_type unused. Some entries may fail while others are published:
 * then the send fails (the input is not acknowledged, so it comes again),
 * and `done` gets the failed entries' ids. A sidecar's 500 is not retried,
 * since the entries it did publish would be published twice; no answer
 * at all (a connection error, a timeout) is, with the whole request. */
OFCTX_EXTERN ofctx_err_t ofctx_publish_bulk(ofctx_t *ctx, const char *pubsub, const char *topic,
                                            const ofctx_bulk_entry_t *entries, size_t count,
                                            const ofctx_send_opts_t *opts);

#ifdef __cplusplus
}
#endif
#endif
