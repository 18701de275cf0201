/* The direct mode's Kafka producer: librdkafka's idempotent producer,
 * driven by the loop as the consumer is (direct_kafka.c): a byte on a pipe
 * when its queue of delivery reports turns non-empty, and a timer. */
#include "kafka_producer.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kafka_conf.h"
#include "log.h"
#include "mem.h"
#include "rdkafka_lib.h"

typedef struct {
  ofctx__kafka_done_fn done;
  void *arg;
} call_t;

struct ofctx__kafka_producer {
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue; /* the main queue: delivery reports, logs */
  uv_loop_t *loop;
  int fds[2];
  uv_poll_t poll;
  uv_timer_t tick;
  int handles; /* open */
  int closing;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  call_t *call = m->_private;

  (void)rk;
  (void)opaque;
  if (!call)
    return;
  call->done(call->arg, m->err == RD_KAFKA_RESP_ERR_NO_ERROR,
             m->err ? ofctx__rdkafka.err2str(m->err) : NULL);
  ofctx__free(call);
}

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *text) {
  (void)rk;
  ofctx__log(level <= 4 ? OFCTX_LOG_WARN : OFCTX_LOG_DEBUG, "kafka", "facility", facility,
             "message", text, (const char *)NULL);
}

static void serve(ofctx__kafka_producer_t *p) { ofctx__rdkafka.poll(p->rk, 0); }

static void on_readable(uv_poll_t *poll, int status, int events) {
  ofctx__kafka_producer_t *p = poll->data;
  char buf[64];

  (void)status;
  (void)events;
  while (read(p->fds[0], buf, sizeof buf) > 0)
    ;
  serve(p);
}

static void on_tick(uv_timer_t *timer) { serve(timer->data); }

