/* The sidecar's gRPC API: one HTTP/2 connection, many calls.
 *
 * A call lives through attempts. Each attempt waits for the connection and
 * for a free stream (the `queue`), then runs on a stream until the stream
 * closes; its timer bounds the whole attempt, and between attempts it is the
 * back-off. As on the server side, nothing is sent from inside nghttp2's
 * callbacks: what they finish is settled after the read, and the
 * connection (ofctx__h2_conn_t, grpc_wire.c) writes whatever nghttp2 has
 * queued, one write at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grpc_client.h"
#include "grpc_wire.h"
#include "mem.h"

typedef struct gconn gconn_t;
typedef struct gcall gcall_t;

enum { NO_STATUS = -1 }; /* a call's code before its trailer's grpc-status came */

struct gcall {
  ofctx__grpc_client_t *client;
  gcall_t *prev, *next; /* the client's calls */
  gcall_t *qnext;       /* the queue, while waiting for a stream */
  int queued;
  gconn_t *conn; /* the connection of its stream, while it has one */
  int32_t stream_id;
  const char *path;     /* borrowed */
  const char *fallback; /* borrowed: the path to try on UNIMPLEMENTED, or NULL */
  ofctx__buf_t answer;  /* the response's bytes (a frame prefix, then the message) */
  unsigned char *body;  /* prefix and message */
  size_t body_len, body_off;
  ofctx__retry_policy_t policy;
  int attempts;
  uint64_t attempt_start; /* loop time */
  uv_timer_t timer;
  int http_status; /* of the response head; 0 before */
  int code;        /* grpc-status of the trailer; NO_STATUS before one came */
  int trailed;     /* a trailer (HEADERS with END_STREAM) came */
  int too_big;     /* the answer passed max_response_size: we reset the stream */
  ofctx__buf_t message;
  size_t response_len;
  ofctx__grpc_done_fn done;
  void *arg;
  ofctx__buf_t md; /* the call's own metadata: name NUL value NUL ... */
  size_t md_count;
  int finished;
  /* ended inside ofctx__grpc_client_call: told on the next loop turn */
  int late_code, late_cancelled;
  char late_why[200];
};

struct gconn {
  ofctx__h2_conn_t h2; /* its socket, session and writes */
  ofctx__grpc_client_t *client;
  uv_connect_t connect;
  int goaway;
  size_t streams;
};

struct ofctx__grpc_client {
  uv_loop_t *loop;
  char *host; /* without brackets */
  char *authority;
  int port;
  char *token;
  gconn_t *conn; /* the connection new calls go on, or NULL */
  gcall_t *calls;
  gcall_t *queue, *queue_tail;
  size_t pending;
  int in_call;         /* inside ofctx__grpc_client_call: no `done` may run now */
  uint64_t timeout_ms; /* the last grpc-timeout formatted, and its text */
  char timeout[24];
  uv_getaddrinfo_t gai;
  int resolving;
  struct sockaddr_storage addr;
  int have_addr;
  uint64_t rng;
  int closing;
  nghttp2_session_callbacks *callbacks;
  size_t handles;          /* open: connections + calls' timers, for freeing at the end */
  char readbuf[64 * 1024]; /* every connection's reads */
};

static void pump(ofctx__grpc_client_t *cl);
static void attempt_failed(gcall_t *call, int code, const char *why);

/* ---- freeing ---- */

static void maybe_free(ofctx__grpc_client_t *cl) {
  if (!cl->closing || cl->handles > 0 || cl->resolving)
    return;
  nghttp2_session_callbacks_del(cl->callbacks);
  ofctx__free(cl->host);
  ofctx__free(cl->authority);
  ofctx__free(cl->token);
  ofctx__free(cl);
}

static void call_freed(uv_handle_t *handle) {
  gcall_t *call = handle->data;
  ofctx__grpc_client_t *cl = call->client;

  ofctx__free(call->body);
  ofctx__buf_free(&call->md);
  ofctx__buf_free(&call->message);
  ofctx__buf_free(&call->answer);
  ofctx__free(call);
  cl->handles--;
  maybe_free(cl);
}

