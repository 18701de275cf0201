/* LOGS_* variables → the rules, checked at start so that a mistake is a
 * clear start-up error, never a silent miss at run time. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rules.h"

#define MAX_NAMESPACES 64

struct lh_rules {
  char *namespaces[MAX_NAMESPACES];
  size_t namespace_len[MAX_NAMESPACES];
  size_t namespace_count;
  pcre2_code *pod;
  pcre2_match_data *pod_match;
  unsigned char status[600]; /* status[n]: alert on n */
  char *alert_name, *severity, *receiver, *output;
  lh_format_t format;
  long lease;
  lh_flood_config_t flood;
  double rate, burst;
};

static const char *value_of(lh_getenv_fn get, const char *name, const char *fallback) {
  const char *v = get(name);
  return v && *v ? v : fallback;
}

static int fail(char *err, size_t size, const char *name, const char *value, const char *why) {
  snprintf(err, size, "%s: \"%.60s\" %s", name, value, why);
  return -1;
}

/* A Kubernetes namespace: a DNS label, 1-63 of [a-z0-9-], no '-' at the ends. */
static int dns_label(const char *s, size_t n) {
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return 0;
  return 1;
}

/* The next item of a comma-separated list at *p, without the spaces around
 * it (`*n` bytes); *p moves past it and its comma. */
static const char *next_item(const char **p, size_t *n) {
  const char *s = *p;
  size_t len = strcspn(s, ",");

  *p += len + (s[len] == ',');
  while (len > 0 && *s == ' ') {
    s++;
    len--;
  }
  while (len > 0 && s[len - 1] == ' ')
    len--;
  *n = len;
  return s;
}

static int load_namespaces(lh_rules_t *r, const char *list, char *err, size_t size) {
  for (const char *p = list; *p;) {
    size_t n;
    const char *s = next_item(&p, &n);
    if (!dns_label(s, n))
      return fail(err, size, "LOGS_NAMESPACES", list,
                  "is not a comma-separated list of namespace names");
    if (r->namespace_count == MAX_NAMESPACES)
      return fail(err, size, "LOGS_NAMESPACES", list, "names more than 64 namespaces");
    r->namespace_len[r->namespace_count] = n;
    r->namespaces[r->namespace_count] = strndup(s, n);
    if (!r->namespaces[r->namespace_count++])
      return fail(err, size, "LOGS_NAMESPACES", list, "cannot be stored: out of memory");
  }
  return r->namespace_count ? 0 : fail(err, size, "LOGS_NAMESPACES", list, "names no namespace");
}

/* 404, 404,410, 5xx, 4xx,502 ... */
static int load_statuses(lh_rules_t *r, const char *list, char *err, size_t size) {
  int any = 0;

  for (const char *p = list; *p;) {
    char item[8] = {0};
    size_t n;
    const char *s = next_item(&p, &n);
    if (n != 3)
      return fail(err, size, "LOGS_STATUSES", list,
                  "is not a comma-separated list of statuses (404) and classes (5xx)");
    memcpy(item, s, 3);
    if (item[0] >= '1' && item[0] <= '5' &&
        (strcmp(item + 1, "xx") == 0 || strcmp(item + 1, "XX") == 0)) {
      memset(r->status + (item[0] - '0') * 100, 1, 100);
    } else if (item[0] >= '1' && item[0] <= '5' && item[1] >= '0' && item[1] <= '9' &&
               item[2] >= '0' && item[2] <= '9') {
      r->status[strtol(item, NULL, 10)] = 1;
    } else {
      return fail(err, size, "LOGS_STATUSES", list,
                  "is not a comma-separated list of statuses (404) and classes (5xx)");
    }
    any = 1;
  }
  return any ? 0 : fail(err, size, "LOGS_STATUSES", list, "names no status");
}

static int load_pod_regex(lh_rules_t *r, const char *regex, char *err, size_t size) {
  int code;
  PCRE2_SIZE offset;
  char why[256], message[320];

  /* the whole pod name must match: anchored at both ends */
  r->pod = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &code, &offset, NULL);
  if (!r->pod) {
    pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
    snprintf(message, sizeof message, "does not compile: %s at offset %zu", why, (size_t)offset);
    return fail(err, size, "LOGS_POD_REGEX", regex, message);
  }
  pcre2_jit_compile(r->pod, PCRE2_JIT_COMPLETE);
  r->pod_match = pcre2_match_data_create_from_pattern(r->pod, NULL);
  return r->pod_match ? 0 : fail(err, size, "LOGS_POD_REGEX", regex, "out of memory");
}

