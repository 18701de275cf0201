/* Dapr's publish envelope, made as the sidecar makes it, and its
 * expiration read back as the sidecar reads it. */
#include "dapr_envelope.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "error_msg.h"
#include "json_scan.h"
#include "json_util.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"
#include "trace.h"

/* The longest time to live Go's time.Duration holds, in seconds: daprd
 * caps a longer one there. */
#define TTL_MAX 9223372036LL

/* `t` as Go's time.RFC3339 writes a UTC time. */
static void rfc3339(char out[32], time_t t) {
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void member(ofctx__buf_t *out, const char *name, const char *value) {
  ofctx__buf_puts(out, ",\"");
  ofctx__buf_puts(out, name);
  ofctx__buf_puts(out, "\":");
  if (ofctx__buf_json_string(out, value, strlen(value)) != 0)
    ofctx__buf_puts(out, "\"\""); /* the callers' values are checked text */
}

/* Bytes the sidecar carries as data_base64. */
static int binary(const char *type, const void *data, size_t len) {
  size_t tlen;
  const char *t = ofctx__media_type(type, &tlen);

  return ofctx__media_type_is(type, "application/octet-stream") ||
         (tlen >= 8 && strncasecmp(t + tlen - 8, "protobuf", 8) == 0) ||
         !ofctx__utf8_valid(data, len);
}

/* ---- the publish metadata ---- */

/* Go's strconv.ParseInt(s, 10, 64): 0 and the value, or -1. */
static int parse_int64(const char *s, long long *out) {
  int neg = *s == '-';
  unsigned long long v = 0, limit = neg ? (unsigned long long)INT64_MAX + 1 : INT64_MAX;

  if (*s == '+' || *s == '-')
    s++;
  if (!*s)
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (limit - (unsigned long long)(*s - '0')) / 10)
      return -1;
    v = v * 10 + (unsigned long long)(*s - '0');
  }
  *out = neg ? (v == limit ? INT64_MIN : -(long long)v) : (long long)v;
  return 0;
}

int ofctx__envelope_metadata(ofctx__envelope_t *e, const char *key, const char *value,
                             ofctx_error_t *err) {
  static const char *const names[] = {"id",      "source",      "type",
                                      "traceid", "traceparent", "tracestate"};
  const char **slots[] = {&e->ce_id,      &e->ce_source,      &e->ce_type,
                          &e->ce_traceid, &e->ce_traceparent, &e->ce_tracestate};
  char quoted[160];

  if (strcmp(key, "ttlInSeconds") == 0) {
    long long ttl;
    if (*value == '\0')
      return 1; /* contrib's TryGetTTL: no time to live */
    if (parse_int64(value, &ttl) != 0 || ttl <= 0) {
      ofctx__quote(quoted, sizeof quoted, value);
      ofctx__error(err, OFCTX_EINVAL,
                   "publish metadata ttlInSeconds: %s is not a whole number of seconds above "
                   "zero (the sidecar would publish it without an expiration)",
                   quoted);
      return -1;
    }
    e->ttl = ttl > TTL_MAX ? TTL_MAX : ttl;
    return 1;
  }
  if (strncasecmp(key, "cloudevent.", 11) != 0)
    return 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(key + 11, names[i]) == 0) {
      if (!ofctx__utf8_valid(value, strlen(value))) {
        ofctx__quote(quoted, sizeof quoted, key);
        ofctx__error(err, OFCTX_EINVAL,
                     "publish metadata %s: its value is not UTF-8 text, which a CloudEvent's "
                     "attribute must be",
                     quoted);
        return -1;
      }
      *slots[i] = value;
      return 1;
    }
  ofctx__quote(quoted, sizeof quoted, key);
  ofctx__error(err, OFCTX_EINVAL,
               "publish metadata %s: the sidecar does not read it, so it would not change the "
               "CloudEvent (it reads cloudevent.id, .source, .type, .traceid, .traceparent and "
               ".tracestate)",
               quoted);
  return -1;
}

/* ---- the envelope the sidecar makes ---- */

/* The trace daprd puts in the envelope: its span's traceparent (or "")
 * unless overridden, a traceparent override above a traceid one. */
