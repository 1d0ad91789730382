/* rthunk-client-call.c — a call of RthunkClient on one connection
 *
 * What every call carries (the token), how a failed call becomes one
 * GError, and the hot calls' messages: written as bytes, sent as one frame,
 * their reply's frame received (rthunk-client-report.c reads it).
 *
 * The last request whose inputs were all thunks of the client's server is
 * kept with where their ids are, so another submission of the same tree
 * with thunks of the same types — a chain's next link — is those bytes
 * with its own ids written in. The reply's RemoteThunks or VarConts are
 * read into one ThunkReport that submit, the queue's flush, forcing and
 * rthunk_client_await_many() all read. A reply the codec does not expect —
 * an exception, an EXCEPTION message, another seqid, a value it refuses —
 * is left in the connection's transport for the generated recv function,
 * which validates it on its first read and answers as it always did
 * (MissingDefinitions then putDefinitions and a retry, TypeFailure,
 * Overloaded, NotAuthorized).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"

/* ---- the connection ---------------------------------------------------- */

/* What every call carries: the token, when there is one. */
RthunkWireAuth *
rthunk_client_new_auth (RthunkClient *self)
{
  RthunkWireAuth *auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);

  g_mutex_lock (&self->lock);
  if (self->token != NULL)
    g_object_set (auth, "token", self->token, NULL);
  g_mutex_unlock (&self->lock);
  return auth;
}

/* The RemoteThunk that names thunk @id in a call about it. */
RthunkWireRemoteThunk *
rthunk_client_wire_thunk (GBytes *id)
{
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (id, &len);

  rthunk_wire_set_bytes (&thunk->id, data, len);
  return thunk;
}

/* A transport failure: the connection cannot be trusted any more. */
static void
set_transport_error (RthunkClient  *self,
                     GError        *transport_error,
                     GError       **error)
{
  if (g_error_matches (transport_error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT))
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                 _("server %s did not answer in time: %s"), self->address, transport_error->message);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST,
                 _("lost the connection to server %s in the middle of a call: %s"), self->address,
                 transport_error != NULL ? transport_error->message : _("unknown error"));
}

/* Turns what a call left behind into one GError: an IDL exception keeps its
 * code; a transport failure marks the connection broken. */
gboolean
rthunk_client_call_failed (RthunkClient  *self,
                           RthunkConn    *conn,
                           GError        *transport_error,
                           GObject       *exception,
                           GError       **error)
{
  if (exception != NULL)
    {
      g_autofree char *message = NULL;
      gint code = RTHUNK_ERROR_INTERNAL;

      g_object_get (exception, "code", &code, "message", &message, NULL);
      g_set_error_literal (error, RTHUNK_ERROR, code,
                           message != NULL ? message : _("the server refused the call"));
      g_object_unref (exception);
      g_clear_error (&transport_error);
      return FALSE;
    }
  conn->broken = TRUE;
  set_transport_error (self, transport_error, error);
  g_clear_error (&transport_error);
  return FALSE;
}

/* rthunk_client_call_failed() for what a generated call left in @fault
 * (consumed): its exception if it raised one, else its transport error.
 * Always FALSE. */
gboolean
rthunk_client_call_fault_raise (RthunkClient    *self,
                                RthunkConn      *conn,
                                RthunkCallFault *fault,
                                GError         **error)
{
  GObject *exception = fault->invalid != NULL ? (GObject *) fault->invalid : (GObject *) fault->denied;

  return rthunk_client_call_failed (self, conn, fault->error, exception, error);
}

/* ---- the hot calls, as bytes ------------------------------------------- */

/* submitEvalRequest, submitBatch and thunkAwait do not go through the
 * generated structs, whose GObjects cost more than the rest of a call: the
 * call message is written with rthunk-codec, sent as one frame, and the
 * reply's RemoteThunks or VarConts are read straight into ThunkReports.
 * A reply the codec does not expect (an exception, an EXCEPTION message,
 * anything odd) is handed to the generated recv function, which answers
 * exactly as the generated client always did. */

/* The largest buffer a thread keeps: a larger one (a large request or
 * batch) is freed after its call rather than held for good. */
#define SCRATCH_KEPT_BYTES (64 * 1024)

