/* State requests of a function: checked here, described in Dapr's terms
 * (the store's Dapr name, the value as JSON) and handed to the runtime's
 * sink (sink.h); each holds its invocation open until it has finished, and
 * a failed write fails the invocation, as a failed send does. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "invocation.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "mem.h"
#include "ofctx/state.h"
#include "text.h"

typedef struct {
  ofctx_t *ctx;
  ofctx__state_op_t op;
  size_t slot;      /* metrics: the state entry's index in the context */
  uint64_t started; /* uv_hrtime */
  ofctx_state_cb done;
  void *arg;
  ofctx__span_t span; /* with tracing: the request's, a child of the invocation's */
  const char *key;    /* in `names`, after the store's name */
  char names[];       /* the store's entry name, NUL, the key, NUL */
} state_call_t;

/* The value of a get's answer as the function stored it: a JSON string
 * decoded to its text (the way ofctx_state_set stores text), anything else
 * as it came. `*own` is set to what the caller frees (jansson's), or NULL. */
static const char *value_of(const ofctx__state_result_t *r, size_t *len, json_t **own) {
  size_t skip = 0;

  *own = NULL;
  *len = r->body_len;
  while (skip < r->body_len && strchr(" \t\r\n", r->body[skip]))
    skip++;
  if (skip < r->body_len && r->body[skip] == '"') {
    *own = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (json_is_string(*own)) {
      *len = json_string_length(*own);
      return json_string_value(*own);
    }
    /* jansson cannot hold it (a lone surrogate): given as it came */
  }
  return r->body;
}

/* The code a finished request gives its callback. */
static ofctx_err_t code_of(const ofctx__state_result_t *r) {
  if (r->ok)
    return OFCTX_OK;
  return r->conflict ? OFCTX_ECONFLICT : OFCTX_ESTATE;
}

static void log_failure(const state_call_t *call, const ofctx__state_result_t *r) {
  ofctx_t *ctx = call->ctx;
  char status[16], grpc[16], attempts[16];

  snprintf(status, sizeof status, "%d", r->status);
  snprintf(grpc, sizeof grpc, "%d", r->grpc_status);
  snprintf(attempts, sizeof attempts, "%d", r->attempts);
  ofctx__log(r->conflict ? OFCTX_LOG_WARN : OFCTX_LOG_ERROR,
             r->conflict ? "state ETag conflict" : "state request failed", "input", ctx->ev.input,
             "store", call->names, "key", call->key, "status", r->status ? status : NULL,
             "grpc_status", r->grpc_status >= 0 ? grpc : NULL, "attempts", attempts, "error",
             r->error, OFCTX__TRACE_FIELDS(ctx), (const char *)NULL);
}

static ofctx__state_op_metric_t metric_op(ofctx__state_op_t op) {
  return op == OFCTX__STATE_GET   ? OFCTX__STATE_OP_GET
         : op == OFCTX__STATE_SET ? OFCTX__STATE_OP_SET
                                  : OFCTX__STATE_OP_DELETE;
}

static ofctx__state_result_metric_t metric_result(const state_call_t *call,
                                                  const ofctx__state_result_t *r) {
  if (r->ok)
    return call->op == OFCTX__STATE_GET && !r->found ? OFCTX__STATE_NOT_FOUND : OFCTX__STATE_OK;
  return r->conflict ? OFCTX__STATE_CONFLICT : OFCTX__STATE_ERROR;
}

/* The request's span ends with its result and goes to the exporter. */
static void trace_end(state_call_t *call, const ofctx__state_result_t *r) {
  static const char *const ops[] = {"get", "save", "delete"};
  ofctx_t *ctx = call->ctx;
  ofctx__span_desc_t d = {0};
  char name[160];

  ofctx__span_end(&call->span);
  if (!ctx->host->exporter)
    return;
  snprintf(name, sizeof name, "state %s %s", ops[call->op], call->names);
  d.span = &call->span;
  d.kind = OFCTX__OTLP_CLIENT;
  d.name = name;
  d.error = !r->ok;
  d.message = r->error;
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"db.operation.name", ops[call->op]};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.state", call->names};
  d.tags = ofctx_config_tracing_tags(ctx->host->cfg);
  ofctx__otlp_exporter_add(ctx->host->exporter, &d);
}

