/* The context document (FUNC_CONTEXT v1beta1 or v1beta2 shape) → the
 * normalized document. Every check names the JSON path of what it rejects and
 * keeps the Go framework's wording where that has one. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "error.h"
#include "json_util.h"

typedef struct {
  const char *source;
  const ofctx__env_t *env;
  ofctx_error_t *err;
} parser_t;

typedef enum { ROLE_INPUT, ROLE_OUTPUT, ROLE_STATE } role_t;

/* The member names one shape of component entry uses. */
typedef struct {
  const char *name;  /* the Dapr component's name */
  const char *type;  /* bindings.* / pubsub.* / state.* */
  const char *topic; /* where a pub/sub entry keeps its topic */
} fields_t;

static const fields_t V1BETA1_FIELDS = {"componentName", "componentType", "uri"};
static const fields_t V1BETA2_FIELDS = {"componentName", "componentType", "topic"};
static const fields_t TRIGGER_FIELDS = {"name", "type", "topic"};

static ofctx_err_t bad(parser_t *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ofctx_err_t bad(parser_t *p, const char *path, const char *fmt, ...) {
  char why[OFCTX_ERROR_MESSAGE_SIZE];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return ofctx__error(p->err, OFCTX_ECONTEXT, "%s: %s: %s", p->source, path, why);
}

static ofctx_err_t nomem(parser_t *p) {
  return ofctx__error(p->err, OFCTX_ENOMEM, "%s: out of memory", p->source);
}

static ofctx_err_t type_error(parser_t *p, const char *path, const char *expected,
                              const json_t *got) {
  return bad(p, path, "expected %s, got %s", expected, ofctx__json_kind(got));
}

/* json_object_set_new that reports failure (out of memory) as nonzero. */
static int put(json_t *obj, const char *key, json_t *value) {
  return value == NULL || json_object_set_new(obj, key, value) != 0;
}

static json_t *string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static int has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 1;
  return 0;
}

/* The member `key` of `obj` as a string; absent or null leaves *out NULL. */
static ofctx_err_t opt_string(parser_t *p, const json_t *obj, const char *parent,
                              const char *key, const char **out) {
  json_t *v = ofctx__json_member(obj, key);
  char path[OFCTX_PATH_SIZE];

  *out = NULL;
  if (!v || json_is_null(v))
    return OFCTX_OK;
  if (!json_is_string(v)) {
    ofctx__json_path(path, sizeof path, parent, key);
    return type_error(p, path, "a string", v);
  }
  *out = json_string_value(v);
  return OFCTX_OK;
}

/* Like opt_string, but absent, null and "" are errors saying `what`. */
static ofctx_err_t req_string(parser_t *p, const json_t *obj, const char *parent,
                              const char *key, const char *what, const char **out) {
  char path[OFCTX_PATH_SIZE];
  ofctx_err_t rc = opt_string(p, obj, parent, key, out);

  if (rc != OFCTX_OK)
    return rc;
  if (!*out || !**out) {
    ofctx__json_path(path, sizeof path, parent, key);
    return bad(p, path, "%s; %s", *out ? "is empty" : "missing", what);
  }
  return OFCTX_OK;
}

/* Text that goes into the sidecar's URLs or headers: no control bytes and
 * none of `forbidden`; `noun` says what the text is, for the message. */
static ofctx_err_t check_text(parser_t *p, const char *parent, const char *key,
                              const char *value, const char *forbidden, const char *noun) {
  char path[OFCTX_PATH_SIZE];
  char quoted[OFCTX_QUOTE_SIZE];
  const char *bad_char;

  if (!value)
    return OFCTX_OK;
  ofctx__json_path(path, sizeof path, parent, key);
  ofctx__quote(quoted, sizeof quoted, value);
  if (has_control(value))
    return bad(p, path, "%s contains a control character, which cannot be in %s", quoted, noun);
  bad_char = strpbrk(value, forbidden);
  if (bad_char)
    return bad(p, path, "%s contains \"%c\", which cannot be in %s", quoted, *bad_char, noun);
  return OFCTX_OK;
}

