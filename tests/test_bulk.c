/* A bulk delivery (bulk.c, Dapr's bulkSubscribe) through the core with a
 * fake sink and no mode (host_fixture.h): a pub/sub input's bulk settings
 * from its metadata, the limits a mode takes from them, one invocation per
 * entry (or one call of a batch function for all), each entry's id and
 * outcome kept, the delivery's metadata after each entry's own, and one
 * answer once the batch is closed and every entry has settled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "bulk.h"
#include "host_fixture.h"

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

/* A pub/sub input's settings come from its metadata; a binding has none,
 * whatever its metadata says; a maxMessagesCount bounds the entries a
 * delivery may hold, Dapr's default when there is none. */
static void config_from_metadata(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{"
      "\"bulk\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"t\","
      "\"metadata\":{\"bulkSubscribe\":\"true\",\"bulkSubscribeMaxMessagesCount\":\"250\","
      "\"bulkSubscribeMaxAwaitDurationMs\":\"40\"}},"
      "\"plain\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"u\"},"
      "\"off\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"v\","
      "\"metadata\":{\"bulkSubscribe\":\"false\",\"bulkSubscribeMaxMessagesCount\":\"5\"}},"
      "\"bind\":{\"componentName\":\"k\",\"componentType\":\"bindings.kafka\","
      "\"metadata\":{\"bulkSubscribe\":\"true\",\"bulkSubscribeMaxMessagesCount\":\"7\"}}}}";
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  ofctx__bulk_config_t c;

  (void)state;
  if (ofctx_config_parse(&cfg, NULL, context, sizeof context - 1, self_host, NULL, &err) !=
      OFCTX_OK)
    fail_msg("the context was refused: %s", err.message);
  ofctx__bulk_config(ofctx_config_input(cfg, "bulk"), &c);
  assert_int_equal(c.enabled, 1);
  assert_int_equal(c.max_messages, 250);
  assert_int_equal(c.max_await_ms, 40);
  assert_int_equal(ofctx__bulk_max_entries(&c), 250);
  ofctx__bulk_config(ofctx_config_input(cfg, "plain"), &c);
  assert_int_equal(c.enabled, 0);
  assert_int_equal(c.max_messages, 0);
  assert_int_equal(c.max_await_ms, 0);
  assert_int_equal(ofctx__bulk_max_entries(&c), OFCTX__BULK_DEFAULT_MAX);
  ofctx__bulk_config(ofctx_config_input(cfg, "off"), &c);
  assert_int_equal(c.enabled, 0);
  assert_int_equal(c.max_messages, 5);
  assert_int_equal(ofctx__bulk_max_entries(&c), 5);
  ofctx__bulk_config(ofctx_config_input(cfg, "bind"), &c);
  assert_int_equal(c.enabled, 0);
  assert_int_equal(c.max_messages, 0);
  assert_int_equal(c.max_await_ms, 0);
  /* a mode that reads a binding's records itself reads them as a pub/sub's */
  ofctx__bulk_config_any(ofctx_config_input(cfg, "bind"), &c);
  assert_int_equal(c.enabled, 1);
  assert_int_equal(c.max_messages, 7);
  assert_int_equal(c.max_await_ms, 0);
  ofctx__bulk_config_any(ofctx_config_input(cfg, "bulk"), &c);
  assert_int_equal(c.enabled, 1);
  assert_int_equal(c.max_messages, 250);
  assert_int_equal(c.max_await_ms, 40);
  ofctx__bulk_config_any(ofctx_config_input(cfg, "plain"), &c);
  assert_int_equal(c.enabled, 0);
  ofctx_config_free(cfg);
}

/* The three keys are the subscription's, exactly as Dapr spells them. */
static void metadata_keys(void **state) {
  (void)state;
  assert_true(ofctx__bulk_metadata_key("bulkSubscribe"));
  assert_true(ofctx__bulk_metadata_key("bulkSubscribeMaxMessagesCount"));
  assert_true(ofctx__bulk_metadata_key("bulkSubscribeMaxAwaitDurationMs"));
  assert_false(ofctx__bulk_metadata_key("bulksubscribe"));
  assert_false(ofctx__bulk_metadata_key("bulkSubscribeMax"));
  assert_false(ofctx__bulk_metadata_key("rawPayload"));
  assert_false(ofctx__bulk_metadata_key(""));
}

/* A batch a mode gathers itself goes when it is full, when nothing more
 * can come, or once its first record waited maxAwaitDurationMs (Dapr's
 * 1000 ms when unset); until then it may wait the rest of that. */
static void wait_for_more(void **state) {
  ofctx__bulk_config_t set = {.enabled = 1, .max_messages = 5, .max_await_ms = 40};
  ofctx__bulk_config_t unset = {.enabled = 1};

  (void)state;
  assert_int_equal(ofctx__bulk_wait_ms(&set, 5, 1, 0), 0);  /* full */
  assert_int_equal(ofctx__bulk_wait_ms(&set, 9, 1, 0), 0);  /* more than full */
  assert_int_equal(ofctx__bulk_wait_ms(&set, 4, 0, 0), 0);  /* nothing more can come */
  assert_int_equal(ofctx__bulk_wait_ms(&set, 4, 1, 40), 0); /* waited enough */
  assert_int_equal(ofctx__bulk_wait_ms(&set, 4, 1, 41), 0);
  assert_int_equal(ofctx__bulk_wait_ms(&set, 4, 1, 0), 40);
  assert_int_equal(ofctx__bulk_wait_ms(&set, 1, 1, 15), 25);
  assert_int_equal(ofctx__bulk_wait_ms(&unset, 99, 1, 0), OFCTX__BULK_DEFAULT_AWAIT_MS);
  assert_int_equal(ofctx__bulk_wait_ms(&unset, 99, 1, 999), 1);
  assert_int_equal(ofctx__bulk_wait_ms(&unset, OFCTX__BULK_DEFAULT_MAX, 1, 0), 0);
}

/* What a batch costs a mode's budget grows with its entries, and nothing
 * for none. */
static void cost_per_entry(void **state) {
  (void)state;
  assert_int_equal(ofctx__bulk_cost(0), 0);
  assert_true(ofctx__bulk_cost(1) > sizeof(ofctx_t));
  assert_int_equal(ofctx__bulk_cost(10), 10 * ofctx__bulk_cost(1));
}

/* ---- deliveries ---- */

/* What the answer saw: it frees the batch, as a mode's does. */
typedef struct {
  int answers;
  size_t count;
  char ids[8][16];
  ofctx__outcome_t outcomes[8];
  size_t done; /* the entries SUCCESS or DROP before the first that is not */
} answer_t;

static void bulk_answer(void *req, ofctx__bulk_t *bulk) {
  answer_t *a = req;

  a->answers++;
  a->count = ofctx__bulk_count(bulk);
  a->done = ofctx__bulk_done_prefix(bulk);
  for (size_t i = 0; i < a->count && i < 8; i++) {
    strncpy(a->ids[i], ofctx__bulk_id(bulk, i), sizeof a->ids[i] - 1);
    a->outcomes[i] = ofctx__bulk_outcome(bulk, i);
  }
  ofctx__bulk_free(bulk);
}

/* Entry `i` of `b`, a pub/sub event of input "in" whose data is `what`. */
static void give(ofctx__bulk_t *b, size_t i, const char *id, const char *what) {
  ofctx_event_t ev = {0};

  ev.kind = OFCTX_EVENT_PUBSUB;
  ev.input = "in";
  ev.data = what;
  ev.len = strlen(what);
  ofctx__bulk_invoke(b, i, id, strlen(id), &ev);
}

/* Each entry its own invocation and outcome, an entry settled without one,
 * an entry never given RETRY; the answer only once the batch is closed and
 * the last send has settled; each outcome counted once. */
static void one_answer_for_all(void **state) {
  fixture_t *f = *state;
  answer_t a = {0};
  char id[] = "e0-not-this";
  ofctx__bulk_t *b = ofctx__bulk_new(&f->host, &a, 0, 5, bulk_answer);

  assert_non_null(b);
  assert_int_equal(ofctx__bulk_count(b), 5);
  assert_string_equal(ofctx__bulk_id(b, 0), ""); /* none given yet */
  assert_int_equal(ofctx__bulk_outcome(b, 4), OFCTX__OUTCOME_RETRY);
  {
    ofctx_event_t ev = {0};
    ev.kind = OFCTX_EVENT_PUBSUB;
    ev.input = "in";
    ev.data = "binding"; /* a send, held by the fake sink */
    ev.len = 7;
    ofctx__bulk_invoke(b, 0, id, 2, &ev);
  }
  memset(id, 'x', sizeof id - 1); /* the id was copied */
  give(b, 1, "e1", "drop");
  give(b, 2, "e2", "anything else");
  ofctx__bulk_settle(b, 3, "e3", 2, OFCTX__OUTCOME_DROP); /* never an event */
  assert_int_equal(f->sink.count, 1);
  assert_int_equal(a.answers, 0); /* not closed */
  ofctx__bulk_close(b);           /* entry 4 never given */
  assert_int_equal(a.answers, 0); /* entry 0's send is in flight */
  finish(&f->sink, 1);
  assert_int_equal(a.answers, 1);
  assert_int_equal(a.count, 5);
  assert_string_equal(a.ids[0], "e0");
  assert_string_equal(a.ids[1], "e1");
  assert_string_equal(a.ids[3], "e3");
  assert_string_equal(a.ids[4], "");
  assert_int_equal(a.outcomes[0], OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(a.outcomes[1], OFCTX__OUTCOME_DROP);
  assert_int_equal(a.outcomes[2], OFCTX__OUTCOME_RETRY);
  assert_int_equal(a.outcomes[3], OFCTX__OUTCOME_DROP);
  assert_int_equal(a.outcomes[4], OFCTX__OUTCOME_RETRY);
  assert_int_equal(a.done, 2);     /* entry 2 is RETRY: entry 3's DROP is after it */
  assert_int_equal(f->settled, 3); /* the three invocations */
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_SUCCESS), 1);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_DROP), 2);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_RETRY), 1);
}

