/* The context document (FUNC_CONTEXT v1beta1 or v1beta2 shape) → the
 * normalized document. Every check names the JSON path of what it rejects and
 * keeps the Go framework's wording where that has one. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config_impl.h"
#include "error_msg.h"
#include "json_util.h"
#include "mem.h"
#include "route.h"
#include "text.h"

typedef struct {
  const char *source;
  const ofctx__env_t *env;
  /* FUNC_CONTEXT's document while FUNC_CONTEXT_V1BETA2 is parsed, for what
   * v1beta2 leaves out (output topics); NULL otherwise. */
  const json_t *fallback;
  ofctx_error_t *err;
  json_t *warnings; /* unknown keys: an array of messages */
  /* The OTLP exporter's headers, decoded, as "Name: value" lines each
   * ending with '\n' (owned); never in the document. NULL: none. */
  char *exporter_headers;
} parser_t;

typedef enum { ROLE_INPUT, ROLE_OUTPUT, ROLE_STATE } role_t;

/* The member names one shape of component entry uses. */
typedef struct {
  const char *name;      /* the Dapr component's name */
  const char *type;      /* bindings.* / pubsub.* / state.* */
  const char *topic;     /* where a pub/sub entry keeps its topic */
  const char *alt_topic; /* read when `topic` is absent, as ff-java does */
} fields_t;

static const fields_t V1BETA1_FIELDS = {"componentName", "componentType", "uri", "topic"};
static const fields_t V1BETA2_FIELDS = {"componentName", "componentType", "topic", "uri"};
static const fields_t TRIGGER_FIELDS = {"name", "type", "topic", NULL};

/* The members of each kind of object, for check_keys. */
static const char *const ROOT_KEYS[] = {
    "name",        "version",        "requestID", "runtime",   "port",     "httpPattern",
    "input",       "inputs",         "outputs",   "states",    "triggers", "prePlugins",
    "postPlugins", "pluginsTracing", "preHooks",  "postHooks", "tracing",  NULL};
static const char *const ENTRY_KEYS[] = {"componentName", "componentType", "uri",  "topic",
                                         "operation",     "metadata",      "name", "type",
                                         "inputName",     "component",     NULL};
static const char *const TRACING_KEYS[] = {"enabled", "enable",  "provider",
                                           "tags",    "baggage", NULL};
static const char *const PROVIDER_KEYS[] = {"name", "oapServer", "exporter", NULL};
static const char *const EXPORTER_KEYS[] = {"name",    "endpoint", "headers", "compression",
                                            "timeout", "protocol", NULL};
static const char *const TRIGGERS_KEYS[] = {"http", "dapr", "inputs", NULL};
static const char *const HTTP_TRIGGER_KEYS[] = {"port", "route", "engine", NULL};
/* Members the frameworks serialize besides the context (ff-go's runtime
 * fields, the spec's clientPort): known, and ignored without a warning. */
static const char *const ROOT_IGNORED[] = {"out",   "error", "event", "syncRequest", "ctx",
                                           "state", "mode",  "pod",   "clientPort",  NULL};

/* Edit distance between `a` and `b` without regard to case, for keys of
 * up to 63 bytes (longer ones are never near). */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[64];

  if (la > 63 || lb > 63)
    return 64;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j],
             cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      size_t best = diag + cost;
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static int listed(const char *name, const char *const *keys) {
  for (; keys && *keys; keys++)
    if (strcasecmp(name, *keys) == 0)
      return 1;
  return 0;
}

/* A key of `obj` that is none of `keys`: most often a typo, which a
 * warning names, with the nearest known key when one is close. */
static void warn_unknown(parser_t *p, const json_t *obj, const char *path, const char *const *keys,
                         const char *const *ignored) {
  const char *name;
  json_t *value;

  json_object_foreach((json_t *)obj, name, value) {
    char quoted[OFCTX_QUOTE_SIZE], text[OFCTX_PATH_SIZE + 2 * OFCTX_QUOTE_SIZE + 64];
    const char *nearest = NULL;
    size_t best = 3; /* nearer than this only */
    if (listed(name, keys) || listed(name, ignored))
      continue;
    for (const char *const *k = keys; *k; k++) {
      size_t d = distance(name, *k);
      /* between keys as near, one as long as the name (a letter mistyped,
       * not one missing or extra): "outputz" means "outputs", not "output" */
      if (d < best ||
          (d == best && nearest && strlen(*k) == strlen(name) && strlen(nearest) != strlen(name))) {
        best = d;
        nearest = *k;
      }
    }
    ofctx__quote(quoted, sizeof quoted, name);
    snprintf(text, sizeof text, "%s: unknown key %s, ignored%s%s%s", path, quoted,
             nearest ? "; did you mean \"" : "", nearest ? nearest : "", nearest ? "\"?" : "");
    if (p->warnings)
      json_array_append_new(p->warnings, json_string(text));
  }
}

#define NAME_CHARS "letters, digits, \".\", \"-\" and \"_\""

typedef struct {
  char s[OFCTX_PATH_SIZE];
} path_t;

/* `parent.key` in `buf`, returned for use in an argument list. */
static const char *at(path_t *buf, const char *parent, const char *key) {
  ofctx__json_path(buf->s, sizeof buf->s, parent, key);
  return buf->s;
}

