/* rthunk-client.c — a client of one server
 *
 * One connection, framed and validated by rthunk-frame like the server's,
 * with the generated Thrift client on top. Calls are serialized by a lock,
 * so a client can be shared between threads. A broken connection is
 * reopened on the next call.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rthunk-frame.h"
#include "rthunk-type-private.h"
#include "rthunk-wire.h"
#include "rthunk-hash.h"

#define CONNECT_TIMEOUT_MS 5000
#define CALL_TIMEOUT_MS 70000          /* above the longest thunkAwait */
#define AWAIT_SLICE_MS 1000

struct _RthunkClient
{
  GObject parent_instance;

  char *address;
  char *host;
  char *port;
  GMutex lock;
  RthunkFrameTransport *transport;
  ThriftProtocol *protocol;
  RthunkWireRemoteExecutionServiceIf *stub;
  char *server_name;
  char **capabilities;
  char **fetches_from;          /* servers it fetches inputs from (patterns) */
  guint load;
  char *token;
  RthunkCatalog *catalog;
  guint definitions_sent;
};

G_DEFINE_FINAL_TYPE (RthunkClient, rthunk_client, G_TYPE_OBJECT)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireFuncDef, g_object_unref)

static void
disconnect_locked (RthunkClient *self)
{
  g_clear_object (&self->stub);
  g_clear_object (&self->protocol);
  if (self->transport != NULL)
    thrift_transport_close (THRIFT_TRANSPORT (self->transport), NULL);
  g_clear_object (&self->transport);
}

static void
rthunk_client_finalize (GObject *object)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  disconnect_locked (self);
  g_clear_object (&self->catalog);
  g_free (self->server_name);
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
rthunk_client_class_init (RthunkClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_client_finalize;
}

static void
rthunk_client_init (RthunkClient *self)
{
  g_mutex_init (&self->lock);
}

/**
 * rthunk_client_new:
 * @address: `HOST:PORT` of a server
 *
 * Creates a client; nothing is sent until rthunk_client_connect().
 *
 * Returns: (transfer full): a new client
 *
 * Since: 0.1
 */
RthunkClient *
rthunk_client_new (const char *address)
{
  RthunkClient *self;
  const char *colon;

  g_return_val_if_fail (address != NULL, NULL);

  rthunk_wire_ensure_types ();
  self = g_object_new (RTHUNK_TYPE_CLIENT, NULL);
  self->address = g_strdup (address);
  colon = strrchr (address, ':');
  if (colon != NULL)
    {
      self->host = g_strndup (address, colon - address);
      self->port = g_strdup (colon + 1);
    }
  else
    {
      self->host = g_strdup (address);
      self->port = g_strdup ("9090");
    }
  /* [::1]:9090 */
  if (self->host[0] == '[' && g_str_has_suffix (self->host, "]"))
    {
      char *bare = g_strndup (self->host + 1, strlen (self->host) - 2);

      g_free (self->host);
      self->host = bare;
    }
  return self;
}

/**
 * rthunk_client_get_address:
 * @client: a client
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

/* ---- the connection ---------------------------------------------------- */

/* What every call carries: the token, when there is one. */
static RthunkWireAuth *
new_auth (RthunkClient *self)
{
  RthunkWireAuth *auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);

  if (self->token != NULL)
    g_object_set (auth, "token", self->token, NULL);
  return auth;
}

static int
connect_socket (RthunkClient  *self,
                GError       **error)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *result = NULL;
  int fd = -1, rc, saved = ECONNREFUSED;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo (self->host, self->port, &hints, &result)) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("cannot resolve server %s: %s"), self->address, gai_strerror (rc));
      return -1;
    }
  for (struct addrinfo *ai = result; ai != NULL && fd < 0; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0)
        continue;
      rthunk_frame_set_timeouts (fd, CONNECT_TIMEOUT_MS, NULL);
      if (connect (fd, ai->ai_addr, ai->ai_addrlen) < 0)
        {
          saved = errno;
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (result);
  if (fd < 0)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                 _("cannot connect to server %s: %s"), self->address, g_strerror (saved));
  else
    rthunk_frame_set_timeouts (fd, CALL_TIMEOUT_MS, NULL);
  return fd;
}

