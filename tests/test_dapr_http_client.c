/* The sidecar client against a scripted sidecar (our own HTTP server) on the
 * same loop: answers, retries and back-off, 4xx without retry, timeouts,
 * refused connections, oversized answers, tokens, keep-alive, cancellation
 * (the back-off itself: test_retry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "dapr_http_client.h"
#include "http_server.h"

typedef struct {
  uv_loop_t loop;
  ofctx__http_server_t *server;
  ofctx__dapr_http_client_t *client;
  int port;
  int hits;       /* requests the sidecar saw */
  int fail_first; /* /flaky answers 503 this many times */
  char last_token[128];
  char last_body[256];
  char last_type[128];
  char last_method[16];
  char last_if_match[64];
  char etag[64]; /* the result's */
  uv_timer_t slow;
  ofctx__http_request_t *held[8]; /* /slow requests, answered 400 ms later */
  size_t nheld;
  /* the result */
  int done;
  ofctx__dapr_result_t result;
  char error[256];
  char body[256];
} fixture_t;

static void answer_slow(uv_timer_t *timer) {
  fixture_t *f = timer->data;
  for (size_t i = 0; i < f->nheld; i++)
    ofctx__http_respond(f->held[i], 204, NULL, 0, NULL, 0);
  f->nheld = 0;
}

static void sidecar(void *arg, ofctx__http_request_t *req) {
  fixture_t *f = arg;
  const char *path = ofctx__http_request_path(req);
  const char *token = ofctx__http_request_header(req, "dapr-api-token");
  const char *type = ofctx__http_request_header(req, "content-type");
  size_t len;
  const char *body = ofctx__http_request_body(req, &len);
  static char big[8192];

  f->hits++;
  snprintf(f->last_token, sizeof f->last_token, "%s", token ? token : "(none)");
  snprintf(f->last_type, sizeof f->last_type, "%s", type ? type : "(none)");
  snprintf(f->last_method, sizeof f->last_method, "%s", ofctx__http_request_method(req));
  snprintf(f->last_body, sizeof f->last_body, "%.*s", (int)len, body);
  snprintf(f->last_if_match, sizeof f->last_if_match, "%s",
           ofctx__http_request_header(req, "if-match") ? ofctx__http_request_header(req, "if-match")
                                                       : "(none)");
  if (strcmp(path, "/v1.0/state/s/k") == 0) {
    ofctx__http_header_t etag = {"ETag", "\"7\""};
    ofctx__http_respond(req, 200, &etag, 1, "{}", 2);
  } else if (strcmp(path, "/v1.0/bindings/ok") == 0) {
    ofctx__http_respond(req, 204, NULL, 0, NULL, 0);
  } else if (strcmp(path, "/v1.0/bindings/echo") == 0) {
    ofctx__http_respond(req, 200, NULL, 0, body, len);
  } else if (strcmp(path, "/v1.0/bindings/flaky") == 0) {
    if (f->fail_first-- > 0)
      ofctx__http_respond(req, 503, NULL, 0, "{\"errorCode\":\"X\"}", 17);
    else
      ofctx__http_respond(req, 200, NULL, 0, "fine", 4);
  } else if (strcmp(path, "/v1.0/bindings/busy") == 0) {
    ofctx__http_respond(req, 429, NULL, 0, NULL, 0);
  } else if (strcmp(path, "/v1.0/bindings/bad") == 0) {
    ofctx__http_respond(req, 400, NULL, 0, "{\"errorCode\":\"ERR_MALFORMED_REQUEST\"}", 37);
  } else if (strcmp(path, "/v1.0/bindings/big") == 0) {
    memset(big, 'b', sizeof big);
    ofctx__http_respond(req, 200, NULL, 0, big, sizeof big);
  } else if (strcmp(path, "/v1.0/bindings/slow") == 0) {
    assert_true(f->nheld < 8);
    f->held[f->nheld++] = req;
    uv_timer_start(&f->slow, answer_slow, 400, 0);
  } else {
    ofctx__http_respond(req, 404, NULL, 0, NULL, 0);
  }
}

static void on_done(void *arg, const ofctx__dapr_result_t *r) {
  fixture_t *f = arg;
  f->done++;
  f->result = *r;
  snprintf(f->error, sizeof f->error, "%s", r->error ? r->error : "");
  snprintf(f->body, sizeof f->body, "%.*s", (int)(r->body_len > 200 ? 200 : r->body_len), r->body);
  snprintf(f->etag, sizeof f->etag, "%s", r->etag);
  f->result.error = f->error;
  f->result.body = f->body;
}

static ofctx__retry_policy_t fast_policy(void) {
  ofctx__retry_policy_t p;
  ofctx__retry_policy_default(&p);
  p.backoff_initial_ms = 5;
  p.backoff_max_ms = 20;
  p.timeout_ms = 2000;
  return p;
}