/* Text that goes into alert labels: UTF-8 without control characters. */
static int text(char **out, lh_getenv_fn get, const char *name, const char *fallback, char *err,
                size_t size) {
  const char *v = value_of(get, name, fallback);
  json_t *s = json_string(v);

  json_decref(s);
  for (const unsigned char *p = (const unsigned char *)v; s && *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      s = NULL;
  if (!s)
    return fail(err, size, name, v, "is not UTF-8 text without control characters");
  *out = strdup(v);
  return *out ? 0 : fail(err, size, name, v, "cannot be stored: out of memory");
}

/* A duration: whole seconds, or a number with s, m, h or d ("90", "30s",
 * "5m", "1h"), from `min` to `max` seconds. */
static int duration(double *out, lh_getenv_fn get, const char *name, const char *fallback,
                    double min, double max, char *err, size_t size) {
  const char *v = value_of(get, name, fallback);
  char *end;
  double n = strtod(v, &end);
  double unit = *end == '\0' || strcmp(end, "s") == 0 ? 1
                : strcmp(end, "m") == 0               ? 60
                : strcmp(end, "h") == 0               ? 3600
                : strcmp(end, "d") == 0               ? 86400
                                                      : 0;

  *out = n * unit;
  if (end == v || unit == 0 || !(*out >= min && *out <= max)) {
    char why[96];
    snprintf(why, sizeof why, "is not a duration from %gs to %gs (say 90, 30s, 5m, 1h or 1d)", min,
             max);
    return fail(err, size, name, v, why);
  }
  return 0;
}

/* A number from `min` to `max`. */
static int number(double *out, lh_getenv_fn get, const char *name, const char *fallback, double min,
                  double max, char *err, size_t size) {
  const char *v = value_of(get, name, fallback);
  char *end;

  *out = strtod(v, &end);
  if (end == v || *end || !(*out >= min && *out <= max)) {
    char why[64];
    snprintf(why, sizeof why, "is not a number from %g to %g", min, max);
    return fail(err, size, name, v, why);
  }
  return 0;
}

int lh_rules_load(lh_rules_t **out, lh_getenv_fn get, char *err, size_t size) {
  lh_rules_t *r = calloc(1, sizeof *r);
  const char *format = value_of(get, "LOGS_ALERT_FORMAT", "notification-manager");
  const char *lease = value_of(get, "LOGS_ALERT_LEASE_SECONDS", "");
  char *end;
  double keys;

  *out = NULL;
  if (!r) {
    snprintf(err, size, "out of memory");
    return -1;
  }
  if (load_namespaces(r, value_of(get, "LOGS_NAMESPACES", "demo-project"), err, size) != 0 ||
      load_pod_regex(r,
                     value_of(get, "LOGS_POD_REGEX", "wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}"),
                     err, size) != 0 ||
      load_statuses(r, value_of(get, "LOGS_STATUSES", "404"), err, size) != 0 ||
      text(&r->alert_name, get, "LOGS_ALERT_NAME", "404 Request", err, size) != 0 ||
      text(&r->severity, get, "LOGS_ALERT_SEVERITY", "warning", err, size) != 0 ||
      text(&r->receiver, get, "LOGS_ALERT_RECEIVER", "logs-handler", err, size) != 0 ||
      text(&r->output, get, "LOGS_OUTPUT", "notification-manager", err, size) != 0 ||
      duration(&r->flood.repeat_interval, get, "LOGS_REPEAT_INTERVAL", "1h", 1, 7 * 86400, err,
               size) != 0 ||
      duration(&r->flood.quiet_period, get, "LOGS_QUIET_PERIOD", "5m", 1, 86400, err, size) != 0 ||
      number(&keys, get, "LOGS_MAX_KEYS", "10000", 1, 1000000, err, size) != 0 ||
      number(&r->rate, get, "LOGS_NOTIFY_RATE", "1", 0.001, 1000, err, size) != 0 ||
      number(&r->burst, get, "LOGS_NOTIFY_BURST", "3", 1, 1000, err, size) != 0) {
    lh_rules_free(r);
    return -1;
  }
  if (strcmp(format, "notification-manager") == 0) {
    r->format = LH_FORMAT_NOTIFICATION_MANAGER;
  } else if (strcmp(format, "alertmanager") == 0) {
    r->format = LH_FORMAT_ALERTMANAGER;
  } else {
    lh_rules_free(r);
    return fail(err, size, "LOGS_ALERT_FORMAT", format,
                "is not \"notification-manager\" or \"alertmanager\"");
  }
  r->flood.max_keys = (size_t)keys;
  r->burst = (double)(long)r->burst;
  /* by default Alertmanager keeps an alert firing until the next
   * notification could come: an update, or the resolve after it */
  r->lease =
      *lease ? strtol(lease, &end, 10) : (long)(r->flood.repeat_interval + r->flood.quiet_period);
  if (*lease && (*end || r->lease < 1 || r->lease > 8 * 86400)) {
    lh_rules_free(r);
    return fail(err, size, "LOGS_ALERT_LEASE_SECONDS", lease,
                "is not a number of seconds from 1 to 691200");
  }
  if (r->lease <= r->flood.repeat_interval) {
    lh_rules_free(r);
    return fail(err, size, "LOGS_ALERT_LEASE_SECONDS", lease,
                "must be longer than LOGS_REPEAT_INTERVAL, or Alertmanager resolves an alert "
                "that still fires");
  }
  *out = r;
  return 0;
}

void lh_rules_free(lh_rules_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->namespace_count; i++)
    free(r->namespaces[i]);
  pcre2_match_data_free(r->pod_match);
  pcre2_code_free(r->pod);
  free(r->alert_name);
  free(r->severity);
  free(r->receiver);
  free(r->output);
  free(r);
}

