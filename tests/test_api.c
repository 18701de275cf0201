/* The public API as a whole, linked to the shared library as users do:
 * versions, error codes and NULL-safety across the headers; and the
 * function's own state through ofctx_main_opts (user data, init, tick,
 * fini) and its own commands. The config's own cases are in test_config*.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <ofctx/ofctx.h>

static void version(void **state) {
  char expected[32];

  snprintf(expected, sizeof expected, "%d.%d.%d", OFCTX_VERSION_MAJOR, OFCTX_VERSION_MINOR,
           OFCTX_VERSION_PATCH);
  assert_int_equal(ofctx_version(), OFCTX_VERSION_HEX);
  assert_string_equal(ofctx_version_string(), expected);
  assert_string_equal(OFCTX_VERSION_STRING, expected);
  assert_true(OFCTX_AT_LEAST_VERSION(0, 1, 0));
  assert_false(OFCTX_AT_LEAST_VERSION(OFCTX_VERSION_MAJOR + 1, 0, 0));
}

static void error_texts(void **state) {
#define CODE_GEN(name, text) OFCTX_##name,
  static const ofctx_err_t codes[] = {OFCTX_ERRNO_MAP(CODE_GEN)};
#undef CODE_GEN
#define NAME_GEN(name, text) #name,
  static const char *const names[] = {OFCTX_ERRNO_MAP(NAME_GEN)};
#undef NAME_GEN
  const size_t n = sizeof codes / sizeof codes[0];

  assert_int_equal(OFCTX_OK, 0);
  for (size_t i = 0; i < n; i++) {
    const char *text = ofctx_strerror(codes[i]);
    assert_int_equal(codes[i], (int)i); /* dense, in map order */
    assert_string_not_equal(text, "unknown error");
    assert_string_equal(ofctx_err_name(codes[i]), names[i]);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(text, ofctx_strerror(codes[j]));
  }
  assert_string_equal(ofctx_strerror((ofctx_err_t)n), "unknown error");
  assert_string_equal(ofctx_strerror(OFCTX_OK), "success");
  assert_string_equal(ofctx_strerror(OFCTX_ECONTEXT), "invalid function context");
  assert_string_equal(ofctx_err_name(OFCTX_ECONTEXT), "ECONTEXT");
  assert_string_equal(ofctx_strerror((ofctx_err_t)9999), "unknown error");
  assert_string_equal(ofctx_strerror((ofctx_err_t)-1), "unknown error");
  assert_string_equal(ofctx_err_name((ofctx_err_t)9999), "UNKNOWN");
}

static void null_safety(void **state) {
  ofctx_config_free(NULL);
  ofctx_free(NULL);
  assert_null(ofctx_config_to_json(NULL));
  assert_int_equal(ofctx_strmap_count(NULL), 0);
  assert_null(ofctx_strmap_get(NULL, "k"));
  assert_null(ofctx_strmap_key_at(NULL, 0));
  assert_null(ofctx_strmap_value_at(NULL, 0));
  assert_int_equal(ofctx_strlist_count(NULL), 0);
  assert_null(ofctx_strlist_at(NULL, 0));
  assert_null(ofctx_user_data(NULL));
}

/* Options whose size is not set are refused, not read past their end. */
static void unsized_main_options(void **state) {
  ofctx_main_opts_t unsized = {0};
  char *argv[] = {"f", NULL};
  (void)state;
  assert_int_equal(ofctx_main_opts(1, argv, &unsized), 2);
  assert_int_equal(ofctx_main_opts(1, argv, NULL), 2);
}

/* ---- the function's own state ---- */

/* What a run of ofctx_main_opts did to one user data: the user data is the
 * record, so each hook records into what it was given. */
typedef struct {
  int inits;      /* init was given this as *user_data */
  int events;     /* events handled (a batch counts its entries) */
  int ticks;      /* ticks, the stopping one included */
  int stopping;   /* ticks with `stopping` set */
  int finis;      /* fini calls */
  int at_fini;    /* events + ticks when fini was called */
  int mismatched; /* a tick's ofctx_user_data was not its argument */
  int late;       /* anything that ran after fini */
} record_t;

static record_t *replacement; /* what init leaves in *user_data; NULL: keep arg */
static int init_fails;        /* init returns -1 */
static int stop_on_tick;      /* the first tick stops the function (SIGTERM) */

static int state_init(const ofctx_config_t *cfg, void **user_data) {
  record_t *r = *user_data;

  assert_non_null(cfg);
  r->inits++;
  if (init_fails)
    return -1;
  if (replacement)
    *user_data = replacement;
  return 0;
}

static ofctx_result_t state_function(ofctx_t *ctx, const ofctx_event_t *in) {
  record_t *r = ofctx_user_data(ctx);

  assert_non_null(in);
  r->events++;
  r->late += r->finis;
  return OFCTX_SUCCESS;
}

