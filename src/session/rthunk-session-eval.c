/* rthunk-session-eval.c — evaluating forms: the evaluator lock, evaluations
 * in the thread pool, and rthunk_session_eval()
 *
 * A bounded form (literals, names, if/do/and/or and the standard
 * library's operators: nothing that can wait, print or loop) is evaluated
 * in the session's own thread, when the evaluator is free; handing it to
 * the pool would cost more than running it (see
 * rthunk_session_evaluation_run_here()). So is an expression of a
 * sequential session (a script), awaits and all, when no dashboard is
 * served: the session's thread would only wait for it, and the pool cost
 * two thread switches a form and the evaluator lock's hand-offs around
 * each wait.
 *
 * Any other evaluation runs in a thread pool. The main thread waits for
 * it until it is done, or until it has to wait for a thunk (the block hook
 * of rthunk-thunk tells), or until the evaluation budget is spent; then
 * the cell is pending and the result is applied later, in the session's
 * main context. The evaluator is one object used by one thread at a time: an
 * evaluation holds the evaluator lock while it runs and lets go of it while
 * it waits for a thunk or for a server to take a submission. Values that
 * the main thread binds are queued and bound by whoever holds the lock
 * next.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-session-private.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-core-private.h"
#include "rthunk-cluster-private.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-forms.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-reader.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

#define DEFAULT_SOURCE "<eval>"

GPrivate rthunk_session_current_evaluation;

/* ---- the evaluator lock and the bindings waiting for it ----------------------- */

static void
drain_binds_locked (RthunkSession *self)
{
  for (;;)
    {
      Binding *binding;

      g_mutex_lock (&self->bind_lock);
      binding = g_queue_pop_head (&self->binds);
      g_mutex_unlock (&self->bind_lock);
      if (binding == NULL)
        return;
      rthunk_evaluator_bind (self->evaluator, binding->name, binding->value);
      rthunk_value_unref (binding->value);
      g_free (binding->name);
      g_free (binding);
    }
}

/* Binds @name in the evaluator now, or as soon as its lock is free. */
static void
queue_bind (RthunkSession *self,
            const char    *name,
            RthunkValue   *value)
{
  Binding *binding = g_new (Binding, 1);

  binding->name = g_strdup (name);
  binding->value = rthunk_value_ref (value);
  g_mutex_lock (&self->bind_lock);
  g_queue_push_tail (&self->binds, binding);
  g_mutex_unlock (&self->bind_lock);
  if (g_mutex_trylock (&self->eval_lock))
    {
      drain_binds_locked (self);
      g_mutex_unlock (&self->eval_lock);
    }
}

/* What untracked readers see: the values of def cells (a defn binds
 * itself when it runs, with its definition). */
void
rthunk_session_cell_publish (RthunkSession *self,
                             Cell          *cell)
{
  if (cell->name != NULL && cell->value != NULL &&
      !(cell->is_defn && cell->state == CELL_DONE))
    queue_bind (self, cell->name, cell->value);
}

void
rthunk_session_evaluator_enter (RthunkSession *self,
                                Evaluation    *ev)
{
  g_mutex_lock (&self->eval_lock);
  drain_binds_locked (self);
  rthunk_evaluator_set_cancellable (self->evaluator, ev->cancellable);
  ev->locked = TRUE;
}

void
rthunk_session_evaluator_leave (RthunkSession *self,
                                Evaluation    *ev)
{
  ev->locked = FALSE;
  rthunk_evaluator_set_cancellable (self->evaluator, NULL);
  g_mutex_unlock (&self->eval_lock);
}

/* ---- evaluations ------------------------------------------------------------------ */

static void
evaluation_clear (Evaluation *ev)
{
  g_clear_object (&ev->blocked_on);
  g_clear_pointer (&ev->submitted, g_ptr_array_unref);
  g_clear_pointer (&ev->result, rthunk_value_unref);
  g_clear_error (&ev->error);
  g_clear_object (&ev->cancellable);
  rthunk_node_unref (ev->expr);
  g_mutex_clear (&ev->lock);
  g_cond_clear (&ev->cond);
  /* the cell is only touched in the main context: see evaluation_apply() */
}

