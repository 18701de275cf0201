/* Flood control wired to the sends: a queue, a token bucket, and holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notifier.h"

/* One notification on its way: queued as a note, then made its text (at
 * its send, or at a reload) and sent. */
typedef struct pending {
  struct pending *next;
  lh_notifier_t *n;
  lh_note_t *note; /* a copy in one allocation (note_copy); NULL once made text */
  lh_note_t *kept; /* with persist: the note once made text, for persist */
  char *text, *output;
  char *line; /* the readable line logged once it is accepted; with the text */
  size_t len, rule;
  lh_note_kind_t kind;
  uint64_t seq;      /* its place in the queue: the queue's seqs only grow */
  lh_group_t *group; /* FIRING: its group, pinned until the send settles */
  ofctx_t **held;    /* the invocations whose records it carries */
  size_t held_count, held_cap;
} pending_t;

struct lh_notifier {
  lh_notifier_config_t cfg;
  lh_flood_t *flood;
  lh_bucket_t bucket;
  pending_t *head, **tail;
  pending_t *unmarked;      /* the first queued one not yet counted as held back */
  uint64_t seq;             /* the last one queued */
  lh_rule_counts_t *counts; /* one per rule */
  double wall;              /* the newest wall time seen */
};

/* One turn of the notifier, a match or a tick: what the flood's callback
 * (on_note) and the sends need, and what the callback reports back. */
typedef struct {
  lh_notifier_t *n;
  ofctx_t *ctx; /* the invocation of the match; NULL in a tick */
  double wall;
  int nomem;
  lh_group_t *unsent; /* a new key whose firing notification could not be made */
} turn_t;

lh_notifier_t *lh_notifier_new(const lh_notifier_config_t *cfg) {
  lh_notifier_t *n = calloc(1, sizeof *n);

  if (!n || !(n->counts = calloc(cfg->rule_count ? cfg->rule_count : 1, sizeof *n->counts)) ||
      !(n->flood = lh_flood_new(cfg->max_keys, cfg->conds, cfg->rule_count))) {
    if (n)
      free(n->counts);
    free(n);
    return NULL;
  }
  n->cfg = *cfg;
  n->cfg.conds = NULL; /* the flood's copy is the one */
  n->tail = &n->head;
  lh_bucket_init(&n->bucket, cfg->rate, cfg->burst, 0);
  return n;
}

static void pending_free(pending_t *p) {
  free(p->held);
  free(p->note);
  free(p->kept);
  free(p->line);
  free(p->text);
  free(p->output);
  free(p);
}

void lh_notifier_free(lh_notifier_t *n) {
  if (!n)
    return;
  while (n->head) {
    pending_t *p = n->head;
    n->head = p->next;
    pending_free(p);
  }
  lh_flood_free(n->flood);
  free(n->counts);
  free(n);
}

static int holds(const pending_t *p, const ofctx_t *ctx) {
  for (size_t i = 0; i < p->held_count; i++)
    if (p->held[i] == ctx)
      return 1;
  return 0;
}

static int hold(pending_t *p, ofctx_t *ctx) {
  if (holds(p, ctx))
    return 0;
  if (p->held_count == p->held_cap) {
    size_t cap = p->held_cap ? p->held_cap * 2 : 4;
    ofctx_t **bigger = realloc(p->held, cap * sizeof *bigger);
    if (!bigger)
      return -1;
    p->held = bigger;
    p->held_cap = cap;
  }
  if (ofctx_hold(ctx) != OFCTX_OK)
    return -1;
  p->held[p->held_count++] = ctx;
  return 0;
}

static const char *kinds[] = {"firing", "update", "resolved"};

/* `note`'s key as "a/b/c" into `out`. */
static void key_of(const lh_note_t *note, char *out, size_t size) {
  size_t used = 0;

  out[0] = '\0';
  for (size_t i = 0; i < note->key_count && used + 1 < size; i++) {
    if (!*note->key[i])
      continue;
    snprintf(out + used, size - used, "%s%s", used ? "/" : "", note->key[i]);
    used += strlen(out + used);
  }
}

