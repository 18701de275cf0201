/* The Knative runtime: a synchronous function on one route (httpPattern).
 * Each request is one invocation; its answer is the function's reply
 * (OpenFunction signature, with X-OpenFunction-Status) or the response a
 * plain HTTP function wrote, once every send has settled. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloudevent.h"
#include "error_msg.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "media_type.h"
#include "mem.h"
#include "mode.h"
#include "route.h"
#include "text.h"

#define STATUS_HEADER "X-OpenFunction-Status"

typedef struct {
  ofctx__host_t *host;
  const char *const *methods; /* NULL: every method */
  const char *pattern;        /* OFCTX_HTTP_PATTERN, else the context's httpPattern */
  struct ofctx__route *route;
} knative_t;

static void knative_stop(void *state) {
  knative_t *k = state;

  ofctx__route_free(k->route);
  ofctx__free(k);
}

/* 0 when every method is an HTTP method name (a token without a dot);
 * else -1 with the reason in `err`. */
static int check_methods(const char *const *methods, ofctx_error_t *err) {
  for (const char *const *m = methods; m && *m; m++)
    if (!ofctx__name_chars_ok(*m) || strchr(*m, '.')) {
      char quoted[OFCTX_QUOTE_SIZE];
      ofctx__quote(quoted, sizeof quoted, *m);
      ofctx__error(err, OFCTX_EINVAL, "ofctx_main_opts: method %s is not an HTTP method name",
                   quoted);
      return -1;
    }
  return 0;
}

static void *knative_start(const ofctx__mode_env_t *env, ofctx_error_t *err) {
  knative_t *k;
  ofctx_error_t why;
  ofctx_err_t rc;

  if (check_methods(env->methods, err) != 0)
    return NULL;
  k = ofctx__calloc(1, sizeof *k);
  if (!k) {
    ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    return NULL;
  }
  k->host = env->host;
  k->methods = env->methods;
  k->pattern = env->http_pattern ? env->http_pattern : ofctx_config_http_pattern(env->cfg);
  rc = ofctx__route_compile(&k->route, k->pattern, &why);
  if (rc != OFCTX_OK) {
    /* say where the pattern came from */
    ofctx__error(err, rc, "%s%s", env->http_pattern ? "OFCTX_HTTP_PATTERN: " : "", why.message);
    knative_stop(k);
    return NULL;
  }
  return k;
}

static void knative_describe(void *state, const char **key, const char **value) {
  knative_t *k = state;
  *key = "path";
  *value = k->pattern;
}

/* ---- answers ---- */

static void respond_error(ofctx__http_request_t *req, int status) {
  ofctx__http_header_t header = {STATUS_HEADER, "error"};
  ofctx__http_respond(req, status, &header, 1, NULL, 0);
}

/* The OpenFunction signature: 200 + reply, 400 + reply for OFCTX_DROP,
 * 500 with no body for everything else (no internals leave the process). */
static void answer_function(ofctx_t *ctx, ofctx__outcome_t outcome) {
  ofctx__http_header_t headers[2] = {{STATUS_HEADER, "success"}, {"Content-Type", NULL}};
  int status = outcome == OFCTX__OUTCOME_SUCCESS ? 200 : 400;
  const char *data = ctx->reply ? ctx->reply : "";

  if (outcome == OFCTX__OUTCOME_RETRY) {
    respond_error(ctx->req, 500);
    return;
  }
  if (status != 200)
    headers[0].value = "error";
  if (ctx->reply_attributes && status == 200) {
    ofctx__ce_reply_t ce;
    ofctx_error_t err;
    ofctx__ce_mode_t mode =
        ctx->ev.ce_mode == OFCTX__CE_STRUCTURED ? OFCTX__CE_STRUCTURED : OFCTX__CE_BINARY;
    if (ofctx__ce_encode(&ce, mode, ctx->reply_attributes, data, ctx->reply_len, NULL, &err) !=
        OFCTX_OK) {
      ofctx__log(OFCTX_LOG_ERROR, "cannot send the reply", "input", ctx->ev.input, "reason",
                 err.message, (const char *)NULL);
      respond_error(ctx->req, 500);
      return;
    }
    ce.headers[ce.count] = headers[0]; /* the spare slot */
    if (mode == OFCTX__CE_STRUCTURED)
      ofctx__http_respond(ctx->req, 200, ce.headers, ce.count + 1, ce.body.data, ce.body.len);
    else
      ofctx__http_respond(ctx->req, 200, ce.headers, ce.count + 1, data, ctx->reply_len);
    ofctx__ce_reply_free(&ce);
    return;
  }
  headers[1].value = ofctx__media_type_of(data, ctx->reply_len);
  ofctx__http_respond(ctx->req, status, headers, ctx->reply_len ? 2 : 1, data, ctx->reply_len);
}

