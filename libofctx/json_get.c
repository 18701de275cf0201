/* The values at paths of a JSON text, found in one pass; see ofctx/json.h. */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "mem.h"
#include "ofctx/json.h"

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && is_ws(s[i]))
    i++;
  return i;
}

/* Whether the member name token `key` (quotes included) is `name`: bytes
 * compared where they stand, escapes decoded only when the name has one. */
static int name_is(const char *key, size_t key_len, const char *name) {
  size_t k = 0;

  for (size_t i = 1; i + 1 < key_len; i++, k++) {
    if (key[i] == '\\')
      return ofctx__json_string_is(key, key_len, name);
    if (name[k] != key[i])
      return 0;
  }
  return name[k] == '\0';
}

#define ENDS_HERE 1 /* a path ends at the member */
#define WALK_INTO 2 /* a path goes on in it, an object */

/* Sets the paths that `name` (the member at s[key], `depth` objects in)
 * leads along: a path that ends at it gets its value, one that goes on
 * starts again in it (the last member of a name counts). ENDS_HERE and
 * WALK_INTO say which happened. A value's length is
 * measured here only for an object that a path ends at and another walks
 * into (else it is left 0: the walk measures it as it validates it). Paths often share a name (the
 * same pointer): it is compared once. */
static int match_member(const char *s, size_t len, size_t key, size_t key_end, size_t value,
                        size_t depth, ofctx_json_path_t *paths, size_t n, size_t *at) {
  const char *last_name = NULL;
  int last_is = 0, found = 0;

  for (size_t p = 0; p < n; p++) {
    const char *name;
    if (at[p] != depth || paths[p].nkeys <= depth)
      continue;
    name = paths[p].keys[depth];
    if (name != last_name) {
      last_name = name;
      last_is = name_is(s + key, key_end - key, name);
    }
    if (!last_is)
      continue;
    paths[p].value_len = 0; /* measured below */
    if (paths[p].nkeys == depth + 1) {
      paths[p].value = s + value;
      found |= ENDS_HERE;
    } else {
      paths[p].value = NULL; /* until this value holds the rest */
      if (s[value] == '{') {
        at[p] = depth + 1;
        found |= WALK_INTO;
      }
    }
  }
  if (found == (ENDS_HERE | WALK_INTO)) { /* an object that is a value and walked into */
    size_t n_bytes = ofctx__json_valid_len(s + value, len - value);
    for (size_t p = 0; p < n; p++)
      if (paths[p].value == s + value)
        paths[p].value_len = n_bytes;
  }
  return found;
}

/* The walk: the members of the outermost object (at s[i]), and of each
 * object some path goes through, in order; every other value is stepped
 * over whole. The text is validated as it is read, every byte once: the
 * index past the outermost object, or 0 when the text is not JSON there.
 * `at[p]` is how many names of path p the objects open around the walk
 * match: p looks at the members of the innermost one when that is its
 * depth. No recursion: the walk leaves an object at its closing brace, back
 * in the object around it, where it went in. */
static size_t walk(const char *s, size_t len, size_t i, ofctx_json_path_t *paths, size_t n,
                   size_t *at) {
  size_t depth = 0;

  i = skip_ws(s, len, i + 1);
  if (i < len && s[i] == '}')
    goto after_value;
  for (;;) {
    size_t key = i, key_end, value;
    int found;

    /* a member: its name, a colon, its value */
    if ((key_end = ofctx__json_string_len(s + key, len - key)) == 0)
      return 0;
    key_end += key;
    i = skip_ws(s, len, key_end);
    if (i >= len || s[i] != ':')
      return 0;
    value = skip_ws(s, len, i + 1);
    if (value >= len)
      return 0;
    found = match_member(s, len, key, key_end, value, depth, paths, n, at);
    if (found & WALK_INTO) {
      depth++;
      i = skip_ws(s, len, value + 1);
      if (i < len && s[i] == '"')
        continue;
      if (i >= len || s[i] != '}')
        return 0;
    } else {
      size_t value_len = s[value] == '"' ? ofctx__json_string_len(s + value, len - value)
                                         : ofctx__json_value_len(s + value, len - value);
      if (value_len == 0)
        return 0;
      for (size_t p = 0; (found & ENDS_HERE) && p < n; p++)
        if (paths[p].value == s + value)
          paths[p].value_len = value_len;
      i = value + value_len;
    }
  after_value: /* a comma and the next member, or the objects that end here */
    for (;;) {
      i = skip_ws(s, len, i);
      if (i >= len)
        return 0;
      if (s[i] == ',') {
        i = skip_ws(s, len, i + 1);
        if (i < len && s[i] == '"')
          break;
        return 0;
      }
      if (s[i] != '}')
        return 0;
      i++;
      if (depth == 0)
        return i;
      for (size_t p = 0; p < n; p++)
        if (at[p] == depth)
          at[p] = depth - 1;
      depth--;
    }
  }
}

