/* Sends from a function to its outputs: checked here, described in Dapr's
 * terms and handed to the runtime's sink (sink.h); each send holds its
 * invocation open until it has finished. Which sink carries it, this file
 * does not know. */
#include <stdio.h>
#include <string.h>

#include "invocation.h"
#include "log.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"

typedef struct {
  ofctx_t *ctx;
  uint64_t started; /* uv_hrtime */
  size_t slot;      /* metrics: output index, or the output count for direct sends */
  ofctx_send_cb done;
  void *arg;
  ofctx__span_t span; /* with tracing: the send's, a child of the invocation's */
  /* with an exporter: what the span says, in `name`'s memory after it */
  ofctx__send_kind_t kind;
  const char *span_name, *component, *destination, *operation;
  char name[]; /* the output name, or the component */
} send_t;

/* The send's span ends with its result and goes to the exporter. */
static void trace_end(send_t *send, const ofctx__sink_result_t *r) {
  ofctx_t *ctx = send->ctx;
  const ofctx_config_t *cfg = ctx->host->cfg;
  const char *type = send->slot < ofctx_config_output_count(cfg)
                         ? ofctx_component_type(ofctx_config_output_at(cfg, send->slot))
                         : NULL;
  const char *dot = type ? strchr(type, '.') : NULL;
  ofctx__span_desc_t d = {0};

  ofctx__span_end(&send->span);
  if (!ctx->host->exporter || !send->span_name)
    return;
  d.span = &send->span;
  d.kind = send->kind == OFCTX__SEND_BINDING ? OFCTX__OTLP_CLIENT : OFCTX__OTLP_PRODUCER;
  d.name = send->span_name;
  d.error = !r->ok;
  d.message = r->error;
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"messaging.system", dot ? dot + 1 : NULL};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"messaging.destination.name", send->destination};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){
      "messaging.operation.type", send->kind == OFCTX__SEND_BINDING ? "send" : "publish"};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.output", send->name};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.component", send->component};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.operation", send->operation};
  d.tags = ofctx_config_tracing_tags(cfg);
  ofctx__otlp_exporter_add(ctx->host->exporter, &d);
}

/* Copies `s` (may be NULL) to `*p`, moving it on. */
static const char *keep(char **p, const char *s) {
  size_t n;
  char *at = *p;

  if (!s)
    return NULL;
  n = strlen(s) + 1;
  memcpy(at, s, n);
  *p += n;
  return at;
}

static void send_finished(void *arg, const ofctx__sink_result_t *r) {
  send_t *send = arg;
  ofctx_t *ctx = send->ctx;

  ofctx__metrics_send(ctx->host->metrics, send->slot, r->ok);
  ofctx__metrics_send_time(ctx->host->metrics, send->slot,
                           (double)(uv_hrtime() - send->started) / 1e9);
  if (!r->ok) {
    char status[16], grpc[16], attempts[16], failed[24];
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(grpc, sizeof grpc, "%d", r->grpc_status);
    snprintf(attempts, sizeof attempts, "%d", r->attempts);
    snprintf(failed, sizeof failed, "%zu", r->failed_count);
    ofctx__log(OFCTX_LOG_ERROR, "send failed", "input", ctx->ev.input, "output", send->name,
               "status", r->status ? status : NULL, "grpc_status",
               r->grpc_status >= 0 ? grpc : NULL, "attempts", attempts, "failed_entries",
               r->failed_count ? failed : NULL, "error", r->error, OFCTX__TRACE_FIELDS(ctx),
               (const char *)NULL);
  }
  if (ctx->span)
    trace_end(send, r);
  /* Always called, so that what `arg` holds can be released; after a
   * timeout or a shutdown abort the invocation has settled already. */
  if (send->done) {
    ofctx_send_result_t result = {r->ok ? OFCTX_OK : OFCTX_ESEND,
                                  r->status,
                                  r->ok ? "accepted" : r->error,
                                  send->name,
                                  r->grpc_status,
                                  r->failed_count,
                                  r->failed};
    send->done(ctx, &result, send->arg);
  }
  if (!ctx->settled)
    ofctx__invocation_send_done(ctx, r->ok);
  ofctx__invocation_release(ctx);
  ofctx__free(send);
}

