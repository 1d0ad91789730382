/* rthunk-server.c — the server core that every provider runs
 *
 * An accept loop hands each connection to a thread of its own (bounded by
 * max_connections); evaluation runs on the worker pool of the handler, so a
 * long thunk never blocks a connection. Every frame is read and validated
 * by rthunk-frame before Thrift decodes a byte of it, and every socket has
 * read and write timeouts. rthunk_server_stop() drains: it stops
 * accepting, refuses new thunks, lets the accepted ones finish (or cancels
 * them after the drain timeout) while their clients can still poll them,
 * and only then closes the connections.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rthunk-core-private.h"
#include "rthunk-server.h"
#include "rthunk-catalog.h"
#include "rthunk-codec.h"
#include "rthunk-conn-account.h"
#include "rthunk-decode-charge.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-frame.h"
#include "rthunk-handler.h"
#include "rthunk-log.h"
#include "rthunk-print-sink.h"
#include "rthunk-redis-private.h"
#include "rthunk-server-private.h"
#include "rthunk-store.h"
#include "rthunk-thunk-table.h"
#include "rthunk-tls.h"
#include "rthunk-wire.h"

/* After the drain timeout, how long cancelled thunks get to stop, and how
 * long their clients then get to read the outcome before the connections
 * are closed (less if every client hangs up first). */
#define CANCEL_GRACE_MS 2000
#define LINGER_MS 500

struct _RthunkServer
{
  GObject parent_instance;

  char *name;
  char *token;
  GStrv fetch_from;
  char *store_uri;              /* NULL or "memory": the memory tiers only */
  char *store_password;
  char *store_tls_ca_file;      /* rediss://: the authorities of the Redis (NULL: the system's) */
  char *store_tls_cert_file;    /* rediss://: a client certificate, when Redis asks for one */
  char *store_tls_key_file;
  RthunkStateStore *state_store; /* NULL: no state cells */
  GTlsCertificate *tls_certificate; /* NULL: plain connections */
  GTlsDatabase *tls_client_ca;  /* NULL: no client certificate asked for */
  char *tls_cert_file;          /* shown to peers as a client */
  char *tls_key_file;
  char *peer_tls_ca_file;       /* authorities of the peers fetched from (NULL: the system's) */
  RthunkCatalog *catalog;
  RthunkServerLimits limits;
  RthunkServerState *state;
  ThriftProcessor *processor;
  int listen_fd;
  guint16 port;
  GThread *accept_thread;

  GMutex lock;
  GCond idle_cond;
  GHashTable *live_fds;         /* fds of open connections */
  gboolean stopping;
};

/**
 * RthunkServer:
 *
 * The server every rthunk provider runs: it serves a [class@Rthunk.Catalog]
 * over the wire protocol on a TCP port.
 *
 * Make one with [ctor@Rthunk.Server.new], optionally set a token
 * ([method@Rthunk.Server.set_token]), TLS ([method@Rthunk.Server.set_tls])
 * and limits ([method@Rthunk.Server.set_limits], see
 * [struct@Rthunk.ServerLimits]), then [method@Rthunk.Server.listen].
 * Each connection gets a thread of its own; every request is validated and
 * its expression type-checked against the catalog again before it runs
 * on the worker pool, within the fuel, deadline and memory limits. Results
 * of pure expressions are cached, and user definitions are stored by
 * content address.
 *
 * [method@Rthunk.Server.stop] drains: it stops accepting, lets the
 * accepted thunks finish (cancelling them after the drain timeout) while
 * their clients can still poll them, then closes the connections.
 *
 * A provider program rarely uses this class directly:
 * [func@Rthunk.provider_run] parses the usual options, makes the server
 * and handles signals. See [Your first provider](first-provider.html).
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkServer, rthunk_server, G_TYPE_OBJECT)

/* A quarter of the physical memory, at most 4 GiB (1 GiB if the system
 * does not say): a server shares its machine, and a quarter leaves the
 * rest to the system and other services; beyond 4 GiB a server should be
 * told its share. */
static guint64
default_max_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return G_GUINT64_CONSTANT (1) << 30;
  return MIN ((guint64) pages * (guint64) page_size / 4, RTHUNK_SERVER_DEFAULT_MAX_MEMORY);
}

/**
 * rthunk_server_limits_init:
 * @limits: (out caller-allocates): limits to fill
 *
 * Fills @limits with the defaults.
 *
 * Since: 0.1
 */
