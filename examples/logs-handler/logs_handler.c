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
#include "notifier.h"
#include "record.h"
#include "rules.h"

static lh_rules_t *rules;
static lh_notifier_t *notifier;

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
  notifier = lh_notifier_new(rules);
  if (!notifier) {
    fprintf(stderr, "logs-handler: out of memory\n");
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
  size_t len;
  const char *data = ofctx_event_data(in, &len), *why;
  lh_record_t record;
  double wall;
  int rc;

  if (!lh_rules_may_match(rules, data, len))
    return OFCTX_SUCCESS; /* no watched namespace and status in it: nothing to do */
  wall = now();
  switch (lh_record_check(rules, data, len, wall, &record, &why)) {
  case LH_IGNORE:
    return OFCTX_SUCCESS;
  case LH_DROP:
    /* poison: acknowledge it (and count it) so that it never blocks a partition */
    ofctx_log(ctx, OFCTX_LOG_WARN, "dropped a record: %s", why);
    return OFCTX_DROP;
  case LH_NOMEM:
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
    return OFCTX_ERROR;
  case LH_MATCH:
    break;
  }
  /* acknowledged once the notification that carries it was accepted */
  rc = lh_notifier_match(notifier, ctx, &record.match, wall);
  lh_record_clear(&record);
  if (rc != OFCTX_SUCCESS)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
  return rc;
}

/* A bulk delivery in one call: each record as LogsHandler takes it, its
 * result its status. A firing notification's hold is then the batch's, so
 * its failure makes every record of the batch but the dropped RETRY: more
 * redeliveries than needed, never an acknowledgement too early. */
int LogsHandlerBatch(ofctx_t *ctx, ofctx_batch_t *batch) {
  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_status(batch, i, LogsHandler(ctx, ofctx_batch_event(batch, i)));
  return OFCTX_SUCCESS;
}

const unsigned LogsHandler_tick_ms = 100;

void LogsHandler_tick(ofctx_t *ctx, int stopping, void *arg) {
  (void)arg;
  lh_notifier_tick(notifier, ctx, stopping, now());
}

void LogsHandler_free(void) {
  lh_notifier_free(notifier);
  notifier = NULL;
  lh_rules_free(rules);
  rules = NULL;
}
