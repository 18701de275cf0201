/* The Async runtime over gRPC: Dapr's AppCallback and AppCallbackHealthCheck
 * services (package dapr.proto.runtime.v1). Bindings come as
 * OnBindingEvent, pub/sub messages as OnTopicEvent; the subscriptions and
 * input bindings Dapr asks for at start-up are the context's inputs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async_inputs.h"
#include "bulk.h"
#include "dapr.pb-c.h"
#include "error_msg.h"
#include "grpc_wire.h"
#include "json_util.h"
#include "log.h"
#include "mem.h"
#include "mode.h"
#include "text.h"

typedef Dapr__Proto__Runtime__V1__TopicEventRequest topic_req_t;
typedef Dapr__Proto__Runtime__V1__BindingEventRequest binding_req_t;
typedef Dapr__Proto__Runtime__V1__TopicEventBulkRequest bulk_req_t;
typedef Dapr__Proto__Runtime__V1__TopicEventBulkRequestEntry bulk_entry_t;
typedef Dapr__Proto__Runtime__V1__TopicEventCERequest ce_req_t;
typedef Dapr__Proto__Runtime__V1__TopicEventBulkResponseEntry bulk_status_t;
typedef Google__Protobuf__Value pb_value_t;

#define SERVICE "/dapr.proto.runtime.v1.AppCallback/"
#define MAX_DEPTH 64 /* of a CloudEvent extension's value turned into JSON */
/* What unpacking a request may allocate, besides the bodies' budget it is
 * counted in: this many times the message, and a little more. Dapr's
 * messages take at most a few times their size; a message of nothing but
 * empty map entries or bulk entries would take up to 48 times. */
#define UNPACK_MULTIPLE 16
#define UNPACK_SLACK (64 * 1024)
#define MALLOC_OVERHEAD 16 /* counted for each allocation */
#define ATTRIBUTE_COST 96  /* an attribute in jansson besides its text: string, entry, copies */

/* One delivery in flight: the call and the request its event views. */
typedef struct {
  ofctx__grpc_call_t *call;
  ProtobufCMessage *msg;
} delivery_t;

/* The allocator a request is unpacked with: each allocation counted against
 * what is left, the lesser of UNPACK_MULTIPLE times the message and the
 * call's room in the server's budget (which nothing else takes while
 * protobuf-c runs); the call holds the sum once unpacked. */
typedef struct {
  ProtobufCAllocator base;
  size_t left;
} unpack_budget_t;

/* ---- answers ---- */

static void delivery_free(delivery_t *d) {
  if (d->msg)
    protobuf_c_message_free_unpacked(d->msg, &ofctx__pb_allocator);
  ofctx__free(d);
}

static void answer_binding(ofctx_t *ctx, ofctx__outcome_t outcome) {
  delivery_t *d = ctx->req;
  Dapr__Proto__Runtime__V1__BindingEventResponse res =
      DAPR__PROTO__RUNTIME__V1__BINDING_EVENT_RESPONSE__INIT;

  if (outcome == OFCTX__OUTCOME_RETRY) {
    /* the binding's component delivers it again; no internals here */
    ofctx__grpc_fail(d->call, OFCTX__GRPC_INTERNAL, "the event was not processed");
  } else {
    /* only the reply's data: Dapr would act on `to` and the state fields */
    res.data.data = (uint8_t *)ctx->reply;
    res.data.len = ctx->reply ? ctx->reply_len : 0;
    ofctx__grpc_reply(d->call, &res.base);
  }
  delivery_free(d);
}

static void reply_status(ofctx__grpc_call_t *call, ofctx__outcome_t outcome) {
  Dapr__Proto__Runtime__V1__TopicEventResponse res =
      DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__INIT;

  res.status =
      outcome == OFCTX__OUTCOME_SUCCESS
          ? DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__SUCCESS
      : outcome == OFCTX__OUTCOME_DROP
          ? DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__DROP
          : DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__RETRY;
  ofctx__grpc_reply(call, &res.base);
}

static void answer_topic(ofctx_t *ctx, ofctx__outcome_t outcome) {
  delivery_t *d = ctx->req;
  reply_status(d->call, outcome);
  delivery_free(d);
}

/* ---- CloudEvent attributes from a topic event ---- */

static json_t *value_json(const pb_value_t *v, int depth, int *bad);

