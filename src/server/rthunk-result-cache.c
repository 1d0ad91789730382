/* rthunk-result-cache.c — results of pure expressions by content
 *
 * Keys are the SHA-256 of an expression with its bound inputs and the
 * hashes of the definitions it uses (see the handler); values are the
 * results, in an RthunkLru bounded in count and bytes, least recently
 * used out first.
 */
#include "config.h"

#include "rthunk-result-cache.h"
#include "rthunk-lru.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

RthunkLru *
rthunk_result_cache_new (guint max_count,
                         gsize max_bytes)
{
  return rthunk_lru_new (max_count, max_bytes, 0,
                         (RthunkLruRefFunc) rthunk_value_ref,
                         (GDestroyNotify) rthunk_value_unref);
}

/* Keeps @value under @key, charged what it costs in memory
 * (rthunk_value_measure()), unless it alone is over the byte bound or the
 * server's budget has no room for it. */
void
rthunk_result_cache_insert (RthunkLru    *cache,
                            const guint8 *key,
                            RthunkValue  *value)
{
  rthunk_lru_insert (cache, key, value, rthunk_value_measure (value));
}