ofctx_err_t ofctx_json_lookup(const char *text, size_t len, ofctx_json_path_t *paths,
                              size_t npaths) {
  size_t start, end, inline_at[16], *at = inline_at;

  if (!text || (!paths && npaths))
    return OFCTX_EINVAL;
  for (size_t p = 0; p < npaths; p++) {
    if (!paths[p].keys && paths[p].nkeys)
      return OFCTX_EINVAL;
    for (size_t k = 0; k < paths[p].nkeys; k++)
      if (!paths[p].keys[k])
        return OFCTX_EINVAL;
  }
  start = skip_ws(text, len, 0);
  if (start == len)
    return OFCTX_EINVAL;
  for (size_t p = 0; p < npaths; p++) {
    paths[p].value = NULL;
    paths[p].value_len = 0;
  }
  if (text[start] != '{') { /* no member anywhere a path can reach */
    end = start + ofctx__json_value_len(text + start, len - start);
    if (end == start || skip_ws(text, len, end) != len)
      return OFCTX_EINVAL;
  } else {
    if (npaths > sizeof inline_at / sizeof *inline_at) {
      at = ofctx__calloc(npaths, sizeof *at);
      if (!at)
        return OFCTX_ENOMEM;
    } else {
      memset(at, 0, sizeof inline_at);
    }
    end = walk(text, len, start, paths, npaths, at);
    if (at != inline_at)
      ofctx__free(at);
    if (end == 0 || skip_ws(text, len, end) != len) {
      for (size_t p = 0; p < npaths; p++) {
        paths[p].value = NULL;
        paths[p].value_len = 0;
      }
      return OFCTX_EINVAL;
    }
  }
  for (size_t p = 0; p < npaths; p++)
    if (paths[p].nkeys == 0) {
      paths[p].value = text + start;
      paths[p].value_len = end - start;
    }
  return OFCTX_OK;
}

ofctx_err_t ofctx_json_getv(const char *text, size_t len, const char *const *keys, size_t nkeys,
                            const char **value, size_t *value_len) {
  ofctx_json_path_t path = {keys, nkeys, NULL, 0};
  ofctx_err_t rc;

  if (value)
    *value = NULL;
  if (value_len)
    *value_len = 0;
  if (!value || !value_len)
    return OFCTX_EINVAL;
  rc = ofctx_json_lookup(text, len, &path, 1);
  if (rc != OFCTX_OK)
    return rc;
  *value = path.value;
  *value_len = path.value_len;
  return path.value ? OFCTX_OK : OFCTX_ENOTFOUND;
}

/* `path` split at its dots into `names` (a copy of it with the escapes
 * undone, each name NUL-terminated) and `keys` pointing at them. */
static ofctx_err_t split_path(const char *path, char **names, const char ***keys, size_t *nkeys) {
  size_t len = strlen(path), n = *path ? 1 : 0, k = 0;
  char *out;

  for (size_t i = 0; i < len; i++) {
    if (path[i] == '\\') {
      if (path[i + 1] != '.' && path[i + 1] != '\\')
        return OFCTX_EINVAL;
      i++;
    } else if (path[i] == '.') {
      n++;
    }
  }
  *names = out = ofctx__malloc(len + 1);
  *keys = ofctx__calloc(n ? n : 1, sizeof **keys);
  if (!out || !*keys) {
    ofctx__free(out);
    ofctx__free(*keys);
    return OFCTX_ENOMEM;
  }
  if (n)
    (*keys)[k++] = out;
  for (size_t i = 0; i < len; i++) {
    if (path[i] == '.') {
      *out++ = '\0';
      (*keys)[k++] = out;
      continue;
    }
    if (path[i] == '\\')
      i++;
    *out++ = path[i];
  }
  *out = '\0';
  *nkeys = n;
  return OFCTX_OK;
}

