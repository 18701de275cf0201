/* One flood group: its key, its window, its texts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flood_group.h"

#define NAME_MAX_LEN 63 /* bytes kept of a field's name */

/* A window in time slots of window / LH_SLOTS: slot `head` holds the
 * newest time; the ones before it follow, modulo LH_SLOTS. */
typedef struct {
  int64_t head;
  uint32_t matched[LH_SLOTS], total[LH_SLOTS];
} slots_t;

static int uses_ring(const lh_cond_t *c) {
  return c->kind == LH_COND_COUNT && c->count <= LH_RING_MAX;
}

static int uses_slots(const lh_cond_t *c) {
  return c->kind == LH_COND_RATIO || (c->kind == LH_COND_COUNT && c->count > LH_RING_MAX);
}

static size_t window_size(const lh_cond_t *c) {
  if (uses_ring(c))
    return (size_t)c->count * sizeof(double);
  return uses_slots(c) ? sizeof(slots_t) : 0;
}

lh_cond_t lh_cond_normal(const lh_cond_t *c) {
  lh_cond_t d = *c;

  if (d.kind != LH_COND_COUNT && d.kind != LH_COND_RATIO && d.kind != LH_COND_ABSENT)
    d.kind = LH_COND_ANY;
  if (d.count == 0)
    d.count = 1;
  if (!(d.window > 0)) /* also NaN */
    d.window = 1;
  if (d.window < 0.001)
    d.window = 0.001;
  if (d.window > 1e9)
    d.window = 1e9;
  if (d.samples > LH_SAMPLES_MAX)
    d.samples = LH_SAMPLES_MAX;
  return d;
}

int lh_cond_same_window(const lh_cond_t *a, const lh_cond_t *b) {
  return a->kind == b->kind && a->count == b->count && a->window == b->window;
}

size_t lh_cut(const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);

  if (n <= max)
    return n;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  return n;
}

lh_group_t *lh_group_new(const lh_cond_t *c, size_t rule, const char *const *key, size_t n) {
  size_t win = window_size(c), size, lens[LH_KEY_MAX];
  lh_group_t *g;
  char *p;

  if (n > LH_KEY_MAX)
    n = LH_KEY_MAX;
  size = sizeof *g + win + n * sizeof(char *);
  for (size_t i = 0; i < n; i++) {
    lens[i] = lh_cut(key[i] ? key[i] : "", LH_VALUE_MAX);
    size += lens[i] + 1;
  }
  g = calloc(1, size);
  if (!g)
    return NULL;
  g->rule = rule;
  g->bytes = size;
  g->key = (const char **)(void *)(g->window + win);
  g->key_count = n;
  p = (char *)(g->key + n);
  for (size_t i = 0; i < n; i++) {
    memcpy(p, key[i] ? key[i] : "", lens[i]);
    p[lens[i]] = '\0';
    g->key[i] = p;
    p += lens[i] + 1;
  }
  return g;
}

void lh_group_free(lh_group_t *g) {
  if (g)
    free(g->texts);
  free(g);
}

size_t lh_group_bytes(const lh_group_t *g) { return g->bytes + g->texts_cap; }

int lh_group_is(const lh_group_t *g, size_t rule, const char *const *key, size_t n) {
  if (n > LH_KEY_MAX)
    n = LH_KEY_MAX;
  if (g->rule != rule || g->key_count != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = key[i] ? key[i] : "";
    size_t len = lh_cut(v, LH_VALUE_MAX);
    if (memcmp(g->key[i], v, len) != 0 || g->key[i][len] != '\0')
      return 0;
  }
  return 1;
}

/* Bytes `fields` take packed: name NUL value NUL each. */
static size_t fields_len(const lh_field_t *fields, size_t n) {
  size_t len = 0;

  for (size_t i = 0; i < n; i++)
    len += lh_cut(fields[i].name ? fields[i].name : "", NAME_MAX_LEN) + 1 +
           lh_cut(fields[i].value ? fields[i].value : "", LH_VALUE_MAX) + 1;
  return len;
}

