/* `where` conditions; see where.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"
#include "where.h"

#define STATUSES 600

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_RE, OP_NRE, OP_IN } op_t;

typedef struct {
  char *name; /* the field's name; field.name points into it */
  lh_fref_t field;
  op_t op;
  char **values; /* EQ, NE, IN: the values; LT..GE: one */
  double *numbers;
  unsigned char *numeric; /* values[i] is the number numbers[i] */
  size_t count;
  pcre2_code *re;          /* RE, NRE */
  unsigned char *statuses; /* status EQ..IN: the statuses that pass */
} cond_t;

struct lh_where {
  cond_t *conds;
  size_t count;
  unsigned char *statuses; /* what every record that passes has, or NULL */
};

/* The text of one condition being parsed, and where its faults go. */
typedef struct {
  const char *text, *path;
  char *err;
  size_t size;
} parse_t;

static int fault(const parse_t *p, const char *why, const char *what) {
  snprintf(p->err, p->size, "%s: \"%.200s\": %s%s%s%s", p->path, p->text, what ? "\"" : "",
           what ? what : "", what ? "\" " : "", why);
  return -1;
}

static const char *const op_names[] = {"==", "!=", "<=", ">=", "=~", "!~", "<", ">"};
static const op_t op_codes[] = {OP_EQ, OP_NE, OP_LE, OP_GE, OP_RE, OP_NRE, OP_LT, OP_GT};

