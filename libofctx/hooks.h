/* Internal: the hooks the function context names (preHooks/postHooks, or
 * prePlugins/postPlugins), resolved at start against the ones the function
 * registered, and run around each call of the function. */
#ifndef OFCTX_HOOKS_H
#define OFCTX_HOOKS_H

#include <stddef.h>

#include "ofctx/config.h"
#include "ofctx/error.h"
#include "ofctx/function.h"

typedef struct {
  const ofctx_hook_t **pre, **post; /* borrowed hooks, in run order */
  size_t pre_count, post_count;
} ofctx__hooks_t;

/* The context's hook lists as hooks of `registered` (NULL-name ended, or
 * NULL): OFCTX_OK; OFCTX_EINVAL with the message in `err` for a name the
 * context lists that no hook has, a hook listed for the part it lacks, or
 * a registered name that is bad or twice; OFCTX_ENOMEM. The name of the
 * tracing provider, which the context adds to the lists when tracing is
 * on, is no hook's. `h` is empty after a failure. */
ofctx_err_t ofctx__hooks_resolve(ofctx__hooks_t *h, const ofctx_hook_t *registered,
                                 const ofctx_config_t *cfg, ofctx_error_t *err);
void ofctx__hooks_free(ofctx__hooks_t *h);

/* Runs the pre hooks in order until one does not answer OFCTX_SUCCESS:
 * OFCTX_SUCCESS when all did (call the function), else that hook's answer
 * (OFCTX_DROP, or OFCTX_ERROR for anything else), and `*by` its name. */
ofctx_result_t ofctx__hooks_pre(const ofctx__hooks_t *h, ofctx_t *ctx, const char **by);
/* Runs every post part in order on `result`: the result they leave. */
ofctx_result_t ofctx__hooks_post(const ofctx__hooks_t *h, ofctx_t *ctx, ofctx_result_t result);
/* Runs every done part of the post list in order: the invocation settled
 * with `outcome` (OFCTX_SUCCESS, OFCTX_DROP, or OFCTX_ERROR: not
 * acknowledged). */
void ofctx__hooks_done(const ofctx__hooks_t *h, ofctx_t *ctx, ofctx_result_t outcome);

#endif
