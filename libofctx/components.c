/* The direct mode's Dapr Component files: read with libyaml's document
 * API, matched to the context, each metadata key checked against a table
 * of what the direct mode implements. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "components.h"
#include "error_msg.h"
#include "mem.h"
#include "secrets.h"
#include "text.h"
#include "trace.h"

/* ---- what the direct mode implements ---- */

#define KB (1u << OFCTX__COMP_KAFKA_BINDING)
#define KP (1u << OFCTX__COMP_KAFKA_PUBSUB)
#define HB (1u << OFCTX__COMP_HTTP_BINDING)

static const struct {
  const char *name;
  ofctx__comp_type_t id;
} types[] = {{"bindings.kafka", OFCTX__COMP_KAFKA_BINDING},
             {"pubsub.kafka", OFCTX__COMP_KAFKA_PUBSUB},
             {"bindings.http", OFCTX__COMP_HTTP_BINDING}};

static int any_value(const char *v) { return v != NULL; }
static int not_empty(const char *v) { return v[0] != '\0'; }
static int is_true(const char *v) { return strcmp(v, "true") == 0; }
static int is_offset(const char *v) { return strcmp(v, "newest") == 0 || strcmp(v, "oldest") == 0; }
static int is_duration(const char *v) {
  uint64_t ms;
  return ofctx__go_duration_ms(v, &ms) == 0;
}
static int is_direction(const char *v) {
  return strcmp(v, "input") == 0 || strcmp(v, "output") == 0 || strcmp(v, "input, output") == 0 ||
         strcmp(v, "input,output") == 0;
}
/* The authority of an http:// URL (what stands before its path): a host,
 * and a port from 1 to 65535 if there is one; no user or password (they
 * would go into every log line that names the address: credentials belong
 * in headers, from a secret). An IPv6 host is in brackets. */
static int is_authority(const char *a, size_t n) {
  const char *colon = NULL, *host_end;
  unsigned port = 0;

  if (n == 0 || memchr(a, '@', n) || memchr(a, '?', n) || memchr(a, '#', n))
    return 0; /* a query or fragment needs a path before it: "http://h/?q" */
  if (a[0] == '[') {
    host_end = memchr(a, ']', n);
    if (!host_end || host_end == a + 1)
      return 0;
    host_end++;
  } else {
    colon = memchr(a, ':', n);
    host_end = colon ? colon : a + n;
    if (host_end == a)
      return 0;
  }
  if (host_end == a + n)
    return 1;
  if (*host_end != ':' || host_end + 1 == a + n || a + n - (host_end + 1) > 5)
    return 0;
  for (const char *p = host_end + 1; p < a + n; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    port = port * 10 + (unsigned)(*p - '0');
  }
  return port >= 1 && port <= 65535;
}
static int is_http_url(const char *v) {
  const char *authority = v + 7, *slash;

  if (strncmp(v, "http://", 7) != 0 || !ofctx__text_ok(v) || strpbrk(v, " \t"))
    return 0;
  slash = strchr(authority, '/');
  return is_authority(authority, slash ? (size_t)(slash - authority) : strlen(authority));
}
/* A value that may hold a user or a password before a host: any '@',
 * whatever stands before it (a URL without its scheme, or with a mistyped
 * one, holds them too). */
static int has_userinfo(const char *v) { return strchr(v, '@') != NULL; }
/* Dapr reads its booleans with Go's strconv.ParseBool: 1 when `v` is true,
 * 0 when false, -1 when it is neither. */
static int bool_of(const char *v) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcmp(v, yes[i]) == 0)
      return 1;
    if (strcmp(v, no[i]) == 0)
      return 0;
  }
  return -1;
}
static int is_bool(const char *v) { return bool_of(v) >= 0; }
static int is_auth_type(const char *v) {
  return strcmp(v, "none") == 0 || strcmp(v, "password") == 0 || strcmp(v, "mtls") == 0 ||
         strcmp(v, "certificate") == 0 || strcmp(v, "oidc") == 0;
}
static int is_mechanism(const char *v) {
  return strcmp(v, "PLAIN") == 0 || strcmp(v, "SHA-256") == 0 || strcmp(v, "SHA-512") == 0;
}
/* One or more PEM blocks, as Dapr's isValidPEM takes them: a BEGIN line
 * and its END line. */
static int is_pem(const char *v) {
  const char *begin = strstr(v, "-----BEGIN "), *end = begin ? strstr(begin, "-----END ") : NULL;
  return end && strstr(end + 9, "-----") != NULL;
}
static int is_token_url(const char *v) {
  return (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0) && ofctx__text_ok(v) &&
         !strpbrk(v, " \t\r\n");
}

