/* rthunk-session-remote.c — the servers of a session: the evaluator's
 * `(remote …)` and server hooks, submissions queued in bursts, the
 * pending values of clients and of the cluster */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include "rthunk-session-private.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-cluster-private.h"
#include "rthunk-cluster.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-node.h"
#include "rthunk-server.h"
#include "rthunk-server-private.h"
#include "rthunk-state-store.h"
#include "rthunk-stdlib.h"
#include "rthunk-lang-private.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* ---- servers -------------------------------------------------------------------- */

void
rthunk_session_server_free (gpointer data)
{
  Server *server = data;

  rthunk_collector_stop (server->collector);
  rthunk_collector_unref (server->collector);
  g_object_unref (server->client);
  g_free (server);
}

static RthunkCatalog *
merged_catalog (GPtrArray *servers)
{
  RthunkCatalog *merged;

  if (servers->len == 1 && rthunk_client_get_catalog (((Server *) g_ptr_array_index (servers, 0))->client) != NULL)
    return g_object_ref (rthunk_client_get_catalog (((Server *) g_ptr_array_index (servers, 0))->client));
  merged = rthunk_catalog_new ();
  for (guint k = 0; k < servers->len; k++)
    {
      RthunkCatalog *theirs = rthunk_client_get_catalog (((Server *) g_ptr_array_index (servers, k))->client);
      g_autoptr(GPtrArray) defs = theirs != NULL ? rthunk_catalog_list (theirs) : g_ptr_array_new ();

      for (guint d = 0; d < defs->len; d++)
        {
          RthunkFuncDef *def = g_ptr_array_index (defs, d);

          if (rthunk_catalog_lookup (merged, rthunk_func_def_get_name (def)) == NULL)
            rthunk_catalog_add_remote (merged, rthunk_func_def_get_name (def),
                                       rthunk_func_def_get_type_term (def),
                                       rthunk_func_def_get_flags (def),
                                       rthunk_func_def_get_doc (def), NULL);
        }
    }
  return merged;
}

static void update_checker (RthunkSession *self);

/* @server, reached now if it was down at start; FALSE with @error saying
 * it is down, and why, if it still does not answer. */
static gboolean
reach (RthunkSession  *self,
       Server         *server,
       GError        **error)
{
  g_autoptr(GError) down = NULL;

  if (rthunk_client_get_catalog (server->client) != NULL)
    return TRUE;
  if (!rthunk_client_connect (server->client, &down))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("%s is down (%s): this form needs a server"),
                   rthunk_client_get_address (server->client), down->message);
      return FALSE;
    }
  update_checker (self);
  return TRUE;
}

/* "alpha, beta, …": each server's name, or its address while it has none. */
static GString *
server_names_locked (RthunkSession *self)
{
  GString *names = g_string_new (NULL);

  for (guint k = 0; k < self->servers->len; k++)
    {
      Server *server = g_ptr_array_index (self->servers, k);
      const char *name = rthunk_client_get_server_name (server->client);

      g_string_append_printf (names, "%s%s", k > 0 ? ", " : "",
                              name != NULL ? name : rthunk_client_get_address (server->client));
    }
  return names;
}

/* The server named by `:on` (@on, nullable), or the first. */
static Server *
pick_server (RthunkSession  *self,
             RthunkValue    *on,
             GError        **error)
{
  g_autoptr(GString) names = NULL;
  g_autofree char *wanted = NULL;
  Server *found = NULL;

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len && found == NULL; k++)
    {
      Server *server = g_ptr_array_index (self->servers, k);
      const char *name = rthunk_client_get_server_name (server->client);
      const char *address = rthunk_client_get_address (server->client);

      /* a server never reached has no name yet: its address stands for it */
      if (on == NULL || (rthunk_value_get_kind (on) == RTHUNK_VALUE_STR &&
                         (g_strcmp0 (rthunk_value_get_str (on), name) == 0 ||
                          g_strcmp0 (rthunk_value_get_str (on), address) == 0)))
        found = server;
    }
  /* the names are for the error only: not written for every remote form */
  if (found == NULL && on != NULL)
    names = server_names_locked (self);
  g_mutex_unlock (&self->servers_lock);
  if (found != NULL)
    return reach (self, found, error) ? found : NULL;
  if (on == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, _("no server to evaluate remote expressions"));
  else
    {
      wanted = rthunk_value_to_string (on);
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("no server named %s (connected: %s)"), wanted, names->str);
    }
  return NULL;
}

