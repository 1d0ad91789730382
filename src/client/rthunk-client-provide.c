/* rthunk-client-provide.c — provideType: the types a server's data source
 * gives to calls of its provided functions
 *
 * A provided function (RTHUNK_FUNC_PROVIDED: sql-query, csv-read) has the
 * type its data source gives for the string literal it is called with.
 * The checkers of the client and of a session ask it here: the first time
 * a (function, literal) pair is met the server is asked with provideType;
 * its answer is kept, so the same literal is asked once, until the
 * catalog is read again (a reconnection: the server may have restarted on
 * another schema). A refusal (SQL that does not prepare) is not kept.
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

/* The cache's key of @fn called with @literal: a function name has no
 * newline, so the first one ends it. */
static char *
provided_key (const char *fn,
              const char *literal)
{
  return g_strconcat (fn, "\n", literal, NULL);
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
  g_autofree char *key = provided_key (fn, literal);
  g_autoptr(RthunkType) asked = NULL;
  RthunkType *type;
  RthunkCall call;

  g_mutex_lock (&self->lock);
  type = g_hash_table_lookup (self->provided, key);
  if (type != NULL)
    rthunk_type_ref (type);
  g_mutex_unlock (&self->lock);
  if (type != NULL)
    return type;
  if (!rthunk_client_begin_call (self, &call, NULL, error))
    return NULL;
  asked = ask_server (self, call.conn, fn, literal, error);
  if (!rthunk_call_end (&call, asked != NULL, error))
    return NULL;
  g_mutex_lock (&self->lock);
  g_hash_table_replace (self->provided, g_steal_pointer (&key), rthunk_type_ref (asked));
  g_mutex_unlock (&self->lock);
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