/* Each key the direct mode takes: on which types, and which values. A key
 * of Dapr's that is not here is refused at start. A `secret` key's value is
 * never printed. */
static const struct {
  const char *key;
  unsigned types;
  int (*ok)(const char *value);
  const char *expected; /* for the message */
  int secret;
} keys[] = {
    {"brokers", KB | KP, not_empty, "a list of host:port", 0},
    {"topics", KB, not_empty, "a list of topics", 0},
    {"publishTopic", KB, not_empty, "a topic", 0},
    {"consumerGroup", KB | KP, not_empty, "a group id", 0},
    {"consumerID", KP, not_empty, "a group id", 0},
    {"clientID", KB | KP, not_empty, "a client id", 0},
    {"authType", KB | KP, is_auth_type,
     "\"none\", \"password\", \"mtls\", \"certificate\" or \"oidc\" (Dapr's awsiam signs "
     "with AWS MSK IAM, which librdkafka cannot do)",
     0},
    {"authRequired", KB | KP, is_bool, "true or false", 0},
    {"disableTls", KB | KP, is_bool, "true or false", 0},
    {"skipVerify", KB | KP, is_bool, "true or false", 0},
    {"caCert", KB | KP, is_pem, "a PEM certificate", 0},
    {"clientCert", KB | KP, is_pem, "a PEM certificate", 0},
    {"clientKey", KB | KP, is_pem, "a PEM private key", 1},
    {"saslUsername", KB | KP, not_empty, "a user name", 0},
    {"saslPassword", KB | KP, not_empty, "a password", 1},
    {"saslMechanism", KB | KP, is_mechanism, "\"PLAIN\", \"SHA-256\" or \"SHA-512\"", 0},
    {"oidcTokenEndpoint", KB | KP, is_token_url, "an http:// or https:// URL", 0},
    {"oidcClientID", KB | KP, not_empty, "a client id", 0},
    {"oidcClientSecret", KB | KP, not_empty, "a client secret", 1},
    {"oidcScopes", KB | KP, not_empty, "a list of scopes", 0},
    {"initialOffset", KB | KP, is_offset, "\"newest\" or \"oldest\"", 0},
    {"sessionTimeout", KB | KP, is_duration, "a duration such as 15s", 0},
    {"heartbeatInterval", KB | KP, is_duration, "a duration such as 3s", 0},
    /* what the direct mode always does: a record not acknowledged comes again */
    {"consumeRetryEnabled", KB | KP, is_true, "\"true\" (the direct mode always retries)", 0},
    {"version", KB | KP, any_value, NULL, 0}, /* librdkafka negotiates the protocol version */
    {"direction", KB | KP | HB, is_direction, "\"input\", \"output\" or \"input, output\"", 0},
    {"url", HB, is_http_url,
     "an http:// URL with a host, a port from 1 to 65535 if any, and no user or password (the "
     "direct mode has no TLS yet)",
     0},
    {"maxResponseBodySize", HB, any_value, NULL, 0}, /* the answer's body is never read */
    {"errorIfNot2XX", HB, is_true, "\"true\" (any other answer is a failed send)", 0},
};

/* ---- Go durations ---- */

int ofctx__go_duration_ms(const char *s, uint64_t *ms) {
  static const struct {
    const char *unit;
    uint64_t ns;
  } units[] = {{"ns", 1},
               {"us", 1000},
               {"ms", 1000000},
               {"s", 1000000000ULL},
               {"m", 60000000000ULL},
               {"h", 3600000000000ULL}};
  uint64_t total = 0;

  if (!s || !*s)
    return -1;
  if (strcmp(s, "0") == 0) {
    *ms = 0;
    return 0;
  }
  while (*s) {
    uint64_t n = 0, scale = 0;
    size_t len = 0;
    if (*s < '0' || *s > '9')
      return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
      if (n > (UINT64_MAX - 9) / 10)
        return -1;
      n = n * 10 + (uint64_t)(*s - '0');
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
      size_t ulen = strlen(units[u].unit);
      /* "ms" before "m": the longest unit that matches */
      if (strncmp(s, units[u].unit, ulen) == 0 && ulen > len) {
        scale = units[u].ns;
        len = ulen;
      }
    }
    if (!scale || (n && scale > UINT64_MAX / n) || total > UINT64_MAX - n * scale)
      return -1;
    total += n * scale;
    s += len;
  }
  *ms = total / 1000000;
  return 0;
}

/* ---- YAML ---- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
      return yaml_document_get_node(doc, p->value);
  }
  return NULL;
}

static const char *scalar(yaml_node_t *node) {
  return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* ---- one component ---- */

