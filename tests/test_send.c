/* Sends (send.c), through the core with a fake sink and no mode
 * (host_fixture.h): each send checked before any sink sees it, and
 * described in Dapr's terms (kind, slot, component, topic, type); a failed
 * send makes its invocation RETRY, and the counters follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "host_fixture.h"

/* A publish gets its topic and a type from its data; a failed send is RETRY. */
static void failed_send_retries(void **state) {
  fixture_t *f = *state;

  run(f, "publish");
  assert_int_equal(f->sink.last.kind, OFCTX__SEND_PUBLISH);
  assert_string_equal(f->sink.topic, "alerts");
  assert_string_equal(f->sink.content_type, "text/plain; charset=utf-8");
  finish(&f->sink, 0);
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  assert_int_equal(ofctx__metrics_sends(&f->metrics, 0), 1);
}

static void outcomes_and_checks(void **state) {
  fixture_t *f = *state;

  run(f, "checks");
  assert_int_equal(f->sink.count, 0);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  run(f, "drop");
  assert_int_equal(f->outcome, OFCTX__OUTCOME_DROP);
  run(f, "anything else");
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  run(f, "direct"); /* a component the context does not name: the last slot */
  assert_int_equal(f->sink.last.slot, 2);
  assert_false(f->sink.last.shared);
  finish(&f->sink, 1);
  assert_int_equal(f->answers, 4);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_DROP), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(failed_send_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(outcomes_and_checks, setup, teardown),
  };
  return cmocka_run_group_tests_name("send", tests, NULL, NULL);
}