void
rthunk_server_limits_init (RthunkServerLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_frame_bytes = RTHUNK_SERVER_DEFAULT_MAX_FRAME_BYTES;
  limits->max_connections = 256;
  limits->workers = MAX (g_get_num_processors (), 2);
  limits->max_queued = 100000;
  limits->io_timeout_ms = 30000;
  limits->fuel = RTHUNK_EVAL_DEFAULT_FUEL;
  limits->deadline_ms = 60000;
  limits->max_depth = RTHUNK_EVAL_DEFAULT_MAX_DEPTH;
  limits->max_ast_nodes = 100000;
  limits->inline_budget_ms = 2;
  limits->max_thunks = 200000;
  limits->thunk_ttl_ms = 600000;
  limits->max_eval_bytes = RTHUNK_EVAL_DEFAULT_MAX_BYTES;
  limits->cache_entries = 100000;
  limits->cache_bytes = 64 * 1024 * 1024;
  limits->max_definitions = 100000;
  limits->definitions_bytes = 64 * 1024 * 1024;
  limits->drain_timeout_ms = 5000;
  limits->max_memory = default_max_memory ();
  limits->long_thunk_ms = 200;
  limits->idle_timeout_ms = 60000;
  limits->max_print_bytes = RTHUNK_PRINT_DEFAULT_MAX_BYTES;
  limits->print_buffer_bytes = RTHUNK_PRINT_DEFAULT_BUFFER_BYTES;
  limits->store_timeout_ms = 20;
  limits->store_ttl_s = 7 * 24 * 3600;
}

/**
 * rthunk_server_set_token:
 * @server: a server that is not listening yet
 * @token: (nullable): the token every call must carry, or %NULL for none
 *
 * With a token, a call whose `Auth` does not carry exactly that token gets
 * `NotAuthorized` and nothing runs. Tokens are compared in constant time.
 *
 * Since: 0.1
 */
void
rthunk_server_set_token (RthunkServer *server,
                         const char   *token)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (server->state == NULL);

  rthunk_set_str (&server->token, token);
}

/**
 * rthunk_server_set_fetch_from:
 * @server: a server that is not listening yet
 * @patterns: (nullable) (array zero-terminated=1): the servers it may fetch
 *   inputs from, each `HOST:PORT`, `HOST:*` or `*`
 *
 * A request may bind a name to a thunk another server holds (its
 * `holder`): when that server matches one of @patterns, this one fetches
 * the value from it (with this server's token) and starts the thunk that
 * needs it when it arrives; otherwise the request is refused. The default,
 * %NULL, fetches from nowhere: a client could otherwise make the server
 * connect wherever it likes. getServerInfo publishes the patterns, so
 * clients know when to send such references.
 *
 * Since: 0.1
 */
void
rthunk_server_set_fetch_from (RthunkServer      *server,
                              const char *const *patterns)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (server->state == NULL);

  g_strfreev (server->fetch_from);
  server->fetch_from = g_strdupv ((char **) patterns);
}

void
rthunk_server_set_state_store (RthunkServer     *server,
                               RthunkStateStore *store)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (server->state == NULL);

  g_clear_pointer (&server->state_store, rthunk_state_store_unref);
  server->state_store = store != NULL ? rthunk_state_store_ref (store) : NULL;
}

/**
 * rthunk_server_set_store:
 * @server: a server that is not listening yet
 * @uri: (nullable): where results and definitions are kept below memory:
 *   `memory` (or %NULL) for nowhere, `sqlite:PATH` for an SQLite file,
 *   `redis://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT…][/DB]` for a Redis
 *   (or a Redis Cluster, named by one or more of its nodes) that several
 *   servers may share, `rediss://…` for one reached over TLS (see
 *   rthunk_server_set_store_tls())
 * @password: (nullable): the password of a Redis store, which wins over one
 *   in @uri: read from a file, it need not appear on a command line
 *
 * The result cache and the definition store stay in memory, within the
 * memory budget, and answer first; what they lack is asked of the store
 * (waiting at most the `store_timeout_ms` limit, a miss when late), and
 * what they gain is written to it by a thread of its own, in batches,
 * to expire after `store_ttl_s` seconds. Whatever the store gives back is
 * checked (a definition is hashed and type-checked again, a result must
 * carry its key, its type and a matching digest): a damaged or foreign
 * entry is a miss. The store is opened by rthunk_server_listen(), which
 * fails if it cannot be (a Redis that does not answer is not a failure:
 * the server works on its memory tiers and tries again later).
 *
 * Since: 0.1
 */
void
rthunk_server_set_store (RthunkServer *server,
                         const char   *uri,
                         const char   *password)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (server->state == NULL);

  rthunk_set_str (&server->store_uri, uri);
  rthunk_set_str (&server->store_password, password);
}

/**
 * rthunk_server_set_store_tls:
 * @server: a server that is not listening yet
 * @ca_file: (type filename) (nullable): the PEM authorities that signed
 *   the Redis server's certificate; %NULL for the system's
 * @cert_file: (type filename) (nullable): a PEM client certificate, for a
 *   Redis that asks for one (`tls-auth-clients`)
 * @key_file: (type filename) (nullable): its PEM private key
 *
 * How a `rediss://` store (rthunk_server_set_store()) is reached: the
 * server's certificate must be signed by @ca_file and issued for the
 * host in the URI, or the store is not used (and the server says why,
 * once). The files are read by rthunk_server_listen(), which fails if
 * they cannot be, or if they are given for a store that is not
 * `rediss://`.
 *
 * Since: 0.1
 */
