/* The OTLP exporter against a collector played by our own HTTP server on
 * the same loop: batches by size and by time, the bounded queue and its
 * drops, failed exports, gzip, the headers on the request and never in the
 * logs, the endpoint's path, and the flush at close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>
#include <zlib.h>

#include "config_impl.h"
#include "http_server.h"
#include "mem.h"
#include "metrics.h"
#include "otlp_exporter.h"
#include "otlp_trace.pb-c.h"

typedef struct {
  uv_loop_t loop;
  ofctx__http_server_t *server;
  ofctx__otlp_exporter_t *exporter;
  ofctx__metrics_t metrics;
  char endpoint[64];
  int status;   /* the collector's answer */
  int requests; /* export requests seen */
  size_t spans; /* spans in them, decoded */
  char path[64];
  char type[64];
  char encoding[32];
  char secret[64]; /* the x-secret header */
  int closed;
  int hold; /* requests are kept unanswered (until teardown) */
  ofctx__http_request_t *held[8];
  size_t held_count;
} fixture_t;

/* The body as protobuf-c reads it (inflated first when gzipped): its
 * spans, or -1 when it is not an export request. */
static long decode(const char *body, size_t len, int gzipped) {
  static uint8_t out[1 << 20];
  const uint8_t *data = (const uint8_t *)body;
  Ofctx__Otlp__ExportTraceServiceRequest *req;
  long n = 0;

  if (gzipped) {
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = sizeof out;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    len = z.total_out;
    inflateEnd(&z);
    data = out;
  }
  req = ofctx__otlp__export_trace_service_request__unpack(NULL, len, data);
  if (!req)
    return -1;
  for (size_t i = 0; i < req->n_resource_spans; i++)
    for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
      n += (long)req->resource_spans[i]->scope_spans[j]->n_spans;
  ofctx__otlp__export_trace_service_request__free_unpacked(req, NULL);
  return n;
}

static void collector(void *arg, ofctx__http_request_t *req) {
  fixture_t *f = arg;
  const char *h;
  size_t len;
  const char *body = ofctx__http_request_body(req, &len);
  long n;

  f->requests++;
  snprintf(f->path, sizeof f->path, "%s", ofctx__http_request_path(req));
  h = ofctx__http_request_header(req, "content-type");
  snprintf(f->type, sizeof f->type, "%s", h ? h : "(none)");
  h = ofctx__http_request_header(req, "content-encoding");
  snprintf(f->encoding, sizeof f->encoding, "%s", h ? h : "(none)");
  h = ofctx__http_request_header(req, "x-secret");
  snprintf(f->secret, sizeof f->secret, "%s", h ? h : "(none)");
  n = decode(body, len, strcmp(f->encoding, "gzip") == 0);
  assert_true(n >= 0);
  f->spans += (size_t)n;
  if (f->hold && f->held_count < 8) {
    f->held[f->held_count++] = req;
    return;
  }
  ofctx__http_respond(req, f->status, NULL, 0, NULL, 0);
}

static fixture_t *setup_fixture(int collector_up) {
  fixture_t *f = calloc(1, sizeof *f);

  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(ofctx__metrics_init(&f->metrics, NULL, 0, NULL, 0), 0);
  f->status = 200;
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, NULL, collector, f, NULL), 0);
  snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%d",
           ofctx__http_server_port(f->server));
  if (!collector_up) { /* nobody listens there any more */
    ofctx__http_server_stop(f->server, NULL, NULL);
    f->server = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
  }
  return f;
}

static void start(fixture_t *f, size_t queue_max, size_t batch_max, uint64_t interval_ms,
                  int gzip) {
  ofctx__span_attr_t resource[] = {{"service.name", "fn"}};
  ofctx__otlp_opts_t opts = {.endpoint = f->endpoint,
                             .headers = "x-secret: s3cr3t-value\n",
                             .gzip = gzip,
                             .timeout_ms = f->hold ? 50 : 2000,
                             .queue_max = queue_max,
                             .batch_max = batch_max,
                             .interval_ms = interval_ms,
                             .resource = resource,
                             .resource_count = 1};

  assert_int_equal(ofctx__otlp_exporter_new(&f->exporter, &f->loop, &opts, &f->metrics), OFCTX_OK);
  assert_true(f->metrics.spans_on);
}

