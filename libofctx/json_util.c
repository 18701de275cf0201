/* jansson helpers for the parsers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json_util.h"
#include "mem.h"
#include "text.h"

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
