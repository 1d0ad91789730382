/* rthunk-thunk.c — a future for one thunk
 *
 * A #RthunkThunk is finished exactly once (done, failed or cancelled), from
 * any thread: the state, value and error live under a mutex, and a
 * condition wakes whoever waits. The `resolved` signal and the `state`
 * notifications are always emitted from an idle source of the main context
 * the thunk was made for, never from the thread that finished it.
 *
 * Remote thunks are finished by a collector (rthunk-collector.c).
 *
 * A thunk stands in the language as a pending #RthunkValue
 * (rthunk_thunk_to_value()); forcing that value waits for the thunk, after
 * telling the thread's block hook (how a session learns that an
 * evaluation has to wait).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-thunk.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk-state.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* Someone waiting with rthunk_thunk_wait_async(). */
typedef struct                  /* a g_atomic_rc_box */
{
  GWeakRef thunk;
  GTask *task;          /* owned until the waiter is completed */
} Waiter;

struct _RthunkThunk
{
  GObject parent_instance;

  char *label;                      /* NULL (prints as "?") until set */
  const char *server;               /* interned: one string a server */
  guint8 id[RTHUNK_ID_LEN];         /* inline: no allocation a thunk */
  gboolean has_id;
  GBytes *id_bytes;                 /* made when asked for, set once */
  GMainContext *context;
  gint64 created_us;

  GMutex lock;
  GCond cond;
  guint sleepers;                   /* threads waiting on @cond: none, no wake-up call */
  RthunkThunkState state;
  RthunkValue *value;
  GError *error;
  gint64 finished_us;
  GQueue waiters;                   /* Waiter */
  RthunkThunkCancelFunc cancel_func;
  gpointer cancel_data;
  GDestroyNotify cancel_destroy;
  RthunkThunkFinishFunc finish_func;
  gpointer finish_data;
  GDestroyNotify finish_destroy;
  RthunkValue *origin;              /* set once, dropped when finished: see rthunk_thunk_take_origin() */
  GPtrArray *old_labels;            /* replaced labels, kept for readers until finalize */
};

/**
 * RthunkThunk:
 *
 * A future for one thunk: remote (a server evaluates it; the session's
 * collector learns when it finished), or local (finished with
 * rthunk_thunk_return_value() or rthunk_thunk_return_error()).
 *
 * Any thread may wait for it (rthunk_thunk_wait()) or read its
 * #RthunkThunk:state; #RthunkThunk::resolved and the notifications of
 * #RthunkThunk:state are emitted in the main context it was made in. In
 * the language it is a pending value (rthunk_thunk_to_value()).
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkThunk, rthunk_thunk, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LABEL,
  PROP_SERVER,
  PROP_ID,
  PROP_STATE,
  N_PROPS
};

enum {
  SIGNAL_RESOLVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];
static guint notify_id;         /* GObject::notify */

static GPrivate block_hook;

/* ---- waiters ------------------------------------------------------------ */

static Waiter *waiter_ref   (Waiter *waiter);
static void    waiter_unref (Waiter *waiter);

static void
waiter_clear (Waiter *waiter)
{
  g_weak_ref_clear (&waiter->thunk);
  g_clear_object (&waiter->task);
}

/* static, as declared above */
RTHUNK_DEFINE_RC_BOX_REFS (Waiter, waiter, waiter_clear)

