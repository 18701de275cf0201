/* The sidecar's gRPC API: one HTTP/2 connection, many calls.
 *
 * A call lives through attempts. Each attempt waits for the connection and
 * for a free stream (the `queue`), then runs on a stream until the stream
 * closes; its timer bounds the whole attempt, and between attempts it is the
 * back-off. As on the server side, nothing is sent from inside nghttp2's
 * callbacks: what they finish is settled after the read, and flush() writes
 * whatever nghttp2 has queued, one write at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grpc_client.h"
#include "grpc_wire.h"
#include "mem.h"

#define WRITE_MAX (256 * 1024)

typedef struct gconn gconn_t;
typedef struct gcall gcall_t;

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
  ofctx__dapr_policy_t policy;
  int attempts;
  uint64_t attempt_start; /* loop time */
  uv_timer_t timer;
  int http_status; /* of the response head; 0 before */
  int code;        /* grpc-status of the trailer; -1 before one came */
  int trailed;     /* a trailer (HEADERS with END_STREAM) came */
  int too_big;     /* the answer passed max_response_size: we reset the stream */
  ofctx__buf_t message;
  size_t response_len;
  ofctx__grpc_done_fn done;
  void *arg;
  int finished;
  /* ended inside ofctx__grpc_client_call: told on the next loop turn */
  int late_code, late_cancelled;
  char late_why[200];
};

struct gconn {
  ofctx__grpc_client_t *client;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t wr;
  nghttp2_session *session;
  ofctx__buf_t wbuf;
  int connected, writing, closing, goaway;
  int in_recv; /* inside nghttp2_session_mem_recv or _mem_send */
  size_t streams;
  uint64_t last_read; /* loop time of the last bytes from the sidecar */
  char readbuf[64 * 1024];
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
  size_t handles; /* open: connections + calls' timers, for freeing at the end */
};

static void pump(ofctx__grpc_client_t *cl);
static void flush(gconn_t *c);
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
  if (c->session) {
    nghttp2_session_set_stream_user_data(c->session, call->stream_id, NULL);
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
  }
  c->streams--;
  call->conn = NULL;
  flush(c);
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
                                  &msg_len) == 0) {
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

static void conn_freed(uv_handle_t *handle) {
  gconn_t *c = handle->data;
  ofctx__grpc_client_t *cl = c->client;

  nghttp2_session_del(c->session); /* here: conn_close may run inside its callbacks */
  ofctx__buf_free(&c->wbuf);
  ofctx__free(c);
  cl->handles--;
  maybe_free(cl);
}

/* Closes `c`; its calls' attempts fail with `why` (and may be tried again). */
static void conn_close(gconn_t *c, const char *why) {
  ofctx__grpc_client_t *cl = c->client;

  if (c->closing)
    return;
  c->closing = 1;
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
  uv_close((uv_handle_t *)&c->tcp, conn_freed);
  /* calls that waited for this connection wait for the next */
  if (!cl->closing)
    pump(cl);
}

static void written(uv_write_t *wr, int status) {
  gconn_t *c = wr->data;

  c->writing = 0;
  c->wbuf.len = 0;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c, "the connection to the sidecar was lost");
    return;
  }
  flush(c);
}

static void flush(gconn_t *c) {
  uv_buf_t buf;

  if (c->closing || c->writing || c->in_recv || !c->connected)
    return;
  /* its callbacks may end calls, whose callers may call again */
  if (ofctx__h2_gather(c->session, &c->wbuf, WRITE_MAX, &c->in_recv) != 0) {
    conn_close(c, "HTTP/2 failed on the connection to the sidecar (or out of memory)");
    return;
  }
  if (c->closing)
    return;
  if (c->wbuf.len == 0) {
    if (c->goaway && c->streams == 0)
      conn_close(c, "the sidecar sent GOAWAY");
    return;
  }
  buf = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
  c->writing = 1;
  c->wr.data = c;
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, written) != 0) {
    c->writing = 0;
    conn_close(c, "the connection to the sidecar was lost");
  }
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  gconn_t *c = handle->data;
  (void)suggested;
  *buf = uv_buf_init(c->readbuf, sizeof c->readbuf);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  gconn_t *c = stream->data;
  ssize_t rv;

  if (nread < 0) {
    conn_close(c, nread == UV_EOF ? "the sidecar closed the connection"
                                  : "the connection to the sidecar was lost");
    return;
  }
  if (nread == 0)
    return;
  c->last_read = uv_now(c->client->loop);
  c->in_recv = 1;
  rv = nghttp2_session_mem_recv(c->session, (const uint8_t *)buf->base, (size_t)nread);
  c->in_recv = 0;
  if (rv < 0) {
    conn_close(c, "the sidecar broke HTTP/2");
    return;
  }
  flush(c);
  pump(c->client);
}

static void connected(uv_connect_t *req, int status) {
  gconn_t *c = req->data;
  ofctx__grpc_client_t *cl = c->client;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  char why[256];

  if (c->closing)
    return;
  if (status < 0) {
    snprintf(why, sizeof why,
             "cannot connect to the sidecar's gRPC port %s (DAPR_HOST and DAPR_GRPC_PORT): %s",
             cl->authority, uv_strerror(status));
    /* the calls that waited for it fail this attempt */
    if (cl->conn == c)
      cl->conn = NULL;
    for (gcall_t *call = cl->calls, *next; call; call = next) {
      next = call->next;
      if (call->queued)
        attempt_failed(call, OFCTX__GRPC_UNAVAILABLE, why);
    }
    conn_close(c, why);
    return;
  }
  c->connected = 1;
  uv_tcp_nodelay(&c->tcp, 1);
  if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2) != 0) {
    conn_close(c, "out of memory");
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  pump(cl);
  flush(c);
}

