/* ofctx_main: the context, the options, one libuv loop with the HTTP server
 * and the sidecar client, the routes every runtime shares (health, metrics,
 * the app token), start-up and graceful shutdown. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "buf.h"
#include "curl_lib.h"
#include "dapr_grpc_sink.h"
#include "dapr_http_client.h"
#include "dapr_http_sink.h"
#include "direct_sink.h"
#include "error_msg.h"
#include "grpc_client.h"
#include "grpc_server.h"
#include "grpc_wire.h"
#include "http_server.h"
#include "invocation.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "metrics_writer.h"
#include "mode.h"
#include "ofctx/version.h"
#include "options.h"
#include "sink.h"

/* ---- the runtime ---- */

typedef struct ofctx__runtime ofctx__runtime_t;

struct ofctx__runtime {
  uv_loop_t loop;
  ofctx_config_t *cfg;
  ofctx__options_t opts;
  ofctx_function_t fn;             /* the OpenFunction signature, or */
  ofctx_http_function_t http_fn;   /* a plain HTTP function (Knative) */
  ofctx_batch_function_t batch_fn; /* a batch function (bulk, or batches of one) */
  const char *const *methods;      /* Knative: the methods taken; NULL: all */
  void (*tick)(ofctx_t *ctx, int stopping, void *user_data); /* ofctx_main_opts_t.tick */
  unsigned tick_ms;
  void (*fini)(void *user_data); /* set once init succeeded: release calls it */
  uv_timer_t ticker;
  const ofctx__mode_t *mode; /* how events come: the context's runtime */
  void *mode_state;
  ofctx__http_server_t *server;
  ofctx__grpc_server_t *grpc; /* a gRPC mode's calls, on the same port */
  ofctx__budget_t budget;     /* OFCTX_MAX_BODIES_SIZE, for both servers together */
  int grpc_open;
  ofctx__dapr_http_client_t *dapr; /* see runtime_dapr */
  int dapr_closed;
  ofctx__grpc_client_t *grpc_client; /* sends over the sidecar's gRPC API */
  uv_signal_t sigterm, sigint;
  uv_timer_t grace, sidecar_wait;
  uint64_t sidecar_deadline;
  int sidecar_ready;  /* the sidecar answered, or it is not needed */
  int sidecar_warned; /* the start-up wait ran out */
  int draining;
  int server_open;
  ofctx__host_t host; /* what invocations need of the runtime */
  ofctx__metrics_t metrics;
  ofctx_metrics_function_t collector;   /* the function's own metrics, or NULL */
  const ofctx_hook_t *registered_hooks; /* the function's hooks, ended by a NULL name */
  ofctx__hooks_t hooks;                 /* the ones the context names, in run order */
  ofctx__sink_t *sink;  /* where sends go: the sidecar, stdout (--invoke), or the components */
  ofctx__comps_t comps; /* the direct mode's components (OFCTX_RESOURCES_PATH) */
  int mode_open;        /* the direct mode's consumers are not closed yet */
  int tracing;          /* W3C Trace Context propagated (opentelemetry) */
  char *baggage;        /* the context's baggage as a header value, or NULL */
};

#define EXIT_BAD_CONFIG 2
#define EXIT_CANNOT_START 1

static void respond_text(ofctx__http_request_t *req, int status, const char *text) {
  ofctx__http_header_t type = {"Content-Type", "text/plain; charset=utf-8"};
  ofctx__http_respond(req, status, &type, 1, text, strlen(text));
}

/* Compares in time that depends only on the expected token's length. */
static int token_matches(const char *given, const char *expected) {
  size_t glen = given ? strlen(given) : 0, elen = strlen(expected);
  unsigned char diff = (unsigned char)(glen != elen);

  for (size_t i = 0; i < elen; i++)
    diff |= (unsigned char)((i < glen ? given[i] : 0) ^ expected[i]);
  return given && diff == 0;
}

/* ---- /metrics (Prometheus text format 0.0.4) ---- */

static void metrics(ofctx__runtime_t *rt, ofctx__http_request_t *req) {
  ofctx__http_header_t type = {"Content-Type", "text/plain; version=0.0.4; charset=utf-8"};
  ofctx__metrics_gauges_t gauges = {rt->host.inflight_count,
                                    (rt->server ? ofctx__http_server_connections(rt->server) : 0) +
                                        (rt->grpc ? ofctx__grpc_server_connections(rt->grpc) : 0)};
  ofctx__buf_t t = {0};

  ofctx__metrics_render(&rt->metrics, &gauges, &t);
  if (rt->mode->metrics && rt->mode_open)
    rt->mode->metrics(rt->mode_state, &t);
  if (rt->collector)
    ofctx__metrics_collect(&t, rt->collector, rt->host.user_data);
  if (t.failed)
    respond_text(req, 503, "out of memory\n");
  else
    ofctx__http_respond(req, 200, &type, 1, t.data, t.len);
  ofctx__buf_free(&t);
}

