/* ofctx: the command-line tool that ships with libofctx.
 *
 *   ofctx context check [--file PATH]   validate a function context
 *   ofctx new NAME ...                  scaffold a function
 *   ofctx run ... -- COMMAND            run a function with a sidecar emulator
 *   ofctx invoke ...                    send an event to a running function
 *   ofctx components FUNCTION --out DIR write a Function's Dapr components
 *   ofctx version                       print the library version
 *
 * new, run, invoke and components are ofctx_dev.py (Python), in share/libofctx.
 * Exit status: as USAGE says (2 for a bad context or usage; new, run and
 * invoke: theirs). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ofctx/ofctx.h>

#define EXIT_ERROR 2

static const char USAGE[] =
    "usage: ofctx <command> [options]\n"
    "\n"
    "Commands:\n"
    "  context check [--file PATH]\n"
    "      Validate the function context the way a libofctx function does at\n"
    "      start-up and print it, normalized, as JSON on stdout. The context is\n"
    "      FUNC_CONTEXT_V1BETA2 when set, else FUNC_CONTEXT; with --file it is the\n"
    "      JSON document in PATH instead. Either way POD_NAME, POD_NAMESPACE,\n"
    "      CONTEXT_MODE, DAPR_HOST, DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_API_TOKEN,\n"
    "      APP_PROTOCOL, APP_API_TOKEN, PORT and OFCTX_SUBSCRIPTION_METADATA are\n"
    "      read from the environment (outside Kubernetes, set\n"
    "      CONTEXT_MODE=self-host). On an error the message names the variable or\n"
    "      the JSON path at fault, e.g.\n"
    "        FUNC_CONTEXT: $.inputs.kafka.componentType: \"state.redis\" is not ...\n"
    "  new NAME [--runtime async|knative] [--signature openfunction|http]\n"
    "          [--state STORE] [--dir DIR]\n"
    "      Make a function that builds and runs at once: NAME.c, main.c,\n"
    "      CMakeLists.txt, context.json, a Dockerfile, function.yaml (the\n"
    "      OpenFunction Function), Dapr components and a README; with --state,\n"
    "      a Dapr state store STORE and a function that counts events in it.\n"
    "  run [--context FILE] [--dapr-http-port PORT] [--verbose] -- COMMAND [ARG...]\n"
    "      Run the function COMMAND with a Dapr sidecar emulator wired to its\n"
    "      context, printing what the function sends to it; no Dapr needed.\n"
    "      Ctrl-C or SIGTERM stops the function, then the emulator (a second\n"
    "      Ctrl-C kills the function). One runs at a time for each\n"
    "      XDG_RUNTIME_DIR: a second one is refused.\n"
    "  invoke binding NAME [DATA] [--metadata KEY=VALUE]...\n"
    "  invoke pubsub NAME TOPIC [DATA] [--content-type TYPE]\n"
    "  invoke cloudevent URL [DATA] [--structured] [--type T] [--source S] [--id ID]\n"
    "      Send one binding event or pub/sub message (through the emulator of\n"
    "      'ofctx run'), or one CloudEvent (binary mode, or --structured) to a\n"
    "      running function, and print its answer and sends. DATA is the text,\n"
    "      @FILE or - (stdin). Exit status 1 when the event was not taken (not\n"
    "      acknowledged, or dropped), or nothing answered.\n"
    "  components FUNCTION.yaml --out DIR\n"
    "      Write the Dapr Components that the OpenFunction Function in\n"
    "      FUNCTION.yaml declares (spec.serving.bindings, pubsub and states), one\n"
    "      DIR/NAME.yaml each: the resources directory of the direct mode\n"
    "      (OFCTX_RESOURCES_PATH) or of 'dapr run --resources-path'.\n"
    "      new, run, invoke and components need python3; components python3-yaml.\n"
    "  version\n"
    "      Print the libofctx version.\n"
    "  help, --help, -h\n"
    "      Print this help.\n"
    "\n"
    "Exit status: 0 on success; 1 when invoke's event was not taken (not\n"
    "acknowledged, or dropped), its CloudEvent got no 2xx, or the sidecar\n"
    "emulator or URL did not answer (or run's emulator did not start); 2 for a\n"
    "bad context, a bad argument or a usage error; run: the function's status,\n"
    "0 when Ctrl-C or SIGTERM stopped it.\n";

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "ofctx: %s%s; see 'ofctx --help'\n", what, arg);
  return EXIT_ERROR;
}

/* Reads the file into a new NUL-terminated buffer (free it): all of it, or
 * one byte more than a context may have, so that the library, which takes
 * the same decision for every loader, refuses it. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;

  if (!f) {
    fprintf(stderr, "%s: cannot open the context file: %s\n", path, strerror(errno));
    return NULL;
  }
  buf = malloc(OFCTX_CONTEXT_MAX_SIZE + 2);
  if (!buf) {
    fprintf(stderr, "%s: out of memory\n", path);
    fclose(f);
    return NULL;
  }
  *len = fread(buf, 1, OFCTX_CONTEXT_MAX_SIZE + 1, f);
  if (ferror(f)) {
    fprintf(stderr, "%s: cannot read the context file: %s\n", path, strerror(errno));
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  buf[*len] = '\0';
  return buf;
}

static int context_check(int argc, char **argv) {
  const char *file = NULL;
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  ofctx_err_t rc;
  char *json;

  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--file") == 0) {
      if (i + 1 >= argc)
        return usage_error("a PATH must follow ", argv[i]);
      file = argv[++i];
    } else if (strncmp(argv[i], "--file=", 7) == 0) {
      file = argv[i] + 7;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(USAGE, stdout);
      return 0;
    } else {
      return usage_error("context check: unknown argument ", argv[i]);
    }
  }
  if (file) {
    size_t len;
    char *text = read_file(file, &len);
    if (!text)
      return EXIT_ERROR;
    rc = ofctx_config_parse(&cfg, file, text, len, NULL, NULL, &err);
    free(text);
  } else {
    rc = ofctx_config_load(&cfg, NULL, NULL, &err);
  }
  if (rc != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return EXIT_ERROR;
  }
  json = ofctx_config_to_json(cfg);
  ofctx_config_free(cfg);
  if (!json) {
    fputs("ofctx: out of memory\n", stderr);
    return EXIT_ERROR;
  }
  puts(json);
  ofctx_free(json);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "ofctx: cannot write the context: %s\n", strerror(errno));
    return EXIT_ERROR;
  }
  return 0;
}

/* new, run, invoke, components: python3 ofctx_dev.py THIS_PROGRAM VERB ARGS... from
 * OFCTX_DEV_DIR, else share/libofctx beside this program's bin. */
