/* Dapr HTTP API bodies and paths for sends. */
#include <string.h>

#include <jansson.h>

#include "dapr_http_body.h"
#include "json_scan.h"
#include "json_util.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"

/* Whether jansson's refusal of these came from the text rather than from
 * memory: a missing value, or a string with what Dapr should not get. */
static int tail_text_bad(const char *operation, const char *const *extra) {
  int bad = !ofctx__text_ok(operation);

  for (const char *const *kv = extra; !bad && kv && kv[0]; kv += 2)
    bad = !kv[1] || !ofctx__text_ok(kv[0]) || !ofctx__text_ok(kv[1]);
  return bad;
}

char *ofctx__dapr_binding_tail(const ofctx__send_request_t *req, ofctx_err_t *rc) {
  json_t *metadata = json_object(), *tail = json_object();
  char *text = NULL;
  int failed =
      !metadata || !tail || json_object_set_new(tail, "operation", json_string(req->operation));

  for (size_t i = 0; !failed && i < ofctx_strmap_count(req->metadata); i++)
    failed = json_object_set_new(metadata, ofctx_strmap_key_at(req->metadata, i),
                                 json_string(ofctx_strmap_value_at(req->metadata, i)));
  for (const char *const *kv = req->extra; !failed && kv && kv[0]; kv += 2)
    failed = json_object_set_new(metadata, kv[0], kv[1] ? json_string(kv[1]) : NULL);
  if (!failed && json_object_set(tail, "metadata", metadata) == 0)
    text = ofctx__json_text(tail, JSON_COMPACT);
  if (text)
    text[0] = ',';
  *rc = text ? OFCTX_OK : tail_text_bad(req->operation, req->extra) ? OFCTX_EINVAL : OFCTX_ENOMEM;
  json_decref(tail);
  json_decref(metadata);
  return text;
}

