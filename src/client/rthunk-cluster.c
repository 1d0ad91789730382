/* rthunk-cluster.c — many servers: routing, pinning, failover
 *
 * A cluster holds one RthunkClient per server and a catalog merged from
 * theirs. A remote expression goes to a server that provides every catalog
 * function it (and the definitions it uses) names and every capability it
 * `:needs`; `:on NAME` pins it; otherwise the server with the least
 * outstanding work, weighted by its observed latency, wins.
 *
 * Pending values that a cluster returns wrap the client's: when forcing
 * one fails because its server was lost, a pure thunk is submitted again
 * to another eligible server, and an io one fails with an error that says
 * so. A health thread pings every server; a down one is retried with
 * exponential backoff and rejoins when it answers.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-cluster.h"
#include "rthunk-cluster-internal.h"
#include "rthunk-cluster-private.h"
#include "rthunk-catalog.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/**
 * RthunkCluster:
 *
 * Many rthunk servers used as one: a [class@Rthunk.Client] for each,
 * and a catalog merged from theirs ([method@Rthunk.Cluster.get_catalog]).
 *
 * Servers are added with [method@Rthunk.Cluster.add_server], from the
 * `RTHUNK_SERVERS` variable ([method@Rthunk.Cluster.add_servers_from_env])
 * or from a cluster file ([method@Rthunk.Cluster.add_servers_from_file]).
 * [method@Rthunk.Cluster.submit] routes an expression to a server that
 * provides every catalog function it names and every capability it asks
 * for with `:needs`; `:on NAME` pins it to one server; otherwise the
 * server with the least outstanding work, weighted by its latency, wins
 * ([method@Rthunk.Cluster.eligible] tells which servers qualify).
 *
 * A health thread pings every server; one that stops answering is retried
 * with backoff and rejoins when it answers again. When a server is lost,
 * a pending pure thunk is submitted again to another eligible server,
 * while one with side effects fails with an error saying so.
 * A cluster may also follow a registry
 * ([method@Rthunk.Cluster.follow_registry]): every server registered in
 * it joins, servers that register later join while it runs and servers
 * that leave or stop refreshing their record leave (the
 * [signal@Rthunk.Cluster::server-joined] and
 * [signal@Rthunk.Cluster::server-left] signals).
 *
 * With an audit rate ([method@Rthunk.Cluster.set_audit_rate]) a share of
 * the pure thunks also runs on a second server; a server the majority
 * contradicts loses reputation and is quarantined (the
 * [signal@Rthunk.Cluster::quarantined] signal).
 * docs/distribution.md describes routing, failover and audits in full.
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkCluster, rthunk_cluster, G_TYPE_OBJECT)

guint rthunk_cluster_signals[N_CLUSTER_SIGNALS];

static void
member_free (Member *member)
{
  g_free (member->address);
  g_free (member->last_error);
  g_clear_object (&member->client);
  g_free (member);
}

static void
rthunk_cluster_dispose (GObject *object)
{
  RthunkCluster *self = RTHUNK_CLUSTER (object);

  rthunk_cluster_unfollow_registry (self);
  if (self->health != NULL)
    rthunk_thread_stop (&self->health, &self->lock, &self->stop_cond, &self->stopping);
  G_OBJECT_CLASS (rthunk_cluster_parent_class)->dispose (object);
}

static void
rthunk_cluster_finalize (GObject *object)
{
  RthunkCluster *self = RTHUNK_CLUSTER (object);

  g_ptr_array_unref (self->members);
  g_ptr_array_unref (self->departed);
  g_clear_object (&self->catalog);
  g_free (self->token);
  g_free (self->tls_ca);
  g_free (self->tls_cert);
  g_free (self->tls_key);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->stop_cond);
  G_OBJECT_CLASS (rthunk_cluster_parent_class)->finalize (object);
}

static void
rthunk_cluster_class_init (RthunkClusterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rthunk_cluster_dispose;
  object_class->finalize = rthunk_cluster_finalize;

  /**
   * RthunkCluster::quarantined:
   * @cluster: the cluster
   * @name: the server's name
   * @reason: a sentence that says why
   *
   * A server was quarantined (see rthunk_cluster_set_audit_rate()): the
   * majority contradicted it too often. Emitted once per server, in the
   * thread that caught it.
   *
   * Since: 0.1
   */
  rthunk_cluster_signals[SIGNAL_QUARANTINED] =
    g_signal_new ("quarantined", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * RthunkCluster::server-joined:
   * @cluster: the cluster
   * @address: the server's `HOST:PORT`
   *
   * A server registered in the registry the cluster follows joined it
   * (rthunk_cluster_follow_registry()); emitted in the thread that follows
   * the registry, or in the caller's during rthunk_cluster_follow_registry().
   *
   * Since: 0.1
   */
  rthunk_cluster_signals[SIGNAL_SERVER_JOINED] =
    g_signal_new ("server-joined", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * RthunkCluster::server-left:
   * @cluster: the cluster
   * @address: the server's `HOST:PORT`
   *
   * A server the registry had brought left it (it deregistered, or its
   * record expired): nothing new is routed to it. Emitted in the thread
   * that follows the registry.
   *
   * Since: 0.1
   */
  rthunk_cluster_signals[SIGNAL_SERVER_LEFT] =
    g_signal_new ("server-left", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * RthunkCluster::registry-notice:
   * @cluster: the cluster
   * @message: a sentence for the user
   *
   * The registry the cluster follows stopped answering (the cluster keeps
   * the servers it knew), or answers again: said once each time.
   *
   * Since: 0.1
   */
  rthunk_cluster_signals[SIGNAL_REGISTRY_NOTICE] =
    g_signal_new ("registry-notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
rthunk_cluster_init (RthunkCluster *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->stop_cond);
  self->members = g_ptr_array_new_with_free_func ((GDestroyNotify) member_free);
  self->departed = g_ptr_array_new_with_free_func ((GDestroyNotify) member_free);
  self->catalog = rthunk_catalog_new ();
}

/**
 * rthunk_cluster_new:
 *
 * Creates an empty cluster; add servers with rthunk_cluster_add_server().
 *
 * Returns: (transfer full): a new cluster
 *
 * Since: 0.1
 */
RthunkCluster *
rthunk_cluster_new (void)
{
  return g_object_new (RTHUNK_TYPE_CLUSTER, NULL);
}

void
rthunk_cluster_set_call_timeout (RthunkCluster *cluster,
                                 guint          timeout_ms)
{
  cluster->call_timeout_ms = timeout_ms;
}

/**
 * rthunk_cluster_set_token:
 * @cluster: a cluster
 * @token: (nullable): the token every call carries
 *
 * Sets the token sent with every call to every server of the cluster.
 *
 * Since: 0.1
 */
void
rthunk_cluster_set_token (RthunkCluster *cluster,
                          const char    *token)
{
  g_return_if_fail (RTHUNK_IS_CLUSTER (cluster));

  rthunk_set_str (&cluster->token, token);
}

/**
 * rthunk_cluster_set_tls:
 * @cluster: a cluster, before its servers are added
 * @ca_file: (nullable) (type filename): the authorities to trust; %NULL
 *   for the system's
 * @cert_file: (nullable) (type filename): a client certificate for mutual
 *   TLS, or %NULL
 * @key_file: (nullable) (type filename): its private key
 * @error: return location for a #GError
 *
 * Every server added from now on is reached over TLS, as
 * rthunk_client_set_tls() says.
 *
 * Returns: %TRUE when the files could be read; %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_set_tls (RthunkCluster  *cluster,
                        const char     *ca_file,
                        const char     *cert_file,
                        const char     *key_file,
                        GError        **error)
{
  g_autoptr(RthunkClient) probe = rthunk_client_new ("localhost:0");

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), FALSE);

  /* the files are read now, so that a wrong one is an error here */
  if (!rthunk_client_set_tls (probe, ca_file, cert_file, key_file, error))
    return FALSE;
  cluster->tls = TRUE;
  rthunk_set_str (&cluster->tls_ca, ca_file);
  rthunk_set_str (&cluster->tls_cert, cert_file);
  rthunk_set_str (&cluster->tls_key, key_file);
  return TRUE;
}

/* Gives @client the cluster's token and TLS settings: every client made
 * for one of its servers (the session's too) goes through here. */
gboolean
rthunk_cluster_prepare_client (RthunkCluster  *cluster,
                               RthunkClient   *client,
                               GError        **error)
{
  rthunk_client_set_token (client, cluster->token);
  return !cluster->tls ||
         rthunk_client_set_tls (client, cluster->tls_ca, cluster->tls_cert, cluster->tls_key, error);
}

/* ---- the merged catalog --------------------------------------------------- */

/* Adds what @client's server provides that the merged catalog lacks. */
static void
merge_catalog_locked (RthunkCluster *self,
                      RthunkClient  *client)
{
  RthunkCatalog *theirs = rthunk_client_get_catalog (client);
  g_autoptr(GPtrArray) defs = NULL;

  if (theirs == NULL)
    return;
  defs = rthunk_catalog_list (theirs);
  for (guint k = 0; k < defs->len; k++)
    {
      RthunkFuncDef *def = g_ptr_array_index (defs, k);

      if (rthunk_catalog_lookup (self->catalog, rthunk_func_def_get_name (def)) == NULL)
        rthunk_catalog_add_remote (self->catalog, rthunk_func_def_get_name (def),
                                   rthunk_func_def_get_type_term (def),
                                   rthunk_func_def_get_flags (def),
                                   rthunk_func_def_get_doc (def), NULL);
    }
}

/**
 * rthunk_cluster_get_catalog:
 * @cluster: a cluster
 *
 * Gives the catalog merged from those of the cluster's servers.
 *
 * Returns: (transfer none): every function some server of the cluster
 *   provides (a function may exist on some servers only)
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_cluster_get_catalog (RthunkCluster *cluster)
{
  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), NULL);

  return cluster->catalog;
}

/* ---- health ---------------------------------------------------------------- */

static void
ping (RthunkCluster *self,
      Member        *member)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = (rthunk_client_get_server_name (member->client) != NULL ||
                 rthunk_client_connect (member->client, &error)) &&
                rthunk_client_ping (member->client, &error);
  double ms = (g_get_monotonic_time () - start) / 1000.0;

  g_mutex_lock (&self->lock);
  if (ok)
    {
      if (member->state == RTHUNK_MEMBER_DOWN)
        g_message ("server %s is back", member->address);
      member->state = RTHUNK_MEMBER_UP;
      member->latency_ms = member->latency_ms > 0 ? 0.8 * member->latency_ms + 0.2 * ms : ms;
      member->backoff_us = MIN_BACKOFF_US;
      member->next_check_us = g_get_monotonic_time () + HEALTH_PERIOD_US;
      g_clear_pointer (&member->last_error, g_free);
      merge_catalog_locked (self, member->client);
    }
  else
    {
      rthunk_set_str (&member->last_error, error->message);
      if (member->state == RTHUNK_MEMBER_UP)
        g_message ("server %s is down: %s", member->address, error->message);
      member->state = RTHUNK_MEMBER_DOWN;
      member->failures++;
      member->next_check_us = g_get_monotonic_time () + member->backoff_us;
      member->backoff_us = MIN (member->backoff_us * 2, MAX_BACKOFF_US);
    }
  g_mutex_unlock (&self->lock);
}

/* Pings each server when it is due: up ones every second, down ones with
 * exponential backoff. */
static gpointer
health_loop (gpointer data)
{
  RthunkCluster *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      gint64 now = g_get_monotonic_time ();
      Member *due = NULL;

      for (guint k = 0; k < self->members->len && due == NULL; k++)
        {
          Member *member = g_ptr_array_index (self->members, k);

          if (member->next_check_us <= now)
            due = member;
        }
      if (due == NULL)
        {
          g_cond_wait_until (&self->stop_cond, &self->lock, now + 100 * 1000);
          continue;
        }
      due->next_check_us = now + HEALTH_PERIOD_US;
      g_mutex_unlock (&self->lock);
      ping (self, due);
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* The name the server gave itself, or its address if it was never reached. */
const char *
rthunk_cluster_member_name (Member *member)
{
  const char *name = rthunk_client_get_server_name (member->client);

  return name != NULL ? name : member->address;
}

static void
mark_down (RthunkCluster *self,
           Member        *member,
           const GError  *why)
{
  g_mutex_lock (&self->lock);
  if (member->state == RTHUNK_MEMBER_UP)
    g_message ("server %s was lost", member->address);
  member->state = RTHUNK_MEMBER_DOWN;
  if (why != NULL)
    {
      rthunk_set_str (&member->last_error, why->message);
    }
  member->next_check_us = g_get_monotonic_time () + member->backoff_us;
  g_mutex_unlock (&self->lock);
}

/**
 * rthunk_cluster_add_server:
 * @cluster: a cluster
 * @address: `HOST:PORT`
 * @error: return location for a #GError
 *
 * Connects to a server, reads its info and catalog and merges it. A
 * server that cannot be reached now is added as down: the health thread
 * keeps trying it (with backoff), and it joins when it answers; until
 * then the others run what it would have. rthunk_cluster_describe() says
 * it was `added`; rthunk_cluster_add_server_from() says where from.
 *
 * Returns: %TRUE (@error is for compatibility and left unset)
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_add_server (RthunkCluster  *cluster,
                           const char     *address,
                           GError        **error)
{
  return rthunk_cluster_add_server_from (cluster, address, "added", error);
}

/**
 * rthunk_cluster_add_server_from:
 * @cluster: a cluster
 * @address: `HOST:PORT`
 * @origin: where the address came from, one word that `:servers` shows
 *   (`flag`, `env`, `file`, `registry`…)
 * @error: return location for a #GError
 *
 * Adds a server as rthunk_cluster_add_server() does, saying where its
 * address came from. A server already in the cluster is not added again.
 *
 * Returns: %TRUE (@error is for compatibility and left unset)
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_add_server_from (RthunkCluster  *cluster,
                                const char     *address,
                                const char     *origin,
                                GError        **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (origin != NULL, FALSE);

  if (rthunk_cluster_has_member (cluster, address, NULL))
    return TRUE;
  return rthunk_cluster_add_member (cluster, address, origin, error);
}

/* Adds the member at @address, from @origin (interned here). */
gboolean
rthunk_cluster_add_member (RthunkCluster  *cluster,
                           const char     *address,
                           const char     *origin,
                           GError        **error)
{
  g_autoptr(RthunkClient) client = NULL;
  Member *member;
  g_autoptr(GError) down = NULL;

  client = rthunk_client_new_with_timeout (address, cluster->call_timeout_ms);
  if (!rthunk_cluster_prepare_client (cluster, client, error))
    return FALSE;
  member = g_new0 (Member, 1);
  member->address = g_strdup (address);
  member->origin = g_intern_string (origin);
  member->penalty = 1.0;
  member->backoff_us = MIN_BACKOFF_US;
  if (rthunk_client_connect (client, &down) && rthunk_client_ping (client, &down))
    {
      member->state = RTHUNK_MEMBER_UP;
      member->next_check_us = g_get_monotonic_time () + HEALTH_PERIOD_US;
    }
  else
    {
      g_message ("server %s is down: %s", address, down->message);
      member->state = RTHUNK_MEMBER_DOWN;
      member->last_error = g_strdup (down->message);
      member->next_check_us = g_get_monotonic_time () + member->backoff_us;
    }
  member->client = g_steal_pointer (&client);
  g_mutex_lock (&cluster->lock);
  g_ptr_array_add (cluster->members, member);
  merge_catalog_locked (cluster, member->client);
  g_mutex_unlock (&cluster->lock);
  if (cluster->health == NULL)
    cluster->health = g_thread_new ("rthunk-health", health_loop, cluster);
  return TRUE;
}

/* The member at @address in @members, or NULL; the lock held. */
static Member *
find_locked (GPtrArray  *members,
             const char *address,
             guint      *index)
{
  for (guint k = 0; k < members->len; k++)
    if (strcmp (((Member *) g_ptr_array_index (members, k))->address, address) == 0)
      {
        if (index != NULL)
          *index = k;
        return g_ptr_array_index (members, k);
      }
  return NULL;
}

/* Whether a member (not departed) is at @address; its origin in *@origin. */
gboolean
rthunk_cluster_has_member (RthunkCluster  *self,
                           const char     *address,
                           const char    **origin)
{
  Member *member;

  g_mutex_lock (&self->lock);
  member = find_locked (self->members, address, NULL);
  if (member != NULL && origin != NULL)
    *origin = member->origin;
  g_mutex_unlock (&self->lock);
  return member != NULL;
}

/* Moves the member at @address from @from to @to (the departed and the
 * members, or back); FALSE if @from has none there. */
static gboolean
move_member (RthunkCluster *self,
             GPtrArray     *from,
             GPtrArray     *to,
             const char    *address)
{
  Member *member;
  guint index;

  g_mutex_lock (&self->lock);
  if ((member = find_locked (from, address, &index)) != NULL)
    {
      g_ptr_array_add (to, g_ptr_array_steal_index (from, index));
      member->next_check_us = g_get_monotonic_time ();
    }
  g_mutex_unlock (&self->lock);
  return member != NULL;
}

/* A departed member that registers again comes back, reputation and all. */
gboolean
rthunk_cluster_revive_member (RthunkCluster *self,
                              const char    *address)
{
  return move_member (self, self->departed, self->members, address);
}

/* The member at @address left: nothing is routed to it any more, and it
 * is no longer listed; the thunks it runs still point at it. */
gboolean
rthunk_cluster_depart_member (RthunkCluster *self,
                              const char    *address)
{
  return move_member (self, self->members, self->departed, address);
}

gboolean
rthunk_cluster_is_up (RthunkCluster *cluster,
                      const char    *address)
{
  return rthunk_cluster_get_cost (cluster, address, NULL, NULL);
}

/* Whether the member at @address is up; if so, the moving
 * average of its pings in *@latency_ms (0 before the first) and the
 * thunks it runs or we wait for there in *@load. */
gboolean
rthunk_cluster_get_cost (RthunkCluster *cluster,
                         const char    *address,
                         double        *latency_ms,
                         guint         *load)
{
  gboolean up = FALSE;

  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len && !up; k++)
    {
      Member *m = g_ptr_array_index (cluster->members, k);

      up = m->state == RTHUNK_MEMBER_UP && g_strcmp0 (m->address, address) == 0;
      if (up && latency_ms != NULL)
        *latency_ms = m->latency_ms;
      if (up && load != NULL)
        *load = rthunk_client_get_load (m->client) + m->outstanding;
    }
  g_mutex_unlock (&cluster->lock);
  return up;
}

/**
 * rthunk_cluster_add_servers_from_env:
 * @cluster: a cluster
 * @error: return location for a #GError
 *
 * Adds the servers of `RTHUNK_SERVERS` (comma-separated `HOST:PORT`s).
 *
 * Returns: %TRUE, or %FALSE with @error set if one cannot be added
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_add_servers_from_env (RthunkCluster  *cluster,
                                     GError        **error)
{
  const char *env = g_getenv ("RTHUNK_SERVERS");
  g_auto(GStrv) addresses = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), FALSE);

  if (env == NULL)
    return TRUE;
  addresses = g_strsplit (env, ",", -1);
  for (guint k = 0; addresses[k] != NULL; k++)
    {
      g_strstrip (addresses[k]);
      if (addresses[k][0] != '\0' && !rthunk_cluster_add_server_from (cluster, addresses[k], "env", error))
        return FALSE;
    }
  return TRUE;
}

/**
 * rthunk_cluster_add_servers_from_file:
 * @cluster: a cluster
 * @path: a key file with one group per server, each with an `address` key
 * @error: return location for a #GError
 *
 * Adds the servers a cluster file lists:
 * |[
 * [alpha]
 * address=127.0.0.1:9090
 * ]|
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_cluster_add_servers_from_file (RthunkCluster  *cluster,
                                      const char     *path,
                                      GError        **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), FALSE);

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return FALSE;
  groups = g_key_file_get_groups (file, NULL);
  for (guint k = 0; groups[k] != NULL; k++)
    {
      g_autofree char *address = g_key_file_get_string (file, groups[k], "address", error);

      if (address == NULL || !rthunk_cluster_add_server_from (cluster, address, "file", error))
        return FALSE;
    }
  return TRUE;
}

/**
 * rthunk_cluster_get_n_servers:
 * @cluster: a cluster
 *
 * Counts the servers added to the cluster.
 *
 * Returns: how many servers it has, up or down (not those that left the
 *   registry it follows)
 *
 * Since: 0.1
 */
guint
rthunk_cluster_get_n_servers (RthunkCluster *cluster)
{
  guint n;

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), 0);

  g_mutex_lock (&cluster->lock);
  n = cluster->members->len;
  g_mutex_unlock (&cluster->lock);
  return n;
}

