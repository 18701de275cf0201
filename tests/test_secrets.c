/* The secretKeyRefs of the direct mode's components (secrets.c), through
 * ofctx__comps_load: a mounted Secret volume (OFCTX_SECRETS_PATH), Dapr's
 * local file store (nested and multi-valued) and env store, and every
 * refusal, none of which shows a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "components.h"
#include "secrets.h"
#include "test_util.h"

static const char context[] =
    "{\"name\":\"fn\",\"runtime\":\"Async\","
    "\"inputs\":{\"logs\":{\"componentName\":\"kafka-in\",\"componentType\":\"bindings.kafka\"}}}";

#define KAFKA_HEAD                                                                                 \
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafka-in\nspec:\n  type: "    \
  "bindings.kafka\n  metadata:\n  - name: brokers\n    value: 127.0.0.1:9092\n"                    \
  "  - name: topics\n    value: logs\n  - name: consumerGroup\n    value: g\n"                     \
  "  - name: authType\n    value: password\n  - name: saslUsername\n    value: fn\n"

#define REF(name, key)                                                                             \
  "  - name: saslPassword\n    secretKeyRef:\n      name: " name "\n      key: " key "\n"

static char dir[64];

static void put(const char *name, const char *text, size_t len) {
  char path[256];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  fclose(f);
}

static void put_text(const char *name, const char *text) { put(name, text, strlen(text)); }

static int setup(void **state) {
  char sub[128];
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/ofctx-secrets-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(sub, sizeof sub, "%s/secrets", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  snprintf(sub, sizeof sub, "%s/secrets/kafka", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  snprintf(sub, sizeof sub, "%s/res", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  unsetenv("OFCTX_SECRETS_PATH");
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

/* Loads res/ with `kafka` as its component: the code, and the password or
 * the message (each "@" the directory) into `out`. */
static ofctx_err_t load(const char *kafka, char *out, size_t size) {
  ofctx_config_t *cfg = NULL;
  ofctx__comps_t set;
  ofctx_error_t err;
  char res[128];
  ofctx_err_t rc;

  assert_int_equal(ofctx_config_parse(&cfg, NULL, context, strlen(context), self_host, NULL, &err),
                   OFCTX_OK);
  put_text("res/kafka.yaml", kafka);
  snprintf(res, sizeof res, "%s/res", dir);
  rc = ofctx__comps_load(&set, res, cfg, &err);
  if (rc == OFCTX_OK) {
    snprintf(out, size, "%s", ofctx__comp_value(set.inputs[0], "saslPassword"));
    ofctx__comps_free(&set);
  } else {
    size_t n = 0, dl = strlen(dir);
    /* the directory as "@", so that the expected messages are fixed */
    for (const char *m = err.message; *m && n + 1 < size;)
      if (strncmp(m, dir, dl) == 0) {
        out[n++] = '@';
        m += dl;
      } else {
        out[n++] = *m++;
      }
    out[n] = '\0';
  }
  ofctx_config_free(cfg);
  return rc;
}

