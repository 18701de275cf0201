/* TEMPORARY (issue 24, stage 1): today's rules (rules.h, the LOGS_*
 * variables) as the rule lh_alert_json takes, so that today's alerts come
 * out unchanged until rule.c's lh_notify_t is wired in; then this file
 * goes. */
#ifndef LH_ALERT_COMPAT_H
#define LH_ALERT_COMPAT_H

#include "alert.h"

/* lh_alert_json for the env rule: `rules` and `note` are borrowed for the
 * call. The rule is the design's env rule: group_by namespace, pod,
 * container, status; labels {alertname: LOGS_ALERT_NAME}; access_log. */
char *lh_alert_json_rules(const lh_rules_t *rules, const lh_note_t *note, double wall, size_t *len);

#endif
