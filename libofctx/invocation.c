/* One invocation: its own context, the function's call, the sends it makes,
 * and the single answer to the input once all of them have settled. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cloudevent.h"
#include "invocation.h"
#include "log.h"
#include "mem.h"
#include "text.h"

static void destroy(ofctx_t *ctx) {
  ofctx__free(ctx->reply);
  json_decref(ctx->reply_attributes);
  ofctx__buf_free(&ctx->res.headers);
  ofctx__buf_free(&ctx->res.body);
  ofctx__span_free(ctx->span);
  ofctx__free(ctx);
}

static void timeout_closed(uv_handle_t *handle) { destroy(handle->data); }

void ofctx__invocation_release(ofctx_t *ctx) {
  if (--ctx->refs > 0)
    return;
  if (ctx->timer_on) /* the handle is freed with ctx, after the loop lets go of it */
    uv_close((uv_handle_t *)&ctx->timeout, timeout_closed);
  else
    destroy(ctx);
}

static void trace_end(ofctx_t *ctx, ofctx__outcome_t outcome, const char *why);

static void settle(ofctx_t *ctx, ofctx__outcome_t outcome, const char *why) {
  ofctx__host_t *host = ctx->host;
  /* a pre hook's DROP is its design (dedup, sampling): the hook says why */
  ofctx_log_level_t level = outcome == OFCTX__OUTCOME_SUCCESS                   ? OFCTX_LOG_DEBUG
                            : outcome == OFCTX__OUTCOME_DROP && ctx->stopped_by ? OFCTX_LOG_DEBUG
                            : outcome == OFCTX__OUTCOME_DROP                    ? OFCTX_LOG_WARN
                                                                                : OFCTX_LOG_ERROR;

  if (ctx->settled)
    return;
  ctx->settled = 1;
  if (ctx->timer_on)
    uv_timer_stop(&ctx->timeout);
  if (ctx->span)
    trace_end(ctx, outcome, why);
  if (!ctx->tick) { /* a failed send of a tick was logged by the send itself */
    double seconds = (double)(uv_hrtime() - ctx->started) / 1e9;
    if (ofctx__log_enabled(level)) {
      char latency[32];
      snprintf(latency, sizeof latency, "%.3f", seconds * 1e3);
      ofctx__dot_decimal(latency, NULL);
      ofctx__log(level,
                 outcome == OFCTX__OUTCOME_SUCCESS ? "event handled"
                 : outcome == OFCTX__OUTCOME_DROP  ? "event dropped"
                                                   : "event failed, not acknowledged",
                 "input", ctx->ev.input, "outcome", ofctx__outcome_name(outcome), "reason", why,
                 "hook", ctx->stopped_by, "latency_ms", latency, OFCTX__TRACE_FIELDS(ctx),
                 (const char *)NULL);
    }
    ofctx__metrics_invocation_time(host->metrics, ctx->ev.input_index, seconds);
    if (!ctx->batch) /* a batch's entries are counted by their batch */
      ofctx__metrics_event(host->metrics, ctx->ev.input_index, outcome);
    ctx->answer(ctx, outcome);
    ofctx__hooks_done(host->hooks, ctx,
                      outcome == OFCTX__OUTCOME_SUCCESS ? OFCTX_SUCCESS
                      : outcome == OFCTX__OUTCOME_DROP  ? OFCTX_DROP
                                                        : OFCTX_ERROR);
  }
  ctx->req = NULL;
  ofctx__event_clear(&ctx->ev);
  OFCTX__LIST_UNLINK(host->inflight, ctx);
  host->inflight_count--;
  ofctx__invocation_release(ctx);
  if (host->settled)
    host->settled(host->arg);
}

/* Settles when the function has returned and no send is in flight. */
static void maybe_settle(ofctx_t *ctx) {
  if (!ctx->returned || ctx->sends_pending > 0 || ctx->settled)
    return;
  if (ctx->sends_failed)
    settle(ctx, OFCTX__OUTCOME_RETRY, "a send (or a hold) failed");
  else if (ctx->result == OFCTX_SUCCESS)
    settle(ctx, OFCTX__OUTCOME_SUCCESS, NULL);
  else if (ctx->result == OFCTX_DROP)
    settle(ctx, OFCTX__OUTCOME_DROP,
           ctx->stopped_by ? "a pre hook declared the event poison"
                           : "the function declared the event poison");
  else
    settle(ctx, OFCTX__OUTCOME_RETRY,
           ctx->stopped_by ? "a pre hook answered an error" : "the function returned an error");
}

