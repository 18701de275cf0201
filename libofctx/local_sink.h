/* Internal: the local runtime's sink: each send is printed on stdout as one
 * JSON line instead of going to Dapr, and finishes, accepted, when the mode
 * flushes the sink (once the function has returned). State requests are
 * performed on an in-memory store that lasts the run, printed as lines too,
 * and answered at the flush the same way. */
#ifndef OFCTX_LOCAL_SINK_H
#define OFCTX_LOCAL_SINK_H

#include <jansson.h>

#include "ofctx/config.h"
#include "sink.h"

/* A new sink printing the sends of a function of the context `cfg`
 * (borrowed). NULL when out of memory; free it with ofctx__sink_free. */
ofctx__sink_t *ofctx__local_sink_new(const ofctx_config_t *cfg);

/* Finishes the printed sends, in order, as accepted (their callbacks may
 * send more, which are finished too). */
void ofctx__local_sink_flush(ofctx__sink_t *sink);

/* Prints an event's end as one JSON line (the local mode asks for the ends
 * of events that did not succeed or set a reply, or of all with
 * --all-outcomes): the line it came from, its outcome ("SUCCESS", "DROP",
 * "RETRY"), what the function returned, and its reply when it set one (its
 * size, the data as a send's, and the CloudEvent attributes of a Knative
 * reply); or, with `error` set, why the line was not an event. */
void ofctx__local_sink_answer(ofctx__sink_t *sink, size_t line, const char *outcome, int status,
                              const char *reply, size_t reply_len, json_t *attributes,
                              const char *error);

#endif
