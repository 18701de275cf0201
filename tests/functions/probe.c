/* probe: a function for the integration tests whose behaviour each event
 * chooses. The event data is JSON:
 *   {"reply": "metadata"}            answer with the event as JSON: input, kind,
 *   {"describe_to": "out"}           send that description to the output instead
 *                                    data, content type, metadata, attributes,
 *                                    and with tracing on the trace (ids, traceparent)
 *   {"return": 500 | 400 | 200 | 7}  return that code
 *   {"return_env": "NAME"}           return the code in the environment variable
 *                                    NAME (200 when it is not set)
 *   {"send": ["out", ...], "id": "x"} send {"id":"x"} to each output, in order
 *   {"publish": ["pubsub","topic"]}  publish {"id":…} directly
 *   {"invoke": ["component","op"]}   invoke a binding directly
 *   {"publish_bytes": [ps, topic]}   publish 4 bytes that are not UTF-8
 *   {"publish_bulk": [ps, topic], "entries": [{"id": i, "data": text, "type": t,
 *                     "metadata": [k, v], "fill": n}, ...]}
 *                                    ofctx_publish_bulk (id, type and metadata, one
 *                                    pair, optional; fill: n bytes of 'x' as the
 *                                    data; a refusal at once answers 400, a DROP)
 *   {"send_text": "out"}             send the text "plain text" to the output
 *   {"send_unsized": "out"}          send with options whose size is not set: must
 *                                    fail with OFCTX_EINVAL (then 200, else 500)
 *   {"send_opts": {"output": o, "data": text, "type": t, "operation": op,
 *                  "metadata": [k, v, ...]}}  ofctx_send_to with options, each
 *                                    optional (up to four metadata pairs)
 *   {"state_set": [store, key, value], "etag": e, "first_write": true, "report": "out",
 *    "metadata": [k, v]}
 *   {"state_get": [store, key], "report": "out"}
 *   {"state_delete": [store, key], "etag": e, "report": "out"}
 *                                    a state request (etag, first_write, report and
 *                                    metadata, one pair, optional); its callback
 *                                    sends {"op", "code" (the
 *                                    error's name), "status", and for a get "found",
 *                                    "value", "etag"} to the report output; a refusal
 *                                    at once is a DROP, answered with the error's name
 * Anything that is not JSON is answered as it came (like echo).
 * With OFCTX_PROBE_BATCH=1 it is a batch function: each entry as above, its
 * return (200, 400, 500; another leaves it without a status) the entry's
 * status, and two more keys: {"batch_return": code} is what the batch
 * function returns, {"batch_report": "out"} sends {"entries": count} to that
 * output once for the batch, and {"batch_ids": "out"} sends {"ids": [each
 * entry's "id"], "offsets": [each entry's __offset metadata]} to that output
 * once for the batch (the entries in the batch's order).
 * Its own commands: --exit-with STATUS and --hello (with
 * OFCTX_PROBE_COMMANDS=clash, one named --context too, which is refused).
 * Its hook, "probe-gate", runs when the context names it: {"gate": "drop"}
 * is dropped before the function, {"gate": "forgive"} succeeds whatever the
 * function returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <ofctx/ofctx.h>

static void send_done(ofctx_t *ctx, const ofctx_send_result_t *r, void *arg) {
  char failed[256] = "";
  (void)arg;
  for (size_t i = 0; i < r->failed_count; i++)
    snprintf(failed + strlen(failed), sizeof failed - strlen(failed), "%s%s", i ? "," : "",
             r->failed_entries[i]);
  ofctx_log(ctx, OFCTX_LOG_INFO, "send to %s finished: %s (%d) failed=[%s]", r->output,
            ofctx_strerror(r->code), r->http_status, failed);
}

/* A copy of `s` (malloc), or NULL. */
static char *copy_of(const char *s) {
  char *copy = s ? malloc(strlen(s) + 1) : NULL;
  if (copy)
    memcpy(copy, s, strlen(s) + 1);
  return copy;
}