/* `t` (seconds since the epoch) as 2021-08-25T01:54:37, in UTC. */
static void stamp(double t, char out[32]) {
  time_t secs = t >= 0 && t < 253402300800.0 ? (time_t)t : 0; /* the years 1970 to 9999 */
  struct tm tm;

  gmtime_r(&secs, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* "firing   logs-404 demo-project/wordpress-v1-.../wordpress/404: 3 matches
 * (2 new) from 2021-08-25T01:54:37 to 2021-08-25T01:56:02 UTC, samples /a
 * /b" for rule `rule`, and what the rate limit held back before it. */
static void line_of(const lh_note_t *note, const char *rule, char *out, size_t size) {
  char first[32], last[32], fresh[48] = "", held[64] = "", key[256], samples[256] = "";
  size_t used = 0;

  stamp(note->first_seen, first);
  stamp(note->last_seen, last);
  key_of(note, key, sizeof key);
  for (size_t i = 0; i < note->sample_count && used + 1 < sizeof samples; i++) {
    snprintf(samples + used, sizeof samples - used, "%s %s", i ? "" : ", samples",
             note->samples[i]);
    used += strlen(samples + used);
  }
  if (note->kind != LH_NOTE_FIRING && note->new_count)
    snprintf(fresh, sizeof fresh, " (%llu new)", (unsigned long long)note->new_count);
  if (note->suppressed)
    snprintf(held, sizeof held, "; %llu held back by the rate limit before",
             (unsigned long long)note->suppressed);
  snprintf(out, size, "%-8s %s %s: %llu match%s%s from %s to %s UTC%s%s", kinds[note->kind], rule,
           key, (unsigned long long)note->count, note->count == 1 ? "" : "es", fresh, first, last,
           samples, held);
}

/* Bytes of the strings of `count` fields (names and values, NUL ended). */
static size_t fields_size(const lh_field_t *f, size_t count) {
  size_t size = 0;

  for (size_t i = 0; i < count; i++)
    size += strlen(f[i].name) + strlen(f[i].value) + 2;
  return size;
}

static size_t strings_size(const char *const *s, size_t count) {
  size_t size = 0;

  for (size_t i = 0; i < count; i++)
    size += (s[i] ? strlen(s[i]) : 0) + 1;
  return size;
}

/* 1 when the last fields are the first ones (a group of one match). */
static int same_fields(const lh_note_t *note) {
  if (note->first_count != note->last_count)
    return 0;
  for (size_t i = 0; i < note->first_count; i++)
    if (strcmp(note->first_fields[i].name, note->last_fields[i].name) != 0 ||
        strcmp(note->first_fields[i].value, note->last_fields[i].value) != 0)
      return 0;
  return 1;
}

/* `s` (NULL is "") copied to `*at`, which moves past it. */
static const char *put(char **at, const char *s) {
  size_t len = s ? strlen(s) : 0;
  char *copy = *at;

  if (len)
    memcpy(copy, s, len);
  copy[len] = '\0';
  *at += len + 1;
  return copy;
}

static void put_fields(lh_field_t *to, const lh_field_t *from, size_t count, char **at) {
  for (size_t i = 0; i < count; i++) {
    to[i].name = put(at, from[i].name);
    to[i].value = put(at, from[i].value);
  }
}

/* A copy of `note` that owns its strings, in one allocation (the note, its
 * arrays, then its strings; last fields equal to the first are the first's):
 * free with free(). NULL when out of memory. */
static lh_note_t *note_copy(const lh_note_t *note) {
  int same = same_fields(note);
  size_t last_count = same ? 0 : note->last_count;
  size_t ptrs = note->key_count + note->sample_count, fields = note->first_count + last_count;
  size_t head = sizeof *note + ptrs * sizeof(char *) + fields * sizeof(lh_field_t);
  size_t size = head + strings_size(note->key, note->key_count) +
                strings_size(note->samples, note->sample_count) +
                fields_size(note->first_fields, note->first_count) +
                fields_size(note->last_fields, last_count);
  lh_note_t *copy = malloc(size);
  const char **key, **samples;
  lh_field_t *first, *last;
  char *at;

  if (!copy)
    return NULL;
  *copy = *note;
  key = (const char **)(copy + 1);
  samples = key + note->key_count;
  first = (lh_field_t *)(samples + note->sample_count);
  last = first + note->first_count;
  at = (char *)copy + head;
  for (size_t i = 0; i < note->key_count; i++)
    key[i] = put(&at, note->key[i]);
  for (size_t i = 0; i < note->sample_count; i++)
    samples[i] = put(&at, note->samples[i]);
  put_fields(first, note->first_fields, note->first_count, &at);
  put_fields(last, note->last_fields, last_count, &at);
  copy->key = key;
  copy->samples = samples;
  copy->first_fields = first;
  copy->last_fields = same ? first : last;
  return copy;
}

/* `p`'s note made its text, its output and its line, at wall time `wall`
 * (a firing alert's lease runs from it), and freed: 0, or -1 when it
 * cannot be (out of memory, or its rule is gone). */
static int render(lh_notifier_t *n, pending_t *p, double wall) {
  lh_note_dest_t dest = {NULL, NULL};
  char line[512];

  if (!p->note)
    return 0;
  p->note->rule = p->rule;
  if ((p->text = n->cfg.format(n->cfg.arg, p->note, wall, &p->len, &dest)) && dest.output &&
      dest.rule)
    line_of(p->note, dest.rule, line, sizeof line);
  if (!p->text || !dest.output || !dest.rule || !(p->output = strdup(dest.output)) ||
      !(p->line = strdup(line))) {
    free(p->text);
    free(p->output);
    p->text = p->output = NULL;
    return -1;
  }
  if (n->cfg.persist)
    p->kept = p->note;
  else
    free(p->note);
  p->note = NULL;
  return 0;
}

/* The UPDATE of `group` still in the queue, or NULL. */
static pending_t *waiting(const lh_notifier_t *n, const lh_group_t *group) {
  uint64_t seq;
  pending_t *p = lh_group_queued(group, &seq);

  /* only the head leaves the queue, so a seq from the head on is still in it */
  return p && n->head && seq >= n->head->seq ? p : NULL;
}

/* `note` (an UPDATE or RESOLVED of a group whose UPDATE `p` is still
 * queued) takes `p`'s place: its counts are the group's so far, and it
 * carries what `p` carried, and `p` itself as held back. 0, or -1 when out
 * of memory (`p` is kept). */
static int supersede(lh_notifier_t *n, pending_t *p, const lh_note_t *note) {
  lh_note_t *copy = note_copy(note);
  uint64_t fresh = p->note ? p->note->new_count : 0, carried = p->note ? p->note->suppressed : 0;

  if (!copy)
    return -1;
  if (!p->note) { /* made text at a reload: its counts are in its text only */
    free(copy);
    return -1;
  }
  copy->new_count += fresh;
  copy->suppressed += carried + 1;
  lh_flood_superseded(n->flood, note->rule);
  free(p->note);
  p->note = copy;
  p->kind = note->kind;
  p->rule = note->rule;
  return 0;
}

static void enqueue(lh_notifier_t *n, pending_t *p) {
  p->seq = ++n->seq;
  *n->tail = p;
  n->tail = &p->next;
  if (!n->unmarked)
    n->unmarked = p;
}

/* The flood's callback: the note becomes a queued notification (or takes
 * the place of its group's UPDATE still queued); a firing one pins its
 * group and holds the record that fired it. */
static void on_note(const lh_note_t *note, lh_group_t *group, void *arg) {
  turn_t *t = arg;
  lh_notifier_t *n = t->n;
  pending_t *p = note->kind != LH_NOTE_FIRING ? waiting(n, group) : NULL;

  if (p && supersede(n, p, note) == 0) {
    if (note->kind == LH_NOTE_RESOLVED) /* nothing takes a RESOLVED's place */
      lh_group_set_queued(group, NULL, 0);
    return;
  }
  if (!(p = calloc(1, sizeof *p)) || !(p->note = note_copy(note))) {
    free(p);
    t->nomem = 1;
    if (note->kind == LH_NOTE_FIRING) /* its key must fire with its next match */
      t->unsent = group;
    return;
  }
  p->n = n;
  p->rule = note->rule;
  p->kind = note->kind;
  if (note->kind == LH_NOTE_FIRING) {
    p->group = group;
    lh_group_set_user(n->flood, group, p);
    if (t->ctx && hold(p, t->ctx) != 0)
      t->nomem = 1;
  }
  enqueue(n, p);
  lh_group_set_queued(group, note->kind == LH_NOTE_UPDATE ? p : NULL, p->seq);
}

/* `p`, accepted, to be kept by persist (in the turn `ctx`), which takes
 * over its holds: 1 when it did. */
static int persisted(lh_notifier_t *n, pending_t *p, ofctx_t *ctx) {
  if (!n->cfg.persist || !ctx || !p->kept || p->rule >= n->cfg.rule_count)
    return 0;
  p->kept->rule = p->rule;
  p->kept->kind = p->kind;
  if (n->cfg.persist(n->cfg.persist_arg, ctx, p->kept, p->held, p->held_count) != 0) {
    for (size_t i = 0; i < p->held_count; i++)
      ofctx_release(p->held[i], OFCTX_ESTATE);
    p->held_count = 0;
  }
  return 1;
}

/* The send of `p` (in the turn `ctx`; NULL when it never left) ended with
 * `status` (OFCTX_OK: it was accepted). */
static void settle(pending_t *p, ofctx_t *ctx, ofctx_err_t status) {
  lh_notifier_t *n = p->n;

  if (p->rule < n->cfg.rule_count) {
    if (status == OFCTX_OK)
      n->counts[p->rule].sent[p->kind]++;
    else
      n->counts[p->rule].failed[p->kind]++;
  }
  if (status != OFCTX_OK || !persisted(n, p, ctx))
    for (size_t i = 0; i < p->held_count; i++)
      ofctx_release(p->held[i], status);
  if (p->group) {
    if (status == OFCTX_OK)
      lh_group_set_user(p->n->flood, p->group, NULL);
    else
      lh_flood_forget(p->n->flood, p->group);
  }
  pending_free(p);
}

static void sent(ofctx_t *ctx, const ofctx_send_result_t *r, void *arg) {
  pending_t *p = arg;

  if (r->code == OFCTX_OK) {
    ofctx_log(ctx, OFCTX_LOG_INFO, "notified: %s", p->line);
  } else {
    ofctx_log(ctx, OFCTX_LOG_ERROR, "notification failed (%s): %s", r->message, p->line);
    p->n->bucket.tokens = 0; /* the receiver is struggling: wait for the next token */
  }
  settle(p, ctx, r->code);
}

enum {
  PUMP_TICK = 1 << 0,     /* send any notification, not only one that holds `ctx` */
  PUMP_UNLIMITED = 1 << 1 /* send the whole queue, tokens or not */
};

/* The rate limit holds the queue back: every queued notification not yet
 * counted is counted for its rule (once: the ones after `unmarked` are the
 * ones not yet counted). */
static void held_back(lh_notifier_t *n) {
  for (pending_t *p = n->unmarked; p; p = p->next)
    lh_flood_suppress(n->flood, p->rule);
  n->unmarked = NULL;
}

/* Sends from the head of the queue while tokens last. An invocation's
 * context sends only a notification that carries its own record (so that
 * no other record waits on it); a tick's (PUMP_TICK) sends any. */
static void pump(lh_notifier_t *n, ofctx_t *ctx, double wall, unsigned flags) {
  while (n->head && ((flags & PUMP_TICK) || holds(n->head, ctx))) {
    pending_t *p = n->head;
    ofctx_send_opts_t opts = OFCTX_SEND_OPTS_INIT;
    ofctx_err_t rc;

    if (!(flags & PUMP_UNLIMITED) && !lh_bucket_take(&n->bucket, wall)) {
      held_back(n);
      return;
    }
    n->head = p->next;
    if (!n->head)
      n->tail = &n->head;
    if (n->unmarked == p)
      n->unmarked = p->next;
    if (render(n, p, wall) != 0) {
      ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory: a notification was lost");
      settle(p, NULL, OFCTX_ENOMEM);
      continue;
    }
    opts.content_type = "application/json"; /* the library need not parse it again */
    opts.done = sent;
    opts.arg = p;
    rc = ofctx_send_to(ctx, p->output, p->text, p->len, &opts);
    free(p->text); /* copied by the send: only the line is needed until it settles */
    free(p->output);
    p->text = p->output = NULL;
    if (rc != OFCTX_OK) {
      ofctx_log(ctx, OFCTX_LOG_ERROR, "cannot send a notification: %s: %s", ofctx_strerror(rc),
                p->line);
      settle(p, NULL, rc);
    }
  }
}

ofctx_result_t lh_notifier_hit(lh_notifier_t *n, ofctx_t *ctx, const lh_hit_t *h, double wall) {
  turn_t t = {.n = n, .ctx = ctx, .wall = wall};
  lh_group_t *g;
  pending_t *firing;
  uint64_t evicted = lh_flood_evictions(n->flood);

  n->wall = wall;
  if (h->matched && h->rule < n->cfg.rule_count)
    n->counts[h->rule].matched++;
  if (!lh_flood_wants(n->flood, h)) { /* nothing to fold: it must not be nacked for ever */
    lh_flood_record(n->flood, h->time, wall);
    return OFCTX_SUCCESS;
  }
  g = lh_flood_hit(n->flood, h, wall, on_note, &t);
  if (t.unsent) { /* out of memory: the record is nacked, and nothing of it kept */
    lh_flood_forget(n->flood, t.unsent);
    g = NULL;
  }
  if (lh_flood_evictions(n->flood) != evicted)
    ofctx_log(ctx, OFCTX_LOG_WARN,
              "LOGS_MAX_KEYS (%zu) keys kept: dropped the least recently matched one, without "
              "a notification (%llu dropped so far)",
              n->cfg.max_keys, (unsigned long long)lh_flood_evictions(n->flood));
  /* a record of a key whose firing is still on its way waits for it */
  firing = g ? lh_group_user(g) : NULL;
  if (firing && hold(firing, ctx) != 0)
    t.nomem = 1;
  pump(n, ctx, wall, 0);
  return g && !t.nomem ? OFCTX_SUCCESS : OFCTX_ERROR;
}

void lh_notifier_record(lh_notifier_t *n, double time, double wall) {
  n->wall = wall;
  lh_flood_record(n->flood, time, wall);
}

void lh_notifier_tick(lh_notifier_t *n, ofctx_t *ctx, int stopping, double wall) {
  turn_t t = {.n = n, .wall = wall};

  n->wall = wall;
  if (stopping && !n->cfg.persist) /* else they stay open in the store */
    lh_flood_close(n->flood, on_note, &t);
  else
    lh_flood_tick(n->flood, wall, on_note, &t);
  if (t.nomem)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory: a notification was lost");
  pump(n, ctx, wall, PUMP_TICK | (stopping ? PUMP_UNLIMITED : 0));
}

int lh_notifier_restore(lh_notifier_t *n, const lh_note_t *note, double wall) {
  n->wall = wall;
  return lh_flood_restore(n->flood, note, wall);
}

int lh_notifier_set_rules(lh_notifier_t *n, const lh_cond_t *conds, size_t rule_count,
                          const size_t *old_to_new) {
  lh_rule_counts_t *counts = calloc(rule_count ? rule_count : 1, sizeof *counts);

  if (!counts)
    return -1;
  /* the queued ones are made text by the rules they were made under */
  for (pending_t *p = n->head; p; p = p->next)
    if (render(n, p, n->wall) != 0) {
      free(counts);
      return -1;
    }
  if (lh_flood_set_rules(n->flood, conds, rule_count, old_to_new) != 0) {
    free(counts);
    return -1;
  }
  /* a kept rule keeps its counts, and the queued ones follow their rule to
   * its new index (LH_RULE_GONE: counted nowhere) */
  for (size_t i = 0; old_to_new && i < n->cfg.rule_count; i++)
    if (old_to_new[i] < rule_count)
      counts[old_to_new[i]] = n->counts[i];
  for (pending_t *p = n->head; p; p = p->next)
    p->rule = old_to_new && p->rule < n->cfg.rule_count ? old_to_new[p->rule] : LH_RULE_GONE;
  free(n->counts);
  n->counts = counts;
  n->cfg.rule_count = rule_count;
  return 0;
}

const lh_rule_counts_t *lh_notifier_counts(const lh_notifier_t *n, size_t rule) {
  return rule < n->cfg.rule_count ? &n->counts[rule] : NULL;
}

uint64_t lh_notifier_evictions(const lh_notifier_t *n) { return lh_flood_evictions(n->flood); }
size_t lh_notifier_groups(const lh_notifier_t *n) { return lh_flood_groups(n->flood); }
size_t lh_notifier_rule_groups(const lh_notifier_t *n, size_t rule) {
  return lh_flood_rule_groups(n->flood, rule);
}
uint64_t lh_notifier_suppressed(const lh_notifier_t *n, size_t rule) {
  return lh_flood_suppressed(n->flood, rule);
}