static const char *skip(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* The operator at `s`: its length, or 0. */
static size_t operator_at(const char *s, op_t *op) {
  for (size_t i = 0; i < sizeof op_names / sizeof *op_names; i++)
    if (strncmp(s, op_names[i], strlen(op_names[i])) == 0) {
      *op = op_codes[i];
      return strlen(op_names[i]);
    }
  if (strncmp(s, "in", 2) == 0 && (s[2] == ' ' || s[2] == '[' || s[2] == '\t' || !s[2])) {
    *op = OP_IN;
    return 2;
  }
  return 0;
}

/* A value, trimmed and unquoted, as a new string (NULL: `*bad` says why). */
static char *unquote(const char *s, size_t n, const char **bad) {
  char *out;

  while (n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  *bad = n ? NULL : "no value";
  if (n && (*s == '"' || *s == '\'')) {
    if (n < 2 || s[n - 1] != *s)
      *bad = memchr(s + 1, *s, n - 1) ? "text after the closing quote" : "an unclosed quote";
    s++;
    n -= 2;
  }
  if (*bad)
    return NULL;
  out = malloc(n + 1);
  if (!out) {
    *bad = "out of memory";
    return NULL;
  }
  memcpy(out, s, n);
  out[n] = '\0';
  return out;
}

/* A number, the whole text: 1 and `*out`, else 0. */
static int number(const char *s, size_t n, double *out) {
  char buf[64], *end;

  if (n == 0 || n >= sizeof buf)
    return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  *out = strtod(buf, &end);
  return *end == '\0' && end != buf && isfinite(*out) &&
         ((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-' || buf[0] == '+' || buf[0] == '.');
}

/* Adds one value to the condition. */
static int add_value(cond_t *c, char *value) {
  c->values[c->count] = value;
  c->numeric[c->count] = (unsigned char)number(value, strlen(value), &c->numbers[c->count]);
  c->count++;
  return 0;
}

static int reserve(cond_t *c, size_t n) {
  c->values = calloc(n, sizeof *c->values);
  c->numbers = calloc(n, sizeof *c->numbers);
  c->numeric = calloc(n, sizeof *c->numeric);
  return c->values && c->numbers && c->numeric ? 0 : -1;
}

/* The end of the list item at `s` (a comma outside quotes, or `end`). */
static const char *item_end(const char *s, const char *end) {
  char quote = 0;

  for (; s < end; s++) {
    if (quote && *s == quote)
      quote = 0;
    else if (!quote && (*s == '"' || *s == '\''))
      quote = *s;
    else if (!quote && *s == ',')
      return s;
  }
  return end;
}

/* "[a, b, 'c d']" into the condition's values. */
static int parse_list(cond_t *c, const char *s, const parse_t *p) {
  size_t n, items = 1;
  const char *end, *bad;

  s = skip(s);
  n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n < 2 || s[0] != '[' || s[n - 1] != ']')
    return fault(p, "in takes a list: in [a, b, ...]", NULL);
  end = s + n - 1;
  for (const char *q = s + 1; (q = item_end(q, end)) < end; q++)
    items++;
  if (reserve(c, items) != 0)
    return fault(p, "out of memory", NULL);
  for (const char *q = s + 1; q <= end; q++) {
    const char *stop = item_end(q, end);
    char *value = unquote(q, (size_t)(stop - q), &bad);
    if (!value)
      return fault(p, strcmp(bad, "no value") == 0 ? "has an empty item in its list" : bad, NULL);
    add_value(c, value);
    q = stop;
  }
  return 0;
}

/* A status (404) or a class (5xx): the statuses it names into `set`. */
static int status_item(const char *s, unsigned char *set) {
  size_t n = strlen(s);
  double d;

  if (n == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') && s[2] == s[1]) {
    memset(set + (s[0] - '0') * 100, 1, 100);
    return 0;
  }
  if (!number(s, n, &d) || d != floor(d) || d < 100 || d > 599)
    return -1;
  set[(int)d] = 1;
  return 0;
}

static int compares(op_t op, double a, double b) {
  switch (op) {
  case OP_LT:
    return a < b;
  case OP_LE:
    return a <= b;
  case OP_GT:
    return a > b;
  default:
    return a >= b;
  }
}

/* The statuses a condition on `status` lets through. */
static int status_set(cond_t *c, const parse_t *p) {
  c->statuses = calloc(STATUSES, 1);
  if (!c->statuses)
    return fault(p, "out of memory", NULL);
  if (c->op >= OP_LT && c->op <= OP_GE) {
    for (int s = 100; s < STATUSES; s++)
      c->statuses[s] = (unsigned char)compares(c->op, s, c->numbers[0]);
    return 0;
  }
  for (size_t i = 0; i < c->count; i++)
    if (status_item(c->values[i], c->statuses) != 0)
      return fault(p, "is not a status (404) or a class (5xx)", c->values[i]);
  if (c->op == OP_NE)
    for (int s = 0; s < STATUSES; s++)
      c->statuses[s] = !c->statuses[s];
  return 0;
}

static int is_access_field(const char *name) {
  static const char *const names[] = {"status", "method", "path", "protocol", "bytes", "client"};

  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(name, names[i]) == 0)
      return 1;
  return 0;
}

/* The field's name into `c`, resolved for the rule. */
static int parse_field(cond_t *c, const char *s, size_t n, lh_parse_t parse,
                       const pcre2_code *regex, const parse_t *p) {
  const char *hint;

  if (n == 0)
    return fault(p, "no field before the operator", NULL);
  c->name = strndup(s, n);
  if (!c->name)
    return fault(p, "out of memory", NULL);
  if (lh_fref_resolve(&c->field, c->name, parse, regex) == 0)
    return 0;
  if (is_access_field(c->name)) {
    snprintf(p->err, p->size, "%s: field \"%s\" needs parse: access_log", p->path, c->name);
    return -1;
  }
  hint = lh_fref_suggest(c->name, parse, regex);
  snprintf(p->err, p->size, "%s: unknown field \"%.100s\"%s%s%s%s", p->path, c->name,
           hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "",
           parse != LH_PARSE_JSON && !hint ? " (JSON fields need parse: json)" : "");
  return -1;
}

/* The value part, for the condition's operator. */
static int parse_value(cond_t *c, const char *s, const parse_t *p) {
  const char *bad;
  char *value;

  if (c->op == OP_IN)
    return parse_list(c, s, p);
  value = unquote(s, strlen(s), &bad);
  if (!value)
    return fault(p, strcmp(bad, "no value") == 0 ? "no value after the operator" : bad, NULL);
  if (reserve(c, 1) != 0) {
    free(value);
    return fault(p, "out of memory", NULL);
  }
  add_value(c, value);
  if (c->op >= OP_LT && c->op <= OP_GE && !c->numeric[0])
    return fault(p, "is not a number", value);
  if (c->op == OP_RE || c->op == OP_NRE) {
    c->re = lh_regex_compile(value, 0, p->path, p->text, p->err, p->size);
    return c->re ? 0 : -1;
  }
  return 0;
}

/* One condition's text into `c`. */
static int parse_cond(cond_t *c, const parse_t *p, lh_parse_t parse, const pcre2_code *regex) {
  const char *s = skip(p->text), *f = s;
  size_t op_len = 0;

  while (*s && *s != ' ' && *s != '\t' && !strchr("=!<>", *s))
    s++;
  if (parse_field(c, f, (size_t)(s - f), parse, regex, p) != 0)
    return -1;
  s = skip(s);
  op_len = operator_at(s, &c->op);
  if (op_len == 0)
    return fault(p,
                 *s == '=' ? "\"=\" is not an operator (did you mean \"==\"?)"
                           : "no operator (==, !=, <, <=, >, >=, =~, !~, in [a, b])",
                 NULL);
  if (parse_value(c, s + op_len, p) != 0)
    return -1;
  if (c->field.kind == LH_FIELD_STATUS && c->op != OP_RE && c->op != OP_NRE)
    return status_set(c, p);
  return 0;
}

static void free_cond(cond_t *c) {
  for (size_t i = 0; i < c->count; i++)
    free(c->values[i]);
  free(c->values);
  free(c->numbers);
  free(c->numeric);
  free(c->name);
  free(c->statuses);
  pcre2_code_free(c->re);
}

void lh_where_free(lh_where_t *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->count; i++)
    free_cond(&w->conds[i]);
  free(w->conds);
  free(w->statuses);
  free(w);
}

/* What the prefilter may count on: the statuses every passing record has. */
static int combine_statuses(lh_where_t *w) {
  int required = 0;

  for (size_t i = 0; i < w->count; i++) {
    const cond_t *c = &w->conds[i];
    if (c->field.kind == LH_FIELD_STATUS && c->op != OP_NE && c->op != OP_NRE)
      required = 1;
  }
  if (!required)
    return 0;
  w->statuses = malloc(STATUSES);
  if (!w->statuses)
    return -1;
  memset(w->statuses, 1, STATUSES);
  for (size_t i = 0; i < w->count; i++)
    for (int s = 0; w->conds[i].statuses && s < STATUSES; s++)
      w->statuses[s] &= w->conds[i].statuses[s];
  return 0;
}

int lh_where_compile(lh_where_t **out, const json_t *list, const char *path, lh_parse_t parse,
                     const pcre2_code *regex, char *err, size_t size) {
  lh_where_t *w = calloc(1, sizeof *w);
  size_t n = json_array_size(list);
  char at[256];

  *out = NULL;
  if (!json_is_array(list)) {
    free(w);
    snprintf(err, size, "%s: not a list of conditions (\"status >= 500\")", path);
    return -1;
  }
  if (!w || !(w->conds = calloc(n ? n : 1, sizeof *w->conds)))
    goto nomem;
  for (size_t i = 0; i < n; i++, w->count++) {
    parse_t p = {json_string_value(json_array_get(list, i)), at, err, size};
    snprintf(at, sizeof at, "%s[%zu]", path, i);
    if (!p.text) {
      snprintf(err, size, "%s: not a string", at);
      goto fail;
    }
    if (parse_cond(&w->conds[i], &p, parse, regex) != 0) {
      w->count++; /* free what it holds */
      goto fail;
    }
  }
  if (combine_statuses(w) != 0)
    goto nomem;
  *out = w;
  return 0;
nomem:
  snprintf(err, size, "%s: out of memory", path);
fail:
  lh_where_free(w);
  return -1;
}

const unsigned char *lh_where_statuses(const lh_where_t *w) { return w ? w->statuses : NULL; }

/* A field whose text is the record's as it is, cut from it. */
static int raw_field(lh_field_kind_t kind) {
  return kind <= LH_FIELD_LABEL || kind == LH_FIELD_METHOD || kind == LH_FIELD_PATH ||
         kind == LH_FIELD_PROTOCOL || kind == LH_FIELD_CLIENT;
}

/* `s` as a literal the raw record spells as it is: 1 and `*out`, or 0. */
static int literal_of(const char *s, lh_prefix_t *out) {
  size_t n = strlen(s);

  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || strchr("\"\\/", s[i]))
      return 0;
  if (n == 0 || n >= LH_PREFIX_SIZE)
    return 0;
  memcpy(out->text, s, n + 1);
  out->len = n;
  return 1;
}

