/* The local runtime's sink: sends printed on stdout as JSON lines, finished
 * in order once the mode flushes; state requests performed on an in-memory
 * store that lasts the run, printed, and answered the same way. */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "dapr_http_body.h"
#include "json_scan.h"
#include "json_util.h"
#include "local_sink.h"
#include "mem.h"

/* `len` bytes of `s` as a JSON string, or null for NULL: 0; 1 when they
 * are not UTF-8 text without NUL bytes (nothing is added); out of memory
 * marks `b` failed. */
static int json_quoted(ofctx__buf_t *b, const char *s, size_t len) {
  if (!s) {
    ofctx__buf_puts(b, "null");
    return 0;
  }
  return memchr(s, '\0', len) || ofctx__buf_json_string(b, s, len) != 0;
}

/* A NUL-terminated string (or NULL) as JSON; text that is not UTF-8 marks
 * the line failed. */
static void json_name(ofctx__buf_t *b, const char *s) {
  if (json_quoted(b, s, s ? strlen(s) : 0) != 0)
    b->failed = 1;
}

/* Each byte `c` of s[0, len) made a space, found by memchr: a send of
 * kilobytes has few line breaks or none, and a byte loop cost more than
 * the rest of printing it. */
static void spaces_for(char *s, size_t len, char c) {
  char *end = s + len;

  while ((s = memchr(s, c, (size_t)(end - s))) != NULL)
    *s++ = ' ';
}

/* Valid JSON text, its line breaks made spaces: every CR and LF in it is
 * white space between tokens (strings cannot hold them raw), so the value
 * is the same and the printed send stays one line. */
static void json_on_one_line(ofctx__buf_t *b, const char *json, size_t len) {
  size_t start = b->len;

  ofctx__buf_append(b, json, len);
  if (b->failed)
    return;
  spaces_for(b->data + start, len, '\n');
  spaces_for(b->data + start, len, '\r');
}

/* `,"data":` and the data: JSON as it is (on one line), text as a string,
 * other bytes as `,"data_base64":` and their base64. */
static void json_data(ofctx__buf_t *b, const char *data, size_t len) {
  size_t mark = b->len;

  ofctx__buf_puts(b, ",\"data\":");
  if (ofctx__json_valid(data, len)) {
    json_on_one_line(b, data, len);
  } else if (json_quoted(b, data, len) != 0) {
    b->len = mark;
    ofctx__buf_puts(b, ",\"data_base64\":\"");
    ofctx__base64_encode(b, data, len);
    ofctx__buf_puts(b, "\"");
  }
}

typedef struct pending {
  ofctx__sink_done_fn done;
  void *arg;
  struct pending *next;
  /* a state request: its callback (else NULL) and its answer */
  ofctx__state_done_fn state_done;
  int status;
  char *body;
  size_t body_len;
  char etag[24];
} pending_t;

/* A value of the run's in-memory state: `names` is the store, NUL, the key. */
typedef struct item {
  struct item *next;
  char *names;
  char *value;
  size_t len;
  unsigned long version; /* its ETag */
} item_t;

typedef struct {
  ofctx__sink_t base;
  const ofctx_config_t *cfg;
  ofctx__buf_t line;
  pending_t *first, **last;
  item_t *items;
  unsigned long version;
} local_sink_t;

/* One send as a JSON line: the output, the component, then a binding's
 * request body as the sidecar would get it, or a publish's topic, type and
 * data. */
static ofctx_err_t print(local_sink_t *s, const ofctx__send_request_t *req) {
  ofctx__buf_t *line = &s->line;
  const ofctx_component_t *out = req->slot < ofctx_config_output_count(s->cfg)
                                     ? ofctx_config_output_at(s->cfg, req->slot)
                                     : NULL;
  ofctx_err_t rc = OFCTX_OK;

  line->len = 0;
  line->failed = 0;
  ofctx__buf_puts(line, "{\"output\":");
  json_name(line, out ? req->name : NULL);
  ofctx__buf_puts(line, ",\"componentName\":");
  json_name(line, req->component);
  ofctx__buf_puts(line, ",\"componentType\":");
  json_name(line, out ? ofctx_component_type(out) : NULL);
  if (req->kind == OFCTX__SEND_BINDING) {
    /* the request body {"data":…,"operation":…,"metadata":…} */
    ofctx__buf_t body = {0};
    char *tail = ofctx__dapr_binding_tail(req, &rc);
    if (tail)
      rc = ofctx__dapr_binding_body(&body, req, tail);
    if (rc == OFCTX_OK) {
      ofctx__buf_append(line, ",", 1);
      json_on_one_line(line, body.data + 1, body.len - 1);
    }
    ofctx__free(tail);
    ofctx__buf_free(&body);
  } else if (req->kind == OFCTX__SEND_PUBLISH_BULK) {
    /* the request body [{"entryId":…,"event":…,…}, …] */
    ofctx__buf_t body = {0};
    rc = ofctx__dapr_bulk_body(&body, req);
    ofctx__buf_puts(line, ",\"operation\":\"publish-bulk\",\"topic\":");
    json_name(line, req->topic);
    ofctx__buf_puts(line, ",\"entries\":");
    if (rc == OFCTX_OK)
      json_on_one_line(line, body.data, body.len);
    ofctx__buf_puts(line, "}");
    ofctx__buf_free(&body);
  } else {
    ofctx__buf_puts(line, ",\"operation\":\"publish\",\"topic\":");
    json_name(line, req->topic);
    ofctx__buf_puts(line, ",\"contentType\":");
    json_name(line, req->content_type);
    json_data(line, req->data, req->len);
    ofctx__buf_puts(line, "}");
  }
  ofctx__buf_append(line, "\n", 1);
  if (rc != OFCTX_OK)
    return rc;
  if (line->failed)
    return OFCTX_ENOMEM;
  fwrite(line->data, 1, line->len, stdout);
  return OFCTX_OK;
}