/* ---- requests ---- */

/* Probes and scrapes come from the kubelet and Prometheus, not from Dapr:
 * they carry no token. */
static int runtime_route(const char *method, const char *path) {
  return strcmp(method, "GET") == 0 &&
         (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
          strcmp(path, "/metrics") == 0);
}

/* The app token, checked on the head alone: a request without it is
 * answered 401 before its body is read, so that nobody without the token
 * makes the function hold a body. */
static int check_head(void *arg, const ofctx__http_request_t *req, const char **json) {
  ofctx__runtime_t *rt = arg;
  const char *token = ofctx_config_app_api_token(rt->cfg);

  /* users call a sync function, not Dapr: no app token */
  if (!token || rt->mode->from_users ||
      runtime_route(ofctx__http_request_method(req), ofctx__http_request_path(req)) ||
      token_matches(ofctx__http_request_header(req, "dapr-api-token"), token))
    return 0;
  ofctx__metrics_rejected(&rt->metrics);
  *json = "{\"error\":\"missing or wrong dapr-api-token\"}";
  return 401;
}

static void handle(void *arg, ofctx__http_request_t *req) {
  ofctx__runtime_t *rt = arg;
  const char *path = ofctx__http_request_path(req);
  const char *method = ofctx__http_request_method(req);

  if (strcmp(method, "GET") == 0 && strcmp(path, "/healthz") == 0) {
    respond_text(req, 200, "ok\n");
    return;
  }
  if (strcmp(method, "GET") == 0 && strcmp(path, "/readyz") == 0) {
    if (rt->draining)
      respond_text(req, 503, "draining\n");
    else if (!rt->sidecar_ready)
      respond_text(req, 503, "waiting for the Dapr sidecar\n");
    else
      respond_text(req, 200, "ready\n");
    return;
  }
  if (strcmp(method, "GET") == 0 && strcmp(path, "/metrics") == 0) {
    metrics(rt, req);
    return;
  }
  if (rt->mode->route && rt->mode->route(rt->mode_state, req))
    return;
  ofctx__http_respond_json(req, 404, "{\"error\":\"no such route\"}");
}

/* The app token on a gRPC call's metadata, checked when its head ends:
 * a call without it is answered UNAUTHENTICATED before a byte of its
 * message is taken, so that nobody without the token makes the function
 * hold a message (nor keep its head). */
static int check_call_head(void *arg, const ofctx__grpc_call_t *call, const char **message) {
  ofctx__runtime_t *rt = arg;
  const char *token = ofctx_config_app_api_token(rt->cfg);

  if (!token || token_matches(ofctx__grpc_call_metadata(call, "dapr-api-token"), token))
    return 0;
  ofctx__metrics_rejected(&rt->metrics);
  *message = "missing or wrong dapr-api-token";
  return OFCTX__GRPC_UNAUTHENTICATED;
}

/* A gRPC call, its head checked (check_call_head): the mode's. */
static void handle_call(void *arg, ofctx__grpc_call_t *call) {
  ofctx__runtime_t *rt = arg;
  rt->mode->call(rt->mode_state, call);
}

/* A connection that opened with the HTTP/2 preface. */
static void handle_h2(void *arg, uv_os_sock_t fd, const char *bytes, size_t len) {
  ofctx__runtime_t *rt = arg;
  ofctx__grpc_server_adopt(rt->grpc, fd, bytes, len);
}

/* ---- the sidecar at start-up ---- */

static void probe_sidecar(uv_timer_t *timer);
static ofctx__dapr_http_client_t *runtime_dapr(ofctx__runtime_t *rt);