void
rthunk_server_set_store_tls (RthunkServer *server,
                             const char   *ca_file,
                             const char   *cert_file,
                             const char   *key_file)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (server->state == NULL);

  rthunk_set_str (&server->store_tls_ca_file, ca_file);
  rthunk_set_str (&server->store_tls_cert_file, cert_file);
  rthunk_set_str (&server->store_tls_key_file, key_file);
}

/**
 * rthunk_server_set_tls:
 * @server: a server that is not listening yet
 * @cert_file: (type filename): the server's PEM certificate (chain)
 * @key_file: (type filename): its PEM private key
 * @client_ca_file: (nullable) (type filename): when set, a PEM file of the
 *   authorities that sign client certificates: a client must present one
 *   (mutual TLS)
 * @error: return location for a #GError
 *
 * Makes every connection a TLS session: a client that does not start one
 * is dropped before anything it sent is read as a frame, and the token
 * travels only inside the session. Inside, the protocol is the same framed
 * binary protocol.
 *
 * Returns: %TRUE when the files could be read; %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_server_set_tls (RthunkServer  *server,
                       const char    *cert_file,
                       const char    *key_file,
                       const char    *client_ca_file,
                       GError       **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsDatabase) client_ca = NULL;

  g_return_val_if_fail (RTHUNK_IS_SERVER (server), FALSE);
  g_return_val_if_fail (server->state == NULL, FALSE);
  g_return_val_if_fail (cert_file != NULL && key_file != NULL, FALSE);

  if ((certificate = rthunk_tls_load_identity (cert_file, key_file, error)) == NULL)
    return FALSE;
  if (client_ca_file != NULL && (client_ca = rthunk_tls_load_ca (client_ca_file, error)) == NULL)
    return FALSE;
  g_set_object (&server->tls_certificate, certificate);
  g_set_object (&server->tls_client_ca, client_ca);
  rthunk_set_str (&server->tls_cert_file, cert_file);
  rthunk_set_str (&server->tls_key_file, key_file);
  return TRUE;
}

/**
 * rthunk_server_set_peer_tls:
 * @server: a server that rthunk_server_set_tls() made TLS, not listening yet
 * @ca_file: (nullable) (type filename): a PEM file of the authorities that
 *   sign the certificates of the servers it fetches inputs from
 *   (rthunk_server_set_fetch_from()); %NULL for the system's
 * @error: return location for a #GError
 *
 * A TLS server fetches inputs over TLS too, showing its own certificate
 * (for peers that ask for one) and sending its token only once the peer's
 * certificate held. This sets whom it trusts for that.
 *
 * Returns: %TRUE when @ca_file could be read; %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_server_set_peer_tls (RthunkServer  *server,
                            const char    *ca_file,
                            GError       **error)
{
  g_autoptr(GTlsDatabase) ca = NULL;

  g_return_val_if_fail (RTHUNK_IS_SERVER (server), FALSE);
  g_return_val_if_fail (server->state == NULL && server->tls_certificate != NULL, FALSE);

  if (ca_file != NULL && (ca = rthunk_tls_load_ca (ca_file, error)) == NULL)
    return FALSE;
  rthunk_set_str (&server->peer_tls_ca_file, ca_file);
  return TRUE;
}

static void
rthunk_server_finalize (GObject *object)
{
  RthunkServer *self = RTHUNK_SERVER (object);

  rthunk_server_stop (self);
  g_clear_pointer (&self->state, rthunk_server_state_free);
  g_clear_object (&self->processor);
  g_clear_object (&self->catalog);
  g_hash_table_unref (self->live_fds);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->idle_cond);
  g_free (self->name);
  g_free (self->token);
  g_strfreev (self->fetch_from);
  g_free (self->store_uri);
  g_free (self->store_password);
  g_free (self->store_tls_ca_file);
  g_free (self->store_tls_cert_file);
  g_free (self->store_tls_key_file);
  g_clear_pointer (&self->state_store, rthunk_state_store_unref);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->tls_client_ca);
  g_free (self->tls_cert_file);
  g_free (self->tls_key_file);
  g_free (self->peer_tls_ca_file);
  G_OBJECT_CLASS (rthunk_server_parent_class)->finalize (object);
}

static void
rthunk_server_class_init (RthunkServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_server_finalize;
}

static void
rthunk_server_init (RthunkServer *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->idle_cond);
  self->live_fds = g_hash_table_new (NULL, NULL);
  self->listen_fd = -1;
  rthunk_server_limits_init (&self->limits);
}

/**
 * rthunk_server_new:
 * @catalog: the functions the server provides
 * @name: the server's name, as clients see it
 *
 * Creates a server. Set its limits, then call rthunk_server_listen().
 *
 * Returns: (transfer full): a new server
 *
 * Since: 0.1
 */
