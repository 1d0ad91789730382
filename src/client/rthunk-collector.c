/* rthunk-collector.c — what finishes a server's remote thunks
 *
 * A thread per server that long-polls `thunkAwait` with the ids of every
 * outstanding thunk at once, on a connection of its own, and finishes the
 * thunks that the answer reports. With nothing outstanding the thread
 * sleeps on a condition. A thunk cancelled before it finished is
 * cancelled on the server too. (Declared in rthunk-thunk-private.h.)
 *
 * A poll names the thunks outstanding when it began, and a server answers
 * it when one of them finishes or its slice ends: a thunk added while a
 * poll waits on a long one would wait out the slice. So each poll is a
 * lane: a thunk that no poll names is taken by an idle lane, and when
 * every lane is polling, by a new one (up to MAX_LANES); a lane's poll
 * that returns gives back what did not finish, for the next poll.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#ifdef __GLIBC__
#include <pthread.h>
#endif

#include "rthunk-client.h"
#include "rthunk-client-private.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-value.h"

#define POLL_SLICE_MS 250              /* one long poll, at most */
#define POLL_MAX_IDS 4096              /* what one thunkAwait may name */
#define POLL_MAX_FAILURES 5            /* consecutive failed polls before giving up */
#define POLL_BACKOFF_MS 200            /* times the number of failures */
#define MAX_LANES 4                    /* polls of one server at once */

/* How long one poll waits at most; tests make it long, to show that a
 * new thunk is not held up by a poll already waiting. */
static guint poll_slice_ms = POLL_SLICE_MS;

struct _RthunkCollector         /* a g_atomic_rc_box */
{
  RthunkClient *client;
  RthunkClient *poll;
  GMutex lock;
  GCond cond;
  GHashTable *outstanding;          /* GBytes id → RthunkThunk */
  GHashTable *polled;               /* GBytes ids a poll in flight names */
  GPtrArray *to_cancel;             /* GBytes ids */
  gboolean stopping;
  GThread *lanes[MAX_LANES];
  guint n_lanes;
  guint idle;                       /* lanes waiting for work */
};

static void
collector_clear (RthunkCollector *collector)
{
  g_assert (collector->n_lanes == 0);
  g_hash_table_unref (collector->outstanding);
  g_hash_table_unref (collector->polled);
  g_ptr_array_unref (collector->to_cancel);
  g_object_unref (collector->client);
  g_object_unref (collector->poll);
  g_mutex_clear (&collector->lock);
  g_cond_clear (&collector->cond);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkCollector, rthunk_collector, collector_clear)

static void
collector_finished (GBytes       *id,
                    RthunkValue  *value,
                    const GError *error,
                    gpointer      user_data)
{
  RthunkCollector *self = user_data;
  gpointer key = NULL, thunk = NULL;
  g_autoptr(GError) refused = NULL;
  g_autoptr(RthunkValue) fetched = NULL;
  RthunkValue *origin = NULL;

  g_mutex_lock (&self->lock);
  g_hash_table_steal_extended (self->outstanding, id, &key, &thunk);
  g_hash_table_remove (self->polled, id);       /* polled ⊆ outstanding */
  g_mutex_unlock (&self->lock);
  if (thunk == NULL)
    return;
  /* finished, but too large for one frame: fetched in chunks */
  if (value == NULL && rthunk_client_error_is_too_large (error))
    {
      value = fetched = rthunk_client_fetch_chunked (self->poll, id, NULL, NULL, NULL, &refused);
      error = refused;
    }
  /* polled by id: the client's pending value the thunk stands for knows
   * the type due */
  if (value != NULL && !rthunk_client_validate_for (origin = rthunk_thunk_dup_origin (thunk), value, &refused))
    rthunk_thunk_return_error (thunk, refused);
  else if (value != NULL)
    rthunk_thunk_return_value (thunk, value);
  else
    rthunk_thunk_return_error (thunk, error);
  g_clear_pointer (&origin, rthunk_value_unref);
  g_bytes_unref (key);
  g_object_unref (thunk);
}

/* Finishes the outstanding thunks of @ids with @error. */
static void
collector_fail (RthunkCollector *self,
                GPtrArray       *ids,
                const GError    *error)
{
  for (guint k = 0; k < ids->len; k++)
    collector_finished (g_ptr_array_index (ids, k), NULL, error, self);
}

/* The server refused a poll of many ids: asks for each alone, without
 * waiting, so only the thunks it does not know fail. */
static void
collector_probe (RthunkCollector *self,
                 GPtrArray       *ids)
{
  for (guint k = 0; k < ids->len; k++)
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      g_autoptr(GError) error = NULL;

      g_ptr_array_add (one, g_ptr_array_index (ids, k));
      if (!rthunk_client_await_many (self->poll, one, 0, collector_finished, self, &error))
        collector_finished (g_ptr_array_index (ids, k), NULL, error, self);
    }
}

