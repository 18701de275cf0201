/* logs-handler: the Kubernetes log alerter. Each event is one Fluent Bit
 * record from Kafka; the rules (a rules file, LOGS_RULES_FILE, or the
 * LOGS_* variables' one rule: docs/logs-handler.md) say which records
 * count, how they are grouped and when a group alerts; the alerts go to the
 * outputs the rules name (Dapr bindings.http outputs, operation post).
 *
 * The function is LogsHandler (LogsHandler_batch for a bulk delivery),
 * LogsHandler_init makes its state (the rules and the notifier) once the
 * context is known, LogsHandler_tick sends what time makes due and
 * LogsHandler_fini frees the state: the names the libofctx buildpack looks
 * for (FUNC_NAME=LogsHandler, docs/building.md). No globals: the state is
 * the function's user data (ofctx_user_data). main.c is the buildpack's
 * generated main, for a build of this repository:
 *   cc -o logs-handler *.c $(pkg-config --cflags --libs libofctx jansson libpcre2-8 yaml-0.1) -lm
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ofctx/ofctx.h>

#include "check_rules.h"
#include "incidents_store.h"
#include "logs_handler.h"
#include "notifier.h"
#include "rules_doc.h"
#include "rules_load.h"

extern char **environ;

/* The rules file as last read: a change of any of these is a new file. */
typedef struct {
  int known;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} lh_file_id_t;

/* An invocation that waits for the open incidents: an event's, or a
 * batch's. */
typedef struct {
  ofctx_t *ctx;
  ofctx_batch_t *batch; /* NULL: an event's */
} lh_waiting_t;

/* The function's state, its user data: owned by it, made by
 * LogsHandler_init, freed by LogsHandler_fini. */
typedef struct {
  lh_ruleset_t *rules;
  lh_notifier_t *notifier;
  lh_store_t *store;     /* the open incidents' state store, or NULL (opt-in) */
  lh_waiting_t *waiting; /* invocations held until the incidents are loaded */
  size_t waiting_count, waiting_cap;
  int waiting_said;    /* since the last load */
  lh_view_t *view;     /* reused from record to record */
  const char *path;    /* LOGS_RULES_FILE, or NULL: reloaded when it changes */
  lh_file_id_t file;   /* path's, when the rules were last read */
  uint64_t reloads[2]; /* of the rules file: taken over, and refused */
  lh_newest_t skipped; /* the records not parsed since the clock last moved */
} lh_state_t;

static void incidents_loaded(void *arg, ofctx_t *turn, int ok);

static const char *env(const char *name) { return getenv(name); }

static int has_output(void *cfg, const char *name) {
  return ofctx_config_output(cfg, name) != NULL;
}

static void warn(void *arg, const char *message) {
  (void)arg;
  fprintf(stderr, "logs-handler: %s\n", message);
}

/* A note as its rule's alert, to its rule's output. */
static char *format(void *arg, const lh_note_t *note, double wall, size_t *len,
                    lh_note_dest_t *dest) {
  lh_state_t *s = arg;

  if (note->rule >= lh_ruleset_count(s->rules))
    return NULL;
  dest->output = lh_ruleset_output(s->rules, note->rule);
  dest->rule = lh_ruleset_name(s->rules, note->rule);
  return lh_alert_json(lh_ruleset_notify(s->rules, note->rule), note, wall, len);
}

/* The notifier of the rules: their conditions, rate and bound. */
static lh_notifier_t *notifier_of(lh_state_t *s) {
  lh_notifier_config_t cfg = {.max_keys = lh_ruleset_max_keys(s->rules),
                              .rate = lh_ruleset_notify_rate(s->rules),
                              .burst = lh_ruleset_notify_burst(s->rules),
                              .conds = lh_ruleset_conds(s->rules),
                              .rule_count = lh_ruleset_count(s->rules),
                              .format = format,
                              .arg = s,
                              .persist = s->store ? lh_store_persist : NULL,
                              .persist_arg = s->store};
  return lh_notifier_new(&cfg);
}