static ofctx_err_t parse_port(parser_t *p, const json_t *v, const char *path, long *out) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!v || json_is_null(v))
    return OFCTX_OK;
  if (json_is_string(v)) {
    if (ofctx__port_parse(json_string_value(v), out) == 0)
      return OFCTX_OK;
    ofctx__quote(quoted, sizeof quoted, json_string_value(v));
    return bad(p, path, "error parsing port: %s is not a port number (1-65535)", quoted);
  }
  if (json_is_integer(v)) {
    json_int_t n = json_integer_value(v);
    if (n >= 1 && n <= 65535) {
      *out = (long)n;
      return OFCTX_OK;
    }
    return bad(p, path, "error parsing port: %" JSON_INTEGER_FORMAT
               " is not a port number (1-65535)", n);
  }
  if (json_is_real(v))
    return bad(p, path, "error parsing port: %g is not a port number (1-65535)",
               json_real_value(v));
  return bad(p, path, "error parsing port: expected a string or a number, got %s",
             ofctx__json_kind(v));
}

/* A copy of an object whose values must all be strings; absent/null → {}. */
static ofctx_err_t string_map(parser_t *p, const json_t *v, const char *path, json_t **out) {
  const char *key;
  json_t *value;
  char sub[OFCTX_PATH_SIZE];

  *out = json_object();
  if (!*out)
    return nomem(p);
  if (!v || json_is_null(v))
    return OFCTX_OK;
  if (!json_is_object(v))
    return type_error(p, path, "an object of strings", v);
  json_object_foreach((json_t *)v, key, value) {
    if (!json_is_string(value)) {
      ofctx__json_path(sub, sizeof sub, path, key);
      return type_error(p, sub, "a string", value);
    }
    if (json_object_set(*out, key, value))
      return nomem(p);
  }
  return OFCTX_OK;
}

/* A copy of an array whose items must all be non-empty strings. */
static ofctx_err_t string_list(parser_t *p, const json_t *v, const char *path, json_t **out) {
  size_t i;
  json_t *item;
  char sub[OFCTX_PATH_SIZE];

  *out = json_array();
  if (!*out)
    return nomem(p);
  if (!v || json_is_null(v))
    return OFCTX_OK;
  if (!json_is_array(v))
    return type_error(p, path, "an array of strings", v);
  json_array_foreach(v, i, item) {
    ofctx__json_index(sub, sizeof sub, path, i);
    if (!json_is_string(item))
      return type_error(p, sub, "a string", item);
    if (!*json_string_value(item))
      return bad(p, sub, "is empty; a plugin needs a name");
    if (json_array_append(*out, item))
      return nomem(p);
  }
  return OFCTX_OK;
}

static int list_has(const json_t *list, const char *s) {
  size_t i;
  json_t *item;

  json_array_foreach(list, i, item) {
    if (strcmp(json_string_value(item), s) == 0)
      return 1;
  }
  return 0;
}

/* componentType: "<block>.<kind>" where the block fits the entry's role. The
 * Go framework's messages ("invalid component type", "unknown component
 * type: x") are kept in parentheses. */
static ofctx_err_t check_type(parser_t *p, const char *parent, const char *key,
                              const char *type, role_t role) {
  char path[OFCTX_PATH_SIZE];
  char quoted[OFCTX_QUOTE_SIZE];
  const char *dot = strchr(type, '.');
  const char *expected = role == ROLE_STATE ? "state.*" : "bindings.* or pubsub.*";
  int block_ok;

  ofctx__json_path(path, sizeof path, parent, key);
  ofctx__quote(quoted, sizeof quoted, type);
  if (!dot)
    return bad(p, path, "%s is not %s (invalid component type)", quoted, expected);
  if (role == ROLE_STATE)
    block_ok = strncmp(type, "state.", 6) == 0;
  else
    block_ok = strncmp(type, "bindings.", 9) == 0 || strncmp(type, "pubsub.", 7) == 0;
  if (!block_ok)
    return bad(p, path, "%s is not %s (unknown component type: %.*s)", quoted, expected,
               (int)(dot - type > 32 ? 32 : dot - type), type);
  if (!dot[1] || has_control(dot + 1))
    return bad(p, path, "%s names no component kind after the \".\"", quoted);
  return OFCTX_OK;
}

