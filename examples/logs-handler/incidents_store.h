/* The open incidents in a state store (opt-in: settings.state_store or
 * LOGS_STATE_STORE names an entry of the function context's `states`), so
 * that a restart or a scale to zero neither fires again what still fires
 * nor leaves open what went quiet meanwhile (docs/logs-handler.md,
 * "Incidents across restarts").
 *
 * One key per rule, "incidents-RULE" (Dapr puts the app id before it),
 * whose value is a JSON document (incidents_doc.h):
 *   {"version": 1, "rule": "logs-404", "condition": "any",
 *    "group_by": ["namespace", "pod", "container", "status"],
 *    "incidents": {ID: {"key": ["demo-project", "wordpress-v1-..", ..],
 *                       "count": 3, "first_seen": T, "last_seen": T,
 *                       "notified": T, "samples": ["/a", ..],
 *                       "first_fields": [[NAME, VALUE], ..],
 *                       "last_fields": [[NAME, VALUE], ..]}}}
 * ID is the key's values as a compact JSON array; times are seconds since
 * the epoch, by the records' clock; `notified` is the clock at the
 * incident's last notification (its repeat_interval runs from it).
 *
 * A notification the output accepted is kept (a FIRING or UPDATE puts its
 * incident, a RESOLVED deletes it) by a read and a write of its rule's
 * key: the read gives the ETag, the write is first-write with it, and a
 * conflict (another replica wrote between) reads and writes again, up to
 * LH_STORE_TRIES times. One write per key at a time; the changes that come
 * meanwhile go together in the next. The invocations a change holds (the
 * records a FIRING carries) are released once its write has finished, with
 * its outcome. At start the rules' keys are read (lh_store_tick) and their
 * incidents restored into the notifier (lh_notifier_restore), with no
 * notification.
 *
 * Ownership: the store copies the entry's name; the notifier and the rules
 * are borrowed (lh_store_use) and must outlive the store's use of them. */
#ifndef LH_INCIDENTS_STORE_H
#define LH_INCIDENTS_STORE_H

#include <stddef.h>

#include <jansson.h>
#include <ofctx/ofctx.h>

#include "incidents_doc.h"
#include "notifier.h"
#include "rule.h"

#define LH_STORE_TRIES 5     /* a write's attempts when the ETag keeps changing */
#define LH_STORE_RETRY_S 5.0 /* seconds before a failed read or write is tried again */

typedef struct lh_store lh_store_t;

/* A store on the states entry `entry`; NULL when out of memory. */
lh_store_t *lh_store_new(const char *entry);
/* Frees it, without releasing what it still holds: call after the
 * function stopped. */
void lh_store_free(lh_store_t *s);
/* The notifier to restore into and the rules (after a reload too). */
void lh_store_use(lh_store_t *s, lh_notifier_t *n, const lh_ruleset_t *rules);

/* Called once each load has ended (in the turn `ctx`, still open): `ok`
 * 1 when the incidents are loaded, 0 when a read failed (tried again
 * LH_STORE_RETRY_S later). NULL: none. */
typedef void (*lh_store_loaded_fn)(void *arg, ofctx_t *ctx, int ok);
void lh_store_on_load(lh_store_t *s, lh_store_loaded_fn fn, void *arg);

/* The notifier's persist callback (lh_persist_fn), `arg` the store. */
int lh_store_persist(void *arg, ofctx_t *ctx, const lh_note_t *note, ofctx_t *const *held,
                     size_t count);

/* A turn of the function (a tick, or an invocation before the load
 * finished), at wall time `wall`: reads the rules' keys if they are not
 * loaded and no read is on its way (again LH_STORE_RETRY_S after one
 * failed), and writes what is waiting with no write on its way (again
 * LH_STORE_RETRY_S after a write failed; at once when `stopping`). */
void lh_store_tick(lh_store_t *s, ofctx_t *ctx, int stopping, double wall);

/* What the store did since start: incidents restored by loads, and
 * dropped (their rule changed); writes (a read and a write, or a delete)
 * that finished ok, that failed (tried again later), and ETag conflicts
 * met on the way (each read and written again). */
typedef struct {
  uint64_t restored, dropped, writes_ok, writes_failed, conflicts;
} lh_store_counts_t;
const lh_store_counts_t *lh_store_counts(const lh_store_t *s);

/* 1 once the open incidents are loaded (before, the records that may
 * match are not taken: they are delivered again). */
int lh_store_ready(const lh_store_t *s);
/* The states entry's name. */
const char *lh_store_entry(const lh_store_t *s);

#endif
