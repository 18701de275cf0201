/* Sends to the sidecar's HTTP API: the path and body of each send, the
 * binding tails kept per output, and the client's answer as a sink result. */
#include "dapr_http_sink.h"

#include <string.h>

#include <jansson.h>

#include "dapr_http_body.h"
#include "mem.h"

typedef struct {
  ofctx__sink_t base;
  ofctx__dapr_http_client_fn client;
  void *client_arg;
  const ofctx__retry_policy_t *policy;
  int *ready;
  size_t outputs;
  char **tails; /* per output: the end of its binding bodies, built at its first send */
} dapr_sink_t;

typedef struct {
  dapr_sink_t *sink;
  ofctx__sink_done_fn done;
  void *arg;
  /* a bulk publish: what a second try on the alpha path needs, and the ids */
  ofctx__buf_t path, body;
  int alpha;
  ofctx__retry_policy_t policy;
  ofctx__sink_ids_t ids;
  /* with tracing, the trace's header lines (in `trace`, NUL-separated) */
  ofctx__buf_t trace;
  const char *lines[4];
} call_t;

static void call_free(call_t *call) {
  ofctx__sink_ids_free(&call->ids);
  ofctx__buf_free(&call->path);
  ofctx__buf_free(&call->body);
  ofctx__buf_free(&call->trace);
  ofctx__free(call);
}

/* A trace as header lines, NUL-separated in `b` (empty before), their
 * pointers in `lines` (room for four) ending with NULL: OFCTX_OK, or
 * OFCTX_ENOMEM. */
static ofctx_err_t put_trace(ofctx__buf_t *b, const char **lines, const char *traceparent,
                             const char *tracestate, const char *baggage) {
  const char *names[3] = {"traceparent: ", "tracestate: ", "baggage: "};
  const char *values[3] = {traceparent, tracestate, baggage};
  size_t at[3], n = 0;

  for (size_t i = 0; i < 3; i++) {
    if (!values[i])
      continue;
    at[n++] = b->len;
    ofctx__buf_puts(b, names[i]);
    ofctx__buf_append(b, values[i], strlen(values[i]) + 1); /* with its NUL */
  }
  if (b->failed)
    return OFCTX_ENOMEM;
  for (size_t i = 0; i < n; i++) /* the buffer moved as it grew: pointers last */
    lines[i] = b->data + at[i];
  lines[n] = NULL;
  return OFCTX_OK;
}

/* The request's trace as header lines, kept in the call (for a second try
 * on the alpha path too): OFCTX_OK, or OFCTX_ENOMEM. */
static ofctx_err_t trace_lines(call_t *call, const ofctx__send_request_t *req) {
  return put_trace(&call->trace, call->lines, req->traceparent, req->tracestate, req->baggage);
}

/* The call's header lines for the client, or NULL. */
static const char *const *lines_of(const call_t *call) {
  return call->lines[0] ? call->lines : NULL;
}

/* A failed bulk publish: the ids in the answer's failedEntries, else all. */
static size_t failed_ids(call_t *call, const ofctx__dapr_result_t *r, const char **out) {
  json_t *doc = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
  json_t *failed = json_object_get(doc, "failedEntries"), *e;
  size_t n = 0, i;

  json_array_foreach(failed, i, e) {
    const char *id = json_string_value(json_object_get(e, "entryId"));
    for (size_t k = 0; id && k < call->ids.count; k++)
      if (strcmp(call->ids.ids[k], id) == 0 && n < call->ids.count) {
        out[n++] = call->ids.ids[k]; /* ours: valid after `doc` is gone */
        break;
      }
  }
  json_decref(doc);
  if (n == 0)
    for (; n < call->ids.count; n++)
      out[n] = call->ids.ids[n];
  return n;
}

static void answered(void *arg, const ofctx__dapr_result_t *r);

/* Dapr before 1.17 has bulk publish under /v1.0-alpha1/ only, and takes
 * /v1.0/publish/bulk/<ps>/<topic> for a publish to a pub/sub named "bulk". */