RTHUNK_DEFINE_RC_BOX_REFS (Evaluation, rthunk_session_evaluation, evaluation_clear)

/* The block hook: the evaluation is about to wait for @thunk. */
static void
evaluation_blocked (gpointer     data,
                    RthunkThunk *thunk)
{
  Evaluation *ev = data;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_BLOCKED;
  g_set_object (&ev->blocked_on, thunk);
  /* once detached, or run here, nobody waits for the evaluation to
   * block: no wake-up call (a futex syscall) for every remote form it
   * awaits */
  if (!ev->detached && !ev->here)
    g_cond_broadcast (&ev->cond);
  g_mutex_unlock (&ev->lock);
  ev->relock = ev->locked;
  if (ev->relock)
    rthunk_session_evaluator_leave (ev->session, ev);
  /* what the evaluation queued may be what it waits for */
  rthunk_session_flush_all (ev->session);
}

static void
evaluation_unblocked (gpointer     data,
                      RthunkThunk *thunk)
{
  Evaluation *ev = data;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_RUNNING;
  g_clear_object (&ev->blocked_on);
  g_mutex_unlock (&ev->lock);
  if (ev->relock)
    rthunk_session_evaluator_enter (ev->session, ev);
  ev->relock = FALSE;
}

Evaluation *
rthunk_session_evaluation_new (RthunkSession *self,
                               Cell          *cell)
{
  Evaluation *ev = g_atomic_rc_box_new0 (Evaluation);

  ev->session = self;
  ev->cell = cell;
  ev->generation = cell->generation;
  ev->expr = rthunk_node_ref (cell->expr);
  ev->cancellable = g_cancellable_new ();
  ev->hook.before = evaluation_blocked;
  ev->hook.after = evaluation_unblocked;
  ev->hook.cancellable = ev->cancellable;
  ev->hook.data = ev;
  g_mutex_init (&ev->lock);
  g_cond_init (&ev->cond);
  ev->status = EVAL_QUEUED;
  return ev;
}

typedef struct
{
  RthunkSession *session;
  Evaluation *ev;
  Cell *cell;
} Apply;

static void
apply_free (gpointer data)
{
  Apply *apply = data;

  rthunk_session_cell_unref (apply->cell);
  rthunk_session_evaluation_unref (apply->ev);
  g_object_unref (apply->session);
  g_free (apply);
}

/* In the main context: the result of a detached evaluation. */
static gboolean
evaluation_apply (gpointer data)
{
  Apply *apply = data;

  if (!rthunk_session_is_closed (apply->session))
    rthunk_session_cell_evaluated (apply->session, apply->cell, apply->ev->generation,
                                   apply->ev->result, apply->ev->error);
  return G_SOURCE_REMOVE;
}

static void
evaluation_finish (Evaluation  *ev,
                   RthunkValue *value,
                   GError      *error)
{
  RthunkSession *self = ev->session;
  gboolean detached;
  Apply *apply;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_DONE;
  ev->result = value;
  ev->error = error;
  detached = ev->detached;
  /* once detached, or run here, nobody waits on the condition (GLib's
   * broadcast is a futex syscall whether or not anyone does) */
  if (!detached && !ev->here)
    g_cond_broadcast (&ev->cond);
  g_mutex_unlock (&ev->lock);
  if (!detached || rthunk_session_is_closed (self))
    return;
  apply = g_new (Apply, 1);
  apply->session = g_object_ref (self);
  apply->ev = rthunk_session_evaluation_ref (ev);
  apply->cell = ev->cell;   /* the main thread holds it for us: see cell_run() */
  ev->cell = NULL;
  rthunk_session_invoke (self, evaluation_apply, apply, apply_free);
}