/* A plain HTTP function: what it wrote, unless a send failed. */
static void answer_http(ofctx_t *ctx, ofctx__outcome_t outcome) {
  ofctx_response_t *res = &ctx->res;
  ofctx__http_header_t *headers;
  size_t n = res->header_count;
  int typed = 0;

  if (outcome == OFCTX__OUTCOME_RETRY || res->headers.failed || res->body.failed) {
    respond_error(ctx->req, 500);
    return;
  }
  headers = ofctx__http_headers_unpack(res->headers.data, n, 1);
  if (!headers) {
    respond_error(ctx->req, 500);
    return;
  }
  for (size_t i = 0; i < n; i++)
    typed |= strcasecmp(headers[i].name, "content-type") == 0;
  if (!typed && res->body.len > 0) {
    headers[n].name = "Content-Type";
    headers[n++].value = ofctx__media_type_of(res->body.data, res->body.len);
  }
  ofctx__http_respond(ctx->req, res->status, headers, n, res->body.data, res->body.len);
  ofctx__free(headers);
}

/* ---- requests ---- */

/* The OpenFunction signature: a function, or a batch function, which gets
 * each request as a batch of one. */
static int openfunction_signature(const ofctx__host_t *host) { return host->fn || host->batch_fn; }

/* name=value&... into a JSON object, decoded; the first value of a name
 * wins and pairs that do not decode are left out, as Go's ParseQuery
 * does. -1 when out of memory. */
static int parse_query(const char *query, json_t *out) {
  ofctx__buf_t name = {0}, value = {0};
  int rc = 0;

  while (*query && rc == 0) {
    size_t len = strcspn(query, "&");
    const char *eq = memchr(query, '=', len);
    size_t name_len = eq ? (size_t)(eq - query) : len;
    name.len = value.len = 0;
    if (name_len > 0 && ofctx__buf_decoded(&name, query, name_len, OFCTX__DECODE_PLUS) == 0 &&
        ofctx__buf_decoded(&value, eq ? eq + 1 : "", eq ? len - name_len - 1 : 0,
                           OFCTX__DECODE_PLUS) == 0 &&
        ofctx__text_ok(name.data) && !json_object_get(out, name.data) &&
        json_object_set_new(out, name.data, json_stringn_nocheck(value.data, value.len)))
      rc = -1; /* a name that is not text is left out, like one that does not decode */
    if (name.failed || value.failed)
      rc = -1;
    query += len + (query[len] == '&');
  }
  ofctx__buf_free(&name);
  ofctx__buf_free(&value);
  return rc;
}

static int method_taken(const knative_t *k, const char *method) {
  if (!k->methods)
    return 1;
  for (const char *const *m = k->methods; *m; m++)
    if (strcmp(*m, method) == 0)
      return 1;
  return 0;
}

static void method_not_allowed(const knative_t *k, ofctx__http_request_t *req) {
  ofctx__buf_t allow = {0};
  ofctx__http_header_t headers[2] = {{"Allow", NULL}, {"Content-Type", "application/json"}};
  static const char body[] = "{\"error\":\"method not allowed\"}";

  for (const char *const *m = k->methods; *m; m++) {
    if (m != k->methods)
      ofctx__buf_puts(&allow, ", ");
    ofctx__buf_puts(&allow, *m);
  }
  headers[0].value = allow.data && !allow.failed ? allow.data : "";
  ofctx__http_respond(req, 405, headers, 2, body, sizeof body - 1);
  ofctx__buf_free(&allow);
}

/* The reason of a refused CloudEvent as a JSON answer (reasons quote what
 * they cite, so they are text; the status stands even if the body fails). */
static void refuse(ofctx__http_request_t *req, const ofctx__refusal_t *refusal) {
  json_t *body = json_pack("{s:s}", "error", refusal->error.message);
  char *text = body ? ofctx__json_text(body, JSON_COMPACT) : NULL;

  json_decref(body);
  ofctx__http_respond_json(req, refusal->status,
                           text ? text : "{\"error\":\"not a valid CloudEvent\"}");
  ofctx__free(text);
}

/* A request on the route, its parameters and query in `ev`, as an event:
 * a CloudEvent or a plain request for a function of the OpenFunction
 * signature, the request itself for a plain HTTP function; then to an
 * invocation. */
