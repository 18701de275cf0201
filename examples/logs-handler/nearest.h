/* The known name nearest a mistyped one, for "did you mean" hints. */
#ifndef LH_NEAREST_H
#define LH_NEAREST_H

#include <stddef.h>

/* The name of `known` (a NULL-terminated list) nearest `name` by edit
 * distance without regard to case: a third of the name's length or fewer
 * edits (at least one, at most three), the first listed among names as
 * near; NULL when none is that near. The result is one of `known`. */
const char *lh_nearest(const char *name, const char *const *known);

#endif
