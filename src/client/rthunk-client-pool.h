/* rthunk-client-pool.h — the connections of one client (private, never installed)
 *
 * A bounded set of framed connections to one server. A call takes one
 * (opening it when none is idle and the bound allows, waiting otherwise),
 * uses it alone and gives it back; a connection that saw an error, or whose
 * call was abandoned mid-frame, is closed instead of going back.
 */
#pragma once

#include <gio/gio.h>

#include "rthunk-frame.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* How many connections a client opens at most unless told otherwise. */
#define RTHUNK_POOL_DEFAULT_MAX 4
/* The largest bound a client accepts. */
#define RTHUNK_POOL_LIMIT_MAX 256
/* The largest frame a connection sends or receives. */
#define RTHUNK_POOL_MAX_FRAME_BYTES (RTHUNK_FRAME_DEFAULT_MAX_BYTES * 8)

typedef struct
{
  int fd;
  RthunkFrameTransport *transport;
  ThriftProtocol *protocol;
  RthunkWireRemoteExecutionServiceIf *stub;
  gboolean broken;              /* an error was seen: never reuse */
  gint64 idle_since_us;         /* monotonic, when it last went idle */
} RthunkConn;

typedef struct _RthunkPool RthunkPool;

/* One call's hold on a connection, and its cancellation. */
typedef struct
{
  RthunkPool *pool;
  GCancellable *cancellable;
  gulong handler;
  RthunkConn *conn;             /* set under the pool's lock */
} RthunkCall;

RthunkPool *rthunk_pool_new            (const char    *address,
                                        const char    *host,
                                        const char    *port,
                                        guint          connect_timeout_ms,
                                        guint          call_timeout_ms);
void        rthunk_pool_free           (RthunkPool    *pool);
void        rthunk_pool_set_max        (RthunkPool    *pool,
                                        guint          max);
guint       rthunk_pool_get_max        (RthunkPool    *pool);
guint       rthunk_pool_get_opened     (RthunkPool    *pool);
guint       rthunk_pool_get_open       (RthunkPool    *pool);
void        rthunk_pool_set_tls        (RthunkPool      *pool,
                                        gboolean         tls,
                                        GTlsDatabase    *ca,
                                        GTlsCertificate *identity);
gboolean    rthunk_pool_get_tls        (RthunkPool    *pool);

gboolean    rthunk_call_begin          (RthunkCall    *call,
                                        RthunkPool    *pool,
                                        GCancellable  *cancellable,
                                        GError       **error);
gboolean    rthunk_call_end            (RthunkCall    *call,
                                        gboolean       ok,
                                        GError       **error);

G_END_DECLS
