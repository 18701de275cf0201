/* strmap.c: the read-only maps and lists as views over a jansson
 * document: the document's order, exact keys, bounds, NULL, empty, and
 * out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ofctx/alloc.h"
#include "strmap_impl.h"

static json_t *parse(const char *text) {
  json_error_t jerr;
  json_t *v = json_loads(text, 0, &jerr);
  if (!v)
    fail_msg("%s: %s", text, jerr.text);
  return v;
}

/* A map keeps the document's order, finds keys exactly, and views the
 * document's strings rather than copying them. */
static void map_view(void **state) {
  json_t *doc = parse("{\"b\":\"2\",\"a\":\"1\",\"B\":\"3\",\"\":\"empty\"}");
  ofctx_strmap_t map;

  (void)state;
  assert_int_equal(ofctx__strmap_view(&map, doc), OFCTX_OK);
  assert_int_equal(ofctx_strmap_count(&map), 4);
  assert_string_equal(ofctx_strmap_key_at(&map, 0), "b");
  assert_string_equal(ofctx_strmap_key_at(&map, 1), "a");
  assert_string_equal(ofctx_strmap_value_at(&map, 2), "3");
  assert_string_equal(ofctx_strmap_key_at(&map, 3), "");
  assert_null(ofctx_strmap_key_at(&map, 4));
  assert_null(ofctx_strmap_value_at(&map, 4));
  assert_string_equal(ofctx_strmap_get(&map, "b"), "2");
  assert_string_equal(ofctx_strmap_get(&map, "B"), "3"); /* case-sensitive */
  assert_string_equal(ofctx_strmap_get(&map, ""), "empty");
  assert_null(ofctx_strmap_get(&map, "c"));
  assert_null(ofctx_strmap_get(&map, "a "));
  assert_null(ofctx_strmap_get(&map, NULL));
  assert_ptr_equal(ofctx_strmap_get(&map, "a"), json_string_value(json_object_get(doc, "a")));
  ofctx__strmap_clear(&map);
  assert_int_equal(ofctx_strmap_count(&map), 0);
  assert_null(ofctx_strmap_key_at(&map, 0));
  json_decref(doc);
}

/* A list keeps the document's order; out of range is NULL. */
static void list_view(void **state) {
  json_t *doc = parse("[\"z\",\"y\",\"z\"]");
  ofctx_strlist_t list;

  (void)state;
  assert_int_equal(ofctx__strlist_view(&list, doc), OFCTX_OK);
  assert_int_equal(ofctx_strlist_count(&list), 3);
  assert_string_equal(ofctx_strlist_at(&list, 0), "z");
  assert_string_equal(ofctx_strlist_at(&list, 1), "y");
  assert_string_equal(ofctx_strlist_at(&list, 2), "z");
  assert_null(ofctx_strlist_at(&list, 3));
  ofctx__strlist_clear(&list);
  assert_int_equal(ofctx_strlist_count(&list), 0);
  json_decref(doc);
}

/* No document, or an empty one, is an empty view that allocates nothing;
 * NULL reads as empty. */
static void empty_and_null(void **state) {
  json_t *obj = json_object(), *arr = json_array();
  ofctx_strmap_t map;
  ofctx_strlist_t list;

  (void)state;
  assert_int_equal(ofctx__strmap_view(&map, NULL), OFCTX_OK);
  assert_int_equal(ofctx_strmap_count(&map), 0);
  assert_null(map.keys);
  assert_int_equal(ofctx__strmap_view(&map, obj), OFCTX_OK);
  assert_int_equal(ofctx_strmap_count(&map), 0);
  assert_null(ofctx_strmap_get(&map, "k"));
  ofctx__strmap_clear(&map);
  assert_int_equal(ofctx__strlist_view(&list, arr), OFCTX_OK);
  assert_int_equal(ofctx_strlist_count(&list), 0);
  assert_null(list.items);
  assert_int_equal(ofctx_strmap_count(NULL), 0);
  assert_null(ofctx_strmap_get(NULL, "k"));
  assert_null(ofctx_strmap_key_at(NULL, 0));
  assert_null(ofctx_strmap_value_at(NULL, 0));
  assert_int_equal(ofctx_strlist_count(NULL), 0);
  assert_null(ofctx_strlist_at(NULL, 0));
  json_decref(obj);
  json_decref(arr);
}

static int allocations_left;

static void *limited_malloc(size_t size, void *arg) {
  (void)arg;
  return allocations_left-- > 0 ? malloc(size) : NULL;
}

static void *limited_realloc(void *ptr, size_t size, void *arg) {
  (void)arg;
  return allocations_left-- > 0 ? realloc(ptr, size) : NULL;
}

static void limited_free(void *ptr, void *arg) {
  (void)arg;
  free(ptr);
}

/* Out of memory, at the first or the second index array: ENOMEM and an
 * empty view, nothing kept (the sanitizers check). */
static void out_of_memory(void **state) {
  const ofctx_allocator_t limited = {sizeof limited, limited_malloc, limited_realloc, limited_free,
                                     NULL};
  json_t *obj = parse("{\"k\":\"v\"}"), *arr = parse("[\"i\"]");
  ofctx_strmap_t map;
  ofctx_strlist_t list;

  (void)state;
  assert_int_equal(ofctx_replace_allocator(&limited), OFCTX_OK);
  for (int left = 0; left < 2; left++) {
    allocations_left = left;
    assert_int_equal(ofctx__strmap_view(&map, obj), OFCTX_ENOMEM);
    assert_int_equal(ofctx_strmap_count(&map), 0);
    assert_null(map.keys);
    assert_null(map.values);
  }
  allocations_left = 0;
  assert_int_equal(ofctx__strlist_view(&list, arr), OFCTX_ENOMEM);
  assert_int_equal(ofctx_strlist_count(&list), 0);
  assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK);
  json_decref(obj);
  json_decref(arr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(map_view),
      cmocka_unit_test(list_view),
      cmocka_unit_test(empty_and_null),
      cmocka_unit_test(out_of_memory),
  };
  return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}
