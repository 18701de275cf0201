/* The Dapr gRPC sink through its entry points (dapr_grpc_sink.h, sink.h)
 * against libofctx's own gRPC server playing the sidecar on one loop
 * (grpc_pair.h): each kind of send decoded as the sidecar reads it
 * (InvokeBinding, PublishEvent, BulkPublishEvent and its older name), and
 * how failures come back (a status, a bulk publish's failed entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dapr.pb-c.h"
#include "dapr_grpc_sink.h"
#include "grpc_pair.h"
#include "grpc_wire.h"

#define DAPR "/dapr.proto.runtime.v1.Dapr/"

/* What the sidecar saw of the last call, as text: "path|field|field...". */
static char seen[1024];
static int fail_code;    /* the sidecar answers this status (0: OK) */
static int old_sidecar;  /* BulkPublishEvent is UNIMPLEMENTED */
static int fail_entries; /* a bulk publish's first entries that fail */

static void see(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void see(const char *fmt, ...) {
  size_t used = strlen(seen);
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(seen + used, sizeof seen - used, fmt, ap);
  va_end(ap);
}

static void see_binding(const uint8_t *msg, size_t len) {
  Dapr__Proto__Runtime__V1__InvokeBindingRequest *r =
      dapr__proto__runtime__v1__invoke_binding_request__unpack(NULL, len, msg);

  assert_non_null(r);
  see("|%s|%s|%.*s", r->name, r->operation, (int)r->data.len, (const char *)r->data.data);
  for (size_t i = 0; i < r->n_metadata; i++)
    see("|%s=%s", r->metadata[i]->key, r->metadata[i]->value);
  dapr__proto__runtime__v1__invoke_binding_request__free_unpacked(r, NULL);
}

static void see_publish(const uint8_t *msg, size_t len) {
  Dapr__Proto__Runtime__V1__PublishEventRequest *r =
      dapr__proto__runtime__v1__publish_event_request__unpack(NULL, len, msg);

  assert_non_null(r);
  see("|%s|%s|%s|%.*s", r->pubsub_name, r->topic, r->data_content_type, (int)r->data.len,
      (const char *)r->data.data);
  for (size_t i = 0; i < r->n_metadata; i++)
    see("|%s=%s", r->metadata[i]->key, r->metadata[i]->value);
  dapr__proto__runtime__v1__publish_event_request__free_unpacked(r, NULL);
}

/* Answers a bulk publish: its first `fail_entries` entries failed. */
static void bulk_answer(ofctx__grpc_call_t *call, Dapr__Proto__Runtime__V1__BulkPublishRequest *r) {
  Dapr__Proto__Runtime__V1__BulkPublishResponse res =
      DAPR__PROTO__RUNTIME__V1__BULK_PUBLISH_RESPONSE__INIT;
  Dapr__Proto__Runtime__V1__BulkPublishResponseFailedEntry failed[4], *list[4];

  for (size_t i = 0; i < (size_t)fail_entries && i < r->n_entries && i < 4; i++) {
    dapr__proto__runtime__v1__bulk_publish_response_failed_entry__init(&failed[i]);
    failed[i].entry_id = r->entries[i]->entry_id;
    failed[i].error = "the broker said no";
    list[res.n_failedentries++] = &failed[i];
  }
  res.failedentries = list;
  ofctx__grpc_reply(call, &res.base);
}

static void see_bulk(ofctx__grpc_call_t *call, const uint8_t *msg, size_t len) {
  Dapr__Proto__Runtime__V1__BulkPublishRequest *r =
      dapr__proto__runtime__v1__bulk_publish_request__unpack(NULL, len, msg);

  assert_non_null(r);
  see("|%s|%s", r->pubsub_name, r->topic);
  for (size_t i = 0; i < r->n_entries; i++) {
    Dapr__Proto__Runtime__V1__BulkPublishRequestEntry *e = r->entries[i];
    see("|%s:%s:%.*s", e->entry_id, e->content_type, (int)e->event.len,
        (const char *)e->event.data);
    for (size_t j = 0; j < e->n_metadata; j++)
      see(":%s=%s", e->metadata[j]->key, e->metadata[j]->value);
  }
  bulk_answer(call, r);
  dapr__proto__runtime__v1__bulk_publish_request__free_unpacked(r, NULL);
}

/* The state requests: store|key|value|etag|concurrency|consistency|metadata. */
static void see_state(ofctx__grpc_call_t *call, const char *path, const uint8_t *msg, size_t len) {
  if (strcmp(path, DAPR "GetState") == 0) {
    Dapr__Proto__Runtime__V1__GetStateRequest *r =
        dapr__proto__runtime__v1__get_state_request__unpack(NULL, len, msg);
    Dapr__Proto__Runtime__V1__GetStateResponse res =
        DAPR__PROTO__RUNTIME__V1__GET_STATE_RESPONSE__INIT;
    assert_non_null(r);
    see("|%s|%s|%d", r->store_name, r->key, (int)r->consistency);
    dapr__proto__runtime__v1__get_state_request__free_unpacked(r, NULL);
    res.data.data = (uint8_t *)"\"v\"";
    res.data.len = 3;
    res.etag = "3";
    ofctx__grpc_reply(call, &res.base);
  } else if (strcmp(path, DAPR "SaveState") == 0) {
    Dapr__Proto__Runtime__V1__SaveStateRequest *r =
        dapr__proto__runtime__v1__save_state_request__unpack(NULL, len, msg);
    Dapr__Proto__Common__V1__StateItem *item;
    assert_non_null(r);
    assert_int_equal(r->n_states, 1);
    item = r->states[0];
    see("|%s|%s|%.*s|%s|%d|%d", r->store_name, item->key, (int)item->value.len,
        (const char *)item->value.data, item->etag ? item->etag->value : "-",
        item->options ? (int)item->options->concurrency : -1,
        item->options ? (int)item->options->consistency : -1);
    for (size_t i = 0; i < item->n_metadata; i++)
      see("|%s=%s", item->metadata[i]->key, item->metadata[i]->value);
    dapr__proto__runtime__v1__save_state_request__free_unpacked(r, NULL);
    ofctx__grpc_reply(call, NULL);
  } else {
    Dapr__Proto__Runtime__V1__DeleteStateRequest *r =
        dapr__proto__runtime__v1__delete_state_request__unpack(NULL, len, msg);
    assert_non_null(r);
    see("|%s|%s|%s", r->store_name, r->key, r->etag ? r->etag->value : "-");
    dapr__proto__runtime__v1__delete_state_request__free_unpacked(r, NULL);
    ofctx__grpc_reply(call, NULL);
  }
}

static void sidecar(grpc_pair_t *pair, ofctx__grpc_call_t *call) {
  const char *path = ofctx__grpc_call_path(call);
  size_t len;
  const uint8_t *msg = ofctx__grpc_call_message(call, &len);
  (void)pair;

  see("%s%s", seen[0] ? " " : "", path + strlen(DAPR));
  if (fail_code) {
    ofctx__grpc_fail(call, fail_code, "the component failed");
  } else if (strcmp(path, DAPR "InvokeBinding") == 0) {
    see_binding(msg, len);
    ofctx__grpc_reply(call, NULL);
  } else if (strcmp(path, DAPR "PublishEvent") == 0) {
    see_publish(msg, len);
    ofctx__grpc_reply(call, NULL);
  } else if (strstr(path, "State")) {
    see_state(call, path, msg, len);
  } else if (strcmp(path, DAPR "BulkPublishEventAlpha1") == 0 ||
             (strcmp(path, DAPR "BulkPublishEvent") == 0 && !old_sidecar)) {
    see_bulk(call, msg, len);
  } else {
    ofctx__grpc_fail(call, OFCTX__GRPC_UNIMPLEMENTED, NULL);
  }
}

/* How a send ended, copied out of its callback. */
typedef struct {
  int done, ok, grpc_status, attempts;
  char error[256];
  char failed[256]; /* the failed entries' ids, each followed by ' ' */
} sent_t;

static void sent(void *arg, const ofctx__sink_result_t *r) {
  sent_t *out = arg;

  out->done++;
  out->ok = r->ok;
  out->grpc_status = r->grpc_status;
  out->attempts = r->attempts;
  snprintf(out->error, sizeof out->error, "%s", r->error ? r->error : "");
  for (size_t i = 0; i < r->failed_count; i++)
    snprintf(out->failed + strlen(out->failed), sizeof out->failed - strlen(out->failed), "%s ",
             r->failed[i]);
}

static ofctx__grpc_client_t *client_of(void *arg) { return ((grpc_pair_t *)arg)->client; }

typedef struct {
  grpc_pair_t pair;
  ofctx__retry_policy_t policy;
  ofctx__sink_t *sink;
  int ready;
} fixture_t;

static int setup(void **state) {
  static fixture_t f;

  memset(&f, 0, sizeof f);
  seen[0] = '\0';
  fail_code = old_sidecar = fail_entries = 0;
  grpc_pair_init(&f.pair);
  f.pair.handler = sidecar;
  grpc_pair_start(&f.pair, NULL);
  grpc_pair_policy(&f.policy, 1, 5000);
  f.sink = ofctx__dapr_grpc_sink_new(client_of, &f.pair, &f.policy, &f.ready);
  assert_non_null(f.sink);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;

  grpc_pair_finish(&f->pair);
  ofctx__sink_free(f->sink);
  return 0;
}

/* Sends `req` and runs the loop until it ended. */
static void send_and_wait(fixture_t *f, const ofctx__send_request_t *req, sent_t *out) {
  memset(out, 0, sizeof *out);
  assert_int_equal(f->sink->start(f->sink, req, sent, out), OFCTX_OK);
  assert_int_equal(out->done, 0); /* never inside start */
  grpc_pair_run_until(&f->pair, &out->done);
  assert_int_equal(out->done, 1);
}

static void binding(void **state) {
  fixture_t *f = *state;
  const char *const extra[] = {"key", "k1", "ttlInSeconds", "60", NULL};
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .component = "kafka-out",
                               .operation = "create",
                               .extra = extra,
                               .data = "{\"a\":1}",
                               .len = 7};
  sent_t out;

  send_and_wait(f, &req, &out);
  assert_int_equal(out.ok, 1);
  assert_int_equal(out.grpc_status, OFCTX__GRPC_OK);
  assert_int_equal(f->ready, 1);
  assert_string_equal(seen, "InvokeBinding|kafka-out|create|{\"a\":1}|key=k1|ttlInSeconds=60");
}