static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION) ||
         g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST) ||
         g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT);
}

/* A lane's failed polls in a row (each lane counts its own: the lanes'
 * failures together are not one thunk's). */
typedef struct
{
  guint failures;
  gint64 since;                     /* when the first failed poll began */
} Streak;

/* Whether a streak of failed polls has gone on long enough: as many
 * attempts as allowed, or the client's whole-call deadline spent in all
 * (a stopped server fails each poll only at that deadline). Sets
 * @given_up to @error saying how long it waited in total. Lock held. */
static gboolean
collector_give_up_locked (RthunkCollector  *self,
                          const Streak     *streak,
                          const GError     *error,
                          GError          **given_up)
{
  guint budget_ms = 0;
  double waited_s = (g_get_monotonic_time () - streak->since) / (double) G_USEC_PER_SEC;

  g_object_get (self->poll, "call-timeout-ms", &budget_ms, NULL);
  if (streak->failures < POLL_MAX_FAILURES && waited_s * 1000 < budget_ms)
    return FALSE;
  *given_up = g_error_new (error->domain, error->code,
                           g_dngettext (GETTEXT_PACKAGE, "%s (gave up after %u attempt, %.1f s in all)",
                                        "%s (gave up after %u attempts, %.1f s in all)", streak->failures),
                           error->message, streak->failures, waited_s);
  return TRUE;
}

/* A lane's poll of @ids (begun at @started) failed: retry later, or give
 * the thunks up. The ids stay marked polled while the lane backs off, so
 * that no other lane polls them meanwhile. Lock held. */
static void
collector_failed_locked (RthunkCollector *self,
                         Streak          *streak,
                         GPtrArray       *ids,
                         gint64           started,
                         const GError    *error)
{
  g_autoptr(GError) given_up = NULL;
  gint64 until;

  if (!is_transient (error))
    {
      g_mutex_unlock (&self->lock);
      if (ids->len == 1)
        collector_fail (self, ids, error);
      else
        collector_probe (self, ids);
      g_mutex_lock (&self->lock);
      return;
    }
  if (streak->failures++ == 0)
    streak->since = started;
  if (collector_give_up_locked (self, streak, error, &given_up))
    {
      streak->failures = 0;
      g_mutex_unlock (&self->lock);
      collector_fail (self, ids, given_up);
      g_mutex_lock (&self->lock);
      return;
    }
  until = g_get_monotonic_time () + (gint64) streak->failures * POLL_BACKOFF_MS * 1000;
  while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, until))
    ;
}

/* The outstanding ids (at most POLL_MAX_IDS), all of them or (@unpolled)
 * those no poll in flight names. Lock held. */
static GPtrArray *
snapshot_locked (RthunkCollector *self,
                 gboolean         unpolled)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GHashTableIter iter;
  gpointer id;

  /* the polled ids are outstanding ones (collector_finished() and
   * collector_cancel() drop both): as many means every one is polled */
  if (unpolled && g_hash_table_size (self->polled) == g_hash_table_size (self->outstanding))
    return ids;
  g_hash_table_iter_init (&iter, self->outstanding);
  while (ids->len < POLL_MAX_IDS && g_hash_table_iter_next (&iter, &id, NULL))
    if (!unpolled || !g_hash_table_contains (self->polled, id))
      g_ptr_array_add (ids, g_bytes_ref (id));
  return ids;
}

/* Marks @ids as named by a poll in flight, or (!@polled) no longer. Lock
 * held. */
static void
mark_polled_locked (RthunkCollector *self,
                    GPtrArray       *ids,
                    gboolean         polled)
{
  for (guint k = 0; k < ids->len; k++)
    if (!polled)
      g_hash_table_remove (self->polled, g_ptr_array_index (ids, k));
    else if (g_hash_table_contains (self->outstanding, g_ptr_array_index (ids, k)))
      g_hash_table_add (self->polled, g_bytes_ref (g_ptr_array_index (ids, k)));
}

static void
send_cancels (RthunkCollector *self,
              GPtrArray       *ids)
{
  for (guint k = 0; k < ids->len; k++)
    rthunk_client_cancel_thunk (self->poll, g_ptr_array_index (ids, k), NULL);
}

