/* The direct mode's Dapr Component files (components.c): a directory read
 * and matched to the context (data/components/good), every refusal with
 * its message naming the file, the component and the key, and Go
 * durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "components.h"
#include "test_util.h"

#define GOOD_DIR OFCTX_TEST_DATA "/components/good"

static const char context[] =
    "{\"name\":\"fn\",\"runtime\":\"Async\","
    "\"inputs\":{\"logs\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"}},"
    "\"outputs\":{\"alerts\":{\"componentName\":\"nm\",\"componentType\":\"bindings.http\","
    "\"operation\":\"post\"}}}";

static ofctx_config_t *config_of(const char *json) {
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, json, strlen(json), self_host, NULL, &err),
                   OFCTX_OK);
  return cfg;
}

static void loads_and_matches(void **state) {
  ofctx_config_t *cfg = config_of(context);
  ofctx__comps_t set;
  ofctx_error_t err;

  (void)state;
  assert_int_equal(ofctx__comps_load(&set, GOOD_DIR, cfg, &err), OFCTX_OK);
  assert_int_equal(set.count, 2);        /* the state store is not named: left alone */
  assert_string_equal(set.app_id, "fn"); /* no APP_ID and no namespace: the function's name */
  assert_int_equal(set.input_count, 1);
  assert_int_equal(set.output_count, 1);
  assert_string_equal(set.inputs[0]->name, "kafka-in");
  assert_int_equal(set.inputs[0]->type_id, OFCTX__COMP_KAFKA_BINDING);
  assert_string_equal(set.inputs[0]->file, GOOD_DIR "/kafka.yaml");
  assert_string_equal(ofctx__comp_value(set.inputs[0], "topics"), "logs, audit");
  assert_string_equal(ofctx__comp_value(set.inputs[0], "consumerGroup"), "logs-handler");
  /* keys are read without regard to case, kept as Dapr's docs spell them */
  assert_string_equal(ofctx__comp_value(set.inputs[0], "heartbeatInterval"), "1500ms");
  assert_null(ofctx__comp_value(set.inputs[0], "HeartbeatInterval"));
  assert_string_equal(set.outputs[0]->name, "nm");
  assert_int_equal(set.outputs[0]->type_id, OFCTX__COMP_HTTP_BINDING);
  assert_string_equal(ofctx__comp_value(set.outputs[0], "url"),
                      "http://127.0.0.1:19093/api/v2/alerts");
  ofctx__comps_free(&set);
  ofctx__comps_free(&set); /* empty: fine */
  ofctx_config_free(cfg);
}

/* ---- refusals, each in a directory of its own ---- */

typedef struct {
  char dir[64];
} scratch_t;

static void scratch_put(scratch_t *s, const char *name, const char *text) {
  char path[160];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void scratch_new(scratch_t *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/ofctx-components-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
}

static void scratch_free(scratch_t *s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
  assert_int_equal(system(cmd), 0);
}

#define HTTP_OK                                                                                    \
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: nm\nspec:\n  type: "          \
  "bindings.http\n  version: v1\n  metadata:\n  - name: url\n    value: http://127.0.0.1:1/a\n"

#define KAFKA_HEAD                                                                                 \
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n  type: "    \
  "bindings.kafka\n  version: v1\n  metadata:\n  - name: brokers\n    value: 127.0.0.1:9092\n"     \
  "  - name: topics\n    value: logs\n  - name: consumerGroup\n    value: g\n"

/* `text` with each "@" replaced by `dir`, into `out`. */
static void with_dir(char *out, size_t size, const char *text, const char *dir) {
  size_t n = 0;

  for (; *text && n + strlen(dir) + 1 < size; text++) {
    if (*text == '@') {
      memcpy(out + n, dir, strlen(dir));
      n += strlen(dir);
    } else {
      out[n++] = *text;
    }
  }
  out[n] = '\0';
}

/* `kafka` as kafka.yaml beside a good HTTP output refuses with `code` and
 * the message `expected` (each "@" the directory). */
static void refused(const char *kafka, ofctx_err_t code, const char *expected) {
  ofctx_config_t *cfg = config_of(context);
  ofctx__comps_t set;
  ofctx_error_t err;
  scratch_t s;
  char want[OFCTX_ERROR_MESSAGE_SIZE];

  scratch_new(&s);
  scratch_put(&s, "http.yaml", HTTP_OK);
  if (kafka)
    scratch_put(&s, "kafka.yaml", kafka);
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), code);
  with_dir(want, sizeof want, expected, s.dir);
  assert_string_equal(err.message, want);
  assert_int_equal(set.count, 0);
  assert_null(set.inputs);
  scratch_free(&s);
  ofctx_config_free(cfg);
}

