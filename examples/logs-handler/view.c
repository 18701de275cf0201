/* A record parsed once for every rule; see view.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <ofctx/json.h>

#include "access_log.h"
#include "alert.h"
#include "nearest.h"
#include "view.h"

#define BLOCK_SIZE 4096

/* The view's string space: blocks that never move, kept from record to
 * record. */
typedef struct block {
  struct block *next;
  size_t size, used;
  char data[];
} block_t;

typedef enum { LAZY_NOT_YET, LAZY_NO, LAZY_YES } lazy_t;

/* jansson's memory for a view's trees: one block, reused record by record,
 * a tree let go of whole instead of value by value (a parse costs about a
 * fifth less). What does not fit, and what jansson allocates for anything
 * else, comes from the allocator it had before. */
#define ARENA_SIZE 65536

typedef struct {
  char *base;
  size_t used;
  int spilled; /* a tree has values outside the block */
} arena_t;

static _Thread_local arena_t *active; /* the arena of the parse under way */
static json_malloc_t before_malloc = malloc;
static json_free_t before_free = free;

static void *arena_malloc(size_t n) {
  arena_t *a = active;
  size_t need = (n + 15) & ~(size_t)15;

  if (a && need >= n && need <= ARENA_SIZE - a->used) {
    a->used += need;
    return a->base + a->used - need;
  }
  if (a)
    a->spilled = 1;
  return before_malloc(n);
}

static void arena_free(void *p) {
  arena_t *a = active;

  if (a && (uintptr_t)p >= (uintptr_t)a->base && (uintptr_t)p < (uintptr_t)a->base + ARENA_SIZE)
    return; /* freed with the whole block */
  before_free(p);
}

void lh_view_use_arena(void) {
  json_malloc_t m;
  json_free_t f;

  json_get_alloc_funcs(&m, &f);
  if (m == arena_malloc)
    return;
  before_malloc = m;
  before_free = f;
  json_set_alloc_funcs(arena_malloc, arena_free);
}

/* The members of a record the view reads, found in one pass over it
 * (ofctx_json_lookup): the order of `record_paths`. */
enum {
  P_LOG,
  P_MESSAGE,
  P_MSG,
  P_TIME,
  P_TIMESTAMP,
  P_NS,
  P_POD,
  P_CONTAINER,
  P_HOST,
  P_LABELS,
  P_COUNT
};

struct lh_view {
  json_t *line_json;
  ofctx_json_path_t paths[P_COUNT]; /* the record's members, where they stand */
  arena_t arena;
  int in_arena; /* the trees are in the arena */
  const char *ns, *pod, *container, *host, *line;
  size_t ns_len, pod_len, container_len, host_len, line_len;
  double now, time;
  lazy_t access_state, json_state, time_state;
  lh_access_t access;
  char status_text[4], bytes_text[24];
  PCRE2_SIZE *groups; /* start, end of each group of the last lh_view_regex */
  size_t group_count, group_cap;
  const char **keys;
  size_t key_cap;
  lh_field_t *fields;
  size_t field_cap;
  block_t *blocks, *cur;
};

static const char *const metadata_fields[] = {"namespace", "pod", "container", "host", "line"};
static const char *const access_fields[] = {"status",   "method", "path",
                                            "protocol", "bytes",  "client"};

static int resolve_group(lh_fref_t *out, const char *name, const pcre2_code *regex) {
  int n = regex ? pcre2_substring_number_from_name(regex, (PCRE2_SPTR)name) : -1;

  if (n <= 0)
    return -1;
  *out = (lh_fref_t){LH_FIELD_GROUP, name, (size_t)n};
  return 0;
}

int lh_fref_resolve(lh_fref_t *out, const char *name, lh_parse_t parse, const pcre2_code *regex) {
  for (size_t i = 0; i < sizeof metadata_fields / sizeof *metadata_fields; i++)
    if (strcmp(name, metadata_fields[i]) == 0) {
      *out = (lh_fref_t){(lh_field_kind_t)(LH_FIELD_NAMESPACE + i), name, 0};
      return 0;
    }
  if (strncmp(name, "labels.", 7) == 0 && name[7]) {
    *out = (lh_fref_t){LH_FIELD_LABEL, name + 7, 0};
    return 0;
  }
  if (resolve_group(out, name, regex) == 0)
    return 0;
  for (size_t i = 0;
       parse == LH_PARSE_ACCESS_LOG && i < sizeof access_fields / sizeof *access_fields; i++)
    if (strcmp(name, access_fields[i]) == 0) {
      *out = (lh_fref_t){(lh_field_kind_t)(LH_FIELD_STATUS + i), name, 0};
      return 0;
    }
  if (parse == LH_PARSE_JSON && *name && name[0] != '.' && name[strlen(name) - 1] != '.' &&
      !strstr(name, "..")) {
    *out = (lh_fref_t){LH_FIELD_JSON, name, 0};
    return 0;
  }
  return -1;
}

