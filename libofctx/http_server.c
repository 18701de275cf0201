/* The HTTP/1.1 server: libuv TCP, Debian's http-parser, one request at a
 * time per connection, limits and timeouts. See http_server.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>

#include "buf.h"
#include "error_msg.h"
#include "http_server.h"
#include "mem.h"

/* Per-connection life cycle. */
typedef enum {
  CONN_WAITING,  /* no byte of the next request yet */
  CONN_HEAD,     /* reading the request line and headers */
  CONN_BODY,     /* reading the body */
  CONN_HANDLING, /* the handler has the request */
  CONN_WRITING,  /* the answer is being written */
  CONN_CLOSING
} conn_state_t;

typedef struct conn conn_t;

/* What a connection does once its answer is written. */
enum write_then {
  THEN_NEXT_REQUEST, /* on to the next request (or close, if it said so) */
  THEN_CLOSE         /* the server's refusal: close */
};

/* What a cleartext HTTP/2 client sends first (RFC 9113 3.4). */
static const char H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

typedef struct {
  size_t name; /* offsets into the request's `head` buffer */
  size_t value;
} header_offsets_t;

/* The request head as it comes off the wire, checked before http-parser
 * reads it (Debian builds http-parser lenient): its exact size, CR only
 * before LF, no line that starts with white space (obsolete folding). */
typedef struct {
  size_t size;     /* bytes of the head so far, every CR and LF counted */
  size_t line_len; /* bytes of the current line before its CR or LF */
  size_t lines;    /* lines ended so far */
  int after_cr;    /* the last byte was a CR: only LF may follow */
  int done;        /* the empty line that ends the head has been read */
} head_scan_t;

struct ofctx__http_request {
  conn_t *conn;
  ofctx__buf_t head; /* url, then each header name and value, NUL-separated */
  size_t url_len;
  size_t trailer_size; /* bytes of trailer fields (counted, checked, not kept) */
  header_offsets_t *offsets;
  size_t header_count, header_cap;
  enum { LAST_URL, LAST_FIELD, LAST_VALUE } last; /* the last string written */
  ofctx__http_header_t *headers;                  /* views, built when the head is whole */
  size_t views_cap;
  ofctx__buf_t body;
  const char *path; /* the URL in `head`, cut at its '?' */
  const char *query;
  int keep_alive;
  size_t held; /* what the handler holds for it, in the bodies' budget (ofctx__http_request_hold) */
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  ofctx__http_server_t *server;
  conn_t *prev, *next;
  http_parser parser;
  ofctx__http_request_t req;
  conn_state_t state;
  int fail_status;       /* a limit a callback found broken: answer this and close */
  const char *fail_json; /* its body, when the head check gave one */
  int dispatch;          /* a request completed during the last parse */
  int in_handler;        /* the handler is being called: an answer may be written at once */
  int written_early;     /* an answer was written whole during the handler's call */
  int close_after;       /* close once the answer is written */
  int orphaned;          /* the peer is gone while the handler holds the request */
  char *read_ahead;      /* bytes read past the request being handled (pipelining) */
  size_t read_ahead_len;
  int handles; /* tcp + timer, for freeing after both are closed */
  head_scan_t scan;
  const char *parse_end;        /* the end of what http-parser is reading now */
  int crlf_left;                /* bytes of the CRLF that must end the chunk data */
  int chunk_open;               /* a chunk's data is being read */
  int sniffing;                 /* no byte yet tells HTTP/1.1 from the HTTP/2 preface */
  uint64_t deadline;            /* when the current phase's time is up (loop time), 0: never */
  uint64_t armed;               /* when the timer fires, 0: it is not running */
  ofctx__buf_t out;             /* the answer being written (its storage kept: KEEP_MAX) */
  uv_write_t answer_write;      /* writes `out` */
  uv_write_t continue_write;    /* writes a 100 Continue */
  enum write_then then;         /* what follows the answer */
  char preface[H2_PREFACE_LEN]; /* the first bytes while sniffing: a part of the preface */
  size_t preface_len;
};

struct ofctx__http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  ofctx__http_limits_t limits;
  ofctx__http_handler_fn handler;
  ofctx__http_head_fn head_check;
  ofctx__http_h2_fn h2;
  void *arg;
  ofctx__budget_t own_budget; /* max: limits.max_bodies_size */
  ofctx__budget_t *budget;    /* what every request holds: &own_budget, or a shared one */
  conn_t *conns;
  size_t conn_count;
  int stopping;
  int listener_closed;
  /* A connection that came when no memory was left: accepted here and
   * closed at once, since libuv accepts nothing more until it is taken. */
  uv_tcp_t reject;
  int rejecting, reject_waiting;
  void (*done)(void *arg);
  void *done_arg;
  char readbuf[64 * 1024]; /* one loop thread: each read is parsed before the next */
};

void ofctx__http_limits_default(ofctx__http_limits_t *limits) {
  limits->max_header_size = 16 * 1024;
  limits->max_url_size = 8 * 1024;
  limits->max_body_size = 4 * 1024 * 1024;
  limits->max_bodies_size = 64 * 1024 * 1024;
  limits->max_metadata = 1024;
  limits->header_timeout_ms = 10000;
  limits->body_timeout_ms = 60000;
  limits->idle_timeout_ms = 60000;
  limits->write_timeout_ms = 60000;
  limits->max_connections = 4096;
}

