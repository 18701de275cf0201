/* For tests: a locale whose decimal point is a comma (de_DE.UTF-8), made
 * with localedef (Debian's `locales`, a test package) in a folder of its
 * own that LOCPATH names, and set for LC_NUMERIC, as a function may set
 * one: then printf writes 0.5 as "0,5". */
#ifndef OFCTX_TESTS_COMMA_LOCALE_H
#define OFCTX_TESTS_COMMA_LOCALE_H

/* A cmocka setup: 0 with the locale set (printf checked to write a
 * comma), or -1 with a message on stderr (the test fails). */
int comma_locale_setup(void **state);
/* Its teardown, run whatever the test did: back to the "C" locale, the
 * folder removed. */
int comma_locale_teardown(void **state);

#endif
