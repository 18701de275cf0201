/* gRPC's own bits on HTTP/2: grpc-timeout both ways, the percent-encoded
 * grpc-message, the 5-byte message prefix, status names, grpc-status read
 * without wrapping, and which statuses are worth a retry. */
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
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len), OFCTX__UNFRAME_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(msg, "abc", 3);
  /* cut short, one byte too many, a prefix only in part */
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 7, 10, &msg, &len),
                   OFCTX__UNFRAME_MALFORMED);
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 4, 10, &msg, &len),
                   OFCTX__UNFRAME_MALFORMED);
  /* over the limit */
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 2, &msg, &len),
                   OFCTX__UNFRAME_TOO_LONG);
  /* compressed; a flag gRPC does not define */
  body[0] = 1;
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len),
                   OFCTX__UNFRAME_COMPRESSED);
  body[0] = 2;
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 8, 10, &msg, &len),
                   OFCTX__UNFRAME_MALFORMED);
  /* an empty message is one */
  ofctx__grpc_prefix(body, 0);
  assert_int_equal(ofctx__grpc_unframe((const char *)body, 5, 10, &msg, &len), OFCTX__UNFRAME_OK);
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

static void status_parse(void **state) {
  static const char *const unknown[] = {"",           "x",          "-1",
                                        " 0",         "0 ",         "17",
                                        "1x",         "+0",         "00000000000000000000014x",
                                        "4294967296", "4294967310", "18446744073709551616"};
  (void)state;
  assert_int_equal(ofctx__grpc_status_parse("0"), OFCTX__GRPC_OK);
  assert_int_equal(ofctx__grpc_status_parse("14"), OFCTX__GRPC_UNAVAILABLE);
  assert_int_equal(ofctx__grpc_status_parse("16"), OFCTX__GRPC_UNAUTHENTICATED);
  assert_int_equal(ofctx__grpc_status_parse("013"), OFCTX__GRPC_INTERNAL);
  /* not a code; the long numbers are those atoi wraps to 0 (OK) and 14 */
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
    assert_int_equal(ofctx__grpc_status_parse(unknown[i]), OFCTX__GRPC_UNKNOWN);
}

/* Puts `n` bytes before *p. */
static void put(unsigned char **p, const void *bytes, size_t n) {
  *p -= n;
  memcpy(*p, bytes, n);
}

/* Makes [*p, end) the body of a length-delimited field with tag byte `tag`. */
static void wrap(unsigned char **p, const unsigned char *end, unsigned char tag) {
  size_t n = (size_t)(end - *p);
  unsigned char v[10];
  int k = 0;

  do {
    v[k++] = (unsigned char)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>= 7;
  } while (n);
  while (k)
    put(p, &v[--k], 1);
  put(p, &tag, 1);
}

/* A TopicEventRequest whose extensions hold a Value nested `depth` deep,
 * built from the inside out at the end of `out`, then moved to its start. */
static size_t nested(unsigned char *out, size_t size, int depth) {
  unsigned char *end = out + size, *p = end;
  size_t used;

  put(&p, "\x1a\x01x", 3); /* Value.string_value = "x" */
  for (int i = 1; i < depth; i++) {
    wrap(&p, end, 0x12);     /* MapEntry.value */
    put(&p, "\x0a\x01k", 3); /* MapEntry.key = "k" */
    wrap(&p, end, 0x0a);     /* Struct.fields */
    wrap(&p, end, 0x2a);     /* Value.struct_value */
  }
  wrap(&p, end, 0x12);     /* MapEntry.value */
  wrap(&p, end, 0x0a);     /* Struct.fields */
  wrap(&p, end, 0x52);     /* TopicEventRequest.extensions (10) */
  put(&p, "\x0a\x01i", 3); /* id = "i" */
  used = (size_t)(end - p);
  memmove(out, p, used);
  return used;
}

static void struct_depth(void **state) {
  static unsigned char msg[1 << 20]; /* 40000 levels take about 15 bytes each */
  static const uint32_t ten[] = {10}, bulk[] = {2, 3, 7};
  size_t len;
  (void)state;
  assert_int_equal(ofctx__pb_struct_depth((const uint8_t *)"\x0a\x01i", 3, ten, 1, 64), 0);
  for (int depth = 1; depth <= 70; depth++) {
    len = nested(msg, sizeof msg, depth);
    assert_int_equal(ofctx__pb_struct_depth(msg, len, ten, 1, 64), depth > 64 ? 65 : depth);
  }
  /* far past any stack: counted without recursion */
  len = nested(msg, sizeof msg, 40000); /* about 600 KiB */
  assert_int_equal(ofctx__pb_struct_depth(msg, len, ten, 1, 64), 65);
  /* along a path: a bulk request's entry (2) whose cloud event (3) has the
   * extensions (7): the nested request wrapped twice */
  len = nested(msg, sizeof msg, 70);
  {
    static unsigned char wrapped[1 << 20];
    unsigned char *end = wrapped + sizeof wrapped, *p = end;
    size_t n;
    put(&p, msg, len);
    /* TopicEventRequest's extensions are field 10; as a CloudEvent they are 7 */
    memcpy(p + 3, "\x3a", 1); /* id "i" (3 bytes), then the 0x52 tag becomes 0x3a */
    wrap(&p, end, 0x1a);      /* entry.cloud_event (3) */
    wrap(&p, end, 0x12);      /* request.entries (2) */
    n = (size_t)(end - p);
    assert_int_equal(ofctx__pb_struct_depth(p, n, bulk, 3, 64), 65);
    assert_int_equal(ofctx__pb_struct_depth(p, n, ten, 1, 64), 0);
  }
  assert_int_equal(ofctx__pb_struct_depth(msg, len, bulk, 0, 64), -1);
  /* not protobuf: a length past the end, a cut varint, a group */
  assert_int_equal(ofctx__pb_struct_depth((const uint8_t *)"\x52\x05\x0a", 3, ten, 1, 64), -1);
  assert_int_equal(ofctx__pb_struct_depth((const uint8_t *)"\x08\xff", 2, ten, 1, 64), -1);
  assert_int_equal(ofctx__pb_struct_depth((const uint8_t *)"\x0b", 1, ten, 1, 64), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(timeout_parse),
                                     cmocka_unit_test(timeout_format),
                                     cmocka_unit_test(message_both_ways),
                                     cmocka_unit_test(framing),
                                     cmocka_unit_test(codes),
                                     cmocka_unit_test(status_parse),
                                     cmocka_unit_test(struct_depth)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
