#define _DEFAULT_SOURCE 1
/* The HTTP server, driven over real loopback sockets: the server's loop runs
 * in a second thread, the test speaks raw HTTP/1.1 with blocking sockets.
 * Nothing is sequenced by time: the handler says when it holds a request
 * (a condition variable), the test says when to answer it (an async
 * handle), and the test waits until the server has read what it was sent
 * before it sends more (the server's socket is one of this process). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "http_server.h"

typedef struct {
  uv_loop_t loop;
  uv_async_t wake; /* the test asked for something: answer, stop */
  ofctx__http_server_t *server;
  pthread_t thread;
  int port;
  pthread_mutex_t lock; /* guards what follows */
  pthread_cond_t held_cond;
  ofctx__http_request_t *held; /* the /later request, which the handler keeps */
  int answer_asked, stop_asked, stop_done;
  int stopped;
} fixture_t;

/* The handler describes what it received in its answer, so the test can
 * check what the server parsed. Path /later is kept until the test asks
 * for its answer (answer_held). */
static void answer(ofctx__http_request_t *req) {
  char body[8192];
  size_t len;
  const char *data = ofctx__http_request_body(req, &len);
  const char *x = ofctx__http_request_header(req, "x-test");
  ofctx__http_header_t headers[] = {{"Content-Type", "text/plain"}};
  size_t count;
  int n = (ofctx__http_request_headers(req, &count),
           snprintf(body, sizeof body, "%s %s ?%s x=%s headers=%zu body=%zu:%.*s",
                    ofctx__http_request_method(req), ofctx__http_request_path(req),
                    ofctx__http_request_query(req), x ? x : "(none)", count, len,
                    (int)(len > 64 ? 64 : len), data));
  ofctx__http_respond(req, 200, headers, 1, body, (size_t)n);
}

static void handler(void *arg, ofctx__http_request_t *req) {
  fixture_t *f = arg;
  if (strcmp(ofctx__http_request_path(req), "/later") == 0) {
    pthread_mutex_lock(&f->lock);
    assert_null(f->held);
    f->held = req;
    pthread_cond_broadcast(&f->held_cond);
    pthread_mutex_unlock(&f->lock);
    return;
  }
  answer(req);
}

static void stopped(void *arg) {
  fixture_t *f = arg;
  f->stopped = 1;
  uv_close((uv_handle_t *)&f->wake, NULL);
}

/* On the loop: what the test asked for, the stop first. */
static void on_wake(uv_async_t *async) {
  fixture_t *f = async->data;
  ofctx__http_request_t *req = NULL;
  int stop;

  pthread_mutex_lock(&f->lock);
  stop = f->stop_asked && !f->stop_done;
  f->stop_done |= stop;
  if (f->answer_asked && f->held) {
    req = f->held;
    f->held = NULL;
    f->answer_asked = 0;
  }
  pthread_mutex_unlock(&f->lock);
  if (stop)
    ofctx__http_server_stop(f->server, stopped, f);
  if (req)
    answer(req);
}

static void *run_loop(void *arg) {
  fixture_t *f = arg;
  uv_run(&f->loop, UV_RUN_DEFAULT);
  return NULL;
}

static fixture_t *start_checked(const ofctx__http_limits_t *limits, ofctx__http_head_fn check) {
  fixture_t *f = calloc(1, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_async_init(&f->loop, &f->wake, on_wake), 0);
  f->wake.data = f;
  pthread_mutex_init(&f->lock, NULL);
  pthread_cond_init(&f->held_cond, NULL);
  assert_int_equal(
      ofctx__http_server_start(&f->server, &f->loop, "127.0.0.1", 0, limits, handler, f, NULL), 0);
  f->port = ofctx__http_server_port(f->server);
  assert_true(f->port > 0);
  ofctx__http_server_on_head(f->server, check);
  assert_int_equal(pthread_create(&f->thread, NULL, run_loop, f), 0);
  return f;
}

static fixture_t *start(const ofctx__http_limits_t *limits) { return start_checked(limits, NULL); }

/* Waits until the handler holds a /later request (10 s at most: a bound
 * for a server that never hands it over, not a sequencing delay). */