/* Runs @ev's form, the evaluator lock held, and lets go of the lock. */
static RthunkValue *
evaluation_eval_locked (Evaluation  *ev,
                        GError     **error)
{
  RthunkSession *self = ev->session;
  RthunkValue *value = NULL;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_RUNNING;
  g_mutex_unlock (&ev->lock);
  if (g_cancellable_is_cancelled (ev->cancellable))
    g_propagate_error (error, rthunk_session_new_error (RTHUNK_ERROR_CANCELLED, _("evaluation was cancelled")));
  else if (ev->cell != NULL && ev->cell->name != NULL)
    value = rthunk_evaluator_eval_kept (self->evaluator, ev->expr, &ev->cell->code, error);
  else
    value = rthunk_evaluator_eval (self->evaluator, ev->expr, error);
  rthunk_session_evaluator_leave (self, ev);
  return value;
}

/* A thread of the pool, or the session's (rthunk_session_evaluation_run_here()). */
void
rthunk_session_evaluation_run (gpointer data,
                               gpointer user_data)
{
  Evaluation *ev = data;
  RthunkSession *self = ev->session;
  GError *error = NULL;
  RthunkValue *value;

  g_private_set (&rthunk_session_current_evaluation, ev);
  rthunk_thunk_set_block_hook (&ev->hook);
  rthunk_session_evaluator_enter (self, ev);
  value = evaluation_eval_locked (ev, &error);
  rthunk_session_flush_all (self);
  rthunk_thunk_set_block_hook (NULL);
  g_private_set (&rthunk_session_current_evaluation, NULL);
  evaluation_finish (ev, value, error);
  rthunk_session_evaluation_unref (ev);
}

/* The standard library's operators on numbers, strings and booleans
 * (those the evaluator runs natively, and `not`). */
static const char *const bounded_operators[] = {
  "+", "-", "*", "/", "mod", "<", "<=", ">", ">=", "=", "!=", "not",
};

/* Whether @head names one of bounded_operators, as the standard library's
 * own (no cell and no provider's function of that name). */
static gboolean
is_bounded_operator (RthunkSession *self,
                     RthunkNode    *head)
{
  const char *name;
  RthunkFuncDef *def;

  if (rthunk_node_get_kind (head) != RTHUNK_NODE_SYMBOL)
    return FALSE;
  name = rthunk_node_get_text (head);
  if (!g_strv_contains (bounded_operators, name) || rthunk_session_lookup_cell (self, name) != NULL)
    return FALSE;
  def = rthunk_catalog_lookup (self->catalog, name);
  return def != NULL && rthunk_func_def_is_stdlib (def);
}

/* Whether @node is made only of literals, names, vectors, `if`, `do`,
 * `and`, `or`, `(auto EXPR)` and bounded operators: nothing in it can
 * wait for a thunk, print, bind a name or loop, so it costs about its
 * size (or that of the values it reads, for = on lists); placement keeps
 * such an auto form here (rthunk-session-place.c). */
static gboolean
is_bounded (RthunkSession *self,
            RthunkNode    *node,
            guint          depth)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  guint n = rthunk_node_get_n_items (node);
  RthunkForm form;

  if (kind != RTHUNK_NODE_LIST && kind != RTHUNK_NODE_VECTOR)
    return TRUE;
  if (depth > RTHUNK_NODE_MAX_DEPTH)
    return FALSE;
  if (kind == RTHUNK_NODE_LIST)
    {
      if (n == 0)
        return FALSE;
      if (rthunk_form_lookup (rthunk_node_get_item (node, 0), &form)
          ? form != RTHUNK_FORM_IF && form != RTHUNK_FORM_DO && form != RTHUNK_FORM_AND && form != RTHUNK_FORM_OR &&
            !(form == RTHUNK_FORM_AUTO && n == 2)
          : !is_bounded_operator (self, rthunk_node_get_item (node, 0)))
        return FALSE;
    }
  for (guint k = kind == RTHUNK_NODE_LIST ? 1 : 0; k < n; k++)
    if (!is_bounded (self, rthunk_node_get_item (node, k), depth + 1))
      return FALSE;
  return TRUE;
}

gboolean
rthunk_session_is_bounded (RthunkSession *self,
                           RthunkNode    *node)
{
  return is_bounded (self, node, 0);
}