/* Hands the checked request to the sink on behalf of `ctx`. */
static ofctx_err_t start(ofctx_t *ctx, const ofctx__send_request_t *req,
                         const ofctx_send_opts_t *opts) {
  ofctx__sink_t *sink = ctx->host->sink;
  size_t name_len = strlen(req->name), more = 0, span_name = 0;
  int described = ctx->span && ctx->host->exporter;
  const char *destination = req->kind == OFCTX__SEND_BINDING ? req->component : req->topic;
  const char *verb =
      req->kind == OFCTX__SEND_BINDING ? (req->operation ? req->operation : "invoke") : "publish";
  send_t *send;
  ofctx_err_t rc;

  if (described) { /* the span's name, then component, destination, operation */
    span_name = strlen(verb) + 1 + (destination ? strlen(destination) : 0) + 1;
    more = span_name + (req->component ? strlen(req->component) + 1 : 0) +
           (destination ? strlen(destination) + 1 : 0) +
           (req->operation ? strlen(req->operation) + 1 : 0);
  }
  send = ofctx__malloc(sizeof *send + name_len + 1 + more);
  if (!send)
    return OFCTX_ENOMEM;
  send->span_name = send->component = send->destination = send->operation = NULL;
  send->kind = req->kind;
  if (described) {
    char *p = send->name + name_len + 1;
    send->span_name = p;
    snprintf(p, span_name, "%s %s", verb, destination ? destination : "");
    p += span_name;
    send->component = keep(&p, req->component);
    send->destination = keep(&p, destination);
    send->operation = keep(&p, req->operation);
  }
  send->ctx = ctx;
  send->started = uv_hrtime();
  send->slot = req->slot;
  send->done = opts ? opts->done : NULL;
  send->arg = opts ? opts->arg : NULL;
  memcpy(send->name, req->name, name_len + 1);
  if (ctx->span) { /* the sidecar's spans join the invocation's trace */
    ofctx__send_request_t traced = *req;
    ofctx__span_child(&send->span, ctx->span, OFCTX__SPAN_SEND, send->name);
    traced.traceparent = send->span.traceparent;
    traced.tracestate = send->span.tracestate;
    traced.baggage = ctx->host->baggage;
    rc = sink->start(sink, &traced, send_finished, send);
  } else {
    rc = sink->start(sink, req, send_finished, send);
  }
  if (rc != OFCTX_OK) {
    ofctx__free(send);
    return rc;
  }
  ctx->refs++;
  ctx->sends_pending++;
  return OFCTX_OK;
}

/* Whether every key of the metadata pairs `kv` (key, value, ..., NULL; or
 * NULL) has a value. */
static int pairs_ok(const char *const *kv) {
  for (; kv && kv[0]; kv += 2)
    if (!kv[1])
      return 0;
  return 1;
}

/* A publish: the topic must stay one topic in the sidecar's URL, and the
 * data gets a type (daprd keeps octet-stream data as data_base64). */
static ofctx_err_t send_publish(ofctx_t *ctx, ofctx__send_request_t *req,
                                const ofctx_send_opts_t *opts) {
  if (!req->topic || !ofctx__topic_ok(req->topic) || !ofctx__text_ok(req->topic) ||
      (req->content_type && !ofctx__text_ok(req->content_type)) || !pairs_ok(req->extra))
    return OFCTX_EINVAL;
  if (!req->content_type)
    req->content_type = ofctx__media_type_of(req->data, req->len);
  return start(ctx, req, opts);
}

static ofctx_err_t check_call(const ofctx_t *ctx, const void *data, size_t len,
                              const ofctx_send_opts_t *opts) {
  if (!ctx || (!data && len) || (opts && opts->size < sizeof *opts))
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  return OFCTX_OK;
}

/* The request's parts that come from the call's options. */
static void from_opts(ofctx__send_request_t *req, const ofctx_send_opts_t *opts) {
  req->content_type = opts ? opts->content_type : NULL;
  req->extra = opts ? opts->metadata : NULL;
}

/* The name asked for, and the names there are: most often a typo. */
static void no_such_output(ofctx_t *ctx, const char *output) {
  const ofctx_config_t *cfg = ctx->host->cfg;
  ofctx__buf_t names = {0};

  for (size_t i = 0; i < ofctx_config_output_count(cfg); i++) {
    ofctx__buf_puts(&names, i ? ", " : "");
    ofctx__buf_puts(&names, ofctx_component_name(ofctx_config_output_at(cfg, i)));
  }
  ofctx__log(OFCTX_LOG_ERROR, "no output of that name in the function context", "input",
             ctx->ev.input, "output", output, "outputs",
             names.data ? names.data : (names.failed ? "?" : "(none)"), (const char *)NULL);
  ofctx__buf_free(&names);
}

ofctx_err_t ofctx_send_to(ofctx_t *ctx, const char *output, const void *data, size_t len,
                          const ofctx_send_opts_t *opts) {
  const ofctx_config_t *cfg;
  const ofctx_component_t *out;
  ofctx__send_request_t req = {0};
  ofctx_err_t rc = check_call(ctx, data, len, opts);

  if (rc != OFCTX_OK)
    return rc;
  if (!output)
    return OFCTX_EINVAL;
  cfg = ctx->host->cfg;
  out = ofctx_config_output(cfg, output);
  if (!out) {
    no_such_output(ctx, output);
    return OFCTX_ENOOUTPUT;
  }
  while (ofctx_config_output_at(cfg, req.slot) != out)
    req.slot++;
  from_opts(&req, opts);
  req.name = output;
  req.component = ofctx_component_dapr_name(out);
  req.metadata = ofctx_component_metadata(out);
  req.data = data;
  req.len = len;
  if (ofctx_component_kind(out) == OFCTX_COMPONENT_PUBSUB) {
    req.kind = OFCTX__SEND_PUBLISH;
    req.topic = ofctx_component_uri(out);
    return send_publish(ctx, &req, opts);
  }
  req.kind = OFCTX__SEND_BINDING;
  req.shared = !(opts && (opts->operation || opts->metadata));
  req.operation = opts && opts->operation          ? opts->operation
                  : ofctx_component_operation(out) ? ofctx_component_operation(out)
                                                   : "create";
  return start(ctx, &req, opts);
}

