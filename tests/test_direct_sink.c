/* The direct mode's sink (direct_sink.c) against an HTTP server of ours on
 * the same loop: each operation's method, the url with the `path`
 * metadata, the headers Dapr's HTTP binding sets (upper-case metadata keys,
 * Accept, the type, the trace), a failed answer, and the sends it refuses
 * before any request; a pubsub.kafka output without brokers:
 * the publishes it refuses, and a bulk publish's failed entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <uv.h>

#include "direct_sink.h"
#include "http_server.h"

typedef struct {
  uv_loop_t loop;
  ofctx__http_server_t *server;
  int status; /* the server's answer */
  int hits;
  char method[16], path[128], type[128], team[64], body[128];
  char headers[1024]; /* every header but Host and Content-Length, "Name: value\n" each */
  /* the component */
  char url[96];
  char *keys[1], *values[1];
  ofctx__comp_t comp;
  const ofctx__comp_t *outputs[1];
  ofctx__comps_t comps;
  ofctx__retry_policy_t policy;
  ofctx__sink_t *sink;
  /* the result */
  int done;
  ofctx__sink_result_t result;
} fixture_t;

static void serve(void *arg, ofctx__http_request_t *req) {
  fixture_t *f = arg;
  const char *type = ofctx__http_request_header(req, "content-type");
  const char *team = ofctx__http_request_header(req, "x-team");
  size_t len;
  const char *body = ofctx__http_request_body(req, &len);

  f->hits++;
  snprintf(f->method, sizeof f->method, "%s", ofctx__http_request_method(req));
  snprintf(f->path, sizeof f->path, "%s", ofctx__http_request_path(req));
  snprintf(f->type, sizeof f->type, "%s", type ? type : "(none)");
  snprintf(f->team, sizeof f->team, "%s", team ? team : "(none)");
  snprintf(f->body, sizeof f->body, "%.*s", (int)len, body);
  f->headers[0] = '\0';
  for (size_t i = 0, n = 0, count; i < (ofctx__http_request_headers(req, &count), count); i++) {
    const ofctx__http_header_t *h = &ofctx__http_request_headers(req, &count)[i];
    if (strcasecmp(h->name, "Host") != 0 && strcasecmp(h->name, "Content-Length") != 0)
      n += (size_t)snprintf(f->headers + n, n < sizeof f->headers ? sizeof f->headers - n : 0,
                            "%s: %s\n", h->name, h->value);
  }
  ofctx__http_respond(req, f->status, NULL, 0, NULL, 0);
}

static fixture_t *setup_with(const char *url_path) {
  fixture_t *f = calloc(1, sizeof *f);

  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, NULL, serve, f, NULL), 0);
  f->status = 200;
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d%s", ofctx__http_server_port(f->server),
           url_path);
  f->keys[0] = "url";
  f->values[0] = f->url;
  f->comp = (ofctx__comp_t){.file = "http.yaml",
                            .name = "nm",
                            .type = "bindings.http",
                            .type_id = OFCTX__COMP_HTTP_BINDING,
                            .keys = f->keys,
                            .values = f->values,
                            .count = 1};
  f->outputs[0] = &f->comp;
  f->comps = (ofctx__comps_t){.outputs = f->outputs, .output_count = 1};
  ofctx__retry_policy_default(&f->policy);
  f->policy.max_attempts = 2;
  f->policy.backoff_initial_ms = 1;
  f->policy.backoff_max_ms = 2;
  f->sink = ofctx__direct_sink_new(&f->loop, &f->comps, &f->policy, "fn");
  assert_non_null(f->sink);
  return f;
}

