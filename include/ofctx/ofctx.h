/* libofctx: the OpenFunction functions framework for C. Include this one
 * header; it brings in every public part of the API.
 *
 * Threads: a handle may be used from one thread at a time; an ofctx_config_t
 * is immutable after it is built and may be read from any number of threads
 * at once. The library's global state is set before its loop runs and read
 * after: the allocator (ofctx_replace_allocator, before any other call), the
 * log settings (read from the environment at the start of ofctx_main), the
 * libcurl table (loaded at the first call to the sidecar) and, while a
 * runtime runs, its log writer thread. */
#ifndef OFCTX_H
#define OFCTX_H

#include "ofctx/alloc.h"
#include "ofctx/batch.h"
#include "ofctx/config.h"
#include "ofctx/error.h"
#include "ofctx/event.h"
#include "ofctx/export.h"
#include "ofctx/function.h"
#include "ofctx/json.h"
#include "ofctx/metrics.h"
#include "ofctx/response.h"
#include "ofctx/send.h"
#include "ofctx/state.h"
#include "ofctx/strmap.h"
#include "ofctx/trace.h"
#include "ofctx/version.h"

#endif
