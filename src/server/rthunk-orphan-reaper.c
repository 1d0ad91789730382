/* rthunk-orphan-reaper.c — thunks whose client has gone, cancelled after a
 * grace period
 *
 * When a connection closes with thunks still queued or running, they are
 * not cancelled at once: a client whose connection broke (a cancelled call
 * closes its socket, an idle one is reclaimed) reconnects and asks for
 * them by id. After RTHUNK_ORPHAN_GRACE_MS, those that no other connection
 * has named (rthunk_thunk_table_cancel_orphans()) are cancelled. One
 * thread, started with the first closed connection that left work behind,
 * waits for the earliest deadline.
 */
#include "config.h"

#include "rthunk-orphan-reaper.h"
#include "rthunk-core-private.h"

typedef struct
{
  RthunkConnAccount *account;
  gint64 due_us;
} Orphaned;

struct _RthunkOrphanReaper
{
  RthunkThunkTable *table;
  void (*on_cancelled) (gpointer data, guint n);
  gpointer data;
  GMutex lock;
  GCond changed;
  GQueue due;                   /* Orphaned, earliest first (deadlines only grow) */
  GThread *thread;
  gboolean stopping;
};

static void
orphaned_free (Orphaned *orphaned)
{
  rthunk_conn_account_unref (orphaned->account);
  g_free (orphaned);
}

static gpointer
reap (gpointer data)
{
  RthunkOrphanReaper *reaper = data;

  g_mutex_lock (&reaper->lock);
  while (!reaper->stopping)
    {
      Orphaned *next = g_queue_peek_head (&reaper->due);

      if (next == NULL)
        g_cond_wait (&reaper->changed, &reaper->lock);
      else if (g_get_monotonic_time () < next->due_us)
        g_cond_wait_until (&reaper->changed, &reaper->lock, next->due_us);
      else
        {
          guint n;

          g_queue_pop_head (&reaper->due);
          g_mutex_unlock (&reaper->lock);
          n = rthunk_thunk_table_cancel_orphans (reaper->table, next->account);
          reaper->on_cancelled (reaper->data, n);
          orphaned_free (next);
          g_mutex_lock (&reaper->lock);
        }
    }
  g_mutex_unlock (&reaper->lock);
  return NULL;
}

RthunkOrphanReaper *
rthunk_orphan_reaper_new (RthunkThunkTable  *table,
                          void             (*on_cancelled) (gpointer data, guint n),
                          gpointer           data)
{
  RthunkOrphanReaper *reaper = g_new0 (RthunkOrphanReaper, 1);

  reaper->table = table;
  reaper->on_cancelled = on_cancelled;
  reaper->data = data;
  g_mutex_init (&reaper->lock);
  g_cond_init (&reaper->changed);
  g_queue_init (&reaper->due);
  return reaper;
}

/* @account's connection has closed: its unfinished thunks are cancelled
 * after the grace period unless another connection names them. */
void
rthunk_orphan_reaper_add (RthunkOrphanReaper *reaper,
                          RthunkConnAccount  *account)
{
  Orphaned *orphaned;

  if (g_atomic_int_get (&account->unfinished) == 0)
    return;
  orphaned = g_new (Orphaned, 1);
  orphaned->account = rthunk_conn_account_ref (account);
  orphaned->due_us = g_get_monotonic_time () + RTHUNK_ORPHAN_GRACE_MS * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock (&reaper->lock);
  g_queue_push_tail (&reaper->due, orphaned);
  if (reaper->thread == NULL && !reaper->stopping)
    reaper->thread = g_thread_new ("rthunk-orphans", reap, reaper);
  g_cond_signal (&reaper->changed);
  g_mutex_unlock (&reaper->lock);
}

void
rthunk_orphan_reaper_free (RthunkOrphanReaper *reaper)
{
  rthunk_thread_stop (&reaper->thread, &reaper->lock, &reaper->changed, &reaper->stopping);
  g_queue_clear_full (&reaper->due, (GDestroyNotify) orphaned_free);
  g_mutex_clear (&reaper->lock);
  g_cond_clear (&reaper->changed);
  g_free (reaper);
}
