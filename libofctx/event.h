/* Internal: the event a function receives (ofctx_event_t), as every mode
 * fills it: payload, transport metadata, CloudEvent attributes, and for
 * Knative the request's path parameters and query. It knows no runtime. */
#ifndef OFCTX_EVENT_H
#define OFCTX_EVENT_H

#include <stddef.h>

#include <jansson.h>

#include "http_server.h"
#include "ofctx/function.h"

struct ofctx_event {
  ofctx_event_kind_t kind;
  const char *input;
  size_t input_index;
  const char *data;
  size_t len;
  char *owned; /* decoded data, when `data` is not the request body */
  const char *content_type;
  ofctx__http_header_t *metadata;
  size_t metadata_count, metadata_cap; /* entries, and slots allocated */
  /* metadata after the event's own, shared with other events (a bulk
   * delivery's request metadata, which every entry has): a view, never
   * copied per event */
  const ofctx__http_header_t *shared_metadata;
  size_t shared_count;
  json_t *attributes; /* pub/sub and Knative CloudEvents: the attributes */
  /* pub/sub: the envelope the attributes are still to be read from (a view
   * into the request, which outlives the event), and the content type that
   * was read from it */
  const char *envelope;
  size_t envelope_len;
  char *owned_type;
  /* Knative: the request, its path parameters and query (decoded), and
   * how a CloudEvent came (an ofctx__ce_mode_t), which a reply follows. */
  const ofctx__http_request_t *req;
  json_t *params;
  json_t *query;
  int ce_mode;
};

/* Metadata from request headers (the transport's own headers left out):
 * views into the request, which must outlive the event. 0, or -1 when out
 * of memory. */
int ofctx__event_metadata_from_headers(ofctx_event_t *ev, const ofctx__http_request_t *req);
/* Adds `n` entries (views: `headers` must outlive the event) to the event's
 * metadata, leaving out the transport's own headers when
 * `headers_of_transport`. 0, or -1 when out of memory. */
int ofctx__event_metadata_add(ofctx_event_t *ev, const ofctx__http_header_t *headers, size_t n,
                              int headers_of_transport);
/* Frees what the event owns (decoded data, metadata array, attributes,
 * parameters, query) and leaves it empty. */
void ofctx__event_clear(ofctx_event_t *ev);

#endif
