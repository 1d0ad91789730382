/* rthunk-client.c — a client of one server: the object
 *
 * Connections come from a small pool (rthunk-client-pool.c), each framed
 * and validated by rthunk-frame like the server's, with the generated
 * Thrift client on top; the hot calls (submitEvalRequest, submitBatch,
 * thunkAwait) are written and read as bytes with rthunk-codec and leave
 * the generated client only the replies the codec does not expect. A call
 * holds one connection alone, so several threads (and the GTask workers of
 * the _async forms in rthunk-client-async.c) call one client at once. A
 * connection that saw an error is dropped; the next call opens another.
 *
 * Every call is written once, as a "run" function taking a GCancellable
 * (rthunk-client-private.h); the sync forms pass none.
 *
 * This file holds the GObject, its properties, and what the client knows of
 * its server: connecting, the server's info and its catalog. The rest of
 * the client is in the rthunk-client-*.c files rthunk-client-internal.h
 * lists.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-client.h"
#include "rthunk-catalog.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-node.h"
#include "rthunk-tls.h"
#include "rthunk-type.h"
#include "rthunk-wire.h"

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_ADDRESS "localhost:9090"

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_MAX_CONNECTIONS,
  PROP_CALL_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/**
 * RthunkClient:
 *
 * A client of one rthunk server (an `rthunkd`, or any program built on
 * [class@Rthunk.Server]), speaking the wire protocol of
 * `idl/rthunk.thrift`.
 *
 * Make one with [ctor@Rthunk.Client.new] and the server's `HOST:PORT`,
 * then [method@Rthunk.Client.connect]: that fetches the server's catalog
 * ([method@Rthunk.Client.get_catalog]), the functions a
 * [class@Rthunk.Checker] may let an expression call remotely.
 * [method@Rthunk.Client.submit] sends a checked expression and returns at
 * once with a value: the result when the server finished within its
 * inline budget, otherwise a pending value ([method@Rthunk.Value.is_pending])
 * whose thunk [method@Rthunk.Client.poll], [method@Rthunk.Client.await_many]
 * or [method@Rthunk.Thunk.wait] resolve. [method@Rthunk.Client.submit_full]
 * also ships the user definitions the expression uses, by content address
 * (docs/protocol.md), sending their code only when the server asks for it.
 *
 * Every blocking call has an `_async`/`_finish` pair. A client may be
 * called from several threads at once: each call takes a connection of
 * its own from a small pool ([property@Rthunk.Client:max-connections]).
 * [method@Rthunk.Client.set_token] and [method@Rthunk.Client.set_tls]
 * configure authentication and TLS before connecting.
 *
 * To spread work over many servers, use a [class@Rthunk.Cluster]; to
 * work interactively, a [class@Rthunk.Session].
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkClient, rthunk_client, G_TYPE_OBJECT)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireFuncDef, g_object_unref)

/* HOST:PORT, [V6]:PORT or HOST (port 9090). */
static void
parse_address (RthunkClient *self)
{
  const char *colon = strrchr (self->address, ':');

  if (colon != NULL)
    {
      self->host = g_strndup (self->address, colon - self->address);
      self->port = g_strdup (colon + 1);
    }
  else
    {
      self->host = g_strdup (self->address);
      self->port = g_strdup ("9090");
    }
  /* [::1]:9090 */
  if (self->host[0] == '[' && g_str_has_suffix (self->host, "]"))
    {
      char *bare = g_strndup (self->host + 1, strlen (self->host) - 2);

      g_free (self->host);
      self->host = bare;
    }
}

static void
rthunk_client_constructed (GObject *object)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  G_OBJECT_CLASS (rthunk_client_parent_class)->constructed (object);
  rthunk_wire_ensure_types ();
  if (self->address == NULL)
    self->address = g_strdup (DEFAULT_ADDRESS);
  parse_address (self);
  self->pool = rthunk_pool_new (self->address, self->host, self->port,
                                CONNECT_TIMEOUT_MS, self->call_timeout_ms);
  rthunk_pool_set_max (self->pool, self->max_connections);
}

