/* rthunk-session-cancel.c — cancelling what a value or a cell waits for,
 * on the servers that run it, with their answer
 *
 * A cancel collects, in the session's context, every unfinished thunk
 * behind what is cancelled: the remote thunks inside a value, and for a
 * cell or expression still evaluating, every remote thunk its evaluation
 * submitted (the chunks of pmap, the links of a pipelined chain), the one
 * it is blocked on and those its settler waits for. A worker thread sends
 * `thunkCancel` to each one's server and keeps the answer (true: the
 * server stopped it); then, in the context again, every thunk collected is
 * finished as cancelled here, which stops the evaluations.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-session-private.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-cluster-private.h"
#include "rthunk-error.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* Notes a remote thunk @ev submitted: cancelling its cell cancels it. */
void
rthunk_session_evaluation_track (Evaluation  *ev,
                                 RthunkValue *value)
{
  RthunkThunk *thunk = rthunk_thunk_get_from_value (value);

  if (thunk == NULL)
    return;
  g_mutex_lock (&ev->lock);
  if (ev->submitted == NULL)
    ev->submitted = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (ev->submitted, g_object_ref (thunk));
  g_mutex_unlock (&ev->lock);
}

/* ---- what to cancel ------------------------------------------------------------ */

typedef struct
{
  RthunkThunk *thunk;           /* finished as cancelled here, at the end */
  RthunkClient *client;         /* its server's, with @id; or */
  GBytes *id;
  RthunkValue *routed;          /* the cluster's pending value it stands for */
} Target;

typedef struct
{
  RthunkSession *session;
  GHashTable *seen;             /* RthunkThunk */
  GPtrArray *targets;           /* Target */
  GPtrArray *confirmed;         /* server names, set by the thread */
  GPtrArray *unconfirmed;
} Cancel;

static void
target_free (gpointer data)
{
  Target *target = data;

  g_object_unref (target->thunk);
  g_clear_object (&target->client);
  g_clear_pointer (&target->id, g_bytes_unref);
  g_clear_pointer (&target->routed, rthunk_value_unref);
  g_free (target);
}

static void
cancel_free (gpointer data)
{
  Cancel *cancel = data;

  g_object_unref (cancel->session);
  g_hash_table_unref (cancel->seen);
  g_ptr_array_unref (cancel->targets);
  g_ptr_array_unref (cancel->confirmed);
  g_ptr_array_unref (cancel->unconfirmed);
  g_free (cancel);
}

static Cancel *
cancel_new (RthunkSession *self)
{
  Cancel *cancel = g_new0 (Cancel, 1);

  cancel->session = g_object_ref (self);
  cancel->seen = g_hash_table_new (NULL, NULL);
  cancel->targets = g_ptr_array_new_with_free_func (target_free);
  cancel->confirmed = g_ptr_array_new_with_free_func (g_free);
  cancel->unconfirmed = g_ptr_array_new_with_free_func (g_free);
  return cancel;
}

/* The cell whose future @thunk is, if any. */
static Cell *
cell_of_future (RthunkSession *self,
                RthunkThunk   *thunk)
{
  for (guint k = 0; k < self->order->len; k++)
    if (((Cell *) g_ptr_array_index (self->order, k))->future == thunk)
      return g_ptr_array_index (self->order, k);
  for (guint k = 0; k < self->anonymous->len; k++)
    if (((Cell *) g_ptr_array_index (self->anonymous, k))->future == thunk)
      return g_ptr_array_index (self->anonymous, k);
  return NULL;
}

static gboolean
is_named (RthunkSession *self,
          Server        *server,
          gconstpointer  name)
{
  return g_strcmp0 (rthunk_client_get_server_name (server->client), name) == 0;
}

static void collect_value (Cancel *cancel, RthunkValue *value);
static void collect_cell (Cancel *cancel, Cell *cell);

static void
collect_thunk (Cancel      *cancel,
               RthunkThunk *thunk)
{
  Target *target;
  Cell *cell;

  if (rthunk_thunk_is_finished (thunk))
    {
      if (rthunk_thunk_get_value (thunk) != NULL)
        collect_value (cancel, rthunk_thunk_get_value (thunk));
      return;
    }
  if (!g_hash_table_add (cancel->seen, thunk))
    return;
  target = g_new0 (Target, 1);
  target->thunk = g_object_ref (thunk);
  g_ptr_array_add (cancel->targets, target);
  if ((cell = cell_of_future (cancel->session, thunk)) != NULL)
    collect_cell (cancel, cell);
  else if (rthunk_thunk_get_id (thunk) != NULL && rthunk_thunk_get_server (thunk) != NULL)
    {
      Server *server = rthunk_session_find_server (cancel->session, is_named, rthunk_thunk_get_server (thunk));

      target->client = server != NULL ? g_object_ref (server->client) : NULL;
      target->id = g_bytes_ref (rthunk_thunk_get_id (thunk));
    }
  else
    target->routed = rthunk_thunk_dup_origin (thunk);
}

