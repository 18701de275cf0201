/* Fuzz target: ofctx/json.h's lookups against jansson's tree. On any input
 * a lookup finds nothing in text that is not JSON (ofctx__json_valid
 * decides). On a JSON object jansson loads, every path of one or two names
 * made of the document's own member names (and one name it lacks) finds
 * what jansson's tree holds there, duplicates resolved the same way (the
 * last member counts); one lookup of all the paths finds what each finds
 * alone; a found string decodes to jansson's characters, a number to its
 * value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_scan.h"
#include "ofctx/json.h"

#define MAX_PATHS 64

typedef struct {
  const char *names[2];
  size_t nkeys;
} pathdef_t;

/* The value at `p` in jansson's tree, or NULL. */
static json_t *theirs_at(json_t *root, const pathdef_t *p) {
  json_t *at = root;

  for (size_t k = 0; k < p->nkeys && at; k++)
    at = json_object_get(at, p->names[k]);
  return at;
}

/* The value our lookup found, compared with jansson's. */
static void compare(const char *value, size_t value_len, json_t *at) {
  json_t *ours;

  if (!value != !at)
    abort(); /* found by one only */
  if (!value)
    return;
  ours = json_loadb(value, value_len, JSON_DECODE_ANY, NULL);
  if (!ours || !json_equal(ours, at))
    abort();
  json_decref(ours);
  if (json_is_string(at)) {
    char *buf = malloc(value_len);
    size_t n;
    if (!buf)
      return;
    if (ofctx_json_string(value, value_len, buf, value_len - 1, &n) != OFCTX_OK ||
        n != json_string_length(at) || memcmp(buf, json_string_value(at), n) != 0)
      abort();
    free(buf);
  } else if (json_is_number(at)) {
    double d;
    int64_t i;
    if (ofctx_json_number(value, value_len, &d) != OFCTX_OK || d != json_number_value(at))
      abort();
    if (json_is_integer(at) &&
        (ofctx_json_integer(value, value_len, &i) != OFCTX_OK || i != json_integer_value(at)))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  pathdef_t defs[MAX_PATHS];
  ofctx_json_path_t paths[MAX_PATHS];
  size_t n = 0;
  json_t *root, *value;
  const char *key;
  int valid = ofctx__json_valid(s, size);
  const char *v;
  size_t v_len;
  ofctx_err_t rc = ofctx_json_get(s, size, "a", &v, &v_len);

  if (valid ? rc != OFCTX_OK && rc != OFCTX_ENOTFOUND : rc != OFCTX_EINVAL || v)
    abort();
  root = valid ? json_loadb(s, size, 0, NULL) : NULL;
  if (!json_is_object(root)) {
    json_decref(root);
    return 0;
  }
  /* paths of the document's own names: each top name, each name under it */
  defs[n++] = (pathdef_t){{"no such name", NULL}, 1};
  json_object_foreach(root, key, value) {
    const char *inner;
    json_t *iv;
    if (n < MAX_PATHS)
      defs[n++] = (pathdef_t){{key, NULL}, 1};
    if (n < MAX_PATHS)
      defs[n++] = (pathdef_t){{key, "no such name"}, 2};
    json_object_foreach(value, inner, iv) {
      if (n < MAX_PATHS)
        defs[n++] = (pathdef_t){{key, inner}, 2};
    }
  }
  for (size_t p = 0; p < n; p++) {
    json_t *at = theirs_at(root, &defs[p]);
    rc = ofctx_json_getv(s, size, defs[p].names, defs[p].nkeys, &v, &v_len);
    if (rc != (at ? OFCTX_OK : OFCTX_ENOTFOUND))
      abort();
    compare(v, v_len, at);
    paths[p] = (ofctx_json_path_t){defs[p].names, defs[p].nkeys, NULL, 0};
  }
  if (ofctx_json_lookup(s, size, paths, n) != OFCTX_OK)
    abort();
  for (size_t p = 0; p < n; p++)
    compare(paths[p].value, paths[p].value_len, theirs_at(root, &defs[p]));
  json_decref(root);
  return 0;
}
