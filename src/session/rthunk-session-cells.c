/* rthunk-session-cells.c — the cells of a session: their states, their
 * futures, the graph of what reads what, and reading them
 *
 * Dependencies. What a cell reads is found before it is evaluated, from its
 * form: the free names of the form that are session cells
 * (rthunk_hash_collect_references(), which knows the binding forms, so a
 * local that shadows a cell is not a read, and a defn's recursive use of
 * itself is not one either). A function cell reads what its body reads, so
 * a cell that calls it is recomputed when those change. This is an
 * over-approximation of what one evaluation reads (a branch not taken
 * still counts), which only ever recomputes a cell too often, never too
 * rarely. A definition that would close a cycle is refused before anything
 * runs, with the cycle in the message.
 *
 * Scheduling. A cell runs only when every cell it reads is settled (has a
 * value with nothing pending inside): until then it is waiting, and its
 * value is a pending value (a local #RthunkThunk, its future). When a cell
 * settles or fails, the waiting cells that read it are scheduled, through
 * one work queue, so each cell runs once per change and in dependency
 * order; a redefinition first marks every transitive dependent as waiting
 * (in topological order), then runs them. A failed input fails its readers
 * with a message that names the root cause.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-session-private.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-forms.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

/* ---- cells ------------------------------------------------------------------ */

static void
cell_clear (Cell *cell)
{
  g_assert (cell->evaluation == NULL && cell->settler == NULL);
  g_clear_pointer (&cell->submitted, g_ptr_array_unref);
  g_clear_pointer (&cell->code, rthunk_eval_kept_free);
  g_free (cell->name);
  g_clear_pointer (&cell->form, rthunk_node_unref);
  g_clear_pointer (&cell->expr, rthunk_node_unref);
  g_clear_pointer (&cell->reads, g_ptr_array_unref);
  g_clear_pointer (&cell->value, rthunk_value_unref);
  g_clear_object (&cell->future);
  g_clear_error (&cell->error);
  g_clear_error (&cell->root_error);
  g_clear_error (&cell->type_error);
  g_free (cell->root);
  g_free (cell->origin);
  g_free (cell->trigger);
}

RTHUNK_DEFINE_RC_BOX_REFS (Cell, rthunk_session_cell, cell_clear)

Cell *
rthunk_session_cell_new (const char *name)
{
  Cell *cell = g_atomic_rc_box_new0 (Cell);

  cell->name = g_strdup (name);
  cell->state = CELL_WAITING;
  cell->started_us = g_get_monotonic_time ();
  return cell;
}

static void
cell_set_value (Cell        *cell,
                RthunkValue *value)
{
  RthunkValue *old = cell->value;

  cell->value = rthunk_value_ref (value);
  g_clear_pointer (&old, rthunk_value_unref);
}

gboolean
rthunk_session_cell_reads (Cell       *cell,
                           const char *name)
{
  for (guint k = 0; cell->reads != NULL && k < cell->reads->len; k++)
    if (strcmp (g_ptr_array_index (cell->reads, k), name) == 0)
      return TRUE;
  return FALSE;
}

/* ---- who reads what -------------------------------------------------------------------- */

/* Whether @cell's reads name the @k-th one before. */
static gboolean
read_before (Cell  *cell,
             guint  k)
{
  for (guint j = 0; j < k; j++)
    if (strcmp (g_ptr_array_index (cell->reads, j), g_ptr_array_index (cell->reads, k)) == 0)
      return TRUE;
  return FALSE;
}

/* Enters @cell under each name it reads in the session's index of readers
 * (@add), once a name, or takes it out. */
static void
index_reads (RthunkSession *self,
             Cell          *cell,
             gboolean       add)
{
  for (guint k = 0; cell->reads != NULL && k < cell->reads->len; k++)
    {
      const char *name = g_ptr_array_index (cell->reads, k);
      GPtrArray *readers = g_hash_table_lookup (self->readers, name);

      if (!add)
        {
          if (readers != NULL && g_ptr_array_remove_fast (readers, cell) && readers->len == 0)
            g_hash_table_remove (self->readers, name);
        }
      else if (!read_before (cell, k))
        {
          if (readers == NULL)
            g_hash_table_insert (self->readers, g_strdup (name), readers = g_ptr_array_new ());
          g_ptr_array_add (readers, cell);
        }
    }
}

