/* Hooks: the context's lists resolved against the function's hooks (every
 * refusal, the tracing provider's name, the run order), and hooks around
 * the core's invocations (host_fixture.h): a pre hook that stops the
 * function, post hooks that see and change the result, a plain HTTP
 * function stopped by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "host_fixture.h"

static char trail[256]; /* what ran, in order */

static void note(const char *what) {
  strncat(trail, what, sizeof trail - strlen(trail) - 1);
  strncat(trail, " ", sizeof trail - strlen(trail) - 1);
}

/* A pre hook answers what its argument says; a post hook notes the result
 * it was given and returns its argument's result, or the one given. */
static ofctx_result_t pre(ofctx_t *ctx, void *arg) {
  const char *say = arg;
  assert_non_null(ctx);
  note(say);
  if (strcmp(say, "drop") == 0)
    return OFCTX_DROP;
  if (strcmp(say, "error") == 0)
    return OFCTX_ERROR;
  if (strcmp(say, "zero") == 0)
    return (ofctx_result_t)0;
  return OFCTX_SUCCESS;
}

static ofctx_result_t post(ofctx_t *ctx, ofctx_result_t result, void *arg) {
  char what[32];
  (void)ctx;
  snprintf(what, sizeof what, "post%d", (int)result);
  note(what);
  if (arg && strcmp(arg, "success") == 0)
    return OFCTX_SUCCESS;
  if (arg && strcmp(arg, "drop") == 0)
    return OFCTX_DROP;
  return result;
}

static const char *no_env(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

/* A context (v1beta2, with preHooks/postHooks) of those lists, and tracing
 * on when `tracing`. */
static ofctx_config_t *context(const char *pre_list, const char *post_list, int tracing) {
  char json[1024];
  ofctx_config_t *cfg;
  ofctx_error_t err;

  snprintf(json, sizeof json,
           "{\"name\":\"f\",\"runtime\":\"Async\",\"triggers\":{\"dapr\":[{\"name\":\"in\","
           "\"type\":\"bindings.kafka\"}]},\"preHooks\":[%s],\"postHooks\":[%s]%s}",
           pre_list, post_list,
           tracing ? ",\"tracing\":{\"enabled\":true,\"provider\":{\"name\":\"opentelemetry\","
                     "\"exporter\":{\"name\":\"otlp\",\"endpoint\":\"http://c:4318\"}}}"
                   : "");
  assert_int_equal(ofctx_config_parse(&cfg, NULL, json, strlen(json), no_env, NULL, &err),
                   OFCTX_OK);
  return cfg;
}

static void resolved_in_the_context_s_order(void **state) {
  const ofctx_hook_t hooks[] = {{"a", pre, post, NULL, "a"},
                                {"b", pre, NULL, NULL, "b"},
                                {"c", NULL, post, NULL, NULL},
                                {"unlisted", pre, post, NULL, NULL},
                                {NULL, NULL, NULL, NULL, NULL}};
  ofctx_config_t *cfg = context("\"b\",\"a\"", "\"a\",\"c\"", 1);
  ofctx__hooks_t h;
  ofctx_error_t err;
  (void)state;

  /* tracing on: the provider's name is in both lists, and is no hook's */
  assert_int_equal(ofctx_strlist_count(ofctx_config_pre_plugins(cfg)), 3);
  assert_int_equal(ofctx__hooks_resolve(&h, hooks, cfg, &err), OFCTX_OK);
  assert_int_equal(h.pre_count, 2);
  assert_ptr_equal(h.pre[0], &hooks[1]);
  assert_ptr_equal(h.pre[1], &hooks[0]);
  assert_int_equal(h.post_count, 2);
  assert_ptr_equal(h.post[0], &hooks[0]);
  assert_ptr_equal(h.post[1], &hooks[2]);
  ofctx__hooks_free(&h);
  ofctx_config_free(cfg);
}

static void refusals_name_the_hook(void **state) {
  static const struct {
    const char *pre, *post, *message;
    ofctx_hook_t hooks[3];
  } cases[] = {
      {"\"auth\"",
       "",
       "the function context's preHooks (or prePlugins) name \"auth\": no such hook",
       {{"a", pre, post, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}}},
      {"",
       "\"a\"",
       "the function context's postHooks (or postPlugins) name \"a\": the hook has neither "
       "a post nor a done part",
       {{"a", pre, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}}},
      {"\"a\"",
       "",
       "the function context's preHooks (or prePlugins) name \"a\": the hook has no "
       "pre part",
       {{"a", NULL, post, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}}},
      {"",
       "",
       "ofctx_main_opts_t.hooks: the hook \"a\": two hooks have this name",
       {{"a", pre, NULL, NULL, NULL},
        {"a", NULL, post, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL}}},
      {"",
       "",
       "ofctx_main_opts_t.hooks: the hook \"a b\": a hook's name is 1-64 of [A-Za-z0-9._-]",
       {{"a b", pre, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}}},
      {"",
       "",
       "ofctx_main_opts_t.hooks: the hook \"a\": the hook has neither pre, post nor done",
       {{"a", NULL, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL, NULL}}},
      /* without tracing, the provider's name is a hook's like any other */
      {"\"opentelemetry\"",
       "",
       "name \"opentelemetry\": no such hook",
       {{NULL, NULL, NULL, NULL, NULL}}},
  };
  (void)state;

  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ofctx_config_t *cfg = context(cases[i].pre, cases[i].post, 0);
    ofctx__hooks_t h;
    ofctx_error_t err;
    assert_int_equal(ofctx__hooks_resolve(&h, cases[i].hooks, cfg, &err), OFCTX_EINVAL);
    if (!strstr(err.message, cases[i].message))
      fail_msg("case %zu: %s", i, err.message);
    assert_null(h.pre);
    assert_null(h.post);
    ofctx_config_free(cfg);
  }
}

