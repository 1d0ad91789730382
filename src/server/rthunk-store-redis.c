/* rthunk-store-redis.c — the store in one Redis (`redis://…`), with hiredis
 *
 * `redis://[USER:PASSWORD@]HOST:PORT[/DB]`. An entry is the string
 * `rthunk:KIND:HEX-KEY`, written with SET … EX TTL. Connections: one for
 * reader of the store, with the store's timeout for connecting and for
 * every reply, and one for the writer, which sends each batch as a
 * pipeline.
 * A connection that fails is dropped and made again on a later call, no
 * sooner than its backoff (doubling from 100 ms to 5 s) allows: while
 * Redis is down a read is a miss at once.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "rthunk-error.h"
#include "rthunk-store.h"

#define BACKOFF_MIN_US (100 * 1000)
#define BACKOFF_MAX_US (5 * 1000 * 1000)
#define WRITE_TIMEOUT_MS 2000

typedef struct
{
  redisContext *context;
  guint timeout_ms;
  gint64 next_try;              /* monotonic µs: no connection before */
  gint64 backoff;
} Link;

typedef struct
{
  RthunkStoreBackend parent;
  char *host;
  int port;
  int db;
  char *user;
  char *password;
  Link readers[RTHUNK_STORE_READERS];
  Link writer;
} RedisBackend;

static void
entry_name (RthunkStoreKind  kind,
            const guint8    *key,
            char             name[sizeof "rthunk:k:" + 2 * RTHUNK_HASH_LEN])
{
  memcpy (name, "rthunk:k:", 9);
  name[7] = (char) kind;
  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    g_snprintf (name + 9 + 2 * k, 3, "%02x", key[k]);
}

static gboolean
link_failed (Link        *link,
             const char  *what,
             GError     **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "redis: %s", what);
  g_clear_pointer (&link->context, redisFree);
  link->backoff = CLAMP (link->backoff * 2, BACKOFF_MIN_US, BACKOFF_MAX_US);
  link->next_try = g_get_monotonic_time () + link->backoff;
  return FALSE;
}

/* Whether @reply is an answer: an error reply (NOAUTH, a full Redis…)
 * fails @link as a lost connection would. Frees @reply if not. */
static gboolean
reply_ok (Link        *link,
          redisReply  *reply,
          GError     **error)
{
  g_autofree char *why = NULL;

  if (reply->type != REDIS_REPLY_ERROR)
    return TRUE;
  why = g_strndup (reply->str, reply->len);
  freeReplyObject (reply);
  return link_failed (link, why, error);
}

/* Runs a command whose reply must not be an error (AUTH, SELECT). */
static gboolean
setup_command (RedisBackend  *self,
               Link          *link,
               GError       **error,
               const char    *format,
               ...)
{
  redisReply *reply;
  va_list args;

  va_start (args, format);
  reply = redisvCommand (link->context, format, args);
  va_end (args);
  if (reply == NULL)
    return link_failed (link, link->context->errstr, error);
  if (!reply_ok (link, reply, error))
    return FALSE;
  freeReplyObject (reply);
  return TRUE;
}

/* A connection on @link, made now if its backoff allows. */
static gboolean
link_ensure (RedisBackend  *self,
             Link          *link,
             GError       **error)
{
  struct timeval tv = { link->timeout_ms / 1000, (link->timeout_ms % 1000) * 1000 };

  if (link->context != NULL)
    return TRUE;
  if (g_get_monotonic_time () < link->next_try)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "redis: not answering"), FALSE;
  link->context = redisConnectWithTimeout (self->host, self->port, tv);
  if (link->context == NULL || link->context->err != 0)
    return link_failed (link, link->context != NULL ? link->context->errstr : "cannot connect", error);
  redisSetTimeout (link->context, tv);
  if (self->password != NULL &&
      !(self->user != NULL ? setup_command (self, link, error, "AUTH %s %s", self->user, self->password)
                           : setup_command (self, link, error, "AUTH %s", self->password)))
    return FALSE;
  if (self->db != 0 && !setup_command (self, link, error, "SELECT %d", self->db))
    return FALSE;
  link->backoff = 0;
  return TRUE;
}

