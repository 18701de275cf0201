/* Writing a function: its signature and what it returns (ofctx_result_t),
 * ofctx_main, which runs it, its context (the event, the function's own
 * state, replies), holds and logs. The event, the response of a plain HTTP
 * function, batches and sends have headers of their own (event.h,
 * response.h, batch.h, send.h); ofctx.h brings in every one.
 *
 *   static ofctx_result_t hello(ofctx_t *ctx, const ofctx_event_t *in) {
 *     size_t len;
 *     const char *data = ofctx_event_data(in, &len);
 *     if (ofctx_send_to(ctx, "out", data, len, NULL) != OFCTX_OK)
 *       return OFCTX_ERROR;
 *     return OFCTX_SUCCESS;
 *   }
 *   int main(int argc, char **argv) { return ofctx_main(argc, argv, hello); }
 *
 * Threads: everything here runs on the runtime's one loop thread; call these
 * functions only from the function and from its send callbacks. */
#ifndef OFCTX_FUNCTION_H
#define OFCTX_FUNCTION_H

#include <stddef.h>

#include "ofctx/config.h"
#include "ofctx/error.h"
#include "ofctx/event.h"
#include "ofctx/export.h"
#include "ofctx/metrics.h"
#include "ofctx/response.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One invocation's context: created for each event, owned by the runtime,
 * valid from the call of the function until the invocation settles (the
 * function has returned and every send it made has finished). Nothing in it
 * is shared with other invocations. */
typedef struct ofctx ofctx_t;

/* What a function returns (OpenFunction's codes), and a batch entry's
 * status. It is not an ofctx_err_t: what the library's calls return says
 * how a call went, this says what becomes of the input. Any other value,
 * 0 (OFCTX_OK) included, counts as OFCTX_ERROR, with a warning that names
 * it. gcc's and clang's -Wextra (-Wenum-conversion) warn when a function
 * of this type returns OFCTX_OK or what a library call returned
 * ("implicit conversion from ... to 'ofctx_result_t'"), and C++ refuses
 * it; a literal 0 gets no warning but the runtime's. */
typedef enum {
  /* Done. The input is acknowledged once every send has succeeded. */
  OFCTX_SUCCESS = 200,
  /* The event is poison (malformed, never processable): it is acknowledged
   * without a retry, with a log line and a count. Pub/sub answers DROP. */
  OFCTX_DROP = 400,
  /* Failed. The input is not acknowledged, so Dapr delivers it again
   * (binding: HTTP 500; pub/sub: RETRY). */
  OFCTX_ERROR = 500
} ofctx_result_t;

/* A function: called once for each event, with a context and the event
 * (both borrowed: valid until the invocation settles). */
typedef ofctx_result_t (*ofctx_function_t)(ofctx_t *ctx, const ofctx_event_t *in);

/* A plain HTTP function: full control over the answer. `req` is the request
 * (ofctx_event_method, _path, _query, _header, _param, and the body as
 * ofctx_event_data); no CloudEvent decoding happens. Without any call on
 * `res` the answer is 200 with an empty body. It may use ctx for sends and
 * logs like any function; a failed send turns the answer into a 500. */
typedef void (*ofctx_http_function_t)(ofctx_t *ctx, const ofctx_event_t *req,
                                      ofctx_response_t *res);

/* The entries of one delivery, for a batch function: borrowed, valid
 * until the invocation settles. */
typedef struct ofctx_batch ofctx_batch_t;

/* A batch function: every entry of a bulk pub/sub delivery (Dapr's
 * bulkSubscribe, runtime Async; in the direct mode, a batch of one Kafka
 * partition's records) in one call, and any other event (a Knative
 * request too) as a batch of one. It sets each entry's status with
 * ofctx_batch_set_status; an entry left without one is RETRY. Its return
 * value: OFCTX_SUCCESS keeps the statuses; OFCTX_DROP makes the entries
 * without one DROP; OFCTX_ERROR (or any other value, 0 included, as for a
 * function), a failed send, a failed hold or the invocation timeout makes
 * every entry that is not DROP RETRY. */