/* Whether the calling thread (the session's) is about to wait for @ev's
 * value with nothing else to do meanwhile: an expression of a sequential
 * session (a script waits for each one before the next form) that serves
 * no dashboard. What the session's context would dispatch during that wait
 * (other cells settling) is dispatched after it, in the same order. */
static gboolean
is_waited_for (RthunkSession *self,
               Evaluation    *ev)
{
  return self->sequential && ev->cell != NULL && ev->cell->name == NULL && self->http == NULL;
}

/* Runs @ev in the calling thread (the session's) when handing it to a
 * thread of the pool costs more than running it: when its form is bounded
 * (is_bounded()) and no other evaluation holds the evaluator, or when the
 * calling thread would only wait for it (is_waited_for()), where the pool
 * cost two thread switches per form and the evaluator lock's hand-offs
 * around each of its waits (about ten futex calls a line of a script).
 * Returns whether it ran (it is then finished). */
gboolean
rthunk_session_evaluation_run_here (RthunkSession *self,
                                    Evaluation    *ev)
{
  GError *error = NULL;
  RthunkValue *value;

  if (is_waited_for (self, ev))
    {
      ev->here = TRUE;
      rthunk_session_evaluation_run (rthunk_session_evaluation_ref (ev), NULL);
      return TRUE;
    }
  if (!rthunk_session_is_bounded (self, ev->expr) || !g_mutex_trylock (&self->eval_lock))
    return FALSE;
  ev->here = TRUE;
  drain_binds_locked (self);
  rthunk_evaluator_set_cancellable (self->evaluator, ev->cancellable);
  ev->locked = TRUE;
  value = evaluation_eval_locked (ev, &error);
  evaluation_finish (ev, value, error);
  return TRUE;
}

/* ---- evaluating text ---------------------------------------------------------------------- */

typedef enum
{
  PLAN_EXPR,
  PLAN_DEF,
  PLAN_DEFN,
} PlanKind;

typedef struct
{
  PlanKind kind;
  RthunkNode *form;
  const char *name;
  GPtrArray *reads;
  guint types_before;            /* the checker's position before this form was checked */
  GHashTable *verdicts;          /* (nullable) a definition's: name → GError (NULL: it checks), of
                                  * itself and of each reader it re-checked */
} Plan;

static void
error_free0 (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

/* name → GError, or NULL for a name that checks */
static GHashTable *
verdicts_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, error_free0);
}

static void
plan_free (gpointer data)
{
  Plan *plan = data;

  rthunk_node_unref (plan->form);
  g_ptr_array_unref (plan->reads);
  g_clear_pointer (&plan->verdicts, g_hash_table_unref);
  g_free (plan);
}

/* What the forms of a text planned so far define. */
typedef struct
{
  RthunkSession *session;
  GHashTable *overlay;           /* name → what it reads (GPtrArray) */
  GHashTable *forms;             /* name → its form (borrowed from its plan) */
  guint64 text;                  /* which text it is (RthunkSession.texts_planned) */
} Resolver;

static gboolean
is_cell (const char *name,
         guint8      hash[RTHUNK_HASH_LEN],
         gpointer    user_data)
{
  Resolver *r = user_data;

  return g_hash_table_contains (r->session->cells, name) || g_hash_table_contains (r->overlay, name);
}

static PlanKind
form_kind (RthunkNode *form)
{
  if (rthunk_node_get_kind (form) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (form) < 3 ||
      rthunk_node_get_kind (rthunk_node_get_item (form, 1)) != RTHUNK_NODE_SYMBOL)
    return PLAN_EXPR;
  if (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "def"))
    return PLAN_DEF;
  if (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"))
    return PLAN_DEFN;
  return PLAN_EXPR;
}

/* Re-checks the cells that read @name, after its type changed (with
 * @only_failing, after it was bound as before: those that carry a type
 * error, which may have come of something else, a catalog say); the
 * verdict on each goes into @verdicts, applied when the definition is
 * committed (a cell that no longer checks fails with its type error). A
 * reader the text defines again is checked as the text defines it. */
