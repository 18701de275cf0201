/* Flood control: groups of matches per alert identity, in a hash table
 * with a least-recently-matched list for eviction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"

struct lh_group {
  char *key; /* namespace NUL pod NUL container NUL status */
  size_t key_len;
  const char *ns, *pod, *container; /* into key */
  int status;
  uint64_t count, new_count;
  double first_seen, last_seen, last_notified;
  char *samples[LH_SAMPLES];
  size_t sample_count;
  char *last_path, *method, *client;
  void *user;
  int ended; /* out of the table, freed once unpinned */
  lh_group_t *hnext, *prev, *next;
};

struct lh_flood {
  lh_flood_config_t cfg;
  lh_group_t **buckets;
  size_t mask, count;
  lh_group_t *newest, *oldest; /* by last match */
  uint64_t evictions;
  double clock; /* the records' time, carried forward */
  double clock_at_match, wall_at_match;
  int matched;
};

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

lh_flood_t *lh_flood_new(const lh_flood_config_t *cfg) {
  lh_flood_t *f = calloc(1, sizeof *f);
  size_t n = 16;

  if (!f)
    return NULL;
  f->cfg = *cfg;
  while (n < cfg->max_keys * 2 && n < ((size_t)1 << 24))
    n *= 2;
  f->buckets = calloc(n, sizeof *f->buckets);
  if (!f->buckets) {
    free(f);
    return NULL;
  }
  f->mask = n - 1;
  return f;
}

static void group_free(lh_group_t *g) {
  for (size_t i = 0; i < g->sample_count; i++)
    free(g->samples[i]);
  free(g->last_path);
  free(g->method);
  free(g->client);
  free(g->key);
  free(g);
}

/* Out of the least-recently-matched list. */
static void unlink_lru(lh_flood_t *f, lh_group_t *g) {
  if (g->prev)
    g->prev->next = g->next;
  else
    f->newest = g->next;
  if (g->next)
    g->next->prev = g->prev;
  else
    f->oldest = g->prev;
}

/* Out of the table and the list; freed now unless pinned. */
static void end_group(lh_flood_t *f, lh_group_t *g) {
  lh_group_t **p = &f->buckets[hash(g->key, g->key_len) & f->mask];

  while (*p != g)
    p = &(*p)->hnext;
  *p = g->hnext;
  unlink_lru(f, g);
  f->count--;
  g->ended = 1;
  if (!g->user)
    group_free(g);
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
  free(f);
}

/* `*dst` becomes a copy of `s` ("" for NULL); 0, or -1 when out of memory. */
static int keep(char **dst, const char *s) {
  size_t n = s ? strlen(s) : 0;
  char *c = realloc(*dst, n + 1);

  if (!c)
    return -1;
  if (n)
    memcpy(c, s, n);
  c[n] = '\0';
  *dst = c;
  return 0;
}

static void note_of(const lh_flood_t *f, const lh_group_t *g, lh_note_kind_t kind, lh_note_t *n) {
  *n = (lh_note_t){kind,
                   g->ns,
                   g->pod,
                   g->container,
                   g->status,
                   g->count,
                   g->new_count,
                   g->first_seen,
                   g->last_seen,
                   f->clock,
                   g->method,
                   g->client,
                   g->sample_count ? g->samples[0] : "",
                   g->last_path ? g->last_path : "",
                   {NULL},
                   g->sample_count};
  for (size_t i = 0; i < g->sample_count; i++)
    n->samples[i] = g->samples[i];
}

static void notify(lh_flood_t *f, lh_group_t *g, lh_note_kind_t kind, lh_note_fn emit, void *arg) {
  lh_note_t n;

  note_of(f, g, kind, &n);
  g->new_count = 0;
  g->last_notified = f->clock;
  emit(&n, g, arg);
}

