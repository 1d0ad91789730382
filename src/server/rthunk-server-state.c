/* rthunk-server-state.c — what the server core shares with its handler and workers
 *
 * An RthunkServerState holds the server's catalog, limits, thunk table,
 * definition store, result cache, worker and fetch pools, counters and the
 * memo of checked requests. Its fields are private to the handler's files
 * (rthunk-server-state-private.h); the rest of the server uses the
 * functions here.
 */
#include "config.h"

#include <sys/random.h>

#include "rthunk-budget.h"
#include "rthunk-catalog.h"
#include "rthunk-core-private.h"
#include "rthunk-def-store.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-log.h"
#include "rthunk-long-watch.h"
#include "rthunk-lru.h"
#include "rthunk-metrics.h"
#include "rthunk-print-sink.h"
#include "rthunk-result-cache.h"
#include "rthunk-server.h"
#include "rthunk-thunk-table.h"

#define MAX_FETCHES 16            /* inputs fetched from other servers at once */

/* The orphan reaper's count of thunks it cancelled while queued. */
static void
count_cancelled (gpointer data,
                 guint    n)
{
  RthunkServerState *state = data;

  __atomic_add_fetch (&state->counters.cancelled, n, __ATOMIC_RELAXED);
}

RthunkServerState *
rthunk_server_state_new (RthunkCatalog            *catalog,
                         const char               *name,
                         const RthunkServerLimits *limits)
{
  RthunkServerState *state = g_new0 (RthunkServerState, 1);
  g_autoptr(GError) error = NULL;

  state->started_us = g_get_monotonic_time ();
  state->name = g_strdup (name);
  state->catalog = g_object_ref (catalog);
  state->limits = *limits;
  state->table = rthunk_thunk_table_new (limits->max_thunks, limits->thunk_ttl_ms);
  state->defs = rthunk_def_store_new (limits->max_definitions, limits->definitions_bytes);
  state->cache = rthunk_result_cache_new (limits->cache_entries, limits->cache_bytes);
  /* the evictors in order: the cache first, then finished values, then
   * the least recently used definitions */
  state->budget = rthunk_budget_new (limits->max_memory);
  rthunk_print_sink_set_limits (limits->max_print_bytes, limits->print_buffer_bytes);
  rthunk_lru_set_budget (state->cache, state->budget);
  rthunk_thunk_table_set_budget (state->table, state->budget);
  rthunk_lru_set_budget (state->defs, state->budget);
  state->pool = g_thread_pool_new (rthunk_handler_run_thunk, state, MAX (limits->workers, 1), FALSE, &error);
  if (state->pool == NULL)
    g_error ("cannot start the worker pool: %s", error->message);
  state->long_watch = rthunk_long_watch_new (state->pool, MAX (limits->workers, 1), limits->long_thunk_ms);
  state->orphans = rthunk_orphan_reaper_new (state->table, count_cancelled, state);
  g_mutex_init (&state->memo_lock);
  state->memo = g_hash_table_new_full (rthunk_handler_ast_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                       (GDestroyNotify) rthunk_handler_memo_shape_unref);
  g_mutex_init (&state->peers_lock);
  state->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  state->fetch_pool = g_thread_pool_new (rthunk_handler_run_fetch, state, MAX_FETCHES, FALSE, &error);
  if (state->fetch_pool == NULL)
    g_error ("cannot start the fetch pool: %s", error->message);
  if (getrandom (state->instance_id, sizeof state->instance_id, 0) != sizeof state->instance_id)
    for (guint k = 0; k < sizeof state->instance_id; k++)
      state->instance_id[k] = g_random_int_range (0, 256);
  return state;
}

/* Lets every queued thunk finish; no new one can be queued afterwards. */
void
rthunk_server_state_drain (RthunkServerState *state)
{
  if (state->pool == NULL)
    return;
  rthunk_long_watch_stop (state->long_watch);
  g_thread_pool_free (g_steal_pointer (&state->pool), FALSE, TRUE);
}

void
rthunk_server_state_free (RthunkServerState *state)
{
  g_atomic_int_set (&state->stopping, TRUE);
  rthunk_orphan_reaper_free (state->orphans);
  if (state->fetch_pool != NULL)
    g_thread_pool_free (g_steal_pointer (&state->fetch_pool), FALSE, TRUE);
  rthunk_server_state_drain (state);
  rthunk_long_watch_free (state->long_watch);
  g_hash_table_unref (state->peers);
  g_mutex_clear (&state->peers_lock);
  g_hash_table_unref (state->memo);
  g_mutex_clear (&state->memo_lock);
  g_strfreev (state->fetch_from);
  g_clear_pointer (&state->state_store, rthunk_state_store_unref);
  g_free (state->peer_tls_ca);
  g_free (state->peer_tls_cert);
  g_free (state->peer_tls_key);
  rthunk_thunk_table_free (state->table);
  g_clear_pointer (&state->store, rthunk_store_free);
  rthunk_lru_free (state->defs);
  rthunk_lru_free (state->cache);
  rthunk_budget_free (state->budget);
  g_free (state->token);
  g_object_unref (state->catalog);
  g_free (state->name);
  g_free (state);
}

