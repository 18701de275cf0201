/* Fuzz target: Dapr's publish envelope and its expiration (dapr_envelope.c).
 * The input's first byte picks the data's type, the rest is the data: the
 * envelope made of it (the caller's own CloudEvent, JSON, text or bytes,
 * with a time to live and overrides) is one JSON object, or a refusal of a
 * CloudEvent that is none; and what it made, read back as a pub/sub input
 * reads a record, has not expired at its time but has once its time to
 * live is past. The data, when it is JSON, is read as a record too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dapr_envelope.h"
#include "json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const types[] = {"application/cloudevents+json", "application/json",
                                      "text/plain", "application/octet-stream"};
  ofctx__envelope_t e = {.pubsub = "ps", .topic = "t", .source = "fn", .now = 1767323045};
  struct timespec at = {1767323045, 0}, later = {1767323045 + 61, 0};
  ofctx__buf_t out = {0};
  ofctx_error_t err;
  ofctx_err_t rc;

  if (size == 0)
    return 0;
  e.content_type = types[data[0] % 4];
  e.data = data + 1;
  e.len = size - 1;
  if (data[0] & 4)
    e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  if (data[0] & 8)
    ofctx__envelope_metadata(&e, "cloudevent.traceid", "x\"y", NULL);
  if (data[0] & 16)
    ofctx__envelope_metadata(&e, "ttlInSeconds", "60", NULL);
  rc = ofctx__dapr_envelope(&out, &e, &err);
  if (rc == OFCTX_OK) {
    if (!ofctx__json_valid(out.data, out.len) || out.data[0] != '{')
      abort();
    /* what a subscriber reads: alive at its time (a caller's CloudEvent
     * may bring its own expiration, which a time to live replaces), gone
     * past its time to live */
    if (((data[0] % 4 != 0 || (data[0] & 16)) &&
         ofctx__dapr_expired(out.data, out.len, &at, &err)) ||
        ((data[0] & 16) && !ofctx__dapr_expired(out.data, out.len, &later, &err)))
      abort();
  } else if (rc != OFCTX_EINVAL || data[0] % 4 != 0 || err.code != OFCTX_EINVAL) {
    abort();
  }
  if (ofctx__json_valid(data + 1, size - 1))
    (void)ofctx__dapr_expired((const char *)data + 1, size - 1, &at, &err);
  ofctx__buf_free(&out);
  return 0;
}
