/* Access-log lines, tokenized rather than grepped: the fields before the
 * time, the [time], the quoted request (backslash escapes honoured), then
 * the status and the size, then optional quoted referer and agent. */
#include <string.h>
#include <strings.h>

#include "access_log.h"

static int digit(char c) { return c >= '0' && c <= '9'; }

static int digits(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!digit(p[i]))
      return 0;
  return 1;
}

int lh_clf_month(const char *p) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

  for (int m = 0; m < 12; m++)
    if (memcmp(p, months + 3 * m, 3) == 0)
      return m + 1;
  return 0;
}

/* dd/Mon/yyyy:HH:MM:SS +zzzz */
static int clf_time(const char *p, size_t n) {
  return n == 26 && digits(p, 2) && p[2] == '/' && lh_clf_month(p + 3) && p[6] == '/' &&
         digits(p + 7, 4) && p[11] == ':' && digits(p + 12, 2) && p[14] == ':' &&
         digits(p + 15, 2) && p[17] == ':' && digits(p + 18, 2) && p[20] == ' ' &&
         (p[21] == '+' || p[21] == '-') && digits(p + 22, 4);
}

/* The quoted string at `p` (which must be '"'): its inside in `inside`, and
 * where it ends (past the closing quote), or NULL. */
static const char *quoted(const char *p, const char *end, lh_span_t *inside) {
  const char *start;

  if (p >= end || *p != '"')
    return NULL;
  start = ++p;
  while (p < end) {
    if (*p == '\\') {
      p += 2;
    } else if (*p == '"') {
      inside->p = start;
      inside->len = (size_t)(p - start);
      return p + 1;
    } else {
      p++;
    }
  }
  return NULL;
}

static int method_char(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

/* HTTP/1, HTTP/1.1, HTTP/2.0... */
static int protocol(const char *p, size_t n) {
  return (n == 6 || (n == 8 && p[6] == '.' && digit(p[7]))) && memcmp(p, "HTTP/", 5) == 0 &&
         digit(p[5]);
}

/* METHOD TARGET [PROTOCOL] → its parts; nothing for "-" or garbage. */
static void split_request(lh_access_t *a) {
  const char *r = a->request.p, *first, *last, *target_end;
  size_t n = a->request.len, i;

  first = memchr(r, ' ', n);
  if (!first || first == r)
    return;
  for (i = 0; r + i < first; i++)
    if (!method_char(r[i]))
      return;
  last = r + n;
  while (last > first && last[-1] != ' ')
    last--;
  target_end = r + n;
  if (last > first + 1 && protocol(last, (size_t)(r + n - last))) {
    a->protocol.p = last;
    a->protocol.len = (size_t)(r + n - last);
    target_end = last - 1;
  }
  while (target_end > first + 1 && target_end[-1] == ' ')
    target_end--;
  if (target_end <= first + 1)
    return;
  a->method.p = r;
  a->method.len = (size_t)(first - r);
  a->target.p = first + 1;
  a->target.len = (size_t)(target_end - first - 1);
  /* the path: past an absolute form's scheme and host, up to ? or # */
  {
    const char *t = a->target.p, *t_end = t + a->target.len, *q;
    size_t skip = a->target.len > 7 && strncasecmp(t, "http://", 7) == 0    ? 7
                  : a->target.len > 8 && strncasecmp(t, "https://", 8) == 0 ? 8
                                                                            : 0;
    if (skip) {
      const char *slash = memchr(t + skip, '/', (size_t)(t_end - t - skip));
      t = slash ? slash : t_end;
    }
    for (q = t; q < t_end && *q != '?' && *q != '#'; q++)
      ;
    a->path.p = t < t_end ? t : "/";
    a->path.len = t < t_end ? (size_t)(q - t) : 1;
  }
}

int lh_access_parse(const char *line, size_t len, lh_access_t *out) {
  const char *p = line, *end = line + len, *close;
  lh_span_t tokens[8];
  size_t n = 0;

  memset(out, 0, sizeof *out);
  while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
    end--;
  /* %h %l %u, or %v:%p %h %l %u: single spaces, no empty field */
  while (p < end && *p != '[') {
    const char *space = memchr(p, ' ', (size_t)(end - p));
    if (!space || space == p || n == sizeof tokens / sizeof tokens[0])
      return 0;
    tokens[n].p = p;
    tokens[n++].len = (size_t)(space - p);
    p = space + 1;
  }
  if (n < 3 || n > 4 || p >= end)
    return 0;
  out->client = tokens[n - 3];
  out->user = tokens[n - 1];
  close = memchr(p, ']', (size_t)(end - p));
  if (!close || !clf_time(p + 1, (size_t)(close - p - 1)))
    return 0;
  out->time.p = p + 1;
  out->time.len = (size_t)(close - p - 1);
  p = close + 1;
  if (p >= end || *p++ != ' ' || !(p = quoted(p, end, &out->request)))
    return 0;
  /* the status: exactly three digits */
  if (end - p < 4 || p[0] != ' ' || !digits(p + 1, 3) || (p + 4 < end && p[4] != ' '))
    return 0;
  out->status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
  if (out->status < 100 || out->status > 599)
    return 0;
  p += 4;
  /* the size: digits or "-" */
  if (p >= end || *p++ != ' ')
    return 0;
  if (p < end && *p == '-') {
    out->size = -1;
    p++;
  } else {
    if (p >= end || !digit(*p))
      return 0;
    for (out->size = 0; p < end && digit(*p); p++)
      out->size = out->size < 100000000000000LL ? out->size * 10 + (*p - '0') : out->size;
  }
  if (p < end && *p != ' ')
    return 0;
  /* referer and agent, when there */
  if (end - p > 1 && p[1] == '"') {
    const char *q = quoted(p + 1, end, &out->referer);
    if (q && end - q > 1 && q[0] == ' ' && q[1] == '"')
      quoted(q + 1, end, &out->agent);
  }
  split_request(out);
  return 1;
}
