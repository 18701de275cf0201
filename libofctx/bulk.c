/* A bulk delivery: one invocation per entry, one answer for all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "mem.h"
#include "metrics.h"

#define BULK_ENABLED "bulkSubscribe"
#define BULK_MAX_MESSAGES "bulkSubscribeMaxMessagesCount"
#define BULK_MAX_AWAIT "bulkSubscribeMaxAwaitDurationMs"

int ofctx__bulk_metadata_key(const char *key) {
  return strcmp(key, BULK_ENABLED) == 0 || strcmp(key, BULK_MAX_MESSAGES) == 0 ||
         strcmp(key, BULK_MAX_AWAIT) == 0;
}

/* A whole number in `md`'s `key` (the config has checked it); 0 when
 * absent. */
static long metadata_number(const ofctx_strmap_t *md, const char *key) {
  const char *v = ofctx_strmap_get(md, key);
  return v ? strtol(v, NULL, 10) : 0;
}

void ofctx__bulk_config_any(const ofctx_component_t *in, ofctx__bulk_config_t *out) {
  const ofctx_strmap_t *md = ofctx_component_metadata(in);
  const char *enabled = ofctx_strmap_get(md, BULK_ENABLED);

  out->enabled = enabled && strcmp(enabled, "true") == 0;
  out->max_messages = metadata_number(md, BULK_MAX_MESSAGES);
  out->max_await_ms = metadata_number(md, BULK_MAX_AWAIT);
}

void ofctx__bulk_config(const ofctx_component_t *in, ofctx__bulk_config_t *out) {
  memset(out, 0, sizeof *out);
  if (ofctx_component_kind(in) == OFCTX_COMPONENT_PUBSUB)
    ofctx__bulk_config_any(in, out);
}

typedef struct {
  ofctx__bulk_t *bulk;
  char *id;
  ofctx__outcome_t outcome;
  int given, settled;
  int held; /* a batch function's: `ev` waits for the close */
  ofctx_event_t ev;
  ofctx__buf_t strings;
} entry_t;

struct ofctx__bulk {
  ofctx__host_t *host;
  void *req;
  size_t input, count, settled;
  int closed;
  ofctx__bulk_answer_fn answer;
  entry_t *entries;
  ofctx_batch_t batch;   /* a batch function's: the held entries */
  size_t *batch_entries; /* batch index -> entry index */
  ofctx_event_t shared;  /* its metadata: what every entry's event has after its own */
};

size_t ofctx__bulk_max_entries(const ofctx__bulk_config_t *config) {
  return config->max_messages ? (size_t)config->max_messages : OFCTX__BULK_DEFAULT_MAX;
}

uint64_t ofctx__bulk_wait_ms(const ofctx__bulk_config_t *config, size_t held, int more,
                             uint64_t age_ms) {
  uint64_t await =
      config->max_await_ms ? (uint64_t)config->max_await_ms : OFCTX__BULK_DEFAULT_AWAIT_MS;

  if (held >= ofctx__bulk_max_entries(config) || !more || age_ms >= await)
    return 0;
  return await - age_ms;
}

size_t ofctx__bulk_cost(size_t count) {
  /* an entry, its invocation, a batch function's slots */
  return count * (sizeof(entry_t) + sizeof(ofctx_t) + 2 * sizeof(void *) + sizeof(size_t));
}

int ofctx__bulk_share_metadata(ofctx__bulk_t *b, const ofctx__http_header_t *headers, size_t n) {
  return ofctx__event_metadata_add(&b->shared, headers, n, 1);
}

ofctx__bulk_t *ofctx__bulk_new(ofctx__host_t *host, void *req, size_t input, size_t count,
                               ofctx__bulk_answer_fn answer) {
  ofctx__bulk_t *b = ofctx__calloc(1, sizeof *b);

  if (!b)
    return NULL;
  b->entries = ofctx__calloc(count ? count : 1, sizeof *b->entries);
  if (!b->entries) {
    ofctx__free(b);
    return NULL;
  }
  b->host = host;
  b->req = req;
  b->input = input;
  b->count = count;
  b->answer = answer;
  for (size_t i = 0; i < count; i++) {
    b->entries[i].bulk = b;
    b->entries[i].outcome = OFCTX__OUTCOME_RETRY;
  }
  return b;
}

static void maybe_answer(ofctx__bulk_t *b) {
  if (b->closed && b->settled == b->count)
    b->answer(b->req, b);
}

static void entry_settled(entry_t *e, ofctx__outcome_t outcome) {
  if (e->settled)
    return;
  e->settled = 1;
  e->outcome = outcome;
  e->bulk->settled++;
  maybe_answer(e->bulk);
}

static void entry_answer(ofctx_t *ctx, ofctx__outcome_t outcome) {
  entry_settled(ctx->req, outcome);
}

static void take_id(entry_t *e, const char *id, size_t id_len) {
  e->given = 1;
  e->id = ofctx__strndup(id ? id : "", id ? id_len : 0);
}

