/* rthunk-lru.c — a bounded store of refcounted items by content hash
 *
 * What the definition store and the result cache share: items keyed by a
 * SHA-256 (RTHUNK_HASH_LEN bytes), bounded in count and in bytes (each
 * item says what it costs), the least recently used out first. One lock;
 * a lookup moves the entry to the newest end of the queue. Eviction by
 * bytes stops at @min_kept entries, so a store can keep the one item it
 * was just given even when that item alone is over the bound.
 *
 * The result cache holds 10^5 entries by default, so an entry is kept
 * small (bench/README.md, "memory"): one allocation that is at once its
 * place in the queue (two links) and in the index, a table of chains by
 * key whose buckets are one pointer each, between two and a quarter of a
 * bucket an entry. (A GHashTable with its keys, values and hashes cost 52
 * bytes an entry with 10^5 of them, and doubled its arrays once entries
 * began to be replaced: GLib counts the removed ones' tombstones.)
 * Every entry is charged its item's bytes and RTHUNK_LRU_ENTRY_BYTES.
 *
 * With a server budget (rthunk_lru_set_budget()), each entry's bytes are
 * charged to it before the entry is made, and released when it goes; a
 * budget that cannot make room refuses the insertion.
 */
#include "config.h"

#include <string.h>

#include "rthunk-lru.h"
#include "rthunk-budget.h"

typedef struct _Entry Entry;

struct _Entry
{
  guint8 key[RTHUNK_HASH_LEN];
  gpointer item;
  gsize bytes;                  /* the item's and RTHUNK_LRU_ENTRY_BYTES */
  Entry *older;                 /* in the queue: toward the least recently used */
  Entry *newer;
  Entry *chain;                 /* the next entry of its bucket */
};

/* What an entry really costs: glibc's malloc serves it from a chunk of
 * its size and a header of one word, rounded up to 16 bytes, and the
 * index holds up to four bucket pointers an entry (a quarter full, before
 * it shrinks). test-lru checks it against malloc's own count. */
G_STATIC_ASSERT (RTHUNK_LRU_ENTRY_BYTES >=
                 ((sizeof (Entry) + sizeof (gsize) + 15) & ~(gsize) 15) + 4 * sizeof (gpointer));

/* The index starts with this many buckets and never has fewer. */
#define MIN_BUCKETS 16

struct _RthunkLru
{
  GMutex lock;
  Entry **buckets;              /* n_buckets chains (a power of two) */
  guint n_buckets;
  guint count;
  Entry *oldest;                /* the queue, least recently used first */
  Entry *newest;
  guint max_count;
  gsize max_bytes;
  guint min_kept;
  gsize bytes;
  RthunkLruRefFunc ref;
  GDestroyNotify unref;
  RthunkBudget *budget;         /* (nullable) charged for every entry */
};

/* The bucket of @key: keys are hashes already, their first bytes will do. */
static guint
bucket_of (RthunkLru    *lru,
           const guint8 *key)
{
  guint h;

  memcpy (&h, key, sizeof h);
  return h & (lru->n_buckets - 1);
}

static Entry **
find_slot (RthunkLru    *lru,
           const guint8 *key)
{
  Entry **slot = &lru->buckets[bucket_of (lru, key)];

  while (*slot != NULL && memcmp ((*slot)->key, key, RTHUNK_HASH_LEN) != 0)
    slot = &(*slot)->chain;
  return slot;
}

/* Moves every entry to a table of @n_buckets chains. */
static void
rehash (RthunkLru *lru,
        guint      n_buckets)
{
  Entry **old = lru->buckets;
  guint n_old = lru->n_buckets;

  lru->buckets = g_new0 (Entry *, n_buckets);
  lru->n_buckets = n_buckets;
  for (guint k = 0; k < n_old; k++)
    while (old[k] != NULL)
      {
        Entry *entry = old[k];
        Entry **head = &lru->buckets[bucket_of (lru, entry->key)];

        old[k] = entry->chain;
        entry->chain = *head;
        *head = entry;
      }
  g_free (old);
}

/* Keeps between one and a quarter of an entry a bucket: the index grows
 * past one entry a bucket, and shrinks (after evictions) under a quarter. */
static void
resize_if_needed (RthunkLru *lru)
{
  guint n = lru->n_buckets;

  while (lru->count > n && n <= G_MAXUINT / 2)
    n *= 2;
  while (lru->count < n / 4 && n > MIN_BUCKETS)
    n /= 2;
  if (n != lru->n_buckets)
    rehash (lru, n);
}