/* @inputs as the client or cluster should see them: the pending value of
 * a thunk still running becomes its origin again (the client's or
 * cluster's pending value it stands for, see rthunk_thunk_take_origin()).
 * Swapped in place: the evaluator makes the table for this one call
 * (#RthunkRemoteFunc), and the origins it then holds stay alive while the
 * form is sent, whichever thread the thunk finishes in and drops them. */
static GHashTable *
inputs_as_sent (GHashTable *inputs)
{
  GHashTableIter iter;
  gpointer value;

  if (inputs == NULL)
    return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_value_unref);
  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RthunkThunk *thunk = rthunk_thunk_get_from_value (value);
      RthunkValue *origin = thunk != NULL ? rthunk_thunk_dup_origin (thunk) : NULL;

      if (origin != NULL && !rthunk_thunk_is_finished (thunk))
        g_hash_table_iter_replace (&iter, origin);
      else if (origin != NULL)
        rthunk_value_unref (origin);
    }
  return g_hash_table_ref (inputs);
}

/* A pending value a client returned becomes one of a thunk that the
 * server's collector finishes. */
static RthunkValue *
adopt_pending (RthunkSession *self,
               Server        *server,
               RthunkValue   *value)
{
  g_autoptr(GBytes) id = NULL;
  g_autoptr(RthunkThunk) thunk = NULL;

  /* a value, or a remote reference (fetched only when forced) */
  if (rthunk_value_is_reference (value) || rthunk_client_get_pending_thunk (value, &id) == NULL)
    return value;
  thunk = rthunk_thunk_new_in_context (g_strdup (rthunk_value_get_name (value)),
                                       rthunk_client_get_server_name (server->client),
                                       g_bytes_get_data (id, NULL), g_bytes_get_size (id), self->context);
  /* the origin first: the collector checks its value against the origin's type */
  rthunk_thunk_take_origin (thunk, value);
  rthunk_collector_add (server->collector, thunk);
  return rthunk_thunk_to_value (thunk);
}

static gboolean
has_address (RthunkSession *self,
             Server        *server,
             gconstpointer  address)
{
  return g_strcmp0 (rthunk_client_get_address (server->client), address) == 0;
}

typedef struct
{
  RthunkThunk *thunk;
  RthunkValue *value;
  RthunkCluster *cluster;
} Foreign;

static void
foreign_free (Foreign *foreign)
{
  rthunk_value_unref (foreign->value);
  g_object_unref (foreign->cluster);
  g_object_unref (foreign->thunk);
  g_free (foreign);
}

/* A thread of foreign_pool(). */
static void
foreign_wait (gpointer data,
              gpointer user_data)
{
  Foreign *foreign = data;
  GError *error = NULL;
  RthunkValue *value = rthunk_value_force (foreign->value, &error);
  g_autofree char *origin = rthunk_cluster_value_origin (foreign->cluster, foreign->value);

  /* after a failover, the value is credited to the server that computed it */
  if (origin != NULL)
    rthunk_thunk_set_label (foreign->thunk, origin);
  if (value != NULL)
    rthunk_thunk_return_value (foreign->thunk, value);
  else
    rthunk_thunk_return_error (foreign->thunk, error);
  g_clear_pointer (&value, rthunk_value_unref);
  g_clear_error (&error);
  foreign_free (foreign);
}

/* The threads that wait for routed values, shared by every session and
 * reused from one value to the next. A pending value of the cluster can
 * only be waited for by forcing it (the cluster fails over, or breaks a
 * tie, inside the force), which blocks: each value waited for at once
 * takes a thread of the pool for as long as it is outstanding, as many as
 * there are, so that none waits for another to arrive. */
static GThreadPool *
foreign_pool (void)
{
  static gsize once;
  static GThreadPool *pool;

  if (g_once_init_enter (&once))
    {
      pool = g_thread_pool_new (foreign_wait, NULL, -1, FALSE, NULL);
      g_once_init_leave (&once, 1);
    }
  return pool;
}

/* The client's thunk inside a routed value finished (in the collector's
 * thread): its value is the routed value's, unless its server was
 * quarantined meanwhile; a wait that failed (the server was lost, say) is
 * left to forcing the routed value, which fails over, in foreign_pool(). */
