/* The direct mode's Kafka producer (kafka_producer.c) to brokers that are
 * not there: a fatal error of librdkafka's (raised with
 * rd_kafka_test_fatal_error) fails the record waiting, and the producer is
 * made again and takes the next record, without a restart; closing it
 * fails what it still holds, also from a record's end while it is being
 * made again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "kafka_producer.h"
#include "rdkafka_lib.h"

typedef struct {
  int done, ok;
  char error[128];
} result_t;

static void on_done(void *arg, int ok, const char *error) {
  result_t *r = arg;

  r->done++;
  r->ok = ok;
  snprintf(r->error, sizeof r->error, "%s", error ? error : "");
}

static void fatal_error_makes_it_again(void **state) {
  uv_loop_t loop;
  char *keys[] = {"brokers"}, *values[] = {"127.0.0.1:1"};
  ofctx__comp_t comp = {.file = "events.yaml",
                        .name = "events",
                        .type = "pubsub.kafka",
                        .type_id = OFCTX__COMP_KAFKA_PUBSUB,
                        .keys = keys,
                        .values = values,
                        .count = 1};
  ofctx__kafka_producer_t *p;
  result_t first = {0}, second = {0};
  char why[256];

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  /* a record times out after 30 s: long past what this test waits */
  assert_int_equal(ofctx__kafka_producer_new(&p, &loop, &comp, 30000), OFCTX_OK);
  assert_int_equal(ofctx__kafka_produce(p, "t", "k", NULL, "x", 1, on_done, &first), OFCTX_OK);
  assert_int_equal(ofctx__rdkafka.test_fatal_error(ofctx__kafka_producer_handle(p),
                                                   RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                                   "a test"),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  while (!first.done)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(first.done, 1);
  assert_false(first.ok);
  assert_null(strstr(first.error, "timed out"));

  /* a new producer, with no fatal error, takes the next record */
  assert_non_null(ofctx__kafka_producer_handle(p));
  assert_int_equal(ofctx__rdkafka.fatal_error(ofctx__kafka_producer_handle(p), why, sizeof why),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(ofctx__kafka_produce(p, "t", NULL, NULL, "y", 1, on_done, &second), OFCTX_OK);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(second.done, 0);
  ofctx__kafka_producer_close(p); /* what is not delivered fails now */
  assert_int_equal(second.done, 1);
  assert_false(second.ok);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* A record's `done` that closes the producer while it is being made again
 * (the sink closing as the last send settles): closed once, not made
 * again, nothing used after it is gone. */
typedef struct {
  ofctx__kafka_producer_t *p;
  int done;
} closer_t;

static void close_on_done(void *arg, int ok, const char *error) {
  closer_t *c = arg;

  (void)ok;
  (void)error;
  c->done++;
  ofctx__kafka_producer_close(c->p);
}

static void closed_while_made_again(void **state) {
  uv_loop_t loop;
  char *keys[] = {"brokers"}, *values[] = {"127.0.0.1:1"};
  ofctx__comp_t comp = {.file = "out.yaml",
                        .name = "out",
                        .type = "bindings.kafka",
                        .type_id = OFCTX__COMP_KAFKA_BINDING,
                        .keys = keys,
                        .values = values,
                        .count = 1};
  closer_t c = {0};

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(ofctx__kafka_producer_new(&c.p, &loop, &comp, 30000), OFCTX_OK);
  assert_int_equal(ofctx__kafka_produce(c.p, "t", NULL, NULL, "x", 1, close_on_done, &c), OFCTX_OK);
  assert_int_equal(ofctx__rdkafka.test_fatal_error(ofctx__kafka_producer_handle(c.p),
                                                   RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, "t"),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  uv_run(&loop, UV_RUN_DEFAULT); /* ends once the producer's handles are closed */
  assert_int_equal(c.done, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fatal_error_makes_it_again),
      cmocka_unit_test(closed_while_made_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
