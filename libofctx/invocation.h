/* Internal: one invocation, the core of every mode. It owns the function's
 * context (struct ofctx), runs the function once for an event, holds the
 * input's answer until the function has returned and every send it made
 * has settled, then answers through the mode's callback. It knows no mode
 * and no sink: what it needs of its runtime is the host below. */
#ifndef OFCTX_INVOCATION_H
#define OFCTX_INVOCATION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "event.h"
#include "hooks.h"
#include "metrics.h"
#include "ofctx/batch.h"
#include "ofctx/function.h"
#include "ofctx/trace.h"
#include "otlp_exporter.h"
#include "outcome.h"
#include "sink.h"
#include "trace.h"

/* What invocations need of the runtime that hosts them; filled by it,
 * except the list of invocations in flight, which is kept here. */
typedef struct {
  uv_loop_t *loop;
  const ofctx_config_t *cfg;
  ofctx_function_t fn;             /* the OpenFunction signature, or */
  ofctx_http_function_t http_fn;   /* a plain HTTP function (Knative) */
  ofctx_batch_function_t batch_fn; /* a batch function (bulk, or batches of one) */
  const ofctx__hooks_t *hooks;     /* run around the function; NULL: none */
  uint64_t timeout_ms;             /* after the function returned, for its sends; 0: none */
  ofctx__metrics_t *metrics;
  ofctx__sink_t *sink;        /* where sends go */
  void (*settled)(void *arg); /* an invocation settled (a draining runtime may end) */
  void *arg;
  void (*tick)(ofctx_t *ctx, int stopping, void *user_data); /* ofctx_main_opts_t.tick, or NULL */
  void *user_data;     /* the function's own state (ofctx_user_data); borrowed */
  int tracing;         /* W3C Trace Context: each invocation a span, each send a child */
  const char *baggage; /* with tracing, the context's baggage as the header's value, or NULL */
  ofctx__otlp_exporter_t *exporter; /* with tracing: where ended spans go, or NULL */
  ofctx_t *inflight;                /* invocations not yet settled */
  size_t inflight_count;
} ofctx__host_t;

/* A batch: the entries' events (borrowed) and their statuses (0: none). */
struct ofctx_batch {
  ofctx_event_t **events;
  int *statuses;
  size_t count;
};

/* The response of a plain HTTP function. */
struct ofctx_response {
  int status;
  ofctx__buf_t headers; /* name NUL value NUL ... */
  size_t header_count;
  ofctx__buf_t body;
};

/* Answers the input once the invocation has settled. */
typedef void (*ofctx__answer_fn)(ofctx_t *ctx, ofctx__outcome_t outcome);

struct ofctx {
  ofctx__host_t *host;
  void *req; /* the mode's own handle on the input (an HTTP request), for its answer */
  ofctx_event_t ev;
  ofctx__answer_fn answer;
  ofctx_t *prev, *next;
  int refs;             /* the invocation itself + each send and hold in flight */
  int tick;             /* a tick's context: no event, no answer, no count */
  ofctx_batch_t *batch; /* a batch function's entries: counted by whoever made them */
  ofctx_batch_t one;    /* a single event given to a batch function */
  ofctx_event_t *one_event;
  int one_status;
  int settled;
  int returned;
  ofctx_result_t result;  /* what the function returned, made one of the three */
  const char *stopped_by; /* the pre hook that answered instead, or NULL */
  int sends_pending;      /* sends and holds not yet finished */
  int sends_failed;
  char *reply;
  size_t reply_len;
  json_t *reply_attributes; /* Knative: the reply is a CloudEvent */
  ofctx_response_t res;
  uv_timer_t timeout; /* while sends are in flight after the function returned */
  int timer_on;
  uint64_t started;
  ofctx__span_t *span; /* with the host's tracing (and memory for it), else NULL */
};

/* The trace fields of a log line about `ctx` (may be NULL): key, value,
 * key, value, with NULL values when it has no span (the log leaves them
 * out). */
#define OFCTX__TRACE_FIELDS(ctx)                                                                   \
  "trace_id", (ctx) && (ctx)->span ? (ctx)->span->trace_hex : NULL, "span_id",                     \
      (ctx) && (ctx)->span ? (ctx)->span->span_hex : NULL

/* Runs the host's function for the event `ev` (taken over: its owned parts
 * are freed with the invocation), which `req` (borrowed until the answer)
 * delivered; `answer` is called once it has settled. 0; or -1 when out of
 * memory: then nothing ran, the event is freed and counted as not
 * acknowledged, and the caller answers its input itself. */
int ofctx__invoke(ofctx__host_t *host, void *req, const ofctx_event_t *ev, ofctx__answer_fn answer);

/* Runs the host's batch function on `batch` (borrowed until the answer),
 * the entries of input `input_index` that `req` delivered; `answer` gets
 * the invocation's outcome, which ofctx__batch_outcome turns into each
 * entry's. The entries are not counted here. 0, or -1 when out of memory
 * (nothing ran). */
int ofctx__invoke_batch(ofctx__host_t *host, void *req, ofctx_batch_t *batch, const char *input,
                        size_t input_index, ofctx__answer_fn answer);
/* Entry `i`'s outcome once its batch's invocation ended with `outcome`. */
ofctx__outcome_t ofctx__batch_outcome(const ofctx_batch_t *batch, size_t i,
                                      ofctx__outcome_t outcome);

/* Runs the host's tick, if it has one, in a context of its own that
 * settles like an invocation's (so a drain waits for its sends) but answers
 * nothing and counts nothing. */
void ofctx__tick(ofctx__host_t *host, int stopping);

/* Settles every invocation in flight as RETRY (grace period over). */
void ofctx__invocations_abort(ofctx__host_t *host);

/* A send of `ctx` has finished. */
void ofctx__invocation_send_done(ofctx_t *ctx, int ok);

/* Drops one reference; frees the context with the last. */
void ofctx__invocation_release(ofctx_t *ctx);

#endif
