/* gRPC's own bits on HTTP/2: status codes, framing, timeouts, messages;
 * and the HTTP/2 connection the client and the server share. */
#include <stdio.h>
#include <string.h>

#include "grpc_wire.h"
#include "mem.h"

const char *ofctx__grpc_code_name(int code) {
  static const char *const names[] = {"OK",
                                      "CANCELLED",
                                      "UNKNOWN",
                                      "INVALID_ARGUMENT",
                                      "DEADLINE_EXCEEDED",
                                      "NOT_FOUND",
                                      "ALREADY_EXISTS",
                                      "PERMISSION_DENIED",
                                      "RESOURCE_EXHAUSTED",
                                      "FAILED_PRECONDITION",
                                      "ABORTED",
                                      "OUT_OF_RANGE",
                                      "UNIMPLEMENTED",
                                      "INTERNAL",
                                      "UNAVAILABLE",
                                      "DATA_LOSS",
                                      "UNAUTHENTICATED"};
  return code >= 0 && code < (int)(sizeof names / sizeof names[0]) ? names[code] : "UNKNOWN";
}

int ofctx__grpc_code_retryable(int code) {
  return code == OFCTX__GRPC_UNAVAILABLE || code == OFCTX__GRPC_DEADLINE_EXCEEDED ||
         code == OFCTX__GRPC_RESOURCE_EXHAUSTED;
}

int ofctx__grpc_status_parse(const char *value) {
  int code = 0;
  const char *p = value;

  /* digit by digit, stopping past the last code: atoi would wrap
   * "4294967296" to 0, OK */
  if (!*p)
    return OFCTX__GRPC_UNKNOWN;
  for (; *p >= '0' && *p <= '9'; p++)
    if ((code = code * 10 + (*p - '0')) > OFCTX__GRPC_UNAUTHENTICATED)
      return OFCTX__GRPC_UNKNOWN;
  return *p ? OFCTX__GRPC_UNKNOWN : code;
}

void ofctx__grpc_prefix(unsigned char out[OFCTX__GRPC_PREFIX], size_t len) {
  out[0] = 0;
  out[1] = (unsigned char)(len >> 24);
  out[2] = (unsigned char)(len >> 16);
  out[3] = (unsigned char)(len >> 8);
  out[4] = (unsigned char)len;
}

ofctx__unframe_rc_t ofctx__grpc_unframe(const char *body, size_t body_len, size_t max,
                                        const char **msg, size_t *len) {
  const unsigned char *p = (const unsigned char *)body;
  uint64_t n;

  if (body_len < OFCTX__GRPC_PREFIX)
    return OFCTX__UNFRAME_MALFORMED;
  if (p[0] != 0)
    return p[0] == 1 ? OFCTX__UNFRAME_COMPRESSED : OFCTX__UNFRAME_MALFORMED;
  n = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
  if (n > max)
    return OFCTX__UNFRAME_TOO_LONG;
  if (n != body_len - OFCTX__GRPC_PREFIX)
    return OFCTX__UNFRAME_MALFORMED;
  *msg = body + OFCTX__GRPC_PREFIX;
  *len = (size_t)n;
  return OFCTX__UNFRAME_OK;
}

int64_t ofctx__grpc_timeout_parse(const char *value) {
  uint64_t n = 0, per;
  size_t digits = 0;

  if (!value)
    return -1;
  /* at most 8 digits (one more read to refuse a ninth), so that even
   * 99999999H in milliseconds (3.6e14) is far from overflowing */
  while (digits <= 8 && value[digits] >= '0' && value[digits] <= '9') {
    n = n * 10 + (uint64_t)(value[digits] - '0');
    digits++;
  }
  if (digits == 0 || digits > 8 || value[digits] == '\0' || value[digits + 1] != '\0')
    return -1;
  switch (value[digits]) {
  case 'H':
    return (int64_t)(n * 3600000);
  case 'M':
    return (int64_t)(n * 60000);
  case 'S':
    return (int64_t)(n * 1000);
  case 'm':
    return (int64_t)n;
  case 'u':
    per = 1000;
    break;
  case 'n':
    per = 1000000;
    break;
  default:
    return -1;
  }
  return (int64_t)((n + per - 1) / per);
}

void ofctx__grpc_timeout_format(uint64_t ms, char *out, size_t size) {
  /* at most 8 digits: seconds, then minutes, then hours past that */
  if (ms <= 99999999)
    snprintf(out, size, "%llum", (unsigned long long)ms);
  else if (ms / 1000 <= 99999999)
    snprintf(out, size, "%lluS", (unsigned long long)((ms + 999) / 1000));
  else if (ms / 3600000 < 99999999)
    snprintf(out, size, "%lluH", (unsigned long long)(ms / 3600000 + 1));
  else
    snprintf(out, size, "99999999H");
}

void ofctx__grpc_message_encode(ofctx__buf_t *b, const char *text) {
  static const char hex[] = "0123456789ABCDEF";

  ofctx__buf_append(b, "", 0); /* "" rather than NULL for an empty text */
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
      ofctx__buf_append(b, p, 1);
    } else {
      char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      ofctx__buf_append(b, esc, 3);
    }
  }
}