/* Completes a waiter that is no longer in the queue. */
static void
waiter_complete (Waiter      *waiter,
                 RthunkValue *value,
                 GError      *error)
{
  GTask *task = g_steal_pointer (&waiter->task);

  if (value != NULL)
    g_task_return_pointer (task, rthunk_value_ref (value), (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (task, g_error_copy (error));
  g_object_unref (task);
  waiter_unref (waiter);
}

static void
waiter_cancelled (GCancellable *cancellable,
                  gpointer      data)
{
  Waiter *waiter = data;
  g_autoptr(RthunkThunk) self = g_weak_ref_get (&waiter->thunk);
  gboolean mine;

  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  mine = g_queue_remove (&self->waiters, waiter);
  g_mutex_unlock (&self->lock);
  if (mine)
    {
      g_autoptr(GError) error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                                     _("stopped waiting"));

      waiter_complete (waiter, NULL, error);
    }
}

/* ---- the object ----------------------------------------------------------- */

static void
rthunk_thunk_finalize (GObject *object)
{
  g_clear_pointer (&RTHUNK_THUNK (object)->old_labels, g_ptr_array_unref);
  RthunkThunk *self = RTHUNK_THUNK (object);

  g_assert (g_queue_is_empty (&self->waiters));
  if (self->cancel_destroy != NULL)
    self->cancel_destroy (self->cancel_data);
  if (self->finish_destroy != NULL)
    self->finish_destroy (self->finish_data);
  g_clear_pointer (&self->value, rthunk_value_unref);
  g_clear_pointer (&self->origin, rthunk_value_unref);
  g_clear_error (&self->error);
  g_clear_pointer (&self->id_bytes, g_bytes_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->label);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (rthunk_thunk_parent_class)->finalize (object);
}

/* The id: kept inline when it has the length of the ids servers give
 * (always, from a server that keeps to the protocol), else as bytes. */
static void
set_id (RthunkThunk  *self,
        const guint8 *id,
        gsize         len)
{
  g_clear_pointer (&self->id_bytes, g_bytes_unref);
  self->has_id = id != NULL;
  if (id != NULL && len == RTHUNK_ID_LEN)
    memcpy (self->id, id, RTHUNK_ID_LEN);
  else if (id != NULL)
    self->id_bytes = g_bytes_new (id, len);
}

/* What the thunk prints as. */
static const char *
label_of (RthunkThunk *self)
{
  return self->label != NULL ? self->label : "?";
}

static void
rthunk_thunk_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  RthunkThunk *self = RTHUNK_THUNK (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, label_of (self));
      break;
    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case PROP_ID:
      g_value_set_boxed (value, rthunk_thunk_get_id (self));
      break;
    case PROP_STATE:
      g_value_set_enum (value, rthunk_thunk_get_state (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Whether @pspec may still be written: label, server and id are set
 * once, by g_object_new() (a binding) or rthunk_thunk_new_in_context(),
 * since readers keep what the getters give without a reference. */
static gboolean
check_unset (RthunkThunk *self,
             GParamSpec  *pspec,
             gboolean     unset)
{
  if (!unset)
    g_critical ("RthunkThunk:%s is set once, when the thunk is made", pspec->name);
  return unset;
}

static void
rthunk_thunk_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  RthunkThunk *self = RTHUNK_THUNK (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      if (check_unset (self, pspec, self->label == NULL))
        self->label = g_value_dup_string (value);
      break;
    case PROP_SERVER:
      if (check_unset (self, pspec, self->server == NULL))
        self->server = g_intern_string (g_value_get_string (value));
      break;
    case PROP_ID:
      if (!check_unset (self, pspec, !self->has_id && self->id_bytes == NULL))
        break;
      set_id (self, g_value_get_boxed (value) != NULL ? g_bytes_get_data (g_value_get_boxed (value), NULL) : NULL,
              g_value_get_boxed (value) != NULL ? g_bytes_get_size (g_value_get_boxed (value)) : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The creator's main context, as rthunk_thunk_new() gives it (what
 * rthunk_thunk_new_in_context() sets right after). */
static void
rthunk_thunk_constructed (GObject *object)
{
  RthunkThunk *self = RTHUNK_THUNK (object);

  G_OBJECT_CLASS (rthunk_thunk_parent_class)->constructed (object);
  self->context = g_main_context_ref_thread_default ();
}

static void
rthunk_thunk_class_init (RthunkThunkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = rthunk_thunk_constructed;
  object_class->finalize = rthunk_thunk_finalize;
  object_class->get_property = rthunk_thunk_get_property;
  object_class->set_property = rthunk_thunk_set_property;

  /**
   * RthunkThunk:label:
   *
   * How the thunk prints inside `<pending …>`, e.g. `#a1b2 @alpha`;
   * `?` when none was given. Set once, when the thunk is made.
   *
   * Since: 0.1
   */
  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkThunk:server:
   *
   * The name of the server that evaluates the thunk, or %NULL for a local
   * future. Set once, when the thunk is made.
   *
   * Since: 0.1
   */
  properties[PROP_SERVER] =
    g_param_spec_string ("server", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkThunk:id:
   *
   * The id the server gave the thunk, or %NULL for a local future. Set
   * once, when the thunk is made.
   *
   * Since: 0.1
   */
  properties[PROP_ID] =
    g_param_spec_boxed ("id", NULL, NULL, G_TYPE_BYTES,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkThunk:state:
   *
   * Where the thunk is. Notified in the thunk's main context, to the
   * handlers connected when it changed.
   *
   * Since: 0.1
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, RTHUNK_TYPE_THUNK_STATE, RTHUNK_THUNK_PENDING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RthunkThunk::resolved:
   * @thunk: the thunk
   *
   * Emitted once, in the main context the thunk was made in (the thread
   * default context of its creator), after it finished: done, failed or
   * cancelled. Only a handler connected by the time the thunk finished
   * is called (a thunk nobody listens to costs its main context
   * nothing): connect, then look at #RthunkThunk:state.
   *
   * Since: 0.1
   */
  notify_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
  signals[SIGNAL_RESOLVED] =
    g_signal_new ("resolved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
rthunk_thunk_init (RthunkThunk *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->waiters);
  self->state = RTHUNK_THUNK_PENDING;
  self->created_us = g_get_monotonic_time ();
}

/**
 * rthunk_thunk_new:
 * @label: how the thunk prints inside `<pending …>`
 *
 * Creates a local future, finished with rthunk_thunk_return_value() or
 * rthunk_thunk_return_error(). Its signals are emitted in the thread
 * default main context of the caller.
 *
 * Returns: (transfer full): a new pending thunk
 *
 * Since: 0.1
 */
RthunkThunk *
rthunk_thunk_new (const char *label)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  return rthunk_thunk_new_in_context (g_strdup (label), NULL, NULL, 0, context);
}

/* g_intern_string() of @server, which takes GLib's lock of its table:
 * a thread makes its thunks mostly for one server, so the last interned
 * name is kept (interned strings live as long as the process). */
static const char *
intern_server (const char *server)
{
  static _Thread_local const char *last;

  if (server == NULL)
    return NULL;
  if (last == NULL || strcmp (last, server) != 0)
    last = g_intern_string (server);
  return last;
}

/* The properties filled directly. They are not construct properties:
 * g_object_new() would set each to its default through a GValue and its
 * setter, and freeze and thaw the notify queue around it (a malloc and a
 * free each), 0.9k instructions a thunk, one a remote form. */
RthunkThunk *
rthunk_thunk_new_in_context (char         *label,
                             const char   *server,
                             const guint8 *id,
                             gsize         id_len,
                             GMainContext *context)
{
  RthunkThunk *self = g_object_new (RTHUNK_TYPE_THUNK, NULL);

  self->label = label != NULL ? label : g_strdup ("?");
  self->server = intern_server (server);
  set_id (self, id, id_len);
  if (context != NULL)
    {
      g_main_context_unref (self->context);
      self->context = g_main_context_ref (context);
    }
  return self;
}

/**
 * rthunk_thunk_get_label:
 * @thunk: a thunk
 *
 * Gives the label the thunk prints as.
 *
 * Returns: (transfer none): how the thunk prints, e.g. `#a1b2 @alpha`
 *
 * Since: 0.1
 */
const char *
rthunk_thunk_get_label (RthunkThunk *thunk)
{
  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  return label_of (thunk);
}

/**
 * rthunk_thunk_get_server:
 * @thunk: a thunk
 *
 * Gives the name of the server that evaluates the thunk.
 *
 * Returns: (transfer none) (nullable): the name of the server evaluating
 *   it, or %NULL for a local future
 *
 * Since: 0.1
 */
const char *
rthunk_thunk_get_server (RthunkThunk *thunk)
{
  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  return thunk->server;
}

/**
 * rthunk_thunk_get_id:
 * @thunk: a thunk
 *
 * Gives the 16-byte id the server knows the thunk by.
 *
 * Returns: (transfer none) (nullable): the server's id of the thunk, or
 *   %NULL for a local future
 *
 * Since: 0.1
 */
GBytes *
rthunk_thunk_get_id (RthunkThunk *thunk)
{
  GBytes *made;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  if (!thunk->has_id || g_atomic_pointer_get (&thunk->id_bytes) != NULL)
    return g_atomic_pointer_get (&thunk->id_bytes);
  /* made once, the first time any thread asks */
  made = g_bytes_new (thunk->id, RTHUNK_ID_LEN);
  if (!g_atomic_pointer_compare_and_exchange (&thunk->id_bytes, NULL, made))
    g_bytes_unref (made);
  return g_atomic_pointer_get (&thunk->id_bytes);
}

/**
 * rthunk_thunk_get_state:
 * @thunk: a thunk
 *
 * The state right now, from any thread. The #RthunkThunk:state
 * notification comes later, in the thunk's main context.
 *
 * Returns: the state
 *
 * Since: 0.1
 */
RthunkThunkState
rthunk_thunk_get_state (RthunkThunk *thunk)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), RTHUNK_THUNK_FAILED);

  locker = g_mutex_locker_new (&thunk->lock);
  return thunk->state;
}

/**
 * rthunk_thunk_is_finished:
 * @thunk: a thunk
 *
 * Tells whether the thunk has reached a final state.
 *
 * Returns: whether the thunk is done, failed or cancelled
 *
 * Since: 0.1
 */
gboolean
rthunk_thunk_is_finished (RthunkThunk *thunk)
{
  return rthunk_thunk_get_state (thunk) >= RTHUNK_THUNK_DONE;
}

/**
 * rthunk_thunk_get_value:
 * @thunk: a thunk
 *
 * Gives the value of a finished thunk, without waiting.
 *
 * Returns: (transfer none) (nullable): the value, or %NULL while the thunk
 *   is unfinished or when it failed
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_thunk_get_value (RthunkThunk *thunk)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  /* a value, once set, never changes: returning it unlocked is safe */
  locker = g_mutex_locker_new (&thunk->lock);
  return thunk->value;
}

/**
 * rthunk_thunk_get_error:
 * @thunk: a thunk
 *
 * Gives the error of a thunk that failed or was cancelled.
 *
 * Returns: (transfer none) (nullable): why the thunk failed or was
 *   cancelled, or %NULL
 *
 * Since: 0.1
 */
const GError *
rthunk_thunk_get_error (RthunkThunk *thunk)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  locker = g_mutex_locker_new (&thunk->lock);
  return thunk->error;
}

/**
 * rthunk_thunk_get_elapsed:
 * @thunk: a thunk
 *
 * Tells how long the thunk has taken.
 *
 * Returns: microseconds from the thunk's creation to its end, or until now
 *   while it is unfinished
 *
 * Since: 0.1
 */
gint64
rthunk_thunk_get_elapsed (RthunkThunk *thunk)
{
  gint64 end;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), 0);

  g_mutex_lock (&thunk->lock);
  end = thunk->finished_us > 0 ? thunk->finished_us : g_get_monotonic_time ();
  g_mutex_unlock (&thunk->lock);
  return end - thunk->created_us;
}

