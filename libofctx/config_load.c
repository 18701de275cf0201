/* The two ways to build a config: from the process environment, or from a
 * given context document plus the environment. */
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "error_msg.h"
#include "mem.h"

static ofctx_err_t parse(ofctx_config_t **out, const char *source, const char *json, size_t len,
                         const char *fallback, ofctx_getenv_fn getenv_fn, void *arg,
                         ofctx_error_t *err) {
  ofctx__env_t env;
  json_t *doc = NULL;
  char *headers = NULL;
  ofctx_err_t rc;

  *out = NULL;
  if ((rc = ofctx__env_read(&env, getenv_fn, arg, err)) != OFCTX_OK)
    return rc;
  rc = ofctx__context_parse(source, json, len, fallback, fallback ? strlen(fallback) : 0, &env,
                            &doc, &headers, err);
  if (rc == OFCTX_OK && (rc = ofctx__env_apply(&env, source, doc, err)) == OFCTX_OK) {
    rc = ofctx__config_new(doc, headers, &env, out, err);
    doc = NULL; /* stolen, with the headers */
    headers = NULL;
  }
  json_decref(doc);
  ofctx__free(headers);
  if (rc == OFCTX_OK)
    ofctx__error_clear(err);
  return rc;
}

ofctx_err_t ofctx_config_parse(ofctx_config_t **out, const char *source, const char *json,
                               size_t len, ofctx_getenv_fn getenv_fn, void *arg,
                               ofctx_error_t *err) {
  if (!out || (!json && len))
    return ofctx__error(err, OFCTX_EINVAL, "ofctx_config_parse: out and json are required");
  return parse(out, source ? source : "FUNC_CONTEXT", json ? json : "", len, NULL, getenv_fn, arg,
               err);
}

/* The variable's value when it is set and not empty; with `blank_is_unset`,
 * only JSON white space counts as empty too. */
static const char *document(ofctx_getenv_fn getenv_fn, void *arg, const char *name,
                            int blank_is_unset) {
  const char *value = getenv_fn ? getenv_fn(arg, name) : getenv(name);

  if (!value || !*value || (blank_is_unset && !value[strspn(value, " \t\r\n")]))
    return NULL;
  return value;
}

ofctx_err_t ofctx_config_load(ofctx_config_t **out, ofctx_getenv_fn getenv_fn, void *arg,
                              ofctx_error_t *err) {
  const char *v1beta2, *v1beta1;

  if (!out)
    return ofctx__error(err, OFCTX_EINVAL, "ofctx_config_load: out is required");
  *out = NULL;
  /* FUNC_CONTEXT_V1BETA2 wins, as in the Java framework, unless it is blank;
   * FUNC_CONTEXT, which the controller sets beside it, still supplies the
   * output topics that v1beta2 leaves out. An empty FUNC_CONTEXT is unset, as
   * in the Go framework. */
  v1beta2 = document(getenv_fn, arg, "FUNC_CONTEXT_V1BETA2", 1);
  v1beta1 = document(getenv_fn, arg, "FUNC_CONTEXT", 0);
  if (v1beta2)
    return parse(out, "FUNC_CONTEXT_V1BETA2", v1beta2, strlen(v1beta2), v1beta1, getenv_fn, arg,
                 err);
  if (v1beta1)
    return parse(out, "FUNC_CONTEXT", v1beta1, strlen(v1beta1), NULL, getenv_fn, arg, err);
  /* The Go framework's wording. */
  return ofctx__error(err, OFCTX_ENOCONTEXT,
                      "FUNC_CONTEXT: env FUNC_CONTEXT not found: set FUNC_CONTEXT to the "
                      "function context JSON");
}
