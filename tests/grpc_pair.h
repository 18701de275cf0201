/* Test support: libofctx's own gRPC client and server paired on one loop
 * (test_grpc_server.c, test_grpc_client.c). The pair owns the loop, the
 * server, a loopback listener that hands each accepted socket to the server
 * (as the HTTP/1.1 server does in the runtime), and the client; calls are
 * Dapr's InvokeBinding, whose messages both ends can read.
 *
 * Why loopback TCP on port 0 and not a socketpair: the client makes its
 * connection itself (address, connect, again after a loss or a GOAWAY), and
 * that is what its tests test; a socketpair would need a seam in the client
 * that only the tests would use. */
#ifndef OFCTX_TEST_GRPC_PAIR_H
#define OFCTX_TEST_GRPC_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "grpc_client.h"
#include "grpc_server.h"

typedef struct grpc_pair grpc_pair_t;

/* How one call ended, as the client told it (copied out of the callback). */
typedef struct {
  int done; /* times the callback ran: 1 */
  int ok, code, attempts, cancelled;
  char error[256];
  char data[8192]; /* the answer's InvokeBindingResponse.data */
  size_t data_len;
  int decoded; /* the answer was a whole InvokeBindingResponse */
} grpc_outcome_t;

struct grpc_pair {
  uv_loop_t loop;
  ofctx__grpc_server_t *server;
  ofctx__grpc_client_t *client;
  ofctx__grpc_limits_t limits; /* the server's, set before grpc_pair_start */
  uv_tcp_t listener;
  int port;
  /* the server's handler: the test's, called with each call */
  void (*handler)(grpc_pair_t *pair, ofctx__grpc_call_t *call);
  int calls;                   /* the handler's calls */
  ofctx__grpc_call_t *held[8]; /* calls the test's handler keeps */
  size_t held_count;
  int stopped; /* the server's stop is done */
};

/* Sets up the loop and the server's default limits. */
void grpc_pair_init(grpc_pair_t *pair);
/* Starts the server and its listener, and the client (with `token`). */
void grpc_pair_start(grpc_pair_t *pair, const char *token);
/* A policy for tests: `attempts` in all, 1 ms back-off, `timeout_ms`. */
void grpc_pair_policy(ofctx__retry_policy_t *policy, int attempts, uint64_t timeout_ms);
/* Calls `path` with an InvokeBindingRequest (name, data of `len` bytes
 * `fill`), the outcome into `out`. Fails the test unless it starts. */
void grpc_pair_call(grpc_pair_t *pair, const char *path, const char *fallback, const char *name,
                    size_t len, char fill, const ofctx__retry_policy_t *policy,
                    grpc_outcome_t *out);
/* Runs the loop until `*flag` is not 0; fails the test after 20 s. */
void grpc_pair_run_until(grpc_pair_t *pair, const int *flag);
/* The request's InvokeBindingRequest name and data length; -1 when it does
 * not decode. */
int grpc_pair_request(ofctx__grpc_call_t *call, char *name, size_t size, size_t *data_len);
/* Answers OK with an InvokeBindingResponse of `len` bytes `fill`. */
void grpc_pair_reply(ofctx__grpc_call_t *call, size_t len, char fill);
/* grpc_pair_init, the test's `handler`, grpc_pair_start with `token`. */
void grpc_pair_open(grpc_pair_t *pair, void (*handler)(grpc_pair_t *, ofctx__grpc_call_t *),
                    const char *token);
/* grpc_pair_call, then the loop runs until the call is done. */
void grpc_pair_ask(grpc_pair_t *pair, const char *path, const char *fallback, const char *name,
                   size_t len, char fill, const ofctx__retry_policy_t *policy, grpc_outcome_t *out);

/* grpc_pair_call, then the loop runs until the handler has been called. */
void grpc_pair_deliver(grpc_pair_t *pair, const char *path, const char *name, size_t len,
                       const ofctx__retry_policy_t *policy, grpc_outcome_t *out);
/* A handler that keeps each call in pair->held. */
void grpc_pair_hold(grpc_pair_t *pair, ofctx__grpc_call_t *call);

/* What a done call's outcome must be, and the handler's calls so far: every
 * field is checked but `error` (exact) and `error_has` (a fragment), when
 * NULL. */
typedef struct {
  int ok, code, attempts, decoded;
  size_t data_len;
  int calls;
  const char *error, *error_has;
} grpc_want_t;

void grpc_pair_check(const grpc_pair_t *pair, const grpc_outcome_t *out, const grpc_want_t *want);
/* A stop callback for ofctx__grpc_server_stop(server, grpc_pair_stopped,
 * pair): sets pair->stopped. */
void grpc_pair_stopped(void *pair);
/* Runs the loop dry and closes it; fails on a handle left behind. */
void grpc_pair_drain(grpc_pair_t *pair);
/* Closes the client, stops the server (answering what is still held with
 * CANCELLED), closes the listener, runs the loop dry and checks that no
 * handle is left. */
void grpc_pair_finish(grpc_pair_t *pair);

#endif
