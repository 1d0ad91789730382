/* rthunk-thunk-table.c — the server's thunks by id
 *
 * One lock guards the table and the state of every entry. A thread that
 * waits for thunks (thunkAwait, a submission with an inline budget) is a
 * waiter registered on each of those entries: a finishing thunk wakes its
 * own waiters and nobody else, and a waiter whose connection hung up
 * leaves within WAITER_CHECK_MS. A condition broadcast when any thunk
 * finishes serves only the drain (wait_idle). Finished thunks are remembered in
 * the order they finished, and the oldest are forgotten beyond a bound.
 * Ids are 16 random bytes from the kernel: not guessable, not reused across
 * restarts.
 *
 * With a server budget, a finished thunk's value is charged (its real
 * size, rthunk_value_measure()) before it is kept, and released when the
 * table forgets it. When the budget needs room, the table gives up the
 * values of the oldest finished thunks: each then reads FAILED with the
 * reason that its value expired.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <poll.h>
#include <string.h>

#include "rthunk-thunk-table.h"
#include "rthunk-budget.h"
#include "rthunk-conn-account.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

G_STATIC_ASSERT (RTHUNK_THUNK_ID_LEN == RTHUNK_ID_LEN);
/* glibc's malloc serves 184 bytes from a 192-byte chunk, 185 from 208:
 * a field more costs 2.3 MiB for 150,000 finished thunks */
G_STATIC_ASSERT (GLIB_SIZEOF_VOID_P != 8 || sizeof (RthunkThunkEntry) <= 184);

/* How often a waiter looks whether its connection hung up. */
#define WAITER_CHECK_MS 100

/* A thread waiting for some thunks to finish (table lock). */
typedef struct
{
  GCond cond;
  gboolean woken;               /* one of its thunks finished */
} Waiter;

struct _RthunkThunkTable
{
  GMutex lock;
  GCond finished_cond;
  guint waiters;                /* threads in wait_idle() */
  guint registrations;          /* (thunk, waiter) pairs: the `waiters` gauge */
  GHashTable *wait_lists;       /* entry → GSList of Waiter: who waits for it */
  GHashTable *entries;          /* id (GBytes) → entry */
  GQueue finished;              /* entries, oldest first */
  GQueue unfinished_queue;      /* queued and running entries, oldest first: what the dashboard lists */
  guint max_finished;
  gint64 ttl_us;
  gint unfinished;               /* (atomic) changed under the lock, read
                                   without it by every submission */
  gboolean closing;             /* wakes every waiter for good */
  GError *shutdown;             /* set by cancel_all: why what is left stops */
  RthunkBudget *budget;         /* (nullable) charged for the values kept */
};

/* Drops @entry's value and releases its charge (table lock held). */
static void
forget_value_locked (RthunkThunkTable *table,
                     RthunkThunkEntry *entry)
{
  if (table->budget != NULL && entry->value_bytes > 0)
    rthunk_budget_release (table->budget, entry->value_bytes);
  entry->value_bytes = 0;
  g_clear_pointer (&entry->value, rthunk_value_unref);
}

/* Forgets a finished entry for good (table lock held). */
static void
forget_finished_locked (RthunkThunkTable *table,
                        RthunkThunkEntry *entry)
{
  g_queue_unlink (&table->finished, &entry->link);
  forget_value_locked (table, entry);
  g_hash_table_remove (table->entries, entry->id);
}

static void
entry_clear (RthunkThunkEntry *entry)
{
  g_clear_pointer (&entry->expr, rthunk_node_unref);
  g_clear_pointer (&entry->inputs, g_hash_table_unref);
  g_clear_pointer (&entry->type, rthunk_type_unref);
  g_clear_pointer (&entry->value, rthunk_value_unref);
  g_clear_error (&entry->error);
  g_clear_object (&entry->cancellable);
  g_clear_pointer (&entry->definitions, g_ptr_array_unref);
  g_clear_pointer (&entry->def_names, g_hash_table_unref);
  g_clear_pointer (&entry->thunk_inputs, g_hash_table_unref);
  g_free (entry->cache_key);
  g_clear_pointer (&entry->owner, rthunk_conn_account_unref);
}

