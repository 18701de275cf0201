/* Internal: the layout of ofctx_config_t, the environment the parser reads,
 * and the hand-over from the parser to the config object. */
#ifndef OFCTX_CONFIG_IMPL_H
#define OFCTX_CONFIG_IMPL_H

#include <jansson.h>

#include "ofctx/config.h"
#include "strmap_impl.h"

struct ofctx_component {
  const char *name;
  const char *component_name;
  const char *type;
  const char *uri;
  const char *operation;
  ofctx_component_kind_t kind;
  ofctx_strmap_t metadata;
};

typedef struct {
  size_t count;
  ofctx_component_t *items;
} ofctx__components_t;

/* Every `const char *` below is borrowed from `doc`, the normalized document
 * that ofctx_config_to_json prints; the tokens are kept apart so that they
 * never reach that document. */
struct ofctx_config {
  json_t *doc;
  char *dapr_api_token;
  char *app_api_token;
  const char *name;
  const char *version;
  const char *request_id;
  const char *http_pattern;
  const char *pod_name;
  const char *pod_namespace;
  const char *dapr_host;
  ofctx_runtime_t runtime;
  ofctx_mode_t mode;
  uint16_t port;
  uint16_t dapr_http_port;
  uint16_t dapr_grpc_port;
  ofctx_app_protocol_t app_protocol;
  ofctx__components_t inputs;
  ofctx__components_t outputs;
  ofctx__components_t states;
  ofctx_strlist_t pre_plugins;
  ofctx_strlist_t post_plugins;
  int tracing_enabled;
  const char *tracing_provider;
  const char *tracing_oap_server;
  ofctx_strmap_t tracing_tags;
  ofctx_strmap_t tracing_baggage;
  /* The OTLP exporter's headers, "Name: value\n" lines (credentials, often:
   * never in `doc`, never logged); NULL when none. */
  char *exporter_headers;
};

/* The environment variables of a function process, as read (not yet
 * checked). The strings are borrowed from the getenv function's answers. */
typedef struct {
  const char *context_mode;
  const char *pod_name;
  const char *pod_namespace;
  const char *dapr_host;
  const char *dapr_http_port;
  const char *dapr_grpc_port;
  const char *app_protocol;
  const char *dapr_api_token;
  const char *app_api_token;
  const char *port;
  /* OFCTX_SUBSCRIPTION_METADATA: "key=value,..." for every pub/sub and
   * bindings.kafka input (OpenFunction's controller passes no input
   * metadata) */
  const char *subscription_metadata;
} ofctx__env_t;

/* Reads the variables above through `getenv_fn` (NULL: the process
 * environment; empty values count as unset) and checks that each is well
 * formed: text without control characters, ports, DAPR_HOST a host. */
ofctx_err_t ofctx__env_read(ofctx__env_t *env, ofctx_getenv_fn getenv_fn, void *arg,
                            ofctx_error_t *err);

/* Parses a port number: decimal digits only, 1-65535. 0 on success. */
int ofctx__port_parse(const char *s, long *out);

/* Checks what the environment must hold (POD_NAME and POD_NAMESPACE outside
 * self-host mode) and adds its part to the normalized document `doc` (mode,
 * pod, dapr, appApiTokenSet, port when PORT overrides it, and the
 * subscription metadata of pub/sub inputs, under what their own says);
 * then checks the pub/sub inputs' bulk subscription metadata, whichever set
 * it (OFCTX_ECONTEXT, the path in `source`, the document, when not valid). */
ofctx_err_t ofctx__env_apply(const ofctx__env_t *env, const char *source, json_t *doc,
                             ofctx_error_t *err);

/* Parses a context document (`source` names it in messages) into the
 * normalized document, reading POD_NAME / POD_NAMESPACE from `env` for the
 * tracing tags. `fallback` (may be NULL) is FUNC_CONTEXT's text when the
 * document is FUNC_CONTEXT_V1BETA2; it only fills in what v1beta2 leaves
 * out. On success `*doc_out` is a new reference, and `*exporter_headers`
 * the OTLP exporter's headers as "Name: value\n" lines (the caller frees
 * them; NULL when there are none), which the document leaves out. */
ofctx_err_t ofctx__context_parse(const char *source, const char *json, size_t len,
                                 const char *fallback, size_t fallback_len, const ofctx__env_t *env,
                                 json_t **doc_out, char **exporter_headers, ofctx_error_t *err);

/* Builds the config object over `doc` with copies of the tokens in `env`;
 * `doc` and `exporter_headers` (may be NULL) are taken over, also on
 * failure. */
ofctx_err_t ofctx__config_new(json_t *doc, char *exporter_headers, const ofctx__env_t *env,
                              ofctx_config_t **out, ofctx_error_t *err);

/* The tracing exporter's setting `key` ("endpoint", "compression",
 * "timeout" in ms), as the parser checked and completed it; NULL when the
 * context sets no exporter (or tracing is off). Borrowed from the config. */
const char *ofctx__config_exporter(const ofctx_config_t *cfg, const char *key);

#endif