static void
rthunk_client_finalize (GObject *object)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  /* a queued submission's pending value holds its client, and a
   * submitBatch (whose members have none until their replies are read)
   * flushes before it returns: none is left here, nor in flight */
  g_array_unref (self->outbox);
  g_byte_array_unref (self->outbox_bytes);
  g_clear_error (&self->refused);
  g_hash_table_unref (self->checked);
  rthunk_client_shape_keys_clear (self);
  g_clear_pointer (&self->prepared, rthunk_client_prepared_free);
  g_mutex_clear (&self->outbox_lock);
  g_mutex_clear (&self->flush_lock);
  g_clear_pointer (&self->pool, rthunk_pool_free);
  g_clear_object (&self->catalog);
  g_free (self->server_name);
  g_clear_pointer (&self->old_server_names, g_ptr_array_unref);
  g_strfreev (self->capabilities);
  g_strfreev (self->fetches_from);
  g_free (self->token);
  g_free (self->address);
  g_free (self->host);
  g_free (self->port);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (rthunk_client_parent_class)->finalize (object);
}

static void
rthunk_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, rthunk_client_get_max_connections (self));
      break;
    case PROP_CALL_TIMEOUT:
      g_value_set_uint (value, self->call_timeout_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rthunk_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      self->address = g_value_dup_string (value);
      break;
    case PROP_MAX_CONNECTIONS:
      rthunk_client_set_max_connections (self, g_value_get_uint (value));
      break;
    case PROP_CALL_TIMEOUT:
      self->call_timeout_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rthunk_client_class_init (RthunkClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = rthunk_client_constructed;
  object_class->finalize = rthunk_client_finalize;
  object_class->get_property = rthunk_client_get_property;
  object_class->set_property = rthunk_client_set_property;

  /**
   * RthunkClient:address:
   *
   * `HOST:PORT` of the server (`localhost:9090` when not given).
   *
   * Since: 0.1
   */
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * RthunkClient:max-connections:
   *
   * How many connections to the server the client opens at most; a call
   * made while all of them are busy waits for one to be free.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_uint ("max-connections", NULL, NULL, 1, RTHUNK_POOL_LIMIT_MAX,
                       RTHUNK_POOL_DEFAULT_MAX,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);
  /**
   * RthunkClient:call-timeout-ms:
   *
   * The whole-call deadline, in milliseconds: a call whose reply has not
   * arrived whole that long after it was sent fails with
   * %RTHUNK_ERROR_TIMEOUT, however slowly the server trickles it (a long
   * poll may take its own timeout on top). Also bounds each send.
   *
   * Since: 0.1
   */
  properties[PROP_CALL_TIMEOUT] =
    g_param_spec_uint ("call-timeout-ms", NULL, NULL, 1, RTHUNK_CLIENT_MAX_CALL_TIMEOUT_MS,
                       RTHUNK_CLIENT_CALL_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rthunk_client_init (RthunkClient *self)
{
  g_mutex_init (&self->lock);
  self->checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, rthunk_client_checked_free);
  self->shape_keys.value_free = g_free;
  g_mutex_init (&self->outbox_lock);
  g_mutex_init (&self->flush_lock);
  self->outbox = rthunk_client_outbox_new ();
  self->outbox_bytes = g_byte_array_new ();
  self->max_connections = RTHUNK_POOL_DEFAULT_MAX;
}

/**
 * rthunk_client_new:
 * @address: `HOST:PORT` of a server
 *
 * Creates a client; nothing is sent until the first call.
 *
 * Returns: (transfer full): a new client
 *
 * Since: 0.1
 */
RthunkClient *
rthunk_client_new (const char *address)
{
  g_return_val_if_fail (address != NULL, NULL);

  return g_object_new (RTHUNK_TYPE_CLIENT, "address", address, NULL);
}

RthunkClient *
rthunk_client_new_with_timeout (const char *address,
                                guint       timeout_ms)
{
  if (timeout_ms == 0)
    return rthunk_client_new (address);
  return g_object_new (RTHUNK_TYPE_CLIENT, "address", address, "call-timeout-ms", timeout_ms, NULL);
}

/**
 * rthunk_client_get_address:
 * @client: a client
 *
 * Gives the address the client was made for.
 *
 * Returns: (transfer none): the `HOST:PORT` it talks to
 *
 * Since: 0.1
 */
const char *
rthunk_client_get_address (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return client->address;
}

/**
 * rthunk_client_get_max_connections:
 * @client: a client
 *
 * Gives the bound on the connections the client opens at once.
 *
 * Returns: the #RthunkClient:max-connections bound
 *
 * Since: 0.1
 */
guint
rthunk_client_get_max_connections (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  return client->pool != NULL ? rthunk_pool_get_max (client->pool) : client->max_connections;
}

/**
 * rthunk_client_set_max_connections:
 * @client: a client
 * @max_connections: how many connections @client may open at once, at
 *   least 1
 *
 * Changes the #RthunkClient:max-connections bound. Lowering it closes idle
 * connections above it at once and busy ones when their call ends.
 *
 * Since: 0.1
 */
void
rthunk_client_set_max_connections (RthunkClient *client,
                                   guint         max_connections)
{
  g_return_if_fail (RTHUNK_IS_CLIENT (client));
  g_return_if_fail (max_connections >= 1 && max_connections <= RTHUNK_POOL_LIMIT_MAX);

  if (rthunk_client_get_max_connections (client) == max_connections)
    return;
  client->max_connections = max_connections;
  if (client->pool != NULL)
    rthunk_pool_set_max (client->pool, max_connections);
  g_object_notify_by_pspec (G_OBJECT (client), properties[PROP_MAX_CONNECTIONS]);
}

/**
 * rthunk_client_get_connections_opened:
 * @client: a client
 *
 * How many connections @client has opened since it was created: with no
 * errors this never exceeds #RthunkClient:max-connections, because idle
 * connections are reused.
 *
 * Returns: the number of sockets opened
 *
 * Since: 0.1
 */
guint
rthunk_client_get_connections_opened (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  return rthunk_pool_get_opened (client->pool);
}

/**
 * rthunk_client_get_connections_open:
 * @client: a client
 *
 * Counts the connections of the client's pool.
 *
 * Returns: how many connections @client holds now, idle or busy
 *
 * Since: 0.1
 */
guint
rthunk_client_get_connections_open (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  return rthunk_pool_get_open (client->pool);
}

/* ---- connecting: the server's info and catalog ---------------------------- */

/* The valid UTF-8 strings of a list the server sent, NULL-terminated. */
static char **
valid_strings (const GPtrArray *list)
{
  char **out = g_new0 (char *, (list != NULL ? list->len : 0) + 1);

  for (guint k = 0, n = 0; list != NULL && k < list->len; k++)
    {
      const char *text = g_ptr_array_index (list, k);

      if (text != NULL && g_utf8_validate (text, -1, NULL))
        out[n++] = g_strdup (text);
    }
  return out;
}

/* Stores what getServerInfo said. The name and capabilities are replaced
 * only when they changed, so the pointers the getters gave out stay valid
 * across pings. */
static void
store_info (RthunkClient         *self,
            RthunkWireServerInfo *info)
{
  const char *name = info->name != NULL && g_utf8_validate (info->name, -1, NULL)
                     ? info->name : self->address;
  g_auto(GStrv) capabilities = valid_strings (info->capabilities);
  g_auto(GStrv) fetches_from = valid_strings (info->fetchesFrom);

  g_mutex_lock (&self->lock);
  /* the old name stays valid as long as the client: a thunk's label is
   * made from it without the lock (rthunk_client_get_server_name()) */
  if (g_strcmp0 (self->server_name, name) != 0)
    {
      if (self->server_name != NULL)
        {
          if (self->old_server_names == NULL)
            self->old_server_names = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (self->old_server_names, g_steal_pointer (&self->server_name));
        }
      g_atomic_pointer_set (&self->server_name, g_strdup (name));
    }
  if (self->capabilities == NULL || !g_strv_equal ((const char *const *) self->capabilities,
                                                   (const char *const *) capabilities))
    {
      g_strfreev (self->capabilities);
      self->capabilities = g_steal_pointer (&capabilities);
    }
  g_strfreev (self->fetches_from);
  self->fetches_from = g_steal_pointer (&fetches_from);
  self->load = info->running + info->queued;
  self->workers = MAX (info->workers, 0);
  self->state_cells = info->counters->stateCells;
  g_mutex_unlock (&self->lock);
}

static GVariant *
strv_variant (const GPtrArray *list)
{
  g_auto(GStrv) strings = valid_strings (list);

  return g_variant_new_strv ((const char *const *) strings, -1);
}

/* Each state cell's name and type, as a{ss}. */
static GVariant *
state_types_variant (GHashTable *types)
{
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer name, type;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_hash_table_iter_init (&iter, types);
  while (g_hash_table_iter_next (&iter, &name, &type))
    if (name != NULL && type != NULL && g_utf8_validate (name, -1, NULL) && g_utf8_validate (type, -1, NULL))
      g_variant_builder_add (&builder, "{ss}", (const char *) name, (const char *) type);
  return g_variant_builder_end (&builder);
}

/* What getServerInfo said, as a dictionary (see rthunk_client_get_server_info()). */
static GVariant *
info_variant (RthunkClient         *self,
              RthunkWireServerInfo *info)
{
  GVariantBuilder all, counters, limits;
  RthunkWireCounters *c = info->counters;
  RthunkWireLimits *l = info->limits;

  g_variant_builder_init (&counters, G_VARIANT_TYPE ("a{sx}"));
  g_variant_builder_add (&counters, "{sx}", "submitted", c->submitted);
  g_variant_builder_add (&counters, "{sx}", "completed", c->completed);
  g_variant_builder_add (&counters, "{sx}", "failed", c->failed);
  g_variant_builder_add (&counters, "{sx}", "cancelled", c->cancelled);
  g_variant_builder_add (&counters, "{sx}", "cache-hits", c->cacheHits);
  g_variant_builder_add (&counters, "{sx}", "cache-hits-local", c->cacheHitsLocal);
  g_variant_builder_add (&counters, "{sx}", "cache-hits-shared", c->cacheHitsShared);
  g_variant_builder_add (&counters, "{sx}", "definitions-loaded", c->definitionsLoaded);
  g_variant_builder_add (&counters, "{sx}", "definitions-stored", c->definitionsStored);
  g_variant_builder_add (&counters, "{sx}", "pipelined", c->pipelined);
  g_variant_builder_add (&counters, "{sx}", "fetched", c->fetched);
  g_variant_builder_add (&counters, "{sx}", "batches", c->batches);
  g_variant_builder_add (&counters, "{sx}", "memo-hits", c->memoHits);
  g_variant_builder_add (&counters, "{sx}", "long-thunks", c->longThunks);
  g_variant_builder_add (&counters, "{sx}", "state-cells", c->stateCells);
  g_variant_builder_add (&counters, "{sx}", "state-updates", c->stateUpdates);
  g_variant_builder_add (&counters, "{sx}", "types-provided", c->typesProvided);
  g_variant_builder_add (&counters, "{sx}", "waiters", c->waiters);
  g_variant_builder_init (&limits, G_VARIANT_TYPE ("a{sx}"));
  g_variant_builder_add (&limits, "{sx}", "max-frame-bytes", l->maxFrameBytes);
  g_variant_builder_add (&limits, "{sx}", "max-depth", (gint64) l->maxDepth);
  g_variant_builder_add (&limits, "{sx}", "max-ast-nodes", (gint64) l->maxAstNodes);
  g_variant_builder_add (&limits, "{sx}", "fuel", l->fuel);
  g_variant_builder_add (&limits, "{sx}", "deadline-ms", (gint64) l->deadlineMs);
  g_variant_builder_add (&limits, "{sx}", "max-queued", (gint64) l->maxQueued);
  g_variant_builder_add (&limits, "{sx}", "max-connections", (gint64) l->maxConnections);
  g_variant_builder_add (&limits, "{sx}", "max-eval-bytes", l->maxEvalBytes);
  g_variant_builder_init (&all, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&all, "{sv}", "name",
                         g_variant_new_string (info->name != NULL && g_utf8_validate (info->name, -1, NULL)
                                               ? info->name : self->address));
  g_variant_builder_add (&all, "{sv}", "version",
                         g_variant_new_string (info->version != NULL && g_utf8_validate (info->version, -1, NULL)
                                               ? info->version : ""));
  g_variant_builder_add (&all, "{sv}", "protocol-version", g_variant_new_int32 (info->protocolVersion));
  g_variant_builder_add (&all, "{sv}", "capabilities", strv_variant (info->capabilities));
  g_variant_builder_add (&all, "{sv}", "fetches-from", strv_variant (info->fetchesFrom));
  g_variant_builder_add (&all, "{sv}", "running", g_variant_new_int32 (info->running));
  g_variant_builder_add (&all, "{sv}", "queued", g_variant_new_int32 (info->queued));
  g_variant_builder_add (&all, "{sv}", "workers", g_variant_new_int32 (info->workers));
  g_variant_builder_add (&all, "{sv}", "counters", g_variant_builder_end (&counters));
  g_variant_builder_add (&all, "{sv}", "limits", g_variant_builder_end (&limits));
  if (info->__isset_stateCellTypes)
    g_variant_builder_add (&all, "{sv}", "state-cell-types", state_types_variant (info->stateCellTypes));
  return g_variant_ref_sink (g_variant_builder_end (&all));
}

/* getServerInfo: stores the name, capabilities and load, and when @out is
 * not NULL gives the whole answer as a dictionary. */
static gboolean
fetch_info (RthunkClient  *self,
            RthunkConn    *conn,
            GVariant     **out,
            GError       **error)
{
  g_autoptr(RthunkWireServerInfo) info = g_object_new (RTHUNK_WIRE_TYPE_SERVER_INFO, NULL);
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  RthunkCallFault fault = { NULL, };

  if (!rthunk_wire_remote_execution_service_if_get_server_info (conn->stub, &info, auth,
                                                                &fault.denied, &fault.error))
    return rthunk_client_call_fault_raise (self, conn, &fault, error);
  store_info (self, info);
  if (out != NULL)
    *out = info_variant (self, info);
  return TRUE;
}

/* getFuncDefs of @wanted (all when empty), as a catalog of remote
 * functions; NULL with @error when the call failed or a definition is bad. */
static RthunkCatalog *
read_func_defs (RthunkClient       *self,
                RthunkConn         *conn,
                const char *const  *wanted,
                GError            **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  g_autoptr(RthunkCatalog) catalog = rthunk_catalog_new ();
  RthunkCallFault fault = { NULL, };

  for (guint k = 0; wanted != NULL && wanted[k] != NULL; k++)
    g_ptr_array_add (names, g_strdup (wanted[k]));
  if (!rthunk_wire_remote_execution_service_if_get_func_defs (conn->stub, &defs, names, auth,
                                                              &fault.invalid, &fault.denied, &fault.error))
    {
      rthunk_client_call_fault_raise (self, conn, &fault, error);
      return NULL;
    }
  for (guint k = 0; k < defs->len; k++)
    {
      RthunkWireFuncDef *def = g_ptr_array_index (defs, k);
      g_autoptr(RthunkType) type = NULL;
      g_autoptr(GError) bad = NULL;

      if (def->name == NULL || !g_utf8_validate (def->name, -1, NULL) ||
          (type = rthunk_wire_read_type (def->type, &bad)) == NULL ||
          !rthunk_catalog_add_remote (catalog, def->name, type, def->flags & 31,
                                      def->doc != NULL && g_utf8_validate (def->doc, -1, NULL) ? def->doc : "",
                                      &bad))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                       _("server %s published a malformed function: %s"), self->address,
                       bad != NULL ? bad->message : _("bad name"));
          return NULL;
        }
    }
  return g_steal_pointer (&catalog);
}

