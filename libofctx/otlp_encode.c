/* Finished spans → the protobuf body of an OTLP/HTTP export, with
 * protobuf-c (libofctx/proto/otlp_trace.proto) and zlib. */
#include "otlp_encode.h"

#include <string.h>

#include <zlib.h>

#include "mem.h"
#include "ofctx/version.h"
#include "otlp_trace.pb-c.h"

/* ---- records ---- */

ofctx__span_record_t *ofctx__span_record_new(const ofctx__span_desc_t *d) {
  const ofctx__span_t *span = d->span;
  size_t tags = d->tags ? ofctx_strmap_count(d->tags) : 0, attrs = 0, text = 0, size;
  ofctx__span_record_t *r;
  char *p;

  for (size_t i = 0; i < d->attr_count; i++)
    if (d->attrs[i].value) {
      attrs++;
      text += strlen(d->attrs[i].key) + strlen(d->attrs[i].value) + 2;
    }
  for (size_t i = 0; i < tags; i++)
    text += strlen(ofctx_strmap_key_at(d->tags, i)) + strlen(ofctx_strmap_value_at(d->tags, i)) + 2;
  attrs += tags;
  text += strlen(d->name) + 1 + (span->tracestate ? strlen(span->tracestate) + 1 : 0) +
          (d->error && d->message ? strlen(d->message) + 1 : 0);
  size = sizeof *r + attrs * sizeof *r->attrs + d->link_count * sizeof *r->links;
  r = ofctx__malloc(size + text);
  if (!r)
    return NULL;
  memset(r, 0, sizeof *r);
  r->attrs = (ofctx__span_attr_t *)(r + 1);
  r->links = (ofctx__traceparent_t *)(r->attrs + attrs);
  p = (char *)r + size;
#define COPY(dst, src)                                                                             \
  do {                                                                                             \
    size_t n_ = strlen(src) + 1;                                                                   \
    memcpy(p, src, n_);                                                                            \
    (dst) = p;                                                                                     \
    p += n_;                                                                                       \
  } while (0)
  memcpy(r->trace_id, span->trace_id, 16);
  memcpy(r->span_id, span->span_id, 8);
  memcpy(r->parent_id, span->parent_id, 8);
  r->flags = span->flags;
  r->kind = d->kind;
  r->start_ns = span->start_ns;
  r->end_ns = span->end_ns;
  COPY(r->name, d->name);
  if (span->tracestate)
    COPY(r->tracestate, span->tracestate);
  r->error = d->error;
  if (d->error && d->message)
    COPY(r->message, d->message);
  for (size_t i = 0; i < d->attr_count; i++)
    if (d->attrs[i].value) {
      COPY(r->attrs[r->attr_count].key, d->attrs[i].key);
      COPY(r->attrs[r->attr_count].value, d->attrs[i].value);
      r->attr_count++;
    }
  for (size_t i = 0; i < tags; i++) {
    COPY(r->attrs[r->attr_count].key, ofctx_strmap_key_at(d->tags, i));
    COPY(r->attrs[r->attr_count].value, ofctx_strmap_value_at(d->tags, i));
    r->attr_count++;
  }
#undef COPY
  if (d->link_count)
    memcpy(r->links, d->links, d->link_count * sizeof *r->links);
  r->link_count = d->link_count;
  return r;
}

/* ---- the export request ---- */

/* protobuf-c's messages of one request, pointing into the records. */
typedef struct {
  Ofctx__Otlp__Span *spans;
  Ofctx__Otlp__Span **span_ptrs;
  Ofctx__Otlp__Status *statuses;
  Ofctx__Otlp__KeyValue *kvs;
  Ofctx__Otlp__KeyValue **kv_ptrs;
  Ofctx__Otlp__AnyValue *values;
  Ofctx__Otlp__Span__Link *links;
  Ofctx__Otlp__Span__Link **link_ptrs;
  size_t kv_used, link_used;
} arena_t;

