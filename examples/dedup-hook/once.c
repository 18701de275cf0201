/* once: each event's data sent on to every output the function context
 * names (as echo does), behind the dedup hook (dedup.h): an event that Dapr
 * delivers again after it was handled is not sent twice. The hook runs
 * when the context names it: preHooks [dedup] and postHooks [dedup]
 * (prePlugins and postPlugins in a v1beta1 context); a Function sets
 * spec.serving.hooks: {pre: [dedup], post: [dedup]}. DEDUP_WINDOW (seconds,
 * default 600) and DEDUP_CAPACITY (ids, default 100000) size it. An event
 * whose data is "fail" fails, to show that a failed event is handled again.
 * Build: cc -o once once.c dedup.c $(pkg-config --cflags --libs libofctx) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ofctx/ofctx.h>

#include "dedup.h"

static ofctx_result_t once(ofctx_t *ctx, const ofctx_event_t *in) {
  const ofctx_config_t *cfg = ofctx_config(ctx);
  size_t len;
  const char *data = ofctx_event_data(in, &len);

  if (len == 4 && memcmp(data, "fail", 4) == 0)
    return OFCTX_ERROR;
  for (size_t i = 0; i < ofctx_config_output_count(cfg); i++)
    if (ofctx_send_to(ctx, ofctx_component_name(ofctx_config_output_at(cfg, i)), data, len, NULL) !=
        OFCTX_OK)
      return OFCTX_ERROR;
  return OFCTX_SUCCESS;
}

/* The variable `name` as a number above 0, else `fallback`. */
static double number(const char *name, double fallback) {
  const char *v = getenv(name);
  char *end;
  double n = v ? strtod(v, &end) : 0;
  return v && *v && !*end && n > 0 ? n : fallback;
}

int main(int argc, char **argv) {
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;
  dedup_t *d = dedup_new(number("DEDUP_WINDOW", 600), (size_t)number("DEDUP_CAPACITY", 100000));
  ofctx_hook_t hooks[2] = {{.name = NULL}, {.name = NULL}};
  int status;

  if (!d) {
    fprintf(stderr, "once: out of memory\n");
    return 1;
  }
  hooks[0] = dedup_hook(d);
  opts.function = once;
  opts.hooks = hooks;
  status = ofctx_main_opts(argc, argv, &opts);
  dedup_free(d);
  return status;
}
