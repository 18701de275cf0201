/* The core on its own: an invocation with a fake sink and no mode
 * (host_fixture.h). The input is answered only once the function has
 * returned and every send and hold has settled; what a function or a batch
 * function returns is one of the three results or ERROR (0 too); timeouts
 * and the grace period settle what is in flight; a tick answers nothing;
 * the counters follow. How sends are checked and described: test_send.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "host_fixture.h"

/* A tick sends; `stopping` is what it was told; its user data is the
 * host's, also through its context. */
static int tick_stopping = -1;
static void *tick_user_data;
static void tick(ofctx_t *ctx, int stopping, void *user_data) {
  tick_stopping = stopping;
  tick_user_data = user_data;
  assert_ptr_equal(ofctx_user_data(ctx), user_data);
  assert_null(ofctx_event(ctx));
  assert_int_equal(ofctx_send_to(ctx, "out", "{\"t\":1}", 7, NULL), OFCTX_OK);
}

/* The answer waits for the send; the send was described for the sink. */
static void answered_after_sends(void **state) {
  fixture_t *f = *state;

  run(f, "binding");
  assert_int_equal(f->answers, 0);
  assert_int_equal(f->host.inflight_count, 1);
  assert_int_equal(f->sink.count, 1);
  assert_int_equal(f->sink.last.kind, OFCTX__SEND_BINDING);
  assert_int_equal(f->sink.last.slot, 0);
  assert_true(f->sink.last.shared);
  assert_string_equal(f->sink.component, "kafka-out");
  assert_string_equal(f->sink.operation, "create");
  assert_string_equal(f->sink.data, "{\"a\":1}");
  assert_string_equal(ofctx_strmap_value_at(f->sink.last.metadata, 0), "v");
  finish(&f->sink, 1);
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(f->host.inflight_count, 0);
  assert_int_equal(f->settled, 1);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_SUCCESS), 1);
  assert_int_equal(ofctx__metrics_sends(&f->metrics, 1), 1);
}

/* ---- stderr, captured: what the core logs ---- */

static FILE *captured;
static int saved_stderr = -1;

/* From here to logged(), stderr goes to a file. */
static void capture(void) {
  fflush(stderr);
  captured = tmpfile();
  assert_non_null(captured);
  saved_stderr = dup(2);
  dup2(fileno(captured), 2);
}

/* What was written on stderr since capture(); stderr is back. */
static const char *logged(void) {
  static char text[4096];
  size_t n;

  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  rewind(captured);
  n = fread(text, 1, sizeof text - 1, captured);
  text[n] = '\0';
  fclose(captured);
  return text;
}

/* A hold keeps the answer back until its release; a failed release is
 * RETRY, a release after the invocation settled only lets go. */
static void holds(void **state) {
  fixture_t *f = *state;

  run(f, "hold");
  assert_int_equal(f->answers, 0);
  assert_int_equal(ofctx_hold(held_ctx), OFCTX_OK); /* a second one */
  ofctx_release(held_ctx, OFCTX_OK);
  assert_int_equal(f->answers, 0);
  ofctx_release(held_ctx, OFCTX_OK);
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  run(f, "hold");
  capture();
  ofctx_release(held_ctx, OFCTX_ESEND);
  assert_non_null(strstr(logged(), "hold released as failed input=in code=ESEND"));
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  f->host.timeout_ms = 10;
  run(f, "hold");
  while (f->answers < 3) /* the timer */
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_int_equal(ofctx_hold(held_ctx), OFCTX_ESETTLED);
  ofctx_release(held_ctx, OFCTX_OK); /* after the timeout: frees it (ASan checks) */
  assert_int_equal(ofctx_hold(NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_RETRY), 2);
}

/* ---- what a function returns: one of the three results, or ERROR ---- */

#define OK_HINT "OFCTX_OK is an ofctx_err_t; a function returns OFCTX_SUCCESS"
#define ANY_HINT "return OFCTX_SUCCESS, OFCTX_DROP or OFCTX_ERROR"

/* 0 (OFCTX_OK) is no success: the input is not acknowledged, and the log
 * says what to return; so for any value that is not a result. */
static void zero_is_an_error(void **state) {
  fixture_t *f = *state;
  const char *log;

  capture();
  run(f, "zero");
  log = logged();
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_non_null(strstr(log, "the function returned 0, taken as OFCTX_ERROR: " OK_HINT));
  assert_non_null(strstr(log, "code=0"));
  capture();
  run(f, "seven");
  log = logged();
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_non_null(strstr(log, "unknown code, taken as OFCTX_ERROR: " ANY_HINT));
  assert_non_null(strstr(log, "code=7"));
  capture();
  run(f, "drop");
  log = logged();
  assert_int_equal(f->outcome, OFCTX__OUTCOME_DROP);
  assert_null(strstr(log, "taken as OFCTX_ERROR"));
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_RETRY), 2);
}

