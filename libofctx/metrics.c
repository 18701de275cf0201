/* The counters and their Prometheus text. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "ofctx/version.h"
#include "text.h"

int ofctx__metrics_init(ofctx__metrics_t *m, const char *const *inputs, size_t input_count,
                        const char *const *outputs, size_t output_count) {
  memset(m, 0, sizeof *m);
  m->input_count = input_count;
  m->output_count = output_count;
  m->inputs = ofctx__calloc(input_count ? input_count : 1, sizeof *m->inputs);
  m->outputs = ofctx__calloc(output_count + 1, sizeof *m->outputs);
  m->events =
      ofctx__calloc((input_count ? input_count : 1) * OFCTX__OUTCOME_COUNT, sizeof *m->events);
  m->sends = ofctx__calloc((output_count + 1) * 2, sizeof *m->sends);
  m->invocations = ofctx__calloc(input_count ? input_count : 1, sizeof *m->invocations);
  m->send_times = ofctx__calloc(output_count + 1, sizeof *m->send_times);
  if (!m->inputs || !m->outputs || !m->events || !m->sends || !m->invocations || !m->send_times) {
    ofctx__metrics_free(m);
    return -1;
  }
  for (size_t i = 0; i < input_count; i++)
    m->inputs[i] = inputs[i];
  for (size_t i = 0; i < output_count; i++)
    m->outputs[i] = outputs[i];
  m->outputs[output_count] = "(direct)";
  return 0;
}

void ofctx__metrics_free(ofctx__metrics_t *m) {
  ofctx__free(m->inputs);
  ofctx__free(m->outputs);
  ofctx__free(m->events);
  ofctx__free(m->sends);
  ofctx__free(m->invocations);
  ofctx__free(m->send_times);
  ofctx__free(m->states);
  ofctx__free(m->state_requests);
  ofctx__free(m->state_times);
  memset(m, 0, sizeof *m);
}

int ofctx__metrics_states(ofctx__metrics_t *m, const char *const *states, size_t state_count) {
  const char **names = ofctx__calloc(state_count ? state_count : 1, sizeof *names);
  uint64_t *requests = ofctx__calloc((state_count ? state_count : 1) * OFCTX__STATE_OP_COUNT *
                                         OFCTX__STATE_RESULT_COUNT,
                                     sizeof *requests);
  ofctx__histogram_t *times =
      ofctx__calloc((state_count ? state_count : 1) * OFCTX__STATE_OP_COUNT, sizeof *times);

  if (!names || !requests || !times) {
    ofctx__free(names);
    ofctx__free(requests);
    ofctx__free(times);
    return -1;
  }
  for (size_t i = 0; i < state_count; i++)
    names[i] = states[i];
  ofctx__free(m->states);
  ofctx__free(m->state_requests);
  ofctx__free(m->state_times);
  m->states = names;
  m->state_requests = requests;
  m->state_times = times;
  m->state_count = state_count;
  return 0;
}

static const double bounds[OFCTX__LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static void observe(ofctx__histogram_t *h, double seconds) {
  size_t b = 0;

  while (b < OFCTX__LATENCY_BUCKETS && seconds > bounds[b])
    b++;
  h->counts[b]++;
  h->sum += seconds;
}

void ofctx__metrics_invocation_time(ofctx__metrics_t *m, size_t input, double seconds) {
  if (input < (m->input_count ? m->input_count : 1))
    observe(&m->invocations[input], seconds);
}

void ofctx__metrics_send_time(ofctx__metrics_t *m, size_t output, double seconds) {
  if (output <= m->output_count)
    observe(&m->send_times[output], seconds);
}

void ofctx__metrics_event(ofctx__metrics_t *m, size_t input, ofctx__outcome_t outcome) {
  if (input < (m->input_count ? m->input_count : 1) && outcome < OFCTX__OUTCOME_COUNT)
    m->events[input * OFCTX__OUTCOME_COUNT + outcome]++;
}

uint64_t ofctx__metrics_events(const ofctx__metrics_t *m, size_t input, ofctx__outcome_t outcome) {
  if (input < (m->input_count ? m->input_count : 1) && outcome < OFCTX__OUTCOME_COUNT)
    return m->events[input * OFCTX__OUTCOME_COUNT + outcome];
  return 0;
}

void ofctx__metrics_send(ofctx__metrics_t *m, size_t output, int ok) {
  if (output <= m->output_count)
    m->sends[output * 2 + (ok ? 0 : 1)]++;
}

uint64_t ofctx__metrics_sends(const ofctx__metrics_t *m, int ok) {
  uint64_t n = 0;
  for (size_t i = 0; i <= m->output_count; i++)
    n += m->sends[i * 2 + (ok ? 0 : 1)];
  return n;
}

void ofctx__metrics_rejected(ofctx__metrics_t *m) { m->rejected++; }

void ofctx__metrics_state(ofctx__metrics_t *m, size_t state, ofctx__state_op_metric_t op,
                          ofctx__state_result_metric_t result, double seconds) {
  if (state >= m->state_count || op >= OFCTX__STATE_OP_COUNT || result >= OFCTX__STATE_RESULT_COUNT)
    return;
  m->state_requests[(state * OFCTX__STATE_OP_COUNT + op) * OFCTX__STATE_RESULT_COUNT + result]++;
  observe(&m->state_times[state * OFCTX__STATE_OP_COUNT + op], seconds);
}

uint64_t ofctx__metrics_state_requests(const ofctx__metrics_t *m, size_t state,
                                       ofctx__state_op_metric_t op,
                                       ofctx__state_result_metric_t result) {
  if (state >= m->state_count || op >= OFCTX__STATE_OP_COUNT || result >= OFCTX__STATE_RESULT_COUNT)
    return 0;
  return m
      ->state_requests[(state * OFCTX__STATE_OP_COUNT + op) * OFCTX__STATE_RESULT_COUNT + result];
}

void ofctx__metrics_escape(ofctx__buf_t *t, const char *value, int quotes) {
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || (quotes && *p == '"'))
      ofctx__buf_printf(t, "\\%c", *p);
    else if (*p == '\n')
      ofctx__buf_puts(t, "\\n");
    else
      ofctx__buf_append(t, p, 1);
  }
}

/* The labels `key`="`value`" and, when `extra` is not NULL, ,`extra`
 * (already in the format), without the closing brace. */
