/* Log lines: text for people, JSON for collectors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "alloc.h"
#include "json_util.h"
#include "log.h"

static struct {
  int json;
  ofctx_log_level_t level;
  const char *k_service, *k_revision, *k_configuration;
} log_state = {0, OFCTX_LOG_INFO, NULL, NULL, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int ofctx__log_setup(char *err, size_t size) {
  const char *format = getenv("OFCTX_LOG_FORMAT");
  const char *level = getenv("OFCTX_LOG_LEVEL");

  log_state.json = 0;
  if (format && *format && strcmp(format, "text") != 0) {
    if (strcmp(format, "json") != 0) {
      snprintf(err, size, "OFCTX_LOG_FORMAT: \"%.40s\" is not \"text\" or \"json\"", format);
      return -1;
    }
    log_state.json = 1;
  }
  log_state.level = OFCTX_LOG_INFO;
  if (level && *level) {
    size_t i;
    for (i = 0; i < 4 && strcasecmp(level, level_names[i]) != 0; i++)
      ;
    if (i == 4) {
      snprintf(err, size, "OFCTX_LOG_LEVEL: \"%.40s\" is not debug, info, warn or error", level);
      return -1;
    }
    log_state.level = (ofctx_log_level_t)i;
  }
  log_state.k_service = getenv("K_SERVICE");
  log_state.k_revision = getenv("K_REVISION");
  log_state.k_configuration = getenv("K_CONFIGURATION");
  return 0;
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

/* Text values are quoted when they hold a space, a quote or a control
 * character, so that a line always parses back into its fields. */
static void text_field(FILE *out, const char *key, const char *value) {
  int plain = *value != '\0';

  for (const char *p = value; *p && plain; p++)
    plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != 0x7f;
  fprintf(out, " %s=", key);
  if (plain) {
    fputs(value, out);
    return;
  }
  fputc('"', out);
  for (const char *p = value; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < ' ' || c == 0x7f)
      fprintf(out, "\\x%02x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
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
static void text_msg(FILE *out, const char *msg) {
  for (const char *p = msg; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < ' ' || c == 0x7f)
      fprintf(out, "\\x%02x", c);
    else
      fputc(c, out);
  }
}

static void emit(ofctx_log_level_t level, const char *msg, va_list ap) {
  char ts[40];
  const char *k_fields[][2] = {{"k_service", log_state.k_service},
                               {"k_revision", log_state.k_revision},
                               {"k_configuration", log_state.k_configuration}};
  const char *key;

  ofctx__timestamp(ts, sizeof ts);
  if (log_state.json) {
    json_t *line = json_pack("{s:s,s:s,s:o}", "time", ts, "level", level_names[level], "msg",
                             json_text(msg));
    char *text;
    if (!line)
      return;
    while ((key = va_arg(ap, const char *)) != NULL) {
      const char *value = va_arg(ap, const char *);
      if (value)
        json_object_set_new(line, key, json_text(value));
    }
    for (size_t i = 0; i < 3; i++)
      if (k_fields[i][1])
        json_object_set_new(line, k_fields[i][0], json_text(k_fields[i][1]));
    text = ofctx__json_text(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) {
      fprintf(stderr, "%s\n", text);
      ofctx__free(text);
    }
    json_decref(line);
    return;
  }
  flockfile(stderr);
  fprintf(stderr, "%s %s ", ts, level_names[level]);
  text_msg(stderr, msg);
  while ((key = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    if (value)
      text_field(stderr, key, value);
  }
  for (size_t i = 0; i < 3; i++)
    if (k_fields[i][1])
      text_field(stderr, k_fields[i][0], k_fields[i][1]);
  fputc('\n', stderr);
  funlockfile(stderr);
}

void ofctx__log(ofctx_log_level_t level, const char *msg, ...) {
  va_list ap;

  if (!ofctx__log_enabled(level))
    return;
  va_start(ap, msg);
  emit(level, msg, ap);
  va_end(ap);
}
