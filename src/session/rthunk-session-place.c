/* rthunk-session-place.c — where `(auto …)` runs: io where it is
 * provided, cheap pure work here, costly pure work on a server, by what
 * the session has measured (the evaluator's placement hooks) */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-core-private.h"
#include "rthunk-session-private.h"
#include "rthunk-catalog.h"
#include "rthunk-client.h"
#include "rthunk-client-private.h"
#include "rthunk-cluster-private.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-lru.h"
#include "rthunk-node.h"
#include "rthunk-thunk-private.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* An expression never measured runs here within this many steps; past
 * them it is costly and goes to a server. */
#define PROBE_STEPS 100000
/* Expressions whose local cost the session remembers. */
#define MEASURES_MAX 4096
/* What sending inputs costs, on top of the round trip: a loopback or LAN
 * moves about 100 KB a millisecond. */
#define BYTES_PER_MS (100.0 * 1024)
/* The round trip of a server not pinged yet. */
#define UNKNOWN_LATENCY_MS 0.5

typedef struct                  /* a g_atomic_rc_box, changed under place_lock */
{
  gint64 elapsed_us;            /* of the last local run */
  gboolean ran_out;             /* it ran past PROBE_STEPS here */
  gboolean fresh;               /* ... in the run just now, not yet placed again */
} Measure;

static gpointer
measure_ref (gpointer measure)
{
  return g_atomic_rc_box_acquire (measure);
}

static void
measure_unref (gpointer measure)
{
  g_atomic_rc_box_release (measure);
}

static void
set_why (RthunkSession *self,
         char          *why)
{
  g_mutex_lock (&self->place_lock);
  g_free (self->why);
  self->why = why;
  g_mutex_unlock (&self->place_lock);
}

/* The content address of @expr, the key of its measure: that of
 * `(fn [] EXPR)`, since only definitions have one. */
static gboolean
expr_key (RthunkNode *expr,
          guint8      key[RTHUNK_HASH_LEN])
{
  g_autoptr(RthunkNode) head = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "fn");
  g_autoptr(RthunkNode) params = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, NULL, 0);
  RthunkNode *items[] = { head, params, expr };
  g_autoptr(RthunkNode) thunk = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, G_N_ELEMENTS (items));

  return rthunk_hash_definition (thunk, NULL, NULL, key, NULL);
}

/* Whether @expr is bounded (rthunk_session_is_bounded()): cheap by its
 * shape, so it runs here unmeasured. Asked only in the session's own
 * thread, where such forms run (rthunk_session_evaluation_run_here()) and
 * the cells may be read; an evaluation of the pool answers no. */
static gboolean
bounded_here (RthunkSession *self,
              RthunkNode    *expr)
{
  Evaluation *ev = g_private_get (&rthunk_session_current_evaluation);

  /* none: a bounded form the session runs itself; or one running in the
   * session's thread because that thread waits for it (a script's) */
  return (ev == NULL || ev->here) && rthunk_session_is_bounded (self, expr);
}

/* Whether @server's catalog has @name and the server is up. */
static gboolean
provides (RthunkSession *self,
          Server        *server,
          gconstpointer  name)
{
  RthunkCatalog *theirs = rthunk_client_get_catalog (server->client);

  return theirs != NULL && rthunk_catalog_lookup (theirs, name) != NULL &&
         rthunk_cluster_is_up (self->cluster, rthunk_client_get_address (server->client));
}

/* The name of a server whose catalog has @name, or NULL. */
static char *
server_providing (RthunkSession *self,
                  const char    *name)
{
  Server *server = rthunk_session_find_server (self, provides, name);

  return server != NULL ? g_strdup (rthunk_client_get_server_name (server->client)) : NULL;
}

/* The first function @node names that must not move: one with the io
 * flag this process provides (*@here set: it runs here), or one only
 * servers provide (*@io says whether it has the io flag there). */