static ofctx_err_t bad(parser_t *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ofctx_err_t bad(parser_t *p, const char *path, const char *fmt, ...) {
  char why[OFCTX_ERROR_MESSAGE_SIZE];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return ofctx__error(p->err, OFCTX_ECONTEXT, "%s: %s: %s", p->source, path, why);
}

static ofctx_err_t nomem(parser_t *p) {
  return ofctx__error(p->err, OFCTX_ENOMEM, "%s: out of memory", p->source);
}

static ofctx_err_t type_error(parser_t *p, const char *path, const char *expected,
                              const json_t *got) {
  return bad(p, path, "expected %s, got %s", expected, ofctx__json_kind(got));
}

/* json_object_set_new that reports failure (out of memory) as nonzero. */
static int put(json_t *obj, const char *key, json_t *value) {
  return value == NULL || json_object_set_new(obj, key, value) != 0;
}

static int absent(const json_t *v) { return v == NULL || json_is_null(v); }

/* Keys are matched without regard to case (as Go's encoding/json does), so
 * two spellings of one key in one object would be ambiguous: refuse them. */
static ofctx_err_t check_keys(parser_t *p, const json_t *obj, const char *path,
                              const char *const *keys) {
  const char *name;
  json_t *value;

  warn_unknown(p, obj, path, keys, keys == ROOT_KEYS ? ROOT_IGNORED : NULL);
  for (; *keys; keys++) {
    const char *first = NULL;
    json_object_foreach((json_t *)obj, name, value) {
      if (strcasecmp(name, *keys) != 0)
        continue;
      if (first) {
        char a[OFCTX_QUOTE_SIZE], b[OFCTX_QUOTE_SIZE];
        ofctx__quote(a, sizeof a, first);
        ofctx__quote(b, sizeof b, name);
        return bad(p, path,
                   "%s and %s are the same key (keys are matched without regard "
                   "to case); keep one",
                   a, b);
      }
      first = name;
    }
  }
  return OFCTX_OK;
}

/* An object member that must be an object (or absent); checks its keys. */
static ofctx_err_t opt_object(parser_t *p, const json_t *v, const char *path,
                              const char *const *keys) {
  if (absent(v))
    return OFCTX_OK;
  if (!json_is_object(v))
    return type_error(p, path, "an object", v);
  return check_keys(p, v, path, keys);
}

/* The member `key` of `obj` as a string; absent, null and "" leave *out NULL. */
static ofctx_err_t opt_string(parser_t *p, const json_t *obj, const char *parent, const char *key,
                              const char **out) {
  json_t *v = ofctx__json_member(obj, key);
  path_t pb;

  *out = NULL;
  if (absent(v))
    return OFCTX_OK;
  if (!json_is_string(v))
    return type_error(p, at(&pb, parent, key), "a string", v);
  if (*json_string_value(v))
    *out = json_string_value(v);
  return OFCTX_OK;
}

/* Like opt_string, but a missing value is an error saying `what`. */
static ofctx_err_t req_string(parser_t *p, const json_t *obj, const char *parent, const char *key,
                              const char *what, const char **out) {
  path_t pb;
  ofctx_err_t rc = opt_string(p, obj, parent, key, out);

  if (rc == OFCTX_OK && !*out) {
    const json_t *v = ofctx__json_member(obj, key);
    return bad(p, at(&pb, parent, key), "%s; %s", json_is_string(v) ? "is empty" : "missing", what);
  }
  return rc;
}

/* Text for names, logs and headers: UTF-8 without control characters. */
static ofctx_err_t check_text(parser_t *p, const char *path, const char *value, const char *noun) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!value || ofctx__text_ok(value))
    return OFCTX_OK;
  ofctx__quote(quoted, sizeof quoted, value);
  return bad(p, path, "%s contains a control character, which cannot be in %s", quoted, noun);
}

static ofctx_err_t parse_port(parser_t *p, const json_t *v, const char *path, long *out) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (absent(v) || (json_is_string(v) && !*json_string_value(v)))
    return OFCTX_OK; /* "" is the default too, as in the Go framework */
  if (json_is_string(v)) {
    if (ofctx__port_parse(json_string_value(v), out) == 0)
      return OFCTX_OK;
    ofctx__quote(quoted, sizeof quoted, json_string_value(v));
    return bad(p, path, "error parsing port: %s is not a port number (1-65535)", quoted);
  }
  if (json_is_integer(v)) {
    json_int_t n = json_integer_value(v);
    if (n >= 1 && n <= 65535) {
      *out = (long)n;
      return OFCTX_OK;
    }
    return bad(p, path,
               "error parsing port: %" JSON_INTEGER_FORMAT " is not a port number (1-65535)", n);
  }
  if (json_is_real(v)) {
    char text[64]; /* a JSON real is far shorter */
    size_t n = json_dumpb(v, text, sizeof text - 1, JSON_ENCODE_ANY);
    text[n < sizeof text ? n : sizeof text - 1] = '\0';
    return bad(p, path, "error parsing port: %s is not an integer", text);
  }
  return bad(p, path, "error parsing port: expected a string or a number, got %s",
             ofctx__json_kind(v));
}

/* A copy of an object whose values must all be strings; absent/null → {}. */
static ofctx_err_t string_map(parser_t *p, const json_t *v, const char *path, json_t **out) {
  const char *key;
  json_t *value;
  path_t pb;

  *out = json_object();
  if (!*out)
    return nomem(p);
  if (absent(v))
    return OFCTX_OK;
  if (!json_is_object(v))
    return type_error(p, path, "an object of strings", v);
  json_object_foreach((json_t *)v, key, value) {
    if (!json_is_string(value))
      return type_error(p, at(&pb, path, key), "a string", value);
    if (json_object_set(*out, key, value))
      return nomem(p);
  }
  return OFCTX_OK;
}

/* A copy of an array of plugin names. */
static ofctx_err_t string_list(parser_t *p, const json_t *v, const char *path, json_t **out) {
  size_t i;
  json_t *item;
  char sub[OFCTX_PATH_SIZE];
  ofctx_err_t rc;

  *out = json_array();
  if (!*out)
    return nomem(p);
  if (absent(v))
    return OFCTX_OK;
  if (!json_is_array(v))
    return type_error(p, path, "an array of strings", v);
  json_array_foreach(v, i, item) {
    ofctx__json_index(sub, sizeof sub, path, i);
    if (!json_is_string(item))
      return type_error(p, sub, "a string", item);
    if (!*json_string_value(item))
      return bad(p, sub, "is empty; a plugin needs a name");
    if ((rc = check_text(p, sub, json_string_value(item), "a plugin name")) != OFCTX_OK)
      return rc;
    if (json_array_append(*out, item))
      return nomem(p);
  }
  return OFCTX_OK;
}

static int list_has(const json_t *list, const char *s) {
  size_t i;
  json_t *item;

  json_array_foreach(list, i, item) {
    if (strcmp(json_string_value(item), s) == 0)
      return 1;
  }
  return 0;
}

/* componentType: "<block>.<kind>" where the block fits the entry's role. The
 * Go framework's messages ("invalid component type", "unknown component
 * type: x") are kept in parentheses. */