/* A lane: polls what no other poll names, until the collector stops. */
static gpointer
collector_lane (gpointer data)
{
  RthunkCollector *self = data;
  Streak streak = { 0, 0 };

#ifdef __GLIBC__
  pthread_setname_np (pthread_self (), "rthunk-collect");   /* for top and gdb */
#endif
  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      g_autoptr(GPtrArray) ids = snapshot_locked (self, TRUE);
      g_autoptr(GPtrArray) cancels = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok = TRUE;
      gint64 started;

      if (ids->len == 0 && self->to_cancel->len == 0)
        {
          self->idle++;
          g_cond_wait (&self->cond, &self->lock);
          self->idle--;
          continue;
        }
      mark_polled_locked (self, ids, TRUE);
      cancels = g_steal_pointer (&self->to_cancel);
      self->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_mutex_unlock (&self->lock);
      send_cancels (self, cancels);
      started = g_get_monotonic_time ();
      if (ids->len > 0)
        ok = rthunk_client_await_many (self->poll, ids, poll_slice_ms, collector_finished, self, &error);
      g_mutex_lock (&self->lock);
      if (ok && ids->len > 0)
        streak.failures = 0;
      else if (!self->stopping)
        collector_failed_locked (self, &streak, ids, started, error);
      mark_polled_locked (self, ids, FALSE);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* Wakes an idle lane for new work, or starts one when every lane polls
 * (up to MAX_LANES; beyond, the work waits for a poll to return). Lock
 * held. */
static void
wake_lane_locked (RthunkCollector *self)
{
  /* broadcast: a lane backing off after failed polls waits on the
   * condition too, and would swallow a signal */
  if (self->idle > 0)
    g_cond_broadcast (&self->cond);
  else if (self->n_lanes < MAX_LANES && !self->stopping)
    self->lanes[self->n_lanes++] = g_thread_new ("rthunk-collector", collector_lane, self);
}

/* Every lane's poll lasts at most @slice_ms (a test's knob). */
void
rthunk_collector_set_poll_slice (guint slice_ms)
{
  poll_slice_ms = slice_ms;
}


RthunkCollector *
rthunk_collector_new (RthunkClient *client,
                      RthunkClient *poll)
{
  RthunkCollector *self = g_atomic_rc_box_new0 (RthunkCollector);

  self->client = g_object_ref (client);
  self->poll = g_object_ref (poll);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->outstanding = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                             (GDestroyNotify) g_bytes_unref, g_object_unref);
  self->polled = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  self->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_mutex_lock (&self->lock);
  wake_lane_locked (self);
  g_mutex_unlock (&self->lock);
  return self;
}

static void
collector_cancel (RthunkThunk *thunk,
                  gpointer     user_data)
{
  RthunkCollector *self = user_data;
  GBytes *id = rthunk_thunk_get_id (thunk);

  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->polled, id);
  if (g_hash_table_remove (self->outstanding, id) && !self->stopping)
    {
      g_ptr_array_add (self->to_cancel, g_bytes_ref (id));
      wake_lane_locked (self);
    }
  g_mutex_unlock (&self->lock);
}

void
rthunk_collector_add (RthunkCollector *collector,
                      RthunkThunk     *thunk)
{
  GBytes *id = rthunk_thunk_get_id (thunk);

  g_assert (id != NULL);
  g_mutex_lock (&collector->lock);
  g_hash_table_replace (collector->outstanding, g_bytes_ref (id), g_object_ref (thunk));
  wake_lane_locked (collector);
  g_mutex_unlock (&collector->lock);
  rthunk_thunk_set_cancel_func (thunk, collector_cancel, rthunk_collector_ref (collector),
                                (GDestroyNotify) rthunk_collector_unref);
}

guint
rthunk_collector_get_outstanding (RthunkCollector *collector)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&collector->lock);

  return g_hash_table_size (collector->outstanding);
}

/* Stops the lanes (after their current polls), cancels what is still
 * outstanding, on the server too, and finishes it as cancelled. */
void
rthunk_collector_stop (RthunkCollector *collector)
{
  g_autoptr(GPtrArray) cancels = NULL;
  g_autoptr(GError) error = NULL;
  GThread *lanes[MAX_LANES];
  guint n_lanes;

  /* no lane starts once stopping is set */
  g_mutex_lock (&collector->lock);
  collector->stopping = TRUE;
  g_cond_broadcast (&collector->cond);
  n_lanes = collector->n_lanes;
  memcpy (lanes, collector->lanes, sizeof lanes);
  g_mutex_unlock (&collector->lock);
  for (guint k = 0; k < n_lanes; k++)
    g_thread_join (lanes[k]);
  /* cancellations the lanes had no time to send */
  g_mutex_lock (&collector->lock);
  collector->n_lanes = 0;
  cancels = g_steal_pointer (&collector->to_cancel);
  collector->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_mutex_unlock (&collector->lock);
  send_cancels (collector, cancels);
  error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the session was closed"));
  for (;;)
    {
      g_autoptr(GPtrArray) ids = NULL;

      g_mutex_lock (&collector->lock);
      ids = snapshot_locked (collector, FALSE);
      g_mutex_unlock (&collector->lock);
      if (ids->len == 0)
        break;
      send_cancels (collector, ids);
      collector_fail (collector, ids, error);
    }
}
