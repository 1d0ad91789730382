/* rthunk-redis-private.h — one link to Redis, shared by server and client (private, never installed)
 *
 * A link is what a `redis://` or `rediss://` (TLS) URI names: one Redis,
 * or a Redis Cluster reached through one or more of its nodes. It opens
 * lazily: the first command connects (within the link's timeout),
 * authenticates, selects the database and learns whether it talks to a
 * cluster (CLUSTER SLOTS); a connection that fails is dropped and made
 * again on a later command, no sooner than its backoff allows (doubling
 * from 100 ms to 5 s), so while Redis is down a command fails at once.
 * In a cluster a command goes to the node that owns the slot of its key,
 * which is its first argument (argv[1]; a command of one word goes to any
 * node); keys that must be on one node share a {hash tag}. A link is used
 * by one thread at a time: open one per thread that talks to Redis.
 * Replies are hiredis's redisReply (free with freeReplyObject()).
 */
#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

/* The slots of a Redis Cluster; a key's is rthunk_redis_key_slot(). */
#define RTHUNK_REDIS_SLOTS 16384

/* How a link connects; every field may be 0 or NULL. */
typedef struct
{
  const char *password;         /* instead of the URI's (read from a file) */
  guint timeout_ms;             /* a command, connecting included (0: 2 s) */
  const char *tls_ca_file;      /* rediss://: the authorities to trust (NULL: the system's) */
  const char *tls_cert_file;    /* rediss://: a client certificate, when Redis asks for one */
  const char *tls_key_file;     /* … and its key */
  const char *tls_ca_option;    /* the option that names tls_ca_file, for messages */
} RthunkRedisOptions;

/* One command in argv form: @argc arguments of @argvlen bytes each
 * (@argvlen NULL: NUL-terminated strings). */
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
                                        GCancellable          *cancellable,
                                        GError               **error);
gboolean     rthunk_redis_is_cluster (RthunkRedis             *redis);
G_GNUC_WARN_UNUSED_RESULT
char        *rthunk_redis_redacted_uri (const char            *uri);
guint        rthunk_redis_key_slot (const char                *key,
                                    gsize                      len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkRedis, rthunk_redis_close)

G_END_DECLS
