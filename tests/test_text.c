/* Text: UTF-8, text and CloudEvents String checks, topics, quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void quoting(void **state) {
  char out[OFCTX_QUOTE_SIZE];
  char tiny[8];
  char big[200];

  ofctx__quote(out, sizeof out, "plain");
  assert_string_equal(out, "\"plain\"");
  ofctx__quote(out, sizeof out, "a\"b\\c\r\n\x7f");
  assert_string_equal(out, "\"a\\\"b\\\\c\\x0d\\x0a\\x7f\"");
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ofctx__quote(out, sizeof out, big);
  assert_true(strlen(out) < sizeof out);
  assert_int_equal(out[0], '"');
  assert_string_equal(out + strlen(out) - 4, "...\"");
  /* "é" is two bytes: a cut never leaves half of it */
  for (size_t i = 0; i + 2 < sizeof big; i += 2)
    memcpy(big + i, "\xc3\xa9", 2);
  big[sizeof big - 1] = '\0';
  ofctx__quote(out, sizeof out, big);
  assert_string_equal(out + strlen(out) - 5, "\xa9...\"");
  assert_int_equal((strlen(out) - 5) % 2, 0);
  ofctx__quote(tiny, sizeof tiny, big);
  assert_true(strlen(tiny) < sizeof tiny);
  ofctx__quote(tiny, 3, big);
  assert_string_equal(tiny, "");
}

