/* The RFC 8259 scanner: what is JSON and what is not, nesting without
 * limit, member walks and string decoding; jansson, where it can represent
 * a document, agrees on every case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "json_scan.h"
#include "mem.h"

static const char *const valid[] = {"0",
                                    "-0",
                                    "1",
                                    "-1",
                                    "123",
                                    "1.5",
                                    "-1.5e10",
                                    "1E+2",
                                    "1e-2",
                                    "0.0",
                                    "1e999",
                                    "-1e999",
                                    "123456789012345678901234567890",
                                    "-123456789012345678901234567890",
                                    "true",
                                    "false",
                                    "null",
                                    "\"\"",
                                    "\"a\"",
                                    "\"\\u0000\"",
                                    "\"\\ud800\"",
                                    "\"\\udc00\\ud800\"",
                                    "\"\\ud83d\\ude00\"",
                                    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                                    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
                                    "\"\x7f\xc2\x80\"",
                                    "[]",
                                    "{}",
                                    "[1,2,3]",
                                    "{\"a\":1,\"b\":[true,null]}",
                                    " \t\r\n1 \t\r\n",
                                    "[ ]",
                                    "{ }",
                                    "{\"a\" : 1 , \"a\" : 2}",
                                    "[[[[[]]]]]",
                                    "{\"\":\"\"}",
                                    "[\"\\u00e9\"]"};

static const char *const invalid[] = {"",
                                      " ",
                                      "01",
                                      "-",
                                      "1.",
                                      ".1",
                                      "1e",
                                      "1e+",
                                      "+1",
                                      "0x1",
                                      "NaN",
                                      "Infinity",
                                      "-Infinity",
                                      "tru",
                                      "truee",
                                      "nul",
                                      "'a'",
                                      "\"",
                                      "\"\\\"",
                                      "\"\\x\"",
                                      "\"\\u12\"",
                                      "\"\\u12g4\"",
                                      "\"\t\"",
                                      "\"\n\"",
                                      "\"\x01\"",
                                      "\"\xff\"",
                                      "\"\xc0\xaf\"",
                                      "\"\xed\xa0\x80\"",
                                      "\"\xe2\x82\"",
                                      "[",
                                      "]",
                                      "[1,]",
                                      "[,1]",
                                      "[1 2]",
                                      "{\"a\"}",
                                      "{\"a\":}",
                                      "{a:1}",
                                      "{\"a\":1,}",
                                      "{,}",
                                      "{\"a\" 1}",
                                      "1 2",
                                      "[]]",
                                      "{}}",
                                      "\xef\xbb\xbf{}",
                                      "[1]x",
                                      "//",
                                      "\"a\"\"b\"",
                                      "[\"a\" \"b\"]",
                                      "\0131",
                                      "1\x0c"};

static void decisions(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
    if (!ofctx__json_valid(valid[i], strlen(valid[i])))
      fail_msg("refused: %s", valid[i]);
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
    if (ofctx__json_valid(invalid[i], strlen(invalid[i])))
      fail_msg("taken: %s", invalid[i]);
  /* a NUL byte is never JSON, wherever it stands */
  assert_false(ofctx__json_valid("[1]\0", 4));
  assert_false(ofctx__json_valid("\"a\0\"", 4));
  assert_true(ofctx__json_valid("[1]", 3));
}

/* Every case jansson can load, it loads the same way: where they differ, it
 * is one of the documents jansson cannot represent. */
