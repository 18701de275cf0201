/* CloudEvents 1.0 over HTTP (libofctx/cloudevent.c). The decoder is
 * table-driven over tests/data/cloudevents/{valid,invalid} (one JSON file per
 * case, see its README.md): every valid case must decode to exactly its
 * expected mode, attributes, data and content type; every invalid case must
 * be refused with its status and reason, leaving nothing allocated. The reply
 * encoder is tested directly, and encode → decode must give back the same
 * event in both modes. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "case_util.h"
#include "cloudevent.h"
#include "event.h"
#include "text.h"

/* ---- counting jansson's allocations ----
 * Every JSON value the decoder makes comes from jansson's allocator; counting
 * the blocks alive tells whether a decode left one behind, with or without
 * the sanitizers. */

static long json_blocks;
static long json_fail_at = -1; /* the next allocations until one fails; -1: none fails */

static void *counting_malloc(size_t size) {
  void *p = json_fail_at == 0 ? NULL : malloc(size);

  if (json_fail_at >= 0)
    json_fail_at--;
  if (p)
    json_blocks++;
  return p;
}

static void counting_free(void *p) {
  if (p) {
    json_blocks--;
    free(p);
  }
}

/* ---- helpers ---- */

/* A string literal and its length (NULs inside included). */
#define LIT(s) s, sizeof s - 1

/* base64 decoding for the expectations, written apart from the library's
 * decoder so that the two cannot share a mistake. Fails the test on bad
 * input. */
static unsigned char *b64_decode(const char *in, size_t *out_len) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(in), len = 0;
  unsigned char *out = malloc(n / 4 * 3 + 4);
  uint32_t acc = 0;
  int bits = 0;

  assert_non_null(out);
  for (size_t i = 0; i < n && in[i] != '='; i++) {
    const char *pos = strchr(alphabet, in[i]); /* in[i] is not the NUL */
    if (!pos)
      fail_msg("bad base64 in a case file: %s", in);
    acc = acc << 6 | (uint32_t)(pos - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[len++] = (unsigned char)(acc >> bits);
    }
  }
  *out_len = len;
  return out;
}

/* Fails unless `len` bytes at `got` are the `want_len` bytes at `want`. */
static void assert_bytes(const char *what, const void *got, size_t len, const void *want,
                         size_t want_len) {
  if (len != want_len || (len && memcmp(got, want, len) != 0))
    fail_msg("%s: expected %zu bytes \"%.*s\", got %zu bytes \"%.*s\"", what, want_len,
             (int)want_len, (const char *)want, len, (int)len, (const char *)got);
}

static void assert_json_equal(const char *what, const json_t *got, const json_t *want) {
  if (!json_equal(got, want)) {
    char *g = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
    char *w = want ? json_dumps(want, JSON_SORT_KEYS) : NULL;
    print_error("%s: expected %s\n  got %s\n", what, w ? w : "(null)", g ? g : "(null)");
    free(g);
    free(w);
    fail();
  }
}

/* Fails unless `obj` has only members named in `allowed` (a typo in a case
 * file must not quietly test nothing). */
static void assert_keys(const char *what, const json_t *obj, const char *const *allowed) {
  const char *key;
  json_t *value;

  if (!json_is_object(obj))
    fail_msg("%s is not an object", what);
  json_object_foreach((json_t *)obj, key, value) {
    const char *const *a = allowed;
    while (*a && strcmp(*a, key) != 0)
      a++;
    if (!*a)
      fail_msg("%s: unknown member \"%s\"", what, key);
  }
}

/* ---- the cases of a data folder ---- */

/* A request as the HTTP server hands it over. The body is a heap block of
 * exactly its length, without a terminating NUL, so that reading past it is
 * caught by the sanitizers. */
typedef struct {
  json_t *file;
  ofctx__http_header_t headers[32];
  size_t count;
  char *body;
  size_t len;
} request_t;