static void unqueue(gcall_t *call) {
  ofctx__grpc_client_t *cl = call->client;
  gcall_t **p = &cl->queue, *prev = NULL;

  if (!call->queued)
    return;
  while (*p && *p != call) {
    prev = *p;
    p = &(*p)->qnext;
  }
  if (*p)
    *p = call->qnext;
  if (cl->queue_tail == call)
    cl->queue_tail = prev;
  call->qnext = NULL;
  call->queued = 0;
}

/* Leaves the call's stream, if it has one (the stream is reset). */
static void leave_stream(gcall_t *call) {
  gconn_t *c = call->conn;

  if (!c)
    return;
  if (c->h2.session) {
    nghttp2_session_set_stream_user_data(c->h2.session, call->stream_id, NULL);
    nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
  }
  c->streams--;
  call->conn = NULL;
  ofctx__h2_conn_flush(&c->h2);
}

static void finish(gcall_t *call, int code, const char *why, int cancelled);

static void finish_late(uv_timer_t *timer) {
  gcall_t *call = timer->data;
  call->finished = 0;
  finish(call, call->late_code, call->late_why, call->late_cancelled);
}

static void finish(gcall_t *call, int code, const char *why, int cancelled) {
  ofctx__grpc_client_t *cl = call->client;
  ofctx__grpc_result_t r = {code == OFCTX__GRPC_OK,
                            code,
                            call->attempts,
                            cancelled,
                            code == OFCTX__GRPC_OK ? NULL : why,
                            NULL,
                            0};
  const char *msg;
  size_t msg_len;

  /* one uncompressed message, whole: what a unary answer is */
  if (r.ok && ofctx__grpc_unframe(call->answer.data, call->answer.len, call->answer.len, &msg,
                                  &msg_len) == OFCTX__UNFRAME_OK) {
    r.response = (const uint8_t *)msg;
    r.response_len = msg_len;
  }

  if (call->finished)
    return;
  call->finished = 1;
  unqueue(call);
  leave_stream(call);
  uv_timer_stop(&call->timer);
  if (cl->in_call && !cancelled) {
    /* the caller is still inside ofctx__grpc_client_call */
    call->late_code = code;
    call->late_cancelled = cancelled;
    if (why != call->late_why)
      snprintf(call->late_why, sizeof call->late_why, "%s", why ? why : "");
    uv_timer_start(&call->timer, finish_late, 0, 0);
    return;
  }
  OFCTX__LIST_UNLINK(cl->calls, call);
  cl->pending--;
  call->done(call->arg, &r);
  uv_close((uv_handle_t *)&call->timer, call_freed);
}

/* ---- the connection ---- */

static void conn_closed(void *owner) {
  gconn_t *c = owner;
  ofctx__grpc_client_t *cl = c->client;

  ofctx__free(c);
  cl->handles--;
  maybe_free(cl);
}

/* Closes `c`; its calls' attempts fail with `why` (and may be tried again). */
static void conn_close(gconn_t *c, const char *why) {
  ofctx__grpc_client_t *cl = c->client;

  if (c->h2.closing)
    return;
  ofctx__h2_conn_close(&c->h2);
  if (cl->conn == c)
    cl->conn = NULL;
  for (gcall_t *call = cl->calls, *next; call; call = next) {
    next = call->next;
    if (call->conn == c) {
      call->conn = NULL;
      c->streams--;
      attempt_failed(call, OFCTX__GRPC_UNAVAILABLE, why);
    }
  }
  /* calls that waited for this connection wait for the next */
  if (!cl->closing)
    pump(cl);
}

static void conn_failed(void *owner, ofctx__h2_failure_t failure) {
  static const char *const why[] = {
      [OFCTX__H2_LOST] = "the connection to the sidecar was lost",
      [OFCTX__H2_PEER_CLOSED] = "the sidecar closed the connection",
      [OFCTX__H2_PEER_BROKE] = "the sidecar broke HTTP/2",
      [OFCTX__H2_SEND_FAILED] =
          "HTTP/2 failed on the connection to the sidecar (or out of memory)"};
  conn_close(owner, why[failure]);
}