/* A batch of none, and a batch whose entries all settled before the
 * close: answered at the close, not before. */
static void answered_at_close(void **state) {
  fixture_t *f = *state;
  answer_t a = {0};
  ofctx__bulk_t *b = ofctx__bulk_new(&f->host, &a, 0, 0, bulk_answer);

  assert_non_null(b);
  ofctx__bulk_close(b);
  assert_int_equal(a.answers, 1);
  assert_int_equal(a.count, 0);
  assert_int_equal(a.done, 0);
  b = ofctx__bulk_new(&f->host, &a, 0, 2, bulk_answer);
  assert_non_null(b);
  give(b, 0, "a", "drop");
  ofctx__bulk_settle(b, 1, NULL, 0, OFCTX__OUTCOME_RETRY);
  assert_int_equal(a.answers, 1);
  ofctx__bulk_close(b);
  assert_int_equal(a.answers, 2);
  assert_int_equal(a.count, 2);
  assert_string_equal(a.ids[1], ""); /* no id given */
  assert_int_equal(a.outcomes[0], OFCTX__OUTCOME_DROP);
  assert_int_equal(a.outcomes[1], OFCTX__OUTCOME_RETRY);
  assert_int_equal(a.done, 1);
}

/* An entry whose strings could not be kept is RETRY without running the
 * function; the strings of the others live as long as the batch. */
