/* rthunk-redis.c — one link to Redis: connect, authenticate, command, reconnect
 *
 * `redis://[USER:PASSWORD@]HOST:PORT[/DB]`. The server's store and the
 * client's membership discovery both talk to Redis through here. A link
 * connects when first used, with its timeout for connecting and for
 * every reply; a connection that fails is dropped and made again no
 * sooner than its backoff (doubling from 100 ms to 5 s) allows, so while
 * Redis is down a command fails at once. Warning about it is the
 * caller's: it knows what it was doing.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "rthunk-error.h"
#include "rthunk-redis-private.h"

#define BACKOFF_MIN_US (100 * 1000)
#define BACKOFF_MAX_US (5 * 1000 * 1000)
#define DEFAULT_TIMEOUT_MS 2000

struct _RthunkRedis
{
  char *host;
  int port;
  int db;
  char *user;
  char *password;
  guint timeout_ms;
  redisContext *context;
  gint64 next_try;              /* monotonic µs: no connection before */
  gint64 backoff;
};

/* Fails the command: the connection is dropped, the next one waits out
 * the backoff. */
static gboolean
link_failed (RthunkRedis  *redis,
             const char   *what,
             GError      **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "redis: %s", what);
  g_clear_pointer (&redis->context, redisFree);
  redis->backoff = CLAMP (redis->backoff * 2, BACKOFF_MIN_US, BACKOFF_MAX_US);
  redis->next_try = g_get_monotonic_time () + redis->backoff;
  return FALSE;
}

/* Whether @reply is an answer, not an error reply (NOAUTH, a full
 * Redis…), which sets @error and frees @reply. */
static gboolean
reply_ok (redisReply  *reply,
          GError     **error)
{
  if (reply->type != REDIS_REPLY_ERROR)
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "redis: %.*s", (int) reply->len, reply->str);
  freeReplyObject (reply);
  return FALSE;
}

/* Runs a command of the connection's setup (AUTH, SELECT): an error
 * reply fails the connection. */
static gboolean
setup_command (RthunkRedis  *redis,
               GError      **error,
               int           argc,
               const char  **argv)
{
  redisReply *reply = redisCommandArgv (redis->context, argc, argv, NULL);
  GError *local = NULL;

  if (reply == NULL)
    return link_failed (redis, redis->context->errstr, error);
  if (!reply_ok (reply, &local))
    {
      link_failed (redis, local->message + strlen ("redis: "), error);
      g_error_free (local);
      return FALSE;
    }
  freeReplyObject (reply);
  return TRUE;
}

/* A connection, made now if the backoff allows. */
static gboolean
link_ensure (RthunkRedis  *redis,
             GError      **error)
{
  struct timeval tv = { redis->timeout_ms / 1000, (redis->timeout_ms % 1000) * 1000 };
  g_autofree char *db = g_strdup_printf ("%d", redis->db);
  const char *auth[] = { "AUTH", redis->user != NULL ? redis->user : redis->password, redis->password };
  const char *select[] = { "SELECT", db };

  if (redis->context != NULL)
    return TRUE;
  if (g_get_monotonic_time () < redis->next_try)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "redis: not answering"), FALSE;
  redis->context = redisConnectWithTimeout (redis->host, redis->port, tv);
  if (redis->context == NULL || redis->context->err != 0)
    return link_failed (redis, redis->context != NULL ? redis->context->errstr : "cannot connect", error);
  redisSetTimeout (redis->context, tv);
  if (redis->password != NULL && !setup_command (redis, error, redis->user != NULL ? 3 : 2, auth))
    return FALSE;
  if (redis->db != 0 && !setup_command (redis, error, 2, select))
    return FALSE;
  redis->backoff = 0;
  return TRUE;
}

/**
 * rthunk_redis_command:
 * @redis: a link
 * @command: the command
 * @error: return location for a #GError
 *
 * Sends @command and waits for its reply, at most the link's timeout.
 *
 * Returns: (transfer full) (nullable): the reply; %NULL with @error set
 *   when Redis could not be reached (%RTHUNK_ERROR_CONNECTION) or
 *   answered an error reply (%RTHUNK_ERROR_INTERNAL)
 */
redisReply *
rthunk_redis_command (RthunkRedis               *redis,
                      const RthunkRedisCommand  *command,
                      GError                   **error)
{
  redisReply *reply;

  if (!link_ensure (redis, error))
    return NULL;
  reply = redisCommandArgv (redis->context, command->argc, command->argv, command->argvlen);
  if (reply == NULL)
    return link_failed (redis, redis->context->errstr, error), NULL;
  return reply_ok (reply, error) ? reply : NULL;
}

/**
 * rthunk_redis_pipeline:
 * @redis: a link
 * @commands: (array length=n_commands): the commands
 * @n_commands: how many
 * @error: return location for a #GError
 *
 * Sends every command, then reads every reply (one round trip).
 *
 * Returns: %TRUE when no reply was an error; %FALSE with @error set as
 *   rthunk_redis_command() does
 */
gboolean
rthunk_redis_pipeline (RthunkRedis               *redis,
                       const RthunkRedisCommand  *commands,
                       guint                      n_commands,
                       GError                   **error)
{
  GError *first = NULL;

  if (!link_ensure (redis, error))
    return FALSE;
  for (guint k = 0; k < n_commands; k++)
    redisAppendCommandArgv (redis->context, commands[k].argc, commands[k].argv, commands[k].argvlen);
  for (guint k = 0; k < n_commands; k++)
    {
      redisReply *reply = NULL;

      if (redisGetReply (redis->context, (void **) &reply) != REDIS_OK)
        {
          g_clear_error (&first);
          return link_failed (redis, redis->context->errstr, error);
        }
      if (reply_ok (reply, first == NULL ? &first : NULL))
        freeReplyObject (reply);
    }
  if (first != NULL)
    g_propagate_error (error, first);
  return first == NULL;
}

