/* rthunk-result-cache.c — results of pure expressions by content
 *
 * Keys are the SHA-256 of an expression with its bound inputs and the
 * hashes of the definitions it uses (see the handler); values are the
 * results. Bounded in count and bytes, least recently used out first.
 */
#include "config.h"

#include "rthunk-result-cache.h"
#include "rthunk-lru.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

struct _RthunkResultCache
{
  RthunkLru *lru;
  guint max_count;
  gsize max_bytes;
};

/* What @value costs in memory (see rthunk_value_measure()). */
gsize
rthunk_value_size (RthunkValue *value)
{
  return rthunk_value_measure (value);
}

RthunkResultCache *
rthunk_result_cache_new (guint max_count,
                         gsize max_bytes)
{
  RthunkResultCache *cache = g_new0 (RthunkResultCache, 1);

  cache->lru = rthunk_lru_new (max_count, max_bytes, 0,
                               (RthunkLruRefFunc) rthunk_value_ref,
                               (GDestroyNotify) rthunk_value_unref);
  cache->max_count = max_count;
  cache->max_bytes = max_bytes;
  return cache;
}

void
rthunk_result_cache_free (RthunkResultCache *cache)
{
  rthunk_lru_free (cache->lru);
  g_free (cache);
}

/* A new reference to the cached value, or NULL. */
RthunkValue *
rthunk_result_cache_lookup (RthunkResultCache *cache,
                            const guint8      *key)
{
  return rthunk_lru_lookup (cache->lru, key);
}

/* Charges @budget for every result kept from now on; the budget may
 * evict results (least recently used first) to make room. */
void
rthunk_result_cache_set_budget (RthunkResultCache *cache,
                                RthunkBudget      *budget)
{
  rthunk_lru_set_budget (cache->lru, budget);
}

/* Keeps @value under @key, unless it alone is over the byte bound or the
 * server's budget has no room for it. */
void
rthunk_result_cache_insert (RthunkResultCache *cache,
                            const guint8      *key,
                            RthunkValue       *value)
{
  gsize bytes = rthunk_value_size (value);

  if (cache->max_count == 0 || bytes > cache->max_bytes)
    return;
  rthunk_lru_insert (cache->lru, key, value, bytes);
}
