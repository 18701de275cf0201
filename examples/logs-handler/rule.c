/* The normalized rules document checked and compiled; see rule.h (rule_eval.c runs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_impl.h"

/* The compile step's place in the document and its error buffer. */
typedef struct {
  char path[160];
  char *err;
  size_t size;
} at_t;

static int fail(const at_t *at, const char *key, const char *why) {
  snprintf(at->err, at->size, "%s%s%s: %s", at->path, key ? "." : "", key ? key : "", why);
  return -1;
}

static const char *text_at(const json_t *o, const char *key, const at_t *at) {
  const char *s = json_string_value(json_object_get(o, key));

  if (!s)
    fail(at, key, json_object_get(o, key) ? "not a string" : "missing");
  return s;
}

static int number_at(const json_t *o, const char *key, double min, double max, double *out,
                     const at_t *at) {
  json_t *n = json_object_get(o, key);
  char why[96];

  *out = json_number_value(n);
  if (json_is_number(n) && *out >= min && *out <= max)
    return 0;
  snprintf(why, sizeof why, "%s (a number from %.15g to %.15g)",
           !n                   ? "missing"
           : !json_is_number(n) ? "not a number"
                                : "out of range",
           min, max);
  return fail(at, key, why);
}

/* A whole number from `min` to `max`. */
static int whole_at(const json_t *o, const char *key, double min, double max, double *out,
                    const at_t *at) {
  char why[96];

  if (number_at(o, key, min, max, out, at) != 0)
    return -1;
  if (*out == (double)(uint64_t)*out)
    return 0;
  snprintf(why, sizeof why, "not a whole number (%.15g to %.15g)", min, max);
  return fail(at, key, why);
}

/* `from`'s path with `tail` and, when `index` >= 0, "[index]" after it. */
static void sub(at_t *to, const at_t *from, const char *tail, long index) {
  size_t n = strlen(from->path), t = strlen(tail);
  char brackets[24];
  int w = index >= 0 ? snprintf(brackets, sizeof brackets, "[%ld]", index) : 0;

  *to = *from;
  if (n + t < sizeof to->path) {
    memcpy(to->path + n, tail, t + 1);
    n += t;
  }
  if (w > 0 && n + (size_t)w < sizeof to->path)
    memcpy(to->path + n, brackets, (size_t)w + 1);
}

size_t lh_ruleset_count(const lh_ruleset_t *rs) { return rs->count; }
const lh_cond_t *lh_ruleset_conds(const lh_ruleset_t *rs) { return rs->conds; }
const lh_notify_t *lh_ruleset_notify(const lh_ruleset_t *rs, size_t i) { return &rs->notify[i]; }
const char *lh_ruleset_output(const lh_ruleset_t *rs, size_t i) { return rs->rules[i].output; }
const char *lh_ruleset_name(const lh_ruleset_t *rs, size_t i) { return rs->rules[i].name; }

const json_t *lh_ruleset_rule_json(const lh_ruleset_t *rs, size_t i) {
  return json_array_get(json_object_get(rs->doc, "rules"), i);
}
size_t lh_ruleset_max_keys(const lh_ruleset_t *rs) { return rs->max_keys; }
double lh_ruleset_notify_rate(const lh_ruleset_t *rs) { return rs->rate; }
double lh_ruleset_notify_burst(const lh_ruleset_t *rs) { return rs->burst; }
const char *lh_ruleset_receiver(const lh_ruleset_t *rs) { return rs->receiver; }
const char *lh_ruleset_state_store(const lh_ruleset_t *rs) { return rs->state_store; }

const char *const *lh_ruleset_fields(const lh_ruleset_t *rs, size_t i, size_t *count) {
  *count = rs->rules[i].field_count;
  return (const char *const *)rs->rules[i].field_names;
}

static void free_rule(rule_t *r) {
  lh_matchers_free(&r->ns);
  lh_matchers_free(&r->pod);
  lh_matchers_free(&r->container);
  for (size_t i = 0; i < r->label_count; i++)
    lh_matchers_free(&r->labels[i].m);
  free(r->labels);
  pcre2_code_free(r->regex);
  lh_where_free(r->where);
  lh_where_free(r->of);
  free(r->keys);
  free(r->group_by);
  free(r->fields);
  for (size_t i = 0; i < r->field_count; i++)
    free(r->field_names[i]);
  free(r->field_names);
  free(r->extra_labels);
  free(r->annotations);
}

