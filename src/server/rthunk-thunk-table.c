/* rthunk-thunk-table.c — the server's thunks by id
 *
 * The table is cut into shards by id: each shard is a lock, a hash table
 * of its thunks, its queued and running thunks in the order they came,
 * its finished ones in the order they finished, and its share of
 * --max-thunks. A thunk's state and fields are guarded by its shard's
 * lock, so submissions on different connections take different locks
 * (one lock for the whole table made rthunkd's connection threads queue
 * on it, bench/README.md, "The thunk table's shards"). A thunk's shard
 * is a keyed hash of all of its id (a client that chooses ids cannot aim
 * at one shard, nor make them collide in a shard's hash table); only a table of --max-thunks ≥ 2 × MIN_SHARE is sharded, so a
 * small bound stays exact (rthunk_thunk_table_n_shards()).
 *
 * What spans the shards is kept without their locks: the count of
 * unfinished thunks and of waiters (atomics), the shutdown reason (set
 * once), and the drain's condition (its own lock, taken only while the
 * drain waits). A thread that waits for thunks (thunkAwait, a submission
 * with an inline budget) is a waiter with its own lock and condition,
 * registered on each of those entries in the entry's shard: a finishing
 * thunk wakes its own waiters and nobody else, and a waiter whose
 * connection hung up leaves within WAITER_CHECK_MS. Lock order: a shard,
 * then a waiter or the drain's lock; two shards only in index order (the
 * budget's eviction and nothing else holds more than one).
 *
 * Finished thunks are remembered in the order they finished in their
 * shard, and the oldest of a shard are forgotten beyond its share of
 * --max-thunks, or once older than --thunk-ttl-ms (and a lookup never
 * finds one that is). Ids are 16 random bytes from the kernel: not
 * guessable, not reused across restarts.
 *
 * With a server budget, a finished thunk's value is charged (its real
 * size, rthunk_value_measure()) before it is kept, and released when the
 * table forgets it. When the budget needs room, the table gives up the
 * values of the oldest finished thunks, across the shards: each then
 * reads FAILED with the reason that its value expired.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

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

/* The most shards a table is cut into (a power of two). */
#define MAX_SHARDS 64

/* The fewest finished thunks a shard keeps: a table is cut into shards
 * only while each keeps at least this many (see
 * rthunk_thunk_table_n_shards()). */
#define MIN_SHARE 1024

/* A thread waiting for some thunks to finish. Registered in the shards
 * of those thunks; woken under a shard's lock, then its own. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean woken;               /* (lock) one of its thunks finished */
} Waiter;

/* A part of the table: the thunks whose id hashes to it. Aligned to a
 * cache line, so that two shards' locks never share one. */
typedef struct
{
  _Alignas (64) GMutex lock;
  GHashTable *entries;          /* id → entry (the key points into the entry) */
  GHashTable *wait_lists;       /* entry → GSList of Waiter: who waits for it */
  GQueue finished;              /* entries, oldest first */
  GQueue unfinished_queue;      /* queued and running entries, oldest first: what the dashboard lists */
  guint max_finished;           /* its share of the table's bound */
  gint registrations;           /* (atomic, changed under lock) (thunk, waiter) pairs here */
} Shard;

struct _RthunkThunkTable
{
  Shard *shards;                /* n_shards of them, in one aligned block */
  guint n_shards;               /* a power of two */
  gint64 ttl_us;
  gint unfinished;              /* (atomic) read without a lock by every submission */
  gint closing;                 /* (atomic) wakes every waiter for good */
  GError *shutdown;             /* (atomic) set once by cancel_all: why what is left stops */
  RthunkBudget *budget;         /* (nullable) charged for the values kept */
  GMutex idle_lock;             /* the drain's: wait_idle() */
  GCond idle_cond;
  gint idle_waiters;            /* (atomic) threads in wait_idle() */
};

/* The process's two random keys of id_hash64(), set by the first table. */
static guint64 id_keys[2];

static void
init_id_keys (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      guint8 bytes[RTHUNK_ID_LEN];

      G_STATIC_ASSERT (sizeof bytes >= sizeof id_keys);
      rthunk_random_id (bytes);
      memcpy (id_keys, bytes, sizeof id_keys);
      g_once_init_leave (&once, 1);
    }
}

/* A bijection of 64 bits whose every output bit depends on every input
 * bit (two multiply-xorshift rounds). */
