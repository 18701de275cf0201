/* buf.c: the growing byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* Formatting into a buffer: into the room left when it fits, growing it
 * when not, across the first allocation and a doubling. */
static void buf_printf(void **state) {
  ofctx__buf_t b = {0};
  char want[1200] = "";
  (void)state;

  for (int i = 0; i < 100; i++) {
    char piece[16];
    snprintf(piece, sizeof piece, "[%d:%s]", i, i % 2 ? "odd" : "ev");
    strcat(want, piece);
    ofctx__buf_printf(&b, "[%d:%s]", i, i % 2 ? "odd" : "ev");
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
  }
  ofctx__buf_printf(&b, "%s", "");
  assert_int_equal(b.len, strlen(want));
  assert_false(b.failed);
  ofctx__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_printf),
  };
  return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
