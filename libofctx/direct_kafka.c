/* The direct mode (OFCTX_DIRECT=1): the function's Kafka inputs consumed
 * here, with no sidecar, each input a member of its component's consumer
 * group through librdkafka. Driven by the loop: librdkafka writes a byte to
 * a pipe when its queue turns non-empty (rd_kafka_queue_io_event_enable),
 * and a one-second timer polls as well, so that an idle consumer stays in
 * its group.
 *
 * At least once, per partition, as Dapr's Kafka component does it: the
 * records of a partition are given to the function one at a time, in
 * order, or with bulk (the input's bulkSubscribe, bulk.h) a batch at a
 * time, up to maxMessagesCount records of one partition in order; an
 * offset is committed only once the records before it were answered
 * SUCCESS or DROP (their sends settled). A record answered RETRY is given
 * again after a back-off, with the records of its batch after it, its
 * partition paused meanwhile. On a revocation, what is done is committed
 * and what is in flight is given up (its outcome is not committed: the
 * partition's next owner gets the records again). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "bulk.h"
#include "cloudevent.h"
#include "dapr_envelope.h"
#include "error_msg.h"
#include "kafka_conf.h"
#include "log.h"
#include "mem.h"
#include "mode.h"
#include "rdkafka_lib.h"
#include "text.h"

/* Records fetched and not yet done, per partition, and their bytes,
 * before it is paused; resumed below half of both. An input holds at most
 * OFCTX_DIRECT_MAX_HELD_BYTES of values across its partitions, the same way. */
#define QUEUE_MAX 1024
#define QUEUE_BYTES (4u << 20)

typedef struct input input_t;
typedef struct part part_t;
typedef struct record record_t;

/* A record in our hands, from the fetch until its outcome. */
struct record {
  rd_kafka_message_t *msg;
  part_t *part;
  record_t *next;
  int attempts;
  uint64_t fetched;           /* the loop's time when it came */
  ofctx__http_header_t md[5]; /* __key, __offset, __topic, __timestamp, __partition */
  size_t md_count;
  char offset[24], timestamp[24], partition[16];
  char *key;                /* NUL-terminated copy of the key, or NULL */
  const char **header_text; /* the headers' names and values, NUL-terminated copies */
  ofctx__http_header_t *headers;
  size_t header_count;
};

/* An assigned partition: its records in order, the first ones in flight. */
struct part {
  input_t *in;
  char *topic;
  int32_t partition;
  record_t *head, *tail;
  size_t count;
  size_t bytes;     /* of the records' values */
  size_t inflight;  /* the records with the function: the first ones */
  int waiting;      /* the head waits for its retry */
  int paused;       /* fetching stopped: the queue is full, or the head failed */
  int full;         /* paused because the queue is full, until it is below half */
  int revoked;      /* no longer ours: what ends now is not committed */
  int64_t commit;   /* the offset to commit (the next record's), or -1 */
  int64_t resync;   /* after a record could not be kept: the offset fetched again, else -1 */
  int dirty;        /* `commit` not committed yet */
  uv_timer_t retry; /* the head's retry, or a partial batch's wait for more */
  part_t *prev, *next;
};

typedef struct direct direct_t;

/* An input's stages at the drain: its last commits awaited, then its
 * consumer closed on the loop (rd_kafka_consumer_close_queue), each until
 * the grace period ends at the latest. */
enum { RUNNING, COMMITTING, CLOSING, CLOSED };

struct input {
  direct_t *d;
  size_t index;
  const ofctx_component_t *entry; /* the context's */
  const ofctx__comp_t *comp;
  ofctx__bulk_config_t bulk; /* the context's bulkSubscribe settings */
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int fds[2]; /* the wake-up pipe */
  uv_poll_t poll;
  uv_timer_t tick;
  uv_timer_t commit;             /* the commit of what was done since the last one, soon */
  int commits;                   /* asynchronous commits not answered yet */
  int stage;                     /* the drain's: RUNNING, COMMITTING, CLOSING, CLOSED */
  rd_kafka_queue_t *close_queue; /* the consumer's events while it closes */
  int handles;                   /* open */
  size_t held;                   /* the bytes of the values of its partitions' records */
  part_t *parts;
  part_t *retired; /* revoked with a record still in flight */
};

struct direct {
  const ofctx_config_t *cfg;
  ofctx__host_t *host;
  ofctx__metrics_t *metrics;
  ofctx__retry_policy_t redelivery;
  uint64_t rng;
  input_t *inputs;
  size_t count;
  char count_text[24];
  int draining;
  int closing;
  uint64_t grace_ms;
  size_t max_held;     /* per input */
  uv_timer_t deadline; /* the grace period: the brokers are waited for no longer */
  int expired;
  int deadline_closed;
  int failed; /* the brokers refused an input's authentication: exit status 1 */
  void (*closed)(void *arg);
  void *closed_arg;
  uv_idle_t later; /* `closed` is never called from inside drain */
  uv_idle_t kick;  /* gives each partition its next record: never from inside an answer */
  int kick_open;
  int open_handles;
};

static void give(part_t *p);
static void maybe_closed(direct_t *d);
static void kick(direct_t *d);
static void input_advance(input_t *in);

/* ---- records ---- */

static void record_free(record_t *r) {
  if (!r)
    return;
  ofctx__rdkafka.message_destroy(r->msg);
  for (size_t i = 0; r->header_text && i < 2 * r->header_count; i++)
    ofctx__free((void *)r->header_text[i]);
  ofctx__free(r->header_text);
  ofctx__free(r->headers);
  ofctx__free(r->key);
  ofctx__free(r);
}