static inline guint64
mix64 (guint64 x)
{
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return x;
}

/* A hash of all 16 bytes of @id, keyed by the process's random keys: a
 * client may propose its thunks' ids (EvalRequest.thunkId), and must not
 * be able to choose ids that go to one shard, or that collide in a
 * shard's hash table. */
static inline guint64
id_hash64 (const guint8 *id)
{
  guint64 lo, hi;

  memcpy (&lo, id, sizeof lo);
  memcpy (&hi, id + 8, sizeof hi);
  return mix64 (lo ^ id_keys[0]) + mix64 (hi ^ id_keys[1]);
}

/* The shard of @id: the top bits of its keyed hash (a shard's hash table
 * uses the low ones). */
static inline Shard *
shard_of (RthunkThunkTable *table,
          const guint8     *id)
{
  return &table->shards[(id_hash64 (id) >> 58) & (table->n_shards - 1)];
}

/* Drops @entry's value and releases its charge (shard lock held). */
static void
forget_value_locked (RthunkThunkTable *table,
                     RthunkThunkEntry *entry)
{
  if (table->budget != NULL && entry->value_bytes > 0)
    rthunk_budget_release (table->budget, entry->value_bytes);
  entry->value_bytes = 0;
  g_clear_pointer (&entry->value, rthunk_value_unref);
}

/* Forgets a finished entry for good (shard lock held). */
static void
forget_finished_locked (RthunkThunkTable *table,
                        Shard            *shard,
                        RthunkThunkEntry *entry)
{
  g_queue_unlink (&shard->finished, &entry->link);
  forget_value_locked (table, entry);
  g_hash_table_remove (shard->entries, entry->id);
}

/* Whether a finished @entry is older than the table's time to live at
 * @now_us (shard lock held). */
static inline gboolean
expired_locked (RthunkThunkTable *table,
                RthunkThunkEntry *entry,
                gint64            now_us)
{
  return entry->state > RTHUNK_THUNK_RUNNING && now_us - entry->finished_us >= table->ttl_us;
}

static void
entry_clear (RthunkThunkEntry *entry)
{
  g_clear_pointer (&entry->expr, rthunk_node_unref);
  g_clear_pointer (&entry->inputs, rthunk_bindings_unref);
  g_clear_pointer (&entry->type, rthunk_type_unref);
  g_clear_pointer (&entry->value, rthunk_value_unref);
  g_clear_error (&entry->error);
  g_clear_object (&entry->cancellable);
  g_clear_pointer (&entry->definitions, g_ptr_array_unref);
  g_clear_pointer (&entry->def_names, g_hash_table_unref);
  g_clear_pointer (&entry->thunk_inputs, rthunk_bindings_unref);
  g_free (entry->cache_key);
  g_clear_pointer (&entry->owner, rthunk_conn_account_unref);
}

/* With its own counter, not a g_atomic_rc_box: the box's header of 32
 * bytes made 4.6 MiB for 150,000 finished thunks held. */
RTHUNK_DEFINE_REF_COUNT_REFS (RthunkThunkEntry, rthunk_thunk_entry, entry_clear)

static guint
id_hash (gconstpointer key)
{
  return (guint) id_hash64 (key);
}

static gboolean
id_equal (gconstpointer a,
          gconstpointer b)
{
  return memcmp (a, b, RTHUNK_THUNK_ID_LEN) == 0;
}

/* How many shards a table that keeps @max_finished finished thunks is
 * cut into: the most (a power of two, at most MAX_SHARDS) that leaves
 * each at least MIN_SHARE of them; 1 below 2 × MIN_SHARE. */
static guint
shards_for (guint max_finished)
{
  guint n = 1;

  while (n < MAX_SHARDS && max_finished / (n * 2) >= MIN_SHARE)
    n *= 2;
  return n;
}

/* A table that keeps up to @max_finished finished thunks (the shards
 * share the bound: shard k keeps max_finished / n, one more for the first
 * max_finished % n), each for at most @ttl_ms. */