static void teardown_fixture(fixture_t *f) {
  f->sink->close(f->sink);
  ofctx__sink_free(f->sink);
  ofctx__http_server_stop(f->server, NULL, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

static void on_done(void *arg, const ofctx__sink_result_t *r) {
  fixture_t *f = arg;
  f->done++;
  f->result = *r;
  f->result.error = NULL; /* valid during the call only */
}

/* Runs `req` until it ends. */
static void send_req(fixture_t *f, const ofctx__send_request_t *req) {
  f->done = 0;
  assert_int_equal(f->sink->start(f->sink, req, on_done, f), OFCTX_OK);
  assert_int_equal(f->done, 0); /* never from inside start */
  while (!f->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, 1);
}

/* A binding send of `op` with the call's metadata `extra` and type `type`;
 * runs until it ends. */
static void send_one(fixture_t *f, const char *op, const char *const *extra, const char *type) {
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .slot = 0,
                               .name = "alerts",
                               .component = "nm",
                               .operation = op,
                               .extra = extra,
                               .content_type = type,
                               .data = "{\"a\":1}",
                               .len = 7};

  send_req(f, &req);
}

/* ofctx_invoke_binding names the component, not an output: the slot is
 * the output count, and the component is found by its name. */
static void by_component_name(void **state) {
  fixture_t *f = setup_with("/hook");
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .slot = 1,
                               .name = "nm",
                               .component = "nm",
                               .operation = "post",
                               .data = "x",
                               .len = 1};

  (void)state;
  f->done = 0;
  assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_OK);
  while (!f->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(f->result.ok);
  assert_string_equal(f->path, "/hook");
  teardown_fixture(f);
}

static void create_is_a_post_to_url_and_path(void **state) {
  fixture_t *f = setup_with("/api/v2/");
  const char *extra[] = {"path", "/alerts", "X-Team", "logs", NULL};

  (void)state;
  send_one(f, "create", extra, NULL);
  assert_true(f->result.ok);
  assert_int_equal(f->result.status, 200);
  assert_int_equal(f->result.grpc_status, -1);
  assert_string_equal(f->method, "POST");
  assert_string_equal(f->path, "/api/v2/alerts"); /* one slash between */
  assert_string_equal(f->type, "application/json; charset=utf-8");
  assert_string_equal(f->team, "logs");
  assert_string_equal(f->body, "{\"a\":1}");
  send_one(f, "post", NULL, "text/plain"); /* no path: the url alone */
  assert_string_equal(f->method, "POST");
  assert_string_equal(f->path, "/api/v2/");
  /* the caller's type never reaches Dapr's binding (no field of the request) */
  assert_string_equal(f->type, "application/json; charset=utf-8");
  assert_string_equal(f->team, "(none)");
  teardown_fixture(f);
}

static void operations_are_methods(void **state) {
  fixture_t *f = setup_with("");
  const char *typed[] = {"Content-Type", "application/xml", "path", "x", NULL};

  (void)state;
  send_one(f, "get", NULL, NULL);
  assert_string_equal(f->method, "GET");
  assert_string_equal(f->path, "/");
  send_one(f, "put", typed, "text/plain"); /* the metadata's type first */
  assert_string_equal(f->method, "PUT");
  assert_string_equal(f->path, "/x");
  assert_string_equal(f->type, "application/xml");
  assert_string_equal(f->body, "{\"a\":1}");
  send_one(f, "patch", NULL, NULL);
  assert_string_equal(f->method, "PATCH");
  send_one(f, "delete", NULL, NULL);
  assert_string_equal(f->method, "DELETE");
  assert_int_equal(f->hits, 4);
  teardown_fixture(f);
}

static void failed_answer(void **state) {
  fixture_t *f = setup_with("/a");

  (void)state;
  f->status = 500;
  send_one(f, "create", NULL, NULL);
  assert_false(f->result.ok);
  assert_int_equal(f->result.status, 500);
  assert_int_equal(f->result.attempts, 2); /* 5xx: tried again, up to the policy */
  f->status = 404;
  send_one(f, "create", NULL, NULL);
  assert_false(f->result.ok);
  assert_int_equal(f->result.attempts, 1); /* any other answer that is not 2xx: at once */
  teardown_fixture(f);
}

/* A create of "x" on output "alerts", with `extra` as its metadata. */
static ofctx__send_request_t x_request(const char *const *extra) {
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .slot = 0,
                               .name = "alerts",
                               .component = "nm",
                               .operation = "create",
                               .extra = extra,
                               .data = "x",
                               .len = 1};
  return req;
}

/* Each of the `n` metadata lists refused before any request. */
static void refused_extras(fixture_t *f, const char *const *const *lists, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ofctx__send_request_t req = x_request(lists[i]);
    assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_EINVAL);
  }
}