static void wait_held(fixture_t *f) {
  struct timespec until;
  int held;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&f->lock);
  while (!f->held && pthread_cond_timedwait(&f->held_cond, &f->lock, &until) == 0)
    ;
  held = f->held != NULL;
  pthread_mutex_unlock(&f->lock);
  if (!held)
    fail_msg("the handler was never given /later");
}

/* Has the held /later request answered, once the handler holds it. */
static void answer_held(fixture_t *f) {
  wait_held(f);
  pthread_mutex_lock(&f->lock);
  f->answer_asked = 1;
  pthread_mutex_unlock(&f->lock);
  uv_async_send(&f->wake);
}

/* Asks the loop to stop the server. */
static void ask_stop(fixture_t *f) {
  pthread_mutex_lock(&f->lock);
  f->stop_asked = 1;
  pthread_mutex_unlock(&f->lock);
  uv_async_send(&f->wake);
}

static void finish(fixture_t *f) {
  ask_stop(f);
  pthread_join(f->thread, NULL);
  assert_true(f->stopped);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  pthread_mutex_destroy(&f->lock);
  pthread_cond_destroy(&f->held_cond);
  free(f);
}

static int client(fixture_t *f) {
  struct sockaddr_in addr = {0};
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)f->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    assert_true(n > 0);
    data += n;
    len -= (size_t)n;
  }
}

static void send_str(int fd, const char *s) { send_all(fd, s, strlen(s)); }

/* Reads one response (head + Content-Length body) into `out`; "" on EOF. */
static void read_response(int fd, char *out, size_t size) {
  size_t len = 0;
  out[0] = '\0';
  for (;;) {
    char *end = strstr(out, "\r\n\r\n");
    if (end) {
      const char *cl = strstr(out, "Content-Length: ");
      size_t want = (size_t)(end + 4 - out) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
      if (len >= want) {
        out[want] = '\0';
        return;
      }
    }
    /* one byte at a time: never read into the next response */
    ssize_t n = recv(fd, out + len, 1, 0);
    if (n <= 0)
      return;
    len += (size_t)n;
    assert_true(len < size);
    out[len] = '\0';
  }
}

/* After the last response: the server closes the connection (EOF). */
static void assert_closed(int fd) {
  char c;
  assert_int_equal(recv(fd, &c, 1, 0), 0);
}

/* The server's end of the test's connection `fd`: the one socket of this
 * process whose peer is `fd`'s own address; -1 before it is accepted. */
static int server_end(int fd) {
  struct sockaddr_in mine, peer;
  socklen_t len = sizeof mine;

  assert_int_equal(getsockname(fd, (struct sockaddr *)&mine, &len), 0);
  for (int s = 0; s < 1024; s++) {
    len = sizeof peer;
    if (s != fd && getpeername(s, (struct sockaddr *)&peer, &len) == 0 &&
        peer.sin_family == AF_INET && peer.sin_port == mine.sin_port &&
        peer.sin_addr.s_addr == mine.sin_addr.s_addr)
      return s;
  }
  return -1;
}

/* Waits until the server has read all that was sent on `fd` (its TCP has
 * acknowledged every byte: none left in `fd`'s send queue; and its socket
 * holds none unread), or has answered already (a refusal stops reading).
 * What is sent next then comes in a read of its own. (10 s at most: a
 * bound, not a sequencing delay.) */
static void wait_read(int fd) {
  int s = -1;

  for (int tries = 0; tries < 100000; tries++) {
    int unsent = -1, unread = -1;
    char c;

    if (s < 0)
      s = server_end(fd);
    if (s >= 0 && ioctl(fd, TIOCOUTQ, &unsent) == 0 && unsent == 0 &&
        ioctl(s, FIONREAD, &unread) == 0 && unread == 0)
      return;
    if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
      return;    /* an answer, or the end */
    usleep(100); /* a poll of the two sockets */
  }
  fail_msg("the server did not read what it was sent");
}

