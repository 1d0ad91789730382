/* rthunk-client-await.c — the thunks of a client's server: pending values,
 * and waiting for them
 *
 * A pending value the client gives out stands for a thunk on its server;
 * forcing it awaits the thunk. Also the calls on thunks by id: thunkAwait
 * for many at once (what RthunkThunk's collector uses), thunkGet and
 * thunkCancel.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-client.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-thunk-state.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

#define AWAIT_SLICE_MS 1000

/* ---- thunks ------------------------------------------------------------ */

static void
remote_handle_free (gpointer data)
{
  RemoteHandle *handle = data;

  g_object_unref (handle->client);
  g_clear_pointer (&handle->type, rthunk_type_unref);
  g_clear_error (&handle->send_error);
  g_free (handle);
}

/* A thunkAwait call for the thunks @ids (GBytes), which the server
 * answers within @timeout_ms. */
static RthunkClientMessage *
await_message (RthunkClient *self,
               GPtrArray    *ids,
               guint         timeout_ms)
{
  RthunkClientMessage *out = rthunk_client_message_begin (rthunk_client_reply_thunk_await.method);

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, ids->len);
  for (guint k = 0; k < ids->len; k++)
    {
      gsize len;
      const guint8 *id = g_bytes_get_data (g_ptr_array_index (ids, k), &len);

      /* a RemoteThunk of just its id */
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_binary (out, id, len);
      rthunk_codec_put_stop (out);
    }
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 2);
  rthunk_codec_put_i32 (out, (gint32) MIN (timeout_ms, G_MAXINT32));
  rthunk_client_message_end (self, out, 3);
  return out;
}

/* One thunkAwait slice (@message) for thunk @id, whose value must be of
 * @type: *result stays NULL while it runs. */
static gboolean
await_once (RthunkClient  *self,
            RthunkConn    *conn,
            GByteArray    *message,
            RemoteHandle  *handle,
            RthunkValue  **result,
            GError       **error)
{
  g_autoptr(GArray) done = rthunk_client_call_for_reports (self, conn, message,
                                                           &rthunk_client_reply_thunk_await, NULL, error);

  *result = NULL;
  if (done == NULL)
    return FALSE;
  for (guint k = 0; k < done->len; k++)
    {
      ThunkReport *report = &g_array_index (done, ThunkReport, k);

      if (rthunk_client_report_is_of (report, handle->id, handle->id_len))
        return (*result = rthunk_client_report_outcome (self, report, handle->type, error)) != NULL;
    }
  return TRUE;
}

/* Forcing a pending value: one connection, awaited slice by slice. */
static RthunkValue *
force_remote (gpointer   data,
              GError   **error)
{
  RemoteHandle *handle = data;
  RthunkClient *self = handle->client;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(RthunkClientMessage) message = NULL;
  RthunkValue *result = NULL;
  GError *failed = NULL;
  RthunkCall call;
  gboolean ok;

  /* a queued submission is sent first */
  rthunk_client_flush (self, NULL);
  g_mutex_lock (&self->outbox_lock);
  if (handle->send_error != NULL)
    g_propagate_error (error, g_error_copy (handle->send_error));
  g_mutex_unlock (&self->outbox_lock);
  if (error != NULL && *error != NULL)
    return NULL;
  g_ptr_array_add (ids, g_bytes_new (handle->id, handle->id_len));
  message = await_message (self, ids, AWAIT_SLICE_MS);
  if (!rthunk_client_begin_call (self, &call, NULL, error))
    return NULL;
  /* each slice: the call budget, and the slice the server may wait */
  do
    rthunk_frame_transport_allow_wait (call.conn->transport, AWAIT_SLICE_MS);
  while ((ok = await_once (self, call.conn, message, handle, &result, &failed)) && result == NULL);
  rthunk_call_end (&call, ok, &failed);
  /* finished, but too large for one frame: fetched in chunks */
  if (result == NULL && rthunk_client_error_is_too_large (failed))
    {
      g_clear_error (&failed);
      result = rthunk_client_fetch_chunked (self, g_ptr_array_index (ids, 0), handle->type, NULL, NULL, &failed);
    }
  if (failed != NULL)
    g_propagate_error (error, failed);
  return result;
}

