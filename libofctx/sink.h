/* Internal: where sends go. The core (send.c) checks a send and describes
 * it in Dapr's terms; a sink carries it: to the sidecar's gRPC API
 * (dapr_grpc_sink.c), its HTTP API (dapr_http_sink.c), or to stdout for the local
 * runtime (local_sink.c). The core never names a sink; a new transport is
 * one new sink. */
#ifndef OFCTX_SINK_H
#define OFCTX_SINK_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/strmap.h"

#include "ofctx/send.h"

typedef enum {
  OFCTX__SEND_BINDING,
  OFCTX__SEND_PUBLISH,
  OFCTX__SEND_PUBLISH_BULK /* `entries`, checked: ids set and unique, text data, types set */
} ofctx__send_kind_t;

/* One send, checked; everything is borrowed for the time of `start`. */
typedef struct {
  ofctx__send_kind_t kind;
  size_t slot;                    /* the output's index in the context, or the output count for a
                                     send to a component the context does not name */
  int shared;                     /* the output's own operation and metadata, nothing of the
                                     call's: what a sink builds of them may be kept per slot */
  const char *name;               /* the output's name, or the component's */
  const char *component;          /* the binding or pub/sub component */
  const char *topic;              /* publish: the topic */
  const char *operation;          /* binding: the operation */
  const ofctx_strmap_t *metadata; /* the output's metadata, or NULL */
  const char *const *extra;       /* the call's metadata: key, value, ..., NULL; or NULL */
  const char *content_type;       /* publish: the data's type (never NULL); binding: the
                                     caller's, or NULL (JSON data is then embedded as JSON) */
  const void *data;
  size_t len;
  const ofctx_bulk_entry_t *entries; /* bulk publish */
  size_t entry_count;
  /* W3C Trace Context, with tracing on (else NULL), for the sidecar as
   * headers or call metadata: the send's own traceparent, the tracestate
   * received, the context's baggage (each NULL when there is none) */
  const char *traceparent;
  const char *tracestate;
  const char *baggage;
} ofctx__send_request_t;

/* A bulk publish's entry ids, copied for a sink that must name them once
 * the send ends (its failed entries); owned by the sink's call. */
typedef struct {
  char **ids;
  size_t count;
} ofctx__sink_ids_t;

/* Copies the ids of `req`'s entries into `out` (empty before): OFCTX_OK,
 * or OFCTX_ENOMEM with what was copied so far there. Either way
 * ofctx__sink_ids_free frees it. */
ofctx_err_t ofctx__sink_ids_copy(ofctx__sink_ids_t *out, const ofctx__send_request_t *req);
void ofctx__sink_ids_free(ofctx__sink_ids_t *ids);

/* How a send ended. */
typedef struct {
  int ok;              /* accepted */
  int status;          /* the sidecar's HTTP status, 0 when there was none */
  int grpc_status;     /* its gRPC status, -1 when there was none */
  int attempts;        /* tries made */
  const char *error;   /* why it failed, for the log; NULL when ok */
  size_t failed_count; /* bulk publish: the entries not published */
  const char *const *failed;
} ofctx__sink_result_t;

typedef void (*ofctx__sink_done_fn)(void *arg, const ofctx__sink_result_t *result);

/* One state request, checked (state.c); everything borrowed for the time of
 * `state`. */
typedef enum { OFCTX__STATE_GET, OFCTX__STATE_SET, OFCTX__STATE_DELETE } ofctx__state_op_t;

typedef struct {
  ofctx__state_op_t op;
  const char *store;           /* the Dapr state store */
  const char *key;             /* not empty */
  const char *value;           /* set: the value as JSON, as Dapr stores it */
  size_t len;                  /* its length */
  const char *etag;            /* or NULL */
  const char *concurrency;     /* "first-write", "last-write", or NULL */
  const char *consistency;     /* "eventual", "strong", or NULL */
  const char *const *metadata; /* key, value, ..., NULL (values set); or NULL */
  /* with tracing, as for a send: the request's own traceparent, the
   * tracestate received, the context's baggage (else NULL) */
  const char *traceparent;
  const char *tracestate;
  const char *baggage;
} ofctx__state_request_t;

/* How a state request ended. */
typedef struct {
  int ok;            /* performed */
  int conflict;      /* not performed: the ETag did not match (HTTP 409, gRPC ABORTED) */
  int status;        /* the sidecar's HTTP status, 0 when there was none */
  int grpc_status;   /* its gRPC status, -1 when there was none */
  int attempts;      /* tries made */
  const char *error; /* why it failed, for the log; NULL when ok */
  /* get: whether the key has a value, the value and its ETag ("" when
   * none); valid during the call */
  int found;
  const char *body;
  size_t body_len;
  const char *etag;
} ofctx__state_result_t;

typedef void (*ofctx__state_done_fn)(void *arg, const ofctx__state_result_t *result);

typedef struct ofctx__sink ofctx__sink_t;
struct ofctx__sink {
  /* Starts a send. OFCTX_OK: `done` is called once, later, never from
   * inside `start`. Otherwise nothing was started and `done` is not
   * called: OFCTX_EINVAL (the data or a value cannot be carried),
   * OFCTX_ENOMEM, OFCTX_ESEND (no way to the sidecar now). */
  ofctx_err_t (*start)(ofctx__sink_t *sink, const ofctx__send_request_t *req,
                       ofctx__sink_done_fn done, void *arg);
  /* Frees the sink (NULL is fine to pass to ofctx__sink_free). */
  void (*free)(ofctx__sink_t *sink);
  /* Starts a state request, as `start` a send; NULL for a sink without a
   * way to state stores (then state requests fail with OFCTX_ESEND). */
  ofctx_err_t (*state)(ofctx__sink_t *sink, const ofctx__state_request_t *req,
                       ofctx__state_done_fn done, void *arg);
  /* Closes what the sink holds on the loop (its clients, cancelling what
   * is in flight) once the runtime has drained; NULL for a sink that holds
   * nothing there (the sidecar's clients are the runtime's). */
  void (*close)(ofctx__sink_t *sink);
};

static inline void ofctx__sink_free(ofctx__sink_t *sink) {
  if (sink)
    sink->free(sink);
}

#endif
