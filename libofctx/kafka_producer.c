/* The direct mode's Kafka producer: librdkafka's idempotent producer,
 * driven by the loop as the consumer is (direct_kafka.c): a byte on a pipe
 * when its queue of delivery reports turns non-empty, and a timer; made
 * again after a fatal error. */
#include "kafka_producer.h"

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
  rd_kafka_t *rk;          /* NULL while it cannot be made again */
  rd_kafka_queue_t *queue; /* the main queue: delivery reports, errors, logs */
  const ofctx__comp_t *comp;
  uint64_t timeout_ms;
  uv_loop_t *loop;
  int fds[2];
  uv_poll_t poll;
  uv_timer_t tick;
  int handles; /* open */
  int closing;
  int fatal;       /* librdkafka raised a fatal error: made again on the loop */
  int remaking;    /* the old one is being taken down: nothing produced */
  int busy;        /* in serve: a close is finished there */
  int auth_logged; /* the brokers' refusal logged (once per producer) */
};

static ofctx_err_t make_rk(ofctx__kafka_producer_t *p);

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

/* librdkafka's errors, served on the loop. A fatal error (the idempotent
 * producer can no longer keep its guarantees) leaves the handle unusable:
 * it is made again once the poll returns. The brokers refusing the
 * authentication or the TLS: one error line (each send fails after its
 * timeout, and is retried). The others librdkafka retries itself: a
 * warning. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  ofctx__kafka_producer_t *p = opaque;
  char why[512];

  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    rd_kafka_resp_err_t code = ofctx__rdkafka.fatal_error(rk, why, sizeof why);

    p->fatal = 1;
    ofctx__log(
        OFCTX_LOG_ERROR,
        "kafka: the producer failed for good: made again (its records not yet delivered fail "
        "and are retried)",
        "component", p->comp->name, "file", p->comp->file, "error", why, "cause",
        ofctx__rdkafka.err2str(code), (const char *)NULL);
  } else if (ofctx__kafka_auth_refused(err)) {
    if (p->auth_logged)
      return;
    p->auth_logged = 1;
    ofctx__log(OFCTX_LOG_ERROR,
               "kafka: authentication or TLS with the brokers failed: the output's sends fail",
               "component", p->comp->name, "file", p->comp->file, "error", reason,
               (const char *)NULL);
  } else {
    ofctx__log(OFCTX_LOG_WARN, "kafka: producer error", "component", p->comp->name, "error", reason,
               (const char *)NULL);
  }
}

/* Takes the handle down: what is not delivered fails now (each `done`
 * runs), then it is destroyed. */
static void drop_rk(ofctx__kafka_producer_t *p) {
  if (!p->rk)
    return;
  ofctx__rdkafka.purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  ofctx__rdkafka.flush(p->rk, 1000); /* serves their reports */
  ofctx__rdkafka.poll(p->rk, 0);
  ofctx__rdkafka.queue_io_event_enable(p->queue, -1, NULL, 0);
  ofctx__rdkafka.queue_destroy(p->queue);
  ofctx__rdkafka.destroy(p->rk);
  p->rk = NULL;
  p->queue = NULL;
}

static void finish_close(ofctx__kafka_producer_t *p);

/* Serves the queue; librdkafka's callbacks run inside (`busy`), and a
 * `done` among them may close the producer: finished here, afterwards. */
static void serve(ofctx__kafka_producer_t *p) {
  p->busy = 1;
  if (p->rk)
    ofctx__rdkafka.poll(p->rk, 0);
  if (!p->closing && (p->fatal || !p->rk)) {
    /* a fatal error: the pending records fail (the input's records are
     * retried, as after any failed send) and a new producer takes the
     * retries; made again at the next tick if that fails */
    p->remaking = 1;
    drop_rk(p);
    p->remaking = 0;
    p->fatal = 0;
    if (!p->closing)
      make_rk(p);
  }
  p->busy = 0;
  if (p->closing)
    finish_close(p);
}

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

/* librdkafka's producer for `p`, its queue waking the loop through the
 * pipe when that is open: OFCTX_OK, or OFCTX_ESEND (logged), OFCTX_ENOMEM. */