typedef struct {
  ofctx__comps_t *set;
  const char *file; /* as the messages name it */
  ofctx_error_t *err;
  const ofctx_config_t *cfg; /* the pod's name and namespace, the function's name */
} reader_t;

static void comp_clear(ofctx__comp_t *c) {
  for (size_t i = 0; i < c->count; i++) {
    ofctx__free(c->keys[i]);
    if (c->values[i]) /* a secret's copy is wiped before it is freed */
      memset(c->values[i], 0, strlen(c->values[i]));
    ofctx__free(c->values[i]);
    ofctx__free(c->ref_names[i]);
    ofctx__free(c->ref_keys[i]);
  }
  ofctx__free(c->keys);
  ofctx__free(c->values);
  ofctx__free(c->ref_names);
  ofctx__free(c->ref_keys);
  ofctx__free(c->secret_store);
  ofctx__free(c->file);
  ofctx__free(c->name);
  ofctx__free(c->type);
  memset(c, 0, sizeof *c);
}

const char *ofctx__comp_value(const ofctx__comp_t *c, const char *key) {
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->keys[i], key) == 0)
      return c->values[i];
  return NULL;
}

/* The index in `keys` of metadata `name` for a component of `c`'s type,
 * or the table's size. */
static size_t key_index(const ofctx__comp_t *c, const char *name) {
  size_t k;
  for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
    if (strcasecmp(keys[k].key, name) == 0 && (keys[k].types & (1u << c->type_id)))
      break;
  return k;
}

/* The pod's namespace: POD_NAMESPACE, else NAMESPACE (what daprd reads),
 * or NULL. */
static const char *namespace_of(const ofctx_config_t *cfg) {
  const char *ns = ofctx_config_pod_namespace(cfg);

  if (!ns || !*ns)
    ns = getenv("NAMESPACE");
  return ns && *ns ? ns : NULL;
}

/* The app id Dapr would run the function under: APP_ID when set (a
 * sidecar gives it to its app), else OpenFunction's "<function>-<namespace>",
 * else the function's name. */
static const char *app_id(const ofctx_config_t *cfg, char *buf, size_t size) {
  const char *env = getenv("APP_ID"), *ns = namespace_of(cfg);

  if (env && *env)
    return env;
  if (!ns)
    return ofctx_config_name(cfg);
  snprintf(buf, size, "%s-%s", ofctx_config_name(cfg), ns);
  return buf;
}

/* `value` with Dapr's templates replaced, as daprd replaces them when it
 * loads a component: {uuid} a new random UUID, {podName} the pod's name
 * (POD_NAME), {namespace} "<namespace>.<app id>" (daprd's, which is not the
 * namespace alone), {appID} the app id (app_id); other braces are kept as
 * they are. A template whose value is unknown stops the start. → `*out`
 * (the caller frees it). */
static ofctx_err_t expand(reader_t *r, const ofctx__comp_t *c, const char *q, const char *value,
                          char **out) {
  static const char *const names[] = {"{uuid}", "{podName}", "{namespace}", "{appID}"};
  ofctx__buf_t b = {0};
  char uuid[37], ns_id[1024];

  for (const char *p = value; *p;) {
    size_t t = 0, n;
    const char *with = NULL;
    while (t < 4 && strncmp(p, names[t], strlen(names[t])) != 0)
      t++;
    if (t == 4) {
      n = strcspn(p + 1, "{") + 1;
      ofctx__buf_append(&b, p, n);
      p += n;
      continue;
    }
    if (t == 0) {
      ofctx__uuid4(uuid);
      with = uuid;
    } else if (t == 1) {
      with = ofctx_config_pod_name(r->cfg);
    } else if (t == 2) {
      with = namespace_of(r->cfg);
      if (with) {
        snprintf(ns_id, sizeof ns_id, "%s.%s", with, r->set->app_id);
        with = ns_id;
      }
    } else {
      with = r->set->app_id;
    }
    if (!with || !*with) {
      ofctx__buf_free(&b);
      return ofctx__error(r->err, OFCTX_ECOMPONENT,
                          "%s: component \"%s\": metadata %s: %s needs %s", r->file, c->name, q,
                          names[t],
                          t == 1 ? "POD_NAME (the pod's name: the downward API gives it)"
                                 : "POD_NAMESPACE or NAMESPACE (the pod's namespace: the downward "
                                   "API gives it)");
    }
    ofctx__buf_puts(&b, with);
    p += strlen(names[t]);
  }
  if (ofctx__buf_reserve(&b, 0) != 0) { /* data set (and NUL-terminated) even when empty */
    ofctx__buf_free(&b);
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  }
  *out = b.data; /* the caller's now */
  return OFCTX_OK;
}

