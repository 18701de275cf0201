/* Edit distance (Levenshtein, case-insensitive) and the nearest known name. */
#include <ctype.h>
#include <string.h>

#include "nearest.h"

#define LONGEST 63

/* Edit distance between `a` and `b` without regard to case; names longer
 * than LONGEST bytes are never near (LONGEST + 1). */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[LONGEST + 1];

  if (la > LONGEST || lb > LONGEST)
    return LONGEST + 1;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *lh_nearest(const char *name, const char *const *known) {
  size_t limit = strlen(name) / 3, best = LONGEST + 1;
  const char *nearest = NULL;

  if (limit < 1)
    limit = 1;
  if (limit > 3)
    limit = 3;
  for (; known && *known; known++) {
    size_t d = distance(name, *known);
    if (d <= limit && d < best) {
      best = d;
      nearest = *known;
    }
  }
  return nearest;
}
