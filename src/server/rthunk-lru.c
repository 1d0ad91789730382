/* rthunk-lru.c — a bounded store of refcounted items by content hash
 *
 * What the definition store and the result cache share: items keyed by a
 * SHA-256 (RTHUNK_HASH_LEN bytes), bounded in count and in bytes (each
 * item says what it costs), the least recently used out first. One lock;
 * a lookup moves the entry to the back of the queue. Eviction by bytes
 * stops at @min_kept entries, so a store can keep the one item it was just
 * given even when that item alone is over the bound.
 *
 * With a server budget (rthunk_lru_set_budget()), each entry's bytes are
 * charged to it before the entry is made, and released when it goes; a
 * budget that cannot make room refuses the insertion.
 */
#include "config.h"

#include <string.h>

#include "rthunk-lru.h"
#include "rthunk-budget.h"

typedef struct
{
  guint8 key[RTHUNK_HASH_LEN];
  gpointer item;
  gsize bytes;
  GList link;                   /* in the LRU queue; data is the entry */
} Entry;

struct _RthunkLru
{
  GMutex lock;
  GHashTable *by_key;           /* key (inside the entry) → GList link */
  GQueue queue;                 /* entries, least recently used first */
  guint max_count;
  gsize max_bytes;
  guint min_kept;
  gsize bytes;
  RthunkLruRefFunc ref;
  GDestroyNotify unref;
  RthunkBudget *budget;         /* (nullable) charged for every entry */
};

static guint
key_hash (gconstpointer key)
{
  guint h;

  memcpy (&h, key, sizeof h);
  return h;
}

static gboolean
key_equal (gconstpointer a,
           gconstpointer b)
{
  return memcmp (a, b, RTHUNK_HASH_LEN) == 0;
}

RthunkLru *
rthunk_lru_new (guint            max_count,
                gsize            max_bytes,
                guint            min_kept,
                RthunkLruRefFunc ref,
                GDestroyNotify   unref)
{
  RthunkLru *lru = g_new0 (RthunkLru, 1);

  g_mutex_init (&lru->lock);
  lru->by_key = g_hash_table_new (key_hash, key_equal);
  g_queue_init (&lru->queue);
  lru->max_count = max_count;
  lru->max_bytes = max_bytes;
  lru->min_kept = min_kept;
  lru->ref = ref;
  lru->unref = unref;
  return lru;
}

static void
entry_free (RthunkLru *lru,
            Entry     *entry)
{
  if (lru->budget != NULL)
    rthunk_budget_release (lru->budget, entry->bytes);
  lru->unref (entry->item);
  g_free (entry);
}

void
rthunk_lru_free (RthunkLru *lru)
{
  g_hash_table_unref (lru->by_key);
  while (lru->queue.length > 0)
    entry_free (lru, g_queue_pop_head_link (&lru->queue)->data);
  g_mutex_clear (&lru->lock);
  g_free (lru);
}

/* A new reference to the item stored under @key, or NULL. */
gpointer
rthunk_lru_lookup (RthunkLru    *lru,
                   const guint8 *key)
{
  gpointer item = NULL;
  GList *link;

  g_mutex_lock (&lru->lock);
  link = g_hash_table_lookup (lru->by_key, key);
  if (link != NULL)
    {
      g_queue_unlink (&lru->queue, link);
      g_queue_push_tail_link (&lru->queue, link);
      item = lru->ref (((Entry *) link->data)->item);
    }
  g_mutex_unlock (&lru->lock);
  return item;
}

/* Forgets the least recently used entry; returns its bytes. */
static gsize
evict_oldest_locked (RthunkLru *lru)
{
  GList *link = g_queue_pop_head_link (&lru->queue);
  Entry *old = link->data;
  gsize bytes = old->bytes;

  g_hash_table_remove (lru->by_key, old->key);
  lru->bytes -= bytes;
  entry_free (lru, old);
  return bytes;
}

static void
evict_locked (RthunkLru *lru)
{
  while (lru->queue.length > 0 &&
         (lru->queue.length > lru->max_count ||
          (lru->bytes > lru->max_bytes && lru->queue.length > lru->min_kept)))
    evict_oldest_locked (lru);
}

/* Forgets least recently used entries until @wanted bytes are freed or
 * only min_kept are left; returns the bytes freed. An RthunkBudgetEvictFunc. */
static gsize
lru_evict (RthunkLru *lru,
           gsize      wanted)
{
  gsize freed = 0;

  g_mutex_lock (&lru->lock);
  while (freed < wanted && lru->queue.length > lru->min_kept)
    freed += evict_oldest_locked (lru);
  g_mutex_unlock (&lru->lock);
  return freed;
}

/* Makes the store charge @budget (which outlives it) for its entries,
 * and lets the budget evict the least recently used ones to make room;
 * only while it is empty. */
void
rthunk_lru_set_budget (RthunkLru    *lru,
                       RthunkBudget *budget)
{
  g_assert (lru->queue.length == 0);
  lru->budget = budget;
  rthunk_budget_add_evictor (budget, (RthunkBudgetEvictFunc) lru_evict, lru);
}

/* Stores a new reference to @item under @key, costing @bytes (and the
 * entry's own size), and evicts what no longer fits. Returns
 * RTHUNK_LRU_PRESENT (and nothing done) if @key was there, and
 * RTHUNK_LRU_REFUSED (nothing done) if the budget has no room for it.
 * The budget is charged before the lock is taken: its evictors may
 * include this very store. */
RthunkLruInsert
rthunk_lru_insert (RthunkLru    *lru,
                   const guint8 *key,
                   gpointer      item,
                   gsize         bytes)
{
  RthunkLruInsert added = RTHUNK_LRU_PRESENT;
  gsize cost = bytes + sizeof (Entry);
  Entry *entry;

  if (lru->budget != NULL && !rthunk_budget_charge (lru->budget, cost))
    return RTHUNK_LRU_REFUSED;
  g_mutex_lock (&lru->lock);
  if (!g_hash_table_contains (lru->by_key, key))
    {
      entry = g_new (Entry, 1);
      memcpy (entry->key, key, RTHUNK_HASH_LEN);
      entry->item = lru->ref (item);
      entry->bytes = cost;
      entry->link.data = entry;
      entry->link.prev = entry->link.next = NULL;
      g_queue_push_tail_link (&lru->queue, &entry->link);
      g_hash_table_insert (lru->by_key, entry->key, &entry->link);
      lru->bytes += entry->bytes;
      evict_locked (lru);
      added = RTHUNK_LRU_ADDED;
    }
  else if (lru->budget != NULL)
    rthunk_budget_release (lru->budget, cost);
  g_mutex_unlock (&lru->lock);
  return added;
}

guint
rthunk_lru_size (RthunkLru *lru)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&lru->lock);

  return lru->queue.length;
}