ofctx__http_header_t *ofctx__http_headers_unpack(const char *pairs, size_t count, size_t extra) {
  ofctx__http_header_t *headers = ofctx__calloc(count + extra, sizeof *headers);

  for (size_t i = 0; headers && i < count; i++) {
    headers[i].name = pairs;
    pairs += strlen(pairs) + 1;
    headers[i].value = pairs;
    pairs += strlen(pairs) + 1;
  }
  return headers;
}

const char *ofctx__http_reason(int status) {
  /* http-parser's table; an empty phrase for the codes it does not know,
   * which HTTP/1.1 allows */
  const char *reason = http_status_str((enum http_status)status);
  return strcmp(reason, "<unknown>") == 0 ? "" : reason;
}

/* ---- the request's buffers ---- */

/* Appends to `b`: copied here while it fits (a kept buffer mostly has
 * room), else by ofctx__buf_append. Most of what the parser's callbacks and
 * an answer do. 0, or -1 when out of memory. */
static int add(ofctx__buf_t *b, const void *at, size_t len) {
  if (!b->failed && b->len + len < b->cap) { /* room for the bytes and the NUL */
    if (len)                                 /* an empty body may have no pointer */
      memcpy(b->data + b->len, at, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
  }
  ofctx__buf_append(b, at, len);
  return b->failed ? -1 : 0;
}

/* Appends the string `s` (inlined, a literal's length is known when
 * compiled). */
static int add_str(ofctx__buf_t *b, const char *s) { return add(b, s, strlen(s)); }

static int head_append(ofctx__http_request_t *req, const char *at, size_t len) {
  return add(&req->head, at, len);
}

/* Ends the current string in `head` (a url, name or value). */
static int head_end_string(ofctx__http_request_t *req) { return head_append(req, "", 1); }

/* A connection keeps the storage of its request (the head, the body, the
 * header arrays) and of its answer for the next request while it is this
 * small, and frees it when bigger: most requests then allocate nothing, and
 * a waiting connection holds little (the budget counts only what a request
 * holds). */
#define KEEP_MAX 2048
#define KEEP_HEADERS 32

/* Empties `b`, keeping its storage when small. */
static void buf_clear(ofctx__buf_t *b) {
  if (b->cap > KEEP_MAX) {
    ofctx__buf_free(b);
  } else {
    b->len = 0;
    b->failed = 0;
  }
}

/* Gives back what the request held in the bodies' budget. */
static void request_release(ofctx__http_request_t *req) {
  if (req->conn)
    req->conn->server->budget->used -= req->body.len + req->held;
  req->conn = NULL;
}

/* Ends the request: all but its storage is reset (see KEEP_MAX). */
static void request_clear(ofctx__http_request_t *req) {
  ofctx__http_request_t kept = {0};

  request_release(req);
  kept.head = req->head;
  kept.body = req->body;
  buf_clear(&kept.head);
  buf_clear(&kept.body);
  if (req->header_cap <= KEEP_HEADERS) {
    kept.offsets = req->offsets;
    kept.header_cap = req->header_cap;
    kept.headers = req->headers;
    kept.views_cap = req->views_cap;
  } else {
    ofctx__free(req->offsets);
    ofctx__free(req->headers);
  }
  *req = kept;
}

/* Frees the request with its storage. */
static void request_free(ofctx__http_request_t *req) {
  request_release(req);
  ofctx__buf_free(&req->head);
  ofctx__buf_free(&req->body);
  ofctx__free(req->offsets);
  ofctx__free(req->headers);
}

/* ---- connection plumbing ---- */

/* Frees the stopped server once nothing of it is open any more. */
static void maybe_finish(ofctx__http_server_t *s) {
  void (*done)(void *);
  void *arg;

  if (!s->stopping || s->conn_count > 0 || !s->listener_closed || s->rejecting)
    return;
  done = s->done;
  arg = s->done_arg;
  ofctx__free(s);
  if (done)
    done(arg);
}

static void conn_freed(uv_handle_t *handle) {
  conn_t *c = handle->data;
  ofctx__http_server_t *s = c->server;

  if (--c->handles > 0)
    return;
  request_free(&c->req);
  ofctx__buf_free(&c->out);
  ofctx__free(c->read_ahead);
  OFCTX__LIST_UNLINK(s->conns, c);
  s->conn_count--;
  ofctx__free(c);
  maybe_finish(s);
}

static void conn_close(conn_t *c) {
  if (c->state == CONN_CLOSING)
    return;
  if (c->state == CONN_HANDLING) {
    /* The handler still holds the request: the connection goes once it is
     * answered (the answer then goes nowhere). */
    c->orphaned = 1;
    return;
  }
  c->state = CONN_CLOSING;
  uv_close((uv_handle_t *)&c->tcp, conn_freed);
  uv_close((uv_handle_t *)&c->timer, conn_freed);
}

static void timer_fired(uv_timer_t *timer);

/* A connection's time limits. Each phase (head, body, idle, write) sets
 * when its time is up (`deadline`), but the timer is started only when it
 * must fire sooner than it is set to (`armed`); firing early, it is set
 * again for what is left. A request that comes whole in one read then
 * costs no timer call: its phases end before the idle time that was set. */
static void set_deadline(conn_t *c, uint64_t ms) {
  c->deadline = ms ? uv_now(c->server->loop) + ms : 0;
}

static void arm(conn_t *c) {
  uint64_t now = uv_now(c->server->loop);

  if (c->state == CONN_CLOSING || c->deadline == 0 || (c->armed != 0 && c->armed <= c->deadline))
    return;
  c->armed = c->deadline;
  uv_timer_start(&c->timer, timer_fired, c->deadline > now ? c->deadline - now : 0, 0);
}

static void resume(conn_t *c);
static void start_reading(conn_t *c);

/* The answer is written (or failed: `status` < 0); on to what follows it. */
static void answer_done(conn_t *c, int status) {
  buf_clear(&c->out);
  if (c->state == CONN_CLOSING)
    return;
  if (status < 0 || c->then == THEN_CLOSE) {
    conn_close(c);
    return;
  }
  resume(c);
}

/* On to what follows the answers written whole during the handler's call:
 * in a loop, not by recursion, since resume() may parse the next pipelined
 * request and have it answered at once too. */
static void settle_early(conn_t *c) {
  while (c->written_early) {
    c->written_early = 0;
    answer_done(c, 0);
  }
}

static void answer_written(uv_write_t *wr, int status) {
  conn_t *c = wr->handle->data;

  answer_done(c, status);
  settle_early(c);
}

/* Writes the answer in `out`; `then` says what follows it. An answer given
 * during the handler's call (a function that sends nothing) is tried at
 * once: when the socket takes it whole, as it mostly does, no write request
 * is queued, and libuv neither calls back nor changes the poll (an
 * epoll_ctl per request); what follows comes once the handler has returned
 * (settle_early), since the handler may still read the request. */
static void write_answer(conn_t *c, enum write_then then) {
  uv_buf_t buf = uv_buf_init(c->out.data, (unsigned int)c->out.len);
  int n;

  c->then = then;
  if (c->in_handler) {
    n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n == (int)buf.len) {
      c->written_early = 1;
      return;
    }
    if (n > 0) {
      buf.base += n;
      buf.len -= (unsigned int)n;
    }
  }
  if (uv_write(&c->answer_write, (uv_stream_t *)&c->tcp, &buf, 1, answer_written) < 0)
    conn_close(c);
}

