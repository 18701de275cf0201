/* The Dapr HTTP API's send bodies and paths, as the sinks build them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dapr_http_body.h"
#include "mem.h"

static void binding_bodies(void **state) {
  static const struct {
    const char *data, *type, *body;
  } rows[] = {
      {"{\"a\": 1}", NULL,
       "{\"data\":{\"a\": 1},\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}}"},
      {"[1e999]", NULL, "{\"data\":[1e999],\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}}"},
      {"plain \"text\"", NULL,
       "{\"data\":\"plain \\\"text\\\"\",\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}}"},
      {"{\"a\":1}", "text/plain", /* the caller says text: a string */
       "{\"data\":\"{\\\"a\\\":1}\",\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}}"},
      {"42", "application/vnd.x+json",
       "{\"data\":42,\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}}"},
  };
  const char *extra[] = {"k", "v", NULL};
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                                 .component = "kafka-out",
                                 .operation = "create",
                                 .extra = extra,
                                 .content_type = rows[i].type,
                                 .data = rows[i].data,
                                 .len = strlen(rows[i].data)};
    ofctx__buf_t body = {0};
    ofctx_err_t rc;
    char *tail = ofctx__dapr_binding_tail(&req, &rc);
    assert_non_null(tail);
    assert_int_equal(ofctx__dapr_binding_body(&body, &req, tail), OFCTX_OK);
    assert_string_equal(body.data, rows[i].body);
    ofctx__buf_free(&body);
    ofctx__free(tail);
  }
}

static void binding_refusals(void **state) {
  const char *no_value[] = {"k", NULL};
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .operation = "create",
                               .extra = no_value,
                               .data = "\xff",
                               .len = 1};
  ofctx__buf_t body = {0};
  ofctx_err_t rc;
  (void)state;

  assert_null(ofctx__dapr_binding_tail(&req, &rc));
  assert_int_equal(rc, OFCTX_EINVAL);
  req.extra = NULL;
  /* bytes that are neither JSON nor text cannot travel in the JSON body */
  assert_int_equal(ofctx__dapr_binding_body(&body, &req, "}"), OFCTX_EINVAL);
  ofctx__buf_free(&body);
}

static void paths(void **state) {
  const char *extra[] = {"cloudevent.id", "a b&c", NULL};
  ofctx__send_request_t req = {
      .kind = OFCTX__SEND_PUBLISH, .component = "pubsub", .topic = "a/b c%", .extra = extra};
  ofctx__buf_t path = {0};
  (void)state;

  assert_int_equal(ofctx__dapr_path(&path, &req), OFCTX_OK);
  assert_string_equal(path.data,
                      "/v1.0/publish/pubsub/a/b%20c%25?metadata.cloudevent.id=a%20b%26c");
  ofctx__buf_free(&path);
  req.kind = OFCTX__SEND_BINDING;
  req.component = "kafka-out";
  assert_int_equal(ofctx__dapr_path(&path, &req), OFCTX_OK);
  assert_string_equal(path.data, "/v1.0/bindings/kafka-out");
  ofctx__buf_free(&path);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(binding_bodies),
                                     cmocka_unit_test(binding_refusals), cmocka_unit_test(paths)};
  return cmocka_run_group_tests_name("dapr_http_body", tests, NULL, NULL);
}
