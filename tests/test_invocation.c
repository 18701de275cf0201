/* The core on its own: an invocation with a fake sink and no mode
 * (host_fixture.h). The input is answered only once the function has
 * returned and every send and hold has settled; timeouts and the grace
 * period settle what is in flight; a tick answers nothing; the counters
 * follow. How sends are checked and described: test_send.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
  assert_int_equal(ofctx_send_to(ctx, "out", "{\"t\":1}", 7), OFCTX_OK);
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

/* A hold keeps the answer back until its release; a failed release is
 * RETRY, a release after the invocation settled only lets go. */
static void holds(void **state) {
  fixture_t *f = *state;

  run(f, "hold");
  assert_int_equal(f->answers, 0);
  assert_int_equal(ofctx_hold(held_ctx), OFCTX_OK); /* a second one */
  ofctx_release(held_ctx, 0);
  assert_int_equal(f->answers, 0);
  ofctx_release(held_ctx, 0);
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  run(f, "hold");
  ofctx_release(held_ctx, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  f->host.timeout_ms = 10;
  run(f, "hold");
  while (f->answers < 3) /* the timer */
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_int_equal(ofctx_hold(held_ctx), OFCTX_ESETTLED);
  ofctx_release(held_ctx, 0); /* after the timeout: frees it (ASan checks) */
  assert_int_equal(ofctx_hold(NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_RETRY), 2);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(answered_after_sends, setup, teardown),
      cmocka_unit_test_setup_teardown(timeout_settles, setup, teardown),
      cmocka_unit_test_setup_teardown(holds, setup, teardown),
      cmocka_unit_test_setup_teardown(ticks, setup, teardown),
      cmocka_unit_test_setup_teardown(abort_settles, setup, teardown),
  };
  return cmocka_run_group_tests_name("invocation", tests, NULL, NULL);
}
