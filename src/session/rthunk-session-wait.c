/* rthunk-session-wait.c — waiting for the pending values inside a value
 *
 * A value with pending values inside (`(remote …)`, a list of them) is
 * settling: a settler waits for each thunk without blocking (the `resolved`
 * side of #RthunkThunk), and the cell settles when the last one arrived.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-core-private.h"
#include "rthunk-session-private.h"
#include "rthunk-error.h"
#include "rthunk-thunk.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define WAIT_WAKE_MS 100                /* longest sleep of a waiting loop */

/* ---- values with pending values inside ------------------------------------- */

gboolean
rthunk_session_has_pending (RthunkValue *value)
{
  if (rthunk_value_is_pending (value))
    return TRUE;
  if (!rthunk_value_has_items (value))
    return FALSE;
  for (gsize k = 0; k < rthunk_value_get_length (value); k++)
    if (rthunk_session_has_pending (rthunk_value_get_item (value, k)))
      return TRUE;
  return FALSE;
}

/* @value with every pending value inside replaced by what it stands for;
 * blocks for those that have not arrived. */
static RthunkValue *
deep_force (RthunkValue  *value,
            GError      **error)
{
  g_autoptr(GPtrArray) items = NULL;
  gsize n;

  if (rthunk_value_is_pending (value))
    {
      g_autoptr(RthunkValue) forced = rthunk_value_force (value, error);

      return forced != NULL ? deep_force (forced, error) : NULL;
    }
  if (!rthunk_value_has_items (value) || !rthunk_session_has_pending (value))
    return rthunk_value_ref (value);
  n = rthunk_value_get_length (value);
  items = g_ptr_array_new_full (n, (GDestroyNotify) rthunk_value_unref);
  for (gsize k = 0; k < n; k++)
    {
      RthunkValue *item = deep_force (rthunk_value_get_item (value, k), error);

      if (item == NULL)
        return NULL;
      g_ptr_array_add (items, item);
    }
  return rthunk_value_new_like (value, (RthunkValue *const *) items->pdata);
}

/* The first pending value inside @value that has not arrived: a thunk that
 * has not finished (@thunk), or a pending value of another kind. */
static RthunkValue *
find_unfinished (RthunkValue  *value,
                 RthunkThunk **thunk)
{
  if (rthunk_value_is_pending (value))
    {
      RthunkThunk *t = rthunk_thunk_get_from_value (value);

      if (t == NULL || !rthunk_thunk_is_finished (t))
        {
          *thunk = t;
          return value;
        }
      return rthunk_thunk_get_value (t) != NULL ? find_unfinished (rthunk_thunk_get_value (t), thunk) : NULL;
    }
  if (!rthunk_value_has_items (value))
    return NULL;
  for (gsize k = 0; k < rthunk_value_get_length (value); k++)
    {
      RthunkValue *found = find_unfinished (rthunk_value_get_item (value, k), thunk);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* ---- settling: waiting for the pending values inside a value -------------------------- */

static Settler *
settler_ref (Settler *settler)
{
  return g_rc_box_acquire (settler);
}

static void
settler_clear (gpointer data)
{
  Settler *settler = data;

  if (settler->destroy != NULL)
    settler->destroy (settler->data);
  rthunk_value_unref (settler->root);
  g_object_unref (settler->cancellable);
  g_hash_table_unref (settler->watched);
  g_free (settler->origin);
}

void
rthunk_session_settler_unref (Settler *settler)
{
  g_rc_box_release_full (settler, settler_clear);
}

static void
settler_done (Settler      *settler,
              RthunkValue  *value,
              const GError *error)
{
  RthunkSession *session = g_steal_pointer (&settler->session);

  settler->finished = TRUE;
  g_cancellable_cancel (settler->cancellable);
  if (session != NULL && !rthunk_session_is_closed (session))
    settler->func (session, value, error, settler->origin, settler->data);
}

/* Nothing left to wait for: the value with everything substituted. */
static void
settler_complete (Settler *settler)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = deep_force (settler->root, &error);

  settler_done (settler, value, error);
}

static void settler_watch (Settler *settler, RthunkValue *value);

static void
settler_arrived (Settler      *settler,
                 RthunkValue  *value,
                 const GError *error,
                 const char   *origin)
{
  if (!settler->finished && value == NULL)
    settler_done (settler, NULL, error);
  if (!settler->finished)
    {
      if (origin != NULL)
        {
          rthunk_set_str (&settler->origin, origin);
        }
      settler_watch (settler, value);
    }
  /* this arrival counted as outstanding until its value was walked */
  if (--settler->outstanding == 0 && !settler->finished)
    settler_complete (settler);
}

static void
settler_thunk_done (GObject      *object,
                    GAsyncResult *result,
                    gpointer      data)
{
  Settler *settler = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_thunk_wait_finish (RTHUNK_THUNK (object), result, &error);

  settler_arrived (settler, value, error, rthunk_thunk_get_label (RTHUNK_THUNK (object)));
  rthunk_session_settler_unref (settler);
}

static void
force_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;
  RthunkValue *value = rthunk_value_force (task_data, &error);

  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (task, error);
}

