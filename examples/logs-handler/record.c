/* A record → its verdict, and the alert when it matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access_log.h"
#include "alert.h"
#include "alert_compat.h"
#include "record.h"

static const char *member(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static int plausible(double t) { return t > 0 && t < LH_TIME_MAX; }

/* The record's own time: "time" (RFC 3339), else "@timestamp" (seconds),
 * else the access log's, else now. */
static double record_time(json_t *record, const lh_access_t *line, double now) {
  json_t *ts = json_object_get(record, "@timestamp");
  const char *time_text = member(record, "time");
  double t;

  if (time_text && lh_parse_rfc3339(time_text, &t) == 0 && plausible(t))
    return t;
  if (json_is_number(ts) && plausible(json_number_value(ts)))
    return json_number_value(ts);
  if (ts && json_is_string(ts) && lh_parse_rfc3339(json_string_value(ts), &t) == 0 && plausible(t))
    return t;
  if (lh_parse_clf_time(line->time.p, line->time.len, &t) == 0 && plausible(t))
    return t;
  return now;
}

static char *copy(lh_span_t s) {
  char *c = malloc(s.len + 1);
  if (c) {
    if (s.len) /* an empty span may have no pointer */
      memcpy(c, s.p, s.len);
    c[s.len] = '\0';
  }
  return c;
}

static lh_verdict_t build(json_t *record, const char *ns, const char *pod, const lh_access_t *line,
                          double now, lh_record_t *out) {
  json_t *k8s = json_object_get(record, "kubernetes");
  const char *container = member(k8s, "container_name");

  *out = (lh_record_t){.json = record,
                       .method = copy(line->method),
                       .path = copy(line->path),
                       .client = copy(line->client)};
  if (!out->method || !out->path || !out->client) {
    lh_record_clear(out);
    return LH_NOMEM;
  }
  snprintf(out->status, sizeof out->status, "%d", line->status);
  out->key[0] = ns;
  out->key[1] = pod;
  out->key[2] = container ? container : "";
  out->key[3] = out->status;
  out->fields[0] = (lh_field_t){"path", out->path};
  out->fields[1] = (lh_field_t){"method", out->method};
  out->fields[2] = (lh_field_t){"client", out->client};
  out->hit = (lh_hit_t){.rule = 0,
                        .key = out->key,
                        .key_count = 4,
                        .matched = 1,
                        .sample = out->path,
                        .fields = out->fields,
                        .field_count = 3,
                        .time = record_time(record, line, now)};
  return LH_MATCH;
}

void lh_record_clear(lh_record_t *r) {
  json_decref(r->json);
  free(r->method);
  free(r->path);
  free(r->client);
  memset(r, 0, sizeof *r);
}

lh_verdict_t lh_record_check(const lh_rules_t *rules, const char *data, size_t len, double now,
                             lh_record_t *out, const char **why) {
  json_error_t jerr;
  json_t *record = json_loadb(data, len, 0, &jerr), *k8s, *pod_name;
  const char *ns, *pod, *text;
  lh_access_t line;
  lh_verdict_t verdict = LH_IGNORE;

  *why = NULL;
  if (!json_is_object(record)) {
    enum json_error_code code = record ? json_error_unknown : json_error_code(&jerr);
    if (code == json_error_out_of_memory)
      return LH_NOMEM;
    json_decref(record);
    /* valid JSON jansson cannot hold is said as such, not called "not JSON" */
    *why = record ? "JSON, but not an object"
           : code == json_error_numeric_overflow || code == json_error_stack_overflow ||
                   code == json_error_null_character || strstr(jerr.text, "invalid Unicode")
               ? "JSON that jansson cannot hold (a number too large, nesting past 2048, "
                 "\\u0000 or a lone surrogate)"
               : "not JSON";
    return LH_DROP;
  }
  k8s = json_object_get(record, "kubernetes");
  ns = member(k8s, "namespace_name");
  pod_name = json_object_get(k8s, "pod_name");
  pod = json_string_value(pod_name);
  text = member(record, "log");
  if (!text)
    text = member(record, "message");
  if (!text)
    text = member(record, "msg");
  if (!ns || !pod || !text) {
    *why = "not a Kubernetes log record (kubernetes.namespace_name, kubernetes.pod_name, log)";
    verdict = LH_DROP;
  } else if (lh_rules_namespace(rules, ns) &&
             lh_rules_pod(rules, pod, json_string_length(pod_name)) &&
             lh_access_parse(text, strlen(text), &line) && lh_rules_status(rules, line.status)) {
    return build(record, ns, pod, &line, now, out); /* `out` holds the record now */
  }
  json_decref(record);
  return verdict;
}

lh_cond_t lh_record_cond(const lh_rules_t *rules) {
  const lh_flood_config_t *cfg = lh_rules_flood(rules);

  return (lh_cond_t){.kind = LH_COND_ANY,
                     .repeat_interval = cfg->repeat_interval,
                     .resolve_after = cfg->quiet_period,
                     .samples = 3}; /* the env rule keeps three paths, as ever */
}

char *lh_record_alert(void *rules, const lh_note_t *note, double wall, size_t *len,
                      const char **output) {
  *output = lh_rules_output(rules);
  return lh_alert_json_rules(rules, note, wall, len);
}
