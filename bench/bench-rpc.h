/* bench-rpc.h — what bench-rpc.c shares with the other benchmarks of the
 * bench-rpc program (bench-scale.c, bench-shell.c)
 *
 * The peers bench-rpc starts, the bare Thrift client, rthunk's client, the
 * options every benchmark reads and the `result KEY VALUE` lines. Only
 * bench-rpc's own files include it.
 */
#ifndef BENCH_RPC_H
#define BENCH_RPC_H

#include <gio/gio.h>
#include <thrift/c_glib/protocol/thrift_protocol.h>
#include <thrift/c_glib/transport/thrift_transport.h>

#include "rthunk.h"
#include "bench_bare.h"

/* A process that printed "… listening on HOST:PORT". */
typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *address;
} Peer;

/* ThriftSocket → ThriftFramedTransport → ThriftBinaryProtocol → generated
 * client: what any c_glib program would write. */
typedef struct
{
  ThriftTransport *socket;
  ThriftTransport *transport;
  ThriftProtocol *protocol;
  BenchBareIf *client;
} Bare;

extern int opt_reps;
extern double opt_scale;
extern char *opt_rthunk;

guint         scaled        (guint              n);
void          say           (const char        *format,
                             ...) G_GNUC_PRINTF (1, 2);
void          result        (const char        *key,
                             double             value);
gboolean      wanted        (const char        *name);
Peer         *start_rthunkd (const char *const *extra);
void          peer_stop     (Peer              *peer);
RthunkNode   *parse_one     (const char        *text);
RthunkClient *rthunk_open   (Peer              *peer);
Bare         *bare_open     (Peer              *peer);
void          bare_close    (Bare              *b);
gint64        bare_add      (Bare              *b,
                             gint64             x,
                             gint64             y);

/* bench-scale.c */
void bench_pending (void);
void bench_cells   (void);
void bench_startup (void);

/* bench-shell.c */
void bench_chain_session (Peer *rthunkd);
void bench_shell         (Peer *rthunkd,
                          Peer *bare);
void bench_mix           (Peer *rthunkd);

#endif /* BENCH_RPC_H */
