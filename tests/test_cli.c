/* The `ofctx` tool, run as a separate process the way users run it: every
 * context case through the environment and through --file, plus usage; and
 * a function's command line (probe's), its own commands too. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <ofctx/ofctx.h>

#include "case_util.h"

typedef struct {
  int status; /* exit code */
  char *out;
  char *err;
} run_t;

static void drain(int fds[2], char *bufs[2]) {
  size_t lens[2] = {0, 0}, caps[2] = {0, 0};
  struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
  int open_fds = 2;

  for (int i = 0; i < 2; i++) {
    caps[i] = 4096;
    bufs[i] = malloc(caps[i] + 1);
    assert_non_null(bufs[i]);
  }
  while (open_fds > 0) {
    assert_true(poll(pfd, 2, 10000) > 0);
    for (int i = 0; i < 2; i++) {
      ssize_t n;
      if (pfd[i].fd < 0 || !pfd[i].revents)
        continue;
      if (lens[i] == caps[i]) {
        caps[i] *= 2;
        bufs[i] = realloc(bufs[i], caps[i] + 1);
        assert_non_null(bufs[i]);
      }
      n = read(pfd[i].fd, bufs[i] + lens[i], caps[i] - lens[i]);
      if (n <= 0) {
        close(pfd[i].fd);
        pfd[i].fd = -1;
        open_fds--;
      } else {
        lens[i] += (size_t)n;
      }
    }
  }
  bufs[0][lens[0]] = '\0';
  bufs[1][lens[1]] = '\0';
}