static void sidecar_answered(void *arg, const ofctx__dapr_result_t *r) {
  ofctx__runtime_t *rt = arg;

  if (r->ok) {
    rt->sidecar_ready = 1;
    ofctx__log(OFCTX_LOG_INFO, "Dapr sidecar ready", (const char *)NULL);
    return;
  }
  if (rt->draining || r->cancelled)
    return;
  if (!rt->sidecar_warned && uv_now(&rt->loop) >= rt->sidecar_deadline) {
    /* Never fatal: sends retry on their own, and the probing goes on (every
     * 5 s) so that /readyz turns ready when the sidecar comes. */
    rt->sidecar_warned = 1;
    ofctx__log(OFCTX_LOG_WARN, "the Dapr sidecar is not answering; sends will fail until it does",
               "error", r->error, (const char *)NULL);
  }
  uv_timer_start(&rt->sidecar_wait, probe_sidecar, rt->sidecar_warned ? 5000 : 200, 0);
}

static void probe_sidecar(uv_timer_t *timer) {
  ofctx__runtime_t *rt = timer->data;
  ofctx__retry_policy_t once = rt->opts.send;
  ofctx__dapr_http_client_t *dapr = runtime_dapr(rt);

  once.max_attempts = 1;
  once.timeout_ms = 1000;
  if (!dapr && ofctx__curl_open() != 0)
    return; /* no libcurl (logged): no send can work, and /readyz says 503 */
  if (!dapr || ofctx__dapr_call(dapr, "GET", "/v1.0/healthz/outbound", NULL, NULL, NULL, 0, &once,
                                sidecar_answered, rt) != 0)
    uv_timer_start(&rt->sidecar_wait, probe_sidecar, 200, 0);
}

/* ---- shutdown ---- */

static void close_handle(uv_handle_t *handle) {
  if (!uv_is_closing(handle))
    uv_close(handle, NULL);
}

/* The sidecar client, made at its first use: a function that never calls
 * its sidecar never opens libcurl (see curl_lib.h). NULL when libcurl
 * cannot be opened, and once the runtime has closed the client. */
static ofctx__dapr_http_client_t *runtime_dapr(ofctx__runtime_t *rt) {
  if (!rt->dapr && !rt->dapr_closed &&
      ofctx__dapr_http_client_new(&rt->dapr, &rt->loop, ofctx_config_dapr_host(rt->cfg),
                                  ofctx_config_dapr_http_port(rt->cfg),
                                  ofctx_config_dapr_api_token(rt->cfg), &rt->opts.send) != 0)
    rt->dapr = NULL;
  return rt->dapr;
}

static ofctx__dapr_http_client_t *sink_client(void *arg) { return runtime_dapr(arg); }

/* The gRPC client, made at its first use too; NULL once closed. */
static ofctx__grpc_client_t *grpc_client(void *arg) {
  ofctx__runtime_t *rt = arg;

  if (!rt->grpc_client && !rt->dapr_closed &&
      ofctx__grpc_client_new(&rt->grpc_client, &rt->loop, ofctx_config_dapr_host(rt->cfg),
                             ofctx_config_dapr_grpc_port(rt->cfg),
                             ofctx_config_dapr_api_token(rt->cfg)) != OFCTX_OK)
    rt->grpc_client = NULL;
  return rt->grpc_client;
}

static void dapr_close(ofctx__runtime_t *rt) {
  if (rt->dapr)
    ofctx__dapr_http_client_close(rt->dapr, NULL, NULL);
  if (rt->grpc_client)
    ofctx__grpc_client_close(rt->grpc_client);
  rt->dapr = NULL;
  rt->grpc_client = NULL;
  rt->dapr_closed = 1;
}

/* Last step: the client (which cancels what is left) and our own handles. */
static void finish(ofctx__runtime_t *rt) {
  if (rt->server_open || rt->grpc_open || rt->mode_open || rt->host.inflight_count > 0 ||
      !rt->draining)
    return;
  dapr_close(rt);
  if (rt->sink->close)
    rt->sink->close(rt->sink);
  if (rt->host.exporter) /* what is queued gets a short while */
    ofctx__otlp_exporter_close(rt->host.exporter, OFCTX__OTLP_SHUTDOWN_MS, NULL, NULL);
  rt->host.exporter = NULL;
  close_handle((uv_handle_t *)&rt->sigterm);
  close_handle((uv_handle_t *)&rt->sigint);
  close_handle((uv_handle_t *)&rt->grace);
  close_handle((uv_handle_t *)&rt->sidecar_wait);
  close_handle((uv_handle_t *)&rt->ticker);
}

static void ticked(uv_timer_t *timer) {
  ofctx__runtime_t *rt = timer->data;
  ofctx__tick(&rt->host, 0);
}

static void server_stopped(void *arg) {
  ofctx__runtime_t *rt = arg;
  rt->server_open = 0;
  rt->server = NULL; /* freed by the server itself */
  finish(rt);
}

