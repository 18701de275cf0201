/* The logs-handler's notifications (alert.c) and annotation templates
 * (template.c): labels and their override, group_by labels, today's
 * access-log annotations byte for byte (tests/data/logs/alerts-today.jsonl,
 * made by the alert.c of before issue 24), the defaults of other rules,
 * every placeholder, template errors, suppressed and ratio numbers, both
 * formats, fingerprints, and values that are not clean UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "alert.h"
#include "case_util.h"
#include "template.h"

static const char *const env_group_by[] = {"namespace", "pod", "container", "status"};
static const lh_field_t env_labels[] = {{"alertname", "404 Request"}};

/* The env rule of today: LOGS_* defaults. */
static lh_notify_t env_rule(void) {
  lh_notify_t r = {0};
  r.name = "logs-404";
  r.severity = "warning";
  r.receiver = "logs-handler";
  r.format = LH_FORMAT_NOTIFICATION_MANAGER;
  r.lease = 3900;
  r.resolve_after = 300;
  r.group_by = env_group_by;
  r.group_by_count = 4;
  r.labels = env_labels;
  r.label_count = 1;
  r.access_log = 1;
  return r;
}

static const char *const key_a[] = {"demo-project", "wordpress-v1-f54f697c5-hdn2z", "wordpress",
                                    "404"};
static const char *const key_b[] = {"demo-project", "wordpress-v1-f54f697c5-hdn2z", "", "404"};
static const lh_field_t first_a[] = {{"path", "/first"}, {"method", NULL}, {"client", NULL}};
static const lh_field_t last_a[] = {{"path", "/b\"q"}, {"method", "GET"}, {"client", "10.0.0.7"}};
static const lh_field_t fields_b[] = {{"path", "/x"}, {"method", NULL}, {"client", NULL}};
static const char *const samples_a[] = {"/first", "/b\"q", "/caf\xc3\xa9"};
static const char *const samples_b[] = {"/x"};

static lh_note_t note_a(lh_note_kind_t kind) {
  lh_note_t n = {0};
  n.kind = kind;
  n.key = key_a;
  n.key_count = 4;
  n.count = 7;
  n.new_count = 6;
  n.first_seen = 1629856477.5;
  n.last_seen = 1629856490.25;
  n.now = 1629856491.0;
  n.first_fields = first_a;
  n.last_fields = last_a;
  n.first_count = n.last_count = 3;
  n.samples = samples_a;
  n.sample_count = 3;
  return n;
}

/* The alert text of `note` (checked to be JSON and of length `len`). */
static char *text_of(const lh_notify_t *r, const lh_note_t *n, double wall) {
  size_t len = 0;
  char *text = lh_alert_json(r, n, wall, &len);
  json_error_t err;
  json_t *j;

  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  j = json_loads(text, 0, &err);
  if (!j)
    fail_msg("not JSON (%s): %s", err.text, text);
  json_decref(j);
  return text;
}

/* The body and its (first) alert. */
static json_t *body_of(const lh_notify_t *r, const lh_note_t *n, json_t **alert) {
  char *text = text_of(r, n, 1629856600.0);
  json_t *body = json_loads(text, 0, NULL);
  free(text);
  *alert = json_array_get(
      r->format == LH_FORMAT_ALERTMANAGER ? body : json_object_get(body, "alerts"), 0);
  assert_non_null(*alert);
  return body;
}

static const char *member(json_t *alert, const char *object, const char *name) {
  return json_string_value(json_object_get(json_object_get(alert, object), name));
}

/* Today's access-log alerts, byte for byte, for an update, a firing without
 * a container or method, and a resolved one. */
static void access_log_is_todays(void **state) {
  size_t size;
  char *want = case_read_file(OFCTX_TEST_DATA "/logs", "alerts-today.jsonl", &size), *line;
  lh_notify_t r = env_rule();
  lh_note_t notes[3] = {note_a(LH_NOTE_UPDATE), note_a(LH_NOTE_FIRING), note_a(LH_NOTE_RESOLVED)};
  char *save = NULL;
  (void)state;

  assert_non_null(want);
  notes[1].key = key_b;
  notes[1].count = notes[1].new_count = 1;
  notes[1].first_seen = notes[1].last_seen = notes[1].now = 1629856477.5;
  notes[1].first_fields = notes[1].last_fields = fields_b;
  notes[1].samples = samples_b;
  notes[1].sample_count = 1;
  line = strtok_r(want, "\n", &save);
  for (size_t i = 0; i < 3; i++, line = strtok_r(NULL, "\n", &save)) {
    char *got = text_of(&r, &notes[i], 1629856600.0);
    assert_non_null(line);
    assert_string_equal(got, line);
    free(got);
  }
  free(want);
}