RthunkServer *
rthunk_server_new (RthunkCatalog *catalog,
                   const char    *name)
{
  RthunkServer *self;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  rthunk_wire_ensure_types ();
  self = g_object_new (RTHUNK_TYPE_SERVER, NULL);
  self->catalog = g_object_ref (catalog);
  self->name = g_strdup (name);
  return self;
}

/**
 * rthunk_server_set_limits:
 * @server: a server that is not listening yet
 * @limits: the limits
 *
 * Sets the server's limits (see #RthunkServerLimits); call it before
 * rthunk_server_listen().
 *
 * Since: 0.1
 */
void
rthunk_server_set_limits (RthunkServer             *server,
                          const RthunkServerLimits *limits)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (limits != NULL);
  g_return_if_fail (server->state == NULL);

  server->limits = *limits;
}

/**
 * rthunk_server_get_limits:
 * @server: a server
 * @limits: (out caller-allocates): where to copy its limits
 *
 * Copies the server's limits into @limits.
 *
 * Since: 0.1
 */
void
rthunk_server_get_limits (RthunkServer       *server,
                          RthunkServerLimits *limits)
{
  g_return_if_fail (RTHUNK_IS_SERVER (server));
  g_return_if_fail (limits != NULL);

  *limits = server->limits;
}

/**
 * rthunk_server_get_port:
 * @server: a listening server
 *
 * Gives the TCP port the server listens on.
 *
 * Returns: the port it listens on (useful after listening on port 0)
 *
 * Since: 0.1
 */
guint16
rthunk_server_get_port (RthunkServer *server)
{
  g_return_val_if_fail (RTHUNK_IS_SERVER (server), 0);

  return server->port;
}

/**
 * rthunk_server_get_name:
 * @server: a server
 *
 * Gives the name the server announces to its clients.
 *
 * Returns: (transfer none): its name
 *
 * Since: 0.1
 */
const char *
rthunk_server_get_name (RthunkServer *server)
{
  g_return_val_if_fail (RTHUNK_IS_SERVER (server), NULL);

  return server->name;
}

/* ---- connections ------------------------------------------------------- */

typedef struct
{
  RthunkServer *server;
  int fd;
} Connection;

static void
log_dropped (int           fd,
             const GError *error)
{
  if (g_error_matches (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_CLOSED))
    g_debug ("connection %d closed by the client", fd);
  else if (error == NULL)
    /* Thrift's processor can fail without saying why */
    g_message ("connection %d dropped: the request could not be processed", fd);
  else
    g_message ("connection %d dropped: %s", fd, error->message);
}

/* Only calls are served: anything else is dropped before it is processed. */
static gboolean
check_call (RthunkFrameTransport  *transport,
            GError               **error)
{
  GBytes *input = rthunk_frame_transport_get_input (transport);
  gsize len = 0;
  const guint8 *data = input != NULL ? g_bytes_get_data (input, &len) : NULL;

  return rthunk_frame_check_call (data, len, error);
}

/* Whether the client starts with a TLS handshake record (it does not wait
 * for the server) within @timeout_ms: a plain client's frame is dropped
 * unread and unanswered, so that no TLS alert is taken for a frame length.
 * (The descriptor is GIO's now, non-blocking.) */
static gboolean
starts_tls (int       fd,
            guint     timeout_ms,
            GError  **error)
{
  struct pollfd p = { fd, POLLIN, 0 };
  guint8 first = 0;
  gssize n = -1;
  int rc;

  do
    rc = poll (&p, 1, (int) MIN (timeout_ms, G_MAXINT));
  while (rc < 0 && errno == EINTR);
  if (rc > 0)
    do
      n = recv (fd, &first, 1, MSG_PEEK);
    while (n < 0 && errno == EINTR);
  if (rc == 0)
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("no TLS handshake within %u ms"), timeout_ms);
  else if (n < 0)
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                 _("Error while waiting for a TLS handshake: %s"), g_strerror (errno));
  else if (n == 0)
    g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_CLOSED,
                         _("connection closed by the peer"));
  else if (first != RTHUNK_TLS_HANDSHAKE_BYTE)
    g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
                         _("the client did not start TLS, which this server requires"));
  return n > 0 && first == RTHUNK_TLS_HANDSHAKE_BYTE;
}

/* The transport of an accepted connection: plain, or a TLS session whose
 * handshake is still to come (start_tls()). NULL only when the descriptor
 * is no socket GIO takes. */