static gboolean
fetch_catalog (RthunkClient  *self,
               RthunkConn    *conn,
               GError       **error)
{
  g_autoptr(RthunkCatalog) catalog = read_func_defs (self, conn, NULL, error);

  if (catalog == NULL)
    return FALSE;
  g_mutex_lock (&self->lock);
  g_set_object (&self->catalog, catalog);
  g_mutex_unlock (&self->lock);
  /* the server may have restarted on another schema */
  rthunk_client_forget_provided (self);
  return TRUE;
}

gboolean
rthunk_client_connect_run (RthunkClient  *self,
                           gboolean       catalog_if_missing,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(RthunkCatalog) had = rthunk_client_dup_catalog (self);
  RthunkCall call;
  gboolean ok;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return FALSE;
  ok = fetch_info (self, call.conn, NULL, error) &&
       ((catalog_if_missing && had != NULL) || fetch_catalog (self, call.conn, error));
  return rthunk_call_end (&call, ok, error);
}

/**
 * rthunk_client_connect:
 * @client: a client
 * @error: return location for a #GError
 *
 * Connects, reads the server's name and its whole catalog.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_CONNECTION when
 *   the server cannot be reached, %RTHUNK_ERROR_TIMEOUT when it does not
 *   answer, %RTHUNK_ERROR_CONNECTION_LOST when it goes away mid-call)
 *
 * Since: 0.1
 */
