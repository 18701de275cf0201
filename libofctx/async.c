/* The Async runtime: a Dapr app over HTTP. Input bindings arrive as
 * POST /<componentName> (after an OPTIONS probe), pub/sub messages as
 * CloudEvents on the routes /dapr/subscribe lists. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cloudevent.h"
#include "json_util.h"
#include "log.h"
#include "mem.h"
#include "mode.h"

#define PUBSUB_PREFIX "/dapr/pubsub/"

/* prefix + the percent-encoded name (NULL when out of memory). */
static char *route_for(const char *prefix, const char *name) {
  ofctx__buf_t route = {0};

  ofctx__buf_puts(&route, prefix);
  ofctx__buf_encoded(&route, name, OFCTX__ENCODE_COMPONENT);
  if (route.failed) {
    ofctx__buf_free(&route);
    return NULL;
  }
  return route.data;
}

typedef struct {
  const ofctx_config_t *cfg;
  ofctx__host_t *host;
  ofctx__metrics_t *metrics;
  char **routes;   /* per input: the path Dapr delivers it to */
  char inputs[24]; /* how many there are, for the log */
} async_t;

static void async_stop(void *state) {
  async_t *a = state;

  for (size_t i = 0; a->routes && i < ofctx_config_input_count(a->cfg); i++)
    ofctx__free(a->routes[i]);
  ofctx__free(a->routes);
  ofctx__free(a);
}

static void *async_start(const ofctx__mode_env_t *env, char *err, size_t size) {
  size_t n = ofctx_config_input_count(env->cfg);
  async_t *a = ofctx__calloc(1, sizeof *a);

  if (a) {
    a->cfg = env->cfg;
    a->host = env->host;
    a->metrics = env->metrics;
    snprintf(a->inputs, sizeof a->inputs, "%zu", n);
    a->routes = ofctx__calloc(n ? n : 1, sizeof *a->routes);
  }
  for (size_t i = 0; a && a->routes && i < n; i++) {
    const ofctx_component_t *in = ofctx_config_input_at(a->cfg, i);
    /* Dapr delivers a binding to /<componentName> (no `route` metadata is
     * set by OpenFunction); pub/sub routes are ours to choose. */
    a->routes[i] = ofctx_component_kind(in) == OFCTX_COMPONENT_BINDING
                       ? route_for("/", ofctx_component_component_name(in))
                       : route_for(PUBSUB_PREFIX, ofctx_component_name(in));
    if (!a->routes[i]) {
      async_stop(a);
      a = NULL;
    }
  }
  if (!a || !a->routes) {
    if (a)
      async_stop(a);
    snprintf(err, size, "out of memory");
    return NULL;
  }
  return a;
}

static void async_describe(void *state, const char **key, const char **value) {
  async_t *a = state;
  *key = "inputs";
  *value = a->inputs;
}

/* ---- answers ---- */

static void answer_binding(ofctx_t *ctx, ofctx__outcome_t outcome) {
  if (outcome == OFCTX__OUTCOME_RETRY) {
    /* Dapr sees a failure and the component redelivers; no internals here */
    ofctx__http_respond_json(ctx->req, 500, "{\"error\":\"the event was not processed\"}");
    return;
  }
  if (ctx->reply) {
    ofctx__http_header_t type = {"Content-Type", "application/octet-stream"};
    ofctx__http_respond(ctx->req, 200, &type, 1, ctx->reply, ctx->reply_len);
  } else {
    ofctx__http_respond(ctx->req, 200, NULL, 0, NULL, 0);
  }
}

static void answer_pubsub(ofctx_t *ctx, ofctx__outcome_t outcome) {
  /* Dapr's pub/sub answer table: 200 with SUCCESS, DROP or RETRY */
  ofctx__http_respond_json(ctx->req, 200,
                           outcome == OFCTX__OUTCOME_SUCCESS ? "{\"status\":\"SUCCESS\"}"
                           : outcome == OFCTX__OUTCOME_DROP  ? "{\"status\":\"DROP\"}"
                                                             : "{\"status\":\"RETRY\"}");
}

/* ---- deliveries ---- */

static void deliver_binding(async_t *a, ofctx__http_request_t *req, size_t i) {
  ofctx_event_t ev = {0};

  ev.kind = OFCTX_EVENT_BINDING;
  ev.input = ofctx_component_name(ofctx_config_input_at(a->cfg, i));
  ev.input_index = i;
  ev.data = ofctx__http_request_body(req, &ev.len);
  if (ofctx__event_metadata_from_headers(&ev, req) != 0) {
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
    return;
  }
  if (ofctx__invoke(a->host, req, &ev, answer_binding) != 0)
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
}