void lh_ruleset_free(lh_ruleset_t *rs) {
  if (!rs)
    return;
  for (size_t i = 0; rs->rules && i < rs->count; i++)
    free_rule(&rs->rules[i]);
  free(rs->rules);
  free(rs->conds);
  free(rs->notify);
  for (size_t i = 0; i < rs->lit_count; i++)
    free(rs->lits[i].text);
  free(rs->lits);
  free(rs->lit_seen);
  free(rs->pairs);
  free(rs->by_first);
  free(rs->may);
  free(rs->self_ns);
  free(rs->self_pod);
  pcre2_match_data_free(rs->md);
  json_decref(rs->doc);
  free(rs);
}

static int matchers_at(lh_matchers_t *m, const json_t *o, const char *key, const at_t *at) {
  at_t in;
  json_t *list = json_object_get(o, key);

  sub(&in, at, ".", -1);
  sub(&in, &in, key, -1);
  if (!list) {
    *m = (lh_matchers_t){0};
    return 0; /* absent = any */
  }
  return lh_matchers_compile(m, list, in.path, at->err, at->size);
}

static int select_labels(rule_t *r, const json_t *labels, const at_t *at) {
  const char *name;
  json_t *list;
  at_t in;

  if (!labels)
    return 0;
  if (!json_is_object(labels))
    return fail(at, "labels", "not an object of label names to matchers");
  r->labels = calloc(json_object_size(labels) + 1, sizeof *r->labels);
  if (!r->labels)
    return fail(at, "labels", "out of memory");
  json_object_foreach((json_t *)labels, name, list) {
    sub(&in, at, ".labels.", -1);
    sub(&in, &in, name, -1);
    r->labels[r->label_count].name = name;
    if (lh_matchers_compile(&r->labels[r->label_count++].m, list, in.path, at->err, at->size) != 0)
      return -1;
  }
  return 0;
}

static int compile_select(rule_t *r, const json_t *rule, const at_t *rat) {
  const json_t *sel = json_object_get(rule, "select"), *self;
  at_t at;

  sub(&at, rat, ".select", -1);
  if (sel && !json_is_object(sel))
    return fail(rat, "select", "not an object");
  self = json_object_get(sel, "self");
  if (self && !json_is_boolean(self))
    return fail(&at, "self", "not true or false");
  r->self = json_is_true(self);
  if (matchers_at(&r->ns, sel, "namespace", &at) != 0 ||
      matchers_at(&r->pod, sel, "pod", &at) != 0 ||
      matchers_at(&r->container, sel, "container", &at) != 0)
    return -1;
  return select_labels(r, json_object_get(sel, "labels"), &at);
}

static int compile_match(rule_t *r, const json_t *rule, const at_t *rat) {
  const json_t *match = json_object_get(rule, "match"), *regex;
  const char *parse;
  at_t at, in;

  sub(&at, rat, ".match", -1);
  if (!json_is_object(match))
    return fail(rat, "match", match ? "not an object" : "missing");
  parse = text_at(match, "parse", &at);
  if (!parse)
    return -1;
  r->parse = strcmp(parse, "access_log") == 0 ? LH_PARSE_ACCESS_LOG
             : strcmp(parse, "json") == 0     ? LH_PARSE_JSON
                                              : LH_PARSE_NONE;
  if (r->parse == LH_PARSE_NONE && strcmp(parse, "none") != 0)
    return fail(&at, "parse", "not access_log, json or none");
  regex = json_object_get(match, "regex");
  sub(&in, &at, ".regex", -1);
  if (regex && !json_is_null(regex)) {
    if (!json_is_string(regex))
      return fail(&in, NULL, "not a string (a PCRE2 regex) or null");
    r->regex_text = json_string_value(regex);
    r->regex = lh_regex_compile(r->regex_text, 0, in.path, r->regex_text, at.err, at.size);
    if (!r->regex)
      return -1;
  }
  sub(&in, &at, ".where", -1);
  if (!json_object_get(match, "where"))
    return 0; /* no conditions */
  return lh_where_compile(&r->where, json_object_get(match, "where"), in.path, r->parse, r->regex,
                          at.err, at.size);
}