size_t lh_where_count(const lh_where_t *w) { return w ? w->count : 0; }

size_t lh_where_literals(const lh_where_t *w, size_t i, lh_prefix_t *out, size_t max) {
  const cond_t *c = w && i < w->count ? &w->conds[i] : NULL;
  size_t n = 0;

  if (!c || !raw_field(c->field.kind))
    return 0;
  if (c->op == OP_RE)
    return lh_regex_prefixes(c->values[0], out, max);
  if (c->op != OP_EQ && c->op != OP_IN)
    return 0;
  for (; n < c->count; n++) /* a number may be spelled otherwise: 404 as 404.0 */
    if (n == max || c->numeric[n] || !literal_of(c->values[n], &out[n]))
      return 0;
  return n;
}

/* == on one value: numbers when both sides are, else text. */
static int equal(const cond_t *c, size_t i, const char *s, size_t n) {
  double d;

  if (c->numeric[i] && number(s, n, &d))
    return d == c->numbers[i];
  return n == strlen(c->values[i]) && memcmp(s, c->values[i], n) == 0;
}

static int any_equal(const cond_t *c, const char *s, size_t n) {
  for (size_t i = 0; i < c->count; i++)
    if (equal(c, i, s, n))
      return 1;
  return 0;
}

static int test_cond(const cond_t *c, lh_view_t *v, pcre2_match_data *md) {
  size_t n;
  const char *s;
  double d;

  if (c->statuses) { /* a status condition, by its table */
    int status = lh_view_status(v);
    return status ? c->statuses[status] : c->op == OP_NE;
  }
  s = lh_view_get(v, &c->field, &n);
  if (!s)
    return c->op == OP_NE || c->op == OP_NRE;
  switch (c->op) {
  case OP_EQ:
  case OP_IN:
    return any_equal(c, s, n);
  case OP_NE:
    return !any_equal(c, s, n);
  case OP_RE:
  case OP_NRE:
    return lh_regex_test(c->re, s, n, md) == (c->op == OP_RE ? 1 : 0);
  default:
    return number(s, n, &d) && compares(c->op, d, c->numbers[0]);
  }
}

int lh_where_test(const lh_where_t *w, lh_view_t *v, pcre2_match_data *md) {
  for (size_t i = 0; w && i < w->count; i++)
    if (!test_cond(&w->conds[i], v, md))
      return 0;
  return 1;
}