RthunkThunkTable *
rthunk_thunk_table_new (guint max_finished,
                        guint ttl_ms)
{
  RthunkThunkTable *table = g_new0 (RthunkThunkTable, 1);

  max_finished = MAX (max_finished, 1);
  table->n_shards = shards_for (max_finished);
  table->shards = g_aligned_alloc0 (table->n_shards, sizeof (Shard), 64);
  init_id_keys ();
  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];

      g_mutex_init (&shard->lock);
      /* keys point into the entries they map to */
      shard->entries = g_hash_table_new_full (id_hash, id_equal, NULL,
                                              (GDestroyNotify) rthunk_thunk_entry_unref);
      shard->wait_lists = g_hash_table_new (NULL, NULL);
      g_queue_init (&shard->finished);
      g_queue_init (&shard->unfinished_queue);
      shard->max_finished = max_finished / table->n_shards + (k < max_finished % table->n_shards);
    }
  table->ttl_us = (gint64) MAX (ttl_ms, 1) * 1000;
  g_mutex_init (&table->idle_lock);
  g_cond_init (&table->idle_cond);
  return table;
}

void
rthunk_thunk_table_free (RthunkThunkTable *table)
{
  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];

      while (shard->finished.length > 0)
        forget_finished_locked (table, shard, g_queue_peek_head (&shard->finished));
      g_hash_table_unref (shard->entries);
      g_hash_table_unref (shard->wait_lists);
      g_mutex_clear (&shard->lock);
    }
  g_aligned_free (table->shards);
  g_clear_error (&table->shutdown);
  g_mutex_clear (&table->idle_lock);
  g_cond_clear (&table->idle_cond);
  g_free (table);
}

/* How many shards @table is cut into (1: the bound on finished thunks is
 * exact). */
guint
rthunk_thunk_table_n_shards (RthunkThunkTable *table)
{
  return table->n_shards;
}

/* The index of the shard that holds the thunk of @id. */
guint
rthunk_thunk_table_shard_index (RthunkThunkTable *table,
                                const guint8     *id)
{
  return (guint) (shard_of (table, id) - table->shards);
}

/* How many finished thunks @table holds now. */
guint
rthunk_thunk_table_count_finished (RthunkThunkTable *table)
{
  guint n = 0;

  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];

      g_mutex_lock (&shard->lock);
      n += shard->finished.length;
      g_mutex_unlock (&shard->lock);
    }
  return n;
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
                        RthunkBindings   *inputs,
                        RthunkType       *type,
                        const guint8     *proposed_id,
                        RthunkConnAccount *owner)
{
  /* g_malloc, not g_malloc0: glibc's calloc takes its arena's lock every
   * time, where malloc serves a thread from its own cache */
  RthunkThunkEntry *entry = g_new (RthunkThunkEntry, 1);
  Shard *shard;

  *entry = (RthunkThunkEntry) {
    .state = RTHUNK_THUNK_PENDING,
    .expr = rthunk_node_ref (expr),
    .inputs = inputs != NULL ? rthunk_bindings_ref (inputs) : NULL,
    .type = type != NULL ? rthunk_type_ref (type) : NULL,
    .submitted_us = g_get_monotonic_time (),
    .owner = owner != NULL ? rthunk_conn_account_ref (owner) : NULL,
    .link = { entry, NULL, NULL },
  };
  g_atomic_ref_count_init (&entry->ref_count);
  /* the id is drawn before the lock: a shard's lock is held for its
   * hash table only */
  if (proposed_id != NULL)
    memcpy (entry->id, proposed_id, RTHUNK_THUNK_ID_LEN);
  else
    rthunk_random_id (entry->id);
  shard = shard_of (table, entry->id);
  g_mutex_lock (&shard->lock);
  while (g_hash_table_contains (shard->entries, entry->id))
    {
      g_mutex_unlock (&shard->lock);
      if (proposed_id != NULL)
        {
          rthunk_thunk_entry_unref (entry);
          return NULL;
        }
      rthunk_random_id (entry->id);
      shard = shard_of (table, entry->id);
      g_mutex_lock (&shard->lock);
    }
  /* the table's reference; the caller keeps the first */
  g_hash_table_insert (shard->entries, entry->id, rthunk_thunk_entry_ref (entry));
  g_atomic_int_inc (&table->unfinished);
  g_queue_push_tail_link (&shard->unfinished_queue, &entry->link);
  if (owner != NULL)
    g_atomic_int_inc (&owner->unfinished);
  g_mutex_unlock (&shard->lock);
  return entry;
}

