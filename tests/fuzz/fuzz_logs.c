/* Fuzz target: a Fluent Bit record through the logs-handler, with the
 * default rules and with 404,5xx in two namespaces. The prefilter must
 * never skip a record that the full path would alert on; its notifications are
 * valid JSON; the access-log tokenizer is run on the raw input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access_log.h"
#include "alert_compat.h"
#include "record.h"
#include "rules.h"

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
  if (lh_access_parse((const char *)data, size, &line) &&
      (line.status < 100 || line.status > 599 || line.client.len == 0))
    abort();
  return 0;
}
