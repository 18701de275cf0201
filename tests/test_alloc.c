/* alloc.c: the allocator behind every libofctx allocation. An application's
 * allocator replaces it whole (its argument given to each call) and NULL
 * puts malloc back; a malformed one is refused and changes nothing; sizes
 * of 0 are asked as 1 and an overflowing calloc never reaches it.
 * (Every allocation of the library failed in turn: test_alloc_failures.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "ofctx/alloc.h"

/* An allocator that counts its calls and the blocks alive, and marks its
 * blocks so that a block it did not give is caught. */
typedef struct {
  int mallocs, reallocs, frees, live;
  size_t last_size;
} counts_t;

static counts_t counts;

static void *counting_malloc(size_t size, void *arg) {
  counts_t *c = arg;
  char *p = malloc(size + 16);

  c->mallocs++;
  c->last_size = size;
  if (!p)
    return NULL;
  memcpy(p, "ofctx-test-block", 16);
  c->live++;
  return p + 16;
}

static void *counting_realloc(void *ptr, size_t size, void *arg) {
  counts_t *c = arg;
  char *p;

  c->reallocs++;
  c->last_size = size;
  if (!ptr)
    return counting_malloc(size, arg);
  assert_memory_equal((char *)ptr - 16, "ofctx-test-block", 16);
  p = realloc((char *)ptr - 16, size + 16);
  return p ? p + 16 : NULL;
}

static void counting_free(void *ptr, void *arg) {
  counts_t *c = arg;

  c->frees++;
  if (!ptr)
    return;
  assert_memory_equal((char *)ptr - 16, "ofctx-test-block", 16);
  c->live--;
  free((char *)ptr - 16);
}

static const ofctx_allocator_t counting = {sizeof counting, counting_malloc, counting_realloc,
                                           counting_free, &counts};

static int back_to_malloc(void **state) {
  (void)state;
  memset(&counts, 0, sizeof counts);
  return ofctx_replace_allocator(NULL) == OFCTX_OK ? 0 : -1;
}

/* Every call goes to the application's allocator, with its argument; NULL
 * puts malloc back (a block of malloc's then goes to free, which the
 * sanitizers check). */
static void replaced_and_restored(void **state) {
  char *p, *q;

  (void)state;
  assert_int_equal(ofctx_replace_allocator(&counting), OFCTX_OK);
  p = ofctx__malloc(10);
  assert_non_null(p);
  assert_int_equal(counts.mallocs, 1);
  assert_int_equal(counts.last_size, 10);
  p = ofctx__realloc(p, 100);
  assert_non_null(p);
  assert_int_equal(counts.reallocs, 1);
  assert_int_equal(counts.last_size, 100);
  q = ofctx__strndup("abcdef", 3);
  assert_string_equal(q, "abc");
  assert_int_equal(counts.mallocs, 2);
  ofctx__free(q);
  ofctx_free(p); /* the public end is the same allocator */
  assert_int_equal(counts.frees, 2);
  assert_int_equal(counts.live, 0);
  ofctx__free(NULL); /* not passed on */
  ofctx_free(NULL);
  assert_int_equal(counts.frees, 2);
  assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK);
  p = ofctx__strdup("malloc's");
  assert_string_equal(p, "malloc's");
  ofctx__free(p);
  assert_int_equal(counts.mallocs, 2);
  assert_int_equal(counts.frees, 2);
}

/* Sizes of 0 are asked as 1, so that success is never NULL; calloc zeroes
 * and refuses a product that overflows without calling the allocator. */
static void sizes(void **state) {
  unsigned char *p;

  (void)state;
  assert_int_equal(ofctx_replace_allocator(&counting), OFCTX_OK);
  p = ofctx__malloc(0);
  assert_non_null(p);
  assert_int_equal(counts.last_size, 1);
  p = ofctx__realloc(p, 0);
  assert_non_null(p);
  assert_int_equal(counts.last_size, 1);
  ofctx__free(p);
  p = ofctx__calloc(0, 8);
  assert_non_null(p);
  assert_int_equal(counts.last_size, 1);
  ofctx__free(p);
  p = ofctx__calloc(4, 8);
  assert_non_null(p);
  assert_int_equal(counts.last_size, 32);
  for (size_t i = 0; i < 32; i++)
    assert_int_equal(p[i], 0);
  ofctx__free(p);
  assert_int_equal(counts.mallocs, 3);
  assert_null(ofctx__calloc(SIZE_MAX / 2, 3));
  assert_int_equal(counts.mallocs, 3);
  assert_int_equal(counts.live, 0);
}

/* A malformed allocator is refused, and the one in place stays. */
static void malformed_refused(void **state) {
  ofctx_allocator_t bad[4];
  char *p;

  (void)state;
  for (size_t i = 0; i < 4; i++)
    bad[i] = counting;
  bad[0].size = 0; /* not set */
  bad[1].malloc = NULL;
  bad[2].realloc = NULL;
  bad[3].free = NULL;
  assert_int_equal(ofctx_replace_allocator(&counting), OFCTX_OK);
  for (size_t i = 0; i < 4; i++)
    if (ofctx_replace_allocator(&bad[i]) != OFCTX_EINVAL)
      fail_msg("malformed allocator %zu was taken", i);
  p = ofctx__malloc(8);
  assert_int_equal(counts.mallocs, 1); /* still the counting one */
  ofctx__free(p);
  assert_int_equal(counts.live, 0);
}

/* The allocator is copied: changing the caller's struct afterwards changes
 * nothing. */
static void copied(void **state) {
  ofctx_allocator_t mine = counting;
  char *p;

  (void)state;
  assert_int_equal(ofctx_replace_allocator(&mine), OFCTX_OK);
  memset(&mine, 0, sizeof mine);
  p = ofctx__malloc(8);
  assert_non_null(p);
  assert_int_equal(counts.mallocs, 1);
  ofctx__free(p);
  assert_int_equal(counts.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(replaced_and_restored, back_to_malloc, back_to_malloc),
      cmocka_unit_test_setup_teardown(sizes, back_to_malloc, back_to_malloc),
      cmocka_unit_test_setup_teardown(malformed_refused, back_to_malloc, back_to_malloc),
      cmocka_unit_test_setup_teardown(copied, back_to_malloc, back_to_malloc),
  };
  return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