static double
score_of (Member *member)
{
  return (member->outstanding + 1) * MAX (member->latency_ms, 0.05) * member->penalty;
}

/* Appends what @describe says of each member, in order, to a new string
 * (the members are read under the cluster's lock). */
typedef void (*DescribeFunc) (Member  *member,
                              guint    index,
                              GString *out);

static char *
describe_members (RthunkCluster *cluster,
                  DescribeFunc   describe)
{
  GString *out = g_string_new (NULL);

  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len; k++)
    describe (g_ptr_array_index (cluster->members, k), k, out);
  g_mutex_unlock (&cluster->lock);
  return g_string_free (out, FALSE);
}

static const char *
state_word (Member *m)
{
  return m->quarantined ? "quarantined" : m->state == RTHUNK_MEMBER_UP ? "up" : "down";
}

/* One line of `:servers`. */
static void
describe_member (Member  *m,
                 guint    index,
                 GString *out)
{
  const char *const *caps = rthunk_client_get_capabilities (m->client);
  g_autofree char *joined = caps != NULL && caps[0] != NULL ? g_strjoinv (",", (char **) caps)
                                                            : g_strdup ("-");
  RthunkCatalog *catalog = rthunk_client_get_catalog (m->client);
  g_autofree char *reputation = rthunk_cluster_reputation_text (m);
  g_autofree char *cells = caps != NULL && g_strv_contains (caps, "state")
    ? g_strdup_printf (" cells=%" G_GINT64_FORMAT, rthunk_client_get_state_cells (m->client)) : g_strdup ("");

  g_string_append_printf (out, "%-12s %-22s functions=%-4u caps=%-8s load=%-4u latency=%.2fms score=%.2f from=%s %s%s %s\n",
                          rthunk_cluster_member_name (m), m->address,
                          catalog != NULL ? rthunk_catalog_get_size (catalog) : 0, joined,
                          rthunk_client_get_load (m->client) + m->outstanding, m->latency_ms,
                          score_of (m), m->origin, reputation, cells, state_word (m));
}

