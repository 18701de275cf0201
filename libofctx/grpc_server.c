/* The gRPC server: connections handed over by the HTTP/1.1 server, HTTP/2
 * framing by nghttp2 (its memory through ours), one unary call per stream.
 *
 * nghttp2 must not be asked to send from inside its own callbacks, so a
 * call completed during a read is queued and handed to the handler once the
 * read is processed; answers are submitted to nghttp2 and written by
 * flush(), one write at a time, each carrying every frame queued since the
 * last one. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "grpc_server.h"
#include "grpc_wire.h"
#include "mem.h"

#define WRITE_MAX (256 * 1024)      /* frames gathered into one write */
#define STREAM_WINDOW (1 << 20)     /* per call, advertised */
#define CONNECTION_WINDOW (8 << 20) /* per connection */

typedef struct gconn gconn_t;

struct ofctx__grpc_call {
  gconn_t *conn; /* NULL once the connection has gone */
  int32_t id;
  ofctx__grpc_call_t *prev, *next; /* the connection's calls, or its ready queue */
  ofctx__buf_t head;               /* path NUL, then name NUL value NUL ... */
  size_t header_count, header_size;
  ofctx__http_header_t *headers;
  int post, grpc_type, bad_type; /* :method POST; a content-type application/grpc; another */
  int64_t timeout_ms;            /* grpc-timeout; -1: none */
  ofctx__buf_t body;
  size_t budget; /* bytes of the server's bodies budget this call holds */
  const char *msg;
  size_t msg_len;
  uv_timer_t timer; /* the request must be whole in time; then its deadline */
  int held;         /* the handler has it */
  int responded;    /* an answer was submitted (by the handler or the server) */
  int stream_closed;
  int in_list; /* 1: the connection's calls; 2: its ready queue */
  char *out;   /* the answer: prefix and message */
  size_t out_len, out_off;
};

struct gconn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  ofctx__grpc_server_t *server;
  gconn_t *prev, *next;
  nghttp2_session *session;
  ofctx__grpc_call_t *calls, *ready;
  ofctx__buf_t wbuf;
  uv_write_t wr;
  int writing, closing, handles;
  int in_recv; /* inside nghttp2_session_mem_recv or _mem_send */
};

struct ofctx__grpc_server {
  uv_loop_t *loop;
  ofctx__grpc_limits_t limits;
  ofctx__grpc_handler_fn handler;
  void *arg;
  gconn_t *conns;
  size_t conn_count;
  size_t body_bytes;
  int stopping;
  void (*done)(void *arg);
  void *done_arg;
  nghttp2_session_callbacks *callbacks;
  nghttp2_option *option;
  char readbuf[64 * 1024];
};

void ofctx__grpc_limits_default(ofctx__grpc_limits_t *limits) {
  ofctx__http_limits_default(&limits->http);
  limits->max_message_size = 4 * 1024 * 1024;
  limits->max_streams = 100;
}

/* ---- calls ---- */

static void call_freed(uv_handle_t *handle) {
  ofctx__grpc_call_t *call = handle->data;

  ofctx__buf_free(&call->head);
  ofctx__buf_free(&call->body);
  ofctx__free(call->headers);
  ofctx__free(call->out);
  ofctx__free(call);
}

static void call_unlist(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;

  if (c && call->in_list == 1)
    OFCTX__LIST_UNLINK(c->calls, call);
  else if (c && call->in_list == 2)
    OFCTX__LIST_UNLINK(c->ready, call);
  call->in_list = 0;
}

static void budget_release(ofctx__grpc_call_t *call, ofctx__grpc_server_t *s) {
  s->body_bytes -= call->budget;
  call->budget = 0;
}

/* Frees the call once neither its stream nor the handler needs it. */
static void call_release(ofctx__grpc_call_t *call) {
  if (call->held || !call->stream_closed || uv_is_closing((uv_handle_t *)&call->timer))
    return;
  call_unlist(call);
  call->conn = NULL;
  uv_close((uv_handle_t *)&call->timer, call_freed);
}

static void conn_timer_update(gconn_t *c);
static void flush(gconn_t *c);

