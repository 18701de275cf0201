/* Read-only string maps and lists viewing a jansson document. */
#include <string.h>

#include "mem.h"
#include "strmap_impl.h"

size_t ofctx_strmap_count(const ofctx_strmap_t *map) { return map ? map->count : 0; }

const char *ofctx_strmap_key_at(const ofctx_strmap_t *map, size_t i) {
  return map && i < map->count ? map->keys[i] : NULL;
}

const char *ofctx_strmap_value_at(const ofctx_strmap_t *map, size_t i) {
  return map && i < map->count ? map->values[i] : NULL;
}

const char *ofctx_strmap_get(const ofctx_strmap_t *map, const char *key) {
  if (!map || !key)
    return NULL;
  for (size_t i = 0; i < map->count; i++)
    if (strcmp(map->keys[i], key) == 0)
      return map->values[i];
  return NULL;
}

size_t ofctx_strlist_count(const ofctx_strlist_t *list) { return list ? list->count : 0; }

const char *ofctx_strlist_at(const ofctx_strlist_t *list, size_t i) {
  return list && i < list->count ? list->items[i] : NULL;
}

ofctx_err_t ofctx__strmap_view(ofctx_strmap_t *map, const json_t *obj) {
  const char *key;
  json_t *value;
  size_t n = json_object_size(obj);

  memset(map, 0, sizeof *map);
  if (n == 0)
    return OFCTX_OK;
  map->keys = ofctx__calloc(n, sizeof *map->keys);
  map->values = ofctx__calloc(n, sizeof *map->values);
  if (!map->keys || !map->values) {
    ofctx__strmap_clear(map);
    return OFCTX_ENOMEM;
  }
  json_object_foreach((json_t *)obj, key, value) {
    map->keys[map->count] = key;
    map->values[map->count] = json_string_value(value);
    map->count++;
  }
  return OFCTX_OK;
}

void ofctx__strmap_clear(ofctx_strmap_t *map) {
  ofctx__free(map->keys);
  ofctx__free(map->values);
  memset(map, 0, sizeof *map);
}

ofctx_err_t ofctx__strlist_view(ofctx_strlist_t *list, const json_t *arr) {
  size_t n = json_array_size(arr);

  memset(list, 0, sizeof *list);
  if (n == 0)
    return OFCTX_OK;
  list->items = ofctx__calloc(n, sizeof *list->items);
  if (!list->items)
    return OFCTX_ENOMEM;
  for (; list->count < n; list->count++)
    list->items[list->count] = json_string_value(json_array_get(arr, list->count));
  return OFCTX_OK;
}

void ofctx__strlist_clear(ofctx_strlist_t *list) {
  ofctx__free(list->items);
  memset(list, 0, sizeof *list);
}