static const char *const shop_group_by[] = {"namespace", "pod", "labels.app"};
static const char *const shop_key[] = {"shop", "checkout-1", "checkout"};

/* A count rule of the rules file: group_by labels, the rule's own. */
static lh_notify_t shop_rule(const lh_field_t *labels, size_t label_count) {
  lh_notify_t r = {0};
  r.name = "http-5xx";
  r.severity = "critical";
  r.receiver = "logs-handler";
  r.format = LH_FORMAT_ALERTMANAGER;
  r.lease = 3900;
  r.resolve_after = 300;
  r.window = 60;
  r.group_by = shop_group_by;
  r.group_by_count = 2;
  r.labels = labels;
  r.label_count = label_count;
  r.kind = LH_COND_COUNT;
  return r;
}

static lh_note_t shop_note(lh_note_kind_t kind) {
  lh_note_t n = {0};
  n.kind = kind;
  n.key = shop_key;
  n.key_count = 2;
  n.count = 5;
  n.new_count = 5;
  n.first_seen = 1700000000.0;
  n.last_seen = 1700000030.0;
  n.now = 1700000030.0;
  return n;
}

/* The labels as one JSON text, in order. */
static char *labels_text(json_t *alert) {
  return json_dumps(json_object_get(alert, "labels"), JSON_COMPACT);
}

static void labels_and_override(void **state) {
  const lh_field_t labels[] = {{"team", "payments"}, {"severity", "page"}, {"pod", ""}};
  const lh_field_t renamed[] = {{"alertname", "Checkout5xx"}, {"team", "payments"}};
  lh_notify_t r = shop_rule(labels, 3);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body = body_of(&r, &n, &alert);
  char *text = labels_text(alert);
  (void)state;

  /* severity overridden in place, an empty value takes the label out */
  assert_string_equal(text, "{\"alertname\":\"http-5xx\",\"namespace\":\"shop\","
                            "\"severity\":\"page\",\"team\":\"payments\"}");
  free(text);
  json_decref(body);
  r = shop_rule(renamed, 2);
  body = body_of(&r, &n, &alert);
  text = labels_text(alert);
  assert_string_equal(text, "{\"alertname\":\"Checkout5xx\",\"namespace\":\"shop\","
                            "\"severity\":\"critical\",\"pod\":\"checkout-1\","
                            "\"team\":\"payments\"}");
  free(text);
  json_decref(body);
}

/* Each group_by name is a label with the key's value; a name that is no
 * Prometheus label name is spelled with '_'; an empty value is left out. */
static void group_by_labels(void **state) {
  const char *const key[] = {"shop", "", "checkout"};
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body;
  char *text;
  (void)state;

  r.group_by_count = 3;
  n.key = key;
  n.key_count = 3;
  body = body_of(&r, &n, &alert);
  text = labels_text(alert);
  assert_string_equal(text, "{\"alertname\":\"http-5xx\",\"namespace\":\"shop\","
                            "\"severity\":\"critical\",\"labels_app\":\"checkout\"}");
  free(text);
  json_decref(body);
  /* no namespace among them: no namespace label, and in the Notification
   * Manager format no rule_level either */
  r.group_by = shop_group_by + 1;
  r.group_by_count = 1;
  r.format = LH_FORMAT_NOTIFICATION_MANAGER;
  n.key = shop_key + 1;
  n.key_count = 1;
  body = body_of(&r, &n, &alert);
  text = labels_text(alert);
  assert_string_equal(text, "{\"alertname\":\"http-5xx\",\"severity\":\"critical\","
                            "\"pod\":\"checkout-1\"}");
  free(text);
  assert_string_equal(json_string_value(json_object_get(body, "groupKey")),
                      "{}:{alertname=\"http-5xx\"}");
  json_decref(body);
}

/* An access-log rule that does not group by status: its default message
 * names the status of the last match (a field of the hit), not a blank. */
