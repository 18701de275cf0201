/* The environment of a function process: Kubernetes, Dapr and Knative
 * variables around the context document. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "error_msg.h"
#include "json_util.h"
#include "text.h"

static const char *env_get(ofctx_getenv_fn getenv_fn, void *arg, const char *name) {
  const char *value = getenv_fn ? getenv_fn(arg, name) : getenv(name);
  return value && *value ? value : NULL;
}

int ofctx__port_parse(const char *s, long *out) {
  long value = 0;

  if (!*s)
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    value = value * 10 + (*s - '0');
    if (value > 65535)
      return -1;
  }
  if (value < 1)
    return -1;
  *out = value;
  return 0;
}

static ofctx_err_t check_port(const char *name, const char *value, ofctx_error_t *err) {
  char quoted[OFCTX_QUOTE_SIZE];
  long port;

  if (!value || ofctx__port_parse(value, &port) == 0)
    return OFCTX_OK;
  ofctx__quote(quoted, sizeof quoted, value);
  return ofctx__error(err, OFCTX_EENV, "%s: %s is not a port number (1-65535)", name, quoted);
}

/* Values that end up in log lines, JSON and HTTP headers. A token's value is
 * never echoed. */
static ofctx_err_t check_text(const char *name, const char *value, int secret, ofctx_error_t *err) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!value || ofctx__text_ok(value))
    return OFCTX_OK;
  if (secret)
    return ofctx__error(err, OFCTX_EENV,
                        "%s: the value is not UTF-8 text or holds a control character", name);
  ofctx__quote(quoted, sizeof quoted, value);
  return ofctx__error(err, OFCTX_EENV, "%s: %s is not UTF-8 text or holds a control character",
                      name, quoted);
}

/* A DNS name (RFC 1123 labels of letters, digits and inner hyphens, 1-63
 * bytes each, dot-separated, 253 bytes at most), an IPv4 address, or an
 * IPv6 address (bracketed or not): what can stand between "http://" and
 * ":port" once brackets are added, and nothing else (no port, no path). */
static int host_ok(const char *value) {
  char bare[INET6_ADDRSTRLEN + 1];
  size_t len = strlen(value);

  if (len > 2 && value[0] == '[' && value[len - 1] == ']' && len - 2 < sizeof bare) {
    memcpy(bare, value + 1, len - 2);
    bare[len - 2] = '\0';
    return ofctx__ip_address_ok(bare) && strchr(bare, ':'); /* brackets hold IPv6 only */
  }
  if (ofctx__ip_address_ok(value))
    return 1;
  if (len == 0 || len > 253)
    return 0;
  for (const char *label = value;;) {
    size_t n = strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
    if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
      return 0;
    if (!label[n])
      return 1;
    if (label[n] != '.')
      return 0;
    label += n + 1;
  }
}

static ofctx_err_t check_host(const char *value, ofctx_error_t *err) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!value || host_ok(value))
    return OFCTX_OK;
  ofctx__quote(quoted, sizeof quoted, value);
  return ofctx__error(err, OFCTX_EENV,
                      "DAPR_HOST: %s is not a host name or an IP address (without a port; "
                      "the port is DAPR_HTTP_PORT)",
                      quoted);
}

/* CONTEXT_MODE: unset, "self-host" or "kubernetes"; another value is a typo
 * (the Go framework takes it for kubernetes). */
static ofctx_err_t check_context_mode(const char *value, ofctx_error_t *err) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!value || strcmp(value, "self-host") == 0 || strcmp(value, "kubernetes") == 0)
    return OFCTX_OK;
  ofctx__quote(quoted, sizeof quoted, value);
  return ofctx__error(err, OFCTX_EENV,
                      "CONTEXT_MODE: %s is neither \"self-host\" (outside Kubernetes) nor "
                      "\"kubernetes\"",
                      quoted);
}

/* Dapr's --app-protocol values that name the protocol in clear text. */
static const char *protocol_of(const char *value) {
  if (!value || strcmp(value, "http") == 0)
    return "http";
  if (strcmp(value, "grpc") == 0 || strcmp(value, "h2c") == 0)
    return "grpc";
  return NULL;
}

static ofctx_err_t check_protocol(const char *value, ofctx_error_t *err) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (protocol_of(value))
    return OFCTX_OK;
  ofctx__quote(quoted, sizeof quoted, value);
  return ofctx__error(err, OFCTX_EENV,
                      "APP_PROTOCOL: %s is not one the function serves: \"http\", or \"grpc\" "
                      "(also \"h2c\"), in clear text; TLS (https, grpcs) is the mesh's or "
                      "the sidecar's to terminate",
                      quoted);
}

