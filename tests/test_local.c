/* The local mode (local.c) on its own, with a host and no runtime: its
 * start-up refusals, word for word, and a run over a file of events: the
 * outcomes counted, the exit status, the stop at the first failed event
 * unless --keep-going, and the ends printed: those of events that did not
 * succeed, or of all with --all-outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "mode.h"
#include "ofctx/ofctx.h"

static const char context[] =
    "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{"
    "\"in\":{\"componentName\":\"kafka\",\"componentType\":\"bindings.kafka\"}}}";

/* "drop" is poison, "fail" fails, anything else succeeds. */
static ofctx_result_t judge(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  (void)ctx;
  if (strncmp(data, "drop", len) == 0)
    return OFCTX_DROP;
  return strncmp(data, "fail", len) == 0 ? OFCTX_ERROR : OFCTX_SUCCESS;
}

static void http_function(ofctx_t *ctx, const ofctx_event_t *in, ofctx_response_t *res) {
  (void)ctx;
  (void)in;
  (void)res;
}

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

typedef struct {
  ofctx_config_t *cfg;
  ofctx__metrics_t metrics;
  ofctx__host_t host;
  ofctx__mode_env_t env;
  char path[32];
} fixture_t;

/* A host for `judge`, and a file of `events` for --invoke. */
static void setup(fixture_t *f, const char *events) {
  const char *ins[] = {"in"};
  ofctx_error_t err;
  int fd;

  memset(f, 0, sizeof *f);
  assert_int_equal(
      ofctx_config_parse(&f->cfg, NULL, context, sizeof context - 1, self_host, NULL, &err),
      OFCTX_OK);
  assert_int_equal(ofctx__metrics_init(&f->metrics, ins, 1, NULL, 0), 0);
  f->host = (ofctx__host_t){.cfg = f->cfg, .fn = judge, .timeout_ms = 1000, .metrics = &f->metrics};
  strcpy(f->path, "/tmp/test_local_XXXXXX");
  fd = mkstemp(f->path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, events, strlen(events)), (ssize_t)strlen(events));
  close(fd);
  f->env = (ofctx__mode_env_t){.cfg = f->cfg,
                               .host = &f->host,
                               .metrics = &f->metrics,
                               .max_line = 1024,
                               .local = {.path = f->path}};
}

static void teardown(fixture_t *f) {
  unlink(f->path);
  ofctx__metrics_free(&f->metrics);
  ofctx_config_free(f->cfg);
}

/* Starts the mode, runs it and stops it: the exit status. */
static int run(fixture_t *f) {
  ofctx_error_t err;
  void *state;
  int status;

  f->host.sink = ofctx__local_mode.sink_new(f->cfg);
  assert_non_null(f->host.sink);
  state = ofctx__local_mode.start(&f->env, &err);
  if (!state)
    fail_msg("start: %s", err.message);
  assert_int_equal(f->host.timeout_ms, 0); /* no loop: nothing to time */
  status = ofctx__local_mode.run(state);
  ofctx__local_mode.stop(state);
  ofctx__sink_free(f->host.sink);
  return status;
}

static uint64_t events(fixture_t *f, ofctx__outcome_t outcome) {
  return ofctx__metrics_events(&f->metrics, 0, outcome);
}

static void bad_starts(void **state) {
  fixture_t f;
  ofctx_error_t err;
  (void)state;

  setup(&f, "");
  f.host.fn = NULL;
  f.host.http_fn = http_function;
  assert_null(ofctx__local_mode.start(&f.env, &err));
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_string_equal(err.message, "--invoke runs functions of the OpenFunction signature, not "
                                   "plain HTTP functions");
  f.host.fn = judge;
  f.host.http_fn = NULL;
  f.env.local.input = "nope";
  assert_null(ofctx__local_mode.start(&f.env, &err));
  assert_string_equal(err.message, "--input nope: the function context has no input of that name");
  f.env.local.input = NULL;
  f.env.local.path = "/nonexistent/events";
  assert_null(ofctx__local_mode.start(&f.env, &err));
  assert_string_equal(err.message, "--invoke /nonexistent/events: cannot open the events file: "
                                   "No such file or directory");
  assert_null(ofctx__local_mode.start(&f.env, NULL)); /* no detail asked for */
  teardown(&f);
}