static void grpc_stopped(void *arg) {
  ofctx__runtime_t *rt = arg;
  rt->grpc_open = 0;
  rt->grpc = NULL; /* freed by the server itself */
  finish(rt);
}

/* The direct mode's consumers are closed. */
static void mode_closed(void *arg) {
  ofctx__runtime_t *rt = arg;
  rt->mode_open = 0;
  finish(rt);
}

/* An invocation settled: a draining runtime may be done. */
static void settled(void *arg) {
  ofctx__runtime_t *rt = arg;
  if (rt->draining)
    finish(rt);
}

static void grace_over(uv_timer_t *timer) {
  ofctx__runtime_t *rt = timer->data;
  char n[24];

  snprintf(n, sizeof n, "%zu", rt->host.inflight_count);
  ofctx__log(OFCTX_LOG_WARN, "grace period over: invocations in flight are not acknowledged",
             "inflight", n, (const char *)NULL);
  ofctx__invocations_abort(&rt->host);
  if (rt->server)
    ofctx__http_server_abort(rt->server);
  if (rt->grpc)
    ofctx__grpc_server_abort(rt->grpc);
}

static void on_signal(uv_signal_t *sig, int signum) {
  ofctx__runtime_t *rt = sig->data;

  if (rt->draining)
    return;
  rt->draining = 1;
  ofctx__log(OFCTX_LOG_INFO, "stopping", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT",
             (const char *)NULL);
  uv_timer_stop(&rt->sidecar_wait);
  uv_timer_stop(&rt->ticker);
  uv_timer_start(&rt->grace, grace_over, rt->opts.grace_ms, 0);
  ofctx__tick(&rt->host, 1); /* before the drain: its sends are waited for */
  ofctx__http_server_stop(rt->server, server_stopped, rt);
  if (rt->grpc)
    ofctx__grpc_server_stop(rt->grpc, grpc_stopped, rt);
  if (rt->mode_open)
    rt->mode->drain(rt->mode_state, mode_closed, rt);
  finish(rt);
}

/* ---- start-up ---- */

/* The signals, the grace timer, the ticks and the sidecar wait. */
static void handles_start(ofctx__runtime_t *rt) {
  uv_signal_init(&rt->loop, &rt->sigterm);
  uv_signal_init(&rt->loop, &rt->sigint);
  uv_timer_init(&rt->loop, &rt->grace);
  uv_timer_init(&rt->loop, &rt->sidecar_wait);
  uv_timer_init(&rt->loop, &rt->ticker);
  rt->sigterm.data = rt->sigint.data = rt->grace.data = rt->sidecar_wait.data = rt->ticker.data =
      rt;
  if (rt->tick && rt->tick_ms > 0)
    uv_timer_start(&rt->ticker, ticked, rt->tick_ms, rt->tick_ms);
  uv_signal_start(&rt->sigterm, on_signal, SIGTERM);
  uv_signal_start(&rt->sigint, on_signal, SIGINT);
  /* Outputs need the sidecar; without any (or without a sidecar, in the
   * direct mode) there is nothing to wait for. */
  if (!rt->opts.direct && ofctx_config_output_count(rt->cfg) > 0 && rt->opts.dapr_wait_ms > 0) {
    rt->sidecar_deadline = uv_now(&rt->loop) + rt->opts.dapr_wait_ms;
    probe_sidecar(&rt->sidecar_wait);
  } else {
    rt->sidecar_ready = 1;
  }
}

/* The "started" line: what runs, where, and what the mode serves. */
static void log_started(ofctx__runtime_t *rt) {
  char port[16], outputs[16];
  const char *what, *serves;

  snprintf(port, sizeof port, "%d", ofctx__http_server_port(rt->server));
  snprintf(outputs, sizeof outputs, "%zu", ofctx_config_output_count(rt->cfg));
  rt->mode->describe(rt->mode_state, &what, &serves);
  ofctx__log(OFCTX_LOG_INFO, "started", "function", ofctx_config_name(rt->cfg), "version",
             ofctx_config_version(rt->cfg), "runtime", rt->mode->name, "protocol",
             rt->grpc ? "grpc" : "http", "sends",
             rt->opts.direct      ? "direct"
             : rt->opts.dapr_grpc ? "grpc"
                                  : "http",
             "port", port, what, serves, "outputs", outputs, "libofctx", ofctx_version_string(),
             (const char *)NULL);
}

