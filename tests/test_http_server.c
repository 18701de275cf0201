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

/* Once a stop was asked: the loop ends, the server stopped. */
static void joined(fixture_t *f) {
  pthread_join(f->thread, NULL);
  assert_true(f->stopped);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  pthread_mutex_destroy(&f->lock);
  pthread_cond_destroy(&f->held_cond);
  free(f);
}

static void finish(fixture_t *f) {
  ask_stop(f);
  joined(f);
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

/* One exchange: a request, what its answer must be, and what becomes of the
 * connection after it. The request is `request`, then `repeat` `times` times,
 * then `tail`, sent at once (the server may answer and close before a slower
 * client would have sent it all), one byte at a time (`bytewise`), or cut
 * after `split` bytes with the server's read of the first part awaited. */
typedef enum {
  LEAVE,  /* nothing is checked: the test closes the connection */
  KEEP,   /* the next row goes on the same connection */
  CLOSED, /* the server closes the connection after its answer */
} then_t;

typedef struct {
  const char *request; /* NULL: nothing is sent, an answer is awaited */
  const char *repeat;
  size_t times;
  const char *tail;
  int bytewise;
  size_t split;
  int early;           /* the server may answer the first part: the rest is sent unchecked */
  int release;         /* then the handler's held /later is answered */
  const char *want[4]; /* the answer holds each; none at all: there is no answer */
  const char *lacks;   /* the answer does not hold this */
  int whole;           /* want[0] is the whole answer */
  then_t then;
} exchange_t;

/* A refusal: the status line, and the server closes the connection. */
#define REFUSED(req, status)                                                                       \
  { .request = (req), .want = {(status), "Connection: close\r\n"}, .then = CLOSED }

static void add(char *out, size_t *len, size_t size, const char *s) {
  size_t n = s ? strlen(s) : 0;
  assert_true(*len + n < size);
  memcpy(out + *len, s ? s : "", n);
  *len += n;
}

static void send_request(int fd, const exchange_t *r) {
  char out[4096];
  size_t len = 0;

  if (!r->request)
    return;
  add(out, &len, sizeof out, r->request);
  for (size_t i = 0; i < r->times; i++)
    add(out, &len, sizeof out, r->repeat);
  add(out, &len, sizeof out, r->tail);
  if (r->bytewise) {
    for (size_t i = 0; i < len; i++)
      send_all(fd, out + i, 1);
  } else if (r->split) {
    assert_true(r->split < len);
    send_all(fd, out, r->split);
    wait_read(fd); /* two reads on the server's side */
    if (r->early)
      send(fd, out + r->split, len - r->split, MSG_NOSIGNAL);
    else
      send_all(fd, out + r->split, len - r->split);
  } else {
    send_all(fd, out, len);
  }
}

/* Reads the answer to `r` and checks it (`what` names the row). */
static void expect_answer(int fd, const char *what, const exchange_t *r) {
  char buf[4096];

  read_response(fd, buf, sizeof buf);
  if (!r->want[0] && buf[0])
    fail_msg("%s: got \"%s\", not the end without an answer", what, buf);
  if (r->whole && strcmp(buf, r->want[0]) != 0)
    fail_msg("%s: got \"%s\", not exactly \"%s\"", what, buf, r->want[0]);
  for (size_t i = 0; i < sizeof r->want / sizeof r->want[0] && r->want[i]; i++)
    if (!strstr(buf, r->want[i]))
      fail_msg("%s: got \"%s\", not \"%s\"", what, buf, r->want[i]);
  if (r->lacks && strstr(buf, r->lacks))
    fail_msg("%s: got \"%s\", with \"%s\"", what, buf, r->lacks);
  if (r->then == CLOSED)
    assert_closed(fd);
}

/* Reads one answer on `fd`; it must hold `want`. */
static void expect(int fd, const char *want) {
  exchange_t r = {.want = {want}};
  expect_answer(fd, want, &r);
}

/* Runs `rows` in order, each on a new connection but where the row before
 * KEEPs its connection for it. */
static void run(fixture_t *f, const exchange_t *rows, size_t n) {
  int fd = -1;

  for (size_t i = 0; i < n; i++) {
    const char *request = rows[i].request ? rows[i].request : "";
    char what[96];

    if (fd < 0)
      fd = client(f);
    snprintf(what, sizeof what, "row %zu (%.*s)%s, cut at %zu", i, (int)strcspn(request, "\r\n"),
             request, rows[i].bytewise ? " one by one" : "", rows[i].split);
    send_request(fd, &rows[i]);
    if (rows[i].release)
      answer_held(f);
    expect_answer(fd, what, &rows[i]);
    if (rows[i].then != KEEP) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0)
    close(fd);
}

#define RUN(f, rows) run((f), (rows), sizeof(rows) / sizeof(rows)[0])

/* One request on a new connection; its answer must hold `want`. */
static void ask(fixture_t *f, const char *request, const char *want) {
  exchange_t r = {.request = request, .want = {want}};
  run(f, &r, 1);
}

static void get_and_keep_alive(void **state) {
  static const exchange_t rows[] = {
      {.request = "GET /hello/world?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nEmpty:\r\n\r\n",
       .want = {"HTTP/1.1 200 OK\r\n", "Connection: keep-alive\r\n", "Content-Type: text/plain\r\n",
                "\r\n\r\nGET /hello/world ?a=1&b=2 x=yes headers=3 body=0:"},
       .then = KEEP},
      /* the same connection serves the next request */
      {.request = "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
       .want = {"\r\n\r\nPOST /p ? x=(none) headers=2 body=5:hello"}},
  };
  fixture_t *f = start(NULL);
  RUN(f, rows);
  finish(f);
}

static void pipelined(void **state) {
  static const exchange_t rows[] = {
      {.request = "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /later HTTP/1.1\r\nHost: t\r\n\r\n"
                  "POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
       .want = {"GET /1 ?"},
       .then = KEEP},
      /* answered later, still in order */
      {.release = 1, .want = {"GET /later ?"}, .then = KEEP},
      {.want = {"POST /3 ? x=(none) headers=2 body=3:abc"}},
  };
  fixture_t *f = start(NULL);
  RUN(f, rows);
  finish(f);
}

/* What arrives while a request is handled is kept for after its answer;
 * the client's end of sending (FIN) still gets the pending requests
 * answered, then the connection closes; a request cut short gets none. */
static void sent_while_handling(void **state) {
  /* what follows /later on the connection, and its answer (none: none) */
  static const exchange_t next[] = {
      {.request = "POST /next HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok",
       .want = {"POST /next ? x=(none) headers=2 body=2:ok"},
       .then = CLOSED},
      {.request = "GET /cut HTTP/1.1\r\nHost: t\r\nX-Test: ", .then = CLOSED},
  };
  fixture_t *f = start(NULL);

  for (size_t i = 0; i < sizeof next / sizeof next[0]; i++) {
    int fd = client(f);
    send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_held(f);
    send_request(fd, &next[i]);
    shutdown(fd, SHUT_WR);
    wait_read(fd); /* read while /later is held */
    answer_held(f);
    expect(fd, "GET /later ?");
    expect_answer(fd, next[i].request, &next[i]);
    close(fd);
  }
  finish(f);
}

static void chunked_body(void **state) {
  static const exchange_t rows[] = {
      {.request = "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
       .want = {"body=11:hello world"}},
  };
  fixture_t *f = start(NULL);
  RUN(f, rows);
  finish(f);
}

/* One bad request per row: the status the server answers, then it closes. */
static void bad_requests(void **state) {
  static const exchange_t rows[] = {
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: "
              "chunked\r\n\r\n0\r\n\r\n",
              "HTTP/1.1 400 Bad Request\r\n"), /* request smuggling */
      REFUSED("GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/9.9\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"),
      REFUSED("GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
              "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
              "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n",
              "HTTP/1.1 413 Payload Too Large\r\n"),
      /* a chunked body growing past the limit */
      {.request = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n",
       .repeat = "x",
       .times = 1024,
       .tail = "\r\n",
       .want = {"HTTP/1.1 413 Payload Too Large\r\n", "Connection: close\r\n"},
       .then = CLOSED},
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nExpect: something\r\n\r\n",
              "HTTP/1.1 417 Expectation Failed\r\n"),
      /* RFC 9112 framing that Debian's lenient http-parser would take */
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nHost : x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nHost\t: x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nHo st: x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\n\tX: y\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n",
              "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\n0\r\n\r\n",
              "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: "
              "x\r\n\r\n",
              "HTTP/1.1 400 Bad Request\r\n"),
      /* RFC 9112 3.2: an HTTP/1.1 request names exactly one host */
      REFUSED("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      REFUSED("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
      /* no transfer coding but chunked is understood: 501, the body unread */
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
              "HTTP/1.1 501 Not Implemented\r\n"),
      REFUSED("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
              "chunked\r\n\r\n"
              "0\r\n\r\n",
              "HTTP/1.1 501 Not Implemented\r\n"),
      /* an Upgrade is ignored (RFC 9110 allows it); nothing may follow */
      REFUSED("GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
              "HTTP/1.1 200 OK\r\n"),
  };
  ofctx__http_limits_t limits;

  ofctx__http_limits_default(&limits);
  limits.max_body_size = 1000;
  fixture_t *f = start(&limits);
  RUN(f, rows);
  finish(f);
}

