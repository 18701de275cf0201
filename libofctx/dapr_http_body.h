/* Internal: the bodies and paths of the Dapr sidecar's HTTP API for sends:
 * POST /v1.0/bindings/<component> {"data":…,"operation":…,"metadata":{…}}
 * and POST /v1.0/publish/<pubsub>/<topic>?metadata.<k>=<v>; and for state
 * requests: /v1.0/state/<store>[/<key>]. Shared by the
 * Dapr HTTP sink, which sends them, and the local sink, which prints them. */
#ifndef OFCTX_DAPR_HTTP_BODY_H
#define OFCTX_DAPR_HTTP_BODY_H

#include "buf.h"
#include "sink.h"

/* The part of a binding body after the data: `,"operation":…,"metadata":{…}}`
 * (a JSON object whose opening brace is a comma), for the request's
 * operation, output metadata and call metadata. A new string (free with
 * ofctx__free), or NULL with `*rc` OFCTX_EINVAL (a value that is not text,
 * or a key without a value) or OFCTX_ENOMEM. */
char *ofctx__dapr_binding_tail(const ofctx__send_request_t *req, ofctx_err_t *rc);

/* Appends the binding body `{"data":<data><tail>` to `body`: data that is
 * JSON (by the request's content type when it has one, else by looking) as
 * it is, anything else as a JSON string. OFCTX_OK, OFCTX_EINVAL (not JSON,
 * and not UTF-8 text: Dapr's HTTP API has no way to carry it), or
 * OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_binding_body(ofctx__buf_t *body, const ofctx__send_request_t *req,
                                     const char *tail);

/* Appends a bulk publish's body to `body`: [{"entryId":…,"event":…,
 * "contentType":…,"metadata":{…}}, …] (ids and types set by send.c); the
 * event is the data as JSON under a JSON type, else as a string. OFCTX_OK,
 * OFCTX_EINVAL (JSON-typed data that is not JSON, other data that is not
 * UTF-8, a value that is not text) or OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_bulk_body(ofctx__buf_t *body, const ofctx__send_request_t *req);

/* Appends the path of the request to `path`: /v1.0/bindings/<component>, or
 * /v1.0/publish/<pubsub>/<topic> (/v1.0/publish/bulk/… for a bulk publish)
 * with the metadata as query parameters.
 * OFCTX_OK, OFCTX_EINVAL (a call metadata key without a value) or
 * OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_path(ofctx__buf_t *path, const ofctx__send_request_t *req);

/* ---- state (contract §3.3) ---- */

/* Appends the path of the state request to `path`: /v1.0/state/<store>
 * for a save, /v1.0/state/<store>/<key> (the key one encoded segment) for a
 * get or a delete, with its consistency (and a delete's concurrency) and
 * metadata as query parameters. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_state_path(ofctx__buf_t *path, const ofctx__state_request_t *req);

/* Appends the body of a save to `body`: [{"key":…,"value":<value>,
 * "etag":…,"metadata":{…},"options":{"concurrency":…,"consistency":…}}],
 * each optional member only when it is set. OFCTX_OK or OFCTX_ENOMEM. */
ofctx_err_t ofctx__dapr_state_body(ofctx__buf_t *body, const ofctx__state_request_t *req);

#endif
