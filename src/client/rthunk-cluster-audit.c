/* rthunk-cluster-audit.c — trusting servers by checking them: verification,
 * audits and reputation
 *
 * `(remote :verify N EXPR)` runs EXPR on N servers and fails unless they
 * all agree. An audit is the same check, sampled and silent: with an
 * audit rate (rthunk_cluster_set_audit_rate(), the shell's --audit RATE),
 * that fraction of the pure thunks the cluster routes is run again, when
 * forced, on a second server chosen at random among the eligible ones.
 *
 * When two servers disagree a third one decides: the majority's value is
 * the result, the server in the minority gets a disagreement and the others
 * an agreement. That is each server's reputation (`:servers` shows it).
 * A server whose agreements fall under QUARANTINE_BELOW of its checks is
 * quarantined: nothing is routed to it any more, a result it gives from
 * then on is not used (a pure thunk runs elsewhere instead), and the user
 * is told once. When no third server can decide, the thunk fails with
 * both answers rather than returning either.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-cluster-internal.h"
#include "rthunk-client-private.h"
#include "rthunk-error.h"

/* the share of agreements under which a server is quarantined */
#define QUARANTINE_BELOW 0.9

/* What is asked of each server: the expression and what goes with it. */
typedef struct
{
  RthunkCluster *cluster;
  RthunkNode *expr;
  GHashTable *inputs;
  GHashTable *definitions;
  GHashTable *names;
  const char *needs;
} Question;

/* ---- reputation ---------------------------------------------------------------- */

/* Quarantines @member (the lock held): nothing is routed to it from now
 * on; *@name and *@reason are set for rthunk_cluster_tell_quarantined().
 * @why says why, or NULL for its share of disagreements. */
void
rthunk_cluster_quarantine_locked (RthunkCluster  *self,
                                  Member         *member,
                                  char          **name,
                                  char          **reason,
                                  const char     *why)
{
  member->quarantined = TRUE;
  *name = g_strdup (rthunk_cluster_member_name (member));
  if (why != NULL)
    *reason = g_strdup (why);
  else
    *reason = g_strdup_printf (_("it disagreed with the majority in %u of %u checks; nothing goes to it any more"),
                               member->disagreements, member->agreements + member->disagreements);
}

/* Quarantines @member (the lock held) if its agreements fell under
 * QUARANTINE_BELOW of its checks; see rthunk_cluster_quarantine_locked(). */
void
rthunk_cluster_judge_locked (RthunkCluster  *self,
                             Member         *member,
                             char          **name,
                             char          **reason)
{
  if (!member->quarantined && member->disagreements > 0 &&
      member->agreements < QUARANTINE_BELOW * (member->agreements + member->disagreements))
    rthunk_cluster_quarantine_locked (self, member, name, reason, NULL);
}

/* Says once, outside the lock, that a server was quarantined: a message
 * and the quarantined signal. */
void
rthunk_cluster_tell_quarantined (RthunkCluster *self,
                                 const char    *name,
                                 const char    *reason)
{
  g_message ("server %s is quarantined: %s", name, reason);
  g_signal_emit (self, rthunk_cluster_signals[SIGNAL_QUARANTINED], 0, name, reason);
}

/* Records that @loser (nullable) was in the minority against @winners
 * (NULL-ended); quarantines it when its reputation falls too low, and says
 * so once (the quarantined signal). With a registry, the verdicts also go
 * to the shared reputation (rthunk-cluster-registry.c sends them). */
static void
record_verdict (RthunkCluster *self,
                Member        *loser,
                Member *const *winners)
{
  g_autofree char *reason = NULL;
  g_autofree char *name = NULL;

  g_mutex_lock (&self->lock);
  for (guint k = 0; winners[k] != NULL; k++)
    {
      winners[k]->agreements++;
      winners[k]->unsent_agreements++;
    }
  if (loser != NULL)
    {
      loser->disagreements++;
      loser->unsent_disagreements++;
      loser->penalty *= 4;
      rthunk_cluster_judge_locked (self, loser, &name, &reason);
    }
  g_mutex_unlock (&self->lock);
  if (name != NULL)
    rthunk_cluster_tell_quarantined (self, name, reason);
}

