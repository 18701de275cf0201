/* Internal: the CloudEvent Dapr's sidecar wraps a publish in before it
 * reaches the broker (its publish API, without rawPayload), made by the
 * direct mode, which publishes without a sidecar. The members in Go's
 * order (sorted, as the sidecar marshals a map): data or data_base64,
 * datacontenttype, id, pubsubname, source, specversion, time, topic, and
 * with a trace traceid, traceparent, tracestate; type. */
#ifndef OFCTX_DAPR_ENVELOPE_H
#define OFCTX_DAPR_ENVELOPE_H

#include <stddef.h>

#include "buf.h"
#include "ofctx/error.h"

typedef struct {
  const char *pubsub;       /* the pub/sub component */
  const char *topic;        /* the topic */
  const char *source;       /* the app id */
  const char *content_type; /* the data's type; NULL or "": text/plain */
  const void *data;
  size_t len;
  const char *traceparent; /* or NULL */
  const char *tracestate;  /* or NULL */
  const char *id;          /* NULL: a new UUID (version 4) */
  const char *time;        /* NULL: now, RFC 3339 in UTC */
} ofctx__envelope_t;

/* Appends the envelope of `in` to `out`: OFCTX_OK; OFCTX_EINVAL for data
 * typed application/cloudevents+json (a CloudEvent of the caller's, not
 * made in direct mode yet); OFCTX_ENOMEM (`out` failed). The data: JSON
 * as it is when its type says JSON and it is JSON (a string of it when it
 * is not); bytes (application/octet-stream, protobuf, or what is not
 * UTF-8) as data_base64; other text as a string. */
ofctx_err_t ofctx__dapr_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in);

#endif