/* Makes @reads (names of cells) what @cell reads, or nothing when %NULL;
 * the session's index of readers follows. */
void
rthunk_session_cell_set_reads (RthunkSession *self,
                               Cell          *cell,
                               GPtrArray     *reads)
{
  index_reads (self, cell, FALSE);
  g_clear_pointer (&cell->reads, g_ptr_array_unref);
  if (reads == NULL)
    return;
  if (cell->serial == 0)
    cell->serial = ++self->serials;
  cell->reads = g_ptr_array_ref (reads);
  index_reads (self, cell, TRUE);
}

/* Named cells in the order they were defined, then expressions in the
 * order they were given. */
static int
compare_readers (gconstpointer a,
                 gconstpointer b)
{
  const Cell *x = *(Cell *const *) a, *y = *(Cell *const *) b;

  if ((x->name == NULL) != (y->name == NULL))
    return x->name == NULL ? 1 : -1;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* The cells that read @name (not references), in the order of
 * compare_readers(); %NULL when none does. */
static GPtrArray *
readers_of (RthunkSession *self,
            const char    *name)
{
  GPtrArray *readers = g_hash_table_lookup (self->readers, name);

  if (readers != NULL)
    g_ptr_array_sort (readers, compare_readers);
  return readers;
}

/* Stops what the cell was doing for its previous generation. */
void
rthunk_session_cell_abandon (Cell *cell)
{
  if (cell->evaluation != NULL)
    {
      g_cancellable_cancel (cell->evaluation->cancellable);
      g_clear_pointer (&cell->evaluation, rthunk_session_evaluation_unref);
    }
  if (cell->settler != NULL)
    rthunk_session_settler_cancel (g_steal_pointer (&cell->settler));
  g_clear_pointer (&cell->submitted, g_ptr_array_unref);
}

static const char *
cell_label (Cell *cell)
{
  return cell->name != NULL ? cell->name : _("the expression");
}

/* ---- futures of cells ------------------------------------------------------------ */

/* The session as its cells' futures see it, one weak reference shared by
 * all of them (kept as the session's data): GObject keeps an object's
 * weak references in a list, and clearing one of 2000 walked it. */
typedef struct
{
  GWeakRef session;
} SessionWeak;

static GQuark
session_weak_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("rthunk-session-weak"));
  return quark;
}

static void
session_weak_clear (SessionWeak *weak)
{
  g_weak_ref_clear (&weak->session);
}

static void
session_weak_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, (GDestroyNotify) session_weak_clear);
}

/* (transfer full) */
static SessionWeak *
session_weak_of (RthunkSession *self)
{
  SessionWeak *weak = g_object_get_qdata (G_OBJECT (self), session_weak_quark ());

  if (weak == NULL)
    {
      weak = g_atomic_rc_box_new0 (SessionWeak);
      g_weak_ref_init (&weak->session, self);
      g_object_set_qdata_full (G_OBJECT (self), session_weak_quark (), weak, session_weak_release);
    }
  return g_atomic_rc_box_acquire (weak);
}

/* What a cell's future needs to stop the cell: not a reference to the
 * session, which a pending cell must not keep alive. */
typedef struct
{
  SessionWeak *weak;
  Cell *cell;
} CellRef;

static CellRef *
cell_ref_new (SessionWeak *weak,
              Cell        *cell)
{
  CellRef *ref = g_new (CellRef, 1);

  ref->weak = weak;
  ref->cell = rthunk_session_cell_ref (cell);
  return ref;
}

static void
cell_ref_free (gpointer data)
{
  CellRef *ref = data;

  rthunk_session_cell_unref (ref->cell);
  session_weak_release (ref->weak);
  g_free (ref);
}

static void cell_stop (RthunkSession *self, Cell *cell);

static gboolean
cancel_in_context (gpointer data)
{
  CellRef *ref = data;
  g_autoptr(RthunkSession) session = g_weak_ref_get (&ref->weak->session);

  if (session != NULL && !rthunk_session_is_closed (session))
    cell_stop (session, ref->cell);
  return G_SOURCE_REMOVE;
}

