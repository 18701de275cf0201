/* Media types: of a Content-Type, JSON or not, and of data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "media_type.h"

/* A media type longer than any buffer is read whole, never cut. */
static void media_types(void **state) {
  char long_type[600];
  size_t len;
  const char *start;
  (void)state;

  memset(long_type, 'x', sizeof long_type);
  memcpy(long_type, "application/", 12);
  memcpy(long_type + sizeof long_type - 6, "+json", 6);
  assert_true(ofctx__json_media(long_type));
  long_type[sizeof long_type - 2] = 'x'; /* "+jsox" */
  assert_false(ofctx__json_media(long_type));
  assert_true(ofctx__json_media(" Application/JSON; charset=utf-8"));
  assert_true(ofctx__json_media("text/json"));
  assert_false(ofctx__json_media("application/jsonx"));
  assert_false(ofctx__json_media("json"));
  start = ofctx__media_type(" \ttext/plain ; charset=utf-8", &len);
  assert_int_equal(len, 10);
  assert_memory_equal(start, "text/plain", 10);
  assert_true(
      ofctx__media_type_is("APPLICATION/cloudevents+json;x=y", "application/cloudevents+json"));
  assert_false(
      ofctx__media_type_is("application/cloudevents+jsonx", "application/cloudevents+json"));
}

static void media_types_of_data(void **state) {
  (void)state;
  assert_string_equal(ofctx__media_type_of("[1e999]", 7), "application/json");
  assert_string_equal(ofctx__media_type_of("plain \xc3\xa9", 8), "text/plain; charset=utf-8");
  assert_string_equal(ofctx__media_type_of("", 0), "text/plain; charset=utf-8");
  assert_string_equal(ofctx__media_type_of("a\0b", 3), "application/octet-stream");
  assert_string_equal(ofctx__media_type_of("\xc3", 1), "application/octet-stream");
  assert_string_equal(ofctx__media_type_of("\xed\xa0\x80", 3), "application/octet-stream");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(media_types),
      cmocka_unit_test(media_types_of_data),
  };
  return cmocka_run_group_tests_name("media_type", tests, NULL, NULL);
}
