/* The open incidents kept in a state store: read at start and restored,
 * written when a notification was accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incidents_store.h"

/* Invocations held until a write has finished: each entry one hold. */
typedef struct {
  ofctx_t **ctx;
  size_t n, cap;
} holds_t;

/* One rule's key: the changes waiting, and the write on its way. */
typedef struct doc {
  struct doc *next;
  lh_store_t *s;
  json_t *waiting; /* ID → incident, or null (resolved): not yet written */
  json_t *flying;  /* the changes of the write on its way, or NULL */
  holds_t held;    /* the holds of `waiting`'s changes */
  holds_t flown;   /* ... and of `flying`'s */
  int tries;       /* of the write on its way */
  double retry_at; /* after a failed write: not before this wall time */
  char key[];      /* "incidents-RULE" */
} doc_t;

#define RULE_OF(d) ((d)->key + sizeof "incidents-" - 1)

struct lh_store {
  char *entry;
  lh_notifier_t *notifier;
  const lh_ruleset_t *rules;
  doc_t *docs;
  int loaded;
  size_t loading;        /* reads on their way */
  size_t load_failed;    /* reads of this load that failed */
  size_t restored, gone; /* incidents of this load: restored, and dropped */
  double retry_at;       /* after a failed load */
  double wall;           /* the newest wall time seen */
  lh_store_loaded_fn on_load;
  void *on_load_arg;
  lh_store_counts_t counts;
};

lh_store_t *lh_store_new(const char *entry) {
  lh_store_t *s = calloc(1, sizeof *s);

  if (!s || !(s->entry = strdup(entry))) {
    free(s);
    return NULL;
  }
  return s;
}

void lh_store_free(lh_store_t *s) {
  if (!s)
    return;
  while (s->docs) {
    doc_t *d = s->docs;
    s->docs = d->next;
    json_decref(d->waiting);
    json_decref(d->flying);
    free(d->held.ctx);
    free(d->flown.ctx);
    free(d);
  }
  free(s->entry);
  free(s);
}

void lh_store_use(lh_store_t *s, lh_notifier_t *n, const lh_ruleset_t *rules) {
  s->notifier = n;
  s->rules = rules;
}

void lh_store_on_load(lh_store_t *s, lh_store_loaded_fn fn, void *arg) {
  s->on_load = fn;
  s->on_load_arg = arg;
}

int lh_store_ready(const lh_store_t *s) { return s->loaded; }
const lh_store_counts_t *lh_store_counts(const lh_store_t *s) { return &s->counts; }
const char *lh_store_entry(const lh_store_t *s) { return s->entry; }

/* The doc of `rule`, made when new; NULL when out of memory. */
static doc_t *doc_of(lh_store_t *s, const char *rule) {
  size_t size = sizeof "incidents-" + strlen(rule);
  doc_t *d;

  for (d = s->docs; d; d = d->next)
    if (strcmp(RULE_OF(d), rule) == 0)
      return d;
  d = calloc(1, sizeof *d + size);
  if (!d)
    return NULL;
  if (!(d->waiting = json_object()) || lh_incident_key(rule, d->key, size) != 0) {
    json_decref(d->waiting);
    free(d);
    return NULL;
  }
  d->s = s;
  d->next = s->docs;
  s->docs = d;
  return d;
}

/* Room for `more` holds: 0, or -1 when out of memory. */
static int holds_room(holds_t *h, size_t more) {
  size_t cap = h->cap ? h->cap : 4;
  ofctx_t **bigger;

  while (cap < h->n + more)
    cap *= 2;
  if (cap == h->cap)
    return 0;
  bigger = realloc(h->ctx, cap * sizeof *bigger);
  if (!bigger)
    return -1;
  h->ctx = bigger;
  h->cap = cap;
  return 0;
}

