/* The function context: FUNC_CONTEXT (or FUNC_CONTEXT_V1BETA2) and the other
 * environment variables the OpenFunction controller, Dapr and Knative set,
 * parsed and validated once into an immutable ofctx_config_t.
 *
 * Every string an accessor returns is borrowed from the config and stays valid
 * until ofctx_config_free(); accessors never return NULL unless they say so. */
#ifndef OFCTX_CONFIG_H
#define OFCTX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ofctx/error.h"
#include "ofctx/export.h"
#include "ofctx/strmap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ofctx_config ofctx_config_t;
typedef struct ofctx_component ofctx_component_t;

typedef enum {
  OFCTX_RUNTIME_KNATIVE = 1, /* sync: HTTP and CloudEvents on PORT */
  OFCTX_RUNTIME_ASYNC = 2    /* a Dapr app: bindings and pub/sub */
} ofctx_runtime_t;

typedef enum {
  OFCTX_MODE_KUBERNETES = 1, /* POD_NAME and POD_NAMESPACE required */
  OFCTX_MODE_SELF_HOST = 2   /* CONTEXT_MODE=self-host */
} ofctx_mode_t;

typedef enum {
  OFCTX_COMPONENT_BINDING = 1, /* componentType bindings.* */
  OFCTX_COMPONENT_PUBSUB = 2,  /* componentType pubsub.* */
  OFCTX_COMPONENT_STATE = 3    /* componentType state.* (the states map) */
} ofctx_component_kind_t;

/* Where the loader reads environment variables: returns the value of `name`
 * or NULL when it is unset. The returned string only needs to stay valid until
 * the loader returns. */
typedef const char *(*ofctx_getenv_fn)(void *arg, const char *name);

/* The longest context document any loader takes (FUNC_CONTEXT,
 * FUNC_CONTEXT_V1BETA2, a --context or --file document): a longer one is
 * refused with OFCTX_ECONTEXT, whoever reads it. */
#define OFCTX_CONTEXT_MAX_SIZE (1024u * 1024u)

/* Builds the config the way a function process does at start-up: the context
 * document is FUNC_CONTEXT_V1BETA2 when that is set and not empty, else
 * FUNC_CONTEXT; the rest comes from POD_NAME, POD_NAMESPACE, CONTEXT_MODE,
 * DAPR_HOST, DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_API_TOKEN, APP_PROTOCOL,
 * APP_API_TOKEN, PORT and OFCTX_SUBSCRIPTION_METADATA.
 * `getenv_fn` NULL means the process environment (getenv(3)).
 * On success stores a new config in `*out` (caller frees with
 * ofctx_config_free) and returns OFCTX_OK. On failure `*out` is NULL, and the
 * code (OFCTX_ENOCONTEXT, OFCTX_ECONTEXT, OFCTX_EENV, OFCTX_ENOMEM) and
 * `err->message` say what is wrong and where. */
OFCTX_EXTERN ofctx_err_t ofctx_config_load(ofctx_config_t **out, ofctx_getenv_fn getenv_fn,
                                           void *arg, ofctx_error_t *err);

/* Like ofctx_config_load, but the context document is `json` (`len` bytes,
 * copied; no NUL needed) instead of FUNC_CONTEXT / FUNC_CONTEXT_V1BETA2.
 * `source` names the document in error messages (e.g. a file path); NULL
 * means "FUNC_CONTEXT". The shape is recognised from the document: one with a
 * "triggers" object is read as v1beta2, anything else as v1beta1. */
OFCTX_EXTERN ofctx_err_t ofctx_config_parse(ofctx_config_t **out, const char *source,
                                            const char *json, size_t len, ofctx_getenv_fn getenv_fn,
                                            void *arg, ofctx_error_t *err);

/* Frees the config and everything borrowed from it. NULL is fine. */
OFCTX_EXTERN void ofctx_config_free(ofctx_config_t *cfg);

/* The config as normalized JSON (keys name, version, requestID, runtime, port,
 * httpPattern, mode, pod, dapr, inputs, outputs, states, prePlugins,
 * postPlugins, tracing; secrets are never included, only whether they are
 * set). Caller frees with ofctx_free; NULL when out of memory. */
OFCTX_EXTERN char *ofctx_config_to_json(const ofctx_config_t *cfg);

OFCTX_EXTERN const char *ofctx_config_name(const ofctx_config_t *cfg);
/* "" when the context has none. */
OFCTX_EXTERN const char *ofctx_config_version(const ofctx_config_t *cfg);
/* NULL when the context has none. */
OFCTX_EXTERN const char *ofctx_config_request_id(const ofctx_config_t *cfg);
OFCTX_EXTERN ofctx_runtime_t ofctx_config_runtime(const ofctx_config_t *cfg);
/* The port to serve on: PORT if set, else the context's, else 8080. */
OFCTX_EXTERN uint16_t ofctx_config_port(const ofctx_config_t *cfg);
/* The Knative function route; "/" by default. */
OFCTX_EXTERN const char *ofctx_config_http_pattern(const ofctx_config_t *cfg);
OFCTX_EXTERN ofctx_mode_t ofctx_config_mode(const ofctx_config_t *cfg);
/* POD_NAME / POD_NAMESPACE; NULL when unset (only possible in self-host mode). */
OFCTX_EXTERN const char *ofctx_config_pod_name(const ofctx_config_t *cfg);
OFCTX_EXTERN const char *ofctx_config_pod_namespace(const ofctx_config_t *cfg);
/* DAPR_HOST (default "127.0.0.1"), DAPR_HTTP_PORT (default 3500) and
 * DAPR_GRPC_PORT (default 50001). */