/* A send to a component the context does not name (counted in the last
 * slot): the call checked, the request filled but for kind's own parts. */
static ofctx_err_t direct(ofctx_t *ctx, ofctx__send_request_t *req, ofctx__send_kind_t kind,
                          const char *component, const void *data, size_t len,
                          const ofctx_send_opts_t *opts) {
  ofctx_err_t rc = check_call(ctx, data, len, opts);

  if (rc != OFCTX_OK)
    return rc;
  if (!ofctx__component_name_ok(component))
    return OFCTX_EINVAL;
  from_opts(req, opts);
  req->kind = kind;
  req->slot = ofctx_config_output_count(ctx->host->cfg);
  req->name = req->component = component;
  req->data = data;
  req->len = len;
  return OFCTX_OK;
}

ofctx_err_t ofctx_invoke_binding(ofctx_t *ctx, const char *component, const char *operation,
                                 const void *data, size_t len, const ofctx_send_opts_t *opts) {
  ofctx__send_request_t req = {0};
  ofctx_err_t rc = direct(ctx, &req, OFCTX__SEND_BINDING, component, data, len, opts);

  if (rc != OFCTX_OK)
    return rc;
  if (!operation || !*operation || !ofctx__text_ok(operation))
    return OFCTX_EINVAL;
  req.operation = operation;
  return start(ctx, &req, opts);
}

ofctx_err_t ofctx_publish(ofctx_t *ctx, const char *pubsub, const char *topic, const void *data,
                          size_t len, const ofctx_send_opts_t *opts) {
  ofctx__send_request_t req = {0};
  ofctx_err_t rc = direct(ctx, &req, OFCTX__SEND_PUBLISH, pubsub, data, len, opts);

  if (rc != OFCTX_OK)
    return rc;
  req.topic = topic;
  return send_publish(ctx, &req, opts);
}

/* Starts the bulk publish `req` of `entries` with each entry's defaults,
 * made once for every sink: its index as its id, its data's own type
 * (borrowed by the sink only during start). */
static ofctx_err_t start_bulk(ofctx_t *ctx, ofctx__send_request_t *req,
                              const ofctx_bulk_entry_t *entries, size_t count,
                              const ofctx_send_opts_t *opts) {
  ofctx_bulk_entry_t *full;
  char(*index)[24];
  ofctx_err_t rc = OFCTX_ENOMEM;

  full = ofctx__calloc(count, sizeof *full);
  if (!full)
    return OFCTX_ENOMEM;
  index = ofctx__calloc(count, sizeof *index);
  if (!index)
    goto out_free_full;
  for (size_t i = 0; i < count; i++) {
    full[i] = entries[i];
    if (!full[i].entry_id) {
      snprintf(index[i], sizeof index[i], "%zu", i);
      full[i].entry_id = index[i];
    }
    if (!full[i].content_type)
      full[i].content_type = ofctx__media_type_of(full[i].data, full[i].len);
  }
  req->entries = full;
  req->entry_count = count;
  rc = start(ctx, req, opts);
  ofctx__free(index);
out_free_full:
  ofctx__free(full);
  return rc;
}

ofctx_err_t ofctx_publish_bulk(ofctx_t *ctx, const char *pubsub, const char *topic,
                               const ofctx_bulk_entry_t *entries, size_t count,
                               const ofctx_send_opts_t *opts) {
  ofctx__send_request_t req = {0};
  ofctx_err_t rc = direct(ctx, &req, OFCTX__SEND_PUBLISH_BULK, pubsub, NULL, 0, opts);

  if (rc != OFCTX_OK)
    return rc;
  if (!entries || count == 0 || !topic || !ofctx__topic_ok(topic) || !ofctx__text_ok(topic) ||
      !pairs_ok(req.extra))
    return OFCTX_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!entries[i].data && entries[i].len)
      return OFCTX_EINVAL; /* the rest is checked as the sink writes it */
  req.topic = topic;
  req.content_type = NULL;
  return start_bulk(ctx, &req, entries, count, opts);
}

ofctx_err_t ofctx__sink_ids_copy(ofctx__sink_ids_t *out, const ofctx__send_request_t *req) {
  out->ids = ofctx__calloc(req->entry_count ? req->entry_count : 1, sizeof *out->ids);
  if (!out->ids)
    return OFCTX_ENOMEM;
  for (; out->count < req->entry_count; out->count++) {
    out->ids[out->count] = ofctx__strdup(req->entries[out->count].entry_id);
    if (!out->ids[out->count])
      return OFCTX_ENOMEM;
  }
  return OFCTX_OK;
}

void ofctx__sink_ids_free(ofctx__sink_ids_t *ids) {
  for (size_t i = 0; i < ids->count; i++)
    ofctx__free(ids->ids[i]);
  ofctx__free(ids->ids);
  *ids = (ofctx__sink_ids_t){NULL, 0};
}
