/* dlopen and a table of dlsym. See dl_table.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_table.h"

void *ofctx__dl_table_open(const ofctx__dl_table_t *spec, void *table, const char **name, char *why,
                           size_t size) {
  const char *lib_name = getenv(spec->env);
  void *lib, *fn;

  if (!lib_name || !*lib_name)
    lib_name = spec->soname;
  if (name)
    *name = lib_name;
  lib = dlopen(lib_name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(why, size, "cannot load %s (%s, default %s from Debian's %s): %s", spec->library,
             spec->env, spec->soname, spec->package, dlerror());
    return NULL;
  }
  for (size_t i = 0; i < spec->count; i++) {
    fn = dlsym(lib, spec->symbols[i].name);
    if (!fn) {
      snprintf(why, size, "%s is not %s: no %s", lib_name, spec->library, spec->symbols[i].name);
      return NULL; /* left loaded: a library may not be unloadable */
    }
    /* POSIX: a function's address from dlsym converts to a function pointer */
    memcpy((char *)table + spec->symbols[i].offset, &fn, sizeof fn);
  }
  return lib;
}