static ofctx_err_t check_type(parser_t *p, const char *path, const char *type, role_t role) {
  char quoted[OFCTX_QUOTE_SIZE];
  const char *dot = strchr(type, '.');
  const char *expected = role == ROLE_STATE ? "state.*" : "bindings.* or pubsub.*";
  int block_ok;

  ofctx__quote(quoted, sizeof quoted, type);
  if (!dot)
    return bad(p, path, "%s is not %s (invalid component type)", quoted, expected);
  if (role == ROLE_STATE)
    block_ok = strncmp(type, "state.", 6) == 0;
  else
    block_ok = strncmp(type, "bindings.", 9) == 0 || strncmp(type, "pubsub.", 7) == 0;
  if (!block_ok) {
    char block[OFCTX_QUOTE_SIZE];
    ofctx__quote(block, sizeof block, type);
    /* the block alone: cut the quoted copy at the dot */
    block[strcspn(block, ".")] = '\0';
    return bad(p, path, "%s is not %s (unknown component type: %s)", quoted, expected, block + 1);
  }
  if (!dot[1])
    return bad(p, path, "%s names no component kind after the \".\"", quoted);
  if (!ofctx__name_chars_ok(dot + 1))
    return bad(p, path, "%s is not a component type: only %s may follow \"%.*s.\"", quoted,
               NAME_CHARS, (int)(dot - type), type);
  return OFCTX_OK;
}

/* Context spec v0.2.0 (OpenFunction 0.4/0.5) spelled componentName and
 * componentType "component" and "type": say so rather than only "missing". */
static ofctx_err_t entry_string(parser_t *p, const json_t *entry, const char *path,
                                const fields_t *f, const char *key, const char *what,
                                const char **out) {
  path_t pb;

  if (f == &V1BETA1_FIELDS && absent(ofctx__json_member(entry, key)) &&
      (ofctx__json_member(entry, "component") || ofctx__json_member(entry, "type")))
    return bad(p, at(&pb, path, key),
               "missing; the keys \"component\" and \"type\" of context spec v0.2.0 "
               "are not read, use \"componentName\" and \"componentType\"");
  return req_string(p, entry, path, key, what, out);
}

/* A pub/sub entry's topic: its shape's key, else the other shape's, else
 * (outputs of FUNC_CONTEXT_V1BETA2 only) the same output's uri in
 * FUNC_CONTEXT, since the controller leaves v1beta2 output topics out. */
static ofctx_err_t entry_topic(parser_t *p, const char *name, const json_t *entry, const char *path,
                               role_t role, const fields_t *f, const char **topic) {
  path_t pb;
  ofctx_err_t rc;

  if ((rc = opt_string(p, entry, path, f->topic, topic)) != OFCTX_OK ||
      (!*topic && f->alt_topic &&
       (rc = opt_string(p, entry, path, f->alt_topic, topic)) != OFCTX_OK))
    return rc;
  if (!*topic && role == ROLE_OUTPUT && p->fallback) {
    const json_t *twin = ofctx__json_member(ofctx__json_member(p->fallback, "outputs"), name);
    *topic = json_string_value(ofctx__json_member(twin, "uri"));
    if (*topic && !**topic)
      *topic = NULL;
  }
  /* Without a topic no message can be delivered or sent. */
  if (!*topic)
    return bad(p, at(&pb, path, f->topic), "missing; a pubsub %s needs its topic in \"%s\"%s",
               role == ROLE_INPUT ? "input" : "output", f->topic,
               role == ROLE_OUTPUT && p->fallback
                   ? " (or as the uri of the same output in FUNC_CONTEXT)"
                   : "");
  if ((rc = check_text(p, at(&pb, path, f->topic), *topic, "a topic")) != OFCTX_OK)
    return rc;
  /* An output topic goes into the sidecar's publish URL. (Input topics may
   * hold broker wildcards such as MQTT's "#": they never go into a URL.) */
  if (*topic && role == ROLE_OUTPUT && !ofctx__topic_ok(*topic)) {
    char quoted[OFCTX_QUOTE_SIZE];
    ofctx__quote(quoted, sizeof quoted, *topic);
    if (strpbrk(*topic, "?#"))
      return bad(p, pb.s, "%s contains \"%c\", which cannot be in an output topic", quoted,
                 *strpbrk(*topic, "?#"));
    return bad(p, pb.s,
               "%s is not an output topic: its '/'-separated parts must not be empty, "
               "\".\" or \"..\"",
               quoted);
  }
  return OFCTX_OK;
}

/* One input, output or state entry → its normalized object in `dst`. */
static ofctx_err_t parse_component(parser_t *p, const char *name, const json_t *entry,
                                   const char *path, role_t role, const fields_t *f, json_t *dst) {
  const char *component_name, *type, *uri, *operation = NULL;
  json_t *metadata = NULL;
  json_t *out;
  path_t pb;
  ofctx_err_t rc;

  if (!json_is_object(entry))
    return type_error(p, path, "an object", entry);
  if ((rc = check_keys(p, entry, path, ENTRY_KEYS)) != OFCTX_OK ||
      (rc = entry_string(p, entry, path, f, f->name, "the Dapr component's name is required",
                         &component_name)) != OFCTX_OK)
    return rc;
  /* The name goes into the sidecar's URLs. */
  if (!ofctx__component_name_ok(component_name)) {
    char quoted[OFCTX_QUOTE_SIZE];
    ofctx__quote(quoted, sizeof quoted, component_name);
    return bad(p, at(&pb, path, f->name), "%s is not a Dapr component name%s%s%s", quoted,
               ofctx__name_chars_ok(component_name) ? "" : " (",
               ofctx__name_chars_ok(component_name) ? "" : NAME_CHARS,
               ofctx__name_chars_ok(component_name) ? "" : " only)");
  }
  if ((rc = entry_string(p, entry, path, f, f->type,
                         role == ROLE_STATE
                             ? "a state store needs its type (state.*)"
                             : "a component type (bindings.* or pubsub.*) is required",
                         &type)) != OFCTX_OK ||
      (rc = check_type(p, at(&pb, path, f->type), type, role)) != OFCTX_OK)
    return rc;

  if (role == ROLE_STATE) {
    out = json_pack("{s:s,s:s}", "componentName", component_name, "componentType", type);
    return put(dst, name, out) ? nomem(p) : OFCTX_OK;
  }
  /* Dapr delivers a binding to /<componentName> and sends to
   * /v1.0/bindings/<componentName>, so a binding's uri is its component's
   * name whatever the context says (the controller writes the short name
   * there); the Go framework does the same. */
  if (strncmp(type, "pubsub.", 7) == 0) {
    if ((rc = entry_topic(p, name, entry, path, role, f, &uri)) != OFCTX_OK)
      return rc;
  } else {
    uri = component_name;
  }
  if (role == ROLE_OUTPUT &&
      ((rc = opt_string(p, entry, path, "operation", &operation)) != OFCTX_OK ||
       (rc = check_text(p, at(&pb, path, "operation"), operation, "an operation")) != OFCTX_OK))
    return rc;
  if ((rc = string_map(p, ofctx__json_member(entry, "metadata"), at(&pb, path, "metadata"),
                       &metadata)) != OFCTX_OK) {
    json_decref(metadata);
    return rc;
  }
  out = json_pack("{s:s,s:s,s:o,s:o,s:o}", "componentName", component_name, "componentType", type,
                  "uri", ofctx__json_string_or_null(uri), "metadata", metadata, "operation",
                  ofctx__json_string_or_null(operation));
  return put(dst, name, out) ? nomem(p) : OFCTX_OK;
}

