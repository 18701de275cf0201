/* The Async runtime: a Dapr app over HTTP. Input bindings arrive as
 * POST /<componentName> (after an OPTIONS probe), pub/sub messages as
 * CloudEvents on the routes /dapr/subscribe lists. */
#include <stdio.h>
#include <string.h>

#include "async_inputs.h"
#include "buf.h"
#include "bulk.h"
#include "cloudevent.h"
#include "error_msg.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "mem.h"
#include "mode.h"

/* ---- answers ---- */

static void answer_binding(ofctx_t *ctx, ofctx__outcome_t outcome) {
  if (outcome == OFCTX__OUTCOME_RETRY) {
    /* Dapr sees a failure and the component redelivers; no internals here */
    ofctx__http_respond_json(ctx->req, 500, "{\"error\":\"the event was not processed\"}");
    return;
  }
  if (ctx->reply) {
    ofctx__http_header_t type = {"Content-Type", "application/octet-stream"};
    ofctx__http_respond(ctx->req, 200, &type, 1, ctx->reply, ctx->reply_len);
  } else {
    ofctx__http_respond(ctx->req, 200, NULL, 0, NULL, 0);
  }
}

static void answer_pubsub(ofctx_t *ctx, ofctx__outcome_t outcome) {
  /* Dapr's pub/sub answer table: 200 with SUCCESS, DROP or RETRY */
  ofctx__http_respond_json(ctx->req, 200,
                           outcome == OFCTX__OUTCOME_SUCCESS ? "{\"status\":\"SUCCESS\"}"
                           : outcome == OFCTX__OUTCOME_DROP  ? "{\"status\":\"DROP\"}"
                                                             : "{\"status\":\"RETRY\"}");
}

/* ---- deliveries ---- */

static void deliver_binding(ofctx__async_t *a, ofctx__http_request_t *req, size_t i) {
  ofctx_event_t ev = {0};

  ev.kind = OFCTX_EVENT_BINDING;
  ev.input = ofctx_component_name(ofctx_config_input_at(a->cfg, i));
  ev.input_index = i;
  ev.data = ofctx__http_request_body(req, &ev.len);
  if (ofctx__event_metadata_from_headers(&ev, req) != 0) {
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
    return;
  }
  if (ofctx__invoke(a->host, req, &ev, answer_binding) != 0)
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
}

/* A pub/sub message that cannot be an event is poison: DROP, never RETRY. */
static void drop_message(ofctx__async_t *a, ofctx__http_request_t *req, size_t i, const char *why) {
  ofctx__log(OFCTX_LOG_WARN, "message dropped", "input",
             ofctx_component_name(ofctx_config_input_at(a->cfg, i)), "reason", why,
             (const char *)NULL);
  ofctx__metrics_event(a->metrics, i, OFCTX__OUTCOME_DROP);
  ofctx__http_respond_json(req, 200, "{\"status\":\"DROP\"}");
}

/* ---- bulk deliveries: {"entries":[{"entryId", "event", "contentType",
 * "metadata"}, ...], ...}, answered {"statuses":[{"entryId", "status"}]} ---- */

/* One entry's members, as written; `object` is 0 when it is not an object. */
typedef struct {
  const char *id, *event, *type, *metadata;
  size_t id_len, event_len, type_len, metadata_len;
  int object;
} entry_fields_t;

typedef struct {
  ofctx__async_t *a;
  ofctx__http_request_t *req;
  size_t input;
  ofctx__bulk_t *bulk;
  const char *entries; /* the array, as it is written */
  size_t entries_len;
  int bulk_type;                /* "type" is Dapr's bulk envelope's */
  int specversion;              /* a "specversion": a CloudEvent, never a bulk envelope */
  entry_fields_t *fields;       /* each entry's, read in one walk of the array */
  size_t n, cap, max;           /* max: the most entries a delivery may hold */
  const ofctx__json_map_t *map; /* the body's containers */
} bulk_read_t;

static int is_key(const char *key, size_t key_len, const char *name) {
  size_t n = strlen(name);
  return key_len == n + 2 && memcmp(key + 1, name, n) == 0;
}

static int find_entries(void *arg, const char *key, size_t key_len, const char *value,
                        size_t value_len) {
  bulk_read_t *r = arg;
  static const char bulk_type[] = "\"com.dapr.event.sent.bulk\"";

  if (is_key(key, key_len, "entries") && value[0] == '[') {
    r->entries = value;
    r->entries_len = value_len;
  } else if (is_key(key, key_len, "type")) {
    r->bulk_type = value_len == sizeof bulk_type - 1 && memcmp(value, bulk_type, value_len) == 0;
  } else if (is_key(key, key_len, "specversion")) {
    r->specversion = 1;
  }
  return 0;
}