static RthunkFrameTransport *
open_transport (RthunkServer  *server,
                int            fd,
                GError       **error)
{
  GIOStream *tls;

  if (server->tls_certificate == NULL)
    return rthunk_frame_transport_new (fd, server->limits.max_frame_bytes);
  tls = rthunk_tls_server_new (fd, server->tls_certificate, server->tls_client_ca,
                               server->limits.io_timeout_ms, error);
  if (tls == NULL)
    return NULL;
  return rthunk_frame_transport_new_tls (tls, fd, server->limits.max_frame_bytes);
}

/* Before the first frame of a TLS connection: the client's handshake, and
 * with a client CA its certificate. */
static gboolean
start_tls (RthunkServer          *server,
           RthunkFrameTransport  *transport,
           GError               **error)
{
  GIOStream *tls = rthunk_frame_transport_get_tls (transport);

  if (tls == NULL)
    return TRUE;
  return starts_tls (rthunk_frame_transport_get_fd (transport), server->limits.io_timeout_ms, error) &&
         rthunk_tls_handshake (tls, error);
}

static void
end_connection (Connection           *conn,
                RthunkFrameTransport *transport)
{
  RthunkServer *server = conn->server;

  g_mutex_lock (&server->lock);
  g_hash_table_remove (server->live_fds, GINT_TO_POINTER (conn->fd));
  if (transport != NULL)
    thrift_transport_close (THRIFT_TRANSPORT (transport), NULL);
  if (g_hash_table_size (server->live_fds) == 0)
    g_cond_broadcast (&server->idle_cond);
  g_mutex_unlock (&server->lock);
  g_object_unref (server);
  g_free (conn);
}

/* The frame transport of a connection on @fd, which it takes over: the
 * server's frame limits, and validation left to the first read (the fast
 * path reads with its own bounds checks). */
RthunkFrameTransport *
rthunk_server_transport_new (int                       fd,
                             const RthunkServerLimits *limits)
{
  RthunkFrameTransport *transport = rthunk_frame_transport_new (fd, limits->max_frame_bytes);

  rthunk_server_transport_setup (transport, limits);
  return transport;
}

void
rthunk_server_transport_setup (RthunkFrameTransport     *transport,
                               const RthunkServerLimits *limits)
{
  rthunk_frame_transport_set_frame_budget (transport, limits->io_timeout_ms);
  rthunk_frame_transport_set_check_on_read (transport, TRUE);
}

/* Between calls on a TLS connection: waits up to @idle_ms for the next
 * frame to start, so that a connection with no call in flight does not
 * hold its slot for ever. Input a TLS session already decrypted is there
 * at once. (A plain connection's receive waits in its read alone:
 * rthunk_frame_transport_set_idle_timeout().) */
static gboolean
wait_next_frame (RthunkFrameTransport  *transport,
                 guint                  idle_ms,
                 GError               **error)
{
  struct pollfd p = { rthunk_frame_transport_get_fd (transport), POLLIN, 0 };
  int rc;

  if (idle_ms == 0 || rthunk_frame_transport_input_pending (transport))
    return TRUE;
  do
    rc = poll (&p, 1, (int) MIN (idle_ms, G_MAXINT));
  while (rc < 0 && errno == EINTR);
  if (rc == 0)
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("idle for %u ms without a call (--idle-timeout-ms)"), idle_ms);
  /* an error shows in the read that follows */
  return rc != 0;
}

/* With a token, a connection whose calls did not carry it is closed once
 * its first frame is answered (NotAuthorized): it holds no slot. */
static gboolean
check_authenticated (RthunkServerState  *state,
                     GError            **error)
{
  RthunkConnAccount *account = rthunk_conn_account_get_current ();

  if (!rthunk_server_state_needs_token (state) || account == NULL || account->authenticated)
    return TRUE;
  g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
                       _("its first call did not carry the server's token"));
  return FALSE;
}

/* Sends @reply, a whole message, the way the generated code sends its own. */
static gboolean
send_reply (RthunkFrameTransport  *transport,
            GByteArray            *reply,
            GError               **error)
{
  ThriftTransport *t = (ThriftTransport *) transport;   /* a subclass: no checked cast, every reply */

  return thrift_transport_read_end (t, error) &&
         thrift_transport_write (t, reply->data, reply->len, error) &&
         thrift_transport_flush (t, error);
}

/* The seqid of the call in @input, 0 when its header is cut short. */
static gint32
call_seqid (GBytes *input)
{
  gsize len = 0;
  const guint8 *data = input != NULL ? g_bytes_get_data (input, &len) : NULL;
  guint32 name_len, seqid;

  if (len < 12)
    return 0;
  memcpy (&name_len, data + 4, 4);
  name_len = GUINT32_FROM_BE (name_len);
  if (name_len > len - 12)
    return 0;
  memcpy (&seqid, data + 8 + name_len, 4);
  return (gint32) GUINT32_FROM_BE (seqid);
}