static void publish(void **state) {
  fixture_t *f = *state;
  const char *const extra[] = {"rawPayload", "true", NULL};
  ofctx__send_request_t req = {.kind = OFCTX__SEND_PUBLISH,
                               .component = "pubsub",
                               .topic = "orders",
                               .extra = extra,
                               .content_type = "text/plain",
                               .data = "hello",
                               .len = 5};
  sent_t out;

  send_and_wait(f, &req, &out);
  assert_int_equal(out.ok, 1);
  assert_string_equal(seen, "PublishEvent|pubsub|orders|text/plain|hello|rawPayload=true");
}

static const char *const entry_md[] = {"partitionKey", "p1", NULL};
static const ofctx_bulk_entry_t entries[] = {
    {"e1", "{\"n\":1}", 7, "application/json", entry_md},
    {"e2", "two", 3, "text/plain", NULL},
};
static const ofctx__send_request_t bulk = {.kind = OFCTX__SEND_PUBLISH_BULK,
                                           .component = "pubsub",
                                           .topic = "orders",
                                           .entries = entries,
                                           .entry_count = 2};

static void bulk_publish(void **state) {
  fixture_t *f = *state;
  sent_t out;

  send_and_wait(f, &bulk, &out);
  assert_int_equal(out.ok, 1);
  assert_string_equal(out.failed, "");
  assert_string_equal(seen, "BulkPublishEvent|pubsub|orders"
                            "|e1:application/json:{\"n\":1}:partitionKey=p1|e2:text/plain:two");
}