static void status_not_grouped(void **state) {
  static const char *const group_by[] = {"namespace", "pod"};
  static const char *const key[] = {"demo-project", "wordpress-v1-f54f697c5-hdn2z"};
  static const lh_field_t last[] = {
      {"path", "/x"}, {"method", "GET"}, {"client", "10.0.0.7"}, {"status", "503"}};
  lh_notify_t r = env_rule();
  lh_note_t n = note_a(LH_NOTE_FIRING);
  json_t *alert, *body;
  (void)state;

  r.group_by = group_by;
  r.group_by_count = 2;
  n.key = key;
  n.key_count = 2;
  n.last_fields = last;
  n.last_count = 4;
  body = body_of(&r, &n, &alert);
  assert_non_null(strstr(member(alert, "annotations", "message"), "GET /x answered 503 by"));
  json_decref(body);
}

/* The default annotations of a rule that does not parse access logs. */
static void defaults_of_other_rules(void **state) {
  static const struct {
    lh_cond_kind_t kind;
    lh_note_kind_t note;
    const char *message;
  } rows[] = {
      {LH_COND_COUNT, LH_NOTE_FIRING,
       "http-5xx: 5 matching log lines from pod shop/checkout-1 within 1m"},
      {LH_COND_ANY, LH_NOTE_FIRING, "http-5xx: a matching log line from pod shop/checkout-1"},
      {LH_COND_COUNT, LH_NOTE_UPDATE,
       "http-5xx: 5 more matching log lines from pod shop/checkout-1, 5 since "
       "2023-11-14T22:13:20.000000Z"},
      {LH_COND_COUNT, LH_NOTE_RESOLVED,
       "http-5xx resolved: 5 matching log lines from pod shop/checkout-1 from "
       "2023-11-14T22:13:20.000000Z to 2023-11-14T22:13:50.000000Z"},
      {LH_COND_ABSENT, LH_NOTE_FIRING,
       "http-5xx: no log lines from pod shop/checkout-1 since 2023-11-14T22:13:50.000000Z"},
      {LH_COND_ABSENT, LH_NOTE_RESOLVED,
       "http-5xx resolved: log lines from pod shop/checkout-1 again since "
       "2023-11-14T22:13:50.000000Z"},
  };
  const char *const samples[] = {"panic: first", "panic: \"second\""};
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    lh_notify_t r = shop_rule(NULL, 0);
    lh_note_t n = shop_note(rows[i].note);
    json_t *alert, *body, *notes;
    r.kind = rows[i].kind;
    n.samples = samples;
    n.sample_count = 2;
    body = body_of(&r, &n, &alert);
    notes = json_object_get(alert, "annotations");
    assert_string_equal(member(alert, "annotations", "message"), rows[i].message);
    assert_string_equal(member(alert, "annotations", "count"), "5");
    assert_string_equal(member(alert, "annotations", "samples"), "panic: first\npanic: \"second\"");
    assert_string_equal(member(alert, "annotations", "first_seen"), "2023-11-14T22:13:20.000000Z");
    assert_int_equal(json_object_size(notes), rows[i].note == LH_NOTE_FIRING ? 5 : 6);
    assert_null(json_object_get(notes, "first_path"));
    json_decref(body);
  }
}

static const lh_field_t first_s[] = {{"path", "/a"}, {"status", "500"}, {"error.kind", NULL}};
static const lh_field_t last_s[] = {{"path", "/b"}, {"status", "503"}, {"error.kind", "timeout"}};

static char *render(const char *tmpl, lh_notify_t *r, lh_note_t *n) {
  const lh_field_t one[] = {{"t", tmpl}};
  json_t *alert, *body;
  char *out;

  r->annotations = one;
  r->annotation_count = 1;
  body = body_of(r, n, &alert);
  out = strdup(member(alert, "annotations", "t") ? member(alert, "annotations", "t") : "");
  json_decref(body);
  r->annotation_count = 0;
  return out;
}

