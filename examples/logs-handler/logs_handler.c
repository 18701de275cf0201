/* logs-handler: the Kubernetes 404 log alerter. Each event is one Fluent
 * Bit record from Kafka; a record whose namespace and pod are watched and
 * whose access-log line has a watched status becomes one alert, sent to the
 * output "notification-manager" (a Dapr bindings.http output, operation
 * post). Configuration: LOGS_* variables, see docs/logs-handler.md.
 *
 * Build: cc -o logs-handler *.c $(pkg-config --cflags --libs libofctx jansson libpcre2-8) -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <ofctx/ofctx.h>

#include "access_log.h"
#include "alert.h"
#include "rules.h"

static lh_rules_t *rules;

static const char *env(const char *name) { return getenv(name); }

/* The rules, and that the output they name is in the context. */
static int init(const ofctx_config_t *cfg, void *arg) {
  char err[512];
  const ofctx_component_t *out;

  (void)arg;
  if (lh_rules_load(&rules, env, err, sizeof err) != 0) {
    fprintf(stderr, "logs-handler: %s\n", err);
    return -1;
  }
  out = ofctx_config_output(cfg, lh_rules_output(rules));
  if (!out) {
    fprintf(stderr, "logs-handler: the function context has no output \"%s\" (LOGS_OUTPUT) "
                    "to send alerts to\n", lh_rules_output(rules));
    return -1;
  }
  if (ofctx_component_kind(out) != OFCTX_COMPONENT_BINDING)
    fprintf(stderr, "logs-handler: output \"%s\" is %s, not an HTTP binding; alerts go there "
                    "anyway\n", lh_rules_output(rules), ofctx_component_type(out));
  return 0;
}

static const char *member(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int plausible(double t) { return t > 0 && t < LH_TIME_MAX; }

/* The record's own time: "time" (RFC 3339), else "@timestamp" (seconds),
 * else the access log's, else now. */
static double record_time(json_t *record, const lh_access_t *line) {
  json_t *ts = json_object_get(record, "@timestamp");
  const char *time_text = member(record, "time");
  double t;

  if (time_text && lh_parse_rfc3339(time_text, &t) == 0 && plausible(t))
    return t;
  if (json_is_number(ts) && plausible(json_number_value(ts)))
    return json_number_value(ts);
  if (ts && json_is_string(ts) && lh_parse_rfc3339(json_string_value(ts), &t) == 0 &&
      plausible(t))
    return t;
  if (lh_parse_clf_time(line->time.p, line->time.len, &t) == 0 && plausible(t))
    return t;
  return now();
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

/* Sends the alert; OFCTX_ERROR when it cannot (Dapr then redelivers). */
static int alert(ofctx_t *ctx, json_t *record, const char *ns, const char *pod,
                 const lh_access_t *line) {
  json_t *k8s = json_object_get(record, "kubernetes");
  char *method = copy(line->method), *path = copy(line->path), *client = copy(line->client);
  lh_event_t ev = {ns, pod, member(k8s, "container_name"), method, path, client, line->status,
                   record_time(record, line), now()};
  size_t len = 0;
  char *body = method && path && client ? lh_alert_json(rules, &ev, &len) : NULL;
  ofctx_err_t rc = body ? ofctx_send_to(ctx, lh_rules_output(rules), body, len) : OFCTX_ENOMEM;

  if (rc != OFCTX_OK)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "cannot send the alert for %s/%s: %s", ns, pod,
              ofctx_strerror(rc));
  free(body);
  free(method);
  free(path);
  free(client);
  return rc == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
}

static int handle(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  json_error_t jerr;
  json_t *record, *k8s;
  const char *ns, *pod, *text;
  lh_access_t line;
  int rc = OFCTX_SUCCESS;

  if (!lh_rules_may_match(rules, data, len))
    return OFCTX_SUCCESS; /* no watched namespace and status in it: nothing to do */
  record = json_loadb(data, len, 0, &jerr);
  if (!json_is_object(record)) {
    /* poison: acknowledge it (and count it) so that it never blocks a partition */
    ofctx_log(ctx, OFCTX_LOG_WARN, "dropped a record that is not a JSON object: %s", jerr.text);
    json_decref(record);
    return OFCTX_DROP;
  }
  k8s = json_object_get(record, "kubernetes");
  ns = member(k8s, "namespace_name");
  pod = member(k8s, "pod_name");
  text = member(record, "log");
  if (!text)
    text = member(record, "message");
  if (!text)
    text = member(record, "msg");
  if (!ns || !pod || !text) {
    ofctx_log(ctx, OFCTX_LOG_WARN, "dropped a record that is not a Kubernetes log record "
                                   "(kubernetes.namespace_name, kubernetes.pod_name, log)");
    rc = OFCTX_DROP;
  } else if (lh_rules_namespace(rules, ns) &&
             lh_rules_pod(rules, pod, json_string_length(json_object_get(k8s, "pod_name"))) &&
             lh_access_parse(text, strlen(text), &line) && lh_rules_status(rules, line.status)) {
    rc = alert(ctx, record, ns, pod, &line);
  }
  json_decref(record);
  return rc;
}

int main(int argc, char **argv) {
  ofctx_main_opts_t opts = {.function = handle, .init = init};
  int status = ofctx_main_opts(argc, argv, &opts);

  lh_rules_free(rules);
  return status;
}
