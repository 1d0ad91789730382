/* rthunk-frame-private.h — what the frame files share.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-budget.h"
#include "rthunk-frame.h"
#include "rthunk-tls.h"

G_BEGIN_DECLS

/* A plain link's read-ahead: a read asks for this much, so that a small
 * frame's header and body (and the next frames, when they wait already)
 * arrive in one system call; what the frame did not need is kept here
 * for the next read. A read larger than this goes straight to its
 * buffer. */
#define RTHUNK_READAHEAD_BYTES 4096

struct _RthunkReadahead
{
  gsize start;                  /* the next byte to hand out */
  gsize end;                    /* past the last byte read */
  guint8 data[RTHUNK_READAHEAD_BYTES];
};

/* A caller's wait for a reply on a plain link: before it sleeps in
 * read(2), it reads without blocking for up to @max_us, so that a reply
 * that comes back within that is taken without waking a CPU that went
 * idle (on a virtual machine, tens of microseconds). A wait that spun for
 * nothing makes the next ones not spin, for twice as many replies each
 * time, up to RTHUNK_REPLY_SPIN_MAX_SKIP; one caught spinning starts
 * again: a server slower than @max_us, or CPUs too busy to answer within
 * it, costs a spin now and then, not one a call. */
#define RTHUNK_REPLY_SPIN_MAX_SKIP 256

struct _RthunkReplySpin
{
  guint max_us;                 /* 0: never spin */
  guint skip;                   /* replies to wait for without spinning */
  guint backoff;                /* what the next miss sets @skip to */
  gint caught;                  /* (atomic) replies caught spinning */
  gint missed;                  /* (atomic) spins that ended without one */
};

/* Whether input is there that poll() on @link's descriptor cannot see:
 * read ahead, or decrypted by its TLS session. */
gboolean rthunk_link_input_pending     (const RthunkLink  *link);

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