static void get_and_keep_alive(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f);

  send_str(fd, "GET /hello/world?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nEmpty:\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
  assert_non_null(strstr(buf, "Content-Type: text/plain\r\n"));
  assert_non_null(strstr(buf, "\r\n\r\nGET /hello/world ?a=1&b=2 x=yes headers=3 body=0:"));
  /* the same connection serves the next request */
  send_str(fd, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "\r\n\r\nPOST /p ? x=(none) headers=2 body=5:hello"));
  close(fd);
  finish(f);
}

static void pipelined(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f);

  send_str(fd, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /later HTTP/1.1\r\nHost: t\r\n\r\n"
               "POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "GET /1 ?"));
  answer_held(f);
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "GET /later ?")); /* answered later, still in order */
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "POST /3 ? x=(none) headers=2 body=3:abc"));
  close(fd);
  finish(f);
}

/* What arrives while a request is handled is kept for after its answer;
 * the client's end of sending (FIN) still gets the pending requests
 * answered, then the connection closes; a request cut short gets none. */
static void sent_while_handling(void **state) {
  /* what follows /later on the connection, and its answer (NULL: none) */
  static const char *const next[][2] = {
      {"POST /next HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok",
       "POST /next ? x=(none) headers=2 body=2:ok"},
      {"GET /cut HTTP/1.1\r\nHost: t\r\nX-Test: ", NULL},
  };
  fixture_t *f = start(NULL);
  char buf[4096];

  for (size_t i = 0; i < sizeof next / sizeof next[0]; i++) {
    int fd = client(f);
    send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_held(f);
    send_str(fd, next[i][0]);
    shutdown(fd, SHUT_WR);
    wait_read(fd); /* read while /later is held */
    answer_held(f);
    read_response(fd, buf, sizeof buf);
    assert_non_null(strstr(buf, "GET /later ?"));
    if (next[i][1]) {
      read_response(fd, buf, sizeof buf);
      assert_non_null(strstr(buf, next[i][1]));
    }
    assert_closed(fd);
    close(fd);
  }
  finish(f);
}

static void chunked_body(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f);

  send_str(fd, "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "body=11:hello world"));
  close(fd);
  finish(f);
}

/* One bad request per row: the status the server answers, then it closes. */
static void bad_requests(void **state) {
  static const struct {
    const char *request;
    const char *status;
  } rows[] = {
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"}, /* request smuggling */
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/9.9\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
      {"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
      {"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n",
       "HTTP/1.1 413 Payload Too Large\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n",
       NULL}, /* see below */
      {"GET / HTTP/1.1\r\nHost: t\r\nExpect: something\r\n\r\n",
       "HTTP/1.1 417 Expectation Failed\r\n"},
      /* RFC 9112 framing that Debian's lenient http-parser would take */
      {"GET / HTTP/1.1\r\nHost: t\r\nHost : x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: t\r\nHost\t: x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: t\r\nHo st: x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: t\r\n\tX: y\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: "
       "x\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      /* RFC 9112 3.2: an HTTP/1.1 request names exactly one host */
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      /* no transfer coding but chunked is understood: 501, the body unread */
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented\r\n"},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n"
       "0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented\r\n"},
      /* an Upgrade is ignored (RFC 9110 allows it); nothing may follow */
      {"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
       "HTTP/1.1 200 OK\r\n"},
  };
  ofctx__http_limits_t limits;
  char buf[4096];

  ofctx__http_limits_default(&limits);
  limits.max_body_size = 1000;
  fixture_t *f = start(&limits);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    int fd = client(f);
    send_str(fd, rows[i].request);
    if (!rows[i].status) { /* a chunked body growing past the limit */
      char chunk[1024 + 2];
      memset(chunk, 'x', 1024);
      memcpy(chunk + 1024, "\r\n", 2);
      send_all(fd, chunk, sizeof chunk);
    }
    read_response(fd, buf, sizeof buf);
    if (!strstr(buf, rows[i].status ? rows[i].status : "HTTP/1.1 413 Payload Too Large\r\n"))
      fail_msg("row %zu: got \"%s\"", i, buf);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_closed(fd);
    close(fd);
  }
  finish(f);
}