/* ---- finishing ------------------------------------------------------------ */

static gboolean
emit_state (gpointer data)
{
  g_object_notify_by_pspec (data, properties[PROP_STATE]);
  return G_SOURCE_REMOVE;
}

static gboolean
emit_resolved (gpointer data)
{
  g_object_notify_by_pspec (data, properties[PROP_STATE]);
  g_signal_emit (data, signals[SIGNAL_RESOLVED], 0);
  return G_SOURCE_REMOVE;
}

/* What waits to be emitted in one main context. One idle source runs a
 * whole batch, in order: an idle source a thunk cost about 180 bytes
 * while it waited (10^5 thunks finished during one evaluation held 18 MB)
 * and a wake-up of the context each. */
typedef struct
{
  RthunkThunk *thunk;           /* a reference */
  GSourceFunc func;
} Emission;

typedef struct
{
  GMainContext *context;        /* a reference */
  GArray *emissions;            /* Emission */
} Batch;

static GMutex batches_lock;
static GHashTable *batches;     /* GMainContext → its Batch, while one is scheduled */

static gboolean
run_batch (gpointer data)
{
  Batch *batch = data;

  g_mutex_lock (&batches_lock);
  g_hash_table_remove (batches, batch->context);
  g_mutex_unlock (&batches_lock);
  for (guint k = 0; k < batch->emissions->len; k++)
    {
      Emission *emission = &g_array_index (batch->emissions, Emission, k);

      emission->func (emission->thunk);
      g_clear_object (&emission->thunk);
    }
  return G_SOURCE_REMOVE;
}

