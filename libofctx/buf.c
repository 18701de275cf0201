/* Growing buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

int ofctx__buf_reserve(ofctx__buf_t *b, size_t more) {
  size_t cap;
  char *bigger;

  if (b->failed)
    return -1;
  if (b->len + more + 1 <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1)
    cap *= 2;
  bigger = ofctx__realloc(b->data, cap);
  if (!bigger) {
    b->failed = 1;
    return -1;
  }
  b->data = bigger;
  b->cap = cap;
  return 0;
}

void ofctx__buf_append(ofctx__buf_t *b, const void *data, size_t len) {
  if (ofctx__buf_reserve(b, len) != 0)
    return;
  if (len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void ofctx__buf_puts(ofctx__buf_t *b, const char *s) { ofctx__buf_append(b, s, strlen(s)); }

void ofctx__buf_printf(ofctx__buf_t *b, const char *fmt, ...) {
  size_t room = b->failed ? 0 : b->cap - b->len; /* with the NUL */
  va_list ap;
  int n;

  /* straight into the room there is: formatted once when it fits */
  va_start(ap, fmt);
  n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= room) {
    if (ofctx__buf_reserve(b, (size_t)n) != 0)
      return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Whether ofctx__buf_encoded keeps `c` as it is under `mode`. */
static int kept(unsigned char c, int mode) {
  if (mode == OFCTX__ENCODE_HEADER)
    return c > 0x20 && c < 0x7f && c != '"' && c != '%';
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || (mode == OFCTX__ENCODE_PATH && c == '/');
}

void ofctx__buf_encoded(ofctx__buf_t *b, const char *s, int mode) {
  static const char hex[] = "0123456789ABCDEF";

  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (kept(*p, mode)) {
      ofctx__buf_append(b, p, 1);
    } else {
      char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      ofctx__buf_append(b, esc, 3);
    }
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int ofctx__buf_decoded(ofctx__buf_t *b, const char *s, size_t len, int flags) {
  ofctx__buf_append(b, "", 0);
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
      if (lo >= 0) {
        c = (char)(hi << 4 | lo);
        i += 2;
      } else if (!(flags & OFCTX__DECODE_LENIENT)) {
        return -1;
      }
    } else if (c == '+' && (flags & OFCTX__DECODE_PLUS)) {
      c = ' ';
    }
    if (c == '\0') /* no caller can keep a NUL in a C string */
      return -1;
    ofctx__buf_append(b, &c, 1);
  }
  return b->failed ? -1 : 0;
}

void ofctx__buf_free(ofctx__buf_t *b) {
  ofctx__free(b->data);
  memset(b, 0, sizeof *b);
}
