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

/* Contract §3.3: the key one encoded segment, the options as Dapr's words,
 * each optional member only when set. */
static void state_requests(void **state) {
  static const char *const md[] = {"ttlInSeconds", "60", "a b", "c&d", NULL};
  ofctx__state_request_t req = {.op = OFCTX__STATE_GET, .store = "store", .key = "a/b c"};
  ofctx__buf_t b = {0};

  (void)state;
  assert_int_equal(ofctx__dapr_state_path(&b, &req), OFCTX_OK);
  assert_string_equal(b.data, "/v1.0/state/store/a%2Fb%20c");
  ofctx__buf_free(&b);
  req.op = OFCTX__STATE_DELETE;
  req.consistency = "strong";
  req.concurrency = "first-write";
  req.metadata = md;
  assert_int_equal(ofctx__dapr_state_path(&b, &req), OFCTX_OK);
  assert_string_equal(b.data, "/v1.0/state/store/a%2Fb%20c?consistency=strong&concurrency=first-"
                              "write&metadata.ttlInSeconds=60&metadata.a%20b=c%26d");
  ofctx__buf_free(&b);
  req.op = OFCTX__STATE_SET;
  assert_int_equal(ofctx__dapr_state_path(&b, &req), OFCTX_OK);
  assert_string_equal(b.data, "/v1.0/state/store");
  ofctx__buf_free(&b);
  req.value = "{\"x\":1}";
  req.len = 7;
  req.etag = "3";
  assert_int_equal(ofctx__dapr_state_body(&b, &req), OFCTX_OK);
  assert_string_equal(b.data,
                      "[{\"key\":\"a/b c\",\"value\":{\"x\":1},\"etag\":\"3\",\"metadata\":{"
                      "\"ttlInSeconds\":\"60\",\"a b\":\"c&d\"},\"options\":{\"concurrency\":"
                      "\"first-write\",\"consistency\":\"strong\"}}]");
  ofctx__buf_free(&b);
  req = (ofctx__state_request_t){
      .op = OFCTX__STATE_SET, .store = "s", .key = "k", .value = "\"v\"", .len = 3};
  req.consistency = "eventual";
  assert_int_equal(ofctx__dapr_state_body(&b, &req), OFCTX_OK);
  assert_string_equal(
      b.data, "[{\"key\":\"k\",\"value\":\"v\",\"options\":{\"consistency\":\"eventual\"}}]");
  ofctx__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(binding_bodies),
                                     cmocka_unit_test(binding_refusals), cmocka_unit_test(paths),
                                     cmocka_unit_test(state_requests)};
  return cmocka_run_group_tests_name("dapr_http_body", tests, NULL, NULL);
}
