/* CloudEvents 1.0 over HTTP: binary and structured mode, the JSON format,
 * and the consumer's checks of the specification. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "base64.h"
#include "cloudevent.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"

#define STRUCTURED_TYPE "application/cloudevents+json"

/* The attributes the specification defines; every one is a String here. */
static const char *const CONTEXT_ATTRIBUTES[] = {
    "id",         "source",  "specversion", "type", "datacontenttype",
    "dataschema", "subject", "time",        NULL};

static int fail(ofctx__ce_error_t *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(ofctx__ce_error_t *err, int status, const char *fmt, ...) {
  va_list ap;

  err->status = status;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  return -1;
}

static int nomem(ofctx__ce_error_t *err) { return fail(err, 503, "out of memory"); }

int ofctx__ce_name_ok(const char *name) {
  size_t n = 0;

  for (; name[n]; n++)
    if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9')))
      return 0;
  return n > 0 && n <= 64 && strcmp(name, "data") != 0;
}

/* RFC 3339 date-time: 2018-04-05T17:31:00Z, with optional fractions and a
 * numeric offset; T and Z in either case. */
static int digits(const char *s, int n, int *out) {
  *out = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    *out = *out * 10 + (s[i] - '0');
  }
  return 1;
}

static int time_ok(const char *s) {
  static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, mo, d, h, mi, sec, oh, om;

  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
    return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || h > 23 || mi > 59 || sec > 60)
    return 0;
  if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    return 0;
  s += 19;
  if (*s == '.') {
    if (!isdigit((unsigned char)s[1]))
      return 0;
    for (s++; isdigit((unsigned char)*s); s++)
      ;
  }
  if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
    return 1;
  return (*s == '+' || *s == '-') && digits(s + 1, 2, &oh) && s[3] == ':' &&
         digits(s + 4, 2, &om) && s[6] == '\0' && oh <= 23 && om <= 59;
}

/* ---- checks both modes share ---- */

static int validate(const json_t *attrs, ofctx__ce_error_t *err) {
  static const char *const required[] = {"id", "source", "type"};
  const char *version = json_string_value(json_object_get(attrs, "specversion"));
  const char *time = json_string_value(json_object_get(attrs, "time"));
  char quoted[OFCTX_QUOTE_SIZE];

  if (!version)
    return fail(err, 400, "not a CloudEvent: specversion is missing");
  if (strcmp(version, "1.0") != 0) {
    ofctx__quote(quoted, sizeof quoted, version);
    return fail(err, 400, "specversion %s is not supported; this receiver takes 1.0", quoted);
  }
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    const char *v = json_string_value(json_object_get(attrs, required[i]));
    if (!v)
      return fail(err, 400, "the CloudEvent has no %s", required[i]);
    if (!*v)
      return fail(err, 400, "the CloudEvent's %s is empty", required[i]);
  }
  if (time && !time_ok(time)) {
    ofctx__quote(quoted, sizeof quoted, time);
    return fail(err, 400, "time %s is not an RFC 3339 timestamp", quoted);
  }
  for (const char *const *name = (const char *const[]){"subject", "dataschema", NULL}; *name;
       name++) {
    const char *v = json_string_value(json_object_get(attrs, *name));
    if (v && !*v)
      return fail(err, 400, "the CloudEvent's %s is empty", *name);
  }
  return 0;
}

/* Sets attribute `name` to the text `value` (copied); 0 or -1 (out of memory). */
static int put(json_t *attrs, const char *name, const char *value, size_t len) {
  json_t *s = json_stringn_nocheck(value, len);
  return s ? json_object_set_new(attrs, name, s) : -1;
}

/* ---- binary mode ---- */

/* A ce-* header value: an RFC 7230 quoted-string unquoted, then one round of
 * percent-decoding; the result must be a CloudEvents String. A '%' that
 * starts no escape is kept: the CloudEvents JavaScript SDK (v8) sends values
 * without percent-encoding them, and "50%" should reach the function. */