/* Runs `program` with exactly `envp` as its environment. */
static run_t run_program(const char *program, char *const argv[], char *const envp[]) {
  int out[2], err[2], fds[2], wstatus;
  char *bufs[2];
  posix_spawn_file_actions_t actions;
  pid_t pid;
  run_t r;

  assert_int_equal(pipe(out), 0);
  assert_int_equal(pipe(err), 0);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  assert_int_equal(posix_spawn(&pid, program, &actions, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  fds[0] = out[0];
  fds[1] = err[0];
  drain(fds, bufs);
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  assert_true(WIFEXITED(wstatus));
  r.status = WEXITSTATUS(wstatus);
  r.out = bufs[0];
  r.err = bufs[1];
  return r;
}

/* Runs the tool with exactly `envp` as its environment. */
static run_t run(char *const argv[], char *const envp[]) {
  return run_program(OFCTX_CLI, argv, envp);
}

static void run_free(run_t *r) {
  free(r->out);
  free(r->err);
}

/* The case's environment as envp, leaving out `skip` (a variable name or
 * NULL); sanitizer options pass through so that child reports are seen. */
static char **case_envp(const case_env_t *env, const char *skip) {
  static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
  char **envp = calloc(env->count + 4, sizeof *envp);
  size_t n = 0;

  assert_non_null(envp);
  for (size_t i = 0; i < env->count; i++) {
    if (skip && strcmp(env->names[i], skip) == 0)
      continue;
    envp[n] = malloc(strlen(env->names[i]) + strlen(env->values[i]) + 2);
    sprintf(envp[n++], "%s=%s", env->names[i], env->values[i]);
  }
  for (size_t i = 0; i < 3; i++) {
    const char *value = getenv(passed[i]);
    if (value) {
      envp[n] = malloc(strlen(passed[i]) + strlen(value) + 2);
      sprintf(envp[n++], "%s=%s", passed[i], value);
    }
  }
  return envp;
}

/* The case's environment with neither FUNC_CONTEXT nor FUNC_CONTEXT_V1BETA2,
 * for runs that read the document from a file. */
static char **case_envp_without_context(const case_env_t *env) {
  char **envp = case_envp(env, "FUNC_CONTEXT");
  for (size_t i = 0; envp[i]; i++)
    if (strncmp(envp[i], "FUNC_CONTEXT_V1BETA2=", 21) == 0)
      envp[i][0] = 'X'; /* hidden: XUNC_CONTEXT_V1BETA2 */
  return envp;
}

static void free_envp(char **envp) {
  for (size_t i = 0; envp[i]; i++)
    free(envp[i]);
  free(envp);
}

static void assert_json_file(const char *dir, const char *text) {
  char *want_text = case_read_file(dir, "expected.json", NULL);
  json_t *want = json_loads(want_text, 0, NULL);
  json_t *got = json_loads(text, 0, NULL);

  if (!got || !json_equal(got, want))
    fail_msg("%s: stdout is not expected.json:\n%s", dir, text);
  json_decref(got);
  json_decref(want);
  free(want_text);
}

/* The context file a --file run reads: the case's one context document.
 * Cases with both FUNC_CONTEXT and FUNC_CONTEXT_V1BETA2 are about how the
 * environment combines the two, which a single file cannot show: NULL. */
static const char *context_file(const char *dir) {
  static const char *const names[] = {"context.json", "context-v1beta2.json"};
  const char *found = NULL;

  for (size_t i = 0; i < 2; i++) {
    char *text = case_read_file(dir, names[i], NULL);
    if (text) {
      free(text);
      if (found)
        return NULL;
      found = names[i];
    }
  }
  return found;
}

static void valid_case(void **state) {
  const char *dir = *state;
  char *argv_env[] = {"ofctx", "context", "check", NULL};
  char path[1024];
  const char *file = context_file(dir);
  char *argv_file[] = {"ofctx", "context", "check", "--file", path, NULL};
  case_env_t env;
  char **envp;
  run_t r;

  case_env_load(&env, dir);
  envp = case_envp(&env, NULL);
  r = run(argv_env, envp);
  if (r.status != 0)
    fail_msg("%s: exit %d: %s", dir, r.status, r.err);
  assert_string_equal(r.err, "");
  assert_json_file(dir, r.out);
  run_free(&r);
  free_envp(envp);

  /* The same document from a file, with no FUNC_CONTEXT* set. */
  if (!file) {
    case_env_free(&env);
    return;
  }
  snprintf(path, sizeof path, "%s/%s", dir, file);
  envp = case_envp_without_context(&env);
  r = run(argv_file, envp);
  if (r.status != 0)
    fail_msg("%s --file: exit %d: %s", dir, r.status, r.err);
  assert_json_file(dir, r.out);
  run_free(&r);
  free_envp(envp);
  case_env_free(&env);
}

/* Runs `program` and checks that it failed with exactly `message`. */
static void program_fails_with(const char *program, char *const argv[], char *const envp[],
                               const char *message) {
  run_t r = run_program(program, argv, envp);

  assert_int_equal(r.status, 2);
  assert_string_equal(r.out, "");
  /* exactly the message, on one line */
  assert_int_equal(strlen(r.err), strlen(message) + 1);
  assert_memory_equal(r.err, message, strlen(message));
  assert_int_equal(r.err[strlen(message)], '\n');
  run_free(&r);
}

static void assert_fails_with(char *const argv[], char *const envp[], const char *message) {
  program_fails_with(OFCTX_CLI, argv, envp, message);
}

static void invalid_case(void **state) {
  const char *dir = *state;
  char *argv_env[] = {"ofctx", "context", "check", NULL};
  char path[1024], file_message[OFCTX_ERROR_MESSAGE_SIZE + 1024];
  char *argv_file[] = {"ofctx", "context", "check", "--file", path, NULL};
  const char *file = context_file(dir);
  char *expected = case_read_file(dir, "expected-error.txt", NULL);
  char *message;
  case_env_t env;
  char **envp;

  if (!expected || !strchr(expected, '\n'))
    fail_msg("%s: expected-error.txt is missing or has no message line", dir);
  message = strchr(expected, '\n') + 1;
  message[strcspn(message, "\n")] = '\0';
  case_env_load(&env, dir);
  envp = case_envp(&env, NULL);
  assert_fails_with(argv_env, envp, message);
  /* A function at start-up takes the same decision, with the same words. */
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", NULL}, envp, message);
  free_envp(envp);

  /* From a file, an error in the document names the file instead. */
  if (file) {
    const char *colon = strstr(message, ": ");
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (strncmp(message, "FUNC_CONTEXT", 12) == 0 && colon)
      snprintf(file_message, sizeof file_message, "%s%s", path, colon);
    else
      snprintf(file_message, sizeof file_message, "%s", message);
    envp = case_envp_without_context(&env);
    assert_fails_with(argv_file, envp, file_message);
    free_envp(envp);
  }
  case_env_free(&env);
  free(expected);
}

/* Usage: what each command line prints, where, and with which status. */
static void usage(void **state) {
  static const struct {
    const char *argv[6];
    int status;
    int on_stderr;    /* which stream the text is on; the other is empty */
    const char *text; /* contained in that stream */
  } cases[] = {
      {{"ofctx"}, 2, 1, "ofctx: a command is required; see 'ofctx --help'\n"},
      {{"ofctx", "--help"}, 0, 0, "context check [--file PATH]"},
      {{"ofctx", "-h"}, 0, 0, "ofctx version"},
      {{"ofctx", "help"}, 0, 0, "Exit status: 0 on success; 1 when invoke's event was not taken"},
      {{"ofctx", "context", "check", "--help"}, 0, 0, "context check [--file PATH]"},
      {{"ofctx", "version"}, 0, 0, "libofctx " OFCTX_VERSION_STRING "\n"},
      {{"ofctx", "frobnicate"}, 2, 1, "ofctx: unknown command frobnicate; see 'ofctx --help'\n"},
      {{"ofctx", "context"}, 2, 1, "ofctx: context: unknown subcommand (none); see"},
      {{"ofctx", "context", "lint"}, 2, 1, "ofctx: context: unknown subcommand lint; see"},
      {{"ofctx", "context", "check", "--verbose"},
       2,
       1,
       "ofctx: context check: unknown argument --verbose; see"},
      {{"ofctx", "context", "check", "--file"}, 2, 1, "ofctx: a PATH must follow --file; see"},
      {{"ofctx", "context", "check", "--file=/nonexistent/ctx.json"},
       2,
       1,
       "/nonexistent/ctx.json: cannot open the context file: No such file or directory\n"},
      {{"ofctx", "context", "check", "--file", "/"}, 2, 1, "/: cannot read the context file: "},
      {{"ofctx", "context", "check"}, 2, 1, "FUNC_CONTEXT: env FUNC_CONTEXT not found"},
  };
  char *empty_env[] = {NULL};

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_t r = run((char *const *)cases[i].argv, empty_env);
    const char *stream = cases[i].on_stderr ? r.err : r.out;
    const char *other = cases[i].on_stderr ? r.out : r.err;
    if (r.status != cases[i].status || !strstr(stream, cases[i].text) || *other)
      fail_msg("%s %s: exit %d, stdout \"%s\", stderr \"%s\"", cases[i].argv[0],
               cases[i].argv[1] ? cases[i].argv[1] : "", r.status, r.out, r.err);
    run_free(&r);
  }
}

/* Writes a v1beta1 context of exactly `size` bytes (padded with JSON white
 * space) to `path`. */
static void write_context(const char *path, size_t size) {
  static const char doc[] = "{\"name\":\"big\",\"runtime\":\"Knative\"}";
  FILE *f = fopen(path, "wb");

  assert_non_null(f);
  assert_int_equal(fwrite(doc, 1, sizeof doc - 1, f), sizeof doc - 1);
  for (size_t i = sizeof doc - 1; i < size; i++)
    assert_int_equal(fputc(' ', f), ' ');
  assert_int_equal(fclose(f), 0);
}

/* One size limit for every loader: the tool's --file and a function's
 * --context refuse one byte past OFCTX_CONTEXT_MAX_SIZE, and take exactly it. */
static void context_size_limit(void **state) {
  char path[] = "/tmp/ofctx-test-context-XXXXXX", message[256];
  char *argv_file[] = {"ofctx", "context", "check", "--file", path, NULL};
  char *argv_probe[] = {"probe", "--context", path, NULL};
  char *envp[] = {"CONTEXT_MODE=self-host", "OFCTX_LISTEN_HOST=bogus", NULL};
  int fd = mkstemp(path);
  run_t r;
  (void)state;

  assert_true(fd >= 0);
  close(fd);
  write_context(path, OFCTX_CONTEXT_MAX_SIZE + 1);
  snprintf(message, sizeof message,
           "%s: the document is larger than %u bytes, which no function context is", path,
           OFCTX_CONTEXT_MAX_SIZE);
  assert_fails_with(argv_file, envp, message);
  program_fails_with(OFCTX_PROBE, argv_probe, envp, message);
  write_context(path, OFCTX_CONTEXT_MAX_SIZE);
  r = run(argv_file, envp);
  assert_int_equal(r.status, 0);
  run_free(&r);
  /* taken: the start goes on to the options, where the bogus host stops it */
  program_fails_with(OFCTX_PROBE, argv_probe, envp,
                     "OFCTX_LISTEN_HOST: \"bogus\" is not an IPv4 or IPv6 address");
  unlink(path);
}

/* Runs probe and checks its exit status and that its stdout and stderr are
 * exactly `out` and `err`. */
static void probe_gives(char *const argv[], char *const envp[], int status, const char *out,
                        const char *err) {
  run_t r = run_program(OFCTX_PROBE, argv, envp);

  if (r.status != status || strcmp(r.out, out) != 0 || strcmp(r.err, err) != 0)
    fail_msg("%s %s: exit %d, stdout \"%s\", stderr \"%s\"", argv[1], argv[2] ? argv[2] : "",
             r.status, r.out, r.err);
  run_free(&r);
}

/* A function's own commands (probe's --exit-with STATUS and --hello): run
 * with the context instead of serving, their status the exit status. */
static void commands(void **state) {
  static const char doc[] = "{\"name\":\"from-file\",\"runtime\":\"Async\"}";
  char path[] = "/tmp/ofctx-test-context-XXXXXX";
  char *envp[] = {"FUNC_CONTEXT={\"name\":\"probe-ctx\",\"runtime\":\"Knative\"}",
                  "CONTEXT_MODE=self-host", "OFCTX_LISTEN_HOST=bogus", NULL};
  char *no_context[] = {"CONTEXT_MODE=self-host", NULL};
  char *clash[] = {"OFCTX_PROBE_COMMANDS=clash", NULL};
  int fd = mkstemp(path);
  (void)state;

  assert_true(fd >= 0);
  assert_int_equal(write(fd, doc, sizeof doc - 1), (ssize_t)(sizeof doc - 1));
  close(fd);
  /* the bogus listen host would stop a run: a command serves nothing */
  probe_gives((char *[]){"probe", "--exit-with", "7", NULL}, envp, 7, "probe-ctx 7 probe-arg\n",
              "");
  probe_gives((char *[]){"probe", "--exit-with=0", NULL}, envp, 0, "probe-ctx 0 probe-arg\n", "");
  probe_gives((char *[]){"probe", "--hello", NULL}, envp, 0, "hello from probe-ctx\n", "");
  /* --context before or after the command, with FUNC_CONTEXT or without */
  probe_gives((char *[]){"probe", "--exit-with", "3", "--context", path, NULL}, envp, 3,
              "from-file 3 probe-arg\n", "");
  probe_gives((char *[]){"probe", "--context", path, "--hello", NULL}, no_context, 0,
              "hello from from-file\n", "");
  /* no context: the message a run gives */
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", NULL}, no_context,
                     "FUNC_CONTEXT: env FUNC_CONTEXT not found: set FUNC_CONTEXT to the function "
                     "context JSON");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--exit-with", "0", NULL}, no_context,
                     "FUNC_CONTEXT: env FUNC_CONTEXT not found: set FUNC_CONTEXT to the function "
                     "context JSON");
  /* usage errors */
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--exit-with", NULL}, envp,
                     "probe: --exit-with needs a value (STATUS); see --help");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--exit-with=", NULL}, envp,
                     "probe: --exit-with needs a value (STATUS); see --help");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--hello=x", NULL}, envp,
                     "probe: --hello takes no value; see --help");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--hello", "--exit-with", "1", NULL}, envp,
                     "probe: --hello and --exit-with: give one command; see --help");
  program_fails_with(
      OFCTX_PROBE, (char *[]){"probe", "--hello", "--invoke", "-", NULL}, envp,
      "probe: --hello runs instead of serving: it goes without --invoke; see --help");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--hello", "--keep-going", NULL}, envp,
                     "probe: --hello runs instead of serving: it goes without --keep-going; see "
                     "--help");
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--hellox", NULL}, envp,
                     "probe: unknown argument --hellox; see --help");
  /* a command named as a built-in option stops the function at start */
  program_fails_with(OFCTX_PROBE, (char *[]){"probe", "--help", NULL}, clash,
                     "probe: the function's command \"--context\" is refused: a built-in option "
                     "of every function has that name; rename the command");
  unlink(path);
}

/* --help lists the function's commands after the built-in options. */
static void commands_help(void **state) {
  char *envp[] = {NULL};
  run_t r = run_program(OFCTX_PROBE, (char *[]){"probe", "--help", NULL}, envp);
  (void)state;

  assert_int_equal(r.status, 0);
  assert_string_equal(r.err, "");
  assert_non_null(strstr(r.out, "  --all-outcomes  with --invoke"));
  assert_non_null(strstr(r.out, "\n  --exit-with STATUS  print the context's name and STATUS, "
                                "and exit with it\n"
                                "  --hello         say hello\n"));
  assert_true(strstr(r.out, "--all-outcomes") < strstr(r.out, "--exit-with"));
  run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(usage),
      cmocka_unit_test(context_size_limit),
      cmocka_unit_test(commands),
      cmocka_unit_test(commands_help),
  };
  int failed = cmocka_run_group_tests_name("cli", tests, NULL, NULL);
  failed += case_run_folder("cli_valid", OFCTX_TEST_DATA "/context/valid", valid_case);
  failed += case_run_folder("cli_invalid", OFCTX_TEST_DATA "/context/invalid", invalid_case);
  return failed ? 1 : 0;
}
