/* The rules the function runs: compiled, templates checked, said. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules_load.h"
#include "template.h"

/* A rule's fields (lh_ruleset_fields). */
typedef struct {
  const char *const *names;
  size_t count;
} fields_t;

/* Whether `name` (len bytes) is one of the rule's fields. */
static int has_field(void *arg, const char *name, size_t len) {
  const fields_t *f = arg;

  for (size_t i = 0; i < f->count; i++)
    if (strlen(f->names[i]) == len && memcmp(f->names[i], name, len) == 0)
      return 1;
  return 0;
}

/* The templates of rule `i`. */
static int check_rule(const lh_ruleset_t *rs, size_t i, char *err, size_t size) {
  const lh_notify_t *n = lh_ruleset_notify(rs, i);
  fields_t f;
  lh_template_names_t names = {n->group_by, n->group_by_count, has_field, &f};
  char why[512];

  f.names = lh_ruleset_fields(rs, i, &f.count);
  for (size_t a = 0; a < n->annotation_count; a++)
    if (lh_template_check(n->annotations[a].value, &names, why, sizeof why) != 0) {
      snprintf(err, size, "rules[%zu].annotations.%s: %s", i, n->annotations[a].name, why);
      return -1;
    }
  return 0;
}

int lh_rules_check_templates(const lh_ruleset_t *rs, char *err, size_t size) {
  for (size_t i = 0; i < lh_ruleset_count(rs); i++)
    if (check_rule(rs, i, err, size) != 0)
      return -1;
  return 0;
}

int lh_rules_compile(lh_ruleset_t **out, const json_t *doc, const char *self_namespace,
                     const char *self_pod, char *err, size_t size) {
  *out = NULL;
  if (lh_ruleset_compile(out, doc, self_namespace, self_pod, err, size) != 0)
    return -1;
  if (lh_rules_check_templates(*out, err, size) != 0) {
    lh_ruleset_free(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

/* Appends to `out` (NUL-terminated, `size` bytes in all), cut when full. */
static void add(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t size, const char *fmt, ...) {
  size_t used = strlen(out);
  va_list ap;

  if (used + 1 >= size)
    return;
  va_start(ap, fmt);
  vsnprintf(out + used, size - used, fmt, ap);
  va_end(ap);
}

/* A list of matchers or conditions: "a", "[a, b]"; `empty` when there is
 * none. */
static void add_list(char *out, size_t size, const json_t *list, const char *empty) {
  size_t i, n = json_array_size(list);
  const json_t *v;

  if (n == 0)
    add(out, size, "%s", empty);
  json_array_foreach(list, i, v) add(out, size, "%s%s%s",
                                     i       ? ", "
                                     : n > 1 ? "["
                                             : "",
                                     json_string_value(v), n > 1 && i + 1 == n ? "]" : "");
}

/* What the rule's records must say: "access_log where A and B regex R". */
static void add_match(char *out, size_t size, const json_t *match) {
  const char *parse = json_string_value(json_object_get(match, "parse"));
  const json_t *where = json_object_get(match, "where"), *regex = json_object_get(match, "regex");
  const json_t *v;
  size_t i;

  add(out, size, "; match ");
  if (strcmp(parse, "none") != 0)
    add(out, size, "%s%s", parse, json_array_size(where) || json_is_string(regex) ? " " : "");
  json_array_foreach(where, i, v) /* all of them must hold */
      add(out, size, "%s%s", i ? " and " : "where ", json_string_value(v));
  if (json_array_size(where) && json_is_string(regex))
    add(out, size, " ");
  if (json_is_string(regex))
    add(out, size, "regex %s", json_string_value(regex));
  else if (strcmp(parse, "none") == 0 && !json_array_size(where))
    add(out, size, "every line");
}

/* What the rule selects: the metadata, then what the line must say. */
static void add_select(char *out, size_t size, const json_t *rule) {
  const json_t *select = json_object_get(rule, "select");
  static const char *const keys[] = {"namespace", "pod", "container"};
  const char *name;
  const json_t *v;

  for (size_t k = 0; k < 3; k++) {
    add(out, size, "%s%s ", k ? ", " : "", keys[k]);
    add_list(out, size, json_object_get(select, keys[k]), "*");
  }
  json_object_foreach((json_t *)json_object_get(select, "labels"), name, v) {
    add(out, size, ", labels.%s ", name);
    add_list(out, size, v, "*");
  }
  if (json_is_true(json_object_get(select, "self")))
    add(out, size, ", self too");
  add_match(out, size, json_object_get(rule, "match"));
}

/* The condition: "any", "count 5 in 1m", "ratio 0.05 of 20+ in 5m", "absent 10m". */
static void add_condition(char *out, size_t size, const json_t *c) {
  const char *kind = json_string_value(json_object_get(c, "kind"));
  char a[32], b[32];

  if (strcmp(kind, "count") == 0) {
    lh_duration_format(json_number_value(json_object_get(c, "window")), a);
    add(out, size, "count %.0f in %s", json_number_value(json_object_get(c, "count")), a);
  } else if (strcmp(kind, "ratio") == 0) {
    lh_duration_format(json_number_value(json_object_get(c, "window")), a);
    add(out, size, "ratio %g of at least %.0f in %s",
        json_number_value(json_object_get(c, "ratio")),
        json_number_value(json_object_get(c, "min_total")), a);
  } else if (strcmp(kind, "absent") == 0) {
    lh_duration_format(json_number_value(json_object_get(c, "absent")), a);
    lh_duration_format(json_number_value(json_object_get(c, "forget_after")), b);
    add(out, size, "absent %s (forgotten after %s)", a, b);
  } else {
    add(out, size, "%s", kind);
  }
}

void lh_rules_describe(const lh_ruleset_t *rs, size_t rule, char *out, size_t size) {
  const json_t *r = lh_ruleset_rule_json(rs, rule);

  if (size == 0)
    return;
  out[0] = '\0';
  add(out, size, "%s: ", lh_ruleset_name(rs, rule));
  add_select(out, size, r);
  add(out, size, "; condition ");
  add_condition(out, size, json_object_get(r, "condition"));
  add(out, size, "; output %s (%s format)", lh_ruleset_output(rs, rule),
      json_string_value(json_object_get(r, "format")));
}

size_t lh_rules_kept(const lh_ruleset_t *old, const lh_ruleset_t *new, size_t *old_to_new) {
  size_t kept = 0;

  for (size_t i = 0; i < lh_ruleset_count(old); i++) {
    old_to_new[i] = LH_RULE_GONE;
    for (size_t j = 0; j < lh_ruleset_count(new); j++)
      if (strcmp(lh_ruleset_name(old, i), lh_ruleset_name(new, j)) == 0 &&
          json_equal((json_t *)lh_ruleset_rule_json(old, i),
                     (json_t *)lh_ruleset_rule_json(new, j))) {
        old_to_new[i] = j;
        kept++;
        break;
      }
  }
  return kept;
}