static void refuses_keys_not_implemented(void **state) {
  (void)state;
  refused(KAFKA_HEAD "  - name: awsRegion\n    value: eu-west-1\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\" (bindings.kafka): metadata \"awsRegion\" is "
          "not implemented in direct mode (docs/direct-mode.md lists what is)");
  /* a key of another type is not taken either */
  refused(KAFKA_HEAD "  - name: url\n    value: http://x/\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\" (bindings.kafka): metadata \"url\" is not "
          "implemented in direct mode (docs/direct-mode.md lists what is)");
  refused(KAFKA_HEAD "  - name: saslPassword\n    value: p\n    secretKeyRef:\n      name: s\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": a secretKeyRef needs "
          "a name (and its key), and no value beside it");
}

static void refuses_values(void **state) {
  (void)state;
  refused(KAFKA_HEAD "  - name: authType\n    value: awsiam\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"authType\": \"awsiam\" is not "
          "\"none\", \"password\", \"mtls\", \"certificate\" or \"oidc\" (Dapr's awsiam signs "
          "with AWS MSK IAM, which librdkafka cannot do)");
  refused(KAFKA_HEAD "  - name: initialOffset\n    value: latest\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"initialOffset\": \"latest\" is not "
          "\"newest\" or \"oldest\"");
  refused(KAFKA_HEAD "  - name: consumeRetryEnabled\n    value: \"false\"\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"consumeRetryEnabled\": \"false\" is "
          "not \"true\" (the direct mode always retries)");
  refused(KAFKA_HEAD "  - name: sessionTimeout\n    value: 1.5s\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"sessionTimeout\": \"1.5s\" is not a "
          "duration such as 15s");
  unsetenv("NAMESPACE");
  refused(KAFKA_HEAD "  - name: clientID\n    value: \"{namespace}\"\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"clientID\": {namespace} needs "
          "POD_NAMESPACE or NAMESPACE (the pod's namespace: the downward API gives it)");
  refused(KAFKA_HEAD "  - name: clientID\n    value: \"{podName}\"\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"clientID\": {podName} needs "
          "POD_NAME (the pod's name: the downward API gives it)");
  refused(KAFKA_HEAD "  - name: topics\n    value: again\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"topics\" given twice");
  refused(KAFKA_HEAD "  - name: version\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"version\" has no value (a string)");
}

#define PEM_CERT "\"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\""
#define PEM_KEY "\"-----BEGIN PRIVATE KEY-----\\nQUJD\\n-----END PRIVATE KEY-----\\n\""

/* Dapr's templates in values, as daprd fills them when it loads a
 * component: the pod's name and namespace, the app id (APP_ID, else
 * OpenFunction's "<function>-<namespace>"), a new UUID each; other braces
 * kept. */
