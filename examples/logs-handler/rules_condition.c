/* A rule's condition: exactly one kind (any, count, ratio, absent), its
 * keys and their ranges, the defaults filled in. */
#include <stdio.h>
#include <string.h>

#include "rules_check.h"

#define DAY 86400.0

/* The kinds, in KINDS' order. */
typedef enum { KIND_ANY, KIND_COUNT, KIND_RATIO, KIND_ABSENT, KIND_NONE = -1 } kind_t;
static const char *const KINDS[] = {"any", "count", "ratio", "absent", NULL};
static const char *const CONDITION_KEYS[] = {"any",       "count",  "window",       "ratio", "of",
                                             "min_total", "absent", "forget_after", NULL};
static const char *const OF_KEYS[] = {"where", NULL};

/* The keys each kind has (the kind's own key first). */
static const char *const ANY_KEYS[] = {"any", NULL};
static const char *const COUNT_KEYS[] = {"count", "window", NULL};
static const char *const RATIO_KEYS[] = {"ratio", "window", "of", "min_total", NULL};
static const char *const ABSENT_KEYS[] = {"absent", "forget_after", NULL};
static const char *const *const KIND_KEYS[] = {ANY_KEYS, COUNT_KEYS, RATIO_KEYS, ABSENT_KEYS};

static int listed(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (strcmp(key, *keys) == 0)
      return 1;
  return 0;
}

/* The one kind `v` names, or KIND_NONE (-1) with the message. */
static kind_t kind_of(lh_check_t *c, const json_t *v, const char *path) {
  kind_t kind = KIND_NONE;

  for (kind_t k = KIND_ANY; k <= KIND_ABSENT; k++) {
    if (!json_object_get(v, KINDS[k]))
      continue;
    if (kind != KIND_NONE) {
      lh_check_fail(c, path, "holds both %s and %s; a condition is one kind", KINDS[kind],
                    KINDS[k]);
      return KIND_NONE;
    }
    kind = k;
  }
  if (kind == KIND_NONE)
    lh_check_fail(c, path, "names no kind: give one of any, count, ratio or absent");
  return kind;
}

/* Every key of `v` belongs to `kind`. */
static int own_keys(lh_check_t *c, const json_t *v, const char *path, kind_t kind) {
  const char *key;
  json_t *value;

  json_object_foreach((json_t *)v, key, value) {
    lh_path_t p;
    char list[96] = "";
    if (listed(key, KIND_KEYS[kind]))
      continue;
    for (const char *const *k = KIND_KEYS[kind]; *k; k++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
               k == KIND_KEYS[kind] ? "" : ", ", *k);
    return lh_check_fail(c, lh_path_key(&p, path, key), "a %s condition has no %s (its keys: %s)",
                         KINDS[kind], key, list);
  }
  return 0;
}

/* A required duration member. */
static int put_duration(lh_check_t *c, const json_t *v, const char *path, json_t *out,
                        const char *key, double max, const char *kind) {
  lh_path_t p;
  json_t *d = lh_member(v, key);

  lh_path_key(&p, path, key);
  if (!d)
    return lh_check_fail(c, p.s, "required with %s", kind);
  return lh_check_put(c, out, key, lh_check_duration(c, d, p.s, max), p.s);
}

static int count_kind(lh_check_t *c, const json_t *v, const char *path, json_t *out) {
  lh_path_t p;

  lh_path_key(&p, path, "count");
  if (lh_check_put(c, out, "count",
                   lh_check_integer(c, json_object_get(v, "count"), p.s, 1, 1000000), p.s) != 0)
    return -1;
  return put_duration(c, v, path, out, "window", 7 * DAY, "count");
}