void ofctx__bulk_invoke(ofctx__bulk_t *b, size_t i, const char *id, size_t id_len,
                        ofctx_event_t *ev) {
  entry_t *e = &b->entries[i];

  take_id(e, id, id_len);
  ev->shared_metadata = b->shared.metadata;
  ev->shared_count = b->shared.metadata_count;
  if (!e->id || e->strings.failed) {
    ofctx__event_clear(ev);
    ofctx__metrics_event(b->host->metrics, b->input, OFCTX__OUTCOME_RETRY);
    entry_settled(e, OFCTX__OUTCOME_RETRY);
    return;
  }
  if (b->host->batch_fn) { /* one call for all, at the close */
    e->ev = *ev;
    e->held = 1;
    return;
  }
  /* on failure the event is freed and counted, and the entry is RETRY */
  if (ofctx__invoke(b->host, e, ev, entry_answer) != 0)
    entry_settled(e, OFCTX__OUTCOME_RETRY);
}

void ofctx__bulk_settle(ofctx__bulk_t *b, size_t i, const char *id, size_t id_len,
                        ofctx__outcome_t outcome) {
  entry_t *e = &b->entries[i];

  take_id(e, id, id_len);
  ofctx__metrics_event(b->host->metrics, b->input, outcome);
  entry_settled(e, outcome);
}

ofctx__buf_t *ofctx__bulk_strings(ofctx__bulk_t *b, size_t i) { return &b->entries[i].strings; }

/* Each held entry's outcome from the batch's, counted. */
static void batch_answer(ofctx_t *ctx, ofctx__outcome_t outcome) {
  ofctx__bulk_t *b = ctx->req;
  size_t n = b->batch.count;

  /* the last entry settled may answer the batch and free `b` */
  for (size_t k = 0; k < n; k++) {
    ofctx__outcome_t o = ofctx__batch_outcome(&b->batch, k, outcome);
    ofctx__metrics_event(b->host->metrics, b->input, o);
    entry_settled(&b->entries[b->batch_entries[k]], o);
  }
}

/* The held entries, in one call of the batch function. */
static void run_batch(ofctx__bulk_t *b) {
  size_t n = 0;

  for (size_t i = 0; i < b->count; i++)
    n += b->entries[i].held;
  if (n == 0)
    return;
  b->batch.events = ofctx__calloc(n, sizeof *b->batch.events);
  b->batch.statuses = ofctx__calloc(n, sizeof *b->batch.statuses);
  b->batch_entries = ofctx__calloc(n, sizeof *b->batch_entries);
  if (b->batch.events && b->batch.statuses && b->batch_entries) {
    for (size_t i = 0; i < b->count; i++)
      if (b->entries[i].held) {
        b->batch.events[b->batch.count] = &b->entries[i].ev;
        b->batch_entries[b->batch.count++] = i;
      }
    if (ofctx__invoke_batch(b->host, b, &b->batch, b->entries[b->batch_entries[0]].ev.input,
                            b->input, batch_answer) == 0)
      return;
  }
  for (size_t i = 0; i < b->count; i++) /* out of memory: nothing ran */
    if (b->entries[i].held) {
      ofctx__metrics_event(b->host->metrics, b->input, OFCTX__OUTCOME_RETRY);
      entry_settled(&b->entries[i], OFCTX__OUTCOME_RETRY);
    }
}

void ofctx__bulk_close(ofctx__bulk_t *b) {
  for (size_t i = 0; i < b->count; i++)
    if (!b->entries[i].given)
      entry_settled(&b->entries[i], OFCTX__OUTCOME_RETRY);
  if (b->host->batch_fn)
    run_batch(b); /* may answer, and free `b`, once closed */
  b->closed = 1;
  maybe_answer(b);
}

size_t ofctx__bulk_count(const ofctx__bulk_t *b) { return b->count; }

const char *ofctx__bulk_id(const ofctx__bulk_t *b, size_t i) {
  return b->entries[i].id ? b->entries[i].id : "";
}

ofctx__outcome_t ofctx__bulk_outcome(const ofctx__bulk_t *b, size_t i) {
  return b->entries[i].outcome;
}

size_t ofctx__bulk_done_prefix(const ofctx__bulk_t *b) {
  size_t n = 0;

  while (n < b->count && b->entries[n].outcome != OFCTX__OUTCOME_RETRY)
    n++;
  return n;
}

void ofctx__bulk_free(ofctx__bulk_t *b) {
  for (size_t i = 0; i < b->count; i++) {
    if (b->entries[i].held)
      ofctx__event_clear(&b->entries[i].ev);
    ofctx__free(b->entries[i].id);
    ofctx__buf_free(&b->entries[i].strings);
  }
  ofctx__free(b->entries);
  ofctx__event_clear(&b->shared);
  ofctx__free(b->batch.events);
  ofctx__free(b->batch.statuses);
  ofctx__free(b->batch_entries);
  ofctx__free(b);
}