/* After run_batch(), or instead of it when the source is destroyed first. */
static void
batch_free (gpointer data)
{
  Batch *batch = data;

  g_mutex_lock (&batches_lock);
  if (g_hash_table_lookup (batches, batch->context) == batch)
    g_hash_table_remove (batches, batch->context);
  g_mutex_unlock (&batches_lock);
  for (guint k = 0; k < batch->emissions->len; k++)
    g_clear_object (&g_array_index (batch->emissions, Emission, k).thunk);
  g_array_unref (batch->emissions);
  g_main_context_unref (batch->context);
  g_free (batch);
}

/* Whether anything listens to the thunk's "resolved" or "notify::state".
 * A remote form awaited in the shell finishes in the evaluation's thread
 * and nobody listens: an idle for it would wake the main context (an
 * eventfd write and a context switch a form) to emit into nothing. */
static gboolean
has_listeners (RthunkThunk *self)
{
  return g_signal_has_handler_pending (self, signals[SIGNAL_RESOLVED], 0, TRUE) ||
         g_signal_has_handler_pending (self, notify_id, g_param_spec_get_name_quark (properties[PROP_STATE]),
                                       TRUE);
}

/* Runs @func on the thunk in its main context, always from an idle, after
 * what was dispatched there before, when a handler was connected by then. */
