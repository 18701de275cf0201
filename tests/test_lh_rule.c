/* The logs-handler's compiled rules (rule.c, where.c, view.c, matcher.c)
 * on normalized documents written here by hand: every kind of compile error
 * with its path, the select matchers, the where operators on every kind of
 * field, the JSON line, regex groups, group_by keys, self-exclusion, ratio
 * totals, the prefilter never skipping a hit, and (rules_load.c) each
 * rule's start-up line and what a reload keeps. The env rule's alerts on
 * testdata/records.jsonl are the logs_handler test's (expected-alerts.jsonl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rule.h"
#include "rule_impl.h" /* the prefilter's rules that may */
#include "rules_load.h"
#include "view.h"

/* The env rule with today's defaults, as rules_doc.c makes it. */
static const char *const env_rule =
    "{\"name\": \"logs-404\", \"severity\": \"warning\", \"output\": \"notification-manager\","
    " \"format\": \"notification-manager\", \"repeat_interval\": 3600, \"resolve_after\": 300,"
    " \"lease\": 3900, \"select\": {\"namespace\": [\"demo-project\"],"
    " \"pod\": [\"=~wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}\"], \"container\": [],"
    " \"labels\": {}, \"self\": false},"
    " \"match\": {\"parse\": \"access_log\", \"where\": [\"status in [404]\"], \"regex\": null},"
    " \"group_by\": [\"namespace\", \"pod\", \"container\", \"status\"],"
    " \"condition\": {\"kind\": \"any\"}, \"labels\": {\"alertname\": \"404 Request\"},"
    " \"annotations\": {}, \"samples\": 3}";

static json_t *parse_json(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j)
    fail_msg("bad JSON in the test: %s: %s", e.text, text);
  return j;
}

/* The env rule with `overrides` (a JSON object, objects merged, the rest
 * replaced). */
static json_t *rule_with(const char *overrides) {
  json_t *rule = parse_json(env_rule), *o = parse_json(overrides);
  assert_int_equal(json_object_update_recursive(rule, o), 0);
  json_decref(o);
  return rule;
}

/* A document of the rules given as overrides of the env rule; NULL ends. */
static json_t *doc_of(const char *first, ...) {
  json_t *doc = parse_json("{\"settings\": {\"max_keys\": 10000, \"notify_rate\": 1.0,"
                           " \"notify_burst\": 3.0, \"receiver\": \"logs-handler\"},"
                           " \"rules\": []}");
  va_list ap;

  va_start(ap, first);
  for (const char *r = first; r; r = va_arg(ap, const char *))
    json_array_append_new(json_object_get(doc, "rules"), rule_with(r));
  va_end(ap);
  return doc;
}

static lh_ruleset_t *compile_doc(json_t *doc, const char *self_ns, const char *self_pod) {
  lh_ruleset_t *rs = NULL;
  char err[512] = "";

  if (lh_ruleset_compile(&rs, doc, self_ns, self_pod, err, sizeof err) != 0)
    fail_msg("does not compile: %s", err);
  json_decref(doc);
  return rs;
}

static lh_ruleset_t *compile1(const char *overrides) {
  return compile_doc(doc_of(overrides, NULL), NULL, NULL);
}

/* What the hits of one record were: "rule:matched:key|key:sample:f=v,f=v@time" each on a line. */
typedef struct {
  char text[65536];
  size_t count;
} hits_t;

static void collect(const lh_hit_t *h, void *arg) {
  hits_t *hs = arg;
  size_t n = strlen(hs->text);
  char *p = hs->text + n;
  size_t room = sizeof hs->text - n;
  int w = snprintf(p, room, "%zu:%d:", h->rule, h->matched);

  for (size_t i = 0; i < h->key_count; i++)
    w += snprintf(p + w, room - (size_t)w, "%s%s", i ? "|" : "", h->key[i]);
  w += snprintf(p + w, room - (size_t)w, ":%s:", h->sample);
  for (size_t i = 0; i < h->field_count; i++)
    w += snprintf(p + w, room - (size_t)w, "%s%s=%s", i ? "," : "", h->fields[i].name,
                  h->fields[i].value);
  snprintf(p + w, room - (size_t)w, "@%.6f\n", h->time);
  hs->count++;
}

/* A Kubernetes record with the given line (a C string, escaped here). */
static char *record(const char *ns, const char *pod, const char *container, const char *labels,
                    const char *line) {
  json_t *k8s =
      json_pack("{s:s, s:s, s:s}", "namespace_name", ns, "pod_name", pod, "host", "node-1");
  json_t *r =
      json_pack("{s:f, s:s, s:o}", "@timestamp", 1629856477.5, "log", line, "kubernetes", k8s);
  char *text;

  if (container)
    json_object_set_new(k8s, "container_name", json_string(container));
  if (labels)
    json_object_set_new(k8s, "labels", parse_json(labels));
  text = json_dumps(r, JSON_COMPACT);
  json_decref(r);
  return text;
}

/* Every hit of `rs` on the record text. */
static void eval_text(const lh_ruleset_t *rs, const char *text, hits_t *hs) {
  lh_view_t *v = NULL;
  const char *why;

  memset(hs, 0, sizeof *hs);
  assert_int_equal(lh_view_parse(&v, text, strlen(text), 1700000000.0, &why), LH_IGNORE);
  assert_int_equal(lh_ruleset_eval(rs, v, collect, hs), 0);
  /* a rule that gives a hit is never skipped by the prefilter */
  if (hs->count)
    assert_true(lh_ruleset_may_match(rs, text, strlen(text)));
  lh_view_free(v);
}

static size_t hit_count(const lh_ruleset_t *rs, const char *ns, const char *pod,
                        const char *container, const char *labels, const char *line) {
  char *text = record(ns, pod, container, labels, line);
  hits_t hs;

  eval_text(rs, text, &hs);
  free(text);
  return hs.count;
}

#define LINE404                                                                                    \
  "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \"GET /notfound HTTP/1.1\" 404 49923 \"-\" "           \
  "\"curl/7.58.0\"\n"
#define POD "wordpress-v1-f54f697c5-hdn2z"

/* One compile error: the document's rules (overrides of the env rule; a
 * second rule when `second` is set) and the exact message. */
