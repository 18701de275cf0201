/* JSON text (RFC 8259) scanned byte by byte, without building values. */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base64.h"
#include "json_scan.h"
#include "mem.h"
#include "text.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && is_ws(s[i]))
    i++;
  return i;
}

/* The length of the UTF-8 sequence at `p` if it is whole within `avail`
 * bytes and well formed, else 0. */
static size_t utf8_at(const unsigned char *p, size_t avail) {
  size_t need = p[0] < 0x80 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
  return need <= avail ? ofctx__utf8_len((const char *)p) : 0;
}

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v << 4 | d;
  }
  return v;
}

/* Eight bytes at a time: bit 7 of a byte of the result is set where a byte
 * of `v` is `c`; no other bit is set. A byte above a marked one may be
 * marked too (a borrow), but the lowest marked byte is always one that is. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t bytes_equal(uint64_t v, unsigned char c) {
  uint64_t x = v ^ (ONES * c);
  return (x - ONES) & ~x & HIGHS;
}

/* The bytes of p[0..8) in order of address: the lowest byte of the value
 * is the first. */
static uint64_t load8(const char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
#else
  uint64_t v = 0;
  for (int k = 7; k >= 0; k--)
    v = v << 8 | (unsigned char)p[k];
  return v;
#endif
}

/* The offset (0-7) of the first marked byte of a non-zero mask. */
static size_t first_marked(uint64_t mask) { return (size_t)__builtin_ctzll(mask) / 8; }

/* The index of the first byte at or after s[i] that is not printable
 * ASCII other than a quote and a backslash (each needs a closer look), or
 * `len`. */
static size_t skip_plain(const char *s, size_t len, size_t i) {
#ifdef __SSE2__
  /* sixteen at a time: as signed bytes, those below 0x20 are the control
   * characters and every byte of 0x80 or more */
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                space = _mm_set1_epi8(0x20);
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    int odd = _mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space)));
    if (odd)
      return i + (size_t)__builtin_ctz((unsigned)odd);
  }
#endif
  for (; i + 8 <= len; i += 8) {
    uint64_t v = load8(s + i);
    uint64_t odd =
        (((v - ONES * 0x20) & ~v) | v | bytes_equal(v, '"') | bytes_equal(v, '\\')) & HIGHS;
    if (odd)
      return i + first_marked(odd);
  }
  while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' &&
         s[i] != '\\')
    i++;
  return i;
}

/* The index of the first quote at or after s[i], or `len`. */
static size_t find_quote(const char *s, size_t len, size_t i) {
  for (; i + 8 <= len; i += 8) {
    uint64_t q = bytes_equal(load8(s + i), '"');
    if (q)
      return i + first_marked(q);
  }
  while (i < len && s[i] != '"')
    i++;
  return i;
}

/* A string token starting at s[i] == '"': the index after its closing
 * quote, or 0. */
static size_t scan_string(const char *s, size_t len, size_t i) {
  for (i++; i < len;) {
    unsigned char c;
    if ((i = skip_plain(s, len, i)) >= len)
      return 0;
    c = (unsigned char)s[i];
    if (c == '"')
      return i + 1;
    if (c == '\\') {
      if (i + 1 >= len)
        return 0;
      if (s[i + 1] == 'u') {
        if (i + 6 > len || hex4(s + i + 2) < 0)
          return 0;
        i += 6;
      } else if (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '/' || s[i + 1] == 'b' ||
                 s[i + 1] == 'f' || s[i + 1] == 'n' || s[i + 1] == 'r' || s[i + 1] == 't') {
        i += 2;
      } else {
        return 0;
      }
    } else if (c < 0x20) {
      return 0;
    } else {
      size_t n = utf8_at((const unsigned char *)s + i, len - i);
      if (n == 0)
        return 0;
      i += n;
    }
  }
  return 0;
}

static size_t digits(const char *s, size_t len, size_t i) {
  while (i < len && s[i] >= '0' && s[i] <= '9')
    i++;
  return i;
}

/* A number starting at s[i]: the index after it, or 0. */
static size_t scan_number(const char *s, size_t len, size_t i) {
  size_t j;

  if (s[i] == '-')
    i++;
  if (i >= len)
    return 0;
  if (s[i] == '0')
    i++;
  else if (s[i] >= '1' && s[i] <= '9')
    i = digits(s, len, i);
  else
    return 0;
  if (i < len && s[i] == '.') {
    j = digits(s, len, i + 1);
    if (j == i + 1)
      return 0;
    i = j;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    j = digits(s, len, i);
    if (j == i)
      return 0;
    i = j;
  }
  return i;
}