/* The fixture's host with hooks of those lists. */
static void with_hooks(fixture_t *f, ofctx__hooks_t *h, const ofctx_hook_t *hooks,
                       const char *pre_list, const char *post_list) {
  ofctx_config_t *cfg = context(pre_list, post_list, 0);
  ofctx_error_t err;

  assert_int_equal(ofctx__hooks_resolve(h, hooks, cfg, &err), OFCTX_OK);
  ofctx_config_free(cfg); /* the hooks borrow from `hooks`, not from it */
  f->host.hooks = h;
  trail[0] = '\0';
}

/* One event `what` with hooks of those lists, which ends with `outcome`
 * (no send in flight) having run `want` (the trail). */
static void expect(fixture_t *f, const ofctx_hook_t *hooks, const char *pre_list,
                   const char *post_list, const char *what, const char *want,
                   ofctx__outcome_t outcome) {
  ofctx__hooks_t h;
  int answers = f->answers;

  with_hooks(f, &h, hooks, pre_list, post_list);
  run(f, what);
  assert_string_equal(trail, want);
  assert_int_equal(f->answers, answers + 1);
  assert_int_equal(f->outcome, outcome);
  ofctx__hooks_free(&h);
  f->host.hooks = NULL;
}

static void a_pre_hook_stops_the_function(void **state) {
  fixture_t *f = *state;
  const ofctx_hook_t hooks[] = {
      {"first", pre, NULL, NULL, "first"}, {"drop", pre, NULL, NULL, "drop"},
      {"error", pre, NULL, NULL, "error"}, {"zero", pre, NULL, NULL, "zero"},
      {"never", pre, NULL, NULL, "never"}, {"seen", NULL, post, NULL, NULL},
      {NULL, NULL, NULL, NULL, NULL}};
  ofctx__hooks_t h;

  /* DROP: the later pre hooks and the function (which would send) are not
   * called; the post hooks see it */
  expect(f, hooks, "\"first\",\"drop\",\"never\"", "\"seen\"", "binding", "first drop post400 ",
         OFCTX__OUTCOME_DROP);
  /* ERROR, and a code that is none of the three, are not acknowledged */
  expect(f, hooks, "\"error\",\"never\"", "\"seen\"", "binding", "error post500 ",
         OFCTX__OUTCOME_RETRY);
  expect(f, hooks, "\"zero\"", "", "binding", "zero ", OFCTX__OUTCOME_RETRY);
  assert_int_equal(f->sink.count, 0);
  /* all pass: the function runs */
  with_hooks(f, &h, hooks, "\"first\",\"never\"", "\"seen\"");
  run(f, "binding");
  assert_string_equal(trail, "first never post200 ");
  assert_int_equal(f->sink.count, 1);
  finish(&f->sink, 1);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_SUCCESS);
  assert_int_equal(f->answers, 4);
  ofctx__hooks_free(&h);
  f->host.hooks = NULL;
}

/* A post hook that sends: the invocation waits for it as for the
 * function's own sends. */
static ofctx_result_t send_post(ofctx_t *ctx, ofctx_result_t result, void *arg) {
  (void)arg;
  note("send");
  assert_int_equal(ofctx_send_to(ctx, "out", "{\"h\":1}", 7, NULL), OFCTX_OK);
  return result;
}