static void
recheck_readers (RthunkSession *self,
                 Resolver      *text,
                 const char    *name,
                 gboolean       only_failing,
                 GHashTable    *verdicts)
{
  Cell *cell = rthunk_session_lookup_cell (self, name);
  g_autoptr(GPtrArray) order = NULL;

  if (cell == NULL)
    return;
  order = rthunk_session_downstream (self, cell);
  for (guint k = 1; k < order->len; k++)
    {
      Cell *reader = g_ptr_array_index (order, k);
      RthunkNode *form = g_hash_table_lookup (text->forms, reader->name);
      g_autoptr(RthunkType) type = NULL;
      GError *error = NULL;

      if (only_failing && reader->type_error == NULL)
        continue;
      type = rthunk_checker_check (self->checker, form != NULL ? form : reader->form, &error);
      g_hash_table_replace (verdicts, g_strdup (reader->name), error);
    }
}

/* The cells @form reads (a name of the session's, or one the text defined
 * before it): what the last form of its shape read, when no cell was
 * defined since and the text defines the same names before it (none, or
 * the same text), else found by a walk of the form. */
static GPtrArray *
form_reads (RthunkSession *self,
            RthunkNode    *form,
            Resolver      *text)
{
  guint overlay = g_hash_table_size (text->overlay);
  RthunkShapeMemoKey key = { { self->cells_added, overlay > 0 ? text->text : 0, overlay } };
  GPtrArray *reads = rthunk_shape_memo_find (&self->reads_memo, form, &key);

  if (reads != NULL)
    return g_ptr_array_ref (reads);
  reads = rthunk_hash_collect_references (form, is_cell, text);
  rthunk_shape_memo_keep (&self->reads_memo, form, &key, g_ptr_array_ref (reads), FALSE);
  return reads;
}

/* Everything about one form that can be known before anything runs: what
 * it reads, that it closes no cycle, that it type-checks. */
static Plan *
plan_form (RthunkSession  *self,
           RthunkNode     *form,
           Resolver       *text,
           GError        **error)
{
  g_autoptr(RthunkType) type = NULL;
  Plan *plan = g_new0 (Plan, 1);

  plan->types_before = rthunk_checker_position (self->checker);
  plan->kind = form_kind (form);
  plan->form = rthunk_node_ref (form);
  plan->reads = form_reads (self, form, text);
  if (plan->kind != PLAN_EXPR)
    plan->name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  if ((plan->name != NULL && !rthunk_session_check_cycle (self, text->overlay, form, plan->name, plan->reads, error)) ||
      (type = rthunk_checker_check (self->checker, form, error)) == NULL)
    {
      plan_free (plan);
      return NULL;
    }
  if (plan->name != NULL)
    {
      g_hash_table_replace (text->overlay, g_strdup (plan->name), g_ptr_array_ref (plan->reads));
      g_hash_table_replace (text->forms, g_strdup (plan->name), plan->form);
      plan->verdicts = verdicts_new ();
      g_hash_table_insert (plan->verdicts, g_strdup (plan->name), NULL);
      /* bound as before (a cell redefined to another int, say): the
       * readers that checked check as they did, and keep their verdicts */
      recheck_readers (self, text, plan->name,
                       rthunk_checker_rebound_same (self->checker, plan->name, plan->types_before),
                       plan->verdicts);
    }
  return plan;
}

static gboolean
uses_remote (RthunkNode *node)
{
  guint n = rthunk_node_get_n_items (node);

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_LIST && n > 0 &&
      rthunk_node_is_symbol (rthunk_node_get_item (node, 0), "remote"))
    return TRUE;
  for (guint k = 0; k < n; k++)
    if (uses_remote (rthunk_node_get_item (node, k)))
      return TRUE;
  return FALSE;
}

/* Starts the embedded provider when @forms are the first to go remote
 * (not with a registry: its servers are the ones to use, once they come). */
static gboolean
ensure_server (RthunkSession  *self,
               GPtrArray      *forms,
               GError        **error)
{
  gboolean any = FALSE;

  if (self->local || self->servers->len > 0 || self->embedded != NULL ||
      rthunk_cluster_follows_registry (self->cluster))
    return TRUE;
  for (guint k = 0; k < forms->len && !any; k++)
    any = uses_remote (g_ptr_array_index (forms, k));
  return !any || rthunk_session_start_embedded (self, error);
}

