/* Internal: the Async runtime's inputs, whatever the transport (HTTP or
 * gRPC): the route Dapr delivers each input to, each input's bulk
 * subscription, and how many inputs there are. Made once when the mode
 * starts; the struct owns its routes and bulk configs, and borrows the
 * context. */
#ifndef OFCTX_ASYNC_INPUTS_H
#define OFCTX_ASYNC_INPUTS_H

#include <stddef.h>

#include "bulk.h"
#include "mode.h"
#include "ofctx/config.h"
#include "ofctx/error.h"

/* Where the pub/sub inputs are delivered: this, then the input's name. */
#define OFCTX__PUBSUB_PREFIX "/dapr/pubsub/"

typedef struct {
  const ofctx_config_t *cfg;
  /* Per input: the path Dapr delivers it to. A binding's is
   * /<componentName> (OpenFunction sets no `route` metadata); a pub/sub
   * input's is ours to choose: OFCTX__PUBSUB_PREFIX<name>. Both
   * percent-encoded, so no two inputs share one. */
  char **routes;
  ofctx__bulk_config_t *bulks; /* per input */
  size_t count;
  size_t max_entries;  /* of a bulk delivery, on any input */
  char count_text[24]; /* `count` in decimal, for the "started" log line */
} ofctx__async_inputs_t;

/* The inputs of `cfg` into `in`: OFCTX_OK, or OFCTX_ENOMEM with its
 * message in `err` (which may be NULL) and `in` left empty. */
ofctx_err_t ofctx__async_inputs_init(ofctx__async_inputs_t *in, const ofctx_config_t *cfg,
                                     ofctx_error_t *err);

/* The input Dapr delivers to `route`; `in->count` when there is none. */
size_t ofctx__async_inputs_at_route(const ofctx__async_inputs_t *in, const char *route);

/* The input of `kind` that a gRPC delivery names: by its route when
 * `route` is given and an input of that kind has it, else by its Dapr
 * component and (for pub/sub, when `topic` is not NULL) topic; `in->count`
 * when there is none. */
size_t ofctx__async_inputs_find(const ofctx__async_inputs_t *in, ofctx_component_kind_t kind,
                                const char *component, const char *topic, const char *route);

/* Frees what `in` owns and empties it; an empty `in` is fine. */
void ofctx__async_inputs_free(ofctx__async_inputs_t *in);

/* The state of an Async mode, whatever its transport: what it borrows of
 * the mode's environment and the inputs it owns. */
typedef struct {
  const ofctx_config_t *cfg;
  ofctx__host_t *host;
  ofctx__metrics_t *metrics;
  ofctx__async_inputs_t in;
  size_t max_metadata; /* metadata entries (and extensions) of an event */
} ofctx__async_t;

/* The mode table's start, describe ("inputs": their count) and stop of
 * both Async modes: the state, owned by the mode until stop frees it, or
 * NULL with the reason in `err`. */
void *ofctx__async_start(const ofctx__mode_env_t *env, ofctx_error_t *err);
void ofctx__async_describe(void *state, const char **key, const char **value);
void ofctx__async_stop(void *state);

#endif
