/* A library opened with dlopen and a table of its functions filled with
 * dlsym: what curl_lib.c and rdkafka_lib.c share. Internal. */
#ifndef OFCTX_DL_TABLE_H
#define OFCTX_DL_TABLE_H

#include <stddef.h>

/* One field of a table of function pointers and the symbol that fills it. */
typedef struct {
  size_t offset; /* offsetof the field in the table */
  const char *name;
} ofctx__dl_symbol_t;

/* Which library, and how its failures are told. All strings are the
 * caller's, static. */
typedef struct {
  const char *env;     /* the variable naming the library, e.g. "OFCTX_LIBCURL" */
  const char *soname;  /* the default when it is unset or empty, "libcurl.so.4" */
  const char *library; /* what the messages call it, "libcurl" */
  const char *package; /* the Debian package with the default, "libcurl4" */
  const ofctx__dl_symbol_t *symbols;
  size_t count;
} ofctx__dl_table_t;

/* Opens the library `spec` names (RTLD_NOW | RTLD_LOCAL) and writes the
 * address of each of its symbols at its offset in `table`. Returns the
 * handle, or NULL with why in `why` (`size` bytes): "cannot load LIBRARY
 * (ENV, default SONAME from Debian's PACKAGE): <dlerror>", or "NAME is not
 * LIBRARY: no SYMBOL". A library opened but short of a symbol is left
 * loaded (a library may not be unloadable), and `table` may then be partly
 * filled. `*name` (if not NULL) is set to the name opened, the environment's
 * string or `spec->soname`, in either case. Not thread-safe (dlerror). */
void *ofctx__dl_table_open(const ofctx__dl_table_t *spec, void *table, const char **name, char *why,
                           size_t size);

#endif
