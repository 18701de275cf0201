/* Internal: W3C Trace Context (https://www.w3.org/TR/trace-context/) and
 * W3C Baggage. An incoming `traceparent` read (version 00, and later
 * versions as the spec says), new trace and span ids, the outgoing
 * `traceparent` of a span, and the `baggage` header made of a map.
 *
 * A span's data (ids, parent, times, what it stands for) is kept in one
 * struct, ofctx__span_t: an invocation has one, each of its sends and hook
 * runs a child. Where they end, the OTLP exporter (otlp_exporter.h) takes a
 * copy of them, when the context sets one. */
#ifndef OFCTX_TRACE_H
#define OFCTX_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "ofctx/error.h"
#include "ofctx/strmap.h"

#define OFCTX__TRACEPARENT_LEN 55 /* version 00: "00-<32 hex>-<16 hex>-<2 hex>" */
#define OFCTX__TRACESTATE_MAX 512 /* longer is not kept (the spec lets it be dropped) */

/* A valid incoming traceparent's parts. */
typedef struct {
  uint8_t trace_id[16];
  uint8_t parent_id[8];
  uint8_t flags; /* only the sampled bit (0x01): the others are not ours to pass on */
} ofctx__traceparent_t;

/* Reads `text` as a traceparent into `out`: 1 when it is valid, 0 when it
 * is not (then `out` is left undefined). Version 00 is exactly 55
 * characters; a later version (not ff) is at least that long, and when
 * longer the 56th character is '-'; hex is lower case; an all-zero trace
 * id or parent id is invalid. NULL is invalid. */
int ofctx__traceparent_parse(const char *text, ofctx__traceparent_t *out);

/* Whether `text` may be kept and sent on as a tracestate: at most
 * OFCTX__TRACESTATE_MAX characters, printable ASCII only (so that it can
 * never break a header). Its list is passed on as received, not parsed. */
int ofctx__tracestate_ok(const char *text);

typedef enum {
  OFCTX__SPAN_INVOCATION, /* an invocation of the function (a consumer or server span) */
  OFCTX__SPAN_SEND,       /* one of its sends (a producer or client span) */
  OFCTX__SPAN_HOOK        /* one of its hooks' runs (an internal span) */
} ofctx__span_kind_t;

/* One span. A root has no parent (all zero) and no tracestate. */
typedef struct {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_id[8]; /* all zero: a root */
  uint8_t flags;
  ofctx__span_kind_t kind;
  char trace_hex[33];                           /* trace_id as 32 lower-case hex digits */
  char span_hex[17];                            /* span_id as 16 */
  char traceparent[OFCTX__TRACEPARENT_LEN + 1]; /* this span's, version 00, for its children */
  const char *tracestate; /* as received, or NULL; the invocation's own copy, borrowed by sends */
  const char *name;       /* the input's or output's name; borrowed from the context */
  uint64_t start_ns, end_ns; /* Unix time in nanoseconds; end_ns 0 while open */
  uint64_t mono_ns;          /* uv_hrtime at the start: the end is start_ns + the time since */
} ofctx__span_t;

/* A new invocation span that continues `traceparent` (as received, or
 * NULL), keeping `tracestate` (copied, NULL when there is none, when it is
 * not ofctx__tracestate_ok, or when the traceparent is invalid); an invalid
 * or missing traceparent starts a new trace. The span is started now. Free
 * with ofctx__span_free; NULL when out of memory. */
ofctx__span_t *ofctx__span_new(const char *traceparent, const char *tracestate, const char *name);
void ofctx__span_free(ofctx__span_t *span);

/* Starts `child` (the caller's memory) as a child of `parent`: the same
 * trace, flags and tracestate (borrowed: `parent` must outlive `child`), a
 * new span id. */
void ofctx__span_child(ofctx__span_t *child, const ofctx__span_t *parent, ofctx__span_kind_t kind,
                       const char *name);

/* Ends `span` now (a second call keeps the first end). */
void ofctx__span_end(ofctx__span_t *span);

/* Fills `out` with `n` random bytes, never all zero (a zero id is
 * invalid). The system's random source, or a fallback mixed from the clock
 * when it fails: ids need to be unique, not secret. */
void ofctx__trace_random(uint8_t *out, size_t n);

/* A new random UUID of version 4 (RFC 4122), as its 36 characters and a
 * NUL: a CloudEvent's id, a template's {uuid}. */
void ofctx__uuid4(char out[37]);

/* The W3C baggage header of `map` ("k1=v1,k2=v2", values percent-encoded)
 * → `*out` (the caller frees it with ofctx__free; NULL when the map gives
 * nothing). A key that is no HTTP token cannot be carried and is left out;
 * `*skipped` (may be NULL) counts those. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__baggage_format(const ofctx_strmap_t *map, char **out, size_t *skipped);

#endif