static void
dispatch (RthunkThunk *self,
          GSourceFunc  func)
{
  Emission emission;
  Batch *batch;

  if (!has_listeners (self))
    return;
  emission = (Emission) { g_object_ref (self), func };
  g_mutex_lock (&batches_lock);
  if (batches == NULL)
    batches = g_hash_table_new (NULL, NULL);
  batch = g_hash_table_lookup (batches, self->context);
  if (batch == NULL)
    {
      GSource *source = g_idle_source_new ();

      batch = g_new (Batch, 1);
      batch->context = g_main_context_ref (self->context);
      batch->emissions = g_array_new (FALSE, FALSE, sizeof (Emission));
      g_hash_table_insert (batches, self->context, batch);
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, run_batch, batch, batch_free);
      g_source_set_static_name (source, "[rthunk] thunks");
      g_source_attach (source, self->context);
      g_source_unref (source);
    }
  g_array_append_val (batch->emissions, emission);
  g_mutex_unlock (&batches_lock);
}

void
rthunk_thunk_set_running (RthunkThunk *thunk)
{
  gboolean changed;

  g_mutex_lock (&thunk->lock);
  changed = thunk->state == RTHUNK_THUNK_PENDING;
  if (changed)
    thunk->state = RTHUNK_THUNK_RUNNING;
  g_mutex_unlock (&thunk->lock);
  if (changed)
    dispatch (thunk, emit_state);
}

/* Finishes the thunk unless it already is; takes neither argument. */
static gboolean
finish (RthunkThunk      *self,
        RthunkThunkState  state,
        RthunkValue      *value,
        GError           *error)
{
  GQueue waiters = G_QUEUE_INIT;
  GDestroyNotify destroy, finish_destroy;
  gpointer cancel_data, finish_data;
  RthunkThunkFinishFunc finish_func;
  RthunkValue *origin;
  Waiter *waiter;

  g_mutex_lock (&self->lock);
  if (self->state >= RTHUNK_THUNK_DONE)
    {
      g_mutex_unlock (&self->lock);
      g_clear_pointer (&value, rthunk_value_unref);
      g_clear_error (&error);
      return FALSE;
    }
  self->state = state;
  self->value = value;
  self->error = error;
  self->finished_us = g_get_monotonic_time ();
  waiters = self->waiters;
  g_queue_init (&self->waiters);
  destroy = g_steal_pointer (&self->cancel_destroy);
  cancel_data = g_steal_pointer (&self->cancel_data);
  self->cancel_func = NULL;
  finish_func = g_steal_pointer (&self->finish_func);
  finish_data = g_steal_pointer (&self->finish_data);
  finish_destroy = g_steal_pointer (&self->finish_destroy);
  /* the client's pending value it stood for is no longer needed: a
   * finished thunk is sent as its value (it was most of what 10^5
   * finished thunks held) */
  origin = g_steal_pointer (&self->origin);
  if (self->sleepers > 0)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  while ((waiter = g_queue_pop_head (&waiters)) != NULL)
    waiter_complete (waiter, value, error);
  if (destroy != NULL)
    destroy (cancel_data);
  if (finish_func != NULL)
    finish_func (self, value, error, finish_data);
  if (finish_destroy != NULL)
    finish_destroy (finish_data);
  g_clear_pointer (&origin, rthunk_value_unref);
  dispatch (self, emit_resolved);
  return TRUE;
}

