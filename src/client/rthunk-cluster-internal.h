/* rthunk-cluster-internal.h — what the files of the cluster share: its
 * members, its pending values, routing, and audits (rthunk-cluster.c,
 * rthunk-cluster-audit.c). Never installed. */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-client.h"
#include "rthunk-cluster.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define HEALTH_PERIOD_US (1 * G_USEC_PER_SEC)
#define MIN_BACKOFF_US (250 * 1000)
#define MAX_BACKOFF_US (8 * G_USEC_PER_SEC)

typedef struct
{
  char *address;
  RthunkClient *client;
  RthunkMemberState state;
  guint outstanding;            /* thunks submitted here, not yet forced */
  double latency_ms;            /* moving average of pings */
  gint64 next_check_us;
  gint64 backoff_us;
  gint64 failures;
  double penalty;               /* grows when it disagrees with the majority */
  char *last_error;             /* why it is down */
  guint agreements;             /* its reputation: audits and verifications */
  guint disagreements;          /* where it was in the minority */
  gboolean quarantined;         /* not routed to, its results not used */
  const char *origin;           /* where its address came from: "flag", "registry"… (static) */
  guint unsent_agreements;      /* verdicts not yet added to the shared reputation */
  guint unsent_disagreements;
  gboolean quarantine_shared;   /* the registry knows it is quarantined */
} Member;

typedef struct _RthunkClusterRegistry RthunkClusterRegistry;

struct _RthunkCluster
{
  GObject parent_instance;

  GMutex lock;
  GCond stop_cond;
  GPtrArray *members;           /* Member */
  GPtrArray *departed;          /* Member: left the registry; kept for the thunks that point at them */
  RthunkClusterRegistry *registry;  /* followed, or NULL */
  RthunkCatalog *catalog;       /* merged */
  char *token;
  gboolean tls;                 /* members speak TLS: */
  char *tls_ca;                 /* trusting these authorities (NULL: the system's), */
  char *tls_cert;               /* showing this certificate (NULL: none) */
  char *tls_key;
  guint call_timeout_ms;         /* of the clients it makes; 0: their default */
  double audit_rate;            /* the fraction of pure thunks run twice */
  GThread *health;
  gboolean stopping;
};

enum {
  SIGNAL_QUARANTINED,
  SIGNAL_SERVER_JOINED,
  SIGNAL_SERVER_LEFT,
  SIGNAL_REGISTRY_NOTICE,
  N_CLUSTER_SIGNALS
};

extern guint rthunk_cluster_signals[N_CLUSTER_SIGNALS];

#define CLUSTER_THUNK_MAGIC 0x636c7468u

typedef struct
{
  guint32 magic;
  RthunkCluster *cluster;
  Member *member;               /* where it runs now */
  RthunkValue *inner;           /* the client's pending value (or its value, when audited) */
  RthunkNode *expr;
  GHashTable *inputs;
  GHashTable *definitions;
  GHashTable *names;
  char *needs;
  gboolean pure;                /* no io: it may run again elsewhere */
  gboolean counted;             /* member->outstanding counts it */
  gboolean by_reference;        /* (remote :ref …): the value stays on its server */
  gboolean pinned;              /* (remote :on NAME …) */
  gboolean cancelled;           /* no failover any more: see rthunk_cluster_cancel_value() */
  gboolean audited;             /* run again on a second server when forced */
  char *lost;                   /* the first server lost while it ran there */
} ClusterThunk;

/* The cluster thunk @value stands for, if it is one of @self's
 * (rthunk-cluster.c). */
ClusterThunk *rthunk_cluster_thunk_of (RthunkCluster *self,
                                       RthunkValue   *value);

/* rthunk-cluster.c: members */
gboolean      rthunk_cluster_add_member      (RthunkCluster  *self,
                                              const char     *address,
                                              const char     *origin,
                                              GError        **error);
gboolean      rthunk_cluster_has_member      (RthunkCluster  *self,
                                              const char     *address,
                                              const char    **origin);
gboolean      rthunk_cluster_revive_member   (RthunkCluster  *self,
                                              const char     *address);
gboolean      rthunk_cluster_depart_member   (RthunkCluster  *self,
                                              const char     *address);

/* rthunk-cluster.c: routing */
const char   *rthunk_cluster_member_name     (Member         *member);
Member       *rthunk_cluster_choose_avoiding (RthunkCluster  *self,
                                              GHashTable     *names,
                                              const char     *on,
                                              const char     *needs,
                                              GPtrArray      *avoid,
                                              GError        **error);
void          rthunk_cluster_done_with       (RthunkCluster  *self,
                                              Member         *member);
GHashTable   *rthunk_cluster_inputs_for      (RthunkCluster  *self,
                                              Member         *member,
                                              GHashTable     *inputs);

/* rthunk-cluster-audit.c: verification, audits and reputation */
RthunkValue  *rthunk_cluster_submit_verified (RthunkCluster  *cluster,
                                              RthunkNode     *expr,
                                              guint           copies,
                                              const char     *needs,
                                              GHashTable     *inputs,
                                              GHashTable     *definitions,
                                              GHashTable     *names,
                                              GError        **error);
gboolean      rthunk_cluster_should_audit    (RthunkCluster  *self,
                                              ClusterThunk   *ct);
RthunkValue  *rthunk_cluster_audit           (ClusterThunk   *ct,
                                              RthunkValue    *value,
                                              GError        **error);
char         *rthunk_cluster_reputation_text (Member         *member) G_GNUC_WARN_UNUSED_RESULT;
void          rthunk_cluster_quarantine_locked (RthunkCluster *self,
                                              Member         *member,
                                              char          **name,
                                              char          **reason,
                                              const char     *why);
void          rthunk_cluster_judge_locked    (RthunkCluster  *self,
                                              Member         *member,
                                              char          **name,
                                              char          **reason);
void          rthunk_cluster_tell_quarantined (RthunkCluster *self,
                                              const char     *name,
                                              const char     *reason);


/* rthunk-cluster-state.c: the server holding the state cells @expr uses. */
gboolean      rthunk_cluster_state_route     (RthunkCluster  *self,
                                              RthunkNode     *expr,
                                              GHashTable     *definitions,
                                              const char     *on,
                                              gboolean       *uses_state,
                                              char          **home,
                                              GError        **error);

G_END_DECLS
