/* base64 decoding. */
#include "alloc.h"
#include "base64.h"

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

char *ofctx__base64_decode(const char *in, size_t len, size_t *out_len) {
  size_t n = 0, pad = 0;
  unsigned int acc = 0;
  int bits = 0;
  char *out;

  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    len--;
    pad++;
  }
  if ((len + pad) % 4 == 1 || (pad && (len + pad) % 4 != 0))
    return NULL;
  out = ofctx__malloc(len / 4 * 3 + 3 + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    int v = value_of((unsigned char)in[i]);
    if (v < 0) {
      ofctx__free(out);
      return NULL;
    }
    acc = (acc << 6) | (unsigned int)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (char)((acc >> bits) & 0xFF);
    }
  }
  /* leftover bits must be zero padding */
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
    ofctx__free(out);
    return NULL;
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}
