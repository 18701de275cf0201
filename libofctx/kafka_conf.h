/* Internal: the librdkafka settings of a Kafka component's consumer and
 * of its authentication and TLS, as Dapr's Kafka component (bindings.kafka, pubsub.kafka) takes
 * its metadata: authType none (plaintext), password (SASL PLAIN or SCRAM),
 * mtls and certificate (TLS), oidc (SASL OAUTHBEARER from an OIDC token
 * endpoint, where librdkafka is built with it), with disableTls, caCert
 * and skipVerify. The component was checked when it was loaded
 * (components.c); this maps it, one call for a consumer or a producer. */
#ifndef OFCTX_KAFKA_CONF_H
#define OFCTX_KAFKA_CONF_H

#include "components.h"
#include "ofctx/error.h"
#include "rdkafka_lib.h"

/* Sets on `conf` (borrowed) the security.protocol, sasl.* and ssl.*
 * properties of component `c`. OFCTX_OK; or OFCTX_ECOMPONENT with a
 * message naming the file, the component and the metadata key, when
 * librdkafka refuses a property (its build lacks OIDC), and never a
 * secret's value. Call it once librdkafka is open. */
ofctx_err_t ofctx__kafka_conf_auth(rd_kafka_conf_t *conf, const ofctx__comp_t *c,
                                   ofctx_error_t *err);

/* Sets on `conf` (borrowed) the settings of an input's consumer of
 * component `c`: the brokers, the group, no automatic commit nor offset
 * store, where a new group starts, the client id, the session timeout
 * and heartbeat interval (Dapr's defaults, 10 s and 3 s, when not given),
 * the bound of what is fetched ahead, then ofctx__kafka_conf_auth's.
 * OFCTX_OK, or OFCTX_ECOMPONENT with the message as above. */
ofctx_err_t ofctx__kafka_conf_consumer(rd_kafka_conf_t *conf, const ofctx__comp_t *c,
                                       ofctx_error_t *err);

/* Whether librdkafka's error `err` (an error callback's) is the brokers
 * refusing the client's authentication or its TLS: no retry fixes it, and
 * it is logged as an error that names the component. */
int ofctx__kafka_auth_refused(int err);

#endif
