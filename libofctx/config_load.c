/* The two ways to build a config: from the process environment, or from a
 * given context document plus the environment. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

ofctx_err_t ofctx_config_parse(ofctx_config_t **out, const char *source, const char *json,
                               size_t len, ofctx_getenv_fn getenv_fn, void *arg,
                               ofctx_error_t *err) {
  ofctx__env_t env;
  json_t *doc = NULL;
  ofctx_err_t rc;

  if (!out || (!json && len))
    return ofctx__error(err, OFCTX_EINVAL, "ofctx_config_parse: out and json are required");
  *out = NULL;
  ofctx__env_read(&env, getenv_fn, arg);
  rc = ofctx__context_parse(source ? source : "FUNC_CONTEXT", json ? json : "", len, &env,
                            &doc, err);
  if (rc == OFCTX_OK && (rc = ofctx__env_apply(&env, doc, err)) == OFCTX_OK) {
    rc = ofctx__config_new(doc, &env, out, err);
    doc = NULL; /* stolen */
  }
  json_decref(doc);
  if (rc == OFCTX_OK)
    ofctx__error_clear(err);
  return rc;
}

ofctx_err_t ofctx_config_load(ofctx_config_t **out, ofctx_getenv_fn getenv_fn, void *arg,
                              ofctx_error_t *err) {
  static const char *const names[] = {"FUNC_CONTEXT_V1BETA2", "FUNC_CONTEXT"};

  if (!out)
    return ofctx__error(err, OFCTX_EINVAL, "ofctx_config_load: out is required");
  *out = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *json = getenv_fn ? getenv_fn(arg, names[i]) : getenv(names[i]);
    if (json && *json)
      return ofctx_config_parse(out, names[i], json, strlen(json), getenv_fn, arg, err);
  }
  /* The Go framework's wording. */
  return ofctx__error(err, OFCTX_ENOCONTEXT,
                      "FUNC_CONTEXT: env FUNC_CONTEXT not found: set FUNC_CONTEXT to the "
                      "function context JSON");
}
