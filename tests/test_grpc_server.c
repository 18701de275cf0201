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

#define SERVED(len, n)                                                                             \
  { .ok = 1, .code = OFCTX__GRPC_OK, .attempts = 1, .decoded = 1, .data_len = (len), .calls = (n) }

static void unary_call_and_answer(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_open(&pair, echo, "s3cret");
  grpc_pair_policy(&policy, 1, 5000);
  grpc_pair_ask(&pair, PATH, NULL, "orders", 3000, 'q', &policy, &out);
  grpc_pair_check(&pair, &out, &(grpc_want_t)SERVED(3000, 1)); /* the code from the trailer */
  assert_int_equal(out.data[0], 'r');
  assert_int_equal(out.data[2999], 'r');
  assert_string_equal(seen_name, "orders");
  assert_int_equal(seen_len, 3000);
  assert_string_equal(seen_token, "s3cret");
  assert_string_equal(seen_agent, "libofctx");
  /* a second call on the same connection */
  grpc_pair_ask(&pair, PATH, NULL, "again", 0, 0, &policy, &out);
  grpc_pair_check(&pair, &out, &(grpc_want_t)SERVED(0, 2));
  assert_int_equal(ofctx__grpc_server_connections(pair.server), 1);
  grpc_pair_finish(&pair);
}

static void fail_with_message(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  (void)pair;
  ofctx__grpc_fail(call, OFCTX__GRPC_NOT_FOUND, "no binding \"kafka\" \xc3\xa9 100%");
}

static int token_check(void *arg, const ofctx__grpc_call_t *call, const char **message) {
  const char *token = ofctx__grpc_call_metadata(call, "dapr-api-token");
  (void)arg;
  if (token && strcmp(token, "good") == 0)
    return 0;
  *message = "the token is wrong";
  return OFCTX__GRPC_UNAUTHENTICATED;
}

/* One call the server refuses (a row per test, with the test's name), and
 * what it serves after. */
typedef struct {
  const char *name;
  void (*handler)(grpc_pair_t *pair, ofctx__grpc_call_t *call);
  const char *token;
  ofctx__grpc_head_fn check; /* NULL: none */
  size_t max_message_size;   /* 0: the default */
  int attempts;              /* the policy's */
  const char *path;
  size_t len; /* the request's data */
  grpc_want_t want;
  size_t then_len; /* then a call with this much data is served (0: none is made) */
} refusal_t;

#define REFUSED(code_, error_, attempts_, calls_)                                                  \
  { .code = (code_), .attempts = (attempts_), .calls = (calls_), .error = (error_) }

static const refusal_t refusals[] = {
    /* not worth a retry; grpc-message percent-encoded and back */
    {"status_and_message_trailers_only", fail_with_message, NULL, NULL, 0, 3, PATH, 1,
     REFUSED(OFCTX__GRPC_NOT_FOUND, "NOT_FOUND: no binding \"kafka\" \xc3\xa9 100%", 1, 1), 0},
    {"unknown_method_unimplemented", echo, NULL, NULL, 0, 3,
     "/dapr.proto.runtime.v1.AppCallback/Nothing", 1,
     REFUSED(OFCTX__GRPC_UNIMPLEMENTED, "UNIMPLEMENTED: unknown method", 1, 1), 0},
    /* the handler never saw it */
    {"head_check_refuses", echo, "bad", token_check, 0, 3, PATH, 100000,
     REFUSED(OFCTX__GRPC_UNAUTHENTICATED, "UNAUTHENTICATED: the token is wrong", 1, 0), 0},
    /* one within the bound still goes */
    {"message_over_the_bound", echo, NULL, NULL, 1024, 1, PATH, 4096,
     REFUSED(OFCTX__GRPC_RESOURCE_EXHAUSTED,
             "RESOURCE_EXHAUSTED: the message is larger than the limit", 1, 0),
     1000},
};

static void refused(void **state) {
  const refusal_t *row = *state;
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;

  grpc_pair_init(&pair);
  pair.handler = row->handler;
  if (row->max_message_size)
    pair.limits.max_message_size = row->max_message_size;
  grpc_pair_start(&pair, row->token);
  if (row->check)
    ofctx__grpc_server_on_head(pair.server, row->check);
  grpc_pair_policy(&policy, row->attempts, 5000);
  grpc_pair_ask(&pair, row->path, NULL, "x", row->len, 'a', &policy, &out);
  grpc_pair_check(&pair, &out, &row->want);
  if (row->then_len) {
    grpc_pair_ask(&pair, PATH, NULL, "x", row->then_len, 'a', &policy, &out);
    grpc_pair_check(&pair, &out, &(grpc_want_t)SERVED(row->then_len, row->want.calls + 1));
  }
  grpc_pair_finish(&pair);
}