static void utf8(void **state) {
  assert_int_equal(ofctx__utf8_len("a"), 1);
  assert_int_equal(ofctx__utf8_len("\xc3\xa9"), 2);
  assert_int_equal(ofctx__utf8_len("\xe2\x80\xae"), 3);
  assert_int_equal(ofctx__utf8_len("\xf0\x9f\x98\x80"), 4);
  assert_int_equal(ofctx__utf8_len("\x80"), 0);             /* lone continuation */
  assert_int_equal(ofctx__utf8_len("\xc0\xaf"), 0);         /* overlong "/" */
  assert_int_equal(ofctx__utf8_len("\xe0\x80\xaf"), 0);     /* overlong */
  assert_int_equal(ofctx__utf8_len("\xed\xa0\x80"), 0);     /* surrogate */
  assert_int_equal(ofctx__utf8_len("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
  assert_int_equal(ofctx__utf8_len("\xe2\x80"), 0);         /* cut short by the NUL */
  assert_true(ofctx__text_ok("d\xc3\xa9j\xc3\xa0 vu"));
  assert_true(ofctx__text_ok(""));
  assert_false(ofctx__text_ok("a\tb"));
  assert_false(ofctx__text_ok("a\x7f"));
  assert_false(ofctx__text_ok("a\xc2\x85"
                              "b")); /* NEL, a C1 control */
  assert_false(ofctx__text_ok("\xff"));
  assert_false(ofctx__text_ok("admin\xe2\x80\xae"
                              "txt")); /* RIGHT-TO-LEFT OVERRIDE */
  assert_false(ofctx__text_ok("a\xe2\x81\xa6"
                              "b")); /* LEFT-TO-RIGHT ISOLATE */
  assert_true(ofctx__text_ok("a\xe2\x80\x94"
                             "b")); /* an em dash is fine */
}

/* Bounded: a sequence must be whole within the bytes given. */
static void utf8_valid(void **state) {
  (void)state;
  assert_true(ofctx__utf8_valid("", 0));
  assert_true(ofctx__utf8_valid("caf\xc3\xa9", 5));
  assert_true(ofctx__utf8_valid("a\0b", 3));         /* NUL is UTF-8 */
  assert_false(ofctx__utf8_valid("caf\xc3\xa9", 4)); /* the cut falls inside "é" */
  assert_false(ofctx__utf8_valid("\xf0\x9f\x98\x80", 3));
  assert_false(ofctx__utf8_valid("a\xff", 2));
  assert_false(ofctx__utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
}

static void quoting_bytes(void **state) {
  char out[OFCTX_QUOTE_SIZE];

  ofctx__quote(out, sizeof out,
               "a\xff"
               "b\xc2\x85"
               "c\xc3\xa9");
  assert_string_equal(out, "\"a\\xffb\\u0085c\xc3\xa9\"");
  ofctx__quote(out, sizeof out, "caf\xc3\xa9\xe2\x80\xae");
  assert_string_equal(out, "\"caf\xc3\xa9\\u202e\"");
}

/* However long the input, an escape is never cut in two. */
static void quoting_never_splits_escapes(void **state) {
  char big[200];
  char out[20];

  for (size_t lead = 0; lead < 8; lead++) {
    memset(big, 'a', lead);
    memset(big + lead, '\n', sizeof big - lead - 1);
    big[sizeof big - 1] = '\0';
    ofctx__quote(out, sizeof out, big);
    /* whole "\x0a" escapes only: what follows the a's is a multiple of 4 */
    assert_int_equal((strlen(out) - 5 - lead) % 4, 0);
    assert_string_equal(out + strlen(out) - 4, "...\"");
  }
}

/* CloudEvents Strings: UTF-8 without C0/C1 controls, DEL or noncharacters. */
static void cloudevent_strings(void **state) {
  static const char *const ok[] = {"",
                                   "plain",
                                   "caf\xc3\xa9",
                                   "nbsp\xc2\xa0",
                                   "\xef\xbf\xbd",
                                   "\xf0\x9f\x98\x80",
                                   "\xef\xb7\x8f" /* U+FDCF */};
  static const char *const bad[] = {"tab\t",
                                    "del\x7f",
                                    "c1\xc2\x85",
                                    "c1\xc2\x9f",
                                    "\xef\xb7\x90" /* U+FDD0 */,
                                    "\xef\xb7\xaf" /* U+FDEF */,
                                    "\xef\xbf\xbe" /* U+FFFE */,
                                    "\xf0\x9f\xbf\xbf" /* U+1FFFF */,
                                    "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
                                    "bad\xff",
                                    "cut\xc3"};
  (void)state;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    assert_true(ofctx__ce_string_ok(ok[i]));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(ofctx__ce_string_ok(bad[i]));
}

static void topics(void **state) {
  (void)state;
  const char *good[] = {"orders", "a/b", "a b", "..a", "a..", ".a/b.", "a/..b/.c", "%2e%2e"};
  const char *bad[] = {"",   ".",  "..",   "../x", "x/..", "a/./b",        "a/../b",
                       "/a", "a/", "a//b", "a?b",  "a#b",  "../../state/x"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_true(ofctx__topic_ok(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false(ofctx__topic_ok(bad[i]));
}

/* printf's decimal point made '.': a comma, a point of two bytes (U+066B,
 * the Arabic decimal separator), none, or the C locale's (no change). */
static void decimal_points(void **state) {
  static const struct {
    const char *in, *point, *out;
  } cases[] = {{"0,5", ",", "0.5"},
               {"-1,25e+10", ",", "-1.25e+10"},
               {"12", ",", "12"},
               {"3\xd9\xab"
                "75",
                "\xd9\xab", "3.75"},
               {"0.5", ".", "0.5"},
               {"0.5", NULL, "0.5"}};
  char text[32];
  (void)state;

  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(text, sizeof text, "%s", cases[i].in);
    ofctx__dot_decimal(text, cases[i].point);
    assert_string_equal(text, cases[i].out);
  }
}

/* Comma-separated lists: items trimmed of spaces and tabs, empty ones
 * given as empty, the end. */
static void lists(void **state) {
  const char *s = " a,b\t, ,c d ,", *item;
  const char *want[] = {"a", "b", "", "c d"};
  size_t len, n = 0;
  (void)state;

  while ((item = ofctx__list_next(&s, &len)) != NULL) {
    assert_true(n < 4);
    assert_int_equal(len, strlen(want[n]));
    assert_memory_equal(item, want[n], len);
    n++;
  }
  assert_int_equal(n, 4);
  s = "";
  assert_null(ofctx__list_next(&s, &len));
  s = NULL;
  assert_null(ofctx__list_next(&s, &len));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(quoting),
      cmocka_unit_test(utf8),
      cmocka_unit_test(utf8_valid),
      cmocka_unit_test(quoting_bytes),
      cmocka_unit_test(quoting_never_splits_escapes),
      cmocka_unit_test(cloudevent_strings),
      cmocka_unit_test(topics),
      cmocka_unit_test(decimal_points),
      cmocka_unit_test(lists),
  };
  return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
