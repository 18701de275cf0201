/* OFCTX_* environment variables → runtime options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_msg.h"
#include "options.h"
#include "text.h"

typedef enum { SIZE, MILLIS, COUNT } kind_t;

typedef struct {
  const char *name;
  kind_t kind;
  size_t offset; /* into ofctx__options_t */
  int is_size_t; /* else uint64_t (COUNT fields of type int are handled apart) */
  uint64_t min, max;
} option_t;

#define OPT(name, kind, field, type, min, max)                                                     \
  { name, kind, offsetof(ofctx__options_t, field), type, min, max }

static const option_t options[] = {
    OPT("OFCTX_MAX_BODY_SIZE", SIZE, http.max_body_size, 1, 1, (uint64_t)1 << 32),
    OPT("OFCTX_MAX_BODIES_SIZE", SIZE, http.max_bodies_size, 1, 1, (uint64_t)1 << 40),
    OPT("OFCTX_MAX_HEADER_SIZE", SIZE, http.max_header_size, 1, 256, 1 << 24),
    OPT("OFCTX_MAX_URL_SIZE", SIZE, http.max_url_size, 1, 16, 1 << 24),
    OPT("OFCTX_MAX_CONNECTIONS", COUNT, http.max_connections, 1, 1, 1 << 20),
    OPT("OFCTX_MAX_METADATA", COUNT, http.max_metadata, 1, 1, 1 << 20),
    OPT("OFCTX_HEADER_TIMEOUT_MS", MILLIS, http.header_timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_BODY_TIMEOUT_MS", MILLIS, http.body_timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_IDLE_TIMEOUT_MS", MILLIS, http.idle_timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_WRITE_TIMEOUT_MS", MILLIS, http.write_timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_GRPC_MAX_MESSAGE_SIZE", SIZE, grpc.max_message_size, 1, 1, (uint64_t)1 << 31),
    OPT("OFCTX_GRPC_MAX_STREAMS", COUNT, grpc.max_streams, 1, 1, 1 << 20),
    OPT("OFCTX_SEND_TIMEOUT_MS", MILLIS, send.timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_SEND_BACKOFF_MS", MILLIS, send.backoff_initial_ms, 0, 1, 3600000),
    OPT("OFCTX_SEND_BACKOFF_MAX_MS", MILLIS, send.backoff_max_ms, 0, 1, 3600000),
    OPT("OFCTX_INVOCATION_TIMEOUT_MS", MILLIS, invocation_timeout_ms, 0, 1, 86400000),
    OPT("OFCTX_GRACE_PERIOD_MS", MILLIS, grace_ms, 0, 0, 86400000),
    OPT("OFCTX_DAPR_WAIT_MS", MILLIS, dapr_wait_ms, 0, 0, 86400000),
    OPT("OFCTX_DIRECT_MAX_HELD_BYTES", SIZE, direct_max_held, 1, 1, (uint64_t)1 << 40),
};

/* Digits, and for sizes an optional binary suffix (Ki, Mi, Gi) as Dapr's
 * --max-body-size takes. */
static int parse(const char *s, kind_t kind, uint64_t *out) {
  uint64_t value = 0, unit = 1;
  const char *p = s;

  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (value > (UINT64_MAX - 9) / 10)
      return -1;
    value = value * 10 + (uint64_t)(*p - '0');
  }
  if (*p && kind == SIZE) {
    if (strcmp(p, "Ki") == 0)
      unit = 1024;
    else if (strcmp(p, "Mi") == 0)
      unit = 1024 * 1024;
    else if (strcmp(p, "Gi") == 0)
      unit = 1024 * 1024 * 1024;
    else
      return -1;
    p += 2;
  }
  if (*p || value > UINT64_MAX / unit)
    return -1;
  *out = value * unit;
  return 0;
}

/* The defaults of every option. */
static void defaults(ofctx__options_t *o) {
  const char *grpc_port = getenv("DAPR_GRPC_PORT");

  memset(o, 0, sizeof *o);
  ofctx__http_limits_default(&o->http);
  ofctx__grpc_limits_default(&o->grpc);
  ofctx__retry_policy_default(&o->send);
  /* sends go over the sidecar's gRPC API whenever it has one: Dapr sets
   * DAPR_GRPC_PORT in every app it runs (the Go framework always sends over
   * gRPC); over HTTP otherwise. OFCTX_DAPR_PROTOCOL forces either. */
  o->dapr_grpc = grpc_port && *grpc_port;
  o->invocation_timeout_ms = 60000;
  o->grace_ms = 20000;
  o->dapr_wait_ms = 30000;
  o->direct_max_held = (size_t)16 << 20;
  snprintf(o->listen_host, sizeof o->listen_host, "0.0.0.0");
}

/* Reads the numbers of the table and OFCTX_SEND_ATTEMPTS. Returns OFCTX_OK
 * or OFCTX_EOPTION. */
