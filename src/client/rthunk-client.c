/* rthunk-client.c — a client of one server
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
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "rthunk-client.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-hash.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

#define CONNECT_TIMEOUT_MS 5000
#define CALL_TIMEOUT_MS 70000          /* above the longest thunkAwait */
#define AWAIT_SLICE_MS 1000
#define DEFAULT_ADDRESS "localhost:9090"

struct _RthunkClient
{
  GObject parent_instance;

  char *address;
  char *host;
  char *port;
  RthunkPool *pool;
  guint max_connections;        /* until the pool exists */

  GMutex lock;                  /* the fields below */
  char *server_name;
  char **capabilities;
  char **fetches_from;          /* servers it fetches inputs from (patterns) */
  guint load;
  char *token;
  RthunkCatalog *catalog;
  guint definitions_sent;

  GHashTable *checked;          /* (lock) memo of build_request: key → Checked */
  RthunkNode *shape_expr;       /* (lock) the last tree a key was made for, */
  char *shape_key;              /* (lock) and the key's part its tree gives */
  struct _Prepared *prepared;   /* (lock) the last request of thunk inputs */

  GMutex outbox_lock;           /* the queued submissions: */
  GPtrArray *outbox;            /* Queued *, in the order they were made, */
  GByteArray *outbox_bytes;     /* their EvalRequest structs, one after another */
  gboolean in_flight_any;       /* (outbox_lock) whether frames are in flight */
  GMutex flush_lock;            /* one sender at a time, so frames keep that order; */
  gboolean sending_open;        /* (flush_lock) whether sending holds a connection: */
  RthunkCall sending;           /* (flush_lock) the connection of the frames in flight, */
  GQueue in_flight;             /* (flush_lock) their batches, oldest first: replies unread */
  GError *refused;              /* (flush_lock) the first frame that failed since the last flush */
};

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_MAX_CONNECTIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (RthunkClient, rthunk_client, G_TYPE_OBJECT)

static void checked_free (gpointer data);
static void prepared_free (struct _Prepared *prepared);
static gboolean begin_call (RthunkClient *self, RthunkCall *call, GCancellable *cancellable, GError **error);
static void send_queued (RthunkClient *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireFuncDef, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireMissingDefinitions, g_object_unref)

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
                                CONNECT_TIMEOUT_MS, CALL_TIMEOUT_MS);
  rthunk_pool_set_max (self->pool, self->max_connections);
}

static void
rthunk_client_finalize (GObject *object)
{
  RthunkClient *self = RTHUNK_CLIENT (object);

  /* a queued submission holds its client: none is left here, nor in flight */
  g_ptr_array_unref (self->outbox);
  g_byte_array_unref (self->outbox_bytes);
  g_clear_error (&self->refused);
  g_hash_table_unref (self->checked);
  g_clear_pointer (&self->shape_expr, rthunk_node_unref);
  g_free (self->shape_key);
  g_clear_pointer (&self->prepared, prepared_free);
  g_mutex_clear (&self->outbox_lock);
  g_mutex_clear (&self->flush_lock);
  g_clear_pointer (&self->pool, rthunk_pool_free);
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
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rthunk_client_init (RthunkClient *self)
{
  g_mutex_init (&self->lock);
  self->checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, checked_free);
  g_mutex_init (&self->outbox_lock);
  g_mutex_init (&self->flush_lock);
  self->outbox = g_ptr_array_new ();
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

/**
 * rthunk_client_get_max_connections:
 * @client: a client
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

/* ---- the connection ---------------------------------------------------- */

/* What every call carries: the token, when there is one. */
static RthunkWireAuth *
new_auth (RthunkClient *self)
{
  RthunkWireAuth *auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);

  g_mutex_lock (&self->lock);
  if (self->token != NULL)
    g_object_set (auth, "token", self->token, NULL);
  g_mutex_unlock (&self->lock);
  return auth;
}

/* The catalog, or NULL before the first connect. */
static RthunkCatalog *
dup_catalog (RthunkClient *self)
{
  RthunkCatalog *catalog;

  g_mutex_lock (&self->lock);
  catalog = self->catalog != NULL ? g_object_ref (self->catalog) : NULL;
  g_mutex_unlock (&self->lock);
  return catalog;
}

/* A transport failure: the connection cannot be trusted any more. */
static void
set_transport_error (RthunkClient  *self,
                     GError        *transport_error,
                     GError       **error)
{
  if (g_error_matches (transport_error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT))
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                 _("server %s did not answer within %d s"), self->address, CALL_TIMEOUT_MS / 1000);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST,
                 _("lost the connection to server %s in the middle of a call: %s"), self->address,
                 transport_error != NULL ? transport_error->message : _("unknown error"));
}

/* Turns what a call left behind into one GError: an IDL exception keeps its
 * code; a transport failure marks the connection broken. */
static gboolean
call_failed (RthunkClient  *self,
             RthunkConn    *conn,
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
  conn->broken = TRUE;
  set_transport_error (self, transport_error, error);
  g_clear_error (&transport_error);
  return FALSE;
}

/* ---- the hot calls, as bytes ------------------------------------------- */

/* submitEvalRequest, submitBatch and thunkAwait do not go through the
 * generated structs, whose GObjects cost more than the rest of a call: the
 * call message is written with rthunk-codec, sent as one frame, and the
 * reply's RemoteThunks or VarConts are read straight into ThunkReports.
 * A reply the codec does not expect (an exception, an EXCEPTION message,
 * anything odd) is handed to the generated recv function, which answers
 * exactly as the generated client always did. */

/* A call message to @method, up to its arguments, with room for @size
 * bytes in all. */
static GByteArray *
message_begin_sized (const char *method,
                     gsize       size)
{
  GByteArray *out = g_byte_array_sized_new ((guint) MIN (size, G_MAXUINT));

  rthunk_codec_put_message (out, method, RTHUNK_CODEC_CALL, 0);
  return out;
}

/* A call message to @method, up to its arguments. */
static GByteArray *
message_begin (const char *method)
{
  return message_begin_sized (method, 256);
}

/* Ends the arguments of a call message with the Auth, argument @field. */
static void
message_end (RthunkClient *self,
             GByteArray   *out,
             gint16        field)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, field);
  g_mutex_lock (&self->lock);
  if (self->token != NULL)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_string (out, self->token);
    }
  g_mutex_unlock (&self->lock);
  rthunk_codec_put_stop (out);          /* the Auth */
  rthunk_codec_put_stop (out);          /* the arguments */
}

/* Whether @message fits in a frame; if not, @transport_error says so. */
static gboolean
frame_fits (GByteArray  *message,
            GError     **transport_error)
{
  if (message->len <= RTHUNK_POOL_MAX_FRAME_BYTES)
    return TRUE;
  g_set_error (transport_error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
               _("message exceeds the frame limit of %zu bytes"), (gsize) RTHUNK_POOL_MAX_FRAME_BYTES);
  return FALSE;
}

/* Receives the reply's frame into the transport, where the generated code
 * would read it (validated then: the codec checks every read itself); a
 * failure breaks the connection, as call_failed() says. */
static GBytes *
receive_message (RthunkClient  *self,
                 RthunkConn    *conn,
                 GError       **error)
{
  GError *transport_error = NULL;

  if (rthunk_frame_transport_receive (conn->transport, &transport_error))
    return g_bytes_ref (rthunk_frame_transport_get_input (conn->transport));
  call_failed (self, conn, transport_error, NULL, error);
  return NULL;
}

/* Sends @message on @conn as one frame and receives the reply's frame. */
static GBytes *
exchange (RthunkClient  *self,
          RthunkConn    *conn,
          GByteArray    *message,
          GError       **error)
{
  GError *transport_error = NULL;

  if (frame_fits (message, &transport_error) &&
      rthunk_frame_write (conn->fd, message->data, message->len, &transport_error))
    return receive_message (self, conn, error);
  call_failed (self, conn, transport_error, NULL, error);
  return NULL;
}

/* ---- calls ------------------------------------------------------------- */

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
  if (g_strcmp0 (self->server_name, name) != 0)
    {
      g_free (self->server_name);
      self->server_name = g_strdup (name);
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
  g_mutex_unlock (&self->lock);
}

