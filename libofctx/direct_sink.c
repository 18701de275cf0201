/* The direct mode's sends, as the component would make them under Dapr:
 * a bindings.http output's request (the operation is the method, create
 * POST; the component's `url` the address, with the `path` metadata
 * appended; the metadata whose key starts with an upper-case letter
 * headers, and the trace), a bindings.kafka output's record (to its
 * publishTopic; every metadata entry a header, the `partitionKey` or
 * `__key` one the key too, and the trace), a pubsub.kafka output's publish
 * (the sidecar's envelope, its cloudevent.* and ttlInSeconds metadata read)
 * and bulk publish (a record per entry). */
#include "direct_sink.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dapr_envelope.h"
#include "dapr_http_client.h"
#include "error_msg.h"
#include "json_scan.h"
#include "kafka_producer.h"
#include "log.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"

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

/* ---- metadata ---- */

/* A send's metadata: the output's (or NULL), then two lists (key, value,
 * ..., NULL; or NULL), read as one map as Dapr has it: of two entries with
 * one key, the later (the call's over the output's; for a bulk entry's
 * headers the call's over the entry's, as Dapr's Kafka component merges
 * them). */
typedef struct {
  const ofctx_strmap_t *map;
  const char *const *lists[2];
} md_t;

/* Entry `i` of `m` with its key and value: 1, or 0 past the last. */
static int md_at(const md_t *m, size_t i, const char **k, const char **v) {
  size_t n = m->map ? ofctx_strmap_count(m->map) : 0;

  if (i < n) {
    *k = ofctx_strmap_key_at(m->map, i);
    *v = ofctx_strmap_value_at(m->map, i);
    return 1;
  }
  i -= n;
  for (int l = 0; l < 2; l++) {
    for (n = 0; m->lists[l] && m->lists[l][2 * n]; n++)
      ;
    if (i < n) {
      *k = m->lists[l][2 * i];
      *v = m->lists[l][2 * i + 1];
      return 1;
    }
    i -= n;
  }
  return 0;
}

/* Whether an entry after entry `i` of `m` has the key `key`. */
static int overridden(const md_t *m, size_t i, const char *key) {
  const char *k, *v;

  while (md_at(m, ++i, &k, &v))
    if (strcmp(k, key) == 0)
      return 1;
  return 0;
}

/* ---- bindings.http ---- */

/* The operations of Dapr's HTTP binding that libofctx makes, in any case
 * (Dapr upper-cases the operation). */
static const char *method_of(const char *operation) {
  static const char *const ops[][2] = {{"create", "POST"}, {"post", "POST"},
                                       {"get", "GET"},     {"put", "PUT"},
                                       {"patch", "PATCH"}, {"delete", "DELETE"}};

  for (size_t i = 0; operation && i < sizeof ops / sizeof ops[0]; i++)
    if (strcasecmp(operation, ops[i][0]) == 0)
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

#define MAX_HEADERS 64

/* A request's headers as Go's http.Header holds them: one value per
 * canonical name, a later Set over an earlier one. */
typedef struct {
  char *name[MAX_HEADERS];
  const char *value[MAX_HEADERS];
  size_t n;
} header_set_t;

/* A byte of an HTTP token (RFC 9110), which a header name is made of. */
static int token_byte(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Sets header `key` (in Go's canonical form: the first letter and each
 * after a hyphen upper case, the others lower) to `value`: OFCTX_OK,
 * OFCTX_EINVAL (a name that is not a token, a value with a control
 * character but tab: Go's client refuses to send them; more than
 * MAX_HEADERS), OFCTX_ENOMEM. */
static ofctx_err_t header_set(header_set_t *h, const char *key, const char *value) {
  char *name;
  int upper = 1;

  if (!*key)
    return OFCTX_EINVAL;
  for (const char *p = key; *p; p++)
    if (!token_byte((unsigned char)*p))
      return OFCTX_EINVAL;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return OFCTX_EINVAL;
  if (!(name = ofctx__strdup(key)))
    return OFCTX_ENOMEM;
  for (char *p = name; *p; p++) {
    if (*p >= 'a' && *p <= 'z' && upper)
      *p = (char)(*p - 'a' + 'A');
    else if (*p >= 'A' && *p <= 'Z' && !upper)
      *p = (char)(*p - 'A' + 'a');
    upper = *p == '-';
  }
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->name[i], name) == 0) {
      ofctx__free(name);
      h->value[i] = value;
      return OFCTX_OK;
    }
  if (h->n == MAX_HEADERS) {
    ofctx__free(name);
    return OFCTX_EINVAL;
  }
  h->name[h->n] = name;
  h->value[h->n++] = value;
  return OFCTX_OK;
}

