/* The gRPC client against libofctx's own gRPC server on one loop
 * (grpc_pair.h): retries of what may work again and not of the rest, an
 * older sidecar's method name, answers over the size bound, deadlines, a
 * refused connection, the server closing mid-call, and closing the client
 * with calls in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc_pair.h"
#include "grpc_wire.h"

#define NEW "/dapr.proto.runtime.v1.Dapr/BulkPublishEvent"
#define OLD "/dapr.proto.runtime.v1.Dapr/BulkPublishEventAlpha1"

static char last_path[128];

/* OLD and NEW answer their data length; the first `flaky` calls fail
 * UNAVAILABLE; NEW is UNIMPLEMENTED while `old_sidecar`. */
static int flaky, old_sidecar;
static size_t answer_len;

static void sidecar(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  const char *path = ofctx__grpc_call_path(call);
  char name[64];
  size_t len;
  (void)pair;

  snprintf(last_path, sizeof last_path, "%s", path);
  if (flaky > 0) {
    flaky--;
    ofctx__grpc_fail(call, OFCTX__GRPC_UNAVAILABLE, "not yet");
  } else if (strcmp(path, OLD) != 0 && (strcmp(path, NEW) != 0 || old_sidecar)) {
    ofctx__grpc_fail(call, OFCTX__GRPC_UNIMPLEMENTED, NULL);
  } else {
    assert_int_equal(grpc_pair_request(call, name, sizeof name, &len), 0);
    grpc_pair_reply(call, answer_len ? answer_len : len, 'a');
  }
}

static void hold(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  pair->held[pair->held_count++] = call;
}

static void start(grpc_pair_t *pair, void (*handler)(grpc_pair_t *, ofctx__grpc_call_t *)) {
  flaky = old_sidecar = 0;
  answer_len = 0;
  grpc_pair_init(pair);
  pair->handler = handler;
  grpc_pair_start(pair, NULL);
}

static void retries_what_may_work_again(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, sidecar);
  flaky = 2;
  grpc_pair_policy(&policy, 3, 5000);
  grpc_pair_call(&pair, NEW, NULL, "x", 7, 'a', &policy, &out);
  assert_int_equal(ofctx__grpc_client_pending(pair.client), 1);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.attempts, 3);
  assert_int_equal(out.data_len, 7);
  assert_int_equal(pair.calls, 3);
  assert_int_equal(ofctx__grpc_client_pending(pair.client), 0);
  /* and no more than max_attempts */
  flaky = 5;
  grpc_pair_call(&pair, NEW, NULL, "x", 7, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNAVAILABLE);
  assert_string_equal(out.error, "UNAVAILABLE: not yet");
  assert_int_equal(out.attempts, 3);
  assert_int_equal(pair.calls, 6);
  grpc_pair_finish(&pair);
}

static void older_sidecar_fallback(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, sidecar);
  old_sidecar = 1;
  grpc_pair_policy(&policy, 1, 5000);
  grpc_pair_call(&pair, NEW, OLD, "x", 3, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_string_equal(last_path, OLD);
  assert_int_equal(pair.calls, 2);
  /* without a fallback, UNIMPLEMENTED is the end */
  grpc_pair_call(&pair, NEW, NULL, "x", 3, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNIMPLEMENTED);
  assert_int_equal(out.attempts, 1);
  grpc_pair_finish(&pair);
}

static void answer_over_the_bound(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, sidecar);
  answer_len = 4096;
  grpc_pair_policy(&policy, 3, 5000);
  policy.max_response_size = 1024;
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_RESOURCE_EXHAUSTED);
  assert_string_equal(out.error, "the answer is larger than 1024 bytes");
  assert_int_equal(out.attempts, 1); /* the same answer again would be as large */
  /* the connection serves the next call */
  answer_len = 1000;
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.data_len, 1000);
  grpc_pair_finish(&pair);
}

static void deadlines_are_retried(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, hold);
  grpc_pair_policy(&policy, 2, 50);
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_DEADLINE_EXCEEDED);
  assert_int_equal(out.attempts, 2);
  grpc_pair_finish(&pair); /* answers the held calls into the void */
  assert_int_equal(out.done, 1);
}

static void stopped(void *arg) {
  grpc_pair_t *pair = arg;
  pair->stopped = 1;
}

static void refused_connection(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, sidecar);
  /* a port nobody listens on: the pair's own, once its listener is gone */
  uv_close((uv_handle_t *)&pair.listener, NULL);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  grpc_pair_policy(&policy, 2, 5000);
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNAVAILABLE);
  assert_int_equal(out.attempts, 2);
  assert_non_null(strstr(out.error, "cannot connect to the sidecar's gRPC port 127.0.0.1:"));
  ofctx__grpc_client_close(pair.client);
  ofctx__grpc_server_stop(pair.server, stopped, &pair);
  for (int i = 0; i < 100 && uv_run(&pair.loop, UV_RUN_NOWAIT); i++)
    ;
  assert_int_equal(pair.stopped, 1);
  assert_int_equal(uv_loop_close(&pair.loop), 0);
}

static void server_closes_mid_call(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  start(&pair, hold);
  grpc_pair_policy(&policy, 2, 10000);
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &pair.calls);
  /* the connection goes with the call on it; the next attempt's is closed
   * at once (the server is stopping) */
  ofctx__grpc_server_stop(pair.server, stopped, &pair);
  ofctx__grpc_server_abort(pair.server);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNAVAILABLE);
  assert_int_equal(out.attempts, 2);
  assert_int_equal(pair.calls, 1);
  /* the held call, answered into the void, lets the server go */
  ofctx__grpc_fail(pair.held[0], OFCTX__GRPC_INTERNAL, NULL);
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &pair.stopped);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 1); /* once */
  ofctx__grpc_client_close(pair.client);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  for (int i = 0; i < 100 && uv_run(&pair.loop, UV_RUN_NOWAIT); i++)
    ;
  assert_int_equal(uv_loop_close(&pair.loop), 0);
}

static void close_cancels_in_flight(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t held, queued;
  (void)state;

  start(&pair, hold);
  grpc_pair_policy(&policy, 3, 10000);
  grpc_pair_call(&pair, NEW, NULL, "x", 1, 'a', &policy, &held);
  grpc_pair_run_until(&pair, &pair.calls);
  grpc_pair_call(&pair, NEW, NULL, "y", 1, 'a', &policy, &queued);
  ofctx__grpc_client_close(pair.client);
  assert_int_equal(held.done, 1);
  assert_int_equal(held.cancelled, 1);
  assert_int_equal(held.code, OFCTX__GRPC_CANCELLED);
  assert_int_equal(queued.done, 1);
  assert_int_equal(queued.cancelled, 1);
  ofctx__grpc_fail(pair.held[0], OFCTX__GRPC_INTERNAL, NULL);
  pair.held_count = 0;
  ofctx__grpc_server_stop(pair.server, stopped, &pair);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  grpc_pair_run_until(&pair, &pair.stopped);
  for (int i = 0; i < 100 && uv_run(&pair.loop, UV_RUN_NOWAIT); i++)
    ;
  assert_int_equal(held.done, 1);
  assert_int_equal(queued.done, 1);
  assert_int_equal(uv_loop_close(&pair.loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retries_what_may_work_again), cmocka_unit_test(older_sidecar_fallback),
      cmocka_unit_test(answer_over_the_bound),       cmocka_unit_test(deadlines_are_retried),
      cmocka_unit_test(refused_connection),          cmocka_unit_test(server_closes_mid_call),
      cmocka_unit_test(close_cancels_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