OFCTX_EXTERN const char *ofctx_config_dapr_host(const ofctx_config_t *cfg);
OFCTX_EXTERN uint16_t ofctx_config_dapr_http_port(const ofctx_config_t *cfg);
OFCTX_EXTERN uint16_t ofctx_config_dapr_grpc_port(const ofctx_config_t *cfg);

/* How the sidecar calls the function: APP_PROTOCOL "http" (or unset), or
 * "grpc" (also "h2c"): Dapr's AppCallback service over cleartext HTTP/2. */
typedef enum { OFCTX_APP_PROTOCOL_HTTP = 0, OFCTX_APP_PROTOCOL_GRPC = 1 } ofctx_app_protocol_t;
OFCTX_EXTERN ofctx_app_protocol_t ofctx_config_app_protocol(const ofctx_config_t *cfg);
/* DAPR_API_TOKEN (sent to the sidecar) and APP_API_TOKEN (required from the
 * sidecar); NULL when unset or empty. */
OFCTX_EXTERN const char *ofctx_config_dapr_api_token(const ofctx_config_t *cfg);
OFCTX_EXTERN const char *ofctx_config_app_api_token(const ofctx_config_t *cfg);

/* Inputs, outputs and state stores, in document order. `_at` returns NULL
 * when `i` is out of range; the by-name lookups return NULL when there is no
 * entry of that name. */
OFCTX_EXTERN size_t ofctx_config_input_count(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_input_at(const ofctx_config_t *cfg, size_t i);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_input(const ofctx_config_t *cfg,
                                                         const char *name);
OFCTX_EXTERN size_t ofctx_config_output_count(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_output_at(const ofctx_config_t *cfg, size_t i);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_output(const ofctx_config_t *cfg,
                                                          const char *name);
OFCTX_EXTERN size_t ofctx_config_state_count(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_state_at(const ofctx_config_t *cfg, size_t i);
OFCTX_EXTERN const ofctx_component_t *ofctx_config_state(const ofctx_config_t *cfg,
                                                         const char *name);

/* Plugin (hook) names in run order. With tracing enabled the provider is the
 * last pre-plugin and the first post-plugin. */
OFCTX_EXTERN const ofctx_strlist_t *ofctx_config_pre_plugins(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_strlist_t *ofctx_config_post_plugins(const ofctx_config_t *cfg);

/* Tracing: enabled or not; provider "skywalking" or "opentelemetry" and the
 * OAP server (NULL when tracing is off or none is set); tags (with func,
 * instance and namespace filled in as OpenFunction does) and baggage. */
OFCTX_EXTERN int ofctx_config_tracing_enabled(const ofctx_config_t *cfg);
OFCTX_EXTERN const char *ofctx_config_tracing_provider(const ofctx_config_t *cfg);
OFCTX_EXTERN const char *ofctx_config_tracing_oap_server(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_strmap_t *ofctx_config_tracing_tags(const ofctx_config_t *cfg);
OFCTX_EXTERN const ofctx_strmap_t *ofctx_config_tracing_baggage(const ofctx_config_t *cfg);

/* The entry's name: its key in inputs / outputs / states. */
OFCTX_EXTERN const char *ofctx_component_name(const ofctx_component_t *c);
/* The Dapr component's name (the context's componentName), as the sidecar
 * knows it; borrowed from the config. */
OFCTX_EXTERN const char *ofctx_component_dapr_name(const ofctx_component_t *c);
/* The whole componentType, e.g. "bindings.kafka". */
OFCTX_EXTERN const char *ofctx_component_type(const ofctx_component_t *c);
OFCTX_EXTERN ofctx_component_kind_t ofctx_component_kind(const ofctx_component_t *c);
/* Bindings: the component name, which is where Dapr delivers and takes a
 * binding, whatever uri the context gives (as in the Go framework).
 * Pub/sub: the topic; NULL only for a pub/sub output whose context names no
 * topic (v1beta2 contexts omit output topics). States: NULL. */
OFCTX_EXTERN const char *ofctx_component_uri(const ofctx_component_t *c);
/* The output binding operation (e.g. "create", "post"); NULL when unset. */
OFCTX_EXTERN const char *ofctx_component_operation(const ofctx_component_t *c);
/* The component's metadata from the context; empty when it has none. */
OFCTX_EXTERN const ofctx_strmap_t *ofctx_component_metadata(const ofctx_component_t *c);

/* Keys of the context that the library does not know, each as one message
 * ("$.inputs.kafka: unknown key \"metdata\", ignored; did you mean
 * \"metadata\"?"): most often typos. The runtime logs them at start, and
 * `ofctx context check` shows them. `_at` returns NULL past the end. */
OFCTX_EXTERN size_t ofctx_config_warning_count(const ofctx_config_t *cfg);
OFCTX_EXTERN const char *ofctx_config_warning_at(const ofctx_config_t *cfg, size_t i);

#ifdef __cplusplus
}
#endif
#endif