static void continue_written(uv_write_t *wr, int status) {
  conn_t *c = wr->handle->data;

  if (status < 0 && c->state != CONN_CLOSING)
    conn_close(c);
}

/* Asks the client for the body it announced with Expect: 100-continue. */
static void write_continue(conn_t *c) {
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_buf_t buf = uv_buf_init((char *)cont, sizeof cont - 1);

  if (uv_write(&c->continue_write, (uv_stream_t *)&c->tcp, &buf, 1, continue_written) < 0)
    conn_close(c);
}

/* The server's own answer to a request it will not hand over: `json` as
 * the body, else a short text one; then the connection is closed. */
static void conn_refuse(conn_t *c, int status, const char *json) {
  const char *reason = ofctx__http_reason(status);

  if (c->state == CONN_CLOSING || c->state == CONN_WRITING)
    return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->state = CONN_WRITING;
  ofctx__buf_printf(&c->out,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n%s%s",
                    status, reason, json ? "application/json" : "text/plain; charset=utf-8",
                    json ? strlen(json) : strlen(reason) + 1, json ? json : reason,
                    json ? "" : "\n");
  if (c->out.failed) {
    conn_close(c);
    return;
  }
  set_deadline(c, c->server->limits.write_timeout_ms);
  arm(c);
  write_answer(c, THEN_CLOSE);
}

static void conn_fail(conn_t *c, int status) { conn_refuse(c, status, NULL); }

static void timer_fired(uv_timer_t *timer) {
  conn_t *c = timer->data;

  c->armed = 0;
  if (c->deadline == 0)
    return; /* a phase without a time limit (the handler has the request) */
  if (uv_now(c->server->loop) < c->deadline) {
    arm(c); /* set for an earlier phase: the time left of this one */
    return;
  }
  if (c->state == CONN_HEAD || c->state == CONN_BODY)
    conn_fail(c, 408);
  else if (c->state == CONN_WAITING || c->state == CONN_WRITING)
    conn_close(c); /* idle, or a peer that does not read its answer */
}

/* ---- http-parser callbacks ---- */

static conn_t *conn_of(http_parser *p) { return p->data; }

/* Byte classes as 256-bit sets, one bit a byte (made by listing the bytes;
 * a test of one byte is a shift, not a strchr or strspn): a field name's
 * bytes (RFC 9110 tchar), a Host value's (RFC 3986 authority: letters,
 * digits and "-._~!$&'()*+,;=:%[]"). */
static const uint64_t TCHAR[4] = {0x03ff6cfa00000000u, 0x57ffffffc7fffffeu, 0x0000000000000000u,
                                  0x0000000000000000u};
