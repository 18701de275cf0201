/* base64, both ways. */
#include "base64.h"
#include "buf.h"
#include "mem.h"

static int value_of(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decodes into `out` (room for len / 4 * 3 + 3 bytes) or, when `out` is
 * NULL, only checks; the number of bytes, or -1 when `in` is not base64. */
static long decode(const char *in, size_t len, char *out) {
  size_t n = 0, pad = 0;
  unsigned int acc = 0;
  int bits = 0;

  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    len--;
    pad++;
  }
  if ((len + pad) % 4 == 1 || (pad && (len + pad) % 4 != 0))
    return -1;
  for (size_t i = 0; i < len; i++) {
    int v = value_of((unsigned char)in[i]);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (unsigned int)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out)
        out[n] = (char)((acc >> bits) & 0xFF);
      n++;
    }
  }
  /* leftover bits must be zero padding */
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
    return -1;
  return (long)n;
}

int ofctx__base64_valid(const char *in, size_t len) { return decode(in, len, NULL) >= 0; }

char *ofctx__base64_decode(const char *in, size_t len, size_t *out_len) {
  char *out;
  long n;

  if (decode(in, len, NULL) < 0)
    return NULL;
  out = ofctx__malloc(len / 4 * 3 + 3 + 1);
  if (!out)
    return NULL;
  n = decode(in, len, out);
  out[n] = '\0';
  *out_len = (size_t)n;
  return out;
}

void ofctx__base64_encode(ofctx__buf_t *b, const void *data, size_t len) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = data;

  ofctx__buf_append(b, "", 0);
  for (size_t i = 0; i < len; i += 3) {
    unsigned int v = (unsigned int)p[i] << 16 | (i + 1 < len ? (unsigned int)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
    char out[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                   i + 1 < len ? alphabet[v >> 6 & 63] : '=', i + 2 < len ? alphabet[v & 63] : '='};
    ofctx__buf_append(b, out, 4);
  }
}