static fixture_t *setup_with(const char *token, int sidecar_up) {
  fixture_t *f = calloc(1, sizeof *f);
  ofctx__retry_policy_t p = fast_policy();
  assert_int_equal(uv_loop_init(&f->loop), 0);
  uv_timer_init(&f->loop, &f->slow);
  f->slow.data = f;
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, NULL, sidecar, f, NULL), 0);
  f->port = ofctx__http_server_port(f->server);
  if (!sidecar_up) { /* nobody listens there any more */
    ofctx__http_server_stop(f->server, NULL, NULL);
    f->server = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
  }
  assert_int_equal(
      ofctx__dapr_http_client_new(&f->client, &f->loop, "127.0.0.1", f->port, token, &p), 0);
  return f;
}

static void teardown_fixture(fixture_t *f) {
  ofctx__dapr_http_client_close(f->client, NULL, NULL);
  answer_slow(&f->slow);
  if (f->server)
    ofctx__http_server_stop(f->server, NULL, NULL);
  uv_close((uv_handle_t *)&f->slow, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

/* Makes one call and runs the loop until it is done. */
static void call_with(fixture_t *f, const char *method, const char *path, const char *type,
                      const char *body, const ofctx__retry_policy_t *policy) {
  f->done = 0;
  assert_int_equal(
      ofctx__dapr_call(f->client, method, path, type, NULL, body, strlen(body), policy, on_done, f),
      0);
  while (!f->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->done, 1);
  assert_int_equal(ofctx__dapr_http_client_pending(f->client), 0);
}

static void call(fixture_t *f, const char *path, const char *body,
                 const ofctx__retry_policy_t *policy) {
  call_with(f, "POST", path, "application/json", body, policy);
}

/* Calls reuse curl handles: nothing of one call's method, body or type
 * carries over to the next. */
static void reused_handles_start_clean(void **state) {
  fixture_t *f = setup_with(NULL, 1);

  call(f, "/v1.0/bindings/echo", "{\"data\":1}", NULL);
  call_with(f, "GET", "/v1.0/bindings/echo", NULL, "", NULL);
  assert_true(f->result.ok);
  assert_string_equal(f->last_method, "GET");
  assert_string_equal(f->last_body, "");
  assert_string_equal(f->last_type, "(none)");
  call_with(f, "PUT", "/v1.0/bindings/echo", "text/plain", "abc", NULL);
  assert_string_equal(f->last_method, "PUT");
  assert_string_equal(f->last_body, "abc");
  assert_string_equal(f->last_type, "text/plain");
  call(f, "/v1.0/bindings/echo", "{}", NULL);
  assert_string_equal(f->last_method, "POST");
  assert_string_equal(f->last_body, "{}");
  assert_string_equal(f->last_type, "application/json");
  assert_int_equal(f->hits, 4);
  teardown_fixture(f);
}

/* A state read gets the answer's ETag, a delete goes without a body and
 * with the caller's lines; the next call does not keep the ETag. */
static void etags_and_delete(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  const char *lines[] = {"If-Match: 3", NULL};

  call_with(f, "GET", "/v1.0/state/s/k", NULL, "", NULL);
  assert_int_equal(f->result.status, 200);
  assert_string_equal(f->etag, "\"7\"");
  f->done = 0;
  assert_int_equal(ofctx__dapr_call(f->client, "DELETE", "/v1.0/bindings/ok", "application/json",
                                    lines, "", 0, NULL, on_done, f),
                   0);
  while (!f->done)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_string_equal(f->last_method, "DELETE");
  assert_string_equal(f->last_body, "");
  assert_string_equal(f->last_if_match, "3");
  assert_string_equal(f->etag, "");
  teardown_fixture(f);
}

static void success_and_headers(void **state) {
  fixture_t *f = setup_with("s3cr3t", 1);

  call(f, "/v1.0/bindings/echo", "{\"data\":1}", NULL);
  assert_true(f->result.ok);
  assert_int_equal(f->result.status, 200);
  assert_int_equal(f->result.attempts, 1);
  assert_string_equal(f->body, "{\"data\":1}");
  assert_string_equal(f->last_token, "s3cr3t");
  assert_string_equal(f->last_type, "application/json");
  call(f, "/v1.0/bindings/ok", "{}", NULL);
  assert_true(f->result.ok);
  assert_int_equal(f->result.status, 204);
  /* both calls went over one kept-alive connection */
  assert_int_equal(ofctx__http_server_connections(f->server), 1);
  teardown_fixture(f);
}

static void no_token_no_header(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  call(f, "/v1.0/bindings/ok", "{}", NULL);
  assert_string_equal(f->last_token, "(none)");
  teardown_fixture(f);
}

static void retries_5xx_then_succeeds(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  f->fail_first = 2;
  call(f, "/v1.0/bindings/flaky", "{}", NULL);
  assert_true(f->result.ok);
  assert_int_equal(f->result.attempts, 3);
  assert_int_equal(f->hits, 3);
  assert_string_equal(f->body, "fine");
  teardown_fixture(f);
}

static void retries_are_bounded(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  f->fail_first = 100;
  call(f, "/v1.0/bindings/flaky", "{}", NULL);
  assert_false(f->result.ok);
  assert_int_equal(f->result.status, 503);
  assert_int_equal(f->result.attempts, 4);
  assert_int_equal(f->hits, 4);
  assert_string_equal(f->error, "HTTP status 503");
  assert_string_equal(f->body, "{\"errorCode\":\"X\"}");
  /* 429 is retried too */
  f->hits = 0;
  call(f, "/v1.0/bindings/busy", "{}", NULL);
  assert_int_equal(f->hits, 4);
  teardown_fixture(f);
}

static void client_errors_are_not_retried(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  call(f, "/v1.0/bindings/bad", "{", NULL);
  assert_false(f->result.ok);
  assert_int_equal(f->result.status, 400);
  assert_int_equal(f->result.attempts, 1);
  assert_int_equal(f->hits, 1);
  assert_string_equal(f->body, "{\"errorCode\":\"ERR_MALFORMED_REQUEST\"}");
  call(f, "/v1.0/bindings/missing", "{}", NULL);
  assert_int_equal(f->result.status, 404);
  assert_int_equal(f->hits, 2);
  teardown_fixture(f);
}

static void timeouts_are_retried(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  ofctx__retry_policy_t p = fast_policy();
  p.timeout_ms = 100; /* the sidecar answers after 400 ms */
  p.max_attempts = 2;
  call(f, "/v1.0/bindings/slow", "{}", &p);
  assert_false(f->result.ok);
  assert_int_equal(f->result.status, 0);
  assert_int_equal(f->result.attempts, 2);
  assert_non_null(strstr(f->error, "imed out"));
  teardown_fixture(f);
}

static void refused_connections(void **state) {
  fixture_t *f = setup_with(NULL, 0);
  call(f, "/v1.0/bindings/ok", "{}", NULL);
  assert_false(f->result.ok);
  assert_int_equal(f->result.status, 0);
  assert_int_equal(f->result.attempts, 4);
  assert_true(strlen(f->error) > 0);
  teardown_fixture(f);
}

/* A URL that libcurl refuses before any connection (a port past 65535):
 * every attempt fails at once, each retry is driven like the first (a
 * retry added to curl's multi while its timer stood at the same instant
 * was never run, and the call never ended), and the call ends failed. */
static void refused_urls_end(void **state) {
  fixture_t *f = setup_with(NULL, 0);
  ofctx__retry_policy_t p = fast_policy();
  (void)state;

  ofctx__dapr_http_client_close(f->client, NULL, NULL);
  assert_int_equal(ofctx__http_client_new(&f->client, &f->loop, "http://127.0.0.1:99999", NULL, &p),
                   0);
  call(f, "/x", "{}", &p);
  assert_false(f->result.ok);
  assert_int_equal(f->result.attempts, 4);
  assert_true(strlen(f->error) > 0);
  teardown_fixture(f);
}

static void oversized_answers_fail(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  ofctx__retry_policy_t p = fast_policy();
  p.max_response_size = 1000;
  call(f, "/v1.0/bindings/big", "{}", &p);
  assert_false(f->result.ok);
  assert_int_equal(f->result.attempts, 1);
  assert_string_equal(f->error, "the answer is larger than 1000 bytes");
  teardown_fixture(f);
}

static void close_cancels_in_flight(void **state) {
  fixture_t *f = setup_with(NULL, 1);
  f->done = 0;
  assert_int_equal(ofctx__dapr_call(f->client, "POST", "/v1.0/bindings/slow", NULL, NULL, "x", 1,
                                    NULL, on_done, f),
                   0);
  assert_int_equal(ofctx__dapr_http_client_pending(f->client), 1);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ofctx__dapr_http_client_close(f->client, NULL, NULL);
  assert_int_equal(f->done, 1);
  assert_false(f->result.ok);
  assert_string_equal(f->error, "cancelled");
  /* the sidecar still has the request; answer it so the server can stop */
  ofctx__http_server_stop(f->server, NULL, NULL);
  uv_close((uv_handle_t *)&f->slow, NULL);
  answer_slow(&f->slow);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(success_and_headers),
      cmocka_unit_test(no_token_no_header),
      cmocka_unit_test(etags_and_delete),
      cmocka_unit_test(reused_handles_start_clean),
      cmocka_unit_test(retries_5xx_then_succeeds),
      cmocka_unit_test(retries_are_bounded),
      cmocka_unit_test(client_errors_are_not_retried),
      cmocka_unit_test(timeouts_are_retried),
      cmocka_unit_test(refused_connections),
      cmocka_unit_test(refused_urls_end),
      cmocka_unit_test(oversized_answers_fail),
      cmocka_unit_test(close_cancels_in_flight),
  };
  return cmocka_run_group_tests_name("dapr_http_client", tests, NULL, NULL);
}