static void state_finished(void *arg, const ofctx__state_result_t *r) {
  state_call_t *call = arg;
  ofctx_t *ctx = call->ctx;
  ofctx_err_t code = code_of(r);
  /* a read's failure is for its callback to judge; a write's fails the
   * input, but for a conflict, which is an answer */
  int ok = call->op == OFCTX__STATE_GET || code != OFCTX_ESTATE;

  if (code != OFCTX_OK)
    log_failure(call, r);
  ofctx__metrics_state(ctx->host->metrics, call->slot, metric_op(call->op), metric_result(call, r),
                       (double)(uv_hrtime() - call->started) / 1e9);
  if (call->done) { /* always called, so that what `arg` holds can be released */
    json_t *own = NULL;
    int found = code == OFCTX_OK && call->op == OFCTX__STATE_GET && r->found;
    ofctx_state_result_t result = {.code = code,
                                   .http_status = r->status,
                                   .grpc_status = r->grpc_status,
                                   .message = code == OFCTX_OK ? "ok" : r->error,
                                   .store = call->names,
                                   .key = call->key,
                                   .found = found,
                                   .value = "",
                                   .etag = ""};
    if (found)
      result.value = value_of(r, &result.len, &own);
    if (code == OFCTX_OK && call->op == OFCTX__STATE_GET && r->etag)
      result.etag = r->etag;
    call->done(ctx, &result, call->arg);
    json_decref(own);
  }
  if (ctx->span)
    trace_end(call, r);
  if (!ctx->settled)
    ofctx__invocation_send_done(ctx, ok);
  ofctx__invocation_release(ctx);
  ofctx__free(call);
}

/* The index of the state entry `store` (there is one) in the context. */
static size_t slot_of(const ofctx_config_t *cfg, const char *store) {
  const ofctx_component_t *entry = ofctx_config_state(cfg, store);
  size_t i = 0;

  while (i < ofctx_config_state_count(cfg) && ofctx_config_state_at(cfg, i) != entry)
    i++;
  return i;
}

/* Hands the checked request to the sink on behalf of `ctx`. */
static ofctx_err_t start(ofctx_t *ctx, const char *store, const ofctx__state_request_t *req,
                         ofctx_state_cb done, void *arg) {
  ofctx__sink_t *sink = ctx->host->sink;
  size_t store_len = strlen(store), key_len = strlen(req->key);
  state_call_t *call;
  ofctx_err_t rc;

  if (!sink->state)
    return OFCTX_ESEND;
  call = ofctx__malloc(sizeof *call + store_len + key_len + 2);
  if (!call)
    return OFCTX_ENOMEM;
  call->ctx = ctx;
  call->op = req->op;
  call->slot = slot_of(ctx->host->cfg, store);
  call->started = uv_hrtime();
  call->done = done;
  call->arg = arg;
  memcpy(call->names, store, store_len + 1);
  call->key = call->names + store_len + 1;
  memcpy(call->names + store_len + 1, req->key, key_len + 1);
  if (ctx->span) { /* the sidecar's spans join the invocation's trace */
    ofctx__state_request_t traced = *req;
    ofctx__span_child(&call->span, ctx->span, OFCTX__SPAN_SEND, call->names);
    traced.traceparent = call->span.traceparent;
    traced.tracestate = call->span.tracestate;
    traced.baggage = ctx->host->baggage;
    rc = sink->state(sink, &traced, state_finished, call);
  } else {
    rc = sink->state(sink, req, state_finished, call);
  }
  if (rc != OFCTX_OK) {
    ofctx__free(call);
    return rc;
  }
  ctx->refs++;
  ctx->sends_pending++;
  return OFCTX_OK;
}

/* The name asked for, and the names there are: most often a typo. */
static void no_such_store(ofctx_t *ctx, const char *store) {
  const ofctx_config_t *cfg = ctx->host->cfg;
  ofctx__buf_t names = {0};

  for (size_t i = 0; i < ofctx_config_state_count(cfg); i++) {
    ofctx__buf_puts(&names, i ? ", " : "");
    ofctx__buf_puts(&names, ofctx_component_name(ofctx_config_state_at(cfg, i)));
  }
  ofctx__log(OFCTX_LOG_ERROR, "no state store of that name in the function context", "input",
             ctx->ev.input, "store", store, "states",
             names.data ? names.data : (names.failed ? "?" : "(none)"), (const char *)NULL);
  ofctx__buf_free(&names);
}

/* Checks what every call has and fills the request's store: OFCTX_OK, or
 * what the call returns. */