static lh_group_t *find(lh_flood_t *f, const char *key, size_t len) {
  for (lh_group_t *g = f->buckets[hash(key, len) & f->mask]; g; g = g->hnext)
    if (g->key_len == len && memcmp(g->key, key, len) == 0)
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

/* Room for one more group: the least recently matched unpinned one goes. */
static void make_room(lh_flood_t *f) {
  lh_group_t *g = f->oldest;

  while (f->count >= f->cfg.max_keys && g) {
    lh_group_t *prev = g->prev;
    if (!g->user) {
      end_group(f, g);
      f->evictions++;
    }
    g = prev;
  }
}

static lh_group_t *group_new(lh_flood_t *f, const lh_match_t *m, const char *key, size_t len) {
  lh_group_t *g = calloc(1, sizeof *g);
  size_t slot;

  if (!g || !(g->key = malloc(len))) {
    free(g);
    return NULL;
  }
  memcpy(g->key, key, len);
  g->key_len = len;
  g->ns = g->key;
  g->pod = g->ns + strlen(g->ns) + 1;
  g->container = g->pod + strlen(g->pod) + 1;
  g->status = m->status;
  g->first_seen = g->last_seen = m->time;
  make_room(f);
  slot = hash(key, len) & f->mask;
  g->hnext = f->buckets[slot];
  f->buckets[slot] = g;
  f->count++;
  to_front(f, g);
  return g;
}

static int add_sample(lh_group_t *g, const char *path) {
  if (!path || !*path || g->sample_count == LH_SAMPLES)
    return 0;
  for (size_t i = 0; i < g->sample_count; i++)
    if (strcmp(g->samples[i], path) == 0)
      return 0;
  g->samples[g->sample_count] = strdup(path);
  if (!g->samples[g->sample_count])
    return -1;
  g->sample_count++;
  return 0;
}

/* The flood's clock after a record of time `t` at wall time `wall`. */
static void clock_match(lh_flood_t *f, double t, double wall) {
  lh_flood_tick(f, wall, NULL, NULL);
  if (t > f->clock)
    f->clock = t;
  f->clock_at_match = f->clock;
  f->wall_at_match = wall;
  f->matched = 1;
}

lh_group_t *lh_flood_match(lh_flood_t *f, const lh_match_t *m, double wall, lh_note_fn emit,
                           void *arg) {
  char key[1024];
  int n = snprintf(key, sizeof key, "%s%c%s%c%s%c%d", m->namespace_name, 0, m->pod, 0,
                   m->container ? m->container : "", 0, m->status);
  size_t len;
  lh_match_t at = *m;
  lh_group_t *g;

  if (n < 0 || (size_t)n >= sizeof key)
    n = sizeof key - 1; /* names are bounded by Kubernetes far below this */
  len = (size_t)n + 1;
  if (at.time > wall + 60) /* a clock far ahead must not resolve everything */
    at.time = wall;
  clock_match(f, at.time, wall);
  g = find(f, key, len);
  if (g && !g->user && at.time - g->last_seen >= f->cfg.quiet_period) {
    /* quiet for long enough before this record: that episode is over (a
     * backlog gets here before any tick could see it) */
    notify(f, g, LH_NOTE_RESOLVED, emit, arg);
    end_group(f, g);
    g = NULL;
  }
  if (!g) {
    g = group_new(f, &at, key, len);
    if (!g)
      return NULL;
  } else {
    to_front(f, g);
    if (at.time < g->first_seen)
      g->first_seen = at.time;
    if (at.time > g->last_seen)
      g->last_seen = at.time;
  }
  g->count++;
  g->new_count++;
  if (add_sample(g, at.path) != 0 || keep(&g->last_path, at.path) != 0 ||
      keep(&g->method, at.method) != 0 || keep(&g->client, at.client) != 0) {
    if (g->count == 1) {
      end_group(f, g);
      return NULL;
    }
    return g; /* counted; its texts stay as they were */
  }
  if (g->count == 1)
    notify(f, g, LH_NOTE_FIRING, emit, arg);
  else if (f->clock - g->last_notified >= f->cfg.repeat_interval)
    notify(f, g, LH_NOTE_UPDATE, emit, arg);
  return g;
}

void lh_flood_tick(lh_flood_t *f, double wall, lh_note_fn emit, void *arg) {
  lh_group_t *g = f->oldest;

  if (f->matched && wall > f->wall_at_match &&
      f->clock_at_match + (wall - f->wall_at_match) > f->clock)
    f->clock = f->clock_at_match + (wall - f->wall_at_match);
  if (!emit)
    return;
  while (g) {
    lh_group_t *prev = g->prev;
    if (!g->user) { /* a pinned group's firing is still on its way */
      if (f->clock - g->last_seen >= f->cfg.quiet_period) {
        notify(f, g, LH_NOTE_RESOLVED, emit, arg);
        end_group(f, g);
      } else if (g->new_count > 0 && f->clock - g->last_notified >= f->cfg.repeat_interval) {
        notify(f, g, LH_NOTE_UPDATE, emit, arg);
      }
    }
    g = prev;
  }
}

void lh_flood_close(lh_flood_t *f, lh_note_fn emit, void *arg) {
  while (f->oldest) {
    lh_group_t *g = f->oldest;
    notify(f, g, LH_NOTE_RESOLVED, emit, arg);
    end_group(f, g);
  }
}

void *lh_group_user(const lh_group_t *g) { return g->user; }

void lh_group_set_user(lh_flood_t *f, lh_group_t *g, void *user) {
  (void)f;
  g->user = user;
  if (!user && g->ended)
    group_free(g);
}

void lh_flood_forget(lh_flood_t *f, lh_group_t *g) {
  g->user = NULL;
  if (g->ended)
    group_free(g);
  else
    end_group(f, g);
}

size_t lh_flood_groups(const lh_flood_t *f) { return f->count; }
uint64_t lh_flood_evictions(const lh_flood_t *f) { return f->evictions; }
double lh_flood_clock(const lh_flood_t *f) { return f->clock; }

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
