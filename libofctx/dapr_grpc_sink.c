/* Sends to the sidecar's gRPC API: Dapr/InvokeBinding, Dapr/PublishEvent
 * and Dapr/BulkPublishEvent (BulkPublishEventAlpha1 before Dapr 1.17), the
 * data as raw bytes (nothing embedded in JSON), metadata as the map the
 * requests carry: the output's entries, then the call's (which win). */
#include "dapr_grpc_sink.h"
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
  size_t id_count; /* a bulk publish: its entries' ids */
  char **ids;
} call_t;

static void call_free(call_t *call) {
  for (size_t i = 0; i < call->id_count; i++)
    ofctx__free(call->ids[i]);
  ofctx__free(call->ids);
  ofctx__free(call);
}

/* Both requests' metadata entries have this shape (base, key, value); each
 * is initialized with its own request's descriptor. */
typedef Dapr__Proto__Runtime__V1__PublishEventRequest__MetadataEntry entry_t;
typedef Dapr__Proto__Runtime__V1__InvokeBindingRequest__MetadataEntry binding_entry_t;
_Static_assert(sizeof(entry_t) == sizeof(binding_entry_t), "map entries differ");

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
  const char **failed = ofctx__calloc(call->id_count, sizeof *failed);

  if (res && res->n_failedentries > 0) {
    result.ok = 0;
    result.error = "the sidecar did not publish some entries";
    for (size_t i = 0; failed && i < res->n_failedentries && i < call->id_count; i++)
      failed[result.failed_count++] = res->failedentries[i]->entry_id;
  } else if (r->ok && !res && r->response_len > 0) {
    result.ok = 0;
    result.error = "the sidecar's answer is not a BulkPublishResponse";
  }
  if (!result.ok && result.failed_count == 0 && failed)
    for (; result.failed_count < call->id_count; result.failed_count++)
      failed[result.failed_count] = call->ids[result.failed_count];
  result.failed = failed;
  if (result.ok)
    *call->sink->ready = 1;
  call->done(call->arg, &result);
  ofctx__free(failed);
  if (res)
    dapr__proto__runtime__v1__bulk_publish_response__free_unpacked(res, &ofctx__pb_allocator);
  call_free(call);
}

#define SMALL 8 /* metadata entries kept on the stack */

