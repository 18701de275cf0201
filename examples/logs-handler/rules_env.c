/* The LOGS_* variables → the rules document of one rule, today's alert
 * (rules_doc.h). Each variable is checked with the message that names it,
 * then the tree goes through lh_rules_doc_normalize, so that the article's
 * rule written as a file and the variables give one document. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearest.h"
#include "rules_doc.h"
#include "rules_yaml.h"

#define MAX_NAMESPACES 64
#define STATUS_HINT "is not a comma-separated list of statuses (404) and classes (5xx)"

/* Every variable of the logs-handler: the file, the rule's, the settings'. */
static const char *const VARIABLES[] = {"LOGS_RULES_FILE",
                                        "LOGS_NAMESPACES",
                                        "LOGS_POD_REGEX",
                                        "LOGS_STATUSES",
                                        "LOGS_ALERT_NAME",
                                        "LOGS_ALERT_SEVERITY",
                                        "LOGS_OUTPUT",
                                        "LOGS_ALERT_FORMAT",
                                        "LOGS_REPEAT_INTERVAL",
                                        "LOGS_QUIET_PERIOD",
                                        "LOGS_ALERT_LEASE_SECONDS",
                                        "LOGS_MAX_KEYS",
                                        "LOGS_NOTIFY_RATE",
                                        "LOGS_NOTIFY_BURST",
                                        "LOGS_ALERT_RECEIVER",
                                        "LOGS_STATE_STORE",
                                        NULL};
#define FIRST_RULE_VARIABLE 1
#define FIRST_SETTING 11

/* One reading of the variables: where they come from, where errors go. */
typedef struct {
  lh_getenv_fn get;
  char *err;
  size_t size;
} env_t;

static const char *value_of(env_t *e, const char *name, const char *fallback) {
  const char *v = e->get(name);
  return v && *v ? v : fallback;
}

static int fail(env_t *e, const char *name, const char *value, const char *why) {
  snprintf(e->err, e->size, "%s: \"%.60s\" %s", name, value, why);
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

/* LOGS_NAMESPACES → select.namespace. */
static int namespaces(env_t *e, json_t *select) {
  const char *list = value_of(e, "LOGS_NAMESPACES", "demo-project");
  json_t *out = json_array();

  if (!out || json_object_set_new(select, "namespace", out) != 0)
    return fail(e, "LOGS_NAMESPACES", list, "cannot be stored: out of memory");
  for (const char *p = list; *p;) {
    size_t n;
    const char *s = next_item(&p, &n);
    if (!dns_label(s, n))
      return fail(e, "LOGS_NAMESPACES", list, "is not a comma-separated list of namespace names");
    if (json_array_size(out) == MAX_NAMESPACES)
      return fail(e, "LOGS_NAMESPACES", list, "names more than 64 namespaces");
    if (json_array_append_new(out, json_stringn(s, n)) != 0)
      return fail(e, "LOGS_NAMESPACES", list, "cannot be stored: out of memory");
  }
  return json_array_size(out) ? 0 : fail(e, "LOGS_NAMESPACES", list, "names no namespace");
}

/* One status (404) or class (5xx, 5XX) of LOGS_STATUSES, as `where` writes it. */
static int status_item(const char *s, size_t n, char out[4]) {
  if (n != 3 || s[0] < '1' || s[0] > '5')
    return -1;
  if ((s[1] == 'x' || s[1] == 'X') && s[2] == s[1]) {
    snprintf(out, 4, "%cxx", s[0]);
    return 0;
  }
  if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
    return -1;
  memcpy(out, s, 3);
  out[3] = '\0';
  return 0;
}

/* LOGS_STATUSES (404, 404,410, 5xx, 4xx,502 ...) → "status in [404, 5xx]". */
static int statuses(env_t *e, json_t *match) {
  const char *list = value_of(e, "LOGS_STATUSES", "404");
  char where[64 * 5 + 16] = "status in [";
  size_t count = 0;

  for (const char *p = list; *p;) {
    char item[4];
    size_t n;
    const char *s = next_item(&p, &n);
    if (status_item(s, n, item) != 0)
      return fail(e, "LOGS_STATUSES", list, STATUS_HINT);
    if (strlen(where) + 8 >= sizeof where)
      return fail(e, "LOGS_STATUSES", list, "names more than 64 statuses");
    snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s", count ? ", " : "", item);
    count++;
  }
  if (!count)
    return fail(e, "LOGS_STATUSES", list, "names no status");
  snprintf(where + strlen(where), sizeof where - strlen(where), "]");
  if (json_object_set_new(match, "where", json_pack("[s]", where)) != 0)
    return fail(e, "LOGS_STATUSES", list, "cannot be stored: out of memory");
  return 0;
}

/* LOGS_POD_REGEX → select.pod ["=~RE"], the regex compiled once here so
 * that its error names the variable (the whole pod name must match). */
static int pod_regex(env_t *e, json_t *select) {
  const char *regex = value_of(e, "LOGS_POD_REGEX", "wordpress-v1-[A-Za-z0-9]{9}-[A-Za-z0-9]{5}");
  int code;
  PCRE2_SIZE offset;
  pcre2_code *re =
      pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &code, &offset, NULL);
  char why[256], message[320], *matcher;
  size_t n = strlen(regex) + 3;

  if (!re) {
    pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
    snprintf(message, sizeof message, "does not compile: %s at offset %zu", why, (size_t)offset);
    return fail(e, "LOGS_POD_REGEX", regex, message);
  }
  pcre2_code_free(re);
  matcher = malloc(n);
  if (matcher)
    snprintf(matcher, n, "=~%s", regex);
  if (!matcher || json_object_set_new(select, "pod", json_pack("[s]", matcher)) != 0) {
    free(matcher);
    return fail(e, "LOGS_POD_REGEX", regex, "cannot be stored: out of memory");
  }
  free(matcher);
  return 0;
}