static int entry_field(void *arg, const char *key, size_t key_len, const char *value,
                       size_t value_len) {
  entry_fields_t *f = arg;
  if (is_key(key, key_len, "entryId") && value[0] == '"') {
    f->id = value;
    f->id_len = value_len;
  } else if (is_key(key, key_len, "event")) {
    f->event = value;
    f->event_len = value_len;
  } else if (is_key(key, key_len, "contentType") && value[0] == '"') {
    f->type = value;
    f->type_len = value_len;
  } else if (is_key(key, key_len, "metadata") && value[0] == '{') {
    f->metadata = value;
    f->metadata_len = value_len;
  }
  return 0;
}

/* What read_entry returns to the walk of the entries: go on, or stop. */
enum { ENTRY_READ = 0, ENTRY_NOMEM = 1, ENTRY_TOO_MANY = 2 /* more than Dapr ever sends */ };

static int read_entry(void *arg, const char *value, size_t value_len) {
  bulk_read_t *r = arg;
  entry_fields_t *f;

  if (r->n == r->max)
    return ENTRY_TOO_MANY;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 128;
    cap = cap < r->max ? cap : r->max;
    entry_fields_t *more = ofctx__realloc(r->fields, cap * sizeof *more);
    if (!more)
      return ENTRY_NOMEM;
    r->fields = more;
    r->cap = cap;
  }
  f = &r->fields[r->n++];
  *f = (entry_fields_t){0};
  f->object = ofctx__json_members_in(r->map, value, value_len, entry_field, f) == 0;
  return ENTRY_READ;
}

/* Each metadata member as "name NUL value NUL" (a string's characters, or
 * another value's JSON text). */
typedef struct {
  ofctx__buf_t *out;
  size_t count;
} pairs_t;

static int metadata_pair(void *arg, const char *key, size_t key_len, const char *value,
                         size_t value_len) {
  pairs_t *p = arg;
  ofctx__json_string_decode(p->out, key, key_len);
  ofctx__buf_append(p->out, "", 1);
  if (value[0] == '"')
    ofctx__json_string_decode(p->out, value, value_len);
  else
    ofctx__buf_append(p->out, value, value_len);
  ofctx__buf_append(p->out, "", 1);
  p->count++;
  return 0;
}

/* The entry's event itself: a CloudEvent object, or (a raw payload) base64
 * text. */
static ofctx_err_t entry_payload(bulk_read_t *r, const entry_fields_t *f, ofctx_event_t *ev,
                                 ofctx_error_t *err) {
  ofctx_err_t rc;

  if (!f->event)
    return ofctx__error(err, OFCTX_EINVAL, "the entry has no event");
  if (f->event[0] != '"')
    return ofctx__ce_from_valid_envelope(r->map, f->event, f->event_len, ev, err);
  rc = ofctx__json_base64(f->event, f->event_len, &ev->owned, &ev->len);
  if (rc == OFCTX_EINVAL)
    return ofctx__error(err, rc, "the entry's raw event is not base64");
  if (rc == OFCTX_OK)
    ev->data = ev->owned;
  return rc;
}

/* The strings entry `k`'s event views, kept with the batch: a raw payload's
 * type (the entry's), then the metadata's names and values, all appended
 * before any view is taken. */
static ofctx_err_t entry_strings(bulk_read_t *r, size_t k, const entry_fields_t *f,
                                 ofctx_event_t *ev, ofctx_error_t *err) {
  ofctx__buf_t *strings = ofctx__bulk_strings(r->bulk, k);
  pairs_t pairs = {strings, 0};
  ofctx__http_header_t *md;
  size_t type_len = 0;
  int added;

  ofctx__buf_append(strings, "", 0);
  if (f->event[0] == '"' && f->type) {
    ofctx__json_string_decode(strings, f->type, f->type_len);
    type_len = strings->len;
    ofctx__buf_append(strings, "", 1);
  }
  if (f->metadata &&
      ofctx__json_members_in(r->map, f->metadata, f->metadata_len, metadata_pair, &pairs) != 0)
    return ofctx__error(err, OFCTX_EINVAL, "the entry's metadata is not an object");
  if (strings->failed)
    return OFCTX_ENOMEM;
  if (pairs.count > r->a->max_metadata)
    return ofctx__error(err, OFCTX_EINVAL,
                        "the entry has more metadata entries than OFCTX_MAX_METADATA");
  if (f->event[0] == '"')
    ev->content_type = type_len ? strings->data : "application/octet-stream";
  md = ofctx__http_headers_unpack(strings->data + (type_len ? type_len + 1 : 0), pairs.count, 0);
  added = (!pairs.count || md) && ofctx__event_metadata_add(ev, md, pairs.count, 0) == 0;
  ofctx__free(md);
  return added ? OFCTX_OK : OFCTX_ENOMEM;
}