static int header_value(const char *header, const char *value, ofctx__buf_t *out,
                        ofctx__ce_error_t *err) {
  ofctx__buf_t raw = {0};
  const char *v = value;
  size_t n = strlen(value);
  int rc = 0, nul;

  if (n > 0 && value[0] == '"') {
    size_t i;
    for (i = 1; i < n && value[i] != '"'; i++) {
      if (value[i] == '\\' && i + 1 < n)
        i++;
      ofctx__buf_append(&raw, &value[i], 1);
    }
    if (i != n - 1) {
      ofctx__buf_free(&raw);
      return fail(err, 400, "header %s: a quoted value that does not end with its quote", header);
    }
    ofctx__buf_append(&raw, "", 0);
    v = raw.data ? raw.data : "";
    n = raw.len;
  }
  nul = !raw.failed && ofctx__buf_decoded(out, v, n, OFCTX__DECODE_LENIENT) != 0;
  if (raw.failed || out->failed)
    rc = nomem(err);
  else if (nul || !ofctx__ce_string_ok(out->data))
    rc =
        fail(err, 400, "header %s: the value is not UTF-8 text without control characters", header);
  ofctx__buf_free(&raw);
  return rc;
}

static int decode_binary(const ofctx__http_header_t *headers, size_t count,
                         const char *content_type, const char *body, size_t len, ofctx_event_t *ev,
                         ofctx__ce_error_t *err) {
  int rc = 0;

  for (size_t i = 0; i < count && rc == 0; i++) {
    ofctx__buf_t value = {0};
    char name[80];
    size_t n;
    if (strncasecmp(headers[i].name, "ce-", 3) != 0)
      continue;
    n = strlen(headers[i].name + 3);
    if (n == 0 || n >= sizeof name) {
      char quoted[OFCTX_QUOTE_SIZE];
      ofctx__quote(quoted, sizeof quoted, headers[i].name);
      rc = fail(err, 400, "header %s does not name an attribute", quoted);
      break;
    }
    for (size_t k = 0; k <= n; k++)
      name[k] = (char)tolower((unsigned char)headers[i].name[3 + k]);
    if (!ofctx__ce_name_ok(name)) {
      char quoted[OFCTX_QUOTE_SIZE];
      ofctx__quote(quoted, sizeof quoted, headers[i].name);
      rc = fail(err, 400,
                "header %s: attribute names are 1 to 64 lower-case letters and digits, "
                "and not \"data\"",
                quoted);
    } else if (strcmp(name, "datacontenttype") == 0) {
      rc = fail(err, 400,
                "header ce-datacontenttype: in binary mode the data's type is the "
                "Content-Type header");
    } else if (json_object_get(ev->attributes, name)) {
      rc = fail(err, 400, "header ce-%s appears twice", name);
    } else if ((rc = header_value(headers[i].name, headers[i].value, &value, err)) == 0 &&
               put(ev->attributes, name, value.data, value.len) != 0) {
      rc = nomem(err);
    }
    ofctx__buf_free(&value);
  }
  if (rc != 0)
    return rc;
  if (content_type) {
    if (!ofctx__ce_string_ok(content_type))
      return fail(err, 400, "the Content-Type header is not text");
    if (put(ev->attributes, "datacontenttype", content_type, strlen(content_type)))
      return nomem(err);
  }
  ev->data = body;
  ev->len = len;
  return validate(ev->attributes, err);
}

/* ---- structured mode and Dapr's envelope: a JSON object read as an event ---- */

/* What a member's value is, by its first byte (the text is valid JSON). */
static const char *kind_at(const char *value) {
  switch (value[0]) {
  case '{':
    return "an object";
  case '[':
    return "an array";
  case '"':
    return "a string";
  case 't':
  case 'f':
    return "a boolean";
  case 'n':
    return "null";
  }
  return "a number";
}

/* The event object as it is read: attributes go into ev->attributes as
 * they come; the data members are kept as they are written. */