/* With its own counter, not a g_atomic_rc_box: the box's header of 32
 * bytes made 4.6 MiB for 150,000 finished thunks held. */
RTHUNK_DEFINE_REF_COUNT_REFS (RthunkThunkEntry, rthunk_thunk_entry, entry_clear)

static guint
id_hash (gconstpointer key)
{
  guint hash;

  memcpy (&hash, key, sizeof hash);     /* the ids are random already */
  return hash;
}

static gboolean
id_equal (gconstpointer a,
          gconstpointer b)
{
  return memcmp (a, b, RTHUNK_THUNK_ID_LEN) == 0;
}

RthunkThunkTable *
rthunk_thunk_table_new (guint max_finished,
                        guint ttl_ms)
{
  RthunkThunkTable *table = g_new0 (RthunkThunkTable, 1);

  g_mutex_init (&table->lock);
  g_cond_init (&table->finished_cond);
  /* keys point into the entries they map to */
  table->entries = g_hash_table_new_full (id_hash, id_equal, NULL,
                                          (GDestroyNotify) rthunk_thunk_entry_unref);
  g_queue_init (&table->finished);
  g_queue_init (&table->unfinished_queue);
  table->wait_lists = g_hash_table_new (NULL, NULL);
  table->max_finished = MAX (max_finished, 1);
  table->ttl_us = (gint64) MAX (ttl_ms, 1) * 1000;
  return table;
}

void
rthunk_thunk_table_free (RthunkThunkTable *table)
{
  while (table->finished.length > 0)
    forget_finished_locked (table, g_queue_peek_head (&table->finished));
  g_hash_table_unref (table->entries);
  g_hash_table_unref (table->wait_lists);
  g_clear_error (&table->shutdown);
  g_mutex_clear (&table->lock);
  g_cond_clear (&table->finished_cond);
  g_free (table);
}


/* A new PENDING entry; the table holds one reference, the caller another.
 * @proposed_id, when not %NULL, is the id the client chose for it (so it
 * could name the thunk in further requests before this one was answered):
 * %NULL is returned when another thunk already has it. @owner, if any, is
 * the account of the connection that submits it: it counts the thunk
 * until it finishes. */
RthunkThunkEntry *
rthunk_thunk_table_add (RthunkThunkTable *table,
                        RthunkNode       *expr,
                        GHashTable       *inputs,
                        RthunkType       *type,
                        const guint8     *proposed_id,
                        RthunkConnAccount *owner)
{
  RthunkThunkEntry *entry = g_new0 (RthunkThunkEntry, 1);

  g_atomic_ref_count_init (&entry->ref_count);
  entry->state = RTHUNK_THUNK_PENDING;
  entry->expr = rthunk_node_ref (expr);
  entry->inputs = inputs != NULL ? g_hash_table_ref (inputs) : NULL;
  entry->type = type != NULL ? rthunk_type_ref (type) : NULL;
  entry->submitted_us = g_get_monotonic_time ();
  g_mutex_lock (&table->lock);
  if (proposed_id != NULL && g_hash_table_contains (table->entries, proposed_id))
    {
      g_mutex_unlock (&table->lock);
      rthunk_thunk_entry_unref (entry);
      return NULL;
    }
  if (proposed_id != NULL)
    memcpy (entry->id, proposed_id, RTHUNK_THUNK_ID_LEN);
  else
    do
      rthunk_random_id (entry->id);
    while (g_hash_table_contains (table->entries, entry->id));
  /* the table's reference; the caller keeps the first */
  g_hash_table_insert (table->entries, entry->id, rthunk_thunk_entry_ref (entry));
  g_atomic_int_inc (&table->unfinished);
  entry->link.data = entry;
  g_queue_push_tail_link (&table->unfinished_queue, &entry->link);
  if (owner != NULL)
    {
      entry->owner = rthunk_conn_account_ref (owner);
      g_atomic_int_inc (&owner->unfinished);
    }
  g_mutex_unlock (&table->lock);
  return entry;
}