static void on_closed(void *arg) { ((fixture_t *)arg)->closed = 1; }

static void teardown_fixture(fixture_t *f) {
  if (f->exporter) {
    ofctx__otlp_exporter_close(f->exporter, 1000, on_closed, f);
    while (!f->closed)
      uv_run(&f->loop, UV_RUN_ONCE);
  }
  for (size_t i = 0; i < f->held_count; i++)
    ofctx__http_respond(f->held[i], 200, NULL, 0, NULL, 0);
  if (f->server)
    ofctx__http_server_stop(f->server, NULL, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  ofctx__metrics_free(&f->metrics);
  free(f);
}

/* Ends a new span and hands it to the exporter. */
static void add_span(fixture_t *f) {
  ofctx__span_t *span = ofctx__span_new(NULL, NULL, "in");
  ofctx__span_desc_t d = {.span = span, .kind = OFCTX__OTLP_SERVER, .name = "fn"};

  ofctx__span_end(span);
  ofctx__otlp_exporter_add(f->exporter, &d);
  ofctx__span_free(span);
}

static void run_until(fixture_t *f, size_t spans_done) {
  while (f->metrics.spans_exported + f->metrics.spans_dropped[0] + f->metrics.spans_dropped[1] +
             f->metrics.spans_dropped[2] <
         spans_done)
    uv_run(&f->loop, UV_RUN_ONCE);
}

/* A full batch goes at once (the interval is a minute), never from inside
 * add: with the headers, the type, to /v1/traces. */
static void batch_on_size(void **state) {
  fixture_t *f = setup_fixture(1);

  (void)state;
  start(f, 100, 3, 60000, 0);
  for (int i = 0; i < 3; i++)
    add_span(f);
  assert_int_equal(f->requests, 0); /* nothing is sent from add */
  assert_int_equal(ofctx__otlp_exporter_queued(f->exporter), 3);
  run_until(f, 3);
  assert_int_equal(f->requests, 1);
  assert_int_equal(f->spans, 3);
  assert_int_equal(f->metrics.spans_exported, 3);
  assert_string_equal(f->path, "/v1/traces");
  assert_string_equal(f->type, "application/x-protobuf");
  assert_string_equal(f->encoding, "(none)");
  assert_string_equal(f->secret, "s3cr3t-value");
  teardown_fixture(f);
}

/* A batch that does not fill goes when the interval is over; more spans
 * than a batch go in several requests. */
static void batch_on_interval(void **state) {
  fixture_t *f = setup_fixture(1);

  (void)state;
  start(f, 100, 4, 10, 0);
  for (int i = 0; i < 6; i++)
    add_span(f);
  run_until(f, 6);
  assert_int_equal(f->requests, 2);
  assert_int_equal(f->spans, 6);
  assert_int_equal(f->metrics.spans_exported, 6);
  assert_int_equal(ofctx__otlp_exporter_queued(f->exporter), 0);
  teardown_fixture(f);
}

/* Beyond the bound spans are dropped and counted; the rest still go. */
static void bounded_queue(void **state) {
  fixture_t *f = setup_fixture(1);
  ofctx__buf_t page = {0};
  ofctx__metrics_gauges_t gauges = {0, 0};

  (void)state;
  start(f, 5, 100, 10, 0);
  for (int i = 0; i < 8; i++)
    add_span(f);
  assert_int_equal(ofctx__otlp_exporter_queued(f->exporter), 5);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_QUEUE_FULL], 3);
  run_until(f, 8);
  assert_int_equal(f->spans, 5);
  ofctx__metrics_render(&f->metrics, &gauges, &page);
  assert_non_null(strstr(page.data, "ofctx_spans_exported_total 5\n"));
  assert_non_null(strstr(page.data, "ofctx_spans_dropped_total{reason=\"queue_full\"} 3\n"));
  assert_non_null(strstr(page.data, "ofctx_spans_dropped_total{reason=\"export_failed\"} 0\n"));
  ofctx__buf_free(&page);
  teardown_fixture(f);
}

