/* One Fluent Bit record, all the way: parsed, matched against the rules,
 * and turned into an alert when it matches. The function runs it on the
 * records that pass the prefilter (lh_rules_may_match); the fuzzer runs it
 * on every record, to check that the prefilter never skips an alert. */
#ifndef LH_RECORD_H
#define LH_RECORD_H

#include <stddef.h>

#include "rules.h"

typedef enum {
  LH_IGNORE, /* a record that does not alert */
  LH_ALERT,  /* `*alert` holds the alert's JSON (free with free()) */
  LH_DROP,   /* not JSON, or not a Kubernetes record: `*why` says which */
  LH_NOMEM   /* out of memory */
} lh_verdict_t;

/* `now` is the time of handling (seconds since the epoch). */
lh_verdict_t lh_record_check(const lh_rules_t *rules, const char *record, size_t len, double now,
                             char **alert, size_t *alert_len, const char **why);

#endif