static const uint64_t AUTHORITY[4] = {0x2fff7ff200000000u, 0x47fffffeaffffffeu, 0x0000000000000000u,
                                      0x0000000000000000u};

static int in_set(const uint64_t set[4], unsigned char ch) {
  return (set[ch >> 6] >> (ch & 63)) & 1;
}

/* Scans the head in `data` (RFC 9112 section 2 and 5): the number of bytes
 * that may go to http-parser, which is all of them up to the end of the
 * head, or those before the byte at fault, with `*status` set to 431 (one
 * byte past max_header_size) or 400. */
static size_t head_scan(conn_t *c, const char *data, size_t len, int *status) {
  /* a copy, which the compiler keeps in registers (bytes of `data` might
   * alias c->scan: each store to it would be done) */
  head_scan_t scan = c->scan, *h = &scan;
  size_t max = c->server->limits.max_header_size, i;

  *status = 0;
  for (i = 0; i < len && !h->done; i++) {
    char ch = data[i];
    if (h->line_len > 0 && !h->after_cr && ch != '\r' && ch != '\n' && h->size < max) {
      /* Within a line, the bytes up to the next CR or LF (or to the size
       * limit) are only counted: found with memchr, not one by one. */
      size_t room = max - h->size, end = len - i < room ? len : i + room;
      const char *lf = memchr(data + i, '\n', end - i);
      const char *cr = memchr(data + i, '\r', (lf ? (size_t)(lf - data) : end) - i);
      size_t run = (size_t)((cr ? cr : lf ? lf : data + end) - (data + i));
      h->size += run;
      h->line_len += run;
      i += run - 1; /* run >= 1: data[i] is neither CR nor LF */
      continue;
    }
    if (++h->size > max) {
      *status = 431;
      break;
    }
    if (h->after_cr && ch != '\n') {
      *status = 400; /* a bare CR */
      break;
    }
    h->after_cr = ch == '\r';
    if (ch == '\r')
      continue;
    if (ch == '\n') {
      /* an empty line ends the head; before the request line it is skipped */
      h->done = h->line_len == 0 && h->lines > 0;
      h->lines += h->line_len > 0;
      h->line_len = 0;
      continue;
    }
    if (h->line_len++ == 0 && h->lines > 0 && (ch == ' ' || ch == '\t')) {
      *status = 400; /* obsolete line folding, or white space before a name */
      break;
    }
  }
  c->scan = scan;
  return i;
}

/* The CRLF after chunk data, from `from` to the end of what is being
 * parsed: 0, or -1 when another byte stands there (http-parser, not built
 * strict, takes any two). */
static int chunk_crlf(conn_t *c, const char *from) {
  for (; c->crlf_left > 0 && from < c->parse_end; from++, c->crlf_left--)
    if (*from != "\r\n"[2 - c->crlf_left])
      return -1;
  return 0;
}

static int on_message_begin(http_parser *p) {
  conn_t *c = conn_of(p);

  request_clear(&c->req);
  c->req.conn = c;
  c->state = CONN_HEAD;
  set_deadline(c, c->server->limits.header_timeout_ms); /* armed once the read is parsed */
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn_t *c = conn_of(p);

  if (c->req.url_len + len > c->server->limits.max_url_size) {
    c->fail_status = 414;
    return -1;
  }
  if (head_append(&c->req, at, len))
    return -1;
  c->req.url_len += len;
  return 0;
}

/* Trailer fields are read for their framing and size, and dropped: what a
 * handler sees is the head (RFC 9110 section 6.5.1 keeps them apart). */
static int trailer_budget(conn_t *c, size_t len) {
  c->req.trailer_size += len;
  if (c->req.trailer_size > c->server->limits.max_header_size) {
    c->fail_status = 431;
    return -1;
  }
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn_t *c = conn_of(p);
  ofctx__http_request_t *r = &c->req;

  for (size_t i = 0; i < len; i++)
    if (!in_set(TCHAR, (unsigned char)at[i]))
      return -1; /* 400: white space before the colon, or no token */
  if (c->state == CONN_BODY)
    return trailer_budget(c, len);
  if (r->last != LAST_FIELD) { /* a new header: end the url or the last value */
    if (head_end_string(r))
      return -1;
    if (r->header_count == r->header_cap) {
      size_t cap = r->header_cap ? r->header_cap * 2 : 16;
      header_offsets_t *bigger = ofctx__realloc(r->offsets, cap * sizeof *bigger);
      if (!bigger)
        return -1;
      r->offsets = bigger;
      r->header_cap = cap;
    }
    r->offsets[r->header_count].name = r->head.len;
    r->offsets[r->header_count].value = r->head.len; /* "" until a value comes */
    r->header_count++;
    r->last = LAST_FIELD;
  }
  return head_append(r, at, len);
}

/* http-parser calls this for every header, with "" for an empty value. */
static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn_t *c = conn_of(p);
  ofctx__http_request_t *r = &c->req;

  if (c->state == CONN_BODY)
    return trailer_budget(c, len);
  if (r->last != LAST_VALUE) { /* end the name */
    if (head_end_string(r))
      return -1;
    r->offsets[r->header_count - 1].value = r->head.len;
    r->last = LAST_VALUE;
  }
  return head_append(r, at, len);
}

