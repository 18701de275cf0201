/* The local mode (--invoke FILE): each line of a file is one event for the
 * function, and each send is printed on stdout as one JSON line instead of
 * going to Dapr (local_sink.h), and so is the end of an event that did not
 * succeed or set a reply (of every event with --all-outcomes). For trying a
 * function without Kafka, Dapr or Kubernetes, and for benchmarks of the
 * function itself. It serves nothing and needs no loop: its run reads the
 * lines and returns the exit status, 0, 1 when an event failed (without
 * --keep-going), a line was skipped or reading failed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error_msg.h"
#include "json_scan.h"
#include "local_sink.h"
#include "log.h"
#include "mem.h"
#include "mode.h"

typedef struct {
  ofctx__host_t *host;
  ofctx__local_args_t args;
  size_t max_line;  /* longer lines are skipped (and counted) */
  FILE *file;       /* the events */
  ofctx_event_t ev; /* the template of every event */
  size_t line;      /* the number of the line being read */
  size_t skipped, failed, not_events;
  size_t first_failed; /* the line of the first event that failed, or 0 */
  int stop;            /* an event failed: no more lines (without keep_going) */
} run_t;

/* What an event's answer needs: its run and line. */
typedef struct {
  run_t *run;
  size_t line;
} origin_t;

static void failed(run_t *run, size_t line) {
  run->failed++;
  if (!run->first_failed)
    run->first_failed = line;
  if (!run->args.keep_going)
    run->stop = 1;
}

/* An event's end is printed when it did not succeed or set a reply (the
 * function's answer, an output like a send), or with --all-outcomes: a
 * stream of successes without replies prints only its sends. */
static int end_printed(const run_t *run, const ofctx_t *ctx, ofctx__outcome_t outcome) {
  return run->args.all_outcomes || outcome != OFCTX__OUTCOME_SUCCESS || ctx->reply ||
         ctx->reply_attributes;
}

static void answered(ofctx_t *ctx, ofctx__outcome_t outcome) {
  static const char *const names[] = {"SUCCESS", "DROP", "RETRY"};
  origin_t *o = ctx->req;

  if (end_printed(o->run, ctx, outcome))
    ofctx__local_sink_answer(o->run->host->sink, o->line, names[outcome], ctx->result, ctx->reply,
                             ctx->reply_len, ctx->reply_attributes, NULL);
  if (outcome == OFCTX__OUTCOME_RETRY)
    failed(o->run, o->line);
  ofctx__free(o);
}

/* ---- --event-lines: {"data" | "data_base64", "metadata", "attributes"} ---- */

typedef struct {
  const char *data, *b64, *metadata, *attributes;
  size_t data_len, b64_len, metadata_len, attributes_len;
  int unknown; /* a member of another name */
} line_fields_t;

static int line_field(void *arg, const char *key, size_t key_len, const char *value,
                      size_t value_len) {
  line_fields_t *f = arg;
  static const char *const names[] = {"\"data\"", "\"data_base64\"", "\"metadata\"",
                                      "\"attributes\""};
  const char **slots[] = {&f->data, &f->b64, &f->metadata, &f->attributes};
  size_t *lens[] = {&f->data_len, &f->b64_len, &f->metadata_len, &f->attributes_len};

  for (size_t i = 0; i < 4; i++)
    if (key_len == strlen(names[i]) && memcmp(key, names[i], key_len) == 0) {
      *slots[i] = value;
      *lens[i] = value_len;
      return 0;
    }
  f->unknown = 1;
  return 0;
}

/* Each member of an object appended to `b` as "name NUL value NUL" (a
 * string value's characters, another value's JSON text), and counted; the
 * walk stops (with `why` set) at a name or value that holds a NUL byte, or
 * when out of memory (`b` failed). */
typedef struct {
  ofctx__buf_t *b;
  json_t *object; /* attributes: also set here */
  size_t count;
  const char *why;
} pairs_t;

