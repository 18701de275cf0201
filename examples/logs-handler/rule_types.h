/* TEMPORARY (branch `match`): the plain-data types that rule.h shares with
 * the flood (flood.h: lh_cond_t, lh_field_t, lh_hit_t) and the notification
 * (alert.h: lh_notify_t), defined exactly as /work/design-24.md shows them so
 * that rule.c builds before those headers have them. At the merge the lead
 * replaces this header by flood.h and alert.h and deletes it. lh_format_t is
 * rules.h's until then. Nothing here owns memory: the pointers are the
 * ruleset's (lh_notify_t) or the view's (lh_hit_t, valid during a callback). */
#ifndef LH_RULE_TYPES_H
#define LH_RULE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define LH_SAMPLES_MAX 10

typedef enum { LH_COND_ANY, LH_COND_COUNT, LH_COND_RATIO, LH_COND_ABSENT } lh_cond_kind_t;

typedef struct { /* one rule's condition and timing, plain data */
  lh_cond_kind_t kind;
  uint64_t count;              /* COUNT: N */
  double window;               /* COUNT, RATIO: seconds */
  double ratio;                /* RATIO: fires when matched/total >= ratio ... */
  uint64_t min_total;          /* ... and total >= min_total */
  double absent, forget_after; /* ABSENT */
  double repeat_interval, resolve_after;
  size_t samples; /* samples kept per group (<= LH_SAMPLES_MAX 10) */
} lh_cond_t;

typedef struct {
  const char *name, *value;
} lh_field_t;

typedef struct {          /* one record that passed a rule's select */
  size_t rule;            /* index in the rule set */
  const char *const *key; /* the group_by values, in order; count = key_count */
  size_t key_count;
  int matched;              /* 1: it matches; 0: it only counts in a ratio's total */
  const char *sample;       /* the text carried in the alert: the path (access_log) or the line */
  const lh_field_t *fields; /* the fields the rule's templates need (name, value) */
  size_t field_count;
  double time; /* the record's time */
} lh_hit_t;

typedef struct {    /* one rule's notification settings, plain data */
  const char *name; /* rule name; the alertname unless labels has "alertname" */
  const char *severity, *receiver;
  lh_format_t format;
  double lease, resolve_after, window;
  const char *const *group_by;
  size_t group_by_count; /* label names of note->key */
  const lh_field_t *labels;
  size_t label_count; /* extra labels */
  const lh_field_t *annotations;
  size_t annotation_count; /* templates; 0 = the defaults */
  int access_log;          /* parse access_log: the default annotations are today's */
} lh_notify_t;

#endif
