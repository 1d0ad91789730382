/* rthunk-state-store.h — named, typed state cells a server holds (private,
 * never installed)
 *
 * `state-get`, `state-swap!` and `state-cas!` read and update them; a
 * cell's type is fixed by its first use. Updates of one cell are
 * serialised by its lock, updates of different cells run in parallel, and
 * values are immutable: an update swaps the cell's pointer under its lock.
 */
#pragma once

#include <glib.h>

#include "rthunk-catalog.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

typedef struct _RthunkStateStore RthunkStateStore;

/* A store; with @path (nullable), the cells saved there are loaded and
 * every update is saved there too, batched, off the request path. */
RthunkStateStore *rthunk_state_store_new       (const char        *path,
                                                GError           **error) G_GNUC_WARN_UNUSED_RESULT;
RthunkStateStore *rthunk_state_store_ref       (RthunkStateStore  *store);
/* The last unref saves what is unsaved. */
void              rthunk_state_store_unref     (RthunkStateStore  *store);
/* Adds state-get, state-swap! and state-cas! (flags io and state) and the
 * capability `state` to @catalog. */
void              rthunk_state_store_add_to    (RthunkStateStore  *store,
                                                RthunkCatalog     *catalog);
guint             rthunk_state_store_count     (RthunkStateStore  *store);
/* state-swap! and state-cas! calls that changed a cell. */
gint64            rthunk_state_store_updates   (RthunkStateStore  *store);
/* Each cell's name and type as text: name → type (both owned). */
GHashTable       *rthunk_state_store_types     (RthunkStateStore  *store) G_GNUC_WARN_UNUSED_RESULT;
/* Saves the cells now if an update is unsaved. */
gboolean          rthunk_state_store_flush     (RthunkStateStore  *store,
                                                GError           **error);

/* ---- the file (rthunk-state-file.c) ------------------------------------- */

/* One cell as the file holds it. */
typedef struct
{
  char *name;
  RthunkType *type;
  RthunkValue *value;
} RthunkStateEntry;

void       rthunk_state_entry_clear (RthunkStateEntry *entry);
/* Writes @entries (an array of RthunkStateEntry) to @path atomically: a
 * temporary file renamed over it. */
gboolean   rthunk_state_file_save   (const char        *path,
                                     GArray            *entries,
                                     GError           **error);
/* The entries saved in @path (none when it does not exist); a file that
 * is not one, or whose checksum does not match, is an error. */
GArray    *rthunk_state_file_load   (const char        *path,
                                     GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkStateStore, rthunk_state_store_unref)

G_END_DECLS
