/* Test support: the data-folder cases of tests/data (see its README.md). */
#ifndef OFCTX_TEST_CASE_UTIL_H
#define OFCTX_TEST_CASE_UTIL_H

#include <stddef.h>

/* A whole file as a new NUL-terminated string (free()); NULL if unreadable. */
char *case_read_file(const char *dir, const char *name, size_t *len);

/* The sub-folders of `dir`, sorted, as a NULL-terminated array of full paths
 * (free with case_free_list). Fails the test when `dir` cannot be read. */
char **case_list_dirs(const char *dir);
void case_free_list(char **list);

/* The environment a case describes: its `env` file, plus FUNC_CONTEXT from
 * context.json and FUNC_CONTEXT_V1BETA2 from context-v1beta2.json. */
typedef struct {
  size_t count;
  char *names[64];
  char *values[64];
} case_env_t;

void case_env_load(case_env_t *env, const char *dir);
void case_env_free(case_env_t *env);
/* An ofctx_getenv_fn over a case_env_t. */
const char *case_env_get(void *env, const char *name);

/* Runs `fn` once per case folder below `dir` as one cmocka group (each test
 * named after its folder, its state the folder's path); a folder without
 * cases fails. Returns the number of failed tests. */
int case_run_folder(const char *group, const char *dir, void (*fn)(void **));

#endif
