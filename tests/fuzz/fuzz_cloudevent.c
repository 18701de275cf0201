/* Fuzz target: the CloudEvent codec. The input is an HTTP request's headers
 * ("name: value" lines) and, after an empty line, its body. A decoded event
 * is encoded again in both modes; an encoded binary event decodes back to
 * the same attributes and data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudevent.h"

#define MAX_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1), *p, *body;
  ofctx__http_header_t headers[MAX_HEADERS];
  size_t count = 0, body_len;
  ofctx_event_t ev = {0};
  ofctx__ce_mode_t mode;
  ofctx__refusal_t err;

  if (!copy)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  body = strstr(copy, "\n\n");
  if (body) {
    *body = '\0';
    body += 2;
  } else {
    body = copy + size;
  }
  body_len = (size_t)(copy + size - body);
  for (p = copy; *p && count < MAX_HEADERS;) {
    char *eol = strchr(p, '\n'), *colon;
    if (eol)
      *eol = '\0';
    colon = strchr(p, ':');
    if (colon) {
      *colon = '\0';
      headers[count].name = p;
      headers[count].value = colon + 1 + (colon[1] == ' ');
      count++;
    }
    if (!eol)
      break;
    p = eol + 1;
  }
  if (ofctx__ce_decode(headers, count, body, body_len, &ev, &mode, &err) == OFCTX_OK &&
      mode != OFCTX__CE_NONE) {
    for (int m = OFCTX__CE_BINARY; m <= OFCTX__CE_STRUCTURED; m++) {
      ofctx__ce_reply_t reply;
      if (ofctx__ce_encode(&reply, (ofctx__ce_mode_t)m, ev.attributes, ev.data, ev.len, NULL,
                           NULL) == OFCTX_OK) {
        if (m == OFCTX__CE_BINARY) {
          ofctx_event_t back = {0};
          ofctx__ce_mode_t back_mode;
          if (ofctx__ce_decode(reply.headers, reply.count, ev.data, ev.len, &back, &back_mode,
                               &err) != OFCTX_OK ||
              back.len != ev.len || memcmp(back.data, ev.data, ev.len) != 0)
            abort();
          ofctx__event_clear(&back);
        }
        ofctx__ce_reply_free(&reply);
      }
    }
  } else if (mode != OFCTX__CE_NONE && err.status != 400 && err.status != 415 &&
             err.status != 503) {
    abort();
  }
  ofctx__event_clear(&ev);
  free(copy);
  return 0;
}