static Cell *
define_cell_object (RthunkSession  *self,
                    Plan           *plan,
                    GError        **error)
{
  Cell *cell = rthunk_session_lookup_cell (self, plan->name);

  if (cell != NULL)
    return cell;
  if (g_hash_table_size (self->cells) >= RTHUNK_SESSION_MAX_CELLS)
    {
      rthunk_set_node_error (error, plan->form, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("a session holds at most %u cells"), (guint) RTHUNK_SESSION_MAX_CELLS);
      return NULL;
    }
  cell = rthunk_session_cell_new (plan->name);
  g_hash_table_insert (self->cells, cell->name, cell);
  self->cells_added++;
  g_ptr_array_add (self->order, rthunk_session_cell_ref (cell));
  return cell;
}

/* Marks a cell as changed: what it did for its previous value stops. Its
 * type error is the latest verdict on it in @verdicts, if there is one;
 * else its type did not change. */
static void
cell_invalidate (RthunkSession *self,
                 Cell          *cell,
                 GHashTable    *verdicts)
{
  gpointer verdict = NULL;

  rthunk_session_cell_abandon (cell);
  cell->generation++;
  cell->state = CELL_WAITING;
  if (cell->name == NULL || g_hash_table_lookup_extended (verdicts, cell->name, NULL, &verdict))
    {
      g_clear_error (&cell->type_error);
      cell->type_error = verdict != NULL ? g_error_copy (verdict) : NULL;
    }
  g_clear_pointer (&cell->trigger, g_free);
  cell->started_us = g_get_monotonic_time ();
}

/* The error a form's own failure gives the caller of eval. */
static void
take_failure (Cell    *cell,
              GError **error)
{
  if (cell->state == CELL_FAILED)
    g_propagate_error (error, g_error_copy (cell->error));
}

/* Stops the pending expressions that read a cell being redefined: what
 * they read is gone (and an evaluation must never outlive, paused, a
 * global it borrowed). */
static void
stop_expressions_reading (RthunkSession *self,
                          GPtrArray     *affected)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_session_cell_unref);

  for (guint k = 0; k < self->anonymous->len; k++)
    g_ptr_array_add (pending, rthunk_session_cell_ref (g_ptr_array_index (self->anonymous, k)));
  for (guint k = 0; k < pending->len; k++)
    {
      Cell *expr = g_ptr_array_index (pending, k);

      for (guint a = 0; a < affected->len; a++)
        {
          Cell *changed = g_ptr_array_index (affected, a);
          g_autoptr(GError) error = NULL;

          if (expr->state == CELL_DONE || expr->state == CELL_FAILED ||
              !rthunk_session_cell_reads (expr, changed->name))
            continue;
          error = rthunk_session_new_error (RTHUNK_ERROR_CANCELLED, _("%s was redefined while the expression waited"),
                                            changed->name);
          rthunk_session_cell_abandon (expr);
          expr->generation++;
          rthunk_session_cell_fail (self, expr, error, NULL, NULL);
        }
    }
}

static gboolean
take_verdict (gpointer name,
              gpointer verdict,
              gpointer verdicts)
{
  g_hash_table_replace (verdicts, name, verdict);
  return TRUE;
}