static void templates(void **state) {
  static const char *const env[] = {"POD_NAME", "logs-7d9f8-x2x4q", "POD_NAMESPACE", "shop", NULL};
  ofctx_config_t *cfg = NULL;
  ofctx__comps_t set;
  ofctx_error_t err;
  scratch_t s;
  const char *id, *group;
  (void)state;

  unsetenv("APP_ID");
  assert_int_equal(
      ofctx_config_parse(&cfg, NULL, context, strlen(context), self_host, (void *)env, &err),
      OFCTX_OK);
  scratch_new(&s);
  scratch_put(&s, "http.yaml", HTTP_OK);
  scratch_put(&s, "kafka.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n"
              "  type: bindings.kafka\n  version: v1\n  metadata:\n  - name: brokers\n"
              "    value: 127.0.0.1:9092\n  - name: topics\n    value: logs-{namespace}\n"
              "  - name: consumerGroup\n    value: \"{appID}.{namespace}\"\n"
              "  - name: clientID\n    value: \"{podName}/{uuid}/{other}/{\"\n");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
  /* daprd's {namespace} is "<namespace>.<app id>", not the namespace alone */
  assert_string_equal(ofctx__comp_value(set.inputs[0], "topics"), "logs-shop.fn-shop");
  /* the app id a publish's CloudEvent names as its source, as daprd's */
  assert_string_equal(set.app_id, "fn-shop");
  group = ofctx__comp_value(set.inputs[0], "consumerGroup");
  assert_string_equal(group, "fn-shop.shop.fn-shop");
  id = ofctx__comp_value(set.inputs[0], "clientID");
  assert_int_equal(strlen(id), strlen("logs-7d9f8-x2x4q/") + 36 + strlen("/{other}/{"));
  assert_memory_equal(id, "logs-7d9f8-x2x4q/", 17);
  assert_int_equal(id[17 + 14], '4'); /* version 4 */
  assert_string_equal(id + 17 + 36, "/{other}/{");
  ofctx__comps_free(&set);
  setenv("APP_ID", "alerter", 1);
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
  assert_string_equal(ofctx__comp_value(set.inputs[0], "consumerGroup"), "alerter.shop.alerter");
  assert_string_equal(set.app_id, "alerter");
  ofctx__comps_free(&set);
  unsetenv("APP_ID");
  ofctx_config_free(cfg);
  /* without POD_NAMESPACE, NAMESPACE is the namespace of both templates */
  setenv("NAMESPACE", "ops", 1);
  cfg = config_of(context);
  scratch_put(&s, "kafka.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n"
              "  type: bindings.kafka\n  version: v1\n  metadata:\n  - name: brokers\n"
              "    value: 127.0.0.1:9092\n  - name: topics\n    value: logs\n"
              "  - name: consumerGroup\n    value: \"{namespace}/{appID}\"\n");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
  assert_string_equal(ofctx__comp_value(set.inputs[0], "consumerGroup"), "ops.fn-ops/fn-ops");
  assert_string_equal(set.app_id, "fn-ops");
  ofctx__comps_free(&set);
  unsetenv("NAMESPACE");
  scratch_free(&s);
  ofctx_config_free(cfg);
}

/* A bindings.http output's url: `url` refused with `expected` (each "@"
 * the directory), or taken when `expected` is NULL. */
static void http_url(const char *url, const char *expected) {
  ofctx_config_t *cfg = config_of(context);
  ofctx__comps_t set;
  ofctx_error_t err;
  scratch_t s;
  char text[512], want[OFCTX_ERROR_MESSAGE_SIZE];

  snprintf(text, sizeof text,
           "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: nm\nspec:\n  type: "
           "bindings.http\n  version: v1\n  metadata:\n  - name: url\n    value: \"%s\"\n",
           url);
  scratch_new(&s);
  scratch_put(&s, "http.yaml", text);
  scratch_put(&s, "kafka.yaml", KAFKA_HEAD);
  if (!expected) {
    assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
    ofctx__comps_free(&set);
  } else {
    assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_ECOMPONENT);
    with_dir(want, sizeof want, expected, s.dir);
    assert_string_equal(err.message, want);
  }
  scratch_free(&s);
  ofctx_config_free(cfg);
}

#define URL_EXPECTED                                                                               \
  "an http:// URL with a host, a port from 1 to 65535 if any, and no user or password (the "       \
  "direct mode has no TLS yet)"

/* What a url must be: a host and a port libcurl takes (a port past 65535
 * made every send fail), and no credentials, which would be in every line
 * that names the address; a refused url with them is not shown either. */
