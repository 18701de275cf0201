/* The direct mode's sends, as the component would make them under Dapr:
 * a bindings.http output's request (the operation is the method, create
 * POST; the component's `url` the address, with the `path` metadata
 * appended; the other metadata entries headers), a bindings.kafka output's
 * record (to its publishTopic; the `partitionKey` or `__key` metadata the
 * key, the other entries headers). */
#include "direct_sink.h"

#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dapr_envelope.h"
#include "dapr_http_client.h"
#include "kafka_producer.h"
#include "mem.h"

typedef struct {
  ofctx__sink_t base;
  uv_loop_t *loop;
  const ofctx__comps_t *comps;
  const ofctx__retry_policy_t *policy;
  const char *app_id;                  /* a publish's CloudEvent source */
  ofctx__dapr_http_client_t **clients; /* per HTTP output, made at its first send */
  ofctx__kafka_producer_t **producers; /* per Kafka output, the same */
  int closed;
} direct_sink_t;

typedef struct {
  ofctx__sink_done_fn done;
  void *arg;
} call_t;

/* The operations of Dapr's HTTP binding that libofctx makes. */
static const char *method_of(const char *operation) {
  static const char *const ops[][2] = {{"create", "POST"}, {"post", "POST"},
                                       {"get", "GET"},     {"put", "PUT"},
                                       {"patch", "PATCH"}, {"delete", "DELETE"}};

  for (size_t i = 0; operation && i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(operation, ops[i][0]) == 0)
      return ops[i][1];
  return NULL;
}

static void call_done(void *arg, const ofctx__dapr_result_t *r) {
  call_t *call = arg;
  ofctx__sink_result_t res = {.ok = r->ok,
                              .status = r->status,
                              .grpc_status = -1,
                              .attempts = r->attempts,
                              .error = r->ok ? NULL : r->error};

  call->done(call->arg, &res);
  ofctx__free(call);
}

/* Text that can stand in a header line. */
static int header_ok(const char *s) { return !strpbrk(s, "\r\n"); }

/* The header lines of `req` into `b` (NUL-separated) and `lines` (count
 * given by `*n`), the `path` entry into `*path`, a Content-Type entry into
 * `*type`: OFCTX_OK, OFCTX_EINVAL (a name or value that cannot be a
 * header), OFCTX_ENOMEM. */
static ofctx_err_t put_headers(const ofctx__send_request_t *req, ofctx__buf_t *b, size_t *at,
                               size_t *n, size_t max, const char **path, const char **type) {
  size_t md = req->metadata ? ofctx_strmap_count(req->metadata) : 0;
  const char *trace[3][2] = {{"traceparent", req->traceparent},
                             {"tracestate", req->tracestate},
                             {"baggage", req->baggage}};

  for (size_t i = 0;; i++) {
    const char *key, *value;
    if (i < md) {
      key = ofctx_strmap_key_at(req->metadata, i);
      value = ofctx_strmap_value_at(req->metadata, i);
    } else if (req->extra && req->extra[2 * (i - md)]) {
      key = req->extra[2 * (i - md)];
      value = req->extra[2 * (i - md) + 1];
    } else {
      break;
    }
    if (strcmp(key, "path") == 0) {
      *path = value;
      continue;
    }
    if (!*key || !header_ok(key) || strchr(key, ':') || !header_ok(value))
      return OFCTX_EINVAL;
    if (strcasecmp(key, "Content-Type") == 0) {
      *type = value;
      continue;
    }
    if (*n + 1 >= max)
      return OFCTX_EINVAL;
    at[(*n)++] = b->len;
    ofctx__buf_printf(b, "%s: %s", key, value);
    ofctx__buf_append(b, "", 1);
  }
  for (size_t i = 0; i < 3; i++)
    if (trace[i][1] && *n + 1 < max) {
      at[(*n)++] = b->len;
      ofctx__buf_printf(b, "%s: %s", trace[i][0], trace[i][1]);
      ofctx__buf_append(b, "", 1);
    }
  return b->failed ? OFCTX_ENOMEM : OFCTX_OK;
}

/* The component's url split into the client's base (scheme and authority)
 * and the path; `path` metadata appended after one slash, as Dapr's binding
 * does. -1 for a path Dapr would not send either: one with "..", which its
 * binding refuses (no way out of the url's path), or a control character,
 * which Go's URL parser refuses. A space goes as %20, as Go escapes it
 * (curl refuses a URL with one: such a send could never succeed). */
static int url_parts(const char *url, const char *path, ofctx__buf_t *base, ofctx__buf_t *tail) {
  const char *slash = strchr(url + 7, '/'); /* past "http://" */
  size_t base_len = slash ? (size_t)(slash - url) : strlen(url);

  ofctx__buf_append(base, url, base_len);
  ofctx__buf_puts(tail, slash ? slash : "/");
  if (path && *path) {
    if (strstr(url, "..") || strstr(path, ".."))
      return -1;
    while (tail->len > 0 && tail->data[tail->len - 1] == '/')
      tail->data[--tail->len] = '\0';
    while (*path == '/')
      path++;
    ofctx__buf_puts(tail, "/");
    for (; *path; path++) {
      if ((unsigned char)*path < 0x20 || *path == 0x7f)
        return -1;
      if (*path == ' ')
        ofctx__buf_puts(tail, "%20");
      else
        ofctx__buf_append(tail, path, 1);
    }
  }
  return 0;
}

