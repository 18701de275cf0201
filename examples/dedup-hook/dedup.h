/* dedup: a libofctx hook that drops an event delivered again after it was
 * acknowledged. A CloudEvent's `source` and `id` name it; Dapr pub/sub
 * (and a Kafka source in front of a Knative function) deliver at least
 * once, so the same event can come twice, after a restart or a rebalance.
 * The pre part drops (OFCTX_DROP: acknowledged, not handled) an event whose
 * source and id were acknowledged within the window; the done part
 * remembers an event once it is acknowledged, and only then: an event that
 * failed is handled again when it comes again. Events without an id
 * (bindings) pass. At most `capacity` ids are kept (the oldest go first),
 * each for `window` seconds. Not thread-safe: use it from the function's
 * loop, as hooks are.
 *
 *   dedup_t *d = dedup_new(600, 100000);
 *   ofctx_hook_t hooks[] = {dedup_hook(d), {.name = NULL}};
 *   opts.hooks = hooks;   // the context: preHooks [dedup], postHooks [dedup]
 */
#ifndef DEDUP_H
#define DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include <ofctx/ofctx.h>

typedef struct dedup dedup_t;

/* NULL when out of memory or for a window not above 0 or a capacity of 0. */
dedup_t *dedup_new(double window, size_t capacity);
void dedup_free(dedup_t *d);

/* The hook "dedup" of `d` (borrowed by the hook: free it after the
 * function stopped). */
ofctx_hook_t dedup_hook(dedup_t *d);

/* Events dropped as seen, and ids kept now. */
uint64_t dedup_dropped(const dedup_t *d);
size_t dedup_kept(const dedup_t *d);

#endif
