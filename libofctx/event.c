/* The event a function receives: payload, transport metadata, attributes. */
#include <string.h>
#include <strings.h>

#include "event.h"
#include "mem.h"

/* Headers that belong to the HTTP exchange itself (and gRPC's own, grpc-*),
 * not to the event. A name is told by its length first: most headers are
 * compared with none of them. */
static int transport_header(const char *name) {
#define NAME(s)                                                                                    \
  { s, sizeof s - 1 }
  static const struct {
    const char *name;
    size_t len;
  } names[] = {NAME("host"),       NAME("content-type"),    NAME("content-length"),
               NAME("connection"), NAME("keep-alive"),      NAME("transfer-encoding"),
               NAME("te"),         NAME("trailer"),         NAME("upgrade"),
               NAME("expect"),     NAME("accept-encoding"), NAME("user-agent"),
               NAME("accept"),     NAME("dapr-api-token")};
#undef NAME
  size_t len = strlen(name);

  if (strncasecmp(name, "grpc-", 5) == 0)
    return 1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].len == len && strcasecmp(name, names[i].name) == 0)
      return 1;
  return 0;
}

int ofctx__event_metadata_add(ofctx_event_t *ev, const ofctx__http_header_t *headers, size_t n,
                              int headers_of_transport) {
  size_t need = ev->metadata_count + n + 1;

  if (need > ev->metadata_cap) {
    /* grown by doubling: a mode may add a map's entries one by one */
    size_t cap = ev->metadata_cap * 2 > need ? ev->metadata_cap * 2 : need + 7;
    ofctx__http_header_t *more = ofctx__realloc(ev->metadata, cap * sizeof *ev->metadata);
    if (!more)
      return -1;
    ev->metadata = more;
    ev->metadata_cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    if (!headers_of_transport || !transport_header(headers[i].name))
      ev->metadata[ev->metadata_count++] = headers[i];
  }
  return 0;
}

int ofctx__event_metadata_from_headers(ofctx_event_t *ev, const ofctx__http_request_t *req) {
  size_t n;
  const ofctx__http_header_t *headers = ofctx__http_request_headers(req, &n);

  return ofctx__event_metadata_add(ev, headers, n, 1);
}

void ofctx__event_clear(ofctx_event_t *ev) {
  ofctx__free(ev->owned);
  ofctx__free(ev->metadata);
  ofctx__free(ev->owned_type);
  json_decref(ev->attributes);
  json_decref(ev->params);
  json_decref(ev->query);
  ev->owned = NULL;
  ev->metadata = NULL;
  ev->metadata_count = ev->metadata_cap = 0;
  ev->shared_metadata = NULL;
  ev->shared_count = 0;
  ev->attributes = NULL;
  ev->envelope = NULL;
  ev->owned_type = NULL;
  ev->params = NULL;
  ev->query = NULL;
  ev->req = NULL;
  ev->data = "";
  ev->len = 0;
  ev->content_type = NULL;
}

ofctx_event_kind_t ofctx_event_kind(const ofctx_event_t *ev) { return ev->kind; }
const char *ofctx_event_input(const ofctx_event_t *ev) { return ev->input; }

const char *ofctx_event_data(const ofctx_event_t *ev, size_t *len) {
  if (len)
    *len = ev->len;
  return ev->data;
}

const char *ofctx_event_content_type(const ofctx_event_t *ev) { return ev->content_type; }

/* Entry `i` of the event's own metadata followed by the shared; NULL past
 * the end. */
static const ofctx__http_header_t *metadata_at(const ofctx_event_t *ev, size_t i) {
  if (i < ev->metadata_count)
    return &ev->metadata[i];
  i -= ev->metadata_count;
  return i < ev->shared_count ? &ev->shared_metadata[i] : NULL;
}

const char *ofctx_event_metadata(const ofctx_event_t *ev, const char *key) {
  const ofctx__http_header_t *h;

  for (size_t i = 0; key && (h = metadata_at(ev, i)) != NULL; i++)
    if (strcasecmp(h->name, key) == 0)
      return h->value;
  return NULL;
}

size_t ofctx_event_metadata_count(const ofctx_event_t *ev) {
  return ev->metadata_count + ev->shared_count;
}

const char *ofctx_event_metadata_key(const ofctx_event_t *ev, size_t i) {
  const ofctx__http_header_t *h = metadata_at(ev, i);
  return h ? h->name : NULL;
}

const char *ofctx_event_metadata_value(const ofctx_event_t *ev, size_t i) {
  const ofctx__http_header_t *h = metadata_at(ev, i);
  return h ? h->value : NULL;
}

/* ---- the HTTP request of a Knative event ---- */

const char *ofctx_event_method(const ofctx_event_t *ev) {
  return ev->req ? ofctx__http_request_method(ev->req) : NULL;
}

const char *ofctx_event_path(const ofctx_event_t *ev) {
  return ev->req ? ofctx__http_request_path(ev->req) : NULL;
}

const char *ofctx_event_query(const ofctx_event_t *ev) {
  return ev->req ? ofctx__http_request_query(ev->req) : NULL;
}

const char *ofctx_event_query_param(const ofctx_event_t *ev, const char *name) {
  return name ? json_string_value(json_object_get(ev->query, name)) : NULL;
}

const char *ofctx_event_param(const ofctx_event_t *ev, const char *name) {
  return name ? json_string_value(json_object_get(ev->params, name)) : NULL;
}

const char *ofctx_event_header(const ofctx_event_t *ev, const char *name) {
  return ev->req && name ? ofctx__http_request_header(ev->req, name) : NULL;
}

static const ofctx__http_header_t *header_list(const ofctx_event_t *ev, size_t *n) {
  *n = 0;
  return ev->req ? ofctx__http_request_headers(ev->req, n) : NULL;
}

size_t ofctx_event_header_count(const ofctx_event_t *ev) {
  size_t n;
  header_list(ev, &n);
  return n;
}

const char *ofctx_event_header_name(const ofctx_event_t *ev, size_t i) {
  size_t n;
  const ofctx__http_header_t *h = header_list(ev, &n);
  return i < n ? h[i].name : NULL;
}

const char *ofctx_event_header_value(const ofctx_event_t *ev, size_t i) {
  size_t n;
  const ofctx__http_header_t *h = header_list(ev, &n);
  return i < n ? h[i].value : NULL;
}
