/* rthunk-store.c — a store below the memory caches, and its writer thread
 *
 * Opens the backend a URI names (`sqlite:PATH`, `redis://…`). Writes never
 * wait: rthunk_store_put() queues the entry (dropping it when the queue
 * is full: a store is a cache) and a thread writes what has queued up in
 * one batch. Reads ask the backend on one of RTHUNK_STORE_READERS
 * connections (none free: a miss, never a wait), which gives up after the
 * store's timeout; a backend that fails is warned about once, until it answers
 * again. A backend that keeps failing and answering (a loaded Redis whose
 * replies come now in time, now too late) is warned about at most once a
 * WARN_INTERVAL_US, with the count of failures in between.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <string.h>

#include "rthunk-error.h"
#include "rthunk-redis-private.h"
#include "rthunk-store.h"

#define MAX_QUEUED 65536        /* entries waiting for the writer */
#define MAX_BATCH 512           /* entries one transaction or pipeline writes */
#define WARN_INTERVAL_US (60 * G_USEC_PER_SEC)  /* between two warnings */

struct _RthunkStore
{
  char *uri;                    /* as logs show it: no password */
  RthunkStoreBackend *backend;
  guint ttl_s;
  GMutex readers[RTHUNK_STORE_READERS]; /* held while that reader reads */
  GAsyncQueue *queue;           /* RthunkStoreItem; a NULL value stops the writer */
  gint queued;                  /* atomic */
  GThread *writer;
  GMutex warn_lock;             /* guards the three below */
  gboolean failing;             /* the last outcome was a failure */
  gboolean warned;              /* and it was warned about */
  gint64 warned_at;             /* monotonic µs of the last warning; 0: none */
  guint64 unwarned;             /* failures that began since it, not warned about */
  gint warned_corrupt;          /* atomic: bit per kind warned about */
};

static void
store_item_free (RthunkStoreItem *item)
{
  g_clear_pointer (&item->value, g_bytes_unref);
  g_free (item);
}

/* Warns once that the backend fails, until it works again; and when it
 * fails again within WARN_INTERVAL_US of the last warning, counts the
 * failure instead of warning (and keeps quiet when it answers again). */
static void
note_outcome (RthunkStore  *store,
              const GError *error)
{
  gint64 now;

  g_mutex_lock (&store->warn_lock);
  if (error == NULL)
    {
      if (store->failing && store->warned)
        g_message ("store %s: answering again", store->uri);
      store->failing = FALSE;
    }
  else if (!store->failing)
    {
      store->failing = TRUE;
      now = g_get_monotonic_time ();
      store->warned = store->warned_at == 0 || now - store->warned_at >= WARN_INTERVAL_US;
      if (!store->warned)
        store->unwarned++;
      else if (store->unwarned == 0)
        g_warning ("store %s: %s; working on the local tiers until it answers",
                   store->uri, error->message);
      else
        g_warning ("store %s: %s; working on the local tiers until it answers "
                   "(%" G_GUINT64_FORMAT " more failures since the last warning)",
                   store->uri, error->message, store->unwarned);
      if (store->warned)
        {
          store->warned_at = now;
          store->unwarned = 0;
        }
    }
  g_mutex_unlock (&store->warn_lock);
}

/* Takes what has queued up behind @first, up to MAX_BATCH; FALSE when
 * the stop mark came. */
static gboolean
take_batch (RthunkStore     *store,
            RthunkStoreItem *first,
            GPtrArray       *batch)
{
  RthunkStoreItem *item = first;

  for (;;)
    {
      if (item->value == NULL)
        {
          store_item_free (item);
          return FALSE;
        }
      g_ptr_array_add (batch, item);
      if (batch->len >= MAX_BATCH || (item = g_async_queue_try_pop (store->queue)) == NULL)
        return TRUE;
    }
}

static gpointer
writer_main (gpointer data)
{
  RthunkStore *store = data;
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) store_item_free);
      g_autoptr(GError) error = NULL;
      RthunkStoreItem *first = g_async_queue_pop (store->queue);

      more = take_batch (store, first, batch);
      g_atomic_int_add (&store->queued, -(gint) batch->len);
      if (batch->len > 0)
        {
          store->backend->klass->put_batch (store->backend, batch, store->ttl_s, &error);
          note_outcome (store, error);
        }
    }
  return NULL;
}

/* The default store of a server named @name: `sqlite:` a file under
 * @state_dir, or under $XDG_STATE_HOME/rthunk (~/.local/state/rthunk). */
