/* Fuzz target: a Fluent Bit record through the logs-handler's compiled
 * rule sets (rule.h): the env rule (the LOGS_* defaults, and 404,5xx in two
 * namespaces in the Alertmanager format) and rules of every kind. The
 * prefilter must never skip a record that a rule set gives a hit; each hit
 * is well formed, and its notifications under every condition kind are
 * valid JSON; the access-log tokenizer is run on the raw input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access_log.h"
#include "alert.h"
#include "rule.h"
#include "rules_doc.h"
#include "rules_load.h"
#include "view.h"

static const char *defaults(const char *name) {
  (void)name;
  return NULL;
}

static const char *wider(const char *name) {
  if (strcmp(name, "LOGS_STATUSES") == 0)
    return "404,5xx";
  if (strcmp(name, "LOGS_NAMESPACES") == 0)
    return "demo-project, web";
  if (strcmp(name, "LOGS_ALERT_FORMAT") == 0)
    return "alertmanager";
  return NULL;
}

/* A note's rule: its notification settings, whatever the note's index. */
typedef struct {
  const lh_ruleset_t *rs;
  size_t rule;
} notify_of_t;

/* The notification a note makes is JSON. */
static void fired(const lh_note_t *note, lh_group_t *group, void *arg) {
  const notify_of_t *of = arg;
  size_t alert_len;
  char *alert = lh_alert_json(lh_ruleset_notify(of->rs, of->rule), note, 1700000000.0, &alert_len);
  json_t *parsed = alert ? json_loadb(alert, alert_len, 0, NULL) : NULL;

  (void)group;
  if (alert && !parsed)
    abort();
  json_decref(parsed);
  free(alert);
}

/* The hit under its rule's condition, then under every condition kind,
 * twice and then over time: each note is the alert JSON as above (it reads
 * the key and fields the same way whatever the kind). */
static void conditions(const notify_of_t *of, lh_hit_t hit) {
  lh_cond_t c = lh_ruleset_conds(of->rs)[hit.rule];
  lh_cond_t conds[4] = {c, c, c, c};
  lh_flood_t *flood = lh_flood_new(10, &c, 1);

  if (flood) {
    lh_hit_t h = hit;
    h.rule = 0;
    lh_flood_hit(flood, &h, 1700000000.0, fired, (void *)of);
    lh_flood_close(flood, fired, (void *)of);
    lh_flood_free(flood);
  }
  conds[0].kind = LH_COND_ANY;
  conds[1].kind = LH_COND_COUNT;
  conds[1].count = 2;
  conds[1].window = 60;
  conds[2].kind = LH_COND_RATIO;
  conds[2].ratio = 0.5;
  conds[2].min_total = 2;
  conds[2].window = 60;
  conds[3].kind = LH_COND_ABSENT;
  conds[3].absent = 60;
  conds[3].forget_after = 600;
  flood = lh_flood_new(4, conds, 4);
  if (!flood)
    return;
  for (size_t i = 0; i < 8; i++) {
    hit.rule = i % 4;
    hit.matched = i != 2;
    lh_flood_hit(flood, &hit, 1700000000.0 + (double)i, fired, (void *)of);
  }
  lh_flood_tick(flood, 1700000100.0, fired, (void *)of);
  lh_flood_tick(flood, 1700010000.0, fired, (void *)of);
  lh_flood_close(flood, fired, (void *)of);
  lh_flood_free(flood);
}

#define SETTINGS                                                                                   \
  "\"settings\": {\"max_keys\": 100, \"notify_rate\": 1, \"notify_burst\": 3, \"receiver\": "      \
  "\"r\"}"
#define TIMING                                                                                     \
  "\"severity\": \"warning\", \"output\": \"o\", \"format\": \"alertmanager\", "                   \
  "\"repeat_interval\": 3600, \"resolve_after\": 300, \"lease\": 3900, \"samples\": 3, "           \
  "\"labels\": {}"