static ofctx_err_t make_rk(ofctx__kafka_producer_t *p) {
  const ofctx__comp_t *comp = p->comp;
  const char *client = ofctx__comp_value(comp, "clientID");
  rd_kafka_conf_t *conf = ofctx__rdkafka.conf_new();
  char timeout[24], errstr[256];

  if (!conf)
    return OFCTX_ENOMEM;
  snprintf(timeout, sizeof timeout, "%" PRIu64, p->timeout_ms ? p->timeout_ms : 1);
  if (conf_set(conf, comp, "bootstrap.servers", ofctx__comp_value(comp, "brokers")) ||
      conf_set(conf, comp, "enable.idempotence", "true") ||
      conf_set(conf, comp, "message.timeout.ms", timeout) ||
      (client && conf_set(conf, comp, "client.id", client)) ||
      conf_set(conf, comp, "log.queue", "true") || auth_set(conf, comp)) {
    ofctx__rdkafka.conf_destroy(conf);
    return OFCTX_ESEND;
  }
  ofctx__rdkafka.conf_set_dr_msg_cb(conf, on_delivery);
  ofctx__rdkafka.conf_set_log_cb(conf, on_log);
  ofctx__rdkafka.conf_set_error_cb(conf, on_error);
  ofctx__rdkafka.conf_set_opaque(conf, p);
  p->rk = ofctx__rdkafka.new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    ofctx__log(OFCTX_LOG_ERROR, "kafka: cannot make the producer", "component", comp->name, "error",
               errstr, (const char *)NULL);
    ofctx__rdkafka.conf_destroy(conf);
    return OFCTX_ESEND;
  }
  ofctx__rdkafka.set_log_queue(p->rk, NULL);
  p->queue = ofctx__rdkafka.queue_get_main(p->rk);
  if (p->fds[1] >= 0)
    ofctx__rdkafka.queue_io_event_enable(p->queue, p->fds[1], "1", 1);
  return OFCTX_OK;
}

ofctx_err_t ofctx__kafka_producer_new(ofctx__kafka_producer_t **out, uv_loop_t *loop,
                                      const ofctx__comp_t *comp, uint64_t timeout_ms) {
  ofctx__kafka_producer_t *p;
  char errstr[256];
  ofctx_err_t rc;

  *out = NULL;
  if (ofctx__rdkafka_open(errstr, sizeof errstr) != 0) {
    ofctx__log(OFCTX_LOG_ERROR, "kafka: cannot make the producer", "component", comp->name, "error",
               errstr, (const char *)NULL);
    return OFCTX_ESEND;
  }
  p = ofctx__calloc(1, sizeof *p);
  if (!p)
    return OFCTX_ENOMEM;
  p->comp = comp;
  p->timeout_ms = timeout_ms;
  p->fds[0] = p->fds[1] = -1;
  /* the wake-up pipe, both ends non-blocking (and close-on-exec) */
  if (uv_pipe(p->fds, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE) != 0) {
    ofctx__kafka_producer_close(p); /* no handle open: freed now */
    return OFCTX_ESEND;
  }
  if ((rc = make_rk(p)) != OFCTX_OK) {
    ofctx__kafka_producer_close(p);
    return rc;
  }
  p->loop = loop;
  uv_poll_init(loop, &p->poll, p->fds[0]);
  uv_timer_init(loop, &p->tick);
  p->poll.data = p->tick.data = p;
  p->handles = 2;
  uv_poll_start(&p->poll, UV_READABLE, on_readable);
  uv_timer_start(&p->tick, on_tick, 1000, 1000);
  *out = p;
  return OFCTX_OK;
}

rd_kafka_t *ofctx__kafka_producer_handle(const ofctx__kafka_producer_t *p) { return p->rk; }

ofctx_err_t ofctx__kafka_produce(ofctx__kafka_producer_t *p, const char *topic, const char *key,
                                 const char *const *headers, const void *data, size_t len,
                                 ofctx__kafka_done_fn done, void *arg) {
  call_t *call;
  rd_kafka_headers_t *hdrs = NULL;
  rd_kafka_resp_err_t err;
  size_t n = 0;

  if (p->closing || p->remaking || !p->rk)
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

/* Fails what is not delivered, then closes the handles (the producer is
 * freed once they are closed). */
static void finish_close(ofctx__kafka_producer_t *p) {
  drop_rk(p); /* what is not delivered fails now: the invocations are answered first */
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

void ofctx__kafka_producer_close(ofctx__kafka_producer_t *p) {
  if (!p || p->closing)
    return;
  p->closing = 1;
  if (!p->busy) /* else from one of librdkafka's callbacks: serve finishes it */
    finish_close(p);
}
