/* Writing a function: the signature, the event it receives, its context
 * (replies, sends to outputs, logs), and ofctx_main, which runs it.
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
#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One invocation's context: created for each event, owned by the runtime,
 * valid from the call of the function until the invocation settles (the
 * function has returned and every send it made has finished). Nothing in it
 * is shared with other invocations. */
typedef struct ofctx ofctx_t;

/* The event that triggered the invocation; borrowed, valid as long as its
 * ofctx_t. NULL in a tick's context (ofctx_main_opts_t.tick). */
typedef struct ofctx_event ofctx_event_t;

/* What a function returns (OpenFunction's codes), and a batch entry's
 * status. It is not an ofctx_err_t: what the library's calls return says
 * how a call went, this says what becomes of the input. Any other value,
 * 0 (OFCTX_OK) included, counts as OFCTX_ERROR, with a warning that names
 * it. gcc's and clang's -Wextra (-Wenum-conversion) warn on
 * `return OFCTX_OK;` or `return ofctx_send_to(...);` in a function that
 * returns this type ("implicit conversion from ... to 'ofctx_result_t'"),
 * and C++ refuses them. */
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

/* The response of a plain HTTP function (Knative runtime): status, headers
 * and body, written when the invocation settles. Owned by the runtime; valid
 * until then, so send callbacks may still change it. */
typedef struct ofctx_response ofctx_response_t;

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

/* A batch function (runtime Async): every entry of a bulk pub/sub delivery
 * (Dapr's bulkSubscribe) in one call, and any other event as a batch of
 * one. It sets each entry's status with ofctx_batch_set_status; an entry
 * left without one is RETRY. Its return value: OFCTX_SUCCESS keeps the
 * statuses; OFCTX_DROP makes the entries without one DROP; OFCTX_ERROR (or
 * any other value, 0 included, as for a function), a failed send, a failed
 * hold or the invocation timeout makes every entry that is not DROP RETRY. */
typedef ofctx_result_t (*ofctx_batch_function_t)(ofctx_t *ctx, ofctx_batch_t *batch);

/* Runs `fn` as an OpenFunction function: reads the function context from
 * the environment (see docs/function-context.md) and the runtime options
 * (OFCTX_* variables, see docs/async-runtime.md), serves events until SIGTERM
 * or SIGINT, lets invocations in flight settle within the grace period, and
 * returns the process exit status: 0 after a clean shutdown, 2 for a bad
 * context, option or argument (the message is on stderr), 1 when the server
 * cannot start. `argv` accepts --help and --version. */
OFCTX_EXTERN int ofctx_main(int argc, char **argv, ofctx_function_t fn);

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
  /* A batch function, instead of `function` or `http` (runtime Async). */
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
 * HTTP function under the Async runtime or a batch function under Knative,
 * or its `size` is not set. */
OFCTX_EXTERN int ofctx_main_opts(int argc, char **argv, const ofctx_main_opts_t *opts);

/* ---- the event ----
 * Every string these return is borrowed from the event: valid as long as
 * its ofctx_t. */

typedef enum {
  OFCTX_EVENT_BINDING = 1,   /* a Dapr input binding delivered it */
  OFCTX_EVENT_PUBSUB = 2,    /* a Dapr pub/sub subscription delivered it */
  OFCTX_EVENT_HTTP = 3,      /* Knative: an HTTP request that is not a CloudEvent */
  OFCTX_EVENT_CLOUDEVENT = 4 /* Knative: a CloudEvent (binary or structured mode) */
} ofctx_event_kind_t;

OFCTX_EXTERN ofctx_event_kind_t ofctx_event_kind(const ofctx_event_t *ev);
/* The name of the input in the function context (its key in "inputs");
 * "http" for the Knative runtime. */
OFCTX_EXTERN const char *ofctx_event_input(const ofctx_event_t *ev);
/* The payload: for a binding the body Dapr delivered; for pub/sub the
 * CloudEvent's data (JSON data as its JSON text, byte for byte as it came,
 * a string's characters, data_base64 decoded); for Knative the request body,
 * or a CloudEvent's data (binary mode: the body; structured mode:
 * data_base64 decoded, JSON data as its JSON text, byte for byte, when
 * datacontenttype is JSON or absent, else a string's characters). Any JSON
 * is read, also big integers, 1e999, "\u0000", lone surrogates (U+FFFD in
 * a string's characters) and deep nesting. Never NULL; always followed by a NUL byte that `len`
 * does not count. `len` may be NULL. */
OFCTX_EXTERN const char *ofctx_event_data(const ofctx_event_t *ev, size_t *len);
/* The payload's media type when known (a CloudEvent's datacontenttype, or
 * Knative's Content-Type header), else NULL. */
OFCTX_EXTERN const char *ofctx_event_content_type(const ofctx_event_t *ev);
/* Transport metadata: for bindings each metadata entry Dapr sent as a header
 * (Kafka: __key, __offset, __partition, __topic, __timestamp and record
 * headers). Looked up case-insensitively; NULL when absent. */
