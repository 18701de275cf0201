/* `logs-handler --check-rules FILE`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "check_rules.h"
#include "rules_doc.h"
#include "rules_load.h"

static int has_output(void *cfg, const char *name) {
  return ofctx_config_output(cfg, name) != NULL;
}

int lh_check_state_store(const ofctx_config_t *cfg, const char *entry, char *err, size_t size) {
  size_t used;

  if (ofctx_config_state(cfg, entry))
    return 0;
  used = (size_t)snprintf(err, size,
                          "settings.state_store (LOGS_STATE_STORE): the function context has no "
                          "states entry \"%.60s\" to keep the open incidents in (states:",
                          entry);
  for (size_t i = 0; used < size && i < ofctx_config_state_count(cfg); i++)
    used += (size_t)snprintf(err + used, size - used, " %s",
                             ofctx_component_name(ofctx_config_state_at(cfg, i)));
  if (used < size)
    snprintf(err + used, size - used, "%s)", ofctx_config_state_count(cfg) ? "" : " none");
  return -1;
}

/* The document of the file, compiled and checked: 0 and `*doc`, or -1
 * with the fault in `why`. */
static int checked(const ofctx_config_t *cfg, const char *path, json_t **doc, char *why,
                   size_t size) {
  lh_ruleset_t *rs = NULL;

  if (lh_rules_doc_load(doc, path, cfg ? has_output : NULL, (void *)cfg, why, size) != 0)
    return -1;
  if (lh_rules_compile(&rs, *doc, NULL, NULL, why, size) != 0 ||
      (cfg && lh_ruleset_state_store(rs) &&
       lh_check_state_store(cfg, lh_ruleset_state_store(rs), why, size) != 0)) {
    lh_ruleset_free(rs);
    json_decref(*doc);
    *doc = NULL;
    return -1;
  }
  lh_ruleset_free(rs);
  return 0;
}

int lh_check_rules(const ofctx_config_t *cfg, const char *path, FILE *out, FILE *err) {
  char why[1024];
  size_t n = strlen(path);
  json_t *doc;

  if (checked(cfg, path, &doc, why, sizeof why) == 0) {
    int rc = json_dumpf(doc, out, JSON_INDENT(2)) == 0 && fputc('\n', out) != EOF ? 0 : 2;
    if (rc != 0)
      fprintf(err, "%s: the rules could not be written: %s\n", path, strerror(errno));
    json_decref(doc);
    return rc;
  }
  /* a syntax error names the file already ("FILE:LINE:COL: ...") */
  if (strncmp(why, path, n) == 0 && why[n] == ':')
    fprintf(err, "%s\n", why);
  else
    fprintf(err, "%s: %s\n", path, why);
  return 2;
}
