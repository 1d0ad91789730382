/* rthunk-result-cache.h — results of pure expressions by content.  Private. */
#pragma once

#include "rthunk-value.h"

G_BEGIN_DECLS

typedef struct _RthunkResultCache RthunkResultCache;

RthunkResultCache *rthunk_result_cache_new    (guint               max_count,
                                               gsize               max_bytes);
void               rthunk_result_cache_free   (RthunkResultCache  *cache);
RthunkValue       *rthunk_result_cache_lookup (RthunkResultCache  *cache,
                                               const guint8       *key);
void               rthunk_result_cache_insert (RthunkResultCache  *cache,
                                               const guint8       *key,
                                               RthunkValue        *value);
gsize              rthunk_value_size          (RthunkValue        *value);

G_END_DECLS
