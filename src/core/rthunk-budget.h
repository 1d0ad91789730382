/* rthunk-budget.h — one memory budget that a whole server charges.  Private.
 *
 * It lives in core because every layer charges it: the evaluator (lang)
 * as it builds lists and strings, the frame reader (wire) before it
 * allocates a frame, the server's tables for what they keep.
 */
#pragma once

#include <glib.h>

#include "rthunk-error.h"

G_BEGIN_DECLS

typedef struct _RthunkBudget RthunkBudget;

/* Frees up to @wanted bytes that were charged to the budget (releasing
 * them) and returns how many it freed. Called with no lock of the budget
 * held, and never from inside the holder's own lock. */
typedef gsize (*RthunkBudgetEvictFunc) (gpointer data,
                                        gsize    wanted);

#define RTHUNK_BUDGET_MAX_EVICTORS 4

RthunkBudget *rthunk_budget_new          (guint64                limit);
void          rthunk_budget_free         (RthunkBudget          *budget);
void          rthunk_budget_add_evictor  (RthunkBudget          *budget,
                                          RthunkBudgetEvictFunc  evict,
                                          gpointer               data);
gboolean      rthunk_budget_try_charge   (RthunkBudget          *budget,
                                          guint64                bytes);
gboolean      rthunk_budget_charge       (RthunkBudget          *budget,
                                          guint64                bytes);
void          rthunk_budget_release      (RthunkBudget          *budget,
                                          guint64                bytes);
gboolean      rthunk_budget_fits         (RthunkBudget          *budget,
                                          guint64                bytes);
guint64       rthunk_budget_get_used     (RthunkBudget          *budget);
guint64       rthunk_budget_get_limit    (RthunkBudget          *budget);
guint64       rthunk_budget_get_refused  (RthunkBudget          *budget);
void          rthunk_budget_set_error    (RthunkBudget          *budget,
                                          GError               **error,
                                          RthunkError            code,
                                          const char            *what,
                                          guint64                bytes);

G_END_DECLS