/* The rule named `name` now: its index, or (size_t)-1. */
static size_t rule_index(const lh_store_t *s, const char *name) {
  for (size_t i = 0; s->rules && i < lh_ruleset_count(s->rules); i++)
    if (strcmp(lh_ruleset_name(s->rules, i), name) == 0)
      return i;
  return (size_t)-1;
}

static const char *condition_of(const json_t *rule) {
  return json_string_value(json_object_get(json_object_get(rule, "condition"), "kind"));
}

static void read_doc(doc_t *d, ofctx_t *ctx);

/* The write on its way ended with `code`: its holds released with it; on
 * success the next write goes, in a turn still held; on failure its
 * changes wait again (under the newer ones) for a later tick. */
static void finish(doc_t *d, ofctx_t *ctx, ofctx_err_t code) {
  holds_t flown = d->flown;

  if (code == OFCTX_OK)
    d->s->counts.writes_ok++;
  else
    d->s->counts.writes_failed++;
  if (code != OFCTX_OK) {
    ofctx_log(ctx, OFCTX_LOG_ERROR,
              "state store %s: the open incidents of rule %s were not kept (%s); tried again "
              "in %g s",
              d->s->entry, RULE_OF(d), ofctx_strerror(code), LH_STORE_RETRY_S);
    json_object_update_missing(d->waiting, d->flying);
    d->retry_at = d->s->wall + LH_STORE_RETRY_S;
  }
  json_decref(d->flying);
  d->flying = NULL;
  d->flown = (holds_t){0};
  if (code == OFCTX_OK && json_object_size(d->waiting) > 0 && d->held.n > 0) {
    json_t *next = json_object();
    if (next) {
      d->flying = d->waiting;
      d->waiting = next;
      d->flown = d->held;
      d->held = (holds_t){0};
      d->tries = 0;
      read_doc(d, d->flown.ctx[0]);
    }
  }
  for (size_t i = 0; i < flown.n; i++)
    ofctx_release(flown.ctx[i], code);
  free(flown.ctx);
}

