/* The immutable config object: typed views over the normalized document. */
#include <string.h>

#include "config_impl.h"
#include "error_msg.h"
#include "json_util.h"
#include "mem.h"

static const char *member_string(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static ofctx_component_kind_t kind_of(const char *type) {
  if (strncmp(type, "bindings.", 9) == 0)
    return OFCTX_COMPONENT_BINDING;
  if (strncmp(type, "pubsub.", 7) == 0)
    return OFCTX_COMPONENT_PUBSUB;
  return OFCTX_COMPONENT_STATE;
}

static ofctx_err_t view_components(ofctx__components_t *list, const json_t *map) {
  const char *key;
  json_t *entry;

  list->count = 0;
  list->items = ofctx__calloc(json_object_size(map), sizeof *list->items);
  if (!list->items)
    return OFCTX_ENOMEM;
  json_object_foreach((json_t *)map, key, entry) {
    ofctx_component_t *c = &list->items[list->count++];
    c->name = key;
    c->component_name = member_string(entry, "componentName");
    c->type = member_string(entry, "componentType");
    c->kind = kind_of(c->type);
    c->uri = member_string(entry, "uri");
    c->operation = member_string(entry, "operation");
    if (ofctx__strmap_view(&c->metadata, json_object_get(entry, "metadata")) != OFCTX_OK)
      return OFCTX_ENOMEM;
  }
  return OFCTX_OK;
}

static void clear_components(ofctx__components_t *list) {
  for (size_t i = 0; i < list->count; i++)
    ofctx__strmap_clear(&list->items[i].metadata);
  ofctx__free(list->items);
  list->items = NULL;
  list->count = 0;
}

static ofctx_err_t view_doc(ofctx_config_t *cfg) {
  const json_t *doc = cfg->doc;
  const json_t *pod = json_object_get(doc, "pod");
  const json_t *dapr = json_object_get(doc, "dapr");
  const json_t *tracing = json_object_get(doc, "tracing");
  const json_t *provider = json_object_get(tracing, "provider");

  cfg->name = member_string(doc, "name");
  cfg->version = member_string(doc, "version");
  cfg->request_id = member_string(doc, "requestID");
  cfg->http_pattern = member_string(doc, "httpPattern");
  cfg->runtime = strcmp(member_string(doc, "runtime"), "Async") == 0 ? OFCTX_RUNTIME_ASYNC
                                                                     : OFCTX_RUNTIME_KNATIVE;
  cfg->port = (uint16_t)json_integer_value(json_object_get(doc, "port"));
  cfg->mode = strcmp(member_string(doc, "mode"), "self-host") == 0 ? OFCTX_MODE_SELF_HOST
                                                                   : OFCTX_MODE_KUBERNETES;
  cfg->pod_name = member_string(pod, "name");
  cfg->pod_namespace = member_string(pod, "namespace");
  cfg->dapr_host = member_string(dapr, "host");
  cfg->dapr_http_port = (uint16_t)json_integer_value(json_object_get(dapr, "httpPort"));
  cfg->dapr_grpc_port = (uint16_t)json_integer_value(json_object_get(dapr, "grpcPort"));
  cfg->app_protocol = strcmp(member_string(doc, "appProtocol"), "grpc") == 0
                          ? OFCTX_APP_PROTOCOL_GRPC
                          : OFCTX_APP_PROTOCOL_HTTP;
  cfg->tracing_enabled = json_is_true(json_object_get(tracing, "enabled"));
  cfg->tracing_provider = member_string(provider, "name");
  cfg->tracing_oap_server = member_string(provider, "oapServer");
  if (view_components(&cfg->inputs, json_object_get(doc, "inputs")) ||
      view_components(&cfg->outputs, json_object_get(doc, "outputs")) ||
      view_components(&cfg->states, json_object_get(doc, "states")) ||
      ofctx__strlist_view(&cfg->pre_plugins, json_object_get(doc, "prePlugins")) ||
      ofctx__strlist_view(&cfg->post_plugins, json_object_get(doc, "postPlugins")) ||
      ofctx__strmap_view(&cfg->tracing_tags, json_object_get(tracing, "tags")) ||
      ofctx__strmap_view(&cfg->tracing_baggage, json_object_get(tracing, "baggage")))
    return OFCTX_ENOMEM;
  return OFCTX_OK;
}

static char *dup_or_null(const char *s) { return s ? ofctx__strdup(s) : NULL; }

ofctx_err_t ofctx__config_new(json_t *doc, char *exporter_headers, const ofctx__env_t *env,
                              ofctx_config_t **out, ofctx_error_t *err) {
  ofctx_config_t *cfg = ofctx__calloc(1, sizeof *cfg);

  *out = NULL;
  if (!cfg) {
    json_decref(doc);
    ofctx__free(exporter_headers);
    return ofctx__error(err, OFCTX_ENOMEM, "function context: out of memory");
  }
  cfg->doc = doc;
  cfg->exporter_headers = exporter_headers;
  cfg->dapr_api_token = dup_or_null(env->dapr_api_token);
  cfg->app_api_token = dup_or_null(env->app_api_token);
  if ((env->dapr_api_token && !cfg->dapr_api_token) ||
      (env->app_api_token && !cfg->app_api_token) || view_doc(cfg) != OFCTX_OK) {
    ofctx_config_free(cfg);
    return ofctx__error(err, OFCTX_ENOMEM, "function context: out of memory");
  }
  *out = cfg;
  return OFCTX_OK;
}

void ofctx_config_free(ofctx_config_t *cfg) {
  if (!cfg)
    return;
  clear_components(&cfg->inputs);
  clear_components(&cfg->outputs);
  clear_components(&cfg->states);
  ofctx__strlist_clear(&cfg->pre_plugins);
  ofctx__strlist_clear(&cfg->post_plugins);
  ofctx__strmap_clear(&cfg->tracing_tags);
  ofctx__strmap_clear(&cfg->tracing_baggage);
  ofctx__free(cfg->dapr_api_token);
  ofctx__free(cfg->app_api_token);
  ofctx__free(cfg->exporter_headers);
  json_decref(cfg->doc);
  ofctx__free(cfg);
}

char *ofctx_config_to_json(const ofctx_config_t *cfg) {
  return cfg ? ofctx__json_text(cfg->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
}

const char *ofctx_config_name(const ofctx_config_t *cfg) { return cfg->name; }
const char *ofctx_config_version(const ofctx_config_t *cfg) { return cfg->version; }
const char *ofctx_config_request_id(const ofctx_config_t *cfg) { return cfg->request_id; }
ofctx_runtime_t ofctx_config_runtime(const ofctx_config_t *cfg) { return cfg->runtime; }
uint16_t ofctx_config_port(const ofctx_config_t *cfg) { return cfg->port; }
const char *ofctx_config_http_pattern(const ofctx_config_t *cfg) { return cfg->http_pattern; }
ofctx_mode_t ofctx_config_mode(const ofctx_config_t *cfg) { return cfg->mode; }
const char *ofctx_config_pod_name(const ofctx_config_t *cfg) { return cfg->pod_name; }
const char *ofctx_config_pod_namespace(const ofctx_config_t *cfg) { return cfg->pod_namespace; }
const char *ofctx_config_dapr_host(const ofctx_config_t *cfg) { return cfg->dapr_host; }
uint16_t ofctx_config_dapr_http_port(const ofctx_config_t *cfg) { return cfg->dapr_http_port; }
uint16_t ofctx_config_dapr_grpc_port(const ofctx_config_t *cfg) { return cfg->dapr_grpc_port; }
ofctx_app_protocol_t ofctx_config_app_protocol(const ofctx_config_t *cfg) {
  return cfg->app_protocol;
}
const char *ofctx_config_dapr_api_token(const ofctx_config_t *cfg) { return cfg->dapr_api_token; }
const char *ofctx_config_app_api_token(const ofctx_config_t *cfg) { return cfg->app_api_token; }

static const ofctx_component_t *component_at(const ofctx__components_t *list, size_t i) {
  return i < list->count ? &list->items[i] : NULL;
}

static const ofctx_component_t *component_named(const ofctx__components_t *list, const char *name) {
  for (size_t i = 0; name && i < list->count; i++)
    if (strcmp(list->items[i].name, name) == 0)
      return &list->items[i];
  return NULL;
}

size_t ofctx_config_input_count(const ofctx_config_t *cfg) { return cfg->inputs.count; }
const ofctx_component_t *ofctx_config_input_at(const ofctx_config_t *cfg, size_t i) {
  return component_at(&cfg->inputs, i);
}
const ofctx_component_t *ofctx_config_input(const ofctx_config_t *cfg, const char *name) {
  return component_named(&cfg->inputs, name);
}
size_t ofctx_config_output_count(const ofctx_config_t *cfg) { return cfg->outputs.count; }
const ofctx_component_t *ofctx_config_output_at(const ofctx_config_t *cfg, size_t i) {
  return component_at(&cfg->outputs, i);
}
const ofctx_component_t *ofctx_config_output(const ofctx_config_t *cfg, const char *name) {
  return component_named(&cfg->outputs, name);
}
size_t ofctx_config_state_count(const ofctx_config_t *cfg) { return cfg->states.count; }
const ofctx_component_t *ofctx_config_state_at(const ofctx_config_t *cfg, size_t i) {
  return component_at(&cfg->states, i);
}
const ofctx_component_t *ofctx_config_state(const ofctx_config_t *cfg, const char *name) {
  return component_named(&cfg->states, name);
}

const ofctx_strlist_t *ofctx_config_pre_plugins(const ofctx_config_t *cfg) {
  return &cfg->pre_plugins;
}
const ofctx_strlist_t *ofctx_config_post_plugins(const ofctx_config_t *cfg) {
  return &cfg->post_plugins;
}
int ofctx_config_tracing_enabled(const ofctx_config_t *cfg) { return cfg->tracing_enabled; }
const char *ofctx_config_tracing_provider(const ofctx_config_t *cfg) {
  return cfg->tracing_provider;
}
const char *ofctx_config_tracing_oap_server(const ofctx_config_t *cfg) {
  return cfg->tracing_oap_server;
}
const char *ofctx__config_exporter(const ofctx_config_t *cfg, const char *key) {
  const json_t *tracing = json_object_get(cfg->doc, "tracing");
  const json_t *exporter = json_object_get(json_object_get(tracing, "provider"), "exporter");

  return json_string_value(json_object_get(exporter, key));
}

const ofctx_strmap_t *ofctx_config_tracing_tags(const ofctx_config_t *cfg) {
  return &cfg->tracing_tags;
}
const ofctx_strmap_t *ofctx_config_tracing_baggage(const ofctx_config_t *cfg) {
  return &cfg->tracing_baggage;
}

const char *ofctx_component_name(const ofctx_component_t *c) { return c->name; }
const char *ofctx_component_dapr_name(const ofctx_component_t *c) { return c->component_name; }
const char *ofctx_component_type(const ofctx_component_t *c) { return c->type; }
ofctx_component_kind_t ofctx_component_kind(const ofctx_component_t *c) { return c->kind; }
const char *ofctx_component_uri(const ofctx_component_t *c) { return c->uri; }
const char *ofctx_component_operation(const ofctx_component_t *c) { return c->operation; }
const ofctx_strmap_t *ofctx_component_metadata(const ofctx_component_t *c) { return &c->metadata; }

size_t ofctx_config_warning_count(const ofctx_config_t *cfg) {
  return cfg ? json_array_size(json_object_get(cfg->doc, "warnings")) : 0;
}

const char *ofctx_config_warning_at(const ofctx_config_t *cfg, size_t i) {
  return cfg ? json_string_value(json_array_get(json_object_get(cfg->doc, "warnings"), i)) : NULL;
}
