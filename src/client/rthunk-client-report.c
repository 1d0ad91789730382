/* rthunk-client-report.c — what the server says of a thunk
 *
 * The RemoteThunks and VarConts of the hot calls' replies, read straight
 * from the reply's bytes into ThunkReports, or, for a reply the codec does
 * not expect, from what the generated code read.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-request-decode.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* The error of a failed thunk: the one its ErrorInfo gives, if that has a
 * message. */
static void
set_failure (gint32       code,
             const char  *message,
             GError     **error)
{
  if (message != NULL && g_utf8_validate (message, -1, NULL))
    g_set_error_literal (error, RTHUNK_ERROR, code > 0 ? code : RTHUNK_ERROR_EVAL_FAILED, message);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("the server reported a failure without a message"));
}

/* The value or error a finished thunk reported. */
static RthunkValue *
finished_value (gint                 state,
                RthunkWireValue     *value,
                RthunkWireErrorInfo *info,
                GError             **error)
{
  if (state == RTHUNK_WIRE_THUNK_STATE_DONE && value != NULL)
    return rthunk_wire_read_value (value, error);
  set_failure (info != NULL ? info->code : 0, info != NULL ? info->message : NULL, error);
  return NULL;
}

/* ---- what the server says of a thunk ------------------------------------ */

/* Makes @report empty. Reports live in place — in a reply's GArray or on
 * the stack — not one allocation each, and are not zeroed whole: the id's
 * bytes are read only up to id_len. */
void
rthunk_client_report_init (ThunkReport *report)
{
  report->has_id = FALSE;
  report->id_len = 0;
  report->state = 0;
  report->value = NULL;
  report->error = NULL;
}

/* Frees what @report holds (it stays valid, empty of them). */
void
rthunk_client_report_clear (ThunkReport *report)
{
  g_clear_pointer (&report->value, rthunk_value_unref);
  g_clear_error (&report->error);
}

/* *@reports, the array a reply's reports go to; if there is none yet, a
 * new one with room for @n (at most 4096 at once: @n is the server's
 * word). */
static GArray *
reports_for (GArray **reports,
             guint32  n)
{
  if (*reports == NULL)
    {
      *reports = g_array_sized_new (FALSE, FALSE, sizeof (ThunkReport), MIN (n, 4096));
      g_array_set_clear_func (*reports, (GDestroyNotify) rthunk_client_report_clear);
    }
  return *reports;
}

/* A new empty report at the end of @reports. */
static ThunkReport *
reports_append (GArray *reports)
{
  ThunkReport *report;

  g_array_set_size (reports, reports->len + 1);
  report = &g_array_index (reports, ThunkReport, reports->len - 1);
  rthunk_client_report_init (report);
  return report;
}

/* @report's thunk id: @len bytes at @data, kept as malformed (no bytes)
 * if they are too many. */
void
rthunk_client_report_set_id (ThunkReport  *report,
                             const guint8 *data,
                             gsize         len)
{
  report->has_id = TRUE;
  report->id_len = len <= sizeof report->id ? (guint) len : 0;
  memcpy (report->id, data, report->id_len);
}

/* Whether @report is of the thunk @id. */
gboolean
rthunk_client_report_is_of (const ThunkReport *report,
                            const guint8      *id,
                            gsize              id_len)
{
  return report->id_len > 0 && report->id_len == id_len && memcmp (report->id, id, id_len) == 0;
}

/* The value of a finished thunk, checked against @expected (NULL: not
 * known), or its error. */
RthunkValue *
rthunk_client_report_outcome (RthunkClient       *self,
                              const ThunkReport  *report,
                              RthunkType         *expected,
                              GError            **error)
{
  if (report->value != NULL)
    return rthunk_client_validate (self, report->value, expected, error) ? rthunk_value_ref (report->value) : NULL;
  if (report->error != NULL)
    g_propagate_error (error, g_error_copy (report->error));
  else
    set_failure (0, NULL, error);
  return NULL;
}

/* Fills the empty @report with what the generated code read; @state 0,
 * @value and @info NULL where a field was not set. */
