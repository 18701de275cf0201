/* The Async runtime's inputs: the routes Dapr delivers them to, their bulk
 * subscriptions and their lookups, shared by the HTTP and the gRPC mode. */
#include <stdio.h>
#include <string.h>

#include "async_inputs.h"
#include "buf.h"
#include "error_msg.h"
#include "mem.h"

/* `prefix` and the percent-encoded `name`; NULL when out of memory. */
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

static char *route_of(const ofctx_component_t *in) {
  if (ofctx_component_kind(in) == OFCTX_COMPONENT_BINDING)
    return route_for("/", ofctx_component_dapr_name(in));
  return route_for(OFCTX__PUBSUB_PREFIX, ofctx_component_name(in));
}

ofctx_err_t ofctx__async_inputs_init(ofctx__async_inputs_t *in, const ofctx_config_t *cfg,
                                     ofctx_error_t *err) {
  size_t n = ofctx_config_input_count(cfg);

  *in = (ofctx__async_inputs_t){.cfg = cfg, .count = n};
  snprintf(in->count_text, sizeof in->count_text, "%zu", n);
  in->routes = ofctx__calloc(n ? n : 1, sizeof *in->routes);
  in->bulks = ofctx__calloc(n ? n : 1, sizeof *in->bulks);
  if (!in->routes || !in->bulks)
    goto out_free;
  for (size_t i = 0; i < n; i++) {
    const ofctx_component_t *input = ofctx_config_input_at(cfg, i);
    in->routes[i] = route_of(input);
    if (!in->routes[i])
      goto out_free;
    ofctx__bulk_config(input, &in->bulks[i]);
    if (ofctx__bulk_max_entries(&in->bulks[i]) > in->max_entries)
      in->max_entries = ofctx__bulk_max_entries(&in->bulks[i]);
  }
  return OFCTX_OK;

out_free:
  ofctx__async_inputs_free(in);
  return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
}

size_t ofctx__async_inputs_at_route(const ofctx__async_inputs_t *in, const char *route) {
  size_t i = 0;

  while (i < in->count && strcmp(in->routes[i], route) != 0)
    i++;
  return i;
}

size_t ofctx__async_inputs_find(const ofctx__async_inputs_t *in, ofctx_component_kind_t kind,
                                const char *component, const char *topic, const char *route) {
  size_t i = route && route[0] ? ofctx__async_inputs_at_route(in, route) : in->count;

  if (i < in->count && ofctx_component_kind(ofctx_config_input_at(in->cfg, i)) == kind)
    return i;
  for (i = 0; i < in->count; i++) {
    const ofctx_component_t *input = ofctx_config_input_at(in->cfg, i);
    if (ofctx_component_kind(input) == kind &&
        strcmp(ofctx_component_dapr_name(input), component) == 0 &&
        (!topic || strcmp(ofctx_component_uri(input), topic) == 0))
      return i;
  }
  return in->count;
}

void ofctx__async_inputs_free(ofctx__async_inputs_t *in) {
  for (size_t i = 0; in->routes && i < in->count; i++)
    ofctx__free(in->routes[i]);
  ofctx__free(in->routes);
  ofctx__free(in->bulks);
  *in = (ofctx__async_inputs_t){0};
}

void *ofctx__async_start(const ofctx__mode_env_t *env, ofctx_error_t *err) {
  ofctx__async_t *a = ofctx__calloc(1, sizeof *a);

  if (!a) {
    ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    return NULL;
  }
  if (ofctx__async_inputs_init(&a->in, env->cfg, err) != OFCTX_OK) {
    ofctx__free(a);
    return NULL;
  }
  a->cfg = env->cfg;
  a->host = env->host;
  a->metrics = env->metrics;
  a->max_metadata = env->max_metadata;
  return a;
}

void ofctx__async_describe(void *state, const char **key, const char **value) {
  ofctx__async_t *a = state;
  *key = "inputs";
  *value = a->in.count_text;
}

void ofctx__async_stop(void *state) {
  ofctx__async_t *a = state;

  ofctx__async_inputs_free(&a->in);
  ofctx__free(a);
}
