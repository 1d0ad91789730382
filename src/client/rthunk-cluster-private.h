/* rthunk-cluster-private.h — what the session needs of a cluster's pending
 * values: cancelling them on their server, and where their value came
 * from.  Never installed. */
#pragma once

#include "rthunk-cluster.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

gboolean  rthunk_cluster_cancel_value (RthunkCluster  *cluster,
                                       RthunkValue    *value,
                                       char          **server,
                                       gboolean       *confirmed,
                                       GError        **error);
char     *rthunk_cluster_value_origin (RthunkCluster  *cluster,
                                       RthunkValue    *value) G_GNUC_WARN_UNUSED_RESULT;

RthunkValue *rthunk_cluster_dup_waitable  (RthunkCluster  *cluster,
                                          RthunkValue    *value) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rthunk_cluster_value_trusted (RthunkCluster  *cluster,
                                          RthunkValue    *value);

/* Whether the member at @address answered when it was added or since. */
gboolean  rthunk_cluster_is_up        (RthunkCluster  *cluster,
                                       const char     *address);
gboolean  rthunk_cluster_get_cost     (RthunkCluster  *cluster,
                                       const char     *address,
                                       double         *latency_ms,
                                       guint          *load);

G_END_DECLS
