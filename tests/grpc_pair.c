/* Test support: a gRPC client and server of libofctx's paired on one loop. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dapr.pb-c.h"
#include "grpc_pair.h"
#include "grpc_wire.h"

typedef Dapr__Proto__Runtime__V1__InvokeBindingRequest request_t;
typedef Dapr__Proto__Runtime__V1__InvokeBindingResponse response_t;

static void on_call(void *arg, ofctx__grpc_call_t *call) {
  grpc_pair_t *pair = arg;

  pair->calls++;
  pair->handler(pair, call);
}

static void free_handle(uv_handle_t *handle) { free(handle); }

/* The runtime's HTTP/1.1 server hands the gRPC server a socket it owns:
 * here a copy of the accepted one. */
static void on_connection(uv_stream_t *listener, int status) {
  grpc_pair_t *pair = listener->data;
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  uv_os_fd_t fd;

  assert_int_equal(status, 0);
  assert_non_null(tcp);
  uv_tcp_init(&pair->loop, tcp);
  assert_int_equal(uv_accept(listener, (uv_stream_t *)tcp), 0);
  assert_int_equal(uv_fileno((uv_handle_t *)tcp, &fd), 0);
  ofctx__grpc_server_adopt(pair->server, dup(fd), NULL, 0);
  uv_close((uv_handle_t *)tcp, free_handle);
}

void grpc_pair_init(grpc_pair_t *pair) {
  signal(SIGPIPE, SIG_IGN); /* as ofctx_main: a write to a closed peer fails instead */
  memset(pair, 0, sizeof *pair);
  assert_int_equal(uv_loop_init(&pair->loop), 0);
  ofctx__grpc_limits_default(&pair->limits);
}

void grpc_pair_start(grpc_pair_t *pair, const char *token) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;

  assert_int_equal(ofctx__grpc_server_new(&pair->server, &pair->loop, &pair->limits, on_call, pair),
                   OFCTX_OK);
  uv_tcp_init(&pair->loop, &pair->listener);
  pair->listener.data = pair;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_bind(&pair->listener, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&pair->listener, 16, on_connection), 0);
  uv_tcp_getsockname(&pair->listener, (struct sockaddr *)&bound, &len);
  pair->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  assert_int_equal(
      ofctx__grpc_client_new(&pair->client, &pair->loop, "127.0.0.1", pair->port, token), OFCTX_OK);
}

void grpc_pair_policy(ofctx__retry_policy_t *policy, int attempts, uint64_t timeout_ms) {
  ofctx__retry_policy_default(policy);
  policy->max_attempts = attempts;
  policy->backoff_initial_ms = 1;
  policy->backoff_max_ms = 1;
  policy->timeout_ms = timeout_ms;
}

static void call_done(void *arg, const ofctx__grpc_result_t *r) {
  grpc_outcome_t *out = arg;
  response_t *answer;

  out->done++;
  out->ok = r->ok;
  out->code = r->code;
  out->attempts = r->attempts;
  out->cancelled = r->cancelled;
  snprintf(out->error, sizeof out->error, "%s", r->error ? r->error : "");
  if (!r->response)
    return;
  answer =
      dapr__proto__runtime__v1__invoke_binding_response__unpack(NULL, r->response_len, r->response);
  if (!answer)
    return;
  out->decoded = 1;
  out->data_len = answer->data.len < sizeof out->data ? answer->data.len : sizeof out->data;
  if (out->data_len)
    memcpy(out->data, answer->data.data, out->data_len);
  dapr__proto__runtime__v1__invoke_binding_response__free_unpacked(answer, NULL);
}

void grpc_pair_call(grpc_pair_t *pair, const char *path, const char *fallback, const char *name,
                    size_t len, char fill, const ofctx__retry_policy_t *policy,
                    grpc_outcome_t *out) {
  request_t req = DAPR__PROTO__RUNTIME__V1__INVOKE_BINDING_REQUEST__INIT;
  uint8_t *data = malloc(len ? len : 1);

  assert_non_null(data);
  memset(data, fill, len);
  memset(out, 0, sizeof *out);
  req.name = (char *)name;
  req.operation = "create";
  req.data.data = data;
  req.data.len = len;
  assert_int_equal(ofctx__grpc_client_call_or(pair->client, path, fallback,
                                              (const ProtobufCMessage *)&req, policy, call_done,
                                              out),
                   OFCTX_OK);
  free(data);                     /* packed by the call */
  assert_int_equal(out->done, 0); /* never inside the call */
}