/* Metadata entry `item` of `c`: its key (Dapr reads keys without regard to
 * case; kept as the table spells it), and its value or its secretKeyRef.
 * The values are checked once the references are resolved (check_values). */
static ofctx_err_t read_entry(reader_t *r, ofctx__comp_t *c, yaml_document_t *doc,
                              yaml_node_t *item) {
  const char *name = scalar(map_get(doc, item, "name"));
  const char *value = scalar(map_get(doc, item, "value"));
  yaml_node_t *ref = map_get(doc, item, "secretKeyRef");
  char q[96];
  size_t k, i = c->count;

  if (!name)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": a spec.metadata entry has no name", r->file,
                        c->name);
  ofctx__quote(q, sizeof q, name);
  k = key_index(c, name);
  if (k == sizeof keys / sizeof keys[0])
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\" (%s): metadata %s is not implemented in direct mode "
                        "(docs/direct-mode.md lists what is)",
                        r->file, c->name, c->type, q);
  for (size_t j = 0; j < c->count; j++)
    if (strcmp(c->keys[j], keys[k].key) == 0)
      return ofctx__error(r->err, OFCTX_ECOMPONENT, "%s: component \"%s\": metadata %s given twice",
                          r->file, c->name, q);
  if (ref) {
    const char *ref_name = scalar(map_get(doc, ref, "name"));
    const char *ref_key = scalar(map_get(doc, ref, "key"));
    if (!ref_name || !*ref_name || value)
      return ofctx__error(r->err, OFCTX_ECOMPONENT,
                          "%s: component \"%s\": metadata %s: a secretKeyRef needs a name (and "
                          "its key), and no value beside it",
                          r->file, c->name, q);
    c->keys[i] = ofctx__strdup(keys[k].key);
    c->ref_names[i] = ofctx__strdup(ref_name);
    /* Dapr: a reference without a key reads the key of the secret's name */
    c->ref_keys[i] = ofctx__strdup(ref_key && *ref_key ? ref_key : ref_name);
    c->count++;
    if (!c->keys[i] || !c->ref_names[i] || !c->ref_keys[i])
      return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
    return OFCTX_OK;
  }
  if (!value)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": metadata %s has no value (a string)", r->file,
                        c->name, q);
  c->keys[i] = ofctx__strdup(keys[k].key);
  if (strchr(value, '{')) {
    ofctx_err_t rc = expand(r, c, q, value, &c->values[i]);
    if (rc != OFCTX_OK) {
      ofctx__free(c->keys[i]);
      return rc;
    }
  } else {
    c->values[i] = ofctx__strdup(value);
  }
  c->count++;
  if (!c->keys[i] || !c->values[i])
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  return OFCTX_OK;
}

/* Every value of `c` against its key's table entry, its references
 * resolved. A secret's value, or one read through a secretKeyRef, is never
 * printed. */
static ofctx_err_t check_values(const ofctx__comp_t *c, ofctx_error_t *err) {
  for (size_t i = 0; i < c->count; i++) {
    size_t k = key_index(c, c->keys[i]);
    char v[96];
    if (keys[k].ok(c->values[i]))
      continue;
    if (keys[k].secret || c->ref_names[i] || has_userinfo(c->values[i]))
      return ofctx__error(err, OFCTX_ECOMPONENT,
                          "%s: component \"%s\": metadata \"%s\": its value (not shown) is not %s",
                          c->file, c->name, c->keys[i], keys[k].expected);
    ofctx__quote(v, sizeof v, c->values[i]);
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": metadata \"%s\": %s is not %s", c->file, c->name,
                        c->keys[i], v, keys[k].expected);
  }
  return OFCTX_OK;
}

/* The secretKeyRefs of every component resolved, then every value
 * checked. */
static ofctx_err_t resolve_all(ofctx__comps_t *set, ofctx_error_t *err) {
  for (size_t n = 0; n < set->count; n++) {
    ofctx__comp_t *c = &set->items[n];
    ofctx_err_t rc;
    for (size_t i = 0; i < c->count; i++)
      if (c->ref_names[i] && (rc = ofctx__secret_read(set, c, i, &c->values[i], err)) != OFCTX_OK)
        return rc;
    if ((rc = check_values(c, err)) != OFCTX_OK)
      return rc;
  }
  return OFCTX_OK;
}

const char *ofctx__comp_auth_type(const ofctx__comp_t *c) {
  const char *type = ofctx__comp_value(c, "authType");

  if (type)
    return type;
  if (!ofctx__comp_true(c, "authRequired"))
    return "none";
  return ofctx__comp_value(c, "saslPassword") ? "password" : "mtls";
}

