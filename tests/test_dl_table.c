/* dl_table.c: the library the variable names, else the default; each
 * symbol at its field; the messages of a library that cannot be loaded and
 * of one short of a symbol. libm stands for the library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dl_table.h"

typedef struct {
  double (*sqrt)(double);
  double (*cos)(double);
} math_t;

static const ofctx__dl_symbol_t math_symbols[] = {
    {offsetof(math_t, sqrt), "sqrt"},
    {offsetof(math_t, cos), "cos"},
};

/* The default is libm; OFCTX_TEST_DL may name another. */
static const ofctx__dl_table_t libm = {
    .env = "OFCTX_TEST_DL",
    .soname = "libm.so.6",
    .library = "libm",
    .package = "libc6",
    .symbols = math_symbols,
    .count = 2,
};

/* A default that does not exist: only the variable can make it work. */
static ofctx__dl_table_t absent_spec(void) {
  ofctx__dl_table_t spec = libm;
  spec.soname = "libofctx-absent.so.9";
  spec.library = "libabsent";
  spec.package = "libabsent9";
  return spec;
}

static int unset_env(void **state) {
  (void)state;
  return unsetenv("OFCTX_TEST_DL");
}

/* Unset or empty, the variable leaves the default; every field is the
 * function of its own symbol. */
static void default_fills_each_field(void **state) {
  char why[256] = "";
  const char *name = NULL;
  math_t math = {0};
  (void)state;
  assert_non_null(ofctx__dl_table_open(&libm, &math, &name, why, sizeof why));
  assert_string_equal(name, "libm.so.6");
  assert_string_equal(why, "");
  assert_true(math.sqrt(16.0) == 4.0);
  assert_true(math.cos(0.0) == 1.0);

  setenv("OFCTX_TEST_DL", "", 1);
  memset(&math, 0, sizeof math);
  assert_non_null(ofctx__dl_table_open(&libm, &math, &name, why, sizeof why));
  assert_string_equal(name, "libm.so.6");
  assert_true(math.sqrt(9.0) == 3.0);
}

static void variable_names_the_library(void **state) {
  const ofctx__dl_table_t absent = absent_spec();
  char why[256] = "";
  const char *name = NULL;
  math_t math = {0};
  (void)state;
  setenv("OFCTX_TEST_DL", "libm.so.6", 1);
  assert_non_null(ofctx__dl_table_open(&absent, &math, &name, why, sizeof why));
  assert_string_equal(name, "libm.so.6");
  assert_true(math.cos(0.0) == 1.0);
}

/* The message names the variable, the default, its package and dlerror's
 * reason (which names the file). */
static void library_that_cannot_be_loaded(void **state) {
  const ofctx__dl_table_t absent = absent_spec();
  char why[512];
  const char *name = NULL;
  math_t math = {0};
  const char *head = "cannot load libabsent (OFCTX_TEST_DL, default libofctx-absent.so.9 "
                     "from Debian's libabsent9): ";
  (void)state;
  assert_null(ofctx__dl_table_open(&absent, &math, &name, why, sizeof why));
  assert_string_equal(name, "libofctx-absent.so.9");
  assert_memory_equal(why, head, strlen(head));
  assert_non_null(strstr(why + strlen(head), "libofctx-absent.so.9"));
  assert_null(math.sqrt);

  setenv("OFCTX_TEST_DL", "/nonexistent/libm.so.6", 1);
  assert_null(ofctx__dl_table_open(&libm, &math, &name, why, sizeof why));
  assert_string_equal(name, "/nonexistent/libm.so.6");
  assert_non_null(strstr(why, "(OFCTX_TEST_DL, default libm.so.6 from Debian's libc6): "));
  assert_non_null(strstr(why, "/nonexistent/libm.so.6"));
}

static void library_short_of_a_symbol(void **state) {
  static const ofctx__dl_symbol_t symbols[] = {
      {offsetof(math_t, sqrt), "sqrt"},
      {offsetof(math_t, cos), "ofctx_no_such_symbol"},
  };
  ofctx__dl_table_t spec = libm;
  char why[256];
  math_t math = {0};
  (void)state;
  spec.symbols = symbols;
  setenv("OFCTX_TEST_DL", "libm.so.6", 1);
  assert_null(ofctx__dl_table_open(&spec, &math, NULL, why, sizeof why));
  assert_string_equal(why, "libm.so.6 is not libm: no ofctx_no_such_symbol");
  assert_null(math.cos);
}

/* A short buffer gets the message cut, and none at all is no fault. */
static void short_buffer(void **state) {
  const ofctx__dl_table_t absent = absent_spec();
  char why[8];
  math_t math = {0};
  (void)state;
  assert_null(ofctx__dl_table_open(&absent, &math, NULL, why, sizeof why));
  assert_string_equal(why, "cannot ");
  assert_null(ofctx__dl_table_open(&absent, &math, NULL, NULL, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(default_fills_each_field, unset_env),
      cmocka_unit_test_setup(variable_names_the_library, unset_env),
      cmocka_unit_test_setup(library_that_cannot_be_loaded, unset_env),
      cmocka_unit_test_setup(library_short_of_a_symbol, unset_env),
      cmocka_unit_test_setup(short_buffer, unset_env),
  };
  return cmocka_run_group_tests_name("dl_table", tests, NULL, NULL);
}
