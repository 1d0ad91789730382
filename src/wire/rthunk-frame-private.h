/* rthunk-frame-private.h — what the frame files share.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-budget.h"
#include "rthunk-frame.h"
#include "rthunk-tls.h"

G_BEGIN_DECLS

/* Whether @errsv is a socket timeout (EAGAIN/EWOULDBLOCK). */
gboolean rthunk_frame_errno_is_timeout (int          errsv);
/* Sets @error from @errsv: TIMEOUT, CLOSED or IO, saying what it was @doing. */
gboolean rthunk_frame_set_errno_error  (GError     **error,
                                        int          errsv,
                                        const char  *doing);
/* One frame's message from @link (validated if @validate), within
 * @budget_ms once its first byte came — or, with @deadline_us (monotonic;
 * 0: none), all of it by then, which @budget_ms names in the error —
 * charged to @memory (if any) while it lives. */
GBytes  *rthunk_frame_read_message     (const RthunkLink  *link,
                                        gsize              max_bytes,
                                        guint              budget_ms,
                                        gint64             deadline_us,
                                        gboolean           validate,
                                        RthunkBudget      *memory,
                                        GError           **error);
/* rthunk_frame_write_full() on @link. */
gboolean rthunk_frame_write_link       (const RthunkLink      *link,
                                        const guint8          *data,
                                        gsize                  len,
                                        guint                  timeout_ms,
                                        RthunkFrameDrainFunc   drain,
                                        gpointer               user_data,
                                        GError               **error);

G_END_DECLS
