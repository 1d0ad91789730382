/* rthunk-budget.c — one memory budget that a whole server charges
 *
 * A counter of bytes in use against a limit, changed with atomics only:
 * a charge that would go past the limit is refused and changes nothing,
 * so the total never exceeds the limit. Before refusing, rthunk_budget_charge()
 * asks the evictors (in the order they were added: the result cache, then
 * finished thunks' values) to free what they may. Everything the server
 * keeps or builds charges it: frames being read, running evaluations,
 * finished values, definitions and the result cache.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "rthunk-budget.h"
#include "rthunk-error.h"

typedef struct
{
  RthunkBudgetEvictFunc evict;
  gpointer data;
} Evictor;

struct _RthunkBudget
{
  guint64 limit;
  gint64 used;                  /* atomic */
  gint64 refused;               /* atomic: charges refused */
  Evictor evictors[RTHUNK_BUDGET_MAX_EVICTORS];
  guint n_evictors;             /* set before any charge */
};

RthunkBudget *
rthunk_budget_new (guint64 limit)
{
  RthunkBudget *budget = g_new0 (RthunkBudget, 1);

  budget->limit = MIN (limit, (guint64) G_MAXINT64);
  return budget;
}

void
rthunk_budget_free (RthunkBudget *budget)
{
  g_free (budget);
}

/* Adds an evictor; only before the budget is shared between threads. */
void
rthunk_budget_add_evictor (RthunkBudget          *budget,
                           RthunkBudgetEvictFunc  evict,
                           gpointer               data)
{
  g_assert (budget->n_evictors < RTHUNK_BUDGET_MAX_EVICTORS);
  budget->evictors[budget->n_evictors].evict = evict;
  budget->evictors[budget->n_evictors].data = data;
  budget->n_evictors++;
}

/* Charges @bytes if they fit under the limit now; nothing is evicted.
 * (GLib has no 64-bit atomics: the compiler's builtins do it.) */
gboolean
rthunk_budget_try_charge (RthunkBudget *budget,
                          guint64       bytes)
{
  gint64 used = __atomic_load_n (&budget->used, __ATOMIC_RELAXED);

  for (;;)
    {
      if (bytes > budget->limit || (guint64) used > budget->limit - bytes)
        return FALSE;
      if (__atomic_compare_exchange_n (&budget->used, &used, used + (gint64) bytes,
                                       TRUE, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return TRUE;
    }
}

/* Evictions of at least this many bytes give the freed memory back to the
 * system: glibc keeps what was freed in its arenas otherwise, and the
 * process would stay as large as it ever was. */
#define TRIM_AFTER_BYTES (4u << 20)

static void
give_back (gsize freed)
{
#ifdef __GLIBC__
  if (freed >= TRIM_AFTER_BYTES)
    malloc_trim (0);
#endif
}

/* Charges @bytes, asking the evictors to make room if they do not fit;
 * FALSE (nothing charged, the refusal counted) if they still do not. */
gboolean
rthunk_budget_charge (RthunkBudget *budget,
                      guint64       bytes)
{
  gsize freed = 0;

  if (rthunk_budget_try_charge (budget, bytes))
    return TRUE;
  for (guint k = 0; k < budget->n_evictors && bytes <= budget->limit; k++)
    {
      guint64 over = rthunk_budget_get_used (budget) + bytes;

      if (over > budget->limit)
        freed += budget->evictors[k].evict (budget->evictors[k].data, over - budget->limit);
      if (rthunk_budget_try_charge (budget, bytes))
        {
          give_back (freed);
          return TRUE;
        }
    }
  give_back (freed);
  __atomic_add_fetch (&budget->refused, 1, __ATOMIC_RELAXED);
  return FALSE;
}

void
rthunk_budget_release (RthunkBudget *budget,
                       guint64       bytes)
{
  gint64 left = __atomic_sub_fetch (&budget->used, (gint64) bytes, __ATOMIC_ACQ_REL);

  g_assert (left >= 0);
}

/* Whether @bytes more would fit now (without evicting anything). */
gboolean
rthunk_budget_fits (RthunkBudget *budget,
                    guint64       bytes)
{
  guint64 used = rthunk_budget_get_used (budget);

  return bytes <= budget->limit && used <= budget->limit - bytes;
}

guint64
rthunk_budget_get_used (RthunkBudget *budget)
{
  return (guint64) __atomic_load_n (&budget->used, __ATOMIC_RELAXED);
}

guint64
rthunk_budget_get_limit (RthunkBudget *budget)
{
  return budget->limit;
}

guint64
rthunk_budget_get_refused (RthunkBudget *budget)
{
  return (guint64) __atomic_load_n (&budget->refused, __ATOMIC_RELAXED);
}

/* Sets @error (RTHUNK_ERROR, @code) to say that @what, of @bytes bytes,
 * does not fit: "server memory budget reached: …". */
void
rthunk_budget_set_error (RthunkBudget  *budget,
                         GError       **error,
                         RthunkError    code,
                         const char    *what,
                         guint64        bytes)
{
  g_set_error (error, RTHUNK_ERROR, code,
               _("server memory budget reached: %s of %" PRIu64 " bytes does not fit "
                 "(%" PRIu64 " of %" PRIu64 " bytes in use)"),
               what, bytes, rthunk_budget_get_used (budget), budget->limit);
}
