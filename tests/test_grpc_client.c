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

/* A call and what it must come to, after the sidecar is set up so. */
typedef struct {
  int flaky, old_sidecar; /* the sidecar's, for this call */
  size_t answer_len;
  int attempts; /* the policy's */
  uint64_t timeout_ms;
  size_t max_response_size; /* 0: the default */
  const char *fallback;
  size_t len; /* the request's data */
  grpc_want_t want;
  const char *last_path; /* the last method the sidecar saw (NULL: not checked) */
} step_t;

/* A test of calls on one pair (a row per test, with the test's name). */
typedef struct {
  const char *name;
  void (*handler)(grpc_pair_t *pair, ofctx__grpc_call_t *call);
  step_t steps[2]; /* the second's attempts 0: none */
} calls_t;

#define ANSWERED(len, attempts_, calls_)                                                           \
  {                                                                                                \
    .ok = 1, .attempts = (attempts_), .decoded = 1, .data_len = (len), .calls = (calls_),          \
    .error = ""                                                                                    \
  }
#define FAILED(code_, attempts_, calls_)                                                           \
  { .code = (code_), .attempts = (attempts_), .calls = (calls_) }

static const calls_t calls[] = {
    {"retries_what_may_work_again",
     sidecar,
     {{.flaky = 2, .len = 7, .attempts = 3, .timeout_ms = 5000, .want = ANSWERED(7, 3, 3)},
      /* and no more than max_attempts */
      {.flaky = 5,
       .len = 7,
       .attempts = 3,
       .timeout_ms = 5000,
       .want = {.code = OFCTX__GRPC_UNAVAILABLE,
                .attempts = 3,
                .calls = 6,
                .error = "UNAVAILABLE: not yet"}}}},
    {"older_sidecar_fallback",
     sidecar,
     {{.old_sidecar = 1,
       .len = 3,
       .attempts = 1,
       .timeout_ms = 5000,
       .fallback = OLD,
       .want = ANSWERED(3, 2, 2), /* the fallback is the second attempt */
       .last_path = OLD},
      /* without a fallback, UNIMPLEMENTED is the end */
      {.old_sidecar = 1,
       .len = 3,
       .attempts = 1,
       .timeout_ms = 5000,
       .want = FAILED(OFCTX__GRPC_UNIMPLEMENTED, 1, 3)}}},
    {"answer_over_the_bound",
     sidecar,
     /* the same answer again would be as large: no retry */
     {{.answer_len = 4096,
       .len = 1,
       .attempts = 3,
       .timeout_ms = 5000,
       .max_response_size = 1024,
       .want = {.code = OFCTX__GRPC_RESOURCE_EXHAUSTED,
                .attempts = 1,
                .calls = 1,
                .error = "the answer is larger than 1024 bytes"}},
      /* the connection serves the next call */
      {.answer_len = 1000,
       .len = 1,
       .attempts = 3,
       .timeout_ms = 5000,
       .max_response_size = 1024,
       .want = ANSWERED(1000, 1, 2)}}},
    {"deadlines_are_retried",
     grpc_pair_hold,
     {{.len = 1,
       .attempts = 2,
       .timeout_ms = 50,
       .want = FAILED(OFCTX__GRPC_DEADLINE_EXCEEDED, 2, 2)}}},
};

static void run_calls(void **state) {
  const calls_t *row = *state;
  grpc_pair_t pair;
  grpc_outcome_t out;

  grpc_pair_open(&pair, row->handler, NULL);
  for (size_t i = 0; i < 2 && row->steps[i].attempts; i++) {
    const step_t *step = &row->steps[i];
    ofctx__retry_policy_t policy;

    flaky = step->flaky;
    old_sidecar = step->old_sidecar;
    answer_len = step->answer_len;
    grpc_pair_policy(&policy, step->attempts, step->timeout_ms);
    if (step->max_response_size)
      policy.max_response_size = step->max_response_size;
    grpc_pair_call(&pair, NEW, step->fallback, "x", step->len, 'a', &policy, &out);
    assert_int_equal(ofctx__grpc_client_pending(pair.client), 1);
    grpc_pair_run_until(&pair, &out.done);
    assert_int_equal(ofctx__grpc_client_pending(pair.client), 0);
    grpc_pair_check(&pair, &out, &step->want);
    if (step->last_path)
      assert_string_equal(last_path, step->last_path);
  }
  grpc_pair_finish(&pair); /* answers the held calls into the void */
  assert_int_equal(out.done, 1);
}

