/* The logs-handler's parts on their own: Alertmanager's fingerprint
 * against the reference vectors, the access-log tokenizer on each field,
 * time parsing, the env rule's prefilter and alerts, and the reasons a
 * record is dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "access_log.h"
#include "alert.h"
#include "rules_doc.h"
#include "rules_load.h"
#include "view.h"

static void fingerprint_vectors(void **state) {
  /* from the reference (prometheus/common model/signature.go, verified
   * against Notification Manager's test data) */
  lh_label_t one[] = {{"alertname", "HTTP404"}};
  lh_label_t four[] = {{"severity", "warning"},
                       {"pod", "wordpress-v1-f54f697c5-hdn2z"},
                       {"alertname", "HTTP404"},
                       {"namespace", "demo-project"}};
  (void)state;
  assert_int_equal(lh_fingerprint(NULL, 0), 0xcbf29ce484222325ULL);
  assert_int_equal(lh_fingerprint(one, 1), 0x641f4bda3c963576ULL);
  assert_int_equal(lh_fingerprint(four, 4), 0x4769d5971b4df41aULL);
}

static lh_access_t parse(const char *line, int ok) {
  lh_access_t a;
  assert_int_equal(lh_access_parse(line, strlen(line), &a), ok);
  return a;
}

static void span_is(lh_span_t s, const char *want) {
  assert_int_equal(s.len, strlen(want));
  assert_memory_equal(s.p, want, s.len);
}

static void access_fields(void **state) {
  lh_access_t a;
  (void)state;
  a = parse("1.2.3.4 - bob [25/Aug/2021:01:54:36 +0000] \"GET /a/b?c=1 HTTP/1.1\" 404 49923 "
            "\"http://r/\" \"curl/7.58.0\"\n",
            1);
  span_is(a.client, "1.2.3.4");
  span_is(a.user, "bob");
  span_is(a.time, "25/Aug/2021:01:54:36 +0000");
  span_is(a.method, "GET");
  span_is(a.target, "/a/b?c=1");
  span_is(a.path, "/a/b");
  span_is(a.protocol, "HTTP/1.1");
  span_is(a.referer, "http://r/");
  span_is(a.agent, "curl/7.58.0");
  assert_int_equal(a.status, 404);
  assert_int_equal(a.size, 49923);
  /* HTTP/0.9: no protocol; a target with a raw space */
  a = parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET /x y\" 404 -", 1);
  span_is(a.target, "/x y");
  assert_int_equal(a.protocol.len, 0);
  assert_int_equal(a.size, -1);
  a = parse("h - - [25/Aug/2021:01:54:36 +0000] \"get / HTTP/1.1\" 404 1", 1);
  assert_int_equal(a.method.len, 0); /* lower case: not a method */
  /* not access logs */
  parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 404", 0);   /* no size */
  parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 099 1", 0); /* not a status */
  parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 404x 1", 0);
  parse("h - - [25/Foo/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 404 1", 0);  /* month */
  parse("h  - - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 404 1", 0); /* empty field */
  parse("h - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1\" 404 1", 0);    /* two fields */
  parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET / HTTP/1.1 404 1", 0);    /* open quote */
  parse("h - - [25/Aug/2021:01:54:36 +0000] \"GET \\\" 404 1", 0);
  parse("", 0);
}

static void times(void **state) {
  double t;
  (void)state;
  assert_int_equal(lh_parse_rfc3339("2021-08-25T01:54:37.226757612Z", &t), 0);
  assert_true(t > 1629856477.2267 && t < 1629856477.2268);
  assert_int_equal(lh_parse_rfc3339("2021-08-25T03:54:37+02:00", &t), 0);
  assert_true(t == 1629856477.0);
  assert_int_equal(lh_parse_rfc3339("2021-08-25 01:54:37Z", &t), -1);
  assert_int_equal(lh_parse_rfc3339("2021-13-25T01:54:37Z", &t), -1);
  assert_int_equal(lh_parse_clf_time("25/Aug/2021:01:54:36 -0100", 26, &t), 0);
  assert_true(t == 1629856476.0 + 3600);
  {
    char out[64];
    lh_rfc3339(1629856477.2267579, out);
    assert_string_equal(out, "2021-08-25T01:54:37.226758Z");
    lh_rfc3339(1629856477.9999999, out);
    assert_string_equal(out, "2021-08-25T01:54:38.000000Z");
  }
}