static char *put(char *dst, const char *s, size_t max) {
  size_t n = lh_cut(s ? s : "", max);

  if (n)
    memcpy(dst, s, n);
  dst[n] = '\0';
  return dst + n + 1;
}

static void put_fields(char *dst, const lh_field_t *fields, size_t n) {
  for (size_t i = 0; i < n; i++) {
    dst = put(dst, fields[i].name, NAME_MAX_LEN);
    dst = put(dst, fields[i].value, LH_VALUE_MAX);
  }
}

/* 1 when `s` is a new sample for `g` (there is room, and it is not kept). */
static int new_sample(const lh_group_t *g, const lh_cond_t *c, const char *s) {
  const char *p;
  size_t len;

  if (!s || !*s || g->sample_n >= c->samples)
    return 0;
  if (g->sample_n == 0) /* nothing kept yet: `texts` may not be there */
    return 1;
  p = g->texts + g->first_len;
  len = lh_cut(s, LH_VALUE_MAX);
  for (uint8_t i = 0; i < g->sample_n; i++, p += strlen(p) + 1)
    if (strncmp(p, s, len) == 0 && p[len] == '\0')
      return 0;
  return 1;
}

static int room(lh_group_t *g, size_t need) {
  char *bigger;

  if (need <= g->texts_cap && g->texts) /* none yet: made even for nothing (a restore's) */
    return 0;
  need += 32; /* a little more: the last fields change often */
  bigger = realloc(g->texts, need);
  if (!bigger)
    return -1;
  g->texts = bigger;
  g->texts_cap = (uint32_t)need;
  return 0;
}

int lh_group_keep(lh_group_t *g, const lh_cond_t *c, const lh_hit_t *h) {
  size_t nf = h->field_count < LH_FIELDS_MAX ? h->field_count : LH_FIELDS_MAX;
  size_t last = fields_len(h->fields, nf);
  int first = !g->first_kept, sample = new_sample(g, c, h->sample);
  size_t slen = sample ? lh_cut(h->sample, LH_VALUE_MAX) + 1 : 0;
  size_t first_len = first ? last : g->first_len;

  if (room(g, first_len + g->samples_len + slen + last) != 0)
    return -1;
  if (first) {
    put_fields(g->texts, h->fields, nf);
    g->first_len = (uint32_t)last;
    g->first_n = (uint8_t)nf;
    g->first_kept = 1;
  }
  if (sample) {
    put(g->texts + g->first_len + g->samples_len, h->sample, LH_VALUE_MAX);
    g->samples_len += (uint32_t)slen;
    g->sample_n++;
  }
  put_fields(g->texts + g->first_len + g->samples_len, h->fields, nf);
  g->last_len = (uint32_t)last;
  g->last_n = (uint8_t)nf;
  return 0;
}

static int64_t slot_of(const lh_cond_t *c, double t) {
  return (int64_t)floor(t / (c->window / LH_SLOTS));
}

static size_t at(int64_t slot) { return (size_t)(((slot % LH_SLOTS) + LH_SLOTS) % LH_SLOTS); }

/* The slots moved on to `now`'s: the ones it passes are emptied. */
static slots_t *slots_at(lh_group_t *g, const lh_cond_t *c, double now) {
  slots_t *s = (slots_t *)(void *)g->window;
  int64_t slot = slot_of(c, now);

  if (slot > s->head) {
    if (slot - s->head >= LH_SLOTS) {
      memset(s->matched, 0, sizeof s->matched);
      memset(s->total, 0, sizeof s->total);
    } else {
      for (int64_t i = s->head + 1; i <= slot; i++)
        s->matched[at(i)] = s->total[at(i)] = 0;
    }
    s->head = slot;
  }
  return s;
}

/* `t` into the `count` newest times, kept in ascending order. */
static void ring_add(lh_group_t *g, const lh_cond_t *c, double t) {
  double *ring = (double *)(void *)g->window;
  size_t i;

  if (g->ring_n == c->count) {
    if (t <= ring[0])
      return;
    memmove(ring, ring + 1, (g->ring_n - 1) * sizeof *ring); /* the oldest goes */
    g->ring_n--;
  }
  for (i = g->ring_n; i > 0 && ring[i - 1] > t; i--)
    ring[i] = ring[i - 1];
  ring[i] = t;
  g->ring_n++;
}

