/* Flood control and conditions: the records that passed a rule's select
 * (hits) become a few notifications per alert identity instead of one each.
 * A group is one identity: the rule and its group_by values (the key).
 *
 * Each rule has a condition (lh_cond_t); the kinds:
 *   - ANY: a key's first match fires at once (FIRING, count 1); later
 *     matches are folded (count, first and last time, first and last
 *     fields, distinct samples); an UPDATE carries what was folded, at most
 *     once per repeat interval and only when something new came; RESOLVED
 *     after resolve_after without a match ends the group, and the next
 *     match fires again. (The logs-handler's behaviour before rules files.)
 *   - COUNT: FIRING at the match that makes `count` matches fall within
 *     `window` seconds, not before. It stays firing while the window holds
 *     `count` matches; RESOLVED once it has not for resolve_after. While
 *     firing, an UPDATE goes out every repeat interval (a heartbeat, so the
 *     alert's lease never runs out while it holds). Up to LH_RING_MAX the
 *     window is exact (the `count` newest times); past it, LH_SLOTS time
 *     slots of window / LH_SLOTS: the oldest slot may be left out, so it
 *     fires at the Nth match or a little later, never before.
 *   - RATIO: matched / total within the window (in LH_SLOTS slots), where
 *     total counts the matches and the hits with `matched` 0; FIRING when
 *     total >= min_total and the ratio >= `ratio`; RESOLVED once that has
 *     not held for resolve_after; heartbeat UPDATEs as COUNT.
 *   - ABSENT: a key is seen (a match), then no match of it for `absent`
 *     seconds: FIRING (by the tick); heartbeat UPDATEs while it lasts;
 *     RESOLVED when it is seen again (the group lives on). A key not seen
 *     for forget_after is dropped without a notification, firing or not.
 *   A COUNT or RATIO group that has not fired ends without a notification
 *   once its window is empty.
 *
 * Time is the records' own (seconds since the epoch), carried forward by
 * the wall clock between records (lh_flood_tick), so a replayed backlog
 * groups as live traffic did and nothing waits past its window when the
 * traffic stops. No clock is read here: the caller passes the times, and
 * tests pass a fake one. At most `max_keys` groups are kept; past that the
 * least recently hit is dropped without a notification, and counted.
 *
 * Memory: a group is one allocation (its state, its window, its key) and
 * one for its texts (first and last fields, samples, each value cut to
 * LH_VALUE_MAX bytes); lh_group_memory says how much. Not thread-safe; one
 * instance per loop. */
#ifndef LH_FLOOD_H
#define LH_FLOOD_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_flood lh_flood_t;
typedef struct lh_group lh_group_t;

#define LH_SAMPLES_MAX 10 /* samples kept per group, at most */
#define LH_FIELDS_MAX 8   /* fields kept per hit (first and last), at most */
#define LH_KEY_MAX 8      /* group_by values, at most */
#define LH_VALUE_MAX 2048 /* bytes kept of a key value, field value or sample */
#define LH_RING_MAX 16    /* COUNT up to this: an exact window */
#define LH_SLOTS 16       /* time slots of a RATIO window (and a COUNT past LH_RING_MAX) */
#define LH_RULE_GONE ((size_t)-1)

typedef enum { LH_COND_ANY, LH_COND_COUNT, LH_COND_RATIO, LH_COND_ABSENT } lh_cond_kind_t;

/* One rule's condition and timing, plain data (copied by the flood). */
typedef struct {
  lh_cond_kind_t kind;
  uint64_t count;              /* COUNT: N (0 is taken as 1) */
  double window;               /* COUNT, RATIO: seconds (not above 0: 1 second) */
  double ratio;                /* RATIO: fires when matched/total >= ratio ... */
  uint64_t min_total;          /* ... and total >= min_total */
  double absent, forget_after; /* ABSENT: seconds */
  double repeat_interval, resolve_after;
  size_t samples; /* samples kept per group (above LH_SAMPLES_MAX: LH_SAMPLES_MAX) */
} lh_cond_t;

/* A name and its value (alert.h's lh_label_t is the same shape). */
typedef struct {
  const char *name, *value;
} lh_field_t;

/* One record that passed a rule's select; the strings are the caller's,
 * copied as needed. */
typedef struct {
  size_t rule;              /* index in the rule set */
  const char *const *key;   /* the group_by values, in order (NULL is "") */
  size_t key_count;         /* at most LH_KEY_MAX are used */
  int matched;              /* 1: it matches; 0: it only counts in a ratio's total */
  const char *sample;       /* the text carried in the alert (path or line); NULL or "": none */
  const lh_field_t *fields; /* the fields the rule's templates need; first and last kept */
  size_t field_count;       /* at most LH_FIELDS_MAX are kept */
  double time;              /* the record's time */
} lh_hit_t;

typedef enum { LH_NOTE_FIRING, LH_NOTE_UPDATE, LH_NOTE_RESOLVED } lh_note_kind_t;

/* What a notification says; the strings are the group's, valid during the
 * callback that is given it. */
typedef struct {
  lh_note_kind_t kind;
  size_t rule;
  const char *const *key;
  size_t key_count;
  uint64_t count;      /* matches in the group so far (COUNT at FIRING, RATIO: in the window) */
  uint64_t new_count;  /* matches since the previous notification */
  uint64_t total;      /* RATIO: records in the window's total; else 0 */
  uint64_t suppressed; /* notes of this rule held back by the rate limit since the last note */
  double first_seen, last_seen;
  double now; /* the flood's clock when the notification is made */
  const lh_field_t *first_fields, *last_fields;
  size_t first_count, last_count; /* of first_fields and last_fields */
  const char *const *samples;     /* distinct, in the order seen */
  size_t sample_count;
} lh_note_t;

