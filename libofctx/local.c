/* The local runtime (--invoke FILE): each line of a file is one event for
 * the function, and each send is printed on stdout as one JSON line instead
 * of going to Dapr. For trying a function without Kafka, Dapr or
 * Kubernetes, and for benchmarks of the function itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "local.h"
#include "local_sink.h"
#include "log.h"
#include "mem.h"

static void answered(ofctx_t *ctx, ofctx__outcome_t outcome) {
  (void)ctx;
  (void)outcome;
}

typedef struct {
  ofctx__host_t *host;
  size_t max_line;  /* longer lines are skipped */
  ofctx_event_t ev; /* the template of every event */
  size_t skipped;
} run_t;

static void deliver(run_t *run, char *line, size_t len) {
  ofctx_event_t ev = run->ev;

  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len == 0)
    return;
  if (len > run->max_line) {
    run->skipped++;
    return;
  }
  line[len] = '\0';
  ev.data = line;
  ev.len = len;
  ofctx__invoke(run->host, NULL, &ev, answered); /* out of memory: counted, not run */
  ofctx__local_sink_flush(run->host->sink);
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

int ofctx__local_run(ofctx__host_t *host, size_t max_line, const char *path, const char *input) {
  const ofctx_config_t *cfg = host->cfg;
  run_t run = {host, max_line, {0}, 0};
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
  rc = read_lines(&run, fileno(f));
  ofctx__tick(host, 1); /* the function stops: what it still holds goes out */
  ofctx__local_sink_flush(host->sink);
  if (rc != 0)
    fprintf(stderr, "--invoke %s: cannot read the events file: %s\n", path, strerror(errno));
  if (f != stdin)
    fclose(f);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "--invoke: cannot write the sends to stdout: %s\n", strerror(errno));
    rc = -1;
  }
  for (size_t o = 0; o < OFCTX__OUTCOME_COUNT; o++)
    totals[o] = ofctx__metrics_events(host->metrics, index, (ofctx__outcome_t)o);
  sent = ofctx__metrics_sends(host->metrics, 1);
  failed = ofctx__metrics_sends(host->metrics, 0);
  fprintf(stderr,
          "%s: %llu events: %llu handled, %llu dropped, %llu failed; %llu sends; %zu lines "
          "skipped (over OFCTX_MAX_BODY_SIZE)\n",
          ofctx_config_name(cfg), (unsigned long long)(totals[0] + totals[1] + totals[2]),
          (unsigned long long)totals[0], (unsigned long long)totals[1],
          (unsigned long long)totals[2], (unsigned long long)(sent + failed), run.skipped);
  return rc != 0 || run.skipped ? 1 : 0;
}
