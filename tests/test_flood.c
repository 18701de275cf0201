/* The logs-handler's flood control on a fake clock: a burst is one firing
 * and one resolved notification, keys are apart, a trickle repeats only at
 * the repeat interval, a replay groups as live traffic did, the state is
 * bounded, and the token bucket spends what it has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flood.h"

#define T0 1629856477.0 /* 2021-08-25T01:54:37Z */

typedef struct {
  lh_note_kind_t kind;
  char pod[64];
  unsigned long long count, new_count;
  double first, last, now;
  char first_path[64], last_path[64];
  size_t samples;
  size_t rule;
  unsigned long long total, suppressed;
  char sample[LH_SAMPLES_MAX][32];
} seen_t;

typedef struct {
  seen_t notes[64];
  size_t count;
} log_t;

/* The value of the field `name`, or "". */
static const char *field(const lh_field_t *fields, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(fields[i].name, name) == 0)
      return fields[i].value;
  return "";
}

static void record(const lh_note_t *n, lh_group_t *g, void *arg) {
  log_t *log = arg;
  seen_t *s = &log->notes[log->count++];

  (void)g;
  assert_true(log->count <= 64);
  *s = (seen_t){.kind = n->kind,
                .count = n->count,
                .new_count = n->new_count,
                .first = n->first_seen,
                .last = n->last_seen,
                .now = n->now,
                .samples = n->sample_count,
                .rule = n->rule,
                .total = n->total,
                .suppressed = n->suppressed};
  snprintf(s->pod, sizeof s->pod, "%s", n->key_count > 1 ? n->key[1] : "");
  snprintf(s->first_path, sizeof s->first_path, "%s",
           field(n->first_fields, n->first_count, "path"));
  snprintf(s->last_path, sizeof s->last_path, "%s", field(n->last_fields, n->last_count, "path"));
  for (size_t i = 0; i < n->sample_count && i < LH_SAMPLES_MAX; i++)
    snprintf(s->sample[i], sizeof s->sample[i], "%s", n->samples[i]);
}

/* The logs-handler's env rule: any, repeat 1h, resolve after 5m, 3 samples. */
static const lh_cond_t any = {
    .kind = LH_COND_ANY, .repeat_interval = 3600, .resolve_after = 300, .samples = 3};

/* A hit's storage: the key and fields point into it. */
typedef struct {
  const char *key[4];
  lh_field_t fields[3];
  lh_hit_t hit;
} hit_t;

static lh_hit_t *make(hit_t *h, size_t rule, const char *pod, const char *path, double t) {
  *h = (hit_t){.key = {"demo-project", pod, "wordpress", "404"},
               .fields = {{"path", path}, {"method", "GET"}, {"client", "10.0.0.1"}}};
  h->hit = (lh_hit_t){rule, h->key, 4, 1, path, h->fields, 3, t};
  return &h->hit;
}

/* A flood of the env rule for at most `max_keys`. */
static lh_flood_t *env_flood(size_t max_keys) { return lh_flood_new(max_keys, &any, 1); }

/* One matching 404 of `pod` at `t`, the wall clock at `wall`. */
static lh_group_t *match(lh_flood_t *f, const char *pod, const char *path, double t, double wall,
                         log_t *log) {
  hit_t h;
  return lh_flood_hit(f, make(&h, 0, pod, path, t), wall, record, log);
}

/* 10 000 404s from one pod within a minute: one firing (count 1) at once,
 * then nothing until the quiet period has passed, then one resolved that
 * carries them all. The wall clock alone resolves it: no record comes. */
