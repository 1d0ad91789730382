/* rthunk-client.h — a client of one server */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <gio/gio.h>

#include "rthunk-catalog.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define RTHUNK_TYPE_CLIENT (rthunk_client_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkClient, rthunk_client, RTHUNK, CLIENT, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkClient  *rthunk_client_new             (const char    *address) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
const char    *rthunk_client_get_address     (RthunkClient  *client);
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_client_get_max_connections (RthunkClient *client);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_set_max_connections (RthunkClient *client,
                                                  guint         max_connections);
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_client_get_connections_opened (RthunkClient *client);
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_client_get_connections_open   (RthunkClient *client);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_connect         (RthunkClient  *client,
                                              GError       **error);
RTHUNK_AVAILABLE_IN_0_1
const char    *rthunk_client_get_server_name (RthunkClient  *client);
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog *rthunk_client_get_catalog     (RthunkClient  *client);
RTHUNK_AVAILABLE_IN_0_1
const char *const *rthunk_client_get_capabilities (RthunkClient *client);
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_client_get_load        (RthunkClient  *client);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_fetches_from    (RthunkClient  *client,
                                              const char    *address);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_ping            (RthunkClient  *client,
                                              GError       **error);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue   *rthunk_client_submit          (RthunkClient  *client,
                                              RthunkNode    *expr,
                                              GHashTable    *inputs,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue   *rthunk_client_submit_full     (RthunkClient  *client,
                                              RthunkNode    *expr,
                                              GHashTable    *inputs,
                                              GHashTable    *definitions,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue   *rthunk_client_submit_reference (RthunkClient *client,
                                               RthunkNode    *expr,
                                               GHashTable    *inputs,
                                               GHashTable    *definitions,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_client_get_definitions_sent (RthunkClient *client);
RTHUNK_AVAILABLE_IN_0_1
GVariant      *rthunk_client_get_server_info (RthunkClient  *client,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog *rthunk_client_get_func_defs   (RthunkClient  *client,
                                              const char *const *names,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gint           rthunk_client_put_definitions (RthunkClient  *client,
                                              GHashTable    *definitions,
                                              GError       **error);
RTHUNK_AVAILABLE_IN_0_1
GPtrArray     *rthunk_client_submit_batch    (RthunkClient  *client,
                                              GPtrArray     *exprs,
                                              GHashTable    *inputs,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_get_server_info_async  (RthunkClient        *client,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
GVariant      *rthunk_client_get_server_info_finish (RthunkClient        *client,
                                                     GAsyncResult        *result,
                                                     GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_get_func_defs_async    (RthunkClient        *client,
                                                     const char *const   *names,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog *rthunk_client_get_func_defs_finish   (RthunkClient        *client,
                                                     GAsyncResult        *result,
                                                     GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_put_definitions_async  (RthunkClient        *client,
                                                     GHashTable          *definitions,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
gint           rthunk_client_put_definitions_finish (RthunkClient        *client,
                                                     GAsyncResult        *result,
                                                     GError             **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_submit_batch_async     (RthunkClient        *client,
                                                     GPtrArray           *exprs,
                                                     GHashTable          *inputs,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
GPtrArray     *rthunk_client_submit_batch_finish    (RthunkClient        *client,
                                                     GAsyncResult        *result,
                                                     GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_set_token       (RthunkClient  *client,
                                              const char    *token);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_set_tls         (RthunkClient  *client,
                                              const char    *ca_file,
                                              const char    *cert_file,
                                              const char    *key_file,
                                              GError       **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_get_tls         (RthunkClient  *client);

/**
 * RthunkClientAwaitFunc:
 * @id: the id of a thunk that finished
 * @value: (nullable): its value, when it finished with one
 * @error: (nullable): why it failed or was cancelled, otherwise
 * @user_data: the data given to rthunk_client_await_many()
 *
 * What rthunk_client_await_many() calls for each finished thunk.
 *
 * Since: 0.1
 */
typedef void (*RthunkClientAwaitFunc) (GBytes        *id,
                                       RthunkValue   *value,
                                       const GError  *error,
                                       gpointer       user_data);

RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_await_many      (RthunkClient          *client,
                                              GPtrArray             *ids,
                                              guint                  timeout_ms,
                                              RthunkClientAwaitFunc  func,
                                              gpointer               user_data,
                                              GError               **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_cancel_thunk    (RthunkClient  *client,
                                              GBytes        *id,
                                              GError       **error);
RTHUNK_AVAILABLE_IN_0_1
RthunkClient  *rthunk_client_get_pending_thunk (RthunkValue *value,
                                              GBytes       **id);
RTHUNK_AVAILABLE_IN_0_1
RthunkThunkState rthunk_client_poll          (RthunkClient  *client,
                                              GBytes        *id,
                                              RthunkValue  **value,
                                              GError       **error);

/* the async forms: each call runs on a GTask worker with a connection of
 * its own; the callback runs in the caller's thread-default main context */
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_connect_async   (RthunkClient         *client,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_connect_finish  (RthunkClient         *client,
                                              GAsyncResult         *result,
                                              GError              **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_ping_async      (RthunkClient         *client,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_ping_finish     (RthunkClient         *client,
                                              GAsyncResult         *result,
                                              GError              **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_submit_async    (RthunkClient         *client,
                                              RthunkNode           *expr,
                                              GHashTable           *inputs,
                                              GHashTable           *definitions,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue   *rthunk_client_submit_finish   (RthunkClient         *client,
                                              GAsyncResult         *result,
                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_await_many_async (RthunkClient        *client,
                                              GPtrArray            *ids,
                                              guint                 timeout_ms,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_await_many_finish (RthunkClient       *client,
                                              GAsyncResult         *result,
                                              RthunkClientAwaitFunc func,
                                              gpointer              user_data,
                                              GError              **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_cancel_thunk_async (RthunkClient      *client,
                                              GBytes               *id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_client_cancel_thunk_finish (RthunkClient     *client,
                                              GAsyncResult         *result,
                                              GError              **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_client_poll_async      (RthunkClient         *client,
                                              GBytes               *id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
RTHUNK_AVAILABLE_IN_0_1
RthunkThunkState rthunk_client_poll_finish   (RthunkClient         *client,
                                              GAsyncResult         *result,
                                              RthunkValue         **value,
                                              GError              **error);

G_END_DECLS