/* A flush is over: a connection the sidecar sent GOAWAY on goes once its
 * last stream has and nothing is left to write. */
static void conn_flushed(void *owner) {
  gconn_t *c = owner;

  if (!c->h2.writing && c->goaway && c->streams == 0)
    conn_close(c, "the sidecar sent GOAWAY");
}

static void conn_read(void *owner) {
  gconn_t *c = owner;
  pump(c->client);
}

static const ofctx__h2_hooks_t conn_hooks = {conn_read, conn_flushed, conn_failed, conn_closed};

/* The attempts of the calls waiting for a connection fail with `why`. */
static void fail_queued(ofctx__grpc_client_t *cl, const char *why) {
  for (gcall_t *call = cl->calls, *next; call; call = next) {
    next = call->next;
    if (call->queued)
      attempt_failed(call, OFCTX__GRPC_UNAVAILABLE, why);
  }
}

static void connected(uv_connect_t *req, int status) {
  gconn_t *c = req->data;
  ofctx__grpc_client_t *cl = c->client;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  char why[256];

  if (c->h2.closing)
    return;
  if (status < 0) {
    snprintf(why, sizeof why,
             "cannot connect to the sidecar's gRPC port %s (DAPR_HOST and DAPR_GRPC_PORT): %s",
             cl->authority, uv_strerror(status));
    if (cl->conn == c)
      cl->conn = NULL;
    fail_queued(cl, why);
    conn_close(c, why);
    return;
  }
  if (nghttp2_submit_settings(c->h2.session, NGHTTP2_FLAG_NONE, iv, 2) != 0 ||
      ofctx__h2_conn_start(&c->h2) != 0) {
    conn_close(c, "out of memory");
    return;
  }
  pump(cl);
  ofctx__h2_conn_flush(&c->h2);
}

static void conn_open(ofctx__grpc_client_t *cl) {
  gconn_t *c = ofctx__calloc(1, sizeof *c);
  nghttp2_session *session;

  if (!c)
    return; /* the queued calls time out, or the next call tries again */
  if (nghttp2_session_client_new3(&session, cl->callbacks, c, NULL, &ofctx__nghttp2_mem) != 0) {
    ofctx__free(c);
    return;
  }
  ofctx__h2_conn_init(&c->h2, cl->loop, &conn_hooks, c, cl->readbuf, sizeof cl->readbuf);
  c->h2.session = session;
  c->client = cl;
  c->connect.data = c;
  cl->handles++;
  cl->conn = c;
  if (uv_tcp_connect(&c->connect, &c->h2.tcp, (const struct sockaddr *)&cl->addr, connected) != 0)
    connected(&c->connect, UV_ECONNREFUSED);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  ofctx__grpc_client_t *cl = req->data;
  char why[160];

  cl->resolving = 0;
  if (status == 0 && res) {
    memcpy(&cl->addr, res->ai_addr, res->ai_addrlen);
    ((struct sockaddr_in *)&cl->addr)->sin_port = htons((uint16_t)cl->port);
    cl->have_addr = 1;
  }
  uv_freeaddrinfo(res);
  if (cl->closing) {
    maybe_free(cl);
    return;
  }
  if (!cl->have_addr) {
    snprintf(why, sizeof why, "cannot resolve DAPR_HOST: %s", uv_strerror(status));
    fail_queued(cl, why);
    return;
  }
  pump(cl);
}

/* Starts the queued calls that can start: on the connection once it is up
 * and has free streams; makes the connection when there is none. */
static void submit(gcall_t *call, gconn_t *c);