/* A well-formed call whose arguments the generated code could not read
 * (a string holding a NUL byte, a list of the wrong element type, a
 * missing required field) is answered, before the connection closes, with
 * an EXCEPTION message of type PROTOCOL_ERROR saying why, as Thrift
 * servers in other languages answer: the client learns what was refused.
 * A message that is not well formed is not answered. */
static void
answer_unreadable (RthunkFrameTransport *transport,
                   const GError         *why)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  rthunk_codec_put_message (out, "", RTHUNK_CODEC_EXCEPTION,
                            call_seqid (rthunk_frame_transport_get_input (transport)));
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (out, why->message);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 2);
  rthunk_codec_put_i32 (out, THRIFT_APPLICATION_EXCEPTION_ERROR_PROTOCOL_ERROR);
  rthunk_codec_put_stop (out);
  if (!send_reply (transport, out, &error))
    g_debug ("the refusal could not be sent: %s", error->message);
}

/* The generated processor's answer to the call in @transport, with what
 * decoding it costs charged to the memory budget first; a call whose
 * decoding does not fit is answered with the refusal instead. */
static gboolean
process_call (RthunkServerState    *state,
              ThriftProcessor      *processor,
              ThriftProtocol       *protocol,
              RthunkFrameTransport *transport,
              GByteArray           *reply,
              GError              **error)
{
  RthunkBudget *budget = rthunk_server_state_get_budget (state);
  guint64 charged;
  gboolean ok;

  g_byte_array_set_size (reply, 0);
  if (!rthunk_decode_charge (budget, rthunk_frame_transport_get_input (transport), &charged, reply))
    return send_reply (transport, reply, error) && check_authenticated (state, error);
  ok = thrift_processor_process (processor, protocol, protocol, error);
  rthunk_budget_release (budget, charged);
  if (!ok && *error != NULL && (*error)->domain == THRIFT_PROTOCOL_ERROR)
    answer_unreadable (transport, *error);
  return ok && check_authenticated (state, error);
}

/* Serves the frames of one connection, in this thread, until the client
 * hangs up, stays idle past the idle timeout, or a frame is refused;
 * leaves @transport open. */
void
rthunk_server_serve_transport (RthunkServerState    *state,
                               ThriftProcessor      *processor,
                               RthunkFrameTransport *transport)
{
  g_autoptr(ThriftProtocol) protocol = NULL;
  g_autoptr(GByteArray) reply = NULL;
  RthunkConnAccount *account = rthunk_conn_account_get_current ();
  guint idle_ms = rthunk_server_state_get_idle_timeout (state);
  /* on a plain connection, one read(2) a call, no poll() before it */
  gboolean idle_in_read = idle_ms > 0 && rthunk_frame_transport_set_idle_timeout (transport, idle_ms);

  rthunk_frame_transport_set_memory_budget (transport, rthunk_server_state_get_budget (state));
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  reply = g_byte_array_new ();
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gboolean ok;

      if (!idle_in_read && !wait_next_frame (transport, idle_ms, &error))
        ok = FALSE;
      else if (!rthunk_frame_transport_receive (transport, &error))
        ok = FALSE;
      else if (!check_call (transport, &error))
        ok = FALSE;
      else if (rthunk_handler_serve_fast (state, rthunk_frame_transport_get_input (transport), reply))
        {
          /* the fast path serves only calls that carry the token */
          if (account != NULL)
            account->authenticated = TRUE;
          /* the same path to the socket as the generated code's reply */
          ok = send_reply (transport, reply, &error);
        }
      /* Thrift's processor logs a warning for a message it cannot read:
       * what the fast path declined is validated first */
      else if (!rthunk_frame_transport_check_input (transport, &error))
        ok = FALSE;
      else
        ok = process_call (state, processor, protocol, transport, reply, &error);
      if (!ok)
        {
          log_dropped (rthunk_frame_transport_get_fd (transport), error);
          return;
        }
    }
}

static gpointer
serve_connection (gpointer data)
{
  Connection *conn = data;
  RthunkServer *server = conn->server;
  g_autoptr(RthunkFrameTransport) transport = NULL;
  g_autoptr(GError) tls_error = NULL;
  g_autoptr(RthunkConnAccount) account = rthunk_conn_account_new ();

  if ((transport = open_transport (server, conn->fd, &tls_error)) == NULL ||
      !start_tls (server, transport, &tls_error))
    {
      g_message ("connection %d refused: %s", conn->fd, tls_error->message);
      end_connection (conn, transport);
      return NULL;
    }
  rthunk_server_transport_setup (transport, &server->limits);
  account->fd = conn->fd;
  account->peer = rthunk_log_peer_of (conn->fd);
  rthunk_conn_account_set_current (account);
  rthunk_server_serve_transport (server->state, server->processor, transport);
  rthunk_conn_account_set_current (NULL);
  rthunk_handler_connection_closed (server->state, account);
  end_connection (conn, transport);
  return NULL;
}

