/* rthunk-cluster-registry.c — a cluster that follows the fleet's registry
 *
 * rthunk_cluster_follow_registry() reads the registry once (every server
 * registered there joins the cluster before it returns), then a thread
 * follows it: it listens on the registry's channel, where servers say
 * `join` and `leave`, and reads the registry again at each message and at
 * least every RESYNC_US (a server killed without leaving is gone once its
 * record expired). A server brought by the registry whose record is gone
 * leaves the cluster; one named by a flag or a file stays whatever the
 * registry says. Nothing a request does waits on Redis: joins, leaves and
 * reputations are the thread's.
 *
 * Reputation is shared through the registry: the verdicts of this
 * client's audits are added (HINCRBY) to the server's reputation hash,
 * and what every client added is read back at each resync; a server is
 * quarantined here when the shared counts fall under the audits'
 * threshold, or when another client marked it quarantined. While Redis
 * does not answer the cluster keeps the servers it knew, says so once
 * (the registry-notice signal), keeps its verdicts to send later, and the
 * links retry with backoff.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-cluster-internal.h"
#include "rthunk-cluster-private.h"
#include "rthunk-redis-private.h"
#include "rthunk-registry-private.h"

#define RESYNC_US (1 * G_USEC_PER_SEC)
#define DEFAULT_TIMEOUT_MS 500

struct _RthunkClusterRegistry
{
  RthunkCluster *cluster;       /* not a reference: the cluster stops the thread first */
  RthunkRedis *redis;           /* reads and writes */
  RthunkRedis *events;          /* the subscription to the channel */
  gboolean subscribed;
  char *shown_uri;              /* without its password */
  GHashTable *brought;          /* addresses it added to the cluster (a set) */
  GThread *thread;
  GCancellable *stop;           /* cancelled when the thread must stop: wakes its waits */
  gboolean failing;             /* said that it does not answer */
  guint longest_ttl_s;          /* of the records read so far */
  gint64 keep_until;            /* monotonic µs: nobody leaves before (see resync()) */
};

/* ---- membership ------------------------------------------------------------ */

/* The addresses registered now (their record exists): the set's members
 * whose hash is there. A stale address (its record expired) is taken out
 * of the set. Notes the longest TTL the records say. */
static GHashTable *
read_registered (RthunkClusterRegistry  *self,
                 GError                **error)
{
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  redisReply *all = rthunk_registry_command (self->redis, error, "SMEMBERS", RTHUNK_REGISTRY_SET, NULL);

  if (all == NULL)
    return NULL;
  for (size_t k = 0; k < all->elements; k++)
    {
      g_autofree char *address = g_strndup (all->element[k]->str, all->element[k]->len);
      g_autofree char *key = rthunk_registry_member_key (address);
      redisReply *ttl = rthunk_registry_command (self->redis, error, "HGET", key, "ttl", NULL);
      gboolean there;

      if (ttl == NULL)
        {
          freeReplyObject (all);
          return NULL;
        }
      there = ttl->type == REDIS_REPLY_STRING;
      if (there)
        self->longest_ttl_s = MAX (self->longest_ttl_s,
                                   (guint) CLAMP (g_ascii_strtoll (ttl->str, NULL, 10), 0, 86400));
      freeReplyObject (ttl);
      if (there)
        g_hash_table_add (present, g_steal_pointer (&address));
      else if (!rthunk_registry_run (self->redis, error, "SREM", RTHUNK_REGISTRY_SET, address, NULL))
        {
          freeReplyObject (all);
          return NULL;
        }
    }
  freeReplyObject (all);
  return g_steal_pointer (&present);
}

/* @address is registered: it joins (again), unless a flag or a file
 * brought it already. */
static void
join (RthunkClusterRegistry *self,
      const char            *address)
{
  RthunkCluster *cluster = self->cluster;

  if (g_hash_table_contains (self->brought, address) || rthunk_cluster_has_member (cluster, address, NULL))
    return;
  if (!rthunk_cluster_revive_member (cluster, address) &&
      !rthunk_cluster_add_member (cluster, address, "registry", NULL))
    return;
  g_hash_table_add (self->brought, g_strdup (address));
  g_message ("registry %s: server %s joined", self->shown_uri, address);
  g_signal_emit (cluster, rthunk_cluster_signals[SIGNAL_SERVER_JOINED], 0, address);
}