static const char *
io_function (RthunkSession *self,
             RthunkNode    *node,
             gboolean      *here,
             gboolean      *io)
{
  RthunkCatalog *remote = rthunk_checker_peek_remote_catalog (self->checker);
  guint n = rthunk_node_get_n_items (node);

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);
      RthunkFuncDef *theirs = remote != NULL ? rthunk_catalog_lookup (remote, name) : NULL;
      RthunkFuncDef *ours = rthunk_catalog_lookup (self->catalog, name);

      *here = ours != NULL && (rthunk_func_def_get_flags (ours) & RTHUNK_FUNC_IO) != 0;
      *io = theirs != NULL && (rthunk_func_def_get_flags (theirs) & RTHUNK_FUNC_IO) != 0;
      return *here || (theirs != NULL && ours == NULL) ? name : NULL;
    }
  for (guint k = 0; k < n; k++)
    {
      const char *name = io_function (self, rthunk_node_get_item (node, k), here, io);

      if (name != NULL)
        return name;
    }
  return NULL;
}

/* What place_pure() knows of the server it would send to. */
typedef struct
{
  double round_trip_ms;         /* its ping, times its load plus one */
  guint load;
  guint workers;                /* as it reported them; 0: not known */
  guint outstanding;            /* this session's thunks there */
} Nearest;

/* The up server with the cheapest round trip (its ping, times its load
 * plus one): its name, and what @near says of it; *@n_up: how many
 * servers are up. */
static char *
nearest_server (RthunkSession *self,
                Nearest       *near,
                guint         *n_up)
{
  char *best = NULL;

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len; k++)
    {
      Server *server = g_ptr_array_index (self->servers, k);
      RthunkClient *client = server->client;
      double latency_ms = 0;
      guint its_load = 0;
      double cost;

      if (rthunk_client_get_catalog (client) == NULL ||
          !rthunk_cluster_get_cost (self->cluster, rthunk_client_get_address (client), &latency_ms, &its_load))
        continue;
      (*n_up)++;
      cost = (latency_ms > 0 ? latency_ms : UNKNOWN_LATENCY_MS) * (its_load + 1);
      if (best == NULL || cost < near->round_trip_ms)
        {
          rthunk_set_str (&best, rthunk_client_get_server_name (client));
          near->round_trip_ms = cost;
          near->load = its_load;
          near->workers = rthunk_client_get_workers (client);
          near->outstanding = rthunk_collector_get_outstanding (server->collector);
        }
    }
  g_mutex_unlock (&self->servers_lock);
  return best;
}

/* The bytes the inputs of @expr would travel as. */
static gsize
transfer_size (RthunkNode *expr,
               GHashTable *inputs)
{
  gsize bytes = rthunk_node_measure (expr);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    bytes += rthunk_value_measure (value);
  return bytes;
}

/* Whether a server with @workers (0: not said yet), @outstanding of them
 * taken by this session's thunks, can take costly work and keep a worker
 * free for the io and small forms that must run there, which would
 * otherwise wait behind it; with one worker, whether it is free. */
static gboolean
has_spare_worker (guint workers,
                  guint outstanding)
{
  if (workers == 0)
    return TRUE;
  return workers == 1 ? outstanding == 0 : outstanding + 1 < workers;
}

/* Where costly pure work goes: a map split across the servers when
 * @can_split and two or more are up; @server when it has a worker to
 * spare (@why then says why); here otherwise. */
static RthunkPlace
costly (RthunkSession *self,
        gboolean       can_split,
        guint          n_up,
        const char    *server,
        const Nearest *near,
        char          *why)
{
  if (can_split && n_up >= 2)
    {
      g_free (why);
      set_why (self, g_strdup_printf (_("pmap over %u servers: a map too costly to run here"), n_up));
      return RTHUNK_PLACE_SPLIT;
    }
  if (has_spare_worker (near->workers, near->outstanding))
    {
      set_why (self, why);
      return RTHUNK_PLACE_REMOTE;
    }
  g_free (why);
  set_why (self, g_strdup_printf (_("local: it is costly, but %s has no worker to spare (%u of its %u run this "
                                    "session's thunks), so it runs here"),
                                  server, near->outstanding, near->workers));
  return RTHUNK_PLACE_HERE;
}

/* Pure work, with servers up: here when it measured cheaper than a round
 * trip and the transfer, on a server (or, a map, split) otherwise; never
 * measured, here within PROBE_STEPS. */
