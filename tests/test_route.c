/* The Knative runtime's route (libofctx/route.c), table-driven: patterns
 * that compile and how many parameters they have, patterns that are refused
 * and why, and request paths that match (with their decoded parameters) or
 * do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "route.h"

static const struct {
  const char *pattern;
  size_t params;
} good_patterns[] = {
    {"/", 0},
    {"/http", 0},
    {"/http/", 0},
    {"/a//b", 0},
    {"/hello/{name}", 1},
    {"/a/{x}/b/{y}", 2},
    {"/{A_b9}", 1},
    {"/id/{id:[0-9]+}", 1},
    {"/v/{v:[a-z]{2}}", 1}, /* braces inside the regex */
    {"/v/{v:a|ab}", 1},
    {"/u/{u:\\p{L}+}", 1},
    {"/f/{p:[^/]+\\.txt}", 1}, /* a '/' inside braces does not end the segment */
    {"/c/{c:.}/{d}/{e:x{1,3}}", 3},
};

static const struct {
  const char *pattern;
  const char *why; /* a part of the message */
} bad_patterns[] = {
    {"", "it must start with \"/\""},
    {"hello", "it must start with \"/\""},
    {"hello/{name}", "it must start with \"/\""},
    {"/{}", "a parameter's name is letters, digits and '_', not starting with a digit"},
    {"/{1x}", "a parameter's name is letters"},
    {"/{a-b}", "a parameter's name is letters"},
    {"/{:[0-9]+}", "a parameter's name is letters"},
    {"/{a}/{a}", "a parameter's name appears twice"},
    {"/{a}/{a:[0-9]+}", "a parameter's name appears twice"},
    {"/a{b}", "a {parameter} must be a whole segment"},
    {"/{a}b", "a {parameter} must be a whole segment"},
    {"/x/a{b}c", "a {parameter} must be a whole segment"},
    {"/a}b", "its braces do not pair up"},
    {"/{a", "its braces do not pair up"},
    {"/{a}}", "its braces do not pair up"},
    {"/{a:[0-9]+", "its braces do not pair up"},
    {"/{a:x{2}", "its braces do not pair up"},
    {"/{a:}", "a {name:regex} parameter with an empty regex"},
    {"/{a:[0-9}", "the regex of {a} does not compile"},
    {"/{a:(}", "the regex of {a} does not compile"},
    {"/x/{b:*}", "the regex of {b} does not compile"},
};

