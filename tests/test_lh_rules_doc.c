/* The logs-handler's rules document: the YAML reader (typing, limits,
 * anchors, syntax errors with line and column), the schema (every error
 * class with its JSON path, defaults merged and filled in), the issue's
 * example normalized, JSON input, and the LOGS_* variables as the same
 * document as the article's rule written as a file (rules.yaml); and every
 * example rules file of examples/logs-handler/rules/ (the ones
 * docs/logs-handler.md teaches) loaded, normalized and compiled, and the
 * alerts the page shows for them made from sample records. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nearest.h"
#include "rule.h"
#include "rules_doc.h"
#include "rules_yaml.h"
#include "template.h"

#define DATA OFCTX_TEST_DATA "/rules"

/* The function context's outputs, for has_output. */
static int has_output(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "notification-manager") == 0 || strcmp(name, "alertmanager") == 0;
}

/* The YAML text → the normalized document, or NULL with the message. */
static json_t *doc_of(const char *yaml, char *err, size_t size) {
  json_t *file, *doc = NULL;

  if (lh_yaml_parse(&file, yaml, strlen(yaml), "rules.yaml", err, size) != 0)
    return NULL;
  if (lh_rules_doc_normalize(&doc, file, has_output, NULL, err, size) != 0)
    doc = NULL;
  json_decref(file);
  return doc;
}

/* The message of a bad YAML text. */
static void expect_error(const char *yaml, const char *message) {
  char err[512] = "";
  json_t *doc = doc_of(yaml, err, sizeof err);

  if (doc)
    print_error("accepted: %s\n", yaml);
  assert_null(doc);
  assert_string_equal(err, message);
}

