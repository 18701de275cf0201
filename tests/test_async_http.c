/* The Async mode over HTTP (async_http.c) on its own, behind a real HTTP
 * server on loopback with a host and no runtime (mode_util.h): Dapr's
 * probe, subscriptions and config, binding and pub/sub delivery (any JSON,
 * poison, bodies that are no envelope). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mode_util.h"

static void async_mode(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{"
      "\"a\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"},"
      "\"b\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"orders\"}}}";
  mode_fixture_t *f = mode_start(context, &ofctx__async_http_mode, NULL);
  (void)state;

  /* Dapr's probe and subscription discovery */
  mode_expect(f, "OPTIONS /kafka-in HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
              "HTTP/1.1 200 OK");
  mode_expect(f, "GET /dapr/subscribe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
              "[{\"pubsubname\":\"ps\",\"topic\":\"orders\",\"route\":\"/dapr/pubsub/b\"");
  mode_expect(f, "GET /dapr/config HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "\r\n\r\n{}");
  mode_expect(f, "DELETE /dapr/config HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "405");
  /* a binding event: its body and metadata headers reach the function */
  mode_expect(f, mode_post("/kafka-in", "X-Key: k1\r\n", "hello"),
              "kind=1 input=a data=hello md0=X-Key id=- name=-");
  /* a pub/sub message: the envelope's data and attributes */
  mode_expect(f,
              mode_post("/dapr/pubsub/b", "Content-Type: application/cloudevents+json\r\n",
                        "{\"id\":\"e1\",\"source\":\"s\",\"type\":\"t\",\"data\":{\"n\": 1e999}}"),
              "{\"status\":\"SUCCESS\"}");
  mode_expect(f, mode_post("/dapr/pubsub/b", "", "{\"id\":\"e2\",\"data\":\"poison\"}"),
              "{\"status\":\"DROP\"}");
  mode_expect(f, mode_post("/dapr/pubsub/b", "", "[not an envelope"), "{\"status\":\"DROP\"}");
  mode_expect(f, mode_post("/elsewhere", "", "x"), "404");
  mode_finish(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(async_mode),
  };
  return cmocka_run_group_tests_name("async_http", tests, NULL, NULL);
}
