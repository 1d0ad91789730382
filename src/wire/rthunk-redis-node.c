/* rthunk-redis-node.c — one connection to one Redis, plain or TLS, by deadline
 *
 * Debian's hiredis (0.14) has no TLS, so the transport is GIO's, the same
 * for both: a GSocketClient connection, wrapped in a GTlsClientConnection
 * (rthunk-tls.c) for `rediss://`. hiredis only speaks the protocol:
 * redisFormatCommandArgv() encodes a command, a redisReader decodes the
 * replies. Every step waits until a deadline at most: connecting and the
 * handshake run on a private main context whose timer cancels them,
 * reads and writes are non-blocking and wait on the socket for what is
 * left of the time. A failure drops the connection and starts its backoff.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "rthunk-error.h"
#include "rthunk-redis-internal.h"
#include "rthunk-tls.h"

#define BACKOFF_MIN_US (100 * 1000)
#define BACKOFF_MAX_US (5 * 1000 * 1000)
#define READ_CHUNK 16384

RthunkRedisNode *
rthunk_redis_node_new (const char *host,
                       guint16     port)
{
  RthunkRedisNode *node = g_new0 (RthunkRedisNode, 1);

  node->host = g_strdup (host);
  node->port = port;
  node->address = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
  return node;
}

static void
node_close (RthunkRedisNode *node)
{
  if (node->stream != NULL)
    g_io_stream_close (node->stream, NULL, NULL);
  g_clear_object (&node->stream);
  g_clear_object (&node->socket);
  g_clear_pointer (&node->reader, redisReaderFree);
}

void
rthunk_redis_node_free (RthunkRedisNode *node)
{
  node_close (node);
  g_free (node->host);
  g_free (node->address);
  g_free (node);
}

/**
 * rthunk_redis_node_fail:
 * @node: a node
 *
 * Drops its connection: the next one waits out a backoff that doubles
 * from 100 ms to 5 s while the node keeps failing.
 */
void
rthunk_redis_node_fail (RthunkRedisNode *node)
{
  node_close (node);
  node->backoff = CLAMP (node->backoff * 2, BACKOFF_MIN_US, BACKOFF_MAX_US);
  node->next_try = g_get_monotonic_time () + node->backoff;
}

/* Fails @node with @error: "redis HOST:PORT: WHAT" */
static gboolean
node_failed (RthunkRedisNode  *node,
             GError          **error,
             const char       *what)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "redis %s: %s", node->address, what);
  rthunk_redis_node_fail (node);
  return FALSE;
}

/* A timeout or an I/O failure of @node, as @cause says. */
static gboolean
node_io_failed (RthunkRedisNode  *node,
                GError          **error,
                GError           *cause,
                guint             timeout_ms)
{
  g_autofree char *what = NULL;

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    what = g_strdup_printf (_("no answer within %u ms"), timeout_ms);
  else
    what = g_strdup (cause->message);
  return node_failed (node, error, what);
}

static void
on_ready (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
on_deadline (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* Runs @context until *@result is set; @cancellable is cancelled at
 * @deadline (the operation then finishes, cancelled). */
static void
wait_ready (GMainContext   *context,
            GCancellable   *cancellable,
            gint64          deadline,
            GAsyncResult  **result)
{
  gint64 left = MAX (deadline - g_get_monotonic_time (), 0);
  GSource *timer = g_timeout_source_new ((guint) ((left + 999) / 1000));

  g_source_set_callback (timer, on_deadline, cancellable, NULL);
  g_source_attach (timer, context);
  while (*result == NULL)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
}

/* A TCP connection to @node, then the TLS handshake when @config asks
 * for it (@handshake set once it starts), on the caller's thread-default
 * @context. */
static GIOStream *
open_stream (RthunkRedisNode          *node,
             const RthunkRedisConfig  *config,
             GMainContext             *context,
             gint64                    deadline,
             gboolean                 *handshake,
             GError                  **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) where = g_network_address_new (node->host, node->port);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) shaken = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;

  /* straight to the node, as rthunk's own links go: no proxy resolver
   * (libproxy's thread, and its C++ exceptions, inside a daemon) */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_async (client, where, cancellable, on_ready, &connected);
  wait_ready (context, cancellable, deadline, &connected);
  if ((connection = g_socket_client_connect_finish (client, connected, error)) == NULL)
    return NULL;
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (!config->tls)
    return G_IO_STREAM (g_steal_pointer (&connection));
  tls = rthunk_tls_client_new (G_IO_STREAM (connection), node->host, node->port, config->ca, config->identity,
                               &node->refused, error);
  if (tls == NULL)
    return NULL;
  *handshake = TRUE;
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, cancellable, on_ready, &shaken);
  wait_ready (context, cancellable, deadline, &shaken);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (tls), shaken, error))
    return NULL;
  return g_steal_pointer (&tls);
}

