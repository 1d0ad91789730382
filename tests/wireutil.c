/* wireutil.c — see wireutil.h */
#include "config.h"

#include <string.h>

#include "wireutil.h"

Wire *
wire_open (TestServer *server,
           guint       socket_timeout_ms)
{
  Wire *w = g_new0 (Wire, 1);
  int fd = test_server_connect (server);

  g_assert_true (rthunk_frame_set_timeouts (fd, socket_timeout_ms, NULL));
  w->transport = rthunk_frame_transport_new (fd, 64 * 1024 * 1024);
  w->protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", w->transport, NULL);
  w->stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                          "input_protocol", w->protocol,
                          "output_protocol", w->protocol, NULL);
  w->auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);
  return w;
}

void
wire_free (Wire *w)
{
  g_object_unref (w->stub);
  g_object_unref (w->protocol);
  thrift_transport_close (THRIFT_TRANSPORT (w->transport), NULL);
  g_object_unref (w->transport);
  g_object_unref (w->auth);
  g_free (w);
}

void
wire_failure_clear (WireFailure *f)
{
  g_clear_pointer (&f->message, g_free);
  g_clear_pointer (&f->hashes, g_ptr_array_unref);
  g_clear_error (&f->error);
  f->type = 0;
  f->code = 0;
  f->retry_after_ms = 0;
}

/* What a MissingDefinitions or an Overloaded says beyond its code. */
static void
failure_take_details (WireFailure *f,
                      GObject     *exception)
{
  if (f->type == RTHUNK_WIRE_TYPE_MISSING_DEFINITIONS)
    {
      GPtrArray *hashes = RTHUNK_WIRE_MISSING_DEFINITIONS (exception)->hashes;

      f->hashes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
      for (guint h = 0; hashes != NULL && h < hashes->len; h++)
        g_ptr_array_add (f->hashes, g_byte_array_ref (g_ptr_array_index (hashes, h)));
    }
  if (f->type == RTHUNK_WIRE_TYPE_OVERLOADED)
    f->retry_after_ms = RTHUNK_WIRE_OVERLOADED (exception)->retryAfterMs;
}

void
wire_failure_take (WireFailure *f,
                   GError      *error,
                   GObject    **exceptions,
                   guint        n)
{
  WireFailure unexpected = { 0, };

  if (f == NULL)
    {
      wire_failure_take (&unexpected, error, exceptions, n);
      g_error ("the call failed: %s (code %d): %s", g_type_name (unexpected.type), unexpected.code,
               unexpected.error != NULL ? unexpected.error->message : unexpected.message);
    }
  wire_failure_clear (f);
  for (guint k = 0; k < n; k++)
    if (exceptions[k] != NULL)
      {
        if (f->type == 0)
          {
            f->type = G_OBJECT_TYPE (exceptions[k]);
            g_object_get (exceptions[k], "code", &f->code, "message", &f->message, NULL);
            failure_take_details (f, exceptions[k]);
          }
        g_clear_object (&exceptions[k]);
      }
  if (f->type == 0)
    {
      f->error = error != NULL ? error
                               : g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                                                      "the call failed without an error");
      return;
    }
  g_clear_error (&error);
}

RthunkWireEvalRequest *
wire_request_for (const char *text,
                  gint        inline_budget_ms)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<test>", text, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (forms->len, ==, 1);
  rthunk_wire_fill_ast (request->ast, g_ptr_array_index (forms, 0), NULL);
  if (inline_budget_ms >= 0)
    {
      request->options->inlineBudgetMs = inline_budget_ms;
      request->options->__isset_inlineBudgetMs = TRUE;
      request->__isset_options = TRUE;
    }
  return request;
}

