/* The gRPC server: connections handed over by the HTTP/1.1 server, HTTP/2
 * framing by nghttp2 (its memory through ours), one unary call per stream.
 *
 * nghttp2 must not be asked to send from inside its own callbacks, so a
 * call completed during a read is queued and handed to the handler once the
 * read is processed (the connection's on_read hook); answers are submitted
 * to nghttp2 and written by ofctx__h2_conn_flush (grpc_wire.c), one write
 * at a time, each carrying every frame queued since the last one.
 *
 * Nothing is held for free (DESIGN rule 8). Every call is charged to the
 * server's budget (limits.http.max_bodies_size, every connection together)
 * for what it makes the server hold: itself and nghttp2's stream, its head,
 * its message, its unsent answer, and what its handler holds for it
 * (call_charge); a call that would pass the budget is refused. Every state
 * of a call has a clock: its request must be whole within
 * header_timeout_ms, its handler has the call's grpc-timeout, and its
 * answer must make progress (a DATA frame taken by the peer) every
 * write_timeout_ms, else the stream is reset. A connection without calls
 * goes after idle_timeout_ms counted from its last call, whatever frames
 * (PING, SETTINGS, WINDOW_UPDATE) it sends meanwhile; a socket write not
 * taken within write_timeout_ms closes it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "grpc_server.h"
#include "grpc_wire.h"
#include "mem.h"

#define STREAM_WINDOW (1 << 20)     /* per call, advertised */
#define CONNECTION_WINDOW (8 << 20) /* per connection */
#define MIN_PROGRESS (16 * 1024)    /* what an answer must move every write timeout */
/* What a call costs before its head: our struct, and nghttp2's stream with
 * its queued frames (a few hundred bytes, rounded up). */
#define CALL_COST (sizeof(ofctx__grpc_call_t) + 512)
#define HEAD_RESERVE 256 /* Dapr's calls: the path and a few fields */

typedef struct gconn gconn_t;

struct ofctx__grpc_call {
  gconn_t *conn;                /* NULL once the connection has gone */
  ofctx__grpc_server_t *server; /* whose budget it is charged to */
  int32_t id;
  ofctx__grpc_call_t *prev, *next; /* the connection's calls, or its ready queue */
  ofctx__buf_t head;               /* path NUL, then name NUL value NUL ... */
  size_t header_count, header_size;
  ofctx__http_header_t *headers; /* indexes `head` once it is whole */
  int head_done;                 /* the request's HEADERS frame has ended */
  int head_status;               /* not 0: the gRPC status the head is refused with */
  int post, grpc_type, bad_type; /* :method POST; a content-type application/grpc; another */
  int64_t timeout_ms;            /* grpc-timeout; -1: none */
  ofctx__buf_t body;
  size_t budget; /* bytes of the server's budget charged to this call (call_charge) */
  size_t kept;   /* of which its handler holds (ofctx__grpc_call_hold) */
  const char *msg;
  size_t msg_len;
  uv_timer_t timer; /* the request must be whole in time; then its deadline */
  int held;         /* the handler has it */
  int responded;    /* an answer was submitted (by the handler or the server) */
  int stream_closed;
  int request_ended; /* the client's END_STREAM came */
  int early;         /* answered by the server before its request was whole */
  enum { IN_NO_LIST, IN_CALLS, IN_READY } in_list; /* which of the connection's lists */
  char *out;                                       /* the answer: prefix and message */
  size_t out_len, out_off;
  size_t moved; /* of it, taken since its clock last started (answer_clock) */
};

struct gconn {
  ofctx__h2_conn_t h2; /* its socket, session and writes */
  uv_timer_t timer;
  ofctx__grpc_server_t *server;
  gconn_t *prev, *next;
  ofctx__grpc_call_t *calls, *ready;
  int handles;      /* open: h2's socket and the timer */
  uint64_t idle_at; /* without live calls: when the connection goes (conn_timer_update) */
};

struct ofctx__grpc_server {
  uv_loop_t *loop;
  ofctx__grpc_limits_t limits;
  ofctx__grpc_handler_fn handler;
  ofctx__grpc_head_fn head_check;
  void *arg;
  gconn_t *conns;
  size_t conn_count;
  ofctx__budget_t own_budget; /* max: limits.http.max_bodies_size */
  ofctx__budget_t *budget;    /* charged to every call: &own_budget, or a shared one */
  size_t orphans;             /* calls held by the handler after their stream went: still charged */
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