/* Every server of @present joins; those it brought that are not there
 * any more leave (unless the registry just came back: see resync()). */
static void
reconcile (RthunkClusterRegistry *self,
           GHashTable            *present)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer address;

  g_hash_table_iter_init (&iter, present);
  while (g_hash_table_iter_next (&iter, &address, NULL))
    join (self, address);
  g_hash_table_iter_init (&iter, self->brought);
  while (g_hash_table_iter_next (&iter, &address, NULL))
    if (!g_hash_table_contains (present, address) && g_get_monotonic_time () >= self->keep_until)
      g_ptr_array_add (gone, g_strdup (address));
  for (guint k = 0; k < gone->len; k++)
    {
      const char *left = g_ptr_array_index (gone, k);

      g_hash_table_remove (self->brought, left);
      rthunk_cluster_depart_member (self->cluster, left);
      g_message ("registry %s: server %s left", self->shown_uri, left);
      g_signal_emit (self->cluster, rthunk_cluster_signals[SIGNAL_SERVER_LEFT], 0, left);
    }
}

/* ---- shared reputation ---------------------------------------------------------- */

/* What a member's reputation sync needs, copied under the lock. */
typedef struct
{
  char *address;
  guint agreements;             /* verdicts to add */
  guint disagreements;
  gboolean quarantined;         /* and not said to the registry yet */
} Verdicts;

static void
verdicts_clear (gpointer data)
{
  g_free (((Verdicts *) data)->address);
}

/* The @k-th member the cluster knows of, under its lock: those it routes
 * to, then the departed (whose verdicts are shared all the same). */
static Member *
known_member (RthunkCluster *cluster,
              guint          k)
{
  guint n = cluster->members->len;

  return k < n ? g_ptr_array_index (cluster->members, k) : g_ptr_array_index (cluster->departed, k - n);
}

/* Every member's unsent verdicts, taken (they are given back if the
 * registry does not take them). */
static GArray *
take_verdicts (RthunkCluster *cluster)
{
  GArray *all = g_array_new (FALSE, TRUE, sizeof (Verdicts));

  g_array_set_clear_func (all, verdicts_clear);
  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len + cluster->departed->len; k++)
    {
      Member *m = known_member (cluster, k);
      Verdicts v = { g_strdup (m->address), m->unsent_agreements, m->unsent_disagreements,
                     m->quarantined && !m->quarantine_shared };

      m->unsent_agreements = m->unsent_disagreements = 0;
      if (v.quarantined)
        m->quarantine_shared = TRUE;
      g_array_append_val (all, v);
    }
  g_mutex_unlock (&cluster->lock);
  return all;
}

/* Gives back the verdicts @v the registry did not take. */
static void
give_back (RthunkCluster  *cluster,
           const Verdicts *v)
{
  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len + cluster->departed->len; k++)
    {
      Member *m = known_member (cluster, k);

      if (strcmp (m->address, v->address) != 0)
        continue;
      m->unsent_agreements += v->agreements;
      m->unsent_disagreements += v->disagreements;
      if (v->quarantined)
        m->quarantine_shared = FALSE;
    }
  g_mutex_unlock (&cluster->lock);
}

/* Adds @v to the server's shared reputation. */
static gboolean
send_verdicts (RthunkClusterRegistry  *self,
               const Verdicts         *v,
               GError                **error)
{
  g_autofree char *key = rthunk_registry_reputation_key (v->address);
  g_autofree char *agreed = g_strdup_printf ("%u", v->agreements);
  g_autofree char *disagreed = g_strdup_printf ("%u", v->disagreements);
  g_autofree char *ttl = g_strdup_printf ("%u", RTHUNK_REGISTRY_REPUTATION_TTL_S);

  if (v->agreements == 0 && v->disagreements == 0 && !v->quarantined)
    return TRUE;
  return rthunk_registry_run (self->redis, error, "HINCRBY", key, "agreements", agreed, NULL) &&
         rthunk_registry_run (self->redis, error, "HINCRBY", key, "disagreements", disagreed, NULL) &&
         (!v->quarantined || rthunk_registry_run (self->redis, error, "HSET", key, "quarantined", "1", NULL)) &&
         rthunk_registry_run (self->redis, error, "EXPIRE", key, ttl, NULL);
}

