/* Internal: the runtime's log lines, on stderr, one per line, as text or as
 * JSON (OFCTX_LOG_FORMAT=json), filtered by OFCTX_LOG_LEVEL. */
#ifndef OFCTX_LOG_H
#define OFCTX_LOG_H

#include "ofctx/function.h"

/* Reads OFCTX_LOG_FORMAT and OFCTX_LOG_LEVEL; 0, or -1 with a message in
 * `err` (size `size`) naming the variable. Also reads K_SERVICE,
 * K_REVISION and K_CONFIGURATION, which every line then carries. */
int ofctx__log_setup(char *err, size_t size);

int ofctx__log_enabled(ofctx_log_level_t level);
/* Now as RFC 3339 UTC with milliseconds ("2026-11-26T02:57:57.654Z"), as log
 * lines and reply CloudEvents carry it; `size` of 32 is room enough. */
void ofctx__timestamp(char *out, size_t size);

/* One line: `msg`, then string fields as key/value pairs ending with a NULL
 * key (values may be NULL: the pair is left out). */
void ofctx__log(ofctx_log_level_t level, const char *msg, ...);

#endif