/* This thread's byte buffer in @cell, empty; a new one with room for
 * @size bytes if it has none. Taken while in use: what runs before it is
 * given back (forcing an input, a flush before a call) may need one too.
 * One kept grows as it is written, once. */
GByteArray *
rthunk_client_scratch_bytes (RthunkThreadKept *cell,
                             gsize             size)
{
  GByteArray *bytes = rthunk_thread_kept_take (cell);

  return bytes != NULL ? bytes : g_byte_array_sized_new ((guint) MIN (size, G_MAXUINT));
}

/* Gives @array (a GArray or GByteArray) back to @cell, emptied, for the
 * thread's next call, unless it grew large or the cell has another
 * already (then it is freed). */
void
rthunk_client_scratch_give (RthunkThreadKept *cell,
                            gpointer          array)
{
  GArray *a = array;
  gboolean small = (gsize) a->len * g_array_get_element_size (a) <= SCRATCH_KEPT_BYTES;

  if (small)
    g_array_set_size (a, 0);
  if (!rthunk_thread_kept_give (cell, a, small))
    g_array_unref (a);
}

/* The thread's call message buffer, between calls. */
RTHUNK_THREAD_KEPT (scratch_message, g_byte_array_unref);

/* A call message to @method, up to its arguments, with room for @size
 * bytes in all. */
RthunkClientMessage *
rthunk_client_message_begin_sized (const char *method,
                                   gsize       size)
{
  GByteArray *out = rthunk_client_scratch_bytes (&scratch_message, size);

  rthunk_codec_put_message (out, method, RTHUNK_CODEC_CALL, 0);
  return out;
}

/* A call message to @method, up to its arguments. */
RthunkClientMessage *
rthunk_client_message_begin (const char *method)
{
  return rthunk_client_message_begin_sized (method, 256);
}

/* Done with @message (sent, and resent if need be): its buffer serves the
 * thread's next call. */
void
rthunk_client_message_free (RthunkClientMessage *message)
{
  rthunk_client_scratch_give (&scratch_message, message);
}

/* Ends the arguments of a call message with the Auth, argument @field. */
void
rthunk_client_message_end (RthunkClient *self,
                           GByteArray   *out,
                           gint16        field)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, field);
  g_mutex_lock (&self->lock);
  if (self->token != NULL)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_string (out, self->token);
    }
  g_mutex_unlock (&self->lock);
  rthunk_codec_put_stop (out);          /* the Auth */
  rthunk_codec_put_stop (out);          /* the arguments */
}

/* Whether @message fits in a frame; if not, @transport_error says so. */
gboolean
rthunk_client_frame_fits (GByteArray  *message,
                          GError     **transport_error)
{
  if (message->len <= RTHUNK_POOL_MAX_FRAME_BYTES)
    return TRUE;
  g_set_error (transport_error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
               _("message exceeds the frame limit of %zu bytes"), (gsize) RTHUNK_POOL_MAX_FRAME_BYTES);
  return FALSE;
}

/* Receives the reply's frame into the transport, where the generated code
 * would read it (validated then: the codec checks every read itself); a
 * failure breaks the connection, as rthunk_client_call_failed() says. */
GBytes *
rthunk_client_receive_message (RthunkClient  *self,
                               RthunkConn    *conn,
                               GError       **error)
{
  GError *transport_error = NULL;

  if (rthunk_frame_transport_receive (conn->transport, &transport_error))
    return g_bytes_ref (rthunk_frame_transport_get_input (conn->transport));
  rthunk_client_call_failed (self, conn, transport_error, NULL, error);
  return NULL;
}

/* Sends @message on @conn as one frame and receives the reply's frame. */
GBytes *
rthunk_client_exchange (RthunkClient  *self,
                        RthunkConn    *conn,
                        GByteArray    *message,
                        GError       **error)
{
  GError *transport_error = NULL;

  if (rthunk_client_frame_fits (message, &transport_error) &&
      rthunk_frame_transport_send (conn->transport, message->data, message->len, 0, NULL, NULL, &transport_error))
    return rthunk_client_receive_message (self, conn, error);
  rthunk_client_call_failed (self, conn, transport_error, NULL, error);
  return NULL;
}