static void refused_before_any_request(void **state) {
  fixture_t *f = setup_with("/a");
  const char *crlf[] = {"X-Team", "a\r\nX-Evil: 1", NULL};
  const char *colon[] = {"X:Team", "a", NULL};
  const char *const *refused[] = {crlf, colon};
  ofctx__send_request_t req = x_request(NULL);

  (void)state;
  req.operation = "head";
  assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_EINVAL); /* no such op */
  req.operation = "create";
  refused_extras(f, refused, 2);
  req.kind = OFCTX__SEND_PUBLISH; /* a publish to an HTTP binding */
  assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_ESEND);
  req.kind = OFCTX__SEND_BINDING;
  req.slot = 1; /* ofctx_invoke_binding: by name, a component the context does not name */
  req.component = "other";
  assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_ESEND);
  req.slot = 0;
  f->sink->close(f->sink);
  assert_int_equal(f->sink->start(f->sink, &req, on_done, f), OFCTX_ESEND);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->done, 0);
  assert_int_equal(f->hits, 0);
  teardown_fixture(f);
}

/* A pubsub.kafka output whose brokers are not there: what a publish and a
 * bulk publish refuse before anything is produced (the reason logged), and
 * a bulk publish's answer once its records have failed (librdkafka's
 * message timeout): not from inside start, every entry named. */
typedef struct {
  uv_loop_t loop;
  char *keys[1], *values[1];
  ofctx__comp_t comp;
  const ofctx__comp_t *outputs[1];
  ofctx__comps_t comps;
  ofctx__retry_policy_t policy;
  ofctx__sink_t *sink;
  int done, ok;
  size_t failed_count;
  char failed[64];
} kafka_fixture_t;

static void on_bulk_done(void *arg, const ofctx__sink_result_t *r) {
  kafka_fixture_t *f = arg;

  f->done++;
  f->ok = r->ok;
  f->failed_count = r->failed_count;
  for (size_t i = 0; i < r->failed_count; i++)
    snprintf(f->failed + strlen(f->failed), sizeof f->failed - strlen(f->failed), "%s%s",
             i ? "," : "", r->failed[i]);
  assert_non_null(r->error);
  assert_non_null(strstr(r->error, "2 of 2 entries were not published"));
}

static void kafka_publishes(void **state) {
  kafka_fixture_t *f = calloc(1, sizeof *f);
  const char *const bad_ttl[] = {"ttlInSeconds", "0", NULL};
  const char *const subject[] = {"cloudevent.subject", "s", NULL};
  const char *const team[] = {"team", "a", NULL};
  const char *const raw_maybe[] = {"rawPayload", "maybe", NULL};
  ofctx_bulk_entry_t entries[2] = {{"a", "{\"n\":1}", 7, "application/json", team},
                                   {"b", "hello", 5, "text/plain", NULL}};
  ofctx__send_request_t req = {.kind = OFCTX__SEND_PUBLISH,
                               .slot = 0,
                               .name = "events",
                               .component = "events",
                               .topic = "t",
                               .content_type = "text/plain",
                               .data = "x",
                               .len = 1};

  (void)state;
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->keys[0] = "brokers";
  f->values[0] = "127.0.0.1:1";
  f->comp = (ofctx__comp_t){.file = "events.yaml",
                            .name = "events",
                            .type = "pubsub.kafka",
                            .type_id = OFCTX__COMP_KAFKA_PUBSUB,
                            .keys = f->keys,
                            .values = f->values,
                            .count = 1};
  f->outputs[0] = &f->comp;
  f->comps = (ofctx__comps_t){.outputs = f->outputs, .output_count = 1};
  ofctx__retry_policy_default(&f->policy);
  f->policy.timeout_ms = 200;
  f->sink = ofctx__direct_sink_new(&f->loop, &f->comps, &f->policy, "fn");
  assert_non_null(f->sink);

  /* a publish: metadata the sidecar would take and not apply, refused */
  req.extra = bad_ttl;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  req.extra = subject;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  req.content_type = "application/cloudevents+json";
  req.extra = NULL;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL); /* "x" */

  /* a bulk publish: one bad entry refuses it all */
  req.kind = OFCTX__SEND_PUBLISH_BULK;
  req.content_type = NULL;
  req.data = NULL;
  req.len = 0;
  req.entries = entries;
  req.entry_count = 2;
  entries[1].entry_id = "a";
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL); /* twice */
  entries[1].entry_id = "b";
  entries[1].metadata = bad_ttl;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  entries[1].metadata = raw_maybe;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  entries[1].metadata = NULL;
  entries[0].len = 5; /* {"n": JSON typed, not JSON */
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  entries[0].len = 7;
  entries[1].data = "\xff";
  entries[1].len = 1;
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_EINVAL);
  entries[1].data = "hello";
  entries[1].len = 5;
  assert_int_equal(f->done, 0);

  /* no brokers: each record fails at its timeout, and the answer names both */
  assert_int_equal(f->sink->start(f->sink, &req, on_bulk_done, f), OFCTX_OK);
  assert_int_equal(f->done, 0); /* never from inside start */
  while (!f->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, 1);
  assert_false(f->ok);
  assert_int_equal(f->failed_count, 2);
  assert_string_equal(f->failed, "a,b");

  f->sink->close(f->sink);
  ofctx__sink_free(f->sink);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