static gboolean
ensure_connected_locked (RthunkClient  *self,
                         GError       **error)
{
  int fd;

  if (self->stub != NULL)
    return TRUE;
  if ((fd = connect_socket (self, error)) < 0)
    return FALSE;
  self->transport = rthunk_frame_transport_new (fd, RTHUNK_FRAME_DEFAULT_MAX_BYTES * 8);
  self->protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", self->transport, NULL);
  self->stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                             "input_protocol", self->protocol,
                             "output_protocol", self->protocol, NULL);
  return TRUE;
}

/* Turns what a call left behind into one GError: an IDL exception keeps its
 * code; a transport failure closes the connection. */
static gboolean
call_failed (RthunkClient  *self,
             GError        *transport_error,
             GObject       *exception,
             GError       **error)
{
  if (exception != NULL)
    {
      g_autofree char *message = NULL;
      gint code = RTHUNK_ERROR_INTERNAL;

      g_object_get (exception, "code", &code, "message", &message, NULL);
      g_set_error_literal (error, RTHUNK_ERROR, code,
                           message != NULL ? message : _("the server refused the call"));
      g_object_unref (exception);
      g_clear_error (&transport_error);
      return FALSE;
    }
  disconnect_locked (self);
  if (transport_error != NULL && transport_error->domain == RTHUNK_FRAME_ERROR &&
      transport_error->code == RTHUNK_FRAME_ERROR_TIMEOUT)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                 _("server %s did not answer in time"), self->address);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                 _("lost the connection to server %s: %s"), self->address,
                 transport_error != NULL ? transport_error->message : _("unknown error"));
  g_clear_error (&transport_error);
  return FALSE;
}

/* ---- calls ------------------------------------------------------------- */

/* The valid UTF-8 strings of a list the server sent. */
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

static gboolean
fetch_info_locked (RthunkClient  *self,
                   GError       **error)
{
  g_autoptr(RthunkWireServerInfo) info = g_object_new (RTHUNK_WIRE_TYPE_SERVER_INFO, NULL);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;

  if (!rthunk_wire_remote_execution_service_if_get_server_info (self->stub, &info, auth,
                                                                &denied, &call_error))
    return call_failed (self, call_error, (GObject *) denied, error);
  g_free (self->server_name);
  self->server_name = g_strdup (info->name != NULL && g_utf8_validate (info->name, -1, NULL)
                                ? info->name : self->address);
  g_strfreev (self->capabilities);
  self->capabilities = valid_strings (info->capabilities);
  g_strfreev (self->fetches_from);
  self->fetches_from = valid_strings (info->fetchesFrom);
  self->load = info->running + info->queued;
  return TRUE;
}

static gboolean
fetch_catalog_locked (RthunkClient  *self,
                      GError       **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  g_autoptr(RthunkCatalog) catalog = rthunk_catalog_new ();
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;

  if (!rthunk_wire_remote_execution_service_if_get_func_defs (self->stub, &defs, names, auth,
                                                              &invalid, &denied, &call_error))
    return call_failed (self, call_error, invalid != NULL ? (GObject *) invalid : (GObject *) denied,
                        error);
  for (guint k = 0; k < defs->len; k++)
    {
      RthunkWireFuncDef *def = g_ptr_array_index (defs, k);
      g_autoptr(RthunkType) type = NULL;
      g_autoptr(GError) bad = NULL;

      if (def->name == NULL || !g_utf8_validate (def->name, -1, NULL) ||
          (type = rthunk_wire_read_type (def->type, &bad)) == NULL ||
          !rthunk_catalog_add_remote (catalog, def->name, type, def->flags & 7,
                                      def->doc != NULL && g_utf8_validate (def->doc, -1, NULL) ? def->doc : "",
                                      &bad))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                       _("server %s published a malformed function: %s"), self->address,
                       bad != NULL ? bad->message : _("bad name"));
          return FALSE;
        }
    }
  g_set_object (&self->catalog, catalog);
  return TRUE;
}

/**
 * rthunk_client_connect:
 * @client: a client
 * @error: return location for a #GError
 *
 * Connects, reads the server's name and its whole catalog.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_CONNECTION when
 *   the server cannot be reached)
 *
 * Since: 0.1
 */
gboolean
rthunk_client_connect (RthunkClient  *client,
                       GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);

  g_mutex_lock (&client->lock);
  ok = ensure_connected_locked (client, error) &&
       fetch_info_locked (client, error) &&
       fetch_catalog_locked (client, error);
  g_mutex_unlock (&client->lock);
  return ok;
}

/**
 * rthunk_client_get_server_name:
 * @client: a connected client
 *
 * Returns: (transfer none) (nullable): the name the server gave itself
 *
 * Since: 0.1
 */