/* The next `n` key-values of the arena, set to `attrs`. */
static Ofctx__Otlp__KeyValue **key_values(arena_t *a, const ofctx__span_attr_t *attrs, size_t n) {
  Ofctx__Otlp__KeyValue **first = a->kv_ptrs + a->kv_used;

  for (size_t i = 0; i < n; i++, a->kv_used++) {
    Ofctx__Otlp__KeyValue *kv = &a->kvs[a->kv_used];
    Ofctx__Otlp__AnyValue *v = &a->values[a->kv_used];
    ofctx__otlp__key_value__init(kv);
    ofctx__otlp__any_value__init(v);
    v->value_case = OFCTX__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)attrs[i].value;
    kv->key = (char *)attrs[i].key;
    kv->value = v;
    a->kv_ptrs[a->kv_used] = kv;
  }
  return first;
}

static void span_of(arena_t *a, Ofctx__Otlp__Span *s, Ofctx__Otlp__Status *status,
                    const ofctx__span_record_t *r) {
  static const uint8_t root[8];

  ofctx__otlp__span__init(s);
  s->trace_id.data = (uint8_t *)r->trace_id;
  s->trace_id.len = 16;
  s->span_id.data = (uint8_t *)r->span_id;
  s->span_id.len = 8;
  if (memcmp(r->parent_id, root, 8) != 0) { /* a root has no parent id at all */
    s->parent_span_id.data = (uint8_t *)r->parent_id;
    s->parent_span_id.len = 8;
  }
  s->trace_state = (char *)(r->tracestate ? r->tracestate : "");
  s->name = (char *)r->name;
  s->kind = (Ofctx__Otlp__Span__SpanKind)r->kind;
  s->start_time_unix_nano = r->start_ns;
  s->end_time_unix_nano = r->end_ns;
  /* W3C trace flags in the low byte; bit 8 set: whether the parent is
   * remote is known (bit 9: it is, for an invocation that continued a trace) */
  s->flags = r->flags | 0x100u |
             (r->kind == OFCTX__OTLP_SERVER || r->kind == OFCTX__OTLP_CONSUMER
                  ? (memcmp(r->parent_id, root, 8) != 0 ? 0x200u : 0)
                  : 0);
  s->n_attributes = r->attr_count;
  s->attributes = key_values(a, r->attrs, r->attr_count);
  ofctx__otlp__status__init(status);
  if (r->error) {
    status->code = OFCTX__OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    status->message = (char *)(r->message ? r->message : "");
  }
  s->status = status;
  s->n_links = r->link_count;
  s->links = a->link_ptrs + a->link_used;
  for (size_t i = 0; i < r->link_count; i++, a->link_used++) {
    Ofctx__Otlp__Span__Link *l = &a->links[a->link_used];
    ofctx__otlp__span__link__init(l);
    l->trace_id.data = (uint8_t *)r->links[i].trace_id;
    l->trace_id.len = 16;
    l->span_id.data = (uint8_t *)r->links[i].parent_id;
    l->span_id.len = 8;
    l->flags = r->links[i].flags | 0x300u; /* a link to a remote span */
    a->link_ptrs[a->link_used] = l;
  }
}

