/* rthunk-metrics.c — the latency histogram and the Prometheus exposition
 *
 * A finished thunk costs the histogram two relaxed atomic additions
 * (its bucket and the sum; the count is the buckets' total); nothing is locked. /metrics renders
 * an RthunkServerStats (rthunk_server_state_get_stats()) in the
 * Prometheus text exposition format 0.0.4: every name starts with
 * `rthunk_`, carries its unit (`_seconds`, `_bytes`) and counters end in
 * `_total`, as Prometheus' naming conventions ask.
 */
#include "config.h"

#include "rthunk-metrics.h"

const gint64 rthunk_latency_bounds_us[RTHUNK_LATENCY_N_BOUNDS] = {
  1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
  1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

/**
 * rthunk_latency_observe: (skip)
 * @latency: a histogram
 * @elapsed_us: how long one thunk took
 *
 * Counts one thunk; safe from any thread.
 */
void
rthunk_latency_observe (RthunkLatency *latency,
                        gint64         elapsed_us)
{
  guint k = 0;

  while (k < RTHUNK_LATENCY_N_BOUNDS && elapsed_us > rthunk_latency_bounds_us[k])
    k++;
  __atomic_add_fetch (&latency->buckets[k], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch (&latency->sum_us, MAX (elapsed_us, 0), __ATOMIC_RELAXED);
}

/* Reads every counter of @latency into @out. */
void
rthunk_latency_copy (const RthunkLatency *latency,
                     RthunkLatency       *out)
{
  for (guint k = 0; k <= RTHUNK_LATENCY_N_BOUNDS; k++)
    out->buckets[k] = __atomic_load_n (&latency->buckets[k], __ATOMIC_RELAXED);
  out->sum_us = __atomic_load_n (&latency->sum_us, __ATOMIC_RELAXED);
}

/* Reads @counters, each atomically, into @out. */
void
rthunk_server_counters_load (const RthunkServerCounters *counters,
                             RthunkServerCounters       *out)
{
  const gint64 *from = (const gint64 *) counters;
  gint64 *to = (gint64 *) out;

  G_STATIC_ASSERT (sizeof (RthunkServerCounters) % sizeof (gint64) == 0);
  for (gsize k = 0; k < sizeof (RthunkServerCounters) / sizeof (gint64); k++)
    to[k] = __atomic_load_n (&from[k], __ATOMIC_RELAXED);
}

/* One sample of RthunkServerStats: its name, type, help and field. */
typedef struct
{
  const char *name;
  const char *type;
  const char *help;
  gsize offset;
} Sample;

#define FIELD(f) G_STRUCT_OFFSET (RthunkServerStats, f)
/* one of the counters the server adds to as it works */
#define COUNTER(f) FIELD (counters.f)

static const Sample samples[] = {
  { "rthunk_thunks_submitted_total", "counter", "Thunks submitted", COUNTER (submitted) },
  { "rthunk_thunks_completed_total", "counter", "Thunks that finished with a value", COUNTER (completed) },
  { "rthunk_thunks_failed_total", "counter", "Thunks that failed", COUNTER (failed) },
  { "rthunk_thunks_cancelled_total", "counter", "Thunks cancelled", COUNTER (cancelled) },
  { "rthunk_cache_hits_total", "counter", "Thunks answered from the result cache", COUNTER (cache_hits) },
  { "rthunk_cache_hits_shared_total", "counter", "Of those, thunks answered from the store below memory (SQLite, Redis)", COUNTER (cache_hits_shared) },
  { "rthunk_definitions_loaded_total", "counter", "Definitions taken from the store below memory", COUNTER (definitions_loaded) },
  { "rthunk_memo_hits_total", "counter", "Requests whose checked form was reused", COUNTER (memo_hits) },
  { "rthunk_pipelined_total", "counter", "Thunks that named another thunk as an input", COUNTER (pipelined) },
  { "rthunk_fetched_total", "counter", "Inputs fetched from other servers", COUNTER (fetched) },
  { "rthunk_batches_total", "counter", "submitBatch calls", COUNTER (batches) },
  { "rthunk_types_provided_total", "counter", "provideType calls answered with a type", COUNTER (types_provided) },
  { "rthunk_long_thunks_total", "counter", "Thunks that ran past --long-thunk-ms", FIELD (long_thunks) },
  { "rthunk_definitions", "gauge", "Definitions stored", FIELD (definitions_stored) },
  { "rthunk_waiters", "gauge", "Thunks awaited by clients", FIELD (waiters) },
  { "rthunk_thunks_running", "gauge", "Thunks running", FIELD (running) },
  { "rthunk_thunks_queued", "gauge", "Thunks queued", FIELD (queued) },
  { "rthunk_workers", "gauge", "Evaluation threads (--workers)", FIELD (workers) },
  { "rthunk_workers_busy", "gauge", "Evaluation threads running a thunk", FIELD (running) },
  { "rthunk_connections", "gauge", "Thrift connections open", FIELD (connections) },
  { "rthunk_connections_max", "gauge", "Thrift connections allowed (--max-connections)", FIELD (max_connections) },
  { "rthunk_memory_bytes", "gauge", "Memory charged to the budget", FIELD (memory_bytes) },
  { "rthunk_memory_budget_bytes", "gauge", "The memory budget (--max-memory)", FIELD (memory_budget_bytes) },
};

static void
render_sample (GString                 *out,
               const Sample            *sample,
               const RthunkServerStats *stats)
{
  gint64 value = G_STRUCT_MEMBER (gint64, stats, sample->offset);

  g_string_append_printf (out, "# HELP %s %s.\n# TYPE %s %s\n%s %" G_GINT64_FORMAT "\n",
                          sample->name, sample->help, sample->name, sample->type, sample->name, value);
}

/* Seconds as Prometheus reads them, with no locale in the way. */
static void
append_seconds (GString *out,
                gint64   us)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (text, sizeof text, "%.6g", us / 1e6));
}