/* Every placeholder, spaces inside braces, the escape, a missing field. */
static void every_placeholder(void **state) {
  static const struct {
    const char *tmpl, *want;
  } rows[] = {
      {"{{count}} {{ new_count }} {{\ttotal\t}} {{suppressed}}", "5 4 20 2"},
      {"{{window}} {{rule}} {{severity}}", "1m http-5xx critical"},
      {"{{first_seen}}..{{last_seen}}", "2023-11-14T22:13:20.000000Z..2023-11-14T22:13:50.000000Z"},
      {"{{namespace}}/{{pod}}", "shop/checkout-1"},
      {"{{first.path}} {{last.path}} {{first.status}}-{{last.status}}", "/a /b 500-503"},
      {"[{{first.error.kind}}] [{{last.error.kind}}] [{{last.nothing}}]", "[] [timeout] []"},
      {"{{samples}}", "/a\n/b"},
      {"{{{{count}} {{{{ and }} { } {x}", "{{count}} {{ and }} { } {x}"},
      {"no placeholder", "no placeholder"},
  };
  const char *const samples[] = {"/a", "/b"};
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_UPDATE);
  (void)state;

  n.new_count = 4;
  n.total = 20;
  n.suppressed = 2;
  n.first_fields = first_s;
  n.last_fields = last_s;
  n.first_count = n.last_count = 3;
  n.samples = samples;
  n.sample_count = 2;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char *got = render(rows[i].tmpl, &r, &n);
    if (strcmp(got, rows[i].want) != 0)
      fail_msg("%s: got \"%s\", want \"%s\"", rows[i].tmpl, got, rows[i].want);
    free(got);
  }
}

static void windows_as_written(void **state) {
  static const struct {
    double seconds;
    const char *want;
  } rows[] = {{90, "90s"},   {60, "1m"},     {300, "5m"}, {5400, "90m"}, {3600, "1h"},
              {86400, "1d"}, {172800, "2d"}, {0, "0s"},   {1.5, "1.5s"}, {-1, "-1s"}};
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char out[32];
    lh_duration_format(rows[i].seconds, out);
    assert_string_equal(out, rows[i].want);
  }
}

static int only_status(void *arg, const char *field, size_t len) {
  (void)arg;
  return len == 6 && memcmp(field, "status", 6) == 0;
}

/* Unknown names (with the nearest known one), unknown fields, unclosed and
 * bad placeholders: each named with its offset. */
static void template_errors(void **state) {
  static const struct {
    const char *tmpl, *err;
  } rows[] = {
      {"{{cont}}", "unknown name \"cont\" at offset 0 (did you mean \"count\"?)"},
      {"x {{ namspace }}", "unknown name \"namspace\" at offset 2 (did you mean \"namespace\"?)"},
      {"{{zzzzzzzz}}", "unknown name \"zzzzzzzz\" at offset 0 (known: "},
      {"{{last.path}}", "unknown field \"path\" in \"last.path\" at offset 0"},
      {"{{status}}", "unknown name \"status\" at offset 0 (did you mean \"last.status\"?"},
      {"ok {{count}} {{count", "unclosed \"{{\" at offset 13"},
      {"{{}}", "bad placeholder \"{{}}\" at offset 0"},
      {"{{a b}}", "bad placeholder \"{{a b}}\" at offset 0"},
      {"{{a{{b}}", "bad placeholder \"{{a{{b}}\" at offset 0"},
  };
  static const char *const key[] = {"namespace", "pod"};
  lh_template_names_t names = {key, 2, only_status, NULL};
  char err[512];
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    assert_int_equal(lh_template_check(rows[i].tmpl, &names, err, sizeof err), -1);
    if (strncmp(err, rows[i].err, strlen(rows[i].err)) != 0)
      fail_msg("%s: \"%s\"", rows[i].tmpl, err);
  }
  assert_int_equal(
      lh_template_check("{{ last.status }} {{pod}} {{{{x {{samples}}", &names, err, sizeof err), 0);
  assert_int_equal(lh_template_check("{{last.anything}}", NULL, err, sizeof err), 0);
}

static void collect(void *arg, const char *name, size_t len) {
  char *out = arg;
  size_t used = strlen(out);
  snprintf(out + used, 256 - used, "%s%.*s", used ? "," : "", (int)len, name);
}

/* The fields a template needs, for rule.c to keep. */
static void template_fields(void **state) {
  char got[256] = "";
  (void)state;
  assert_int_equal(lh_template_fields("{{count}} {{first.path}} {{ last.error.kind }} {{pod}} "
                                      "{{{{last.x}} {{samples}}",
                                      collect, got),
                   5);
  assert_string_equal(got, "path,error.kind,pod");
  got[0] = '\0';
  assert_int_equal(lh_template_fields("{{first.x}} {{count", collect, got), -1);
  assert_string_equal(got, "");
}

/* Notes held back by the rate limit are said on the next one sent; a
 * template of that name wins. */