static void request_load(request_t *req, const char *path, int valid) {
  static const char *const top[] = {"description", "headers", "body",
                                    "body_base64", "expect",  NULL};
  char dir[1024];
  const char *name = strrchr(path, '/') + 1;
  char *text;
  json_error_t jerr;
  json_t *headers, *pair, *body, *body64;
  size_t i;

  memset(req, 0, sizeof *req);
  snprintf(dir, sizeof dir, "%.*s", (int)(name - 1 - path), path);
  text = case_read_file(dir, name, NULL);
  if (!text)
    fail_msg("cannot read %s", path);
  req->file = json_loads(text, 0, &jerr);
  free(text);
  if (!req->file)
    fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
  assert_keys(path, req->file, top);
  if (!json_is_string(json_object_get(req->file, "description")))
    fail_msg("%s: every case needs a description", path);
  if (!json_is_object(json_object_get(req->file, "expect")))
    fail_msg("%s: every case needs an expect object", path);
  if (valid) {
    static const char *const keys[] = {"mode",        "attributes",   "data",
                                       "data_base64", "content_type", NULL};
    assert_keys(path, json_object_get(req->file, "expect"), keys);
  } else {
    static const char *const keys[] = {"status", "reason", NULL};
    assert_keys(path, json_object_get(req->file, "expect"), keys);
  }
  headers = json_object_get(req->file, "headers");
  if (!json_is_array(headers) || json_array_size(headers) > 32)
    fail_msg("%s: headers must be an array of at most 32 pairs", path);
  json_array_foreach(headers, i, pair) {
    if (json_array_size(pair) != 2 || !json_is_string(json_array_get(pair, 0)) ||
        !json_is_string(json_array_get(pair, 1)))
      fail_msg("%s: header %zu is not a [name, value] pair", path, i);
    req->headers[i].name = json_string_value(json_array_get(pair, 0));
    req->headers[i].value = json_string_value(json_array_get(pair, 1));
  }
  req->count = json_array_size(headers);
  body = json_object_get(req->file, "body");
  body64 = json_object_get(req->file, "body_base64");
  if ((body && !json_is_string(body)) || (body64 && !json_is_string(body64)) || (body && body64))
    fail_msg("%s: body or body_base64 (a string), not both", path);
  if (body64) {
    unsigned char *bytes = b64_decode(json_string_value(body64), &req->len);
    req->body = malloc(req->len ? req->len : 1);
    assert_non_null(req->body);
    memcpy(req->body, bytes, req->len);
    free(bytes);
  } else {
    req->len = json_string_length(body);
    req->body = malloc(req->len ? req->len : 1);
    assert_non_null(req->body);
    if (req->len)
      memcpy(req->body, json_string_value(body), req->len);
  }
}

static void request_free(request_t *req) {
  json_decref(req->file);
  free(req->body);
}

static const char *mode_name(ofctx__ce_mode_t mode) {
  switch (mode) {
  case OFCTX__CE_NONE:
    return "none";
  case OFCTX__CE_BINARY:
    return "binary";
  case OFCTX__CE_STRUCTURED:
    return "structured";
  }
  return "not set";
}

static void valid_case(void **state) {
  const char *path = *state;
  request_t req;
  json_t *expect, *want_type;
  ofctx_event_t ev = {0};
  ofctx__ce_mode_t mode = (ofctx__ce_mode_t)-1;
  ofctx__refusal_t err = {0};
  const char *want_data;
  unsigned char *want_bytes = NULL;
  size_t want_len;
  long blocks;

  request_load(&req, path, 1);
  expect = json_object_get(req.file, "expect");
  /* As the Knative runtime does: the event's data is the body until the
   * decoder says otherwise. */
  ev.data = req.body;
  ev.len = req.len;
  blocks = json_blocks;
  if (ofctx__ce_decode(req.headers, req.count, req.body, req.len, &ev, &mode, &err) != OFCTX_OK)
    fail_msg("%s: refused with %d: %s", path, err.status, err.error.message);
  assert_string_equal(mode_name(mode), json_string_value(json_object_get(expect, "mode")));

  if (json_object_get(expect, "data_base64")) {
    want_bytes = b64_decode(json_string_value(json_object_get(expect, "data_base64")), &want_len);
    want_data = (const char *)want_bytes;
  } else {
    want_data = json_string_value(json_object_get(expect, "data"));
    if (!want_data)
      fail_msg("%s: expect needs data or data_base64", path);
    want_len = json_string_length(json_object_get(expect, "data"));
  }
  assert_bytes("data", ev.data, ev.len, want_data, want_len);

  want_type = json_object_get(expect, "content_type");
  if (!want_type)
    fail_msg("%s: expect needs content_type (a string or null)", path);
  if (json_is_null(want_type))
    assert_null(ev.content_type);
  else
    assert_string_equal(ev.content_type, json_string_value(want_type));

  if (mode == OFCTX__CE_NONE) {
    /* Nothing is decoded: the event is left as it was. */
    assert_true(json_is_null(json_object_get(expect, "attributes")));
    assert_null(ev.attributes);
    assert_null(ev.owned);
    assert_ptr_equal(ev.data, req.body);
  } else {
    assert_json_equal(path, ev.attributes, json_object_get(expect, "attributes"));
    /* The content type is the datacontenttype attribute, not a copy. */
    if (ev.content_type)
      assert_ptr_equal(ev.content_type,
                       json_string_value(json_object_get(ev.attributes, "datacontenttype")));
    if (mode == OFCTX__CE_BINARY) {
      /* Binary mode borrows the body. */
      assert_ptr_equal(ev.data, req.body);
      assert_null(ev.owned);
    } else if (ev.owned) {
      assert_ptr_equal(ev.data, ev.owned);
    } else {
      assert_int_equal(ev.len, 0);
    }
  }
  ofctx__event_clear(&ev);
  assert_int_equal(json_blocks, blocks);
  free(want_bytes);
  request_free(&req);
}