static void bulk_publish_older_sidecar(void **state) {
  fixture_t *f = *state;
  sent_t out;

  old_sidecar = 1;
  send_and_wait(f, &bulk, &out);
  assert_int_equal(out.ok, 1);
  assert_non_null(strstr(seen, "BulkPublishEvent BulkPublishEventAlpha1|pubsub|orders|e1:"));
}

static void bulk_publish_partial_failure(void **state) {
  fixture_t *f = *state;
  sent_t out;

  fail_entries = 1;
  send_and_wait(f, &bulk, &out);
  assert_int_equal(out.ok, 0);
  assert_string_equal(out.failed, "e1 ");
  /* a failed call fails every entry */
  fail_code = OFCTX__GRPC_INTERNAL;
  send_and_wait(f, &bulk, &out);
  assert_int_equal(out.ok, 0);
  assert_string_equal(out.failed, "e1 e2 ");
}

static void failure_status(void **state) {
  fixture_t *f = *state;
  ofctx__send_request_t req = {
      .kind = OFCTX__SEND_BINDING, .component = "kafka-out", .data = "x", .len = 1};
  sent_t out;

  fail_code = OFCTX__GRPC_INTERNAL;
  send_and_wait(f, &req, &out);
  assert_int_equal(out.ok, 0);
  assert_int_equal(out.grpc_status, OFCTX__GRPC_INTERNAL);
  assert_int_equal(out.attempts, 1);
  assert_string_equal(out.error, "INTERNAL: the component failed");
  assert_int_equal(f->ready, 0);
}

