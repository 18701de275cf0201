/* Internal: how an invocation ended, as the input's answer says it. The
 * core decides it, the modes answer with it, the counters count it. Header
 * only; the names are static strings. */
#ifndef OFCTX_OUTCOME_H
#define OFCTX_OUTCOME_H

typedef enum {
  OFCTX__OUTCOME_SUCCESS, /* acknowledged */
  OFCTX__OUTCOME_DROP,    /* acknowledged as poison, never retried */
  OFCTX__OUTCOME_RETRY,   /* not acknowledged: Dapr delivers it again */
  OFCTX__OUTCOME_COUNT
} ofctx__outcome_t;

/* Returns "success", "drop" or "retry" (also for a value out of range). */
static inline const char *ofctx__outcome_name(ofctx__outcome_t outcome) {
  static const char *const names[] = {"success", "drop", "retry"};
  return outcome < OFCTX__OUTCOME_COUNT ? names[outcome] : "retry";
}

#endif
