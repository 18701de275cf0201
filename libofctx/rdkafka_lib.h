/* librdkafka, opened with dlopen when the direct mode starts instead of
 * linked. Debian's librdkafka brings OpenSSL, SASL, zstd and lz4: linked,
 * their pages doubled the idle RSS of every function (echo: 2.7 MB to 5.6
 * MB), though only a function run with OFCTX_DIRECT=1 uses them.
 *
 * The functions libofctx calls are the fields of ofctx__rdkafka, each of
 * librdkafka's own type: a call reads ofctx__rdkafka.new(...). Internal. */
#ifndef OFCTX_RDKAFKA_LIB_H
#define OFCTX_RDKAFKA_LIB_H

#include <librdkafka/rdkafka.h>

/* Every librdkafka function libofctx calls, without its rd_kafka_ prefix. */
#define OFCTX__RDKAFKA_FUNCTIONS(X)                                                                \
  X(assign)                                                                                        \
  X(commit)                                                                                        \
  X(conf_destroy)                                                                                  \
  X(conf_dump)                                                                                     \
  X(conf_dump_free)                                                                                \
  X(conf_new)                                                                                      \
  X(conf_set)                                                                                      \
  X(conf_set_dr_msg_cb)                                                                            \
  X(conf_set_error_cb)                                                                             \
  X(conf_set_log_cb)                                                                               \
  X(conf_set_offset_commit_cb)                                                                     \
  X(conf_set_opaque)                                                                               \
  X(conf_set_rebalance_cb)                                                                         \
  X(consumer_close)                                                                                \
  X(consumer_close_queue)                                                                          \
  X(consumer_closed)                                                                               \
  X(consumer_poll)                                                                                 \
  X(destroy)                                                                                       \
  X(destroy_flags)                                                                                 \
  X(err2str)                                                                                       \
  X(error_destroy)                                                                                 \
  X(error_string)                                                                                  \
  X(fatal_error)                                                                                   \
  X(flush)                                                                                         \
  X(get_watermark_offsets)                                                                         \
  X(header_add)                                                                                    \
  X(header_cnt)                                                                                    \
  X(header_get_all)                                                                                \
  X(headers_destroy)                                                                               \
  X(headers_new)                                                                                   \
  X(message_destroy)                                                                               \
  X(message_errstr)                                                                                \
  X(message_headers)                                                                               \
  X(message_timestamp)                                                                             \
  X(new)                                                                                           \
  X(pause_partitions)                                                                              \
  X(poll)                                                                                          \
  X(poll_set_consumer)                                                                             \
  X(position)                                                                                      \
  X(producev)                                                                                      \
  X(purge)                                                                                         \
  X(queue_destroy)                                                                                 \
  X(queue_get_consumer)                                                                            \
  X(queue_get_main)                                                                                \
  X(queue_io_event_enable)                                                                         \
  X(queue_new)                                                                                     \
  X(queue_poll_callback)                                                                           \
  X(resume_partitions)                                                                             \
  X(seek)                                                                                          \
  X(set_log_queue)                                                                                 \
  X(subscribe)                                                                                     \
  X(test_fatal_error)                                                                              \
  X(topic_name)                                                                                    \
  X(topic_partition_list_add)                                                                      \
  X(topic_partition_list_destroy)                                                                  \
  X(topic_partition_list_new)                                                                      \
  X(unsubscribe)

#define OFCTX__RDKAFKA_FIELD(name) __typeof__(rd_kafka_##name) *name;
typedef struct {
  OFCTX__RDKAFKA_FUNCTIONS(OFCTX__RDKAFKA_FIELD)
} ofctx__rdkafka_t;
#undef OFCTX__RDKAFKA_FIELD

extern ofctx__rdkafka_t ofctx__rdkafka;

/* Opens the library named by OFCTX_LIBRDKAFKA (default "librdkafka.so.1",
 * Debian's librdkafka1), once per process; later calls return the first
 * one's result. 0, or -1 with why in `why` (`size` bytes). Call it from the
 * loop thread only. */
int ofctx__rdkafka_open(char *why, size_t size);

#endif
