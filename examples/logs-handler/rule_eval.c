/* The compiled rules on a record (lh_ruleset_eval) and on its raw bytes
 * (lh_ruleset_may_match); see rule.h. */
#include <string.h>

#include "rule_impl.h"

static int select_holds(const rule_t *r, lh_view_t *v, pcre2_match_data *md) {
  static const lh_fref_t ns = {LH_FIELD_NAMESPACE, "namespace", 0}, pod = {LH_FIELD_POD, "pod", 0},
                         container = {LH_FIELD_CONTAINER, "container", 0};
  const char *s;
  size_t n;

  s = lh_view_get(v, &ns, &n);
  if (!lh_matchers_test(&r->ns, s, n, md))
    return 0;
  s = lh_view_get(v, &pod, &n);
  if (!lh_matchers_test(&r->pod, s, n, md))
    return 0;
  s = lh_view_get(v, &container, &n);
  if (!lh_matchers_test(&r->container, s, n, md))
    return 0;
  for (size_t i = 0; i < r->label_count; i++) {
    lh_fref_t label = {LH_FIELD_LABEL, r->labels[i].name, 0};
    s = lh_view_get(v, &label, &n);
    if (!lh_matchers_test(&r->labels[i].m, s, n, md))
      return 0;
  }
  return 1;
}

/* The hit of rule `i` on the view, to `hit`: 0, or -1 when out of memory. */
static int emit(const lh_ruleset_t *rs, size_t i, lh_view_t *v, int matched,
                void (*hit)(const lh_hit_t *, void *), void *arg) {
  static const lh_fref_t path = {LH_FIELD_PATH, "path", 0};
  const rule_t *r = &rs->rules[i];
  lh_view_mark_t mark = lh_view_mark(v);
  lh_hit_t h = {i, NULL, r->key_count, matched, NULL, NULL, r->field_count, lh_view_time(v)};
  const char **keys;
  lh_field_t *fields;

  if (lh_view_scratch(v, r->key_count, r->field_count, &keys, &fields) != 0)
    return -1;
  for (size_t k = 0; k < r->key_count; k++)
    if (lh_view_text(v, &r->keys[k], &keys[k]) != 0)
      return -1;
    else if (!keys[k])
      keys[k] = "";
  for (size_t f = 0; f < r->field_count; f++) {
    fields[f].name = r->field_names[f];
    if (lh_view_text(v, &r->fields[f], &fields[f].value) != 0)
      return -1;
    if (!fields[f].value)
      fields[f].value = "";
  }
  if (r->parse != LH_PARSE_ACCESS_LOG || !lh_view_status(v) ||
      lh_view_text(v, &path, &h.sample) != 0)
    h.sample = NULL;
  if (!h.sample && lh_view_line(v, &h.sample) != 0)
    return -1;
  h.key = keys;
  h.fields = fields;
  hit(&h, arg);
  lh_view_release(v, mark);
  return 0;
}

/* 1 when the record is the function's own pod's. */
static int own_record(const lh_ruleset_t *rs, lh_view_t *v) {
  static const lh_fref_t ns = {LH_FIELD_NAMESPACE, "namespace", 0}, pod = {LH_FIELD_POD, "pod", 0};
  size_t n;
  const char *s;

  if (!rs->self_pod)
    return 0;
  s = lh_view_get(v, &pod, &n);
  if (!s || strlen(rs->self_pod) != n || memcmp(s, rs->self_pod, n) != 0)
    return 0;
  s = lh_view_get(v, &ns, &n);
  return !rs->self_ns || (s && strlen(rs->self_ns) == n && memcmp(s, rs->self_ns, n) == 0);
}

int lh_ruleset_eval(const lh_ruleset_t *rs, lh_view_t *v, void (*hit)(const lh_hit_t *, void *),
                    void *arg) {
  static const lh_fref_t line = {LH_FIELD_LINE, "line", 0};
  size_t n;
  int own;

  if (!lh_view_get(v, &line, &n))
    return 0; /* a view of a dropped record: nothing to match */
  own = own_record(rs, v);

  for (size_t i = 0; i < rs->count; i++) {
    const rule_t *r = &rs->rules[i];
    int matched = 1, ratio = rs->conds[i].kind == LH_COND_RATIO;
    if ((own && !r->self) || !select_holds(r, v, rs->md) ||
        (ratio && !lh_where_test(r->of, v, rs->md)))
      continue;
    if (r->regex)
      matched = lh_view_regex(v, r->regex, rs->md);
    if (matched < 0)
      return -1;
    matched = matched && lh_where_test(r->where, v, rs->md);
    if ((matched || ratio) && emit(rs, i, v, matched, hit, arg) != 0)
      return -1;
  }
  return 0;
}

/* \" NNN : a status where an access log has it, right after the request's
 * closing quote, which JSON text always escapes as \" (or as a \u escape,
 * which the caller looks for apart); the size follows after one space. */
static int status_hint(const unsigned char *statuses, const char *s, size_t len) {
  const char *p = s, *end = s + len;

  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 7) {
    if (p[1] == '"' && p[2] == ' ' && p[3] >= '1' && p[3] <= '5' && p[4] >= '0' && p[4] <= '9' &&
        p[5] >= '0' && p[5] <= '9' && p[6] == ' ' &&
        statuses[(p[3] - '0') * 100 + (p[4] - '0') * 10 + (p[5] - '0')])
      return 1;
    p += 2; /* past the escaped character, which may be a backslash */
  }
  return 0;
}

/* A \uXXXX escape. */
static int unicode_escape(const char *s, size_t len) {
  const char *p = s, *end = s + len;

  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && p + 1 < end) {
    if (p[1] == 'u')
      return 1;
    p += 2;
  }
  return 0;
}

/* 1 when one of the list's values is in the bytes. */
static int any_in(const lh_matchers_t *m, const char *data, size_t len) {
  for (size_t i = 0; i < m->count; i++)
    if (memmem(data, len, m->items[i].text, m->items[i].len))
      return 1;
  return 0;
}

/* 1 when the rule may give a hit for these bytes. */
static int rule_may_hit(const rule_t *r, const char *data, size_t len) {
  return (!r->statuses || status_hint(r->statuses, data, len)) &&
         (!r->ns_literal || any_in(&r->ns, data, len)) &&
         (!r->pod_literal || any_in(&r->pod, data, len));
}

int lh_ruleset_may_match(const lh_ruleset_t *rs, const char *data, size_t len) {
  for (size_t i = 0; i < rs->count; i++)
    if (rule_may_hit(&rs->rules[i], data, len))
      return 1;
  /* an escape could spell a name or a status: parse it */
  return unicode_escape(data, len);
}
