/* Internal: the command line every function accepts, and the function
 * context it names. */
#ifndef OFCTX_ARGS_H
#define OFCTX_ARGS_H

#include "mode.h"
#include "ofctx/config.h"
#include "ofctx/function.h"

typedef struct {
  const char *context;            /* --context FILE: the context from a file */
  ofctx__local_args_t local;      /* --invoke FILE and what goes with it: the local mode */
  const ofctx_command_t *command; /* the function's own command given, or NULL */
  const char *command_value;      /* its value; NULL when it takes none */
} ofctx__args_t;

/* The command line, with the function's own `commands` (ended by a NULL
 * name; NULL: none) beside the built-in options: 0 to run (a command, when
 * args->command is set); 1 when --help or --version was answered; -1 after
 * a usage error or when a command's name is refused (the message is on
 * stderr). `args` borrows from `argv` and `commands`. */
int ofctx__args_parse(ofctx__args_t *args, int argc, char **argv, const ofctx_command_t *commands);

/* The function context: from --context FILE, else the environment. The
 * local runtime needs no Kubernetes, so there CONTEXT_MODE defaults to
 * self-host. OFCTX_OK, or the error with its message in `err`. */
ofctx_err_t ofctx__args_context(const ofctx__args_t *args, ofctx_config_t **cfg,
                                ofctx_error_t *err);

#endif