gboolean
rthunk_client_connect (RthunkClient  *client,
                       GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);

  return rthunk_client_connect_run (client, FALSE, NULL, error);
}

/**
 * rthunk_client_get_server_name:
 * @client: a connected client
 *
 * Gives the name the server announced when the client connected. Any
 * thread may ask; a name it announced before stays valid as long as the
 * client.
 *
 * Returns: (transfer none) (nullable): the name the server gave itself
 *
 * Since: 0.1
 */
const char *
rthunk_client_get_server_name (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return g_atomic_pointer_get (&client->server_name);
}

/**
 * rthunk_client_get_capabilities:
 * @client: a connected client
 *
 * Gives the capabilities the server announced, which `(remote :needs …)`
 * routes by.
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): what the
 *   server said it offers (`db`, …), as of the last rthunk_client_ping()
 *
 * Since: 0.1
 */
const char *const *
rthunk_client_get_capabilities (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return (const char *const *) client->capabilities;
}

/**
 * rthunk_client_fetches_from:
 * @client: a connected client
 * @address: `HOST:PORT` of another server
 *
 * Whether @client's server fetches inputs from @address by itself (its
 * `--fetch-from` patterns allow it): a pending value held there then
 * travels to @client's server as a reference, and that server fetches the
 * value, rather than this process waiting for it and sending it.
 *
 * Returns: %TRUE if it does
 *
 * Since: 0.1
 */
