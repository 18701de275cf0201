/* Alerts as Alertmanager and Notification Manager take them. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "access_log.h"
#include "alert.h"

static int by_name(const void *a, const void *b) {
  return strcmp(((const lh_label_t *)a)->name, ((const lh_label_t *)b)->name);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t lh_fingerprint(const lh_label_t *labels, size_t count) {
  lh_label_t sorted[32];
  uint64_t h = 14695981039346656037ULL;
  static const char sep = (char)0xff;

  if (count > sizeof sorted / sizeof sorted[0])
    count = sizeof sorted / sizeof sorted[0];
  if (count)
    memcpy(sorted, labels, count * sizeof *labels);
  qsort(sorted, count, sizeof *sorted, by_name);
  for (size_t i = 0; i < count; i++) {
    h = fnv(h, sorted[i].name, strlen(sorted[i].name));
    h = fnv(h, &sep, 1);
    h = fnv(h, sorted[i].value, strlen(sorted[i].value));
    h = fnv(h, &sep, 1);
  }
  return h;
}

void lh_rfc3339(double t, char out[64]) {
  time_t secs;
  long micros;
  struct tm tm;

  if (!(t >= 0 && t < LH_TIME_MAX)) /* also NaN */
    t = 0;
  secs = (time_t)floor(t);
  micros = (long)llround((t - (double)secs) * 1e6);

  if (micros >= 1000000) {
    secs++;
    micros -= 1000000;
  }
  gmtime_r(&secs, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

static int num(const char *s, int n, int *out) {
  *out = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    *out = *out * 10 + (s[i] - '0');
  }
  return 1;
}

