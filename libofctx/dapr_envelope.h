/* Internal: the CloudEvent Dapr's sidecar wraps a publish in before it
 * reaches the broker (its publish API, without rawPayload), made by the
 * direct mode, which publishes without a sidecar; and the other end of its
 * time to live: whether a received envelope has expired.
 *
 * The envelope the sidecar makes (daprd's NewCloudEvent, contrib's
 * NewCloudEventsEnvelope and ApplyMetadata) has its members in Go's order
 * (sorted, as Go marshals a map): data or data_base64, datacontenttype,
 * with a time to live expiration, id, pubsubname, source, specversion,
 * time, topic, and with a trace (or a trace override) traceid,
 * traceparent, tracestate; type. Data typed application/cloudevents+json
 * is the caller's own CloudEvent (contrib's FromCloudEvent): its members
 * are kept, topic, pubsubname and the trace set, source, type and
 * specversion given when missing or null, time when missing. */
#ifndef OFCTX_DAPR_ENVELOPE_H
#define OFCTX_DAPR_ENVELOPE_H

#include <stddef.h>
#include <time.h>

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
  time_t now;              /* 0: now; the time, and what a time to live counts from */
  /* The publish metadata the envelope reads (ofctx__envelope_metadata):
   * the cloudevent.* overrides (NULL: not given; "" given empty, which
   * means the default as in daprd) and ttlInSeconds (0: none). */
  const char *ce_id, *ce_source, *ce_type, *ce_traceid, *ce_traceparent, *ce_tracestate;
  long long ttl;
} ofctx__envelope_t;

/* Reads one publish metadata entry into `e`, as the sidecar reads them:
 * the overrides cloudevent.id, .source, .type, .traceid, .traceparent and
 * .tracestate (the name matched without regard to case, as daprd's
 * mapstructure does), and ttlInSeconds (exactly so named). A later entry
 * replaces an earlier one. 1 when the entry is one of those; 0 when the
 * envelope does not read it; -1 when it is refused, with why in `err` (if
 * not NULL): a ttlInSeconds that is not a whole number above zero (the
 * sidecar would publish without an expiration), a cloudevent.* name that
 * daprd does not read (cloudevent.subject among them: it would leave the
 * envelope as it is), a cloudevent.* value that is not UTF-8 (no JSON
 * string holds it). Every entry is still the record's header. */
int ofctx__envelope_metadata(ofctx__envelope_t *e, const char *key, const char *value,
                             ofctx_error_t *err);

/* Appends the envelope of `in` to `out`: OFCTX_OK; OFCTX_EINVAL with why
 * in `err` (if not NULL) for a caller's CloudEvent that is not a JSON
 * object; OFCTX_ENOMEM. The data: JSON as it is when its type says JSON
 * and it is JSON (a string of it when it is not); bytes
 * (application/octet-stream, protobuf, or what is not UTF-8) as
 * data_base64; other text as a string. A caller's CloudEvent: the first
 * JSON value of the data, its members' values as they are, a name given
 * twice the last one (as Go decodes it). */
ofctx_err_t ofctx__dapr_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in,
                                 ofctx_error_t *err);

/* Whether the envelope `body` (`len` bytes of valid JSON, as a pub/sub
 * input took it) has expired at `now`: its member expiration a string that
 * is an RFC 3339 time before `now`, as daprd's HasExpired decides (one
 * that is not such a time never expires). When it has, 1 and the reason
 * in `why` (if not NULL), naming the event's id and the expiration. */
int ofctx__dapr_expired(const char *body, size_t len, const struct timespec *now,
                        ofctx_error_t *why);

#endif
