/* Fuzz target: a rules file through the logs-handler's YAML reader and
 * schema. Any input ends in a document or in one message; a document
 * holds every key of a rule, and its JSON text reads back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rules_doc.h"
#include "rules_yaml.h"

static int has_output(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "notification-manager") == 0;
}

/* Every rule has the normalized document's keys. */
static void check_doc(const json_t *doc) {
  static const char *const keys[] = {
      "name",   "severity", "output",   "format",    "repeat_interval", "resolve_after", "lease",
      "select", "match",    "group_by", "condition", "labels",          "annotations",   "samples"};
  json_t *rules = json_object_get(doc, "rules"), *rule;
  size_t i;
  char *text = json_dumps(doc, 0);
  json_t *back = text ? json_loads(text, 0, NULL) : NULL;

  if (!json_is_array(rules) || json_array_size(rules) == 0 || !json_object_get(doc, "settings"))
    abort();
  json_array_foreach(rules, i, rule) {
    if (json_object_size(rule) != sizeof keys / sizeof keys[0])
      abort();
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      if (!json_object_get(rule, keys[k]))
        abort();
  }
  if (text && back && !json_equal(doc, back))
    abort();
  json_decref(back);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *file, *doc;
  char err[512];

  if (lh_yaml_parse(&file, (const char *)data, size, "fuzz.yaml", err, sizeof err) != 0) {
    if (!err[0])
      abort();
    return 0;
  }
  err[0] = '\0';
  if (lh_rules_doc_normalize(&doc, file, has_output, NULL, err, sizeof err) == 0) {
    check_doc(doc);
    json_decref(doc);
  } else if (!err[0]) {
    abort();
  }
  json_decref(file);
  return 0;
}
