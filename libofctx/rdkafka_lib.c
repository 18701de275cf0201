/* librdkafka through dlopen. See rdkafka_lib.h. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdkafka_lib.h"

ofctx__rdkafka_t ofctx__rdkafka;

/* Each field of ofctx__rdkafka and the symbol that fills it. */
#define OFCTX__RDKAFKA_SYMBOL(name) {offsetof(ofctx__rdkafka_t, name), "rd_kafka_" #name},
static const struct {
  size_t offset;
  const char *name;
} symbols[] = {OFCTX__RDKAFKA_FUNCTIONS(OFCTX__RDKAFKA_SYMBOL)};

static int state; /* 0 not tried, 1 open, -1 failed */
static char failure[512];

static int open_library(void) {
  const char *name = getenv("OFCTX_LIBRDKAFKA");
  void *lib, *fn;

  if (!name || !*name)
    name = "librdkafka.so.1";
  lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(failure, sizeof failure,
             "cannot load librdkafka (OFCTX_LIBRDKAFKA, default librdkafka.so.1 "
             "from Debian's librdkafka1): %s",
             dlerror());
    return -1;
  }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    fn = dlsym(lib, symbols[i].name);
    if (!fn) {
      snprintf(failure, sizeof failure, "%s is not librdkafka: no %s", name, symbols[i].name);
      return -1; /* left loaded: a library may not be unloadable */
    }
    /* POSIX: a function's address from dlsym converts to a function pointer */
    memcpy((char *)&ofctx__rdkafka + symbols[i].offset, &fn, sizeof fn);
  }
  return 0;
}

int ofctx__rdkafka_open(char *why, size_t size) {
  if (state == 0)
    state = open_library() == 0 ? 1 : -1;
  if (state < 0 && why && size)
    snprintf(why, size, "%s", failure);
  return state > 0 ? 0 : -1;
}