ofctx_err_t ofctx__env_read(ofctx__env_t *env, ofctx_getenv_fn getenv_fn, void *arg,
                            ofctx_error_t *err) {
  ofctx_err_t rc;

  env->context_mode = env_get(getenv_fn, arg, "CONTEXT_MODE");
  env->pod_name = env_get(getenv_fn, arg, "POD_NAME");
  env->pod_namespace = env_get(getenv_fn, arg, "POD_NAMESPACE");
  env->dapr_host = env_get(getenv_fn, arg, "DAPR_HOST");
  env->dapr_http_port = env_get(getenv_fn, arg, "DAPR_HTTP_PORT");
  env->dapr_grpc_port = env_get(getenv_fn, arg, "DAPR_GRPC_PORT");
  env->app_protocol = env_get(getenv_fn, arg, "APP_PROTOCOL");
  env->dapr_api_token = env_get(getenv_fn, arg, "DAPR_API_TOKEN");
  env->app_api_token = env_get(getenv_fn, arg, "APP_API_TOKEN");
  env->port = env_get(getenv_fn, arg, "PORT");
  env->subscription_metadata = env_get(getenv_fn, arg, "OFCTX_SUBSCRIPTION_METADATA");
  if ((rc = check_context_mode(env->context_mode, err)) != OFCTX_OK ||
      (rc = check_text("POD_NAME", env->pod_name, 0, err)) != OFCTX_OK ||
      (rc = check_text("POD_NAMESPACE", env->pod_namespace, 0, err)) != OFCTX_OK ||
      (rc = check_host(env->dapr_host, err)) != OFCTX_OK ||
      (rc = check_port("DAPR_HTTP_PORT", env->dapr_http_port, err)) != OFCTX_OK ||
      (rc = check_port("DAPR_GRPC_PORT", env->dapr_grpc_port, err)) != OFCTX_OK ||
      (rc = check_protocol(env->app_protocol, err)) != OFCTX_OK ||
      (rc = check_port("PORT", env->port, err)) != OFCTX_OK ||
      (rc = check_text("DAPR_API_TOKEN", env->dapr_api_token, 1, err)) != OFCTX_OK ||
      (rc = check_text("APP_API_TOKEN", env->app_api_token, 1, err)) != OFCTX_OK ||
      (rc = check_text("OFCTX_SUBSCRIPTION_METADATA", env->subscription_metadata, 0, err)) !=
          OFCTX_OK)
    return rc;
  return OFCTX_OK;
}

/* OFCTX_SUBSCRIPTION_METADATA's pairs into the metadata of every pub/sub
 * input and every bindings.kafka input, where that input does not say
 * otherwise. A bindings.kafka input is a subscription to the direct mode
 * (its bulk keys), and OpenFunction's controller gives an input no
 * metadata; under a sidecar nothing reads a binding input's metadata. */
static ofctx_err_t subscription_metadata(const char *list, json_t *doc, ofctx_error_t *err) {
  json_t *inputs = json_object_get(doc, "inputs"), *in;
  const char *name;

  for (const char *p = list; p && *p;) {
    size_t len = strcspn(p, ","), klen = strcspn(p, "=");
    char quoted[OFCTX_QUOTE_SIZE];
    if (klen >= len || klen == 0) {
      ofctx__quote(quoted, sizeof quoted, list);
      return ofctx__error(err, OFCTX_EENV,
                          "OFCTX_SUBSCRIPTION_METADATA: %s is not a comma-separated list of "
                          "key=value (e.g. rawPayload=true,bulkSubscribe=true)",
                          quoted);
    }
    json_object_foreach(inputs, name, in) {
      const char *type = json_string_value(json_object_get(in, "componentType"));
      json_t *md = json_object_get(in, "metadata");
      char *key;
      if (!type || (strncmp(type, "pubsub.", 7) != 0 && strcmp(type, "bindings.kafka") != 0) ||
          !json_is_object(md))
        continue;
      key = strndup(p, klen);
      if (!key || (!json_object_get(md, key) &&
                   json_object_set_new(md, key, json_stringn(p + klen + 1, len - klen - 1)))) {
        free(key);
        return ofctx__error(err, OFCTX_ENOMEM, "function context: out of memory");
      }
      free(key);
    }
    p += len + (p[len] == ',');
  }
  return OFCTX_OK;
}

/* A pub/sub input's bulk subscription, in its metadata once
 * OFCTX_SUBSCRIPTION_METADATA is merged, and a bindings.kafka input's (the
 * direct mode reads it; a sidecar delivers a binding one message at a
 * time): decided here, where `ofctx context check` and every start-up both
 * pass, so that both refuse the same. */
static const struct {
  const char *key;
  long max; /* a whole number from 1 to max; 0: "true" or "false" */
} BULK_KEYS[] = {{"bulkSubscribe", 0},
                 {"bulkSubscribeMaxMessagesCount", 100000},
                 {"bulkSubscribeMaxAwaitDurationMs", 3600000}};

