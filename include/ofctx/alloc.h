/* Memory: what libofctx hands to the caller, and the allocator behind the
 * library's own allocations. */
#ifndef OFCTX_ALLOC_H
#define OFCTX_ALLOC_H

#include <stddef.h>

#include "ofctx/error.h"
#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frees memory that a libofctx function returned as "caller frees with
 * ofctx_free" (for example the text of ofctx_config_to_json). NULL is fine. */
OFCTX_EXTERN void ofctx_free(void *ptr);

/* An allocator: malloc and realloc return NULL on failure (never for a size
 * of 0 if they can help it); free takes NULL. `arg` is passed to each. */
typedef struct {
  /* sizeof(ofctx_allocator_t) as the caller was compiled (fields later
   * versions add are read only when `size` covers them). */
  size_t size;
  void *(*malloc)(size_t size, void *arg);
  void *(*realloc)(void *ptr, size_t size, void *arg);
  void (*free)(void *ptr, void *arg);
  void *arg;
} ofctx_allocator_t;

/* Makes every allocation libofctx itself makes (contexts, events, buffers,
 * sends, routes and their PCRE2 patterns) go through `allocator` (copied);
 * NULL goes back to malloc, realloc and free. Call it before any other
 * libofctx call, or when nothing libofctx allocated is alive: memory is
 * freed by the allocator that gave it. Not thread-safe. The libraries
 * underneath keep their own allocators; set them yourself if you need to
 * (uv_replace_allocator, json_set_alloc_funcs, curl_global_init_mem).
 * OFCTX_EINVAL when a function is missing or `size` is not set. */
OFCTX_EXTERN ofctx_err_t ofctx_replace_allocator(const ofctx_allocator_t *allocator);

#ifdef __cplusplus
}
#endif
#endif