static void from_volume(void **state) {
  char got[OFCTX_ERROR_MESSAGE_SIZE], root[128], path[256];
  (void)state;

  assert_int_equal(load(KAFKA_HEAD REF("kafka", "password"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"password\"}: the direct mode "
                           "reads it from OFCTX_SECRETS_PATH/<name>/<key> (a mounted Secret "
                           "volume), and OFCTX_SECRETS_PATH is not set (docs/direct-mode.md)");
  snprintf(root, sizeof root, "%s/secrets", dir);
  setenv("OFCTX_SECRETS_PATH", root, 1);
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "password"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"password\"}: cannot read "
                           "@/secrets/kafka/password: No such file or directory");
  /* the file's exact bytes: a final newline is the secret's */
  put_text("secrets/kafka/password", "s3cret\n");
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "password"), got, sizeof got), OFCTX_OK);
  assert_string_equal(got, "s3cret\n");
  /* without a key, the key is the name (Dapr's rule) */
  put_text("secrets/kafka/kafka", "other");
  assert_int_equal(load(KAFKA_HEAD "  - name: saslPassword\n    secretKeyRef:\n      name: kafka\n",
                        got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "other");
  /* "kubernetes" is the same store */
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "password") "auth:\n  secretStore: kubernetes\n",
                        got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "s3cret\n");
  assert_int_equal(load(KAFKA_HEAD REF("..", "password"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"..\", key: \"password\"}: a Secret's name and "
                           "key are one path segment each");
  /* a key is one path segment too: nothing outside <name>/ is read */
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "../kafka/password"), got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"../kafka/password\"}: a Secret's "
                           "name and key are one path segment each");
  assert_int_equal(load(KAFKA_HEAD REF("kafka", ".."), got, sizeof got), OFCTX_ECOMPONENT);
  assert_non_null(strstr(got, "one path segment each"));
  assert_int_equal(load(KAFKA_HEAD REF("x/kafka", "password"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_non_null(strstr(got, "one path segment each"));
  /* a directory (a Secret volume's ..data) or a FIFO is no secret: refused
   * at once, never read from (a FIFO would block the start) */
  snprintf(path, sizeof path, "%s/secrets/kafka/..data", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "..data"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"..data\"}: cannot read "
                           "@/secrets/kafka/..data: not a regular file");
  snprintf(path, sizeof path, "%s/secrets/kafka/fifo", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "fifo"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"fifo\"}: cannot read "
                           "@/secrets/kafka/fifo: not a regular file");
  /* past 1 MiB (a Kubernetes Secret's most) */
  {
    size_t big = OFCTX__SECRET_MAX + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'x', big);
    put("secrets/kafka/big", text, big);
    put("secrets/kafka/max", text, big - 1);
    free(text);
  }
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "big"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"big\"}: cannot read "
                           "@/secrets/kafka/big: longer than 1 MiB");
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "max"), got, sizeof got), OFCTX_OK);
  assert_int_equal(strlen(got), sizeof got - 1); /* 1 MiB taken (cut to `got` here) */
  put("secrets/kafka/nul", "a\0b", 3);
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "nul"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"nul\"}: cannot read "
                           "@/secrets/kafka/nul: it holds a NUL byte");
  /* a secret that is not a value the key takes: not shown */
  put_text("secrets/kafka/empty", "");
  assert_int_equal(load(KAFKA_HEAD REF("kafka", "empty"), got, sizeof got), OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "its value (not shown) is not a password");
  unsetenv("OFCTX_SECRETS_PATH");
}

#define FILE_STORE(extra)                                                                          \
  "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: local\nspec:\n  type: "  \
  "secretstores.local.file\n  metadata:\n  - name: secretsFile\n    value: @/secrets.json\n" extra

/* `text` with each "@" replaced by the directory. */
static const char *at_dir(const char *text) {
  static char out[4096];
  size_t n = 0;
  for (; *text && n + strlen(dir) + 1 < sizeof out; text++)
    if (*text == '@') {
      memcpy(out + n, dir, strlen(dir));
      n += strlen(dir);
    } else {
      out[n++] = *text;
    }
  out[n] = '\0';
  return out;
}

static void from_local_file(void **state) {
  char got[OFCTX_ERROR_MESSAGE_SIZE];
  (void)state;

  put_text("secrets.json", "{\"kafka\": {\"password\": \"p1\", \"list\": [\"a\", \"p2\"]}, "
                           "\"n\": 5}");
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka:password",
                                 "kafka:password") "auth:\n  secretStore: local\n" FILE_STORE("")),
           got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "p1");
  assert_int_equal(
      load(
          at_dir(KAFKA_HEAD
                     REF("kafka.list.1", "kafka.list.1") "auth:\n  secretStore: local\n" FILE_STORE(
                         "  - name: nestedSeparator\n    value: .\n")),
          got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "p2");
  /* multiValued: the top-level entry is the secret, the leaves its keys */
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka", "password") "auth:\n  secretStore: local\n" FILE_STORE(
               "  - name: multiValued\n    value: \"true\"\n")),
           got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "p1");
  /* Dapr's metadata booleans are "truthy": y, yes, on, ... in any case */
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka", "password") "auth:\n  secretStore: local\n" FILE_STORE(
               "  - name: multiValued\n    value: \" Yes\"\n")),
           got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "p1");
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka", "password") "auth:\n  secretStore: local\n" FILE_STORE(
               "  - name: multiValued\n    value: \"ON\"\n")),
           got, sizeof got),
      OFCTX_OK);
  assert_string_equal(got, "p1");
  assert_int_equal(load(at_dir(KAFKA_HEAD REF(
                            "kafka", "password") "auth:\n  secretStore: local\n" FILE_STORE("")),
                        got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"password\"}: no such secret in "
                           "@/secrets.json");
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("n", "n") "auth:\n  secretStore: local\n" FILE_STORE("")), got,
           sizeof got),
      OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"n\", key: \"n\"}: its value in @/secrets.json "
                           "is not a string");
  /* a file that is not JSON: its place, never its text */
  put_text("secrets.json", "{\"kafka\": hunter2}");
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka", "kafka") "auth:\n  secretStore: local\n" FILE_STORE("")),
           got, sizeof got),
      OFCTX_ECOMPONENT);
  assert_null(strstr(got, "hunter2"));
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"kafka\"}: its secretsFile "
                           "@/secrets.json cannot be read as JSON (line 1)");
  assert_int_equal(
      load(at_dir(KAFKA_HEAD REF("kafka", "kafka") "auth:\n  secretStore: local\n" FILE_STORE(
               "  - name: watch\n    value: \"true\"\n")),
           got, sizeof got),
      OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"kafka\", key: \"kafka\"}: its secret store's "
                           "metadata \"watch\" is not implemented in direct mode");
}