static void http_urls(void **state) {
  (void)state;
  http_url("http://127.0.0.1:8080/api/v2", NULL);
  http_url("http://alerts.monitoring.svc", NULL);
  http_url("http://[::1]:9093/a", NULL);
  http_url("http://127.0.0.1:99999/x", "@/http.yaml: component \"nm\": metadata \"url\": "
                                       "\"http://127.0.0.1:99999/x\" is not " URL_EXPECTED);
  http_url("http://h:0/", "@/http.yaml: component \"nm\": metadata \"url\": \"http://h:0/\" is "
                          "not " URL_EXPECTED);
  http_url("http://h:/",
           "@/http.yaml: component \"nm\": metadata \"url\": \"http://h:/\" is not " URL_EXPECTED);
  http_url("http://:80/", "@/http.yaml: component \"nm\": metadata \"url\": \"http://:80/\" is "
                          "not " URL_EXPECTED);
  http_url("http://[]/",
           "@/http.yaml: component \"nm\": metadata \"url\": \"http://[]/\" is not " URL_EXPECTED);
  http_url(
      "http://h?x=1",
      "@/http.yaml: component \"nm\": metadata \"url\": \"http://h?x=1\" is not " URL_EXPECTED);
  http_url("http://h/api?x=1", NULL);
  http_url("https://h/",
           "@/http.yaml: component \"nm\": metadata \"url\": \"https://h/\" is not " URL_EXPECTED);
  http_url("http://alert:s3cret@h:9093/", "@/http.yaml: component \"nm\": metadata \"url\": its "
                                          "value (not shown) is not " URL_EXPECTED);
  /* without "://" (a scheme forgotten or mistyped) the credentials are not shown either */
  http_url("alert:s3cret@h:9093/", "@/http.yaml: component \"nm\": metadata \"url\": its value "
                                   "(not shown) is not " URL_EXPECTED);
  http_url("http:/alert:s3cret@h/", "@/http.yaml: component \"nm\": metadata \"url\": its value "
                                    "(not shown) is not " URL_EXPECTED);
  /* a port that wraps an unsigned int to 80 is no port */
  http_url("http://h:4294967376/", "@/http.yaml: component \"nm\": metadata \"url\": "
                                   "\"http://h:4294967376/\" is not " URL_EXPECTED);
}