/* The record's metadata as Dapr's Kafka component gives it: the key, the
 * offset, the topic, the timestamp (ms), the partition, then each header.
 * 0, or -1 when out of memory. */
static int record_metadata(record_t *r) {
  rd_kafka_message_t *m = r->msg;
  rd_kafka_headers_t *hdrs = NULL;
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = ofctx__rdkafka.message_timestamp(m, &tstype);

  snprintf(r->offset, sizeof r->offset, "%" PRId64, m->offset);
  snprintf(r->timestamp, sizeof r->timestamp, "%" PRId64, ts < 0 ? 0 : ts);
  snprintf(r->partition, sizeof r->partition, "%" PRId32, m->partition);
  if (m->key) {
    r->key = ofctx__strndup(m->key, m->key_len);
    if (!r->key)
      return -1;
    r->md[r->md_count++] = (ofctx__http_header_t){"__key", r->key};
  }
  r->md[r->md_count++] = (ofctx__http_header_t){"__offset", r->offset};
  r->md[r->md_count++] = (ofctx__http_header_t){"__topic", ofctx__rdkafka.topic_name(m->rkt)};
  r->md[r->md_count++] = (ofctx__http_header_t){"__timestamp", r->timestamp};
  r->md[r->md_count++] = (ofctx__http_header_t){"__partition", r->partition};
  if (ofctx__rdkafka.message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs)
    return 0;
  r->header_count = ofctx__rdkafka.header_cnt(hdrs);
  r->header_text = ofctx__calloc(2 * r->header_count + 1, sizeof *r->header_text);
  r->headers = ofctx__calloc(r->header_count + 1, sizeof *r->headers);
  if (!r->header_text || !r->headers)
    return -1;
  for (size_t i = 0; i < r->header_count; i++) {
    const char *name;
    const void *value;
    size_t len;
    if (ofctx__rdkafka.header_get_all(hdrs, i, &name, &value, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return -1;
    r->header_text[2 * i] = ofctx__strdup(name);
    r->header_text[2 * i + 1] = value ? ofctx__strndup(value, len) : ofctx__strdup("");
    if (!r->header_text[2 * i] || !r->header_text[2 * i + 1])
      return -1;
    r->headers[i] = (ofctx__http_header_t){r->header_text[2 * i], r->header_text[2 * i + 1]};
  }
  return 0;
}

/* ---- partitions ---- */

static void part_closed(uv_handle_t *handle) {
  part_t *p = handle->data;
  direct_t *d = p->in->d;

  ofctx__free(p->topic);
  ofctx__free(p);
  d->open_handles--;
  maybe_closed(d);
}

/* Frees the queue of `p` but its records in flight (their events view
 * them), and closes `p` once none is (its list: `list`). */
static void part_release(part_t *p, part_t **list) {
  record_t *last = NULL, *r = p->head;

  for (size_t k = 0; k < p->inflight && r; k++) {
    last = r;
    r = r->next;
  }
  while (r) {
    record_t *next = r->next;
    p->count--;
    p->bytes -= r->msg->len;
    p->in->held -= r->msg->len;
    record_free(r);
    r = next;
  }
  p->tail = last;
  if (last) {
    last->next = NULL;
    return;
  }
  p->head = NULL;
  OFCTX__LIST_UNLINK(*list, p);
  uv_close((uv_handle_t *)&p->retry, part_closed);
}

static part_t *part_find(input_t *in, const char *topic, int32_t partition) {
  for (part_t *p = in->parts; p; p = p->next)
    if (p->partition == partition && strcmp(p->topic, topic) == 0)
      return p;
  return NULL;
}

static void set_paused(part_t *p, int paused) {
  rd_kafka_topic_partition_list_t *list;

  if (p->paused == paused || p->revoked)
    return;
  list = ofctx__rdkafka.topic_partition_list_new(1);
  ofctx__rdkafka.topic_partition_list_add(list, p->topic, p->partition);
  if (paused)
    ofctx__rdkafka.pause_partitions(p->in->rk, list);
  else
    ofctx__rdkafka.resume_partitions(p->in->rk, list);
  ofctx__rdkafka.topic_partition_list_destroy(list);
  p->paused = paused;
}

/* Whether `p` holds as many records as it may, or its input does; or
 * both below half of that. */
static int held_full(const part_t *p) {
  return p->count >= QUEUE_MAX || p->bytes >= QUEUE_BYTES || p->in->held >= p->in->d->max_held;
}
static int held_below_half(const part_t *p) {
  return p->count < QUEUE_MAX / 2 && p->bytes < QUEUE_BYTES / 2 &&
         p->in->held < p->in->d->max_held / 2;
}

/* Pauses `p` when it holds as many records as it may (or its input does),
 * or resumes it when they went below half, with a line (once each way). A
 * partition waiting for a retry stays paused until then. */
static void hold_limit(part_t *p, int full) {
  char partition[16], held[24], input_held[24];

  if (full == p->full || (full ? !held_full(p) : !held_below_half(p)))
    return;
  p->full = full;
  set_paused(p, full || p->waiting);
  snprintf(partition, sizeof partition, "%" PRId32, p->partition);
  snprintf(held, sizeof held, "%zu", p->count);
  snprintf(input_held, sizeof input_held, "%zu", p->in->held);
  ofctx__log(OFCTX_LOG_INFO, full ? "kafka: partition paused" : "kafka: partition resumed", "input",
             ofctx_component_name(p->in->entry), "topic", p->topic, "partition", partition, "held",
             held, "input_bytes", input_held, (const char *)NULL);
}

/* Commits the partitions of `in` with something done, asynchronously:
 * the loop never waits for the brokers. on_commit counts the answer. */
static void commit_done(input_t *in) {
  rd_kafka_topic_partition_list_t *list = ofctx__rdkafka.topic_partition_list_new(4);
  rd_kafka_resp_err_t err;

  for (part_t *p = in->parts; p; p = p->next)
    if (p->dirty) {
      ofctx__rdkafka.topic_partition_list_add(list, p->topic, p->partition)->offset = p->commit;
      p->dirty = 0;
    }
  if (list->cnt > 0) {
    err = ofctx__rdkafka.commit(in->rk, list, 1);
    if (!err)
      in->commits++;
    else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      ofctx__log(OFCTX_LOG_WARN, "kafka: commit failed", "input", ofctx_component_name(in->entry),
                 "error", ofctx__rdkafka.err2str(err), (const char *)NULL);
  }
  ofctx__rdkafka.topic_partition_list_destroy(list);
}

/* Records done are committed together, this long after the first of
 * them: one commit request for many records. */
#define COMMIT_DELAY_MS 20

static void commit_due(uv_timer_t *timer) {
  input_t *in = timer->data;
  if (in->rk)
    commit_done(in);
}

/* ---- invocations ---- */

static void answer(ofctx_t *ctx, ofctx__outcome_t outcome);

static void retry_due(uv_timer_t *timer) {
  part_t *p = timer->data;

  p->waiting = 0;
  give(p);
}

/* The first `given` records of `p` were with the function: the first
 * `done` of them are done (SUCCESS or DROP) and committed soon; the one
 * after them, when `done` < `given`, is given again after a back-off with
 * those behind it, its partition paused meanwhile. */
static void settle(part_t *p, size_t given, size_t done) {
  input_t *in = p->in;
  direct_t *d = in->d;

  p->inflight = 0;
  if (p->revoked) { /* given up: its next owner gets them again */
    part_release(p, &in->retired);
    return;
  }
  for (size_t k = 0; k < done; k++) {
    record_t *r = p->head;
    p->commit = r->msg->offset + 1;
    p->dirty = 1;
    p->head = r->next;
    p->count--;
    p->bytes -= r->msg->len;
    p->in->held -= r->msg->len;
    record_free(r);
  }
  if (!p->head)
    p->tail = NULL;
  if (done && d->draining)
    commit_done(in); /* answered before the consumer closes (input_close) */
  else if (done && !uv_is_active((uv_handle_t *)&in->commit))
    uv_timer_start(&in->commit, commit_due, COMMIT_DELAY_MS, 0); /* one for what ends meanwhile */
  if (d->draining) { /* what is not done is not committed: the group delivers it again */
    part_release(p, &in->parts);
    return;
  }
  if (done < given) {
    p->head->attempts++;
    set_paused(p, 1);
    p->waiting = 1;
    uv_timer_start(&p->retry, retry_due,
                   ofctx__backoff_ms(&d->redelivery, p->head->attempts, &d->rng), 0);
    return;
  }
  hold_limit(p, 0);
  if (!p->full)
    set_paused(p, 0); /* a retry's pause ends */
  for (part_t *q = in->parts; q; q = q->next)
    if (q->full) /* paused while the input held too much: resumed with it */
      hold_limit(q, 0);
  kick(d); /* the next records, from the loop: an answer may come from inside give */
}

static void answer(ofctx_t *ctx, ofctx__outcome_t outcome) {
  record_t *r = ctx->req;
  part_t *p = r->part;
  direct_t *d = p->in->d;

  settle(p, 1, outcome != OFCTX__OUTCOME_RETRY);
  maybe_closed(d);
}

/* A batch answered: what is done is the entries up to the first RETRY. */
static void answer_bulk(void *req, ofctx__bulk_t *bulk) {
  part_t *p = req;
  direct_t *d = p->in->d;
  size_t given = ofctx__bulk_count(bulk), done = ofctx__bulk_done_prefix(bulk);

  ofctx__bulk_free(bulk);
  settle(p, given, done);
  maybe_closed(d);
}

/* The event of record `r`: a binding's data and metadata as Dapr's Kafka
 * binding delivers them; a pub/sub record's CloudEvent. 0; 1 when it is
 * to be dropped (a pub/sub record that is no CloudEvent, or one that has
 * expired), said in `why`; -1 when out of memory. */
static int record_event(record_t *r, ofctx_event_t *ev, ofctx_error_t *why) {
  input_t *in = r->part->in;
  const char *data = r->msg->payload ? r->msg->payload : "";
  struct timespec now;
  ofctx_err_t rc;

  ev->input = ofctx_component_name(in->entry);
  ev->input_index = in->index;
  if (in->comp->type_id == OFCTX__COMP_KAFKA_BINDING) {
    ev->kind = OFCTX_EVENT_BINDING;
    ev->data = data;
    ev->len = r->msg->len;
  } else {
    ev->kind = OFCTX_EVENT_PUBSUB;
    rc = ofctx__ce_from_envelope(data, r->msg->len, ev, why);
    if (rc != OFCTX_OK)
      return rc == OFCTX_ENOMEM ? -1 : 1;
    clock_gettime(CLOCK_REALTIME, &now);
    if (ofctx__dapr_expired(data, r->msg->len, &now, why))
      return 1; /* dropped, as daprd drops an expired event */
  }
  if (ofctx__event_metadata_add(ev, r->md, r->md_count, 0) != 0 ||
      ofctx__event_metadata_add(ev, r->headers, r->header_count, 0) != 0)
    return -1;
  return 0;
}

/* The head of `p`, alone. */
static void give_one(part_t *p) {
  direct_t *d = p->in->d;
  record_t *r = p->head;
  ofctx_event_t ev = {0};
  ofctx_error_t why;
  int rc = record_event(r, &ev, &why);

  p->inflight = 1;
  if (rc == 1) {
    ofctx__event_clear(&ev);
    ofctx__log(OFCTX_LOG_WARN, "message dropped", "input", ofctx_component_name(p->in->entry),
               "reason", why.message, (const char *)NULL);
    ofctx__metrics_event(d->metrics, p->in->index, OFCTX__OUTCOME_DROP);
    settle(p, 1, 1);
    return;
  }
  if (rc != 0) {
    ofctx__event_clear(&ev);
    settle(p, 1, 0);
    return;
  }
  if (ofctx__invoke(d->host, r, &ev, answer) != 0) /* counted, and the event freed */
    settle(p, 1, 0);
}

/* The first records of `p`, up to the input's maxMessagesCount, in one
 * batch; a batch not full yet waits for more while more may come, up to
 * maxAwaitDurationMs after its first record came. Each entry's id is its
 * offset. */
static void give_batch(part_t *p) {
  input_t *in = p->in;
  direct_t *d = in->d;
  size_t max = ofctx__bulk_max_entries(&in->bulk), n = p->count < max ? p->count : max;
  uint64_t wait = ofctx__bulk_wait_ms(&in->bulk, p->count, !p->paused,
                                      uv_now(d->host->loop) - p->head->fetched);
  ofctx__bulk_t *bulk;
  record_t *r = p->head;

  if (wait) {
    uv_timer_start(&p->retry, retry_due, wait, 0);
    return;
  }
  uv_timer_stop(&p->retry);
  bulk = ofctx__bulk_new(d->host, p, in->index, n, answer_bulk);
  if (!bulk) {
    p->inflight = 1;
    settle(p, 1, 0);
    return;
  }
  p->inflight = n;
  for (size_t i = 0; i < n; i++, r = r->next) {
    ofctx_event_t ev = {0};
    ofctx_error_t why;
    int rc = record_event(r, &ev, &why);
    if (rc == 0) {
      ofctx__bulk_invoke(bulk, i, r->offset, strlen(r->offset), &ev);
      continue;
    }
    ofctx__event_clear(&ev);
    if (rc == 1)
      ofctx__log(OFCTX_LOG_WARN, "message dropped", "input", ofctx_component_name(in->entry),
                 "reason", why.message, (const char *)NULL);
    ofctx__bulk_settle(bulk, i, r->offset, strlen(r->offset),
                       rc == 1 ? OFCTX__OUTCOME_DROP : OFCTX__OUTCOME_RETRY);
  }
  ofctx__bulk_close(bulk); /* may answer at once */
}

/* Gives the head of `p` (or a batch from it) to the function, when it is
 * free to take it. */
static void give(part_t *p) {
  if (!p->head || p->inflight || p->waiting || p->revoked || p->in->d->draining)
    return;
  if (p->in->bulk.enabled)
    give_batch(p);
  else
    give_one(p);
}

/* ---- the consumer ---- */

/* librdkafka's errors. Authentication or TLS refused by the brokers is
 * not fixed by retrying: the function stops as the sidecar does when it
 * cannot connect a component, logged once, drained as on SIGTERM, exit
 * status 1 (a restart reads the secrets again: a rotated password). The
 * others librdkafka retries itself: a warning. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  input_t *in = opaque;

  (void)rk;
  if (!ofctx__kafka_auth_refused(err)) {
    ofctx__log(OFCTX_LOG_WARN, "kafka: consumer error", "input", ofctx_component_name(in->entry),
               "error", reason, (const char *)NULL);
    return;
  }
  if (in->d->failed)
    return;
  in->d->failed = 1;
  ofctx__log(OFCTX_LOG_ERROR, "kafka: authentication or TLS with the brokers failed: stopping",
             "input", ofctx_component_name(in->entry), "component", in->comp->name, "file",
             in->comp->file, "error", reason, (const char *)NULL);
  uv_kill(getpid(), SIGTERM);
}

static void on_message(input_t *in, rd_kafka_message_t *m) {
  part_t *p;
  record_t *r;

  if (m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      ofctx__log(OFCTX_LOG_WARN, "kafka: consumer error", "input", ofctx_component_name(in->entry),
                 "error", ofctx__rdkafka.message_errstr(m), (const char *)NULL);
    ofctx__rdkafka.message_destroy(m);
    return;
  }
  p = part_find(in, ofctx__rdkafka.topic_name(m->rkt), m->partition);
  /* After a record could not be kept, the partition was sought back to it
   * (`resync`), and it resumes at the first record at or after it: that
   * record itself, or, when retention or compaction removed it meanwhile,
   * the next one there is (or where auto.offset.reset puts the fetch).
   * Waiting for exactly `resync` would drop every later record. A record
   * fetched before the seek is not taken for the first one after it:
   * librdkafka's seek raises the partition's version and its poll drops
   * what was fetched under the old one, so what comes is from the seek on;
   * an offset below `resync` (none is expected) is dropped all the same. */
  if (!p || in->d->draining || (p->resync >= 0 && m->offset < p->resync)) {
    ofctx__rdkafka.message_destroy(m); /* not ours, or before the record fetched again */
    return;
  }
  p->resync = -1;
  r = ofctx__calloc(1, sizeof *r);
  if (r) {
    r->msg = m;
    r->part = p;
  }
  if (!r || record_metadata(r) != 0) {
    /* no memory: this record and those after it are fetched again */
    p->resync = m->offset;
    ofctx__rdkafka.seek(m->rkt, m->partition, m->offset, 0);
    if (r)
      record_free(r);
    else
      ofctx__rdkafka.message_destroy(m);
    return;
  }
  if (p->tail)
    p->tail->next = r;
  else
    p->head = r;
  p->tail = r;
  p->bytes += m->len;
  in->held += m->len;
  p->count++;
  r->fetched = uv_now(in->d->host->loop);
  hold_limit(p, 1);
  give(p);
}

static void on_kick(uv_idle_t *idle) {
  direct_t *d = idle->data;

  uv_idle_stop(idle); /* started again by what settles meanwhile */
  for (size_t i = 0; i < d->count; i++)
    for (part_t *p = d->inputs[i].parts, *next; p; p = next) {
      next = p->next;
      give(p);
    }
}

static void kick(direct_t *d) {
  if (d->kick_open && !d->draining)
    uv_idle_start(&d->kick, on_kick);
}

/* Everything librdkafka has for us: records, and through them the
 * rebalance, commit and log callbacks. */
static void serve_queue(input_t *in) {
  rd_kafka_message_t *m;

  if (in->stage == CLOSING) { /* the rebalance and the commits of the close */
    while (ofctx__rdkafka.queue_poll_callback(in->close_queue, 0) > 0)
      ;
  } else {
    while (in->rk && (m = ofctx__rdkafka.consumer_poll(in->rk, 0)) != NULL)
      on_message(in, m);
  }
  input_advance(in);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  input_t *in = poll->data;
  char buf[64];

  (void)status;
  (void)events;
  while (read(in->fds[0], buf, sizeof buf) > 0)
    ;
  serve_queue(in);
}

/* Each second: what librdkafka has, and the commits that failed tried
 * again. */
static void on_tick(uv_timer_t *timer) {
  input_t *in = timer->data;

  if (!in->rk)
    return;
  serve_queue(in);
  if (in->rk && in->stage == RUNNING)
    commit_done(in);
}

/* An asynchronous commit ended: the partitions whose commit failed (a
 * rebalance in progress, a broker away) are committed again at the next
 * tick, unless a later offset has been committed since, or the partition is
 * no longer ours. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  input_t *in = opaque;

  (void)rk;
  if (in->commits > 0)
    in->commits--; /* a draining input waits for none (input_advance) */
  if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET || !offsets)
    return;
  for (int i = 0; i < offsets->cnt; i++) {
    part_t *p = part_find(in, offsets->elems[i].topic, offsets->elems[i].partition);
    if (p && offsets->elems[i].err && p->commit == offsets->elems[i].offset)
      p->dirty = 1;
  }
  ofctx__log(OFCTX_LOG_DEBUG, "kafka: commit failed, tried again", "input",
             ofctx_component_name(in->entry), "error", ofctx__rdkafka.err2str(err),
             (const char *)NULL);
}

