/* jansson helpers for the parsers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json_util.h"

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

void ofctx__quote(char *out, size_t size, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  const char *p = s;

  /* Room for the closing quote, "..." and the NUL. */
  if (size < 8) {
    if (size)
      out[0] = '\0';
    return;
  }
  out[n++] = '"';
  for (; *p && n + 6 < size - 5; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      out[n++] = '\\';
      out[n++] = 'x';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    } else {
      out[n++] = (char)c;
    }
  }
  if (*p) {
    /* Never cut a UTF-8 sequence in two: drop its bytes already copied. */
    while (n > 1 && ((unsigned char)*p & 0xC0) == 0x80) {
      p--;
      n--;
    }
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n++] = '"';
  out[n] = '\0';
}
