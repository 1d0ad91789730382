/* rthunk-worker-pool.c — the worker pool: running thunks
 *
 * Workers (and a connection's thread, for a short pure thunk) evaluate a
 * thunk with the checker and evaluator their thread keeps, bind the thunks
 * it waits for, and publish its outcome.
 *
 * Each thread reuses one checker (borrowed only when the memo misses) and
 * one evaluator, which keeps the code of the last form it compiled and runs
 * it again for the same tree (the decode memo gives every request of one
 * shape and literals the same tree; the code is compiled again if a name
 * it looked up, such as a shadowed `+`, is bound otherwise now). A thunk's
 * GCancellable is made only when a worker runs it: an inline evaluation is
 * a few steps in the connection's thread, which holds the thunk RUNNING
 * meanwhile, and a cancel that comes first is kept in the entry.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-def-store.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-lang-private.h"
#include "rthunk-long-watch.h"
#include "rthunk-result-cache.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk-table.h"
#include "rthunk-value.h"

#define INLINE_FUEL 20000

/* Each thread keeps one checker and one evaluator between requests: made
 * and finalized per request, these GObjects and their tables cost more
 * than checking or evaluating a small expression. A borrowed one is reset
 * when it comes back, so it holds no value or type of a finished request. */
RTHUNK_THREAD_KEPT (thread_checker, g_object_unref);

RTHUNK_THREAD_KEPT (thread_evaluator, g_object_unref);

static RthunkThreadKept *
checker_cell (void)
{
  return &thread_checker;
}

static RthunkThreadKept *
evaluator_cell (void)
{
  return &thread_evaluator;
}

static gpointer
make_checker (RthunkCatalog *catalog)
{
  return rthunk_checker_new (catalog);
}

static gboolean
reset_checker (gpointer       checker,
               RthunkCatalog *catalog)
{
  return rthunk_checker_reset (checker, catalog);
}

static gpointer
make_evaluator (RthunkCatalog *catalog)
{
  RthunkEvaluator *evaluator = rthunk_evaluator_new (catalog);

  /* a server's print never waits on its standard output */
  rthunk_evaluator_set_print_sink (evaluator, TRUE);
  return evaluator;
}

static gboolean
reset_evaluator (gpointer       evaluator,
                 RthunkCatalog *catalog)
{
  return rthunk_evaluator_reset (evaluator, catalog);
}

static RthunkCatalog *
checker_catalog (gpointer checker)
{
  return rthunk_checker_peek_catalog (checker);
}

static RthunkCatalog *
evaluator_catalog (gpointer evaluator)
{
  return rthunk_evaluator_peek_catalog (evaluator);
}

const RthunkReusable rthunk_handler_reusable_checker = { checker_cell, make_checker, reset_checker, checker_catalog };

static const RthunkReusable reusable_evaluator = { evaluator_cell, make_evaluator, reset_evaluator, evaluator_catalog };

/* The thread's object for @state's catalog, or a new one. What the thread
 * keeps was reset when it came back: it needs no second reset. */
gpointer
rthunk_handler_borrow (const RthunkReusable *reusable,
                       RthunkServerState    *state)
{
  RthunkThreadKept *cell = reusable->cell ();
  gpointer object = rthunk_thread_kept_take (cell);

  if (object != NULL && reusable->catalog (object) != state->catalog)
    {
      /* no longer the thread's to free */
      rthunk_thread_kept_give (cell, object, FALSE);
      g_clear_object (&object);
    }
  return object != NULL ? object : reusable->make (state->catalog);
}

/* Keeps @object for the thread's next request (reset, so that it holds
 * nothing of this one), unless the thread keeps one already. */
void
rthunk_handler_give_back (const RthunkReusable *reusable,
                          RthunkServerState    *state,
                          gpointer              object)
{
  if (!rthunk_thread_kept_give (reusable->cell (), object, reusable->reset (object, state->catalog)))
    g_object_unref (object);
}

/* Makes every definition the thunk uses callable under its hash name (the
 * stored forms and the expression were renamed so). */