/* Forgets an entry that was never queued (its submission failed). */
void
rthunk_thunk_table_remove (RthunkThunkTable *table,
                           RthunkThunkEntry *entry)
{
  g_mutex_lock (&table->lock);
  if (entry->state <= RTHUNK_THUNK_RUNNING)
    {
      g_atomic_int_add (&table->unfinished, -1);
      g_queue_unlink (&table->unfinished_queue, &entry->link);
      if (entry->owner != NULL)
        g_atomic_int_add (&entry->owner->unfinished, -1);
      g_hash_table_remove (table->entries, entry->id);
    }
  else
    forget_finished_locked (table, entry);
  g_mutex_unlock (&table->lock);
}

RthunkThunkEntry *
rthunk_thunk_table_lookup (RthunkThunkTable *table,
                           const guint8     *id,
                           gsize             len)
{
  RthunkThunkEntry *entry = NULL;

  if (id == NULL || len != RTHUNK_THUNK_ID_LEN)
    return NULL;
  g_mutex_lock (&table->lock);
  entry = g_hash_table_lookup (table->entries, id);
  if (entry != NULL)
    rthunk_thunk_entry_ref (entry);
  /* someone besides its submitter may want it: it outlives its submitter */
  if (entry != NULL && entry->owner != rthunk_conn_account_get_current ())
    entry->named_elsewhere = TRUE;
  g_mutex_unlock (&table->lock);
  return entry;
}

static void finish_locked (RthunkThunkTable *table, RthunkThunkEntry *entry, RthunkThunkState state);

/* The cancellable that stops @entry's evaluation (transfer full): made
 * the first time it is asked for, cancelled already if the thunk was
 * cancelled before (or the table shut down). A thunk evaluated inline, a
 * few steps in the connection's thread, never has one: a GObject per
 * thunk costs more than such an evaluation. */
GCancellable *
rthunk_thunk_table_get_cancellable (RthunkThunkTable *table,
                                    RthunkThunkEntry *entry)
{
  GCancellable *cancellable;
  gboolean cancel;

  g_mutex_lock (&table->lock);
  if (entry->cancellable == NULL)
    entry->cancellable = g_cancellable_new ();
  cancellable = g_object_ref (entry->cancellable);
  cancel = entry->cancel_asked || table->shutdown != NULL;
  g_mutex_unlock (&table->lock);
  if (cancel)
    g_cancellable_cancel (cancellable);
  return cancellable;
}

/* PENDING → RUNNING; FALSE if it was cancelled while queued, or is
 * cancelled now because the table was shut down. */
gboolean
rthunk_thunk_table_start (RthunkThunkTable *table,
                          RthunkThunkEntry *entry)
{
  gboolean started;

  g_mutex_lock (&table->lock);
  if (entry->state == RTHUNK_THUNK_PENDING && table->shutdown != NULL)
    {
      entry->error = g_error_copy (table->shutdown);
      finish_locked (table, entry, RTHUNK_THUNK_CANCELLED);
    }
  started = entry->state == RTHUNK_THUNK_PENDING;
  if (started)
    {
      entry->state = RTHUNK_THUNK_RUNNING;
      entry->started_us = g_get_monotonic_time ();
    }
  g_mutex_unlock (&table->lock);
  return started;
}

/* Wakes the waiters of @entry, and only them (table lock held). */
static void
wake_waiters_locked (RthunkThunkTable *table,
                     RthunkThunkEntry *entry)
{
  for (GSList *l = g_hash_table_lookup (table->wait_lists, entry); l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;

      waiter->woken = TRUE;
      g_cond_signal (&waiter->cond);
    }
}