static guint
field_count (GHashTable *fields,
             const char *name)
{
  const char *text = g_hash_table_lookup (fields, name);

  return text != NULL ? (guint) CLAMP (g_ascii_strtoll (text, NULL, 10), 0, G_MAXUINT) : 0;
}

/* Takes the shared reputation @fields of the member at @address: its
 * counts, plus the verdicts of ours not sent yet; it is quarantined if
 * another client did, or if the counts say so. */
static void
apply_reputation (RthunkClusterRegistry *self,
                  const char            *address,
                  GHashTable            *fields)
{
  RthunkCluster *cluster = self->cluster;
  g_autofree char *name = NULL;
  g_autofree char *reason = NULL;

  if (g_hash_table_size (fields) == 0)
    return;
  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len; k++)
    {
      Member *m = g_ptr_array_index (cluster->members, k);

      if (strcmp (m->address, address) != 0)
        continue;
      m->agreements = field_count (fields, "agreements") + m->unsent_agreements;
      m->disagreements = field_count (fields, "disagreements") + m->unsent_disagreements;
      if (!m->quarantined && field_count (fields, "quarantined") > 0)
        {
          g_autofree char *why = g_strdup_printf (_("another client of the registry quarantined it (it disagreed "
                                                    "with the majority in %u of %u checks); nothing goes to it "
                                                    "any more"),
                                                  m->disagreements, m->agreements + m->disagreements);

          m->quarantine_shared = TRUE;
          rthunk_cluster_quarantine_locked (cluster, m, &name, &reason, why);
        }
      else
        rthunk_cluster_judge_locked (cluster, m, &name, &reason);
    }
  g_mutex_unlock (&cluster->lock);
  if (name != NULL)
    rthunk_cluster_tell_quarantined (cluster, name, reason);
}

/* Sends this client's verdicts: every member's, in a new array (those
 * the registry did not take are given back; NULL then, with @error). */
static GArray *
send_all_verdicts (RthunkClusterRegistry  *self,
                   GError                **error)
{
  g_autoptr(GArray) verdicts = take_verdicts (self->cluster);
  gboolean ok = TRUE;

  for (guint k = 0; k < verdicts->len; k++)
    {
      const Verdicts *v = &g_array_index (verdicts, Verdicts, k);

      if (ok)
        ok = send_verdicts (self, v, error);
      if (!ok)
        give_back (self->cluster, v);
    }
  return ok ? g_steal_pointer (&verdicts) : NULL;
}

/* Sends this client's verdicts, then reads every member's shared
 * reputation back. */
static gboolean
sync_reputation (RthunkClusterRegistry  *self,
                 GError                **error)
{
  g_autoptr(GArray) verdicts = send_all_verdicts (self, error);

  if (verdicts == NULL)
    return FALSE;
  for (guint k = 0; k < verdicts->len; k++)
    {
      const char *address = g_array_index (verdicts, Verdicts, k).address;
      g_autofree char *key = rthunk_registry_reputation_key (address);
      redisReply *reply = rthunk_registry_command (self->redis, error, "HGETALL", key, NULL);
      g_autoptr(GHashTable) fields = NULL;

      if (reply == NULL)
        return FALSE;
      fields = rthunk_registry_reply_fields (reply);
      freeReplyObject (reply);
      apply_reputation (self, address, fields);
    }
  return TRUE;
}

/* ---- the thread ------------------------------------------------------------------ */

/* Reads the registry: membership, then reputation; says once that it
 * stopped answering, and once that it answers again. A Redis that comes
 * back may have lost the records (restarted without persistence): for
 * the longest TTL the records said, servers join but none leaves, so that
 * each has refreshed its record before its absence means anything. */
