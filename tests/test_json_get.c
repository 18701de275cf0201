/* ofctx/json.h: values found at paths of a JSON text, where they stand. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>

#include <cmocka.h>
#include <jansson.h>

#include "comma_locale.h"
#include "ofctx/ofctx.h"

/* The value at the dotted `path` of `text` as a NUL-terminated copy (for
 * comparing), or NULL when not found; fails the test on any other code. */
static char *get(const char *text, const char *path) {
  const char *v = (const char *)1;
  size_t n = 99;
  ofctx_err_t rc = ofctx_json_get(text, strlen(text), path, &v, &n);
  char *copy;

  if (rc == OFCTX_ENOTFOUND) {
    assert_null(v);
    assert_int_equal(n, 0);
    return NULL;
  }
  assert_int_equal(rc, OFCTX_OK);
  assert_true(v >= text && v + n <= text + strlen(text));
  copy = malloc(n + 1);
  memcpy(copy, v, n);
  copy[n] = '\0';
  return copy;
}

static void expect(const char *text, const char *path, const char *want) {
  char *got = get(text, path);

  if (!want && got)
    fail_msg("%s in %s: found %s", path, text, got);
  if (want && (!got || strcmp(got, want) != 0))
    fail_msg("%s in %s: %s, not %s", path, text, got ? got : "(not found)", want);
  free(got);
}

static void found(void **state) {
  static const char doc[] =
      " {\"s\": \"x\" , \"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,"
      "\"o\":{ \"a\" : [1, {\"b\":2}] },\"arr\":[ 1 ,2],\"e\":{},\"\":\"empty\"}\n";
  (void)state;

  expect(doc, "s", "\"x\"");
  expect(doc, "n", "-1.5e3");
  expect(doc, "t", "true");
  expect(doc, "f", "false");
  expect(doc, "z", "null");
  expect(doc, "o", "{ \"a\" : [1, {\"b\":2}] }");
  expect(doc, "o.a", "[1, {\"b\":2}]");
  expect(doc, "arr", "[ 1 ,2]");
  expect(doc, "e", "{}");
  expect(" {\"a\":1}\n", "", "{\"a\":1}"); /* the whole value, less white space */
  expect("[1]", "", "[1]");
  expect(" 7 ", "", "7");
  expect("{\"\":{\"\":1}}", ".", "1"); /* empty names between dots */
}

static void not_found(void **state) {
  static const char doc[] = "{\"a\":{\"b\":\"x\"},\"s\":\"str\",\"l\":[{\"b\":1}],\"z\":null}";
  (void)state;

  expect(doc, "missing", NULL);
  expect(doc, "a.c", NULL);
  expect(doc, "a.b.c", NULL); /* through a string */
  expect(doc, "s.x", NULL);
  expect(doc, "z.x", NULL);
  expect(doc, "A", NULL); /* names are case-sensitive */
  expect(doc, "a.B", NULL);
  expect("[{\"a\":1}]", "a", NULL); /* the root is no object */
  expect("\"a\"", "a", NULL);
}

/* Arrays are not indexed: a path meets an array only as its last value. */
static void arrays_not_indexed(void **state) {
  static const char doc[] = "{\"l\":[{\"b\":1},{\"b\":2}],\"m\":{\"0\":\"zero\"}}";
  (void)state;

  expect(doc, "l.0", NULL);
  expect(doc, "l.b", NULL);
  expect(doc, "l.0.b", NULL);
  expect(doc, "m.0", "\"zero\""); /* a member named "0" is a name like any */
}

static void nested(void **state) {
  static const char doc[] = "{\"a\":{\"b\":{\"c\":{\"d\":\"deep\"},\"c2\":3},\"x\":[\"}\",\"{\"]},"
                            "\"b\":{\"c\":\"top\"},\"k\":{\"a\":{\"b\":\"other\"}}}";
  (void)state;

  expect(doc, "a.b.c.d", "\"deep\"");
  expect(doc, "a.b.c2", "3");
  expect(doc, "b.c", "\"top\"");
  expect(doc, "k.a.b", "\"other\"");
  expect(doc, "a.x", "[\"}\",\"{\"]");
  expect(doc, "a.b.d", NULL); /* "d" is deeper than a.b */
  expect("{\"a\":{},\"b\":2}", "a.b", NULL);
  expect("{\"a\":{ },\"b\":2}", "b", "2");
}

