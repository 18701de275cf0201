/* A function's own metrics: the text its collector writes, and every call
 * the writer refuses (which then writes nothing). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "comma_locale.h"
#include "mem.h"
#include "metrics_writer.h"

static void shop(ofctx_metrics_t *m, void *user_data) {
  const char *card[] = {"kind", "card", "shop", "we\"ird\\na\nme"};
  const char *euro[] = {"currency", "\xe2\x82\xac"};
  (void)user_data;

  assert_int_equal(ofctx_metrics_family(m, "shop_orders_total", OFCTX_METRIC_COUNTER,
                                        "Orders \\ taken,\nby kind."),
                   OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, card, 2, 3), OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, 9007199254740993.0), OFCTX_OK);
  assert_int_equal(ofctx_metrics_family(m, "shop_till_level", OFCTX_METRIC_GAUGE, "Cash."),
                   OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, euro, 1, -0.1), OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, NAN), OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, -INFINITY), OFCTX_OK);
  assert_int_equal(ofctx_metrics_family(m, "shop_open", OFCTX_METRIC_GAUGE, "No samples."),
                   OFCTX_OK);
}

static void text(void **state) {
  ofctx__buf_t t = {0};
  int user_data = 0;
  (void)state;

  ofctx__metrics_collect(&t, shop, &user_data);
  assert_false(t.failed);
  assert_string_equal(t.data, "# HELP shop_orders_total Orders \\\\ taken,\\nby kind.\n"
                              "# TYPE shop_orders_total counter\n"
                              "shop_orders_total{kind=\"card\",shop=\"we\\\"ird\\\\na\\nme\"} 3\n"
                              "shop_orders_total 9007199254740992\n"
                              "# HELP shop_till_level Cash.\n"
                              "# TYPE shop_till_level gauge\n"
                              "shop_till_level{currency=\"\xe2\x82\xac\"} -0.1\n"
                              "shop_till_level NaN\n"
                              "shop_till_level -Inf\n"
                              "# HELP shop_open No samples.\n"
                              "# TYPE shop_open gauge\n");
  ofctx__buf_free(&t);
}

/* Each refused call, in a family that was accepted: nothing is written. */
static void refusals(ofctx_metrics_t *m, void *user_data) {
  const char *dunder[] = {"__name__", "x"}, *digit[] = {"1a", "x"}, *dash[] = {"a-b", "x"};
  const char *camel[] = {"podName", "x"};
  const char *twice[] = {"a", "x", "a", "y"}, *bad_utf8[] = {"a", "\xc3\x28"};
  const char *no_value[] = {"a", NULL};
  char long_name[202];
  (void)user_data;

  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, 1), OFCTX_EINVAL); /* no family yet */
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  const char *names[] = {"",          "1_total",          "a-b_total", "ofctx_events_total",
                         "a:b_total", "shopOrders_total", long_name,   NULL};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    assert_int_equal(ofctx_metrics_family(m, names[i], OFCTX_METRIC_COUNTER, "H."), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a_counter", OFCTX_METRIC_COUNTER, "H."), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a_gauge_total", OFCTX_METRIC_GAUGE, "H."),
                   OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a", (ofctx_metric_type_t)7, "H."), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a", OFCTX_METRIC_GAUGE, "\xff"), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a", OFCTX_METRIC_GAUGE, ""), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "a", OFCTX_METRIC_GAUGE, NULL), OFCTX_EINVAL);
  /* the samples of a refused family are refused */
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(m, "x_total", OFCTX_METRIC_COUNTER, "X."), OFCTX_OK);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, -1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, NAN), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, dunder, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, digit, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, dash, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, camel, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, twice, 2, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, bad_utf8, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, no_value, 1, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, twice, 1, 0), OFCTX_OK);
  /* a family once a scrape, also after other families */
  assert_int_equal(ofctx_metrics_family(m, "y", OFCTX_METRIC_GAUGE, "Y."), OFCTX_OK);
  assert_int_equal(ofctx_metrics_family(m, "x_total", OFCTX_METRIC_COUNTER, "X."), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(m, NULL, 0, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_family(NULL, "z", OFCTX_METRIC_GAUGE, "Z."), OFCTX_EINVAL);
  assert_int_equal(ofctx_metrics_sample(NULL, NULL, 0, 1), OFCTX_EINVAL);
}

static void refused_calls_write_nothing(void **state) {
  ofctx__buf_t t = {0};
  (void)state;

  ofctx__metrics_collect(&t, refusals, NULL);
  assert_string_equal(t.data, "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"x\"} 0\n"
                              "# HELP y Y.\n# TYPE y gauge\n");
  ofctx__buf_free(&t);
  /* the names of one scrape are not the next one's */
  ofctx__metrics_collect(&t, refusals, NULL);
  assert_non_null(strstr(t.data, "x_total{a=\"x\"} 0\n"));
  ofctx__buf_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(text),
      /* the same when the function set a locale with a decimal comma:
       * Prometheus reads only a point */
      cmocka_unit_test_setup_teardown(text, comma_locale_setup, comma_locale_teardown),
      cmocka_unit_test(refused_calls_write_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