static const char *role_noun(role_t role) {
  return role == ROLE_INPUT ? "input" : role == ROLE_OUTPUT ? "output" : "state store";
}

/* A map of entries (inputs, outputs, states) into `dst`. */
static ofctx_err_t parse_components(parser_t *p, const json_t *map, const char *path, role_t role,
                                    const fields_t *f, json_t *dst) {
  const char *key;
  json_t *entry;
  path_t pb;
  ofctx_err_t rc;

  if (absent(map))
    return OFCTX_OK;
  if (!json_is_object(map)) {
    char expected[64];
    snprintf(expected, sizeof expected, "an object of %ss", role_noun(role));
    return type_error(p, path, expected, map);
  }
  json_object_foreach((json_t *)map, key, entry) {
    at(&pb, path, key);
    if (!*key)
      return bad(p, pb.s, "an %s needs a non-empty name", role_noun(role));
    if (!ofctx__text_ok(key))
      return bad(p, pb.s, "an %s name cannot contain control characters", role_noun(role));
    if ((rc = parse_component(p, key, entry, pb.s, role, f, dst)) != OFCTX_OK)
      return rc;
  }
  return OFCTX_OK;
}

/* The member `key` of `obj`, else `alt` (the other shape's name for it);
 * `*used` is the key that was found (or `key`). */
static const json_t *member_or_alt(const json_t *obj, const char *key, const char *alt,
                                   const char **used) {
  const json_t *v = ofctx__json_member(obj, key);

  *used = key;
  if (absent(v) && !absent(ofctx__json_member(obj, alt))) {
    *used = alt;
    v = ofctx__json_member(obj, alt);
  }
  return v;
}

/* Removes every member named "headers" in any case: whether there was one. */
static int drop_headers(json_t *exporter) {
  int dropped = 0;
  const char *key;
  json_t *value;
  void *tmp;

  json_object_foreach_safe(exporter, tmp, key, value) {
    if (strcasecmp(key, "headers") == 0) {
      json_object_del(exporter, key);
      dropped = 1;
    }
  }
  return dropped;
}

/* An HTTP token (RFC 9110's tchar): a header's name. */
static int token_ok(const char *s, size_t len) {
  if (!len)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
      return 0;
  return 1;
}

/* OTEL_EXPORTER_OTLP_HEADERS's form, "key=value,key=value" (values
 * percent-decoded, spaces around either trimmed) → "key: value\n" lines in
 * p->exporter_headers. The text is a secret: a message names the entry by
 * its position, never its content. */