static void a_run(void **state) {
  fixture_t f;
  (void)state;

  setup(&f, "one\n\ndrop\r\ntwo");
  assert_int_equal(run(&f), 0);
  assert_int_equal(events(&f, OFCTX__OUTCOME_SUCCESS), 2);
  assert_int_equal(events(&f, OFCTX__OUTCOME_DROP), 1);
  assert_int_equal(events(&f, OFCTX__OUTCOME_RETRY), 0);
  teardown(&f);
}

static void stops_at_a_failed_event(void **state) {
  fixture_t f;
  (void)state;

  setup(&f, "one\nfail\ntwo\n");
  assert_int_equal(run(&f), 1);
  assert_int_equal(events(&f, OFCTX__OUTCOME_SUCCESS), 1);
  assert_int_equal(events(&f, OFCTX__OUTCOME_RETRY), 1);
  teardown(&f);
  setup(&f, "one\nfail\ntwo\n");
  f.env.local.keep_going = 1;
  assert_int_equal(run(&f), 0);
  assert_int_equal(events(&f, OFCTX__OUTCOME_SUCCESS), 2);
  teardown(&f);
}

static void skips_long_lines(void **state) {
  fixture_t f;
  (void)state;

  setup(&f, "one\n0123456789abcdef\ntwo\n");
  f.env.max_line = 8;
  assert_int_equal(run(&f), 1); /* a skipped line fails the run */
  assert_int_equal(events(&f, OFCTX__OUTCOME_SUCCESS), 2);
  teardown(&f);
}

/* Runs the mode with its stdout in a file: the exit status, and what it
 * printed into `out` (NUL-terminated). */
static int run_printing(fixture_t *f, char *out, size_t size) {
  char path[] = "/tmp/test_local_out_XXXXXX";
  int fd = mkstemp(path), saved, status;
  ssize_t n;

  assert_true(fd >= 0);
  fflush(stdout);
  saved = dup(STDOUT_FILENO);
  assert_true(saved >= 0);
  assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
  status = run(f);
  fflush(stdout);
  assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
  close(saved);
  n = pread(fd, out, size - 1, 0);
  assert_true(n >= 0);
  out[n] = '\0';
  close(fd);
  unlink(path);
  return status;
}

static void prints_the_ends_that_did_not_succeed(void **state) {
  static const char events_file[] = "one\ndrop\nfail\ntwo\n";
  char out[1024];
  fixture_t f;
  (void)state;

  setup(&f, events_file);
  f.env.local.keep_going = 1;
  assert_int_equal(run_printing(&f, out, sizeof out), 0);
  assert_string_equal(out, "{\"line\":2,\"outcome\":\"DROP\",\"status\":400}\n"
                           "{\"line\":3,\"outcome\":\"RETRY\",\"status\":500}\n");
  teardown(&f);
  setup(&f, events_file);
  f.env.local.keep_going = 1;
  f.env.local.all_outcomes = 1;
  assert_int_equal(run_printing(&f, out, sizeof out), 0);
  assert_string_equal(out, "{\"line\":1,\"outcome\":\"SUCCESS\",\"status\":200}\n"
                           "{\"line\":2,\"outcome\":\"DROP\",\"status\":400}\n"
                           "{\"line\":3,\"outcome\":\"RETRY\",\"status\":500}\n"
                           "{\"line\":4,\"outcome\":\"SUCCESS\",\"status\":200}\n");
  teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_starts),
      cmocka_unit_test(a_run),
      cmocka_unit_test(stops_at_a_failed_event),
      cmocka_unit_test(skips_long_lines),
      cmocka_unit_test(prints_the_ends_that_did_not_succeed),
  };
  return cmocka_run_group_tests_name("local", tests, NULL, NULL);
}