typedef struct {
  ofctx_event_t *ev;
  int structured;         /* a structured CloudEvent (checked), else an envelope Dapr made */
  ofctx__ce_error_t *err; /* structured: why it is refused */
  const char *data, *b64; /* the last data and data_base64 members (NULL: absent or null) */
  size_t data_len, b64_len;
  int oom;
  /* an envelope read for its data only: the attributes are left for later
   * (ofctx__ce_envelope_attributes), but for datacontenttype, kept here */
  int data_only;
  const char *type;
  size_t type_len;
} object_read_t;

/* A member of a structured event → a text attribute, as the JSON format
 * reads each type: strings, booleans and 32-bit integers for extensions. */
static int structured_attribute(object_read_t *o, const char *name, const char *value, size_t len) {
  char quoted[OFCTX_QUOTE_SIZE];
  int known = 0;

  for (const char *const *a = CONTEXT_ATTRIBUTES; *a; a++)
    known |= strcmp(*a, name) == 0;
  ofctx__quote(quoted, sizeof quoted, name);
  if (!ofctx__ce_name_ok(name))
    return fail(o->err, 400, "member %s: attribute names are 1 to 64 lower-case letters and digits",
                quoted);
  if (value[0] == '"') {
    ofctx__buf_t text = {0};
    int lone = ofctx__json_string_decode(&text, value, len), rc;
    if (text.failed)
      rc = nomem(o->err);
    else if (lone || !ofctx__ce_string_ok(text.data) || strlen(text.data) != text.len)
      rc = fail(o->err, 400, "attribute %s is not text without control characters", quoted);
    else
      rc = put(o->ev->attributes, name, text.data, text.len) ? nomem(o->err) : 0;
    ofctx__buf_free(&text);
    return rc;
  }
  if (known)
    return fail(o->err, 400, "attribute %s is %s, not a string", quoted, kind_at(value));
  if (value[0] == 't' || value[0] == 'f')
    return put(o->ev->attributes, name, value, len) ? nomem(o->err) : 0;
  if (strspn(value + (value[0] == '-'), "0123456789") == len - (value[0] == '-')) {
    /* an integer: at most 11 bytes can be in range */
    char text[16];
    long long n = 0;
    if (len < sizeof text) {
      memcpy(text, value, len);
      text[len] = '\0';
      n = strtoll(text, NULL, 10);
    }
    if (len < sizeof text && n >= INT32_MIN && n <= INT32_MAX) {
      snprintf(text, sizeof text, "%lld", n);
      return put(o->ev->attributes, name, text, strlen(text)) ? nomem(o->err) : 0;
    }
    return fail(o->err, 400,
                "extension %s is an integer out of range; extensions are strings, booleans or "
                "32-bit integers",
                quoted);
  }
  return fail(o->err, 400,
              "extension %s is %s; extensions are strings, booleans or 32-bit integers", quoted,
              kind_at(value));
}

/* A member of Dapr's envelope → a text attribute: a string's characters
 * (one holding a NUL is left out: no C string can carry it), anything else
 * its JSON text as it was written. */
static int envelope_attribute(object_read_t *o, const char *name, const char *value, size_t len) {
  ofctx__buf_t text = {0};
  int rc = 0;

  if (value[0] == '"')
    ofctx__json_string_decode(&text, value, len);
  else
    ofctx__buf_append(&text, value, len);
  if (text.failed)
    o->oom = 1;
  else if (strlen(text.data) == text.len && put(o->ev->attributes, name, text.data, text.len))
    o->oom = 1;
  rc = o->oom ? -1 : 0;
  ofctx__buf_free(&text);
  return rc;
}

/* Whether the name of `len` bytes is the literal `lit`. */
#define NAME_IS(name, len, lit) ((len) == sizeof lit - 1 && memcmp(name, lit, sizeof lit - 1) == 0)