static void invalid_case(void **state) {
  const char *path = *state;
  request_t req;
  json_t *expect;
  ofctx_event_t ev = {0};
  ofctx__ce_mode_t mode;
  ofctx__refusal_t err = {0};
  const char *reason;
  long blocks;

  request_load(&req, path, 0);
  expect = json_object_get(req.file, "expect");
  reason = json_string_value(json_object_get(expect, "reason"));
  if (!reason || !json_is_integer(json_object_get(expect, "status")))
    fail_msg("%s: expect needs status and reason", path);
  ev.data = req.body;
  ev.len = req.len;
  blocks = json_blocks;
  if (ofctx__ce_decode(req.headers, req.count, req.body, req.len, &ev, &mode, &err) == OFCTX_OK)
    fail_msg("%s: accepted in %s mode", path, mode_name(mode));
  assert_int_equal(err.status, json_integer_value(json_object_get(expect, "status")));
  if (!strstr(err.error.message, reason))
    fail_msg("%s: the reason \"%s\" does not hold \"%s\"", path, err.error.message, reason);
  /* The reason goes back to the client: text without control characters. */
  assert_true(ofctx__text_ok(err.error.message));
  /* Nothing is left for the caller to free. */
  assert_null(ev.attributes);
  assert_null(ev.owned);
  assert_null(ev.content_type);
  assert_int_equal(json_blocks, blocks);
  request_free(&req);
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs `fn` once per *.json file of `dir`, in name order, as one cmocka group
 * (each test named after its file); fewer than `min` cases fail. Returns the
 * number of failed tests. */
static int run_folder(const char *group, const char *dir, void (*fn)(void **), size_t min) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **paths = NULL;
  struct CMUnitTest *tests;
  size_t n = 0;
  int failed;

  if (!d) {
    fprintf(stderr, "%s: cannot open the case folder\n", dir);
    return 1;
  }
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    char path[1024];
    if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    paths = realloc(paths, (n + 1) * sizeof *paths);
    if (!paths || !(paths[n++] = strdup(path)))
      abort();
  }
  closedir(d);
  if (n < min) {
    fprintf(stderr, "%s: %zu cases, expected at least %zu\n", dir, n, min);
    for (size_t i = 0; i < n; i++)
      free(paths[i]);
    free(paths);
    return 1;
  }
  qsort(paths, n, sizeof *paths, compare_paths);
  tests = calloc(n, sizeof *tests);
  if (!tests)
    abort();
  for (size_t i = 0; i < n; i++) {
    tests[i].name = strrchr(paths[i], '/') + 1;
    tests[i].test_func = fn;
    tests[i].initial_state = paths[i];
  }
  failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
  free(tests);
  return failed;
}

/* ---- the reply encoder ---- */

/* The value of the one header `name` (any case) of a reply; NULL when there
 * is none, and a failure when there are two. */
static const char *reply_header(const ofctx__ce_reply_t *r, const char *name) {
  const char *found = NULL;

  for (size_t i = 0; i < r->count; i++)
    if (strcasecmp(r->headers[i].name, name) == 0) {
      if (found)
        fail_msg("header %s appears twice", name);
      found = r->headers[i].value;
    }
  return found;
}

/* Whether `s` is a version 4 UUID in its canonical lower-case form. */
static int is_uuid4(const char *s) {
  if (strlen(s) != 36 || s[14] != '4' || !strchr("89ab", s[19]))
    return 0;
  for (int i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i])) /* s[i] is not the NUL */
      return 0;
  }
  return 1;
}

