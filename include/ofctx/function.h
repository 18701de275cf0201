/* Writing a function: the signature, the event it receives, its context
 * (replies, sends to outputs, logs), and ofctx_main, which runs it.
 *
 *   static int hello(ofctx_t *ctx, const ofctx_event_t *in) {
 *     size_t len;
 *     const char *data = ofctx_event_data(in, &len);
 *     ofctx_send_to(ctx, "out", data, len);
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
 * ofctx_t. */
typedef struct ofctx_event ofctx_event_t;

/* What a function returns (OpenFunction's codes). */
enum {
  /* Done. The input is acknowledged once every send has succeeded. */
  OFCTX_SUCCESS = 200,
  /* The event is poison (malformed, never processable): it is acknowledged
   * without a retry, with a log line and a count. Pub/sub answers DROP. */
  OFCTX_DROP = 400,
  /* Failed. The input is not acknowledged, so Dapr delivers it again
   * (binding: HTTP 500; pub/sub: RETRY). Any other value counts as this. */
  OFCTX_ERROR = 500
};

typedef int (*ofctx_function_t)(ofctx_t *ctx, const ofctx_event_t *in);

/* Runs `fn` as an OpenFunction function: reads the function context from
 * the environment (see docs/function-context.md) and the runtime options
 * (OFCTX_* variables, see docs/async-runtime.md), serves events until SIGTERM
 * or SIGINT, lets invocations in flight settle within the grace period, and
 * returns the process exit status: 0 after a clean shutdown, 2 for a bad
 * context, option or argument (the message is on stderr), 1 when the server
 * cannot start. `argv` accepts --help and --version. */
OFCTX_EXTERN int ofctx_main(int argc, char **argv, ofctx_function_t fn);

/* ---- the event ---- */

typedef enum {
  OFCTX_EVENT_BINDING = 1, /* a Dapr input binding delivered it */
  OFCTX_EVENT_PUBSUB = 2   /* a Dapr pub/sub subscription delivered it */
} ofctx_event_kind_t;

OFCTX_EXTERN ofctx_event_kind_t ofctx_event_kind(const ofctx_event_t *ev);
/* The name of the input in the function context (its key in "inputs"). */
OFCTX_EXTERN const char *ofctx_event_input(const ofctx_event_t *ev);
/* The payload: for a binding the body Dapr delivered; for pub/sub the
 * CloudEvent's data (JSON data as JSON text, a string's characters,
 * data_base64 decoded). Never NULL; always followed by a NUL byte that `len`
 * does not count. `len` may be NULL. */
OFCTX_EXTERN const char *ofctx_event_data(const ofctx_event_t *ev, size_t *len);
/* The payload's media type when known (pub/sub datacontenttype), else NULL. */
OFCTX_EXTERN const char *ofctx_event_content_type(const ofctx_event_t *ev);
/* Transport metadata: for bindings each metadata entry Dapr sent as a header
 * (Kafka: __key, __offset, __partition, __topic, __timestamp and record
 * headers). Looked up case-insensitively; NULL when absent. */
OFCTX_EXTERN const char *ofctx_event_metadata(const ofctx_event_t *ev, const char *key);
OFCTX_EXTERN size_t ofctx_event_metadata_count(const ofctx_event_t *ev);
OFCTX_EXTERN const char *ofctx_event_metadata_key(const ofctx_event_t *ev, size_t i);
OFCTX_EXTERN const char *ofctx_event_metadata_value(const ofctx_event_t *ev, size_t i);
/* A CloudEvent attribute of a pub/sub event ("id", "source", "type",
 * "specversion", "topic", "pubsubname", "time", extensions...) as text;
 * NULL when absent or for bindings. */
OFCTX_EXTERN const char *ofctx_event_attribute(const ofctx_event_t *ev, const char *name);

/* ---- the context ---- */

/* The function context (shared, immutable). */
OFCTX_EXTERN const ofctx_config_t *ofctx_config(const ofctx_t *ctx);
/* The event being handled. */
OFCTX_EXTERN const ofctx_event_t *ofctx_event(const ofctx_t *ctx);

/* The data of a binding's answer (copied; the last call wins). Ignored for
 * pub/sub, whose answer is a status. */
OFCTX_EXTERN ofctx_err_t ofctx_set_reply(ofctx_t *ctx, const void *data, size_t len);

/* ---- sending ---- */

/* How a send ended, for its callback: `code` is OFCTX_OK when the sidecar
 * accepted it; otherwise OFCTX_ESEND, with the sidecar's HTTP status (0 when
 * it never answered) and a message. The strings are valid during the call. */
typedef struct {
  ofctx_err_t code;
  int http_status;
  const char *message;
  const char *output; /* the output name, or the component for direct sends */
} ofctx_send_result_t;

typedef void (*ofctx_send_cb)(ofctx_t *ctx, const ofctx_send_result_t *result, void *arg);

/* Per-call options; all may be NULL. */
typedef struct {
  /* Binding operation; default: the output's, else "create". */
  const char *operation;
  /* Extra metadata, key/value pairs ending with a NULL key: merged over the
   * output's metadata from the context. */
  const char *const *metadata;
  /* Pub/sub only: the data's media type; default application/json when the
   * data is JSON, text/plain for other UTF-8 text, else
   * application/octet-stream (which Dapr carries as data_base64). */
  const char *content_type;
  /* Called exactly once when the send has finished: normally before the
   * invocation settles; after an invocation timeout or a shutdown abort it
   * may come later, when the event is gone and new sends are refused with
   * OFCTX_ESETTLED. */
  ofctx_send_cb done;
  void *arg;
} ofctx_send_opts_t;

/* Sends `data` (`len` bytes, copied) to the output of that name in the
 * function context through the Dapr sidecar, and returns at once; the send
 * runs on the loop and the invocation does not settle before it has
 * finished. Bindings: POST /v1.0/bindings/<componentName> with
 * {"data":…,"operation":…,"metadata":…}, where data that is JSON is embedded
 * as JSON and anything else as a JSON string (which Dapr passes on with its
 * quotes; send JSON for exact bytes). Pub/sub: POST
 * /v1.0/publish/<componentName>/<topic> with the data as it is.
 * A failed send (the sidecar's 4xx at once; 5xx, timeouts and connection
 * errors after bounded retries) fails the invocation: the input is not
 * acknowledged. Errors returned at once, and then nothing is sent:
 * OFCTX_ENOOUTPUT (no output of that name), OFCTX_EINVAL (bad argument),
 * OFCTX_ESETTLED (the invocation has already settled), OFCTX_ENOMEM. */
OFCTX_EXTERN ofctx_err_t ofctx_send_to(ofctx_t *ctx, const char *output, const void *data,
                                       size_t len);
OFCTX_EXTERN ofctx_err_t ofctx_send_to_opts(ofctx_t *ctx, const char *output, const void *data,
                                            size_t len, const ofctx_send_opts_t *opts);
/* Direct sends to a component by its Dapr name, without an output in the
 * context. `operation` is required for bindings. */
OFCTX_EXTERN ofctx_err_t ofctx_invoke_binding(ofctx_t *ctx, const char *component,
                                              const char *operation, const void *data,
                                              size_t len, const ofctx_send_opts_t *opts);
OFCTX_EXTERN ofctx_err_t ofctx_publish(ofctx_t *ctx, const char *pubsub, const char *topic,
                                       const void *data, size_t len,
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
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