static const char *const ERRORS[][2] = {
    /* unknown keys, with the nearest known one */
    {"rules:\n  - name: a\n    selct: {}\n",
     "rules[0].selct: unknown key (did you mean \"select\"?)"},
    {"rulez: []\n", "rulez: unknown key (did you mean \"rules\"?)"},
    {"rules:\n  - name: a\n    select: {namespaces: x}\n",
     "rules[0].select.namespaces: unknown key (did you mean \"namespace\"?)"},
    {"rules:\n  - name: a\n    xyz: 1\n",
     "rules[0].xyz: unknown key (known: name, severity, output, format, repeat_interval, "
     "resolve_after, lease, select, match, group_by, condition, labels, annotations, samples)"},
    {"settings: {max_key: 3}\nrules: [{name: a}]\n",
     "settings.max_key: unknown key (did you mean \"max_keys\"?)"},
    /* durations */
    {"rules:\n  - name: a\n  - name: b\n  - name: c\n    condition: {count: 5, window: 5 "
     "minutes}\n",
     "rules[2].condition.window: \"5 minutes\" is not a duration (90, 30s, 5m, 1h, 1d)"},
    {"rules: [{name: a, repeat_interval: [1]}]\n",
     "rules[0].repeat_interval: expected a duration (90, 30s, 5m, 1h, 1d), got a list"},
    {"rules: [{name: a, resolve_after: 2d}]\n", "rules[0].resolve_after: 2d is longer than 1d"},
    {"rules: [{name: a, resolve_after: 0}]\n", "rules[0].resolve_after: 0s is shorter than 1s"},
    {"rules: [{name: a, lease: 30m}]\n",
     "rules[0].lease: 30m must be longer than repeat_interval (1h), or Alertmanager resolves an "
     "alert that still fires"},
    /* names */
    {"rules:\n  - name: a\n  - name: b\n  - name: a\n",
     "rules[2].name: \"a\" is also the name of rules[0]; names must be unique"},
    {"rules: [{name: Http_5xx}]\n",
     "rules[0].name: \"Http_5xx\" is not a rule name (1 to 63 of a-z, 0-9 and -)"},
    {"rules: [{name: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]\n",
     "rules[0].name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a "
     "rule name (1 to 63 of a-z, 0-9 and -)"},
    {"rules: [{severity: critical}]\n",
     "rules[0].name: required: each rule has a name ([a-z0-9-]+)"},
    {"defaults: {name: a}\nrules: [{name: b}]\n",
     "defaults.name: a rule's name cannot be a default"},
    /* the document's shape */
    {"defaults: {}\n", "rules: required: a list of rules"},
    {"rules: []\n", "rules: the list is empty: give at least one rule"},
    {"rules: {name: a}\n", "rules: expected a list of rules, got a mapping"},
    {"", "the rules file is empty: it needs a rules list"},
    {"- a\n", "the rules file: expected a mapping with a rules list, got a list"},
    {"rules: [a]\n", "rules[0]: expected a rule (a mapping with a name), got a string (\"a\")"},
    /* types */
    {"rules: [{name: a, samples: \"3\"}]\n",
     "rules[0].samples: expected an integer from 0 to 10, got a string (\"3\")"},
    {"rules: [{name: a, samples: 11}]\n", "rules[0].samples: 11 is not an integer from 0 to 10"},
    {"rules: [{name: a, samples: 2.5}]\n", "rules[0].samples: 2.5 is not an integer from 0 to 10"},
    {"rules: [{name: a, samples: 1e3}]\n", "rules[0].samples: 1000 is not an integer from 0 to 10"},
    {"rules: [{name: a, labels: {code: 404}}]\n",
     "rules[0].labels.code: expected a string, got an integer (quote it: \"404\")"},
    {"rules: [{name: a, labels: {app.kubernetes.io/name: x}}]\n",
     "rules[0].labels[\"app.kubernetes.io/name\"]: \"app.kubernetes.io/name\" is not a label name "
     "([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"},
    {"rules: [{name: a, select: {self: yes}}]\n",
     "rules[0].select.self: expected true or false, got a string (\"yes\")"},
    {"rules: [{name: a, select: [x]}]\n",
     "rules[0].select: expected a mapping (namespace, pod, container, labels, self), got a list"},
    {"rules: [{name: a, format: slack}]\n",
     "rules[0].format: \"slack\" is not \"notification-manager\" or \"alertmanager\""},
    {"rules: [{name: a, match: {parse: jsn}}]\n",
     "rules[0].match.parse: \"jsn\" is not \"none\", \"access_log\" or \"json\" (did you mean "
     "\"json\"?)"},
    {"rules: [{name: a, match: {where: [\"status >= 500\", 5]}}]\n",
     "rules[0].match.where[1]: expected a string, got an integer (quote it: \"5\")"},
    {"rules: [{name: a, group_by: [pod, pod]}]\n", "rules[0].group_by[1]: \"pod\" is named twice"},
    {"rules: [{name: a, group_by: [\"1pod\"]}]\n",
     "rules[0].group_by[0]: \"1pod\" is not a field name"},
    {"settings: {notify_rate: 0}\nrules: [{name: a}]\n",
     "settings.notify_rate: 0 is not a number from 0.001 to 1000"},
    {"settings: {state_store: 3}\nrules: [{name: a}]\n",
     "settings.state_store: expected a string, got an integer (quote it: \"3\")"},
    {"settings: {state-store: s}\nrules: [{name: a}]\n",
     "settings.state-store: unknown key (did you mean \"state_store\"?)"},
    /* conditions */
    {"rules: [{name: a, condition: {window: 1m}}]\n",
     "rules[0].condition: names no kind: give one of any, count, ratio or absent"},
    {"rules: [{name: a, condition: {count: 3, window: 1m, ratio: 0.5}}]\n",
     "rules[0].condition: holds both count and ratio; a condition is one kind"},
    {"rules: [{name: a, condition: {count: 0, window: 1m}}]\n",
     "rules[0].condition.count: 0 is not an integer from 1 to 1000000"},
    {"rules: [{name: a, condition: {count: 3}}]\n",
     "rules[0].condition.window: required with count"},
    {"rules: [{name: a, condition: {count: 3, window: 1m, min_total: 3}}]\n",
     "rules[0].condition.min_total: a count condition has no min_total (its keys: count, window)"},
    {"rules: [{name: a, condition: {ratio: 0, window: 1m}}]\n",
     "rules[0].condition.ratio: 0 is not more than 0 and at most 1"},
    {"rules: [{name: a, condition: {ratio: 0.5, window: 1m, min_total: 0}}]\n",
     "rules[0].condition.min_total: 0 is not an integer from 1 to 1000000000"},
    {"rules: [{name: a, condition: {absent: 1h, forget_after: 30m}}]\n",
     "rules[0].condition.forget_after: 30m must be longer than absent (1h)"},
    {"rules: [{name: a, condition: {any: false}}]\n",
     "rules[0].condition.any: false would match nothing: say any: true, or give another kind"},
    {"rules: [{name: a, condition: {ratio: 0.5, window: 1m, of: {wher: []}}}]\n",
     "rules[0].condition.of.wher: unknown key (did you mean \"where\"?)"},
    /* select matchers */
    {"rules: [{name: a, select: {pod: [a, \"!=b\"]}}]\n",
     "rules[0].select.pod[1]: the negative matcher \"!=b\" must stand alone: a list holds when any "
     "of its matchers holds"},
    {"rules: [{name: a, select: {labels: {app: [\"!~x\", y]}}}]\n",
     "rules[0].select.labels.app[0]: the negative matcher \"!~x\" must stand alone: a list holds "
     "when any of its matchers holds"},
    {"rules: [{name: a, select: {namespace: [{a: b}]}}]\n",
     "rules[0].select.namespace[0]: expected a string, got a mapping"},
    /* outputs */
    {"rules: [{name: a, output: slack}]\n",
     "rules[0].output: the function context has no output \"slack\" to send alerts to"},
    {"defaults: {output: slack}\nrules: [{name: a}]\n",
     "defaults.output: the function context has no output \"slack\" to send alerts to"},
    /* YAML */
    {"rules: [a\n", "rules.yaml:2:1: did not find expected ',' or ']' (while parsing a flow "
                    "sequence at 1:8)"},
    {"rules:\n  - name: a\n   bad: 1\n",
     "rules.yaml:3:4: did not find expected '-' indicator (while parsing a block collection at "
     "2:3)"},
    {"a: &x [1]\nrules: *x\n",
     "rules.yaml:1:4: anchors (&x) and aliases are not supported: write the value out"},
    {"rules:\n  - *x\n", "rules.yaml:2:5: aliases (*x) and anchors are not supported: write the "
                         "value out"},
    {"rules: [{name: a}]\n---\nrules: [{name: b}]\n",
     "rules.yaml:2:1: a second document (---): the rules file holds one document"},
    {"rules: [{name: a}]\nrules: [{name: b}]\n", "rules.yaml:2:1: the key \"rules\" appears twice"},
    {"? [a]\n: 1\n", "rules.yaml:1:3: a key must be a plain value, not a list or a mapping "
                     "(quote a value that starts with { or [, such as a {{template}})"},
    {"rules:\n  - name: a\n    annotations:\n      summary: {{count}} errors\n",
     "rules.yaml:4:17: a key must be a plain value, not a list or a mapping (quote a value that "
     "starts with { or [, such as a {{template}})"},
    {"rules:\n\t- name: a\n", "rules.yaml:2:1: found character that cannot start any token (while "
                              "scanning for the next token at 2:1); YAML indents with spaces, not "
                              "tabs"},
    {"rules:\n  - name: a\n    severity: a: b\n",
     "rules.yaml:3:16: mapping values are not allowed in this context; quote a value that holds "
     "\": \""},
    {"&k rules: [{name: a}]\n",
     "rules.yaml:1:1: anchors (&k) and aliases are not supported: write the value out"},
    {"rules: [{name: a, labels: {404: x}}]\n",
     "rules[0].labels.404: \"404\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not "
     "starting with __)"},
    {"rules: [{name: a, samples: 99999999999999999999}]\n",
     "rules.yaml:1:28: the number 99999999999999999999 is out of range"},
    {"rules: [{name: a, severity: !!int 5}]\n",
     "rules.yaml:1:29: the tag !!int is not supported (only !!str)"},
    {"rules: [{name: a, severity: \"\\0\"}]\n", "rules.yaml:1:29: a value holds a NUL character"},
    {"rules: [{name: a, severity: \xff}]\n",
     "rules.yaml:1:29: invalid leading UTF-8 octet (the file must be UTF-8)"},
};