static void suppressed_is_said(void **state) {
  const lh_field_t tmpl[] = {{"summary", "{{count}}"}, {"suppressed", "{{suppressed}} held"}};
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_UPDATE);
  json_t *alert, *body = body_of(&r, &n, &alert);
  (void)state;

  assert_null(member(alert, "annotations", "suppressed"));
  json_decref(body);
  n.suppressed = 12;
  body = body_of(&r, &n, &alert);
  assert_string_equal(member(alert, "annotations", "suppressed"), "12");
  json_decref(body);
  r.annotations = tmpl;
  r.annotation_count = 2;
  body = body_of(&r, &n, &alert);
  assert_string_equal(member(alert, "annotations", "suppressed"), "12 held");
  assert_int_equal(json_object_size(json_object_get(alert, "annotations")), 2);
  json_decref(body);
}

/* A ratio rule's alert carries its numbers, templates or not. */
static void ratio_numbers(void **state) {
  const lh_field_t tmpl[] = {{"summary", "{{count}}/{{total}} in {{window}}"}};
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body;
  (void)state;

  r.kind = LH_COND_RATIO;
  r.ratio = 0.05;
  r.window = 300;
  n.count = 3;
  n.total = 40;
  for (int with_template = 0; with_template < 2; with_template++) {
    r.annotations = with_template ? tmpl : NULL;
    r.annotation_count = with_template ? 1 : 0;
    body = body_of(&r, &n, &alert);
    assert_string_equal(member(alert, "annotations", "matched"), "3");
    assert_string_equal(member(alert, "annotations", "total"), "40");
    assert_string_equal(member(alert, "annotations", "ratio"), "0.075");
    assert_string_equal(member(alert, "annotations", "threshold"), "0.05");
    if (with_template)
      assert_string_equal(member(alert, "annotations", "summary"), "3/40 in 5m");
    else
      assert_string_equal(member(alert, "annotations", "message"),
                          "http-5xx: 3 of 40 log lines from pod shop/checkout-1 matched within "
                          "5m (7.5%, over 5%)");
    json_decref(body);
  }
}

/* Notification Manager's webhook object, and Alertmanager's array with
 * nothing but what its API takes; times by the lease and resolve_after. */
static void both_formats_and_times(void **state) {
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body = body_of(&r, &n, &alert);
  const char *keys[] = {
      "version", "groupKey",    "truncatedAlerts", "receiver",          "status",
      "alerts",  "groupLabels", "commonLabels",    "commonAnnotations", "externalURL"};
  char *text;
  (void)state;

  assert_true(json_is_array(body));
  assert_int_equal(json_object_size(alert), 4);
  assert_string_equal(json_string_value(json_object_get(alert, "startsAt")),
                      "2023-11-14T22:13:20.000000Z");
  /* the lease after the note's clock, or after the wall clock if later */
  assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                      "2023-11-14T23:18:50.000000Z");
  json_decref(body);
  text = text_of(&r, &n, 1700001000.0);
  assert_non_null(strstr(text, "\"endsAt\":\"2023-11-14T23:35:00.000000Z\""));
  free(text);
  r.format = LH_FORMAT_NOTIFICATION_MANAGER;
  body = body_of(&r, &n, &alert);
  assert_int_equal(json_object_size(body), sizeof keys / sizeof *keys);
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    assert_non_null(json_object_get(body, keys[i]));
  assert_string_equal(json_string_value(json_object_get(body, "groupKey")),
                      "{}:{alertname=\"http-5xx\", namespace=\"shop\"}");
  assert_string_equal(member(alert, "labels", "rule_level"), "namespace");
  assert_string_equal(json_string_value(json_object_get(alert, "status")), "firing");
  assert_true(json_equal(json_object_get(body, "commonLabels"), json_object_get(alert, "labels")));
  json_decref(body);
  /* resolved: when resolve_after ran out, or at the clock if sooner */
  n.kind = LH_NOTE_RESOLVED;
  n.now = 1700000500.0;
  body = body_of(&r, &n, &alert);
  assert_string_equal(json_string_value(json_object_get(body, "status")), "resolved");
  assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                      "2023-11-14T22:18:50.000000Z");
  json_decref(body);
  r.kind = LH_COND_ABSENT; /* an absent key resolves when it is seen again: now */
  body = body_of(&r, &n, &alert);
  assert_string_equal(json_string_value(json_object_get(alert, "endsAt")),
                      "2023-11-14T22:21:40.000000Z");
  json_decref(body);
}