static void pump(ofctx__grpc_client_t *cl) {
  gconn_t *c;

  if (cl->closing || !cl->queue)
    return;
  if (!cl->have_addr) {
    struct addrinfo hints = {0};
    if (cl->resolving)
      return;
    hints.ai_socktype = SOCK_STREAM;
    cl->gai.data = cl;
    cl->resolving = 1;
    if (uv_getaddrinfo(cl->loop, &cl->gai, resolved, cl->host, NULL, &hints) != 0)
      cl->resolving = 0;
    return;
  }
  if (!cl->conn)
    conn_open(cl);
  c = cl->conn;
  if (!c || !c->h2.reading)
    return;
  while (cl->queue && !c->goaway &&
         c->streams < nghttp2_session_get_remote_settings(
                          c->h2.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) {
    gcall_t *call = cl->queue;
    unqueue(call);
    submit(call, c);
  }
  ofctx__h2_conn_flush(&c->h2);
}

/* ---- a call's attempts ---- */

static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user) {
  gcall_t *call = source->ptr;
  size_t n = call->body_len - call->body_off;
  (void)session;
  (void)id;
  (void)user;

  if (n > length)
    n = length;
  memcpy(buf, call->body + call->body_off, n);
  call->body_off += n;
  if (call->body_off == call->body_len)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static void attempt_timeout(uv_timer_t *timer);

/* Fills `nv` (room for REQUEST_HEAD pairs) with the call's request head;
 * returns how many pairs it holds. */
#define REQUEST_HEAD (9 + OFCTX__GRPC_CALL_MD_MAX)
static size_t request_head(gcall_t *call, nghttp2_nv *nv) {
  ofctx__grpc_client_t *cl = call->client;
  const char *md = call->md.data;
  size_t n = 0;

#define NV(name, value)                                                                            \
  nv[n++] = (nghttp2_nv) {                                                                         \
    (uint8_t *)(name), (uint8_t *)(value), strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE       \
  }
  if (cl->timeout_ms != call->policy.timeout_ms || !cl->timeout[0]) {
    cl->timeout_ms = call->policy.timeout_ms;
    ofctx__grpc_timeout_format(cl->timeout_ms, cl->timeout, sizeof cl->timeout);
  }
  NV(":method", "POST");
  NV(":scheme", "http");
  NV(":path", call->path);
  NV(":authority", cl->authority);
  NV("content-type", "application/grpc");
  NV("te", "trailers");
  NV("grpc-timeout", cl->timeout);
  NV("user-agent", "libofctx");
  if (cl->token)
    nv[n++] = (nghttp2_nv){(uint8_t *)"dapr-api-token", (uint8_t *)cl->token, 14, strlen(cl->token),
                           NGHTTP2_NV_FLAG_NO_INDEX};
  for (size_t i = 0; i < call->md_count; i++) {
    const char *value = md + strlen(md) + 1;
    NV(md, value);
    md = value + strlen(value) + 1;
  }
#undef NV
  return n;
}

/* Forgets what the attempt before received. */
static void attempt_reset(gcall_t *call) {
  call->body_off = 0;
  call->http_status = 0;
  call->code = NO_STATUS;
  call->trailed = 0;
  call->too_big = 0;
  call->response_len = 0;
  call->answer.len = 0;
  call->message.len = 0;
}

/* Opens the call's stream on `c`. */
static void submit(gcall_t *call, gconn_t *c) {
  nghttp2_nv nv[REQUEST_HEAD];
  size_t n = request_head(call, nv);
  nghttp2_data_provider provider;
  int32_t id;

  attempt_reset(call);
  provider.source.ptr = call;
  provider.read_callback = read_body;
  id = nghttp2_submit_request(c->h2.session, NULL, nv, n, &provider, call);
  if (id < 0) {
    attempt_failed(call, OFCTX__GRPC_UNAVAILABLE, "cannot open a stream to the sidecar");
    return;
  }
  call->conn = c;
  call->stream_id = id;
  c->streams++;
}

static void start_attempt(gcall_t *call) {
  ofctx__grpc_client_t *cl = call->client;

  call->attempts++;
  call->attempt_start = uv_now(cl->loop);
  uv_timer_start(&call->timer, attempt_timeout, call->policy.timeout_ms, 0);
  call->queued = 1;
  call->qnext = NULL;
  if (cl->queue_tail)
    cl->queue_tail->qnext = call;
  else
    cl->queue = call;
  cl->queue_tail = call;
  pump(cl);
}

static void backoff_over(uv_timer_t *timer) { start_attempt(timer->data); }

static void attempt_failed(gcall_t *call, int code, const char *why) {
  ofctx__grpc_client_t *cl = call->client;

  unqueue(call);
  leave_stream(call);
  uv_timer_stop(&call->timer);
  if (cl->closing || !ofctx__grpc_code_retryable(code) ||
      call->attempts >= call->policy.max_attempts) {
    finish(call, code, why, 0);
    return;
  }
  uv_timer_start(&call->timer, backoff_over,
                 ofctx__backoff_ms(&call->policy, call->attempts, &cl->rng), 0);
}

static void attempt_timeout(uv_timer_t *timer) {
  gcall_t *call = timer->data;
  gconn_t *c = call->conn;

  attempt_failed(call, OFCTX__GRPC_DEADLINE_EXCEEDED, "the sidecar did not answer in time");
  /* a connection that said nothing during the whole attempt is taken for
   * dead (a sidecar gone without a reset): the retry makes a new one */
  if (c && !c->h2.closing && c->h2.last_read < call->attempt_start)
    conn_close(c, "the sidecar stopped answering");
}

/* gRPC's code for a stream that ended without a trailer, from the code of
 * its RST_STREAM (NO_ERROR when it just ended): "Errors" in gRPC's
 * PROTOCOL-HTTP2.md. Only a refused stream was surely never processed. */
static int reset_code(uint32_t error) {
  switch (error) {
  case NGHTTP2_REFUSED_STREAM:
    return OFCTX__GRPC_UNAVAILABLE;
  case NGHTTP2_CANCEL:
    return OFCTX__GRPC_CANCELLED;
  case NGHTTP2_ENHANCE_YOUR_CALM:
    return OFCTX__GRPC_RESOURCE_EXHAUSTED;
  case NGHTTP2_INADEQUATE_SECURITY:
    return OFCTX__GRPC_PERMISSION_DENIED;
  default:
    return OFCTX__GRPC_INTERNAL;
  }
}

/* gRPC's code for an HTTP status other than 200 that came without a gRPC
 * one ("HTTP to gRPC Status Code Mapping" in grpc/grpc). */
static int http_code(int status) {
  switch (status) {
  case 400:
    return OFCTX__GRPC_INTERNAL;
  case 401:
    return OFCTX__GRPC_UNAUTHENTICATED;
  case 403:
    return OFCTX__GRPC_PERMISSION_DENIED;
  case 404:
    return OFCTX__GRPC_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504:
    return OFCTX__GRPC_UNAVAILABLE;
  default:
    return OFCTX__GRPC_UNKNOWN;
  }
}

/* The status an attempt whose stream closed with `error` ended with, and
 * into `why` (`size` bytes) what it says. Only a trailer ends a call with
 * its status: a grpc-status in headers that did not end the stream is no
 * answer, and a stream that closed without a trailer, or was reset after a
 * trailer that said OK (the sidecar took back what it said), failed. */
static int attempt_status(const gcall_t *call, uint32_t error, char *why, size_t size) {
  int code = call->trailed ? call->code : NO_STATUS;

  if (code == OFCTX__GRPC_OK && error != NGHTTP2_NO_ERROR)
    code = NO_STATUS;
  if (call->http_status != 0 && call->http_status != 200) {
    snprintf(why, size, "the sidecar answered HTTP %d", call->http_status);
    return http_code(call->http_status);
  }
  if (code == NO_STATUS) {
    if (error == NGHTTP2_NO_ERROR)
      snprintf(why, size, "the sidecar ended the call without a status");
    else
      snprintf(why, size, "the sidecar reset the call (HTTP/2 %s)%s", nghttp2_http2_strerror(error),
               call->trailed ? " after its status" : " before its status");
    return reset_code(error);
  }
  snprintf(why, size, "%s%s%s", ofctx__grpc_code_name(code), call->message.len ? ": " : "",
           call->message.len ? call->message.data : "");
  return code;
}

/* The stream is over: the call ends, is tried again, or tries its
 * fallback. */
static void attempt_ended(gcall_t *call, uint32_t error) {
  char why[256];
  int code;

  if (call->too_big) {
    snprintf(why, sizeof why, "the answer is larger than %zu bytes",
             call->policy.max_response_size);
    finish(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, why, 0); /* it would be as large again */
    return;
  }
  code = attempt_status(call, error, why, sizeof why);
  if (code == OFCTX__GRPC_OK) {
    finish(call, code, NULL, 0);
  } else if (code == OFCTX__GRPC_UNIMPLEMENTED && call->fallback) {
    call->path = call->fallback; /* an older sidecar: its name for the method */
    call->fallback = NULL;
    start_attempt(call);
  } else {
    attempt_failed(call, code, why);
  }
}

/* ---- nghttp2 callbacks ---- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  gcall_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  const char *n = (const char *)name, *v = (const char *)value;
  (void)namelen;
  (void)valuelen;
  (void)flags;
  (void)user;

  if (!call)
    return 0;
  if (strcmp(n, ":status") == 0) {
    call->http_status = (int)strtol(v, NULL, 10); /* nghttp2 has checked it is 3 digits */
  } else if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    /* not the trailer: a status here would not end the call */
  } else if (strcmp(n, "grpc-status") == 0) {
    call->code = ofctx__grpc_status_parse(v);
  } else if (strcmp(n, "grpc-message") == 0) {
    call->message.len = 0;
    ofctx__grpc_message_decode(&call->message, v);
  }
  return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user) {
  gcall_t *call = nghttp2_session_get_stream_user_data(session, id);
  (void)flags;
  (void)data;
  (void)user;

  if (call && (call->too_big || len > call->policy.max_response_size - call->response_len)) {
    if (!call->too_big)
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    call->too_big = 1;
  } else if (call) {
    call->response_len += len;
    ofctx__buf_append(&call->answer, (const char *)data, len);
  }
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error, void *user) {
  gconn_t *c = user;
  gcall_t *call = nghttp2_session_get_stream_user_data(session, id);

  if (!call)
    return 0;
  nghttp2_session_set_stream_user_data(session, id, NULL);
  call->conn = NULL;
  c->streams--;
  attempt_ended(call, error);
  return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  gconn_t *c = user;

  if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    /* the trailer, or a trailers-only answer: told before the stream closes */
    gcall_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call)
      call->trailed = 1;
  } else if (frame->hd.type == NGHTTP2_GOAWAY) {
    /* streams past its last id are closed as refused (and tried again);
     * new calls go on a new connection */
    c->goaway = 1;
    if (c->client->conn == c)
      c->client->conn = NULL;
  }
  return 0;
}