static void
report_from_wire (ThunkReport         *report,
                  GByteArray          *id,
                  gint32               state,
                  RthunkWireValue     *value,
                  RthunkWireErrorInfo *info)
{
  if (id != NULL)
    rthunk_client_report_set_id (report, id->data, id->len);
  report->state = state;
  if (state >= RTHUNK_WIRE_THUNK_STATE_DONE)
    report->value = finished_value (state, value, info, &report->error);
}

static void
report_from_remote_thunk (gpointer     data,
                          ThunkReport *report)
{
  RthunkWireRemoteThunk *thunk = data;

  report_from_wire (report, thunk->id, thunk->__isset_state ? thunk->state : 0,
                    thunk->__isset_value ? thunk->value : NULL,
                    thunk->__isset_error ? thunk->error : NULL);
}

/* Fills the empty @report with the VarCont @data. */
void
rthunk_client_report_from_var_cont (gpointer     data,
                                    ThunkReport *report)
{
  RthunkWireVarCont *cont = data;

  report_from_wire (report, cont->id, cont->state, cont->__isset_value ? cont->value : NULL,
                    cont->__isset_error ? cont->error : NULL);
}

/* Reports of what the generated code read, into *@reports: @convert of
 * each struct. */
static void
reports_from_wire (GPtrArray *structs,
                   void     (*convert) (gpointer, ThunkReport *),
                   GArray   **reports)
{
  reports_for (reports, structs->len);
  for (guint k = 0; k < structs->len; k++)
    convert (g_ptr_array_index (structs, k), reports_append (*reports));
}

/* A RemoteThunk or VarCont being read. */
typedef struct
{
  const ReportFields *fields;
  ThunkReport *report;
  gint32 code;                  /* of its ErrorInfo */
  char *message;
} ReportReader;

/* A string: FALSE for one holding a NUL, which the generated code
 * refuses (idl/patch-generated.sh) and then says why. */
static gboolean
get_text (RthunkCodecIn  *in,
          char          **text)
{
  char *read;

  if (!rthunk_decode_get_string (in, &read))
    return FALSE;
  g_free (*text);
  *text = read;
  return TRUE;
}

/* The fields of an ErrorInfo. */
static const RthunkCodecField error_info_fields[] = {
  RTHUNK_CODEC_FIELD (1, RTHUNK_CODEC_I32, ReportReader, code, rthunk_codec_get_i32),
  RTHUNK_CODEC_FIELD (2, RTHUNK_CODEC_STRING, ReportReader, message, get_text),
};

/* A field of a RemoteThunk or VarCont. A value the codec refuses fails
 * too: the generated code then says why. */
static gboolean
get_report_field (RthunkCodecIn *in,
                  guint8         type,
                  gint16         id,
                  gpointer       data)
{
  ReportReader *r = data;
  const guint8 *bytes;
  guint32 len;

  if (id == 1 && type == RTHUNK_CODEC_STRING)
    {
      if (!rthunk_codec_get_binary (in, &bytes, &len))
        return FALSE;
      rthunk_client_report_set_id (r->report, bytes, len);
      return TRUE;
    }
  if (id == r->fields->state && type == RTHUNK_CODEC_I32)
    return rthunk_codec_get_i32 (in, &r->report->state);
  if (id == r->fields->value && type == RTHUNK_CODEC_STRUCT)
    {
      g_clear_pointer (&r->report->value, rthunk_value_unref);
      return (r->report->value = rthunk_codec_get_value (in, NULL)) != NULL;
    }
  if (id == r->fields->error && type == RTHUNK_CODEC_STRUCT)
    return rthunk_codec_get_fields (in, FALSE, error_info_fields, G_N_ELEMENTS (error_info_fields), r);
  return rthunk_codec_skip (in, type);
}

/* A RemoteThunk or VarCont struct, read into the empty @report (its
 * owner clears it either way); FALSE for bytes the codec does not
 * expect. */
static gboolean
get_report (RthunkCodecIn      *in,
            const ReportFields *fields,
            ThunkReport        *report)
{
  ReportReader r = { fields, report, 0, NULL };
  gboolean ok = rthunk_codec_get_struct (in, FALSE, get_report_field, &r);
  g_autofree char *message = r.message;

  /* the id is required: without it the generated code fails the call */
  if (!ok || !report->has_id)
    return FALSE;
  if (report->state != RTHUNK_WIRE_THUNK_STATE_DONE)
    g_clear_pointer (&report->value, rthunk_value_unref);
  if (report->state >= RTHUNK_WIRE_THUNK_STATE_DONE && report->value == NULL)
    set_failure (r.code, message, &report->error);
  return TRUE;
}