/* Entry `k`'s event: OFCTX_OK, OFCTX_ENOMEM, or another code when it can
 * never be an event (why in `err`). */
static ofctx_err_t entry_event(bulk_read_t *r, size_t k, const entry_fields_t *f, ofctx_event_t *ev,
                               ofctx_error_t *err) {
  ofctx_err_t rc;

  ev->kind = OFCTX_EVENT_PUBSUB;
  ev->input = ofctx_component_name(ofctx_config_input_at(r->a->cfg, r->input));
  ev->input_index = r->input;
  rc = entry_payload(r, f, ev, err);
  return rc == OFCTX_OK ? entry_strings(r, k, f, ev, err) : rc;
}

static void start_entry(bulk_read_t *r, size_t k) {
  const entry_fields_t *f = &r->fields[k];
  ofctx__buf_t id = {0};
  ofctx_event_t ev = {0};
  ofctx_error_t err;
  ofctx_err_t rc;

  if (f->object) {
    if (f->id)
      ofctx__json_string_decode(&id, f->id, f->id_len);
    rc = id.failed ? OFCTX_ENOMEM : entry_event(r, k, f, &ev, &err);
  } else {
    rc = ofctx__error(&err, OFCTX_EINVAL, "an entry is not an object");
  }
  if (rc == OFCTX_OK) {
    ofctx__bulk_invoke(r->bulk, k, id.data, id.len, &ev);
  } else {
    ofctx__event_clear(&ev);
    if (rc != OFCTX_ENOMEM)
      ofctx__log(OFCTX_LOG_WARN, "bulk entry dropped", "input",
                 ofctx_component_name(ofctx_config_input_at(r->a->cfg, r->input)), "entry",
                 id.data ? id.data : "", "reason", err.message, (const char *)NULL);
    ofctx__bulk_settle(r->bulk, k, id.data, id.len,
                       rc == OFCTX_ENOMEM ? OFCTX__OUTCOME_RETRY : OFCTX__OUTCOME_DROP);
  }
  ofctx__buf_free(&id);
}

static void answer_bulk(void *arg, ofctx__bulk_t *bulk) {
  ofctx__http_request_t *req = arg;
  ofctx__buf_t text = {0};

  ofctx__buf_puts(&text, "{\"statuses\":[");
  for (size_t i = 0; i < ofctx__bulk_count(bulk); i++) {
    ofctx__outcome_t o = ofctx__bulk_outcome(bulk, i);
    const char *id = ofctx__bulk_id(bulk, i);
    ofctx__buf_puts(&text, i ? ",{\"entryId\":" : "{\"entryId\":");
    if (ofctx__buf_json_string(&text, id, strlen(id)) != 0)
      ofctx__buf_puts(&text, "\"\""); /* never: an id is decoded JSON, so UTF-8 */
    ofctx__buf_puts(&text, o == OFCTX__OUTCOME_SUCCESS ? ",\"status\":\"SUCCESS\"}"
                           : o == OFCTX__OUTCOME_DROP  ? ",\"status\":\"DROP\"}"
                                                       : ",\"status\":\"RETRY\"}");
  }
  ofctx__buf_puts(&text, "]}");
  ofctx__bulk_free(bulk);
  if (!text.failed)
    ofctx__http_respond_json(req, 200, text.data);
  else /* every entry is delivered again */
    ofctx__http_respond_json(req, 500, "{\"error\":\"out of memory\"}");
  ofctx__buf_free(&text);
}

/* Refuses a delivery whose entries are more than the subscription lets
 * Dapr send: nothing of it runs. */
static void too_many_entries(ofctx__async_t *a, ofctx__http_request_t *req, size_t i, size_t max) {
  char json[160];

  ofctx__log(OFCTX_LOG_WARN, "bulk delivery refused", "input",
             ofctx_component_name(ofctx_config_input_at(a->cfg, i)), "reason",
             "more entries than its bulkSubscribeMaxMessagesCount", (const char *)NULL);
  snprintf(
      json, sizeof json,
      "{\"error\":\"more than %zu entries: the subscription's bulkSubscribeMaxMessagesCount\"}",
      max);
  ofctx__http_respond_json(req, 413, json);
}