static ofctx_err_t parse_exporter_headers(parser_t *p, const char *text, const char *path) {
  ofctx__buf_t lines = {0};
  size_t n = 0;

  ofctx__buf_puts(&lines, p->exporter_headers ? p->exporter_headers : "");
  for (const char *s = text; *s;) {
    const char *end = strchr(s, ','), *eq;
    size_t len = end ? (size_t)(end - s) : strlen(s), klen, vstart, vlen;
    n++;
    while (len && (*s == ' ' || *s == '\t'))
      s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
      len--;
    eq = memchr(s, '=', len);
    if (len) { /* an empty entry (",,", a trailing ",") is skipped */
      klen = eq ? (size_t)(eq - s) : 0;
      while (klen && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
        klen--;
      if (!eq || !token_ok(s, klen)) {
        ofctx__buf_free(&lines);
        return bad(p, path,
                   "entry %zu is not key=value with an HTTP token as its key (the text is not "
                   "shown: headers are secrets)",
                   n);
      }
      vstart = (size_t)(eq - s) + 1;
      while (vstart < len && (s[vstart] == ' ' || s[vstart] == '\t'))
        vstart++;
      vlen = len - vstart;
      ofctx__buf_append(&lines, s, klen);
      ofctx__buf_puts(&lines, ": ");
      {
        size_t mark = lines.len;
        if (ofctx__buf_decoded(&lines, s + vstart, vlen, 0) != 0 && !lines.failed) {
          ofctx__buf_free(&lines);
          return bad(p, path, "entry %zu has a bad %%-escape (the text is not shown)", n);
        }
        for (size_t i = mark; !lines.failed && i < lines.len; i++)
          if ((unsigned char)lines.data[i] < 0x20 || lines.data[i] == 0x7f) {
            ofctx__buf_free(&lines);
            return bad(p, path,
                       "entry %zu has a control character in its value (the text is not shown)", n);
          }
      }
      ofctx__buf_puts(&lines, "\n");
    }
    if (!end)
      break;
    s = end + 1;
  }
  if (lines.failed) {
    ofctx__buf_free(&lines);
    return nomem(p);
  }
  ofctx__free(p->exporter_headers);
  p->exporter_headers = lines.len ? lines.data : NULL;
  if (!lines.len)
    ofctx__buf_free(&lines);
  return OFCTX_OK;
}

/* Every member named "headers" in any case (keys are matched
 * case-insensitively, so "Headers" is the same secret): all are taken. */
static ofctx_err_t exporter_headers(parser_t *p, const json_t *exporter, const char *path) {
  const char *key;
  json_t *value;
  path_t pb;
  ofctx_err_t rc;

  json_object_foreach((json_t *)exporter, key, value) {
    if (strcasecmp(key, "headers") == 0 &&
        (rc = parse_exporter_headers(p, json_string_value(value), at(&pb, path, key))) != OFCTX_OK)
      return rc;
  }
  return OFCTX_OK;
}

/* The OTLP endpoint: an http:// or https:// URL with a host, no user
 * information (it would be logged), no query or fragment. */
static ofctx_err_t check_endpoint(parser_t *p, const char *url, const char *path) {
  const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                     : strncmp(url, "https://", 8) == 0 ? url + 8
                                                        : NULL;
  size_t host_len = rest ? strcspn(rest, "/") : 0;
  char quoted[OFCTX_QUOTE_SIZE];

  ofctx__quote(quoted, sizeof quoted, url);
  if (!rest || !host_len || rest[0] == ':')
    return bad(p, path, "the OTLP endpoint must be an http:// or https:// URL with a host, got %s",
               quoted);
  if (memchr(rest, '@', host_len))
    return bad(p, path, "the OTLP endpoint must not carry credentials (use headers)");
  if (strpbrk(url, "?# \t") || !ofctx__text_ok(url))
    return bad(p, path, "the OTLP endpoint cannot have a query, a fragment or spaces, got %s",
               quoted);
  return OFCTX_OK;
}

/* The exporter's timeout: milliseconds, as OTEL_EXPORTER_OTLP_TIMEOUT has
 * it, or with a unit "ms" or "s"; 1 ms to 10 minutes. → `*ms`. */
static int parse_timeout(const char *text, unsigned long *ms) {
  char *end;
  unsigned long v;

  if (!isdigit((unsigned char)text[0]))
    return 0;
  v = strtoul(text, &end, 10);
  if (strcmp(end, "s") == 0 && v <= 600)
    v *= 1000;
  else if (*end && strcmp(end, "ms") != 0)
    return 0;
  if (v < 1 || v > 600000)
    return 0;
  *ms = v;
  return 1;
}

/* An opentelemetry exporter (the strings of `exporter`, its headers still
 * there): what libofctx does not do is refused, naming the key; defaults
 * are filled in; the headers are taken into p->exporter_headers. */
static ofctx_err_t check_otlp_exporter(parser_t *p, json_t *exporter, const char *path) {
  const char *name = json_string_value(json_object_get(exporter, "name"));
  const char *endpoint = json_string_value(json_object_get(exporter, "endpoint"));
  const char *compression = json_string_value(json_object_get(exporter, "compression"));
  const char *timeout = json_string_value(json_object_get(exporter, "timeout"));
  const char *protocol = json_string_value(json_object_get(exporter, "protocol"));
  char quoted[OFCTX_QUOTE_SIZE], ms_text[24];
  unsigned long ms = 10000;
  path_t pb;
  ofctx_err_t rc;

  warn_unknown(p, exporter, path, EXPORTER_KEYS, NULL);
  /* A cluster-wide default may name an exporter or protocol libofctx does
   * not have: the trace context is still propagated, and the function says
   * once that it exports nothing. */
  if ((name && *name && strcmp(name, "otlp") != 0) ||
      (protocol && *protocol && strcmp(protocol, "http/protobuf") != 0)) {
    int by_name = name && *name && strcmp(name, "otlp") != 0;
    char text[OFCTX_PATH_SIZE + OFCTX_QUOTE_SIZE + 200];
    ofctx__quote(quoted, sizeof quoted, by_name ? name : protocol);
    snprintf(text, sizeof text,
             "%s: %s %s is not supported: spans are not exported (the trace context is still "
             "propagated); libofctx exports with name \"otlp\", protocol \"http/protobuf\"",
             at(&pb, path, by_name ? "name" : "protocol"), by_name ? "exporter" : "OTLP protocol",
             quoted);
    if (p->warnings && json_array_append_new(p->warnings, json_string(text)))
      return nomem(p);
    return put(exporter, "exported", json_false()) ? nomem(p) : OFCTX_OK;
  }
  if (compression && *compression && strcmp(compression, "gzip") != 0 &&
      strcmp(compression, "none") != 0) {
    ofctx__quote(quoted, sizeof quoted, compression);
    return bad(p, at(&pb, path, "compression"),
               "compression %s is not supported: \"gzip\" or \"none\"", quoted);
  }
  if (timeout && *timeout && !parse_timeout(timeout, &ms)) {
    ofctx__quote(quoted, sizeof quoted, timeout);
    return bad(p, at(&pb, path, "timeout"),
               "expected milliseconds (\"10000\", \"500ms\") or seconds (\"10s\"), 1 ms to 10 "
               "minutes, got %s",
               quoted);
  }
  if (!endpoint || !*endpoint)
    endpoint = "http://localhost:4318";
  if ((rc = check_endpoint(p, endpoint, at(&pb, path, "endpoint"))) != OFCTX_OK)
    return rc;
  if ((rc = exporter_headers(p, exporter, path)) != OFCTX_OK)
    return rc;
  snprintf(ms_text, sizeof ms_text, "%lu", ms);
  if (put(exporter, "name", json_string("otlp")) ||
      put(exporter, "endpoint", json_string(endpoint)) ||
      put(exporter, "protocol", json_string("http/protobuf")) ||
      put(exporter, "compression",
          json_string(compression && strcmp(compression, "gzip") == 0 ? "gzip" : "none")) ||
      put(exporter, "timeout", json_string(ms_text)) || put(exporter, "exported", json_true()))
    return nomem(p);
  return OFCTX_OK;
}

/* The provider part of an enabled tracing object → `*out` (new reference).
 * The exporter's headers often carry credentials: they are not kept, only
 * whether there were some. */
static ofctx_err_t parse_provider(parser_t *p, const json_t *provider, const char *path,
                                  const char **name, json_t **out) {
  const char *oap_server;
  const json_t *exporter_in = ofctx__json_member(provider, "exporter");
  json_t *exporter = NULL;
  char quoted[OFCTX_QUOTE_SIZE];
  path_t pb;
  ofctx_err_t rc;

  *out = NULL;
  if ((rc = opt_object(p, provider, path, PROVIDER_KEYS)) != OFCTX_OK ||
      (rc = opt_string(p, provider, path, "name", name)) != OFCTX_OK ||
      (rc = opt_string(p, provider, path, "oapServer", &oap_server)) != OFCTX_OK)
    return rc;
  if (!*name)
    return bad(p, at(&pb, path, "name"),
               "the tracing plugin is enabled, but its configuration is incorrect: "
               "a provider name (\"skywalking\" or \"opentelemetry\") is required");
  if (strcmp(*name, "skywalking") != 0 && strcmp(*name, "opentelemetry") != 0) {
    ofctx__quote(quoted, sizeof quoted, *name);
    return bad(p, at(&pb, path, "name"),
               "invalid tracing provider name: %s (expected \"skywalking\" or "
               "\"opentelemetry\")",
               quoted);
  }
  if (!absent(exporter_in)) {
    if ((rc = string_map(p, exporter_in, at(&pb, path, "exporter"), &exporter)) != OFCTX_OK ||
        (strcmp(*name, "opentelemetry") == 0 &&
         (rc = check_otlp_exporter(p, exporter, at(&pb, path, "exporter"))) != OFCTX_OK)) {
      json_decref(exporter);
      return rc;
    }
    if (put(exporter, "headersSet", json_boolean(drop_headers(exporter)))) {
      json_decref(exporter);
      return nomem(p);
    }
  }
  *out =
      json_pack("{s:s,s:o,s:o}", "name", *name, "oapServer", ofctx__json_string_or_null(oap_server),
                "exporter", exporter ? exporter : json_null());
  return *out ? OFCTX_OK : nomem(p);
}

/* pluginsTracing (v1beta1) or tracing (v1beta2) → doc.tracing, adding the
 * provider to the plugin lists the way the Go framework does. */
static ofctx_err_t parse_tracing(parser_t *p, const json_t *t, const char *path, json_t *doc) {
  json_t *pre = json_object_get(doc, "prePlugins");
  json_t *post = json_object_get(doc, "postPlugins");
  const char *fn_name = json_string_value(json_object_get(doc, "name"));
  const json_t *tags_in, *flag;
  const char *provider_name, *flag_key;
  json_t *provider = NULL, *tags = NULL, *baggage = NULL, *out;
  path_t pb;
  int enabled = 0;
  ofctx_err_t rc;

  if ((rc = opt_object(p, t, path, TRACING_KEYS)) != OFCTX_OK)
    return rc;
  /* "enable" is how context spec v0.3.0 spelled the flag. */
  flag = member_or_alt(t, "enabled", "enable", &flag_key);
  if (!absent(flag) && !json_is_boolean(flag))
    return type_error(p, at(&pb, path, flag_key), "a boolean", flag);
  enabled = json_is_true(flag);
  if (!enabled) {
    out = json_pack("{s:b,s:n,s:{},s:{}}", "enabled", 0, "provider", "tags", "baggage");
    return put(doc, "tracing", out) ? nomem(p) : OFCTX_OK;
  }
  if ((rc = parse_provider(p, ofctx__json_member(t, "provider"), at(&pb, path, "provider"),
                           &provider_name, &provider)) != OFCTX_OK)
    return rc;
  tags_in = ofctx__json_member(t, "tags");
  if ((rc = string_map(p, tags_in, at(&pb, path, "tags"), &tags)) != OFCTX_OK ||
      (rc = string_map(p, ofctx__json_member(t, "baggage"), at(&pb, path, "baggage"), &baggage)) !=
          OFCTX_OK)
    goto done;
  /* As the Go framework: tags, when given, always carry the function and pod. */
  if (!absent(tags_in) &&
      (put(tags, "func", json_string(fn_name)) ||
       put(tags, "instance", json_string(p->env->pod_name ? p->env->pod_name : "")) ||
       put(tags, "namespace", json_string(p->env->pod_namespace ? p->env->pod_namespace : "")))) {
    rc = nomem(p);
    goto done;
  }
  if ((!list_has(pre, provider_name) && json_array_append_new(pre, json_string(provider_name))) ||
      (!list_has(post, provider_name) &&
       json_array_insert_new(post, 0, json_string(provider_name)))) {
    rc = nomem(p);
    goto done;
  }
  out = json_pack("{s:b,s:O,s:O,s:O}", "enabled", 1, "provider", provider, "tags", tags, "baggage",
                  baggage);
  rc = put(doc, "tracing", out) ? nomem(p) : OFCTX_OK;
done:
  json_decref(provider);
  json_decref(tags);
  json_decref(baggage);
  return rc;
}

/* runtime: "Knative" or "Async" in any case; "OpenFuncAsync" is the name
 * OpenFunction 0.3-0.5 used for Async. */
static ofctx_err_t parse_runtime(parser_t *p, const json_t *v, const char **out) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (absent(v))
    return bad(p, "$.runtime", "invalid runtime: missing; set \"Knative\" or \"Async\"");
  if (!json_is_string(v))
    return bad(p, "$.runtime", "invalid runtime: expected a string, got %s", ofctx__json_kind(v));
  if (strcasecmp(json_string_value(v), "Knative") == 0) {
    *out = "Knative";
    return OFCTX_OK;
  }
  if (strcasecmp(json_string_value(v), "Async") == 0 ||
      strcasecmp(json_string_value(v), "OpenFuncAsync") == 0) {
    *out = "Async";
    return OFCTX_OK;
  }
  ofctx__quote(quoted, sizeof quoted, json_string_value(v));
  return bad(p, "$.runtime", "invalid runtime: %s (expected \"Knative\" or \"Async\")", quoted);
}

