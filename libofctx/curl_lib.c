/* libcurl through dlopen. See curl_lib.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_lib.h"
#include "log.h"

ofctx__curl_t ofctx__curl;

/* Each field of ofctx__curl and the symbol that fills it. */
#define SYMBOL(field)                                                                              \
  { offsetof(ofctx__curl_t, field), "curl_" #field }
static const struct {
  size_t offset;
  const char *name;
} symbols[] = {
    SYMBOL(easy_init),     SYMBOL(easy_setopt),         SYMBOL(easy_getinfo),
    SYMBOL(easy_cleanup),  SYMBOL(easy_strerror),       SYMBOL(multi_init),
    SYMBOL(multi_setopt),  SYMBOL(multi_add_handle),    SYMBOL(multi_remove_handle),
    SYMBOL(multi_assign),  SYMBOL(multi_socket_action), SYMBOL(multi_info_read),
    SYMBOL(multi_cleanup), SYMBOL(slist_append),        SYMBOL(slist_free_all),
};

static int state; /* 0 not tried, 1 open, -1 failed */

static int open_library(char *failure, size_t size) {
  const char *name = getenv("OFCTX_LIBCURL");
  CURLcode (*global_init)(long flags);
  void *lib, *fn;

  if (!name || !*name)
    name = "libcurl.so.4";
  lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(failure, size,
             "cannot load libcurl (OFCTX_LIBCURL, default libcurl.so.4 "
             "from Debian's libcurl4): %s",
             dlerror());
    return -1;
  }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    fn = dlsym(lib, symbols[i].name);
    if (!fn) {
      snprintf(failure, size, "%s is not libcurl: no %s", name, symbols[i].name);
      return -1; /* left loaded: a library may not be unloadable */
    }
    /* POSIX: a function's address from dlsym converts to a function pointer */
    memcpy((char *)&ofctx__curl + symbols[i].offset, &fn, sizeof fn);
  }
  fn = dlsym(lib, "curl_global_init");
  memcpy(&global_init, &fn, sizeof fn);
  if (!fn || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(failure, size, "%s: curl_global_init failed", name);
    return -1;
  }
  return 0;
}

int ofctx__curl_open(void) {
  char why[512];

  if (state == 0) {
    state = open_library(why, sizeof why) == 0 ? 1 : -1;
    if (state < 0)
      ofctx__log(OFCTX_LOG_ERROR, "sends are impossible", "error", why, (const char *)NULL);
  }
  return state > 0 ? 0 : -1;
}
