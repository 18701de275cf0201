/* Flood control: groups per (rule, key) in a hash table with a
 * least-recently-hit list for eviction; what is due when, by the rule's
 * condition. A group's own state is flood_group.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "flood_group.h"

struct lh_flood {
  lh_cond_t *conds;
  size_t rule_count, max_keys;
  uint64_t *pending, *suppressed; /* per rule: since the rule's last note, and in all */
  size_t *rule_groups;            /* per rule: groups now */
  lh_group_t **buckets;
  size_t mask, count;
  lh_group_t *newest, *oldest; /* by last hit */
  uint64_t evictions;
  size_t memory;
  double clock; /* the records' time, carried forward */
  double clock_at_hit, wall_at_hit;
  int hit;
};

/* What a group is due for at a time. */
typedef enum { DUE_NONE, DUE_UPDATE, DUE_FIRE, DUE_RESOLVE, DUE_DROP } due_t;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* The hash of a rule and its key values (each cut as it is kept). */
static uint64_t hash_key(size_t rule, const char *const *key, size_t n) {
  uint64_t h = fnv(14695981039346656037ULL, &rule, sizeof rule);

  for (size_t i = 0; i < n; i++) {
    const char *v = key[i] ? key[i] : "";
    h = fnv(h, v, lh_cut(v, LH_VALUE_MAX));
    h = fnv(h, "", 1);
  }
  return h;
}

