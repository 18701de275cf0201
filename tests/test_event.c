/* event.c: an event's own and shared metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "event.h"

/* An event's own metadata first, then the shared (a bulk's request
 * metadata), which is viewed, never copied; lookups find the own first. */
static void event_shared_metadata(void **state) {
  static const ofctx__http_header_t own[] = {{"k", "own"}, {"only-own", "1"}};
  static const ofctx__http_header_t shared[] = {{"K", "shared"}, {"only-shared", "2"}};
  ofctx_event_t ev = {0};

  (void)state;
  assert_int_equal(ofctx__event_metadata_add(&ev, own, 2, 0), 0);
  ev.shared_metadata = shared;
  ev.shared_count = 2;
  assert_int_equal(ofctx_event_metadata_count(&ev), 4);
  assert_string_equal(ofctx_event_metadata(&ev, "K"), "own");
  assert_string_equal(ofctx_event_metadata(&ev, "only-shared"), "2");
  assert_null(ofctx_event_metadata(&ev, "absent"));
  assert_string_equal(ofctx_event_metadata_key(&ev, 1), "only-own");
  assert_string_equal(ofctx_event_metadata_key(&ev, 2), "K");
  assert_ptr_equal(ofctx_event_metadata_value(&ev, 3), shared[1].value);
  assert_null(ofctx_event_metadata_key(&ev, 4));
  assert_null(ofctx_event_metadata_value(&ev, 4));
  ofctx__event_clear(&ev);
  assert_int_equal(ofctx_event_metadata_count(&ev), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(event_shared_metadata),
  };
  return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