static void size_limits(void **state) {
  ofctx__http_limits_t limits;
  char buf[4096], big[3000];
  int fd;

  ofctx__http_limits_default(&limits);
  limits.max_url_size = 100;
  limits.max_header_size = 1000;
  fixture_t *f = start(&limits);

  memset(big, 'a', sizeof big);
  big[sizeof big - 1] = '\0';
  fd = client(f);
  send_str(fd, "GET /");
  send_str(fd, big);
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 414 URI Too Long\r\n"));
  assert_closed(fd);
  close(fd);

  fd = client(f);
  send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
  send_str(fd, big);
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  assert_closed(fd);
  close(fd);

  /* many small headers add up too (sent at once: the server may answer and
   * close before a slower client would have sent them all) */
  fd = client(f);
  strcpy(big, "GET / HTTP/1.1\r\nHost: t\r\n");
  for (int i = 0; i < 200; i++)
    strcat(big, "A: b\r\n");
  send_str(fd, big);
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 431 "));
  close(fd);
  finish(f);
}

/* A request of `size` bytes: its head ends with an X-Pad field that fills it
 * up ("GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ...\r\n\r\n"). */
static void padded_request(char *out, size_t size) {
  static const char start[] = "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ";
  size_t fixed = sizeof start - 1 + 4;

  assert_true(size > fixed);
  memcpy(out, start, sizeof start - 1);
  memset(out + sizeof start - 1, 'p', size - fixed);
  memcpy(out + size - 4, "\r\n\r\n", 5);
}

/* max_header_size is the head's size on the wire, exact to the byte, CRLFs
 * and the request line included, however the bytes arrive. */