typedef ofctx_result_t (*ofctx_batch_function_t)(ofctx_t *ctx, ofctx_batch_t *batch);

/* Runs `fn` as an OpenFunction function: reads the function context from
 * the environment (see docs/function-context.md) and the runtime options
 * (OFCTX_* variables, see docs/async-runtime.md), serves events until SIGTERM
 * or SIGINT, lets invocations in flight settle within the grace period, and
 * returns the process exit status: 0 after a clean shutdown, 2 for a bad
 * context, option or argument (the message is on stderr), 1 when the server
 * cannot start. `argv` takes --help, --version, --context FILE and --invoke
 * FILE with its options (see --help). */
OFCTX_EXTERN int ofctx_main(int argc, char **argv, ofctx_function_t fn);

/* A command of the function's own, run instead of serving: `fn --NAME VALUE`
 * (or `fn --NAME` when value_name is NULL; `--NAME=VALUE` too). The function
 * context is read as a run reads it (FUNC_CONTEXT_V1BETA2 or FUNC_CONTEXT,
 * or --context FILE given before or after the command; CONTEXT_MODE is
 * self-host unless set, as with --invoke, since no pod is needed), then `run` is
 * called and what it returns is the process's exit status: nothing is
 * served, and init, tick and fini are not called. A context that cannot be
 * read exits 2 with the message a run gives. --help lists the commands
 * after the built-in options. Everything here is borrowed for the duration
 * of ofctx_main_opts. */
typedef struct {
  /* "check-rules" for the option --check-rules: 1-32 of [a-z0-9-], no
   * built-in option's name (help, version, context, invoke, input,
   * keep-going, event-lines, all-outcomes) and no other command's; a name
   * that breaks this stops ofctx_main_opts at start with exit status 2. */
  const char *name;
  /* What the value is called in --help ("FILE"); NULL: the command takes no
   * value. A command that takes one and is given none is a usage error
   * (exit status 2). */
  const char *value_name;
  const char *help; /* one line for --help; NULL: none */
  /* The command itself: `cfg` is the function context (borrowed until run
   * returns), `value` the command's value (NULL when it takes none), `arg`
   * ofctx_main_opts_t.arg. It may print on stdout and stderr; its return
   * value is the exit status. */
  int (*run)(const ofctx_config_t *cfg, const char *value, void *arg);
} ofctx_command_t;

/* A hook: code of the function's own that runs before (`pre`) and after
 * (`post`) the function, for every event, when the function context names
 * it: preHooks and postHooks (v1beta2) or prePlugins and postPlugins
 * (v1beta1) list the names in the order they run (OpenFunction's controller
 * puts its global hooks first in pre and last in post). A name the context
 * lists that no hook of ofctx_main_opts_t.hooks has (or whose hook lacks
 * the `pre`, or both the `post` and the `done`, it is listed for) stops the
 * function at start with exit status 2, naming it. Ticks run no hooks. Everything here is
 * borrowed for the duration of ofctx_main_opts. */
typedef struct {
  /* 1-64 of [A-Za-z0-9._-], as the context lists it; each name once. */
  const char *name;
  /* Before the function, with its context (ofctx_event(ctx) is the event;
   * NULL for a bulk delivery's batch). OFCTX_SUCCESS: go on. OFCTX_DROP or
   * OFCTX_ERROR: the later pre hooks and the function are not called, and
   * that is the result (for a plain HTTP function: a 400 or a 500 with no
   * body). An auth, dedup or sampling hook answers this way. NULL: the
   * hook has no pre part. */
  ofctx_result_t (*pre)(ofctx_t *ctx, void *arg);
  /* After the function (or the pre hook that stopped it) returned, with
   * the result so far; what it returns is the result from then on (return
   * `result` to keep it). Every post hook runs, in order. Sends and holds
   * made by a hook count as the function's. NULL: no post part. */
  ofctx_result_t (*post)(ofctx_t *ctx, ofctx_result_t result, void *arg);
  /* Once the invocation has settled (its sends and holds ended, or the
   * timeout), with how the input ends: OFCTX_SUCCESS or OFCTX_DROP, it is
   * acknowledged; OFCTX_ERROR, it is not, and will be delivered again.
   * What a hook that remembers events (dedup) must wait for: the post part
   * runs before the sends settle. Runs for the hooks of the post list, in
   * its order; `ctx` and its event are valid during the call, and nothing
   * can be sent any more. NULL: no done part. */
  void (*done)(ofctx_t *ctx, ofctx_result_t outcome, void *arg);
  void *arg; /* given to pre, post and done */
} ofctx_hook_t;

