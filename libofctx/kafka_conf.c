/* A Kafka component's consumer, authentication and TLS as librdkafka
 * settings. See kafka_conf.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error_msg.h"
#include "kafka_conf.h"
#include "text.h"

/* Property `name` = `value`, for metadata `key` of `c`: 0, or -1 with the
 * message. */
static int set(rd_kafka_conf_t *conf, const ofctx__comp_t *c, const char *key, const char *name,
               const char *value, ofctx_error_t *err) {
  char errstr[256];

  if (ofctx__rdkafka.conf_set(conf, name, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
    return 0;
  /* librdkafka's message names the property, and for a string never its value */
  ofctx__error(err, OFCTX_ECOMPONENT, "%s: component \"%s\": metadata \"%s\": %s", c->file, c->name,
               key, errstr);
  return -1;
}

/* Dapr's oidcScopes (comma-separated; "openid" when not given) as
 * OAuth's scope (space-separated), into `out`. */
static void scopes(const char *list, char *out, size_t size) {
  const char *s = list ? list : "openid", *start;
  size_t n = 0, len;

  out[0] = '\0';
  while (n + 1 < size && (start = ofctx__list_next(&s, &len)) != NULL) {
    if (len && n + len + 2 < size) {
      if (n)
        out[n++] = ' ';
      memcpy(out + n, start, len);
      n += len;
      out[n] = '\0';
    }
  }
}

ofctx_err_t ofctx__kafka_conf_auth(rd_kafka_conf_t *conf, const ofctx__comp_t *c,
                                   ofctx_error_t *err) {
  const char *type = ofctx__comp_auth_type(c);
  const char *mechanism = ofctx__comp_value(c, "saslMechanism");
  const char *ca = ofctx__comp_value(c, "caCert");
  const char *cert = ofctx__comp_value(c, "clientCert");
  const char *key = ofctx__comp_value(c, "clientKey");
  int tls = strcmp(type, "none") != 0 && !ofctx__comp_true(c, "disableTls");
  int sasl = strcmp(type, "password") == 0 || strcmp(type, "oidc") == 0;
  char scope[1024];

  /* Dapr's authType none is plaintext, whatever disableTls says */
  if (set(conf, c, "authType", "security.protocol",
          sasl ? (tls ? "sasl_ssl" : "sasl_plaintext") : (tls ? "ssl" : "plaintext"), err))
    return OFCTX_ECOMPONENT;
  if (strcmp(type, "password") == 0 &&
      (set(conf, c, "saslMechanism", "sasl.mechanisms",
           !mechanism || strcmp(mechanism, "PLAIN") == 0 ? "PLAIN"
           : strcmp(mechanism, "SHA-256") == 0           ? "SCRAM-SHA-256"
                                                         : "SCRAM-SHA-512",
           err) ||
       set(conf, c, "saslUsername", "sasl.username", ofctx__comp_value(c, "saslUsername"), err) ||
       set(conf, c, "saslPassword", "sasl.password", ofctx__comp_value(c, "saslPassword"), err)))
    return OFCTX_ECOMPONENT;
  if (strcmp(type, "oidc") == 0) {
    scopes(ofctx__comp_value(c, "oidcScopes"), scope, sizeof scope);
    if (set(conf, c, "authType", "sasl.mechanisms", "OAUTHBEARER", err) ||
        set(conf, c, "authType", "sasl.oauthbearer.method", "oidc", err) ||
        set(conf, c, "oidcTokenEndpoint", "sasl.oauthbearer.token.endpoint.url",
            ofctx__comp_value(c, "oidcTokenEndpoint"), err) ||
        set(conf, c, "oidcClientID", "sasl.oauthbearer.client.id",
            ofctx__comp_value(c, "oidcClientID"), err) ||
        set(conf, c, "oidcClientSecret", "sasl.oauthbearer.client.secret",
            ofctx__comp_value(c, "oidcClientSecret"), err) ||
        set(conf, c, "oidcScopes", "sasl.oauthbearer.scope", scope, err))
      return OFCTX_ECOMPONENT;
  }
  if (!tls)
    return OFCTX_OK;
  if ((ca && set(conf, c, "caCert", "ssl.ca.pem", ca, err)) ||
      (cert && set(conf, c, "clientCert", "ssl.certificate.pem", cert, err)) ||
      (key && set(conf, c, "clientKey", "ssl.key.pem", key, err)))
    return OFCTX_ECOMPONENT;
  /* Go's InsecureSkipVerify: neither the chain nor the host name */
  if (ofctx__comp_true(c, "skipVerify") &&
      (set(conf, c, "skipVerify", "enable.ssl.certificate.verification", "false", err) ||
       set(conf, c, "skipVerify", "ssl.endpoint.identification.algorithm", "none", err)))
    return OFCTX_ECOMPONENT;
  return OFCTX_OK;
}

/* A Go duration of the component (`key`) as librdkafka's milliseconds
 * (`name`), else `fallback`. */
static int set_ms(rd_kafka_conf_t *conf, const ofctx__comp_t *c, const char *key, const char *name,
                  const char *fallback, ofctx_error_t *err) {
  const char *value = ofctx__comp_value(c, key);
  uint64_t ms;
  char text[24];

  if (value && ofctx__go_duration_ms(value, &ms) == 0) {
    snprintf(text, sizeof text, "%" PRIu64, ms);
    return set(conf, c, key, name, text, err);
  }
  return set(conf, c, key, name, fallback, err);
}

ofctx_err_t ofctx__kafka_conf_consumer(rd_kafka_conf_t *conf, const ofctx__comp_t *c,
                                       ofctx_error_t *err) {
  const char *group = ofctx__comp_value(c, "consumerGroup");
  const char *offset = ofctx__comp_value(c, "initialOffset");
  const char *client = ofctx__comp_value(c, "clientID");

  if (set(conf, c, "brokers", "bootstrap.servers", ofctx__comp_value(c, "brokers"), err) ||
      set(conf, c, "consumerGroup", "group.id", group ? group : ofctx__comp_value(c, "consumerID"),
          err) ||
      set(conf, c, "consumerGroup", "enable.auto.commit", "false", err) ||
      set(conf, c, "consumerGroup", "enable.auto.offset.store", "false", err) ||
      set(conf, c, "initialOffset", "auto.offset.reset",
          offset && strcmp(offset, "oldest") == 0 ? "earliest" : "latest", err) ||
      (client && set(conf, c, "clientID", "client.id", client, err)) ||
      /* Dapr's defaults (10 s, 3 s), not librdkafka's (45 s, 3 s): a
       * killed instance's partitions move on as soon as under Dapr */
      set_ms(conf, c, "sessionTimeout", "session.timeout.ms", "10000", err) ||
      set_ms(conf, c, "heartbeatInterval", "heartbeat.interval.ms", "3000", err) ||
      /* what librdkafka fetches ahead, for all the consumer's partitions
       * (its one queue; its default is 64 MiB) */
      set(conf, c, "brokers", "queued.max.messages.kbytes", "4096", err))
    return OFCTX_ECOMPONENT;
  return ofctx__kafka_conf_auth(conf, c, err);
}

int ofctx__kafka_auth_refused(int err) {
  return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL;
}