/* The server's name a label ends with. */
static const char *
label_server (RthunkClient *self)
{
  const char *name = rthunk_client_get_server_name (self);

  return name != NULL ? name : rthunk_client_get_address (self);
}

/* The bytes of the label of thunk @id on @server, its final NUL included. */
static gsize
label_size (const char *server,
            gsize       id_len)
{
  return 2 * MIN (id_len, 2) + strlen (server) + 4;
}

/* Writes the label of thunk @id on @server into @label, label_size()
 * bytes. */
static char *
put_label (const char   *server,
           const guint8 *id,
           gsize         id_len,
           char         *label)
{
  static const char digits[] = "0123456789abcdef";
  gsize n = MIN (id_len, 2), server_len = strlen (server);
  char *p = label;

  /* "#%.4s @%s" of the id in hex, without printf: one per pending value */
  *p++ = '#';
  for (gsize k = 0; k < n; k++)
    {
      *p++ = digits[id[k] >> 4];
      *p++ = digits[id[k] & 0xf];
    }
  *p++ = ' ';
  *p++ = '@';
  memcpy (p, server, server_len + 1);
  return label;
}

/* How a thunk of this client's server prints: `#a1b2 @alpha`. */
char *
rthunk_client_thunk_label (RthunkClient *self,
                           const guint8 *id,
                           gsize         id_len)
{
  const char *server = label_server (self);

  return put_label (server, id, id_len, g_malloc (label_size (server, id_len)));
}

/* A pending value (or, @reference, a remote reference) for thunk @id
 * (copied). Its label and its id are the handle's, in the same
 * allocation: a value a submission costs four allocations fewer. */
RthunkValue *
rthunk_client_new_pending (RthunkClient *self,
                           const guint8 *id,
                           gsize         id_len,
                           RthunkType   *type,
                           gboolean      reference)
{
  const char *server = label_server (self);
  gsize label_len = label_size (server, id_len);
  /* malloc'd and filled: calloc takes glibc's arena lock (one a link of
   * a pipelined chain) */
  RemoteHandle *handle = g_malloc (sizeof (RemoteHandle) + label_len + id_len);
  RthunkValue *value;

  handle->magic = RTHUNK_CLIENT_HANDLE_MAGIC;
  handle->client = g_object_ref (self);
  handle->id_len = (guint32) id_len;
  handle->id = memcpy ((guint8 *) handle->label + label_len, id, id_len);
  handle->type = type != NULL ? rthunk_type_ref (type) : NULL;
  handle->send_error = NULL;
  value = rthunk_value_new_pending_borrowing (put_label (server, id, id_len, handle->label), handle, force_remote,
                                              remote_handle_free);
  value->u.handle.reference = reference;
  return value;
}

/* ---- many thunks at once: what RthunkThunk's collector uses ------------- */

/* The value or error of one VarCont, and its state; 0 for a state that
 * is not one. */
static RthunkThunkState
var_cont_result (ThunkReport   *report,
                 RthunkValue  **value,
                 GError       **error)
{
  switch (report->state)
    {
    case RTHUNK_WIRE_THUNK_STATE_PENDING:
    case RTHUNK_WIRE_THUNK_STATE_RUNNING:
      return (RthunkThunkState) report->state;
    case RTHUNK_WIRE_THUNK_STATE_CANCELLED:
      /* the server's reason ("server shut down before the thunk
       * finished"), when it gave one */
      g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                           report->error != NULL ? report->error->message : _("the thunk was cancelled"));
      return RTHUNK_THUNK_CANCELLED;
    case RTHUNK_WIRE_THUNK_STATE_DONE:
    case RTHUNK_WIRE_THUNK_STATE_FAILED:
      /* polled by id: the type is not known here (the collector checks) */
      *value = rthunk_client_report_outcome (NULL, report, NULL, error);
      return *value != NULL ? RTHUNK_THUNK_DONE : RTHUNK_THUNK_FAILED;
    default:
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("a thunk in an unknown state %d"),
                   report->state);
      return 0;
    }
}

