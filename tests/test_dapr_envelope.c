/* Dapr's publish envelope as the direct mode makes it (dapr_envelope.c):
 * the members in the sidecar's order, the data by its type (JSON as it is,
 * a string of JSON that is not, text, bytes as data_base64), the trace,
 * a new id and time; the cloudevent.* overrides and ttlInSeconds as daprd
 * reads them, and the ones it refuses; the caller's own CloudEvent; and
 * the expiration read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dapr_envelope.h"

#define NOW 1767323045 /* 2026-01-02T03:04:05Z */

static ofctx__envelope_t base(const char *type, const char *data, size_t len) {
  ofctx__envelope_t e = {.pubsub = "ps",
                         .topic = "alerts",
                         .source = "fn",
                         .content_type = type,
                         .data = data,
                         .len = len,
                         .id = "id-1",
                         .now = NOW};
  return e;
}

static void expect(const ofctx__envelope_t *e, const char *expected) {
  ofctx__buf_t b = {0};
  ofctx_error_t err = {0};

  assert_int_equal(ofctx__dapr_envelope(&b, e, &err), OFCTX_OK);
  assert_string_equal(b.data, expected);
  ofctx__buf_free(&b);
}

/* The envelope of `data` typed `type`, with a fixed id and time. */
static void check(const char *type, const char *data, size_t len, const char *traceparent,
                  const char *expected) {
  ofctx__envelope_t e = base(type, data, len);

  e.traceparent = traceparent;
  expect(&e, expected);
}

/* Reads metadata `kv` (key, value, ..., NULL) into `e`: what the last call
 * returned. */
static int read_md(ofctx__envelope_t *e, const char *const *kv, ofctx_error_t *err) {
  int rc = 0;

  for (; kv[0]; kv += 2)
    if ((rc = ofctx__envelope_metadata(e, kv[0], kv[1], err)) < 0)
      break;
  return rc;
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

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static void trace_fields(void **state) {
  (void)state;
  check("application/json", "1", 1, TP,
        "{\"data\":1,\"datacontenttype\":\"application/json\",\"id\":\"id-1\",\"pubsubname\":"
        "\"ps\",\"source\":\"fn\",\"specversion\":\"1.0\",\"time\":\"2026-01-02T03:04:05Z\","
        "\"topic\":\"alerts\",\"traceid\":\"" TP "\",\"traceparent\":\"" TP "\","
        "\"tracestate\":\"\",\"type\":\"com.dapr.event.sent\"}");
}

static void new_id_and_time(void **state) {
  ofctx__envelope_t e = {.pubsub = "ps", .topic = "t", .source = "fn", .data = "x", .len = 1};
  ofctx__buf_t a = {0}, b = {0};
  const char *id;

  (void)state;
  assert_int_equal(ofctx__dapr_envelope(&a, &e, NULL), OFCTX_OK);
  assert_int_equal(ofctx__dapr_envelope(&b, &e, NULL), OFCTX_OK);
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

/* cloudevent.id, .source, .type (any case of the name, as mapstructure
 * matches it), a later entry over an earlier one. */
static void overrides(void **state) {
  ofctx__envelope_t e = base("text/plain", "x", 1);
  const char *const md[] = {"cloudevent.id",
                            "first",
                            "CloudEvent.ID",
                            "id-9",
                            "cloudevent.source",
                            "payments",
                            "cloudevent.type",
                            "order.created",
                            "team",
                            "logs",
                            NULL};
  ofctx_error_t err = {0};

  (void)state;
  assert_int_equal(ofctx__envelope_metadata(&e, "team", "logs", &err), 0); /* not the envelope's */
  assert_int_equal(read_md(&e, md, &err), 0);
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"id\":\"id-9\",\"pubsubname\":"
             "\"ps\",\"source\":\"payments\",\"specversion\":\"1.0\",\"time\":"
             "\"2026-01-02T03:04:05Z\",\"topic\":\"alerts\",\"type\":\"order.created\"}");
}

#define DAPR_SOURCE                                                                                \
  "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"id\":\"id-1\",\"pubsubname\":\"ps\","      \
  "\"source\":\"Dapr\",\"specversion\":\"1.0\",\"time\":\"2026-01-02T03:04:05Z\",\"topic\":"       \
  "\"alerts\",\"type\":\"com.dapr.event.sent\"}"

/* Given empty, as daprd takes them: the defaults, and source is "Dapr"
 * (NewCloudEventsEnvelope's), not the app id. */
static void empty_overrides(void **state) {
  ofctx__envelope_t e = base("text/plain", "x", 1);
  const char *const md[] = {
      "cloudevent.id", "", "cloudevent.source", "", "cloudevent.type", "", NULL};

  (void)state;
  assert_int_equal(read_md(&e, md, NULL), 1);
  expect(&e, DAPR_SOURCE);
  e.ce_source = NULL;
  e.source = NULL; /* no app id either */
  expect(&e, DAPR_SOURCE);
  e.ce_id = e.ce_type = NULL;
  e.source = "fn";
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\"," TAIL);
}