static void
member_info_clear (gpointer data)
{
  RthunkMemberInfo *info = data;

  g_free (info->name);
  g_free (info->address);
  g_free (info->last_error);
}

/* Every member as a RthunkMemberInfo, in order, read under the lock: the
 * fields `:servers` prints, for the shell's dashboard. */
GArray *
rthunk_cluster_list_members (RthunkCluster *cluster)
{
  GArray *infos = g_array_new (FALSE, TRUE, sizeof (RthunkMemberInfo));

  g_array_set_clear_func (infos, member_info_clear);
  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len; k++)
    {
      Member *m = g_ptr_array_index (cluster->members, k);
      RthunkMemberInfo info = {
        g_strdup (rthunk_cluster_member_name (m)), g_strdup (m->address), state_word (m),
        rthunk_client_get_load (m->client) + m->outstanding, m->latency_ms,
        m->agreements, m->disagreements, g_strdup (m->last_error), m->origin,
      };

      g_array_append_val (infos, info);
    }
  g_mutex_unlock (&cluster->lock);
  return infos;
}

/* `alpha up`, after a comma but for the first. */
static void
describe_member_state (Member  *m,
                       guint    index,
                       GString *out)
{
  g_string_append_printf (out, "%s%s %s", index > 0 ? ", " : "", rthunk_cluster_member_name (m), state_word (m));
}