/* Forgets an entry that was never queued (its submission failed). */
void
rthunk_thunk_table_remove (RthunkThunkTable *table,
                           RthunkThunkEntry *entry)
{
  Shard *shard = shard_of (table, entry->id);

  g_mutex_lock (&shard->lock);
  if (entry->state <= RTHUNK_THUNK_RUNNING)
    {
      g_atomic_int_add (&table->unfinished, -1);
      g_queue_unlink (&shard->unfinished_queue, &entry->link);
      if (entry->owner != NULL)
        g_atomic_int_add (&entry->owner->unfinished, -1);
      g_hash_table_remove (shard->entries, entry->id);
    }
  else
    forget_finished_locked (table, shard, entry);
  g_mutex_unlock (&shard->lock);
}

/* The thunk of @id, a new reference, or %NULL: unknown, forgotten, or
 * finished longer than the time to live ago (forgotten now). */
RthunkThunkEntry *
rthunk_thunk_table_lookup (RthunkThunkTable *table,
                           const guint8     *id,
                           gsize             len)
{
  RthunkThunkEntry *entry = NULL;
  Shard *shard;

  if (id == NULL || len != RTHUNK_THUNK_ID_LEN)
    return NULL;
  shard = shard_of (table, id);
  g_mutex_lock (&shard->lock);
  entry = g_hash_table_lookup (shard->entries, id);
  /* its shard forgets it when a thunk of the shard next finishes: not
   * found meanwhile, as if the table were one */
  if (entry != NULL && expired_locked (table, entry, g_get_monotonic_time ()))
    {
      forget_finished_locked (table, shard, entry);
      entry = NULL;
    }
  if (entry != NULL)
    rthunk_thunk_entry_ref (entry);
  /* someone besides its submitter may want it: it outlives its submitter */
  if (entry != NULL && entry->owner != rthunk_conn_account_get_current ())
    entry->named_elsewhere = TRUE;
  g_mutex_unlock (&shard->lock);
  return entry;
}

static void finish_locked (RthunkThunkTable *table, Shard *shard, RthunkThunkEntry *entry, RthunkThunkState state);

/* Ends @entry CANCELLED, for @why (a copy: the table's shutdown), or
 * because a thunkCancel asked when NULL. With its shard locked. */
static void
cancel_locked (RthunkThunkTable *table,
               Shard            *shard,
               RthunkThunkEntry *entry,
               const GError     *why)
{
  entry->error = why != NULL ? g_error_copy (why)
                             : g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("the thunk was cancelled"));
  finish_locked (table, shard, entry, RTHUNK_THUNK_CANCELLED);
}

/* The cancellable that stops @entry's evaluation (transfer full): made
 * the first time it is asked for, cancelled already if the thunk was
 * cancelled before (or the table shut down). A thunk evaluated inline, a
 * few steps in the connection's thread, never has one: a GObject per
 * thunk costs more than such an evaluation. */
GCancellable *
rthunk_thunk_table_get_cancellable (RthunkThunkTable *table,
                                    RthunkThunkEntry *entry)
{
  Shard *shard = shard_of (table, entry->id);
  GCancellable *cancellable;
  gboolean cancel;

  g_mutex_lock (&shard->lock);
  if (entry->cancellable == NULL)
    entry->cancellable = g_cancellable_new ();
  cancellable = g_object_ref (entry->cancellable);
  cancel = entry->cancel_asked || g_atomic_pointer_get (&table->shutdown) != NULL;
  g_mutex_unlock (&shard->lock);
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
  Shard *shard = shard_of (table, entry->id);
  GError *shutdown;
  gboolean started;

  g_mutex_lock (&shard->lock);
  if (entry->state == RTHUNK_THUNK_PENDING && (shutdown = g_atomic_pointer_get (&table->shutdown)) != NULL)
    cancel_locked (table, shard, entry, shutdown);
  started = entry->state == RTHUNK_THUNK_PENDING;
  if (started)
    {
      entry->state = RTHUNK_THUNK_RUNNING;
      entry->started_us = g_get_monotonic_time ();
    }
  g_mutex_unlock (&shard->lock);
  return started;
}

/* RUNNING → PENDING: the connection's thread that started @entry to fill
 * it in and try it inline hands it to the worker pool. A cancel that came
 * meanwhile only asked (cancel_asked: the entry was in that thread's
 * hands); it ends the thunk here, as it would have ended a queued one.
 * Returns FALSE then. */
