/* Sends to the sidecar's HTTP API: the path and body of each send, the
 * binding tails kept per output, and the client's answer as a sink result. */
#include "dapr_sink.h"
#include "dapr_body.h"
#include "mem.h"

typedef struct {
  ofctx__sink_t base;
  ofctx__dapr_client_fn client;
  void *client_arg;
  const ofctx__dapr_policy_t *policy;
  int *ready;
  size_t outputs;
  char **tails; /* per output: the end of its binding bodies, built at its first send */
} dapr_sink_t;

typedef struct {
  dapr_sink_t *sink;
  ofctx__sink_done_fn done;
  void *arg;
} call_t;

static void answered(void *arg, const ofctx__dapr_result_t *r) {
  call_t *call = arg;
  ofctx__sink_result_t result = {r->ok, r->status, -1, r->attempts, r->ok ? NULL : r->error};

  if (r->ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  ofctx__free(call);
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
  ofctx__dapr_client_t *client;
  char *own = NULL;
  call_t *call = NULL;
  const char *tail;
  ofctx_err_t rc = ofctx__dapr_path(&path, req);

  if (rc == OFCTX_OK && req->kind == OFCTX__SEND_BINDING &&
      (tail = tail_of(s, req, &own, &rc)) != NULL)
    rc = ofctx__dapr_binding_body(&body, req, tail);
  if (rc == OFCTX_OK && !(client = s->client(s->client_arg)))
    rc = OFCTX_ESEND; /* no libcurl (logged), or shutting down */
  if (rc == OFCTX_OK && !(call = ofctx__malloc(sizeof *call)))
    rc = OFCTX_ENOMEM;
  if (rc == OFCTX_OK) {
    *call = (call_t){s, done, arg};
    if (ofctx__dapr_call(client, "POST", path.data,
                         req->kind == OFCTX__SEND_BINDING ? "application/json" : req->content_type,
                         req->kind == OFCTX__SEND_BINDING ? body.data : req->data,
                         req->kind == OFCTX__SEND_BINDING ? body.len : req->len, s->policy,
                         answered, call) != 0) {
      ofctx__free(call);
      rc = OFCTX_ENOMEM;
    }
  }
  ofctx__free(own);
  ofctx__buf_free(&path);
  ofctx__buf_free(&body);
  return rc;
}

static void sink_free(ofctx__sink_t *base) {
  dapr_sink_t *s = (dapr_sink_t *)base;

  for (size_t i = 0; i < s->outputs; i++)
    ofctx__free(s->tails[i]);
  ofctx__free(s->tails);
  ofctx__free(s);
}

ofctx__sink_t *ofctx__dapr_sink_new(ofctx__dapr_client_fn client, void *client_arg,
                                    const ofctx__dapr_policy_t *policy, size_t outputs,
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
  s->client = client;
  s->client_arg = client_arg;
  s->policy = policy;
  s->ready = ready;
  s->outputs = outputs;
  return &s->base;
}