static void
start_connection (RthunkServer *server,
                  int           fd)
{
  g_autoptr(GError) error = NULL;
  Connection *conn;
  GThread *thread;

  g_mutex_lock (&server->lock);
  if (server->stopping || g_hash_table_size (server->live_fds) >= server->limits.max_connections)
    {
      g_mutex_unlock (&server->lock);
      g_message ("refusing a connection: %u connections open, the limit",
                 server->limits.max_connections);
      close (fd);
      return;
    }
  g_hash_table_add (server->live_fds, GINT_TO_POINTER (fd));
  g_mutex_unlock (&server->lock);

  if (!rthunk_frame_set_timeouts (fd, server->limits.io_timeout_ms, &error))
    g_warning ("cannot set socket timeouts: %s", error->message);
  /* a reply leaves at once, even while the one before is unacknowledged
   * (a client sends frames without waiting for their replies) */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof (int));
  conn = g_new0 (Connection, 1);
  conn->server = g_object_ref (server);
  conn->fd = fd;
  thread = g_thread_try_new ("rthunk-conn", serve_connection, conn, &error);
  if (thread == NULL)
    {
      g_warning ("cannot start a connection thread: %s", error->message);
      g_mutex_lock (&server->lock);
      g_hash_table_remove (server->live_fds, GINT_TO_POINTER (fd));
      g_mutex_unlock (&server->lock);
      close (fd);
      g_object_unref (server);
      g_free (conn);
      return;
    }
  g_thread_unref (thread);
}

static gpointer
accept_loop (gpointer data)
{
  RthunkServer *server = data;

  for (;;)
    {
      int fd = accept4 (server->listen_fd, NULL, NULL, SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              g_warning ("accept: %s", g_strerror (errno));
              g_usleep (10000);
              continue;
            }
          break;          /* the listening socket was shut down */
        }
      start_connection (server, fd);
    }
  return NULL;
}

/* ---- listening --------------------------------------------------------- */

static int
bind_socket (const char  *address,
             guint16      port,
             GError     **error)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *result = NULL;
  g_autofree char *service = g_strdup_printf ("%u", port);
  int fd = -1, rc, saved = 0;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if ((rc = getaddrinfo (address, service, &hints, &result)) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("cannot resolve “%s”: %s"), address, gai_strerror (rc));
      return -1;
    }
  for (struct addrinfo *ai = result; ai != NULL && fd < 0; ai = ai->ai_next)
    {
      int one = 1;

      fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0)
        continue;
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen (fd, 512) < 0)
        {
          saved = errno;
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (result);
  if (fd < 0)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                 _("cannot listen on %s port %u: %s"), address, port, g_strerror (saved));
  return fd;
}

static guint16
bound_port (int fd)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;

  if (getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    return 0;
  if (addr.ss_family == AF_INET6)
    return g_ntohs (((struct sockaddr_in6 *) &addr)->sin6_port);
  return g_ntohs (((struct sockaddr_in *) &addr)->sin_port);
}

/**
 * rthunk_server_listen:
 * @server: a server
 * @address: (nullable): the address to bind, `127.0.0.1` if %NULL
 * @port: the port, or 0 for any free one
 * @error: return location for a #GError
 *
 * Binds, starts the worker pool and the accept loop, and returns; the
 * server runs in its own threads until rthunk_server_stop().
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_server_listen (RthunkServer  *server,
                      const char    *address,
                      guint16        port,
                      GError       **error)
{
  g_autoptr(RthunkHandler) handler = NULL;
  RthunkStore *store = NULL;
  RthunkRedisOptions redis = { server->store_password, 0, server->store_tls_ca_file,
                               server->store_tls_cert_file, server->store_tls_key_file, "--store-tls-ca" };

  g_return_val_if_fail (RTHUNK_IS_SERVER (server), FALSE);
  g_return_val_if_fail (server->listen_fd < 0 && server->state == NULL, FALSE);

  if (server->store_uri != NULL && g_strcmp0 (server->store_uri, "memory") != 0 &&
      (store = rthunk_store_open (server->store_uri, &redis, server->limits.store_timeout_ms,
                                  server->limits.store_ttl_s, error)) == NULL)
    return FALSE;
  server->listen_fd = bind_socket (address != NULL ? address : "127.0.0.1", port, error);
  if (server->listen_fd < 0)
    {
      g_clear_pointer (&store, rthunk_store_free);
      return FALSE;
    }
  server->port = bound_port (server->listen_fd);
  server->state = rthunk_server_state_new (server->catalog, server->name, &server->limits);
  rthunk_server_state_set_token (server->state, server->token);
  rthunk_server_state_set_fetch_from (server->state, (const char *const *) server->fetch_from);
  rthunk_server_state_set_store (server->state, store);
  rthunk_server_state_set_state_store (server->state, server->state_store);
  if (server->tls_certificate != NULL)
    rthunk_server_state_set_peer_tls (server->state, server->peer_tls_ca_file,
                                      server->tls_cert_file, server->tls_key_file);
  handler = rthunk_handler_new (server->state);
  server->processor = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_PROCESSOR,
                                    "handler", handler, NULL);
  server->accept_thread = g_thread_new ("rthunk-accept", accept_loop, server);
  g_debug ("server %s listening on port %u", server->name, server->port);
  return TRUE;
}

/* Lets accepted thunks run for the drain timeout, then cancels what is
 * left with a reason; returns whether any thunk was unfinished. */
