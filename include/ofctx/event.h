/* The event an invocation handles: its kind, its input, its data and
 * media type, its transport metadata, its CloudEvent attributes, and a
 * Knative request's method, path, query, headers and path parameters.
 * Every string these return is borrowed from the event: valid as long as
 * its ofctx_t.
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_PUBLIC_EVENT_H
#define OFCTX_PUBLIC_EVENT_H

#include <stddef.h>

#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The event that triggered the invocation; borrowed, valid as long as its
 * ofctx_t. NULL in a tick's context (ofctx_main_opts_t.tick). */
typedef struct ofctx_event ofctx_event_t;

typedef enum {
  OFCTX_EVENT_BINDING = 1,   /* a Dapr input binding delivered it */
  OFCTX_EVENT_PUBSUB = 2,    /* a Dapr pub/sub subscription delivered it */
  OFCTX_EVENT_HTTP = 3,      /* Knative: an HTTP request that is not a CloudEvent */
  OFCTX_EVENT_CLOUDEVENT = 4 /* Knative: a CloudEvent (binary or structured mode) */
} ofctx_event_kind_t;

OFCTX_EXTERN ofctx_event_kind_t ofctx_event_kind(const ofctx_event_t *ev);
/* The name of the input in the function context (its key in "inputs");
 * "http" for the Knative runtime. */
OFCTX_EXTERN const char *ofctx_event_input(const ofctx_event_t *ev);
/* The payload: for a binding the body Dapr delivered; for pub/sub the
 * CloudEvent's data (JSON data as its JSON text, byte for byte as it came,
 * a string's characters, data_base64 decoded); for Knative the request body,
 * or a CloudEvent's data (binary mode: the body; structured mode:
 * data_base64 decoded, JSON data as its JSON text, byte for byte, when
 * datacontenttype is JSON or absent, else a string's characters). Any JSON
 * is read, also big integers, 1e999, "\u0000", lone surrogates (U+FFFD in
 * a string's characters) and deep nesting. Never NULL; always followed by a NUL byte that `len`
 * does not count. `len` may be NULL. */
OFCTX_EXTERN const char *ofctx_event_data(const ofctx_event_t *ev, size_t *len);
/* The payload's media type when known (a CloudEvent's datacontenttype, or
 * Knative's Content-Type header), else NULL. */
OFCTX_EXTERN const char *ofctx_event_content_type(const ofctx_event_t *ev);
/* Transport metadata: for bindings each metadata entry Dapr sent as a header
 * (Kafka: __key, __offset, __partition, __topic, __timestamp and record
 * headers). Looked up case-insensitively; NULL when absent. */
OFCTX_EXTERN const char *ofctx_event_metadata(const ofctx_event_t *ev, const char *key);
OFCTX_EXTERN size_t ofctx_event_metadata_count(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_metadata_key(const ofctx_event_t *ev, size_t i);
OFCTX_EXTERN const char *ofctx_event_metadata_value(const ofctx_event_t *ev, size_t i);
/* A CloudEvent attribute of a pub/sub or Knative CloudEvent ("id",
 * "source", "type", "specversion", "time", "topic", "pubsubname",
 * extensions...) as text (integers in decimal, booleans as true/false);
 * NULL when absent and for events that are not CloudEvents. */
OFCTX_EXTERN const char *ofctx_event_attribute(const ofctx_event_t *ev, const char *name);

/* The HTTP request of a Knative event; NULL (count 0) for other runtimes.
 * Method, path as received (percent-encoding kept), the query string
 * without "?" ("" when there is none). */
OFCTX_EXTERN const char *ofctx_event_method(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_path(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_query(const ofctx_event_t *ev);
/* The first value of a query parameter, decoded ('+' is a space). */
OFCTX_EXTERN const char *ofctx_event_query_param(const ofctx_event_t *ev, const char *name);
/* A path parameter of httpPattern ("/hello/{name}" → "name"), decoded. */
OFCTX_EXTERN const char *ofctx_event_param(const ofctx_event_t *ev, const char *name);
/* Request headers: the first of a name (case-insensitive), or each in turn. */
OFCTX_EXTERN const char *ofctx_event_header(const ofctx_event_t *ev, const char *name);
OFCTX_EXTERN size_t ofctx_event_header_count(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_header_name(const ofctx_event_t *ev, size_t i);
OFCTX_EXTERN const char *ofctx_event_header_value(const ofctx_event_t *ev, size_t i);

#ifdef __cplusplus
}
#endif
#endif
