/* Fuzz target: an annotation template and the values it meets. The input
 * is the template, then NUL-separated values (the key's and the fields').
 * The check and the field list agree on which templates are valid; a
 * rendering is valid UTF-8 within its buffer; the alert of a rule with the
 * template, in both formats, is JSON whose strings are the ones given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "template.h"

static void ignore(void *arg, const char *name, size_t len) {
  (void)arg;
  (void)name;
  (void)len;
}

static const char *value(void *arg, const char *name, size_t len) {
  (void)name;
  return len % 2 ? arg : NULL;
}

static void alert(const char *tmpl, const char *const *values, lh_format_t format) {
  static const char *const group_by[] = {"namespace", "pod", "labels.app"};
  const lh_field_t fields[] = {{"path", values[3]}, {"status", values[4]}};
  const lh_field_t annotations[] = {{"summary", tmpl}, {values[5], tmpl}};
  const lh_field_t labels[] = {{values[6], values[0]}};
  lh_notify_t r = {.name = "fuzz",
                   .severity = "warning",
                   .receiver = "r",
                   .format = format,
                   .lease = 60,
                   .resolve_after = 30,
                   .window = 90,
                   .group_by = group_by,
                   .group_by_count = 3,
                   .labels = labels,
                   .label_count = 1,
                   .annotations = annotations,
                   .annotation_count = 2,
                   .kind = LH_COND_RATIO,
                   .ratio = 0.5};
  lh_note_t n = {.kind = LH_NOTE_UPDATE,
                 .key = values,
                 .key_count = 3,
                 .count = 3,
                 .new_count = 1,
                 .total = 4,
                 .suppressed = 2,
                 .first_seen = 1700000000.0,
                 .last_seen = 1700000001.0,
                 .now = 1700000002.0,
                 .first_fields = fields,
                 .last_fields = fields,
                 .first_count = 2,
                 .last_count = 2,
                 .samples = values,
                 .sample_count = 3};
  size_t len;
  char *text = lh_alert_json(&r, &n, 1700000000.0, &len);
  json_t *parsed = text ? json_loadb(text, len, 0, NULL) : NULL;

  if (text && !parsed)
    abort();
  json_decref(parsed);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1), err[256], out[64];
  const char *values[7] = {"", "", "", "", "", "", ""};
  size_t at, count = 0;

  if (!copy)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  for (at = strlen(copy) + 1; at <= size && count < 7; at += strlen(copy + at) + 1)
    values[count++] = copy + at;
  if (lh_template_check(copy, NULL, err, sizeof err) == 0 &&
      lh_template_fields(copy, ignore, NULL) < 0)
    abort();
  if (lh_template_render(copy, value, (void *)values[0], out, sizeof out) >= sizeof out ||
      !lh_utf8_valid(out, strlen(out)))
    abort();
  alert(copy, values, LH_FORMAT_NOTIFICATION_MANAGER);
  alert(copy, values, LH_FORMAT_ALERTMANAGER);
  free(copy);
  return 0;
}
