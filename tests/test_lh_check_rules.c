/* `logs-handler --check-rules FILE` (check_rules.c): a good file printed
 * normalized with its defaults, and each kind of fault as one line naming
 * the file and the path in it, with exit status 2 and nothing on out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "check_rules.h"

/* Outside Kubernetes: no pod to name. */
static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

/* The example's function context. */
static ofctx_config_t *context(void) {
  ofctx_config_t *cfg = NULL;
  ofctx_error_t e;
  char *text = NULL;
  size_t len = 0;
  FILE *f = fopen(LH_EXAMPLE_DIR "/context.json", "r");
  FILE *m = open_memstream(&text, &len);
  int c;

  assert_non_null(f);
  assert_non_null(m);
  while ((c = fgetc(f)) != EOF)
    fputc(c, m);
  fclose(f);
  fclose(m);
  if (ofctx_config_parse(&cfg, "context.json", text, len, self_host, NULL, &e) != OFCTX_OK)
    fail_msg("the context: %s", e.message);
  free(text);
  return cfg;
}

/* What lh_check_rules says of the file at `path`. */
typedef struct {
  int rc;
  char *out, *err;
} said_t;

static said_t check(const char *path) {
  ofctx_config_t *cfg = context();
  said_t s = {0, NULL, NULL};
  size_t n;
  FILE *out = open_memstream(&s.out, &n), *err = open_memstream(&s.err, &n);

  s.rc = lh_check_rules(cfg, path, out, err);
  fclose(out);
  fclose(err);
  ofctx_config_free(cfg);
  return s;
}

static void said_free(said_t *s) {
  free(s->out);
  free(s->err);
}

/* `text` as a rules file: its path (free it, and unlink the file). */
static char *file_of(const char *text) {
  char *path = strdup("/tmp/lh-check-rules-XXXXXX");
  int fd = mkstemp(path);

  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void good_file_normalized(void **state) {
  said_t s = check(LH_EXAMPLE_DIR "/rules.yaml");
  json_t *doc, *rule;

  (void)state;
  assert_int_equal(s.rc, 0);
  assert_string_equal(s.err, "");
  doc = json_loads(s.out, 0, NULL);
  assert_non_null(doc);
  rule = json_array_get(json_object_get(doc, "rules"), 0);
  assert_string_equal(json_string_value(json_object_get(rule, "name")), "logs-404");
  /* the defaults filled in */
  assert_true(json_number_value(json_object_get(rule, "lease")) == 3900);
  assert_int_equal(json_integer_value(json_object_get(rule, "samples")), 3);
  assert_false(json_is_true(json_object_get(json_object_get(rule, "select"), "self")));
  assert_int_equal(json_object_size(json_object_get(rule, "annotations")), 0);
  assert_true(json_number_value(json_object_get(json_object_get(doc, "settings"), "max_keys")) ==
              10000);
  assert_non_null(strstr(s.out, "\n  \"rules\": [")); /* indented */
  json_decref(doc);
  said_free(&s);
}

/* Each fault, as the one line on err. */
static void faults_named(void **state) {
  static const struct {
    const char *text, *want;
  } rows[] = {
      {"rules:\n  - name: a\n  - name: b\n  - name: c\n    condition: {count: 5, window: 5 "
       "minutes}\n",
       "rules[2].condition.window: \"5 minutes\" is not a duration (90, 30s, 5m, 1h, 1d)"},
      {"rules:\n  - name: a\n    selct: {}\n",
       "rules[0].selct: unknown key (did you mean \"select\"?)"},
      {"rules:\n  - name: a\n    output: slack\n",
       "rules[0].output: the function context has no output \"slack\""},
      {"rules:\n  - name: a\n  - name: a\n", "rules[1].name: "},
      {"rules:\n  - name: a\n    match: {regex: \"(\"}\n", "rules[0].match.regex: "},
      {"rules:\n  - name: a\n    match: {where: [\"stat == 1\"]}\n", "rules[0].match.where"},
      {"rules:\n  - name: a\n    annotations: {summary: \"{{cont}} lines\"}\n",
       "rules[0].annotations.summary: unknown name \"cont\" at offset 0 (did you mean \"count\"?)"},
      {"rules:\n  - name: a\n    annotations: {summary: \"{{count\"}\n",
       "rules[0].annotations.summary: unclosed \"{{\" at offset 0"},
      {"settings: {state_store: incidents}\nrules:\n  - name: a\n",
       "settings.state_store (LOGS_STATE_STORE): the function context has no states entry "
       "\"incidents\" to keep the open incidents in (states: none)"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char *path = file_of(rows[i].text), want[512];
    said_t s = check(path);
    snprintf(want, sizeof want, "%s: %s", path, rows[i].want);
    if (s.rc != 2 || strncmp(s.err, want, strlen(want)) != 0 || strcmp(s.out, "") != 0 ||
        strchr(s.err, '\n') != s.err + strlen(s.err) - 1)
      fail_msg("rule %zu: %d, \"%s\", want \"%s\"", i, s.rc, s.err, want);
    said_free(&s);
    unlink(path);
    free(path);
  }
}

/* A syntax error says the line and column once; a missing file says so. */
static void files_at_fault(void **state) {
  char *path = file_of("rules: [\n"), want[512];
  said_t s = check(path);

  (void)state;
  snprintf(want, sizeof want, "%s:", path);
  assert_int_equal(s.rc, 2);
  assert_memory_equal(s.err, want, strlen(want));
  assert_null(strstr(s.err + strlen(want), path));
  said_free(&s);
  unlink(path);
  s = check(path);
  assert_int_equal(s.rc, 2);
  assert_non_null(strstr(s.err, "No such file"));
  said_free(&s);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_file_normalized),
      cmocka_unit_test(faults_named),
      cmocka_unit_test(files_at_fault),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