static int pair(void *arg, const char *key, size_t key_len, const char *value, size_t value_len) {
  pairs_t *p = arg;
  size_t name = p->b->len, text;

  ofctx__json_string_decode(p->b, key, key_len);
  ofctx__buf_append(p->b, "", 1);
  text = p->b->len;
  if (value[0] == '"')
    ofctx__json_string_decode(p->b, value, value_len);
  else
    ofctx__buf_append(p->b, value, value_len);
  ofctx__buf_append(p->b, "", 1);
  if (p->b->failed)
    return 1;
  if (strlen(p->b->data + name) != text - name - 1 ||
      strlen(p->b->data + text) != p->b->len - text - 1) {
    p->why = "a metadata or attribute name or value holds a NUL byte";
    return 1;
  }
  if (p->object &&
      json_object_set_new(p->object, p->b->data + name, json_string(p->b->data + text)) != 0) {
    p->b->failed = 1;
    return 1;
  }
  p->count++;
  return 0;
}

/* The data of the line's event into `store`: data_base64's bytes, data's
 * characters when it is a string, else its JSON text. NULL, or why the line
 * is not an event. */
static const char *line_data(const line_fields_t *f, ofctx__buf_t *store) {
  if (f->data && f->b64)
    return "the line has both data and data_base64";
  if (f->b64) {
    char *bytes;
    size_t len;
    ofctx_err_t rc;
    if (f->b64[0] != '"')
      return "data_base64 is not a string";
    rc = ofctx__json_base64(f->b64, f->b64_len, &bytes, &len);
    if (rc != OFCTX_OK)
      return rc == OFCTX_EINVAL ? "data_base64 is not base64" : "out of memory";
    ofctx__buf_append(store, bytes, len);
    ofctx__free(bytes);
  } else if (f->data && f->data[0] == '"') { /* a string: its characters */
    ofctx__json_string_decode(store, f->data, f->data_len);
  } else if (f->data) { /* other JSON: its text */
    ofctx__buf_append(store, f->data, f->data_len);
  }
  return NULL;
}

/* The line's attributes into `ev` (their texts also into `store`): NULL,
 * or why the line is not an event. */
static const char *line_attributes(const run_t *run, const line_fields_t *f, ofctx__buf_t *store,
                                   ofctx_event_t *ev) {
  pairs_t attrs = {store, NULL, 0, NULL};

  if (run->ev.kind != OFCTX_EVENT_PUBSUB)
    return "attributes are for pub/sub inputs (CloudEvents) only";
  attrs.object = json_object();
  if (!attrs.object || f->attributes[0] != '{' ||
      ofctx__json_members_valid(f->attributes, f->attributes_len, pair, &attrs) != 0) {
    json_decref(attrs.object);
    return attrs.why                        ? attrs.why
           : !attrs.object || store->failed ? "out of memory"
                                            : "attributes is not an object";
  }
  ev->attributes = attrs.object;
  return NULL;
}

/* The event a line holds, into `ev` (which owns all it points to): NULL,
 * or why the line is not an event. */
static const char *event_of_line(run_t *run, const char *line, size_t len, ofctx_event_t *ev) {
  line_fields_t f = {0};
  ofctx__buf_t store = {0}; /* the data, a NUL, then the metadata's pairs */
  pairs_t md = {&store, NULL, 0, NULL};
  size_t data_len;
  const char *why;

  if (ofctx__json_members(line, len, line_field, &f) != 0)
    return "the line is not a JSON object (--event-lines)";
  if (f.unknown)
    return "a member is none of data, data_base64, metadata, attributes";
  why = line_data(&f, &store);
  if (why) {
    ofctx__buf_free(&store);
    return why;
  }
  data_len = store.len;
  ofctx__buf_append(&store, "", 1);
  if (f.metadata && (f.metadata[0] != '{' ||
                     ofctx__json_members_valid(f.metadata, f.metadata_len, pair, &md) != 0))
    why = md.why ? md.why : store.failed ? "out of memory" : "metadata is not an object";
  if (!why && f.attributes)
    why = line_attributes(run, &f, &store, ev);
  if (!why && store.failed)
    why = "out of memory";
  if (!why) {
    ofctx__http_header_t *pairs =
        ofctx__http_headers_unpack(store.data + data_len + 1, md.count, 0);
    if ((md.count && !pairs) || ofctx__event_metadata_add(ev, pairs, md.count, 0) != 0)
      why = "out of memory";
    ofctx__free(pairs);
  }
  ev->owned = store.data; /* the metadata's views point into it too */
  ev->data = store.data ? store.data : "";
  ev->len = data_len;
  ev->content_type = json_string_value(json_object_get(ev->attributes, "datacontenttype"));
  return why;
}

