/* Internal: CloudEvents 1.0 over HTTP, JSON format. Reading an event out of
 * a request in binary mode (ce-* headers) or structured mode
 * (application/cloudevents+json), validating it, and writing a reply event
 * in either mode. */
#ifndef OFCTX_CLOUDEVENT_H
#define OFCTX_CLOUDEVENT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "event.h"
#include "http_server.h"
#include "json_scan.h"
#include "ofctx/error.h"

typedef enum {
  OFCTX__CE_NONE = 0,  /* not a CloudEvent: plain data */
  OFCTX__CE_BINARY,    /* ce-* headers, the body is the data */
  OFCTX__CE_STRUCTURED /* the whole event as JSON in the body */
} ofctx__ce_mode_t;

/* A request refused: the HTTP status to answer with, 400 (an invalid
 * event), 415 (a CloudEvents format or batch we do not take) or 503 (out of
 * memory), and the house's error: its code (OFCTX_ENOMEM with 503, else
 * OFCTX_EINVAL) and a message that is safe to send back (user values
 * quoted). Caller-allocated; it holds no pointers. */
typedef struct {
  int status;
  ofctx_error_t error;
} ofctx__refusal_t;

/* Reads the request (its headers, `headers[0..count)`, and body) into `ev`:
 * its attributes (every one as text, in ev->attributes), its data (ev->data,
 * which borrows `body` in binary mode) and content type. `*mode` tells what
 * the request was; for OFCTX__CE_NONE nothing is set. Returns OFCTX_OK, or
 * the refusal's code with `refusal` (if not NULL) filled, and nothing left
 * allocated in `ev`. */
ofctx_err_t ofctx__ce_decode(const ofctx__http_header_t *headers, size_t count, const char *body,
                             size_t len, ofctx_event_t *ev, ofctx__ce_mode_t *mode,
                             ofctx__refusal_t *refusal);

/* A Dapr pub/sub envelope (`len` bytes of `body`: a CloudEvent Dapr made,
 * not validated again) into `ev`: attributes as text and the data (a
 * string's characters, other JSON as its JSON text exactly as it came,
 * data_base64 decoded). Any JSON is read, also what jansson cannot hold
 * (large numbers, "\u0000", lone surrogates, deep nesting). OFCTX_OK;
 * OFCTX_EINVAL with why it is not an event in `err` (if not NULL);
 * OFCTX_ENOMEM (`err` untouched). */
ofctx_err_t ofctx__ce_from_envelope(const char *body, size_t len, ofctx_event_t *ev,
                                    ofctx_error_t *err);
/* The same for an envelope known to be one JSON value (an entry of a bulk
 * delivery that was validated whole, `map` its text's containers, or NULL):
 * the JSON is not checked again.
 * Both read only the data and the content type at once and keep `body` in
 * the event (which `body` must outlive); its attributes are made when first
 * asked for, by: */
ofctx_err_t ofctx__ce_from_valid_envelope(const ofctx__json_map_t *map, const char *body,
                                          size_t len, ofctx_event_t *ev, ofctx_error_t *err);
/* The attributes of an event made from an envelope (ev->attributes, made
 * now on the first call; ev->envelope is then NULL), or NULL when out of
 * memory (a later call tries again). */
json_t *ofctx__ce_envelope_attributes(ofctx_event_t *ev);

/* The Go framework's SkyWalking envelope (with its tracing on, it wraps what
 * it publishes or sends to a queue binding): a CloudEvent of type
 * "io.openfunction.function.<ns>.<name>" whose data is
 * {"metadata":{"sw8":...},"userData":"<base64>"}, either as the event's own
 * attributes and data, or as a structured CloudEvent in the data. When `ev`
 * holds one, its data becomes the user's (decoded, owned by the event, its
 * type sniffed); anything else is left as it is. The data is parsed only
 * when it ends as the envelope does, as Go writes it: with the user data
 * (the envelope's keys in Go's order), or with the inner type (a
 * CloudEvent's keys sorted, as Dapr writes them). */
typedef enum {
  OFCTX__UNWRAP_NONE, /* no envelope: the event is unchanged */
  OFCTX__UNWRAP_DONE, /* the event's data is the user's now */
  OFCTX__UNWRAP_NOMEM /* out of memory: the event is unchanged */
} ofctx__unwrap_t;
ofctx__unwrap_t ofctx__ce_unwrap_go_envelope(ofctx_event_t *ev);
/* Whether `ev`'s data ends as the envelope does: the cheap test that
 * ofctx__ce_unwrap_go_envelope makes first, for a caller that would copy
 * the event to unwrap it. */
int ofctx__ce_go_envelope_maybe(const ofctx_event_t *ev);

/* Whether `name` may be an attribute's name: 1-64 of [a-z0-9], not "data". */
int ofctx__ce_name_ok(const char *name);

/* A reply event: `attributes` (strings; specversion, id and time are added when
 * missing), `data` and its media type (NULL: sniffed). Binary mode fills
 * `headers` (names and values point into `store`) and leaves the body to be
 * `data`; structured mode writes the whole event into `body` and one header.
 * `headers` has one spare slot after the last, for the caller's own.
 * Returns OFCTX_OK; OFCTX_EINVAL (an attribute that is missing or not valid)
 * or OFCTX_ENOMEM, with the reason for the log in `err` (if not NULL) and
 * `out` left empty. */
typedef struct {
  ofctx__http_header_t *headers;
  size_t count;
  ofctx__buf_t store;
  ofctx__buf_t body;
} ofctx__ce_reply_t;

ofctx_err_t ofctx__ce_encode(ofctx__ce_reply_t *out, ofctx__ce_mode_t mode, json_t *attributes,
                             const char *data, size_t len, const char *content_type,
                             ofctx_error_t *err);
void ofctx__ce_reply_free(ofctx__ce_reply_t *r);

#endif