static int set_tables(lh_flood_t *f, const lh_cond_t *conds, size_t n) {
  lh_cond_t *c = calloc(n ? n : 1, sizeof *c);
  uint64_t *pending = calloc(n ? n : 1, sizeof *pending);
  uint64_t *suppressed = calloc(n ? n : 1, sizeof *suppressed);
  size_t *groups = calloc(n ? n : 1, sizeof *groups);

  if (!c || !pending || !suppressed || !groups) {
    free(c);
    free(pending);
    free(suppressed);
    free(groups);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    c[i] = lh_cond_normal(&conds[i]);
  free(f->conds);
  free(f->pending);
  free(f->suppressed);
  free(f->rule_groups);
  f->conds = c;
  f->pending = pending;
  f->suppressed = suppressed;
  f->rule_groups = groups;
  f->rule_count = n;
  return 0;
}

lh_flood_t *lh_flood_new(size_t max_keys, const lh_cond_t *conds, size_t rule_count) {
  lh_flood_t *f = calloc(1, sizeof *f);
  size_t n = 16;

  if (!f)
    return NULL;
  f->max_keys = max_keys ? max_keys : 1;
  while (n < f->max_keys * 2 && n < ((size_t)1 << 24))
    n *= 2;
  f->buckets = calloc(n, sizeof *f->buckets);
  f->mask = n - 1;
  if (!f->buckets || set_tables(f, conds, rule_count) != 0) {
    lh_flood_free(f);
    return NULL;
  }
  return f;
}

/* Out of the least-recently-hit list. */
static void unlink_lru(lh_flood_t *f, lh_group_t *g) {
  if (g->prev)
    g->prev->next = g->next;
  else
    f->newest = g->next;
  if (g->next)
    g->next->prev = g->prev;
  else
    f->oldest = g->prev;
  g->prev = g->next = NULL;
}

static void unlink_table(lh_flood_t *f, lh_group_t *g) {
  lh_group_t **p = &f->buckets[g->hash & f->mask];

  while (*p != g)
    p = &(*p)->hnext;
  *p = g->hnext;
}

/* Out of the table and the list; freed now unless pinned. */
static void end_group(lh_flood_t *f, lh_group_t *g) {
  unlink_table(f, g);
  unlink_lru(f, g);
  f->count--;
  f->memory -= lh_group_bytes(g);
  if (g->rule < f->rule_count)
    f->rule_groups[g->rule]--;
  g->ended = 1;
  if (!g->user)
    lh_group_free(g);
}

void lh_flood_free(lh_flood_t *f) {
  if (!f)
    return;
  while (f->newest) {
    lh_group_t *g = f->newest;
    g->user = NULL;
    end_group(f, g);
  }
  free(f->buckets);
  free(f->conds);
  free(f->pending);
  free(f->suppressed);
  free(f->rule_groups);
  free(f);
}

static void notify(lh_flood_t *f, lh_group_t *g, lh_note_kind_t kind, lh_note_fn emit, void *arg) {
  lh_field_t first[LH_FIELDS_MAX], last[LH_FIELDS_MAX];
  const char *samples[LH_SAMPLES_MAX];
  lh_note_t n;

  lh_group_note(g, &f->conds[g->rule], f->clock, &n, first, last, samples);
  n.kind = kind;
  n.suppressed = f->pending[g->rule];
  f->pending[g->rule] = 0;
  g->new_count = 0;
  g->last_notified = f->clock;
  if (kind == LH_NOTE_FIRING)
    g->firing = 1;
  else if (kind == LH_NOTE_RESOLVED)
    g->firing = 0;
  emit(&n, g, arg);
}

static lh_group_t *find(lh_flood_t *f, const lh_hit_t *h, uint64_t hash) {
  for (lh_group_t *g = f->buckets[hash & f->mask]; g; g = g->hnext)
    if (g->hash == hash && lh_group_is(g, h->rule, h->key, h->key_count))
      return g;
  return NULL;
}

static void to_front(lh_flood_t *f, lh_group_t *g) {
  if (f->newest == g)
    return;
  if (g->prev) /* in the list (and not its head): take it out */
    unlink_lru(f, g);
  g->prev = NULL;
  g->next = f->newest;
  if (f->newest)
    f->newest->prev = g;
  f->newest = g;
  if (!f->oldest)
    f->oldest = g;
}

/* Room for one more group: the least recently hit unpinned one goes. */
static void make_room(lh_flood_t *f) {
  lh_group_t *g = f->oldest;

  while (f->count >= f->max_keys && g) {
    lh_group_t *prev = g->prev;
    if (!g->user) {
      end_group(f, g);
      f->evictions++;
    }
    g = prev;
  }
}

static void insert(lh_flood_t *f, lh_group_t *g) {
  size_t slot = g->hash & f->mask;

  g->hnext = f->buckets[slot];
  f->buckets[slot] = g;
  f->count++;
  f->memory += lh_group_bytes(g);
  f->rule_groups[g->rule]++;
  to_front(f, g);
}

static lh_group_t *group_new(lh_flood_t *f, const lh_hit_t *h, uint64_t hash, double t) {
  lh_group_t *g = lh_group_new(&f->conds[h->rule], h->rule, h->key, h->key_count);

  if (!g)
    return NULL;
  g->hash = hash;
  g->last_active = t; /* first_seen and last_seen: at its first match */
  make_room(f);
  insert(f, g);
  return g;
}

/* The flood's clock after a record of time `t` at wall time `wall`. */
static void clock_hit(lh_flood_t *f, double t, double wall) {
  lh_flood_tick(f, wall, NULL, NULL);
  if (t > f->clock)
    f->clock = t;
  f->clock_at_hit = f->clock;
  f->wall_at_hit = wall;
  f->hit = 1;
}

/* What `g` is due for at `now`: `hit` when a record of it is being
 * handled (then only endings are asked for: the hit decides the rest). */
static due_t due(lh_flood_t *f, lh_group_t *g, double now, int hit) {
  const lh_cond_t *c = &f->conds[g->rule];

  switch (c->kind) {
  case LH_COND_ANY:
    if (now - g->last_seen >= c->resolve_after)
      return DUE_RESOLVE;
    return !hit && g->new_count > 0 && now - g->last_notified >= c->repeat_interval ? DUE_UPDATE
                                                                                    : DUE_NONE;
  case LH_COND_COUNT:
  case LH_COND_RATIO:
    if (!g->firing)
      return now - g->last_active >= c->window ? DUE_DROP : DUE_NONE;
    if (now - lh_group_hold_end(g, c, f->clock) >= c->resolve_after)
      return DUE_RESOLVE;
    return !hit && now - g->last_notified >= c->repeat_interval ? DUE_UPDATE : DUE_NONE;
  case LH_COND_ABSENT:
    if (now - g->last_seen >= c->forget_after)
      return DUE_DROP;
    if (hit)
      return DUE_NONE;
    if (!g->firing)
      return now - g->last_seen >= c->absent ? DUE_FIRE : DUE_NONE;
    return now - g->last_notified >= c->repeat_interval ? DUE_UPDATE : DUE_NONE;
  }
  return DUE_NONE;
}

/* Does what is due; 1 when the group ended. */
static int act(lh_flood_t *f, lh_group_t *g, due_t d, lh_note_fn emit, void *arg) {
  switch (d) {
  case DUE_NONE:
    return 0;
  case DUE_UPDATE:
    notify(f, g, LH_NOTE_UPDATE, emit, arg);
    return 0;
  case DUE_FIRE:
    notify(f, g, LH_NOTE_FIRING, emit, arg);
    return 0;
  case DUE_RESOLVE:
    notify(f, g, LH_NOTE_RESOLVED, emit, arg);
    end_group(f, g);
    return 1;
  case DUE_DROP:
    end_group(f, g);
    return 1;
  }
  return 0;
}

/* The group of `h`, as it stands before `h` is folded: an episode that is
 * over by the record's time `t` ends first (a backlog gets here before any
 * tick could see it). NULL when out of memory; `*fresh` when new. */
static lh_group_t *group_of(lh_flood_t *f, const lh_hit_t *h, double t, lh_note_fn emit, void *arg,
                            int *fresh) {
  uint64_t hash = hash_key(h->rule, h->key, h->key_count < LH_KEY_MAX ? h->key_count : LH_KEY_MAX);
  lh_group_t *g = find(f, h, hash);

  if (g && !g->user && act(f, g, due(f, g, t, 1), emit, arg))
    g = NULL;
  *fresh = !g;
  if (g) {
    to_front(f, g);
    return g;
  }
  return group_new(f, h, hash, t);
}

/* `h` folded into `g`: counts, times, texts, window. -1 when its texts
 * could not be kept (out of memory); it is counted anyway. */
static int fold(lh_flood_t *f, lh_group_t *g, const lh_hit_t *h, double t) {
  const lh_cond_t *c = &f->conds[g->rule];
  size_t before = lh_group_bytes(g);
  int rc = 0;

  if (t > g->last_active)
    g->last_active = t;
  if (c->kind == LH_COND_COUNT || c->kind == LH_COND_RATIO)
    lh_group_window_add(g, c, t, h->matched, f->clock);
  if (h->matched) {
    if (g->count == 0 || t < g->first_seen)
      g->first_seen = t;
    if (g->count == 0 || t > g->last_seen)
      g->last_seen = t;
    g->count++;
    g->new_count++;
    rc = lh_group_keep(g, c, h);
  }
  f->memory += lh_group_bytes(g) - before;
  return rc;
}

/* After `h` was folded: the note it makes due, by the rule's condition. */
static void decide(lh_flood_t *f, lh_group_t *g, const lh_hit_t *h, lh_note_fn emit, void *arg) {
  const lh_cond_t *c = &f->conds[g->rule];

  if (c->kind == LH_COND_ABSENT) {
    if (g->firing && h->matched)
      notify(f, g, LH_NOTE_RESOLVED, emit, arg); /* seen again; the group lives on */
    return;
  }
  if (!g->firing && (c->kind == LH_COND_ANY || lh_group_holds(g, c, f->clock))) {
    lh_group_fire(g, c, f->clock);
    notify(f, g, LH_NOTE_FIRING, emit, arg);
  } else if (g->firing && (c->kind != LH_COND_ANY || h->matched) &&
             f->clock - g->last_notified >= c->repeat_interval) {
    notify(f, g, LH_NOTE_UPDATE, emit, arg);
  }
}

/* A record's time as the flood takes it: one far ahead of the wall clock
 * (or none) is taken as now, so that it cannot resolve everything. */
static double plausible(double t, double wall) { return t <= wall + 60 ? t : wall; }

int lh_flood_wants(const lh_flood_t *f, const lh_hit_t *h) {
  return h->rule < f->rule_count && (h->matched || f->conds[h->rule].kind == LH_COND_RATIO);
}

void lh_flood_record(lh_flood_t *f, double time, double wall) {
  clock_hit(f, plausible(time, wall), wall);
}

lh_group_t *lh_flood_hit(lh_flood_t *f, const lh_hit_t *h, double wall, lh_note_fn emit,
                         void *arg) {
  double t = plausible(h->time, wall);
  lh_group_t *g;
  int fresh;

  if (!lh_flood_wants(f, h))
    return NULL;
  clock_hit(f, t, wall);
  g = group_of(f, h, t, emit, arg, &fresh);
  if (!g)
    return NULL;
  if (fold(f, g, h, t) != 0 && fresh) {
    end_group(f, g);
    return NULL;
  }
  decide(f, g, h, emit, arg);
  return g;
}

/* The texts of a restored group: the first fields with the first sample,
 * the other samples, the last fields last. 0, or -1 when out of memory. */
static int restore_texts(lh_group_t *g, const lh_cond_t *c, const lh_note_t *note) {
  lh_hit_t h = {.rule = g->rule, .matched = 1};
  size_t i = 0;

  do {
    h.sample = i < note->sample_count ? note->samples[i] : NULL;
    h.fields = i == 0 ? note->first_fields : note->last_fields;
    h.field_count = i == 0 ? note->first_count : note->last_count;
    if (lh_group_keep(g, c, &h) != 0)
      return -1;
  } while (++i < note->sample_count || i == 1);
  return 0;
}

int lh_flood_restore(lh_flood_t *f, const lh_note_t *note, double wall) {
  size_t n = note->key_count < LH_KEY_MAX ? note->key_count : LH_KEY_MAX;
  lh_hit_t h = {.rule = note->rule, .key = note->key, .key_count = n};
  uint64_t hash;
  lh_group_t *g;

  if (note->rule >= f->rule_count)
    return -1;
  hash = hash_key(note->rule, note->key, n);
  if (find(f, &h, hash))
    return 1;
  g = lh_group_new(&f->conds[note->rule], note->rule, note->key, n);
  if (!g)
    return -1;
  g->hash = hash;
  g->firing = 1;
  g->count = note->count;
  g->first_seen = note->first_seen;
  g->last_seen = g->last_active = note->last_seen;
  g->last_notified = g->hold_end = note->now;
  if (restore_texts(g, &f->conds[note->rule], note) != 0) {
    lh_group_free(g);
    return -1;
  }
  make_room(f);
  insert(f, g);
  if (note->now > f->clock)
    f->clock = note->now;
  f->clock_at_hit = f->clock;
  f->wall_at_hit = wall;
  f->hit = 1;
  return 0;
}

void lh_flood_tick(lh_flood_t *f, double wall, lh_note_fn emit, void *arg) {
  lh_group_t *g = f->oldest;

  if (f->hit && wall > f->wall_at_hit && f->clock_at_hit + (wall - f->wall_at_hit) > f->clock)
    f->clock = f->clock_at_hit + (wall - f->wall_at_hit);
  if (!emit)
    return;
  while (g) {
    lh_group_t *prev = g->prev;
    if (!g->user) /* a pinned group's firing is still on its way */
      act(f, g, due(f, g, f->clock, 0), emit, arg);
    g = prev;
  }
}

void lh_flood_close(lh_flood_t *f, lh_note_fn emit, void *arg) {
  while (f->oldest) {
    lh_group_t *g = f->oldest;
    if (g->firing)
      notify(f, g, LH_NOTE_RESOLVED, emit, arg);
    end_group(f, g);
  }
}

/* The groups that stay after a reload: their rule's new index, and the
 * table rebuilt (the hash holds the rule). */
static void remap(lh_flood_t *f, const lh_cond_t *old, size_t old_count, const size_t *old_to_new) {
  lh_group_t *g = f->oldest;

  memset(f->buckets, 0, (f->mask + 1) * sizeof *f->buckets);
  f->count = 0;
  f->memory = 0;
  f->newest = f->oldest = NULL;
  while (g) {
    lh_group_t *prev = g->prev;
    size_t to = old_to_new && g->rule < old_count ? old_to_new[g->rule] : LH_RULE_GONE;
    g->prev = g->next = NULL;
    if (to >= f->rule_count || !lh_cond_same_window(&old[g->rule], &f->conds[to])) {
      g->ended = 1;
      if (!g->user)
        lh_group_free(g);
    } else {
      g->rule = to;
      g->hash = hash_key(to, (const char *const *)g->key, g->key_count);
      insert(f, g);
    }
    g = prev;
  }
}

int lh_flood_set_rules(lh_flood_t *f, const lh_cond_t *conds, size_t rule_count,
                       const size_t *old_to_new) {
  lh_flood_t old = *f;
  uint64_t *suppressed = NULL, *pending = NULL;

  f->conds = NULL;
  f->pending = f->suppressed = NULL;
  f->rule_groups = NULL;
  if (set_tables(f, conds, rule_count) != 0) {
    *f = old;
    return -1;
  }
  for (size_t i = 0; old_to_new && i < old.rule_count; i++)
    if (old_to_new[i] < rule_count) {
      f->suppressed[old_to_new[i]] = old.suppressed[i];
      f->pending[old_to_new[i]] = old.pending[i];
    }
  remap(f, old.conds, old.rule_count, old_to_new);
  suppressed = old.suppressed;
  pending = old.pending;
  free(old.conds);
  free(old.rule_groups);
  free(suppressed);
  free(pending);
  return 0;
}

void *lh_group_user(const lh_group_t *g) { return g->user; }

void lh_group_set_user(lh_flood_t *f, lh_group_t *g, void *user) {
  (void)f;
  g->user = user;
  if (!user && g->ended)
    lh_group_free(g);
}

void *lh_group_queued(const lh_group_t *g, uint64_t *tag) {
  *tag = g->queued_tag;
  return g->queued;
}

void lh_group_set_queued(lh_group_t *g, void *queued, uint64_t tag) {
  g->queued = queued;
  g->queued_tag = tag;
}

void lh_flood_forget(lh_flood_t *f, lh_group_t *g) {
  g->user = NULL;
  if (g->ended)
    lh_group_free(g);
  else if (f->conds[g->rule].kind == LH_COND_ANY)
    end_group(f, g);
  else
    g->firing = 0;
}

void lh_flood_suppress(lh_flood_t *f, size_t rule) {
  if (rule < f->rule_count) {
    f->pending[rule]++;
    f->suppressed[rule]++;
  }
}

void lh_flood_superseded(lh_flood_t *f, size_t rule) {
  if (rule < f->rule_count)
    f->suppressed[rule]++;
}

uint64_t lh_flood_suppressed(const lh_flood_t *f, size_t rule) {
  return rule < f->rule_count ? f->suppressed[rule] : 0;
}

size_t lh_flood_groups(const lh_flood_t *f) { return f->count; }
size_t lh_flood_rule_groups(const lh_flood_t *f, size_t rule) {
  return rule < f->rule_count ? f->rule_groups[rule] : 0;
}
uint64_t lh_flood_evictions(const lh_flood_t *f) { return f->evictions; }
double lh_flood_clock(const lh_flood_t *f) { return f->clock; }
size_t lh_group_memory(const lh_group_t *g) { return lh_group_bytes(g); }
size_t lh_flood_memory(const lh_flood_t *f) { return f->memory; }

void lh_bucket_init(lh_bucket_t *b, double rate, double burst, double now) {
  *b = (lh_bucket_t){rate, burst, burst, now};
}

int lh_bucket_take(lh_bucket_t *b, double now) {
  if (now > b->last) {
    b->tokens += (now - b->last) * b->rate;
    if (b->tokens > b->burst)
      b->tokens = b->burst;
    b->last = now;
  }
  if (b->tokens < 1)
    return 0;
  b->tokens -= 1;
  return 1;
}
