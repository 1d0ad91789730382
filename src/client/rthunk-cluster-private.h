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

/* What the shell's dashboard shows of one member (rthunk_cluster_list_members()). */
typedef struct
{
  char *name;
  char *address;
  const char *state;            /* "up", "down" or "quarantined" */
  guint load;                   /* its queue and what this client has outstanding there */
  double latency_ms;
  guint agreements;
  guint disagreements;
  char *last_error;             /* why it is down, or NULL */
  const char *origin;           /* where its address came from: "flag", "registry"… */
} RthunkMemberInfo;

GArray   *rthunk_cluster_list_members (RthunkCluster  *cluster) G_GNUC_WARN_UNUSED_RESULT;

/* Whether the member at @address answered when it was added or since. */
gboolean  rthunk_cluster_is_up        (RthunkCluster  *cluster,
                                       const char     *address);
gboolean  rthunk_cluster_get_cost     (RthunkCluster  *cluster,
                                       const char     *address,
                                       double         *latency_ms,
                                       guint          *load);

/* rthunk-cluster-registry.c: whether it follows a registry; following
 * stops (before a session lets its servers go) */
gboolean  rthunk_cluster_follows_registry  (RthunkCluster  *cluster);
void      rthunk_cluster_unfollow_registry (RthunkCluster  *cluster);

G_END_DECLS