int ofctx__comp_true(const ofctx__comp_t *c, const char *key) {
  const char *v = ofctx__comp_value(c, key);
  return v && bool_of(v) == 1;
}

/* The authentication of a Kafka component, as Dapr's Kafka component
 * takes it: its authType (or, without one, what the deprecated
 * authRequired means: password with a saslPassword, else mtls), and the
 * keys that type needs. A key the type does not use is refused, never
 * ignored. */
static ofctx_err_t check_auth(const ofctx__comp_t *c, ofctx_error_t *err) {
  /* the keys each type uses; the others of this list are refused */
  static const char *const auth_keys[] = {
      "saslUsername", "saslPassword",      "saslMechanism", "caCert",           "clientCert",
      "clientKey",    "oidcTokenEndpoint", "oidcClientID",  "oidcClientSecret", "oidcScopes"};
  static const struct {
    const char *type;
    const char *uses;     /* its keys, each between spaces */
    const char *requires; /* the keys it cannot do without */
  } auth_types[] = {
      {"none", " ", ""},
      {"password", " saslUsername saslPassword saslMechanism caCert ",
       " saslUsername saslPassword "},
      /* Dapr's mtls loads the client's pair: without it, it fails to start */
      {"mtls", " clientCert clientKey caCert ", " clientCert clientKey "},
      {"certificate", " caCert ", " caCert "},
      {"oidc", " oidcTokenEndpoint oidcClientID oidcClientSecret oidcScopes caCert ",
       " oidcTokenEndpoint oidcClientID oidcClientSecret "},
  };
  const char *type = ofctx__comp_value(c, "authType");
  const char *required = ofctx__comp_value(c, "authRequired");
  const char *tls_off = ofctx__comp_value(c, "disableTls");
  const char *skip = ofctx__comp_value(c, "skipVerify");
  int no_tls = tls_off && bool_of(tls_off) == 1;
  char word[32];
  size_t t;

  if (!type)
    type = ofctx__comp_auth_type(c);
  else if (required && (bool_of(required) == 1) != (strcmp(type, "none") != 0))
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": metadata \"authRequired\" %s contradicts "
                        "authType \"%s\" (authRequired is deprecated: give authType alone)",
                        c->file, c->name, required, type);
  for (t = 0; strcmp(auth_types[t].type, type) != 0; t++)
    ;
  for (size_t k = 0; k < sizeof auth_keys / sizeof auth_keys[0]; k++) {
    int present = 0;
    for (size_t i = 0; i < c->count; i++)
      present |= strcmp(c->keys[i], auth_keys[k]) == 0;
    snprintf(word, sizeof word, " %s ", auth_keys[k]);
    if (present && !strstr(auth_types[t].uses, word))
      return ofctx__error(err, OFCTX_ECOMPONENT,
                          "%s: component \"%s\": metadata \"%s\" is not used by authType \"%s\"%s",
                          c->file, c->name, auth_keys[k], type,
                          strcmp(type, "none") == 0 ? " (which speaks plaintext, as Dapr does)"
                                                    : "");
    if (!present && strstr(auth_types[t].requires, word))
      return ofctx__error(err, OFCTX_ECOMPONENT,
                          "%s: component \"%s\": authType \"%s\" needs metadata \"%s\"", c->file,
                          c->name, type, auth_keys[k]);
  }
  if (no_tls && (strcmp(type, "mtls") == 0 || strcmp(type, "certificate") == 0))
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": authType \"%s\" is TLS: metadata \"disableTls\" "
                        "cannot be true",
                        c->file, c->name, type);
  if ((no_tls || strcmp(type, "none") == 0) &&
      (ofctx__comp_value(c, "caCert") || (skip && bool_of(skip) == 1)))
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": metadata \"%s\" has no use without TLS (authType "
                        "\"%s\"%s)",
                        c->file, c->name, ofctx__comp_value(c, "caCert") ? "caCert" : "skipVerify",
                        type, no_tls ? ", disableTls true" : "");
  return OFCTX_OK;
}

/* The keys a type cannot do without as an input (`output` 0) or an
 * output (1). */
