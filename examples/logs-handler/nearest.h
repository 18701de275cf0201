/* The known name nearest a mistyped one, for "did you mean" hints. */
#ifndef LH_NEAREST_H
#define LH_NEAREST_H

#include <stddef.h>

/* The edit distance of the first `alen` bytes of `a` and the string `b`,
 * without regard to case: insertions, deletions, substitutions and swaps of
 * two neighbours count one each (the optimal string alignment distance).
 * Names longer than LH_NEAR_LONGEST bytes are never near: the result is
 * then LH_NEAR_LONGEST + 1. */
#define LH_NEAR_LONGEST 63
size_t lh_distance(const char *a, size_t alen, const char *b);

/* A search for the candidate nearest `name` (`len` bytes): each candidate
 * offered in turn, the first of the nearest kept (borrowed). */
typedef struct {
  const char *name;
  size_t len;
  const char *best; /* NULL until a candidate is offered */
  size_t distance;
} lh_near_t;

void lh_near_init(lh_near_t *n, const char *name, size_t len);
void lh_near_offer(lh_near_t *n, const char *candidate);

/* The name of `known` (a NULL-terminated list) nearest `name` by edit
 * distance without regard to case: a third of the name's length or fewer
 * edits (at least one, at most three), the first listed among names as
 * near; NULL when none is that near. The result is one of `known`. */
const char *lh_nearest(const char *name, const char *const *known);

#endif
