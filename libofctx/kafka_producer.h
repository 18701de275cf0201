/* Internal: a Kafka producer on the loop, for the direct mode's Kafka
 * outputs: librdkafka's idempotent producer (no duplicates from its own
 * retries, order kept per partition), its delivery reports served on the
 * loop (a pipe librdkafka writes to, and a timer). Each record's `done`
 * runs once, later, on the loop: when the brokers acknowledged it (all
 * in-sync replicas), or when it failed or was cancelled.
 *
 * After a fatal error of librdkafka's (the idempotent producer cannot keep
 * its guarantees, rd_kafka_fatal_error), the records not delivered fail
 * (their sends are retried as any failed send) and the producer is made
 * again, logged as an error: the function needs no restart. */
#ifndef OFCTX_KAFKA_PRODUCER_H
#define OFCTX_KAFKA_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "components.h"
#include "ofctx/error.h"

typedef struct ofctx__kafka_producer ofctx__kafka_producer_t;
struct rd_kafka_s; /* librdkafka's rd_kafka_t */

/* A record's end: `ok`, else why it failed (valid during the call). */
typedef void (*ofctx__kafka_done_fn)(void *arg, int ok, const char *error);

/* A producer for the brokers of component `comp` (borrowed for the
 * producer's life), its records failed after `timeout_ms`. OFCTX_OK, or
 * OFCTX_ESEND with the reason logged (librdkafka refused the settings),
 * OFCTX_ENOMEM. */
ofctx_err_t ofctx__kafka_producer_new(ofctx__kafka_producer_t **out, uv_loop_t *loop,
                                      const ofctx__comp_t *comp, uint64_t timeout_ms);

/* Produces `data` (`len` bytes, copied) to `topic`, with the key `key`
 * (NULL: none) and the headers `headers` (name, value, ..., NULL; or
 * NULL). OFCTX_OK and `done` runs later; or OFCTX_ESEND (closed, or
 * librdkafka refused it: its queue is full, the topic is not valid) and
 * `done` never runs. */
ofctx_err_t ofctx__kafka_produce(ofctx__kafka_producer_t *p, const char *topic, const char *key,
                                 const char *const *headers, const void *data, size_t len,
                                 ofctx__kafka_done_fn done, void *arg);

/* Cancels what is not delivered yet (each `done` runs, failed), closes the
 * handles and frees the producer once they are closed. From a record's
 * `done`, this happens once librdkafka's callbacks have returned. */
void ofctx__kafka_producer_close(ofctx__kafka_producer_t *p);

/* librdkafka's handle now (borrowed; NULL while it cannot be made again):
 * for the tests, which raise a fatal error on it. */
struct rd_kafka_s *ofctx__kafka_producer_handle(const ofctx__kafka_producer_t *p);

#endif