/* The wall clock as the encoder's time attribute starts: 2024-01-31T12:00:00. */
static void clock_text(char out[32]) {
  struct timespec ts;
  struct tm tm;

  assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* Fails unless `s` is a UTC time with milliseconds (2024-01-31T12:00:00.000Z)
 * between the clock readings `before` and `after`. */
static void assert_time_between(const char *s, const char *before, const char *after) {
  assert_non_null(s);
  if (strlen(s) != 24 || s[19] != '.' || strspn(s + 20, "0123456789") != 3 || s[23] != 'Z' ||
      strncmp(s, before, 19) < 0 || strncmp(s, after, 19) > 0)
    fail_msg("time %s is not a UTC time between %s and %s", s, before, after);
}

static json_t *reply_attributes(void) {
  json_t *a = json_pack("{s:s, s:s, s:s}", "id", "r-1", "source", "/reply/source", "type",
                        "com.example.reply");
  assert_non_null(a);
  return a;
}

static void encode_binary_headers(void **state) {
  json_t *a = reply_attributes();
  ofctx__ce_reply_t r;
  ofctx_error_t err = {OFCTX_OK, ""};
  char before[32], after[32];

  json_object_set_new(a, "subject", json_string("a b\"c%d\xc3\xbc~!"));
  json_object_set_new(a, "comexampleext", json_string("plain"));
  clock_text(before);
  assert_int_equal(
      ofctx__ce_encode(&r, OFCTX__CE_BINARY, a, LIT("hello"), "text/plain; charset=utf-8", &err),
      0);
  clock_text(after);
  assert_string_equal(err.message, "");
  /* Exactly these headers: every attribute as ce-* (a time added, the time
   * of the encoding), the data's type as Content-Type. */
  assert_int_equal(r.count, 8);
  assert_time_between(reply_header(&r, "ce-time"), before, after);
  assert_string_equal(reply_header(&r, "ce-id"), "r-1");
  assert_string_equal(reply_header(&r, "ce-source"), "/reply/source");
  assert_string_equal(reply_header(&r, "ce-type"), "com.example.reply");
  assert_string_equal(reply_header(&r, "ce-specversion"), "1.0");
  /* space, '"', '%' and the UTF-8 bytes of ü percent-encoded, upper-case hex;
   * the other visible ASCII characters as they are */
  assert_string_equal(reply_header(&r, "ce-subject"), "a%20b%22c%25d%C3%BC~!");
  assert_string_equal(reply_header(&r, "ce-comexampleext"), "plain");
  assert_string_equal(reply_header(&r, "Content-Type"), "text/plain; charset=utf-8");
  assert_null(reply_header(&r, "ce-datacontenttype"));
  /* The body is the data itself, which the caller sends. */
  assert_int_equal(r.body.len, 0);
  ofctx__ce_reply_free(&r);
  assert_null(r.headers);
  assert_int_equal(r.count, 0);
  json_decref(a);
}

static void encode_binary_content_type(void **state) {
  static const struct {
    const char *data;
    size_t len;
    const char *given;     /* the content_type argument */
    const char *attribute; /* a datacontenttype attribute */
    const char *want;      /* the Content-Type header; NULL: none */
  } cases[] = {
      {LIT("{\"a\":1}"), NULL, NULL, "application/json"},
      {LIT("hello"), NULL, NULL, "text/plain; charset=utf-8"},
      {LIT("\x00\xff"), NULL, NULL, "application/octet-stream"},
      {LIT(""), NULL, NULL, NULL},
      {LIT(""), "application/xml", NULL, "application/xml"},
      {LIT("<a/>"), NULL, "application/xml", "application/xml"},
      /* the attribute wins over the argument */
      {LIT("{}"), "text/plain", "application/x-ndjson", "application/x-ndjson"},
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *a = reply_attributes();
    ofctx__ce_reply_t r;
    ofctx_error_t err;
    if (cases[i].attribute)
      json_object_set_new(a, "datacontenttype", json_string(cases[i].attribute));
    assert_int_equal(ofctx__ce_encode(&r, OFCTX__CE_BINARY, a, cases[i].data, cases[i].len,
                                      cases[i].given, &err),
                     0);
    if (cases[i].want)
      assert_string_equal(reply_header(&r, "Content-Type"), cases[i].want);
    else
      assert_null(reply_header(&r, "Content-Type"));
    assert_null(reply_header(&r, "ce-datacontenttype"));
    ofctx__ce_reply_free(&r);
    json_decref(a);
  }
  /* a CloudEvents format as the data's type would read back as a structured
   * or batched event: binary mode refuses it, structured mode carries it */
  for (int m = OFCTX__CE_BINARY; m <= OFCTX__CE_STRUCTURED; m++) {
    static const char *const formats[] = {"application/cloudevents-batch+json",
                                          "Application/CloudEvents+json; x=1"};
    for (size_t i = 0; i < 2; i++) {
      json_t *a = reply_attributes();
      ofctx__ce_reply_t r;
      ofctx_error_t err = {OFCTX_OK, ""};
      json_object_set_new(a, "datacontenttype", json_string(formats[i]));
      assert_int_equal(ofctx__ce_encode(&r, (ofctx__ce_mode_t)m, a, "{}", 2, NULL, &err),
                       m == OFCTX__CE_BINARY ? OFCTX_EINVAL : OFCTX_OK);
      if (m == OFCTX__CE_BINARY)
        assert_non_null(strstr(err.message, "binary-mode"));
      ofctx__ce_reply_free(&r);
      json_decref(a);
    }
  }
}

static void encode_generates_id(void **state) {
  json_t *a = reply_attributes();
  ofctx__ce_reply_t r1, r2;
  ofctx_error_t err;

  json_object_del(a, "id");
  assert_int_equal(ofctx__ce_encode(&r1, OFCTX__CE_BINARY, a, "", 0, NULL, &err), 0);
  assert_int_equal(ofctx__ce_encode(&r2, OFCTX__CE_BINARY, a, "", 0, NULL, &err), 0);
  assert_non_null(reply_header(&r1, "ce-id"));
  if (!is_uuid4(reply_header(&r1, "ce-id")))
    fail_msg("the generated id %s is not a UUID v4", reply_header(&r1, "ce-id"));
  assert_true(is_uuid4(reply_header(&r2, "ce-id")));
  assert_string_not_equal(reply_header(&r1, "ce-id"), reply_header(&r2, "ce-id"));
  assert_string_equal(reply_header(&r1, "ce-specversion"), "1.0");
  /* The caller's attributes are not changed. */
  assert_null(json_object_get(a, "id"));
  assert_null(json_object_get(a, "specversion"));
  assert_null(json_object_get(a, "time"));
  ofctx__ce_reply_free(&r1);
  ofctx__ce_reply_free(&r2);
  json_decref(a);
}

/* Encodes `a` with `data` in structured mode; the body parsed as JSON. */
static json_t *structured_body(json_t *a, const char *data, size_t len, const char *type) {
  ofctx__ce_reply_t r;
  ofctx_error_t err = {OFCTX_OK, ""};
  json_error_t jerr;
  json_t *body;

  if (ofctx__ce_encode(&r, OFCTX__CE_STRUCTURED, a, data, len, type, &err) != OFCTX_OK)
    fail_msg("encode failed: %s", err.message);
  assert_int_equal(r.count, 1);
  assert_string_equal(reply_header(&r, "Content-Type"),
                      "application/cloudevents+json; charset=utf-8");
  body = json_loadb(r.body.data, r.body.len, 0, &jerr);
  if (!body)
    fail_msg("the structured body is not JSON: %s", jerr.text);
  ofctx__ce_reply_free(&r);
  return body;
}

static void encode_structured(void **state) {
  json_t *a = reply_attributes(), *body, *want;

  json_object_set_new(a, "comexampleext", json_string("x"));
  /* JSON data is embedded as JSON. */
  body = structured_body(a, LIT("{\"b\":[1,2],\"a\":\"x\"}"), "application/json");
  /* (the time added is checked in encode_binary_headers) */
  assert_non_null(json_string_value(json_object_get(body, "time")));
  json_object_del(body, "time");
  want =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[i,i], s:s}}", "id", "r-1", "source",
                "/reply/source", "type", "com.example.reply", "comexampleext", "x", "specversion",
                "1.0", "datacontenttype", "application/json", "data", "b", 1, 2, "a", "x");
  assert_json_equal("JSON data", body, want);
  json_decref(body);
  json_decref(want);

  /* Text is a string. */
  body = structured_body(a, LIT("hello \xc3\xbc"), "text/plain");
  assert_string_equal(json_string_value(json_object_get(body, "data")), "hello \xc3\xbc");
  assert_string_equal(json_string_value(json_object_get(body, "datacontenttype")), "text/plain");
  assert_null(json_object_get(body, "data_base64"));
  json_decref(body);

  /* Bytes that are not text go in data_base64. */
  body = structured_body(a, LIT("\x00\x01\xfe\xff"), "application/octet-stream");
  assert_string_equal(json_string_value(json_object_get(body, "data_base64")), "AAH+/w==");
  assert_null(json_object_get(body, "data"));
  json_decref(body);

  /* So does text with a NUL in it. */
  body = structured_body(a, LIT("a\0b"), "text/plain");
  assert_string_equal(json_string_value(json_object_get(body, "data_base64")), "YQBi");
  assert_null(json_object_get(body, "data"));
  json_decref(body);

  /* Sniffed when no type is given: JSON. */
  body = structured_body(a, LIT("[true]"), NULL);
  assert_string_equal(json_string_value(json_object_get(body, "datacontenttype")),
                      "application/json");
  assert_true(json_is_true(json_array_get(json_object_get(body, "data"), 0)));
  json_decref(body);

  /* No data: neither member, and no datacontenttype. */
  body = structured_body(a, LIT(""), NULL);
  assert_null(json_object_get(body, "data"));
  assert_null(json_object_get(body, "data_base64"));
  assert_null(json_object_get(body, "datacontenttype"));
  assert_string_equal(json_string_value(json_object_get(body, "specversion")), "1.0");
  json_decref(body);

  /* Bytes that claim to be JSON but are not: kept as they are, in
   * data_base64, not turned into a JSON string. */
  body = structured_body(a, LIT("not json"), "application/json");
  assert_string_equal(json_string_value(json_object_get(body, "data_base64")), "bm90IGpzb24=");
  assert_null(json_object_get(body, "data"));
  json_decref(body);
  json_decref(a);
}

