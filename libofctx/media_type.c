/* Media types: a Content-Type's type, whether it says JSON, and the type
 * data carries when nobody said. */
#include <string.h>
#include <strings.h>

#include "json_scan.h"
#include "media_type.h"
#include "text.h"

const char *ofctx__media_type(const char *value, size_t *len) {
  while (*value == ' ' || *value == '\t')
    value++;
  *len = strcspn(value, "; \t");
  return value;
}

int ofctx__media_type_is(const char *value, const char *type) {
  size_t len;
  const char *start = ofctx__media_type(value, &len);
  return len == strlen(type) && strncasecmp(start, type, len) == 0;
}

int ofctx__json_media(const char *content_type) {
  const char *type, *sub;
  size_t len, n;

  if (!content_type)
    return 1;
  type = ofctx__media_type(content_type, &len);
  sub = memchr(type, '/', len);
  if (!sub)
    return 0;
  sub++;
  n = len - (size_t)(sub - type);
  return (n == 4 && strncasecmp(sub, "json", 4) == 0) ||
         (n > 5 && strncasecmp(sub + n - 5, "+json", 5) == 0);
}

const char *ofctx__media_type_of(const void *data, size_t len) {
  if (ofctx__json_valid(data, len))
    return "application/json";
  if (memchr(data, 0, len) || !ofctx__utf8_valid(data, len))
    return "application/octet-stream";
  return "text/plain; charset=utf-8";
}