static ofctx_result_t batch_returns; /* what batch_function returns */

/* Every entry SUCCESS; then batch_returns. */
static ofctx_result_t batch_function(ofctx_t *ctx, ofctx_batch_t *batch) {
  (void)ctx;
  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    assert_int_equal(ofctx_batch_set_status(batch, i, OFCTX_SUCCESS), OFCTX_OK);
  assert_int_equal(ofctx_batch_set_status(batch, 0, (ofctx_result_t)OFCTX_OK), OFCTX_EINVAL);
  return batch_returns;
}

/* A batch of two with its entries SUCCESS: kept when the batch function
 * returns OFCTX_SUCCESS, every entry RETRY when it returns 0. */
static ofctx__outcome_t run_batch(fixture_t *f, ofctx_result_t returns) {
  ofctx_event_t ev[2] = {{0}, {0}};
  ofctx_event_t *events[] = {&ev[0], &ev[1]};
  int statuses[2] = {0, 0};
  ofctx_batch_t batch = {events, statuses, 2};

  batch_returns = returns;
  assert_int_equal(ofctx__invoke_batch(&f->host, NULL, &batch, "in", 0, answer), 0);
  assert_int_equal(statuses[1], OFCTX_SUCCESS);
  assert_int_equal(ofctx__batch_outcome(&batch, 0, f->outcome),
                   ofctx__batch_outcome(&batch, 1, f->outcome));
  return ofctx__batch_outcome(&batch, 0, f->outcome);
}

/* A batch function's result follows the same rule as a function's, for a
 * batch and for a single event given as a batch of one. */
static void batch_zero_is_an_error(void **state) {
  fixture_t *f = *state;
  const char *log;

  f->host.fn = NULL;
  f->host.batch_fn = batch_function;
  assert_int_equal(run_batch(f, OFCTX_SUCCESS), OFCTX__OUTCOME_SUCCESS);
  capture();
  assert_int_equal(run_batch(f, (ofctx_result_t)OFCTX_OK), OFCTX__OUTCOME_RETRY);
  log = logged();
  assert_non_null(strstr(log, OK_HINT));
  batch_returns = OFCTX_SUCCESS;
  run(f, "one");
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  batch_returns = (ofctx_result_t)OFCTX_OK;
  capture();
  run(f, "one");
  log = logged();
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_non_null(strstr(log, OK_HINT));
  assert_int_equal(f->answers, 4);
}

/* A tick runs in a context of its own: its send keeps it in flight (a drain
 * waits for it), and it answers and counts nothing. No tick, no context. */
static void ticks(void **state) {
  fixture_t *f = *state;

  ofctx__tick(&f->host, 0);
  assert_int_equal(f->host.inflight_count, 0);
  f->host.tick = tick;
  f->host.user_data = &f->sink;
  ofctx__tick(&f->host, 1);
  assert_int_equal(tick_stopping, 1);
  assert_ptr_equal(tick_user_data, &f->sink);
  assert_int_equal(f->host.inflight_count, 1);
  assert_string_equal(f->sink.data, "{\"t\":1}");
  finish(&f->sink, 0);
  assert_int_equal(f->host.inflight_count, 0);
  assert_int_equal(f->settled, 1);
  assert_int_equal(f->answers, 0);
  for (int o = 0; o < OFCTX__OUTCOME_COUNT; o++)
    assert_int_equal(ofctx__metrics_events(&f->metrics, 0, (ofctx__outcome_t)o), 0);
  assert_int_equal(ofctx__metrics_sends(&f->metrics, 0), 1);
}

/* Sends still in flight at the invocation timeout: RETRY, and the late
 * result is still taken (nothing is left behind). */
static void timeout_settles(void **state) {
  fixture_t *f = *state;

  f->host.timeout_ms = 10;
  run(f, "binding");
  uv_run(&f->loop, UV_RUN_ONCE); /* the timer */
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  finish(&f->sink, 1);
}

/* The grace period over: everything in flight is RETRY at once. */
static void abort_settles(void **state) {
  fixture_t *f = *state;

  run(f, "binding");
  run(f, "publish");
  ofctx__invocations_abort(&f->host);
  assert_int_equal(f->answers, 2);
  assert_int_equal(f->host.inflight_count, 0);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  finish(&f->sink, 2);
}

/* ---- tracing ---- */

#define TRACE_A "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TRACE_B "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
#define TRACE_C "00-11111111111111111111111111111111-2222222222222222-01"

static ofctx_t *traced_ctx;
static const char *traced_id;

/* One "binding" event (a send to "out") with a traceparent in its own
 * metadata (`own`), its CloudEvent attributes (`ce`, with tracestate
 * "ce=1") and its shared metadata (`shared`), each NULL for none; the send
 * is left held. */
