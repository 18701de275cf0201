/* The context's hooks: resolved once at start, run around each call. */
#include <stdio.h>
#include <string.h>

#include "error_msg.h"
#include "hooks.h"
#include "invocation.h"
#include "log.h"
#include "mem.h"
#include "ofctx/strmap.h"
#include "text.h"

#define NAME_MAX_LEN 64

/* 1-64 of [A-Za-z0-9._-]: the name characters of text.h. */
static int name_ok(const char *s) { return ofctx__name_chars_ok(s) && strlen(s) <= NAME_MAX_LEN; }

static ofctx_err_t refuse(ofctx_error_t *err, const char *what, const char *name, const char *why) {
  char quoted[OFCTX_QUOTE_SIZE];

  ofctx__quote(quoted, sizeof quoted, name);
  return ofctx__error(err, OFCTX_EINVAL, "%s %s: %s", what, quoted, why);
}

/* Why the function's own hooks cannot be taken (a bad or repeated name),
 * with `*bad` the name; NULL when they can. */
static const char *registered_refused(const ofctx_hook_t *hooks, const char **bad) {
  for (size_t i = 0; hooks && hooks[i].name; i++) {
    *bad = hooks[i].name;
    if (!name_ok(hooks[i].name))
      return "a hook's name is 1-64 of [A-Za-z0-9._-]";
    if (!hooks[i].pre && !hooks[i].post && !hooks[i].done)
      return "the hook has neither pre, post nor done";
    for (size_t j = 0; j < i; j++)
      if (strcmp(hooks[j].name, hooks[i].name) == 0)
        return "two hooks have this name";
  }
  return NULL;
}

static const ofctx_hook_t *find(const ofctx_hook_t *hooks, const char *name) {
  for (size_t i = 0; hooks && hooks[i].name; i++)
    if (strcmp(hooks[i].name, name) == 0)
      return &hooks[i];
  return NULL;
}

/* The hooks of one list (`post`: the post list) into `*out`. */
static ofctx_err_t resolve_list(const ofctx_strlist_t *names, const ofctx_hook_t *registered,
                                const char *tracing, int post, const ofctx_hook_t ***out,
                                size_t *count, ofctx_error_t *err) {
  size_t n = ofctx_strlist_count(names);
  const char *what = post ? "the function context's postHooks (or postPlugins) name"
                          : "the function context's preHooks (or prePlugins) name";

  *out = ofctx__calloc(n ? n : 1, sizeof **out);
  if (!*out)
    return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const char *name = ofctx_strlist_at(names, i);
    const ofctx_hook_t *hook = find(registered, name);
    if (tracing && strcmp(name, tracing) == 0)
      continue; /* tracing's, not a hook */
    if (!hook)
      return refuse(err, what, name,
                    "no such hook: the function registers none of that name "
                    "(ofctx_main_opts_t.hooks)");
    if (post ? !hook->post && !hook->done : !hook->pre)
      return refuse(err, what, name,
                    post ? "the hook has neither a post nor a done part"
                         : "the hook has no pre part");
    (*out)[(*count)++] = hook;
  }
  return OFCTX_OK;
}

ofctx_err_t ofctx__hooks_resolve(ofctx__hooks_t *h, const ofctx_hook_t *registered,
                                 const ofctx_config_t *cfg, ofctx_error_t *err) {
  const char *tracing =
      ofctx_config_tracing_enabled(cfg) ? ofctx_config_tracing_provider(cfg) : NULL;
  const char *bad = NULL, *why = registered_refused(registered, &bad);
  ofctx_err_t rc;

  memset(h, 0, sizeof *h);
  if (why)
    return refuse(err, "ofctx_main_opts_t.hooks: the hook", bad, why);
  rc = resolve_list(ofctx_config_pre_plugins(cfg), registered, tracing, 0, &h->pre, &h->pre_count,
                    err);
  if (rc == OFCTX_OK)
    rc = resolve_list(ofctx_config_post_plugins(cfg), registered, tracing, 1, &h->post,
                      &h->post_count, err);
  if (rc != OFCTX_OK)
    ofctx__hooks_free(h);
  return rc;
}

