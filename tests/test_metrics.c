/* The counters and their Prometheus text: every series is there, with its
 * count, and label values are escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "comma_locale.h"
#include "metrics.h"

static void counts_and_text(void **state) {
  const char *inputs[] = {"kafka", "we\"ird\\in\nput"};
  const char *outputs[] = {"nm"};
  ofctx__metrics_t m;
  ofctx__metrics_gauges_t gauges = {3, 7};
  ofctx__buf_t t = {0};
  (void)state;

  assert_int_equal(ofctx__metrics_init(&m, inputs, 2, outputs, 1), 0);
  ofctx__metrics_event(&m, 0, OFCTX__OUTCOME_SUCCESS);
  ofctx__metrics_event(&m, 0, OFCTX__OUTCOME_SUCCESS);
  ofctx__metrics_event(&m, 1, OFCTX__OUTCOME_DROP);
  ofctx__metrics_event(&m, 9, OFCTX__OUTCOME_DROP); /* no such input: not counted */
  ofctx__metrics_send(&m, 0, 1);
  ofctx__metrics_send(&m, 1, 0); /* a direct send */
  ofctx__metrics_send(&m, 5, 1); /* no such output */
  ofctx__metrics_rejected(&m);
  assert_int_equal(ofctx__metrics_events(&m, 0, OFCTX__OUTCOME_SUCCESS), 2);
  assert_int_equal(ofctx__metrics_events(&m, 1, OFCTX__OUTCOME_DROP), 1);
  assert_int_equal(ofctx__metrics_sends(&m, 1), 1);
  assert_int_equal(ofctx__metrics_sends(&m, 0), 1);
  ofctx__metrics_render(&m, &gauges, &t);
  assert_false(t.failed);
  assert_non_null(strstr(t.data, "ofctx_events_total{input=\"kafka\",outcome=\"success\"} 2\n"));
  assert_non_null(strstr(t.data, "ofctx_events_total{input=\"kafka\",outcome=\"retry\"} 0\n"));
  assert_non_null(
      strstr(t.data, "ofctx_events_total{input=\"we\\\"ird\\\\in\\nput\",outcome=\"drop\"} 1\n"));
  assert_non_null(strstr(t.data, "ofctx_sends_total{output=\"nm\",result=\"ok\"} 1\n"));
  assert_non_null(strstr(t.data, "ofctx_sends_total{output=\"(direct)\",result=\"failed\"} 1\n"));
  assert_non_null(strstr(t.data, "\nofctx_unauthorized_total 1\n"));
  assert_non_null(strstr(t.data, "\nofctx_inflight 3\n"));
  assert_non_null(strstr(t.data, "\nofctx_connections 7\n"));
  assert_non_null(strstr(t.data, "# TYPE ofctx_log_lines_dropped_total counter\n"));
  assert_string_equal(ofctx__outcome_name(OFCTX__OUTCOME_RETRY), "retry");
  ofctx__buf_free(&t);
  ofctx__metrics_free(&m);
}

/* Latency histograms: cumulative buckets, a bound taken as "less or equal",
 * +Inf, sum and count; a build-info series. */
static void histograms(void **state) {
  const char *inputs[] = {"kafka"};
  const char *outputs[] = {"nm"};
  ofctx__metrics_t m;
  ofctx__metrics_gauges_t gauges = {0, 0};
  ofctx__buf_t t = {0};
  (void)state;

  assert_int_equal(ofctx__metrics_init(&m, inputs, 1, outputs, 1), 0);
  ofctx__metrics_invocation_time(&m, 0, 0.0002);
  ofctx__metrics_invocation_time(&m, 0, 0.001); /* on a bound: in that bucket */
  ofctx__metrics_invocation_time(&m, 0, 0.03);
  ofctx__metrics_invocation_time(&m, 0, 60);
  ofctx__metrics_invocation_time(&m, 4, 1); /* no such input */
  ofctx__metrics_send_time(&m, 1, 0.2);     /* a direct send */
  ofctx__metrics_render(&m, &gauges, &t);
  assert_false(t.failed);
  assert_non_null(strstr(t.data, "# TYPE ofctx_invocation_duration_seconds histogram\n"));
  assert_non_null(strstr(
      t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"0.0005\"} 1\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"0.001\"} 2\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"0.025\"} 2\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"0.05\"} 3\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"10\"} 3\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_bucket{input=\"kafka\",le=\"+Inf\"} 4\n"));
  assert_non_null(strstr(t.data, "ofctx_invocation_duration_seconds_count{input=\"kafka\"} 4\n"));
  assert_non_null(
      strstr(t.data, "ofctx_invocation_duration_seconds_sum{input=\"kafka\"} 60.0312\n"));
  assert_non_null(
      strstr(t.data, "ofctx_send_duration_seconds_bucket{output=\"(direct)\",le=\"0.1\"} 0\n"));
  assert_non_null(
      strstr(t.data, "ofctx_send_duration_seconds_bucket{output=\"(direct)\",le=\"0.25\"} 1\n"));
  assert_non_null(strstr(t.data, "ofctx_send_duration_seconds_count{output=\"nm\"} 0\n"));
  assert_non_null(strstr(t.data, "ofctx_build_info{version=\""));
  ofctx__buf_free(&t);
  ofctx__metrics_free(&m);
}