static void
inner_finished (RthunkThunk  *inner,
                RthunkValue  *value,
                const GError *error,
                gpointer      data)
{
  Foreign *foreign = data;

  if (value != NULL && rthunk_cluster_value_trusted (foreign->cluster, foreign->value))
    rthunk_thunk_return_value (foreign->thunk, value);
  else if (error != NULL && g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED))
    rthunk_thunk_return_error (foreign->thunk, error);
  else
    {
      g_thread_pool_push (foreign_pool (), foreign, NULL);
      return;
    }
  foreign_free (foreign);
}

/* Waits for the routed value of @foreign through the collector of the
 * server that runs it, without a thread, when @inner (transfer full,
 * nullable) is the client's value inside it that the cluster says is all
 * there is to wait for (rthunk_cluster_dup_waitable()); FALSE otherwise. */
static gboolean
collect_routed (RthunkSession *self,
                Foreign       *foreign,
                RthunkValue   *inner)
{
  g_autoptr(RthunkValue) owned = inner;
  g_autoptr(GBytes) id = NULL;
  g_autoptr(RthunkThunk) waited = NULL;
  RthunkClient *client;
  Server *server;

  if (inner == NULL || (client = rthunk_client_get_pending_thunk (inner, &id)) == NULL ||
      (server = rthunk_session_find_server (self, has_address, rthunk_client_get_address (client))) == NULL)
    return FALSE;
  waited = rthunk_thunk_new_in_context (g_strdup (rthunk_value_get_name (inner)), rthunk_client_get_server_name (client),
                                        g_bytes_get_data (id, NULL), g_bytes_get_size (id), self->context);
  /* the origin first: the collector checks its value against the origin's type */
  rthunk_thunk_take_origin (waited, g_steal_pointer (&owned));
  rthunk_collector_add (server->collector, waited);
  rthunk_thunk_set_finish_func (waited, inner_finished, foreign, NULL);
  return TRUE;
}

/* The name of the server that runs @inner (what rthunk_cluster_dup_waitable()
 * gave of a routed value, or NULL), or NULL: a label for the thunk that
 * stands for the routed value. */
static const char *
routed_server (RthunkValue *inner)
{
  RthunkClient *client = inner != NULL ? rthunk_client_get_pending_thunk (inner, NULL) : NULL;

  return client != NULL ? rthunk_client_get_server_name (client) : NULL;
}

/* A pending value that did not come from a server's own client (the
 * cluster routed it): adopted by the collector of its server when it is a
 * client's thunk; a routed one is waited for through the collector of the
 * server that runs it (collect_routed()), and only when that cannot do
 * (an audit, a failover, a value of no server of the session's) by a
 * thread of foreign_pool(). Either way every pending value of a session
 * stands for a #RthunkThunk, which evaluations wait for without holding
 * the evaluator, and which settlers watch. */
static RthunkValue *
adopt_foreign (RthunkSession *self,
               RthunkValue   *value)
{
  RthunkClient *client;
  Server *server = NULL;
  Foreign *foreign;
  RthunkValue *inner;

  if (!rthunk_value_is_pending (value) || rthunk_thunk_get_from_value (value) != NULL)
    return value;
  if ((client = rthunk_client_get_pending_thunk (value, NULL)) != NULL &&
      (server = rthunk_session_find_server (self, has_address, rthunk_client_get_address (client))) != NULL)
    return adopt_pending (self, server, value);
  /* one look at the cluster both labels the thunk and says how to wait */
  inner = rthunk_cluster_dup_waitable (self->cluster, value);
  foreign = g_new (Foreign, 1);
  foreign->thunk = rthunk_thunk_new_in_context (g_strdup (rthunk_value_get_name (value)), routed_server (inner), NULL, 0,
                                                self->context);
  foreign->value = value;
  foreign->cluster = g_object_ref (self->cluster);
  rthunk_thunk_take_origin (foreign->thunk, rthunk_value_ref (value));
  value = rthunk_thunk_to_value (foreign->thunk);
  if (!collect_routed (self, foreign, inner))
    g_thread_pool_push (foreign_pool (), foreign, NULL);
  return value;
}

/* Submits; a connection the server closed while it was idle (servers drop
 * idle connections) is reopened, and the submission made again, once. */