static ofctx_err_t start(ofctx__sink_t *base, const ofctx__send_request_t *req,
                         ofctx__sink_done_fn done, void *arg) {
  local_sink_t *s = (local_sink_t *)base;
  pending_t *p = ofctx__malloc(sizeof *p);
  ofctx_err_t rc = p ? print(s, req) : OFCTX_ENOMEM;

  if (rc != OFCTX_OK) {
    ofctx__free(p);
    return rc;
  }
  *p = (pending_t){.done = done, .arg = arg};
  *s->last = p;
  s->last = &p->next;
  return OFCTX_OK;
}

/* Ends a state request with its answer. */
static void state_answer(pending_t *p) {
  ofctx__state_result_t r = {.ok = p->status < 300,
                             .conflict = p->status == 409,
                             .status = p->status,
                             .grpc_status = -1,
                             .found = p->status == 200,
                             .attempts = 1,
                             .error = p->status < 300 ? NULL : "the ETag did not match",
                             .body = p->body ? p->body : "",
                             .body_len = p->body_len,
                             .etag = p->etag};
  p->state_done(p->arg, &r);
  ofctx__free(p->body);
}

void ofctx__local_sink_flush(ofctx__sink_t *base) {
  static const ofctx__sink_result_t accepted = {
      .ok = 1, .status = 200, .grpc_status = -1, .attempts = 1};
  local_sink_t *s = (local_sink_t *)base;

  while (s->first) {
    pending_t *p = s->first;
    s->first = p->next;
    if (!s->first)
      s->last = &s->first;
    if (p->state_done)
      state_answer(p);
    else
      p->done(p->arg, &accepted);
    ofctx__free(p);
  }
}

/* ---- state: one in-memory store per run ---- */

static item_t **find(local_sink_t *s, const ofctx__state_request_t *req) {
  item_t **at = &s->items;

  for (; *at; at = &(*at)->next) {
    const char *names = (*at)->names;
    if (strcmp(names, req->store) == 0 && strcmp(names + strlen(names) + 1, req->key) == 0)
      break;
  }
  return at;
}

/* The answer of a write refused as Dapr's in-memory store refuses it: 409
 * when the ETag does not match, or with first-write and none the key
 * exists; else 0. */
static int conflict(const item_t *item, const ofctx__state_request_t *req) {
  char etag[24];

  if (req->etag) {
    if (item)
      snprintf(etag, sizeof etag, "%lu", item->version);
    return !item || strcmp(etag, req->etag) != 0 ? 409 : 0;
  }
  return item && req->concurrency && strcmp(req->concurrency, "first-write") == 0 ? 409 : 0;
}

/* Stores the value of `req` at `at` (a new item when *at is NULL): 204, or
 * -1 when out of memory. */
static int store(local_sink_t *s, item_t **at, const ofctx__state_request_t *req) {
  size_t a = strlen(req->store), b = strlen(req->key);
  char *value = ofctx__malloc(req->len + 1);
  item_t *item = *at;

  if (!value)
    return -1;
  if (!item && (item = ofctx__calloc(1, sizeof *item)) != NULL &&
      (item->names = ofctx__malloc(a + b + 2)) == NULL) {
    ofctx__free(item);
    item = NULL;
  }
  if (!item) {
    ofctx__free(value);
    return -1;
  }
  if (!*at) {
    memcpy(item->names, req->store, a + 1);
    memcpy(item->names + a + 1, req->key, b + 1);
    *at = item;
  }
  memcpy(value, req->value, req->len);
  value[req->len] = '\0';
  ofctx__free(item->value);
  item->value = value;
  item->len = req->len;
  item->version = ++s->version;
  return 204;
}

static void item_free(item_t *item) {
  ofctx__free(item->names);
  ofctx__free(item->value);
  ofctx__free(item);
}

