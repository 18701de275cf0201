/* The allocator behind every libofctx allocation. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ofctx/alloc.h"

void *ofctx__malloc(size_t size) { return malloc(size ? size : 1); }

void *ofctx__calloc(size_t count, size_t size) {
  return calloc(count ? count : 1, size ? size : 1);
}

void *ofctx__realloc(void *ptr, size_t size) { return realloc(ptr, size ? size : 1); }

void ofctx__free(void *ptr) { free(ptr); }

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
