/* Internal: finished spans as the OpenTelemetry protocol carries them. A
 * span is copied, when it ends, into one record that owns all its strings
 * (the invocation and its names may be gone by the time it is sent); a
 * list of records becomes the protobuf body of an OTLP/HTTP export
 * (ExportTraceServiceRequest, libofctx/proto/otlp_trace.proto), gzipped when
 * the exporter is asked to. */
#ifndef OFCTX_OTLP_ENCODE_H
#define OFCTX_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "ofctx/error.h"
#include "ofctx/strmap.h"
#include "trace.h"

/* A string attribute. */
typedef struct {
  const char *key;
  const char *value;
} ofctx__span_attr_t;

/* The span kinds of OTLP (Span.SpanKind), with its numbers. */
typedef enum {
  OFCTX__OTLP_INTERNAL = 1,
  OFCTX__OTLP_SERVER = 2,
  OFCTX__OTLP_CLIENT = 3,
  OFCTX__OTLP_PRODUCER = 4,
  OFCTX__OTLP_CONSUMER = 5
} ofctx__otlp_kind_t;

#define OFCTX__SPAN_ATTRS_MAX 12 /* the attributes a span describes itself with (tags apart) */

/* What a span is, all borrowed, for ofctx__span_record_new. */
typedef struct {
  const ofctx__span_t *span; /* ids, parent, flags, tracestate, times */
  ofctx__otlp_kind_t kind;
  const char *name;
  int error;           /* status ERROR (else UNSET) */
  const char *message; /* with `error`: why (may be NULL) */
  ofctx__span_attr_t attrs[OFCTX__SPAN_ATTRS_MAX];
  size_t attr_count;                 /* attributes with a NULL value are left out */
  const ofctx_strmap_t *tags;        /* the context's tags, after them; may be NULL */
  const ofctx__traceparent_t *links; /* a batch's entries' traces; may be NULL */
  size_t link_count;
} ofctx__span_desc_t;

/* A finished span, owning its strings (one allocation). */
typedef struct ofctx__span_record {
  struct ofctx__span_record *next; /* the exporter's queue */
  uint8_t trace_id[16], span_id[8], parent_id[8];
  uint8_t flags;
  ofctx__otlp_kind_t kind;
  uint64_t start_ns, end_ns;
  const char *name;
  const char *tracestate; /* or NULL */
  int error;
  const char *message; /* or NULL */
  ofctx__span_attr_t *attrs;
  size_t attr_count;
  ofctx__traceparent_t *links;
  size_t link_count;
} ofctx__span_record_t;

/* A record of `d`; NULL when out of memory. Free with ofctx__free. */
ofctx__span_record_t *ofctx__span_record_new(const ofctx__span_desc_t *d);

/* The export request of `count` records (linked by `next` from `first`)
 * under one resource (`resource`: its attributes) and the instrumentation
 * scope "libofctx" → `*out` (the caller frees it with ofctx__free), `*len`.
 * OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__otlp_encode(const ofctx__span_attr_t *resource, size_t resource_count,
                               const ofctx__span_record_t *first, size_t count, uint8_t **out,
                               size_t *len);

/* `len` bytes of `in` as one gzip member (RFC 1952; zlib) → `*out` (the
 * caller frees it with ofctx__free), `*out_len`. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__otlp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