/* Connects @node within @deadline, the handshake included; a refused
 * certificate says why. */
static gboolean
connect_stream (RthunkRedisNode          *node,
                const RthunkRedisConfig  *config,
                gint64                    deadline,
                GError                  **error)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GError) described = NULL;
  gboolean handshake = FALSE;

  g_main_context_push_thread_default (context);
  node->refused = 0;
  node->stream = open_stream (node, config, context, deadline, &handshake, &local);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  if (node->stream != NULL)
    {
      g_autoptr(GIOStream) base = NULL;

      if (G_IS_TLS_CONNECTION (node->stream))
        g_object_get (node->stream, "base-io-stream", &base, NULL);
      else
        base = g_object_ref (node->stream);
      node->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
      node->reader = redisReaderCreate ();
      return TRUE;
    }
  if (handshake && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      rthunk_tls_client_error (node->address, config->ca_option, node->refused, local, &described);
      return node_failed (node, error, described->message);
    }
  return node_io_failed (node, error, local, config->timeout_ms);
}

/* Waits until @node's socket is ready for @condition, until @deadline
 * or until @cancellable (nullable) is cancelled. */
static gboolean
wait_socket (RthunkRedisNode  *node,
             GIOCondition      condition,
             gint64            deadline,
             GCancellable     *cancellable,
             GError          **error)
{
  gint64 left = deadline - g_get_monotonic_time ();

  if (left <= 0)
    return g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out"), FALSE;
  return g_socket_condition_timed_wait (node->socket, condition, left, cancellable, error);
}

static gboolean
write_all (RthunkRedisNode  *node,
           const guint8     *data,
           gsize             len,
           gint64            deadline,
           GError          **error)
{
  GPollableOutputStream *output = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (node->stream));

  while (len > 0)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (output, data, len, NULL, &local);

      if (n > 0)
        {
          data += n;
          len -= (gsize) n;
        }
      else if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
      else if (!wait_socket (node, G_IO_OUT, deadline, NULL, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * rthunk_redis_node_send:
 * @node: a connected node
 * @commands: (array length=n_commands): what to send
 * @n_commands: how many
 * @deadline: monotonic µs
 * @error: return location for a #GError
 *
 * Sends the commands, encoded one after another in one write.
 *
 * Returns: %FALSE with @error set (the node failed) when they could not
 *   all be sent by @deadline
 */
gboolean
rthunk_redis_node_send (RthunkRedisNode           *node,
                        const RthunkRedisCommand  *commands,
                        guint                      n_commands,
                        gint64                     deadline,
                        GError                   **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) local = NULL;
  gint64 started = g_get_monotonic_time ();

  for (guint k = 0; k < n_commands; k++)
    {
      char *encoded = NULL;
      int len = redisFormatCommandArgv (&encoded, commands[k].argc, commands[k].argv, commands[k].argvlen);

      if (len < 0)
        return node_failed (node, error, "out of memory");
      g_byte_array_append (out, (const guint8 *) encoded, (guint) len);
      redisFreeCommand (encoded);
    }
  if (write_all (node, out->data, out->len, deadline, &local))
    return TRUE;
  return node_io_failed (node, error, local, (guint) ((deadline - started) / 1000));
}

/* The next reply of @node: read until @deadline (or @cancellable,
 * nullable, is cancelled), then NULL with G_IO_ERROR_TIMED_OUT (or
 * G_IO_ERROR_CANCELLED) in @cause, or an I/O failure in @cause, or a
 * closed connection or bytes that are not RESP (@closed set). */
static redisReply *
read_reply (RthunkRedisNode  *node,
            gint64            deadline,
            GCancellable     *cancellable,
            const char      **closed,
            GError          **cause)
{
  GPollableInputStream *input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (node->stream));
  guint8 buf[READ_CHUNK];

  for (;;)
    {
      g_autoptr(GError) local = NULL;
      void *reply = NULL;
      gssize n;

      if (redisReaderGetReply (node->reader, &reply) != REDIS_OK)
        return *closed = node->reader->errstr, NULL;
      if (reply != NULL)
        return reply;
      n = g_pollable_input_stream_read_nonblocking (input, buf, sizeof buf, NULL, &local);
      if (n > 0)
        redisReaderFeed (node->reader, (const char *) buf, (size_t) n);
      else if (n == 0 || g_error_matches (local, G_TLS_ERROR, G_TLS_ERROR_EOF))
        return *closed = _("the connection was closed"), NULL;
      else if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return g_propagate_error (cause, g_steal_pointer (&local)), NULL;
      else if (!wait_socket (node, G_IO_IN, deadline, cancellable, cause))
        return NULL;
    }
}

