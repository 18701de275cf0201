/* Sends from a function to its outputs through the Dapr sidecar's HTTP API
 * (output bindings and pub/sub), queued on the loop; each send holds its
 * invocation open until it has finished. */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "buf.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "runtime.h"

typedef struct ofctx__send {
  ofctx_t *ctx;
  size_t slot; /* metrics: output index, or the output count for direct sends */
  ofctx_send_cb done;
  void *arg;
  struct ofctx__send *next; /* the local runtime's queue */
  char name[]; /* the output name, or the component */
} send_t;

static void send_finished(void *arg, const ofctx__dapr_result_t *r) {
  send_t *send = arg;
  ofctx_t *ctx = send->ctx;
  ofctx__runtime_t *rt = ctx->rt;

  ofctx__metrics_send(&rt->metrics, send->slot, r->ok);
  if (r->ok)
    rt->sidecar_ready = 1;
  if (!r->ok) {
    char status[16], attempts[16];
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(attempts, sizeof attempts, "%d", r->attempts);
    ofctx__log(OFCTX_LOG_ERROR, "send failed", "input", ctx->ev.input, "output", send->name,
               "status", r->status ? status : NULL, "attempts", attempts, "error", r->error,
               (const char *)NULL);
  }
  /* Always called, so that what `arg` holds can be released; after a
   * timeout or a shutdown abort the invocation has settled already. */
  if (send->done) {
    ofctx_send_result_t result = {r->ok ? OFCTX_OK : OFCTX_ESEND, r->status,
                                  r->ok ? "accepted" : r->error, send->name};
    send->done(ctx, &result, send->arg);
  }
  if (!ctx->settled)
    ofctx__invocation_send_done(ctx, r->ok);
  ofctx__invocation_release(ctx);
  ofctx__free(send);
}

/* Hands the request to the sidecar client on behalf of `ctx`; the local
 * runtime prints it instead and finishes it once the function returns. */
static ofctx_err_t start(ofctx_t *ctx, size_t slot, const char *name, const char *component,
                         const char *topic, const char *path, const char *content_type,
                         const char *body, size_t body_len, const ofctx_send_opts_t *opts) {
  ofctx__runtime_t *rt = ctx->rt;
  size_t name_len = strlen(name);
  send_t *send = ofctx__malloc(sizeof *send + name_len + 1);

  if (!send)
    return OFCTX_ENOMEM;
  send->ctx = ctx;
  send->slot = slot;
  send->done = opts ? opts->done : NULL;
  send->arg = opts ? opts->arg : NULL;
  send->next = NULL;
  memcpy(send->name, name, name_len + 1);
  if (rt->local) {
    if (ofctx__local_print(rt, slot, name, component, topic, content_type, body, body_len) != 0) {
      ofctx__free(send);
      return OFCTX_ENOMEM;
    }
    *rt->local_tail = send;
    rt->local_tail = &send->next;
  } else if (!ofctx__runtime_dapr(rt)) { /* no libcurl (logged), or shutting down */
    ofctx__free(send);
    return OFCTX_ESEND;
  } else if (ofctx__dapr_call(rt->dapr, "POST", path, content_type, body, body_len,
                              &rt->opts.send, send_finished, send) != 0) {
    ofctx__free(send);
    return OFCTX_ENOMEM;
  }
  ctx->refs++;
  ctx->sends_pending++;
  return OFCTX_OK;
}

void ofctx__local_sends_finish(ofctx__runtime_t *rt) {
  static const ofctx__dapr_result_t accepted = {.ok = 1, .status = 200};

  while (rt->local_sends) {
    send_t *send = rt->local_sends;
    rt->local_sends = send->next;
    if (!rt->local_sends)
      rt->local_tail = &rt->local_sends;
    send_finished(send, &accepted);
  }
}

/* Whether jansson's refusal of these came from the text rather than from
 * memory: a missing value, or a string with what Dapr should not get. */
static int tail_text_bad(const char *operation, const char *const *extra) {
  int bad = !ofctx__text_ok(operation);

  for (const char *const *kv = extra; !bad && kv && kv[0]; kv += 2)
    bad = !kv[1] || !ofctx__text_ok(kv[0]) || !ofctx__text_ok(kv[1]);
  return bad;
}

