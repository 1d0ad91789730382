/* rthunk-result-cache.h — results of pure expressions by content.  Private. */
#pragma once

#include "rthunk-lru.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/* The cache is an RthunkLru of RthunkValue by key: looked up, budgeted
 * and freed with the rthunk_lru_*() functions. */
RthunkLru *rthunk_result_cache_new    (guint         max_count,
                                       gsize         max_bytes);
void       rthunk_result_cache_insert (RthunkLru    *cache,
                                       const guint8 *key,
                                       RthunkValue  *value);

G_END_DECLS