/* The length of header i's name (its value follows the name's NUL). */
static size_t name_len(const ofctx__http_request_t *r, size_t i) {
  return r->offsets[i].value - r->offsets[i].name - 1;
}

static const char *find_header(const ofctx__http_request_t *r, const char *name) {
  size_t len = strlen(name);

  for (size_t i = 0; i < r->header_count; i++)
    if (name_len(r, i) == len && strcasecmp(r->head.data + r->offsets[i].name, name) == 0)
      return r->head.data + r->offsets[i].value;
  return NULL;
}

/* Views and the split URL, once the head is whole (nothing is added to
 * `head` after it); the body starts as "". */
static int head_finish(ofctx__http_request_t *r) {
  char *url = r->head.data, *q = memchr(url, '?', r->url_len);

  if (r->views_cap < r->header_cap || !r->headers) {
    size_t cap = r->header_cap ? r->header_cap : 1;
    ofctx__http_header_t *views = ofctx__realloc(r->headers, cap * sizeof *views);
    if (!views)
      return -1;
    r->headers = views;
    r->views_cap = cap;
  }
  for (size_t i = 0; i < r->header_count; i++) {
    r->headers[i].name = r->head.data + r->offsets[i].name;
    r->headers[i].value = r->head.data + r->offsets[i].value;
  }
  r->path = url;
  r->query = url + r->url_len; /* "" */
  if (q) {
    *q = '\0';
    r->query = q + 1;
  }
  ofctx__buf_append(&r->body, "", 0);
  return r->body.failed ? -1 : 0;
}

/* The fields that frame a request, read in one pass over the head. */
typedef struct {
  size_t hosts;
  int host_bad;                 /* a Host value that is not an authority */
  size_t chunked, other_coding; /* Transfer-Encoding values */
  const char *expect;           /* the first Expect value, or NULL */
} framing_t;

/* A Transfer-Encoding value, counted as "chunked" or as another coding. */
static void count_coding(framing_t *f, const char *v) {
  size_t len;

  v += strspn(v, " \t");
  len = strlen(v);
  while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
    len--;
  if (len == 7 && strncasecmp(v, "chunked", 7) == 0)
    f->chunked++;
  else
    f->other_coding++;
}

/* Host, Transfer-Encoding and Expect, each name told by its length first. */
static void read_framing(const ofctx__http_request_t *r, framing_t *f) {
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < r->header_count; i++) {
    const char *name = r->head.data + r->offsets[i].name;
    const char *v = r->head.data + r->offsets[i].value;
    size_t len = name_len(r, i);

    if (len == 4 && strcasecmp(name, "host") == 0) {
      f->hosts++;
      while (in_set(AUTHORITY, (unsigned char)*v))
        v++;
      f->host_bad |= *v != '\0';
    } else if (len == 17 && strcasecmp(name, "transfer-encoding") == 0) {
      count_coding(f, v);
    } else if (len == 6 && !f->expect && strcasecmp(name, "expect") == 0) {
      f->expect = v;
    }
  }
}

/* The status that refuses a head for its version, size or framing, or 0.
 * RFC 9112 3.2: an HTTP/1.1 request has exactly one Host field (1.0: at
 * most one), and its value is an authority: a host, maybe a port, maybe
 * empty, nothing else (no path, no user, no white space). The transfer
 * codings are exactly one "chunked" (or none): no other coding is
 * understood here, so a body in one cannot be read (RFC 9112 6.1: 501). */
static int framing_refusal(const conn_t *c, const http_parser *p, const framing_t *f) {
  if (p->http_major != 1 || p->http_minor > 1)
    return 505;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->server->limits.max_body_size)
    return 413;
  if (f->host_bad || f->hosts > 1 || (f->hosts == 0 && p->http_minor == 1))
    return 400;
  if (f->other_coding > 0 || f->chunked > 1)
    return 501;
  return 0;
}

/* Room for `more` bytes of body among what every connection holds: 0, or -1
 * with 503 to answer. */
static int body_budget(conn_t *c, uint64_t more) {
  ofctx__http_server_t *s = c->server;

  if (more > ofctx__budget_left(s->budget)) {
    c->fail_status = 503;
    return -1;
  }
  return 0;
}

static int on_headers_complete(http_parser *p) {
  conn_t *c = conn_of(p);
  ofctx__http_server_t *s = c->server;
  ofctx__http_request_t *r = &c->req;
  framing_t f;

  /* End the last string (the url, or the last header's value). */
  if (head_end_string(r))
    return -1;
  read_framing(r, &f);
  if ((c->fail_status = framing_refusal(c, p, &f)) != 0)
    return -1;
  if (head_finish(r)) {
    c->fail_status = 503;
    return -1;
  }
  /* Refused before a byte of the body is read or a 100 Continue sent. */
  if (s->head_check && (c->fail_status = s->head_check(s->arg, r, &c->fail_json)) != 0)
    return -1;
  if (body_budget(c, (p->flags & F_CONTENTLENGTH) ? p->content_length : 0))
    return -1;
  if (f.expect) {
    if (strcasecmp(f.expect, "100-continue") != 0) {
      c->fail_status = 417;
      return -1;
    }
    if (p->http_minor >= 1)
      write_continue(c);
  }
  c->state = CONN_BODY;
  set_deadline(c, c->server->limits.body_timeout_ms);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  conn_t *c = conn_of(p);
  ofctx__http_request_t *r = &c->req;

  if (r->body.len + len > c->server->limits.max_body_size) {
    c->fail_status = 413;
    return -1;
  }
  if (body_budget(c, len))
    return -1;
  ofctx__buf_append(&r->body, at, len);
  if (r->body.failed)
    return -1;
  c->server->budget->used += len;
  /* The chunk's data is all here: the next two bytes must be CRLF. */
  if ((p->flags & F_CHUNKED) && p->content_length == 0 && c->chunk_open) {
    c->chunk_open = 0;
    c->crlf_left = 2;
    return chunk_crlf(c, at + len);
  }
  return 0;
}

