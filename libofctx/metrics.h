/* Internal: the counters a function keeps (events by input and outcome,
 * sends by output and result, state requests by store, operation and
 * result, refused requests) and their rendering in the
 * Prometheus text format. The only place that knows how they are laid out. */
#ifndef OFCTX_METRICS_H
#define OFCTX_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "outcome.h"

/* Latency histograms: these upper bounds (seconds), then +Inf. */
#define OFCTX__LATENCY_BUCKETS 14

typedef struct {
  uint64_t counts[OFCTX__LATENCY_BUCKETS + 1]; /* per bucket, not cumulative */
  double sum;
} ofctx__histogram_t;

/* Why spans were dropped by the OTLP exporter (otlp_exporter.h). */
typedef enum {
  OFCTX__SPANS_QUEUE_FULL,    /* the queue was full, or memory short, when the span ended */
  OFCTX__SPANS_EXPORT_FAILED, /* the export request failed (after its retries) */
  OFCTX__SPANS_SHUTDOWN,      /* still queued or in flight when the shutdown's bound ran out */
  OFCTX__SPANS_DROP_COUNT
} ofctx__spans_drop_t;

typedef struct {
  const char **inputs;  /* label values, borrowed; `input_count` of them */
  const char **outputs; /* the same, then "(direct)" for sends to components */
  size_t input_count, output_count;
  uint64_t *events; /* [input][outcome] */
  uint64_t *sends;  /* [output + 1][ok, failed] */
  uint64_t rejected;
  ofctx__histogram_t *invocations; /* [input]: from the call to the answer */
  ofctx__histogram_t *send_times;  /* [output + 1]: from the send to its end */
  const char **states;             /* the state entries' names, borrowed; `state_count` */
  size_t state_count;
  uint64_t *state_requests;        /* [state][operation][result] */
  ofctx__histogram_t *state_times; /* [state][operation]: from the request to its end */
  int spans_on;                    /* an exporter runs: its families are rendered */
  uint64_t spans_exported;
  uint64_t spans_dropped[OFCTX__SPANS_DROP_COUNT];
} ofctx__metrics_t;

/* A state request's operation and how it ended, as the metrics name them. */
typedef enum {
  OFCTX__STATE_OP_GET,
  OFCTX__STATE_OP_SET,
  OFCTX__STATE_OP_DELETE,
  OFCTX__STATE_OP_COUNT
} ofctx__state_op_metric_t;

typedef enum {
  OFCTX__STATE_OK,
  OFCTX__STATE_NOT_FOUND, /* a get that found no value */
  OFCTX__STATE_CONFLICT,  /* a write whose ETag did not match */
  OFCTX__STATE_ERROR,     /* refused otherwise, or the sidecar not reached */
  OFCTX__STATE_RESULT_COUNT
} ofctx__state_result_metric_t;

/* Counters for inputs and outputs of those names (the arrays are copied,
 * their strings borrowed: they must outlive the counters). 0, or -1 when
 * out of memory (nothing is left to free then). */
int ofctx__metrics_init(ofctx__metrics_t *m, const char *const *inputs, size_t input_count,
                        const char *const *outputs, size_t output_count);
void ofctx__metrics_free(ofctx__metrics_t *m);

/* Adds counters for the state stores of those names (the context's
 * `states` entries; the array is copied, the strings borrowed). 0, or -1
 * when out of memory (the counters are left without states then). */
int ofctx__metrics_states(ofctx__metrics_t *m, const char *const *states, size_t state_count);
/* A request of operation `op` on state entry `state` ended with `result`
 * after `seconds`, its retries included. */
void ofctx__metrics_state(ofctx__metrics_t *m, size_t state, ofctx__state_op_metric_t op,
                          ofctx__state_result_metric_t result, double seconds);
/* How many requests of `op` on `state` ended with `result`. */
uint64_t ofctx__metrics_state_requests(const ofctx__metrics_t *m, size_t state,
                                       ofctx__state_op_metric_t op,
                                       ofctx__state_result_metric_t result);

/* An invocation of input `input` took `seconds`, its sends included; a
 * send to `output` took `seconds`, its retries included. */
void ofctx__metrics_invocation_time(ofctx__metrics_t *m, size_t input, double seconds);
void ofctx__metrics_send_time(ofctx__metrics_t *m, size_t output, double seconds);

/* An event of input `input` ended with `outcome`. */
void ofctx__metrics_event(ofctx__metrics_t *m, size_t input, ofctx__outcome_t outcome);
/* How many events of input `input` ended with `outcome`. */
uint64_t ofctx__metrics_events(const ofctx__metrics_t *m, size_t input, ofctx__outcome_t outcome);
/* A send to output `output` (output_count: a direct send) finished. */
void ofctx__metrics_send(ofctx__metrics_t *m, size_t output, int ok);
/* Sends finished so far, all outputs together, that were (not) accepted. */
uint64_t ofctx__metrics_sends(const ofctx__metrics_t *m, int ok);
/* `n` spans were exported; `n` were dropped for `why`. */
void ofctx__metrics_spans_exported(ofctx__metrics_t *m, size_t n);
void ofctx__metrics_spans_dropped(ofctx__metrics_t *m, ofctx__spans_drop_t why, size_t n);
/* A request was refused for a missing or wrong app token. */
void ofctx__metrics_rejected(ofctx__metrics_t *m);

/* The gauges, taken when the counters are rendered. */
typedef struct {
  size_t inflight;    /* invocations not yet settled */
  size_t connections; /* open HTTP connections */
} ofctx__metrics_gauges_t;

/* Appends `value` with backslashes and line breaks escaped, and double
 * quotes too when `quotes` (a label value; not a help text). */
void ofctx__metrics_escape(ofctx__buf_t *t, const char *value, int quotes);

/* Appends every metric in the Prometheus text format 0.0.4 to `out`. */
void ofctx__metrics_render(const ofctx__metrics_t *m, const ofctx__metrics_gauges_t *gauges,
                           ofctx__buf_t *out);

#endif