gboolean
rthunk_thunk_table_unstart (RthunkThunkTable *table,
                            RthunkThunkEntry *entry)
{
  Shard *shard = shard_of (table, entry->id);
  gboolean pending;

  g_mutex_lock (&shard->lock);
  if (entry->state == RTHUNK_THUNK_RUNNING && entry->cancel_asked)
    cancel_locked (table, shard, entry, g_atomic_pointer_get (&table->shutdown));
  pending = entry->state == RTHUNK_THUNK_RUNNING;
  if (pending)
    {
      entry->state = RTHUNK_THUNK_PENDING;
      entry->started_us = 0;
    }
  g_mutex_unlock (&shard->lock);
  return pending;
}

/* Wakes @waiter (the lock of a shard it is registered in held). */
static void
wake_waiter (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  waiter->woken = TRUE;
  g_cond_signal (&waiter->cond);
  g_mutex_unlock (&waiter->lock);
}

/* Wakes the waiters of @entry, and only them (shard lock held). */
static void
wake_waiters_locked (Shard            *shard,
                     RthunkThunkEntry *entry)
{
  for (GSList *l = g_hash_table_lookup (shard->wait_lists, entry); l != NULL; l = l->next)
    wake_waiter (l->data);
}

/* One thunk fewer unfinished: the drain, if it waits, looks again. */
static void
one_less_unfinished (RthunkThunkTable *table)
{
  g_atomic_int_add (&table->unfinished, -1);
  /* GLib's broadcast is a system call even when nobody waits; the drain
   * counts itself before it reads the count of unfinished thunks */
  if (g_atomic_int_get (&table->idle_waiters) > 0)
    {
      g_mutex_lock (&table->idle_lock);
      g_cond_broadcast (&table->idle_cond);
      g_mutex_unlock (&table->idle_lock);
    }
}

static void
finish_locked (RthunkThunkTable *table,
               Shard            *shard,
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
  g_clear_pointer (&entry->inputs, rthunk_bindings_unref);
  g_clear_pointer (&entry->definitions, g_ptr_array_unref);
  g_clear_pointer (&entry->def_names, g_hash_table_unref);
  g_clear_object (&entry->cancellable);
  entry->state = state;
  entry->finished_us = g_get_monotonic_time ();
  g_queue_unlink (&shard->unfinished_queue, &entry->link);
  if (entry->owner != NULL)
    g_atomic_int_add (&entry->owner->unfinished, -1);
  g_clear_pointer (&entry->cache_key, g_free);
  g_queue_push_tail_link (&shard->finished, &entry->link);
  /* forget the shard's oldest beyond its share, and those past their time */
  while (shard->finished.length > 0)
    {
      RthunkThunkEntry *old = g_queue_peek_head (&shard->finished);

      if (shard->finished.length <= shard->max_finished &&
          entry->finished_us - old->finished_us < table->ttl_us)
        break;
      forget_finished_locked (table, shard, old);
    }
  wake_waiters_locked (shard, entry);
  one_less_unfinished (table);
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
  Shard *shard = shard_of (table, entry->id);
  RthunkThunkState state;
  GError *shutdown;
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
  g_mutex_lock (&shard->lock);
  if (entry->state > RTHUNK_THUNK_RUNNING)
    {
      g_mutex_unlock (&shard->lock);
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
      shutdown = g_atomic_pointer_get (&table->shutdown);
      /* stopped by cancel_all: say why, not just "cancelled" */
      entry->error = g_error_copy (state == RTHUNK_THUNK_CANCELLED && shutdown != NULL ? shutdown : error);
    }
  finish_locked (table, shard, entry, state);
  g_mutex_unlock (&shard->lock);
}

/* Cancels an unfinished thunk: a queued one at once, a running one at its
 * next step (one its connection's thread holds, when that thread queues
 * it). Returns whether it was unfinished. */
gboolean
rthunk_thunk_table_cancel (RthunkThunkTable *table,
                           RthunkThunkEntry *entry,
                           gboolean         *finished_now)
{
  g_autoptr(GCancellable) cancellable = NULL;
  Shard *shard = shard_of (table, entry->id);
  gboolean unfinished;

  g_mutex_lock (&shard->lock);
  unfinished = entry->state <= RTHUNK_THUNK_RUNNING;
  *finished_now = entry->state == RTHUNK_THUNK_PENDING;
  /* finishing drops it: hold it until it is cancelled */
  if (unfinished && entry->cancellable != NULL)
    cancellable = g_object_ref (entry->cancellable);
  else if (unfinished)
    entry->cancel_asked = TRUE;
  if (entry->state == RTHUNK_THUNK_PENDING)
    cancel_locked (table, shard, entry, NULL);
  g_mutex_unlock (&shard->lock);
  if (cancellable != NULL)
    g_cancellable_cancel (cancellable);
  return unfinished;
}