/* A state request's callback: its result to the output `arg` names (owned). */
static void state_done(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {
  json_t *report = json_pack("{s:s, s:s, s:i}", "op", r->store, "code", ofctx_err_name(r->code),
                             "status", r->http_status);
  char *text;

  json_object_set_new(report, "key", json_string(r->key));
  if (r->found || r->code == OFCTX_OK) {
    json_object_set_new(report, "found", json_boolean(r->found));
    json_object_set_new(report, "value", json_stringn(r->value, r->len));
    json_object_set_new(report, "etag", json_string(r->etag));
  }
  text = json_dumps(report, JSON_COMPACT);
  if (arg && ofctx_send_to(ctx, arg, text, strlen(text), NULL) != OFCTX_OK)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "state report to %s not sent", (const char *)arg);
  free(text);
  json_decref(report);
  free(arg);
}

/* The state commands; OFCTX_SUCCESS, or a DROP with the error's name as the
 * reply when the call refused at once. */
static ofctx_result_t state_command(ofctx_t *ctx, const json_t *cmd) {
  const char *report = json_string_value(json_object_get(cmd, "report"));
  ofctx_state_opts_t opts = OFCTX_STATE_OPTS_INIT;
  json_t *v, *md = json_object_get(cmd, "metadata");
  const char *metadata[] = {json_string_value(json_array_get(md, 0)),
                            json_string_value(json_array_get(md, 1)), NULL};
  ofctx_err_t e = OFCTX_EINVAL;

  opts.etag = json_string_value(json_object_get(cmd, "etag"));
  opts.concurrency = json_is_true(json_object_get(cmd, "first_write"))
                         ? OFCTX_STATE_FIRST_WRITE
                         : OFCTX_STATE_CONCURRENCY_DEFAULT;
  opts.metadata = md ? metadata : NULL;
  opts.done = state_done;
  opts.arg = copy_of(report);
  if ((v = json_object_get(cmd, "state_get")) != NULL) {
    e = ofctx_state_get(ctx, json_string_value(json_array_get(v, 0)),
                        json_string_value(json_array_get(v, 1)), state_done, opts.arg);
  } else if ((v = json_object_get(cmd, "state_set")) != NULL) {
    const char *value = json_string_value(json_array_get(v, 2));
    e = ofctx_state_set(ctx, json_string_value(json_array_get(v, 0)),
                        json_string_value(json_array_get(v, 1)), value, value ? strlen(value) : 0,
                        &opts);
  } else if ((v = json_object_get(cmd, "state_delete")) != NULL) {
    e = ofctx_state_delete(ctx, json_string_value(json_array_get(v, 0)),
                           json_string_value(json_array_get(v, 1)), &opts);
  }
  if (e == OFCTX_OK)
    return OFCTX_SUCCESS;
  free(opts.arg); /* the callback never runs */
  ofctx_set_reply(ctx, ofctx_err_name(e), strlen(ofctx_err_name(e)));
  return OFCTX_DROP;
}

static ofctx_result_t describe(ofctx_t *ctx, const ofctx_event_t *in, const char *output) {
  json_t *out = json_object(), *md = json_object();
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  const char *attrs[] = {"id",         "source",          "type",        "specversion", "topic",
                         "pubsubname", "datacontenttype", "traceparent", "traceid"};
  json_t *attributes = json_object();
  char *text;
  ofctx_result_t rc;

  for (size_t i = 0; i < ofctx_event_metadata_count(in); i++)
    json_object_set_new(md, ofctx_event_metadata_key(in, i),
                        json_string(ofctx_event_metadata_value(in, i)));
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
    if (ofctx_event_attribute(in, attrs[i]))
      json_object_set_new(attributes, attrs[i], json_string(ofctx_event_attribute(in, attrs[i])));
  json_object_set_new(out, "input", json_string(ofctx_event_input(in)));
  json_object_set_new(
      out, "kind", json_string(ofctx_event_kind(in) == OFCTX_EVENT_BINDING ? "binding" : "pubsub"));
  json_object_set_new(out, "data", json_stringn(data, len));
  json_object_set_new(out, "contentType",
                      ofctx_event_content_type(in) ? json_string(ofctx_event_content_type(in))
                                                   : json_null());
  json_object_set_new(out, "metadata", md);
  json_object_set_new(out, "attributes", attributes);
  if (ofctx_trace_id(ctx))
    json_object_set_new(out, "trace",
                        json_pack("{s:s, s:s, s:s}", "trace_id", ofctx_trace_id(ctx), "span_id",
                                  ofctx_span_id(ctx), "traceparent", ofctx_traceparent(ctx)));
  text = json_dumps(out, JSON_COMPACT);
  if (output)
    rc = ofctx_send_to(ctx, output, text, strlen(text), NULL) == OFCTX_OK ? OFCTX_SUCCESS
                                                                          : OFCTX_ERROR;
  else
    rc = ofctx_set_reply(ctx, text, strlen(text)) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
  free(text);
  json_decref(out);
  return rc;
}