ofctx_err_t ofctx__dapr_binding_body(ofctx__buf_t *body, const ofctx__send_request_t *req,
                                     const char *tail) {
  ofctx__buf_puts(body, "{\"data\":");
  /* JSON is embedded as JSON; a caller who says so is taken at its word */
  if (req->content_type ? ofctx__json_media(req->content_type)
                        : ofctx__json_valid(req->data, req->len))
    ofctx__buf_append(body, req->data, req->len);
  else if (ofctx__buf_json_string(body, req->data, req->len) != 0)
    return OFCTX_EINVAL; /* not UTF-8 text: Dapr's HTTP API has no way to carry it */
  ofctx__buf_puts(body, tail);
  return body->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* One "?metadata.<key>=<value>" (then "&...") query parameter, encoded. */
static void metadata_param(ofctx__buf_t *path, char *sep, const char *key, const char *value) {
  ofctx__buf_append(path, sep, 1);
  ofctx__buf_puts(path, "metadata.");
  ofctx__buf_encoded(path, key, OFCTX__ENCODE_COMPONENT);
  ofctx__buf_puts(path, "=");
  ofctx__buf_encoded(path, value, OFCTX__ENCODE_COMPONENT);
  *sep = '&';
}

ofctx_err_t ofctx__dapr_path(ofctx__buf_t *path, const ofctx__send_request_t *req) {
  char sep = '?';

  if (req->kind == OFCTX__SEND_BINDING) {
    ofctx__buf_puts(path, "/v1.0/bindings/");
    ofctx__buf_puts(path, req->component);
    return path->failed ? OFCTX_ENOMEM : OFCTX_OK;
  }
  ofctx__buf_puts(path,
                  req->kind == OFCTX__SEND_PUBLISH_BULK ? "/v1.0/publish/bulk/" : "/v1.0/publish/");
  ofctx__buf_puts(path, req->component);
  ofctx__buf_puts(path, "/");
  ofctx__buf_encoded(path, req->topic, OFCTX__ENCODE_PATH);
  for (size_t i = 0; i < ofctx_strmap_count(req->metadata); i++)
    metadata_param(path, &sep, ofctx_strmap_key_at(req->metadata, i),
                   ofctx_strmap_value_at(req->metadata, i));
  for (const char *const *kv = req->extra; kv && kv[0]; kv += 2) {
    if (!kv[1])
      return OFCTX_EINVAL;
    metadata_param(path, &sep, kv[0], kv[1]);
  }
  return path->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* `s` as a JSON string; 0, or -1 when it is not text. */
static int put_text(ofctx__buf_t *b, const char *s) {
  return ofctx__text_ok(s) ? ofctx__buf_json_string(b, s, strlen(s)) : -1;
}

ofctx_err_t ofctx__dapr_bulk_body(ofctx__buf_t *body, const ofctx__send_request_t *req) {
  for (size_t i = 0; i < req->entry_count; i++) {
    const ofctx_bulk_entry_t *e = &req->entries[i];
    const char *type = e->content_type;
    int bad = 0;

    ofctx__buf_puts(body, i ? ",{\"entryId\":" : "[{\"entryId\":");
    bad |= put_text(body, e->entry_id);
    ofctx__buf_puts(body, ",\"event\":");
    if (ofctx__json_media(type)) { /* JSON goes as JSON, and must be JSON */
      bad |= !ofctx__json_valid(e->data, e->len);
      ofctx__buf_append(body, e->data, e->len);
    } else {
      bad |= ofctx__buf_json_string(body, e->data, e->len);
    }
    ofctx__buf_puts(body, ",\"contentType\":");
    bad |= put_text(body, type);
    ofctx__buf_puts(body, ",\"metadata\":{");
    for (const char *const *kv = e->metadata; kv && kv[0]; kv += 2) {
      ofctx__buf_puts(body, kv == e->metadata ? "" : ",");
      bad |= !kv[1] || put_text(body, kv[0]) != 0;
      ofctx__buf_puts(body, ":");
      bad |= !kv[1] || put_text(body, kv[1]) != 0;
    }
    ofctx__buf_puts(body, "}}");
    if (bad)
      return OFCTX_EINVAL;
  }
  ofctx__buf_puts(body, "]");
  return body->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* ---- state ---- */

/* "?name=value" (then "&..."), encoded. */
static void query_param(ofctx__buf_t *path, char *sep, const char *name, const char *value) {
  ofctx__buf_append(path, sep, 1);
  ofctx__buf_puts(path, name);
  ofctx__buf_puts(path, "=");
  ofctx__buf_encoded(path, value, OFCTX__ENCODE_COMPONENT);
  *sep = '&';
}

ofctx_err_t ofctx__dapr_state_path(ofctx__buf_t *path, const ofctx__state_request_t *req) {
  char sep = '?';

  ofctx__buf_puts(path, "/v1.0/state/");
  ofctx__buf_encoded(path, req->store, OFCTX__ENCODE_COMPONENT);
  if (req->op != OFCTX__STATE_SET) {
    ofctx__buf_puts(path, "/");
    ofctx__buf_encoded(path, req->key, OFCTX__ENCODE_COMPONENT);
    if (req->consistency)
      query_param(path, &sep, "consistency", req->consistency);
    if (req->op == OFCTX__STATE_DELETE && req->concurrency)
      query_param(path, &sep, "concurrency", req->concurrency);
    for (const char *const *kv = req->metadata; kv && kv[0]; kv += 2)
      metadata_param(path, &sep, kv[0], kv[1]);
  }
  return path->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* `<sep>"name":"value"` when `value` is set. */
static void member(ofctx__buf_t *b, const char *sep, const char *name, const char *value) {
  if (!value)
    return;
  ofctx__buf_puts(b, sep);
  ofctx__buf_puts(b, "\"");
  ofctx__buf_puts(b, name);
  ofctx__buf_puts(b, "\":");
  put_text(b, value); /* state.c has checked it */
}

ofctx_err_t ofctx__dapr_state_body(ofctx__buf_t *body, const ofctx__state_request_t *req) {
  ofctx__buf_puts(body, "[{\"key\":");
  put_text(body, req->key);
  ofctx__buf_puts(body, ",\"value\":");
  ofctx__buf_append(body, req->value, req->len);
  member(body, ",", "etag", req->etag);
  if (req->metadata) {
    for (const char *const *kv = req->metadata; kv[0]; kv += 2) {
      ofctx__buf_puts(body, kv == req->metadata ? ",\"metadata\":{" : ",");
      put_text(body, kv[0]);
      ofctx__buf_puts(body, ":");
      put_text(body, kv[1]);
    }
    if (req->metadata[0])
      ofctx__buf_puts(body, "}");
  }
  if (req->concurrency || req->consistency) {
    ofctx__buf_puts(body, ",\"options\":{");
    member(body, "", "concurrency", req->concurrency);
    member(body, req->concurrency ? "," : "", "consistency", req->consistency);
    ofctx__buf_puts(body, "}");
  }
  ofctx__buf_puts(body, "}]");
  return body->failed ? OFCTX_ENOMEM : OFCTX_OK;
}