static RthunkValue *
submit (Server      *server,
        RthunkNode  *expr,
        GHashTable  *inputs,
        GHashTable  *definitions,
        gboolean     by_reference,
        GError     **error)
{
  g_autoptr(GError) first = NULL;
  RthunkValue *(*submit_one) (RthunkClient *, RthunkNode *, GHashTable *, GHashTable *, GError **) =
    by_reference ? rthunk_client_submit_reference : rthunk_client_submit_full;
  RthunkValue *value;

  value = submit_one (server->client, expr, inputs, definitions, &first);
  if (value != NULL || !(g_error_matches (first, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION) ||
                         g_error_matches (first, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST)))
    {
      if (value == NULL)
        g_propagate_error (error, g_steal_pointer (&first));
      return value;
    }
  return submit_one (server->client, expr, inputs, definitions, error);
}

/* ---- queued submissions: a burst of remote expressions in one frame --------- */

typedef struct
{
  RthunkThunk *thunk;
  RthunkCollector *collector;
} SessionQueued;

static void
session_queued_free (gpointer data)
{
  SessionQueued *q = data;

  g_object_unref (q->thunk);
  rthunk_collector_unref (q->collector);
  g_free (q);
}

/* How a queued submission went: finished inline, refused, or running (the
 * server's collector long-polls for it from now on). */
static void
session_queued_sent (RthunkValue  *made,
                     RthunkValue  *value,
                     const GError *error,
                     gpointer      data)
{
  SessionQueued *q = data;

  /* another thread's flush may read the reply before enqueue() has given
   * the thunk its origin: given here, the collector checks a value it
   * polls against the origin's type (see rthunk_thunk_take_origin()) */
  rthunk_thunk_take_origin (q->thunk, rthunk_value_ref (made));
  if (error != NULL)
    rthunk_thunk_return_error (q->thunk, error);
  else if (value != NULL)
    rthunk_thunk_return_value (q->thunk, value);
  else
    rthunk_collector_add (q->collector, q->thunk);
}

/* Queues @expr on @server's client: its thunk exists at once, the request
 * leaves with the others of the burst (rthunk_session_flush_all). */
static RthunkValue *
enqueue (RthunkSession  *self,
         Server         *server,
         RthunkNode     *expr,
         GHashTable     *inputs,
         GError        **error)
{
  guint8 id[RTHUNK_CLIENT_ID_LEN];
  g_autofree char *label = NULL;
  g_autoptr(RthunkThunk) thunk = NULL;
  SessionQueued *q;
  RthunkValue *origin = NULL;

  rthunk_client_random_id (id);
  label = rthunk_client_thunk_label (server->client, id, sizeof id);
  thunk = rthunk_thunk_new_in_context (g_steal_pointer (&label), rthunk_client_get_server_name (server->client), id, sizeof id,
                                       self->context);
  /* a flush (here or in another thread) frees @q once it reported */
  /* filled, not zeroed: glibc's calloc takes its arena's lock (one a
   * pending value) */
  q = g_new (SessionQueued, 1);
  *q = (SessionQueued) { g_object_ref (thunk), rthunk_collector_ref (server->collector) };
  if (!rthunk_client_enqueue (server->client, expr, inputs, id, session_queued_sent, q, session_queued_free, &origin,
                              error))
    {
      session_queued_free (q);
      return NULL;
    }
  rthunk_thunk_take_origin (thunk, origin);
  if (rthunk_client_get_queued (server->client) >= RTHUNK_CLIENT_MAX_BATCH)
    rthunk_client_flush (server->client, NULL);
  return rthunk_thunk_to_value (thunk);
}

/* Sends every queued submission: when an evaluation ends or has to wait. */
void
rthunk_session_flush_all (RthunkSession *self)
{
  g_autoptr(GPtrArray) clients = NULL;

  /* most evaluations queued nothing: nothing to hold */
  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len; k++)
    {
      RthunkClient *client = ((Server *) g_ptr_array_index (self->servers, k))->client;

      if (rthunk_client_get_queued (client) == 0)
        continue;
      if (clients == NULL)
        clients = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (clients, g_object_ref (client));
    }
  g_mutex_unlock (&self->servers_lock);
  for (guint k = 0; clients != NULL && k < clients->len; k++)
    rthunk_client_flush (g_ptr_array_index (clients, k), NULL);
}

/* The options of one `(remote …)` the session reads, looked up once
 * (most forms have none: nothing to look up). */
typedef struct
{
  RthunkValue *on;              /* borrowed from the options; nullable */
  RthunkValue *timeout;         /* borrowed from the options; nullable */
  gboolean by_cluster;          /* :needs or :verify: the cluster routes */
  gboolean ref;                 /* :ref: the value stays on the server */
} RemoteOptions;