static int on_chunk_header(http_parser *p) {
  conn_t *c = conn_of(p);
  c->chunk_open = p->content_length > 0;
  return 0;
}

static int on_message_complete(http_parser *p) {
  conn_t *c = conn_of(p);

  /* An Upgrade is not taken up; what would follow it is not HTTP/1.1 */
  c->req.keep_alive = http_should_keep_alive(p) && !p->upgrade;
  c->dispatch = 1;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

/* The status that refuses a request http-parser stopped at (`err`) or the
 * head scan did (`scanned`, 0 if not): http-parser's own verdict on what
 * came before the fault goes first (414 for a long URL). */
static int refusal(const conn_t *c, enum http_errno err, int scanned) {
  if (err != HPE_OK && c->fail_status)
    return c->fail_status;
  return scanned ? scanned : 400;
}

/* Hands the complete request to the handler; what was read past it
 * (`rest`) waits in `read_ahead` for resume(). */
static void dispatch(conn_t *c, const char *rest, size_t len) {
  c->dispatch = 0;
  if (len > 0) {
    char *copy = ofctx__malloc(len);
    if (!copy) {
      conn_close(c);
      return;
    }
    memcpy(copy, rest, len);
    ofctx__free(c->read_ahead);
    c->read_ahead = copy;
    c->read_ahead_len = len;
  }
  set_deadline(c, 0);
  c->state = CONN_HANDLING;
  c->in_handler = 1;
  c->server->handler(c->server->arg, &c->req);
  c->in_handler = 0;
}

/* Parses what was read; hands a complete request to the handler and keeps
 * whatever follows it for later. */
static void conn_parse(conn_t *c, const char *data, size_t len) {
  while (len > 0 && c->state != CONN_CLOSING && c->state != CONN_WRITING) {
    int refuse = 0;
    size_t chunk = c->scan.done ? len : head_scan(c, data, len, &refuse), n;
    enum http_errno err;

    c->parse_end = data + chunk;
    if (chunk_crlf(c, data) != 0) {
      conn_fail(c, 400);
      return;
    }
    n = http_parser_execute(&c->parser, &settings, data, chunk);
    err = HTTP_PARSER_ERRNO(&c->parser);

    if (c->dispatch) {
      dispatch(c, data + n, len - n);
      return;
    }
    if (err != HPE_OK || refuse) {
      conn_refuse(c, refusal(c, err, refuse), err != HPE_OK ? c->fail_json : NULL);
      return;
    }
    data += n;
    len -= n;
  }
  arm(c); /* a request not whole yet, or none begun */
}

/* After an answer: the next request, from what is already read or from the
 * socket. */
static void resume(conn_t *c) {
  char *ahead = c->read_ahead;
  size_t ahead_len = c->read_ahead_len;

  request_clear(&c->req);
  memset(&c->scan, 0, sizeof c->scan);
  c->crlf_left = c->chunk_open = 0;
  if (c->close_after || c->server->stopping) {
    ofctx__free(ahead);
    c->read_ahead = NULL;
    conn_close(c);
    return;
  }
  c->state = CONN_WAITING;
  http_parser_pause(&c->parser, 0);
  set_deadline(c, c->server->limits.idle_timeout_ms);
  c->read_ahead = NULL;
  c->read_ahead_len = 0;
  if (ahead) {
    conn_parse(c, ahead, ahead_len);
    ofctx__free(ahead);
  }
  if (c->state == CONN_WAITING || c->state == CONN_HEAD || c->state == CONN_BODY) {
    arm(c);
    start_reading(c);
  }
}

/* While a request is handled, reading goes on (stopping and restarting it
 * would cost two epoll_ctl calls per request): what arrives waits in
 * `read_ahead` for resume(), and reading pauses once that holds HOLD_MAX, or at
 * the end of the stream (read again, and acted on, after the answer). */
#define HOLD_MAX (64 * 1024)

static void hold(conn_t *c, const char *data, ssize_t nread) {
  char *more;

  if (nread == 0) /* nothing to read after all */
    return;
  if (nread > 0 && (more = ofctx__realloc(c->read_ahead, c->read_ahead_len + (size_t)nread))) {
    memcpy(more + c->read_ahead_len, data, (size_t)nread);
    c->read_ahead = more;
    c->read_ahead_len += (size_t)nread;
    if (c->read_ahead_len < HOLD_MAX)
      return;
  } else if (nread != UV_EOF) {
    c->close_after = 1; /* the peer is gone, or no memory: nothing more to answer */
  }
  uv_read_stop((uv_stream_t *)&c->tcp);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  conn_t *c = handle->data;
  (void)suggested;
  *buf = uv_buf_init(c->server->readbuf, sizeof c->server->readbuf);
}

/* Hands the connection to the HTTP/2 server: a duplicate of its socket and
 * the `bytes` read of it so far; then closes it here. */
static void hand_over(conn_t *c, const char *bytes, size_t len) {
  uv_os_fd_t fd;
  int copy = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? dup(fd) : -1;

  if (copy >= 0)
    c->server->h2(c->server->arg, copy, bytes, len);
  conn_close(c);
}

/* A connection's first bytes: the HTTP/2 preface hands it over, anything
 * else is HTTP/1.1. While they match the preface but are fewer, they wait
 * in `preface`. 0 when `data` is left for the HTTP/1.1 parser. */
static int sniff(conn_t *c, const char *data, size_t len) {
  size_t have = c->preface_len, want = H2_PREFACE_LEN - have;
  int match = memcmp(data, &H2_PREFACE[have], len < want ? len : want) == 0;
  char *bytes;

  if (match && len < want) {
    memcpy(c->preface + have, data, len);
    c->preface_len += len;
    return 1;
  }
  c->sniffing = 0;
  if (have == 0 && !match)
    return 0;
  /* the preface whole, or what began like it but is HTTP/1.1 after all */
  bytes = ofctx__malloc(have + len);
  if (!bytes) {
    conn_close(c);
    return 1;
  }
  memcpy(bytes, c->preface, have);
  memcpy(bytes + have, data, len);
  if (match)
    hand_over(c, bytes, have + len);
  else
    conn_parse(c, bytes, have + len);
  ofctx__free(bytes);
  return 1;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = stream->data;

  if (c->sniffing && nread > 0 && sniff(c, buf->base, (size_t)nread)) {
    settle_early(c);
    return;
  }

  if (c->state == CONN_HANDLING || c->state == CONN_WRITING) {
    hold(c, buf->base, nread);
    return;
  }
  if (nread < 0) {
    /* EOF or error: a request cut short gets no answer (nobody to read it) */
    conn_close(c);
    return;
  }
  if (nread > 0)
    conn_parse(c, buf->base, (size_t)nread);
  settle_early(c);
}

static void start_reading(conn_t *c) { uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb); }

