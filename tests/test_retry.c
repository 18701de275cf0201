/* The retry policy's waits: the back-off doubles, saturates and stays in
 * its upper half; Retry-After is capped however large. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

/* Retry-After is in seconds: the cap applies to the wait it asks for
 * however large, not to a product that wrapped (18446744073709552 s is
 * 384 ms once multiplied in 64 bits). */
static void retry_after_is_capped(void **state) {
  (void)state;
  assert_int_equal(ofctx__retry_after_ms(100, 18446744073709552LL), OFCTX__RETRY_AFTER_MAX_MS);
  assert_int_equal(ofctx__retry_after_ms(100, INT64_MAX), OFCTX__RETRY_AFTER_MAX_MS);
  assert_int_equal(ofctx__retry_after_ms(100, 18446744073709LL), OFCTX__RETRY_AFTER_MAX_MS);
  assert_int_equal(ofctx__retry_after_ms(100, 31), OFCTX__RETRY_AFTER_MAX_MS);
  assert_int_equal(ofctx__retry_after_ms(100, 2), 2000);
  /* a longer back-off wins; none asked for leaves the back-off */
  assert_int_equal(ofctx__retry_after_ms(45000, 60), 45000);
  assert_int_equal(ofctx__retry_after_ms(100, 0), 100);
  assert_int_equal(ofctx__retry_after_ms(100, -1), 100);
}

/* Doubling saturates: a wait near the top of 64 bits does not wrap to 0
 * on its way to the cap. */
static void backoff_saturates(void **state) {
  ofctx__retry_policy_t p;
  uint64_t rng = 88172645463325252ULL;
  (void)state;
  ofctx__retry_policy_default(&p);
  p.backoff_initial_ms = (uint64_t)1 << 62;
  p.backoff_max_ms = UINT64_MAX;
  for (int attempts = 1; attempts <= 100; attempts++)
    assert_true(ofctx__backoff_ms(&p, attempts, &rng) >= (uint64_t)1 << 61);
  p.backoff_initial_ms = 100;
  p.backoff_max_ms = 2000;
  for (int attempts = 1; attempts <= 100; attempts++) {
    uint64_t wait = ofctx__backoff_ms(&p, attempts, &rng);
    uint64_t full = attempts >= 6 ? 2000 : 100u << (attempts - 1);
    assert_true(wait >= full / 2 && wait <= full);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retry_after_is_capped),
      cmocka_unit_test(backoff_saturates),
  };
  return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