static void assign(input_t *in, rd_kafka_topic_partition_list_t *list) {
  for (int i = 0; i < list->cnt; i++) {
    part_t *p = ofctx__calloc(1, sizeof *p);
    if (!p || !(p->topic = ofctx__strdup(list->elems[i].topic))) {
      ofctx__free(p);
      ofctx__log(OFCTX_LOG_ERROR, "kafka: out of memory on an assignment", (const char *)NULL);
      continue; /* its records are dropped on arrival, and fetched by whoever gets it next */
    }
    p->in = in;
    p->partition = list->elems[i].partition;
    p->commit = -1;
    p->resync = -1;
    uv_timer_init(in->d->host->loop, &p->retry);
    p->retry.data = p;
    in->d->open_handles++;
    OFCTX__LIST_PUSH(in->parts, p);
  }
}

/* Revoked: what is done committed, the rest given up. The commit is
 * asynchronous, and it is enough: librdkafka does not end the unassign
 * that follows (nor rejoin the group) while a commit is unanswered (its
 * assignment counts them), so the partitions' next owner starts from it
 * when it succeeds, and from the offset before it when it fails (the
 * records again: at least once). The loop never waits here. */
static void revoke(input_t *in) {
  commit_done(in);
  while (in->parts) {
    part_t *p = in->parts;
    set_paused(p, 0); /* a partition assigned again starts as any other */
    p->revoked = 1;
    uv_timer_stop(&p->retry);
    p->waiting = 0;
    if (p->inflight) {
      OFCTX__LIST_UNLINK(in->parts, p);
      OFCTX__LIST_PUSH(in->retired, p);
      part_release(p, &in->retired);
    } else {
      part_release(p, &in->parts);
    }
  }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *list, void *opaque) {
  input_t *in = opaque;
  char n[16];

  snprintf(n, sizeof n, "%d", list->cnt);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    ofctx__log(OFCTX_LOG_INFO, "kafka: partitions assigned", "input",
               ofctx_component_name(in->entry), "partitions", n, (const char *)NULL);
    assign(in, list);
    ofctx__rdkafka.assign(rk, list);
  } else {
    ofctx__log(OFCTX_LOG_INFO, "kafka: partitions revoked", "input",
               ofctx_component_name(in->entry), "partitions", n, (const char *)NULL);
    revoke(in);
    ofctx__rdkafka.assign(rk, NULL);
  }
}

