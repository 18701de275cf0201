/* Internal: the local runtime (--invoke FILE), for trying a function
 * without Dapr: each line of a file, or of stdin, is one event, and the
 * host's sink (a local sink: local_sink.h) prints each send. */
#ifndef OFCTX_LOCAL_H
#define OFCTX_LOCAL_H

#include <stddef.h>

#include "invocation.h"

/* Runs the host's function once per line of `path` ("-" for stdin) as
 * events of the input `input` (NULL: the first), skipping (and counting)
 * lines over `max_line` bytes; prints a summary on stderr and returns the
 * exit status. */
int ofctx__local_run(ofctx__host_t *host, size_t max_line, const char *path, const char *input);

#endif
