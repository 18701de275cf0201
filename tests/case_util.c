/* Test support: reading the data-folder cases. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_util.h"

char *case_read_file(const char *dir, const char *name, size_t *len) {
  char path[1024];
  FILE *f;
  char *buf;
  long size;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)size + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  buf[size] = '\0';
  if (len)
    *len = (size_t)size;
  return buf;
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **case_list_dirs(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **list = NULL;
  size_t n = 0;

  if (!d)
    fail_msg("cannot open the case folder %s", dir);
  while ((e = readdir(d)) != NULL) {
    char path[1024];
    DIR *sub;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    sub = opendir(path);
    if (!sub)
      continue;
    closedir(sub);
    list = realloc(list, (n + 2) * sizeof *list);
    assert_non_null(list);
    list[n++] = strdup(path);
  }
  closedir(d);
  if (!list)
    list = calloc(1, sizeof *list);
  list[n] = NULL;
  qsort(list, n, sizeof *list, compare_paths);
  return list;
}

void case_free_list(char **list) {
  for (size_t i = 0; list && list[i]; i++)
    free(list[i]);
  free(list);
}

static void env_add(case_env_t *env, const char *name, size_t name_len, char *value) {
  assert_true(env->count < sizeof env->names / sizeof env->names[0]);
  env->names[env->count] = strndup(name, name_len);
  env->values[env->count] = value;
  env->count++;
}

void case_env_load(case_env_t *env, const char *dir) {
  char *text = case_read_file(dir, "env", NULL);
  char *line, *save = NULL, *value;

  memset(env, 0, sizeof *env);
  if (!text)
    fail_msg("%s: every case needs an env file", dir);
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq;
    if (line[0] == '#' || line[0] == '\0')
      continue;
    eq = strchr(line, '=');
    if (!eq)
      fail_msg("%s/env: not KEY=VALUE: %s", dir, line);
    env_add(env, line, (size_t)(eq - line), strdup(eq + 1));
  }
  free(text);
  if ((value = case_read_file(dir, "context.json", NULL)) != NULL)
    env_add(env, "FUNC_CONTEXT", strlen("FUNC_CONTEXT"), value);
  if ((value = case_read_file(dir, "context-v1beta2.json", NULL)) != NULL)
    env_add(env, "FUNC_CONTEXT_V1BETA2", strlen("FUNC_CONTEXT_V1BETA2"), value);
}

void case_env_free(case_env_t *env) {
  for (size_t i = 0; i < env->count; i++) {
    free(env->names[i]);
    free(env->values[i]);
  }
  env->count = 0;
}

const char *case_env_get(void *arg, const char *name) {
  case_env_t *env = arg;
  for (size_t i = 0; i < env->count; i++)
    if (strcmp(env->names[i], name) == 0)
      return env->values[i];
  return NULL;
}

int case_run_folder(const char *group, const char *dir, void (*fn)(void **)) {
  char **cases = case_list_dirs(dir);
  size_t n = 0;
  struct CMUnitTest *tests;
  int failed;

  while (cases[n])
    n++;
  if (n == 0) {
    fprintf(stderr, "%s: no cases found\n", dir);
    case_free_list(cases);
    return 1;
  }
  tests = calloc(n, sizeof *tests);
  assert_non_null(tests);
  for (size_t i = 0; i < n; i++) {
    tests[i].name = strrchr(cases[i], '/') + 1;
    tests[i].test_func = fn;
    tests[i].initial_state = cases[i];
  }
  failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
  free(tests);
  case_free_list(cases);
  return failed;
}
