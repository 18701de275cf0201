/* A function's own metrics, served on GET /metrics after the library's.
 *
 * The function keeps its numbers in its own state (counters it counts,
 * gauges it can read at any time) and gives a collector
 * (ofctx_main_opts_t.metrics; with the buildpack, <FUNC_NAME>_metrics).
 * On every scrape the runtime calls it with a writer, and it writes each of
 * its families: ofctx_metrics_family, then that family's samples.
 *
 *   static void shop_metrics(ofctx_metrics_t *m, void *user_data) {
 *     const struct shop *s = user_data;
 *     const char *card[] = {"kind", "card"}, *cash[] = {"kind", "cash"};
 *
 *     ofctx_metrics_family(m, "shop_orders_total", OFCTX_METRIC_COUNTER,
 *                          "Orders taken, by kind of payment.");
 *     ofctx_metrics_sample(m, card, 1, (double)s->card_orders);
 *     ofctx_metrics_sample(m, cash, 1, (double)s->cash_orders);
 *   }
 *
 * The text is the Prometheus text format 0.0.4 and passes `promtool check
 * metrics` (whose conventions the writer enforces but one: spell units
 * out): the writer escapes help texts and label values, and refuses what
 * would break the format or the conventions (a bad name, a family without
 * help, a counter without _total, a family written twice, a negative
 * counter). A refused call returns
 * OFCTX_EINVAL, writes nothing and logs a warning naming what it refused;
 * the rest of the scrape goes on. The writer and everything it is given
 * are borrowed for the call; it is valid only during the collector's call.
 *
 * Threads: the collector runs on the runtime's loop thread, like the
 * function, so it reads the function's state without locks. */
#ifndef OFCTX_PUBLIC_METRICS_H
#define OFCTX_PUBLIC_METRICS_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The writer of one scrape (opaque; owned by the runtime). */
typedef struct ofctx_metrics ofctx_metrics_t;

typedef enum {
  OFCTX_METRIC_COUNTER, /* only goes up (from 0 at start); its name ends in _total */
  OFCTX_METRIC_GAUGE    /* a value now, up or down */
} ofctx_metric_type_t;

/* A collector: writes the function's families to `m`. `user_data` is the
 * function's user data (ofctx_user_data). */
typedef void (*ofctx_metrics_function_t)(ofctx_metrics_t *m, void *user_data);

/* Starts a family: the lines # HELP and # TYPE. `name` is 1-200 of
 * [a-z0-9_] (snake case; no ':', which Prometheus keeps for recording
 * rules), not starting with a digit nor with "ofctx_" (the library's own);
 * a counter's ends in "_total", a gauge's does not; each name once a
 * scrape. Spell units out, as promtool asks (_seconds, _bytes; not _ms).
 * `help` is required: UTF-8 text (escaped here). OFCTX_EINVAL (nothing
 * written, and the family's samples are refused too) for anything else. */
OFCTX_EXTERN ofctx_err_t ofctx_metrics_family(ofctx_metrics_t *m, const char *name,
                                              ofctx_metric_type_t type, const char *help);

/* One sample of the family last started: `value` with `label_count` labels,
 * given as name, value pairs in `labels` (2 x label_count strings; NULL when
 * label_count is 0). Label names are 1-100 of [a-z0-9_], not starting
 * with a digit nor with "__", each once; values are UTF-8 (escaped here).
 * A counter's value is at least 0; a gauge's may be anything, NaN and
 * infinities included. Each label set once a family: a second sample with
 * the same labels is a series written twice, which Prometheus refuses (it
 * is not checked here). OFCTX_EINVAL for no family, a refused family, or
 * anything else above. */
OFCTX_EXTERN ofctx_err_t ofctx_metrics_sample(ofctx_metrics_t *m, const char *const *labels,
                                              size_t label_count, double value);

#ifdef __cplusplus
}
#endif
#endif
