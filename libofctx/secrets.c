/* The secrets of the direct mode's components. See secrets.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "error_msg.h"
#include "mem.h"
#include "secrets.h"
#include "text.h"

/* The bytes of `path`, exactly: 0; -2 when it is not a regular file (a
 * directory, or a FIFO, which would block the start: it is opened without
 * blocking and never read); or -1 with errno (EFBIG: past
 * OFCTX__SECRET_MAX, EILSEQ: a NUL byte, which no value can hold). */
static int read_exact(const char *path, char **out) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  FILE *f;
  char *buf;
  size_t len;

  *out = NULL;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return -2;
  }
  f = fdopen(fd, "rb");
  if (!f) {
    close(fd);
    return -1;
  }
  buf = ofctx__malloc(OFCTX__SECRET_MAX + 2);
  if (!buf) {
    fclose(f);
    errno = ENOMEM;
    return -1;
  }
  len = fread(buf, 1, OFCTX__SECRET_MAX + 1, f);
  if (ferror(f) || len > OFCTX__SECRET_MAX || memchr(buf, '\0', len)) {
    int e = ferror(f) ? EIO : len > OFCTX__SECRET_MAX ? EFBIG : EILSEQ;
    memset(buf, 0, len);
    ofctx__free(buf);
    fclose(f);
    errno = e;
    return -1;
  }
  fclose(f);
  *out = ofctx__strndup(buf, len); /* the value alone is kept */
  memset(buf, 0, len);
  ofctx__free(buf);
  if (!*out)
    errno = ENOMEM;
  return *out ? 0 : -1;
}

/* A name or key that is one path segment: not empty, no '/', not "." or
 * "..". */
static int segment_ok(const char *s) {
  return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && ofctx__text_ok(s);
}

typedef struct {
  const ofctx__comp_t *c;
  const char *meta; /* the metadata entry's key */
  const char *name, *key;
  char q_name[96], q_key[96];
  ofctx_error_t *err;
} ref_t;

