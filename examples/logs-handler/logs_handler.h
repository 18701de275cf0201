/* The logs-handler as a function: what main.c runs, and what the libofctx
 * buildpack's generated main runs with FUNC_NAME=LogsHandler. */
#ifndef LH_LOGS_HANDLER_H
#define LH_LOGS_HANDLER_H

#include <ofctx/ofctx.h>

/* Reads the LOGS_* rules and checks the output they name (ofctx_main_opts_t.init). */
int LogsHandler_init(const ofctx_config_t *cfg, void *arg);
/* One Fluent Bit record: an alert when it is a watched status of a watched pod. */
int LogsHandler(ofctx_t *ctx, const ofctx_event_t *in);
/* The same for every record of a bulk delivery in one call (and for a
 * single event, as a batch of one): what main.c runs. */
int LogsHandlerBatch(ofctx_t *ctx, ofctx_batch_t *batch);
/* The tick (ofctx_main_opts_t.tick, every LH_TICK_MS): notifications that
 * time makes due (updates, resolves), and the queue the rate limit holds
 * back; on stop, every group resolved. */
void LogsHandler_tick(ofctx_t *ctx, int stopping, void *arg);
extern const unsigned LogsHandler_tick_ms; /* 100 */
/* Frees the rules (after ofctx_main_opts has returned). */
void LogsHandler_free(void);

#endif