/* The part of a binding body after the data: `,"operation":…,"metadata":{…}}`
 * (a JSON object whose opening brace is a comma). NULL with `*rc` set. */
static char *binding_tail(const char *operation, const ofctx_strmap_t *base_metadata,
                          const char *const *extra, ofctx_err_t *rc) {
  json_t *metadata = json_object(), *tail = json_object();
  char *text = NULL;
  int failed = !metadata || !tail || json_object_set_new(tail, "operation", json_string(operation));

  for (size_t i = 0; !failed && i < ofctx_strmap_count(base_metadata); i++)
    failed = json_object_set_new(metadata, ofctx_strmap_key_at(base_metadata, i),
                                 json_string(ofctx_strmap_value_at(base_metadata, i)));
  for (const char *const *kv = extra; !failed && kv && kv[0]; kv += 2)
    failed = json_object_set_new(metadata, kv[0], kv[1] ? json_string(kv[1]) : NULL);
  if (!failed && json_object_set(tail, "metadata", metadata) == 0)
    text = ofctx__json_text(tail, JSON_COMPACT);
  if (text)
    text[0] = ',';
  *rc = text ? OFCTX_OK : tail_text_bad(operation, extra) ? OFCTX_EINVAL : OFCTX_ENOMEM;
  json_decref(tail);
  json_decref(metadata);
  return text;
}

/* POST /v1.0/bindings/<component> {"data":…,"operation":…,"metadata":…}.
 * `slot` < the output count: an output of the context, whose tail is built
 * once when the call adds no operation or metadata of its own. */
static ofctx_err_t send_binding(ofctx_t *ctx, size_t slot, const char *name,
                                const char *component, const char *operation,
                                const ofctx_strmap_t *base_metadata, const void *data,
                                size_t len, const ofctx_send_opts_t *opts) {
  ofctx__runtime_t *rt = ctx->rt;
  int shared = slot < ofctx_config_output_count(rt->cfg) && !(opts && (opts->operation || opts->metadata));
  const char *type = opts ? opts->content_type : NULL;
  char *tail = shared ? rt->binding_tails[slot] : NULL;
  ofctx__buf_t path = {0}, body = {0};
  ofctx_err_t rc = OFCTX_OK;

  if (!tail) {
    tail = binding_tail(operation, base_metadata, opts ? opts->metadata : NULL, &rc);
    if (!tail)
      return rc;
    if (shared)
      rt->binding_tails[slot] = tail;
  }
  ofctx__buf_puts(&body, "{\"data\":");
  /* JSON is embedded as JSON; a caller who says so is taken at its word */
  if (type ? ofctx__json_media(type) : ofctx__json_valid(data, len)) {
    ofctx__buf_append(&body, data, len);
  } else if (ofctx__buf_json_string(&body, data, len) != 0) {
    rc = OFCTX_EINVAL; /* not UTF-8 text: Dapr's HTTP API has no way to carry it */
  }
  ofctx__buf_puts(&body, tail);
  ofctx__buf_puts(&path, "/v1.0/bindings/");
  ofctx__buf_puts(&path, component);
  if (rc == OFCTX_OK)
    rc = body.failed || path.failed ? OFCTX_ENOMEM
                                    : start(ctx, slot, name, component, NULL, path.data,
                                            "application/json", body.data, body.len, opts);
  if (!shared)
    ofctx__free(tail);
  ofctx__buf_free(&path);
  ofctx__buf_free(&body);
  return rc;
}

/* One "?metadata.<key>=<value>" (then "&...") query parameter, encoded. */
static void metadata_param(ofctx__buf_t *path, char *sep, const char *key, const char *value) {
  ofctx__buf_append(path, sep, 1);
  ofctx__buf_puts(path, "metadata.");
  ofctx__buf_encoded(path, key, OFCTX__ENCODE_COMPONENT);
  ofctx__buf_puts(path, "=");
  ofctx__buf_encoded(path, value, OFCTX__ENCODE_COMPONENT);
  *sep = '&';
}