RthunkWireRemoteThunk *
wire_submit (Wire                  *w,
             RthunkWireEvalRequest *request,
             WireFailure           *f)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  GObject *exc[5] = { NULL, };
  GError *error = NULL;

  if (rthunk_wire_remote_execution_service_if_submit_eval_request (
        w->stub, &thunk, request, w->auth,
        (RthunkWireInvalidRequest **) &exc[0], (RthunkWireTypeFailure **) &exc[1],
        (RthunkWireMissingDefinitions **) &exc[2], (RthunkWireOverloaded **) &exc[3],
        (RthunkWireNotAuthorized **) &exc[4], &error))
    {
      g_assert_nonnull (thunk->id);
      g_assert_cmpuint (thunk->id->len, ==, 16);
      return g_steal_pointer (&thunk);
    }
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}

RthunkWireRemoteThunk *
wire_remote_thunk_for (const GByteArray *id)
{
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);

  rthunk_wire_set_bytes (&thunk->id, id->data, id->len);
  return thunk;
}

RthunkWireVarCont *
wire_get (Wire             *w,
          const GByteArray *id,
          WireFailure      *f)
{
  g_autoptr(RthunkWireVarCont) cont = g_object_new (RTHUNK_WIRE_TYPE_VAR_CONT, NULL);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_remote_thunk_for (id);
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;

  if (rthunk_wire_remote_execution_service_if_thunk_get (w->stub, &cont, thunk, w->auth,
                                                         (RthunkWireInvalidRequest **) &exc[0],
                                                         (RthunkWireNotAuthorized **) &exc[1],
                                                         &error))
    return g_steal_pointer (&cont);
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}

GPtrArray *
wire_await (Wire        *w,
            GPtrArray   *ids,
            gint32       timeout_ms,
            WireFailure *f)
{
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func (g_object_unref);
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;

  for (guint k = 0; k < ids->len; k++)
    g_ptr_array_add (thunks, wire_remote_thunk_for (g_ptr_array_index (ids, k)));
  if (rthunk_wire_remote_execution_service_if_thunk_await (w->stub, &done, thunks, timeout_ms,
                                                           w->auth,
                                                           (RthunkWireInvalidRequest **) &exc[0],
                                                           (RthunkWireNotAuthorized **) &exc[1],
                                                           &error))
    return g_steal_pointer (&done);
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}

/* Sends thunkAwait over @ids without reading its answer: a waiter that
 * may hang up while the server waits. */
void
wire_send_await (Wire      *w,
                 GPtrArray *ids,
                 gint32     timeout_ms)
{
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < ids->len; k++)
    g_ptr_array_add (thunks, wire_remote_thunk_for (g_ptr_array_index (ids, k)));
  rthunk_wire_remote_execution_service_client_send_thunk_await (w->stub, thunks, timeout_ms, w->auth, &error);
  g_assert_no_error (error);
}

gboolean
wire_cancel (Wire             *w,
             const GByteArray *id,
             gboolean         *was_unfinished,
             WireFailure      *f)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_remote_thunk_for (id);
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;
  gboolean answer = FALSE;

  if (rthunk_wire_remote_execution_service_if_thunk_cancel (w->stub, &answer, thunk, w->auth,
                                                            (RthunkWireInvalidRequest **) &exc[0],
                                                            (RthunkWireNotAuthorized **) &exc[1],
                                                            &error))
    {
      if (was_unfinished != NULL)
        *was_unfinished = answer;
      return TRUE;
    }
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return FALSE;
}

RthunkWireVarCont *
wire_wait_finished (Wire             *w,
                    const GByteArray *id,
                    gint64            cap_us)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  gint64 give_up = g_get_monotonic_time () + cap_us;

  g_ptr_array_add (ids, (gpointer) id);
  while (g_get_monotonic_time () < give_up)
    {
      g_autoptr(GPtrArray) done = wire_await (w, ids, 10000, NULL);

      if (done->len > 0)
        {
          g_assert_cmpuint (done->len, ==, 1);
          g_assert_true (wire_same_id (((RthunkWireVarCont *) done->pdata[0])->id, id));
          return g_object_ref (done->pdata[0]);
        }
    }
  g_error ("a thunk did not finish within %d s", (int) (cap_us / G_USEC_PER_SEC));
  return NULL;
}