/* `agreed=A disagreed=D`: for `:servers` (whose state word says
 * `quarantined`). */
char *
rthunk_cluster_reputation_text (Member *member)
{
  return g_strdup_printf ("agreed=%u disagreed=%u", member->agreements, member->disagreements);
}

/* ---- asking servers ------------------------------------------------------------------ */

/* Runs the question on @member and waits for its value. */
static RthunkValue *
run_on (const Question  *q,
        Member          *member,
        GError         **error)
{
  g_autoptr(GHashTable) inputs = rthunk_cluster_inputs_for (q->cluster, member, q->inputs);
  g_autoptr(RthunkValue) pending = rthunk_client_submit_full (member->client, q->expr, inputs, q->definitions,
                                                              error);

  return pending != NULL ? rthunk_value_force (pending, error) : NULL;
}

/* @first (from @members[0]) and @second (from @members[1]) differ: a
 * third server, none of @members, decides. Returns the majority's value,
 * the verdict recorded, or NULL with *@why saying why nobody could decide;
 * *@loser is set to the server in the minority. */
static RthunkValue *
break_tie (const Question  *q,
           GPtrArray       *members,
           RthunkValue     *first,
           RthunkValue     *second,
           Member         **loser,
           char           **why)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) third = NULL;
  Member *referee = rthunk_cluster_choose_avoiding (q->cluster, q->names, NULL, q->needs, members, &error);
  Member *winners[3] = { referee, NULL, NULL };

  *loser = NULL;
  if (referee == NULL)
    {
      *why = g_strdup (_("no third server could break the tie"));
      return NULL;
    }
  third = run_on (q, referee, &error);
  rthunk_cluster_done_with (q->cluster, referee);
  if (third == NULL)
    *why = g_strdup_printf (_("%s could not break the tie: %s"), rthunk_cluster_member_name (referee),
                            error->message);
  else if (rthunk_value_equal (third, first) || rthunk_value_equal (third, second))
    {
      guint right = rthunk_value_equal (third, first) ? 0 : 1;

      winners[1] = g_ptr_array_index (members, right);
      *loser = g_ptr_array_index (members, 1 - right);
    }
  else
    *why = g_strdup_printf (_("%s disagrees with both"), rthunk_cluster_member_name (referee));
  if (*loser == NULL)
    return NULL;
  record_verdict (q->cluster, *loser, winners);
  *why = g_strdup_printf (_("%s agrees with the other, so %s's reputation is lowered"),
                          rthunk_cluster_member_name (referee), rthunk_cluster_member_name (*loser));
  return g_steal_pointer (&third);
}

/* ---- verification: (remote :verify N EXPR) ----------------------------------- */

typedef struct
{
  Question q;
  GPtrArray *members;           /* Member, where each copy ran */
  GPtrArray *values;            /* their (pending) values */
  char *needs;
} Verification;

static void
verification_free (gpointer data)
{
  Verification *v = data;

  for (guint k = 0; k < v->members->len; k++)
    rthunk_cluster_done_with (v->q.cluster, g_ptr_array_index (v->members, k));
  g_ptr_array_unref (v->members);
  g_ptr_array_unref (v->values);
  rthunk_node_unref (v->q.expr);
  g_clear_pointer (&v->q.inputs, g_hash_table_unref);
  g_clear_pointer (&v->q.definitions, g_hash_table_unref);
  g_hash_table_unref (v->q.names);
  g_free (v->needs);
  g_object_unref (v->q.cluster);
  g_free (v);
}