/* A cell's future was cancelled, perhaps from another thread. */
static void
future_cancelled (RthunkThunk *thunk,
                  gpointer     data)
{
  CellRef *ref = data;
  g_autoptr(RthunkSession) session = g_weak_ref_get (&ref->weak->session);
  CellRef *copy;

  if (session == NULL)
    return;
  copy = cell_ref_new (g_atomic_rc_box_acquire (ref->weak), ref->cell);
  rthunk_session_invoke (session, cancel_in_context, copy, cell_ref_free);
}

/* Gives a cell that is not settled an unfinished future, and makes its
 * value the pending value that stands for it. */
static void
cell_ensure_future (RthunkSession *self,
                    Cell          *cell,
                    const char    *label)
{
  CellRef *ref;

  if (cell->future != NULL && !rthunk_thunk_is_finished (cell->future))
    return;
  g_clear_object (&cell->future);
  cell->future = rthunk_thunk_new_in_context (g_strdup (label), NULL, NULL, 0, self->context);
  ref = cell_ref_new (session_weak_of (self), cell);
  /* the reference cycle ends when the future finishes */
  rthunk_thunk_set_cancel_func (cell->future, future_cancelled, ref, cell_ref_free);
  g_clear_pointer (&cell->value, rthunk_value_unref);
  cell->value = rthunk_thunk_to_value (cell->future);
  rthunk_session_cell_publish (self, cell);
}

/* ---- the expressions not settled ---------------------------------------------------- */

/* Lists @cell, an expression, among the session's expressions not settled. */
void
rthunk_session_anonymous_add (RthunkSession *self,
                              Cell          *cell)
{
  cell->anonymous_at = self->anonymous->len;
  g_ptr_array_add (self->anonymous, rthunk_session_cell_ref (cell));
}

/* Takes @cell out of that list when it is there: the last one takes its
 * place, with no search and no move of the rest (with 2000 forms in
 * flight, moving the rest cost 10k instructions a form). */
static void
anonymous_remove (RthunkSession *self,
                  Cell          *cell)
{
  guint at = cell->anonymous_at;
  Cell *last;

  if (at >= self->anonymous->len || g_ptr_array_index (self->anonymous, at) != cell)
    return;
  last = g_ptr_array_index (self->anonymous, self->anonymous->len - 1);
  last->anonymous_at = at;
  g_ptr_array_remove_index_fast (self->anonymous, at);
}

/* ---- the states of a cell ---------------------------------------------------------------- */

/* Queues a waiting reader of @cell, which just settled or failed; the
 * reader's value will have come from where @cell's did. */
static void
enqueue_reader (RthunkSession *self,
                Cell          *cell,
                Cell          *reader)
{
  if (reader->state != CELL_WAITING)
    return;
  if (cell->origin != NULL)
    {
      rthunk_set_str (&reader->trigger, cell->origin);
    }
  g_queue_push_tail (&self->ready, rthunk_session_cell_ref (reader));
}

static void
enqueue_readers (RthunkSession *self,
                 Cell          *cell)
{
  GPtrArray *readers;

  if (cell->name == NULL || (readers = readers_of (self, cell->name)) == NULL)
    return;
  for (guint k = 0; k < readers->len; k++)
    enqueue_reader (self, cell, g_ptr_array_index (readers, k));
}

static void
cell_finished (RthunkSession *self,
               Cell          *cell)
{
  cell->settled_us = g_get_monotonic_time ();
  if (cell->name == NULL)
    {
      index_reads (self, cell, FALSE);
      anonymous_remove (self, cell);
    }
  else
    enqueue_readers (self, cell);
}

static void
cell_settle (RthunkSession *self,
             Cell          *cell,
             RthunkValue   *value,
             const char    *origin)
{
  g_autoptr(Cell) hold = rthunk_session_cell_ref (cell);

  cell->state = CELL_DONE;
  cell_set_value (cell, value);
  rthunk_set_str (&cell->origin, origin != NULL ? origin : cell->trigger);
  rthunk_session_cell_publish (self, cell);
  if (cell->future != NULL)
    rthunk_thunk_return_value (cell->future, value);
  cell_finished (self, cell);
  if (cell->name != NULL)
    g_signal_emit (self, rthunk_session_signals[SIGNAL_CELL_CHANGED], 0, cell->name, value);
  rthunk_session_pump (self);
}