/* gzip: the header, and a body that inflates into the export request. */
static void gzipped(void **state) {
  fixture_t *f = setup_fixture(1);

  (void)state;
  start(f, 100, 2, 60000, 1);
  add_span(f);
  add_span(f);
  run_until(f, 2);
  assert_string_equal(f->encoding, "gzip");
  assert_int_equal(f->spans, 2); /* the collector inflated and decoded them */
  teardown_fixture(f);
}

/* Runs a failing export with stderr in a file: what was logged. */
static char *failing_export(fixture_t *f) {
  static char text[8192];
  FILE *tmp = tmpfile();
  int saved = dup(2);
  size_t n;

  fflush(stderr);
  dup2(fileno(tmp), 2);
  add_span(f);
  add_span(f);
  run_until(f, 2);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  n = fread(text, 1, sizeof text - 1, tmp);
  text[n] = '\0';
  fclose(tmp);
  return text;
}

/* A refused export drops its spans as export_failed and says so once,
 * without the headers; a 500 is not tried again. */
static void failed_export_is_counted_and_keeps_secrets(void **state) {
  fixture_t *f = setup_fixture(1);
  char *log;

  (void)state;
  f->status = 500; /* not retried: OTLP/HTTP says a 500 is final */
  start(f, 100, 2, 60000, 0);
  log = failing_export(f);
  assert_int_equal(f->requests, 1);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_EXPORT_FAILED], 2);
  assert_int_equal(f->metrics.spans_exported, 0);
  assert_non_null(strstr(log, "span export failed"));
  assert_null(strstr(log, "s3cr3t"));
  teardown_fixture(f);
}

/* No collector at all: the same, after the retries. */
static void collector_down(void **state) {
  fixture_t *f = setup_fixture(0);
  char *log;

  (void)state;
  start(f, 100, 2, 60000, 0);
  log = failing_export(f);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_EXPORT_FAILED], 2);
  assert_non_null(strstr(log, "span export failed"));
  assert_non_null(strstr(log, f->endpoint)); /* where it looked */
  assert_null(strstr(log, "sidecar"));       /* not the sidecar's variables */
  assert_null(strstr(log, "s3cr3t"));
  teardown_fixture(f);
}

/* A collector that never answers: each attempt ends at the exporter's
 * timeout, and the spans are dropped after the last. */
static void timeout_honoured(void **state) {
  fixture_t *f = setup_fixture(1);

  (void)state;
  f->hold = 1;
  start(f, 100, 1, 60000, 0);
  add_span(f);
  run_until(f, 1);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_EXPORT_FAILED], 1);
  assert_int_equal(f->requests, 3); /* each attempt timed out, then another was made */
  teardown_fixture(f);
}

/* Closing sends what is queued before the exporter goes. */
static void close_flushes(void **state) {
  fixture_t *f = setup_fixture(1);

  (void)state;
  start(f, 100, 2, 60000, 0);
  for (int i = 0; i < 3; i++)
    add_span(f);
  ofctx__otlp_exporter_close(f->exporter, 5000, on_closed, f);
  while (!f->closed)
    uv_run(&f->loop, UV_RUN_ONCE);
  f->exporter = NULL;
  assert_int_equal(f->spans, 3);
  assert_int_equal(f->metrics.spans_exported, 3);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_SHUTDOWN], 0);
  teardown_fixture(f);
}

/* A close whose bound runs out drops what is left as shutdown. */
static void close_bound_drops(void **state) {
  fixture_t *f = setup_fixture(0); /* retries keep the export in flight */

  (void)state;
  start(f, 100, 2, 60000, 0);
  for (int i = 0; i < 5; i++)
    add_span(f);
  ofctx__otlp_exporter_close(f->exporter, 1, on_closed, f);
  while (!f->closed)
    uv_run(&f->loop, UV_RUN_ONCE);
  f->exporter = NULL;
  assert_int_equal(f->metrics.spans_exported, 0);
  assert_int_equal(f->metrics.spans_dropped[OFCTX__SPANS_EXPORT_FAILED] +
                       f->metrics.spans_dropped[OFCTX__SPANS_SHUTDOWN],
                   5);
  assert_true(f->metrics.spans_dropped[OFCTX__SPANS_SHUTDOWN] >= 3);
  teardown_fixture(f);
}

