/* Today's rules (the LOGS_* variables) as the rule lh_alert_json takes. */
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

char *lh_alert_json_rules(const lh_rules_t *rules, const lh_note_t *note, double wall,
                          size_t *len) {
  lh_field_t name = {"alertname", lh_rules_alert_name(rules)};
  lh_notify_t rule = notify_of(rules, &name);

  return lh_alert_json(&rule, note, wall, len);
}