static void
finish_locked (RthunkThunkTable *table,
               RthunkThunkEntry *entry,
               RthunkThunkState  state)
{
  /* a finished thunk keeps only what thunkGet reports, and the head of
   * its expression for the dashboard and the log: the rest of the
   * expression, its inputs and its definitions go now, not when it
   * expires */
  if (entry->expr != NULL)
    {
      RthunkNode *expr = entry->expr;

      entry->expr = rthunk_node_ref (rthunk_node_get_kind (expr) == RTHUNK_NODE_LIST &&
                                     rthunk_node_get_n_items (expr) > 0
                                     ? rthunk_node_get_item (expr, 0) : expr);
      rthunk_node_unref (expr);
    }
  g_clear_pointer (&entry->inputs, g_hash_table_unref);
  g_clear_pointer (&entry->definitions, g_ptr_array_unref);
  g_clear_pointer (&entry->def_names, g_hash_table_unref);
  g_clear_object (&entry->cancellable);
  entry->state = state;
  entry->finished_us = g_get_monotonic_time ();
  g_atomic_int_add (&table->unfinished, -1);
  g_queue_unlink (&table->unfinished_queue, &entry->link);
  if (entry->owner != NULL)
    g_atomic_int_add (&entry->owner->unfinished, -1);
  g_clear_pointer (&entry->cache_key, g_free);
  g_queue_push_tail_link (&table->finished, &entry->link);
  /* forget the oldest beyond the bound, and those past their time */
  while (table->finished.length > 0)
    {
      RthunkThunkEntry *old = g_queue_peek_head (&table->finished);

      if (table->finished.length <= table->max_finished &&
          entry->finished_us - old->finished_us < table->ttl_us)
        break;
      forget_finished_locked (table, old);
    }
  wake_waiters_locked (table, entry);
  /* GLib's broadcast is a system call even when nobody waits */
  if (table->waiters > 0)
    g_cond_broadcast (&table->finished_cond);
}

/* RUNNING → DONE with @value, or FAILED with @error (CANCELLED if the
 * error says so). */
void
rthunk_thunk_table_finish (RthunkThunkTable *table,
                           RthunkThunkEntry *entry,
                           RthunkValue      *value,
                           const GError     *error)
{
  g_autoptr(GError) refused = NULL;
  RthunkThunkState state;
  gsize bytes = 0;

  /* charged before the lock: the budget may ask this table for room */
  if (value != NULL && table->budget != NULL &&
      !rthunk_budget_charge (table->budget, bytes = rthunk_value_measure (value)))
    {
      rthunk_budget_set_error (table->budget, &refused, RTHUNK_ERROR_LIMIT_EXCEEDED,
                               _("the thunk's value"), bytes);
      value = NULL;
      error = refused;
      bytes = 0;
    }
  g_mutex_lock (&table->lock);
  if (entry->state > RTHUNK_THUNK_RUNNING)
    {
      g_mutex_unlock (&table->lock);
      if (bytes > 0)
        rthunk_budget_release (table->budget, bytes);
      return;
    }
  if (value != NULL)
    {
      entry->value = rthunk_value_ref (value);
      entry->value_bytes = bytes;
      state = RTHUNK_THUNK_DONE;
    }
  else
    {
      state = g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED)
        ? RTHUNK_THUNK_CANCELLED : RTHUNK_THUNK_FAILED;
      /* stopped by cancel_all: say why, not just "cancelled" */
      entry->error = g_error_copy (state == RTHUNK_THUNK_CANCELLED && table->shutdown != NULL
                                   ? table->shutdown : error);
    }
  finish_locked (table, entry, state);
  g_mutex_unlock (&table->lock);
}

/* Cancels an unfinished thunk: a queued one at once, a running one at its
 * next step. Returns whether it was unfinished. */
gboolean
rthunk_thunk_table_cancel (RthunkThunkTable *table,
                           RthunkThunkEntry *entry,
                           gboolean         *finished_now)
{
  g_autoptr(GCancellable) cancellable = NULL;
  gboolean unfinished;

  g_mutex_lock (&table->lock);
  unfinished = entry->state <= RTHUNK_THUNK_RUNNING;
  *finished_now = entry->state == RTHUNK_THUNK_PENDING;
  /* finishing drops it: hold it until it is cancelled */
  if (unfinished && entry->cancellable != NULL)
    cancellable = g_object_ref (entry->cancellable);
  else if (unfinished)
    entry->cancel_asked = TRUE;
  if (entry->state == RTHUNK_THUNK_PENDING)
    {
      entry->error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                          _("the thunk was cancelled"));
      finish_locked (table, entry, RTHUNK_THUNK_CANCELLED);
    }
  g_mutex_unlock (&table->lock);
  if (cancellable != NULL)
    g_cancellable_cancel (cancellable);
  return unfinished;
}