/* A step of a waiter on one entry, with the entry's shard locked;
 * returns whether the entry is finished. */
typedef gboolean (*WaiterStep) (Shard            *shard,
                                RthunkThunkEntry *entry,
                                Waiter           *waiter);

/* Registers @waiter on @entry if it is unfinished. A WaiterStep. */
static gboolean
register_waiter_locked (Shard            *shard,
                        RthunkThunkEntry *entry,
                        Waiter           *waiter)
{
  GSList *list;

  if (entry->state > RTHUNK_THUNK_RUNNING)
    return TRUE;
  list = g_hash_table_lookup (shard->wait_lists, entry);
  g_hash_table_insert (shard->wait_lists, entry, g_slist_prepend (list, waiter));
  g_atomic_int_inc (&shard->registrations);
  return FALSE;
}

/* Takes @waiter off @entry if it is registered there. A WaiterStep. */
static gboolean
unregister_waiter_locked (Shard            *shard,
                          RthunkThunkEntry *entry,
                          Waiter           *waiter)
{
  GSList *list = g_hash_table_lookup (shard->wait_lists, entry);
  GSList *link = g_slist_find (list, waiter);

  if (link != NULL)
    {
      list = g_slist_delete_link (list, link);
      if (list == NULL)
        g_hash_table_remove (shard->wait_lists, entry);
      else
        g_hash_table_insert (shard->wait_lists, entry, list);
      g_atomic_int_add (&shard->registrations, -1);
    }
  return entry->state > RTHUNK_THUNK_RUNNING;
}

/* Takes @step for @waiter on each of @entries, in its shard (locked);
 * returns how many of them @step saw finished.
 * Inlined, so that each caller's step is a direct call: thunkAwait and
 * every inline submission pass here. */
G_ALWAYS_INLINE static inline guint
waiter_walk (RthunkThunkTable  *table,
             Waiter            *waiter,
             RthunkThunkEntry **entries,
             guint              n_entries,
             WaiterStep         step)
{
  guint n = 0;

  for (guint k = 0; k < n_entries; k++)
    {
      Shard *shard = shard_of (table, entries[k]->id);

      g_mutex_lock (&shard->lock);
      n += step (shard, entries[k], waiter);
      g_mutex_unlock (&shard->lock);
    }
  return n;
}

/* @entries without repeats: a waiter registers once on each thunk, however
 * often its call names it. (A thunkAwait naming one id 4096 times made
 * that thunk's wait list 4096 long per call, and taking 200 such callers
 * off it, under the one lock the table had then, took hours: the server
 * stopped answering once they hung up.) */
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

/* Sleeps until @waiter is woken, the table closes, @deadline_us passes
 * or the connection of @account (nullable) hangs up. */
static void
waiter_sleep (RthunkThunkTable  *table,
              Waiter            *waiter,
              gint64             deadline_us,
              RthunkConnAccount *account)
{
  g_mutex_lock (&waiter->lock);
  /* closing is read after the waiter registered: close() wakes every
   * waiter registered by then */
  while (!waiter->woken && !g_atomic_int_get (&table->closing))
    {
      gint64 check_us = g_get_monotonic_time () + WAITER_CHECK_MS * 1000;

      if (!g_cond_wait_until (&waiter->cond, &waiter->lock, MIN (deadline_us, check_us)) &&
          (g_get_monotonic_time () >= deadline_us ||
           (account != NULL && rthunk_conn_account_hung_up (account))))
        break;
    }
  g_mutex_unlock (&waiter->lock);
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

  g_mutex_init (&waiter.lock);
  g_cond_init (&waiter.cond);
  n = waiter_walk (table, &waiter, entries, n_entries, register_waiter_locked);
  /* the common case, one thunk already finished, registered nowhere */
  if (n == n_entries && n > 0)
    goto out;
  if (n == 0)
    waiter_sleep (table, &waiter, deadline_us, account);
  n = waiter_walk (table, &waiter, entries, n_entries, unregister_waiter_locked);
out:
  g_cond_clear (&waiter.cond);
  g_mutex_clear (&waiter.lock);
  return n;
}

