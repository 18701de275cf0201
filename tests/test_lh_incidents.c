/* The logs-handler's stored incidents (incidents_doc.c) and their return
 * into the flood (lh_flood_restore): a note round-trips through the
 * document as the sidecar re-encodes it, a restored incident does not fire
 * again and resolves by its stored times, a document is merged change by
 * change, and what is not a stored incident is said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "incidents_doc.h"

#define T0 1629856477.0 /* 2021-08-25T01:54:37Z */

static const lh_cond_t any = {
    .kind = LH_COND_ANY, .repeat_interval = 3600, .resolve_after = 300, .samples = 3};

/* The notes a flood made: the last one as JSON, and their kinds. */
typedef struct {
  json_t *last;
  lh_note_kind_t kinds[16];
  uint64_t counts[16];
  size_t count;
} notes_t;

static void keep(const lh_note_t *n, lh_group_t *g, void *arg) {
  notes_t *notes = arg;

  (void)g;
  assert_true(notes->count < 16);
  notes->kinds[notes->count] = n->kind;
  notes->counts[notes->count++] = n->count;
  json_decref(notes->last);
  notes->last = lh_incident_json(n);
  assert_non_null(notes->last);
}

/* A match of `pod` at `t`, the wall clock at `wall`. */
static lh_group_t *hit(lh_flood_t *f, const char *pod, const char *path, double t, double wall,
                       notes_t *notes) {
  const char *key[] = {"demo-project", pod, "c1", "404"};
  lh_field_t fields[] = {{"path", path}, {"client", "10.0.0.1"}};
  lh_hit_t h = {0, key, 4, 1, path, fields, 2, t};
  return lh_flood_hit(f, &h, wall, keep, notes);
}

/* The document as daprd gives it back: compact, keys sorted, numbers as
 * float64. */
static json_t *through_the_sidecar(const json_t *j) {
  char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
  json_t *back;

  assert_non_null(text);
  back = json_loads(text, 0, NULL);
  free(text);
  if (json_is_integer(json_object_get(back, "count")))
    json_object_set_new(back, "count",
                        json_real((double)json_integer_value(json_object_get(back, "count"))));
  return back;
}

/* A firing group's note as stored, and read back: every part of it. */
static void a_note_round_trips(void **state) {
  lh_cond_t often = {
      .kind = LH_COND_ANY, .repeat_interval = 100, .resolve_after = 300, .samples = 3};
  lh_flood_t *f = lh_flood_new(10, &often, 1);
  notes_t notes = {0};
  lh_incident_t inc;
  char err[160];
  json_t *back;
  (void)state;

  hit(f, "pod \"a\"", "/a", T0, T0, &notes);
  hit(f, "pod \"a\"", "/b", T0 + 10, T0 + 10, &notes);
  lh_flood_tick(f, T0 + 150, keep, &notes); /* the update after the repeat interval */
  assert_int_equal(notes.count, 2);
  assert_int_equal(notes.kinds[1], LH_NOTE_UPDATE);
  back = through_the_sidecar(notes.last);
  assert_int_equal(lh_incident_parse(back, &inc, err, sizeof err), 0);
  assert_int_equal(inc.note.kind, LH_NOTE_FIRING);
  assert_int_equal(inc.note.key_count, 4);
  assert_string_equal(inc.note.key[1], "pod \"a\"");
  assert_int_equal(inc.note.count, 2);
  assert_true(inc.note.first_seen == T0);
  assert_true(inc.note.last_seen == T0 + 10);
  assert_true(inc.note.now == T0 + 150); /* the clock of its last notification */
  assert_int_equal(inc.note.sample_count, 2);
  assert_string_equal(inc.note.samples[1], "/b");
  assert_int_equal(inc.note.first_count, 2);
  assert_string_equal(inc.note.first_fields[0].value, "/a");
  assert_string_equal(inc.note.last_fields[0].value, "/b");
  assert_string_equal(inc.note.last_fields[1].name, "client");
  json_decref(back);
  json_decref(notes.last);
  lh_flood_free(f);
}

/* The incident of run 1, restored in run 2: its next match does not fire,
 * it resolves by its stored times, and the resolve carries all of it. */