static void
read_options (GHashTable    *options,
              RemoteOptions *out)
{
  *out = (RemoteOptions) { NULL, NULL, FALSE, FALSE };
  if (g_hash_table_size (options) == 0)
    return;
  out->on = g_hash_table_lookup (options, "on");
  out->timeout = g_hash_table_lookup (options, "timeout");
  out->by_cluster = g_hash_table_contains (options, "needs") || g_hash_table_contains (options, "verify");
  out->ref = g_hash_table_contains (options, "ref");
}

/* `(remote :timeout MS …)` takes a number of milliseconds above 0. */
static gboolean
check_timeout (RthunkValue  *timeout,
               GError      **error)
{
  if (timeout == NULL || (rthunk_value_get_int (timeout) > 0 && rthunk_value_get_int (timeout) <= G_MAXINT))
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
               _(":timeout takes a number of milliseconds above 0, not %" PRId64),
               rthunk_value_get_int (timeout));
  return FALSE;
}

/* `(remote :timeout MS …)`: a pending @value is cancelled, on its server
 * too, unless it finished within MS. */
static RthunkValue *
with_timeout (RthunkValue *value,
              RthunkValue *timeout)
{
  RthunkThunk *thunk;

  if (timeout != NULL && value != NULL && (thunk = rthunk_thunk_get_from_value (value)) != NULL)
    rthunk_thunk_set_deadline (thunk, (guint) rthunk_value_get_int (timeout));
  return value;
}

/* Whether sending @expr may wait for the network (a submission, or a
 * queued one that sends the burst made so far): the evaluator is left
 * meanwhile, so that other evaluations go on. Leaving and taking it
 * again was a tenth of the session's own part of a remote form; the
 * other queued forms only append to the client's queue. */
static gboolean
may_wait (Server   *server,
          gboolean  queued)
{
  /* a client that has no catalog yet (its server was down) connects
   * first, which may take its whole timeout */
  return !queued || rthunk_client_get_queued (server->client) + 1 >= RTHUNK_CLIENT_SEND_AT ||
         rthunk_client_get_catalog (server->client) == NULL;
}

/* The evaluator's `(remote …)`: submits without holding the evaluator
 * (may_wait()). */
RthunkValue *
rthunk_session_remote_func (RthunkEvaluator  *evaluator,
                            RthunkNode       *expr,
                            GHashTable       *options,
                            GHashTable       *inputs,
                            gpointer          user_data,
                            GError          **error)
{
  RthunkSession *self = user_data;
  Evaluation *ev = g_private_get (&rthunk_session_current_evaluation);
  g_autoptr(GHashTable) definitions = NULL;
  g_autoptr(GHashTable) sent = inputs_as_sent (inputs);
  RemoteOptions opts;
  RthunkValue *value;
  Server *server = NULL;
  gboolean left;
  gboolean by_cluster;
  gboolean queued;

  /* With several servers (or a registry, which may bring more), a
   * capability asked for or a verification, the cluster routes (and fails
   * over); one server is used directly and its collector long-polls for
   * the results. */
  read_options (options, &opts);
  if (!check_timeout (opts.timeout, error))
    return NULL;
  by_cluster = opts.by_cluster || rthunk_cluster_get_n_servers (self->cluster) > 1 ||
               rthunk_cluster_follows_registry (self->cluster);
  if (!by_cluster && (server = pick_server (self, opts.on, error)) == NULL)
    return NULL;
  /* the user's defn forms, when there are some: the evaluator's own table,
   * which a later defn copies before changing */
  definitions = rthunk_evaluator_share_definitions (evaluator);
  /* one server, nothing to send along, not a reference: queued, and sent
   * with the rest of the burst in one frame; unless it is awaited at once,
   * when the queue would only add a frame of its own and a thunk: sent
   * now, its value mostly comes back in the answer */
  queued = !by_cluster && !opts.ref && !rthunk_evaluator_remote_is_awaited (evaluator) &&
           rthunk_client_can_enqueue (server->client, expr, definitions);
  left = ev != NULL && ev->locked && may_wait (server, queued);
  if (left)
    rthunk_session_evaluator_leave (self, ev);
  if (queued)
    value = enqueue (self, server, expr, sent, error);
  else
    value = by_cluster ? rthunk_cluster_submit (self->cluster, expr, options, sent, definitions, error)
                       : submit (server, expr, sent, definitions, opts.ref, error);
  if (left)
    rthunk_session_evaluator_enter (self, ev);
  if (value != NULL && !queued)
    value = by_cluster ? adopt_foreign (self, value) : adopt_pending (self, server, value);
  if (value != NULL && ev != NULL)
    rthunk_session_evaluation_track (ev, value);
  return with_timeout (value, opts.timeout);
}

