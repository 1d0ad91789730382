/* rthunk-redis.c — one link to Redis: a single Redis or a Redis Cluster
 *
 * `redis://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][/DB]`, `rediss://…` for
 * TLS. The server's store and the client's membership discovery both talk
 * to Redis through here. The first command asks the first node that
 * answers for CLUSTER SLOTS: a Redis without cluster support makes the
 * link a single one (that node), a slot map makes it a cluster's. In a
 * cluster each command goes to the master of its key's slot; a MOVED
 * reply updates the map (learnt again in full before the next command)
 * and sends the command on, an ASK reply sends it once to the node
 * named, after ASKING. Warning about failures is the caller's: it knows
 * what it was doing.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>
#include <string.h>

#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-redis-internal.h"
#include "rthunk-tls.h"

#define DEFAULT_TIMEOUT_MS 2000
#define MAX_REDIRECTS 5

typedef enum {
  MODE_UNKNOWN,                 /* no node has answered CLUSTER SLOTS yet */
  MODE_SINGLE,
  MODE_CLUSTER
} Mode;

struct _RthunkRedis
{
  RthunkRedisConfig config;
  GPtrArray *seeds;             /* RthunkRedisNode, the URI's, in its order (in @nodes) */
  GHashTable *nodes;            /* HOST:PORT → RthunkRedisNode, owned */
  Mode mode;
  gboolean stale;               /* the map changed: learn it again */
  RthunkRedisNode *single;      /* MODE_SINGLE: the one Redis */
  RthunkRedisNode **slots;      /* MODE_CLUSTER: each slot's master, or NULL */
  RthunkRedisNode *last;        /* where the last command went */
};

/* The node at @host:@port, made when first named. */
static RthunkRedisNode *
node_for (RthunkRedis *redis,
          const char  *host,
          guint16      port)
{
  RthunkRedisNode *made = rthunk_redis_node_new (host, port);
  RthunkRedisNode *known = g_hash_table_lookup (redis->nodes, made->address);

  if (known != NULL)
    {
      rthunk_redis_node_free (made);
      return known;
    }
  g_hash_table_insert (redis->nodes, made->address, made);
  return made;
}

/* Whether @reply is an answer, not an error reply (NOAUTH, a full
 * Redis…), which sets @error and frees @reply. */
static gboolean
reply_ok (RthunkRedisNode  *node,
          redisReply       *reply,
          GError          **error)
{
  if (reply->type != REDIS_REPLY_ERROR)
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "redis %s: %.*s", node->address,
               (int) reply->len, reply->str);
  freeReplyObject (reply);
  return FALSE;
}

/* @command on @node (after ASKING when @asking): its reply, or NULL
 * when the node failed. */
static redisReply *
call (RthunkRedis               *redis,
      RthunkRedisNode           *node,
      gboolean                   asking,
      const RthunkRedisCommand  *command,
      gint64                     deadline,
      GError                   **error)
{
  const char *asking_argv[] = { "ASKING" };
  RthunkRedisCommand both[2] = { { 1, asking_argv, NULL }, *command };
  redisReply *reply;

  redis->last = node;
  if (!rthunk_redis_node_connect (node, &redis->config, deadline, error) ||
      !rthunk_redis_node_send (node, asking ? both : command, asking ? 2 : 1, deadline, error))
    return NULL;
  if (asking)
    {
      if ((reply = rthunk_redis_node_receive (node, deadline, error)) == NULL)
        return NULL;
      freeReplyObject (reply);
    }
  return rthunk_redis_node_receive (node, deadline, error);
}

/* Takes the map of @ranges, which @node gave. */
static void
install_map (RthunkRedis *redis,
             GPtrArray   *ranges)
{
  if (redis->slots == NULL)
    redis->slots = g_new0 (RthunkRedisNode *, RTHUNK_REDIS_SLOTS);
  memset (redis->slots, 0, RTHUNK_REDIS_SLOTS * sizeof *redis->slots);
  for (guint k = 0; k < ranges->len; k++)
    {
      RthunkRedisSlotRange *range = g_ptr_array_index (ranges, k);
      RthunkRedisNode *owner = node_for (redis, range->host, range->port);

      for (guint slot = range->first; slot <= range->last; slot++)
        redis->slots[slot] = owner;
    }
  redis->mode = MODE_CLUSTER;
  redis->stale = FALSE;
}

/* Asks @node for the slot map: TRUE when it gave one or said it is no
 * cluster. */