static const struct {
  const char *pattern;
  const char *path;
  int matches;
  const char *params; /* JSON; NULL for {} */
} paths[] = {
    {"/", "/", 1, NULL},
    {"/", "/foo", 0, NULL},
    {"/", "", 0, NULL},
    {"/", "//", 0, NULL},
    {"/http", "/http", 1, NULL},
    {"/http", "/http/", 0, NULL},
    {"/http/", "/http", 0, NULL},
    {"/http/", "/http/", 1, NULL},
    {"/http", "/HTTP", 0, NULL},
    {"/http", "/ht%74p", 1, NULL}, /* literals are compared after decoding */
    {"/http", "/http%00", 0, NULL},
    {"/a//b", "/a//b", 1, NULL},
    {"/a//b", "/a/b", 0, NULL},
    {"/hello/{name}", "/hello/world", 1, "{\"name\": \"world\"}"},
    {"/hello/{name}", "/hello/J%C3%BCrgen", 1, "{\"name\": \"J\\u00fcrgen\"}"},
    {"/hello/{name}", "/hello/a%2Fb", 1, "{\"name\": \"a/b\"}"},
    {"/hello/{name}", "/hello/a%2fb%3F", 1, "{\"name\": \"a/b?\"}"},
    {"/hello/{name}", "/hello/a%20b+c", 1, "{\"name\": \"a b+c\"}"},
    {"/hello/{name}", "/hello/%2541", 1, "{\"name\": \"%41\"}"}, /* one round of decoding */
    {"/hello/{name}", "/hello/", 0, NULL},
    {"/hello/{name}", "/hello", 0, NULL},
    {"/hello/{name}", "/hello/a/", 0, NULL},
    {"/hello/{name}", "/hello/a/b", 0, NULL},
    {"/hello/{name}", "/Hello/a", 0, NULL},
    {"/hello/{name}", "/hello/a%zz", 0, NULL},
    {"/hello/{name}", "/hello/a%2", 0, NULL},
    {"/hello/{name}", "/hello/%g1", 0, NULL},
    {"/hello/{name}", "/hello/%", 0, NULL},
    {"/hello/{name}", "/hello/a%00b", 0, NULL},
    {"/hello/{name}", "/hello/%FF", 0, NULL},    /* not UTF-8 */
    {"/hello/{name}", "/hello/%C0%A0", 0, NULL}, /* overlong UTF-8 */
    {"/a/{x}/b/{y}", "/a/1/b/2", 1, "{\"x\": \"1\", \"y\": \"2\"}"},
    {"/a/{x}/b/{y}", "/a/1/c/2", 0, NULL}, /* x matched before the failure: not kept */
    {"/a/{x}/b/{y}", "/a/1/b/", 0, NULL},
    {"/id/{id:[0-9]+}", "/id/42", 1, "{\"id\": \"42\"}"},
    {"/id/{id:[0-9]+}", "/id/%34%32", 1, "{\"id\": \"42\"}"}, /* the regex sees decoded text */
    {"/id/{id:[0-9]+}", "/id/42a", 0, NULL},                  /* anchored at the end */
    {"/id/{id:[0-9]+}", "/id/a42", 0, NULL},                  /* and at the start */
    {"/id/{id:[0-9]+}", "/id/", 0, NULL},
    {"/v/{v:[a-z]{2}}", "/v/ab", 1, "{\"v\": \"ab\"}"},
    {"/v/{v:[a-z]{2}}", "/v/abc", 0, NULL},
    {"/v/{v:[a-z]{2}}", "/v/a", 0, NULL},
    {"/v/{v:a|ab}", "/v/ab", 1, "{\"v\": \"ab\"}"}, /* the whole alternation is anchored */
    {"/v/{v:a|ab}", "/v/a", 1, "{\"v\": \"a\"}"},
    {"/v/{v:a|ab}", "/v/abab", 0, NULL},
    {"/v/{v:a|ab}", "/v/ba", 0, NULL},
    {"/u/{u:\\p{L}+}", "/u/J%C3%BCrgen", 1, "{\"u\": \"J\\u00fcrgen\"}"},
    {"/u/{u:\\p{L}+}", "/u/J1", 0, NULL},
    {"/c/{c:.}/{d}/{e:x{1,3}}", "/c/%C3%BC/d/xxx", 1,
     "{\"c\": \"\\u00fc\", \"d\": \"d\", \"e\": \"xxx\"}"}, /* '.' is one code point */
    {"/c/{c:.}/{d}/{e:x{1,3}}", "/c/%FF/d/x", 0, NULL},
    {"/c/{c:.}/{d}/{e:x{1,3}}", "/c/a/d/xxxx", 0, NULL},
    {"/f/{p:[^/]+\\.txt}", "/f/notes.txt", 1, "{\"p\": \"notes.txt\"}"},
    {"/f/{p:[^/]+\\.txt}", "/f/a%2Fb.txt", 0, NULL}, /* %2F is a '/' for the regex */
    {"/x/{a:.*}", "/x/", 0, NULL},                   /* a parameter is never empty */
};

static void patterns_compile(void **state) {
  for (size_t i = 0; i < sizeof good_patterns / sizeof good_patterns[0]; i++) {
    ofctx__route_t *r = NULL;
    ofctx_error_t err;
    if (ofctx__route_compile(&r, good_patterns[i].pattern, &err) != 0)
      fail_msg("%s: %s", good_patterns[i].pattern, err.message);
    assert_non_null(r);
    if (ofctx__route_param_count(r) != good_patterns[i].params)
      fail_msg("%s: %zu parameters, expected %zu", good_patterns[i].pattern,
               ofctx__route_param_count(r), good_patterns[i].params);
    ofctx__route_free(r);
  }
}