/* What both shapes share, written into `doc` in the order of the output:
 * name, version, requestID, runtime and port (placeholders), httpPattern,
 * placeholders for the environment's part, then the component maps. */
static ofctx_err_t parse_head(parser_t *p, const json_t *root, json_t *doc) {
  const char *name, *version, *request_id, *pattern;
  ofctx_err_t rc;

  if ((rc = check_keys(p, root, "$", ROOT_KEYS)) != OFCTX_OK ||
      (rc = req_string(p, root, "$", "name", "the function needs a name", &name)) != OFCTX_OK ||
      (rc = check_text(p, "$.name", name, "a function name")) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "version", &version)) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "requestID", &request_id)) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "httpPattern", &pattern)) != OFCTX_OK)
    return rc;
  if (pattern && (pattern[0] != '/' || !ofctx__text_ok(pattern))) {
    char quoted[OFCTX_QUOTE_SIZE];
    ofctx__quote(quoted, sizeof quoted, pattern);
    return bad(p, "$.httpPattern", "%s is not a path: it must start with \"/\"%s", quoted,
               pattern[0] == '/' ? " and hold no control characters" : "");
  }
  /* The route the Knative runtime will serve, compiled once here so that a
   * pattern it could not serve is refused by every loader. */
  if (pattern) {
    ofctx__route_t *route;
    ofctx_error_t why;
    ofctx_err_t compiled = ofctx__route_compile(&route, pattern, &why);
    if (compiled != OFCTX_OK)
      return compiled == OFCTX_ENOMEM ? nomem(p) : bad(p, "$.httpPattern", "%s", why.message);
    ofctx__route_free(route);
  }
  if (put(doc, "name", json_string(name)) ||
      put(doc, "version", json_string(version ? version : "")) ||
      put(doc, "requestID", ofctx__json_string_or_null(request_id)) ||
      put(doc, "runtime", json_null()) || put(doc, "port", json_integer(8080)) ||
      put(doc, "httpPattern", json_string(pattern ? pattern : "/")) ||
      put(doc, "mode", json_null()) || put(doc, "pod", json_null()) ||
      put(doc, "dapr", json_null()) || put(doc, "appApiTokenSet", json_false()) ||
      put(doc, "inputs", json_object()) || put(doc, "outputs", json_object()) ||
      put(doc, "states", json_object()))
    return nomem(p);
  return OFCTX_OK;
}