const char *
rthunk_client_get_server_name (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);

  return client->server_name;
}

/**
 * rthunk_client_get_capabilities:
 * @client: a connected client
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
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  return rthunk_address_allowed ((const char *const *) client->fetches_from, address);
}

/**
 * rthunk_client_get_load:
 * @client: a connected client
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

/**
 * rthunk_client_ping:
 * @client: a client
 * @error: return location for a #GError
 *
 * Asks the server for its info again (reconnecting if needed): its name,
 * capabilities and load.
 *
 * Returns: %TRUE if the server answered
 *
 * Since: 0.1
 */
gboolean
rthunk_client_ping (RthunkClient  *client,
                    GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);

  g_mutex_lock (&client->lock);
  ok = ensure_connected_locked (client, error) && fetch_info_locked (client, error);
  if (ok && client->catalog == NULL)
    ok = fetch_catalog_locked (client, error);
  g_mutex_unlock (&client->lock);
  return ok;
}

/**
 * rthunk_client_get_catalog:
 * @client: a connected client
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

/* ---- thunks ------------------------------------------------------------ */

#define REMOTE_HANDLE_MAGIC 0x72746872u

/* What a pending value of this client stands for: a thunk on its server. */
typedef struct
{
  guint32 magic;
  RthunkClient *client;
  GByteArray *id;
  RthunkType *type;             /* what the client's check found */
} RemoteHandle;

static void
remote_handle_free (gpointer data)
{
  RemoteHandle *handle = data;

  g_object_unref (handle->client);
  g_byte_array_unref (handle->id);
  g_clear_pointer (&handle->type, rthunk_type_unref);
  g_free (handle);
}

/* The thunk on some client's server that @value stands for, if it is one. */
static RemoteHandle *
remote_handle (RthunkValue *value)
{
  RemoteHandle *handle;

  /* pending values and remote references alike */
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_PENDING)
    return NULL;
  handle = rthunk_value_get_handle (value);
  return handle != NULL && handle->magic == REMOTE_HANDLE_MAGIC ? handle : NULL;
}

/* The thunk on @self's server that @value stands for, if it is one. */
static RemoteHandle *
own_remote_handle (RthunkClient *self,
                   RthunkValue  *value)
{
  RemoteHandle *handle = remote_handle (value);

  return handle != NULL && handle->client == self ? handle : NULL;
}

/* The thunk on another server that @value stands for, when @self's server
 * fetches from that one and its type is known. */
static RemoteHandle *
fetchable_remote_handle (RthunkClient *self,
                         RthunkValue  *value)
{
  RemoteHandle *handle = remote_handle (value);

  return handle != NULL && handle->client != self && handle->type != NULL &&
         rthunk_address_allowed ((const char *const *) self->fetches_from, handle->client->address)
    ? handle : NULL;
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
  if (info != NULL && info->message != NULL && g_utf8_validate (info->message, -1, NULL))
    g_set_error_literal (error, RTHUNK_ERROR, info->code > 0 ? info->code : RTHUNK_ERROR_EVAL_FAILED,
                         info->message);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("the server reported a failure without a message"));
  return NULL;
}

static gboolean
await_once_locked (RthunkClient  *self,
                   GByteArray    *id,
                   RthunkValue  **result,
                   GError       **error)
{
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;

  rthunk_wire_set_bytes (&thunk->id, id->data, id->len);
  g_ptr_array_add (thunks, thunk);
  if (!ensure_connected_locked (self, error))
    return FALSE;
  if (!rthunk_wire_remote_execution_service_if_thunk_await (self->stub, &done, thunks, AWAIT_SLICE_MS,
                                                            auth, &invalid, &denied, &call_error))
    return call_failed (self, call_error, invalid != NULL ? (GObject *) invalid : (GObject *) denied,
                        error);
  for (guint k = 0; k < done->len; k++)
    {
      RthunkWireVarCont *cont = g_ptr_array_index (done, k);

      if (cont->id != NULL && cont->id->len == id->len && memcmp (cont->id->data, id->data, id->len) == 0)
        {
          *result = finished_value (cont->state, cont->__isset_value ? cont->value : NULL,
                                    cont->__isset_error ? cont->error : NULL, error);
          return *result != NULL;
        }
    }
  *result = NULL;
  return TRUE;
}

