/* The jansson helpers: Go-compatible member lookup, kinds, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "json_util.h"

static void member_lookup(void **state) {
  json_t *obj = json_loads("{\"componentname\":\"lower\",\"ComponentName\":\"exact\","
                           "\"URI\":\"upper\"}",
                           0, NULL);
  assert_string_equal(json_string_value(ofctx__json_member(obj, "ComponentName")), "exact");
  assert_string_equal(json_string_value(ofctx__json_member(obj, "componentName")), "lower");
  assert_string_equal(json_string_value(ofctx__json_member(obj, "uri")), "upper");
  assert_null(ofctx__json_member(obj, "topic"));
  assert_null(ofctx__json_member(NULL, "uri"));
  json_decref(obj);
}

static void kinds(void **state) {
  json_t *v = json_loads("[{},[],\"s\",1,1.5,true,false,null]", 0, NULL);
  const char *want[] = {"an object", "an array",  "a string",  "a number",
                        "a number",  "a boolean", "a boolean", "null"};
  for (size_t i = 0; i < 8; i++)
    assert_string_equal(ofctx__json_kind(json_array_get(v, i)), want[i]);
  json_decref(v);
}

static void paths(void **state) {
  char out[OFCTX_PATH_SIZE];
  char small[12];

  ofctx__json_path(out, sizeof out, "$.inputs", "kafka-receiver_1");
  assert_string_equal(out, "$.inputs.kafka-receiver_1");
  ofctx__json_path(out, sizeof out, "$.inputs", "a.b");
  assert_string_equal(out, "$.inputs[\"a.b\"]");
  ofctx__json_path(out, sizeof out, "$.inputs", "");
  assert_string_equal(out, "$.inputs[\"\"]");
  ofctx__json_index(out, sizeof out, "$.prePlugins", 3);
  assert_string_equal(out, "$.prePlugins[3]");
  ofctx__json_path(small, sizeof small, "$.outputs", "notification-manager");
  assert_string_equal(small, "$.outputs.n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(member_lookup),
      cmocka_unit_test(kinds),
      cmocka_unit_test(paths),
  };
  return cmocka_run_group_tests_name("json_util", tests, NULL, NULL);
}
