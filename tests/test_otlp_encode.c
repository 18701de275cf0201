/* Span records and the OTLP export request: what protobuf-c reads back
 * from our body (the field numbers themselves are checked against the
 * official protos by tests/otel/check_protos.js), and gzip as zlib
 * inflates it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "mem.h"
#include "ofctx/alloc.h"
#include "otlp_encode.h"
#include "otlp_trace.pb-c.h"
#include "strmap_impl.h"

typedef Ofctx__Otlp__ExportTraceServiceRequest request_t;

static const char *attr(Ofctx__Otlp__KeyValue **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kvs[i]->key, key) == 0) {
      assert_int_equal(kvs[i]->value->value_case, OFCTX__OTLP__ANY_VALUE__VALUE_STRING_VALUE);
      return kvs[i]->value->string_value;
    }
  return NULL;
}

/* An invocation that continued a trace, ended as RETRY with links; its
 * send as a child; both described to the exporter. */
static void round_trip(void **state) {
  ofctx__span_t *inv = ofctx__span_new("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                       "vendor=x", "orders");
  ofctx__span_t send;
  ofctx__traceparent_t links[2];
  ofctx__span_desc_t d = {0};
  ofctx__span_record_t *r1, *r2;
  ofctx__span_attr_t resource[] = {{"service.name", "fn"}, {"k8s.pod.name", "fn-1"}};
  ofctx_strmap_t tags = {0};
  json_t *tag_obj = json_pack("{s:s}", "team", "payments");
  char name[32] = "process orders";
  uint8_t *body;
  size_t len;
  request_t *req;
  Ofctx__Otlp__ScopeSpans *ss;
  Ofctx__Otlp__Span *s;

  (void)state;
  assert_non_null(inv);
  assert_int_equal(ofctx__strmap_view(&tags, tag_obj), 0);
  ofctx__span_child(&send, inv, OFCTX__SPAN_SEND, "out");
  ofctx__span_end(&send);
  ofctx__span_end(inv);
  assert_true(ofctx__traceparent_parse("00-11111111111111111111111111111111-2222222222222222-01",
                                       &links[0]));
  assert_true(ofctx__traceparent_parse("00-33333333333333333333333333333333-4444444444444444-00",
                                       &links[1]));
  d.span = inv;
  d.kind = OFCTX__OTLP_CONSUMER;
  d.name = name;
  d.error = 1;
  d.message = "the function returned an error";
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"faas.trigger", "pubsub"};
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.hook", NULL}; /* left out */
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"messaging.destination.name", "orders"};
  d.tags = &tags;
  d.links = links;
  d.link_count = 2;
  r1 = ofctx__span_record_new(&d);
  assert_non_null(r1);
  strcpy(name, "changed"); /* the record has its own copy */
  d = (ofctx__span_desc_t){0};
  d.span = &send;
  d.kind = OFCTX__OTLP_PRODUCER;
  d.name = "publish out";
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.output", "out"};
  r2 = ofctx__span_record_new(&d);
  assert_non_null(r2);
  r1->next = r2;
  r2->next = NULL;

  assert_int_equal(ofctx__otlp_encode(resource, 2, r1, 2, &body, &len), OFCTX_OK);
  req = ofctx__otlp__export_trace_service_request__unpack(NULL, len, body);
  assert_non_null(req);
  assert_int_equal(req->n_resource_spans, 1);
  assert_string_equal(attr(req->resource_spans[0]->resource->attributes,
                           req->resource_spans[0]->resource->n_attributes, "k8s.pod.name"),
                      "fn-1");
  assert_int_equal(req->resource_spans[0]->n_scope_spans, 1);
  ss = req->resource_spans[0]->scope_spans[0];
  assert_string_equal(ss->scope->name, "libofctx");
  assert_int_equal(ss->n_spans, 2);

  s = ss->spans[0];
  assert_int_equal(s->trace_id.len, 16);
  assert_memory_equal(s->trace_id.data, inv->trace_id, 16);
  assert_memory_equal(s->span_id.data, inv->span_id, 8);
  assert_int_equal(s->parent_span_id.len, 8);
  assert_memory_equal(s->parent_span_id.data, "\xb7\xad\x6b\x71\x69\x20\x33\x31", 8);
  assert_string_equal(s->trace_state, "vendor=x");
  assert_string_equal(s->name, "process orders");
  assert_int_equal(s->kind, OFCTX__OTLP__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER);
  assert_true(s->start_time_unix_nano > 0);
  assert_true(s->end_time_unix_nano >= s->start_time_unix_nano);
  assert_int_equal(s->flags, 0x301); /* sampled; the parent is known to be remote */
  assert_int_equal(s->n_attributes, 3);
  assert_string_equal(attr(s->attributes, s->n_attributes, "faas.trigger"), "pubsub");
  assert_string_equal(attr(s->attributes, s->n_attributes, "team"), "payments");
  assert_null(attr(s->attributes, s->n_attributes, "ofctx.hook"));
  assert_int_equal(s->status->code, OFCTX__OTLP__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
  assert_string_equal(s->status->message, "the function returned an error");
  assert_int_equal(s->n_links, 2);
  assert_memory_equal(s->links[1]->trace_id.data, links[1].trace_id, 16);
  assert_memory_equal(s->links[1]->span_id.data, links[1].parent_id, 8);

  s = ss->spans[1];
  assert_memory_equal(s->trace_id.data, inv->trace_id, 16);
  assert_memory_equal(s->parent_span_id.data, inv->span_id, 8);
  assert_int_equal(s->kind, OFCTX__OTLP__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER);
  assert_string_equal(s->name, "publish out");
  assert_int_equal(s->flags, 0x101); /* the parent is local */
  assert_int_equal(s->status->code, OFCTX__OTLP__STATUS__STATUS_CODE__STATUS_CODE_UNSET);
  assert_int_equal(s->n_links, 0);

  ofctx__otlp__export_trace_service_request__free_unpacked(req, NULL);
  ofctx__free(body);
  ofctx__free(r1);
  ofctx__free(r2);
  ofctx__span_free(inv);
  ofctx__strmap_clear(&tags);
  json_decref(tag_obj);
}

