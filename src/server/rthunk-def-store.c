/* rthunk-def-store.c — content-addressed definitions a server holds
 *
 * Definitions by hash in an RthunkLru, bounded in count and bytes; the
 * least recently used are forgotten first (a client that needs one again
 * gets MissingDefinitions and sends it again), also when the server's
 * budget needs room (rthunk_lru_set_budget()).
 */
#include "config.h"

#include "rthunk-def-store.h"
#include "rthunk-core-private.h"
#include "rthunk-lru.h"
#include "rthunk-hash.h"
#include "rthunk-node.h"
#include "rthunk-type.h"

/* A new definition, zeroed, to be released with rthunk_definition_unref(). */
RthunkDefinition *
rthunk_definition_new (void)
{
  return g_atomic_rc_box_new0 (RthunkDefinition);
}

static void
definition_clear (RthunkDefinition *def)
{
  for (guint k = 0; k < def->n_uses; k++)
    g_free (def->uses[k].name);
  g_free (def->uses);
  g_clear_pointer (&def->form, rthunk_node_unref);
  g_clear_pointer (&def->type, rthunk_type_unref);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkDefinition, rthunk_definition, definition_clear)

RthunkLru *
rthunk_def_store_new (guint max_count,
                      gsize max_bytes)
{
  /* the definition just stored is kept even when it alone is over the
   * byte bound: the request that brought it needs it */
  return rthunk_lru_new (MAX (max_count, 1), MAX (max_bytes, 1), 1,
                         (RthunkLruRefFunc) rthunk_definition_ref,
                         (GDestroyNotify) rthunk_definition_unref);
}

/* Adds @def (taking a reference): RTHUNK_LRU_PRESENT if that hash was
 * there already, RTHUNK_LRU_REFUSED if the server's budget has no room. */
RthunkLruInsert
rthunk_def_store_insert (RthunkLru        *store,
                         RthunkDefinition *def)
{
  return rthunk_lru_insert (store, def->hash, def, def->bytes);
}