/* A field name of group_by or of a template: resolved, or an error naming
 * the nearest known one. */
static int field_at(const rule_t *r, const char *name, lh_fref_t *out, const at_t *at,
                    const char *context) {
  const char *hint;
  char why[256];

  if (lh_fref_resolve(out, name, r->parse, r->regex) == 0)
    return 0;
  hint = lh_fref_suggest(name, r->parse, r->regex);
  snprintf(why, sizeof why, "unknown field \"%.60s\"%s%s%s%s%s", name, context,
           hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "",
           r->parse == LH_PARSE_ACCESS_LOG || r->parse == LH_PARSE_JSON || hint
               ? ""
               : " (access-log fields need parse: access_log, JSON ones parse: json)");
  return fail(at, NULL, why);
}

static int compile_group_by(rule_t *r, const json_t *rule, const at_t *rat) {
  const json_t *list = json_object_get(rule, "group_by");
  size_t n = json_array_size(list);
  at_t at;

  if (!json_is_array(list))
    return fail(rat, "group_by", list ? "not a list of field names" : "missing");
  r->keys = calloc(n + 1, sizeof *r->keys);
  r->group_by = calloc(n + 1, sizeof *r->group_by);
  if (!r->keys || !r->group_by)
    return fail(rat, "group_by", "out of memory");
  for (size_t i = 0; i < n; i++, r->key_count++) {
    const char *name = json_string_value(json_array_get(list, i));
    sub(&at, rat, ".group_by", (long)i);
    if (!name)
      return fail(&at, NULL, "not a field name");
    if (field_at(r, name, &r->keys[i], &at, "") != 0)
      return -1;
    if (r->keys[i].kind == LH_FIELD_LINE)
      return fail(&at, NULL, "\"line\" is not a bounded label: group by fields with few values");
    r->group_by[i] = name;
  }
  return 0;
}

static int cond_kind(lh_cond_t *c, const char *kind, const at_t *at) {
  static const char *const names[] = {"any", "count", "ratio", "absent"};

  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(kind, names[i]) == 0) {
      c->kind = (lh_cond_kind_t)(LH_COND_ANY + i);
      return 0;
    }
  return fail(at, "kind", "not any, count, ratio or absent");
}

/* The condition's numbers, by kind. */
static int cond_numbers(lh_cond_t *c, const json_t *o, const at_t *at) {
  double n = 0;

  switch (c->kind) {
  case LH_COND_COUNT:
    if (whole_at(o, "count", 1, 1e9, &n, at) != 0)
      return -1;
    c->count = (uint64_t)n;
    return number_at(o, "window", 1, 7 * 86400, &c->window, at);
  case LH_COND_RATIO:
    if (number_at(o, "ratio", 0, 1, &c->ratio, at) != 0 ||
        whole_at(o, "min_total", 1, 1e9, &n, at) != 0)
      return -1;
    c->min_total = (uint64_t)n;
    return number_at(o, "window", 1, 7 * 86400, &c->window, at);
  case LH_COND_ABSENT:
    if (number_at(o, "absent", 1, 7 * 86400, &c->absent, at) != 0 ||
        number_at(o, "forget_after", 1, 366 * 86400, &c->forget_after, at) != 0)
      return -1;
    return c->forget_after > c->absent ? 0 : fail(at, "forget_after", "must be longer than absent");
  default:
    return 0;
  }
}

static int compile_condition(rule_t *r, lh_cond_t *c, const json_t *rule, const at_t *rat) {
  const json_t *o = json_object_get(rule, "condition"), *of;
  const char *kind;
  at_t at, in;

  sub(&at, rat, ".condition", -1);
  if (!json_is_object(o))
    return fail(rat, "condition", o ? "not an object" : "missing");
  if (!(kind = text_at(o, "kind", &at)) || cond_kind(c, kind, &at) != 0 ||
      cond_numbers(c, o, &at) != 0)
    return -1;
  if (c->kind != LH_COND_RATIO)
    return 0;
  of = json_object_get(o, "of");
  if (of && !json_is_object(of))
    return fail(&at, "of", "not an object");
  if (!json_object_get(of, "where"))
    return 0; /* every selected record counts */
  sub(&in, &at, ".of.where", -1);
  /* the total is counted before the rule's regex runs: no groups there */
  return lh_where_compile(&r->of, json_object_get(of, "where"), in.path, r->parse, NULL, at.err,
                          at.size);
}

