/* Internal: the writer a function's collector writes its own metrics with
 * (ofctx/metrics.h), on every scrape, after the library's counters. */
#ifndef OFCTX_METRICS_WRITER_H
#define OFCTX_METRICS_WRITER_H

#include "buf.h"
#include "ofctx/metrics.h"

/* Calls `fn` with a writer that appends to `out`, and `user_data`.
 * Refused calls are logged as warnings and leave `out` as it was. */
void ofctx__metrics_collect(ofctx__buf_t *out, ofctx_metrics_function_t fn, void *user_data);

#endif