static json_t *struct_json(const Google__Protobuf__Struct *s, int depth, int *bad) {
  json_t *o = json_object();

  for (size_t i = 0; o && s && i < s->n_fields; i++) {
    json_t *v = NULL;
    if (!ofctx__utf8_valid(s->fields[i]->key, strlen(s->fields[i]->key)))
      *bad = 1;
    else
      v = value_json(s->fields[i]->value, depth + 1, bad);
    if (!v || json_object_set_new(o, s->fields[i]->key, v) != 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* The value as JSON; NULL when out of memory, or (`*bad` set) when text in
 * it is not UTF-8, which no JSON can hold: two different answers. */
static json_t *value_json(const pb_value_t *v, int depth, int *bad) {
  json_t *list;

  if (!v || depth > MAX_DEPTH)
    return json_null();
  switch (v->kind_case) {
  case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
    return isfinite(v->number_value) ? json_real(v->number_value) : json_null();
  case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
    if (!ofctx__utf8_valid(v->string_value, strlen(v->string_value))) {
      *bad = 1;
      return NULL;
    }
    return json_string(v->string_value);
  case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
    return json_boolean(v->bool_value);
  case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
    return struct_json(v->struct_value, depth, bad);
  case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
    list = json_array();
    for (size_t i = 0; list && v->list_value && i < v->list_value->n_values; i++)
      if (json_array_append_new(list, value_json(v->list_value->values[i], depth + 1, bad)) != 0) {
        json_decref(list);
        return NULL;
      }
    return list;
  default:
    return json_null();
  }
}

/* An extension as the attribute's text: a string as it is, an integral
 * number in decimal, true/false, anything else as compact JSON; NULL for
 * null (no attribute), when out of memory (`*oom`) and when text in it is
 * not UTF-8 (`*bad`). */
static char *extension_text(const pb_value_t *v, int *oom, int *bad) {
  char number[32];
  json_t *j;
  char *text;

  switch (v ? v->kind_case : GOOGLE__PROTOBUF__VALUE__KIND__NOT_SET) {
  case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
    text = ofctx__strdup(v->string_value);
    break;
  case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
    if (!isfinite(v->number_value))
      return NULL;
    if (v->number_value == floor(v->number_value) && fabs(v->number_value) < 9.007199254740992e15)
      snprintf(number, sizeof number, "%.0f", v->number_value);
    else
      snprintf(number, sizeof number, "%.17g", v->number_value);
    ofctx__dot_decimal(number, NULL);
    text = ofctx__strdup(number);
    break;
  case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
    text = ofctx__strdup(v->bool_value ? "true" : "false");
    break;
  case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
  case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
    j = value_json(v, 0, bad);
    if (*bad)
      return NULL;
    text = j ? ofctx__json_text(j, JSON_COMPACT) : NULL;
    json_decref(j);
    break;
  default:
    return NULL;
  }
  *oom = !text;
  return text;
}

/* How a request, or a bulk entry, turned into an event. */
typedef enum {
  EVENT_OK,
  EVENT_NOMEM, /* out of memory, or the call's budget spent: RETRY, it may pass */
  /* It can never be an event (text that is not UTF-8, which protobuf-c does
   * not check; more metadata than OFCTX_MAX_METADATA; no event): DROP. */
  EVENT_POISON
} event_rc_t;

/* The extensions into `attrs`, never over an attribute set already, with
 * the cost of each added to `*cost`. */
static event_rc_t extensions_of(json_t *attrs, const Google__Protobuf__Struct *extensions,
                                size_t *cost) {
  for (size_t i = 0; extensions && i < extensions->n_fields; i++) {
    const char *key = extensions->fields[i]->key;
    event_rc_t rc = EVENT_OK;
    int oom = 0, bad = 0;
    char *text;
    if (json_object_get(attrs, key))
      continue;
    if (!ofctx__utf8_valid(key, strlen(key)))
      return EVENT_POISON;
    text = extension_text(extensions->fields[i]->value, &oom, &bad);
    if (bad || (text && !ofctx__utf8_valid(text, strlen(text))))
      rc = EVENT_POISON;
    else if (oom || (text && json_object_set_new(attrs, key, json_string(text)) != 0))
      rc = EVENT_NOMEM;
    else if (text)
      *cost += ATTRIBUTE_COST + strlen(key) + strlen(text);
    ofctx__free(text);
    if (rc != EVENT_OK)
      return rc;
  }
  return EVENT_OK;
}

/* The attributes Dapr sends as fields, then the extensions (never over a
 * field's; at most `max` of them), counted in the call's budget (a copy of
 * each name and text, and jansson's bookkeeping). */
static event_rc_t attributes_of(ofctx__grpc_call_t *call, ofctx_event_t *ev,
                                const char *const fields[][2], size_t n_fields,
                                const Google__Protobuf__Struct *extensions, size_t max) {
  size_t cost = 0;
  event_rc_t rc;

  if (extensions && extensions->n_fields > max)
    return EVENT_POISON;
  ev->attributes = json_object();
  if (!ev->attributes)
    return EVENT_NOMEM;
  for (size_t i = 0; i < n_fields; i++) {
    if (!fields[i][1] || !fields[i][1][0])
      continue;
    if (!ofctx__utf8_valid(fields[i][1], strlen(fields[i][1])))
      return EVENT_POISON;
    if (json_object_set_new(ev->attributes, fields[i][0], json_string(fields[i][1])) != 0)
      return EVENT_NOMEM;
    cost += ATTRIBUTE_COST + strlen(fields[i][1]);
  }
  rc = extensions_of(ev->attributes, extensions, &cost);
  if (rc != EVENT_OK)
    return rc;
  if (ofctx__grpc_call_hold(call, cost) != 0)
    return EVENT_NOMEM;
  ev->content_type = json_string_value(json_object_get(ev->attributes, "datacontenttype"));
  return EVENT_OK;
}

static event_rc_t topic_attributes(ofctx__grpc_call_t *call, ofctx_event_t *ev,
                                   const topic_req_t *m, size_t max) {
  const char *const fields[][2] = {{"id", m->id},
                                   {"source", m->source},
                                   {"type", m->type},
                                   {"specversion", m->spec_version},
                                   {"datacontenttype", m->data_content_type},
                                   {"topic", m->topic},
                                   {"pubsubname", m->pubsub_name}};
  return attributes_of(call, ev, fields, sizeof fields / sizeof fields[0], m->extensions, max);
}

/* ---- deliveries ---- */

static void *unpack_alloc(void *data, size_t size) {
  unpack_budget_t *b = data;

  if (size > b->left || b->left - size < MALLOC_OVERHEAD) {
    b->left = 0; /* spent: the call is told so */
    return NULL;
  }
  b->left -= size + MALLOC_OVERHEAD;
  return ofctx__malloc(size);
}

static void unpack_free(void *data, void *ptr) {
  (void)data;
  ofctx__free(ptr);
}

/* The request of `call` as a message of type `desc`; NULL (the call
 * answered) when it is not one, when it would take more memory than its
 * share (UNPACK_MULTIPLE times its size) or than the bodies' budget has
 * left, or when there is no memory. */
static ProtobufCMessage *unpack(ofctx__grpc_call_t *call, const ProtobufCMessageDescriptor *desc) {
  size_t len;
  const void *bytes = ofctx__grpc_call_message(call, &len);
  unpack_budget_t budget = {{NULL, NULL, NULL}, 0};
  size_t room = ofctx__grpc_call_room(call);
  ProtobufCMessage *msg;

  budget.base = (ProtobufCAllocator){unpack_alloc, unpack_free, &budget};
  budget.left = len > (SIZE_MAX - UNPACK_SLACK) / UNPACK_MULTIPLE
                    ? SIZE_MAX
                    : len * UNPACK_MULTIPLE + UNPACK_SLACK;
  if (budget.left > room)
    budget.left = room;
  room = budget.left;
  msg = protobuf_c_message_unpack(desc, &budget.base, len, bytes);
  if (msg && ofctx__grpc_call_hold(call, room - budget.left) != 0) {
    protobuf_c_message_free_unpacked(msg, &ofctx__pb_allocator);
    msg = NULL;
    budget.left = 0;
  }
  if (!msg && budget.left == 0)
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED,
                     "the request would take more memory than its share of the server's budget");
  else if (!msg)
    ofctx__grpc_fail(call, OFCTX__GRPC_INVALID_ARGUMENT,
                     "the request is not a valid protobuf message of its type");
  return msg;
}

/* The event of `d` handed to an invocation, or the call failed. */
static void invoke(ofctx__async_t *a, delivery_t *d, ofctx_event_t *ev, ofctx__answer_fn answer) {
  size_t n;
  const ofctx__http_header_t *headers = ofctx__grpc_call_headers(d->call, &n);

  int rc = ofctx__event_metadata_add(ev, headers, n, 1);

  if (rc != 0)
    ofctx__event_clear(ev);
  else
    rc = ofctx__invoke(a->host, d, ev, answer); /* which frees the event when it fails */
  if (rc != 0) {
    ofctx__grpc_fail(d->call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    delivery_free(d);
  }
}

/* The delivery of `call`: its request unpacked as `desc`; NULL when the
 * call is answered already (not that message, no memory). */
static delivery_t *delivery_new(ofctx__grpc_call_t *call, const ProtobufCMessageDescriptor *desc) {
  delivery_t *d = ofctx__calloc(1, sizeof *d);

  if (!d) {
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  d->call = call;
  d->msg = unpack(call, desc);
  if (!d->msg) {
    delivery_free(d);
    return NULL;
  }
  return d;
}

/* The event of input `i`, its data `data` (viewed), or the call answered
 * NOT_FOUND (`why`) when there is no such input. 0 when there is. */
static int event_for(ofctx__async_t *a, delivery_t *d, size_t i, const ProtobufCBinaryData *data,
                     ofctx_event_t *ev, const char *why) {
  if (i == a->in.count) {
    ofctx__grpc_fail(d->call, OFCTX__GRPC_NOT_FOUND, why);
    delivery_free(d);
    return -1;
  }
  ev->kind = ofctx_component_kind(ofctx_config_input_at(a->cfg, i)) == OFCTX_COMPONENT_BINDING
                 ? OFCTX_EVENT_BINDING
                 : OFCTX_EVENT_PUBSUB;
  ev->input = ofctx_component_name(ofctx_config_input_at(a->cfg, i));
  ev->input_index = i;
  ev->data = data->len ? (const char *)data->data : "";
  ev->len = data->len;
  return 0;
}

static int count_field(void *arg, const uint8_t *bytes, size_t len) {
  (void)bytes;
  (void)len;
  ++*(size_t *)arg;
  return 0;
}

static void on_binding(ofctx__async_t *a, ofctx__grpc_call_t *call) {
  size_t len, n_metadata = 0;
  const uint8_t *bytes = ofctx__grpc_call_message(call, &len);
  delivery_t *d;
  ofctx_event_t ev = {0};
  const binding_req_t *m;

  /* counted on the wire (metadata, 3), before unpacking makes each entry
   * an allocation */
  ofctx__pb_fields(bytes, len, 3, count_field, &n_metadata);
  if (n_metadata > a->max_metadata) {
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED,
                     "more metadata entries than OFCTX_MAX_METADATA");
    return;
  }
  d = delivery_new(call, &dapr__proto__runtime__v1__binding_event_request__descriptor);
  m = d ? (const binding_req_t *)d->msg : NULL;
  if (!m ||
      event_for(a, d,
                ofctx__async_inputs_find(&a->in, OFCTX_COMPONENT_BINDING, m->name, NULL, NULL),
                &m->data, &ev, "no input binding of that name") != 0)
    return;
  /* the binding's metadata first: Kafka's __key, __offset, ... */
  for (size_t k = 0; k < m->n_metadata; k++) {
    ofctx__http_header_t entry = {m->metadata[k]->key, m->metadata[k]->value};
    if (ofctx__event_metadata_add(&ev, &entry, 1, 0) != 0) {
      ofctx__event_clear(&ev);
      ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
      delivery_free(d);
      return;
    }
  }
  invoke(a, d, &ev, answer_binding);
}

/* Extensions nested past MAX_DEPTH would cost protobuf-c's recursion a
 * stack frame a level: the message is poison, DROP (logged). */
static int too_deep(ofctx__grpc_call_t *call) {
  size_t len;
  const uint8_t *bytes = ofctx__grpc_call_message(call, &len);

  static const uint32_t extensions[] = {10};

  if (ofctx__pb_struct_depth(bytes, len, extensions, 1, MAX_DEPTH) <= MAX_DEPTH)
    return 0;
  ofctx__log(OFCTX_LOG_WARN, "message dropped", "reason",
             "its CloudEvent extensions nest deeper than 64 levels", (const char *)NULL);
  reply_status(call, OFCTX__OUTCOME_DROP);
  return 1;
}

static void on_topic(ofctx__async_t *a, ofctx__grpc_call_t *call) {
  ofctx_event_t ev = {0};
  const topic_req_t *m;
  delivery_t *d;
  event_rc_t rc;

  if (too_deep(call) ||
      !(d = delivery_new(call, &dapr__proto__runtime__v1__topic_event_request__descriptor)))
    return;
  m = (const topic_req_t *)d->msg;
  if (event_for(a, d,
                ofctx__async_inputs_find(&a->in, OFCTX_COMPONENT_PUBSUB, m->pubsub_name, m->topic,
                                         m->path),
                &m->data, &ev, "no subscription of that pub/sub and topic") != 0)
    return;
  if ((rc = topic_attributes(call, &ev, m, a->max_metadata)) != EVENT_OK) {
    ofctx__event_clear(&ev);
    if (rc == EVENT_POISON) {
      ofctx__log(OFCTX_LOG_WARN, "message dropped", "input", ev.input, "reason",
                 "a CloudEvent attribute is not UTF-8, or there are more than OFCTX_MAX_METADATA",
                 (const char *)NULL);
      ofctx__metrics_event(a->metrics, ev.input_index, OFCTX__OUTCOME_DROP);
    }
    /* out of memory may pass: RETRY */
    reply_status(call, rc == EVENT_POISON ? OFCTX__OUTCOME_DROP : OFCTX__OUTCOME_RETRY);
    delivery_free(d);
    return;
  }
  invoke(a, d, &ev, answer_topic);
}

/* ---- bulk deliveries (OnBulkTopicEvent) ---- */

static Dapr__Proto__Runtime__V1__TopicEventResponse__TopicEventResponseStatus
status_of(ofctx__outcome_t o) {
  return o == OFCTX__OUTCOME_SUCCESS
             ? DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__SUCCESS
         : o == OFCTX__OUTCOME_DROP
             ? DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__DROP
             : DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_RESPONSE__TOPIC_EVENT_RESPONSE_STATUS__RETRY;
}

/* Answers with one status per entry: `ids` and `outcome(i)` give them. */
static void reply_statuses(ofctx__grpc_call_t *call, size_t n, const char *(*id)(void *, size_t),
                           ofctx__outcome_t (*outcome)(void *, size_t), void *arg) {
  Dapr__Proto__Runtime__V1__TopicEventBulkResponse res =
      DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_BULK_RESPONSE__INIT;
  bulk_status_t *entries = ofctx__calloc(n ? n : 1, sizeof *entries);
  bulk_status_t **list = ofctx__calloc(n ? n : 1, sizeof *list);

  if (!entries || !list) {
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
  } else {
    for (size_t i = 0; i < n; i++) {
      dapr__proto__runtime__v1__topic_event_bulk_response_entry__init(&entries[i]);
      entries[i].entry_id = (char *)id(arg, i);
      entries[i].status = status_of(outcome(arg, i));
      list[i] = &entries[i];
    }
    res.n_statuses = n;
    res.statuses = list;
    ofctx__grpc_reply(call, &res.base);
  }
  ofctx__free(entries);
  ofctx__free(list);
}

static const char *bulk_id(void *arg, size_t i) { return ofctx__bulk_id(arg, i); }
static ofctx__outcome_t bulk_outcome(void *arg, size_t i) { return ofctx__bulk_outcome(arg, i); }

static void answer_bulk(void *req, ofctx__bulk_t *bulk) {
  delivery_t *d = req;
  reply_statuses(d->call, ofctx__bulk_count(bulk), bulk_id, bulk_outcome, bulk);
  ofctx__bulk_free(bulk);
  delivery_free(d);
}

static event_rc_t entry_attributes(ofctx__grpc_call_t *call, ofctx_event_t *ev, const bulk_req_t *m,
                                   const ce_req_t *ce, size_t max) {
  const char *const fields[][2] = {{"id", ce->id},
                                   {"source", ce->source},
                                   {"type", ce->type},
                                   {"specversion", ce->spec_version},
                                   {"datacontenttype", ce->data_content_type},
                                   {"topic", m->topic},
                                   {"pubsubname", m->pubsub_name}};
  return attributes_of(call, ev, fields, sizeof fields / sizeof fields[0], ce->extensions, max);
}

/* The event of one entry of input `input`: a CloudEvent, or raw bytes. */
static event_rc_t bulk_entry_event(ofctx__async_t *a, ofctx__grpc_call_t *call, size_t input,
                                   const bulk_req_t *m, const bulk_entry_t *e, ofctx_event_t *ev) {
  const ProtobufCBinaryData *data;
  event_rc_t rc = EVENT_OK;

  ev->kind = OFCTX_EVENT_PUBSUB;
  ev->input = ofctx_component_name(ofctx_config_input_at(a->cfg, input));
  ev->input_index = input;
  if (e->event_case ==
          DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_BULK_REQUEST_ENTRY__EVENT_CLOUD_EVENT &&
      e->cloud_event) {
    rc = entry_attributes(call, ev, m, e->cloud_event, a->max_metadata);
    data = &e->cloud_event->data;
  } else if (e->event_case ==
             DAPR__PROTO__RUNTIME__V1__TOPIC_EVENT_BULK_REQUEST_ENTRY__EVENT_BYTES) {
    data = &e->bytes;
    ev->content_type =
        e->content_type && e->content_type[0] ? e->content_type : "application/octet-stream";
  } else {
    return EVENT_POISON;
  }
  if (rc != EVENT_OK)
    return rc;
  if (e->n_metadata > a->max_metadata)
    return EVENT_POISON;
  ev->data = data->len ? (const char *)data->data : "";
  ev->len = data->len;
  for (size_t k = 0; k < e->n_metadata; k++) {
    ofctx__http_header_t entry = {e->metadata[k]->key, e->metadata[k]->value};
    if (ofctx__event_metadata_add(ev, &entry, 1, 0) != 0)
      return EVENT_NOMEM;
  }
  return EVENT_OK;
}

/* Entries whose extensions nest too deep are found on the wire, before
 * unpacking (which would recurse once per level): every entry of such a
 * request is DROP, its ids read off the wire too. */
typedef struct {
  char **ids;
  size_t n, cap;
  int oom;
} wire_ids_t;

static int take_wire_id(void *arg, const uint8_t *bytes, size_t len) {
  wire_ids_t *w = arg;
  char **slot = &w->ids[w->n - 1];
  char *id = ofctx__strndup((const char *)bytes, len);

  if (!id) {
    w->oom = 1;
    return 1;
  }
  ofctx__free(*slot); /* a field given twice: the last wins, as protobuf reads it */
  *slot = id;
  return 0;
}

/* The entries (2) on the wire, counted before anything is unpacked. */
static size_t wire_entries(ofctx__grpc_call_t *call) {
  size_t len, n = 0;
  const uint8_t *bytes = ofctx__grpc_call_message(call, &len);

  ofctx__pb_fields(bytes, len, 2, count_field, &n);
  return n;
}

static int wire_entry(void *arg, const uint8_t *bytes, size_t len) {
  wire_ids_t *w = arg;
  w->ids[w->n++] = NULL;
  return ofctx__pb_fields(bytes, len, 1, take_wire_id, w) < 0 ? 0 : w->oom;
}

static const char *wire_id(void *arg, size_t i) {
  const char *id = ((wire_ids_t *)arg)->ids[i];
  return id ? id : "";
}

static ofctx__outcome_t wire_drop(void *arg, size_t i) {
  (void)arg;
  (void)i;
  return OFCTX__OUTCOME_DROP;
}

static int bulk_too_deep(ofctx__grpc_call_t *call) {
  static const uint32_t extensions[] = {2, 3, 7};
  size_t len;
  const uint8_t *bytes = ofctx__grpc_call_message(call, &len);
  wire_ids_t w = {NULL, 0, 0, 0};

  if (ofctx__pb_struct_depth(bytes, len, extensions, 3, MAX_DEPTH) <= MAX_DEPTH)
    return 0;
  ofctx__log(OFCTX_LOG_WARN, "bulk message dropped", "reason",
             "a CloudEvent's extensions nest deeper than 64 levels", (const char *)NULL);
  w.cap = wire_entries(call);
  w.ids = ofctx__calloc(w.cap ? w.cap : 1, sizeof *w.ids);
  if (!w.ids || ofctx__pb_fields(bytes, len, 2, wire_entry, &w) != 0 || w.oom)
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
  else
    reply_statuses(call, w.n, wire_id, wire_drop, &w);
  for (size_t k = 0; w.ids && k < w.n; k++)
    ofctx__free(w.ids[k]);
  ofctx__free(w.ids);
  return 1;
}

/* Refuses a delivery of more than `max` entries, which Dapr never sends
 * (the subscription's maxMessagesCount): 1 when refused. */
static int too_many_entries(ofctx__grpc_call_t *call, size_t n, size_t max) {
  char why[120];

  if (n <= max)
    return 0;
  ofctx__log(OFCTX_LOG_WARN, "bulk delivery refused", "reason",
             "more entries than its bulkSubscribeMaxMessagesCount", (const char *)NULL);
  snprintf(why, sizeof why, "more than %zu entries: the subscription's maxMessagesCount", max);
  ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, why);
  return 1;
}

/* The batch of delivery `d`, of input `i`; NULL, the call failed and `d`
 * freed, when it has more entries than the subscription lets Dapr send,
 * when the server holds too many messages, or when out of memory. */
static ofctx__bulk_t *bulk_of(ofctx__async_t *a, delivery_t *d, size_t i) {
  size_t n = ((const bulk_req_t *)d->msg)->n_entries, n_headers;
  const ofctx__http_header_t *headers = ofctx__grpc_call_headers(d->call, &n_headers);
  ofctx__bulk_t *bulk;

  if (too_many_entries(d->call, n, ofctx__bulk_max_entries(&a->in.bulks[i])))
    goto out_free;
  if (ofctx__grpc_call_hold(d->call, ofctx__bulk_cost(n)) != 0) {
    ofctx__grpc_fail(d->call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the server holds too many messages");
    goto out_free;
  }
  bulk = ofctx__bulk_new(a->host, d, i, n, answer_bulk);
  if (bulk && ofctx__bulk_share_metadata(bulk, headers, n_headers) == 0)
    return bulk;
  if (bulk)
    ofctx__bulk_free(bulk);
  ofctx__grpc_fail(d->call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
out_free:
  delivery_free(d);
  return NULL;
}

/* Each entry of `m` (input `i`) into `bulk`: its event to an invocation, or
 * settled at once, DROP when it can never be an event and RETRY when out
 * of memory. */
static void bulk_entries(ofctx__async_t *a, ofctx__grpc_call_t *call, ofctx__bulk_t *bulk, size_t i,
                         const bulk_req_t *m) {
  for (size_t k = 0; k < m->n_entries; k++) {
    const bulk_entry_t *e = m->entries[k];
    ofctx_event_t ev = {0};
    event_rc_t rc = bulk_entry_event(a, call, i, m, e, &ev);
    if (rc == EVENT_OK) {
      ofctx__bulk_invoke(bulk, k, e->entry_id, strlen(e->entry_id), &ev);
      continue;
    }
    ofctx__event_clear(&ev);
    if (rc == EVENT_POISON)
      ofctx__log(OFCTX_LOG_WARN, "bulk entry dropped", "input", ev.input, "entry", e->entry_id,
                 "reason",
                 "the entry is neither a CloudEvent nor bytes, not UTF-8, or has more metadata "
                 "entries than OFCTX_MAX_METADATA",
                 (const char *)NULL);
    ofctx__bulk_settle(bulk, k, e->entry_id, strlen(e->entry_id),
                       rc == EVENT_POISON ? OFCTX__OUTCOME_DROP : OFCTX__OUTCOME_RETRY);
  }
}

static void on_bulk(ofctx__async_t *a, ofctx__grpc_call_t *call) {
  const bulk_req_t *m;
  ofctx__bulk_t *bulk;
  delivery_t *d;
  size_t i;

  if (too_many_entries(call, wire_entries(call), a->in.max_entries) || bulk_too_deep(call) ||
      !(d = delivery_new(call, &dapr__proto__runtime__v1__topic_event_bulk_request__descriptor)))
    return;
  m = (const bulk_req_t *)d->msg;
  i = ofctx__async_inputs_find(&a->in, OFCTX_COMPONENT_PUBSUB, m->pubsub_name, m->topic, m->path);
  if (i == a->in.count) {
    ofctx__grpc_fail(call, OFCTX__GRPC_NOT_FOUND, "no subscription of that pub/sub and topic");
    delivery_free(d);
    return;
  }
  bulk = bulk_of(a, d, i);
  if (!bulk)
    return;
  bulk_entries(a, call, bulk, i, m);
  ofctx__bulk_close(bulk); /* which may answer, and free `d` */
}

static void list_bindings(ofctx__async_t *a, ofctx__grpc_call_t *call) {
  Dapr__Proto__Runtime__V1__ListInputBindingsResponse res =
      DAPR__PROTO__RUNTIME__V1__LIST_INPUT_BINDINGS_RESPONSE__INIT;
  size_t n = ofctx_config_input_count(a->cfg);
  char **names = ofctx__calloc(n ? n : 1, sizeof *names);

  if (!names) {
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const ofctx_component_t *in = ofctx_config_input_at(a->cfg, i);
    if (ofctx_component_kind(in) == OFCTX_COMPONENT_BINDING)
      names[res.n_bindings++] = (char *)ofctx_component_dapr_name(in);
  }
  res.bindings = names;
  ofctx__grpc_reply(call, &res.base);
  ofctx__free(names);
}

typedef Dapr__Proto__Runtime__V1__TopicSubscription sub_t;
typedef Dapr__Proto__Runtime__V1__TopicSubscription__MetadataEntry sub_entry_t;

/* One subscription and what it points to. */
typedef struct {
  sub_t sub;
  Dapr__Proto__Runtime__V1__TopicRoutes routes;
  Dapr__Proto__Runtime__V1__BulkSubscribeConfig bulk;
} subscription_t;

/* The metadata entries of every input: as many as the subscriptions need
 * at most. */
static size_t metadata_count(const ofctx__async_t *a) {
  size_t n = 0;

  for (size_t i = 0; i < a->in.count; i++)
    n += ofctx_strmap_count(ofctx_component_metadata(ofctx_config_input_at(a->cfg, i)));
  return n;
}

/* Pub/sub input `i`'s subscription into `s`, its metadata (but the
 * bulkSubscribe keys, which are the subscription's own) into `entries` and
 * `list` from their start; everything views the context. */
static void subscription_of(const ofctx__async_t *a, size_t i, subscription_t *s,
                            sub_entry_t *entries, sub_entry_t **list) {
  const ofctx_component_t *in = ofctx_config_input_at(a->cfg, i);
  const ofctx_strmap_t *md = ofctx_component_metadata(in);

  dapr__proto__runtime__v1__topic_subscription__init(&s->sub);
  dapr__proto__runtime__v1__topic_routes__init(&s->routes);
  s->sub.pubsub_name = (char *)ofctx_component_dapr_name(in);
  s->sub.topic = (char *)ofctx_component_uri(in);
  s->routes.default_ = a->in.routes[i];
  s->sub.routes = &s->routes;
  s->sub.metadata = list;
  for (size_t k = 0; k < ofctx_strmap_count(md); k++) {
    sub_entry_t *e = &entries[s->sub.n_metadata];
    if (ofctx__bulk_metadata_key(ofctx_strmap_key_at(md, k)))
      continue;
    dapr__proto__runtime__v1__topic_subscription__metadata_entry__init(e);
    e->key = (char *)ofctx_strmap_key_at(md, k);
    e->value = (char *)ofctx_strmap_value_at(md, k);
    list[s->sub.n_metadata++] = e;
  }
  if (a->in.bulks[i].enabled) {
    dapr__proto__runtime__v1__bulk_subscribe_config__init(&s->bulk);
    s->bulk.enabled = 1;
    s->bulk.max_messages_count = (int32_t)a->in.bulks[i].max_messages;
    s->bulk.max_await_duration_ms = (int32_t)a->in.bulks[i].max_await_ms;
    s->sub.bulk_subscribe = &s->bulk;
  }
}

static void list_subscriptions(ofctx__async_t *a, ofctx__grpc_call_t *call) {
  Dapr__Proto__Runtime__V1__ListTopicSubscriptionsResponse res =
      DAPR__PROTO__RUNTIME__V1__LIST_TOPIC_SUBSCRIPTIONS_RESPONSE__INIT;
  size_t n = a->in.count, n_md = metadata_count(a), e = 0;
  subscription_t *subs = ofctx__calloc(n ? n : 1, sizeof *subs);
  sub_t **list = ofctx__calloc(n ? n : 1, sizeof *list);
  sub_entry_t *entries = ofctx__calloc(n_md ? n_md : 1, sizeof *entries);
  sub_entry_t **entry_list = ofctx__calloc(n_md ? n_md : 1, sizeof *entry_list);

  if (!subs || !list || !entries || !entry_list) {
    ofctx__grpc_fail(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    goto out_free;
  }
  for (size_t i = 0; i < n; i++) {
    subscription_t *s = &subs[res.n_subscriptions];
    if (ofctx_component_kind(ofctx_config_input_at(a->cfg, i)) != OFCTX_COMPONENT_PUBSUB)
      continue;
    subscription_of(a, i, s, &entries[e], &entry_list[e]);
    e += s->sub.n_metadata;
    list[res.n_subscriptions++] = &s->sub;
  }
  res.subscriptions = list;
  ofctx__grpc_reply(call, &res.base);
out_free:
  ofctx__free(entry_list);
  ofctx__free(entries);
  ofctx__free(list);
  ofctx__free(subs);
}

static void app_call(void *state, ofctx__grpc_call_t *call) {
  ofctx__async_t *a = state;
  const char *path = ofctx__grpc_call_path(call);
  const char *method =
      strncmp(path, SERVICE, sizeof SERVICE - 1) == 0 ? path + sizeof SERVICE - 1 : NULL;

  if (strcmp(path, "/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck") == 0)
    ofctx__grpc_reply(call, NULL); /* HealthCheckResponse has no field */
  else if (method && strcmp(method, "OnBindingEvent") == 0)
    on_binding(a, call);
  else if (method && strcmp(method, "OnTopicEvent") == 0)
    on_topic(a, call);
  else if (method && strcmp(method, "OnBulkTopicEvent") == 0)
    on_bulk(a, call);
  else if (method && strcmp(method, "ListInputBindings") == 0)
    list_bindings(a, call);
  else if (method && strcmp(method, "ListTopicSubscriptions") == 0)
    list_subscriptions(a, call);
  else
    ofctx__grpc_fail(call, OFCTX__GRPC_UNIMPLEMENTED, "no such method");
}

/* HTTP/1.1 requests are the runtime's (health, metrics) or no one's. */
static int app_route(void *state, ofctx__http_request_t *req) {
  (void)state;
  (void)req;
  return 0;
}

const ofctx__mode_t ofctx__async_grpc_mode = {.name = "Async",
                                              .start = ofctx__async_start,
                                              .route = app_route,
                                              .call = app_call,
                                              .describe = ofctx__async_describe,
                                              .stop = ofctx__async_stop};