static void
settler_forced (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  Settler *settler = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = g_task_propagate_pointer (G_TASK (result), &error);

  settler_arrived (settler, value, error, NULL);
  rthunk_session_settler_unref (settler);
}

/* A pending value that is not a thunk's: forced in a thread. */
static void
settler_watch_other (Settler     *settler,
                     RthunkValue *pending)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, settler_forced, settler_ref (settler));

  settler->outstanding++;
  g_task_set_task_data (task, rthunk_value_ref (pending), (GDestroyNotify) rthunk_value_unref);
  g_task_run_in_thread (task, force_in_thread);
}

static void
settler_watch_pending (Settler     *settler,
                       RthunkValue *pending)
{
  RthunkThunk *thunk = rthunk_thunk_get_from_value (pending);

  if (thunk == NULL)
    settler_watch_other (settler, pending);
  else if (rthunk_thunk_is_finished (thunk) && rthunk_thunk_get_value (thunk) != NULL)
    settler_watch (settler, rthunk_thunk_get_value (thunk));
  else if (!g_hash_table_contains (settler->watched, thunk))
    {
      g_hash_table_add (settler->watched, g_object_ref (thunk));
      settler->outstanding++;
      rthunk_thunk_wait_async (thunk, settler->cancellable, settler_thunk_done, settler_ref (settler));
    }
}

/* Waits for every pending value inside @value not waited for yet. */
static void
settler_watch (Settler     *settler,
               RthunkValue *value)
{
  if (rthunk_value_is_pending (value))
    settler_watch_pending (settler, value);
  else if (rthunk_value_has_items (value) && rthunk_session_has_pending (value))
    for (gsize k = 0; k < rthunk_value_get_length (value) && !settler->finished; k++)
      settler_watch (settler, rthunk_value_get_item (value, k));
}

/* Calls @func (in the session's context) with @value once everything
 * pending inside it arrived, or with the first error. */
Settler *
rthunk_session_settler_start (RthunkSession  *self,
                              RthunkValue    *value,
                              SettleFunc      func,
                              gpointer        data,
                              GDestroyNotify  destroy)
{
  Settler *settler = g_rc_box_new0 (Settler);

  settler->outstanding = 1;
  settler->session = self;
  settler->root = rthunk_value_ref (value);
  settler->cancellable = g_cancellable_new ();
  settler->watched = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  settler->func = func;
  settler->data = data;
  settler->destroy = destroy;
  settler_ref (settler);
  settler_arrived (settler, value, NULL, NULL);     /* the initial walk */
  rthunk_session_settler_unref (settler);
  return settler;
}

void
rthunk_session_settler_cancel (Settler *settler)
{
  settler->finished = TRUE;
  settler->session = NULL;
  g_cancellable_cancel (settler->cancellable);
  rthunk_session_settler_unref (settler);
}

/* Cancels the thunks a settler still waits for. */
void
rthunk_session_settler_cancel_thunks (Settler *settler)
{
  GHashTableIter iter;
  gpointer thunk;

  g_hash_table_iter_init (&iter, settler->watched);
  while (g_hash_table_iter_next (&iter, &thunk, NULL))
    rthunk_thunk_cancel (thunk);
}

/* ---- waiting ------------------------------------------------------------------------------ */

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* One iteration of @context, for at most WAIT_WAKE_MS (or until @deadline). */
static void
iterate_once (GMainContext *context,
              gint64        deadline)
{
  gint64 left_ms = deadline > 0 ? (deadline - g_get_monotonic_time () + 999) / 1000 : WAIT_WAKE_MS;
  GSource *timeout = g_timeout_source_new ((guint) CLAMP (left_ms, 0, WAIT_WAKE_MS));

  g_source_set_callback (timeout, wake_up, NULL, NULL);
  g_source_attach (timeout, context);
  g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
}