static RthunkValue *
verification_force (gpointer   data,
                    GError   **error)
{
  Verification *v = data;
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < v->values->len; k++)
    {
      RthunkValue *value = rthunk_value_force (g_ptr_array_index (v->values, k), error);

      if (value == NULL)
        return NULL;
      g_ptr_array_add (results, value);
    }
  for (guint k = 1; k < results->len; k++)
    if (!rthunk_value_equal (g_ptr_array_index (results, 0), g_ptr_array_index (results, k)))
      {
        g_autofree char *a = rthunk_value_to_string (g_ptr_array_index (results, 0));
        g_autofree char *b = rthunk_value_to_string (g_ptr_array_index (results, k));
        g_autoptr(GPtrArray) pair = g_ptr_array_new ();
        g_autoptr(RthunkValue) majority = NULL;
        g_autofree char *verdict = NULL;
        Member *loser;

        g_ptr_array_add (pair, g_ptr_array_index (v->members, 0));
        g_ptr_array_add (pair, g_ptr_array_index (v->members, k));
        majority = break_tie (&v->q, pair, g_ptr_array_index (results, 0), g_ptr_array_index (results, k),
                              &loser, &verdict);
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                     _("verification failed: %s says %s, %s says %s; %s"),
                     rthunk_cluster_member_name (g_ptr_array_index (v->members, 0)), a,
                     rthunk_cluster_member_name (g_ptr_array_index (v->members, k)), b, verdict);
        return NULL;
      }
  g_ptr_array_add (v->members, NULL);
  record_verdict (v->q.cluster, NULL, (Member *const *) v->members->pdata);
  g_ptr_array_remove_index (v->members, v->members->len - 1);
  return rthunk_value_ref (g_ptr_array_index (results, 0));
}

/* Runs @expr on @copies different servers; its value is theirs if they all
 * agree, and an error naming them otherwise. */
RthunkValue *
rthunk_cluster_submit_verified (RthunkCluster  *cluster,
                                RthunkNode     *expr,
                                guint           copies,
                                const char     *needs,
                                GHashTable     *inputs,
                                GHashTable     *definitions,
                                GHashTable     *names,
                                GError        **error)
{
  Verification *v = g_new0 (Verification, 1);

  v->q.cluster = g_object_ref (cluster);
  v->q.expr = rthunk_node_ref (expr);
  v->q.inputs = inputs != NULL ? g_hash_table_ref (inputs) : NULL;
  v->q.definitions = definitions != NULL ? g_hash_table_ref (definitions) : NULL;
  v->q.names = names;
  v->q.needs = v->needs = g_strdup (needs);
  v->members = g_ptr_array_new ();
  v->values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < copies; k++)
    {
      Member *member = rthunk_cluster_choose_avoiding (cluster, names, NULL, needs, v->members, error);
      g_autoptr(GHashTable) mapped = NULL;
      RthunkValue *value;

      if (member == NULL)
        {
          g_prefix_error (error, _("verifying on %u servers: "), copies);
          verification_free (v);
          return NULL;
        }
      g_ptr_array_add (v->members, member);
      mapped = rthunk_cluster_inputs_for (cluster, member, inputs);
      if ((value = rthunk_client_submit_full (member->client, expr, mapped, definitions, error)) == NULL)
        {
          verification_free (v);
          return NULL;
        }
      g_ptr_array_add (v->values, value);
    }
  return rthunk_value_new_pending ("verify", v, verification_force, verification_free);
}

/* ---- audits ------------------------------------------------------------------------- */

/**
 * rthunk_cluster_set_audit_rate:
 * @cluster: a cluster
 * @rate: the fraction of pure thunks to audit, from 0 (none, the default)
 *   to 1 (all)
 *
 * Audits that fraction of the pure thunks the cluster routes (not pinned
 * with `:on`, not `:ref`): each, when its value is forced, runs again on a
 * second server chosen at random. A disagreement is settled by a third
 * server; the value is the majority's, and the server in the minority
 * loses reputation. A server whose agreements fall under 90% of its checks
 * is quarantined: nothing is routed to it any more and no result of its is
 * used from then on (rthunk_cluster_describe() shows reputations). When
 * no third server can decide, the thunk fails with both answers.
 *
 * Since: 0.1
 */
