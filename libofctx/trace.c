/* W3C Trace Context and Baggage: traceparent in and out, ids, spans. */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "buf.h"
#include "mem.h"

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; /* upper case too: the spec allows lower case only */
}

/* `n` bytes from 2n lower-case hex digits: 1, or 0 for any other character. */
static int hex_bytes(const char *s, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value(s[2 * i]), lo = hi < 0 ? -1 : hex_value(s[2 * i + 1]);
    if (lo < 0)
      return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 1;
}

static int all_zero(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

int ofctx__traceparent_parse(const char *text, ofctx__traceparent_t *out) {
  uint8_t version, flags;
  size_t len;

  if (!text)
    return 0;
  len = strnlen(text, OFCTX__TRACEPARENT_LEN + 1);
  if (len < OFCTX__TRACEPARENT_LEN || !hex_bytes(text, &version, 1) || version == 0xff)
    return 0;
  /* version 00 is exactly 55 characters; a later one may append fields
   * after a '-', which a reader of 00 skips */
  if (len > OFCTX__TRACEPARENT_LEN && (version == 0 || text[OFCTX__TRACEPARENT_LEN] != '-'))
    return 0;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-' ||
      !hex_bytes(text + 3, out->trace_id, 16) || !hex_bytes(text + 36, out->parent_id, 8) ||
      !hex_bytes(text + 53, &flags, 1))
    return 0;
  if (all_zero(out->trace_id, 16) || all_zero(out->parent_id, 8))
    return 0;
  out->flags = flags & 0x01;
  return 1;
}

int ofctx__tracestate_ok(const char *text) {
  size_t i = 0;

  if (!text || !*text)
    return 0;
  for (; text[i] && i <= OFCTX__TRACESTATE_MAX; i++)
    if (text[i] < 0x20 || text[i] > 0x7e)
      return 0;
  return i <= OFCTX__TRACESTATE_MAX;
}

void ofctx__trace_random(uint8_t *out, size_t n) {
  if (uv_random(NULL, NULL, out, n, 0, NULL) != 0 || all_zero(out, n)) {
    static uint64_t counter;
    uint64_t x = uv_hrtime() ^ (++counter * 0x9e3779b97f4a7c15u);
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13; /* xorshift64: never 0 from a non-zero seed */
      x ^= x >> 7;
      x ^= x << 17;
      out[i] = (uint8_t)(x >> 24);
    }
    out[0] |= 1; /* never all zero */
  }
}

void ofctx__uuid4(char out[37]) {
  uint8_t b[16];

  ofctx__trace_random(b, sizeof b);
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

static void hex(char *out, const uint8_t *b, size_t n) {
  static const char digits[] = "0123456789abcdef";

  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 0x0f];
  }
  out[2 * n] = '\0';
}

static uint64_t now_ns(void) {
  struct timespec ts;

  if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The span's id, its hex forms and its traceparent, once its trace id and
 * flags are set; and its start. */
static void span_open(ofctx__span_t *span, ofctx__span_kind_t kind, const char *name) {
  ofctx__trace_random(span->span_id, sizeof span->span_id);
  hex(span->trace_hex, span->trace_id, 16);
  hex(span->span_hex, span->span_id, 8);
  memcpy(span->traceparent, "00-", 3);
  memcpy(span->traceparent + 3, span->trace_hex, 32);
  span->traceparent[35] = '-';
  memcpy(span->traceparent + 36, span->span_hex, 16);
  span->traceparent[52] = '-';
  hex(span->traceparent + 53, &span->flags, 1);
  span->kind = kind;
  span->name = name;
  span->start_ns = now_ns();
  span->mono_ns = uv_hrtime();
  span->end_ns = 0;
}

ofctx__span_t *ofctx__span_new(const char *traceparent, const char *tracestate, const char *name) {
  ofctx__traceparent_t parent;
  int continued = ofctx__traceparent_parse(traceparent, &parent);
  size_t state_len = continued && ofctx__tracestate_ok(tracestate) ? strlen(tracestate) : 0;
  ofctx__span_t *span = ofctx__calloc(1, sizeof *span + (state_len ? state_len + 1 : 0));

  if (!span)
    return NULL;
  if (continued) {
    memcpy(span->trace_id, parent.trace_id, 16);
    memcpy(span->parent_id, parent.parent_id, 8);
    span->flags = parent.flags;
  } else {
    ofctx__trace_random(span->trace_id, 16);
    span->flags = 0x01; /* a new trace is sampled: Dapr's spans join it */
  }
  if (state_len) {
    char *copy = (char *)(span + 1);
    memcpy(copy, tracestate, state_len + 1);
    span->tracestate = copy;
  }
  span_open(span, OFCTX__SPAN_INVOCATION, name);
  return span;
}

void ofctx__span_free(ofctx__span_t *span) { ofctx__free(span); }

void ofctx__span_child(ofctx__span_t *child, const ofctx__span_t *parent, ofctx__span_kind_t kind,
                       const char *name) {
  memcpy(child->trace_id, parent->trace_id, 16);
  memcpy(child->parent_id, parent->span_id, 8);
  child->flags = parent->flags;
  child->tracestate = parent->tracestate;
  span_open(child, kind, name);
}

void ofctx__span_end(ofctx__span_t *span) {
  /* by the monotonic clock: a wall clock stepped meanwhile moves neither end */
  if (!span->end_ns)
    span->end_ns = span->start_ns + (uv_hrtime() - span->mono_ns);
}

/* An HTTP token (RFC 9110's tchar), which a baggage key must be. */
static int token_ok(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

ofctx_err_t ofctx__baggage_format(const ofctx_strmap_t *map, char **out, size_t *skipped) {
  ofctx__buf_t b = {0};
  size_t n = ofctx_strmap_count(map), left_out = 0;

  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *key = ofctx_strmap_key_at(map, i);
    if (!token_ok(key)) {
      left_out++;
      continue;
    }
    ofctx__buf_puts(&b, b.len ? "," : "");
    ofctx__buf_puts(&b, key);
    ofctx__buf_puts(&b, "=");
    /* unreserved characters only: a subset of baggage-octet, the rest %XX */
    ofctx__buf_encoded(&b, ofctx_strmap_value_at(map, i), OFCTX__ENCODE_COMPONENT);
  }
  if (skipped)
    *skipped = left_out;
  if (b.failed) {
    ofctx__buf_free(&b);
    return OFCTX_ENOMEM;
  }
  *out = b.data; /* NULL when nothing was added */
  return OFCTX_OK;
}
