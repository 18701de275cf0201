/* The allocator behind every libofctx allocation: malloc, realloc and free
 * unless the application replaced them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ofctx/alloc.h"

static void *std_malloc(size_t size, void *arg) {
  (void)arg;
  return malloc(size);
}

static void *std_realloc(void *ptr, size_t size, void *arg) {
  (void)arg;
  return realloc(ptr, size);
}

static void std_free(void *ptr, void *arg) {
  (void)arg;
  free(ptr);
}

static ofctx_allocator_t current = {sizeof current, std_malloc, std_realloc, std_free, NULL};

ofctx_err_t ofctx_replace_allocator(const ofctx_allocator_t *allocator) {
  static const ofctx_allocator_t standard = {sizeof standard, std_malloc, std_realloc, std_free,
                                             NULL};

  if (allocator && (allocator->size < sizeof *allocator || !allocator->malloc ||
                    !allocator->realloc || !allocator->free))
    return OFCTX_EINVAL;
  current = allocator ? *allocator : standard;
  return OFCTX_OK;
}

void *ofctx__malloc(size_t size) { return current.malloc(size ? size : 1, current.arg); }

void *ofctx__calloc(size_t count, size_t size) {
  void *p;

  if (count == 0 || size == 0)
    count = size = 1;
  if (count > SIZE_MAX / size)
    return NULL;
  p = current.malloc(count * size, current.arg);
  if (p)
    memset(p, 0, count * size);
  return p;
}

void *ofctx__realloc(void *ptr, size_t size) {
  return current.realloc(ptr, size ? size : 1, current.arg);
}

void ofctx__free(void *ptr) {
  if (ptr)
    current.free(ptr, current.arg);
}

void ofctx_free(void *ptr) { ofctx__free(ptr); }

char *ofctx__strndup(const char *s, size_t len) {
  char *copy = ofctx__malloc(len + 1);
  if (copy) {
    memcpy(copy, s, len);
    copy[len] = '\0';
  }
  return copy;
}

char *ofctx__strdup(const char *s) { return ofctx__strndup(s, strlen(s)); }