/* The client's token the server asks for (NULL: none); set before the
 * server serves. */
void
rthunk_server_state_set_token (RthunkServerState *state,
                               const char        *token)
{
  rthunk_set_str (&state->token, token);
}

/* The servers inputs may be fetched from (see --fetch-from); set before
 * the server serves. */
void
rthunk_server_state_set_fetch_from (RthunkServerState *state,
                                    const char *const *fetch_from)
{
  g_strfreev (state->fetch_from);
  state->fetch_from = g_strdupv ((GStrv) fetch_from);
}

/* Keeps results and definitions in @store (taking it; NULL: none) below
 * the memory tiers; set before the server serves. */
void
rthunk_server_state_set_store (RthunkServerState *state,
                               RthunkStore       *store)
{
  state->store = store;
}

/* The state cells getServerInfo reports (nullable); set before the server
 * serves. */
void
rthunk_server_state_set_state_store (RthunkServerState *state,
                                     RthunkStateStore  *store)
{
  g_clear_pointer (&state->state_store, rthunk_state_store_unref);
  state->state_store = store != NULL ? rthunk_state_store_ref (store) : NULL;
}

/* Fetches from other servers speak TLS, trusting @ca_file (NULL: the
 * system's authorities) and showing @cert_file; set before the server
 * serves. */
void
rthunk_server_state_set_peer_tls (RthunkServerState *state,
                                  const char        *ca_file,
                                  const char        *cert_file,
                                  const char        *key_file)
{
  state->peer_tls = TRUE;
  state->peer_tls_ca = g_strdup (ca_file);
  state->peer_tls_cert = g_strdup (cert_file);
  state->peer_tls_key = g_strdup (key_file);
}

RthunkThunkTable *
rthunk_server_state_get_table (RthunkServerState *state)
{
  return state->table;
}

/* Starts the drain: thunks accepted run on, no new one is taken. */
void
rthunk_server_state_refuse_new (RthunkServerState *state)
{
  g_atomic_int_set (&state->draining, 1);
}

/* The server's memory budget (see --max-memory). */
RthunkBudget *
rthunk_server_state_get_budget (RthunkServerState *state)
{
  return state->budget;
}

/* How long a connection may wait between calls (--idle-timeout-ms). */
guint
rthunk_server_state_get_idle_timeout (RthunkServerState *state)
{
  return state->limits.idle_timeout_ms;
}

/* Whether calls must carry a token (--token-file). */
gboolean
rthunk_server_state_needs_token (RthunkServerState *state)
{
  return state->token != NULL;
}

/* Whether @token (nullable) is the one calls must carry; TRUE when the
 * server asks for none. */
gboolean
rthunk_server_state_check_token (RthunkServerState *state,
                                 const char        *token)
{
  return state->token == NULL || (token != NULL && rthunk_handler_tokens_equal (token, state->token));
}

/* Every number getServerInfo, /metrics and /api/status publish, read
 * now (connections and max_connections are the server's: 0 here). */
void
rthunk_server_state_get_stats (RthunkServerState *state,
                               RthunkServerStats *stats)
{
  guint unfinished = rthunk_thunk_table_count_unfinished (state->table);
  guint running = g_atomic_int_get (&state->running);

  *stats = (RthunkServerStats) {
    .definitions_stored = rthunk_lru_size (state->defs),
    .long_thunks = rthunk_long_watch_total_long (state->long_watch),
    .waiters = rthunk_thunk_table_count_waiters (state->table),
    .running = running,
    .queued = unfinished - MIN (unfinished, running),
    .workers = state->limits.workers,
    .memory_bytes = rthunk_budget_get_used (state->budget),
    .memory_budget_bytes = rthunk_budget_get_limit (state->budget),
    .uptime_us = g_get_monotonic_time () - state->started_us,
  };
  rthunk_server_counters_load (&state->counters, &stats->counters);
  /* every shared hit is a hit: the two were read one after the other */
  stats->counters.cache_hits = MAX (stats->counters.cache_hits, stats->counters.cache_hits_shared);
  rthunk_latency_copy (&state->latency, &stats->latency);
}

/**
 * rthunk_server_state_thunk_finished: (skip)
 * @state: the server's state
 * @entry: a thunk that just finished
 * @error: (nullable): why it failed, or %NULL when it is done
 * @how: how it was answered: "run", "cache", "fetched"
 *
 * Where every finished thunk passes: counted in the latency histogram
 * (two atomic additions) and logged (rthunk_log_thunk_finished()).
 */
void
rthunk_server_state_thunk_finished (RthunkServerState *state,
                                    RthunkThunkEntry  *entry,
                                    const GError      *error,
                                    const char        *how)
{
  rthunk_latency_observe (&state->latency, g_get_monotonic_time () - entry->submitted_us);
  rthunk_log_thunk_finished (entry, error, how);
}