static gboolean
resync (RthunkClusterRegistry *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) present = read_registered (self, &error);
  g_autofree char *notice = NULL;

  if (present != NULL && self->failing)
    self->keep_until = g_get_monotonic_time () + (gint64) self->longest_ttl_s * G_USEC_PER_SEC;
  if (present != NULL)
    reconcile (self, present);
  if (present != NULL && sync_reputation (self, &error))
    {
      if (self->failing)
        notice = g_strdup_printf (_("registry %s answers again"), self->shown_uri);
      self->failing = FALSE;
    }
  else if (!self->failing)
    {
      self->failing = TRUE;
      notice = g_strdup_printf (_("registry %s: %s; keeping the %u servers known until it answers"),
                                self->shown_uri, error->message, rthunk_cluster_get_n_servers (self->cluster));
    }
  if (notice != NULL)
    {
      g_message ("%s", notice);
      g_signal_emit (self->cluster, rthunk_cluster_signals[SIGNAL_REGISTRY_NOTICE], 0, notice);
    }
  return !self->failing;
}

/* Subscribes to the channel, if not yet (or since the link failed). */
static gboolean
subscribe (RthunkClusterRegistry *self)
{
  if (self->subscribed)
    return TRUE;
  if (!rthunk_registry_run (self->events, NULL, "SUBSCRIBE", RTHUNK_REGISTRY_CHANNEL, NULL))
    return FALSE;
  self->subscribed = TRUE;
  return TRUE;
}

/* Waits until @until (monotonic µs) for a message on the channel,
 * subscribing first if needed, or until the thread must stop; TRUE when
 * one came (whatever it said: a resync reads the whole registry). */
static gboolean
wait_event (RthunkClusterRegistry *self,
            gint64                 until)
{
  g_autoptr(GError) error = NULL;
  guint wait_ms = (guint) CLAMP ((until - g_get_monotonic_time ()) / 1000, 0, G_MAXINT);
  redisReply *reply;

  if (!subscribe (self))
    {
      GPollFD stop;

      /* Redis does not answer: until @until, or the stop */
      if (g_cancellable_make_pollfd (self->stop, &stop))
        {
          g_poll (&stop, 1, (gint) wait_ms);
          g_cancellable_release_fd (self->stop);
        }
      return FALSE;
    }
  reply = rthunk_redis_wait_message (self->events, wait_ms, self->stop, &error);
  if (reply == NULL && error != NULL)
    self->subscribed = FALSE;   /* the link reconnects, then subscribes again */
  return rthunk_registry_ran (reply);
}

static gpointer
follow_loop (gpointer data)
{
  RthunkClusterRegistry *self = data;
  gint64 next = g_get_monotonic_time () + RESYNC_US;
  g_autoptr(GArray) verdicts = NULL;

  while (!g_cancellable_is_cancelled (self->stop))
    {
      if (wait_event (self, next) || g_get_monotonic_time () >= next)
        {
          resync (self);
          next = g_get_monotonic_time () + RESYNC_US;
        }
    }
  /* the last verdicts of this client are worth sending */
  g_clear_pointer (&verdicts, g_array_unref);
  verdicts = send_all_verdicts (self, NULL);
  return NULL;
}

static void
registry_free (RthunkClusterRegistry *self)
{
  g_clear_pointer (&self->redis, rthunk_redis_close);
  g_clear_pointer (&self->events, rthunk_redis_close);
  g_hash_table_unref (self->brought);
  g_object_unref (self->stop);
  g_free (self->shown_uri);
  g_free (self);
}

gboolean
rthunk_cluster_follows_registry (RthunkCluster *cluster)
{
  return cluster->registry != NULL;
}

/* Stops following the registry: the cluster's dispose, or a session
 * that closes. */
void
rthunk_cluster_unfollow_registry (RthunkCluster *cluster)
{
  RthunkClusterRegistry *self = cluster->registry;

  if (self == NULL)
    return;
  g_cancellable_cancel (self->stop);
  g_thread_join (self->thread);
  cluster->registry = NULL;
  registry_free (self);
}