static void wrote(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {
  doc_t *d = arg;

  if (r->code == OFCTX_ECONFLICT)
    d->s->counts.conflicts++;
  if (r->code == OFCTX_ECONFLICT && ++d->tries < LH_STORE_TRIES) {
    read_doc(d, ctx); /* another replica wrote meanwhile: its incidents and ours */
    return;
  }
  finish(d, ctx, r->code == OFCTX_ECONFLICT ? OFCTX_ESTATE : r->code);
}

/* The stored document of a read, or NULL (none, or not one: said). */
static json_t *stored_of(const doc_t *d, ofctx_t *ctx, const ofctx_state_result_t *r) {
  char why[160];
  json_t *doc;

  if (!r->found)
    return NULL;
  doc = json_loadb(r->value, r->len, 0, NULL);
  if (lh_incidents_doc_check(doc, why, sizeof why) != 0) {
    ofctx_log(ctx, OFCTX_LOG_WARN, "state store %s: key %s is no document of incidents (%s)",
              d->s->entry, d->key, why);
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* The document read: the changes applied, and written back with its ETag
 * (deleted once no incident is left). */
static void got(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {
  doc_t *d = arg;
  lh_store_t *s = d->s;
  size_t i = rule_index(s, RULE_OF(d));
  const json_t *rule = i != (size_t)-1 ? lh_ruleset_rule_json(s->rules, i) : NULL;
  ofctx_state_opts_t opts = OFCTX_STATE_OPTS_INIT;
  json_t *stored, *doc;
  ofctx_err_t rc;

  if (r->code != OFCTX_OK) {
    finish(d, ctx, r->code);
    return;
  }
  stored = stored_of(d, ctx, r);
  doc = lh_incidents_merge(stored, d->flying, RULE_OF(d), rule ? condition_of(rule) : NULL,
                           rule ? json_object_get(rule, "group_by") : NULL);
  json_decref(stored);
  if (!doc) {
    finish(d, ctx, OFCTX_ENOMEM);
    return;
  }
  /* first-write with the ETag read: a write between the read and this one
   * is a conflict, not lost (with no ETag: only when the key is new) */
  opts.concurrency = r->found && !*r->etag ? OFCTX_STATE_LAST_WRITE : OFCTX_STATE_FIRST_WRITE;
  opts.etag = r->found && *r->etag ? r->etag : NULL;
  opts.done = wrote;
  opts.arg = d;
  if (json_object_size(json_object_get(doc, "incidents")) == 0) {
    rc = r->found ? ofctx_state_delete(ctx, s->entry, d->key, &opts) : OFCTX_OK;
    if (!r->found) {
      json_decref(doc);
      finish(d, ctx, OFCTX_OK);
      return;
    }
  } else {
    char *text = json_dumps(doc, JSON_COMPACT);
    rc = text ? ofctx_state_set(ctx, s->entry, d->key, text, strlen(text), &opts) : OFCTX_ENOMEM;
    free(text);
  }
  json_decref(doc);
  if (rc != OFCTX_OK)
    finish(d, ctx, rc);
}

static void read_doc(doc_t *d, ofctx_t *ctx) {
  ofctx_err_t rc = ofctx_state_get(ctx, d->s->entry, d->key, got, d);

  if (rc != OFCTX_OK)
    finish(d, ctx, rc);
}

/* The waiting changes of `d` go, in the turn `ctx` (held for them):
 * 0, or -1 when out of memory. */
static int begin(doc_t *d, ofctx_t *ctx) {
  json_t *next = json_object();

  if (!next || holds_room(&d->held, 1) != 0 || ofctx_hold(ctx) != OFCTX_OK) {
    json_decref(next);
    return -1;
  }
  d->held.ctx[d->held.n++] = ctx;
  d->flying = d->waiting;
  d->waiting = next;
  d->flown = d->held;
  d->held = (holds_t){0};
  d->tries = 0;
  read_doc(d, ctx);
  return 0;
}

int lh_store_persist(void *arg, ofctx_t *ctx, const lh_note_t *note, ofctx_t *const *held,
                     size_t count) {
  lh_store_t *s = arg;
  doc_t *d;
  char *id;
  json_t *v;

  if (!s->rules || note->rule >= lh_ruleset_count(s->rules))
    return -1;
  d = doc_of(s, lh_ruleset_name(s->rules, note->rule));
  if (!d || holds_room(&d->held, count + 1) != 0 ||
      !(id = lh_incident_id(note->key, note->key_count)))
    return -1;
  v = note->kind == LH_NOTE_RESOLVED ? json_null() : lh_incident_json(note);
  if (!v || json_object_set_new(d->waiting, id, v) != 0) {
    free(id);
    return -1;
  }
  free(id);
  if (count) /* their holds are ours now */
    memcpy(d->held.ctx + d->held.n, held, count * sizeof *held);
  d->held.n += count;
  if (!d->flying && s->wall >= d->retry_at && begin(d, ctx) != 0)
    ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory: the open incidents wait for the next tick");
  return 0;
}

/* The incidents of the document `stored` of `d` back into the notifier;
 * those it cannot take (its rule's group_by or condition changed, or not
 * an incident) are deleted from the store by the next write. */
static void restore(lh_store_t *s, doc_t *d, ofctx_t *ctx, const json_t *stored) {
  size_t i = rule_index(s, RULE_OF(d));
  const json_t *rule = i != (size_t)-1 ? lh_ruleset_rule_json(s->rules, i) : NULL;
  const json_t *group_by = rule ? json_object_get(rule, "group_by") : NULL;
  const char *cond = rule ? condition_of(rule) : NULL, *id;
  const char *was = json_string_value(json_object_get(stored, "condition"));
  int same = group_by && json_equal(json_object_get(stored, "group_by"), (json_t *)group_by) &&
             cond && was && strcmp(cond, was) == 0;
  json_t *v;

  json_object_foreach((json_t *)json_object_get(stored, "incidents"), id, v) {
    lh_incident_t inc;
    char why[160];
    int rc = -1;
    if (!same) {
      snprintf(why, sizeof why, "the rule's group_by or condition changed");
    } else if (lh_incident_parse(v, &inc, why, sizeof why) != 0) {
      /* why says it */
    } else if (inc.note.key_count != json_array_size(group_by)) {
      snprintf(why, sizeof why, "its key has not one value per group_by field");
    } else {
      inc.note.rule = i;
      rc = lh_notifier_restore(s->notifier, &inc.note, s->wall);
      if (rc < 0)
        snprintf(why, sizeof why, "out of memory");
    }
    if (rc >= 0) {
      s->restored += rc == 0;
      s->counts.restored += rc == 0;
      continue;
    }
    ofctx_log(ctx, OFCTX_LOG_WARN, "state store %s: incident %s of rule %s dropped: %s", s->entry,
              id, RULE_OF(d), why);
    s->gone++;
    s->counts.dropped++;
    json_object_set_new(d->waiting, id, json_null());
  }
}

static void load_done(lh_store_t *s, ofctx_t *ctx) {
  if (s->load_failed) {
    s->retry_at = s->wall + LH_STORE_RETRY_S;
    ofctx_log(ctx, OFCTX_LOG_ERROR,
              "state store %s: the open incidents could not be read (%zu of %zu keys); the "
              "records a rule may match are delivered again until they are; trying again in %g s",
              s->entry, s->load_failed, lh_ruleset_count(s->rules), LH_STORE_RETRY_S);
  } else {
    s->loaded = 1;
    ofctx_log(ctx, OFCTX_LOG_INFO,
              "state store %s: %zu open incidents restored (%zu dropped); taking records", s->entry,
              s->restored, s->gone);
  }
  if (s->on_load)
    s->on_load(s->on_load_arg, ctx, s->loaded);
}

static void loaded(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {
  doc_t *d = arg;
  lh_store_t *s = d->s;

  if (r->code != OFCTX_OK) {
    s->load_failed++;
  } else {
    json_t *stored = stored_of(d, ctx, r);
    if (stored)
      restore(s, d, ctx, stored);
    json_decref(stored);
  }
  if (--s->loading == 0)
    load_done(s, ctx);
}

/* Reads every rule's key. */
static void load(lh_store_t *s, ofctx_t *ctx) {
  size_t count = lh_ruleset_count(s->rules);

  s->load_failed = s->restored = s->gone = 0;
  s->loading = count + 1; /* one more until every read is asked */
  for (size_t i = 0; i < count; i++) {
    doc_t *d = doc_of(s, lh_ruleset_name(s->rules, i));
    ofctx_err_t rc = d ? ofctx_state_get(ctx, s->entry, d->key, loaded, d) : OFCTX_ENOMEM;
    if (rc != OFCTX_OK) {
      ofctx_log(ctx, OFCTX_LOG_ERROR, "state store %s: cannot read the incidents of rule %s: %s",
                s->entry, lh_ruleset_name(s->rules, i), ofctx_strerror(rc));
      s->load_failed++;
      s->loading--;
    }
  }
  if (--s->loading == 0)
    load_done(s, ctx);
}

void lh_store_tick(lh_store_t *s, ofctx_t *ctx, int stopping, double wall) {
  if (wall > s->wall)
    s->wall = wall;
  if (!s->rules)
    return;
  if (!s->loaded && !s->loading && !stopping && s->wall >= s->retry_at)
    load(s, ctx);
  for (doc_t *d = s->docs; d; d = d->next)
    if (!d->flying && json_object_size(d->waiting) > 0 && (stopping || s->wall >= d->retry_at) &&
        begin(d, ctx) != 0)
      ofctx_log(ctx, OFCTX_LOG_ERROR, "out of memory: the open incidents wait for the next tick");
}