/* The identity of the file at `path` (through symlinks): 0, or errno
 * (and `id` unknown). */
static int file_id(const char *path, lh_file_id_t *id) {
  struct stat st;

  memset(id, 0, sizeof *id);
  if (stat(path, &st) != 0)
    return errno;
  id->known = 1;
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->size = st.st_size;
  id->mtime = st.st_mtim;
  return 0;
}

static int same_file(const lh_file_id_t *a, const lh_file_id_t *b) {
  return a->known == b->known && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The rules as the variables and the file say now (warnings about the
 * variables unless `quiet`): 0 and `*out`, or -1 with the fault in err. */
static int read_rules(const ofctx_config_t *cfg, int quiet, lh_ruleset_t **out, char *err,
                      size_t size) {
  json_t *doc;
  int rc;

  *out = NULL;
  if (lh_rules_doc_read(&doc, env, quiet ? NULL : environ, quiet ? NULL : warn, NULL, has_output,
                        (void *)cfg, err, size) != 0)
    return -1;
  rc = lh_rules_compile(out, doc, getenv("POD_NAMESPACE"), getenv("POD_NAME"), err, size);
  json_decref(doc);
  return rc;
}

/* One line per rule, and a warning for an output that is no HTTP binding. */
static void say_rules(const lh_ruleset_t *rs, const ofctx_config_t *cfg) {
  char line[1024];

  for (size_t i = 0; i < lh_ruleset_count(rs); i++) {
    const ofctx_component_t *out = ofctx_config_output(cfg, lh_ruleset_output(rs, i));
    lh_rules_describe(rs, i, line, sizeof line);
    fprintf(stderr, "logs-handler: rule %s\n", line);
    if (out && ofctx_component_kind(out) != OFCTX_COMPONENT_BINDING)
      fprintf(stderr,
              "logs-handler: output \"%s\" is %s, not an HTTP binding; alerts go there "
              "anyway\n",
              lh_ruleset_output(rs, i), ofctx_component_type(out));
  }
}

void LogsHandler_fini(void *user_data) {
  lh_state_t *s = user_data;

  if (!s)
    return;
  lh_notifier_free(s->notifier);
  lh_store_free(s->store);
  free(s->waiting);
  lh_ruleset_free(s->rules);
  lh_view_free(s->view);
  free(s);
}

/* The rules, checked against the context's outputs, and the notifier. */
int LogsHandler_init(const ofctx_config_t *cfg, void **user_data) {
  char err[1024];
  lh_state_t *s = calloc(1, sizeof *s);

  lh_view_use_arena();
  if (!s) {
    fprintf(stderr, "logs-handler: out of memory\n");
    return -1;
  }
  s->path = getenv("LOGS_RULES_FILE");
  if (s->path && !*s->path)
    s->path = NULL;
  if (s->path)
    file_id(s->path, &s->file);
  if (read_rules(cfg, 0, &s->rules, err, sizeof err) != 0) {
    fprintf(stderr, "logs-handler: %s\n", err);
    LogsHandler_fini(s);
    return -1;
  }
  if (lh_ruleset_state_store(s->rules)) {
    if (lh_check_state_store(cfg, lh_ruleset_state_store(s->rules), err, sizeof err) != 0) {
      fprintf(stderr, "logs-handler: %s\n", err);
      LogsHandler_fini(s);
      return -1;
    }
    s->store = lh_store_new(lh_ruleset_state_store(s->rules));
  }
  s->notifier = notifier_of(s);
  if (!s->notifier || (lh_ruleset_state_store(s->rules) && !s->store)) {
    fprintf(stderr, "logs-handler: out of memory\n");
    LogsHandler_fini(s);
    return -1;
  }
  if (s->store) {
    lh_store_use(s->store, s->notifier, s->rules);
    lh_store_on_load(s->store, incidents_loaded, s);
    fprintf(stderr, "logs-handler: open incidents kept in the state store %s\n",
            lh_store_entry(s->store));
  }
  say_rules(s->rules, cfg);
  *user_data = s;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One record's hits, as lh_ruleset_eval gives them. */
typedef struct {
  lh_state_t *s;
  ofctx_t *ctx;
  double wall;
  size_t hits;
  ofctx_result_t rc; /* OFCTX_ERROR once a hit failed */
} lh_turn_t;

static void on_hit(const lh_hit_t *h, void *arg) {
  lh_turn_t *t = arg;

  t->hits++;
  /* acknowledged once the notification that carries it was accepted */
  if (lh_notifier_hit(t->s->notifier, t->ctx, h, t->wall) != OFCTX_SUCCESS)
    t->rc = OFCTX_ERROR;
}

/* The records skipped since the clock last moved move it, before it is
 * read: by a record's hit, or by a tick. */
static void skipped_to_clock(lh_state_t *s, double wall) {
  double time;

  if (lh_newest_take(&s->skipped, &time) == 0)
    lh_notifier_record(s->notifier, time, wall);
}

/* One record, with the function's state (the incidents loaded). */
static ofctx_result_t handle(lh_state_t *s, ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len), *why;
  lh_turn_t t = {s, ctx, 0, 0, OFCTX_SUCCESS};

  if (!lh_ruleset_may_match(s->rules, data, len)) {
    /* nothing any rule selects is in it, but it is input: its time moves the clock */
    lh_newest_offer(&s->skipped, data, len);
    return OFCTX_SUCCESS;
  }
  t.wall = now();
  skipped_to_clock(s, t.wall);
  switch (lh_view_parse(&s->view, data, len, t.wall, &why)) {
  case LH_DROP:
    /* poison: acknowledge it (and count it) so that it never blocks a partition */
    ofctx_log(ctx, OFCTX_LOG_WARN, "dropped a record: %s", why);
    return OFCTX_DROP;
  case LH_NOMEM:
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
    return OFCTX_ERROR;
  case LH_IGNORE:
    break;
  }
  if (lh_ruleset_eval_passed(s->rules, s->view, on_hit, &t) != 0)
    t.rc = OFCTX_ERROR;
  if (t.hits == 0) /* the absent rules' clock still follows it */
    lh_notifier_record(s->notifier, lh_view_time(s->view), t.wall);
  if (t.rc != OFCTX_SUCCESS)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory");
  return t.rc;
}

/* The invocation `ctx` (an event's, or `batch`'s) waits, held, for the
 * open incidents (their load started if it was not): OFCTX_SUCCESS, or
 * OFCTX_ERROR when it cannot be held. */
static ofctx_result_t wait_for_incidents(lh_state_t *s, ofctx_t *ctx, ofctx_batch_t *batch) {
  if (s->waiting_count == s->waiting_cap) {
    size_t cap = s->waiting_cap ? s->waiting_cap * 2 : 16;
    lh_waiting_t *bigger = realloc(s->waiting, cap * sizeof *bigger);
    if (!bigger)
      return OFCTX_ERROR;
    s->waiting = bigger;
    s->waiting_cap = cap;
  }
  if (ofctx_hold(ctx) != OFCTX_OK)
    return OFCTX_ERROR;
  s->waiting[s->waiting_count++] = (lh_waiting_t){ctx, batch};
  if (!s->waiting_said) {
    s->waiting_said = 1;
    ofctx_log(ctx, OFCTX_LOG_INFO, "records wait for the open incidents from the state store %s",
              lh_store_entry(s->store));
  }
  lh_store_tick(s->store, ctx, 0, now()); /* may load at once, and handle it */
  return OFCTX_SUCCESS;
}

/* A load ended: the records that waited for it are handled now (`ok`), or
 * not taken (delivered again). */
static void incidents_loaded(void *arg, ofctx_t *turn, int ok) {
  lh_state_t *s = arg;
  size_t count = s->waiting_count;
  lh_waiting_t *waiting = s->waiting;

  (void)turn;
  s->waiting = NULL;
  s->waiting_count = s->waiting_cap = 0;
  s->waiting_said = 0;
  for (size_t i = 0; i < count; i++) {
    ofctx_t *ctx = waiting[i].ctx;
    ofctx_batch_t *batch = waiting[i].batch;
    ofctx_result_t r = OFCTX_SUCCESS;
    if (ofctx_hold(ctx) != OFCTX_OK) { /* settled meanwhile (its timeout): its event is gone */
      ofctx_release(ctx, OFCTX_ESTATE);
      continue;
    }
    ofctx_release(ctx, OFCTX_OK); /* that one only asked */
    for (size_t k = 0; batch && k < ofctx_batch_count(batch); k++) {
      ofctx_result_t e = ok ? handle(s, ctx, ofctx_batch_event(batch, k)) : OFCTX_ERROR;
      ofctx_batch_set_status(batch, k, e); /* a bulk delivery's are read when it settles */
      if (e == OFCTX_ERROR)
        r = OFCTX_ERROR;
    }
    if (!batch)
      r = ok ? handle(s, ctx, ofctx_event(ctx)) : OFCTX_ERROR;
    ofctx_release(ctx, !ok ? OFCTX_ESTATE : r == OFCTX_ERROR ? OFCTX_ENOMEM : OFCTX_OK);
  }
  free(waiting);
}

ofctx_result_t LogsHandler(ofctx_t *ctx, const ofctx_event_t *in) {
  lh_state_t *s = ofctx_user_data(ctx);

  if (s->store && !lh_store_ready(s->store))
    return wait_for_incidents(s, ctx, NULL);
  return handle(s, ctx, in);
}

/* A bulk delivery in one call: each record as LogsHandler takes it, its
 * result its status. A firing notification's hold is then the batch's, so
 * its failure makes every record of the batch but the dropped RETRY: more
 * redeliveries than needed, never an acknowledgement too early. Before the
 * open incidents are loaded, the whole batch waits for them. */
ofctx_result_t LogsHandler_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  lh_state_t *s = ofctx_user_data(ctx);

  if (s->store && !lh_store_ready(s->store)) {
    /* taken for now: a batch of one takes its status when this returns,
     * and the hold's release says whether it went well */
    for (size_t i = 0; i < ofctx_batch_count(batch); i++)
      ofctx_batch_set_status(batch, i, OFCTX_SUCCESS);
    return wait_for_incidents(s, ctx, batch);
  }
  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_set_status(batch, i, handle(s, ctx, ofctx_batch_event(batch, i)));
  return OFCTX_SUCCESS;
}