char *
rthunk_store_default_uri (const char *state_dir,
                          const char *name)
{
  g_autofree char *dir = NULL;
  g_autofree char *file = g_strconcat (name, ".db", NULL);
  g_autofree char *path = NULL;
  const char *xdg = g_getenv ("XDG_STATE_HOME");

  if (state_dir != NULL)
    dir = g_strdup (state_dir);
  else if (xdg != NULL && g_path_is_absolute (xdg))
    dir = g_build_filename (xdg, "rthunk", NULL);
  else
    dir = g_build_filename (g_get_home_dir (), ".local", "state", "rthunk", NULL);
  path = g_build_filename (dir, file, NULL);
  return g_strconcat ("sqlite:", path, NULL);
}

static RthunkStoreBackend *
open_backend (const char                *uri,
              const RthunkRedisOptions  *redis,
              guint                      timeout_ms,
              GError                   **error)
{
  g_autofree char *shown = NULL;

  if (g_str_has_prefix (uri, "sqlite:") && uri[strlen ("sqlite:")] != '\0')
    return rthunk_store_sqlite_open (uri + strlen ("sqlite:"), timeout_ms, error);
  if (g_str_has_prefix (uri, "redis://") || g_str_has_prefix (uri, "rediss://"))
    return rthunk_store_redis_open (uri, redis, timeout_ms, error);
  shown = rthunk_redis_redacted_uri (uri);
  return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                      _("store “%s”: expected memory, sqlite:PATH, redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB]"), shown), NULL;
}

/* The store @uri names (a Redis one connecting as @redis says: a
 * password instead of one in the URI, TLS files), whose reads wait at
 * most @timeout_ms and whose entries expire after @ttl_s seconds; NULL
 * with @error if it cannot be opened (a Redis that does not answer yet
 * is not an error). */
RthunkStore *
rthunk_store_open (const char                *uri,
                   const RthunkRedisOptions  *redis,
                   guint                      timeout_ms,
                   guint                      ttl_s,
                   GError                   **error)
{
  RthunkStoreBackend *backend = open_backend (uri, redis, timeout_ms, error);
  RthunkStore *store;

  if (backend == NULL)
    return NULL;
  store = g_new0 (RthunkStore, 1);
  store->uri = rthunk_redis_redacted_uri (uri);
  store->backend = backend;
  store->ttl_s = ttl_s;
  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    g_mutex_init (&store->readers[k]);
  g_mutex_init (&store->warn_lock);
  store->queue = g_async_queue_new ();
  store->writer = g_thread_new ("rthunk-store", writer_main, store);
  return store;
}

/* Writes what is queued, then closes the store. */
void
rthunk_store_free (RthunkStore *store)
{
  RthunkStoreItem *stop = g_new0 (RthunkStoreItem, 1);

  g_async_queue_push (store->queue, stop);
  g_thread_join (store->writer);
  g_async_queue_unref (store->queue);
  store->backend->klass->free (store->backend);
  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    g_mutex_clear (&store->readers[k]);
  g_mutex_clear (&store->warn_lock);
  g_free (store->uri);
  g_free (store);
}

/* The bytes under @kind and @key (a new reference), or NULL: absent, the
 * backend did not answer within the timeout, or every reader is busy (a
 * request never waits for another's read). */
GBytes *
rthunk_store_get (RthunkStore     *store,
                  RthunkStoreKind  kind,
                  const guint8    *key)
{
  g_autoptr(GError) error = NULL;
  GBytes *value = NULL;

  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    if (g_mutex_trylock (&store->readers[k]))
      {
        store->backend->klass->get (store->backend, k, kind, key, &value, &error);
        g_mutex_unlock (&store->readers[k]);
        note_outcome (store, error);
        break;
      }
  return value;
}

/* Queues @value under @kind and @key for the writer; never waits. */
void
rthunk_store_put (RthunkStore     *store,
                  RthunkStoreKind  kind,
                  const guint8    *key,
                  GBytes          *value)
{
  RthunkStoreItem *item;

  if (g_atomic_int_add (&store->queued, 1) >= MAX_QUEUED)
    {
      g_atomic_int_add (&store->queued, -1);
      return;                   /* the writer is behind: a cache may forget */
    }
  item = g_new0 (RthunkStoreItem, 1);
  item->kind = kind;
  memcpy (item->key, key, RTHUNK_HASH_LEN);
  item->value = g_bytes_ref (value);
  g_async_queue_push (store->queue, item);
}

/* Logs, once for each kind, that an entry read back was not what its key
 * says: it is treated as a miss. */
void
rthunk_store_warn_corrupt (RthunkStore     *store,
                           RthunkStoreKind  kind,
                           const char      *why)
{
  gint bit = kind == RTHUNK_STORE_RESULT ? 1 : 2;

  if ((g_atomic_int_or (&store->warned_corrupt, bit) & bit) == 0)
    g_warning ("store %s: an entry failed its check (%s): treated as a miss", store->uri, why);
}