void ofctx__hooks_free(ofctx__hooks_t *h) {
  ofctx__free(h->pre);
  ofctx__free(h->post);
  memset(h, 0, sizeof *h);
}

/* What a hook returned, as one of the three results: anything else is
 * OFCTX_ERROR, with a warning naming the hook. */
static ofctx_result_t checked(int r, const char *name) {
  char code[16];

  if (r == OFCTX_SUCCESS || r == OFCTX_DROP || r == OFCTX_ERROR)
    return (ofctx_result_t)r;
  snprintf(code, sizeof code, "%d", r);
  ofctx__log(OFCTX_LOG_WARN,
             "a hook returned an unknown code, taken as OFCTX_ERROR: return OFCTX_SUCCESS, "
             "OFCTX_DROP or OFCTX_ERROR",
             "hook", name, "code", code, (const char *)NULL);
  return OFCTX_ERROR;
}

/* One run of a hook: with an exporter, a child span of the invocation's
 * named after the hook, its result as an attribute, ERROR its status. */
static ofctx_result_t run_hook(ofctx_t *ctx, const ofctx_hook_t *hook, int post,
                               ofctx_result_t result) {
  static const char *const results[] = {"success", "drop", "error"};
  ofctx__span_desc_t d = {0};
  ofctx__span_t span;
  ofctx_result_t r;
  int traced = ctx->span && ctx->host->exporter;

  if (traced)
    ofctx__span_child(&span, ctx->span, OFCTX__SPAN_HOOK, hook->name);
  r = checked(post ? (int)hook->post(ctx, result, hook->arg) : (int)hook->pre(ctx, hook->arg),
              hook->name);
  if (!traced)
    return r;
  ofctx__span_end(&span);
  d.span = &span;
  d.kind = OFCTX__OTLP_INTERNAL;
  d.name = hook->name;
  d.error = r == OFCTX_ERROR;
  d.message = "the hook returned OFCTX_ERROR";
  d.attrs[d.attr_count++] = (ofctx__span_attr_t){"ofctx.hook.phase", post ? "post" : "pre"};
  d.attrs[d.attr_count++] =
      (ofctx__span_attr_t){"ofctx.hook.result", r == OFCTX_SUCCESS ? results[0]
                                                : r == OFCTX_DROP  ? results[1]
                                                                   : results[2]};
  d.tags = ofctx_config_tracing_tags(ctx->host->cfg);
  ofctx__otlp_exporter_add(ctx->host->exporter, &d);
  return r;
}

ofctx_result_t ofctx__hooks_pre(const ofctx__hooks_t *h, ofctx_t *ctx, const char **by) {
  for (size_t i = 0; h && i < h->pre_count; i++) {
    const ofctx_hook_t *hook = h->pre[i];
    ofctx_result_t r = run_hook(ctx, hook, 0, OFCTX_SUCCESS);
    if (r != OFCTX_SUCCESS) {
      *by = hook->name;
      return r;
    }
  }
  return OFCTX_SUCCESS;
}

ofctx_result_t ofctx__hooks_post(const ofctx__hooks_t *h, ofctx_t *ctx, ofctx_result_t result) {
  for (size_t i = 0; h && i < h->post_count; i++) {
    const ofctx_hook_t *hook = h->post[i];
    if (hook->post)
      result = run_hook(ctx, hook, 1, result);
  }
  return result;
}

void ofctx__hooks_done(const ofctx__hooks_t *h, ofctx_t *ctx, ofctx_result_t outcome) {
  for (size_t i = 0; h && i < h->post_count; i++)
    if (h->post[i]->done)
      h->post[i]->done(ctx, outcome, h->post[i]->arg);
}