static void test_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
    expect_error(ERRORS[i][0], ERRORS[i][1]);
}

/* "rules: " and `depth` nested lists. */
static void nested(char *yaml, int depth) {
  memcpy(yaml, "rules: ", 7);
  memset(yaml + 7, '[', (size_t)depth);
  memset(yaml + 7 + depth, ']', (size_t)depth);
  yaml[7 + 2 * depth] = '\0';
}

/* 32 nested lists in the top mapping: one too deep; 31 are read. */
static void test_too_deep(void **state) {
  char yaml[128], err[256];

  (void)state;
  nested(yaml, 32);
  assert_null(doc_of(yaml, err, sizeof err));
  assert_string_equal(err, "rules.yaml:1:39: nested more than 32 deep");
  nested(yaml, 31);
  assert_null(doc_of(yaml, err, sizeof err));
  assert_string_equal(err, "rules[0]: expected a rule (a mapping with a name), got a list");
}

/* More than 1 MiB, and more than LH_YAML_MAX_NODES values in less. */
static void test_limits(void **state) {
  size_t n = LH_YAML_MAX_BYTES + 1;
  char *text = malloc(n), err[256];
  json_t *out;

  (void)state;
  assert_non_null(text);
  memset(text, ' ', n);
  assert_int_equal(lh_yaml_parse(&out, text, n, "big.yaml", err, sizeof err), -1);
  assert_string_equal(err, "big.yaml: longer than 1048576 bytes");
  /* [1,1,...,1]: 70000 values in 140 kB */
  text[0] = '[';
  for (size_t i = 0; i < 70000; i++)
    memcpy(text + 1 + 2 * i, "1,", 2);
  text[2 * 70000] = ']';
  assert_int_equal(lh_yaml_parse(&out, text, 2 * 70000 + 1, "big.yaml", err, sizeof err), -1);
  assert_string_equal(err, "big.yaml:1:131072: more than 65536 values: the file is too large");
  free(text);
}

