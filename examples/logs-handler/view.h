/* One Fluent Bit record as the rules see it, read once whatever the rule
 * count: its few members (the log line, its time, the Kubernetes namespace,
 * pod, container, host and labels) found in one pass over the JSON text
 * (ofctx_json_lookup, no tree built), a label looked up when a rule asks for
 * it; the access-log fields (access_log.c) and the log line as a JSON object
 * (jansson) only when a rule asks for them, once. A view is reused from
 * record to record: its buffers stay, so a record costs no allocation but
 * jansson's for a line parsed as JSON. Strings it gives are the view's,
 * valid until the next lh_view_parse or lh_view_free. Not thread-safe. */
#ifndef LH_VIEW_H
#define LH_VIEW_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "alert.h"

/* What lh_view_parse made of a record. */
typedef enum {
  LH_IGNORE, /* parsed: the rules may look at it */
  LH_DROP,   /* not JSON, or not a Kubernetes record: `*why` says which */
  LH_NOMEM   /* out of memory */
} lh_verdict_t;

/* Which fields a rule's `match.parse` makes exist. */
typedef enum { LH_PARSE_NONE, LH_PARSE_ACCESS_LOG, LH_PARSE_JSON } lh_parse_t;

typedef enum {
  LH_FIELD_NAMESPACE,
  LH_FIELD_POD,
  LH_FIELD_CONTAINER,
  LH_FIELD_HOST,
  LH_FIELD_LINE,
  LH_FIELD_LABEL, /* kubernetes.labels.<name> */
  LH_FIELD_STATUS,
  LH_FIELD_METHOD,
  LH_FIELD_PATH,
  LH_FIELD_PROTOCOL,
  LH_FIELD_BYTES,
  LH_FIELD_CLIENT,
  LH_FIELD_JSON, /* a dotted path in the log line parsed as a JSON object */
  LH_FIELD_GROUP /* a named group of the rule's regex */
} lh_field_kind_t;

/* A field, resolved at compile time. `name` is borrowed from the caller (the
 * label's name, the JSON path or the group's name) and must outlive it. */
typedef struct {
  lh_field_kind_t kind;
  const char *name;
  size_t group; /* LH_FIELD_GROUP: the group's number */
} lh_fref_t;

/* `name` as a field of a rule parsing with `parse` whose regex is `regex`
 * (NULL: none): 0 and `*out` set, or -1 when no such field exists. */
int lh_fref_resolve(lh_fref_t *out, const char *name, lh_parse_t parse, const pcre2_code *regex);
/* The known field name nearest to `name` (for "did you mean"), or NULL. */
const char *lh_fref_suggest(const char *name, lh_parse_t parse, const pcre2_code *regex);

typedef struct lh_view lh_view_t;

/* Parses the record `data` (`len` bytes) into `*v`, reusing the view that
 * `*v` holds (NULL: a new one is made; free it with lh_view_free). `now` is
 * the time of handling, the record's time when it carries none. Any JSON
 * text (RFC 8259) is read, jansson's limits aside; when an object holds a
 * name twice, the last member counts. LH_IGNORE: parsed; LH_DROP: not JSON,
 * not an object, or not a Kubernetes log record (`*why` says which);
 * LH_NOMEM: out of memory. */
lh_verdict_t lh_view_parse(lh_view_t **v, const char *data, size_t len, double now,
                           const char **why);
void lh_view_free(lh_view_t *v);

/* Gives jansson an allocator that puts each view's trees in a block of the
 * view, let go of whole at the next record (it keeps jansson's allocator
 * before it for everything else). Once per process, before the threads that
 * use jansson start; views made before work as well. */
void lh_view_use_arena(void);

/* The field's value (`*len` bytes, not always NUL-terminated), or NULL when
 * the record has none. LH_FIELD_GROUP reads the last lh_view_regex. */
const char *lh_view_get(lh_view_t *v, const lh_fref_t *f, size_t *len);
/* The same, NUL-terminated in the view: 0 (`*out` NULL when missing), or -1
 * when out of memory. */
int lh_view_text(lh_view_t *v, const lh_fref_t *f, const char **out);
/* The log line without the line break it may end with (Docker's "log"
 * has one), NUL-terminated in the view: 0, or -1 when out of memory. */
int lh_view_line(lh_view_t *v, const char **out);
/* The access log's status, or 0 when the line is not an access-log line. */
int lh_view_status(lh_view_t *v);
/* The record's time: "time" (RFC 3339), "@timestamp" (seconds or RFC 3339),
 * the access log's, else `now`. */
double lh_view_time(lh_view_t *v);

/* The record's time read from its raw bytes, for a record that is not
 * parsed (no rule can match it) but whose time still moves the function's
 * clock: the first "time":"RFC 3339" in the bytes, else the first
 * "@timestamp": (seconds, or RFC 3339 in quotes), as lh_view_time prefers
 * them. Fluent Bit writes both at the top level: a member of that name
 * nested before them would be taken instead. 0 and `*t` set, or -1 when there is none. */
int lh_view_raw_time(const char *data, size_t len, double *t);

/* The newest time of the records that are not parsed, from their raw bytes,
 * until the clock needs it. A record that starts with {"@timestamp":N, as
 * Fluent Bit writes them, N with ten digits before the point, gives N, kept
 * as text (comparing it costs less than converting it; a record whose N is
 * not a plain number then may hide an older one's); any other gives
 * lh_view_raw_time's. Zero it to start. */
typedef struct {
  char text[25]; /* the bytes after {"@timestamp": of the newest N */
  double other;  /* the newest of the others; 0 when none */
} lh_newest_t;

/* Offers a record's time to `n`. */
void lh_newest_offer(lh_newest_t *n, const char *data, size_t len);
/* The newest time offered since the last take: 0 and `*t` set (and `n`
 * emptied), or -1 when no record gave one. */
int lh_newest_take(lh_newest_t *n, double *t);

/* Runs `re` (unanchored) over the log line with `md`: 1 and its groups kept
 * for LH_FIELD_GROUP, 0 when it does not match. */
int lh_view_regex(lh_view_t *v, const pcre2_code *re, pcre2_match_data *md);

/* Scratch arrays for one hit, valid until the next call: 0, or -1 when out
 * of memory. */
int lh_view_scratch(lh_view_t *v, size_t keys, size_t fields, const char ***key,
                    lh_field_t **field);
/* Marks the view's string space, and gives back what was taken since. */
typedef struct {
  void *block;
  size_t used;
} lh_view_mark_t;
lh_view_mark_t lh_view_mark(const lh_view_t *v);
void lh_view_release(lh_view_t *v, lh_view_mark_t mark);

#endif
