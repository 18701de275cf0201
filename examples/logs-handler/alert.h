/* The notification of a group of matching access-log lines, in the format
 * the rules choose: Alertmanager's webhook object (what Notification Manager's
 * /api/v2/alerts takes) or Alertmanager's API v2 array. */
#ifndef LH_ALERT_H
#define LH_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "flood.h"
#include "rules.h"

typedef struct {
  const char *name, *value;
} lh_label_t;

#define LH_SAMPLES 3

/* What a notification of the access-log rule says (the shape the flood's
 * notes had before rules files; lh_record_alert makes it of a flood note). */
typedef struct {
  lh_note_kind_t kind;
  const char *namespace_name, *pod, *container; /* container: "" when none */
  int status;
  uint64_t count;     /* matches in the group so far */
  uint64_t new_count; /* matches since the previous notification */
  double first_seen, last_seen;
  double now;                  /* the flood's clock when the notification is made */
  const char *method, *client; /* of the last match */
  const char *first_path, *last_path;
  const char *samples[LH_SAMPLES]; /* distinct paths, in the order seen */
  size_t sample_count;
} lh_access_note_t;

/* Alertmanager's fingerprint of a label set (FNV-1a 64 over the labels
 * sorted by name: name, 0xff, value, 0xff), as it prints it with %016x. */
uint64_t lh_fingerprint(const lh_label_t *labels, size_t count);

/* Times are taken between the epoch and the end of year 9999. */
#define LH_TIME_MAX 253402300800.0

/* The notification `note` says, as JSON text (free with free()), or NULL
 * when out of memory. Labels: the rule's name and severity and the group's
 * namespace, pod, container and status; the paths, counts and times are
 * annotations. A firing alert's endsAt is the lease after the later of the
 * note's clock and `wall` (so a replayed backlog never posts an alert that
 * has already ended); a resolved one ends when its quiet period ran out
 * (or at the note's clock, if sooner). */
char *lh_alert_json(const lh_rules_t *rules, const lh_access_note_t *note, double wall,
                    size_t *len);

/* `t` as RFC 3339 in UTC with microseconds: 2021-08-25T01:54:37.226757Z
 * (a `t` out of range is taken as 0). */
void lh_rfc3339(double t, char out[64]);

/* An RFC 3339 timestamp, or a Fluent Bit / Apache time, as seconds since
 * the epoch: 0 and `*t` set, or -1 when `s` is not one. */
int lh_parse_rfc3339(const char *s, double *t);
int lh_parse_clf_time(const char *s, size_t len, double *t);

#endif