#define TRACE_TAIL(id, state)                                                                      \
  "\"topic\":\"alerts\",\"traceid\":\"" id "\",\"traceparent\":\"" id "\",\"tracestate\":\"" state \
  "\",\"type\":\"com.dapr.event.sent\"}"
#define TRACE_HEAD                                                                                 \
  "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"id\":\"id-1\",\"pubsubname\":\"ps\","      \
  "\"source\":\"fn\",\"specversion\":\"1.0\",\"time\":\"2026-01-02T03:04:05Z\","

/* The trace overrides: traceid and traceparent both set to one value, a
 * traceparent over a traceid; without tracing too. */
static void trace_overrides(void **state) {
  ofctx__envelope_t e = base("text/plain", "x", 1);

  (void)state;
  assert_int_equal(ofctx__envelope_metadata(&e, "cloudevent.traceid", "tid", NULL), 1);
  expect(&e, TRACE_HEAD TRACE_TAIL("tid", ""));
  assert_int_equal(ofctx__envelope_metadata(&e, "cloudevent.traceparent", "tp", NULL), 1);
  assert_int_equal(ofctx__envelope_metadata(&e, "cloudevent.tracestate", "k=v", NULL), 1);
  expect(&e, TRACE_HEAD TRACE_TAIL("tp", "k=v"));
  e = base("text/plain", "x", 1);
  e.traceparent = TP;
  e.tracestate = "a=b";
  assert_int_equal(ofctx__envelope_metadata(&e, "cloudevent.tracestate", "", NULL), 1);
  expect(&e, TRACE_HEAD TRACE_TAIL(TP, ""));
}

/* ttlInSeconds: expiration now + ttl, after datacontenttype; a huge one
 * capped where Go's Duration ends; an empty one is none. */
static void ttl_expiration(void **state) {
  ofctx__envelope_t e = base("text/plain", "x", 1);

  (void)state;
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "90", NULL), 1);
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"expiration\":"
             "\"2026-01-02T03:05:35Z\"," TAIL);
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "+86400", NULL), 1);
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"expiration\":"
             "\"2026-01-03T03:04:05Z\"," TAIL);
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "9223372036854775807", NULL), 1);
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\",\"expiration\":"
             "\"2318-04-14T02:51:21Z\"," TAIL);
  e = base("text/plain", "x", 1);
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "", NULL), 1);
  assert_int_equal(e.ttl, 0);
  /* not daprd's key: a header only */
  assert_int_equal(ofctx__envelope_metadata(&e, "ttl", "60", NULL), 0);
  assert_int_equal(ofctx__envelope_metadata(&e, "TTLInSeconds", "60", NULL), 0);
  expect(&e, "{\"data\":\"x\",\"datacontenttype\":\"text/plain\"," TAIL);
}

static void refused(const char *key, const char *value, const char *words) {
  ofctx__envelope_t e = base("text/plain", "x", 1);
  ofctx_error_t err = {0};

  assert_int_equal(ofctx__envelope_metadata(&e, key, value, &err), -1);
  assert_int_equal(err.code, OFCTX_EINVAL);
  if (!strstr(err.message, words))
    fail_msg("%s=%s: %s", key, value, err.message);
  assert_int_equal(e.ttl, 0);
}

