/* The logs-handler's main for a build of this repository; the libofctx
 * buildpack writes an equivalent one itself. */
#include "logs_handler.h"

int main(int argc, char **argv) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;
  int status;

  opts.batch = LogsHandlerBatch; /* a single event is a batch of one */
  opts.init = LogsHandler_init;
  opts.tick = LogsHandler_tick;
  opts.tick_ms = LogsHandler_tick_ms;
  status = ofctx_main_opts(argc, argv, &opts);
  LogsHandler_free();
  return status;
}