/* The fingerprint is Alertmanager's over the final label set (computed
 * apart with prometheus/common's algorithm), the same for every note of a
 * key whatever its counts and annotations. */
static void fingerprints(void **state) {
  const lh_field_t labels[] = {{"team", "payments"}, {"severity", "page"}};
  lh_notify_t r = shop_rule(labels, 2);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body;
  (void)state;

  r.format = LH_FORMAT_NOTIFICATION_MANAGER;
  body = body_of(&r, &n, &alert);
  /* {alertname=http-5xx, namespace=shop, severity=page, pod=checkout-1,
   * team=payments, rule_level=namespace} */
  assert_string_equal(json_string_value(json_object_get(alert, "fingerprint")), "bf762ecfdf4f6320");
  json_decref(body);
  n.kind = LH_NOTE_RESOLVED;
  n.count = 99;
  n.suppressed = 3;
  body = body_of(&r, &n, &alert);
  assert_string_equal(json_string_value(json_object_get(alert, "fingerprint")), "bf762ecfdf4f6320");
  json_decref(body);
}

/* Whatever the record held, labels and annotations are valid UTF-8 JSON
 * strings, cut at their bound between characters. */
/* A record's RFC 3339 time is the second timegm gives, for every day of
 * years around the ends of centuries and eras, a leap second too. */
static void rfc3339_as_timegm(void **state) {
  static const int years[] = {0,    1,    1600, 1899, 1900, 1969, 1970,
                              1972, 2000, 2021, 2100, 2400, 9999};
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  (void)state;

  for (size_t i = 0; i < sizeof years / sizeof *years; i++)
    for (int mo = 1; mo <= 12; mo++)
      for (int d = 1; d <= days[mo - 1]; d++) {
        int y = years[i], leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = 23,
                        .tm_min = 59,
                        .tm_sec = d == 31 ? 60 : d % 60};
        char text[40];
        double t = -1;
        snprintf(text, sizeof text, "%04d-%02d-%02dT23:59:%02dZ", y, mo, d, tm.tm_sec);
        if (mo == 2 && d == 29 && !leap) {
          assert_int_equal(lh_parse_rfc3339(text, &t), -1);
          continue;
        }
        assert_int_equal(lh_parse_rfc3339(text, &t), 0);
        if (t != (double)timegm(&tm))
          fail_msg("%s: %.0f, timegm %lld", text, t, (long long)timegm(&tm));
      }
}