static gboolean
ask_slots (RthunkRedis      *redis,
           RthunkRedisNode  *node,
           gint64            deadline,
           GError          **error)
{
  const char *argv[] = { "CLUSTER", "SLOTS" };
  const RthunkRedisCommand slots = { 2, argv, NULL };
  g_autoptr(GPtrArray) ranges = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_redis_slot_range_free);
  redisReply *reply = call (redis, node, FALSE, &slots, deadline, error);
  gboolean map;

  if (reply == NULL)
    return FALSE;
  if ((map = rthunk_redis_parse_slots (reply, node->host, ranges) && ranges->len > 0))
    install_map (redis, ranges);
  else if (reply->type == REDIS_REPLY_ERROR && strstr (reply->str, "cluster support disabled") != NULL)
    {
      redis->mode = MODE_SINGLE;
      redis->single = node;
    }
  else
    {
      if (reply->type != REDIS_REPLY_ERROR)
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "redis %s: %s", node->address,
                     _("the cluster has no slots yet"));
      return reply_ok (node, reply, error);
    }
  freeReplyObject (reply);
  return TRUE;
}

/* Learns whether the link is to a cluster, and its map, when it does not
 * know them (or a redirect said the map changed): from the URI's nodes
 * in order, then (for a cluster) any node it knows. */
static gboolean
learn_mode (RthunkRedis  *redis,
            gint64        deadline,
            GError      **error)
{
  g_autoptr(GPtrArray) candidates = g_ptr_array_new ();
  g_autoptr(GError) last = NULL;
  GHashTableIter iter;
  gpointer node;

  if (redis->mode == MODE_SINGLE || (redis->mode == MODE_CLUSTER && !redis->stale))
    return TRUE;
  g_ptr_array_extend (candidates, redis->seeds, NULL, NULL);
  g_hash_table_iter_init (&iter, redis->nodes);
  while (redis->mode == MODE_CLUSTER && g_hash_table_iter_next (&iter, NULL, &node))
    g_ptr_array_add (candidates, node);
  for (guint k = 0; k < candidates->len; k++)
    {
      g_clear_error (&last);
      if (ask_slots (redis, g_ptr_array_index (candidates, k), deadline, &last))
        return TRUE;
    }
  /* a cluster whose map could not be learnt again keeps the one it has */
  if (redis->mode == MODE_CLUSTER)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&last));
  return FALSE;
}

/* The node @command goes to. */
static RthunkRedisNode *
route (RthunkRedis              *redis,
       const RthunkRedisCommand *command)
{
  RthunkRedisNode *owner = NULL;

  if (redis->mode == MODE_SINGLE)
    return redis->single;
  if (command->argc > 1)
    owner = redis->slots[rthunk_redis_key_slot (command->argv[1], command->argvlen != NULL
                                                ? command->argvlen[1] : strlen (command->argv[1]))];
  for (guint slot = 0; owner == NULL && slot < RTHUNK_REDIS_SLOTS; slot++)
    owner = redis->slots[slot];
  return owner;
}

/* Whether @reply redirects (in a cluster): then sets @node and @asking
 * for the next try, and takes a MOVED slot's new master into the map. */
static gboolean
follow_redirect (RthunkRedis       *redis,
                 const redisReply  *reply,
                 RthunkRedisNode  **node,
                 gboolean          *asking)
{
  RthunkRedisRedirect to = { 0, };

  if (redis->mode != MODE_CLUSTER || !rthunk_redis_parse_redirect (reply, &to))
    return FALSE;
  *node = node_for (redis, to.host, to.port);
  *asking = to.ask;
  if (!to.ask)
    {
      redis->slots[to.slot] = *node;
      redis->stale = TRUE;
    }
  g_free (to.host);
  return TRUE;
}

/* Runs @command from @node, following redirects. */
static redisReply *
run (RthunkRedis               *redis,
     RthunkRedisNode           *node,
     const RthunkRedisCommand  *command,
     gint64                     deadline,
     GError                   **error)
{
  gboolean asking = FALSE;

  for (guint hops = 0;; hops++)
    {
      RthunkRedisNode *was = node;
      redisReply *reply = call (redis, node, asking, command, deadline, error);

      if (reply == NULL)
        {
          /* a master gone: another may have its slots now */
          redis->stale = redis->mode == MODE_CLUSTER;
          return NULL;
        }
      if (hops == MAX_REDIRECTS || !follow_redirect (redis, reply, &node, &asking))
        return reply_ok (was, reply, error) ? reply : NULL;
      freeReplyObject (reply);
    }
}

static gint64
deadline_of (RthunkRedis *redis)
{
  return g_get_monotonic_time () + (gint64) redis->config.timeout_ms * 1000;
}

