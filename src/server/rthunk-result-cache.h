/* rthunk-result-cache.h — results of pure expressions by content.  Private. */
#pragma once

#include "rthunk-budget.h"
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
void               rthunk_result_cache_set_budget (RthunkResultCache *cache,
                                                   RthunkBudget      *budget);
gsize              rthunk_value_size          (RthunkValue        *value);

G_END_DECLS
