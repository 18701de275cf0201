/* The trace of an invocation (W3C Trace Context).
 *
 * When the function context enables tracing with the provider
 * `opentelemetry`, each invocation continues the trace its event came with
 * (a valid `traceparent` in the request's headers, the gRPC call's
 * metadata, or the CloudEvent's extensions; else it starts a new trace) as
 * a span of its own, and each send is a child span whose `traceparent`
 * (with the `tracestate` received, and the context's `baggage`) goes to the
 * sidecar, so that Dapr's spans join the same trace. The library's log
 * lines about an invocation, and ofctx_log's, then carry `trace_id` and
 * `span_id`. With the context's exporter `otlp`, the spans (the
 * invocation's, its sends', its hooks') are exported over OTLP/HTTP
 * (docs/observability.md).
 *
 *   ofctx_log(ctx, OFCTX_LOG_INFO, "order %s", id);  // carries trace_id
 *   const char *tp = ofctx_traceparent(ctx);         // for a call of its own
 *   if (tp)
 *     headers = curl_slist_append(headers, ...);     // "traceparent: <tp>"
 *
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_TRACE_PUBLIC_H
#define OFCTX_TRACE_PUBLIC_H

#include "ofctx/export.h"
#include "ofctx/function.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The trace id of the invocation `ctx`: 32 lower-case hex digits, borrowed
 * from the context (valid while `ctx` is: during the function's call, its
 * send callbacks and its hooks). NULL when tracing is off (the default),
 * for the provider `skywalking`, and for a NULL `ctx`. */
OFCTX_EXTERN const char *ofctx_trace_id(const ofctx_t *ctx);

/* The span id of the invocation `ctx`: 16 lower-case hex digits, new for
 * each invocation, borrowed as ofctx_trace_id's; NULL when that is. */
OFCTX_EXTERN const char *ofctx_span_id(const ofctx_t *ctx);

/* The invocation's `traceparent` (version 00: the trace id, the
 * invocation's span id, the sampled flag), for a call the function makes
 * by itself, outside the sends of send.h; borrowed as ofctx_trace_id's,
 * NULL when that is. */
OFCTX_EXTERN const char *ofctx_traceparent(const ofctx_t *ctx);

#ifdef __cplusplus
}
#endif

#endif