static void timed_out(uv_timer_t *timer) {
  ofctx_t *ctx = timer->data;
  settle(ctx, OFCTX__OUTCOME_RETRY, "sends still in flight at the invocation timeout");
}

static ofctx_t *context_new(ofctx__host_t *host) {
  ofctx_t *ctx = ofctx__calloc(1, sizeof *ctx);

  if (!ctx)
    return NULL;
  ctx->host = host;
  ctx->refs = 1;
  ctx->res.status = 200;
  ctx->started = uv_hrtime();
  OFCTX__LIST_PUSH(host->inflight, ctx);
  host->inflight_count++;
  return ctx;
}

/* ---- tracing ---- */

/* The event's own metadata named `key` (not the metadata it shares with
 * the other entries of a bulk delivery), or NULL. */
static const char *own_metadata(const ofctx_event_t *ev, const char *key) {
  for (size_t i = 0; i < ev->metadata_count; i++)
    if (strcasecmp(ev->metadata[i].name, key) == 0)
      return ev->metadata[i].value;
  return NULL;
}

/* The trace the event continues: the nearest hop's first. The transport's
 * metadata (the headers Dapr or a caller sent, a gRPC call's metadata, a
 * bulk entry's own), then the CloudEvent's extensions (the publisher's),
 * then a bulk delivery's shared metadata, then a Knative request's
 * headers. The first valid traceparent wins, with the tracestate beside it;
 * `*parent` stays NULL when none is valid. */
static void incoming(const ofctx_event_t *ev, const char **parent, const char **state) {
  ofctx__traceparent_t tp;
  const char *p;

  if (ofctx__traceparent_parse(p = own_metadata(ev, "traceparent"), &tp)) {
    *state = own_metadata(ev, "tracestate");
  } else if ((ev->attributes || ev->envelope) &&
             ofctx__traceparent_parse(p = ofctx_event_attribute(ev, "traceparent"), &tp)) {
    *state = ofctx_event_attribute(ev, "tracestate");
  } else if (ev->shared_count &&
             ofctx__traceparent_parse(p = ofctx_event_metadata(ev, "traceparent"), &tp)) {
    *state = ofctx_event_metadata(ev, "tracestate");
  } else if (ev->req && ofctx__traceparent_parse(
                            p = ofctx__http_request_header(ev->req, "traceparent"), &tp)) {
    *state = ofctx__http_request_header(ev->req, "tracestate");
  } else {
    return;
  }
  *parent = p;
}

/* The invocation's span, continuing the trace `ev` (NULL: a batch or a
 * tick, which start one) came with. Without memory the invocation runs
 * untraced: tracing never fails an event. */
static void trace_begin(ofctx_t *ctx, const ofctx_event_t *ev) {
  const char *parent = NULL, *state = NULL;

  if (ev)
    incoming(ev, &parent, &state);
  ctx->span = ofctx__span_new(parent, state, ctx->ev.input);
}

/* What the OpenTelemetry semantic conventions call the trigger of `ctx`'s
 * invocation, its span kind and name, and the messaging attributes. */
static void describe(const ofctx_t *ctx, ofctx__span_desc_t *d, char *name, size_t size) {
  const ofctx__host_t *host = ctx->host;
  const ofctx_config_t *cfg = host->cfg;
  const ofctx_component_t *c = ctx->ev.input && ctx->ev.input_index < ofctx_config_input_count(cfg)
                                   ? ofctx_config_input_at(cfg, ctx->ev.input_index)
                                   : NULL;
  const char *type = c ? ofctx_component_type(c) : NULL;
  const char *dot = type ? strchr(type, '.') : NULL;
  const char *destination = c ? ofctx_component_uri(c) : NULL;
  const char *trigger;

  if (ctx->tick || (type && strcmp(type, "bindings.cron") == 0)) {
    trigger = "timer";
    d->kind = ctx->tick ? OFCTX__OTLP_INTERNAL : OFCTX__OTLP_CONSUMER;
  } else if (c && ofctx_component_kind(c) == OFCTX_COMPONENT_PUBSUB) {
    trigger = "pubsub";
    d->kind = OFCTX__OTLP_CONSUMER;
  } else if (c) {
    trigger = "datasource";
    d->kind = OFCTX__OTLP_CONSUMER;
  } else {
    trigger = "http";
    d->kind = OFCTX__OTLP_SERVER;
  }
  if (d->kind == OFCTX__OTLP_CONSUMER && destination)
    snprintf(name, size, "process %s", destination);
  else if (ctx->tick)
    snprintf(name, size, "tick");
  else
    snprintf(name, size, "%s", ofctx_config_name(cfg));
  d->name = name;
  d->attrs[d->attr_count++] = (ofctx__span_attr_t){"faas.trigger", trigger};
  if (c && strcmp(trigger, "timer") != 0) {
    d->attrs[d->attr_count++] = (ofctx__span_attr_t){"messaging.system", dot ? dot + 1 : type};
    d->attrs[d->attr_count++] = (ofctx__span_attr_t){"messaging.destination.name", destination};
    d->attrs[d->attr_count++] = (ofctx__span_attr_t){"messaging.operation.type", "process"};
  }
  if (!c && ctx->ev.req) { /* Knative: the HTTP server's attributes */
    d->attrs[d->attr_count++] =
        (ofctx__span_attr_t){"http.request.method", ofctx__http_request_method(ctx->ev.req)};
    d->attrs[d->attr_count++] =
        (ofctx__span_attr_t){"url.path", ofctx__http_request_path(ctx->ev.req)};
    d->attrs[d->attr_count++] = (ofctx__span_attr_t){"http.route", ofctx_config_http_pattern(cfg)};
  }
  d->attrs[d->attr_count++] = (ofctx__span_attr_t){"ofctx.input", ctx->ev.input};
  d->attrs[d->attr_count++] =
      (ofctx__span_attr_t){"ofctx.component", c ? ofctx_component_dapr_name(c) : NULL};
}