typedef struct {
  const char *first, *second, *message;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"{\"select\": {\"pod\": [\"=~(\"]}}", NULL,
     "rules[0].select.pod[0]: \"=~(\": PCRE2 error at offset 1: missing closing parenthesis"},
    {"{\"select\": {\"namespace\": [\"a\", \"!=b\"]}}", NULL,
     "rules[0].select.namespace[1]: \"!=b\": a negative matcher (!= or !~) must be alone in its "
     "list"},
    {"{\"select\": {\"container\": [3]}}", NULL, "rules[0].select.container[0]: not a string"},
    {"{\"select\": {\"pod\": \"x\"}}", NULL,
     "rules[0].select.pod: not a list of matchers (\"VALUE\", \"=~RE\", \"!=VALUE\", \"!~RE\", "
     "\"*\")"},
    {"{\"select\": {\"labels\": {\"app\": [\"!~[\"]}}}", NULL,
     "rules[0].select.labels.app[0]: \"!~[\": PCRE2 error at offset 1: missing terminating ] for "
     "character class"},
    {"{\"select\": {\"self\": \"yes\"}}", NULL, "rules[0].select.self: not true or false"},
    {"{\"match\": {\"where\": [\"status >= 500\", \"stauts >= 500\"]}}", NULL,
     "rules[0].match.where[1]: unknown field \"stauts\" (did you mean \"status\"?)"},
    {"{\"match\": {\"where\": [\"status >= abc\"]}}", NULL,
     "rules[0].match.where[0]: \"status >= abc\": \"abc\" is not a number"},
    {"{\"match\": {\"where\": [\"status 500\"]}}", NULL,
     "rules[0].match.where[0]: \"status 500\": no operator (==, !=, <, <=, >, >=, =~, !~, in [a, "
     "b])"},
    {"{\"match\": {\"where\": [\"status = 500\"]}}", NULL,
     "rules[0].match.where[0]: \"status = 500\": \"=\" is not an operator (did you mean \"==\"?)"},
    {"{\"match\": {\"where\": [\"status == 4xy\"]}}", NULL,
     "rules[0].match.where[0]: \"status == 4xy\": \"4xy\" is not a status (404) or a class (5xx)"},
    {"{\"match\": {\"where\": [\"status in 404\"]}}", NULL,
     "rules[0].match.where[0]: \"status in 404\": in takes a list: in [a, b, ...]"},
    {"{\"match\": {\"where\": [\"method in [GET, ]\"]}}", NULL,
     "rules[0].match.where[0]: \"method in [GET, ]\": has an empty item in its list"},
    {"{\"match\": {\"where\": [\"path ==  \"]}}", NULL,
     "rules[0].match.where[0]: \"path ==  \": no value after the operator"},
    {"{\"match\": {\"where\": [\"path == 'x\"]}}", NULL,
     "rules[0].match.where[0]: \"path == 'x\": an unclosed quote"},
    {"{\"match\": {\"where\": [\"path == 'x' y\"]}}", NULL,
     "rules[0].match.where[0]: \"path == 'x' y\": text after the closing quote"},
    {"{\"match\": {\"where\": [\"status in\"]}}", NULL,
     "rules[0].match.where[0]: \"status in\": in takes a list: in [a, b, ...]"},
    {"{\"match\": {\"where\": [\">= 5\"]}}", NULL,
     "rules[0].match.where[0]: \">= 5\": no field before the operator"},
    {"{\"match\": {\"where\": [\"path =~ a(b\"]}}", NULL,
     "rules[0].match.where[0]: \"path =~ a(b\": PCRE2 error at offset 3: missing closing "
     "parenthesis"},
    {"{\"match\": {\"where\": [\"level == error\"]}}", NULL,
     "rules[0].match.where[0]: unknown field \"level\" (JSON fields need parse: json)"},
    {"{\"match\": {\"parse\": \"none\", \"where\": [\"status >= 500\"]}}", NULL,
     "rules[0].match.where[0]: field \"status\" needs parse: access_log"},
    {"{\"match\": {\"where\": [7]}}", NULL, "rules[0].match.where[0]: not a string"},
    {"{\"match\": {\"parse\": \"xml\"}}", NULL,
     "rules[0].match.parse: not access_log, json or none"},
    {"{\"match\": {\"regex\": \"(?<kind>x\"}}", NULL,
     "rules[0].match.regex: \"(?<kind>x\": PCRE2 error at offset 9: missing closing parenthesis"},
    {"{\"group_by\": [\"namespace\", \"pdo\"]}", NULL,
     "rules[0].group_by[1]: unknown field \"pdo\" (did you mean \"pod\"?)"},
    {"{\"group_by\": [\"line\"]}", NULL,
     "rules[0].group_by[0]: \"line\" is not a bounded label: group by fields with few values"},
    {"{\"match\": {\"parse\": \"none\", \"where\": []}, \"group_by\": [\"status\"]}", NULL,
     "rules[0].group_by[0]: unknown field \"status\" (access-log fields need parse: access_log, "
     "JSON ones parse: json)"},
    {"{\"condition\": {\"kind\": \"sometimes\"}}", NULL,
     "rules[0].condition.kind: not any, count, ratio or absent"},
    {"{\"condition\": {\"kind\": \"count\", \"count\": 5}}", NULL,
     "rules[0].condition.window: missing (a number from 1 to 604800)"},
    {"{\"condition\": {\"kind\": \"ratio\", \"ratio\": 1.5, \"min_total\": 20, \"window\": 300}}",
     NULL, "rules[0].condition.ratio: out of range (a number from 0 to 1)"},
    {"{\"condition\": {\"kind\": \"absent\", \"absent\": 600, \"forget_after\": 60}}", NULL,
     "rules[0].condition.forget_after: must be longer than absent"},
    {"{\"condition\": {\"kind\": \"ratio\", \"ratio\": 0.5, \"min_total\": 20, \"window\": 300,"
     " \"of\": {\"where\": [\"methd == GET\"]}}}",
     NULL, "rules[0].condition.of.where[0]: unknown field \"methd\" (did you mean \"method\"?)"},
    {"{\"lease\": 3600}", NULL,
     "rules[0].lease: must be longer than repeat_interval, or Alertmanager resolves an alert that "
     "still fires"},
    {"{\"format\": \"slack\"}", NULL, "rules[0].format: not notification-manager or alertmanager"},
    {"{\"samples\": 11}", NULL, "rules[0].samples: out of range (a number from 0 to 10)"},
    {"{\"severity\": 3}", NULL, "rules[0].severity: not a string"},
    {"{\"samples\": 2.5}", NULL, "rules[0].samples: not a whole number (0 to 10)"},
    {"{\"repeat_interval\": \"1h\"}", NULL,
     "rules[0].repeat_interval: not a number (a number from 1 to 604800)"},
    {"{\"condition\": {\"kind\": \"count\", \"count\": 0, \"window\": 60}}", NULL,
     "rules[0].condition.count: out of range (a number from 1 to 1000000000)"},
    {"{\"labels\": {\"team\": 3}}", NULL, "rules[0].labels.team: not a string"},
    {"{\"annotations\": {\"summary\": \"last {{last.pth}}\"}}", NULL,
     "rules[0].annotations.summary: unknown field \"pth\" in {{last.pth}} (did you mean "
     "\"path\"?)"},
    {"{}", "{\"name\": \"logs-404\"}",
     "rules[1].name: the same as another rule's: names must be unique"},
    {"{}", "{\"name\": \"b\", \"match\": {\"where\": [\"status >= 5OO\"]}}",
     "rules[1].match.where[0]: \"status >= 5OO\": \"5OO\" is not a number"},
};

static void compile_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    const bad_case_t *c = &bad_cases[i];
    json_t *doc = doc_of(c->first, c->second, NULL);
    lh_ruleset_t *rs = NULL;
    char err[512] = "";
    int rc = lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err);
    if (rc == 0 || strcmp(err, c->message) != 0)
      fail_msg("case %zu: rc %d, got\n  %s\nwant\n  %s", i, rc, err, c->message);
    assert_null(rs);
    json_decref(doc);
  }
}

/* Odd condition texts, in every parse: each compiles, or fails with a
 * message naming its path; none crashes or leaks (the sanitizer build). */