static const char *no_env(const char *name) {
  (void)name;
  return NULL;
}

/* The rules the LOGS_* variables of `get` make, compiled. */
static lh_ruleset_t *env_rules(lh_getenv_fn get) {
  json_t *doc;
  lh_ruleset_t *rs = NULL;
  char err[512];

  if (lh_rules_doc_from_env(&doc, get, NULL, NULL, NULL, NULL, NULL, err, sizeof err) != 0 ||
      lh_rules_compile(&rs, doc, NULL, NULL, err, sizeof err) != 0)
    fail_msg("the env rule: %s", err);
  json_decref(doc);
  return rs;
}

static void prefilter(void **state) {
  lh_ruleset_t *r = env_rules(no_env);
  static const char *const may[] = {
      ("{\"log\":\"h - - [x] \\\"GET / HTTP/1.1\\\" 404 1\",\"kubernetes\":{\"namespace_name\":"
       "\"demo-project\",\"pod_name\":\"wordpress-v1-f54f697c5-hdn2z\"}}"),
      "{\"log\":\"\\u0020404 \",\"ns\":\"x\"}", /* an escape could hide anything */
  };
  static const char *const cannot[] = {
      "{\"log\":\"h - - [x] \\\"GET / HTTP/1.1\\\" 200 404\",\"ns\":\"demo-project\"}",
      "{\"log\":\"h - - [x] \\\"GET / HTTP/1.1\\\" 404 1\",\"ns\":\"web\"}",
      /* the pod's regex starts with wordpress-v1- */
      ("{\"log\":\"h - - [x] \\\"GET / HTTP/1.1\\\" 404 1\",\"kubernetes\":{\"namespace_name\":"
       "\"demo-project\",\"pod_name\":\"wordpress-v2-f54f697c5-hdn2z\"}}"),
      "{\"log\":\"4040 /404\",\"ns\":\"demo-project\"}",
      /* a status-like number, but not after a quoted request */
      "{\"log\":\"Synced 404 objects\",\"ns\":\"demo-project\"}",
  };
  (void)state;
  for (size_t i = 0; i < sizeof may / sizeof may[0]; i++)
    assert_int_equal(lh_ruleset_may_match(r, may[i], strlen(may[i])), 1);
  for (size_t i = 0; i < sizeof cannot / sizeof cannot[0]; i++)
    assert_int_equal(lh_ruleset_may_match(r, cannot[i], strlen(cannot[i])), 0);
  lh_ruleset_free(r);
}

static const char *am_env(const char *name) {
  return strcmp(name, "LOGS_ALERT_FORMAT") == 0 ? "alertmanager" : NULL;
}

/* Values that need escaping (quote, backslash, control character), that
 * are not ASCII, and that are plain come back exactly, in both formats. */
