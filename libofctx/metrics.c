/* The counters and their Prometheus text. */
#include <string.h>

#include "log.h"
#include "mem.h"
#include "metrics.h"

const char *ofctx__outcome_name(ofctx__outcome_t outcome) {
  static const char *const names[] = {"success", "drop", "retry"};
  return outcome < OFCTX__OUTCOME_COUNT ? names[outcome] : "retry";
}

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
  if (!m->inputs || !m->outputs || !m->events || !m->sends) {
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
  memset(m, 0, sizeof *m);
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

/* A label value with \, " and newlines escaped as the format wants. */
static void label(ofctx__buf_t *t, const char *value) {
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || *p == '"')
      ofctx__buf_printf(t, "\\%c", *p);
    else if (*p == '\n')
      ofctx__buf_puts(t, "\\n");
    else
      ofctx__buf_append(t, p, 1);
  }
}

void ofctx__metrics_render(const ofctx__metrics_t *m, const ofctx__metrics_gauges_t *gauges,
                           ofctx__buf_t *t) {
  ofctx__buf_puts(t, "# HELP ofctx_events_total Events handled, by input and outcome.\n"
                     "# TYPE ofctx_events_total counter\n");
  for (size_t i = 0; i < m->input_count; i++)
    for (size_t o = 0; o < OFCTX__OUTCOME_COUNT; o++) {
      ofctx__buf_puts(t, "ofctx_events_total{input=\"");
      label(t, m->inputs[i]);
      ofctx__buf_printf(t, "\",outcome=\"%s\"} %llu\n", ofctx__outcome_name((ofctx__outcome_t)o),
                        (unsigned long long)m->events[i * OFCTX__OUTCOME_COUNT + o]);
    }
  ofctx__buf_puts(t, "# HELP ofctx_sends_total Sends to the sidecar, by output and result.\n"
                     "# TYPE ofctx_sends_total counter\n");
  for (size_t i = 0; i <= m->output_count; i++)
    for (size_t r = 0; r < 2; r++) {
      ofctx__buf_puts(t, "ofctx_sends_total{output=\"");
      label(t, m->outputs[i]);
      ofctx__buf_printf(t, "\",result=\"%s\"} %llu\n", r ? "failed" : "ok",
                        (unsigned long long)m->sends[i * 2 + r]);
    }
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
}