/* The servers (HTTP, and gRPC on the same port for a gRPC mode), the
 * signals and the sidecar wait: OFCTX_OK, or the error (with its reason in
 * `err`) that stops the function from starting. */
static ofctx_err_t start(ofctx__runtime_t *rt, ofctx_error_t *err) {
  ofctx_err_t rc;

  rt->budget.max = rt->opts.http.max_bodies_size;
  if (rt->mode->call) {
    if (ofctx__grpc_server_new(&rt->grpc, &rt->loop, &rt->opts.grpc, handle_call, rt) != OFCTX_OK)
      return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    ofctx__grpc_server_on_head(rt->grpc, check_call_head);
    ofctx__grpc_server_share_budget(rt->grpc, &rt->budget);
    rt->grpc_open = 1;
  }
  rc = ofctx__http_server_start(&rt->server, &rt->loop, rt->opts.listen_host,
                                ofctx_config_port(rt->cfg), &rt->opts.http, handle, rt, err);
  if (rc != OFCTX_OK) {
    if (rt->grpc)
      ofctx__grpc_server_stop(rt->grpc, grpc_stopped, rt); /* no connection: freed now */
    return rc;
  }
  ofctx__http_server_on_head(rt->server, check_head);
  ofctx__http_server_share_budget(rt->server, &rt->budget);
  if (rt->grpc)
    ofctx__http_server_on_h2(rt->server, handle_h2);
  rt->server_open = 1;
  handles_start(rt);
  if (rt->tracing) {
    rc = ofctx__otlp_exporter_from_config(&rt->host.exporter, &rt->loop, rt->cfg, &rt->metrics);
    if (rc != OFCTX_OK)
      ofctx__log(OFCTX_LOG_ERROR, "spans are not exported: the OTLP exporter cannot start", "error",
                 ofctx_strerror(rc), (const char *)NULL);
  }
  if (rt->mode->listen) {
    if (rt->mode->listen(rt->mode_state, err) != 0)
      return err->code;
    rt->mode_open = 1;
  }
  log_started(rt);
  return OFCTX_OK;
}

static void walk_close(uv_handle_t *handle, void *arg) {
  (void)arg;
  close_handle(handle);
}

/* The counters, labelled with the names of the inputs (a Knative server has
 * one of its own, `http`: the HTTP route), outputs and state entries. */
static int metrics_init(ofctx__runtime_t *rt, size_t n_in, size_t n_out, int http) {
  static const char *const http_input[] = {"http"};
  const char **ins = ofctx__calloc(n_in ? n_in : 1, sizeof *ins);
  const char **outs = ofctx__calloc(n_out ? n_out : 1, sizeof *outs);
  int rc = -1;

  for (size_t i = 0; ins && i < n_in; i++)
    ins[i] = ofctx_component_name(ofctx_config_input_at(rt->cfg, i));
  for (size_t i = 0; outs && i < n_out; i++)
    outs[i] = ofctx_component_name(ofctx_config_output_at(rt->cfg, i));
  if (ins && outs)
    rc = ofctx__metrics_init(&rt->metrics, http ? http_input : ins, http ? 1 : n_in, outs, n_out);
  ofctx__free(ins);
  ofctx__free(outs);
  if (rc == 0 && ofctx_config_state_count(rt->cfg)) {
    size_t n = ofctx_config_state_count(rt->cfg);
    const char **states = ofctx__calloc(n, sizeof *states);
    for (size_t i = 0; states && i < n; i++)
      states[i] = ofctx_component_name(ofctx_config_state_at(rt->cfg, i));
    rc = states ? ofctx__metrics_states(&rt->metrics, states, n) : -1;
    ofctx__free(states);
  }
  return rc;
}

/* ---- the mode ---- */

/* The mode of each runtime and app protocol a context can name (the parser
 * takes no other). Dapr calls an Async function over gRPC when its app
 * protocol says so; a Knative function is called by users, over HTTP,
 * whatever Dapr's app protocol. */
static const ofctx__mode_t *const modes[][2] = {
    [OFCTX_RUNTIME_KNATIVE] = {[OFCTX_APP_PROTOCOL_HTTP] = &ofctx__knative_mode,
                               [OFCTX_APP_PROTOCOL_GRPC] = &ofctx__knative_mode},
    [OFCTX_RUNTIME_ASYNC] = {[OFCTX_APP_PROTOCOL_HTTP] = &ofctx__async_http_mode,
                             [OFCTX_APP_PROTOCOL_GRPC] = &ofctx__async_grpc_mode},
};