/* Names are compared decoded; the dotted form escapes its own dots. */
static void escaped_names(void **state) {
  static const char doc[] = "{\"a.b\":1,\"a\":{\"b\":2},\"caf\\u00e9\":3,\"q\\\"t\":4,"
                            "\"b\\\\s\":5,\"d\\u002ed\":6,\"nul\\u0000x\":7,\"\\ud83d\\ude00\":8,"
                            "\"lone\\ud800\":9}";
  const char *keys[] = {"a.b"}, *v;
  size_t n;
  (void)state;

  expect(doc, "a\\.b", "1");
  expect(doc, "a.b", "2");
  expect(doc, "caf\xc3\xa9", "3");
  expect(doc, "q\"t", "4");
  expect(doc, "b\\\\s", "5");
  expect(doc, "d\\.d", "6");
  expect(doc, "nul", NULL); /* a name holding NUL never matches */
  expect(doc, "\xf0\x9f\x98\x80", "8");
  expect(doc, "lone\xef\xbf\xbd", "9");
  assert_int_equal(ofctx_json_getv(doc, strlen(doc), keys, 1, &v, &n), OFCTX_OK);
  assert_memory_equal(v, "1", n);
  v = "x";
  assert_int_equal(ofctx_json_get(doc, strlen(doc), "a\\b", &v, &n), OFCTX_EINVAL);
  assert_null(v);
  assert_int_equal(ofctx_json_get(doc, strlen(doc), "a\\", &v, &n), OFCTX_EINVAL);
}

/* The value a path finds in `doc`, checked against jansson's tree. */
static void same_as_jansson(const char *doc, const char *const *keys, size_t nkeys) {
  json_t *root = json_loads(doc, 0, NULL), *at = root;
  const char *v;
  size_t n;
  ofctx_err_t rc = ofctx_json_getv(doc, strlen(doc), keys, nkeys, &v, &n);

  assert_non_null(root);
  for (size_t k = 0; k < nkeys; k++)
    at = json_object_get(at, keys[k]);
  if (!at) {
    if (rc != OFCTX_ENOTFOUND)
      fail_msg("%s: %s found, jansson has none", doc, keys[nkeys - 1]);
  } else {
    json_t *ours;
    assert_int_equal(rc, OFCTX_OK);
    ours = json_loadb(v, n, JSON_DECODE_ANY, NULL);
    if (!json_equal(ours, at))
      fail_msg("%s: %.*s, not as jansson", doc, (int)n, v);
    json_decref(ours);
  }
  json_decref(root);
}

/* An object holding a name twice: the last member counts, as in jansson. */
static void duplicates(void **state) {
  static const char *const docs[] = {
      "{\"a\":1,\"a\":2}",
      "{\"a\":{\"b\":1},\"a\":{\"c\":2}}",
      "{\"a\":{\"b\":1},\"a\":3}",
      "{\"a\":3,\"a\":{\"b\":1}}",
      "{\"a\":{\"b\":1,\"b\":{\"c\":5}},\"x\":0}",
      "{\"a\":{\"b\":{\"c\":1}},\"a\":{\"b\":[1]}}",
      "{\"a\":{\"b\":1},\"z\":{\"a\":{\"b\":9}},\"a\":{\"b\":2}}",
  };
  static const char *const p1[] = {"a"}, *const p2[] = {"a", "b"}, *const p3[] = {"a", "c"},
                           *const p4[] = {"a", "b", "c"};
  (void)state;

  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    same_as_jansson(docs[i], p1, 1);
    same_as_jansson(docs[i], p2, 2);
    same_as_jansson(docs[i], p3, 2);
    same_as_jansson(docs[i], p4, 3);
  }
  expect("{\"a\":{\"b\":1},\"a\":{\"c\":2}}", "a.b", NULL);
  expect("{\"a\":{\"b\":1},\"a\":{\"b\":2}}", "a.b", "2");
}