void
rthunk_session_cell_fail (RthunkSession *self,
                          Cell          *cell,
                          const GError  *error,
                          const char    *root,
                          const GError  *root_error)
{
  g_autoptr(Cell) hold = rthunk_session_cell_ref (cell);

  cell->state = CELL_FAILED;
  g_clear_error (&cell->error);
  g_clear_error (&cell->root_error);
  g_free (cell->root);
  cell->error = g_error_copy (error);
  cell->root = g_strdup (root);
  cell->root_error = g_error_copy (root_error != NULL ? root_error : error);
  cell_ensure_future (self, cell, cell_label (cell));
  rthunk_thunk_return_error (cell->future, error);
  rthunk_session_cell_publish (self, cell);
  cell_finished (self, cell);
  if (cell->name != NULL)
    g_signal_emit (self, rthunk_session_signals[SIGNAL_CELL_FAILED], 0, cell->name, error->message);
  rthunk_session_pump (self);
}

/* A cell fails because @input, which it reads, failed. */
static void
cell_fail_from (RthunkSession *self,
                Cell          *cell,
                Cell          *input)
{
  const char *root = input->root != NULL ? input->root : input->name;
  g_autoptr(GError) error = g_error_new (RTHUNK_ERROR, input->root_error->code,
                                         _("depends on %s, which failed: %s"),
                                         root, input->root_error->message);

  rthunk_session_cell_fail (self, cell, error, root, input->root_error);
}

static void
cell_settled_cb (RthunkSession *self,
                 RthunkValue   *value,
                 const GError  *error,
                 const char    *origin,
                 gpointer       data)
{
  Cell *cell = data;
  Settler *settler = g_steal_pointer (&cell->settler);

  if (value != NULL)
    cell_settle (self, cell, value, origin);
  else
    rthunk_session_cell_fail (self, cell, error, cell->name, NULL);
  if (settler != NULL)
    rthunk_session_settler_unref (settler);
}

static void
cell_start_settling (RthunkSession *self,
                     Cell          *cell,
                     RthunkValue   *value)
{
  Settler *settler;

  cell->state = CELL_SETTLING;
  cell_set_value (cell, value);
  rthunk_session_cell_publish (self, cell);
  settler = rthunk_session_settler_start (self, value, cell_settled_cb, rthunk_session_cell_ref (cell),
                                          (GDestroyNotify) rthunk_session_cell_unref);
  if (settler->finished)
    rthunk_session_settler_unref (settler);       /* it settled at once */
  else
    cell->settler = settler;
}

void
rthunk_session_cell_evaluated (RthunkSession *self,
                               Cell          *cell,
                               guint          generation,
                               RthunkValue   *value,
                               const GError  *error)
{
  if (generation != cell->generation || cell->state != CELL_RUNNING)
    return;
  g_clear_pointer (&cell->submitted, g_ptr_array_unref);
  g_mutex_lock (&cell->evaluation->lock);
  cell->submitted = g_steal_pointer (&cell->evaluation->submitted);
  g_mutex_unlock (&cell->evaluation->lock);
  g_clear_pointer (&cell->evaluation, rthunk_session_evaluation_unref);
  if (value == NULL)
    rthunk_session_cell_fail (self, cell, error, cell->name, NULL);
  else if (rthunk_session_has_pending (value))
    cell_start_settling (self, cell, value);
  else
    cell_settle (self, cell, value, NULL);
}

/* Waits for an evaluation until it is done, blocked on a thunk, or over
 * budget. Returns whether it is done. */
static gboolean
evaluation_wait (RthunkSession  *self,
                 Evaluation     *ev,
                 RthunkThunk   **blocked_on)
{
  gint64 deadline = self->eval_budget_ms >= 0
                  ? g_get_monotonic_time () + (gint64) self->eval_budget_ms * 1000 : 0;
  gboolean done;

  g_mutex_lock (&ev->lock);
  while (ev->status < EVAL_BLOCKED)
    {
      if (deadline == 0)
        g_cond_wait (&ev->cond, &ev->lock);
      else if (!g_cond_wait_until (&ev->cond, &ev->lock, deadline))
        break;
    }
  done = ev->status == EVAL_DONE;
  if (!done)
    {
      ev->detached = TRUE;
      *blocked_on = ev->blocked_on != NULL ? g_object_ref (ev->blocked_on) : NULL;
    }
  g_mutex_unlock (&ev->lock);
  return done;
}