static void where_odd_texts(void **state) {
  static const char *const texts[] = {"",
                                      " ",
                                      "in",
                                      "status in",
                                      "status in [",
                                      "status in []",
                                      "status in [,]",
                                      "x == \"",
                                      "'",
                                      "status ==",
                                      "== ==",
                                      "status >=",
                                      "a.b. == 1",
                                      ".a == 1",
                                      "a..b == 1",
                                      "status in [5xx, 'a, b', \"c\"]",
                                      "line =~ ''",
                                      "line in ['']",
                                      "status !~ (",
                                      "labels. == x",
                                      "level == \"a\" b",
                                      "method in [GET] x",
                                      "status >= 1e999",
                                      "status == 600",
                                      "status == 99",
                                      "status < -1"};
  static const char *const parses[] = {"none", "access_log", "json"};

  (void)state;
  for (size_t p = 0; p < 3; p++)
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
      json_t *doc = doc_of("{\"group_by\": [\"namespace\"]}", NULL);
      json_t *match = json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "match");
      lh_ruleset_t *rs = NULL;
      char err[512] = "";
      json_object_set_new(match, "parse", json_string(parses[p]));
      json_object_set_new(match, "where", json_pack("[s]", texts[i]));
      if (lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err) != 0)
        assert_true(strncmp(err, "rules[0].match.where[0]: ", 25) == 0);
      lh_ruleset_free(rs);
      json_decref(doc);
    }
}

/* Errors outside the rules, and a document that is not one. */
static void document_errors(void **state) {
  lh_ruleset_t *rs = NULL;
  char err[256];
  json_t *doc = doc_of("{}", NULL);

  (void)state;
  assert_int_equal(lh_ruleset_compile(&rs, NULL, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "no rules document");
  json_object_set_new(json_object_get(doc, "settings"), "max_keys", json_integer(0));
  assert_int_equal(lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "settings.max_keys: out of range (a number from 1 to 1000000)");
  json_object_del(doc, "settings");
  assert_int_equal(lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "settings: missing");
  json_decref(doc);
  doc = doc_of(NULL);
  assert_int_equal(lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "rules: no rule: a rule set needs at least one");
  json_array_append_new(json_object_get(doc, "rules"), json_string("x"));
  assert_int_equal(lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "rules[0]: not an object");
  json_decref(doc);
  doc = json_array();
  assert_int_equal(lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, "the rules document is not an object");
  json_decref(doc);
  assert_null(rs);
}

/* A parse-none rule with this select and no condition on the line. */
static lh_ruleset_t *select_rule(const char *select) {
  json_t *doc = doc_of("{\"select\": {\"namespace\": [], \"pod\": []}, \"match\":"
                       " {\"parse\": \"none\", \"where\": []}, \"group_by\": [\"namespace\"]}",
                       NULL);
  json_t *sel = json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "select");
  json_t *o = parse_json(select);

  assert_int_equal(json_object_update(sel, o), 0);
  json_decref(o);
  return compile_doc(doc, NULL, NULL);
}

static void select_matchers(void **state) {
  lh_ruleset_t *rs;

  (void)state;
  rs = select_rule("{\"namespace\": [\"shop\"]}"); /* equal */
  assert_int_equal(hit_count(rs, "shop", "p", "c", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "shopx", "p", "c", NULL, "x"), 0);
  assert_int_equal(hit_count(rs, "sho", "p", "c", NULL, "x"), 0);
  lh_ruleset_free(rs);
  rs = select_rule("{\"namespace\": [\"shop\", \"web\"]}"); /* a list: any */
  assert_int_equal(hit_count(rs, "web", "p", "c", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "shop", "p", "c", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "db", "p", "c", NULL, "x"), 0);
  lh_ruleset_free(rs);
  rs = select_rule("{\"pod\": [\"=~checkout-.*\"]}"); /* =~: the whole value */
  assert_int_equal(hit_count(rs, "n", "checkout-1", "c", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "n", "my-checkout-1", "c", NULL, "x"), 0);
  assert_int_equal(hit_count(rs, "n", "checkout", "c", NULL, "x"), 0);
  lh_ruleset_free(rs);
  rs = select_rule("{\"pod\": [\"=~a|b\"]}"); /* alternatives anchored too */
  assert_int_equal(hit_count(rs, "n", "b", "c", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "n", "ab", "c", NULL, "x"), 0);
  lh_ruleset_free(rs);
}

static void select_negatives_and_labels(void **state) {
  lh_ruleset_t *rs;

  (void)state;
  rs = select_rule("{\"container\": [\"!=istio-proxy\"]}"); /* != and a missing container */
  assert_int_equal(hit_count(rs, "n", "p", "istio-proxy", NULL, "x"), 0);
  assert_int_equal(hit_count(rs, "n", "p", "app", NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "n", "p", NULL, NULL, "x"), 1);
  lh_ruleset_free(rs);
  rs = select_rule("{\"container\": [\"app\"]}");
  assert_int_equal(hit_count(rs, "n", "p", NULL, NULL, "x"), 0);
  lh_ruleset_free(rs);
  rs = select_rule("{\"container\": [\"\"]}"); /* a missing value is the empty string */
  assert_int_equal(hit_count(rs, "n", "p", NULL, NULL, "x"), 1);
  assert_int_equal(hit_count(rs, "n", "p", "app", NULL, "x"), 0);
  lh_ruleset_free(rs);
  rs = select_rule("{\"pod\": [\"!~.*-canary-.*\"]}"); /* !~ */
  assert_int_equal(hit_count(rs, "n", "web-canary-1", "c", NULL, "x"), 0);
  assert_int_equal(hit_count(rs, "n", "web-1", "c", NULL, "x"), 1);
  lh_ruleset_free(rs);
  rs = select_rule("{\"pod\": [\"!~(a|aa)+\"]}"); /* past the match limit: false */
  assert_int_equal(hit_count(rs, "n",
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "c",
                             NULL, "x"),
                   0);
  assert_int_equal(hit_count(rs, "n", "b", "c", NULL, "x"), 1);
  lh_ruleset_free(rs);
  rs = select_rule("{\"namespace\": [\"*\"], \"pod\": [\"*\"]}"); /* any */
  assert_int_equal(hit_count(rs, "anything", "at-all", NULL, NULL, "x"), 1);
  lh_ruleset_free(rs);
  rs = select_rule("{\"labels\": {\"app\": [\"checkout\"], \"tier\": [\"!=test\"]}}");
  assert_int_equal(hit_count(rs, "n", "p", "c", "{\"app\": \"checkout\"}", "x"), 1);
  assert_int_equal(hit_count(rs, "n", "p", "c", "{\"app\": \"checkout\", \"tier\": \"test\"}", "x"),
                   0);
  assert_int_equal(hit_count(rs, "n", "p", "c", "{\"app\": \"cart\"}", "x"), 0);
  assert_int_equal(hit_count(rs, "n", "p", "c", NULL, "x"), 0);
  lh_ruleset_free(rs);
}

/* One where case: the condition, the parse, the log line, the verdict. */
typedef struct {
  const char *cond, *parse, *line;
  int hit;
} where_case_t;

#define ACCESS(method, path, status, bytes)                                                        \
  "10.0.0.7 - - [25/Aug/2021:01:54:36 +0000] \"" method " " path " HTTP/1.1\" " status " " bytes   \
  " \"-\" \"curl/7.58.0\""

