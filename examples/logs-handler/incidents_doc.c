/* A rule's open incidents as the JSON document the state store keeps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incidents_doc.h"

#define VERSION 1

int lh_incident_key(const char *rule, char *out, size_t size) {
  int n = snprintf(out, size, "incidents-%s", rule);
  return n > 0 && (size_t)n < size ? 0 : -1;
}

char *lh_incident_id(const char *const *key, size_t n) {
  json_t *a = json_array();
  char *id;

  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(key[i] ? key[i] : "")) != 0) {
      json_decref(a);
      return NULL;
    }
  id = a ? json_dumps(a, JSON_COMPACT) : NULL;
  json_decref(a);
  return id;
}

static json_t *strings(const char *const *s, size_t n) {
  json_t *a = json_array();

  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(s[i] ? s[i] : "")) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static json_t *fields(const lh_field_t *f, size_t n) {
  json_t *a = json_array();

  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(
            a, json_pack("[ss]", f[i].name ? f[i].name : "", f[i].value ? f[i].value : "")) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *lh_incident_json(const lh_note_t *note) {
  return json_pack("{s:o,s:I,s:f,s:f,s:f,s:o,s:o,s:o}", "key", strings(note->key, note->key_count),
                   "count", (json_int_t)note->count, "first_seen", note->first_seen, "last_seen",
                   note->last_seen, "notified", note->now, "samples",
                   strings(note->samples, note->sample_count), "first_fields",
                   fields(note->first_fields, note->first_count), "last_fields",
                   fields(note->last_fields, note->last_count));
}

static int bad(char *err, size_t size, const char *what) {
  snprintf(err, size, "%s", what);
  return -1;
}

/* A list of at most `max` strings into `out`: their count, or -1. */
static int get_strings(const json_t *a, const char **out, size_t max) {
  size_t i;
  json_t *v;

  if (!json_is_array(a) || json_array_size(a) > max)
    return -1;
  json_array_foreach(a, i, v) {
    if (!json_is_string(v))
      return -1;
    out[i] = json_string_value(v);
  }
  return (int)json_array_size(a);
}

/* A list of at most LH_FIELDS_MAX [name, value] pairs: their count, or -1. */
static int get_fields(const json_t *a, lh_field_t *out) {
  size_t i;
  json_t *v;

  if (!json_is_array(a) || json_array_size(a) > LH_FIELDS_MAX)
    return -1;
  json_array_foreach(a, i, v) {
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_string(json_array_get(v, 1)))
      return -1;
    out[i].name = json_string_value(json_array_get(v, 0));
    out[i].value = json_string_value(json_array_get(v, 1));
  }
  return (int)json_array_size(a);
}

/* A time: a finite number, not negative. */
static int get_time(const json_t *j, const char *name, double *out) {
  json_t *v = json_object_get(j, name);

  if (!json_is_number(v))
    return -1;
  *out = json_number_value(v);
  return isfinite(*out) && *out >= 0 ? 0 : -1;
}

int lh_incident_parse(const json_t *j, lh_incident_t *out, char *err, size_t size) {
  json_t *count = json_object_get(j, "count");
  lh_note_t *n = &out->note;
  int keys, samples, first, last;

  memset(out, 0, sizeof *out);
  if (!json_is_object(j))
    return bad(err, size, "an incident is not an object");
  if ((keys = get_strings(json_object_get(j, "key"), out->key, LH_KEY_MAX)) < 0)
    return bad(err, size, "key is not a list of at most 8 strings");
  /* a number: the sidecar may have stored it as a float64 */
  if (!json_is_number(count) || !(json_number_value(count) >= 1) ||
      json_number_value(count) > 1e15 ||
      floor(json_number_value(count)) != json_number_value(count))
    return bad(err, size, "count is not a positive integer");
  if (get_time(j, "first_seen", &n->first_seen) != 0 ||
      get_time(j, "last_seen", &n->last_seen) != 0 || get_time(j, "notified", &n->now) != 0)
    return bad(err, size, "first_seen, last_seen and notified must be times");
  if ((samples = get_strings(json_object_get(j, "samples"), out->samples, LH_SAMPLES_MAX)) < 0)
    return bad(err, size, "samples is not a list of at most 10 strings");
  if ((first = get_fields(json_object_get(j, "first_fields"), out->first)) < 0 ||
      (last = get_fields(json_object_get(j, "last_fields"), out->last)) < 0)
    return bad(err, size, "first_fields and last_fields must be lists of [name, value]");
  n->kind = LH_NOTE_FIRING;
  n->key = out->key;
  n->key_count = (size_t)keys;
  n->count = (uint64_t)json_number_value(count);
  n->samples = out->samples;
  n->sample_count = (size_t)samples;
  n->first_fields = out->first;
  n->first_count = (size_t)first;
  n->last_fields = out->last;
  n->last_count = (size_t)last;
  return 0;
}

int lh_incidents_doc_check(const json_t *doc, char *err, size_t size) {
  json_t *v = json_object_get(doc, "version");

  if (!json_is_object(doc))
    return bad(err, size, "not a JSON object");
  if (!json_is_number(v) || json_number_value(v) != VERSION)
    return bad(err, size, "no \"version\": 1 (written by another program?)");
  if (!json_is_object(json_object_get(doc, "incidents")))
    return bad(err, size, "\"incidents\" is not an object");
  return 0;
}

json_t *lh_incidents_merge(const json_t *stored, const json_t *changes, const char *rule,
                           const char *condition, const json_t *group_by) {
  json_t *doc = stored ? json_deep_copy(stored) : json_object(), *incidents, *v;
  const char *id;

  if (!doc)
    return NULL;
  incidents = json_object_get(doc, "incidents");
  if (!json_is_object(incidents)) {
    incidents = json_object();
    if (json_object_set_new(doc, "incidents", incidents) != 0)
      goto fail;
  }
  if (json_object_set_new(doc, "version", json_integer(VERSION)) != 0 ||
      (rule && json_object_set_new(doc, "rule", json_string(rule)) != 0) ||
      (condition && json_object_set_new(doc, "condition", json_string(condition)) != 0) ||
      (group_by && json_object_set_new(doc, "group_by", json_deep_copy(group_by)) != 0))
    goto fail;
  json_object_foreach((json_t *)changes, id, v) {
    if (json_is_null(v))
      json_object_del(incidents, id);
    else if (json_object_set_new(incidents, id, json_deep_copy(v)) != 0)
      goto fail;
  }
  return doc;
fail:
  json_decref(doc);
  return NULL;
}