static RthunkPlace
place_pure (RthunkSession *self,
            RthunkNode    *expr,
            GHashTable    *inputs,
            gboolean       can_split,
            guint64       *probe)
{
  Nearest near = { 0, };
  guint n_up = 0;
  g_autofree char *server = nearest_server (self, &near, &n_up);
  guint8 key[RTHUNK_HASH_LEN];
  Measure *measure = NULL;
  gsize bytes;
  double remote_ms, local_ms;
  gboolean ran_out, fresh;

  if (server == NULL)
    {
      set_why (self, g_strdup (_("local: no server is up")));
      return RTHUNK_PLACE_HERE;
    }
  if (expr_key (expr, key))
    measure = rthunk_lru_lookup (self->measures, key);
  if (measure == NULL)
    {
      *probe = PROBE_STEPS;
      set_why (self, g_strdup_printf (_("local: not measured yet, run here within %u steps"), PROBE_STEPS));
      return RTHUNK_PLACE_HERE;
    }
  g_mutex_lock (&self->place_lock);
  local_ms = measure->elapsed_us / 1000.0;
  ran_out = measure->ran_out;
  fresh = measure->fresh;
  measure->fresh = FALSE;
  g_mutex_unlock (&self->place_lock);
  measure_unref (measure);
  if (ran_out)
    return costly (self, can_split, n_up, server, &near,
                   fresh ? g_strdup_printf (_("remote: it ran past %u steps here (%.3f ms), so it went to a server"),
                                            PROBE_STEPS, local_ms)
                         : g_strdup_printf (_("remote: it ran past %u steps here before"), PROBE_STEPS));
  bytes = transfer_size (expr, inputs);
  remote_ms = near.round_trip_ms + bytes / BYTES_PER_MS;
  if (local_ms <= remote_ms)
    {
      set_why (self, g_strdup_printf (_("local: measured %.3f ms ≤ round trip %.3f ms to %s (load %u)"),
                                      local_ms, near.round_trip_ms, server, near.load));
      return RTHUNK_PLACE_HERE;
    }
  return costly (self, can_split, n_up, server, &near,
                 g_strdup_printf (_("remote: %.3f ms measured locally > %.3f ms round trip to %s (load %u) + "
                                    "%.1f KB transfer"),
                                  local_ms, near.round_trip_ms, server, near.load, bytes / 1024.0));
}

/* The evaluator's placement hook (rthunk-lang-private.h). */
static RthunkPlace
place (RthunkEvaluator *evaluator,
       RthunkNode      *expr,
       GHashTable      *inputs,
       GHashTable      *options,
       gboolean         can_split,
       guint64         *probe,
       gpointer         user_data)
{
  RthunkSession *self = user_data;
  gboolean here = FALSE;
  gboolean io = FALSE;
  const char *name;
  g_autofree char *server = NULL;

  if (bounded_here (self, expr))
    {
      set_why (self, g_strdup (_("local: operators on values, no call, loop or io: cheaper than any round trip")));
      return RTHUNK_PLACE_HERE;
    }
  name = io_function (self, expr, &here, &io);
  if (name != NULL && !here)
    server = server_providing (self, name);
  if (here)
    {
      set_why (self, g_strdup_printf (_("local: io function %s runs here, where it is provided"), name));
      return RTHUNK_PLACE_HERE;
    }
  if (server != NULL)
    {
      g_hash_table_replace (options, g_strdup ("on"), rthunk_value_new_str (server));
      set_why (self, io ? g_strdup_printf (_("remote on %s: io function %s runs where it is provided"), server, name)
                        : g_strdup_printf (_("remote on %s: %s is provided only there"), server, name));
      return RTHUNK_PLACE_REMOTE;
    }
  return place_pure (self, expr, inputs, can_split, probe);
}