static ofctx_err_t check_required(const ofctx__comp_t *c, int output, ofctx_error_t *err) {
  const char *missing = NULL;

  if (c->type_id != OFCTX__COMP_HTTP_BINDING && !ofctx__comp_value(c, "brokers"))
    missing = "brokers";
  else if (c->type_id == OFCTX__COMP_KAFKA_BINDING && !output && !ofctx__comp_value(c, "topics"))
    missing = "topics";
  else if (c->type_id == OFCTX__COMP_KAFKA_BINDING && !output &&
           !ofctx__comp_value(c, "consumerGroup"))
    missing = "consumerGroup";
  else if (c->type_id == OFCTX__COMP_KAFKA_BINDING && output &&
           !ofctx__comp_value(c, "publishTopic"))
    missing = "publishTopic";
  else if (c->type_id == OFCTX__COMP_KAFKA_PUBSUB && !output &&
           !ofctx__comp_value(c, "consumerGroup") && !ofctx__comp_value(c, "consumerID"))
    missing = "consumerGroup (or consumerID)";
  else if (c->type_id == OFCTX__COMP_HTTP_BINDING && !ofctx__comp_value(c, "url"))
    missing = "url";
  if (missing)
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\" (%s): metadata \"%s\" is required in direct mode%s",
                        c->file, c->name, c->type, missing, output ? " for an output" : "");
  return c->type_id == OFCTX__COMP_HTTP_BINDING ? OFCTX_OK : check_auth(c, err);
}

/* Whether the context names component `name`. */
static int named(const ofctx_config_t *cfg, const char *name) {
  for (size_t i = 0; i < ofctx_config_input_count(cfg); i++)
    if (strcmp(ofctx_component_dapr_name(ofctx_config_input_at(cfg, i)), name) == 0)
      return 1;
  for (size_t i = 0; i < ofctx_config_output_count(cfg); i++)
    if (strcmp(ofctx_component_dapr_name(ofctx_config_output_at(cfg, i)), name) == 0)
      return 1;
  return 0;
}

/* A secret store of the directory, kept as given: it is read only when a
 * component's auth.secretStore names it. */
static ofctx_err_t keep_store(reader_t *r, yaml_document_t *doc, yaml_node_t *spec,
                              const char *name, const char *type) {
  ofctx__comps_t *set = r->set;
  yaml_node_t *md = map_get(doc, spec, "metadata");
  ofctx__secret_store_t *grown, *st;
  size_t n = md && md->type == YAML_SEQUENCE_NODE
                 ? (size_t)(md->data.sequence.items.top - md->data.sequence.items.start)
                 : 0;

  grown = ofctx__realloc(set->stores, (set->store_count + 1) * sizeof *set->stores);
  if (!grown)
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  set->stores = grown;
  st = &set->stores[set->store_count++];
  memset(st, 0, sizeof *st);
  st->file = ofctx__strdup(r->file);
  st->name = ofctx__strdup(name);
  st->type = ofctx__strdup(type);
  st->keys = ofctx__calloc(n ? n : 1, sizeof *st->keys);
  st->values = ofctx__calloc(n ? n : 1, sizeof *st->values);
  if (!st->file || !st->name || !st->type || !st->keys || !st->values)
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *item = yaml_document_get_node(doc, md->data.sequence.items.start[i]);
    const char *key = scalar(map_get(doc, item, "name"));
    const char *value = scalar(map_get(doc, item, "value"));
    if (!key)
      continue; /* refused if the store is used: its keys are checked then */
    st->keys[st->count] = ofctx__strdup(key);
    st->values[st->count] = value ? ofctx__strdup(value) : NULL;
    st->count++;
    if (!st->keys[st->count - 1] || (value && !st->values[st->count - 1]))
      return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  }
  return OFCTX_OK;
}

static void store_clear(ofctx__secret_store_t *st) {
  for (size_t i = 0; i < st->count; i++) {
    ofctx__free(st->keys[i]);
    ofctx__free(st->values[i]);
  }
  ofctx__free(st->keys);
  ofctx__free(st->values);
  ofctx__free(st->file);
  ofctx__free(st->name);
  ofctx__free(st->type);
}

/* One YAML document of a file: a Component the context names is checked
 * and kept; one it does not name is left alone (a sidecar would load it,
 * but nothing here would use it). */