static int conf_set(rd_kafka_conf_t *conf, const ofctx__comp_t *comp, const char *key,
                    const char *value) {
  char errstr[256];

  if (ofctx__rdkafka.conf_set(conf, key, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
    return 0;
  ofctx__log(OFCTX_LOG_ERROR, "kafka: the producer's settings are refused", "file", comp->file,
             "component", comp->name, "error", errstr, (const char *)NULL);
  return -1;
}

/* The component's authentication and TLS (kafka_conf.c), or the message. */
static int auth_set(rd_kafka_conf_t *conf, const ofctx__comp_t *comp) {
  ofctx_error_t err;

  if (ofctx__kafka_conf_auth(conf, comp, &err) == OFCTX_OK)
    return 0;
  ofctx__log(OFCTX_LOG_ERROR, "kafka: the producer's settings are refused", "error", err.message,
             (const char *)NULL);
  return -1;
}

ofctx_err_t ofctx__kafka_producer_new(ofctx__kafka_producer_t **out, uv_loop_t *loop,
                                      const ofctx__comp_t *comp, uint64_t timeout_ms) {
  ofctx__kafka_producer_t *p;
  rd_kafka_conf_t *conf;
  const char *client = ofctx__comp_value(comp, "clientID");
  char timeout[24], errstr[256];

  *out = NULL;
  if (ofctx__rdkafka_open(errstr, sizeof errstr) != 0) {
    ofctx__log(OFCTX_LOG_ERROR, "kafka: cannot make the producer", "component", comp->name, "error",
               errstr, (const char *)NULL);
    return OFCTX_ESEND;
  }
  p = ofctx__calloc(1, sizeof *p);
  conf = ofctx__rdkafka.conf_new();
  if (!p || !conf) {
    ofctx__free(p);
    if (conf)
      ofctx__rdkafka.conf_destroy(conf);
    return OFCTX_ENOMEM;
  }
  p->fds[0] = p->fds[1] = -1;
  snprintf(timeout, sizeof timeout, "%" PRIu64, timeout_ms ? timeout_ms : 1);
  if (conf_set(conf, comp, "bootstrap.servers", ofctx__comp_value(comp, "brokers")) ||
      conf_set(conf, comp, "enable.idempotence", "true") ||
      conf_set(conf, comp, "message.timeout.ms", timeout) ||
      (client && conf_set(conf, comp, "client.id", client)) ||
      conf_set(conf, comp, "log.queue", "true") || auth_set(conf, comp)) {
    ofctx__rdkafka.conf_destroy(conf);
    ofctx__free(p);
    return OFCTX_ESEND;
  }
  ofctx__rdkafka.conf_set_dr_msg_cb(conf, on_delivery);
  ofctx__rdkafka.conf_set_log_cb(conf, on_log);
  p->rk = ofctx__rdkafka.new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    ofctx__log(OFCTX_LOG_ERROR, "kafka: cannot make the producer", "component", comp->name, "error",
               errstr, (const char *)NULL);
    ofctx__rdkafka.conf_destroy(conf);
    ofctx__free(p);
    return OFCTX_ESEND;
  }
  ofctx__rdkafka.set_log_queue(p->rk, NULL);
  p->queue = ofctx__rdkafka.queue_get_main(p->rk);
  if (pipe(p->fds) != 0) {
    ofctx__kafka_producer_close(p); /* no handle open: freed now */
    return OFCTX_ESEND;
  }
  for (int i = 0; i < 2; i++) {
    fcntl(p->fds[i], F_SETFL, fcntl(p->fds[i], F_GETFL) | O_NONBLOCK);
    fcntl(p->fds[i], F_SETFD, FD_CLOEXEC);
  }
  p->loop = loop;
  uv_poll_init(loop, &p->poll, p->fds[0]);
  uv_timer_init(loop, &p->tick);
  p->poll.data = p->tick.data = p;
  p->handles = 2;
  uv_poll_start(&p->poll, UV_READABLE, on_readable);
  uv_timer_start(&p->tick, on_tick, 1000, 1000);
  ofctx__rdkafka.queue_io_event_enable(p->queue, p->fds[1], "1", 1);
  *out = p;
  return OFCTX_OK;
}

ofctx_err_t ofctx__kafka_produce(ofctx__kafka_producer_t *p, const char *topic, const char *key,
                                 const char *const *headers, const void *data, size_t len,
                                 ofctx__kafka_done_fn done, void *arg) {
  call_t *call;
  rd_kafka_headers_t *hdrs = NULL;
  rd_kafka_resp_err_t err;
  size_t n = 0;

  if (p->closing)
    return OFCTX_ESEND;
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return OFCTX_ENOMEM;
  call->done = done;
  call->arg = arg;
  while (headers && headers[2 * n])
    n++;
  if (n) {
    hdrs = ofctx__rdkafka.headers_new(n);
    for (size_t i = 0; i < n; i++)
      ofctx__rdkafka.header_add(hdrs, headers[2 * i], -1, headers[2 * i + 1], -1);
  }
  err = ofctx__rdkafka.producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)data, len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY((void *)key, key ? strlen(key) : 0),
                                RD_KAFKA_V_HEADERS(hdrs), /* taken over when produced */
                                RD_KAFKA_V_OPAQUE(call), RD_KAFKA_V_END);
  if (err) {
    if (hdrs)
      ofctx__rdkafka.headers_destroy(hdrs);
    ofctx__free(call);
    ofctx__log(OFCTX_LOG_WARN, "kafka: cannot produce", "topic", topic, "error",
               ofctx__rdkafka.err2str(err), (const char *)NULL);
    return OFCTX_ESEND;
  }
  return OFCTX_OK;
}

static void handle_closed(uv_handle_t *handle) {
  ofctx__kafka_producer_t *p = handle->data;

  if (--p->handles == 0) {
    for (int i = 0; i < 2; i++)
      if (p->fds[i] >= 0)
        close(p->fds[i]);
    ofctx__free(p);
  }
}

void ofctx__kafka_producer_close(ofctx__kafka_producer_t *p) {
  if (!p || p->closing)
    return;
  p->closing = 1;
  if (p->rk) {
    /* what is not delivered fails now: the invocations are answered first */
    ofctx__rdkafka.purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    ofctx__rdkafka.flush(p->rk, 1000); /* serves their reports */
    ofctx__rdkafka.poll(p->rk, 0);
    ofctx__rdkafka.queue_io_event_enable(p->queue, -1, NULL, 0);
    ofctx__rdkafka.queue_destroy(p->queue);
    ofctx__rdkafka.destroy(p->rk);
    p->rk = NULL;
  }
  if (p->handles) {
    uv_close((uv_handle_t *)&p->poll, handle_closed);
    uv_close((uv_handle_t *)&p->tick, handle_closed);
  } else {
    for (int i = 0; i < 2; i++)
      if (p->fds[i] >= 0)
        close(p->fds[i]);
    ofctx__free(p);
  }
}