/* The servers that can run a chunk of pmap, psum or preduce. */
GStrv
rthunk_session_servers_func (RthunkEvaluator *evaluator,
                             RthunkNode      *expr,
                             gpointer         user_data)
{
  RthunkSession *self = user_data;

  return rthunk_cluster_eligible (self->cluster, expr, rthunk_evaluator_get_definitions (evaluator), NULL);
}

/* Whether @server provides the function @name (a provider's). */
static gboolean
provides_type (RthunkSession *self,
               Server        *server,
               gconstpointer  name)
{
  RthunkCatalog *theirs = rthunk_client_get_catalog (server->client);
  RthunkFuncDef *their = theirs != NULL ? rthunk_catalog_lookup (theirs, name) : NULL;

  return their != NULL && (rthunk_func_def_get_flags (their) & RTHUNK_FUNC_PROVIDED);
}

/* The checker's RthunkTypeAskFunc: the type of a call of the provided
 * function @def, asked of the first server reached that provides it (its
 * client keeps the answers by literal). */
static RthunkType *
ask_type (RthunkFuncDef  *def,
          const char     *literal,
          gpointer        user_data,
          GError        **error)
{
  RthunkSession *self = user_data;
  const char *name = rthunk_func_def_get_name (def);
  Server *server = rthunk_session_find_server (self, provides_type, name);

  if (server == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION,
                   _("no server reached provides %s"), name);
      return NULL;
    }
  return rthunk_client_provide_type (server->client, name, literal, error);
}

static void
update_checker (RthunkSession *self)
{
  g_autoptr(RthunkCatalog) remote = NULL;
  gboolean any_reached = FALSE;

  for (guint k = 0; k < self->servers->len; k++)
    any_reached |= rthunk_client_get_catalog (((Server *) g_ptr_array_index (self->servers, k))->client) != NULL;
  /* with no server reached yet, remote forms are checked against the local
   * catalog: sending them then says which servers are down, and why */
  if (any_reached)
    remote = merged_catalog (self->servers);
  rthunk_checker_set_remote_catalog (self->checker, remote);
  rthunk_checker_set_type_ask (self->checker, ask_type, self);
}

/* A client and a collector for the cluster's member at @address, unless
 * the session has them already. */
static gboolean
track_server (RthunkSession  *session,
              const char     *address,
              GError        **error)
{
  g_autoptr(RthunkClient) client = NULL;
  g_autoptr(RthunkClient) poll = NULL;
  Server *server;

  if (rthunk_session_find_server (session, has_address, address) != NULL)
    return TRUE;
  client = rthunk_client_new_with_timeout (address, session->call_timeout_ms);
  poll = rthunk_client_new_with_timeout (address, session->call_timeout_ms);
  if (!rthunk_cluster_prepare_client (session->cluster, client, error) ||
      !rthunk_cluster_prepare_client (session->cluster, poll, error))
    return FALSE;
  if (!rthunk_cluster_is_up (session->cluster, address) || !rthunk_client_connect (client, NULL))
    g_debug ("server %s is down at start", address);
  server = g_new0 (Server, 1);
  server->client = g_steal_pointer (&client);
  server->collector = rthunk_collector_new (server->client, poll);
  g_mutex_lock (&session->servers_lock);
  g_ptr_array_add (session->servers, server);
  g_mutex_unlock (&session->servers_lock);
  return TRUE;
}

