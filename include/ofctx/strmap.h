/* Read-only string maps and string lists, as found in a function context
 * (component metadata, tracing tags, plugin names). Both keep the order of the
 * document they came from. They are always borrowed from the object that
 * returned them and live exactly as long as it does; never free them. */
#ifndef OFCTX_STRMAP_H
#define OFCTX_STRMAP_H

#include <stddef.h>

#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ofctx_strmap ofctx_strmap_t;
typedef struct ofctx_strlist ofctx_strlist_t;

/* Number of entries; 0 for NULL. */
OFCTX_EXTERN size_t ofctx_strmap_count(const ofctx_strmap_t *map);
/* Key and value of entry `i` (borrowed), or NULL when `i` is out of range. */
OFCTX_EXTERN const char *ofctx_strmap_key_at(const ofctx_strmap_t *map, size_t i);
OFCTX_EXTERN const char *ofctx_strmap_value_at(const ofctx_strmap_t *map, size_t i);
/* The value for `key` (exact, case-sensitive match; borrowed), or NULL. */
OFCTX_EXTERN const char *ofctx_strmap_get(const ofctx_strmap_t *map, const char *key);

/* Number of strings; 0 for NULL. */
OFCTX_EXTERN size_t ofctx_strlist_count(const ofctx_strlist_t *list);
/* String `i` (borrowed), or NULL when `i` is out of range. */
OFCTX_EXTERN const char *ofctx_strlist_at(const ofctx_strlist_t *list, size_t i);

#ifdef __cplusplus
}
#endif
#endif
