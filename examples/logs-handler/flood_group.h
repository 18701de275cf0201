/* One flood group's own state (internal to flood.c): its key, its window
 * (the exact times of a small COUNT, or time slots), and its texts (first
 * and last fields, samples). Two allocations: the group with its window and
 * key packed after it, and its texts (grown as needed, each value cut to
 * LH_VALUE_MAX bytes). The group owns both; lh_group_free frees them. */
#ifndef LH_FLOOD_GROUP_H
#define LH_FLOOD_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "flood.h"

struct lh_group {
  size_t rule;
  uint64_t hash;
  lh_group_t *hnext, *prev, *next;
  void *user;
  void *queued;        /* the caller's, not pinning (lh_group_set_queued) */
  uint64_t queued_tag; /* ... and its tag */
  unsigned char ended, firing, first_kept;
  uint64_t count, new_count;
  double first_seen, last_seen; /* of the matches */
  double last_active;           /* the newest hit, matched or not */
  double last_notified, hold_end;
  const char **key; /* key_count values, packed after the window */
  size_t key_count;
  char *texts; /* [first fields][samples][last fields]: name NUL value NUL / sample NUL */
  uint32_t texts_cap, first_len, samples_len, last_len;
  uint8_t first_n, sample_n, last_n;
  uint32_t ring_n; /* COUNT up to LH_RING_MAX: times kept in the window */
  size_t bytes;    /* of the group's allocation */
  _Alignas(8) unsigned char window[];
};

/* `c` with its out-of-range values brought in (see lh_cond_t). */
lh_cond_t lh_cond_normal(const lh_cond_t *c);
/* 1 when groups of a rule with `a` may keep their state under `b`. */
int lh_cond_same_window(const lh_cond_t *a, const lh_cond_t *b);
/* The length of `s` cut to at most `max` bytes, not inside a UTF-8 sequence. */
size_t lh_cut(const char *s, size_t max);

/* A group of `rule` for `key` (values copied, each cut to LH_VALUE_MAX),
 * with an empty window for `c` (normalized); NULL when out of memory. */
lh_group_t *lh_group_new(const lh_cond_t *c, size_t rule, const char *const *key, size_t n);
void lh_group_free(lh_group_t *g);
size_t lh_group_bytes(const lh_group_t *g);
/* 1 when `g` is the group of `rule` and `key`. */
int lh_group_is(const lh_group_t *g, size_t rule, const char *const *key, size_t n);

/* The hit's fields (first ones when it is the group's first match, last
 * ones always) and its sample kept. 0, or -1 when out of memory (then the
 * texts are as they were). */
int lh_group_keep(lh_group_t *g, const lh_cond_t *c, const lh_hit_t *h);

/* The window: a hit at `t` added (the clock `now`); whether it holds the
 * condition at `now`; since when it no longer does (COUNT and RATIO). */
void lh_group_window_add(lh_group_t *g, const lh_cond_t *c, double t, int matched, double now);
int lh_group_holds(lh_group_t *g, const lh_cond_t *c, double now);
double lh_group_hold_end(lh_group_t *g, const lh_cond_t *c, double now);
/* The window's counts at `now`: matched and total (COUNT: matched only). */
void lh_group_window_counts(lh_group_t *g, const lh_cond_t *c, double now, uint64_t *matched,
                            uint64_t *total);
/* `g` fires now: a COUNT's count and first time become its window's. */
void lh_group_fire(lh_group_t *g, const lh_cond_t *c, double now);

/* The note of `g` (kind and suppressed left to the caller), pointing into
 * `g` and the arrays given (LH_FIELDS_MAX, LH_FIELDS_MAX, LH_SAMPLES_MAX). */
void lh_group_note(lh_group_t *g, const lh_cond_t *c, double now, lh_note_t *n, lh_field_t *first,
                   lh_field_t *last, const char **samples);

#endif
