/* libofctx: the OpenFunction functions framework for C. Include this one
 * header; it brings in every public part of the API.
 *
 * Threads: libofctx has no global mutable state. A handle may be used from one
 * thread at a time; an ofctx_config_t is immutable after it is built and may be
 * read from any number of threads at once. */
#ifndef OFCTX_H
#define OFCTX_H

#include "ofctx/alloc.h"
#include "ofctx/config.h"
#include "ofctx/error.h"
#include "ofctx/export.h"
#include "ofctx/function.h"
#include "ofctx/strmap.h"
#include "ofctx/version.h"

#endif