/* Encoding must fail with `err` holding `reason`, and leave `out` empty. */
static void assert_encode_fails(json_t *a, const char *content_type, const char *reason) {
  static const ofctx__ce_mode_t modes[] = {OFCTX__CE_BINARY, OFCTX__CE_STRUCTURED};

  for (size_t m = 0; m < 2; m++) {
    ofctx__ce_reply_t r;
    ofctx_error_t err = {OFCTX_OK, ""};
    assert_int_equal(ofctx__ce_encode(&r, modes[m], a, "x", 1, content_type, &err), OFCTX_EINVAL);
    assert_int_equal(err.code, OFCTX_EINVAL);
    if (!strstr(err.message, reason))
      fail_msg("the reason \"%s\" does not hold \"%s\"", err.message, reason);
    assert_null(r.headers);
    assert_int_equal(r.count, 0);
    assert_null(r.store.data);
    assert_null(r.body.data);
  }
}

static void encode_refuses(void **state) {
  json_t *a = reply_attributes();

  json_object_del(a, "type");
  assert_encode_fails(a, NULL, "no type");
  json_object_set_new(a, "type", json_string("t"));
  json_object_del(a, "source");
  assert_encode_fails(a, NULL, "no source");
  json_object_set_new(a, "source", json_string("/s"));
  json_object_set_new(a, "subject", json_string(""));
  assert_encode_fails(a, NULL, "not valid");
  json_object_set_new(a, "subject", json_string("s"));
  json_object_set_new(a, "time", json_string("yesterday"));
  assert_encode_fails(a, NULL, "not valid");
  json_object_del(a, "time");

  /* Attributes are strings with names of [a-z0-9], as the header promises:
   * anything else is refused, not sent (or dereferenced as a string). */
  json_object_set_new(a, "comexampleint", json_integer(5));
  assert_encode_fails(a, NULL, "not valid");
  json_object_del(a, "comexampleint");
  json_object_set_new(a, "comExample", json_string("x"));
  assert_encode_fails(a, NULL, "not valid");
  json_object_del(a, "comExample");
  json_object_set_new(a, "data", json_string("x"));
  assert_encode_fails(a, NULL, "not valid");
  json_object_del(a, "data");
  json_object_set_new(a, "datacontenttype", json_string("text/plain\r\nX-Injected: 1"));
  assert_encode_fails(a, NULL, "not valid");
  json_object_del(a, "datacontenttype");
  assert_encode_fails(a, "text/plain\nX-Injected: 1", "content type is not text");
  json_decref(a);
}

