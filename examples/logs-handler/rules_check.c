/* The value checks of the rules document: paths, messages, types, ranges,
 * durations, matchers, label maps and field lists. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearest.h"
#include "rules_check.h"
#include "rules_doc.h"

#define DURATION_HINT "(90, 30s, 5m, 1h, 1d)"
#define MAX_FIELDS 8

static int plain_name(const char *s) {
  return *s &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s);
}

const char *lh_path_key(lh_path_t *buf, const char *parent, const char *key) {
  const char *dot = parent && *parent ? "." : "";

  if (plain_name(key)) {
    snprintf(buf->s, sizeof buf->s, "%s%s%.64s", parent ? parent : "", dot, key);
  } else {
    char q[LH_QUOTE_SIZE];
    snprintf(buf->s, sizeof buf->s, "%s[%.80s]", parent ? parent : "", lh_quote(q, sizeof q, key));
  }
  return buf->s;
}

const char *lh_path_index(lh_path_t *buf, const char *parent, size_t i) {
  snprintf(buf->s, sizeof buf->s, "%s[%zu]", parent, i);
  return buf->s;
}

int lh_check_put(lh_check_t *c, json_t *out, const char *key, json_t *value, const char *path) {
  if (!value)
    return -1;
  if (json_object_set_new(out, key, value) != 0)
    return lh_check_fail(c, path, "out of memory");
  return 0;
}

int lh_check_fail(lh_check_t *c, const char *path, const char *fmt, ...) {
  char text[384];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (path && *path)
    snprintf(c->err, c->size, "%s: %s", path, text);
  else
    snprintf(c->err, c->size, "%s", text);
  return -1;
}

const char *lh_quote(char *buf, size_t size, const char *s) {
  size_t n = 0, i = 0;

  buf[n++] = '"';
  /* 60 bytes, and the rest of a UTF-8 sequence begun */
  for (; s[i] && (i < 60 || ((unsigned char)s[i] & 0xc0) == 0x80) && n + 6 < size; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\')
      n += (size_t)snprintf(buf + n, size - n, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
    else
      buf[n++] = (char)ch;
  }
  snprintf(buf + n, size - n, "%s\"", s[i] ? "..." : "");
  return buf;
}

static const char *kind_of(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "a mapping";
  case JSON_ARRAY:
    return "a list";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
    return "true";
  case JSON_FALSE:
    return "false";
  default:
    return "null";
  }
}

int lh_check_type(lh_check_t *c, const char *path, const char *what, const json_t *got) {
  if (json_is_number(got) && strstr(what, "string"))
    return lh_check_fail(c, path, "expected %s, got %s (quote it: \"%g\")", what, kind_of(got),
                         json_number_value(got));
  if (json_is_string(got)) {
    char q[LH_QUOTE_SIZE];
    return lh_check_fail(c, path, "expected %s, got a string (%s)", what,
                         lh_quote(q, sizeof q, json_string_value(got)));
  }
  return lh_check_fail(c, path, "expected %s, got %s", what, kind_of(got));
}

json_t *lh_member(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_null(v) ? NULL : v;
}

static int listed(const char *name, const char *const *known) {
  for (; *known; known++)
    if (strcmp(name, *known) == 0)
      return 1;
  return 0;
}

int lh_check_keys(lh_check_t *c, const json_t *obj, const char *path, const char *const *known) {
  const char *key;
  json_t *v;

  json_object_foreach((json_t *)obj, key, v) {
    lh_path_t p;
    const char *near;
    char list[256] = "";
    if (listed(key, known))
      continue;
    near = lh_nearest(key, known);
    if (near)
      return lh_check_fail(c, lh_path_key(&p, path, key), "unknown key (did you mean \"%s\"?)",
                           near);
    for (const char *const *k = known; *k; k++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k == known ? "" : ", ", *k);
    return lh_check_fail(c, lh_path_key(&p, path, key), "unknown key (known: %s)", list);
  }
  return 0;
}