/* State requests: by store, operation and result, only the results an
 * operation can have; a histogram by store and operation; nothing of them
 * without states. */
static void states(void **state) {
  const char *inputs[] = {"kafka"};
  const char *stores[] = {"cache", "we\"ird"};
  ofctx__metrics_t m;
  ofctx__metrics_gauges_t gauges = {0, 0};
  ofctx__buf_t t = {0};
  (void)state;

  assert_int_equal(ofctx__metrics_init(&m, inputs, 1, NULL, 0), 0);
  ofctx__metrics_render(&m, &gauges, &t);
  assert_null(strstr(t.data, "ofctx_state_"));
  ofctx__buf_free(&t);
  assert_int_equal(ofctx__metrics_states(&m, stores, 2), 0);
  ofctx__metrics_state(&m, 0, OFCTX__STATE_OP_GET, OFCTX__STATE_OK, 0.002);
  ofctx__metrics_state(&m, 0, OFCTX__STATE_OP_GET, OFCTX__STATE_NOT_FOUND, 0.0001);
  ofctx__metrics_state(&m, 0, OFCTX__STATE_OP_SET, OFCTX__STATE_CONFLICT, 0.02);
  ofctx__metrics_state(&m, 1, OFCTX__STATE_OP_DELETE, OFCTX__STATE_ERROR, 3);
  ofctx__metrics_state(&m, 2, OFCTX__STATE_OP_GET, OFCTX__STATE_OK, 1);   /* no such store */
  ofctx__metrics_state(&m, 0, OFCTX__STATE_OP_COUNT, OFCTX__STATE_OK, 1); /* no such op */
  ofctx__metrics_state(&m, 0, OFCTX__STATE_OP_GET, OFCTX__STATE_RESULT_COUNT, 1); /* no result */
  assert_int_equal(ofctx__metrics_state_requests(&m, 0, OFCTX__STATE_OP_GET, OFCTX__STATE_OK), 1);
  assert_int_equal(ofctx__metrics_state_requests(&m, 2, OFCTX__STATE_OP_GET, OFCTX__STATE_OK), 0);
  ofctx__metrics_render(&m, &gauges, &t);
  assert_false(t.failed);
  assert_non_null(strstr(t.data, "# TYPE ofctx_state_requests_total counter\n"));
  assert_non_null(strstr(
      t.data, "ofctx_state_requests_total{store=\"cache\",operation=\"get\",result=\"ok\"} 1\n"));
  assert_non_null(strstr(
      t.data,
      "ofctx_state_requests_total{store=\"cache\",operation=\"get\",result=\"not_found\"} 1\n"));
  assert_non_null(strstr(
      t.data,
      "ofctx_state_requests_total{store=\"cache\",operation=\"set\",result=\"conflict\"} 1\n"));
  assert_non_null(strstr(
      t.data,
      "ofctx_state_requests_total{store=\"we\\\"ird\",operation=\"delete\",result=\"error\"} 1\n"));
  assert_non_null(
      strstr(t.data,
             "ofctx_state_requests_total{store=\"cache\",operation=\"delete\",result=\"ok\"} 0\n"));
  /* a get never conflicts, a write is never "not found" */
  assert_null(strstr(t.data, "operation=\"get\",result=\"conflict\""));
  assert_null(strstr(t.data, "operation=\"set\",result=\"not_found\""));
  assert_non_null(strstr(t.data, "# TYPE ofctx_state_duration_seconds histogram\n"));
  assert_non_null(strstr(t.data, "ofctx_state_duration_seconds_bucket{store=\"cache\",operation="
                                 "\"get\",le=\"0.0005\"} 1\n"));
  assert_non_null(strstr(t.data, "ofctx_state_duration_seconds_bucket{store=\"cache\",operation="
                                 "\"get\",le=\"0.0025\"} 2\n"));
  assert_non_null(
      strstr(t.data, "ofctx_state_duration_seconds_count{store=\"cache\",operation=\"set\"} 1\n"));
  assert_non_null(strstr(t.data, "ofctx_state_duration_seconds_bucket{store=\"we\\\"ird\","
                                 "operation=\"delete\",le=\"2.5\"} 0\n"));
  assert_non_null(strstr(
      t.data, "ofctx_state_duration_seconds_sum{store=\"we\\\"ird\",operation=\"delete\"} 3\n"));
  ofctx__buf_free(&t);
  ofctx__metrics_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(counts_and_text), cmocka_unit_test(histograms),
      /* the same when the function set a locale with a decimal comma:
       * Prometheus reads only a point */
      cmocka_unit_test_setup_teardown(histograms, comma_locale_setup, comma_locale_teardown),
      cmocka_unit_test(states)};
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