/* Performs `req` on the store: its status, or -1 when out of memory; a
 * read's value and ETag go to `p`. */
static int perform(local_sink_t *s, const ofctx__state_request_t *req, pending_t *p) {
  item_t **at = find(s, req), *item = *at;
  int status = req->op == OFCTX__STATE_GET ? 0 : conflict(item, req);

  if (status)
    return status;
  if (req->op == OFCTX__STATE_SET)
    return store(s, at, req);
  if (req->op == OFCTX__STATE_DELETE) {
    if (item) {
      *at = item->next;
      item_free(item);
    }
    return 204;
  }
  if (!item)
    return 204;
  p->body = ofctx__malloc(item->len + 1);
  if (!p->body)
    return -1;
  memcpy(p->body, item->value, item->len + 1);
  p->body_len = item->len;
  snprintf(p->etag, sizeof p->etag, "%lu", item->version);
  return 200;
}

/* A state request as a JSON line: the operation, the store, the key, the
 * value written or read, its ETag, and the answer's status. */
static void print_state(local_sink_t *s, const ofctx__state_request_t *req, const pending_t *p) {
  static const char *const ops[] = {"get", "set", "delete"};
  ofctx__buf_t *line = &s->line;
  const char *value = req->op == OFCTX__STATE_SET ? req->value : p->body;
  size_t len = req->op == OFCTX__STATE_SET ? req->len : p->body_len;

  line->len = 0;
  line->failed = 0;
  ofctx__buf_printf(line, "{\"state\":\"%s\",\"componentName\":", ops[req->op]);
  json_name(line, req->store);
  ofctx__buf_puts(line, ",\"key\":");
  json_name(line, req->key);
  if (value) { /* JSON: state.c made it so, and stored it */
    ofctx__buf_puts(line, ",\"value\":");
    json_on_one_line(line, value, len);
  }
  if (p->etag[0])
    ofctx__buf_printf(line, ",\"etag\":\"%s\"", p->etag);
  ofctx__buf_printf(line, ",\"status\":%d}\n", p->status);
  if (!line->failed)
    fwrite(line->data, 1, line->len, stdout);
}

static ofctx_err_t state_start(ofctx__sink_t *base, const ofctx__state_request_t *req,
                               ofctx__state_done_fn done, void *arg) {
  local_sink_t *s = (local_sink_t *)base;
  pending_t *p = ofctx__calloc(1, sizeof *p);

  if (!p)
    return OFCTX_ENOMEM;
  p->status = perform(s, req, p);
  if (p->status < 0) {
    ofctx__free(p->body);
    ofctx__free(p);
    return OFCTX_ENOMEM;
  }
  print_state(s, req, p);
  p->state_done = done;
  p->arg = arg;
  *s->last = p;
  s->last = &p->next;
  return OFCTX_OK;
}

void ofctx__local_sink_answer(ofctx__sink_t *base, size_t line_no, const char *outcome, int status,
                              const char *reply, size_t reply_len, json_t *attributes,
                              const char *error) {
  local_sink_t *s = (local_sink_t *)base;
  ofctx__buf_t *line = &s->line;
  char *text = NULL;

  line->len = 0;
  line->failed = 0;
  ofctx__buf_printf(line, "{\"line\":%zu", line_no);
  if (error) {
    ofctx__buf_puts(line, ",\"error\":");
    json_name(line, error);
  } else {
    ofctx__buf_printf(line, ",\"outcome\":\"%s\",\"status\":%d", outcome, status);
  }
  if (reply || attributes) {
    ofctx__buf_printf(line, ",\"reply\":{\"bytes\":%zu", reply ? reply_len : 0);
    json_data(line, reply ? reply : "", reply ? reply_len : 0);
    if (attributes) {
      text = ofctx__json_text(attributes, JSON_COMPACT);
      ofctx__buf_puts(line, ",\"attributes\":");
      ofctx__buf_puts(line, text ? text : "{}");
      line->failed |= !text;
    }
    ofctx__buf_puts(line, "}");
  }
  ofctx__buf_puts(line, "}\n");
  ofctx__free(text);
  if (!line->failed)
    fwrite(line->data, 1, line->len, stdout);
}

static void sink_free(ofctx__sink_t *base) {
  local_sink_t *s = (local_sink_t *)base;

  ofctx__local_sink_flush(base);
  while (s->items) {
    item_t *item = s->items;
    s->items = item->next;
    item_free(item);
  }
  ofctx__buf_free(&s->line);
  ofctx__free(s);
}

ofctx__sink_t *ofctx__local_sink_new(const ofctx_config_t *cfg) {
  local_sink_t *s = ofctx__calloc(1, sizeof *s);

  if (!s)
    return NULL;
  s->base.start = start;
  s->base.free = sink_free;
  s->base.state = state_start;
  s->cfg = cfg;
  s->last = &s->first;
  return &s->base;
}
