/* rthunk-client-private.h — each call of RthunkClient written once
 * (private, never installed)
 *
 * The sync forms in rthunk-client*.c and the GTask workers of the async
 * forms in rthunk-client-async.c both call these. Each takes a connection
 * from the client's pool for the call and honours @cancellable: a cancelled
 * call fails with %G_IO_ERROR_CANCELLED and its connection is closed.
 */
#pragma once

#include "rthunk-budget.h"
#include "rthunk-catalog.h"
#include "rthunk-client.h"
#include "rthunk-cluster.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* The state cells the server reported at the last getServerInfo. */
gint64             rthunk_client_get_state_cells (RthunkClient           *client);
guint              rthunk_client_get_workers     (RthunkClient           *client);

/* getServerInfo, then getFuncDefs (only when there is no catalog yet if
 * @catalog_if_missing): what connect and ping do. */
gboolean           rthunk_client_connect_run     (RthunkClient           *self,
                                                  gboolean                catalog_if_missing,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
RthunkValue       *rthunk_client_submit_run      (RthunkClient           *self,
                                                  RthunkNode             *expr,
                                                  GHashTable             *inputs,
                                                  GHashTable             *definitions,
                                                  gboolean                by_reference,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
/* thunkAwait: what the server reported of the finished thunks, for
 * rthunk_client_report_finished(). */
GArray            *rthunk_client_await_run       (RthunkClient           *self,
                                                  GPtrArray              *ids,
                                                  guint                   timeout_ms,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
void               rthunk_client_report_finished (GArray                 *done,
                                                  RthunkClientAwaitFunc   func,
                                                  gpointer                user_data);
/* thunkCancel; @was_unfinished: the server's answer (it stopped the thunk). */
gboolean           rthunk_client_cancel_run      (RthunkClient           *self,
                                                  GBytes                 *id,
                                                  GCancellable           *cancellable,
                                                  gboolean               *was_unfinished,
                                                  GError                **error);
/* Makes every client the cluster creates from now on have this
 * RthunkClient:call-timeout-ms (0: the default). */
void               rthunk_cluster_set_call_timeout (RthunkCluster      *cluster,
                                                    guint               timeout_ms);
/* A client of the server at @address with that whole-call deadline (0:
 * the default). */
RthunkClient      *rthunk_client_new_with_timeout (const char         *address,
                                                   guint               timeout_ms);

/* Checks @value, which the thunk @pending stands for delivered, against
 * the type the client expects of it (rthunk-client-validate.c). */
gboolean           rthunk_client_validate_for    (RthunkValue            *pending,
                                                  RthunkValue            *value,
                                                  GError                **error);
/* A finished list too large for one frame, fetched in chunks
 * (rthunk-client-chunks.c); @budget (nullable) is charged while it is
 * assembled. */
gboolean           rthunk_client_error_is_too_large (const GError       *error);
RthunkValue       *rthunk_client_fetch_chunked   (RthunkClient           *self,
                                                  GBytes                 *id,
                                                  RthunkType             *expected,
                                                  RthunkBudget           *budget,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
/* thunkGet, and what its answer means. */
RthunkWireVarCont *rthunk_client_poll_run        (RthunkClient           *self,
                                                  GBytes                 *id,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
RthunkThunkState   rthunk_client_poll_result     (RthunkWireVarCont      *cont,
                                                  RthunkValue           **value,
                                                  GError                **error);

GVariant          *rthunk_client_server_info_run (RthunkClient        *self,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
RthunkCatalog     *rthunk_client_func_defs_run   (RthunkClient        *self,
                                                  const char *const   *names,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
gint               rthunk_client_put_definitions_run (RthunkClient    *self,
                                                  GHashTable          *definitions,
                                                  GCancellable        *cancellable,
                                                  GError             **error);
GPtrArray         *rthunk_client_submit_batch_run (RthunkClient       *self,
                                                  GPtrArray           *exprs,
                                                  GHashTable          *inputs,
                                                  GCancellable        *cancellable,
                                                  GError             **error);

/* Queued submissions: coalesced into submitBatch frames (see
 * rthunk_client_enqueue() in rthunk-client-queue.c). */
#define RTHUNK_CLIENT_ID_LEN 16
#define RTHUNK_CLIENT_MAX_BATCH 1000
/* How many queued submissions rthunk_client_enqueue() sends on its own,
 * without waiting for their replies: a long burst (a chain of links, a
 * map fanning out) goes out while it is made. */
#define RTHUNK_CLIENT_SEND_AT 64

/* How a queued submission went, told when its reply is read: @made is
 * the value made for it (the pending one given out, or for a submitBatch
 * member the finished or pending one made then); @value its value when
 * the server finished it inline, @error why it was refused, or neither
 * when it runs there. */
typedef void (*RthunkClientSentFunc) (RthunkValue  *made,
                                      RthunkValue  *value,
                                      const GError *error,
                                      gpointer      user_data);

gboolean     rthunk_client_can_enqueue (RthunkClient          *self,
                                        RthunkNode            *expr,
                                        GHashTable            *definitions);
void         rthunk_client_random_id   (guint8                 id[RTHUNK_CLIENT_ID_LEN]);
char        *rthunk_client_thunk_label (RthunkClient          *self,
                                        const guint8          *id,
                                        gsize                  id_len);
gboolean     rthunk_client_enqueue     (RthunkClient          *self,
                                        RthunkNode            *expr,
                                        GHashTable            *inputs,
                                        const guint8          *thunk_id,
                                        RthunkClientSentFunc   func,
                                        gpointer               data,
                                        GDestroyNotify         destroy,
                                        RthunkValue          **value,
                                        GError               **error);
guint        rthunk_client_get_queued  (RthunkClient          *self);
/* How many shapes the memo of checked expressions holds
 * (rthunk-encode-memo.c). */
guint        rthunk_client_get_checked_shapes (RthunkClient   *self);
/* How many times a memo key's part for a tree was made by walking it:
 * not for a tree of a shape it was kept for (RTHUNK_SHAPE_MEMO_FORMS). */
guint64      rthunk_client_get_shape_walks (RthunkClient   *self);
gboolean     rthunk_client_flush       (RthunkClient          *self,
                                        GError               **error);
/* provideType: the type of a call of the server's provided function @fn
 * with the string @literal first, asked once per (server, function,
 * literal) in the process, whichever client asks, and kept until a client
 * of that server reads its catalog again (rthunk-client-provide.c). */
RthunkType  *rthunk_client_provide_type (RthunkClient         *self,
                                         const char           *fn,
                                         const char           *literal,
                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
/* Forgets the answers of @self's server (its catalog is read again). */
void         rthunk_client_forget_provided (RthunkClient      *self);
/* rthunk_client_provide_type() as a checker asks it (an RthunkTypeAskFunc
 * whose data is the client). */
RthunkType  *rthunk_client_ask_type     (RthunkFuncDef        *def,
                                         const char           *literal,
                                         gpointer              client,
                                         GError              **error);

/* Gives @client @cluster's token and TLS settings (rthunk-cluster.c). */
gboolean     rthunk_cluster_prepare_client (RthunkCluster     *cluster,
                                            RthunkClient      *client,
                                            GError           **error);

G_END_DECLS