/* An object of strings ({"team": "payments"}) as fields pointing into it. */
static int string_fields(lh_field_t **out, size_t *count, const json_t *o, const char *key,
                         const at_t *rat) {
  const char *name;
  json_t *value;
  at_t at;

  *count = 0;
  if (o && !json_is_object(o))
    return fail(rat, key, "not an object of strings");
  *out = calloc(json_object_size(o) + 1, sizeof **out);
  if (!*out)
    return fail(rat, key, "out of memory");
  json_object_foreach((json_t *)o, name, value) {
    sub(&at, rat, ".", -1);
    sub(&at, &at, key, -1);
    sub(&at, &at, ".", -1);
    sub(&at, &at, name, -1);
    if (!json_is_string(value))
      return fail(&at, NULL, "not a string");
    (*out)[(*count)++] = (lh_field_t){name, json_string_value(value)};
  }
  return 0;
}

/* A template variable of the notification itself, not a record field. */
static int template_variable(const rule_t *r, const char *name) {
  static const char *const names[] = {"count",      "new_count", "total",      "window",
                                      "rule",       "severity",  "first_seen", "last_seen",
                                      "suppressed", "samples"};

  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(name, names[i]) == 0)
      return 1;
  for (size_t i = 0; i < r->key_count; i++)
    if (strcmp(name, r->group_by[i]) == 0)
      return 1;
  return 0;
}

/* Adds the field `name` to what the rule's hits carry, once. */
static int need_field(rule_t *r, const char *name, const lh_fref_t *f) {
  for (size_t i = 0; i < r->field_count; i++)
    if (strcmp(r->field_names[i], name) == 0)
      return 0;
  char **names = realloc(r->field_names, (r->field_count + 1) * sizeof *names);
  if (names)
    r->field_names = names;
  lh_fref_t *fields = realloc(r->fields, (r->field_count + 1) * sizeof *fields);
  if (fields)
    r->fields = fields;
  if (!names || !fields || !(names[r->field_count] = strdup(name)))
    return -1;
  fields[r->field_count] = *f;
  fields[r->field_count].name =
      f->kind == LH_FIELD_LABEL ? names[r->field_count] + 7 : names[r->field_count];
  r->field_count++;
  return 0;
}

/* One {{name}} of a template: the record field it needs, if any. */
static int template_name(rule_t *r, const char *name, const at_t *at) {
  const char *field = strncmp(name, "first.", 6) == 0  ? name + 6
                      : strncmp(name, "last.", 5) == 0 ? name + 5
                                                       : NULL;
  lh_fref_t f;
  char context[96];

  if (!field) /* {{count}}, {{pod}} (a key), or a field */
    return template_variable(r, name) || lh_fref_resolve(&f, name, r->parse, r->regex) != 0 ? 0
           : need_field(r, name, &f) == 0                                                   ? 0
                                          : fail(at, NULL, "out of memory");
  snprintf(context, sizeof context, " in {{%.60s}}", name);
  if (field_at(r, field, &f, at, context) != 0)
    return -1;
  return need_field(r, field, &f) == 0 ? 0 : fail(at, NULL, "out of memory");
}

/* The fields the templates of `annotations` name ({{first.X}}, {{last.X}},
 * {{X}}). Their syntax is alert.c's to check; unknown names are left to it
 * but for first.X and last.X, which must be record fields. */
static int template_fields(rule_t *r, const at_t *rat) {
  for (size_t i = 0; i < r->annotation_count; i++) {
    const char *s = r->annotations[i].value, *open, *close;
    at_t at;
    sub(&at, rat, ".annotations.", -1);
    sub(&at, &at, r->annotations[i].name, -1);
    while ((open = strstr(s, "{{")) && (close = strstr(open + 2, "}}"))) {
      char name[128];
      const char *b = open + 2, *e = close;
      while (b < e && *b == ' ')
        b++;
      while (e > b && e[-1] == ' ')
        e--;
      snprintf(name, sizeof name, "%.*s", (int)(e - b), b);
      if (template_name(r, name, &at) != 0)
        return -1;
      s = close + 2;
    }
  }
  return 0;
}