json_t *lh_check_text(lh_check_t *c, const json_t *v, const char *path, int multiline) {
  const char *s;

  if (!json_is_string(v)) {
    lh_check_type(c, path, "a string", v);
    return NULL;
  }
  s = json_string_value(v);
  if (!*s || strlen(s) != json_string_length(v)) {
    lh_check_fail(c, path, "must not be empty");
    return NULL;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f) {
      char q[LH_QUOTE_SIZE];
      lh_check_fail(c, path, "%s holds a control character", lh_quote(q, sizeof q, s));
      return NULL;
    }
  return json_string(s);
}

const char *lh_duration_text(char *buf, size_t size, double s) {
  if (s >= 86400 && fmod(s, 86400) == 0)
    snprintf(buf, size, "%gd", s / 86400);
  else if (s >= 3600 && fmod(s, 3600) == 0)
    snprintf(buf, size, "%gh", s / 3600);
  else if (s >= 60 && fmod(s, 60) == 0)
    snprintf(buf, size, "%gm", s / 60);
  else
    snprintf(buf, size, "%gs", s);
  return buf;
}

json_t *lh_check_duration(lh_check_t *c, const json_t *v, const char *path, double max) {
  char q[LH_QUOTE_SIZE], a[32], b[32];
  double s;

  if (json_is_string(v)) {
    if (lh_duration_parse(json_string_value(v), &s) != 0) {
      lh_check_fail(c, path, "%s is not a duration " DURATION_HINT,
                    lh_quote(q, sizeof q, json_string_value(v)));
      return NULL;
    }
  } else if (json_is_number(v)) {
    s = json_number_value(v);
  } else {
    lh_check_type(c, path, "a duration " DURATION_HINT, v);
    return NULL;
  }
  if (!(s >= 1)) {
    lh_check_fail(c, path, "%s is shorter than 1s", lh_duration_text(a, sizeof a, s));
    return NULL;
  }
  if (s > max) {
    lh_check_fail(c, path, "%s is longer than %s", lh_duration_text(a, sizeof a, s),
                  lh_duration_text(b, sizeof b, max));
    return NULL;
  }
  return json_real(s);
}

json_t *lh_check_integer(lh_check_t *c, const json_t *v, const char *path, json_int_t min,
                         json_int_t max) {
  char what[96];

  double d = json_number_value(v);

  snprintf(what, sizeof what, "an integer from %lld to %lld", (long long)min, (long long)max);
  if (!json_is_number(v)) {
    lh_check_type(c, path, what, v);
    return NULL;
  }
  /* 5.0 and 1E1 are integers too (JSON tools write them) */
  if (json_is_real(v) && (d != floor(d) || !(d >= (double)min && d <= (double)max))) {
    lh_check_fail(c, path, "%g is not %s", d, what);
    return NULL;
  }
  if (json_is_integer(v) && (json_integer_value(v) < min || json_integer_value(v) > max)) {
    lh_check_fail(c, path, "%lld is not %s", (long long)json_integer_value(v), what);
    return NULL;
  }
  return json_integer(json_is_integer(v) ? json_integer_value(v) : (json_int_t)d);
}

json_t *lh_check_number(lh_check_t *c, const json_t *v, const char *path, double min, double max) {
  char what[96];

  snprintf(what, sizeof what, "a number from %g to %g", min, max);
  if (!json_is_number(v)) {
    lh_check_type(c, path, what, v);
    return NULL;
  }
  if (!(json_number_value(v) >= min && json_number_value(v) <= max)) {
    lh_check_fail(c, path, "%g is not %s", json_number_value(v), what);
    return NULL;
  }
  return json_real(json_number_value(v));
}

