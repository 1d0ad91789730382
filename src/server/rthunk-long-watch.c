/* rthunk-long-watch.c — thunks that prove long give up their worker slot
 *
 * The worker pool has `workers` threads. A thunk that has run longer than
 * `long_thunk_ms` has proved long: the watch's thread then raises the
 * pool's thread count by one, so that a thunk queued behind it starts at
 * once, and lowers it again when the long thunk finishes. At most
 * LONG_PER_WORKER × `workers` thunks are let go so: a few long thunks
 * cannot starve the short ones queued after them (the kernel's scheduler
 * then shares the cores between them all), and the number of threads
 * stays bounded.
 *
 * The watch sleeps until the oldest running thunk that has not proved
 * long yet would, so it costs nothing while thunks are short.
 */
#include "config.h"

#include "rthunk-long-watch.h"
#include "rthunk-core-private.h"

/* Long thunks let go, per worker, at most. */
#define LONG_PER_WORKER 4

struct _RthunkLongSlot
{
  gint64 started_us;
  gboolean is_long;             /* (watch lock) let go: no longer in running */
  GList link;                   /* (watch lock) in running, oldest first */
};

struct _RthunkLongWatch
{
  GMutex lock;
  GCond changed;
  GThreadPool *pool;
  guint workers;
  gint64 long_us;
  GQueue running;               /* (lock) slots not proved long, oldest first */
  guint n_long;                 /* (lock) slots let go */
  guint64 total_long;           /* (lock) slots ever let go */
  gboolean stopping;            /* (lock) */
  GThread *thread;
};

/* Lets the oldest slot go: its thread no longer counts as a worker (lock held). */
static void
let_go_locked (RthunkLongWatch *watch,
               RthunkLongSlot  *slot)
{
  g_queue_unlink (&watch->running, &slot->link);
  slot->is_long = TRUE;
  watch->n_long++;
  watch->total_long++;
  g_thread_pool_set_max_threads (watch->pool, (gint) (watch->workers + watch->n_long), NULL);
}

static gpointer
watch_thread (gpointer data)
{
  RthunkLongWatch *watch = data;

  g_mutex_lock (&watch->lock);
  while (!watch->stopping)
    {
      RthunkLongSlot *oldest = g_queue_peek_head (&watch->running);
      gint64 due;

      if (oldest == NULL || watch->n_long >= LONG_PER_WORKER * watch->workers)
        {
          g_cond_wait (&watch->changed, &watch->lock);
          continue;
        }
      due = oldest->started_us + watch->long_us;
      if (g_get_monotonic_time () >= due)
        let_go_locked (watch, oldest);
      else
        g_cond_wait_until (&watch->changed, &watch->lock, due);
    }
  g_mutex_unlock (&watch->lock);
  return NULL;
}

/* Watches @pool, which has @workers threads; a thunk is long after
 * @long_ms (0: never). */
RthunkLongWatch *
rthunk_long_watch_new (GThreadPool *pool,
                       guint        workers,
                       guint        long_ms)
{
  RthunkLongWatch *watch = g_new0 (RthunkLongWatch, 1);

  g_mutex_init (&watch->lock);
  g_cond_init (&watch->changed);
  g_queue_init (&watch->running);
  watch->pool = pool;
  watch->workers = MAX (workers, 1);
  watch->long_us = (gint64) long_ms * 1000;
  if (long_ms > 0)
    watch->thread = g_thread_new ("rthunk-long-watch", watch_thread, watch);
  return watch;
}

/* Stops letting thunks go, before the pool is freed (a pool being freed
 * takes no new thread count). */
void
rthunk_long_watch_stop (RthunkLongWatch *watch)
{
  rthunk_thread_stop (&watch->thread, &watch->lock, &watch->changed, &watch->stopping);
}

/* Frees the watch, once its pool is freed. */
void
rthunk_long_watch_free (RthunkLongWatch *watch)
{
  rthunk_long_watch_stop (watch);
  g_assert (watch->running.length == 0 && watch->n_long == 0);
  g_mutex_clear (&watch->lock);
  g_cond_clear (&watch->changed);
  g_free (watch);
}

/* A worker starts a thunk: its slot, to give back with
 * rthunk_long_watch_leave(). */
RthunkLongSlot *
rthunk_long_watch_enter (RthunkLongWatch *watch)
{
  RthunkLongSlot *slot = g_new0 (RthunkLongSlot, 1);

  slot->started_us = g_get_monotonic_time ();
  slot->link.data = slot;
  g_mutex_lock (&watch->lock);
  g_queue_push_tail_link (&watch->running, &slot->link);
  if (watch->running.length == 1)
    g_cond_signal (&watch->changed);
  g_mutex_unlock (&watch->lock);
  return slot;
}

/* The worker's thunk finished: a thread that was let go leaves the pool. */
void
rthunk_long_watch_leave (RthunkLongWatch *watch,
                         RthunkLongSlot  *slot)
{
  g_mutex_lock (&watch->lock);
  if (slot->is_long)
    {
      watch->n_long--;
      if (!watch->stopping)
        g_thread_pool_set_max_threads (watch->pool, (gint) (watch->workers + watch->n_long), NULL);
    }
  else
    g_queue_unlink (&watch->running, &slot->link);
  g_cond_signal (&watch->changed);
  g_mutex_unlock (&watch->lock);
  g_free (slot);
}

/* How many thunks ever proved long. */
guint64
rthunk_long_watch_total_long (RthunkLongWatch *watch)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&watch->lock);

  return watch->total_long;
}
