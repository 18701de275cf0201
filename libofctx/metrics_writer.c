/* A function's own families in the Prometheus text format 0.0.4: names,
 * labels and values checked, texts escaped, each family once a scrape. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "metrics_writer.h"
#include "text.h"

#define NAME_MAX_LEN 200
#define LABEL_MAX_LEN 100

/* No family yet, or the last one was refused: its samples are refused. */
#define NO_FAMILY (-1)

struct ofctx_metrics {
  ofctx__buf_t *out;
  int type;  /* the family last started: an ofctx_metric_type_t, or NO_FAMILY */
  int quiet; /* a refusal in this family was logged: the next are not */
  char family[NAME_MAX_LEN + 1];
  ofctx__buf_t names; /* "\n" then each family's name and "\n": each once */
};

/* Logs why a call of the collector was refused, once a family (a scrape
 * would otherwise log a line for each sample); OFCTX_EINVAL. */
static ofctx_err_t refuse(ofctx_metrics_t *m, const char *family, const char *why) {
  char quoted[OFCTX_QUOTE_SIZE];

  if (m->quiet)
    return OFCTX_EINVAL;
  m->quiet = 1;
  ofctx__quote(quoted, sizeof quoted, family ? family : "(null)");
  ofctx__log(OFCTX_LOG_WARN, "a metric of the function is refused", "family", quoted, "why", why,
             (const char *)NULL);
  return OFCTX_EINVAL;
}

/* Whether `s` is 1-`max` of [a-z0-9_] (snake case, as promtool wants it),
 * not starting with a digit. */
static int name_ok(const char *s, size_t max) {
  size_t n = 0;

  if (!s || (*s >= '0' && *s <= '9'))
    return 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return n >= 1 && n <= max;
}

static int ends_with(const char *s, const char *end) {
  size_t n = strlen(s), e = strlen(end);
  return n >= e && strcmp(s + n - e, end) == 0;
}

/* Why the family `name` of `type` cannot be written, or NULL. */
static const char *family_refused(const ofctx_metrics_t *m, const char *name,
                                  ofctx_metric_type_t type, const char *help) {
  char line[NAME_MAX_LEN + 3];

  if (!name_ok(name, NAME_MAX_LEN))
    return "a metric name is 1-200 of [a-z0-9_], not starting with a digit";
  if (strncmp(name, "ofctx_", 6) == 0)
    return "names starting with ofctx_ are the library's";
  if (type != OFCTX_METRIC_COUNTER && type != OFCTX_METRIC_GAUGE)
    return "the type is neither OFCTX_METRIC_COUNTER nor OFCTX_METRIC_GAUGE";
  if (type == OFCTX_METRIC_COUNTER && !ends_with(name, "_total"))
    return "a counter's name ends in _total";
  if (type == OFCTX_METRIC_GAUGE && ends_with(name, "_total"))
    return "a name ending in _total is a counter's";
  if (!help || !*help || !ofctx__utf8_valid(help, strlen(help)))
    return "a family has a help text, in UTF-8";
  snprintf(line, sizeof line, "\n%s\n", name);
  if (m->names.data && strstr(m->names.data, line))
    return "a family is written once a scrape";
  return NULL;
}

ofctx_err_t ofctx_metrics_family(ofctx_metrics_t *m, const char *name, ofctx_metric_type_t type,
                                 const char *help) {
  const char *why;

  if (!m)
    return OFCTX_EINVAL;
  m->type = NO_FAMILY;
  m->quiet = 0;
  why = family_refused(m, name, type, help);
  if (why)
    return refuse(m, name, why);
  if (!m->names.data)
    ofctx__buf_puts(&m->names, "\n");
  ofctx__buf_printf(&m->names, "%s\n", name);
  ofctx__buf_printf(m->out, "# HELP %s ", name);
  ofctx__metrics_escape(m->out, help, 0);
  ofctx__buf_printf(m->out, "\n# TYPE %s %s\n", name,
                    type == OFCTX_METRIC_COUNTER ? "counter" : "gauge");
  memcpy(m->family, name, strlen(name) + 1);
  m->type = (int)type;
  return OFCTX_OK;
}

/* Why the sample cannot be written, or NULL. */
static const char *sample_refused(const ofctx_metrics_t *m, const char *const *labels, size_t n,
                                  double value) {
  if (m->type == NO_FAMILY)
    return "a sample needs a family (ofctx_metrics_family) that was not refused";
  if (n && !labels)
    return "labels is NULL";
  if (m->type == OFCTX_METRIC_COUNTER && !(value >= 0))
    return "a counter's value is at least 0";
  for (size_t i = 0; i < n; i++) {
    const char *name = labels[2 * i], *value_i = labels[2 * i + 1];
    if (!name_ok(name, LABEL_MAX_LEN) || strncmp(name, "__", 2) == 0)
      return "a label name is 1-100 of [a-z0-9_], not starting with a digit nor with __";
    if (!value_i || !ofctx__utf8_valid(value_i, strlen(value_i)))
      return "a label value is UTF-8 text";
    for (size_t j = 0; j < i; j++)
      if (strcmp(labels[2 * j], name) == 0)
        return "a label is given once";
  }
  return NULL;
}

/* `v` as the format writes a number: the shortest of %.15g and %.17g that
 * reads back the same, NaN, +Inf or -Inf. */
static void number(ofctx__buf_t *out, double v) {
  char text[32];

  if (isnan(v)) {
    ofctx__buf_puts(out, "NaN");
    return;
  }
  if (isinf(v)) {
    ofctx__buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  snprintf(text, sizeof text, "%.15g", v);
  if (strtod(text, NULL) != v) /* strtod reads the point printf wrote */
    snprintf(text, sizeof text, "%.17g", v);
  ofctx__dot_decimal(text, NULL);
  ofctx__buf_puts(out, text);
}

ofctx_err_t ofctx_metrics_sample(ofctx_metrics_t *m, const char *const *labels, size_t label_count,
                                 double value) {
  const char *why;

  if (!m)
    return OFCTX_EINVAL;
  why = sample_refused(m, labels, label_count, value);
  if (why)
    return refuse(m, m->type == NO_FAMILY ? "(none)" : m->family, why);
  ofctx__buf_puts(m->out, m->family);
  for (size_t i = 0; i < label_count; i++) {
    ofctx__buf_printf(m->out, "%s%s=\"", i ? "," : "{", labels[2 * i]);
    ofctx__metrics_escape(m->out, labels[2 * i + 1], 1);
    ofctx__buf_puts(m->out, "\"");
  }
  ofctx__buf_puts(m->out, label_count ? "} " : " ");
  number(m->out, value);
  ofctx__buf_puts(m->out, "\n");
  return OFCTX_OK;
}

void ofctx__metrics_collect(ofctx__buf_t *out, ofctx_metrics_function_t fn, void *user_data) {
  ofctx_metrics_t m = {.out = out, .type = NO_FAMILY};

  fn(&m, user_data);
  ofctx__buf_free(&m.names);
}