static gboolean
past (gint64 deadline)
{
  return deadline > 0 && g_get_monotonic_time () >= deadline;
}

static gboolean
timed_out (const char  *what,
           gint         timeout_ms,
           GError     **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT, _("%s did not arrive within %d ms"),
               what, timeout_ms);
  return FALSE;
}

/* Waits until @thunk finished, running the session's context when this
 * thread may (cells are scheduled there). */
static gboolean
wait_thunk (RthunkSession  *self,
            RthunkThunk    *thunk,
            gboolean        iterate,
            gint64          deadline,
            gint            timeout_ms,
            GError        **error)
{
  g_autoptr(RthunkValue) value = NULL;
  gint left;

  if (iterate)
    {
      while (!rthunk_thunk_is_finished (thunk) && !past (deadline))
        iterate_once (self->context, deadline);
      return rthunk_thunk_is_finished (thunk) ||
             timed_out (rthunk_thunk_get_label (thunk), timeout_ms, error);
    }
  left = deadline > 0 ? (gint) MAX ((deadline - g_get_monotonic_time ()) / 1000, 0) : -1;
  value = rthunk_thunk_wait (thunk, left, NULL);
  return rthunk_thunk_is_finished (thunk) ||
         timed_out (rthunk_thunk_get_label (thunk), timeout_ms, error);
}

/**
 * rthunk_session_wait:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 * @timeout_ms: how long to wait at most, or -1
 * @error: return location for a #GError
 *
 * Waits until everything pending inside @value arrived. Called from the
 * thread of the session's main context (the thread default context when
 * the session was made), it runs that context meanwhile, so cells waiting
 * for inputs get computed even when no main loop runs.
 *
 * Returns: (transfer full) (nullable): @value with every pending value
 *   replaced by what arrived, or %NULL with @error set (the first failure,
 *   or %RTHUNK_ERROR_TIMEOUT)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_wait (RthunkSession  *session,
                     RthunkValue    *value,
                     gint            timeout_ms,
                     GError        **error)
{
  gint64 deadline = timeout_ms >= 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  g_autoptr(RthunkValue) held = NULL;
  gboolean iterate;
  RthunkValue *pending;
  RthunkThunk *thunk = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (value != NULL, NULL);

  /* the context may run: @value may be a cell's, replaced meanwhile */
  value = held = rthunk_value_ref (value);
  iterate = rthunk_session_may_iterate (session) && g_main_context_acquire (session->context);
  while (ok && (pending = find_unfinished (value, &thunk)) != NULL)
    {
      if (thunk != NULL)
        ok = wait_thunk (session, thunk, iterate, deadline, timeout_ms, error);
      else
        break;      /* not a thunk's: deep_force() blocks for it */
    }
  if (iterate)
    g_main_context_release (session->context);
  if (ok && rthunk_value_is_reference (value))
    {
      /* waiting for a remote reference fetches its value */
      g_autoptr(RthunkValue) fetched = rthunk_value_force (value, error);

      return fetched != NULL ? deep_force (fetched, error) : NULL;
    }
  return ok ? deep_force (value, error) : NULL;
}

/* An rthunk_session_wait_async() in flight. */
typedef struct
{
  GTask *task;
  GCancellable *cancellable;      /* the task's */
  gulong handler;
} Waiting;

static void
waiting_free (gpointer data)
{
  Waiting *waiting = data;

  g_object_unref (waiting->task);
  g_free (waiting);
}

static void
waiting_disconnect (Waiting *waiting)
{
  gulong handler = waiting->handler;

  waiting->handler = 0;
  if (handler != 0)
    g_cancellable_disconnect (waiting->cancellable, handler);
}

