/* The command line of a function: --help, --version, --context, --invoke
 * and the options that go with it, and the function's own commands. */
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
    "                  without a reply too\n";

static const char RUNTIME_OPTIONS[] =
    "\n"
    "Runtime options are OFCTX_* environment variables; see the libofctx docs.\n";

/* The names of the built-in options, which no command of the function may
 * take. */
static const char *const BUILTIN[] = {"help",  "version",    "context",     "invoke",
                                      "input", "keep-going", "event-lines", "all-outcomes"};

/* The longest name of a command: enough for words, and --help stays
 * aligned. */
#define COMMAND_NAME_MAX 32

/* Whether `name` is 1 to COMMAND_NAME_MAX of [a-z0-9-]. */
static int command_name_ok(const char *name) {
  size_t n = strlen(name);

  if (n == 0 || n > COMMAND_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
          name[i] == '-'))
      return 0;
  return 1;
}

/* Why the command `commands[i]` is refused (a name that is not a name, a
 * built-in option's or an earlier command's, no run), or NULL. */
static const char *command_refused(const ofctx_command_t *commands, size_t i) {
  const char *name = commands[i].name;

  if (!command_name_ok(name))
    return "a command's name is 1 to 32 of [a-z0-9-]";
  for (size_t b = 0; b < sizeof BUILTIN / sizeof *BUILTIN; b++)
    if (strcmp(name, BUILTIN[b]) == 0)
      return "a built-in option of every function has that name; rename the command";
  for (size_t j = 0; j < i; j++)
    if (strcmp(name, commands[j].name) == 0)
      return "an earlier command has that name";
  if (!commands[i].run)
    return "its run is NULL";
  return NULL;
}

/* 0 when every command of `commands` (NULL: none) can be given; -1 with
 * the message on stderr. */
static int check_commands(const ofctx_command_t *commands, const char *prog) {
  for (size_t i = 0; commands && commands[i].name; i++) {
    const char *why = command_refused(commands, i);
    if (why) {
      fprintf(stderr, "%s: the function's command \"--%.40s\" is refused: %s\n", prog,
              commands[i].name, why);
      return -1;
    }
  }
  return 0;
}

/* --help: the built-in options, then the function's own commands. */
static void usage(const char *prog, const ofctx_command_t *commands) {
  printf(USAGE, prog, ofctx_version_string());
  if (commands && commands[0].name)
    printf("\nThe function's own commands: each reads the function context as a run\n"
           "does (--context FILE too), runs instead of serving and gives the exit\n"
           "status.\n\n");
  for (size_t i = 0; commands && commands[i].name; i++) {
    const ofctx_command_t *c = &commands[i];
    int n =
        printf("  --%s%s%s", c->name, c->value_name ? " " : "", c->value_name ? c->value_name : "");
    /* The help starts in the built-in options' column, or two spaces on. */
    printf("%*s%s\n", n < 16 ? 18 - n : 2, "", c->help ? c->help : "");
  }
  printf("%s", RUNTIME_OPTIONS);
}

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

/* The function's command argv[*i] gives, into args->command and
 * args->command_value: 1; 0 when argv[*i] names none; -1 after a usage
 * error (the message is on stderr). */
static int command_arg(ofctx__args_t *args, const ofctx_command_t *commands, int argc, char **argv,
                       int *i, const char *prog) {
  const char *name = argv[*i], *value = NULL;
  const ofctx_command_t *c = NULL;
  char opt[COMMAND_NAME_MAX + 3];

  for (size_t k = 0; !c && commands && commands[k].name; k++) {
    size_t n = (size_t)snprintf(opt, sizeof opt, "--%s", commands[k].name);
    if (commands[k].value_name ? option(argc, argv, i, opt, &value)
                               : strncmp(name, opt, n) == 0 && (!name[n] || name[n] == '='))
      c = &commands[k];
  }
  if (!c)
    return 0;
  if (args->command) {
    fprintf(stderr, "%s: --%s and --%s: give one command; see --help\n", prog, args->command->name,
            c->name);
    return -1;
  }
  if (c->value_name && (!value || !*value)) {
    fprintf(stderr, "%s: --%s needs a value (%s); see --help\n", prog, c->name, c->value_name);
    return -1;
  }
  if (!c->value_name && strchr(name, '=')) {
    fprintf(stderr, "%s: --%s takes no value; see --help\n", prog, c->name);
    return -1;
  }
  args->command = c;
  args->command_value = value;
  return 1;
}

int ofctx__args_parse(ofctx__args_t *args, int argc, char **argv, const ofctx_command_t *commands) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "function";

  memset(args, 0, sizeof *args);
  if (check_commands(commands, prog) != 0)
    return -1;
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL;
    const char *value = NULL, *name = argv[i];
    int *flag = local_flag(&args->local, argv[i]);
    int given;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(prog, commands);
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
    given = command_arg(args, commands, argc, argv, &i, prog);
    if (given < 0)
      return -1;
    if (given > 0)
      continue;
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
  if (args->command && (args->local.path || local_option(&args->local))) {
    fprintf(stderr, "%s: --%s runs instead of serving: it goes without %s; see --help\n", prog,
            args->command->name, args->local.path ? "--invoke" : local_option(&args->local));
    return -1;
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
  /* what runs instead of serving (--invoke, a command) needs no pod */
  ofctx_getenv_fn env = args->local.path || args->command ? local_getenv : NULL;
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
