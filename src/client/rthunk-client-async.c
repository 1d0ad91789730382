/* rthunk-client-async.c — the _async/_finish forms of RthunkClient's calls
 *
 * Each call runs its "run" function (rthunk-client-private.h) on a GTask
 * worker thread, with a connection of the client's pool to itself, so
 * several proceed at once. The task's cancellable aborts the call's I/O
 * and its connection is closed, never reused half-read. GTask delivers the
 * callback in the thread-default main context of the caller.
 */
#include "config.h"

#include "rthunk-catalog.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

typedef struct _Job Job;

/* Does the call on the worker thread: a result, or NULL with @error set. */
typedef gpointer (*JobFunc) (RthunkClient  *self,
                             Job           *job,
                             GCancellable  *cancellable,
                             GError       **error);

/* What a call needs, copied from the caller's arguments. */
struct _Job
{
  JobFunc run;
  GDestroyNotify free_result;
  RthunkNode *expr;
  GHashTable *inputs;           /* name → RthunkValue */
  GHashTable *definitions;      /* name → RthunkNode */
  GPtrArray *ids;               /* GBytes */
  guint timeout_ms;
  GPtrArray *exprs;             /* RthunkNode */
  char **names;
};

/* A boolean result that is not NULL. */
#define JOB_DONE GINT_TO_POINTER (1)

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_pointer (&job->expr, rthunk_node_unref);
  g_clear_pointer (&job->inputs, g_hash_table_unref);
  g_clear_pointer (&job->definitions, g_hash_table_unref);
  g_clear_pointer (&job->ids, g_ptr_array_unref);
  g_clear_pointer (&job->exprs, g_ptr_array_unref);
  g_strfreev (job->names);
  g_free (job);
}

static Job *
job_new (JobFunc        run,
         GDestroyNotify free_result)
{
  Job *job = g_new0 (Job, 1);

  job->run = run;
  job->free_result = free_result;
  return job;
}

/* A copy of @array holding a reference to each of its items. */
static GPtrArray *
copy_array (GPtrArray      *array,
            GBoxedCopyFunc  ref,
            GDestroyNotify  unref)
{
  GPtrArray *copy = g_ptr_array_new_full (array->len, unref);

  for (guint k = 0; k < array->len; k++)
    g_ptr_array_add (copy, ref (g_ptr_array_index (array, k)));
  return copy;
}

/* What rthunk_value_table_map() puts in place of @value: itself. */
static RthunkValue *
same_value (RthunkValue *value,
            gpointer     user_data)
{
  return value;
}

/* A copy of a call's inputs (name → RthunkValue), so the caller may
 * change its own once the call has started. */
static GHashTable *
copy_inputs (GHashTable *inputs)
{
  return inputs != NULL ? rthunk_value_table_map (inputs, same_value, NULL) : NULL;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  gpointer result = job->run (source_object, job, cancellable, &error);

  if (result != NULL)
    g_task_return_pointer (task, result, job->free_result);
  else
    g_task_return_error (task, error);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

/* Runs @job, which the _async function @source_tag made, on a worker
 * thread. The checks of the client and the cancellable every _async
 * function needs are made here, as job_finish() makes those of the
 * _finish functions; each _async function checks its own arguments
 * before it copies them into @job. @job is freed when a check fails. */
static void
job_start (RthunkClient        *client,
           Job                 *job,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(Job) owned = job;
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RTHUNK_IS_CLIENT (client));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_steal_pointer (&owned), job_free);
  g_task_run_in_thread (task, job_thread);
}

