/* Written by the libofctx buildpack for FUNC_NAME=LogsHandler: runs the function
 * (its _batch instead, a batch function, when the code defines one) with
 * the _init, _tick, _tick_ms, _fini, _commands, _metrics and _hooks the code
 * defines
 * (weak references: NULL when it does not). */
#include <ofctx/ofctx.h>

ofctx_result_t LogsHandler(ofctx_t *ctx, const ofctx_event_t *in);
ofctx_result_t LogsHandler_batch(ofctx_t *ctx, ofctx_batch_t *batch) __attribute__((weak));
int LogsHandler_init(const ofctx_config_t *cfg, void **user_data) __attribute__((weak));
void LogsHandler_tick(ofctx_t *ctx, int stopping, void *user_data) __attribute__((weak));
extern const unsigned LogsHandler_tick_ms __attribute__((weak));
void LogsHandler_fini(void *user_data) __attribute__((weak));
extern const ofctx_command_t LogsHandler_commands[] __attribute__((weak));
void LogsHandler_metrics(ofctx_metrics_t *m, void *user_data) __attribute__((weak));
extern const ofctx_hook_t LogsHandler_hooks[] __attribute__((weak));

int main(int argc, char **argv) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

  if (LogsHandler_batch)
    opts.batch = LogsHandler_batch;
  else
    opts.function = LogsHandler;
  opts.init = LogsHandler_init;
  opts.tick = LogsHandler_tick;
  opts.tick_ms = &LogsHandler_tick_ms ? LogsHandler_tick_ms : 1000;
  opts.fini = LogsHandler_fini;
  opts.commands = LogsHandler_commands;
  opts.metrics = LogsHandler_metrics;
  opts.hooks = LogsHandler_hooks;
  return ofctx_main_opts(argc, argv, &opts);
}
