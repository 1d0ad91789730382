/* rthunk-orphan-reaper.h — thunks whose client has gone, cancelled after a
 * grace period.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-conn-account.h"
#include "rthunk-thunk-table.h"

G_BEGIN_DECLS

/* How long the thunks of a closed connection wait for another connection
 * to name them (a client that reconnects and asks for its results) before
 * they are cancelled. */
#define RTHUNK_ORPHAN_GRACE_MS 5000

typedef struct _RthunkOrphanReaper RthunkOrphanReaper;

/* @on_cancelled is called with the number of thunks cancelled while queued. */
RthunkOrphanReaper *rthunk_orphan_reaper_new  (RthunkThunkTable   *table,
                                               void              (*on_cancelled) (gpointer data, guint n),
                                               gpointer            data);
void                rthunk_orphan_reaper_add  (RthunkOrphanReaper *reaper,
                                               RthunkConnAccount  *account);
void                rthunk_orphan_reaper_free (RthunkOrphanReaper *reaper);

G_END_DECLS
