/* logs-handler: the Kubernetes 404 log alerter. Each event is one Fluent
 * Bit record from Kafka; a record whose namespace and pod are watched and
 * whose access-log line has a watched status becomes one alert, sent to the
 * output "notification-manager" (a Dapr bindings.http output, operation
 * post). Configuration: LOGS_* variables, see docs/logs-handler.md.
 *
 * The function is LogsHandler (LogsHandler_batch for a bulk delivery),
 * LogsHandler_init makes its state (the rules and the notifier) once the
 * context is known, LogsHandler_tick sends what time makes due and
 * LogsHandler_fini frees the state: the names the libofctx buildpack looks
 * for (FUNC_NAME=LogsHandler, docs/building.md). No globals: the state is
 * the function's user data (ofctx_user_data). main.c is the buildpack's
 * generated main, for a build of this repository:
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

/* The function's state, its user data: owned by it, made by
 * LogsHandler_init, freed by LogsHandler_fini. */
typedef struct {
  lh_rules_t *rules;
  lh_notifier_t *notifier;
} lh_state_t;

/* The notifier of the rules: their one condition, rate and bound, and
 * alert.c's notifications through record.c's format. */
static lh_notifier_t *notifier_of(lh_rules_t *rules) {
  lh_cond_t cond = lh_record_cond(rules);
  lh_notifier_config_t cfg = {.max_keys = lh_rules_flood(rules)->max_keys,
                              .rate = lh_rules_notify_rate(rules),
                              .burst = lh_rules_notify_burst(rules),
                              .conds = &cond,
                              .rule_count = 1,
                              .format = lh_record_alert,
                              .arg = rules};
  return lh_notifier_new(&cfg);
}

static const char *env(const char *name) { return getenv(name); }

void LogsHandler_fini(void *user_data) {
  lh_state_t *s = user_data;

  if (!s)
    return;
  lh_notifier_free(s->notifier);
  lh_rules_free(s->rules);
  free(s);
}

/* The rules, and that the output they name is in the context. */
int LogsHandler_init(const ofctx_config_t *cfg, void **user_data) {
  char err[512];
  const ofctx_component_t *out;
  lh_state_t *s = calloc(1, sizeof *s);

  if (!s) {
    fprintf(stderr, "logs-handler: out of memory\n");
    return -1;
  }
  if (lh_rules_load(&s->rules, env, err, sizeof err) != 0) {
    fprintf(stderr, "logs-handler: %s\n", err);
    LogsHandler_fini(s);
    return -1;
  }
  out = ofctx_config_output(cfg, lh_rules_output(s->rules));
  if (!out) {
    fprintf(stderr,
            "logs-handler: the function context has no output \"%s\" (LOGS_OUTPUT) "
            "to send alerts to\n",
            lh_rules_output(s->rules));
    LogsHandler_fini(s);
    return -1;
  }
  s->notifier = notifier_of(s->rules);
  if (!s->notifier) {
    fprintf(stderr, "logs-handler: out of memory\n");
    LogsHandler_fini(s);
    return -1;
  }
  if (ofctx_component_kind(out) != OFCTX_COMPONENT_BINDING)
    fprintf(stderr,
            "logs-handler: output \"%s\" is %s, not an HTTP binding; alerts go there "
            "anyway\n",
            lh_rules_output(s->rules), ofctx_component_type(out));
  *user_data = s;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One record, with the function's state. */
static ofctx_result_t handle(lh_state_t *s, ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len), *why;
  lh_record_t record;
  double wall;
  ofctx_result_t rc;

  if (!lh_rules_may_match(s->rules, data, len))
    return OFCTX_SUCCESS; /* no watched namespace and status in it: nothing to do */
  wall = now();
  switch (lh_record_check(s->rules, data, len, wall, &record, &why)) {
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
  rc = lh_notifier_hit(s->notifier, ctx, &record.hit, wall);
  lh_record_clear(&record);
  if (rc != OFCTX_SUCCESS)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
  return rc;
}

ofctx_result_t LogsHandler(ofctx_t *ctx, const ofctx_event_t *in) {
  return handle(ofctx_user_data(ctx), ctx, in);
}

/* A bulk delivery in one call: each record as LogsHandler takes it, its
 * result its status. A firing notification's hold is then the batch's, so
 * its failure makes every record of the batch but the dropped RETRY: more
 * redeliveries than needed, never an acknowledgement too early. */
ofctx_result_t LogsHandler_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  lh_state_t *s = ofctx_user_data(ctx);

  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_set_status(batch, i, handle(s, ctx, ofctx_batch_event(batch, i)));
  return OFCTX_SUCCESS;
}

const unsigned LogsHandler_tick_ms = 100;

void LogsHandler_tick(ofctx_t *ctx, int stopping, void *user_data) {
  lh_state_t *s = user_data;
  lh_notifier_tick(s->notifier, ctx, stopping, now());
}