static RthunkValue *
commit_definition (RthunkSession  *self,
                   Plan           *plan,
                   GHashTable     *verdicts,
                   GError        **error)
{
  g_autoptr(GPtrArray) affected = NULL;
  gboolean was_pumping;
  Cell *cell;

  if ((cell = define_cell_object (self, plan, error)) == NULL)
    return NULL;
  g_clear_pointer (&cell->form, rthunk_node_unref);
  g_clear_pointer (&cell->expr, rthunk_node_unref);
  cell->form = rthunk_node_ref (plan->form);
  cell->expr = rthunk_node_ref (plan->kind == PLAN_DEF ? rthunk_node_get_item (plan->form, 2) : plan->form);
  cell->is_defn = plan->kind == PLAN_DEFN;
  rthunk_session_cell_set_reads (self, cell, plan->reads);
  /* the verdicts as of this form, not of those after it */
  g_hash_table_foreach_steal (plan->verdicts, take_verdict, verdicts);
  affected = rthunk_session_downstream (self, cell);
  stop_expressions_reading (self, affected);
  for (guint k = 0; k < affected->len; k++)
    cell_invalidate (self, g_ptr_array_index (affected, k), verdicts);
  g_signal_emit (self, rthunk_session_signals[SIGNAL_CELL_DEFINED], 0, cell->name);
  /* readers are scheduled in order below: hold the queue meanwhile */
  was_pumping = self->pumping;
  self->pumping = TRUE;
  for (guint k = 0; k < affected->len; k++)
    rthunk_session_schedule (self, g_ptr_array_index (affected, k));
  self->pumping = was_pumping;
  rthunk_session_pump (self);
  if (cell->state == CELL_FAILED)
    {
      take_failure (cell, error);
      return NULL;
    }
  return rthunk_value_ref (cell->value);
}

static RthunkValue *
commit_expression (RthunkSession  *self,
                   Plan           *plan,
                   GError        **error)
{
  g_autoptr(Cell) cell = rthunk_session_cell_new (NULL);

  cell->form = rthunk_node_ref (plan->form);
  cell->expr = rthunk_node_ref (plan->form);
  rthunk_session_cell_set_reads (self, cell, plan->reads);
  rthunk_session_anonymous_add (self, cell);
  rthunk_session_schedule (self, cell);
  if (cell->state == CELL_FAILED)
    {
      take_failure (cell, error);
      return NULL;
    }
  if (self->sequential && rthunk_session_has_pending (cell->value))
    return rthunk_session_wait (self, cell->value, -1, error);
  return rthunk_value_ref (cell->value);
}

static GPtrArray *
plan_all (RthunkSession  *self,
          GPtrArray      *forms,
          GError        **error)
{
  g_autoptr(GPtrArray) plans = g_ptr_array_new_with_free_func (plan_free);
  g_autoptr(GHashTable) overlay = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GHashTable) defined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Resolver text = { self, overlay, defined, ++self->texts_planned };

  for (guint k = 0; k < forms->len; k++)
    {
      RthunkNode *form = g_ptr_array_index (forms, k);
      g_autoptr(RthunkNode) placed = rthunk_session_place_wrap (self, form, form_kind (form) != PLAN_EXPR);
      Plan *plan = plan_form (self, placed, &text, error);

      if (plan == NULL)
        return NULL;
      g_ptr_array_add (plans, plan);
    }
  return g_steal_pointer (&plans);
}

/* Whether @plan's definition is now its cell's: committed, even if its
 * value failed. */
static gboolean
is_committed (RthunkSession *self,
              Plan          *plan)
{
  Cell *cell = plan->name != NULL ? rthunk_session_lookup_cell (self, plan->name) : NULL;

  return plan->kind == PLAN_EXPR || (cell != NULL && cell->form == plan->form);
}

/* Checks and commits @forms in order, up to the first that fails; the
 * types the checker bound for the forms not committed are taken back. */
static RthunkValue *
eval_forms (RthunkSession  *self,
            GPtrArray      *forms,
            GError        **error)
{
  g_autoptr(GHashTable) verdicts = verdicts_new ();
  guint before = rthunk_checker_position (self->checker);
  g_autoptr(GPtrArray) plans = NULL;
  g_autoptr(RthunkValue) last = NULL;

  if ((plans = plan_all (self, forms, error)) == NULL)
    {
      rthunk_checker_rollback (self->checker, before);
      return NULL;
    }
  for (guint k = 0; k < plans->len; k++)
    {
      Plan *plan = g_ptr_array_index (plans, k);

      g_clear_pointer (&last, rthunk_value_unref);
      last = plan->kind == PLAN_EXPR ? commit_expression (self, plan, error)
                                     : commit_definition (self, plan, verdicts, error);
      if (last != NULL)
        continue;
      if (is_committed (self, plan))
        k++;
      if (k < plans->len)
        rthunk_checker_rollback (self->checker, ((Plan *) g_ptr_array_index (plans, k))->types_before);
      return NULL;
    }
  return last != NULL ? g_steal_pointer (&last) : rthunk_value_new_nil ();
}