void ofctx__grpc_message_decode(ofctx__buf_t *b, const char *value) {
  ofctx__buf_decoded(b, value, strlen(value), OFCTX__DECODE_LENIENT);
}

/* ---- the HTTP/2 connection ---- */

#define WRITE_MAX (256 * 1024) /* frames gathered into one write */
#define WBUF_KEEP (16 * 1024)  /* the write buffer kept between writes */

void ofctx__h2_conn_init(ofctx__h2_conn_t *conn, uv_loop_t *loop, const ofctx__h2_hooks_t *hooks,
                         void *owner, char *readbuf, size_t size) {
  memset(conn, 0, sizeof *conn);
  uv_tcp_init(loop, &conn->tcp);
  conn->tcp.data = conn;
  conn->wr.data = conn;
  conn->hooks = hooks;
  conn->owner = owner;
  conn->readbuf = readbuf;
  conn->readbuf_size = size;
}

/* Appends to the write buffer what nghttp2 has to send, until it has no
 * more or the buffer holds WRITE_MAX bytes, with in_nghttp2 set meanwhile
 * (nghttp2's callbacks run inside, and must not send). 0, or -1 when
 * nghttp2 failed or memory ran out. */
static int gather(ofctx__h2_conn_t *conn) {
  ofctx__buf_t *out = &conn->wbuf;

  while (out->len < WRITE_MAX) {
    const uint8_t *data;
    ssize_t n;
    conn->in_nghttp2 = 1;
    n = nghttp2_session_mem_send(conn->session, &data);
    conn->in_nghttp2 = 0;
    if (n <= 0)
      return n < 0 ? -1 : 0;
    ofctx__buf_append(out, data, (size_t)n);
    if (out->failed)
      return -1;
  }
  return 0;
}

static void written(uv_write_t *wr, int status) {
  ofctx__h2_conn_t *conn = wr->data;

  conn->writing = 0;
  conn->wbuf.len = 0;
  if (conn->wbuf.cap > WBUF_KEEP) /* a big write's room is not kept while idle */
    ofctx__buf_free(&conn->wbuf);
  if (conn->closing)
    return;
  if (status < 0) {
    conn->hooks->on_error(conn->owner, OFCTX__H2_LOST);
    return;
  }
  ofctx__h2_conn_flush(conn);
}

void ofctx__h2_conn_flush(ofctx__h2_conn_t *conn) {
  uv_buf_t buf;

  if (conn->closing || conn->writing || conn->in_nghttp2 || !conn->reading)
    return;
  /* its callbacks may end calls, whose owners may close the connection */
  if (gather(conn) != 0) {
    if (!conn->closing)
      conn->hooks->on_error(conn->owner, OFCTX__H2_SEND_FAILED);
    return;
  }
  if (conn->closing)
    return;
  if (conn->wbuf.len > 0) {
    buf = uv_buf_init(conn->wbuf.data, (unsigned)conn->wbuf.len);
    conn->writing = 1;
    conn->write_start = uv_now(conn->tcp.loop);
    if (uv_write(&conn->wr, (uv_stream_t *)&conn->tcp, &buf, 1, written) != 0) {
      conn->writing = 0;
      conn->hooks->on_error(conn->owner, OFCTX__H2_LOST);
      return;
    }
  }
  conn->hooks->on_flushed(conn->owner);
}

void ofctx__h2_conn_recv(ofctx__h2_conn_t *conn, const char *data, size_t len) {
  ssize_t rv;

  conn->last_read = uv_now(conn->tcp.loop);
  conn->in_nghttp2 = 1;
  rv = nghttp2_session_mem_recv(conn->session, (const uint8_t *)data, len);
  conn->in_nghttp2 = 0;
  if (conn->closing)
    return;
  if (rv < 0) {
    conn->hooks->on_error(conn->owner, OFCTX__H2_PEER_BROKE);
    return;
  }
  conn->hooks->on_read(conn->owner);
  ofctx__h2_conn_flush(conn);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  ofctx__h2_conn_t *conn = handle->data;
  (void)suggested;
  *buf = uv_buf_init(conn->readbuf, (unsigned)conn->readbuf_size);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  ofctx__h2_conn_t *conn = stream->data;

  if (nread < 0)
    conn->hooks->on_error(conn->owner, nread == UV_EOF ? OFCTX__H2_PEER_CLOSED : OFCTX__H2_LOST);
  else if (nread > 0)
    ofctx__h2_conn_recv(conn, buf->base, (size_t)nread);
}

int ofctx__h2_conn_start(ofctx__h2_conn_t *conn) {
  uv_tcp_nodelay(&conn->tcp, 1);
  conn->reading = 1;
  return uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, read_cb);
}

static void closed(uv_handle_t *handle) {
  ofctx__h2_conn_t *conn = handle->data;

  nghttp2_session_del(conn->session); /* here: the close may come inside its callbacks */
  conn->session = NULL;
  ofctx__buf_free(&conn->wbuf);
  conn->hooks->on_closed(conn->owner);
}