/* 1 when the body, valid JSON whose containers `map` holds, was a bulk
 * envelope (answered, now or later): "entries", Dapr's bulk "type", and no
 * "specversion" (which a CloudEvent, and only a CloudEvent, has). */
static int deliver_bulk(ofctx__async_t *a, ofctx__http_request_t *req, size_t i, const char *body,
                        size_t len, const ofctx__json_map_t *map) {
  bulk_read_t r = {.a = a, .req = req, .input = i, .map = map};
  const ofctx__http_header_t *headers;
  size_t n_headers;
  int rc;

  r.max = ofctx__bulk_max_entries(&a->in.bulks[i]);
  if (ofctx__json_members_in(map, body, len, find_entries, &r) != 0 || !r.entries || !r.bulk_type ||
      r.specversion)
    return 0;
  headers = ofctx__http_request_headers(req, &n_headers);
  rc = ofctx__json_elements_in(map, r.entries, r.entries_len, read_entry, &r);
  if (rc == ENTRY_TOO_MANY) {
    too_many_entries(a, req, i, r.max);
  } else if (rc == ENTRY_READ &&
             ofctx__http_request_hold(req, ofctx__bulk_cost(r.n) + r.cap * sizeof *r.fields) != 0) {
    ofctx__http_respond_json(req, 503, "{\"error\":\"the server holds too many messages\"}");
  } else if (rc != ENTRY_READ || !(r.bulk = ofctx__bulk_new(a->host, req, i, r.n, answer_bulk)) ||
             ofctx__bulk_share_metadata(r.bulk, headers, n_headers) != 0) {
    if (r.bulk)
      ofctx__bulk_free(r.bulk);
    ofctx__http_respond_json(req, 500, "{\"error\":\"out of memory\"}");
  } else {
    for (size_t k = 0; k < r.n; k++)
      start_entry(&r, k);
    ofctx__bulk_close(r.bulk);
  }
  ofctx__free(r.fields);
  return 1;
}

/* One pub/sub message, a CloudEvent in Dapr's envelope; `map` holds the
 * body's containers when it has been validated already, else NULL. */
static void deliver_message(ofctx__async_t *a, ofctx__http_request_t *req, size_t i,
                            const char *body, size_t len, const ofctx__json_map_t *map) {
  ofctx_event_t ev = {0};
  ofctx_error_t err;
  ofctx_err_t rc;

  ev.kind = OFCTX_EVENT_PUBSUB;
  ev.input = ofctx_component_name(ofctx_config_input_at(a->cfg, i));
  ev.input_index = i;
  rc = map ? ofctx__ce_from_valid_envelope(map, body, len, &ev, &err)
           : ofctx__ce_from_envelope(body, len, &ev, &err);
  if (rc == OFCTX_OK && ofctx__event_metadata_from_headers(&ev, req) != 0)
    rc = OFCTX_ENOMEM;
  if (rc != OFCTX_OK) {
    ofctx__event_clear(&ev);
    if (rc == OFCTX_ENOMEM) /* it may work next time */
      ofctx__http_respond_json(req, 200, "{\"status\":\"RETRY\"}");
    else
      drop_message(a, req, i, err.message);
    return;
  }
  if (ofctx__invoke(a->host, req, &ev, answer_pubsub) != 0)
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
}

static void deliver_pubsub(ofctx__async_t *a, ofctx__http_request_t *req, size_t i) {
  size_t len;
  const char *body = ofctx__http_request_body(req, &len);
  ofctx__json_map_t map = {0};

  /* On a bulk input the body is validated whole, once, its containers
   * mapped: the walks of a bulk's entries, or of a single message, read
   * each container once. */
  if (!a->in.bulks[i].enabled) {
    deliver_message(a, req, i, body, len, NULL);
  } else if (!ofctx__json_map(&map, body, len)) {
    deliver_message(a, req, i, body, len, NULL);
  } else if (!deliver_bulk(a, req, i, body, len, &map)) {
    deliver_message(a, req, i, body, len, &map);
  }
  ofctx__json_map_free(&map);
}

/* The subscription's bulkSubscribe; NULL when out of memory. */
static json_t *bulk_json(const ofctx__bulk_config_t *bulk) {
  json_t *o = json_pack("{s:b}", "enabled", 1);

  if (o && bulk->max_messages &&
      json_object_set_new(o, "maxMessagesCount", json_integer(bulk->max_messages)) != 0)
    goto out_free;
  if (o && bulk->max_await_ms &&
      json_object_set_new(o, "maxAwaitDurationMs", json_integer(bulk->max_await_ms)) != 0)
    goto out_free;
  return o;
out_free:
  json_decref(o);
  return NULL;
}