static GVariant *
strv_variant (const GPtrArray *list)
{
  g_auto(GStrv) strings = valid_strings (list);

  return g_variant_new_strv ((const char *const *) strings, -1);
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
  g_variant_builder_add (&counters, "{sx}", "definitions-stored", c->definitionsStored);
  g_variant_builder_add (&counters, "{sx}", "pipelined", c->pipelined);
  g_variant_builder_add (&counters, "{sx}", "fetched", c->fetched);
  g_variant_builder_add (&counters, "{sx}", "batches", c->batches);
  g_variant_builder_add (&counters, "{sx}", "memo-hits", c->memoHits);
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
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;

  if (!rthunk_wire_remote_execution_service_if_get_server_info (conn->stub, &info, auth,
                                                                &denied, &call_error))
    return call_failed (self, conn, call_error, (GObject *) denied, error);
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
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  g_autoptr(RthunkCatalog) catalog = rthunk_catalog_new ();
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;

  for (guint k = 0; wanted != NULL && wanted[k] != NULL; k++)
    g_ptr_array_add (names, g_strdup (wanted[k]));
  if (!rthunk_wire_remote_execution_service_if_get_func_defs (conn->stub, &defs, names, auth,
                                                              &invalid, &denied, &call_error))
    {
      call_failed (self, conn, call_error, invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
      return NULL;
    }
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
  return TRUE;
}

gboolean
rthunk_client_connect_run (RthunkClient  *self,
                           gboolean       catalog_if_missing,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(RthunkCatalog) had = dup_catalog (self);
  RthunkCall call;
  gboolean ok;

  if (!begin_call (self, &call, cancellable, error))
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
  GError *send_error;           /* queued: why sending it failed (outbox_lock) */
} RemoteHandle;

static void
remote_handle_free (gpointer data)
{
  RemoteHandle *handle = data;

  g_object_unref (handle->client);
  g_byte_array_unref (handle->id);
  g_clear_pointer (&handle->type, rthunk_type_unref);
  g_clear_error (&handle->send_error);
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
         rthunk_client_fetches_from (self, handle->client->address)
    ? handle : NULL;
}

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

/* A RemoteThunk or a VarCont as the client uses it, read from the reply's
 * bytes or from the struct the generated code read. */
typedef struct
{
  GByteArray *id;
  gint32 state;                 /* 0 when the server did not say */
  RthunkValue *value;           /* finished (DONE or later): its value… */
  GError *error;                /* …or its error */
} ThunkReport;

static void
thunk_report_free (ThunkReport *report)
{
  g_clear_pointer (&report->id, g_byte_array_unref);
  g_clear_pointer (&report->value, rthunk_value_unref);
  g_clear_error (&report->error);
  g_free (report);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThunkReport, thunk_report_free)

/* The value of a finished thunk, or its error. */
static RthunkValue *
report_outcome (const ThunkReport  *report,
                GError            **error)
{
  if (report->value != NULL)
    return rthunk_value_ref (report->value);
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
  ThunkReport *report = g_new0 (ThunkReport, 1);

  report->id = id != NULL ? g_byte_array_ref (id) : NULL;
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

static ThunkReport *
report_from_var_cont (gpointer data)
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
  GPtrArray *reports = g_ptr_array_new_full (structs->len, (GDestroyNotify) thunk_report_free);

  for (guint k = 0; k < structs->len; k++)
    g_ptr_array_add (reports, convert (g_ptr_array_index (structs, k)));
  return reports;
}

/* The fields of a RemoteThunk or a VarCont that a report reads, but the
 * id, field 1 of both. */
typedef struct
{
  gint16 state;
  gint16 value;
  gint16 error;
} ReportFields;

/* One field of a struct being read; FALSE for bytes the codec does not
 * expect. */
typedef gboolean (*FieldFunc) (RthunkCodecIn *in,
                               guint8         type,
                               gint16         id,
                               gpointer       data);

/* Reads the fields of a struct with @func, up to its STOP. */
static gboolean
read_struct (RthunkCodecIn *in,
             FieldFunc      func,
             gpointer       data)
{
  guint8 type;
  gint16 id;

  while (rthunk_codec_get_field (in, &type, &id))
    {
      if (type == RTHUNK_CODEC_STOP)
        return TRUE;
      if (!func (in, type, id, data))
        return FALSE;
    }
  return FALSE;
}

/* A RemoteThunk or VarCont being read. */
typedef struct
{
  const ReportFields *fields;
  ThunkReport *report;
  gint32 code;                  /* of its ErrorInfo */
  char *message;
} ReportReader;

/* A string, as Thrift reads it: up to a NUL. */
static gboolean
get_text (RthunkCodecIn  *in,
          char          **text)
{
  const guint8 *data;
  guint32 len;

  if (!rthunk_codec_get_binary (in, &data, &len))
    return FALSE;
  g_free (*text);
  *text = g_strndup ((const char *) data, len);
  return TRUE;
}

static gboolean
get_error_info_field (RthunkCodecIn *in,
                      guint8         type,
                      gint16         id,
                      gpointer       data)
{
  ReportReader *r = data;

  if (id == 1 && type == RTHUNK_CODEC_I32)
    return rthunk_codec_get_i32 (in, &r->code);
  if (id == 2 && type == RTHUNK_CODEC_STRING)
    return get_text (in, &r->message);
  return rthunk_codec_skip (in, type);
}

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
      g_clear_pointer (&r->report->id, g_byte_array_unref);
      r->report->id = g_byte_array_append (g_byte_array_sized_new (len), bytes, len);
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
    return read_struct (in, get_error_info_field, r);
  return rthunk_codec_skip (in, type);
}

/* A RemoteThunk or VarCont struct, or NULL for bytes the codec does not
 * expect. */
static ThunkReport *
get_report (RthunkCodecIn      *in,
            const ReportFields *fields)
{
  g_autoptr(ThunkReport) report = g_new0 (ThunkReport, 1);
  ReportReader r = { fields, report, 0, NULL };
  gboolean ok = read_struct (in, get_report_field, &r);
  g_autofree char *message = r.message;

  /* the id is required: without it the generated code fails the call */
  if (!ok || report->id == NULL)
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
  GPtrArray *reports = g_ptr_array_new_with_free_func ((GDestroyNotify) thunk_report_free);

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
  reports = g_ptr_array_new_full (MIN (n, 4096), (GDestroyNotify) thunk_report_free);
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

/* The hot calls. */
typedef enum
{
  CALL_SUBMIT_EVAL,
  CALL_SUBMIT_BATCH,
  CALL_THUNK_AWAIT
} HotCall;

/* What the reply of a hot call holds. */
typedef struct
{
  HotCall call;
  const char *method;
  guint8 result_type;           /* a RemoteThunk (STRUCT) or a list (LIST) */
  ReportFields fields;
  ThunkReport *(*convert) (gpointer);   /* from the generated struct */
} ReplyShape;

/* RemoteThunk: 1 id, 2 server, 3 state, 4 value, 5 error.
 * VarCont: 1 id, 2 state, 3 value, 4 type, 5 error, 6 elapsedUs. */
static const ReplyShape SUBMIT_EVAL = {
  CALL_SUBMIT_EVAL, "submitEvalRequest", RTHUNK_CODEC_STRUCT, { 3, 4, 5 }, report_from_remote_thunk
};
static const ReplyShape SUBMIT_BATCH = {
  CALL_SUBMIT_BATCH, "submitBatch", RTHUNK_CODEC_LIST, { 3, 4, 5 }, report_from_remote_thunk
};
static const ReplyShape THUNK_AWAIT = {
  CALL_THUNK_AWAIT, "thunkAwait", RTHUNK_CODEC_LIST, { 2, 3, 5 }, report_from_var_cont
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

/* An exception the generated code read, as call_failed() wants it. */
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
    call_failed (self, conn, call_error,
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
static GPtrArray *
call_for_reports (RthunkClient                  *self,
                  RthunkConn                    *conn,
                  GByteArray                    *message,
                  const ReplyShape              *shape,
                  RthunkWireMissingDefinitions **missing,
                  GError                       **error)
{
  return reports_of_reply (self, conn, exchange (self, conn, message, error), shape, missing, error);
}

/* Receives the next reply on @conn and reads its reports, as
 * call_for_reports() does after sending. */
static GPtrArray *
receive_reports (RthunkClient     *self,
                 RthunkConn       *conn,
                 const ReplyShape *shape,
                 GError          **error)
{
  return reports_of_reply (self, conn, receive_message (self, conn, error), shape, NULL, error);
}

/* A thunkAwait call for the thunks @ids (GBytes), which the server
 * answers within @timeout_ms. */
static GByteArray *
await_message (RthunkClient *self,
               GPtrArray    *ids,
               guint         timeout_ms)
{
  GByteArray *out = message_begin (THUNK_AWAIT.method);

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, ids->len);
  for (guint k = 0; k < ids->len; k++)
    {
      gsize len;
      const guint8 *id = g_bytes_get_data (g_ptr_array_index (ids, k), &len);

      /* a RemoteThunk of just its id */
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_binary (out, id, len);
      rthunk_codec_put_stop (out);
    }
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 2);
  rthunk_codec_put_i32 (out, (gint32) MIN (timeout_ms, G_MAXINT32));
  message_end (self, out, 3);
  return out;
}

/* One thunkAwait slice (@message) for thunk @id: *result stays NULL
 * while it runs. */
static gboolean
await_once (RthunkClient  *self,
            RthunkConn    *conn,
            GByteArray    *message,
            GByteArray    *id,
            RthunkValue  **result,
            GError       **error)
{
  g_autoptr(GPtrArray) done = call_for_reports (self, conn, message, &THUNK_AWAIT, NULL, error);

  *result = NULL;
  if (done == NULL)
    return FALSE;
  for (guint k = 0; k < done->len; k++)
    {
      ThunkReport *report = g_ptr_array_index (done, k);

      if (report->id != NULL && report->id->len == id->len && memcmp (report->id->data, id->data, id->len) == 0)
        return (*result = report_outcome (report, error)) != NULL;
    }
  return TRUE;
}

/* Forcing a pending value: one connection, awaited slice by slice. */
static RthunkValue *
force_remote (gpointer   data,
              GError   **error)
{
  RemoteHandle *handle = data;
  RthunkClient *self = handle->client;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GByteArray) message = NULL;
  RthunkValue *result = NULL;
  RthunkCall call;
  gboolean ok;

  /* a queued submission is sent first */
  rthunk_client_flush (self, NULL);
  g_mutex_lock (&self->outbox_lock);
  if (handle->send_error != NULL)
    g_propagate_error (error, g_error_copy (handle->send_error));
  g_mutex_unlock (&self->outbox_lock);
  if (error != NULL && *error != NULL)
    return NULL;
  g_ptr_array_add (ids, g_bytes_new (handle->id->data, handle->id->len));
  message = await_message (self, ids, AWAIT_SLICE_MS);
  if (!begin_call (self, &call, NULL, error))
    return NULL;
  while ((ok = await_once (self, call.conn, message, handle->id, &result, error)) && result == NULL)
    ;
  rthunk_call_end (&call, ok, error);
  return result;
}

