/* Internal: the secrets of the direct mode's components, a metadata
 * entry's `secretKeyRef: {name, key}` read without a sidecar and without
 * a Kubernetes API client:
 *
 * - with no `auth.secretStore`, or "kubernetes" (Dapr's default store on
 *   Kubernetes): the file OFCTX_SECRETS_PATH/<name>/<key>, as a Secret
 *   volume mounted at OFCTX_SECRETS_PATH/<name> holds it; its exact bytes;
 * - with an `auth.secretStore` naming a `secretstores.local.file`
 *   component of the resources directory: its JSON `secretsFile`, read as
 *   Dapr reads it (`nestedSeparator`, `multiValued`);
 * - ... or a `secretstores.local.env` component: the environment variable
 *   <prefix><name>.
 *
 * Any other store is refused, naming it. No message holds a secret. */
#ifndef OFCTX_SECRETS_H
#define OFCTX_SECRETS_H

#include "components.h"
#include "ofctx/error.h"

/* The largest secret read (a Kubernetes Secret holds at most 1 MiB). */
#define OFCTX__SECRET_MAX (1u << 20)

/* Reads the secret of entry `i` of `c` (its ref_names[i] and ref_keys[i])
 * with the stores of `set` (borrowed). OFCTX_OK and `*out` (the caller
 * frees it); or OFCTX_ECOMPONENT (no such secret, a store the direct mode
 * cannot read, a file it cannot read) naming the file, the component, the
 * key and where it looked; OFCTX_ENOMEM. */
ofctx_err_t ofctx__secret_read(const ofctx__comps_t *set, const ofctx__comp_t *c, size_t i,
                               char **out, ofctx_error_t *err);

#endif
