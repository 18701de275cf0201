/* base64, both ways. */
#include "base64.h"
#include "buf.h"
#include "mem.h"

/* Each character's value plus one; 0 for what is not in the alphabet. */
static const unsigned char VALUE[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64};

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
    unsigned int v = VALUE[(unsigned char)in[i]];
    if (!v)
      return -1;
    acc = (acc << 6) | (v - 1);
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

  out = ofctx__malloc(len / 4 * 3 + 3 + 1);
  if (!out)
    return NULL;
  if ((n = decode(in, len, out)) < 0) { /* one pass: checked as it is decoded */
    ofctx__free(out);
    return NULL;
  }
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
