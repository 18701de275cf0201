/* Internal: the local runtime (--invoke FILE), for trying a function
 * without Dapr: each line of a file, or of stdin, is one event, and the
 * host's sink (a local sink: local_sink.h) prints each send. */
#ifndef OFCTX_LOCAL_H
#define OFCTX_LOCAL_H

#include <stddef.h>

#include "invocation.h"

typedef struct {
  size_t max_line;   /* longer lines are skipped (and counted) */
  const char *input; /* the input the events are for; NULL: the first */
  int keep_going;    /* go on past a failed event, and exit 0 for it */
  int event_lines;   /* each line is an event object, not the event's data */
} ofctx__local_options_t;

/* Runs the host's function once per line of `path` ("-" for stdin); prints
 * each event's outcome (local_sink.h) once it has settled, a summary on
 * stderr, and returns the exit status: 0, 1 when an event failed (without
 * keep_going), a line was skipped or reading failed, 2 for a bad input
 * name or file. */
int ofctx__local_run(ofctx__host_t *host, const char *path, const ofctx__local_options_t *opts);

#endif