/* The plugin lists and tracing. Each shape has its own names for them
 * (prePlugins/postPlugins/pluginsTracing, preHooks/postHooks/tracing); as in
 * ff-java, a document may use either. */
static ofctx_err_t parse_plugins(parser_t *p, const json_t *root, int v1beta2, json_t *doc) {
  static const char *const names[2][3] = {{"prePlugins", "postPlugins", "pluginsTracing"},
                                          {"preHooks", "postHooks", "tracing"}};
  const char *const *own = names[v1beta2 ? 1 : 0], *const *other = names[v1beta2 ? 0 : 1];
  const char *used;
  json_t *pre = NULL, *post = NULL;
  const json_t *v;
  path_t pb;
  ofctx_err_t rc;

  v = member_or_alt(root, own[0], other[0], &used);
  if ((rc = string_list(p, v, at(&pb, "$", used), &pre)) == OFCTX_OK) {
    v = member_or_alt(root, own[1], other[1], &used);
    rc = string_list(p, v, at(&pb, "$", used), &post);
  }
  if (rc == OFCTX_OK &&
      (put(doc, "prePlugins", json_incref(pre)) || put(doc, "postPlugins", json_incref(post))))
    rc = nomem(p);
  json_decref(pre);
  json_decref(post);
  if (rc != OFCTX_OK)
    return rc;
  v = member_or_alt(root, own[2], other[2], &used);
  return parse_tracing(p, v, at(&pb, "$", used), doc);
}

static ofctx_err_t parse_port_at(parser_t *p, const json_t *v, const char *path, json_t *doc) {
  long port = 8080;
  ofctx_err_t rc = parse_port(p, v, path, &port);

  if (rc == OFCTX_OK && put(doc, "port", json_integer(port)))
    rc = nomem(p);
  return rc;
}