static ofctx_result_t state_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  record_t *r = ofctx_user_data(ctx);

  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_set_status(batch, i, OFCTX_SUCCESS);
  r->events += (int)ofctx_batch_count(batch);
  r->late += r->finis;
  return OFCTX_SUCCESS;
}

static void state_tick(ofctx_t *ctx, int stopping, void *user_data) {
  record_t *r = user_data;

  if (ofctx_user_data(ctx) != user_data)
    r->mismatched++;
  r->ticks++;
  r->stopping += stopping != 0;
  r->late += r->finis;
  if (stop_on_tick && !stopping)
    raise(SIGTERM);
}

static void state_fini(void *user_data) {
  record_t *r = user_data;

  r->finis++;
  r->at_fini = r->events + r->ticks;
}

static const char state_context[] =
    "{\"name\":\"state\",\"runtime\":\"Async\",\"inputs\":{\"in\":{\"componentName\":\"in\","
    "\"componentType\":\"bindings.kafka\"}}}";

/* A file of three events, for --invoke: its path, which the caller removes. */
static char *events_file(void) {
  static char path[] = "/tmp/ofctx-state-XXXXXX";
  int fd;

  strcpy(path + strlen(path) - 6, "XXXXXX");
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 24), 24);
  close(fd);
  return path;
}

/* Runs the options over the three events with --invoke (the local runtime,
 * whose stopping tick comes after the last event): the exit status. */
static int invoke(const ofctx_main_opts_t *opts) {
  char *path = events_file();
  char *argv[] = {"state", "--invoke", path, NULL};
  int status;

  setenv("FUNC_CONTEXT", state_context, 1);
  setenv("CONTEXT_MODE", "self-host", 1);
  status = ofctx_main_opts(3, argv, opts);
  unlink(path);
  unsetenv("FUNC_CONTEXT");
  unsetenv("CONTEXT_MODE");
  return status;
}

/* Options with every hook of this file and `arg` as the user data, the
 * hooks' switches reset; each test takes away or changes what it needs. */
static ofctx_main_opts_t state_opts(record_t *arg) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

  replacement = NULL;
  init_fails = stop_on_tick = 0;
  opts.function = state_function;
  opts.init = state_init;
  opts.tick = state_tick;
  opts.fini = state_fini;
  opts.arg = arg;
  return opts;
}

/* Without init, ofctx_user_data is opts.arg in the event's and the tick's
 * context, and fini gets it exactly once, after the last event and tick. */
static void user_data_is_arg(void **state) {
  record_t arg = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  (void)state;
  opts.init = NULL;
  assert_int_equal(invoke(&opts), 0);
  assert_int_equal(arg.events, 3);
  assert_int_equal(arg.ticks, 1);
  assert_int_equal(arg.stopping, 1);
  assert_int_equal(arg.finis, 1);
  assert_int_equal(arg.at_fini, 4);
  assert_int_equal(arg.mismatched, 0);
  assert_int_equal(arg.late, 0);
}

/* init starts from opts.arg and may replace it: then the batch's and the
 * tick's contexts, and fini, have the replacement, and arg nothing more. */
static void init_replaces_user_data(void **state) {
  record_t arg = {0}, mine = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  (void)state;
  replacement = &mine;
  opts.function = NULL;
  opts.batch = state_batch;
  assert_int_equal(invoke(&opts), 0);
  assert_int_equal(arg.inits, 1);
  assert_int_equal(arg.events + arg.ticks + arg.finis, 0);
  assert_int_equal(mine.events, 3); /* each event a batch of one */
  assert_int_equal(mine.ticks, 1);
  assert_int_equal(mine.finis, 1);
  assert_int_equal(mine.at_fini, 4);
  assert_int_equal(mine.mismatched + mine.late, 0);
}

/* A failed init stops the start (exit status 2) and fini is not called. */
static void failed_init_has_no_fini(void **state) {
  record_t arg = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  (void)state;
  init_fails = 1;
  assert_int_equal(invoke(&opts), 2);
  assert_int_equal(arg.inits, 1);
  assert_int_equal(arg.events + arg.ticks + arg.finis, 0);
}

/* A listening socket on the loopback: its port in *port. */
static int listener(int *port) {
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 1), 0);
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Serves on `port` (the HTTP server of the Async runtime): the exit status. */
static int serve(const ofctx_main_opts_t *opts, int port) {
  char text[16];
  char *argv[] = {"state", NULL};
  int status;

  snprintf(text, sizeof text, "%d", port);
  setenv("PORT", text, 1);
  setenv("FUNC_CONTEXT", state_context, 1);
  setenv("CONTEXT_MODE", "self-host", 1);
  setenv("OFCTX_LISTEN_HOST", "127.0.0.1", 1);
  setenv("OFCTX_DAPR_WAIT_MS", "0", 1);
  status = ofctx_main_opts(1, argv, opts);
  unsetenv("PORT");
  unsetenv("FUNC_CONTEXT");
  unsetenv("CONTEXT_MODE");
  unsetenv("OFCTX_LISTEN_HOST");
  unsetenv("OFCTX_DAPR_WAIT_MS");
  return status;
}