/* Text that goes into alert labels: UTF-8 without control characters. */
static int text(env_t *e, json_t *obj, const char *key, const char *name, const char *fallback) {
  const char *v = value_of(e, name, fallback);
  json_t *s = json_string(v);

  for (const unsigned char *p = (const unsigned char *)v; s && *p; p++)
    if (*p < 0x20 || *p == 0x7f) {
      json_decref(s);
      s = NULL;
    }
  if (!s)
    return fail(e, name, v, "is not UTF-8 text without control characters");
  if (json_object_set_new(obj, key, s) != 0)
    return fail(e, name, v, "cannot be stored: out of memory");
  return 0;
}

/* A duration from `min` to `max` seconds ("90", "30s", "5m", "1h", "1d"). */
static int duration(env_t *e, json_t *obj, const char *key, const char *name, const char *fallback,
                    double min, double max) {
  const char *v = value_of(e, name, fallback);
  double s;

  if (lh_duration_parse(v, &s) != 0 || !(s >= min && s <= max)) {
    char why[96];
    snprintf(why, sizeof why, "is not a duration from %gs to %gs (say 90, 30s, 5m, 1h or 1d)", min,
             max);
    return fail(e, name, v, why);
  }
  if (json_object_set_new(obj, key, json_real(s)) != 0)
    return fail(e, name, v, "cannot be stored: out of memory");
  return 0;
}

/* A number from `min` to `max`; `whole`: its integer part, as an integer. */
static int number(env_t *e, json_t *obj, const char *key, const char *name, const char *fallback,
                  double min, double max, int whole) {
  const char *v = value_of(e, name, fallback);
  char *end;
  double n = strtod(v, &end);

  if (end == v || *end || !(n >= min && n <= max)) {
    char why[64];
    snprintf(why, sizeof why, "is not a number from %g to %g", min, max);
    return fail(e, name, v, why);
  }
  if (json_object_set_new(obj, key, whole ? json_integer((json_int_t)n) : json_real(n)) != 0)
    return fail(e, name, v, "cannot be stored: out of memory");
  return 0;
}

static int format(env_t *e, json_t *rule) {
  const char *v = value_of(e, "LOGS_ALERT_FORMAT", "notification-manager");

  if (strcmp(v, "notification-manager") != 0 && strcmp(v, "alertmanager") != 0)
    return fail(e, "LOGS_ALERT_FORMAT", v, "is not \"notification-manager\" or \"alertmanager\"");
  return json_object_set_new(rule, "format", json_string(v)) == 0
             ? 0
             : fail(e, "LOGS_ALERT_FORMAT", v, "cannot be stored: out of memory");
}

/* LOGS_ALERT_LEASE_SECONDS: by default repeat interval + quiet period (an
 * alert stays firing until the next notification could come). */