/* One bit per open container (1: object, 0: array): inline for the usual
 * depths, on the heap past them. */
typedef struct {
  uint64_t inline_bits[8];
  uint64_t *bits;
  size_t cap; /* in bits */
  size_t depth;
} nest_t;

static int nest_push(nest_t *n, int object) {
  if (n->depth == n->cap) {
    size_t words = n->cap * 2 / 64;
    uint64_t *bigger = ofctx__calloc(words, sizeof *bigger);
    if (!bigger)
      return -1;
    memcpy(bigger, n->bits, (n->cap / 64) * sizeof *bigger);
    if (n->bits != n->inline_bits)
      ofctx__free(n->bits);
    n->bits = bigger;
    n->cap = words * 64;
  }
  if (object)
    n->bits[n->depth / 64] |= (uint64_t)1 << (n->depth % 64);
  else
    n->bits[n->depth / 64] &= ~((uint64_t)1 << (n->depth % 64));
  n->depth++;
  return 0;
}

static int nest_top_is_object(const nest_t *n) {
  size_t d = n->depth - 1;
  return (n->bits[d / 64] >> (d % 64)) & 1;
}

/* A map's record of where the container opened at s[i] (depth `depth`, 1
 * for the outermost) starts; it ends at close_container. */
static void open_container(ofctx__json_map_t *map, size_t *open, size_t depth, size_t at) {
  if (!map || depth > OFCTX__JSON_MAP_DEPTH)
    return;
  open[depth - 1] = SIZE_MAX; /* not recorded: walks step over it */
  if (map->count == map->cap) {
    size_t cap = map->cap ? 2 * map->cap : 64;
    size_t *more = ofctx__realloc(map->spans, cap * 2 * sizeof *more);
    if (!more)
      return;
    map->spans = more;
    map->cap = cap;
  }
  open[depth - 1] = map->count;
  map->spans[2 * map->count] = at;
  map->spans[2 * map->count + 1] = 0;
  map->count++;
}

static void close_container(ofctx__json_map_t *map, const size_t *open, size_t depth,
                            size_t after) {
  if (map && depth <= OFCTX__JSON_MAP_DEPTH && open[depth - 1] != SIZE_MAX)
    map->spans[2 * open[depth - 1] + 1] = after;
}

/* The value at s[0], s being `base` bytes into the map's text. */
static size_t scan_value(const char *s, size_t len, ofctx__json_map_t *map, size_t base) {
  nest_t nest = {{0}, NULL, 8 * 64, 0};
  size_t i = 0, end = 0, open[OFCTX__JSON_MAP_DEPTH];

  nest.bits = nest.inline_bits;
  for (;;) {
    /* a value starts at s[i] */
    if (i >= len)
      goto done;
    switch (s[i]) {
    case '{':
    case '[':
      if (nest_push(&nest, s[i] == '{') != 0)
        goto done;
      open_container(map, open, nest.depth, base + i);
      i = skip_ws(s, len, i + 1);
      if (i < len && s[i] == (nest_top_is_object(&nest) ? '}' : ']')) {
        close_container(map, open, nest.depth--, base + i + 1);
        i++;
        break;
      }
      if (nest_top_is_object(&nest))
        goto member;
      continue;
    case '"':
      i = scan_string(s, len, i);
      break;
    case 't':
      i = len - i >= 4 && memcmp(s + i, "true", 4) == 0 ? i + 4 : 0;
      break;
    case 'f':
      i = len - i >= 5 && memcmp(s + i, "false", 5) == 0 ? i + 5 : 0;
      break;
    case 'n':
      i = len - i >= 4 && memcmp(s + i, "null", 4) == 0 ? i + 4 : 0;
      break;
    default:
      i = s[i] == '-' || (s[i] >= '0' && s[i] <= '9') ? scan_number(s, len, i) : 0;
      break;
    }
    /* after a value: close what it ends, or go on to the next */
    for (;;) {
      if (i == 0)
        goto done;
      if (nest.depth == 0) {
        end = i;
        goto done;
      }
      i = skip_ws(s, len, i);
      if (i >= len)
        goto done;
      if (s[i] == ',') {
        i = skip_ws(s, len, i + 1);
        if (nest_top_is_object(&nest))
          goto member;
        break; /* the next element */
      }
      if (s[i] != (nest_top_is_object(&nest) ? '}' : ']'))
        goto done;
      close_container(map, open, nest.depth--, base + i + 1);
      i++;
    }
    continue;
  member: /* a member name, white space, a colon, white space, then its value */
    if (i >= len || s[i] != '"' || (i = scan_string(s, len, i)) == 0)
      goto done;
    i = skip_ws(s, len, i);
    if (i >= len || s[i] != ':')
      goto done;
    i = skip_ws(s, len, i + 1);
  }
done:
  if (nest.bits != nest.inline_bits)
    ofctx__free(nest.bits);
  return end;
}