static void deliver(run_t *run, char *line, size_t len) {
  ofctx_event_t ev = run->ev;
  origin_t *o;
  const char *why = NULL;

  run->line++;
  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len == 0 || run->stop)
    return;
  if (len > run->max_line) {
    run->skipped++;
    return;
  }
  line[len] = '\0';
  ev.data = line;
  ev.len = len;
  if (run->args.event_lines && (why = event_of_line(run, line, len, &ev)) != NULL) {
    ofctx__event_clear(&ev);
    ofctx__local_sink_answer(run->host->sink, run->line, NULL, 0, NULL, 0, NULL, why);
    ofctx__log(OFCTX_LOG_ERROR, "the line is not an event", "reason", why, (const char *)NULL);
    run->not_events++;
    failed(run, run->line);
    return;
  }
  o = ofctx__malloc(sizeof *o);
  if (o)
    *o = (origin_t){run, run->line};
  if (!o || ofctx__invoke(run->host, o, &ev, answered) != 0) { /* counted, not run */
    if (!o)
      ofctx__event_clear(&ev);
    ofctx__free(o);
    ofctx__local_sink_answer(run->host->sink, run->line, NULL, 0, NULL, 0, NULL, "out of memory");
    failed(run, run->line);
  }
  ofctx__local_sink_flush(run->host->sink);
}

/* The complete lines of buf[0, len) delivered (but the rest of a line too
 * long to read, which `*skipping` says is being skipped): how many bytes
 * they took. */
static size_t take_lines(run_t *run, char *buf, size_t len, int *skipping) {
  size_t start = 0;
  char *nl;

  while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
    if (!*skipping)
      deliver(run, buf + start, (size_t)(nl - (buf + start)));
    else
      run->line++; /* the end of a line too long to read */
    *skipping = 0;
    start = (size_t)(nl - buf) + 1;
  }
  return start;
}

/* The buffer doubled while a line of `limit` bytes does not fit it yet: 0,
 * or -1 (the line is too long to read, or there is no memory for it). */
static int grow(char **buf, size_t *cap, size_t limit) {
  char *bigger = *cap < limit ? ofctx__realloc(*buf, *cap * 2 + 1) : NULL;

  if (!bigger)
    return -1;
  *buf = bigger;
  *cap *= 2;
  return 0;
}

/* Reads `fd` in large blocks (what a pipe has is taken at once, so events
 * streamed in are handled as they come) and delivers each complete line; a
 * line longer than the body limit is skipped (and counted). -1 on a read
 * error. */
static int read_lines(run_t *run, int fd) {
  size_t limit = run->max_line + 2; /* the line, "\r\n" */
  size_t cap = 1 << 20, len = 0;
  char *buf = ofctx__malloc(cap + 1);
  int skipping = 0, failed = 0;

  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - len);
    size_t taken;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      failed = 1;
      break;
    }
    len += (size_t)n;
    taken = take_lines(run, buf, len, &skipping);
    /* what this block sent goes out now: a stream's events are answered as
     * they come, and a file's once per block */
    fflush(stdout);
    memmove(buf, buf + taken, len - taken);
    len -= taken;
    if (n == 0 || run->stop)
      break;
    /* no end of line in the whole buffer: a longer one, or the line skipped */
    if (len == cap && grow(&buf, &cap, limit) != 0) {
      if (!skipping)
        run->skipped++;
      skipping = 1;
      len = 0;
    }
  }
  if (len > 0 && !skipping && !run->stop)
    deliver(run, buf, len);
  ofctx__free(buf);
  return failed ? -1 : 0;
}

static void local_stop(void *state) {
  run_t *run = state;

  if (run->file && run->file != stdin)
    fclose(run->file);
  ofctx__free(run);
}

/* The template of every event: the input the events are for (--input, or
 * the first), or a Knative function's "http". 0, or -1 with the reason in
 * `err` when the context has no input of that name. */