/* librdkafka's own lines: errors and warnings as warnings, the rest as
 * debug; a failed commit is ours to try again (on_commit), so debug too. */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *text) {
  (void)rk;
  ofctx__log(level <= 4 && strcmp(facility, "COMMITFAIL") != 0 ? OFCTX_LOG_WARN : OFCTX_LOG_DEBUG,
             "kafka", "facility", facility, "message", text, (const char *)NULL);
}

/* The consumer of input `in`: made, not yet subscribed. */
static int consumer_new(input_t *in, ofctx_error_t *err) {
  const ofctx__comp_t *c = in->comp;
  rd_kafka_conf_t *conf;
  char errstr[256];

  if (ofctx__rdkafka_open(errstr, sizeof errstr) != 0) {
    ofctx__error(err, OFCTX_ECOMPONENT, "%s: component \"%s\": %s", c->file, c->name, errstr);
    return -1;
  }
  conf = ofctx__rdkafka.conf_new();
  if (!conf) {
    ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    return -1;
  }
  if (ofctx__kafka_conf_consumer(conf, c, err) != OFCTX_OK) {
    ofctx__rdkafka.conf_destroy(conf);
    return -1;
  }
  if (ofctx__rdkafka.conf_set(conf, "log.queue", "true", errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    ofctx__rdkafka.conf_destroy(conf);
    ofctx__error(err, OFCTX_ECOMPONENT, "%s: component \"%s\": %s", c->file, c->name, errstr);
    return -1;
  }
  ofctx__rdkafka.conf_set_rebalance_cb(conf, on_rebalance);
  ofctx__rdkafka.conf_set_log_cb(conf, on_log);
  ofctx__rdkafka.conf_set_error_cb(conf, on_error);
  ofctx__rdkafka.conf_set_offset_commit_cb(conf, on_commit);
  ofctx__rdkafka.conf_set_opaque(conf, in);
  in->rk = ofctx__rdkafka.new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!in->rk) {
    ofctx__rdkafka.conf_destroy(conf);
    ofctx__error(err, OFCTX_ECOMPONENT, "%s: component \"%s\": %s", c->file, c->name, errstr);
    return -1;
  }
  /* the log and the rebalances through the consumer's queue, served on the loop */
  ofctx__rdkafka.set_log_queue(in->rk, NULL);
  ofctx__rdkafka.poll_set_consumer(in->rk);
  in->queue = ofctx__rdkafka.queue_get_consumer(in->rk);
  return 0;
}