static RthunkValue *
force_remote (gpointer   data,
              GError   **error)
{
  RemoteHandle *handle = data;
  RthunkClient *self = handle->client;
  RthunkValue *result = NULL;

  g_mutex_lock (&self->lock);
  while (await_once_locked (self, handle->id, &result, error) && result == NULL)
    ;
  g_mutex_unlock (&self->lock);
  return result;
}

/* A pending value (or, @reference, a remote reference) for thunk @id. */
static RthunkValue *
new_pending (RthunkClient *self,
             GByteArray   *id,
             RthunkType   *type,
             gboolean      reference)
{
  RemoteHandle *handle = g_new0 (RemoteHandle, 1);
  g_autofree char *hex = rthunk_wire_id_to_hex (id);
  g_autofree char *label = g_strdup_printf ("#%.4s @%s", hex, self->server_name);

  handle->magic = REMOTE_HANDLE_MAGIC;
  handle->client = g_object_ref (self);
  handle->id = g_byte_array_ref (id);
  handle->type = type != NULL ? rthunk_type_ref (type) : NULL;
  return (reference ? rthunk_value_new_reference : rthunk_value_new_pending) (label, handle, force_remote,
                                                                            remote_handle_free);
}

static void
add_binding (RthunkWireEvalRequest *request,
             const char            *name,
             RthunkValue           *value,
             GError               **error)
{
  RthunkWireBinding *binding;

  if (*error != NULL)
    return;
  binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", name, NULL);
  if (rthunk_wire_fill_value (binding->value, value, error))
    {
      g_ptr_array_add (request->bindings, binding);
      request->__isset_bindings = TRUE;
    }
  else
    g_object_unref (binding);
}

/* An input that is still being computed on this server travels as a
 * reference to its thunk (promise pipelining): nothing waits for it. */
static void
add_thunk_binding (RthunkWireEvalRequest *request,
                   const char            *name,
                   RemoteHandle          *handle,
                   gboolean               foreign)
{
  RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", name, NULL);
  RthunkWireValueNode *node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE,
                                            "kind", RTHUNK_WIRE_VALUE_KIND_THUNK, NULL);

  rthunk_wire_set_bytes (&node->thunkId, handle->id->data, handle->id->len);
  node->__isset_thunkId = TRUE;
  /* another server holds it: name that one, and say what type it has */
  if (foreign)
    {
      g_object_set (node, "holder", handle->client->address, NULL);
      rthunk_wire_fill_type (binding->type, handle->type);
      binding->__isset_type = TRUE;
    }
  g_ptr_array_add (binding->value->nodes, node);
  g_ptr_array_add (request->bindings, binding);
  request->__isset_bindings = TRUE;
}

/* ---- content-addressed definitions -------------------------------------- */

/* Hashes the user definitions an expression needs, by name, recursively. */
typedef struct
{
  GHashTable *forms;            /* name → defn form (the caller's) */
  GHashTable *hashes;           /* name → GBytes */
  GHashTable *visiting;         /* names being hashed: mutual recursion */
  GError *error;
} DefHasher;

static gboolean hash_named (DefHasher *h, const char *name);

static gboolean
resolve_definition (const char *name,
                    guint8      hash[RTHUNK_HASH_LEN],
                    gpointer    user_data)
{
  DefHasher *h = user_data;
  GBytes *known;

  if (h->forms == NULL || !g_hash_table_contains (h->forms, name) || !hash_named (h, name))
    return FALSE;
  known = g_hash_table_lookup (h->hashes, name);
  memcpy (hash, g_bytes_get_data (known, NULL), RTHUNK_HASH_LEN);
  return TRUE;
}

static gboolean
hash_named (DefHasher  *h,
            const char *name)
{
  guint8 hash[RTHUNK_HASH_LEN];
  gboolean ok;

  if (g_hash_table_contains (h->hashes, name))
    return TRUE;
  if (h->error != NULL)
    return FALSE;
  if (g_hash_table_contains (h->visiting, name))
    {
      g_set_error (&h->error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("“%s” is part of a mutual recursion: such definitions cannot be sent to a server"),
                   name);
      return FALSE;
    }
  g_hash_table_add (h->visiting, (gpointer) name);
  ok = rthunk_hash_definition (g_hash_table_lookup (h->forms, name), resolve_definition, h, hash,
                               h->error == NULL ? &h->error : NULL);
  g_hash_table_remove (h->visiting, name);
  if (!ok || h->error != NULL)
    return FALSE;
  g_hash_table_insert (h->hashes, g_strdup (name), g_bytes_new (hash, RTHUNK_HASH_LEN));
  return TRUE;
}

