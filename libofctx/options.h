/* Internal: the runtime's tunables, read from OFCTX_* environment variables
 * (OpenFunction passes spec.serving.params as environment variables), each
 * checked, with a message naming the variable. Five OFCTX_* variables are
 * read where they are used instead, apart from these: OFCTX_LOG_FORMAT and
 * OFCTX_LOG_LEVEL in log.c (the log is set up before the context is read,
 * so that the context's warnings come in the chosen format), OFCTX_LIBCURL
 * in curl_lib.c (where libcurl is opened, at the first send),
 * OFCTX_LIBRDKAFKA in rdkafka_lib.c (where librdkafka is opened, when the
 * direct mode starts), and
 * OFCTX_SUBSCRIPTION_METADATA in config_env.c (it is part of the context,
 * read through ofctx_config_load's getenv callback and printed by
 * `ofctx context check`). */
#ifndef OFCTX_OPTIONS_H
#define OFCTX_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "grpc_server.h"
#include "http_server.h"
#include "ofctx/error.h"
#include "retry.h"

typedef struct {
  ofctx__http_limits_t http;
  ofctx__grpc_limits_t grpc; /* its HTTP part is `http` */
  ofctx__retry_policy_t send;
  int dapr_grpc; /* sends over gRPC (1) or HTTP (0): OFCTX_DAPR_PROTOCOL, else whether
                    DAPR_GRPC_PORT is set */
  uint64_t invocation_timeout_ms; /* fn returned → every send settled (default 60 s) */
  uint64_t grace_ms;              /* SIGTERM → forced exit of what is left (default 20 s) */
  uint64_t dapr_wait_ms;          /* how long start-up waits for the sidecar (default 30 s) */
  size_t direct_max_held;         /* the direct mode: record bytes one input holds (16 MiB) */
  char listen_host[64];           /* default 0.0.0.0 */
  const char *http_pattern;       /* Knative: OFCTX_HTTP_PATTERN over httpPattern, or NULL */
  int direct;                     /* OFCTX_DIRECT=1: no sidecar (docs/direct-mode.md) */
  const char *resources_path;     /* OFCTX_RESOURCES_PATH: the Dapr Component files, or NULL */
} ofctx__options_t;

/* Fills `o` with the defaults, then with every variable that is set.
 * Returns OFCTX_OK, or OFCTX_EOPTION with a message naming the variable in
 * `err` (may be NULL) when one is not valid. */
ofctx_err_t ofctx__options_load(ofctx__options_t *o, ofctx_error_t *err);

#endif