/* ---- the client ---- */

ofctx_err_t ofctx__grpc_client_new(ofctx__grpc_client_t **out, uv_loop_t *loop, const char *host,
                                   int port, const char *token) {
  ofctx__grpc_client_t *cl = ofctx__calloc(1, sizeof *cl);
  size_t hlen = strlen(host);
  int bracketed = hlen > 1 && host[0] == '[' && host[hlen - 1] == ']';
  ofctx__buf_t authority = {0};

  *out = NULL;
  if (!cl)
    return OFCTX_ENOMEM;
  cl->loop = loop;
  cl->port = port;
  cl->host = bracketed ? ofctx__strndup(host + 1, hlen - 2) : ofctx__strdup(host);
  cl->token = token ? ofctx__strdup(token) : NULL;
  ofctx__buf_printf(&authority, "%s%s%s:%d", !bracketed && strchr(host, ':') ? "[" : "", host,
                    !bracketed && strchr(host, ':') ? "]" : "", port);
  cl->authority = authority.data;
  cl->rng = uv_hrtime() | 1;
  if (!cl->host || (token && !cl->token) || authority.failed ||
      nghttp2_session_callbacks_new(&cl->callbacks) != 0) {
    ofctx__free(cl->host);
    ofctx__free(cl->token);
    ofctx__buf_free(&authority);
    ofctx__free(cl);
    return OFCTX_ENOMEM;
  }
  nghttp2_session_callbacks_set_on_header_callback(cl->callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cl->callbacks, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cl->callbacks, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cl->callbacks, on_frame_recv);
  /* an address needs no resolver */
  if (uv_ip4_addr(cl->host, port, (struct sockaddr_in *)&cl->addr) == 0 ||
      uv_ip6_addr(cl->host, port, (struct sockaddr_in6 *)&cl->addr) == 0)
    cl->have_addr = 1;
  *out = cl;
  return OFCTX_OK;
}