static int read_member(void *arg, const char *key, size_t key_len, const char *value,
                       size_t value_len) {
  object_read_t *o = arg;
  ofctx__buf_t decoded = {0};
  char plain[72];
  const char *name = plain;
  size_t name_len = key_len - 2;
  int is_null = value[0] == 'n', rc = 0, nul = 0;

  /* A short name without escapes (nearly every one) is copied, not decoded:
   * no allocation, and no NUL in it (valid JSON has no raw control
   * character). */
  if (name_len < sizeof plain && !memchr(key + 1, '\\', name_len)) {
    memcpy(plain, key + 1, name_len);
    plain[name_len] = '\0';
  } else {
    ofctx__json_string_decode(&decoded, key, key_len);
    if (decoded.failed) {
      o->oom = 1;
      if (o->structured)
        nomem(o->err);
      return 1;
    }
    name = decoded.data;
    name_len = decoded.len;
    nul = strlen(name) != name_len;
  }
  if (nul) {
    if (o->structured)
      rc = fail(o->err, 400, "member names are 1 to 64 lower-case letters and digits");
  } else if (NAME_IS(name, name_len, "data")) {
    o->data = is_null ? NULL : value;
    o->data_len = value_len;
  } else if (NAME_IS(name, name_len, "data_base64")) {
    o->b64 = is_null ? NULL : value;
    o->b64_len = value_len;
  } else if (o->data_only) {
    if (NAME_IS(name, name_len, "datacontenttype")) {
      o->type = is_null ? NULL : value;
      o->type_len = value_len;
    }
  } else if (is_null) { /* as if absent; the last member of a name counts */
    json_object_del(o->ev->attributes, name);
  } else {
    rc = o->structured ? structured_attribute(o, name, value, value_len)
                       : envelope_attribute(o, name, value, value_len);
  }
  ofctx__buf_free(&decoded);
  return rc != 0; /* 1 stops the walk: apart from the scanner's -1 and -2 */
}

/* The event's data from the data_base64 member (a string: decoded) or the
 * data member (a string: its characters when `string_is_text`, else, like
 * any other JSON, its JSON text exactly as it came). OFCTX_OK, OFCTX_ENOMEM,
 * or OFCTX_EINVAL with `*why` set (data_base64 that is not base64). */
static ofctx_err_t take_data(ofctx_event_t *ev, const object_read_t *o, int string_is_text,
                             const char **why) {
  ofctx__buf_t text = {0};

  ev->len = 0;
  if (o->b64) {
    ofctx_err_t rc = ofctx__json_base64(o->b64, o->b64_len, &ev->owned, &ev->len);
    if (rc == OFCTX_EINVAL)
      *why = "data_base64 is not base64";
    if (rc != OFCTX_OK)
      return rc;
  } else if (o->data && o->data[0] == '"' && string_is_text) {
    ofctx__json_string_decode(&text, o->data, o->data_len);
    if (text.failed)
      return OFCTX_ENOMEM;
    ev->owned = text.data; /* taken over */
    ev->len = text.len;
  } else if (o->data) {
    ev->owned = ofctx__strndup(o->data, o->data_len);
    if (!ev->owned)
      return OFCTX_ENOMEM;
    ev->len = o->data_len;
  }
  ev->data = ev->owned ? ev->owned : "";
  return OFCTX_OK;
}

static int decode_structured(const char *body, size_t len, ofctx_event_t *ev,
                             ofctx__ce_error_t *err) {
  object_read_t o = {ev, 1, err, NULL, NULL, 0, 0, 0, 0, NULL, 0};
  const char *why = "";
  int rc = ofctx__json_members(body, len, read_member, &o);

  if (rc == -1)
    return fail(err, 400, "the structured CloudEvent is not JSON");
  if (rc == -2)
    return fail(err, 400, "the structured CloudEvent is not a JSON object");
  if (rc != 0)
    return -1; /* `err` says why */
  ev->content_type = json_string_value(json_object_get(ev->attributes, "datacontenttype"));
  if ((rc = validate(ev->attributes, err)) != 0)
    return rc;
  if (o.b64 && o.data)
    return fail(err, 400, "the CloudEvent has both data and data_base64");
  if (o.b64 && o.b64[0] != '"')
    return fail(err, 400, "data_base64 is %s, not a string", kind_at(o.b64));
  /* Under a JSON type a string member is JSON text too. */
  switch (take_data(ev, &o, !ofctx__json_media(ev->content_type), &why)) {
  case OFCTX_OK:
    return 0;
  case OFCTX_ENOMEM:
    return nomem(err);
  default:
    return fail(err, 400, "%s", why);
  }
}