static int dev_verb(int argc, char **argv) {
  char self[PATH_MAX], script[PATH_MAX + 64];
  const char *dir = getenv("OFCTX_DEV_DIR");
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char **args = calloc((size_t)argc + 3, sizeof *args);
  int len;

  if (n <= 0 || !args) {
    fputs("ofctx: cannot find where this program lies (/proc/self/exe)\n", stderr);
    free(args);
    return EXIT_ERROR;
  }
  self[n] = '\0';
  if (dir)
    len = snprintf(script, sizeof script, "%s/ofctx_dev.py", dir);
  else
    len = snprintf(script, sizeof script, "%.*s/%s/ofctx_dev.py", (int)(strrchr(self, '/') - self),
                   self, OFCTX_BIN_TO_DEV);
  if (len < 0 || (size_t)len >= sizeof script || access(script, R_OK) != 0) {
    fprintf(stderr, "ofctx: %s is missing (OFCTX_DEV_DIR names its folder)\n", script);
    free(args);
    return EXIT_ERROR;
  }
  args[0] = "python3";
  args[1] = script;
  args[2] = self;
  for (int i = 1; i < argc; i++)
    args[i + 2] = argv[i];
  execvp("python3", args);
  fprintf(stderr, "ofctx: %s needs python3: %s (apt-get install python3)\n", argv[1],
          strerror(errno));
  free(args);
  return EXIT_ERROR;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("a command is required", "");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(USAGE, stdout);
    return 0;
  }
  if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
    printf("libofctx %s\n", ofctx_version_string());
    return 0;
  }
  if (strcmp(argv[1], "new") == 0 || strcmp(argv[1], "run") == 0 ||
      strcmp(argv[1], "invoke") == 0 || strcmp(argv[1], "components") == 0)
    return dev_verb(argc, argv);
  if (strcmp(argv[1], "context") == 0) {
    if (argc >= 3 && strcmp(argv[2], "check") == 0)
      return context_check(argc - 3, argv + 3);
    return usage_error("context: unknown subcommand ", argc >= 3 ? argv[2] : "(none)");
  }
  return usage_error("unknown command ", argv[1]);
}