static void refuses_auth(void **state) {
  (void)state;
  refused(KAFKA_HEAD "  - name: authType\n    value: password\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"password\" needs metadata "
          "\"saslUsername\"");
  /* authRequired (deprecated), with a saslPassword: password */
  refused(KAFKA_HEAD "  - name: authRequired\n    value: \"true\"\n  - name: saslPassword\n"
                     "    value: hunter2\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"password\" needs metadata "
          "\"saslUsername\"");
  refused(KAFKA_HEAD "  - name: authRequired\n    value: \"false\"\n  - name: authType\n"
                     "    value: mtls\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"authRequired\" false contradicts "
          "authType \"mtls\" (authRequired is deprecated: give authType alone)");
  refused(KAFKA_HEAD "  - name: authType\n    value: none\n  - name: caCert\n    value: " PEM_CERT
                     "\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"caCert\" is not used by authType "
          "\"none\" (which speaks plaintext, as Dapr does)");
  refused(KAFKA_HEAD "  - name: authType\n    value: mtls\n  - name: saslUsername\n    value: u\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"saslUsername\" is not used by "
          "authType \"mtls\"");
  refused(KAFKA_HEAD
          "  - name: authType\n    value: mtls\n  - name: clientCert\n    value: " PEM_CERT "\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"mtls\" needs metadata "
          "\"clientKey\"");
  /* Dapr's mtls loads the client's pair, and fails to start without it */
  refused(KAFKA_HEAD "  - name: authType\n    value: mtls\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"mtls\" needs metadata "
          "\"clientCert\"");
  /* authRequired (deprecated) without a saslPassword: mtls */
  refused(KAFKA_HEAD "  - name: authRequired\n    value: \"true\"\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"mtls\" needs metadata "
          "\"clientCert\"");
  refused(KAFKA_HEAD
          "  - name: authType\n    value: mtls\n  - name: clientCert\n    value: " PEM_CERT
          "\n  - name: clientKey\n    value: " PEM_KEY
          "\n  - name: disableTls\n    value: \"true\"\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"mtls\" is TLS: metadata "
          "\"disableTls\" cannot be true");
  refused(KAFKA_HEAD "  - name: authType\n    value: certificate\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"certificate\" needs metadata "
          "\"caCert\"");
  refused(KAFKA_HEAD "  - name: authType\n    value: password\n  - name: saslUsername\n    value: "
                     "u\n  - name: saslPassword\n    value: p\n  - name: disableTls\n    value: "
                     "\"True\"\n  - name: skipVerify\n    value: \"true\"\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"skipVerify\" has no use without TLS "
          "(authType \"password\", disableTls true)");
  refused(KAFKA_HEAD "  - name: authType\n    value: oidc\n  - name: oidcTokenEndpoint\n    value: "
                     "https://idp/token\n  - name: oidcClientID\n    value: fn\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": authType \"oidc\" needs metadata "
          "\"oidcClientSecret\"");
  refused(KAFKA_HEAD "  - name: saslMechanism\n    value: SCRAM-SHA-256\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"saslMechanism\": \"SCRAM-SHA-256\" "
          "is not \"PLAIN\", \"SHA-256\" or \"SHA-512\"");
  refused(KAFKA_HEAD "  - name: disableTls\n    value: maybe\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"disableTls\": \"maybe\" is not true "
          "or false");
  refused(KAFKA_HEAD "  - name: caCert\n    value: not a certificate\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"caCert\": \"not a certificate\" is "
          "not a PEM certificate");
  /* a secret key's value is never shown, not even a bad one */
  refused(KAFKA_HEAD
          "  - name: authType\n    value: mtls\n  - name: clientCert\n    value: " PEM_CERT
          "\n  - name: clientKey\n    value: sk-hunter2\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": metadata \"clientKey\": its value (not shown) "
          "is not a PEM private key");
}

/* Each authType with what it needs is taken. */
static void takes_auth(void **state) {
  static const char *const good[] = {
      "  - name: authType\n    value: password\n  - name: saslUsername\n    value: u\n"
      "  - name: saslPassword\n    value: \"p{w}\"\n  - name: saslMechanism\n    value: SHA-512\n"
      "  - name: caCert\n    value: " PEM_CERT "\n  - name: skipVerify\n    value: \"false\"\n",
      "  - name: authType\n    value: mtls\n  - name: clientCert\n    value: " PEM_CERT "\n"
      "  - name: clientKey\n    value: " PEM_KEY "\n  - name: disableTls\n    value: \"false\"\n",
      "  - name: authType\n    value: certificate\n  - name: caCert\n    value: " PEM_CERT "\n",
      "  - name: authType\n    value: oidc\n  - name: oidcTokenEndpoint\n    value: "
      "https://idp/token\n  - name: oidcClientID\n    value: fn\n  - name: oidcClientSecret\n"
      "    value: s\n  - name: oidcScopes\n    value: kafka,openid\n",
      "  - name: authType\n    value: none\n  - name: disableTls\n    value: \"false\"\n",
      "  - name: authRequired\n    value: \"false\"\n",
  };
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    ofctx_config_t *cfg = config_of(context);
    ofctx__comps_t set;
    ofctx_error_t err;
    scratch_t s;
    char text[2048];

    scratch_new(&s);
    scratch_put(&s, "http.yaml", HTTP_OK);
    snprintf(text, sizeof text, "%s%s", KAFKA_HEAD, good[i]);
    scratch_put(&s, "kafka.yaml", text);
    if (ofctx__comps_load(&set, s.dir, cfg, &err) != OFCTX_OK)
      fail_msg("%zu: %s", i, err.message);
    ofctx__comps_free(&set);
    scratch_free(&s);
    ofctx_config_free(cfg);
  }
}