static void head_size_exact(void **state) {
  ofctx__http_limits_t limits;
  char buf[4096], request[400];

  ofctx__http_limits_default(&limits);
  limits.max_header_size = 300;
  fixture_t *f = start(&limits);
  for (int bytewise = 0; bytewise < 2; bytewise++)
    for (size_t size = 299; size <= 301; size++) {
      int fd = client(f);
      padded_request(request, size);
      if (bytewise)
        for (size_t i = 0; i < size; i++)
          send_all(fd, request + i, 1);
      else
        send_str(fd, request);
      read_response(fd, buf, sizeof buf);
      if (!strstr(buf, size <= 300 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 431 "))
        fail_msg("%zu bytes%s: got \"%s\"", size, bytewise ? " one by one" : "", buf);
      close(fd);
    }
  finish(f);
}

/* Chunk framing holds across any split of the bytes, and trailer fields
 * never reach the handler as headers. */
static void chunked_split_anywhere(void **state) {
  static const char good[] = "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Test: from-trailer\r\n\r\n";
  static const char bad[] = "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n2\r\nde!!0\r\n\r\n";
  fixture_t *f = start(NULL);
  char buf[4096];

  for (size_t cut = 1; cut < sizeof good - 1; cut++) {
    int fd = client(f);
    send_all(fd, good, cut);
    wait_read(fd); /* two reads on the server's side */
    send_str(fd, good + cut);
    read_response(fd, buf, sizeof buf);
    if (!strstr(buf, "x=(none) headers=2 body=5:abcde"))
      fail_msg("good, cut at %zu: got \"%s\"", cut, buf);
    close(fd);
  }
  for (size_t cut = 1; cut < sizeof bad - 1; cut += 3) {
    int fd = client(f);
    send_all(fd, bad, cut);
    wait_read(fd);
    send(fd, bad + cut, strlen(bad + cut), MSG_NOSIGNAL);
    read_response(fd, buf, sizeof buf);
    if (!strstr(buf, "HTTP/1.1 400 "))
      fail_msg("bad, cut at %zu: got \"%s\"", cut, buf);
    close(fd);
  }
  finish(f);
}

/* One request on a new connection; its answer must hold `want`. */
static void ask(fixture_t *f, const char *request, const char *want) {
  char buf[4096];
  int fd = client(f);

  send_str(fd, request);
  read_response(fd, buf, sizeof buf);
  if (!strstr(buf, want))
    fail_msg("%s: got \"%s\", not \"%s\"", request, buf, want);
  close(fd);
}

/* Refuses /deny on its head alone; counts the heads it saw. */
static int heads_seen;
static int deny(void *arg, const ofctx__http_request_t *req, const char **json) {
  size_t len;
  (void)arg;
  heads_seen++;
  assert_string_equal(ofctx__http_request_body(req, &len), "");
  assert_int_equal(len, 0);
  if (strcmp(ofctx__http_request_path(req), "/deny") != 0)
    return 0;
  assert_string_equal(ofctx__http_request_header(req, "x-test"), "h");
  *json = "{\"error\":\"no\"}";
  return 401;
}

/* The head check answers before the body is read: no body is ever sent
 * here, yet the answer comes at once, and nothing reaches the handler. */
static void refused_on_head(void **state) {
  fixture_t *f = start_checked(NULL, deny);
  char buf[4096];
  int fd = client(f);

  send_str(fd, "POST /deny HTTP/1.1\r\nHost: t\r\nX-Test: h\r\nContent-Length: 3000000\r\n"
               "Expect: 100-continue\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 401 Unauthorized\r\n"));
  assert_null(strstr(buf, "100 Continue"));
  assert_non_null(strstr(buf, "Content-Type: application/json\r\n"));
  assert_non_null(strstr(buf, "\r\n\r\n{\"error\":\"no\"}"));
  assert_closed(fd);
  close(fd);
  ask(f, "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", "body=2:hi");
  finish(f);
  assert_int_equal(heads_seen, 2);
}

/* Bodies held at once on all connections are bounded: the request that
 * would pass max_bodies_size is answered 503, by its Content-Length at once
 * or as its chunks come; what is answered gives its room back. */
static void bodies_bounded(void **state) {
  ofctx__http_limits_t limits;
  char buf[4096], part[800];
  int a, b;

  ofctx__http_limits_default(&limits);
  limits.max_body_size = 1000;
  limits.max_bodies_size = 1500;
  fixture_t *f = start(&limits);
  memset(part, 'x', sizeof part);
  a = client(f);
  send_str(a, "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
  send_all(a, part, sizeof part);
  wait_read(a); /* the server holds A's 800 bytes */
  ask(f, "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n", "HTTP/1.1 503 ");
  b = client(f);
  send_str(b, "POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; i++) /* the fourth passes 1500 */
    send(b,
         "c8\r\n" /* 200 bytes */
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxx\r\n",
         206, MSG_NOSIGNAL);
  read_response(b, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 503 "));
  close(b);
  send_all(a, part, 200);
  read_response(a, buf, sizeof buf);
  assert_non_null(strstr(buf, "body=1000:"));
  b = client(f);
  send_str(b, "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n");
  send_all(b, part, sizeof part);
  read_response(b, buf, sizeof buf);
  assert_non_null(strstr(buf, "body=800:"));
  close(a);
  close(b);
  finish(f);
}

static void timeouts(void **state) {
  ofctx__http_limits_t limits;
  char buf[4096];
  int fd;

  ofctx__http_limits_default(&limits);
  limits.header_timeout_ms = 200;
  limits.body_timeout_ms = 200;
  limits.idle_timeout_ms = 200;
  fixture_t *f = start(&limits);

  /* slow headers: part of a request, then nothing */
  fd = client(f);
  send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
  assert_closed(fd);
  close(fd);

  /* a body that never completes */
  fd = client(f);
  send_str(fd, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "HTTP/1.1 408 "));
  close(fd);

  /* a connection that never says anything is closed without an answer */
  fd = client(f);
  assert_closed(fd);
  close(fd);

  /* an idle keep-alive connection is closed after its answer */
  fd = client(f);
  send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "200 OK"));
  assert_closed(fd);
  close(fd);
  finish(f);
}

static void max_connections(void **state) {
  ofctx__http_limits_t limits;
  char buf[4096];
  int a, b, c;

  ofctx__http_limits_default(&limits);
  limits.max_connections = 2;
  fixture_t *f = start(&limits);
  a = client(f);
  b = client(f);
  send_str(a, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_response(a, buf, sizeof buf); /* both are in before the third comes */
  send_str(b, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_response(b, buf, sizeof buf);
  c = client(f);
  assert_closed(c);
  close(c);
  /* the others still work */
  send_str(a, "GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
  read_response(a, buf, sizeof buf);
  assert_non_null(strstr(buf, "GET /again"));
  close(a);
  close(b);
  finish(f);
}

static void expect_continue_and_http10(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f);

  send_str(fd, "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
  send_str(fd, "data");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "body=4:data"));
  close(fd);

  fd = client(f);
  send_str(fd, "GET /old HTTP/1.0\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_closed(fd);
  close(fd);
  finish(f);
}

/* Stopping while a request is being handled: it is still answered (and the
 * connection closed after), and the server is gone once it has been. */
static void stop_while_handling(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f), idle = client(f);

  send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  wait_held(f);
  ask_stop(f);
  answer_held(f); /* after the stop: on_wake takes the stop first */
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "GET /later"));
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_closed(fd);
  assert_closed(idle);
  pthread_join(f->thread, NULL);
  assert_true(f->stopped);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  close(fd);
  close(idle);
  pthread_mutex_destroy(&f->lock);
  pthread_cond_destroy(&f->held_cond);
  free(f);
}