/* POST /v1.0/publish/<pubsub>/<topic>?metadata.<k>=<v> with the data as it is. */
static ofctx_err_t send_publish(ofctx_t *ctx, size_t slot, const char *name, const char *pubsub,
                                const char *topic, const ofctx_strmap_t *base_metadata,
                                const void *data, size_t len, const ofctx_send_opts_t *opts) {
  ofctx__buf_t path = {0};
  const char *type = opts && opts->content_type ? opts->content_type : NULL;
  char sep = '?';
  ofctx_err_t rc;

  if (!topic || !ofctx__topic_ok(topic) || !ofctx__text_ok(topic) ||
      (type && !ofctx__text_ok(type)))
    return OFCTX_EINVAL;
  if (!type) /* daprd keeps octet-stream data as data_base64 */
    type = ofctx__media_type_of(data, len);
  ofctx__buf_puts(&path, "/v1.0/publish/");
  ofctx__buf_puts(&path, pubsub);
  ofctx__buf_puts(&path, "/");
  ofctx__buf_encoded(&path, topic, OFCTX__ENCODE_PATH);
  for (size_t i = 0; i < ofctx_strmap_count(base_metadata); i++)
    metadata_param(&path, &sep, ofctx_strmap_key_at(base_metadata, i),
                   ofctx_strmap_value_at(base_metadata, i));
  for (const char *const *kv = opts ? opts->metadata : NULL; kv && kv[0]; kv += 2) {
    if (!kv[1]) {
      ofctx__buf_free(&path);
      return OFCTX_EINVAL;
    }
    metadata_param(&path, &sep, kv[0], kv[1]);
  }
  rc = path.failed ? OFCTX_ENOMEM
                    : start(ctx, slot, name, pubsub, topic, path.data, type, data, len, opts);
  ofctx__buf_free(&path);
  return rc;
}

static ofctx_err_t check_call(const ofctx_t *ctx, const void *data, size_t len) {
  if (!ctx || (!data && len))
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  return OFCTX_OK;
}

ofctx_err_t ofctx_send_to_opts(ofctx_t *ctx, const char *output, const void *data, size_t len,
                               const ofctx_send_opts_t *opts) {
  const ofctx_config_t *cfg;
  const ofctx_component_t *out;
  size_t slot = 0;
  ofctx_err_t rc = check_call(ctx, data, len);

  if (rc != OFCTX_OK)
    return rc;
  if (!output)
    return OFCTX_EINVAL;
  cfg = ctx->rt->cfg;
  out = ofctx_config_output(cfg, output);
  if (!out)
    return OFCTX_ENOOUTPUT;
  while (ofctx_config_output_at(cfg, slot) != out)
    slot++;
  if (ofctx_component_kind(out) == OFCTX_COMPONENT_PUBSUB)
    return send_publish(ctx, slot, output, ofctx_component_component_name(out),
                        ofctx_component_uri(out), ofctx_component_metadata(out), data, len,
                        opts);
  return send_binding(ctx, slot, output, ofctx_component_component_name(out),
                      opts && opts->operation  ? opts->operation
                      : ofctx_component_operation(out) ? ofctx_component_operation(out)
                                                       : "create",
                      ofctx_component_metadata(out), data, len, opts);
}

ofctx_err_t ofctx_send_to(ofctx_t *ctx, const char *output, const void *data, size_t len) {
  return ofctx_send_to_opts(ctx, output, data, len, NULL);
}

ofctx_err_t ofctx_invoke_binding(ofctx_t *ctx, const char *component, const char *operation,
                                 const void *data, size_t len, const ofctx_send_opts_t *opts) {
  ofctx_err_t rc = check_call(ctx, data, len);

  if (rc != OFCTX_OK)
    return rc;
  if (!ofctx__component_name_ok(component) || !operation || !*operation || !ofctx__text_ok(operation))
    return OFCTX_EINVAL;
  return send_binding(ctx, ofctx_config_output_count(ctx->rt->cfg), component, component,
                      operation, NULL, data, len, opts);
}

ofctx_err_t ofctx_publish(ofctx_t *ctx, const char *pubsub, const char *topic, const void *data,
                          size_t len, const ofctx_send_opts_t *opts) {
  ofctx_err_t rc = check_call(ctx, data, len);

  if (rc != OFCTX_OK)
    return rc;
  if (!ofctx__component_name_ok(pubsub))
    return OFCTX_EINVAL;
  return send_publish(ctx, ofctx_config_output_count(ctx->rt->cfg), pubsub, pubsub, topic, NULL,
                      data, len, opts);
}