ofctx_err_t ofctx__grpc_client_call(ofctx__grpc_client_t *cl, const char *path,
                                    const ProtobufCMessage *msg,
                                    const ofctx__retry_policy_t *policy, ofctx__grpc_done_fn done,
                                    void *arg) {
  return ofctx__grpc_client_call_or(cl, path, NULL, msg, policy, done, arg);
}

ofctx_err_t ofctx__grpc_client_call_or(ofctx__grpc_client_t *cl, const char *path,
                                       const char *fallback, const ProtobufCMessage *msg,
                                       const ofctx__retry_policy_t *policy,
                                       ofctx__grpc_done_fn done, void *arg) {
  return ofctx__grpc_client_call_md(cl, path, fallback, NULL, msg, policy, done, arg);
}

/* Copies the metadata pairs `md` (NULL-ended, or NULL) into the call. */
static ofctx_err_t keep_md(gcall_t *call, const char *const *md) {
  for (; md && md[0]; md += 2) {
    if (!md[1] || call->md_count == OFCTX__GRPC_CALL_MD_MAX)
      return OFCTX_EINVAL;
    ofctx__buf_append(&call->md, md[0], strlen(md[0]) + 1);
    ofctx__buf_append(&call->md, md[1], strlen(md[1]) + 1);
    call->md_count++;
  }
  return call->md.failed ? OFCTX_ENOMEM : OFCTX_OK;
}