/* Several paths in one pass, as the logs-handler reads a record. */
static void lookup_many(void **state) {
  static const char rec[] = "{\"@timestamp\":1629856477.226758,\"log\":\"GET / 200\\n\","
                            "\"kubernetes\":{\"pod_name\":\"p-1\",\"namespace_name\":\"web\","
                            "\"labels\":{\"app\":\"wp\",\"app.kubernetes.io/name\":\"x\"},"
                            "\"host\":\"n1\"}}";
  static const char *const ts[] = {"@timestamp"}, *const log[] = {"log"},
                           *const ns[] = {"kubernetes", "namespace_name"},
                           *const pod[] = {"kubernetes", "pod_name"},
                           *const labels[] = {"kubernetes", "labels"},
                           *const dotted[] = {"kubernetes", "labels", "app.kubernetes.io/name"},
                           *const none[] = {"kubernetes", "container_name"};
  ofctx_json_path_t paths[] = {{ts, 1, NULL, 0},   {log, 1, NULL, 0},    {ns, 2, NULL, 0},
                               {pod, 2, NULL, 0},  {labels, 2, NULL, 0}, {dotted, 3, NULL, 0},
                               {none, 2, NULL, 0}, {NULL, 0, NULL, 0}};
  ofctx_json_path_t many[40];
  (void)state;

  assert_int_equal(ofctx_json_lookup(rec, strlen(rec), paths, 8), OFCTX_OK);
  assert_memory_equal(paths[0].value, "1629856477.226758", paths[0].value_len);
  assert_int_equal(paths[1].value_len, strlen("\"GET / 200\\n\""));
  assert_memory_equal(paths[2].value, "\"web\"", paths[2].value_len);
  assert_memory_equal(paths[3].value, "\"p-1\"", paths[3].value_len);
  assert_int_equal(ofctx_json_type(paths[4].value, paths[4].value_len), OFCTX_JSON_OBJECT);
  assert_memory_equal(paths[5].value, "\"x\"", paths[5].value_len);
  assert_null(paths[6].value);
  assert_int_equal(paths[6].value_len, 0);
  assert_ptr_equal(paths[7].value, rec);
  assert_int_equal(paths[7].value_len, strlen(rec));

  /* more paths than the walk keeps on its stack */
  for (size_t i = 0; i < 40; i++)
    many[i] = (ofctx_json_path_t){i % 2 ? pod : ns, 2, NULL, 0};
  assert_int_equal(ofctx_json_lookup(rec, strlen(rec), many, 40), OFCTX_OK);
  for (size_t i = 0; i < 40; i++)
    assert_memory_equal(many[i].value, i % 2 ? "\"p-1\"" : "\"web\"", many[i].value_len);
  assert_int_equal(ofctx_json_lookup(rec, strlen(rec), NULL, 0), OFCTX_OK);
}

