/* config.c, the immutable ofctx_config_t, through the public API: it
 * borrows nothing from its inputs, and it keeps to the allocators, ours and
 * the application's for jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <ofctx/ofctx.h>

#include "test_util.h"

/* The config does not borrow from the caller's text or environment. */
static void config_outlives_inputs(void **state) {
  char *text = strdup("{\"name\":\"f\",\"runtime\":\"Async\",\"outputs\":{\"o\":"
                      "{\"componentName\":\"c\",\"componentType\":\"bindings.http\","
                      "\"operation\":\"post\",\"metadata\":{\"k\":\"v\"}}}}");
  char *pod = strdup("pod-1");
  const char *vars[] = {"POD_NAME", pod, "DAPR_API_TOKEN", "tok", NULL};
  ofctx_config_t *cfg = NULL;
  const ofctx_component_t *out;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, vars, NULL),
                   OFCTX_OK);
  memset(text, 'x', strlen(text));
  free(text);
  memset(pod, 'x', strlen(pod));
  free(pod);
  assert_string_equal(ofctx_config_pod_name(cfg), "pod-1");
  out = ofctx_config_output(cfg, "o");
  assert_non_null(out);
  assert_string_equal(ofctx_component_operation(out), "post");
  assert_string_equal(ofctx_strmap_get(ofctx_component_metadata(out), "k"), "v");
  assert_null(ofctx_strmap_get(ofctx_component_metadata(out), "K"));
  assert_null(ofctx_config_input(cfg, NULL));
  assert_null(ofctx_config_input_at(cfg, 0));
  ofctx_config_free(cfg);
}

/* An application may give jansson its own allocator (json_set_alloc_funcs):
 * libofctx must then never free() what jansson allocated, nor hand jansson's
 * memory to the caller. This allocator offsets every block, so a plain free()
 * of one is caught. */
static size_t live_blocks;

static void *offset_malloc(size_t size) {
  char *p = malloc(size + 16);
  if (!p)
    return NULL;
  live_blocks++;
  return p + 16;
}

static void offset_free(void *ptr) {
  if (ptr) {
    live_blocks--;
    free((char *)ptr - 16);
  }
}

static void custom_json_allocator(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Async\",\"port\":8080.5}";
  static const char good[] = "{\"name\":\"f\",\"runtime\":\"Async\"}";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  char *json;

  json_set_alloc_funcs(offset_malloc, offset_free);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, good, strlen(good), self_host, NULL, &err),
                   OFCTX_OK);
  json = ofctx_config_to_json(cfg);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"name\": \"f\""));
  ofctx_free(json); /* ours, not jansson's */
  ofctx_config_free(cfg);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_string_equal(err.message,
                      "FUNC_CONTEXT: $.port: error parsing port: 8080.5 is not an integer");
  json_set_alloc_funcs(malloc, free);
  assert_int_equal(live_blocks, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_outlives_inputs),
      cmocka_unit_test(custom_json_allocator),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