/* The topics of input `in`: a binding's `topics` (comma-separated), a
 * pub/sub input's topic from the context. */
static rd_kafka_topic_partition_list_t *topics_of(const input_t *in) {
  rd_kafka_topic_partition_list_t *list = ofctx__rdkafka.topic_partition_list_new(4);
  const char *s = in->comp->type_id == OFCTX__COMP_KAFKA_BINDING
                      ? ofctx__comp_value(in->comp, "topics")
                      : ofctx_component_uri(in->entry),
             *start;
  char topic[256];
  size_t len;

  while ((start = ofctx__list_next(&s, &len)) != NULL)
    if (len && len < sizeof topic) {
      memcpy(topic, start, len);
      topic[len] = '\0';
      ofctx__rdkafka.topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
    }
  return list;
}

/* ---- the mode ---- */

static void *direct_start(const ofctx__mode_env_t *env, ofctx_error_t *err) {
  direct_t *d = ofctx__calloc(1, sizeof *d);
  size_t n = ofctx_config_input_count(env->cfg);

  if (!d || !(d->inputs = ofctx__calloc(n ? n : 1, sizeof *d->inputs))) {
    ofctx__free(d);
    ofctx__error(err, OFCTX_ENOMEM, "out of memory");
    return NULL;
  }
  d->cfg = env->cfg;
  d->host = env->host;
  d->metrics = env->metrics;
  d->redelivery = *env->redelivery;
  d->grace_ms = env->grace_ms;
  d->max_held = env->max_held ? env->max_held : (size_t)16 << 20;
  d->rng = uv_hrtime() | 1;
  d->count = n;
  snprintf(d->count_text, sizeof d->count_text, "%zu", n);
  for (size_t i = 0; i < n; i++) {
    input_t *in = &d->inputs[i];
    in->d = d;
    in->index = i;
    in->entry = ofctx_config_input_at(env->cfg, i);
    in->comp = env->comps->inputs[i];
    ofctx__bulk_config_any(in->entry, &in->bulk);
    in->fds[0] = in->fds[1] = -1;
    for (size_t k = 0; k < i; k++)
      if (d->inputs[k].comp == in->comp) {
        ofctx__error(err, OFCTX_ECOMPONENT,
                     "%s: component \"%s\" is the component of inputs \"%s\" and \"%s\": one "
                     "input per component in direct mode",
                     in->comp->file, in->comp->name, ofctx_component_name(d->inputs[k].entry),
                     ofctx_component_name(in->entry));
        goto fail;
      }
    if (consumer_new(in, err) != 0)
      goto fail;
  }
  return d;
fail:
  for (size_t i = 0; i < n; i++) {
    if (d->inputs[i].queue)
      ofctx__rdkafka.queue_destroy(d->inputs[i].queue);
    if (d->inputs[i].rk)
      ofctx__rdkafka.destroy(d->inputs[i].rk);
  }
  ofctx__free(d->inputs);
  ofctx__free(d);
  return NULL;
}

