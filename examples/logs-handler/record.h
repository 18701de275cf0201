/* One Fluent Bit record, all the way: parsed, matched against the rules,
 * and turned into a hit (what flood.h groups) when it matches: the rule 0
 * with the key [namespace, pod, container, status], the fields path,
 * method and client, and the path as its sample. The function runs it on the
 * records that pass the prefilter (lh_rules_may_match); the fuzzer runs it
 * on every record, to check that the prefilter never skips an alert. */
#ifndef LH_RECORD_H
#define LH_RECORD_H

#include <stddef.h>

#include "flood.h"
#include "rules.h"

typedef enum {
  LH_IGNORE, /* a record that does not alert */
  LH_MATCH,  /* `out->hit` says what matched; lh_record_clear it */
  LH_DROP,   /* not JSON, or not a Kubernetes record: `*why` says which */
  LH_NOMEM   /* out of memory */
} lh_verdict_t;

/* A matching record: `hit` points into what the rest holds (so the record
 * stays where lh_record_check made it until lh_record_clear). */
typedef struct {
  lh_hit_t hit;
  void *json; /* the parsed record (jansson) */
  char *method, *path, *client;
  char status[8];
  const char *key[4];
  lh_field_t fields[3];
} lh_record_t;

/* `now` is the time of handling (seconds since the epoch), the record's
 * time when it carries none. `out` is set for LH_MATCH only. */
lh_verdict_t lh_record_check(const lh_rules_t *rules, const char *record, size_t len, double now,
                             lh_record_t *out, const char **why);
void lh_record_clear(lh_record_t *r);

/* The rules' one condition for the flood: ANY, with LOGS_REPEAT_INTERVAL,
 * LOGS_QUIET_PERIOD and 3 samples. */
lh_cond_t lh_record_cond(const lh_rules_t *rules);

/* The notifier's format (lh_format_fn) for these rules (`rules`, an
 * lh_rules_t): the note of a hit above as alert.h's notification, sent to
 * LOGS_OUTPUT. */
char *lh_record_alert(void *rules, const lh_note_t *note, double wall, size_t *len,
                      const char **output);

#endif