static void conn_open(ofctx__grpc_client_t *cl) {
  gconn_t *c = ofctx__calloc(1, sizeof *c);

  if (!c)
    return; /* the queued calls time out, or the next call tries again */
  c->client = cl;
  if (nghttp2_session_client_new3(&c->session, cl->callbacks, c, NULL, &ofctx__nghttp2_mem) != 0) {
    ofctx__free(c);
    return;
  }
  uv_tcp_init(cl->loop, &c->tcp);
  c->tcp.data = c;
  c->connect.data = c;
  cl->handles++;
  cl->conn = c;
  if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&cl->addr, connected) != 0)
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
    for (gcall_t *call = cl->calls, *next; call; call = next) {
      next = call->next;
      if (call->queued)
        attempt_failed(call, OFCTX__GRPC_UNAVAILABLE, why);
    }
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
  if (!c || !c->connected)
    return;
  while (cl->queue && !c->goaway &&
         c->streams < nghttp2_session_get_remote_settings(
                          c->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) {
    gcall_t *call = cl->queue;
    unqueue(call);
    submit(call, c);
  }
  flush(c);
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

static void submit(gcall_t *call, gconn_t *c) {
  ofctx__grpc_client_t *cl = call->client;
  nghttp2_nv nv[10];
  size_t n = 0;
  nghttp2_data_provider provider;
  int32_t id;

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
#undef NV
  call->body_off = 0;
  call->http_status = 0;
  call->code = -1;
  call->trailed = 0;
  call->too_big = 0;
  call->response_len = 0;
  call->answer.len = 0;
  call->message.len = 0;
  provider.source.ptr = call;
  provider.read_callback = read_body;
  id = nghttp2_submit_request(c->session, NULL, nv, n, &provider, call);
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
                 ofctx__dapr_backoff_ms(&call->policy, call->attempts, &cl->rng), 0);
}

static void attempt_timeout(uv_timer_t *timer) {
  gcall_t *call = timer->data;
  gconn_t *c = call->conn;

  attempt_failed(call, OFCTX__GRPC_DEADLINE_EXCEEDED, "the sidecar did not answer in time");
  /* a connection that said nothing during the whole attempt is taken for
   * dead (a sidecar gone without a reset): the retry makes a new one */
  if (c && !c->closing && c->last_read < call->attempt_start)
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
    return 7; /* PERMISSION_DENIED */
  default:
    return OFCTX__GRPC_INTERNAL;
  }
}

/* The stream is over. Only a trailer ends a call with its status: a
 * grpc-status in headers that did not end the stream is no answer, and a
 * stream that closed without a trailer, or was reset after a trailer that
 * said OK (the sidecar took back what it said), failed. */
static void attempt_ended(gcall_t *call, uint32_t error) {
  char why[256];
  int code = call->trailed ? call->code : -1;

  if (call->too_big) {
    snprintf(why, sizeof why, "the answer is larger than %zu bytes",
             call->policy.max_response_size);
    code = OFCTX__GRPC_RESOURCE_EXHAUSTED;
    finish(call, code, why, 0); /* the same answer again would be as large */
    return;
  }
  if (code == OFCTX__GRPC_OK && error != NGHTTP2_NO_ERROR)
    code = -1;
  if (call->http_status != 0 && call->http_status != 200) {
    /* gRPC's mapping of an HTTP status without a gRPC one */
    int s = call->http_status;
    code = s == 400                                         ? OFCTX__GRPC_INTERNAL
           : s == 401                                       ? OFCTX__GRPC_UNAUTHENTICATED
           : s == 403                                       ? 7 /* PERMISSION_DENIED */
           : s == 404                                       ? OFCTX__GRPC_UNIMPLEMENTED
           : (s == 429 || s == 502 || s == 503 || s == 504) ? OFCTX__GRPC_UNAVAILABLE
                                                            : OFCTX__GRPC_UNKNOWN;
    snprintf(why, sizeof why, "the sidecar answered HTTP %d", s);
  } else if (code < 0) {
    code = reset_code(error);
    if (error == NGHTTP2_NO_ERROR)
      snprintf(why, sizeof why, "the sidecar ended the call without a status");
    else
      snprintf(why, sizeof why, "the sidecar reset the call (HTTP/2 %s)%s",
               nghttp2_http2_strerror(error),
               call->trailed ? " after its status" : " before its status");
  } else {
    snprintf(why, sizeof why, "%s%s%s", ofctx__grpc_code_name(code), call->message.len ? ": " : "",
             call->message.len ? call->message.data : "");
  }
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
                                    const ProtobufCMessage *msg, const ofctx__dapr_policy_t *policy,
                                    ofctx__grpc_done_fn done, void *arg) {
  return ofctx__grpc_client_call_or(cl, path, NULL, msg, policy, done, arg);
}

ofctx_err_t ofctx__grpc_client_call_or(ofctx__grpc_client_t *cl, const char *path,
                                       const char *fallback, const ProtobufCMessage *msg,
                                       const ofctx__dapr_policy_t *policy, ofctx__grpc_done_fn done,
                                       void *arg) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  gcall_t *call;

  if (cl->closing)
    return OFCTX_ESEND;
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return OFCTX_ENOMEM;
  call->path = path;
  call->fallback = fallback;
  call->body = ofctx__malloc(len + OFCTX__GRPC_PREFIX);
  if (!call->body) {
    ofctx__free(call);
    return OFCTX_ENOMEM;
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
