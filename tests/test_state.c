/* State requests (state.c), through the core with a fake sink and no mode
 * (host_fixture.h): each request checked before any sink sees it and
 * described in Dapr's terms (the store's Dapr name, the value as JSON, the
 * options' words); writes hold the invocation and a failed one makes it
 * RETRY, a conflict does not; a read gives back what a write stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "host_fixture.h"

/* What the last callback was given. */
static struct {
  int calls;
  ofctx_err_t code;
  int found;
  char value[64];
  size_t len;
  char etag[64];
} seen;

static void record(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {
  (void)arg;
  seen.calls++;
  seen.code = r->code;
  seen.found = r->found;
  seen.len = r->len;
  memset(seen.value, 0, sizeof seen.value);
  memcpy(seen.value, r->value, r->len < 63 ? r->len : 63);
  seen.etag[0] = '\0';
  strncat(seen.etag, r->etag, 63);
  if (r->found) /* the invocation is still open: a send is taken */
    assert_int_equal(ofctx_send_to(ctx, "out", "{}", 2, NULL), OFCTX_OK);
}

static ofctx_result_t function(ofctx_t *ctx, const ofctx_event_t *in) {
  static const char *const ttl[] = {"ttlInSeconds", "60", NULL};
  ofctx_state_opts_t opts = OFCTX_STATE_OPTS_INIT;
  size_t len;
  const char *what = ofctx_event_data(in, &len);

  opts.done = record;
  if (strcmp(what, "get") == 0)
    return ofctx_state_get(ctx, "store", "k", record, NULL) == OFCTX_OK ? OFCTX_SUCCESS
                                                                        : OFCTX_ERROR;
  if (strcmp(what, "delete") == 0) {
    opts.etag = "7";
    return ofctx_state_delete(ctx, "store", "k", &opts) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
  }
  if (strcmp(what, "set text") == 0) {
    opts.etag = "3";
    opts.concurrency = OFCTX_STATE_FIRST_WRITE;
    opts.consistency = OFCTX_STATE_STRONG;
    opts.metadata = ttl;
    return ofctx_state_set(ctx, "store", "k", "hi \"you\"", 8, &opts) == OFCTX_OK ? OFCTX_SUCCESS
                                                                                  : OFCTX_ERROR;
  }
  if (strncmp(what, "set ", 4) == 0) /* the rest is the value */
    return ofctx_state_set(ctx, "store", "k", what + 4, len - 4, &opts) == OFCTX_OK ? OFCTX_SUCCESS
                                                                                    : OFCTX_ERROR;
  return OFCTX_ERROR;
}

static int setup_state(void **state) {
  int rc = setup(state);
  fixture_t *f = *state;
  f->host.fn = function;
  memset(&seen, 0, sizeof seen);
  return rc;
}

/* A write holds its invocation until it is answered; text goes as a JSON
 * string, the options as Dapr's words, the store by its Dapr name. */
static void write_holds_the_invocation(void **state) {
  fixture_t *f = *state;

  run(f, "set text");
  assert_int_equal(f->sink.last_state.op, OFCTX__STATE_SET);
  assert_string_equal(f->sink.store, "redis-store");
  assert_string_equal(f->sink.key, "k");
  assert_string_equal(f->sink.value, "\"hi \\\"you\\\"\"");
  assert_string_equal(f->sink.etag, "3");
  assert_string_equal(f->sink.concurrency, "first-write");
  assert_string_equal(f->sink.consistency, "strong");
  assert_string_equal(f->sink.last_state.metadata[0], "ttlInSeconds");
  assert_int_equal(f->answers, 0);
  finish_states(&f->sink, 204, "", "");
  assert_int_equal(f->answers, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.code, OFCTX_OK);
  assert_false(seen.found);
}

/* JSON is stored as JSON, but a JSON string is text like any other, so
 * that a read can give back exactly what was written. */
static void values_as_json(void **state) {
  fixture_t *f = *state;

  run(f, "set {\"a\": [1, 2]}");
  assert_string_equal(f->sink.value, "{\"a\": [1, 2]}");
  assert_null(f->sink.last_state.concurrency);
  run(f, "set \"x\"");
  assert_string_equal(f->sink.value, "\"\\\"x\\\"\"");
  run(f, "set 42 43"); /* not JSON */
  assert_string_equal(f->sink.value, "\"42 43\"");
  finish_states(&f->sink, 204, "", "");
  assert_int_equal(f->answers, 3);
}

/* A failed write fails the input; a conflict is an answer. */
static void failure_and_conflict(void **state) {
  fixture_t *f = *state;

  run(f, "set 1");
  finish_states(&f->sink, 500, "", "");
  assert_int_equal(seen.code, OFCTX_ESTATE);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  run(f, "delete");
  assert_int_equal(f->sink.last_state.op, OFCTX__STATE_DELETE);
  assert_string_equal(f->sink.etag, "7");
  finish_states(&f->sink, 409, "", "");
  assert_int_equal(seen.code, OFCTX_ECONFLICT);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
}

/* A read gives the value as it was written, with its ETag, to a callback
 * that may still send; a key without a value is not found. */
static void reads(void **state) {
  fixture_t *f = *state;

  run(f, "get");
  assert_int_equal(f->sink.last_state.op, OFCTX__STATE_GET);
  assert_null(f->sink.last_state.value);
  finish_states(&f->sink, 200, " \"hi \\\"you\\\"\\u0000\"", "5");
  assert_int_equal(seen.code, OFCTX_OK);
  assert_true(seen.found);
  assert_int_equal(seen.len, 9);
  assert_memory_equal(seen.value, "hi \"you\"\0", 9);
  assert_string_equal(seen.etag, "5");
  assert_int_equal(f->answers, 0); /* the callback's send */
  finish(&f->sink, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);

  run(f, "get");
  finish_states(&f->sink, 200, "{\"a\":1}", "");
  assert_string_equal(seen.value, "{\"a\":1}");
  finish(&f->sink, 1);
  run(f, "get");
  finish_states(&f->sink, 204, "", "");
  assert_false(seen.found);
  assert_int_equal(seen.len, 0);
  run(f, "get"); /* a failed read is for the function to judge */
  finish_states(&f->sink, 500, "", "");
  assert_int_equal(seen.code, OFCTX_ESTATE);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(f->answers, 4);
}

static ofctx_result_t refused(ofctx_t *ctx, const ofctx_event_t *in) {
  ofctx_state_opts_t opts = OFCTX_STATE_OPTS_INIT, unsized = {0};
  (void)in;

  assert_int_equal(ofctx_state_get(ctx, "nope", "k", record, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_get(ctx, "store", "", record, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_get(ctx, "store", "..", record, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_get(ctx, "store", "k", NULL, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_set(ctx, "store", "k", "\xff\xfe", 2, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_set(ctx, "store", "k", NULL, 1, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_state_set(ctx, "store", "k", "1", 1, &unsized), OFCTX_EINVAL);
  opts.concurrency = (ofctx_state_concurrency_t)9;
  assert_int_equal(ofctx_state_delete(ctx, "store", "k", &opts), OFCTX_EINVAL);
  opts.concurrency = OFCTX_STATE_LAST_WRITE;
  opts.etag = "";
  assert_int_equal(ofctx_state_delete(ctx, "store", "k", &opts), OFCTX_EINVAL);
  return OFCTX_SUCCESS;
}

/* Every refusal comes at once, before any sink sees the request. */
static void checks(void **state) {
  fixture_t *f = *state;

  f->host.fn = refused;
  run(f, "x");
  assert_int_equal(f->sink.state_count, 0);
  assert_int_equal(f->answers, 1);
  f->sink.base.state = NULL; /* a sink without state stores */
  f->host.fn = function;
  run(f, "get");
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
}

/* With tracing, a request is a child span of the invocation, whose
 * traceparent and the context's baggage go to the sidecar; without, none. */
static void traced(void **state) {
  fixture_t *f = *state;

  run(f, "get");
  assert_string_equal(f->sink.traceparent, "");
  finish_states(&f->sink, 204, "", "");
  f->host.tracing = 1;
  f->host.baggage = "team=a";
  run(f, "get");
  assert_int_equal(strlen(f->sink.traceparent), 55);
  assert_memory_equal(f->sink.traceparent, "00-", 3);
  assert_string_equal(f->sink.baggage, "team=a");
  finish_states(&f->sink, 204, "", "");
  assert_int_equal(f->answers, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(write_holds_the_invocation, setup_state, teardown),
      cmocka_unit_test_setup_teardown(values_as_json, setup_state, teardown),
      cmocka_unit_test_setup_teardown(failure_and_conflict, setup_state, teardown),
      cmocka_unit_test_setup_teardown(reads, setup_state, teardown),
      cmocka_unit_test_setup_teardown(checks, setup_state, teardown),
      cmocka_unit_test_setup_teardown(traced, setup_state, teardown),
  };
  return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