static void
render_latency (GString             *out,
                const RthunkLatency *latency)
{
  const char *name = "rthunk_thunk_duration_seconds";
  gint64 cumulative = 0;

  g_string_append_printf (out, "# HELP %s Time from a thunk's submission to its end.\n# TYPE %s histogram\n",
                          name, name);
  for (guint k = 0; k <= RTHUNK_LATENCY_N_BOUNDS; k++)
    {
      cumulative += latency->buckets[k];
      g_string_append_printf (out, "%s_bucket{le=\"", name);
      if (k < RTHUNK_LATENCY_N_BOUNDS)
        append_seconds (out, rthunk_latency_bounds_us[k]);
      else
        g_string_append (out, "+Inf");
      g_string_append_printf (out, "\"} %" G_GINT64_FORMAT "\n", cumulative);
    }
  g_string_append_printf (out, "%s_sum %" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT, name,
                          latency->sum_us / G_USEC_PER_SEC, latency->sum_us % G_USEC_PER_SEC);
  g_string_append_printf (out, "\n%s_count %" G_GINT64_FORMAT "\n", name, cumulative);
}

/**
 * rthunk_metrics_render: (skip)
 * @stats: the server's numbers
 *
 * The body of /metrics.
 *
 * Returns: (transfer full): @stats in the Prometheus text format
 */
GString *
rthunk_metrics_render (const RthunkServerStats *stats)
{
  GString *out = g_string_sized_new (4096);

  for (guint k = 0; k < G_N_ELEMENTS (samples); k++)
    render_sample (out, &samples[k], stats);
  g_string_append_printf (out, "# HELP rthunk_uptime_seconds Time since the server started.\n"
                          "# TYPE rthunk_uptime_seconds gauge\nrthunk_uptime_seconds %" G_GINT64_FORMAT "\n",
                          stats->uptime_us / G_USEC_PER_SEC);
  render_latency (out, &stats->latency);
  return out;
}