#define CALLS_TEST(i)                                                                              \
  { calls[i].name, run_calls, NULL, NULL, (void *)&calls[i] }

static void refused_connection(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_open(&pair, sidecar, NULL);
  /* a port nobody listens on: the pair's own, once its listener is gone */
  uv_close((uv_handle_t *)&pair.listener, NULL);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  grpc_pair_policy(&policy, 2, 5000);
  grpc_pair_ask(&pair, NEW, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_check(
      &pair, &out,
      &(grpc_want_t){.code = OFCTX__GRPC_UNAVAILABLE,
                     .attempts = 2,
                     .error_has = "cannot connect to the sidecar's gRPC port 127.0.0.1:"});
  ofctx__grpc_client_close(pair.client);
  ofctx__grpc_server_stop(pair.server, grpc_pair_stopped, &pair);
  grpc_pair_drain(&pair);
  assert_int_equal(pair.stopped, 1);
}

static void server_closes_mid_call(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_open(&pair, grpc_pair_hold, NULL);
  grpc_pair_policy(&policy, 2, 10000);
  grpc_pair_deliver(&pair, NEW, "x", 1, &policy, &out);
  /* the connection goes with the call on it; the next attempt's is closed
   * at once (the server is stopping) */
  ofctx__grpc_server_stop(pair.server, grpc_pair_stopped, &pair);
  ofctx__grpc_server_abort(pair.server);
  grpc_pair_run_until(&pair, &out.done);
  grpc_pair_check(&pair, &out, &(grpc_want_t)FAILED(OFCTX__GRPC_UNAVAILABLE, 2, 1));
  /* the held call, answered into the void, lets the server go */
  ofctx__grpc_fail(pair.held[0], OFCTX__GRPC_INTERNAL, NULL);
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &pair.stopped);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 1); /* once */
  ofctx__grpc_client_close(pair.client);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  grpc_pair_drain(&pair);
}

static void close_cancels_in_flight(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t held, queued;
  (void)state;

  grpc_pair_open(&pair, grpc_pair_hold, NULL);
  grpc_pair_policy(&policy, 3, 10000);
  grpc_pair_deliver(&pair, NEW, "x", 1, &policy, &held);
  grpc_pair_call(&pair, NEW, NULL, "y", 1, 'a', &policy, &queued);
  ofctx__grpc_client_close(pair.client);
  assert_int_equal(held.done, 1);
  assert_int_equal(held.cancelled, 1);
  assert_int_equal(held.code, OFCTX__GRPC_CANCELLED);
  assert_int_equal(queued.done, 1);
  assert_int_equal(queued.cancelled, 1);
  ofctx__grpc_fail(pair.held[0], OFCTX__GRPC_INTERNAL, NULL);
  pair.held_count = 0;
  ofctx__grpc_server_stop(pair.server, grpc_pair_stopped, &pair);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  grpc_pair_run_until(&pair, &pair.stopped);
  grpc_pair_drain(&pair);
  assert_int_equal(held.done, 1);
  assert_int_equal(queued.done, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      CALLS_TEST(0),
      CALLS_TEST(1),
      CALLS_TEST(2),
      CALLS_TEST(3),
      cmocka_unit_test(refused_connection),
      cmocka_unit_test(server_closes_mid_call),
      cmocka_unit_test(close_cancels_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
