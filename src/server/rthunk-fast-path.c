/* rthunk-fast-path.c — submissions straight from the frame
 *
 * submitEvalRequest and submitBatch are most of what a server does, and the
 * generated code would build a GObject for every node of every AST. These
 * read the frame into an RthunkRequest (rthunk-request-decode) and write
 * the reply with rthunk-codec. Only the common case is taken: anything
 * else (a field twice, a string with a NUL in it, a wrong token, a refused
 * submission…) leaves the frame to the generated code, which answers it as
 * it always did (a string with a NUL: refused, idl/patch-generated.sh).
 */
#include "config.h"

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-conn-account.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-request-decode.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk-table.h"

/* A field of Auth: the token. */
static gboolean
auth_field (RthunkCodecIn *in,
            guint8         type,
            gint16         field,
            gpointer       target)
{
  char **token = target;

  if (field == 1 && type == RTHUNK_CODEC_STRING)
    return rthunk_decode_get_string (in, token);
  return rthunk_codec_skip (in, type);
}

/* The Auth struct: whether its token opens this server. */
static gboolean
get_auth (RthunkServerState *state,
          RthunkCodecIn     *in)
{
  g_autofree char *token = NULL;

  return rthunk_codec_get_struct (in, TRUE, auth_field, &token) &&
         (state->token == NULL || (token != NULL && rthunk_handler_tokens_equal (token, state->token)));
}

/* A RemoteThunk's fields up to its value: its id (@id may be NULL), the
 * server, the state, and its error if any. */
static void
put_thunk_state (RthunkServerState *state,
                 GByteArray        *out,
                 const guint8      *id,
                 RthunkThunkState   st,
                 const GError      *error)
{
  rthunk_codec_put_thunk_head (out, id, id != NULL ? RTHUNK_THUNK_ID_LEN : 0, state->name, st, FALSE);
  if (error != NULL)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 5);
      rthunk_codec_put_error_info (out, error);
    }
}

/* The RemoteThunk struct fill_remote_thunk() makes, as bytes. */
static void
put_remote_thunk (RthunkServerState *state,
                  GByteArray        *out,
                  RthunkThunkEntry  *entry)
{
  g_autoptr(RthunkValue) value = NULL;
  RthunkThunkState st = rthunk_thunk_table_get_outcome (state->table, entry, &value);
  guint mark = out->len;

  if (st == RTHUNK_THUNK_DONE && !entry->by_reference)
    {
      g_autoptr(GError) error = NULL;

      rthunk_codec_put_thunk_head (out, entry->id, RTHUNK_THUNK_ID_LEN, state->name, st, TRUE);
      if (!rthunk_codec_put_value (out, value, rthunk_handler_sendable_bytes (state), &error))
        {
          /* too large to send: failed, as fill_remote_thunk() says */
          g_byte_array_set_size (out, mark);
          put_thunk_state (state, out, entry->id, RTHUNK_THUNK_FAILED, error);
        }
    }
  else
    put_thunk_state (state, out, entry->id, st, st > RTHUNK_THUNK_DONE ? entry->error : NULL);
  rthunk_codec_put_stop (out);
}

/* The arguments of submitEvalRequest (1: request, 2: auth), submitted;
 * FALSE if the generated code should answer. */
static gboolean
fast_submit (RthunkServerState *state,
             RthunkCodecIn     *in,
             GByteArray        *reply)
{
  RthunkRequest req = { NULL, };
  RthunkSubmission sub = { 0, };
  gboolean have_request = FALSE, auth_ok = state->token == NULL;
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;
  guint budget;

  while (rthunk_decode_next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRUCT)
        ok = have_request = rthunk_request_decode (in, state->limits.max_ast_nodes, &rthunk_handler_request_memo, state, &req);
      else if (field == 2 && type == RTHUNK_CODEC_STRUCT)
        ok = auth_ok = get_auth (state, in);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        break;
    }
  /* the args struct must end the message: nothing is submitted for one
   * the generated code would refuse */
  if (ok && in->pos == in->end && have_request && auth_ok && !g_atomic_int_get (&state->draining))
    rthunk_handler_submit_one (state, &req, &sub);
  budget = rthunk_handler_inline_budget (state, &req);
  rthunk_request_clear (&req);
  rthunk_handler_submission_clear (&sub);
  g_clear_error (&sub.error);
  if (sub.entry == NULL)
    return FALSE;
  if (budget > 0)
    rthunk_thunk_table_wait_any (state->table, &sub.entry, 1,
                                 g_get_monotonic_time () + (gint64) budget * 1000,
                                 rthunk_conn_account_get_current ());
  rthunk_codec_put_field (reply, RTHUNK_CODEC_STRUCT, 0);
  put_remote_thunk (state, reply, sub.entry);
  rthunk_thunk_entry_unref (sub.entry);
  return TRUE;
}