/* Text that is not JSON finds nothing, and every bad argument is refused. */
static void invalid(void **state) {
  static const char *const bad[] = {"",
                                    " ",
                                    "{",
                                    "{\"a\":1,}",
                                    "{\"a\" 1}",
                                    "{'a':1}",
                                    "{\"a\":01}",
                                    "{\"a\":1}x",
                                    "\xef\xbb\xbf{}",
                                    "{\"a\":\"\x01\"}",
                                    "{\"a\":\"\xff\"}",
                                    "[1,]",
                                    "{\"a\":tru}",
                                    "{\"a\":1}}"};
  static const char *const inner[] = {
      "{\"a\":{,\"b\":1}}", "{\"a\":{\"b\":1,}}",       "{\"a\":{\"b\" 1}}",
      "{\"a\":{\"b\":1}",   "{\"a\":{\"b\":1}}}",       "{\"a\":{\"b\":1}} x",
      "{\"a\":{\"b\":01}}", "{\"a\":{\"c\":[}}",        "{\"a\":{\"b\":1 \"c\":2}}",
      "{\"a\":{1:2}}",      "{\"a\":{\"b\":\"\x01\"}}", "{\"a\":{\"b\":1},\"c\":}"};
  static const char *const one[] = {"a"}, *const holed[] = {"a", NULL};
  ofctx_json_path_t p = {one, 1, NULL, 0};
  const char *v;
  size_t n;
  (void)state;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    v = "x";
    if (ofctx_json_get(bad[i], strlen(bad[i]), "a", &v, &n) != OFCTX_EINVAL || v)
      fail_msg("%s is taken", bad[i]);
  }
  /* the same inside an object a path walks into */
  for (size_t i = 0; i < sizeof inner / sizeof *inner; i++) {
    v = "x";
    if (ofctx_json_get(inner[i], strlen(inner[i]), "a.b", &v, &n) != OFCTX_EINVAL || v)
      fail_msg("%s is taken", inner[i]);
  }
  assert_int_equal(ofctx_json_get("{\"a\":1}\0", 8, "a", &v, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_get(NULL, 0, "a", &v, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_get("{}", 2, NULL, &v, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_get("{}", 2, "a", NULL, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_get("{}", 2, "a", &v, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_getv("{}", 2, NULL, 1, &v, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_getv("{\"a\":1}", 7, holed, 2, &v, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_lookup("{}", 2, NULL, 1), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_lookup("{", 1, &p, 1), OFCTX_EINVAL);
  assert_string_equal(ofctx_err_name(OFCTX_ENOTFOUND), "ENOTFOUND");
}

/* Nesting far past any C stack, walked into by a path as deep. */
static void deep(void **state) {
  size_t depth = 200000, len = 0;
  char *doc = malloc(depth * 6 + 16);
  const char **keys = malloc(depth * sizeof *keys);
  const char *v;
  size_t n;
  (void)state;

  for (size_t i = 0; i < depth; i++) {
    memcpy(doc + len, "{\"a\":", 5);
    len += 5;
    keys[i] = "a";
  }
  doc[len++] = '7';
  memset(doc + len, '}', depth);
  len += depth;
  assert_int_equal(ofctx_json_getv(doc, len, keys, depth, &v, &n), OFCTX_OK);
  assert_memory_equal(v, "7", n);
  assert_int_equal(ofctx_json_getv(doc, len, keys, depth - 1, &v, &n), OFCTX_OK);
  assert_memory_equal(v, "{\"a\":7}", n);
  assert_int_equal(ofctx_json_getv(doc, len - 1, keys, depth, &v, &n), OFCTX_EINVAL);
  /* an array as deep, stepped over */
  len = 0;
  memcpy(doc, "{\"l\":", 5);
  len = 5;
  memset(doc + len, '[', depth);
  len += depth;
  memset(doc + len, ']', depth);
  len += depth;
  memcpy(doc + len, ",\"k\":1}", 7);
  len += 7;
  assert_int_equal(ofctx_json_get(doc, len, "k", &v, &n), OFCTX_OK);
  assert_memory_equal(v, "1", n);
  free(keys);
  free(doc);
}

/* A large text: the member after 16 MB of others. */
static void huge(void **state) {
  size_t big = 16u << 20, len = 0;
  char *doc = malloc(big + 64);
  const char *v;
  size_t n;
  (void)state;

  len += (size_t)sprintf(doc, "{\"pad\":\"");
  memset(doc + len, 'x', big);
  len += big;
  len += (size_t)sprintf(doc + len, "\",\"k\":\"end\"}");
  assert_int_equal(ofctx_json_get(doc, len, "k", &v, &n), OFCTX_OK);
  assert_memory_equal(v, "\"end\"", n);
  assert_int_equal(ofctx_json_get(doc, len, "pad", &v, &n), OFCTX_OK);
  assert_int_equal(n, big + 2);
  free(doc);
}

static void strings(void **state) {
  static const char tok[] = "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000z\"";
  static const char want[] = "a\"b\\c/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";
  char buf[64];
  size_t n = 99;
  (void)state;

  assert_int_equal(ofctx_json_string(tok, strlen(tok), buf, sizeof buf, &n), OFCTX_OK);
  assert_int_equal(n, sizeof want - 1);
  assert_memory_equal(buf, want, sizeof want); /* its NUL too */
  assert_int_equal(ofctx_json_string("\"\\udc00x\"", 9, buf, sizeof buf, &n), OFCTX_OK);
  assert_string_equal(buf, "\xef\xbf\xbdx");
  assert_int_equal(ofctx_json_string("\"\"", 2, buf, 1, &n), OFCTX_OK);
  assert_string_equal(buf, "");
  /* the characters and their NUL fit exactly; a byte less does not */
  assert_int_equal(ofctx_json_string("\"\\u00e9\"", 8, buf, 3, &n), OFCTX_OK);
  assert_string_equal(buf, "\xc3\xa9");
  assert_int_equal(ofctx_json_string("\"\\u00e9\"", 8, buf, 2, &n), OFCTX_EINVAL);
  assert_string_equal(buf, "");
  assert_int_equal(n, 0);
  assert_int_equal(ofctx_json_string("\"abc\"", 5, buf, 3, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("\"abc\"", 5, buf, 0, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("\"abc\"", 5, NULL, 9, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("abc", 3, buf, sizeof buf, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("\"a\" ", 4, buf, sizeof buf, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("\"a", 2, buf, sizeof buf, &n), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string("\"\\x\"", 4, buf, sizeof buf, NULL), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_string(NULL, 0, buf, sizeof buf, NULL), OFCTX_EINVAL);
}

/* A number of at most 16 digits without an exponent is read without
 * strtod: the same double, bit for bit, as strtod gives, for numbers of 1
 * to 18 digits, the point anywhere, either sign (some past 2^53, which
 * strtod reads). */
static void plain_numbers_as_strtod(void **state) {
  static const char *const edges[] = {"0",
                                      "-0",
                                      "0.0",
                                      "9007199254740992",
                                      "9007199254740993",
                                      "9007199254740995",
                                      "1234567890123456.7",
                                      "0.1",
                                      "0.0000000000000001",
                                      "999999999999999.9"};
  unsigned r = 12345;
  char text[32];
  double d;
  (void)state;

  for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
    assert_int_equal(ofctx_json_number(edges[i], strlen(edges[i]), &d), OFCTX_OK);
    assert_memory_equal(&d, &(double){strtod(edges[i], NULL)}, sizeof d);
  }
  for (int n = 0; n < 20000; n++) {
    size_t digits, point, len = 0;
    r = r * 1103515245u + 12345u;
    digits = 1 + (r >> 8) % 18;
    point = (r >> 16) % (digits + 1); /* digits before the point; all: no point */
    if (r >> 31)
      text[len++] = '-';
    for (size_t k = 0; k < digits; k++) {
      r = r * 1103515245u + 12345u;
      if (k == point && k > 0)
        text[len++] = '.';
      /* no leading zero but a lone one before the point */
      text[len++] = (char)('0' + (k == 0 && point != 1 ? 1 + (r >> 16) % 9 : (r >> 16) % 10));
    }
    text[len] = '\0';
    assert_int_equal(ofctx_json_number(text, len, &d), OFCTX_OK);
    if (memcmp(&d, &(double){strtod(text, NULL)}, sizeof d) != 0)
      fail_msg("%s: %.17g, strtod %.17g", text, d, strtod(text, NULL));
  }
}

static void numbers(void **state) {
  double d = 1;
  int64_t i = 1;
  char longer[200];
  (void)state;

  assert_int_equal(ofctx_json_number("1629856477.226758", 17, &d), OFCTX_OK);
  assert_true(d == 1629856477.226758);
  assert_int_equal(ofctx_json_number("-0.5e-3", 7, &d), OFCTX_OK);
  assert_true(d == -0.5e-3);
  assert_int_equal(ofctx_json_number("1e999", 5, &d), OFCTX_EINVAL);
  assert_true(isinf(d));
  assert_int_equal(ofctx_json_number("1e-999", 6, &d), OFCTX_OK);
  assert_true(d == 0);
  assert_int_equal(ofctx_json_number("01", 2, &d), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_number("1.", 2, &d), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_number("\"1\"", 3, &d), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_number("1 ", 2, &d), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_number("1", 1, NULL), OFCTX_EINVAL);
  memset(longer, '0', sizeof longer);
  longer[0] = '1';
  longer[100] = '.';
  assert_int_equal(ofctx_json_number(longer, sizeof longer, &d), OFCTX_OK);
  assert_true(d == 1e99);

  assert_int_equal(ofctx_json_integer("-12", 3, &i), OFCTX_OK);
  assert_int_equal(i, -12);
  assert_int_equal(ofctx_json_integer("9223372036854775807", 19, &i), OFCTX_OK);
  assert_true(i == INT64_MAX);
  assert_int_equal(ofctx_json_integer("-9223372036854775808", 20, &i), OFCTX_OK);
  assert_true(i == INT64_MIN);
  assert_int_equal(ofctx_json_integer("9223372036854775808", 19, &i), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_integer("-9223372036854775809", 20, &i), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_integer("3.0", 3, &i), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_integer("3e0", 3, &i), OFCTX_EINVAL);
  assert_int_equal(ofctx_json_integer("-0", 2, &i), OFCTX_OK);
  assert_int_equal(i, 0);
  assert_int_equal(ofctx_json_integer("x", 1, &i), OFCTX_EINVAL);
}

static void types(void **state) {
  (void)state;
  assert_int_equal(ofctx_json_type("{}", 2), OFCTX_JSON_OBJECT);
  assert_int_equal(ofctx_json_type("[]", 2), OFCTX_JSON_ARRAY);
  assert_int_equal(ofctx_json_type("\"\"", 2), OFCTX_JSON_STRING);
  assert_int_equal(ofctx_json_type("-1", 2), OFCTX_JSON_NUMBER);
  assert_int_equal(ofctx_json_type("true", 4), OFCTX_JSON_TRUE);
  assert_int_equal(ofctx_json_type("false", 5), OFCTX_JSON_FALSE);
  assert_int_equal(ofctx_json_type("null", 4), OFCTX_JSON_NULL);
  assert_int_equal(ofctx_json_type("x", 1), OFCTX_JSON_INVALID);
  assert_int_equal(ofctx_json_type("{", 0), OFCTX_JSON_INVALID);
  assert_int_equal(ofctx_json_type(NULL, 3), OFCTX_JSON_INVALID);
}

/* Numbers whatever the decimal point of the locale a function set: those
 * read by strtod (an exponent, more than 16 digits) and the others. */
static void numbers_in_a_comma_locale(void **state) {
  double d;
  (void)state;

  assert_int_equal(ofctx_json_number("2.5", 3, &d), OFCTX_OK);
  assert_true(d == 2.5);
  assert_int_equal(ofctx_json_number("2.5e0", 5, &d), OFCTX_OK);
  assert_true(d == 2.5);
  assert_int_equal(ofctx_json_number("0.12345678901234567", 19, &d), OFCTX_OK);
  assert_true(d == 0.12345678901234567);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(found),
      cmocka_unit_test(not_found),
      cmocka_unit_test(arrays_not_indexed),
      cmocka_unit_test(nested),
      cmocka_unit_test(escaped_names),
      cmocka_unit_test(duplicates),
      cmocka_unit_test(lookup_many),
      cmocka_unit_test(invalid),
      cmocka_unit_test(deep),
      cmocka_unit_test(huge),
      cmocka_unit_test(strings),
      cmocka_unit_test(numbers),
      cmocka_unit_test(plain_numbers_as_strtod),
      cmocka_unit_test_setup_teardown(numbers_in_a_comma_locale, comma_locale_setup,
                                      comma_locale_teardown),
      cmocka_unit_test(types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