static void handle_closed(uv_handle_t *handle) {
  input_t *in = handle->data;

  in->handles--;
  in->d->open_handles--;
  maybe_closed(in->d);
}

static int input_listen(input_t *in, ofctx_error_t *err) {
  rd_kafka_topic_partition_list_t *topics = topics_of(in);
  rd_kafka_resp_err_t rc;
  uv_loop_t *loop = in->d->host->loop;
  /* the wake-up pipe, both ends non-blocking (and close-on-exec) */
  int failed = uv_pipe(in->fds, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE);

  if (failed) {
    ofctx__rdkafka.topic_partition_list_destroy(topics);
    ofctx__error(err, OFCTX_EIO, "kafka: pipe: %s", uv_strerror(failed));
    return -1;
  }
  uv_poll_init(loop, &in->poll, in->fds[0]);
  uv_timer_init(loop, &in->tick);
  in->poll.data = in->tick.data = in;
  uv_timer_init(loop, &in->commit);
  in->commit.data = in;
  in->handles = 3;
  in->d->open_handles += 3;
  uv_poll_start(&in->poll, UV_READABLE, on_readable);
  uv_timer_start(&in->tick, on_tick, 1000, 1000);
  ofctx__rdkafka.queue_io_event_enable(in->queue, in->fds[1], "1", 1);
  rc = ofctx__rdkafka.subscribe(in->rk, topics);
  ofctx__rdkafka.topic_partition_list_destroy(topics);
  if (rc) {
    ofctx__error(err, OFCTX_ECOMPONENT, "%s: component \"%s\": subscribe: %s", in->comp->file,
                 in->comp->name, ofctx__rdkafka.err2str(rc));
    return -1;
  }
  ofctx__log(OFCTX_LOG_INFO, "kafka: subscribed", "input", ofctx_component_name(in->entry),
             "component", in->comp->name, "group",
             ofctx__comp_value(in->comp, "consumerGroup")
                 ? ofctx__comp_value(in->comp, "consumerGroup")
                 : ofctx__comp_value(in->comp, "consumerID"),
             (const char *)NULL);
  return 0;
}