#define REFUSAL_TEST(i)                                                                            \
  { refusals[i].name, refused, NULL, NULL, (void *)&refusals[i] }

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

  grpc_pair_open(&pair, hold_and_spend, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  leave = 0;
  grpc_pair_deliver(&pair, PATH, "first", 10, &policy, &first);
  /* nothing left: the next call is refused before its head */
  grpc_pair_ask(&pair, PATH, NULL, "second", 10, 'a', &policy, &second);
  grpc_pair_check(&pair, &second,
                  &(grpc_want_t){.code = OFCTX__GRPC_UNAVAILABLE,
                                 .attempts = 1,
                                 .calls = 1,
                                 .error_has = "REFUSED_STREAM"});
  /* the first answered, its charge goes: the next is served */
  pair.handler = echo;
  grpc_pair_reply(pair.held[0], 5, 'z');
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &first.done);
  grpc_pair_check(&pair, &first, &(grpc_want_t)SERVED(5, 1));
  grpc_pair_ask(&pair, PATH, NULL, "third", 10, 'a', &policy, &third);
  grpc_pair_check(&pair, &third, &(grpc_want_t)SERVED(10, 2));
  grpc_pair_finish(&pair);
}

static void budget_refuses_a_message(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t first, second;
  (void)state;

  grpc_pair_open(&pair, hold_and_spend, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  leave = 8192; /* room for a head, not for 64 KiB */
  grpc_pair_deliver(&pair, PATH, "first", 10, &policy, &first);
  grpc_pair_ask(&pair, PATH, NULL, "second", 65536, 'a', &policy, &second);
  grpc_pair_check(&pair, &second,
                  &(grpc_want_t)REFUSED(OFCTX__GRPC_RESOURCE_EXHAUSTED,
                                        "RESOURCE_EXHAUSTED: the server holds too many messages", 1,
                                        1));
  grpc_pair_finish(&pair); /* answers the first CANCELLED */
  assert_int_equal(first.done, 1);
  assert_int_equal(first.code, OFCTX__GRPC_CANCELLED);
}

static void deadline_passes_while_held(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_open(&pair, grpc_pair_hold, NULL);
  grpc_pair_policy(&policy, 1, 100); /* grpc-timeout: 100m */
  grpc_pair_ask(&pair, PATH, NULL, "x", 10, 'a', &policy, &out);
  grpc_pair_check(&pair, &out, &(grpc_want_t)REFUSED(OFCTX__GRPC_DEADLINE_EXCEEDED, NULL, 1, 1));
  /* the handler's late answer goes nowhere, and costs nothing */
  grpc_pair_reply(pair.held[0], 10, 'r');
  pair.held_count = 0;
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 1);
  grpc_pair_finish(&pair);
}

static void stop_answers_calls_in_flight(void **state) {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  grpc_outcome_t out;
  (void)state;

  grpc_pair_open(&pair, grpc_pair_hold, NULL);
  grpc_pair_policy(&policy, 1, 10000);
  grpc_pair_deliver(&pair, PATH, "x", 10, &policy, &out);
  ofctx__grpc_server_stop(pair.server, grpc_pair_stopped, &pair);
  uv_run(&pair.loop, UV_RUN_NOWAIT);
  assert_int_equal(out.done, 0);
  /* the GOAWAY ends no call in flight: its answer still goes */
  grpc_pair_reply(pair.held[0], 4, 'k');
  pair.held_count = 0;
  grpc_pair_run_until(&pair, &out.done);
  grpc_pair_check(&pair, &out, &(grpc_want_t)SERVED(4, 1));
  grpc_pair_run_until(&pair, &pair.stopped); /* its connection closes, and the server goes */
  ofctx__grpc_client_close(pair.client);
  uv_close((uv_handle_t *)&pair.listener, NULL);
  grpc_pair_drain(&pair);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unary_call_and_answer),
      REFUSAL_TEST(0),
      REFUSAL_TEST(1),
      REFUSAL_TEST(2),
      REFUSAL_TEST(3),
      cmocka_unit_test(budget_refuses_then_serves),
      cmocka_unit_test(budget_refuses_a_message),
      cmocka_unit_test(deadline_passes_while_held),
      cmocka_unit_test(stop_answers_calls_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
