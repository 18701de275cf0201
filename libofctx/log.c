/* Log lines: text for people, JSON for collectors. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "buf.h"
#include "error_msg.h"
#include "json_util.h"
#include "log.h"
#include "mem.h"
#include "text.h"

static struct {
  int json;
  ofctx_log_level_t level;
  const char *k_service, *k_revision, *k_configuration;
} log_state = {0, OFCTX_LOG_INFO, NULL, NULL, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

ofctx_err_t ofctx__log_setup(ofctx_error_t *err) {
  const char *format = getenv("OFCTX_LOG_FORMAT");
  const char *level = getenv("OFCTX_LOG_LEVEL");

  log_state.json = 0;
  if (format && *format && strcmp(format, "text") != 0) {
    if (strcmp(format, "json") != 0)
      return ofctx__error(err, OFCTX_EOPTION,
                          "OFCTX_LOG_FORMAT: \"%.40s\" is not \"text\" or \"json\"", format);
    log_state.json = 1;
  }
  log_state.level = OFCTX_LOG_INFO;
  if (level && *level) {
    size_t i;
    for (i = 0; i < 4 && strcasecmp(level, level_names[i]) != 0; i++)
      ;
    if (i == 4)
      return ofctx__error(err, OFCTX_EOPTION,
                          "OFCTX_LOG_LEVEL: \"%.40s\" is not debug, info, warn or error", level);
    log_state.level = (ofctx_log_level_t)i;
  }
  log_state.k_service = getenv("K_SERVICE");
  log_state.k_revision = getenv("K_REVISION");
  log_state.k_configuration = getenv("K_CONFIGURATION");
  ofctx__error_clear(err);
  return OFCTX_OK;
}

int ofctx__log_enabled(ofctx_log_level_t level) { return level >= log_state.level; }

void ofctx__timestamp(char *out, size_t size) {
  struct timespec ts;
  struct tm tm;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  /* strftime: fixed widths that the compiler need not prove */
  size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, size - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* ---- the writer: lines never wait for stderr on the loop thread ---- */

/* Lines wait here for the writer thread, which alone blocks on stderr; a
 * line that does not fit is dropped and counted, so that a stderr nobody
 * reads (a full pipe) never stalls the loop. Two halves: one is filled
 * while the other is written. */
#define LOG_BUFFER_SIZE (256 * 1024)

static struct {
  uv_mutex_t lock;
  uv_cond_t wake, drained;
  uv_thread_t thread;
  char halves[2][LOG_BUFFER_SIZE];
  char *filling; /* the half lines are added to */
  size_t len;    /* bytes in it */
  int writing;   /* the thread is writing the other half */
  int running;   /* the thread takes the lines (else they are written at once) */
  int stopping;
  uint64_t dropped;
} writer;

/* The whole of `data` to stderr, blocking; gives up on an error. */
static void write_all(const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) { /* someone made stderr non-blocking */
      struct pollfd pfd = {STDERR_FILENO, POLLOUT, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (n <= 0)
      return;
    data += n;
    len -= (size_t)n;
  }
}

static void writer_main(void *arg) {
  (void)arg;
  uv_mutex_lock(&writer.lock);
  for (;;) {
    char *full;
    size_t len;
    while (writer.len == 0 && !writer.stopping)
      uv_cond_wait(&writer.wake, &writer.lock);
    if (writer.len == 0)
      break;
    full = writer.filling;
    len = writer.len;
    writer.filling = full == writer.halves[0] ? writer.halves[1] : writer.halves[0];
    writer.len = 0;
    writer.writing = 1;
    uv_mutex_unlock(&writer.lock);
    write_all(full, len);
    uv_mutex_lock(&writer.lock);
    writer.writing = 0;
    if (writer.len == 0)
      uv_cond_broadcast(&writer.drained);
  }
  uv_cond_broadcast(&writer.drained);
  uv_mutex_unlock(&writer.lock);
}

int ofctx__log_writer_start(void) {
  if (writer.running)
    return 0;
  if (uv_mutex_init(&writer.lock) != 0)
    return -1;
  if (uv_cond_init(&writer.wake) != 0) {
    uv_mutex_destroy(&writer.lock);
    return -1;
  }
  if (uv_cond_init(&writer.drained) != 0) {
    uv_cond_destroy(&writer.wake);
    uv_mutex_destroy(&writer.lock);
    return -1;
  }
  writer.filling = writer.halves[0];
  writer.len = 0;
  writer.stopping = 0;
  if (uv_thread_create(&writer.thread, writer_main, NULL) != 0) {
    uv_cond_destroy(&writer.drained);
    uv_cond_destroy(&writer.wake);
    uv_mutex_destroy(&writer.lock);
    return -1;
  }
  writer.running = 1;
  return 0;
}