static void refuses_components(void **state) {
  (void)state;
  refused(NULL, OFCTX_ECOMPONENT,
          "OFCTX_RESOURCES_PATH: no Component named \"kafka-in\" (the input \"logs\" of the "
          "function context) in @");
  refused("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n  "
          "type: bindings.kafka\n  metadata:\n  - name: brokers\n    value: b:1\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\" (bindings.kafka): metadata \"topics\" is "
          "required in direct mode");
  refused("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n  "
          "type: bindings.rabbitmq\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\": type \"bindings.rabbitmq\" is not implemented "
          "in direct mode (bindings.kafka, pubsub.kafka, bindings.http are)");
  refused("apiVersion: dapr.io/v1alpha1\nkind: Subscription\nmetadata:\n  name: s\n",
          OFCTX_ECOMPONENT,
          "@/kafka.yaml: kind \"Subscription\": only Components are implemented in direct mode "
          "(docs/direct-mode.md)");
  refused("just: text\n", OFCTX_ECOMPONENT,
          "@/kafka.yaml: not a Dapr resource (apiVersion dapr.io/v1alpha1 and a kind)");
  refused("a: [b\n", OFCTX_ECOMPONENT, "@/kafka.yaml: line 2: did not find expected ',' or ']'");
  refused(KAFKA_HEAD "---\n" KAFKA_HEAD, OFCTX_ECOMPONENT,
          "@/kafka.yaml: component \"kafka-in\" is defined in @/kafka.yaml already");
}

/* The component's type must be the context's, and fit its place. */
static void refuses_misplaced(void **state) {
  ofctx_config_t *cfg = config_of(
      "{\"name\":\"fn\",\"runtime\":\"Async\",\"inputs\":{\"logs\":{\"componentName\":\"nm\","
      "\"componentType\":\"bindings.http\"}}}");
  ofctx__comps_t set;
  ofctx_error_t err;
  scratch_t s;
  char want[OFCTX_ERROR_MESSAGE_SIZE];

  (void)state;
  scratch_new(&s);
  scratch_put(&s, "http.yaml", HTTP_OK);
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_ECOMPONENT);
  snprintf(want, sizeof want,
           "%s/http.yaml: component \"nm\": bindings.http as an input is not implemented in "
           "direct mode",
           s.dir);
  assert_string_equal(err.message, want);
  ofctx_config_free(cfg);
  cfg = config_of(
      "{\"name\":\"fn\",\"runtime\":\"Async\",\"outputs\":{\"o\":{\"componentName\":\"nm\","
      "\"componentType\":\"bindings.kafka\"}}}");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_ECOMPONENT);
  snprintf(want, sizeof want,
           "%s/http.yaml: component \"nm\" is of type bindings.http, the function context says "
           "bindings.kafka",
           s.dir);
  assert_string_equal(err.message, want);
  scratch_free(&s);
  ofctx_config_free(cfg);
}

/* A Kafka binding as an output needs its publishTopic, not an input's keys;
 * a pub/sub output needs its brokers alone. */