/**
 * rthunk_cluster_follow_registry:
 * @cluster: a cluster that follows no registry yet
 * @uri: the registry, a Redis: `redis://[USER:PASSWORD@]HOST:PORT[/DB]`
 *   (or `rediss://…` for TLS, trusting the system's authorities)
 * @password: (nullable): the password, instead of the URI's (read from a
 *   file, say, rather than written on a command line)
 * @timeout_ms: how long one command may wait for Redis (0: 500 ms)
 * @error: return location for a #GError
 *
 * Adds every server registered in the registry (`rthunkd --registry`),
 * then follows it from a thread of its own: a server that registers later
 * joins the cluster ([signal@Rthunk.Cluster::server-joined]), one that
 * deregisters or whose record expires leaves it
 * ([signal@Rthunk.Cluster::server-left]). Servers added otherwise stay
 * whatever the registry says. Audits' verdicts are shared through the
 * registry: a server quarantined by one client is quarantined for every
 * client that follows it (docs/distribution.md, "A fleet").
 *
 * A registry that does not answer is not an error: the cluster keeps the
 * servers it knows, says so once ([signal@Rthunk.Cluster::registry-notice])
 * and tries again with backoff; no submission ever waits on it.
 *
 * A `rediss://` registry with its own authority, or one that asks for a
 * client certificate, is followed with
 * [method@Rthunk.Cluster.follow_registry_tls].
 *
 * Returns: %TRUE, or %FALSE with @error set when @uri is not a Redis URI
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_follow_registry (RthunkCluster  *cluster,
                                const char     *uri,
                                const char     *password,
                                guint           timeout_ms,
                                GError        **error)
{
  return rthunk_cluster_follow_registry_tls (cluster, uri, password, timeout_ms, NULL, NULL, NULL, error);
}

/**
 * rthunk_cluster_follow_registry_tls:
 * @cluster: a cluster that follows no registry yet
 * @uri: the registry, a Redis: `redis://[USER:PASSWORD@]HOST:PORT[/DB]`,
 *   or `rediss://…` for TLS
 * @password: (nullable): the password, instead of the URI's
 * @timeout_ms: how long one command may wait for Redis (0: 500 ms)
 * @ca_file: (nullable) (type filename): for a `rediss://` registry, the
 *   PEM authorities to trust; %NULL for the system's
 * @cert_file: (nullable) (type filename): a PEM client certificate to show
 *   a Redis that asks for one, or %NULL
 * @key_file: (nullable) (type filename): the PEM private key of @cert_file
 * @error: return location for a #GError
 *
 * Follows the registry as [method@Rthunk.Cluster.follow_registry] does,
 * reaching a `rediss://` Redis with these TLS files. A Redis certificate
 * no trusted authority signed is refused, and the
 * [signal@Rthunk.Cluster::registry-notice] says so, naming
 * `--registry-tls-ca` (the shell's flag for @ca_file).
 *
 * Returns: %TRUE, or %FALSE with @error set when @uri is not a Redis URI,
 *   the TLS files are given for a `redis://` one, @cert_file comes
 *   without @key_file (or the other way round), or a file cannot be read
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_follow_registry_tls (RthunkCluster  *cluster,
                                    const char     *uri,
                                    const char     *password,
                                    guint           timeout_ms,
                                    const char     *ca_file,
                                    const char     *cert_file,
                                    const char     *key_file,
                                    GError        **error)
{
  RthunkRedisOptions options = { 0, };
  RthunkClusterRegistry *self;

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), FALSE);
  g_return_val_if_fail (uri != NULL, FALSE);
  g_return_val_if_fail (cluster->registry == NULL, FALSE);

  options.password = password;
  options.timeout_ms = timeout_ms != 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  options.tls_ca_file = ca_file;
  options.tls_cert_file = cert_file;
  options.tls_key_file = key_file;
  options.tls_ca_option = "--registry-tls-ca";
  self = g_new0 (RthunkClusterRegistry, 1);
  self->cluster = cluster;
  self->brought = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->stop = g_cancellable_new ();
  if ((self->redis = rthunk_redis_open (uri, &options, error)) == NULL ||
      (self->events = rthunk_redis_open (uri, &options, error)) == NULL)
    {
      registry_free (self);
      return FALSE;
    }
  self->shown_uri = rthunk_redis_redacted_uri (uri);
  /* subscribed before the first read: a join said meanwhile is not missed */
  subscribe (self);
  resync (self);
  cluster->registry = self;
  self->thread = g_thread_new ("rthunk-registry", follow_loop, self);
  return TRUE;
}