int ofctx__ce_decode(const ofctx__http_header_t *headers, size_t count, const char *body,
                     size_t len, ofctx_event_t *ev, ofctx__ce_mode_t *mode,
                     ofctx__ce_error_t *err) {
  const char *content_type = NULL, *type;
  size_t type_len;
  int binary = 0, rc;

  *mode = OFCTX__CE_NONE;
  for (size_t i = 0; i < count; i++) {
    if (!content_type && strcasecmp(headers[i].name, "content-type") == 0)
      content_type = headers[i].value;
    binary |= strncasecmp(headers[i].name, "ce-", 3) == 0;
  }
  type = ofctx__media_type(content_type ? content_type : "", &type_len);
  if (type_len >= 29 && strncasecmp(type, "application/cloudevents-batch", 29) == 0)
    return fail(err, 415, "batched CloudEvents are not accepted; send one event per request");
  if (type_len >= 23 && strncasecmp(type, "application/cloudevents", 23) == 0) {
    if (!ofctx__media_type_is(type, STRUCTURED_TYPE)) {
      char quoted[OFCTX_QUOTE_SIZE];
      ofctx__quote(quoted, sizeof quoted, content_type);
      return fail(err, 415, "the CloudEvents format %s is not supported; use %s", quoted,
                  STRUCTURED_TYPE);
    }
    *mode = OFCTX__CE_STRUCTURED;
  } else if (binary) {
    *mode = OFCTX__CE_BINARY;
  } else {
    return 0;
  }
  ev->attributes = json_object();
  if (!ev->attributes)
    return nomem(err);
  rc = *mode == OFCTX__CE_BINARY ? decode_binary(headers, count, content_type, body, len, ev, err)
                                 : decode_structured(body, len, ev, err);
  if (rc != 0) {
    ofctx__free(ev->owned);
    json_decref(ev->attributes);
    ev->owned = NULL;
    ev->attributes = NULL;
    ev->data = "";
    ev->len = 0;
  }
  ev->content_type =
      ev->attributes ? json_string_value(json_object_get(ev->attributes, "datacontenttype")) : NULL;
  return rc;
}

/* ---- Dapr's pub/sub envelope ---- */

/* Most functions never ask for an attribute, so an envelope is walked for
 * its data and content type only, and remembered: its attributes are made
 * on the first ask (ofctx__ce_envelope_attributes). */
static ofctx_err_t from_envelope(const ofctx__json_map_t *map, const char *body, size_t len,
                                 ofctx_event_t *ev, const char **why, int valid) {
  object_read_t o = {ev, 0, NULL, NULL, NULL, 0, 0, 0, 1, NULL, 0};
  ofctx__buf_t type = {0};
  ofctx_err_t rc;
  int walk = valid ? ofctx__json_members_in(map, body, len, read_member, &o)
                   : ofctx__json_members(body, len, read_member, &o);

  *why = walk == -1   ? "the body is not JSON, so not a CloudEvent"
         : walk == -2 ? "the body is JSON but not an object, so not a CloudEvent"
                      : NULL;
  if (o.oom)
    return OFCTX_ENOMEM;
  if (*why)
    return OFCTX_EINVAL;
  if (o.b64 && o.b64[0] != '"') {
    *why = "data_base64 is not a string";
    return OFCTX_EINVAL;
  }
  if (o.type) { /* as its attribute reads: one holding a NUL is left out */
    if (o.type[0] == '"')
      ofctx__json_string_decode(&type, o.type, o.type_len);
    else
      ofctx__buf_append(&type, o.type, o.type_len);
    if (type.failed)
      return OFCTX_ENOMEM;
    if (strlen(type.data) == type.len) {
      ev->owned_type = type.data;
      ev->content_type = type.data;
    } else {
      ofctx__buf_free(&type);
    }
  }
  /* Dapr falls back to a string when JSON data does not parse, so a string
   * is the publisher's text whatever the type says. */
  rc = take_data(ev, &o, 1, why);
  if (rc == OFCTX_OK) {
    ev->envelope = body;
    ev->envelope_len = len;
  }
  return rc;
}