static gboolean
bind_definitions (RthunkEvaluator   *evaluator,
                  RthunkThunkEntry  *entry,
                  GError           **error)
{
  for (guint k = 0; entry->definitions != NULL && k < entry->definitions->len; k++)
    {
      RthunkDefinition *def = g_ptr_array_index (entry->definitions, k);
      g_autoptr(RthunkValue) closure = rthunk_evaluator_eval (evaluator, def->form, error);

      if (closure == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Waits for the thunks the expression takes as inputs (promise
 * pipelining: they were queued before it) and binds their values. */
static gboolean
bind_thunk_inputs (RthunkServerState  *state,
                   RthunkEvaluator    *evaluator,
                   RthunkThunkEntry   *entry,
                   GCancellable       *cancellable,
                   gint64              deadline,
                   GError            **error)
{
  for (guint k = 0; entry->thunk_inputs != NULL && k < rthunk_bindings_len (entry->thunk_inputs); k++)
    {
      const char *name = rthunk_bindings_name (entry->thunk_inputs, k);
      RthunkThunkEntry *input = rthunk_bindings_item (entry->thunk_inputs, k);
      g_autoptr(RthunkValue) done = NULL;

      while (rthunk_thunk_table_get_state (state->table, input) <= RTHUNK_THUNK_RUNNING)
        {
          if (g_cancellable_is_cancelled (cancellable))
            return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                _("the thunk was cancelled")), FALSE;
          if (deadline > 0 && g_get_monotonic_time () > deadline)
            return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                                _("the thunk ran past its deadline waiting for its input “%s”"),
                                name), FALSE;
          rthunk_thunk_table_wait_any (state->table, &input, 1, g_get_monotonic_time () + 100000, NULL);
        }
      if (rthunk_thunk_table_get_outcome (state->table, input, &done) != RTHUNK_THUNK_DONE)
        return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                            _("its input “%s” failed: %s"), name,
                            input->error != NULL ? input->error->message : _("cancelled")), FALSE;
      rthunk_evaluator_bind (evaluator, name, done);
    }
  return TRUE;
}

/* Evaluates @entry's expression with at most @fuel steps, until
 * @cancellable (if any) is cancelled. */
static RthunkValue *
evaluate_entry (RthunkServerState  *state,
                RthunkThunkEntry   *entry,
                guint64             fuel,
                GCancellable       *cancellable,
                GError            **error)
{
  RthunkEvaluator *evaluator = rthunk_handler_borrow (&reusable_evaluator, state);
  RthunkValue *value = NULL;
  gint64 deadline = 0;

  if (entry->deadline_ms > 0)
    deadline = entry->submitted_us + (gint64) entry->deadline_ms * 1000;
  rthunk_evaluator_set_limits (evaluator, fuel, state->limits.max_depth, deadline);
  rthunk_evaluator_set_max_bytes (evaluator, state->limits.max_eval_bytes);
  /* connection threads evaluating inline charge the same budget */
  rthunk_evaluator_set_budget (evaluator, state->budget);
  rthunk_evaluator_set_cancellable (evaluator, cancellable);
  for (guint k = 0; entry->inputs != NULL && k < rthunk_bindings_len (entry->inputs); k++)
    rthunk_evaluator_bind (evaluator, rthunk_bindings_name (entry->inputs, k), rthunk_bindings_item (entry->inputs, k));
  if (bind_thunk_inputs (state, evaluator, entry, cancellable, deadline, error) &&
      bind_definitions (evaluator, entry, error))
    value = rthunk_evaluator_eval (evaluator, entry->expr, error);
  rthunk_handler_give_back (&reusable_evaluator, state, evaluator);
  return value;
}

/* Caches, counts and publishes the outcome of a started thunk. */
static void
complete_entry (RthunkServerState *state,
                RthunkThunkEntry  *entry,
                RthunkValue       *value,
                const GError      *error)
{
  g_clear_pointer (&entry->thunk_inputs, rthunk_bindings_unref);
  if (value != NULL && entry->cacheable)
    {
      rthunk_result_cache_insert (state->cache, entry->cache_key, value);
      rthunk_handler_store_result (state, entry->cache_key, entry->type, value);
    }
  /* count before finishing: whoever sees the thunk finished sees it counted */
  if (value != NULL)
    COUNT (state->counters.completed);
  else if (g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED))
    COUNT (state->counters.cancelled);
  else
    COUNT (state->counters.failed);
  rthunk_server_state_thunk_finished (state, entry, value != NULL ? NULL : error, "run");
  rthunk_thunk_table_finish (state->table, entry, value, error);
}

/* Gives @entry (a reference is taken) to the worker pool, or holds it
 * back while its connection has its running quota in the pool. */