static int try_alpha(call_t *call, const ofctx__dapr_result_t *r) {
  ofctx__dapr_http_client_t *client;
  ofctx__buf_t alpha = {0};

  if (!call->ids.ids || call->alpha || r->status != 404 ||
      !(client = call->sink->client(call->sink->client_arg)))
    return 0;
  ofctx__buf_puts(&alpha, "/v1.0-alpha1");
  ofctx__buf_puts(&alpha, call->path.data + strlen("/v1.0"));
  call->alpha = 1;
  if (alpha.failed || ofctx__dapr_call(client, "POST", alpha.data, "application/json",
                                       lines_of(call), call->body.data, call->body.len,
                                       &call->policy, answered, call) != OFCTX_OK) {
    ofctx__buf_free(&alpha);
    return 0;
  }
  ofctx__buf_free(&alpha);
  return 1;
}

static void answered(void *arg, const ofctx__dapr_result_t *r) {
  call_t *call = arg;
  ofctx__sink_result_t result = {.ok = r->ok,
                                 .status = r->status,
                                 .grpc_status = -1,
                                 .attempts = r->attempts,
                                 .error = r->ok ? NULL : r->error};
  const char **failed = NULL;

  if (!r->ok && !r->cancelled && try_alpha(call, r))
    return;
  if (r->ok)
    *call->sink->ready = 1;
  else if (call->ids.ids && (failed = ofctx__calloc(call->ids.count, sizeof *failed)) != NULL) {
    result.failed_count = failed_ids(call, r, failed);
    result.failed = failed;
  }
  call->done(call->arg, &result);
  ofctx__free(failed);
  call_free(call);
}

/* A bulk publish keeps its path, body and ids. */
static ofctx_err_t keep_bulk(call_t *call, const ofctx__send_request_t *req,
                             const ofctx__buf_t *path, const ofctx__buf_t *body) {
  call->policy = *call->sink->policy;
  call->policy.final_500 = 1;
  if (ofctx__sink_ids_copy(&call->ids, req) != OFCTX_OK)
    return OFCTX_ENOMEM;
  ofctx__buf_append(&call->path, path->data, path->len);
  ofctx__buf_append(&call->body, body->data, body->len);
  return call->path.failed || call->body.failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* The binding tail of `req`: the output's kept one, or a new one in `*own`. */
static const char *tail_of(dapr_sink_t *s, const ofctx__send_request_t *req, char **own,
                           ofctx_err_t *rc) {
  int keep = req->shared && req->slot < s->outputs;

  *own = NULL;
  *rc = OFCTX_OK;
  if (keep && s->tails[req->slot])
    return s->tails[req->slot];
  *own = ofctx__dapr_binding_tail(req, rc);
  if (keep && *own) {
    s->tails[req->slot] = *own;
    *own = NULL;
    return s->tails[req->slot];
  }
  return *own;
}

static ofctx_err_t start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                         ofctx__sink_done_fn done, void *arg) {
  dapr_sink_t *s = (dapr_sink_t *)base;
  ofctx__buf_t path = {0}, body = {0};
  ofctx__dapr_http_client_t *client;
  char *own = NULL;
  call_t *call = NULL;
  const char *tail;
  ofctx_err_t rc = ofctx__dapr_path(&path, req);

  if (rc == OFCTX_OK && req->kind == OFCTX__SEND_BINDING &&
      (tail = tail_of(s, req, &own, &rc)) != NULL)
    rc = ofctx__dapr_binding_body(&body, req, tail);
  if (rc == OFCTX_OK && req->kind == OFCTX__SEND_PUBLISH_BULK)
    rc = ofctx__dapr_bulk_body(&body, req);
  if (rc == OFCTX_OK && !(client = s->client(s->client_arg)))
    rc = OFCTX_ESEND; /* no libcurl (logged), or shutting down */
  if (rc == OFCTX_OK && !(call = ofctx__calloc(1, sizeof *call)))
    rc = OFCTX_ENOMEM;
  if (rc == OFCTX_OK) {
    int json_body = req->kind != OFCTX__SEND_PUBLISH;
    call->sink = s;
    call->done = done;
    call->arg = arg;
    if (req->kind == OFCTX__SEND_PUBLISH_BULK)
      rc = keep_bulk(call, req, &path, &body);
    if (rc == OFCTX_OK && req->traceparent)
      rc = trace_lines(call, req);
    if (rc != OFCTX_OK ||
        ofctx__dapr_call(client, "POST", path.data,
                         json_body ? "application/json" : req->content_type, lines_of(call),
                         json_body ? body.data : req->data, json_body ? body.len : req->len,
                         call->ids.ids ? &call->policy : s->policy, answered, call) != 0) {
      call_free(call);
      rc = OFCTX_ENOMEM;
    }
  }
  ofctx__free(own);
  ofctx__buf_free(&path);
  ofctx__buf_free(&body);
  return rc;
}