json_t *ofctx__ce_envelope_attributes(ofctx_event_t *ev) {
  object_read_t o = {ev, 0, NULL, NULL, NULL, 0, 0, 0, 0, NULL, 0};

  if (!ev->envelope || !(ev->attributes = json_object()))
    return ev->attributes;
  if (ofctx__json_members_valid(ev->envelope, ev->envelope_len, read_member, &o) != 0 || o.oom) {
    json_decref(ev->attributes); /* asked again, it is tried again */
    ev->attributes = NULL;
    return NULL;
  }
  ev->envelope = NULL;
  return ev->attributes;
}

ofctx_err_t ofctx__ce_from_envelope(const char *body, size_t len, ofctx_event_t *ev,
                                    const char **why) {
  return from_envelope(NULL, body, len, ev, why, 0);
}

/* The public accessor lives here, beside the envelope it may read: a
 * pub/sub event's attributes are made on the first ask. Every event is the
 * runtime's own, never a const object. */
const char *ofctx_event_attribute(const ofctx_event_t *ev, const char *name) {
  json_t *attributes =
      ev->envelope ? ofctx__ce_envelope_attributes((ofctx_event_t *)ev) : ev->attributes;
  return name ? json_string_value(json_object_get(attributes, name)) : NULL;
}

ofctx_err_t ofctx__ce_from_valid_envelope(const ofctx__json_map_t *map, const char *body,
                                          size_t len, ofctx_event_t *ev, const char **why) {
  return from_envelope(map, body, len, ev, why, 1);
}

/* ---- replies ---- */