void
rthunk_handler_queue_thunk (RthunkServerState *state,
                            RthunkThunkEntry  *entry)
{
  RthunkConnAccount *owner = entry->owner;
  gboolean hold = FALSE;

  if (owner != NULL)
    {
      g_mutex_lock (&owner->lock);
      hold = !owner->closed && owner->in_pool >= rthunk_handler_running_quota (state);
      if (hold)
        g_queue_push_tail (&owner->held, rthunk_thunk_entry_ref (entry));
      else
        owner->in_pool++;
      g_mutex_unlock (&owner->lock);
    }
  if (!hold)
    g_thread_pool_push (state->pool, rthunk_thunk_entry_ref (entry), NULL);
}

/* @entry left the pool: the next thunk its connection held back, if any,
 * takes its place. */
static void
left_pool (RthunkServerState *state,
           RthunkThunkEntry  *entry)
{
  RthunkConnAccount *owner = entry->owner;
  RthunkThunkEntry *next;

  if (owner == NULL)
    return;
  g_mutex_lock (&owner->lock);
  owner->in_pool--;
  next = g_queue_pop_head (&owner->held);
  if (next != NULL)
    owner->in_pool++;
  g_mutex_unlock (&owner->lock);
  if (next != NULL)
    g_thread_pool_push (state->pool, next, NULL);
}

/* The connection of @account is gone: its thunks that nobody else named
 * are cancelled (nobody can fetch them), and what it held back goes to the
 * pool (there is no connection left to be fair to; the cancelled ones end
 * there at once). */
void
rthunk_handler_connection_closed (RthunkServerState *state,
                                  RthunkConnAccount *account)
{
  RthunkThunkEntry *next;

  /* its unfinished thunks are cancelled after a grace period, unless
   * another connection (the same client, reconnected) names them */
  rthunk_orphan_reaper_add (state->orphans, account);

  g_mutex_lock (&account->lock);
  account->closed = TRUE;
  account->in_pool += account->held.length;
  while ((next = g_queue_pop_head (&account->held)) != NULL)
    g_thread_pool_push (state->pool, next, NULL);
  g_mutex_unlock (&account->lock);
}

void
rthunk_handler_run_thunk (gpointer data,
                          gpointer user_data)
{
  RthunkThunkEntry *entry = data;
  RthunkServerState *state = user_data;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  RthunkLongSlot *slot;

  if (!rthunk_thunk_table_start (state->table, entry))
    {
      /* cancelled while queued: counted by thunkCancel */
      left_pool (state, entry);
      rthunk_thunk_entry_unref (entry);
      return;
    }
  g_atomic_int_inc (&state->running);
  cancellable = rthunk_thunk_table_get_cancellable (state->table, entry);
  slot = rthunk_long_watch_enter (state->long_watch);
  value = evaluate_entry (state, entry, entry->fuel, cancellable, &error);
  complete_entry (state, entry, value, error);
  rthunk_long_watch_leave (state->long_watch, slot);
  g_atomic_int_dec_and_test (&state->running);
  left_pool (state, entry);
  rthunk_thunk_entry_unref (entry);
}

/* A short pure thunk is evaluated right away in the connection's thread,
 * with a little fuel: most small requests finish there, with no hand-off
 * to a worker. One that needs more fuel is queued and starts again from
 * scratch — harmless, since pure code has no effect to repeat. @entry is
 * RUNNING in this thread's hands (submit() started it): a cancel meanwhile
 * only asks, and cannot free what the evaluation reads. */
gboolean
rthunk_handler_try_inline_within (RthunkServerState *state,
                                  RthunkThunkEntry  *entry,
                                  guint64            steps)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  guint64 fuel = MIN (entry->fuel, steps);

  /* too short to be worth a cancellable: a cancel asked meanwhile finds it
   * finished, or ends it when it is queued (rthunk_thunk_table_unstart()) */
  value = evaluate_entry (state, entry, fuel, NULL, &error);
  if (value == NULL && fuel < entry->fuel &&
      g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_FUEL_EXHAUSTED))
    return FALSE;
  complete_entry (state, entry, value, error);
  return TRUE;
}

gboolean
rthunk_handler_try_inline (RthunkServerState *state,
                           RthunkThunkEntry  *entry)
{
  return rthunk_handler_try_inline_within (state, entry, INLINE_FUEL);
}