void
wire_wait_running (Wire             *w,
                   const GByteArray *id,
                   gint64            cap_us)
{
  gint64 give_up = g_get_monotonic_time () + cap_us;

  while (g_get_monotonic_time () < give_up)
    {
      g_autoptr(RthunkWireVarCont) cont = wire_get (w, id, NULL);

      g_assert_cmpint (cont->state, <=, RTHUNK_WIRE_THUNK_STATE_RUNNING);
      /* each look is a thunkGet round trip of its own */
      if (cont->state == RTHUNK_WIRE_THUNK_STATE_RUNNING)
        return;
    }
  g_error ("a thunk did not start within %d s", (int) (cap_us / G_USEC_PER_SEC));
}

gboolean
wire_cancel_unfinished (Wire             *w,
                        const GByteArray *id)
{
  gboolean was_unfinished = FALSE;

  g_assert_true (wire_cancel (w, id, &was_unfinished, NULL));
  return was_unfinished;
}

void
wire_cancel_and_reap (Wire             *w,
                      const GByteArray *id,
                      gint64            cap_us)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;

  g_assert_true (wire_cancel_unfinished (w, id));
  cont = wire_wait_finished (w, id, cap_us);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
}

gboolean
wire_same_id (const GByteArray *a,
              const GByteArray *b)
{
  return a != NULL && b != NULL && a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
}

gint64
wire_value_int (RthunkWireValue *wire)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_wire_read_value (wire, &error);

  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_INT);
  return rthunk_value_get_int (value);
}

RthunkWireServerInfo *
wire_info (Wire        *w,
           WireFailure *f)
{
  g_autoptr(RthunkWireServerInfo) info = g_object_new (RTHUNK_WIRE_TYPE_SERVER_INFO, NULL);
  GObject *exc[1] = { NULL };
  GError *error = NULL;

  if (rthunk_wire_remote_execution_service_if_get_server_info (w->stub, &info, w->auth,
                                                               (RthunkWireNotAuthorized **) &exc[0],
                                                               &error))
    return g_steal_pointer (&info);
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}

RthunkWireRemoteThunk *
wire_submit_with_nul (Wire                  *w,
                      RthunkWireEvalRequest *request,
                      const char            *marker,
                      WireFailure           *f)
{
  g_autoptr(RthunkFrameTransport) memory = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", memory, NULL);
  g_autoptr(GObject) writer = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                                            "input_protocol", protocol, "output_protocol", protocol, NULL);
  g_autoptr(RthunkWireRemoteThunk) thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GByteArray) copy = g_byte_array_new ();
  GObject *exc[5] = { NULL, };
  GError *error = NULL;
  gsize len;
  const guint8 *data;
  guint8 *at;

  g_assert_true (rthunk_wire_remote_execution_service_client_send_submit_eval_request (
                   RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (writer), request, w->auth, NULL));
  message = rthunk_frame_transport_take_output (memory);
  data = g_bytes_get_data (message, &len);
  g_byte_array_append (copy, data, (guint) len);
  at = memmem (copy->data, copy->len, marker, strlen (marker));
  g_assert_nonnull (at);
  *at = '\0';
  g_assert_true (thrift_transport_write (THRIFT_TRANSPORT (w->transport), copy->data, copy->len, NULL) &&
                 thrift_transport_flush (THRIFT_TRANSPORT (w->transport), NULL));
  if (rthunk_wire_remote_execution_service_client_recv_submit_eval_request (
        w->stub, &thunk,
        (RthunkWireInvalidRequest **) &exc[0], (RthunkWireTypeFailure **) &exc[1],
        (RthunkWireMissingDefinitions **) &exc[2], (RthunkWireOverloaded **) &exc[3],
        (RthunkWireNotAuthorized **) &exc[4], &error))
    return g_steal_pointer (&thunk);
  wire_failure_take (f, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}