static void no_client_no_send(void **state) {
  fixture_t *f = *state;
  ofctx__grpc_client_t *client = f->pair.client;
  ofctx__send_request_t req = {
      .kind = OFCTX__SEND_BINDING, .component = "kafka-out", .data = "x", .len = 1};
  sent_t out = {0};

  f->pair.client = NULL; /* the function is stopping */
  assert_int_equal(f->sink->start(f->sink, &req, sent, &out), OFCTX_ESEND);
  f->pair.client = client;
  assert_int_equal(out.done, 0);
  assert_string_equal(seen, "");
}

/* How a state request ended, copied out of its callback. */
typedef struct {
  int done, ok, conflict, found, grpc_status;
  char value[64], etag[64];
} stated_t;

static void stated(void *arg, const ofctx__state_result_t *r) {
  stated_t *out = arg;

  out->done++;
  out->ok = r->ok;
  out->conflict = r->conflict;
  out->found = r->found;
  out->grpc_status = r->grpc_status;
  snprintf(out->value, sizeof out->value, "%.*s", (int)r->body_len, r->body);
  snprintf(out->etag, sizeof out->etag, "%s", r->etag);
}

static void state_and_wait(fixture_t *f, const ofctx__state_request_t *req, stated_t *out) {
  memset(out, 0, sizeof *out);
  seen[0] = '\0';
  assert_int_equal(f->sink->state(f->sink, req, stated, out), OFCTX_OK);
  assert_int_equal(out->done, 0);
  grpc_pair_run_until(&f->pair, &out->done);
  assert_int_equal(out->done, 1);
}

/* Each operation as its request: the options as Dapr's enums, the ETag as
 * an Etag; a read's value and ETag; ABORTED is a conflict. */
static void state_requests(void **state) {
  fixture_t *f = *state;
  static const char *const md[] = {"ttlInSeconds", "60", NULL};
  ofctx__state_request_t req = {
      .op = OFCTX__STATE_GET, .store = "statestore", .key = "k", .consistency = "strong"};
  stated_t out;

  state_and_wait(f, &req, &out);
  assert_string_equal(seen, "GetState|statestore|k|2");
  assert_true(out.ok && out.found);
  assert_string_equal(out.value, "\"v\"");
  assert_string_equal(out.etag, "3");
  req = (ofctx__state_request_t){.op = OFCTX__STATE_SET,
                                 .store = "statestore",
                                 .key = "k",
                                 .value = "{}",
                                 .len = 2,
                                 .etag = "3",
                                 .concurrency = "first-write",
                                 .metadata = md};
  state_and_wait(f, &req, &out);
  assert_string_equal(seen, "SaveState|statestore|k|{}|3|1|0|ttlInSeconds=60");
  assert_true(out.ok);
  assert_false(out.found);
  req.op = OFCTX__STATE_DELETE;
  state_and_wait(f, &req, &out);
  assert_string_equal(seen, "DeleteState|statestore|k|3");
  fail_code = 10; /* ABORTED */
  state_and_wait(f, &req, &out);
  assert_false(out.ok);
  assert_true(out.conflict);
  assert_int_equal(out.grpc_status, 10);
}

/* Each test on a new pair and sink. */
#define PAIRED(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      PAIRED(binding),
      PAIRED(publish),
      PAIRED(bulk_publish),
      PAIRED(bulk_publish_older_sidecar),
      PAIRED(bulk_publish_partial_failure),
      PAIRED(failure_status),
      PAIRED(no_client_no_send),
      PAIRED(state_requests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