/* The result of the job that @source_tag started, or NULL with @error. */
static gpointer
job_finish (RthunkClient  *client,
            GAsyncResult  *result,
            gpointer       source_tag,
            GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- connect and ping --------------------------------------------------- */

static gpointer
run_connect (RthunkClient  *self,
             Job           *job,
             GCancellable  *cancellable,
             GError       **error)
{
  return rthunk_client_connect_run (self, FALSE, cancellable, error) ? JOB_DONE : NULL;
}

static gpointer
run_ping (RthunkClient  *self,
          Job           *job,
          GCancellable  *cancellable,
          GError       **error)
{
  return rthunk_client_connect_run (self, TRUE, cancellable, error) ? JOB_DONE : NULL;
}

/**
 * rthunk_client_connect_async:
 * @client: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the catalog
 *   has arrived or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_connect(). Finish it with
 * rthunk_client_connect_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_connect_async (RthunkClient        *client,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  job_start (client, job_new (run_connect, NULL), rthunk_client_connect_async,
             cancellable, callback, user_data);
}

/**
 * rthunk_client_connect_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_connect_async().
 *
 * Returns: %TRUE, or %FALSE with @error set as rthunk_client_connect()
 *   does, or to %G_IO_ERROR_CANCELLED
 *
 * Since: 0.1
 */
gboolean
rthunk_client_connect_finish (RthunkClient  *client,
                              GAsyncResult  *result,
                              GError       **error)
{
  return job_finish (client, result, rthunk_client_connect_async, error) != NULL;
}

/**
 * rthunk_client_ping_async:
 * @client: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the server
 *   answered or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_ping(). Finish it with
 * rthunk_client_ping_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_ping_async (RthunkClient        *client,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  job_start (client, job_new (run_ping, NULL), rthunk_client_ping_async,
             cancellable, callback, user_data);
}

/**
 * rthunk_client_ping_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_ping_async().
 *
 * Returns: %TRUE if the server answered, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_client_ping_finish (RthunkClient  *client,
                           GAsyncResult  *result,
                           GError       **error)
{
  return job_finish (client, result, rthunk_client_ping_async, error) != NULL;
}

/* ---- submit ------------------------------------------------------------- */

static gpointer
run_submit (RthunkClient  *self,
            Job           *job,
            GCancellable  *cancellable,
            GError       **error)
{
  return rthunk_client_submit_run (self, job->expr, job->inputs, job->definitions, FALSE, cancellable, error);
}

/**
 * rthunk_client_submit_async:
 * @client: a client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @definitions: (nullable) (element-type utf8 RthunkNode): the `defn` forms
 *   of the user functions @expr may call, by name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the server
 *   took the request or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_submit_full(): connects first when the
 * client has no catalog yet. @inputs and @definitions are copied, so the
 * caller may change them at once. Finish it with
 * rthunk_client_submit_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_submit_async (RthunkClient        *client,
                            RthunkNode          *expr,
                            GHashTable          *inputs,
                            GHashTable          *definitions,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Job *job;

  g_return_if_fail (expr != NULL);

  job = job_new (run_submit, (GDestroyNotify) rthunk_value_unref);
  job->expr = rthunk_node_ref (expr);
  job->inputs = copy_inputs (inputs);
  job->definitions = rthunk_definitions_copy (definitions);
  job_start (client, job, rthunk_client_submit_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_submit_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_submit_async().
 *
 * Returns: (transfer full) (nullable): the value, possibly pending, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit_finish (RthunkClient  *client,
                             GAsyncResult  *result,
                             GError       **error)
{
  return job_finish (client, result, rthunk_client_submit_async, error);
}

/* ---- thunks ------------------------------------------------------------- */

static gpointer
run_await (RthunkClient  *self,
           Job           *job,
           GCancellable  *cancellable,
           GError       **error)
{
  return rthunk_client_await_run (self, job->ids, job->timeout_ms, cancellable, error);
}

/**
 * rthunk_client_await_many_async:
 * @client: a client
 * @ids: (element-type GBytes): ids of thunks this client's server issued,
 *   at most 4096
 * @timeout_ms: how long the server may wait for one of them to finish
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when one of the
 *   thunks finished, at the timeout, or when the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_await_many(): one long poll
 * (`thunkAwait`). Cancelling @cancellable ends the wait at once. Finish it
 * with rthunk_client_await_many_finish(), which reports the finished
 * thunks.
 *
 * Since: 0.1
 */
void
rthunk_client_await_many_async (RthunkClient        *client,
                                GPtrArray           *ids,
                                guint                timeout_ms,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;

  g_return_if_fail (ids != NULL && ids->len > 0);

  job = job_new (run_await, (GDestroyNotify) g_array_unref);
  job->ids = copy_array (ids, (GBoxedCopyFunc) g_bytes_ref, (GDestroyNotify) g_bytes_unref);
  job->timeout_ms = timeout_ms;
  job_start (client, job, rthunk_client_await_many_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_await_many_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @func: (scope call) (closure user_data): called for each thunk that
 *   finished, before this function returns
 * @user_data: data for @func
 * @error: return location for a #GError
 *
 * Reports every thunk that had finished when the long poll returned to
 * @func, as rthunk_client_await_many() does.
 *
 * Returns: %TRUE, or %FALSE with @error set (%G_IO_ERROR_CANCELLED when
 *   the wait was cancelled)
 *
 * Since: 0.1
 */
gboolean
rthunk_client_await_many_finish (RthunkClient           *client,
                                 GAsyncResult           *result,
                                 RthunkClientAwaitFunc   func,
                                 gpointer                user_data,
                                 GError                **error)
{
  g_autoptr(GArray) done = NULL;

  g_return_val_if_fail (func != NULL, FALSE);

  if ((done = job_finish (client, result, rthunk_client_await_many_async, error)) == NULL)
    return FALSE;
  rthunk_client_report_finished (done, func, user_data);
  return TRUE;
}

static gpointer
run_cancel (RthunkClient  *self,
            Job           *job,
            GCancellable  *cancellable,
            GError       **error)
{
  return rthunk_client_cancel_run (self, g_ptr_array_index (job->ids, 0), cancellable, NULL, error)
         ? JOB_DONE : NULL;
}

static gpointer
run_poll (RthunkClient  *self,
          Job           *job,
          GCancellable  *cancellable,
          GError       **error)
{
  return rthunk_client_poll_run (self, g_ptr_array_index (job->ids, 0), cancellable, error);
}

/* A job about one thunk. */
static Job *
job_new_for_id (JobFunc         run,
                GDestroyNotify  free_result,
                GBytes         *id)
{
  Job *job = job_new (run, free_result);

  job->ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (job->ids, g_bytes_ref (id));
  return job;
}

/**
 * rthunk_client_cancel_thunk_async:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @cancellable: (nullable): a #GCancellable (of this request, not of the
 *   thunk)
 * @callback: (scope async) (closure user_data): called when the server
 *   took the request or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_cancel_thunk(). Finish it with
 * rthunk_client_cancel_thunk_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_cancel_thunk_async (RthunkClient        *client,
                                  GBytes              *id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (id != NULL);

  job_start (client, job_new_for_id (run_cancel, NULL, id), rthunk_client_cancel_thunk_async,
             cancellable, callback, user_data);
}

/**
 * rthunk_client_cancel_thunk_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_cancel_thunk_async().
 *
 * Returns: %TRUE when the server took the request, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_client_cancel_thunk_finish (RthunkClient  *client,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return job_finish (client, result, rthunk_client_cancel_thunk_async, error) != NULL;
}

/**
 * rthunk_client_poll_async:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the server
 *   answered or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_poll() (`thunkGet`). Finish it with
 * rthunk_client_poll_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_poll_async (RthunkClient        *client,
                          GBytes              *id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (id != NULL);

  job_start (client, job_new_for_id (run_poll, g_object_unref, id), rthunk_client_poll_async,
             cancellable, callback, user_data);
}

/**
 * rthunk_client_poll_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @value: (out) (optional) (nullable) (transfer full): the thunk's value,
 *   when it is done
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_poll_async().
 *
 * Returns: the thunk's state, as rthunk_client_poll() returns it; 0 with
 *   @error set when the call failed
 *
 * Since: 0.1
 */
RthunkThunkState
rthunk_client_poll_finish (RthunkClient  *client,
                           GAsyncResult  *result,
                           RthunkValue  **value,
                           GError       **error)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;

  if (value != NULL)
    *value = NULL;
  if ((cont = job_finish (client, result, rthunk_client_poll_async, error)) == NULL)
    return 0;
  return rthunk_client_poll_result (cont, value, error);
}

/* ---- getServerInfo, getFuncDefs, putDefinitions, submitBatch ------------- */

static gpointer
run_server_info (RthunkClient  *self,
                 Job           *job,
                 GCancellable  *cancellable,
                 GError       **error)
{
  return rthunk_client_server_info_run (self, cancellable, error);
}

/**
 * rthunk_client_get_server_info_async:
 * @client: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the answer
 *   arrived or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_get_server_info(). Finish it with
 * rthunk_client_get_server_info_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_get_server_info_async (RthunkClient        *client,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  job_start (client, job_new (run_server_info, (GDestroyNotify) g_variant_unref),
             rthunk_client_get_server_info_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_get_server_info_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_get_server_info_async().
 *
 * Returns: (transfer full) (nullable): the server's description (see
 *   rthunk_client_get_server_info()), or %NULL with @error set
 *
 * Since: 0.1
 */
GVariant *
rthunk_client_get_server_info_finish (RthunkClient  *client,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  return job_finish (client, result, rthunk_client_get_server_info_async, error);
}

static gpointer
run_func_defs (RthunkClient  *self,
               Job           *job,
               GCancellable  *cancellable,
               GError       **error)
{
  return rthunk_client_func_defs_run (self, (const char *const *) job->names, cancellable, error);
}

/**
 * rthunk_client_get_func_defs_async:
 * @client: a client
 * @names: (nullable) (array zero-terminated=1): the functions wanted;
 *   %NULL or empty for the whole catalog
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the answer
 *   arrived or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_get_func_defs(). Finish it with
 * rthunk_client_get_func_defs_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_get_func_defs_async (RthunkClient        *client,
                                   const char *const   *names,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Job *job;

  job = job_new (run_func_defs, g_object_unref);
  job->names = g_strdupv ((char **) names);
  job_start (client, job, rthunk_client_get_func_defs_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_get_func_defs_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_get_func_defs_async().
 *
 * Returns: (transfer full) (nullable): a catalog of the functions, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_client_get_func_defs_finish (RthunkClient  *client,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return job_finish (client, result, rthunk_client_get_func_defs_async, error);
}

static gpointer
run_put_definitions (RthunkClient  *self,
                     Job           *job,
                     GCancellable  *cancellable,
                     GError       **error)
{
  gint added = rthunk_client_put_definitions_run (self, job->definitions, cancellable, error);

  /* not NULL for 0 */
  return added >= 0 ? GINT_TO_POINTER (added + 1) : NULL;
}

/**
 * rthunk_client_put_definitions_async:
 * @client: a client
 * @definitions: (element-type utf8 RthunkNode): `defn` forms by name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the server
 *   answered or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_put_definitions(); @definitions is
 * copied. Finish it with rthunk_client_put_definitions_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_put_definitions_async (RthunkClient        *client,
                                     GHashTable          *definitions,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Job *job;

  g_return_if_fail (definitions != NULL);

  job = job_new (run_put_definitions, NULL);
  job->definitions = rthunk_definitions_copy (definitions);
  job_start (client, job, rthunk_client_put_definitions_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_put_definitions_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_put_definitions_async().
 *
 * Returns: how many definitions the server had not stored yet, or -1
 *   with @error set
 *
 * Since: 0.1
 */
gint
rthunk_client_put_definitions_finish (RthunkClient  *client,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  gpointer added = job_finish (client, result, rthunk_client_put_definitions_async, error);

  return added != NULL ? GPOINTER_TO_INT (added) - 1 : -1;
}

static gpointer
run_submit_batch (RthunkClient  *self,
                  Job           *job,
                  GCancellable  *cancellable,
                  GError       **error)
{
  return rthunk_client_submit_batch_run (self, job->exprs, job->inputs, cancellable, error);
}

/**
 * rthunk_client_submit_batch_async:
 * @client: a client
 * @exprs: (element-type RthunkNode): the expressions (see
 *   rthunk_client_submit_batch())
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   they read
 * @cancellable: (nullable): a #GCancellable, checked before anything is
 *   sent
 * @callback: (scope async) (closure user_data): called when the server
 *   took the batch or the call failed
 * @user_data: data for @callback
 *
 * The async form of rthunk_client_submit_batch(); @exprs and @inputs are
 * copied. Finish it with rthunk_client_submit_batch_finish().
 *
 * Since: 0.1
 */
void
rthunk_client_submit_batch_async (RthunkClient        *client,
                                  GPtrArray           *exprs,
                                  GHashTable          *inputs,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Job *job;

  g_return_if_fail (exprs != NULL && exprs->len <= 4096);

  job = job_new (run_submit_batch, (GDestroyNotify) g_ptr_array_unref);
  job->exprs = copy_array (exprs, (GBoxedCopyFunc) rthunk_node_ref, (GDestroyNotify) rthunk_node_unref);
  job->inputs = copy_inputs (inputs);
  job_start (client, job, rthunk_client_submit_batch_async, cancellable, callback, user_data);
}

/**
 * rthunk_client_submit_batch_finish:
 * @client: a client
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_client_submit_batch_async().
 *
 * Returns: (transfer container) (element-type RthunkValue) (nullable): a
 *   value for each expression, or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_client_submit_batch_finish (RthunkClient  *client,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return job_finish (client, result, rthunk_client_submit_batch_async, error);
}
