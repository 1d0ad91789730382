/* rthunk-store-redis.c — the store in Redis (`redis://…`)
 *
 * An entry is the string `rthunk:KIND:HEX-KEY`, written with SET … EX TTL;
 * in a Redis Cluster each entry goes to the node of its own slot (no two
 * entries are ever read or written together, so they need no hash tag).
 * Each reader of the store has a link of its own (rthunk-redis.c), with
 * the store's timeout for connecting and for every reply, and the writer
 * has one, which sends each batch as a pipeline. While Redis is down a
 * link fails at once, and a read is a miss.
 */
#include "config.h"

#include <string.h>

#include "rthunk-redis-private.h"
#include "rthunk-store.h"

#define WRITE_TIMEOUT_MS 2000
#define ENTRY_NAME_LEN (sizeof "rthunk:k:" - 1 + 2 * RTHUNK_HASH_LEN)

typedef struct
{
  RthunkStoreBackend parent;
  RthunkRedis *readers[RTHUNK_STORE_READERS];
  RthunkRedis *writer;
} RedisBackend;

static void
entry_name (RthunkStoreKind  kind,
            const guint8    *key,
            char             name[ENTRY_NAME_LEN + 1])
{
  memcpy (name, "rthunk:k:", 9);
  name[7] = (char) kind;
  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    g_snprintf (name + 9 + 2 * k, 3, "%02x", key[k]);
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
  char name[ENTRY_NAME_LEN + 1];
  const char *argv[] = { "GET", name };
  const size_t argvlen[] = { 3, ENTRY_NAME_LEN };
  const RthunkRedisCommand get = { 2, argv, argvlen };
  redisReply *reply;

  entry_name (kind, key, name);
  if ((reply = rthunk_redis_command (self->readers[reader], &get, error)) == NULL)
    return FALSE;
  if (reply->type == REDIS_REPLY_STRING)
    *value = g_bytes_new (reply->str, reply->len);
  freeReplyObject (reply);
  return TRUE;
}

/* SET NAME VALUE EX TTL, its arguments in @argv and @argvlen */
typedef struct
{
  char name[ENTRY_NAME_LEN + 1];
  const char *argv[5];
  size_t argvlen[5];
} SetCommand;

static gboolean
redis_put_batch (RthunkStoreBackend  *backend,
                 GPtrArray           *items,
                 guint                ttl_s,
                 GError             **error)
{
  RedisBackend *self = (RedisBackend *) backend;
  g_autofree char *ttl = g_strdup_printf ("%u", MAX (ttl_s, 1));
  g_autofree SetCommand *sets = g_new (SetCommand, items->len);
  g_autofree RthunkRedisCommand *commands = g_new (RthunkRedisCommand, items->len);

  for (guint k = 0; k < items->len; k++)
    {
      RthunkStoreItem *item = g_ptr_array_index (items, k);
      SetCommand *set = &sets[k];
      gsize len;

      entry_name (item->kind, item->key, set->name);
      set->argv[0] = "SET", set->argvlen[0] = 3;
      set->argv[1] = set->name, set->argvlen[1] = ENTRY_NAME_LEN;
      set->argv[2] = g_bytes_get_data (item->value, &len), set->argvlen[2] = len;
      set->argv[3] = "EX", set->argvlen[3] = 2;
      set->argv[4] = ttl, set->argvlen[4] = strlen (ttl);
      commands[k] = (RthunkRedisCommand) { 5, set->argv, set->argvlen };
    }
  return rthunk_redis_pipeline (self->writer, commands, items->len, error);
}

static void
redis_free (RthunkStoreBackend *backend)
{
  RedisBackend *self = (RedisBackend *) backend;

  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    g_clear_pointer (&self->readers[k], rthunk_redis_close);
  g_clear_pointer (&self->writer, rthunk_redis_close);
  g_free (self);
}

static const RthunkStoreBackendClass redis_class = {
  "redis", redis_get, redis_put_batch, redis_free
};

/* The store in the Redis (or the cluster) @uri names, connecting as
 * @options say (their timeout aside: @timeout_ms for reads); connections
 * are made when first needed, so a Redis that is down at start is not an
 * error. */
RthunkStoreBackend *
rthunk_store_redis_open (const char                *uri,
                         const RthunkRedisOptions  *options,
                         guint                      timeout_ms,
                         GError                   **error)
{
  RedisBackend *self = g_new0 (RedisBackend, 1);
  RthunkRedisOptions reading = *options;
  RthunkRedisOptions writing = *options;

  reading.timeout_ms = MAX (timeout_ms, 1);
  writing.timeout_ms = WRITE_TIMEOUT_MS;

  self->parent.klass = &redis_class;
  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    if ((self->readers[k] = rthunk_redis_open (uri, &reading, error)) == NULL)
      goto fail;
  if ((self->writer = rthunk_redis_open (uri, &writing, error)) == NULL)
    goto fail;
  return &self->parent;
fail:
  redis_free (&self->parent);
  return NULL;
}