static void burst_is_one_firing_and_one_resolved(void **state) {
  lh_flood_t *f = env_flood(100);
  log_t log = {0};
  char path[32];
  (void)state;

  for (int i = 0; i < 10000; i++) {
    double t = T0 + i * 0.006;
    snprintf(path, sizeof path, "/missing/%d", i);
    assert_non_null(match(f, "pod-a", path, t, t, &log));
    if (i % 100 == 0)
      lh_flood_tick(f, t, record, &log);
  }
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  assert_int_equal(log.notes[0].count, 1);
  assert_string_equal(log.notes[0].first_path, "/missing/0");
  for (double w = T0 + 60; w < T0 + 60 + 299; w += 1)
    lh_flood_tick(f, w, record, &log);
  assert_int_equal(log.count, 1); /* the quiet period has not passed */
  lh_flood_tick(f, T0 + 60 + 301, record, &log);
  assert_int_equal(log.count, 2);
  assert_int_equal(log.notes[1].kind, LH_NOTE_RESOLVED);
  assert_int_equal(log.notes[1].count, 10000);
  assert_int_equal(log.notes[1].new_count, 9999);
  assert_string_equal(log.notes[1].first_path, "/missing/0");
  assert_string_equal(log.notes[1].last_path, "/missing/9999");
  assert_int_equal(log.notes[1].samples, 3);
  assert_true(log.notes[1].last - log.notes[1].first > 59.9);
  assert_int_equal(lh_flood_groups(f), 0);
  /* the next match is a new episode */
  match(f, "pod-a", "/x", T0 + 1000, T0 + 1000, &log);
  assert_int_equal(log.notes[2].kind, LH_NOTE_FIRING);
  lh_flood_free(f);
}

/* Three pods are three keys: three firing, three resolved. */
static void three_pods_three_notifications(void **state) {
  lh_flood_t *f = env_flood(100);
  log_t log = {0};
  const char *pods[] = {"pod-a", "pod-b", "pod-c"};
  size_t firing = 0, resolved = 0;
  (void)state;

  for (int i = 0; i < 3000; i++) {
    match(f, pods[i % 3], "/x", T0 + i * 0.01, T0 + i * 0.01, &log);
  }
  lh_flood_tick(f, T0 + 400, record, &log);
  for (size_t i = 0; i < log.count; i++) {
    firing += log.notes[i].kind == LH_NOTE_FIRING;
    resolved += log.notes[i].kind == LH_NOTE_RESOLVED && log.notes[i].count == 1000;
  }
  assert_int_equal(log.count, 6);
  assert_int_equal(firing, 3);
  assert_int_equal(resolved, 3);
  lh_flood_free(f);
}

/* One 404 every 4 minutes for 3 hours (never quiet for 5): the firing, an
 * update at each repeat interval carrying what came since, and the resolve
 * once it stops. */
static void trickle_repeats_only_at_the_repeat_interval(void **state) {
  lh_flood_t *f = env_flood(100);
  log_t log = {0};
  double t;
  (void)state;

  for (t = T0; t <= T0 + 3 * 3600; t += 240) {
    match(f, "pod-a", "/x", t, t, &log);
    for (double w = t + 10; w < t + 240; w += 10) /* the ticks between */
      lh_flood_tick(f, w, record, &log);
  }
  lh_flood_tick(f, t + 600, record, &log);
  assert_int_equal(log.count, 5);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  for (int i = 1; i <= 3; i++) {
    assert_int_equal(log.notes[i].kind, LH_NOTE_UPDATE);
    /* the first match at or after each full hour carries the hour's 15 */
    assert_true(log.notes[i].now - log.notes[i - 1].now >= 3600);
    assert_true(log.notes[i].now - log.notes[i - 1].now < 3600 + 240);
    assert_int_equal(log.notes[i].new_count, 15);
  }
  assert_int_equal(log.notes[4].kind, LH_NOTE_RESOLVED);
  assert_int_equal(log.notes[4].count, 46);
  lh_flood_free(f);
}

/* The same records live (the wall clock keeps pace) and replayed from a
 * backlog (all handled within a second, hours later) make the same
 * notifications: time is the records' own. */