static void size_limits(void **state) {
  static const exchange_t rows[] = {
      {.request = "GET /",
       .repeat = "a",
       .times = 2999,
       .want = {"HTTP/1.1 414 URI Too Long\r\n"},
       .then = CLOSED},
      {.request = "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ",
       .repeat = "a",
       .times = 2999,
       .want = {"HTTP/1.1 431 Request Header Fields Too Large\r\n"},
       .then = CLOSED},
      /* many small headers add up too */
      {.request = "GET / HTTP/1.1\r\nHost: t\r\n",
       .repeat = "A: b\r\n",
       .times = 200,
       .want = {"HTTP/1.1 431 "}},
  };
  ofctx__http_limits_t limits;

  ofctx__http_limits_default(&limits);
  limits.max_url_size = 100;
  limits.max_header_size = 1000;
  fixture_t *f = start(&limits);
  RUN(f, rows);
  finish(f);
}

/* A request of `size` bytes: its head ends with an X-Pad field that fills it
 * up; sent at once or one byte at a time. */
#define PAD_HEAD "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: "
#define PADDED(size, one_by_one, status)                                                           \
  {                                                                                                \
    .request = PAD_HEAD, .repeat = "p", .times = (size) - (sizeof PAD_HEAD - 1) - 4,               \
    .tail = "\r\n\r\n", .bytewise = (one_by_one), .want = {                                        \
      status                                                                                       \
    }                                                                                              \
  }