static void post_hooks_see_and_change_the_result(void **state) {
  fixture_t *f = *state;
  const ofctx_hook_t hooks[] = {{"keep", NULL, post, NULL, NULL},
                                {"forgive", NULL, post, NULL, "success"},
                                {"poison", NULL, post, NULL, "drop"},
                                {"send", NULL, send_post, NULL, NULL},
                                {NULL, NULL, NULL, NULL, NULL}};
  ofctx__hooks_t h;

  /* each sees what the one before left: DROP, then SUCCESS, then DROP */
  expect(f, hooks, "", "\"keep\",\"forgive\",\"keep\",\"poison\",\"keep\"", "drop",
         "post400 post400 post200 post200 post400 ", OFCTX__OUTCOME_DROP);
  /* a function that failed, forgiven */
  expect(f, hooks, "", "\"forgive\"", "zero", "post500 ", OFCTX__OUTCOME_SUCCESS);
  /* a hook's send holds the answer, and its failure fails the input */
  with_hooks(f, &h, hooks, "", "\"send\"");
  run(f, "nothing");
  assert_int_equal(f->answers, 2);
  assert_int_equal(f->sink.count, 1);
  finish(&f->sink, 0);
  assert_int_equal(f->answers, 3);
  assert_int_equal(f->outcome, OFCTX__OUTCOME_RETRY);
  ofctx__hooks_free(&h);
  f->host.hooks = NULL;
}

/* A done part notes how the input ended. */
static void done(ofctx_t *ctx, ofctx_result_t outcome, void *arg) {
  char what[32];
  (void)arg;
  assert_non_null(ofctx_event(ctx));
  snprintf(what, sizeof what, "done%d", (int)outcome);
  note(what);
}

static void done_waits_for_the_sends(void **state) {
  fixture_t *f = *state;
  const ofctx_hook_t hooks[] = {{"seen", NULL, post, done, NULL},
                                {"gate", pre, NULL, NULL, "drop"},
                                {NULL, NULL, NULL, NULL, NULL}};
  ofctx__hooks_t h;

  with_hooks(f, &h, hooks, "", "\"seen\"");
  run(f, "binding");
  assert_string_equal(trail, "post200 "); /* the send is in flight */
  finish(&f->sink, 1);
  assert_string_equal(trail, "post200 done200 ");
  run(f, "binding");
  finish(&f->sink, 0); /* not acknowledged: delivered again */
  assert_string_equal(trail, "post200 done200 post200 done500 ");
  ofctx__hooks_free(&h);
  with_hooks(f, &h, hooks, "\"gate\"", "\"seen\"");
  run(f, "binding");
  assert_string_equal(trail, "drop post400 done400 ");
  ofctx__hooks_free(&h);
  f->host.hooks = NULL;
}

/* A plain HTTP function that writes a 201 with a body. */
static void page(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res) {
  (void)ctx;
  (void)req;
  note("page");
  ofctx_response_set_status(res, 201);
  ofctx_response_add_header(res, "X-A", "b");
  ofctx_response_append(res, "made", 4);
}

static int http_status;
static size_t http_body, http_headers;
static void answer_http(ofctx_t *ctx, ofctx__outcome_t outcome) {
  answer(ctx, outcome);
  http_status = ctx->res.status;
  http_body = ctx->res.body.len;
  http_headers = ctx->res.header_count;
}

static void http(fixture_t *f) {
  ofctx_event_t ev = {0};
  ev.kind = OFCTX_EVENT_HTTP;
  ev.input = "in";
  assert_int_equal(ofctx__invoke(&f->host, NULL, &ev, answer_http), 0);
}

static void a_plain_http_function_stopped(void **state) {
  fixture_t *f = *state;
  const ofctx_hook_t hooks[] = {{"drop", pre, NULL, NULL, "drop"},
                                {"pass", pre, NULL, NULL, "pass"},
                                {"poison", NULL, post, NULL, "drop"},
                                {NULL, NULL, NULL, NULL, NULL}};
  ofctx__hooks_t h;

  f->host.fn = NULL;
  f->host.http_fn = page;
  with_hooks(f, &h, hooks, "\"pass\"", "");
  http(f);
  assert_string_equal(trail, "pass page ");
  assert_int_equal(http_status, 201);
  assert_int_equal(http_body, 4);
  ofctx__hooks_free(&h);
  /* a pre hook's DROP is a 400 with nothing of the function */
  with_hooks(f, &h, hooks, "\"drop\"", "");
  http(f);
  assert_string_equal(trail, "drop ");
  assert_int_equal(f->outcome, OFCTX__OUTCOME_DROP);
  assert_int_equal(http_status, 400);
  ofctx__hooks_free(&h);
  /* a post hook's DROP takes back what the function wrote */
  with_hooks(f, &h, hooks, "\"pass\"", "\"poison\"");
  http(f);
  assert_string_equal(trail, "pass page post200 ");
  assert_int_equal(http_status, 400);
  assert_int_equal(http_body, 0);
  assert_int_equal(http_headers, 0);
  ofctx__hooks_free(&h);
  f->host.hooks = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resolved_in_the_context_s_order),
      cmocka_unit_test(refusals_name_the_hook),
      cmocka_unit_test_setup_teardown(a_pre_hook_stops_the_function, setup, teardown),
      cmocka_unit_test_setup_teardown(post_hooks_see_and_change_the_result, setup, teardown),
      cmocka_unit_test_setup_teardown(a_plain_http_function_stopped, setup, teardown),
      cmocka_unit_test_setup_teardown(done_waits_for_the_sends, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