static const where_case_t where_cases[] = {
    {"status == 5xx", "access_log", ACCESS("GET", "/", "503", "10"), 1},
    {"status == 5xx", "access_log", ACCESS("GET", "/", "404", "10"), 0},
    {"status == 404", "access_log", ACCESS("GET", "/", "404", "10"), 1},
    {"status != 4xx", "access_log", ACCESS("GET", "/", "404", "10"), 0},
    {"status != 4xx", "access_log", ACCESS("GET", "/", "200", "10"), 1},
    {"status != 404", "access_log", "not an access log", 1}, /* missing: != holds */
    {"status in [404, 5xx]", "access_log", ACCESS("GET", "/", "599", "10"), 1},
    {"status in [404, 5xx]", "access_log", ACCESS("GET", "/", "405", "10"), 0},
    {"status in ['404', \"410\"]", "access_log", ACCESS("GET", "/", "410", "10"), 1},
    {"status >= 500", "access_log", ACCESS("GET", "/", "500", "10"), 1},
    {"status >= 500", "access_log", ACCESS("GET", "/", "499", "10"), 0},
    {"status >= 500", "access_log", "not an access log", 0}, /* missing: false */
    {"status < 400", "access_log", ACCESS("GET", "/", "399", "10"), 1},
    {"status > 400", "access_log", ACCESS("GET", "/", "400", "10"), 0},
    {"status <= 400", "access_log", ACCESS("GET", "/", "400", "10"), 1},
    {"status =~ ^5", "access_log", ACCESS("GET", "/", "502", "10"), 1},
    {"bytes > 1000", "access_log", ACCESS("GET", "/", "200", "1001"), 1},
    {"bytes > 1000", "access_log", ACCESS("GET", "/", "200", "-"), 0},
    {"bytes == 1e3", "access_log", ACCESS("GET", "/", "200", "1000"), 1}, /* numbers compare */
    {"method == GET", "access_log", ACCESS("GET", "/", "200", "1"), 1},
    {"method != GET", "access_log", ACCESS("POST", "/", "200", "1"), 1},
    {"method in [PUT, POST]", "access_log", ACCESS("GET", "/", "200", "1"), 0},
    {"path =~ ^/api/", "access_log", ACCESS("GET", "/api/v1?x=1", "200", "1"), 1},
    {"path == /api/v1", "access_log", ACCESS("GET", "/api/v1?x=1", "200", "1"), 1},
    {"path !~ ^/healthz", "access_log", ACCESS("GET", "/healthz", "200", "1"), 0},
    {"path !~ ^/healthz", "access_log", "not an access log", 1}, /* missing: !~ holds */
    {"path == /x", "access_log", "not an access log", 0},
    {"client == '10.0.0.7'", "access_log", ACCESS("GET", "/", "200", "1"), 1},
    {"protocol == HTTP/1.1", "access_log", ACCESS("GET", "/", "200", "1"), 1},
    {"line =~ OOMKilled", "none", "container OOMKilled again", 1}, /* unanchored search */
    {"line !~ OOMKilled", "none", "all well", 1},
    {"line == 'a b'", "none", "a b", 1},
    {"namespace == n", "none", "x", 1},
    {"host == node-1", "none", "x", 1},
    {"container == c", "none", "x", 1},
    {"labels.app == web", "none", "x", 1},
    {"labels.team == a", "none", "x", 0}, /* a missing label */
    {"labels.team != a", "none", "x", 1},
    {"level == error", "json", "{\"level\": \"error\"}", 1},
    {"level == error", "json", "{\"level\": \"info\"}", 0},
    {"level == error", "json", "level=error", 0}, /* not JSON: missing */
    {"level != error", "json", "level=error", 1},
    {"error.kind == oom", "json", "{\"error\": {\"kind\": \"oom\"}}", 1},
    {"error.kind == oom", "json", "{\"error\": \"oom\"}", 0},
    {"log.level == error", "json", "{\"log.level\": \"error\"}", 1}, /* ECS: dotted keys */
    {"log.level == error", "json", "{\"log\": {\"level\": \"error\"}}", 1},
    {"a.b.c == 1", "json", "{\"a\": {\"b.c\": 1}}", 1},
    {"a.b.c == 1", "json", "{\"a.b\": {\"c\": 1}}", 1},
    {"a.b.c == 1", "json", "{\"a\": {\"b\": 2}}", 0},
    {"code >= 500", "json", "{\"code\": 503}", 1},
    {"code >= 500", "json", "{\"code\": \"503\"}", 1},
    {"code >= 500", "json", "{\"code\": \"high\"}", 0},
    {"took > 0.5", "json", "{\"took\": 0.75}", 1},
    {"ok == true", "json", "{\"ok\": true}", 1},
    {"ok == false", "json", "{\"ok\": null}", 0},
    {"tags == a", "json", "{\"tags\": [\"a\"]}", 0}, /* arrays are missing */
    {"level in [error, fatal]", "json", "{\"level\": \"fatal\"}", 1},
    {"msg =~ (?i)timeout", "json", "{\"msg\": \"read TIMEOUT\"}", 1},
    /* a regex that backtracks without end stops at its limit: false, =~ or !~ */
    {"line =~ ^(a+)+$", "none", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 0},
    {"line !~ ^(a+)+$", "none", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 0},
    {"line !~ ^(a+)+$", "none", "b", 1},
};

static void where_operators(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof where_cases / sizeof *where_cases; i++) {
    const where_case_t *c = &where_cases[i];
    json_t *doc = doc_of("{\"select\": {\"namespace\": [], \"pod\": []}, \"group_by\": "
                         "[\"namespace\"]}",
                         NULL);
    json_t *match = json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "match");
    lh_ruleset_t *rs;
    size_t n;
    json_object_set_new(match, "parse", json_string(c->parse));
    json_object_set_new(match, "where", json_pack("[s]", c->cond));
    rs = compile_doc(doc, NULL, NULL);
    n = hit_count(rs, "n", "p", "c", "{\"app\": \"web\"}", c->line);
    if (n != (size_t)c->hit)
      fail_msg("case %zu: \"%s\" on %s: %zu hits, want %d", i, c->cond, c->line, n, c->hit);
    lh_ruleset_free(rs);
  }
}

/* The hits of `rs` on one record, as collect() writes them. */
static void hits_on(const lh_ruleset_t *rs, const char *ns, const char *pod, const char *container,
                    const char *labels, const char *line, const char *want) {
  char *text = record(ns, pod, container, labels, line);
  hits_t hs;

  eval_text(rs, text, &hs);
  free(text);
  assert_string_equal(hs.text, want);
}

static void json_paths(void **state) {
  lh_ruleset_t *rs =
      compile1("{\"select\": {\"namespace\": [\"*\"], \"pod\": []},"
               " \"match\": {\"parse\": \"json\", \"where\": [\"level == error\"]},"
               " \"group_by\": [\"namespace\", \"container\", \"error.kind\"],"
               " \"annotations\": {\"summary\": \"{{count}} in {{container}}: {{last.error.msg}} "
               "{{ first.code }} {{labels.app}} {{took}}\"}}");
  size_t n;
  const char *const *fields = lh_ruleset_fields(rs, 0, &n);

  (void)state;
  assert_int_equal(n, 4);
  assert_string_equal(fields[0], "error.msg");
  assert_string_equal(fields[1], "code");
  assert_string_equal(fields[2], "labels.app");
  assert_string_equal(fields[3], "took");
  hits_on(rs, "n", "p", "c", "{\"app\": \"web\"}",
          "{\"level\": \"error\", \"error\": {\"kind\": \"db\", \"msg\": \"gone\"}, \"code\": 7,"
          " \"took\": 0.1}",
          "0:1:n|c|db:{\"level\": \"error\", \"error\": {\"kind\": \"db\", \"msg\": \"gone\"}, "
          "\"code\": 7, \"took\": 0.1}:error.msg=gone,code=7,labels.app=web,took=0.1"
          "@1629856477.500000\n");
  /* a missing path is the empty string in keys and fields */
  hits_on(rs, "n", "p", NULL, NULL, "{\"level\": \"error\"}",
          "0:1:n||:{\"level\": \"error\"}:error.msg=,code=,labels.app=,took=@1629856477.500000\n");
  hits_on(rs, "n", "p", NULL, NULL, "{\"level\": \"warn\"}", "");
  lh_ruleset_free(rs);
}

