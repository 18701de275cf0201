/* Test support for test_invocation.c and test_send.c: the core with a fake
 * sink and no mode. A host around the core whose function does what its
 * event's data says ("binding", "publish", "checks", "hold", "drop",
 * "zero", "seven", "direct"; a test may set host.fn to its own), and a sink that keeps what it is
 * given until the test ends it. */
#ifndef OFCTX_TEST_HOST_FIXTURE_H
#define OFCTX_TEST_HOST_FIXTURE_H

#include <stddef.h>

#include <uv.h>

#include "invocation.h"
#include "metrics.h"
#include "ofctx/ofctx.h"
#include "sink.h"

/* ---- a sink that keeps what it is given ---- */

typedef struct {
  ofctx__sink_done_fn done;
  void *arg;
} held_t;

typedef struct {
  ofctx__sink_t base;
  held_t held[8];
  size_t count;
  ofctx__send_request_t last; /* its strings borrowed only during start: copied below */
  char component[64], topic[64], content_type[64], data[64], operation[64];
  char traceparent[64], tracestate[64], baggage[64]; /* "" when there was none */
  /* state requests, kept the same way */
  struct {
    ofctx__state_done_fn done;
    void *arg;
  } held_states[8];
  size_t state_count;
  ofctx__state_request_t last_state; /* its strings copied below (its trace above) */
  char store[64], key[64], value[64], etag[64], concurrency[64], consistency[64];
} fake_sink_t;

/* Ends the held sends, the first `ok_count` of them accepted. */
void finish(fake_sink_t *s, size_t ok_count);
/* Ends the held state requests with that HTTP status (2xx: answered), the
 * body (a get's value; NUL-terminated) and ETag. */
void finish_states(fake_sink_t *s, int status, const char *body, const char *etag);

/* ---- the function, told by the event what to do ---- */

extern ofctx_t *held_ctx; /* what "hold" held */

/* ---- the fixture: a host around the core ---- */

typedef struct {
  uv_loop_t loop;
  ofctx_config_t *cfg;
  ofctx__metrics_t metrics;
  fake_sink_t sink;
  ofctx__host_t host;
  int answers;
  ofctx__outcome_t outcome;
  int settled;
} fixture_t;

/* The fixture of each case (cmocka's setup and teardown), and one event of
 * input "in" whose data is `what`. */
int setup(void **state);
int teardown(void **state);
void run(fixture_t *f, const char *what);
/* The host's answer: counts it and keeps its outcome in the fixture. */
void answer(ofctx_t *ctx, ofctx__outcome_t outcome);

#endif