static void replay_groups_as_live(void **state) {
  log_t live = {0}, replay = {0};
  double times[] = {0, 10, 20, 400, 410, 4000, 4100, 4200, 7900, 8000, 12000};
  (void)state;

  for (int pass = 0; pass < 2; pass++) {
    lh_flood_t *f = env_flood(100);
    log_t *log = pass ? &replay : &live;
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
      double t = T0 + times[i];
      double wall = pass ? T0 + 86400 + i * 0.001 : t;
      if (!pass) /* live: the ticks in between */
        for (double w = i ? T0 + times[i - 1] : t; w < t; w += 5)
          lh_flood_tick(f, w, record, log);
      match(f, "pod-a", "/x", t, wall, log);
    }
    lh_flood_close(f, record, log);
    lh_flood_free(f);
  }
  assert_int_equal(live.count, replay.count);
  for (size_t i = 0; i < live.count; i++) {
    assert_int_equal(live.notes[i].kind, replay.notes[i].kind);
    assert_int_equal(live.notes[i].count, replay.notes[i].count);
    assert_true(live.notes[i].first == replay.notes[i].first);
  }
  /* 0-20 fire and resolve, 400-410 again; 4000-8000 updates at 7900 */
  assert_true(live.count >= 6);
}

/* Past max_keys the least recently matched group goes, counted, unless it
 * is pinned; a forgotten group fires again. */
static void state_is_bounded(void **state) {
  lh_flood_t *f = env_flood(2);
  log_t log = {0};
  lh_group_t *ga;
  int pin;
  (void)state;

  ga = match(f, "pod-a", "/x", T0, T0, &log);
  lh_group_set_user(f, ga, &pin); /* pod-a's firing is on its way */
  match(f, "pod-b", "/x", T0 + 1, T0 + 1, &log);
  match(f, "pod-c", "/x", T0 + 2, T0 + 2, &log); /* pod-b goes, not the pinned pod-a */
  assert_int_equal(lh_flood_evictions(f), 1);
  assert_int_equal(lh_flood_groups(f), 2);
  lh_group_set_user(f, ga, NULL);
  lh_flood_forget(f, ga); /* its firing failed */
  assert_int_equal(lh_flood_groups(f), 1);
  match(f, "pod-a", "/x", T0 + 3, T0 + 3, &log);
  assert_int_equal(log.count, 4);
  assert_int_equal(log.notes[3].kind, LH_NOTE_FIRING);
  lh_flood_close(f, record, &log);
  assert_int_equal(log.count, 6);
  lh_flood_free(f);
}

/* A pinned group is not resolved until it is unpinned; a resolved pinned
 * group is freed when it is unpinned (ASan checks). */
static void pinned_groups_wait(void **state) {
  lh_flood_t *f = env_flood(100);
  log_t log = {0};
  lh_group_t *g = match(f, "pod-a", "/x", T0, T0, &log);
  int pin;
  (void)state;

  lh_group_set_user(f, g, &pin);
  lh_flood_tick(f, T0 + 1000, record, &log);
  assert_int_equal(log.count, 1);
  lh_group_set_user(f, g, NULL);
  lh_flood_tick(f, T0 + 1001, record, &log);
  assert_int_equal(log.count, 2);
  g = match(f, "pod-a", "/x", T0 + 2000, T0 + 2000, &log);
  lh_group_set_user(f, g, &pin);
  lh_flood_close(f, record, &log); /* resolved while pinned: kept */
  assert_int_equal(log.count, 4);
  lh_group_set_user(f, g, NULL);
  lh_flood_free(f);
}

/* A record far in the future does not resolve everything at once. */
static void future_times_are_clamped(void **state) {
  lh_flood_t *f = env_flood(100);
  log_t log = {0};
  (void)state;

  match(f, "pod-a", "/x", T0, T0, &log);
  match(f, "pod-z", "/x", T0 + 1e6, T0 + 1, &log);
  lh_flood_tick(f, T0 + 2, record, &log);
  assert_int_equal(log.count, 2);
  assert_true(lh_flood_clock(f) < T0 + 10);
  lh_flood_free(f);
}

