/* Test support: the environments the public-API tests of the config give
 * ofctx_config_parse and ofctx_config_load (an ofctx_getenv_fn each). */
#ifndef OFCTX_TEST_UTIL_H
#define OFCTX_TEST_UTIL_H

#include <stddef.h>
#include <string.h>

/* No variable at all. */
static inline const char *no_env(void *arg, const char *name) {
  (void)arg;
  (void)name;
  return NULL;
}

/* A self-host environment with only the variables the test sets: `arg` is
 * a NULL-terminated array of name, value pairs (or NULL). */
static inline const char *self_host(void *arg, const char *name) {
  const char *const *pairs = arg;
  if (strcmp(name, "CONTEXT_MODE") == 0)
    return "self-host";
  for (; pairs && pairs[0]; pairs += 2)
    if (strcmp(pairs[0], name) == 0)
      return pairs[1];
  return NULL;
}

#endif
