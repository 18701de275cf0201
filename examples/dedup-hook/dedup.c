/* The ids of acknowledged events: a ring in arrival order (the oldest is
 * dropped first) and a chained hash over it. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dedup.h"

#define NONE SIZE_MAX

typedef struct {
  char *key; /* source, '\n', id; NULL: a free slot */
  uint64_t hash;
  double at;   /* when it was acknowledged */
  size_t next; /* in its bucket's chain, or NONE */
} entry_t;

struct dedup {
  double window;
  entry_t *ring;
  size_t capacity, head, count; /* the oldest at `head` */
  size_t *buckets, mask;        /* entry indices, NONE: empty */
  uint64_t dropped;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t hash_of(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

dedup_t *dedup_new(double window, size_t capacity) {
  dedup_t *d;
  size_t n = 1;

  if (!(window > 0) || capacity == 0 || capacity > SIZE_MAX / 4)
    return NULL;
  while (n < capacity)
    n <<= 1;
  if (!(d = calloc(1, sizeof *d)))
    return NULL;
  d->window = window;
  d->capacity = capacity;
  d->mask = n - 1;
  d->ring = calloc(capacity, sizeof *d->ring);
  d->buckets = malloc(n * sizeof *d->buckets);
  if (!d->ring || !d->buckets) {
    dedup_free(d);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    d->buckets[i] = NONE;
  return d;
}

void dedup_free(dedup_t *d) {
  if (!d)
    return;
  for (size_t i = 0; d->ring && i < d->capacity; i++)
    free(d->ring[i].key);
  free(d->ring);
  free(d->buckets);
  free(d);
}

/* The event's key (source '\n' id, malloc'd), or NULL when it has no id
 * or out of memory. */
static char *key_of(const ofctx_t *ctx) {
  const ofctx_event_t *ev = ofctx_event(ctx);
  const char *id = ev ? ofctx_event_attribute(ev, "id") : NULL;
  const char *source = ev ? ofctx_event_attribute(ev, "source") : NULL;
  size_t a, b;
  char *key;

  if (!id || !*id)
    return NULL;
  source = source ? source : "";
  a = strlen(source);
  b = strlen(id);
  if (!(key = malloc(a + b + 2)))
    return NULL;
  memcpy(key, source, a);
  key[a] = '\n';
  memcpy(key + a + 1, id, b + 1);
  return key;
}

static entry_t *find(const dedup_t *d, const char *key, uint64_t h) {
  for (size_t i = d->buckets[h & d->mask]; i != NONE; i = d->ring[i].next)
    if (d->ring[i].hash == h && strcmp(d->ring[i].key, key) == 0)
      return &d->ring[i];
  return NULL;
}

/* Drops the oldest entry. */
static void drop_oldest(dedup_t *d) {
  entry_t *e = &d->ring[d->head];
  size_t *link = &d->buckets[e->hash & d->mask];

  while (*link != d->head)
    link = &d->ring[*link].next;
  *link = e->next;
  free(e->key);
  e->key = NULL;
  d->head = (d->head + 1) % d->capacity;
  d->count--;
}

/* Drops what the window has passed, then the oldest while full. */
static void expire(dedup_t *d, double t, int make_room) {
  while (d->count &&
         (t - d->ring[d->head].at > d->window || (make_room && d->count == d->capacity)))
    drop_oldest(d);
}

static ofctx_result_t pre(ofctx_t *ctx, void *arg) {
  dedup_t *d = arg;
  char *key = key_of(ctx);
  uint64_t h;
  entry_t *e;

  if (!key)
    return OFCTX_SUCCESS;
  h = hash_of(key);
  expire(d, now(), 0);
  e = find(d, key, h);
  free(key);
  if (!e)
    return OFCTX_SUCCESS;
  d->dropped++;
  ofctx_log(ctx, OFCTX_LOG_DEBUG, "dedup: dropped an event acknowledged before (id %s)",
            ofctx_event_attribute(ofctx_event(ctx), "id"));
  return OFCTX_DROP;
}

static void done(ofctx_t *ctx, ofctx_result_t outcome, void *arg) {
  dedup_t *d = arg;
  char *key;
  uint64_t h;
  double t = now();
  size_t slot;
  entry_t *e;

  if (outcome != OFCTX_SUCCESS || !(key = key_of(ctx)))
    return; /* not handled (delivered again), or no id; a drop of ours is known already */
  h = hash_of(key);
  expire(d, t, 1);
  if ((e = find(d, key, h)) != NULL) { /* two deliveries in flight at once */
    free(key);
    return;
  }
  slot = (d->head + d->count) % d->capacity;
  d->ring[slot] = (entry_t){key, h, t, d->buckets[h & d->mask]};
  d->buckets[h & d->mask] = slot;
  d->count++;
}

ofctx_hook_t dedup_hook(dedup_t *d) {
  ofctx_hook_t hook = {.name = "dedup", .pre = pre, .done = done, .arg = d};
  return hook;
}

uint64_t dedup_dropped(const dedup_t *d) { return d->dropped; }
size_t dedup_kept(const dedup_t *d) { return d->count; }
