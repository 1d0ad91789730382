/* rthunk-client-chunks.c — a finished value too large for one frame,
 * fetched in chunks
 *
 * A server that cannot send a finished value in one frame reports the
 * thunk with the error VALUE_TOO_LARGE (the thunk itself is DONE). The
 * client then asks for the list or the string slice by slice
 * (`thunkGetChunk`) and assembles it: a list of ints stays unboxed, a
 * string's bytes are checked as UTF-8 once whole. A budget, when given (a
 * server fetching an input from a peer), is charged for what is
 * assembled, so a fetch that would not fit fails before it takes the
 * memory. The common path, one frame, never comes here.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-budget.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-error.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* What one thunkGetChunk asks for: the server sends fewer when they would
 * not fit in its frame. */
#define CHUNK_ITEMS (1 << 20)

/* The list being assembled: ints unboxed while every item is an int; or
 * the string being assembled. */
typedef struct
{
  gint64 total;
  GArray *ints;                 /* gint64, or NULL once an item is not an int */
  GPtrArray *items;             /* RthunkValue (owned), once boxed */
  GByteArray *text;             /* a string's bytes, once a chunk of text came */
  RthunkBudget *budget;         /* (nullable) charged for what is assembled */
  guint64 charged;
} Assembly;

static void
assembly_clear (Assembly *a)
{
  g_clear_pointer (&a->ints, g_array_unref);
  g_clear_pointer (&a->items, g_ptr_array_unref);
  g_clear_pointer (&a->text, g_byte_array_unref);
  if (a->budget != NULL && a->charged > 0)
    rthunk_budget_release (a->budget, a->charged);
  a->charged = 0;
}

/* Boxes the ints gathered so far: an item that is not an int came. */
static void
assembly_box (Assembly *a)
{
  a->items = g_ptr_array_new_full (a->ints->len, (GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < a->ints->len; k++)
    g_ptr_array_add (a->items, rthunk_value_new_int (g_array_index (a->ints, gint64, k)));
  g_clear_pointer (&a->ints, g_array_unref);
}

/* About what @chunk's items take once kept. */
static guint64
chunk_bytes (RthunkValue *chunk)
{
  guint64 bytes = 0;

  for (gsize k = 0; k < rthunk_value_get_length (chunk); k++)
    {
      RthunkValue *item = rthunk_value_get_item (chunk, k);

      bytes += rthunk_value_get_kind (item) == RTHUNK_VALUE_INT ? sizeof (gint64)
                                                               : rthunk_value_measure (item);
    }
  return bytes;
}

/* Charges the budget, if any, for @bytes more of the list. */
static gboolean
assembly_charge (Assembly  *a,
                 guint64    bytes,
                 GError   **error)
{
  if (a->budget == NULL)
    return TRUE;
  if (!rthunk_budget_charge (a->budget, bytes))
    {
      rthunk_budget_set_error (a->budget, error, RTHUNK_ERROR_LIMIT_EXCEEDED,
                               a->text != NULL ? _("a string fetched in chunks")
                                               : _("a list fetched in chunks"),
                               a->charged + bytes);
      return FALSE;
    }
  a->charged += bytes;
  return TRUE;
}

/* Appends a slice of ints, charging the budget first. */
static gboolean
assembly_append_ints (Assembly  *a,
                      GArray    *ints,
                      GError   **error)
{
  if (!assembly_charge (a, (guint64) ints->len * sizeof (gint64), error))
    return FALSE;
  if (a->ints == NULL)
    {
      for (guint k = 0; k < ints->len; k++)
        g_ptr_array_add (a->items, rthunk_value_new_int (g_array_index (ints, gint64, k)));
    }
  else
    g_array_append_vals (a->ints, ints->data, ints->len);
  return TRUE;
}

/* Appends the items of @chunk, charging the budget first. */
static gboolean
assembly_append (Assembly     *a,
                 RthunkValue  *chunk,
                 GError      **error)
{
  if (!assembly_charge (a, chunk_bytes (chunk), error))
    return FALSE;
  for (gsize k = 0; k < rthunk_value_get_length (chunk); k++)
    {
      RthunkValue *item = rthunk_value_get_item (chunk, k);

      if (a->ints != NULL && rthunk_value_get_kind (item) != RTHUNK_VALUE_INT)
        assembly_box (a);
      if (a->ints != NULL)
        {
          gint64 i = rthunk_value_get_int (item);

          g_array_append_val (a->ints, i);
        }
      else
        g_ptr_array_add (a->items, rthunk_value_ref (item));
    }
  return TRUE;
}

/* Appends a slice of a string's bytes, charging the budget first; a
 * string's chunks come only after a string's. */
static gboolean
assembly_append_text (Assembly    *a,
                      GByteArray  *text,
                      GError     **error)
{
  if (a->text == NULL)
    {
      if (a->ints == NULL || a->ints->len > 0)
        return FALSE;
      g_clear_pointer (&a->ints, g_array_unref);
      a->text = g_byte_array_new ();
    }
  if (!assembly_charge (a, text->len, error))
    return FALSE;
  g_byte_array_append (a->text, text->data, text->len);
  return TRUE;
}

/* The assembled string, or %NULL when its bytes are not UTF-8 text. */
static RthunkValue *
assembly_finish_text (Assembly *a)
{
  gsize n = a->text->len;

  if (!g_utf8_validate_len ((const char *) a->text->data, n, NULL))
    return NULL;
  g_byte_array_append (a->text, (const guint8 *) "", 1);
  return rthunk_value_new_str_take ((char *) g_byte_array_free (g_steal_pointer (&a->text), FALSE));
}

/* The assembled list or string (the assembly is left empty). */
static RthunkValue *
assembly_finish (Assembly *a)
{
  gsize n;

  if (a->text != NULL)
    return assembly_finish_text (a);
  if (a->ints != NULL)
    {
      n = a->ints->len;
      return rthunk_value_new_int_list_take ((gint64 *) g_array_free (g_steal_pointer (&a->ints), FALSE), n);
    }
  n = a->items->len;
  g_ptr_array_set_free_func (a->items, NULL);
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_free (g_steal_pointer (&a->items), FALSE), n);
}

