/* The runtime options (options.c): the OFCTX_* variables, their defaults,
 * values and refusals, and the send protocol's default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

/* OFCTX_DIRECT=1 goes with OFCTX_RESOURCES_PATH, and neither without the
 * other. */
static void options_direct(void **state) {
  ofctx__options_t o;
  ofctx_error_t err;

  (void)state;
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.direct, 0);
  assert_null(o.resources_path);
  setenv("OFCTX_DIRECT", "1", 1);
  assert_int_equal(ofctx__options_load(&o, &err), OFCTX_EOPTION);
  assert_string_equal(err.message, "OFCTX_DIRECT: the direct mode needs OFCTX_RESOURCES_PATH, the "
                                   "directory of the Dapr Component files");
  setenv("OFCTX_RESOURCES_PATH", "/etc/components", 1);
  assert_int_equal(ofctx__options_load(&o, &err), 0);
  assert_int_equal(o.direct, 1);
  assert_string_equal(o.resources_path, "/etc/components");
  setenv("OFCTX_DIRECT", "yes", 1);
  assert_int_equal(ofctx__options_load(&o, &err), OFCTX_EOPTION);
  assert_string_equal(err.message, "OFCTX_DIRECT: \"yes\" is neither \"0\" nor \"1\"");
  setenv("OFCTX_DIRECT", "0", 1);
  assert_int_equal(ofctx__options_load(&o, &err), OFCTX_EOPTION);
  assert_string_equal(err.message, "OFCTX_RESOURCES_PATH: set, but OFCTX_DIRECT is not 1 (the "
                                   "sidecar reads the components in sidecar mode)");
  unsetenv("OFCTX_DIRECT");
  unsetenv("OFCTX_RESOURCES_PATH");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_defaults), cmocka_unit_test(options_values),
      cmocka_unit_test(options_errors),   cmocka_unit_test(options_send_protocol),
      cmocka_unit_test(options_direct),
  };
  return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