  if (c && call->in_list == IN_CALLS)
    OFCTX__LIST_UNLINK(c->calls, call);
  else if (c && call->in_list == IN_READY)
    OFCTX__LIST_UNLINK(c->ready, call);
  call->in_list = IN_NO_LIST;
}

static void budget_release(ofctx__grpc_call_t *call, ofctx__grpc_server_t *s) {
  s->budget->used -= call->budget;
  call->budget = 0;
}

/* What is left of the budget. */
static size_t budget_left(const ofctx__grpc_server_t *s) { return ofctx__budget_left(s->budget); }

/* What the call makes the server hold now: itself and nghttp2's stream,
 * its head and the index of its headers, its message (the buffer, grown as
 * body_capacity says), its unsent answer, and what its handler holds. */
static size_t call_holds(const ofctx__grpc_call_t *call) {
  return CALL_COST + call->head.cap +
         (call->headers ? (call->header_count ? call->header_count : 1) * sizeof *call->headers
                        : 0) +
         call->body.cap + call->out_len + call->kept;
}

/* Brings the call's charge to what it holds now; after its stream closed
 * it is charged nothing (the connection may be gone). 0, or -1 when the
 * budget is passed (the charge stays: the caller lets something go). */
static int call_charge(ofctx__grpc_call_t *call) {
  ofctx__grpc_server_t *s = call->conn ? call->conn->server : NULL;
  size_t holds = call_holds(call);

  if (!s || call->stream_closed)
    return 0;
  s->budget->used = s->budget->used - call->budget + holds;
  call->budget = holds;
  return s->budget->used > s->budget->max ? -1 : 0;
}

/* Lets go of the request (head, headers, message) once the server itself
 * has answered it: the handler never sees it. */
static void call_let_go(ofctx__grpc_call_t *call) {
  ofctx__buf_free(&call->head);
  ofctx__buf_free(&call->body);
  ofctx__free(call->headers);
  call->headers = NULL;
  call->header_count = 0;
  call->msg = NULL;
  call->msg_len = 0;
  call_charge(call);
}

/* The call's stream is gone (closed, or its connection): its charge goes
 * with it, unless the handler holds the call, which then stays charged
 * until it is answered (an orphan the stopped server waits for), or a
 * client could reset each call it made and have the function hold their
 * messages for free. */
static void stream_gone(ofctx__grpc_call_t *call, ofctx__grpc_server_t *s) {
  call->stream_closed = 1;
  uv_timer_stop(&call->timer);
  if (call->held)
    s->orphans++;
  else
    budget_release(call, s);
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
static void deadline_passed(uv_timer_t *timer);

/* An answer was submitted: from now on the call's clock is its answer's,
 * which must make progress every write_timeout_ms (read_answer). */
static void answer_clock(ofctx__grpc_call_t *call) {
  call->moved = 0;
  uv_timer_start(&call->timer, deadline_passed, call->conn->server->limits.http.write_timeout_ms,
                 0);
}

/* The server answers a request that is not whole: once the answer is
 * sent, a client still sending is told to stop (on_frame_send). */
static void answered_early(ofctx__grpc_call_t *call) {
  if (!call->request_ended)
    call->early = 1;
}

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
  if (nghttp2_submit_response(c->h2.session, call->id, nv, n, NULL) != 0)
    nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_INTERNAL_ERROR);
  else
    answered_early(call);
  ofctx__buf_free(&text);
  answer_clock(call);
}

/* An HTTP answer for a request that is not gRPC at all (415, 405). */
static void submit_http(ofctx__grpc_call_t *call, const char *status) {
  nghttp2_nv nv[1];
  size_t n = 0;

  call->responded = 1;
  NV(":status", status);
#undef NV
  if (nghttp2_submit_response(call->conn->h2.session, call->id, nv, n, NULL) == 0)
    answered_early(call);
  answer_clock(call);
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
  call->moved += n;
  /* progress, the peer's window took it: a frame's worth at least, or the
   * end, else a client opening its window a byte a period would hold the
   * answer for ever */
  if (call->moved >= MIN_PROGRESS || call->out_off == call->out_len)
    answer_clock(call);
  if (call->out_off == call->out_len) {
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (nghttp2_submit_trailer(session, id, ok, 1) != 0)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    ofctx__free(call->out); /* all of it is nghttp2's now */
    call->out = NULL;
    call->out_len = call->out_off = 0;
    call_charge(call);
  }
  return (ssize_t)n;
}

