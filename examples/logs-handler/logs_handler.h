/* The logs-handler as a function: the entries the libofctx buildpack's
 * generated main (main.c here) runs with FUNC_NAME=LogsHandler. */
#ifndef LH_LOGS_HANDLER_H
#define LH_LOGS_HANDLER_H

#include <ofctx/ofctx.h>

/* Reads the rules (LOGS_RULES_FILE, or the LOGS_* variables' one rule),
 * checks them and the outputs they name, logs one line per rule and makes
 * the function's state (ofctx_main_opts_t.init): `*user_data` is then the
 * state, owned by the function until LogsHandler_fini. A fault of the rules
 * is said on stderr, and the function stops with exit status 2. */
int LogsHandler_init(const ofctx_config_t *cfg, void **user_data);
/* One Fluent Bit record, through every rule: a hit of a rule goes to flood
 * control, and a firing notification holds the record's acknowledgement. */
ofctx_result_t LogsHandler(ofctx_t *ctx, const ofctx_event_t *in);
/* The same for every record of a bulk delivery in one call (and for a
 * single event, as a batch of one): what main.c runs, since it is defined. */
ofctx_result_t LogsHandler_batch(ofctx_t *ctx, ofctx_batch_t *batch);
/* The tick (ofctx_main_opts_t.tick, every LogsHandler_tick_ms): a rules file
 * that changed is reloaded (a bad one keeps the rules in use); then the
 * notifications that time makes due (updates, resolves), and the queue the
 * rate limit holds back; on stop, every group resolved. */
void LogsHandler_tick(ofctx_t *ctx, int stopping, void *user_data);
extern const unsigned LogsHandler_tick_ms; /* 100 */
/* Frees the state LogsHandler_init made (ofctx_main_opts_t.fini); NULL is
 * nothing to free. */
void LogsHandler_fini(void *user_data);
/* The function's own commands (ofctx_main_opts_t.commands): `--check-rules
 * FILE` (check_rules.h). */
extern const ofctx_command_t LogsHandler_commands[];
/* The function's own metrics (ofctx_main_opts_t.metrics): per rule, and of
 * the rules file. */
void LogsHandler_metrics(ofctx_metrics_t *m, void *user_data);

#endif