/* How a thunk of this client's server prints: `#a1b2 @alpha`. */
char *
rthunk_client_thunk_label (RthunkClient     *self,
                           const GByteArray *id)
{
  static const char digits[] = "0123456789abcdef";
  const char *server = rthunk_client_get_server_name (self);
  gsize n = id != NULL ? MIN (id->len, 2) : 0, server_len = strlen (server);
  char *label = g_malloc (2 * n + server_len + 4), *p = label;

  /* "#%.4s @%s" of the id in hex, without printf: one per pending value */
  *p++ = '#';
  for (gsize k = 0; k < n; k++)
    {
      *p++ = digits[id->data[k] >> 4];
      *p++ = digits[id->data[k] & 0xf];
    }
  *p++ = ' ';
  *p++ = '@';
  memcpy (p, server, server_len + 1);
  return label;
}

/* A pending value (or, @reference, a remote reference) for thunk @id. */
static RthunkValue *
new_pending (RthunkClient *self,
             GByteArray   *id,
             RthunkType   *type,
             gboolean      reference)
{
  RemoteHandle *handle = g_new0 (RemoteHandle, 1);
  g_autofree char *label = rthunk_client_thunk_label (self, id);

  handle->magic = REMOTE_HANDLE_MAGIC;
  handle->client = g_object_ref (self);
  handle->id = g_byte_array_ref (id);
  handle->type = type != NULL ? rthunk_type_ref (type) : NULL;
  return (reference ? rthunk_value_new_reference : rthunk_value_new_pending) (label, handle, force_remote,
                                                                            remote_handle_free);
}

/* A Binding of @name to @value. */
static gboolean
put_binding (GByteArray   *out,
             const char   *name,
             RthunkValue  *value,
             GError      **error)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (out, name);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 2);
  if (!rthunk_codec_put_value (out, value, G_MAXSIZE, error))
    return FALSE;
  rthunk_codec_put_stop (out);
  return TRUE;
}

/* An input that is still being computed on this server travels as a
 * reference to its thunk (promise pipelining): nothing waits for it. The
 * Binding's value is one THUNK node. */
static guint
put_thunk_binding (GByteArray   *out,
                   const char   *name,
                   RemoteHandle *handle,
                   gboolean      foreign)
{
  guint at;

  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (out, name);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 2);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (out, RTHUNK_WIRE_VALUE_KIND_THUNK);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 7);
  at = out->len + 4;
  rthunk_codec_put_binary (out, handle->id->data, handle->id->len);
  /* another server holds it: name that one, and say what type it has */
  if (foreign)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 8);
      rthunk_codec_put_string (out, handle->client->address);
    }
  rthunk_codec_put_stop (out);          /* the ValueNode */
  rthunk_codec_put_stop (out);          /* the Value */
  if (foreign)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 3);
      rthunk_codec_put_type (out, handle->type);
    }
  rthunk_codec_put_stop (out);
  return at;                    /* where the thunk's id went */
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

/* A hasher of @forms (which may be NULL: no user function). Without
 * forms nothing is ever hashed, and nothing is allocated. */
static void
def_hasher_init (DefHasher  *h,
                 GHashTable *forms)
{
  gboolean some = forms != NULL && g_hash_table_size (forms) > 0;

  h->forms = some ? forms : NULL;
  h->hashes = some ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref)
                   : NULL;
  h->visiting = some ? g_hash_table_new (g_str_hash, g_str_equal) : NULL;
  h->error = NULL;
}