static ofctx_err_t parse_v1beta1(parser_t *p, const json_t *root, json_t *doc) {
  const json_t *legacy_input = ofctx__json_member(root, "input");
  const char *runtime;
  ofctx_err_t rc;

  if ((rc = parse_head(p, root, doc)) != OFCTX_OK ||
      (rc = parse_runtime(p, ofctx__json_member(root, "runtime"), &runtime)) != OFCTX_OK)
    return rc;
  if (put(doc, "runtime", json_string(runtime)))
    return nomem(p);
  if ((rc = parse_port_at(p, ofctx__json_member(root, "port"), "$.port", doc)) != OFCTX_OK)
    return rc;
  /* Context spec v0.1.0 (OpenFunction 0.3) had one "input"; an empty one is
   * harmless, a real one would be silently lost. */
  if (json_object_size(legacy_input) > 0)
    return bad(p, "$.input",
               "the single \"input\" of context spec v0.1.0 is not read; declare it "
               "under \"inputs\" with componentName and componentType");
  if ((rc = parse_components(p, ofctx__json_member(root, "inputs"), "$.inputs", ROLE_INPUT,
                             &V1BETA1_FIELDS, json_object_get(doc, "inputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "outputs"), "$.outputs", ROLE_OUTPUT,
                             &V1BETA1_FIELDS, json_object_get(doc, "outputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "states"), "$.states", ROLE_STATE,
                             &V1BETA1_FIELDS, json_object_get(doc, "states"))) != OFCTX_OK)
    return rc;
  return parse_plugins(p, root, 0, doc);
}

/* One Dapr trigger ({name, type, topic, inputName}) → an input. */
static ofctx_err_t parse_trigger(parser_t *p, const json_t *item, const char *path,
                                 json_t *inputs) {
  const char *key;
  path_t pb;
  ofctx_err_t rc;

  if (!json_is_object(item))
    return type_error(p, path, "an object", item);
  if ((rc = check_keys(p, item, path, ENTRY_KEYS)) != OFCTX_OK ||
      (rc = opt_string(p, item, path, "inputName", &key)) != OFCTX_OK ||
      (rc = check_text(p, at(&pb, path, "inputName"), key, "an input name")) != OFCTX_OK ||
      (!key && (rc = req_string(p, item, path, "name", "the Dapr component's name is required",
                                &key)) != OFCTX_OK))
    return rc;
  if (json_object_get(inputs, key))
    return bad(p, path, "a second input named \"%s\"", key);
  return parse_component(p, key, item, path, ROLE_INPUT, &TRIGGER_FIELDS, inputs);
}

/* v1beta2 inputs declared only as triggers: triggers.dapr[] entries and
 * triggers.inputs[].dapr (other kinds of trigger input are not Dapr's). */
static ofctx_err_t parse_trigger_inputs(parser_t *p, const json_t *triggers, json_t *inputs) {
  static const char *const lists[] = {"dapr", "inputs"};
  char sub[OFCTX_PATH_SIZE];
  path_t pb;
  ofctx_err_t rc;

  for (size_t l = 0; l < 2; l++) {
    const json_t *arr = ofctx__json_member(triggers, lists[l]);
    size_t i;
    json_t *item;

    at(&pb, "$.triggers", lists[l]);
    if (absent(arr))
      continue;
    if (!json_is_array(arr))
      return type_error(p, pb.s, "an array", arr);
    json_array_foreach(arr, i, item) {
      ofctx__json_index(sub, sizeof sub, pb.s, i);
      if (l == 1) {
        path_t dapr;
        if (!json_is_object(item))
          return type_error(p, sub, "an object", item);
        item = ofctx__json_member(item, "dapr");
        if (absent(item))
          continue;
        snprintf(sub, sizeof sub, "%s", at(&dapr, sub, "dapr"));
      }
      if ((rc = parse_trigger(p, item, sub, inputs)) != OFCTX_OK)
        return rc;
    }
  }
  return OFCTX_OK;
}

static ofctx_err_t parse_v1beta2(parser_t *p, const json_t *root, json_t *doc) {
  const json_t *triggers = ofctx__json_member(root, "triggers");
  const json_t *http = ofctx__json_member(triggers, "http");
  const json_t *inputs_in = ofctx__json_member(root, "inputs");
  const json_t *runtime_in = ofctx__json_member(root, "runtime");
  json_t *inputs;
  const char *runtime;
  ofctx_err_t rc;

  if ((rc = parse_head(p, root, doc)) != OFCTX_OK ||
      (rc = check_keys(p, triggers, "$.triggers", TRIGGERS_KEYS)) != OFCTX_OK ||
      (rc = opt_object(p, http, "$.triggers.http", HTTP_TRIGGER_KEYS)) != OFCTX_OK)
    return rc;
  inputs = json_object_get(doc, "inputs");
  /* The HTTP trigger's port, else a top-level "port" as ff-python reads it. */
  if (!absent(ofctx__json_member(http, "port")))
    rc = parse_port_at(p, ofctx__json_member(http, "port"), "$.triggers.http.port", doc);
  else
    rc = parse_port_at(p, ofctx__json_member(root, "port"), "$.port", doc);
  if (rc != OFCTX_OK)
    return rc;
  if (!absent(inputs_in))
    rc = parse_components(p, inputs_in, "$.inputs", ROLE_INPUT, &V1BETA2_FIELDS, inputs);
  else
    rc = parse_trigger_inputs(p, triggers, inputs);
  if (rc != OFCTX_OK)
    return rc;
  /* A v1beta2 function is async exactly when Dapr triggers it. */
  if (!absent(runtime_in)) {
    if ((rc = parse_runtime(p, runtime_in, &runtime)) != OFCTX_OK)
      return rc;
  } else {
    runtime = json_object_size(inputs) > 0 ? "Async" : "Knative";
  }
  if (put(doc, "runtime", json_string(runtime)))
    return nomem(p);
  if ((rc = parse_components(p, ofctx__json_member(root, "outputs"), "$.outputs", ROLE_OUTPUT,
                             &V1BETA2_FIELDS, json_object_get(doc, "outputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "states"), "$.states", ROLE_STATE,
                             &V1BETA2_FIELDS, json_object_get(doc, "states"))) != OFCTX_OK)
    return rc;
  return parse_plugins(p, root, 1, doc);
}

/* jansson reports running out of memory inside json_loadb in more than one
 * way: by code, or as an error with no position. */
static int load_failed_for_memory(const json_error_t *jerr) {
  return json_error_code(jerr) == json_error_out_of_memory || jerr->line < 0;
}

ofctx_err_t ofctx__context_parse(const char *source, const char *json, size_t len,
                                 const char *fallback, size_t fallback_len, const ofctx__env_t *env,
                                 json_t **doc_out, char **exporter_headers, ofctx_error_t *err) {
  parser_t p = {source, env, NULL, err, NULL, NULL};
  json_error_t jerr;
  json_t *root, *doc, *triggers, *fallback_root = NULL;
  ofctx_err_t rc;

  *doc_out = NULL;
  *exporter_headers = NULL;
  if (len > OFCTX_CONTEXT_MAX_SIZE || fallback_len > OFCTX_CONTEXT_MAX_SIZE)
    return ofctx__error(err, OFCTX_ECONTEXT,
                        "%s: the document is larger than %u bytes, which no function context is",
                        len > OFCTX_CONTEXT_MAX_SIZE ? source : "FUNC_CONTEXT",
                        OFCTX_CONTEXT_MAX_SIZE);
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    if (load_failed_for_memory(&jerr))
      return nomem(&p);
    return ofctx__error(err, OFCTX_ECONTEXT, "%s: invalid JSON at line %d, column %d: %s", source,
                        jerr.line, jerr.column, jerr.text);
  }
  if (!json_is_object(root)) {
    rc = type_error(&p, "$", "an object", root);
    json_decref(root);
    return rc;
  }
  /* Only read for what it adds; whether it is valid is not this parse's
   * business. */
  if (fallback)
    fallback_root = json_loadb(fallback, fallback_len, 0, &jerr);
  p.fallback = fallback_root;
  p.warnings = json_array(); /* NULL when out of memory: then none are kept */
  doc = json_object();
  if (!doc) {
    rc = nomem(&p);
    goto out;
  }
  triggers = ofctx__json_member(root, "triggers");
  if (!absent(triggers) && !json_is_object(triggers))
    rc = type_error(&p, "$.triggers", "an object", triggers);
  else if (json_is_object(triggers))
    rc = parse_v1beta2(&p, root, doc);
  else
    rc = parse_v1beta1(&p, root, doc);
out:
  json_decref(root);
  json_decref(fallback_root);
  if (rc == OFCTX_OK && json_array_size(p.warnings) > 0 &&
      json_object_set(doc, "warnings", p.warnings) != 0)
    rc = nomem(&p);
  json_decref(p.warnings);
  if (rc != OFCTX_OK) {
    json_decref(doc);
    ofctx__free(p.exporter_headers);
    return rc;
  }
  *doc_out = doc;
  *exporter_headers = p.exporter_headers;
  return OFCTX_OK;
}