static void
wait_settled (RthunkSession *self,
              RthunkValue   *value,
              const GError  *error,
              const char    *origin,
              gpointer       data)
{
  Waiting *waiting = data;

  waiting_disconnect (waiting);
  if (value != NULL)
    g_task_return_pointer (waiting->task, rthunk_value_ref (value), (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (waiting->task, g_error_copy (error));
}

/* In the session's context: the caller stopped waiting. */
static gboolean
wait_stopped (gpointer data)
{
  Settler *settler = data;
  Waiting *waiting = settler->data;

  if (settler->finished)
    return G_SOURCE_REMOVE;
  settler->finished = TRUE;
  settler->session = NULL;
  g_cancellable_cancel (settler->cancellable);
  waiting_disconnect (waiting);
  g_task_return_new_error (waiting->task, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("stopped waiting"));
  return G_SOURCE_REMOVE;
}

/* Any thread may cancel: the settler is only touched in its context, and
 * always from an idle (disconnecting inside `cancelled` would deadlock). */
static void
wait_cancelled (GCancellable *cancellable,
                gpointer      data)
{
  Settler *settler = data;
  Waiting *waiting = settler->data;
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, wait_stopped, settler_ref (settler), (GDestroyNotify) rthunk_session_settler_unref);
  g_source_set_static_name (idle, "[rthunk] stop waiting");
  g_source_attach (idle, g_task_get_context (waiting->task));
  g_source_unref (idle);
}

/* A worker thread of rthunk_session_wait_async(): fetches a remote
 * reference (the task returns at once if it is cancelled). */
static void
fetch_reference (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  GError *error = NULL;
  RthunkValue *fetched = rthunk_value_force (data, &error);
  RthunkValue *value = fetched != NULL ? deep_force (fetched, &error) : NULL;

  g_clear_pointer (&fetched, rthunk_value_unref);
  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (task, error);
}

/**
 * rthunk_session_wait_async:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 * @cancellable: (nullable): stops the wait (not the thunks) when cancelled
 * @callback: (scope async) (closure user_data): called when everything
 *   inside @value arrived
 * @user_data: data for @callback
 *
 * Waits for @value without blocking. Finish with
 * rthunk_session_wait_finish(). Call it from the thread of the session's
 * main context.
 *
 * Since: 0.1
 */
void
rthunk_session_wait_async (RthunkSession       *session,
                           RthunkValue         *value,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Waiting *waiting;
  Settler *settler;

  g_return_if_fail (RTHUNK_IS_SESSION (session));
  g_return_if_fail (value != NULL);

  if (rthunk_value_is_reference (value))
    {
      g_autoptr(GTask) task = g_task_new (session, cancellable, callback, user_data);

      g_task_set_source_tag (task, rthunk_session_wait_async);
      g_task_set_task_data (task, rthunk_value_ref (value), (GDestroyNotify) rthunk_value_unref);
      g_task_set_return_on_cancel (task, TRUE);
      g_task_run_in_thread (task, fetch_reference);
      return;
    }
  waiting = g_new0 (Waiting, 1);
  waiting->task = g_task_new (session, cancellable, callback, user_data);
  waiting->cancellable = cancellable;
  g_task_set_source_tag (waiting->task, rthunk_session_wait_async);
  g_task_set_check_cancellable (waiting->task, FALSE);
  settler = rthunk_session_settler_start (session, value, wait_settled, waiting, waiting_free);
  if (cancellable != NULL && !settler->finished)
    waiting->handler = g_cancellable_connect (cancellable, G_CALLBACK (wait_cancelled),
                                              settler_ref (settler), (GDestroyNotify) rthunk_session_settler_unref);
  rthunk_session_settler_unref (settler);
}

/**
 * rthunk_session_wait_finish:
 * @session: a session
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_session_wait_async().
 *
 * Returns: (transfer full) (nullable): the value with everything pending
 *   replaced, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_wait_finish (RthunkSession  *session,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, session), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
anything_pending (RthunkSession *self)
{
  g_auto(GStrv) pending = rthunk_session_get_pending (self);

  return pending[0] != NULL || self->anonymous->len > 0;
}

/**
 * rthunk_session_wait_all:
 * @session: a session
 * @timeout_ms: how long to wait at most, or -1
 * @error: return location for a #GError
 *
 * Runs the session's main context until no cell is pending (settled or
 * failed, every one). Call it from the thread of that context.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_TIMEOUT)
 *
 * Since: 0.1
 */
gboolean
rthunk_session_wait_all (RthunkSession  *session,
                         gint            timeout_ms,
                         GError        **error)
{
  gint64 deadline = timeout_ms >= 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  while (anything_pending (session) && !past (deadline))
    iterate_once (session->context, deadline);
  /* what became ready in the last iteration is dispatched too */
  while (g_main_context_iteration (session->context, FALSE))
    ;
  return !anything_pending (session) || timed_out (_("every pending cell"), timeout_ms, error);
}

static void
cancel_leaves (RthunkValue *value)
{
  RthunkThunk *thunk;

  if (rthunk_value_is_pending (value) && (thunk = rthunk_thunk_get_from_value (value)) != NULL)
    {
      if (!rthunk_thunk_is_finished (thunk))
        rthunk_thunk_cancel (thunk);
      else if (rthunk_thunk_get_value (thunk) != NULL)
        cancel_leaves (rthunk_thunk_get_value (thunk));
      return;
    }
  if (rthunk_value_has_items (value))
    for (gsize k = 0; k < rthunk_value_get_length (value); k++)
      cancel_leaves (rthunk_value_get_item (value, k));
}

/**
 * rthunk_session_cancel:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 *
 * Cancels what @value is waiting for: the remote thunks inside it (on
 * their servers too), and the evaluation of the cell or expression it
 * stands for, with what that evaluation waits for.
 *
 * Since: 0.1
 */
void
rthunk_session_cancel (RthunkSession *session,
                       RthunkValue   *value)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));
  g_return_if_fail (value != NULL);

  cancel_leaves (value);
}