static void
cell_run (RthunkSession *self,
          Cell          *cell)
{
  g_autoptr(RthunkThunk) blocked_on = NULL;
  Evaluation *ev = rthunk_session_evaluation_new (self, rthunk_session_cell_ref (cell));
  gboolean done;

  cell->state = CELL_RUNNING;
  cell->evaluation = rthunk_session_evaluation_ref (ev);
  if (cell->future != NULL)
    rthunk_thunk_set_running (cell->future);
  if (!(done = rthunk_session_evaluation_run_here (self, ev)))
    {
      g_thread_pool_push (self->pool, rthunk_session_evaluation_ref (ev), NULL);
      done = evaluation_wait (self, ev, &blocked_on);
    }
  if (done)
    {
      rthunk_session_cell_unref (g_steal_pointer (&ev->cell));
      rthunk_session_cell_evaluated (self, cell, ev->generation, ev->result, ev->error);
    }
  else
    cell_ensure_future (self, cell, blocked_on != NULL ? rthunk_thunk_get_label (blocked_on)
                                                       : _("running"));
  rthunk_session_evaluation_unref (ev);
}

Cell *
rthunk_session_lookup_cell (RthunkSession *self,
                            const char    *name)
{
  return g_hash_table_lookup (self->cells, name);
}

/* ---- pipelining between cells ---------------------------------------------------------- */

/* Whether @node names @name outside every `(remote …)` form in it; sets
 * @in_remote when it names it inside one. Locals that shadow @name count
 * as reads outside (the reader then waits, as it would anyway). */
static gboolean
named_outside_remote (RthunkNode *node,
                      const char *name,
                      gboolean    inside,
                      gboolean   *in_remote,
                      guint       depth)
{
  guint n = rthunk_node_get_n_items (node);

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL && rthunk_node_is_symbol (node, name))
    {
      *in_remote |= inside;
      return !inside;
    }
  if (depth > RTHUNK_NODE_MAX_DEPTH)
    return TRUE;
  inside |= rthunk_node_get_kind (node) == RTHUNK_NODE_LIST && n > 0 &&
            rthunk_node_is_symbol (rthunk_node_get_item (node, 0), "remote");
  for (guint k = 0; k < n; k++)
    if (named_outside_remote (rthunk_node_get_item (node, k), name, inside, in_remote, depth + 1))
      return TRUE;
  return FALSE;
}

/* Whether @reader can run before @input settles: @input's value is a
 * remote thunk still running, and @reader names it only inside `(remote
 * …)` forms, where it travels as a reference to that thunk (promise
 * pipelining, as within one form). A reader that needs the value here, or
 * reads it through a function cell, waits for it to settle. */
static gboolean
reads_by_reference (Cell *reader,
                    Cell *input)
{
  g_autoptr(RthunkValue) origin = NULL;
  RthunkThunk *thunk;
  gboolean in_remote = FALSE;

  if (input->state != CELL_SETTLING || reader->expr == NULL ||
      (thunk = rthunk_thunk_get_from_value (input->value)) == NULL ||
      (origin = rthunk_thunk_dup_origin (thunk)) == NULL || rthunk_thunk_is_finished (thunk))
    return FALSE;
  return !named_outside_remote (reader->expr, input->name, FALSE, &in_remote, 0) && in_remote;
}

/* Runs a waiting cell if everything it reads is settled, or travels as a
 * reference to its running thunk; fails it if something it reads failed. */
void
rthunk_session_schedule (RthunkSession *self,
                         Cell          *cell)
{
  const char *unsettled = NULL;

  if (cell->state != CELL_WAITING || rthunk_session_is_closed (self))
    return;
  if (cell->type_error != NULL)
    {
      rthunk_session_cell_fail (self, cell, cell->type_error, cell->name, NULL);
      return;
    }
  for (guint k = 0; k < cell->reads->len; k++)
    {
      Cell *input = rthunk_session_lookup_cell (self, g_ptr_array_index (cell->reads, k));

      if (input == NULL)
        continue;
      if (input->state == CELL_FAILED)
        {
          cell_fail_from (self, cell, input);
          return;
        }
      if (input->state != CELL_DONE && unsettled == NULL && !reads_by_reference (cell, input))
        unsettled = input->name;
    }
  if (unsettled != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("after %s"), unsettled);

      cell_ensure_future (self, cell, label);
      return;
    }
  cell_run (self, cell);
}