static ofctx_err_t missing_name_or_type(parser_t *p, const json_t *entry, const char *path,
                                        const fields_t *f, const char *key, const char *what,
                                        const char **out) {
  /* Context spec v0.2.0 (OpenFunction 0.4/0.5) spelled these "component" and
   * "type": say so rather than only "missing". */
  if (f == &V1BETA1_FIELDS && !ofctx__json_member(entry, key) &&
      (ofctx__json_member(entry, "component") || ofctx__json_member(entry, "type"))) {
    char sub[OFCTX_PATH_SIZE];
    ofctx__json_path(sub, sizeof sub, path, key);
    return bad(p, sub,
               "missing; the keys \"component\" and \"type\" of context spec v0.2.0 "
               "are not read, use \"componentName\" and \"componentType\"");
  }
  return req_string(p, entry, path, key, what, out);
}

/* One input, output or state entry → its normalized object in `dst`. */
static ofctx_err_t parse_component(parser_t *p, const char *name, const json_t *entry,
                                   const char *path, role_t role, const fields_t *f,
                                   json_t *dst) {
  const char *component_name, *type, *topic = NULL, *uri = NULL, *operation = NULL;
  json_t *metadata = NULL;
  json_t *out;
  ofctx_err_t rc;

  if (!json_is_object(entry))
    return type_error(p, path, "an object", entry);
  if ((rc = missing_name_or_type(p, entry, path, f, f->name,
                                 "the Dapr component's name is required",
                                 &component_name)) != OFCTX_OK ||
      (rc = check_text(p, path, f->name, component_name, "/\\?#% ",
                       "a Dapr component name")) != OFCTX_OK)
    return rc;
  if (strcmp(component_name, ".") == 0 || strcmp(component_name, "..") == 0) {
    char sub[OFCTX_PATH_SIZE];
    ofctx__json_path(sub, sizeof sub, path, f->name);
    return bad(p, sub, "\"%s\" is not a component name", component_name);
  }
  if ((rc = missing_name_or_type(p, entry, path, f, f->type,
                                 role == ROLE_STATE
                                     ? "a state store needs its type (state.*)"
                                     : "a component type (bindings.* or pubsub.*) is required",
                                 &type)) != OFCTX_OK ||
      (rc = check_type(p, path, f->type, type, role)) != OFCTX_OK)
    return rc;

  if (role == ROLE_STATE) {
    out = json_pack("{s:s,s:s}", "componentName", component_name, "componentType", type);
    return put(dst, name, out) ? nomem(p) : OFCTX_OK;
  }

  if (strncmp(type, "pubsub.", 7) == 0) {
    if ((rc = opt_string(p, entry, path, f->topic, &topic)) != OFCTX_OK)
      return rc;
    if (topic && !*topic)
      topic = NULL;
    if (!topic && role == ROLE_INPUT) {
      char sub[OFCTX_PATH_SIZE];
      ofctx__json_path(sub, sizeof sub, path, f->topic);
      return bad(p, sub, "missing; a pubsub input needs its topic in \"%s\"", f->topic);
    }
    if ((rc = check_text(p, path, f->topic, topic, "?#", "a topic")) != OFCTX_OK)
      return rc;
    uri = topic;
  } else {
    /* Bindings: the uri is the component name unless the context says
     * otherwise (v1beta1 only; v1beta2 has no uri). */
    if (f == &V1BETA1_FIELDS && (rc = opt_string(p, entry, path, "uri", &uri)) != OFCTX_OK)
      return rc;
    if (!uri || !*uri)
      uri = component_name;
    if ((rc = check_text(p, path, "uri", uri, "?#", "a binding uri")) != OFCTX_OK)
      return rc;
  }
  if (role == ROLE_OUTPUT &&
      ((rc = opt_string(p, entry, path, "operation", &operation)) != OFCTX_OK ||
       (rc = check_text(p, path, "operation", operation, "", "an operation")) != OFCTX_OK))
    return rc;
  if (operation && !*operation)
    operation = NULL;
  {
    char sub[OFCTX_PATH_SIZE];
    ofctx__json_path(sub, sizeof sub, path, "metadata");
    if ((rc = string_map(p, ofctx__json_member(entry, "metadata"), sub, &metadata)) !=
        OFCTX_OK) {
      json_decref(metadata);
      return rc;
    }
  }
  out = json_pack("{s:s,s:s,s:o,s:o,s:o}", "componentName", component_name, "componentType",
                  type, "uri", string_or_null(uri), "metadata", metadata, "operation",
                  string_or_null(operation));
  return put(dst, name, out) ? nomem(p) : OFCTX_OK;
}