static void labels(ofctx__buf_t *t, const char *key, const char *value, const char *extra) {
  ofctx__buf_printf(t, "{%s=\"", key);
  ofctx__metrics_escape(t, value, 1);
  ofctx__buf_puts(t, "\"");
  if (extra)
    ofctx__buf_printf(t, ",%s", extra);
}

/* One histogram's series under `name`, labelled as for labels(). */
static void histogram(ofctx__buf_t *t, const char *name, const char *key, const char *value,
                      const char *extra, const ofctx__histogram_t *h) {
  uint64_t cumulative = 0;
  char number[32];

  for (size_t b = 0; b <= OFCTX__LATENCY_BUCKETS; b++) {
    cumulative += h->counts[b];
    ofctx__buf_printf(t, "%s_bucket", name);
    labels(t, key, value, extra);
    if (b < OFCTX__LATENCY_BUCKETS) {
      snprintf(number, sizeof number, "%g", bounds[b]);
      ofctx__dot_decimal(number, NULL);
      ofctx__buf_printf(t, ",le=\"%s\"} %llu\n", number, (unsigned long long)cumulative);
    } else {
      ofctx__buf_printf(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
    }
  }
  ofctx__buf_printf(t, "%s_sum", name);
  labels(t, key, value, extra);
  snprintf(number, sizeof number, "%.9g", h->sum);
  ofctx__dot_decimal(number, NULL);
  ofctx__buf_printf(t, "} %s\n%s_count", number, name);
  labels(t, key, value, extra);
  ofctx__buf_printf(t, "} %llu\n", (unsigned long long)cumulative);
}

static const char *const op_names[OFCTX__STATE_OP_COUNT] = {"get", "set", "delete"};
static const char *const result_names[OFCTX__STATE_RESULT_COUNT] = {"ok", "not_found", "conflict",
                                                                    "error"};

/* Whether an operation can end with a result: only a get finds nothing,
 * only a write conflicts. */
static int can_end(size_t op, size_t result) {
  if (result == OFCTX__STATE_NOT_FOUND)
    return op == OFCTX__STATE_OP_GET;
  if (result == OFCTX__STATE_CONFLICT)
    return op != OFCTX__STATE_OP_GET;
  return 1;
}

/* The state families, when the context names state stores. */
static void render_states(const ofctx__metrics_t *m, ofctx__buf_t *t) {
  char extra[64];

  if (!m->state_count)
    return;
  ofctx__buf_puts(t, "# HELP ofctx_state_requests_total State requests to the sidecar, by store, "
                     "operation and result.\n"
                     "# TYPE ofctx_state_requests_total counter\n");
  for (size_t s = 0; s < m->state_count; s++)
    for (size_t op = 0; op < OFCTX__STATE_OP_COUNT; op++)
      for (size_t r = 0; r < OFCTX__STATE_RESULT_COUNT; r++) {
        if (!can_end(op, r))
          continue;
        snprintf(extra, sizeof extra, "operation=\"%s\",result=\"%s\"", op_names[op],
                 result_names[r]);
        ofctx__buf_puts(t, "ofctx_state_requests_total");
        labels(t, "store", m->states[s], extra);
        ofctx__buf_printf(
            t, "} %llu\n",
            (unsigned long long)m
                ->state_requests[(s * OFCTX__STATE_OP_COUNT + op) * OFCTX__STATE_RESULT_COUNT + r]);
      }
  ofctx__buf_puts(t, "# HELP ofctx_state_duration_seconds From a state request to its end, its "
                     "retries included, by store and operation.\n"
                     "# TYPE ofctx_state_duration_seconds histogram\n");
  for (size_t s = 0; s < m->state_count; s++)
    for (size_t op = 0; op < OFCTX__STATE_OP_COUNT; op++) {
      snprintf(extra, sizeof extra, "operation=\"%s\"", op_names[op]);
      histogram(t, "ofctx_state_duration_seconds", "store", m->states[s], extra,
                &m->state_times[s * OFCTX__STATE_OP_COUNT + op]);
    }
}

void ofctx__metrics_spans_exported(ofctx__metrics_t *m, size_t n) {
  if (m)
    m->spans_exported += n;
}

void ofctx__metrics_spans_dropped(ofctx__metrics_t *m, ofctx__spans_drop_t why, size_t n) {
  if (m)
    m->spans_dropped[why] += n;
}

static void render_spans(const ofctx__metrics_t *m, ofctx__buf_t *t) {
  static const char *const reasons[OFCTX__SPANS_DROP_COUNT] = {"queue_full", "export_failed",
                                                               "shutdown"};

  ofctx__buf_printf(t,
                    "# HELP ofctx_spans_exported_total Spans the OTLP exporter delivered.\n"
                    "# TYPE ofctx_spans_exported_total counter\nofctx_spans_exported_total %llu\n"
                    "# HELP ofctx_spans_dropped_total Spans the OTLP exporter dropped, by reason.\n"
                    "# TYPE ofctx_spans_dropped_total counter\n",
                    (unsigned long long)m->spans_exported);
  for (size_t i = 0; i < OFCTX__SPANS_DROP_COUNT; i++)
    ofctx__buf_printf(t, "ofctx_spans_dropped_total{reason=\"%s\"} %llu\n", reasons[i],
                      (unsigned long long)m->spans_dropped[i]);
}

void ofctx__metrics_render(const ofctx__metrics_t *m, const ofctx__metrics_gauges_t *gauges,
                           ofctx__buf_t *t) {
  ofctx__buf_printf(t,
                    "# HELP ofctx_build_info The libofctx the function runs on.\n"
                    "# TYPE ofctx_build_info gauge\nofctx_build_info{version=\"%s\"} 1\n",
                    ofctx_version_string());
  ofctx__buf_puts(t, "# HELP ofctx_invocation_duration_seconds From an event's arrival to its "
                     "answer, its sends included, by input.\n"
                     "# TYPE ofctx_invocation_duration_seconds histogram\n");
  for (size_t i = 0; i < m->input_count; i++)
    histogram(t, "ofctx_invocation_duration_seconds", "input", m->inputs[i], NULL,
              &m->invocations[i]);
  ofctx__buf_puts(t, "# HELP ofctx_send_duration_seconds From a send to its end, its retries "
                     "included, by output.\n"
                     "# TYPE ofctx_send_duration_seconds histogram\n");
  for (size_t i = 0; i <= m->output_count; i++)
    histogram(t, "ofctx_send_duration_seconds", "output", m->outputs[i], NULL, &m->send_times[i]);
  ofctx__buf_puts(t, "# HELP ofctx_events_total Events handled, by input and outcome.\n"
                     "# TYPE ofctx_events_total counter\n");
  for (size_t i = 0; i < m->input_count; i++)
    for (size_t o = 0; o < OFCTX__OUTCOME_COUNT; o++) {
      ofctx__buf_puts(t, "ofctx_events_total{input=\"");
      ofctx__metrics_escape(t, m->inputs[i], 1);
      ofctx__buf_printf(t, "\",outcome=\"%s\"} %llu\n", ofctx__outcome_name((ofctx__outcome_t)o),
                        (unsigned long long)m->events[i * OFCTX__OUTCOME_COUNT + o]);
    }
  ofctx__buf_puts(t, "# HELP ofctx_sends_total Sends to the sidecar, by output and result.\n"
                     "# TYPE ofctx_sends_total counter\n");
  for (size_t i = 0; i <= m->output_count; i++)
    for (size_t r = 0; r < 2; r++) {
      ofctx__buf_puts(t, "ofctx_sends_total{output=\"");
      ofctx__metrics_escape(t, m->outputs[i], 1);
      ofctx__buf_printf(t, "\",result=\"%s\"} %llu\n", r ? "failed" : "ok",
                        (unsigned long long)m->sends[i * 2 + r]);
    }
  render_states(m, t);
  ofctx__buf_printf(
      t,
      "# HELP ofctx_unauthorized_total Requests refused for a missing or wrong app token.\n"
      "# TYPE ofctx_unauthorized_total counter\nofctx_unauthorized_total %llu\n"
      "# HELP ofctx_log_lines_dropped_total Log lines dropped because stderr did not take "
      "them fast enough.\n"
      "# TYPE ofctx_log_lines_dropped_total counter\nofctx_log_lines_dropped_total %llu\n"
      "# HELP ofctx_inflight Invocations not yet settled.\n"
      "# TYPE ofctx_inflight gauge\nofctx_inflight %zu\n"
      "# HELP ofctx_connections Open HTTP connections.\n"
      "# TYPE ofctx_connections gauge\nofctx_connections %zu\n",
      (unsigned long long)m->rejected, (unsigned long long)ofctx__log_dropped(), gauges->inflight,
      gauges->connections);
  if (m->spans_on)
    render_spans(m, t);
}