static ofctx_result_t probe(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  json_t *cmd = json_loadb(data, len, 0, NULL);
  json_t *v;
  ofctx_result_t rc = OFCTX_SUCCESS;
  const ofctx_send_opts_t opts = {sizeof opts, NULL, NULL, NULL, send_done, NULL};

  if (!json_is_object(cmd)) {
    json_decref(cmd);
    ofctx_set_reply(ctx, data, len);
    return OFCTX_SUCCESS;
  }
  if ((v = json_object_get(cmd, "reply")) != NULL) {
    rc = describe(ctx, in, NULL);
  } else if ((v = json_object_get(cmd, "describe_to")) != NULL) {
    rc = describe(ctx, in, json_string_value(v));
  } else if ((v = json_object_get(cmd, "return")) != NULL) {
    rc = (ofctx_result_t)json_integer_value(v); /* any value: the runtime's to judge */
  } else if ((v = json_object_get(cmd, "return_env")) != NULL) {
    const char *code = getenv(json_string_value(v) ? json_string_value(v) : "");
    rc = code ? (ofctx_result_t)strtol(code, NULL, 10) : OFCTX_SUCCESS;
  } else if ((v = json_object_get(cmd, "send")) != NULL) {
    json_t *payload = json_pack("{s:O}", "id", json_object_get(cmd, "id"));
    char *text = json_dumps(payload, JSON_COMPACT);
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name) {
      ofctx_err_t e = ofctx_send_to(ctx, json_string_value(name), text, strlen(text), &opts);
      if (e != OFCTX_OK) {
        ofctx_log(ctx, OFCTX_LOG_ERROR, "send to %s: %s", json_string_value(name),
                  ofctx_strerror(e));
        ofctx_set_reply(ctx, ofctx_err_name(e), strlen(ofctx_err_name(e)));
        rc = OFCTX_ERROR;
      }
    }
    free(text);
    json_decref(payload);
  } else if ((v = json_object_get(cmd, "send_text")) != NULL) {
    if (ofctx_send_to(ctx, json_string_value(v), "plain text", 10, NULL) != OFCTX_OK)
      rc = OFCTX_ERROR;
  } else if ((v = json_object_get(cmd, "send_unsized")) != NULL) {
    const ofctx_send_opts_t unsized = {0};
    if (ofctx_send_to(ctx, json_string_value(v), "x", 1, &unsized) != OFCTX_EINVAL)
      rc = OFCTX_ERROR;
  } else if ((v = json_object_get(cmd, "send_opts")) != NULL) {
    const char *md[9] = {NULL};
    const char *text = json_string_value(json_object_get(v, "data"));
    ofctx_send_opts_t call_opts = {.size = sizeof call_opts,
                                   .content_type = json_string_value(json_object_get(v, "type")),
                                   .operation = json_string_value(json_object_get(v, "operation")),
                                   .metadata = md};
    for (size_t i = 0; i < 8 && i < json_array_size(json_object_get(v, "metadata")); i++)
      md[i] = json_string_value(json_array_get(json_object_get(v, "metadata"), i));
    if (!md[0])
      call_opts.metadata = NULL;
    if (ofctx_send_to(ctx, json_string_value(json_object_get(v, "output")), text, strlen(text),
                      &call_opts) != OFCTX_OK)
      rc = OFCTX_ERROR;
  } else if ((v = json_object_get(cmd, "publish_bulk")) != NULL) {
    json_t *list = json_object_get(cmd, "entries"), *e;
    size_t n = json_array_size(list), i;
    ofctx_bulk_entry_t entries[16] = {{0}};
    const char *md[16][3] = {{0}};
    char *fill[16] = {0};
    json_array_foreach(list, i, e) {
      if (i == 16)
        break;
      entries[i].entry_id = json_string_value(json_object_get(e, "id"));
      entries[i].data = json_string_value(json_object_get(e, "data"));
      entries[i].len = entries[i].data ? strlen(entries[i].data) : 0;
      entries[i].content_type = json_string_value(json_object_get(e, "type"));
      md[i][0] = json_string_value(json_array_get(json_object_get(e, "metadata"), 0));
      md[i][1] = json_string_value(json_array_get(json_object_get(e, "metadata"), 1));
      entries[i].metadata = md[i][0] ? md[i] : NULL;
      if (json_integer_value(json_object_get(e, "fill")) > 0 &&
          (fill[i] = malloc((size_t)json_integer_value(json_object_get(e, "fill")))) != NULL) {
        entries[i].len = (size_t)json_integer_value(json_object_get(e, "fill"));
        memset(fill[i], 'x', entries[i].len);
        entries[i].data = fill[i];
      }
    }
    if (ofctx_publish_bulk(ctx, json_string_value(json_array_get(v, 0)),
                           json_string_value(json_array_get(v, 1)), entries, n > 16 ? 16 : n,
                           &opts) != OFCTX_OK)
      rc = OFCTX_DROP;
    for (i = 0; i < 16; i++)
      free(fill[i]);
  } else if ((v = json_object_get(cmd, "publish")) != NULL) {
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", json_string_value(json_object_get(cmd, "id")));
    if (ofctx_publish(ctx, json_string_value(json_array_get(v, 0)),
                      json_string_value(json_array_get(v, 1)), body, strlen(body),
                      NULL) != OFCTX_OK)
      rc = OFCTX_ERROR;
  } else if ((v = json_object_get(cmd, "publish_bytes")) != NULL) {
    static const char bytes[] = {0x00, (char)0xff, (char)0xfe, (char)0x80};
    if (ofctx_publish(ctx, json_string_value(json_array_get(v, 0)),
                      json_string_value(json_array_get(v, 1)), bytes, sizeof bytes,
                      NULL) != OFCTX_OK)
      rc = OFCTX_ERROR;
  } else if (json_object_get(cmd, "state_get") || json_object_get(cmd, "state_set") ||
             json_object_get(cmd, "state_delete")) {
    rc = state_command(ctx, cmd);
  } else if ((v = json_object_get(cmd, "invoke")) != NULL) {
    if (ofctx_invoke_binding(ctx, json_string_value(json_array_get(v, 0)),
                             json_string_value(json_array_get(v, 1)), "{\"direct\":true}", 15,
                             NULL) != OFCTX_OK)
      rc = OFCTX_ERROR;
  }
  json_decref(cmd);
  return rc;
}