/* What the sidecar would take and silently not apply is refused, naming
 * the value or key. */
static void bad_metadata_refused(void **state) {
  (void)state;
  refused("ttlInSeconds", "abc", "ttlInSeconds: \"abc\" is not a whole number");
  refused("ttlInSeconds", "0", "\"0\" is not a whole number of seconds above zero");
  refused("ttlInSeconds", "-5", "\"-5\"");
  refused("ttlInSeconds", "1.5", "\"1.5\"");
  refused("ttlInSeconds", " 5", "\" 5\"");
  refused("ttlInSeconds", "99999999999999999999", "not a whole number");
  refused("ttlInSeconds", "+", "not a whole number");
  refused("cloudevent.subject", "s", "\"cloudevent.subject\": the sidecar does not read it");
  refused("CloudEvent.Time", "t", "\"CloudEvent.Time\"");
  refused("cloudevent.", "t", "it reads cloudevent.id, .source, .type");
  /* an override that is not UTF-8 cannot be a JSON string: it was written
   * as "" (an event without an id) */
  refused("cloudevent.id", "a\xff", "\"cloudevent.id\": its value is not UTF-8 text");
  refused("cloudevent.source", "\xc3", "\"cloudevent.source\": its value is not UTF-8 text");
  refused("cloudevent.tracestate", "k=\x80", "not UTF-8 text");
}

#define OWN "application/cloudevents+json"

/* The caller's CloudEvent: its members kept as written and sorted, topic,
 * pubsubname and the trace set; source, type and specversion given when
 * missing or null; time when missing (a time of the caller's, even null,
 * kept); a name given twice the last one; overrides not read. */
static void own_cloudevent(void **state) {
  const char *ce = " {\"type\":\"order.created\",\"topic\":\"other\",\"data\":{\"b\": 1, \"a\": "
                   "[true]},\"specversion\":null,\"id\":\"c-1\",\"subject\":\"s\",\"zz\":1,"
                   "\"id\":\"c-2\",\"traceparent\":\"mine\",\"\\u00e9t\\u00e9\":2} trailing";
  ofctx__envelope_t e = base(OWN "; charset=utf-8", ce, strlen(ce));

  (void)state;
  assert_int_equal(ofctx__envelope_metadata(&e, "cloudevent.id", "ignored", NULL), 1);
  expect(&e, "{\"data\":{\"b\": 1, \"a\": [true]},\"id\":\"c-2\",\"pubsubname\":\"ps\","
             "\"source\":\"Dapr\",\"specversion\":\"1.0\",\"subject\":\"s\",\"time\":"
             "\"2026-01-02T03:04:05Z\",\"topic\":\"alerts\",\"traceid\":\"\",\"traceparent\":"
             "\"\",\"tracestate\":\"\",\"type\":\"order.created\",\"zz\":1,\"été\":2}");
  e = base(OWN, "{\"time\":null,\"source\":\"me\"}", 28);
  e.traceparent = TP;
  e.tracestate = "k=v";
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "60", NULL), 1);
  expect(&e, "{\"expiration\":\"2026-01-02T03:05:05Z\",\"pubsubname\":\"ps\",\"source\":\"me\","
             "\"specversion\":\"1.0\",\"time\":null,\"topic\":\"alerts\",\"traceid\":\"" TP "\","
             "\"traceparent\":\"" TP "\",\"tracestate\":\"k=v\",\"type\":\"com.dapr.event.sent\"}");
}

static void own_refused(const char *data, const char *words) {
  ofctx__envelope_t e = base(OWN, data, strlen(data));
  ofctx__buf_t b = {0};
  ofctx_error_t err = {0};

  assert_int_equal(ofctx__dapr_envelope(&b, &e, &err), OFCTX_EINVAL);
  assert_int_equal(err.code, OFCTX_EINVAL);
  if (!strstr(err.message, words))
    fail_msg("%s: %s", data, err.message);
  assert_null(b.data);
  ofctx__buf_free(&b);
}

