/* rthunk-http-json.c — the JSON of /api/status and /api/thunks
 *
 * Both are documented field by field in docs/protocol.md ("HTTP"). Times
 * are relative to the instant of the answer (…AgoMs), as the server's
 * clock is monotonic and the reader's is not the server's.
 */
#include "config.h"

#include "rthunk-http-front.h"
#include "rthunk-http.h"
#include "rthunk-log.h"
#include "rthunk-metrics.h"
#include "rthunk-thunk-table.h"

/* A member of /api/status and the RthunkServerStats field it shows. */
typedef struct
{
  const char *name;
  gsize offset;
} Field;

#define FIELD(name, f) { name, G_STRUCT_OFFSET (RthunkServerStats, f) }

static const Field counters[] = {
  FIELD ("submitted", counters.submitted), FIELD ("completed", counters.completed), FIELD ("failed", counters.failed),
  FIELD ("cancelled", counters.cancelled), FIELD ("cacheHits", counters.cache_hits), FIELD ("cacheHitsShared", counters.cache_hits_shared),
  FIELD ("definitionsLoaded", counters.definitions_loaded), FIELD ("memoHits", counters.memo_hits),
  FIELD ("pipelined", counters.pipelined), FIELD ("fetched", counters.fetched), FIELD ("batches", counters.batches),
  FIELD ("longThunks", long_thunks), FIELD ("typesProvided", counters.types_provided),
};

static const Field gauges[] = {
  FIELD ("running", running), FIELD ("queued", queued), FIELD ("workers", workers),
  FIELD ("workersBusy", running), FIELD ("connections", connections),
  FIELD ("maxConnections", max_connections), FIELD ("definitionsStored", definitions_stored),
  FIELD ("waiters", waiters),
};

static const Field memory[] = {
  FIELD ("usedBytes", memory_bytes), FIELD ("budgetBytes", memory_budget_bytes),
};

/* @member: an object of @fields, read from @stats. */
static void
add_fields (JsonBuilder             *b,
            const char              *member,
            const Field             *fields,
            guint                    n_fields,
            const RthunkServerStats *stats)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (guint k = 0; k < n_fields; k++)
    rthunk_http_add_int (b, fields[k].name, G_STRUCT_MEMBER (gint64, stats, fields[k].offset));
  json_builder_end_object (b);
}

static void
add_latency (JsonBuilder         *b,
             const RthunkLatency *latency)
{
  gint64 count = 0;

  json_builder_set_member_name (b, "latency");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "boundsUs");
  json_builder_begin_array (b);
  for (guint k = 0; k < RTHUNK_LATENCY_N_BOUNDS; k++)
    json_builder_add_int_value (b, rthunk_latency_bounds_us[k]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "counts");
  json_builder_begin_array (b);
  for (guint k = 0; k <= RTHUNK_LATENCY_N_BOUNDS; k++)
    {
      json_builder_add_int_value (b, latency->buckets[k]);
      count += latency->buckets[k];
    }
  json_builder_end_array (b);
  rthunk_http_add_int (b, "count", count);
  rthunk_http_add_int (b, "sumUs", latency->sum_us);
  json_builder_end_object (b);
}

/**
 * rthunk_http_status_json: (skip)
 * @name: the server's name
 * @stats: its numbers
 *
 * Returns: (transfer full): the body of /api/status
 */
JsonNode *
rthunk_http_status_json (const char              *name,
                         const RthunkServerStats *stats)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  rthunk_http_add_string (b, "name", name);
  rthunk_http_add_string (b, "version", PACKAGE_VERSION);
  rthunk_http_add_int (b, "uptimeMs", stats->uptime_us / 1000);
  add_fields (b, "counters", counters, G_N_ELEMENTS (counters), stats);
  add_fields (b, "gauges", gauges, G_N_ELEMENTS (gauges), stats);
  add_fields (b, "memory", memory, G_N_ELEMENTS (memory), stats);
  add_latency (b, &stats->latency);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static const char *
state_name (RthunkThunkState state)
{
  switch (state)
    {
    case RTHUNK_THUNK_PENDING: return "queued";
    case RTHUNK_THUNK_RUNNING: return "running";
    case RTHUNK_THUNK_DONE: return "done";
    case RTHUNK_THUNK_FAILED: return "failed";
    case RTHUNK_THUNK_CANCELLED: return "cancelled";
    default: return "unknown";
    }
}

/* A time before @now in milliseconds, or null when there is none. */
static void
add_ago (JsonBuilder *b,
         const char  *member,
         gint64       now,
         gint64       then_us)
{
  json_builder_set_member_name (b, member);
  if (then_us == 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, (now - then_us) / 1000);
}

static void
add_thunk (JsonBuilder           *b,
           const RthunkThunkView *view,
           gint64                 now)
{
  g_autofree char *id = rthunk_log_thunk_id (view->entry);
  gint64 end = view->finished_us != 0 ? view->finished_us : now;

  json_builder_begin_object (b);
  rthunk_http_add_string (b, "id", id);
  rthunk_http_add_string (b, "function", rthunk_log_function_of (view->expr));
  rthunk_http_add_string (b, "client", rthunk_log_client_of (view->entry->owner));
  rthunk_http_add_string (b, "state", state_name (view->state));
  rthunk_http_add_int (b, "elapsedMs", (end - view->entry->submitted_us) / 1000);
  add_ago (b, "submittedAgoMs", now, view->entry->submitted_us);
  add_ago (b, "startedAgoMs", now, view->started_us);
  add_ago (b, "finishedAgoMs", now, view->finished_us);
  json_builder_end_object (b);
}

/* One of the lists of /api/thunks: the views in @state, or in a final
 * state when @state is DONE. */
static void
add_list (JsonBuilder      *b,
          const char       *member,
          GArray           *views,
          RthunkThunkState  state,
          gint64            now)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint k = 0; k < views->len; k++)
    {
      const RthunkThunkView *view = &g_array_index (views, RthunkThunkView, k);

      if (view->state == state || (state == RTHUNK_THUNK_DONE && view->state > RTHUNK_THUNK_DONE))
        add_thunk (b, view, now);
    }
  json_builder_end_array (b);
}

/**
 * rthunk_http_thunks_json: (skip)
 * @table: the server's thunks
 * @max_finished: how many finished thunks to list
 *
 * Returns: (transfer full): the body of /api/thunks
 */
JsonNode *
rthunk_http_thunks_json (RthunkThunkTable *table,
                         guint             max_finished)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GArray) views = rthunk_thunk_table_list (table, max_finished);
  gint64 now = g_get_monotonic_time ();

  json_builder_begin_object (b);
  add_list (b, "running", views, RTHUNK_THUNK_RUNNING, now);
  add_list (b, "queued", views, RTHUNK_THUNK_PENDING, now);
  add_list (b, "recent", views, RTHUNK_THUNK_DONE, now);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