static void patterns_refused(void **state) {
  for (size_t i = 0; i < sizeof bad_patterns / sizeof bad_patterns[0]; i++) {
    ofctx__route_t *r = (ofctx__route_t *)&r; /* must be reset to NULL */
    ofctx_error_t err;
    char prefix[128];
    if (ofctx__route_compile(&r, bad_patterns[i].pattern, &err) != OFCTX_EINVAL)
      fail_msg("%s: compiled", bad_patterns[i].pattern);
    assert_null(r);
    /* The message names the pattern, then says what is wrong with it. */
    snprintf(prefix, sizeof prefix, "\"%s\": ", bad_patterns[i].pattern);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
        !strstr(err.message, bad_patterns[i].why))
      fail_msg("%s: the message \"%s\" is not \"%s...%s...\"", bad_patterns[i].pattern, err.message,
               prefix, bad_patterns[i].why);
  }
}

/* The detail is optional; when given, it says the code returned, and
 * nothing after a success. */
static void error_detail(void **state) {
  ofctx__route_t *r;
  ofctx_error_t err;

  assert_int_equal(ofctx__route_compile(&r, "/{a}/{a}", NULL), OFCTX_EINVAL);
  assert_null(r);
  assert_int_equal(ofctx__route_compile(&r, "/{a}/{a}", &err), OFCTX_EINVAL);
  assert_int_equal(err.code, OFCTX_EINVAL);
  assert_int_equal(ofctx__route_compile(&r, "/{a}", &err), OFCTX_OK);
  assert_int_equal(err.code, OFCTX_OK);
  assert_string_equal(err.message, "");
  ofctx__route_free(r);
}

static void paths_match(void **state) {
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    ofctx__route_t *r;
    ofctx_error_t err;
    json_t *params = json_object(), *want;
    json_error_t jerr;
    int rc;

    if (ofctx__route_compile(&r, paths[i].pattern, &err) != 0)
      fail_msg("%s: %s", paths[i].pattern, err.message);
    want = json_loads(paths[i].params ? paths[i].params : "{}", 0, &jerr);
    assert_non_null(want);
    rc = ofctx__route_match(r, paths[i].path, params);
    if (rc != paths[i].matches || !json_equal(params, want)) {
      char *got = json_dumps(params, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
      fail_msg("%s against %s: expected %d %s, got %d %s", paths[i].pattern, paths[i].path,
               paths[i].matches, paths[i].params ? paths[i].params : "{}", rc,
               got ? got : "(a parameter jansson cannot write)");
    }
    json_decref(want);
    json_decref(params);
    ofctx__route_free(r);
  }
}

/* One compiled route serves request after request: nothing of one match
 * (its parameters, its decoding buffer) carries over to the next. */
static void route_reused(void **state) {
  ofctx__route_t *r;
  ofctx_error_t err;
  json_t *params = json_object();

  assert_int_equal(ofctx__route_compile(&r, "/a/{x}/b/{y:[0-9]+}", &err), 0);
  assert_int_equal(ofctx__route_match(r, "/a/long%20value/b/1", params), 1);
  assert_string_equal(json_string_value(json_object_get(params, "x")), "long value");
  assert_string_equal(json_string_value(json_object_get(params, "y")), "1");
  json_object_clear(params);
  assert_int_equal(ofctx__route_match(r, "/a/s/b/x", params), 0);
  assert_int_equal(json_object_size(params), 0);
  assert_int_equal(ofctx__route_match(r, "/a/s/b/22", params), 1);
  assert_string_equal(json_string_value(json_object_get(params, "x")), "s");
  assert_string_equal(json_string_value(json_object_get(params, "y")), "22");
  assert_int_equal(json_object_size(params), 2);
  json_decref(params);
  ofctx__route_free(r);
  ofctx__route_free(NULL); /* a no-op */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(patterns_compile), cmocka_unit_test(patterns_refused),
      cmocka_unit_test(error_detail),     cmocka_unit_test(paths_match),
      cmocka_unit_test(route_reused),
  };
  return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