static void regex_groups(void **state) {
  lh_ruleset_t *rs = compile1("{\"select\": {\"namespace\": [\"*\"], \"pod\": []},"
                              " \"match\": {\"parse\": \"none\", \"where\": [\"kind != exit\"],"
                              " \"regex\": \"(?<kind>OOMKilled|panic|exit)(: (?<what>.*))?\"},"
                              " \"group_by\": [\"pod\", \"kind\"],"
                              " \"annotations\": {\"summary\": \"{{last.what}}\"}}");

  (void)state;
  hits_on(rs, "n", "api-1", NULL, NULL, "goroutine 1: panic: nil map",
          "0:1:api-1|panic:goroutine 1: panic: nil map:what=nil map@1629856477.500000\n");
  hits_on(rs, "n", "api-1", NULL, NULL, "reason OOMKilled\r\n", /* the sample without \r\n */
          "0:1:api-1|OOMKilled:reason OOMKilled:what=@1629856477.500000\n");
  hits_on(rs, "n", "api-1", NULL, NULL, "exit: 1", "");     /* where on a group */
  hits_on(rs, "n", "api-1", NULL, NULL, "all is well", ""); /* no match, no hit */
  lh_ruleset_free(rs);
}

static void group_by_keys(void **state) {
  lh_ruleset_t *rs = compile1("{\"select\": {\"namespace\": [\"*\"], \"pod\": []},"
                              " \"group_by\": [\"namespace\", \"pod\", \"container\", \"status\","
                              " \"labels.team\", \"host\", \"method\"]}");
  size_t n;

  (void)state;
  hits_on(rs, "shop", "web-1", NULL, "{\"team\": \"pay\"}", LINE404,
          "0:1:shop|web-1||404|pay|node-1|GET:/notfound:path=/notfound,method=GET,client=1.2.3.4"
          ",status=404@1629856477.500000\n");
  assert_int_equal(lh_ruleset_notify(rs, 0)->group_by_count, 7);
  assert_string_equal(lh_ruleset_notify(rs, 0)->group_by[4], "labels.team");
  assert_non_null(lh_ruleset_fields(rs, 0, &n));
  assert_int_equal(n, 4);
  lh_ruleset_free(rs);
  /* an access-log rule on a line that is not one: the line is the sample */
  rs = compile1("{\"select\": {\"namespace\": [\"*\"], \"pod\": []}, \"group_by\": [\"pod\","
                " \"status\"], \"match\": {\"where\": [\"path !~ ^/healthz\"]}}");
  hits_on(rs, "shop", "web-1", NULL, NULL, "starting",
          "0:1:web-1|:starting:path=,method=,client=,status=@1629856477.500000\n");
  lh_ruleset_free(rs);
}

static void self_exclusion(void **state) {
  json_t *doc = doc_of("{\"name\": \"others\", \"select\": {\"namespace\": [\"*\"], \"pod\": []},"
                       " \"match\": {\"parse\": \"none\", \"where\": []}, \"group_by\": [\"pod\"]}",
                       "{\"name\": \"mine\", \"select\": {\"namespace\": [\"*\"], \"pod\": [],"
                       " \"self\": true}, \"match\": {\"parse\": \"none\", \"where\": []},"
                       " \"group_by\": [\"pod\"]}",
                       NULL);
  lh_ruleset_t *rs = compile_doc(doc, "ops", "alerter-1");

  (void)state;
  hits_on(rs, "ops", "alerter-1", NULL, NULL, "x", "1:1:alerter-1:x:@1629856477.500000\n");
  hits_on(rs, "dev", "alerter-1", NULL, NULL, "x",
          "0:1:alerter-1:x:@1629856477.500000\n1:1:alerter-1:x:@1629856477.500000\n");
  hits_on(rs, "ops", "alerter-2", NULL, NULL, "x",
          "0:1:alerter-2:x:@1629856477.500000\n1:1:alerter-2:x:@1629856477.500000\n");
  lh_ruleset_free(rs);
  /* without POD_NAMESPACE, the pod's name alone */
  rs = compile_doc(doc_of("{\"select\": {\"namespace\": [\"*\"], \"pod\": []}, \"match\":"
                          " {\"parse\": \"none\", \"where\": []}, \"group_by\": [\"pod\"]}",
                          NULL),
                   "", "alerter-1");
  hits_on(rs, "dev", "alerter-1", NULL, NULL, "x", "");
  lh_ruleset_free(rs);
}

static void ratio_totals(void **state) {
  lh_ruleset_t *rs = compile1(
      "{\"select\": {\"namespace\": [\"*\"], \"pod\": []},"
      " \"match\": {\"where\": [\"status >= 500\"]}, \"group_by\": [\"namespace\"],"
      " \"condition\": {\"kind\": \"ratio\", \"ratio\": 0.05, \"min_total\": 20, \"window\": 300,"
      " \"of\": {\"where\": [\"method == GET\"]}}}");
  const lh_cond_t *c = lh_ruleset_conds(rs);

  (void)state;
  assert_int_equal(c->kind, LH_COND_RATIO);
  assert_int_equal(c->min_total, 20);
  assert_true(c->ratio == 0.05 && c->window == 300);
  assert_true(lh_ruleset_notify(rs, 0)->window == 300);
  hits_on(rs, "n", "p", NULL, NULL, ACCESS("GET", "/a", "200", "1"),
          "0:0:n:/a:path=/a,method=GET,client=10.0.0.7,status=200@1629856477.500000\n");
  hits_on(rs, "n", "p", NULL, NULL, ACCESS("GET", "/b", "502", "1"),
          "0:1:n:/b:path=/b,method=GET,client=10.0.0.7,status=502@1629856477.500000\n");
  hits_on(rs, "n", "p", NULL, NULL, ACCESS("POST", "/c", "502", "1"), ""); /* not in `of` */
  hits_on(rs, "n", "p", NULL, NULL, "not an access log", "");
  lh_ruleset_free(rs);
  /* without `of`, every selected record is in the total */
  rs = compile1("{\"select\": {\"namespace\": [\"*\"], \"pod\": []},"
                " \"match\": {\"parse\": \"none\", \"where\": [\"line =~ ERROR\"]},"
                " \"group_by\": [\"namespace\"], \"condition\": {\"kind\": \"ratio\","
                " \"ratio\": 0.1, \"min_total\": 1, \"window\": 60, \"of\": {}}}");
  hits_on(rs, "n", "p", NULL, NULL, "ok", "0:0:n:ok:@1629856477.500000\n");
  hits_on(rs, "n", "p", NULL, NULL, "ERROR x", "0:1:n:ERROR x:@1629856477.500000\n");
  lh_ruleset_free(rs);
}