/* The new rules `rs` in place of the old, keeping the groups of the rules
 * that did not change: 0, or -1 when out of memory (nothing changed). */
static int swap_rules(lh_state_t *s, ofctx_t *ctx, lh_ruleset_t *rs) {
  size_t count = lh_ruleset_count(s->rules), *old_to_new = calloc(count, sizeof *old_to_new);
  size_t kept;

  if (!old_to_new)
    return -1;
  kept = lh_rules_kept(s->rules, rs, old_to_new);
  if (lh_notifier_set_rules(s->notifier, lh_ruleset_conds(rs), lh_ruleset_count(rs), old_to_new) !=
      0) {
    free(old_to_new);
    return -1;
  }
  free(old_to_new);
  if (lh_ruleset_max_keys(rs) != lh_ruleset_max_keys(s->rules) ||
      lh_ruleset_notify_rate(rs) != lh_ruleset_notify_rate(s->rules) ||
      lh_ruleset_notify_burst(rs) != lh_ruleset_notify_burst(s->rules))
    ofctx_log(ctx, OFCTX_LOG_WARN,
              "rules reloaded, but max_keys, notify_rate and notify_burst keep their values "
              "until the function restarts");
  if (!lh_ruleset_state_store(rs) != !lh_ruleset_state_store(s->rules) ||
      (lh_ruleset_state_store(rs) &&
       strcmp(lh_ruleset_state_store(rs), lh_ruleset_state_store(s->rules)) != 0))
    ofctx_log(ctx, OFCTX_LOG_WARN,
              "rules reloaded, but state_store keeps its value until the function restarts");
  lh_ruleset_free(s->rules);
  s->rules = rs;
  if (s->store)
    lh_store_use(s->store, s->notifier, rs);
  ofctx_log(ctx, OFCTX_LOG_INFO, "rules reloaded: %zu rules (%zu kept)", lh_ruleset_count(rs),
            kept);
  return 0;
}

