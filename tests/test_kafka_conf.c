/* A Kafka component's authentication and TLS as librdkafka settings
 * (kafka_conf.c): for each authType, exactly the properties that differ
 * from librdkafka's defaults, read back with rd_kafka_conf_dump. The mock
 * cluster speaks neither SASL nor TLS, so the mapping is checked here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "components.h"
#include "kafka_conf.h"
#include "test_util.h"

static const char context[] =
    "{\"name\":\"fn\",\"runtime\":\"Async\","
    "\"inputs\":{\"logs\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"}}}";

#define KAFKA_HEAD                                                                                 \
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n  type: "    \
  "bindings.kafka\n  metadata:\n  - name: brokers\n    value: 127.0.0.1:9092\n"                    \
  "  - name: topics\n    value: logs\n  - name: consumerGroup\n    value: g\n"

#define CERT "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
#define KEY "-----BEGIN PRIVATE KEY-----\nREVG\n-----END PRIVATE KEY-----\n"
#define CERT_YAML "\"-----BEGIN CERTIFICATE-----\\nQUJD\\n-----END CERTIFICATE-----\\n\""
#define KEY_YAML "\"-----BEGIN PRIVATE KEY-----\\nREVG\\n-----END PRIVATE KEY-----\\n\""

static int setup(void **state) {
  char why[512];
  (void)state;
  if (ofctx__rdkafka_open(why, sizeof why) != 0)
    fail_msg("%s", why);
  return 0;
}

/* The properties `conf` sets that a new conf does not, as "name=value"
 * lines in dump order, into `out`. */
static void changed(rd_kafka_conf_t *conf, char *out, size_t size) {
  rd_kafka_conf_t *plain = ofctx__rdkafka.conf_new();
  size_t n, m, len = 0;
  const char **got = ofctx__rdkafka.conf_dump(conf, &n);
  const char **base = ofctx__rdkafka.conf_dump(plain, &m);

  out[0] = '\0';
  for (size_t i = 0; i + 1 < n; i += 2) {
    int same = 0;
    for (size_t j = 0; j + 1 < m && !same; j += 2)
      same = strcmp(got[i], base[j]) == 0 && strcmp(got[i + 1], base[j + 1]) == 0;
    if (!same)
      len +=
          (size_t)snprintf(out + len, len < size ? size - len : 0, "%s=%s\n", got[i], got[i + 1]);
  }
  assert_true(len < size);
  ofctx__rdkafka.conf_dump_free(got, n);
  ofctx__rdkafka.conf_dump_free(base, m);
  ofctx__rdkafka.conf_destroy(plain);
}

typedef ofctx_err_t (*mapper_t)(rd_kafka_conf_t *conf, const ofctx__comp_t *c, ofctx_error_t *err);

/* The component `metadata` (after KAFKA_HEAD) mapped by `fn`: OFCTX_OK and
 * the changed properties in `out`, or the code and the message. */
static ofctx_err_t map_with(mapper_t fn, const char *metadata, char *out, size_t size) {
  ofctx_config_t *cfg = NULL;
  ofctx__comps_t set;
  ofctx_error_t err;
  char dir[64], path[128];
  FILE *f;
  ofctx_err_t rc;
  rd_kafka_conf_t *conf;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, context, strlen(context), self_host, NULL, &err),
                   OFCTX_OK);
  snprintf(dir, sizeof dir, "/tmp/ofctx-kconf-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/kafka.yaml", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "%s%s", KAFKA_HEAD, metadata);
  fclose(f);
  rc = ofctx__comps_load(&set, dir, cfg, &err);
  if (rc != OFCTX_OK)
    fail_msg("%s", err.message);
  conf = ofctx__rdkafka.conf_new();
  rc = fn(conf, set.inputs[0], &err);
  if (rc == OFCTX_OK)
    changed(conf, out, size);
  else
    snprintf(out, size, "%s", strstr(err.message, "component"));
  ofctx__rdkafka.conf_destroy(conf);
  ofctx__comps_free(&set);
  unlink(path);
  rmdir(dir);
  ofctx_config_free(cfg);
  return rc;
}

static ofctx_err_t map(const char *metadata, char *out, size_t size) {
  return map_with(ofctx__kafka_conf_auth, metadata, out, size);
}

