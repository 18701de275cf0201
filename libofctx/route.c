/* The Knative runtime's route: httpPattern with {name} and {name:regex}
 * segments, as OpenFunction's Go framework (chi) reads it. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error_msg.h"
#include "mem.h"
#include "route.h"
#include "text.h"

typedef struct {
  char *text; /* a literal segment, or the parameter's name */
  int param;
  pcre2_code *re; /* {name:regex} */
} segment_t;

struct ofctx__route {
  segment_t *segs;
  size_t count, params;
  pcre2_general_context *gc;
  pcre2_match_data *md;
};

static void *re_malloc(size_t size, void *arg) {
  (void)arg;
  return ofctx__malloc(size);
}

static void re_free(void *p, void *arg) {
  (void)arg;
  ofctx__free(p);
}

/* Returns OFCTX_EINVAL, with the quoted pattern and `what` in `err`. */
static ofctx_err_t fault(ofctx_error_t *err, const char *pattern, const char *what) {
  char quoted[OFCTX_QUOTE_SIZE];

  ofctx__quote(quoted, sizeof quoted, pattern);
  return ofctx__error(err, OFCTX_EINVAL, "%s: %s", quoted, what);
}

/* Returns OFCTX_ENOMEM: the pattern may be fine. */
static ofctx_err_t nomem(ofctx_error_t *err, const char *pattern) {
  char quoted[OFCTX_QUOTE_SIZE];

  ofctx__quote(quoted, sizeof quoted, pattern);
  return ofctx__error(err, OFCTX_ENOMEM, "%s: out of memory", quoted);
}

static int name_ok(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return 0;
  return 1;
}

/* One segment, [s, s + n), into `seg`. */
static ofctx_err_t segment(ofctx__route_t *r, segment_t *seg, const char *pattern, const char *s,
                           size_t n, ofctx_error_t *err) {
  const char *colon;
  size_t name_len;

  if (n == 0 || s[0] != '{') {
    if (memchr(s, '{', n) || memchr(s, '}', n))
      return fault(err, pattern, "a {parameter} must be a whole segment");
    seg->text = ofctx__strndup(s, n);
    return seg->text ? OFCTX_OK : nomem(err, pattern);
  }
  if (s[n - 1] != '}')
    return fault(err, pattern, "a {parameter} must be a whole segment");
  colon = memchr(s, ':', n);
  name_len = (colon ? (size_t)(colon - s) : n - 1) - 1;
  if (!name_ok(s + 1, name_len))
    return fault(err, pattern,
                 "a parameter's name is letters, digits and '_', not starting with a digit");
  seg->param = 1;
  seg->text = ofctx__strndup(s + 1, name_len);
  if (!seg->text)
    return nomem(err, pattern);
  for (size_t i = 0; i < r->count; i++)
    if (r->segs[i].param && strcmp(r->segs[i].text, seg->text) == 0)
      return fault(err, pattern, "a parameter's name appears twice");
  if (colon) {
    const char *re = colon + 1;
    size_t re_len = (size_t)(s + n - 1 - re);
    int code;
    PCRE2_SIZE offset;
    pcre2_compile_context *cc;
    if (re_len == 0)
      return fault(err, pattern, "a {name:regex} parameter with an empty regex");
    cc = pcre2_compile_context_create(r->gc);
    if (!cc)
      return nomem(err, pattern);
    seg->re = pcre2_compile((PCRE2_SPTR)re, re_len, PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED,
                            &code, &offset, cc);
    pcre2_compile_context_free(cc);
    if (!seg->re && code == PCRE2_ERROR_HEAP_FAILED)
      return nomem(err, pattern);
    if (!seg->re) {
      char why[160], msg[256];
      pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
      snprintf(msg, sizeof msg, "the regex of {%s} does not compile: %s at offset %zu", seg->text,
               why, (size_t)offset);
      return fault(err, pattern, msg);
    }
    pcre2_jit_compile(seg->re, PCRE2_JIT_COMPLETE); /* faster when it works; fine when not */
  }
  r->params++;
  return OFCTX_OK;
}

