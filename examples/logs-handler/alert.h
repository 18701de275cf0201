/* The notification of a note of flood control, in the format its rule
 * chooses: Alertmanager's webhook object (what Notification Manager's
 * /api/v2/alerts takes) or Alertmanager's API v2 array; and the times
 * alerts carry. */
#ifndef LH_ALERT_H
#define LH_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "flood.h"

/* The shape of a notification. */
typedef enum {
  LH_FORMAT_NOTIFICATION_MANAGER, /* Alertmanager's webhook object (Notification Manager) */
  LH_FORMAT_ALERTMANAGER          /* Alertmanager API v2: an array of postable alerts */
} lh_format_t;

/* A label: the same shape as a field. */
typedef lh_field_t lh_label_t;

/* One rule's notification settings, plain data; every string and array is
 * borrowed (the compiled rule set owns them) for as long as notes of the
 * rule are turned into alerts. */
typedef struct {
  const char *name; /* the rule's name; the alertname unless labels has "alertname" */
  const char *severity, *receiver;
  lh_format_t format;
  double lease, resolve_after, window; /* seconds */
  const char *const *group_by;         /* the label names of note->key, in order */
  size_t group_by_count;
  const lh_field_t *labels; /* extra labels, which override the others */
  size_t label_count;
  const lh_field_t *annotations; /* templates (template.h); 0 of them: the defaults */
  size_t annotation_count;
  int access_log;      /* the rule parses access_log: the default annotations are today's */
  lh_cond_kind_t kind; /* the rule's condition, for the default wording */
  double ratio;        /* RATIO: the threshold, said in the annotations */
} lh_notify_t;

/* At most this many labels in an alert (more are left out), and the bytes
 * of a label value and of an annotation (longer ones are cut). */
#define LH_LABELS_MAX 32
#define LH_LABEL_BYTES 1024
#define LH_ANNOTATION_BYTES 4096

/* Alertmanager's fingerprint of a label set (FNV-1a 64 over the labels
 * sorted by name: name, 0xff, value, 0xff), as it prints it with %016x. */
uint64_t lh_fingerprint(const lh_label_t *labels, size_t count);

/* Times are taken between the epoch and the end of year 9999. */
#define LH_TIME_MAX 253402300800.0

/* The notification `note` of `rule` says, as JSON text (free with free()),
 * or NULL when out of memory; `rule` and `note` are borrowed for the call
 * only. Labels, in this order: alertname (the rule's
 * name or labels.alertname), namespace when it is a group_by name,
 * severity, the other group_by names with the key's values, the rule's
 * labels (which override, in place), and rule_level: namespace in the
 * Notification Manager format when there is a namespace label; a label
 * with an empty value is left out. Annotations: the rule's templates
 * rendered, or the defaults (docs/logs-handler.md); then "suppressed" when
 * notes were held back, and for a ratio rule "matched", "total", "ratio"
 * and "threshold", unless a template has the name. Every value is valid
 * UTF-8, cut at LH_LABEL_BYTES / LH_ANNOTATION_BYTES. A firing alert's
 * endsAt is the lease after the later of the note's clock and `wall` (so
 * a replayed backlog never posts an alert that has already ended); a
 * resolved one ends when resolve_after ran out after the last match (or
 * at the note's clock, if sooner; an absent rule's at the note's clock). */
char *lh_alert_json(const lh_notify_t *rule, const lh_note_t *note, double wall, size_t *len);

/* `t` as RFC 3339 in UTC with microseconds: 2021-08-25T01:54:37.226757Z
 * (a `t` out of range is taken as 0). */
void lh_rfc3339(double t, char out[64]);

/* An RFC 3339 timestamp, or a Fluent Bit / Apache time, as seconds since
 * the epoch: 0 and `*t` set, or -1 when `s` is not one. */
int lh_parse_rfc3339(const char *s, double *t);
int lh_parse_clf_time(const char *s, size_t len, double *t);

#endif
