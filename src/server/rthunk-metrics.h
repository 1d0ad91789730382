/* rthunk-metrics.h — the server's numbers at one instant, its latency
 * histogram and their Prometheus exposition.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The histogram's finite upper bounds, in microseconds; one more bucket
 * counts what is above the last (+Inf). */
#define RTHUNK_LATENCY_N_BOUNDS 14

extern const gint64 rthunk_latency_bounds_us[RTHUNK_LATENCY_N_BOUNDS];

/* How long thunks took from submission to their end: per-bucket counts
 * (not cumulative) and their sum, all atomic. */
typedef struct
{
  gint64 buckets[RTHUNK_LATENCY_N_BOUNDS + 1];
  gint64 sum_us;
} RthunkLatency;

void rthunk_latency_observe (RthunkLatency       *latency,
                             gint64               elapsed_us);
void rthunk_latency_copy    (const RthunkLatency *latency,
                             RthunkLatency       *out);

/* What the server counts as it works (the server state's counters, each
 * added to atomically), and what its stats publish of them. */
typedef struct
{
  gint64 submitted;
  gint64 completed;
  gint64 failed;
  gint64 cancelled;
  gint64 cache_hits;             /* local and shared */
  gint64 cache_hits_shared;      /* answered by the store below memory */
  gint64 definitions_loaded;     /* definitions the store gave */
  gint64 pipelined;
  gint64 fetched;
  gint64 batches;
  gint64 types_provided;         /* provideType calls answered with a type */
  gint64 memo_hits;
} RthunkServerCounters;

void rthunk_server_counters_load (const RthunkServerCounters *counters,
                                  RthunkServerCounters       *out);

/* What getServerInfo, /metrics and /api/status publish. */
typedef struct
{
  RthunkServerCounters counters;
  gint64 definitions_stored;
  gint64 long_thunks;
  gint64 waiters;
  gint64 running;
  gint64 queued;
  gint64 workers;
  gint64 connections;
  gint64 max_connections;
  gint64 memory_bytes;
  gint64 memory_budget_bytes;
  gint64 uptime_us;
  RthunkLatency latency;
} RthunkServerStats;

GString *rthunk_metrics_render (const RthunkServerStats *stats);

G_END_DECLS