/* Trailers-only: the status without a message. */
static void submit_status(ofctx__grpc_call_t *call, int code, const char *message) {
  gconn_t *c = call->conn;
  ofctx__buf_t text = {0};
  char codes[12];
  nghttp2_nv nv[4];
  size_t n = 0;

  if (!c || call->responded || call->stream_closed)
    return;
  call->responded = 1;
  snprintf(codes, sizeof codes, "%d", code);
#define NV(name, value)                                                                            \
  nv[n++] = (nghttp2_nv){(uint8_t *)(name), (uint8_t *)(value), strlen(name), strlen(value),       \
                         NGHTTP2_NV_FLAG_NONE}
  NV(":status", "200");
  NV("content-type", "application/grpc");
  NV("grpc-status", codes);
  if (message) {
    ofctx__grpc_message_encode(&text, message);
    if (text.data)
      NV("grpc-message", text.data);
  }
  if (nghttp2_submit_response(c->session, call->id, nv, n, NULL) != 0)
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_INTERNAL_ERROR);
  ofctx__buf_free(&text);
}

/* An HTTP answer for a request that is not gRPC at all (415, 405). */
static void submit_http(ofctx__grpc_call_t *call, const char *status) {
  nghttp2_nv nv[1];
  size_t n = 0;

  call->responded = 1;
  NV(":status", status);
#undef NV
  nghttp2_submit_response(call->conn->session, call->id, nv, n, NULL);
}