gboolean
rthunk_client_fetches_from (RthunkClient *client,
                            const char   *address)
{
  gboolean allowed;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  g_mutex_lock (&client->lock);
  allowed = rthunk_address_allowed ((const char *const *) client->fetches_from, address);
  g_mutex_unlock (&client->lock);
  return allowed;
}

/**
 * rthunk_client_get_load:
 * @client: a connected client
 *
 * Gives the server's load as it last reported it.
 *
 * Returns: the thunks running or queued on the server, as of the last
 *   rthunk_client_ping()
 *
 * Since: 0.1
 */
guint
rthunk_client_get_load (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  return client->load;
}

/* The server's evaluation threads, as it last reported them (0 before
 * its first getServerInfo). */
guint
rthunk_client_get_workers (RthunkClient *client)
{
  return client->workers;       /* a word, as rthunk_client_get_load() reads it */
}

/* The state cells the server last reported holding. */
gint64
rthunk_client_get_state_cells (RthunkClient *client)
{
  gint64 n;

  g_mutex_lock (&client->lock);
  n = client->state_cells;
  g_mutex_unlock (&client->lock);
  return n;
}

/**
 * rthunk_client_ping:
 * @client: a client
 * @error: return location for a #GError
 *
 * Asks the server for its info again (reconnecting if needed): its name,
 * capabilities and load; and for its catalog when there is none yet.
 *
 * Returns: %TRUE if the server answered
 *
 * Since: 0.1
 */
