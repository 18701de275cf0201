/* Internal layout of the read-only string maps and lists. Their strings are
 * borrowed from a jansson document owned by whoever holds the map. */
#ifndef OFCTX_STRMAP_IMPL_H
#define OFCTX_STRMAP_IMPL_H

#include <jansson.h>

#include "ofctx/error.h"
#include "ofctx/strmap.h"

struct ofctx_strmap {
  size_t count;
  const char **keys;
  const char **values;
};

struct ofctx_strlist {
  size_t count;
  const char **items;
};

/* Views `obj` (an object whose values are all strings, or NULL) as a map;
 * OFCTX_ENOMEM when the index arrays cannot be allocated. */
ofctx_err_t ofctx__strmap_view(ofctx_strmap_t *map, const json_t *obj);
void ofctx__strmap_clear(ofctx_strmap_t *map);

/* Views `arr` (an array of strings, or NULL) as a list. */
ofctx_err_t ofctx__strlist_view(ofctx_strlist_t *list, const json_t *arr);
void ofctx__strlist_clear(ofctx_strlist_t *list);

#endif
