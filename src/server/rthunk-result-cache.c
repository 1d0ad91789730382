/* rthunk-result-cache.c — results of pure expressions by content
 *
 * Keys are the SHA-256 of an expression with its bound inputs and the
 * hashes of the definitions it uses (see the handler); values are the
 * results. Bounded in count and bytes, least recently used out first.
 */
#include "config.h"

#include <string.h>

#include "rthunk-result-cache.h"
#include "rthunk-hash.h"
#include "rthunk-value.h"

typedef struct
{
  guint8 key[RTHUNK_HASH_LEN];
  RthunkValue *value;
  gsize bytes;
  GList link;                   /* in the LRU queue; data is the entry */
} Entry;

struct _RthunkResultCache
{
  GMutex lock;
  GHashTable *by_key;           /* key (inside the entry) → GList link */
  GQueue lru;                   /* entries, least recently used first */
  guint max_count;
  gsize max_bytes;
  gsize bytes;
};

static void
entry_free (Entry *entry)
{
  rthunk_value_unref (entry->value);
  g_free (entry);
}

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

/* Roughly what @value costs in memory (values nest at most a few hundred
 * deep: they come from evaluation or the wire, both bounded). */
gsize
rthunk_value_size (RthunkValue *value)
{
  gsize size = 48;

  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_STR:
      return size + strlen (rthunk_value_get_str (value));
    case RTHUNK_VALUE_LIST:
      for (gsize k = 0; k < rthunk_value_get_length (value); k++)
        size += sizeof (gpointer) + rthunk_value_size (rthunk_value_get_item (value, k));
      return size;
    default:
      return size;
    }
}

RthunkResultCache *
rthunk_result_cache_new (guint max_count,
                         gsize max_bytes)
{
  RthunkResultCache *cache = g_new0 (RthunkResultCache, 1);

  g_mutex_init (&cache->lock);
  cache->by_key = g_hash_table_new (key_hash, key_equal);
  g_queue_init (&cache->lru);
  cache->max_count = max_count;
  cache->max_bytes = max_bytes;
  return cache;
}

void
rthunk_result_cache_free (RthunkResultCache *cache)
{
  g_hash_table_unref (cache->by_key);
  while (cache->lru.length > 0)
    entry_free (g_queue_pop_head_link (&cache->lru)->data);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

/* A new reference to the cached value, or NULL. */
RthunkValue *
rthunk_result_cache_lookup (RthunkResultCache *cache,
                            const guint8      *key)
{
  RthunkValue *value = NULL;
  GList *link;

  g_mutex_lock (&cache->lock);
  link = g_hash_table_lookup (cache->by_key, key);
  if (link != NULL)
    {
      g_queue_unlink (&cache->lru, link);
      g_queue_push_tail_link (&cache->lru, link);
      value = rthunk_value_ref (((Entry *) link->data)->value);
    }
  g_mutex_unlock (&cache->lock);
  return value;
}

static void
evict_locked (RthunkResultCache *cache)
{
  while (cache->lru.length > cache->max_count || cache->bytes > cache->max_bytes)
    {
      GList *link = g_queue_pop_head_link (&cache->lru);
      Entry *old;

      if (link == NULL)
        break;
      old = link->data;
      g_hash_table_remove (cache->by_key, old->key);
      cache->bytes -= old->bytes;
      entry_free (old);
    }
}

void
rthunk_result_cache_insert (RthunkResultCache *cache,
                            const guint8      *key,
                            RthunkValue       *value)
{
  gsize bytes = rthunk_value_size (value) + sizeof (Entry);
  Entry *entry;

  if (cache->max_count == 0 || bytes > cache->max_bytes)
    return;
  g_mutex_lock (&cache->lock);
  if (!g_hash_table_contains (cache->by_key, key))
    {
      entry = g_new (Entry, 1);
      memcpy (entry->key, key, RTHUNK_HASH_LEN);
      entry->value = rthunk_value_ref (value);
      entry->bytes = bytes;
      entry->link.data = entry;
      entry->link.prev = entry->link.next = NULL;
      g_queue_push_tail_link (&cache->lru, &entry->link);
      g_hash_table_insert (cache->by_key, entry->key, &entry->link);
      cache->bytes += bytes;
      evict_locked (cache);
    }
  g_mutex_unlock (&cache->lock);
}
