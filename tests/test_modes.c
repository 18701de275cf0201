#define _DEFAULT_SOURCE 1
/* The Async and Knative modes on their own: each behind a real HTTP server
 * on loopback, with a host whose function describes the event it got, and
 * no runtime. The routes each mode takes, the answers Dapr and users get,
 * and the event (kind, input, data, metadata, attributes, parameters) the
 * function sees. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "http_server.h"
#include "invocation.h"
#include "metrics.h"
#include "mode.h"
#include "ofctx/ofctx.h"

/* The function: its reply describes the event. */
static ofctx_result_t describe(ofctx_t *ctx, const ofctx_event_t *in) {
  char reply[1024];
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  const char *md = ofctx_event_metadata_count(in) ? ofctx_event_metadata_key(in, 0) : "-";
  const char *id = ofctx_event_attribute(in, "id");
  const char *name = ofctx_event_param(in, "name");
  int n = snprintf(reply, sizeof reply, "kind=%d input=%s data=%.*s md0=%s id=%s name=%s",
                   (int)ofctx_event_kind(in), ofctx_event_input(in), (int)len, data, md,
                   id ? id : "-", name ? name : "-");
  ofctx_set_reply(ctx, reply, (size_t)n);
  return strncmp(data, "poison", 6) == 0 ? OFCTX_DROP : OFCTX_SUCCESS;
}

typedef struct {
  uv_loop_t loop;
  uv_async_t stop;
  ofctx_config_t *cfg;
  ofctx__metrics_t metrics;
  ofctx__host_t host;
  const ofctx__mode_t *mode;
  void *state;
  ofctx__http_server_t *server;
  pthread_t thread;
  int port;
} fixture_t;

static void handle(void *arg, ofctx__http_request_t *req) {
  fixture_t *f = arg;
  if (!f->mode->route(f->state, req))
    ofctx__http_respond_json(req, 404, "{\"error\":\"not the mode's\"}");
}

static void stopped(void *arg) { (void)arg; }

static void on_stop(uv_async_t *async) {
  fixture_t *f = async->data;
  ofctx__http_server_stop(f->server, stopped, f);
  uv_close((uv_handle_t *)&f->stop, NULL);
}

static void *run_loop(void *arg) {
  fixture_t *f = arg;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

static fixture_t *start(const char *context, const ofctx__mode_t *mode,
                        const char *const *methods) {
  fixture_t *f = calloc(1, sizeof *f);
  const char *ins[] = {"a", "b", "c"};
  ofctx__mode_env_t env;
  ofctx_error_t err;
  char why[256];

  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_async_init(&f->loop, &f->stop, on_stop), 0);
  f->stop.data = f;
  assert_int_equal(
      ofctx_config_parse(&f->cfg, NULL, context, strlen(context), self_host, NULL, &err), OFCTX_OK);
  assert_int_equal(ofctx__metrics_init(&f->metrics, ins, 3, NULL, 0), 0);
  f->host = (ofctx__host_t){
      .loop = &f->loop, .cfg = f->cfg, .fn = describe, .timeout_ms = 1000, .metrics = &f->metrics};
  env = (ofctx__mode_env_t){f->cfg, &f->host, &f->metrics, NULL, methods, 1024};
  f->mode = mode;
  f->state = mode->start(&env, why, sizeof why);
  if (!f->state)
    fail_msg("start: %s", why);
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, NULL, handle, f, NULL),
      OFCTX_OK);
  f->port = ofctx__http_server_port(f->server);
  assert_int_equal(pthread_create(&f->thread, NULL, run_loop, f), 0);
  return f;
}

static void finish(fixture_t *f) {
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  f->mode->stop(f->state);
  ofctx__metrics_free(&f->metrics);
  ofctx_config_free(f->cfg);
  free(f);
}