static void failed_strings_retry(void **state) {
  fixture_t *f = *state;
  answer_t a = {0};
  ofctx__bulk_t *b = ofctx__bulk_new(&f->host, &a, 0, 2, bulk_answer);

  assert_non_null(b);
  ofctx__bulk_strings(b, 0)->failed = 1;
  ofctx__buf_printf(ofctx__bulk_strings(b, 1), "%s", "kept until the answer");
  assert_false(ofctx__bulk_strings(b, 1)->failed);
  give(b, 0, "a", "binding");
  assert_int_equal(f->sink.count, 0); /* the function did not run */
  give(b, 1, "b", "drop");
  ofctx__bulk_close(b);
  assert_int_equal(a.answers, 1);
  assert_int_equal(a.outcomes[0], OFCTX__OUTCOME_RETRY);
  assert_int_equal(a.outcomes[1], OFCTX__OUTCOME_DROP);
  assert_int_equal(f->settled, 1);
  assert_int_equal(ofctx__metrics_events(&f->metrics, 0, OFCTX__OUTCOME_RETRY), 1);
}

/* ---- the delivery's metadata ---- */

static const char *seen_k, *seen_s, *seen_host;
static size_t seen_count;

static ofctx_result_t metadata_function(ofctx_t *ctx, const ofctx_event_t *in) {
  (void)ctx;
  seen_k = ofctx_event_metadata(in, "k");
  seen_s = ofctx_event_metadata(in, "s");
  seen_host = ofctx_event_metadata(in, "host");
  seen_count = ofctx_event_metadata_count(in);
  return OFCTX_SUCCESS;
}

/* Every entry's event has the delivery's metadata after its own, without
 * the transport's headers; its own comes first in a lookup. */