/* ---- progress --------------------------------------------------------------------------- */

/* Calls @func on each remote thunk that @cell, not settled yet, submitted
 * (its evaluation's, under their lock, else those it keeps while it
 * settles).  In the thread of the session's main context. */
void
rthunk_session_cell_foreach_submitted (Cell     *cell,
                                       GFunc     func,
                                       gpointer  data)
{
  if (cell->state == CELL_DONE || cell->state == CELL_FAILED)
    return;
  if (cell->evaluation != NULL)
    {
      g_mutex_lock (&cell->evaluation->lock);
      if (cell->evaluation->submitted != NULL)
        g_ptr_array_foreach (cell->evaluation->submitted, func, data);
      g_mutex_unlock (&cell->evaluation->lock);
    }
  else if (cell->submitted != NULL)
    g_ptr_array_foreach (cell->submitted, func, data);
}

typedef struct
{
  guint done;
  guint total;
  gint64 oldest_us;
  GHashTable *servers;
} Progress;

/* Counts the remote thunk @data into the totals of @user_data (a Progress). */
static void
count_submitted (gpointer data,
                 gpointer user_data)
{
  RthunkThunk *thunk = data;
  Progress *progress = user_data;
  const char *server = rthunk_thunk_get_server (thunk);

  progress->total++;
  if (rthunk_thunk_is_finished (thunk))
    {
      progress->done++;
      return;
    }
  progress->oldest_us = MAX (progress->oldest_us, rthunk_thunk_get_elapsed (thunk));
  if (server != NULL)
    g_hash_table_add (progress->servers, g_strdup (server));
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/**
 * rthunk_session_get_progress:
 * @session: a session
 * @done: (out): how many of them have finished
 * @total: (out): how many remote thunks the cells not settled yet submitted
 *   (the chunks of a pmap, psum or preduce among them)
 * @oldest_us: (out): how long the oldest unfinished one has run, in
 *   microseconds (0 for none)
 * @servers: (out) (transfer full) (array zero-terminated=1): the servers
 *   that run the unfinished ones, sorted
 *
 * Tells how far the work the session waits for has come: what the shell's
 * status line shows while it waits. Call it in the thread of the session's
 * main context.
 *
 * Since: 0.1
 */
void
rthunk_session_get_progress (RthunkSession  *session,
                             guint          *done,
                             guint          *total,
                             gint64         *oldest_us,
                             GStrv          *servers)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Progress progress = { 0, 0, 0, names };
  GHashTableIter iter;
  gpointer cell, name;
  GPtrArray *sorted;

  g_return_if_fail (RTHUNK_IS_SESSION (session));

  g_hash_table_iter_init (&iter, session->cells);
  while (g_hash_table_iter_next (&iter, NULL, &cell))
    rthunk_session_cell_foreach_submitted (cell, count_submitted, &progress);
  for (guint k = 0; k < session->anonymous->len; k++)
    rthunk_session_cell_foreach_submitted (g_ptr_array_index (session->anonymous, k), count_submitted, &progress);
  *done = progress.done;
  *total = progress.total;
  *oldest_us = progress.oldest_us;
  sorted = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    g_ptr_array_add (sorted, g_strdup (name));
  g_ptr_array_sort (sorted, compare_names);
  g_ptr_array_add (sorted, NULL);
  *servers = (GStrv) g_ptr_array_free (sorted, FALSE);
}