OFCTX_EXTERN const char *ofctx_event_metadata(const ofctx_event_t *ev, const char *key);
OFCTX_EXTERN size_t ofctx_event_metadata_count(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_metadata_key(const ofctx_event_t *ev, size_t i);
OFCTX_EXTERN const char *ofctx_event_metadata_value(const ofctx_event_t *ev, size_t i);
/* A CloudEvent attribute of a pub/sub or Knative CloudEvent ("id",
 * "source", "type", "specversion", "time", "topic", "pubsubname",
 * extensions...) as text (integers in decimal, booleans as true/false);
 * NULL when absent and for events that are not CloudEvents. */
OFCTX_EXTERN const char *ofctx_event_attribute(const ofctx_event_t *ev, const char *name);

/* The HTTP request of a Knative event; NULL (count 0) for other runtimes.
 * Method, path as received (percent-encoding kept), the query string
 * without "?" ("" when there is none). */
OFCTX_EXTERN const char *ofctx_event_method(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_path(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_query(const ofctx_event_t *ev);
/* The first value of a query parameter, decoded ('+' is a space). */
OFCTX_EXTERN const char *ofctx_event_query_param(const ofctx_event_t *ev, const char *name);
/* A path parameter of httpPattern ("/hello/{name}" → "name"), decoded. */
OFCTX_EXTERN const char *ofctx_event_param(const ofctx_event_t *ev, const char *name);
/* Request headers: the first of a name (case-insensitive), or each in turn. */
OFCTX_EXTERN const char *ofctx_event_header(const ofctx_event_t *ev, const char *name);
OFCTX_EXTERN size_t ofctx_event_header_count(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_header_name(const ofctx_event_t *ev, size_t i);
OFCTX_EXTERN const char *ofctx_event_header_value(const ofctx_event_t *ev, size_t i);

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
 * (both strings copied; "type" and "source" are required; "id" defaults to a random UUID, "time" to
 * now, "specversion" is 1.0, "datacontenttype" to the data's type when not set). The reply goes in
 * the mode the request came in (structured for structured, else binary). OFCTX_EINVAL for a name
 * that is not 1-64 of [a-z0-9] (or is "data"), a value that is not UTF-8 text without control
 * characters, or a specversion other than "1.0". Ignored by the Async
 * runtime. */
OFCTX_EXTERN ofctx_err_t ofctx_set_reply_attribute(ofctx_t *ctx, const char *name,
                                                   const char *value);

/* ---- the response of a plain HTTP function ----
 * Each of these returns OFCTX_ESETTLED once the invocation has settled. */

/* Sets the status code, 200-599 (default 200); the last call wins.
 * OFCTX_EINVAL for another code. */
OFCTX_EXTERN ofctx_err_t ofctx_response_set_status(ofctx_response_t *res, int status);
/* Adds a header (both strings copied), after those added before; a name
 * added twice is sent twice. OFCTX_EINVAL for a name that is not an HTTP
 * token, a value with control characters (CR, LF...), and for
 * Content-Length, Transfer-Encoding and Connection, which the server writes
 * itself. */
OFCTX_EXTERN ofctx_err_t ofctx_response_add_header(ofctx_response_t *res, const char *name,
                                                   const char *value);
/* Appends `len` bytes (copied) to the body. */
OFCTX_EXTERN ofctx_err_t ofctx_response_append(ofctx_response_t *res, const void *data, size_t len);

/* ---- sending ---- */

/* How a send ended, for its callback: `code` is OFCTX_OK when the sidecar
 * accepted it; otherwise OFCTX_ESEND, with the sidecar's HTTP status (0 when
 * it never answered, and over gRPC) and a message. The strings are valid
 * during the call. */
typedef struct {
  ofctx_err_t code;
  int http_status;
  const char *message;
  const char *output; /* the output name, or the component for direct sends */
  int grpc_status;    /* over the sidecar's gRPC API its last status (0 OK; 14
                         UNAVAILABLE also when it could not be reached);
                         over HTTP always -1 */
  /* ofctx_publish_bulk: the ids of the entries the sidecar did not publish
   * (all of them when it could not be reached); 0 and NULL otherwise. */
  size_t failed_count;
  const char *const *failed_entries;
} ofctx_send_result_t;

typedef void (*ofctx_send_cb)(ofctx_t *ctx, const ofctx_send_result_t *result, void *arg);

/* Per-call options, borrowed for the call (what they point to too); every
 * field but `size` may be NULL. */
typedef struct {
  /* sizeof the struct as the caller was compiled: start from OFCTX_SEND_OPTS_INIT.
   * Fields that later versions add come after the last one here, and the
   * library reads only those `size` covers, so a program built against
   * this version keeps working with later libraries. */
  size_t size;
  /* Binding operation; default: the output's, else "create". */
  const char *operation;
  /* Extra metadata, key/value pairs ending with a NULL key: merged over the
   * output's metadata from the context. */
  const char *const *metadata;
  /* The data's media type. Pub/sub: sent as the Content-Type; default
   * application/json when the data is JSON, text/plain for other UTF-8
   * text, else application/octet-stream (which Dapr carries as
   * data_base64). Bindings: a JSON type (subtype json, or +json) embeds the
   * data as JSON unchecked (the caller vouches for it, and saves a parse;
   * if it is not JSON the sidecar refuses the send), any other type embeds
   * it as a JSON string; default: JSON if it parses as JSON. */
  const char *content_type;
  /* Called exactly once when the send has finished: normally before the
   * invocation settles; after an invocation timeout or a shutdown abort it
   * may come later, when the event is gone and new sends are refused with
   * OFCTX_ESETTLED. */
  ofctx_send_cb done;
  void *arg;
} ofctx_send_opts_t;

/* The options with their size set and every field empty; a call given
 * options whose `size` is not set fails with OFCTX_EINVAL. */
#define OFCTX_SEND_OPTS_INIT                                                                       \
  { .size = sizeof(ofctx_send_opts_t) }

/* Sends `data` (`len` bytes, copied) to the output of that name in the
 * function context (a binding, with its operation and metadata, or a
 * pub/sub topic), and returns at once; `opts` (borrowed for the call) may
 * be NULL. The send runs on the loop through the sidecar (over its gRPC or
 * its HTTP API, see docs/async-runtime.md) or, with --invoke, is printed;
 * the invocation does not settle before it has finished. A binding gets
 * data that is JSON as JSON and anything else as a string (see
 * content_type); pub/sub gets the data as it is. A send that fails (the
 * sidecar refuses it, or it cannot be reached after bounded retries) fails
 * the invocation: the input is not acknowledged, and Dapr delivers it
 * again. Errors returned at once, and then nothing is sent:
 * OFCTX_ENOOUTPUT (no output of that name), OFCTX_EINVAL (bad argument),
 * OFCTX_ESETTLED (the invocation has already settled), OFCTX_ESEND (no
 * sidecar client: libcurl cannot be opened, which is logged, memory ran
 * out, or the function is stopping), OFCTX_ENOMEM. */
OFCTX_EXTERN ofctx_err_t ofctx_send_to(ofctx_t *ctx, const char *output, const void *data,
                                       size_t len, const ofctx_send_opts_t *opts);
/* Direct sends to a component by its Dapr name, without an output in the
 * context. `operation` is required for bindings. A topic may hold '/', but
 * no part between slashes may be empty, "." or ".." (it would address
 * another topic or sidecar API once a path is normalized): OFCTX_EINVAL. */
OFCTX_EXTERN ofctx_err_t ofctx_invoke_binding(ofctx_t *ctx, const char *component,
                                              const char *operation, const void *data, size_t len,
                                              const ofctx_send_opts_t *opts);
OFCTX_EXTERN ofctx_err_t ofctx_publish(ofctx_t *ctx, const char *pubsub, const char *topic,
                                       const void *data, size_t len, const ofctx_send_opts_t *opts);

/* ---- batches ---- */

OFCTX_EXTERN size_t ofctx_batch_count(const ofctx_batch_t *batch);
/* Entry `i` (0 to count - 1) as an event, with its own data, content type,
 * metadata and CloudEvent attributes; NULL past the end. */
OFCTX_EXTERN const ofctx_event_t *ofctx_batch_event(const ofctx_batch_t *batch, size_t i);
/* Sets entry `i`'s status: OFCTX_SUCCESS, OFCTX_DROP or OFCTX_ERROR
 * (RETRY); the last call wins. OFCTX_EINVAL for another value or an `i`
 * past the end. */
OFCTX_EXTERN ofctx_err_t ofctx_batch_set_status(ofctx_batch_t *batch, size_t i,
                                                ofctx_result_t status);

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

/* ---- bulk publish ---- */

/* One message of a bulk publish; everything borrowed for the call. */
typedef struct {
  const char *entry_id; /* unique in the call; NULL: its index ("0", "1", ...) */
  const void *data;
  size_t len;
  const char *content_type;    /* NULL: as for ofctx_publish */
  const char *const *metadata; /* key, value, ..., NULL; or NULL */
} ofctx_bulk_entry_t;

/* Publishes `count` (1 or more) messages to `topic` of the pub/sub
 * component `pubsub` in one request (Dapr's bulk publish: POST
 * /v1.0/publish/bulk/<pubsub>/<topic>, and /v1.0-alpha1/ when the sidecar
 * is older than Dapr 1.17 and answers 404). Copied; returns at once, like
 * ofctx_publish. JSON data under a JSON type (the default for JSON) goes as
 * JSON, other data must be UTF-8 text (OFCTX_EINVAL otherwise: publish bytes
 * with ofctx_publish). `opts`: its metadata is the request's, its
 * content_type unused. Some entries may fail while others are published:
 * then the send fails (the input is not acknowledged, so it comes again),
 * and `done` gets the failed entries' ids. A sidecar's 500 is not retried,
 * since the entries it did publish would be published twice; no answer
 * at all (a connection error, a timeout) is, with the whole request. */
OFCTX_EXTERN ofctx_err_t ofctx_publish_bulk(ofctx_t *ctx, const char *pubsub, const char *topic,
                                            const ofctx_bulk_entry_t *entries, size_t count,
                                            const ofctx_send_opts_t *opts);

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
