/* rthunk-long-watch.h — thunks that prove long give up their worker slot.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RthunkLongWatch RthunkLongWatch;
typedef struct _RthunkLongSlot RthunkLongSlot;

RthunkLongWatch *rthunk_long_watch_new        (GThreadPool     *pool,
                                               guint            workers,
                                               guint            long_ms);
void             rthunk_long_watch_stop       (RthunkLongWatch *watch);
void             rthunk_long_watch_free       (RthunkLongWatch *watch);
RthunkLongSlot  *rthunk_long_watch_enter      (RthunkLongWatch *watch);
void             rthunk_long_watch_leave      (RthunkLongWatch *watch,
                                               RthunkLongSlot  *slot);
guint64          rthunk_long_watch_total_long (RthunkLongWatch *watch);

G_END_DECLS