/* @n RemoteThunk or VarCont structs, into *@reports; FALSE for bytes the
 * codec does not expect. */
static gboolean
get_reports (RthunkCodecIn      *in,
             const ReportFields *fields,
             guint32             n,
             GArray            **reports)
{
  reports_for (reports, n);
  for (guint32 k = 0; k < n; k++)
    if (!get_report (in, fields, reports_append (*reports)))
      return FALSE;
  return TRUE;
}

/* ---- the replies of the hot calls ---------------------------------------- */

/* RemoteThunk: 1 id, 2 server, 3 state, 4 value, 5 error.
 * VarCont: 1 id, 2 state, 3 value, 4 type, 5 error, 6 elapsedUs. */
const ReplyShape rthunk_client_reply_submit_eval = {
  CALL_SUBMIT_EVAL, "submitEvalRequest", RTHUNK_CODEC_STRUCT, { 3, 4, 5 }, report_from_remote_thunk
};
const ReplyShape rthunk_client_reply_submit_batch = {
  CALL_SUBMIT_BATCH, "submitBatch", RTHUNK_CODEC_LIST, { 3, 4, 5 }, report_from_remote_thunk
};
const ReplyShape rthunk_client_reply_thunk_await = {
  CALL_THUNK_AWAIT, "thunkAwait", RTHUNK_CODEC_LIST, { 2, 3, 5 }, rthunk_client_report_from_var_cont
};

/* Moves @in to the result of a REPLY to @shape's method; FALSE for
 * anything else. */
static gboolean
reply_open (RthunkCodecIn    *in,
            GBytes           *reply,
            const ReplyShape *shape)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (reply, &len);
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;
  gint16 id;

  rthunk_codec_in_init (in, data, len);
  return rthunk_codec_get_message (in, &name, &name_len, &type, &seqid) &&
         type == RTHUNK_CODEC_REPLY && seqid == 0 &&
         name_len == strlen (shape->method) && memcmp (name, shape->method, name_len) == 0 &&
         rthunk_codec_get_field (in, &type, &id) && type == shape->result_type && id == 0;
}

/* The reports of a reply that holds its result and nothing else, into
 * *@reports; FALSE (some may have been added) for any other reply. */
static gboolean
read_reply (GBytes           *reply,
            const ReplyShape *shape,
            GArray          **reports)
{
  RthunkCodecIn in;
  guint32 n = 1;                /* a RemoteThunk, or a list's length */
  guint8 type;
  gint16 id;

  return reply_open (&in, reply, shape) &&
         (shape->result_type != RTHUNK_CODEC_LIST || rthunk_codec_get_list (&in, RTHUNK_CODEC_STRUCT, &n)) &&
         get_reports (&in, &shape->fields, n, reports) &&
         rthunk_codec_get_field (&in, &type, &id) && type == RTHUNK_CODEC_STOP && in.pos == in.end;
}

/* An exception the generated code read, as rthunk_client_call_failed() wants it. */
static GObject *
first_exception (GObject *a,
                 GObject *b,
                 GObject *c,
                 GObject *d)
{
  return a != NULL ? a : b != NULL ? b : c != NULL ? c : d;
}

/* The generated code reading the reply of @shape's call from the
 * transport: its reports, into *@reports, or FALSE with @error set, or
 * (submitEvalRequest) with *@missing set when the server lacks
 * definitions. */