static guint
count_finished (RthunkThunkEntry **entries,
                guint              n_entries)
{
  guint n = 0;

  for (guint k = 0; k < n_entries; k++)
    if (entries[k]->state > RTHUNK_THUNK_RUNNING)
      n++;
  return n;
}

/* Registers @waiter on every entry of @entries (table lock held). */
static void
add_waiter_locked (RthunkThunkTable  *table,
                   Waiter            *waiter,
                   RthunkThunkEntry **entries,
                   guint              n_entries)
{
  for (guint k = 0; k < n_entries; k++)
    {
      GSList *list = g_hash_table_lookup (table->wait_lists, entries[k]);

      g_hash_table_insert (table->wait_lists, entries[k], g_slist_prepend (list, waiter));
    }
  table->registrations += n_entries;
}

/* Takes @waiter off every entry of @entries (table lock held). */
static void
remove_waiter_locked (RthunkThunkTable  *table,
                      Waiter            *waiter,
                      RthunkThunkEntry **entries,
                      guint              n_entries)
{
  for (guint k = 0; k < n_entries; k++)
    {
      GSList *list = g_slist_remove (g_hash_table_lookup (table->wait_lists, entries[k]), waiter);

      if (list == NULL)
        g_hash_table_remove (table->wait_lists, entries[k]);
      else
        g_hash_table_insert (table->wait_lists, entries[k], list);
    }
  table->registrations -= n_entries;
}

/* @entries without repeats: a waiter registers once on each thunk, however
 * often its call names it. (A thunkAwait naming one id 4096 times made
 * that thunk's wait list 4096 long per call, and taking 200 such callers
 * off it, under the table lock, took hours: the server stopped answering
 * once they hung up.) */
static GPtrArray *
distinct_entries (RthunkThunkEntry **entries,
                  guint              n_entries)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  GPtrArray *distinct = g_ptr_array_sized_new (n_entries);

  for (guint k = 0; k < n_entries; k++)
    if (g_hash_table_add (seen, entries[k]))
      g_ptr_array_add (distinct, entries[k]);
  return distinct;
}

/* Waits until at least one of @named is finished, @deadline_us
 * (monotonic) passes or the connection of @account (nullable) hangs up;
 * returns how many distinct ones are finished. Only a thunk of @named
 * finishing wakes it. */
guint
rthunk_thunk_table_wait_any (RthunkThunkTable  *table,
                             RthunkThunkEntry **named,
                             guint              n_named,
                             gint64             deadline_us,
                             RthunkConnAccount *account)
{
  /* one thunk (an inline submission, an input): nothing to allocate */
  g_autoptr(GPtrArray) distinct = n_named > 1 ? distinct_entries (named, n_named) : NULL;
  RthunkThunkEntry **entries = distinct != NULL ? (RthunkThunkEntry **) distinct->pdata : named;
  guint n_entries = distinct != NULL ? distinct->len : n_named;
  Waiter waiter = { 0, };
  guint n;

  g_mutex_lock (&table->lock);
  if ((n = count_finished (entries, n_entries)) > 0 || table->closing)
    {
      g_mutex_unlock (&table->lock);
      return n;
    }
  g_cond_init (&waiter.cond);
  add_waiter_locked (table, &waiter, entries, n_entries);
  while (!waiter.woken && !table->closing)
    {
      gint64 check_us = g_get_monotonic_time () + WAITER_CHECK_MS * 1000;

      if (!g_cond_wait_until (&waiter.cond, &table->lock, MIN (deadline_us, check_us)) &&
          (g_get_monotonic_time () >= deadline_us ||
           (account != NULL && rthunk_conn_account_hung_up (account))))
        break;
    }
  remove_waiter_locked (table, &waiter, entries, n_entries);
  n = count_finished (entries, n_entries);
  g_mutex_unlock (&table->lock);
  g_cond_clear (&waiter.cond);
  return n;
}

