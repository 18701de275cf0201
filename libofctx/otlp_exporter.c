/* The OTLP/HTTP span exporter: a bounded queue of span records, sent in
 * batches by the sidecar client's machinery (libcurl multi on the loop). */
#include "otlp_exporter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_impl.h"
#include "dapr_http_client.h"
#include "log.h"
#include "mem.h"
#include "ofctx/version.h"

struct ofctx__otlp_exporter {
  ofctx__dapr_http_client_t *client;
  ofctx__retry_policy_t policy;
  char *path;
  char **headers; /* "Name: value" lines, NULL-ended: the context's, then gzip's */
  int gzip;
  ofctx__span_attr_t *resource;
  size_t resource_count;
  size_t queue_max, batch_max;
  uint64_t interval_ms;
  ofctx__metrics_t *metrics;
  ofctx__span_record_t *head, *tail; /* queued */
  size_t queued;
  ofctx__span_record_t *sending; /* the export in flight */
  size_t sending_count;
  uv_timer_t timer; /* the next batch */
  int timer_armed;
  int failing; /* the last export failed: the next failure is not logged again */
  int closing, finished;
  uv_timer_t bound; /* the shutdown's */
  int handles;      /* the two timers, and the client until it is closed */
  void (*closed)(void *arg);
  void *closed_arg;
};