/* What ofctx_main_opts runs: exactly one of `function`, `http` and `batch`. */
typedef struct {
  /* sizeof the struct as the caller was compiled: start from OFCTX_MAIN_OPTS_INIT.
   * Fields that later versions add come after the last one here, and the
   * library reads only those `size` covers, so a program built against
   * this version keeps working with later libraries. */
  size_t size;
  ofctx_function_t function;  /* the OpenFunction signature, in either runtime */
  ofctx_http_function_t http; /* a plain HTTP function (runtime Knative only) */
  /* Knative: the request methods the function takes ("GET", "POST", ...),
   * ending with NULL; others are answered 405. NULL takes every method.
   * Borrowed for the duration of the call. */
  const char *const *methods;
  /* Called once, after the context and options are loaded and before the
   * first event: the place to read the function's own configuration, to
   * check the context (that an output exists, say) and to make the
   * function's state. `*user_data` starts as `arg`; what init leaves there
   * is the user data from then on (ownership stays with the function: free
   * it in fini). A non-zero return stops the process with exit status 2;
   * say why on stderr. fini is not called then, so init frees what it made
   * before failing. */
  int (*init)(const ofctx_config_t *cfg, void **user_data);
  /* The function's own state, its user data: ofctx_user_data returns it in
   * every context (event, batch, tick), init may replace it, and tick and
   * fini are given it. Borrowed: the library never frees it (fini may). */
  void *arg;
  /* Called every `tick_ms` milliseconds (0 or no tick: never) with a
   * context of its own, for work no event starts: notifications a timer
   * decides, flushes. It may send and log through `ctx` as a function does
   * (ofctx_event(ctx) is NULL); a drain waits for its sends, and their
   * failures are only logged, since no input waits for them. It is called
   * once more with `stopping` 1 when the function stops (SIGTERM or SIGINT,
   * before the drain; with --invoke, after the last event). `user_data` is
   * ofctx_user_data(ctx). */
  void (*tick)(ofctx_t *ctx, int stopping, void *user_data);
  unsigned tick_ms;
  /* A batch function, instead of `function` or `http` (bulk deliveries
   * under the Async runtime; every other event is a batch of one). */
  ofctx_batch_function_t batch;
  /* Called exactly once, with the user data, before ofctx_main_opts
   * returns, when init succeeded (without init: when the context and
   * options were good, where init would have run): after the last event,
   * the last tick and the last send callback, once the loop is closed, so
   * nothing of the library calls the function again; also when the start
   * fails after init (the port is taken, say). Not called when init failed,
   * nor when ofctx_main_opts stops before it (a bad context, option or
   * argument). The place to free the state init made; the config init was
   * given (and the strings it returned) is still valid during the call. */
  void (*fini)(void *user_data);
  /* The function's own commands (see ofctx_command_t), ended by an entry
   * whose name is NULL; NULL: none. Borrowed for the duration of the call. */
  const ofctx_command_t *commands;
  /* The function's own metrics (see ofctx/metrics.h): called on every
   * scrape of GET /metrics with a writer and the user data, after the
   * library's families. NULL: none. */
  ofctx_metrics_function_t metrics;
  /* The hooks the function context may name (see ofctx_hook_t), ended by
   * an entry whose name is NULL; NULL: none. */
  const ofctx_hook_t *hooks;
} ofctx_main_opts_t;