/* The rules file that changed, whose stat gave `e`: 0 when its rules took
 * over; -1 when they did not (the log says why), and the old ones keep
 * running. */
static int take_over(lh_state_t *s, ofctx_t *ctx, int e) {
  lh_ruleset_t *rs;
  char err[1024];

  if (e) {
    ofctx_log(ctx, OFCTX_LOG_WARN, "rules file %s: %s; the rules in use keep running", s->path,
              strerror(e));
    return -1;
  }
  if (read_rules(ofctx_config(ctx), 1, &rs, err, sizeof err) != 0) {
    ofctx_log(ctx, OFCTX_LOG_ERROR, "rules not reloaded: %s; the rules in use keep running", err);
    return -1;
  }
  if (swap_rules(s, ctx, rs) != 0) {
    lh_ruleset_free(rs);
    ofctx_log(ctx, OFCTX_LOG_ERROR, "rules not reloaded: out of memory");
    return -1;
  }
  return 0;
}

/* A hot reload: when the rules file changed (a ConfigMap update swaps a
 * symlink: stat follows it), its rules take over if they are good, and
 * either way it is counted. */
static void reload(lh_state_t *s, ofctx_t *ctx) {
  lh_file_id_t id;
  int e = file_id(s->path, &id);

  if (same_file(&id, &s->file))
    return;
  s->file = id; /* a bad file is said and counted once, not at every tick */
  s->reloads[take_over(s, ctx, e) == 0 ? 0 : 1]++;
}

