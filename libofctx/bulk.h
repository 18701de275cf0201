/* Internal: a bulk delivery (Dapr's bulkSubscribe): a batch of pub/sub
 * entries, each its own invocation of the function, and one answer for the
 * batch once every entry has settled. It knows no transport: the mode that
 * reads the batch hands it each entry's event and gets the statuses back. */
#ifndef OFCTX_BULK_H
#define OFCTX_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "invocation.h"
#include "outcome.h"

typedef struct ofctx__bulk ofctx__bulk_t;

/* A pub/sub input's bulkSubscribe, from its metadata: bulkSubscribe
 * ("true" or "false"), bulkSubscribeMaxMessagesCount (1-100000) and
 * bulkSubscribeMaxAwaitDurationMs (1-3600000). */
typedef struct {
  int enabled;
  long max_messages, max_await_ms; /* 0: Dapr's default */
} ofctx__bulk_config_t;

/* Dapr's maxMessagesCount and maxAwaitDurationMs when the subscription
 * sets none. */
#define OFCTX__BULK_DEFAULT_MAX 100
#define OFCTX__BULK_DEFAULT_AWAIT_MS 1000

/* The input's (all zero for a binding: Dapr delivers a binding's messages
 * one at a time), from metadata the config has checked (config_env.c:
 * `ofctx context check` refuses what start-up would). */
void ofctx__bulk_config(const ofctx_component_t *in, ofctx__bulk_config_t *out);
/* The same for a mode that reads a binding's records itself (the direct
 * mode): a bindings.kafka input's metadata is read as a pub/sub input's. */
void ofctx__bulk_config_any(const ofctx_component_t *in, ofctx__bulk_config_t *out);
/* Whether `key` is one of those, which are the subscription's and never
 * the component's metadata. */
int ofctx__bulk_metadata_key(const char *key);

/* The most entries a delivery of that input may hold: its
 * maxMessagesCount, which Dapr never exceeds, or Dapr's default. */
size_t ofctx__bulk_max_entries(const ofctx__bulk_config_t *config);
/* For a mode that gathers a batch itself from the records it holds
 * (`held`, the first of them `age_ms` old; `more`: whether more may still
 * come): 0 when the batch goes now (full, nothing more can come, or its
 * first record waited maxAwaitDurationMs), else the milliseconds it may
 * still wait for more. */
uint64_t ofctx__bulk_wait_ms(const ofctx__bulk_config_t *config, size_t held, int more,
                             uint64_t age_ms);
/* The bytes a batch of `count` entries holds besides what the entries
 * decode (each entry, its invocation): what a mode counts in its budget. */
size_t ofctx__bulk_cost(size_t count);

/* Called once, when every entry has an outcome; it answers `req` (the
 * mode's handle, as given to ofctx__bulk_new) and frees the batch. */
typedef void (*ofctx__bulk_answer_fn)(void *req, ofctx__bulk_t *bulk);

/* A batch of `count` entries of input `input`, delivered by `req`
 * (borrowed until the answer). NULL when out of memory. */
ofctx__bulk_t *ofctx__bulk_new(ofctx__host_t *host, void *req, size_t input, size_t count,
                               ofctx__bulk_answer_fn answer);

/* The metadata every entry's event has after its own (the delivery's:
 * request headers, gRPC metadata): `headers` without the transport's own
 * (views: borrowed until the answer), shared, not copied per entry. 0, or
 * -1 when out of memory. */
int ofctx__bulk_share_metadata(ofctx__bulk_t *bulk, const ofctx__http_header_t *headers, size_t n);
/* Entry `i`, whose id is `id` (copied): its event `ev` (taken over, as by
 * ofctx__invoke) runs the function, with the shared metadata after its
 * own. Out of memory makes the entry RETRY. */
void ofctx__bulk_invoke(ofctx__bulk_t *bulk, size_t i, const char *id, size_t id_len,
                        ofctx_event_t *ev);
/* Entry `i` settled without running the function: DROP for one that can
 * never be an event, RETRY when it may work later. */
void ofctx__bulk_settle(ofctx__bulk_t *bulk, size_t i, const char *id, size_t id_len,
                        ofctx__outcome_t outcome);
/* Strings an entry's event views (its metadata), kept with the batch: a
 * buffer per entry, appended to before the entry is invoked. */
ofctx__buf_t *ofctx__bulk_strings(ofctx__bulk_t *bulk, size_t i);
/* Every entry has been given: the answer may now come (at once if all
 * have settled). Entries never given are RETRY. */
void ofctx__bulk_close(ofctx__bulk_t *bulk);

size_t ofctx__bulk_count(const ofctx__bulk_t *bulk);
/* Entry `i`'s id ("" when none was given) and outcome. */
const char *ofctx__bulk_id(const ofctx__bulk_t *bulk, size_t i);
ofctx__outcome_t ofctx__bulk_outcome(const ofctx__bulk_t *bulk, size_t i);
/* How many entries, from the first, are SUCCESS or DROP: what a mode that
 * keeps the order (the direct mode) may acknowledge. */
size_t ofctx__bulk_done_prefix(const ofctx__bulk_t *bulk);
void ofctx__bulk_free(ofctx__bulk_t *bulk);

#endif
