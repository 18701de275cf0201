/* Error codes, their texts, and the detail message of ofctx_error_t. */
#include <stdarg.h>
#include <stdio.h>

#include "error_msg.h"

const char *ofctx_strerror(ofctx_err_t code) {
  /* A switch over the X-macro: every code has its case, and a value that is
   * not a code falls through to the default text. */
  switch (code) {
#define OFCTX_STRERROR_GEN(name, text)                                                             \
  case OFCTX_##name:                                                                               \
    return text;
    OFCTX_ERRNO_MAP(OFCTX_STRERROR_GEN)
#undef OFCTX_STRERROR_GEN
  }
  return "unknown error";
}

const char *ofctx_err_name(ofctx_err_t code) {
  switch (code) {
#define OFCTX_ERRNAME_GEN(name, text)                                                              \
  case OFCTX_##name:                                                                               \
    return #name;
    OFCTX_ERRNO_MAP(OFCTX_ERRNAME_GEN)
#undef OFCTX_ERRNAME_GEN
  }
  return "UNKNOWN";
}

ofctx_err_t ofctx__error(ofctx_error_t *err, ofctx_err_t code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

void ofctx__error_clear(ofctx_error_t *err) {
  if (err) {
    err->code = OFCTX_OK;
    err->message[0] = '\0';
  }
}
