/* What the logs-handler alerts on and how it words the alert, read once at
 * start from environment variables (OpenFunction passes a function's
 * spec.serving.params as environment variables). */
#ifndef LH_RULES_H
#define LH_RULES_H

#include <stddef.h>

typedef struct lh_rules lh_rules_t;

/* The flood control's timing and bound (was flood.h's). */
typedef struct {
  double repeat_interval; /* seconds between two notifications of a group */
  double quiet_period;    /* seconds without a match that resolve a group */
  size_t max_keys;        /* groups kept at once */
} lh_flood_config_t;

typedef enum {
  LH_FORMAT_NOTIFICATION_MANAGER, /* Alertmanager's webhook object (Notification Manager) */
  LH_FORMAT_ALERTMANAGER          /* Alertmanager API v2: an array of postable alerts */
} lh_format_t;

typedef const char *(*lh_getenv_fn)(const char *name);

/* Reads every LOGS_* variable (through `get`, e.g. getenv), with the
 * defaults of docs/logs-handler.md. 0, or -1 with a message naming the
 * variable in `err`. */
int lh_rules_load(lh_rules_t **out, lh_getenv_fn get, char *err, size_t size);
void lh_rules_free(lh_rules_t *rules);

/* A cheap test on the raw record: 0 when it cannot produce an alert (no
 * configured namespace and no configured status appear in it, and it holds
 * no \u escape that could hide one), 1 when it must be parsed. */
int lh_rules_may_match(const lh_rules_t *rules, const char *record, size_t len);

int lh_rules_namespace(const lh_rules_t *rules, const char *ns);
int lh_rules_pod(const lh_rules_t *rules, const char *pod, size_t len);
int lh_rules_status(const lh_rules_t *rules, int status);

const char *lh_rules_alert_name(const lh_rules_t *rules);
const char *lh_rules_severity(const lh_rules_t *rules);
const char *lh_rules_receiver(const lh_rules_t *rules);
const char *lh_rules_output(const lh_rules_t *rules);
lh_format_t lh_rules_format(const lh_rules_t *rules);
long lh_rules_lease_seconds(const lh_rules_t *rules);
/* LOGS_REPEAT_INTERVAL, LOGS_QUIET_PERIOD, LOGS_MAX_KEYS */
const lh_flood_config_t *lh_rules_flood(const lh_rules_t *rules);
/* LOGS_NOTIFY_RATE (notifications a second) and LOGS_NOTIFY_BURST */
double lh_rules_notify_rate(const lh_rules_t *rules);
double lh_rules_notify_burst(const lh_rules_t *rules);

#endif