static void
collect_value (Cancel      *cancel,
               RthunkValue *value)
{
  RthunkThunk *thunk;

  if (rthunk_value_is_pending (value) && (thunk = rthunk_thunk_get_from_value (value)) != NULL)
    collect_thunk (cancel, thunk);
  else if (rthunk_value_has_items (value))
    for (gsize k = 0; k < rthunk_value_get_length (value); k++)
      collect_value (cancel, rthunk_value_get_item (value, k));
}

/* What a cell still runs: its evaluation's thunks, its settler's. */
static void
collect_cell (Cancel *cancel,
              Cell   *cell)
{
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer thunk;

  if (cell->future != NULL && !rthunk_thunk_is_finished (cell->future))
    collect_thunk (cancel, cell->future);
  if (cell->evaluation != NULL)
    {
      Evaluation *ev = cell->evaluation;

      g_mutex_lock (&ev->lock);
      for (guint k = 0; ev->submitted != NULL && k < ev->submitted->len; k++)
        g_ptr_array_add (thunks, g_object_ref (g_ptr_array_index (ev->submitted, k)));
      if (ev->blocked_on != NULL)
        g_ptr_array_add (thunks, g_object_ref (ev->blocked_on));
      g_mutex_unlock (&ev->lock);
    }
  for (guint k = 0; cell->submitted != NULL && k < cell->submitted->len; k++)
    g_ptr_array_add (thunks, g_object_ref (g_ptr_array_index (cell->submitted, k)));
  if (cell->settler != NULL)
    {
      g_hash_table_iter_init (&iter, cell->settler->watched);
      while (g_hash_table_iter_next (&iter, &thunk, NULL))
        g_ptr_array_add (thunks, g_object_ref (thunk));
    }
  for (guint k = 0; k < thunks->len; k++)
    collect_thunk (cancel, g_ptr_array_index (thunks, k));
  if (cell->value != NULL)
    collect_value (cancel, cell->value);
}

/* ---- telling the servers ------------------------------------------------------------ */

static void
note_answer (GPtrArray  *names,
             const char *server)
{
  for (guint k = 0; k < names->len; k++)
    if (g_strcmp0 (g_ptr_array_index (names, k), server) == 0)
      return;
  g_ptr_array_add (names, g_strdup (server));
}

/* A worker thread: thunkCancel for each remote target. */
static void
send_cancels (GTask        *task,
              gpointer      source,
              gpointer      data,
              GCancellable *cancellable)
{
  Cancel *cancel = data;

  for (guint k = 0; k < cancel->targets->len; k++)
    {
      Target *target = g_ptr_array_index (cancel->targets, k);
      g_autoptr(GError) error = NULL;
      g_autofree char *server = NULL;
      gboolean confirmed = FALSE;

      if (target->client != NULL)
        {
          server = g_strdup (rthunk_thunk_get_server (target->thunk));
          rthunk_client_cancel_run (target->client, target->id, NULL, &confirmed, &error);
        }
      else if (target->routed != NULL)
        rthunk_cluster_cancel_value (cancel->session->cluster, target->routed, &server, &confirmed, &error);
      if (server == NULL)
        continue;       /* local work: stopped below */
      if (error != NULL)
        g_debug ("cancelling on %s: %s", server, error->message);
      note_answer (confirmed ? cancel->confirmed : cancel->unconfirmed, server);
    }
  g_task_return_boolean (task, TRUE);
}

/* Back in the context: every thunk collected ends cancelled here. */
static void
cancels_sent (GObject      *object,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GTask) outer = data;
  Cancel *cancel = g_task_get_task_data (outer);

  for (guint k = 0; k < cancel->targets->len; k++)
    rthunk_thunk_cancel (((Target *) g_ptr_array_index (cancel->targets, k))->thunk);
  g_task_return_boolean (outer, TRUE);
}

static void
cancel_start (RthunkSession       *self,
              Cancel              *cancel,
              gpointer             source_tag,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *outer = g_task_new (self, NULL, callback, user_data);
  g_autoptr(GTask) inner = NULL;

  g_task_set_source_tag (outer, source_tag);
  g_task_set_task_data (outer, cancel, cancel_free);
  inner = g_task_new (NULL, NULL, cancels_sent, outer);
  g_task_set_task_data (inner, cancel, NULL);
  g_task_run_in_thread (inner, send_cancels);
}

