/* Fuzz target: a Fluent Bit record through the logs-handler, with the
 * default rules and with 404,5xx in two namespaces. The prefilter must
 * never skip a record that the full path would alert on; its notifications are
 * valid JSON; the access-log tokenizer is run on the raw input too. The
 * compiled rule sets (rule.h) too: the env rule agrees with rules.c and
 * record.c, and no rule set's prefilter skips a record it gives a hit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access_log.h"
#include "alert_compat.h"
#include "record.h"
#include "rule.h"
#include "rules.h"
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

/* The notification a match fires is JSON. */
static void fired(const lh_note_t *note, lh_group_t *group, void *arg) {
  size_t alert_len;
  const char *output;
  char *alert = lh_record_alert(arg, note, 1700000000.0, &alert_len, &output);
  json_t *parsed = alert ? json_loadb(alert, alert_len, 0, NULL) : NULL;

  (void)group;
  if (alert && !parsed)
    abort();
  json_decref(parsed);
  free(alert);
}

/* The record's hit under every condition kind, twice and then over time:
 * each note is the alert JSON as above (it reads the key and fields the
 * same way whatever the kind). */
static void conditions(const lh_rules_t *rules, lh_hit_t hit) {
  lh_cond_t c = lh_record_cond(rules);
  lh_cond_t conds[4] = {c, c, c, c};
  lh_flood_t *flood;

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
    lh_flood_hit(flood, &hit, 1700000000.0 + (double)i, fired, (void *)rules);
  }
  lh_flood_tick(flood, 1700000100.0, fired, (void *)rules);
  lh_flood_tick(flood, 1700010000.0, fired, (void *)rules);
  lh_flood_close(flood, fired, (void *)rules);
  lh_flood_free(flood);
}

static void check(const lh_rules_t *rules, const char *data, size_t len) {
  lh_record_t record;
  const char *why;
  lh_verdict_t v = lh_record_check(rules, data, len, 1700000000.0, &record, &why);

  if (v == LH_MATCH) {
    lh_cond_t cond = lh_record_cond(rules);
    lh_flood_t *flood = lh_flood_new(lh_rules_flood(rules)->max_keys, &cond, 1);
    if (!lh_rules_may_match(rules, data, len))
      abort(); /* an alert the prefilter would have skipped */
    if (flood) {
      lh_flood_hit(flood, &record.hit, 1700000000.0, fired, (void *)rules);
      lh_flood_close(flood, fired, (void *)rules);
      lh_flood_free(flood);
    }
    conditions(rules, record.hit);
    lh_record_clear(&record);
  }
}

#define SETTINGS                                                                                   \
  "\"settings\": {\"max_keys\": 100, \"notify_rate\": 1, \"notify_burst\": 3, \"receiver\": "      \
  "\"r\"}"
#define TIMING                                                                                     \
  "\"severity\": \"warning\", \"output\": \"o\", \"format\": \"alertmanager\", "                   \
  "\"repeat_interval\": 3600, \"resolve_after\": 300, \"lease\": 3900, \"samples\": 3, "           \
  "\"labels\": {}"

/* The env rule with today's defaults, and rules of every kind. */
static const char *const rule_docs[] = {
    "{" SETTINGS ", \"rules\": [{\"name\": \"env\", " TIMING ", \"annotations\": {},"
    " \"select\": {\"namespace\": [\"demo-project\"],"
    " \"pod\": [\"=~wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}\"]},"
    " \"match\": {\"parse\": \"access_log\", \"where\": [\"status in [404]\"]},"
    " \"group_by\": [\"namespace\", \"pod\", \"container\", \"status\"],"
    " \"condition\": {\"kind\": \"any\"}}]}",
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
    " \"group_by\": [\"pod\", \"kind\"], \"condition\": {\"kind\": \"any\"}}]}"};

typedef struct {
  size_t hits, matched;
} tally_t;

static void counted(const lh_hit_t *h, void *arg) {
  tally_t *t = arg;

  for (size_t i = 0; i < h->key_count; i++)
    if (!h->key[i])
      abort();
  for (size_t i = 0; i < h->field_count; i++)
    if (!h->fields[i].name || !h->fields[i].value)
      abort();
  if (!h->sample)
    abort();
  t->hits++;
  t->matched += h->matched == 1;
}

/* The hits of `rs` on the record; the prefilter lets every one through. */
static tally_t check_ruleset(const lh_ruleset_t *rs, lh_view_t **view, const char *data,
                             size_t len) {
  const char *why;
  tally_t t = {0, 0};

  if (lh_view_parse(view, data, len, 1700000000.0, &why) == LH_IGNORE &&
      lh_ruleset_eval(rs, *view, counted, &t) == 0 && t.hits &&
      !lh_ruleset_may_match(rs, data, len))
    abort(); /* a hit the prefilter would have skipped */
  return t;
}

static void check_rulesets(const lh_rules_t *env, const char *data, size_t len) {
  static lh_ruleset_t *sets[2];
  static lh_view_t *view;
  lh_record_t record;
  const char *why;
  char err[256];
  tally_t t;

  for (size_t i = 0; !sets[1] && i < 2; i++) {
    json_t *doc = json_loads(rule_docs[i], 0, NULL);
    if (!doc || lh_ruleset_compile(&sets[i], doc, "ops", "alerter", err, sizeof err) != 0)
      abort();
    json_decref(doc);
  }
  t = check_ruleset(sets[0], &view, data, len);
  /* the env rule as a rule set: the same verdict as rules.c and record.c */
  if ((lh_record_check(env, data, len, 1700000000.0, &record, &why) == LH_MATCH) !=
      (t.matched == 1))
    abort();
  if (t.matched)
    lh_record_clear(&record);
  check_ruleset(sets[1], &view, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lh_rules_t *rules[2];
  char err[256];
  lh_access_t line;

  if (!rules[0] && (lh_rules_load(&rules[0], defaults, err, sizeof err) != 0 ||
                    lh_rules_load(&rules[1], wider, err, sizeof err) != 0))
    abort();
  check(rules[0], (const char *)data, size);
  check(rules[1], (const char *)data, size);
  check_rulesets(rules[0], (const char *)data, size);
  if (lh_access_parse((const char *)data, size, &line) &&
      (line.status < 100 || line.status > 599 || line.client.len == 0))
    abort();
  return 0;
}