json_t *lh_check_choice(lh_check_t *c, const json_t *v, const char *path,
                        const char *const *choices) {
  char q[LH_QUOTE_SIZE], list[192] = "";

  for (const char *const *k = choices; *k; k++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"",
             k == choices ? ""
             : k[1]       ? ", "
                          : " or ",
             *k);
  if (!json_is_string(v)) {
    lh_check_type(c, path, list, v);
    return NULL;
  }
  if (!listed(json_string_value(v), choices)) {
    const char *near = lh_nearest(json_string_value(v), choices);
    lh_check_fail(c, path, "%s is not %s%s%s%s", lh_quote(q, sizeof q, json_string_value(v)), list,
                  near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
    return NULL;
  }
  return json_string(json_string_value(v));
}

int lh_duration_parse(const char *s, double *seconds) {
  size_t whole = strspn(s, "0123456789"), frac = 0;
  const char *unit = s + whole;
  double n;

  if (*unit == '.') {
    frac = strspn(unit + 1, "0123456789");
    unit += 1 + frac;
  }
  if (whole + frac == 0 || whole > 12 || (unit[0] && unit[1]))
    return -1;
  n = strtod(s, NULL);
  switch (*unit) {
  case '\0':
  case 's':
    *seconds = n;
    return 0;
  case 'm':
    *seconds = n * 60;
    return 0;
  case 'h':
    *seconds = n * 3600;
    return 0;
  case 'd':
    *seconds = n * 86400;
    return 0;
  default:
    return -1;
  }
}

json_t *lh_check_strings(lh_check_t *c, const json_t *v, const char *path) {
  json_t *list = json_is_array(v) ? json_deep_copy(v) : json_pack("[O]", v);
  size_t i;
  json_t *s;

  if (!json_is_array(v) && !json_is_string(v)) {
    json_decref(list);
    lh_check_type(c, path, "a string or a list of strings", v);
    return NULL;
  }
  json_array_foreach(list, i, s) {
    lh_path_t p;
    if (!json_is_string(s) || !*json_string_value(s)) {
      json_is_string(s) ? lh_check_fail(c, lh_path_index(&p, path, i), "must not be empty")
                        : lh_check_type(c, lh_path_index(&p, path, i), "a string", s);
      json_decref(list);
      return NULL;
    }
  }
  if (!list)
    lh_check_fail(c, path, "out of memory");
  return list;
}

static int negative(const char *m) { return strncmp(m, "!=", 2) == 0 || strncmp(m, "!~", 2) == 0; }

json_t *lh_check_matchers(lh_check_t *c, const json_t *v, const char *path) {
  json_t *list = json_is_array(v) ? json_deep_copy(v) : json_pack("[O]", v);
  size_t i, any = 0;
  json_t *m;

  if (!json_is_array(v) && !json_is_string(v)) {
    json_decref(list);
    lh_check_type(c, path, "a string or a list of strings", v);
    return NULL;
  }
  json_array_foreach(list, i, m) {
    lh_path_t p;
    char q[LH_QUOTE_SIZE];
    if (!json_is_string(m)) {
      lh_check_type(c, lh_path_index(&p, path, i), "a string", m);
      json_decref(list);
      return NULL;
    }
    if (negative(json_string_value(m)) && json_array_size(list) > 1) {
      lh_check_fail(c, lh_path_index(&p, path, i),
                    "the negative matcher %s must stand alone: a list holds when any of its "
                    "matchers holds",
                    lh_quote(q, sizeof q, json_string_value(m)));
      json_decref(list);
      return NULL;
    }
    any |= strcmp(json_string_value(m), "*") == 0;
  }
  if (list && any)
    json_array_clear(list);
  if (!list)
    lh_check_fail(c, path, "out of memory");
  return list;
}

#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define DIGITS "0123456789"

/* A Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*, not reserved ("__"). */
static int label_name(const char *s) {
  return *s && !strchr(DIGITS, *s) && strspn(s, LETTERS DIGITS) == strlen(s) && strlen(s) <= 128 &&
         strncmp(s, "__", 2) != 0;
}

/* A Kubernetes label key: [prefix/]name of letters, digits, ".", "-", "_". */
static int k8s_label_key(const char *s) {
  const char *slash = strchr(s, '/');
  return *s && strlen(s) <= 317 && strspn(s, LETTERS DIGITS ".-/") == strlen(s) &&
         (!slash || (slash != s && slash[1] && !strchr(slash + 1, '/')));
}

/* What a mapping's keys and values must be: a key `key_ok` takes (else the
 * fault `key_fault` after the quoted key), a value that `value` checks. */
typedef struct {
  const char *what; /* the mapping, as lh_check_type names it */
  int (*key_ok)(const char *key);
  const char *key_fault;
  json_t *(*value)(lh_check_t *c, const json_t *v, const char *path, int arg);
  int arg;
} map_rule_t;

/* A mapping checked key by key: a new object of the checked values, or
 * NULL with the first fault (or out of memory) in `c`. */
static json_t *check_map(lh_check_t *c, const json_t *v, const char *path, const map_rule_t *r) {
  json_t *out, *value, *checked;
  const char *key;

  if (!json_is_object(v)) {
    lh_check_type(c, path, r->what, v);
    return NULL;
  }
  out = json_object();
  json_object_foreach((json_t *)v, key, value) {
    lh_path_t p;
    char q[LH_QUOTE_SIZE];
    if (!r->key_ok(key)) {
      lh_check_fail(c, lh_path_key(&p, path, key), "%s %s", lh_quote(q, sizeof q, key),
                    r->key_fault);
      break;
    }
    checked = r->value(c, value, lh_path_key(&p, path, key), r->arg);
    if (!checked || !out || json_object_set_new(out, key, checked) != 0)
      break;
  }
  if (out && json_object_size(out) == json_object_size(v))
    return out;
  if (!c->err[0])
    lh_check_fail(c, path, "out of memory");
  json_decref(out);
  return NULL;
}

static json_t *matchers_of(lh_check_t *c, const json_t *v, const char *path, int arg) {
  (void)arg;
  return lh_check_matchers(c, v, path);
}

json_t *lh_check_labels(lh_check_t *c, const json_t *v, const char *path, int multiline) {
  static const map_rule_t rule = {
      "a mapping of names to strings", label_name,
      "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", lh_check_text, 0};
  map_rule_t r = rule;

  r.arg = multiline;
  return check_map(c, v, path, &r);
}

json_t *lh_check_label_select(lh_check_t *c, const json_t *v, const char *path) {
  static const map_rule_t rule = {"a mapping of Kubernetes labels to matchers", k8s_label_key,
                                  "is not a Kubernetes label key", matchers_of, 0};
  return check_map(c, v, path, &rule);
}

/* A field name: a letter or "_", then letters, digits, "_", "-", "/" and
 * single dots between parts (namespace, status, labels.app, error.kind). */
static int field_name(const char *s) {
  size_t n = strlen(s);
  return n && n <= 128 && strchr(LETTERS, *s) && strspn(s, LETTERS DIGITS ".-/") == n &&
         !strstr(s, "..") && s[n - 1] != '.';
}

json_t *lh_check_fields(lh_check_t *c, const json_t *v, const char *path) {
  json_t *list = lh_check_strings(c, v, path), *f;
  size_t i;

  if (list && json_array_size(list) > MAX_FIELDS) {
    lh_check_fail(c, path, "names %zu fields; at most %d", json_array_size(list), MAX_FIELDS);
    json_decref(list);
    return NULL;
  }
  json_array_foreach(list, i, f) {
    lh_path_t p;
    char q[LH_QUOTE_SIZE];
    const char *name = json_string_value(f);
    int twice = 0;
    for (size_t j = 0; j < i; j++)
      twice |= strcmp(json_string_value(json_array_get(list, j)), name) == 0;
    if (!field_name(name) || twice) {
      lh_check_fail(c, lh_path_index(&p, path, i),
                    twice ? "%s is named twice" : "%s is not a field name",
                    lh_quote(q, sizeof q, name));
      json_decref(list);
      return NULL;
    }
  }
  return list;
}
