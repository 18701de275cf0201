/* Internal: the sink that carries sends to the Dapr sidecar's gRPC API
 * through the gRPC client (see sink.h, grpc_client.h). */
#ifndef OFCTX_DAPR_GRPC_SINK_H
#define OFCTX_DAPR_GRPC_SINK_H

#include "grpc_client.h"
#include "retry.h"
#include "sink.h"

/* Where the sink gets its client, at each send: NULL once the function is
 * stopping. */
typedef ofctx__grpc_client_t *(*ofctx__grpc_client_fn)(void *arg);

/* A new sink sending with `policy` (borrowed); `*ready` (borrowed) is set
 * each time the sidecar accepts a send. NULL when out of memory; free it
 * with ofctx__sink_free. */
ofctx__sink_t *ofctx__dapr_grpc_sink_new(ofctx__grpc_client_fn client, void *client_arg,
                                         const ofctx__retry_policy_t *policy, int *ready);

#endif
