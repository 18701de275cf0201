/* The command line of a function: --help, --version, --context, --invoke
 * and the options that go with it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error_msg.h"
#include "mem.h"
#include "ofctx/version.h"

static const char USAGE[] =
    "usage: %s [--context FILE] [--invoke FILE|- [--input NAME] [--event-lines]\n"
    "          [--keep-going] [--all-outcomes]] [--help] [--version]\n"
    "\n"
    "An OpenFunction function built with libofctx %s. It reads its function\n"
    "context from FUNC_CONTEXT (or FUNC_CONTEXT_V1BETA2) and, on the context's\n"
    "port (PORT wins), serves the events that Dapr delivers (runtime Async) or\n"
    "HTTP requests and CloudEvents on httpPattern (runtime Knative), until\n"
    "SIGTERM or SIGINT.\n"
    "\n"
    "  --context FILE  read the function context from FILE instead\n"
    "  --invoke FILE   run locally: each line of FILE (\"-\": stdin) is one event\n"
    "                  for the first input; each send is printed on stdout as a\n"
    "                  JSON line instead of going to Dapr, and so is the end of\n"
    "                  each event that did not succeed or set a reply (its\n"
    "                  outcome and reply); a summary goes to stderr. It stops\n"
    "                  at the first event that fails, and exits 1 then\n"
    "  --input NAME    with --invoke: deliver to this input instead\n"
    "  --event-lines   with --invoke: each line is an event as a JSON object,\n"
    "                  {\"data\":...} or {\"data_base64\":\"...\"}, with optional\n"
    "                  \"metadata\" and (pub/sub inputs) \"attributes\" objects\n"
    "  --keep-going    with --invoke: handle every line whatever its event did,\n"
    "                  and exit 0 when every line was read\n"
    "  --all-outcomes  with --invoke: print the end of every event, a success\n"
    "                  without a reply too\n"
    "\n"
    "Runtime options are OFCTX_* environment variables; see the libofctx docs.\n";

/* The local mode's switch named `arg` (--keep-going, --event-lines,
 * --all-outcomes), or NULL when `arg` names none. */
static int *local_flag(ofctx__local_args_t *local, const char *arg) {
  if (strcmp(arg, "--keep-going") == 0)
    return &local->keep_going;
  if (strcmp(arg, "--event-lines") == 0)
    return &local->event_lines;
  if (strcmp(arg, "--all-outcomes") == 0)
    return &local->all_outcomes;
  return NULL;
}

/* The first local-mode option given in `local` (which needs --invoke), or
 * NULL. */
static const char *local_option(const ofctx__local_args_t *local) {
  return local->input          ? "--input"
         : local->keep_going   ? "--keep-going"
         : local->event_lines  ? "--event-lines"
         : local->all_outcomes ? "--all-outcomes"
                               : NULL;
}

/* --name VALUE or --name=VALUE; 1 when argv[*i] is this option. */
static int option(int argc, char **argv, int *i, const char *name, const char **value) {
  size_t n = strlen(name);

  if (strncmp(argv[*i], name, n) != 0)
    return 0;
  if (argv[*i][n] == '=') {
    *value = argv[*i] + n + 1;
    return 1;
  }
  if (argv[*i][n] != '\0')
    return 0;
  *value = *i + 1 < argc ? argv[++*i] : NULL;
  return 1;
}

int ofctx__args_parse(ofctx__args_t *args, int argc, char **argv) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "function";

  memset(args, 0, sizeof *args);
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL;
    const char *value = NULL, *name = argv[i];
    int *flag = local_flag(&args->local, argv[i]);
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf(USAGE, prog, ofctx_version_string());
      return 1;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("%s (libofctx %s)\n", prog, ofctx_version_string());
      return 1;
    }
    if (flag) {
      *flag = 1;
      continue;
    }
    if (option(argc, argv, &i, "--context", &value))
      slot = &args->context;
    else if (option(argc, argv, &i, "--invoke", &value))
      slot = &args->local.path;
    else if (option(argc, argv, &i, "--input", &value))
      slot = &args->local.input;
    if (!slot) {
      fprintf(stderr, "%s: unknown argument %s; see --help\n", prog, name);
      return -1;
    }
    if (!value || !*value) {
      fprintf(stderr, "%s: %s needs a value; see --help\n", prog, name);
      return -1;
    }
    *slot = value;
  }
  if (local_option(&args->local) && !args->local.path) {
    fprintf(stderr, "%s: %s goes with --invoke; see --help\n", prog, local_option(&args->local));
    return -1;
  }
  return 0;
}

static const char *local_getenv(void *arg, const char *name) {
  const char *value = getenv(name);
  (void)arg;
  if (strcmp(name, "CONTEXT_MODE") == 0 && (!value || !*value))
    return "self-host";
  return value;
}

/* The whole file in a new NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len, ofctx_error_t *err) {
  FILE *f = fopen(path, "rb");
  char *text;

  if (!f) {
    ofctx__error(err, OFCTX_ECONTEXT, "--context %s: cannot open the file: %s", path,
                 strerror(errno));
    return NULL;
  }
  /* One byte past the limit is enough for the parse to refuse the document. */
  text = ofctx__malloc(OFCTX_CONTEXT_MAX_SIZE + 2);
  *len = text ? fread(text, 1, OFCTX_CONTEXT_MAX_SIZE + 1, f) : 0;
  if (!text || ferror(f)) {
    ofctx__error(err, text ? OFCTX_ECONTEXT : OFCTX_ENOMEM, "--context %s: %s", path,
                 !text ? "out of memory" : strerror(errno));
    ofctx__free(text);
    fclose(f);
    return NULL;
  }
  fclose(f);
  text[*len] = '\0';
  return text;
}

ofctx_err_t ofctx__args_context(const ofctx__args_t *args, ofctx_config_t **cfg,
                                ofctx_error_t *err) {
  ofctx_getenv_fn env = args->local.path ? local_getenv : NULL;
  ofctx_err_t rc;
  size_t len;
  char *text;

  if (!args->context)
    return ofctx_config_load(cfg, env, NULL, err);
  text = read_file(args->context, &len, err);
  if (!text)
    return err->code;
  rc = ofctx_config_parse(cfg, args->context, text, len, env, NULL, err);
  ofctx__free(text);
  return rc;
}