/**
 * rthunk_cluster_describe:
 * @cluster: a cluster
 *
 * Describes every server of the cluster, one line each.
 *
 * Returns: (transfer full): one line per server: name, address,
 *   capabilities, load, latency, score, reputation (checks it agreed and
 *   disagreed with, and whether it is quarantined: see
 *   rthunk_cluster_set_audit_rate()), the state cells it holds
 *   (`cells=N`, for a server with capability `state`), where its address
 *   came from (`from=flag`, `from=registry`…: see
 *   rthunk_cluster_add_server_from()) and state (what `:servers` shows)
 *
 * Since: 0.1
 */
char *
rthunk_cluster_describe (RthunkCluster *cluster)
{
  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), NULL);

  return describe_members (cluster, describe_member);
}

/**
 * rthunk_cluster_describe_states:
 * @cluster: a cluster
 *
 * Says in a few words which servers are up, down or quarantined.
 *
 * Returns: (transfer full): each server's name and whether it is up, on
 *   one line: `alpha up, beta down, liar quarantined` (what the shell's status line shows
 *   while it waits); empty without servers
 *
 * Since: 0.1
 */
char *
rthunk_cluster_describe_states (RthunkCluster *cluster)
{
  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), NULL);

  return describe_members (cluster, describe_member_state);
}

