/* The public API around the parser: versions, error codes, NULL-safety,
 * argument checks, and the config accessors' edges; and the function's own
 * state through ofctx_main_opts (user data, init, tick, fini). */
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
#include <jansson.h>

#include <ofctx/ofctx.h>

static const char *no_env(void *arg, const char *name) {
  (void)arg;
  (void)name;
  return NULL;
}

/* A self-host environment with only the variables the test sets. */
static const char *self_host(void *arg, const char *name) {
  const char *const *pairs = arg;
  if (strcmp(name, "CONTEXT_MODE") == 0)
    return "self-host";
  for (; pairs && pairs[0]; pairs += 2)
    if (strcmp(pairs[0], name) == 0)
      return pairs[1];
  return NULL;
}

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

static void bad_arguments(void **state) {
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  assert_int_equal(ofctx_config_parse(NULL, NULL, "{}", 2, no_env, NULL, &err), OFCTX_EINVAL);
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, NULL, 5, no_env, NULL, &err), OFCTX_EINVAL);
  assert_null(cfg);
  assert_int_equal(ofctx_config_load(NULL, no_env, NULL, NULL), OFCTX_EINVAL);
  /* err is optional */
  assert_int_equal(ofctx_config_load(&cfg, no_env, NULL, NULL), OFCTX_ENOCONTEXT);
  assert_null(cfg);
  /* a given document must be JSON, even when it is empty */
  assert_int_equal(ofctx_config_parse(&cfg, NULL, "", 0, no_env, NULL, &err), OFCTX_ECONTEXT);
  assert_string_equal(err.message, "FUNC_CONTEXT: invalid JSON at line 1, column 0: "
                                   "'[' or '{' expected near end of file");
}

/* `len` bounds the document: bytes after it are never read. */
static void parse_uses_len(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}GARBAGE";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  assert_int_equal(
      ofctx_config_parse(&cfg, "ctx.json", text, strlen(text) - 7, self_host, NULL, &err),
      OFCTX_OK);
  assert_int_equal(err.code, OFCTX_OK);
  assert_string_equal(ofctx_config_name(cfg), "f");
  assert_int_equal(ofctx_config_runtime(cfg), OFCTX_RUNTIME_KNATIVE);
  ofctx_config_free(cfg);
  assert_int_equal(ofctx_config_parse(&cfg, "ctx.json", text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_null(cfg);
  assert_non_null(strstr(err.message, "ctx.json: invalid JSON at line 1, column"));
}

/* Secrets reach the accessors but never the printed document. */
static void tokens_stay_secret(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Async\"}";
  const char *vars[] = {"DAPR_API_TOKEN", "s3cr3t-dapr", "APP_API_TOKEN", "s3cr3t-app", NULL};
  ofctx_config_t *cfg = NULL;
  char *json;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, vars, NULL),
                   OFCTX_OK);
  assert_string_equal(ofctx_config_dapr_api_token(cfg), "s3cr3t-dapr");
  assert_string_equal(ofctx_config_app_api_token(cfg), "s3cr3t-app");
  json = ofctx_config_to_json(cfg);
  assert_null(strstr(json, "s3cr3t"));
  assert_non_null(strstr(json, "\"apiTokenSet\": true"));
  assert_non_null(strstr(json, "\"appApiTokenSet\": true"));
  ofctx_free(json);
  ofctx_config_free(cfg);
}

/* The config does not borrow from the caller's text or environment. */
static void config_outlives_inputs(void **state) {
  char *text = strdup("{\"name\":\"f\",\"runtime\":\"Async\",\"outputs\":{\"o\":"
                      "{\"componentName\":\"c\",\"componentType\":\"bindings.http\","
                      "\"operation\":\"post\",\"metadata\":{\"k\":\"v\"}}}}");
  char *pod = strdup("pod-1");
  const char *vars[] = {"POD_NAME", pod, "DAPR_API_TOKEN", "tok", NULL};
  ofctx_config_t *cfg = NULL;
  const ofctx_component_t *out;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, vars, NULL),
                   OFCTX_OK);
  memset(text, 'x', strlen(text));
  free(text);
  memset(pod, 'x', strlen(pod));
  free(pod);
  assert_string_equal(ofctx_config_pod_name(cfg), "pod-1");
  out = ofctx_config_output(cfg, "o");
  assert_non_null(out);
  assert_string_equal(ofctx_component_operation(out), "post");
  assert_string_equal(ofctx_strmap_get(ofctx_component_metadata(out), "k"), "v");
  assert_null(ofctx_strmap_get(ofctx_component_metadata(out), "K"));
  assert_null(ofctx_config_input(cfg, NULL));
  assert_null(ofctx_config_input_at(cfg, 0));
  ofctx_config_free(cfg);
}