#define ENV_STORE(extra)                                                                           \
  "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: env\nspec:\n  type: "    \
  "secretstores.local.env\n  metadata:\n" extra

static void from_local_env(void **state) {
  char got[OFCTX_ERROR_MESSAGE_SIZE];
  (void)state;

  setenv("OFCTX_TEST_PW", "p3", 1);
  assert_int_equal(load(KAFKA_HEAD REF("PW", "PW") "auth:\n  secretStore: env\n" ENV_STORE(
                            "  - name: prefix\n    value: OFCTX_TEST_\n"),
                        got, sizeof got),
                   OFCTX_OK);
  assert_string_equal(got, "p3");
  assert_int_equal(load(KAFKA_HEAD REF("PW", "other") "auth:\n  secretStore: env\n" ENV_STORE(
                            "  - name: prefix\n    value: OFCTX_TEST_\n"),
                        got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"PW\", key: \"other\"}: a secretstores.local.env "
                           "secret has one key, its name");
  assert_int_equal(
      load(KAFKA_HEAD REF("OFCTX_TEST_NONE",
                          "OFCTX_TEST_NONE") "auth:\n  secretStore: env\n" ENV_STORE(""),
           got, sizeof got),
      OFCTX_ECOMPONENT);
  assert_string_equal(got,
                      "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                      "secretKeyRef {name: \"OFCTX_TEST_NONE\", key: \"OFCTX_TEST_NONE\"}: the "
                      "environment variable OFCTX_TEST_NONE is not set");
  assert_int_equal(
      load(KAFKA_HEAD REF("DAPR_API_TOKEN",
                          "DAPR_API_TOKEN") "auth:\n  secretStore: env\n" ENV_STORE(""),
           got, sizeof got),
      OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"DAPR_API_TOKEN\", key: \"DAPR_API_TOKEN\"}: "
                           "secretstores.local.env does not read DAPR_API_TOKEN (Dapr forbids it)");
  /* in any case, and through a prefix too, as Dapr's isKeyAllowed */
  setenv("dapr_x", "p4", 1);
  assert_int_equal(load(KAFKA_HEAD REF("x", "x") "auth:\n  secretStore: env\n" ENV_STORE(
                            "  - name: prefix\n    value: dapr_\n"),
                        got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_non_null(strstr(got, "secretstores.local.env does not read dapr_x (Dapr forbids it)"));
  assert_null(strstr(got, "p4"));
  setenv("app_api_token", "p5", 1);
  assert_int_equal(load(KAFKA_HEAD REF("app_api_token",
                                       "app_api_token") "auth:\n  secretStore: env\n" ENV_STORE(""),
                        got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_non_null(strstr(got, "does not read app_api_token (Dapr forbids it)"));
  unsetenv("dapr_x");
  unsetenv("app_api_token");
  unsetenv("OFCTX_TEST_PW");
}

static void other_stores(void **state) {
  char got[OFCTX_ERROR_MESSAGE_SIZE];
  (void)state;

  assert_int_equal(load(KAFKA_HEAD REF("k", "p") "auth:\n  secretStore: vault\n---\napiVersion: "
                                                 "dapr.io/v1alpha1\nkind: Component\nmetadata:\n"
                                                 "  name: vault\nspec:\n  type: "
                                                 "secretstores.hashicorp.vault\n",
                        got, sizeof got),
                   OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"k\", key: \"p\"}: auth.secretStore vault is of "
                           "type secretstores.hashicorp.vault: the direct mode reads only "
                           "secretstores.local.file, secretstores.local.env and mounted Kubernetes "
                           "Secrets (docs/direct-mode.md)");
  assert_int_equal(
      load(KAFKA_HEAD REF("k", "p") "auth:\n  secretStore: nowhere\n", got, sizeof got),
      OFCTX_ECOMPONENT);
  assert_string_equal(got, "@/res/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                           "secretKeyRef {name: \"k\", key: \"p\"}: auth.secretStore nowhere: no "
                           "secret store of that name in the resources directory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(from_volume, setup, teardown),
      cmocka_unit_test_setup_teardown(from_local_file, setup, teardown),
      cmocka_unit_test_setup_teardown(from_local_env, setup, teardown),
      cmocka_unit_test_setup_teardown(other_stores, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