static void run_traced(fixture_t *f, const char *own, const char *ce, const char *shared) {
  static ofctx__http_header_t own_md[2], shared_md[1];
  ofctx_event_t ev = {0};

  own_md[0] = (ofctx__http_header_t){"Traceparent", own};
  own_md[1] = (ofctx__http_header_t){"tracestate", "own=1"};
  shared_md[0] = (ofctx__http_header_t){"traceparent", shared};
  ev.kind = OFCTX_EVENT_PUBSUB;
  ev.input = "in";
  ev.data = "binding";
  ev.len = strlen(ev.data);
  if (own)
    assert_int_equal(ofctx__event_metadata_add(&ev, own_md, 2, 0), 0);
  if (ce)
    ev.attributes = json_pack("{s:s, s:s}", "traceparent", ce, "tracestate", "ce=1");
  if (shared) {
    ev.shared_metadata = shared_md;
    ev.shared_count = 1;
  }
  assert_int_equal(ofctx__invoke(&f->host, NULL, &ev, answer), 0);
  traced_ctx = f->host.inflight;
  traced_id = ofctx_trace_id(traced_ctx);
}

/* The trace id (32 hex) of the sink's last traceparent, against `tp`'s. */
static void assert_same_trace(const fake_sink_t *s, const char *tp) {
  assert_int_equal(strlen(s->traceparent), 55);
  assert_memory_equal(s->traceparent, tp, 36);
  assert_memory_not_equal(s->traceparent + 36, tp + 36, 16); /* the send's own span */
}

/* The nearest hop's traceparent first: the event's own metadata, then the
 * CloudEvent's extensions, then the metadata a bulk delivery shares; each
 * with its tracestate. */
static void trace_sources(void **state) {
  fixture_t *f = *state;

  f->host.tracing = 1;
  f->host.baggage = "team=a";
  run_traced(f, TRACE_A, TRACE_B, TRACE_C);
  assert_same_trace(&f->sink, TRACE_A);
  assert_string_equal(f->sink.tracestate, "own=1");
  assert_string_equal(f->sink.baggage, "team=a");
  assert_non_null(traced_id);
  assert_memory_equal(traced_id, &TRACE_A[3], 32);
  assert_int_equal(strlen(ofctx_span_id(traced_ctx)), 16);
  assert_memory_not_equal(ofctx_span_id(traced_ctx), f->sink.traceparent + 36, 16);
  assert_memory_equal(ofctx_traceparent(traced_ctx) + 36, ofctx_span_id(traced_ctx), 16);
  finish(&f->sink, 1);
  f->sink.count = 0;
  run_traced(f, "00-bad", TRACE_B, TRACE_C); /* an invalid one is passed over */
  assert_same_trace(&f->sink, TRACE_B);
  assert_string_equal(f->sink.tracestate, "ce=1");
  finish(&f->sink, 1);
  f->sink.count = 0;
  run_traced(f, NULL, NULL, TRACE_C);
  assert_same_trace(&f->sink, TRACE_C);
  assert_string_equal(f->sink.tracestate, "");
  finish(&f->sink, 1);
  f->sink.count = 0;
  run_traced(f, NULL, NULL, NULL); /* a new trace */
  assert_int_equal(strlen(f->sink.traceparent), 55);
  assert_memory_not_equal(f->sink.traceparent, TRACE_A, 35);
  assert_memory_not_equal(f->sink.traceparent, TRACE_C, 35);
  finish(&f->sink, 1);
  assert_int_equal(f->answers, 4);
}

/* Tracing off (the default): no span, nothing for the sink. */
static void untraced(void **state) {
  fixture_t *f = *state;

  run_traced(f, TRACE_A, TRACE_B, NULL);
  assert_null(traced_id);
  assert_null(ofctx_span_id(traced_ctx));
  assert_null(ofctx_traceparent(traced_ctx));
  assert_string_equal(f->sink.traceparent, "");
  assert_string_equal(f->sink.baggage, "");
  finish(&f->sink, 1);
  assert_null(ofctx_trace_id(NULL));
}

/* The attribute `key` of record `r`, or NULL. */
static const char *record_attr(const ofctx__span_record_t *r, const char *key) {
  for (size_t i = 0; i < r->attr_count; i++)
    if (strcmp(r->attrs[i].key, key) == 0)
      return r->attrs[i].value;
  return NULL;
}

/* With an exporter, the ended spans are queued for it as OpenTelemetry's
 * conventions describe them: the send a client span with its error, the
 * invocation a consumer span whose status says why it is retried. */