static gboolean
redis_get (RthunkStoreBackend  *backend,
           guint                reader,
           RthunkStoreKind      kind,
           const guint8        *key,
           GBytes             **value,
           GError             **error)
{
  RedisBackend *self = (RedisBackend *) backend;
  Link *link = &self->readers[reader];
  char name[sizeof "rthunk:k:" + 2 * RTHUNK_HASH_LEN];
  redisReply *reply;

  if (!link_ensure (self, link, error))
    return FALSE;
  entry_name (kind, key, name);
  if ((reply = redisCommand (link->context, "GET %s", name)) == NULL)
    return link_failed (link, link->context->errstr, error);
  if (!reply_ok (link, reply, error))
    return FALSE;
  if (reply->type == REDIS_REPLY_STRING)
    *value = g_bytes_new (reply->str, reply->len);
  freeReplyObject (reply);
  return TRUE;
}

static gboolean
redis_put_batch (RthunkStoreBackend  *backend,
                 GPtrArray           *items,
                 guint                ttl_s,
                 GError             **error)
{
  RedisBackend *self = (RedisBackend *) backend;

  if (!link_ensure (self, &self->writer, error))
    return FALSE;
  for (guint k = 0; k < items->len; k++)
    {
      RthunkStoreItem *item = g_ptr_array_index (items, k);
      char name[sizeof "rthunk:k:" + 2 * RTHUNK_HASH_LEN];
      gsize len;
      const void *data = g_bytes_get_data (item->value, &len);

      entry_name (item->kind, item->key, name);
      redisAppendCommand (self->writer.context, "SET %s %b EX %u", name, data, len, MAX (ttl_s, 1));
    }
  for (guint k = 0; k < items->len; k++)
    {
      redisReply *reply = NULL;

      if (redisGetReply (self->writer.context, (void **) &reply) != REDIS_OK)
        return link_failed (&self->writer, self->writer.context->errstr, error);
      if (!reply_ok (&self->writer, reply, error))
        return FALSE;
      freeReplyObject (reply);
    }
  return TRUE;
}

static void
redis_free (RthunkStoreBackend *backend)
{
  RedisBackend *self = (RedisBackend *) backend;

  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    g_clear_pointer (&self->readers[k].context, redisFree);
  g_clear_pointer (&self->writer.context, redisFree);
  g_free (self->host);
  g_free (self->user);
  g_free (self->password);
  g_free (self);
}

static const RthunkStoreBackendClass redis_class = {
  "redis", redis_get, redis_put_batch, redis_free
};

/* Reads `[USER:PASSWORD@]HOST:PORT[/DB]` (after `redis://`). */
static gboolean
parse_uri (RedisBackend  *self,
           const char    *uri,
           GError       **error)
{
  g_autofree char *rest = g_strdup (uri + strlen ("redis://"));
  char *at = strrchr (rest, '@');
  char *host = at != NULL ? at + 1 : rest;
  char *slash = strchr (host, '/');
  char *colon, *end = NULL;

  if (at != NULL)
    {
      char *sep;

      *at = '\0';
      if ((sep = strchr (rest, ':')) != NULL)
        *sep = '\0';
      /* USER:PASSWORD@, :PASSWORD@ or USER@ (the password from a file) */
      self->user = *rest != '\0' ? g_strdup (rest) : NULL;
      self->password = sep != NULL ? g_strdup (sep + 1) : NULL;
    }
  if (slash != NULL)
    {
      *slash = '\0';
      self->db = (int) strtol (slash + 1, &end, 10);
      if (slash[1] == '\0' || *end != '\0' || self->db < 0)
        goto bad;
    }
  if ((colon = strrchr (host, ':')) == NULL || colon == host)
    goto bad;
  *colon = '\0';
  self->port = (int) strtol (colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || self->port <= 0 || self->port > 65535)
    goto bad;
  self->host = g_strdup (host);
  return TRUE;
bad:
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
               _("store: expected redis://[USER:PASSWORD@]HOST:PORT[/DB]"));
  return FALSE;
}

/* The store in the Redis @uri names, authenticating with @password if
 * not NULL (else with the URI's); connections are made when first needed,
 * so a Redis that is down at start is not an error. */
RthunkStoreBackend *
rthunk_store_redis_open (const char  *uri,
                         const char  *password,
                         guint        timeout_ms,
                         GError     **error)
{
  RedisBackend *self = g_new0 (RedisBackend, 1);

  self->parent.klass = &redis_class;
  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    self->readers[k].timeout_ms = MAX (timeout_ms, 1);
  self->writer.timeout_ms = WRITE_TIMEOUT_MS;
  if (!parse_uri (self, uri, error))
    {
      redis_free (&self->parent);
      return NULL;
    }
  if (password != NULL)
    {
      g_free (self->password);
      self->password = g_strdup (password);
    }
  return &self->parent;
}