/* The `waiters` gauge: thunks awaited right now, counted once per
 * waiting call that names them (each shard counts its own). */
guint
rthunk_thunk_table_count_waiters (RthunkThunkTable *table)
{
  gint n = 0;

  for (guint k = 0; k < table->n_shards; k++)
    n += g_atomic_int_get (&table->shards[k].registrations);
  return (guint) n;
}

RthunkThunkState
rthunk_thunk_table_get_state (RthunkThunkTable *table,
                              RthunkThunkEntry *entry)
{
  Shard *shard = shard_of (table, entry->id);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&shard->lock);

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

  g_mutex_lock (&table->idle_lock);
  g_atomic_int_inc (&table->idle_waiters);
  while (g_atomic_int_get (&table->unfinished) > 0 &&
         g_cond_wait_until (&table->idle_cond, &table->idle_lock, deadline_us))
    ;
  g_atomic_int_add (&table->idle_waiters, -1);
  idle = g_atomic_int_get (&table->unfinished) == 0;
  g_mutex_unlock (&table->idle_lock);
  return idle;
}

typedef gboolean (*PickFunc) (RthunkThunkEntry *entry, gpointer data);

/* Adds to @refs a reference to every unfinished thunk of @shard that
 * @pick (nullable: all) accepts (its lock held). */
static void
collect_unfinished_locked (Shard     *shard,
                           PickFunc   pick,
                           gpointer   data,
                           GPtrArray *refs)
{
  for (GList *l = shard->unfinished_queue.head; l != NULL; l = l->next)
    if (pick == NULL || pick (l->data, data))
      g_ptr_array_add (refs, rthunk_thunk_entry_ref (l->data));
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
  GError *shutdown = g_error_copy (reason);
  guint n = 0;

  /* set before any shard is visited: a thunk started after its shard's
   * visit sees it (rthunk_thunk_table_start()) */
  if (!g_atomic_pointer_compare_and_exchange (&table->shutdown, NULL, shutdown))
    g_error_free (shutdown);
  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];

      g_mutex_lock (&shard->lock);
      for (GList *l = shard->unfinished_queue.head; l != NULL; l = l->next, n++)
        {
          RthunkThunkEntry *e = l->data;

          if (e->cancellable != NULL)
            g_ptr_array_add (unfinished, g_object_ref (e->cancellable));
          else
            e->cancel_asked = TRUE;
        }
      g_mutex_unlock (&shard->lock);
    }
  for (guint k = 0; k < unfinished->len; k++)
    g_cancellable_cancel (g_ptr_array_index (unfinished, k));
  return n;
}

static gboolean
is_orphan_of (RthunkThunkEntry *entry,
              gpointer          owner)
{
  return entry->owner == owner && !entry->named_elsewhere;
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
  guint queued = 0;

  if (g_atomic_int_get (&owner->unfinished) == 0)
    return 0;
  for (guint k = 0; k < table->n_shards; k++)
    {
      g_mutex_lock (&table->shards[k].lock);
      collect_unfinished_locked (&table->shards[k], is_orphan_of, owner, orphans);
      g_mutex_unlock (&table->shards[k].lock);
    }
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
  g_atomic_int_set (&table->closing, TRUE);
  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];
      GHashTableIter iter;
      gpointer list;

      g_mutex_lock (&shard->lock);
      g_hash_table_iter_init (&iter, shard->wait_lists);
      while (g_hash_table_iter_next (&iter, NULL, &list))
        for (GSList *l = list; l != NULL; l = l->next)
          {
            Waiter *waiter = l->data;

            g_mutex_lock (&waiter->lock);
            g_cond_signal (&waiter->cond);
            g_mutex_unlock (&waiter->lock);
          }
      g_mutex_unlock (&shard->lock);
    }
  g_mutex_lock (&table->idle_lock);
  g_cond_broadcast (&table->idle_cond);
  g_mutex_unlock (&table->idle_lock);
}

/* The state of @entry and, when DONE, a new reference to its value in
 * *@value (read together: the budget may take a value away). */