static void unclean_values(void **state) {
  static char long_value[3 * LH_ANNOTATION_BYTES];
  const char *const key[] = {"sh\"op\x01\xff", "\xe2\x82", "\xc3\xa9t\xc3\xa9\xed\xa0\x80"};
  const lh_field_t last[] = {{"path", long_value}};
  const lh_field_t tmpl[] = {{"long", "{{last.path}}"}, {"pod", "{{pod}}"}};
  lh_notify_t r = shop_rule(NULL, 0);
  lh_note_t n = shop_note(LH_NOTE_FIRING);
  json_t *alert, *body;
  const char *got;
  (void)state;

  for (size_t i = 0; i + 2 < sizeof long_value; i += 2)
    memcpy(long_value + i, "\xc3\xa9", 2); /* é: a cut at an odd byte would split one */
  r.group_by = shop_group_by;
  r.group_by_count = 3;
  n.key = key;
  n.key_count = 3;
  n.last_fields = last;
  n.first_count = n.last_count = 1;
  r.annotations = tmpl;
  r.annotation_count = 2;
  body = body_of(&r, &n, &alert);
  assert_string_equal(member(alert, "labels", "namespace"), "sh\"op\x01\xef\xbf\xbd");
  assert_string_equal(member(alert, "labels", "pod"), "\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(member(alert, "labels", "labels_app"),
                      "\xc3\xa9t\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(member(alert, "annotations", "pod"), "\xef\xbf\xbd\xef\xbf\xbd");
  got = member(alert, "annotations", "long");
  assert_true(strlen(got) < LH_ANNOTATION_BYTES && strlen(got) > LH_ANNOTATION_BYTES - 3);
  assert_int_equal(strlen(got) % 2, 0);
  json_decref(body);
  /* a label value past its bound */
  n.key = (const char *const[]){"shop", long_value};
  n.key_count = 2;
  r.group_by_count = 2;
  body = body_of(&r, &n, &alert);
  got = member(alert, "labels", "pod");
  assert_true(strlen(got) < LH_LABEL_BYTES && strlen(got) > LH_LABEL_BYTES - 3);
  json_decref(body);
}

/* Template output never passes its buffer, and is cut between characters. */
static void render_bounds(void **state) {
  char out[8];
  (void)state;
  assert_int_equal(lh_template_render("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL, NULL, out, 8), 6);
  assert_string_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9");
  assert_int_equal(lh_template_render("abcdefghij", NULL, NULL, out, 8), 7);
  assert_string_equal(out, "abcdefg");
  assert_int_equal(lh_template_render("x", NULL, NULL, out, 0), 0);
  assert_int_equal(lh_utf8_valid("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
  assert_int_equal(lh_utf8_valid("\xc0\xaf", 2), 0);         /* overlong */
  assert_int_equal(lh_utf8_valid("\xf0\x9f\x98\x80", 4), 1);
}

static unsigned next_random(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 16) & 0x7fff;
}

/* A random string of pieces that templates and records are made of. */
static void random_text(unsigned *seed, char *out, size_t size) {
  static const char *const pieces[] = {"{{",   "}}",      "{{{{",   "{",     "}",
                                       " ",    "count",   "first.", "last.", "path",
                                       "pod",  "samples", "window", "\xc3",  "\xa9",
                                       "\xff", "\x01",    "\"",     "\\",    "\xe2\x82\xac"};
  size_t used = 0, n = next_random(seed) % 12;

  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *p = pieces[next_random(seed) % (sizeof pieces / sizeof *pieces)];
    if (used + strlen(p) + 1 > size)
      break;
    memcpy(out + used, p, strlen(p) + 1);
    used += strlen(p);
  }
}

static void ignore(void *arg, const char *name, size_t len) {
  (void)arg;
  (void)name;
  (void)len;
}

/* Random keys, fields, samples and templates: JSON always, and the check
 * and the field list agree on what is a valid template. */
static void random_inputs(void **state) {
  unsigned seed = 24;
  char text[8][64];
  (void)state;

  for (int round = 0; round < 3000; round++) {
    const char *const key[] = {text[0], text[1], text[2]};
    const lh_field_t fields[] = {{"path", text[3]}, {"status", text[4]}};
    const lh_field_t tmpl[] = {{text[5], text[6]}, {"summary", text[7]}};
    const char *const samples[] = {text[3], text[4]};
    lh_notify_t r = shop_rule(NULL, 0);
    lh_note_t n = shop_note((lh_note_kind_t)(round % 3));
    char err[256], *out;
    for (size_t i = 0; i < 8; i++)
      random_text(&seed, text[i], sizeof text[i]);
    r.group_by_count = 3;
    r.format = (lh_format_t)(round % 2);
    r.kind = (lh_cond_kind_t)(round % 4);
    r.access_log = round % 5 == 0;
    r.annotations = tmpl;
    r.annotation_count = round % 3 ? 2 : 0;
    n.key = key;
    n.key_count = 3;
    n.first_fields = n.last_fields = fields;
    n.first_count = n.last_count = 2;
    n.samples = samples;
    n.sample_count = 2;
    n.suppressed = (uint64_t)round;
    out = text_of(&r, &n, 1700000000.0);
    free(out);
    /* a template the check takes is one whose fields can be listed */
    if (lh_template_check(text[6], NULL, err, sizeof err) == 0)
      assert_true(lh_template_fields(text[6], ignore, NULL) >= 0);
    else if (lh_template_fields(text[6], ignore, NULL) >= 0) /* then only a name is unknown */
      assert_non_null(strstr(err, "unknown name"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(access_log_is_todays),   cmocka_unit_test(labels_and_override),
      cmocka_unit_test(group_by_labels),        cmocka_unit_test(defaults_of_other_rules),
      cmocka_unit_test(every_placeholder),      cmocka_unit_test(windows_as_written),
      cmocka_unit_test(template_errors),        cmocka_unit_test(template_fields),
      cmocka_unit_test(suppressed_is_said),     cmocka_unit_test(ratio_numbers),
      cmocka_unit_test(both_formats_and_times), cmocka_unit_test(fingerprints),
      cmocka_unit_test(rfc3339_as_timegm),      cmocka_unit_test(unclean_values),
      cmocka_unit_test(render_bounds),          cmocka_unit_test(random_inputs),
      cmocka_unit_test(status_not_grouped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