/* \" 404 : a configured status where an access log has it, right after the
 * request's closing quote, which JSON text always escapes as \" (or as a
 * \u escape, which the caller looks for apart); the size follows after one
 * space. */
static int status_hint(const lh_rules_t *r, const char *s, size_t len) {
  const char *p = s, *end = s + len;

  /* the escaped quote that ends the request line, then " NNN " (a record
   * has fewer backslashes than spaces to stop at) */
  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 7) {
    if (p[1] == '"' && p[2] == ' ' && p[3] >= '1' && p[3] <= '5' && p[4] >= '0' && p[4] <= '9' &&
        p[5] >= '0' && p[5] <= '9' && p[6] == ' ' &&
        r->status[(p[3] - '0') * 100 + (p[4] - '0') * 10 + (p[5] - '0')])
      return 1;
    p += 2; /* past the escaped character, which may be a backslash */
  }
  return 0;
}

/* A \uXXXX escape (memchr is much faster than memmem for this). */
static int unicode_escape(const char *s, size_t len) {
  const char *p = s, *end = s + len;

  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && p + 1 < end) {
    if (p[1] == 'u')
      return 1;
    p += 2; /* past the escaped character, which may be a backslash */
  }
  return 0;
}

int lh_rules_may_match(const lh_rules_t *r, const char *record, size_t len) {
  if (status_hint(r, record, len))
    for (size_t i = 0; i < r->namespace_count; i++)
      if (memmem(record, len, r->namespaces[i], r->namespace_len[i]))
        return 1;
  /* an escape could spell a name or a status: parse it */
  return unicode_escape(record, len);
}

int lh_rules_namespace(const lh_rules_t *r, const char *ns) {
  for (size_t i = 0; i < r->namespace_count; i++)
    if (strcmp(r->namespaces[i], ns) == 0)
      return 1;
  return 0;
}

int lh_rules_pod(const lh_rules_t *r, const char *pod, size_t len) {
  return pcre2_match(r->pod, (PCRE2_SPTR)pod, len, 0, 0, r->pod_match, NULL) >= 0;
}

int lh_rules_status(const lh_rules_t *r, int status) {
  return status >= 0 && status < 600 && r->status[status];
}

const char *lh_rules_alert_name(const lh_rules_t *r) { return r->alert_name; }
const char *lh_rules_severity(const lh_rules_t *r) { return r->severity; }
const char *lh_rules_receiver(const lh_rules_t *r) { return r->receiver; }
const char *lh_rules_output(const lh_rules_t *r) { return r->output; }
lh_format_t lh_rules_format(const lh_rules_t *r) { return r->format; }
long lh_rules_lease_seconds(const lh_rules_t *r) { return r->lease; }
const lh_flood_config_t *lh_rules_flood(const lh_rules_t *r) { return &r->flood; }
double lh_rules_notify_rate(const lh_rules_t *r) { return r->rate; }
double lh_rules_notify_burst(const lh_rules_t *r) { return r->burst; }