static void alert_values_round_trip(void **state) {
  const char *path = "/a\"b\\c\td\x01/\xe2\x82\xac";
  const char *key[] = {"demo-project", "wordpress-v1-f54f697c5-hdn2z", "caf\xc3\xa9", "404"};
  const lh_field_t first[] = {{"path", "/first"}, {"method", "GET"}, {"client", "10.0.0.7"}};
  const lh_field_t last[] = {{"path", path}, {"method", "GET"}, {"client", "10.0.0.7"}};
  const char *samples[] = {"/first", path};
  lh_note_t note = {.kind = LH_NOTE_UPDATE,
                    .key = key,
                    .key_count = 4,
                    .count = 7,
                    .new_count = 6,
                    .first_seen = 1629856477.5,
                    .last_seen = 1629856490.25,
                    .now = 1629856491.0,
                    .first_fields = first,
                    .first_count = 3,
                    .last_fields = last,
                    .last_count = 3,
                    .samples = samples,
                    .sample_count = 2};
  lh_getenv_fn envs[] = {no_env, am_env};
  (void)state;
  for (size_t i = 0; i < 2; i++) {
    lh_ruleset_t *r = env_rules(envs[i]);
    size_t len;
    json_error_t jerr;
    char *text = lh_alert_json(lh_ruleset_notify(r, 0), &note, 1629856491.0, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    json_t *body = json_loads(text, 0, &jerr);
    assert_non_null(body);
    json_t *alert = json_array_get(i == 0 ? json_object_get(body, "alerts") : body, 0);
    json_t *labels = json_object_get(alert, "labels");
    json_t *notes = json_object_get(alert, "annotations");
    /* identity: bounded labels only; the path is an annotation */
    assert_null(json_object_get(labels, "path"));
    assert_string_equal(json_string_value(json_object_get(labels, "status")), "404");
    assert_string_equal(json_string_value(json_object_get(notes, "last_path")), path);
    assert_string_equal(json_string_value(json_object_get(notes, "count")), "7");
    assert_string_equal(json_string_value(json_object_get(notes, "new_count")), "6");
    assert_string_equal(json_string_value(json_object_get(notes, "first_seen")),
                        "2021-08-25T01:54:37.500000Z");
    assert_string_equal(json_string_value(json_object_get(labels, "container")), key[2]);
    assert_string_equal(json_string_value(json_object_get(labels, "pod")), key[1]);
    assert_string_equal(json_string_value(json_object_get(labels, "alertname")), "404 Request");
    assert_string_equal(json_string_value(json_object_get(alert, "startsAt")),
                        "2021-08-25T01:54:37.500000Z");
    /* the default lease: repeat interval + quiet period after the clock */
    assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                        "2021-08-25T02:59:51.000000Z");
    assert_non_null(strstr(json_string_value(json_object_get(notes, "message")), "6 more"));
    if (i == 0) {
      assert_true(json_equal(labels, json_object_get(body, "commonLabels")));
      assert_string_equal(json_string_value(json_object_get(body, "status")), "firing");
    }
    json_decref(body);
    free(text);
    /* resolved: ends at the clock, and says so */
    note.kind = LH_NOTE_RESOLVED;
    text = lh_alert_json(lh_ruleset_notify(r, 0), &note, 1629856999.0, &len);
    body = json_loads(text, 0, &jerr);
    alert = json_array_get(i == 0 ? json_object_get(body, "alerts") : body, 0);
    assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                        "2021-08-25T01:54:51.000000Z");
    if (i == 0)
      assert_string_equal(json_string_value(json_object_get(alert, "status")), "resolved");
    json_decref(body);
    free(text);
    note.kind = LH_NOTE_UPDATE;
    lh_ruleset_free(r);
  }
}

/* A record dropped says truly why; valid JSON that jansson cannot hold is
 * JSON (RFC 8259): read like any other record. */