/* YAML 1.2 core typing of plain scalars; quoted ones stay strings. */
static void test_typing(void **state) {
  const char *yaml = "a: yes\nb: ~\nc: 0x1f\nd: 1.5\ne: '5'\nf: true\ng: -7\nh: 1e3\ni: .inf\n"
                     "j: null\nk:\nl: \"true\"\nm: 1_000\nn: FALSE\n7: x\n";
  json_t *out, *expected = json_pack("{ss sn sI sf ss sb sI sf ss sn sn ss ss sb ss}", "a", "yes",
                                     "b", "c", (json_int_t)31, "d", 1.5, "e", "5", "f", 1, "g",
                                     (json_int_t)-7, "h", 1000.0, "i", ".inf", "j", "k", "l",
                                     "true", "m", "1_000", "n", 0, "7", "x");
  char err[256];

  (void)state;
  assert_int_equal(lh_yaml_parse(&out, yaml, strlen(yaml), "t.yaml", err, sizeof err), 0);
  assert_true(json_equal(out, expected));
  json_decref(out);
  json_decref(expected);
}

/* A file → the normalized document, compared with an expected JSON file. */
static void expect_file(const char *file, const char *expected_file) {
  char err[512];
  json_t *doc, *expected = json_load_file(expected_file, 0, NULL);

  assert_non_null(expected);
  if (lh_rules_doc_load(&doc, file, has_output, NULL, err, sizeof err) != 0)
    fail_msg("%s", err);
  if (!json_equal(doc, expected)) {
    char *text = json_dumps(doc, JSON_INDENT(2));
    print_error("%s\n", text);
    free(text);
  }
  assert_true(json_equal(doc, expected));
  json_decref(doc);
  json_decref(expected);
}

/* The issue's example file, every default filled in; and as JSON (tabs). */
static void test_issue_example(void **state) {
  (void)state;
  expect_file(DATA "/issue.yaml", DATA "/issue.expected.json");
  expect_file(DATA "/issue.json", DATA "/issue.expected.json");
}

/* The normalized keys come in one order (what --check-rules prints). */
static void test_key_order(void **state) {
  char err[256];
  json_t *doc = doc_of("rules: [{samples: 1.0, name: a}]\n", err, sizeof err); /* 1.0 is 1 */
  char *text;

  (void)state;
  assert_non_null(doc);
  text = json_dumps(json_array_get(json_object_get(doc, "rules"), 0), JSON_COMPACT);
  assert_string_equal(
      text, "{\"name\":\"a\",\"severity\":\"warning\",\"output\":\"notification-manager\","
            "\"format\":\"notification-manager\",\"repeat_interval\":3600.0,\"resolve_after\":300."
            "0,\"lease\":3900.0,\"select\":{\"namespace\":[],\"pod\":[],\"container\":[],"
            "\"labels\":{},\"self\":false},\"match\":{\"parse\":\"none\",\"where\":[],\"regex\":"
            "null},\"group_by\":[\"namespace\",\"pod\",\"container\"],\"condition\":{\"kind\":"
            "\"any\"},\"labels\":{},\"annotations\":{},\"samples\":1}");
  free(text);
  json_decref(doc);
}

/* json_equal, and `expected` released. */
static int same(const json_t *got, json_t *expected) {
  int eq = json_equal(got, expected);
  json_decref(expected);
  return eq;
}

/* Defaults under each rule: plain keys replaced, select/match/labels/
 * annotations merged key by key, the condition replaced whole. */
static void test_defaults(void **state) {
  const char *yaml =
      "defaults:\n  severity: critical\n  select: {namespace: shop, pod: \"=~web-.*\"}\n"
      "  labels: {team: a, tier: b}\n  condition: {count: 3, window: 1m}\n"
      "  match: {parse: json}\n"
      "rules:\n  - name: x\n    select: {pod: \"*\"}\n    labels: {tier: c}\n"
      "    condition: {absent: 10m}\n    match: {where: [\"level == error\"]}\n"
      "  - name: y\n    severity: info\n"
      "  - name: z\n    labels: ~\n    severity: null\n";
  char err[256];
  json_t *doc = doc_of(yaml, err, sizeof err), *x, *y, *z;

  (void)state;
  if (!doc)
    fail_msg("%s", err);
  x = json_array_get(json_object_get(doc, "rules"), 0);
  y = json_array_get(json_object_get(doc, "rules"), 1);
  assert_string_equal(json_string_value(json_object_get(x, "severity")), "critical");
  assert_string_equal(json_string_value(json_object_get(y, "severity")), "info");
  assert_true(
      same(json_object_get(x, "select"), json_pack("{s[s]s[]s[]s{}sb}", "namespace", "shop", "pod",
                                                   "container", "labels", "self", 0)));
  assert_true(same(json_object_get(x, "labels"), json_pack("{ssss}", "team", "a", "tier", "c")));
  assert_true(
      same(json_object_get(x, "condition"),
           json_pack("{sssfsf}", "kind", "absent", "absent", 600.0, "forget_after", 86400.0)));
  assert_true(same(json_object_get(x, "match"),
                   json_pack("{sss[s]sn}", "parse", "json", "where", "level == error", "regex")));
  /* null drops a default */
  z = json_array_get(json_object_get(doc, "rules"), 2);
  assert_true(same(json_object_get(z, "labels"), json_object()));
  assert_string_equal(json_string_value(json_object_get(z, "severity")), "warning");
  assert_true(same(json_object_get(y, "condition"),
                   json_pack("{sssIsf}", "kind", "count", "count", (json_int_t)3, "window", 60.0)));
  json_decref(doc);
}