/* Group names from the regex's name table. */
static void consider_groups(lh_near_t *near, const pcre2_code *regex) {
  uint32_t count = 0, entry = 0;
  PCRE2_SPTR table = NULL;

  if (!regex)
    return;
  pcre2_pattern_info(regex, PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(regex, PCRE2_INFO_NAMEENTRYSIZE, &entry);
  pcre2_pattern_info(regex, PCRE2_INFO_NAMETABLE, &table);
  for (uint32_t i = 0; table && i < count; i++)
    lh_near_offer(near, (const char *)table + i * entry + 2);
}

const char *lh_fref_suggest(const char *name, lh_parse_t parse, const pcre2_code *regex) {
  size_t limit = strlen(name) / 3;
  lh_near_t near;

  lh_near_init(&near, name, strlen(name));
  for (size_t i = 0; i < sizeof metadata_fields / sizeof *metadata_fields; i++)
    lh_near_offer(&near, metadata_fields[i]);
  for (size_t i = 0;
       parse == LH_PARSE_ACCESS_LOG && i < sizeof access_fields / sizeof *access_fields; i++)
    lh_near_offer(&near, access_fields[i]);
  consider_groups(&near, regex);
  if (strncmp(name, "label", 5) == 0 || strncmp(name, "lable", 5) == 0)
    return "labels.<name>";
  return near.distance <= (limit < 1 ? 1 : limit > 3 ? 3 : limit) ? near.best : NULL;
}

/* `n` bytes of the view's string space, or NULL when out of memory. */
static char *take(lh_view_t *v, size_t n) {
  block_t *b = v->cur;

  while (b && b->size - b->used < n)
    b = b->next;
  if (!b) {
    size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
    b = malloc(sizeof *b + size);
    if (!b)
      return NULL;
    *b = (block_t){v->blocks, size, 0};
    v->blocks = b;
  }
  v->cur = b;
  b->used += n;
  return b->data + b->used - n;
}

lh_view_mark_t lh_view_mark(const lh_view_t *v) {
  return (lh_view_mark_t){v->cur, v->cur ? v->cur->used : 0};
}

void lh_view_release(lh_view_t *v, lh_view_mark_t mark) {
  if (mark.block) {
    v->cur = mark.block;
    v->cur->used = mark.used;
  }
}

/* The view's trees let go of: the arena's block whole, what is not in it
 * value by value. */
static void let_go(lh_view_t *v) {
  if (!v->in_arena || v->arena.spilled) {
    active = v->in_arena ? &v->arena : NULL;
    json_decref(v->line_json);
    active = NULL;
  }
  v->arena.used = 0;
  v->arena.spilled = 0;
}

/* 1 when jansson allocates from the arenas (lh_view_use_arena) and the view
 * has one. */
static int arena_on(lh_view_t *v) {
  json_malloc_t m;

  json_get_alloc_funcs(&m, NULL);
  if (m == arena_malloc && !v->arena.base)
    v->arena.base = malloc(ARENA_SIZE);
  return m == arena_malloc && v->arena.base;
}

/* A JSON text parsed into an object, in the view's arena when it has one:
 * the object, or NULL (`*other` 1 when the text is JSON, not an object). */
static json_t *load(lh_view_t *v, const char *data, size_t len, json_error_t *jerr, int *other) {
  json_t *j;

  active = v->in_arena ? &v->arena : NULL;
  j = json_loadb(data, len, 0, jerr);
  *other = j && !json_is_object(j);
  if (*other) {
    json_decref(j); /* what is in the arena stays there until the next record */
    j = NULL;
  }
  active = NULL;
  return j;
}

static void reset(lh_view_t *v) {
  let_go(v);
  v->line_json = NULL;
  v->ns = v->pod = v->container = v->host = v->line = NULL;
  v->access_state = v->json_state = v->time_state = LAZY_NOT_YET;
  v->group_count = 0;
  for (block_t *b = v->blocks; b; b = b->next)
    b->used = 0;
  v->cur = v->blocks;
}

void lh_view_free(lh_view_t *v) {
  if (!v)
    return;
  reset(v);
  free(v->arena.base);
  while (v->blocks) {
    block_t *next = v->blocks->next;
    free(v->blocks);
    v->blocks = next;
  }
  free(v->groups);
  free(v->keys);
  free(v->fields);
  free(v);
}

/* The characters of the JSON string `value` (`value_len` bytes of the
 * record, which is valid JSON), NUL-terminated in the view's string space:
 * NULL when `value` is not a string, or when out of memory (`*nomem` then
 * set when `nomem` is not NULL). Most have no escape: they are copied as
 * they stand. */
static const char *string_of(lh_view_t *v, const char *value, size_t value_len, size_t *len,
                             int *nomem) {
  char *out;

  if (ofctx_json_type(value, value_len) != OFCTX_JSON_STRING)
    return NULL;
  out = take(v, value_len - 1);
  if (!out) {
    if (nomem)
      *nomem = 1;
    return NULL;
  }
  if (!memchr(value + 1, '\\', value_len - 2)) {
    *len = value_len - 2;
    memcpy(out, value + 1, *len);
    out[*len] = '\0';
  } else if (ofctx_json_string(value, value_len, out, value_len - 1, len) != OFCTX_OK) {
    return NULL; /* not reached: the lookup checked the record */
  }
  return out;
}

static const char *member(lh_view_t *v, int which, size_t *len, int *nomem) {
  return string_of(v, v->paths[which].value, v->paths[which].value_len, len, nomem);
}

/* The Kubernetes metadata and the line, from the record's members. */
static lh_verdict_t metadata(lh_view_t *v, const char **why) {
  int nomem = 0;

  v->ns = member(v, P_NS, &v->ns_len, &nomem);
  v->pod = member(v, P_POD, &v->pod_len, &nomem);
  v->container = member(v, P_CONTAINER, &v->container_len, &nomem);
  v->host = member(v, P_HOST, &v->host_len, &nomem);
  v->line = member(v, P_LOG, &v->line_len, &nomem);
  if (!v->line)
    v->line = member(v, P_MESSAGE, &v->line_len, &nomem);
  if (!v->line)
    v->line = member(v, P_MSG, &v->line_len, &nomem);
  if (nomem) {
    v->line = NULL;
    return LH_NOMEM;
  }
  if (!v->ns || !v->pod || !v->line) {
    *why = "not a Kubernetes log record (kubernetes.namespace_name, kubernetes.pod_name, log)";
    v->line = NULL; /* no rule runs on it */
    return LH_DROP;
  }
  return LH_IGNORE;
}

lh_verdict_t lh_view_parse(lh_view_t **vp, const char *data, size_t len, double now,
                           const char **why) {
  static const char *const log[] = {"log"}, *const message[] = {"message"}, *const msg[] = {"msg"},
                           *const at_time[] = {"time"}, *const timestamp[] = {"@timestamp"},
                           *const ns[] = {"kubernetes", "namespace_name"},
                           *const pod[] = {"kubernetes", "pod_name"},
                           *const container[] = {"kubernetes", "container_name"},
                           *const host[] = {"kubernetes", "host"},
                           *const labels[] = {"kubernetes", "labels"};
  static const ofctx_json_path_t record_paths[P_COUNT] = {
      {log, 1, NULL, 0},       {message, 1, NULL, 0}, {msg, 1, NULL, 0}, {at_time, 1, NULL, 0},
      {timestamp, 1, NULL, 0}, {ns, 2, NULL, 0},      {pod, 2, NULL, 0}, {container, 2, NULL, 0},
      {host, 2, NULL, 0},      {labels, 2, NULL, 0}};
  lh_view_t *v = *vp;
  ofctx_err_t rc;
  size_t i = 0;

  *why = NULL;
  if (!v) {
    v = calloc(1, sizeof *v);
    if (!v)
      return LH_NOMEM;
    *vp = v;
  }
  reset(v);
  v->now = now;
  v->in_arena = arena_on(v);
  memcpy(v->paths, record_paths, sizeof record_paths);
  rc = ofctx_json_lookup(data, len, v->paths, P_COUNT);
  if (rc == OFCTX_ENOMEM)
    return LH_NOMEM;
  if (rc != OFCTX_OK) {
    *why = "not JSON";
    return LH_DROP;
  }
  while (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')
    i++;
  if (data[i] != '{') {
    *why = "JSON, but not an object";
    return LH_DROP;
  }
  return metadata(v, why);
}

static const lh_access_t *access_of(lh_view_t *v) {
  if (v->access_state == LAZY_NOT_YET) {
    v->access_state = lh_access_parse(v->line, v->line_len, &v->access) ? LAZY_YES : LAZY_NO;
    if (v->access_state == LAZY_YES) {
      int s = v->access.status;
      v->status_text[0] = (char)('0' + s / 100);
      v->status_text[1] = (char)('0' + s / 10 % 10);
      v->status_text[2] = (char)('0' + s % 10);
      v->status_text[3] = '\0';
      snprintf(v->bytes_text, sizeof v->bytes_text, "%lld",
               v->access.size < 0 ? 0 : v->access.size);
    }
  }
  return v->access_state == LAZY_YES ? &v->access : NULL;
}

int lh_view_status(lh_view_t *v) {
  const lh_access_t *a = access_of(v);
  return a ? a->status : 0;
}

static int plausible(double t) { return t > 0 && t < LH_TIME_MAX; }

static double record_time(lh_view_t *v) {
  const ofctx_json_path_t *ts = &v->paths[P_TIMESTAMP];
  const lh_access_t *a;
  const char *text;
  size_t n;
  double t;

  text = member(v, P_TIME, &n, NULL);
  if (text && lh_parse_rfc3339(text, &t) == 0 && plausible(t))
    return t;
  if (ofctx_json_type(ts->value, ts->value_len) == OFCTX_JSON_NUMBER &&
      ofctx_json_number(ts->value, ts->value_len, &t) == OFCTX_OK && plausible(t))
    return t;
  text = member(v, P_TIMESTAMP, &n, NULL);
  if (text && lh_parse_rfc3339(text, &t) == 0 && plausible(t))
    return t;
  a = access_of(v);
  if (a && lh_parse_clf_time(a->time.p, a->time.len, &t) == 0 && plausible(t))
    return t;
  return v->now;
}

double lh_view_time(lh_view_t *v) {
  if (v->time_state == LAZY_NOT_YET) {
    v->time = record_time(v);
    v->time_state = LAZY_YES;
  }
  return v->time;
}

/* The value after `key` (a member's name and colon) in the bytes, as text
 * NUL-terminated in `buf`: a string's characters up to its closing quote,
 * or what follows up to a quote (a number, then what comes after it), at
 * most `size` - 1 bytes. `*quoted` says which; NULL when the key is not
 * there. */
static const char *raw_value(const char *data, size_t len, const char *key, char *buf, size_t size,
                             int *quoted) {
  size_t n = 0, klen = strlen(key);
  const char *p = memmem(data, len, key, klen), *end = data + len;

  if (!p)
    return NULL;
  for (p += klen; p < end && (*p == ' ' || *p == '\t'); p++)
    ;
  *quoted = p < end && *p == '"';
  p += *quoted;
  while (n + 1 < size && p + n < end && p[n] != '"')
    n++;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

int lh_view_raw_time(const char *data, size_t len, double *t) {
  char buf[48], *end;
  int quoted;
  const char *s = raw_value(data, len, "\"time\":", buf, sizeof buf, &quoted);

  if (s && quoted && lh_parse_rfc3339(s, t) == 0 && plausible(*t))
    return 0;
  s = raw_value(data, len, "\"@timestamp\":", buf, sizeof buf, &quoted);
  if (!s)
    return -1;
  if (quoted)
    return lh_parse_rfc3339(s, t) == 0 && plausible(*t) ? 0 : -1;
  *t = strtod(s, &end);
  return end != s && plausible(*t) ? 0 : -1;
}

void lh_newest_offer(lh_newest_t *n, const char *data, size_t len) {
  static const char head[] = "{\"@timestamp\":";
  size_t h = sizeof head - 1, size = sizeof n->text - 1;
  const char *p = data + h;
  double t;

  /* ten digits before the point (2001 to 2286): as text, the larger number
   * is the larger; what follows the number (a comma, JSON) is below a digit */
  if (len >= h + size && memcmp(data, head, h) == 0 && p[0] >= '1' && p[0] <= '9' &&
      (p[10] == '.' || p[10] == ',')) {
    if (memcmp(p, n->text, size) > 0)
      memcpy(n->text, p, size);
    return;
  }
  if (lh_view_raw_time(data, len, &t) == 0 && t > n->other)
    n->other = t;
}

/* The number that `s` starts with, ten digits, maybe a fraction, then a
 * comma: 0 and `*t` set, or -1 when it is not so. */
static int stamp_of(const char *s, double *t) {
  size_t k = 0;

  while (k < 10 && s[k] >= '0' && s[k] <= '9')
    k++;
  if (k == 10 && s[k] == '.')
    for (k++; s[k] >= '0' && s[k] <= '9';)
      k++;
  if (k < 10 || s[k] != ',')
    return -1;
  *t = strtod(s, NULL);
  return 0;
}

int lh_newest_take(lh_newest_t *n, double *t) {
  double stamp;

  *t = n->other;
  if (n->text[0] && stamp_of(n->text, &stamp) == 0 && stamp > *t)
    *t = stamp;
  memset(n, 0, sizeof *n);
  return plausible(*t) ? 0 : -1;
}

static const char *span(lh_span_t s, size_t *len) {
  *len = s.len;
  return s.len ? s.p : "";
}

static const char *access_field(lh_view_t *v, lh_field_kind_t kind, size_t *len) {
  const lh_access_t *a = access_of(v);

  if (!a)
    return NULL;
  switch (kind) {
  case LH_FIELD_STATUS:
    *len = 3;
    return v->status_text;
  case LH_FIELD_METHOD:
    return span(a->method, len);
  case LH_FIELD_PATH:
    return span(a->path, len);
  case LH_FIELD_PROTOCOL:
    return span(a->protocol, len);
  case LH_FIELD_BYTES:
    *len = strlen(v->bytes_text);
    return v->bytes_text;
  default:
    return span(a->client, len);
  }
}

/* A JSON number as short text that reads back as the same number. */
static const char *number_text(lh_view_t *v, json_t *n, size_t *len) {
  char buf[40];
  int w = 0;

  if (json_is_integer(n)) {
    w = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
  } else {
    for (int precision = 15; precision <= 17; precision++) {
      w = snprintf(buf, sizeof buf, "%.*g", precision, json_real_value(n));
      if (strtod(buf, NULL) == json_real_value(n))
        break;
    }
  }
  char *out = take(v, (size_t)w + 1);
  if (!out)
    return NULL;
  memcpy(out, buf, (size_t)w + 1);
  *len = (size_t)w;
  return out;
}

/* The log line as a JSON object, parsed once. */
static json_t *line_object(lh_view_t *v) {
  if (v->json_state == LAZY_NOT_YET) {
    int other;
    v->line_json = load(v, v->line, v->line_len, NULL, &other);
    v->json_state = v->line_json ? LAZY_YES : LAZY_NO;
  }
  return v->line_json;
}

/* The member at `path` (`n` bytes) in `obj`: a key spelled so ("log.level",
 * as ECS logs have them) first, else nested objects split at a dot
 * ("error" then "kind"), the shorter first key first. */
static json_t *lookup(json_t *obj, const char *path, size_t n) {
  json_t *at = json_object_getn(obj, path, n);

  for (size_t i = 0; !at && i < n; i++)
    if (path[i] == '.' && json_is_object(json_object_getn(obj, path, i)))
      at = lookup(json_object_getn(obj, path, i), path + i + 1, n - i - 1);
  return at;
}

/* The value at a dotted path ("error.kind"): strings as they are, numbers
 * and booleans as text; null, objects and arrays are missing. */
static const char *json_field(lh_view_t *v, const char *path, size_t *len) {
  json_t *obj = line_object(v), *at = obj ? lookup(obj, path, strlen(path)) : NULL;
  if (json_is_string(at)) {
    *len = json_string_length(at);
    return json_string_value(at);
  }
  if (json_is_boolean(at)) {
    *len = json_is_true(at) ? 4 : 5;
    return json_is_true(at) ? "true" : "false";
  }
  return json_is_number(at) ? number_text(v, at, len) : NULL;
}

static const char *group_field(lh_view_t *v, size_t group, size_t *len) {
  if (group >= v->group_count || v->groups[2 * group] == PCRE2_UNSET)
    return NULL;
  *len = v->groups[2 * group + 1] - v->groups[2 * group];
  return v->line + v->groups[2 * group];
}

static const char *metadata_field(lh_view_t *v, const lh_fref_t *f, size_t *len) {
  switch (f->kind) {
  case LH_FIELD_NAMESPACE:
    *len = v->ns_len;
    return v->ns;
  case LH_FIELD_POD:
    *len = v->pod_len;
    return v->pod;
  case LH_FIELD_CONTAINER:
    *len = v->container_len;
    return v->container;
  case LH_FIELD_HOST:
    *len = v->host_len;
    return v->host;
  case LH_FIELD_LINE:
    *len = v->line_len;
    return v->line;
  default: { /* a label: its name may hold dots (app.kubernetes.io/name) */
    const ofctx_json_path_t *labels = &v->paths[P_LABELS];
    const char *value;
    size_t value_len;
    if (ofctx_json_type(labels->value, labels->value_len) != OFCTX_JSON_OBJECT ||
        ofctx_json_getv(labels->value, labels->value_len, &f->name, 1, &value, &value_len) !=
            OFCTX_OK)
      return NULL;
    return string_of(v, value, value_len, len, NULL);
  }
  }
}

const char *lh_view_get(lh_view_t *v, const lh_fref_t *f, size_t *len) {
  *len = 0;
  if (f->kind <= LH_FIELD_LABEL)
    return metadata_field(v, f, len);
  if (f->kind == LH_FIELD_JSON)
    return json_field(v, f->name, len);
  if (f->kind == LH_FIELD_GROUP)
    return group_field(v, f->group, len);
  return access_field(v, f->kind, len);
}

int lh_view_text(lh_view_t *v, const lh_fref_t *f, const char **out) {
  size_t len;
  const char *s = lh_view_get(v, f, &len);
  char *copy;

  *out = s;
  if (!s || f->kind < LH_FIELD_STATUS || f->kind == LH_FIELD_STATUS || f->kind == LH_FIELD_BYTES ||
      f->kind == LH_FIELD_JSON)
    return 0; /* NUL-terminated already */
  copy = take(v, len + 1);
  if (!copy)
    return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  *out = copy;
  return 0;
}

int lh_view_line(lh_view_t *v, const char **out) {
  size_t n = v->line_len;
  char *copy;

  while (n && (v->line[n - 1] == '\n' || v->line[n - 1] == '\r'))
    n--;
  *out = v->line;
  if (n == v->line_len)
    return 0;
  copy = take(v, n + 1);
  if (!copy)
    return -1;
  memcpy(copy, v->line, n);
  copy[n] = '\0';
  *out = copy;
  return 0;
}

int lh_view_regex(lh_view_t *v, const pcre2_code *re, pcre2_match_data *md) {
  int rc = pcre2_match(re, (PCRE2_SPTR)v->line, v->line_len, 0, PCRE2_NO_UTF_CHECK, md, NULL);
  uint32_t pairs = pcre2_get_ovector_count(md);
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

  v->group_count = 0;
  if (rc < 0)
    return 0;
  if (pairs > v->group_cap) {
    PCRE2_SIZE *g = realloc(v->groups, 2 * pairs * sizeof *g);
    if (!g)
      return -1;
    v->groups = g;
    v->group_cap = pairs;
  }
  /* groups past rc did not take part in the match: their pairs are unset */
  for (uint32_t i = 0; i < pairs; i++) {
    v->groups[2 * i] = i < (uint32_t)rc ? ov[2 * i] : PCRE2_UNSET;
    v->groups[2 * i + 1] = i < (uint32_t)rc ? ov[2 * i + 1] : PCRE2_UNSET;
  }
  v->group_count = pairs;
  return 1;
}

int lh_view_scratch(lh_view_t *v, size_t keys, size_t fields, const char ***key,
                    lh_field_t **field) {
  if (keys > v->key_cap) {
    const char **k = realloc(v->keys, keys * sizeof *k);
    if (!k)
      return -1;
    v->keys = k;
    v->key_cap = keys;
  }
  if (fields > v->field_cap) {
    lh_field_t *f = realloc(v->fields, fields * sizeof *f);
    if (!f)
      return -1;
    v->fields = f;
    v->field_cap = fields;
  }
  *key = v->keys;
  *field = v->fields;
  return 0;
}
