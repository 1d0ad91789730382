/* rthunk-cluster-cancel.c — a cluster's pending values: cancelling them
 * where they run, and which server a value came from
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-cluster.h"
#include "rthunk-cluster-internal.h"
#include "rthunk-cluster-private.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-error.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* Cancels one client thunk on its server; @confirmed: the server stopped it. */
static gboolean
cancel_inner (RthunkValue  *inner,
              gboolean     *confirmed,
              GError      **error)
{
  g_autoptr(GBytes) id = NULL;
  RthunkClient *client = rthunk_client_get_pending_thunk (inner, &id);

  if (client == NULL)
    {
      g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK, _("not a thunk of a server"));
      return FALSE;
    }
  return rthunk_client_cancel_run (client, id, NULL, confirmed, error);
}

/* Cancels on its server the thunk @value (one of @cluster's pending values)
 * stands for, and stops its failover; blocks for the server's answer.
 * @server is set to where it ran, @confirmed to whether the server stopped
 * it (FALSE: it had finished already). FALSE with @error when @value is not
 * the cluster's or the server could not be told. */
gboolean
rthunk_cluster_cancel_value (RthunkCluster  *cluster,
                             RthunkValue    *value,
                             char          **server,
                             gboolean       *confirmed,
                             GError        **error)
{
  ClusterThunk *ct = rthunk_cluster_thunk_of (cluster, value);
  g_autoptr(RthunkValue) inner = NULL;

  *confirmed = FALSE;
  if (ct == NULL)
    {
      g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK, _("not a thunk of the cluster"));
      return FALSE;
    }
  g_mutex_lock (&cluster->lock);
  ct->cancelled = TRUE;
  inner = ct->inner != NULL ? rthunk_value_ref (ct->inner) : NULL;
  *server = g_strdup (rthunk_cluster_member_name (ct->member));
  g_mutex_unlock (&cluster->lock);
  if (inner == NULL)
    return TRUE;
  return cancel_inner (inner, confirmed, error);
}

/* How the value of @value (one of @cluster's pending values, forced) is
 * credited: `#a1b2 @beta, after gamma was lost` when it failed over, else
 * %NULL (its own label says it). */
char *
rthunk_cluster_value_origin (RthunkCluster *cluster,
                             RthunkValue   *value)
{
  ClusterThunk *ct = rthunk_cluster_thunk_of (cluster, value);
  char *origin = NULL;

  if (ct == NULL)
    return NULL;
  g_mutex_lock (&cluster->lock);
  if (ct->lost != NULL && ct->inner != NULL)
    origin = g_strdup_printf (_("%s, after %s was lost"), rthunk_value_get_name (ct->inner), ct->lost);
  g_mutex_unlock (&cluster->lock);
  return origin;
}

/* The client's pending value inside @value (one of @cluster's pending
 * values) when waiting for it is all that forcing @value would do: it is
 * not audited and its server is not quarantined. A session waits for it
 * with its collector, without a thread; it forces @value itself (which
 * fails over) only when that wait fails or the server was quarantined
 * meanwhile (rthunk_cluster_value_trusted()). */
RthunkValue *
rthunk_cluster_dup_waitable (RthunkCluster *cluster,
                             RthunkValue   *value)
{
  ClusterThunk *ct = rthunk_cluster_thunk_of (cluster, value);
  RthunkValue *inner = NULL;

  if (ct == NULL)
    return NULL;
  g_mutex_lock (&cluster->lock);
  if (!ct->audited && !ct->member->quarantined && ct->inner != NULL && rthunk_value_is_pending (ct->inner))
    inner = rthunk_value_ref (ct->inner);
  g_mutex_unlock (&cluster->lock);
  return inner;
}

/* Whether the server that runs @value (one of @cluster's pending values)
 * is not quarantined: its result may be used. */
gboolean
rthunk_cluster_value_trusted (RthunkCluster *cluster,
                              RthunkValue   *value)
{
  ClusterThunk *ct = rthunk_cluster_thunk_of (cluster, value);
  gboolean trusted;

  if (ct == NULL)
    return FALSE;
  g_mutex_lock (&cluster->lock);
  trusted = !ct->member->quarantined;
  g_mutex_unlock (&cluster->lock);
  return trusted;
}
