/* The local runtime (--invoke FILE): each line of a file is one event for
 * the function, and each send is printed on stdout as one JSON line instead
 * of going to Dapr. For trying a function without Kafka, Dapr or
 * Kubernetes, and for benchmarks of the function itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "base64.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "runtime.h"

/* `len` bytes of `s` as a JSON string, or null for NULL: 0; 1 when they
 * are not UTF-8 text without NUL bytes (nothing is added); out of memory
 * marks `b` failed. */
static int json_quoted(ofctx__buf_t *b, const char *s, size_t len) {
  if (!s) {
    ofctx__buf_puts(b, "null");
    return 0;
  }
  return memchr(s, '\0', len) || ofctx__buf_json_string(b, s, len) != 0;
}

/* A NUL-terminated string (or NULL) as JSON; text that is not UTF-8 marks
 * the line failed. */
static void json_name(ofctx__buf_t *b, const char *s) {
  if (json_quoted(b, s, s ? strlen(s) : 0) != 0)
    b->failed = 1;
}

/* Valid JSON text, its line breaks made spaces: every CR and LF in it is
 * white space between tokens (strings cannot hold them raw), so the value
 * is the same and the printed send stays one line. */
static void json_on_one_line(ofctx__buf_t *b, const char *json, size_t len) {
  size_t start = b->len;

  ofctx__buf_append(b, json, len);
  for (size_t i = start; !b->failed && i < b->len; i++)
    if (b->data[i] == '\n' || b->data[i] == '\r')
      b->data[i] = ' ';
}

int ofctx__local_print(ofctx__runtime_t *rt, size_t slot, const char *name,
                       const char *component, const char *topic, const char *content_type,
                       const char *body, size_t len) {
  ofctx__buf_t *line = &rt->local_line;
  const ofctx_component_t *out =
      slot < ofctx_config_output_count(rt->cfg) ? ofctx_config_output_at(rt->cfg, slot) : NULL;

  line->len = 0;
  ofctx__buf_puts(line, "{\"output\":");
  json_name(line, out ? name : NULL);
  ofctx__buf_puts(line, ",\"componentName\":");
  json_name(line, component);
  ofctx__buf_puts(line, ",\"componentType\":");
  json_name(line, out ? ofctx_component_type(out) : NULL);
  if (!topic) {
    /* a binding's request body {"data":…,"operation":…,"metadata":…} */
    ofctx__buf_append(line, ",", 1);
    json_on_one_line(line, body + 1, len - 1);
  } else {
    ofctx__buf_puts(line, ",\"operation\":\"publish\",\"topic\":");
    json_name(line, topic);
    ofctx__buf_puts(line, ",\"contentType\":");
    json_name(line, content_type);
    if (ofctx__json_valid(body, len)) {
      ofctx__buf_puts(line, ",\"data\":");
      json_on_one_line(line, body, len);
    } else {
      size_t mark = line->len;
      ofctx__buf_puts(line, ",\"data\":");
      if (json_quoted(line, body, len) != 0) {
        /* not text: the bytes as base64 */
        line->len = mark;
        ofctx__buf_puts(line, ",\"data_base64\":\"");
        ofctx__base64_encode(line, body, len);
        ofctx__buf_puts(line, "\"");
      }
    }
    ofctx__buf_puts(line, "}");
  }
  ofctx__buf_append(line, "\n", 1);
  if (line->failed) {
    line->failed = 0;
    return -1;
  }
  fwrite(line->data, 1, line->len, stdout);
  return 0;
}

static void answered(ofctx_t *ctx, ofctx__outcome_t outcome) {
  (void)ctx;
  (void)outcome;
}

typedef struct {
  ofctx__runtime_t *rt;
  ofctx_event_t ev; /* the template of every event */
  size_t skipped;
} run_t;

static void deliver(run_t *run, char *line, size_t len) {
  ofctx_event_t ev = run->ev;

  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len == 0)
    return;
  if (len > run->rt->opts.http.max_body_size) {
    run->skipped++;
    return;
  }
  line[len] = '\0';
  ev.data = line;
  ev.len = len;
  ofctx__invoke(run->rt, NULL, &ev, answered);
  ofctx__local_sends_finish(run->rt);
}