static ofctx_err_t check_call(ofctx_t *ctx, const char *store, const char *key,
                              ofctx__state_request_t *req) {
  const ofctx_component_t *entry;

  /* "." and ".." would address another path of the sidecar once cleaned */
  if (!ctx || !store || !key || !*key || !ofctx__text_ok(key) || strcmp(key, ".") == 0 ||
      strcmp(key, "..") == 0)
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  entry = ofctx_config_state(ctx->host->cfg, store);
  if (!entry) {
    no_such_store(ctx, store);
    return OFCTX_EINVAL;
  }
  req->store = ofctx_component_dapr_name(entry);
  req->key = key;
  return OFCTX_OK;
}

/* The options' parts of a write: OFCTX_OK, or OFCTX_EINVAL. */
static ofctx_err_t from_opts(ofctx__state_request_t *req, const ofctx_state_opts_t *opts) {
  static const char *const concurrency[] = {NULL, "first-write", "last-write"};
  static const char *const consistency[] = {NULL, "eventual", "strong"};

  if (!opts)
    return OFCTX_OK;
  if (opts->size < sizeof *opts || (unsigned)opts->concurrency > OFCTX_STATE_LAST_WRITE ||
      (unsigned)opts->consistency > OFCTX_STATE_STRONG ||
      (opts->etag && (!*opts->etag || !ofctx__text_ok(opts->etag))))
    return OFCTX_EINVAL;
  for (const char *const *kv = opts->metadata; kv && kv[0]; kv += 2)
    if (!kv[1] || !ofctx__text_ok(kv[0]) || !ofctx__text_ok(kv[1]))
      return OFCTX_EINVAL;
  req->etag = opts->etag;
  req->concurrency = concurrency[opts->concurrency];
  req->consistency = consistency[opts->consistency];
  req->metadata = opts->metadata;
  return OFCTX_OK;
}

ofctx_err_t ofctx_state_get(ofctx_t *ctx, const char *store, const char *key, ofctx_state_cb done,
                            void *arg) {
  ofctx__state_request_t req = {.op = OFCTX__STATE_GET};
  ofctx_err_t rc = done ? check_call(ctx, store, key, &req) : OFCTX_EINVAL;

  return rc == OFCTX_OK ? start(ctx, store, &req, done, arg) : rc;
}

/* Appends the value as Dapr is to store it: JSON (but a JSON string) as it
 * is, text as a JSON string. OFCTX_OK, OFCTX_EINVAL (neither), OFCTX_ENOMEM. */
static ofctx_err_t encode(ofctx__buf_t *b, const char *value, size_t len) {
  size_t skip = 0;

  while (skip < len && strchr(" \t\r\n", value[skip]))
    skip++;
  if (skip < len && value[skip] != '"' && ofctx__json_valid(value, len))
    ofctx__buf_append(b, value, len);
  else if (ofctx__buf_json_string(b, value, len) != 0)
    return OFCTX_EINVAL;
  return b->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

ofctx_err_t ofctx_state_set(ofctx_t *ctx, const char *store, const char *key, const void *value,
                            size_t len, const ofctx_state_opts_t *opts) {
  ofctx__state_request_t req = {.op = OFCTX__STATE_SET};
  ofctx__buf_t json = {0};
  ofctx_err_t rc = check_call(ctx, store, key, &req);

  if (rc == OFCTX_OK && !value && len)
    rc = OFCTX_EINVAL;
  if (rc == OFCTX_OK)
    rc = from_opts(&req, opts);
  if (rc == OFCTX_OK)
    rc = encode(&json, value ? value : "", len);
  if (rc == OFCTX_OK) {
    req.value = json.data;
    req.len = json.len;
    rc = start(ctx, store, &req, opts ? opts->done : NULL, opts ? opts->arg : NULL);
  }
  ofctx__buf_free(&json);
  return rc;
}

ofctx_err_t ofctx_state_delete(ofctx_t *ctx, const char *store, const char *key,
                               const ofctx_state_opts_t *opts) {
  ofctx__state_request_t req = {.op = OFCTX__STATE_DELETE};
  ofctx_err_t rc = check_call(ctx, store, key, &req);

  if (rc == OFCTX_OK)
    rc = from_opts(&req, opts);
  return rc == OFCTX_OK ? start(ctx, store, &req, opts ? opts->done : NULL, opts ? opts->arg : NULL)
                        : rc;
}