const unsigned LogsHandler_tick_ms = 100;

/* One sample of the family last started, with the label `name` = `value`
 * and, when `name2` is not NULL, `name2` = `value2`. */
static void sample(ofctx_metrics_t *m, const char *name, const char *value, const char *name2,
                   const char *value2, double v) {
  const char *labels[] = {name, value, name2, value2};
  ofctx_metrics_sample(m, labels, name2 ? 2 : 1, v);
}

/* The family `name` of the rules' notifications by status: those the
 * output accepted, or (`failed`) those it did not. */
static void notifications(ofctx_metrics_t *m, const lh_state_t *s, const char *name,
                          const char *help, int failed) {
  static const char *const kinds[] = {"firing", "update", "resolved"};

  ofctx_metrics_family(m, name, OFCTX_METRIC_COUNTER, help);
  for (size_t i = 0; i < lh_ruleset_count(s->rules); i++) {
    const lh_rule_counts_t *c = lh_notifier_counts(s->notifier, i);
    for (size_t k = 0; k < 3; k++)
      sample(m, "rule", lh_ruleset_name(s->rules, i), "status", kinds[k],
             (double)(failed ? c->failed[k] : c->sent[k]));
  }
}

/* The state store's families, when it is on. */
static void store_metrics(ofctx_metrics_t *m, const lh_store_counts_t *c) {
  ofctx_metrics_family(m, "logs_handler_incidents_restored_total", OFCTX_METRIC_COUNTER,
                       "Open incidents read from the state store at start and restored, or "
                       "dropped (their rule's group_by or condition changed).");
  sample(m, "result", "restored", NULL, NULL, (double)c->restored);
  sample(m, "result", "dropped", NULL, NULL, (double)c->dropped);
  ofctx_metrics_family(m, "logs_handler_incidents_writes_total", OFCTX_METRIC_COUNTER,
                       "Writes of open incidents to the state store, by result: ok, failed "
                       "(tried again 5 s later), conflict (another replica wrote first: read "
                       "and written again).");
  sample(m, "result", "ok", NULL, NULL, (double)c->writes_ok);
  sample(m, "result", "failed", NULL, NULL, (double)c->writes_failed);
  sample(m, "result", "conflict", NULL, NULL, (double)c->conflicts);
}