static ofctx_err_t read_document(reader_t *r, const ofctx_config_t *cfg, yaml_document_t *doc) {
  yaml_node_t *root = yaml_document_get_root_node(doc);
  const char *kind = scalar(map_get(doc, root, "kind"));
  const char *api = scalar(map_get(doc, root, "apiVersion"));
  const char *name = scalar(map_get(doc, map_get(doc, root, "metadata"), "name"));
  yaml_node_t *spec = map_get(doc, root, "spec"), *md;
  const char *type = scalar(map_get(doc, spec, "type"));
  const char *store;
  ofctx__comps_t *set = r->set;
  ofctx__comp_t *c, *grown;
  ofctx_err_t rc;
  size_t t, n;

  if (!root || !kind || !api || strcmp(api, "dapr.io/v1alpha1") != 0)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: not a Dapr resource (apiVersion dapr.io/v1alpha1 and a kind)",
                        r->file);
  if (strcmp(kind, "Component") != 0)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: kind \"%.64s\": only Components are implemented in direct mode "
                        "(docs/direct-mode.md)",
                        r->file, kind);
  if (!name || !type)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: a Component needs metadata.name and spec.type", r->file);
  if (strncmp(type, "secretstores.", 13) == 0)
    return keep_store(r, doc, spec, name, type);
  if (!named(cfg, name))
    return OFCTX_OK;
  for (size_t i = 0; i < set->count; i++)
    if (strcmp(set->items[i].name, name) == 0)
      return ofctx__error(r->err, OFCTX_ECOMPONENT, "%s: component \"%s\" is defined in %s already",
                          r->file, name, set->items[i].file);
  for (t = 0; t < sizeof types / sizeof types[0]; t++)
    if (strcmp(types[t].name, type) == 0)
      break;
  if (t == sizeof types / sizeof types[0])
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": type \"%.64s\" is not implemented in direct mode "
                        "(bindings.kafka, pubsub.kafka, bindings.http are)",
                        r->file, name, type);
  grown = ofctx__realloc(set->items, (set->count + 1) * sizeof *set->items);
  if (!grown)
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  set->items = grown;
  c = &set->items[set->count++];
  memset(c, 0, sizeof *c);
  c->type_id = types[t].id;
  c->file = ofctx__strdup(r->file);
  c->name = ofctx__strdup(name);
  c->type = ofctx__strdup(type);
  md = map_get(doc, spec, "metadata");
  n = md && md->type == YAML_SEQUENCE_NODE
          ? (size_t)(md->data.sequence.items.top - md->data.sequence.items.start)
          : 0;
  c->keys = ofctx__calloc(n ? n : 1, sizeof *c->keys);
  c->values = ofctx__calloc(n ? n : 1, sizeof *c->values);
  c->ref_names = ofctx__calloc(n ? n : 1, sizeof *c->ref_names);
  c->ref_keys = ofctx__calloc(n ? n : 1, sizeof *c->ref_keys);
  store = scalar(map_get(doc, map_get(doc, root, "auth"), "secretStore"));
  c->secret_store = store && *store ? ofctx__strdup(store) : NULL;
  if (!c->file || !c->name || !c->type || !c->keys || !c->values || !c->ref_names || !c->ref_keys ||
      (store && *store && !c->secret_store))
    return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
  if (md && md->type != YAML_SEQUENCE_NODE)
    return ofctx__error(r->err, OFCTX_ECOMPONENT,
                        "%s: component \"%s\": spec.metadata is not a list", r->file, name);
  for (size_t i = 0; i < n; i++) {
    rc = read_entry(r, c, doc, yaml_document_get_node(doc, md->data.sequence.items.start[i]));
    if (rc != OFCTX_OK)
      return rc;
  }
  return OFCTX_OK;
}

/* Every document of file `path`. */
static ofctx_err_t read_file(reader_t *r, const ofctx_config_t *cfg, const char *path) {
  FILE *f = fopen(path, "rb");
  yaml_parser_t parser;
  ofctx_err_t rc = OFCTX_OK;

  if (!f)
    return ofctx__error(r->err, OFCTX_EIO, "%s: %s", r->file, strerror(errno));
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  while (rc == OFCTX_OK) {
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
      rc = ofctx__error(r->err, OFCTX_ECOMPONENT, "%s: line %zu: %s", r->file,
                        parser.problem_mark.line + 1, parser.problem ? parser.problem : "bad YAML");
      break;
    }
    if (!yaml_document_get_root_node(&doc)) { /* the end of the stream */
      yaml_document_delete(&doc);
      break;
    }
    rc = read_document(r, cfg, &doc);
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(f);
  return rc;
}

/* ---- the directory ---- */