void ofctx__log_writer_stop(uint64_t wait_ms) {
  int drained;

  if (!writer.running)
    return;
  uv_mutex_lock(&writer.lock);
  writer.stopping = 1;
  uv_cond_signal(&writer.wake);
  while (writer.len > 0 || writer.writing)
    if (uv_cond_timedwait(&writer.drained, &writer.lock, wait_ms * 1000000) != 0)
      break;
  drained = writer.len == 0 && !writer.writing;
  /* Lines from now on are written at once (the process is about to end). */
  writer.running = 0;
  uv_mutex_unlock(&writer.lock);
  if (!drained)
    return; /* stderr is stuck: leave the thread to it rather than hang */
  uv_thread_join(&writer.thread);
  uv_cond_destroy(&writer.drained);
  uv_cond_destroy(&writer.wake);
  uv_mutex_destroy(&writer.lock);
}

uint64_t ofctx__log_dropped(void) {
  uint64_t n;

  if (!writer.running)
    return writer.dropped;
  uv_mutex_lock(&writer.lock);
  n = writer.dropped;
  uv_mutex_unlock(&writer.lock);
  return n;
}

/* One whole line (with its newline) to the writer, or to stderr at once
 * when there is no writer; dropped when it does not fit (or when it could
 * not be made). */
static void put_line(ofctx__buf_t *line) {
  if (!writer.running) {
    if (line->failed)
      writer.dropped++;
    else
      write_all(line->data, line->len);
    return;
  }
  uv_mutex_lock(&writer.lock);
  if (line->failed || line->len > LOG_BUFFER_SIZE - writer.len) {
    writer.dropped++;
  } else {
    memcpy(writer.filling + writer.len, line->data, line->len);
    writer.len += line->len;
    uv_cond_signal(&writer.wake);
  }
  uv_mutex_unlock(&writer.lock);
}

/* ---- the lines ---- */

/* Text values are quoted when they hold a space, a quote or a control
 * character, so that a line always parses back into its fields. */
static void text_field(ofctx__buf_t *out, const char *key, const char *value) {
  int plain = *value != '\0';

  for (const char *p = value; *p && plain; p++)
    plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != 0x7f;
  ofctx__buf_printf(out, " %s=", key);
  if (plain) {
    ofctx__buf_puts(out, value);
    return;
  }
  ofctx__buf_puts(out, "\"");
  for (const char *p = value; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\')
      ofctx__buf_printf(out, "\\%c", c);
    else if (c < ' ' || c == 0x7f)
      ofctx__buf_printf(out, "\\x%02x", c);
    else
      ofctx__buf_append(out, p, 1);
  }
  ofctx__buf_puts(out, "\"");
}

/* A JSON string for `s`; bytes that are not UTF-8 (a message cut in the
 * middle of a character, a value from outside) become '?', so that a line
 * is never lost for them. */
static json_t *json_text(const char *s) {
  json_t *v = json_string(s);
  char *copy;

  if (v)
    return v;
  copy = ofctx__strdup(s);
  if (!copy)
    return NULL;
  for (char *p = copy; *p;) {
    size_t n = ofctx__utf8_len(p);
    if (n == 0)
      *p++ = '?';
    else
      p += n;
  }
  v = json_string(copy);
  ofctx__free(copy);
  return v;
}

/* The message of a text line: control characters escaped, so that no
 * message can start a line of its own. */
static void text_msg(ofctx__buf_t *out, const char *msg) {
  for (const char *p = msg; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < ' ' || c == 0x7f)
      ofctx__buf_printf(out, "\\x%02x", c);
    else
      ofctx__buf_append(out, p, 1);
  }
}

static void emit(ofctx_log_level_t level, const char *msg, va_list ap) {
  char ts[40];
  const char *k_fields[][2] = {{"k_service", log_state.k_service},
                               {"k_revision", log_state.k_revision},
                               {"k_configuration", log_state.k_configuration}};
  const char *key;
  ofctx__buf_t out = {0};

  ofctx__timestamp(ts, sizeof ts);
  if (log_state.json) {
    json_t *line =
        json_pack("{s:s,s:s,s:o}", "time", ts, "level", level_names[level], "msg", json_text(msg));
    char *text;
    while (line && (key = va_arg(ap, const char *)) != NULL) {
      const char *value = va_arg(ap, const char *);
      if (value)
        json_object_set_new(line, key, json_text(value));
    }
    for (size_t i = 0; line && i < 3; i++)
      if (k_fields[i][1])
        json_object_set_new(line, k_fields[i][0], json_text(k_fields[i][1]));
    text = line ? ofctx__json_text(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
      ofctx__buf_puts(&out, text);
    else
      out.failed = 1;
    ofctx__free(text);
    json_decref(line);
  } else {
    ofctx__buf_reserve(&out, 200);
    ofctx__buf_printf(&out, "%s %s ", ts, level_names[level]);
    text_msg(&out, msg);
    while ((key = va_arg(ap, const char *)) != NULL) {
      const char *value = va_arg(ap, const char *);
      if (value)
        text_field(&out, key, value);
    }
    for (size_t i = 0; i < 3; i++)
      if (k_fields[i][1])
        text_field(&out, k_fields[i][0], k_fields[i][1]);
  }
  ofctx__buf_puts(&out, "\n");
  put_line(&out);
  ofctx__buf_free(&out);
}

void ofctx__log(ofctx_log_level_t level, const char *msg, ...) {
  va_list ap;

  if (!ofctx__log_enabled(level))
    return;
  va_start(ap, msg);
  emit(level, msg, ap);
  va_end(ap);
}