/* The test's environment: NULL-terminated "NAME=value" strings. */
static char *const *env_now;

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (char *const *e = env_now; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

typedef struct {
  char lines[8][256];
  size_t count;
} warnings_t;

static void warn(void *arg, const char *message) {
  warnings_t *w = arg;
  assert_true(w->count < 8);
  snprintf(w->lines[w->count++], sizeof w->lines[0], "%s", message);
}

/* The variables in `env` → the document, or NULL with the message. */
static json_t *env_doc(char *const *env, warnings_t *w, char *err, size_t size) {
  json_t *doc;

  env_now = env;
  if (lh_rules_doc_from_env(&doc, env_get, env, warn, w, has_output, NULL, err, size) != 0)
    return NULL;
  return doc;
}

/* No variable: the article's rule, the same document as rules.yaml. */
static void test_env_is_the_article_rule(void **state) {
  char *env[] = {"PATH=/bin", NULL};
  char err[512];
  warnings_t w = {0};
  json_t *from_env = env_doc(env, &w, err, sizeof err), *from_file;

  (void)state;
  if (!from_env)
    fail_msg("%s", err);
  if (lh_rules_doc_load(&from_file, LH_EXAMPLE_DIR "/rules.yaml", has_output, NULL, err,
                        sizeof err) != 0)
    fail_msg("%s", err);
  assert_true(json_equal(from_env, from_file));
  assert_int_equal(w.count, 0);
  json_decref(from_env);
  json_decref(from_file);
}

/* Each variable lands where the design says. */
static void test_env_values(void **state) {
  char *env[] = {"LOGS_NAMESPACES=a, b",
                 "LOGS_STATUSES=404,5XX",
                 "LOGS_POD_REGEX=web-.*",
                 "LOGS_ALERT_NAME=HTTP",
                 "LOGS_ALERT_SEVERITY=critical",
                 "LOGS_OUTPUT=alertmanager",
                 "LOGS_ALERT_FORMAT=alertmanager",
                 "LOGS_REPEAT_INTERVAL=30s",
                 "LOGS_QUIET_PERIOD=1m",
                 "LOGS_MAX_KEYS=2",
                 "LOGS_NOTIFY_RATE=0.5",
                 "LOGS_NOTIFY_BURST=2.7",
                 "LOGS_ALERT_RECEIVER=ops",
                 "LOGS_STATE_STORE=incidents",
                 NULL};
  char err[512];
  warnings_t w = {0};
  json_t *doc = env_doc(env, &w, err, sizeof err), *r;

  (void)state;
  if (!doc)
    fail_msg("%s", err);
  r = json_array_get(json_object_get(doc, "rules"), 0);
  assert_true(same(json_object_get(doc, "settings"),
                   json_pack("{sIsfsfssss}", "max_keys", (json_int_t)2, "notify_rate", 0.5,
                             "notify_burst", 2.0, "receiver", "ops", "state_store", "incidents")));
  assert_true(same(json_object_get(json_object_get(r, "select"), "namespace"),
                   json_pack("[ss]", "a", "b")));
  assert_true(
      same(json_object_get(json_object_get(r, "select"), "pod"), json_pack("[s]", "=~web-.*")));
  assert_true(same(json_object_get(json_object_get(r, "match"), "where"),
                   json_pack("[s]", "status in [404, 5xx]")));
  assert_true(same(json_object_get(r, "labels"), json_pack("{ss}", "alertname", "HTTP")));
  assert_string_equal(json_string_value(json_object_get(r, "severity")), "critical");
  assert_string_equal(json_string_value(json_object_get(r, "output")), "alertmanager");
  assert_string_equal(json_string_value(json_object_get(r, "format")), "alertmanager");
  assert_true(json_real_value(json_object_get(r, "repeat_interval")) == 30);
  assert_true(json_real_value(json_object_get(r, "resolve_after")) == 60);
  assert_true(json_real_value(json_object_get(r, "lease")) == 90);
  json_decref(doc);
}

/* Today's messages, each naming its variable. */
static void test_env_errors(void **state) {
  static const char *const cases[][2] = {
      {"LOGS_POD_REGEX=wordpress-([",
       "LOGS_POD_REGEX: \"wordpress-([\" does not compile: missing terminating ] for character "
       "class at offset 12"},
      {"LOGS_STATUSES=404,abc", "LOGS_STATUSES: \"404,abc\" is not a comma-separated list of "
                                "statuses (404) and classes (5xx)"},
      {"LOGS_STATUSES=604", "LOGS_STATUSES: \"604\" is not a comma-separated list of statuses "
                            "(404) and classes (5xx)"},
      {"LOGS_STATUSES=,", "LOGS_STATUSES: \",\" is not a comma-separated list of statuses (404) "
                          "and classes (5xx)"},
      {"LOGS_NAMESPACES=Demo_Project",
       "LOGS_NAMESPACES: \"Demo_Project\" is not a comma-separated list of namespace names"},
      {"LOGS_ALERT_FORMAT=slack",
       "LOGS_ALERT_FORMAT: \"slack\" is not \"notification-manager\" or \"alertmanager\""},
      {"LOGS_ALERT_LEASE_SECONDS=0",
       "LOGS_ALERT_LEASE_SECONDS: \"0\" is not a number of seconds from 1 to 691200"},
      {"LOGS_ALERT_LEASE_SECONDS=600",
       "LOGS_ALERT_LEASE_SECONDS: \"600\" must be longer than LOGS_REPEAT_INTERVAL, or "
       "Alertmanager resolves an alert that still fires"},
      {"LOGS_REPEAT_INTERVAL=1x", "LOGS_REPEAT_INTERVAL: \"1x\" is not a duration from 1s to "
                                  "604800s (say 90, 30s, 5m, 1h or 1d)"},
      {"LOGS_QUIET_PERIOD=0s", "LOGS_QUIET_PERIOD: \"0s\" is not a duration from 1s to 86400s "
                               "(say 90, 30s, 5m, 1h or 1d)"},
      {"LOGS_MAX_KEYS=0", "LOGS_MAX_KEYS: \"0\" is not a number from 1 to 1e+06"},
      {"LOGS_NOTIFY_RATE=fast", "LOGS_NOTIFY_RATE: \"fast\" is not a number from 0.001 to 1000"},
      {"LOGS_NOTIFY_BURST=0", "LOGS_NOTIFY_BURST: \"0\" is not a number from 1 to 1000"},
      {"LOGS_ALERT_NAME=a\tb",
       "LOGS_ALERT_NAME: \"a\tb\" is not UTF-8 text without control characters"},
      {"LOGS_OUTPUT=slack",
       "the function context has no output \"slack\" (LOGS_OUTPUT) to send alerts to"},
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *env[] = {(char *)cases[i][0], NULL};
    char err[512];
    warnings_t w = {0};
    json_t *doc = env_doc(env, &w, err, sizeof err);
    assert_null(doc);
    assert_string_equal(err, cases[i][1]);
  }
}

/* A misspelled variable is named, with the nearest known one. */
static void test_env_unknown(void **state) {
  char *env[] = {"LOGS_NAMESPACE=shop", "PATH=/bin",  "LOGS_STATUS=5xx",
                 "LOGS_STATUSES=404",   "LOGS_ZZZ=1", NULL};
  char err[512];
  warnings_t w = {0};
  json_t *doc = env_doc(env, &w, err, sizeof err);

  (void)state;
  assert_non_null(doc);
  assert_int_equal(w.count, 3);
  assert_string_equal(
      w.lines[0], "LOGS_NAMESPACE is not a logs-handler variable; did you mean LOGS_NAMESPACES?");
  assert_string_equal(w.lines[1],
                      "LOGS_STATUS is not a logs-handler variable; did you mean LOGS_STATUSES?");
  assert_string_equal(
      w.lines[2],
      "LOGS_ZZZ is not a logs-handler variable (they are listed in docs/logs-handler.md)");
  json_decref(doc);
}

/* With a rules file: the rule variables are ignored with one warning, the
 * settings variables override the file's settings. */
static void test_env_with_file(void **state) {
  char *env[] = {"LOGS_RULES_FILE=/etc/rules.yaml",
                 "LOGS_NAMESPACES=shop",
                 "LOGS_STATUSES=5xx",
                 "LOGS_MAX_KEYS=2",
                 "LOGS_NOTIFY_BURST=5",
                 "LOGS_NAMESPACE=x",
                 "LOGS_STATE_STORE=kept",
                 NULL};
  char *bad[] = {"LOGS_NOTIFY_RATE=fast", NULL};
  char err[512];
  warnings_t w = {0};
  json_t *doc;

  (void)state;
  if (lh_rules_doc_load(&doc, LH_EXAMPLE_DIR "/rules.yaml", has_output, NULL, err, sizeof err))
    fail_msg("%s", err);
  env_now = env;
  assert_int_equal(lh_rules_doc_env_settings(doc, env_get, env, warn, &w, err, sizeof err), 0);
  assert_int_equal(w.count, 2);
  assert_string_equal(
      w.lines[0], "LOGS_NAMESPACE is not a logs-handler variable; did you mean LOGS_NAMESPACES?");
  assert_string_equal(w.lines[1], "LOGS_NAMESPACES, LOGS_STATUSES ignored: LOGS_RULES_FILE is set, "
                                  "and the rules file says what they would");
  assert_true(
      same(json_object_get(doc, "settings"),
           json_pack("{sIsfsfssss}", "max_keys", (json_int_t)2, "notify_rate", 1.0, "notify_burst",
                     5.0, "receiver", "logs-handler", "state_store", "kept")));
  env_now = bad;
  assert_int_equal(lh_rules_doc_env_settings(doc, env_get, bad, warn, &w, err, sizeof err), -1);
  assert_string_equal(err, "LOGS_NOTIFY_RATE: \"fast\" is not a number from 0.001 to 1000");
  json_decref(doc);
}

/* What the function runs with: the file when LOGS_RULES_FILE names one
 * (settings variables over it), else the variables' rule. */
static void test_read(void **state) {
  char *plain[] = {"LOGS_STATUSES=5xx", NULL};
  char *file[] = {"LOGS_RULES_FILE=" LH_EXAMPLE_DIR "/rules.yaml", "LOGS_MAX_KEYS=2", NULL};
  char *bad[] = {"LOGS_RULES_FILE=" DATA "/bad-window.yaml", NULL};
  char err[512];
  warnings_t w = {0};
  json_t *doc;

  (void)state;
  env_now = plain;
  assert_int_equal(
      lh_rules_doc_read(&doc, env_get, plain, warn, &w, has_output, NULL, err, sizeof err), 0);
  assert_true(
      same(json_object_get(
               json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "match"), "where"),
           json_pack("[s]", "status in [5xx]")));
  json_decref(doc);
  env_now = file;
  assert_int_equal(
      lh_rules_doc_read(&doc, env_get, file, warn, &w, has_output, NULL, err, sizeof err), 0);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(doc, "settings"), "max_keys")), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(doc, "rules"), 0), "name")),
      "logs-404");
  json_decref(doc);
  env_now = bad;
  assert_int_equal(
      lh_rules_doc_read(&doc, env_get, bad, warn, &w, has_output, NULL, err, sizeof err), -1);
  assert_null(doc);
  assert_string_equal(err, DATA "/bad-window.yaml: rules[0].condition.window: \"5 minutes\" is not "
                                "a duration (90, 30s, 5m, 1h, 1d)");
  assert_int_equal(w.count, 0);
}

