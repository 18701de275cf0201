/* The Async runtime's inputs (async_inputs.c): the route of each input,
 * its bulk subscription, the lookups both Async modes make, and a clean
 * failure at every allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "async_inputs.h"
#include "ofctx/ofctx.h"

static const char context[] =
    "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{"
    "\"kafka\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"},"
    "\"or.ders\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"orders\","
    "\"metadata\":{\"bulkSubscribe\":\"true\",\"bulkSubscribeMaxMessagesCount\":\"500\"}},"
    "\"refunds\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\","
    "\"uri\":\"refunds\"}}}";

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

static ofctx_config_t *parse(void) {
  ofctx_config_t *cfg;
  ofctx_error_t err;

  if (ofctx_config_parse(&cfg, NULL, context, sizeof context - 1, self_host, NULL, &err) !=
      OFCTX_OK)
    fail_msg("%s", err.message);
  return cfg;
}

/* The input named `name`'s index. */
static size_t index_of(const ofctx_config_t *cfg, const char *name) {
  size_t i = 0;

  while (strcmp(ofctx_component_name(ofctx_config_input_at(cfg, i)), name) != 0)
    i++;
  return i;
}

static void routes_and_bulks(void **state) {
  ofctx_config_t *cfg = parse();
  ofctx__async_inputs_t in;
  size_t kafka = index_of(cfg, "kafka"), orders = index_of(cfg, "or.ders");
  (void)state;

  assert_int_equal(ofctx__async_inputs_init(&in, cfg, NULL), OFCTX_OK);
  assert_int_equal(in.count, 3);
  assert_string_equal(in.count_text, "3");
  /* a binding at its component, a pub/sub input under the prefix at its
   * name */
  assert_string_equal(in.routes[kafka], "/kafka-in");
  assert_string_equal(in.routes[orders], OFCTX__PUBSUB_PREFIX "or.ders");
  assert_true(in.bulks[orders].enabled);
  assert_int_equal(in.bulks[orders].max_messages, 500);
  assert_false(in.bulks[kafka].enabled);
  assert_int_equal(in.max_entries, 500);
  ofctx__async_inputs_free(&in);
  assert_null(in.routes);
  ofctx__async_inputs_free(&in); /* an empty one is fine */
  ofctx_config_free(cfg);
}

static void lookups(void **state) {
  ofctx_config_t *cfg = parse();
  ofctx__async_inputs_t in;
  size_t kafka = index_of(cfg, "kafka"), orders = index_of(cfg, "or.ders"),
         refunds = index_of(cfg, "refunds");
  (void)state;

  assert_int_equal(ofctx__async_inputs_init(&in, cfg, NULL), OFCTX_OK);
  assert_int_equal(ofctx__async_inputs_at_route(&in, "/kafka-in"), kafka);
  assert_int_equal(ofctx__async_inputs_at_route(&in, "/dapr/pubsub/refunds"), refunds);
  assert_int_equal(ofctx__async_inputs_at_route(&in, "/kafka"), 3);
  /* by route first, of the kind asked for */
  assert_int_equal(ofctx__async_inputs_find(&in, OFCTX_COMPONENT_PUBSUB, "other", "other",
                                            "/dapr/pubsub/refunds"),
                   refunds);
  assert_int_equal(
      ofctx__async_inputs_find(&in, OFCTX_COMPONENT_PUBSUB, "ps", "orders", "/kafka-in"), orders);
  /* else by component and topic */
  assert_int_equal(ofctx__async_inputs_find(&in, OFCTX_COMPONENT_PUBSUB, "ps", "refunds", ""),
                   refunds);
  assert_int_equal(ofctx__async_inputs_find(&in, OFCTX_COMPONENT_PUBSUB, "ps", "nope", NULL), 3);
  assert_int_equal(ofctx__async_inputs_find(&in, OFCTX_COMPONENT_BINDING, "kafka-in", NULL, NULL),
                   kafka);
  assert_int_equal(ofctx__async_inputs_find(&in, OFCTX_COMPONENT_BINDING, "ps", NULL, NULL), 3);
  ofctx__async_inputs_free(&in);
  ofctx_config_free(cfg);
}

/* ---- every allocation failed in turn ---- */

static long calls, fail_at;

static void *failing_malloc(size_t size, void *arg) {
  (void)arg;
  return ++calls == fail_at ? NULL : malloc(size);
}

static void *failing_realloc(void *ptr, size_t size, void *arg) {
  (void)arg;
  return ++calls == fail_at ? NULL : realloc(ptr, size);
}

static void plain_free(void *ptr, void *arg) {
  (void)arg;
  free(ptr);
}

static void out_of_memory(void **state) {
  const ofctx_allocator_t failing = {sizeof failing, failing_malloc, failing_realloc, plain_free,
                                     NULL};
  ofctx_config_t *cfg = parse();
  ofctx__async_inputs_t in;
  ofctx_error_t err;
  ofctx_err_t rc = OFCTX_ENOMEM;
  (void)state;

  assert_int_equal(ofctx_replace_allocator(&failing), OFCTX_OK);
  for (fail_at = 1; rc != OFCTX_OK; fail_at++) {
    calls = 0;
    rc = ofctx__async_inputs_init(&in, cfg, &err);
    if (rc != OFCTX_OK) {
      assert_int_equal(rc, OFCTX_ENOMEM);
      assert_string_equal(err.message, "out of memory");
      assert_null(in.routes);
      assert_null(in.bulks);
    }
  }
  assert_true(fail_at > 3); /* two tables and a route at least */
  ofctx__async_inputs_free(&in);
  assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK);
  ofctx_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(routes_and_bulks),
      cmocka_unit_test(lookups),
      cmocka_unit_test(out_of_memory),
  };
  return cmocka_run_group_tests_name("async_inputs", tests, NULL, NULL);
}
