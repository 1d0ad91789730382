/* rthunk-bindings.h — a submission's inputs by name, as its thunk keeps
 * them.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Name → item pairs in the order the request gave them, made with one
 * allocation for at most the capacity it was made with; refcounted. */
typedef struct _RthunkBindings RthunkBindings;

RthunkBindings *rthunk_bindings_new     (guint                 capacity,
                                         gsize                 name_bytes,
                                         GDestroyNotify        item_free);
RthunkBindings *rthunk_bindings_ref     (RthunkBindings       *self);
void            rthunk_bindings_unref   (RthunkBindings       *self);
void            rthunk_bindings_add     (RthunkBindings       *self,
                                         const char           *name,
                                         gpointer              item);
guint           rthunk_bindings_len     (const RthunkBindings *self);
const char     *rthunk_bindings_name    (const RthunkBindings *self,
                                         guint                 k);
gpointer        rthunk_bindings_item    (const RthunkBindings *self,
                                         guint                 k);
guint          *rthunk_bindings_by_name (const RthunkBindings *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkBindings, rthunk_bindings_unref)

G_END_DECLS
