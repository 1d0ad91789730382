/* rthunk-handler.h — the IDL methods of a provider.  Private. */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-def-store.h"
#include "rthunk-result-cache.h"
#include "rthunk-server.h"
#include "rthunk-thunk-table.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* What the server core shares with its handler and workers. */
typedef struct
{
  char *name;
  RthunkCatalog *catalog;
  RthunkServerLimits limits;
  char *token;                  /* NULL: no auth */
  RthunkThunkTable *table;
  RthunkDefStore *defs;
  RthunkResultCache *cache;
  GThreadPool *pool;
  guint8 instance_id[RTHUNK_THUNK_ID_LEN];
  gint64 submitted;             /* counters, atomic */
  gint64 completed;
  gint64 failed;
  gint64 cancelled;
  gint64 cache_hits;
  gint64 pipelined;
  gint64 memo_hits;
  gint64 fetched;
  gint64 batches;
  gint running;
  GStrv fetch_from;             /* servers inputs may be fetched from */
  GThreadPool *fetch_pool;      /* fetches of inputs other servers hold */
  GMutex peers_lock;
  GHashTable *peers;            /* (peers_lock) HOST:PORT → RthunkClient, reused by fetches */
  gint stopping;                /* atomic: fetches give up */
  gint draining;                /* atomic: stopping, submissions refused */
  GMutex memo_lock;
  GHashTable *memo;             /* (memo_lock) Ast bytes → checked request */
  guint32 memo_seen[4096];      /* (memo_lock) hashes of Ast bytes seen once */
} RthunkServerState;

RthunkServerState *rthunk_server_state_new   (RthunkCatalog           *catalog,
                                              const char              *name,
                                              const RthunkServerLimits *limits);
void               rthunk_server_state_drain (RthunkServerState       *state);
void               rthunk_server_state_free  (RthunkServerState       *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireRemoteExecutionServiceHandler, g_object_unref)

#define RTHUNK_TYPE_HANDLER (rthunk_handler_get_type ())
G_DECLARE_FINAL_TYPE (RthunkHandler, rthunk_handler, RTHUNK, HANDLER,
                      RthunkWireRemoteExecutionServiceHandler)

RthunkHandler *rthunk_handler_new (RthunkServerState *state);

gboolean rthunk_handler_serve_fast (RthunkServerState *state,
                                    GBytes            *message,
                                    GByteArray        *reply);

G_END_DECLS
