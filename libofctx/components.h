/* Internal: the Dapr Component files of the direct mode (OFCTX_DIRECT=1,
 * OFCTX_RESOURCES_PATH=DIR): the directory a sidecar would load (`dapr run
 * --resources-path`), read with libyaml, each component the context names
 * matched by `metadata.name` = componentName and checked against what the
 * direct mode implements. A key it does not implement is refused, naming
 * the file, the component and the key: never ignored. The loaded set owns
 * every string; it borrows nothing of the context after the load. */
#ifndef OFCTX_COMPONENTS_H
#define OFCTX_COMPONENTS_H

#include <stddef.h>
#include <stdint.h>

#include "ofctx/config.h"
#include "ofctx/error.h"

/* The component types the direct mode serves. */
typedef enum {
  OFCTX__COMP_KAFKA_BINDING, /* bindings.kafka: an input */
  OFCTX__COMP_KAFKA_PUBSUB,  /* pubsub.kafka: an input */
  OFCTX__COMP_HTTP_BINDING   /* bindings.http: an output */
} ofctx__comp_type_t;

/* One component, its metadata checked. */
typedef struct {
  char *file; /* the file it came from, as found in the directory */
  char *name; /* metadata.name */
  char *type; /* spec.type */
  ofctx__comp_type_t type_id;
  char **keys; /* spec.metadata: names and values, `count` of each */
  char **values;
  /* per entry: a secretKeyRef's name and key (NULL for a value given as
   * such), until the load resolves it into `values` */
  char **ref_names, **ref_keys;
  size_t count;
  char *secret_store; /* auth.secretStore, or NULL */
} ofctx__comp_t;

/* A secret store of the directory (any `secretstores.*` component, named
 * by the context or not): the direct mode reads `secretstores.local.file`
 * and `secretstores.local.env`, and refuses the others when a component
 * names them. */
typedef struct {
  char *file, *name, *type;
  char **keys, **values; /* spec.metadata, as given */
  size_t count;
} ofctx__secret_store_t;

typedef struct {
  ofctx__comp_t *items; /* the components the context names, in file order */
  size_t count;
  /* Per input and per output of the context: its component (borrowed
   * from `items`). */
  const ofctx__comp_t **inputs;
  const ofctx__comp_t **outputs;
  size_t input_count, output_count;
  ofctx__secret_store_t *stores;
  size_t store_count;
  /* The app id daprd would run the function under, which its templates'
   * {appID} and a publish's CloudEvent (its source) name: APP_ID, else
   * OpenFunction's "<function>-<namespace>", else the function's name. */
  char *app_id;
} ofctx__comps_t;

/* Reads the *.yaml and *.yml files of `dir` (in name order) and matches
 * them to the inputs and outputs of `cfg`. A `secretKeyRef` is resolved
 * here: from `auth.secretStore` when it names a secretstores.local.file or
 * secretstores.local.env component of `dir`, else (no store, or
 * "kubernetes") from the file OFCTX_SECRETS_PATH/<name>/<key> of a
 * mounted Secret volume. No message ever holds a secret's value. OFCTX_OK; or, with `set` left
 * empty and the reason in `err` (which may be NULL): OFCTX_EIO (the
 * directory or a file cannot be read), OFCTX_ECOMPONENT (a file is not a
 * Dapr component, a type or key the direct mode does not implement, a
 * value it cannot take, a component the context names that no file holds,
 * two files of one name), OFCTX_ENOMEM. */
ofctx_err_t ofctx__comps_load(ofctx__comps_t *set, const char *dir, const ofctx_config_t *cfg,
                              ofctx_error_t *err);

/* The authType of Kafka component `c` (checked at load): "none",
 * "password", "mtls", "certificate" or "oidc"; without one, what the
 * deprecated authRequired means (password with a saslPassword, else mtls;
 * none when false or not given). */
const char *ofctx__comp_auth_type(const ofctx__comp_t *c);

/* Whether `c` has boolean metadata `key` (Go's strconv.ParseBool) true. */
int ofctx__comp_true(const ofctx__comp_t *c, const char *key);

/* The value of metadata `key` of `c`, or NULL when it has none. */
const char *ofctx__comp_value(const ofctx__comp_t *c, const char *key);

/* A Go duration ("15s", "200ms", "1m30s"; whole numbers of ns, us, ms, s,
 * m, h) in milliseconds, rounded down: 0, or -1 when it is none or does not
 * fit. */
int ofctx__go_duration_ms(const char *s, uint64_t *ms);

/* Frees what `set` owns and leaves it empty; an empty set is fine. */
void ofctx__comps_free(ofctx__comps_t *set);

#endif