/* The options with their size set and every field empty; e.g.
 *   ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;
 *   opts.http = page;
 * or, with designated initializers,
 *   {.size = sizeof(ofctx_main_opts_t), .http = page}. */
#define OFCTX_MAIN_OPTS_INIT                                                                       \
  { .size = sizeof(ofctx_main_opts_t) }

/* ofctx_main with a choice of function kind and methods. Exit statuses as
 * ofctx_main; 2 also when `opts` names no function or more than one, an
 * HTTP function under the Async runtime, or its `size` is not set. */
OFCTX_EXTERN int ofctx_main_opts(int argc, char **argv, const ofctx_main_opts_t *opts);

/* ---- the context ---- */

/* The function context (shared, immutable; borrowed, valid while the
 * function runs). */
OFCTX_EXTERN const ofctx_config_t *ofctx_config(const ofctx_t *ctx);
/* The event being handled (borrowed, as `in`); NULL in a tick's context
 * and in a bulk delivery's batch. */
OFCTX_EXTERN const ofctx_event_t *ofctx_event(const ofctx_t *ctx);
/* The function's own state (its user data): ofctx_main_opts_t.arg, or what
 * its init left in `*user_data`; NULL when neither gave one. The same in
 * every context: an event's, a batch's, a tick's, and in send callbacks.
 * Borrowed: owned by the function, which frees it (in fini, say). */
OFCTX_EXTERN void *ofctx_user_data(const ofctx_t *ctx);

/* The data of the answer (copied; the last call wins): a binding's answer
 * body, or the body of a Knative function's 200 (and of its 400 when it
 * returns OFCTX_DROP; never sent with a 500). Ignored for pub/sub, whose
 * answer is a status. */
OFCTX_EXTERN ofctx_err_t ofctx_set_reply(ofctx_t *ctx, const void *data, size_t len);

/* Knative: makes the reply a CloudEvent and sets one of its attributes
 * (both strings copied). "type" and "source" are required; "id" defaults
 * to a random UUID, "time" to now, "specversion" is 1.0, and
 * "datacontenttype" is the data's type when not set. The reply goes in the
 * mode the request came in (structured for structured, else binary).
 * OFCTX_EINVAL for a name that is not 1-64 of [a-z0-9] (or is "data"), a
 * value that is not UTF-8 text without control characters, or a
 * specversion other than "1.0". Ignored by the Async runtime. */
OFCTX_EXTERN ofctx_err_t ofctx_set_reply_attribute(ofctx_t *ctx, const char *name,
                                                   const char *value);

/* ---- holds ---- */

/* Keeps the invocation from settling until a matching ofctx_release, as a
 * send in flight does: for an input whose acknowledgement waits on
 * something other than its own sends (a send that another invocation made,
 * say). `ctx` stays valid until the release. The invocation timeout and the
 * shutdown grace period apply to holds as to sends. OFCTX_ESETTLED once the
 * invocation has settled, OFCTX_EINVAL for NULL. */
OFCTX_EXTERN ofctx_err_t ofctx_hold(ofctx_t *ctx);
/* Ends one hold of `ctx` with how what it waited for went: OFCTX_OK, it
 * went well; any other code counts as a failed send (the input is not
 * acknowledged) and is named in the log line that says so. Once the
 * invocation has settled (timeout, shutdown) it only lets go of `ctx`. */
OFCTX_EXTERN void ofctx_release(ofctx_t *ctx, ofctx_err_t status);

/* ---- logging ---- */

typedef enum {
  OFCTX_LOG_DEBUG = 0,
  OFCTX_LOG_INFO = 1,
  OFCTX_LOG_WARN = 2,
  OFCTX_LOG_ERROR = 3
} ofctx_log_level_t;

/* One log line on stderr tagged with the invocation's input, in the
 * runtime's format (text, or JSON with OFCTX_LOG_FORMAT=json). */
OFCTX_EXTERN void ofctx_log(const ofctx_t *ctx, ofctx_log_level_t level, const char *fmt, ...)
    OFCTX_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif
#endif
