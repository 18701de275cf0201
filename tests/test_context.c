/* FUNC_CONTEXT parsing, table-driven over tests/data/context/{valid,invalid}:
 * every valid case must load and normalize to its expected.json, through the
 * JSON output and through every typed accessor; every invalid case must fail
 * with exactly its expected code and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <ofctx/ofctx.h>

#include "case_util.h"

static json_t *load_json(const char *dir, const char *name) {
  json_error_t jerr;
  char *text = case_read_file(dir, name, NULL);
  json_t *value;

  if (!text)
    fail_msg("%s/%s is missing", dir, name);
  value = json_loads(text, 0, &jerr);
  if (!value)
    fail_msg("%s/%s: %s (line %d)", dir, name, jerr.text, jerr.line);
  free(text);
  return value;
}

static void assert_str_or_null(const char *actual, const json_t *expected, const char *what) {
  if (json_is_null(expected) || !expected) {
    if (actual)
      fail_msg("%s: expected null, got \"%s\"", what, actual);
    return;
  }
  if (!actual || strcmp(actual, json_string_value(expected)) != 0)
    fail_msg("%s: expected \"%s\", got \"%s\"", what, json_string_value(expected),
             actual ? actual : "(null)");
}

static void assert_strmap(const ofctx_strmap_t *map, const json_t *expected, const char *what) {
  const char *key;
  json_t *value;
  size_t i = 0;

  assert_int_equal(ofctx_strmap_count(map), json_object_size(expected));
  json_object_foreach((json_t *)expected, key, value) {
    assert_str_or_null(ofctx_strmap_get(map, key), value, what);
    /* document order is kept */
    assert_string_equal(ofctx_strmap_key_at(map, i), key);
    assert_str_or_null(ofctx_strmap_value_at(map, i), value, what);
    i++;
  }
  assert_null(ofctx_strmap_key_at(map, i));
}

static void assert_strlist(const ofctx_strlist_t *list, const json_t *expected) {
  size_t i;
  json_t *value;

  assert_int_equal(ofctx_strlist_count(list), json_array_size(expected));
  json_array_foreach(expected, i, value) {
    assert_str_or_null(ofctx_strlist_at(list, i), value, "plugin");
  }
  assert_null(ofctx_strlist_at(list, json_array_size(expected)));
}

typedef size_t (*count_fn)(const ofctx_config_t *);
typedef const ofctx_component_t *(*at_fn)(const ofctx_config_t *, size_t);
typedef const ofctx_component_t *(*named_fn)(const ofctx_config_t *, const char *);

static void assert_components(const ofctx_config_t *cfg, const json_t *expected, count_fn count,
                              at_fn at, named_fn named) {
  const char *key;
  json_t *entry;
  size_t i = 0;

  assert_int_equal(count(cfg), json_object_size(expected));
  json_object_foreach((json_t *)expected, key, entry) {
    const ofctx_component_t *c = at(cfg, i++);
    const char *type = json_string_value(json_object_get(entry, "componentType"));
    assert_non_null(c);
    assert_ptr_equal(named(cfg, key), c);
    assert_string_equal(ofctx_component_name(c), key);
    assert_str_or_null(ofctx_component_dapr_name(c), json_object_get(entry, "componentName"),
                       "componentName");
    assert_string_equal(ofctx_component_type(c), type);
    assert_int_equal(ofctx_component_kind(c),
                     strncmp(type, "bindings.", 9) == 0 ? OFCTX_COMPONENT_BINDING
                     : strncmp(type, "pubsub.", 7) == 0 ? OFCTX_COMPONENT_PUBSUB
                                                        : OFCTX_COMPONENT_STATE);
    assert_str_or_null(ofctx_component_uri(c), json_object_get(entry, "uri"), "uri");
    assert_str_or_null(ofctx_component_operation(c), json_object_get(entry, "operation"),
                       "operation");
    assert_strmap(ofctx_component_metadata(c), json_object_get(entry, "metadata"), "metadata");
  }
  assert_null(at(cfg, i));
  assert_null(named(cfg, "no-such-entry"));
}