/* A server's ticks have the user data init made; the first one stops the
 * function, whose stopping tick follows, then fini, once, and nothing
 * after it. */
static void server_ticks_then_fini(void **state) {
  record_t arg = {0}, mine = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  int port, fd = listener(&port);
  (void)state;
  close(fd); /* a port that was free */
  replacement = &mine;
  stop_on_tick = 1;
  opts.tick_ms = 1;
  assert_int_equal(serve(&opts, port), 0);
  assert_int_equal(arg.inits, 1);
  assert_true(mine.ticks >= 2);
  assert_int_equal(mine.stopping, 1);
  assert_int_equal(mine.finis, 1);
  assert_int_equal(mine.at_fini, mine.ticks);
  assert_int_equal(mine.mismatched + mine.late, 0);
}

/* The start fails after init (the port is taken): fini still runs, once. */
static void failed_start_has_fini(void **state) {
  record_t arg = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  int port, fd = listener(&port);
  (void)state;
  opts.tick = NULL;
  assert_int_equal(serve(&opts, port), 1);
  close(fd);
  assert_int_equal(arg.inits, 1);
  assert_int_equal(arg.finis, 1);
  assert_int_equal(arg.events + arg.ticks, 0);
}

/* ---- the function's own commands ---- */

static int commands_run; /* calls of count_command */

/* --count: records its arguments in the record it is given as arg. */
static int count_command(const ofctx_config_t *cfg, const char *value, void *arg) {
  record_t *r = arg;

  assert_string_equal(ofctx_config_name(cfg), "state");
  assert_null(value);
  r->late += r->inits + r->finis; /* nothing of a run happened */
  commands_run++;
  return 5;
}

static const ofctx_command_t count_commands[] = {{"count", NULL, "count", count_command},
                                                 {NULL, NULL, NULL, NULL}};
static const ofctx_command_t clashing_commands[] = {{"input", "NAME", "clashes", count_command},
                                                    {NULL, NULL, NULL, NULL}};

/* Runs the options with `argv` (ended by NULL) under the state context:
 * the exit status. */
static int run_argv(const ofctx_main_opts_t *opts, char **argv) {
  int argc = 0, status;

  while (argv[argc])
    argc++;
  setenv("FUNC_CONTEXT", state_context, 1);
  setenv("CONTEXT_MODE", "self-host", 1);
  status = ofctx_main_opts(argc, argv, opts);
  unsetenv("FUNC_CONTEXT");
  unsetenv("CONTEXT_MODE");
  return status;
}

/* A command runs with the context and opts.arg instead of serving, without
 * init, tick or fini, and its return value is the exit status. */
static void command_instead_of_a_run(void **state) {
  record_t arg = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  (void)state;
  commands_run = 0;
  opts.commands = count_commands;
  assert_int_equal(run_argv(&opts, (char *[]){"state", "--count", NULL}), 5);
  assert_int_equal(commands_run, 1);
  assert_int_equal(arg.inits + arg.events + arg.ticks + arg.finis + arg.late, 0);
}

/* opts.commands is read only when the size covers it, as tick and fini
 * are: a program built before it keeps its command line. */
static void commands_beyond_the_size_are_not_read(void **state) {
  record_t arg = {0};
  ofctx_main_opts_t opts = state_opts(&arg);
  (void)state;
  commands_run = 0;
  opts.commands = count_commands;
  opts.size = offsetof(ofctx_main_opts_t, commands);
  assert_int_equal(run_argv(&opts, (char *[]){"state", "--count", NULL}), 2); /* unknown */
  assert_int_equal(commands_run, 0);
  /* a name that clashes is refused at start, whatever the command line */
  opts.commands = clashing_commands;
  assert_int_equal(run_argv(&opts, (char *[]){"state", "--version", NULL}), 0);
  opts.size = sizeof opts;
  assert_int_equal(run_argv(&opts, (char *[]){"state", "--version", NULL}), 2);
  assert_int_equal(arg.inits + arg.finis, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version),
      cmocka_unit_test(error_texts),
      cmocka_unit_test(null_safety),
      cmocka_unit_test(unsized_main_options),
      cmocka_unit_test(user_data_is_arg),
      cmocka_unit_test(init_replaces_user_data),
      cmocka_unit_test(failed_init_has_no_fini),
      cmocka_unit_test(server_ticks_then_fini),
      cmocka_unit_test(failed_start_has_fini),
      cmocka_unit_test(command_instead_of_a_run),
      cmocka_unit_test(commands_beyond_the_size_are_not_read),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
