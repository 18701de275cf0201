/* base64.c: CloudEvents' data_base64 decoded, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "mem.h"

static void base64(void **state) {
  static const struct {
    const char *in, *out;
  } good[] = {{"", ""},
              {"Zg==", "f"},
              {"Zm8=", "fo"},
              {"Zm9v", "foo"},
              {"Zm9vYg", "foob"},
              {"Zm9vYmE=", "fooba"},
              {"Zm9vYmFy", "foobar"},
              {"eyJhIjoxfQ==", "{\"a\":1}"}};
  static const char *const bad[] = {"Z",     "Zg=",  "Zg===", "Zm9v!",
                                    "Zm 9v", "Zh==", "====",  "Zg==Zg=="};
  size_t len;

  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char *out = ofctx__base64_decode(good[i].in, strlen(good[i].in), &len);
    if (!out)
      fail_msg("\"%s\" was refused", good[i].in);
    assert_int_equal(len, strlen(good[i].out));
    assert_memory_equal(out, good[i].out, len);
    assert_int_equal(out[len], '\0');
    ofctx__free(out);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ofctx__base64_decode(bad[i], strlen(bad[i]), &len))
      fail_msg("\"%s\" was accepted", bad[i]);
  /* binary output, NULs included */
  {
    char *out = ofctx__base64_decode("AAEC/w==", 8, &len);
    assert_non_null(out);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\x00\x01\x02\xff", 4);
    ofctx__free(out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base64),
  };
  return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