/* ---- routing ----------------------------------------------------------------- */

/* The catalog function names @node and the definitions it uses mention. */
static void
collect_names (RthunkNode *node,
               GHashTable *definitions,
               GHashTable *names,
               GHashTable *seen_defs)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);
      RthunkNode *form = definitions != NULL ? g_hash_table_lookup (definitions, name) : NULL;

      if (form != NULL && !g_hash_table_contains (seen_defs, name))
        {
          g_hash_table_add (seen_defs, (gpointer) name);
          collect_names (form, definitions, names, seen_defs);
        }
      else if (form == NULL)
        g_hash_table_add (names, (gpointer) name);
      return;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    collect_names (rthunk_node_get_item (node, k), definitions, names, seen_defs);
}

static gboolean
has_capability (RthunkClient *client,
                const char   *needs)
{
  const char *const *caps = rthunk_client_get_capabilities (client);

  return needs == NULL || (caps != NULL && g_strv_contains (caps, needs));
}

/* Whether @member provides every catalog function in @names. */
static gboolean
provides (RthunkCluster *self,
          Member        *member,
          GHashTable    *names)
{
  RthunkCatalog *theirs = rthunk_client_get_catalog (member->client);
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (rthunk_catalog_lookup (self->catalog, name) != NULL &&
        (theirs == NULL || rthunk_catalog_lookup (theirs, name) == NULL))
      return FALSE;
  return TRUE;
}

static gboolean
eligible_locked (RthunkCluster *self,
                 Member        *member,
                 GHashTable    *names,
                 const char    *needs)
{
  return member->state == RTHUNK_MEMBER_UP && !member->quarantined && has_capability (member->client, needs) &&
         provides (self, member, names);
}