static const char *role_noun(role_t role) {
  return role == ROLE_INPUT ? "input" : role == ROLE_OUTPUT ? "output" : "state store";
}

/* A map of entries (inputs, outputs, states) into `dst`. */
static ofctx_err_t parse_components(parser_t *p, const json_t *map, const char *path,
                                    role_t role, const fields_t *f, json_t *dst) {
  const char *key;
  json_t *entry;
  char sub[OFCTX_PATH_SIZE];
  ofctx_err_t rc;

  if (!map || json_is_null(map))
    return OFCTX_OK;
  if (!json_is_object(map)) {
    char expected[64];
    snprintf(expected, sizeof expected, "an object of %ss", role_noun(role));
    return type_error(p, path, expected, map);
  }
  json_object_foreach((json_t *)map, key, entry) {
    ofctx__json_path(sub, sizeof sub, path, key);
    if (!*key)
      return bad(p, sub, "an %s needs a non-empty name", role_noun(role));
    if ((rc = parse_component(p, key, entry, sub, role, f, dst)) != OFCTX_OK)
      return rc;
  }
  return OFCTX_OK;
}

static ofctx_err_t parse_bool(parser_t *p, const json_t *v, const char *path, int *out) {
  if (!v || json_is_null(v))
    return OFCTX_OK;
  if (!json_is_boolean(v))
    return type_error(p, path, "a boolean", v);
  *out = json_is_true(v);
  return OFCTX_OK;
}

/* pluginsTracing (v1beta1) or tracing (v1beta2) → doc.tracing, adding the
 * provider to the plugin lists the way the Go framework does. */
