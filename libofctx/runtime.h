/* Internal: the runtime that ofctx_main runs (one libuv loop, the HTTP
 * server, the sidecar client) and the invocation life cycle every event goes
 * through. */
#ifndef OFCTX_RUNTIME_H
#define OFCTX_RUNTIME_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "dapr_client.h"
#include "event.h"
#include "http_server.h"
#include "invocation.h"
#include "metrics.h"
#include "ofctx/function.h"
#include "options.h"
#include "sink.h"

typedef struct ofctx__runtime ofctx__runtime_t;

struct ofctx__runtime {
  uv_loop_t loop;
  ofctx_config_t *cfg;
  ofctx__options_t opts;
  ofctx_function_t fn;            /* the OpenFunction signature, or */
  ofctx_http_function_t http_fn;  /* a plain HTTP function (Knative) */
  const char *const *methods;     /* Knative: the methods taken; NULL: all */
  struct ofctx__route *route;     /* Knative: httpPattern */
  ofctx__http_server_t *server;
  ofctx__dapr_client_t *dapr; /* see ofctx__runtime_dapr */
  int dapr_closed;
  uv_signal_t sigterm, sigint;
  uv_timer_t grace, sidecar_wait;
  uint64_t sidecar_deadline;
  int sidecar_ready; /* the sidecar answered, or it is not needed */
  int sidecar_warned; /* the start-up wait ran out */
  int draining;
  int server_open;
  char **routes; /* Async, per input: the path Dapr delivers it to */
  ofctx__host_t host; /* what invocations need of the runtime */
  ofctx__metrics_t metrics;
  ofctx__sink_t *sink; /* where sends go: the sidecar, or stdout (--invoke) */
};

/* The sidecar client, made at the first call; NULL when out of memory or
 * once the runtime has stopped. */
ofctx__dapr_client_t *ofctx__runtime_dapr(ofctx__runtime_t *rt);

/* The Async runtime: its routes (one per input) are worked out at start;
 * ofctx__async_route takes `req` when it is one of them, or one of Dapr's
 * /dapr/subscribe and /dapr/config, and returns 1 (answered or handed to an
 * invocation), else 0. */
int ofctx__async_start(ofctx__runtime_t *rt);
int ofctx__async_route(ofctx__runtime_t *rt, ofctx__http_request_t *req);
void ofctx__async_stop(ofctx__runtime_t *rt);

/* The Knative runtime: its route (httpPattern) is compiled at start (-1
 * with a message in `err` when it is not valid); ofctx__knative_route takes
 * `req` when its path matches and returns 1, else 0. */
int ofctx__knative_start(ofctx__runtime_t *rt, char *err, size_t size);
int ofctx__knative_route(ofctx__runtime_t *rt, ofctx__http_request_t *req);
/* The route's pattern: OFCTX_HTTP_PATTERN, else the context's httpPattern. */
const char *ofctx__knative_pattern(const ofctx__runtime_t *rt);
void ofctx__knative_stop(ofctx__runtime_t *rt);

/* The local runtime: runs the function once per line of `path` ("-" for
 * stdin) as events of the input `input` (NULL: the first), printing sends
 * on stdout; returns the exit status. */
int ofctx__local_run(ofctx__runtime_t *rt, const char *path, const char *input);

/* A JSON answer with the given status. */
void ofctx__respond_json(ofctx__http_request_t *req, int status, const char *json);

#endif