void
rthunk_client_report_finished (GArray                *done,
                               RthunkClientAwaitFunc  func,
                               gpointer               user_data)
{
  for (guint k = 0; k < done->len; k++)
    {
      ThunkReport *report = &g_array_index (done, ThunkReport, k);
      g_autoptr(GBytes) id = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = NULL;

      if (report->id_len == 0)
        continue;
      id = g_bytes_new (report->id, report->id_len);
      var_cont_result (report, &value, &error);
      func (id, value, error, user_data);
    }
}

GArray *
rthunk_client_await_run (RthunkClient  *self,
                         GPtrArray     *ids,
                         guint          timeout_ms,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(RthunkClientMessage) message = await_message (self, ids, timeout_ms);
  g_autoptr(GArray) done = NULL;
  RthunkCall call;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return NULL;
  rthunk_frame_transport_allow_wait (call.conn->transport, timeout_ms);
  done = rthunk_client_call_for_reports (self, call.conn, message, &rthunk_client_reply_thunk_await, NULL, error);
  if (!rthunk_call_end (&call, done != NULL, error))
    return NULL;
  return g_steal_pointer (&done);
}

/**
 * rthunk_client_await_many:
 * @client: a client
 * @ids: (element-type GBytes): ids of thunks this client's server issued,
 *   at most 4096
 * @timeout_ms: how long the server may wait for one of them to finish
 * @func: (scope call) (closure user_data): called for each thunk that
 *   finished, after the call returned
 * @user_data: data for @func
 * @error: return location for a #GError
 *
 * One long poll (`thunkAwait`): returns as soon as at least one of the
 * thunks has finished, or after @timeout_ms, and reports every finished
 * one to @func. A thunk that is still running is not reported.
 *
 * Returns: %TRUE, or %FALSE with @error set (e.g. %RTHUNK_ERROR_CONNECTION,
 *   or the server's code when it does not know one of the ids)
 *
 * Since: 0.1
 */
