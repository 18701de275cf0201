/* Internal: the Knative runtime's route, the context's httpPattern. A pattern
 * is a path whose segments are text, {name} (any one non-empty segment) or
 * {name:regex} (a segment the PCRE2 regex matches in full); it matches a
 * request path with as many segments, compared after percent-decoding. */
#ifndef OFCTX_ROUTE_H
#define OFCTX_ROUTE_H

#include <stddef.h>

#include <jansson.h>

#include "ofctx/error.h"

typedef struct ofctx__route ofctx__route_t;

/* Compiles `pattern` into `*out` (free it with ofctx__route_free). Returns
 * OFCTX_OK; OFCTX_EINVAL with a message naming the pattern's fault in `err`
 * (may be NULL); OFCTX_ENOMEM when out of memory (the message says so). */
ofctx_err_t ofctx__route_compile(ofctx__route_t **out, const char *pattern, ofctx_error_t *err);

/* 1 when `path` (a request path, percent-encoded) matches, with the decoded
 * parameters set in `params` (a JSON object, name → string); 0 when it does
 * not (also when a parameter does not decode to UTF-8); -1 when out of
 * memory. */
int ofctx__route_match(const ofctx__route_t *route, const char *path, json_t *params);

/* The number of parameters the pattern has. */
size_t ofctx__route_param_count(const ofctx__route_t *route);

void ofctx__route_free(ofctx__route_t *route);

#endif