static void
def_hasher_clear (DefHasher *h)
{
  g_clear_pointer (&h->hashes, g_hash_table_unref);
  g_clear_pointer (&h->visiting, g_hash_table_unref);
  g_clear_error (&h->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DefHasher, def_hasher_clear)

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
  g_autoptr(GPtrArray) direct = NULL;
  g_autoptr(GQueue) todo = NULL;
  g_autoptr(GHashTable) seen = NULL;

  /* no definitions: nothing to look for */
  if (h->forms == NULL)
    return g_steal_pointer (&order);
  direct = rthunk_hash_collect_references (expr, resolve_definition, h);
  todo = g_queue_new ();
  seen = g_hash_table_new (g_str_hash, g_str_equal);
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
put_missing (RthunkClient                 *self,
             RthunkConn                   *conn,
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
  if (!rthunk_wire_remote_execution_service_if_put_definitions (conn->stub, &added, defs, auth,
                                                                &invalid, &denied, &call_error))
    return call_failed (self, conn, call_error,
                        invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
  g_mutex_lock (&self->lock);
  self->definitions_sent += defs->len;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* ---- the memo of checked expressions ------------------------------------------- */

static int
compare_strings (const char **a,
                 const char **b)
{
  return strcmp (*a, *b);
}

/* "NAME=TYPE" for the memo's key, TYPE as rthunk_type_append_key()
 * writes it (it has no '='). */
static char *
typed_name (const char *name,
            RthunkType *type)
{
  GString *key = g_string_sized_new (32);

  g_string_append (key, name);
  g_string_append_c (key, '=');
  rthunk_type_append_key (type, key);
  return g_string_free (key, FALSE);
}

/* A loop or a map submits expressions of one shape many times — the same
 * tree but for its literals' values and positions: (f 1), (f 2) … — with
 * inputs of the same types: their check and their typed Ast are then the
 * same but for those values, which the checker never reads. The memo keeps,
 * by shape and input types, the encoded Ast of the first (its template)
 * and where its literals' values and positions are (its slots): another
 * expression of that shape costs a copy and a walk that writes its own
 * values into the slots. */
#define MAX_CHECKED 512

typedef struct
{
  RthunkNode *expr;             /* the template's tree (held) */
  RthunkCatalog *catalog;       /* what it was checked against */
  GBytes *ast;                  /* its Ast struct */
  RthunkCodecSlot *slots;       /* its slots, in the order of the Ast's nodes */
  guint n_slots;
  RthunkType *type;
} Checked;

static void
checked_free (gpointer data)
{
  Checked *checked = data;

  rthunk_node_unref (checked->expr);
  g_object_unref (checked->catalog);
  g_bytes_unref (checked->ast);
  g_free (checked->slots);
  rthunk_type_unref (checked->type);
  g_free (checked);
}

static void
append_count (GString *key,
              gsize    n,
              char     end)
{
  char digits[24];
  guint k = sizeof digits;

  digits[--k] = end;
  do
    digits[--k] = (char) ('0' + n % 10);
  while ((n /= 10) > 0);
  g_string_append_len (key, digits + k, (gssize) (sizeof digits - k));
}

/* The shape of @node, in the order its Ast lists the nodes (children
 * first): kinds, texts and lengths, not literals' values nor positions. */
static void
append_shape (GString    *key,
              RthunkNode *node)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  const char *text;

  switch (kind)
    {
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        append_shape (key, rthunk_node_get_item (node, k));
      g_string_append_c (key, (char) ('a' + kind));
      append_count (key, rthunk_node_get_n_items (node), ',');
      break;
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      text = rthunk_node_get_text (node);
      g_string_append_c (key, (char) ('a' + kind));
      append_count (key, strlen (text), ':');
      g_string_append (key, text);
      break;
    default:
      g_string_append_c (key, (char) ('a' + kind));
      break;
    }
}

/* The memo's key: the expression's shape and source, and the types of its
 * inputs, by name. The part of the tree is kept for the last tree (a loop
 * submits one tree many times, with other inputs). */
static char *
checked_key (RthunkClient *self,
             RthunkNode   *expr,
             GPtrArray    *input_types)
{
  GString *key = g_string_sized_new (128);

  g_mutex_lock (&self->lock);
  if (self->shape_expr == expr)
    g_string_append (key, self->shape_key);
  g_mutex_unlock (&self->lock);
  if (key->len == 0)
    {
      const char *source = rthunk_node_get_source (expr);

      append_count (key, source != NULL ? strlen (source) : 0, ':');
      g_string_append (key, source != NULL ? source : "");
      append_shape (key, expr);
      g_mutex_lock (&self->lock);
      g_clear_pointer (&self->shape_expr, rthunk_node_unref);
      g_free (self->shape_key);
      self->shape_expr = rthunk_node_ref (expr);
      self->shape_key = g_strndup (key->str, key->len);
      g_mutex_unlock (&self->lock);
    }
  g_ptr_array_sort (input_types, (GCompareFunc) compare_strings);
  for (guint k = 0; k < input_types->len; k++)
    {
      g_string_append_c (key, '|');
      g_string_append (key, g_ptr_array_index (input_types, k));
    }
  return g_string_free (key, FALSE);
}

/* Writes @node's literals' values and positions into the slots of @ast
 * (a template's bytes), nodes in the Ast's order: *@index is the next
 * node's, *@s the next slot. */
static void
patch_slots (guint8                *ast,
             const RthunkCodecSlot *slots,
             guint                  n_slots,
             RthunkNode            *node,
             guint                 *index,
             guint                 *s)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  guint k;

  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    for (guint c = 0; c < rthunk_node_get_n_items (node); c++)
      patch_slots (ast, slots, n_slots, rthunk_node_get_item (node, c), index, s);
  k = (*index)++;
  for (; *s < n_slots && slots[*s].node == k; (*s)++)
    {
      guint8 *at = ast + slots[*s].offset;
      guint64 v64 = 0;
      guint32 v32 = 0;
      double f;

      switch (slots[*s].field)
        {
        case RTHUNK_CODEC_SLOT_INT:
          v64 = GUINT64_TO_BE ((guint64) rthunk_node_get_int (node));
          memcpy (at, &v64, 8);
          break;
        case RTHUNK_CODEC_SLOT_FLOAT:
          f = rthunk_node_get_float (node);
          memcpy (&v64, &f, 8);
          v64 = GUINT64_TO_BE (v64);
          memcpy (at, &v64, 8);
          break;
        case RTHUNK_CODEC_SLOT_BOOL:
          *at = rthunk_node_get_bool (node) ? 1 : 0;
          break;
        case RTHUNK_CODEC_SLOT_LINE:
        case RTHUNK_CODEC_SLOT_COL:
          v32 = GUINT32_TO_BE ((guint32) (slots[*s].field == RTHUNK_CODEC_SLOT_LINE ? rthunk_node_get_line (node)
                                                                : rthunk_node_get_col (node)));
          memcpy (at, &v32, 4);
          break;
        default:
          break;
        }
    }
}

/* The memo's typed Ast for @expr: the template's bytes, with @expr's
 * literals and positions if it is another tree of the same shape. */
static gboolean
checked_lookup (RthunkClient   *self,
                const char     *key,
                RthunkNode     *expr,
                RthunkCatalog  *catalog,
                GBytes        **ast,
                RthunkType    **type)
{
  Checked *checked;

  g_mutex_lock (&self->lock);
  checked = g_hash_table_lookup (self->checked, key);
  if (checked != NULL && checked->catalog == catalog)
    {
      if (checked->expr == expr)
        *ast = g_bytes_ref (checked->ast);
      else
        {
          gsize len;
          const guint8 *template = g_bytes_get_data (checked->ast, &len);
          guint8 *copy = g_memdup2 (template, len);
          guint index = 0, s = 0;

          patch_slots (copy, checked->slots, checked->n_slots, expr, &index, &s);
          *ast = g_bytes_new_take (copy, len);
        }
      *type = rthunk_type_ref (checked->type);
    }
  g_mutex_unlock (&self->lock);
  return *ast != NULL;
}

static void
checked_store (RthunkClient  *self,
               char          *key,
               RthunkNode    *expr,
               RthunkCatalog *catalog,
               GBytes        *ast,
               RthunkType    *type)
{
  Checked *checked;
  RthunkCodecSlot slots[128];
  RthunkCodecIn in;
  gsize len;
  const guint8 *data = g_bytes_get_data (ast, &len);
  guint n_slots;

  rthunk_codec_in_init (&in, data, len);
  /* its own bytes: they always walk; a tree of more slots is not kept */
  if (!rthunk_codec_ast_slots (&in, data, slots, G_N_ELEMENTS (slots), &n_slots) ||
      n_slots > G_N_ELEMENTS (slots))
    {
      g_free (key);
      return;
    }
  checked = g_new0 (Checked, 1);
  checked->expr = rthunk_node_ref (expr);
  checked->catalog = g_object_ref (catalog);
  checked->ast = g_bytes_ref (ast);
  checked->slots = g_memdup2 (slots, n_slots * sizeof slots[0]);
  checked->n_slots = n_slots;
  checked->type = rthunk_type_ref (type);
  g_mutex_lock (&self->lock);
  if (g_hash_table_size (self->checked) >= MAX_CHECKED)
    g_hash_table_remove_all (self->checked);
  g_hash_table_replace (self->checked, key, checked);
  g_mutex_unlock (&self->lock);
}

/* ---- requests ------------------------------------------------------------ */

/* An input as the checker sees it: its name and type. */
typedef struct
{
  const char *name;
  RthunkType *type;
} Bound;

static void
bound_clear (Bound *bound)
{
  rthunk_type_unref (bound->type);
}

static void
bound_add (GArray     *bound,
           const char *name,
           RthunkType *type)
{
  Bound b = { name, rthunk_type_ref (type) };

  g_array_append_val (bound, b);
}

/* An input that is a thunk of this client's server, in a prepared request:
 * its name, its type and where its id is. */
typedef struct
{
  char *name;
  RthunkType *type;
  guint at;
} PreparedInput;

static void
prepared_input_clear (gpointer data)
{
  PreparedInput *input = data;

  g_free (input->name);
  g_clear_pointer (&input->type, rthunk_type_unref);
}

/* The last request whose inputs were all thunks of this client's server
 * (a chain's link, a map's call of a pending value): another one of the
 * same tree, with thunks of the same types, is the same bytes but for
 * those thunks' ids — no check, no key, no memo lookup. */
typedef struct _Prepared
{
  RthunkNode *expr;
  RthunkCatalog *catalog;
  RthunkType *type;
  GByteArray *fields;           /* what build_request() wrote */
  GArray *inputs;               /* PreparedInput, their ids in fields */
} Prepared;

static void
prepared_free (Prepared *prepared)
{
  rthunk_node_unref (prepared->expr);
  g_object_unref (prepared->catalog);
  rthunk_type_unref (prepared->type);
  g_byte_array_unref (prepared->fields);
  g_array_unref (prepared->inputs);
  g_free (prepared);
}

/* Writes the prepared request's fields for @expr with @inputs to @out, if
 * it is one: the same tree and catalog, and inputs that are all thunks of
 * this server, of the same names and types. */
static gboolean
prepared_request (RthunkClient   *self,
                  RthunkCatalog  *catalog,
                  RthunkNode     *expr,
                  GHashTable     *inputs,
                  GByteArray     *out,
                  RthunkType    **type)
{
  Prepared *p;
  guint start = out->len;
  gboolean ok;

  g_mutex_lock (&self->lock);
  p = self->prepared;
  ok = p != NULL && p->expr == expr && p->catalog == catalog && inputs != NULL &&
       g_hash_table_size (inputs) == p->inputs->len;
  if (ok)
    g_byte_array_append (out, p->fields->data, p->fields->len);
  for (guint k = 0; ok && k < p->inputs->len; k++)
    {
      const PreparedInput *input = &g_array_index (p->inputs, PreparedInput, k);
      RthunkValue *value = g_hash_table_lookup (inputs, input->name);
      RemoteHandle *handle = value != NULL ? own_remote_handle (self, value) : NULL;

      ok = handle != NULL && handle->type == input->type && handle->id->len == RTHUNK_CLIENT_ID_LEN;
      if (ok)
        memcpy (out->data + start + input->at, handle->id->data, RTHUNK_CLIENT_ID_LEN);
    }
  if (ok)
    *type = rthunk_type_ref (p->type);
  else
    g_byte_array_set_size (out, start);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Keeps the request @fields (@len bytes) of @expr as the prepared one;
 * @inputs (PreparedInput, taken) says where its thunks' ids are. */
static void
prepare_request (RthunkClient  *self,
                 RthunkNode    *expr,
                 RthunkCatalog *catalog,
                 RthunkType    *type,
                 const guint8  *fields,
                 guint          len,
                 GArray        *inputs)
{
  Prepared *p = g_new0 (Prepared, 1);

  p->expr = rthunk_node_ref (expr);
  p->catalog = g_object_ref (catalog);
  p->type = rthunk_type_ref (type);
  p->fields = g_byte_array_sized_new (len);
  g_byte_array_append (p->fields, fields, len);
  p->inputs = inputs;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->prepared, prepared_free);
  self->prepared = p;
  g_mutex_unlock (&self->lock);
}

/* Writes the Binding of each input to @bindings, its type to @bound and
 * its "NAME=TYPE" to @input_types, one for each Binding; and, for each
 * thunk of this client's server, where its id went in @thunks
 * (PreparedInput). */
static gboolean
bind_inputs (RthunkClient   *self,
             GHashTable     *inputs,
             GByteArray     *bindings,
             GArray         *bound,
             GPtrArray      *input_types,
             GArray         *thunks,
             GError        **error)
{
  GHashTableIter iter;
  gpointer name, value;
  guint next_var = 0;

  if (inputs == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      RemoteHandle *handle = own_remote_handle (self, value);
      RemoteHandle *foreign = handle == NULL ? fetchable_remote_handle (self, value) : NULL;
      g_autoptr(RthunkValue) forced = NULL;
      g_autoptr(RthunkType) input_type = NULL;

      if ((handle != NULL && handle->type != NULL) || foreign != NULL)
        {
          PreparedInput thunk = { g_strdup (name), rthunk_type_ref (handle != NULL ? handle->type : foreign->type), 0 };

          thunk.at = put_thunk_binding (bindings, name, handle != NULL ? handle : foreign, foreign != NULL);
          bound_add (bound, name, thunk.type);
          g_ptr_array_add (input_types, typed_name (name, thunk.type));
          if (foreign == NULL && handle->id->len == RTHUNK_CLIENT_ID_LEN)
            g_array_append_val (thunks, thunk);
          else
            prepared_input_clear (&thunk);
          continue;
        }
      forced = rthunk_value_force (value, error);
      if (forced == NULL || (input_type = rthunk_type_of_value (forced, &next_var, error)) == NULL)
        return FALSE;
      bound_add (bound, name, input_type);
      if (!put_binding (bindings, name, forced, error))
        return FALSE;
      g_ptr_array_add (input_types, typed_name (name, input_type));
    }
  return TRUE;
}

/* Checks, with the inputs @bound, the definitions of @closure, then
 * @expr: its type, and its Ast with the type of every node. */
static GBytes *
check_expression (RthunkCatalog  *catalog,
                  GArray         *bound,
                  DefHasher      *h,
                  GPtrArray      *closure,
                  RthunkNode     *expr,
                  RthunkType    **type,
                  GError        **error)
{
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GHashTable) node_types = NULL;
  GByteArray *ast;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  for (guint k = 0; k < bound->len; k++)
    {
      Bound *b = &g_array_index (bound, Bound, k);

      rthunk_checker_bind (checker, b->name, b->type);
    }
  for (guint k = 0; k < closure->len; k++)
    {
      const char *def_name = g_ptr_array_index (closure, k);
      g_autoptr(RthunkType) def_type = NULL;

      /* the type a definition has on the server: checked by a checker that
       * knows the definitions it uses */
      if ((def_type = rthunk_checker_check (checker, g_hash_table_lookup (h->forms, def_name), error)) == NULL)
        return NULL;
    }
  if ((*type = rthunk_checker_check_typed (checker, expr, &node_types, error)) == NULL)
    return NULL;
  ast = g_byte_array_new ();
  rthunk_codec_put_ast (ast, expr, node_types);
  return g_byte_array_free_to_bytes (ast);
}

