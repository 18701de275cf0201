/* Internal: how a call to the sidecar is tried, whichever of its APIs
 * carries the call (dapr_http_client.c over HTTP, grpc_client.c over gRPC):
 * the time one attempt may take, how many attempts, the jittered
 * exponential back-off between them, how long a Retry-After may make a
 * caller wait, and the largest answer taken. Which failures are worth
 * another attempt, each client decides. Nothing here allocates. */
#ifndef OFCTX_RETRY_H
#define OFCTX_RETRY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t timeout_ms;         /* one attempt, connect to last byte (default 10 s) */
  int max_attempts;            /* 1 = no retry (default 4) */
  uint64_t backoff_initial_ms; /* before the 2nd attempt, then doubling (default 100 ms) */
  uint64_t backoff_max_ms;     /* cap on one wait (default 2 s) */
  size_t max_response_size;    /* longer answers fail (default 4 MiB) */
  int final_500;               /* a 500 is not retried (a bulk publish's partial failure) */
  int gateway_only;            /* of the statuses, 429, 502, 503 and 504 only (OTLP/HTTP) */
} ofctx__retry_policy_t;

/* Sets every field of `policy` to its default. */
void ofctx__retry_policy_default(ofctx__retry_policy_t *policy);

/* A 429 or 503 with Retry-After waits that long before the next attempt,
 * at most this long (a back-off that is longer wins). */
#define OFCTX__RETRY_AFTER_MAX_MS 30000

/* Returns the wait before the next attempt when the answer said
 * Retry-After `after_s` seconds (0 or less: it did not): the longer of
 * `backoff_ms` and `after_s`, the latter at most OFCTX__RETRY_AFTER_MAX_MS
 * however large. */
uint64_t ofctx__retry_after_ms(uint64_t backoff_ms, int64_t after_s);

/* Returns the wait before attempt `attempts` + 1: doubling from the initial
 * wait, capped, and spread over its upper half (`*rng`, a nonzero xorshift
 * state) so that many callers do not retry in step. */
uint64_t ofctx__backoff_ms(const ofctx__retry_policy_t *policy, int attempts, uint64_t *rng);

#endif