/* Without annotations, an access-log rule's alert says today's: the path,
 * method and client of the first and last match, and their status (which
 * the message names when the rule does not group by it). */
static int default_fields(rule_t *r, const at_t *at) {
  static const char *const names[] = {"path", "method", "client", "status"};
  lh_fref_t f;

  if (r->annotation_count || r->parse != LH_PARSE_ACCESS_LOG)
    return 0;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (lh_fref_resolve(&f, names[i], r->parse, NULL) != 0 || need_field(r, names[i], &f) != 0)
      return fail(at, NULL, "out of memory");
  return 0;
}

/* Timing and notification settings of a rule into its cond and notify. */
static int compile_timing(lh_ruleset_t *rs, size_t i, const json_t *rule, const at_t *at) {
  lh_cond_t *c = &rs->conds[i];
  lh_notify_t *n = &rs->notify[i];
  const char *format;
  double samples;

  if (!(n->severity = text_at(rule, "severity", at)) || !(format = text_at(rule, "format", at)) ||
      !(rs->rules[i].output = text_at(rule, "output", at)))
    return -1;
  if (strcmp(format, "notification-manager") != 0 && strcmp(format, "alertmanager") != 0)
    return fail(at, "format", "not notification-manager or alertmanager");
  n->format =
      strcmp(format, "alertmanager") == 0 ? LH_FORMAT_ALERTMANAGER : LH_FORMAT_NOTIFICATION_MANAGER;
  if (number_at(rule, "repeat_interval", 1, 7 * 86400, &c->repeat_interval, at) != 0 ||
      number_at(rule, "resolve_after", 1, 86400, &c->resolve_after, at) != 0 ||
      number_at(rule, "lease", 1, 8 * 86400, &n->lease, at) != 0 ||
      whole_at(rule, "samples", 0, LH_SAMPLES_MAX, &samples, at) != 0)
    return -1;
  if (n->lease <= c->repeat_interval)
    return fail(at, "lease",
                "must be longer than repeat_interval, or Alertmanager resolves an alert that "
                "still fires");
  c->samples = (size_t)samples;
  n->resolve_after = c->resolve_after;
  return 0;
}

static void fill_notify(lh_ruleset_t *rs, size_t i) {
  rule_t *r = &rs->rules[i];
  lh_notify_t *n = &rs->notify[i];

  n->name = r->name;
  n->receiver = rs->receiver;
  /* {{window}} of an absent rule: how long a key has been silent */
  n->window = rs->conds[i].kind == LH_COND_ABSENT ? rs->conds[i].absent : rs->conds[i].window;
  n->group_by = r->group_by;
  n->group_by_count = r->key_count;
  n->labels = r->extra_labels;
  n->label_count = r->extra_label_count;
  n->annotations = r->annotations;
  n->annotation_count = r->annotation_count;
  n->access_log = r->parse == LH_PARSE_ACCESS_LOG;
  n->kind = rs->conds[i].kind; /* the default message's wording, a ratio's numbers */
  n->ratio = rs->conds[i].ratio;
}

static int compile_rule(lh_ruleset_t *rs, size_t i, const json_t *rule, const at_t *at) {
  rule_t *r = &rs->rules[i];

  if (!json_is_object(rule))
    return fail(at, NULL, "not an object");
  if (!(r->name = text_at(rule, "name", at)))
    return -1;
  if (!*r->name)
    return fail(at, "name", "empty");
  for (size_t j = 0; j < i; j++)
    if (strcmp(rs->rules[j].name, r->name) == 0)
      return fail(at, "name", "the same as another rule's: names must be unique");
  if (compile_timing(rs, i, rule, at) != 0 || compile_select(r, rule, at) != 0 ||
      compile_match(r, rule, at) != 0 || compile_group_by(r, rule, at) != 0 ||
      compile_condition(r, &rs->conds[i], rule, at) != 0 ||
      string_fields(&r->extra_labels, &r->extra_label_count, json_object_get(rule, "labels"),
                    "labels", at) != 0 ||
      string_fields(&r->annotations, &r->annotation_count, json_object_get(rule, "annotations"),
                    "annotations", at) != 0 ||
      template_fields(r, at) != 0 || default_fields(r, at) != 0)
    return -1;
  fill_notify(rs, i);
  if (lh_prefilter_compile(rs, i, rs->conds[i].kind) != 0)
    return fail(at, NULL, "out of memory");
  r->statuses = r->parse != LH_PARSE_ACCESS_LOG
                    ? NULL
                    : lh_where_statuses(rs->conds[i].kind == LH_COND_RATIO ? r->of : r->where);
  return 0;
}