/**
 * rthunk_redis_node_receive:
 * @node: a connected node
 * @deadline: monotonic µs
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the next reply (an error reply
 *   too); %NULL with @error set (the node failed) when none came by
 *   @deadline, the connection closed or the bytes were not RESP
 */
redisReply *
rthunk_redis_node_receive (RthunkRedisNode  *node,
                           gint64            deadline,
                           GError          **error)
{
  gint64 started = g_get_monotonic_time ();
  g_autoptr(GError) cause = NULL;
  const char *closed = NULL;
  redisReply *reply = read_reply (node, deadline, NULL, &closed, &cause);

  if (reply == NULL && closed != NULL)
    node_failed (node, error, closed);
  else if (reply == NULL)
    node_io_failed (node, error, cause, (guint) ((deadline - started) / 1000));
  return reply;
}

/**
 * rthunk_redis_node_wait:
 * @node: a node
 * @deadline: monotonic µs
 * @cancellable: (nullable): cancelled, it ends the wait at once
 * @error: return location for a #GError
 *
 * Waits until @deadline for what Redis sends on its own (a message on a
 * subscribed connection).
 *
 * Returns: (transfer full) (nullable): the reply; %NULL when none came in
 *   time (or the wait was cancelled), or with @error set when the node is
 *   not connected or failed
 */
redisReply *
rthunk_redis_node_wait (RthunkRedisNode  *node,
                        gint64            deadline,
                        GCancellable     *cancellable,
                        GError          **error)
{
  g_autoptr(GError) cause = NULL;
  const char *closed = NULL;
  redisReply *reply;

  if (node->stream == NULL)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                        "redis %s: %s", node->address, _("not answering")), NULL;
  reply = read_reply (node, deadline, cancellable, &closed, &cause);
  if (reply == NULL && closed != NULL)
    node_failed (node, error, closed);
  else if (reply == NULL && !g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
           !g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    node_failed (node, error, cause->message);
  return reply;
}

/* Runs a command of the connection's setup (AUTH, SELECT): an error
 * reply fails the connection. */
static gboolean
setup_command (RthunkRedisNode  *node,
               int               argc,
               const char      **argv,
               gint64            deadline,
               GError          **error)
{
  RthunkRedisCommand command = { argc, argv, NULL };
  g_autofree char *why = NULL;
  redisReply *reply;

  if (!rthunk_redis_node_send (node, &command, 1, deadline, error) ||
      (reply = rthunk_redis_node_receive (node, deadline, error)) == NULL)
    return FALSE;
  if (reply->type == REDIS_REPLY_ERROR)
    why = g_strndup (reply->str, reply->len);
  freeReplyObject (reply);
  return why == NULL || node_failed (node, error, why);
}

/**
 * rthunk_redis_node_connect:
 * @node: a node
 * @config: how to connect
 * @deadline: monotonic µs
 * @error: return location for a #GError
 *
 * Makes sure @node is connected, authenticated and on its database:
 * connects now if it is not and its backoff allows.
 *
 * Returns: %TRUE when it is; %FALSE with @error set
 */
gboolean
rthunk_redis_node_connect (RthunkRedisNode          *node,
                           const RthunkRedisConfig  *config,
                           gint64                    deadline,
                           GError                  **error)
{
  g_autofree char *db = g_strdup_printf ("%d", config->db);
  const char *auth_user[] = { "AUTH", config->user, config->password };
  const char *auth[] = { "AUTH", config->password };
  const char *select[] = { "SELECT", db };

  if (node->stream != NULL)
    return TRUE;
  if (g_get_monotonic_time () < node->next_try)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                        "redis %s: %s", node->address, _("not answering")), FALSE;
  if (!connect_stream (node, config, deadline, error))
    return FALSE;
  if (config->password != NULL &&
      !(config->user != NULL ? setup_command (node, 3, auth_user, deadline, error)
                             : setup_command (node, 2, auth, deadline, error)))
    return FALSE;
  if (config->db != 0 && !setup_command (node, 2, select, deadline, error))
    return FALSE;
  node->backoff = 0;
  return TRUE;
}