static int lease(env_t *e, json_t *rule) {
  const char *v = value_of(e, "LOGS_ALERT_LEASE_SECONDS", "");
  double repeat = json_real_value(json_object_get(rule, "repeat_interval"));
  double lease = repeat + json_real_value(json_object_get(rule, "resolve_after"));
  char *end;

  if (*v) {
    lease = (double)strtol(v, &end, 10);
    if (*end || lease < 1 || lease > 8 * 86400)
      return fail(e, "LOGS_ALERT_LEASE_SECONDS", v, "is not a number of seconds from 1 to 691200");
  }
  if (lease <= repeat)
    return fail(e, "LOGS_ALERT_LEASE_SECONDS", v,
                "must be longer than LOGS_REPEAT_INTERVAL, or Alertmanager resolves an alert "
                "that still fires");
  return json_object_set_new(rule, "lease", json_real((double)(long)lease)) == 0
             ? 0
             : fail(e, "LOGS_ALERT_LEASE_SECONDS", v, "cannot be stored: out of memory");
}

/* The settings variables into `settings`: all of them (`all`), or only
 * those set. */
static int settings(env_t *e, json_t *settings, int all) {
  if ((all || *value_of(e, "LOGS_MAX_KEYS", "")) &&
      number(e, settings, "max_keys", "LOGS_MAX_KEYS", "10000", 1, 1000000, 1) != 0)
    return -1;
  if ((all || *value_of(e, "LOGS_NOTIFY_RATE", "")) &&
      number(e, settings, "notify_rate", "LOGS_NOTIFY_RATE", "1", 0.001, 1000, 0) != 0)
    return -1;
  if ((all || *value_of(e, "LOGS_NOTIFY_BURST", "")) &&
      number(e, settings, "notify_burst", "LOGS_NOTIFY_BURST", "3", 1, 1000, 1) != 0)
    return -1;
  if ((all || *value_of(e, "LOGS_ALERT_RECEIVER", "")) &&
      text(e, settings, "receiver", "LOGS_ALERT_RECEIVER", "logs-handler") != 0)
    return -1;
  if (*value_of(e, "LOGS_STATE_STORE", "") &&
      text(e, settings, "state_store", "LOGS_STATE_STORE", "") != 0)
    return -1;
  return 0;
}

/* The rule's select and match: namespaces, pods, statuses. */
static int rule_select(env_t *e, json_t *rule) {
  json_t *select = json_object(), *match = json_pack("{ss}", "parse", "access_log");

  if (json_object_set_new(rule, "select", select) != 0 ||
      json_object_set_new(rule, "match", match) != 0 || !select || !match) {
    snprintf(e->err, e->size, "out of memory");
    return -1;
  }
  if (namespaces(e, select) != 0 || pod_regex(e, select) != 0 || statuses(e, match) != 0)
    return -1;
  return 0;
}

/* Today's rule, from the variables, as the rules file writes it. */
static int rule_of(env_t *e, json_t *rule, lh_has_output_fn has_output, void *arg) {
  json_t *labels = json_object();
  const char *output;

  if (json_object_set_new(rule, "name", json_string("logs-404")) != 0 ||
      json_object_set_new(rule, "labels", labels) != 0 || !labels) {
    snprintf(e->err, e->size, "out of memory");
    return -1;
  }
  if (rule_select(e, rule) != 0 || text(e, labels, "alertname", "LOGS_ALERT_NAME", "404 Request") ||
      text(e, rule, "severity", "LOGS_ALERT_SEVERITY", "warning") != 0 ||
      text(e, rule, "output", "LOGS_OUTPUT", "notification-manager") != 0 ||
      duration(e, rule, "repeat_interval", "LOGS_REPEAT_INTERVAL", "1h", 1, 7 * 86400) != 0 ||
      duration(e, rule, "resolve_after", "LOGS_QUIET_PERIOD", "5m", 1, 86400) != 0 ||
      format(e, rule) != 0 || lease(e, rule) != 0)
    return -1;
  output = json_string_value(json_object_get(rule, "output"));
  if (has_output && !has_output(arg, output)) {
    snprintf(e->err, e->size,
             "the function context has no output \"%.60s\" (LOGS_OUTPUT) to send alerts to",
             output);
    return -1;
  }
  if (json_object_set_new(rule, "group_by",
                          json_pack("[ssss]", "namespace", "pod", "container", "status")) != 0) {
    snprintf(e->err, e->size, "out of memory");
    return -1;
  }
  return 0;
}

