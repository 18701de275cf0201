/* Select matchers and regexes; see matcher.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"

/* Every regex stops after this many steps: a pattern that backtracks
 * without end costs a record milliseconds, never the stream (PCRE2 takes the
 * lower of this and a limit the pattern sets itself). */
#define LIMIT "(*LIMIT_MATCH=1000000)"

pcre2_code *lh_regex_compile(const char *pattern, int whole, const char *path, const char *shown,
                             char *err, size_t size) {
  int code;
  PCRE2_SIZE offset, prefix = strlen(LIMIT), n = strlen(pattern);
  char why[256], *limited = malloc(prefix + n + 1);
  pcre2_code *re = NULL;

  if (!limited) {
    snprintf(err, size, "%s: out of memory", path);
    return NULL;
  }
  memcpy(limited, LIMIT, prefix);
  memcpy(limited + prefix, pattern, n + 1);
  re = pcre2_compile((PCRE2_SPTR)limited, prefix + n,
                     PCRE2_UTF | (whole ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0), &code, &offset,
                     NULL);
  free(limited);
  if (!re) {
    pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
    snprintf(err, size, "%s: \"%.200s\": PCRE2 error at offset %zu: %s", path, shown,
             (size_t)(offset > prefix ? offset - prefix : 0), why);
    return NULL;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT (not built in) it still matches */
  return re;
}

int lh_regex_test(const pcre2_code *re, const char *s, size_t n, pcre2_match_data *md) {
  int rc = pcre2_match(re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, md, NULL);

  return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static int bad(char *err, size_t size, const char *path, size_t i, const char *what) {
  snprintf(err, size, "%s[%zu]: %s", path, i, what);
  return -1;
}

/* One matcher string into `m`. */
static int compile_one(lh_matcher_t *m, const char *s, const char *path, size_t i, char *err,
                       size_t size) {
  char at[256];
  int negative = strncmp(s, "!=", 2) == 0 || strncmp(s, "!~", 2) == 0;
  const char *value = strncmp(s, "=~", 2) == 0 || negative ? s + 2 : s;

  m->kind = strcmp(s, "*") == 0        ? LH_MATCH_ANY
            : strncmp(s, "=~", 2) == 0 ? LH_MATCH_RE
            : strncmp(s, "!~", 2) == 0 ? LH_MATCH_NRE
            : strncmp(s, "!=", 2) == 0 ? LH_MATCH_NE
                                       : LH_MATCH_EQ;
  m->text = strdup(value);
  m->len = strlen(value);
  if (!m->text)
    return bad(err, size, path, i, "out of memory");
  if (m->kind == LH_MATCH_RE || m->kind == LH_MATCH_NRE) {
    snprintf(at, sizeof at, "%s[%zu]", path, i);
    m->re = lh_regex_compile(value, 1, at, s, err, size);
    if (!m->re)
      return -1;
  }
  return 0;
}

int lh_matchers_compile(lh_matchers_t *out, const json_t *list, const char *path, char *err,
                        size_t size) {
  size_t n = json_array_size(list);

  *out = (lh_matchers_t){0};
  if (!json_is_array(list)) {
    snprintf(err, size,
             "%s: not a list of matchers (\"VALUE\", \"=~RE\", \"!=VALUE\", \"!~RE\", \"*\")",
             path);
    return -1;
  }
  out->items = calloc(n ? n : 1, sizeof *out->items);
  if (!out->items) {
    snprintf(err, size, "%s: out of memory", path);
    return -1;
  }
  out->count = n;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(list, i));
    if (!s)
      return bad(err, size, path, i, "not a string");
    if (compile_one(&out->items[i], s, path, i, err, size) != 0)
      return -1;
    if (n > 1 && (out->items[i].kind == LH_MATCH_NE || out->items[i].kind == LH_MATCH_NRE)) {
      snprintf(err, size,
               "%s[%zu]: \"%.200s\": a negative matcher (!= or !~) must be alone in its list", path,
               i, s);
      return -1;
    }
  }
  return 0;
}

