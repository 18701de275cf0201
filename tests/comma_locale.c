/* A comma decimal point for tests; see comma_locale.h. */
#define _GNU_SOURCE
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comma_locale.h"

static char folder[] = "/tmp/ofctx-locale-XXXXXX";

int comma_locale_setup(void **state) {
  (void)state;
  char cmd[256], text[16];

  if (!mkdtemp(folder)) {
    perror("mkdtemp");
    return -1;
  }
  snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>&1", folder);
  if (system(cmd) != 0 || setenv("LOCPATH", folder, 1) != 0 ||
      !setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
    fprintf(stderr, "no de_DE.UTF-8 locale (is the locales package installed?)\n");
    return -1;
  }
  snprintf(text, sizeof text, "%.1f", 0.5);
  if (strcmp(text, "0,5") != 0) {
    fprintf(stderr, "de_DE.UTF-8 writes 0.5 as %s\n", text);
    return -1;
  }
  return 0;
}

int comma_locale_teardown(void **state) {
  char cmd[256];
  (void)state;

  setlocale(LC_NUMERIC, "C");
  unsetenv("LOCPATH");
  snprintf(cmd, sizeof cmd, "rm -rf %s", folder);
  if (system(cmd) != 0) {
    fprintf(stderr, "could not remove %s\n", folder);
    return -1;
  }
  return 0;
}