/* Schedules the cells that became ready, one after the other. */
void
rthunk_session_pump (RthunkSession *self)
{
  Cell *cell;

  if (self->pumping)
    return;
  self->pumping = TRUE;
  while ((cell = g_queue_pop_head (&self->ready)) != NULL)
    {
      rthunk_session_schedule (self, cell);
      rthunk_session_cell_unref (cell);
    }
  self->pumping = FALSE;
}

/* Stops a cell's work on request (its future was cancelled). */
static void
cell_stop (RthunkSession *self,
           Cell          *cell)
{
  g_autoptr(GError) error = rthunk_session_new_error (RTHUNK_ERROR_CANCELLED, _("%s was cancelled"),
                                                      cell_label (cell));
  g_autoptr(RthunkThunk) blocked_on = NULL;

  switch (cell->state)
    {
    case CELL_RUNNING:
      g_mutex_lock (&cell->evaluation->lock);
      g_set_object (&blocked_on, cell->evaluation->blocked_on);
      g_mutex_unlock (&cell->evaluation->lock);
      g_cancellable_cancel (cell->evaluation->cancellable);
      if (blocked_on != NULL)
        rthunk_thunk_cancel (blocked_on);
      break;
    case CELL_SETTLING:
      rthunk_session_settler_cancel_thunks (cell->settler);
      break;
    case CELL_WAITING:
      cell->generation++;
      rthunk_session_cell_fail (self, cell, error, cell->name, NULL);
      break;
    case CELL_DONE:
    case CELL_FAILED:
    default:
      break;
    }
}

/* ---- the graph -------------------------------------------------------------------------------- */

/* The reads of @name: those of this eval's (re)definition when there is
 * one, else those of the cell. */
static GPtrArray *
reads_of (RthunkSession *self,
          GHashTable    *overlay,
          const char    *name)
{
  GPtrArray *reads = overlay != NULL ? g_hash_table_lookup (overlay, name) : NULL;
  Cell *cell;

  if (reads != NULL)
    return reads;
  cell = rthunk_session_lookup_cell (self, name);
  return cell != NULL ? cell->reads : NULL;
}

/* Whether @target can be reached from @from by following reads; the path
 * (without @from) is prepended to @path when it can. */
static gboolean
reaches (RthunkSession *self,
         GHashTable    *overlay,
         const char    *from,
         const char    *target,
         GHashTable    *visited,
         GQueue        *path)
{
  GPtrArray *reads;

  if (strcmp (from, target) == 0)
    return TRUE;
  if (!g_hash_table_add (visited, (gpointer) from))
    return FALSE;
  reads = reads_of (self, overlay, from);
  for (guint k = 0; reads != NULL && k < reads->len; k++)
    {
      const char *next = g_ptr_array_index (reads, k);

      if (reaches (self, overlay, next, target, visited, path))
        {
          g_queue_push_head (path, (gpointer) next);
          return TRUE;
        }
    }
  return FALSE;
}

/* Refuses a definition of @name reading @reads that closes a cycle. */
gboolean
rthunk_session_check_cycle (RthunkSession  *self,
                            GHashTable     *overlay,
                            RthunkNode     *form,
                            const char     *name,
                            GPtrArray      *reads,
                            GError        **error)
{
  /* what one read does not reach the next one does not either */
  g_autoptr(GHashTable) visited = g_hash_table_new (g_str_hash, g_str_equal);

  /* a new name is read by nothing yet */
  if (rthunk_session_lookup_cell (self, name) == NULL && (overlay == NULL || !g_hash_table_contains (overlay, name)))
    return TRUE;
  for (guint k = 0; k < reads->len; k++)
    {
      g_autoptr(GString) cycle = g_string_new (name);
      GQueue path = G_QUEUE_INIT;
      const char *first = g_ptr_array_index (reads, k);

      if (!reaches (self, overlay, first, name, visited, &path))
        continue;
      g_queue_push_head (&path, (gpointer) first);
      for (GList *l = path.head; l != NULL; l = l->next)
        g_string_append_printf (cycle, " -> %s", (const char *) l->data);
      g_queue_clear (&path);
      rthunk_set_node_error (error, form, RTHUNK_ERROR_INVALID_REQUEST,
                             _("defining %s would make a cycle: %s"), name, cycle->str);
      return FALSE;
    }
  return TRUE;
}