/**
 * rthunk_session_cancel_value_async:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 * @callback: (scope async) (closure user_data): called when the servers
 *   answered
 * @user_data: data for @callback
 *
 * Cancels what @value waits for, like rthunk_session_cancel(), and tells
 * which servers confirmed it: the remote thunks inside it and, when it
 * stands for a cell or expression still evaluating, every remote thunk
 * that evaluation submitted (pmap chunks, pipelined chains) and the
 * evaluation itself. Finish with rthunk_session_cancel_finish(). Call it
 * from the thread of the session's main context.
 *
 * Since: 0.1
 */
void
rthunk_session_cancel_value_async (RthunkSession       *session,
                                   RthunkValue         *value,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Cancel *cancel;

  g_return_if_fail (RTHUNK_IS_SESSION (session));
  g_return_if_fail (value != NULL);

  cancel = cancel_new (session);
  collect_value (cancel, value);
  cancel_start (session, cancel, rthunk_session_cancel_value_async, callback, user_data);
}

/**
 * rthunk_session_cancel_cell_async:
 * @session: a session
 * @name: (nullable): the name of a cell, or %NULL for every cell and
 *   expression that is still pending
 * @callback: (scope async) (closure user_data): called when the servers
 *   answered
 * @user_data: data for @callback
 *
 * Cancels a pending cell (or all of them) as
 * rthunk_session_cancel_value_async() cancels a value. An unknown @name
 * cancels nothing. Finish with rthunk_session_cancel_finish().
 *
 * Since: 0.1
 */
void
rthunk_session_cancel_cell_async (RthunkSession       *session,
                                  const char          *name,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Cancel *cancel;
  Cell *cell;

  g_return_if_fail (RTHUNK_IS_SESSION (session));

  cancel = cancel_new (session);
  if (name != NULL && (cell = rthunk_session_lookup_cell (session, name)) != NULL)
    collect_cell (cancel, cell);
  for (guint k = 0; name == NULL && k < session->order->len; k++)
    collect_cell (cancel, g_ptr_array_index (session->order, k));
  for (guint k = 0; name == NULL && k < session->anonymous->len; k++)
    collect_cell (cancel, g_ptr_array_index (session->anonymous, k));
  cancel_start (session, cancel, rthunk_session_cancel_cell_async, callback, user_data);
}

static GStrv
names_of (GPtrArray *names)
{
  GStrv out = g_new0 (char *, names->len + 1);

  for (guint k = 0; k < names->len; k++)
    out[k] = g_strdup (g_ptr_array_index (names, k));
  return out;
}

/**
 * rthunk_session_cancel_finish:
 * @session: a session
 * @result: the result given to the callback
 * @confirmed: (out) (optional) (transfer full): the servers that stopped
 *   a thunk (their answer to `thunkCancel` was true)
 * @unconfirmed: (out) (optional) (transfer full): the servers a cancel
 *   was sent to that did not confirm it (the thunk had finished there, or
 *   the server could not be reached)
 * @error: return location for a #GError
 *
 * Finishes rthunk_session_cancel_cell_async() and
 * rthunk_session_cancel_value_async().
 *
 * Returns: how many thunks (remote or local) were cancelled here
 *
 * Since: 0.1
 */
guint
rthunk_session_cancel_finish (RthunkSession  *session,
                              GAsyncResult   *result,
                              GStrv          *confirmed,
                              GStrv          *unconfirmed,
                              GError        **error)
{
  Cancel *cancel;

  g_return_val_if_fail (g_task_is_valid (result, session), 0);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return 0;
  cancel = g_task_get_task_data (G_TASK (result));
  if (confirmed != NULL)
    *confirmed = names_of (cancel->confirmed);
  if (unconfirmed != NULL)
    *unconfirmed = names_of (cancel->unconfirmed);
  return cancel->targets->len;
}

/**
 * rthunk_session_is_evaluating:
 * @session: a session
 * @value: a value
 *
 * Tells whether @value is the pending value of an evaluation that runs in
 * this session now.
 *
 * Returns: whether @value stands for a cell or expression being evaluated
 *   here right now (local work, not waiting for a server)
 *
 * Since: 0.1
 */
gboolean
rthunk_session_is_evaluating (RthunkSession *session,
                              RthunkValue   *value)
{
  RthunkThunk *thunk;
  Cell *cell;
  gboolean running;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (!rthunk_value_is_pending (value) || (thunk = rthunk_thunk_get_from_value (value)) == NULL ||
      (cell = cell_of_future (session, thunk)) == NULL || cell->state != CELL_RUNNING ||
      cell->evaluation == NULL)
    return FALSE;
  g_mutex_lock (&cell->evaluation->lock);
  running = cell->evaluation->status == EVAL_RUNNING || cell->evaluation->status == EVAL_QUEUED;
  g_mutex_unlock (&cell->evaluation->lock);
  return running;
}
