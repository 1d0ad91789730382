/* rthunk-lru.h — a bounded store of refcounted items by content hash,
 * least recently used out first.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-budget.h"
#include "rthunk-hash.h"

G_BEGIN_DECLS

typedef struct _RthunkLru RthunkLru;

/* What the store charges for an entry besides its item's bytes: its own
 * allocation and its share of the index (rthunk-lru.c). */
#define RTHUNK_LRU_ENTRY_BYTES 112

typedef enum {
  RTHUNK_LRU_ADDED,
  RTHUNK_LRU_PRESENT,           /* the key was there: nothing done */
  RTHUNK_LRU_REFUSED            /* the budget had no room, or the item could
                                 * never stay (see rthunk_lru_insert()):
                                 * nothing done */
} RthunkLruInsert;

/* Takes a new reference to an item, or drops one. */
typedef gpointer (*RthunkLruRefFunc) (gpointer item);

RthunkLru *rthunk_lru_new    (guint             max_count,
                              gsize             max_bytes,
                              guint             min_kept,
                              RthunkLruRefFunc  ref,
                              GDestroyNotify    unref);
void       rthunk_lru_free   (RthunkLru        *lru);
gpointer   rthunk_lru_lookup (RthunkLru        *lru,
                              const guint8     *key);
RthunkLruInsert rthunk_lru_insert (RthunkLru        *lru,
                              const guint8     *key,
                              gpointer          item,
                              gsize             bytes);
guint      rthunk_lru_size   (RthunkLru        *lru);
void       rthunk_lru_set_budget (RthunkLru    *lru,
                                  RthunkBudget *budget);

G_END_DECLS