static void none_is_plaintext(void **state) {
  char got[8192];
  (void)state;
  /* the default (security.protocol plaintext) is set again: nothing changes */
  assert_int_equal(map("", got, sizeof got), OFCTX_OK);
  assert_string_equal(got, "");
  assert_int_equal(map("  - name: authType\n    value: none\n  - name: disableTls\n"
                       "    value: \"false\"\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "");
}

static void password(void **state) {
  char got[8192];
  (void)state;
  assert_int_equal(map("  - name: authType\n    value: password\n  - name: saslUsername\n"
                       "    value: fn\n  - name: saslPassword\n    value: pw\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "security.protocol=sasl_ssl\nsasl.mechanisms=PLAIN\n"
                           "sasl.username=fn\nsasl.password=pw\n");
  assert_int_equal(map("  - name: authType\n    value: password\n  - name: saslUsername\n"
                       "    value: fn\n  - name: saslPassword\n    value: pw\n"
                       "  - name: saslMechanism\n    value: SHA-256\n"
                       "  - name: disableTls\n    value: \"true\"\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "security.protocol=sasl_plaintext\nsasl.mechanisms=SCRAM-SHA-256\n"
                           "sasl.username=fn\nsasl.password=pw\n");
  assert_int_equal(map("  - name: authType\n    value: password\n  - name: saslUsername\n"
                       "    value: fn\n  - name: saslPassword\n    value: pw\n"
                       "  - name: saslMechanism\n    value: SHA-512\n  - name: caCert\n"
                       "    value: " CERT_YAML "\n  - name: skipVerify\n    value: \"true\"\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "security.protocol=sasl_ssl\nssl.ca.pem=" CERT "\n"
                           "enable.ssl.certificate.verification=false\n"
                           "ssl.endpoint.identification.algorithm=none\n"
                           "sasl.mechanisms=SCRAM-SHA-512\nsasl.username=fn\nsasl.password=pw\n");
}

static void tls(void **state) {
  char got[8192];
  (void)state;
  assert_int_equal(
      map("  - name: authType\n    value: mtls\n  - name: clientCert\n    value: " CERT_YAML
          "\n  - name: clientKey\n    value: " KEY_YAML "\n  - name: caCert\n"
          "    value: " CERT_YAML "\n",
          got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "security.protocol=ssl\nssl.key.pem=" KEY "\nssl.certificate.pem=" CERT
                           "\nssl.ca.pem=" CERT "\n");
  assert_int_equal(map("  - name: authType\n    value: certificate\n  - name: caCert\n"
                       "    value: " CERT_YAML "\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "security.protocol=ssl\nssl.ca.pem=" CERT "\n");
  /* authRequired true without a saslPassword: mtls (Dapr's upgrade of it) */
  assert_int_equal(map("  - name: authRequired\n    value: \"true\"\n  - name: clientCert\n"
                       "    value: " CERT_YAML "\n  - name: clientKey\n    value: " KEY_YAML "\n",
                       got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got,
                      "security.protocol=ssl\nssl.key.pem=" KEY "\nssl.certificate.pem=" CERT "\n");
}

/* OIDC where librdkafka has it; Debian 12's is built without it, and then
 * the start is refused naming the key. */
static void oidc(void **state) {
  char got[8192];
  rd_kafka_conf_t *conf = ofctx__rdkafka.conf_new();
  int built;
  (void)state;

  built = ofctx__rdkafka.conf_set(conf, "sasl.oauthbearer.method", "oidc", got, sizeof got) ==
          RD_KAFKA_CONF_OK;
  ofctx__rdkafka.conf_destroy(conf);
  if (map("  - name: authType\n    value: oidc\n  - name: oidcTokenEndpoint\n"
          "    value: https://idp/token\n  - name: oidcClientID\n    value: fn\n"
          "  - name: oidcClientSecret\n    value: cs\n  - name: oidcScopes\n"
          "    value: kafka, openid\n",
          got, sizeof got) == OFCTX_OK) {
    assert_true(built);
    assert_non_null(strstr(got, "sasl.oauthbearer.method=oidc\n"));
    assert_non_null(strstr(got, "sasl.oauthbearer.scope=kafka openid\n"));
    assert_non_null(strstr(got, "sasl.oauthbearer.token.endpoint.url=https://idp/token\n"));
  } else {
    assert_false(built);
    assert_string_equal(got, "component \"kafka-in\": metadata \"authType\": Configuration "
                             "property \"sasl.oauthbearer.method\" not supported in this build: "
                             "OAuth/OIDC depends on libcurl and OpenSSL which were not available "
                             "at build time");
    assert_null(strstr(got, "cs"));
  }
}

/* An input's consumer: Dapr's session timeout and heartbeat interval
 * (10 s, 3 s) when the component gives none, not librdkafka's (45 s); the
 * component's when it does. */
static void consumer(void **state) {
  char got[8192];
  (void)state;
  assert_int_equal(map_with(ofctx__kafka_conf_consumer, "", got, sizeof got), OFCTX_OK);
  assert_non_null(strstr(got, "metadata.broker.list=127.0.0.1:9092\n"));
  assert_non_null(strstr(got, "group.id=g\n"));
  assert_non_null(strstr(got, "enable.auto.commit=false\n"));
  assert_non_null(strstr(got, "enable.auto.offset.store=false\n"));
  assert_non_null(strstr(got, "queued.max.messages.kbytes=4096\n"));
  assert_non_null(strstr(got, "session.timeout.ms=10000\n"));
  assert_null(strstr(got, "heartbeat.interval.ms=")); /* 3000: librdkafka's too */
  assert_int_equal(map_with(ofctx__kafka_conf_consumer,
                            "  - name: sessionTimeout\n    value: 1m30s\n"
                            "  - name: heartbeatInterval\n    value: 500ms\n"
                            "  - name: initialOffset\n    value: oldest\n"
                            "  - name: clientID\n    value: fn-1\n",
                            got, sizeof got),
                   OFCTX_OK);
  assert_non_null(strstr(got, "session.timeout.ms=90000\n"));
  assert_non_null(strstr(got, "heartbeat.interval.ms=500\n"));
  assert_non_null(strstr(got, "client.id=fn-1\n"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(none_is_plaintext),
      cmocka_unit_test(password),
      cmocka_unit_test(tls),
      cmocka_unit_test(oidc),
      cmocka_unit_test(consumer),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