/**
 * rthunk_session_eval:
 * @session: a session
 * @text: one or more forms
 * @source_name: (nullable): the name errors give the text, e.g. a file
 *   name; `<eval>` when %NULL
 * @error: return location for a #GError
 *
 * Reads every form of @text and type-checks them all (remote bodies
 * against the servers' catalogs) before anything is evaluated or sent,
 * then evaluates them in order. `(def NAME EXPR)` and `(defn NAME …)`
 * define cells: a cell whose inputs are pending is pending too, and is
 * computed when they arrive; redefining a cell recomputes the cells that
 * read it. A definition that would make a cycle is refused.
 *
 * An evaluation that has to wait for a thunk (or that takes longer than
 * #RthunkSession:eval-budget) goes on off the main thread; its cell is
 * pending meanwhile.
 *
 * Returns: (transfer full) (nullable): the value of the last form, maybe
 *   pending, or %NULL with @error set (the first error: reading, checking,
 *   or a form that failed at once)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_eval (RthunkSession  *session,
                     const char     *text,
                     const char     *source_name,
                     GError        **error)
{
  g_autoptr(GPtrArray) forms = NULL;
  RthunkValue *value;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (rthunk_session_is_closed (session))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST, _("the session is closed"));
      return NULL;
    }
  if ((forms = rthunk_reader_read_all (source_name != NULL ? source_name : DEFAULT_SOURCE,
                                       text, -1, error)) == NULL ||
      !ensure_server (session, forms, error))
    return NULL;
  rthunk_checker_begin (session->checker);
  value = eval_forms (session, forms, error);
  rthunk_checker_end (session->checker);
  return value;
}

/* What the checker cannot say of a bare name: the type of a splitting
 * form, or of a function that only servers provide; NULL for any other
 * name (a cell, a local function), which the checker types. */
static char *
type_of_name (RthunkSession *session,
              RthunkNode    *name)
{
  const char *text = rthunk_node_get_text (name);
  const char *signature = rthunk_split_form_signature (text);
  RthunkCatalog *remote = rthunk_checker_peek_remote_catalog (session->checker);
  RthunkFuncDef *def;

  if (signature != NULL)
    return g_strdup (signature);
  if (rthunk_session_lookup (session, text) != NULL ||
      rthunk_catalog_lookup (session->catalog, text) != NULL ||
      remote == NULL || (def = rthunk_catalog_lookup (remote, text)) == NULL)
    return NULL;
  return g_strdup (rthunk_func_def_get_signature (def));
}

/**
 * rthunk_session_type_of:
 * @session: a session
 * @text: one expression (not a definition)
 * @error: return location for a #GError
 *
 * Type-checks @text against the session's cells without evaluating it.
 *
 * Returns: (transfer full) (nullable): the type, e.g. `[int]`, or %NULL
 *   with @error set
 *
 * Since: 0.1
 */
char *
rthunk_session_type_of (RthunkSession  *session,
                        const char     *text,
                        GError        **error)
{
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(RthunkType) type = NULL;
  RthunkNode *form;
  char *found;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if ((forms = rthunk_reader_read_all ("<type>", text, -1, error)) == NULL)
    return NULL;
  if (forms->len != 1 || form_kind (g_ptr_array_index (forms, 0)) != PLAN_EXPR)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST, _("expected one expression"));
      return NULL;
    }
  form = g_ptr_array_index (forms, 0);
  if (rthunk_node_get_kind (form) == RTHUNK_NODE_SYMBOL && (found = type_of_name (session, form)) != NULL)
    return found;
  if ((type = rthunk_checker_check (session->checker, form, error)) == NULL)
    return NULL;
  return rthunk_type_to_string (type);
}