static ofctx_result_t probe_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  ofctx_result_t result = OFCTX_SUCCESS;
  json_t *ids = json_array(), *offsets = json_array(), *partitions = json_array();
  char *ids_to = NULL; /* the output of batch_ids */

  if (ofctx_event(ctx) == NULL && ofctx_batch_event(batch, ofctx_batch_count(batch)) != NULL)
    return OFCTX_ERROR; /* past the end must be NULL */
  for (size_t i = 0; i < ofctx_batch_count(batch); i++) {
    const ofctx_event_t *ev = ofctx_batch_event(batch, i);
    size_t len;
    const char *data = ofctx_event_data(ev, &len);
    json_t *cmd = json_loadb(data, len, 0, NULL), *v;
    ofctx_result_t rc = probe(ctx, ev);
    if (rc == OFCTX_SUCCESS || rc == OFCTX_DROP || rc == OFCTX_ERROR)
      ofctx_batch_set_status(batch, i, rc);
    if ((v = json_object_get(cmd, "batch_return")) != NULL)
      result = (ofctx_result_t)json_integer_value(v);
    json_array_append(ids, json_is_object(cmd) && json_object_get(cmd, "id")
                               ? json_object_get(cmd, "id")
                               : json_null());
    json_array_append_new(offsets, json_string(ofctx_event_metadata(ev, "__offset")
                                                   ? ofctx_event_metadata(ev, "__offset")
                                                   : ""));
    json_array_append_new(partitions, json_string(ofctx_event_metadata(ev, "__partition")
                                                      ? ofctx_event_metadata(ev, "__partition")
                                                      : ""));
    if ((v = json_object_get(cmd, "batch_ids")) != NULL && !ids_to)
      ids_to = copy_of(json_string_value(v));
    if ((v = json_object_get(cmd, "batch_report")) != NULL) {
      char report[64];
      snprintf(report, sizeof report, "{\"entries\":%zu}", ofctx_batch_count(batch));
      if (ofctx_send_to(ctx, json_string_value(v), report, strlen(report), NULL) != OFCTX_OK)
        result = OFCTX_ERROR;
    }
    json_decref(cmd);
  }
  if (ids_to) {
    json_t *report =
        json_pack("{s:O,s:O,s:O}", "ids", ids, "offsets", offsets, "partitions", partitions);
    char *text = json_dumps(report, JSON_COMPACT);
    if (!text || ofctx_send_to(ctx, ids_to, text, strlen(text), NULL) != OFCTX_OK)
      result = OFCTX_ERROR;
    free(text);
    json_decref(report);
    free(ids_to);
  }
  json_decref(ids);
  json_decref(offsets);
  json_decref(partitions);
  if (ofctx_batch_set_status(batch, 0, (ofctx_result_t)7) != OFCTX_EINVAL)
    return OFCTX_ERROR; /* not a status */
  return result;
}