/* The arguments of submitBatch (1: requests, 2: auth): every request is
 * decoded before any is submitted, or the generated code answers. */
static gboolean
fast_submit_batch (RthunkServerState *state,
                   RthunkCodecIn     *in,
                   GByteArray        *reply)
{
  g_autoptr(GArray) requests = g_array_new (FALSE, TRUE, sizeof (RthunkRequest));
  gboolean have_requests = FALSE, auth_ok = state->token == NULL;
  guint32 seen = 0, n = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  g_array_set_clear_func (requests, (GDestroyNotify) rthunk_request_clear);
  while (rthunk_decode_next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_LIST)
        {
          ok = have_requests = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n) && n <= MAX_BATCH;
          for (guint32 k = 0; ok && k < n; k++)
            {
              g_array_set_size (requests, k + 1);
              ok = rthunk_request_decode (in, state->limits.max_ast_nodes, &rthunk_handler_request_memo, state, &g_array_index (requests, RthunkRequest, k));
            }
        }
      else if (field == 2 && type == RTHUNK_CODEC_STRUCT)
        ok = auth_ok = get_auth (state, in);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  if (!ok || in->pos != in->end || !have_requests || !auth_ok || g_atomic_int_get (&state->draining))
    return FALSE;
  COUNT (state->counters.batches);
  rthunk_codec_put_field (reply, RTHUNK_CODEC_LIST, 0);
  rthunk_codec_put_list (reply, RTHUNK_CODEC_STRUCT, n);
  for (guint32 k = 0; k < n; k++)
    {
      RthunkSubmission sub = { 0, };

      rthunk_handler_submit_one (state, &g_array_index (requests, RthunkRequest, k), &sub);
      if (sub.entry == NULL)
        rthunk_handler_submission_error (&sub);  /* before the clear: it counts what is missing */
      rthunk_handler_submission_clear (&sub);
      if (sub.entry != NULL)
        {
          put_remote_thunk (state, reply, sub.entry);
          rthunk_thunk_entry_unref (sub.entry);
        }
      else
        {
          put_thunk_state (state, reply, NULL, RTHUNK_THUNK_FAILED, sub.error);
          rthunk_codec_put_stop (reply);
          g_clear_error (&sub.error);
        }
    }
  return TRUE;
}

/**
 * rthunk_handler_serve_fast:
 * @state: the server's state
 * @message: one validated message (a frame body)
 * @reply: (out caller-allocates): where the reply message goes
 *
 * Answers a submitEvalRequest or submitBatch call straight from its bytes,
 * as the generated processor would answer it.
 *
 * Returns: %TRUE if @reply holds the answer; %FALSE (and @reply empty)
 *   if the generated processor must take @message
 */
gboolean
rthunk_handler_serve_fast (RthunkServerState *state,
                           GBytes            *message,
                           GByteArray        *reply)
{
  RthunkCodecIn in;
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;
  gboolean batch, done;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  rthunk_codec_in_init (&in, data, len);
  /* strict headers only, as the frame validator allows */
  if (len < 1 || (data[0] & 0x80) == 0 ||
      !rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid) || type != RTHUNK_CODEC_CALL)
    return FALSE;
  if (name_len == strlen ("submitEvalRequest") && memcmp (name, "submitEvalRequest", name_len) == 0)
    batch = FALSE;
  else if (name_len == strlen ("submitBatch") && memcmp (name, "submitBatch", name_len) == 0)
    batch = TRUE;
  else
    return FALSE;
  g_byte_array_set_size (reply, 0);
  rthunk_codec_put_message (reply, batch ? "submitBatch" : "submitEvalRequest", RTHUNK_CODEC_REPLY, seqid);
  done = batch ? fast_submit_batch (state, &in, reply) : fast_submit (state, &in, reply);
  if (!done)
    {
      g_byte_array_set_size (reply, 0);
      return FALSE;
    }
  rthunk_codec_put_stop (reply);
  return TRUE;
}