/* A chunk that is not one (its error may be set already). */
static gboolean
protocol_error (RthunkClient  *self,
                GError       **error)
{
  if (error == NULL || *error == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                 _("%s sent a chunk of a large value that does not follow the one before"),
                 rthunk_client_get_address (self));
  return FALSE;
}

/* One thunkGetChunk of @thunk: the slice from @offset, appended to @a;
 * the whole list's length in *@total and the slice's in *@n. */
static gboolean
get_chunk (RthunkClient          *self,
           RthunkCall            *call,
           RthunkWireRemoteThunk *thunk,
           gint64                 offset,
           Assembly              *a,
           gint64                *total,
           gsize                 *n,
           GError               **error)
{
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  g_autoptr(RthunkWireValueChunk) chunk = g_object_new (RTHUNK_WIRE_TYPE_VALUE_CHUNK, NULL);
  g_autoptr(RthunkValue) slice = NULL;
  RthunkCallFault fault = { NULL, };

  if (!rthunk_wire_remote_execution_service_if_thunk_get_chunk (call->conn->stub, &chunk, thunk, offset,
                                                                CHUNK_ITEMS, auth, &fault.invalid, &fault.denied,
                                                                &fault.error))
    return rthunk_client_call_fault_raise (self, call->conn, &fault, error);
  if (chunk->__isset_text && chunk->text == NULL)
    return protocol_error (self, error);
  if (!chunk->__isset_ints && !chunk->__isset_text &&
      (!chunk->__isset_items || (slice = rthunk_wire_read_value (chunk->items, error)) == NULL ||
       rthunk_value_get_kind (slice) != RTHUNK_VALUE_LIST))
    return protocol_error (self, error);
  *n = chunk->__isset_text ? chunk->text->len
     : chunk->__isset_ints ? chunk->ints->len : rthunk_value_get_length (slice);
  *total = chunk->total;
  /* each chunk follows the one before, and something comes until the end */
  if (chunk->offset != offset || chunk->total < offset + (gint64) *n || (*n == 0 && offset < chunk->total))
    return protocol_error (self, error);
  if (chunk->__isset_text)
    return assembly_append_text (a, chunk->text, error) || protocol_error (self, error);
  if (a->text != NULL)
    return protocol_error (self, error);
  return chunk->__isset_ints ? assembly_append_ints (a, chunk->ints, error)
                             : assembly_append (a, slice, error);
}

/* Asks for the chunks of thunk @id's list, one after the other, on one
 * connection. */
static RthunkValue *
fetch_chunks (RthunkClient  *self,
              RthunkCall    *call,
              GBytes        *id,
              Assembly      *a,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = rthunk_client_wire_thunk (id);
  gint64 offset = 0, total = 0;
  RthunkValue *value;
  gsize n = 0;

  do
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !get_chunk (self, call, thunk, offset, a, &total, &n, error))
        return NULL;
      if (offset == 0)
        a->total = total;
      else if (total != a->total)
        return protocol_error (self, error), NULL;
      offset += n;
    }
  while (offset < a->total);
  if ((value = assembly_finish (a)) == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                 _("%s sent a string in chunks that is not UTF-8 text"), rthunk_client_get_address (self));
  return value;
}

/* Whether @error says a finished value must be fetched in chunks. */
gboolean
rthunk_client_error_is_too_large (const GError *error)
{
  return g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_VALUE_TOO_LARGE);
}

/* The value of thunk @id, a finished list or string too large for one frame,
 * fetched in chunks and checked against @expected (NULL: not known);
 * @budget (nullable) is charged while the list is assembled and released
 * when it is returned. */
RthunkValue *
rthunk_client_fetch_chunked (RthunkClient  *self,
                             GBytes        *id,
                             RthunkType    *expected,
                             RthunkBudget  *budget,
                             GCancellable  *cancellable,
                             GError       **error)
{
  Assembly a = { 0, g_array_new (FALSE, FALSE, sizeof (gint64)), NULL, NULL, budget, 0 };
  g_autoptr(RthunkValue) value = NULL;
  RthunkCall call;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    {
      assembly_clear (&a);
      return NULL;
    }
  value = fetch_chunks (self, &call, id, &a, cancellable, error);
  assembly_clear (&a);
  if (!rthunk_call_end (&call, value != NULL, error) ||
      !rthunk_client_validate (self, value, expected, error))
    return NULL;
  return g_steal_pointer (&value);
}