/* Rules of every kind, in one set. */
static const char *const rule_doc =
    "{" SETTINGS ", \"rules\": [{\"name\": \"a\", " TIMING ", \"annotations\": {},"
    " \"select\": {\"namespace\": [\"demo-project\", \"web\"], \"pod\": [\"*\"]},"
    " \"match\": {\"parse\": \"access_log\", \"where\": [\"status >= 500\", \"path !~ ^/h\"]},"
    " \"group_by\": [\"namespace\", \"pod\"],"
    " \"condition\": {\"kind\": \"ratio\", \"ratio\": 0.1, \"min_total\": 1, \"window\": 60,"
    " \"of\": {\"where\": [\"method == GET\"]}}},"
    " {\"name\": \"b\", " TIMING ", \"annotations\": {\"s\": \"{{last.error.kind}}\"},"
    " \"select\": {\"namespace\": [\"!=kube-system\"], \"container\": [\"app\", \"\"]},"
    " \"match\": {\"parse\": \"json\", \"where\": [\"level in [error, fatal]\"]},"
    " \"group_by\": [\"namespace\", \"error.code\"], \"condition\": {\"kind\": \"any\"}},"
    " {\"name\": \"c\", " TIMING ", \"annotations\": {},"
    " \"select\": {\"pod\": [\"api-1\"], \"labels\": {\"app\": [\"=~a.*\"]}},"
    " \"match\": {\"parse\": \"none\", \"where\": [\"kind != exit\"],"
    " \"regex\": \"(?<kind>OOMKilled|panic|exit)(: (?<what>.*))?\"},"
    " \"group_by\": [\"pod\", \"kind\"], \"condition\": {\"kind\": \"any\"}}]}";

typedef struct {
  const lh_ruleset_t *rs;
  size_t hits;
} tally_t;

/* A hit is well formed, and its notifications are JSON. */
static void counted(const lh_hit_t *h, void *arg) {
  tally_t *t = arg;
  notify_of_t of = {t->rs, h->rule};

  for (size_t i = 0; i < h->key_count; i++)
    if (!h->key[i])
      abort();
  for (size_t i = 0; i < h->field_count; i++)
    if (!h->fields[i].name || !h->fields[i].value)
      abort();
  if (!h->sample || h->rule >= lh_ruleset_count(t->rs))
    abort();
  t->hits++;
  conditions(&of, *h);
}

/* The hits of `rs` on the record; the prefilter lets every one through,
 * and every rule that gives one. */
static void check_ruleset(const lh_ruleset_t *rs, lh_view_t **view, const char *data, size_t len) {
  const char *why;
  tally_t t = {rs, 0}, passed = {rs, 0};

  if (lh_view_parse(view, data, len, 1700000000.0, &why) != LH_IGNORE ||
      lh_ruleset_eval(rs, *view, counted, &t) != 0 || !t.hits)
    return;
  if (!lh_ruleset_may_match(rs, data, len))
    abort(); /* a hit the prefilter would have skipped */
  if (lh_ruleset_eval_passed(rs, *view, counted, &passed) == 0 && passed.hits != t.hits)
    abort(); /* a rule with a hit that it left out */
}

/* The rule sets, compiled once: the two env rules, then rule_doc's. */
static lh_ruleset_t **rule_sets(void) {
  static lh_ruleset_t *sets[3];
  lh_getenv_fn envs[] = {defaults, wider};
  char err[512];
  json_t *doc;

  for (size_t i = 0; !sets[2] && i < 3; i++) {
    if (i < 2 ? lh_rules_doc_from_env(&doc, envs[i], NULL, NULL, NULL, NULL, NULL, err,
                                      sizeof err) != 0
              : !(doc = json_loads(rule_doc, 0, NULL)))
      abort();
    if (lh_rules_compile(&sets[i], doc, "ops", "alerter", err, sizeof err) != 0)
      abort();
    json_decref(doc);
  }
  return sets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lh_view_t *view;
  lh_ruleset_t **sets = rule_sets();
  lh_access_t line;

  for (size_t i = 0; i < 3; i++)
    check_ruleset(sets[i], &view, (const char *)data, size);
  if (lh_access_parse((const char *)data, size, &line) &&
      (line.status < 100 || line.status > 599 || line.client.len == 0))
    abort();
  return 0;
}
