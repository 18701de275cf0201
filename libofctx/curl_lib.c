/* libcurl through dlopen. See curl_lib.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "curl_lib.h"
#include "dl_table.h"
#include "log.h"

ofctx__curl_t ofctx__curl;

/* Each field of ofctx__curl and the symbol that fills it. */
#define SYMBOL(field)                                                                              \
  { offsetof(ofctx__curl_t, field), "curl_" #field }
static const ofctx__dl_symbol_t symbols[] = {
    SYMBOL(easy_init),     SYMBOL(easy_setopt),         SYMBOL(easy_getinfo),
    SYMBOL(easy_cleanup),  SYMBOL(easy_strerror),       SYMBOL(multi_init),
    SYMBOL(multi_setopt),  SYMBOL(multi_add_handle),    SYMBOL(multi_remove_handle),
    SYMBOL(multi_assign),  SYMBOL(multi_socket_action), SYMBOL(multi_info_read),
    SYMBOL(multi_cleanup), SYMBOL(slist_append),        SYMBOL(slist_free_all),
};

static const ofctx__dl_table_t library = {
    .env = "OFCTX_LIBCURL",
    .soname = "libcurl.so.4",
    .library = "libcurl",
    .package = "libcurl4",
    .symbols = symbols,
    .count = sizeof symbols / sizeof symbols[0],
};

static int state; /* 0 not tried, 1 open, -1 failed */

static int open_library(char *failure, size_t size) {
  CURLcode (*global_init)(long flags);
  const char *name;
  void *lib, *fn;

  lib = ofctx__dl_table_open(&library, &ofctx__curl, &name, failure, size);
  if (!lib)
    return -1;
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
