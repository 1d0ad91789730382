/* rthunk-def-address-memo.c — the content addresses of defn forms, remembered
 *
 * A definition's address (rthunk_hash_definition()) depends on its form and
 * on how each free name in it resolved: to another definition (whose
 * address is part of the bytes hashed) or to none. Forms are immutable
 * trees, so an address computed once holds as long as each of those names
 * resolves to the same form again, recursively; the client checks that
 * (rthunk-client-request.c) and hashes only what changed. Without it every
 * request calling a defn hashed the defn again, twice (to decide whether
 * it may be queued, then to send it). Shared by every client of the
 * process, bounded.
 */
#include "config.h"

#include <string.h>

#include "rthunk-client-internal.h"
#include "rthunk-node.h"

#define DEF_ADDRESS_MAX 1024          /* forms remembered; all forgotten past it */

typedef struct
{
  RthunkNode *form;                   /* a reference: the key */
  guint8 hash[RTHUNK_HASH_LEN];
  GArray *uses;                       /* RthunkDefUse */
} DefAddress;

static GMutex memo_lock;
static GHashTable *memo;              /* RthunkNode * → DefAddress */

static void
def_address_free (gpointer data)
{
  DefAddress *address = data;

  rthunk_node_unref (address->form);
  g_array_unref (address->uses);
  g_free (address);
}

static void
def_use_clear (gpointer data)
{
  RthunkDefUse *use = data;

  g_free (use->name);
  g_clear_pointer (&use->form, rthunk_node_unref);
}

/* A new, empty list of uses for rthunk_client_def_address_store(). */
GArray *
rthunk_client_def_uses_new (void)
{
  GArray *uses = g_array_new (FALSE, FALSE, sizeof (RthunkDefUse));

  g_array_set_clear_func (uses, def_use_clear);
  return uses;
}

/* Notes that @name resolved to @form (%NULL: to no definition). */
void
rthunk_client_def_uses_add (GArray     *uses,
                            const char *name,
                            RthunkNode *form)
{
  RthunkDefUse use = { g_strdup (name), form != NULL ? rthunk_node_ref (form) : NULL };

  g_array_append_val (uses, use);
}

/* The address remembered for @form and how its names resolved then
 * (a new reference in *@uses), or %FALSE. */
gboolean
rthunk_client_def_address_lookup (RthunkNode  *form,
                                  guint8       hash[RTHUNK_HASH_LEN],
                                  GArray     **uses)
{
  DefAddress *address;

  g_mutex_lock (&memo_lock);
  address = memo != NULL ? g_hash_table_lookup (memo, form) : NULL;
  if (address != NULL)
    {
      memcpy (hash, address->hash, RTHUNK_HASH_LEN);
      *uses = g_array_ref (address->uses);
    }
  g_mutex_unlock (&memo_lock);
  return address != NULL;
}

/* Remembers @form's address and how its names resolved (@uses, a reference
 * is taken). */
void
rthunk_client_def_address_store (RthunkNode   *form,
                                 const guint8  hash[RTHUNK_HASH_LEN],
                                 GArray       *uses)
{
  DefAddress *address = g_new (DefAddress, 1);

  address->form = rthunk_node_ref (form);
  memcpy (address->hash, hash, RTHUNK_HASH_LEN);
  address->uses = g_array_ref (uses);
  g_mutex_lock (&memo_lock);
  if (memo == NULL)
    memo = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, def_address_free);
  if (g_hash_table_size (memo) >= DEF_ADDRESS_MAX)
    g_hash_table_remove_all (memo);
  g_hash_table_replace (memo, form, address);
  g_mutex_unlock (&memo_lock);
}