#define LINKS_MAX 64 /* a batch's entries linked from its span: the first ones */

/* The invocation's span ends with the outcome and goes to the exporter, if
 * there is one: with a batch's entries' traces as its links. */
static void trace_end(ofctx_t *ctx, ofctx__outcome_t outcome, const char *why) {
  ofctx__span_desc_t d = {0};
  ofctx__traceparent_t links[LINKS_MAX];
  char name[256];

  ofctx__span_end(ctx->span);
  if (!ctx->host->exporter)
    return;
  d.span = ctx->span;
  describe(ctx, &d, name, sizeof name);
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.outcome", ofctx__outcome_name(outcome)};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.hook", ctx->stopped_by};
  d.error = outcome == OFCTX__OUTCOME_RETRY;
  d.message = why;
  d.tags = ofctx_config_tracing_tags(ctx->host->cfg);
  for (size_t i = 0; ctx->batch && i < ctx->batch->count && d.link_count < LINKS_MAX; i++) {
    const char *parent = NULL, *state = NULL;
    incoming(ctx->batch->events[i], &parent, &state);
    if (parent && ofctx__traceparent_parse(parent, &links[d.link_count]))
      d.link_count++;
  }
  d.links = links;
  ofctx__otlp_exporter_add(ctx->host->exporter, &d);
}

/* The function has returned: the timeout starts for what it left in flight. */
static void returned(ofctx_t *ctx) {
  ofctx__host_t *host = ctx->host;

  ctx->returned = 1;
  if (ctx->sends_pending > 0 && host->timeout_ms > 0) {
    uv_timer_init(host->loop, &ctx->timeout);
    ctx->timeout.data = ctx;
    ctx->timer_on = 1;
    uv_timer_start(&ctx->timeout, timed_out, host->timeout_ms, 0);
  }
  maybe_settle(ctx);
}

/* What a function returned (`r`, as an int: C lets it return any value),
 * as one of the three results: any other value, 0 included, is
 * OFCTX_ERROR, with a warning that names it and says what to return. */
static ofctx_result_t result_of(const ofctx_t *ctx, int r) {
  char code[16];

  if (r == OFCTX_SUCCESS || r == OFCTX_DROP || r == OFCTX_ERROR)
    return (ofctx_result_t)r;
  snprintf(code, sizeof code, "%d", r);
  ofctx__log(OFCTX_LOG_WARN,
             r == OFCTX_OK ? "the function returned 0, taken as OFCTX_ERROR: OFCTX_OK is an "
                             "ofctx_err_t; a function returns OFCTX_SUCCESS"
                           : "the function returned an unknown code, taken as OFCTX_ERROR: "
                             "return OFCTX_SUCCESS, OFCTX_DROP or OFCTX_ERROR",
             "input", ctx->ev.input, "code", code, OFCTX__TRACE_FIELDS(ctx), (const char *)NULL);
  return OFCTX_ERROR;
}

/* A single event given to a batch function, as a batch of one: its
 * result is the entry's status, or what the function's result makes of
 * an entry without one. */