static void client_vanishes(void **state) {
  fixture_t *f = start(NULL);
  char buf[4096];
  int fd = client(f);

  /* gone while the handler holds its request */
  send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  wait_held(f);
  close(fd);
  fd = client(f);
  send_str(fd, "GET /still-here HTTP/1.1\r\nHost: t\r\n\r\n");
  read_response(fd, buf, sizeof buf);
  assert_non_null(strstr(buf, "GET /still-here"));
  close(fd);
  answer_held(f); /* the late answer meets the closed socket; the stop waits for it */
  finish(f);
}

/* HTTP/2 connections are handed over: the preface (here in three pieces)
 * and what follows it reach the hook with a socket of the hook's own; a
 * request that only begins like the preface is HTTP/1.1 after all. */
static char h2_bytes[256];
static size_t h2_len;
static void take_h2(void *arg, uv_os_sock_t fd, const char *bytes, size_t len) {
  (void)arg;
  memcpy(h2_bytes, bytes, len < sizeof h2_bytes ? len : sizeof h2_bytes);
  h2_len = len;
  assert_int_equal(send(fd, "taken", 5, MSG_NOSIGNAL), 5);
  close(fd);
}

static void h2_handed_over(void **state) {
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  fixture_t *f = start(NULL);
  char buf[64];
  ssize_t n;
  int fd;

  ofctx__http_server_on_h2(f->server, take_h2);
  fd = client(f);
  send_all(fd, preface, 3);
  wait_read(fd);
  send_all(fd, preface + 3, 10);
  wait_read(fd);
  send_all(fd, preface + 13, sizeof preface - 1 - 13);
  send_str(fd, "\x00\x00\x00\x04");
  n = recv(fd, buf, sizeof buf, 0);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "taken", 5);
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 0); /* the hook closed it */
  close(fd);
  assert_true(h2_len >= sizeof preface - 1);
  assert_memory_equal(h2_bytes, preface, sizeof preface - 1);
  /* PRI, but not the preface; and an ordinary request */
  ask(f, "PRI * HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400");
  ask(f, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", "body=2:hi");
  finish(f);
}

/* Without a hook the preface is a bad HTTP/1.1 request. */
static void h2_without_hook(void **state) {
  fixture_t *f = start(NULL);
  ask(f, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 400");
  finish(f);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as the runtime does: a vanished peer is an error code */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(get_and_keep_alive),
      cmocka_unit_test(pipelined),
      cmocka_unit_test(sent_while_handling),
      cmocka_unit_test(chunked_body),
      cmocka_unit_test(bad_requests),
      cmocka_unit_test(size_limits),
      cmocka_unit_test(head_size_exact),
      cmocka_unit_test(refused_on_head),
      cmocka_unit_test(bodies_bounded),
      cmocka_unit_test(chunked_split_anywhere),
      cmocka_unit_test(timeouts),
      cmocka_unit_test(max_connections),
      cmocka_unit_test(expect_continue_and_http10),
      cmocka_unit_test(stop_while_handling),
      cmocka_unit_test(client_vanishes),
      cmocka_unit_test(h2_handed_over),
      cmocka_unit_test(h2_without_hook),
  };
  return cmocka_run_group_tests_name("http_server", tests, NULL, NULL);
}
