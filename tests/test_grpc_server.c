/* The gRPC server against libofctx's own gRPC client on one loop
 * (grpc_pair.h): a unary call with its metadata, message, answer and
 * trailer; statuses with messages, trailers only; the head check; the
 * message size bound; the bodies' budget refusing calls and serving the
 * next; a deadline passing while the handler holds the call; a stop that
 * answers what is in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "grpc_pair.h"
#include "grpc_wire.h"

#define PATH "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"

/* Answers PATH with the request's data length in bytes of 'r'; any other
 * method UNIMPLEMENTED; records what it saw. */
static char seen_name[64], seen_token[64], seen_agent[64];
static size_t seen_len;

static void echo(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  const char *token = ofctx__grpc_call_metadata(call, "dapr-api-token");
  const char *agent = ofctx__grpc_call_metadata(call, "user-agent");
  (void)pair;

  snprintf(seen_token, sizeof seen_token, "%s", token ? token : "(none)");
  snprintf(seen_agent, sizeof seen_agent, "%s", agent ? agent : "(none)");
  if (strcmp(ofctx__grpc_call_path(call), PATH) != 0) {
    ofctx__grpc_fail(call, OFCTX__GRPC_UNIMPLEMENTED, "unknown method");
    return;
  }
  assert_int_equal(grpc_pair_request(call, seen_name, sizeof seen_name, &seen_len), 0);
  grpc_pair_reply(call, seen_len, 'r');
}

static void unary_call_and_answer(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = echo;
  grpc_pair_start(&pair, "s3cret");
  grpc_pair_policy(&policy, 1, 5000);
  grpc_pair_call(&pair, PATH, NULL, "orders", 3000, 'q', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.code, OFCTX__GRPC_OK); /* from the trailer */
  assert_int_equal(out.attempts, 1);
  assert_int_equal(out.decoded, 1);
  assert_int_equal(out.data_len, 3000);
  assert_int_equal(out.data[0], 'r');
  assert_int_equal(out.data[2999], 'r');
  assert_string_equal(seen_name, "orders");
  assert_int_equal(seen_len, 3000);
  assert_string_equal(seen_token, "s3cret");
  assert_string_equal(seen_agent, "libofctx");
  /* a second call on the same connection */
  grpc_pair_call(&pair, PATH, NULL, "again", 0, 0, &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.decoded, 1);
  assert_int_equal(out.data_len, 0);
  assert_int_equal(pair.calls, 2);
  assert_int_equal(ofctx__grpc_server_connections(pair.server), 1);
  grpc_pair_finish(&pair);
}

static void fail_with_message(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  (void)pair;
  ofctx__grpc_fail(call, OFCTX__GRPC_NOT_FOUND, "no binding \"kafka\" \xc3\xa9 100%");
}

static void status_and_message_trailers_only(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = fail_with_message;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 3, 5000);
  grpc_pair_call(&pair, PATH, NULL, "x", 1, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 0);
  assert_int_equal(out.code, OFCTX__GRPC_NOT_FOUND);
  assert_int_equal(out.attempts, 1); /* not worth a retry */
  /* grpc-message percent-encoded and back */
  assert_string_equal(out.error, "NOT_FOUND: no binding \"kafka\" \xc3\xa9 100%");
  assert_int_equal(out.decoded, 0);
  grpc_pair_finish(&pair);
}

static void unknown_method_unimplemented(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = echo;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 3, 5000);
  grpc_pair_call(&pair, "/dapr.proto.runtime.v1.AppCallback/Nothing", NULL, "x", 1, 'a', &policy,
                 &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNIMPLEMENTED);
  assert_int_equal(out.attempts, 1);
  assert_string_equal(out.error, "UNIMPLEMENTED: unknown method");
  grpc_pair_finish(&pair);
}

static int token_check(void *arg, const ofctx__grpc_call_t *call, const char **message) {
  const char *token = ofctx__grpc_call_metadata(call, "dapr-api-token");
  (void)arg;
  if (token && strcmp(token, "good") == 0)
    return 0;
  *message = "the token is wrong";
  return OFCTX__GRPC_UNAUTHENTICATED;
}

static void head_check_refuses(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = echo;
  grpc_pair_start(&pair, "bad");
  ofctx__grpc_server_on_head(pair.server, token_check);
  grpc_pair_policy(&policy, 3, 5000);
  grpc_pair_call(&pair, PATH, NULL, "x", 100000, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_UNAUTHENTICATED);
  assert_string_equal(out.error, "UNAUTHENTICATED: the token is wrong");
  assert_int_equal(pair.calls, 0); /* the handler never saw it */
  grpc_pair_finish(&pair);
}