static void reject_pending(ofctx__http_server_t *s);

static void reject_closed(uv_handle_t *handle) {
  ofctx__http_server_t *s = handle->data;

  s->rejecting = 0;
  if (s->reject_waiting && !s->listener_closed) {
    s->reject_waiting = 0;
    reject_pending(s);
  }
  maybe_finish(s);
}

/* Takes the connection waiting in the listener and closes it: the client
 * sees a reset rather than a server that stopped accepting. */
static void reject_pending(ofctx__http_server_t *s) {
  if (s->rejecting) {
    s->reject_waiting = 1;
    return;
  }
  s->rejecting = 1;
  uv_tcp_init(s->loop, &s->reject);
  s->reject.data = s;
  uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&s->reject);
  uv_close((uv_handle_t *)&s->reject, reject_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  ofctx__http_server_t *s = listener->data;
  conn_t *c;

  if (status < 0)
    return;
  c = ofctx__calloc(1, sizeof *c);
  if (!c) {
    reject_pending(s);
    return;
  }
  c->server = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles = 2;
  OFCTX__LIST_PUSH(s->conns, c);
  s->conn_count++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0 || s->stopping ||
      s->conn_count > s->limits.max_connections) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->state = CONN_WAITING;
  c->sniffing = s->h2 != NULL;
  /* The first request must start soon; later ones may idle longer. */
  set_deadline(c, s->limits.header_timeout_ms);
  arm(c);
  start_reading(c);
}

static void listener_closed(uv_handle_t *handle);

ofctx_err_t ofctx__http_server_start(ofctx__http_server_t **out, uv_loop_t *loop, const char *host,
                                     int port, const ofctx__http_limits_t *limits,
                                     ofctx__http_handler_fn handler, void *arg,
                                     ofctx_error_t *err) {
  ofctx__http_server_t *s;
  struct sockaddr_storage addr;
  int rc;

  *out = NULL;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      (rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)) != 0)
    return ofctx__error(err, OFCTX_EINVAL, "%s is not an IP address", host);
  s = ofctx__calloc(1, sizeof *s);
  if (!s)
    return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
  s->loop = loop;
  s->handler = handler;
  s->arg = arg;
  if (limits)
    s->limits = *limits;
  else
    ofctx__http_limits_default(&s->limits);
  s->own_budget.max = s->limits.max_bodies_size;
  s->budget = &s->own_budget;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection)) != 0) {
    /* freed by listener_closed once the loop has run the close */
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, listener_closed);
    return ofctx__error(err, OFCTX_EIO, "%s", uv_strerror(rc));
  }
  *out = s;
  return OFCTX_OK;
}