static void header_set_free(header_set_t *h) {
  for (size_t i = 0; i < h->n; i++)
    ofctx__free(h->name[i]);
}

/* Headers Go's client writes itself, whatever the request's Header says. */
static int go_writes(const char *name) {
  static const char *const own[] = {"Host", "Content-Length", "Transfer-Encoding", "Trailer"};

  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (strcmp(name, own[i]) == 0)
      return 1;
  return 0;
}

/* Go's strings of truth (dapr/kit's IsTruthy), any case, spaces around. */
static int truthy(const char *v) {
  static const char *const yes[] = {"y", "yes", "true", "t", "on", "1"};
  size_t len;

  while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
    v++;
  for (len = strlen(v); len && strchr(" \t\n\r", v[len - 1]); len--)
    ;
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (strlen(yes[i]) == len && strncasecmp(v, yes[i], len) == 0)
      return 1;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The headers of `req`'s request (`body`: a method with one), as Dapr's
 * HTTP binding sets them: Content-Type (with a body) and Accept by
 * default; then each metadata entry whose key starts with an upper-case
 * letter; then the `traceparent` and `tracestate` entries when not empty,
 * which daprd sets to the send's trace with tracing on. Each "Name: value"
 * line, sorted by name as Go writes them, into `b` (NUL-separated, their
 * offsets in `at`, `*n` of them); the `path` entry into `*path`. A
 * lower-case key is no header (Dapr's binding reads `path`, the trace and
 * `errorIfNot2XX`, which must be true here). OFCTX_OK, OFCTX_EINVAL,
 * OFCTX_ENOMEM. */
static ofctx_err_t put_headers(const ofctx__send_request_t *req, int body, ofctx__buf_t *b,
                               size_t *at, size_t *n, const char **path) {
  const md_t m = {.map = req->metadata, .lists = {req->extra, NULL}};
  const char *k, *v, *tp = NULL, *ts = NULL, *sorted[MAX_HEADERS];
  header_set_t h = {0};
  ofctx_err_t rc = OFCTX_OK;

  if (body)
    rc = header_set(&h, "Content-Type", "application/json; charset=utf-8");
  if (rc == OFCTX_OK)
    rc = header_set(&h, "Accept", "application/json; charset=utf-8");
  for (size_t i = 0; rc == OFCTX_OK && md_at(&m, i, &k, &v); i++) {
    if (!v)
      rc = OFCTX_EINVAL;
    else if (overridden(&m, i, k))
      continue;
    else if (strcmp(k, "path") == 0)
      *path = v;
    else if (strcmp(k, "traceparent") == 0)
      tp = v;
    else if (strcmp(k, "tracestate") == 0)
      ts = v;
    else if (strcmp(k, "errorIfNot2XX") == 0 && *v && !truthy(v))
      rc = OFCTX_EINVAL; /* an answer that is not 2xx always fails the send here */
    else if (*k >= 'A' && *k <= 'Z')
      rc = header_set(&h, k, v);
  }
  if (req->traceparent && *req->traceparent)
    tp = req->traceparent;
  if (req->tracestate && *req->tracestate)
    ts = req->tracestate;
  if (rc == OFCTX_OK && tp && *tp)
    rc = header_set(&h, "traceparent", tp);
  if (rc == OFCTX_OK && ts && *ts)
    rc = header_set(&h, "tracestate", ts);
  for (size_t i = 0; rc == OFCTX_OK && i < h.n; i++)
    sorted[i] = h.name[i];
  if (rc == OFCTX_OK)
    qsort(sorted, h.n, sizeof *sorted, by_name);
  for (size_t i = 0; rc == OFCTX_OK && i < h.n; i++) {
    size_t j = 0;
    while (h.name[j] != sorted[i])
      j++;
    if (go_writes(h.name[j]))
      continue;
    at[(*n)++] = b->len;
    /* curl drops a line "Name:" with nothing after it: "Name;" sends it empty */
    ofctx__buf_printf(b, *h.value[j] ? "%s: %s" : "%s;", h.name[j], h.value[j]);
    ofctx__buf_append(b, "", 1);
  }
  header_set_free(&h);
  return rc == OFCTX_OK && b->failed ? OFCTX_ENOMEM : rc;
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

/* ---- bindings.kafka and pubsub.kafka ---- */

static void record_done(void *arg, int ok, const char *error) {
  call_t *call = arg;
  ofctx__sink_result_t res = {
      .ok = ok, .status = 0, .grpc_status = -1, .attempts = 1, .error = ok ? NULL : error};

  call->done(call->arg, &res);
  ofctx__free(call);
}

/* The metadata `m` as a record's key and headers (name, value, ...,
 * NULL in `out`, room for `max` pairs), as Dapr's Kafka component makes
 * them: every entry a header, the `partitionKey` or `__key` one the key
 * too (the later of them). With `trace` (a binding's send), the send's
 * `traceparent` and `tracestate` when tracing is on and they are not
 * empty, over entries of those names: daprd puts them in a binding's
 * metadata (a publish carries its trace in the envelope). A publish's
 * rawPayload into `*raw` (when `raw` is not NULL). OFCTX_OK, or
 * OFCTX_EINVAL when there are more, an entry has no value, or a
 * rawPayload is neither true nor false. */
static ofctx_err_t record_headers(const md_t *m, int publish, const ofctx__send_request_t *trace,
                                  const char **out, size_t max, const char **key, int *raw) {
  const char *tp = trace && trace->traceparent && *trace->traceparent ? trace->traceparent : NULL;
  const char *ts = trace && trace->tracestate && *trace->tracestate ? trace->tracestate : NULL;
  const char *k, *v;
  size_t n = 0;

  for (size_t i = 0; md_at(m, i, &k, &v); i++) {
    if (!v)
      return OFCTX_EINVAL;
    if (overridden(m, i, k) || (tp && strcmp(k, "traceparent") == 0) ||
        (ts && strcmp(k, "tracestate") == 0))
      continue;
    if (strcmp(k, "partitionKey") == 0 || strcmp(k, "__key") == 0)
      *key = v;
    if (publish && strcmp(k, "rawPayload") == 0) {
      if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return OFCTX_EINVAL;
      if (raw)
        *raw = strcmp(v, "true") == 0;
    }
    if (n + 1 >= max)
      return OFCTX_EINVAL;
    out[2 * n] = k;
    out[2 * n + 1] = v;
    n++;
  }
  for (int t = 0; t < 2; t++)
    if (t == 0 ? tp != NULL : ts != NULL) {
      if (n + 1 >= max)
        return OFCTX_EINVAL;
      out[2 * n] = t == 0 ? "traceparent" : "tracestate";
      out[2 * n + 1] = t == 0 ? tp : ts;
      n++;
    }
  out[2 * n] = NULL;
  return OFCTX_OK;
}

/* A publish refused before anything was sent: why, in the log. */
static ofctx_err_t refused(const ofctx__comp_t *comp, const ofctx_error_t *why) {
  ofctx__log(OFCTX_LOG_ERROR, "publish refused", "output", comp->name, "error", why->message,
             (const char *)NULL);
  return why->code;
}

/* The envelope a publish of `data` makes, its metadata `m` read in order
 * (a later entry over an earlier one), into `out`; with `raw` (rawPayload)
 * nothing is made, but the metadata is still checked. */
static ofctx_err_t make_envelope(direct_sink_t *s, const ofctx__comp_t *comp,
                                 const ofctx__send_request_t *req, const md_t *m,
                                 const char *content_type, const void *data, size_t len, int raw,
                                 ofctx__buf_t *out) {
  ofctx__envelope_t e = {.pubsub = comp->name,
                         .topic = req->topic,
                         .source = s->app_id,
                         .content_type = content_type,
                         .data = data,
                         .len = len,
                         .traceparent = req->traceparent,
                         .tracestate = req->tracestate};
  ofctx_error_t why = {0};
  const char *k, *v;
  ofctx_err_t rc;

  for (size_t i = 0; md_at(m, i, &k, &v); i++)
    if (ofctx__envelope_metadata(&e, k, v, &why) < 0)
      return refused(comp, &why);
  if (raw)
    return OFCTX_OK;
  rc = ofctx__dapr_envelope(out, &e, &why);
  return rc == OFCTX_EINVAL ? refused(comp, &why) : rc;
}

/* ---- bulk publishes ---- */

typedef struct bulk bulk_t;

typedef struct {
  bulk_t *bulk;
  size_t index;
} bulk_record_t;

/* A bulk publish: each entry its own record, and one answer once every
 * record has settled, naming the entries that failed. */
struct bulk {
  ofctx__sink_done_fn done;
  void *arg;
  ofctx__sink_ids_t ids;
  size_t pending; /* records not settled */
  size_t failed_count;
  unsigned char *failed; /* per entry */
  bulk_record_t *records;
  char *first_error;
};

static void bulk_free(bulk_t *b) {
  ofctx__sink_ids_free(&b->ids);
  ofctx__free(b->failed);
  ofctx__free(b->records);
  ofctx__free(b->first_error);
  ofctx__free(b);
}

static void bulk_fail(bulk_t *b, size_t i, const char *error) {
  if (b->failed[i])
    return;
  b->failed[i] = 1;
  b->failed_count++;
  if (!b->first_error)
    b->first_error = ofctx__strdup(error ? error : "the record was not delivered");
}

static void bulk_answer(bulk_t *b) {
  const char **failed = ofctx__calloc(b->failed_count + 1, sizeof *failed);
  ofctx__buf_t error = {0};
  ofctx__sink_result_t res = {.ok = b->failed_count == 0, .grpc_status = -1, .attempts = 1};

  if (!res.ok) {
    ofctx__buf_printf(&error, "%zu of %zu entries were not published: %s", b->failed_count,
                      b->ids.count, b->first_error ? b->first_error : "out of memory");
    res.error = error.data ? error.data : "entries were not published";
    for (size_t i = 0; failed && i < b->ids.count; i++)
      if (b->failed[i])
        failed[res.failed_count++] = b->ids.ids[i];
    res.failed = failed;
  }
  b->done(b->arg, &res);
  ofctx__free(failed);
  ofctx__buf_free(&error);
  bulk_free(b);
}

static void bulk_record_done(void *arg, int ok, const char *error) {
  bulk_record_t *r = arg;
  bulk_t *b = r->bulk;

  if (!ok)
    bulk_fail(b, r->index, error);
  if (--b->pending == 0)
    bulk_answer(b);
}

/* Whether bulk entry `i` can be carried, as the sidecar modes check it:
 * an id of text, once only; JSON under a JSON type, else UTF-8 text;
 * metadata of text. OFCTX_OK, or OFCTX_EINVAL with why in `why`. */
static ofctx_err_t entry_check(const ofctx__send_request_t *req, size_t i, ofctx_error_t *why) {
  const ofctx_bulk_entry_t *e = &req->entries[i];
  int json = ofctx__json_media(e->content_type);
  const char *bad = NULL;
  char id[96];

  if (!ofctx__text_ok(e->entry_id) || !ofctx__text_ok(e->content_type))
    bad = "its id or type is not text";
  for (size_t k = 0; !bad && k < i; k++)
    if (strcmp(req->entries[k].entry_id, e->entry_id) == 0)
      bad = "the id is given twice";
  if (!bad && (json ? !ofctx__json_valid(e->data, e->len) : !ofctx__utf8_valid(e->data, e->len)))
    bad = json ? "its data is not JSON, as its type says"
               : "its data is not UTF-8 text (publish bytes with ofctx_publish)";
  for (const char *const *kv = e->metadata; !bad && kv && kv[0]; kv += 2)
    if (!kv[1] || !ofctx__text_ok(kv[0]) || !ofctx__text_ok(kv[1]))
      bad = "its metadata is not text";
  if (!bad)
    return OFCTX_OK;
  ofctx__quote(id, sizeof id, e->entry_id);
  return ofctx__error(why, OFCTX_EINVAL, "bulk publish entry %s: %s", id, bad);
}

/* A bulk publish to a pubsub.kafka output: every entry checked and its
 * envelope made first (a refusal sends nothing), then each entry produced
 * as its own record, with its own type and metadata (over the request's
 * for the envelope; under it for the headers, as Dapr's Kafka component
 * does); rawPayload is the request's. */
static ofctx_err_t bulk_start(direct_sink_t *s, const ofctx__comp_t *comp,
                              ofctx__kafka_producer_t *p, const ofctx__send_request_t *req,
                              ofctx__sink_done_fn done, void *arg) {
  size_t n = req->entry_count, queued = 0;
  ofctx__buf_t *envelopes = ofctx__calloc(n ? n : 1, sizeof *envelopes);
  bulk_t *b = ofctx__calloc(1, sizeof *b);
  md_t request = {.lists = {req->extra, NULL}};
  const char *headers[2 * MAX_HEADERS + 1], *key;
  ofctx_error_t why = {0};
  ofctx_err_t rc = OFCTX_OK;
  int raw = 0;

  if (!envelopes || !b || ofctx__sink_ids_copy(&b->ids, req) != OFCTX_OK ||
      !(b->failed = ofctx__calloc(n ? n : 1, 1)) ||
      !(b->records = ofctx__calloc(n ? n : 1, sizeof *b->records)))
    rc = OFCTX_ENOMEM;
  if (rc == OFCTX_OK &&
      record_headers(&request, 1, NULL, headers, MAX_HEADERS, &key, &raw) != OFCTX_OK)
    rc = OFCTX_EINVAL;
  for (size_t i = 0; rc == OFCTX_OK && i < n; i++) {
    const ofctx_bulk_entry_t *e = &req->entries[i];
    md_t m = {.lists = {req->extra, e->metadata}};
    md_t h = {.lists = {e->metadata, req->extra}}; /* the call's over the entry's */
    if (entry_check(req, i, &why) != OFCTX_OK)
      rc = refused(comp, &why);
    else if (record_headers(&h, 1, NULL, headers, MAX_HEADERS, &key, NULL) != OFCTX_OK)
      rc = OFCTX_EINVAL; /* more than a record carries, or a rawPayload neither true nor false */
    else
      rc = make_envelope(s, comp, req, &m, e->content_type, e->data, e->len, raw, &envelopes[i]);
  }
  if (rc == OFCTX_OK) {
    b->done = done;
    b->arg = arg;
    b->pending = 1; /* the loop's own hold: no answer before every entry is given */
    for (size_t i = 0; i < n; i++) {
      const ofctx_bulk_entry_t *e = &req->entries[i];
      md_t m = {.lists = {e->metadata, req->extra}};
      key = NULL;
      b->records[i] = (bulk_record_t){b, i};
      record_headers(&m, 1, NULL, headers, MAX_HEADERS, &key, NULL); /* checked above */
      b->pending++;
      if (ofctx__kafka_produce(p, req->topic, key, headers,
                               envelopes[i].data ? envelopes[i].data : e->data,
                               envelopes[i].data ? envelopes[i].len : e->len, bulk_record_done,
                               &b->records[i]) != OFCTX_OK) {
        b->pending--;
        bulk_fail(b, i, "librdkafka did not take the record (the log says why)");
      } else {
        queued++;
      }
    }
    if (queued == 0)
      rc = OFCTX_ESEND; /* nothing is on its way: no answer will come */
    else
      b->pending--;
  }
  for (size_t i = 0; envelopes && i < n; i++)
    ofctx__buf_free(&envelopes[i]);
  ofctx__free(envelopes);
  if (rc != OFCTX_OK && b)
    bulk_free(b);
  return rc;
}

/* A send to a bindings.kafka output (a record to its publishTopic) or a
 * publish to a pubsub.kafka one (the CloudEvent the sidecar would make, or
 * with rawPayload the data itself, to the publish's topic; a bulk publish
 * each entry so). */
static ofctx_err_t kafka_start(direct_sink_t *s, size_t slot, const ofctx__send_request_t *req,
                               ofctx__sink_done_fn done, void *arg) {
  const ofctx__comp_t *comp = s->comps->outputs[slot];
  const char *headers[2 * MAX_HEADERS + 1], *key = NULL;
  ofctx__kafka_producer_t **p = &s->producers[slot];
  int publish = comp->type_id == OFCTX__COMP_KAFKA_PUBSUB, raw = 0;
  int bulk = publish && req->kind == OFCTX__SEND_PUBLISH_BULK;
  md_t m = {.map = req->metadata, .lists = {req->extra, NULL}};
  ofctx__buf_t envelope = {0};
  call_t *call;
  ofctx_err_t rc;

  if (!bulk && req->kind != (publish ? OFCTX__SEND_PUBLISH : OFCTX__SEND_BINDING))
    return OFCTX_ESEND; /* a send of the other kind */
  if (!publish && (!req->operation || strcmp(req->operation, "create") != 0))
    return OFCTX_EINVAL; /* Dapr's Kafka binding makes no other */
  if (!bulk && record_headers(&m, publish, publish ? NULL : req, headers, MAX_HEADERS, &key,
                              &raw) != OFCTX_OK)
    return OFCTX_EINVAL;
  if (publish && !bulk &&
      (rc = make_envelope(s, comp, req, &m, req->content_type, req->data, req->len, raw,
                          &envelope)) != OFCTX_OK) {
    ofctx__buf_free(&envelope);
    return rc;
  }
  if (!*p &&
      (rc = ofctx__kafka_producer_new(p, s->loop, comp, s->policy->timeout_ms)) != OFCTX_OK) {
    ofctx__buf_free(&envelope);
    return rc;
  }
  if (bulk)
    return bulk_start(s, comp, *p, req, done, arg);
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
  const char *method, *path = NULL;
  const char *lines[MAX_HEADERS + 1];
  int body;
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
  /* Go's client sends a body with these only (Dapr's binding gives none to
   * the others); the caller's type reaches no binding under Dapr */
  body = strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0;
  rc = put_headers(req, body, &headers, at, &n, &path);
  if (rc == OFCTX_OK && url_parts(ofctx__comp_value(comp, "url"), path, &url_base, &tail) != 0)
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
    /* the type is one of the lines */
    rc = ofctx__dapr_call(s->clients[slot], method, tail.data, NULL, lines, body ? req->data : NULL,
                          body ? req->len : 0, s->policy, call_done, call);
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