size_t ofctx__json_value_len(const char *s, size_t len) { return scan_value(s, len, NULL, 0); }

size_t ofctx__json_string_len(const char *s, size_t len) {
  return len && s[0] == '"' ? scan_string(s, len, 0) : 0;
}

/* In text known to be valid JSON, nothing is checked again: a string ends
 * at the first quote not escaped by an odd run of backslashes (find_quote
 * finds it), a container where its depth returns to 0 (or where a map says),
 * a scalar at a delimiter. The walks below step over values this way. */
static size_t skip_valid_string(const char *s, size_t len, size_t i) {
  for (i++; i < len;) {
    size_t at = find_quote(s, len, i), run = 0;
    if (at == len)
      return len;
    while (at - run > 0 && s[at - run - 1] == '\\')
      run++;
    if (run % 2 == 0)
      return at + 1;
    i = at + 1;
  }
  return len;
}

/* Where the container at `offset` of the map's text ends, or 0 when the
 * map does not say. */
static size_t mapped_end(const ofctx__json_map_t *map, size_t offset) {
  size_t lo = 0, hi = map->count;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (map->spans[2 * mid] < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < map->count && map->spans[2 * lo] == offset ? map->spans[2 * lo + 1] : 0;
}

static size_t valid_value_len(const ofctx__json_map_t *map, const char *s, size_t len) {
  size_t i = 0, depth = 0;

  if (len == 0)
    return 0;
  if (s[0] == '"')
    return skip_valid_string(s, len, 0);
  if (s[0] != '{' && s[0] != '[') { /* a number, true, false or null: to a delimiter */
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i]))
      i++;
    return i;
  }
  if (map && s >= map->text) {
    size_t end = mapped_end(map, (size_t)(s - map->text));
    if (end)
      return end - (size_t)(s - map->text);
  }
  do {
    char c = s[i];
    if (c == '"') {
      i = skip_valid_string(s, len, i);
      continue;
    }
    if (c == '{' || c == '[')
      depth++;
    else if (c == '}' || c == ']')
      depth--;
    i++;
  } while (depth > 0 && i < len);
  return i;
}

/* Whether `len` bytes of `s` are one JSON text, its containers recorded in
 * `map` when it is not NULL. */
static int valid_text(const char *s, size_t len, ofctx__json_map_t *map) {
  size_t start = skip_ws(s, len, 0), n;

  if (start == len)
    return 0;
  n = scan_value(s + start, len - start, map, start);
  return n > 0 && skip_ws(s, len, start + n) == len;
}

int ofctx__json_valid(const void *data, size_t len) { return valid_text(data, len, NULL); }

int ofctx__json_map(ofctx__json_map_t *map, const char *s, size_t len) {
  *map = (ofctx__json_map_t){s, NULL, 0, 0};
  return valid_text(s, len, map);
}

void ofctx__json_map_free(ofctx__json_map_t *map) {
  ofctx__free(map->spans);
  *map = (ofctx__json_map_t){NULL, NULL, 0, 0};
}

int ofctx__json_members(const char *s, size_t len, ofctx__json_member_fn fn, void *arg) {
  return ofctx__json_valid(s, len) ? ofctx__json_members_valid(s, len, fn, arg) : -1;
}

int ofctx__json_members_valid(const char *s, size_t len, ofctx__json_member_fn fn, void *arg) {
  return ofctx__json_members_in(NULL, s, len, fn, arg);
}

int ofctx__json_members_in(const ofctx__json_map_t *map, const char *s, size_t len,
                           ofctx__json_member_fn fn, void *arg) {
  size_t i = skip_ws(s, len, 0);

  if (i >= len || s[i] != '{')
    return -2;
  i = skip_ws(s, len, i + 1);
  while (s[i] == '"') {
    /* the text is valid: each token ends where the scanners say */
    size_t key = i, key_end = skip_valid_string(s, len, i), value, value_len;
    int rc;
    value = skip_ws(s, len, skip_ws(s, len, key_end) + 1);
    value_len = valid_value_len(map, s + value, len - value);
    if ((rc = fn(arg, s + key, key_end - key, s + value, value_len)) != 0)
      return rc;
    i = skip_ws(s, len, value + value_len);
    if (s[i] == ',')
      i = skip_ws(s, len, i + 1);
  }
  return 0;
}

int ofctx__json_elements(const char *s, size_t len, ofctx__json_element_fn fn, void *arg) {
  return ofctx__json_valid(s, len) ? ofctx__json_elements_valid(s, len, fn, arg) : -1;
}