static int event_template(run_t *run, const ofctx_config_t *cfg, ofctx_error_t *err) {
  const char *input = run->args.input;
  size_t index = 0;

  if (input) {
    const ofctx_component_t *in = ofctx_config_input(cfg, input);
    if (!in) {
      ofctx__error(err, OFCTX_EINVAL, "--input %s: the function context has no input of that name",
                   input);
      return -1;
    }
    while (ofctx_config_input_at(cfg, index) != in)
      index++;
  }
  if (ofctx_config_input_count(cfg) > 0) {
    const ofctx_component_t *in = ofctx_config_input_at(cfg, index);
    run->ev.kind = ofctx_component_kind(in) == OFCTX_COMPONENT_PUBSUB ? OFCTX_EVENT_PUBSUB
                                                                      : OFCTX_EVENT_BINDING;
    run->ev.input = ofctx_component_name(in);
  } else {
    run->ev.kind = OFCTX_EVENT_HTTP;
    run->ev.input = "http";
  }
  run->ev.input_index = index;
  return 0;
}

static void *local_start(const ofctx__mode_env_t *env, ofctx_error_t *err) {
  const char *path = env->local.path;
  run_t *run;

  if (env->host->http_fn) {
    ofctx__error(err, OFCTX_EINVAL,
                 "--invoke runs functions of the OpenFunction signature, not plain HTTP "
                 "functions");
    return NULL;
  }
  run = ofctx__calloc(1, sizeof *run);
  if (!run) {
    ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    return NULL;
  }
  *run = (run_t){.host = env->host, .args = env->local, .max_line = env->max_line};
  if (event_template(run, env->cfg, err) != 0) {
    local_stop(run);
    return NULL;
  }
  run->file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!run->file) {
    ofctx__error(err, OFCTX_EINVAL, "--invoke %s: cannot open the events file: %s", path,
                 strerror(errno));
    local_stop(run);
    return NULL;
  }
  /* Without a loop there is no timer: the local sink finishes each send
   * once the function has returned, so there is nothing to wait for. */
  env->host->timeout_ms = 0;
  return run;
}

/* The summary on stderr, once every line has been read. */
static void summary(const run_t *run) {
  const ofctx_config_t *cfg = run->host->cfg;
  const ofctx__metrics_t *m = run->host->metrics;
  uint64_t totals[OFCTX__OUTCOME_COUNT] = {0};
  uint64_t sends = ofctx__metrics_sends(m, 1) + ofctx__metrics_sends(m, 0);

  for (size_t o = 0; o < OFCTX__OUTCOME_COUNT; o++)
    totals[o] = ofctx__metrics_events(m, run->ev.input_index, (ofctx__outcome_t)o);
  fprintf(stderr,
          "%s: %llu events: %llu handled, %llu dropped, %llu failed; %llu sends; %zu lines "
          "skipped (over OFCTX_MAX_BODY_SIZE)%s\n",
          ofctx_config_name(cfg), (unsigned long long)(totals[0] + totals[1] + totals[2]),
          (unsigned long long)totals[0], (unsigned long long)totals[1],
          (unsigned long long)totals[2], (unsigned long long)sends, run->skipped,
          run->not_events ? "; lines that are not events: see above" : "");
  if (run->stop)
    fprintf(stderr, "%s: stopped: the event of line %zu failed (--keep-going goes on)\n",
            ofctx_config_name(cfg), run->first_failed);
}

static int local_run(void *state) {
  run_t *run = state;
  int rc = read_lines(run, fileno(run->file));

  ofctx__tick(run->host, 1); /* the function stops: what it still holds goes out */
  ofctx__local_sink_flush(run->host->sink);
  if (rc != 0)
    fprintf(stderr, "--invoke %s: cannot read the events file: %s\n", run->args.path,
            strerror(errno));
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "--invoke: cannot write the sends to stdout: %s\n", strerror(errno));
    rc = -1;
  }
  summary(run);
  return rc != 0 || run->skipped || (run->failed && !run->args.keep_going) ? 1 : 0;
}

const ofctx__mode_t ofctx__local_mode = {.name = "Local",
                                         .start = local_start,
                                         .run = local_run,
                                         .sink_new = ofctx__local_sink_new,
                                         .stop = local_stop};
