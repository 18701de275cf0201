/* gRPC's own bits on HTTP/2: grpc-timeout both ways, the percent-encoded
 * grpc-message, the 5-byte message prefix, status names and which statuses
 * are worth a retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grpc_wire.h"
#include "mem.h"

static void timeout_parse(void **state) {
  (void)state;
  assert_int_equal(ofctx__grpc_timeout_parse("100m"), 100);
  assert_int_equal(ofctx__grpc_timeout_parse("5S"), 5000);
  assert_int_equal(ofctx__grpc_timeout_parse("2M"), 120000);
  assert_int_equal(ofctx__grpc_timeout_parse("1H"), 3600000);
  assert_int_equal(ofctx__grpc_timeout_parse("1500u"), 2); /* rounded up */
  assert_int_equal(ofctx__grpc_timeout_parse("1n"), 1);
  assert_int_equal(ofctx__grpc_timeout_parse("0m"), 0);
  assert_int_equal(ofctx__grpc_timeout_parse("99999999S"), 99999999000LL);
  /* not a timeout: no digits, nine digits, no unit, a bad unit, more after */
  const char *bad[] = {"", "m", "123456789m", "100", "100x", "10mm", "-1m", " 1m", "1.5S", NULL};
  for (int i = 0; bad[i]; i++)
    assert_int_equal(ofctx__grpc_timeout_parse(bad[i]), -1);
  assert_int_equal(ofctx__grpc_timeout_parse(NULL), -1);
}

static void timeout_format(void **state) {
  char out[24];
  (void)state;
  ofctx__grpc_timeout_format(250, out, sizeof out);
  assert_string_equal(out, "250m");
  ofctx__grpc_timeout_format(99999999, out, sizeof out);
  assert_string_equal(out, "99999999m");
  ofctx__grpc_timeout_format(100000000, out, sizeof out); /* 9 digits: seconds, up */
  assert_string_equal(out, "100000S");
  ofctx__grpc_timeout_format(UINT64_MAX / 2, out, sizeof out);
  assert_true(strlen(out) <= 9);
  assert_true(ofctx__grpc_timeout_parse(out) > 0);
}

static void message_both_ways(void **state) {
  ofctx__buf_t b = {0};
  (void)state;
  ofctx__grpc_message_encode(&b, "50% off: caf\xc3\xa9\n");
  assert_string_equal(b.data, "50%25 off: caf%C3%A9%0A");
  ofctx__buf_free(&b);
  ofctx__grpc_message_decode(&b, "50%25 off: caf%C3%A9%0A");
  assert_string_equal(b.data, "50% off: caf\xc3\xa9\n");
  ofctx__buf_free(&b);
  /* a '%' that starts no escape stays, as the spec asks */
  ofctx__grpc_message_decode(&b, "100% %zz %4");
  assert_string_equal(b.data, "100% %zz %4");
  ofctx__buf_free(&b);
  ofctx__grpc_message_encode(&b, "");
  assert_string_equal(b.data, "");
  ofctx__buf_free(&b);
}

static void framing(void **state) {
  unsigned char body[5 + 3];
  const char *msg;
  size_t len;
  (void)state;
  ofctx__grpc_prefix(body, 3);
  memcpy(body + 5, "abc", 3);
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len), 0);
  assert_int_equal(len, 3);
  assert_memory_equal(msg, "abc", 3);
  /* cut short, one byte too many, a prefix only in part */
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 7, 10, &msg, &len), -1);
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 4, 10, &msg, &len), -1);
  /* over the limit */
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 2, &msg, &len), -3);
  /* compressed; a flag gRPC does not define */
  body[0] = 1;
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len), -2);
  body[0] = 2;
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len), -1);
  /* an empty message is one */
  ofctx__grpc_prefix(body, 0);
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 5, 10, &msg, &len), 0);
  assert_int_equal(len, 0);
  /* the length is big-endian */
  ofctx__grpc_prefix(body, 0x01020304);
  assert_memory_equal(body, "\x00\x01\x02\x03\x04", 5);
}

static void codes(void **state) {
  (void)state;
  assert_string_equal(ofctx__grpc_code_name(0), "OK");
  assert_string_equal(ofctx__grpc_code_name(14), "UNAVAILABLE");
  assert_string_equal(ofctx__grpc_code_name(16), "UNAUTHENTICATED");
  assert_string_equal(ofctx__grpc_code_name(17), "UNKNOWN");
  assert_string_equal(ofctx__grpc_code_name(-1), "UNKNOWN");
  for (int code = 0; code <= 16; code++)
    assert_int_equal(ofctx__grpc_code_retryable(code), code == 4 || code == 8 || code == 14);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(timeout_parse), cmocka_unit_test(timeout_format),
      cmocka_unit_test(message_both_ways), cmocka_unit_test(framing), cmocka_unit_test(codes)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