/**
 * rthunk_redis_command:
 * @redis: a link
 * @command: the command; in a cluster it goes to the master of the slot
 *   of its first argument
 * @error: return location for a #GError
 *
 * Sends @command and waits for its reply, at most the link's timeout in
 * all (connecting and redirects included).
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
  gint64 deadline = deadline_of (redis);

  if (!learn_mode (redis, deadline, error))
    return NULL;
  return run (redis, route (redis, command), command, deadline, error);
}

/* Sends the commands of @group (indexes into @commands) to @node in one
 * pipeline; those redirected are added to @again. */
static gboolean
pipeline_on (RthunkRedis               *redis,
             RthunkRedisNode           *node,
             const RthunkRedisCommand  *commands,
             GArray                    *group,
             GArray                    *again,
             gint64                     deadline,
             GError                   **error)
{
  g_autofree RthunkRedisCommand *batch = g_new (RthunkRedisCommand, group->len);
  g_autoptr(GError) first = NULL;

  for (guint k = 0; k < group->len; k++)
    batch[k] = commands[g_array_index (group, guint, k)];
  if (!rthunk_redis_node_connect (node, &redis->config, deadline, error) ||
      !rthunk_redis_node_send (node, batch, group->len, deadline, error))
    return FALSE;
  for (guint k = 0; k < group->len; k++)
    {
      redisReply *reply = rthunk_redis_node_receive (node, deadline, error);
      RthunkRedisNode *next = node;
      gboolean asking;

      if (reply == NULL)
        return FALSE;
      if (follow_redirect (redis, reply, &next, &asking))
        g_array_append_val (again, g_array_index (group, guint, k));
      else if (!reply_ok (node, reply, first == NULL ? &first : NULL))
        continue;
      freeReplyObject (reply);
    }
  if (first == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&first));
  return FALSE;
}

/**
 * rthunk_redis_pipeline:
 * @redis: a link
 * @commands: (array length=n_commands): the commands, routed each as
 *   rthunk_redis_command() routes one
 * @n_commands: how many
 * @error: return location for a #GError
 *
 * Sends every command, one pipeline to each node concerned, then reads
 * every reply; redirected commands are sent on one by one.
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
  gint64 deadline = deadline_of (redis);
  g_autoptr(GHashTable) groups = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  g_autoptr(GArray) again = g_array_new (FALSE, FALSE, sizeof (guint));
  GHashTableIter iter;
  gpointer node, group;

  if (!learn_mode (redis, deadline, error))
    return FALSE;
  for (guint k = 0; k < n_commands; k++)
    {
      RthunkRedisNode *to = route (redis, &commands[k]);

      if ((group = g_hash_table_lookup (groups, to)) == NULL)
        g_hash_table_insert (groups, to, group = g_array_new (FALSE, FALSE, sizeof (guint)));
      g_array_append_val ((GArray *) group, k);
    }
  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, &node, &group))
    if (!pipeline_on (redis, node, commands, group, again, deadline, error))
      {
        redis->stale = redis->mode == MODE_CLUSTER;
        return FALSE;
      }
  for (guint k = 0; k < again->len; k++)
    {
      const RthunkRedisCommand *command = &commands[g_array_index (again, guint, k)];
      redisReply *reply = run (redis, route (redis, command), command, deadline, error);

      if (reply == NULL)
        return FALSE;
      freeReplyObject (reply);
    }
  return TRUE;
}

/**
 * rthunk_redis_wait_message:
 * @redis: a link that subscribed to a channel
 * @wait_ms: how long to wait
 * @cancellable: (nullable): cancelled, it ends the wait at once (a
 *   thread that must stop)
 * @error: return location for a #GError
 *
 * Waits for what Redis sends on its own on a subscribed link (a message
 * published on the channel), at most @wait_ms, on the connection the
 * last command (the SUBSCRIBE) went to.
 *
 * Returns: (transfer full) (nullable): the message; %NULL when none came
 *   in time, or with @error set when the connection failed (it is made
 *   again by the next command, which must subscribe again)
 */
redisReply *
rthunk_redis_wait_message (RthunkRedis   *redis,
                           guint          wait_ms,
                           GCancellable  *cancellable,
                           GError       **error)
{
  if (redis->last == NULL)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "redis: not connected"), NULL;
  return rthunk_redis_node_wait (redis->last, g_get_monotonic_time () + (gint64) wait_ms * 1000, cancellable,
                                 error);
}

/**
 * rthunk_redis_redacted_uri:
 * @uri: a URI
 *
 * Returns: (transfer full): @uri as logs may show it: a password in it
 *   (`//USER:PASSWORD@`) replaced by `***`
 */
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

/**
 * rthunk_redis_is_cluster:
 * @redis: a link
 *
 * Returns: whether it has learnt that it talks to a Redis Cluster
 */
gboolean
rthunk_redis_is_cluster (RthunkRedis *redis)
{
  return redis->mode == MODE_CLUSTER;
}

