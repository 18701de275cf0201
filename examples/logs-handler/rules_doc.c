/* The rules file's tree → the normalized rules document (rules_doc.h):
 * its keys, the defaults merged under each rule, every default filled in,
 * the rule names unique. */
#include <stdio.h>
#include <string.h>

#include "rules_check.h"
#include "rules_doc.h"
#include "rules_yaml.h"

#define DAY 86400.0
#define MAX_RULES 1000
#define NAME_MAX_LEN 63

static const char *const TOP_KEYS[] = {"settings", "defaults", "rules", NULL};
static const char *const SETTINGS_KEYS[] = {"max_keys", "notify_rate", "notify_burst",
                                            "receiver", "state_store", NULL};
static const char *const SELECT_KEYS[] = {"namespace", "pod", "container", "labels", "self", NULL};
static const char *const MATCH_KEYS[] = {"parse", "where", "regex", NULL};
static const char *const PARSES[] = {"none", "access_log", "json", NULL};
static const char *const FORMATS[] = {"notification-manager", "alertmanager", NULL};
/* the keys merged key by key from the defaults */
static const char *const MERGED[] = {"select", "match", "labels", "annotations", NULL};

static int put_name(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  json_t *v = lh_member(rule, "name");
  const char *s = json_string_value(v);
  char q[LH_QUOTE_SIZE];
  lh_path_t p;

  lh_path_key(&p, path, "name");
  if (!v)
    return lh_check_fail(c, p.s, "required: each rule has a name ([a-z0-9-]+)");
  if (!json_is_string(v))
    return lh_check_type(c, p.s, "a name ([a-z0-9-]+)", v);
  if (!*s || strlen(s) > NAME_MAX_LEN ||
      strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
    return lh_check_fail(c, p.s, "%s is not a rule name (1 to 63 of a-z, 0-9 and -)",
                         lh_quote(q, sizeof q, s));
  return lh_check_put(c, out, "name", json_string(s), p.s);
}

static int put_text(lh_check_t *c, const json_t *rule, const char *path, json_t *out,
                    const char *key, const char *fallback) {
  lh_path_t p;
  json_t *v = lh_member(rule, key);

  lh_path_key(&p, path, key);
  return lh_check_put(c, out, key, v ? lh_check_text(c, v, p.s, 0) : json_string(fallback), p.s);
}

static int put_severity(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  return put_text(c, rule, path, out, "severity", "warning");
}

static int put_output(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  const char *name;

  if (put_text(c, rule, path, out, "output", "notification-manager") != 0)
    return -1;
  name = json_string_value(json_object_get(out, "output"));
  if (c->has_output && !c->has_output(c->arg, name)) {
    char q[LH_QUOTE_SIZE];
    return lh_check_fail(c, lh_path_key(&p, path, "output"),
                         "the function context has no output %s to send alerts to",
                         lh_quote(q, sizeof q, name));
  }
  return 0;
}

static int put_format(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  json_t *v = lh_member(rule, "format");

  lh_path_key(&p, path, "format");
  return lh_check_put(c, out, "format",
                      v ? lh_check_choice(c, v, p.s, FORMATS) : json_string("notification-manager"),
                      p.s);
}

/* A duration member, or `fallback` seconds. */
static int put_duration(lh_check_t *c, const json_t *obj, const char *path, json_t *out,
                        const char *key, double fallback, double max) {
  lh_path_t p;
  json_t *v = lh_member(obj, key);

  lh_path_key(&p, path, key);
  return lh_check_put(c, out, key, v ? lh_check_duration(c, v, p.s, max) : json_real(fallback),
                      p.s);
}

static int put_repeat(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  return put_duration(c, rule, path, out, "repeat_interval", 3600, 7 * DAY);
}

static int put_resolve(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  return put_duration(c, rule, path, out, "resolve_after", 300, DAY);
}

/* lease: by default repeat_interval + resolve_after (Alertmanager keeps
 * the alert until the next notification could come); longer than
 * repeat_interval. Needs those two in `out` (the defaults' when absent). */
static int put_lease(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  json_t *tmp = json_object();
  double repeat, lease;
  char a[32], b[32];
  int rc = tmp ? 0 : lh_check_fail(c, path, "out of memory");

  rc = rc ? rc : put_repeat(c, rule, path, tmp);
  rc = rc ? rc : put_resolve(c, rule, path, tmp);
  repeat = json_real_value(json_object_get(tmp, "repeat_interval"));
  rc = rc ? rc
          : put_duration(c, rule, path, out, "lease",
                         repeat + json_real_value(json_object_get(tmp, "resolve_after")), 8 * DAY);
  json_decref(tmp);
  if (rc != 0)
    return rc;
  lease = json_real_value(json_object_get(out, "lease"));
  if (lease <= repeat)
    return lh_check_fail(c, lh_path_key(&p, path, "lease"),
                         "%s must be longer than repeat_interval (%s), or Alertmanager "
                         "resolves an alert that still fires",
                         lh_duration_text(a, sizeof a, lease),
                         lh_duration_text(b, sizeof b, repeat));
  return 0;
}

/* select.KEY's matchers, [] (any) when absent. */
static int put_matchers(lh_check_t *c, const json_t *sel, const char *path, json_t *out,
                        const char *key) {
  lh_path_t p;
  json_t *v = lh_member(sel, key);

  lh_path_key(&p, path, key);
  return lh_check_put(c, out, key, v ? lh_check_matchers(c, v, p.s) : json_array(), p.s);
}

static int put_select(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p, q;
  json_t *sel = lh_member(rule, "select"), *s = json_object(), *self, *labels;
  int rc;

  lh_path_key(&p, path, "select");
  if (sel && !json_is_object(sel)) {
    json_decref(s);
    return lh_check_type(c, p.s, "a mapping (namespace, pod, container, labels, self)", sel);
  }
  if (lh_check_put(c, out, "select", s, p.s) != 0 ||
      (sel && lh_check_keys(c, sel, p.s, SELECT_KEYS) != 0))
    return -1;
  rc = put_matchers(c, sel, p.s, s, "namespace");
  rc = rc ? rc : put_matchers(c, sel, p.s, s, "pod");
  rc = rc ? rc : put_matchers(c, sel, p.s, s, "container");
  labels = lh_member(sel, "labels");
  lh_path_key(&q, p.s, "labels");
  rc = rc ? rc
          : lh_check_put(c, s, "labels",
                         labels ? lh_check_label_select(c, labels, q.s) : json_object(), q.s);
  self = lh_member(sel, "self");
  lh_path_key(&q, p.s, "self");
  if (rc == 0 && self && !json_is_boolean(self))
    return lh_check_type(c, q.s, "true or false", self);
  return rc ? rc : lh_check_put(c, s, "self", json_boolean(json_is_true(self)), q.s);
}

static int put_match(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p, q;
  json_t *m = lh_member(rule, "match"), *o = json_object(), *v;
  int rc;

  lh_path_key(&p, path, "match");
  if (m && !json_is_object(m)) {
    json_decref(o);
    return lh_check_type(c, p.s, "a mapping (parse, where, regex)", m);
  }
  if (lh_check_put(c, out, "match", o, p.s) != 0 ||
      (m && lh_check_keys(c, m, p.s, MATCH_KEYS) != 0))
    return -1;
  v = lh_member(m, "parse");
  lh_path_key(&q, p.s, "parse");
  rc = lh_check_put(c, o, "parse", v ? lh_check_choice(c, v, q.s, PARSES) : json_string("none"),
                    q.s);
  v = lh_member(m, "where");
  lh_path_key(&q, p.s, "where");
  rc = rc ? rc : lh_check_put(c, o, "where", v ? lh_check_strings(c, v, q.s) : json_array(), q.s);
  v = lh_member(m, "regex");
  lh_path_key(&q, p.s, "regex");
  if (rc == 0 && v && (!json_is_string(v) || !*json_string_value(v)))
    return json_is_string(v) ? lh_check_fail(c, q.s, "must not be empty")
                             : lh_check_type(c, q.s, "a string (a PCRE2 regex)", v);
  return rc ? rc
            : lh_check_put(c, o, "regex", v ? json_string(json_string_value(v)) : json_null(), q.s);
}

static int put_group_by(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  json_t *v = lh_member(rule, "group_by");

  lh_path_key(&p, path, "group_by");
  return lh_check_put(
      c, out, "group_by",
      v ? lh_check_fields(c, v, p.s) : json_pack("[sss]", "namespace", "pod", "container"), p.s);
}

static int put_condition(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  json_t *v = lh_member(rule, "condition"), *cond = NULL;

  lh_path_key(&p, path, "condition");
  if (!v)
    return lh_check_put(c, out, "condition", json_pack("{ss}", "kind", "any"), p.s);
  if (lh_check_condition(c, v, p.s, &cond) != 0)
    return -1;
  return lh_check_put(c, out, "condition", cond, p.s);
}

static int put_map(lh_check_t *c, const json_t *rule, const char *path, json_t *out,
                   const char *key, int multiline) {
  lh_path_t p;
  json_t *v = lh_member(rule, key);

  lh_path_key(&p, path, key);
  return lh_check_put(c, out, key, v ? lh_check_labels(c, v, p.s, multiline) : json_object(), p.s);
}

static int put_labels(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  return put_map(c, rule, path, out, "labels", 0);
}

static int put_annotations(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  return put_map(c, rule, path, out, "annotations", 1);
}

static int put_samples(lh_check_t *c, const json_t *rule, const char *path, json_t *out) {
  lh_path_t p;
  json_t *v = lh_member(rule, "samples");

  lh_path_key(&p, path, "samples");
  return lh_check_put(c, out, "samples", v ? lh_check_integer(c, v, p.s, 0, 10) : json_integer(3),
                      p.s);
}

typedef int (*field_fn)(lh_check_t *c, const json_t *rule, const char *path, json_t *out);

/* A rule's keys in the normalized document's order, and their checks. */
static const struct {
  const char *key;
  field_fn put;
} FIELDS[] = {
    {"name", put_name},
    {"severity", put_severity},
    {"output", put_output},
    {"format", put_format},
    {"repeat_interval", put_repeat},
    {"resolve_after", put_resolve},
    {"lease", put_lease},
    {"select", put_select},
    {"match", put_match},
    {"group_by", put_group_by},
    {"condition", put_condition},
    {"labels", put_labels},
    {"annotations", put_annotations},
    {"samples", put_samples},
};
#define FIELD_COUNT (sizeof FIELDS / sizeof FIELDS[0])

static const char *const RULE_KEYS[] = {
    "name",          "severity", "output",      "format",  "repeat_interval",
    "resolve_after", "lease",    "select",      "match",   "group_by",
    "condition",     "labels",   "annotations", "samples", NULL};

/* One rule (the defaults merged in) → its normalized object into *out. */
static int normalize_rule(lh_check_t *c, const json_t *rule, const char *path, json_t **out) {
  json_t *r = json_object();

  *out = NULL;
  if (!r)
    return lh_check_fail(c, path, "out of memory");
  if (lh_check_keys(c, rule, path, RULE_KEYS) != 0) {
    json_decref(r);
    return -1;
  }
  for (size_t i = 0; i < FIELD_COUNT; i++)
    if (FIELDS[i].put(c, rule, path, r) != 0) {
      json_decref(r);
      return -1;
    }
  *out = r;
  return 0;
}

/* The defaults: each key present checked as a rule's would be. */
static int check_defaults(lh_check_t *c, const json_t *defaults) {
  json_t *scratch;
  int rc = 0;

  if (!json_is_object(defaults))
    return lh_check_type(c, "defaults", "a mapping of rule keys", defaults);
  if (json_object_get(defaults, "name"))
    return lh_check_fail(c, "defaults.name", "a rule's name cannot be a default");
  if (lh_check_keys(c, defaults, "defaults", RULE_KEYS) != 0 || !(scratch = json_object()))
    return -1;
  for (size_t i = 1; i < FIELD_COUNT && rc == 0; i++)
    if (lh_member(defaults, FIELDS[i].key))
      rc = FIELDS[i].put(c, defaults, "defaults", scratch);
  json_decref(scratch);
  return rc;
}

static int listed(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (strcmp(key, *keys) == 0)
      return 1;
  return 0;
}

/* `rule` over `defaults`: a new object, NULL when memory runs out. */
static json_t *merged(const json_t *defaults, const json_t *rule) {
  json_t *m = defaults ? json_deep_copy(defaults) : json_object(), *v, *d;
  const char *key;

  json_object_foreach((json_t *)rule, key, v) {
    json_t *copy;
    d = json_object_get(m, key);
    if (listed(key, MERGED) && json_is_object(d) && json_is_object(v)) {
      copy = json_deep_copy(d);
      if (copy && json_object_update(copy, v) != 0) {
        json_decref(copy);
        copy = NULL;
      }
    } else {
      copy = json_deep_copy(v);
    }
    if (!m || !copy) {
      json_decref(copy);
      json_decref(m);
      return NULL;
    }
    if (json_object_set_new(m, key, copy) != 0) {
      json_decref(m);
      return NULL;
    }
  }
  return m;
}

/* The name of rules[i] given before it, or -1 with both paths. */
static int unique_name(lh_check_t *c, const json_t *rules, size_t i, const char *path) {
  const char *name = json_string_value(json_object_get(json_array_get(rules, i), "name"));
  lh_path_t p;

  for (size_t j = 0; j < i; j++)
    if (strcmp(json_string_value(json_object_get(json_array_get(rules, j), "name")), name) == 0)
      return lh_check_fail(c, lh_path_key(&p, path, "name"),
                           "\"%s\" is also the name of rules[%zu]; names must be unique", name, j);
  return 0;
}

/* The rules list, each rule with the defaults merged in. */
static int normalize_rules(lh_check_t *c, const json_t *file, json_t *doc) {
  json_t *list = lh_member(file, "rules"), *defaults = lh_member(file, "defaults"), *out;
  size_t i;
  json_t *rule;

  if (!list)
    return lh_check_fail(c, "rules", "required: a list of rules");
  if (!json_is_array(list))
    return lh_check_type(c, "rules", "a list of rules", list);
  if (json_array_size(list) == 0)
    return lh_check_fail(c, "rules", "the list is empty: give at least one rule");
  if (json_array_size(list) > MAX_RULES)
    return lh_check_fail(c, "rules", "%zu rules; at most %d", json_array_size(list), MAX_RULES);
  if (defaults && check_defaults(c, defaults) != 0)
    return -1;
  if (!(out = json_array()) || json_object_set_new(doc, "rules", out) != 0)
    return lh_check_fail(c, "rules", "out of memory");
  json_array_foreach(list, i, rule) {
    lh_path_t p;
    json_t *m, *r;
    lh_path_index(&p, "rules", i);
    if (!json_is_object(rule))
      return lh_check_type(c, p.s, "a rule (a mapping with a name)", rule);
    if (!(m = merged(defaults, rule)))
      return lh_check_fail(c, p.s, "out of memory");
    if (normalize_rule(c, m, p.s, &r) != 0) {
      json_decref(m);
      return -1;
    }
    json_decref(m);
    if (json_array_append_new(out, r) != 0)
      return lh_check_fail(c, p.s, "out of memory");
    if (unique_name(c, out, i, p.s) != 0)
      return -1;
  }
  return 0;
}

/* The settings, every one filled in. */
static int normalize_settings(lh_check_t *c, const json_t *file, json_t *doc) {
  json_t *in = lh_member(file, "settings"), *s = json_object(), *v;
  lh_path_t p;
  int rc;

  if (in && !json_is_object(in)) {
    json_decref(s);
    return lh_check_type(c, "settings", "a mapping", in);
  }
  if (lh_check_put(c, doc, "settings", s, "settings") != 0 ||
      (in && lh_check_keys(c, in, "settings", SETTINGS_KEYS) != 0))
    return -1;
  v = lh_member(in, "max_keys");
  lh_path_key(&p, "settings", "max_keys");
  rc = lh_check_put(c, s, "max_keys",
                    v ? lh_check_integer(c, v, p.s, 1, 1000000) : json_integer(10000), p.s);
  v = lh_member(in, "notify_rate");
  lh_path_key(&p, "settings", "notify_rate");
  rc = rc ? rc
          : lh_check_put(c, s, "notify_rate",
                         v ? lh_check_number(c, v, p.s, 0.001, 1000) : json_real(1), p.s);
  v = lh_member(in, "notify_burst");
  lh_path_key(&p, "settings", "notify_burst");
  rc = rc ? rc
          : lh_check_put(c, s, "notify_burst",
                         v ? lh_check_integer(c, v, p.s, 1, 1000) : json_real(3), p.s);
  if (rc == 0 && v) /* a real, as the design's document has it */
    rc = lh_check_put(c, s, "notify_burst", json_real((double)json_integer_value(v)), p.s);
  v = lh_member(in, "receiver");
  lh_path_key(&p, "settings", "receiver");
  rc = rc ? rc
          : lh_check_put(c, s, "receiver",
                         v ? lh_check_text(c, v, p.s, 0) : json_string("logs-handler"), p.s);
  v = lh_member(in, "state_store"); /* null: the open incidents are not kept */
  lh_path_key(&p, "settings", "state_store");
  return rc ? rc
            : lh_check_put(c, s, "state_store", v ? lh_check_text(c, v, p.s, 0) : json_null(), p.s);
}

int lh_rules_doc_normalize(json_t **out, const json_t *file, lh_has_output_fn has_output, void *arg,
                           char *err, size_t size) {
  lh_check_t c = {err, size, has_output, arg};
  json_t *doc;

  *out = NULL;
  err[0] = '\0';
  if (json_is_null(file))
    return lh_check_fail(&c, NULL, "the rules file is empty: it needs a rules list");
  if (!json_is_object(file))
    return lh_check_type(&c, "the rules file", "a mapping with a rules list", file);
  if (lh_check_keys(&c, file, "", TOP_KEYS) != 0)
    return -1;
  doc = json_object();
  if (!doc)
    return lh_check_fail(&c, NULL, "out of memory");
  if (normalize_settings(&c, file, doc) != 0 || normalize_rules(&c, file, doc) != 0) {
    json_decref(doc);
    return -1;
  }
  *out = doc;
  return 0;
}

int lh_rules_doc_load(json_t **out, const char *path, lh_has_output_fn has_output, void *arg,
                      char *err, size_t size) {
  json_t *file;
  int rc;

  *out = NULL;
  if (lh_yaml_load(&file, path, err, size) != 0)
    return -1;
  rc = lh_rules_doc_normalize(out, file, has_output, arg, err, size);
  json_decref(file);
  return rc;
}
