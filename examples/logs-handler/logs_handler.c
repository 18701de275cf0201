/* logs-handler: the Kubernetes 404 log alerter. Each event is one Fluent
 * Bit record from Kafka; a record whose namespace and pod are watched and
 * whose access-log line has a watched status becomes one alert, sent to the
 * output "notification-manager" (a Dapr bindings.http output, operation
 * post). Configuration: LOGS_* variables, see docs/logs-handler.md.
 *
 * The function is LogsHandler, and LogsHandler_init reads the rules once
 * the context is known: the names the libofctx buildpack looks for
 * (FUNC_NAME=LogsHandler, docs/building.md). main.c runs them for a build
 * of this repository:
 *   cc -o logs-handler *.c $(pkg-config --cflags --libs libofctx jansson libpcre2-8) -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ofctx/ofctx.h>

#include "logs_handler.h"
#include "record.h"
#include "rules.h"

static lh_rules_t *rules;

static const char *env(const char *name) { return getenv(name); }

/* The rules, and that the output they name is in the context. */
int LogsHandler_init(const ofctx_config_t *cfg, void *arg) {
  char err[512];
  const ofctx_component_t *out;

  (void)arg;
  if (lh_rules_load(&rules, env, err, sizeof err) != 0) {
    fprintf(stderr, "logs-handler: %s\n", err);
    return -1;
  }
  out = ofctx_config_output(cfg, lh_rules_output(rules));
  if (!out) {
    fprintf(stderr,
            "logs-handler: the function context has no output \"%s\" (LOGS_OUTPUT) "
            "to send alerts to\n",
            lh_rules_output(rules));
    return -1;
  }
  if (ofctx_component_kind(out) != OFCTX_COMPONENT_BINDING)
    fprintf(stderr,
            "logs-handler: output \"%s\" is %s, not an HTTP binding; alerts go there "
            "anyway\n",
            lh_rules_output(rules), ofctx_component_type(out));
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LogsHandler(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len, alert_len = 0;
  const char *data = ofctx_event_data(in, &len), *why;
  char *alert;
  ofctx_err_t rc;

  if (!lh_rules_may_match(rules, data, len))
    return OFCTX_SUCCESS; /* no watched namespace and status in it: nothing to do */
  switch (lh_record_check(rules, data, len, now(), &alert, &alert_len, &why)) {
  case LH_IGNORE:
    return OFCTX_SUCCESS;
  case LH_DROP:
    /* poison: acknowledge it (and count it) so that it never blocks a partition */
    ofctx_log(ctx, OFCTX_LOG_WARN, "dropped a record: %s", why);
    return OFCTX_DROP;
  case LH_NOMEM:
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
    return OFCTX_ERROR;
  case LH_ALERT:
    break;
  }
  /* the alert is JSON: the library need not parse it again to know */
  rc = ofctx_send_to_opts(
      ctx, lh_rules_output(rules), alert, alert_len,
      &(ofctx_send_opts_t){.size = sizeof(ofctx_send_opts_t), .content_type = "application/json"});
  if (rc != OFCTX_OK) /* not acknowledged: Dapr delivers the record again */
    ofctx_log(ctx, OFCTX_LOG_ERROR, "cannot send the alert: %s", ofctx_strerror(rc));
  free(alert);
  return rc == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
}

void LogsHandler_free(void) {
  lh_rules_free(rules);
  rules = NULL;
}