/* The mode of the context, which the function must fit even when it runs
 * locally, or the local mode with --invoke: 0, or -1 with the message on
 * stderr. */
static int pick_mode(ofctx__runtime_t *rt, const ofctx__local_args_t *local) {
  const ofctx__mode_t *mode =
      modes[ofctx_config_runtime(rt->cfg)][ofctx_config_app_protocol(rt->cfg)];

  if (rt->opts.direct && !local->path) {
    if (ofctx_config_runtime(rt->cfg) != OFCTX_RUNTIME_ASYNC) {
      fprintf(stderr,
              "OFCTX_DIRECT: the direct mode serves an Async function's inputs; this context's "
              "runtime is \"%s\"\n",
              mode->name);
      return -1;
    }
    mode = &ofctx__direct_mode;
  }
  if (!mode->takes_http_functions && rt->http_fn) {
    fprintf(stderr,
            "%s: a plain HTTP function runs only with runtime \"Knative\"; this "
            "context says \"%s\"\n",
            ofctx_config_name(rt->cfg), mode->name);
    return -1;
  }
  rt->mode = local->path ? &ofctx__local_mode : mode;
  return 0;
}

/* Where sends go: the mode's own sink (the local runtime's stdout), else
 * the sidecar's gRPC or HTTP API. NULL when out of memory. */
static ofctx__sink_t *sink_new(ofctx__runtime_t *rt) {
  if (rt->mode->sink_new)
    return rt->mode->sink_new(rt->cfg);
  if (rt->mode == &ofctx__direct_mode)
    return ofctx__direct_sink_new(&rt->loop, &rt->comps, &rt->opts.send, rt->comps.app_id);
  if (rt->opts.dapr_grpc)
    return ofctx__dapr_grpc_sink_new(grpc_client, rt, &rt->opts.send, &rt->sidecar_ready);
  return ofctx__dapr_http_sink_new(sink_client, rt, &rt->opts.send,
                                   ofctx_config_output_count(rt->cfg), &rt->sidecar_ready);
}

/* The mode started on the host: 0, or -1 with the message on stderr. */
static int mode_start(ofctx__runtime_t *rt, const ofctx__local_args_t *local) {
  ofctx__mode_env_t env = {.cfg = rt->cfg,
                           .host = &rt->host,
                           .metrics = &rt->metrics,
                           .http_pattern = rt->opts.http_pattern,
                           .methods = rt->methods,
                           .max_metadata = rt->opts.http.max_metadata,
                           .max_line = rt->opts.http.max_body_size,
                           .local = *local,
                           .comps = &rt->comps,
                           .redelivery = &rt->opts.send,
                           .grace_ms = rt->opts.grace_ms,
                           .max_held = rt->opts.direct_max_held};
  ofctx_error_t err;

  rt->mode_state = rt->mode->start(&env, &err);
  if (!rt->mode_state) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  return 0;
}

/* ---- ofctx_main ---- */

/* The function context of `args` into `*cfg`, its warnings logged: 0, or
 * -1 with the message on stderr. A run and a command read it alike. */
