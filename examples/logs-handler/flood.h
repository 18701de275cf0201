/* Flood control: matches of one alert identity (the rule's namespace, pod,
 * container and status) become a few notifications instead of one each.
 *
 *   - A key's first match fires at once (FIRING, count 1).
 *   - Later matches are folded into the key's group: a count, the first and
 *     last time seen, the first and last path and a few sample paths.
 *   - While matches go on, an UPDATE carries what was folded, at most once
 *     per repeat interval.
 *   - When a quiet period passes without a match, RESOLVED carries the
 *     totals and the group ends; the next match fires again.
 *   - At most `max_keys` groups are kept; past that the least recently
 *     matched is dropped without a notification, and counted.
 *   - The notifications go out through a token bucket (lh_bucket_t).
 *
 * Time is the records' own (seconds since the epoch), carried forward by
 * the wall clock between records (lh_flood_tick), so a replayed backlog
 * groups as live traffic did and nothing waits past its window when the
 * traffic stops. No clock is read here: the caller passes the times, and
 * tests pass a fake one. Not thread-safe; one instance per loop. */
#ifndef LH_FLOOD_H
#define LH_FLOOD_H

#include <stddef.h>
#include <stdint.h>

typedef struct lh_flood lh_flood_t;
typedef struct lh_group lh_group_t;

typedef struct {
  double repeat_interval; /* seconds between two notifications of a group */
  double quiet_period;    /* seconds without a match that resolve a group */
  size_t max_keys;        /* groups kept at once */
} lh_flood_config_t;

/* One match, as the record gave it; the strings are copied as needed. */
typedef struct {
  const char *namespace_name, *pod, *container; /* container may be NULL */
  int status;
  const char *method, *path, *client; /* any may be NULL */
  double time;                        /* the record's time */
} lh_match_t;

typedef enum { LH_NOTE_FIRING, LH_NOTE_UPDATE, LH_NOTE_RESOLVED } lh_note_kind_t;

#define LH_SAMPLES 3

/* What a notification says; the strings are the group's, valid during the
 * callback that is given it. */
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
} lh_note_t;

/* `group` is the one the note is about; for RESOLVED it is freed after the
 * call unless it is pinned (lh_group_set_user), then once it is unpinned. */
typedef void (*lh_note_fn)(const lh_note_t *note, lh_group_t *group, void *arg);

/* NULL when out of memory. */
lh_flood_t *lh_flood_new(const lh_flood_config_t *cfg);
/* Frees every group without a notification (see lh_flood_close). */
void lh_flood_free(lh_flood_t *f);

/* One match at wall time `wall`: the notification it makes due (FIRING for
 * a new key, UPDATE when the repeat interval has passed) goes to `emit`
 * before this returns. The match's group, or NULL when out of memory. */
lh_group_t *lh_flood_match(lh_flood_t *f, const lh_match_t *m, double wall, lh_note_fn emit,
                           void *arg);

/* The wall clock moves to `wall`: the flood's clock follows, and every
 * UPDATE and RESOLVED that is due goes to `emit`. */
void lh_flood_tick(lh_flood_t *f, double wall, lh_note_fn emit, void *arg);

/* The function stops: every group is RESOLVED (to `emit`) and freed. */
void lh_flood_close(lh_flood_t *f, lh_note_fn emit, void *arg);

/* The caller's own pointer on a group. A group with one is pinned: it is
 * neither evicted nor freed when it resolves, until the pointer is set back
 * to NULL (then a resolved group is freed at once: do not use it after). */
void *lh_group_user(const lh_group_t *g);
void lh_group_set_user(lh_flood_t *f, lh_group_t *g, void *user);

/* Ends a group without a notification (its firing notification was not
 * accepted: the next match fires again). Unpins and frees it. */
void lh_flood_forget(lh_flood_t *f, lh_group_t *g);

size_t lh_flood_groups(const lh_flood_t *f);
uint64_t lh_flood_evictions(const lh_flood_t *f);
double lh_flood_clock(const lh_flood_t *f);

/* A token bucket: `rate` tokens a second, at most `burst` saved. */
typedef struct {
  double rate, burst, tokens, last;
} lh_bucket_t;

void lh_bucket_init(lh_bucket_t *b, double rate, double burst, double now);
/* 1 and one token spent when one is there at `now`, else 0. */
int lh_bucket_take(lh_bucket_t *b, double now);

#endif