void lh_matchers_free(lh_matchers_t *m) {
  for (size_t i = 0; m->items && i < m->count; i++) {
    free(m->items[i].text);
    pcre2_code_free(m->items[i].re);
  }
  free(m->items);
  *m = (lh_matchers_t){0};
}

static int test_one(const lh_matcher_t *m, const char *value, size_t len, pcre2_match_data *md) {
  switch (m->kind) {
  case LH_MATCH_ANY:
    return 1;
  case LH_MATCH_EQ:
    return len == m->len && memcmp(value, m->text, len) == 0;
  case LH_MATCH_NE:
    return !(len == m->len && memcmp(value, m->text, len) == 0);
  case LH_MATCH_RE:
    return lh_regex_test(m->re, value, len, md) == 1;
  default:
    return lh_regex_test(m->re, value, len, md) == 0;
  }
}

int lh_matchers_test(const lh_matchers_t *m, const char *value, size_t len, pcre2_match_data *md) {
  if (!value) {
    value = "";
    len = 0;
  }
  if (m->count == 0)
    return 1;
  for (size_t i = 0; i < m->count; i++)
    if (test_one(&m->items[i], value, len, md))
      return 1;
  return 0;
}

/* The `]` that ends the class opening at `p`, or NULL. */
static const char *class_end(const char *p) {
  p += p[1] == '^' ? 2 : 1;
  if (*p == ']')
    p++; /* a ] first is a member */
  for (; *p; p++)
    if (*p == '\\' && !*++p)
      return NULL;
    else if (*p == '[' && p[1] == ':')
      p = strstr(p + 2, ":]") ? strstr(p + 2, ":]") + 1 : p;
    else if (*p == ']')
      return p;
  return NULL;
}

/* Past the escape, class or group at `p` (one character otherwise), or
 * NULL when it does not end; \Q..\E quotes are not followed. */
static const char *skip(const char *p) {
  int depth = 0;

  do {
    if (*p == '\\' && (p[1] == 'Q' || !p[1]))
      return NULL;
    if (*p == '\\')
      p++;
    else if (*p == '[' && !(p = class_end(p)))
      return NULL;
    else if (*p == '(')
      depth++;
    else if (*p == ')')
      depth--;
    p++;
  } while (depth > 0 && *p);
  return depth > 0 ? NULL : p;
}

/* The end of the branch starting at `p` (its `|` or the end of `end`). */
static const char *branch_end(const char *p, const char *end) {
  while (p && p < end && *p != '|')
    p = skip(p);
  return p && p <= end ? p : NULL;
}

typedef struct {
  lh_prefix_t *out;
  size_t n, max;
} prefixes_t;

static size_t branches(const char *p, const char *end, lh_prefix_t *out, size_t max, int top,
                       int *whole);

/* Appends each of `alts` (`k`) to each prefix: 0, or -1 when they would be
 * too many or too long. */
static int append(prefixes_t *ps, const lh_prefix_t *alts, size_t k) {
  size_t n = ps->n;

  if (n * k > ps->max)
    return -1;
  for (size_t i = 0; i < n * k; i++)
    if (ps->out[i / k].len + alts[i % k].len >= LH_PREFIX_SIZE)
      return -1;
  for (size_t i = n * k; i-- > 0;) {
    const lh_prefix_t *head = &ps->out[i / k], *tail = &alts[i % k];
    lh_prefix_t joined = *head;
    memcpy(joined.text + joined.len, tail->text, tail->len + 1);
    joined.len += tail->len;
    ps->out[i] = joined;
  }
  ps->n = n * k;
  return 0;
}

/* A character the raw JSON spells as it is. */
static int plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\' && c != '/'; }

