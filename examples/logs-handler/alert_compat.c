/* Today's rules and flood note → lh_notify_t and the design's lh_note_t. */
#include <stdio.h>

#include "alert_compat.h"

static const char *const group_by[] = {"namespace", "pod", "container", "status"};

/* The env rule's notification settings. */
static lh_notify_t notify_of(const lh_rules_t *rules, const lh_field_t *alertname) {
  lh_notify_t r = {0};

  r.name = "logs-404";
  r.severity = lh_rules_severity(rules);
  r.receiver = lh_rules_receiver(rules);
  r.format = lh_rules_format(rules);
  r.lease = (double)lh_rules_lease_seconds(rules);
  r.resolve_after = lh_rules_flood(rules)->quiet_period;
  r.group_by = group_by;
  r.group_by_count = sizeof group_by / sizeof *group_by;
  r.labels = alertname;
  r.label_count = 1;
  r.access_log = 1;
  r.kind = LH_COND_ANY;
  return r;
}

char *lh_alert_json_rules(const lh_rules_t *rules, const lh_flood_note_t *old, double wall,
                          size_t *len) {
  char status[16];
  const char *key[] = {old->namespace_name, old->pod, old->container, status};
  lh_field_t name = {"alertname", lh_rules_alert_name(rules)};
  /* today's note has the first path only: the first method and client are unknown */
  lh_field_t first[] = {{"path", old->first_path}, {"method", NULL}, {"client", NULL}};
  lh_field_t last[] = {{"path", old->last_path}, {"method", old->method}, {"client", old->client}};
  lh_notify_t rule = notify_of(rules, &name);
  lh_note_t note = {0};

  snprintf(status, sizeof status, "%d", old->status);
  note.kind = old->kind;
  note.key = key;
  note.key_count = sizeof key / sizeof *key;
  note.count = old->count;
  note.new_count = old->new_count;
  note.first_seen = old->first_seen;
  note.last_seen = old->last_seen;
  note.now = old->now;
  note.first_fields = first;
  note.last_fields = last;
  note.field_count = sizeof first / sizeof *first;
  note.samples = old->samples;
  note.sample_count = old->sample_count;
  return lh_alert_json(&rule, &note, wall, len);
}