static gboolean
eligible_now (RthunkCluster *self,
              Member        *member,
              GHashTable    *names,
              const char    *needs)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = eligible_locked (self, member, names, needs);
  g_mutex_unlock (&self->lock);
  return ok;
}

static GHashTable *
names_of (RthunkNode *expr,
          GHashTable *definitions)
{
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  collect_names (expr, definitions, names, seen);
  return names;
}

/**
 * rthunk_cluster_eligible:
 * @cluster: a cluster
 * @expr: a remote expression
 * @definitions: (nullable) (element-type utf8 RthunkNode): the defn forms
 *   it may use
 * @needs: (nullable): a capability it needs
 *
 * Tells which servers could run @expr: those up that provide every catalog
 * function it and its definitions name and the capability it needs, ordered
 * as the cluster would choose.
 *
 * Returns: (transfer full): the names of the servers, up now, that can run
 *   @expr, best first
 *
 * Since: 0.1
 */
GStrv
rthunk_cluster_eligible (RthunkCluster *cluster,
                         RthunkNode    *expr,
                         GHashTable    *definitions,
                         const char    *needs)
{
  g_autoptr(GHashTable) names = names_of (expr, definitions);
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();
  GPtrArray *out = g_ptr_array_new ();

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), NULL);

  g_mutex_lock (&cluster->lock);
  for (guint k = 0; k < cluster->members->len; k++)
    {
      Member *m = g_ptr_array_index (cluster->members, k);

      if (eligible_locked (cluster, m, names, needs))
        g_ptr_array_add (chosen, m);
    }
  for (guint k = 0; k < chosen->len; k++)
    g_ptr_array_add (out, g_strdup (rthunk_client_get_server_name (((Member *) g_ptr_array_index (chosen, k))->client)));
  g_mutex_unlock (&cluster->lock);
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (out, FALSE);
}

/* The server a submission goes to (with one more outstanding thunk), or
 * NULL with @error set. */
static Member *
choose (RthunkCluster  *self,
        GHashTable     *names,
        const char     *on,
        const char     *needs,
        Member         *exclude,
        GError        **error)
{
  g_autoptr(GPtrArray) avoid = g_ptr_array_new ();

  if (exclude != NULL)
    g_ptr_array_add (avoid, exclude);
  return rthunk_cluster_choose_avoiding (self, names, on, needs, avoid, error);
}

static gboolean
any_unreached (RthunkCluster *self)
{
  gboolean any = FALSE;

  g_mutex_lock (&self->lock);
  for (guint k = 0; k < self->members->len && !any; k++)
    any = rthunk_client_get_server_name (((Member *) g_ptr_array_index (self->members, k))->client) == NULL;
  g_mutex_unlock (&self->lock);
  return any;
}

Member *
rthunk_cluster_choose_avoiding (RthunkCluster  *self,
                 GHashTable     *names,
                 const char     *on,
                 const char     *needs,
                 GPtrArray      *avoid,
                 GError        **error)
{
  Member *best = NULL;

  g_mutex_lock (&self->lock);
  for (guint k = 0; k < self->members->len; k++)
    {
      Member *m = g_ptr_array_index (self->members, k);

      if (on != NULL)
        {
          if (g_strcmp0 (rthunk_cluster_member_name (m), on) != 0 && g_strcmp0 (m->address, on) != 0)
            continue;
          if (m->state != RTHUNK_MEMBER_UP)
            {
              g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                           _("%s is down (%s); the form is pinned to it"), on,
                           m->last_error != NULL ? m->last_error : _("not answering"));
              g_mutex_unlock (&self->lock);
              return NULL;
            }
          if (m->quarantined)
            {
              g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                           _("%s is quarantined (it disagreed with the majority in %u of %u checks); "
                             "the form is pinned to it"), on, m->disagreements, m->agreements + m->disagreements);
              g_mutex_unlock (&self->lock);
              return NULL;
            }
          best = m;
          break;
        }
      if (g_ptr_array_find (avoid, m, NULL) || !eligible_locked (self, m, names, needs))
        continue;
      if (best == NULL || score_of (m) < score_of (best))
        best = m;
    }
  if (best != NULL)
    best->outstanding++;
  g_mutex_unlock (&self->lock);
  if (best == NULL && on != NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, _("no server named “%s”%s"), on,
                 any_unreached (self) ? _(" (some servers were never reached: a name is known once a server answers)") : "");
  else if (best == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                 needs != NULL ? _("no server that is up provides every function used and capability “%s”")
                               : _("no server that is up provides every function used"), needs);
  return best;
}

void
rthunk_cluster_done_with (RthunkCluster *self,
           Member        *member)
{
  g_mutex_lock (&self->lock);
  if (member->outstanding > 0)
    member->outstanding--;
  g_mutex_unlock (&self->lock);
}

/* ---- submission and failover ------------------------------------------------ */

static void
cluster_thunk_free (gpointer data)
{
  ClusterThunk *ct = data;

  if (ct->counted)
    rthunk_cluster_done_with (ct->cluster, ct->member);
  g_clear_pointer (&ct->inner, rthunk_value_unref);
  rthunk_node_unref (ct->expr);
  g_clear_pointer (&ct->inputs, g_hash_table_unref);
  g_clear_pointer (&ct->definitions, g_hash_table_unref);
  g_hash_table_unref (ct->names);
  g_free (ct->needs);
  g_free (ct->lost);
  g_object_unref (ct->cluster);
  g_free (ct);
}

static gboolean
is_lost (const GError *error)
{
  return g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION) ||
         g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST) ||
         g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT) ||
         g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK);
}

