/* rthunk-server-private.h — one connection of the server core (private,
 * never installed)
 *
 * What rthunk-server.c runs on each connection it accepts, for the fuzz
 * target that drives a whole connection (tests/fuzz/fuzz-connection.c):
 * the frame transport with the server's limits, and the loop that serves
 * it until the connection ends.
 */
#pragma once

#include "rthunk-frame.h"
#include "rthunk-handler.h"
#include "rthunk-metrics.h"
#include "rthunk-server.h"
#include "rthunk-state-store.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

RthunkFrameTransport *rthunk_server_transport_new   (int                        fd,
                                                     const RthunkServerLimits  *limits) G_GNUC_WARN_UNUSED_RESULT;
void                  rthunk_server_transport_setup (RthunkFrameTransport      *transport,
                                                     const RthunkServerLimits  *limits);
/* The state cells the server reports in getServerInfo (the provider adds
 * their functions to the catalog); before rthunk_server_listen(). */
void                  rthunk_server_set_state_store (RthunkServer              *server,
                                                     RthunkStateStore          *store);
void                  rthunk_server_serve_transport (RthunkServerState         *state,
                                                     ThriftProcessor           *processor,
                                                     RthunkFrameTransport      *transport);

/* for rthunk-http.c and rthunk-registration.c */
RthunkServerState    *rthunk_server_get_state       (RthunkServer              *server);
RthunkCatalog        *rthunk_server_get_catalog     (RthunkServer              *server);
GTlsCertificate      *rthunk_server_get_tls_certificate (RthunkServer          *server);
void                  rthunk_server_get_stats       (RthunkServer              *server,
                                                     RthunkServerStats         *stats);

G_END_DECLS
