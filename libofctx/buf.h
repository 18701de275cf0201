/* Internal: a growing byte buffer, always NUL-terminated, and the one
 * intrusive doubly-linked list the runtime's objects use. */
#ifndef OFCTX_BUF_H
#define OFCTX_BUF_H

#include <stddef.h>

typedef struct {
  char *data; /* NULL until something is added; free with ofctx__free */
  size_t len, cap;
  int failed; /* an allocation failed: what follows is not added */
} ofctx__buf_t;

/* Room for `more` bytes and a NUL; 0, or -1 (and `failed` set). */
int ofctx__buf_reserve(ofctx__buf_t *b, size_t more);
void ofctx__buf_append(ofctx__buf_t *b, const void *data, size_t len);
void ofctx__buf_puts(ofctx__buf_t *b, const char *s);
void ofctx__buf_printf(ofctx__buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `s` percent-encoded (%XX) but for what `mode` keeps: RFC 3986's
 * unreserved characters (a URL path segment or query part), those and '/'
 * (a path), or visible ASCII but '"' and '%' (a ce-* header value). */
#define OFCTX__ENCODE_COMPONENT 0
#define OFCTX__ENCODE_PATH 1
#define OFCTX__ENCODE_HEADER 2
void ofctx__buf_encoded(ofctx__buf_t *b, const char *s, int mode);
/* Appends `len` bytes of `s` percent-decoded; `b->data` is set even when
 * nothing is added. 0, or -1 for a '%' without two hex digits (unless
 * OFCTX__DECODE_LENIENT, which keeps it as it is), for a NUL byte (as %00
 * or as it is), or when out of memory (then `failed` is set). */
#define OFCTX__DECODE_PLUS 1    /* '+' is a space, as in a query */
#define OFCTX__DECODE_LENIENT 2 /* a '%' that starts no escape stays */
int ofctx__buf_decoded(ofctx__buf_t *b, const char *s, size_t len, int flags);
void ofctx__buf_free(ofctx__buf_t *b);

/* Unlinks `node` from the list whose first element is `head`; both are
 * structs with `prev` and `next` members. */
#define OFCTX__LIST_UNLINK(head, node)                                                             \
  do {                                                                                             \
    if ((node)->prev)                                                                              \
      (node)->prev->next = (node)->next;                                                           \
    else                                                                                           \
      (head) = (node)->next;                                                                       \
    if ((node)->next)                                                                              \
      (node)->next->prev = (node)->prev;                                                           \
    (node)->prev = (node)->next = NULL;                                                            \
  } while (0)

/* Puts `node` first in the list. */
#define OFCTX__LIST_PUSH(head, node)                                                               \
  do {                                                                                             \
    (node)->prev = NULL;                                                                           \
    (node)->next = (head);                                                                         \
    if (head)                                                                                      \
      (head)->prev = (node);                                                                       \
    (head) = (node);                                                                               \
  } while (0)

#endif