static void a_restored_incident_fires_no_more_and_resolves(void **state) {
  lh_flood_t *f = lh_flood_new(10, &any, 1), *g = lh_flood_new(10, &any, 1);
  notes_t notes = {0}, after = {0};
  lh_incident_t inc;
  char err[160];
  json_t *stored;
  (void)state;

  hit(f, "pod-a", "/a", T0, T0, &notes);
  assert_int_equal(notes.kinds[0], LH_NOTE_FIRING);
  stored = through_the_sidecar(notes.last);
  lh_flood_free(f);
  assert_int_equal(lh_incident_parse(stored, &inc, err, sizeof err), 0);
  /* run 2 starts an hour later by the wall clock: the downtime does not
   * count, the time since the restart does */
  assert_int_equal(lh_flood_restore(g, &inc.note, T0 + 3600), 0);
  assert_int_equal(lh_flood_restore(g, &inc.note, T0 + 3600), 1); /* once */
  assert_int_equal(lh_flood_groups(g), 1);
  /* the backlog: a record of 100 s after the firing, 10 s after the restart */
  assert_non_null(hit(g, "pod-a", "/b", T0 + 100, T0 + 3610, &after));
  assert_int_equal(after.count, 0); /* no second firing */
  lh_flood_tick(g, T0 + 3610 + 299, keep, &after);
  assert_int_equal(after.count, 0); /* 299 s after the last match */
  lh_flood_tick(g, T0 + 3610 + 301, keep, &after);
  assert_int_equal(after.count, 1);
  assert_int_equal(after.kinds[0], LH_NOTE_RESOLVED);
  assert_int_equal(after.counts[0], 2);
  assert_int_equal(json_integer_value(json_object_get(after.last, "count")), 2);
  assert_string_equal(json_string_value(json_array_get(json_object_get(after.last, "samples"), 1)),
                      "/b");
  assert_true(json_real_value(json_object_get(after.last, "first_seen")) == T0);
  assert_int_equal(lh_flood_groups(g), 0);
  json_decref(stored);
  json_decref(notes.last);
  json_decref(after.last);
  lh_flood_free(g);
}

/* A newer record (of any key) shows the quiet at once; a match of the
 * restored key after resolve_after by record time is a new episode. */
static void records_judge_the_quiet(void **state) {
  lh_flood_t *f = lh_flood_new(10, &any, 1);
  notes_t notes = {0};
  const char *key[] = {"demo-project", "pod-a", "c1", "404"};
  lh_note_t note = {.kind = LH_NOTE_FIRING,
                    .key = key,
                    .key_count = 4,
                    .count = 5,
                    .first_seen = T0,
                    .last_seen = T0 + 50,
                    .now = T0 + 50};
  (void)state;

  assert_int_equal(lh_flood_restore(f, &note, T0 + 9000), 0);
  lh_flood_record(f, T0 + 400, T0 + 9000);
  lh_flood_tick(f, T0 + 9000, keep, &notes);
  assert_int_equal(notes.count, 1);
  assert_int_equal(notes.kinds[0], LH_NOTE_RESOLVED);
  assert_int_equal(notes.counts[0], 5);
  assert_int_equal(lh_flood_restore(f, &note, T0 + 9000), 0);
  hit(f, "pod-a", "/late", T0 + 1000, T0 + 9000, &notes);
  assert_int_equal(notes.count, 3);
  assert_int_equal(notes.kinds[1], LH_NOTE_RESOLVED);
  assert_int_equal(notes.kinds[2], LH_NOTE_FIRING);
  json_decref(notes.last);
  lh_flood_free(f);
}

/* A COUNT incident holds since its notification, and resolves
 * resolve_after later unless its window holds again. */
static void a_restored_count_resolves_unless_it_holds(void **state) {
  lh_cond_t c = {.kind = LH_COND_COUNT,
                 .count = 3,
                 .window = 60,
                 .repeat_interval = 3600,
                 .resolve_after = 300,
                 .samples = 3};
  lh_flood_t *f = lh_flood_new(10, &c, 1);
  notes_t notes = {0};
  const char *key[] = {"demo-project", "pod-a", "c1", "404"};
  lh_note_t note = {.key = key,
                    .key_count = 4,
                    .count = 3,
                    .first_seen = T0,
                    .last_seen = T0 + 20,
                    .now = T0 + 20};
  (void)state;

  assert_int_equal(lh_flood_restore(f, &note, T0 + 20), 0);
  hit(f, "pod-a", "/a", T0 + 30, T0 + 30,
      &notes); /* one match: no firing, the window does not hold */
  assert_int_equal(notes.count, 0);
  lh_flood_tick(f, T0 + 319, keep, &notes);
  assert_int_equal(notes.count, 0);
  lh_flood_tick(f, T0 + 321, keep, &notes);
  assert_int_equal(notes.count, 1);
  assert_int_equal(notes.kinds[0], LH_NOTE_RESOLVED);
  json_decref(notes.last);
  lh_flood_free(f);
}