static ssize_t read_answer(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                           uint32_t *flags, nghttp2_data_source *source, void *user) {
  ofctx__grpc_call_t *call = source->ptr;
  size_t n = call->out_len - call->out_off;
  static const nghttp2_nv ok[] = {
      {(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE}};
  (void)user;

  if (n > length)
    n = length;
  memcpy(buf, call->out + call->out_off, n);
  call->out_off += n;
  if (call->out_off == call->out_len) {
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (nghttp2_submit_trailer(session, id, ok, 1) != 0)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return (ssize_t)n;
}

static void deadline_passed(uv_timer_t *timer) {
  ofctx__grpc_call_t *call = timer->data;
  gconn_t *c = call->conn;

  if (!c)
    return;
  if (!call->held) {
    /* the request is not whole in time */
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_CANCEL);
  } else {
    submit_status(call, OFCTX__GRPC_DEADLINE_EXCEEDED, "the call's deadline passed");
  }
  flush(c);
}

/* The request is whole: checked, then queued for the handler. */
static void call_complete(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;
  const ofctx__grpc_limits_t *lim = &c->server->limits;
  size_t count = call->header_count, i = 0;
  const char *p;
  int rc;

  uv_timer_stop(&call->timer);
  if (!call->post) {
    submit_http(call, "405");
    return;
  }
  if (!call->grpc_type || call->bad_type) {
    submit_http(call, "415");
    return;
  }
  rc = ofctx__grpc_unframe(call->body.data, call->body.len, lim->max_message_size, &call->msg,
                           &call->msg_len);
  if (rc != 0) {
    submit_status(call,
                  rc == -2   ? OFCTX__GRPC_UNIMPLEMENTED
                  : rc == -3 ? OFCTX__GRPC_RESOURCE_EXHAUSTED
                             : OFCTX__GRPC_INTERNAL,
                  rc == -2   ? "compressed messages are not accepted"
                  : rc == -3 ? "the message is larger than the limit"
                             : "the request is not one length-prefixed message");
    return;
  }
  call->headers = ofctx__calloc(count ? count : 1, sizeof *call->headers);
  if (!call->headers || call->head.failed) {
    submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  p = call->head.data + strlen(call->head.data) + 1; /* past the path */
  for (i = 0; i < count; i++) {
    call->headers[i].name = p;
    p += strlen(p) + 1;
    call->headers[i].value = p;
    p += strlen(p) + 1;
  }
  call_unlist(call);
  OFCTX__LIST_PUSH(c->ready, call);
  call->in_list = 2;
  if (call->timeout_ms >= 0)
    uv_timer_start(&call->timer, deadline_passed, (uint64_t)call->timeout_ms, 0);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call;

  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
  call->conn = c;
  call->id = frame->hd.stream_id;
  call->timeout_ms = -1;
  ofctx__buf_reserve(&call->head, 256);  /* Dapr's calls: the path and a few fields */
  ofctx__buf_append(&call->head, "", 1); /* the path, until it comes */
  if (call->head.failed) {
    ofctx__free(call);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  uv_timer_init(c->server->loop, &call->timer);
  call->timer.data = call;
  OFCTX__LIST_PUSH(c->calls, call);
  call->in_list = 1;
  nghttp2_session_set_stream_user_data(session, call->id, call);
  uv_timer_start(&call->timer, deadline_passed, c->server->limits.http.header_timeout_ms, 0);
  conn_timer_update(c);
  return 0;
}

static int is_grpc_type(const char *v, size_t len) {
  static const char t[] = "application/grpc";
  size_t n = sizeof t - 1;
  return len >= n && strncmp(v, t, n) == 0 && (len == n || v[n] == '+' || v[n] == ';');
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  const char *n = (const char *)name, *v = (const char *)value;
  (void)flags;
  (void)user;

  if (!call || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; /* trailers of a request: not kept */
  if (call->head.failed)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* out of memory: the stream is reset */
  call->header_size += namelen + valuelen + 32;
  if (call->header_size > call->conn->server->limits.http.max_header_size)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (n[0] == ':') {
    if (strcmp(n, ":method") == 0) {
      call->post = strcmp(v, "POST") == 0;
    } else if (strcmp(n, ":path") == 0) {
      ofctx__buf_t head = {0};
      ofctx__buf_append(&head, v, valuelen + 1); /* nghttp2 ends it with a NUL */
      ofctx__buf_append(&head, call->head.data + 1, call->head.len - 1);
      ofctx__buf_free(&call->head);
      call->head = head;
    }
    return 0;
  }
  if (strcmp(n, "content-type") == 0) {
    if (is_grpc_type(v, valuelen))
      call->grpc_type = 1;
    else
      call->bad_type = 1;
    return 0;
  }
  if (strcmp(n, "grpc-timeout") == 0) {
    call->timeout_ms = ofctx__grpc_timeout_parse(v);
    return 0;
  }
  if (strcmp(n, "te") == 0)
    return 0;
  ofctx__buf_append(&call->head, n, namelen + 1);
  ofctx__buf_append(&call->head, v, valuelen + 1);
  call->header_count++;
  return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, id);
  ofctx__grpc_server_t *s = c->server;
  (void)flags;

  if (!call || call->responded)
    return 0;
  if (call->body.len + len > s->limits.max_message_size + OFCTX__GRPC_PREFIX) {
    submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the message is larger than the limit");
  } else if (s->body_bytes + len > s->limits.http.max_bodies_size) {
    submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the server holds too many messages");
  } else {
    ofctx__buf_append(&call->body, data, len);
    s->body_bytes += len;
    call->budget += len;
    if (call->body.failed)
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (call->responded) { /* what more comes is read and let go */
    budget_release(call, s);
    ofctx__buf_free(&call->body);
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  ofctx__grpc_call_t *call;
  (void)user;

  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (call && !call->responded && call->in_list == 1)
    call_complete(call);
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, id);
  (void)error;

  if (!call)
    return 0;
  nghttp2_session_set_stream_user_data(session, id, NULL);
  call->stream_closed = 1;
  budget_release(call, c->server);
  uv_timer_stop(&call->timer);
  if (call->held) {
    /* the handler answers into the void */
    call_unlist(call);
    call->conn = NULL;
  }
  call_release(call);
  conn_timer_update(c);
  return 0;
}

/* ---- connections ---- */

static void maybe_done(ofctx__grpc_server_t *s) {
  if (s->stopping && s->conn_count == 0 && s->done) {
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    nghttp2_session_callbacks_del(s->callbacks);
    nghttp2_option_del(s->option);
    ofctx__free(s);
    done(arg);
  }
}

static void conn_freed(uv_handle_t *handle) {
  gconn_t *c = handle->data;
  ofctx__grpc_server_t *s = c->server;

  if (--c->handles > 0)
    return;
  nghttp2_session_del(c->session); /* here: conn_close may run inside its callbacks */
  ofctx__buf_free(&c->wbuf);
  ofctx__free(c);
  s->conn_count--;
  maybe_done(s);
}

static void conn_close(gconn_t *c) {
  ofctx__grpc_call_t *lists[2] = {c->calls, c->ready};

  if (c->closing)
    return;
  c->closing = 1;
  OFCTX__LIST_UNLINK(c->server->conns, c);
  for (int l = 0; l < 2; l++) {
    for (ofctx__grpc_call_t *call = lists[l], *next; call; call = next) {
      next = call->next;
      call->in_list = 0;
      call->prev = call->next = NULL;
      call->conn = NULL;
      call->stream_closed = 1;
      budget_release(call, c->server);
      uv_timer_stop(&call->timer);
      call_release(call);
    }
  }
  c->calls = c->ready = NULL;
  uv_close((uv_handle_t *)&c->tcp, conn_freed);
  uv_close((uv_handle_t *)&c->timer, conn_freed);
}

static void conn_timeout(uv_timer_t *timer) {
  gconn_t *c = timer->data;

  if (c->writing) { /* the peer takes no answer */
    conn_close(c);
    return;
  }
  /* idle: say so, then go once the GOAWAY is written */
  nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
  flush(c);
}

static void conn_timer_update(gconn_t *c) {
  const ofctx__http_limits_t *lim = &c->server->limits.http;

  if (c->closing)
    return;
  if (c->writing)
    uv_timer_start(&c->timer, conn_timeout, lim->write_timeout_ms, 0);
  else if (!c->calls && !c->ready)
    uv_timer_start(&c->timer, conn_timeout, lim->idle_timeout_ms, 0);
  else
    uv_timer_stop(&c->timer);
}

static void written(uv_write_t *wr, int status) {
  gconn_t *c = wr->data;

  c->writing = 0;
  c->wbuf.len = 0;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  flush(c);
}

/* Writes what nghttp2 has queued; closes the connection once neither side
 * has anything more to say. */
static void flush(gconn_t *c) {
  uv_buf_t buf;

  if (c->closing || c->writing || c->in_recv)
    return;
  if (ofctx__h2_gather(c->session, &c->wbuf, WRITE_MAX, &c->in_recv) != 0) {
    conn_close(c);
    return;
  }
  if (c->wbuf.len == 0) {
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
      conn_close(c);
    else
      conn_timer_update(c);
    return;
  }
  buf = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
  c->writing = 1;
  c->wr.data = c;
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, written) != 0) {
    c->writing = 0;
    conn_close(c);
    return;
  }
  conn_timer_update(c);
}

/* Hands the calls completed by the last read to the handler. */
static void dispatch(gconn_t *c) {
  ofctx__grpc_server_t *s = c->server;

  while (!c->closing && c->ready) {
    ofctx__grpc_call_t *call = c->ready;
    OFCTX__LIST_UNLINK(c->ready, call);
    OFCTX__LIST_PUSH(c->calls, call);
    call->in_list = 1;
    call->held = 1;
    s->handler(s->arg, call);
  }
}

static void conn_recv(gconn_t *c, const char *data, size_t len) {
  ssize_t rv;

  c->in_recv = 1;
  rv = nghttp2_session_mem_recv(c->session, (const uint8_t *)data, len);
  c->in_recv = 0;
  if (rv < 0) {
    conn_close(c);
    return;
  }
  dispatch(c);
  flush(c);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  gconn_t *c = handle->data;
  (void)suggested;
  *buf = uv_buf_init(c->server->readbuf, sizeof c->server->readbuf);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  gconn_t *c = stream->data;

  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread > 0)
    conn_recv(c, buf->base, (size_t)nread);
}

void ofctx__grpc_server_adopt(ofctx__grpc_server_t *s, uv_os_sock_t fd, const char *bytes,
                              size_t len) {
  const ofctx__grpc_limits_t *lim = &s->limits;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)lim->max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)lim->http.max_header_size}};
  gconn_t *c = ofctx__calloc(1, sizeof *c);

  if (!c) {
    close(fd);
    return;
  }
  c->server = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  OFCTX__LIST_PUSH(s->conns, c);
  s->conn_count++;
  if (uv_tcp_open(&c->tcp, fd) != 0) {
    close(fd);
    c->closing = 1;
    OFCTX__LIST_UNLINK(s->conns, c);
    uv_close((uv_handle_t *)&c->tcp, conn_freed);
    uv_close((uv_handle_t *)&c->timer, conn_freed);
    return;
  }
  if (s->stopping || s->conn_count > lim->http.max_connections ||
      nghttp2_session_server_new3(&c->session, s->callbacks, c, s->option, &ofctx__nghttp2_mem) !=
          0) {
    c->session = NULL;
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
      nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW) !=
          0) {
    conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  conn_recv(c, bytes, len);
}