/* `group` is the one the note is about. After a RESOLVED of an ANY, COUNT
 * or RATIO rule it is freed after the call unless it is pinned
 * (lh_group_set_user), then once it is unpinned; an ABSENT group lives on. */
typedef void (*lh_note_fn)(const lh_note_t *note, lh_group_t *group, void *arg);

/* `conds`: one per rule, copied. NULL when out of memory. */
lh_flood_t *lh_flood_new(size_t max_keys, const lh_cond_t *conds, size_t rule_count);
/* Frees every group without a notification (see lh_flood_close). */
void lh_flood_free(lh_flood_t *f);

/* A new rule set (a reload): `conds` (copied) for `rule_count` rules, and
 * for each old rule its index in the new set, or LH_RULE_GONE. The groups
 * of a rule that maps keep their state (its condition must be the same);
 * the others end without a notification. 0, or -1 when out of memory
 * (nothing changed). */
int lh_flood_set_rules(lh_flood_t *f, const lh_cond_t *conds, size_t rule_count,
                       const size_t *old_to_new);

/* One hit at wall time `wall`: the notification it makes due (FIRING,
 * UPDATE, or RESOLVED of an absence) goes to `emit` before this returns.
 * The hit's group, or NULL when out of memory or the hit's rule is out of
 * range (and for a hit with `matched` 0 of a rule that is not RATIO, which
 * is ignored). */
lh_group_t *lh_flood_hit(lh_flood_t *f, const lh_hit_t *h, double wall, lh_note_fn emit, void *arg);

/* 1 when `h` is a hit lh_flood_hit takes: of a rule in range, and matched
 * or of a RATIO rule (else lh_flood_hit ignores it and says NULL). */
int lh_flood_wants(const lh_flood_t *f, const lh_hit_t *h);

/* A record of the input at `time` that hit no rule, at wall time `wall`:
 * the flood's clock follows it as it follows hits (an absence is measured
 * by the newest record of the whole input). Nothing is made due here. */
void lh_flood_record(lh_flood_t *f, double time, double wall);

/* The wall clock moves to `wall`: the flood's clock follows, and every
 * UPDATE, RESOLVED and absence FIRING that is due goes to `emit`. */
void lh_flood_tick(lh_flood_t *f, double wall, lh_note_fn emit, void *arg);

/* The function stops: every firing group is RESOLVED (to `emit`), and every
 * group freed (but pinned ones, freed once unpinned). */
void lh_flood_close(lh_flood_t *f, lh_note_fn emit, void *arg);

/* An incident a previous run left open (incidents_store.h), as its last
 * notification said it (a FIRING or UPDATE note: its rule, key, count,
 * times, fields and samples; `now` the flood's clock when it was made):
 * its group comes back firing, with no notification, so that its next
 * match does not fire again and its repeat_interval runs from `now`. A
 * COUNT or RATIO group's window is not kept: it holds since `now`, and
 * resolves resolve_after later unless its window holds again. The flood's
 * clock moves to `now` if it is behind, and from there follows the wall
 * clock from `wall` on, as after a record. 0; 1 when the key has a group
 * already (it is left as it is); -1 when out of memory or the rule is out
 * of range. */
int lh_flood_restore(lh_flood_t *f, const lh_note_t *note, double wall);

/* The caller's own pointer on a group. A group with one is pinned: it is
 * neither evicted nor freed nor made due by a tick, until the pointer is
 * set back to NULL (then a group that ended meanwhile is freed at once: do
 * not use it after). */
void *lh_group_user(const lh_group_t *g);
void lh_group_set_user(lh_flood_t *f, lh_group_t *g, void *user);

/* A second pointer of the caller's on a group, with a tag: it does not pin
 * the group, and the group does not own it (a group freed takes it along,
 * unseen). The caller tells by the tag whether what it points to is still
 * there. NULL and 0 until set. */
void *lh_group_queued(const lh_group_t *g, uint64_t *tag);
void lh_group_set_queued(lh_group_t *g, void *queued, uint64_t tag);

/* A group's firing notification was not accepted: it is unpinned and no
 * longer firing. An ANY group ends (the next match fires again); a COUNT or
 * RATIO group keeps its window (the next match that holds fires again); an
 * ABSENT group fires again at the next tick. */
void lh_flood_forget(lh_flood_t *f, lh_group_t *g);

/* A note of `rule` was held back by the rate limit: counted in the rule's
 * total and carried (lh_note_t.suppressed) in the rule's next note. */
void lh_flood_suppress(lh_flood_t *f, size_t rule);
/* A queued note of `rule` was superseded by a newer one of its group (which
 * carries its count itself): counted in the rule's total only. */
void lh_flood_superseded(lh_flood_t *f, size_t rule);
/* Notes of `rule` held back so far (0 for a rule out of range). */
uint64_t lh_flood_suppressed(const lh_flood_t *f, size_t rule);

size_t lh_flood_groups(const lh_flood_t *f);
/* Groups of `rule` now (0 for a rule out of range). */
size_t lh_flood_rule_groups(const lh_flood_t *f, size_t rule);
uint64_t lh_flood_evictions(const lh_flood_t *f);
double lh_flood_clock(const lh_flood_t *f);
/* Bytes a group holds (its allocations), and all groups together. */
size_t lh_group_memory(const lh_group_t *g);
size_t lh_flood_memory(const lh_flood_t *f);

/* A token bucket: `rate` tokens a second, at most `burst` saved. */
typedef struct {
  double rate, burst, tokens, last;
} lh_bucket_t;

void lh_bucket_init(lh_bucket_t *b, double rate, double burst, double now);
/* 1 and one token spent when one is there at `now`, else 0. */
int lh_bucket_take(lh_bucket_t *b, double now);

#endif
