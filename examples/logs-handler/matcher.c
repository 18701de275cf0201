/* Select matchers and regexes; see matcher.h. */
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

int lh_matchers_literal(const lh_matchers_t *m) {
  for (size_t i = 0; i < m->count; i++)
    if (m->items[i].kind != LH_MATCH_EQ)
      return 0;
  return m->count > 0;
}