/**
 * rthunk_thunk_return_value:
 * @thunk: an unfinished thunk
 * @value: (transfer none): its value
 *
 * Finishes @thunk with @value, from any thread. A thunk that already
 * finished (say, it was cancelled) keeps what it has.
 *
 * Since: 0.1
 */
void
rthunk_thunk_return_value (RthunkThunk *thunk,
                           RthunkValue *value)
{
  g_return_if_fail (RTHUNK_IS_THUNK (thunk));
  g_return_if_fail (value != NULL);

  finish (thunk, RTHUNK_THUNK_DONE, rthunk_value_ref (value), NULL);
}

/**
 * rthunk_thunk_return_error:
 * @thunk: an unfinished thunk
 * @error: (transfer none): why it failed
 *
 * Finishes @thunk as failed (cancelled, when @error is
 * %RTHUNK_ERROR_CANCELLED), from any thread. A thunk that already finished
 * keeps what it has.
 *
 * Since: 0.1
 */
void
rthunk_thunk_return_error (RthunkThunk  *thunk,
                           const GError *error)
{
  RthunkThunkState state;

  g_return_if_fail (RTHUNK_IS_THUNK (thunk));
  g_return_if_fail (error != NULL);

  state = g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED)
        ? RTHUNK_THUNK_CANCELLED : RTHUNK_THUNK_FAILED;
  finish (thunk, state, NULL, g_error_copy (error));
}

/* A callback kept until the thunk finishes. */
typedef struct
{
  GCallback *func;
  gpointer *data;
  GDestroyNotify *destroy;
} Hook;

/* Keeps @func in @hook unless the thunk has finished; returns whether it
 * was kept. */
static gboolean
keep_hook (RthunkThunk    *self,
           Hook            hook,
           GCallback       func,
           gpointer        user_data,
           GDestroyNotify  destroy)
{
  gboolean finished;

  g_mutex_lock (&self->lock);
  finished = self->state >= RTHUNK_THUNK_DONE;
  if (!finished)
    {
      g_assert (*hook.func == NULL);
      *hook.func = func;
      *hook.data = user_data;
      *hook.destroy = destroy;
    }
  g_mutex_unlock (&self->lock);
  return !finished;
}

void
rthunk_thunk_set_cancel_func (RthunkThunk          *thunk,
                              RthunkThunkCancelFunc func,
                              gpointer              user_data,
                              GDestroyNotify        destroy)
{
  Hook hook = { (GCallback *) &thunk->cancel_func, &thunk->cancel_data, &thunk->cancel_destroy };

  if (!keep_hook (thunk, hook, G_CALLBACK (func), user_data, destroy) && destroy != NULL)
    destroy (user_data);
}

void
rthunk_thunk_set_finish_func (RthunkThunk          *thunk,
                              RthunkThunkFinishFunc func,
                              gpointer              user_data,
                              GDestroyNotify        destroy)
{
  Hook hook = { (GCallback *) &thunk->finish_func, &thunk->finish_data, &thunk->finish_destroy };

  if (keep_hook (thunk, hook, G_CALLBACK (func), user_data, destroy))
    return;
  func (thunk, thunk->value, thunk->error, user_data);
  if (destroy != NULL)
    destroy (user_data);
}

void
rthunk_thunk_take_origin (RthunkThunk *thunk,
                          RthunkValue *origin)
{
  g_mutex_lock (&thunk->lock);
  /* given once: a queued submission's may come from the flush that read
   * its reply and from the thread that queued it, in either order; a
   * finished thunk needs none */
  if (thunk->origin == NULL && thunk->state < RTHUNK_THUNK_DONE)
    thunk->origin = g_steal_pointer (&origin);
  g_mutex_unlock (&thunk->lock);
  g_clear_pointer (&origin, rthunk_value_unref);
}

/* Replaces the label, e.g. with the server that computed the value after
 * a failover; call it before the thunk finishes. The old label stays valid
 * for whoever read it. */
