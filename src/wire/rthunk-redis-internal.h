/* rthunk-redis-internal.h — what the files of a Redis link share (private, never installed)
 *
 * A link (rthunk-redis.c) talks to one or more nodes; a node
 * (rthunk-redis-node.c) is one connection to one Redis, plain or TLS over
 * GIO, speaking RESP through hiredis's encoder and reader; the slot map
 * of a cluster and its redirects are in rthunk-redis-cluster.c.
 */
#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

#include "rthunk-redis-private.h"

G_BEGIN_DECLS

/* What every node of a link connects with. */
typedef struct
{
  gboolean tls;                 /* rediss:// */
  char *user;                   /* the ACL user, or NULL */
  char *password;               /* or NULL: no AUTH */
  int db;
  guint timeout_ms;
  GTlsDatabase *ca;             /* NULL: the system's authorities */
  char *ca_option;              /* the option naming them, for messages */
  GTlsCertificate *identity;    /* NULL: none offered */
} RthunkRedisConfig;

/* One Redis: where it is, and the connection to it when there is one. */
typedef struct
{
  char *host;
  guint16 port;
  char *address;                /* HOST:PORT, for messages and the map */
  GIOStream *stream;            /* a GSocketConnection or a TLS session over one */
  GSocket *socket;              /* under @stream, for waiting */
  redisReader *reader;
  GTlsCertificateFlags refused; /* what the last handshake found wrong */
  gint64 next_try;              /* monotonic µs: no connection before */
  gint64 backoff;
} RthunkRedisNode;

RthunkRedisNode *rthunk_redis_node_new     (const char               *host,
                                            guint16                   port);
void             rthunk_redis_node_free    (RthunkRedisNode          *node);
gboolean         rthunk_redis_node_connect (RthunkRedisNode          *node,
                                            const RthunkRedisConfig  *config,
                                            gint64                    deadline,
                                            GError                  **error);
gboolean         rthunk_redis_node_send    (RthunkRedisNode          *node,
                                            const RthunkRedisCommand *commands,
                                            guint                     n_commands,
                                            gint64                    deadline,
                                            GError                  **error);
redisReply      *rthunk_redis_node_receive (RthunkRedisNode          *node,
                                            gint64                    deadline,
                                            GError                  **error);
redisReply      *rthunk_redis_node_wait    (RthunkRedisNode          *node,
                                            gint64                    deadline,
                                            GCancellable             *cancellable,
                                            GError                  **error);
void             rthunk_redis_node_fail    (RthunkRedisNode          *node);

/* Where a cluster sent a command instead (a MOVED or ASK error reply). */
typedef struct
{
  gboolean ask;                 /* ASK: once, after ASKING; MOVED: for good */
  guint slot;
  char *host;
  guint16 port;
} RthunkRedisRedirect;

gboolean rthunk_redis_parse_host_port (const char         *text,
                                       char              **host,
                                       guint16            *port);
gboolean rthunk_redis_parse_redirect (const redisReply    *reply,
                                      RthunkRedisRedirect *redirect);
gboolean rthunk_redis_parse_slots    (const redisReply    *reply,
                                      const char          *asked_host,
                                      GPtrArray           *ranges);

/* A range of slots and its master, as CLUSTER SLOTS gives them. */
typedef struct
{
  guint first;
  guint last;
  char *host;
  guint16 port;
} RthunkRedisSlotRange;

void rthunk_redis_slot_range_free (RthunkRedisSlotRange *range);

G_END_DECLS
