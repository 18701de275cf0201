/* trace.c: traceparent as the W3C Trace Context spec reads it, trace and
 * span ids, child spans, tracestate kept or not, and the baggage header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mem.h"
#include "strmap_impl.h"
#include "trace.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"

static int all_zero(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

static int lower_hex(const char *s, size_t n) {
  if (strlen(s) != n)
    return 0;
  for (; *s; s++)
    if (!strchr("0123456789abcdef", *s))
      return 0;
  return 1;
}

static void valid_traceparents(void **state) {
  static const struct {
    const char *text;
    uint8_t flags;
  } good[] = {
      {"00-" TRACE "-" PARENT "-01", 1},
      {"00-" TRACE "-" PARENT "-00", 0},
      {"00-" TRACE "-" PARENT "-ff", 1}, /* flags but sampled are not passed on */
      {"01-" TRACE "-" PARENT "-01", 1}, /* a later version, as long as 00 */
      /* the spec's own example of a future version */
      {"cc-" TRACE "-" PARENT "-09-what-the-future-will-be-like", 1},
  };
  ofctx__traceparent_t tp;

  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    if (!ofctx__traceparent_parse(good[i].text, &tp))
      fail_msg("\"%s\" was refused", good[i].text);
    assert_int_equal(tp.flags, good[i].flags);
    assert_memory_equal(tp.trace_id,
                        "\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16);
    assert_memory_equal(tp.parent_id, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8);
  }
}

static void invalid_traceparents(void **state) {
  static const char *const bad[] = {
      "",
      "00",
      "ff-" TRACE "-" PARENT "-01",                        /* version ff is invalid */
      "00-" TRACE "-" PARENT "-01-extra",                  /* 00 is exactly 55 long */
      "00-" TRACE "-" PARENT "-011",                       /* and that too */
      "cc-" TRACE "-" PARENT "-01x",                       /* later: char 56 must be '-' */
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01", /* upper case */
      "00-" TRACE "-00F067AA0BA902B7-01",
      "00-00000000000000000000000000000000-" PARENT "-01", /* zero trace id */
      "00-" TRACE "-0000000000000000-01",                  /* zero parent id */
      "00-" TRACE "-" PARENT "-0g",
      "0g-" TRACE "-" PARENT "-01",
      "00_" TRACE "-" PARENT "-01",
      "00-" TRACE "_" PARENT "-01",
      "00-" TRACE "-" PARENT "_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-" PARENT "0-01", /* a short trace id */
      "00-" TRACE "-" PARENT "-1",
      " 00-" TRACE "-" PARENT "-01",
  };
  ofctx__traceparent_t tp;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ofctx__traceparent_parse(bad[i], &tp))
      fail_msg("\"%s\" was accepted", bad[i]);
  assert_false(ofctx__traceparent_parse(NULL, &tp));
}