static void bucket(void **state) {
  lh_bucket_t b;
  int taken = 0;
  (void)state;

  lh_bucket_init(&b, 1, 3, 100);
  while (lh_bucket_take(&b, 100))
    taken++;
  assert_int_equal(taken, 3); /* the burst */
  assert_false(lh_bucket_take(&b, 100.5));
  assert_true(lh_bucket_take(&b, 101.0)); /* one a second */
  assert_false(lh_bucket_take(&b, 101.2));
  taken = 0;
  while (lh_bucket_take(&b, 1000))
    taken++;
  assert_int_equal(taken, 3); /* never more than the burst saved */
}

/* A hit of `rule` (matched or only counted in a ratio's total) of `pod`. */
static lh_group_t *hit_of(lh_flood_t *f, size_t rule, const char *pod, const char *path,
                          int matched, double t, log_t *log) {
  hit_t h;
  lh_hit_t *hit = make(&h, rule, pod, path, t);
  hit->matched = matched;
  return lh_flood_hit(f, hit, t, record, log);
}

static lh_cond_t count_cond(uint64_t n, double window) {
  return (lh_cond_t){.kind = LH_COND_COUNT,
                     .count = n,
                     .window = window,
                     .repeat_interval = 3600,
                     .resolve_after = 300,
                     .samples = 3};
}

/* COUNT 5 in 60s: nothing at the 4th match, FIRING at the 5th (count 5,
 * from the first of them); quiet while it holds; RESOLVED 300s after the
 * window stopped holding 5 (the 2nd match + 60s, once a 6th came). */
static void count_fires_at_the_nth_not_before(void **state) {
  lh_cond_t c = count_cond(5, 60);
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  for (int i = 0; i < 4; i++)
    hit_of(f, 0, "pod-a", "/x", 1, T0 + i * 10, &log);
  assert_int_equal(log.count, 0);
  assert_int_equal(lh_flood_groups(f), 1);
  hit_of(f, 0, "pod-a", "/y", 1, T0 + 40, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  assert_int_equal(log.notes[0].count, 5);
  assert_true(log.notes[0].first == T0);
  assert_int_equal(log.notes[0].samples, 2);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 50, &log);
  lh_flood_tick(f, T0 + 50 + 10, record, &log);
  assert_int_equal(log.count, 1); /* holding, no repeat due */
  lh_flood_tick(f, T0 + 50 + 319, record, &log);
  assert_int_equal(log.count, 1); /* held until T0+70; resolves at T0+370 */
  lh_flood_tick(f, T0 + 50 + 321, record, &log);
  assert_int_equal(log.count, 2);
  assert_int_equal(log.notes[1].kind, LH_NOTE_RESOLVED);
  assert_int_equal(log.notes[1].count, 6);
  assert_int_equal(lh_flood_groups(f), 0);
  lh_flood_free(f);
}

/* Matches that fall out of the window do not count: 3 in 60s needs three
 * within 60s; a key whose window emptied without firing is dropped quietly. */
static void count_window_slides(void **state) {
  lh_cond_t c = count_cond(3, 60);
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  hit_of(f, 0, "pod-a", "/x", 1, T0, &log);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 30, &log);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 70, &log); /* T0 is out: 2 in the window */
  assert_int_equal(log.count, 0);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 80, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].count, 3);
  assert_true(log.notes[0].first == T0 + 30);
  hit_of(f, 0, "pod-b", "/x", 1, T0 + 80, &log);
  lh_flood_tick(f, T0 + 80 + 61, record, &log);
  assert_int_equal(log.count, 1); /* pod-b never fired: gone without a note */
  assert_int_equal(lh_flood_groups(f), 1);
  lh_flood_free(f);
}