/* --exit-with STATUS: prints the context's name, the value and the
 * options' arg, and exits with STATUS. */
static int exit_with(const ofctx_config_t *cfg, const char *value, void *arg) {
  printf("%s %s %s\n", ofctx_config_name(cfg), value, (const char *)arg);
  return (int)strtol(value, NULL, 10);
}

/* --hello: a command without a value. */
static int hello(const ofctx_config_t *cfg, const char *value, void *arg) {
  (void)arg;
  printf("hello from %s%s\n", ofctx_config_name(cfg), value ? " with a value" : "");
  return 0;
}

static const ofctx_command_t COMMANDS[] = {
    {"exit-with", "STATUS", "print the context's name and STATUS, and exit with it", exit_with},
    {"hello", NULL, "say hello", hello},
    {NULL, NULL, NULL, NULL}};

/* OFCTX_PROBE_COMMANDS=clash: a command named as a built-in option. */
static const ofctx_command_t CLASHING[] = {{"exit-with", "STATUS", "as usual", exit_with},
                                           {"context", "FILE", "clashes with --context", exit_with},
                                           {NULL, NULL, NULL, NULL}};

/* Whether the event of `ctx` (none in a bulk batch) is a JSON object whose
 * "gate" is `value`. */
static int gate_is(const ofctx_t *ctx, const char *value) {
  const ofctx_event_t *ev = ofctx_event(ctx);
  size_t len;
  const char *data = ev ? ofctx_event_data(ev, &len) : NULL;
  json_t *cmd = data ? json_loadb(data, len, 0, NULL) : NULL;
  const char *gate = json_string_value(json_object_get(cmd, "gate"));
  int is = gate && strcmp(gate, value) == 0;

  json_decref(cmd);
  return is;
}

/* The hook "probe-gate", when the context names it: its pre part drops an
 * event whose data has "gate":"drop"; its post part makes the result of
 * an event with "gate":"forgive" a success. */
static ofctx_result_t gate_pre(ofctx_t *ctx, void *arg) {
  (void)arg;
  return gate_is(ctx, "drop") ? OFCTX_DROP : OFCTX_SUCCESS;
}

static ofctx_result_t gate_post(ofctx_t *ctx, ofctx_result_t result, void *arg) {
  (void)arg;
  return gate_is(ctx, "forgive") ? OFCTX_SUCCESS : result;
}

static const ofctx_hook_t HOOKS[] = {{"probe-gate", gate_pre, gate_post, NULL, NULL},
                                     {NULL, NULL, NULL, NULL, NULL}};

int main(int argc, char **argv) {
  const char *batch = getenv("OFCTX_PROBE_BATCH");
  const char *commands = getenv("OFCTX_PROBE_COMMANDS");
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

  if (batch && strcmp(batch, "1") == 0)
    opts.batch = probe_batch;
  else
    opts.function = probe;
  opts.arg = "probe-arg";
  opts.commands = commands && strcmp(commands, "clash") == 0 ? CLASHING : COMMANDS;
  opts.hooks = HOOKS;
  return ofctx_main_opts(argc, argv, &opts);
}
