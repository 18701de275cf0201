/* libyaml's events → a jansson tree, bounded, with YAML 1.2 core typing of
 * plain scalars (see rules_yaml.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "rules_yaml.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

/* One parse: libyaml's parser, the event at hand and the limits spent. */
typedef struct {
  yaml_parser_t parser;
  yaml_event_t event;
  int has_event;
  const char *name;
  size_t nodes;
  char *err;
  size_t size;
} reader_t;

/* The message at line and column (0-based, as libyaml counts): -1. */
static int fail_at(reader_t *r, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(reader_t *r, yaml_mark_t mark, const char *fmt, ...) {
  char text[256];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  snprintf(r->err, r->size, "%s:%zu:%zu: %s", r->name, mark.line + 1, mark.column + 1, text);
  return -1;
}

/* The mark of byte `offset` of the text (libyaml's reader errors give
 * only the offset). */
static yaml_mark_t mark_of(const char *text, size_t len, size_t offset) {
  yaml_mark_t m = {0, 0, 0};

  for (size_t i = 0; i < offset && i < len; i++) {
    if (text[i] == '\n') {
      m.line++;
      m.column = 0;
    } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
      m.column++;
    }
  }
  return m;
}

/* A hint for libyaml's most common complaints: tabs, and ": " in a value. */
static const char *hint(const yaml_parser_t *p, const char *text, size_t len) {
  size_t at = p->problem_mark.index;

  if (at < len && text[at] == '\t')
    return "; YAML indents with spaces, not tabs";
  if (p->problem && strcmp(p->problem, "mapping values are not allowed in this context") == 0)
    return "; quote a value that holds \": \"";
  return "";
}

/* libyaml's own error (syntax, encoding): -1. */
static int parser_error(reader_t *r, const char *text, size_t len) {
  yaml_parser_t *p = &r->parser;
  const char *problem = p->problem ? p->problem : "cannot be parsed";

  if (p->error == YAML_READER_ERROR)
    return fail_at(r, mark_of(text, len, p->problem_offset), "%s (the file must be UTF-8)",
                   problem);
  if (p->error == YAML_MEMORY_ERROR)
    return fail_at(r, p->problem_mark, "out of memory");
  if (p->context)
    return fail_at(r, p->problem_mark, "%s (%s at %zu:%zu)%s", problem, p->context,
                   p->context_mark.line + 1, p->context_mark.column + 1, hint(p, text, len));
  return fail_at(r, p->problem_mark, "%s%s", problem, hint(p, text, len));
}

/* The next event into r->event (the previous one deleted): 0 or -1. */
static int next(reader_t *r, const char *text, size_t len) {
  if (r->has_event)
    yaml_event_delete(&r->event);
  r->has_event = 0;
  if (!yaml_parser_parse(&r->parser, &r->event))
    return parser_error(r, text, len);
  r->has_event = 1;
  return 0;
}

/* An integer of YAML's core schema ([-+]digits, 0x hex), or -1 when the
 * text is none; -2 when it is one out of range. */