/* A root span (a new trace) carries no parent id at all; `count` is an
 * upper bound on the list. */
static void root_has_no_parent(void **state) {
  ofctx__span_t *root = ofctx__span_new(NULL, "dropped: no traceparent", "tick");
  ofctx__span_desc_t d = {.span = root, .kind = OFCTX__OTLP_INTERNAL, .name = "tick"};
  ofctx__span_record_t *r;
  uint8_t *body;
  size_t len;
  request_t *req;
  Ofctx__Otlp__Span *s;

  (void)state;
  ofctx__span_end(root);
  r = ofctx__span_record_new(&d);
  r->next = NULL;
  assert_int_equal(ofctx__otlp_encode(NULL, 0, r, 10, &body, &len), OFCTX_OK);
  req = ofctx__otlp__export_trace_service_request__unpack(NULL, len, body);
  assert_non_null(req);
  assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 1);
  s = req->resource_spans[0]->scope_spans[0]->spans[0];
  assert_int_equal(s->parent_span_id.len, 0);
  assert_string_equal(s->trace_state, "");
  assert_int_equal(s->kind, OFCTX__OTLP__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
  assert_int_equal(s->flags, 0x101);
  ofctx__otlp__export_trace_service_request__free_unpacked(req, NULL);
  ofctx__free(body);
  ofctx__free(r);
  ofctx__span_free(root);
}

/* gzip's output is one member that zlib inflates back to the input. */
static void gzip_inflates_back(void **state) {
  static uint8_t in[20000];
  uint8_t *gz, out[sizeof in + 16];
  size_t gz_len;
  z_stream z = {0};

  (void)state;
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t)("spans"[i % 5] + (i / 1000));
  assert_int_equal(ofctx__otlp_gzip(in, sizeof in, &gz, &gz_len), OFCTX_OK);
  assert_true(gz_len < sizeof in); /* it compressed */
  assert_int_equal(gz[0], 0x1f);   /* the gzip magic */
  assert_int_equal(gz[1], 0x8b);
  assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = gz;
  z.avail_in = (uInt)gz_len;
  z.next_out = out;
  z.avail_out = sizeof out;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  assert_int_equal(z.total_out, sizeof in);
  assert_memory_equal(out, in, sizeof in);
  inflateEnd(&z);
  ofctx__free(gz);
}

/* An allocator whose Nth allocation fails, counting the live blocks. */
static long calls, fail_at, live;

static void *fail_malloc(size_t size, void *arg) {
  (void)arg;
  if (++calls == fail_at)
    return NULL;
  live++;
  return malloc(size);
}

static void *fail_realloc(void *ptr, size_t size, void *arg) {
  void *p;
  (void)arg;
  if (++calls == fail_at)
    return NULL;
  p = realloc(ptr, size);
  if (p && !ptr)
    live++;
  return p;
}

static void fail_free(void *ptr, void *arg) {
  (void)arg;
  if (ptr)
    live--;
  free(ptr);
}

/* Each allocation of a record, the request and gzip failing in turn: a
 * clean NULL or OFCTX_ENOMEM, and nothing left allocated. */
static void allocation_failures(void **state) {
  static const ofctx_allocator_t failing = {sizeof failing, fail_malloc, fail_realloc, fail_free,
                                            NULL};
  ofctx__span_attr_t resource[] = {{"service.name", "fn"}};
  ofctx__traceparent_t link;
  long n;

  (void)state;
  assert_true(
      ofctx__traceparent_parse("00-11111111111111111111111111111111-2222222222222222-01", &link));
  for (n = 1;; n++) {
    ofctx__span_t *span;
    ofctx__span_record_t *r;
    uint8_t *body = NULL, *gz = NULL;
    size_t len = 0, gz_len = 0;
    ofctx_err_t rc = OFCTX_ENOMEM;
    calls = live = 0;
    fail_at = n;
    assert_int_equal(ofctx_replace_allocator(&failing), OFCTX_OK);
    span = ofctx__span_new(NULL, NULL, "in");
    if (span) {
      ofctx__span_desc_t d = {.span = span, .kind = OFCTX__OTLP_SERVER, .name = "fn"};
      d.attrs[d.attr_count++] = (ofctx__span_attr_t){"faas.trigger", "http"};
      d.links = &link;
      d.link_count = 1;
      ofctx__span_end(span);
      r = ofctx__span_record_new(&d);
      if (r) {
        r->next = NULL;
        rc = ofctx__otlp_encode(resource, 1, r, 1, &body, &len);
        if (rc == OFCTX_OK) {
          rc = ofctx__otlp_gzip(body, len, &gz, &gz_len);
          assert_true(rc == OFCTX_OK ? gz != NULL : gz == NULL);
        } else {
          assert_int_equal(rc, OFCTX_ENOMEM);
          assert_null(body);
        }
        ofctx__free(gz);
        ofctx__free(body);
        ofctx__free(r);
      }
      ofctx__span_free(span);
    }
    assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK);
    assert_int_equal(live, 0);
    if (calls < n) /* no allocation failed: every one was tried */
      break;
  }
  assert_true(n > 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(root_has_no_parent),
      cmocka_unit_test(gzip_inflates_back),
      cmocka_unit_test(allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
