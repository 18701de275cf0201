/* TEMPORARY (issue 24, stage 1, branch "notify"): the note types of
 * /work/design-24.md that the new flood.h (owner: cond) defines, written
 * here exactly as the design has them so that alert.c can use them before
 * the branches meet. The lead replaces this header by flood.h at the merge
 * (alert.h then includes flood.h; lh_format_t comes from wherever rule.h
 * keeps it).
 *
 * Today's flood.h calls its own note lh_note_t too: it is seen under the
 * name lh_flood_note_t by every file that includes this header (through
 * alert.h) before flood.h. Including flood.h first is a compile error. */
#ifndef LH_ALERT_TYPES_H
#define LH_ALERT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef LH_FLOOD_H
#error "include alert.h (or alert_types.h) before flood.h, rules.h, record.h and notifier.h"
#endif

#define lh_note_t lh_flood_note_t
#include "flood.h"
#undef lh_note_t

#include "rules.h" /* lh_format_t */

/* A rule's condition kind (flood.h's lh_cond_t.kind in the design). */
typedef enum { LH_COND_ANY, LH_COND_COUNT, LH_COND_RATIO, LH_COND_ABSENT } lh_cond_kind_t;

/* A name and its value; both borrowed. */
typedef struct {
  const char *name, *value;
} lh_field_t;

/* What a notification says; the strings are valid during the callback
 * that is given it. */
typedef struct {
  lh_note_kind_t kind;
  size_t rule;
  const char *const *key; /* the group_by values, in order */
  size_t key_count;
  uint64_t count, new_count; /* matches in the group so far / since the previous note */
  uint64_t total;            /* RATIO: records in the window's total; else 0 */
  uint64_t suppressed; /* notes of this rule held back by the rate limit since the last sent */
  double first_seen, last_seen, now;
  const lh_field_t *first_fields, *last_fields; /* the fields of the first and the last match */
  size_t field_count;
  const char *const *samples; /* distinct, in the order seen */
  size_t sample_count;
} lh_note_t;

#endif