static void deadline_passed(uv_timer_t *timer) {
  ofctx__grpc_call_t *call = timer->data;
  gconn_t *c = call->conn;

  if (!c)
    return;
  if (call->held && !call->responded) {
    submit_status(call, OFCTX__GRPC_DEADLINE_EXCEEDED, "the call's deadline passed");
  } else {
    /* the request is not whole in time (which keeps no connection from
     * being idle, as a call refused early), or the answer not taken */
    answered_early(call);
    nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_CANCEL);
  }
  ofctx__h2_conn_flush(&c->h2);
}

/* The request's HEADERS frame has ended, before any of its message is
 * taken: a request that is not a gRPC call, or that the budget or the head
 * check refuses, is answered now and holds nothing more (what comes of its
 * message is read and let go). */
static void head_end(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;
  ofctx__grpc_server_t *s = c->server;
  const char *p, *message = NULL;
  int code;

  call->head_done = 1;
  if (call->head_status) {
    submit_status(call, call->head_status, "the server holds too many requests");
  } else if (!call->post) {
    submit_http(call, "405");
  } else if (!call->grpc_type || call->bad_type) {
    submit_http(call, "415");
  } else {
    call->headers =
        ofctx__calloc(call->header_count ? call->header_count : 1, sizeof *call->headers);
    if (!call->headers || call->head.failed) {
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
    } else if (call_charge(call) != 0) {
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the server holds too many requests");
    } else {
      p = call->head.data + strlen(call->head.data) + 1; /* past the path */
      for (size_t i = 0; i < call->header_count; i++) {
        call->headers[i].name = p;
        p += strlen(p) + 1;
        call->headers[i].value = p;
        p += strlen(p) + 1;
      }
      if (s->head_check && (code = s->head_check(s->arg, call, &message)) != 0)
        submit_status(call, code, message);
    }
  }
  if (call->responded)
    call_let_go(call);
}