/* A pub/sub message that cannot be an event is poison: DROP, never RETRY. */
static void drop_message(async_t *a, ofctx__http_request_t *req, size_t i, const char *why) {
  ofctx__log(OFCTX_LOG_WARN, "message dropped", "input",
             ofctx_component_name(ofctx_config_input_at(a->cfg, i)), "reason", why,
             (const char *)NULL);
  ofctx__metrics_event(a->metrics, i, OFCTX__OUTCOME_DROP);
  ofctx__http_respond_json(req, 200, "{\"status\":\"DROP\"}");
}

static void deliver_pubsub(async_t *a, ofctx__http_request_t *req, size_t i) {
  ofctx_event_t ev = {0};
  size_t len;
  const char *body = ofctx__http_request_body(req, &len);
  const char *why = NULL;
  ofctx_err_t rc;

  ev.kind = OFCTX_EVENT_PUBSUB;
  ev.input = ofctx_component_name(ofctx_config_input_at(a->cfg, i));
  ev.input_index = i;
  rc = ofctx__ce_from_envelope(body, len, &ev, &why);
  if (rc == OFCTX_OK && ofctx__event_metadata_from_headers(&ev, req) != 0)
    rc = OFCTX_ENOMEM;
  if (rc != OFCTX_OK) {
    ofctx__event_clear(&ev);
    if (rc == OFCTX_ENOMEM) /* it may work next time */
      ofctx__http_respond_json(req, 200, "{\"status\":\"RETRY\"}");
    else
      drop_message(a, req, i, why);
    return;
  }
  if (ofctx__invoke(a->host, req, &ev, answer_pubsub) != 0)
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
}

/* GET /dapr/subscribe: one subscription per pub/sub input. */
static void subscriptions(async_t *a, ofctx__http_request_t *req) {
  json_t *list = json_array();
  char *text;

  for (size_t i = 0; list && i < ofctx_config_input_count(a->cfg); i++) {
    const ofctx_component_t *in = ofctx_config_input_at(a->cfg, i);
    const ofctx_strmap_t *md = ofctx_component_metadata(in);
    json_t *metadata;
    if (ofctx_component_kind(in) != OFCTX_COMPONENT_PUBSUB)
      continue;
    metadata = json_object();
    for (size_t k = 0; metadata && k < ofctx_strmap_count(md); k++)
      json_object_set_new(metadata, ofctx_strmap_key_at(md, k),
                          json_string(ofctx_strmap_value_at(md, k)));
    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "pubsubname",
                                          ofctx_component_component_name(in), "topic",
                                          ofctx_component_uri(in), "route", a->routes[i],
                                          "metadata", metadata ? metadata : json_object()));
  }
  text = list ? ofctx__json_text(list, JSON_COMPACT) : NULL;
  json_decref(list);
  if (!text) {
    ofctx__http_respond_json(req, 503, "{\"error\":\"out of memory\"}");
    return;
  }
  ofctx__http_respond_json(req, 200, text);
  ofctx__free(text);
}

static void method_not_allowed(ofctx__http_request_t *req, const char *allow) {
  ofctx__http_header_t headers[] = {{"Allow", allow}, {"Content-Type", "application/json"}};
  static const char body[] = "{\"error\":\"method not allowed\"}";
  ofctx__http_respond(req, 405, headers, 2, body, sizeof body - 1);
}

static int async_route(void *state, ofctx__http_request_t *req) {
  async_t *a = state;
  const char *method = ofctx__http_request_method(req);
  const char *path = ofctx__http_request_path(req);
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

  if (strcmp(path, "/dapr/subscribe") == 0 || strcmp(path, "/dapr/config") == 0) {
    if (!get)
      method_not_allowed(req, "GET");
    else if (strcmp(path, "/dapr/subscribe") == 0)
      subscriptions(a, req);
    else
      ofctx__http_respond_json(req, 200, "{}");
    return 1;
  }
  for (size_t i = 0; i < ofctx_config_input_count(a->cfg); i++) {
    int binding;
    if (strcmp(path, a->routes[i]) != 0)
      continue;
    binding = ofctx_component_kind(ofctx_config_input_at(a->cfg, i)) == OFCTX_COMPONENT_BINDING;
    if (binding && strcmp(method, "OPTIONS") == 0) {
      /* Dapr's start-up probe: 2xx means "deliver to me" */
      ofctx__http_header_t allow = {"Allow", "OPTIONS, POST"};
      ofctx__http_respond(req, 200, &allow, 1, NULL, 0);
    } else if (!post && !(strcmp(method, "PUT") == 0 && binding)) {
      method_not_allowed(req, binding ? "OPTIONS, POST, PUT" : "POST");
    } else if (binding) {
      deliver_binding(a, req, i);
    } else {
      deliver_pubsub(a, req, i);
    }
    return 1;
  }
  return 0;
}

const ofctx__mode_t ofctx__async_mode = {
    "Async", 0, 0, async_start, async_route, NULL, async_describe, async_stop};
