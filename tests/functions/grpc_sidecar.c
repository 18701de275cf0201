/* grpc_sidecar: the Dapr gRPC API as fast as it can be played, for the
 * benchmarks: every unary call (Dapr/InvokeBinding, Dapr/PublishEvent, any
 * other) is answered OK with an empty message, by libofctx's own gRPC
 * server on one loop. It prints nothing; SIGTERM stops it. A Node.js or
 * Python fake would be the bottleneck.
 *
 *   grpc_sidecar PORT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "grpc_server.h"
#include "http_server.h"

static ofctx__grpc_server_t *grpc;
static ofctx__http_server_t *http;
static unsigned long long calls;

static void on_call(void *arg, ofctx__grpc_call_t *call) {
  (void)arg;
  calls++;
  ofctx__grpc_reply(call, NULL);
}

static void on_h2(void *arg, uv_os_sock_t fd, const char *bytes, size_t len) {
  (void)arg;
  ofctx__grpc_server_adopt(grpc, fd, bytes, len);
}

/* GET /count: the calls answered so far. */
static void on_request(void *arg, ofctx__http_request_t *req) {
  char text[32];
  int n = snprintf(text, sizeof text, "%llu\n", calls);
  (void)arg;
  ofctx__http_respond(req, 200, NULL, 0, text, (size_t)n);
}

static void stopped(void *arg) { (void)arg; }

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  ofctx__http_server_stop(http, stopped, NULL);
  ofctx__grpc_server_stop(grpc, stopped, NULL);
  uv_close((uv_handle_t *)sig, NULL);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  ofctx__grpc_limits_t limits;
  uv_signal_t sig;

  if (argc != 2) {
    fprintf(stderr, "usage: grpc_sidecar PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  ofctx__grpc_limits_default(&limits);
  limits.max_streams = 1000;
  if (ofctx__grpc_server_new(&grpc, loop, &limits, on_call, NULL) != OFCTX_OK ||
      ofctx__http_server_start(&http, loop, "127.0.0.1", atoi(argv[1]), &limits.http, on_request,
                               NULL, NULL) != OFCTX_OK)
    return 1;
  ofctx__http_server_on_h2(http, on_h2);
  uv_signal_init(loop, &sig);
  uv_signal_start(&sig, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
