/* CloudEvents 1.0 over HTTP: binary and structured mode, the JSON format,
 * and the consumer's checks of the specification. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "cloudevent.h"
#include "error_msg.h"
#include "json_scan.h"
#include "json_util.h"
#include "log.h"
#include "media_type.h"
#include "mem.h"
#include "text.h"
#include "trace.h"

#define STRUCTURED_TYPE "application/cloudevents+json"

/* The attributes the specification defines; every one is a String here. */
static const char *const CONTEXT_ATTRIBUTES[] = {
    "id",         "source",  "specversion", "type", "datacontenttype",
    "dataschema", "subject", "time",        NULL};

static ofctx_err_t refuse(ofctx__refusal_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills `r` (if not NULL) with `status` and the formatted message; returns
 * the code: OFCTX_ENOMEM for 503, else OFCTX_EINVAL. */
static ofctx_err_t refuse(ofctx__refusal_t *r, int status, const char *fmt, ...) {
  ofctx_err_t code = status == 503 ? OFCTX_ENOMEM : OFCTX_EINVAL;
  va_list ap;

  if (r) {
    r->status = status;
    r->error.code = code;
    va_start(ap, fmt);
    vsnprintf(r->error.message, sizeof r->error.message, fmt, ap);
    va_end(ap);
  }
  return code;
}

static ofctx_err_t nomem(ofctx__refusal_t *r) { return refuse(r, 503, "out of memory"); }

/* Whether a media type of `len` bytes names a CloudEvents format (structured
 * or batched), which binary mode's Content-Type cannot be. */
static int is_ce_format(const char *type, size_t len) {
  return len >= 23 && strncasecmp(type, "application/cloudevents", 23) == 0;
}

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

static ofctx_err_t validate(const json_t *attrs, ofctx__refusal_t *refusal) {
  static const char *const required[] = {"id", "source", "type"};
  const char *version = json_string_value(json_object_get(attrs, "specversion"));
  const char *time = json_string_value(json_object_get(attrs, "time"));
  char quoted[OFCTX_QUOTE_SIZE];

  if (!version)
    return refuse(refusal, 400, "not a CloudEvent: specversion is missing");
  if (strcmp(version, "1.0") != 0) {
    ofctx__quote(quoted, sizeof quoted, version);
    return refuse(refusal, 400, "specversion %s is not supported; this receiver takes 1.0", quoted);
  }
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    const char *v = json_string_value(json_object_get(attrs, required[i]));
    if (!v)
      return refuse(refusal, 400, "the CloudEvent has no %s", required[i]);
    if (!*v)
      return refuse(refusal, 400, "the CloudEvent's %s is empty", required[i]);
  }
  if (time && !time_ok(time)) {
    ofctx__quote(quoted, sizeof quoted, time);
    return refuse(refusal, 400, "time %s is not an RFC 3339 timestamp", quoted);
  }
  for (const char *const *name = (const char *const[]){"subject", "dataschema", NULL}; *name;
       name++) {
    const char *v = json_string_value(json_object_get(attrs, *name));
    if (v && !*v)
      return refuse(refusal, 400, "the CloudEvent's %s is empty", *name);
  }
  return OFCTX_OK;
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
static ofctx_err_t header_value(const char *header, const char *value, ofctx__buf_t *out,
                                ofctx__refusal_t *refusal) {
  ofctx__buf_t raw = {0};
  const char *v = value;
  size_t n = strlen(value);
  ofctx_err_t rc = OFCTX_OK;
  int nul;

  if (n > 0 && value[0] == '"') {
    size_t i;
    for (i = 1; i < n && value[i] != '"'; i++) {
      if (value[i] == '\\' && i + 1 < n)
        i++;
      ofctx__buf_append(&raw, &value[i], 1);
    }
    if (i != n - 1) {
      ofctx__buf_free(&raw);
      return refuse(refusal, 400, "header %s: a quoted value that does not end with its quote",
                    header);
    }
    ofctx__buf_append(&raw, "", 0);
    v = raw.data ? raw.data : "";
    n = raw.len;
  }
  nul = !raw.failed && ofctx__buf_decoded(out, v, n, OFCTX__DECODE_LENIENT) != 0;
  if (raw.failed || out->failed)
    rc = nomem(refusal);
  else if (nul || !ofctx__ce_string_ok(out->data))
    rc = refuse(refusal, 400, "header %s: the value is not UTF-8 text without control characters",
                header);
  ofctx__buf_free(&raw);
  return rc;
}

/* The header `h` (a ce-* header) as an attribute of `ev`. */
static ofctx_err_t binary_attribute(ofctx_event_t *ev, const ofctx__http_header_t *h,
                                    ofctx__refusal_t *refusal) {
  ofctx__buf_t value = {0};
  char name[80], quoted[OFCTX_QUOTE_SIZE];
  size_t n = strlen(h->name + 3);
  ofctx_err_t rc;

  if (n == 0 || n >= sizeof name) {
    ofctx__quote(quoted, sizeof quoted, h->name);
    return refuse(refusal, 400, "header %s does not name an attribute", quoted);
  }
  for (size_t k = 0; k <= n; k++)
    name[k] = (char)tolower((unsigned char)h->name[3 + k]);
  if (!ofctx__ce_name_ok(name)) {
    ofctx__quote(quoted, sizeof quoted, h->name);
    return refuse(refusal, 400,
                  "header %s: attribute names are 1 to 64 lower-case letters and digits, "
                  "and not \"data\"",
                  quoted);
  }
  if (strcmp(name, "datacontenttype") == 0)
    return refuse(refusal, 400,
                  "header ce-datacontenttype: in binary mode the data's type is the "
                  "Content-Type header");
  if (json_object_get(ev->attributes, name))
    return refuse(refusal, 400, "header ce-%s appears twice", name);
  rc = header_value(h->name, h->value, &value, refusal);
  if (rc == OFCTX_OK && put(ev->attributes, name, value.data, value.len) != 0)
    rc = nomem(refusal);
  ofctx__buf_free(&value);
  return rc;
}

static ofctx_err_t decode_binary(const ofctx__http_header_t *headers, size_t count,
                                 const char *content_type, const char *body, size_t len,
                                 ofctx_event_t *ev, ofctx__refusal_t *refusal) {
  ofctx_err_t rc;

  for (size_t i = 0; i < count; i++)
    if (strncasecmp(headers[i].name, "ce-", 3) == 0 &&
        (rc = binary_attribute(ev, &headers[i], refusal)) != OFCTX_OK)
      return rc;
  if (content_type) {
    if (!ofctx__ce_string_ok(content_type))
      return refuse(refusal, 400, "the Content-Type header is not text");
    if (put(ev->attributes, "datacontenttype", content_type, strlen(content_type)))
      return nomem(refusal);
  }
  ev->data = body;
  ev->len = len;
  return validate(ev->attributes, refusal);
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
  int structured;            /* a structured CloudEvent (checked), else an envelope Dapr made */
  ofctx__refusal_t *refusal; /* structured: why it is refused (or NULL) */
  const char *data, *b64;    /* the last data and data_base64 members (NULL: absent or null) */
  size_t data_len, b64_len;
  ofctx_err_t rc; /* why the walk stopped: OFCTX_ENOMEM, or OFCTX_EINVAL (refused) */
  /* an envelope read for its data only: the attributes are left for later
   * (ofctx__ce_envelope_attributes), but for datacontenttype, kept here */
  int data_only;
  const char *type;
  size_t type_len;
} object_read_t;

/* A string member of a structured event → a text attribute. */
static ofctx_err_t string_attribute(object_read_t *o, const char *name, const char *quoted,
                                    const char *value, size_t len) {
  ofctx__buf_t text = {0};
  int lone = ofctx__json_string_decode(&text, value, len);
  ofctx_err_t rc = OFCTX_OK;

  if (text.failed)
    rc = nomem(o->refusal);
  else if (lone || !ofctx__ce_string_ok(text.data) || strlen(text.data) != text.len)
    rc = refuse(o->refusal, 400, "attribute %s is not text without control characters", quoted);
  else if (put(o->ev->attributes, name, text.data, text.len))
    rc = nomem(o->refusal);
  ofctx__buf_free(&text);
  return rc;
}

/* An integer member (digits, maybe a minus) of a structured event → an
 * extension, when it is a 32-bit integer. */
static ofctx_err_t integer_attribute(object_read_t *o, const char *name, const char *quoted,
                                     const char *value, size_t len) {
  char text[16]; /* at most 11 bytes can be in range */
  long long n = 0;

  if (len < sizeof text) {
    memcpy(text, value, len);
    text[len] = '\0';
    n = strtoll(text, NULL, 10);
  }
  if (len >= sizeof text || n < INT32_MIN || n > INT32_MAX)
    return refuse(o->refusal, 400,
                  "extension %s is an integer out of range; extensions are strings, booleans or "
                  "32-bit integers",
                  quoted);
  snprintf(text, sizeof text, "%lld", n);
  return put(o->ev->attributes, name, text, strlen(text)) ? nomem(o->refusal) : OFCTX_OK;
}

/* A member of a structured event → a text attribute, as the JSON format
 * reads each type: strings, booleans and 32-bit integers for extensions. */
static ofctx_err_t structured_attribute(object_read_t *o, const char *name, const char *value,
                                        size_t len) {
  char quoted[OFCTX_QUOTE_SIZE];
  int known = 0;

  for (const char *const *a = CONTEXT_ATTRIBUTES; *a; a++)
    known |= strcmp(*a, name) == 0;
  ofctx__quote(quoted, sizeof quoted, name);
  if (!ofctx__ce_name_ok(name))
    return refuse(o->refusal, 400,
                  "member %s: attribute names are 1 to 64 lower-case letters and digits", quoted);
  if (value[0] == '"')
    return string_attribute(o, name, quoted, value, len);
  if (known)
    return refuse(o->refusal, 400, "attribute %s is %s, not a string", quoted, kind_at(value));
  if (value[0] == 't' || value[0] == 'f')
    return put(o->ev->attributes, name, value, len) ? nomem(o->refusal) : OFCTX_OK;
  if (strspn(value + (value[0] == '-'), "0123456789") == len - (value[0] == '-'))
    return integer_attribute(o, name, quoted, value, len);
  return refuse(o->refusal, 400,
                "extension %s is %s; extensions are strings, booleans or 32-bit integers", quoted,
                kind_at(value));
}

/* A member of Dapr's envelope → a text attribute: a string's characters
 * (one holding a NUL is left out: no C string can carry it), anything else
 * its JSON text as it was written. OFCTX_OK or OFCTX_ENOMEM. */
static ofctx_err_t envelope_attribute(object_read_t *o, const char *name, const char *value,
                                      size_t len) {
  ofctx__buf_t text = {0};
  ofctx_err_t rc = OFCTX_OK;

  if (value[0] == '"')
    ofctx__json_string_decode(&text, value, len);
  else
    ofctx__buf_append(&text, value, len);
  if (text.failed)
    rc = OFCTX_ENOMEM;
  else if (strlen(text.data) == text.len && put(o->ev->attributes, name, text.data, text.len))
    rc = OFCTX_ENOMEM;
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
  int is_null = value[0] == 'n', nul = 0;

  /* A short name without escapes (nearly every one) is copied, not decoded:
   * no allocation, and no NUL in it (valid JSON has no raw control
   * character). */
  if (name_len < sizeof plain && !memchr(key + 1, '\\', name_len)) {
    memcpy(plain, key + 1, name_len);
    plain[name_len] = '\0';
  } else {
    ofctx__json_string_decode(&decoded, key, key_len);
    if (decoded.failed) {
      o->rc = nomem(o->refusal);
      return 1;
    }
    name = decoded.data;
    name_len = decoded.len;
    nul = strlen(name) != name_len;
  }
  if (nul) {
    if (o->structured)
      o->rc = refuse(o->refusal, 400, "member names are 1 to 64 lower-case letters and digits");
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
    o->rc = o->structured ? structured_attribute(o, name, value, value_len)
                          : envelope_attribute(o, name, value, value_len);
  }
  ofctx__buf_free(&decoded);
  return o->rc != OFCTX_OK; /* 1 stops the walk: apart from the scanner's -1 and -2 */
}

/* The event's data from the data_base64 member (a string: decoded) or the
 * data member (a string: its characters when `string_is_text`, else, like
 * any other JSON, its JSON text exactly as it came). OFCTX_OK, OFCTX_ENOMEM,
 * or OFCTX_EINVAL: data_base64 that is not base64 (NOT_BASE64). */
static ofctx_err_t take_data(ofctx_event_t *ev, const object_read_t *o, int string_is_text) {
  ofctx__buf_t text = {0};
  ofctx_err_t rc;

  ev->len = 0;
  if (o->b64) {
    rc = ofctx__json_base64(o->b64, o->b64_len, &ev->owned, &ev->len);
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

#define NOT_BASE64 "data_base64 is not base64"

static ofctx_err_t decode_structured(const char *body, size_t len, ofctx_event_t *ev,
                                     ofctx__refusal_t *refusal) {
  object_read_t o = {.ev = ev, .structured = 1, .refusal = refusal};
  int walk = ofctx__json_members(body, len, read_member, &o);
  ofctx_err_t rc;

  if (walk == -1)
    return refuse(refusal, 400, "the structured CloudEvent is not JSON");
  if (walk == -2)
    return refuse(refusal, 400, "the structured CloudEvent is not a JSON object");
  if (o.rc != OFCTX_OK)
    return o.rc; /* `refusal` says why */
  ev->content_type = json_string_value(json_object_get(ev->attributes, "datacontenttype"));
  if ((rc = validate(ev->attributes, refusal)) != OFCTX_OK)
    return rc;
  if (o.b64 && o.data)
    return refuse(refusal, 400, "the CloudEvent has both data and data_base64");
  if (o.b64 && o.b64[0] != '"')
    return refuse(refusal, 400, "data_base64 is %s, not a string", kind_at(o.b64));
  /* Under a JSON type a string member is JSON text too. */
  rc = take_data(ev, &o, !ofctx__json_media(ev->content_type));
  if (rc == OFCTX_ENOMEM)
    return nomem(refusal);
  return rc == OFCTX_OK ? OFCTX_OK : refuse(refusal, 400, NOT_BASE64);
}

/* The mode of a request: its content type (`content_type`, or NULL) and
 * whether it has a ce-* header (`binary`). OFCTX_EINVAL (415) for a
 * CloudEvents format or batch this receiver does not take. */
static ofctx_err_t mode_of(const char *content_type, int binary, ofctx__ce_mode_t *mode,
                           ofctx__refusal_t *refusal) {
  size_t type_len;
  const char *type = ofctx__media_type(content_type ? content_type : "", &type_len);
  char quoted[OFCTX_QUOTE_SIZE];

  *mode = OFCTX__CE_NONE;
  if (!is_ce_format(type, type_len)) {
    *mode = binary ? OFCTX__CE_BINARY : OFCTX__CE_NONE;
    return OFCTX_OK;
  }
  if (type_len >= 29 && strncasecmp(type, "application/cloudevents-batch", 29) == 0)
    return refuse(refusal, 415, "batched CloudEvents are not accepted; send one event per request");
  if (!ofctx__media_type_is(type, STRUCTURED_TYPE)) {
    ofctx__quote(quoted, sizeof quoted, content_type);
    return refuse(refusal, 415, "the CloudEvents format %s is not supported; use %s", quoted,
                  STRUCTURED_TYPE);
  }
  *mode = OFCTX__CE_STRUCTURED;
  return OFCTX_OK;
}

ofctx_err_t ofctx__ce_decode(const ofctx__http_header_t *headers, size_t count, const char *body,
                             size_t len, ofctx_event_t *ev, ofctx__ce_mode_t *mode,
                             ofctx__refusal_t *refusal) {
  const char *content_type = NULL;
  int binary = 0;
  ofctx_err_t rc;

  for (size_t i = 0; i < count; i++) {
    if (!content_type && strcasecmp(headers[i].name, "content-type") == 0)
      content_type = headers[i].value;
    binary |= strncasecmp(headers[i].name, "ce-", 3) == 0;
  }
  rc = mode_of(content_type, binary, mode, refusal);
  if (rc != OFCTX_OK || *mode == OFCTX__CE_NONE)
    return rc;
  ev->attributes = json_object();
  if (!ev->attributes)
    return nomem(refusal);
  rc = *mode == OFCTX__CE_BINARY
           ? decode_binary(headers, count, content_type, body, len, ev, refusal)
           : decode_structured(body, len, ev, refusal);
  if (rc != OFCTX_OK) {
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

/* The envelope's datacontenttype member (`o->type`), as its attribute reads
 * (one holding a NUL is left out), as the event's content type. */
static ofctx_err_t envelope_type(ofctx_event_t *ev, const object_read_t *o) {
  ofctx__buf_t type = {0};

  if (o->type[0] == '"')
    ofctx__json_string_decode(&type, o->type, o->type_len);
  else
    ofctx__buf_append(&type, o->type, o->type_len);
  if (type.failed)
    return OFCTX_ENOMEM;
  if (strlen(type.data) != type.len) {
    ofctx__buf_free(&type);
    return OFCTX_OK;
  }
  ev->owned_type = type.data;
  ev->content_type = type.data;
  return OFCTX_OK;
}

/* Most functions never ask for an attribute, so an envelope is walked for
 * its data and content type only, and remembered: its attributes are made
 * on the first ask (ofctx__ce_envelope_attributes). */
static ofctx_err_t from_envelope(const ofctx__json_map_t *map, const char *body, size_t len,
                                 ofctx_event_t *ev, ofctx_error_t *err, int valid) {
  object_read_t o = {.ev = ev, .data_only = 1};
  int walk = valid ? ofctx__json_members_in(map, body, len, read_member, &o)
                   : ofctx__json_members(body, len, read_member, &o);
  ofctx_err_t rc;

  if (o.rc != OFCTX_OK)
    return o.rc;
  if (walk == -1)
    return ofctx__error(err, OFCTX_EINVAL, "the body is not JSON, so not a CloudEvent");
  if (walk == -2)
    return ofctx__error(err, OFCTX_EINVAL,
                        "the body is JSON but not an object, so not a CloudEvent");
  if (o.b64 && o.b64[0] != '"')
    return ofctx__error(err, OFCTX_EINVAL, "data_base64 is not a string");
  if (o.type && envelope_type(ev, &o) != OFCTX_OK)
    return OFCTX_ENOMEM;
  /* Dapr falls back to a string when JSON data does not parse, so a string
   * is the publisher's text whatever the type says. */
  rc = take_data(ev, &o, 1);
  if (rc == OFCTX_EINVAL)
    return ofctx__error(err, rc, NOT_BASE64);
  if (rc == OFCTX_OK) {
    ev->envelope = body;
    ev->envelope_len = len;
  }
  return rc;
}

json_t *ofctx__ce_envelope_attributes(ofctx_event_t *ev) {
  object_read_t o = {.ev = ev};

  if (!ev->envelope || !(ev->attributes = json_object()))
    return ev->attributes;
  if (ofctx__json_members_valid(ev->envelope, ev->envelope_len, read_member, &o) != 0 ||
      o.rc != OFCTX_OK) {
    json_decref(ev->attributes); /* asked again, it is tried again */
    ev->attributes = NULL;
    return NULL;
  }
  ev->envelope = NULL;
  return ev->attributes;
}

ofctx_err_t ofctx__ce_from_envelope(const char *body, size_t len, ofctx_event_t *ev,
                                    ofctx_error_t *err) {
  return from_envelope(NULL, body, len, ev, err, 0);
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
                                          size_t len, ofctx_event_t *ev, ofctx_error_t *err) {
  return from_envelope(map, body, len, ev, err, 1);
}

/* ---- replies ---- */

/* Adds what a reply lacks: an id (a random UUID), specversion 1.0, the
 * time, and the data's type (`content_type`, else sniffed from the data)
 * when there is a type or data. 0, or -1 when out of memory. */
static int reply_defaults(json_t *attrs, const char *data, size_t len, const char *content_type) {
  char text[40]; /* an id (36) or a timestamp */
  int rc = 0;

  if (!json_object_get(attrs, "id")) {
    ofctx__uuid4(text);
    rc |= json_object_set_new(attrs, "id", json_string(text));
  }
  rc |= json_object_set_new(attrs, "specversion", json_string("1.0"));
  if (!json_object_get(attrs, "time")) {
    ofctx__timestamp(text, sizeof text);
    rc |= json_object_set_new(attrs, "time", json_string(text));
  }
  if (!json_object_get(attrs, "datacontenttype") && (content_type || len > 0))
    rc |= json_object_set_new(
        attrs, "datacontenttype",
        json_string(content_type ? content_type : ofctx__media_type_of(data, len)));
  return rc;
}

/* Whether the reply's attributes make a valid event. Every attribute must be
 * text under a name of [a-z0-9]: anything else would make no header (or a
 * header that is two) and no valid event. OFCTX_OK or OFCTX_EINVAL. */
static ofctx_err_t reply_check(json_t *attrs, ofctx_error_t *err) {
  const char *key;
  json_t *value;

  json_object_foreach(attrs, key, value) {
    const char *text = json_string_value(value);
    if (!ofctx__ce_name_ok(key) || !text || strlen(text) != json_string_length(value) ||
        !ofctx__ce_string_ok(text))
      return ofctx__error(err, OFCTX_EINVAL,
                          "the reply CloudEvent has an attribute that is not valid: names are "
                          "[a-z0-9], values text without control characters");
  }
  if (!json_object_get(attrs, "source"))
    return ofctx__error(err, OFCTX_EINVAL, "the reply CloudEvent has no source attribute");
  if (!json_object_get(attrs, "type"))
    return ofctx__error(err, OFCTX_EINVAL, "the reply CloudEvent has no type attribute");
  if (validate(attrs, NULL) != OFCTX_OK)
    return ofctx__error(err, OFCTX_EINVAL, "the reply CloudEvent is not valid");
  return OFCTX_OK;
}

/* Appends one header, `name` and `value` each ending in a NUL, to `store`. */
static void store_header(ofctx__buf_t *store, const char *name, const char *value) {
  ofctx__buf_puts(store, name);
  ofctx__buf_append(store, "", 1);
  ofctx__buf_puts(store, value);
  ofctx__buf_append(store, "", 1);
}

/* The data member of a structured reply whose data is not JSON: a string
 * when the data is text (not under a JSON type, where a string member reads
 * back as JSON text), else its bytes in data_base64. 0, or -1 when out of
 * memory. */
static int structured_data(json_t *attrs, const char *data, size_t len, int is_json) {
  ofctx__buf_t b64 = {0};
  json_t *s = is_json || memchr(data, '\0', len) ? NULL : json_stringn(data, len);
  int rc;

  if (s) /* NULL also when the data is not UTF-8 */
    return json_object_set_new(attrs, "data", s);
  ofctx__base64_encode(&b64, data, len);
  rc = b64.failed ? -1
                  : json_object_set_new(attrs, "data_base64",
                                        json_stringn(b64.data ? b64.data : "", b64.len));
  ofctx__buf_free(&b64);
  return rc;
}

/* Structured mode: the whole event as JSON in out->body, and its one header.
 * JSON data goes in as it is, byte for byte, after the attributes. */
static ofctx_err_t encode_structured(ofctx__ce_reply_t *out, json_t *attrs, const char *data,
                                     size_t len) {
  int is_json = ofctx__json_media(json_string_value(json_object_get(attrs, "datacontenttype")));
  int raw = is_json && len > 0 && ofctx__json_valid(data, len);
  char *text;

  if (len > 0 && !raw && structured_data(attrs, data, len, is_json) != 0)
    return OFCTX_ENOMEM;
  text = ofctx__json_text(attrs, JSON_COMPACT);
  if (!text)
    return OFCTX_ENOMEM;
  ofctx__buf_puts(&out->body, text);
  ofctx__free(text);
  if (raw && !out->body.failed) { /* {...,"data":<data>}: it always has attributes */
    out->body.len--;
    ofctx__buf_puts(&out->body, ",\"data\":");
    ofctx__buf_append(&out->body, data, len);
    ofctx__buf_puts(&out->body, "}");
  }
  store_header(&out->store, "Content-Type", STRUCTURED_TYPE "; charset=utf-8");
  out->count = 1;
  return OFCTX_OK;
}

/* Binary mode: each attribute a ce-* header (its value percent-encoded), but
 * datacontenttype, which is the Content-Type; the body is the data. */
static ofctx_err_t encode_binary(ofctx__ce_reply_t *out, json_t *attrs, ofctx_error_t *err) {
  const char *declared = json_string_value(json_object_get(attrs, "datacontenttype"));
  size_t type_len;
  const char *type = ofctx__media_type(declared ? declared : "", &type_len), *key;
  json_t *value;

  /* as the Content-Type of a binary event it would read back as a
   * structured or batched one */
  if (is_ce_format(type, type_len))
    return ofctx__error(err, OFCTX_EINVAL,
                        "the reply CloudEvent's datacontenttype is a CloudEvents format, which a "
                        "binary-mode event cannot carry");
  json_object_foreach(attrs, key, value) {
    if (strcmp(key, "datacontenttype") == 0) {
      store_header(&out->store, "Content-Type", json_string_value(value));
    } else {
      ofctx__buf_puts(&out->store, "ce-");
      ofctx__buf_puts(&out->store, key);
      ofctx__buf_append(&out->store, "", 1);
      ofctx__buf_encoded(&out->store, json_string_value(value), OFCTX__ENCODE_HEADER);
      ofctx__buf_append(&out->store, "", 1);
    }
    out->count++;
  }
  return OFCTX_OK;
}

/* The reply in `mode`, on attributes completed and checked. */
static ofctx_err_t encode(ofctx__ce_reply_t *out, ofctx__ce_mode_t mode, json_t *attrs,
                          const char *data, size_t len, ofctx_error_t *err) {
  ofctx_err_t rc = reply_check(attrs, err);

  if (rc == OFCTX_OK)
    rc = mode == OFCTX__CE_STRUCTURED ? encode_structured(out, attrs, data, len)
                                      : encode_binary(out, attrs, err);
  if (rc == OFCTX_OK && !out->store.failed && !out->body.failed)
    out->headers = ofctx__http_headers_unpack(out->store.data, out->count, 1);
  if (rc == OFCTX_OK && !out->headers)
    rc = OFCTX_ENOMEM;
  return rc;
}

ofctx_err_t ofctx__ce_encode(ofctx__ce_reply_t *out, ofctx__ce_mode_t mode, json_t *attributes,
                             const char *data, size_t len, const char *content_type,
                             ofctx_error_t *err) {
  json_t *attrs;
  ofctx_err_t rc = OFCTX_ENOMEM;

  memset(out, 0, sizeof *out);
  if (content_type && !ofctx__ce_string_ok(content_type))
    return ofctx__error(err, OFCTX_EINVAL,
                        "the reply's content type is not text without control characters");
  attrs = json_deep_copy(attributes);
  if (attrs && reply_defaults(attrs, data, len, content_type) == 0)
    rc = encode(out, mode, attrs, data, len, err);
  json_decref(attrs);
  if (rc == OFCTX_ENOMEM)
    ofctx__error(err, rc, "out of memory");
  if (rc != OFCTX_OK)
    ofctx__ce_reply_free(out);
  return rc;
}

void ofctx__ce_reply_free(ofctx__ce_reply_t *r) {
  ofctx__free(r->headers);
  ofctx__buf_free(&r->store);
  ofctx__buf_free(&r->body);
  memset(r, 0, sizeof *r);
}

/* ---- the Go framework's SkyWalking envelope ---- */

#define GO_INNER_TYPE "io.openfunction.function."

static int go_inner_type(const char *type) {
  return type && strncmp(type, GO_INNER_TYPE, sizeof GO_INNER_TYPE - 1) == 0;
}

/* The envelope's user data (base64 text) in `doc`, the event's data: the
 * data itself when the event is of the inner type, else the data of a
 * structured CloudEvent of that type in it; NULL when there is none. */
static const json_t *go_user_data(const ofctx_event_t *ev, const json_t *doc) {
  const json_t *inner = doc;

  if (!json_is_object(doc))
    return NULL;
  if (!go_inner_type(ofctx_event_attribute(ev, "type"))) {
    if (!json_is_string(json_object_get(doc, "specversion")) ||
        !go_inner_type(json_string_value(json_object_get(doc, "type"))))
      return NULL;
    inner = json_object_get(doc, "data");
  }
  if (!json_is_object(inner) || json_object_size(inner) > 2 ||
      (json_object_get(inner, "metadata") && !json_is_object(json_object_get(inner, "metadata"))))
    return NULL;
  return json_is_string(json_object_get(inner, "userData")) ? json_object_get(inner, "userData")
                                                            : NULL;
}

/* The characters of the string values the tail check reads back over:
 * base64 (the user data) and a CloudEvent type's (the inner type), as a
 * bit per ASCII code: + - . / 0-9 = (codes 0-63), A-Z _ a-z (64-127). */
static int tail_char(char c) {
  static const uint64_t bits[2] = {
      UINT64_C(1) << 43 | UINT64_C(7) << 45 | UINT64_C(0x3ff) << 48 | UINT64_C(1) << 61,
      UINT64_C(0x3ffffff) << 1 | UINT64_C(1) << 31 | UINT64_C(0x3ffffff) << 33};
  unsigned char u = (unsigned char)c;

  return u < 128 && (bits[u >> 6] >> (u & 63) & 1);
}

/* Whether `data` ends as the envelope does as Go writes it (its keys in
 * order, no spaces): with the user data, `"userData":"<base64>"}` (then one
 * more `}` when it is a CloudEvent's data), or, a CloudEvent whose keys were
 * sorted, with `"type":"io.openfunction.function...."}`. It reads back from
 * the end over one string value, so that any other data costs next to
 * nothing. */
static int envelope_tail(const char *data, size_t len) {
  static const char user[] = "\"userData\":\"";
  const char *p = data + len, *value;

  while (p > data && (unsigned char)p[-1] <= ' ') /* a line's end: JSON's white space */
    p--;
  if (p - data < 16 || p[-1] != '}')
    return 0;
  p -= p[-2] == '}' ? 2 : 1;
  if (p[-1] != '"')
    return 0;
  value = --p;
  while (p > data && tail_char(p[-1]))
    p--;
  /* most JSON ends `"key":"value"}`: the key's last letter tells first */
  if (p - data < 8 || p[-1] != '"' || p[-2] != ':' || p[-3] != '"' ||
      (p[-4] != 'a' && p[-4] != 'e'))
    return 0;
  if ((size_t)(p - data) >= sizeof user - 1 &&
      memcmp(p - (sizeof user - 1), user, sizeof user - 1) == 0)
    return 1;
  return (size_t)(value - p) >= sizeof GO_INNER_TYPE - 1 && memcmp(p - 8, "\"type\":\"", 8) == 0 &&
         memcmp(p, GO_INNER_TYPE, sizeof GO_INNER_TYPE - 1) == 0;
}

int ofctx__ce_go_envelope_maybe(const ofctx_event_t *ev) {
  return ev->len && envelope_tail(ev->data, ev->len);
}

ofctx__unwrap_t ofctx__ce_unwrap_go_envelope(ofctx_event_t *ev) {
  json_t *doc;
  const json_t *user;
  char *decoded = NULL;
  size_t len = 0;
  ofctx__unwrap_t rc = OFCTX__UNWRAP_NONE;

  if (!ofctx__ce_go_envelope_maybe(ev))
    return OFCTX__UNWRAP_NONE;
  doc = json_loadb(ev->data, ev->len, 0, NULL);
  user = go_user_data(ev, doc);
  if (user) {
    decoded = ofctx__base64_decode(json_string_value(user), json_string_length(user), &len);
    /* a userData that is no base64 is not the envelope's: left alone */
    rc = decoded ? OFCTX__UNWRAP_DONE
         : ofctx__base64_valid(json_string_value(user), json_string_length(user))
             ? OFCTX__UNWRAP_NOMEM
             : OFCTX__UNWRAP_NONE;
  }
  json_decref(doc);
  if (rc != OFCTX__UNWRAP_DONE)
    return rc;
  ofctx__free(ev->owned);
  ev->owned = decoded;
  ev->data = decoded;
  ev->len = len;
  ev->content_type = ofctx__media_type_of(decoded, len);
  return OFCTX__UNWRAP_DONE;
}
