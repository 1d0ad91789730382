/* rthunk-server.h — the server core that every provider runs */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

#include "rthunk-catalog.h"

G_BEGIN_DECLS

/**
 * RTHUNK_SERVER_DEFAULT_MAX_FRAME_BYTES:
 *
 * The largest request frame a server accepts unless told otherwise.
 *
 * Since: 0.1
 */
#define RTHUNK_SERVER_DEFAULT_MAX_FRAME_BYTES (8u * 1024u * 1024u)

/**
 * RTHUNK_SERVER_DEFAULT_MAX_MEMORY:
 *
 * The most the default memory budget of a server is: a quarter of the
 * physical memory, but no more than this (4 GiB).
 *
 * Since: 0.1
 */
#define RTHUNK_SERVER_DEFAULT_MAX_MEMORY (G_GUINT64_CONSTANT (4) << 30)

/**
 * RthunkServerLimits:
 * @max_frame_bytes: largest frame accepted
 * @max_connections: connections served at once; more are closed at once
 * @workers: evaluation threads
 * @max_queued: thunks waiting or running; beyond it submissions get
 *   `Overloaded`
 * @io_timeout_ms: read and write timeout of every socket
 * @fuel: steps one thunk may take
 * @deadline_ms: how long one thunk may run
 * @max_depth: how deeply one evaluation may nest
 * @max_ast_nodes: nodes one request's AST may have
 * @inline_budget_ms: how long a submission waits to return the value inline
 * @max_thunks: finished thunks remembered
 * @thunk_ttl_ms: how long a finished thunk is remembered
 * @max_eval_bytes: bytes of lists and strings one thunk may build
 * @cache_entries: results the cache holds at most (0: no cache)
 * @cache_bytes: bytes the cache holds at most
 * @max_definitions: definitions the store holds at most
 * @definitions_bytes: bytes the definition store holds at most
 * @drain_timeout_ms: on rthunk_server_stop(), how long accepted thunks may
 *   still run before they are cancelled
 * @max_memory: bytes the whole server may use for what clients make it
 *   hold or build: finished thunks' values, definitions, the result cache,
 *   frames being read and running evaluations all charge it; past it new
 *   work gets `Overloaded`, the cache and then the oldest finished values
 *   are evicted. The default is a quarter of the physical memory, at most
 *   %RTHUNK_SERVER_DEFAULT_MAX_MEMORY
 * @long_thunk_ms: a thunk that has run this long gives up its worker
 *   slot: the pool starts another thread for the thunks queued behind it
 *   (at most 4 × @workers more), so that a few long thunks cannot starve short
 *   ones (0: never)
 * @max_queued_per_client: thunks one connection may have queued or
 *   running; beyond it its submissions get `Overloaded` naming this quota,
 *   and other clients are still served (0: a quarter of @max_queued)
 * @max_running_per_client: thunks of one connection the worker pool runs
 *   at once; the others wait, held back, while other connections' thunks
 *   run (0: @workers)
 * @idle_timeout_ms: how long a connection may wait between calls, with
 *   no call in flight, before the server closes it and frees its slot
 *   (0: as long as @io_timeout_ms allows one read to wait)
 * @max_waiters_per_client: thunks one connection may await at once
 *   (thunkAwait); beyond it the call is refused (0: 4096, the most one
 *   call may name)
 * @max_print_bytes: bytes one thunk's `print` may write; the rest is
 *   dropped and counted (default 64 KiB)
 * @print_buffer_bytes: bytes of `print` output the server holds while its
 *   standard output is slow or unread; beyond, output is dropped and
 *   counted, never waited for (default 1 MiB). The print queue is one per
 *   process: the last server started sets both bounds
 * @store_timeout_ms: how long a request waits for the store below memory
 *   (rthunk_server_set_store()) before a lookup counts as a miss
 * @store_ttl_s: how long the store keeps an entry, in seconds
 *
 * The limits of a server; rthunk_server_limits_init() fills the defaults.
 *
 * Since: 0.1
 */
typedef struct
{
  guint64 max_frame_bytes;
  guint max_connections;
  guint workers;
  guint max_queued;
  guint io_timeout_ms;
  guint64 fuel;
  guint deadline_ms;
  guint max_depth;
  guint max_ast_nodes;
  guint inline_budget_ms;
  guint max_thunks;
  guint thunk_ttl_ms;
  guint64 max_eval_bytes;
  guint cache_entries;
  guint64 cache_bytes;
  guint max_definitions;
  guint64 definitions_bytes;
  guint drain_timeout_ms;
  guint64 max_memory;
  guint long_thunk_ms;
  guint max_queued_per_client;
  guint max_running_per_client;
  guint idle_timeout_ms;
  guint max_waiters_per_client;
  guint64 max_print_bytes;
  guint64 print_buffer_bytes;
  guint store_timeout_ms;
  guint store_ttl_s;
} RthunkServerLimits;

RTHUNK_AVAILABLE_IN_0_1
void rthunk_server_limits_init (RthunkServerLimits *limits);

#define RTHUNK_TYPE_SERVER (rthunk_server_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkServer, rthunk_server, RTHUNK, SERVER, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkServer *rthunk_server_new        (RthunkCatalog            *catalog,
                                        const char               *name) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_set_token  (RthunkServer             *server,
                                        const char               *token);
RTHUNK_AVAILABLE_IN_0_1
gboolean      rthunk_server_set_tls    (RthunkServer             *server,
                                        const char               *cert_file,
                                        const char               *key_file,
                                        const char               *client_ca_file,
                                        GError                  **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean      rthunk_server_set_peer_tls (RthunkServer           *server,
                                          const char             *ca_file,
                                          GError                **error);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_set_fetch_from (RthunkServer      *server,
                                            const char *const *patterns);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_set_store  (RthunkServer             *server,
                                        const char               *uri,
                                        const char               *password);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_set_store_tls (RthunkServer          *server,
                                           const char            *ca_file,
                                           const char            *cert_file,
                                           const char            *key_file);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_set_limits (RthunkServer             *server,
                                        const RthunkServerLimits *limits);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_get_limits (RthunkServer             *server,
                                        RthunkServerLimits       *limits);
RTHUNK_AVAILABLE_IN_0_1
gboolean      rthunk_server_listen     (RthunkServer             *server,
                                        const char               *address,
                                        guint16                   port,
                                        GError                  **error);
RTHUNK_AVAILABLE_IN_0_1
guint16       rthunk_server_get_port   (RthunkServer             *server);
RTHUNK_AVAILABLE_IN_0_1
const char   *rthunk_server_get_name   (RthunkServer             *server);
RTHUNK_AVAILABLE_IN_0_1
void          rthunk_server_stop       (RthunkServer             *server);

G_END_DECLS
