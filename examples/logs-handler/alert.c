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
#include "template.h"

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
  lh_label_t sorted[LH_LABELS_MAX];
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

/* Days from 1970-01-01 to the date (proleptic Gregorian, `y` >= 0), counted
 * in 400-year eras of 146 097 days from March of year 0, so that a leap day
 * ends its year: what timegm computes, without its normalising, at a tenth
 * of its cost (a record's time is read for every hit). */
static long days_from_epoch(long y, int mo, int d) {
  long era, yoe, doy;

  y -= mo <= 2;
  era = (y >= 0 ? y : y - 399) / 400; /* January and February of year 0 are in era -1 */
  yoe = y - era * 400;                /* 0 to 399 */
  doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1; /* 0 to 365, from March 1 */
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int to_epoch(int y, int mo, int d, int h, int mi, int s, double *t) {
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || s > 60 ||
      (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
    return -1;
  /* a leap second (60) is the next minute's first, as timegm has it */
  *t = (double)(days_from_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
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

#define LH_NOTES_MAX 32
#define SAMPLES_BYTES 1024

/* One alert being made: its labels and annotations, and the cleaned
 * copies of values that were not valid UTF-8 or too long (owned). */
typedef struct {
  const lh_notify_t *rule;
  const lh_note_t *note;
  lh_field_t labels[LH_LABELS_MAX], notes[LH_NOTES_MAX];
  size_t nl, na;
  char *owned[2 * LH_LABELS_MAX + 3 * LH_NOTES_MAX + 8];
  size_t no;
  int nomem;
  char num[64];                /* a template's number, until the next one */
  char samples[SAMPLES_BYTES]; /* the samples joined, for {{samples}} */
  char alertname[LH_LABEL_BYTES];
} alert_t;

static void alert_clear(alert_t *a) {
  for (size_t i = 0; i < a->no; i++)
    free(a->owned[i]);
}

/* `p` (just allocated) is owned by `a`: 1, or 0 when it is NULL (out of
 * memory) or `a` holds too many (a rule with too many labels: the rest is
 * left out), and then it is freed. */
static int own(alert_t *a, char *p) {
  if (!p || a->no == sizeof a->owned / sizeof *a->owned) {
    a->nomem |= !p;
    free(p);
    return 0;
  }
  a->owned[a->no++] = p;
  return 1;
}

/* `s` as valid UTF-8 of fewer than `bound` bytes: itself when it is one,
 * else a cleaned copy that `a` owns; NULL for NULL or out of memory. */
static const char *keep(alert_t *a, const char *s, size_t bound) {
  size_t len = s ? strnlen(s, bound) : 0;
  char *copy;

  if (!s || (len < bound && lh_utf8_valid(s, len)))
    return s;
  if (!own(a, copy = malloc(bound)))
    return NULL;
  lh_utf8_copy(s, strlen(s), copy, bound);
  return copy;
}

static int label_char(char c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

/* A label name Prometheus takes: [a-zA-Z_][a-zA-Z0-9_]*, other characters
 * as '_' (labels.app → labels_app), at most 128 bytes. */
static const char *label_name(alert_t *a, const char *name) {
  size_t len = strnlen(name, 128), j = 0;
  int ok = len > 0 && !name[len];
  char *copy;

  for (size_t i = 0; ok && i < len; i++)
    ok = label_char(name[i], i == 0);
  if (ok)
    return name;
  if (!own(a, copy = malloc(len + 2)))
    return NULL;
  if (len == 0 || !label_char(name[0], 1))
    copy[j++] = '_';
  for (size_t i = 0; i < len; i++)
    copy[j++] = label_char(name[i], 0) ? name[i] : '_';
  copy[j] = '\0';
  return copy;
}

static size_t find(const lh_field_t *set, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(set[i].name, name) == 0)
      return i;
  return n;
}

/* Sets `name` to `value` in the set (in place when it is there, else at
 * the end while there is room); an empty value takes it out. */
static void put(lh_field_t *set, size_t *n, size_t max, const char *name, const char *value) {
  size_t i;

  if (!name)
    return;
  i = find(set, *n, name);
  if (!value || !*value) {
    if (i < *n)
      memmove(set + i, set + i + 1, (*n - i - 1) * sizeof *set);
    *n -= i < *n;
  } else if (i < *n) {
    set[i].value = value;
  } else if (*n < max) {
    set[(*n)++] = (lh_field_t){name, value};
  }
}

static void label(alert_t *a, const char *name, const char *value) {
  put(a->labels, &a->nl, LH_LABELS_MAX, label_name(a, name), keep(a, value, LH_LABEL_BYTES));
}

/* `s` as valid UTF-8 of fewer than `bound` bytes, in a copy `a` owns
 * (the defaults are made in buffers of the stack); NULL for NULL. */
static const char *copy_of(alert_t *a, const char *s, size_t bound) {
  const char *kept = keep(a, s, bound);
  char *copy;

  if (!s || kept != s) /* a cleaned copy already, or out of memory */
    return kept;
  return own(a, copy = strdup(s)) ? copy : NULL;
}

/* An annotation (copied); `fill` only when the name has none yet. */
static void annotate(alert_t *a, const char *name, const char *value, int fill) {
  name = keep(a, name, LH_LABEL_BYTES);
  if (!name || (fill && find(a->notes, a->na, name) < a->na) || !value || !*value)
    return;
  put(a->notes, &a->na, LH_NOTES_MAX, name, copy_of(a, value, LH_ANNOTATION_BYTES));
}

static const char *label_value(const alert_t *a, const char *name) {
  size_t i = find(a->labels, a->nl, name);
  return i < a->nl ? a->labels[i].value : NULL;
}

/* The key's value for the group_by name, or NULL. */
static const char *key_value(const alert_t *a, const char *name, size_t len) {
  const lh_notify_t *r = a->rule;

  for (size_t i = 0; i < r->group_by_count && i < a->note->key_count; i++)
    if (strlen(r->group_by[i]) == len && memcmp(r->group_by[i], name, len) == 0)
      return a->note->key[i];
  return NULL;
}

/* The value of field `name` among the first or last fields, or NULL. */
static const char *field_value(const alert_t *a, int last, const char *name, size_t len) {
  const lh_field_t *f = last ? a->note->last_fields : a->note->first_fields;

  size_t n = last ? a->note->last_count : a->note->first_count;

  for (size_t i = 0; f && i < n; i++)
    if (f[i].name && strlen(f[i].name) == len && memcmp(f[i].name, name, len) == 0)
      return f[i].value;
  return NULL;
}

static const char *str_or(const char *s, const char *otherwise) { return s && *s ? s : otherwise; }

static void labels_of(alert_t *a) {
  const lh_notify_t *r = a->rule;
  const char *ns = key_value(a, "namespace", 9);

  label(a, "alertname", r->name);
  label(a, "namespace", ns);
  label(a, "severity", r->severity);
  for (size_t i = 0; i < r->group_by_count && i < a->note->key_count; i++)
    if (strcmp(r->group_by[i], "namespace") != 0)
      label(a, r->group_by[i], a->note->key[i]);
  for (size_t i = 0; i < r->label_count; i++)
    label(a, r->labels[i].name, r->labels[i].value);
  /* Notification Manager routes to the namespace's tenant with this */
  if (r->format == LH_FORMAT_NOTIFICATION_MANAGER && label_value(a, "namespace"))
    label(a, "rule_level", "namespace");
  text_printf(a->alertname, sizeof a->alertname, "%s", str_or(label_value(a, "alertname"), ""));
}

/* `t` as RFC 3339, or "" when nothing was seen. */
static void when(double t, char out[64]) {
  if (t > 0)
    lh_rfc3339(t, out);
  else
    out[0] = '\0';
}

/* The samples joined by `sep`, at most SAMPLES_BYTES. */
static const char *samples_of(alert_t *a, const char *sep) {
  size_t used = 0;

  a->samples[0] = '\0';
  for (size_t i = 0; i < a->note->sample_count && used < sizeof a->samples; i++) {
    text_printf(a->samples + used, sizeof a->samples - used, "%s%s", i ? sep : "",
                str_or(a->note->samples[i], ""));
    used += strlen(a->samples + used);
  }
  return a->samples;
}

static int is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && memcmp(name, want, len) == 0;
}

static const char *number(alert_t *a, uint64_t v) {
  snprintf(a->num, sizeof a->num, "%llu", (unsigned long long)v);
  return a->num;
}

/* A placeholder's value (template.h). */
static const char *value_of(void *arg, const char *name, size_t len) {
  alert_t *a = arg;
  const lh_note_t *n = a->note;

  if (is(name, len, "count") || is(name, len, "new_count") || is(name, len, "total") ||
      is(name, len, "suppressed"))
    return number(a, is(name, len, "count")       ? n->count
                     : is(name, len, "new_count") ? n->new_count
                     : is(name, len, "total")     ? n->total
                                                  : n->suppressed);
  if (is(name, len, "window")) {
    lh_duration_format(a->rule->window, a->num);
    return a->num;
  }
  if (is(name, len, "first_seen") || is(name, len, "last_seen")) {
    when(is(name, len, "first_seen") ? n->first_seen : n->last_seen, a->num);
    return a->num;
  }
  if (is(name, len, "rule") || is(name, len, "severity"))
    return is(name, len, "rule") ? a->rule->name : a->rule->severity;
  if (is(name, len, "samples"))
    return samples_of(a, "\n");
  if (len > 6 && memcmp(name, "first.", 6) == 0)
    return field_value(a, 0, name + 6, len - 6);
  if (len > 5 && memcmp(name, "last.", 5) == 0)
    return field_value(a, 1, name + 5, len - 5);
  return key_value(a, name, len);
}

/* The rule's templates rendered, the first LH_NOTES_MAX of them. */
static void templates_of(alert_t *a) {
  char out[LH_ANNOTATION_BYTES];

  for (size_t i = 0; i < a->rule->annotation_count && i < LH_NOTES_MAX; i++) {
    const lh_field_t *t = &a->rule->annotations[i];
    lh_template_render(t->value ? t->value : "", value_of, a, out, sizeof out);
    annotate(a, t->name, out, 0);
  }
}

/* Who the key names: "pod NS/POD (container C)" when it has a pod, else
 * its values as "name=value, ..." ("every record" without a key). */
static void who_of(const alert_t *a, char *out, size_t size) {
  const char *pod = key_value(a, "pod", 3), *c = str_or(key_value(a, "container", 9), "");
  size_t used = 0;

  if (pod) {
    text_printf(out, size, "pod %s/%s%s%s%s", str_or(key_value(a, "namespace", 9), ""), pod,
                *c ? " (container " : "", c, *c ? ")" : "");
    return;
  }
  text_printf(out, size, "%s", a->note->key_count ? "" : "every record");
  for (size_t i = 0; i < a->rule->group_by_count && i < a->note->key_count && used < size; i++) {
    text_printf(out + used, size - used, "%s%s=%s", i ? ", " : "", a->rule->group_by[i],
                str_or(a->note->key[i], ""));
    used += strlen(out + used);
  }
}

/* Today's message of an access-log rule. */
static void access_message(const alert_t *a, const char *who, char *out, size_t size) {
  const lh_note_t *n = a->note;
  const char *status =
      str_or(key_value(a, "status", 6), str_or(field_value(a, 1, "status", 6), ""));
  const char *method = str_or(field_value(a, 1, "method", 6), ""), *name = a->alertname;
  const char *client = str_or(field_value(a, 1, "client", 6), "");
  const char *last_path = str_or(field_value(a, 1, "path", 4), "");
  char first[64], last[64];

  when(n->first_seen, first);
  when(n->last_seen, last);
  if (n->kind == LH_NOTE_FIRING)
    text_printf(out, size, "%s: %s%s%s answered %s by %s%s%s", name, *method ? method : "a request",
                *last_path ? " " : "", last_path, status, who, *client ? " for client " : "",
                client);
  else if (n->kind == LH_NOTE_UPDATE)
    text_printf(out, size,
                "%s: %llu more requests answered %s by %s, %llu since %s; the last %s %s", name,
                (unsigned long long)n->new_count, status, who, (unsigned long long)n->count, first,
                *method ? method : "was", last_path);
  else
    text_printf(out, size, "%s resolved: %llu requests answered %s by %s from %s to %s", name,
                (unsigned long long)n->count, status, who, first, last);
}

/* The message of any other rule, by its condition. */
static void generic_message(const alert_t *a, const char *who, char *out, size_t size) {
  const lh_note_t *n = a->note;
  const char *name = a->alertname;
  char first[64], last[64], window[32];
  unsigned long long count = n->count, fresh = n->new_count;

  when(n->first_seen, first);
  when(n->last_seen, last);
  lh_duration_format(a->rule->window, window);
  if (a->rule->kind == LH_COND_ABSENT && n->kind == LH_NOTE_RESOLVED)
    text_printf(out, size, "%s resolved: log lines from %s again since %s", name, who, last);
  else if (a->rule->kind == LH_COND_ABSENT)
    text_printf(out, size, "%s: no log lines from %s since %s", name, who, last);
  else if (n->kind == LH_NOTE_RESOLVED)
    text_printf(out, size, "%s resolved: %llu matching log line%s from %s from %s to %s", name,
                count, count == 1 ? "" : "s", who, first, last);
  else if (n->kind == LH_NOTE_UPDATE)
    text_printf(out, size, "%s: %llu more matching log line%s from %s, %llu since %s", name, fresh,
                fresh == 1 ? "" : "s", who, count, first);
  else if (a->rule->kind == LH_COND_RATIO)
    text_printf(out, size,
                "%s: %llu of %llu log lines from %s matched within %s (%.4g%%, over %.4g%%)", name,
                count, (unsigned long long)n->total, who, window,
                n->total ? 100.0 * (double)count / (double)n->total : 0.0, 100.0 * a->rule->ratio);
  else if (a->rule->kind == LH_COND_COUNT)
    text_printf(out, size, "%s: %llu matching log lines from %s within %s", name, count, who,
                window);
  else
    text_printf(out, size, "%s: a matching log line from %s", name, who);
}

/* The default annotations: today's for an access-log rule. */
static void defaults_of(alert_t *a) {
  const lh_note_t *n = a->note;
  char message[1024], who[512], first[64], last[64], count[24], fresh[24];
  int access = a->rule->access_log;

  who_of(a, who, sizeof who);
  (access ? access_message : generic_message)(a, who, message, sizeof message);
  when(n->first_seen, first);
  when(n->last_seen, last);
  snprintf(count, sizeof count, "%llu", (unsigned long long)n->count);
  snprintf(fresh, sizeof fresh, "%llu", (unsigned long long)n->new_count);
  annotate(a, "message", message, 0);
  annotate(a, "count", count, 0);
  if (n->kind != LH_NOTE_FIRING)
    annotate(a, "new_count", fresh, 0);
  annotate(a, "first_seen", first, 0);
  annotate(a, "last_seen", last, 0);
  if (!access) {
    annotate(a, "samples", samples_of(a, "\n"), 0);
    return;
  }
  annotate(a, "first_path", field_value(a, 0, "path", 4), 0);
  annotate(a, "last_path", field_value(a, 1, "path", 4), 0);
  annotate(a, "sample_paths", samples_of(a, " "), 0);
  annotate(a, "method", field_value(a, 1, "method", 6), 0);
  annotate(a, "client", field_value(a, 1, "client", 6), 0);
}

/* The numbers every rule's alert carries whatever its templates say. */
static void numbers_of(alert_t *a) {
  const lh_note_t *n = a->note;
  char text[64];

  if (n->suppressed) {
    snprintf(text, sizeof text, "%llu", (unsigned long long)n->suppressed);
    annotate(a, "suppressed", text, 1);
  }
  if (a->rule->kind != LH_COND_RATIO)
    return;
  snprintf(text, sizeof text, "%llu", (unsigned long long)n->count);
  annotate(a, "matched", text, 1);
  snprintf(text, sizeof text, "%llu", (unsigned long long)n->total);
  annotate(a, "total", text, 1);
  snprintf(text, sizeof text, "%.4g", n->total ? (double)n->count / (double)n->total : 0.0);
  annotate(a, "ratio", text, 1);
  snprintf(text, sizeof text, "%.4g", a->rule->ratio);
  annotate(a, "threshold", text, 1);
}

/* Printable ASCII without quote or backslash: the JSON string is the text
 * between quotes. Most values are (pod names, paths, times). */
static int plain(const char *s) {
  for (; *s; s++)
    if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
      return 0;
  return 1;
}

/* `s` (valid UTF-8) as a JSON string, quoted by jansson unless it is
 * plain. */
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

/* {"name":"value",...} */
static int put_object(FILE *f, const lh_field_t *pairs, size_t n) {
  int rc = 0;

  for (size_t i = 0; i < n; i++) {
    fputc(i ? ',' : '{', f);
    rc |= put_string(f, pairs[i].name);
    fputc(':', f);
    rc |= put_string(f, pairs[i].value);
  }
  fputs(n ? "}" : "{}", f);
  return rc;
}

/* startsAt and endsAt (see lh_alert_json). */
static void times_of(const alert_t *a, double wall, char starts[64], char ends[64]) {
  const lh_note_t *n = a->note;
  double quiet_end = n->last_seen + a->rule->resolve_after;

  lh_rfc3339(n->first_seen, starts);
  /* a firing alert's lease runs from now when the records are older (a
   * Kafka backlog): an alert that reached Alertmanager already ended would
   * be lost; a resolved one ends when the quiet period ran out */
  if (n->kind != LH_NOTE_RESOLVED)
    lh_rfc3339((wall > n->now ? wall : n->now) + a->rule->lease, ends);
  else if (a->rule->kind == LH_COND_ABSENT || quiet_end > n->now)
    lh_rfc3339(n->now, ends);
  else
    lh_rfc3339(quiet_end, ends);
}

/* Notification Manager's envelope before the alert: {"version": "4",
 * "groupKey": ..., "receiver": ..., "status": ..., "alerts": */
static int put_envelope(FILE *f, const alert_t *a, const char *state) {
  const char *ns = label_value(a, "namespace");
  char group_key[2 * LH_LABEL_BYTES + 64];
  int rc = 0;

  if (ns)
    text_printf(group_key, sizeof group_key, "{}:{alertname=\"%s\", namespace=\"%s\"}",
                a->alertname, ns);
  else
    text_printf(group_key, sizeof group_key, "{}:{alertname=\"%s\"}", a->alertname);
  fputs("{\"version\":\"4\",\"groupKey\":", f);
  rc |= put_string(f, group_key);
  fputs(",\"truncatedAlerts\":0,\"receiver\":", f);
  rc |= put_string(f, str_or(a->rule->receiver, ""));
  fprintf(f, ",\"status\":\"%s\",\"alerts\":", state);
  return rc;
}

/* The alert itself, and Notification Manager's envelope after it. */
static int put_alert(FILE *f, const alert_t *a, const char *state, int nm, double wall) {
  char starts[64], ends[64], fingerprint[17];
  lh_field_t group[2] = {{"alertname", a->alertname}, {"namespace", label_value(a, "namespace")}};
  int rc = 0;

  times_of(a, wall, starts, ends);
  snprintf(fingerprint, sizeof fingerprint, "%016llx",
           (unsigned long long)lh_fingerprint(a->labels, a->nl));
  fputs("[{\"labels\":", f);
  rc |= put_object(f, a->labels, a->nl);
  fputs(",\"annotations\":", f);
  rc |= put_object(f, a->notes, a->na);
  fprintf(f, ",\"startsAt\":\"%s\",\"endsAt\":\"%s\"", starts, ends);
  if (!nm) {
    fputs("}]", f);
    return rc;
  }
  fprintf(f, ",\"status\":\"%s\",\"generatorURL\":\"\",\"fingerprint\":\"%s\"}]", state,
          fingerprint);
  fputs(",\"groupLabels\":", f);
  rc |= put_object(f, group, group[1].value ? 2 : 1);
  fputs(",\"commonLabels\":", f);
  rc |= put_object(f, a->labels, a->nl);
  fputs(",\"commonAnnotations\":", f);
  rc |= put_object(f, a->notes, a->na);
  fputs(",\"externalURL\":\"\"}", f);
  return rc;
}

/* Written out rather than built as jansson objects. Alertmanager: [ALERT].
 * Notification Manager: {"version": "4", ..., "alerts": [ALERT + status,
 * generatorURL, fingerprint], ...}. */
static char *write_alert(const alert_t *a, double wall, size_t *len) {
  int nm = a->rule->format == LH_FORMAT_NOTIFICATION_MANAGER, rc = 0;
  const char *state = a->note->kind == LH_NOTE_RESOLVED ? "resolved" : "firing";
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);

  if (!f)
    return NULL;
  if (nm)
    rc |= put_envelope(f, a, state);
  rc |= put_alert(f, a, state, nm, wall);
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

char *lh_alert_json(const lh_notify_t *rule, const lh_note_t *note, double wall, size_t *len) {
  alert_t *a = calloc(1, sizeof *a);
  char *text = NULL;

  if (!a)
    return NULL;
  a->rule = rule;
  a->note = note;
  labels_of(a);
  if (rule->annotation_count)
    templates_of(a);
  else
    defaults_of(a);
  numbers_of(a);
  if (!a->nomem)
    text = write_alert(a, wall, len);
  alert_clear(a);
  free(a);
  return text;
}