/* The fields of an EvalRequest but its thunk id: the Ast, the @n_bindings
 * Bindings in @bindings, a DefRef for each name of @closure, and the
 * options. Returns where in @out the Bindings begin. */
static guint
put_request_fields (GByteArray *out,
                    GBytes     *ast,
                    GByteArray *bindings,
                    guint       n_bindings,
                    DefHasher  *h,
                    GPtrArray  *closure,
                    gboolean    by_reference)
{
  guint at = 0;

  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 1);
  g_byte_array_append (out, g_bytes_get_data (ast, NULL), g_bytes_get_size (ast));
  if (n_bindings > 0)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 2);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, n_bindings);
      at = out->len;
      g_byte_array_append (out, bindings->data, bindings->len);
    }
  if (closure->len > 0)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 3);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, closure->len);
      for (guint k = 0; k < closure->len; k++)
        {
          const char *name = g_ptr_array_index (closure, k);

          rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
          rthunk_codec_put_string (out, name);
          rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 2);
          rthunk_codec_put_binary (out, g_bytes_get_data (g_hash_table_lookup (h->hashes, name), NULL),
                                   RTHUNK_HASH_LEN);
          rthunk_codec_put_stop (out);
        }
    }
  if (by_reference)
    {
      /* EvalOptions { 5: byReference = true } */
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 4);
      rthunk_codec_put_field (out, RTHUNK_CODEC_BOOL, 5);
      rthunk_codec_put_u8 (out, 1);
      rthunk_codec_put_stop (out);
    }
  return at;
}

/* Checks @expr against the server's catalog, with @inputs bound, and
 * writes the fields of its EvalRequest to @out, but the thunk id and the
 * end of the struct, which are the caller's. */
static gboolean
build_request (RthunkClient  *self,
               RthunkCatalog *catalog,
               RthunkNode    *expr,
               GHashTable    *inputs,
               DefHasher     *h,
               GPtrArray     *closure,
               gboolean       by_reference,
               GByteArray    *out,
               RthunkType   **out_type,
               GError       **error)
{
  g_autoptr(GByteArray) bindings = NULL;
  g_autoptr(GArray) bound = NULL;
  g_autoptr(GPtrArray) input_types = NULL;
  g_autoptr(GArray) thunks = NULL;
  g_autoptr(GBytes) ast = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *key = NULL;
  gboolean preparable = closure->len == 0 && !by_reference;
  guint start = out->len, at;

  if (preparable && prepared_request (self, catalog, expr, inputs, out, out_type))
    return TRUE;
  bindings = g_byte_array_sized_new (128);
  bound = g_array_new (FALSE, FALSE, sizeof (Bound));
  g_array_set_clear_func (bound, (GDestroyNotify) bound_clear);
  input_types = g_ptr_array_new_with_free_func (g_free);
  thunks = g_array_new (FALSE, FALSE, sizeof (PreparedInput));
  g_array_set_clear_func (thunks, prepared_input_clear);
  if (!bind_inputs (self, inputs, bindings, bound, input_types, thunks, error))
    return FALSE;
  /* the memo is for expressions that call no user function */
  if (closure->len == 0)
    key = checked_key (self, expr, input_types);
  if (key == NULL || !checked_lookup (self, key, expr, catalog, &ast, &type))
    {
      if ((ast = check_expression (catalog, bound, h, closure, expr, &type, error)) == NULL)
        return FALSE;
      if (key != NULL)
        checked_store (self, g_steal_pointer (&key), expr, catalog, ast, type);
    }
  at = put_request_fields (out, ast, bindings, input_types->len, h, closure, by_reference);
  if (preparable && input_types->len > 0 && thunks->len == input_types->len)
    {
      /* the ids' places in the fields, not in the bindings */
      for (guint k = 0; k < thunks->len; k++)
        g_array_index (thunks, PreparedInput, k).at += at - start;
      prepare_request (self, expr, catalog, type, out->data + start, out->len - start, g_steal_pointer (&thunks));
    }
  *out_type = g_steal_pointer (&type);
  return TRUE;
}

/* Sends the submitEvalRequest @message, sending the definitions the server
 * asks for. */
static ThunkReport *
submit_with_definitions (RthunkClient  *self,
                         RthunkConn    *conn,
                         GByteArray    *message,
                         DefHasher     *h,
                         GPtrArray     *closure,
                         GError       **error)
{
  for (guint attempt = 0; attempt < 4; attempt++)
    {
      g_autoptr(RthunkWireMissingDefinitions) missing = NULL;
      g_autoptr(GPtrArray) reports = call_for_reports (self, conn, message, &SUBMIT_EVAL, &missing, error);

      if (reports != NULL)
        return g_ptr_array_steal_index (reports, 0);
      if (missing == NULL || !put_missing (self, conn, h, closure, missing, error))
        return NULL;
    }
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
               _("server %s kept asking for definitions"), self->address);
  return NULL;
}

/* The value a submission answered: finished inline, or pending. */
static RthunkValue *
submitted_value (RthunkClient  *self,
                 ThunkReport   *report,
                 RthunkType    *type,
                 gboolean       by_reference,
                 GError       **error)
{
  if (report->id->len == 0 || report->id->len > 64)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("server %s sent a malformed thunk id"),
                   self->address);
      return NULL;
    }
  /* a remote reference is one even when it finished at once */
  if (report->state >= RTHUNK_WIRE_THUNK_STATE_DONE &&
      (!by_reference || report->state > RTHUNK_WIRE_THUNK_STATE_DONE))
    return report_outcome (report, error);
  return new_pending (self, report->id, type, by_reference);
}

