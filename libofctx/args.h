/* Internal: the command line every function accepts, and the function
 * context it names. */
#ifndef OFCTX_ARGS_H
#define OFCTX_ARGS_H

#include "ofctx/config.h"

typedef struct {
  const char *context; /* --context FILE: the context from a file */
  const char *invoke;  /* --invoke FILE: the local runtime ("-": stdin) */
  const char *input;   /* --input NAME: the input --invoke delivers to */
  int keep_going;      /* --keep-going: --invoke goes on past a failed event */
  int event_lines;     /* --event-lines: each --invoke line is an event object */
} ofctx__args_t;

/* 0 to run; 1 when --help or --version was answered; -1 after a usage
 * error (the message is on stderr). */
int ofctx__args_parse(ofctx__args_t *args, int argc, char **argv);

/* The function context: from --context FILE, else the environment. The
 * local runtime needs no Kubernetes, so there CONTEXT_MODE defaults to
 * self-host. OFCTX_OK, or the error with its message in `err`. */
ofctx_err_t ofctx__args_context(const ofctx__args_t *args, ofctx_config_t **cfg,
                                ofctx_error_t *err);

#endif