/* Whether no catalog function @names holds has side effects (io): such an
 * expression may run again elsewhere. */
static gboolean
no_io (RthunkCluster *self,
       GHashTable    *names)
{
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      RthunkFuncDef *def = rthunk_catalog_lookup (self->catalog, name);

      if (def != NULL && (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_IO))
        return FALSE;
    }
  return TRUE;
}

/* The cluster thunk @value stands for, if it is one of @self's. */
ClusterThunk *
rthunk_cluster_thunk_of (RthunkCluster *self,
                  RthunkValue   *value)
{
  ClusterThunk *ct;

  if (!rthunk_value_is_pending (value))
    return NULL;
  ct = rthunk_value_get_handle (value);
  return ct != NULL && ct->magic == CLUSTER_THUNK_MAGIC && ct->cluster == self ? ct : NULL;
}

/* The inputs as @member's client should see them: a pending input that runs
 * on @member itself, or on a server @member fetches from, is its client's
 * pending value, which travels as a reference to the thunk (promise
 * pipelining; across servers, the server fetches it); others are waited
 * for here, with failover. */
typedef struct
{
  RthunkCluster *cluster;
  Member *member;
} InputTarget;

static RthunkValue *
input_for (RthunkValue *value,
           gpointer     user_data)
{
  InputTarget *target = user_data;
  ClusterThunk *input = rthunk_cluster_thunk_of (target->cluster, value);
  gboolean by_reference = input != NULL &&
    (input->member == target->member ||
     rthunk_client_fetches_from (target->member->client, input->member->address));

  return by_reference ? input->inner : value;
}

GHashTable *
rthunk_cluster_inputs_for (RthunkCluster *self,
            Member        *member,
            GHashTable    *inputs)
{
  InputTarget target = { self, member };

  return rthunk_value_table_map (inputs, input_for, &target);
}

/* The server holding a pending input, if any: pipelining wants it there. */
static const char *
holder_of_inputs (RthunkCluster *self,
                  GHashTable    *inputs)
{
  GHashTableIter iter;
  gpointer value;

  if (inputs == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ClusterThunk *input = rthunk_cluster_thunk_of (self, value);
      RthunkClient *client;

      if (input != NULL && input->member->state == RTHUNK_MEMBER_UP)
        return rthunk_client_get_server_name (input->member->client);
      /* a remote reference: its value is used in place there */
      if (rthunk_value_is_reference (value) && (client = rthunk_client_get_pending_thunk (value, NULL)) != NULL)
        return rthunk_client_get_server_name (client);
    }
  return NULL;
}

static RthunkValue *
submit_to (RthunkCluster  *self,
           Member         *member,
           ClusterThunk   *ct,
           GError        **error)
{
  g_autoptr(GHashTable) inputs = rthunk_cluster_inputs_for (self, member, ct->inputs);

  return (ct->by_reference ? rthunk_client_submit_reference : rthunk_client_submit_full)
    (member->client, ct->expr, inputs, ct->definitions, error);
}

/* Why a thunk whose server was lost is not run elsewhere: it was pinned
 * there, or has side effects, or was cancelled. */
static void
lost_error (ClusterThunk  *ct,
            const GError  *cause,
            GError       **error)
{
  const char *name = rthunk_cluster_member_name (ct->member);

  if (ct->cancelled)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the thunk was cancelled on %s"), name);
  else if (ct->pinned)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST,
                 _("server %s was lost mid-thunk, and the thunk is pinned to it (:on \"%s\"): %s"),
                 name, name, cause->message);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST,
                 _("server %s was lost mid-thunk; the thunk has side effects, so it is not run again: %s"),
                 name, cause->message);
}

static gboolean
is_quarantined (RthunkCluster *self,
                Member        *member)
{
  gboolean quarantined;

  g_mutex_lock (&self->lock);
  quarantined = member->quarantined;
  g_mutex_unlock (&self->lock);
  return quarantined;
}

/* Waits for the thunk; a pure one whose server is lost, or was
 * quarantined meanwhile (its result is not used), runs elsewhere; an
 * audited one runs again on a second server. */
static RthunkValue *
cluster_force (gpointer   data,
               GError   **error)
{
  ClusterThunk *ct = data;

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      RthunkValue *value = rthunk_value_force (ct->inner, &local_error);
      const char *why;
      Member *next;

      if (value != NULL && !is_quarantined (ct->cluster, ct->member))
        return ct->audited ? rthunk_cluster_audit (ct, value, error) : value;
      if (value != NULL)
        {
          rthunk_value_unref (value);
          why = _("was quarantined");
          if (ct->cancelled || !ct->pure)
            {
              g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                           _("server %s is quarantined, so its result is not used, and the thunk "
                             "cannot run elsewhere (%s)"), rthunk_cluster_member_name (ct->member),
                           ct->pure ? _("it was cancelled") : _("it has side effects"));
              return NULL;
            }
        }
      else if (!is_lost (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      else
        {
          why = _("was lost");
          mark_down (ct->cluster, ct->member, local_error);
          if (ct->cancelled || !ct->pure)
            {
              lost_error (ct, local_error, error);
              return NULL;
            }
          if (ct->lost == NULL)
            ct->lost = g_strdup (rthunk_cluster_member_name (ct->member));
        }
      if ((next = choose (ct->cluster, ct->names, NULL, ct->needs, ct->member, error)) == NULL)
        {
          g_prefix_error (error, _("server %s %s and no other can take its thunk: "), ct->member->address, why);
          return NULL;
        }
      g_message ("server %s %s: its thunk (no side effects) moves to %s", ct->member->address, why, next->address);
      rthunk_cluster_done_with (ct->cluster, ct->member);
      if ((value = submit_to (ct->cluster, next, ct, error)) == NULL)
        return NULL;
      g_mutex_lock (&ct->cluster->lock);
      ct->member = next;
      g_clear_pointer (&ct->inner, rthunk_value_unref);
      ct->inner = value;
      g_mutex_unlock (&ct->cluster->lock);
    }
}