RthunkValue *
rthunk_client_submit_run (RthunkClient  *self,
                          RthunkNode    *expr,
                          GHashTable    *inputs,
                          GHashTable    *definitions,
                          gboolean       by_reference,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GByteArray) message = message_begin (SUBMIT_EVAL.method);
  g_autoptr(ThunkReport) report = NULL;
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GPtrArray) closure = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_auto(DefHasher) h = { NULL, };
  RthunkCall call;

  if ((catalog = dup_catalog (self)) == NULL &&
      (!rthunk_client_connect_run (self, FALSE, cancellable, error) || (catalog = dup_catalog (self)) == NULL))
    return NULL;
  def_hasher_init (&h, definitions);
  rthunk_codec_put_field (message, RTHUNK_CODEC_STRUCT, 1);
  if ((closure = definition_closure (&h, expr, error)) == NULL ||
      !build_request (self, catalog, expr, inputs, &h, closure, by_reference, message, &type, error))
    return NULL;
  rthunk_codec_put_stop (message);      /* the EvalRequest */
  message_end (self, message, 2);
  /* what was queued goes first (begin_call() settles it): this request
   * may name those thunks */
  if (!begin_call (self, &call, cancellable, error))
    return NULL;
  report = submit_with_definitions (self, call.conn, message, &h, closure, error);
  if (!rthunk_call_end (&call, report != NULL, error))
    return NULL;
  return submitted_value (self, report, type, by_reference, error);
}

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
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  return rthunk_client_submit_run (client, expr, inputs, definitions, FALSE, NULL, error);
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
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  return rthunk_client_submit_run (client, expr, inputs, definitions, TRUE, NULL, error);
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
  guint sent;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  g_mutex_lock (&client->lock);
  sent = client->definitions_sent;
  g_mutex_unlock (&client->lock);
  return sent;
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

  g_mutex_lock (&client->lock);
  g_free (client->token);
  client->token = g_strdup (token);
  g_mutex_unlock (&client->lock);
}

/* ---- many thunks at once: what RthunkThunk's collector uses ------------- */


static RthunkWireRemoteThunk *
wire_thunk_for_id (GBytes *id)
{
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (id, &len);

  rthunk_wire_set_bytes (&thunk->id, data, len);
  return thunk;
}

/* The value or error of one VarCont, and its state; 0 for a state that
 * is not one. */
static RthunkThunkState
var_cont_result (ThunkReport   *report,
                 RthunkValue  **value,
                 GError       **error)
{
  switch (report->state)
    {
    case RTHUNK_WIRE_THUNK_STATE_PENDING:
    case RTHUNK_WIRE_THUNK_STATE_RUNNING:
      return (RthunkThunkState) report->state;
    case RTHUNK_WIRE_THUNK_STATE_CANCELLED:
      g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the thunk was cancelled"));
      return RTHUNK_THUNK_CANCELLED;
    case RTHUNK_WIRE_THUNK_STATE_DONE:
    case RTHUNK_WIRE_THUNK_STATE_FAILED:
      *value = report_outcome (report, error);
      return *value != NULL ? RTHUNK_THUNK_DONE : RTHUNK_THUNK_FAILED;
    default:
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("a thunk in an unknown state %d"),
                   report->state);
      return 0;
    }
}

void
rthunk_client_report_finished (GPtrArray             *done,
                               RthunkClientAwaitFunc  func,
                               gpointer               user_data)
{
  for (guint k = 0; k < done->len; k++)
    {
      ThunkReport *report = g_ptr_array_index (done, k);
      g_autoptr(GBytes) id = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = NULL;

      if (report->id == NULL || report->id->len == 0)
        continue;
      id = g_bytes_new (report->id->data, report->id->len);
      var_cont_result (report, &value, &error);
      func (id, value, error, user_data);
    }
}

GPtrArray *
rthunk_client_await_run (RthunkClient  *self,
                         GPtrArray     *ids,
                         guint          timeout_ms,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GByteArray) message = await_message (self, ids, timeout_ms);
  g_autoptr(GPtrArray) done = NULL;
  RthunkCall call;

  if (!begin_call (self, &call, cancellable, error))
    return NULL;
  done = call_for_reports (self, call.conn, message, &THUNK_AWAIT, NULL, error);
  if (!rthunk_call_end (&call, done != NULL, error))
    return NULL;
  return g_steal_pointer (&done);
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
  g_autoptr(GPtrArray) done = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (ids != NULL && ids->len > 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if ((done = rthunk_client_await_run (client, ids, timeout_ms, NULL, error)) == NULL)
    return FALSE;
  rthunk_client_report_finished (done, func, user_data);
  return TRUE;
}

gboolean
rthunk_client_cancel_run (RthunkClient  *self,
                          GBytes        *id,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_thunk_for_id (id);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  gboolean unfinished = FALSE;
  RthunkCall call;
  gboolean ok;

  if (!begin_call (self, &call, cancellable, error))
    return FALSE;
  ok = rthunk_wire_remote_execution_service_if_thunk_cancel (call.conn->stub, &unfinished, thunk, auth,
                                                             &invalid, &denied, &call_error) ||
       call_failed (self, call.conn, call_error,
                    invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
  return rthunk_call_end (&call, ok, error);
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
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return rthunk_client_cancel_run (client, id, NULL, error);
}

RthunkWireVarCont *
rthunk_client_poll_run (RthunkClient  *self,
                        GBytes        *id,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_thunk_for_id (id);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  g_autoptr(RthunkWireVarCont) cont = g_object_new (RTHUNK_WIRE_TYPE_VAR_CONT, NULL);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  RthunkCall call;
  gboolean ok;

  if (!begin_call (self, &call, cancellable, error))
    return NULL;
  ok = rthunk_wire_remote_execution_service_if_thunk_get (call.conn->stub, &cont, thunk, auth,
                                                          &invalid, &denied, &call_error) ||
       call_failed (self, call.conn, call_error,
                    invalid != NULL ? (GObject *) invalid : (GObject *) denied, error);
  if (!rthunk_call_end (&call, ok, error))
    return NULL;
  return g_steal_pointer (&cont);
}

RthunkThunkState
rthunk_client_poll_result (RthunkWireVarCont  *cont,
                           RthunkValue       **value,
                           GError            **error)
{
  g_autoptr(RthunkValue) result = NULL;
  g_autoptr(ThunkReport) report = report_from_var_cont (cont);
  RthunkThunkState state = var_cont_result (report, &result, error);

  if (value != NULL)
    *value = g_steal_pointer (&result);
  return state;
}

/**
 * rthunk_client_poll:
 * @client: a client
 * @id: the id of a thunk this client's server issued
 * @value: (out) (optional) (nullable) (transfer full): the thunk's value,
 *   when it is done
 * @error: return location for a #GError
 *
 * Asks the server how the thunk is doing (`thunkGet`), without waiting for
 * it to finish.
 *
 * Returns: %RTHUNK_THUNK_PENDING or %RTHUNK_THUNK_RUNNING while it runs;
 *   %RTHUNK_THUNK_DONE with @value set; %RTHUNK_THUNK_FAILED or
 *   %RTHUNK_THUNK_CANCELLED with @error set to the thunk's error; or 0 with
 *   @error set when the call itself failed
 *
 * Since: 0.1
 */
RthunkThunkState
rthunk_client_poll (RthunkClient  *client,
                    GBytes        *id,
                    RthunkValue  **value,
                    GError       **error)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);
  g_return_val_if_fail (id != NULL, 0);

  if (value != NULL)
    *value = NULL;
  if ((cont = rthunk_client_poll_run (client, id, NULL, error)) == NULL)
    return 0;
  return rthunk_client_poll_result (cont, value, error);
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

/* ---- queued submissions ----------------------------------------------------- */

static GPrivate scratch_request = G_PRIVATE_INIT ((GDestroyNotify) g_byte_array_unref);