static gboolean
recv_reply (RthunkClient                  *self,
            RthunkConn                    *conn,
            const ReplyShape              *shape,
            RthunkWireMissingDefinitions **missing,
            GArray                       **reports,
            GError                       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func (g_object_unref);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireTypeFailure *type_failure = NULL;
  RthunkWireOverloaded *overloaded = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  gboolean ok = FALSE;

  switch (shape->call)
    {
    case CALL_SUBMIT_EVAL:
      ok = rthunk_wire_remote_execution_service_client_recv_submit_eval_request (
             conn->stub, &thunk, &invalid, &type_failure, missing, &overloaded, &denied, &call_error);
      if (ok)
        g_ptr_array_add (result, g_steal_pointer (&thunk));
      break;
    case CALL_SUBMIT_BATCH:
      ok = rthunk_wire_remote_execution_service_client_recv_submit_batch (
             conn->stub, &result, &invalid, &overloaded, &denied, &call_error);
      break;
    case CALL_THUNK_AWAIT:
      ok = rthunk_wire_remote_execution_service_client_recv_thunk_await (
             conn->stub, &result, &invalid, &denied, &call_error);
      break;
    }
  if (ok)
    {
      reports_from_wire (result, shape->convert, reports);
      return TRUE;
    }
  if (missing != NULL && *missing != NULL)
    g_clear_error (&call_error);
  else
    rthunk_client_call_failed (self, conn, call_error,
                               first_exception ((GObject *) invalid, (GObject *) type_failure, (GObject *) overloaded,
                                                (GObject *) denied), error);
  return FALSE;
}

/* The reports @reply (consumed; NULL: receiving it failed) carries, into
 * *@reports (empty, or NULL for a new array). A reply the codec does not
 * expect is left to the generated code, which reads it from the transport
 * as the reply it waits for: exceptions are handled in one place.
 * @missing as for recv_reply(). */
static gboolean
reports_of_reply (RthunkClient                  *self,
                  RthunkConn                    *conn,
                  GBytes                        *reply,
                  const ReplyShape              *shape,
                  RthunkWireMissingDefinitions **missing,
                  GArray                       **reports,
                  GError                       **error)
{
  gboolean ok;

  if (reply == NULL)
    return FALSE;
  if (!(ok = read_reply (reply, shape, reports)))
    {
      /* what the codec read of it goes: the generated code reads it all */
      if (*reports != NULL)
        g_array_set_size (*reports, 0);
      ok = recv_reply (self, conn, shape, missing, reports, error);
    }
  g_bytes_unref (reply);
  /* whatever was read of it, the next call starts at a frame */
  rthunk_frame_transport_set_input (conn->transport, NULL);
  return ok;
}

/* Sends @message and reads the reports its reply carries. */
GArray *
rthunk_client_call_for_reports (RthunkClient                  *self,
                                RthunkConn                    *conn,
                                GByteArray                    *message,
                                const ReplyShape              *shape,
                                RthunkWireMissingDefinitions **missing,
                                GError                       **error)
{
  g_autoptr(GArray) reports = NULL;

  if (!reports_of_reply (self, conn, rthunk_client_exchange (self, conn, message, error), shape, missing, &reports,
                         error))
    return NULL;
  return g_steal_pointer (&reports);
}

/* The thread's array for the one report of a submitEvalRequest, between
 * calls. */
RTHUNK_THREAD_KEPT (scratch_report, g_array_unref);

/* Sends the submitEvalRequest @message and moves the one report of its
 * reply into the empty @report: held meanwhile in the thread's array, so
 * the call allocates none. @missing as for recv_reply(). */
gboolean
rthunk_client_call_for_report (RthunkClient                  *self,
                               RthunkConn                    *conn,
                               GByteArray                    *message,
                               RthunkWireMissingDefinitions **missing,
                               ThunkReport                   *report,
                               GError                       **error)
{
  GArray *reports = rthunk_thread_kept_take (&scratch_report);
  gboolean ok = reports_of_reply (self, conn, rthunk_client_exchange (self, conn, message, error),
                                  &rthunk_client_reply_submit_eval, missing, &reports, error);

  if (ok)
    {
      /* moved: the array's copy is left empty, cleared to nothing */
      *report = g_array_index (reports, ThunkReport, 0);
      rthunk_client_report_init (&g_array_index (reports, ThunkReport, 0));
    }
  if (reports != NULL)
    rthunk_client_scratch_give (&scratch_report, reports);
  return ok;
}

/* Receives the next reply on @conn and reads its reports, as
 * rthunk_client_call_for_reports() does after sending. */
GArray *
rthunk_client_receive_reports (RthunkClient     *self,
                               RthunkConn       *conn,
                               const ReplyShape *shape,
                               GError          **error)
{
  g_autoptr(GArray) reports = NULL;

  if (!reports_of_reply (self, conn, rthunk_client_receive_message (self, conn, error), shape, NULL, &reports, error))
    return NULL;
  return g_steal_pointer (&reports);
}
