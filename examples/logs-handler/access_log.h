/* The access-log line of an Apache or nginx server (common, combined,
 * vhost_combined, and those with extra fields after them), read field by
 * field: a status is only ever taken from the status field. */
#ifndef LH_ACCESS_LOG_H
#define LH_ACCESS_LOG_H

#include <stddef.h>

/* A view into the line (not NUL-terminated). */
typedef struct {
  const char *p;
  size_t len;
} lh_span_t;

typedef struct {
  lh_span_t client;         /* %h: an address or a host name */
  lh_span_t user;           /* %u, "-" when none */
  lh_span_t time;           /* inside [...]: 25/Aug/2021:01:54:36 +0000 */
  lh_span_t request;        /* inside "...", escapes kept; "-" for none */
  lh_span_t method;         /* empty when the request line is not METHOD TARGET [PROTO] */
  lh_span_t target;         /* as sent: /path?query, or absolute http://host/path */
  lh_span_t path;           /* the target's path, without query or fragment */
  lh_span_t protocol;       /* HTTP/1.1, HTTP/2.0...; empty for HTTP/0.9 */
  int status;               /* 100-599 */
  long long size;           /* bytes sent, -1 for "-" */
  lh_span_t referer, agent; /* inside "...", escapes kept; empty when absent */
} lh_access_t;

/* 1 when `line` (`len` bytes) is an access-log line, with its fields in
 * `out`; 0 when it is not one. */
int lh_access_parse(const char *line, size_t len, lh_access_t *out);

/* The month of the three letters at `p` (Jan...Dec, as in an access log's
 * time): 1-12, or 0. */
int lh_clf_month(const char *p);

#endif