gboolean
rthunk_client_ping (RthunkClient  *client,
                    GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);

  return rthunk_client_connect_run (client, TRUE, NULL, error);
}

/**
 * rthunk_client_get_catalog:
 * @client: a connected client
 *
 * Gives the catalog of the server, read by rthunk_client_connect(): its
 * functions' types and flags, without code.
 *
 * Returns: (transfer none) (nullable): the functions the server provides
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_client_get_catalog (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return client->catalog;
}


/* ---- the other protocol calls: getServerInfo, getFuncDefs ----------------- */

GVariant *
rthunk_client_server_info_run (RthunkClient  *self,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GVariant *info = NULL;
  RthunkCall call;
  gboolean ok;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return NULL;
  ok = fetch_info (self, call.conn, &info, error);
  if (!rthunk_call_end (&call, ok, error))
    g_clear_pointer (&info, g_variant_unref);
  return info;
}

/**
 * rthunk_client_get_server_info:
 * @client: a client
 * @error: return location for a #GError
 *
 * Calls getServerInfo. The answer is a dictionary (`a{sv}`) with `name`,
 * `version` (strings), `protocol-version`, `running`, `queued`, `workers`
 * (int32), `capabilities`, `fetches-from` (string arrays), `counters`
 * (`a{sx}`: submitted, completed, failed, cancelled, cache-hits,
 * cache-hits-local, cache-hits-shared, definitions-stored, definitions-loaded,
 * pipelined, fetched, batches, memo-hits, long-thunks, state-cells,
 * state-updates, types-provided, and the gauge waiters: thunks awaited
 * right now) and `limits` (`a{sx}`:
 * max-frame-bytes, max-depth, max-ast-nodes, fuel, deadline-ms, max-queued,
 * max-connections, max-eval-bytes).
 *
 * Returns: (transfer full) (nullable): the server's description, or %NULL
 *   with @error set
 *
 * Since: 0.1
 */
