/* Dapr's publish envelope, made as the sidecar makes it. */
#include "dapr_envelope.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "json_scan.h"
#include "json_util.h"
#include "media_type.h"
#include "text.h"
#include "trace.h"

/* A UUID of version 4, as text (37 bytes with the NUL). */
static void new_uuid(char out[37]) {
  uint8_t b[16];

  ofctx__trace_random(b, sizeof b);
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

/* Now as Go's time.RFC3339 writes a UTC time. */
static void now_rfc3339(char out[32]) {
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void member(ofctx__buf_t *out, const char *name, const char *value) {
  ofctx__buf_puts(out, ",\"");
  ofctx__buf_puts(out, name);
  ofctx__buf_puts(out, "\":");
  if (ofctx__buf_json_string(out, value, strlen(value)) != 0)
    ofctx__buf_puts(out, "\"\""); /* the callers' values are checked text */
}

/* Bytes the sidecar carries as data_base64. */
static int binary(const char *type, const void *data, size_t len) {
  size_t tlen;
  const char *t = ofctx__media_type(type, &tlen);

  return ofctx__media_type_is(type, "application/octet-stream") ||
         (tlen >= 8 && strncasecmp(t + tlen - 8, "protobuf", 8) == 0) ||
         !ofctx__utf8_valid(data, len);
}

ofctx_err_t ofctx__dapr_envelope(ofctx__buf_t *out, const ofctx__envelope_t *in) {
  const char *type = in->content_type && *in->content_type ? in->content_type : "text/plain";
  char id[37], now[32];

  if (ofctx__media_type_is(type, "application/cloudevents+json"))
    return OFCTX_EINVAL;
  if (binary(type, in->data, in->len)) {
    ofctx__buf_puts(out, "{\"data_base64\":\"");
    ofctx__base64_encode(out, in->data, in->len);
    ofctx__buf_puts(out, "\"");
  } else if (ofctx__json_media(type) && ofctx__json_valid(in->data, in->len)) {
    ofctx__buf_puts(out, "{\"data\":");
    ofctx__buf_append(out, in->data, in->len);
  } else {
    ofctx__buf_puts(out, "{\"data\":");
    ofctx__buf_json_string(out, in->data, in->len); /* UTF-8: checked above */
  }
  if (!in->id)
    new_uuid(id);
  if (!in->time)
    now_rfc3339(now);
  member(out, "datacontenttype", type);
  member(out, "id", in->id ? in->id : id);
  member(out, "pubsubname", in->pubsub);
  member(out, "source", in->source);
  member(out, "specversion", "1.0");
  member(out, "time", in->time ? in->time : now);
  member(out, "topic", in->topic);
  if (in->traceparent) {
    member(out, "traceid", in->traceparent);
    member(out, "traceparent", in->traceparent);
    member(out, "tracestate", in->tracestate ? in->tracestate : "");
  }
  member(out, "type", "com.dapr.event.sent");
  ofctx__buf_puts(out, "}");
  return out->failed ? OFCTX_ENOMEM : OFCTX_OK;
}