/* ---- encode, then decode ---- */

/* The reply of `mode` with `data`, decoded as a request: the same attributes
 * (plus the generated id, specversion and the data's type `want_type`) and
 * byte for byte the same data. */
static void round_trip(ofctx__ce_mode_t mode, const char *data, size_t len,
                       const char *content_type, const char *want_type) {
  json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "source", "/round/trip", "type",
                        "com.example.rt", "subject", "a b\"c%d+e \xc3\xbc/\xc3\xa9 \\ ~ %41",
                        "time", "2024-02-29T12:00:00.5+01:00", "dataschema",
                        "https://example.com/schema", "comexampleext", "\"quoted\"");
  json_t *want;
  ofctx__ce_reply_t r;
  ofctx_event_t ev = {0};
  ofctx__ce_mode_t got_mode;
  ofctx__refusal_t refusal;
  ofctx_error_t err;
  const char *id;
  char *body;
  size_t body_len;

  assert_non_null(a);
  if (ofctx__ce_encode(&r, mode, a, data, len, content_type, &err) != OFCTX_OK)
    fail_msg("encode failed: %s", err.message);
  /* The request's body: the data in binary mode, the event in structured
   * mode; a block of its exact size. */
  body_len = mode == OFCTX__CE_BINARY ? len : r.body.len;
  body = malloc(body_len ? body_len : 1);
  assert_non_null(body);
  if (body_len)
    memcpy(body, mode == OFCTX__CE_BINARY ? data : r.body.data, body_len);
  if (ofctx__ce_decode(r.headers, r.count, body, body_len, &ev, &got_mode, &refusal) != OFCTX_OK)
    fail_msg("decoding the reply failed: %d %s", refusal.status, refusal.error.message);
  assert_int_equal(got_mode, mode);
  id = json_string_value(json_object_get(ev.attributes, "id"));
  assert_non_null(id);
  assert_true(is_uuid4(id));
  want = json_deep_copy(a);
  json_object_set_new(want, "id", json_string(id));
  json_object_set_new(want, "specversion", json_string("1.0"));
  if (want_type)
    json_object_set_new(want, "datacontenttype", json_string(want_type));
  assert_json_equal(mode == OFCTX__CE_BINARY ? "binary round trip" : "structured round trip",
                    ev.attributes, want);
  assert_bytes("round-trip data", ev.data, ev.len, data, len);
  ofctx__event_clear(&ev);
  ofctx__ce_reply_free(&r);
  free(body);
  json_decref(want);
  json_decref(a);
}

static void round_trips(void **state) {
  static const ofctx__ce_mode_t modes[] = {OFCTX__CE_BINARY, OFCTX__CE_STRUCTURED};

  for (size_t m = 0; m < 2; m++) {
    round_trip(modes[m], LIT("{\"a\":[1,2],\"b\":{\"c\":null}}"), NULL, "application/json");
    round_trip(modes[m], LIT("\"just a string\""), "application/json", "application/json");
    round_trip(modes[m], LIT("hello world \xc3\xbc"), NULL, "text/plain; charset=utf-8");
    round_trip(modes[m], LIT("\x00\x01\xff"), NULL, "application/octet-stream");
    round_trip(modes[m], LIT("a\0b"), "text/plain", "text/plain");
    round_trip(modes[m], LIT("<a b=\"c\"/>"), "application/xml", "application/xml");
    round_trip(modes[m], LIT("not json"), "application/json", "application/json");
    round_trip(modes[m], LIT(""), NULL, NULL);
    round_trip(modes[m], LIT(""), "text/plain", "text/plain");
    /* JSON that jansson cannot hold goes out and comes back byte for byte */
    round_trip(modes[m], LIT("{\"n\": 123456789012345678901234567890, \"r\": 1e999}"), NULL,
               "application/json");
    round_trip(modes[m], LIT("[\"\\u0000\", \"\\ud800\"]"), "application/json", "application/json");
  }
}