GVariant *
rthunk_client_get_server_info (RthunkClient  *client,
                               GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return rthunk_client_server_info_run (client, NULL, error);
}

RthunkCatalog *
rthunk_client_func_defs_run (RthunkClient       *self,
                             const char *const  *names,
                             GCancellable       *cancellable,
                             GError            **error)
{
  RthunkCatalog *catalog;
  RthunkCall call;

  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return NULL;
  catalog = read_func_defs (self, call.conn, names, error);
  if (!rthunk_call_end (&call, catalog != NULL, error))
    g_clear_object (&catalog);
  return catalog;
}

/**
 * rthunk_client_get_func_defs:
 * @client: a client
 * @names: (nullable) (array zero-terminated=1): the functions wanted;
 *   %NULL or empty for the whole catalog
 * @error: return location for a #GError
 *
 * Calls getFuncDefs: the signatures and flags of the named functions (a
 * name the server does not provide is an %RTHUNK_ERROR_UNKNOWN_FUNCTION
 * error). Unlike
 * rthunk_client_get_catalog() this always asks the server.
 *
 * Returns: (transfer full) (nullable): a catalog of those functions, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_client_get_func_defs (RthunkClient       *client,
                             const char *const  *names,
                             GError            **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return rthunk_client_func_defs_run (client, names, NULL, error);
}

/* ---- TLS ----------------------------------------------------------------- */

/**
 * rthunk_client_set_tls:
 * @client: a client
 * @ca_file: (nullable) (type filename): a PEM file of the certificate
 *   authorities that may sign the server's certificate; %NULL for the
 *   system's
 * @cert_file: (nullable) (type filename): the client's own PEM certificate,
 *   for a server that asks for one (mutual TLS); %NULL for none
 * @key_file: (nullable) (type filename): the private key of @cert_file
 * @error: return location for a #GError
 *
 * Makes every connection the client opens from now on a TLS session: the
 * server's certificate must be signed by one of the authorities, valid
 * now, and issued for the host name or address of the client's address;
 * otherwise the call fails with %RTHUNK_ERROR_CONNECTION saying why. The
 * token, like everything else, travels inside the session. Idle plain
 * connections are closed.
 *
 * Returns: %TRUE when the files could be read; %FALSE with @error set (and
 *   nothing changed) otherwise
 *
 * Since: 0.1
 */
gboolean
rthunk_client_set_tls (RthunkClient  *client,
                       const char    *ca_file,
                       const char    *cert_file,
                       const char    *key_file,
                       GError       **error)
{
  g_autoptr(GTlsDatabase) ca = NULL;
  g_autoptr(GTlsCertificate) identity = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail ((cert_file == NULL) == (key_file == NULL), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (ca_file != NULL && (ca = rthunk_tls_load_ca (ca_file, error)) == NULL)
    return FALSE;
  if (cert_file != NULL && (identity = rthunk_tls_load_identity (cert_file, key_file, error)) == NULL)
    return FALSE;
  if (ca == NULL && g_tls_backend_get_default_database (g_tls_backend_get_default ()) == NULL)
    {
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE,
                           _("TLS is not available: no system certificate store (is glib-networking installed?)"));
      return FALSE;
    }
  rthunk_pool_set_tls (client->pool, TRUE, ca, identity);
  return TRUE;
}

/**
 * rthunk_client_get_tls:
 * @client: a client
 *
 * Tells whether the client speaks TLS.
 *
 * Returns: whether the client's connections are TLS sessions
 *   (rthunk_client_set_tls())
 *
 * Since: 0.1
 */
gboolean
rthunk_client_get_tls (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);

  return rthunk_pool_get_tls (client->pool);
}

/* ---- the token ----------------------------------------------------------- */

/**
 * rthunk_client_set_token:
 * @client: a client
 * @token: (nullable): the token every call carries, or %NULL
 *
 * Sets the token sent with every call, for a server started with `--token-
 * file`; set it before connecting.
 *
 * Since: 0.1
 */
void
rthunk_client_set_token (RthunkClient *client,
                         const char   *token)
{
  g_return_if_fail (RTHUNK_IS_CLIENT (client));

  g_mutex_lock (&client->lock);
  rthunk_set_str (&client->token, token);
  g_mutex_unlock (&client->lock);
}