/* The path part of the request line: a path with ".." is refused, as
 * Dapr's binding refuses it; one with a control character too, as Go's URL
 * parser does. The caller's type is no header (Dapr's binding never sees
 * it), so a CR/LF in it adds no header line either. */
static void refused_path_and_type_unused(void **state) {
  fixture_t *f = setup_with("/api/v2");
  const char *up[] = {"path", "../admin", NULL};
  const char *crlf[] = {"path", "x\r\nX-Evil: 1", NULL};
  const char *tab[] = {"path", "x\ty", NULL};
  const char *const *refused[] = {up, crlf, tab};
  ofctx__send_request_t req = x_request(NULL);

  (void)state;
  refused_extras(f, refused, 3);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->done, 0);
  assert_int_equal(f->hits, 0);
  req.content_type = "text/plain\r\nX-Evil: 1";
  send_req(f, &req);
  assert_true(f->result.ok);
  assert_null(strstr(f->headers, "Evil"));
  assert_string_equal(f->type, "application/json; charset=utf-8");
  teardown_fixture(f);
}

/* A space in the path goes as %20, as Dapr's binding (Go) sends it: curl
 * refused the URL, and the send failed on every attempt. */
static void space_in_path_is_escaped(void **state) {
  fixture_t *f = setup_with("/api/v2/");
  const char *spaced[] = {"path", "/pod alerts/a b", NULL};

  (void)state;
  send_one(f, "create", spaced, NULL);
  assert_true(f->result.ok);
  assert_int_equal(f->hits, 1);
  assert_string_equal(f->path, "/api/v2/pod%20alerts/a%20b");
  teardown_fixture(f);
}

/* The headers are those Dapr's HTTP binding sets: only the metadata whose
 * key starts with an upper-case letter, in Go's canonical form, sorted as
 * Go writes them; Accept and (with a body) Content-Type by default; Host,
 * Content-Length, Transfer-Encoding and Trailer never from the metadata
 * (Go writes its own); a lower-case key is no header. A GET has no
 * Content-Type; the operation is matched in any case, as Dapr upper-cases
 * it. */