typedef struct
{
  guint len;                    /* its EvalRequest struct's, in outbox_bytes */
  RthunkValue *value;           /* the pending value given out */
  RthunkClientSentFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Queued;

static void
queued_free (Queued *queued)
{
  rthunk_value_unref (queued->value);
  if (queued->destroy != NULL)
    queued->destroy (queued->data);
  g_free (queued);
}

/* Whether @expr can be queued: it calls no user function (definitions
 * travel, and are asked for, one request at a time). */
gboolean
rthunk_client_can_enqueue (RthunkClient *self,
                           RthunkNode   *expr,
                           GHashTable   *definitions)
{
  g_autoptr(GPtrArray) closure = NULL;
  g_auto(DefHasher) h = { NULL, };

  /* nothing to call: no need to look */
  if (definitions == NULL || g_hash_table_size (definitions) == 0)
    return TRUE;
  def_hasher_init (&h, definitions);
  closure = definition_closure (&h, expr, NULL);
  return closure != NULL && closure->len == 0;
}

/* A new thunk id, 16 random bytes, for rthunk_client_enqueue(). */
void
rthunk_client_random_id (guint8 id[RTHUNK_CLIENT_ID_LEN])
{
  if (getrandom (id, RTHUNK_CLIENT_ID_LEN, 0) != RTHUNK_CLIENT_ID_LEN)
    for (guint k = 0; k < RTHUNK_CLIENT_ID_LEN; k++)
      id[k] = (guint8) g_random_int_range (0, 256);
}

/* Type-checks @expr and queues its submission under @thunk_id (from
 * rthunk_client_random_id(): the server refuses an id in use);
 * returns its pending value at once. Each time RTHUNK_CLIENT_SEND_AT
 * submissions are queued they are sent, in a submitBatch frame, without
 * waiting for the reply (unless a flush is under way in another thread);
 * rthunk_client_flush() sends the rest and reads every reply. @func is
 * called for each submission when its reply is read (here, in a flush,
 * or in any call that settles the queue first): with its value when the
 * server finished it inline, its error when it was refused, or neither
 * when it is running there (it is then a pending value like any other).
 * Requests that name the queued thunks may be queued or submitted before
 * the flush: they are sent after them. */
RthunkValue *
rthunk_client_enqueue (RthunkClient          *self,
                       RthunkNode            *expr,
                       GHashTable            *inputs,
                       const guint8          *thunk_id,
                       RthunkClientSentFunc   func,
                       gpointer               data,
                       GDestroyNotify         destroy,
                       GError               **error)
{
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GPtrArray) closure = g_ptr_array_new ();   /* no user function */
  g_autoptr(RthunkType) type = NULL;
  g_autoptr(GByteArray) id = g_byte_array_sized_new (RTHUNK_CLIENT_ID_LEN);
  /* the thread's buffer, kept from one request to the next (taken while
   * in use: forcing an input may queue another submission) */
  g_autoptr(GByteArray) request = g_private_get (&scratch_request);
  DefHasher h = { NULL, };
  RthunkValue *value;
  gboolean send_now;
  Queued *queued;

  g_private_set (&scratch_request, NULL);
  if (request == NULL)
    request = g_byte_array_sized_new (512);
  g_byte_array_set_size (request, 0);
  if ((catalog = dup_catalog (self)) == NULL &&
      (!rthunk_client_connect_run (self, FALSE, NULL, error) || (catalog = dup_catalog (self)) == NULL))
    return NULL;
  if (!build_request (self, catalog, expr, inputs, &h, closure, FALSE, request, &type, error))
    return NULL;
  g_byte_array_append (id, thunk_id, RTHUNK_CLIENT_ID_LEN);
  rthunk_codec_put_field (request, RTHUNK_CODEC_STRING, 5);
  rthunk_codec_put_binary (request, thunk_id, RTHUNK_CLIENT_ID_LEN);
  rthunk_codec_put_stop (request);
  queued = g_new0 (Queued, 1);
  queued->len = request->len;
  queued->value = new_pending (self, id, type, FALSE);
  queued->func = func;
  queued->data = data;
  queued->destroy = destroy;
  value = rthunk_value_ref (queued->value);
  g_mutex_lock (&self->outbox_lock);
  g_ptr_array_add (self->outbox, queued);
  g_byte_array_append (self->outbox_bytes, request->data, request->len);
  send_now = self->outbox->len >= RTHUNK_CLIENT_SEND_AT;
  g_mutex_unlock (&self->outbox_lock);
  /* kept unless a large request made it large */
  if (request->len <= 64 * 1024 && g_private_get (&scratch_request) == NULL)
    g_private_set (&scratch_request, g_steal_pointer (&request));
  /* a long burst goes out while it is made (unless a flush is on it) */
  if (send_now && g_mutex_trylock (&self->flush_lock))
    {
      send_queued (self);
      g_mutex_unlock (&self->flush_lock);
    }
  return value;
}

/* How many submissions are queued. */
guint
rthunk_client_get_queued (RthunkClient *self)
{
  guint n;

  g_mutex_lock (&self->outbox_lock);
  n = self->outbox->len;
  g_mutex_unlock (&self->outbox_lock);
  return n;
}

/* The oldest queued submissions, at most RTHUNK_CLIENT_MAX_BATCH, taken
 * off the queue, and their submitBatch call (*@message); NULL (nothing
 * allocated: every submit flushes) when none is queued. */
static GPtrArray *
take_batch (RthunkClient  *self,
            GByteArray   **message)
{
  GPtrArray *batch = NULL;
  gsize bytes = 0;
  guint n;

  g_mutex_lock (&self->outbox_lock);
  if ((n = MIN (self->outbox->len, RTHUNK_CLIENT_MAX_BATCH)) > 0)
    {
      batch = g_ptr_array_new_full (n, (GDestroyNotify) queued_free);
      for (guint k = 0; k < n; k++)
        {
          Queued *queued = g_ptr_array_index (self->outbox, k);

          g_ptr_array_add (batch, queued);
          bytes += queued->len;
        }
      /* the queue has no free function: they are the batch's now */
      g_ptr_array_remove_range (self->outbox, 0, n);
      *message = message_begin_sized (SUBMIT_BATCH.method, bytes + 256);
      rthunk_codec_put_field (*message, RTHUNK_CODEC_LIST, 1);
      rthunk_codec_put_list (*message, RTHUNK_CODEC_STRUCT, n);
      g_byte_array_append (*message, self->outbox_bytes->data, (guint) bytes);
      g_byte_array_remove_range (self->outbox_bytes, 0, (guint) bytes);
    }
  g_mutex_unlock (&self->outbox_lock);
  if (batch != NULL)
    message_end (self, *message, 2);
  return batch;
}

/* Tells each queued submission of @batch how it went: @answers from the
 * server, or @failure for all. */
static void
report_sent (RthunkClient *self,
             GPtrArray    *batch,
             GPtrArray    *answers,
             const GError *failure)
{
  for (guint k = 0; k < batch->len; k++)
    {
      Queued *queued = g_ptr_array_index (batch, k);
      ThunkReport *report = answers != NULL && k < answers->len ? g_ptr_array_index (answers, k) : NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = failure != NULL ? g_error_copy (failure) : NULL;

      if (error == NULL && report == NULL)
        error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                             _("server %s answered fewer submissions than it was sent"), self->address);
      /* a value nobody is told of is read when it is forced */
      else if (error == NULL && report->state >= RTHUNK_WIRE_THUNK_STATE_DONE &&
               (queued->func != NULL || report->state != RTHUNK_WIRE_THUNK_STATE_DONE))
        value = report_outcome (report, &error);
      if (error != NULL)
        {
          RemoteHandle *handle = rthunk_value_get_handle (queued->value);

          g_mutex_lock (&self->outbox_lock);
          if (handle->send_error == NULL)
            handle->send_error = g_error_copy (error);
          g_mutex_unlock (&self->outbox_lock);
        }
      if (queued->func != NULL)
        queued->func (value, error, queued->data);
    }
}

static gboolean receive_in_flight (RthunkClient *self, guint n, GError **lost);

/* Writes @message as one frame on the connection of the frames in flight.
 * The server answers them in order while this one goes out: a reply that
 * comes before it is all written is read (and reported) first, so neither
 * side can stop the other by filling its socket. */