/* The names of every definition @expr uses, transitively, each once, in an
 * order where a definition comes after those it uses. */
static GPtrArray *
definition_closure (DefHasher   *h,
                    RthunkNode  *expr,
                    GError     **error)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) direct = rthunk_hash_collect_references (expr, resolve_definition, h);
  g_autoptr(GQueue) todo = g_queue_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint k = 0; k < direct->len; k++)
    g_queue_push_tail (todo, g_ptr_array_index (direct, k));
  while (h->error == NULL && !g_queue_is_empty (todo))
    {
      const char *name = g_queue_pop_head (todo);
      g_autoptr(GPtrArray) uses = NULL;

      if (g_hash_table_contains (seen, name))
        continue;
      g_hash_table_add (seen, (gpointer) g_intern_string (name));
      uses = rthunk_hash_collect_references (g_hash_table_lookup (h->forms, name), resolve_definition, h);
      for (guint k = 0; k < uses->len; k++)
        g_queue_push_tail (todo, (gpointer) g_intern_string (g_ptr_array_index (uses, k)));
      g_ptr_array_insert (order, 0, g_strdup (name));
    }
  if (h->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&h->error));
      return NULL;
    }
  return g_steal_pointer (&order);
}

static RthunkWireDefRef *
def_ref (DefHasher  *h,
         const char *name)
{
  GBytes *hash = g_hash_table_lookup (h->hashes, name);
  RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", name, NULL);

  rthunk_wire_set_bytes (&ref->hash, g_bytes_get_data (hash, NULL), RTHUNK_HASH_LEN);
  return ref;
}

/* The Definition message for @name: its form and the names it uses. */
static RthunkWireDefinition *
wire_definition (DefHasher  *h,
                 const char *name)
{
  RthunkNode *form = g_hash_table_lookup (h->forms, name);
  RthunkWireDefinition *def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
  g_autoptr(GPtrArray) uses = rthunk_hash_collect_references (form, resolve_definition, h);
  GBytes *hash = g_hash_table_lookup (h->hashes, name);

  rthunk_wire_set_bytes (&def->hash, g_bytes_get_data (hash, NULL), RTHUNK_HASH_LEN);
  rthunk_wire_fill_ast (def->form, form, NULL);
  for (guint k = 0; k < uses->len; k++)
    g_ptr_array_add (def->uses, def_ref (h, g_ptr_array_index (uses, k)));
  return def;
}

/* Sends the definitions the server said it lacks (with those of the
 * closure that come before them, in order). */
static gboolean
put_missing_locked (RthunkClient                 *self,
                    DefHasher                    *h,
                    GPtrArray                    *closure,
                    RthunkWireMissingDefinitions *missing,
                    GError                      **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  gint32 added = 0;

  for (guint k = 0; k < closure->len; k++)
    {
      const char *name = g_ptr_array_index (closure, k);
      GBytes *hash = g_hash_table_lookup (h->hashes, name);

      for (guint m = 0; m < missing->hashes->len; m++)
        {
          GByteArray *wanted = g_ptr_array_index (missing->hashes, m);

          if (wanted != NULL && wanted->len == RTHUNK_HASH_LEN &&
              memcmp (wanted->data, g_bytes_get_data (hash, NULL), RTHUNK_HASH_LEN) == 0)
            {
              g_ptr_array_add (defs, wire_definition (h, name));
              break;
            }
        }
    }
  if (defs->len == 0)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                        _("server %s asked for definitions this client never named"),
                        self->address), FALSE;
  if (!rthunk_wire_remote_execution_service_if_put_definitions (self->stub, &added, defs, auth,
                                                                &invalid, &denied, &call_error))
    return call_failed (self, call_error, invalid != NULL ? (GObject *) invalid : (GObject *) denied,
                        error);
  self->definitions_sent += defs->len;
  return TRUE;
}

/* Checks @expr against the server's catalog, with @inputs bound, and
 * builds the request with the type of every node. */
/* Checks @expr against the server's catalog, with @inputs bound, and
 * builds the request with the type of every node. */