/* The cells that read @cell, transitively, in an order where a cell comes
 * after every cell it reads (a depth-first post-order, reversed). */
static void
visit_readers (RthunkSession *self,
               Cell          *cell,
               GHashTable    *seen,
               GPtrArray     *post)
{
  GPtrArray *readers;

  if (!g_hash_table_add (seen, cell))
    return;
  readers = readers_of (self, cell->name);
  for (guint k = 0; readers != NULL && k < readers->len; k++)
    {
      Cell *reader = g_ptr_array_index (readers, k);

      if (reader->name != NULL)
        visit_readers (self, reader, seen, post);
    }
  g_ptr_array_add (post, cell);
}

GPtrArray *
rthunk_session_downstream (RthunkSession *self,
                           Cell          *cell)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) post = g_ptr_array_new ();
  GPtrArray *order = g_ptr_array_new ();

  visit_readers (self, cell, seen, post);
  for (guint k = post->len; k > 0; k--)
    g_ptr_array_add (order, g_ptr_array_index (post, k - 1));
  return order;
}

/* ---- reading the cells ----------------------------------------------------------------------- */

/* The cell @name of @session for a public getter, or NULL (with a
 * critical warning when the arguments are wrong). */
static Cell *
public_cell (RthunkSession *session,
             const char    *name)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return rthunk_session_lookup_cell (session, name);
}

/**
 * rthunk_session_lookup:
 * @session: a session
 * @name: the name of a cell
 *
 * A cell that is still waiting or running has a pending value; one that
 * failed has a pending value that fails when waited for (see
 * rthunk_session_get_cell_error()).
 *
 * Returns: (transfer none) (nullable): the cell's value, or %NULL when
 *   there is no such cell
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_lookup (RthunkSession *session,
                       const char    *name)
{
  Cell *cell = public_cell (session, name);

  return cell != NULL ? cell->value : NULL;
}

/**
 * rthunk_session_get_cell_type:
 * @session: a session
 * @name: the name of a cell
 *
 * The type of a cell is known as soon as it is defined, even while its
 * value is pending.
 *
 * Returns: (transfer full) (nullable): the type, e.g. `(int -> int)`
 *
 * Since: 0.1
 */
char *
rthunk_session_get_cell_type (RthunkSession *session,
                              const char    *name)
{
  RthunkType *type;

  if (public_cell (session, name) == NULL ||
      (type = rthunk_checker_lookup (session->checker, name)) == NULL)
    return NULL;
  return rthunk_type_to_string (type);
}

/**
 * rthunk_session_get_cell_error:
 * @session: a session
 * @name: the name of a cell
 *
 * Gives the error of a failed cell.
 *
 * Returns: (transfer none) (nullable): why the cell failed, or %NULL
 *
 * Since: 0.1
 */
const GError *
rthunk_session_get_cell_error (RthunkSession *session,
                               const char    *name)
{
  Cell *cell = public_cell (session, name);

  return cell != NULL && cell->state == CELL_FAILED ? cell->error : NULL;
}

/**
 * rthunk_session_get_cell_origin:
 * @session: a session
 * @name: the name of a cell
 *
 * Tells which thunk's arrival gave the cell its current value.
 *
 * Returns: (transfer none) (nullable): the label of the thunk whose arrival
 *   gave the cell its value (its own, or the one an input waited for),
 *   e.g. `#a1b2 @alpha`; %NULL when it was computed without waiting
 *
 * Since: 0.1
 */
const char *
rthunk_session_get_cell_origin (RthunkSession *session,
                                const char    *name)
{
  Cell *cell = public_cell (session, name);

  return cell != NULL && cell->state == CELL_DONE ? cell->origin : NULL;
}