/* The plain data the flood and the notification take. */
static void conds_and_notify(void **state) {
  json_t *doc = doc_of("{\"name\": \"burst\", \"severity\": \"critical\", \"output\": \"am\","
                       " \"format\": \"alertmanager\", \"repeat_interval\": 600,"
                       " \"resolve_after\": 120, \"lease\": 720, \"samples\": 5,"
                       " \"condition\": {\"kind\": \"count\", \"count\": 5, \"window\": 60},"
                       " \"labels\": {\"team\": \"pay\"}, \"annotations\": {\"summary\": \"s\"}}",
                       "{\"name\": \"gone\", \"match\": {\"parse\": \"none\", \"where\": []},"
                       " \"group_by\": [\"pod\"], \"condition\": {\"kind\": \"absent\","
                       " \"absent\": 600, \"forget_after\": 86400}}",
                       NULL);
  lh_ruleset_t *rs = compile_doc(doc, NULL, NULL);
  const lh_cond_t *c = lh_ruleset_conds(rs);
  const lh_notify_t *n = lh_ruleset_notify(rs, 0);
  size_t count;

  (void)state;
  assert_int_equal(lh_ruleset_count(rs), 2);
  assert_int_equal(lh_ruleset_max_keys(rs), 10000);
  assert_true(lh_ruleset_notify_rate(rs) == 1.0 && lh_ruleset_notify_burst(rs) == 3.0);
  assert_string_equal(lh_ruleset_receiver(rs), "logs-handler");
  assert_int_equal(c[0].kind, LH_COND_COUNT);
  assert_int_equal(c[0].count, 5);
  assert_true(c[0].window == 60 && c[0].repeat_interval == 600 && c[0].resolve_after == 120);
  assert_int_equal(c[0].samples, 5);
  assert_int_equal(c[1].kind, LH_COND_ABSENT);
  assert_true(c[1].absent == 600 && c[1].forget_after == 86400);
  assert_true(lh_ruleset_notify(rs, 1)->window == 600);
  assert_string_equal(lh_ruleset_output(rs, 0), "am");
  assert_string_equal(lh_ruleset_name(rs, 1), "gone");
  assert_string_equal(json_string_value(json_object_get(lh_ruleset_rule_json(rs, 1), "name")),
                      "gone");
  assert_null(lh_ruleset_rule_json(rs, 2));
  assert_string_equal(n->name, "burst");
  assert_string_equal(n->severity, "critical");
  assert_string_equal(n->receiver, "logs-handler");
  assert_int_equal(n->format, LH_FORMAT_ALERTMANAGER);
  assert_true(n->lease == 720 && n->resolve_after == 120 && n->window == 60);
  assert_int_equal(n->label_count, 2); /* alertname from the env rule, and team */
  assert_int_equal(n->annotation_count, 1);
  assert_int_equal(n->access_log, 1);
  lh_ruleset_fields(rs, 0, &count);
  assert_int_equal(count, 0); /* annotations that need no field */
  assert_int_equal(lh_ruleset_notify(rs, 1)->access_log, 0);
  lh_ruleset_fields(rs, 1, &count);
  assert_int_equal(count, 0);
  lh_ruleset_free(rs);
}

/* The rule sets the prefilter is tried with. */
static const char *const prefilter_sets[][3] = {
    {"{}", NULL, NULL}, /* the env rule */
    {"{\"select\": {\"namespace\": [\"demo-project\", \"web\"], \"pod\": [\"*\"]},"
     " \"match\": {\"where\": [\"status in [404, 5xx]\", \"path !~ ^/healthz\"]}}",
     NULL, NULL},
    {"{\"select\": {\"namespace\": [\"web\"], \"pod\": [\"nginx-7c5ddbdf54-x2x9q\"]},"
     " \"match\": {\"where\": [\"status >= 500\"]}}",
     "{\"name\": \"json\", \"select\": {\"namespace\": [\"=~w.*\"], \"pod\": []},"
     " \"group_by\": [\"namespace\"],"
     " \"match\": {\"parse\": \"json\", \"where\": [\"level == error\"]}}",
     NULL},
    {"{\"select\": {\"namespace\": [\"demo-project\"], \"pod\": []},"
     " \"match\": {\"where\": [\"status == 5xx\"]}, \"group_by\": [\"namespace\"],"
     " \"condition\": {\"kind\": \"ratio\", \"ratio\": 0.1, \"min_total\": 5, \"window\": 60,"
     " \"of\": {\"where\": [\"status != 3xx\"]}}}",
     "{\"name\": \"oom\", \"select\": {\"namespace\": [\"!=kube-system\"], \"pod\": []},"
     " \"group_by\": [\"pod\"],"
     " \"match\": {\"parse\": \"none\", \"where\": [], \"regex\": \"OOMKilled\"}}",
     NULL},
    {"{\"select\": {\"namespace\": [\"web\", \"shop\"], \"pod\": [\"api-1\", \"api/2\"]},"
     " \"match\": {\"where\": [\"status != 200\"]}}",
     NULL, NULL},
    /* regexes: of the pod, of the line, spelled out or not */
    {"{\"select\": {\"namespace\": [\"*\"], \"pod\": [\"=~wordpress-v1-.*\"]},"
     " \"group_by\": [\"pod\"], \"match\": {\"parse\": \"none\", \"where\": [],"
     " \"regex\": \"(?<kind>panic: .*|fatal error: .*)\"}}",
     "{\"name\": \"errors\", \"select\": {\"namespace\": [\"demo-project\"], \"pod\": []},"
     " \"group_by\": [\"pod\"], \"match\": {\"parse\": \"none\", \"where\": [],"
     " \"regex\": \"\\\\[(ERROR|Error)\\\\] (code \\\\d+|x)?\"}}",
     "{\"name\": \"oom\", \"select\": {\"namespace\": [\"=~(web|shop)\"], \"pod\": []},"
     " \"group_by\": [\"pod\"], \"match\": {\"parse\": \"none\", \"where\": [],"
     " \"regex\": \"OOMKilled|Out of memory: Killed\"}}"},
    {"{\"select\": {\"namespace\": [\"web\"], \"pod\": [\"=~api-.*\"]},"
     " \"match\": {\"where\": [\"status == 5xx\"], \"regex\": \"healthz HTTP\"},"
     " \"group_by\": [\"namespace\"],"
     " \"condition\": {\"kind\": \"ratio\", \"ratio\": 0.1, \"min_total\": 5, \"window\": 60,"
     " \"of\": {\"where\": [\"status >= 100\"]}}}",
     "{\"name\": \"panics\", \"select\": {\"namespace\": [], \"pod\": []},"
     " \"group_by\": [\"pod\"], \"match\": {\"parse\": \"access_log\", \"where\": [],"
     " \"regex\": \"GET /(x|healthz) HTTP\"}}",
     "{\"name\": \"env\", \"select\": {\"namespace\": [\"web\", \"demo-project\"], \"pod\": []},"
     " \"group_by\": [\"pod\"], \"match\": {\"parse\": \"access_log\","
     " \"where\": [\"path =~ ^/\\\\.env\", \"method in [POST, PUT]\", \"protocol == HTTP/1.1\"]}}"},
    /* containers, and a select every record passes: the names read from the bytes */
    {"{\"select\": {\"namespace\": [\"web\", \"demo-project\"], \"pod\": [],"
     " \"container\": [\"!=istio-proxy\"]}, \"match\": {\"where\": [\"status >= 500\"]}}",
     "{\"name\": \"nginx\", \"select\": {\"namespace\": [], \"pod\": [\"=~nginx-.*\"],"
     " \"container\": [\"nginx\"]}, \"group_by\": [\"pod\"],"
     " \"match\": {\"parse\": \"none\", \"where\": [], \"regex\": \"OOMKilled|panic: \"}}",
     "{\"name\": \"seen\", \"select\": {\"namespace\": [\"shop\", \"web\"], \"pod\": []},"
     " \"group_by\": [\"namespace\", \"pod\"], \"match\": {\"parse\": \"none\", \"where\": []},"
     " \"condition\": {\"kind\": \"absent\", \"absent\": 600, \"forget_after\": 86400}}"},
};

/* Records made from pieces that the prefilter looks at: namespaces, pods,
 * statuses, escapes. */
