/* config_load.c, the two entry points through the public API: their
 * argument checks, and a given document bounded by its length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ofctx/ofctx.h>

#include "test_util.h"

static void bad_arguments(void **state) {
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  assert_int_equal(ofctx_config_parse(NULL, NULL, "{}", 2, no_env, NULL, &err), OFCTX_EINVAL);
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, NULL, 5, no_env, NULL, &err), OFCTX_EINVAL);
  assert_null(cfg);
  assert_int_equal(ofctx_config_load(NULL, no_env, NULL, NULL), OFCTX_EINVAL);
  /* err is optional */
  assert_int_equal(ofctx_config_load(&cfg, no_env, NULL, NULL), OFCTX_ENOCONTEXT);
  assert_null(cfg);
  /* a given document must be JSON, even when it is empty */
  assert_int_equal(ofctx_config_parse(&cfg, NULL, "", 0, no_env, NULL, &err), OFCTX_ECONTEXT);
  assert_string_equal(err.message, "FUNC_CONTEXT: invalid JSON at line 1, column 0: "
                                   "'[' or '{' expected near end of file");
}

/* `len` bounds the document: bytes after it are never read. */
static void parse_uses_len(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}GARBAGE";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  assert_int_equal(
      ofctx_config_parse(&cfg, "ctx.json", text, strlen(text) - 7, self_host, NULL, &err),
      OFCTX_OK);
  assert_int_equal(err.code, OFCTX_OK);
  assert_string_equal(ofctx_config_name(cfg), "f");
  assert_int_equal(ofctx_config_runtime(cfg), OFCTX_RUNTIME_KNATIVE);
  ofctx_config_free(cfg);
  assert_int_equal(ofctx_config_parse(&cfg, "ctx.json", text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_null(cfg);
  assert_non_null(strstr(err.message, "ctx.json: invalid JSON at line 1, column"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(parse_uses_len),
  };
  return cmocka_run_group_tests_name("config_load", tests, NULL, NULL);
}