static ofctx_err_t parse_tracing(parser_t *p, const json_t *t, const char *path,
                                 const char *fn_name, json_t *doc) {
  json_t *pre = json_object_get(doc, "prePlugins");
  json_t *post = json_object_get(doc, "postPlugins");
  const json_t *provider, *tags_in;
  const char *provider_name, *oap_server;
  json_t *exporter = NULL, *tags = NULL, *baggage = NULL, *out;
  char sub[OFCTX_PATH_SIZE], quoted[OFCTX_QUOTE_SIZE];
  int enabled = 0;
  ofctx_err_t rc;
  const json_t *flag;

  if (t && !json_is_null(t) && !json_is_object(t))
    return type_error(p, path, "an object", t);
  /* "enable" is how context spec v0.3.0 spelled the flag. */
  flag = ofctx__json_member(t, "enabled");
  ofctx__json_path(sub, sizeof sub, path, "enabled");
  if (!flag) {
    flag = ofctx__json_member(t, "enable");
    ofctx__json_path(sub, sizeof sub, path, "enable");
  }
  if ((rc = parse_bool(p, flag, sub, &enabled)) != OFCTX_OK)
    return rc;
  if (!enabled) {
    out = json_pack("{s:b,s:n,s:{},s:{}}", "enabled", 0, "provider", "tags", "baggage");
    return put(doc, "tracing", out) ? nomem(p) : OFCTX_OK;
  }

  provider = ofctx__json_member(t, "provider");
  ofctx__json_path(sub, sizeof sub, path, "provider");
  if (provider && !json_is_null(provider) && !json_is_object(provider))
    return type_error(p, sub, "an object", provider);
  if ((rc = opt_string(p, provider, sub, "name", &provider_name)) != OFCTX_OK ||
      (rc = opt_string(p, provider, sub, "oapServer", &oap_server)) != OFCTX_OK)
    return rc;
  if (!provider_name || !*provider_name) {
    char name_path[OFCTX_PATH_SIZE];
    ofctx__json_path(name_path, sizeof name_path, sub, "name");
    return bad(p, name_path,
               "the tracing plugin is enabled, but its configuration is incorrect: "
               "a provider name (\"skywalking\" or \"opentelemetry\") is required");
  }
  if (strcmp(provider_name, "skywalking") != 0 && strcmp(provider_name, "opentelemetry") != 0) {
    char name_path[OFCTX_PATH_SIZE];
    ofctx__json_path(name_path, sizeof name_path, sub, "name");
    ofctx__quote(quoted, sizeof quoted, provider_name);
    return bad(p, name_path,
               "invalid tracing provider name: %s (expected \"skywalking\" or "
               "\"opentelemetry\")",
               quoted);
  }
  {
    char exp_path[OFCTX_PATH_SIZE];
    const json_t *exp_in = ofctx__json_member(provider, "exporter");
    ofctx__json_path(exp_path, sizeof exp_path, sub, "exporter");
    if (exp_in && !json_is_null(exp_in) &&
        (rc = string_map(p, exp_in, exp_path, &exporter)) != OFCTX_OK)
      goto done;
  }
  tags_in = ofctx__json_member(t, "tags");
  ofctx__json_path(sub, sizeof sub, path, "tags");
  if ((rc = string_map(p, tags_in, sub, &tags)) != OFCTX_OK)
    goto done;
  ofctx__json_path(sub, sizeof sub, path, "baggage");
  if ((rc = string_map(p, ofctx__json_member(t, "baggage"), sub, &baggage)) != OFCTX_OK)
    goto done;
  /* As the Go framework: tags, when given, always carry the function and pod. */
  if (tags_in && !json_is_null(tags_in) &&
      (put(tags, "func", json_string(fn_name)) ||
       put(tags, "instance", json_string(p->env->pod_name ? p->env->pod_name : "")) ||
       put(tags, "namespace",
           json_string(p->env->pod_namespace ? p->env->pod_namespace : "")))) {
    rc = nomem(p);
    goto done;
  }
  if ((!list_has(pre, provider_name) && json_array_append_new(pre, json_string(provider_name))) ||
      (!list_has(post, provider_name) &&
       json_array_insert_new(post, 0, json_string(provider_name)))) {
    rc = nomem(p);
    goto done;
  }
  out = json_pack("{s:b,s:{s:s,s:o,s:o},s:O,s:O}", "enabled", 1, "provider", "name",
                  provider_name, "oapServer", string_or_null(oap_server), "exporter",
                  exporter ? json_incref(exporter) : json_null(), "tags", tags, "baggage",
                  baggage);
  rc = put(doc, "tracing", out) ? nomem(p) : OFCTX_OK;
done:
  json_decref(exporter);
  json_decref(tags);
  json_decref(baggage);
  return rc;
}

/* runtime: "Knative" or "Async" in any case; "OpenFuncAsync" is the name
 * OpenFunction 0.3-0.5 used for Async. */