/* The request is whole: checked, then queued for the handler. */
static void call_complete(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;
  static const struct {
    int code;
    const char *message;
  } refusal[] = {[OFCTX__UNFRAME_MALFORMED] = {OFCTX__GRPC_INTERNAL,
                                               "the request is not one length-prefixed message"},
                 [OFCTX__UNFRAME_COMPRESSED] = {OFCTX__GRPC_UNIMPLEMENTED,
                                                "compressed messages are not accepted"},
                 [OFCTX__UNFRAME_TOO_LONG] = {OFCTX__GRPC_RESOURCE_EXHAUSTED,
                                              "the message is larger than the limit"}};
  ofctx__unframe_rc_t rc;

  uv_timer_stop(&call->timer);
  rc = ofctx__grpc_unframe(call->body.data, call->body.len, c->server->limits.max_message_size,
                           &call->msg, &call->msg_len);
  if (rc != OFCTX__UNFRAME_OK) {
    submit_status(call, refusal[rc].code, refusal[rc].message);
    call_let_go(call);
    return;
  }
  call_unlist(call);
  OFCTX__LIST_PUSH(c->ready, call);
  call->in_list = IN_READY;
  if (call->timeout_ms >= 0)
    uv_timer_start(&call->timer, deadline_passed, (uint64_t)call->timeout_ms, 0);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call;

  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  if (budget_left(c->server) < CALL_COST + HEAD_RESERVE) {
    /* refused before it holds anything: the peer may make it again */
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
  call->conn = c;
  call->server = c->server;
  call->id = frame->hd.stream_id;
  call->timeout_ms = -1;
  ofctx__buf_reserve(&call->head, HEAD_RESERVE - 1); /* with its NUL */
  ofctx__buf_append(&call->head, "", 1);             /* the path, until it comes */
  if (call->head.failed) {
    ofctx__free(call);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  uv_timer_init(c->server->loop, &call->timer);
  call->timer.data = call;
  OFCTX__LIST_PUSH(c->calls, call);
  call->in_list = IN_CALLS;
  nghttp2_session_set_stream_user_data(session, call->id, call);
  call_charge(call);
  uv_timer_start(&call->timer, deadline_passed, c->server->limits.http.header_timeout_ms, 0);
  conn_timer_update(c);
  return 0;
}

static int is_grpc_type(const char *v, size_t len) {
  static const char t[] = "application/grpc";
  size_t n = sizeof t - 1;
  return len >= n && strncmp(v, t, n) == 0 && (len == n || v[n] == '+' || v[n] == ';');
}

/* A field of the request's head (`n` and `v` NUL-terminated, as nghttp2
 * gives them): what the server reads itself is read (method, path,
 * content-type, grpc-timeout), other pseudo-headers and `te` are let go,
 * and the rest is kept in the head as the call's metadata. */
static void head_field(ofctx__grpc_call_t *call, const char *n, size_t namelen, const char *v,
                       size_t valuelen) {
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
  } else if (strcmp(n, "content-type") == 0) {
    int grpc = is_grpc_type(v, valuelen);
    call->grpc_type |= grpc;
    call->bad_type |= !grpc;
  } else if (strcmp(n, "grpc-timeout") == 0) {
    call->timeout_ms = ofctx__grpc_timeout_parse(v);
  } else if (strcmp(n, "te") != 0) {
    ofctx__buf_append(&call->head, n, namelen + 1);
    ofctx__buf_append(&call->head, v, valuelen + 1);
    call->header_count++;
  }
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  const char *n = (const char *)name, *v = (const char *)value;
  size_t cap;
  (void)flags;
  (void)user;

  if (!call || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; /* trailers of a request: not kept */
  if (call->head_status)
    return 0; /* refused: the rest of the head is read and let go */
  if (call->head.failed)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* out of memory: the stream is reset */
  call->header_size += namelen + valuelen + 32;
  if (call->header_size > call->conn->server->limits.http.max_header_size)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  cap = call->head.cap;
  head_field(call, n, namelen, v, valuelen);
  /* what the head holds is its buffer: charged again when that grows */
  if (call->head.cap != cap && call_charge(call) != 0) {
    /* answered RESOURCE_EXHAUSTED once the head ends */
    call->head_status = OFCTX__GRPC_RESOURCE_EXHAUSTED;
    ofctx__buf_free(&call->head);
    call->header_count = 0;
    call_charge(call);
  }
  return 0;
}

/* Room in the message's buffer for `more` bytes, `data`: doubled as a buf
 * grows (at most twice what came), but never past the whole message its
 * prefix declares, so that a whole message is held in exactly its size.
 * The new capacity, which the caller checks against the budget. */
static size_t body_capacity(const ofctx__buf_t *b, const uint8_t *data, size_t more) {
  size_t need = b->len + more + 1, cap = b->cap ? b->cap : 256, whole;
  unsigned char prefix[OFCTX__GRPC_PREFIX];
  size_t have = b->len < OFCTX__GRPC_PREFIX ? b->len : OFCTX__GRPC_PREFIX;

  if (need <= b->cap)
    return b->cap;
  while (cap < need)
    cap *= 2;
  if (have + more >= OFCTX__GRPC_PREFIX) {
    if (have) /* b->data is NULL until something came */
      memcpy(prefix, b->data, have);
    if (have < OFCTX__GRPC_PREFIX)
      memcpy(prefix + have, data, OFCTX__GRPC_PREFIX - have);
    whole = OFCTX__GRPC_PREFIX + ((size_t)prefix[1] << 24 | (size_t)prefix[2] << 16 |
                                  (size_t)prefix[3] << 8 | (size_t)prefix[4]);
    if (need <= whole + 1 && cap > whole + 1)
      cap = whole + 1;
  }
  return cap;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, id);
  ofctx__grpc_server_t *s = c->server;
  size_t cap;
  char *bigger;
  (void)flags;

  if (!call || call->responded || !call->head_done)
    return 0; /* answered (or no call): what comes is read and let go */
  if (call->body.len + len > s->limits.max_message_size + OFCTX__GRPC_PREFIX) {
    submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the message is larger than the limit");
  } else if ((cap = body_capacity(&call->body, data, len)) - call->body.cap > budget_left(s)) {
    submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "the server holds too many messages");
  } else {
    if (cap > call->body.cap) {
      bigger = ofctx__realloc(call->body.data, cap);
      if (bigger) {
        call->body.data = bigger;
        call->body.cap = cap;
      } else {
        call->body.failed = 1;
      }
    }
    ofctx__buf_append(&call->body, data, len);
    call_charge(call);
    if (call->body.failed)
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (call->responded)
    call_let_go(call);
  return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  ofctx__grpc_call_t *call;
  (void)user;

  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (!call)
    return 0;
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
    call->request_ended = 1;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
      !call->head_done)
    head_end(call);
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->responded && call->in_list == IN_CALLS)
    call_complete(call);
  return 0;
}