static void trace_of(const ofctx__envelope_t *in, const char **traceid, const char **tracestate) {
  *traceid = in->traceparent ? in->traceparent : "";
  *tracestate = in->tracestate ? in->tracestate : "";
  if (in->ce_traceid)
    *traceid = in->ce_traceid;
  if (in->ce_traceparent && *in->ce_traceparent)
    *traceid = in->ce_traceparent;
  if (in->ce_tracestate)
    *tracestate = in->ce_tracestate;
}

static ofctx_err_t new_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in, const char *type,
                                time_t now) {
  const char *traceid, *tracestate;
  char id[37], when[32], expires[32];

  if (binary(type, in->data, in->len)) {
    ofctx__buf_puts(out, "{\"data_base64\":\"");
    ofctx__base64_encode(out, in->data, in->len);
    ofctx__buf_puts(out, "\"");
  } else if (ofctx__json_media(type) && ofctx__json_valid(in->data, in->len)) {
    ofctx__buf_puts(out, "{\"data\":");
    ofctx__buf_append(out, in->data, in->len);
  } else {
    ofctx__buf_puts(out, "{\"data\":");
    ofctx__buf_json_string(out, in->data, in->len); /* UTF-8: checked above */
  }
  if (!in->id)
    ofctx__uuid4(id);
  rfc3339(when, now);
  member(out, "datacontenttype", type);
  if (in->ttl > 0) {
    rfc3339(expires, now + (time_t)in->ttl);
    member(out, "expiration", expires);
  }
  member(out, "id", in->ce_id && *in->ce_id ? in->ce_id : in->id ? in->id : id);
  member(out, "pubsubname", in->pubsub);
  member(out, "source",
         in->ce_source ? (*in->ce_source ? in->ce_source : "Dapr")
                       : (in->source && *in->source ? in->source : "Dapr"));
  member(out, "specversion", "1.0");
  member(out, "time", when);
  member(out, "topic", in->topic);
  if (in->traceparent || in->ce_traceid || in->ce_traceparent || in->ce_tracestate) {
    trace_of(in, &traceid, &tracestate);
    member(out, "traceid", traceid);
    member(out, "traceparent", traceid);
    member(out, "tracestate", tracestate);
  }
  member(out, "type", in->ce_type && *in->ce_type ? in->ce_type : "com.dapr.event.sent");
  ofctx__buf_puts(out, "}");
  return out->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* ---- the caller's own CloudEvent ---- */

typedef struct {
  const char *key; /* the name's characters (the caller's: in `names` until fixed up) */
  size_t key_at, key_len;
  const char *value; /* as written, or text to write as a JSON string */
  size_t value_len;
  int text;
  size_t order;
} ce_member_t;

typedef struct {
  ce_member_t *m;
  size_t n, cap;
  ofctx__buf_t names;
  int nomem;
} ce_members_t;

static int push(ce_members_t *c, ce_member_t m) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    ce_member_t *grown = ofctx__realloc(c->m, cap * sizeof *grown);
    if (!grown)
      return -1;
    c->m = grown;
    c->cap = cap;
  }
  m.order = c->n;
  c->m[c->n++] = m;
  return 0;
}

static int collect(void *arg, const char *key, size_t key_len, const char *value,
                   size_t value_len) {
  ce_members_t *c = arg;
  size_t at = c->names.len;
  ce_member_t m = {.key_at = at, .value = value, .value_len = value_len};

  ofctx__json_string_decode(&c->names, key, key_len);
  m.key_len = c->names.len - at;
  if (c->names.failed || push(c, m) != 0) {
    c->nomem = 1;
    return 1;
  }
  return 0;
}

/* The caller's last member named `name`, or NULL. */
static const ce_member_t *find(const ce_members_t *c, size_t callers, const char *name) {
  size_t len = strlen(name);

  for (size_t i = callers; i-- > 0;)
    if (c->m[i].key_len == len && memcmp(c->m[i].key, name, len) == 0)
      return &c->m[i];
  return NULL;
}

static int by_name(const void *a, const void *b) {
  const ce_member_t *x = a, *y = b;
  int d = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);

  if (d == 0 && x->key_len != y->key_len)
    d = x->key_len < y->key_len ? -1 : 1;
  if (d == 0)
    d = x->order < y->order ? -1 : 1;
  return d;
}