static void jansson_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
    json_t *v = json_loadb(invalid[i], strlen(invalid[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v)
      fail_msg("jansson takes what the scanner refuses: %s", invalid[i]);
  }
  for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
    json_error_t err;
    json_t *v = json_loadb(valid[i], strlen(valid[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    int beyond = json_error_code(&err) == json_error_numeric_overflow ||
                 strstr(err.text, "invalid Unicode") != NULL;
    if (!v && !beyond)
      fail_msg("jansson refuses %s: %s", valid[i], err.text);
    json_decref(v);
  }
}

/* Nesting costs no stack: a million levels are read, and the one that does
 * not close is refused. */
static void deep_nesting(void **state) {
  size_t depth = 1000000;
  char *text = malloc(2 * depth + 1);
  (void)state;

  memset(text, '[', depth);
  memset(text + depth, ']', depth);
  assert_true(ofctx__json_valid(text, 2 * depth));
  assert_false(ofctx__json_valid(text, 2 * depth - 1));
  for (size_t i = 0; i < depth; i++) /* {"a":{"a":...}} is an object each level */
    text[i] = i % 2 ? '{' : '[';
  assert_false(ofctx__json_valid(text, 2 * depth));
  free(text);
  text = malloc(6 * 3000 + 10);
  size_t n = 0;
  for (int i = 0; i < 3000; i++)
    n += (size_t)sprintf(text + n, "{\"a\":");
  n += (size_t)sprintf(text + n, "1");
  for (int i = 0; i < 3000; i++)
    text[n++] = '}';
  assert_true(ofctx__json_valid(text, n));
  text[n - 1] = ']';
  assert_false(ofctx__json_valid(text, n));
  free(text);
}

static void value_length(void **state) {
  (void)state;
  assert_int_equal(ofctx__json_value_len("{\"a\":[1, 2]} tail", 17), 12);
  assert_int_equal(ofctx__json_value_len("\"x\",", 4), 3);
  assert_int_equal(ofctx__json_value_len("12,", 3), 2);
  assert_int_equal(ofctx__json_value_len(" 1", 2), 0); /* white space first: no value */
  assert_int_equal(ofctx__json_value_len("[1", 2), 0);
}

typedef struct {
  ofctx__buf_t seen;
} walk_t;

static int note(void *arg, const char *key, size_t key_len, const char *value, size_t value_len) {
  walk_t *w = arg;
  ofctx__json_string_decode(&w->seen, key, key_len);
  ofctx__buf_puts(&w->seen, "=");
  ofctx__buf_append(&w->seen, value, value_len);
  ofctx__buf_puts(&w->seen, ";");
  return value_len == 4 && memcmp(value, "stop", 4) == 0;
}

static void members(void **state) {
  static const char doc[] = " { \"a\" : 1e999 , \"b\\u00e9\":{\"x\": [1,\n2]},\"a\":\"\\ud800\" } ";
  walk_t w = {{0}};
  (void)state;

  assert_int_equal(ofctx__json_members(doc, sizeof doc - 1, note, &w), 0);
  assert_string_equal(w.seen.data, "a=1e999;b\xc3\xa9={\"x\": [1,\n2]};a=\"\\ud800\";");
  ofctx__buf_free(&w.seen);
  assert_int_equal(ofctx__json_members("[1]", 3, note, &w), -2);
  assert_int_equal(ofctx__json_members("{\"a\":}", 6, note, &w), -1);
  assert_int_equal(ofctx__json_members("{}", 2, note, &w), 0);
  assert_int_equal(w.seen.len, 0);
  ofctx__buf_free(&w.seen);
}

static int note_element(void *arg, const char *value, size_t value_len) {
  walk_t *w = arg;
  ofctx__buf_append(&w->seen, value, value_len);
  ofctx__buf_puts(&w->seen, ";");
  return value_len == 6 && memcmp(value, "\"stop\"", 6) == 0;
}

/* Arrays, and the walks of text already known to be JSON, which agree with
 * the checked ones on every valid text. */
static void elements_and_valid_walks(void **state) {
  static const char list[] = " [ 1 , {\"a\":[2,3]} ,\"x\", [] , \"stop\", 9 ] ";
  static const char doc[] = "{\"a\":1,\"b\":{\"c\":[1,2]},\"d\":\"e\"}";
  walk_t w = {{0}}, v = {{0}};
  (void)state;

  assert_int_equal(ofctx__json_elements(list, sizeof list - 1, note_element, &w), 1);
  assert_string_equal(w.seen.data, "1;{\"a\":[2,3]};\"x\";[];\"stop\";");
  assert_int_equal(ofctx__json_elements_valid(list, sizeof list - 1, note_element, &v), 1);
  assert_string_equal(v.seen.data, w.seen.data);
  ofctx__buf_free(&w.seen);
  ofctx__buf_free(&v.seen);
  assert_int_equal(ofctx__json_elements("{}", 2, note_element, &w), -2);
  assert_int_equal(ofctx__json_elements("[1,]", 4, note_element, &w), -1);
  assert_int_equal(ofctx__json_elements_valid("{}", 2, note_element, &w), -2);
  assert_int_equal(ofctx__json_elements_valid("[]", 2, note_element, &w), 0);
  assert_int_equal(ofctx__json_members(doc, sizeof doc - 1, note, &w), 0);
  assert_int_equal(ofctx__json_members_valid(doc, sizeof doc - 1, note, &v), 0);
  assert_string_equal(v.seen.data, w.seen.data);
  assert_int_equal(ofctx__json_members_valid("[1]", 3, note, &v), -2);
  assert_int_equal(ofctx__json_members_valid("", 0, note, &v), -2);
  ofctx__buf_free(&w.seen);
  ofctx__buf_free(&v.seen);
  /* the unchecked walk steps over strings by their quotes: escaped quotes,
   * backslash runs before a quote, brackets inside strings, scalars at a
   * delimiter, white space everywhere */
  {
    static const char tricky[] =
        "{ \"a\\\"b\" : \"x\\\\\" , \"c\":[\"]\\\"\",{\"d\":\"}\\\\\\\"\"}],\"e\" :-1.5e3 ,"
        "\"f\":true,\"g\":null\n,\"h\":\"\xc3\xa9{\"}";
    walk_t a = {{0}}, b = {{0}};
    assert_int_equal(ofctx__json_members(tricky, sizeof tricky - 1, note, &a), 0);
    assert_int_equal(ofctx__json_members_valid(tricky, sizeof tricky - 1, note, &b), 0);
    assert_string_equal(a.seen.data, b.seen.data);
    ofctx__buf_free(&b.seen);
    /* a map of the text's containers gives the same walks */
    {
      ofctx__json_map_t map;
      assert_int_equal(ofctx__json_map(&map, tricky, sizeof tricky - 1), 1);
      assert_int_equal(map.count, 3); /* the object, the array, the object in it */
      assert_int_equal(ofctx__json_members_in(&map, tricky, sizeof tricky - 1, note, &b), 0);
      assert_string_equal(a.seen.data, b.seen.data);
      ofctx__json_map_free(&map);
      assert_int_equal(ofctx__json_map(&map, "{\"a\":[1,", 8), 0);
      ofctx__json_map_free(&map);
    }
    ofctx__buf_free(&a.seen);
    ofctx__buf_free(&b.seen);
    assert_int_equal(ofctx__json_elements("[\"\\\\\",-0,[[]],{\"]\":1}]", 22, note_element, &a), 0);
    assert_int_equal(
        ofctx__json_elements_valid("[\"\\\\\",-0,[[]],{\"]\":1}]", 22, note_element, &b), 0);
    assert_string_equal(a.seen.data, b.seen.data);
    ofctx__buf_free(&a.seen);
    ofctx__buf_free(&b.seen);
  }
}

/* Strings are read sixteen bytes at a time (with SSE2), then eight, then
 * one: whatever needs a closer look (a control character, a backslash, a
 * quote, a byte past ASCII) is seen at every offset of each size of block,
 * and in the tail after the last whole block. */
static void strings_by_blocks(void **state) {
  static const struct {
    const char *bytes;
    int valid;
  } odd[] = {{"\x01", 0}, {"\x1f", 0}, {"\x7f", 1},    {"\xc3\xa9", 1}, {"\xc3", 0},
             {"\xff", 0}, {"\\n", 1},  {"\\u00e9", 1}, {"\\x", 0},      {"\\\"", 1}};
  char doc[128];
  (void)state;

  for (size_t n = 0; n < 40; n++)
    for (size_t at = 0; at <= n; at++)
      for (size_t k = 0; k < sizeof odd / sizeof *odd; k++) {
        walk_t w = {{0}};
        int len = snprintf(doc, sizeof doc, "{\"k\":\"%.*s%s%.*s\",\"z\":1}", (int)at,
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", odd[k].bytes, (int)(n - at),
                           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        if (ofctx__json_valid(doc, (size_t)len) != odd[k].valid)
          fail_msg("%s: taken %d", doc, !odd[k].valid);
        if (!odd[k].valid)
          continue;
        /* the walk of valid text finds where the string ends */
        assert_int_equal(ofctx__json_members_valid(doc, (size_t)len, note, &w), 0);
        if (strcmp(w.seen.data + w.seen.len - 4, "z=1;") != 0)
          fail_msg("%s: the walk saw %s", doc, w.seen.data);
        ofctx__buf_free(&w.seen);
      }
}

/* Past the depth a map keeps, containers are stepped over as before: the
 * walks of a map agree with the walks without one at every depth. */
static void maps_past_their_depth(void **state) {
  char doc[256];
  (void)state;

  for (int depth = 1; depth < 14; depth++) {
    ofctx__json_map_t map;
    walk_t a = {{0}}, b = {{0}};
    int n = snprintf(doc, sizeof doc, "{\"k\":");
    for (int d = 0; d < depth; d++)
      n += snprintf(doc + n, sizeof doc - (size_t)n, d % 2 ? "[ " : "{\"x\":");
    n += snprintf(doc + n, sizeof doc - (size_t)n, "\"}]\"");
    for (int d = depth - 1; d >= 0; d--)
      n += snprintf(doc + n, sizeof doc - (size_t)n, d % 2 ? "]" : "}");
    n += snprintf(doc + n, sizeof doc - (size_t)n, ",\"z\":[{}]}");
    assert_int_equal(ofctx__json_map(&map, doc, (size_t)n), 1);
    /* the outer object, "z" and the object in it, and the chain's levels
     * down to the map's depth */
    assert_int_equal(map.count,
                     3 + (depth < OFCTX__JSON_MAP_DEPTH - 1 ? depth : OFCTX__JSON_MAP_DEPTH - 1));
    assert_int_equal(ofctx__json_members_valid(doc, (size_t)n, note, &a), 0);
    assert_int_equal(ofctx__json_members_in(&map, doc, (size_t)n, note, &b), 0);
    assert_string_equal(a.seen.data, b.seen.data);
    ofctx__buf_free(&a.seen);
    ofctx__buf_free(&b.seen);
    ofctx__json_map_free(&map);
  }
}

/* Base64 in a string token, with and without JSON escapes in it. */
static void base64_tokens(void **state) {
  char *out = NULL;
  size_t n = 0;
  (void)state;

  assert_int_equal(ofctx__json_base64("\"aGk=\"", 6, &out, &n), OFCTX_OK);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "hi\0", 3);
  ofctx__free(out);
  assert_int_equal(ofctx__json_base64("\"aGk\\u003d\"", 11, &out, &n), OFCTX_OK); /* "=" escaped */
  assert_memory_equal(out, "hi", 2);
  ofctx__free(out);
  assert_int_equal(ofctx__json_base64("\"\\/w==\"", 7, &out, &n), OFCTX_OK); /* "/" escaped */
  assert_memory_equal(out, "\xff", 1);
  ofctx__free(out);
  assert_int_equal(ofctx__json_base64("\"a@k=\"", 6, &out, &n), OFCTX_EINVAL);
  assert_null(out);
  assert_int_equal(ofctx__json_base64("\"\\u0040\"", 8, &out, &n), OFCTX_EINVAL);
}

static void strings(void **state) {
  static const struct {
    const char *token;
    size_t len;
    const char *chars;
    size_t chars_len;
  } rows[] = {
      {"\"\"", 2, "", 0},
      {"\"abc\"", 5, "abc", 3},
      {"\"a\\u0000b\"", 10, "a\0b", 3},
      {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 18, "\"\\/\b\f\n\r\t", 8},
      {"\"\\u00e9\\u20ac\"", 14, "\xc3\xa9\xe2\x82\xac", 5},
      {"\"\\ud83d\\ude00\"", 14, "\xf0\x9f\x98\x80", 4},
      {"\"\\ud800x\"", 9, "\xef\xbf\xbdx", 4},           /* lone high surrogate */
      {"\"\\udc00\"", 8, "\xef\xbf\xbd", 3},             /* lone low surrogate */
      {"\"\\ud800\\u0041\"", 14, "\xef\xbf\xbd\x41", 4}, /* high then no low */
      {"\"\\ud800\\ud800\\udc00\"", 20, "\xef\xbf\xbd\xf0\x90\x80\x80", 7},
      {"\"\xc3\xa9\"", 4, "\xc3\xa9", 2},
  };
  (void)state;

  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    ofctx__buf_t out = {0};
    assert_int_equal(ofctx__json_value_len(rows[i].token, rows[i].len), rows[i].len);
    ofctx__json_string_decode(&out, rows[i].token, rows[i].len);
    assert_false(out.failed);
    assert_int_equal(out.len, rows[i].chars_len);
    if (rows[i].chars_len)
      assert_memory_equal(out.data, rows[i].chars, rows[i].chars_len);
    ofctx__buf_free(&out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decisions),
      cmocka_unit_test(jansson_agrees),
      cmocka_unit_test(deep_nesting),
      cmocka_unit_test(value_length),
      cmocka_unit_test(members),
      cmocka_unit_test(elements_and_valid_walks),
      cmocka_unit_test(strings),
      cmocka_unit_test(strings_by_blocks),
      cmocka_unit_test(maps_past_their_depth),
      cmocka_unit_test(base64_tokens),
  };
  return cmocka_run_group_tests_name("json_scan", tests, NULL, NULL);
}