static void exported_spans(void **state) {
  fixture_t *f = *state;
  ofctx__span_attr_t resource[] = {{"service.name", "f"}};
  ofctx__otlp_opts_t opts = {.endpoint = "http://127.0.0.1:1",
                             .interval_ms = 60000,
                             .resource = resource,
                             .resource_count = 1};
  const ofctx__span_record_t *send, *inv;

  assert_int_equal(ofctx__otlp_exporter_new(&f->host.exporter, &f->loop, &opts, &f->metrics),
                   OFCTX_OK);
  f->host.tracing = 1;
  run_traced(f, TRACE_A, NULL, NULL);
  assert_null(ofctx__otlp_exporter_queue(f->host.exporter)); /* nothing has ended yet */
  finish(&f->sink, 0);                                       /* the send fails */
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_int_equal(ofctx__otlp_exporter_queued(f->host.exporter), 2);
  send = ofctx__otlp_exporter_queue(f->host.exporter);
  inv = send->next;
  assert_int_equal(send->kind, OFCTX__OTLP_CLIENT);
  assert_memory_equal(send->parent_id, inv->span_id, 8);
  assert_true(send->error);
  assert_string_equal(record_attr(send, "ofctx.output"), "out");
  assert_string_equal(record_attr(send, "ofctx.component"), "kafka-out");
  assert_string_equal(record_attr(send, "messaging.system"), "kafka");
  assert_int_equal(inv->kind, OFCTX__OTLP_CONSUMER);
  assert_string_equal(inv->name, "process k");
  assert_memory_equal(inv->trace_id, "\x4b\xf9\x2f\x35", 4);
  assert_memory_equal(inv->parent_id, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8);
  assert_true(inv->error);
  assert_string_equal(inv->message, "a send (or a hold) failed");
  assert_string_equal(record_attr(inv, "faas.trigger"), "datasource");
  assert_string_equal(record_attr(inv, "messaging.destination.name"), "k");
  assert_string_equal(record_attr(inv, "ofctx.outcome"), "retry");
  assert_null(record_attr(inv, "ofctx.hook"));
  ofctx__otlp_exporter_close(f->host.exporter, 0, NULL, NULL);
  f->host.exporter = NULL;
}

/* A batch's span links to the traces its entries came with (an entry
 * without one is not linked), and starts a trace of its own. */
static void batch_links(void **state) {
  fixture_t *f = *state;
  static ofctx__http_header_t md_a[] = {{"traceparent", TRACE_A}},
                              md_b[] = {{"traceparent", TRACE_B}};
  ofctx_event_t ev[3] = {{0}, {0}, {0}};
  ofctx_event_t *events[] = {&ev[0], &ev[1], &ev[2]};
  int statuses[3] = {0, 0, 0};
  ofctx_batch_t batch = {events, statuses, 3};
  ofctx__otlp_opts_t opts = {.endpoint = "http://127.0.0.1:1", .interval_ms = 60000};
  const ofctx__span_record_t *r;

  assert_int_equal(ofctx__otlp_exporter_new(&f->host.exporter, &f->loop, &opts, &f->metrics),
                   OFCTX_OK);
  f->host.tracing = 1;
  f->host.fn = NULL;
  f->host.batch_fn = batch_function;
  batch_returns = OFCTX_SUCCESS;
  assert_int_equal(ofctx__event_metadata_add(&ev[0], md_a, 1, 0), 0);
  assert_int_equal(ofctx__event_metadata_add(&ev[2], md_b, 1, 0), 0);
  assert_int_equal(ofctx__invoke_batch(&f->host, NULL, &batch, "in", 0, answer), 0);
  r = ofctx__otlp_exporter_queue(f->host.exporter);
  assert_non_null(r);
  assert_int_equal(r->kind, OFCTX__OTLP_CONSUMER);
  assert_int_equal(r->link_count, 2);
  assert_memory_equal(r->links[0].trace_id, "\x4b\xf9\x2f\x35", 4);
  assert_memory_equal(r->links[0].parent_id, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8);
  assert_memory_equal(r->links[1].trace_id, "\x0a\xf7\x65\x19", 4);
  assert_memory_not_equal(r->trace_id, r->links[0].trace_id, 16); /* a trace of its own */
  for (size_t i = 0; i < 3; i++)
    ofctx__event_clear(&ev[i]);
  ofctx__otlp_exporter_close(f->host.exporter, 0, NULL, NULL);
  f->host.exporter = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(answered_after_sends, setup, teardown),
      cmocka_unit_test_setup_teardown(trace_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(untraced, setup, teardown),
      cmocka_unit_test_setup_teardown(exported_spans, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_links, setup, teardown),
      cmocka_unit_test_setup_teardown(timeout_settles, setup, teardown),
      cmocka_unit_test_setup_teardown(holds, setup, teardown),
      cmocka_unit_test_setup_teardown(zero_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_zero_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(ticks, setup, teardown),
      cmocka_unit_test_setup_teardown(abort_settles, setup, teardown),
  };
  return cmocka_run_group_tests_name("invocation", tests, NULL, NULL);
}