void
rthunk_thunk_set_label (RthunkThunk *thunk,
                        const char  *label)
{
  g_mutex_lock (&thunk->lock);
  if (thunk->old_labels == NULL)
    thunk->old_labels = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (thunk->old_labels, g_steal_pointer (&thunk->label));
  thunk->label = g_strdup (label);
  g_mutex_unlock (&thunk->lock);
}

RthunkValue *
rthunk_thunk_dup_origin (RthunkThunk *thunk)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&thunk->lock);

  return thunk->origin != NULL ? rthunk_value_ref (thunk->origin) : NULL;
}

/**
 * rthunk_thunk_cancel:
 * @thunk: a thunk
 *
 * Cancels @thunk: it finishes at once as cancelled, and a remote thunk is
 * cancelled on its server too. Nothing happens to a finished thunk.
 *
 * Since: 0.1
 */
void
rthunk_thunk_cancel (RthunkThunk *thunk)
{
  g_return_if_fail (RTHUNK_IS_THUNK (thunk));

  rthunk_thunk_cancel_with (thunk, g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                                        _("the thunk was cancelled")));
}

/* rthunk_thunk_cancel() that finishes the thunk with @error (taken). */
void
rthunk_thunk_cancel_with (RthunkThunk *thunk,
                          GError      *error)
{
  RthunkThunkCancelFunc func;
  GDestroyNotify destroy;
  gpointer data;

  g_mutex_lock (&thunk->lock);
  func = thunk->cancel_func;
  data = g_steal_pointer (&thunk->cancel_data);
  destroy = g_steal_pointer (&thunk->cancel_destroy);
  thunk->cancel_func = NULL;
  g_mutex_unlock (&thunk->lock);
  if (finish (thunk, RTHUNK_THUNK_CANCELLED, NULL, error) && func != NULL)
    func (thunk, data);
  if (destroy != NULL)
    destroy (data);
}

/* ---- waiting ---------------------------------------------------------------- */

/* What a finished thunk gives a waiter; called with the lock held. */
static RthunkValue *
result_locked (RthunkThunk  *self,
               GError      **error)
{
  if (self->value != NULL)
    return rthunk_value_ref (self->value);
  g_propagate_error (error, g_error_copy (self->error));
  return NULL;
}

static void
wake_waiters (GCancellable *cancellable,
              gpointer      data)
{
  RthunkThunk *self = data;

  g_mutex_lock (&self->lock);
  if (self->sleepers > 0)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/**
 * rthunk_thunk_wait:
 * @thunk: a thunk
 * @timeout_ms: how long to wait at most, or -1 for as long as it takes
 * @error: return location for a #GError
 *
 * Blocks until @thunk finished (any thread may wait; the main loop need not
 * run).
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set:
 *   the thunk's error, or %RTHUNK_ERROR_TIMEOUT
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_thunk_wait (RthunkThunk  *thunk,
                   gint          timeout_ms,
                   GError      **error)
{
  return rthunk_thunk_wait_full (thunk, timeout_ms, NULL, error);
}

/**
 * rthunk_thunk_wait_full:
 * @thunk: a thunk
 * @timeout_ms: how long to wait at most, or -1 for as long as it takes
 * @cancellable: (nullable): stops the wait (not the thunk) when cancelled
 * @error: return location for a #GError
 *
 * Like rthunk_thunk_wait(), and stops waiting with
 * %RTHUNK_ERROR_CANCELLED when @cancellable is cancelled.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_thunk_wait_full (RthunkThunk   *thunk,
                        gint           timeout_ms,
                        GCancellable  *cancellable,
                        GError       **error)
{
  gint64 deadline = timeout_ms >= 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  gulong handler = 0;
  RthunkValue *result = NULL;
  gboolean finished;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  /* finished already (an awaited remote form, read by the flush before
   * its wait): nothing to hook to @cancellable */
  g_mutex_lock (&thunk->lock);
  if (thunk->state >= RTHUNK_THUNK_DONE)
    {
      result = result_locked (thunk, error);
      g_mutex_unlock (&thunk->lock);
      return result;
    }
  g_mutex_unlock (&thunk->lock);
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_waiters), thunk, NULL);
  g_mutex_lock (&thunk->lock);
  thunk->sleepers++;
  while (!(finished = thunk->state >= RTHUNK_THUNK_DONE) &&
         !g_cancellable_is_cancelled (cancellable))
    {
      if (deadline == 0)
        g_cond_wait (&thunk->cond, &thunk->lock);
      else if (!g_cond_wait_until (&thunk->cond, &thunk->lock, deadline))
        break;
    }
  thunk->sleepers--;
  if (finished)
    result = result_locked (thunk, error);
  g_mutex_unlock (&thunk->lock);
  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  if (finished)
    return result;
  if (g_cancellable_is_cancelled (cancellable))
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("stopped waiting for %s"), label_of (thunk));
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                 _("%s did not finish within %d ms"), label_of (thunk), timeout_ms);
  return NULL;
}