/* Reads `[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][/DB]` after the scheme. */
static gboolean
parse_authority (RthunkRedis *redis,
                 char        *rest)
{
  char *at = strrchr (rest, '@');
  char *hosts = at != NULL ? at + 1 : rest;
  char *slash = strchr (hosts, '/');
  char *end = NULL;
  g_auto(GStrv) each = NULL;

  if (at != NULL)
    {
      char *sep;

      *at = '\0';
      if ((sep = strchr (rest, ':')) != NULL)
        *sep = '\0';
      /* USER:PASSWORD@, :PASSWORD@ or USER@ (the password from a file) */
      redis->config.user = *rest != '\0' ? g_strdup (rest) : NULL;
      redis->config.password = sep != NULL ? g_strdup (sep + 1) : NULL;
    }
  if (slash != NULL)
    {
      *slash = '\0';
      redis->config.db = (int) strtol (slash + 1, &end, 10);
      if (slash[1] == '\0' || *end != '\0' || redis->config.db < 0)
        return FALSE;
    }
  each = g_strsplit (hosts, ",", -1);
  for (guint k = 0; each[k] != NULL; k++)
    {
      g_autofree char *host = NULL;
      guint16 port;

      if (!rthunk_redis_parse_host_port (each[k], &host, &port))
        return FALSE;
      g_ptr_array_add (redis->seeds, node_for (redis, host, port));
    }
  return redis->seeds->len > 0;
}

/* The CA and client certificate of @options, which only rediss:// uses. */
static gboolean
load_tls (RthunkRedis               *redis,
          const RthunkRedisOptions  *options,
          GError                   **error)
{
  gboolean any = options->tls_ca_file != NULL || options->tls_cert_file != NULL || options->tls_key_file != NULL;

  if (any && !redis->config.tls)
    return g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                _("TLS options for Redis need a rediss:// URI")), FALSE;
  if ((options->tls_cert_file != NULL) != (options->tls_key_file != NULL))
    return g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                _("a client certificate for Redis needs both its certificate and its key")), FALSE;
  redis->config.ca_option = g_strdup (options->tls_ca_option);
  if (options->tls_ca_file != NULL &&
      (redis->config.ca = rthunk_tls_load_ca (options->tls_ca_file, error)) == NULL)
    return FALSE;
  if (options->tls_cert_file != NULL &&
      (redis->config.identity = rthunk_tls_load_identity (options->tls_cert_file, options->tls_key_file,
                                                          error)) == NULL)
    return FALSE;
  return TRUE;
}

/**
 * rthunk_redis_open:
 * @uri: `redis://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][/DB]`, or
 *   `rediss://…` for TLS
 * @options: (nullable): how to connect
 * @error: return location for a #GError
 *
 * Makes a link to the Redis (or the cluster) @uri names. It connects when
 * first used, so a Redis that is down now is not an error.
 *
 * Returns: (transfer full) (nullable): the link; %NULL with @error set
 *   when @uri is malformed or the TLS files cannot be read
 */
RthunkRedis *
rthunk_redis_open (const char                *uri,
                   const RthunkRedisOptions  *options,
                   GError                   **error)
{
  const RthunkRedisOptions none = { 0, };
  g_autoptr(RthunkRedis) redis = g_new0 (RthunkRedis, 1);
  g_autofree char *rest = NULL;

  options = options != NULL ? options : &none;
  redis->seeds = g_ptr_array_new ();
  redis->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) rthunk_redis_node_free);
  redis->config.tls = g_str_has_prefix (uri, "rediss://");
  if (redis->config.tls || g_str_has_prefix (uri, "redis://"))
    rest = g_strdup (strstr (uri, "://") + 3);
  if (rest == NULL || !parse_authority (redis, rest))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("expected redis://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][/DB] (rediss:// for TLS)"));
      return NULL;
    }
  if (!load_tls (redis, options, error))
    return NULL;
  redis->config.timeout_ms = options->timeout_ms != 0 ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
  if (options->password != NULL)
    {
      rthunk_set_str (&redis->config.password, options->password);
    }
  return g_steal_pointer (&redis);
}

/**
 * rthunk_redis_close:
 * @redis: (transfer full): a link
 *
 * Closes its connections and frees it.
 */
void
rthunk_redis_close (RthunkRedis *redis)
{
  g_clear_pointer (&redis->seeds, g_ptr_array_unref);
  g_clear_pointer (&redis->nodes, g_hash_table_unref);
  g_free (redis->slots);
  g_free (redis->config.user);
  g_free (redis->config.password);
  g_clear_object (&redis->config.ca);
  g_free (redis->config.ca_option);
  g_clear_object (&redis->config.identity);
  g_free (redis);
}
