/* Sends to the sidecar's gRPC API: Dapr/InvokeBinding and Dapr/PublishEvent,
 * the data as raw bytes (nothing embedded in JSON), metadata as the map
 * both requests carry: the output's entries, then the call's (which win). */
#include "grpc_sink.h"
#include "dapr.pb-c.h"
#include "grpc_wire.h"
#include "mem.h"

#define DAPR "/dapr.proto.runtime.v1.Dapr/"

typedef struct {
  ofctx__sink_t base;
  ofctx__grpc_client_fn client;
  void *client_arg;
  const ofctx__dapr_policy_t *policy;
  int *ready;
} grpc_sink_t;

typedef struct {
  grpc_sink_t *sink;
  ofctx__sink_done_fn done;
  void *arg;
} call_t;

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
  ofctx__free(call);
}

#define SMALL 8 /* metadata entries kept on the stack */

static ofctx_err_t start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                         ofctx__sink_done_fn done, void *arg) {
  grpc_sink_t *s = (grpc_sink_t *)base;
  Dapr__Proto__Runtime__V1__InvokeBindingRequest binding =
      DAPR__PROTO__RUNTIME__V1__INVOKE_BINDING_REQUEST__INIT;
  Dapr__Proto__Runtime__V1__PublishEventRequest publish =
      DAPR__PROTO__RUNTIME__V1__PUBLISH_EVENT_REQUEST__INIT;
  const ProtobufCMessageDescriptor *desc =
      req->kind == OFCTX__SEND_BINDING
          ? &dapr__proto__runtime__v1__invoke_binding_request__metadata_entry__descriptor
          : &dapr__proto__runtime__v1__publish_event_request__metadata_entry__descriptor;
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
  else if (!(call = ofctx__malloc(sizeof *call)))
    rc = OFCTX_ENOMEM;
  else {
    *call = (call_t){s, done, arg};
    rc = req->kind == OFCTX__SEND_BINDING
             ? ofctx__grpc_client_call(client, DAPR "InvokeBinding", &binding.base, s->policy,
                                       answered, call)
             : ofctx__grpc_client_call(client, DAPR "PublishEvent", &publish.base, s->policy,
                                       answered, call);
    if (rc != OFCTX_OK)
      ofctx__free(call);
  }
  if (entries != small) {
    ofctx__free(entries);
    ofctx__free(list);
  }
  return rc;
}

static void sink_free(ofctx__sink_t *base) { ofctx__free(base); }

ofctx__sink_t *ofctx__grpc_sink_new(ofctx__grpc_client_fn client, void *client_arg,
                                    const ofctx__dapr_policy_t *policy, int *ready) {
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