static void
queue_unlink (RthunkLru *lru,
              Entry     *entry)
{
  *(entry->older != NULL ? &entry->older->newer : &lru->oldest) = entry->newer;
  *(entry->newer != NULL ? &entry->newer->older : &lru->newest) = entry->older;
}

static void
queue_push_newest (RthunkLru *lru,
                   Entry     *entry)
{
  entry->older = lru->newest;
  entry->newer = NULL;
  *(lru->newest != NULL ? &lru->newest->newer : &lru->oldest) = entry;
  lru->newest = entry;
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
  lru->buckets = g_new0 (Entry *, MIN_BUCKETS);
  lru->n_buckets = MIN_BUCKETS;
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
  while (lru->oldest != NULL)
    {
      Entry *entry = lru->oldest;

      lru->oldest = entry->newer;
      entry_free (lru, entry);
    }
  g_free (lru->buckets);
  g_mutex_clear (&lru->lock);
  g_free (lru);
}

/* A new reference to the item stored under @key, or NULL. */
gpointer
rthunk_lru_lookup (RthunkLru    *lru,
                   const guint8 *key)
{
  gpointer item = NULL;
  Entry *entry;

  g_mutex_lock (&lru->lock);
  entry = *find_slot (lru, key);
  if (entry != NULL)
    {
      queue_unlink (lru, entry);
      queue_push_newest (lru, entry);
      item = lru->ref (entry->item);
    }
  g_mutex_unlock (&lru->lock);
  return item;
}

/* Forgets the least recently used entry; returns its bytes. The index
 * is resized by the caller, once. */
static gsize
evict_oldest_locked (RthunkLru *lru)
{
  Entry *old = lru->oldest;
  gsize bytes = old->bytes;

  *find_slot (lru, old->key) = old->chain;
  queue_unlink (lru, old);
  lru->count--;
  lru->bytes -= bytes;
  entry_free (lru, old);
  return bytes;
}

static void
evict_locked (RthunkLru *lru)
{
  while (lru->count > 0 &&
         (lru->count > lru->max_count ||
          (lru->bytes > lru->max_bytes && lru->count > lru->min_kept)))
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
  while (freed < wanted && lru->count > lru->min_kept)
    freed += evict_oldest_locked (lru);
  resize_if_needed (lru);
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
  g_assert (lru->count == 0);
  lru->budget = budget;
  rthunk_budget_add_evictor (budget, (RthunkBudgetEvictFunc) lru_evict, lru);
}

/* Stores a new reference to @item under @key, costing @bytes and
 * RTHUNK_LRU_ENTRY_BYTES, and evicts what no longer fits. Returns
 * RTHUNK_LRU_PRESENT (and nothing done) if @key was there, and
 * RTHUNK_LRU_REFUSED (nothing done) if the budget has no room for it, or
 * if it could never stay: the store holds no entries, or it keeps none
 * at least (min_kept 0) and @bytes with its entry's own are over its
 * byte bound (which would empty the store and then drop the item too).
 * The budget is charged before the lock is taken: its evictors may
 * include this very store. */
RthunkLruInsert
rthunk_lru_insert (RthunkLru    *lru,
                   const guint8 *key,
                   gpointer      item,
                   gsize         bytes)
{
  RthunkLruInsert added = RTHUNK_LRU_PRESENT;
  gsize cost = bytes + RTHUNK_LRU_ENTRY_BYTES;
  Entry **slot;
  Entry *entry;

  if (lru->max_count == 0 || (lru->min_kept == 0 && cost > lru->max_bytes))
    return RTHUNK_LRU_REFUSED;
  if (lru->budget != NULL && !rthunk_budget_charge (lru->budget, cost))
    return RTHUNK_LRU_REFUSED;
  g_mutex_lock (&lru->lock);
  slot = find_slot (lru, key);
  if (*slot == NULL)
    {
      entry = g_new (Entry, 1);
      memcpy (entry->key, key, RTHUNK_HASH_LEN);
      entry->item = lru->ref (item);
      entry->bytes = cost;
      entry->chain = NULL;
      *slot = entry;
      queue_push_newest (lru, entry);
      lru->count++;
      lru->bytes += entry->bytes;
      evict_locked (lru);
      resize_if_needed (lru);
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

  return lru->count;
}