/* A caller's CloudEvent that is no JSON object is refused, as daprd
 * refuses it (ERR_PUBSUB_CLOUD_EVENTS_SER). */
static void own_cloudevent_refused(void **state) {
  (void)state;
  own_refused("", "is not JSON");
  own_refused("{\"a\":", "is not JSON");
  own_refused("[1]", "is not a JSON object");
  own_refused("null", "is not a JSON object");
  own_refused("\"text\"", "is not a JSON object");
}

static int expired_at(const char *body, long sec, long nsec, ofctx_error_t *why) {
  struct timespec now = {sec, nsec};

  return ofctx__dapr_expired(body, strlen(body), &now, why);
}

/* An expiration before now, as daprd's HasExpired reads it: RFC 3339 with
 * a fraction and a zone; anything else never expires. */
static void expiration_read(void **state) {
  ofctx_error_t why = {0};

  (void)state;
  assert_true(expired_at("{\"id\":\"e-1\",\"expiration\":\"2026-01-02T03:04:04Z\"}", NOW, 0, &why));
  assert_string_equal(why.message, "the event \"e-1\" expired at 2026-01-02T03:04:04Z");
  assert_false(expired_at("{\"expiration\":\"2026-01-02T03:04:05Z\"}", NOW, 0, NULL));
  assert_true(expired_at("{\"expiration\":\"2026-01-02T03:04:05Z\"}", NOW, 1, NULL));
  assert_false(expired_at("{\"expiration\":\"2026-01-02T03:04:05.5Z\"}", NOW, 400000000, NULL));
  assert_true(expired_at("{\"expiration\":\"2026-01-02T03:04:05.5Z\"}", NOW, 600000000, NULL));
  /* 04:04:05+01:00 is 03:04:05Z */
  assert_true(expired_at("{\"expiration\":\"2026-01-02T04:04:04+01:00\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2026-01-02T02:04:06-01:00\"}", NOW, 0, NULL));
  assert_true(expired_at("{\"expiration\":\"2024-02-29T00:00:00Z\"}", NOW, 0, NULL));
  assert_true(expired_at("{\"\\u0065xpiration\":\"2020-01-01T00:00:00Z\"}", NOW, 0, NULL));
  /* the last of two wins */
  assert_false(expired_at("{\"expiration\":\"2020-01-01T00:00:00Z\",\"expiration\":"
                          "\"2030-01-01T00:00:00Z\"}",
                          NOW, 0, NULL));
  /* not a time, or not a string: never expires */
  assert_false(expired_at("{\"data\":1}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":1}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2020-01-01 00:00:00Z\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2020-01-01T00:00:00\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2023-02-29T00:00:00Z\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2020-01-01T24:00:00Z\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2020-01-01T00:00:00.Z\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"expiration\":\"2020-01-01T00:00:00Zx\"}", NOW, 0, NULL));
  assert_false(expired_at("{\"data\":{\"expiration\":\"2020-01-01T00:00:00Z\"}}", NOW, 0, NULL));
}

/* What the envelope writes, read back: expired once its time to live has
 * passed. */
static void ttl_round_trip(void **state) {
  ofctx__envelope_t e = base("text/plain", "x", 1);
  ofctx__buf_t b = {0};

  (void)state;
  assert_int_equal(ofctx__envelope_metadata(&e, "ttlInSeconds", "30", NULL), 1);
  assert_int_equal(ofctx__dapr_envelope(&b, &e, NULL), OFCTX_OK);
  assert_false(expired_at(b.data, NOW + 29, 0, NULL));
  assert_true(expired_at(b.data, NOW + 30, 1, NULL));
  ofctx__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(data_by_type),    cmocka_unit_test(trace_fields),
      cmocka_unit_test(new_id_and_time), cmocka_unit_test(overrides),
      cmocka_unit_test(empty_overrides), cmocka_unit_test(trace_overrides),
      cmocka_unit_test(ttl_expiration),  cmocka_unit_test(bad_metadata_refused),
      cmocka_unit_test(own_cloudevent),  cmocka_unit_test(own_cloudevent_refused),
      cmocka_unit_test(expiration_read), cmocka_unit_test(ttl_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