gboolean
rthunk_client_await_many (RthunkClient           *client,
                          GPtrArray              *ids,
                          guint                   timeout_ms,
                          RthunkClientAwaitFunc   func,
                          gpointer                user_data,
                          GError                **error)
{
  g_autoptr(GArray) done = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (ids != NULL && ids->len > 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if ((done = rthunk_client_await_run (client, ids, timeout_ms, NULL, error)) == NULL)
    return FALSE;
  rthunk_client_report_finished (done, func, user_data);
  return TRUE;
}

gboolean
rthunk_client_cancel_run (RthunkClient  *self,
                          GBytes        *id,
                          GCancellable  *cancellable,
                          gboolean      *was_unfinished,
                          GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = rthunk_client_wire_thunk (id);
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  RthunkCallFault fault = { NULL, };
  gboolean unfinished = FALSE;
  RthunkCall call;
  gboolean ok;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return FALSE;
  ok = rthunk_wire_remote_execution_service_if_thunk_cancel (call.conn->stub, &unfinished, thunk, auth,
                                                             &fault.invalid, &fault.denied, &fault.error) ||
       rthunk_client_call_fault_raise (self, call.conn, &fault, error);
  if (ok && was_unfinished != NULL)
    *was_unfinished = unfinished;
  return rthunk_call_end (&call, ok, error);
}

/**
 * rthunk_client_cancel_thunk:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @error: return location for a #GError
 *
 * Asks the server to cancel the thunk (`thunkCancel`).
 *
 * Returns: %TRUE when the server took the request, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_client_cancel_thunk (RthunkClient  *client,
                            GBytes        *id,
                            GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return rthunk_client_cancel_run (client, id, NULL, NULL, error);
}

RthunkWireVarCont *
rthunk_client_poll_run (RthunkClient  *self,
                        GBytes        *id,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = rthunk_client_wire_thunk (id);
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  g_autoptr(RthunkWireVarCont) cont = g_object_new (RTHUNK_WIRE_TYPE_VAR_CONT, NULL);
  RthunkCallFault fault = { NULL, };
  RthunkCall call;
  gboolean ok;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return NULL;
  ok = rthunk_wire_remote_execution_service_if_thunk_get (call.conn->stub, &cont, thunk, auth,
                                                          &fault.invalid, &fault.denied, &fault.error) ||
       rthunk_client_call_fault_raise (self, call.conn, &fault, error);
  if (!rthunk_call_end (&call, ok, error))
    return NULL;
  return g_steal_pointer (&cont);
}

RthunkThunkState
rthunk_client_poll_result (RthunkWireVarCont  *cont,
                           RthunkValue       **value,
                           GError            **error)
{
  g_autoptr(RthunkValue) result = NULL;
  g_auto(ThunkReport) report = { FALSE, };
  RthunkThunkState state;

  rthunk_client_report_from_var_cont (cont, &report);
  state = var_cont_result (&report, &result, error);

  if (value != NULL)
    *value = g_steal_pointer (&result);
  return state;
}

/**
 * rthunk_client_poll:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @value: (out) (optional) (nullable) (transfer full): the thunk's value,
 *   when it is done
 * @error: return location for a #GError
 *
 * Asks the server how the thunk is doing (`thunkGet`), without waiting for
 * it to finish.
 *
 * Returns: %RTHUNK_THUNK_PENDING or %RTHUNK_THUNK_RUNNING while it runs;
 *   %RTHUNK_THUNK_DONE with @value set; %RTHUNK_THUNK_FAILED or
 *   %RTHUNK_THUNK_CANCELLED with @error set to the thunk's error; or 0 with
 *   @error set when the call itself failed
 *
 * Since: 0.1
 */
RthunkThunkState
rthunk_client_poll (RthunkClient  *client,
                    GBytes        *id,
                    RthunkValue  **value,
                    GError       **error)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(GError) failed = NULL;
  RthunkThunkState state;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);
  g_return_val_if_fail (id != NULL, 0);

  if (value != NULL)
    *value = NULL;
  if ((cont = rthunk_client_poll_run (client, id, NULL, error)) == NULL)
    return 0;
  state = rthunk_client_poll_result (cont, value, &failed);
  /* finished, but too large for one frame: fetched in chunks */
  if (rthunk_client_error_is_too_large (failed))
    {
      g_autoptr(RthunkValue) fetched = NULL;

      g_clear_error (&failed);
      if ((fetched = rthunk_client_fetch_chunked (client, id, NULL, NULL, NULL, &failed)) != NULL)
        state = RTHUNK_THUNK_DONE;
      if (value != NULL)
        *value = g_steal_pointer (&fetched);
    }
  if (failed != NULL)
    g_propagate_error (error, g_steal_pointer (&failed));
  return state;
}

/**
 * rthunk_client_get_pending_thunk:
 * @value: a value
 * @id: (out) (optional) (transfer full): the thunk's id
 *
 * Tells whether @value is a pending value that rthunk_client_submit()
 * returned, and for which thunk of which client.
 *
 * Returns: (transfer none) (nullable): the client that submitted it, or
 *   %NULL when @value is not such a pending value
 *
 * Since: 0.1
 */
RthunkClient *
rthunk_client_get_pending_thunk (RthunkValue  *value,
                                 GBytes      **id)
{
  RemoteHandle *handle;

  g_return_val_if_fail (value != NULL, NULL);

  if (!rthunk_value_peek_pending (value) || value->u.handle.force != force_remote)
    return NULL;
  handle = value->u.handle.data;
  if (id != NULL)
    *id = g_bytes_new (handle->id, handle->id_len);
  return handle->client;
}