/**
 * rthunk_session_get_cell_elapsed:
 * @session: a session
 * @name: the name of a cell
 *
 * Tells how long the cell took to get its current value.
 *
 * Returns: microseconds from the cell's (re)definition, or the change of
 *   an input, to its value (or until now while it is pending); -1 when
 *   there is no such cell
 *
 * Since: 0.1
 */
gint64
rthunk_session_get_cell_elapsed (RthunkSession *session,
                                 const char    *name)
{
  Cell *cell = public_cell (session, name);

  if (cell == NULL)
    return -1;
  if (cell->state == CELL_DONE || cell->state == CELL_FAILED)
    return cell->settled_us - cell->started_us;
  return g_get_monotonic_time () - cell->started_us;
}

/**
 * rthunk_session_list_cells:
 * @session: a session
 *
 * Lists the session's cells.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of every
 *   cell, in the order they were first defined
 *
 * Since: 0.1
 */
char **
rthunk_session_list_cells (RthunkSession *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  for (guint k = 0; k < session->order->len; k++)
    g_strv_builder_add (builder, ((Cell *) g_ptr_array_index (session->order, k))->name);
  return g_strv_builder_end (builder);
}

/**
 * rthunk_session_get_pending:
 * @session: a session
 *
 * Lists the cells that have no value yet.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   cells that are waiting for inputs, running, or waiting for thunks, in
 *   the order they were first defined
 *
 * Since: 0.1
 */
char **
rthunk_session_get_pending (RthunkSession *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  for (guint k = 0; k < session->order->len; k++)
    {
      Cell *cell = g_ptr_array_index (session->order, k);

      if (cell->state != CELL_DONE && cell->state != CELL_FAILED)
        g_strv_builder_add (builder, cell->name);
    }
  return g_strv_builder_end (builder);
}

/* What completes besides the special forms and the names in scope. */
static const char *const literal_words[] = { "true", "false", "nil" };

/* Adds @word to @names (a set of new strings) if it starts with @prefix. */
static void
add_if_prefixed (GHashTable *names,
                 const char *word,
                 const char *prefix)
{
  if (g_str_has_prefix (word, prefix))
    g_hash_table_add (names, g_strdup (word));
}

static void
add_catalog_names (GHashTable    *names,
                   RthunkCatalog *catalog,
                   const char    *prefix)
{
  g_autoptr(GPtrArray) defs = NULL;

  if (catalog == NULL)
    return;
  defs = rthunk_catalog_list (catalog);
  for (guint k = 0; k < defs->len; k++)
    add_if_prefixed (names, rthunk_func_def_get_name (g_ptr_array_index (defs, k)), prefix);
}

static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/**
 * rthunk_session_complete:
 * @session: a session
 * @prefix: the start of a name
 *
 * Completes a name, as the shell does on Tab.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names that start
 *   with @prefix — special forms, functions of the local and remote
 *   catalogs, cells — sorted, each once
 *
 * Since: 0.1
 */
char **
rthunk_session_complete (RthunkSession *session,
                         const char    *prefix)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) servers = NULL;
  g_autofree char **sorted = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (prefix != NULL, NULL);

  for (RthunkForm form = 0; form < RTHUNK_N_FORMS; form++)
    add_if_prefixed (names, rthunk_form_name (form), prefix);
  for (guint k = 0; k < G_N_ELEMENTS (literal_words); k++)
    add_if_prefixed (names, literal_words[k], prefix);
  add_catalog_names (names, session->catalog, prefix);
  servers = rthunk_session_get_servers (session);
  for (guint k = 0; k < servers->len; k++)
    add_catalog_names (names, rthunk_client_get_catalog (g_ptr_array_index (servers, k)), prefix);
  for (guint k = 0; k < session->order->len; k++)
    add_if_prefixed (names, ((Cell *) g_ptr_array_index (session->order, k))->name, prefix);
  sorted = (char **) g_hash_table_get_keys_as_array (names, &n);
  qsort (sorted, n, sizeof (char *), compare_names);
  for (guint k = 0; k < n; k++)
    g_strv_builder_add (builder, sorted[k]);
  return g_strv_builder_end (builder);
}
