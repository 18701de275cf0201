/* Internal: arithmetic on durations and sizes that came from the wire or
 * the environment. It saturates instead of wrapping, so that a cap compared
 * after the arithmetic still holds: Retry-After 18446744073709552 (seconds)
 * times 1000 wraps to 384 ms, under any cap. */
#ifndef OFCTX_SATURATE_H
#define OFCTX_SATURATE_H

#include <stdint.h>

/* a * b, or UINT64_MAX when it does not fit. */
static inline uint64_t ofctx__mul_sat(uint64_t a, uint64_t b) {
  return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

#endif
