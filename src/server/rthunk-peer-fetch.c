/* rthunk-peer-fetch.c — inputs held by other servers, fetched through a client
 *
 * A request may bind a thunk another server holds. This server makes a
 * placeholder for it under the same id and fetches the value through a
 * client of that server, in the fetch pool; whatever waits for the
 * placeholder starts when the value comes.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-error.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-log.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-thunk-table.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

#define FETCH_SLICE_MS 1000

typedef struct
{
  RthunkServerState *state;
  RthunkThunkEntry *entry;      /* the placeholder the value goes to */
  char *holder;
  RthunkType *type;             /* what the client declared (a copy of its own) */
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  rthunk_thunk_entry_unref (fetch->entry);
  rthunk_type_unref (fetch->type);
  g_free (fetch->holder);
  g_free (fetch);
}

typedef struct
{
  RthunkValue *value;
  GError *error;
  gboolean finished;
} Fetched;

static void
on_fetched (GBytes       *id,
            RthunkValue  *value,
            const GError *error,
            gpointer      user_data)
{
  Fetched *out = user_data;

  out->finished = TRUE;
  if (value != NULL)
    out->value = rthunk_value_ref (value);
  else
    out->error = g_error_copy (error);
}

/* Whether @value has the type the client declared for it. */
static gboolean
fetched_type_ok (const Fetch  *fetch,
                 RthunkValue  *value,
                 GError      **error)
{
  g_autoptr(RthunkType) actual = NULL;
  guint next_var = 1u << 20;    /* clear of the declared type's variables */

  if ((actual = rthunk_type_of_value (value, &next_var, error)) == NULL)
    return FALSE;
  if (rthunk_type_unify (fetch->type, actual))
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
               _("the value fetched from %s does not have the type the request declared"), fetch->holder);
  return FALSE;
}

/* The client for @address, made once and shared by the fetches (its pool
 * gives each its own connection). The server's token goes only where it
 * cannot leak: over TLS to a peer whose certificate held, or (without TLS)
 * to a peer --fetch-from names exactly; a peer a wildcard pattern matches
 * is asked without it. NULL (with @error) when the TLS files do not load. */
static RthunkClient *
peer_client (RthunkServerState  *state,
             const char         *address,
             GError            **error)
{
  RthunkClient *client;

  g_mutex_lock (&state->peers_lock);
  if ((client = g_hash_table_lookup (state->peers, address)) == NULL)
    {
      client = rthunk_client_new (address);
      if (state->peer_tls &&
          !rthunk_client_set_tls (client, state->peer_tls_ca, state->peer_tls_cert, state->peer_tls_key, error))
        {
          g_mutex_unlock (&state->peers_lock);
          g_object_unref (client);
          return NULL;
        }
      if (state->peer_tls || g_strv_contains ((const char *const *) state->fetch_from, address))
        rthunk_client_set_token (client, state->token);
      g_hash_table_insert (state->peers, g_strdup (address), client);
    }
  g_object_ref (client);
  g_mutex_unlock (&state->peers_lock);
  return client;
}

/* A worker of the fetch pool: long-polls the holder for the value, checks
 * its type and finishes the placeholder, which starts whatever waits. */
