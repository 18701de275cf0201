/* config_env.c through the public API: the tokens reach the accessors but
 * never the printed document. (Every variable and its checks: the env
 * files of tests/data/context, in test_context.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ofctx/ofctx.h>

#include "test_util.h"

/* Secrets reach the accessors but never the printed document. */
static void tokens_stay_secret(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Async\"}";
  const char *vars[] = {"DAPR_API_TOKEN", "s3cr3t-dapr", "APP_API_TOKEN", "s3cr3t-app", NULL};
  ofctx_config_t *cfg = NULL;
  char *json;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, vars, NULL),
                   OFCTX_OK);
  assert_string_equal(ofctx_config_dapr_api_token(cfg), "s3cr3t-dapr");
  assert_string_equal(ofctx_config_app_api_token(cfg), "s3cr3t-app");
  json = ofctx_config_to_json(cfg);
  assert_null(strstr(json, "s3cr3t"));
  assert_non_null(strstr(json, "\"apiTokenSet\": true"));
  assert_non_null(strstr(json, "\"appApiTokenSet\": true"));
  ofctx_free(json);
  ofctx_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tokens_stay_secret),
  };
  return cmocka_run_group_tests_name("config_env", tests, NULL, NULL);
}