static ofctx_err_t own_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in, time_t now,
                                ofctx_error_t *err) {
  const char *s = in->data;
  size_t at = 0, len, callers;
  ce_members_t c = {0};
  const ce_member_t *was;
  char when[32], expires[32];
  const char *trace = in->traceparent ? in->traceparent : "";
  const char *state = in->tracestate ? in->tracestate : "";
  int rc, first = 1;

  while (at < in->len && s[at] && strchr(" \t\r\n", s[at]))
    at++;
  len = at < in->len ? ofctx__json_value_len(s + at, in->len - at) : 0;
  if (len == 0)
    return ofctx__error(err, OFCTX_EINVAL,
                        "the caller's CloudEvent (data typed application/cloudevents+json) is "
                        "not JSON");
  rc = ofctx__json_members_valid(s + at, len, collect, &c);
  if (rc == -2) {
    ofctx__free(c.m);
    ofctx__buf_free(&c.names);
    return ofctx__error(err, OFCTX_EINVAL,
                        "the caller's CloudEvent (data typed application/cloudevents+json) is "
                        "not a JSON object");
  }
  callers = c.n;
  for (size_t i = 0; !c.nomem && i < callers; i++)
    c.m[i].key = c.names.data + c.m[i].key_at;
  rfc3339(when, now);
  if (in->ttl > 0)
    rfc3339(expires, now + (time_t)in->ttl);
  /* what FromCloudEvent sets, then ApplyMetadata: after the caller's, so
   * that they win */
  {
    const ce_member_t set[] = {
        {.key = "time", .value = when},         {.key = "traceid", .value = trace},
        {.key = "traceparent", .value = trace}, {.key = "tracestate", .value = state},
        {.key = "topic", .value = in->topic},   {.key = "pubsubname", .value = in->pubsub},
        {.key = "source", .value = "Dapr"},     {.key = "type", .value = "com.dapr.event.sent"},
        {.key = "specversion", .value = "1.0"}, {.key = "expiration", .value = expires},
    };
    for (size_t i = 0; !c.nomem && i < sizeof set / sizeof set[0]; i++) {
      ce_member_t m = set[i];
      if (i == 9 && in->ttl <= 0)
        continue;
      was = find(&c, callers, m.key);
      if (i == 0 && was)
        continue; /* a time of the caller's is kept */
      if (i >= 6 && i <= 8 && was && !(was->value_len == 4 && memcmp(was->value, "null", 4) == 0))
        continue; /* given unless the caller's is missing or null */
      m.key_len = strlen(m.key);
      m.value_len = strlen(m.value);
      m.text = 1;
      if (push(&c, m) != 0)
        c.nomem = 1;
    }
  }
  if (!c.nomem) {
    qsort(c.m, c.n, sizeof *c.m, by_name);
    ofctx__buf_puts(out, "{");
    for (size_t i = 0; i < c.n; i++) {
      const ce_member_t *m = &c.m[i];
      if (i + 1 < c.n && c.m[i + 1].key_len == m->key_len &&
          memcmp(c.m[i + 1].key, m->key, m->key_len) == 0)
        continue; /* a later one of that name wins */
      ofctx__buf_puts(out, first ? "" : ",");
      first = 0;
      ofctx__buf_json_string(out, m->key, m->key_len);
      ofctx__buf_puts(out, ":");
      if (m->text)
        ofctx__buf_json_string(out, m->value, m->value_len);
      else
        ofctx__buf_append(out, m->value, m->value_len);
    }
    ofctx__buf_puts(out, "}");
  }
  ofctx__free(c.m);
  ofctx__buf_free(&c.names);
  return c.nomem || out->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

ofctx_err_t ofctx__dapr_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in,
                                 ofctx_error_t *err) {
  const char *type = in->content_type && *in->content_type ? in->content_type : "text/plain";
  time_t now = in->now ? in->now : time(NULL);

  if (ofctx__media_type_is(type, "application/cloudevents+json"))
    return own_envelope(out, in, now, err);
  return new_envelope(out, in, type, now);
}

/* ---- expiration ---- */

/* The days from 1970-01-01 to the date (proleptic Gregorian): what timegm
 * counts, which POSIX does not have. */
