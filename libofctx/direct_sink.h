/* Internal: the direct mode's sink (see sink.h): each send made by libofctx
 * itself as the component the output names would make it, with no sidecar:
 * a bindings.http output's request through the HTTP client (libcurl on the
 * loop), a bindings.kafka output's record and a pubsub.kafka output's
 * publish and bulk publish (in Dapr's envelope, dapr_envelope.h; a bulk
 * publish each entry its own record, the entries that failed named in the
 * result) through the Kafka producer (kafka_producer.h). State requests
 * have no way in direct mode yet. */
#ifndef OFCTX_DIRECT_SINK_H
#define OFCTX_DIRECT_SINK_H

#include <uv.h>

#include "components.h"
#include "retry.h"
#include "sink.h"

/* A new sink for the outputs of `comps` (borrowed, as `loop`, `policy`
 * and `app_id`, the source of the CloudEvents it publishes), its clients
 * and producers made at their first send on `loop`. NULL when out of
 * memory; free it with ofctx__sink_free, after its `close`. */
ofctx__sink_t *ofctx__direct_sink_new(uv_loop_t *loop, const ofctx__comps_t *comps,
                                      const ofctx__retry_policy_t *policy, const char *app_id);

#endif
