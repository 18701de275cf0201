/* A bulk delivery: one invocation per entry, one answer for all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "mem.h"

#define BULK_ENABLED "bulkSubscribe"
#define BULK_MAX_MESSAGES "bulkSubscribeMaxMessagesCount"
#define BULK_MAX_AWAIT "bulkSubscribeMaxAwaitDurationMs"

int ofctx__bulk_metadata_key(const char *key) {
  return strcmp(key, BULK_ENABLED) == 0 || strcmp(key, BULK_MAX_MESSAGES) == 0 ||
         strcmp(key, BULK_MAX_AWAIT) == 0;
}

/* A whole number from 1 to `max` in `md`'s `key`; 0 when absent; -1 when
 * it is not one. */
static long metadata_number(const ofctx_strmap_t *md, const char *key, long max) {
  const char *v = ofctx_strmap_get(md, key);
  char *end;
  long n;

  if (!v)
    return 0;
  n = strtol(v, &end, 10);
  return *v >= '0' && *v <= '9' && !*end && n >= 1 && n <= max ? n : -1;
}

int ofctx__bulk_config(const ofctx_component_t *in, ofctx__bulk_config_t *out, char *err,
                       size_t size) {
  const ofctx_strmap_t *md = ofctx_component_metadata(in);
  const char *enabled = ofctx_strmap_get(md, BULK_ENABLED);

  memset(out, 0, sizeof *out);
  if (ofctx_component_kind(in) != OFCTX_COMPONENT_PUBSUB)
    return 0;
  out->enabled = enabled && strcmp(enabled, "true") == 0;
  out->max_messages = metadata_number(md, BULK_MAX_MESSAGES, 100000);
  out->max_await_ms = metadata_number(md, BULK_MAX_AWAIT, 3600000);
  if ((enabled && !out->enabled && strcmp(enabled, "false") != 0) || out->max_messages < 0 ||
      out->max_await_ms < 0) {
    snprintf(err, size,
             "input %s: its metadata %s must be \"true\" or \"false\", and %s (1-100000) and "
             "%s (1-3600000) whole numbers",
             ofctx_component_name(in), BULK_ENABLED, BULK_MAX_MESSAGES, BULK_MAX_AWAIT);
    return -1;
  }
  return 0;
}

typedef struct {
  ofctx__bulk_t *bulk;
  char *id;
  ofctx__outcome_t outcome;
  int given, settled;
  ofctx__buf_t strings;
} entry_t;

struct ofctx__bulk {
  ofctx__host_t *host;
  void *req;
  size_t input, count, settled;
  int closed;
  ofctx__bulk_answer_fn answer;
  entry_t *entries;
};

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
  if (!e->id || e->strings.failed) {
    ofctx__event_clear(ev);
    entry_settled(e, OFCTX__OUTCOME_RETRY);
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

void ofctx__bulk_close(ofctx__bulk_t *b) {
  for (size_t i = 0; i < b->count; i++)
    if (!b->entries[i].given)
      entry_settled(&b->entries[i], OFCTX__OUTCOME_RETRY);
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

void ofctx__bulk_free(ofctx__bulk_t *b) {
  for (size_t i = 0; i < b->count; i++) {
    ofctx__free(b->entries[i].id);
    ofctx__buf_free(&b->entries[i].strings);
  }
  ofctx__free(b->entries);
  ofctx__free(b);
}
