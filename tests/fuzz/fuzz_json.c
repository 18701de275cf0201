/* Fuzz target: the JSON decision (ofctx__json_valid) against a second
 * parser. jansson, loading with every flag that widens it, must agree on
 * every input, except on the documents RFC 8259 allows and jansson cannot
 * hold: numbers past its types, lone surrogates, nesting past its limit,
 * "\u0000" in a member name.
 * (jansson also skips a NUL byte between tokens; no JSON text holds one.) The member
 * walk and string decoding run on whatever is valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "json_scan.h"

static int count_member(void *arg, const char *key, size_t key_len, const char *value,
                        size_t value_len) {
  ofctx__buf_t name = {0};

  ofctx__json_string_decode(&name, key, key_len);
  if (!name.failed && (value_len == 0 || key_len < 2 || key[0] != '"' || key[key_len - 1] != '"'))
    abort();
  if (!name.failed && ofctx__json_value_len(value, value_len) != value_len)
    abort(); /* a member's value is one whole value */
  ofctx__buf_free(&name);
  ++*(size_t *)arg;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  int ours = ofctx__json_valid(s, size);
  json_error_t err;
  json_t *theirs = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

  if (memchr(s, '\0', size)) {
    /* no JSON text holds a NUL byte; jansson skips one between tokens */
    if (ours)
      abort();
  } else if (theirs && !ours) {
    abort(); /* jansson takes what is not JSON, or we refuse JSON */
  }
  if (!theirs && ours && !memchr(s, '\0', size)) {
    enum json_error_code code = json_error_code(&err);
    int beyond = code == json_error_numeric_overflow || code == json_error_stack_overflow ||
                 code == json_error_out_of_memory || strstr(err.text, "invalid Unicode") ||
                 code == json_error_null_byte_in_key;
    if (!beyond)
      abort(); /* we take what jansson refuses for another reason */
  }
  json_decref(theirs);
  if (ours) {
    size_t members = 0;
    int rc = ofctx__json_members(s, size, count_member, &members);
    if (rc != 0 && rc != -2)
      abort();
  }
  return 0;
}
