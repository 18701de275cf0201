/* Internal: the runtime's log lines, on stderr, one per line, as text or as
 * JSON (OFCTX_LOG_FORMAT=json), filtered by OFCTX_LOG_LEVEL. */
#ifndef OFCTX_LOG_H
#define OFCTX_LOG_H

#include <stdint.h>

#include "ofctx/error.h"
#include "ofctx/function.h"

/* Reads OFCTX_LOG_FORMAT and OFCTX_LOG_LEVEL. Returns OFCTX_OK, or
 * OFCTX_EOPTION with a message naming the variable in `err` (may be NULL).
 * Also reads K_SERVICE, K_REVISION and K_CONFIGURATION, which every line
 * then carries. */
ofctx_err_t ofctx__log_setup(ofctx_error_t *err);

int ofctx__log_enabled(ofctx_log_level_t level);
/* Now as RFC 3339 UTC with milliseconds ("2026-11-26T02:57:57.654Z"), as log
 * lines and reply CloudEvents carry it; `size` of 32 is room enough. */
void ofctx__timestamp(char *out, size_t size);

/* Lines go to stderr through a writer thread from here on, so that a
 * stderr nobody reads never stalls the loop: they wait in a 256 KiB buffer,
 * and one that does not fit is dropped and counted. Before this call (and
 * after _stop) lines are written at once. 0, or -1 (then they still are). */
int ofctx__log_writer_start(void);
/* Lets the writer finish what it holds, waiting at most `wait_ms`; a stderr
 * still stuck then is left to the thread, which the process's end takes. */
void ofctx__log_writer_stop(uint64_t wait_ms);
/* Lines dropped so far because the buffer was full. */
uint64_t ofctx__log_dropped(void);

/* A missing NULL at the end of a variadic call is a compile error where
 * the compiler knows the attribute. */
#if defined(__GNUC__) || defined(__clang__)
#define OFCTX__SENTINEL __attribute__((sentinel))
#else
#define OFCTX__SENTINEL
#endif

/* One line: `msg`, then string fields as key/value pairs ending with a NULL
 * key, `(const char *)NULL` (values may be NULL: the pair is left out). */
void ofctx__log(ofctx_log_level_t level, const char *msg, ...) OFCTX__SENTINEL;

#endif
