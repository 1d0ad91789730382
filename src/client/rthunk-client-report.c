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

void
rthunk_client_thunk_report_free (ThunkReport *report)
{
  g_clear_pointer (&report->value, rthunk_value_unref);
  g_clear_error (&report->error);
  g_free (report);
}

/* An empty report, from malloc: glibc's calloc bypasses the thread's cache
 * and takes the arena's lock, and every reply makes one (the id's bytes
 * are read only up to id_len). */
static ThunkReport *
report_new (void)
{
  ThunkReport *report = g_new (ThunkReport, 1);

  report->has_id = FALSE;
  report->id_len = 0;
  report->state = 0;
  report->value = NULL;
  report->error = NULL;
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

/* A report of what the generated code read; @state 0, @value and @info
 * NULL where a field was not set. */
static ThunkReport *
report_from_wire (GByteArray          *id,
                  gint32               state,
                  RthunkWireValue     *value,
                  RthunkWireErrorInfo *info)
{
  ThunkReport *report = report_new ();

  if (id != NULL)
    rthunk_client_report_set_id (report, id->data, id->len);
  report->state = state;
  if (state >= RTHUNK_WIRE_THUNK_STATE_DONE)
    report->value = finished_value (state, value, info, &report->error);
  return report;
}

static ThunkReport *
report_from_remote_thunk (gpointer data)
{
  RthunkWireRemoteThunk *thunk = data;

  return report_from_wire (thunk->id, thunk->__isset_state ? thunk->state : 0,
                           thunk->__isset_value ? thunk->value : NULL,
                           thunk->__isset_error ? thunk->error : NULL);
}

ThunkReport *
rthunk_client_report_from_var_cont (gpointer data)
{
  RthunkWireVarCont *cont = data;

  return report_from_wire (cont->id, cont->state, cont->__isset_value ? cont->value : NULL,
                           cont->__isset_error ? cont->error : NULL);
}

/* Reports of what the generated code read: @convert of each struct. */
static GPtrArray *
reports_from_wire (GPtrArray   *structs,
                   ThunkReport *(*convert) (gpointer))
{
  GPtrArray *reports = g_ptr_array_new_full (structs->len, (GDestroyNotify) rthunk_client_thunk_report_free);

  for (guint k = 0; k < structs->len; k++)
    g_ptr_array_add (reports, convert (g_ptr_array_index (structs, k)));
  return reports;
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

/* A RemoteThunk or VarCont struct, or NULL for bytes the codec does not
 * expect. */
static ThunkReport *
get_report (RthunkCodecIn      *in,
            const ReportFields *fields)
{
  g_autoptr(ThunkReport) report = report_new ();
  ReportReader r = { fields, report, 0, NULL };
  gboolean ok = rthunk_codec_get_struct (in, FALSE, get_report_field, &r);
  g_autofree char *message = r.message;

  /* the id is required: without it the generated code fails the call */
  if (!ok || !report->has_id)
    return NULL;
  if (report->state != RTHUNK_WIRE_THUNK_STATE_DONE)
    g_clear_pointer (&report->value, rthunk_value_unref);
  if (report->state >= RTHUNK_WIRE_THUNK_STATE_DONE && report->value == NULL)
    set_failure (r.code, message, &report->error);
  return g_steal_pointer (&report);
}

/* An array of one report. */
static GPtrArray *
reports_of_one (ThunkReport *report)
{
  GPtrArray *reports = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_client_thunk_report_free);

  g_ptr_array_add (reports, report);
  return reports;
}

/* A list of RemoteThunk or VarCont structs, or NULL. */
static GPtrArray *
get_reports (RthunkCodecIn      *in,
             const ReportFields *fields)
{
  g_autoptr(GPtrArray) reports = NULL;
  guint32 n;

  if (!rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n))
    return NULL;
  reports = g_ptr_array_new_full (MIN (n, 4096), (GDestroyNotify) rthunk_client_thunk_report_free);
  for (guint32 k = 0; k < n; k++)
    {
      ThunkReport *report = get_report (in, fields);

      if (report == NULL)
        return NULL;
      g_ptr_array_add (reports, report);
    }
  return g_steal_pointer (&reports);
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

/* The reports of a reply that holds its result and nothing else, or NULL. */
static GPtrArray *
read_reply (GBytes           *reply,
            const ReplyShape *shape)
{
  g_autoptr(GPtrArray) reports = NULL;
  RthunkCodecIn in;
  ThunkReport *report;
  guint8 type;
  gint16 id;

  if (!reply_open (&in, reply, shape))
    return NULL;
  if (shape->result_type == RTHUNK_CODEC_LIST)
    reports = get_reports (&in, &shape->fields);
  else if ((report = get_report (&in, &shape->fields)) != NULL)
    reports = reports_of_one (report);
  if (reports == NULL || !rthunk_codec_get_field (&in, &type, &id) || type != RTHUNK_CODEC_STOP ||
      in.pos != in.end)
    return NULL;
  return g_steal_pointer (&reports);
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
 * transport: its reports, or NULL with @error set, or (submitEvalRequest)
 * with *@missing set when the server lacks definitions. */
static GPtrArray *
recv_reply (RthunkClient                  *self,
            RthunkConn                    *conn,
            const ReplyShape              *shape,
            RthunkWireMissingDefinitions **missing,
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
    return reports_from_wire (result, shape->convert);
  if (missing != NULL && *missing != NULL)
    g_clear_error (&call_error);
  else
    rthunk_client_call_failed (self, conn, call_error,
                               first_exception ((GObject *) invalid, (GObject *) type_failure, (GObject *) overloaded,
                                                (GObject *) denied), error);
  return NULL;
}

/* The reports @reply (consumed; NULL: receiving it failed) carries. A
 * reply the codec does not expect is left to the generated code, which
 * reads it from the transport as the reply it waits for: exceptions are
 * handled in one place. @missing as for recv_reply(). */
static GPtrArray *
reports_of_reply (RthunkClient                  *self,
                  RthunkConn                    *conn,
                  GBytes                        *reply,
                  const ReplyShape              *shape,
                  RthunkWireMissingDefinitions **missing,
                  GError                       **error)
{
  GPtrArray *reports;

  if (reply == NULL)
    return NULL;
  if ((reports = read_reply (reply, shape)) == NULL)
    reports = recv_reply (self, conn, shape, missing, error);
  g_bytes_unref (reply);
  /* whatever was read of it, the next call starts at a frame */
  rthunk_frame_transport_set_input (conn->transport, NULL);
  return reports;
}

/* Sends @message and reads the reports its reply carries. */
GPtrArray *
rthunk_client_call_for_reports (RthunkClient                  *self,
                                RthunkConn                    *conn,
                                GByteArray                    *message,
                                const ReplyShape              *shape,
                                RthunkWireMissingDefinitions **missing,
                                GError                       **error)
{
  return reports_of_reply (self, conn, rthunk_client_exchange (self, conn, message, error), shape, missing, error);
}

/* Receives the next reply on @conn and reads its reports, as
 * rthunk_client_call_for_reports() does after sending. */
GPtrArray *
rthunk_client_receive_reports (RthunkClient     *self,
                               RthunkConn       *conn,
                               const ReplyShape *shape,
                               GError          **error)
{
  return reports_of_reply (self, conn, rthunk_client_receive_message (self, conn, error), shape, NULL, error);
}
