/* rthunk-redis-private.h — one link to Redis, shared by server and client (private, never installed)
 *
 * A link is what a `redis://` URI names, opened lazily: the first
 * command connects (within the link's timeout), authenticates and selects
 * the database; a connection that fails is dropped and made again on a
 * later command, no sooner than its backoff allows (doubling from 100 ms
 * to 5 s), so while Redis is down a command fails at once. A link is used
 * by one thread at a time; open one per thread that talks to Redis.
 * Replies are hiredis's redisReply (free with freeReplyObject()).
 */
#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

/* How a link connects; every field may be 0 or NULL. */
typedef struct
{
  const char *password;         /* instead of the URI's (read from a file) */
  guint timeout_ms;             /* connecting, and waiting for each reply (0: 2 s) */
} RthunkRedisOptions;

/* One command in argv form: @argc arguments of @argvlen bytes each. */
typedef struct
{
  int argc;
  const char **argv;
  const size_t *argvlen;
} RthunkRedisCommand;

typedef struct _RthunkRedis RthunkRedis;

G_GNUC_WARN_UNUSED_RESULT
RthunkRedis *rthunk_redis_open     (const char                *uri,
                                    const RthunkRedisOptions  *options,
                                    GError                   **error);
void         rthunk_redis_close    (RthunkRedis               *redis);
G_GNUC_WARN_UNUSED_RESULT
redisReply  *rthunk_redis_command  (RthunkRedis               *redis,
                                    const RthunkRedisCommand  *command,
                                    GError                   **error);
gboolean     rthunk_redis_pipeline (RthunkRedis               *redis,
                                    const RthunkRedisCommand  *commands,
                                    guint                      n_commands,
                                    GError                   **error);
G_GNUC_WARN_UNUSED_RESULT
redisReply  *rthunk_redis_wait_message (RthunkRedis           *redis,
                                        guint                  wait_ms,
                                        GError               **error);
G_GNUC_WARN_UNUSED_RESULT
char        *rthunk_redis_redacted_uri (const char            *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkRedis, rthunk_redis_close)

G_END_DECLS
