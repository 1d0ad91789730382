/* rthunk-server-state-private.h — the fields of RthunkServerState (private)
 *
 * Only the handler's files (rthunk-handler-private.h) see them; the rest
 * of the server uses the functions of rthunk-handler.h.
 */
#pragma once

#include <glib.h>

#include "rthunk-budget.h"
#include "rthunk-orphan-reaper.h"
#include "rthunk-catalog.h"
#include "rthunk-handler.h"
#include "rthunk-long-watch.h"
#include "rthunk-lru.h"
#include "rthunk-metrics.h"
#include "rthunk-server.h"
#include "rthunk-store.h"
#include "rthunk-state-store.h"
#include "rthunk-thunk-table.h"

G_BEGIN_DECLS

/* What the server core shares with its handler and workers. */
struct _RthunkServerState
{
  char *name;
  RthunkCatalog *catalog;
  RthunkServerLimits limits;
  char *token;                  /* NULL: no auth */
  RthunkThunkTable *table;
  RthunkLru *defs;              /* RthunkDefinition by hash (rthunk-def-store.h) */
  RthunkLru *cache;             /* pure results by key (rthunk-result-cache.h) */
  RthunkStore *store;           /* NULL: the memory tiers only */
  RthunkBudget *budget;         /* max_memory: everything above charges it */
  GThreadPool *pool;
  RthunkLongWatch *long_watch;  /* lets the pool grow past a long thunk */
  RthunkOrphanReaper *orphans;  /* cancels the thunks of clients that left */
  guint8 instance_id[RTHUNK_THUNK_ID_LEN];
  RthunkServerCounters counters; /* each atomic: COUNT() */
  gint running;
  RthunkLatency latency;        /* submission to end of each finished thunk, atomic */
  gint64 started_us;            /* when the server started (monotonic) */
  GStrv fetch_from;             /* servers inputs may be fetched from */
  RthunkStateStore *state_store; /* (nullable) the state cells */
  gboolean peer_tls;            /* fetches speak TLS, trusting peer_tls_ca (NULL: the system's) */
  char *peer_tls_ca;            /* and showing this server's certificate and key */
  char *peer_tls_cert;
  char *peer_tls_key;
  GThreadPool *fetch_pool;      /* fetches of inputs other servers hold */
  GMutex peers_lock;
  GHashTable *peers;            /* (peers_lock) HOST:PORT → RthunkClient, reused by fetches */
  gint stopping;                /* atomic: fetches give up */
  gint draining;                /* atomic: stopping, submissions refused */
  GMutex memo_lock;
  GHashTable *memo;             /* (memo_lock) Ast bytes → checked request */
  guint32 memo_seen[4096];      /* (memo_lock) hashes of Ast bytes seen once */
};

G_END_DECLS