static RthunkWireEvalRequest *
build_request (RthunkClient  *self,
               RthunkNode    *expr,
               GHashTable    *inputs,
               DefHasher     *h,
               GPtrArray     *closure,
               gboolean       by_reference,
               RthunkType   **out_type,
               GError       **error)
{
  g_autoptr(RthunkWireEvalRequest) request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);

  if (by_reference)
    {
      g_object_set (request->options, "byReference", TRUE, NULL);
      request->__isset_options = TRUE;
    }
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (self->catalog);
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(RthunkType) type = NULL;
  GHashTableIter iter;
  gpointer name, value;
  guint next_var = 0;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  if (inputs != NULL)
    {
      g_hash_table_iter_init (&iter, inputs);
      while (g_hash_table_iter_next (&iter, &name, &value))
        {
          RemoteHandle *handle = own_remote_handle (self, value);
          RemoteHandle *foreign = handle == NULL ? fetchable_remote_handle (self, value) : NULL;
          g_autoptr(RthunkValue) forced = NULL;
          g_autoptr(RthunkType) input_type = NULL;

          if ((handle != NULL && handle->type != NULL) || foreign != NULL)
            {
              handle = handle != NULL ? handle : foreign;
              rthunk_checker_bind (checker, name, handle->type);
              add_thunk_binding (request, name, handle, foreign != NULL);
              continue;
            }
          forced = rthunk_value_force (value, error);
          if (forced == NULL || (input_type = rthunk_type_of_value (forced, &next_var, error)) == NULL)
            return NULL;
          rthunk_checker_bind (checker, name, input_type);
          add_binding (request, name, forced, error);
          if (*error != NULL)
            return NULL;
        }
    }
  for (guint k = 0; k < closure->len; k++)
    {
      const char *def_name = g_ptr_array_index (closure, k);
      g_autoptr(RthunkType) def_type = NULL;

      /* the type a definition has on the server: checked by a checker that
       * knows the definitions it uses */
      if ((def_type = rthunk_checker_check (checker, g_hash_table_lookup (h->forms, def_name), error)) == NULL)
        return NULL;
      g_ptr_array_add (request->definitions, def_ref (h, def_name));
      request->__isset_definitions = TRUE;
    }
  if ((type = rthunk_checker_check_typed (checker, expr, &node_types, error)) == NULL)
    return NULL;
  rthunk_wire_fill_ast (request->ast, expr, node_types);
  if (out_type != NULL)
    *out_type = g_steal_pointer (&type);
  return g_steal_pointer (&request);
}

/* One submitEvalRequest; FALSE with @missing set when the server lacks
 * definitions. */
static gboolean
submit_locked (RthunkClient                  *self,
               RthunkWireEvalRequest         *request,
               RthunkWireRemoteThunk        **thunk,
               RthunkWireMissingDefinitions **missing,
               GError                       **error)
{
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireTypeFailure *type_failure = NULL;
  RthunkWireOverloaded *overloaded = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  GObject *exception;

  if (!ensure_connected_locked (self, error))
    return FALSE;
  if (rthunk_wire_remote_execution_service_if_submit_eval_request (self->stub, thunk, request, auth,
                                                                   &invalid, &type_failure, missing,
                                                                   &overloaded, &denied, &call_error))
    return TRUE;
  if (*missing != NULL)
    return FALSE;
  exception = invalid != NULL ? (GObject *) invalid : type_failure != NULL ? (GObject *) type_failure
            : overloaded != NULL ? (GObject *) overloaded : (GObject *) denied;
  return call_failed (self, call_error, exception, error);
}

static RthunkValue *submit_expression (RthunkClient *client, RthunkNode *expr, GHashTable *inputs,
                                       GHashTable *definitions, gboolean by_reference, GError **error);