ofctx_err_t ofctx__grpc_client_call_md(ofctx__grpc_client_t *cl, const char *path,
                                       const char *fallback, const char *const *md,
                                       const ProtobufCMessage *msg,
                                       const ofctx__retry_policy_t *policy,
                                       ofctx__grpc_done_fn done, void *arg) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  gcall_t *call;
  ofctx_err_t rc;

  if (cl->closing)
    return OFCTX_ESEND;
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return OFCTX_ENOMEM;
  call->path = path;
  call->fallback = fallback;
  call->body = ofctx__malloc(len + OFCTX__GRPC_PREFIX);
  rc = call->body ? keep_md(call, md) : OFCTX_ENOMEM;
  if (rc != OFCTX_OK) {
    ofctx__buf_free(&call->md);
    ofctx__free(call->body);
    ofctx__free(call);
    return rc;
  }
  ofctx__grpc_prefix(call->body, len);
  protobuf_c_message_pack(msg, call->body + OFCTX__GRPC_PREFIX);
  call->body_len = len + OFCTX__GRPC_PREFIX;
  call->client = cl;
  call->policy = *policy;
  call->done = done;
  call->arg = arg;
  uv_timer_init(cl->loop, &call->timer);
  call->timer.data = call;
  cl->handles++;
  OFCTX__LIST_PUSH(cl->calls, call);
  cl->pending++;
  cl->in_call = 1;
  start_attempt(call);
  cl->in_call = 0;
  return OFCTX_OK;
}

size_t ofctx__grpc_client_pending(const ofctx__grpc_client_t *cl) { return cl->pending; }

void ofctx__grpc_client_close(ofctx__grpc_client_t *cl) {
  cl->closing = 1;
  while (cl->calls) {
    cl->calls->finished = 0; /* also one waiting to be told late */
    finish(cl->calls, OFCTX__GRPC_CANCELLED, "cancelled: the function is stopping", 1);
  }
  if (cl->conn)
    conn_close(cl->conn, "closed");
  if (cl->resolving)
    uv_cancel((uv_req_t *)&cl->gai);
  maybe_free(cl);
}