static int whole_number_ok(const char *v, long max) {
  long n;

  if (!*v || strlen(v) > 9 || v[strspn(v, "0123456789")])
    return 0;
  n = strtol(v, NULL, 10);
  return n >= 1 && n <= max;
}

static ofctx_err_t check_bulk_metadata(const char *source, json_t *doc, ofctx_error_t *err) {
  json_t *in;
  const char *name;

  json_object_foreach(json_object_get(doc, "inputs"), name, in) {
    const char *type = json_string_value(json_object_get(in, "componentType"));
    json_t *md = json_object_get(in, "metadata");
    if (!type || (strncmp(type, "pubsub.", 7) != 0 && strcmp(type, "bindings.kafka") != 0))
      continue;
    for (size_t k = 0; k < sizeof BULK_KEYS / sizeof BULK_KEYS[0]; k++) {
      const char *v = json_string_value(json_object_get(md, BULK_KEYS[k].key));
      char quoted[OFCTX_QUOTE_SIZE], input[OFCTX_PATH_SIZE], path[OFCTX_PATH_SIZE];
      if (!v || (BULK_KEYS[k].max ? whole_number_ok(v, BULK_KEYS[k].max)
                                  : strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
        continue;
      ofctx__quote(quoted, sizeof quoted, v);
      ofctx__json_path(input, sizeof input, "$.inputs", name);
      ofctx__json_path(path, sizeof path, input, "metadata");
      ofctx__json_path(input, sizeof input, path, BULK_KEYS[k].key);
      if (BULK_KEYS[k].max)
        return ofctx__error(err, OFCTX_ECONTEXT,
                            "%s: %s: %s is not a whole number from 1 to %ld (the context's, or "
                            "OFCTX_SUBSCRIPTION_METADATA's)",
                            source, input, quoted, BULK_KEYS[k].max);
      return ofctx__error(err, OFCTX_ECONTEXT,
                          "%s: %s: %s is neither \"true\" nor \"false\" (the context's, or "
                          "OFCTX_SUBSCRIPTION_METADATA's)",
                          source, input, quoted);
    }
  }
  return OFCTX_OK;
}

ofctx_err_t ofctx__env_apply(const ofctx__env_t *env, const char *source, json_t *doc,
                             ofctx_error_t *err) {
  int self_host = env->context_mode && strcmp(env->context_mode, "self-host") == 0;
  long dapr_port = 3500, grpc_port = 50001, port = 0;
  ofctx_err_t rc;

  /* The Go framework's wording, plus the way out for running outside Kubernetes. */
  if (!self_host && !env->pod_name)
    return ofctx__error(err, OFCTX_EENV,
                        "POD_NAME: the name of the pod cannot be retrieved from the "
                        "environment, you need to set the POD_NAME environment variable "
                        "(or CONTEXT_MODE=self-host outside Kubernetes)");
  if (!self_host && !env->pod_namespace)
    return ofctx__error(err, OFCTX_EENV,
                        "POD_NAMESPACE: the namespace of the pod cannot be retrieved from "
                        "the environment, you need to set the POD_NAMESPACE environment "
                        "variable (or CONTEXT_MODE=self-host outside Kubernetes)");
  /* Both were checked by ofctx__env_read. */
  if (env->dapr_http_port)
    ofctx__port_parse(env->dapr_http_port, &dapr_port);
  if (env->dapr_grpc_port)
    ofctx__port_parse(env->dapr_grpc_port, &grpc_port);
  if (env->port && (ofctx__port_parse(env->port, &port) != 0 ||
                    json_object_set_new(doc, "port", json_integer(port))))
    goto nomem;
  if (json_object_set_new(doc, "mode", json_string(self_host ? "self-host" : "kubernetes")) ||
      json_object_set_new(doc, "pod",
                          json_pack("{s:o,s:o}", "name", ofctx__json_string_or_null(env->pod_name),
                                    "namespace", ofctx__json_string_or_null(env->pod_namespace))) ||
      json_object_set_new(doc, "dapr",
                          json_pack("{s:s,s:I,s:I,s:b}", "host",
                                    env->dapr_host ? env->dapr_host : "127.0.0.1", "httpPort",
                                    (json_int_t)dapr_port, "grpcPort", (json_int_t)grpc_port,
                                    "apiTokenSet", env->dapr_api_token != NULL)) ||
      json_object_set_new(doc, "appProtocol", json_string(protocol_of(env->app_protocol))) ||
      json_object_set_new(doc, "appApiTokenSet", json_boolean(env->app_api_token != NULL)))
    goto nomem;
  if ((rc = subscription_metadata(env->subscription_metadata, doc, err)) != OFCTX_OK)
    return rc;
  return check_bulk_metadata(source, doc, err);
nomem:
  return ofctx__error(err, OFCTX_ENOMEM, "function context: out of memory");
}