/**
 * rthunk_session_add_server:
 * @session: a session
 * @address: `HOST:PORT` of a provider
 * @error: return location for a #GError
 *
 * Connects to a provider and reads its catalog: remote expressions are
 * checked against it and sent to it. Each server gets one collector
 * thread, which long-polls for the results of every outstanding thunk at
 * once. `(remote :on NAME …)` picks a server by the name it gives itself;
 * otherwise the first server added is used.
 *
 * A server that cannot be reached now is added as down: forms that need
 * it (pinned to it, or using a function only it has) fail saying so, the
 * others go to the servers that are up, and it is retried with backoff.
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_session_add_server (RthunkSession  *session,
                           const char     *address,
                           GError        **error)
{
  return rthunk_session_add_server_from (session, address, "added", error);
}

/**
 * rthunk_session_add_server_from:
 * @session: a session
 * @address: `HOST:PORT` of a provider
 * @origin: where the address came from, one word that `:servers` shows
 *   (`flag`, `env`, `file`…: rthunk_cluster_add_server_from())
 * @error: return location for a #GError
 *
 * Adds a server as rthunk_session_add_server() does, saying where its
 * address came from.
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_session_add_server_from (RthunkSession  *session,
                                const char     *address,
                                const char     *origin,
                                GError        **error)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (origin != NULL, FALSE);

  /* a server that is down now is added all the same: the cluster retries
   * it and routes around it meanwhile. The cluster tries it first, once:
   * a server that does not answer costs one timeout at start, not two. */
  if (!rthunk_cluster_add_server_from (session->cluster, address, origin, error) ||
      !track_server (session, address, error))
    return FALSE;
  update_checker (session);
  return TRUE;
}

static gboolean
update_checker_in_context (gpointer data)
{
  update_checker (data);
  return G_SOURCE_REMOVE;
}

/* A server the cluster's registry brought (in the thread that follows
 * the registry): a collector of its own, and its catalog for the checker,
 * in the session's context. */
void
rthunk_session_on_server_joined (RthunkCluster *cluster,
                                 const char    *address,
                                 gpointer       data)
{
  RthunkSession *self = data;
  g_autoptr(GError) error = NULL;

  if (!track_server (self, address, &error))
    {
      g_warning ("server %s: %s", address, error->message);
      return;
    }
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, update_checker_in_context,
                              g_object_ref (self), g_object_unref);
}

/**
 * rthunk_session_start_embedded:
 * @session: a session
 * @error: return location for a #GError
 *
 * Starts a provider inside this process, on a loopback port, with the
 * session's catalog, `server-name` and state cells kept in memory
 * (`state-get`, `state-swap!`, `state-cas!`), and adds it as a server: `(remote …)` then works
 * without any daemon. A session with no server and not local does this by
 * itself the first time it meets `(remote …)`.
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_session_start_embedded (RthunkSession  *session,
                               GError        **error)
{
  g_autofree char *address = NULL;
  g_autoptr(RthunkCatalog) served = NULL;
  g_autoptr(RthunkStateStore) cells = rthunk_state_store_new (NULL, NULL);

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);
  g_return_val_if_fail (session->embedded == NULL, FALSE);

  /* what rthunkd serves: the session's catalog, server-name and state
   * cells (in memory), which local evaluation does not have */
  served = rthunk_catalog_copy (session->catalog);
  rthunk_stdlib_add_server_functions (served, "embedded");
  rthunk_state_store_add_to (cells, served);
  session->embedded = rthunk_server_new (served, "embedded");
  rthunk_server_set_state_store (session->embedded, cells);
  if (!rthunk_server_listen (session->embedded, "127.0.0.1", 0, error))
    {
      g_clear_object (&session->embedded);
      return FALSE;
    }
  address = g_strdup_printf ("127.0.0.1:%u", rthunk_server_get_port (session->embedded));
  return rthunk_session_add_server_from (session, address, "embedded", error);
}

/**
 * rthunk_session_get_servers:
 * @session: a session
 *
 * Lists the clients of the servers added to the session.
 *
 * Returns: (transfer container) (element-type RthunkClient): a client for
 *   each server, in the order they were added
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_session_get_servers (RthunkSession *session)
{
  GPtrArray *clients = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), clients);

  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    g_ptr_array_add (clients, g_object_ref (((Server *) g_ptr_array_index (session->servers, k))->client));
  g_mutex_unlock (&session->servers_lock);
  return clients;
}

/**
 * rthunk_session_get_outstanding:
 * @session: a session
 *
 * Counts the remote thunks the session still waits for.
 *
 * Returns: how many remote thunks the session is waiting for
 *
 * Since: 0.1
 */
guint
rthunk_session_get_outstanding (RthunkSession *session)
{
  guint n = 0;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), 0);

  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    n += rthunk_collector_get_outstanding (((Server *) g_ptr_array_index (session->servers, k))->collector);
  g_mutex_unlock (&session->servers_lock);
  return n;
}