/* The endpoint is a base URL (OTEL_EXPORTER_OTLP_ENDPOINT): /v1/traces is
 * appended to its path, unless it already ends with it. */
static void endpoint_paths(void **state) {
  char path[64];
  size_t base;

  (void)state;
  assert_int_equal(ofctx__otlp_path("http://c:4318", path, sizeof path, &base), 0);
  assert_string_equal(path, "/v1/traces");
  assert_int_equal(base, strlen("http://c:4318"));
  assert_int_equal(ofctx__otlp_path("https://c/", path, sizeof path, &base), 0);
  assert_string_equal(path, "/v1/traces");
  assert_int_equal(base, strlen("https://c"));
  assert_int_equal(ofctx__otlp_path("http://c:4318/otlp/", path, sizeof path, &base), 0);
  assert_string_equal(path, "/otlp/v1/traces");
  assert_int_equal(ofctx__otlp_path("http://c/api/v1/traces", path, sizeof path, &base), 0);
  assert_string_equal(path, "/api/v1/traces");
  assert_int_equal(ofctx__otlp_path("http://c/a/very/long/path", path, 16, &base), -1);
}

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

/* The context's exporter: its headers decoded and trimmed into lines kept
 * apart from the document; an exporter only for otlp over http/protobuf. */
static void from_the_context(void **state) {
  static const char *const contexts[] = {
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"pluginsTracing\":{\"enabled\":true,"
      "\"provider\":{\"name\":\"opentelemetry\",\"exporter\":{\"endpoint\":\"http://"
      "127.0.0.1:1/p\",\"headers\":\" x-tenant = acme ,authorization=Bearer%20s3cr3t,\"}}}}",
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"pluginsTracing\":{\"enabled\":true,"
      "\"provider\":{\"name\":\"opentelemetry\",\"exporter\":{\"name\":\"jaeger\"}}}}",
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"pluginsTracing\":{\"enabled\":true,"
      "\"provider\":{\"name\":\"opentelemetry\",\"exporter\":{\"protocol\":\"grpc\"}}}}",
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"pluginsTracing\":{\"enabled\":true,"
      "\"provider\":{\"name\":\"opentelemetry\"}}}"};
  uv_loop_t loop;

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  for (size_t i = 0; i < sizeof contexts / sizeof *contexts; i++) {
    ofctx_config_t *cfg;
    ofctx_error_t err;
    ofctx__otlp_exporter_t *e = NULL;
    char *json;
    assert_int_equal(
        ofctx_config_parse(&cfg, NULL, contexts[i], strlen(contexts[i]), self_host, NULL, &err),
        OFCTX_OK);
    json = ofctx_config_to_json(cfg);
    assert_null(strstr(json, "s3cr3t"));
    ofctx__free(json);
    assert_int_equal(ofctx__otlp_exporter_from_config(&e, &loop, cfg, NULL), OFCTX_OK);
    if (i == 0) {
      assert_string_equal(cfg->exporter_headers, "x-tenant: acme\nauthorization: Bearer s3cr3t\n");
      assert_string_equal(ofctx__config_exporter(cfg, "timeout"), "10000");
      assert_non_null(e);
      ofctx__otlp_exporter_close(e, 0, NULL, NULL);
    } else {
      assert_null(cfg->exporter_headers);
      assert_null(e); /* nothing exported */
    }
    ofctx_config_free(cfg);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(batch_on_size),
      cmocka_unit_test(batch_on_interval),
      cmocka_unit_test(bounded_queue),
      cmocka_unit_test(gzipped),
      cmocka_unit_test(failed_export_is_counted_and_keeps_secrets),
      cmocka_unit_test(collector_down),
      cmocka_unit_test(timeout_honoured),
      cmocka_unit_test(close_flushes),
      cmocka_unit_test(close_bound_drops),
      cmocka_unit_test(endpoint_paths),
      cmocka_unit_test(from_the_context),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