static gboolean
drain_thunks (RthunkServer *server)
{
  RthunkThunkTable *table = rthunk_server_state_get_table (server->state);
  g_autoptr(GError) reason = NULL;
  gint64 now = g_get_monotonic_time ();
  guint left;

  if (rthunk_thunk_table_count_unfinished (table) == 0)
    return FALSE;
  if (rthunk_thunk_table_wait_idle (table, now + (gint64) server->limits.drain_timeout_ms * 1000))
    return TRUE;
  reason = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                _("server shut down before the thunk finished"));
  left = rthunk_thunk_table_cancel_all (table, reason);
  g_message ("drain timeout (%u ms): cancelling %u unfinished thunks",
             server->limits.drain_timeout_ms, left);
  rthunk_thunk_table_wait_idle (table, g_get_monotonic_time () + CANCEL_GRACE_MS * 1000);
  return TRUE;
}

/* Closes every connection; with @linger, first gives clients a moment to
 * read the outcome of their thunks (or to hang up). */
static void
close_connections (RthunkServer *server,
                   gboolean      linger)
{
  gint64 until = g_get_monotonic_time () + LINGER_MS * 1000;
  GHashTableIter iter;
  gpointer fd;

  g_mutex_lock (&server->lock);
  server->stopping = TRUE;
  while (linger && g_hash_table_size (server->live_fds) > 0 &&
         g_cond_wait_until (&server->idle_cond, &server->lock, until))
    ;
  g_hash_table_iter_init (&iter, server->live_fds);
  while (g_hash_table_iter_next (&iter, &fd, NULL))
    shutdown (GPOINTER_TO_INT (fd), SHUT_RDWR);
  while (g_hash_table_size (server->live_fds) > 0)
    g_cond_wait (&server->idle_cond, &server->lock);
  g_mutex_unlock (&server->lock);
}

/**
 * rthunk_server_stop:
 * @server: a server
 *
 * Drains the server: stops accepting connections and refuses new thunks
 * (`Overloaded`, "the server is shutting down"), while open connections
 * can still get, await and cancel the thunks already accepted. Those run
 * on for up to the `drain_timeout_ms` limit; any still unfinished then
 * ends CANCELLED with the reason "server shut down before the thunk
 * finished". Then it closes every connection and waits for the workers.
 * Safe to call more than once, from any one thread.
 *
 * Since: 0.1
 */
void
rthunk_server_stop (RthunkServer *server)
{
  gboolean had_thunks;

  g_return_if_fail (RTHUNK_IS_SERVER (server));

  if (server->listen_fd < 0)
    return;
  shutdown (server->listen_fd, SHUT_RDWR);
  g_thread_join (g_steal_pointer (&server->accept_thread));
  close (server->listen_fd);
  server->listen_fd = -1;

  rthunk_server_state_refuse_new (server->state);
  had_thunks = drain_thunks (server);
  rthunk_thunk_table_close (rthunk_server_state_get_table (server->state));
  close_connections (server, had_thunks);
  rthunk_server_state_drain (server->state);
}

/* The state its handler and workers share (for rthunk-http.c). */
RthunkServerState *
rthunk_server_get_state (RthunkServer *server)
{
  return server->state;
}

/* The functions it serves (for its registration). */
RthunkCatalog *
rthunk_server_get_catalog (RthunkServer *server)
{
  return server->catalog;
}

/* Its TLS certificate, or %NULL when it serves plain connections. */
GTlsCertificate *
rthunk_server_get_tls_certificate (RthunkServer *server)
{
  return server->tls_certificate;
}

/* The numbers of its state (rthunk_server_state_get_stats()) and its
 * connections. */
void
rthunk_server_get_stats (RthunkServer      *server,
                         RthunkServerStats *stats)
{
  rthunk_server_state_get_stats (server->state, stats);
  g_mutex_lock (&server->lock);
  stats->connections = g_hash_table_size (server->live_fds);
  g_mutex_unlock (&server->lock);
  stats->max_connections = server->limits.max_connections;
}
