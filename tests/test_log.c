/* log.c: the log lines on stderr, in text and JSON, the level filter, the
 * Knative variables, and the settings refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Runs `fn` with stderr sent to a file and returns what it wrote. */
static char *capture_stderr(void (*fn)(void)) {
  static char text[4096];
  FILE *tmp = tmpfile();
  int saved = dup(2);
  size_t n;

  fflush(stderr);
  dup2(fileno(tmp), 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  n = fread(text, 1, sizeof text - 1, tmp);
  text[n] = '\0';
  fclose(tmp);
  return text;
}

static void log_lines(void) {
  ofctx__log(OFCTX_LOG_INFO, "started", "function", "f", "port", "8080", "skipped", NULL, "odd",
             "a b\"c\n", (const char *)NULL);
  ofctx__log(OFCTX_LOG_DEBUG, "hidden at info", (const char *)NULL);
  /* a forged second line, and bytes that are not UTF-8 (a message cut in
   * the middle of "é") */
  ofctx__log(OFCTX_LOG_WARN, "two\nlines", "cut", "caf\xc3", (const char *)NULL);
}

static void log_formats(void **state) {
  ofctx_error_t err;
  char *out;

  unsetenv("OFCTX_LOG_FORMAT");
  unsetenv("OFCTX_LOG_LEVEL");
  setenv("K_SERVICE", "svc", 1);
  assert_int_equal(ofctx__log_setup(&err), 0);
  out = capture_stderr(log_lines);
  assert_non_null(strstr(out, " info started function=f port=8080 odd=\"a b\\\"c\\x0a\" "
                              "k_service=svc\n"));
  assert_null(strstr(out, "skipped"));
  assert_null(strstr(out, "hidden"));
  assert_int_equal(out[4], '-'); /* 2026-...: an ISO 8601 time first */
  assert_non_null(strstr(out, " warn two\\x0alines cut=caf\xc3"));

  setenv("OFCTX_LOG_FORMAT", "json", 1);
  setenv("OFCTX_LOG_LEVEL", "DEBUG", 1);
  assert_int_equal(ofctx__log_setup(&err), 0);
  out = capture_stderr(log_lines);
  assert_non_null(strstr(out,
                         "\"level\":\"info\",\"msg\":\"started\",\"function\":\"f\","
                         "\"port\":\"8080\",\"odd\":\"a b\\\"c\\n\",\"k_service\":\"svc\"}\n"));
  assert_non_null(strstr(out, "\"msg\":\"hidden at info\""));
  assert_non_null(strstr(out, "\"msg\":\"two\\nlines\",\"cut\":\"caf?\""));

  setenv("OFCTX_LOG_FORMAT", "xml", 1);
  assert_int_equal(ofctx__log_setup(&err), OFCTX_EOPTION);
  assert_string_equal(err.message, "OFCTX_LOG_FORMAT: \"xml\" is not \"text\" or \"json\"");
  setenv("OFCTX_LOG_FORMAT", "text", 1);
  setenv("OFCTX_LOG_LEVEL", "loud", 1);
  assert_int_equal(ofctx__log_setup(&err), OFCTX_EOPTION);
  assert_string_equal(err.message, "OFCTX_LOG_LEVEL: \"loud\" is not debug, info, warn or error");
  unsetenv("OFCTX_LOG_FORMAT");
  unsetenv("OFCTX_LOG_LEVEL");
  unsetenv("K_SERVICE");
  assert_int_equal(ofctx__log_setup(&err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(log_formats),
  };
  return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