/* Every accessor tells the same as the expected document. */
static void assert_accessors(const ofctx_config_t *cfg, const json_t *want) {
  const json_t *dapr = json_object_get(want, "dapr");
  const json_t *tracing = json_object_get(want, "tracing");
  const json_t *provider = json_object_get(tracing, "provider");

  assert_str_or_null(ofctx_config_name(cfg), json_object_get(want, "name"), "name");
  assert_str_or_null(ofctx_config_version(cfg), json_object_get(want, "version"), "version");
  assert_str_or_null(ofctx_config_request_id(cfg), json_object_get(want, "requestID"), "requestID");
  assert_int_equal(ofctx_config_runtime(cfg),
                   strcmp(json_string_value(json_object_get(want, "runtime")), "Async") == 0
                       ? OFCTX_RUNTIME_ASYNC
                       : OFCTX_RUNTIME_KNATIVE);
  assert_int_equal(ofctx_config_port(cfg), json_integer_value(json_object_get(want, "port")));
  assert_str_or_null(ofctx_config_http_pattern(cfg), json_object_get(want, "httpPattern"),
                     "httpPattern");
  assert_int_equal(ofctx_config_mode(cfg),
                   strcmp(json_string_value(json_object_get(want, "mode")), "self-host") == 0
                       ? OFCTX_MODE_SELF_HOST
                       : OFCTX_MODE_KUBERNETES);
  assert_str_or_null(ofctx_config_pod_name(cfg),
                     json_object_get(json_object_get(want, "pod"), "name"), "pod.name");
  assert_str_or_null(ofctx_config_pod_namespace(cfg),
                     json_object_get(json_object_get(want, "pod"), "namespace"), "pod.namespace");
  assert_str_or_null(ofctx_config_dapr_host(cfg), json_object_get(dapr, "host"), "dapr.host");
  assert_int_equal(ofctx_config_dapr_http_port(cfg),
                   json_integer_value(json_object_get(dapr, "httpPort")));
  assert_int_equal(ofctx_config_dapr_grpc_port(cfg),
                   json_integer_value(json_object_get(dapr, "grpcPort")));
  assert_int_equal(ofctx_config_app_protocol(cfg),
                   strcmp(json_string_value(json_object_get(want, "appProtocol")), "grpc") == 0
                       ? OFCTX_APP_PROTOCOL_GRPC
                       : OFCTX_APP_PROTOCOL_HTTP);
  assert_int_equal(ofctx_config_dapr_api_token(cfg) != NULL,
                   json_is_true(json_object_get(dapr, "apiTokenSet")));
  assert_int_equal(ofctx_config_app_api_token(cfg) != NULL,
                   json_is_true(json_object_get(want, "appApiTokenSet")));
  assert_components(cfg, json_object_get(want, "inputs"), ofctx_config_input_count,
                    ofctx_config_input_at, ofctx_config_input);
  assert_components(cfg, json_object_get(want, "outputs"), ofctx_config_output_count,
                    ofctx_config_output_at, ofctx_config_output);
  assert_components(cfg, json_object_get(want, "states"), ofctx_config_state_count,
                    ofctx_config_state_at, ofctx_config_state);
  assert_strlist(ofctx_config_pre_plugins(cfg), json_object_get(want, "prePlugins"));
  assert_strlist(ofctx_config_post_plugins(cfg), json_object_get(want, "postPlugins"));
  assert_int_equal(ofctx_config_tracing_enabled(cfg),
                   json_is_true(json_object_get(tracing, "enabled")));
  assert_str_or_null(ofctx_config_tracing_provider(cfg), json_object_get(provider, "name"),
                     "tracing provider");
  assert_str_or_null(ofctx_config_tracing_oap_server(cfg), json_object_get(provider, "oapServer"),
                     "oapServer");
  assert_strmap(ofctx_config_tracing_tags(cfg), json_object_get(tracing, "tags"), "tags");
  assert_strmap(ofctx_config_tracing_baggage(cfg), json_object_get(tracing, "baggage"), "baggage");
}

static void valid_case(void **state) {
  const char *dir = *state;
  case_env_t env;
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  json_t *want = load_json(dir, "expected.json");
  json_t *got;
  char *text;
  json_error_t jerr;

  case_env_load(&env, dir);
  if (ofctx_config_load(&cfg, case_env_get, &env, &err) != OFCTX_OK)
    fail_msg("%s: unexpected error: %s", dir, err.message);
  assert_int_equal(err.code, OFCTX_OK);
  assert_string_equal(err.message, "");
  text = ofctx_config_to_json(cfg);
  assert_non_null(text);
  got = json_loads(text, 0, &jerr);
  assert_non_null(got);
  if (!json_equal(got, want)) {
    char *w = json_dumps(want, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
    print_error("%s: expected\n%s\ngot\n%s\n", dir, w, g);
    free(w);
    free(g);
    fail();
  }
  assert_accessors(cfg, want);
  ofctx_free(text);
  json_decref(got);
  json_decref(want);
  ofctx_config_free(cfg);
  case_env_free(&env);
}

static void invalid_case(void **state) {
  const char *dir = *state;
  case_env_t env;
  ofctx_config_t *cfg = (ofctx_config_t *)&env; /* must be reset to NULL */
  ofctx_error_t err;
  char *expected = case_read_file(dir, "expected-error.txt", NULL);
  char *message;
  ofctx_err_t rc;

  if (!expected)
    fail_msg("%s: expected-error.txt is missing", dir);
  message = strchr(expected, '\n');
  assert_non_null(message);
  *message++ = '\0';
  message[strcspn(message, "\n")] = '\0';
  case_env_load(&env, dir);
  rc = ofctx_config_load(&cfg, case_env_get, &env, &err);
  assert_null(cfg);
  assert_string_equal(ofctx_err_name(rc), expected);
  assert_int_equal(err.code, rc);
  assert_string_equal(err.message, message);
  free(expected);
  case_env_free(&env);
}

int main(void) {
  int failed = case_run_folder("context_valid", OFCTX_TEST_DATA "/context/valid", valid_case);
  failed += case_run_folder("context_invalid", OFCTX_TEST_DATA "/context/invalid", invalid_case);
  return failed ? 1 : 0;
}