void
rthunk_cluster_set_audit_rate (RthunkCluster *cluster,
                               double         rate)
{
  g_return_if_fail (RTHUNK_IS_CLUSTER (cluster));
  g_return_if_fail (rate >= 0 && rate <= 1);

  g_mutex_lock (&cluster->lock);
  cluster->audit_rate = rate;
  g_mutex_unlock (&cluster->lock);
}

/* Whether @ct is one of the thunks to audit (drawn at random). */
gboolean
rthunk_cluster_should_audit (RthunkCluster *self,
                             ClusterThunk  *ct)
{
  double rate;

  g_mutex_lock (&self->lock);
  rate = self->audit_rate;
  g_mutex_unlock (&self->lock);
  return rate > 0 && ct->pure && !ct->pinned && !ct->by_reference && g_random_double () < rate;
}

/* A second server at random among those that can run @q, none of @avoid
 * (with one more outstanding thunk), or NULL. */
static Member *
choose_auditor (const Question *q,
                GPtrArray      *avoid)
{
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  RthunkCluster *self = q->cluster;
  Member *chosen = NULL;

  for (;;)
    {
      /* the eligible servers, best first, taken out one by one */
      Member *m = rthunk_cluster_choose_avoiding (self, q->names, NULL, q->needs, avoid, NULL);

      if (m == NULL)
        break;
      g_ptr_array_add (others, m);
      g_ptr_array_add (avoid, m);
    }
  if (others->len > 0)
    chosen = g_ptr_array_index (others, g_random_int_range (0, (gint32) others->len));
  for (guint k = 0; k < others->len; k++)
    {
      g_ptr_array_remove (avoid, g_ptr_array_index (others, k));
      if (g_ptr_array_index (others, k) != chosen)
        rthunk_cluster_done_with (self, g_ptr_array_index (others, k));
    }
  return chosen;
}

/* @value came from @ct's server: runs @ct again on a second one and
 * returns the value the majority gives (or an error when nobody can
 * decide). Without a second server, @value stands. */
RthunkValue *
rthunk_cluster_audit (ClusterThunk  *ct,
                      RthunkValue   *value,
                      GError       **error)
{
  Question q = { ct->cluster, ct->expr, ct->inputs, ct->definitions, ct->names, ct->needs };
  g_autoptr(GPtrArray) pair = g_ptr_array_new ();
  g_autoptr(GError) failure = NULL;
  g_autoptr(RthunkValue) other = NULL;
  g_autofree char *why = NULL;
  Member *winners[3] = { NULL, NULL, NULL };
  Member *auditor, *loser;
  RthunkValue *majority;

  g_ptr_array_add (pair, ct->member);
  if ((auditor = choose_auditor (&q, pair)) == NULL)
    return value;
  other = run_on (&q, auditor, &failure);
  rthunk_cluster_done_with (ct->cluster, auditor);
  /* an auditor that fails says nothing of the first server */
  if (other == NULL)
    return value;
  if (rthunk_value_equal (value, other))
    {
      winners[0] = ct->member;
      winners[1] = auditor;
      record_verdict (ct->cluster, NULL, winners);
      return value;
    }
  g_ptr_array_add (pair, auditor);
  majority = break_tie (&q, pair, value, other, &loser, &why);
  if (majority == NULL)
    {
      g_autofree char *a = rthunk_value_to_string (value);
      g_autofree char *b = rthunk_value_to_string (other);

      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                   _("audit failed: %s says %s, %s says %s; %s"), rthunk_cluster_member_name (ct->member), a,
                   rthunk_cluster_member_name (auditor), b, why);
      rthunk_value_unref (value);
      return NULL;
    }
  rthunk_value_unref (value);
  return majority;
}