static int compile_settings(lh_ruleset_t *rs, const json_t *doc, at_t *at) {
  const json_t *s = json_object_get(doc, "settings");
  double keys;

  snprintf(at->path, sizeof at->path, "settings");
  if (!json_is_object(s))
    return fail(at, NULL, s ? "not an object" : "missing");
  if (whole_at(s, "max_keys", 1, 1000000, &keys, at) != 0 ||
      number_at(s, "notify_rate", 0.001, 1000, &rs->rate, at) != 0 ||
      number_at(s, "notify_burst", 1, 1000, &rs->burst, at) != 0 ||
      !(rs->receiver = text_at(s, "receiver", at)))
    return -1;
  rs->max_keys = (size_t)keys;
  rs->state_store = json_string_value(json_object_get(s, "state_store"));
  return 0;
}

/* Match data with room for the largest regex's groups. */
static int make_match_data(lh_ruleset_t *rs) {
  uint32_t pairs = 1;

  for (size_t i = 0; i < rs->count; i++) {
    uint32_t captures = 0;
    if (rs->rules[i].regex)
      pcre2_pattern_info(rs->rules[i].regex, PCRE2_INFO_CAPTURECOUNT, &captures);
    if (captures + 1 > pairs)
      pairs = captures + 1;
  }
  rs->md = pcre2_match_data_create(pairs, NULL);
  return rs->md ? 0 : -1;
}

static int compile_rules(lh_ruleset_t *rs, const json_t *list, at_t *at) {
  size_t n = json_array_size(list);

  snprintf(at->path, sizeof at->path, "rules");
  if (!json_is_array(list))
    return fail(at, NULL, list ? "not a list" : "missing");
  if (n == 0)
    return fail(at, NULL, "no rule: a rule set needs at least one");
  rs->rules = calloc(n, sizeof *rs->rules);
  rs->conds = calloc(n, sizeof *rs->conds);
  rs->notify = calloc(n, sizeof *rs->notify);
  rs->may = malloc(n);
  if (!rs->rules || !rs->conds || !rs->notify || !rs->may)
    return fail(at, NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    at_t in;
    rs->count = i + 1; /* freed from here on */
    sub(&in, at, "", (long)i);
    if (compile_rule(rs, i, json_array_get(list, i), &in) != 0)
      return -1;
  }
  memset(rs->may, 1, n);
  rs->lit_seen = calloc(rs->lit_count + 1, sizeof *rs->lit_seen);
  return make_match_data(rs) == 0 && rs->lit_seen && lh_prefilter_index(rs) == 0
             ? 0
             : fail(at, NULL, "out of memory");
}

static char *copy_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

int lh_ruleset_compile(lh_ruleset_t **out, const json_t *normalized, const char *self_namespace,
                       const char *self_pod, char *err, size_t size) {
  lh_ruleset_t *rs = calloc(1, sizeof *rs);
  at_t at = {"", err, size};

  *out = NULL;
  if (!normalized) {
    free(rs);
    snprintf(err, size, "no rules document");
    return -1;
  }
  if (!rs || !(rs->doc = json_deep_copy(normalized))) {
    free(rs);
    snprintf(err, size, "out of memory");
    return -1;
  }
  rs->self_ns = copy_or_null(self_namespace);
  rs->self_pod = copy_or_null(self_pod);
  if (!json_is_object(rs->doc)) {
    snprintf(err, size, "the rules document is not an object");
  } else if ((self_pod && *self_pod && !rs->self_pod) ||
             (self_namespace && *self_namespace && !rs->self_ns)) {
    snprintf(err, size, "out of memory");
  } else if (compile_settings(rs, rs->doc, &at) == 0 &&
             compile_rules(rs, json_object_get(rs->doc, "rules"), &at) == 0) {
    *out = rs;
    return 0;
  }
  lh_ruleset_free(rs);
  return -1;
}
