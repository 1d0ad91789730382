/* rthunk-frame-private.h — what the frame files share.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether @errsv is a socket timeout (EAGAIN/EWOULDBLOCK). */
gboolean rthunk_frame_errno_is_timeout (int          errsv);
/* Sets @error from @errsv: TIMEOUT, CLOSED or IO, saying what it was @doing. */
gboolean rthunk_frame_set_errno_error  (GError     **error,
                                        int          errsv,
                                        const char  *doing);
/* One frame's message from @fd (validated if @validate), within @budget_ms
 * once its first byte came. */
GBytes  *rthunk_frame_read_message     (int          fd,
                                        gsize        max_bytes,
                                        guint        budget_ms,
                                        gboolean     validate,
                                        GError     **error);
/* The same, all of it by @deadline_us (monotonic; 0: none), which
 * @budget_ms names in the error. */
GBytes  *rthunk_frame_read_reply       (int          fd,
                                        gsize        max_bytes,
                                        guint        budget_ms,
                                        gint64       deadline_us,
                                        gboolean     validate,
                                        GError     **error);

G_END_DECLS
