/* One Fluent Bit record, all the way: parsed, matched against the rules,
 * and turned into a match (what flood.h groups) when it matches. The function runs it on the
 * records that pass the prefilter (lh_rules_may_match); the fuzzer runs it
 * on every record, to check that the prefilter never skips an alert. */
#ifndef LH_RECORD_H
#define LH_RECORD_H

#include <stddef.h>

#include "flood.h"
#include "rules.h"

typedef enum {
  LH_IGNORE, /* a record that does not alert */
  LH_MATCH,  /* `out->match` says what matched; lh_record_clear it */
  LH_DROP,   /* not JSON, or not a Kubernetes record: `*why` says which */
  LH_NOMEM   /* out of memory */
} lh_verdict_t;

/* A matching record: `match` points into what the rest holds. */
typedef struct {
  lh_match_t match;
  void *json; /* the parsed record (jansson) */
  char *method, *path, *client;
} lh_record_t;

/* `now` is the time of handling (seconds since the epoch), the record's
 * time when it carries none. `out` is set for LH_MATCH only. */
lh_verdict_t lh_record_check(const lh_rules_t *rules, const char *record, size_t len, double now,
                             lh_record_t *out, const char **why);
void lh_record_clear(lh_record_t *r);

#endif