static void drop_reasons(void **state) {
  static const struct {
    const char *record, *why;
  } rows[] = {
      {"{\"log\": 1e999}", "not a Kubernetes log record"},
      {"{\"kubernetes\": {\"n\": 123456789012345678901234567890}}", "not a Kubernetes log record"},
      {"{\"log\": \"x\", \"kubernetes\": {\"namespace_name\": 1, \"pod_name\": \"p\"}}",
       "not a Kubernetes log record"},
      {"[1, 2]", "JSON, but not an object"},
      {" \"s\" ", "JSON, but not an object"},
      {"{\"log\": ", "not JSON"},
      {"{\"log\": \"x\"}}", "not JSON"},
  };
  static const char big[] =
      "{\"n\": 123456789012345678901234567890, \"e\": \"\\ud800\\u0000\", \"log\": "
      "\"a\\u00e9\\\"b\\n\", \"log\": \"last\\n\", \"kubernetes\": {\"namespace_name\": \"n\", "
      "\"pod_name\": \"p\", \"labels\": {\"app.kubernetes.io/name\": \"w\\u00e9\"}}}";
  static const lh_fref_t label = {LH_FIELD_LABEL, "app.kubernetes.io/name", 0},
                         ns = {LH_FIELD_NAMESPACE, "namespace", 0},
                         missing = {LH_FIELD_LABEL, "app", 0};
  lh_view_t *v = NULL;
  const char *why = NULL, *s;
  size_t n;
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    lh_verdict_t verdict = lh_view_parse(&v, rows[i].record, strlen(rows[i].record), 0, &why);
    assert_int_equal(verdict, LH_DROP);
    if (!why || strncmp(why, rows[i].why, strlen(rows[i].why)) != 0)
      fail_msg("%s: \"%s\"", rows[i].record, why ? why : "(none)");
  }
  /* a number past 64 bits, a lone surrogate and \u0000 elsewhere: taken;
   * of two "log" members the last counts, as jansson has it */
  assert_int_equal(lh_view_parse(&v, big, strlen(big), 0, &why), LH_IGNORE);
  assert_int_equal(lh_view_line(v, &s), 0);
  assert_string_equal(s, "last");
  s = lh_view_get(v, &label, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(s, "w\xc3\xa9", 3);
  s = lh_view_get(v, &ns, &n);
  assert_memory_equal(s, "n", n);
  assert_null(lh_view_get(v, &missing, &n));
  lh_view_free(v);
}

/* A record no rule selects is not parsed, but its time moves the clock:
 * the raw bytes give the time a parse would, "time" before "@timestamp". */
static void raw_times(void **state) {
  static const char *const records[] = {
      "{\"@timestamp\":1629856477.226758,\"log\":\"x\\n\",\"time\":\"2021-08-25T01:54:37."
      "227757930Z\",\"kubernetes\":{\"pod_name\":\"p\",\"namespace_name\":\"n\"}}",
      "{\"@timestamp\":1629856477.5,\"message\":\"x\",\"kubernetes\":{\"pod_name\":\"p\","
      "\"namespace_name\":\"n\"}}",
      "{\"log\": \"x\", \"kubernetes\": {\"pod_name\": \"p\", \"namespace_name\": \"n\"}, "
      "\"@timestamp\": 1629856477.5}",
      "{\"@timestamp\":\"2021-08-25T01:54:38Z\",\"log\":\"x\",\"kubernetes\":{\"pod_name\":"
      "\"p\",\"namespace_name\":\"n\"}}",
  };
  lh_view_t *v = NULL;
  double t;
  (void)state;

  for (size_t i = 0; i < sizeof records / sizeof *records; i++) {
    const char *why;
    assert_int_equal(lh_view_parse(&v, records[i], strlen(records[i]), 1, &why), LH_IGNORE);
    assert_int_equal(lh_view_raw_time(records[i], strlen(records[i]), &t), 0);
    assert_true(t == lh_view_time(v));
  }
  assert_true(t == 1629856478.0);
  /* none, or none a clock can take */
  assert_int_equal(lh_view_raw_time("{\"log\":\"x\"}", 11, &t), -1);
  assert_int_equal(lh_view_raw_time("{\"time\":\"yesterday\"}", 20, &t), -1);
  assert_int_equal(lh_view_raw_time("{\"@timestamp\":-5}", 17, &t), -1);
  lh_view_free(v);
}

/* The newest time of skipped records is the largest offered, however its
 * record gave it; a take empties it. */
