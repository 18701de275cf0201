/* The stored document of a rule's open incidents (incidents_store.h has
 * its shape): an incident from a note and back, a document checked, and
 * changes merged into it. No I/O. Ownership as each function says. */
#ifndef LH_INCIDENTS_DOC_H
#define LH_INCIDENTS_DOC_H

#include <stddef.h>

#include <jansson.h>

#include "flood.h"

/* One stored incident as a note: the note's arrays point into the arrays
 * here, its strings into the JSON it was read from. */
typedef struct {
  lh_note_t note;
  const char *key[LH_KEY_MAX];
  const char *samples[LH_SAMPLES_MAX];
  lh_field_t first[LH_FIELDS_MAX], last[LH_FIELDS_MAX];
} lh_incident_t;

/* The key "incidents-RULE" of `rule` into `out`: 0, or -1 when it does not
 * fit. */
int lh_incident_key(const char *rule, char *out, size_t size);
/* The ID of the incident of `key` (`n` values): a compact JSON array, to
 * free with free(); NULL when out of memory. */
char *lh_incident_id(const char *const *key, size_t n);
/* The incident as a note says it (kind and rule are not kept); NULL when
 * out of memory. The caller owns it. */
json_t *lh_incident_json(const lh_note_t *note);
/* A stored incident back into `out` (a FIRING note of rule 0, `now` its
 * `notified`; strings borrowed from `j`): 0, or -1 with why in `err` when
 * it is not one. */
int lh_incident_parse(const json_t *j, lh_incident_t *out, char *err, size_t size);
/* A stored document checked: 0, or -1 with why in `err`. */
int lh_incidents_doc_check(const json_t *doc, char *err, size_t size);
/* A new document: `stored` (NULL: none) with `changes` (ID → incident, or
 * null: deleted) applied, and the header of `rule`, `condition` and
 * `group_by` (borrowed, may be NULL: kept). NULL when out of memory. */
json_t *lh_incidents_merge(const json_t *stored, const json_t *changes, const char *rule,
                           const char *condition, const json_t *group_by);

#endif