int ofctx__json_elements_valid(const char *s, size_t len, ofctx__json_element_fn fn, void *arg) {
  return ofctx__json_elements_in(NULL, s, len, fn, arg);
}

int ofctx__json_elements_in(const ofctx__json_map_t *map, const char *s, size_t len,
                            ofctx__json_element_fn fn, void *arg) {
  size_t i = skip_ws(s, len, 0);

  if (i >= len || s[i] != '[')
    return -2;
  i = skip_ws(s, len, i + 1);
  while (i < len && s[i] != ']') {
    /* the text is valid: each element ends where the scanner says */
    size_t value_len = valid_value_len(map, s + i, len - i);
    int rc = fn(arg, s + i, value_len);
    if (rc != 0)
      return rc;
    i = skip_ws(s, len, i + value_len);
    if (s[i] == ',')
      i = skip_ws(s, len, i + 1);
  }
  return 0;
}

/* `cp` as UTF-8 into b[0..4): how many bytes. */
static size_t put_utf8(char *b, unsigned long cp) {
  if (cp < 0x80) {
    b[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    b[0] = (char)(0xC0 | cp >> 6);
    b[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = (char)(0xE0 | cp >> 12);
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = (char)(0xF0 | cp >> 18);
  b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  b[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The escape at s[*i] (a backslash, within `end`) decoded into b[0..4):
 * how many bytes; `*i` moves past it, `*lone` counts a lone surrogate. */
static size_t escape_at(const char *s, size_t end, size_t *i, char *b, int *lone) {
  static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
  unsigned long cp;

  if (s[*i + 1] != 'u') {
    b[0] = strchr(escapes, s[*i + 1])[1];
    *i += 2;
    return 1;
  }
  cp = (unsigned long)hex4(s + *i + 2);
  *i += 6;
  if (cp >= 0xD800 && cp <= 0xDBFF && *i + 6 <= end && s[*i] == '\\' && s[*i + 1] == 'u') {
    int low = hex4(s + *i + 2);
    if (low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)low - 0xDC00);
      *i += 6;
    }
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    ++*lone;
    cp = 0xFFFD;
  }
  return put_utf8(b, cp);
}

size_t ofctx__json_string_copy(char *out, const char *s, size_t len, int *lone) {
  size_t i = 1, end = len - 1, n = 0; /* inside the quotes */

  *lone = 0;
  while (i < end) {
    const char *bs = memchr(s + i, '\\', end - i);
    size_t run = bs ? (size_t)(bs - s) : end;
    memcpy(out + n, s + i, run - i);
    n += run - i;
    i = run;
    if (i < end)
      n += escape_at(s, end, &i, out + n, lone);
  }
  return n;
}

int ofctx__json_string_is(const char *s, size_t len, const char *name) {
  size_t i = 1, end = len - 1, k = 0;
  int lone = 0;

  while (i < end) {
    char b[4];
    size_t n;
    if (s[i] != '\\') {
      if (name[k] != s[i])
        return 0;
      i++;
      k++;
      continue;
    }
    n = escape_at(s, end, &i, b, &lone);
    for (size_t j = 0; j < n; j++, k++)
      if (name[k] != b[j] || b[j] == '\0')
        return 0;
  }
  return name[k] == '\0';
}

int ofctx__json_string_decode(ofctx__buf_t *out, const char *s, size_t len) {
  size_t room = len > 2 ? len - 2 : 0;
  int lone = 0;

  ofctx__buf_reserve(out, room);
  if (!out->failed) {
    out->len += ofctx__json_string_copy(out->data + out->len, s, len, &lone);
    out->data[out->len] = '\0';
  }
  ofctx__buf_append(out, "", 0); /* `data` set, even for "" */
  return lone;
}

size_t ofctx__json_valid_len(const char *s, size_t len) { return valid_value_len(NULL, s, len); }

ofctx_err_t ofctx__json_base64(const char *s, size_t len, char **out, size_t *out_len) {
  ofctx__buf_t text = {0};
  const char *b64 = s + 1;
  size_t b64_len = len - 2;
  ofctx_err_t rc;

  if (memchr(b64, '\\', b64_len)) {
    ofctx__json_string_decode(&text, s, len);
    b64 = text.data;
    b64_len = text.len;
  }
  *out = text.failed ? NULL : ofctx__base64_decode(b64, b64_len, out_len);
  rc = *out                                               ? OFCTX_OK
       : text.failed || ofctx__base64_valid(b64, b64_len) ? OFCTX_ENOMEM
                                                          : OFCTX_EINVAL;
  ofctx__buf_free(&text);
  return rc;
}
