/* rthunk-core-private.h — helpers shared inside librthunk's core layer
 * and everything above it, never installed */
#pragma once

#include <string.h>

#include <glib.h>
#include <glib/gi18n-lib.h>

#include "rthunk-error.h"

G_BEGIN_DECLS

/*
 * RTHUNK_DEFINE_RC_BOX_REFS:
 * @Type: a type allocated with g_atomic_rc_box_new0()
 * @prefix: the prefix of the two functions
 * @clear: a `void clear (Type *)` that releases what one box holds
 *
 * Defines `Type *prefix_ref (Type *)`, which takes a reference, and
 * `void prefix_unref (Type *)`, which drops one and, with the last, clears
 * the box with @clear and frees it. A header declares the two, or a
 * static declaration before the macro makes them private to the file.
 */
#define RTHUNK_DEFINE_RC_BOX_REFS(Type, prefix, clear)                  \
  Type *                                                                 \
  prefix##_ref (Type *self)                                              \
  {                                                                      \
    return g_atomic_rc_box_acquire (self);                               \
  }                                                                      \
                                                                         \
  void                                                                   \
  prefix##_unref (Type *self)                                            \
  {                                                                      \
    void (*clear_box) (Type *) = clear;                                  \
                                                                         \
    g_atomic_rc_box_release_full (self, (GDestroyNotify) clear_box);     \
  }

/*
 * RTHUNK_DEFINE_REF_COUNT_REFS:
 * @Type: a type allocated with g_new0(), with a `gatomicrefcount
 *   ref_count` member set by g_atomic_ref_count_init()
 * @prefix: the prefix of the two functions
 * @clear: a `void clear (Type *)` that releases what one holds
 *
 * As RTHUNK_DEFINE_RC_BOX_REFS(), for a type of which many are kept:
 * g_atomic_rc_box's header costs 32 bytes, the counter 4 (often in what
 * would be padding).
 */
#define RTHUNK_DEFINE_REF_COUNT_REFS(Type, prefix, clear)               \
  Type *                                                                 \
  prefix##_ref (Type *self)                                              \
  {                                                                      \
    g_atomic_ref_count_inc (&self->ref_count);                           \
    return self;                                                         \
  }                                                                      \
                                                                         \
  void                                                                   \
  prefix##_unref (Type *self)                                            \
  {                                                                      \
    if (!g_atomic_ref_count_dec (&self->ref_count))                      \
      return;                                                            \
    clear (self);                                                        \
    g_free (self);                                                       \
  }

void rthunk_set_pos_error_valist (GError     **error,
                                  const char  *source,
                                  guint        line,
                                  guint        col,
                                  RthunkError  code,
                                  const char  *format,
                                  va_list      args) G_GNUC_PRINTF (6, 0);

/* Makes *@str_pointer a copy of @new_str (or %NULL), freeing what it
 * held: GLib's g_set_str(), which comes only with GLib 2.76. */
static inline void
rthunk_set_str (char       **str_pointer,
                const char  *new_str)
{
  char *copy = g_strdup (new_str);

  g_free (*str_pointer);
  *str_pointer = copy;
}

/* Stops the thread in *@thread, one that waits on @cond under @lock until
 * *@stopping: sets *@stopping under the lock, wakes it and joins it, and
 * leaves *@thread %NULL. With no thread, only sets *@stopping. */
static inline void
rthunk_thread_stop (GThread  **thread,
                    GMutex    *lock,
                    GCond     *cond,
                    gboolean  *stopping)
{
  g_mutex_lock (lock);
  *stopping = TRUE;
  g_cond_broadcast (cond);
  g_mutex_unlock (lock);
  if (*thread != NULL)
    g_thread_join (g_steal_pointer (thread));
}

/* Moves item @k of @items, an array of items of @size bytes (at most
 * 128), to the front, and those before it one place on: the small arrays
 * of what was used lately (kept codes, shapes, keys) keep the latest
 * first. */
static inline void
rthunk_array_raise (gpointer items,
                    gsize    size,
                    guint    k)
{
  guint8 item[128];

  g_assert (size <= sizeof item);
  if (k == 0)
    return;
  memcpy (item, (guint8 *) items + k * size, size);
  memmove ((guint8 *) items + size, items, k * size);
  memcpy (items, item, size);
}

/* One object a thread keeps from one call to the next (a buffer, a
 * checker, an evaluator), taken and given back without a look at the
 * thread's GPrivate each time: the object sits in a thread-local cell,
 * and the GPrivate (which frees it when the thread ends) is told only
 * when the object it must free changes. Declare one with
 * RTHUNK_THREAD_KEPT(name, destroy) at file scope. */
typedef struct
{
  GPrivate *owner;              /* frees @owned at the thread's end */
  gpointer kept;                /* the object, when not taken */
  gpointer owned;               /* what @owner holds */
} RthunkThreadKept;

#define RTHUNK_THREAD_KEPT(name, destroy) \
  static GPrivate name##_owner = G_PRIVATE_INIT ((GDestroyNotify) (destroy)); \
  static _Thread_local RthunkThreadKept name = { &name##_owner, NULL, NULL }

/* The thread's kept object, now the caller's until it gives it back; or
 * %NULL (the caller makes one). Every object taken goes back through
 * rthunk_thread_kept_give(), kept or not: the thread's GPrivate may still
 * hold it, and only _give() tells it that the caller frees it. */
static inline gpointer
rthunk_thread_kept_take (RthunkThreadKept *cell)
{
  gpointer object = cell->kept;

  cell->kept = NULL;
  return object;
}

/* Keeps @object for the thread's next call if @keep and the thread keeps
 * none (an object taken meanwhile, by a nested call, may have come back
 * first); FALSE when it is not kept: the caller frees it. */
static inline gboolean
rthunk_thread_kept_give (RthunkThreadKept *cell,
                         gpointer          object,
                         gboolean          keep)
{
  if (keep && cell->kept == NULL)
    {
      cell->kept = object;
      if (cell->owned != object)
        g_private_set (cell->owner, cell->owned = object);
      return TRUE;
    }
  if (cell->owned == object)
    g_private_set (cell->owner, cell->owned = NULL);
  return FALSE;
}

/* The length of a thunk id, on the wire and everywhere. */
#define RTHUNK_ID_LEN 16

/* A new random thunk id (rthunk-random-id.c): a server's for the thunks
 * it makes, a client's for the submissions it queues. */
void rthunk_random_id (guint8 id[RTHUNK_ID_LEN]);

const char *rthunk_nearest_name (const char        *name,
                                 const char *const *candidates,
                                 guint              n);

G_END_DECLS
