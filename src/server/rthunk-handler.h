/* rthunk-handler.h — the IDL methods of a provider.  Private. */
#pragma once

#include "rthunk-budget.h"
#include "rthunk-catalog.h"
#include "rthunk-conn-account.h"
#include "rthunk-metrics.h"
#include "rthunk-server.h"
#include "rthunk-store.h"
#include "rthunk-state-store.h"
#include "rthunk-thunk-table.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* What the server core shares with its handler and workers: its fields
 * are private to the handler's files (rthunk-server-state-private.h). */
typedef struct _RthunkServerState RthunkServerState;

RthunkServerState *rthunk_server_state_new   (RthunkCatalog           *catalog,
                                              const char              *name,
                                              const RthunkServerLimits *limits);
void               rthunk_server_state_drain (RthunkServerState       *state);
void               rthunk_server_state_free  (RthunkServerState       *state);

void               rthunk_server_state_set_token      (RthunkServerState  *state,
                                                       const char         *token);
void               rthunk_server_state_set_peer_tls   (RthunkServerState  *state,
                                                       const char         *ca_file,
                                                       const char         *cert_file,
                                                       const char         *key_file);
void               rthunk_server_state_set_store (RthunkServerState *state,
                                                  RthunkStore       *store);
void               rthunk_server_state_set_fetch_from (RthunkServerState  *state,
                                                       const char *const  *fetch_from);
void               rthunk_server_state_set_state_store (RthunkServerState *state,
                                                        RthunkStateStore  *store);
RthunkThunkTable  *rthunk_server_state_get_table      (RthunkServerState  *state);
void               rthunk_server_state_refuse_new     (RthunkServerState  *state);
RthunkBudget      *rthunk_server_state_get_budget     (RthunkServerState  *state);
guint              rthunk_server_state_get_idle_timeout (RthunkServerState *state);
gboolean           rthunk_server_state_needs_token    (RthunkServerState  *state);
gboolean           rthunk_server_state_check_token    (RthunkServerState  *state,
                                                       const char         *token);
void               rthunk_server_state_get_stats      (RthunkServerState  *state,
                                                       RthunkServerStats  *stats);
void               rthunk_server_state_thunk_finished (RthunkServerState  *state,
                                                       RthunkThunkEntry   *entry,
                                                       const GError       *error,
                                                       const char         *how);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireRemoteExecutionServiceHandler, g_object_unref)

#define RTHUNK_TYPE_HANDLER (rthunk_handler_get_type ())
G_DECLARE_FINAL_TYPE (RthunkHandler, rthunk_handler, RTHUNK, HANDLER,
                      RthunkWireRemoteExecutionServiceHandler)

RthunkHandler *rthunk_handler_new (RthunkServerState *state);

/* rthunk-worker-pool.c: a connection's thread ends */
void rthunk_handler_connection_closed (RthunkServerState *state,
                                       RthunkConnAccount *account);

gboolean rthunk_handler_serve_fast (RthunkServerState *state,
                                    GBytes            *message,
                                    GByteArray        *reply);

G_END_DECLS