static int direct_listen(void *state, ofctx_error_t *err) {
  direct_t *d = state;

  uv_idle_init(d->host->loop, &d->later);
  uv_idle_init(d->host->loop, &d->kick);
  uv_timer_init(d->host->loop, &d->deadline);
  d->later.data = d->kick.data = d->deadline.data = d;
  d->kick_open = 1;
  d->open_handles += 3;
  for (size_t i = 0; i < d->count; i++)
    if (input_listen(&d->inputs[i], err) != 0)
      return -1;
  return 0;
}

/* The consumer of `in` gone: closed, or given up when the grace period
 * ended first; its handles closed. */
static void input_closed(input_t *in) {
  if (in->close_queue) {
    ofctx__rdkafka.queue_io_event_enable(in->close_queue, -1, NULL, 0);
    ofctx__rdkafka.queue_destroy(in->close_queue);
  }
  ofctx__rdkafka.queue_io_event_enable(in->queue, -1, NULL, 0);
  ofctx__rdkafka.queue_destroy(in->queue);
  if (in->d->expired && !(in->close_queue && ofctx__rdkafka.consumer_closed(in->rk)))
    ofctx__log(OFCTX_LOG_WARN,
               "kafka: the brokers did not answer within the grace period: the group is not "
               "left (its session ends it), and what was not committed is delivered again",
               "input", ofctx_component_name(in->entry), (const char *)NULL);
  /* closed already, or not to be waited for: librdkafka's threads end */
  ofctx__rdkafka.destroy_flags(in->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  in->close_queue = NULL;
  in->queue = NULL;
  in->rk = NULL;
  in->stage = CLOSED;
  if (in->handles) {
    uv_close((uv_handle_t *)&in->poll, handle_closed);
    uv_close((uv_handle_t *)&in->tick, handle_closed);
    uv_close((uv_handle_t *)&in->commit, handle_closed);
  }
}

/* The consumer of `in` closing on the loop, as librdkafka's own close
 * does it on a thread: the assignment revoked (on_rebalance), the group
 * left; its events come on a queue of their own, served by serve_queue. */
static void input_close(input_t *in) {
  rd_kafka_error_t *error = NULL;

  in->close_queue = ofctx__rdkafka.queue_new(in->rk);
  if (in->close_queue) {
    ofctx__rdkafka.queue_io_event_enable(in->queue, -1, NULL, 0);
    ofctx__rdkafka.queue_io_event_enable(in->close_queue, in->fds[1], "1", 1);
    error = ofctx__rdkafka.consumer_close_queue(in->rk, in->close_queue);
  }
  if (!in->close_queue || error) {
    ofctx__log(OFCTX_LOG_WARN, "kafka: the consumer could not be closed", "input",
               ofctx_component_name(in->entry), "error",
               error ? ofctx__rdkafka.error_string(error) : "out of memory", (const char *)NULL);
    if (error)
      ofctx__rdkafka.error_destroy(error);
    input_closed(in);
    return;
  }
  in->stage = CLOSING;
  serve_queue(in);
}

/* The drain of `in`, a step further when it can go: its last commits
 * answered (or the grace period over), its consumer closed (or the grace
 * period over). Never waits: called again when librdkafka has more. */
static void input_advance(input_t *in) {
  direct_t *d = in->d;

  if (in->stage == COMMITTING && in->commits == 0 && !d->expired)
    input_close(in); /* may end at once */
  else if (in->stage == COMMITTING && d->expired)
    input_closed(in);
  else if (in->stage == CLOSING && (d->expired || ofctx__rdkafka.consumer_closed(in->rk)))
    input_closed(in);
}

static void kick_closed(uv_handle_t *handle) {
  direct_t *d = handle->data;
  d->open_handles--;
  maybe_closed(d);
}

static void call_closed(uv_idle_t *idle) {
  direct_t *d = idle->data;
  uv_idle_stop(idle);
  uv_close((uv_handle_t *)idle, NULL);
  d->closed(d->closed_arg);
}

/* Once draining and nothing is in flight: the consumers closed, then the
 * handles, then `closed`. */
static void maybe_closed(direct_t *d) {
  if (!d->draining)
    return;
  for (size_t i = 0; i < d->count; i++) {
    input_t *in = &d->inputs[i];
    for (part_t *p = in->parts; p; p = p->next)
      if (p->inflight)
        return;
    if (in->retired)
      return;
  }
  if (!d->closing) {
    d->closing = 1;
    d->kick_open = 0;
    uv_close((uv_handle_t *)&d->kick, kick_closed);
    for (size_t i = 0; i < d->count; i++) {
      input_t *in = &d->inputs[i];
      if (!in->rk)
        continue;
      commit_done(in); /* what ended since */
      in->stage = COMMITTING;
      input_advance(in);
    }
  }
  for (size_t i = 0; i < d->count; i++)
    if (d->inputs[i].rk)
      return;
  if (!d->deadline_closed) {
    d->deadline_closed = 1;
    uv_close((uv_handle_t *)&d->deadline, kick_closed);
  }
  if (d->open_handles == 1 && d->closed) { /* `later` alone */
    d->open_handles = 0;
    uv_idle_start(&d->later, call_closed);
  }
}

/* The grace period is over: the brokers are waited for no longer. */
static void deadline_due(uv_timer_t *timer) {
  direct_t *d = timer->data;

  d->expired = 1;
  for (size_t i = 0; i < d->count; i++)
    input_advance(&d->inputs[i]);
  maybe_closed(d);
}

static void direct_drain(void *state, void (*closed)(void *arg), void *arg) {
  direct_t *d = state;

  d->draining = 1;
  d->closed = closed;
  d->closed_arg = arg;
  uv_timer_start(&d->deadline, deadline_due, d->grace_ms, 0);
  for (size_t i = 0; i < d->count; i++) {
    input_t *in = &d->inputs[i];
    part_t *p = in->parts;
    /* the poll and the tick go on: the commits' answers come through them */
    uv_timer_stop(&in->commit);
    if (in->rk)
      commit_done(in); /* before the partitions that wait are let go */
    while (p) {        /* what waits is given up, not committed; what runs ends */
      part_t *next = p->next;
      uv_timer_stop(&p->retry);
      p->waiting = 0;
      if (!p->inflight)
        part_release(p, &in->parts);
      p = next;
    }
  }
  maybe_closed(d);
}

/* The records of each partition this instance holds that are not done:
 * the partition's end (the high watermark of the last fetch) less the
 * offset to commit next (before the first commit, the first record not
 * done, or the fetch position). */
static void direct_metrics(void *state, ofctx__buf_t *out) {
  direct_t *d = state;

  ofctx__buf_puts(out, "# HELP ofctx_kafka_consumer_lag Records of an assigned partition not done "
                       "yet: its end less the offset to commit next.\n"
                       "# TYPE ofctx_kafka_consumer_lag gauge\n");
  for (size_t i = 0; i < d->count; i++) {
    input_t *in = &d->inputs[i];
    for (part_t *p = in->parts; in->rk && p; p = p->next) {
      int64_t low = 0, high = 0, next = p->commit;
      if (ofctx__rdkafka.get_watermark_offsets(in->rk, p->topic, p->partition, &low, &high) ||
          high < 0)
        continue; /* nothing fetched yet */
      if (next < 0 && p->head)
        next = p->head->msg->offset;
      if (next < 0) {
        rd_kafka_topic_partition_list_t *list = ofctx__rdkafka.topic_partition_list_new(1);
        ofctx__rdkafka.topic_partition_list_add(list, p->topic, p->partition);
        if (!ofctx__rdkafka.position(in->rk, list))
          next = list->elems[0].offset;
        ofctx__rdkafka.topic_partition_list_destroy(list);
      }
      if (next < 0)
        next = high; /* no position: nothing is known to wait */
      ofctx__buf_puts(out, "ofctx_kafka_consumer_lag{input=\"");
      ofctx__metrics_escape(out, ofctx_component_name(in->entry), 1);
      ofctx__buf_puts(out, "\",topic=\"");
      ofctx__metrics_escape(out, p->topic, 1);
      ofctx__buf_printf(out, "\",partition=\"%" PRId32 "\"} %" PRId64 "\n", p->partition,
                        high > next ? high - next : 0);
    }
  }
}

static void direct_describe(void *state, const char **key, const char **value) {
  direct_t *d = state;
  *key = "inputs";
  *value = d->count_text;
}

static void direct_stop(void *state) {
  direct_t *d = state;

  for (size_t i = 0; i < d->count; i++) {
    input_t *in = &d->inputs[i];
    if (in->close_queue)
      ofctx__rdkafka.queue_destroy(in->close_queue);
    if (in->queue)
      ofctx__rdkafka.queue_destroy(in->queue);
    if (in->rk)
      ofctx__rdkafka.destroy(in->rk);
    for (int k = 0; k < 2; k++)
      if (in->fds[k] >= 0)
        close(in->fds[k]);
  }
  ofctx__free(d->inputs);
  ofctx__free(d);
}

static int direct_exit_status(void *state) { return ((direct_t *)state)->failed ? 1 : 0; }

const ofctx__mode_t ofctx__direct_mode = {.name = "Async",
                                          .start = direct_start,
                                          .describe = direct_describe,
                                          .stop = direct_stop,
                                          .listen = direct_listen,
                                          .drain = direct_drain,
                                          .metrics = direct_metrics,
                                          .exit_status = direct_exit_status};