void lh_group_window_add(lh_group_t *g, const lh_cond_t *c, double t, int matched, double now) {
  slots_t *s;
  int64_t slot;

  if (uses_ring(c)) {
    if (matched)
      ring_add(g, c, t);
    return;
  }
  if (!uses_slots(c))
    return;
  s = slots_at(g, c, now);
  slot = slot_of(c, t);
  if (slot <= s->head - LH_SLOTS)
    return; /* older than the window */
  if (slot > s->head)
    slot = s->head;
  if (matched && s->matched[at(slot)] < UINT32_MAX)
    s->matched[at(slot)]++;
  if (s->total[at(slot)] < UINT32_MAX)
    s->total[at(slot)]++;
}

void lh_group_window_counts(lh_group_t *g, const lh_cond_t *c, double now, uint64_t *matched,
                            uint64_t *total) {
  const double *ring = (const double *)(const void *)g->window;
  slots_t *s;

  *matched = *total = 0;
  if (uses_ring(c)) {
    for (uint32_t i = 0; i < g->ring_n; i++)
      *matched += now - ring[i] < c->window;
    *total = *matched;
    return;
  }
  if (!uses_slots(c))
    return;
  s = slots_at(g, c, now);
  for (size_t i = 0; i < LH_SLOTS; i++) {
    *matched += s->matched[i];
    *total += s->total[i];
  }
}

int lh_group_holds(lh_group_t *g, const lh_cond_t *c, double now) {
  uint64_t matched, total;

  if (uses_ring(c))
    return g->ring_n == c->count && now - ((const double *)(const void *)g->window)[0] < c->window;
  lh_group_window_counts(g, c, now, &matched, &total);
  if (c->kind == LH_COND_COUNT)
    return matched >= c->count;
  return total > 0 && total >= c->min_total && (double)matched >= c->ratio * (double)total;
}

double lh_group_hold_end(lh_group_t *g, const lh_cond_t *c, double now) {
  if (uses_ring(c))
    return g->ring_n == c->count ? ((const double *)(const void *)g->window)[0] + c->window
                                 : g->hold_end;
  if (lh_group_holds(g, c, now))
    g->hold_end = now;
  return g->hold_end;
}

void lh_group_fire(lh_group_t *g, const lh_cond_t *c, double now) {
  uint64_t matched, total;

  g->hold_end = now;
  if (c->kind != LH_COND_COUNT)
    return;
  lh_group_window_counts(g, c, now, &matched, &total);
  g->count = g->new_count = matched;
  if (uses_ring(c))
    g->first_seen = ((const double *)(const void *)g->window)[0];
}

/* `n` fields from `p` into `out`; the text after them. */
static const char *get_fields(const char *p, size_t n, lh_field_t *out) {
  for (size_t i = 0; i < n; i++) {
    out[i].name = p;
    p += strlen(p) + 1;
    out[i].value = p;
    p += strlen(p) + 1;
  }
  return p;
}

void lh_group_note(lh_group_t *g, const lh_cond_t *c, double now, lh_note_t *n, lh_field_t *first,
                   lh_field_t *last, const char **samples) {
  const char *p = g->texts;

  *n = (lh_note_t){.rule = g->rule,
                   .key = g->key,
                   .key_count = g->key_count,
                   .count = g->count,
                   .new_count = g->new_count,
                   .first_seen = g->first_seen,
                   .last_seen = g->last_seen,
                   .now = now,
                   .first_fields = first,
                   .last_fields = last,
                   .samples = samples};
  if (c->kind == LH_COND_RATIO)
    lh_group_window_counts(g, c, now, &n->count, &n->total);
  if (!p)
    return;
  p = get_fields(p, g->first_n, first);
  for (uint8_t i = 0; i < g->sample_n; i++, p += strlen(p) + 1)
    samples[i] = p;
  get_fields(p, g->last_n, last);
  n->first_count = g->first_n;
  n->last_count = g->last_n;
  n->sample_count = g->sample_n;
}
