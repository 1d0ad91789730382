/* bench-rpc.h — what bench-rpc.c shares with the other benchmarks of the
 * bench-rpc program (bench-scale.c): its options, its output, its peers
 */
#ifndef BENCH_RPC_H
#define BENCH_RPC_H

#include <gio/gio.h>

/* a process that printed "… listening on HOST:PORT" */
typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *address;
} Peer;

extern int opt_reps;
extern double opt_scale;
extern char *opt_rthunk;

guint    scaled        (guint              n);
void     say           (const char        *format,
                        ...) G_GNUC_PRINTF (1, 2);
void     result        (const char        *key,
                        double             value);
gboolean wanted        (const char        *name);
Peer    *start_rthunkd (const char *const *extra);
void     peer_stop     (Peer              *peer);

/* bench-scale.c */
void     bench_pending (void);
void     bench_cells   (void);
void     bench_startup (void);

#endif /* BENCH_RPC_H */