/* Dapr's envelope: any JSON in it is read, and the data is kept as it was
 * written; attributes that are not strings keep their JSON text. */
static void envelopes(void **state) {
  static const char *const docs[] = {"{\"n\":123456789012345678901234567890}",
                                     "[1e999,-1E+400]",
                                     "{\"s\":\"a\\u0000b\"}",
                                     "\"\\ud800\"",
                                     "{ \"spaced\" : [ 1 ,\n 2 ] }",
                                     "null",
                                     "7"};
  char body[512];
  (void)state;

  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    ofctx_event_t ev = {0};
    int n = snprintf(body, sizeof body,
                     "{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"datacontenttype\":"
                     "\"application/json\",\"data\":%s,\"ext\":{\"deep\": [1e999]}}",
                     docs[i]);
    ofctx_error_t err = {OFCTX_OK, ""};
    if (ofctx__ce_from_envelope(body, (size_t)n, &ev, &err) != OFCTX_OK)
      fail_msg("%s: %s", docs[i], err.message);
    if (strcmp(docs[i], "null") == 0)
      assert_bytes("null data", ev.data, ev.len, "", 0);
    else if (docs[i][0] == '"') /* a string: its characters, the lone surrogate as U+FFFD */
      assert_bytes("string data", ev.data, ev.len, "\xef\xbf\xbd", 3);
    else
      assert_bytes("envelope data", ev.data, ev.len, docs[i], strlen(docs[i]));
    /* the content type is read at once; the attributes on the first ask */
    assert_string_equal(ev.content_type, "application/json");
    assert_null(ev.attributes);
    assert_string_equal(ofctx_event_attribute(&ev, "ext"), "{\"deep\": [1e999]}");
    assert_string_equal(ofctx_event_attribute(&ev, "source"), "s");
    assert_null(ofctx_event_attribute(&ev, "data"));
    assert_null(ev.envelope);
    ofctx__event_clear(&ev);
  }
  {
    ofctx_event_t ev = {0};
    ofctx_error_t err = {OFCTX_OK, ""};
    assert_int_equal(ofctx__ce_from_envelope(LIT("[1]"), &ev, &err), OFCTX_EINVAL);
    assert_string_equal(err.message, "the body is JSON but not an object, so not a CloudEvent");
    ofctx__event_clear(&ev);
    assert_int_equal(ofctx__ce_from_envelope(LIT("{\"id\":"), &ev, &err), OFCTX_EINVAL);
    assert_string_equal(err.message, "the body is not JSON, so not a CloudEvent");
    ofctx__event_clear(&ev);
    assert_int_equal(ofctx__ce_from_envelope(LIT("{\"data_base64\":\"@@\"}"), &ev, &err),
                     OFCTX_EINVAL);
    assert_string_equal(err.message, "data_base64 is not base64");
    ofctx__event_clear(&ev);
  }
}

/* A reply made while jansson's Nth allocation fails, for every N until
 * none fails: out of memory, or the reply; never a reply that lacks a
 * default or its data, and nothing left allocated. */
static void encode_out_of_memory(void **state) {
  static const struct {
    const char *data, *type;
  } cases[] = {{"hello", NULL}, {"not json", "application/json"}, {"\xff", NULL}};
  (void)state;

  for (int m = OFCTX__CE_BINARY; m <= OFCTX__CE_STRUCTURED; m++)
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
      json_t *a = reply_attributes();
      ofctx_err_t rc = OFCTX_ENOMEM;
      json_object_del(a, "id");
      for (long n = 0; rc == OFCTX_ENOMEM; n++) {
        ofctx__ce_reply_t r;
        ofctx_error_t err = {OFCTX_OK, ""};
        long blocks = json_blocks;
        json_fail_at = n;
        rc = ofctx__ce_encode(&r, (ofctx__ce_mode_t)m, a, cases[c].data, strlen(cases[c].data),
                              cases[c].type, &err);
        json_fail_at = -1;
        assert_int_equal(json_blocks, blocks);
        if (rc == OFCTX_ENOMEM) {
          assert_string_equal(err.message, "out of memory");
          assert_null(r.headers);
          assert_null(r.body.data);
          continue;
        }
        assert_int_equal(rc, OFCTX_OK);
        if (m == OFCTX__CE_BINARY)
          assert_non_null(reply_header(&r, "ce-id"));
        else
          assert_true(strstr(r.body.data, "\"id\":") && strstr(r.body.data, "\"data"));
        ofctx__ce_reply_free(&r);
      }
      json_decref(a);
    }
}