/* of: {where: [...]}; absent = every record that passes select. */
static int put_of(lh_check_t *c, const json_t *v, const char *path, json_t *out) {
  lh_path_t p, q;
  json_t *of = lh_member(v, "of"), *where = lh_member(of, "where"), *o;

  lh_path_key(&p, path, "of");
  if (of && !json_is_object(of))
    return lh_check_type(c, p.s, "a mapping ({where: [...]})", of);
  if (of && lh_check_keys(c, of, p.s, OF_KEYS) != 0)
    return -1;
  lh_path_key(&q, p.s, "where");
  o = json_object();
  if (lh_check_put(c, out, "of", o, p.s) != 0)
    return -1;
  return lh_check_put(c, o, "where", where ? lh_check_strings(c, where, q.s) : json_array(), q.s);
}

static int ratio_kind(lh_check_t *c, const json_t *v, const char *path, json_t *out) {
  lh_path_t p;
  json_t *r = json_object_get(v, "ratio"), *m = lh_member(v, "min_total");

  lh_path_key(&p, path, "ratio");
  if (!json_is_number(r))
    return lh_check_type(c, p.s, "a number more than 0 and at most 1", r);
  if (!(json_number_value(r) > 0 && json_number_value(r) <= 1))
    return lh_check_fail(c, p.s, "%g is not more than 0 and at most 1", json_number_value(r));
  if (lh_check_put(c, out, "ratio", json_real(json_number_value(r)), p.s) != 0 ||
      put_of(c, v, path, out) != 0)
    return -1;
  lh_path_key(&p, path, "min_total");
  if (lh_check_put(c, out, "min_total",
                   m ? lh_check_integer(c, m, p.s, 1, 1000000000) : json_integer(20), p.s) != 0)
    return -1;
  return put_duration(c, v, path, out, "window", 7 * DAY, "ratio");
}

/* absent: D; forget_after: longer than D, by default 24h or 2 x D. */
static int absent_kind(lh_check_t *c, const json_t *v, const char *path, json_t *out) {
  lh_path_t p;
  json_t *f = lh_member(v, "forget_after");
  double absent, forget;
  char a[32], b[32];

  if (put_duration(c, v, path, out, "absent", 7 * DAY, "absent") != 0)
    return -1;
  absent = json_real_value(json_object_get(out, "absent"));
  lh_path_key(&p, path, "forget_after");
  if (lh_check_put(c, out, "forget_after",
                   f ? lh_check_duration(c, f, p.s, 30 * DAY)
                     : json_real(absent * 2 > DAY ? absent * 2 : DAY),
                   p.s) != 0)
    return -1;
  forget = json_real_value(json_object_get(out, "forget_after"));
  if (forget <= absent)
    return lh_check_fail(c, p.s, "%s must be longer than absent (%s)",
                         lh_duration_text(a, sizeof a, forget),
                         lh_duration_text(b, sizeof b, absent));
  return 0;
}

/* {any: true}: today's rule, every matching record. */
static int any_kind(lh_check_t *c, const json_t *v, const char *path) {
  lh_path_t p;
  json_t *a = json_object_get(v, "any");

  lh_path_key(&p, path, "any");
  if (json_is_true(a))
    return 0;
  if (json_is_false(a))
    return lh_check_fail(c, p.s, "false would match nothing: say any: true, or give another kind");
  return lh_check_type(c, p.s, "true", a);
}

int lh_check_condition(lh_check_t *c, const json_t *v, const char *path, json_t **out) {
  json_t *o;
  kind_t kind;
  int rc;

  *out = NULL;
  if (!json_is_object(v))
    return lh_check_type(c, path, "a mapping ({any: true}, {count: N, window: W}, ...)", v);
  if (lh_check_keys(c, v, path, CONDITION_KEYS) != 0 || (kind = kind_of(c, v, path)) == KIND_NONE ||
      own_keys(c, v, path, kind) != 0)
    return -1;
  o = json_pack("{ss}", "kind", KINDS[kind]);
  if (!o)
    return lh_check_fail(c, path, "out of memory");
  rc = kind == KIND_ANY     ? any_kind(c, v, path)
       : kind == KIND_COUNT ? count_kind(c, v, path, o)
       : kind == KIND_RATIO ? ratio_kind(c, v, path, o)
                            : absent_kind(c, v, path, o);
  if (rc != 0) {
    json_decref(o);
    return -1;
  }
  *out = o;
  return 0;
}
