/* Fuzz target: raw bytes from a client into the HTTP server's connection
 * state machine (request lines, headers, chunked bodies, pipelining, every
 * limit), over a real loopback connection. The handler answers at once,
 * echoing what it saw; the connection must then end, with nothing left
 * open. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "http_server.h"

static uv_loop_t loop;
static ofctx__http_server_t *server;
static int port;

static void handler(void *arg, ofctx__http_request_t *req) {
  char text[256];
  size_t len, count;
  ofctx__http_header_t type = {"Content-Type", "text/plain"};
  (void)arg;
  ofctx__http_request_body(req, &len);
  ofctx__http_request_headers(req, &count);
  snprintf(text, sizeof text, "%s %.80s ?%.40s headers=%zu body=%zu",
           ofctx__http_request_method(req), ofctx__http_request_path(req),
           ofctx__http_request_query(req), count, len);
  ofctx__http_respond(req, strlen(ofctx__http_request_path(req)) % 7 == 0 ? 204 : 200, &type, 1,
                      text, strlen(text));
}

static void start(void) {
  ofctx__http_limits_t limits;

  uv_loop_init(&loop);
  ofctx__http_limits_default(&limits);
  limits.max_header_size = 2048; /* small limits, so that inputs reach them */
  limits.max_url_size = 512;
  limits.max_body_size = 4096;
  limits.header_timeout_ms = limits.body_timeout_ms = 2000;
  if (ofctx__http_server_start(&server, &loop, "127.0.0.1", 0, &limits, handler, NULL, NULL) != 0)
    abort();
  port = ofctx__http_server_port(server);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sockaddr_in a = {0};
  int fd, done = 0;
  size_t sent = 0;

  if (!server)
    start();
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int tries = 0;; tries++) {
    /* closed with a reset, so that hundreds of thousands of connections
     * leave no TIME_WAIT behind to run out of ports with */
    struct linger reset = {1, 0};
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
      break;
    close(fd);
    if (tries == 100)
      abort(); /* the server stopped accepting */
    for (int i = 0; i < 10; i++)
      uv_run(&loop, UV_RUN_NOWAIT);
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  /* send everything, then end the request side; read until the server closes */
  for (int rounds = 0; !done && rounds < 20000; rounds++) {
    struct pollfd p = {fd, POLLIN | (sent < size ? POLLOUT : 0), 0};
    char buf[8192];
    uv_run(&loop, UV_RUN_NOWAIT);
    if (poll(&p, 1, 1) <= 0)
      continue;
    if ((p.revents & POLLOUT) && sent < size) {
      ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += (size_t)n;
      else if (n < 0 && errno != EAGAIN)
        sent = size;
      if (sent == size)
        shutdown(fd, SHUT_WR);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN))
        done = 1;
    }
    if (size == 0 && sent == 0) {
      shutdown(fd, SHUT_WR);
      sent = 1;
    }
  }
  close(fd);
  /* the server must let go of the connection */
  for (int rounds = 0; ofctx__http_server_connections(server) > 0 && rounds < 1000; rounds++)
    uv_run(&loop, UV_RUN_NOWAIT);
  if (!done || ofctx__http_server_connections(server) > 0)
    abort(); /* a connection the server neither answered nor closed */
  return 0;
}