ofctx_err_t ofctx_json_get(const char *text, size_t len, const char *path, const char **value,
                           size_t *value_len) {
  char *names = NULL;
  const char **keys = NULL;
  size_t nkeys = 0;
  ofctx_err_t rc;

  if (value)
    *value = NULL;
  if (value_len)
    *value_len = 0;
  if (!path || !value || !value_len)
    return OFCTX_EINVAL;
  rc = split_path(path, &names, &keys, &nkeys);
  if (rc == OFCTX_OK)
    rc = ofctx_json_getv(text, len, keys, nkeys, value, value_len);
  ofctx__free(names);
  ofctx__free(keys);
  return rc;
}

ofctx_json_type_t ofctx_json_type(const char *value, size_t value_len) {
  if (!value || value_len == 0)
    return OFCTX_JSON_INVALID;
  switch (value[0]) {
  case '{':
    return OFCTX_JSON_OBJECT;
  case '[':
    return OFCTX_JSON_ARRAY;
  case '"':
    return OFCTX_JSON_STRING;
  case 't':
    return OFCTX_JSON_TRUE;
  case 'f':
    return OFCTX_JSON_FALSE;
  case 'n':
    return OFCTX_JSON_NULL;
  default:
    return value[0] == '-' || (value[0] >= '0' && value[0] <= '9') ? OFCTX_JSON_NUMBER
                                                                   : OFCTX_JSON_INVALID;
  }
}

/* Whether `value` is one whole JSON value of kind `type`. */
static int one_value(const char *value, size_t value_len, ofctx_json_type_t type) {
  if (ofctx_json_type(value, value_len) != type)
    return 0;
  return (type == OFCTX_JSON_STRING ? ofctx__json_string_len(value, value_len)
                                    : ofctx__json_value_len(value, value_len)) == value_len;
}

ofctx_err_t ofctx_json_string(const char *value, size_t value_len, char *buf, size_t size,
                              size_t *out_len) {
  size_t n;
  int lone;

  if (out_len)
    *out_len = 0;
  if (buf && size)
    buf[0] = '\0';
  if (!buf || !one_value(value, value_len, OFCTX_JSON_STRING))
    return OFCTX_EINVAL;
  if (size < value_len - 1) {
    /* the characters may still fit: decode into a copy to know */
    char *tmp = ofctx__malloc(value_len - 1);
    if (!tmp)
      return OFCTX_ENOMEM;
    n = ofctx__json_string_copy(tmp, value, value_len, &lone);
    if (n < size)
      memcpy(buf, tmp, n);
    ofctx__free(tmp);
    if (n >= size)
      return OFCTX_EINVAL;
  } else {
    n = ofctx__json_string_copy(buf, value, value_len, &lone);
  }
  buf[n] = '\0';
  if (out_len)
    *out_len = n;
  return OFCTX_OK;
}

/* The number token in `buf` (NUL-terminated, its point written as the C
 * locale's decimal point, which strtod reads). */
static double read_number(char *buf) {
  const char *point = localeconv()->decimal_point;
  char *dot = strchr(buf, '.');

  if (dot && point && point[0] && !point[1])
    *dot = point[0];
  return strtod(buf, NULL);
}

ofctx_err_t ofctx_json_number(const char *value, size_t value_len, double *out) {
  char inline_buf[64], *buf = inline_buf;
  double d;

  if (out)
    *out = 0;
  if (!out || !one_value(value, value_len, OFCTX_JSON_NUMBER))
    return OFCTX_EINVAL;
  if (value_len >= sizeof inline_buf && !(buf = ofctx__malloc(value_len + 1)))
    return OFCTX_ENOMEM;
  memcpy(buf, value, value_len);
  buf[value_len] = '\0';
  d = read_number(buf);
  if (buf != inline_buf)
    ofctx__free(buf);
  *out = d;
  return isinf(d) ? OFCTX_EINVAL : OFCTX_OK;
}

ofctx_err_t ofctx_json_integer(const char *value, size_t value_len, int64_t *out) {
  uint64_t mag = 0, limit;
  int negative;

  if (out)
    *out = 0;
  if (!out || !one_value(value, value_len, OFCTX_JSON_NUMBER) || memchr(value, '.', value_len) ||
      memchr(value, 'e', value_len) || memchr(value, 'E', value_len))
    return OFCTX_EINVAL;
  negative = value[0] == '-';
  limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t i = (size_t)negative; i < value_len; i++) {
    unsigned d = (unsigned)(value[i] - '0');
    if (mag > (limit - d) / 10)
      return OFCTX_EINVAL;
    mag = mag * 10 + d;
  }
  *out = negative && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
  return OFCTX_OK;
}
