/* rthunk-client-provide.c — provideType: the types a server's data source
 * gives to calls of its provided functions
 *
 * A provided function (RTHUNK_FUNC_PROVIDED: sql-query, csv-read) has the
 * type its data source gives for the string literal it is called with.
 * The checkers of the client and of a session ask it here: the first time
 * a (server, function, literal) is met the server is asked with
 * provideType; its answer is kept for the whole process (a session checks
 * with its clients, then the cluster's clients check what they send: one
 * question for both), so the same literal is asked once, until a client
 * of that server reads its catalog again (a reconnection: the server may
 * have restarted on another schema). A refusal (SQL that does not
 * prepare) is not kept. At most MAX_PROVIDED answers are kept: past them
 * the table starts again.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-catalog.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-error.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

#define MAX_PROVIDED 4096

static GMutex provided_lock;
static GHashTable *provided;    /* (provided_lock) key → RthunkType */

/* The cache's key of @fn of the server at @address called with @literal:
 * an address and a function name have no newline, so the first two end
 * them. */
static char *
provided_key (const char *address,
              const char *fn,
              const char *literal)
{
  return g_strconcat (address, "\n", fn, "\n", literal, NULL);
}

static RthunkType *
provided_lookup (const char *key)
{
  RthunkType *type = NULL;

  g_mutex_lock (&provided_lock);
  if (provided != NULL && (type = g_hash_table_lookup (provided, key)) != NULL)
    rthunk_type_ref (type);
  g_mutex_unlock (&provided_lock);
  return type;
}

static void
provided_keep (char       *key,
               RthunkType *type)
{
  g_mutex_lock (&provided_lock);
  if (provided == NULL)
    provided = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_type_unref);
  if (g_hash_table_size (provided) >= MAX_PROVIDED)
    g_hash_table_remove_all (provided);
  g_hash_table_replace (provided, key, rthunk_type_ref (type));
  g_mutex_unlock (&provided_lock);
}

static gboolean
is_of_server (gpointer key,
              gpointer value,
              gpointer prefix)
{
  return g_str_has_prefix (key, prefix);
}

void
rthunk_client_forget_provided (RthunkClient *self)
{
  g_autofree char *prefix = g_strconcat (self->address, "\n", NULL);

  g_mutex_lock (&provided_lock);
  if (provided != NULL)
    g_hash_table_foreach_remove (provided, is_of_server, prefix);
  g_mutex_unlock (&provided_lock);
}

/* provideType on @conn; NULL with @error set when the server refused
 * @literal (TYPE_MISMATCH) or the call failed. */
static RthunkType *
ask_server (RthunkClient  *self,
            RthunkConn    *conn,
            const char    *fn,
            const char    *literal,
            GError       **error)
{
  g_autoptr(RthunkWireTypeTerm) term = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkValue) value = rthunk_value_new_str (literal);
  RthunkWireValue *wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  RthunkWireTypeFailure *failure = NULL;
  RthunkCallFault fault = { NULL, };
  g_autoptr(GError) bad = NULL;
  RthunkType *type;

  g_ptr_array_add (args, wire);
  if (!rthunk_wire_fill_value (wire, value, error))
    return NULL;
  if (!rthunk_wire_remote_execution_service_if_provide_type (conn->stub, &term, (char *) fn, args, auth,
                                                             &fault.invalid, &failure, &fault.denied,
                                                             &fault.error))
    {
      if (failure != NULL)
        rthunk_client_call_failed (self, conn, fault.error, G_OBJECT (failure), error);
      else
        rthunk_client_call_fault_raise (self, conn, &fault, error);
      return NULL;
    }
  if ((type = rthunk_wire_read_type (term, &bad)) == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                 _("server %s answered provideType with a malformed type: %s"), self->address,
                 bad->message);
  return type;
}

RthunkType *
rthunk_client_provide_type (RthunkClient  *self,
                            const char    *fn,
                            const char    *literal,
                            GError       **error)
{
  g_autofree char *key = provided_key (self->address, fn, literal);
  g_autoptr(RthunkType) asked = NULL;
  RthunkType *type;
  RthunkCall call;

  if ((type = provided_lookup (key)) != NULL)
    return type;
  if (!rthunk_client_begin_call (self, &call, NULL, error))
    return NULL;
  asked = ask_server (self, call.conn, fn, literal, error);
  if (!rthunk_call_end (&call, asked != NULL, error))
    return NULL;
  provided_keep (g_steal_pointer (&key), asked);
  return g_steal_pointer (&asked);
}

RthunkType *
rthunk_client_ask_type (RthunkFuncDef  *def,
                        const char     *literal,
                        gpointer        client,
                        GError        **error)
{
  return rthunk_client_provide_type (client, rthunk_func_def_get_name (def), literal, error);
}