/* The item at `p` (a character or a group) as its literal alternatives in
 * `alts`: their count, 0 when it is not literal; `*whole` 0 when a group's
 * branch ends before its end. */
static size_t item(const char *p, const char *next, lh_prefix_t *alts, size_t max, int *whole) {
  *whole = 1;
  if (*p == '(') {
    const char *in = p[1] != '?' ? p + 1 : p[2] == ':' ? p + 3 : NULL;
    if (p[1] == '?' && p[2] == '<' && (isalpha((unsigned char)p[3]) || p[3] == '_'))
      in = strchr(p, '>') ? strchr(p, '>') + 1 : NULL;
    return in && p[1] != '*' && in < next ? branches(in, next - 1, alts, max, 0, whole) : 0;
  }
  if (*p == '\\' ? isalnum((unsigned char)*++p) : strchr("^$.|?*+()[{", *p) != NULL)
    return 0; /* \d, \b and the like, or not a character */
  if (!plain((unsigned char)*p))
    return 0;
  alts[0] = (lh_prefix_t){{*p, '\0'}, 1};
  return 1;
}

/* A character that JSON text may spell otherwise, alone at `p`: then the
 * literal before it and the one after it are apart in the raw record. */
static int unplain_at(const char *p, const char *next, const char *end) {
  const char *c = *p == '\\' ? p + 1 : p;

  return next == c + 1 && (next == end || !strchr("?*+{", *next)) &&
         (*c == '/' || *c == '"' || (unsigned char)*c < 0x20 || (*p == '\\' && *c == '\\'));
}

/* The prefixes of one branch [p, end) into `ps`; 1 when all of it is
 * literal. At the top (`top`), a lone prefix goes on past a character the
 * raw record may spell otherwise: the longest literal run is kept, and
 * what is found is no longer a prefix (0). */
static int branch(const char *p, const char *end, prefixes_t *ps, int top) {
  lh_prefix_t alts[8], best = {{'\0'}, 0};
  int rc = 1;

  ps->out[0] = best;
  ps->n = 1;
  if (p < end && *p == '^')
    p++;
  while (rc >= 0 && p < end) {
    const char *next = skip(p);
    int whole;
    size_t k = next && next <= end ? item(p, next, alts, sizeof alts / sizeof *alts, &whole) : 0;
    if (!k && top && ps->n == 1 && next && next <= end && unplain_at(p, next, end)) {
      if (ps->out[0].len > best.len)
        best = ps->out[0];
      ps->out[0] = (lh_prefix_t){{'\0'}, 0};
      rc = 0;
    } else if (!k || (next < end && strchr("?*{", *next)) || append(ps, alts, k) != 0 || !whole ||
               (next < end && *next == '+')) {
      rc = -1; /* what comes next is not known */
    }
    p = next;
  }
  if (ps->n == 1 && best.len > ps->out[0].len)
    ps->out[0] = best;
  return rc == 1;
}

/* The prefixes of the branches of [p, end), each at least a character;
 * `*whole` 0 unless every branch is literal to its end. */
static size_t branches(const char *p, const char *end, lh_prefix_t *out, size_t max, int top,
                       int *whole) {
  size_t n = 0;
  lh_prefix_t part[8];

  *whole = 1;
  for (const char *b = p; b; b = b < end ? b + 1 : NULL) {
    const char *e = branch_end(b, end);
    prefixes_t ps = {part, 0, sizeof part / sizeof *part};
    if (!e)
      return 0;
    *whole &= branch(b, e, &ps, top);
    if (n + ps.n > max)
      return 0;
    for (size_t i = 0; i < ps.n; i++)
      if (ps.out[i].len == 0)
        return 0;
      else
        out[n++] = ps.out[i];
    b = e;
  }
  return n;
}

size_t lh_regex_prefixes(const char *pattern, lh_prefix_t *out, size_t max) {
  int whole;
  return branches(pattern, pattern + strlen(pattern), out, max, 1, &whole);
}