static char *generated(unsigned seed) {
  static const char *const namespaces[] = {"demo-project",      "web",  "shop",
                                           "kube-system",       "webx", "demo-project\\u0000",
                                           "d\\u0065mo-project"};
  static const char *const pods[] = {"wordpress-v1-f54f697c5-hdn2z", "api-1",       "api-2",
                                     "nginx-7c5ddbdf54-x2x9q",       "api-\\u0031", "api\\/2"};
  static const char *const lines[] = {
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\\"GET /x HTTP/1.1\\\" NNN 10 \\\"-\\\" \\\"c\\\"",
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\\"GET /healthz HTTP/1.1\\\" NNN 10",
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\u0022GET /x HTTP/1.1\\\" NNN 10",
      "{\\\"level\\\": \\\"error\\\", \\\"code\\\": NNN}",
      "{\\\"level\\\": \\\"\\\\u0065rror\\\", \\\"code\\\": NNN}",
      "OOMKilled NNN",
      "GET /x NNN",
      "panic: NNN",
      "fatal error: NNN [Error] x",
      "[ERROR] code NNN",
      "[Warning] NNN Out of memory: Killed",
      "\\u005bERROR] NNN",
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\\"POST /.env HTTP/1.1\\\" NNN 10",
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\\"PUT \\/.env HTTP/1.1\\\" NNN 10",
      "1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\\"POST /.envy HTTP/1.0\\\" NNN 10"};
  static const int statuses[] = {200, 301, 404, 500, 503, 599};
  char line[256], status[16], *out = malloc(1024);
  unsigned r = seed * 2654435761u;

  char *nnn;

  snprintf(line, sizeof line, "%s", lines[(r >> 3) % 15]);
  nnn = strstr(line, "NNN");
  snprintf(status, sizeof status, "%d", statuses[(r >> 7) % 6]);
  memcpy(nnn, status, 3);
  /* the kubernetes object's names as Fluent Bit writes them, or not: a
   * container or none, a name twice (the last counts), a name elsewhere */
  static const char *const containers[] = {
      "", ", \"container_name\": \"nginx\"", ",\"container_name\":\"istio-proxy\"",
      ", \"container_name\" : \"ngin\\u0078\"", ", \"container_name\": null"};
  static const char *const before[] = {"", "", "", "\"namespace_name\": \"web\", ",
                                       "\"pod_name\": \"nginx-1\", \"pod_name\": \"api-1\", "};
  static const char *const outside[] = {"", "", "", ", \"meta\": {\"namespace_name\": \"shop\"}",
                                        ", \"x\": \"namespace_name\""};
  snprintf(out, 1024,
           "{\"log\": \"%s\", \"kubernetes\": {%s\"namespace_name\": \"%s\", \"pod_name\": "
           "\"%s\"%s}%s}",
           line, before[(r >> 19) % 5], namespaces[(r >> 11) % 7], pods[(r >> 15) % 6],
           containers[(r >> 22) % 5], outside[(r >> 25) % 5]);
  return out;
}

/* Lines of a JSON Lines file, each to `each`. */
static void each_line(const char *path, const char *key, void (*each)(const char *, void *),
                      void *arg) {
  FILE *f = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  assert_non_null(f);
  while ((n = getline(&line, &cap, f)) > 0) {
    json_t *j = key ? json_loads(line, 0, NULL) : NULL;
    char *text = j ? json_dumps(json_object_get(j, key), JSON_COMPACT) : NULL;
    each(key ? (text ? text : "") : line, arg);
    free(text);
    json_decref(j);
  }
  free(line);
  fclose(f);
}

typedef struct {
  const lh_ruleset_t *rs;
  size_t records, hits, skipped, narrowed;
} prefilter_run_t;

static void prefilter_one(const char *text, void *arg) {
  prefilter_run_t *run = arg;
  lh_view_t *v = NULL;
  const char *why;
  static hits_t hs, passed;
  size_t len = strlen(text);
  int parsed = lh_view_parse(&v, text, len, 1700000000.0, &why) == LH_IGNORE;

  memset(&hs, 0, sizeof hs);
  memset(&passed, 0, sizeof passed);
  if (parsed)
    assert_int_equal(lh_ruleset_eval(run->rs, v, collect, &hs), 0);
  run->records++;
  run->hits += hs.count > 0;
  if (!lh_ruleset_may_match(run->rs, text, len)) {
    run->skipped++;
    if (hs.count)
      fail_msg("the prefilter skips a record with hits:\n%s\n%s", text, hs.text);
  } else if (parsed) {
    /* the rules it lets through give every hit */
    assert_int_equal(lh_ruleset_eval_passed(run->rs, v, collect, &passed), 0);
    run->narrowed += memchr(run->rs->may, 0, run->rs->count) != NULL;
    if (strcmp(hs.text, passed.text) != 0)
      fail_msg("the prefilter skips a rule with a hit:\n%s\n%s\n%s", text, hs.text, passed.text);
  }
  lh_view_free(v);
}

static void prefilter_never_skips(void **state) {
  size_t skipped = 0, hits = 0, narrowed = 0;

  (void)state;
  for (size_t s = 0; s < sizeof prefilter_sets / sizeof *prefilter_sets; s++) {
    lh_ruleset_t *rs = compile_doc(
        doc_of(prefilter_sets[s][0], prefilter_sets[s][1], prefilter_sets[s][2], NULL), NULL, NULL);
    prefilter_run_t run = {rs, 0, 0, 0, 0};
    each_line(LH_SOURCE_DIR "/examples/logs-handler/testdata/records.jsonl", NULL, prefilter_one,
              &run);
    each_line(LH_SOURCE_DIR "/tests/data/logs/cases.jsonl", "record", prefilter_one, &run);
    for (unsigned i = 0; i < 5000; i++) {
      char *text = generated(i);
      prefilter_one(text, &run);
      free(text);
    }
    skipped += run.skipped;
    hits += run.hits;
    narrowed += run.narrowed;
    lh_ruleset_free(rs);
  }
  /* it does skip, the records do hit, and rules are left out of records
   * that are parsed: the properties above are tried */
  assert_true(skipped > 1000);
  assert_true(hits > 1000);
  assert_true(narrowed > 1000);
}

/* The strings every match of a regex starts with, as the prefilter takes
 * them: "|"-joined, "" when none is known. */
static void regex_prefixes(void **state) {
  static const char *const rows[][2] = {
      {"OOMKilled|Out of memory: Killed process", "OOMKilled|Out of memory: Killed process"},
      {"(?<kind>panic: .*|fatal error: .*)", "panic: |fatal error: "},
      {"^(?<kind>panic|fatal error): (?<reason>.+)", "panic: |fatal error: "},
      {"\\[(ERROR|Error)\\]", "[ERROR]|[Error]"},
      {"PHP (Fatal error|Warning|Parse error)", "PHP Fatal error|PHP Warning|PHP Parse error"},
      {"^wordpress-v1-[A-Za-z0-9]{9}", "wordpress-v1-"},
      {"upstream timed out", "upstream timed out"},
      {"abc?d", "ab"},  /* an optional character ends it before */
      {"abc*", "ab"},   /* so does a repeated one */
      {"abc{2}", "ab"}, /* and a counted one */
      {"abc+d", "abc"}, /* at least one: kept, and the end */
      {"(?:ab|cd)+x", "ab|cd"},
      {"a\\.b\\d", "a.b"},
      {"x(a|b(c|d))y", "xay|xbcy|xbdy"},
      {"x(a|b.)y", "xa|xb"},  /* a branch that ends early ends all */
      {"GET /x", "GET "},     /* JSON may spell / as \/ */
      {"say \"hi\"", "say "}, /* and must spell " as \" */
      {"(a|)b", ""},          /* an empty branch */
      {"a|.b", ""},           /* a branch without one */
      {"^/\\.env", ".env"},   /* the longest run JSON spells as it is */
      {"a\\/bcd/e", "bcd"},
      {"(x/y)z", "x"},   /* in a group, it ends the run */
      {"(?i)error", ""}, /* an option first */
      {"error(?i)x", "error"},
      {"(?=ab)ab", ""},
      {"[ab]c", ""},
      {"\\Qa)b\\E", ""},
      {"(*UTF)ab", ""},
      {"(a|b|c|d)(e|f|g|h)", "a|b|c|d"}, /* past eight spelled out: before */
      {"(a|b)(c|d)(e|f)x", "acex|acfx|adex|adfx|bcex|bcfx|bdex|bdfx"},
  };
  lh_prefix_t out[16];
  char joined[512];
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    size_t n = lh_regex_prefixes(rows[i][0], out, 16), w = 0;
    joined[0] = '\0';
    for (size_t j = 0; j < n; j++)
      w += (size_t)snprintf(joined + w, sizeof joined - w, "%s%s", j ? "|" : "", out[j].text);
    if (strcmp(joined, rows[i][1]) != 0)
      fail_msg("%s: \"%s\", not \"%s\"", rows[i][0], joined, rows[i][1]);
  }
  /* more than asked for: none */
  assert_int_equal(lh_regex_prefixes("a|b|c", out, 2), 0);
}