static void what_is_not_an_incident_is_said(void **state) {
  static const struct {
    const char *json, *why;
  } cases[] = {
      {"[]", "an incident is not an object"},
      {"{\"key\": [1]}", "key is not a list of at most 8 strings"},
      {"{\"key\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
       "key is not a list of at most 8 strings"},
      {"{\"key\": [\"a\"], \"count\": 0}", "count is not a positive integer"},
      {"{\"key\": [\"a\"], \"count\": 1.5}", "count is not a positive integer"},
      {"{\"key\": [\"a\"], \"count\": 1, \"first_seen\": 1, \"last_seen\": -1, \"notified\": 1}",
       "first_seen, last_seen and notified must be times"},
      {"{\"key\": [\"a\"], \"count\": 1, \"first_seen\": 1, \"last_seen\": 1, \"notified\": 1}",
       "samples is not a list of at most 10 strings"},
      {"{\"key\": [\"a\"], \"count\": 1, \"first_seen\": 1, \"last_seen\": 1, \"notified\": 1, "
       "\"samples\": [], \"first_fields\": [[\"a\"]], \"last_fields\": []}",
       "first_fields and last_fields must be lists of [name, value]"},
  };
  lh_incident_t inc;
  char err[160];
  (void)state;

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *j = json_loads(cases[i].json, 0, NULL);
    assert_non_null(j);
    assert_int_equal(lh_incident_parse(j, &inc, err, sizeof err), -1);
    assert_string_equal(err, cases[i].why);
    json_decref(j);
  }
}

static void documents_are_checked(void **state) {
  char err[160];
  json_t *ok = json_pack("{sisoso}", "version", 1, "incidents", json_object(), "rule", json_null());
  json_t *old = json_pack("{siso}", "version", 2, "incidents", json_object());
  json_t *none = json_pack("{sf}", "version", 1.0);
  (void)state;

  assert_int_equal(lh_incidents_doc_check(ok, err, sizeof err), 0);
  assert_int_equal(lh_incidents_doc_check(old, err, sizeof err), -1);
  assert_string_equal(err, "no \"version\": 1 (written by another program?)");
  assert_int_equal(lh_incidents_doc_check(none, err, sizeof err), -1);
  assert_string_equal(err, "\"incidents\" is not an object");
  assert_int_equal(lh_incidents_doc_check(NULL, err, sizeof err), -1);
  assert_string_equal(err, "not a JSON object");
  json_decref(ok);
  json_decref(old);
  json_decref(none);
}

/* Changes are merged one by one: a put adds or replaces, a null deletes,
 * the others stay (another replica's), the header is the rule's now. */
static void changes_merge_into_the_stored_document(void **state) {
  json_t *stored = json_pack("{sis{s{si}s{si}}}", "version", 1, "incidents", "[\"a\"]", "count", 1,
                             "[\"b\"]", "count", 2);
  json_t *changes = json_pack("{s{si}sos{si}}", "[\"a\"]", "count", 7, "[\"b\"]", json_null(),
                              "[\"c\"]", "count", 1);
  json_t *group_by = json_pack("[s]", "pod"), *doc, *incidents;
  char *id;
  (void)state;

  doc = lh_incidents_merge(stored, changes, "r", "any", group_by);
  incidents = json_object_get(doc, "incidents");
  assert_int_equal(json_object_size(incidents), 2);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(incidents, "[\"a\"]"), "count")), 7);
  assert_null(json_object_get(incidents, "[\"b\"]"));
  assert_non_null(json_object_get(incidents, "[\"c\"]"));
  assert_string_equal(json_string_value(json_object_get(doc, "rule")), "r");
  assert_string_equal(json_string_value(json_object_get(doc, "condition")), "any");
  assert_true(json_equal(json_object_get(doc, "group_by"), group_by));
  assert_int_equal(json_object_size(json_object_get(stored, "incidents")), 2); /* untouched */
  json_decref(doc);
  doc = lh_incidents_merge(NULL, changes, NULL, NULL, NULL); /* a new key */
  assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
  assert_int_equal(json_object_size(json_object_get(doc, "incidents")), 2);
  assert_null(json_object_get(doc, "rule"));
  json_decref(doc);
  id = lh_incident_id((const char *const[]){"a\"b", NULL}, 2);
  assert_string_equal(id, "[\"a\\\"b\",\"\"]");
  free(id);
  json_decref(stored);
  json_decref(changes);
  json_decref(group_by);
}

static void keys_name_the_rule(void **state) {
  char key[32];
  (void)state;

  assert_int_equal(lh_incident_key("logs-404", key, sizeof key), 0);
  assert_string_equal(key, "incidents-logs-404");
  assert_int_equal(lh_incident_key("a-very-long-rule-name-indeed", key, sizeof key), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_note_round_trips),
      cmocka_unit_test(a_restored_incident_fires_no_more_and_resolves),
      cmocka_unit_test(records_judge_the_quiet),
      cmocka_unit_test(a_restored_count_resolves_unless_it_holds),
      cmocka_unit_test(what_is_not_an_incident_is_said),
      cmocka_unit_test(documents_are_checked),
      cmocka_unit_test(changes_merge_into_the_stored_document),
      cmocka_unit_test(keys_name_the_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
