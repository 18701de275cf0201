/* Dapr's publish envelope as the direct mode makes it (dapr_envelope.c):
 * the members in the sidecar's order, the data by its type (JSON as it is,
 * a string of JSON that is not, text, bytes as data_base64), the trace,
 * a new id and time, and the caller's CloudEvent refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dapr_envelope.h"

/* The envelope of `data` typed `type`, with a fixed id and time. */
static void check(const char *type, const char *data, size_t len, const char *traceparent,
                  const char *expected) {
  ofctx__envelope_t e = {.pubsub = "ps",
                         .topic = "alerts",
                         .source = "fn",
                         .content_type = type,
                         .data = data,
                         .len = len,
                         .traceparent = traceparent,
                         .id = "id-1",
                         .time = "2026-01-02T03:04:05Z"};
  ofctx__buf_t b = {0};

  assert_int_equal(ofctx__dapr_envelope(&b, &e), OFCTX_OK);
  assert_string_equal(b.data, expected);
  ofctx__buf_free(&b);
}

#define TAIL                                                                                       \
  "\"id\":\"id-1\",\"pubsubname\":\"ps\",\"source\":\"fn\",\"specversion\":\"1.0\",\"time\":"      \
  "\"2026-01-02T03:04:05Z\",\"topic\":\"alerts\",\"type\":\"com.dapr.event.sent\"}"

static void data_by_type(void **state) {
  (void)state;
  check("application/json", "{\"a\": [1, 2e400]}", 17, NULL,
        "{\"data\":{\"a\": [1, 2e400]},\"datacontenttype\":\"application/json\"," TAIL);
  check("application/json", "{\"a\"", 4, NULL,
        "{\"data\":\"{\\\"a\\\"\",\"datacontenttype\":\"application/json\"," TAIL);
  check("text/plain; charset=utf-8", "héllo", 6, NULL,
        "{\"data\":\"héllo\",\"datacontenttype\":\"text/plain; charset=utf-8\"," TAIL);
  check(NULL, "x", 1, NULL, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\"," TAIL);
  check("", "{}", 2, NULL, "{\"data\":\"{}\",\"datacontenttype\":\"text/plain\"," TAIL);
  check("application/octet-stream", "abc", 3, NULL,
        "{\"data_base64\":\"YWJj\",\"datacontenttype\":\"application/octet-stream\"," TAIL);
  check("application/x-protobuf", "abc", 3, NULL,
        "{\"data_base64\":\"YWJj\",\"datacontenttype\":\"application/x-protobuf\"," TAIL);
  check("text/plain", "\xff\xfe", 2, NULL,
        "{\"data_base64\":\"//4=\",\"datacontenttype\":\"text/plain\"," TAIL);
}

static void trace_fields(void **state) {
  (void)state;
  check("application/json", "1", 1, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "{\"data\":1,\"datacontenttype\":\"application/json\",\"id\":\"id-1\",\"pubsubname\":"
        "\"ps\",\"source\":\"fn\",\"specversion\":\"1.0\",\"time\":\"2026-01-02T03:04:05Z\","
        "\"topic\":\"alerts\",\"traceid\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-"
        "01\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\","
        "\"tracestate\":\"\",\"type\":\"com.dapr.event.sent\"}");
}

static void new_id_and_time(void **state) {
  ofctx__envelope_t e = {.pubsub = "ps", .topic = "t", .source = "fn", .data = "x", .len = 1};
  ofctx__buf_t a = {0}, b = {0};
  const char *id;

  (void)state;
  assert_int_equal(ofctx__dapr_envelope(&a, &e), OFCTX_OK);
  assert_int_equal(ofctx__dapr_envelope(&b, &e), OFCTX_OK);
  id = strstr(a.data, "\"id\":\"") + 6;
  assert_int_equal(strchr(id, '"') - id, 36); /* 8-4-4-4-12 */
  assert_int_equal(id[8], '-');
  assert_int_equal(id[14], '4'); /* version 4 */
  assert_non_null(strchr("89ab", id[19]));
  assert_string_not_equal(a.data, b.data);          /* a new id each time */
  assert_non_null(strstr(a.data, "\"time\":\"20")); /* RFC 3339, this century */
  assert_int_equal(
      strchr(strstr(a.data, "\"time\":\"") + 8, '"') - (strstr(a.data, "\"time\":\"") + 8), 20);
  ofctx__buf_free(&a);
  ofctx__buf_free(&b);
}

static void cloudevent_refused(void **state) {
  ofctx__envelope_t e = {.pubsub = "ps",
                         .topic = "t",
                         .source = "fn",
                         .content_type = "application/cloudevents+json; charset=utf-8",
                         .data = "{}",
                         .len = 2};
  ofctx__buf_t b = {0};

  (void)state;
  assert_int_equal(ofctx__dapr_envelope(&b, &e), OFCTX_EINVAL);
  assert_int_equal(b.len, 0);
  ofctx__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(data_by_type),
      cmocka_unit_test(trace_fields),
      cmocka_unit_test(new_id_and_time),
      cmocka_unit_test(cloudevent_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