/**
 * rthunk_client_submit:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @error: return location for a #GError
 *
 * Same as rthunk_client_submit_full() with no definitions.
 *
 * Returns: (transfer full) (nullable): the value, possibly pending, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit (RthunkClient  *client,
                      RthunkNode    *expr,
                      GHashTable    *inputs,
                      GError       **error)
{
  return rthunk_client_submit_full (client, expr, inputs, NULL, error);
}

/**
 * rthunk_client_submit_full:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @definitions: (nullable) (element-type utf8 RthunkNode): the `defn` forms
 *   of the user functions @expr may call, by name
 * @error: return location for a #GError
 *
 * Type-checks @expr against the server's catalog, submits the typed AST and
 * returns at once: with the value when the server finished within its
 * inline budget, else with a pending value that forcing (or
 * rthunk_value_force()) waits for. The user functions @expr calls travel by
 * content address: the request names their hashes, and when the server
 * answers that it lacks some, they are sent with putDefinitions and the
 * request is made again.
 *
 * Returns: (transfer full) (nullable): the value, possibly pending, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit_full (RthunkClient  *client,
                           RthunkNode    *expr,
                           GHashTable    *inputs,
                           GHashTable    *definitions,
                           GError       **error)
{
  return submit_expression (client, expr, inputs, definitions, FALSE, error);
}

/**
 * rthunk_client_submit_reference:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @definitions: (nullable) (element-type utf8 RthunkNode): the `defn` forms
 *   of the user functions @expr may call, by name
 * @error: return location for a #GError
 *
 * Like rthunk_client_submit_full(), but the result stays on the server
 * (`(remote :ref …)`): what comes back is a remote reference (see
 * rthunk_value_new_reference()), even when the server finished at once.
 * Sent to the same server in another expression it travels as a reference
 * to the thunk, and the value is used in place; rthunk_value_force()
 * fetches it.
 *
 * Returns: (transfer full) (nullable): a remote reference, or %NULL with
 *   @error set (also when the evaluation failed before the answer)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit_reference (RthunkClient  *client,
                                RthunkNode    *expr,
                                GHashTable    *inputs,
                                GHashTable    *definitions,
                                GError       **error)
{
  return submit_expression (client, expr, inputs, definitions, TRUE, error);
}

static RthunkValue *
submit_expression (RthunkClient  *client,
                   RthunkNode    *expr,
                   GHashTable    *inputs,
                   GHashTable    *definitions,
                   gboolean       by_reference,
                   GError       **error)
{
  g_autoptr(RthunkWireEvalRequest) request = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(GPtrArray) closure = NULL;
  g_autoptr(GHashTable) hashes = NULL;
  g_autoptr(GHashTable) visiting = NULL;
  g_autoptr(RthunkType) type = NULL;
  DefHasher h = { definitions, NULL, NULL, NULL };
  gboolean ok = FALSE;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  if (client->catalog == NULL && !rthunk_client_connect (client, error))
    return NULL;
  h.hashes = hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  h.visiting = visiting = g_hash_table_new (g_str_hash, g_str_equal);
  if ((closure = definition_closure (&h, expr, error)) == NULL ||
      (request = build_request (client, expr, inputs, &h, closure, by_reference, &type, error)) == NULL)
    return NULL;
  g_mutex_lock (&client->lock);
  for (guint attempt = 0; attempt < 4 && !ok; attempt++)
    {
      RthunkWireMissingDefinitions *missing = NULL;

      g_clear_object (&thunk);
      thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
      ok = submit_locked (client, request, &thunk, &missing, error);
      if (!ok && missing == NULL)
        break;
      if (!ok && !put_missing_locked (client, &h, closure, missing, error))
        {
          g_object_unref (missing);
          break;
        }
      g_clear_object (&missing);
    }
  g_mutex_unlock (&client->lock);
  if (!ok)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
                     _("server %s kept asking for definitions"), client->address);
      return NULL;
    }
  if (thunk->id == NULL || thunk->id->len == 0 || thunk->id->len > 64)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("server %s sent a malformed thunk id"),
                   client->address);
      return NULL;
    }
  if (thunk->__isset_state && thunk->state >= RTHUNK_WIRE_THUNK_STATE_DONE &&
      (!by_reference || thunk->state > RTHUNK_WIRE_THUNK_STATE_DONE))
    return finished_value (thunk->state, thunk->__isset_value ? thunk->value : NULL,
                           thunk->__isset_error ? thunk->error : NULL, error);
  return new_pending (client, thunk->id, type, by_reference);
}

/**
 * rthunk_client_get_definitions_sent:
 * @client: a client
 *
 * Returns: how many definitions this client has sent with putDefinitions
 *
 * Since: 0.1
 */
guint
rthunk_client_get_definitions_sent (RthunkClient *client)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  return client->definitions_sent;
}

/**
 * rthunk_client_set_token:
 * @client: a client
 * @token: (nullable): the token every call carries, or %NULL
 *
 * Since: 0.1
 */
void
rthunk_client_set_token (RthunkClient *client,
                         const char   *token)
{
  g_return_if_fail (RTHUNK_IS_CLIENT (client));

  g_free (client->token);
  client->token = g_strdup (token);
}

/* ---- many thunks at once: what RthunkThunk's collector uses ------------- */

#include "rthunk-value-private.h"

static RthunkWireRemoteThunk *
wire_thunk_for_id (GBytes *id)
{
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (id, &len);

  rthunk_wire_set_bytes (&thunk->id, data, len);
  return thunk;
}