/* The function's metrics on GET /metrics: per rule, and of the rules file
 * (docs/logs-handler.md, "Operating it"). */
void LogsHandler_metrics(ofctx_metrics_t *m, void *user_data) {
  const lh_state_t *s = user_data;
  size_t count = lh_ruleset_count(s->rules);

  ofctx_metrics_family(m, "logs_handler_rules", OFCTX_METRIC_GAUGE, "Rules in use.");
  ofctx_metrics_sample(m, NULL, 0, (double)count);
  ofctx_metrics_family(m, "logs_handler_rules_reloads_total", OFCTX_METRIC_COUNTER,
                       "Changes of the rules file, by result: taken over (ok), or refused "
                       "(failed: a bad or missing file; the rules in use keep running).");
  sample(m, "result", "ok", NULL, NULL, (double)s->reloads[0]);
  sample(m, "result", "failed", NULL, NULL, (double)s->reloads[1]);
  ofctx_metrics_family(m, "logs_handler_records_matched_total", OFCTX_METRIC_COUNTER,
                       "Records that matched the rule, since it was loaded.");
  for (size_t i = 0; i < count; i++)
    sample(m, "rule", lh_ruleset_name(s->rules, i), NULL, NULL,
           (double)lh_notifier_counts(s->notifier, i)->matched);
  notifications(m, s, "logs_handler_notifications_total",
                "Notifications the output accepted, by rule and status.", 0);
  notifications(m, s, "logs_handler_notifications_failed_total",
                "Notifications the output did not accept (the records they carry are "
                "delivered again), by rule and status.",
                1);
  ofctx_metrics_family(m, "logs_handler_notifications_suppressed_total", OFCTX_METRIC_COUNTER,
                       "Notifications held back by the rate limit (their counts go in the "
                       "rule's next notification), by rule.");
  for (size_t i = 0; i < count; i++)
    sample(m, "rule", lh_ruleset_name(s->rules, i), NULL, NULL,
           (double)lh_notifier_suppressed(s->notifier, i));
  ofctx_metrics_family(m, "logs_handler_keys", OFCTX_METRIC_GAUGE,
                       "Keys (groups of group_by values) the rule holds now.");
  for (size_t i = 0; i < count; i++)
    sample(m, "rule", lh_ruleset_name(s->rules, i), NULL, NULL,
           (double)lh_notifier_rule_groups(s->notifier, i));
  ofctx_metrics_family(m, "logs_handler_keys_dropped_total", OFCTX_METRIC_COUNTER,
                       "Keys dropped without a notification because max_keys were held.");
  ofctx_metrics_sample(m, NULL, 0, (double)lh_notifier_evictions(s->notifier));
  if (s->store)
    store_metrics(m, lh_store_counts(s->store));
}

static int check_rules(const ofctx_config_t *cfg, const char *path, void *arg) {
  (void)arg;
  return lh_check_rules(cfg, path, stdout, stderr);
}

const ofctx_command_t LogsHandler_commands[] = {
    {"check-rules", "FILE",
     "check a rules file as the function would run it and print it normalized, with every "
     "default, as JSON (exit 2 and the fault, when there is one)",
     check_rules},
    {NULL, NULL, NULL, NULL}};

void LogsHandler_tick(ofctx_t *ctx, int stopping, void *user_data) {
  lh_state_t *s = user_data;

  double wall;

  if (s->path && !stopping)
    reload(s, ctx);
  wall = now();
  if (s->store)
    lh_store_tick(s->store, ctx, stopping, wall);
  skipped_to_clock(s, wall);
  lh_notifier_tick(s->notifier, ctx, stopping, wall);
}