/* The `waiters` gauge: thunks awaited right now, counted once per
 * waiting call that names them. */
guint
rthunk_thunk_table_count_waiters (RthunkThunkTable *table)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&table->lock);

  return table->registrations;
}

RthunkThunkState
rthunk_thunk_table_get_state (RthunkThunkTable *table,
                              RthunkThunkEntry *entry)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&table->lock);

  return entry->state;
}

guint
rthunk_thunk_table_count_unfinished (RthunkThunkTable *table)
{
  /* no lock: every submission asks, and one more or less is no matter */
  return (guint) g_atomic_int_get (&table->unfinished);
}

/* Waits until no thunk is queued or running, or @deadline_us (monotonic)
 * passes; returns whether none is. */
gboolean
rthunk_thunk_table_wait_idle (RthunkThunkTable *table,
                              gint64            deadline_us)
{
  gboolean idle;

  g_mutex_lock (&table->lock);
  table->waiters++;
  while (g_atomic_int_get (&table->unfinished) > 0 &&
         g_cond_wait_until (&table->finished_cond, &table->lock, deadline_us))
    ;
  table->waiters--;
  idle = g_atomic_int_get (&table->unfinished) == 0;
  g_mutex_unlock (&table->lock);
  return idle;
}

/* Cancels every unfinished thunk, and every one added later, for good:
 * each ends CANCELLED with @reason (a queued one when a worker takes it, a
 * running one at its next step). Returns how many were unfinished. */
guint
rthunk_thunk_table_cancel_all (RthunkThunkTable *table,
                               const GError     *reason)
{
  /* their cancellables, held: an entry drops its own when it finishes */
  g_autoptr(GPtrArray) unfinished = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer entry;
  guint n = 0;

  g_mutex_lock (&table->lock);
  if (table->shutdown == NULL)
    table->shutdown = g_error_copy (reason);
  g_hash_table_iter_init (&iter, table->entries);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    {
      RthunkThunkEntry *e = entry;

      if (e->state > RTHUNK_THUNK_RUNNING)
        continue;
      n++;
      if (e->cancellable != NULL)
        g_ptr_array_add (unfinished, g_object_ref (e->cancellable));
      else
        e->cancel_asked = TRUE;
    }
  g_mutex_unlock (&table->lock);
  for (guint k = 0; k < unfinished->len; k++)
    g_cancellable_cancel (g_ptr_array_index (unfinished, k));
  return n;
}

/* The connection of @owner is gone: cancels its unfinished thunks that no
 * other connection (nor a peer server) has looked up, since nobody can
 * fetch them any more (their ids went with the connection). Finished ones
 * stay until their TTL: a client that reconnects may still fetch them.
 * Returns how many were cancelled while queued (those running stop at
 * their next step and are counted as they end). */
guint
rthunk_thunk_table_cancel_orphans (RthunkThunkTable  *table,
                                   RthunkConnAccount *owner)
{
  g_autoptr(GPtrArray) orphans = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  GHashTableIter iter;
  gpointer entry;
  guint queued = 0;

  if (g_atomic_int_get (&owner->unfinished) == 0)
    return 0;
  g_mutex_lock (&table->lock);
  g_hash_table_iter_init (&iter, table->entries);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    {
      RthunkThunkEntry *e = entry;

      if (e->owner == owner && e->state <= RTHUNK_THUNK_RUNNING && !e->named_elsewhere)
        g_ptr_array_add (orphans, rthunk_thunk_entry_ref (e));
    }
  g_mutex_unlock (&table->lock);
  for (guint k = 0; k < orphans->len; k++)
    {
      gboolean finished_now;

      rthunk_thunk_table_cancel (table, g_ptr_array_index (orphans, k), &finished_now);
      queued += finished_now;
    }
  return queued;
}

/* Wakes every waiter now and makes later waits return at once: the server
 * is stopping. */