/* max_header_size is the head's size on the wire, exact to the byte, CRLFs
 * and the request line included, however the bytes arrive. */
static void head_size_exact(void **state) {
  static const exchange_t rows[] = {
      PADDED(299, 0, "HTTP/1.1 200 OK\r\n"), PADDED(300, 0, "HTTP/1.1 200 OK\r\n"),
      PADDED(301, 0, "HTTP/1.1 431 "),       PADDED(299, 1, "HTTP/1.1 200 OK\r\n"),
      PADDED(300, 1, "HTTP/1.1 200 OK\r\n"), PADDED(301, 1, "HTTP/1.1 431 "),
  };
  ofctx__http_limits_t limits;

  ofctx__http_limits_default(&limits);
  limits.max_header_size = 300;
  fixture_t *f = start(&limits);
  RUN(f, rows);
  finish(f);
}

/* Chunk framing holds across any split of the bytes (the bad request at
 * every third), and trailer fields never reach the handler as headers. */
static void chunked_split_anywhere(void **state) {
  static const struct {
    const char *request, *want;
    size_t step;
    int early;
  } cases[] = {
      {"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Test: from-trailer\r\n\r\n",
       "x=(none) headers=2 body=5:abcde", 1, 0},
      {"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n2\r\nde!!0\r\n\r\n",
       "HTTP/1.1 400 ", 3, 1},
  };
  fixture_t *f = start(NULL);

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (size_t cut = 1; cut < strlen(cases[i].request); cut += cases[i].step) {
      exchange_t r = {.request = cases[i].request,
                      .split = cut,
                      .early = cases[i].early,
                      .want = {cases[i].want}};
      run(f, &r, 1);
    }
  finish(f);
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
  static const exchange_t rows[] = {
      {.request = "POST /deny HTTP/1.1\r\nHost: t\r\nX-Test: h\r\nContent-Length: 3000000\r\n"
                  "Expect: 100-continue\r\n\r\n",
       .want = {"HTTP/1.1 401 Unauthorized\r\n", "Content-Type: application/json\r\n",
                "\r\n\r\n{\"error\":\"no\"}"},
       .lacks = "100 Continue",
       .then = CLOSED},
      {.request = "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
       .want = {"body=2:hi"}},
  };
  fixture_t *f = start_checked(NULL, deny);
  RUN(f, rows);
  finish(f);
  assert_int_equal(heads_seen, 2);
}