/* Pub/sub input `i`'s subscription, as Dapr reads it from /dapr/subscribe:
 * its metadata but the bulkSubscribe keys, which are the subscription's
 * own. NULL when out of memory. */
static json_t *subscription_json(const ofctx__async_t *a, size_t i) {
  const ofctx_component_t *in = ofctx_config_input_at(a->cfg, i);
  const ofctx_strmap_t *md = ofctx_component_metadata(in);
  json_t *metadata = json_object(), *sub;

  for (size_t k = 0; metadata && k < ofctx_strmap_count(md); k++)
    if (!ofctx__bulk_metadata_key(ofctx_strmap_key_at(md, k)) &&
        json_object_set_new(metadata, ofctx_strmap_key_at(md, k),
                            json_string(ofctx_strmap_value_at(md, k))) != 0) {
      json_decref(metadata);
      return NULL;
    }
  if (!metadata)
    return NULL;
  sub = json_pack("{s:s,s:s,s:s,s:o}", "pubsubname", ofctx_component_dapr_name(in), "topic",
                  ofctx_component_uri(in), "route", a->in.routes[i], "metadata", metadata);
  if (sub && a->in.bulks[i].enabled &&
      json_object_set_new(sub, "bulkSubscribe", bulk_json(&a->in.bulks[i])) != 0) {
    json_decref(sub);
    return NULL;
  }
  return sub;
}

/* GET /dapr/subscribe: one subscription per pub/sub input. */
static void subscriptions(ofctx__async_t *a, ofctx__http_request_t *req) {
  json_t *list = json_array();
  char *text = NULL;

  for (size_t i = 0; list && i < a->in.count; i++)
    if (ofctx_component_kind(ofctx_config_input_at(a->cfg, i)) == OFCTX_COMPONENT_PUBSUB &&
        json_array_append_new(list, subscription_json(a, i)) != 0)
      goto out_free;
  text = list ? ofctx__json_text(list, JSON_COMPACT) : NULL;
out_free:
  json_decref(list);
  if (!text) {
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
    return;
  }
  ofctx__http_respond_json(req, 200, text);
  ofctx__free(text);
}

static void method_not_allowed(ofctx__http_request_t *req, const char *allow) {
  ofctx__http_header_t headers[] = {{"Allow", allow}, {"Content-Type", "application/json"}};
  static const char body[] = "{\"error\":\"method not allowed\"}";
  ofctx__http_respond(req, 405, headers, 2, body, sizeof body - 1);
}

/* An input's route: Dapr's start-up probe of a binding, or a delivery. */
static void input_request(ofctx__async_t *a, ofctx__http_request_t *req, size_t i) {
  const char *method = ofctx__http_request_method(req);
  int binding = ofctx_component_kind(ofctx_config_input_at(a->cfg, i)) == OFCTX_COMPONENT_BINDING;

  if (binding && strcmp(method, "OPTIONS") == 0) {
    /* Dapr's start-up probe: 2xx means "deliver to me" */
    ofctx__http_header_t allow = {"Allow", "OPTIONS, POST"};
    ofctx__http_respond(req, 200, &allow, 1, NULL, 0);
  } else if (strcmp(method, "POST") != 0 && !(strcmp(method, "PUT") == 0 && binding)) {
    method_not_allowed(req, binding ? "OPTIONS, POST, PUT" : "POST");
  } else if (binding) {
    deliver_binding(a, req, i);
  } else {
    deliver_pubsub(a, req, i);
  }
}

static int async_route(void *state, ofctx__http_request_t *req) {
  ofctx__async_t *a = state;
  const char *path = ofctx__http_request_path(req);
  size_t i;

  if (strcmp(path, "/dapr/subscribe") == 0 || strcmp(path, "/dapr/config") == 0) {
    if (strcmp(ofctx__http_request_method(req), "GET") != 0)
      method_not_allowed(req, "GET");
    else if (strcmp(path, "/dapr/subscribe") == 0)
      subscriptions(a, req);
    else
      ofctx__http_respond_json(req, 200, "{}");
    return 1;
  }
  i = ofctx__async_inputs_at_route(&a->in, path);
  if (i == a->in.count)
    return 0;
  input_request(a, req, i);
  return 1;
}

const ofctx__mode_t ofctx__async_http_mode = {.name = "Async",
                                              .start = ofctx__async_start,
                                              .route = async_route,
                                              .describe = ofctx__async_describe,
                                              .stop = ofctx__async_stop};