static ofctx_result_t call_batch_of_one(ofctx_t *ctx) {
  ofctx_result_t result;

  ctx->one_event = &ctx->ev;
  ctx->one = (ofctx_batch_t){&ctx->one_event, &ctx->one_status, 1};
  result = result_of(ctx, (int)ctx->host->batch_fn(ctx, &ctx->one));
  if (result == OFCTX_ERROR)
    return OFCTX_ERROR;
  return ctx->one_status        ? (ofctx_result_t)ctx->one_status
         : result == OFCTX_DROP ? OFCTX_DROP
                                : OFCTX_ERROR; /* unanswered: RETRY */
}

/* The host's function on the context's event (or batch), between the
 * hooks: the result the post hooks leave. A pre hook that stops the
 * function stops a plain HTTP function too: its DROP answers 400. */
static ofctx_result_t run(ofctx_t *ctx) {
  ofctx__host_t *host = ctx->host;
  ofctx_result_t result = ofctx__hooks_pre(host->hooks, ctx, &ctx->stopped_by);

  if (result == OFCTX_SUCCESS) { /* else a pre hook stopped it: settle's line names it */
    if (ctx->batch)
      result = result_of(ctx, (int)host->batch_fn(ctx, ctx->batch));
    else if (host->fn)
      result = result_of(ctx, (int)host->fn(ctx, &ctx->ev));
    else if (host->batch_fn)
      result = call_batch_of_one(ctx);
    else
      host->http_fn(ctx, &ctx->ev, &ctx->res);
  }
  result = ofctx__hooks_post(host->hooks, ctx, result);
  if (host->http_fn && result == OFCTX_DROP) { /* what the function wrote does not go */
    ctx->res.status = 400;
    ctx->res.header_count = 0;
    ctx->res.headers.len = ctx->res.body.len = 0;
  }
  return result;
}

/* An event that could not be invoked (out of memory): freed, counted as
 * not acknowledged; -1 for ofctx__invoke. */
static int not_invoked(ofctx__host_t *host, const ofctx_event_t *ev) {
  ofctx_event_t copy = *ev;

  ofctx__event_clear(&copy);
  ofctx__metrics_event(host->metrics, ev->input_index, OFCTX__OUTCOME_RETRY);
  return -1;
}

int ofctx__invoke(ofctx__host_t *host, void *req, const ofctx_event_t *ev,
                  ofctx__answer_fn answer) {
  ofctx_event_t own;
  ofctx_t *ctx;

  /* the Go framework's SkyWalking envelope: the function sees the user's
   * data (the event copied only then) */
  if (ofctx__ce_go_envelope_maybe(ev)) {
    own = *ev;
    ev = &own;
    if (ofctx__ce_unwrap_go_envelope(&own) == OFCTX__UNWRAP_NOMEM)
      return not_invoked(host, ev);
  }
  ctx = context_new(host);
  if (!ctx)
    return not_invoked(host, ev);
  ctx->req = req;
  ctx->ev = *ev;
  ctx->answer = answer;
  if (host->tracing)
    trace_begin(ctx, &ctx->ev);
  ctx->result = run(ctx);
  returned(ctx);
  return 0;
}

int ofctx__invoke_batch(ofctx__host_t *host, void *req, ofctx_batch_t *batch, const char *input,
                        size_t input_index, ofctx__answer_fn answer) {
  ofctx_t *ctx;

  for (size_t i = 0; i < batch->count; i++)
    if (ofctx__ce_unwrap_go_envelope(batch->events[i]) == OFCTX__UNWRAP_NOMEM)
      return -1;
  ctx = context_new(host);
  if (!ctx)
    return -1;
  ctx->req = req;
  ctx->ev.kind = OFCTX_EVENT_PUBSUB;
  ctx->ev.input = input;
  ctx->ev.input_index = input_index;
  ctx->answer = answer;
  ctx->batch = batch;
  if (host->tracing)
    trace_begin(ctx, NULL);
  ctx->result = run(ctx);
  returned(ctx);
  return 0;
}

ofctx__outcome_t ofctx__batch_outcome(const ofctx_batch_t *batch, size_t i,
                                      ofctx__outcome_t outcome) {
  int status = batch->statuses[i];

  if (status == OFCTX_DROP)
    return OFCTX__OUTCOME_DROP;
  if (outcome == OFCTX__OUTCOME_RETRY)
    return OFCTX__OUTCOME_RETRY;
  if (status == OFCTX_SUCCESS)
    return OFCTX__OUTCOME_SUCCESS;
  return !status && outcome == OFCTX__OUTCOME_DROP ? OFCTX__OUTCOME_DROP : OFCTX__OUTCOME_RETRY;
}