/* One request on a new connection; the whole answer in `out`. */
static void exchange(fixture_t *f, const char *request, char *out, size_t size) {
  struct sockaddr_in addr = {0};
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  size_t len = 0;
  ssize_t n;

  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)f->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_true(send(fd, request, strlen(request), MSG_NOSIGNAL) > 0);
  while (len + 1 < size && (n = recv(fd, out + len, size - len - 1, 0)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(fd);
}

static void expect(fixture_t *f, const char *request, const char *want) {
  char answer[4096];
  exchange(f, request, answer, sizeof answer);
  if (!strstr(answer, want))
    fail_msg("%s\n-> %s\n(wanted \"%s\")", request, answer, want);
}

static char *post(const char *path, const char *headers, const char *body) {
  static char request[2048];
  snprintf(request, sizeof request,
           "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
           path, headers, strlen(body), body);
  return request;
}

static void async_mode(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Async\",\"inputs\":{"
      "\"a\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"},"
      "\"b\":{\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\",\"uri\":\"orders\"}}}";
  fixture_t *f = start(context, &ofctx__async_http_mode, NULL);
  (void)state;

  /* Dapr's probe and subscription discovery */
  expect(f, "OPTIONS /kafka-in HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
         "HTTP/1.1 200 OK");
  expect(f, "GET /dapr/subscribe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
         "[{\"pubsubname\":\"ps\",\"topic\":\"orders\",\"route\":\"/dapr/pubsub/b\"");
  expect(f, "GET /dapr/config HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "\r\n\r\n{}");
  expect(f, "DELETE /dapr/config HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "405");
  /* a binding event: its body and metadata headers reach the function */
  expect(f, post("/kafka-in", "X-Key: k1\r\n", "hello"),
         "kind=1 input=a data=hello md0=X-Key id=- name=-");
  /* a pub/sub message: the envelope's data and attributes */
  expect(f,
         post("/dapr/pubsub/b", "Content-Type: application/cloudevents+json\r\n",
              "{\"id\":\"e1\",\"source\":\"s\",\"type\":\"t\",\"data\":{\"n\": 1e999}}"),
         "{\"status\":\"SUCCESS\"}");
  expect(f, post("/dapr/pubsub/b", "", "{\"id\":\"e2\",\"data\":\"poison\"}"),
         "{\"status\":\"DROP\"}");
  expect(f, post("/dapr/pubsub/b", "", "[not an envelope"), "{\"status\":\"DROP\"}");
  expect(f, post("/elsewhere", "", "x"), "404");
  finish(f);
}

static void knative_mode(void **state) {
  static const char context[] =
      "{\"name\":\"f\",\"runtime\":\"Knative\",\"httpPattern\":\"/hello/{name}\"}";
  static const char *const methods[] = {"POST", NULL};
  fixture_t *f = start(context, &ofctx__knative_mode, methods);
  (void)state;

  expect(f, post("/hello/J%C3%BCrgen", "", "hi"), "kind=3 input=http data=hi");
  expect(f, post("/hello/J%C3%BCrgen", "", "hi"), "id=- name=J\xc3\xbcrgen");
  expect(f, "GET /hello/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "405");
  expect(f, post("/other", "", "hi"), "404");
  expect(f,
         post("/hello/ce", "Content-Type: application/cloudevents+json\r\n",
              "{\"specversion\":\"1.0\",\"id\":\"c1\",\"source\":\"/s\",\"type\":\"t\","
              "\"data\":[1e999]}"),
         "kind=4 input=http data=[1e999]");
  expect(f, post("/hello/ce", "Content-Type: application/cloudevents+json\r\n", "{\"id\":\"c1\"}"),
         "HTTP/1.1 400 ");
  finish(f);
}

static void bad_starts(void **state) {
  static const char context[] = "{\"name\":\"f\",\"runtime\":\"Knative\"}";
  static const char *const bad_methods[] = {"GE T", NULL};
  ofctx_config_t *cfg;
  ofctx_error_t err;
  ofctx__mode_env_t env = {0};
  char why[256];
  (void)state;

  assert_int_equal(
      ofctx_config_parse(&cfg, NULL, context, sizeof context - 1, self_host, NULL, &err), OFCTX_OK);
  env.cfg = cfg;
  env.methods = bad_methods;
  assert_null(ofctx__knative_mode.start(&env, why, sizeof why));
  assert_non_null(strstr(why, "is not an HTTP method name"));
  env.methods = NULL;
  env.http_pattern = "nope";
  assert_null(ofctx__knative_mode.start(&env, why, sizeof why));
  assert_string_equal(why, "OFCTX_HTTP_PATTERN: \"nope\": it must start with \"/\"");
  ofctx_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(async_mode),
      cmocka_unit_test(knative_mode),
      cmocka_unit_test(bad_starts),
  };
  return cmocka_run_group_tests_name("modes", tests, NULL, NULL);
}
