/* rthunk-nearest.c — the nearest known name, for "did you mean" */
#include "config.h"

#include <string.h>

#include "rthunk-core-private.h"

/* The edit distance of two short names (insertions, deletions and
 * substitutions of bytes). */
static guint
edit_distance (const char *a,
               const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint above = row[j];

          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] != b[j - 1]));
          diagonal = above;
        }
    }
  return row[lb];
}

/* The candidate nearest to @name, or NULL when none is near enough to be
 * what was meant (more than a third of the name, and more than two, off).
 * @candidates: (array length=n). */
const char *
rthunk_nearest_name (const char        *name,
                     const char *const *candidates,
                     guint              n)
{
  const char *nearest = NULL;
  guint best = G_MAXUINT;

  for (guint k = 0; k < n; k++)
    {
      guint d = edit_distance (name, candidates[k]);

      if (d < best)
        best = d, nearest = candidates[k];
    }
  return best <= MAX (2, strlen (name) / 3) ? nearest : NULL;
}