static int to_epoch(int y, int mo, int d, int h, int mi, int s, double *t) {
  struct tm tm = {0};

  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || s > 60 ||
      (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  *t = (double)timegm(&tm);
  return 0;
}

int lh_parse_rfc3339(const char *s, double *t) {
  int y, mo, d, h, mi, sec, oh = 0, om = 0;
  double frac = 0, scale = 0.1;
  const char *p;

  if (strlen(s) < 20 || !num(s, 4, &y) || s[4] != '-' || !num(s + 5, 2, &mo) || s[7] != '-' ||
      !num(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !num(s + 11, 2, &h) || s[13] != ':' ||
      !num(s + 14, 2, &mi) || s[16] != ':' || !num(s + 17, 2, &sec))
    return -1;
  p = s + 19;
  if (*p == '.') {
    if (p[1] < '0' || p[1] > '9')
      return -1;
    for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
      frac += (*p - '0') * scale;
  }
  if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
    /* UTC */
  } else if ((*p == '+' || *p == '-') && num(p + 1, 2, &oh) && p[3] == ':' && num(p + 4, 2, &om) &&
             p[6] == '\0' && oh <= 23 && om <= 59) {
    if (*p == '-') {
      oh = -oh;
      om = -om;
    }
  } else {
    return -1;
  }
  if (to_epoch(y, mo, d, h, mi, sec, t) != 0)
    return -1;
  *t += frac - (oh * 3600 + om * 60);
  return 0;
}

int lh_parse_clf_time(const char *s, size_t len, double *t) {
  int d, y, h, mi, sec, oh, om, mo;

  if (len != 26 || !num(s, 2, &d) || !num(s + 7, 4, &y) || !num(s + 12, 2, &h) ||
      !num(s + 15, 2, &mi) || !num(s + 18, 2, &sec) || !num(s + 22, 2, &oh) || !num(s + 24, 2, &om))
    return -1;
  mo = lh_clf_month(s + 3);
  if (to_epoch(y, mo, d, h, mi, sec, t) != 0)
    return -1;
  *t -= (s[21] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  return 0;
}

/* snprintf into `out`, then drop a UTF-8 sequence the cut left unfinished,
 * so that the text stays valid for JSON. */
static void text_printf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void text_printf(char *out, size_t size, const char *fmt, ...) {
  va_list ap;
  size_t n, start, need;

  va_start(ap, fmt);
  vsnprintf(out, size, fmt, ap);
  va_end(ap);
  n = strlen(out);
  for (start = n; start > 0 && ((unsigned char)out[start - 1] & 0xc0) == 0x80; start--)
    ;
  if (start == 0 || (unsigned char)out[start - 1] < 0xc0)
    return; /* ends in ASCII, or in continuation bytes with no lead */
  start--;
  need = (unsigned char)out[start] >= 0xf0 ? 4 : (unsigned char)out[start] >= 0xe0 ? 3 : 2;
  if (n - start < need)
    out[start] = '\0';
}

/* Only labels with a value: Alertmanager drops empty ones anyway. */
static void add(lh_label_t *labels, size_t *n, const char *name, const char *value) {
  if (value && *value)
    labels[(*n)++] = (lh_label_t){name, value};
}

/* Printable ASCII without quote or backslash: the JSON string is the text
 * between quotes. Most values are (pod names, paths, times). */
static int plain(const char *s) {
  for (; *s; s++)
    if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
      return 0;
  return 1;
}

/* `s` as a JSON string, quoted by jansson unless it is plain; -1 for text
 * that is not UTF-8. */
static int put_string(FILE *f, const char *s) {
  char quoted[1024];
  json_t *j;
  size_t n;
  int rc;

  if (plain(s))
    return fprintf(f, "\"%s\"", s) < 0 ? -1 : 0;
  j = json_string(s);
  n = j ? json_dumpb(j, quoted, sizeof quoted, JSON_ENCODE_ANY) : 0;
  rc = n == 0               ? -1
       : n <= sizeof quoted ? (int)fwrite(quoted, n, 1, f) - 1
                            : json_dumpf(j, f, JSON_ENCODE_ANY);
  json_decref(j);
  return rc;
}

/* {"name":"value",...}; the names are this file's own, plain ASCII. */
static int put_object(FILE *f, const lh_label_t *pairs, size_t n) {
  int rc = 0;

  for (size_t i = 0; i < n; i++) {
    fprintf(f, "%c\"%s\":", i ? ',' : '{', pairs[i].name);
    rc |= put_string(f, pairs[i].value);
  }
  fputs(n ? "}" : "{}", f);
  return rc;
}

/* `t` as RFC 3339, or "" when nothing was seen. */
static void when(double t, char out[64]) {
  if (t > 0)
    lh_rfc3339(t, out);
  else
    out[0] = '\0';
}

static void message_of(const lh_rules_t *rules, const lh_access_note_t *n, char *out, size_t size) {
  char first[64], last[64], who[512];

  when(n->first_seen, first);
  when(n->last_seen, last);
  text_printf(who, sizeof who, "pod %s/%s%s%s%s", n->namespace_name, n->pod,
              *n->container ? " (container " : "", n->container, *n->container ? ")" : "");
  switch (n->kind) {
  case LH_NOTE_FIRING:
    text_printf(out, size, "%s: %s%s%s answered %d by %s%s%s", lh_rules_alert_name(rules),
                n->method && *n->method ? n->method : "a request", *n->last_path ? " " : "",
                n->last_path, n->status, who, n->client && *n->client ? " for client " : "",
                n->client ? n->client : "");
    break;
  case LH_NOTE_UPDATE:
    text_printf(out, size,
                "%s: %llu more requests answered %d by %s, %llu since %s; the last %s %s",
                lh_rules_alert_name(rules), (unsigned long long)n->new_count, n->status, who,
                (unsigned long long)n->count, first, n->method && *n->method ? n->method : "was",
                n->last_path);
    break;
  case LH_NOTE_RESOLVED:
    text_printf(out, size, "%s resolved: %llu requests answered %d by %s from %s to %s",
                lh_rules_alert_name(rules), (unsigned long long)n->count, n->status, who, first,
                last);
    break;
  }
}

char *lh_alert_json(const lh_rules_t *rules, const lh_access_note_t *n, double wall, size_t *len) {
  lh_label_t labels[8], annotations[10];
  size_t nl = 0, na = 0;
  char status[8], count[24], fresh[24], first[64], last[64], starts[64], ends[64];
  char fingerprint[17], message[1024], group_key[512], samples[1024];
  char *text = NULL;
  size_t size = 0, used = 0;
  FILE *f;
  int rc = 0;
  int nm = lh_rules_format(rules) == LH_FORMAT_NOTIFICATION_MANAGER;
  const char *state = n->kind == LH_NOTE_RESOLVED ? "resolved" : "firing";

  snprintf(status, sizeof status, "%d", n->status);
  snprintf(count, sizeof count, "%llu", (unsigned long long)n->count);
  snprintf(fresh, sizeof fresh, "%llu", (unsigned long long)n->new_count);
  add(labels, &nl, "alertname", lh_rules_alert_name(rules));
  add(labels, &nl, "namespace", n->namespace_name);
  add(labels, &nl, "severity", lh_rules_severity(rules));
  add(labels, &nl, "pod", n->pod);
  add(labels, &nl, "container", n->container);
  add(labels, &nl, "status", status);
  if (nm) /* Notification Manager routes to the namespace's tenant with this */
    add(labels, &nl, "rule_level", "namespace");
  message_of(rules, n, message, sizeof message);
  samples[0] = '\0';
  for (size_t i = 0; i < n->sample_count && used < sizeof samples; i++) {
    text_printf(samples + used, sizeof samples - used, "%s%s", i ? " " : "", n->samples[i]);
    used += strlen(samples + used);
  }
  when(n->first_seen, first);
  when(n->last_seen, last);
  add(annotations, &na, "message", message);
  add(annotations, &na, "count", count);
  if (n->kind != LH_NOTE_FIRING)
    add(annotations, &na, "new_count", fresh);
  add(annotations, &na, "first_seen", first);
  add(annotations, &na, "last_seen", last);
  add(annotations, &na, "first_path", n->first_path);
  add(annotations, &na, "last_path", n->last_path);
  add(annotations, &na, "sample_paths", samples);
  add(annotations, &na, "method", n->method);
  add(annotations, &na, "client", n->client);
  lh_rfc3339(n->first_seen, starts);
  /* a firing alert's lease runs from now when the records are older (a
   * Kafka backlog): an alert that reached Alertmanager already ended would
   * be lost; a resolved one ends when the quiet period ran out */
  if (n->kind == LH_NOTE_RESOLVED) {
    double quiet_end = n->last_seen + lh_rules_flood(rules)->quiet_period;
    lh_rfc3339(quiet_end < n->now ? quiet_end : n->now, ends);
  } else {
    lh_rfc3339((wall > n->now ? wall : n->now) + (double)lh_rules_lease_seconds(rules), ends);
  }
  snprintf(fingerprint, sizeof fingerprint, "%016llx",
           (unsigned long long)lh_fingerprint(labels, nl));
  /* Written out rather than built as jansson objects. Alertmanager: [ALERT].
   * Notification Manager: {"version": "4", ..., "alerts": [ALERT + status,
   * generatorURL, fingerprint], ...}. */
  f = open_memstream(&text, &size);
  if (!f)
    return NULL;
  if (nm) {
    text_printf(group_key, sizeof group_key, "{}:{alertname=\"%s\", namespace=\"%s\"}",
                lh_rules_alert_name(rules), n->namespace_name);
    fputs("{\"version\":\"4\",\"groupKey\":", f);
    rc |= put_string(f, group_key);
    fputs(",\"truncatedAlerts\":0,\"receiver\":", f);
    rc |= put_string(f, lh_rules_receiver(rules));
    fprintf(f, ",\"status\":\"%s\",\"alerts\":", state);
  }
  fputs("[{\"labels\":", f);
  rc |= put_object(f, labels, nl);
  fputs(",\"annotations\":", f);
  rc |= put_object(f, annotations, na);
  fprintf(f, ",\"startsAt\":\"%s\",\"endsAt\":\"%s\"", starts, ends);
  if (nm) {
    fprintf(f, ",\"status\":\"%s\",\"generatorURL\":\"\",\"fingerprint\":\"%s\"}]", state,
            fingerprint);
    fputs(",\"groupLabels\":{\"alertname\":", f);
    rc |= put_string(f, lh_rules_alert_name(rules));
    fputs(",\"namespace\":", f);
    rc |= put_string(f, n->namespace_name);
    fputs("},\"commonLabels\":", f);
    rc |= put_object(f, labels, nl);
    fputs(",\"commonAnnotations\":", f);
    rc |= put_object(f, annotations, na);
    fputs(",\"externalURL\":\"\"}", f);
  } else {
    fputs("}]", f);
  }
  rc |= ferror(f);
  rc |= fclose(f);
  if (rc) {
    free(text);
    return NULL;
  }
  if (len)
    *len = size;
  return text;
}