/**
 * rthunk_redis_wait_message:
 * @redis: a link that subscribed to a channel
 * @wait_ms: how long to wait
 * @error: return location for a #GError
 *
 * Waits for what Redis sends on its own on a subscribed link (a message
 * published on the channel), at most @wait_ms.
 *
 * Returns: (transfer full) (nullable): the message; %NULL when none came
 *   in time, or with @error set when the connection failed (it is made
 *   again by the next command, which must subscribe again)
 */
redisReply *
rthunk_redis_wait_message (RthunkRedis  *redis,
                           guint         wait_ms,
                           GError      **error)
{
  redisReply *reply = NULL;
  struct pollfd ready;
  int n;

  if (redis->context == NULL)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "redis: not connected"), NULL;
  /* a message read with the last reply waits in the reader */
  if (redisGetReplyFromReader (redis->context, (void **) &reply) != REDIS_OK)
    return link_failed (redis, redis->context->errstr, error), NULL;
  if (reply != NULL)
    return reply;
  ready.fd = redis->context->fd;
  ready.events = POLLIN;
  ready.revents = 0;
  n = poll (&ready, 1, (int) wait_ms);
  if (n == 0 || (n < 0 && errno == EINTR))
    return NULL;
  if (n < 0 || redisBufferRead (redis->context) != REDIS_OK ||
      redisGetReplyFromReader (redis->context, (void **) &reply) != REDIS_OK)
    return link_failed (redis, n < 0 ? g_strerror (errno) : redis->context->errstr, error), NULL;
  return reply;
}

/* @uri as logs may show it: a password in it (`//USER:PASSWORD@`)
 * replaced by `***`. */
char *
rthunk_redis_redacted_uri (const char *uri)
{
  const char *authority = strstr (uri, "://");
  const char *at = authority != NULL ? strrchr (authority, '@') : NULL;
  const char *colon;

  if (at == NULL)
    return g_strdup (uri);
  authority += 3;
  colon = memchr (authority, ':', at - authority);
  return g_strdup_printf ("%.*s***%s", (int) ((colon != NULL ? colon + 1 : authority) - uri), uri, at);
}

/* Reads `[USER:PASSWORD@]HOST:PORT[/DB]` (after `redis://`). */
static gboolean
parse_uri (RthunkRedis  *redis,
           const char   *uri,
           GError      **error)
{
  g_autofree char *rest = g_strdup (uri + strlen ("redis://"));
  char *at = strrchr (rest, '@');
  char *host = at != NULL ? at + 1 : rest;
  char *slash = strchr (host, '/');
  char *colon, *end = NULL;

  if (!g_str_has_prefix (uri, "redis://"))
    goto bad;
  if (at != NULL)
    {
      char *sep;

      *at = '\0';
      if ((sep = strchr (rest, ':')) != NULL)
        *sep = '\0';
      /* USER:PASSWORD@, :PASSWORD@ or USER@ (the password from a file) */
      redis->user = *rest != '\0' ? g_strdup (rest) : NULL;
      redis->password = sep != NULL ? g_strdup (sep + 1) : NULL;
    }
  if (slash != NULL)
    {
      *slash = '\0';
      redis->db = (int) strtol (slash + 1, &end, 10);
      if (slash[1] == '\0' || *end != '\0' || redis->db < 0)
        goto bad;
    }
  if ((colon = strrchr (host, ':')) == NULL || colon == host)
    goto bad;
  *colon = '\0';
  redis->port = (int) strtol (colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || redis->port <= 0 || redis->port > 65535)
    goto bad;
  redis->host = g_strdup (host);
  return TRUE;
bad:
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
               _("store: expected redis://[USER:PASSWORD@]HOST:PORT[/DB]"));
  return FALSE;
}

/**
 * rthunk_redis_open:
 * @uri: `redis://[USER:PASSWORD@]HOST:PORT[/DB]`
 * @options: (nullable): how to connect
 * @error: return location for a #GError
 *
 * Makes a link to the Redis @uri names. It connects when first used, so
 * a Redis that is down now is not an error.
 *
 * Returns: (transfer full) (nullable): the link; %NULL with @error set
 *   when @uri is malformed
 */
RthunkRedis *
rthunk_redis_open (const char                *uri,
                   const RthunkRedisOptions  *options,
                   GError                   **error)
{
  RthunkRedis *redis = g_new0 (RthunkRedis, 1);

  if (!parse_uri (redis, uri, error))
    {
      rthunk_redis_close (redis);
      return NULL;
    }
  redis->timeout_ms = options != NULL && options->timeout_ms != 0 ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
  if (options != NULL && options->password != NULL)
    {
      g_free (redis->password);
      redis->password = g_strdup (options->password);
    }
  return redis;
}

/**
 * rthunk_redis_close:
 * @redis: (transfer full): a link
 *
 * Closes its connection and frees it.
 */
void
rthunk_redis_close (RthunkRedis *redis)
{
  g_clear_pointer (&redis->context, redisFree);
  g_free (redis->host);
  g_free (redis->user);
  g_free (redis->password);
  g_free (redis);
}