static ofctx_err_t parse_runtime(parser_t *p, const json_t *v, const char **out) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (!v || json_is_null(v))
    return bad(p, "$.runtime", "invalid runtime: missing; set \"Knative\" or \"Async\"");
  if (!json_is_string(v))
    return bad(p, "$.runtime", "invalid runtime: expected a string, got %s",
               ofctx__json_kind(v));
  if (strcasecmp(json_string_value(v), "Knative") == 0) {
    *out = "Knative";
    return OFCTX_OK;
  }
  if (strcasecmp(json_string_value(v), "Async") == 0 ||
      strcasecmp(json_string_value(v), "OpenFuncAsync") == 0) {
    *out = "Async";
    return OFCTX_OK;
  }
  ofctx__quote(quoted, sizeof quoted, json_string_value(v));
  return bad(p, "$.runtime", "invalid runtime: %s (expected \"Knative\" or \"Async\")", quoted);
}

/* What both shapes share, written into `doc` in the order of the output:
 * name, version, requestID, runtime (placeholder), port (placeholder),
 * httpPattern, then placeholders for the environment's part. */
static ofctx_err_t parse_head(parser_t *p, const json_t *root, json_t *doc) {
  const char *name, *version, *request_id, *pattern;
  ofctx_err_t rc;

  if ((rc = req_string(p, root, "$", "name", "the function needs a name", &name)) != OFCTX_OK ||
      (rc = check_text(p, "$", "name", name, "", "a function name")) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "version", &version)) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "requestID", &request_id)) != OFCTX_OK ||
      (rc = opt_string(p, root, "$", "httpPattern", &pattern)) != OFCTX_OK)
    return rc;
  if (pattern && (pattern[0] != '/' || has_control(pattern))) {
    char quoted[OFCTX_QUOTE_SIZE];
    ofctx__quote(quoted, sizeof quoted, pattern);
    return bad(p, "$.httpPattern", "%s is not a path: it must start with \"/\"", quoted);
  }
  if (put(doc, "name", json_string(name)) || put(doc, "version", json_string(version ? version : "")) ||
      put(doc, "requestID", string_or_null(request_id)) || put(doc, "runtime", json_null()) ||
      put(doc, "port", json_integer(8080)) ||
      put(doc, "httpPattern", json_string(pattern && *pattern ? pattern : "/")) ||
      put(doc, "mode", json_null()) || put(doc, "pod", json_null()) ||
      put(doc, "dapr", json_null()) || put(doc, "appApiTokenSet", json_false()) ||
      put(doc, "inputs", json_object()) || put(doc, "outputs", json_object()) ||
      put(doc, "states", json_object()))
    return nomem(p);
  return OFCTX_OK;
}

/* prePlugins/postPlugins (v1beta1) or preHooks/postHooks (v1beta2). */
static ofctx_err_t parse_plugins(parser_t *p, const json_t *root, const char *pre_key,
                                 const char *post_key, json_t *doc) {
  json_t *pre = NULL, *post = NULL;
  char path[OFCTX_PATH_SIZE];
  ofctx_err_t rc;

  ofctx__json_path(path, sizeof path, "$", pre_key);
  if ((rc = string_list(p, ofctx__json_member(root, pre_key), path, &pre)) == OFCTX_OK) {
    ofctx__json_path(path, sizeof path, "$", post_key);
    rc = string_list(p, ofctx__json_member(root, post_key), path, &post);
  }
  if (rc == OFCTX_OK && (put(doc, "prePlugins", json_incref(pre)) ||
                         put(doc, "postPlugins", json_incref(post))))
    rc = nomem(p);
  json_decref(pre);
  json_decref(post);
  return rc;
}

static ofctx_err_t parse_port_at(parser_t *p, const json_t *v, const char *path, json_t *doc) {
  long port = 8080;
  ofctx_err_t rc = parse_port(p, v, path, &port);

  if (rc == OFCTX_OK && put(doc, "port", json_integer(port)))
    rc = nomem(p);
  return rc;
}