/* Bodies held at once on all connections are bounded: the request that
 * would pass max_bodies_size is answered 503, by its Content-Length at once
 * or as its chunks come; what is answered gives its room back. */
static void bodies_bounded(void **state) {
  static const exchange_t again = {.request =
                                       "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n",
                                   .repeat = "x",
                                   .times = 800,
                                   .want = {"body=800:"}};
  ofctx__http_limits_t limits;
  char part[800];
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
  expect(b, "HTTP/1.1 503 ");
  close(b);
  send_all(a, part, 200);
  expect(a, "body=1000:");
  run(f, &again, 1);
  close(a);
  finish(f);
}

static void timeouts(void **state) {
  static const exchange_t rows[] = {
      /* slow headers: part of a request, then nothing */
      {.request = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ",
       .want = {"HTTP/1.1 408 Request Timeout\r\n"},
       .then = CLOSED},
      /* a body that never completes */
      {.request = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
       .want = {"HTTP/1.1 408 "}},
      /* a connection that never says anything is closed without an answer */
      {.request = "", .then = CLOSED},
      /* an idle keep-alive connection is closed after its answer */
      {.request = "GET / HTTP/1.1\r\nHost: t\r\n\r\n", .want = {"200 OK"}, .then = CLOSED},
  };
  ofctx__http_limits_t limits;

  ofctx__http_limits_default(&limits);
  limits.header_timeout_ms = 200;
  limits.body_timeout_ms = 200;
  limits.idle_timeout_ms = 200;
  fixture_t *f = start(&limits);
  RUN(f, rows);
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
  expect(a, "GET /again");
  close(a);
  close(b);
  finish(f);
}

static void expect_continue_and_http10(void **state) {
  static const exchange_t rows[] = {
      {.request =
           "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
       .want = {"HTTP/1.1 100 Continue\r\n\r\n"},
       .whole = 1,
       .then = KEEP},
      {.request = "data", .want = {"body=4:data"}},
      {.request = "GET /old HTTP/1.0\r\n\r\n", .want = {"Connection: close\r\n"}, .then = CLOSED},
  };
  fixture_t *f = start(NULL);
  RUN(f, rows);
  finish(f);
}

/* Stopping while a request is being handled: it is still answered (and the
 * connection closed after), and the server is gone once it has been. */
static void stop_while_handling(void **state) {
  static const exchange_t held = {.want = {"GET /later", "Connection: close\r\n"}, .then = CLOSED};
  fixture_t *f = start(NULL);
  int fd = client(f), idle = client(f);

  send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  wait_held(f);
  ask_stop(f);
  answer_held(f); /* after the stop: on_wake takes the stop first */
  expect_answer(fd, "held", &held);
  assert_closed(idle);
  joined(f);
  close(fd);
  close(idle);
}

static void client_vanishes(void **state) {
  fixture_t *f = start(NULL);
  int fd = client(f);

  /* gone while the handler holds its request */
  send_str(fd, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
  wait_held(f);
  close(fd);
  ask(f, "GET /still-here HTTP/1.1\r\nHost: t\r\n\r\n", "GET /still-here");
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
