/* Internal: the sink that carries sends to the Dapr sidecar's HTTP API
 * through the Dapr client (see sink.h, dapr_http_body.h). */
#ifndef OFCTX_DAPR_HTTP_SINK_H
#define OFCTX_DAPR_HTTP_SINK_H

#include <stddef.h>

#include "dapr_http_client.h"
#include "sink.h"

/* Where the sink gets its client, at each send: NULL when there is none
 * (libcurl cannot be opened, or the function is stopping). */
typedef ofctx__dapr_http_client_t *(*ofctx__dapr_http_client_fn)(void *arg);

/* A new sink for a context of `outputs` outputs, sending with `policy`
 * (borrowed); `*ready` (borrowed) is set each time the sidecar accepts a
 * send. NULL when out of memory; free it with ofctx__sink_free. */
ofctx__sink_t *ofctx__dapr_http_sink_new(ofctx__dapr_http_client_fn client, void *client_arg,
                                         const ofctx__retry_policy_t *policy, size_t outputs,
                                         int *ready);

#endif