int ofctx__http_server_port(const ofctx__http_server_t *s) {
  struct sockaddr_storage addr;
  int len = sizeof addr;

  if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len) != 0)
    return -1;
  if (addr.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
  return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

size_t ofctx__http_server_connections(const ofctx__http_server_t *s) { return s->conn_count; }

void ofctx__http_server_share_budget(ofctx__http_server_t *s, ofctx__budget_t *budget) {
  s->budget = budget;
}

void ofctx__http_server_on_h2(ofctx__http_server_t *s, ofctx__http_h2_fn fn) { s->h2 = fn; }

void ofctx__http_server_on_head(ofctx__http_server_t *s, ofctx__http_head_fn check) {
  s->head_check = check;
}

static void listener_closed(uv_handle_t *handle) {
  ofctx__http_server_t *s = handle->data;

  s->listener_closed = 1;
  maybe_finish(s);
}

void ofctx__http_server_stop(ofctx__http_server_t *s, void (*done)(void *), void *arg) {
  conn_t *c, *next;

  s->stopping = 1;
  s->done = done;
  s->done_arg = arg;
  for (c = s->conns; c; c = next) {
    next = c->next;
    if (c->state == CONN_WAITING)
      conn_close(c);
    else
      c->close_after = 1;
  }
  uv_close((uv_handle_t *)&s->listener, listener_closed);
}

void ofctx__http_server_abort(ofctx__http_server_t *s) {
  conn_t *c, *next;

  for (c = s->conns; c; c = next) {
    next = c->next;
    conn_close(c);
  }
}

void ofctx__http_respond_json(ofctx__http_request_t *req, int status, const char *json) {
  ofctx__http_header_t type = {"Content-Type", "application/json"};
  ofctx__http_respond(req, status, &type, 1, json, strlen(json));
}

/* ---- the request as the handler sees it ---- */

const char *ofctx__http_request_method(const ofctx__http_request_t *req) {
  return http_method_str((enum http_method)req->conn->parser.method);
}
const char *ofctx__http_request_path(const ofctx__http_request_t *req) { return req->path; }
const char *ofctx__http_request_query(const ofctx__http_request_t *req) { return req->query; }
const char *ofctx__http_request_header(const ofctx__http_request_t *req, const char *name) {
  return find_header(req, name);
}
const ofctx__http_header_t *ofctx__http_request_headers(const ofctx__http_request_t *req,
                                                        size_t *count) {
  *count = req->header_count;
  return req->headers;
}
const char *ofctx__http_request_body(const ofctx__http_request_t *req, size_t *len) {
  if (len)
    *len = req->body.len;
  return req->body.data;
}

int ofctx__http_request_hold(ofctx__http_request_t *req, size_t bytes) {
  ofctx__http_server_t *s = req->conn->server;

  if (bytes > ofctx__budget_left(s->budget))
    return -1;
  s->budget->used += bytes;
  req->held += bytes;
  return 0;
}

/* Appends `n` in decimal. */
static void append_decimal(ofctx__buf_t *b, size_t n) {
  char digits[20], *p = digits + sizeof digits;

  do
    *--p = (char)('0' + n % 10);
  while ((n /= 10) > 0);
  add(b, p, (size_t)(digits + sizeof digits - p));
}

/* Appends the status line. The answer is appended piece by piece: printf's
 * parsing of its format cost more than all the rest of the answer. */
static void append_status(ofctx__buf_t *b, int status) {
  add_str(b, "HTTP/1.1 ");
  append_decimal(b, (size_t)status);
  add_str(b, " ");
  add_str(b, ofctx__http_reason(status));
  add_str(b, "\r\n");
}

/* Appends the header line "name: value". */
static void append_field(ofctx__buf_t *b, const char *name, const char *value) {
  add_str(b, name);
  add_str(b, ": ");
  add_str(b, value);
  add_str(b, "\r\n");
}

void ofctx__http_respond(ofctx__http_request_t *req, int status,
                         const ofctx__http_header_t *headers, size_t header_count, const void *body,
                         size_t body_len) {
  conn_t *c = req->conn;
  ofctx__buf_t *head = &c->out;
  int close_after = !req->keep_alive || c->close_after || c->server->stopping;
  /* 1xx, 204 and 304 have no body and no length; HEAD gets the length
   * without the body. */
  int bodiless = status < 200 || status == 204 || status == 304;
  int send_body = !bodiless && c->parser.method != HTTP_HEAD;

  if (c->orphaned) {
    c->state = CONN_WRITING;
    conn_close(c);
    return;
  }
  append_status(head, status);
  for (size_t i = 0; i < header_count; i++)
    append_field(head, headers[i].name, headers[i].value);
  if (!bodiless) {
    add_str(head, "Content-Length: ");
    append_decimal(head, body_len);
    add_str(head, "\r\n");
  }
  add_str(head, close_after ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
  if (send_body)
    add(head, body, body_len);
  if (head->failed) { /* no memory for the answer: the request is over, close */
    c->state = CONN_WRITING;
    conn_close(c);
    return;
  }
  c->close_after = close_after;
  c->state = CONN_WRITING;
  set_deadline(c, c->server->limits.write_timeout_ms);
  arm(c);
  write_answer(c, THEN_NEXT_REQUEST);
}
