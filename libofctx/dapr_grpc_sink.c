/* Sends to the sidecar's gRPC API: Dapr/InvokeBinding, Dapr/PublishEvent
 * and Dapr/BulkPublishEvent (BulkPublishEventAlpha1 before Dapr 1.17), the
 * data as raw bytes (nothing embedded in JSON), metadata as the map the
 * requests carry: the output's entries, then the call's (which win). And
 * state requests: Dapr/GetState, Dapr/SaveState, Dapr/DeleteState. */
#include "dapr_grpc_sink.h"

#include <string.h>

#include "dapr.pb-c.h"
#include "grpc_wire.h"
#include "mem.h"

#define DAPR "/dapr.proto.runtime.v1.Dapr/"

typedef struct {
  ofctx__sink_t base;
  ofctx__grpc_client_fn client;
  void *client_arg;
  const ofctx__retry_policy_t *policy;
  int *ready;
} grpc_sink_t;

typedef struct {
  grpc_sink_t *sink;
  ofctx__sink_done_fn done;
  void *arg;
  ofctx__sink_ids_t ids; /* a bulk publish: its entries' ids */
} call_t;

static void call_free(call_t *call) {
  ofctx__sink_ids_free(&call->ids);
  ofctx__free(call);
}

static void answered(void *arg, const ofctx__grpc_result_t *r) {
  call_t *call = arg;
  ofctx__sink_result_t result = {
      .ok = r->ok, .grpc_status = r->code, .attempts = r->attempts, .error = r->error};

  if (r->ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  call_free(call);
}

/* A bulk publish: ok with failedEntries is a partial failure; a failed
 * call fails every entry. */
static void answered_bulk(void *arg, const ofctx__grpc_result_t *r) {
  call_t *call = arg;
  ofctx__sink_result_t result = {
      .ok = r->ok, .grpc_status = r->code, .attempts = r->attempts, .error = r->error};
  Dapr__Proto__Runtime__V1__BulkPublishResponse *res =
      r->ok ? dapr__proto__runtime__v1__bulk_publish_response__unpack(&ofctx__pb_allocator,
                                                                      r->response_len, r->response)
            : NULL;
  const char **failed = ofctx__calloc(call->ids.count, sizeof *failed);

  if (res && res->n_failedentries > 0) {
    result.ok = 0;
    result.error = "the sidecar did not publish some entries";
    for (size_t i = 0; failed && i < res->n_failedentries && i < call->ids.count; i++)
      failed[result.failed_count++] = res->failedentries[i]->entry_id;
  } else if (r->ok && !res && r->response_len > 0) {
    result.ok = 0;
    result.error = "the sidecar's answer is not a BulkPublishResponse";
  }
  if (!result.ok && result.failed_count == 0 && failed)
    for (; result.failed_count < call->ids.count; result.failed_count++)
      failed[result.failed_count] = call->ids.ids[result.failed_count];
  result.failed = failed;
  if (result.ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  ofctx__free(failed);
  if (res)
    dapr__proto__runtime__v1__bulk_publish_response__free_unpacked(res, &ofctx__pb_allocator);
  call_free(call);
}

typedef Dapr__Proto__Runtime__V1__BulkPublishRequestEntry bulk_entry_t;
typedef Dapr__Proto__Runtime__V1__BulkPublishRequestEntry__MetadataEntry bulk_md_t;

/* The request's entries (and their metadata) for a bulk publish, all in
 * `*mem` (one allocation). `call` keeps their ids. */
static ofctx_err_t bulk_entries(const ofctx__send_request_t *req, call_t *call, void **mem,
                                bulk_entry_t ***out) {
  size_t n = req->entry_count, pairs = 0;
  bulk_entry_t *entries, **list;
  bulk_md_t *md, **md_list;

  for (size_t i = 0; i < n; i++)
    for (const char *const *kv = req->entries[i].metadata; kv && kv[0]; kv += 2)
      pairs++;
  *mem = ofctx__calloc(1, n * (sizeof *entries + sizeof *list) +
                              pairs * (sizeof *md + sizeof *md_list));
  if (!*mem || ofctx__sink_ids_copy(&call->ids, req) != OFCTX_OK)
    return OFCTX_ENOMEM;
  entries = *mem;
  list = (bulk_entry_t **)(entries + n);
  md = (bulk_md_t *)(list + n);
  md_list = (bulk_md_t **)(md + pairs);
  for (size_t i = 0; i < n; i++) {
    const ofctx_bulk_entry_t *e = &req->entries[i];
    dapr__proto__runtime__v1__bulk_publish_request_entry__init(&entries[i]);
    entries[i].entry_id = call->ids.ids[i];
    entries[i].event.data = (uint8_t *)e->data;
    entries[i].event.len = e->len;
    entries[i].content_type = (char *)e->content_type;
    entries[i].metadata = md_list;
    for (const char *const *kv = e->metadata; kv && kv[0]; kv += 2) {
      if (!kv[1])
        return OFCTX_EINVAL;
      dapr__proto__runtime__v1__bulk_publish_request_entry__metadata_entry__init(md);
      md->key = (char *)kv[0];
      md->value = (char *)kv[1];
      md_list[entries[i].n_metadata++] = md++;
    }
    md_list += entries[i].n_metadata;
    list[i] = &entries[i];
  }
  *out = list;
  return OFCTX_OK;
}

/* A trace as the call's metadata (name, value, ..., NULL), in `md`; NULL
 * without one. Dapr reads traceparent and tracestate there. */
static const char *const *trace_pairs(const char *traceparent, const char *tracestate,
                                      const char *baggage, const char *md[7]) {
  size_t n = 0;

  if (!traceparent)
    return NULL;
  md[n++] = "traceparent";
  md[n++] = traceparent;
  if (tracestate) {
    md[n++] = "tracestate";
    md[n++] = tracestate;
  }
  if (baggage) {
    md[n++] = "baggage";
    md[n++] = baggage;
  }
  md[n] = NULL;
  return md;
}

static const char *const *trace_md(const ofctx__send_request_t *req, const char *md[7]) {
  return trace_pairs(req->traceparent, req->tracestate, req->baggage, md);
}

/* ---- the request's metadata: the output's entries, then the call's ---- */

#define SMALL 8 /* metadata entries kept on the stack */

/* How many entries the request's metadata map has. */
static size_t metadata_count(const ofctx__send_request_t *req) {
  size_t n = ofctx_strmap_count(req->metadata);

  for (const char *const *kv = req->extra; kv && kv[0]; kv += 2)
    n++;
  return n;
}

/* The `i`th metadata entry's key and value (protobuf-c's fields are not
 * const; it only reads them). */
static void metadata_at(const ofctx__send_request_t *req, size_t i, char **key, char **value) {
  size_t own = ofctx_strmap_count(req->metadata);

  if (i < own) {
    *key = (char *)ofctx_strmap_key_at(req->metadata, i);
    *value = (char *)ofctx_strmap_value_at(req->metadata, i);
  } else {
    const char *const *kv = req->extra + 2 * (i - own);
    *key = (char *)kv[0];
    *value = (char *)(kv[1] ? kv[1] : "");
  }
}

/* Defines `name`, which builds the request's `n` metadata entries as the map
 * entries of one protobuf type `T` (each request has its own; `init` sets
 * one up): in `entries` and `list` (room for SMALL) when they fit, else in
 * one new block, *heap (to free once the request is packed). Returns the
 * list, or NULL when out of memory. */
#define METADATA_LIST(name, T, init)                                                               \
  static T **name(const ofctx__send_request_t *req, size_t n, T *entries, T **list, void **heap) { \
    if (n > SMALL) {                                                                               \
      if (!(*heap = ofctx__calloc(n, sizeof(T) + sizeof(T *))))                                    \
        return NULL;                                                                               \
      entries = *heap;                                                                             \
      list = (T **)(entries + n);                                                                  \
    }                                                                                              \
    for (size_t i = 0; i < n; i++) {                                                               \
      init(&entries[i]);                                                                           \
      metadata_at(req, i, &entries[i].key, &entries[i].value);                                     \
      list[i] = &entries[i];                                                                       \
    }                                                                                              \
    return list;                                                                                   \
  }

typedef Dapr__Proto__Runtime__V1__InvokeBindingRequest__MetadataEntry binding_md_t;
typedef Dapr__Proto__Runtime__V1__PublishEventRequest__MetadataEntry publish_md_t;
typedef Dapr__Proto__Runtime__V1__BulkPublishRequest__MetadataEntry bulk_request_md_t;

METADATA_LIST(binding_metadata, binding_md_t,
              dapr__proto__runtime__v1__invoke_binding_request__metadata_entry__init)
METADATA_LIST(publish_metadata, publish_md_t,
              dapr__proto__runtime__v1__publish_event_request__metadata_entry__init)
METADATA_LIST(bulk_metadata, bulk_request_md_t,
              dapr__proto__runtime__v1__bulk_publish_request__metadata_entry__init)

/* ---- the three requests ---- */

/* Each send kind as its own request; the call is `call`'s, answered later
 * unless this fails. */
static ofctx_err_t send_binding(grpc_sink_t *s, ofctx__grpc_client_t *client,
                                const ofctx__send_request_t *req, call_t *call) {
  Dapr__Proto__Runtime__V1__InvokeBindingRequest binding =
      DAPR__PROTO__RUNTIME__V1__INVOKE_BINDING_REQUEST__INIT;
  binding_md_t small[SMALL], *small_list[SMALL];
  const char *md[7];
  void *heap = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  binding.name = (char *)req->component;
  binding.operation = (char *)(req->operation ? req->operation : "");
  binding.data.data = (uint8_t *)req->data;
  binding.data.len = req->len;
  binding.n_metadata = metadata_count(req);
  binding.metadata = binding_metadata(req, binding.n_metadata, small, small_list, &heap);
  if (binding.metadata)
    rc = ofctx__grpc_client_call_md(client, DAPR "InvokeBinding", NULL, trace_md(req, md),
                                    &binding.base, s->policy, answered, call);
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t send_publish(grpc_sink_t *s, ofctx__grpc_client_t *client,
                                const ofctx__send_request_t *req, call_t *call) {
  Dapr__Proto__Runtime__V1__PublishEventRequest publish =
      DAPR__PROTO__RUNTIME__V1__PUBLISH_EVENT_REQUEST__INIT;
  publish_md_t small[SMALL], *small_list[SMALL];
  const char *md[7];
  void *heap = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  publish.pubsub_name = (char *)req->component;
  publish.topic = (char *)req->topic;
  publish.data.data = (uint8_t *)req->data;
  publish.data.len = req->len;
  publish.data_content_type = (char *)req->content_type;
  publish.n_metadata = metadata_count(req);
  publish.metadata = publish_metadata(req, publish.n_metadata, small, small_list, &heap);
  if (publish.metadata)
    rc = ofctx__grpc_client_call_md(client, DAPR "PublishEvent", NULL, trace_md(req, md),
                                    &publish.base, s->policy, answered, call);
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t send_bulk(grpc_sink_t *s, ofctx__grpc_client_t *client,
                             const ofctx__send_request_t *req, call_t *call) {
  Dapr__Proto__Runtime__V1__BulkPublishRequest bulk =
      DAPR__PROTO__RUNTIME__V1__BULK_PUBLISH_REQUEST__INIT;
  bulk_request_md_t small[SMALL], *small_list[SMALL];
  const char *md[7];
  void *heap = NULL, *entries = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  bulk.pubsub_name = (char *)req->component;
  bulk.topic = (char *)req->topic;
  bulk.n_metadata = metadata_count(req);
  bulk.metadata = bulk_metadata(req, bulk.n_metadata, small, small_list, &heap);
  bulk.n_entries = req->entry_count;
  if (!bulk.metadata)
    goto out_free_heap;
  rc = bulk_entries(req, call, &entries, &bulk.entries);
  if (rc == OFCTX_OK)
    rc = ofctx__grpc_client_call_md(client, DAPR "BulkPublishEvent", DAPR "BulkPublishEventAlpha1",
                                    trace_md(req, md), &bulk.base, s->policy, answered_bulk, call);
  ofctx__free(entries);
out_free_heap:
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                         ofctx__sink_done_fn done, void *arg) {
  grpc_sink_t *s = (grpc_sink_t *)base;
  ofctx__grpc_client_t *client = s->client(s->client_arg);
  call_t *call;
  ofctx_err_t rc;

  if (!client)
    return OFCTX_ESEND; /* shutting down */
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return OFCTX_ENOMEM;
  call->sink = s;
  call->done = done;
  call->arg = arg;
  switch (req->kind) {
  case OFCTX__SEND_BINDING:
    rc = send_binding(s, client, req, call);
    break;
  case OFCTX__SEND_PUBLISH:
    rc = send_publish(s, client, req, call);
    break;
  default:
    rc = send_bulk(s, client, req, call);
    break;
  }
  if (rc != OFCTX_OK)
    call_free(call);
  return rc;
}

/* ---- state ---- */

#define ABORTED 10 /* Dapr's status for an ETag that does not match */

typedef struct {
  grpc_sink_t *sink;
  ofctx__state_done_fn done;
  void *arg;
  int get;
} state_call_t;

/* A read's answer into `result`: its value (a NUL-terminated copy in
 * `*copy`, for the caller to free) and ETag. */
static void read_answer(const ofctx__grpc_result_t *r, ofctx__state_result_t *result,
                        Dapr__Proto__Runtime__V1__GetStateResponse **res, char **copy) {
  *res = dapr__proto__runtime__v1__get_state_response__unpack(&ofctx__pb_allocator, r->response_len,
                                                              r->response);
  if (!*res || !(*copy = ofctx__malloc((*res)->data.len + 1))) {
    result->ok = 0;
    result->error = *res ? "out of memory" : "the sidecar's answer is not a GetStateResponse";
    return;
  }
  if ((*res)->data.len)
    memcpy(*copy, (*res)->data.data, (*res)->data.len);
  (*copy)[(*res)->data.len] = '\0';
  result->body = *copy;
  result->body_len = (*res)->data.len;
  result->etag = (*res)->etag ? (*res)->etag : "";
  /* Dapr answers a key without a value with nothing */
  result->found = (*res)->data.len > 0 || *result->etag;
}

static void state_answered(void *arg, const ofctx__grpc_result_t *r) {
  state_call_t *call = arg;
  Dapr__Proto__Runtime__V1__GetStateResponse *res = NULL;
  char *copy = NULL;
  ofctx__state_result_t result = {.ok = r->ok,
                                  .conflict = r->code == ABORTED,
                                  .grpc_status = r->code,
                                  .attempts = r->attempts,
                                  .error = r->error,
                                  .body = "",
                                  .etag = ""};

  if (r->ok && call->get)
    read_answer(r, &result, &res, &copy);
  if (result.ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  ofctx__free(copy);
  if (res)
    dapr__proto__runtime__v1__get_state_response__free_unpacked(res, &ofctx__pb_allocator);
  ofctx__free(call);
}

/* Defines `name`, which builds the metadata pairs `kv` (key, value, ...,
 * NULL; or NULL) as the map entries of the protobuf type `T`, in one new
 * block, *heap (to free once the request is packed), their count in `*n`.
 * Returns the list, or NULL when out of memory. */
#define STATE_METADATA(name, T, init)                                                              \
  static T **name(const char *const *kv, size_t *n, void **heap) {                                 \
    T *entries, **list;                                                                            \
    for (*n = 0; kv && kv[2 * *n];)                                                                \
      ++*n;                                                                                        \
    if (!(*heap = ofctx__calloc(*n ? *n : 1, sizeof(T) + sizeof(T *))))                            \
      return NULL;                                                                                 \
    entries = *heap;                                                                               \
    list = (T **)(entries + *n);                                                                   \
    for (size_t i = 0; i < *n; i++) {                                                              \
      init(&entries[i]);                                                                           \
      entries[i].key = (char *)kv[2 * i];                                                          \
      entries[i].value = (char *)kv[2 * i + 1];                                                    \
      list[i] = &entries[i];                                                                       \
    }                                                                                              \
    return list;                                                                                   \
  }

typedef Dapr__Proto__Runtime__V1__GetStateRequest__MetadataEntry get_md_t;
typedef Dapr__Proto__Common__V1__StateItem__MetadataEntry item_md_t;
typedef Dapr__Proto__Runtime__V1__DeleteStateRequest__MetadataEntry delete_md_t;

STATE_METADATA(get_metadata, get_md_t,
               dapr__proto__runtime__v1__get_state_request__metadata_entry__init)
STATE_METADATA(item_metadata, item_md_t, dapr__proto__common__v1__state_item__metadata_entry__init)
STATE_METADATA(delete_metadata, delete_md_t,
               dapr__proto__runtime__v1__delete_state_request__metadata_entry__init)

/* The enum value of Dapr's word `word`: 1 for `first`, 2 for `second`, 0
 * (unspecified) for NULL. */
static int enum_of(const char *word, const char *first, const char *second) {
  return !word ? 0 : strcmp(word, first) == 0 ? 1 : strcmp(word, second) == 0 ? 2 : 0;
}

/* A write's ETag and options, in `etag` and `options`: `*etag_out` and
 * `*options_out` point at them, or are NULL when the request has none. */
static void write_options(const ofctx__state_request_t *req, Dapr__Proto__Common__V1__Etag *etag,
                          Dapr__Proto__Common__V1__StateOptions *options,
                          Dapr__Proto__Common__V1__Etag **etag_out,
                          Dapr__Proto__Common__V1__StateOptions **options_out) {
  etag->value = (char *)req->etag;
  *etag_out = req->etag ? etag : NULL;
  options->concurrency = enum_of(req->concurrency, "first-write", "last-write");
  options->consistency = enum_of(req->consistency, "eventual", "strong");
  *options_out = req->concurrency || req->consistency ? options : NULL;
}

/* Each operation as its own request, answered to `call` unless it fails. */
static ofctx_err_t state_get(grpc_sink_t *s, ofctx__grpc_client_t *client,
                             const ofctx__state_request_t *req, const char *const *md,
                             state_call_t *call) {
  Dapr__Proto__Runtime__V1__GetStateRequest get = DAPR__PROTO__RUNTIME__V1__GET_STATE_REQUEST__INIT;
  void *heap = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  get.store_name = (char *)req->store;
  get.key = (char *)req->key;
  get.consistency = enum_of(req->consistency, "eventual", "strong");
  get.metadata = get_metadata(req->metadata, &get.n_metadata, &heap);
  if (get.metadata)
    rc = ofctx__grpc_client_call_md(client, DAPR "GetState", NULL, md, &get.base, s->policy,
                                    state_answered, call);
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t state_save(grpc_sink_t *s, ofctx__grpc_client_t *client,
                              const ofctx__state_request_t *req, const char *const *md,
                              state_call_t *call) {
  Dapr__Proto__Runtime__V1__SaveStateRequest save =
      DAPR__PROTO__RUNTIME__V1__SAVE_STATE_REQUEST__INIT;
  Dapr__Proto__Common__V1__StateItem item = DAPR__PROTO__COMMON__V1__STATE_ITEM__INIT, *items[1];
  Dapr__Proto__Common__V1__Etag etag = DAPR__PROTO__COMMON__V1__ETAG__INIT;
  Dapr__Proto__Common__V1__StateOptions options = DAPR__PROTO__COMMON__V1__STATE_OPTIONS__INIT;
  void *heap = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  item.key = (char *)req->key;
  item.value.data = (uint8_t *)req->value;
  item.value.len = req->len;
  write_options(req, &etag, &options, &item.etag, &item.options);
  item.metadata = item_metadata(req->metadata, &item.n_metadata, &heap);
  items[0] = &item;
  save.store_name = (char *)req->store;
  save.n_states = 1;
  save.states = items;
  if (item.metadata)
    rc = ofctx__grpc_client_call_md(client, DAPR "SaveState", NULL, md, &save.base, s->policy,
                                    state_answered, call);
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t state_delete(grpc_sink_t *s, ofctx__grpc_client_t *client,
                                const ofctx__state_request_t *req, const char *const *md,
                                state_call_t *call) {
  Dapr__Proto__Runtime__V1__DeleteStateRequest del =
      DAPR__PROTO__RUNTIME__V1__DELETE_STATE_REQUEST__INIT;
  Dapr__Proto__Common__V1__Etag etag = DAPR__PROTO__COMMON__V1__ETAG__INIT;
  Dapr__Proto__Common__V1__StateOptions options = DAPR__PROTO__COMMON__V1__STATE_OPTIONS__INIT;
  void *heap = NULL;
  ofctx_err_t rc = OFCTX_ENOMEM;

  del.store_name = (char *)req->store;
  del.key = (char *)req->key;
  write_options(req, &etag, &options, &del.etag, &del.options);
  del.metadata = delete_metadata(req->metadata, &del.n_metadata, &heap);
  if (del.metadata)
    rc = ofctx__grpc_client_call_md(client, DAPR "DeleteState", NULL, md, &del.base, s->policy,
                                    state_answered, call);
  ofctx__free(heap);
  return rc;
}

static ofctx_err_t state_start(ofctx__sink_t *base, const ofctx__state_request_t *req,
                               ofctx__state_done_fn done, void *arg) {
  grpc_sink_t *s = (grpc_sink_t *)base;
  ofctx__grpc_client_t *client = s->client(s->client_arg);
  const char *trace[7];
  const char *const *md = trace_pairs(req->traceparent, req->tracestate, req->baggage, trace);
  state_call_t *call;
  ofctx_err_t rc;

  if (!client)
    return OFCTX_ESEND; /* shutting down */
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return OFCTX_ENOMEM;
  call->sink = s;
  call->done = done;
  call->arg = arg;
  call->get = req->op == OFCTX__STATE_GET;
  rc = req->op == OFCTX__STATE_GET   ? state_get(s, client, req, md, call)
       : req->op == OFCTX__STATE_SET ? state_save(s, client, req, md, call)
                                     : state_delete(s, client, req, md, call);
  if (rc != OFCTX_OK)
    ofctx__free(call);
  return rc;
}

static void sink_free(ofctx__sink_t *base) { ofctx__free(base); }

ofctx__sink_t *ofctx__dapr_grpc_sink_new(ofctx__grpc_client_fn client, void *client_arg,
                                         const ofctx__retry_policy_t *policy, int *ready) {
  grpc_sink_t *s = ofctx__calloc(1, sizeof *s);

  if (!s)
    return NULL;
  s->base.start = start;
  s->base.free = sink_free;
  s->base.state = state_start;
  s->client = client;
  s->client_arg = client_arg;
  s->policy = policy;
  s->ready = ready;
  return &s->base;
}