static ofctx_err_t parse_v1beta1(parser_t *p, const json_t *root, json_t *doc) {
  const json_t *legacy_input = ofctx__json_member(root, "input");
  const char *runtime;
  ofctx_err_t rc;

  if ((rc = parse_head(p, root, doc)) != OFCTX_OK ||
      (rc = parse_runtime(p, ofctx__json_member(root, "runtime"), &runtime)) != OFCTX_OK)
    return rc;
  if (put(doc, "runtime", json_string(runtime)))
    return nomem(p);
  if ((rc = parse_port_at(p, ofctx__json_member(root, "port"), "$.port", doc)) != OFCTX_OK)
    return rc;
  /* Context spec v0.1.0 (OpenFunction 0.3) had one "input"; an empty one is
   * harmless, a real one would be silently lost. */
  if (json_object_size(legacy_input) > 0)
    return bad(p, "$.input",
               "the single \"input\" of context spec v0.1.0 is not read; declare it "
               "under \"inputs\" with componentName and componentType");
  if ((rc = parse_components(p, ofctx__json_member(root, "inputs"), "$.inputs", ROLE_INPUT,
                             &V1BETA1_FIELDS, json_object_get(doc, "inputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "outputs"), "$.outputs", ROLE_OUTPUT,
                             &V1BETA1_FIELDS, json_object_get(doc, "outputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "states"), "$.states", ROLE_STATE,
                             &V1BETA1_FIELDS, json_object_get(doc, "states"))) != OFCTX_OK ||
      (rc = parse_plugins(p, root, "prePlugins", "postPlugins", doc)) != OFCTX_OK)
    return rc;
  return parse_tracing(p, ofctx__json_member(root, "pluginsTracing"), "$.pluginsTracing",
                       json_string_value(json_object_get(doc, "name")), doc);
}

/* v1beta2 inputs declared only as triggers: triggers.dapr[] entries
 * {name, type, topic, inputName} and triggers.inputs[].dapr {name, type, topic}. */
static ofctx_err_t parse_trigger_inputs(parser_t *p, const json_t *triggers, json_t *inputs) {
  static const char *const lists[] = {"dapr", "inputs"};
  char path[OFCTX_PATH_SIZE], sub[OFCTX_PATH_SIZE];
  ofctx_err_t rc;

  for (size_t l = 0; l < 2; l++) {
    const json_t *arr = ofctx__json_member(triggers, lists[l]);
    size_t i;
    json_t *item;

    ofctx__json_path(path, sizeof path, "$.triggers", lists[l]);
    if (!arr || json_is_null(arr))
      continue;
    if (!json_is_array(arr))
      return type_error(p, path, "an array", arr);
    json_array_foreach(arr, i, item) {
      const char *key = NULL;
      ofctx__json_index(sub, sizeof sub, path, i);
      if (l == 1) { /* { "dapr": {...} }; other trigger kinds are not Dapr's */
        if (!json_is_object(item))
          return type_error(p, sub, "an object", item);
        item = ofctx__json_member(item, "dapr");
        if (!item || json_is_null(item))
          continue;
        strncat(sub, ".dapr", sizeof sub - strlen(sub) - 1);
      }
      if (!json_is_object(item))
        return type_error(p, sub, "an object", item);
      if ((rc = opt_string(p, item, sub, "inputName", &key)) != OFCTX_OK ||
          (!(key && *key) && (rc = req_string(p, item, sub, "name",
                                              "the Dapr component's name is required",
                                              &key)) != OFCTX_OK))
        return rc;
      if (json_object_get(inputs, key))
        return bad(p, sub, "a second input named \"%s\"", key);
      if ((rc = parse_component(p, key, item, sub, ROLE_INPUT, &TRIGGER_FIELDS, inputs)) !=
          OFCTX_OK)
        return rc;
    }
  }
  return OFCTX_OK;
}

static ofctx_err_t parse_v1beta2(parser_t *p, const json_t *root, json_t *doc) {
  const json_t *triggers = ofctx__json_member(root, "triggers");
  const json_t *http = ofctx__json_member(triggers, "http");
  const json_t *inputs_in = ofctx__json_member(root, "inputs");
  const json_t *runtime_in = ofctx__json_member(root, "runtime");
  json_t *inputs = NULL;
  const char *runtime;
  ofctx_err_t rc;

  if ((rc = parse_head(p, root, doc)) != OFCTX_OK)
    return rc;
  inputs = json_object_get(doc, "inputs");
  if (http && !json_is_null(http) && !json_is_object(http))
    return type_error(p, "$.triggers.http", "an object", http);
  /* The HTTP trigger's port, else a top-level "port" as ff-python reads it. */
  if (ofctx__json_member(http, "port") && !json_is_null(ofctx__json_member(http, "port")))
    rc = parse_port_at(p, ofctx__json_member(http, "port"), "$.triggers.http.port", doc);
  else
    rc = parse_port_at(p, ofctx__json_member(root, "port"), "$.port", doc);
  if (rc != OFCTX_OK)
    return rc;
  if (inputs_in && !json_is_null(inputs_in)) {
    if ((rc = parse_components(p, inputs_in, "$.inputs", ROLE_INPUT, &V1BETA2_FIELDS,
                               inputs)) != OFCTX_OK)
      return rc;
  } else if ((rc = parse_trigger_inputs(p, triggers, inputs)) != OFCTX_OK) {
    return rc;
  }
  /* A v1beta2 function is async exactly when Dapr triggers it. */
  if (runtime_in && !json_is_null(runtime_in)) {
    if ((rc = parse_runtime(p, runtime_in, &runtime)) != OFCTX_OK)
      return rc;
  } else {
    runtime = json_object_size(inputs) > 0 ? "Async" : "Knative";
  }
  if (put(doc, "runtime", json_string(runtime)))
    return nomem(p);
  if ((rc = parse_components(p, ofctx__json_member(root, "outputs"), "$.outputs", ROLE_OUTPUT,
                             &V1BETA2_FIELDS, json_object_get(doc, "outputs"))) != OFCTX_OK ||
      (rc = parse_components(p, ofctx__json_member(root, "states"), "$.states", ROLE_STATE,
                             &V1BETA2_FIELDS, json_object_get(doc, "states"))) != OFCTX_OK ||
      (rc = parse_plugins(p, root, "preHooks", "postHooks", doc)) != OFCTX_OK)
    return rc;
  return parse_tracing(p, ofctx__json_member(root, "tracing"), "$.tracing",
                       json_string_value(json_object_get(doc, "name")), doc);
}

ofctx_err_t ofctx__context_parse(const char *source, const char *json, size_t len,
                                 const ofctx__env_t *env, json_t **doc_out,
                                 ofctx_error_t *err) {
  parser_t p = {source, env, err};
  json_error_t jerr;
  json_t *root, *doc, *triggers;
  ofctx_err_t rc;

  *doc_out = NULL;
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    if (json_error_code(&jerr) == json_error_out_of_memory)
      return nomem(&p);
    return ofctx__error(err, OFCTX_ECONTEXT, "%s: invalid JSON at line %d, column %d: %s",
                        source, jerr.line, jerr.column, jerr.text);
  }
  if (!json_is_object(root)) {
    rc = type_error(&p, "$", "an object", root);
    json_decref(root);
    return rc;
  }
  doc = json_object();
  if (!doc) {
    json_decref(root);
    return nomem(&p);
  }
  triggers = ofctx__json_member(root, "triggers");
  if (triggers && !json_is_null(triggers) && !json_is_object(triggers))
    rc = type_error(&p, "$.triggers", "an object", triggers);
  else if (json_is_object(triggers))
    rc = parse_v1beta2(&p, root, doc);
  else
    rc = parse_v1beta1(&p, root, doc);
  json_decref(root);
  if (rc != OFCTX_OK) {
    json_decref(doc);
    return rc;
  }
  *doc_out = doc;
  return OFCTX_OK;
}