static const char *
string_option (GHashTable *options,
               const char *key)
{
  RthunkValue *value = options != NULL ? g_hash_table_lookup (options, key) : NULL;

  return value != NULL && rthunk_value_get_kind (value) == RTHUNK_VALUE_STR
    ? rthunk_value_get_str (value) : NULL;
}

/**
 * rthunk_cluster_submit:
 * @cluster: a cluster
 * @expr: the expression to evaluate remotely
 * @options: (nullable) (element-type utf8 RthunkValue): `on` (a server
 *   name), `needs` (a capability) and `verify` (run on that many servers
 *   and compare)
 * @inputs: (nullable) (element-type utf8 RthunkValue): the values @expr reads
 * @definitions: (nullable) (element-type utf8 RthunkNode): the defn forms it
 *   may use
 * @error: return location for a #GError
 *
 * Routes @expr to a server (see the file's description) and submits it.
 * A form that uses state cells (functions with the `state` flag) runs on
 * the server holding them: `on`, or else the server with capability
 * `state` that the cell's name (a string literal) picks by rendezvous
 * hashing.
 * The value is pending unless the server answered inline; forcing a
 * pending one fails over to another server when its own is lost and the
 * expression is pure.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_cluster_submit (RthunkCluster  *cluster,
                       RthunkNode     *expr,
                       GHashTable     *options,
                       GHashTable     *inputs,
                       GHashTable     *definitions,
                       GError        **error)
{
  ClusterThunk *ct;
  const char *on = string_option (options, "on");
  const char *needs = string_option (options, "needs");
  g_autofree char *home = NULL;
  gboolean uses_state;
  GHashTable *names;
  Member *member;
  RthunkValue *value;

  g_return_val_if_fail (RTHUNK_IS_CLUSTER (cluster), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  /* a form that uses a state cell runs where the cell is held */
  if (!rthunk_cluster_state_route (cluster, expr, definitions, on, &uses_state, &home, error))
    return NULL;
  if (home != NULL)
    on = home;
  if (uses_state && options != NULL && g_hash_table_contains (options, "verify"))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("a form that uses state cells is never verified: it would update them twice"));
      return NULL;
    }
  names = names_of (expr, definitions);
  if (options != NULL && g_hash_table_contains (options, "verify"))
    {
      RthunkValue *copies = g_hash_table_lookup (options, "verify");

      if (rthunk_value_get_kind (copies) != RTHUNK_VALUE_INT || rthunk_value_get_int (copies) < 2 ||
          rthunk_value_get_int (copies) > 16)
        {
          g_hash_table_unref (names);
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _(":verify takes a number of servers from 2 to 16"));
          return NULL;
        }
      return rthunk_cluster_submit_verified (cluster, expr, rthunk_value_get_int (copies), needs, inputs, definitions,
                              names, error);
    }
  ct = g_new0 (ClusterThunk, 1);
  ct->magic = CLUSTER_THUNK_MAGIC;
  ct->cluster = g_object_ref (cluster);
  ct->expr = rthunk_node_ref (expr);
  ct->inputs = inputs != NULL ? g_hash_table_ref (inputs) : NULL;
  ct->definitions = definitions != NULL ? g_hash_table_ref (definitions) : NULL;
  ct->names = names;
  ct->needs = g_strdup (needs);
  ct->pure = no_io (cluster, names) && on == NULL;
  ct->pinned = on != NULL;
  ct->by_reference = options != NULL && g_hash_table_contains (options, "ref");
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      const char *holder = on == NULL ? holder_of_inputs (cluster, inputs) : NULL;

      /* next to a pending input if that server can run it, else the best */
      member = holder != NULL ? choose (cluster, names, holder, needs, NULL, NULL) : NULL;
      if (member != NULL && !eligible_now (cluster, member, names, needs))
        {
          rthunk_cluster_done_with (cluster, member);
          member = NULL;
        }
      if (member == NULL && (member = choose (cluster, names, on, needs, NULL, error)) == NULL)
        {
          cluster_thunk_free (ct);
          return NULL;
        }
      ct->member = member;
      if ((value = submit_to (cluster, member, ct, &local_error)) != NULL)
        break;
      rthunk_cluster_done_with (cluster, member);
      if (!is_lost (local_error) || on != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          cluster_thunk_free (ct);
          return NULL;
        }
      mark_down (cluster, member, local_error);     /* and try the next one */
    }
  /* a value, or a remote reference: nothing to wait for here, unless it
   * is to be audited (when it is forced) */
  ct->audited = rthunk_cluster_should_audit (cluster, ct);
  if (!rthunk_value_is_pending (value) && !ct->audited)
    {
      rthunk_cluster_done_with (cluster, member);
      cluster_thunk_free (ct);
      return value;
    }
  ct->counted = TRUE;
  ct->inner = value;
  return rthunk_value_new_pending (rthunk_value_is_pending (value) ? rthunk_value_get_name (value) : "audited",
                                   ct, cluster_force, cluster_thunk_free);
}