static void kafka_outputs(void **state) {
  ofctx_config_t *cfg = config_of(
      "{\"name\":\"fn\",\"runtime\":\"Async\",\"outputs\":{\"o\":{\"componentName\":\"k\","
      "\"componentType\":\"bindings.kafka\",\"operation\":\"create\"}}}");
  ofctx__comps_t set;
  ofctx_error_t err;
  scratch_t s;
  char want[OFCTX_ERROR_MESSAGE_SIZE];

  (void)state;
  scratch_new(&s);
  scratch_put(&s, "k.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: k\nspec:\n  type: "
              "bindings.kafka\n  metadata:\n  - name: brokers\n    value: b:1\n");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_ECOMPONENT);
  with_dir(want, sizeof want,
           "@/k.yaml: component \"k\" (bindings.kafka): metadata \"publishTopic\" is required in "
           "direct mode for an output",
           s.dir);
  assert_string_equal(err.message, want);
  scratch_put(&s, "k.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: k\nspec:\n  type: "
              "bindings.kafka\n  metadata:\n  - name: brokers\n    value: b:1\n  - name: "
              "publishTopic\n    value: alerts\n");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
  assert_int_equal(set.outputs[0]->type_id, OFCTX__COMP_KAFKA_BINDING);
  assert_string_equal(ofctx__comp_value(set.outputs[0], "publishTopic"), "alerts");
  ofctx__comps_free(&set);
  ofctx_config_free(cfg);
  cfg = config_of("{\"name\":\"fn\",\"runtime\":\"Async\",\"outputs\":{\"o\":{\"componentName\":"
                  "\"k\",\"componentType\":\"pubsub.kafka\",\"uri\":\"t\"}}}");
  scratch_put(&s, "k.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: k\nspec:\n  type: "
              "pubsub.kafka\n  metadata:\n  - name: brokers\n    value: b:1\n");
  assert_int_equal(ofctx__comps_load(&set, s.dir, cfg, &err), OFCTX_OK);
  assert_int_equal(set.outputs[0]->type_id, OFCTX__COMP_KAFKA_PUBSUB); /* brokers is enough */
  ofctx__comps_free(&set);
  scratch_free(&s);
  ofctx_config_free(cfg);
}

static void refuses_directory_and_states(void **state) {
  ofctx_config_t *cfg = config_of(context);
  ofctx__comps_t set;
  ofctx_error_t err;

  (void)state;
  assert_int_equal(ofctx__comps_load(&set, "/nonexistent/resources", cfg, &err), OFCTX_EIO);
  assert_string_equal(err.message,
                      "OFCTX_RESOURCES_PATH: /nonexistent/resources: No such file or directory");
  ofctx_config_free(cfg);
  cfg = config_of("{\"name\":\"fn\",\"runtime\":\"Async\",\"states\":{\"s\":{\"componentName\":"
                  "\"redis\",\"componentType\":\"state.redis\"}}}");
  assert_int_equal(ofctx__comps_load(&set, GOOD_DIR, cfg, &err), OFCTX_ECOMPONENT);
  assert_string_equal(err.message, "state stores are not implemented in direct mode (the "
                                   "function context names 1)");
  ofctx_config_free(cfg);
}

static void go_durations(void **state) {
  uint64_t ms = 7;

  (void)state;
  assert_int_equal(ofctx__go_duration_ms("15s", &ms), 0);
  assert_int_equal(ms, 15000);
  assert_int_equal(ofctx__go_duration_ms("1m30s", &ms), 0);
  assert_int_equal(ms, 90000);
  assert_int_equal(ofctx__go_duration_ms("200ms", &ms), 0);
  assert_int_equal(ms, 200);
  assert_int_equal(ofctx__go_duration_ms("1h", &ms), 0);
  assert_int_equal(ms, 3600000);
  assert_int_equal(ofctx__go_duration_ms("1500us", &ms), 0);
  assert_int_equal(ms, 1);
  assert_int_equal(ofctx__go_duration_ms("0", &ms), 0);
  assert_int_equal(ms, 0);
  ms = 7;
  assert_int_equal(ofctx__go_duration_ms("", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("15", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("s", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("5x", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("-5s", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("99999999999999999999h", &ms), -1);
  assert_int_equal(ofctx__go_duration_ms("9999999h", &ms), -1); /* past 2^64 ns */
  assert_int_equal(ms, 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loads_and_matches), cmocka_unit_test(refuses_keys_not_implemented),
      cmocka_unit_test(refuses_values),    cmocka_unit_test(refuses_components),
      cmocka_unit_test(refuses_misplaced), cmocka_unit_test(refuses_directory_and_states),
      cmocka_unit_test(kafka_outputs),     cmocka_unit_test(go_durations),
      cmocka_unit_test(http_urls),         cmocka_unit_test(templates),
      cmocka_unit_test(refuses_auth),      cmocka_unit_test(takes_auth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