/* Reads `fd` in large blocks (what a pipe has is taken at once, so events
 * streamed in are handled as they come) and delivers each complete line; a
 * line longer than the body limit is skipped (and counted). -1 on a read
 * error. */
static int read_lines(run_t *run, int fd) {
  size_t limit = run->rt->opts.http.max_body_size + 2; /* the line, "\r\n" */
  size_t cap = 1 << 20, len = 0;
  char *buf = ofctx__malloc(cap + 1);
  int skipping = 0, failed = 0;

  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - len);
    size_t start = 0;
    char *nl;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      failed = 1;
      break;
    }
    len += (size_t)n;
    while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
      if (!skipping)
        deliver(run, buf + start, (size_t)(nl - (buf + start)));
      skipping = 0;
      start = (size_t)(nl - buf) + 1;
    }
    /* what this block sent goes out now: a stream's events are answered as
     * they come, and a file's once per block */
    fflush(stdout);
    memmove(buf, buf + start, len - start);
    len -= start;
    if (n == 0)
      break;
    if (len == cap) { /* no end of line in the whole buffer */
      char *bigger = cap < limit ? ofctx__realloc(buf, cap * 2 + 1) : NULL;
      if (bigger) {
        buf = bigger;
        cap *= 2;
      } else {
        if (!skipping)
          run->skipped++;
        skipping = 1;
        len = 0;
      }
    }
  }
  if (len > 0 && !skipping)
    deliver(run, buf, len);
  ofctx__free(buf);
  return failed ? -1 : 0;
}

int ofctx__local_run(ofctx__runtime_t *rt, const char *path, const char *input) {
  const ofctx_config_t *cfg = rt->cfg;
  run_t run = {rt, {0}, 0};
  uint64_t totals[OFCTX__OUTCOME_COUNT] = {0}, sent = 0, failed = 0;
  size_t inputs = ofctx_config_input_count(cfg), index = 0;
  FILE *f;
  int rc;

  if (input) {
    const ofctx_component_t *in = ofctx_config_input(cfg, input);
    if (!in) {
      fprintf(stderr, "--input %s: the function context has no input of that name\n", input);
      return 2;
    }
    while (ofctx_config_input_at(cfg, index) != in)
      index++;
  }
  if (inputs > 0) {
    const ofctx_component_t *in = ofctx_config_input_at(cfg, index);
    run.ev.kind = ofctx_component_kind(in) == OFCTX_COMPONENT_PUBSUB ? OFCTX_EVENT_PUBSUB
                                                                     : OFCTX_EVENT_BINDING;
    run.ev.input = ofctx_component_name(in);
  } else {
    run.ev.kind = OFCTX_EVENT_HTTP;
    run.ev.input = "http";
  }
  run.ev.input_index = index;
  f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "--invoke %s: cannot open the events file: %s\n", path, strerror(errno));
    return 2;
  }
  rt->local = 1;
  rt->local_tail = &rt->local_sends;
  rc = read_lines(&run, fileno(f));
  if (rc != 0)
    fprintf(stderr, "--invoke %s: cannot read the events file: %s\n", path, strerror(errno));
  if (f != stdin)
    fclose(f);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "--invoke: cannot write the sends to stdout: %s\n", strerror(errno));
    rc = -1;
  }
  for (size_t o = 0; o < OFCTX__OUTCOME_COUNT; o++)
    totals[o] = ofctx__metrics_events(&rt->metrics, index, (ofctx__outcome_t)o);
  sent = ofctx__metrics_sends(&rt->metrics, 1);
  failed = ofctx__metrics_sends(&rt->metrics, 0);
  fprintf(stderr,
          "%s: %llu events: %llu handled, %llu dropped, %llu failed; %llu sends; %zu lines "
          "skipped (over OFCTX_MAX_BODY_SIZE)\n",
          ofctx_config_name(cfg),
          (unsigned long long)(totals[0] + totals[1] + totals[2]), (unsigned long long)totals[0],
          (unsigned long long)totals[1], (unsigned long long)totals[2],
          (unsigned long long)(sent + failed), run.skipped);
  ofctx__buf_free(&rt->local_line);
  return rc != 0 || run.skipped ? 1 : 0;
}
