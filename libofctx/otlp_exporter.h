/* Internal: the span exporter of the tracing provider opentelemetry. Spans
 * that end are copied into a bounded queue and sent in batches, as OTLP
 * over HTTP (protobuf, gzip when asked), from the runtime's libuv loop:
 * adding a span never waits for the network, and never sends inline (a
 * batch goes out from a timer, after the answer that ended its last span).
 * One export is in flight at a time. What cannot be kept or sent is dropped
 * and counted by reason (metrics.h). The exporter's headers (credentials,
 * often) go on the export request only, and are never logged. */
#ifndef OFCTX_OTLP_EXPORTER_H
#define OFCTX_OTLP_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "metrics.h"
#include "ofctx/config.h"
#include "ofctx/error.h"
#include "otlp_encode.h"

#define OFCTX__OTLP_QUEUE_MAX 2048   /* spans waiting; more are dropped ("queue_full") */
#define OFCTX__OTLP_BATCH_MAX 512    /* spans per export request */
#define OFCTX__OTLP_INTERVAL_MS 1000 /* a span waits at most this long for its batch */
#define OFCTX__OTLP_SHUTDOWN_MS 2000 /* what is left gets this long at shutdown */

typedef struct ofctx__otlp_exporter ofctx__otlp_exporter_t;

typedef struct {
  const char *endpoint;               /* the context's, checked: http(s)://authority[/path] */
  const char *headers;                /* "Name: value\n" lines, or NULL; copied */
  int gzip;                           /* Content-Encoding: gzip */
  uint64_t timeout_ms;                /* one export attempt */
  size_t queue_max;                   /* 0: OFCTX__OTLP_QUEUE_MAX */
  size_t batch_max;                   /* 0: OFCTX__OTLP_BATCH_MAX */
  uint64_t interval_ms;               /* 0: OFCTX__OTLP_INTERVAL_MS */
  const ofctx__span_attr_t *resource; /* the resource's attributes, copied */
  size_t resource_count;
} ofctx__otlp_opts_t;

/* The URL path spans are posted to for `endpoint`, written into `path`
 * (`size` bytes), and the length of its scheme and authority: as
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL), "/v1/traces" is appended to the
 * endpoint's path; a path that already ends with "/v1/traces" is taken as
 * it is (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). 0, or -1 when it does not
 * fit. */
int ofctx__otlp_path(const char *endpoint, char *path, size_t size, size_t *base_len);

/* A new exporter whose counters are `metrics` (borrowed; may be NULL).
 * OFCTX_OK; OFCTX_ESEND when libcurl cannot be opened; OFCTX_ENOMEM. */
ofctx_err_t ofctx__otlp_exporter_new(ofctx__otlp_exporter_t **out, uv_loop_t *loop,
                                     const ofctx__otlp_opts_t *opts, ofctx__metrics_t *metrics);

/* The exporter the context asks for (tracing.provider.exporter, checked by
 * the parser), with the resource of this function; *out NULL when the
 * context sets no exporter. Same results as ofctx__otlp_exporter_new. */
ofctx_err_t ofctx__otlp_exporter_from_config(ofctx__otlp_exporter_t **out, uv_loop_t *loop,
                                             const ofctx_config_t *cfg, ofctx__metrics_t *metrics);

/* Copies the ended span `d` into the queue (dropped and counted when the
 * queue is full or memory is short). Never sends from here. */
void ofctx__otlp_exporter_add(ofctx__otlp_exporter_t *e, const ofctx__span_desc_t *d);

/* The first span waiting (the others follow by `next`), or NULL. */
const ofctx__span_record_t *ofctx__otlp_exporter_queue(const ofctx__otlp_exporter_t *e);

/* Spans waiting. */
size_t ofctx__otlp_exporter_queued(const ofctx__otlp_exporter_t *e);

/* Sends what is queued, within `bound_ms`, then frees the exporter; what
 * is still queued or in flight then is dropped ("shutdown"). `closed` (may
 * be NULL) runs once it is freed. */
void ofctx__otlp_exporter_close(ofctx__otlp_exporter_t *e, uint64_t bound_ms,
                                void (*closed)(void *arg), void *arg);

#endif
