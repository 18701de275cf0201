/* jansson helpers for the parsers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json_util.h"
#include "mem.h"

json_t *ofctx__json_member(const json_t *obj, const char *key) {
  const char *name;
  json_t *value;
  json_t *exact;

  if (!json_is_object(obj))
    return NULL;
  exact = json_object_get(obj, key);
  if (exact)
    return exact;
  json_object_foreach((json_t *)obj, name, value) {
    if (strcasecmp(name, key) == 0)
      return value;
  }
  return NULL;
}

const char *ofctx__json_kind(const json_t *value) {
  switch (json_typeof(value)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    break;
  }
  return "null";
}

static int plain_name(const char *key) {
  if (!*key)
    return 0;
  for (const char *p = key; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!(c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z')))
      return 0;
  }
  return 1;
}

void ofctx__json_path(char *out, size_t size, const char *parent, const char *key) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (plain_name(key)) {
    snprintf(out, size, "%s.%s", parent, key);
  } else {
    ofctx__quote(quoted, sizeof quoted, key);
    snprintf(out, size, "%s[%s]", parent, quoted);
  }
}

void ofctx__json_index(char *out, size_t size, const char *parent, size_t index) {
  /* A path cut short still names its start; the length is not an error. */
  if (snprintf(out, size, "%s[%zu]", parent, index) < 0 && size)
    out[0] = '\0';
}

char *ofctx__json_text(const json_t *value, size_t flags) {
  size_t size = json_dumpb(value, NULL, 0, flags);
  char *text;

  if (size == 0)
    return NULL;
  text = ofctx__malloc(size + 1);
  if (!text)
    return NULL;
  if (json_dumpb(value, text, size, flags) != size) {
    ofctx__free(text);
    return NULL;
  }
  text[size] = '\0';
  return text;
}

json_t *ofctx__json_string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

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

const char *ofctx__media_type(const char *value, size_t *len) {
  while (*value == ' ' || *value == '\t')
    value++;
  *len = strcspn(value, "; \t");
  return value;
}

int ofctx__media_type_is(const char *value, const char *type) {
  size_t len;
  const char *start = ofctx__media_type(value, &len);
  return len == strlen(type) && strncasecmp(start, type, len) == 0;
}

int ofctx__json_media(const char *content_type) {
  const char *type, *sub;
  size_t len, n;

  if (!content_type)
    return 1;
  type = ofctx__media_type(content_type, &len);
  sub = memchr(type, '/', len);
  if (!sub)
    return 0;
  sub++;
  n = len - (size_t)(sub - type);
  return (n == 4 && strncasecmp(sub, "json", 4) == 0) ||
         (n > 5 && strncasecmp(sub + n - 5, "+json", 5) == 0);
}

int ofctx__buf_json_string(ofctx__buf_t *b, const char *s, size_t len) {
  json_t *text;
  char *quoted;
  size_t plain = 0;

  while (plain < len && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' && s[plain] != '\\')
    plain++;
  if (plain == len) { /* nothing to escape (nearly always): no jansson */
    ofctx__buf_append(b, "\"", 1);
    ofctx__buf_append(b, s, len);
    ofctx__buf_append(b, "\"", 1);
    return 0;
  }
  text = json_stringn(s, len);
  if (!text)
    return -1;
  quoted = ofctx__json_text(text, JSON_ENCODE_ANY);
  json_decref(text);
  if (quoted)
    ofctx__buf_puts(b, quoted);
  else
    b->failed = 1;
  ofctx__free(quoted);
  return 0;
}
