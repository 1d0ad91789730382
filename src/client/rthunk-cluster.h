/* rthunk-cluster.h — many servers: routing, pinning, failover */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

#include "rthunk-catalog.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/**
 * RthunkMemberState:
 * @RTHUNK_MEMBER_UP: answering
 * @RTHUNK_MEMBER_DOWN: not answering; retried with backoff
 *
 * What a cluster knows of one of its servers (members).
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_MEMBER_UP,
  RTHUNK_MEMBER_DOWN,
} RthunkMemberState;

#define RTHUNK_TYPE_CLUSTER (rthunk_cluster_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkCluster, rthunk_cluster, RTHUNK, CLUSTER, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkCluster *rthunk_cluster_new            (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_add_server     (RthunkCluster  *cluster,
                                              const char     *address,
                                              GError        **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_add_server_from (RthunkCluster  *cluster,
                                              const char     *address,
                                              const char     *origin,
                                              GError        **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_follow_registry (RthunkCluster *cluster,
                                              const char     *uri,
                                              const char     *password,
                                              guint           timeout_ms,
                                              GError        **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_follow_registry_tls (RthunkCluster *cluster,
                                                   const char    *uri,
                                                   const char    *password,
                                                   guint          timeout_ms,
                                                   const char    *ca_file,
                                                   const char    *cert_file,
                                                   const char    *key_file,
                                                   GError       **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_add_servers_from_env  (RthunkCluster *cluster,
                                                     GError       **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_add_servers_from_file (RthunkCluster *cluster,
                                                     const char    *path,
                                                     GError       **error);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_cluster_set_token      (RthunkCluster  *cluster,
                                              const char     *token);
RTHUNK_AVAILABLE_IN_0_1
gboolean       rthunk_cluster_set_tls        (RthunkCluster  *cluster,
                                              const char     *ca_file,
                                              const char     *cert_file,
                                              const char     *key_file,
                                              GError        **error);
RTHUNK_AVAILABLE_IN_0_1
guint          rthunk_cluster_get_n_servers  (RthunkCluster  *cluster);
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog *rthunk_cluster_get_catalog    (RthunkCluster  *cluster);
RTHUNK_AVAILABLE_IN_0_1
char          *rthunk_cluster_describe       (RthunkCluster  *cluster) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_cluster_set_audit_rate (RthunkCluster  *cluster,
                                              double          rate);
RTHUNK_AVAILABLE_IN_0_1
char          *rthunk_cluster_describe_states (RthunkCluster *cluster) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
GStrv          rthunk_cluster_eligible       (RthunkCluster  *cluster,
                                              RthunkNode     *expr,
                                              GHashTable     *definitions,
                                              const char     *needs) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue   *rthunk_cluster_submit         (RthunkCluster  *cluster,
                                              RthunkNode     *expr,
                                              GHashTable     *options,
                                              GHashTable     *inputs,
                                              GHashTable     *definitions,
                                              GError        **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
