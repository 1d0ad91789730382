/* rthunk-def-store.c — content-addressed definitions a server holds
 *
 * Definitions by hash, bounded in count and bytes; the least recently used
 * are forgotten first (a client that needs one again gets
 * MissingDefinitions and sends it again). One lock; lookups move the entry
 * to the back of the queue.
 */
#include "config.h"

#include <string.h>

#include "rthunk-def-store.h"
#include "rthunk-hash.h"
#include "rthunk-node.h"
#include "rthunk-type.h"

struct _RthunkDefStore
{
  GMutex lock;
  GHashTable *by_hash;          /* hash (inside the definition) → GList link */
  GQueue lru;                   /* definitions, least recently used first */
  guint max_count;
  gsize max_bytes;
  gsize bytes;
};

RthunkDefinition *
rthunk_definition_ref (RthunkDefinition *def)
{
  g_atomic_int_inc (&def->ref_count);
  return def;
}

void
rthunk_definition_unref (RthunkDefinition *def)
{
  if (!g_atomic_int_dec_and_test (&def->ref_count))
    return;
  for (guint k = 0; k < def->n_uses; k++)
    g_free (def->uses[k].name);
  g_free (def->uses);
  g_clear_pointer (&def->form, rthunk_node_unref);
  g_clear_pointer (&def->type, rthunk_type_unref);
  g_free (def);
}

static guint
hash_hash (gconstpointer key)
{
  guint h;

  memcpy (&h, key, sizeof h);
  return h;
}

static gboolean
hash_equal (gconstpointer a,
            gconstpointer b)
{
  return memcmp (a, b, RTHUNK_HASH_LEN) == 0;
}

RthunkDefStore *
rthunk_def_store_new (guint max_count,
                      gsize max_bytes)
{
  RthunkDefStore *store = g_new0 (RthunkDefStore, 1);

  g_mutex_init (&store->lock);
  store->by_hash = g_hash_table_new (hash_hash, hash_equal);
  g_queue_init (&store->lru);
  store->max_count = MAX (max_count, 1);
  store->max_bytes = MAX (max_bytes, 1);
  return store;
}

void
rthunk_def_store_free (RthunkDefStore *store)
{
  g_hash_table_unref (store->by_hash);
  g_queue_clear_full (&store->lru, (GDestroyNotify) rthunk_definition_unref);
  g_mutex_clear (&store->lock);
  g_free (store);
}

/* A new reference to the definition with @hash, or NULL. */
RthunkDefinition *
rthunk_def_store_lookup (RthunkDefStore *store,
                         const guint8   *hash)
{
  RthunkDefinition *def = NULL;
  GList *link;

  g_mutex_lock (&store->lock);
  link = g_hash_table_lookup (store->by_hash, hash);
  if (link != NULL)
    {
      g_queue_unlink (&store->lru, link);
      g_queue_push_tail_link (&store->lru, link);
      def = rthunk_definition_ref (link->data);
    }
  g_mutex_unlock (&store->lock);
  return def;
}

static void
evict_locked (RthunkDefStore *store)
{
  while (store->lru.length > store->max_count ||
         (store->bytes > store->max_bytes && store->lru.length > 1))
    {
      RthunkDefinition *old = g_queue_pop_head (&store->lru);

      g_hash_table_remove (store->by_hash, old->hash);
      store->bytes -= old->bytes;
      rthunk_definition_unref (old);
    }
}

/* Adds @def (taking a reference); FALSE if that hash was there already. */
gboolean
rthunk_def_store_insert (RthunkDefStore   *store,
                         RthunkDefinition *def)
{
  gboolean added = FALSE;

  g_mutex_lock (&store->lock);
  if (!g_hash_table_contains (store->by_hash, def->hash))
    {
      g_queue_push_tail (&store->lru, rthunk_definition_ref (def));
      g_hash_table_insert (store->by_hash, def->hash, store->lru.tail);
      store->bytes += def->bytes;
      evict_locked (store);
      added = TRUE;
    }
  g_mutex_unlock (&store->lock);
  return added;
}

guint
rthunk_def_store_size (RthunkDefStore *store)
{
  guint n;

  g_mutex_lock (&store->lock);
  n = store->lru.length;
  g_mutex_unlock (&store->lock);
  return n;
}