/* A view is reused from record to record, and dropped records say why. */
static void view_reuse_and_drops(void **state) {
  lh_view_t *v = NULL;
  const char *why;
  char *good = record("n", "p", NULL, NULL, LINE404);
  static const char bare[] =
      "{\"log\": \"x\", \"kubernetes\": {\"namespace_name\": \"n\", \"pod_name\": \"p\"}}";
  static const lh_fref_t path = {LH_FIELD_PATH, "path", 0};
  size_t n;

  (void)state;
  assert_int_equal(lh_view_parse(&v, "{", 1, 0, &why), LH_DROP);
  assert_string_equal(why, "not JSON");
  assert_int_equal(lh_view_parse(&v, "[1]", 3, 0, &why), LH_DROP);
  assert_string_equal(why, "JSON, but not an object");
  assert_int_equal(lh_view_parse(&v, "{\"log\": \"x\"}", 12, 0, &why), LH_DROP);
  {
    lh_ruleset_t *rs = select_rule("{\"namespace\": [\"*\"]}");
    hits_t hs = {{0}, 0};
    assert_int_equal(lh_ruleset_eval(rs, v, collect, &hs), 0); /* a dropped record: no hit */
    assert_int_equal(hs.count, 0);
    lh_ruleset_free(rs);
  }
  assert_string_equal(why, "not a Kubernetes log record (kubernetes.namespace_name, "
                           "kubernetes.pod_name, log)");
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lh_view_parse(&v, good, strlen(good), 5, &why), LH_IGNORE);
    assert_int_equal(lh_view_status(v), 404);
    assert_memory_equal(lh_view_get(v, &path, &n), "/notfound", 9);
    assert_true(lh_view_time(v) == 1629856477.5);
  }
  assert_int_equal(lh_view_parse(&v, bare, strlen(bare), 5, &why), LH_IGNORE);
  assert_int_equal(lh_view_status(v), 0);
  assert_null(lh_view_get(v, &path, &n));
  assert_true(lh_view_time(v) == 5); /* no time in it: now */
  lh_view_free(v);
  free(good);
}

/* The start-up line of each rule (rules_load.c). */
static void described(void **state) {
  lh_ruleset_t *rs = compile_doc(
      doc_of(
          "{}",
          "{\"name\": \"burst\", \"select\": {\"namespace\": [\"shop\", \"web\"], \"pod\": [],"
          " \"labels\": {\"app\": [\"api\"]}}, \"match\": {\"where\": [\"status >= 500\","
          " \"path !~ ^/h\"]}, \"condition\": {\"kind\": \"count\", \"count\": 5, \"window\": 60}}",
          "{\"name\": \"gone\", \"format\": \"alertmanager\", \"select\": {\"self\": true},"
          " \"match\": {\"parse\": \"none\", \"where\": []}, \"group_by\": [\"pod\"],"
          " \"condition\": {\"kind\": \"absent\", \"absent\": 600, \"forget_after\": 86400}}",
          "{\"name\": \"ratio\", \"match\": {\"parse\": \"none\", \"where\": [],"
          " \"regex\": \"(?<kind>panic)\"}, \"group_by\": [\"kind\"],"
          " \"condition\": {\"kind\": \"ratio\", \"ratio\": 0.05, \"window\": 300,"
          " \"min_total\": 20, \"of\": {\"where\": []}}}",
          NULL),
      NULL, NULL);
  static const char *const want[] = {
      "logs-404: namespace demo-project, pod =~wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}, "
      "container *; match access_log where status in [404]; condition any; output "
      "notification-manager (notification-manager format)",
      "burst: namespace [shop, web], pod *, container *, labels.app api; match access_log where "
      "status >= 500 and path !~ ^/h; condition count 5 in 1m; output notification-manager "
      "(notification-manager format)",
      "gone: namespace demo-project, pod =~wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}, container "
      "*, self too; match every line; condition absent 10m (forgotten after 1d); output "
      "notification-manager (alertmanager format)",
      "ratio: namespace demo-project, pod =~wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}, container "
      "*; match regex (?<kind>panic); condition ratio 0.05 of at least 20 in 5m; output "
      "notification-manager (notification-manager format)"};
  char line[1024], small[16];

  (void)state;
  for (size_t i = 0; i < 4; i++) {
    lh_rules_describe(rs, i, line, sizeof line);
    assert_string_equal(line, want[i]);
  }
  lh_rules_describe(rs, 0, small, sizeof small); /* cut, never past the buffer */
  assert_string_equal(small, "logs-404: names");
  lh_ruleset_free(rs);
}

/* A reload keeps a rule whose name and normalized JSON are the same. */
static void kept_on_reload(void **state) {
  lh_ruleset_t *old =
      compile_doc(doc_of("{}", "{\"name\": \"b\"}", "{\"name\": \"c\"}", NULL), NULL, NULL);
  lh_ruleset_t *new = compile_doc(
      doc_of("{\"name\": \"c\"}", "{\"name\": \"b\", \"severity\": \"critical\"}", "{}", NULL),
      NULL, NULL);
  size_t map[3];

  (void)state;
  assert_int_equal(lh_rules_kept(old, new, map), 2);
  assert_int_equal(map[0], 2);
  assert_int_equal(map[1], LH_RULE_GONE); /* changed */
  assert_int_equal(map[2], 0);
  lh_ruleset_free(old);
  lh_ruleset_free(new);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(compile_errors),
      cmocka_unit_test(document_errors),
      cmocka_unit_test(where_odd_texts),
      cmocka_unit_test(select_matchers),
      cmocka_unit_test(select_negatives_and_labels),
      cmocka_unit_test(where_operators),
      cmocka_unit_test(json_paths),
      cmocka_unit_test(regex_groups),
      cmocka_unit_test(group_by_keys),
      cmocka_unit_test(self_exclusion),
      cmocka_unit_test(ratio_totals),
      cmocka_unit_test(conds_and_notify),
      cmocka_unit_test(regex_prefixes),
      cmocka_unit_test(prefilter_never_skips),
      cmocka_unit_test(view_reuse_and_drops),
      cmocka_unit_test(described),
      cmocka_unit_test(kept_on_reload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