/* A COUNT past LH_RING_MAX keeps time slots: still not before the Nth. */
static void count_in_slots_not_before_the_nth(void **state) {
  lh_cond_t c = count_cond(40, 160);
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  for (int i = 0; i < 39; i++)
    hit_of(f, 0, "pod-a", "/x", 1, T0 + i, &log);
  assert_int_equal(log.count, 0);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 39, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].count, 40);
  lh_flood_free(f);
}

/* While a COUNT holds, an UPDATE goes out every repeat interval even with
 * nothing new, so that the alert's lease never runs out. */
static void count_heartbeat_while_it_holds(void **state) {
  lh_cond_t c = count_cond(2, 600);
  lh_flood_t *f;
  log_t log = {0};
  (void)state;

  c.repeat_interval = 100;
  c.resolve_after = 50;
  f = lh_flood_new(100, &c, 1);
  hit_of(f, 0, "pod-a", "/x", 1, T0, &log);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 1, &log);
  for (double w = T0 + 2; w < T0 + 651; w += 1)
    lh_flood_tick(f, w, record, &log);
  /* firing, updates at +101 .. +601, resolved at +650 */
  assert_int_equal(log.count, 8);
  assert_int_equal(log.notes[1].kind, LH_NOTE_UPDATE);
  assert_int_equal(log.notes[1].new_count, 0);
  assert_int_equal(log.notes[7].kind, LH_NOTE_RESOLVED);
  lh_flood_free(f);
}

static lh_cond_t ratio_cond(void) {
  return (lh_cond_t){.kind = LH_COND_RATIO,
                     .ratio = 0.5,
                     .min_total = 10,
                     .window = 100,
                     .repeat_interval = 3600,
                     .resolve_after = 30,
                     .samples = 3};
}

/* RATIO 0.5 of at least 10: 9 of 9 is too few, 9 of 10 fires; 14 of 29
 * does not, 15 of 30 does; then only other records: it resolves. */