void
rthunk_handler_run_fetch (gpointer data,
                          gpointer user_data)
{
  Fetch *fetch = data;
  RthunkServerState *state = user_data;
  RthunkThunkEntry *entry = fetch->entry;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkClient) client = peer_client (state, fetch->holder, &error);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GCancellable) cancellable = NULL;
  guint limit_ms = state->limits.deadline_ms > 0 ? state->limits.deadline_ms : 600000;
  gint64 give_up = g_get_monotonic_time () + (gint64) limit_ms * 1000;
  Fetched got = { NULL, NULL, FALSE };

  if (!rthunk_thunk_table_start (state->table, entry))
    {
      fetch_free (fetch);
      return;
    }
  cancellable = rthunk_thunk_table_get_cancellable (state->table, entry);
  g_ptr_array_add (ids, g_bytes_new (entry->id, RTHUNK_THUNK_ID_LEN));
  while (client != NULL && !got.finished && error == NULL)
    {
      if (g_atomic_int_get (&state->stopping) || g_cancellable_is_cancelled (cancellable))
        g_set_error (&error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                     _("the fetch of an input from %s was stopped"), fetch->holder);
      else if (g_get_monotonic_time () > give_up)
        g_set_error (&error, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                     _("%s did not give the input within %u ms"), fetch->holder, limit_ms);
      else if (!rthunk_client_await_many (client, ids, FETCH_SLICE_MS, on_fetched, &got, &error))
        g_prefix_error (&error, _("fetching an input from %s: "), fetch->holder);
    }
  /* finished, but too large for one frame: fetched in chunks, within
   * this server's memory budget */
  if (client != NULL && error == NULL && rthunk_client_error_is_too_large (got.error))
    {
      g_clear_error (&got.error);
      got.value = rthunk_client_fetch_chunked (client, g_ptr_array_index (ids, 0), NULL, state->budget,
                                               cancellable, &got.error);
    }
  if (got.error != NULL)
    {
      g_clear_error (&error);
      error = g_steal_pointer (&got.error);
      g_prefix_error (&error, _("the input fetched from %s failed: "), fetch->holder);
    }
  if (got.value != NULL && error == NULL && fetched_type_ok (fetch, got.value, &error))
    {
      COUNT (state->counters.fetched);
      if (rthunk_log_debug_wanted ())
        g_debug ("fetched an input from %s", fetch->holder);
    }
  else
    g_clear_pointer (&got.value, rthunk_value_unref);
  rthunk_server_state_thunk_finished (state, entry, got.value != NULL ? NULL : error, "fetched");
  rthunk_thunk_table_finish (state->table, entry, got.value, error);
  g_clear_pointer (&got.value, rthunk_value_unref);
  fetch_free (fetch);
}

/* An input another server holds: a placeholder under the same id (ids are
 * random across servers), filled by a fetch; a second request naming the
 * same thunk finds the placeholder and shares the fetch. */
RthunkThunkEntry *
rthunk_handler_fetch_input (RthunkServerState         *state,
                            const RthunkRequestInput  *binding,
                            GError                   **error)
{
  g_autoptr(RthunkNode) nothing = NULL;
  g_autoptr(RthunkType) type = NULL;
  RthunkThunkEntry *entry;
  Fetch *fetch;

  const guint8 *id = binding->thunk_id;

  if (!rthunk_address_allowed ((const char *const *) state->fetch_from, binding->holder))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED,
                   _("the input “%s” is held by %s, which this server does not fetch from (see --fetch-from)"),
                   rthunk_request_input_name (binding), binding->holder);
      return NULL;
    }
  if (binding->has_type && binding->type_error != NULL && binding->thunk_id != NULL &&
      binding->thunk_id_len == RTHUNK_THUNK_ID_LEN)
    {
      g_propagate_error (error, g_error_copy (binding->type_error));
      return NULL;
    }
  if (id == NULL || binding->thunk_id_len != RTHUNK_THUNK_ID_LEN || binding->type == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the input “%s” names a thunk on %s without a 16-byte id and its type"),
                   rthunk_request_input_name (binding), binding->holder);
      return NULL;
    }
  type = rthunk_type_ref (binding->type);
  nothing = rthunk_node_new_nil ();
  entry = rthunk_thunk_table_add (state->table, nothing, NULL, type, id, NULL);
  if (entry == NULL)
    {
      /* fetched already, or being fetched */
      if ((entry = rthunk_thunk_table_lookup (state->table, id, RTHUNK_THUNK_ID_LEN)) == NULL)
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK,
                     _("the input “%s” names a thunk that vanished"), rthunk_request_input_name (binding));
      return entry;
    }
  fetch = g_new0 (Fetch, 1);
  fetch->state = state;
  fetch->entry = rthunk_thunk_entry_ref (entry);
  fetch->holder = g_strdup (binding->holder);
  /* a copy of its own: unifying it with what the fetch brings back must
   * not touch the type the placeholder carries */
  fetch->type = rthunk_type_resolve (type);
  g_thread_pool_push (state->fetch_pool, fetch, NULL);
  return entry;
}