ofctx_err_t ofctx__grpc_server_new(ofctx__grpc_server_t **out, uv_loop_t *loop,
                                   const ofctx__grpc_limits_t *limits,
                                   ofctx__grpc_handler_fn handler, void *arg) {
  ofctx__grpc_server_t *s = ofctx__calloc(1, sizeof *s);

  *out = NULL;
  if (!s)
    return OFCTX_ENOMEM;
  if (nghttp2_session_callbacks_new(&s->callbacks) != 0) {
    ofctx__free(s);
    return OFCTX_ENOMEM;
  }
  if (nghttp2_option_new(&s->option) != 0) {
    nghttp2_session_callbacks_del(s->callbacks);
    ofctx__free(s);
    return OFCTX_ENOMEM;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(s->callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(s->callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->callbacks, on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(s->callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(s->callbacks, on_stream_close);
  /* until our SETTINGS are acknowledged, streams past ours are refused */
  nghttp2_option_set_peer_max_concurrent_streams(s->option, (uint32_t)limits->max_streams);
  nghttp2_option_set_max_settings(s->option, 32);
  s->loop = loop;
  s->limits = *limits;
  s->handler = handler;
  s->arg = arg;
  *out = s;
  return OFCTX_OK;
}

size_t ofctx__grpc_server_connections(const ofctx__grpc_server_t *s) { return s->conn_count; }

void ofctx__grpc_server_stop(ofctx__grpc_server_t *s, void (*done)(void *), void *arg) {
  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  for (gconn_t *c = s->conns, *next; c; c = next) {
    next = c->next;
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    flush(c);
  }
  maybe_done(s);
}

void ofctx__grpc_server_abort(ofctx__grpc_server_t *s) {
  while (s->conns)
    conn_close(s->conns);
}

/* ---- the call, for its handler ---- */

const char *ofctx__grpc_call_path(const ofctx__grpc_call_t *call) { return call->head.data; }

const char *ofctx__grpc_call_metadata(const ofctx__grpc_call_t *call, const char *name) {
  for (size_t i = 0; i < call->header_count; i++)
    if (strcmp(call->headers[i].name, name) == 0)
      return call->headers[i].value;
  return NULL;
}

const ofctx__http_header_t *ofctx__grpc_call_headers(const ofctx__grpc_call_t *call,
                                                     size_t *count) {
  *count = call->header_count;
  return call->headers;
}

const void *ofctx__grpc_call_message(const ofctx__grpc_call_t *call, size_t *len) {
  *len = call->msg_len;
  return call->msg;
}

/* The handler is done with the call. */
int ofctx__grpc_call_hold(ofctx__grpc_call_t *call, size_t bytes) {
  ofctx__grpc_server_t *s = call->conn ? call->conn->server : NULL;

  if (!s || bytes > s->limits.http.max_bodies_size - s->body_bytes)
    return -1;
  s->body_bytes += bytes;
  call->budget += bytes;
  return 0;
}

static void call_answered(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;

  call->held = 0;
  uv_timer_stop(&call->timer); /* answered: no deadline left */
  if (c) {
    budget_release(call, c->server);
    ofctx__buf_free(&call->body);
    call->msg = NULL;
  }
  call_release(call); /* or when its stream closes, which flush() may do */
  if (c)
    flush(c);
}

void ofctx__grpc_reply(ofctx__grpc_call_t *call, const ProtobufCMessage *msg) {
  gconn_t *c = call->conn;
  size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
  static const nghttp2_nv head[] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE}};
  nghttp2_data_provider provider;

  if (c && !call->responded && !call->stream_closed) {
    call->out = ofctx__malloc(len + OFCTX__GRPC_PREFIX);
    if (!call->out) {
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    } else {
      call->responded = 1;
      ofctx__grpc_prefix((unsigned char *)call->out, len);
      if (len)
        protobuf_c_message_pack(msg, (uint8_t *)call->out + OFCTX__GRPC_PREFIX);
      call->out_len = len + OFCTX__GRPC_PREFIX;
      provider.source.ptr = call;
      provider.read_callback = read_answer;
      if (nghttp2_submit_response(c->session, call->id, head, 2, &provider) != 0)
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_INTERNAL_ERROR);
    }
  }
  call_answered(call);
}

void ofctx__grpc_fail(ofctx__grpc_call_t *call, int code, const char *message) {
  submit_status(call, code, message);
  call_answered(call);
}