ofctx_err_t ofctx__route_compile(ofctx__route_t **out, const char *pattern, ofctx_error_t *err) {
  ofctx__route_t *r = ofctx__calloc(1, sizeof *r);
  size_t max = 1;

  *out = NULL;
  if (!r)
    return nomem(err, pattern);
  if (pattern[0] != '/') {
    ofctx__route_free(r);
    return fault(err, pattern, "it must start with \"/\"");
  }
  for (const char *p = pattern; *p; p++)
    max += *p == '/';
  r->gc = pcre2_general_context_create(re_malloc, re_free, NULL);
  r->segs = ofctx__calloc(max, sizeof *r->segs);
  if (!r->gc || !r->segs) {
    ofctx__route_free(r);
    return nomem(err, pattern);
  }
  for (const char *p = pattern + 1;;) {
    const char *end = p;
    int depth = 0;
    for (; *end && (*end != '/' || depth > 0); end++) {
      depth += *end == '{';
      depth -= *end == '}';
      if (depth < 0)
        break;
    }
    if (depth != 0) {
      ofctx__route_free(r);
      return fault(err, pattern, "its braces do not pair up");
    }
    ofctx_err_t rc = segment(r, &r->segs[r->count], pattern, p, (size_t)(end - p), err);
    if (rc != 0) {
      r->count++; /* freed with the others */
      ofctx__route_free(r);
      return rc;
    }
    r->count++;
    if (!*end)
      break;
    p = end + 1;
  }
  r->md = pcre2_match_data_create(1, r->gc);
  if (!r->md) {
    ofctx__route_free(r);
    return nomem(err, pattern);
  }
  *out = r;
  ofctx__error_clear(err);
  return OFCTX_OK;
}

int ofctx__route_match(const ofctx__route_t *route, const char *path, json_t *params) {
  ofctx__buf_t value = {0};
  const char *p = path;
  int rc = 1;

  if (*p++ != '/')
    return 0;
  for (size_t i = 0; i < route->count && rc == 1; i++) {
    const segment_t *seg = &route->segs[i];
    const char *end = strchr(p, '/');
    if (!end)
      end = p + strlen(p);
    if ((*end == '/') != (i + 1 < route->count))
      rc = 0; /* a different number of segments */
    else if (ofctx__buf_decoded(&value, p, (size_t)(end - p), 0) != 0)
      rc = value.failed ? -1 : 0; /* a bad escape, %00, or no memory */
    else if (!seg->param)
      rc = strcmp(value.data, seg->text) == 0;
    else if (value.len == 0)
      rc = 0;
    else if (!ofctx__utf8_valid(value.data, value.len))
      rc = 0; /* a parameter is a JSON string: text, as a regex already demands */
    else if (seg->re &&
             pcre2_match(seg->re, (PCRE2_SPTR)value.data, value.len, 0, 0, route->md, NULL) < 0)
      rc = 0; /* no match, or not UTF-8 */
    else if (json_object_set_new(params, seg->text, json_stringn_nocheck(value.data, value.len)))
      rc = -1;
    value.len = 0;
    p = end + 1;
  }
  ofctx__buf_free(&value);
  if (rc != 1)
    json_object_clear(params);
  return rc;
}

size_t ofctx__route_param_count(const ofctx__route_t *route) { return route->params; }

void ofctx__route_free(ofctx__route_t *route) {
  if (!route)
    return;
  for (size_t i = 0; route->segs && i < route->count; i++) {
    ofctx__free(route->segs[i].text);
    pcre2_code_free(route->segs[i].re);
  }
  ofctx__free(route->segs);
  pcre2_match_data_free(route->md);
  pcre2_general_context_free(route->gc);
  ofctx__free(route);
}