#define MAX_HEADERS 64

static void record_done(void *arg, int ok, const char *error) {
  call_t *call = arg;
  ofctx__sink_result_t res = {
      .ok = ok, .status = 0, .grpc_status = -1, .attempts = 1, .error = ok ? NULL : error};

  call->done(call->arg, &res);
  ofctx__free(call);
}

/* The metadata of `req` as a record's key and headers (name, value, ...,
 * NULL in `out`, room for `max` pairs); a publish's rawPayload into `*raw`:
 * OFCTX_OK, or OFCTX_EINVAL when there are more, or a publish names what
 * the sidecar would read and the direct mode does not yet (cloudevent.*,
 * ttlInSeconds). */
static ofctx_err_t record_headers(const ofctx__send_request_t *req, const char **out, size_t max,
                                  const char **key, int *raw) {
  size_t md = req->metadata ? ofctx_strmap_count(req->metadata) : 0, n = 0;

  for (size_t i = 0;; i++) {
    const char *k, *v;
    if (i < md) {
      k = ofctx_strmap_key_at(req->metadata, i);
      v = ofctx_strmap_value_at(req->metadata, i);
    } else if (req->extra && req->extra[2 * (i - md)]) {
      k = req->extra[2 * (i - md)];
      v = req->extra[2 * (i - md) + 1];
    } else {
      break;
    }
    if (strcmp(k, "partitionKey") == 0 || strcmp(k, "__key") == 0) {
      *key = v;
      continue;
    }
    if (req->kind == OFCTX__SEND_PUBLISH && strcmp(k, "rawPayload") == 0) {
      if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return OFCTX_EINVAL;
      *raw = strcmp(v, "true") == 0;
      continue;
    }
    if (req->kind == OFCTX__SEND_PUBLISH &&
        (strncmp(k, "cloudevent.", 11) == 0 || strcmp(k, "ttlInSeconds") == 0))
      return OFCTX_EINVAL;
    if (n + 1 >= max)
      return OFCTX_EINVAL;
    out[2 * n] = k;
    out[2 * n + 1] = v;
    n++;
  }
  out[2 * n] = NULL;
  return OFCTX_OK;
}

/* A send to a bindings.kafka output (a record to its publishTopic) or a
 * publish to a pubsub.kafka one (the CloudEvent the sidecar would make, or
 * with rawPayload the data itself, to the publish's topic). */
static ofctx_err_t kafka_start(direct_sink_t *s, size_t slot, const ofctx__send_request_t *req,
                               ofctx__sink_done_fn done, void *arg) {
  const ofctx__comp_t *comp = s->comps->outputs[slot];
  const char *headers[2 * MAX_HEADERS + 1], *key = NULL;
  ofctx__kafka_producer_t **p = &s->producers[slot];
  int publish = comp->type_id == OFCTX__COMP_KAFKA_PUBSUB, raw = 0;
  ofctx__buf_t envelope = {0};
  call_t *call;
  ofctx_err_t rc;

  if (req->kind != (publish ? OFCTX__SEND_PUBLISH : OFCTX__SEND_BINDING))
    return OFCTX_ESEND; /* a bulk publish, or a send of the other kind */
  if (!publish && (!req->operation || strcmp(req->operation, "create") != 0))
    return OFCTX_EINVAL; /* Dapr's Kafka binding makes no other */
  if (record_headers(req, headers, MAX_HEADERS, &key, &raw) != OFCTX_OK)
    return OFCTX_EINVAL;
  if (publish && !raw) {
    ofctx__envelope_t e = {.pubsub = comp->name,
                           .topic = req->topic,
                           .source = s->app_id,
                           .content_type = req->content_type,
                           .data = req->data,
                           .len = req->len,
                           .traceparent = req->traceparent,
                           .tracestate = req->tracestate};
    rc = ofctx__dapr_envelope(&envelope, &e);
    if (rc != OFCTX_OK) {
      ofctx__buf_free(&envelope);
      return rc;
    }
  }
  if (!*p &&
      (rc = ofctx__kafka_producer_new(p, s->loop, comp, s->policy->timeout_ms)) != OFCTX_OK) {
    ofctx__buf_free(&envelope);
    return rc;
  }
  call = ofctx__calloc(1, sizeof *call);
  if (!call) {
    ofctx__buf_free(&envelope);
    return OFCTX_ENOMEM;
  }
  call->done = done;
  call->arg = arg;
  rc = ofctx__kafka_produce(*p, publish ? req->topic : ofctx__comp_value(comp, "publishTopic"), key,
                            headers, envelope.data ? envelope.data : req->data,
                            envelope.data ? envelope.len : req->len, record_done, call);
  if (rc != OFCTX_OK)
    ofctx__free(call);
  ofctx__buf_free(&envelope); /* the producer copied it */
  return rc;
}