/* The server's answer to a request it did not wait for (early) has gone:
 * RST_STREAM NO_ERROR tells a client still sending to stop, so that the call
 * ends now instead of holding its place and its charge until the client
 * ends it or the answer's clock runs out. After the answer, not with it,
 * which a client would read as a call without a status. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
  ofctx__grpc_call_t *call;
  (void)user;

  if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (call && call->early && !call->request_ended)
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_NO_ERROR);
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error, void *user) {
  gconn_t *c = user;
  ofctx__grpc_call_t *call = nghttp2_session_get_stream_user_data(session, id);
  (void)error;

  if (!call)
    return 0;
  nghttp2_session_set_stream_user_data(session, id, NULL);
  if (!call->early)
    c->idle_at = uv_now(c->server->loop) + c->server->limits.http.idle_timeout_ms;
  stream_gone(call, c->server);
  if (call->held) { /* the handler answers into the void */
    call_unlist(call);
    call->conn = NULL;
  }
  call_release(call);
  conn_timer_update(c);
  return 0;
}

/* ---- connections ---- */

static void maybe_done(ofctx__grpc_server_t *s) {
  if (s->stopping && s->conn_count == 0 && s->orphans == 0 && s->done) {
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    nghttp2_session_callbacks_del(s->callbacks);
    nghttp2_option_del(s->option);
    ofctx__free(s);
    done(arg);
  }
}

/* One of the connection's two handles is closed: it goes with the last. */
static void conn_unref(gconn_t *c) {
  ofctx__grpc_server_t *s = c->server;

  if (--c->handles > 0)
    return;
  ofctx__free(c);
  s->conn_count--;
  maybe_done(s);
}

static void conn_closed(void *owner) { conn_unref(owner); }

static void timer_closed(uv_handle_t *handle) { conn_unref(handle->data); }