/* A random version 4 UUID. */
static void uuid4(char out[37]) {
  unsigned char b[16];

  if (uv_random(NULL, NULL, b, sizeof b, 0, NULL) != 0) {
    uint64_t t = uv_hrtime();
    for (size_t i = 0; i < sizeof b; i++)
      b[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)(i * 37);
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

int ofctx__ce_encode(ofctx__ce_reply_t *out, ofctx__ce_mode_t mode, json_t *attributes,
                     const char *data, size_t len, const char *content_type, const char **why) {
  json_t *attrs = json_deep_copy(attributes), *value;
  const char *key;
  char id[37];
  size_t n = 0;
  int rc = -1;

  memset(out, 0, sizeof *out);
  if (content_type && !ofctx__ce_string_ok(content_type)) {
    json_decref(attrs);
    *why = "the reply's content type is not text without control characters";
    return -1;
  }
  *why = "out of memory";
  if (!attrs)
    return -1;
  if (!json_object_get(attrs, "id")) {
    uuid4(id);
    json_object_set_new(attrs, "id", json_string(id));
  }
  json_object_set_new(attrs, "specversion", json_string("1.0"));
  if (!json_object_get(attrs, "time")) {
    char now[40];
    ofctx__timestamp(now, sizeof now);
    json_object_set_new(attrs, "time", json_string(now));
  }
  if (!json_object_get(attrs, "datacontenttype") && (content_type || len > 0))
    json_object_set_new(attrs, "datacontenttype",
                        json_string(content_type ? content_type : ofctx__media_type_of(data, len)));
  /* Every attribute must be text under a name of [a-z0-9]: anything else
   * would make no header (or a header that is two) and no valid event. */
  json_object_foreach(attrs, key, value) {
    const char *text = json_string_value(value);
    if (!ofctx__ce_name_ok(key) || !text || strlen(text) != json_string_length(value) ||
        !ofctx__ce_string_ok(text)) {
      *why = "the reply CloudEvent has an attribute that is not valid: names are [a-z0-9], "
             "values text without control characters";
      goto done;
    }
  }
  {
    ofctx__ce_error_t err;
    if (!json_object_get(attrs, "source")) {
      *why = "the reply CloudEvent has no source attribute";
      goto done;
    }
    if (!json_object_get(attrs, "type")) {
      *why = "the reply CloudEvent has no type attribute";
      goto done;
    }
    if (validate(attrs, &err) != 0) {
      *why = "the reply CloudEvent is not valid";
      goto done;
    }
  }
  if (mode == OFCTX__CE_STRUCTURED) {
    json_t *body = attrs;
    char *text;
    const char *type = json_string_value(json_object_get(attrs, "datacontenttype"));
    int is_json = ofctx__json_media(type);
    /* JSON data goes in as it is, byte for byte, after the attributes */
    int raw = is_json && len > 0 && ofctx__json_valid(data, len);
    /* Under a JSON type a string member is read back as JSON text, so
     * bytes that are not JSON keep their form in data_base64. */
    json_t *s = raw || is_json ? NULL : json_stringn(data, len);
    if (len == 0 || raw)
      ; /* no data member, or one added below */
    else if (s && !memchr(data, '\0', len))
      json_object_set_new(body, "data", s), s = NULL;
    else {
      ofctx__buf_t b64 = {0};
      ofctx__base64_encode(&b64, data, len);
      json_object_set_new(body, "data_base64", json_stringn(b64.data ? b64.data : "", b64.len));
      ofctx__buf_free(&b64);
    }
    json_decref(s);
    text = ofctx__json_text(body, JSON_COMPACT);
    if (!text)
      goto done;
    ofctx__buf_puts(&out->body, text);
    ofctx__free(text);
    if (raw && !out->body.failed) { /* {...,"data":<data>}: it always has attributes */
      out->body.len--;
      ofctx__buf_puts(&out->body, ",\"data\":");
      ofctx__buf_append(&out->body, data, len);
      ofctx__buf_puts(&out->body, "}");
    }
    ofctx__buf_puts(&out->store, "Content-Type");
    ofctx__buf_append(&out->store, "", 1);
    ofctx__buf_puts(&out->store, STRUCTURED_TYPE "; charset=utf-8");
    ofctx__buf_append(&out->store, "", 1);
    n = 1;
  } else {
    const char *declared = json_string_value(json_object_get(attrs, "datacontenttype"));
    size_t type_len;
    const char *type = ofctx__media_type(declared ? declared : "", &type_len);
    /* as the Content-Type of a binary event it would read back as a
     * structured or batched one */
    if (type_len >= 23 && strncasecmp(type, "application/cloudevents", 23) == 0) {
      *why = "the reply CloudEvent's datacontenttype is a CloudEvents format, which a binary-mode "
             "event cannot carry";
      goto done;
    }
    json_object_foreach(attrs, key, value) {
      const char *text = json_string_value(value);
      ofctx__buf_puts(&out->store, strcmp(key, "datacontenttype") == 0 ? "Content-Type" : "ce-");
      if (strcmp(key, "datacontenttype") != 0)
        ofctx__buf_puts(&out->store, key);
      ofctx__buf_append(&out->store, "", 1);
      if (strcmp(key, "datacontenttype") == 0)
        ofctx__buf_puts(&out->store, text);
      else
        ofctx__buf_encoded(&out->store, text, OFCTX__ENCODE_HEADER);
      ofctx__buf_append(&out->store, "", 1);
      n++;
    }
  }
  if (out->store.failed || out->body.failed)
    goto done;
  out->headers = ofctx__http_headers_unpack(out->store.data, n, 1);
  if (!out->headers)
    goto done;
  out->count = n;
  *why = NULL;
  rc = 0;
done:
  json_decref(attrs);
  if (rc != 0)
    ofctx__ce_reply_free(out);
  return rc;
}

void ofctx__ce_reply_free(ofctx__ce_reply_t *r) {
  ofctx__free(r->headers);
  ofctx__buf_free(&r->store);
  ofctx__buf_free(&r->body);
  memset(r, 0, sizeof *r);
}
