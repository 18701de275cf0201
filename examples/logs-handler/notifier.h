/* The notifier: flood control (flood.h) wired to the function's sends. It
 * queues the notifications the flood makes, sends them at most as fast as
 * a token bucket allows, and holds the acknowledgement of every record
 * that a firing notification carries until that notification has been
 * accepted: the record that fired it, and the records of its key that come
 * while it is on its way. A firing notification that fails nacks all of
 * them (Dapr delivers them again, and the next one fires again).
 *
 * Nothing is dropped by the rate limit: a notification with no token waits
 * in the queue, and is counted for its rule as suppressed; the rule's next
 * notification carries the count (lh_note_t.suppressed), and
 * lh_notifier_suppressed gives the totals. What a note says and where it
 * goes is the caller's (the format callback): the notifier knows no rules.
 *
 * The queue holds a copy of each note (the notifier's, one allocation), made
 * text by the format callback when it is sent (or when the rules are
 * reloaded, by the rules it was made under). A group's UPDATE still queued
 * is replaced by the group's next UPDATE or RESOLVED, whose counts are the
 * group's so far: it takes the queued one's place, adds its new_count and
 * its suppressed, and counts it as held back (in its suppressed, and in
 * lh_notifier_suppressed). A FIRING is never replaced (it holds records). */
#ifndef LH_NOTIFIER_H
#define LH_NOTIFIER_H

#include <ofctx/ofctx.h>

#include "flood.h"

typedef struct lh_notifier lh_notifier_t;

/* What the format callback makes of a note: the output to send it to and
 * its rule's name for the log lines (both copied by the notifier). */
typedef struct {
  const char *output, *rule;
} lh_note_dest_t;

/* A note as the text to send (JSON, free with free()), at wall time `wall`
 * (its send's, or a reload's), with `*dest` filled. `*len` is the text's
 * length. NULL when out of memory. `note` is borrowed for the call. */
typedef char *(*lh_format_fn)(void *arg, const lh_note_t *note, double wall, size_t *len,
                              lh_note_dest_t *dest);

/* A notification the output accepted (FIRING, UPDATE or RESOLVED; its
 * rule's index as now), of the turn `ctx` (still open), to be kept: the
 * invocations it held (`held`, `count`: each one hold) are the callback's
 * to release once what it keeps is kept. 0; -1 when it could not take it
 * (then the notifier releases them with OFCTX_ESTATE). Everything is
 * borrowed for the call. */
typedef int (*lh_persist_fn)(void *arg, ofctx_t *ctx, const lh_note_t *note, ofctx_t *const *held,
                             size_t count);

typedef struct {
  size_t max_keys;        /* flood groups kept at once (LOGS_MAX_KEYS) */
  double rate, burst;     /* notifications a second, and at most saved */
  const lh_cond_t *conds; /* one per rule, copied */
  size_t rule_count;      /* of conds */
  lh_format_fn format;    /* required */
  void *arg;              /* format's, borrowed for the notifier's life */
  /* NULL, or where the accepted notifications are kept (the open incidents
   * in a state store, incidents_store.h); with one, a stop resolves
   * nothing: the incidents stay open for the next run. */
  lh_persist_fn persist;
  void *persist_arg;
} lh_notifier_config_t;

/* NULL when out of memory. */
lh_notifier_t *lh_notifier_new(const lh_notifier_config_t *cfg);
/* Frees what is left; call after the function stopped. */
void lh_notifier_free(lh_notifier_t *n);

/* A hit (a record that passed a rule's select) of the invocation `ctx`, at
 * wall time `wall`: folded, held when a firing notification carries it, and
 * what is due is sent. OFCTX_SUCCESS, or OFCTX_ERROR when out of memory. */
ofctx_result_t lh_notifier_hit(lh_notifier_t *n, ofctx_t *ctx, const lh_hit_t *h, double wall);

/* A record that hit no rule, of `time`, at wall time `wall`: the flood's
 * clock follows it (lh_flood_record). */
void lh_notifier_record(lh_notifier_t *n, double time, double wall);

/* The function's tick: what is due goes out; `stopping` resolves every
 * group (but with `persist`: none) and sends the whole queue, bucket or
 * not. */
void lh_notifier_tick(lh_notifier_t *n, ofctx_t *ctx, int stopping, double wall);

/* An incident a previous run left open: lh_flood_restore. */
int lh_notifier_restore(lh_notifier_t *n, const lh_note_t *note, double wall);

/* A reload: see lh_flood_set_rules. 0, or -1 when out of memory. */
int lh_notifier_set_rules(lh_notifier_t *n, const lh_cond_t *conds, size_t rule_count,
                          const size_t *old_to_new);

/* What a rule did since it was loaded (a reload keeps the counts of the
 * rules it keeps): records it matched, and notifications by kind (FIRING,
 * UPDATE, RESOLVED) that the output accepted, and that failed. */
typedef struct {
  uint64_t matched;
  uint64_t sent[3], failed[3];
} lh_rule_counts_t;

/* Rule `rule`'s counts, or NULL when there is no such rule. */
const lh_rule_counts_t *lh_notifier_counts(const lh_notifier_t *n, size_t rule);

/* Groups dropped because max_keys were kept, and groups now. */
uint64_t lh_notifier_evictions(const lh_notifier_t *n);
size_t lh_notifier_groups(const lh_notifier_t *n);
/* Per rule: groups now, and notifications held back by the rate limit. */
size_t lh_notifier_rule_groups(const lh_notifier_t *n, size_t rule);
uint64_t lh_notifier_suppressed(const lh_notifier_t *n, size_t rule);

#endif