/* Reports one finished thunk of a thunkAwait answer to @func. */
static void
report_var_cont (RthunkWireVarCont     *cont,
                 RthunkClientAwaitFunc  func,
                 gpointer               user_data)
{
  g_autoptr(GBytes) id = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;

  if (cont->id == NULL || cont->id->len == 0)
    return;
  id = g_bytes_new (cont->id->data, cont->id->len);
  if (cont->state == RTHUNK_WIRE_THUNK_STATE_CANCELLED)
    g_set_error_literal (&error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the thunk was cancelled"));
  else
    value = finished_value (cont->state, cont->__isset_value ? cont->value : NULL,
                            cont->__isset_error ? cont->error : NULL, &error);
  func (id, value, error, user_data);
}

/**
 * rthunk_client_await_many:
 * @client: a client
 * @ids: (element-type GBytes): ids of thunks this client's server issued,
 *   at most 4096
 * @timeout_ms: how long the server may wait for one of them to finish
 * @func: (scope call) (closure user_data): called for each thunk that
 *   finished, after the call returned
 * @user_data: data for @func
 * @error: return location for a #GError
 *
 * One long poll (`thunkAwait`): returns as soon as at least one of the
 * thunks has finished, or after @timeout_ms, and reports every finished
 * one to @func. A thunk that is still running is not reported.
 *
 * Returns: %TRUE, or %FALSE with @error set (e.g. %RTHUNK_ERROR_CONNECTION,
 *   or the server's code when it does not know one of the ids)
 *
 * Since: 0.1
 */
gboolean
rthunk_client_await_many (RthunkClient           *client,
                          GPtrArray              *ids,
                          guint                   timeout_ms,
                          RthunkClientAwaitFunc   func,
                          gpointer                user_data,
                          GError                **error)
{
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkWireAuth) auth = NULL;
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  gboolean ok;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (ids != NULL && ids->len > 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  for (guint k = 0; k < ids->len; k++)
    g_ptr_array_add (thunks, wire_thunk_for_id (g_ptr_array_index (ids, k)));
  g_mutex_lock (&client->lock);
  auth = new_auth (client);
  ok = ensure_connected_locked (client, error);
  if (ok && !rthunk_wire_remote_execution_service_if_thunk_await (client->stub, &done, thunks,
                                                                  (gint32) MIN (timeout_ms, G_MAXINT32),
                                                                  auth, &invalid, &denied, &call_error))
    ok = call_failed (client, call_error,
                      invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
  g_mutex_unlock (&client->lock);
  if (!ok)
    return FALSE;
  for (guint k = 0; k < done->len; k++)
    report_var_cont (g_ptr_array_index (done, k), func, user_data);
  return TRUE;
}

/**
 * rthunk_client_cancel_thunk:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @error: return location for a #GError
 *
 * Asks the server to cancel the thunk (`thunkCancel`).
 *
 * Returns: %TRUE when the server took the request, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_client_cancel_thunk (RthunkClient  *client,
                            GBytes        *id,
                            GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireAuth) auth = NULL;
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  gboolean unfinished = FALSE;
  gboolean ok;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  thunk = wire_thunk_for_id (id);
  g_mutex_lock (&client->lock);
  auth = new_auth (client);
  ok = ensure_connected_locked (client, error);
  if (ok && !rthunk_wire_remote_execution_service_if_thunk_cancel (client->stub, &unfinished, thunk, auth,
                                                                   &invalid, &denied, &call_error))
    ok = call_failed (client, call_error,
                      invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
  g_mutex_unlock (&client->lock);
  return ok;
}

/**
 * rthunk_client_get_pending_thunk:
 * @value: a value
 * @id: (out) (optional) (transfer full): the thunk's id
 *
 * Tells whether @value is a pending value that rthunk_client_submit()
 * returned, and for which thunk of which client.
 *
 * Returns: (transfer none) (nullable): the client that submitted it, or
 *   %NULL when @value is not such a pending value
 *
 * Since: 0.1
 */
RthunkClient *
rthunk_client_get_pending_thunk (RthunkValue  *value,
                                 GBytes      **id)
{
  RemoteHandle *handle;

  g_return_val_if_fail (value != NULL, NULL);

  if (!rthunk_value_peek_pending (value) || value->u.handle.force != force_remote)
    return NULL;
  handle = value->u.handle.data;
  if (id != NULL)
    *id = g_bytes_new (handle->id->data, handle->id->len);
  return handle->client;
}
