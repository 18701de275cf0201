/* Edit distance (optimal string alignment, case-insensitive) and the nearest known name. */
#include <ctype.h>
#include <string.h>

#include "nearest.h"

size_t lh_distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b), rows[3][LH_NEAR_LONGEST + 1];

  if (la > LH_NEAR_LONGEST || lb > LH_NEAR_LONGEST)
    return LH_NEAR_LONGEST + 1;
  for (size_t j = 0; j <= lb; j++)
    rows[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t *row = rows[i % 3], *up = rows[(i - 1) % 3], *up2 = rows[(i + 1) % 3];
    int ca = tolower((unsigned char)a[i - 1]);
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      int cb = tolower((unsigned char)b[j - 1]);
      size_t best = up[j - 1] + (ca != cb);
      if (up[j] + 1 < best)
        best = up[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && up2[j - 2] + 1 < best)
        best = up2[j - 2] + 1;
      row[j] = best;
    }
  }
  return rows[la % 3][lb];
}

void lh_near_init(lh_near_t *n, const char *name, size_t len) {
  *n = (lh_near_t){name, len, NULL, LH_NEAR_LONGEST + 1};
}

void lh_near_offer(lh_near_t *n, const char *candidate) {
  size_t d = lh_distance(n->name, n->len, candidate);

  if (d < n->distance) {
    n->distance = d;
    n->best = candidate;
  }
}

const char *lh_nearest(const char *name, const char *const *known) {
  size_t limit = strlen(name) / 3;
  lh_near_t near;

  if (limit < 1)
    limit = 1;
  if (limit > 3)
    limit = 3;
  lh_near_init(&near, name, strlen(name));
  for (; known && *known; known++)
    lh_near_offer(&near, *known);
  return near.distance <= limit ? near.best : NULL;
}