RthunkThunkState
rthunk_thunk_table_get_outcome (RthunkThunkTable  *table,
                                RthunkThunkEntry  *entry,
                                RthunkValue      **value)
{
  Shard *shard = shard_of (table, entry->id);
  RthunkThunkState state;

  g_mutex_lock (&shard->lock);
  state = entry->state;
  *value = state == RTHUNK_THUNK_DONE ? rthunk_value_ref (entry->value) : NULL;
  g_mutex_unlock (&shard->lock);
  return state;
}

/* The next finished entry of @shard from @l on that holds a value
 * (shard lock held), or %NULL. */
static GList *
next_valued (GList *l)
{
  while (l != NULL && ((RthunkThunkEntry *) l->data)->value_bytes == 0)
    l = l->next;
  return l;
}

/* Gives up the values of the oldest finished thunks (across the shards,
 * oldest first, as if the table were one) until @wanted bytes are
 * released; each of those thunks now reads FAILED, its value expired. An
 * RthunkBudgetEvictFunc. */
static gsize
evict_values (gpointer data,
              gsize    wanted)
{
  RthunkThunkTable *table = data;
  GList *next[MAX_SHARDS];
  gsize freed = 0;

  /* every shard, in index order: this is rare, and needs them all */
  for (guint k = 0; k < table->n_shards; k++)
    {
      g_mutex_lock (&table->shards[k].lock);
      next[k] = next_valued (table->shards[k].finished.head);
    }
  while (freed < wanted)
    {
      RthunkThunkEntry *entry = NULL;
      guint oldest = 0;

      for (guint k = 0; k < table->n_shards; k++)
        if (next[k] != NULL && (entry == NULL || ((RthunkThunkEntry *) next[k]->data)->finished_us < entry->finished_us))
          entry = next[oldest = k]->data;
      if (entry == NULL)
        break;
      next[oldest] = next_valued (next[oldest]->next);
      freed += entry->value_bytes;
      forget_value_locked (table, entry);
      entry->state = RTHUNK_THUNK_FAILED;
      entry->error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                          _("the thunk's value expired: the server evicted it to stay "
                                            "within its memory budget (--max-memory)"));
    }
  for (guint k = table->n_shards; k > 0; k--)
    g_mutex_unlock (&table->shards[k - 1].lock);
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

/* Unfinished views first, oldest submitted first; then finished ones,
 * newest first. */
static gint
compare_views (gconstpointer a,
               gconstpointer b)
{
  const RthunkThunkView *va = a, *vb = b;

  if ((va->finished_us == 0) != (vb->finished_us == 0))
    return va->finished_us == 0 ? -1 : 1;
  if (va->finished_us == 0)
    return (va->entry->submitted_us > vb->entry->submitted_us) - (va->entry->submitted_us < vb->entry->submitted_us);
  return (va->finished_us < vb->finished_us) - (va->finished_us > vb->finished_us);
}

/**
 * rthunk_thunk_table_list: (skip)
 * @table: a table
 * @max_finished: how many of the latest finished thunks to include
 *
 * What the dashboard shows: every queued and running thunk, oldest
 * first, then the latest @max_finished finished ones, newest first, each
 * with its state and times as they were when its shard was read. A
 * shard's lock is held for its own entries only, never two at once.
 *
 * Returns: (transfer full): an array of #RthunkThunkView, which frees its
 *   references with itself
 */
GArray *
rthunk_thunk_table_list (RthunkThunkTable *table,
                         guint             max_finished)
{
  GArray *views = g_array_new (FALSE, FALSE, sizeof (RthunkThunkView));
  guint n_unfinished = 0;

  g_array_set_clear_func (views, clear_view);
  for (guint k = 0; k < table->n_shards; k++)
    {
      Shard *shard = &table->shards[k];
      guint n = 0;

      g_mutex_lock (&shard->lock);
      n_unfinished += shard->unfinished_queue.length;
      for (GList *l = shard->unfinished_queue.head; l != NULL; l = l->next)
        add_view_locked (views, l->data);
      for (GList *l = shard->finished.tail; l != NULL && n < max_finished; l = l->prev, n++)
        add_view_locked (views, l->data);
      g_mutex_unlock (&shard->lock);
    }
  g_array_sort (views, compare_views);
  /* the latest @max_finished of all the shards' latest */
  if (views->len > n_unfinished + max_finished)
    g_array_set_size (views, n_unfinished + max_finished);
  return views;
}