static void ratio_needs_min_total_and_the_ratio(void **state) {
  lh_cond_t c = ratio_cond();
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  for (int i = 0; i < 9; i++)
    hit_of(f, 0, "pod-a", "/x", 1, T0 + i * 0.1, &log);
  assert_int_equal(log.count, 0);
  hit_of(f, 0, "pod-a", "/ok", 0, T0 + 1, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  assert_int_equal(log.notes[0].count, 9);
  assert_int_equal(log.notes[0].total, 10);
  for (int i = 0; i < 15; i++)
    hit_of(f, 0, "pod-b", "/ok", 0, T0 + i * 0.1, &log);
  for (int i = 0; i < 14; i++)
    hit_of(f, 0, "pod-b", "/x", 1, T0 + 2 + i * 0.1, &log);
  assert_int_equal(log.count, 1); /* 14 of 29 */
  hit_of(f, 0, "pod-b", "/x", 1, T0 + 4, &log);
  assert_int_equal(log.count, 2); /* 15 of 30 */
  assert_int_equal(log.notes[1].total, 30);
  assert_int_equal(log.notes[1].count, 15);
  for (int i = 0; i < 40; i++) /* pod-b: 15 of 31 at T0+5.1, 15 of 70 at the end */
    hit_of(f, 0, "pod-b", "/ok", 0, T0 + 5 + i * 0.1, &log);
  lh_flood_tick(f, T0 + 5 + 29, record, &log);
  assert_int_equal(log.count, 2); /* it held at T0+5 last: resolves 30s later */
  lh_flood_tick(f, T0 + 5 + 31, record, &log);
  assert_int_equal(log.count, 3);
  assert_int_equal(log.notes[2].kind, LH_NOTE_RESOLVED);
  assert_string_equal(log.notes[2].pod, "pod-b");
  lh_flood_free(f);
}

static lh_cond_t absent_cond(void) {
  return (lh_cond_t){.kind = LH_COND_ABSENT,
                     .absent = 600,
                     .forget_after = 3600,
                     .repeat_interval = 1800,
                     .resolve_after = 300,
                     .samples = 3};
}

/* ABSENT 600: a key seen at T0 fires at T0+600 by the clock, not before;
 * seen again, it resolves and lives on; absent again, it fires again. */
static void absent_fires_after_the_duration_and_resolves_on_return(void **state) {
  lh_cond_t c = absent_cond();
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  hit_of(f, 0, "pod-a", "/x", 1, T0, &log);
  assert_int_equal(log.count, 0);
  for (double w = T0; w < T0 + 600; w += 10)
    lh_flood_tick(f, w, record, &log);
  assert_int_equal(log.count, 0);
  lh_flood_tick(f, T0 + 600, record, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  assert_true(log.notes[0].last == T0);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 700, &log);
  assert_int_equal(log.count, 2);
  assert_int_equal(log.notes[1].kind, LH_NOTE_RESOLVED);
  assert_int_equal(lh_flood_groups(f), 1);
  lh_flood_tick(f, T0 + 1299, record, &log);
  assert_int_equal(log.count, 2);
  lh_flood_tick(f, T0 + 1300, record, &log);
  assert_int_equal(log.count, 3);
  assert_int_equal(log.notes[2].kind, LH_NOTE_FIRING);
  lh_flood_free(f);
}

/* A key not seen for forget_after is dropped without a notification; the
 * absence is measured by the newest record time of the input too (another
 * key's records move the clock). */
static void absent_keys_are_forgotten(void **state) {
  lh_cond_t c = absent_cond();
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  (void)state;

  hit_of(f, 0, "pod-a", "/x", 1, T0, &log);
  hit_of(f, 0, "pod-b", "/x", 1, T0 + 650, &log); /* the clock is at +650 */
  lh_flood_tick(f, T0 + 650, record, &log);
  assert_int_equal(log.count, 1); /* pod-a: absent for 650s */
  assert_string_equal(log.notes[0].pod, "pod-a");
  lh_flood_tick(f, T0 + 1800 + 650, record, &log); /* pod-b fires, pod-a repeats */
  assert_int_equal(log.count, 3);
  lh_flood_tick(f, T0 + 3600, record, &log);
  assert_int_equal(log.count, 3);
  assert_int_equal(lh_flood_groups(f), 1); /* pod-a forgotten, quietly */
  lh_flood_close(f, record, &log);
  assert_int_equal(log.count, 4); /* pod-b resolved at the end */
  lh_flood_free(f);
}

/* The records of the input that hit no rule move the clock too: in a
 * backlog (a day behind the wall clock, handled within a second) a key is
 * absent by the records' time. */
static void absent_by_the_input_s_records(void **state) {
  lh_cond_t c = absent_cond();
  lh_flood_t *f = lh_flood_new(100, &c, 1);
  log_t log = {0};
  hit_t h;
  double wall = T0 + 86400;
  (void)state;

  lh_flood_hit(f, make(&h, 0, "pod-a", "/x", T0), wall, record, &log);
  lh_flood_record(f, T0 + 599, wall + 0.5);
  lh_flood_tick(f, wall + 0.5, record, &log);
  assert_int_equal(log.count, 0);
  lh_flood_record(f, T0 + 601, wall + 0.6);
  lh_flood_tick(f, wall + 0.6, record, &log);
  assert_int_equal(log.count, 1);
  assert_int_equal(log.notes[0].kind, LH_NOTE_FIRING);
  lh_flood_free(f);
}

/* Each rule keeps its own number of samples, distinct, in the order seen;
 * the first and the last fields are kept. */
static void samples_per_rule(void **state) {
  lh_cond_t conds[2] = {any, any};
  lh_flood_t *f;
  log_t log = {0};
  const char *paths[] = {"/a", "/b", "/a", "/c", "/d", "/e", "/f", "/g"};
  (void)state;

  conds[0].samples = 1;
  conds[1].samples = 5;
  f = lh_flood_new(100, conds, 2);
  for (size_t i = 0; i < 8; i++) {
    hit_of(f, 0, "pod-a", paths[i], 1, T0 + (double)i, &log);
    hit_of(f, 1, "pod-a", paths[i], 1, T0 + (double)i, &log);
  }
  lh_flood_close(f, record, &log);
  assert_int_equal(log.count, 4);
  assert_int_equal(log.notes[2].rule, 0);
  assert_int_equal(log.notes[2].samples, 1);
  assert_string_equal(log.notes[2].sample[0], "/a");
  assert_int_equal(log.notes[3].samples, 5);
  assert_string_equal(log.notes[3].sample[1], "/b");
  assert_string_equal(log.notes[3].sample[2], "/c");
  assert_string_equal(log.notes[3].sample[4], "/e");
  assert_string_equal(log.notes[3].first_path, "/a");
  assert_string_equal(log.notes[3].last_path, "/g");
  lh_flood_free(f);
}

/* A note held back by the rate limit is counted for its rule, and the
 * rule's next note carries the count (once); the totals stay. */
static void suppression_is_counted_and_carried(void **state) {
  lh_cond_t conds[2] = {any, any};
  lh_flood_t *f = lh_flood_new(100, conds, 2);
  log_t log = {0};
  (void)state;

  lh_flood_suppress(f, 0);
  lh_flood_suppress(f, 0);
  lh_flood_suppress(f, 1);
  lh_flood_suppress(f, 7); /* no such rule: nothing */
  hit_of(f, 0, "pod-a", "/x", 1, T0, &log);
  hit_of(f, 0, "pod-b", "/x", 1, T0, &log);
  hit_of(f, 1, "pod-a", "/x", 1, T0, &log);
  assert_int_equal(log.notes[0].suppressed, 2);
  assert_int_equal(log.notes[1].suppressed, 0);
  assert_int_equal(log.notes[2].suppressed, 1);
  assert_int_equal(lh_flood_suppressed(f, 0), 2);
  assert_int_equal(lh_flood_suppressed(f, 1), 1);
  assert_int_equal(lh_flood_suppressed(f, 7), 0);
  lh_flood_free(f);
}

/* A key's memory: under 1 KB for the env rule and for a COUNT of 5 with
 * typical names and paths, and bounded whatever the path's length. */
static void memory_per_key_is_bounded(void **state) {
  lh_cond_t conds[2] = {any, count_cond(5, 60)};
  lh_flood_t *f = lh_flood_new(100, conds, 2);
  log_t log = {0};
  static char huge[100000];
  lh_group_t *g = NULL, *counted = NULL;
  (void)state;

  for (int i = 0; i < 20; i++) {
    char path[64];
    snprintf(path, sizeof path, "/wp-content/plugins/some-plugin/assets/%d.js", i);
    g = hit_of(f, 0, "wordpress-v1-f54f697c5-hdn2z", path, 1, T0 + i, &log);
    counted = hit_of(f, 1, "wordpress-v1-f54f697c5-hdn2z", path, 1, T0 + i, &log);
  }
  assert_true(lh_group_memory(g) < 1024);
  assert_true(lh_group_memory(counted) < 1024);
  assert_int_equal(lh_flood_memory(f), lh_group_memory(g) + lh_group_memory(counted));
  memset(huge, 'a', sizeof huge - 1);
  huge[0] = '/';
  g = hit_of(f, 0, "wordpress-v1-f54f697c5-hdn2z", huge, 1, T0 + 22, &log);
  /* the huge path cut to LH_VALUE_MAX, as the last path and a sample */
  assert_true(lh_group_memory(g) < 2 * LH_VALUE_MAX + 1024);
  assert_int_equal(lh_flood_memory(f), lh_group_memory(g) + lh_group_memory(counted));
  lh_flood_free(f);
}

/* A reload keeps the groups of the rules that stay (with their state,
 * under their new index) and ends the others without a notification. */
static void reload_keeps_unchanged_rules(void **state) {
  lh_cond_t before[2] = {any, count_cond(3, 60)};
  lh_cond_t after[2] = {count_cond(3, 60), any};
  size_t old_to_new[2] = {LH_RULE_GONE, 0};
  lh_flood_t *f = lh_flood_new(100, before, 2);
  log_t log = {0};
  (void)state;

  hit_of(f, 0, "pod-a", "/x", 1, T0, &log); /* fires */
  hit_of(f, 1, "pod-a", "/x", 1, T0, &log);
  hit_of(f, 1, "pod-a", "/x", 1, T0 + 1, &log); /* 2 of 3 */
  assert_int_equal(log.count, 1);
  assert_int_equal(lh_flood_set_rules(f, after, 2, old_to_new), 0);
  assert_int_equal(lh_flood_groups(f), 1);
  assert_int_equal(lh_flood_rule_groups(f, 0), 1);
  assert_int_equal(lh_flood_rule_groups(f, 1), 0);
  hit_of(f, 0, "pod-a", "/x", 1, T0 + 2, &log); /* the 3rd: the state was kept */
  assert_int_equal(log.count, 2);
  assert_int_equal(log.notes[1].kind, LH_NOTE_FIRING);
  assert_int_equal(log.notes[1].rule, 0);
  assert_int_equal(log.notes[1].count, 3);
  lh_flood_close(f, record, &log);
  assert_int_equal(log.count, 3); /* the any group of the old rule 0 ended quietly */
  lh_flood_free(f);
}

/* A hit that only counts in a total is ignored by a rule that is not a
 * ratio, and a rule out of range is refused. */
static void bad_hits_are_refused(void **state) {
  lh_flood_t *f = env_flood(10);
  log_t log = {0};
  (void)state;

  hit_t h;
  assert_false(lh_flood_wants(f, make(&h, 3, "pod-a", "/x", T0)));
  assert_true(lh_flood_wants(f, make(&h, 0, "pod-a", "/x", T0)));
  h.hit.matched = 0;
  assert_false(lh_flood_wants(f, &h.hit));
  assert_null(hit_of(f, 0, "pod-a", "/x", 0, T0, &log));
  assert_null(hit_of(f, 3, "pod-a", "/x", 1, T0, &log));
  assert_int_equal(log.count, 0);
  assert_int_equal(lh_flood_groups(f), 0);
  lh_flood_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(burst_is_one_firing_and_one_resolved),
      cmocka_unit_test(three_pods_three_notifications),
      cmocka_unit_test(trickle_repeats_only_at_the_repeat_interval),
      cmocka_unit_test(replay_groups_as_live),
      cmocka_unit_test(state_is_bounded),
      cmocka_unit_test(pinned_groups_wait),
      cmocka_unit_test(future_times_are_clamped),
      cmocka_unit_test(bucket),
      cmocka_unit_test(count_fires_at_the_nth_not_before),
      cmocka_unit_test(count_window_slides),
      cmocka_unit_test(count_in_slots_not_before_the_nth),
      cmocka_unit_test(count_heartbeat_while_it_holds),
      cmocka_unit_test(ratio_needs_min_total_and_the_ratio),
      cmocka_unit_test(absent_fires_after_the_duration_and_resolves_on_return),
      cmocka_unit_test(absent_keys_are_forgotten),
      cmocka_unit_test(absent_by_the_input_s_records),
      cmocka_unit_test(samples_per_rule),
      cmocka_unit_test(suppression_is_counted_and_carried),
      cmocka_unit_test(memory_per_key_is_bounded),
      cmocka_unit_test(reload_keeps_unchanged_rules),
      cmocka_unit_test(bad_hits_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
