/* config_parse.c through the public API: how its messages quote, escape
 * and cut what they echo. (Every rule and message: tests/data/context, in
 * test_context.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ofctx/ofctx.h>

#include "test_util.h"

/* A value echoed in a message is quoted, escaped and shortened. */
static void messages_quote_values(void **state) {
  char text[1024];
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  char long_name[300];

  snprintf(text, sizeof text, "{\"name\":\"f\",\"runtime\":\"Async\\nInjected: 1\"}");
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_string_equal(err.message, "FUNC_CONTEXT: $.runtime: invalid runtime: "
                                   "\"Async\\x0aInjected: 1\" (expected \"Knative\" or \"Async\")");
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  snprintf(text, sizeof text, "{\"name\":\"f\",\"runtime\":\"%s\"}", long_name);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_non_null(strstr(err.message, "aaa...\" (expected"));
  assert_true(strlen(err.message) < 200);
}

/* A message longer than the buffer is cut, never overflowed. */
static void long_paths_are_cut(void **state) {
  char key[400], text[1024];
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  snprintf(text, sizeof text,
           "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{\"%s\":{\"componentName\":7}}}", key);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  /* the path is cut to its buffer (255 bytes), the reason is kept whole */
  assert_int_equal(strlen(err.message),
                   strlen("FUNC_CONTEXT: ") + 255 + strlen(": expected a string, got a number"));
  assert_memory_equal(err.message, "FUNC_CONTEXT: $.inputs.kkkk", 27);
  assert_string_equal(err.message + strlen(err.message) - 33, ": expected a string, got a number");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(messages_quote_values),
      cmocka_unit_test(long_paths_are_cut),
  };
  return cmocka_run_group_tests_name("config_parse", tests, NULL, NULL);
}