typedef Dapr__Proto__Runtime__V1__BulkPublishRequestEntry bulk_entry_t;
typedef Dapr__Proto__Runtime__V1__BulkPublishRequestEntry__MetadataEntry bulk_md_t;
_Static_assert(sizeof(entry_t) == sizeof(bulk_md_t), "map entries differ");

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
  call->ids = ofctx__calloc(n, sizeof *call->ids);
  if (!*mem || !call->ids)
    return OFCTX_ENOMEM;
  entries = *mem;
  list = (bulk_entry_t **)(entries + n);
  md = (bulk_md_t *)(list + n);
  md_list = (bulk_md_t **)(md + pairs);
  for (size_t i = 0; i < n; i++, call->id_count++) {
    const ofctx_bulk_entry_t *e = &req->entries[i];
    call->ids[i] = ofctx__strdup(e->entry_id);
    if (!call->ids[i])
      return OFCTX_ENOMEM;
    dapr__proto__runtime__v1__bulk_publish_request_entry__init(&entries[i]);
    entries[i].entry_id = call->ids[i];
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

static ofctx_err_t start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                         ofctx__sink_done_fn done, void *arg) {
  grpc_sink_t *s = (grpc_sink_t *)base;
  Dapr__Proto__Runtime__V1__InvokeBindingRequest binding =
      DAPR__PROTO__RUNTIME__V1__INVOKE_BINDING_REQUEST__INIT;
  Dapr__Proto__Runtime__V1__PublishEventRequest publish =
      DAPR__PROTO__RUNTIME__V1__PUBLISH_EVENT_REQUEST__INIT;
  Dapr__Proto__Runtime__V1__BulkPublishRequest bulk =
      DAPR__PROTO__RUNTIME__V1__BULK_PUBLISH_REQUEST__INIT;
  const ProtobufCMessageDescriptor *desc =
      req->kind == OFCTX__SEND_BINDING
          ? &dapr__proto__runtime__v1__invoke_binding_request__metadata_entry__descriptor
      : req->kind == OFCTX__SEND_PUBLISH
          ? &dapr__proto__runtime__v1__publish_event_request__metadata_entry__descriptor
          : &dapr__proto__runtime__v1__bulk_publish_request__metadata_entry__descriptor;
  void *bulk_mem = NULL;
  entry_t small[SMALL], *small_list[SMALL], *entries = small, **list = small_list;
  size_t n = ofctx_strmap_count(req->metadata), k = 0;
  ofctx__grpc_client_t *client;
  call_t *call;
  ofctx_err_t rc;

  for (const char *const *kv = req->extra; kv && kv[0]; kv += 2)
    n++;
  if (n > SMALL) {
    entries = ofctx__calloc(n, sizeof *entries);
    list = ofctx__calloc(n, sizeof *list);
    if (!entries || !list) {
      ofctx__free(entries);
      ofctx__free(list);
      return OFCTX_ENOMEM;
    }
  }
  for (size_t i = 0; i < ofctx_strmap_count(req->metadata); i++, k++) {
    protobuf_c_message_init(desc, &entries[k]);
    entries[k].key = (char *)ofctx_strmap_key_at(req->metadata, i);
    entries[k].value = (char *)ofctx_strmap_value_at(req->metadata, i);
    list[k] = &entries[k];
  }
  for (const char *const *kv = req->extra; kv && kv[0]; kv += 2, k++) {
    protobuf_c_message_init(desc, &entries[k]);
    entries[k].key = (char *)kv[0];
    entries[k].value = (char *)(kv[1] ? kv[1] : "");
    list[k] = &entries[k];
  }
  if (req->kind == OFCTX__SEND_BINDING) {
    binding.name = (char *)req->component;
    binding.operation = (char *)(req->operation ? req->operation : "");
    binding.data.data = (uint8_t *)req->data;
    binding.data.len = req->len;
    binding.n_metadata = n;
    binding.metadata = (binding_entry_t **)list;
  } else if (req->kind == OFCTX__SEND_PUBLISH_BULK) {
    bulk.pubsub_name = (char *)req->component;
    bulk.topic = (char *)req->topic;
    bulk.n_metadata = n;
    bulk.metadata = (Dapr__Proto__Runtime__V1__BulkPublishRequest__MetadataEntry **)list;
    bulk.n_entries = req->entry_count;
  } else {
    publish.pubsub_name = (char *)req->component;
    publish.topic = (char *)req->topic;
    publish.data.data = (uint8_t *)req->data;
    publish.data.len = req->len;
    publish.data_content_type = (char *)req->content_type;
    publish.n_metadata = n;
    publish.metadata = list;
  }
  if (!(client = s->client(s->client_arg)))
    rc = OFCTX_ESEND; /* shutting down */
  else if (!(call = ofctx__calloc(1, sizeof *call)))
    rc = OFCTX_ENOMEM;
  else {
    call->sink = s;
    call->done = done;
    call->arg = arg;
    if (req->kind == OFCTX__SEND_PUBLISH_BULK) {
      rc = bulk_entries(req, call, &bulk_mem, &bulk.entries);
      if (rc == OFCTX_OK)
        rc = ofctx__grpc_client_call_or(client, DAPR "BulkPublishEvent",
                                        DAPR "BulkPublishEventAlpha1", &bulk.base, s->policy,
                                        answered_bulk, call);
    } else {
      rc = req->kind == OFCTX__SEND_BINDING
               ? ofctx__grpc_client_call(client, DAPR "InvokeBinding", &binding.base, s->policy,
                                         answered, call)
               : ofctx__grpc_client_call(client, DAPR "PublishEvent", &publish.base, s->policy,
                                         answered, call);
    }
    if (rc != OFCTX_OK)
      call_free(call);
  }
  ofctx__free(bulk_mem);
  if (entries != small) {
    ofctx__free(entries);
    ofctx__free(list);
  }
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
  s->client = client;
  s->client_arg = client_arg;
  s->policy = policy;
  s->ready = ready;
  return &s->base;
}
