/* knative_probe: a Knative function for the integration tests, in either
 * signature (PROBE_KIND=ofn, the default, or http) and with the methods in
 * PROBE_METHODS (comma-separated; all when unset). Each request chooses what
 * it does with query parameters:
 *   describe=1       answer with the request as the function saw it (JSON)
 *   return=N         (ofn) return N; with leak=1 set a reply first
 *   reply_ce=1       (ofn) answer with a CloudEvent of type probe.reply (also
 *                    for every request when PROBE_REPLY_CE is set)
 *   send=OUT         send the data to the output OUT first
 *   status=N, header=Name:Value   (http) set them on the response
 * Otherwise it greets: "hello: <name>" for a {name} path parameter, else
 * the ofn kind answers with the data (or "hello there" when there is none)
 * and the http kind with "Hello World!", as OpenFunction's own tests do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <ofctx/ofctx.h>

static const char *const ATTRIBUTES[] = {"id",
                                         "source",
                                         "type",
                                         "specversion",
                                         "time",
                                         "subject",
                                         "datacontenttype",
                                         "dataschema",
                                         "comexampleextension1",
                                         "comexampleothervalue",
                                         "traceparent",
                                         NULL};

static const char *kind_name(ofctx_event_kind_t kind) {
  switch (kind) {
  case OFCTX_EVENT_HTTP:
    return "http";
  case OFCTX_EVENT_CLOUDEVENT:
    return "cloudevent";
  default:
    return "other";
  }
}

static json_t *or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* The request as the function sees it, as JSON text (free with free()). */
static char *describe(const ofctx_event_t *in) {
  json_t *out = json_object(), *attrs = json_object(), *headers = json_object();
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  char *text;

  for (const char *const *a = ATTRIBUTES; *a; a++)
    if (ofctx_event_attribute(in, *a))
      json_object_set_new(attrs, *a, json_string(ofctx_event_attribute(in, *a)));
  for (size_t i = 0; i < ofctx_event_header_count(in); i++)
    if (strncasecmp(ofctx_event_header_name(in, i), "x-", 2) == 0)
      json_object_set_new(headers, ofctx_event_header_name(in, i),
                          json_string(ofctx_event_header_value(in, i)));
  json_object_set_new(out, "kind", json_string(kind_name(ofctx_event_kind(in))));
  json_object_set_new(out, "input", or_null(ofctx_event_input(in)));
  json_object_set_new(out, "method", or_null(ofctx_event_method(in)));
  json_object_set_new(out, "path", or_null(ofctx_event_path(in)));
  json_object_set_new(out, "query", or_null(ofctx_event_query(in)));
  json_object_set_new(out, "q", or_null(ofctx_event_query_param(in, "q")));
  json_object_set_new(out, "name", or_null(ofctx_event_param(in, "name")));
  json_object_set_new(out, "id", or_null(ofctx_event_param(in, "id")));
  json_t *text_data = json_stringn(data, len);
  json_object_set_new(out, "data", text_data ? text_data : json_string("(not UTF-8)"));
  json_object_set_new(out, "length", json_integer((json_int_t)len));
  json_object_set_new(out, "contentType", or_null(ofctx_event_content_type(in)));
  json_object_set_new(out, "attributes", attrs);
  json_object_set_new(out, "headers", headers);
  text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(out);
  return text;
}

static void greet(const ofctx_event_t *in, char *out, size_t size, const char *otherwise) {
  const char *name = ofctx_event_param(in, "name");
  if (name)
    snprintf(out, size, "hello: %s", name);
  else
    snprintf(out, size, "%s", otherwise);
}

static ofctx_err_t send_first(ofctx_t *ctx, const ofctx_event_t *in) {
  const char *out = ofctx_event_query_param(in, "send");
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  ofctx_err_t rc;

  if (!out)
    return OFCTX_OK;
  rc = ofctx_send_to(ctx, out, data, len, NULL);
  if (rc != OFCTX_OK)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "send to %s: %s", out, ofctx_strerror(rc));
  return rc;
}

static ofctx_result_t ofn(ofctx_t *ctx, const ofctx_event_t *in) {
  const char *ret = ofctx_event_query_param(in, "return");
  char text[512];
  size_t len;
  const char *data = ofctx_event_data(in, &len);

  if (send_first(ctx, in) != OFCTX_OK)
    return OFCTX_ERROR;
  if (ofctx_event_query_param(in, "describe")) {
    char *d = describe(in);
    ofctx_set_reply(ctx, d, strlen(d));
    free(d);
  } else if (ofctx_event_param(in, "name") || len == 0) {
    greet(in, text, sizeof text, "hello there");
    ofctx_set_reply(ctx, text, strlen(text));
  } else {
    ofctx_set_reply(ctx, data, len);
  }
  if (ofctx_event_query_param(in, "reply_ce") || getenv("PROBE_REPLY_CE")) {
    const char *id = ofctx_event_attribute(in, "id");
    ofctx_set_reply_attribute(ctx, "type", "probe.reply");
    ofctx_set_reply_attribute(ctx, "source", "/probe");
    if (id)
      ofctx_set_reply_attribute(ctx, "inreplyto", id);
  }
  if (ret) {
    if (ofctx_event_query_param(in, "leak"))
      ofctx_set_reply(ctx, "internal detail: db password", 28);
    return (ofctx_result_t)atoi(ret); /* any value: the runtime's to judge */
  }
  return OFCTX_SUCCESS;
}

static void http(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res) {
  const char *status = ofctx_event_query_param(req, "status");
  const char *header = ofctx_event_query_param(req, "header");
  char text[512];

  if (send_first(ctx, req) != OFCTX_OK)
    return; /* the failed send answers 500 */
  if (status && ofctx_response_set_status(res, atoi(status)) != OFCTX_OK) {
    ofctx_response_append(res, "refused status", 14);
    return;
  }
  if (header) {
    char name[128];
    const char *colon = strchr(header, ':');
    size_t n = colon ? (size_t)(colon - header) : strlen(header);
    snprintf(name, sizeof name, "%.*s", (int)n, header);
    if (ofctx_response_add_header(res, name, colon ? colon + 1 : "") != OFCTX_OK) {
      ofctx_response_append(res, "refused header", 14);
      return;
    }
  }
  if (ofctx_event_query_param(req, "describe")) {
    char *d = describe(req);
    ofctx_response_add_header(res, "Content-Type", "application/json");
    ofctx_response_append(res, d, strlen(d));
    free(d);
    return;
  }
  greet(req, text, sizeof text, "Hello World!");
  ofctx_response_append(res, text, strlen(text));
}

int main(int argc, char **argv) {
  const char *kind = getenv("PROBE_KIND");
  const char *list = getenv("PROBE_METHODS");
  const char *methods[16] = {NULL};
  char buf[256];
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

  if (kind && strcmp(kind, "http") == 0)
    opts.http = http;
  else
    opts.function = ofn;
  if (list) {
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *m = strtok(buf, ","); m && n < 15; m = strtok(NULL, ","))
      methods[n++] = m;
    opts.methods = methods;
  }
  return ofctx_main_opts(argc, argv, &opts);
}
