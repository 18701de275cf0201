/* Test support: the fixture of host_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "host_fixture.h"

/* ---- a sink that keeps what it is given ---- */

static void copy(char *out, const char *s) {
  out[0] = '\0';
  if (s)
    strncat(out, s, 63);
}

static ofctx_err_t fake_start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                              ofctx__sink_done_fn done, void *arg) {
  fake_sink_t *s = (fake_sink_t *)base;
  s->last = *req;
  copy(s->component, req->component);
  copy(s->topic, req->topic);
  copy(s->content_type, req->content_type);
  copy(s->operation, req->operation);
  copy(s->traceparent, req->traceparent);
  copy(s->tracestate, req->tracestate);
  copy(s->baggage, req->baggage);
  memset(s->data, 0, sizeof s->data);
  memcpy(s->data, req->data, req->len < 63 ? req->len : 63);
  s->held[s->count++] = (held_t){done, arg};
  return OFCTX_OK;
}

static void fake_free(ofctx__sink_t *base) { (void)base; }

static ofctx_err_t fake_state(ofctx__sink_t *base, const ofctx__state_request_t *req,
                              ofctx__state_done_fn done, void *arg) {
  fake_sink_t *s = (fake_sink_t *)base;
  s->last_state = *req;
  copy(s->store, req->store);
  copy(s->key, req->key);
  copy(s->etag, req->etag);
  copy(s->concurrency, req->concurrency);
  copy(s->consistency, req->consistency);
  copy(s->traceparent, req->traceparent);
  copy(s->tracestate, req->tracestate);
  copy(s->baggage, req->baggage);
  memset(s->value, 0, sizeof s->value);
  if (req->value)
    memcpy(s->value, req->value, req->len < 63 ? req->len : 63);
  s->held_states[s->state_count].done = done;
  s->held_states[s->state_count++].arg = arg;
  return OFCTX_OK;
}

void finish_states(fake_sink_t *s, int status, const char *body, const char *etag) {
  size_t count = s->state_count;
  __typeof__(s->held_states) held;

  memcpy(held, s->held_states, sizeof held);
  s->state_count = 0; /* a callback may start more */
  for (size_t i = 0; i < count; i++) {
    ofctx__state_result_t r = {.ok = status >= 200 && status < 300,
                               .conflict = status == 409,
                               .status = status,
                               .grpc_status = -1,
                               .found = status == 200,
                               .attempts = 1,
                               .error = status >= 200 && status < 300 ? NULL : "refused",
                               .body = body,
                               .body_len = strlen(body),
                               .etag = etag};
    held[i].done(held[i].arg, &r);
  }
}

/* Ends the held sends, the first `ok_count` of them accepted. */
void finish(fake_sink_t *s, size_t ok_count) {
  for (size_t i = 0; i < s->count; i++) {
    ofctx__sink_result_t r = {.ok = i < ok_count,
                              .status = i < ok_count ? 204 : 500,
                              .grpc_status = -1,
                              .attempts = 1,
                              .error = i < ok_count ? NULL : "refused"};
    s->held[i].done(s->held[i].arg, &r);
  }
  s->count = 0;
}

/* ---- the function, told by the event what to do ---- */

ofctx_t *held_ctx; /* what "hold" held */

static ofctx_result_t function(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *what = ofctx_event_data(in, &len);

  if (strcmp(what, "binding") == 0)
    return ofctx_send_to(ctx, "out", "{\"a\":1}", 7, NULL) == OFCTX_OK ? OFCTX_SUCCESS
                                                                       : OFCTX_ERROR;
  if (strcmp(what, "publish") == 0)
    return ofctx_send_to(ctx, "pub", "plain", 5, NULL) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
  if (strcmp(what, "checks") == 0) {
    /* refused before any sink sees them */
    assert_int_equal(ofctx_publish(ctx, "ps", "../state/x", "x", 1, NULL), OFCTX_EINVAL);
    assert_int_equal(ofctx_publish(ctx, "ps", "a//b", "x", 1, NULL), OFCTX_EINVAL);
    assert_int_equal(ofctx_publish(ctx, "a/b", "t", "x", 1, NULL), OFCTX_EINVAL);
    assert_int_equal(ofctx_invoke_binding(ctx, "c", "", "x", 1, NULL), OFCTX_EINVAL);
    assert_int_equal(ofctx_send_to(ctx, "nope", "x", 1, NULL), OFCTX_ENOOUTPUT);
    return OFCTX_SUCCESS;
  }
  if (strcmp(what, "hold") == 0) {
    held_ctx = ctx;
    assert_int_equal(ofctx_hold(ctx), OFCTX_OK);
    return OFCTX_SUCCESS;
  }
  if (strcmp(what, "drop") == 0)
    return OFCTX_DROP;
  if (strcmp(what, "zero") == 0) /* a user's mistake: C lets it through */
    return (ofctx_result_t)OFCTX_OK;
  if (strcmp(what, "seven") == 0)
    return (ofctx_result_t)7;
  if (strcmp(what, "direct") == 0)
    return ofctx_invoke_binding(ctx, "comp", "post", "x", 1, NULL) == OFCTX_OK ? OFCTX_SUCCESS
                                                                               : OFCTX_ERROR;
  return OFCTX_ERROR;
}

/* ---- the fixture: a host around the core ---- */

void answer(ofctx_t *ctx, ofctx__outcome_t outcome) {
  fixture_t *f = ctx->host->arg;
  f->answers++;
  f->outcome = outcome;
}

static void settled(void *arg) { ((fixture_t *)arg)->settled++; }

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

int setup(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{\"in\":{\"componentName\":\"k\","
      "\"componentType\":\"bindings.kafka\"}},\"outputs\":{\"out\":{\"componentName\":\"kafka-"
      "out\","
      "\"componentType\":\"bindings.kafka\",\"metadata\":{\"k\":\"v\"}},\"pub\":{\"componentName\":"
      "\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"alerts\"}},\"states\":{\"store\":{"
      "\"componentName\":\"redis-store\",\"componentType\":\"state.redis\"}}}";
  const char *ins[] = {"in"}, *outs[] = {"out", "pub"};
  fixture_t *f = calloc(1, sizeof *f);
  ofctx_error_t err;

  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(
      ofctx_config_parse(&f->cfg, NULL, context, sizeof context - 1, self_host, NULL, &err),
      OFCTX_OK);
  assert_int_equal(ofctx__metrics_init(&f->metrics, ins, 1, outs, 2), 0);
  f->sink.base = (ofctx__sink_t){fake_start, fake_free, fake_state, NULL};
  f->host = (ofctx__host_t){.loop = &f->loop,
                            .cfg = f->cfg,
                            .fn = function,
                            .timeout_ms = 1000,
                            .metrics = &f->metrics,
                            .sink = &f->sink.base,
                            .settled = settled,
                            .arg = f};
  *state = f;
  return 0;
}

int teardown(void **state) {
  fixture_t *f = *state;
  uv_run(&f->loop, UV_RUN_DEFAULT); /* closes what invocations left */
  assert_int_equal(uv_loop_close(&f->loop), 0);
  ofctx__metrics_free(&f->metrics);
  ofctx_config_free(f->cfg);
  free(f);
  return 0;
}

void run(fixture_t *f, const char *what) {
  ofctx_event_t ev = {0};
  ev.kind = OFCTX_EVENT_BINDING;
  ev.input = "in";
  ev.data = what;
  ev.len = strlen(what);
  assert_int_equal(ofctx__invoke(&f->host, NULL, &ev, answer), 0);
}