static void tracestates(void **state) {
  char big[OFCTX__TRACESTATE_MAX + 2];

  (void)state;
  assert_true(ofctx__tracestate_ok("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  assert_false(ofctx__tracestate_ok(NULL));
  assert_false(ofctx__tracestate_ok(""));
  assert_false(ofctx__tracestate_ok("a=b\r\nx-injected: 1"));
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_false(ofctx__tracestate_ok(big)); /* one past the bound */
  big[OFCTX__TRACESTATE_MAX] = '\0';
  assert_true(ofctx__tracestate_ok(big));
}

/* An incoming trace continues: same trace id, the caller's span as the
 * parent, a new span id of our own, the tracestate kept. */
static void span_continues(void **state) {
  ofctx__span_t *span = ofctx__span_new("00-" TRACE "-" PARENT "-01", "rojo=1", "kafka");

  (void)state;
  assert_non_null(span);
  assert_string_equal(span->trace_hex, TRACE);
  assert_memory_equal(span->parent_id, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8);
  assert_true(lower_hex(span->span_hex, 16));
  assert_string_not_equal(span->span_hex, PARENT);
  assert_false(all_zero(span->span_id, 8));
  assert_string_equal(span->tracestate, "rojo=1");
  assert_string_equal(span->name, "kafka");
  assert_int_equal(span->kind, OFCTX__SPAN_INVOCATION);
  assert_true(span->start_ns > 0);
  assert_int_equal(span->end_ns, 0);
  assert_int_equal(strlen(span->traceparent), OFCTX__TRACEPARENT_LEN);
  assert_memory_equal(span->traceparent, "00-" TRACE "-", 36);
  assert_memory_equal(span->traceparent + 36, span->span_hex, 16);
  assert_string_equal(span->traceparent + 52, "-01");
  ofctx__span_end(span);
  assert_true(span->end_ns >= span->start_ns);
  ofctx__span_free(span);

  /* not sampled stays not sampled; a bad tracestate is not kept */
  span = ofctx__span_new("00-" TRACE "-" PARENT "-00", "a=1\nb=2", NULL);
  assert_non_null(span);
  assert_string_equal(span->traceparent + 52, "-00");
  assert_null(span->tracestate);
  ofctx__span_free(span);
}

/* No valid traceparent: a new trace, a root, sampled, no tracestate. */
static void span_starts_a_trace(void **state) {
  static const char *const in[] = {NULL, "00-00000000000000000000000000000000-" PARENT "-01",
                                   "garbage"};
  char first[33] = "";

  (void)state;
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    ofctx__span_t *span = ofctx__span_new(in[i], "rojo=1", "in");
    assert_non_null(span);
    assert_true(lower_hex(span->trace_hex, 32));
    assert_false(all_zero(span->trace_id, 16));
    assert_string_not_equal(span->trace_hex, TRACE);
    assert_string_not_equal(span->trace_hex, first); /* each a trace of its own */
    memcpy(first, span->trace_hex, sizeof first);
    assert_true(all_zero(span->parent_id, 8));
    assert_null(span->tracestate); /* it belonged to the trace that was refused */
    assert_string_equal(span->traceparent + 52, "-01");
    ofctx__span_free(span);
  }
}

static void child_spans(void **state) {
  ofctx__span_t *parent = ofctx__span_new("00-" TRACE "-" PARENT "-01", "rojo=1", "in");
  ofctx__span_t a, b;

  (void)state;
  assert_non_null(parent);
  ofctx__span_child(&a, parent, OFCTX__SPAN_SEND, "out");
  ofctx__span_child(&b, parent, OFCTX__SPAN_SEND, "out");
  assert_string_equal(a.trace_hex, TRACE);
  assert_memory_equal(a.parent_id, parent->span_id, 8);
  assert_string_not_equal(a.span_hex, parent->span_hex);
  assert_string_not_equal(a.span_hex, b.span_hex);
  assert_ptr_equal(a.tracestate, parent->tracestate);
  assert_int_equal(a.kind, OFCTX__SPAN_SEND);
  assert_string_equal(a.name, "out");
  assert_memory_equal(a.traceparent, "00-" TRACE "-", 36);
  assert_memory_equal(a.traceparent + 36, a.span_hex, 16);
  ofctx__span_free(parent);
}

/* A span's end is its start plus the time it took on the monotonic clock:
 * a wall clock stepped back while it was open (played here by a start
 * 10 s later than the clock says) never ends it before it began. */
static void span_end_never_before_start(void **state) {
  ofctx__span_t *span = ofctx__span_new(NULL, NULL, "in");
  ofctx__span_t child;

  (void)state;
  assert_non_null(span);
  ofctx__span_child(&child, span, OFCTX__SPAN_SEND, "out");
  span->start_ns += 10000000000u;
  child.start_ns += 10000000000u;
  ofctx__span_end(span);
  ofctx__span_end(&child);
  assert_true(span->end_ns >= span->start_ns);
  assert_true(span->end_ns - span->start_ns < 10000000000u);
  assert_true(child.end_ns >= child.start_ns);
  ofctx__span_free(span);
}

static void random_ids(void **state) {
  uint8_t a[16], b[16];

  (void)state;
  ofctx__trace_random(a, sizeof a);
  ofctx__trace_random(b, sizeof b);
  assert_false(all_zero(a, sizeof a));
  assert_memory_not_equal(a, b, sizeof a);
}

static void baggage(void **state) {
  json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "team", "payments", "bad key", "x", "region",
                          "eu west/1,2", "k", "");
  ofctx_strmap_t map;
  char *out;
  size_t skipped = 99;

  (void)state;
  assert_int_equal(ofctx__strmap_view(&map, doc), OFCTX_OK);
  assert_int_equal(ofctx__baggage_format(&map, &out, &skipped), OFCTX_OK);
  assert_string_equal(out, "team=payments,region=eu%20west%2F1%2C2,k=");
  assert_int_equal(skipped, 1);
  ofctx__free(out);
  ofctx__strmap_clear(&map);
  json_decref(doc);

  doc = json_object();
  assert_int_equal(ofctx__strmap_view(&map, doc), OFCTX_OK);
  assert_int_equal(ofctx__baggage_format(&map, &out, NULL), OFCTX_OK);
  assert_null(out);
  ofctx__strmap_clear(&map);
  json_decref(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_traceparents),
      cmocka_unit_test(invalid_traceparents),
      cmocka_unit_test(tracestates),
      cmocka_unit_test(span_continues),
      cmocka_unit_test(span_starts_a_trace),
      cmocka_unit_test(child_spans),
      cmocka_unit_test(random_ids),
      cmocka_unit_test(baggage),
      cmocka_unit_test(span_end_never_before_start),
  };
  return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