static int yaml_name(const char *name) {
  size_t len = strlen(name);
  return name[0] != '.' && ((len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
                            (len > 4 && strcmp(name + len - 4, ".yml") == 0));
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The YAML files of `dir`, sorted, into `*names` (`*count` of them). */
static ofctx_err_t list_dir(const char *dir, char ***names, size_t *count, ofctx_error_t *err) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **list = NULL;
  size_t n = 0;

  *names = NULL;
  *count = 0;
  if (!d)
    return ofctx__error(err, OFCTX_EIO, "OFCTX_RESOURCES_PATH: %s: %s", dir, strerror(errno));
  while ((e = readdir(d)) != NULL) {
    char **grown;
    if (!yaml_name(e->d_name))
      continue;
    grown = ofctx__realloc(list, (n + 1) * sizeof *list);
    if (!grown || !(grown[n] = ofctx__strdup(e->d_name))) {
      list = grown ? grown : list;
      while (n > 0)
        ofctx__free(list[--n]);
      ofctx__free(list);
      closedir(d);
      return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    }
    list = grown;
    n++;
  }
  closedir(d);
  if (n)
    qsort(list, n, sizeof *list, by_name);
  *names = list;
  *count = n;
  return OFCTX_OK;
}

/* The component of each input and output: named, and of a type that fits
 * its place. */
static ofctx_err_t match(ofctx__comps_t *set, const char *dir, const ofctx_config_t *cfg,
                         ofctx_error_t *err) {
  ofctx_err_t rc;

  set->input_count = ofctx_config_input_count(cfg);
  set->output_count = ofctx_config_output_count(cfg);
  set->inputs = ofctx__calloc(set->input_count + 1, sizeof *set->inputs);
  set->outputs = ofctx__calloc(set->output_count + 1, sizeof *set->outputs);
  if (!set->inputs || !set->outputs)
    return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
  for (size_t io = 0; io < 2; io++) {
    size_t n = io ? set->output_count : set->input_count;
    for (size_t i = 0; i < n; i++) {
      const ofctx_component_t *in =
          io ? ofctx_config_output_at(cfg, i) : ofctx_config_input_at(cfg, i);
      const char *want = ofctx_component_dapr_name(in);
      const ofctx__comp_t *c = NULL;
      for (size_t k = 0; k < set->count && !c; k++)
        if (strcmp(set->items[k].name, want) == 0)
          c = &set->items[k];
      if (!c)
        return ofctx__error(err, OFCTX_ECOMPONENT,
                            "OFCTX_RESOURCES_PATH: no Component named \"%s\" (the %s \"%s\" of the "
                            "function context) in %s",
                            want, io ? "output" : "input", ofctx_component_name(in), dir);
      if (strcmp(c->type, ofctx_component_type(in)) != 0)
        return ofctx__error(err, OFCTX_ECOMPONENT,
                            "%s: component \"%s\" is of type %s, the function context says %s",
                            c->file, c->name, c->type, ofctx_component_type(in));
      if (!io && c->type_id == OFCTX__COMP_HTTP_BINDING)
        return ofctx__error(err, OFCTX_ECOMPONENT,
                            "%s: component \"%s\": %s as an %s is not implemented in direct mode",
                            c->file, c->name, c->type, io ? "output" : "input");
      rc = check_required(c, (int)io, err);
      if (rc != OFCTX_OK)
        return rc;
      if (io)
        set->outputs[i] = c;
      else
        set->inputs[i] = c;
    }
  }
  return OFCTX_OK;
}

ofctx_err_t ofctx__comps_load(ofctx__comps_t *set, const char *dir, const ofctx_config_t *cfg,
                              ofctx_error_t *err) {
  reader_t r = {set, NULL, err, cfg};
  char **names, id[512];
  size_t n;
  ofctx_err_t rc;

  memset(set, 0, sizeof *set);
  if (ofctx_config_state_count(cfg) > 0)
    return ofctx__error(err, OFCTX_ECOMPONENT,
                        "state stores are not implemented in direct mode (the function context "
                        "names %zu)",
                        ofctx_config_state_count(cfg));
  if (!(set->app_id = ofctx__strdup(app_id(cfg, id, sizeof id))))
    return ofctx__error(err, OFCTX_ENOMEM, "out of memory");
  rc = list_dir(dir, &names, &n, err);
  for (size_t i = 0; rc == OFCTX_OK && i < n; i++) {
    size_t len = strlen(dir) + strlen(names[i]) + 2;
    char *path = ofctx__malloc(len);
    if (!path) {
      rc = ofctx__error(err, OFCTX_ENOMEM, "out of memory");
      break;
    }
    snprintf(path, len, "%s/%s", dir, names[i]);
    r.file = path;
    rc = read_file(&r, cfg, path);
    ofctx__free(path);
  }
  for (size_t i = 0; i < n; i++)
    ofctx__free(names[i]);
  ofctx__free(names);
  if (rc == OFCTX_OK)
    rc = resolve_all(set, err);
  if (rc == OFCTX_OK)
    rc = match(set, dir, cfg, err);
  if (rc != OFCTX_OK)
    ofctx__comps_free(set);
  return rc;
}

void ofctx__comps_free(ofctx__comps_t *set) {
  for (size_t i = 0; i < set->count; i++)
    comp_clear(&set->items[i]);
  for (size_t i = 0; i < set->store_count; i++)
    store_clear(&set->stores[i]);
  ofctx__free(set->stores);
  ofctx__free(set->items);
  ofctx__free(set->inputs);
  ofctx__free(set->outputs);
  ofctx__free(set->app_id);
  memset(set, 0, sizeof *set);
}
