/* The notifier: flood control (flood.h) wired to the function's sends. It
 * queues the notifications the flood makes, sends them at most as fast as
 * a token bucket allows, and holds the acknowledgement of every record
 * that a firing notification carries until that notification has been
 * accepted: the record that fired it, and the records of its key that come
 * while it is on its way. A firing notification that fails nacks all of
 * them (Dapr delivers them again, and the next one fires again). */
#ifndef LH_NOTIFIER_H
#define LH_NOTIFIER_H

#include <ofctx/ofctx.h>

#include "flood.h"
#include "rules.h"

typedef struct lh_notifier lh_notifier_t;

/* `rules` is borrowed for the notifier's life; NULL when out of memory. */
lh_notifier_t *lh_notifier_new(const lh_rules_t *rules);
/* Frees what is left; call after the function stopped. */
void lh_notifier_free(lh_notifier_t *n);

/* A matching record of the invocation `ctx`, at wall time `wall`: folded,
 * held when a firing notification carries it, and what is due is sent.
 * OFCTX_SUCCESS, or OFCTX_ERROR when out of memory. */
ofctx_result_t lh_notifier_match(lh_notifier_t *n, ofctx_t *ctx, const lh_match_t *m, double wall);

/* The function's tick: what is due goes out; `stopping` resolves every
 * group and sends the whole queue, bucket or not. */
void lh_notifier_tick(lh_notifier_t *n, ofctx_t *ctx, int stopping, double wall);

/* Groups dropped because LOGS_MAX_KEYS were kept, and groups now. */
uint64_t lh_notifier_evictions(const lh_notifier_t *n);
size_t lh_notifier_groups(const lh_notifier_t *n);

#endif
