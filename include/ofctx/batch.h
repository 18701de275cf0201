/* The entries of a batch function's delivery (ofctx_main_opts_t.batch: a
 * bulk delivery of the Async runtime, or a batch of one): each as an
 * event, and the status the function gives it.
 * The batch and its events are borrowed: valid until the invocation
 * settles.
 * Threads: the loop thread only, as for function.h. */
#ifndef OFCTX_BATCH_H
#define OFCTX_BATCH_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/event.h"
#include "ofctx/export.h"
#include "ofctx/function.h"

#ifdef __cplusplus
extern "C" {
#endif

OFCTX_EXTERN size_t ofctx_batch_count(const ofctx_batch_t *batch);
/* Entry `i` (0 to count - 1) as an event, with its own data, content type,
 * metadata and CloudEvent attributes; NULL past the end. */
OFCTX_EXTERN const ofctx_event_t *ofctx_batch_event(const ofctx_batch_t *batch, size_t i);
/* Sets entry `i`'s status: OFCTX_SUCCESS, OFCTX_DROP or OFCTX_ERROR
 * (RETRY); the last call wins. OFCTX_EINVAL for another value or an `i`
 * past the end. */
OFCTX_EXTERN ofctx_err_t ofctx_batch_set_status(ofctx_batch_t *batch, size_t i,
                                                ofctx_result_t status);

#ifdef __cplusplus
}
#endif
#endif
