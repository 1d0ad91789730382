/* rthunk-registry.c — what the server that registers and the client that
 * follows share: the keys of the fleet's membership in Redis, and
 * commands given as a list of words (rthunk-registry-private.h says what
 * each key holds). */
#include "config.h"

#include <string.h>

#include "rthunk-registry-private.h"

/* `rthunk:{members}:HOST:PORT`: the record of the server at @address */
char *
rthunk_registry_member_key (const char *address)
{
  return g_strconcat ("rthunk:{members}:", address, NULL);
}

/* `rthunk:{members}:reputation:HOST:PORT`: its agreements,
 * disagreements and whether a client quarantined it */
char *
rthunk_registry_reputation_key (const char *address)
{
  return g_strconcat ("rthunk:{members}:reputation:", address, NULL);
}

static redisReply *
command_valist (RthunkRedis  *redis,
                GError      **error,
                va_list       args)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (size_t));
  RthunkRedisCommand command;
  const char *word;

  while ((word = va_arg (args, const char *)) != NULL)
    {
      size_t len = strlen (word);

      g_ptr_array_add (words, (gpointer) word);
      g_array_append_val (lengths, len);
    }
  command.argc = (int) words->len;
  command.argv = (const char **) words->pdata;
  command.argvlen = (const size_t *) lengths->data;
  return rthunk_redis_command (redis, &command, error);
}

/* Runs the command whose words follow (NULL-terminated): its reply, or
 * NULL with @error set when Redis could not answer or answered an error. */
redisReply *
rthunk_registry_command (RthunkRedis  *redis,
                         GError      **error,
                         ...)
{
  redisReply *reply;
  va_list args;

  va_start (args, error);
  reply = command_valist (redis, error, args);
  va_end (args);
  return reply;
}

/* The reply of a command that says nothing more than that it ran,
 * freed: %TRUE when there was one (see rthunk_registry_run()). */
gboolean
rthunk_registry_ran (redisReply *reply)
{
  if (reply == NULL)
    return FALSE;
  freeReplyObject (reply);
  return TRUE;
}

/* The field → value pairs of an HGETALL reply (empty for a missing key). */
GHashTable *
rthunk_registry_reply_fields (redisReply *reply)
{
  GHashTable *fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (reply->type != REDIS_REPLY_ARRAY)
    return fields;
  for (size_t k = 0; k + 1 < reply->elements; k += 2)
    if (reply->element[k]->type == REDIS_REPLY_STRING && reply->element[k + 1]->type == REDIS_REPLY_STRING)
      g_hash_table_insert (fields, g_strndup (reply->element[k]->str, reply->element[k]->len),
                           g_strndup (reply->element[k + 1]->str, reply->element[k + 1]->len));
  return fields;
}