static ofctx_err_t load_numbers(ofctx__options_t *o, ofctx_error_t *err) {
  const char *attempts = getenv("OFCTX_SEND_ATTEMPTS");
  uint64_t value;

  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const option_t *opt = &options[i];
    const char *text = getenv(opt->name);
    if (!text || !*text)
      continue;
    if (parse(text, opt->kind, &value) != 0 || value < opt->min || value > opt->max)
      return ofctx__error(err, OFCTX_EOPTION, "%s: \"%.40s\" is not %s from %llu to %llu%s",
                          opt->name, text,
                          opt->kind == MILLIS ? "a number of milliseconds" : "a whole number",
                          (unsigned long long)opt->min, (unsigned long long)opt->max,
                          opt->kind == SIZE ? " (bytes; Ki, Mi and Gi suffixes allowed)" : "");
    if (opt->is_size_t)
      *(size_t *)((char *)o + opt->offset) = (size_t)value;
    else
      *(uint64_t *)((char *)o + opt->offset) = value;
  }
  if (attempts && *attempts) {
    if (parse(attempts, COUNT, &value) != 0 || value < 1 || value > 100)
      return ofctx__error(err, OFCTX_EOPTION,
                          "OFCTX_SEND_ATTEMPTS: \"%.40s\" is not a whole number from 1 to 100",
                          attempts);
    o->send.max_attempts = (int)value;
  }
  return OFCTX_OK;
}

/* Reads OFCTX_LISTEN_HOST. Returns OFCTX_OK or OFCTX_EOPTION. */
static ofctx_err_t load_listen_host(ofctx__options_t *o, ofctx_error_t *err) {
  const char *host = getenv("OFCTX_LISTEN_HOST");
  char quoted[OFCTX_QUOTE_SIZE];

  if (!host || !*host)
    return OFCTX_OK;
  if (strlen(host) >= sizeof o->listen_host || !ofctx__ip_address_ok(host)) {
    ofctx__quote(quoted, sizeof quoted, host);
    return ofctx__error(err, OFCTX_EOPTION, "OFCTX_LISTEN_HOST: %s is not an IPv4 or IPv6 address",
                        quoted);
  }
  snprintf(o->listen_host, sizeof o->listen_host, "%s", host);
  return OFCTX_OK;
}

/* Makes room for one body of the largest size among those held at once: a
 * bound set below it is refused, the default is raised. Returns OFCTX_OK or
 * OFCTX_EOPTION. */
static ofctx_err_t fit_bodies(ofctx__options_t *o, ofctx_error_t *err) {
  const char *bodies = getenv("OFCTX_MAX_BODIES_SIZE");

  if (o->http.max_bodies_size >= o->http.max_body_size)
    return OFCTX_OK;
  if (bodies && *bodies)
    return ofctx__error(err, OFCTX_EOPTION,
                        "OFCTX_MAX_BODIES_SIZE: %zu is less than OFCTX_MAX_BODY_SIZE (%zu)",
                        o->http.max_bodies_size, o->http.max_body_size);
  o->http.max_bodies_size = o->http.max_body_size;
  return OFCTX_OK;
}

/* Reads OFCTX_DAPR_PROTOCOL. Returns OFCTX_OK or OFCTX_EOPTION. */
static ofctx_err_t load_protocol(ofctx__options_t *o, ofctx_error_t *err) {
  const char *api = getenv("OFCTX_DAPR_PROTOCOL");
  char quoted[OFCTX_QUOTE_SIZE];

  if (!api || !*api)
    return OFCTX_OK;
  if (strcmp(api, "http") != 0 && strcmp(api, "grpc") != 0) {
    ofctx__quote(quoted, sizeof quoted, api);
    return ofctx__error(err, OFCTX_EOPTION,
                        "OFCTX_DAPR_PROTOCOL: %s is neither \"http\" nor \"grpc\"", quoted);
  }
  o->dapr_grpc = strcmp(api, "grpc") == 0;
  return OFCTX_OK;
}

/* Reads OFCTX_DIRECT and OFCTX_RESOURCES_PATH, which go together.
 * Returns OFCTX_OK or OFCTX_EOPTION. */
static ofctx_err_t load_direct(ofctx__options_t *o, ofctx_error_t *err) {
  const char *direct = getenv("OFCTX_DIRECT"), *path = getenv("OFCTX_RESOURCES_PATH");
  char quoted[OFCTX_QUOTE_SIZE];

  if (direct && *direct && strcmp(direct, "0") != 0 && strcmp(direct, "1") != 0) {
    ofctx__quote(quoted, sizeof quoted, direct);
    return ofctx__error(err, OFCTX_EOPTION, "OFCTX_DIRECT: %s is neither \"0\" nor \"1\"", quoted);
  }
  o->direct = direct && strcmp(direct, "1") == 0;
  o->resources_path = path && *path ? path : NULL;
  if (o->direct && !o->resources_path)
    return ofctx__error(err, OFCTX_EOPTION,
                        "OFCTX_DIRECT: the direct mode needs OFCTX_RESOURCES_PATH, the directory "
                        "of the Dapr Component files");
  if (!o->direct && o->resources_path)
    return ofctx__error(err, OFCTX_EOPTION,
                        "OFCTX_RESOURCES_PATH: set, but OFCTX_DIRECT is not 1 (the sidecar reads "
                        "the components in sidecar mode)");
  return OFCTX_OK;
}

ofctx_err_t ofctx__options_load(ofctx__options_t *o, ofctx_error_t *err) {
  ofctx_err_t rc;

  defaults(o);
  if ((rc = load_numbers(o, err)) != OFCTX_OK || (rc = load_listen_host(o, err)) != OFCTX_OK ||
      (rc = fit_bodies(o, err)) != OFCTX_OK || (rc = load_protocol(o, err)) != OFCTX_OK ||
      (rc = load_direct(o, err)) != OFCTX_OK)
    return rc;
  o->grpc.http = o->http;
  o->send.max_response_size = o->http.max_body_size;
  o->http_pattern = getenv("OFCTX_HTTP_PATTERN");
  if (o->http_pattern && !*o->http_pattern)
    o->http_pattern = NULL;
  ofctx__error_clear(err);
  return OFCTX_OK;
}