/* One warning through `warn`. */
static void say(lh_warn_fn warn, void *arg, const char *message) {
  if (warn)
    warn(arg, message);
}

/* A warning for each LOGS_* name of `names` that is no variable. */
static void warn_unknown(char *const *names, lh_warn_fn warn, void *arg) {
  for (; names && *names; names++) {
    char name[128], text[320];
    size_t n = strcspn(*names, "=");
    const char *near;
    int known = 0;
    if (strncmp(*names, "LOGS_", 5) != 0)
      continue;
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), *names);
    for (const char *const *v = VARIABLES; *v; v++)
      known |= strcmp(*v, name) == 0;
    if (known)
      continue;
    near = lh_nearest(name, VARIABLES);
    if (near)
      snprintf(text, sizeof text, "%s is not a logs-handler variable; did you mean %s?", name,
               near);
    else
      snprintf(text, sizeof text,
               "%s is not a logs-handler variable (they are listed in docs/logs-handler.md)", name);
    say(warn, arg, text);
  }
}

int lh_rules_doc_from_env(json_t **out, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                          void *warn_arg, lh_has_output_fn has_output, void *arg, char *err,
                          size_t size) {
  env_t e = {get, err, size};
  json_t *tree = json_pack("{s{}s[{}]}", "settings", "rules"), *rule;
  int rc = -1;

  *out = NULL;
  err[0] = '\0';
  warn_unknown(names, warn, warn_arg);
  rule = json_array_get(json_object_get(tree, "rules"), 0);
  if (!tree)
    snprintf(err, size, "out of memory");
  else if (settings(&e, json_object_get(tree, "settings"), 1) == 0 &&
           rule_of(&e, rule, has_output, arg) == 0)
    rc = lh_rules_doc_normalize(out, tree, NULL, NULL, err, size);
  json_decref(tree);
  return rc;
}

/* One warning naming the rule variables set beside a rules file. */
static void warn_ignored(env_t *e, lh_warn_fn warn, void *arg) {
  char text[512] = "";

  for (size_t i = FIRST_RULE_VARIABLE; i < FIRST_SETTING; i++)
    if (*value_of(e, VARIABLES[i], ""))
      snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", *text ? ", " : "",
               VARIABLES[i]);
  if (*text) {
    snprintf(text + strlen(text), sizeof text - strlen(text),
             " ignored: LOGS_RULES_FILE is set, and the rules file says what they would");
    say(warn, arg, text);
  }
}

int lh_rules_doc_env_settings(json_t *doc, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                              void *warn_arg, char *err, size_t size) {
  env_t e = {get, err, size};
  json_t *s = json_object_get(doc, "settings"), *burst;

  err[0] = '\0';
  warn_unknown(names, warn, warn_arg);
  warn_ignored(&e, warn, warn_arg);
  if (!json_is_object(s)) {
    snprintf(err, size, "the rules document has no settings");
    return -1;
  }
  if (settings(&e, s, 0) != 0)
    return -1;
  burst = json_object_get(s, "notify_burst");
  if (json_is_integer(burst) &&
      json_object_set_new(s, "notify_burst", json_real((double)json_integer_value(burst))) != 0) {
    snprintf(err, size, "out of memory");
    return -1;
  }
  return 0;
}

int lh_rules_doc_read(json_t **out, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                      void *warn_arg, lh_has_output_fn has_output, void *arg, char *err,
                      size_t size) {
  const char *path = get("LOGS_RULES_FILE");
  char why[1024];
  json_t *file;
  int rc;

  *out = NULL;
  if (!path || !*path)
    return lh_rules_doc_from_env(out, get, names, warn, warn_arg, has_output, arg, err, size);
  if (lh_yaml_load(&file, path, err, size) != 0)
    return -1; /* "FILE:LINE:COL: message" already */
  rc = lh_rules_doc_normalize(out, file, has_output, arg, why, sizeof why);
  json_decref(file);
  if (rc != 0) {
    snprintf(err, size, "%s: %s", path, why);
    return -1;
  }
  if (lh_rules_doc_env_settings(*out, get, names, warn, warn_arg, err, size) != 0) {
    json_decref(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}