static void newest_skipped(void **state) {
  static const char *const records[] = {
      "{\"@timestamp\":99.5,\"log\":\"x\"}",
      "{\"@timestamp\":1629856477.25,\"log\":\"x\"}",
      "{\"@timestamp\":1629856477.3,\"log\":\"x\"}",
      "{\"@timestamp\":1629856477.125,\"log\":\"x\"}",
      "{\"@timestamp\":1629856477,\"log\":\"x\"}",
      "{\"@timestamp\":01629856478,\"log\":\"x\"}", /* not JSON: read the slow way */
      "{\"@timestamp\":-1629856479,\"log\":\"x\"}",
  };
  static const char later[] = "{\"log\":\"x\",\"time\":\"2021-08-25T01:54:40Z\"}";
  lh_newest_t n = {{0}, 0};
  double t;
  (void)state;

  assert_int_equal(lh_newest_take(&n, &t), -1);
  for (size_t i = 0; i < sizeof records / sizeof *records; i++)
    lh_newest_offer(&n, records[i], strlen(records[i]));
  assert_int_equal(lh_newest_take(&n, &t), 0);
  assert_true(t == 1629856478.0);
  assert_int_equal(lh_newest_take(&n, &t), -1);
  for (size_t i = 0; i < 5; i++)
    lh_newest_offer(&n, records[i], strlen(records[i]));
  assert_int_equal(lh_newest_take(&n, &t), 0);
  assert_true(t == 1629856477.3);
  /* a number that is not plain is not taken */
  lh_newest_offer(&n, "{\"@timestamp\":1629856477.5e-3,\"log\":\"x\"}", 41);
  assert_int_equal(lh_newest_take(&n, &t), -1);
  lh_newest_offer(&n, records[1], strlen(records[1]));
  lh_newest_offer(&n, later, strlen(later));
  assert_int_equal(lh_newest_take(&n, &t), 0);
  assert_true(t == 1629856480.0);
}

/* With jansson's allocator for views, a view parses as without it: a
 * record too large for its block spills into the heap and is let go of
 * value by value, JSON that is not an object is let go of, and values made
 * outside a view keep the allocator they had. */
static void arena_views(void **state) {
  static const lh_fref_t ns = {LH_FIELD_NAMESPACE, "namespace", 0},
                         label = {LH_FIELD_LABEL, "l2999", 0}, level = {LH_FIELD_JSON, "level", 0};
  json_t *kept, *big = json_pack("{s:s, s:{s:s, s:s, s:{}}}", "log", "{\"level\": \"error\"}",
                                 "kubernetes", "namespace_name", "big", "pod_name", "p", "labels");
  static const char small[] = "{\"log\":\"{\\\"level\\\":\\\"warn\\\"}\",\"kubernetes\":"
                              "{\"namespace_name\":\"small\",\"pod_name\":\"p\"}}";
  char *text, name[16];
  const char *why, *s;
  lh_view_t *v = NULL;
  size_t n;
  (void)state;

  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "l%d", i);
    json_object_set_new(json_object_get(json_object_get(big, "kubernetes"), "labels"), name,
                        json_string(name));
  }
  text = json_dumps(big, JSON_COMPACT);
  json_decref(big);
  lh_view_use_arena();
  lh_view_use_arena(); /* once is enough */
  kept = json_pack("{s:s}", "made", "outside");
  for (int round = 0; round < 3; round++) {
    assert_int_equal(lh_view_parse(&v, text, strlen(text), 1, &why), LH_IGNORE);
    s = lh_view_get(v, &label, &n);
    assert_non_null(s);
    assert_memory_equal(s, "l2999", 5);
    assert_int_equal(lh_view_parse(&v, "[1]", 3, 1, &why), LH_DROP);
    assert_string_equal(why, "JSON, but not an object");
    assert_int_equal(lh_view_parse(&v, text + 1, strlen(text) - 1, 1, &why), LH_DROP);
    assert_int_equal(lh_view_parse(&v, small, strlen(small), 1, &why), LH_IGNORE);
    s = lh_view_get(v, &ns, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "small", 5);
    s = lh_view_get(v, &level, &n);
    assert_non_null(s);
    assert_string_equal(s, "warn");
  }
  assert_string_equal(json_string_value(json_object_get(kept, "made")), "outside");
  json_decref(kept);
  lh_view_free(v);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fingerprint_vectors),
      cmocka_unit_test(access_fields),
      cmocka_unit_test(times),
      cmocka_unit_test(prefilter),
      cmocka_unit_test(alert_values_round_trip),
      cmocka_unit_test(drop_reasons),
      cmocka_unit_test(raw_times),
      cmocka_unit_test(newest_skipped),
      cmocka_unit_test(arena_views),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