ofctx_err_t ofctx__otlp_encode(const ofctx__span_attr_t *resource, size_t resource_count,
                               const ofctx__span_record_t *first, size_t count, uint8_t **out,
                               size_t *len) {
  Ofctx__Otlp__ExportTraceServiceRequest req = OFCTX__OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
  Ofctx__Otlp__ResourceSpans rs = OFCTX__OTLP__RESOURCE_SPANS__INIT, *rs_ptr = &rs;
  Ofctx__Otlp__Resource res = OFCTX__OTLP__RESOURCE__INIT;
  Ofctx__Otlp__ScopeSpans ss = OFCTX__OTLP__SCOPE_SPANS__INIT, *ss_ptr = &ss;
  Ofctx__Otlp__InstrumentationScope scope = OFCTX__OTLP__INSTRUMENTATION_SCOPE__INIT;
  arena_t a = {0};
  size_t kvs = resource_count, links = 0, i = 0;
  const ofctx__span_record_t *r;
  ofctx_err_t rc = OFCTX_ENOMEM;

  *out = NULL;
  *len = 0;
  for (r = first; r && i < count; r = r->next, i++) {
    kvs += r->attr_count;
    links += r->link_count;
  }
  count = i;
  a.spans = ofctx__calloc(count ? count : 1, sizeof *a.spans);
  a.span_ptrs = ofctx__calloc(count ? count : 1, sizeof *a.span_ptrs);
  a.statuses = ofctx__calloc(count ? count : 1, sizeof *a.statuses);
  a.kvs = ofctx__calloc(kvs ? kvs : 1, sizeof *a.kvs);
  a.kv_ptrs = ofctx__calloc(kvs ? kvs : 1, sizeof *a.kv_ptrs);
  a.values = ofctx__calloc(kvs ? kvs : 1, sizeof *a.values);
  a.links = ofctx__calloc(links ? links : 1, sizeof *a.links);
  a.link_ptrs = ofctx__calloc(links ? links : 1, sizeof *a.link_ptrs);
  if (!a.spans || !a.span_ptrs || !a.statuses || !a.kvs || !a.kv_ptrs || !a.values || !a.links ||
      !a.link_ptrs)
    goto done;
  res.n_attributes = resource_count;
  res.attributes = key_values(&a, resource, resource_count);
  for (r = first, i = 0; i < count; r = r->next, i++) {
    span_of(&a, &a.spans[i], &a.statuses[i], r);
    a.span_ptrs[i] = &a.spans[i];
  }
  scope.name = "libofctx";
  scope.version = (char *)ofctx_version_string();
  ss.scope = &scope;
  ss.n_spans = count;
  ss.spans = a.span_ptrs;
  rs.resource = &res;
  rs.n_scope_spans = 1;
  rs.scope_spans = &ss_ptr;
  req.n_resource_spans = 1;
  req.resource_spans = &rs_ptr;
  *len = ofctx__otlp__export_trace_service_request__get_packed_size(&req);
  *out = ofctx__malloc(*len ? *len : 1);
  if (!*out) {
    *len = 0;
    goto done;
  }
  ofctx__otlp__export_trace_service_request__pack(&req, *out);
  rc = OFCTX_OK;
done:
  ofctx__free(a.spans);
  ofctx__free(a.span_ptrs);
  ofctx__free(a.statuses);
  ofctx__free(a.kvs);
  ofctx__free(a.kv_ptrs);
  ofctx__free(a.values);
  ofctx__free(a.links);
  ofctx__free(a.link_ptrs);
  return rc;
}

/* ---- gzip ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  return ofctx__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf address) {
  (void)opaque;
  ofctx__free(address);
}

ofctx_err_t ofctx__otlp_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len) {
  z_stream z;
  uLong bound;

  *out = NULL;
  *out_len = 0;
  memset(&z, 0, sizeof z);
  z.zalloc = z_alloc;
  z.zfree = z_free;
  /* 15 + 16: a gzip header and trailer around the deflate stream; the fastest
   * level, since spans repeat themselves (half the default's instructions) */
  if (len > UINT32_MAX ||
      deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return OFCTX_ENOMEM;
  bound = deflateBound(&z, (uLong)len);
  *out = ofctx__malloc(bound);
  if (!*out) {
    deflateEnd(&z);
    return OFCTX_ENOMEM;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = *out;
  z.avail_out = (uInt)bound;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) { /* the bound is room enough */
    deflateEnd(&z);
    ofctx__free(*out);
    *out = NULL;
    return OFCTX_ENOMEM;
  }
  *out_len = z.total_out;
  deflateEnd(&z);
  return OFCTX_OK;
}