static gboolean
send_in_flight (RthunkClient  *self,
                GByteArray    *message,
                GError       **error)
{
  RthunkConn *conn = self->sending.conn;
  GError *transport_error = NULL;
  guint32 be = GUINT32_TO_BE (message->len);
  struct iovec iov[2] = { { &be, sizeof be }, { message->data, message->len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

  if (!frame_fits (message, &transport_error))
    return call_failed (self, conn, transport_error, NULL, error);
  while (msg.msg_iovlen > 0)
    {
      struct pollfd p = { conn->fd, POLLOUT | (self->in_flight.length > 0 ? POLLIN : 0), 0 };
      gssize n;
      int rc = poll (&p, 1, CALL_TIMEOUT_MS);

      if (rc < 0 && errno == EINTR)
        continue;
      if ((p.revents & POLLIN) != 0 && self->in_flight.length > 0)
        {
          if (!receive_in_flight (self, 1, error))
            return FALSE;
          continue;
        }
      n = rc > 0 ? sendmsg (conn->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
      if (n < 0 && rc > 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        continue;
      if (n <= 0)
        {
          int errsv = rc == 0 ? ETIMEDOUT : n < 0 ? errno : EIO;

          g_set_error (&transport_error, RTHUNK_FRAME_ERROR,
                       rc == 0 ? RTHUNK_FRAME_ERROR_TIMEOUT : RTHUNK_FRAME_ERROR_IO,
                       _("writing a frame: %s"), g_strerror (errsv));
          return call_failed (self, conn, transport_error, NULL, error);
        }
      for (gsize left = (gsize) n; left > 0;)
        {
          gsize step = MIN (left, msg.msg_iov->iov_len);

          msg.msg_iov->iov_base = (guint8 *) msg.msg_iov->iov_base + step;
          msg.msg_iov->iov_len -= step;
          left -= step;
          if (msg.msg_iov->iov_len == 0)
            {
              msg.msg_iov++;
              msg.msg_iovlen--;
            }
        }
    }
  return TRUE;
}

/* Ends the frames in flight: the connection goes back to the pool, or is
 * closed if it broke; the batches still unanswered fail with @failure. */
static void
end_in_flight (RthunkClient *self,
               const GError *failure)
{
  GPtrArray *batch;

  while ((batch = g_queue_pop_head (&self->in_flight)) != NULL)
    {
      report_sent (self, batch, NULL, failure);
      g_ptr_array_unref (batch);
    }
  rthunk_call_end (&self->sending, failure == NULL, NULL);
  self->sending_open = FALSE;
  g_mutex_lock (&self->outbox_lock);
  self->in_flight_any = FALSE;
  g_mutex_unlock (&self->outbox_lock);
}

/* Reads the replies of the @n oldest frames in flight and reports each
 * submission; a frame refused as a whole is kept in self->refused.
 * Returns FALSE (with @lost) when the connection failed: every frame in
 * flight failed with it, and they are ended. */
static gboolean
receive_in_flight (RthunkClient  *self,
                   guint          n,
                   GError       **lost)
{
  for (guint k = 0; k < n && self->in_flight.length > 0; k++)
    {
      g_autoptr(GPtrArray) batch = g_queue_pop_head (&self->in_flight);
      g_autoptr(GError) failure = NULL;
      g_autoptr(GPtrArray) answers = receive_reports (self, self->sending.conn, &SUBMIT_BATCH, &failure);

      report_sent (self, batch, answers, failure);
      if (failure == NULL)
        continue;
      if (self->refused == NULL)
        self->refused = g_error_copy (failure);
      if (self->sending.conn->broken)
        {
          end_in_flight (self, failure);
          g_propagate_error (lost, g_steal_pointer (&failure));
          return FALSE;
        }
    }
  return TRUE;
}

/* Sends every queued submission, in submitBatch frames of at most
 * RTHUNK_CLIENT_MAX_BATCH, on the connection of the frames in flight,
 * without waiting for their replies; with the flush lock held. A frame
 * that cannot be sent fails its submissions and is kept in
 * self->refused. */
static void
send_queued (RthunkClient *self)
{
  for (;;)
    {
      g_autoptr(GByteArray) message = NULL;
      g_autoptr(GPtrArray) batch = take_batch (self, &message);
      g_autoptr(GError) failure = NULL;

      if (batch == NULL)
        break;
      if (!self->sending_open)
        {
          if (!rthunk_call_begin (&self->sending, self->pool, NULL, &failure))
            {
              report_sent (self, batch, NULL, failure);
              if (self->refused == NULL)
                self->refused = g_steal_pointer (&failure);
              continue;
            }
          self->sending_open = TRUE;
          g_mutex_lock (&self->outbox_lock);
          self->in_flight_any = TRUE;
          g_mutex_unlock (&self->outbox_lock);
        }
      if (send_in_flight (self, message, &failure))
        {
          g_queue_push_tail (&self->in_flight, g_steal_pointer (&batch));
          continue;
        }
      report_sent (self, batch, NULL, failure);
      if (self->sending_open)
        end_in_flight (self, failure);
      if (self->refused == NULL)
        self->refused = g_steal_pointer (&failure);
    }
}

/* Sends what is queued, in order, in submitBatch frames of at most
 * RTHUNK_CLIENT_MAX_BATCH, and waits for the reply of every frame in
 * flight (rthunk_client_enqueue() sends some before); each submission
 * learns how it went. Returns FALSE (with @error) when a frame could not
 * be sent or was refused as a whole since the last flush; its
 * submissions fail with that error. */
gboolean
rthunk_client_flush (RthunkClient  *self,
                     GError       **error)
{
  GError *refused;

  g_mutex_lock (&self->flush_lock);
  send_queued (self);
  if (self->sending_open && receive_in_flight (self, G_MAXUINT, NULL))
    end_in_flight (self, NULL);
  refused = g_steal_pointer (&self->refused);
  g_mutex_unlock (&self->flush_lock);
  if (refused == NULL)
    return TRUE;
  g_propagate_error (error, refused);
  return FALSE;
}

/* rthunk_call_begin() for any call but a flush's: what is queued or in
 * flight is settled first. Such a call may name those thunks, and the
 * connection the frames in flight hold may be the pool's last. */
static gboolean
begin_call (RthunkClient  *self,
            RthunkCall    *call,
            GCancellable  *cancellable,
            GError       **error)
{
  gboolean unsettled;

  g_mutex_lock (&self->outbox_lock);
  unsettled = self->outbox->len > 0 || self->in_flight_any;
  g_mutex_unlock (&self->outbox_lock);
  if (unsettled)
    rthunk_client_flush (self, NULL);
  return rthunk_call_begin (call, self->pool, cancellable, error);
}

/* ---- the other protocol calls: getServerInfo, getFuncDefs, putDefinitions, submitBatch ---- */

GVariant *
rthunk_client_server_info_run (RthunkClient  *self,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GVariant *info = NULL;
  RthunkCall call;
  gboolean ok;

  if (!begin_call (self, &call, cancellable, error))
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
 * definitions-stored, pipelined, fetched, batches, memo-hits) and `limits` (`a{sx}`:
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

  if (!begin_call (self, &call, cancellable, error))
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

gint
rthunk_client_put_definitions_run (RthunkClient  *self,
                                   GHashTable    *definitions,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkWireAuth) auth = new_auth (self);
  g_auto(DefHasher) h = { NULL, };
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  GError *call_error = NULL;
  GHashTableIter iter;
  gpointer name;
  gint32 added = 0;
  RthunkCall call;
  gboolean ok;

  def_hasher_init (&h, definitions);
  g_hash_table_iter_init (&iter, definitions);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      if (!hash_named (&h, name))
        {
          if (h.error != NULL)
            g_propagate_error (error, g_steal_pointer (&h.error));
          else
            g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                         _("“%s” is not a definition that can be sent"), (const char *) name);
          return -1;
        }
      g_ptr_array_add (defs, wire_definition (&h, name));
    }
  if (!begin_call (self, &call, cancellable, error))
    return -1;
  ok = rthunk_wire_remote_execution_service_if_put_definitions (call.conn->stub, &added, defs, auth,
                                                                &invalid, &denied, &call_error);
  if (!ok)
    call_failed (self, call.conn, call_error, invalid != NULL ? (GObject *) invalid : (GObject *) denied,
                 error);
  if (!rthunk_call_end (&call, ok, error))
    return -1;
  g_mutex_lock (&self->lock);
  self->definitions_sent += defs->len;
  g_mutex_unlock (&self->lock);
  return MAX (added, 0);
}

/**
 * rthunk_client_put_definitions:
 * @client: a client
 * @definitions: (element-type utf8 RthunkNode): `defn` forms by name; the
 *   definitions they use must be among them
 * @error: return location for a #GError
 *
 * Calls putDefinitions with every definition of @definitions, each under
 * its content address. Submissions send the definitions they need by
 * themselves; this is for sending them ahead.
 *
 * Returns: how many the server had not stored yet, or -1 with @error set
 *
 * Since: 0.1
 */
gint
rthunk_client_put_definitions (RthunkClient  *client,
                               GHashTable    *definitions,
                               GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), -1);
  g_return_val_if_fail (definitions != NULL, -1);

  return rthunk_client_put_definitions_run (client, definitions, NULL, error);
}

static void
value_unref0 (gpointer value)
{
  if (value != NULL)
    rthunk_value_unref (value);
}

/* A batch member finished inline: its slot gets the value. */
static void
batch_member_sent (RthunkValue  *value,
                   const GError *error,
                   gpointer      data)
{
  RthunkValue **slot = data;

  if (value != NULL)
    {
      g_clear_pointer (slot, rthunk_value_unref);
      *slot = rthunk_value_ref (value);
    }
}

GPtrArray *
rthunk_client_submit_batch_run (RthunkClient  *self,
                                GPtrArray     *exprs,
                                GHashTable    *inputs,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autoptr(GPtrArray) values = g_ptr_array_new_full (exprs->len, value_unref0);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  /* what was queued before is not part of this batch */
  if (!rthunk_client_flush (self, error))
    return NULL;
  for (guint k = 0; k < exprs->len; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];
      RthunkValue *value;

      rthunk_client_random_id (id);
      g_ptr_array_add (values, NULL);
      value = rthunk_client_enqueue (self, g_ptr_array_index (exprs, k), inputs, id, batch_member_sent,
                                     &values->pdata[k], NULL, error);
      if (value == NULL)
        {
          /* those before it are queued: they leave, and are not waited for */
          g_prefix_error (error, _("expression %u of the batch: "), k);
          rthunk_client_flush (self, NULL);
          return NULL;
        }
      if (values->pdata[k] == NULL)
        values->pdata[k] = value;
      else
        rthunk_value_unref (value);     /* another thread's flush answered it already */
    }
  if (!rthunk_client_flush (self, error))
    return NULL;
  return g_steal_pointer (&values);
}

/**
 * rthunk_client_submit_batch:
 * @client: a client
 * @exprs: (element-type RthunkNode): the expressions, at most 4096; none
 *   may call a user function (submit those with rthunk_client_submit_full())
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   the expressions read, the same for all
 * @error: return location for a #GError
 *
 * Checks every expression, then submits them all in submitBatch frames
 * (several if there are more than 1000). When one does not check, the
 * call fails with its error; those before it are sent all the same. An
 * expression may read a pending value that an earlier
 * one of the batch gave: it travels as a reference to that thunk.
 *
 * Returns: (transfer container) (element-type RthunkValue) (nullable): a
 *   value for each expression, in order: finished, or pending (forcing it
 *   reports a submission the server refused) — or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_client_submit_batch (RthunkClient  *client,
                            GPtrArray     *exprs,
                            GHashTable    *inputs,
                            GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (exprs != NULL && exprs->len <= 4096, NULL);

  return rthunk_client_submit_batch_run (client, exprs, inputs, NULL, error);
}