static void message_over_the_bound(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = echo;
  pair.limits.max_message_size = 1024;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 1, 5000);
  grpc_pair_call(&pair, PATH, NULL, "x", 4096, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_RESOURCE_EXHAUSTED);
  assert_string_equal(out.error, "RESOURCE_EXHAUSTED: the message is larger than the limit");
  assert_int_equal(pair.calls, 0);
  /* one within it still goes */
  grpc_pair_call(&pair, PATH, NULL, "x", 1000, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.data_len, 1000);
  grpc_pair_finish(&pair);
}

/* Holds each call; the first one takes what the budget has left, but for
 * `leave` bytes. */
static size_t leave;

static void hold_and_spend(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  size_t room = ofctx__grpc_call_room(call);
  if (pair->held_count == 0)
    assert_int_equal(ofctx__grpc_call_hold(call, room > leave ? room - leave : 0), 0);
  pair->held[pair->held_count++] = call;
}

static void budget_refuses_then_serves(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t first, second, third;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = hold_and_spend;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  leave = 0;
  grpc_pair_call(&pair, PATH, NULL, "first", 10, 'a', &policy, &first);
  grpc_pair_run_until(&pair, &pair.calls);
  /* nothing left: the next call is refused before its head */
  grpc_pair_call(&pair, PATH, NULL, "second", 10, 'a', &policy, &second);
  grpc_pair_run_until(&pair, &second.done);
  assert_int_equal(second.code, OFCTX__GRPC_UNAVAILABLE);
  assert_non_null(strstr(second.error, "REFUSED_STREAM"));
  assert_int_equal(pair.calls, 1);
  /* the first answered, its charge goes: the next is served */
  pair.handler = echo;
  grpc_pair_reply(pair.held[0], 5, 'z');
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &first.done);
  assert_int_equal(first.ok, 1);
  assert_int_equal(first.data_len, 5);
  grpc_pair_call(&pair, PATH, NULL, "third", 10, 'a', &policy, &third);
  grpc_pair_run_until(&pair, &third.done);
  assert_int_equal(third.ok, 1);
  assert_int_equal(third.data_len, 10);
  grpc_pair_finish(&pair);
}

static void budget_refuses_a_message(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t first, second;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = hold_and_spend;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  leave = 8192; /* room for a head, not for 64 KiB */
  grpc_pair_call(&pair, PATH, NULL, "first", 10, 'a', &policy, &first);
  grpc_pair_run_until(&pair, &pair.calls);
  grpc_pair_call(&pair, PATH, NULL, "second", 65536, 'a', &policy, &second);
  grpc_pair_run_until(&pair, &second.done);
  assert_int_equal(second.code, OFCTX__GRPC_RESOURCE_EXHAUSTED);
  assert_string_equal(second.error, "RESOURCE_EXHAUSTED: the server holds too many messages");
  assert_int_equal(pair.calls, 1);
  grpc_pair_finish(&pair); /* answers the first CANCELLED */
  assert_int_equal(first.done, 1);
  assert_int_equal(first.code, OFCTX__GRPC_CANCELLED);
}

static void hold(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  pair->held[pair->held_count++] = call;
}

static void deadline_passes_while_held(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = hold;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 1, 100); /* grpc-timeout: 100m */
  grpc_pair_call(&pair, PATH, NULL, "x", 10, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.code, OFCTX__GRPC_DEADLINE_EXCEEDED);
  assert_int_equal(pair.calls, 1);
  /* the handler's late answer goes nowhere, and costs nothing */
  grpc_pair_reply(pair.held[0], 10, 'r');
  pair.held_count = 0;
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 1);
  grpc_pair_finish(&pair);
}

static void stopped(void *arg) {
  grpc_pair_t *pair = arg;
  pair->stopped = 1;
}

static void stop_answers_calls_in_flight(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_init(&pair);
  pair.handler = hold;
  grpc_pair_start(&pair, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  grpc_pair_call(&pair, PATH, NULL, "x", 10, 'a', &policy, &out);
  grpc_pair_run_until(&pair, &pair.calls);
  ofctx__grpc_server_stop(pair.server, stopped, &pair);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 0);
  /* the GOAWAY ends no call in flight: its answer still goes */
  grpc_pair_reply(pair.held[0], 4, 'k');
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &out.done);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.data_len, 4);
  grpc_pair_run_until(&pair, &pair.stopped); /* its connection closes, and the server goes */
  ofctx__grpc_client_close(pair.client);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  for (int i = 0; i < 100 && uv_run(&pair.loop, UV_RUN_NOWAIT); i++)
    ;
  assert_int_equal(uv_loop_close(&pair.loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unary_call_and_answer),
      cmocka_unit_test(status_and_message_trailers_only),
      cmocka_unit_test(unknown_method_unimplemented),
      cmocka_unit_test(head_check_refuses),
      cmocka_unit_test(message_over_the_bound),
      cmocka_unit_test(budget_refuses_then_serves),
      cmocka_unit_test(budget_refuses_a_message),
      cmocka_unit_test(deadline_passes_while_held),
      cmocka_unit_test(stop_answers_calls_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
