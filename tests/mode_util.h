/* Test support: a mode on its own, behind a real HTTP server on loopback
 * whose loop runs in a second thread, with a host whose function describes
 * the event it got, and no runtime. The fixture owns the loop, the server,
 * the context and the mode's state; finish frees them all. */
#ifndef OFCTX_TEST_MODE_UTIL_H
#define OFCTX_TEST_MODE_UTIL_H

#include "mode.h"

typedef struct mode_fixture mode_fixture_t;

/* The function of every fixture: its reply is "kind=... input=... data=...
 * md0=... id=... name=..." (the event's kind, input, data, first metadata
 * key, "id" attribute and "name" parameter); data starting with "poison"
 * makes it return OFCTX_DROP. */
ofctx_result_t mode_describe_event(ofctx_t *ctx, const ofctx_event_t *in);

/* `mode` started on the context `context` (a self-hosted one), with the
 * Knative `methods` (NULL: all), serving on a port of loopback. */
mode_fixture_t *mode_start(const char *context, const ofctx__mode_t *mode,
                           const char *const *methods);
/* mode_start with every method, whose host has a batch function instead:
 * mode_describe_event on each entry, its result the entry's status. */
mode_fixture_t *mode_start_batch(const char *context, const ofctx__mode_t *mode);
void mode_finish(mode_fixture_t *f);

/* Sends `request` on a new connection and fails the test unless the whole
 * answer holds `want`. */
void mode_expect(mode_fixture_t *f, const char *request, const char *want);

/* A POST of `body` to `path` with the extra `headers` ("Name: value\r\n"
 * each), closing the connection; in a static buffer. */
char *mode_post(const char *path, const char *headers, const char *body);

/* A getenv for ofctx_config_parse: CONTEXT_MODE self-host, nothing else. */
const char *mode_self_host(void *arg, const char *name);

#endif