static int load_context(const ofctx__args_t *args, ofctx_config_t **cfg) {
  ofctx_error_t err;

  if (ofctx__args_context(args, cfg, &err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  for (size_t i = 0; i < ofctx_config_warning_count(*cfg); i++)
    ofctx__log(OFCTX_LOG_WARN, ofctx_config_warning_at(*cfg, i), (const char *)NULL);
  return 0;
}

/* The context's tracing: with the provider opentelemetry, W3C Trace
 * Context on every invocation and send, and the baggage header made once;
 * skywalking (the Go framework's) is not done, and said once, since many
 * installs set it as a global default. 0, or -1 out of memory. */
static int tracing_setup(ofctx__runtime_t *rt) {
  const char *provider = ofctx_config_tracing_provider(rt->cfg);
  size_t skipped = 0;
  char n[24];

  if (!ofctx_config_tracing_enabled(rt->cfg))
    return 0;
  if (!provider || strcmp(provider, "opentelemetry") != 0) {
    ofctx__log(OFCTX_LOG_WARN,
               "tracing.provider.name is not supported by libofctx: no trace context is "
               "propagated and no spans are made; use opentelemetry (docs/observability.md)",
               "provider", provider, (const char *)NULL);
    return 0;
  }
  if (ofctx__baggage_format(ofctx_config_tracing_baggage(rt->cfg), &rt->baggage, &skipped) !=
      OFCTX_OK) {
    fprintf(stderr, "out of memory\n");
    return -1;
  }
  if (skipped && snprintf(n, sizeof n, "%zu", skipped) > 0)
    ofctx__log(OFCTX_LOG_WARN,
               "tracing.baggage keys that are no HTTP token cannot be sent as W3C baggage and are "
               "left out",
               "keys", n, (const char *)NULL);
  rt->tracing = 1;
  return 0;
}

/* The context, the options, the mode, the sink and the counters: 0, or -1
 * with the message on stderr. */
static int configure(ofctx__runtime_t *rt, const ofctx__args_t *args) {
  ofctx_error_t err;

  if (load_context(args, &rt->cfg) != 0)
    return -1;
  if (ofctx__hooks_resolve(&rt->hooks, rt->registered_hooks, rt->cfg, &err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  if (tracing_setup(rt) != 0)
    return -1;
  if (ofctx__options_load(&rt->opts, &err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  if (pick_mode(rt, &args->local) != 0)
    return -1;
  if (rt->mode == &ofctx__direct_mode &&
      ofctx__comps_load(&rt->comps, rt->opts.resources_path, rt->cfg, &err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  rt->sink = sink_new(rt);
  if (!rt->sink || metrics_init(rt, ofctx_config_input_count(rt->cfg),
                                ofctx_config_output_count(rt->cfg), rt->mode->from_users) != 0) {
    fprintf(stderr, "out of memory\n");
    return -1;
  }
  rt->host = (ofctx__host_t){.loop = &rt->loop,
                             .cfg = rt->cfg,
                             .fn = rt->fn,
                             .http_fn = rt->http_fn,
                             .batch_fn = rt->batch_fn,
                             .hooks = &rt->hooks,
                             .timeout_ms = rt->opts.invocation_timeout_ms,
                             .metrics = &rt->metrics,
                             .sink = rt->sink,
                             .settled = settled,
                             .arg = rt,
                             .tick = rt->tick,
                             .tracing = rt->tracing,
                             .baggage = rt->baggage};
  return mode_start(rt, &args->local);
}

/* Everything the runtime holds, after its loop has stopped; first the
 * function's own state (fini), which may borrow from the context. */
static void release(ofctx__runtime_t *rt) {
  if (rt->fini)
    rt->fini(rt->host.user_data);
  if (rt->mode_state)
    rt->mode->stop(rt->mode_state);
  ofctx__metrics_free(&rt->metrics);
  ofctx__hooks_free(&rt->hooks);
  ofctx__sink_free(rt->sink);
  ofctx__comps_free(&rt->comps);
  ofctx__free(rt->baggage);
  ofctx_config_free(rt->cfg);
  ofctx__free(rt);
}

int ofctx_main(int argc, char **argv, ofctx_function_t fn) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;
  opts.function = fn;
  return ofctx_main_opts(argc, argv, &opts);
}

/* The function's own commands of `opts`, when its size covers them. */
static const ofctx_command_t *commands_of(const ofctx_main_opts_t *opts) {
  if (!opts || opts->size < offsetof(ofctx_main_opts_t, commands) + sizeof opts->commands)
    return NULL;
  return opts->commands;
}

/* The function's own command that `args` gives: the context read as a run
 * reads it, then the command, whose return value is the exit status. */
static int run_command(const ofctx__args_t *args, void *arg) {
  ofctx_config_t *cfg;
  int status;

  if (load_context(args, &cfg) != 0)
    return EXIT_BAD_CONFIG;
  status = args->command->run(cfg, args->command_value, arg);
  ofctx_config_free(cfg);
  return status;
}

/* The function and the hooks of `opts`, whose size says which fields the
 * program knows (one built before `tick` was added passes the shorter
 * struct): 0, or -1 with the message on stderr. */
static int check_opts(const ofctx_main_opts_t *opts, ofctx_batch_function_t *batch) {
  if (!opts || opts->size < offsetof(ofctx_main_opts_t, tick)) {
    fprintf(stderr, "ofctx_main_opts: the options' size is not set; start from "
                    "OFCTX_MAIN_OPTS_INIT\n");
    return -1;
  }
  *batch =
      opts->size >= offsetof(ofctx_main_opts_t, batch) + sizeof opts->batch ? opts->batch : NULL;
  if (!!opts->function + !!opts->http + !!*batch != 1) {
    fprintf(stderr, "ofctx_main: give exactly one function\n");
    return -1;
  }
  return 0;
}

/* A runtime for the function of `opts` (checked); NULL when out of memory. */
static ofctx__runtime_t *runtime_new(const ofctx_main_opts_t *opts, ofctx_batch_function_t batch) {
  ofctx__runtime_t *rt = ofctx__calloc(1, sizeof *rt);

  if (!rt)
    return NULL;
  rt->fn = opts->function;
  rt->http_fn = opts->http;
  rt->batch_fn = batch;
  rt->methods = opts->methods;
  if (opts->size >= offsetof(ofctx_main_opts_t, tick_ms) + sizeof opts->tick_ms) {
    rt->tick = opts->tick;
    rt->tick_ms = opts->tick_ms;
  }
  if (opts->size >= offsetof(ofctx_main_opts_t, metrics) + sizeof opts->metrics)
    rt->collector = opts->metrics;
  if (opts->size >= offsetof(ofctx_main_opts_t, hooks) + sizeof opts->hooks)
    rt->registered_hooks = opts->hooks;
  return rt;
}

/* Logs why the server could not start, and closes what start opened. */
static void cannot_start(ofctx__runtime_t *rt, const ofctx_error_t *err) {
  char port[16];

  snprintf(port, sizeof port, "%u", (unsigned)ofctx_config_port(rt->cfg));
  ofctx__log(OFCTX_LOG_ERROR, "cannot start", "host", rt->opts.listen_host, "port", port, "error",
             err->message, "hint",
             strstr(err->message, "in use")
                 ? "another process listens on that port: choose another with PORT (or the "
                   "context's port)"
                 : NULL,
             (const char *)NULL);
  dapr_close(rt);
  uv_walk(&rt->loop, walk_close, NULL);
}

/* The loop with the server and the mode, until a signal stops them: the
 * exit status. */
static int serve(ofctx__runtime_t *rt) {
  ofctx_error_t err;
  int status = 0;

  /* A peer that went away is an error code on its socket, not a signal. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&rt->loop);
  /* From here on, nothing the loop does waits for stderr. */
  if (ofctx__log_writer_start() != 0)
    ofctx__log(OFCTX_LOG_WARN, "no log writer thread: log lines are written at once",
               (const char *)NULL);
  if (start(rt, &err) != OFCTX_OK) {
    cannot_start(rt, &err);
    status = EXIT_CANNOT_START;
  }
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  if (status == 0 && rt->mode->exit_status)
    status = rt->mode->exit_status(rt->mode_state);
  if (status == 0)
    ofctx__log(OFCTX_LOG_INFO, "stopped", "function", ofctx_config_name(rt->cfg),
               (const char *)NULL);
  if (uv_loop_close(&rt->loop) != 0) {
    ofctx__log(OFCTX_LOG_ERROR, "handles left open at exit", (const char *)NULL);
    status = status ? status : EXIT_CANNOT_START;
  }
  ofctx__log_writer_stop(2000);
  return status;
}

int ofctx_main_opts(int argc, char **argv, const ofctx_main_opts_t *opts) {
  ofctx__runtime_t *rt;
  ofctx__args_t args;
  ofctx_batch_function_t batch;
  ofctx_error_t err;
  void *user_data;
  int status;

  status = ofctx__args_parse(&args, argc, argv, commands_of(opts));
  if (status != 0)
    return status > 0 ? 0 : EXIT_BAD_CONFIG;
  if (check_opts(opts, &batch) != 0)
    return EXIT_BAD_CONFIG;
  if (ofctx__log_setup(&err) != OFCTX_OK) {
    fprintf(stderr, "%s\n", err.message);
    return EXIT_BAD_CONFIG;
  }
  if (args.command)
    return run_command(&args, opts->arg);
  rt = runtime_new(opts, batch);
  if (!rt)
    return EXIT_CANNOT_START;
  user_data = opts->arg;
  if (configure(rt, &args) != 0 || (opts->init && opts->init(rt->cfg, &user_data) != 0)) {
    release(rt);
    return EXIT_BAD_CONFIG;
  }
  /* from here on every return goes through release, which calls fini */
  rt->host.user_data = user_data;
  if (opts->size >= offsetof(ofctx_main_opts_t, fini) + sizeof opts->fini)
    rt->fini = opts->fini;
  /* the local runtime runs without a loop or a server */
  status = rt->mode->run ? rt->mode->run(rt->mode_state) : serve(rt);
  release(rt);
  return status;
}