static void deliver(knative_t *k, ofctx__http_request_t *req, ofctx_event_t *ev) {
  ofctx__refusal_t refusal;
  ofctx__ce_mode_t mode = OFCTX__CE_NONE;
  size_t count;
  const ofctx__http_header_t *headers = ofctx__http_request_headers(req, &count);

  ev->input = "http";
  ev->req = req;
  ev->data = ofctx__http_request_body(req, &ev->len);
  if (openfunction_signature(k->host) &&
      ofctx__ce_decode(headers, count, ev->data, ev->len, ev, &mode, &refusal) != OFCTX_OK) {
    ofctx__event_clear(ev);
    refuse(req, &refusal);
    return;
  }
  ev->ce_mode = (int)mode;
  ev->kind = mode == OFCTX__CE_NONE ? OFCTX_EVENT_HTTP : OFCTX_EVENT_CLOUDEVENT;
  if (mode == OFCTX__CE_NONE)
    ev->content_type = ofctx__http_request_header(req, "content-type");
  if (ofctx__invoke(k->host, req, ev,
                    openfunction_signature(k->host) ? answer_function : answer_http) != 0)
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
}

static int knative_route(void *state, ofctx__http_request_t *req) {
  knative_t *k = state;
  ofctx_event_t ev = {0};
  const char *query = ofctx__http_request_query(req);
  size_t n_params = ofctx__route_param_count(k->route);
  int rc = -1; /* out of memory, until the route matches or not */

  /* objects only for what there is: most routes have no parameters, most
   * requests no query */
  ev.params = n_params ? json_object() : NULL;
  ev.query = *query ? json_object() : NULL;
  if ((ev.params || !n_params) && (ev.query || !*query))
    rc = ofctx__route_match(k->route, ofctx__http_request_path(req), ev.params);
  if (rc > 0 && ev.query && parse_query(query, ev.query) != 0)
    rc = -1;
  if (rc <= 0) {
    ofctx__event_clear(&ev);
    if (rc < 0)
      ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
    return rc != 0;
  }
  if (!method_taken(k, ofctx__http_request_method(req))) {
    ofctx__event_clear(&ev);
    method_not_allowed(k, req);
    return 1;
  }
  deliver(k, req, &ev);
  return 1;
}

/* ---- the public reply and response calls ---- */

ofctx_err_t ofctx_set_reply_attribute(ofctx_t *ctx, const char *name, const char *value) {
  json_t *v;

  if (!ctx || !name || !value || !ofctx__ce_name_ok(name) || !ofctx__ce_string_ok(value) ||
      (strcmp(name, "specversion") == 0 && strcmp(value, "1.0") != 0))
    return OFCTX_EINVAL;
  if (ctx->settled)
    return OFCTX_ESETTLED;
  if (!ctx->reply_attributes && !(ctx->reply_attributes = json_object()))
    return OFCTX_ENOMEM;
  v = json_string(value);
  if (!v || json_object_set_new(ctx->reply_attributes, name, v))
    return OFCTX_ENOMEM;
  return OFCTX_OK;
}

static ofctx_t *owner(ofctx_response_t *res) {
  return (ofctx_t *)(void *)((char *)res - offsetof(ofctx_t, res));
}

ofctx_err_t ofctx_response_set_status(ofctx_response_t *res, int status) {
  if (!res || status < 200 || status > 599)
    return OFCTX_EINVAL;
  if (owner(res)->settled)
    return OFCTX_ESETTLED;
  res->status = status;
  return OFCTX_OK;
}

static int token_ok(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

ofctx_err_t ofctx_response_add_header(ofctx_response_t *res, const char *name, const char *value) {
  static const char *const reserved[] = {"content-length", "transfer-encoding", "connection"};

  if (!res || !name || !value || !token_ok(name))
    return OFCTX_EINVAL;
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcasecmp(name, reserved[i]) == 0)
      return OFCTX_EINVAL;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return OFCTX_EINVAL;
  if (owner(res)->settled)
    return OFCTX_ESETTLED;
  ofctx__buf_append(&res->headers, name, strlen(name) + 1);
  ofctx__buf_append(&res->headers, value, strlen(value) + 1);
  if (res->headers.failed)
    return OFCTX_ENOMEM;
  res->header_count++;
  return OFCTX_OK;
}

ofctx_err_t ofctx_response_append(ofctx_response_t *res, const void *data, size_t len) {
  if (!res || (!data && len))
    return OFCTX_EINVAL;
  if (owner(res)->settled)
    return OFCTX_ESETTLED;
  ofctx__buf_append(&res->body, data, len);
  return res->body.failed ? OFCTX_ENOMEM : OFCTX_OK;
}

const ofctx__mode_t ofctx__knative_mode = {.name = "Knative",
                                           .from_users = 1,
                                           .takes_http_functions = 1,
                                           .start = knative_start,
                                           .route = knative_route,
                                           .describe = knative_describe,
                                           .stop = knative_stop};
