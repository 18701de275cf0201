/* Internal: the local runtime's sink: each send is printed on stdout as one
 * JSON line instead of going to Dapr, and finishes, accepted, when the mode
 * flushes the sink (once the function has returned). */
#ifndef OFCTX_LOCAL_SINK_H
#define OFCTX_LOCAL_SINK_H

#include "ofctx/config.h"
#include "sink.h"

/* A new sink printing the sends of a function of the context `cfg`
 * (borrowed). NULL when out of memory; free it with ofctx__sink_free. */
ofctx__sink_t *ofctx__local_sink_new(const ofctx_config_t *cfg);

/* Finishes the printed sends, in order, as accepted (their callbacks may
 * send more, which are finished too). */
void ofctx__local_sink_flush(ofctx__sink_t *sink);

#endif
