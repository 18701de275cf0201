/* The Knative mode (knative.c) on its own, behind a real HTTP server on
 * loopback with a host and no runtime (mode_util.h): the route, its
 * parameters, the method filter and CloudEvents (KafkaSource's among
 * them), a batch function's batches of one, and the mode's start-up
 * refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mode_util.h"
#include "ofctx/ofctx.h"

static void knative_mode(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"httpPattern\":\"/hello/{name}\"}";
  static const char *const methods[] = {"POST", NULL};
  mode_fixture_t *f = mode_start(context, &ofctx__knative_mode, methods);
  (void)state;

  mode_expect(f, mode_post("/hello/J%C3%BCrgen", "", "hi"), "kind=3 input=http data=hi");
  mode_expect(f, mode_post("/hello/J%C3%BCrgen", "", "hi"), "id=- name=J\xc3\xbcrgen");
  mode_expect(f, "GET /hello/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "405");
  mode_expect(f, mode_post("/other", "", "hi"), "404");
  mode_expect(f,
              mode_post("/hello/ce", "Content-Type: application/cloudevents+json\r\n",
                        "{\"specversion\":\"1.0\",\"id\":\"c1\",\"source\":\"/s\",\"type\":\"t\","
                        "\"data\":[1e999]}"),
              "kind=4 input=http data=[1e999]");
  mode_expect(
      f,
      mode_post("/hello/ce", "Content-Type: application/cloudevents+json\r\n", "{\"id\":\"c1\"}"),
      "HTTP/1.1 400 ");
  mode_finish(f);
}

/* A record of topic "logs" as KafkaSource delivers it: a binary-mode
 * CloudEvent whose id and subject name the partition and offset, with the
 * record's key and, as the record had no content-type header, no
 * Content-Type. */
#define KAFKA_SOURCE_EVENT                                                                         \
  "ce-specversion: 1.0\r\nce-type: dev.knative.kafka.event\r\n"                                    \
  "ce-source: /apis/v1/namespaces/demo/kafkasources/logs-handler#logs\r\n"                         \
  "ce-subject: partition:2#42\r\nce-id: partition:2/offset:42\r\n"                                 \
  "ce-time: 2021-08-25T01:54:37.226Z\r\nce-key: wordpress-v1\r\n"

static void kafka_source_events(void **state) {
  static const char context[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}";
  mode_fixture_t *f = mode_start(context, &ofctx__knative_mode, NULL);
  (void)state;

  mode_expect(f, mode_post("/", KAFKA_SOURCE_EVENT, "{\"log\":\"x\"}"),
              "kind=4 input=http data={\"log\":\"x\"} md0=- id=partition:2/offset:42");
  mode_expect(f, mode_post("/", KAFKA_SOURCE_EVENT, "poison"), "HTTP/1.1 400 ");
  mode_finish(f);
}

/* A batch function gets each request as a batch of one, and the entry's
 * status is the answer: SUCCESS 200 with the reply, DROP 400. */
static void batch_function(void **state) {
  static const char context[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}";
  mode_fixture_t *f = mode_start_batch(context, &ofctx__knative_mode);
  (void)state;

  mode_expect(f, mode_post("/", KAFKA_SOURCE_EVENT, "{\"log\":\"x\"}"),
              "kind=4 input=http data={\"log\":\"x\"} md0=- id=partition:2/offset:42");
  mode_expect(f, mode_post("/", KAFKA_SOURCE_EVENT, "{}"), "HTTP/1.1 200 ");
  mode_expect(f, mode_post("/", KAFKA_SOURCE_EVENT, "poison"), "HTTP/1.1 400 ");
  mode_expect(f, mode_post("/", "", "plain"), "kind=3 input=http data=plain");
  /* a CloudEvent that is not valid never reaches it */
  mode_expect(f, mode_post("/", "ce-specversion: 1.0\r\nce-id: 1\r\n", "x"), "HTTP/1.1 400 ");
  mode_finish(f);
}

static void bad_starts(void **state) {
  static const char context[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}";
  static const char *const bad_methods[] = {"GE T", NULL};
  ofctx_config_t *cfg;
  ofctx_error_t err;
  ofctx__mode_env_t env = {0};
  (void)state;

  assert_int_equal(
      ofctx_config_parse(&cfg, NULL, context, sizeof context - 1, mode_self_host, NULL, &err),
      OFCTX_OK);
  env.cfg = cfg;
  env.methods = bad_methods;
  assert_null(ofctx__knative_mode.start(&env, &err));
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_non_null(strstr(err.message, "is not an HTTP method name"));
  env.methods = NULL;
  env.http_pattern = "nope";
  assert_null(ofctx__knative_mode.start(&env, &err));
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_string_equal(err.message, "OFCTX_HTTP_PATTERN: \"nope\": it must start with \"/\"");
  assert_null(ofctx__knative_mode.start(&env, NULL)); /* no detail asked for */
  ofctx_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(knative_mode),
      cmocka_unit_test(kafka_source_events),
      cmocka_unit_test(batch_function),
      cmocka_unit_test(bad_starts),
  };
  return cmocka_run_group_tests_name("knative", tests, NULL, NULL);
}
