/* rthunk-decode-charge.c — what decoding a thunkGet or thunkAwait costs,
 * charged to the memory budget before the generated code decodes it
 *
 * The generated reader builds a RemoteThunk for every thunk a thunkAwait
 * names (and its Value, ErrorInfo and SourcePos: 423 bytes of heap for a
 * 16-byte id, measured with mallinfo2 over 100k of them) before the
 * handler can look at the count; an empty RemoteThunk takes one byte of
 * the frame, so a 16 MB frame would decode into some 7 GB. The frame
 * itself is charged as it is read (rthunk-frame.c); this charges what its
 * decoding will allocate, and refuses the call, answering it, when that
 * does not fit. The connection goes on.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-budget.h"
#include "rthunk-codec.h"
#include "rthunk-decode-charge.h"
#include "rthunk-request-decode.h"

/* Heap one decoded RemoteThunk takes, with its slot in the list. */
#define DECODED_REMOTE_THUNK_BYTES 448u

static gboolean
is_method (const guint8 *name,
           guint32       name_len,
           const char   *method)
{
  return name_len == strlen (method) && memcmp (name, method, name_len) == 0;
}

/* The count of the list in field 1 of the arguments (thunkAwait's
 * thunks); 0 when there is none to be read here. */
static guint32
count_thunks (RthunkCodecIn *in)
{
  guint32 seen = 0, n = 0;
  guint8 type;
  gint16 id;
  gboolean ok;

  while (rthunk_decode_next_field (in, &seen, &type, &id, &ok))
    {
      if (id == 1 && type == RTHUNK_CODEC_LIST)
        return rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n) ? n : 0;
      if (!rthunk_codec_skip (in, type))
        return 0;
    }
  return 0;
}

/* The reply to a refused call: its InvalidRequest (field 1 of the result
 * of thunkGet and thunkAwait) carrying @error. */
static void
put_refusal (GByteArray   *reply,
             const guint8 *name,
             guint32       name_len,
             gint32        seqid,
             const GError *error)
{
  g_autofree char *method = g_strndup ((const char *) name, name_len);

  rthunk_codec_put_message (reply, method, RTHUNK_CODEC_REPLY, seqid);
  rthunk_codec_put_field (reply, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_error_info (reply, error);
  rthunk_codec_put_stop (reply);
}

gboolean
rthunk_decode_charge (RthunkBudget *budget,
                      GBytes       *message,
                      guint64      *charged,
                      GByteArray   *reply)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *what = NULL;
  RthunkCodecIn in;
  const guint8 *name;
  guint32 name_len, n;
  guint8 type;
  gint32 seqid;
  gsize len = 0;
  guint64 cost;

  const guint8 *data = message != NULL ? g_bytes_get_data (message, &len) : NULL;

  *charged = 0;
  if (data == NULL)
    return TRUE;
  rthunk_codec_in_init (&in, data, len);
  if (budget == NULL || !rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid))
    return TRUE;
  if (is_method (name, name_len, "thunkGet"))
    n = 1;
  else if (is_method (name, name_len, "thunkAwait"))
    n = count_thunks (&in);
  else
    return TRUE;
  cost = (guint64) n * DECODED_REMOTE_THUNK_BYTES + len;
  if (rthunk_budget_charge (budget, cost))
    {
      *charged = cost;
      return TRUE;
    }
  what = g_strdup_printf (_("decoding %u thunk ids"), n);
  rthunk_budget_set_error (budget, &error, RTHUNK_ERROR_OVERLOADED, what, cost);
  put_refusal (reply, name, name_len, seqid, error);
  return FALSE;
}