void ofctx__tick(ofctx__host_t *host, int stopping) {
  ofctx_t *ctx;

  if (!host->tick)
    return;
  ctx = context_new(host);
  if (!ctx) {
    ofctx__log(OFCTX_LOG_ERROR, "out of memory: a tick did not run", (const char *)NULL);
    return;
  }
  ctx->tick = 1;
  ctx->result = OFCTX_SUCCESS;
  if (host->tracing)
    trace_begin(ctx, NULL);
  host->tick(ctx, stopping, host->user_data);
  returned(ctx);
}

void ofctx__invocation_send_done(ofctx_t *ctx, int ok) {
  ctx->sends_pending--;
  if (!ok)
    ctx->sends_failed++;
  maybe_settle(ctx);
}

void ofctx__invocations_abort(ofctx__host_t *host) {
  while (host->inflight)
    settle(host->inflight, OFCTX__OUTCOME_RETRY, "the shutdown grace period ran out");
}

/* ---- the public context ---- */

const ofctx_config_t *ofctx_config(const ofctx_t *ctx) { return ctx->host->cfg; }

const ofctx_event_t *ofctx_event(const ofctx_t *ctx) {
  return ctx->tick || ctx->batch ? NULL : &ctx->ev;
}

void *ofctx_user_data(const ofctx_t *ctx) { return ctx ? ctx->host->user_data : NULL; }

size_t ofctx_batch_count(const ofctx_batch_t *batch) { return batch ? batch->count : 0; }

const ofctx_event_t *ofctx_batch_event(const ofctx_batch_t *batch, size_t i) {
  return batch && i < batch->count ? batch->events[i] : NULL;
}

ofctx_err_t ofctx_batch_set_status(ofctx_batch_t *batch, size_t i, ofctx_result_t status) {
  if (!batch || i >= batch->count ||
      (status != OFCTX_SUCCESS && status != OFCTX_DROP && status != OFCTX_ERROR))
    return OFCTX_EINVAL;
  batch->statuses[i] = (int)status;
  return OFCTX_OK;
}

ofctx_err_t ofctx_hold(ofctx_t *ctx) {
  if (!ctx)
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  ctx->refs++;
  ctx->sends_pending++;
  return OFCTX_OK;
}

void ofctx_release(ofctx_t *ctx, ofctx_err_t status) {
  if (!ctx)
    return;
  if (!ctx->settled) { /* else a timeout or the shutdown settled it already */
    if (status != OFCTX_OK)
      ofctx__log(OFCTX_LOG_ERROR, "hold released as failed", "input", ctx->ev.input, "code",
                 ofctx_err_name(status), "error", ofctx_strerror(status), OFCTX__TRACE_FIELDS(ctx),
                 (const char *)NULL);
    ofctx__invocation_send_done(ctx, status == OFCTX_OK);
  }
  ofctx__invocation_release(ctx);
}

ofctx_err_t ofctx_set_reply(ofctx_t *ctx, const void *data, size_t len) {
  char *copy;

  if (!ctx || (!data && len))
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  copy = ofctx__malloc(len + 1);
  if (!copy)
    return OFCTX_ENOMEM;
  if (len)
    memcpy(copy, data, len);
  copy[len] = '\0';
  ofctx__free(ctx->reply);
  ctx->reply = copy;
  ctx->reply_len = len;
  return OFCTX_OK;
}

void ofctx_log(const ofctx_t *ctx, ofctx_log_level_t level, const char *fmt, ...) {
  char small[1024], *msg = small;
  va_list ap;
  int n;

  if (level < OFCTX_LOG_DEBUG || level > OFCTX_LOG_ERROR || !ofctx__log_enabled(level))
    return;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  /* a longer message is formatted again, whole, rather than cut */
  if ((size_t)n >= sizeof small && (msg = ofctx__malloc((size_t)n + 1)) != NULL) {
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  ofctx__log(level, msg ? msg : small, "input", ctx && !ctx->settled ? ctx->ev.input : NULL,
             OFCTX__TRACE_FIELDS(ctx), (const char *)NULL);
  if (msg != small)
    ofctx__free(msg);
}

/* ---- the trace of the invocation (ofctx/trace.h) ---- */

const char *ofctx_trace_id(const ofctx_t *ctx) {
  return ctx && ctx->span ? ctx->span->trace_hex : NULL;
}

const char *ofctx_span_id(const ofctx_t *ctx) {
  return ctx && ctx->span ? ctx->span->span_hex : NULL;
}

const char *ofctx_traceparent(const ofctx_t *ctx) {
  return ctx && ctx->span ? ctx->span->traceparent : NULL;
}
