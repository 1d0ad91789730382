/* rthunk-collector.c — what finishes a server's remote thunks
 *
 * One thread per server that long-polls `thunkAwait` with the ids of every
 * outstanding thunk at once, on a connection of its own, and finishes the
 * thunks that the answer reports. With nothing outstanding the thread
 * sleeps on a condition. A thunk cancelled before it finished is
 * cancelled on the server too. (Declared in rthunk-thunk-private.h.)
 */
#include "config.h"

#include <glib/gi18n-lib.h>

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

struct _RthunkCollector         /* a g_atomic_rc_box */
{
  RthunkClient *client;
  RthunkClient *poll;
  GMutex lock;
  GCond cond;
  GHashTable *outstanding;          /* GBytes id → RthunkThunk */
  GPtrArray *to_cancel;             /* GBytes ids */
  guint failures;
  gint64 failing_since;             /* when the first failed poll of a streak began */
  gboolean stopping;
  GThread *thread;
};

static void
collector_clear (RthunkCollector *collector)
{
  g_assert (collector->thread == NULL);
  g_hash_table_unref (collector->outstanding);
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

/* Whether a streak of failed polls has gone on long enough: as many
 * attempts as allowed, or the client's whole-call deadline spent in all
 * (a stopped server fails each poll only at that deadline). Sets
 * @given_up to @error saying how long it waited in total. Lock held. */
static gboolean
collector_give_up_locked (RthunkCollector  *self,
                          const GError     *error,
                          GError          **given_up)
{
  guint budget_ms = 0;
  double waited_s = (g_get_monotonic_time () - self->failing_since) / (double) G_USEC_PER_SEC;

  g_object_get (self->poll, "call-timeout-ms", &budget_ms, NULL);
  if (self->failures < POLL_MAX_FAILURES && waited_s * 1000 < budget_ms)
    return FALSE;
  *given_up = g_error_new (error->domain, error->code,
                           g_dngettext (GETTEXT_PACKAGE, "%s (gave up after %u attempt, %.1f s in all)",
                                        "%s (gave up after %u attempts, %.1f s in all)", self->failures),
                           error->message, self->failures, waited_s);
  return TRUE;
}

/* A poll (begun at @started) failed: retry later, or give the thunks up.
 * Lock held. */
static void
collector_failed_locked (RthunkCollector *self,
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
  if (self->failures++ == 0)
    self->failing_since = started;
  if (collector_give_up_locked (self, error, &given_up))
    {
      self->failures = 0;
      g_mutex_unlock (&self->lock);
      collector_fail (self, ids, given_up);
      g_mutex_lock (&self->lock);
      return;
    }
  until = g_get_monotonic_time () + (gint64) self->failures * POLL_BACKOFF_MS * 1000;
  while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, until))
    ;
}

/* The ids to poll now (at most POLL_MAX_IDS). Lock held. */
static GPtrArray *
snapshot_locked (RthunkCollector *self)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GHashTableIter iter;
  gpointer id;

  g_hash_table_iter_init (&iter, self->outstanding);
  while (ids->len < POLL_MAX_IDS && g_hash_table_iter_next (&iter, &id, NULL))
    g_ptr_array_add (ids, g_bytes_ref (id));
  return ids;
}

static void
send_cancels (RthunkCollector *self,
              GPtrArray       *ids)
{
  for (guint k = 0; k < ids->len; k++)
    rthunk_client_cancel_thunk (self->poll, g_ptr_array_index (ids, k), NULL);
}

static gpointer
collector_thread (gpointer data)
{
  RthunkCollector *self = data;

#ifdef __GLIBC__
  pthread_setname_np (pthread_self (), "rthunk-collect");   /* for top and gdb */
#endif
  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      g_autoptr(GPtrArray) ids = NULL;
      g_autoptr(GPtrArray) cancels = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok = TRUE;
      gint64 started;

      if (g_hash_table_size (self->outstanding) == 0 && self->to_cancel->len == 0)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      ids = snapshot_locked (self);
      cancels = g_steal_pointer (&self->to_cancel);
      self->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_mutex_unlock (&self->lock);
      send_cancels (self, cancels);
      started = g_get_monotonic_time ();
      if (ids->len > 0)
        ok = rthunk_client_await_many (self->poll, ids, POLL_SLICE_MS, collector_finished, self, &error);
      g_mutex_lock (&self->lock);
      if (ok)
        self->failures = 0;
      else if (!self->stopping)
        collector_failed_locked (self, ids, started, error);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
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
  self->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  self->thread = g_thread_new ("rthunk-collector", collector_thread, self);
  return self;
}

static void
collector_cancel (RthunkThunk *thunk,
                  gpointer     user_data)
{
  RthunkCollector *self = user_data;
  GBytes *id = rthunk_thunk_get_id (thunk);

  g_mutex_lock (&self->lock);
  if (g_hash_table_remove (self->outstanding, id) && !self->stopping)
    {
      g_ptr_array_add (self->to_cancel, g_bytes_ref (id));
      g_cond_signal (&self->cond);
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
  g_cond_signal (&collector->cond);
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

/* Stops the thread (after its current poll), cancels what is still
 * outstanding, on the server too, and finishes it as cancelled. */
void
rthunk_collector_stop (RthunkCollector *collector)
{
  g_autoptr(GPtrArray) cancels = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_thread_stop (&collector->thread, &collector->lock, &collector->cond, &collector->stopping);
  /* cancellations the thread had no time to send */
  g_mutex_lock (&collector->lock);
  cancels = g_steal_pointer (&collector->to_cancel);
  collector->to_cancel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_mutex_unlock (&collector->lock);
  send_cancels (collector, cancels);
  error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the session was closed"));
  for (;;)
    {
      g_autoptr(GPtrArray) ids = NULL;

      g_mutex_lock (&collector->lock);
      ids = snapshot_locked (collector);
      g_mutex_unlock (&collector->lock);
      if (ids->len == 0)
        break;
      send_cancels (collector, ids);
      collector_fail (collector, ids, error);
    }
}