/* The evaluator's measured hook: remembers what @expr cost here. */
static void
measured (RthunkEvaluator *evaluator,
          RthunkNode      *expr,
          guint64          steps,
          gint64           elapsed_us,
          gboolean         ran_out,
          gpointer         user_data)
{
  RthunkSession *self = user_data;
  guint8 key[RTHUNK_HASH_LEN];
  Measure *measure;

  if (bounded_here (self, expr))
    return;                     /* placed by its shape, never by a measure */
  if (!expr_key (expr, key))
    return;
  measure = g_atomic_rc_box_new0 (Measure);
  if (rthunk_lru_insert (self->measures, key, measure, 1) == RTHUNK_LRU_PRESENT)
    {
      measure_unref (measure);
      measure = rthunk_lru_lookup (self->measures, key);
      if (measure == NULL)
        return;
    }
  g_mutex_lock (&self->place_lock);
  measure->elapsed_us = elapsed_us;
  measure->ran_out = ran_out;
  measure->fresh = ran_out;
  g_mutex_unlock (&self->place_lock);
  measure_unref (measure);
}

/* Installs the hooks: called once, when the session is made. */
void
rthunk_session_place_init (RthunkSession *self)
{
  g_mutex_init (&self->place_lock);
  self->measures = rthunk_lru_new (MEASURES_MAX, G_MAXSIZE, 0, measure_ref, measure_unref);
  rthunk_evaluator_set_placement (self->evaluator, place, measured, self);
}

void
rthunk_session_place_clear (RthunkSession *self)
{
  g_clear_pointer (&self->measures, rthunk_lru_free);
  g_clear_pointer (&self->why, g_free);
  g_mutex_clear (&self->place_lock);
}

/* Whether @node uses a form that says where its work runs, or waits for
 * work elsewhere: remote, await, auto, pmap, psum, preduce (none of them
 * may be sent to a server inside another). */
static gboolean
says_where (RthunkNode *node,
            guint       depth)
{
  static const char *const forms[] = { "remote", "await", "auto", "pmap", "psum", "preduce" };
  guint n = rthunk_node_get_n_items (node);

  if (depth > RTHUNK_NODE_MAX_DEPTH)
    return TRUE;
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_LIST && n > 0)
    for (guint k = 0; k < G_N_ELEMENTS (forms); k++)
      if (rthunk_node_is_symbol (rthunk_node_get_item (node, 0), forms[k]))
        return TRUE;
  for (guint k = 0; k < n; k++)
    if (says_where (rthunk_node_get_item (node, k), depth + 1))
      return TRUE;
  return FALSE;
}

/* With `:placement auto`, an expression at the top level (not a
 * definition, not one that says where it runs) becomes `(auto FORM)`. */
RthunkNode *
rthunk_session_place_wrap (RthunkSession *self,
                           RthunkNode    *form,
                           gboolean       is_definition)
{
  RthunkNode *items[2];

  if (!self->auto_placement || is_definition || says_where (form, 0))
    return rthunk_node_ref (form);
  items[0] = rthunk_node_set_position (rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "auto"),
                                       rthunk_node_get_source (form), rthunk_node_get_line (form),
                                       rthunk_node_get_col (form));
  items[1] = form;
  return rthunk_node_set_position (rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 2),
                                   rthunk_node_get_source (form), rthunk_node_get_line (form),
                                   rthunk_node_get_col (form));
}

/**
 * rthunk_session_set_auto_placement:
 * @session: a session
 * @automatic: whether every top-level expression is placed automatically
 *
 * Sets [property@Rthunk.Session:auto-placement].
 *
 * Since: 0.1
 */
void
rthunk_session_set_auto_placement (RthunkSession *session,
                                   gboolean       automatic)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  g_object_set (session, "auto-placement", automatic, NULL);
}

/**
 * rthunk_session_get_auto_placement:
 * @session: a session
 *
 * Gets [property@Rthunk.Session:auto-placement].
 *
 * Returns: whether every top-level expression is placed automatically
 *
 * Since: 0.1
 */
gboolean
rthunk_session_get_auto_placement (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  return session->auto_placement;
}

/**
 * rthunk_session_dup_why:
 * @session: a session
 *
 * Says where the last `(auto …)` form went and why, e.g. "local:
 * measured 0.020 ms ≤ round trip 0.300 ms to alpha (load 0)".
 *
 * Returns: (transfer full) (nullable): the reason, or %NULL before the
 *   first auto form
 *
 * Since: 0.1
 */
char *
rthunk_session_dup_why (RthunkSession *session)
{
  char *why;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  g_mutex_lock (&session->place_lock);
  why = g_strdup (session->why);
  g_mutex_unlock (&session->place_lock);
  return why;
}
