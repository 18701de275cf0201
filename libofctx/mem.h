/* Internal allocation wrappers: every allocation of the library goes through
 * these, so that one place decides which allocator is used. */
#ifndef OFCTX_MEM_H
#define OFCTX_MEM_H

#include <stddef.h>

void *ofctx__malloc(size_t size);
void *ofctx__calloc(size_t count, size_t size);
void *ofctx__realloc(void *ptr, size_t size);
void ofctx__free(void *ptr);
/* A copy of `len` bytes of `s` plus a NUL; free with ofctx__free. */
char *ofctx__strndup(const char *s, size_t len);
char *ofctx__strdup(const char *s);

#endif
