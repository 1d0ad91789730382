/* rthunk-registry-private.h — the fleet's membership in Redis: the names
 * of its keys and channel, and commands given as words.  Never installed.
 *
 * A server that registers (rthunkd --registry) keeps a hash
 * `rthunk:{members}:HOST:PORT` (its name, address, capabilities, catalog
 * hash, load) with a TTL it refreshes, adds its address to the set
 * `rthunk:{members}:all`, and says `join HOST:PORT` / `leave HOST:PORT`
 * on the channel `rthunk:{members}:events`. A client that follows the
 * registry reads the set, keeps the addresses whose hash exists, and
 * listens on the channel. Audits' verdicts go to the hash
 * `rthunk:{members}:reputation:HOST:PORT`. Every key carries the hash tag
 * `{members}`: in a Redis Cluster they live on one node.
 */
#pragma once

#include <glib.h>

#include "rthunk-redis-private.h"

G_BEGIN_DECLS

#define RTHUNK_REGISTRY_SET "rthunk:{members}:all"
#define RTHUNK_REGISTRY_CHANNEL "rthunk:{members}:events"
/* how long the shared reputation of a server is kept after its last verdict */
#define RTHUNK_REGISTRY_REPUTATION_TTL_S (7 * 24 * 3600)

char       *rthunk_registry_member_key     (const char   *address) G_GNUC_WARN_UNUSED_RESULT;
char       *rthunk_registry_reputation_key (const char   *address) G_GNUC_WARN_UNUSED_RESULT;
redisReply *rthunk_registry_command        (RthunkRedis  *redis,
                                            GError      **error,
                                            ...) G_GNUC_NULL_TERMINATED G_GNUC_WARN_UNUSED_RESULT;
gboolean    rthunk_registry_ran            (redisReply   *reply);
GHashTable *rthunk_registry_reply_fields   (redisReply   *reply) G_GNUC_WARN_UNUSED_RESULT;

/* Runs a command whose reply says nothing more than that it ran: %TRUE,
 * or %FALSE with @error set. */
#define rthunk_registry_run(redis, error, ...) \
  rthunk_registry_ran (rthunk_registry_command ((redis), (error), __VA_ARGS__))

G_END_DECLS
