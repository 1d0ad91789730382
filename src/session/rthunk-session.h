/* rthunk-session.h — named cells that recompute when their inputs change */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <gio/gio.h>

#include "rthunk-catalog.h"
#include "rthunk-cluster.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/**
 * RTHUNK_SESSION_MAX_CELLS:
 *
 * How many named cells one session holds at most.
 *
 * Since: 0.1
 */
#define RTHUNK_SESSION_MAX_CELLS 100000

#define RTHUNK_TYPE_SESSION (rthunk_session_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkSession, rthunk_session, RTHUNK, SESSION, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkSession  *rthunk_session_new              (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkSession  *rthunk_session_new_with_catalog (RthunkCatalog  *catalog) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog  *rthunk_session_get_catalog      (RthunkSession  *session);

RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_add_server       (RthunkSession  *session,
                                                 const char     *address,
                                                 GError        **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_add_server_from  (RthunkSession  *session,
                                                 const char     *address,
                                                 const char     *origin,
                                                 GError        **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_start_embedded   (RthunkSession  *session,
                                                 GError        **error);
RTHUNK_AVAILABLE_IN_0_1
GPtrArray      *rthunk_session_get_servers      (RthunkSession  *session) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_session_get_outstanding  (RthunkSession  *session);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_get_progress     (RthunkSession  *session,
                                                 guint          *done,
                                                 guint          *total,
                                                 gint64         *oldest_us,
                                                 GStrv          *servers);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_set_local        (RthunkSession  *session,
                                                 gboolean        local);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_get_local        (RthunkSession  *session);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_set_eval_budget  (RthunkSession  *session,
                                                 gint            budget_ms);
RTHUNK_AVAILABLE_IN_0_1
gint            rthunk_session_get_eval_budget  (RthunkSession  *session);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_set_sequential   (RthunkSession  *session,
                                                 gboolean        sequential);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_get_sequential   (RthunkSession  *session);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_set_auto_placement (RthunkSession *session,
                                                   gboolean       automatic);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_get_auto_placement (RthunkSession *session);
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_session_dup_why          (RthunkSession  *session) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_session_eval             (RthunkSession  *session,
                                                 const char     *text,
                                                 const char     *source_name,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_session_type_of          (RthunkSession  *session,
                                                 const char     *text,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_session_lookup           (RthunkSession  *session,
                                                 const char     *name);
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_session_get_cell_type    (RthunkSession  *session,
                                                 const char     *name) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
const GError   *rthunk_session_get_cell_error   (RthunkSession  *session,
                                                 const char     *name);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_session_get_cell_origin  (RthunkSession  *session,
                                                 const char     *name);
RTHUNK_AVAILABLE_IN_0_1
gint64          rthunk_session_get_cell_elapsed (RthunkSession  *session,
                                                 const char     *name);
RTHUNK_AVAILABLE_IN_0_1
char          **rthunk_session_list_cells       (RthunkSession  *session) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
char          **rthunk_session_get_pending      (RthunkSession  *session) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
char          **rthunk_session_complete         (RthunkSession  *session,
                                                 const char     *prefix) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_session_wait             (RthunkSession  *session,
                                                 RthunkValue    *value,
                                                 gint            timeout_ms,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_wait_async       (RthunkSession       *session,
                                                 RthunkValue         *value,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_session_wait_finish      (RthunkSession  *session,
                                                 GAsyncResult   *result,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_wait_all         (RthunkSession  *session,
                                                 gint            timeout_ms,
                                                 GError        **error);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_cancel           (RthunkSession  *session,
                                                 RthunkValue    *value);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_cancel_value_async (RthunkSession       *session,
                                                   RthunkValue         *value,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_cancel_cell_async  (RthunkSession       *session,
                                                   const char          *name,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_session_cancel_finish      (RthunkSession       *session,
                                                   GAsyncResult        *result,
                                                   GStrv               *confirmed,
                                                   GStrv               *unconfirmed,
                                                   GError             **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_is_evaluating    (RthunkSession  *session,
                                                 RthunkValue    *value);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_close            (RthunkSession  *session);

RTHUNK_AVAILABLE_IN_0_1
void            rthunk_session_set_token        (RthunkSession  *session,
                                                 const char     *token);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_session_set_tls          (RthunkSession  *session,
                                                 const char     *ca_file,
                                                 const char     *cert_file,
                                                 const char     *key_file,
                                                 GError        **error);
RTHUNK_AVAILABLE_IN_0_1
RthunkCluster  *rthunk_session_get_cluster      (RthunkSession  *session);

RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_session_serve_http       (RthunkSession  *session,
                                                 const char     *host_port,
                                                 GError        **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
