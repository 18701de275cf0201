/* Internal: a mode is how events reach the function: from Dapr over HTTP
 * or over gRPC (Async: bindings and pub/sub), from users over HTTP
 * (Knative: one route), or from a file (the local runtime, --invoke). The
 * runtime picks the mode once, from a table of the context's runtime and
 * app protocol (or the local mode, with --invoke), and hands it the
 * requests that are not its own; after that it never asks which mode it
 * runs. A new transport of events is one new mode. */
#ifndef OFCTX_MODE_H
#define OFCTX_MODE_H

#include <stddef.h>

#include "buf.h"
#include "components.h"
#include "grpc_server.h"
#include "http_server.h"
#include "invocation.h"
#include "metrics.h"
#include "ofctx/config.h"
#include "ofctx/error.h"
#include "retry.h"
#include "sink.h"

/* The local mode's command line (args.c reads it). */
typedef struct {
  const char *path;  /* --invoke FILE: the events ("-": stdin); NULL: not local */
  const char *input; /* --input NAME: the input the events are for; NULL: the first */
  int keep_going;    /* --keep-going: go on past a failed event, and exit 0 for it */
  int event_lines;   /* --event-lines: each line is an event object, not the event's data */
  int all_outcomes;  /* --all-outcomes: an end line for every event, not only for those that
                      * did not succeed or set a reply */
} ofctx__local_args_t;

/* What a mode gets to start with; all borrowed for the mode's life. */
typedef struct {
  const ofctx_config_t *cfg;
  ofctx__host_t *host;        /* for its invocations */
  ofctx__metrics_t *metrics;  /* for the events it answers itself */
  const char *http_pattern;   /* OFCTX_HTTP_PATTERN, or NULL */
  const char *const *methods; /* the methods a Knative function takes; NULL: all */
  size_t max_metadata;        /* OFCTX_MAX_METADATA: metadata entries of one event */
  size_t max_line;            /* the local mode: OFCTX_MAX_BODY_SIZE, the longest line read */
  ofctx__local_args_t local;  /* the local mode's command line */
  /* the direct mode: the components (OFCTX_RESOURCES_PATH), and the
   * back-off of a record that is delivered again */
  const ofctx__comps_t *comps;
  const ofctx__retry_policy_t *redelivery;
  uint64_t grace_ms; /* OFCTX_GRACE_PERIOD_MS: the direct mode's drain ends by then */
  size_t max_held;   /* OFCTX_DIRECT_MAX_HELD_BYTES: the bytes of records an input holds */
} ofctx__mode_env_t;

typedef struct {
  const char *name; /* the runtime as the context spells it ("Local": --invoke) */
  /* Requests come from users, not from Dapr: no app token is asked for,
   * and the events count as one input, "http". */
  int from_users;
  /* A plain HTTP function (ofctx_main_opts_t.http) may run in this mode. */
  int takes_http_functions;
  /* The mode's state, or NULL with the reason in `err` (which may be
   * NULL): a bad pattern, a bad method name, out of memory. */
  void *(*start)(const ofctx__mode_env_t *env, ofctx_error_t *err);
  /* 1 when the request is the mode's (answered, or handed to an
   * invocation); 0 leaves it to the runtime. NULL for a mode that serves
   * nothing. */
  int (*route)(void *state, ofctx__http_request_t *req);
  /* A gRPC mode takes every gRPC call (the runtime has checked its app
   * token) and answers it; NULL for a mode of HTTP only. */
  void (*call)(void *state, ofctx__grpc_call_t *call);
  /* A field of the "started" log line: what the mode serves. NULL for a
   * mode that serves nothing. */
  void (*describe)(void *state, const char **key, const char **value);
  /* A mode that serves nothing (the local runtime) does all its work here,
   * instead of the runtime's server and loop, and returns the exit status;
   * NULL for a mode that serves. */
  int (*run)(void *state);
  /* The mode's own sink for the host (the local runtime prints its sends);
   * NULL: the runtime's, the sidecar. */
  ofctx__sink_t *(*sink_new)(const ofctx_config_t *cfg);
  void (*stop)(void *state);
  /* A mode that fetches its events itself (the direct mode) starts doing
   * so here, once the loop runs: 0, or -1 with the reason in `err`. NULL
   * for a mode that waits for requests. */
  int (*listen)(void *state, ofctx_error_t *err);
  /* ... and stops here (SIGTERM): no new event, the work in flight
   * finished or given up, what is done committed, its handles closed, then
   * `closed(arg)`, never from inside `drain`. NULL with `listen`. */
  void (*drain)(void *state, void (*closed)(void *arg), void *arg);
  /* The mode's own families on /metrics (the direct mode's consumer lag),
   * appended to `out` after the library's counters; NULL: none. */
  void (*metrics)(void *state, ofctx__buf_t *out);
  /* Once the loop has ended: the exit status the mode asks for (the direct
   * mode's brokers refused its authentication), 0 for none. NULL: none. */
  int (*exit_status)(void *state);
} ofctx__mode_t;

extern const ofctx__mode_t ofctx__async_http_mode; /* async_http.c: Async over HTTP */
extern const ofctx__mode_t ofctx__async_grpc_mode; /* async_grpc.c: Async over gRPC */
extern const ofctx__mode_t ofctx__knative_mode;    /* knative.c */
extern const ofctx__mode_t ofctx__local_mode;      /* local.c: --invoke */
extern const ofctx__mode_t ofctx__direct_mode;     /* direct_kafka.c: OFCTX_DIRECT=1 */

#endif