static long long days_from_epoch(long long y, int m, int d) {
  long long era, yoe, doy;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* Whether `len` bytes of `s` hold `needle`. */
static int contains(const char *s, size_t len, const char *needle) {
  size_t n = strlen(needle);
  const char *end = s + len, *p = s;

  while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1)) != NULL) {
    if (memcmp(p, needle, n) == 0)
      return 1;
    p++;
  }
  return 0;
}

/* `n` digits at `*s` as a number, moving on; -1 when they are not. */
static int digits(const char **s, int n) {
  int v = 0;

  for (int i = 0; i < n; i++, (*s)++) {
    if (**s < '0' || **s > '9')
      return -1;
    v = v * 10 + (**s - '0');
  }
  return v;
}

/* `s` as Go's time.Parse(time.RFC3339, s) reads it (a fraction of a
 * second allowed, a zone Z or ±hh:mm): 0 and the time; -1 when it is not. */
static int parse_rfc3339(const char *s, struct timespec *out) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, mo, d, h, mi, sec, leap;
  long nsec = 0, scale = 100000000;
  time_t t;

  if ((y = digits(&s, 4)) < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 1 || mo > 12 ||
      *s++ != '-' || (d = digits(&s, 2)) < 1 || *s++ != 'T' || (h = digits(&s, 2)) < 0 || h > 23 ||
      *s++ != ':' || (mi = digits(&s, 2)) < 0 || mi > 59 || *s++ != ':' ||
      (sec = digits(&s, 2)) < 0 || sec > 59)
    return -1;
  leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > days[mo - 1] + (mo == 2 && leap))
    return -1;
  if (*s == '.') {
    if (s[1] < '0' || s[1] > '9')
      return -1;
    for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
      nsec += scale * (*s - '0');
  }
  t = (time_t)(days_from_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
  if (*s == 'Z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s++ == '-' ? -1 : 1, zh, zm;
    if ((zh = digits(&s, 2)) < 0 || zh > 23 || *s++ != ':' || (zm = digits(&s, 2)) < 0 || zm > 59)
      return -1;
    t -= sign * (zh * 3600 + zm * 60);
  } else {
    return -1;
  }
  if (*s)
    return -1;
  out->tv_sec = t;
  out->tv_nsec = nsec;
  return 0;
}

typedef struct {
  const char *id, *expiration;
  size_t id_len, expiration_len;
} expiry_t;

static int expiry_member(void *arg, const char *key, size_t key_len, const char *value,
                         size_t value_len) {
  expiry_t *e = arg;

  if (ofctx__json_string_is(key, key_len, "expiration")) {
    e->expiration = value; /* a later one wins, as Go decodes it */
    e->expiration_len = value_len;
  } else if (ofctx__json_string_is(key, key_len, "id")) {
    e->id = value;
    e->id_len = value_len;
  }
  return 0;
}

int ofctx__dapr_expired(const char *body, size_t len, const struct timespec *now,
                        ofctx_error_t *why) {
  expiry_t e = {0};
  ofctx__buf_t text = {0}, id = {0};
  struct timespec t;
  char quoted_id[128];
  int expired = 0;

  /* the cheap test first: a record without the name (written plainly or
   * with an escape) has no expiration */
  if (!contains(body, len, "expiration") && !contains(body, len, "\\u"))
    return 0;
  if (ofctx__json_members_valid(body, len, expiry_member, &e) != 0 || !e.expiration ||
      e.expiration[0] != '"')
    return 0; /* not a string: Go's HasExpired cannot parse it */
  ofctx__json_string_decode(&text, e.expiration, e.expiration_len);
  if (!text.failed && strlen(text.data) == text.len && parse_rfc3339(text.data, &t) == 0 &&
      (t.tv_sec < now->tv_sec || (t.tv_sec == now->tv_sec && t.tv_nsec < now->tv_nsec))) {
    expired = 1;
    if (e.id && e.id[0] == '"')
      ofctx__json_string_decode(&id, e.id, e.id_len);
    ofctx__quote(quoted_id, sizeof quoted_id, id.data && !id.failed ? id.data : "");
    ofctx__error(why, OFCTX_EINVAL, "the event %s expired at %.64s", quoted_id, text.data);
  }
  ofctx__buf_free(&text);
  ofctx__buf_free(&id);
  return expired;
}