static void shared_metadata(void **state) {
  static const ofctx__http_header_t shared[] = {{"k", "shared"}, {"Host", "x"}, {"s", "1"}};
  static const ofctx__http_header_t own[] = {{"K", "own"}};
  fixture_t *f = *state;
  answer_t a = {0};
  ofctx__bulk_t *b = ofctx__bulk_new(&f->host, &a, 0, 2, bulk_answer);
  ofctx_event_t ev = {0};

  assert_non_null(b);
  f->host.fn = metadata_function;
  assert_int_equal(ofctx__bulk_share_metadata(b, shared, 3), 0);
  ev.kind = OFCTX_EVENT_PUBSUB;
  ev.input = "in";
  ev.data = "";
  assert_int_equal(ofctx__event_metadata_add(&ev, own, 1, 0), 0);
  ofctx__bulk_invoke(b, 0, "a", 1, &ev);
  assert_string_equal(seen_k, "own");
  assert_string_equal(seen_s, "1");
  assert_null(seen_host);
  assert_int_equal(seen_count, 3);
  give(b, 1, "b", "");
  assert_string_equal(seen_k, "shared");
  assert_int_equal(seen_count, 2);
  ofctx__bulk_close(b);
  assert_int_equal(a.answers, 1);
  assert_int_equal(a.outcomes[0], OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(a.outcomes[1], OFCTX__OUTCOME_SUCCESS);
}

/* ---- a batch function ---- */

static int batch_calls;
static ofctx_result_t batch_return;
static size_t batch_count;

/* Sets each entry's status from its data: "ok", "poison", or none. */
static ofctx_result_t batch_function(ofctx_t *ctx, ofctx_batch_t *batch) {
  (void)ctx;
  batch_calls++;
  batch_count = ofctx_batch_count(batch);
  for (size_t i = 0; i < batch_count; i++) {
    size_t len;
    const char *data = ofctx_event_data(ofctx_batch_event(batch, i), &len);
    if (strcmp(data, "ok") == 0)
      assert_int_equal(ofctx_batch_set_status(batch, i, OFCTX_SUCCESS), OFCTX_OK);
    else if (strcmp(data, "poison") == 0)
      assert_int_equal(ofctx_batch_set_status(batch, i, OFCTX_DROP), OFCTX_OK);
  }
  return batch_return;
}

/* The entries given, in one call at the close (an entry settled without an
 * event is not in it); each entry's outcome from its status and what the
 * function returned. */
static void batch_function_once(void **state) {
  static const struct {
    ofctx_result_t returned;
    ofctx__outcome_t ok, poison, none;
    size_t done;
  } rows[] = {
      {OFCTX_SUCCESS, OFCTX__OUTCOME_SUCCESS, OFCTX__OUTCOME_DROP, OFCTX__OUTCOME_RETRY, 3},
      {OFCTX_DROP, OFCTX__OUTCOME_SUCCESS, OFCTX__OUTCOME_DROP, OFCTX__OUTCOME_DROP, 4},
      {OFCTX_ERROR, OFCTX__OUTCOME_RETRY, OFCTX__OUTCOME_DROP, OFCTX__OUTCOME_RETRY, 0},
  };
  fixture_t *f = *state;

  f->host.fn = NULL;
  f->host.batch_fn = batch_function;
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    answer_t a = {0};
    ofctx__bulk_t *b = ofctx__bulk_new(&f->host, &a, 0, 4, bulk_answer);

    assert_non_null(b);
    batch_calls = 0;
    batch_return = rows[r].returned;
    give(b, 0, "a", "ok");
    give(b, 1, "b", "poison");
    ofctx__bulk_settle(b, 2, "c", 1, OFCTX__OUTCOME_DROP);
    give(b, 3, "d", "neither");
    assert_int_equal(batch_calls, 0); /* not before the close */
    ofctx__bulk_close(b);
    assert_int_equal(batch_calls, 1);
    assert_int_equal(batch_count, 3);
    assert_int_equal(a.answers, 1);
    assert_string_equal(a.ids[3], "d");
    assert_int_equal(a.outcomes[0], rows[r].ok);
    assert_int_equal(a.outcomes[1], rows[r].poison);
    assert_int_equal(a.outcomes[2], OFCTX__OUTCOME_DROP);
    assert_int_equal(a.outcomes[3], rows[r].none);
    assert_int_equal(a.done, rows[r].done);
  }
  assert_int_equal(f->settled, 3); /* one invocation per batch */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_from_metadata),
      cmocka_unit_test(metadata_keys),
      cmocka_unit_test(wait_for_more),
      cmocka_unit_test(cost_per_entry),
      cmocka_unit_test_setup_teardown(one_answer_for_all, setup, teardown),
      cmocka_unit_test_setup_teardown(answered_at_close, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_strings_retry, setup, teardown),
      cmocka_unit_test_setup_teardown(shared_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_function_once, setup, teardown),
  };
  return cmocka_run_group_tests_name("bulk", tests, NULL, NULL);
}
