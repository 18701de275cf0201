/* Small internal modules of the runtime: runtime options from OFCTX_*
 * variables, base64 decoding, log line formats, growing buffers, and an
 * event's metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "options.h"

static void options_defaults(void **state) {
  ofctx__options_t o;
  ofctx_error_t err;

  unsetenv("DAPR_GRPC_PORT");
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.http.max_body_size, 4 * 1024 * 1024);
  assert_int_equal(o.send.max_attempts, 4);
  assert_int_equal(o.invocation_timeout_ms, 60000);
  assert_string_equal(o.listen_host, "0.0.0.0");
  assert_int_equal(o.send.max_response_size, o.http.max_body_size);
  assert_int_equal(o.http.max_metadata, 1024);
  assert_int_equal(o.dapr_grpc, 0); /* no DAPR_GRPC_PORT: sends over HTTP */
}

/* Sends go over gRPC whenever the sidecar has a gRPC port, over HTTP
 * otherwise; OFCTX_DAPR_PROTOCOL forces either. */
static void options_send_protocol(void **state) {
  ofctx__options_t o;
  ofctx_error_t err;

  (void)state;
  setenv("DAPR_GRPC_PORT", "50001", 1);
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.dapr_grpc, 1);
  setenv("OFCTX_DAPR_PROTOCOL", "http", 1);
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.dapr_grpc, 0);
  unsetenv("DAPR_GRPC_PORT");
  setenv("OFCTX_DAPR_PROTOCOL", "grpc", 1);
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.dapr_grpc, 1);
  setenv("DAPR_GRPC_PORT", "", 1); /* empty is unset */
  unsetenv("OFCTX_DAPR_PROTOCOL");
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.dapr_grpc, 0);
  unsetenv("DAPR_GRPC_PORT");
}

static void options_values(void **state) {
  ofctx__options_t o;
  ofctx_error_t err;

  setenv("OFCTX_MAX_BODY_SIZE", "16Mi", 1);
  setenv("OFCTX_MAX_HEADER_SIZE", "8Ki", 1);
  setenv("OFCTX_SEND_ATTEMPTS", "1", 1);
  setenv("OFCTX_GRACE_PERIOD_MS", "0", 1);
  setenv("OFCTX_LISTEN_HOST", "127.0.0.1", 1);
  setenv("OFCTX_MAX_METADATA", "7", 1);
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.http.max_metadata, 7);
  assert_int_equal(o.http.max_body_size, 16 * 1024 * 1024);
  assert_int_equal(o.http.max_header_size, 8 * 1024);
  assert_int_equal(o.send.max_attempts, 1);
  assert_int_equal(o.grace_ms, 0);
  assert_string_equal(o.listen_host, "127.0.0.1");
  unsetenv("OFCTX_MAX_BODY_SIZE");
  unsetenv("OFCTX_MAX_HEADER_SIZE");
  unsetenv("OFCTX_SEND_ATTEMPTS");
  unsetenv("OFCTX_GRACE_PERIOD_MS");
  unsetenv("OFCTX_LISTEN_HOST");
  unsetenv("OFCTX_MAX_METADATA");
}

static void options_errors(void **state) {
  static const struct {
    const char *name, *value, *message;
  } rows[] = {
      {"OFCTX_MAX_BODY_SIZE", "lots",
       "OFCTX_MAX_BODY_SIZE: \"lots\" is not a whole number from 1 to 4294967296 (bytes; Ki, Mi "
       "and Gi suffixes allowed)"},
      {"OFCTX_MAX_BODY_SIZE", "5Ti", NULL},
      {"OFCTX_MAX_BODY_SIZE", "0", NULL},
      {"OFCTX_MAX_BODY_SIZE", "-1", NULL},
      {"OFCTX_MAX_BODY_SIZE", "99999999999999999999999", NULL},
      {"OFCTX_HEADER_TIMEOUT_MS", "10s",
       "OFCTX_HEADER_TIMEOUT_MS: \"10s\" is not a number of milliseconds from 1 to 86400000"},
      {"OFCTX_IDLE_TIMEOUT_MS", "0", NULL},
      {"OFCTX_SEND_ATTEMPTS", "0",
       "OFCTX_SEND_ATTEMPTS: \"0\" is not a whole number from 1 to 100"},
      {"OFCTX_MAX_CONNECTIONS", "1Ki", NULL}, /* suffixes are for sizes only */
      {"OFCTX_LISTEN_HOST", "a-host-name-far-longer-than-any-address-should-ever-be-0123456789",
       "OFCTX_LISTEN_HOST: \"a-host-name-far-longer-than-any-address-should-ever-be-0123456789\" "
       "is not an IPv4 or IPv6 address"},
      {"OFCTX_LISTEN_HOST", "localhost",
       "OFCTX_LISTEN_HOST: \"localhost\" is not an IPv4 or IPv6 address"},
      {"OFCTX_LISTEN_HOST", "127.0.0.1:8080",
       "OFCTX_LISTEN_HOST: \"127.0.0.1:8080\" is not an IPv4 or IPv6 address"},
      {"OFCTX_LISTEN_HOST", "[::1]", "OFCTX_LISTEN_HOST: \"[::1]\" is not an IPv4 or IPv6 address"},
  };
  ofctx__options_t o;
  ofctx_error_t err;

  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    setenv(rows[i].name, rows[i].value, 1);
    if (ofctx__options_load(&o, &err) != OFCTX_EOPTION)
      fail_msg("%s=%s was accepted", rows[i].name, rows[i].value);
    assert_non_null(strstr(err.message, rows[i].name));
    if (rows[i].message)
      assert_string_equal(err.message, rows[i].message);
    unsetenv(rows[i].name);
  }
}

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

/* An event's own metadata first, then the shared (a bulk's request
 * metadata), which is viewed, never copied; lookups find the own first. */
static void event_shared_metadata(void **state) {
  static const ofctx__http_header_t own[] = {{"k", "own"}, {"only-own", "1"}};
  static const ofctx__http_header_t shared[] = {{"K", "shared"}, {"only-shared", "2"}};
  ofctx_event_t ev = {0};

  (void)state;
  assert_int_equal(ofctx__event_metadata_add(&ev, own, 2, 0), 0);
  ev.shared_metadata = shared;
  ev.shared_count = 2;
  assert_int_equal(ofctx_event_metadata_count(&ev), 4);
  assert_string_equal(ofctx_event_metadata(&ev, "K"), "own");
  assert_string_equal(ofctx_event_metadata(&ev, "only-shared"), "2");
  assert_null(ofctx_event_metadata(&ev, "absent"));
  assert_string_equal(ofctx_event_metadata_key(&ev, 1), "only-own");
  assert_string_equal(ofctx_event_metadata_key(&ev, 2), "K");
  assert_ptr_equal(ofctx_event_metadata_value(&ev, 3), shared[1].value);
  assert_null(ofctx_event_metadata_key(&ev, 4));
  assert_null(ofctx_event_metadata_value(&ev, 4));
  ofctx__event_clear(&ev);
  assert_int_equal(ofctx_event_metadata_count(&ev), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_defaults),      cmocka_unit_test(options_values),
      cmocka_unit_test(options_errors),        cmocka_unit_test(base64),
      cmocka_unit_test(log_formats),           cmocka_unit_test(buf_printf),
      cmocka_unit_test(event_shared_metadata), cmocka_unit_test(options_send_protocol),
  };
  return cmocka_run_group_tests_name("runtime_units", tests, NULL, NULL);
}
