#define _DEFAULT_SOURCE 1
/* Test support: a mode behind a real HTTP server (mode_util.h). */
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
#include "mode_util.h"
#include "ofctx/ofctx.h"

ofctx_result_t mode_describe_event(ofctx_t *ctx, const ofctx_event_t *in) {
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

/* mode_describe_event on each entry, its result the entry's status. */
static ofctx_result_t describe_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_set_status(batch, i, mode_describe_event(ctx, ofctx_batch_event(batch, i)));
  return OFCTX_SUCCESS;
}

struct mode_fixture {
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
};

static void handle(void *arg, ofctx__http_request_t *req) {
  mode_fixture_t *f = arg;
  if (!f->mode->route(f->state, req))
    ofctx__http_respond_json(req, 404, "{\"error\":\"not the mode's\"}");
}

static void stopped(void *arg) { (void)arg; }

static void on_stop(uv_async_t *async) {
  mode_fixture_t *f = async->data;
  ofctx__http_server_stop(f->server, stopped, f);
  uv_close((uv_handle_t *)&f->stop, NULL);
}

static void *run_loop(void *arg) {
  mode_fixture_t *f = arg;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

const char *mode_self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

/* mode_start, the host's function a batch function when `batch`. */
static mode_fixture_t *start(const char *context, const ofctx__mode_t *mode,
                             const char *const *methods, int batch) {
  mode_fixture_t *f = calloc(1, sizeof *f);
  const char *ins[] = {"a", "b", "c"};
  ofctx__mode_env_t env;
  ofctx_error_t err;

  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_async_init(&f->loop, &f->stop, on_stop), 0);
  f->stop.data = f;
  assert_int_equal(
      ofctx_config_parse(&f->cfg, NULL, context, strlen(context), mode_self_host, NULL, &err),
      OFCTX_OK);
  assert_int_equal(ofctx__metrics_init(&f->metrics, ins, 3, NULL, 0), 0);
  f->host = (ofctx__host_t){.loop = &f->loop,
                            .cfg = f->cfg,
                            .fn = batch ? NULL : mode_describe_event,
                            .batch_fn = batch ? describe_batch : NULL,
                            .timeout_ms = 1000,
                            .metrics = &f->metrics};
  env = (ofctx__mode_env_t){.cfg = f->cfg,
                            .host = &f->host,
                            .metrics = &f->metrics,
                            .methods = methods,
                            .max_metadata = 1024};
  f->mode = mode;
  f->state = mode->start(&env, &err);
  if (!f->state)
    fail_msg("start: %s", err.message);
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, NULL, handle, f, NULL),
      OFCTX_OK);
  f->port = ofctx__http_server_port(f->server);
  assert_int_equal(pthread_create(&f->thread, NULL, run_loop, f), 0);
  return f;
}

mode_fixture_t *mode_start(const char *context, const ofctx__mode_t *mode,
                           const char *const *methods) {
  return start(context, mode, methods, 0);
}

mode_fixture_t *mode_start_batch(const char *context, const ofctx__mode_t *mode) {
  return start(context, mode, NULL, 1);
}

void mode_finish(mode_fixture_t *f) {
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  f->mode->stop(f->state);
  ofctx__metrics_free(&f->metrics);
  ofctx_config_free(f->cfg);
  free(f);
}

/* One request on a new connection; the whole answer in `out`. */
static void exchange(mode_fixture_t *f, const char *request, char *out, size_t size) {
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

void mode_expect(mode_fixture_t *f, const char *request, const char *want) {
  char answer[4096];
  exchange(f, request, answer, sizeof answer);
  if (!strstr(answer, want))
    fail_msg("%s\n-> %s\n(wanted \"%s\")", request, answer, want);
}

char *mode_post(const char *path, const char *headers, const char *body) {
  static char request[2048];
  snprintf(request, sizeof request,
           "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
           path, headers, strlen(body), body);
  return request;
}
