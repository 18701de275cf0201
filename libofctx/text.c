/* Text checks and quoting: names, addresses, topics, UTF-8, user values
 * made safe to print, and printf's numbers with a '.' point. No JSON here. */
#include <arpa/inet.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

int ofctx__name_chars_ok(const char *s) {
  return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                   strlen(s);
}

int ofctx__component_name_ok(const char *s) {
  return ofctx__name_chars_ok(s) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int ofctx__ip_address_ok(const char *s) {
  unsigned char addr[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

int ofctx__topic_ok(const char *s) {
  if (!*s || strpbrk(s, "?#"))
    return 0;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
      return 0;
    if (!s[n])
      return 1;
    s += n + 1;
  }
}

size_t ofctx__utf8_len(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned char lo = 0x80, hi = 0xBF;
  size_t len;

  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xC2 && p[0] <= 0xDF)
    len = 2;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF)
    len = 3;
  else if (p[0] >= 0xF0 && p[0] <= 0xF4)
    len = 4;
  else
    return 0;
  /* The second byte's range rules out overlong forms, surrogates and
   * code points past U+10FFFF. */
  if (p[0] == 0xE0)
    lo = 0xA0;
  else if (p[0] == 0xED)
    hi = 0x9F;
  else if (p[0] == 0xF0)
    lo = 0x90;
  else if (p[0] == 0xF4)
    hi = 0x8F;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  return len;
}

int ofctx__utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t len;

  for (size_t i = 0; i < n; i += len) {
    /* ofctx__utf8_len reads as many bytes as the lead byte announces */
    size_t need = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    if (need > n - i || (len = ofctx__utf8_len(s + i)) == 0)
      return 0;
  }
  return 1;
}

/* A C0 or C1 control character or DEL starting at `p` (valid UTF-8). */
static int is_control(const unsigned char *p) {
  return p[0] < 0x20 || p[0] == 0x7f || (p[0] == 0xC2 && p[1] < 0xA0);
}

/* A bidirectional formatting character (U+061C, U+200E/F, U+202A-E,
 * U+2066-9) starting at `p` (valid UTF-8): invisible, and able to make a
 * name read as another. */
static int is_bidi(const unsigned char *p) {
  if (p[0] == 0xD8)
    return p[1] == 0x9C;
  if (p[0] != 0xE2)
    return 0;
  return (p[1] == 0x80 && (p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE))) ||
         (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9);
}

/* The code point of the valid `len`-byte UTF-8 sequence at `p`. */
static unsigned long code_point(const unsigned char *p, size_t len) {
  static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  unsigned long cp = p[0] & lead_mask[len];
  for (size_t i = 1; i < len; i++)
    cp = (cp << 6) | (p[i] & 0x3F);
  return cp;
}

int ofctx__text_ok(const char *s) {
  while (*s) {
    size_t len = ofctx__utf8_len(s);
    if (len == 0 || is_control((const unsigned char *)s) || is_bidi((const unsigned char *)s))
      return 0;
    s += len;
  }
  return 1;
}

int ofctx__ce_string_ok(const char *s) {
  while (*s) {
    size_t len = ofctx__utf8_len(s);
    unsigned long c;
    if (len == 0 || is_control((const unsigned char *)s))
      return 0;
    c = code_point((const unsigned char *)s, len);
    if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) /* noncharacters */
      return 0;
    s += len;
  }
  return 1;
}

void ofctx__quote(char *out, size_t size, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = 0;

  /* Room for a quote, "...", the closing quote and the NUL. */
  if (size < 8) {
    if (size)
      out[0] = '\0';
    return;
  }
  out[n++] = '"';
  while (*p) {
    char unit[8];
    size_t len = ofctx__utf8_len((const char *)p), advance = len ? len : 1;

    if (*p == '"' || *p == '\\') {
      unit[0] = '\\';
      unit[1] = (char)*p;
      len = 2;
    } else if (len == 0 || (len == 1 && is_control(p))) {
      len = (size_t)snprintf(unit, sizeof unit, "\\x%02x", *p);
    } else if (is_control(p) || is_bidi(p)) {
      len = (size_t)snprintf(unit, sizeof unit, "\\u%04lx", code_point(p, len));
    } else {
      memcpy(unit, p, len);
    }
    /* A unit goes in whole or not at all, so a cut never splits an escape
     * or a UTF-8 sequence. */
    if (n + len + 5 > size)
      break;
    memcpy(out + n, unit, len);
    n += len;
    p += advance;
  }
  if (*p) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n++] = '"';
  out[n] = '\0';
}

void ofctx__dot_decimal(char *text, const char *point) {
  char *at;
  size_t n;

  if (!point)
    point = localeconv()->decimal_point;
  if (!point || !*point || strcmp(point, ".") == 0 || !(at = strstr(text, point)))
    return;
  n = strlen(point);
  *at = '.';
  memmove(at + 1, at + n, strlen(at + n) + 1);
}

const char *ofctx__list_next(const char **s, size_t *len) {
  const char *start = *s;
  size_t n;

  if (!start || !*start)
    return NULL;
  n = strcspn(start, ",");
  *s = start + n + (start[n] == ',');
  while (n && (*start == ' ' || *start == '\t')) {
    start++;
    n--;
  }
  while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
    n--;
  *len = n;
  return start;
}