/* ---- the Go framework's SkyWalking envelope ---- */

/* `data` as an event (with the CloudEvent type `type`, or none) after the
 * unwrap: what it returned, and the data the function would see. */
static ofctx__unwrap_t unwrap(const char *type, const char *data, char *out, size_t size) {
  ofctx_event_t ev = {0};
  ofctx__unwrap_t rc;

  ev.data = data;
  ev.len = strlen(data);
  if (type)
    ev.attributes = json_pack("{s:s}", "type", type);
  rc = ofctx__ce_unwrap_go_envelope(&ev);
  snprintf(out, size, "%.*s|%s", (int)ev.len, ev.data, ev.content_type ? ev.content_type : "");
  ofctx__event_clear(&ev);
  return rc;
}

static void go_envelope(void **state) {
  static const struct {
    const char *type, *data, *seen; /* seen: NULL when unchanged */
  } cases[] = {
      /* a queue binding's payload: the inner CloudEvent, structured */
      {NULL,
       "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"default/sender\","
       "\"type\":\"io.openfunction.function.default.sender\",\"datacontenttype\":"
       "\"application/json\",\"data\":{\"metadata\":{\"sw8\":\"1-YQ==-Yg==-0\"},"
       "\"userData\":\"eyJhIjoxfQ==\"}}",
       "{\"a\":1}|application/json"},
      /* a pub/sub event of that type: its data is the envelope */
      {"io.openfunction.function.sender",
       "{\"metadata\":{\"sw8\":\"x\"},\"userData\":\"aGVsbG8=\"}",
       "hello|text/plain; charset=utf-8"},
      {"io.openfunction.function.sender", "{\"userData\":\"/w==\"}",
       "\xff|application/octet-stream"},
      /* a CloudEvent whose keys Dapr sorted: the type last; a line's end */
      {NULL,
       "{\"data\":{\"metadata\":{\"sw8\":\"x\"},\"userData\":\"aGk=\"},\"id\":\"1\","
       "\"specversion\":\"1.0\",\"type\":\"io.openfunction.function.ns.n\"}\r\n",
       "hi|text/plain; charset=utf-8"},
      /* not the envelope: left alone */
      {"io.openfunction.function.sender", "{\"userData\":\"aGk=\",\"metadata\":{}}", NULL},
      {NULL, "{\"a\":\"io.openfunction.function.x\"}", NULL},
      {NULL, "\"userData\":\"aGk=\"}", NULL},
      {"com.example.order", "{\"metadata\":{},\"userData\":\"aGVsbG8=\"}", NULL},
      {NULL, "{\"metadata\":{},\"userData\":\"aGVsbG8=\"}", NULL}, /* no inner type */
      {"io.openfunction.function.sender", "{\"userData\":\"not base64!\"}", NULL},
      {"io.openfunction.function.sender", "{\"userData\":\"aGVsbG8=\",\"more\":1,\"x\":2}", NULL},
      {"io.openfunction.function.sender", "{\"metadata\":\"sw8\",\"userData\":\"aGVsbG8=\"}", NULL},
      {"io.openfunction.function.sender", "{\"userData\":{\"a\":1}}", NULL},
      {"io.openfunction.function.sender", "the text \"userData\" in plain text", NULL},
      {NULL, "{\"specversion\":\"1.0\",\"type\":\"other\",\"data\":{\"userData\":\"aGk=\"}}", NULL},
  };
  char out[256], plain[256];

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ofctx__unwrap_t rc = unwrap(cases[i].type, cases[i].data, out, sizeof out);
    snprintf(plain, sizeof plain, "%s|", cases[i].data);
    if (cases[i].seen) {
      assert_int_equal(rc, OFCTX__UNWRAP_DONE);
      assert_string_equal(out, cases[i].seen);
    } else {
      if (rc != OFCTX__UNWRAP_NONE)
        fail_msg("case %zu was unwrapped: %s", i, out);
      assert_string_equal(out, plain);
    }
  }
}

int main(void) {
  static const struct CMUnitTest encode_tests[] = {
      cmocka_unit_test(encode_binary_headers), cmocka_unit_test(encode_binary_content_type),
      cmocka_unit_test(encode_generates_id),   cmocka_unit_test(encode_structured),
      cmocka_unit_test(encode_refuses),        cmocka_unit_test(encode_out_of_memory),
      cmocka_unit_test(round_trips),           cmocka_unit_test(envelopes),
      cmocka_unit_test(go_envelope),
  };
  int failed;

  json_set_alloc_funcs(counting_malloc, counting_free);
  failed = run_folder("cloudevents_valid", OFCTX_TEST_DATA "/cloudevents/valid", valid_case, 25);
  failed +=
      run_folder("cloudevents_invalid", OFCTX_TEST_DATA "/cloudevents/invalid", invalid_case, 30);
  failed += cmocka_run_group_tests_name("cloudevents_encode", encode_tests, NULL, NULL);
  return failed ? 1 : 0;
}