static void headers_as_dapr_sends_them(void **state) {
  fixture_t *f = setup_with("/a");
  const char *extra[] = {"X-Team",
                         "logs",
                         "team",
                         "lower",
                         "x-lower",
                         "v",
                         "X-API-KEY",
                         "k",
                         "Accept",
                         "text/plain",
                         "Content-Length",
                         "999",
                         "Host",
                         "evil",
                         "errorIfNot2XX",
                         "true",
                         "X-Empty",
                         "",
                         "X-Team",
                         "later wins",
                         "Transfer-Encoding",
                         "chunked",
                         NULL};
  const char *typed[] = {"content-type", "text/xml", "CONTENT-TYPE", "application/xml", NULL};

  (void)state;
  send_one(f, "create", extra, NULL);
  assert_true(f->result.ok);
  assert_string_equal(f->body, "{\"a\":1}");
  assert_string_equal(f->headers, "Accept: text/plain\n"
                                  "Content-Type: application/json; charset=utf-8\n"
                                  "X-Api-Key: k\n"
                                  "X-Empty: \n"
                                  "X-Team: later wins\n");
  send_one(f, "get", NULL, "text/plain");
  assert_string_equal(f->method, "GET");
  assert_string_equal(f->headers, "Accept: application/json; charset=utf-8\n");
  send_one(f, "PUT", typed, NULL);
  assert_string_equal(f->method, "PUT");
  assert_string_equal(f->headers, "Accept: application/json; charset=utf-8\n"
                                  "Content-Type: application/xml\n");
  teardown_fixture(f);
}

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* The trace as daprd gives it to the binding: its traceparent and (when
 * not empty) tracestate metadata, which Dapr's HTTP binding sends as
 * headers; with tracing on, the send's own over the caller's; never the
 * baggage. With tracing off, a caller's traceparent entry goes as it is. */
static void trace_headers(void **state) {
  fixture_t *f = setup_with("/a");
  const char *own[] = {"traceparent", "00-11111111111111111111111111111111-2222222222222222-01",
                       "Traceparent", "x", NULL};
  ofctx__send_request_t req = {.kind = OFCTX__SEND_BINDING,
                               .slot = 0,
                               .name = "alerts",
                               .component = "nm",
                               .operation = "create",
                               .extra = own,
                               .data = "x",
                               .len = 1,
                               .traceparent = TP,
                               .tracestate = "a=1",
                               .baggage = "team=pay"};

  (void)state;
  send_req(f, &req);
  assert_string_equal(f->headers, "Accept: application/json; charset=utf-8\n"
                                  "Content-Type: application/json; charset=utf-8\n"
                                  "Traceparent: " TP "\n"
                                  "Tracestate: a=1\n");
  req.tracestate = "";
  req.extra = NULL;
  send_req(f, &req);
  assert_null(strstr(f->headers, "Tracestate"));
  assert_non_null(strstr(f->headers, "Traceparent: " TP "\n"));
  req.traceparent = req.tracestate = req.baggage = NULL; /* tracing off */
  req.extra = own;
  send_req(f, &req);
  assert_non_null(
      strstr(f->headers, "Traceparent: 00-11111111111111111111111111111111-2222222222222222-01\n"));
  teardown_fixture(f);
}

/* What Go's client or Dapr's binding would refuse: a header name that is
 * not a token, a value with a control character, an errorIfNot2XX of the
 * call that is not true (the direct mode fails every answer that is not
 * 2xx), a metadata entry without a value. */
static void refused_headers(void **state) {
  fixture_t *f = setup_with("/a");
  const char *space[] = {"X Team", "a", NULL};
  const char *ctl[] = {"X-Team", "a\x01", NULL};
  const char *lax[] = {"errorIfNot2XX", "false", NULL};
  const char *no_value[] = {"X-Team", NULL, NULL};
  const char *lower_ok[] = {"x team", "a\x01", "errorIfNot2XX", "YES", NULL};
  const char *const *refused[] = {space, ctl, lax, no_value};
  /* no header: Dapr's binding leaves it; YES is true to Dapr */
  ofctx__send_request_t req = x_request(lower_ok);

  (void)state;
  refused_extras(f, refused, 4);
  assert_int_equal(f->hits, 0);
  send_req(f, &req);
  assert_true(f->result.ok);
  teardown_fixture(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_is_a_post_to_url_and_path),
      cmocka_unit_test(operations_are_methods),
      cmocka_unit_test(failed_answer),
      cmocka_unit_test(by_component_name),
      cmocka_unit_test(refused_before_any_request),
      cmocka_unit_test(refused_path_and_type_unused),
      cmocka_unit_test(space_in_path_is_escaped),
      cmocka_unit_test(kafka_publishes),
      cmocka_unit_test(headers_as_dapr_sends_them),
      cmocka_unit_test(trace_headers),
      cmocka_unit_test(refused_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