void
rthunk_thunk_table_close (RthunkThunkTable *table)
{
  GHashTableIter iter;
  gpointer list;

  g_mutex_lock (&table->lock);
  table->closing = TRUE;
  g_hash_table_iter_init (&iter, table->wait_lists);
  while (g_hash_table_iter_next (&iter, NULL, &list))
    for (GSList *l = list; l != NULL; l = l->next)
      g_cond_signal (&((Waiter *) l->data)->cond);
  g_cond_broadcast (&table->finished_cond);
  g_mutex_unlock (&table->lock);
}

/* The state of @entry and, when DONE, a new reference to its value in
 * *@value (read together: the budget may take a value away). */
RthunkThunkState
rthunk_thunk_table_get_outcome (RthunkThunkTable  *table,
                                RthunkThunkEntry  *entry,
                                RthunkValue      **value)
{
  RthunkThunkState state;

  g_mutex_lock (&table->lock);
  state = entry->state;
  *value = state == RTHUNK_THUNK_DONE ? rthunk_value_ref (entry->value) : NULL;
  g_mutex_unlock (&table->lock);
  return state;
}

/* Gives up the values of the oldest finished thunks until @wanted bytes
 * are released; each of those thunks now reads FAILED, its value
 * expired. An RthunkBudgetEvictFunc. */
static gsize
evict_values (gpointer data,
              gsize    wanted)
{
  RthunkThunkTable *table = data;
  gsize freed = 0;

  g_mutex_lock (&table->lock);
  for (GList *l = table->finished.head; l != NULL && freed < wanted; l = l->next)
    {
      RthunkThunkEntry *entry = l->data;

      if (entry->value_bytes == 0)
        continue;
      freed += entry->value_bytes;
      forget_value_locked (table, entry);
      entry->state = RTHUNK_THUNK_FAILED;
      entry->error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                          _("the thunk's value expired: the server evicted it to stay "
                                            "within its memory budget (--max-memory)"));
    }
  g_mutex_unlock (&table->lock);
  return freed;
}

/* Charges @budget (which outlives the table) for the values kept from now
 * on, and lets it evict them. */
void
rthunk_thunk_table_set_budget (RthunkThunkTable *table,
                               RthunkBudget     *budget)
{
  table->budget = budget;
  rthunk_budget_add_evictor (budget, evict_values, table);
}

static void
clear_view (gpointer data)
{
  RthunkThunkView *view = data;

  rthunk_thunk_entry_unref (view->entry);
  g_clear_pointer (&view->expr, rthunk_node_unref);
}

static void
add_view_locked (GArray           *views,
                 RthunkThunkEntry *entry)
{
  RthunkThunkView view = {
    rthunk_thunk_entry_ref (entry), entry->expr != NULL ? rthunk_node_ref (entry->expr) : NULL,
    entry->state, entry->started_us, entry->state >= RTHUNK_THUNK_DONE ? entry->finished_us : 0,
  };

  g_array_append_val (views, view);
}

/**
 * rthunk_thunk_table_list: (skip)
 * @table: a table
 * @max_finished: how many of the latest finished thunks to include
 *
 * What the dashboard shows: every queued and running thunk, oldest
 * first, then the latest @max_finished finished ones, newest first, each
 * with its state and times as they were at one instant. The lock is held
 * for those entries only, never for the whole table.
 *
 * Returns: (transfer full): an array of #RthunkThunkView, which frees its
 *   references with itself
 */
GArray *
rthunk_thunk_table_list (RthunkThunkTable *table,
                         guint             max_finished)
{
  GArray *views = g_array_new (FALSE, FALSE, sizeof (RthunkThunkView));
  guint n = 0;

  g_array_set_clear_func (views, clear_view);
  g_mutex_lock (&table->lock);
  for (GList *l = table->unfinished_queue.head; l != NULL; l = l->next)
    add_view_locked (views, l->data);
  for (GList *l = table->finished.tail; l != NULL && n < max_finished; l = l->prev, n++)
    add_view_locked (views, l->data);
  g_mutex_unlock (&table->lock);
  return views;
}