/* ---- state ---- */

typedef struct {
  dapr_sink_t *sink;
  ofctx__state_done_fn done;
  void *arg;
} state_call_t;

static void state_answered(void *arg, const ofctx__dapr_result_t *r) {
  state_call_t *call = arg;
  ofctx__state_result_t result = {.ok = r->ok,
                                  .conflict = r->status == 409,
                                  .status = r->status,
                                  .grpc_status = -1,
                                  .found = r->ok && r->status != 204, /* 204: no value */
                                  .attempts = r->attempts,
                                  .error = r->ok ? NULL : r->error,
                                  .body = r->body ? r->body : "",
                                  .body_len = r->body ? r->body_len : 0,
                                  .etag = r->etag ? r->etag : ""};

  if (r->ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  ofctx__free(call);
}

static ofctx_err_t state_start(ofctx__sink_t *base, const ofctx__state_request_t *req,
                               ofctx__state_done_fn done, void *arg) {
  static const char *const methods[] = {"GET", "POST", "DELETE"};
  dapr_sink_t *s = (dapr_sink_t *)base;
  ofctx__buf_t path = {0}, body = {0}, if_match = {0}, trace = {0};
  const char *lines[5] = {NULL}; /* If-Match, the trace's, NULL */
  size_t n = 0;
  ofctx__dapr_http_client_t *client;
  state_call_t *call = NULL;
  ofctx_err_t rc = ofctx__dapr_state_path(&path, req);

  if (rc == OFCTX_OK && req->op == OFCTX__STATE_SET)
    rc = ofctx__dapr_state_body(&body, req);
  if (rc == OFCTX_OK && req->op == OFCTX__STATE_DELETE && req->etag) {
    ofctx__buf_puts(&if_match, "If-Match: ");
    ofctx__buf_puts(&if_match, req->etag);
    lines[n++] = if_match.data;
    rc = if_match.failed ? OFCTX_ENOMEM : OFCTX_OK;
  }
  if (rc == OFCTX_OK && req->traceparent)
    rc = put_trace(&trace, lines + n, req->traceparent, req->tracestate, req->baggage);
  if (rc == OFCTX_OK && !(client = s->client(s->client_arg)))
    rc = OFCTX_ESEND; /* no libcurl (logged), or shutting down */
  if (rc == OFCTX_OK && !(call = ofctx__calloc(1, sizeof *call)))
    rc = OFCTX_ENOMEM;
  if (rc == OFCTX_OK) {
    call->sink = s;
    call->done = done;
    call->arg = arg;
    rc = ofctx__dapr_call(client, methods[req->op], path.data, "application/json",
                          lines[0] ? lines : NULL, body.data, body.len, s->policy, state_answered,
                          call);
    if (rc != OFCTX_OK)
      ofctx__free(call);
  }
  ofctx__buf_free(&trace);
  ofctx__buf_free(&if_match);
  ofctx__buf_free(&body);
  ofctx__buf_free(&path);
  return rc;
}

static void sink_free(ofctx__sink_t *base) {
  dapr_sink_t *s = (dapr_sink_t *)base;

  for (size_t i = 0; i < s->outputs; i++)
    ofctx__free(s->tails[i]);
  ofctx__free(s->tails);
  ofctx__free(s);
}

ofctx__sink_t *ofctx__dapr_http_sink_new(ofctx__dapr_http_client_fn client, void *client_arg,
                                         const ofctx__retry_policy_t *policy, size_t outputs,
                                         int *ready) {
  dapr_sink_t *s = ofctx__calloc(1, sizeof *s);

  if (!s)
    return NULL;
  s->tails = ofctx__calloc(outputs ? outputs : 1, sizeof *s->tails);
  if (!s->tails) {
    ofctx__free(s);
    return NULL;
  }
  s->base.start = start;
  s->base.free = sink_free;
  s->base.state = state_start;
  s->client = client;
  s->client_arg = client_arg;
  s->policy = policy;
  s->ready = ready;
  s->outputs = outputs;
  return &s->base;
}