static void test_durations(void **state) {
  static const struct {
    const char *text;
    double seconds;
  } good[] = {{"90", 90},    {"30s", 30},    {"5m", 300}, {"1h", 3600},
              {"1d", 86400}, {"1.5h", 5400}, {"0", 0},    {".5s", 0.5}};
  static const char *const bad[] = {"",    "5 minutes", "1x",  "-1",    "1e3",          "s",
                                    "1hh", " 5m",       "5m ", "1.2.3", "1234567890123"};
  double s;

  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(lh_duration_parse(good[i].text, &s), 0);
    assert_true(s == good[i].seconds);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (lh_duration_parse(bad[i], &s) == 0)
      fail_msg("\"%s\" read as a duration", bad[i]);
}

static void test_nearest(void **state) {
  static const char *const known[] = {"select", "match", "samples", "severity", NULL};

  (void)state;
  assert_string_equal(lh_nearest("selct", known), "select");
  assert_string_equal(lh_nearest("Select", known), "select");
  assert_string_equal(lh_nearest("sample", known), "samples");
  assert_null(lh_nearest("xyz", known));
  assert_null(lh_nearest("a", known));
}

/* A file that is not there, or not a file. */
static void test_unreadable(void **state) {
  char err[512];
  json_t *doc;

  (void)state;
  assert_int_equal(lh_rules_doc_load(&doc, DATA "/missing.yaml", NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, DATA "/missing.yaml: cannot be read: No such file or directory");
  assert_int_equal(lh_rules_doc_load(&doc, DATA, NULL, NULL, err, sizeof err), -1);
  assert_string_equal(err, DATA ": cannot be read: Is a directory");
}

/* A rules file as the function takes it: loaded, normalized, compiled, and
 * each annotation a valid template of its rule (as alert.c renders it). */
static void expect_compiles(const char *file) {
  char err[512];
  json_t *doc;
  lh_ruleset_t *rs;

  if (lh_rules_doc_load(&doc, file, has_output, NULL, err, sizeof err) != 0)
    fail_msg("%s: %s", file, err);
  if (lh_ruleset_compile(&rs, doc, "default", "logs-async-handler-0", err, sizeof err) != 0)
    fail_msg("%s: %s", file, err);
  for (size_t i = 0; i < lh_ruleset_count(rs); i++) {
    const lh_notify_t *n = lh_ruleset_notify(rs, i);
    lh_template_names_t names = {n->group_by, n->group_by_count, NULL, NULL};
    for (size_t a = 0; a < n->annotation_count; a++)
      if (lh_template_check(n->annotations[a].value, &names, err, sizeof err) != 0)
        fail_msg("%s: rules[%zu].annotations.%s: %s", file, i, n->annotations[a].name, err);
  }
  lh_ruleset_free(rs);
  json_decref(doc);
}

/* The worked examples of docs/logs-handler.md: every file of
 * examples/logs-handler/rules/, and rules.yaml, compile. */
static void test_examples_compile(void **state) {
  DIR *dir = opendir(LH_EXAMPLE_DIR "/rules");
  struct dirent *e;
  size_t files = 0;
  char path[1024];

  (void)state;
  assert_non_null(dir);
  while ((e = readdir(dir)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
      continue;
    snprintf(path, sizeof path, "%s/rules/%s", LH_EXAMPLE_DIR, e->d_name);
    expect_compiles(path);
    files++;
  }
  closedir(dir);
  assert_true(files >= 5); /* the five the docs teach */
  expect_compiles(LH_EXAMPLE_DIR "/rules.yaml");
}

/* An example's notes, each {status, labels, annotations} of its alert. */
typedef struct {
  const lh_ruleset_t *rs;
  json_t *got;
} run_t;

static void example_note(const lh_note_t *note, lh_group_t *g, void *arg) {
  run_t *run = arg;
  size_t len;
  char *text = lh_alert_json(lh_ruleset_notify(run->rs, note->rule), note, note->now, &len);
  json_t *o = text ? json_loads(text, 0, NULL) : NULL;
  json_t *a = json_array_get(json_object_get(o, "alerts"), 0);

  (void)g;
  assert_non_null(a);
  json_array_append_new(run->got, json_pack("{sOsOsO}", "status", json_object_get(a, "status"),
                                            "labels", json_object_get(a, "labels"), "annotations",
                                            json_object_get(a, "annotations")));
  json_decref(o);
  free(text);
}

typedef struct {
  lh_flood_t *flood;
  run_t *run;
  double wall;
} feed_t;

static void example_hit(const lh_hit_t *h, void *arg) {
  feed_t *feed = arg;
  lh_flood_hit(feed->flood, h, feed->wall, example_note, feed->run);
}

/* The alerts that docs/logs-handler.md shows for each worked example: its
 * records (tests/data/rules/examples/NAME.jsonl) through the compiled
 * rules and the flood, the clock at each record's time and a day after
 * the last, give NAME.expected.jsonl. */
static void test_examples_alert(void **state) {
  static const char *const names[] = {"404-burst", "5xx-ratio", "json-errors", "panic",
                                      "logs-stopped"};
  (void)state;
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    char path[1024], line[8192], err[512];
    json_t *doc, *expected = json_array();
    lh_ruleset_t *rs = NULL;
    lh_view_t *v = NULL;
    run_t run = {NULL, json_array()};
    feed_t feed = {NULL, &run, 0};
    FILE *f;

    snprintf(path, sizeof path, "%s/rules/%s.yaml", LH_EXAMPLE_DIR, names[k]);
    if (lh_rules_doc_load(&doc, path, has_output, NULL, err, sizeof err) != 0 ||
        lh_ruleset_compile(&rs, doc, NULL, NULL, err, sizeof err) != 0)
      fail_msg("%s: %s", path, err);
    run.rs = rs;
    feed.flood = lh_flood_new(lh_ruleset_max_keys(rs), lh_ruleset_conds(rs), lh_ruleset_count(rs));
    assert_non_null(feed.flood);
    snprintf(path, sizeof path, "%s/examples/%s.jsonl", DATA, names[k]);
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof line, f)) {
      const char *why;
      assert_int_equal(lh_view_parse(&v, line, strlen(line), feed.wall, &why), LH_IGNORE);
      feed.wall = lh_view_time(v);
      lh_flood_record(feed.flood, feed.wall, feed.wall);
      assert_int_equal(lh_ruleset_eval(rs, v, example_hit, &feed), 0);
      lh_flood_tick(feed.flood, feed.wall, example_note, &run);
    }
    fclose(f);
    lh_flood_tick(feed.flood, feed.wall + 86400, example_note, &run);
    lh_flood_close(feed.flood, example_note, &run);
    snprintf(path, sizeof path, "%s/examples/%s.expected.jsonl", DATA, names[k]);
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof line, f))
      json_array_append_new(expected, json_loads(line, 0, NULL));
    fclose(f);
    if (!json_equal(run.got, expected)) {
      char *text = json_dumps(run.got, JSON_COMPACT | JSON_PRESERVE_ORDER);
      fail_msg("%s: the alerts differ; got %s", names[k], text);
    }
    json_decref(expected);
    json_decref(run.got);
    lh_view_free(v);
    lh_flood_free(feed.flood);
    lh_ruleset_free(rs);
    json_decref(doc);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_too_deep),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_typing),
      cmocka_unit_test(test_issue_example),
      cmocka_unit_test(test_key_order),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_env_is_the_article_rule),
      cmocka_unit_test(test_env_values),
      cmocka_unit_test(test_env_errors),
      cmocka_unit_test(test_env_unknown),
      cmocka_unit_test(test_env_with_file),
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_nearest),
      cmocka_unit_test(test_unreadable),
      cmocka_unit_test(test_examples_compile),
      cmocka_unit_test(test_examples_alert),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