static void conn_close(gconn_t *c) {
  ofctx__grpc_call_t *lists[2] = {c->calls, c->ready};

  if (c->h2.closing)
    return;
  ofctx__h2_conn_close(&c->h2);
  OFCTX__LIST_UNLINK(c->server->conns, c);
  for (int l = 0; l < 2; l++) {
    for (ofctx__grpc_call_t *call = lists[l], *next; call; call = next) {
      next = call->next;
      call->in_list = IN_NO_LIST;
      call->prev = call->next = NULL;
      call->conn = NULL;
      stream_gone(call, c->server);
      call_release(call);
    }
  }
  c->calls = c->ready = NULL;
  uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static void conn_failed(void *owner, ofctx__h2_failure_t failure) {
  (void)failure;
  conn_close(owner);
}

static void conn_timeout(uv_timer_t *timer) {
  gconn_t *c = timer->data;

  if (c->h2.writing) { /* the peer takes nothing */
    conn_close(c);
    return;
  }
  /* idle: say so, then go once the GOAWAY is written */
  nghttp2_session_terminate_session(c->h2.session, NGHTTP2_NO_ERROR);
  ofctx__h2_conn_flush(&c->h2);
}

static uint64_t until(uv_loop_t *loop, uint64_t at) {
  uint64_t now = uv_now(loop);
  return at > now ? at - now : 0;
}

/* Whether a call keeps the connection from being idle: any but those the
 * server answered before their requests were whole (refused for their
 * token, say), which a client could otherwise send once an idle period to
 * keep its connection for ever. */
static int has_live_call(const gconn_t *c) {
  if (c->ready)
    return 1;
  for (const ofctx__grpc_call_t *call = c->calls; call; call = call->next)
    if (!call->early)
      return 1;
  return 0;
}

/* The connection's clock, from deadlines that only calls and writes move:
 * a pending write must be taken by write_at; without live calls, the
 * connection goes at idle_at, set when it came and each time a call the
 * server did not refuse early ends, which neither a frame without a call
 * (PING, SETTINGS, WINDOW_UPDATE) nor a refused call puts off. With live
 * calls, each call's own clock runs. */
static void conn_timer_update(gconn_t *c) {
  uv_loop_t *loop = c->server->loop;
  int idle = !has_live_call(c);

  if (c->h2.closing)
    return;
  if (c->h2.writing)
    uv_timer_start(&c->timer, conn_timeout,
                   until(loop, c->h2.write_start + c->server->limits.http.write_timeout_ms), 0);
  else if (idle)
    uv_timer_start(&c->timer, conn_timeout, until(loop, c->idle_at), 0);
  else
    uv_timer_stop(&c->timer);
}

/* A flush is over: the connection closes once neither side has anything
 * more to say; else its clock follows (a write started, or none). */
static void conn_flushed(void *owner) {
  gconn_t *c = owner;

  if (!c->h2.writing && !nghttp2_session_want_read(c->h2.session) &&
      !nghttp2_session_want_write(c->h2.session))
    conn_close(c);
  else
    conn_timer_update(c);
}

/* Hands the calls completed by the last read to the handler. */
static void dispatch(void *owner) {
  gconn_t *c = owner;
  ofctx__grpc_server_t *s = c->server;

  while (!c->h2.closing && c->ready) {
    ofctx__grpc_call_t *call = c->ready;
    OFCTX__LIST_UNLINK(c->ready, call);
    OFCTX__LIST_PUSH(c->calls, call);
    call->in_list = IN_CALLS;
    call->held = 1;
    s->handler(s->arg, call);
  }
}

static const ofctx__h2_hooks_t conn_hooks = {dispatch, conn_flushed, conn_failed, conn_closed};

/* Opens the connection's session and says our settings: 0, or -1. */
static int conn_session(gconn_t *c) {
  const ofctx__grpc_limits_t *lim = &c->server->limits;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)lim->max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)lim->http.max_header_size}};

  if (nghttp2_session_server_new3(&c->h2.session, c->server->callbacks, c, c->server->option,
                                  &ofctx__nghttp2_mem) != 0) {
    c->h2.session = NULL;
    return -1;
  }
  if (nghttp2_submit_settings(c->h2.session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) !=
          0 ||
      nghttp2_session_set_local_window_size(c->h2.session, NGHTTP2_FLAG_NONE, 0,
                                            CONNECTION_WINDOW) != 0)
    return -1;
  return 0;
}

void ofctx__grpc_server_adopt(ofctx__grpc_server_t *s, uv_os_sock_t fd, const char *bytes,
                              size_t len) {
  gconn_t *c = ofctx__calloc(1, sizeof *c);

  if (!c) {
    close(fd);
    return;
  }
  c->server = s;
  ofctx__h2_conn_init(&c->h2, s->loop, &conn_hooks, c, s->readbuf, sizeof s->readbuf);
  uv_timer_init(s->loop, &c->timer);
  c->timer.data = c;
  c->handles = 2;
  OFCTX__LIST_PUSH(s->conns, c);
  s->conn_count++;
  if (uv_tcp_open(&c->h2.tcp, fd) != 0) {
    close(fd);
    conn_close(c);
    return;
  }
  if (s->stopping || s->conn_count > s->limits.http.max_connections || conn_session(c) != 0 ||
      ofctx__h2_conn_start(&c->h2) != 0) {
    conn_close(c);
    return;
  }
  c->idle_at = uv_now(s->loop) + s->limits.http.idle_timeout_ms;
  ofctx__h2_conn_recv(&c->h2, bytes, len);
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
  nghttp2_session_callbacks_set_on_frame_send_callback(s->callbacks, on_frame_send);
  /* until our SETTINGS are acknowledged, streams past ours are refused */
  nghttp2_option_set_peer_max_concurrent_streams(s->option, (uint32_t)limits->max_streams);
  nghttp2_option_set_max_settings(s->option, 32);
  s->loop = loop;
  s->limits = *limits;
  s->own_budget.max = limits->http.max_bodies_size;
  s->budget = &s->own_budget;
  s->handler = handler;
  s->arg = arg;
  *out = s;
  return OFCTX_OK;
}