static void too_long(uv_timer_t *timer) {
  (void)timer;
  fail_msg("the loop ran 20 s without the awaited event");
}

void grpc_pair_run_until(grpc_pair_t *pair, const int *flag) {
  uv_timer_t guard;

  uv_timer_init(&pair->loop, &guard);
  uv_timer_start(&guard, too_long, 20000, 0);
  while (!*flag)
    uv_run(&pair->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&pair->loop, UV_RUN_NOWAIT);
}

int grpc_pair_request(ofctx__grpc_call_t *call, char *name, size_t size, size_t *data_len) {
  size_t len;
  const void *msg = ofctx__grpc_call_message(call, &len);
  request_t *req = dapr__proto__runtime__v1__invoke_binding_request__unpack(NULL, len, msg);

  if (!req)
    return -1;
  snprintf(name, size, "%s", req->name);
  *data_len = req->data.len;
  dapr__proto__runtime__v1__invoke_binding_request__free_unpacked(req, NULL);
  return 0;
}

void grpc_pair_reply(ofctx__grpc_call_t *call, size_t len, char fill) {
  response_t answer = DAPR__PROTO__RUNTIME__V1__INVOKE_BINDING_RESPONSE__INIT;
  uint8_t *data = malloc(len ? len : 1);

  assert_non_null(data);
  memset(data, fill, len);
  answer.data.data = data;
  answer.data.len = len;
  ofctx__grpc_reply(call, (const ProtobufCMessage *)&answer);
  free(data);
}

void grpc_pair_open(grpc_pair_t *pair, void (*handler)(grpc_pair_t *, ofctx__grpc_call_t *),
                    const char *token) {
  grpc_pair_init(pair);
  pair->handler = handler;
  grpc_pair_start(pair, token);
}

void grpc_pair_ask(grpc_pair_t *pair, const char *path, const char *fallback, const char *name,
                   size_t len, char fill, const ofctx__retry_policy_t *policy,
                   grpc_outcome_t *out) {
  grpc_pair_call(pair, path, fallback, name, len, fill, policy, out);
  grpc_pair_run_until(pair, &out->done);
}

void grpc_pair_deliver(grpc_pair_t *pair, const char *path, const char *name, size_t len,
                       const ofctx__retry_policy_t *policy, grpc_outcome_t *out) {
  grpc_pair_call(pair, path, NULL, name, len, 'a', policy, out);
  grpc_pair_run_until(pair, &pair->calls);
}

void grpc_pair_hold(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  pair->held[pair->held_count++] = call;
}

void grpc_pair_check(const grpc_pair_t *pair, const grpc_outcome_t *out, const grpc_want_t *want) {
  assert_int_equal(out->done, 1);
  assert_int_equal(out->ok, want->ok);
  assert_int_equal(out->code, want->code);
  assert_int_equal(out->attempts, want->attempts);
  assert_int_equal(out->decoded, want->decoded);
  assert_int_equal(out->data_len, want->data_len);
  assert_int_equal(pair->calls, want->calls);
  if (want->error)
    assert_string_equal(out->error, want->error);
  if (want->error_has && !strstr(out->error, want->error_has))
    fail_msg("the error \"%s\" does not hold \"%s\"", out->error, want->error_has);
}

void grpc_pair_stopped(void *arg) {
  grpc_pair_t *pair = arg;
  pair->stopped = 1;
}

void grpc_pair_drain(grpc_pair_t *pair) {
  int alive = 1;

  for (int i = 0; i < 100 && alive; i++)
    alive = uv_run(&pair->loop, UV_RUN_NOWAIT);
  assert_int_equal(alive, 0); /* no handle left behind */
  assert_int_equal(uv_loop_close(&pair->loop), 0);
}

void grpc_pair_finish(grpc_pair_t *pair) {
  ofctx__grpc_client_close(pair->client);
  ofctx__grpc_server_stop(pair->server, grpc_pair_stopped, pair);
  for (size_t i = 0; i < pair->held_count; i++)
    ofctx__grpc_fail(pair->held[i], OFCTX__GRPC_CANCELLED, "the test is over");
  pair->held_count = 0;
  uv_close((uv_handle_t *)&pair->listener, NULL);
  grpc_pair_run_until(pair, &pair->stopped);
  grpc_pair_drain(pair);
}
