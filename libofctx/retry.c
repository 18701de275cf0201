/* The retry policy's defaults and its waits. */
#include "retry.h"
#include "saturate.h"

void ofctx__retry_policy_default(ofctx__retry_policy_t *p) {
  p->timeout_ms = 10000;
  p->max_attempts = 4;
  p->backoff_initial_ms = 100;
  p->backoff_max_ms = 2000;
  p->max_response_size = 4 * 1024 * 1024;
  p->final_500 = 0;
  p->gateway_only = 0;
}

uint64_t ofctx__backoff_ms(const ofctx__retry_policy_t *policy, int attempts, uint64_t *rng) {
  uint64_t wait = policy->backoff_initial_ms;

  for (int i = 1; i < attempts && wait < policy->backoff_max_ms; i++)
    wait = ofctx__mul_sat(wait, 2);
  if (wait > policy->backoff_max_ms)
    wait = policy->backoff_max_ms;
  /* xorshift64: jitter only, nothing secret */
  *rng ^= *rng << 13;
  *rng ^= *rng >> 7;
  *rng ^= *rng << 17;
  return wait / 2 + (wait > 1 ? *rng % (wait / 2 + 1) : 0);
}

uint64_t ofctx__retry_after_ms(uint64_t backoff_ms, int64_t after_s) {
  uint64_t ms;

  if (after_s <= 0)
    return backoff_ms;
  /* capped before it is multiplied: a product that wrapped would be under
   * any cap */
  ms = ofctx__mul_sat((uint64_t)after_s, 1000);
  if (ms > OFCTX__RETRY_AFTER_MAX_MS)
    ms = OFCTX__RETRY_AFTER_MAX_MS;
  return ms > backoff_ms ? ms : backoff_ms;
}