void ofctx__grpc_server_on_head(ofctx__grpc_server_t *s, ofctx__grpc_head_fn check) {
  s->head_check = check;
}

void ofctx__grpc_server_share_budget(ofctx__grpc_server_t *s, ofctx__budget_t *budget) {
  s->budget = budget;
}

size_t ofctx__grpc_server_connections(const ofctx__grpc_server_t *s) { return s->conn_count; }

void ofctx__grpc_server_stop(ofctx__grpc_server_t *s, void (*done)(void *), void *arg) {
  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  for (gconn_t *c = s->conns, *next; c; c = next) {
    next = c->next;
    nghttp2_submit_goaway(c->h2.session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->h2.session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    ofctx__h2_conn_flush(&c->h2);
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

size_t ofctx__grpc_call_room(const ofctx__grpc_call_t *call) {
  return call->conn && !call->stream_closed ? budget_left(call->conn->server) : 0;
}

/* Counted with the rest of the call (call_holds) until it is answered. */
int ofctx__grpc_call_hold(ofctx__grpc_call_t *call, size_t bytes) {
  ofctx__grpc_server_t *s = call->conn ? call->conn->server : NULL;

  if (!s || call->stream_closed || bytes > budget_left(s))
    return -1;
  call->kept += bytes;
  call_charge(call);
  return 0;
}

/* The handler is done with the call. */
static void call_answered(ofctx__grpc_call_t *call) {
  gconn_t *c = call->conn;
  ofctx__grpc_server_t *s = call->server;

  call->held = 0;
  if (!call->responded)
    uv_timer_stop(&call->timer); /* else its answer's clock runs */
  call->kept = 0;
  ofctx__buf_free(&call->body);
  call->msg = NULL;
  call->msg_len = 0;
  /* what is left: the call, its head (the handler's strings may point into
   * it until it returns) and its unsent answer */
  call_charge(call);
  if (!c) { /* its stream went while it was held: its charge goes now */
    budget_release(call, s);
    s->orphans--;
  }
  call_release(call); /* or when its stream closes, which a flush may do */
  if (c)
    ofctx__h2_conn_flush(&c->h2);
  else
    maybe_done(s); /* a stopped server waits for the calls it still charges */
}

void ofctx__grpc_reply(ofctx__grpc_call_t *call, const ProtobufCMessage *msg) {
  gconn_t *c = call->conn;
  size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
  static const nghttp2_nv head[] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE}};
  nghttp2_data_provider provider;

  if (c && !call->responded && !call->stream_closed) {
    /* the answer takes the place of the request in the budget */
    int over = len + OFCTX__GRPC_PREFIX > budget_left(c->server) + call->body.cap + call->kept;
    call->out = over ? NULL : ofctx__malloc(len + OFCTX__GRPC_PREFIX);
    if (!call->out) {
      submit_status(call, OFCTX__GRPC_RESOURCE_EXHAUSTED,
                    over ? "the server holds too many answers" : "out of memory");
    } else {
      call->responded = 1;
      ofctx__grpc_prefix((unsigned char *)call->out, len);
      if (len)
        protobuf_c_message_pack(msg, (uint8_t *)call->out + OFCTX__GRPC_PREFIX);
      call->out_len = len + OFCTX__GRPC_PREFIX;
      provider.source.ptr = call;
      provider.read_callback = read_answer;
      if (nghttp2_submit_response(c->h2.session, call->id, head, 2, &provider) != 0)
        nghttp2_submit_rst_stream(c->h2.session, NGHTTP2_FLAG_NONE, call->id,
                                  NGHTTP2_INTERNAL_ERROR);
      answer_clock(call);
    }
  }
  call_answered(call);
}

void ofctx__grpc_fail(ofctx__grpc_call_t *call, int code, const char *message) {
  submit_status(call, code, message);
  call_answered(call);
}