void ofctx__h2_conn_close(ofctx__h2_conn_t *conn) {
  if (conn->closing)
    return;
  conn->closing = 1;
  uv_close((uv_handle_t *)&conn->tcp, closed);
}

/* A varint at *p (before end): 0 and *p past it, or -1. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;

  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* The field at *p (before end): its tag, and for a length-delimited one
 * (wire type 2) its payload's length, *p then at the payload; any other is
 * read past whole (*len 0). 0, or -1 when the bytes are not protobuf. */
static int next_field(const uint8_t **p, const uint8_t *end, uint64_t *tag, uint64_t *len) {
  uint64_t n;

  *len = 0;
  if (varint(p, end, tag) != 0)
    return -1;
  switch (*tag & 7) {
  case 0:
    return varint(p, end, &n);
  case 1:
  case 5:
    n = (*tag & 7) == 1 ? 8 : 4;
    if ((uint64_t)(end - *p) < n)
      return -1;
    *p += n;
    return 0;
  case 2:
    if (varint(p, end, len) != 0 || *len > (uint64_t)(end - *p))
      return -1;
    return 0;
  default:
    return -1;
  }
}

/* What a length-delimited field opens, by the kind of the message it is
 * in: PATH + k is the message at step k of the path to the Struct. */
enum { STRUCT, ENTRY, VALUE, LIST, SKIP, PATH };

/* What field `field` of a message of kind `kind` opens. */
static int field_opens(int kind, uint64_t field, const uint32_t *path, size_t path_len) {
  size_t k;

  switch (kind) {
  case STRUCT: /* Struct.fields */
    return field == 1 ? ENTRY : SKIP;
  case ENTRY: /* the entry's value */
    return field == 2 ? VALUE : SKIP;
  case VALUE: /* Value.struct_value, Value.list_value */
    return field == 5 ? STRUCT : field == 6 ? LIST : SKIP;
  case LIST: /* ListValue.values */
    return field == 1 ? VALUE : SKIP;
  default:
    k = (size_t)(kind - PATH);
    return field != path[k] ? SKIP : k + 1 == path_len ? STRUCT : PATH + (int)k + 1;
  }
}

int ofctx__pb_struct_depth(const uint8_t *msg, size_t len, const uint32_t *path, size_t path_len,
                           int limit) {
  struct {
    int kind;
    const uint8_t *end;
  } stack[4 * 256 + 8];
  const uint8_t *p = msg;
  int top = 0, depth = 0, deepest = 0;

  if (limit > 256)
    limit = 256;
  if (path_len == 0 || path_len > 4)
    return -1;
  stack[0].kind = PATH;
  stack[0].end = msg + len;
  for (;;) {
    uint64_t tag, n;
    int opens;

    while (top > 0 && p == stack[top].end) {
      depth -= stack[top].kind == VALUE;
      top--;
    }
    if (top == 0 && p == stack[0].end)
      return deepest;
    if (next_field(&p, stack[top].end, &tag, &n) != 0)
      return -1;
    if ((tag & 7) != 2)
      continue;
    opens = field_opens(stack[top].kind, tag >> 3, path, path_len);
    if (opens == SKIP) {
      p += n;
      continue;
    }
    if (opens == VALUE && ++depth > deepest && (deepest = depth) > limit)
      return limit + 1;
    top++;
    stack[top].kind = opens;
    stack[top].end = p + n;
  }
}

int ofctx__pb_fields(const uint8_t *msg, size_t len, uint32_t field,
                     int (*fn)(void *arg, const uint8_t *bytes, size_t len), void *arg) {
  const uint8_t *p = msg, *end = msg + len;

  while (p < end) {
    uint64_t tag, n;
    int rc;
    if (next_field(&p, end, &tag, &n) != 0)
      return -1;
    if ((tag & 7) == 2 && (tag >> 3) == field && (rc = fn(arg, p, (size_t)n)) != 0)
      return rc;
    p += n;
  }
  return 0;
}

static void *pb_alloc(void *data, size_t size) {
  (void)data;
  return ofctx__malloc(size ? size : 1);
}

static void pb_free(void *data, void *ptr) {
  (void)data;
  ofctx__free(ptr);
}

ProtobufCAllocator ofctx__pb_allocator = {pb_alloc, pb_free, NULL};

static void *nm_malloc(size_t size, void *data) {
  (void)data;
  return ofctx__malloc(size);
}
static void nm_free(void *ptr, void *data) {
  (void)data;
  ofctx__free(ptr);
}
static void *nm_calloc(size_t n, size_t size, void *data) {
  (void)data;
  return ofctx__calloc(n, size);
}
static void *nm_realloc(void *ptr, size_t size, void *data) {
  (void)data;
  return ofctx__realloc(ptr, size);
}

nghttp2_mem ofctx__nghttp2_mem = {NULL, nm_malloc, nm_free, nm_calloc, nm_realloc};