int ofctx__otlp_path(const char *endpoint, char *path, size_t size, size_t *base_len) {
  static const char suffix[] = "/v1/traces";
  const char *rest = strstr(endpoint, "://");
  size_t authority, len;
  int n;

  rest = rest ? rest + 3 : endpoint;
  authority = strcspn(rest, "/");
  *base_len = (size_t)(rest - endpoint) + authority;
  rest += authority;
  len = strlen(rest);
  if (len >= sizeof suffix - 1 && strcmp(rest + len - (sizeof suffix - 1), suffix) == 0)
    n = snprintf(path, size, "%s", rest);
  else {
    while (len && rest[len - 1] == '/')
      len--;
    n = snprintf(path, size, "%.*s%s", (int)len, rest, suffix);
  }
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ---- the queue ---- */

static void free_list(ofctx__span_record_t *r) {
  while (r) {
    ofctx__span_record_t *next = r->next;
    ofctx__free(r);
    r = next;
  }
}

static void export_batch(ofctx__otlp_exporter_t *e);

static void on_timer(uv_timer_t *timer) {
  ofctx__otlp_exporter_t *e = timer->data;

  e->timer_armed = 0;
  export_batch(e);
}

/* The next batch in `ms` (0: at the loop's next turn, never inline). */
static void schedule(ofctx__otlp_exporter_t *e, uint64_t ms) {
  if (e->closing)
    return;
  if (!e->timer_armed || ms == 0)
    uv_timer_start(&e->timer, on_timer, ms, 0);
  e->timer_armed = 1;
}

void ofctx__otlp_exporter_add(ofctx__otlp_exporter_t *e, const ofctx__span_desc_t *d) {
  ofctx__span_record_t *r;

  if (e->finished || e->queued >= e->queue_max || !(r = ofctx__span_record_new(d))) {
    ofctx__metrics_spans_dropped(e->metrics,
                                 e->finished ? OFCTX__SPANS_SHUTDOWN : OFCTX__SPANS_QUEUE_FULL, 1);
    return;
  }
  r->next = NULL;
  if (e->tail)
    e->tail->next = r;
  else
    e->head = r;
  e->tail = r;
  e->queued++;
  if (e->closing) { /* the shutdown's flush: at the loop's next turn too */
    if (!e->sending)
      uv_timer_start(&e->timer, on_timer, 0, 0);
  } else if (e->queued >= e->batch_max && !e->sending) {
    schedule(e, 0);
  } else if (!e->timer_armed) {
    schedule(e, e->interval_ms);
  }
}

const ofctx__span_record_t *ofctx__otlp_exporter_queue(const ofctx__otlp_exporter_t *e) {
  return e->head;
}

size_t ofctx__otlp_exporter_queued(const ofctx__otlp_exporter_t *e) { return e->queued; }

/* ---- exports ---- */

static void finish(ofctx__otlp_exporter_t *e);

static void export_done(void *arg, const ofctx__dapr_result_t *result) {
  ofctx__otlp_exporter_t *e = arg;

  if (result->ok) {
    ofctx__metrics_spans_exported(e->metrics, e->sending_count);
    e->failing = 0;
  } else {
    ofctx__metrics_spans_dropped(
        e->metrics, result->cancelled ? OFCTX__SPANS_SHUTDOWN : OFCTX__SPANS_EXPORT_FAILED,
        e->sending_count);
    if (!e->failing && !result->cancelled) {
      char status[16], spans[24];
      snprintf(status, sizeof status, "%d", result->status);
      snprintf(spans, sizeof spans, "%zu", e->sending_count);
      /* the request's headers are never logged: only what the server said */
      ofctx__log(OFCTX_LOG_WARN, "span export failed, spans dropped (said again once it recovers)",
                 "status", result->status ? status : NULL, "error", result->error, "spans", spans,
                 (const char *)NULL);
    }
    e->failing = !result->cancelled;
  }
  free_list(e->sending);
  e->sending = NULL;
  e->sending_count = 0;
  if (e->finished)
    return;
  if (e->closing) {
    if (e->queued)
      export_batch(e);
    else
      finish(e);
  } else if (e->queued >= e->batch_max) {
    schedule(e, 0);
  } else if (e->queued) {
    schedule(e, e->interval_ms);
  }
}

/* Drops `n` records from `first` for `why`. */
static void drop(ofctx__otlp_exporter_t *e, ofctx__span_record_t *first, size_t n,
                 ofctx__spans_drop_t why) {
  ofctx__metrics_spans_dropped(e->metrics, why, n);
  free_list(first);
}

static void export_batch(ofctx__otlp_exporter_t *e) {
  ofctx__span_record_t *first = e->head, *last = e->head;
  uint8_t *body = NULL, *gz = NULL;
  size_t n = 1, len = 0, gz_len = 0;
  ofctx_err_t rc;

  if (e->sending || !e->queued || e->finished)
    return;
  while (n < e->batch_max && last->next) {
    last = last->next;
    n++;
  }
  e->head = last->next;
  if (!e->head)
    e->tail = NULL;
  last->next = NULL;
  e->queued -= n;
  rc = ofctx__otlp_encode(e->resource, e->resource_count, first, n, &body, &len);
  if (rc == OFCTX_OK && e->gzip) {
    rc = ofctx__otlp_gzip(body, len, &gz, &gz_len);
    ofctx__free(body);
    body = gz;
    len = gz_len;
  }
  if (rc == OFCTX_OK)
    rc = ofctx__dapr_call(e->client, "POST", e->path, "application/x-protobuf",
                          (const char *const *)e->headers, body, len, &e->policy, export_done, e);
  ofctx__free(body); /* the call has its copy */
  if (rc != OFCTX_OK) {
    drop(e, first, n, OFCTX__SPANS_EXPORT_FAILED);
    if (e->closing && !e->queued)
      finish(e);
    else if (e->closing) /* the next batch of the shutdown's flush */
      uv_timer_start(&e->timer, on_timer, 0, 0);
    else if (e->queued)
      schedule(e, e->interval_ms);
    return;
  }
  e->sending = first;
  e->sending_count = n;
}

/* ---- life ---- */

static void destroy(ofctx__otlp_exporter_t *e) {
  void (*closed)(void *) = e->closed;
  void *arg = e->closed_arg;

  for (char **h = e->headers; h && *h; h++)
    ofctx__free(*h);
  ofctx__free(e->headers);
  ofctx__free(e->path);
  ofctx__free(e->resource);
  ofctx__free(e);
  if (closed)
    closed(arg);
}

static void handle_closed(uv_handle_t *handle) {
  ofctx__otlp_exporter_t *e = handle->data;

  if (--e->handles == 0)
    destroy(e);
}

static void client_closed(void *arg) {
  ofctx__otlp_exporter_t *e = arg;

  if (--e->handles == 0)
    destroy(e);
}

/* The end: what is left is dropped, the client closed (its call in
 * flight, if any, ends as cancelled), the timers closed. */
static void finish(ofctx__otlp_exporter_t *e) {
  if (e->finished)
    return;
  e->finished = 1;
  drop(e, e->head, e->queued, OFCTX__SPANS_SHUTDOWN);
  e->head = e->tail = NULL;
  e->queued = 0;
  uv_timer_stop(&e->timer);
  uv_timer_stop(&e->bound);
  uv_close((uv_handle_t *)&e->timer, handle_closed);
  uv_close((uv_handle_t *)&e->bound, handle_closed);
  ofctx__dapr_http_client_close(e->client, client_closed, e);
}

static void bound_reached(uv_timer_t *timer) { finish(timer->data); }

void ofctx__otlp_exporter_close(ofctx__otlp_exporter_t *e, uint64_t bound_ms,
                                void (*closed)(void *arg), void *arg) {
  e->closed = closed;
  e->closed_arg = arg;
  e->closing = 1;
  uv_timer_stop(&e->timer);
  e->timer_armed = 0;
  if (!e->sending && !e->queued) {
    finish(e);
    return;
  }
  uv_timer_start(&e->bound, bound_reached, bound_ms, 0);
  export_batch(e);
}

/* "Name: value\n" lines → a NULL-ended array of "Name: value", with
 * "Content-Encoding: gzip" after them when `gzip`. NULL when out of memory. */
static char **header_lines(const char *text, int gzip) {
  size_t n = gzip ? 1 : 0, i = 0;
  char **lines;

  for (const char *s = text; s && *s; s++)
    n += *s == '\n';
  lines = ofctx__calloc(n + 1, sizeof *lines);
  if (!lines)
    return NULL;
  for (const char *s = text; s && *s; i++) {
    const char *end = strchr(s, '\n');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (!(lines[i] = ofctx__strndup(s, len)))
      goto fail;
    s += len + (end ? 1 : 0);
  }
  if (gzip && !(lines[i++] = ofctx__strdup("Content-Encoding: gzip")))
    goto fail;
  return lines;
fail:
  for (size_t j = 0; j < i; j++)
    ofctx__free(lines[j]);
  ofctx__free(lines);
  return NULL;
}

/* A copy of `count` attributes in one allocation. */
static ofctx__span_attr_t *copy_attrs(const ofctx__span_attr_t *attrs, size_t count) {
  size_t text = 0;
  ofctx__span_attr_t *copy;
  char *p;

  for (size_t i = 0; i < count; i++)
    text += strlen(attrs[i].key) + strlen(attrs[i].value) + 2;
  copy = ofctx__malloc(count * sizeof *copy + text + 1);
  if (!copy)
    return NULL;
  p = (char *)(copy + count);
  for (size_t i = 0; i < count; i++) {
    size_t k = strlen(attrs[i].key) + 1, v = strlen(attrs[i].value) + 1;
    copy[i].key = memcpy(p, attrs[i].key, k);
    copy[i].value = memcpy(p + k, attrs[i].value, v);
    p += k + v;
  }
  return copy;
}

ofctx_err_t ofctx__otlp_exporter_new(ofctx__otlp_exporter_t **out, uv_loop_t *loop,
                                     const ofctx__otlp_opts_t *opts, ofctx__metrics_t *metrics) {
  ofctx__otlp_exporter_t *e;
  char path[2048], *base;
  size_t base_len;
  ofctx_err_t rc = OFCTX_ENOMEM;

  *out = NULL;
  if (ofctx__otlp_path(opts->endpoint, path, sizeof path, &base_len) != 0)
    return OFCTX_EINVAL;
  e = ofctx__calloc(1, sizeof *e);
  if (!e)
    return OFCTX_ENOMEM;
  e->metrics = metrics;
  e->gzip = opts->gzip;
  e->queue_max = opts->queue_max ? opts->queue_max : OFCTX__OTLP_QUEUE_MAX;
  e->batch_max = opts->batch_max ? opts->batch_max : OFCTX__OTLP_BATCH_MAX;
  e->interval_ms = opts->interval_ms ? opts->interval_ms : OFCTX__OTLP_INTERVAL_MS;
  ofctx__retry_policy_default(&e->policy);
  e->policy.timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
  e->policy.max_attempts = 3;
  e->policy.final_500 = 1; /* OTLP/HTTP: a 500 is not retryable (429, 502, 503, 504 are) */
  e->path = ofctx__strdup(path);
  e->headers = header_lines(opts->headers, opts->gzip);
  e->resource_count = opts->resource_count;
  e->resource = copy_attrs(opts->resource, opts->resource_count);
  base = ofctx__strndup(opts->endpoint, base_len);
  if (!e->path || !e->headers || !e->resource || !base ||
      (rc = ofctx__http_client_new(&e->client, loop, base, NULL, &e->policy)) != OFCTX_OK) {
    ofctx__free(base);
    destroy(e);
    return rc;
  }
  ofctx__free(base);
  uv_timer_init(loop, &e->timer);
  uv_timer_init(loop, &e->bound);
  e->timer.data = e->bound.data = e;
  e->handles = 3;
  if (metrics)
    metrics->spans_on = 1;
  *out = e;
  return OFCTX_OK;
}

ofctx_err_t ofctx__otlp_exporter_from_config(ofctx__otlp_exporter_t **out, uv_loop_t *loop,
                                             const ofctx_config_t *cfg, ofctx__metrics_t *metrics) {
  const char *endpoint = ofctx__config_exporter(cfg, "endpoint");
  const char *compression = ofctx__config_exporter(cfg, "compression");
  const char *timeout = ofctx__config_exporter(cfg, "timeout");
  const char *name = ofctx_config_name(cfg), *version = ofctx_config_version(cfg);
  const char *pod = ofctx_config_pod_name(cfg), *ns = ofctx_config_pod_namespace(cfg);
  ofctx__span_attr_t res[9];
  size_t n = 0;
  ofctx__otlp_opts_t opts = {0};

  const char *exporter = ofctx__config_exporter(cfg, "name");
  const char *protocol = ofctx__config_exporter(cfg, "protocol");

  *out = NULL;
  /* the parser filled these in when it is ours to export (else it warned) */
  if (!endpoint || !exporter || strcmp(exporter, "otlp") != 0 || !protocol ||
      strcmp(protocol, "http/protobuf") != 0)
    return OFCTX_OK;
#define RES(k, v)                                                                                  \
  do {                                                                                             \
    if ((v) && *(v))                                                                               \
      res[n++] = (ofctx__span_attr_t){k, v};                                                       \
  } while (0)
  RES("service.name", name);
  RES("service.namespace", ns);
  RES("service.version", version);
  RES("faas.name", name);
  RES("faas.version", version);
  RES("k8s.pod.name", pod);
  RES("k8s.namespace.name", ns);
  RES("telemetry.sdk.name", "libofctx");
  RES("telemetry.sdk.version", ofctx_version_string());
#undef RES
  opts.endpoint = endpoint;
  opts.headers = cfg->exporter_headers;
  opts.gzip = compression && strcmp(compression, "gzip") == 0;
  opts.timeout_ms = timeout ? strtoull(timeout, NULL, 10) : 0;
  opts.resource = res;
  opts.resource_count = n;
  return ofctx__otlp_exporter_new(out, loop, &opts, metrics);
}