/* A value echoed in a message is quoted, escaped and shortened. */
static void messages_quote_values(void **state) {
  char text[1024];
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  char long_name[300];

  snprintf(text, sizeof text, "{\"name\":\"f\",\"runtime\":\"Async\\nInjected: 1\"}");
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_string_equal(err.message, "FUNC_CONTEXT: $.runtime: invalid runtime: "
                                   "\"Async\\x0aInjected: 1\" (expected \"Knative\" or \"Async\")");
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  snprintf(text, sizeof text, "{\"name\":\"f\",\"runtime\":\"%s\"}", long_name);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_non_null(strstr(err.message, "aaa...\" (expected"));
  assert_true(strlen(err.message) < 200);
}

/* A message longer than the buffer is cut, never overflowed. */
static void long_paths_are_cut(void **state) {
  char key[400], text[1024];
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  snprintf(text, sizeof text,
           "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{\"%s\":{\"componentName\":7}}}", key);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  /* the path is cut to its buffer (255 bytes), the reason is kept whole */
  assert_int_equal(strlen(err.message),
                   strlen("FUNC_CONTEXT: ") + 255 + strlen(": expected a string, got a number"));
  assert_memory_equal(err.message, "FUNC_CONTEXT: $.inputs.kkkk", 27);
  assert_string_equal(err.message + strlen(err.message) - 33, ": expected a string, got a number");
}

/* An application may give jansson its own allocator (json_set_alloc_funcs):
 * libofctx must then never free() what jansson allocated, nor hand jansson's
 * memory to the caller. This allocator offsets every block, so a plain free()
 * of one is caught. */
static size_t live_blocks;

static void *offset_malloc(size_t size) {
  char *p = malloc(size + 16);
  if (!p)
    return NULL;
  live_blocks++;
  return p + 16;
}

static void offset_free(void *ptr) {
  if (ptr) {
    live_blocks--;
    free((char *)ptr - 16);
  }
}

static void custom_json_allocator(void **state) {
  static const char text[] = "{\"name\":\"f\",\"runtime\":\"Async\",\"port\":8080.5}";
  static const char good[] = "{\"name\":\"f\",\"runtime\":\"Async\"}";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  char *json;

  json_set_alloc_funcs(offset_malloc, offset_free);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, good, strlen(good), self_host, NULL, &err),
                   OFCTX_OK);
  json = ofctx_config_to_json(cfg);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"name\": \"f\""));
  ofctx_free(json); /* ours, not jansson's */
  ofctx_config_free(cfg);
  assert_int_equal(ofctx_config_parse(&cfg, NULL, text, strlen(text), self_host, NULL, &err),
                   OFCTX_ECONTEXT);
  assert_string_equal(err.message,
                      "FUNC_CONTEXT: $.port: error parsing port: 8080.5 is not an integer");
  json_set_alloc_funcs(malloc, free);
  assert_int_equal(live_blocks, 0);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version),
      cmocka_unit_test(error_texts),
      cmocka_unit_test(null_safety),
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(parse_uses_len),
      cmocka_unit_test(tokens_stay_secret),
      cmocka_unit_test(config_outlives_inputs),
      cmocka_unit_test(messages_quote_values),
      cmocka_unit_test(long_paths_are_cut),
      cmocka_unit_test(custom_json_allocator),
      cmocka_unit_test(unsized_main_options),
      cmocka_unit_test(user_data_is_arg),
      cmocka_unit_test(init_replaces_user_data),
      cmocka_unit_test(failed_init_has_no_fini),
      cmocka_unit_test(server_ticks_then_fini),
      cmocka_unit_test(failed_start_has_fini),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