static int core_int(const char *s, json_int_t *out) {
  const char *d = s + (*s == '-' || *s == '+');
  int base = 10;
  char *end;

  if (s[0] == '0' && s[1] == 'x' && s[2]) {
    d = s + 2;
    base = 16;
  }
  if (!*d || strspn(d, base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != strlen(d))
    return -1;
  errno = 0;
  *out = strtoll(base == 16 ? d : s, &end, base);
  return errno == ERANGE ? -2 : 0;
}

/* A real of YAML's core schema: [-+]?(.digits|digits(.digits?)?)([eE][-+]?digits)?. */
static int core_real(const char *s) {
  const char *p = s + (*s == '-' || *s == '+');
  size_t whole = strspn(p, "0123456789"), frac = 0;

  p += whole;
  if (*p == '.') {
    frac = strspn(p + 1, "0123456789");
    p += 1 + frac;
  }
  if (whole + frac == 0)
    return 0;
  if (*p == 'e' || *p == 'E') {
    p += 1 + (p[1] == '-' || p[1] == '+');
    if (!strspn(p, "0123456789"))
      return 0;
    p += strspn(p, "0123456789");
  }
  return *p == '\0';
}

/* A tag as written: "!!int" for tag:yaml.org,2002:int. */
static const char *tag_text(char *buf, size_t size, const char *tag) {
  if (strncmp(tag, "tag:yaml.org,2002:", 18) == 0)
    snprintf(buf, size, "!!%.40s", tag + 18);
  else
    snprintf(buf, size, "%.60s", tag);
  return buf;
}

static int one_of(const char *s, const char *a, const char *b, const char *c) {
  return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

/* A plain scalar typed by the core schema (see rules_yaml.h); NULL with
 * the message in r when it is a number out of range or memory runs out. */
static json_t *plain(reader_t *r, const char *s, size_t n) {
  json_int_t i;
  int rc;

  if (n == 0 || strcmp(s, "~") == 0 || one_of(s, "null", "Null", "NULL"))
    return json_null();
  if (one_of(s, "true", "True", "TRUE"))
    return json_true();
  if (one_of(s, "false", "False", "FALSE"))
    return json_false();
  rc = core_int(s, &i);
  if (rc == 0)
    return json_integer(i);
  if (rc == -1 && core_real(s)) {
    double d = strtod(s, NULL);
    if (isfinite(d))
      return json_real(d);
  }
  if (rc == -2 || core_real(s)) {
    fail_at(r, r->event.start_mark, "the number %.40s is out of range", s);
    return NULL;
  }
  return json_stringn(s, n);
}

/* The scalar event at hand as a JSON value (a string when `key`: keys are
 * text, "404" too), or NULL (message in r). */
static json_t *scalar(reader_t *r, int key) {
  yaml_event_t *e = &r->event;
  const char *s = (const char *)e->data.scalar.value, *tag = (const char *)e->data.scalar.tag;
  size_t n = e->data.scalar.length;
  json_t *v;

  if (e->data.scalar.anchor) {
    fail_at(r, e->start_mark, "anchors (&%.40s) and aliases are not supported: write the value out",
            (const char *)e->data.scalar.anchor);
    return NULL;
  }
  if (memchr(s, '\0', n)) {
    fail_at(r, e->start_mark, "a value holds a NUL character");
    return NULL;
  }
  if (tag && strcmp(tag, TAG_STR) != 0 && strcmp(tag, "!") != 0) {
    char t[80];
    fail_at(r, e->start_mark, "the tag %s is not supported (only !!str)",
            tag_text(t, sizeof t, tag));
    return NULL;
  }
  if (key || tag || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    v = json_stringn(s, n);
  else
    v = plain(r, s, n);
  if (!v && !r->err[0])
    fail_at(r, e->start_mark, "out of memory");
  return v;
}

static json_t *node(reader_t *r, const char *text, size_t len, int depth);

/* A mapping whose start event is at hand, up to its end event. */
static json_t *mapping(reader_t *r, const char *text, size_t len, int depth) {
  json_t *obj = json_object(), *key = NULL, *value;

  while (obj && next(r, text, len) == 0 && r->event.type != YAML_MAPPING_END_EVENT) {
    yaml_mark_t at = r->event.start_mark;
    if (r->event.type != YAML_SCALAR_EVENT) {
      fail_at(r, at,
              "a key must be a plain value, not a list or a mapping (quote a value that starts "
              "with { or [, such as a {{template}})");
      break;
    }
    key = scalar(r, 1);
    if (!key || json_object_get(obj, json_string_value(key))) {
      if (key)
        fail_at(r, at, "the key \"%.60s\" appears twice", json_string_value(key));
      break;
    }
    value = next(r, text, len) == 0 ? node(r, text, len, depth) : NULL;
    if (!value || json_object_set_new(obj, json_string_value(key), value) != 0)
      break;
    json_decref(key);
    key = NULL;
  }
  json_decref(key);
  if (obj && r->has_event && r->event.type == YAML_MAPPING_END_EVENT && !r->err[0])
    return obj;
  json_decref(obj);
  return NULL;
}

/* A sequence whose start event is at hand, up to its end event. */
static json_t *sequence(reader_t *r, const char *text, size_t len, int depth) {
  json_t *arr = json_array(), *value;

  while (arr && next(r, text, len) == 0 && r->event.type != YAML_SEQUENCE_END_EVENT) {
    value = node(r, text, len, depth);
    if (!value || json_array_append_new(arr, value) != 0)
      break;
  }
  if (arr && r->has_event && r->event.type == YAML_SEQUENCE_END_EVENT && !r->err[0])
    return arr;
  json_decref(arr);
  return NULL;
}

/* An anchor or a tag that the rules file does not allow on a collection. */
static int collection_refused(reader_t *r, const yaml_char_t *anchor, const yaml_char_t *tag,
                              const char *allowed) {
  if (anchor)
    return fail_at(r, r->event.start_mark,
                   "anchors (&%.40s) and aliases are not supported: write the value out",
                   (const char *)anchor);
  if (tag && strcmp((const char *)tag, allowed) != 0) {
    char t[80];
    return fail_at(r, r->event.start_mark, "the tag %s is not supported here",
                   tag_text(t, sizeof t, (const char *)tag));
  }
  return 0;
}

/* The node whose first event is at hand, `depth` collections deep. */
static json_t *node(reader_t *r, const char *text, size_t len, int depth) {
  yaml_event_t *e = &r->event;

  if (++r->nodes > LH_YAML_MAX_NODES) {
    fail_at(r, e->start_mark, "more than %d values: the file is too large", LH_YAML_MAX_NODES);
    return NULL;
  }
  switch (e->type) {
  case YAML_ALIAS_EVENT:
    fail_at(r, e->start_mark, "aliases (*%.40s) and anchors are not supported: write the value out",
            (const char *)e->data.alias.anchor);
    return NULL;
  case YAML_SCALAR_EVENT:
    return scalar(r, 0);
  case YAML_MAPPING_START_EVENT:
  case YAML_SEQUENCE_START_EVENT:
    break;
  default:
    fail_at(r, e->start_mark, "unexpected YAML event");
    return NULL;
  }
  if (depth >= LH_YAML_MAX_DEPTH) {
    fail_at(r, e->start_mark, "nested more than %d deep", LH_YAML_MAX_DEPTH);
    return NULL;
  }
  if (e->type == YAML_MAPPING_START_EVENT)
    return collection_refused(r, e->data.mapping_start.anchor, e->data.mapping_start.tag,
                              TAG_MAP) == 0
               ? mapping(r, text, len, depth + 1)
               : NULL;
  return collection_refused(r, e->data.sequence_start.anchor, e->data.sequence_start.tag,
                            TAG_SEQ) == 0
             ? sequence(r, text, len, depth + 1)
             : NULL;
}

/* The stream: one document (or none: null), then its end. */
static json_t *stream(reader_t *r, const char *text, size_t len) {
  json_t *doc = NULL;

  if (next(r, text, len) != 0 || next(r, text, len) != 0)
    return NULL; /* the stream's start, then a document or the end */
  if (r->event.type == YAML_STREAM_END_EVENT)
    return json_null();
  if (next(r, text, len) != 0 || !(doc = node(r, text, len, 0)))
    return NULL;
  if (next(r, text, len) == 0 && next(r, text, len) == 0 && r->event.type != YAML_STREAM_END_EVENT)
    fail_at(r, r->event.start_mark, "a second document (---): the rules file holds one document");
  if (!r->err[0])
    return doc;
  json_decref(doc);
  return NULL;
}

int lh_yaml_parse(json_t **out, const char *text, size_t len, const char *name, char *err,
                  size_t size) {
  reader_t r = {.name = name, .err = err, .size = size};

  *out = NULL;
  err[0] = '\0';
  if (len > LH_YAML_MAX_BYTES) {
    snprintf(err, size, "%s: longer than %d bytes", name, LH_YAML_MAX_BYTES);
    return -1;
  }
  if (!yaml_parser_initialize(&r.parser)) {
    snprintf(err, size, "%s: out of memory", name);
    return -1;
  }
  yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
  *out = stream(&r, text, len);
  if (r.has_event)
    yaml_event_delete(&r.event);
  yaml_parser_delete(&r.parser);
  if (*out)
    return 0;
  if (!err[0])
    snprintf(err, size, "%s: out of memory", name);
  return -1;
}

int lh_yaml_load(json_t **out, const char *path, char *err, size_t size) {
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  size_t len = 0;
  int rc = -1;

  *out = NULL;
  if (!f) {
    snprintf(err, size, "%s: cannot be read: %s", path, strerror(errno));
    return -1;
  }
  text = malloc(LH_YAML_MAX_BYTES + 1);
  if (!text) {
    snprintf(err, size, "%s: out of memory", path);
  } else {
    len = fread(text, 1, LH_YAML_MAX_BYTES + 1, f);
    if (ferror(f))
      snprintf(err, size, "%s: cannot be read: %s", path, strerror(errno));
    else
      rc = lh_yaml_parse(out, text, len, path, err, size);
  }
  free(text);
  fclose(f);
  return rc;
}