static ofctx_err_t refuse(const ref_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reason `fmt` for reference `r`, naming the file, the component, the
 * key and the reference. */
static ofctx_err_t refuse(const ref_t *r, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return ofctx__error(r->err, OFCTX_ECOMPONENT,
                      "%s: component \"%s\": metadata \"%s\": secretKeyRef {name: %s, key: %s}: %s",
                      r->c->file, r->c->name, r->meta, r->q_name, r->q_key, why);
}

/* A Secret volume: OFCTX_SECRETS_PATH/<name>/<key>. */
static ofctx_err_t from_volume(const ref_t *r, char **out) {
  const char *root = getenv("OFCTX_SECRETS_PATH");
  char path[4096];
  int rc;

  if (!root || !*root)
    return refuse(r, "the direct mode reads it from OFCTX_SECRETS_PATH/<name>/<key> (a mounted "
                     "Secret volume), and OFCTX_SECRETS_PATH is not set (docs/direct-mode.md)");
  if (!segment_ok(r->name) || !segment_ok(r->key))
    return refuse(r, "a Secret's name and key are one path segment each");
  if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", root, r->name, r->key) >= sizeof path)
    return refuse(r, "the path is too long");
  rc = read_exact(path, out);
  if (rc == -2)
    return refuse(r, "cannot read %s: not a regular file", path);
  if (rc != 0) {
    int e = errno;
    if (e == ENOMEM)
      return ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
    return refuse(r, "cannot read %s: %s", path,
                  e == EFBIG    ? "longer than 1 MiB"
                  : e == EILSEQ ? "it holds a NUL byte"
                                : strerror(e));
  }
  return OFCTX_OK;
}

static const char *store_value(const ofctx__secret_store_t *st, const char *key) {
  for (size_t i = 0; i < st->count; i++)
    if (strcasecmp(st->keys[i], key) == 0)
      return st->values[i] ? st->values[i] : "";
  return NULL;
}

/* A key of store `st` that is not one of `known` (NULL-terminated), or
 * NULL. */
static const char *unknown_key(const ofctx__secret_store_t *st, const char *const *known) {
  for (size_t i = 0; i < st->count; i++) {
    size_t k = 0;
    while (known[k] && strcasecmp(known[k], st->keys[i]) != 0)
      k++;
    if (!known[k] || !st->values[i])
      return st->keys[i];
  }
  return NULL;
}

/* secretstores.local.env: the variable <prefix><name>; its key is the
 * name (Dapr's answer holds one key, the name). */
static ofctx_err_t from_env(const ref_t *r, const ofctx__secret_store_t *st, char **out) {
  static const char *const known[] = {"prefix", NULL};
  const char *bad = unknown_key(st, known), *prefix = store_value(st, "prefix"), *value;
  char var[512], upper[512];

  if (bad)
    return refuse(r, "its secret store's metadata \"%.64s\" is not implemented in direct mode",
                  bad);
  if (strcmp(r->name, r->key) != 0)
    return refuse(r, "a secretstores.local.env secret has one key, its name");
  if ((size_t)snprintf(var, sizeof var, "%s%s", prefix ? prefix : "", r->name) >= sizeof var)
    return refuse(r, "the variable's name is too long");
  for (size_t i = 0; i <= strlen(var); i++)
    upper[i] = (char)toupper((unsigned char)var[i]);
  if (strncmp(upper, "DAPR_", 5) == 0 || strcmp(upper, "APP_API_TOKEN") == 0)
    return refuse(r, "secretstores.local.env does not read %.200s (Dapr forbids it)", var);
  value = getenv(var);
  if (!value)
    return refuse(r, "the environment variable %.200s is not set", var);
  *out = ofctx__strdup(value);
  return *out ? OFCTX_OK : ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
}

/* The leaf of `node` whose path (its keys and indexes joined by `sep`,
 * after `path`) is `want`, as Dapr's local file store flattens a file. */
static json_t *flat_find(json_t *node, char *path, size_t len, size_t size, const char *sep,
                         const char *want) {
  const char *k;
  json_t *v, *found;
  char index[24];

  if (!json_is_object(node) && !json_is_array(node))
    return strcmp(path, want) == 0 ? node : NULL;
  for (size_t i = 0; json_is_array(node) && i < json_array_size(node); i++) {
    snprintf(index, sizeof index, "%zu", i);
    if ((size_t)snprintf(path + len, size - len, "%s%s", len ? sep : "", index) >= size - len)
      continue;
    found = flat_find(json_array_get(node, i), path, strlen(path), size, sep, want);
    path[len] = '\0';
    if (found)
      return found;
  }
  json_object_foreach(node, k, v) {
    if ((size_t)snprintf(path + len, size - len, "%s%s", len ? sep : "", k) >= size - len)
      continue;
    found = flat_find(v, path, strlen(path), size, sep, want);
    path[len] = '\0';
    if (found)
      return found;
  }
  return NULL;
}

/* A boolean of a store's metadata as Dapr decodes it (kit's IsTruthy):
 * y, yes, true, t, on or 1, in any case, white space around ignored. */
static int truthy(const char *v) {
  static const char *const yes[] = {"y", "yes", "true", "t", "on", "1"};
  size_t len;

  while (isspace((unsigned char)*v))
    v++;
  len = strlen(v);
  while (len && isspace((unsigned char)v[len - 1]))
    len--;
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (strlen(yes[i]) == len && strncasecmp(v, yes[i], len) == 0)
      return 1;
  return 0;
}

/* secretstores.local.file: its JSON `secretsFile`, each leaf a secret
 * named by its path (`nestedSeparator`, ":" by default) whose one key is
 * that name; with `multiValued`, each top-level entry a secret and the
 * leaves under it its keys. */
static ofctx_err_t from_file(const ref_t *r, const ofctx__secret_store_t *st, char **out) {
  static const char *const known[] = {"secretsFile", "nestedSeparator", "multiValued", NULL};
  const char *bad = unknown_key(st, known), *file = store_value(st, "secretsFile");
  const char *sep = store_value(st, "nestedSeparator"), *multi = store_value(st, "multiValued");
  json_error_t jerr;
  json_t *root, *leaf = NULL;
  char path[1024] = "";
  int multivalued;

  if (bad)
    return refuse(r, "its secret store's metadata \"%.64s\" is not implemented in direct mode",
                  bad);
  if (!file || !*file)
    return refuse(r, "its secret store has no secretsFile");
  if (!sep || !*sep)
    sep = ":";
  multivalued = multi && truthy(multi);
  root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    char where[64];
    /* jansson's text may quote the file: only the place is told */
    snprintf(where, sizeof where, "line %d", jerr.line);
    return refuse(r, "its secretsFile %.300s cannot be read as JSON (%s)", file,
                  jerr.line > 0 ? where : "no such file, or unreadable");
  }
  if (!json_is_object(root)) {
    json_decref(root);
    return refuse(r, "its secretsFile %.300s is not a JSON object", file);
  }
  if (!multivalued) {
    if (strcmp(r->name, r->key) == 0)
      leaf = flat_find(root, path, 0, sizeof path, sep, r->name);
  } else {
    json_t *secret = json_object_get(root, r->name);
    if (json_is_string(secret))
      leaf = strcmp(r->name, r->key) == 0 ? secret : NULL;
    else if (json_is_object(secret))
      leaf = flat_find(secret, path, 0, sizeof path, sep, r->key);
  }
  if (!json_is_string(leaf)) {
    json_decref(root);
    if (leaf)
      return refuse(r, "its value in %.300s is not a string", file);
    return refuse(r, "no such secret in %.300s", file);
  }
  *out = ofctx__strdup(json_string_value(leaf));
  json_decref(root);
  return *out ? OFCTX_OK : ofctx__error(r->err, OFCTX_ENOMEM, "out of memory");
}

ofctx_err_t ofctx__secret_read(const ofctx__comps_t *set, const ofctx__comp_t *c, size_t i,
                               char **out, ofctx_error_t *err) {
  ref_t r = {c, c->keys[i], c->ref_names[i], c->ref_keys[i], "", "", err};
  const char *store = c->secret_store;

  *out = NULL;
  ofctx__quote(r.q_name, sizeof r.q_name, r.name);
  ofctx__quote(r.q_key, sizeof r.q_key, r.key);
  if (!store || strcmp(store, "kubernetes") == 0)
    return from_volume(&r, out);
  for (size_t s = 0; s < set->store_count; s++) {
    const ofctx__secret_store_t *st = &set->stores[s];
    if (strcmp(st->name, store) != 0)
      continue;
    if (strcmp(st->type, "secretstores.local.env") == 0)
      return from_env(&r, st, out);
    if (strcmp(st->type, "secretstores.local.file") == 0)
      return from_file(&r, st, out);
    return refuse(&r,
                  "auth.secretStore %.100s is of type %.100s: the direct mode reads only "
                  "secretstores.local.file, secretstores.local.env and mounted Kubernetes Secrets "
                  "(docs/direct-mode.md)",
                  st->name, st->type);
  }
  return refuse(&r,
                "auth.secretStore %.100s: no secret store of that name in the resources "
                "directory",
                store);
}