/* The output a send goes to: its slot, or for ofctx_invoke_binding and
 * ofctx_publish (a component by name) the first output of that component;
 * the output count when the context names none. */
static size_t slot_of(const direct_sink_t *s, const ofctx__send_request_t *req) {
  size_t k = 0;

  if (req->slot < s->comps->output_count)
    return req->slot;
  while (k < s->comps->output_count && strcmp(s->comps->outputs[k]->name, req->component) != 0)
    k++;
  return k;
}

static ofctx_err_t direct_start(ofctx__sink_t *base_sink, const ofctx__send_request_t *req,
                                ofctx__sink_done_fn done, void *arg) {
  direct_sink_t *s = (direct_sink_t *)base_sink;
  size_t slot;
  const ofctx__comp_t *comp;
  const char *method, *path = NULL, *type = NULL;
  const char *lines[MAX_HEADERS + 1];
  size_t at[MAX_HEADERS], n = 0;
  ofctx__buf_t headers = {0}, url_base = {0}, tail = {0};
  call_t *call;
  ofctx_err_t rc;

  if (s->closed || (slot = slot_of(s, req)) >= s->comps->output_count)
    return OFCTX_ESEND; /* no component the context does not name */
  comp = s->comps->outputs[slot];
  if (comp->type_id != OFCTX__COMP_HTTP_BINDING)
    return kafka_start(s, slot, req, done, arg);
  if (req->kind != OFCTX__SEND_BINDING)
    return OFCTX_ESEND;
  method = method_of(req->operation);
  if (!method)
    return OFCTX_EINVAL;
  rc = put_headers(req, &headers, at, &n, MAX_HEADERS, &path, &type);
  /* the caller's type is a header line too */
  if (rc == OFCTX_OK && ((req->content_type && !header_ok(req->content_type)) ||
                         url_parts(ofctx__comp_value(comp, "url"), path, &url_base, &tail) != 0))
    rc = OFCTX_EINVAL;
  call = ofctx__calloc(1, sizeof *call);
  if (rc == OFCTX_OK && (url_base.failed || tail.failed || !call))
    rc = OFCTX_ENOMEM;
  if (rc == OFCTX_OK && !s->clients[slot] &&
      ofctx__http_client_new(&s->clients[slot], s->loop, url_base.data, NULL, s->policy) !=
          OFCTX_OK)
    rc = OFCTX_ESEND;
  if (rc == OFCTX_OK) {
    for (size_t i = 0; i < n; i++) /* the buffer is complete: pointers last */
      lines[i] = headers.data + at[i];
    lines[n] = NULL;
    call->done = done;
    call->arg = arg;
    /* as Dapr's binding: JSON unless the caller or the metadata says */
    rc = ofctx__dapr_call(s->clients[slot], method, tail.data,
                          type                ? type
                          : req->content_type ? req->content_type
                                              : "application/json; charset=utf-8",
                          lines, req->data, req->len, s->policy, call_done, call);
  }
  if (rc != OFCTX_OK)
    ofctx__free(call);
  ofctx__buf_free(&headers);
  ofctx__buf_free(&url_base);
  ofctx__buf_free(&tail);
  return rc;
}

static void direct_close(ofctx__sink_t *base_sink) {
  direct_sink_t *s = (direct_sink_t *)base_sink;

  s->closed = 1;
  for (size_t i = 0; i < s->comps->output_count; i++) {
    if (s->clients[i])
      ofctx__dapr_http_client_close(s->clients[i], NULL, NULL);
    ofctx__kafka_producer_close(s->producers[i]);
    s->clients[i] = NULL;
    s->producers[i] = NULL;
  }
}

static void direct_free(ofctx__sink_t *base_sink) {
  direct_sink_t *s = (direct_sink_t *)base_sink;

  direct_close(base_sink);
  ofctx__free(s->clients);
  ofctx__free(s->producers);
  ofctx__free(s);
}

ofctx__sink_t *ofctx__direct_sink_new(uv_loop_t *loop, const ofctx__comps_t *comps,
                                      const ofctx__retry_policy_t *policy, const char *app_id) {
  direct_sink_t *s = ofctx__calloc(1, sizeof *s);

  if (!s || !(s->clients = ofctx__calloc(comps->output_count + 1, sizeof *s->clients)) ||
      !(s->producers = ofctx__calloc(comps->output_count + 1, sizeof *s->producers))) {
    if (s)
      ofctx__free(s->clients);
    ofctx__free(s);
    return NULL;
  }
  s->base.start = direct_start;
  s->base.free = direct_free;
  s->base.close = direct_close;
  s->loop = loop;
  s->comps = comps;
  s->policy = policy;
  s->app_id = app_id;
  return &s->base;
}