/**
 * rthunk_thunk_wait_async:
 * @thunk: a thunk
 * @cancellable: (nullable): stops the wait (not the thunk) when cancelled
 * @callback: (scope async) (closure user_data): called when @thunk finished,
 *   in the thread default main context of the caller
 * @user_data: data for @callback
 *
 * Waits for @thunk without blocking. Finish with rthunk_thunk_wait_finish().
 *
 * Since: 0.1
 */
void
rthunk_thunk_wait_async (RthunkThunk         *thunk,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter *waiter;
  gboolean finished;

  g_return_if_fail (RTHUNK_IS_THUNK (thunk));

  task = g_task_new (thunk, cancellable, callback, user_data);
  g_task_set_source_tag (task, rthunk_thunk_wait_async);
  waiter = g_atomic_rc_box_new0 (Waiter);
  g_weak_ref_init (&waiter->thunk, thunk);
  waiter->task = g_object_ref (task);
  g_mutex_lock (&thunk->lock);
  finished = thunk->state >= RTHUNK_THUNK_DONE;
  if (!finished)
    g_queue_push_tail (&thunk->waiters, waiter);
  g_mutex_unlock (&thunk->lock);
  if (finished)
    {
      waiter_complete (waiter, thunk->value, thunk->error);
      return;
    }
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (waiter_cancelled), waiter_ref (waiter),
                           (GDestroyNotify) waiter_unref);
}

/**
 * rthunk_thunk_wait_finish:
 * @thunk: a thunk
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes rthunk_thunk_wait_async().
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_thunk_wait_finish (RthunkThunk   *thunk,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, thunk), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rthunk_thunk_wait_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- as a value --------------------------------------------------------------- */

void
rthunk_thunk_set_block_hook (const RthunkBlockHook *hook)
{
  g_private_set (&block_hook, (gpointer) hook);
}

static RthunkValue *
force_thunk (gpointer   handle,
             GError   **error)
{
  RthunkThunk *self = handle;
  const RthunkBlockHook *hook = g_private_get (&block_hook);
  RthunkValue *value;

  if (hook == NULL || rthunk_thunk_is_finished (self))
    return rthunk_thunk_wait_full (self, -1, NULL, error);
  hook->before (hook->data, self);
  value = rthunk_thunk_wait_full (self, -1, hook->cancellable, error);
  hook->after (hook->data, self);
  return value;
}

/**
 * rthunk_thunk_to_value:
 * @thunk: a thunk
 *
 * The pending value that stands for @thunk in the language: it prints as
 * `<pending LABEL>`, and forcing it (rthunk_value_force()) waits for the
 * thunk.
 *
 * Returns: (transfer full): a new pending value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_thunk_to_value (RthunkThunk *thunk)
{
  const char *label;

  g_return_val_if_fail (RTHUNK_IS_THUNK (thunk), NULL);

  /* the label, not a copy: a replaced label is kept until the thunk is
   * finalized (rthunk_thunk_set_label()), and the value holds the thunk */
  g_mutex_lock (&thunk->lock);
  label = label_of (thunk);
  g_mutex_unlock (&thunk->lock);
  return rthunk_value_new_pending_borrowing (label, g_object_ref (thunk), force_thunk, g_object_unref);
}

/**
 * rthunk_thunk_get_from_value:
 * @value: a value
 *
 * Finds the thunk behind a pending value.
 *
 * Returns: (transfer none) (nullable): the thunk @value stands for, when it
 *   was made by rthunk_thunk_to_value(), else %NULL
 *
 * Since: 0.1
 */
RthunkThunk *
rthunk_thunk_get_from_value (RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);

  if (!rthunk_value_peek_pending (value) || value->u.handle.force != force_thunk)
    return NULL;
  return value->u.handle.data;
}
