/* rthunk-frame.c — validated Thrift framed/binary messages
 *
 * A frame is a 4-byte big-endian signed length and then exactly one Thrift
 * binary-protocol message. rthunk_frame_read() reads one, refuses every
 * length it does not like before allocating, and walks the message with
 * rthunk_frame_validate() (rthunk-frame-validate.c) before any Thrift
 * decoder sees it; rthunk_frame_write_full() writes one. The transport
 * that serves a message to Thrift is in rthunk-frame-transport.c.
 *
 * Offsets in error messages count from the first byte of the message, that
 * is, after the 4-byte frame header.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <thrift/c_glib/protocol/thrift_protocol.h>

#include "rthunk-frame.h"
#include "rthunk-budget.h"
#include "rthunk-error.h"
#include "rthunk-frame-private.h"
#include "rthunk-tls.h"

#define FRAME_HEADER_BYTES 4


G_DEFINE_QUARK (rthunk-frame-error-quark, rthunk_frame_error)

/* ---- system errors ---------------------------------------------------- */

gboolean
rthunk_frame_errno_is_timeout (int errsv)
{
  if (errsv == EAGAIN)
    return TRUE;
#if EWOULDBLOCK != EAGAIN
  if (errsv == EWOULDBLOCK)
    return TRUE;
#endif
  return FALSE;
}

/* Sets TIMEOUT for an expired SO_RCVTIMEO/SO_SNDTIMEO, IO otherwise.
 * @doing completes "while …" and is already translated. Returns FALSE. */
gboolean
rthunk_frame_set_errno_error (GError     **error,
                              int          errsv,
                              const char  *doing)
{
  if (rthunk_frame_errno_is_timeout (errsv))
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("Timed out while %s"), doing);
  else
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                 _("Error while %s: %s"), doing, g_strerror (errsv));
  return FALSE;
}

/**
 * rthunk_frame_set_timeouts:
 * @fd: a socket descriptor
 * @timeout_ms: the receive and send timeout in milliseconds; 0 for none
 * @error: return location for a #GError
 *
 * Sets `SO_RCVTIMEO` and `SO_SNDTIMEO` on @fd, so that a blocked
 * rthunk_frame_read() or rthunk_frame_write() fails with
 * %RTHUNK_FRAME_ERROR_TIMEOUT instead of waiting forever for an idle peer.
 *
 * Returns: %TRUE on success, %FALSE with @error set (%RTHUNK_FRAME_ERROR_IO)
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_set_timeouts (int       fd,
                           guint     timeout_ms,
                           GError  **error)
{
  struct timeval tv;
  int errsv;

  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0
      && setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
    return TRUE;

  errsv = errno;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
               _("Cannot set socket timeouts: %s"), g_strerror (errsv));
  return FALSE;
}

/* ---- reading and writing frames ----------------------------------------- */

/* The whole-frame deadline: once a frame's first byte has arrived, the
 * rest must arrive within the budget, however it trickles in (a client
 * sending one byte a second would otherwise hold its thread forever).
 * A whole-call deadline (a client waiting for a reply) runs from before
 * the first byte: every read waits for at most what is left of it. */
typedef struct
{
  guint budget_ms;              /* 0: none */
  gint64 deadline_us;           /* 0: the frame has not started */
  gboolean whole_call;          /* @deadline_us was set before the first byte */
  gboolean begun;               /* a byte of the frame has arrived */
  gboolean alone;               /* no other thread of the process waits for
                                   a reply (whole-call reads only) */
} FrameClock;

/* How many threads wait for a whole-call reply on a link that may spin:
 * a caller spins for its reply only while it is the only one
 * (RthunkReplySpin), so that callers on many threads leave the CPUs to
 * the servers that answer them. */
static gint replies_awaited;

/**
 * rthunk_frame_replies_awaited:
 *
 * Returns: how many threads of the process wait now for the first byte
 *   of a reply on a transport with a reply spin
 *   (rthunk_frame_transport_set_reply_spin())
 *
 * Since: 0.1
 */
guint
rthunk_frame_replies_awaited (void)
{
  return (guint) g_atomic_int_get (&replies_awaited);
}

static gboolean
frame_clock_expired (FrameClock  *clock,
                     GError     **error)
{
  if (clock == NULL || clock->budget_ms == 0 || clock->deadline_us == 0 ||
      g_get_monotonic_time () <= clock->deadline_us)
    return FALSE;
  if (clock->whole_call)
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("the reply did not arrive whole within %u ms"), clock->budget_ms);
  else
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("the frame did not arrive whole within %u ms"), clock->budget_ms);
  return TRUE;
}

/* How late a read bounded by SO_RCVTIMEO may end after a deadline: the
 * kernel keeps that timeout in clock ticks (up to 10 ms each), and a
 * whole-call deadline is set just before the read. */
#define READ_BOUND_SLACK_US 10000

/* Whether a read(2) of @link, which waits at most the link's
 * SO_RCVTIMEO, returns by @clock's deadline (give or take
 * READ_BOUND_SLACK_US), so that it needs no poll() before it: one system
 * call a reply, not two. */
static gboolean
frame_clock_read_bounded (const FrameClock  *clock,
                          const RthunkLink  *link,
                          gint64             left_us)
{
  return !clock->begun && link->tls == NULL && link->read_wait_ms > 0 &&
         (gint64) link->read_wait_ms * 1000 <= left_us + READ_BOUND_SLACK_US;
}

/* Under a deadline (a whole call's, or a frame's once it began), waits
 * until @link has input or the deadline passed (then
 * frame_clock_expired() says so); before a frame's first byte without a
 * deadline, the read's own timeout bounds the wait. Input a TLS session
 * already decrypted is there at once: poll() cannot see it. */
static gboolean
frame_clock_wait (FrameClock        *clock,
                  const RthunkLink  *link,
                  GError           **error)
{
  struct pollfd p = { link->fd, POLLIN, 0 };
  gint64 left_us;
  int rc;

  if (clock == NULL || clock->deadline_us == 0 || rthunk_link_input_pending (link))
    return TRUE;
  if (frame_clock_read_bounded (clock, link, clock->deadline_us - g_get_monotonic_time ()))
    return TRUE;
  do
    {
      left_us = clock->deadline_us - g_get_monotonic_time ();
      rc = poll (&p, 1, left_us > 0 ? (int) MIN ((left_us + 999) / 1000, G_MAXINT) : 0);
    }
  while (rc < 0 && errno == EINTR);
  if (rc < 0)
    return rthunk_frame_set_errno_error (error, errno, _("reading a frame"));
  return rc > 0 || !frame_clock_expired (clock, error);
}

gboolean
rthunk_link_input_pending (const RthunkLink *link)
{
  if (link->tls != NULL)
    return rthunk_tls_input_pending (link->tls);
  return link->ahead != NULL && link->ahead->start < link->ahead->end;
}

/* Up to @len bytes of @link's read-ahead, if it holds any: how many. */
static gsize
take_ahead (const RthunkLink  *link,
            guint8            *buf,
            gsize              len)
{
  RthunkReadahead *ahead = link->ahead;
  gsize n;

  if (ahead == NULL || ahead->start >= ahead->end)
    return 0;
  n = MIN (len, ahead->end - ahead->start);
  memcpy (buf, ahead->data + ahead->start, n);
  ahead->start += n;
  return n;
}

/* One read(2) (recv(2) with @flags, when not 0) of @link's descriptor,
 * for @len bytes: into the read-ahead and handed out from it when @len is
 * smaller, so that what follows comes with it. */
static gssize
read_ahead (const RthunkLink  *link,
            guint8            *buf,
            gsize              len,
            int                flags)
{
  RthunkReadahead *ahead = link->ahead;
  gboolean via_ahead = ahead != NULL && len < sizeof ahead->data;
  guint8 *into = via_ahead ? ahead->data : buf;
  gsize want = via_ahead ? sizeof ahead->data : len;
  gssize n = flags != 0 ? recv (link->fd, into, want, flags) : read (link->fd, into, want);

  if (n <= 0 || !via_ahead)
    return n;
  ahead->start = 0;
  ahead->end = (gsize) n;
  return (gssize) take_ahead (link, buf, len);
}

/* One read of @link: read() on the plain path (what was read ahead
 * first), the session's otherwise. -1 with @error set on failure; or,
 * with @interrupted, -1 and *@interrupted set when a signal interrupted
 * the read (without it, the read is begun again). */
static inline gssize
link_read (const RthunkLink  *link,
           guint8            *buf,
           gsize              len,
           gboolean          *interrupted,
           GError           **error)
{
  gsize ready = take_ahead (link, buf, len);

  if (ready > 0)
    return (gssize) ready;
  for (;;)
    {
      gssize n;
      int errsv;

      if (link->tls != NULL)
        return rthunk_tls_read (link->tls, buf, len, error);
      n = read_ahead (link, buf, len, 0);
      if (n >= 0)
        return n;
      if ((errsv = errno) == EINTR && interrupted != NULL)
        {
          *interrupted = TRUE;
          return -1;
        }
      if (errsv != EINTR)
        {
          rthunk_frame_set_errno_error (error, errsv, _("reading a frame"));
          return -1;
        }
    }
}

/* What was read ahead; or, once a frame has begun under a deadline, the
 * rest of it, which is usually there already: a read that does not wait,
 * before poll(), saves a poll() a frame. -1 when nothing is there yet (or
 * @link is no plain socket): the caller waits as usual; 0 at the end of
 * the stream. */
static gssize
link_read_ready (const RthunkLink  *link,
                 FrameClock        *clock,
                 guint8            *buf,
                 gsize              len)
{
  gsize ready = take_ahead (link, buf, len);
  gssize n;

  if (ready > 0)
    return (gssize) ready;
  if (clock == NULL || clock->deadline_us == 0 || !clock->begun || link->tls != NULL)
    return -1;
  do
    n = read_ahead (link, buf, len, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n;
}

/* Before a whole-call reply's first byte, on a plain link with a spin:
 * reads without blocking for up to the spin's time (RthunkReplySpin).
 * What arrived (> 0), 0 at the end of the stream, or -1: nothing came,
 * the caller waits as usual. */
static gssize
link_read_spinning (const RthunkLink  *link,
                    const FrameClock  *clock,
                    guint8            *buf,
                    gsize              len)
{
  RthunkReplySpin *spin = link->spin;
  gint64 until;
  gssize n;

  if (spin == NULL || spin->max_us == 0 || clock == NULL || !clock->whole_call || clock->begun ||
      link->tls != NULL || !clock->alone)
    return -1;
  if (spin->skip > 0)
    {
      spin->skip--;
      return -1;
    }
  until = g_get_monotonic_time () + spin->max_us;
  do
    {
      n = read_ahead (link, buf, len, MSG_DONTWAIT);
      if (n >= 0)
        {
          g_atomic_int_inc (&spin->caught);
          spin->backoff = 0;
          return n;
        }
    }
  while ((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && g_get_monotonic_time () < until);
  g_atomic_int_inc (&spin->missed);
  spin->backoff = spin->backoff == 0 ? 1 : MIN (spin->backoff * 2, RTHUNK_REPLY_SPIN_MAX_SKIP);
  spin->skip = spin->backoff;
  return -1;
}

/* link_read() under @clock: -2 when a read that needed no poll() (see
 * frame_clock_read_bounded()) timed out near the deadline, or a signal
 * interrupted a read under a deadline: the caller looks at the clock
 * again. A read that waited
 * the link's whole timeout for a frame's first byte says so. */
static gssize
link_read_timed (const RthunkLink  *link,
                 FrameClock        *clock,
                 guint8            *buf,
                 gsize              len,
                 GError           **error)
{
  g_autoptr(GError) local = NULL;
  gboolean interrupted = FALSE;
  /* under a deadline a read a signal interrupted is not simply begun
   * again: it would wait its whole SO_RCVTIMEO once more */
  gssize n = link_read (link, buf, len, clock != NULL && clock->deadline_us != 0 ? &interrupted : NULL, &local);

  if (n >= 0)
    return n;
  if (interrupted)
    return -2;
  if (clock != NULL && !clock->begun &&
      g_error_matches (local, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT) && link->tls == NULL)
    {
      if (clock->deadline_us != 0)
        return -2;
      if (link->read_wait_ms > 0)
        {
          g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                       _("idle for %u ms: no frame began"), link->read_wait_ms);
          return -1;
        }
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return -1;
}

static gboolean
read_fully (const RthunkLink  *link,
            guint8      *buf,
            gsize        len,
            gsize       *got,
            FrameClock  *clock,
            GError     **error)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = link_read_ready (link, clock, buf + done, len - done);

      if (n < 0)
        n = link_read_spinning (link, clock, buf + done, len - done);
      if (n < 0 && (frame_clock_expired (clock, error) || !frame_clock_wait (clock, link, error)))
        {
          *got = done;
          return FALSE;
        }
      if (n < 0 && (n = link_read_timed (link, clock, buf + done, len - done, error)) == -2)
        continue;
      if (n > 0 && clock != NULL && clock->deadline_us == 0 && clock->budget_ms > 0)
        clock->deadline_us = g_get_monotonic_time () + (gint64) clock->budget_ms * 1000;
      if (n > 0 && clock != NULL)
        clock->begun = TRUE;
      if (n > 0)
        done += (gsize) n;
      else if (n == 0)
        break;
      else
        {
          *got = done;
          return FALSE;
        }
    }
  *got = done;
  return TRUE;
}

static gboolean
read_header (const RthunkLink  *link,
             gint32      *length,
             FrameClock  *clock,
             GError     **error)
{
  guint8 header[FRAME_HEADER_BYTES];
  guint32 be;
  gsize got;

  if (!read_fully (link, header, sizeof header, &got, clock, error))
    return FALSE;
  if (got == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_CLOSED,
                           _("connection closed by the peer"));
      return FALSE;
    }
  if (got < sizeof header)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("connection closed inside a frame header, after %zu of "
                     "4 bytes"), got);
      return FALSE;
    }
  memcpy (&be, header, sizeof be);
  *length = (gint32) GUINT32_FROM_BE (be);
  return TRUE;
}

static gboolean
check_frame_length (gint32    length,
                    gsize     max_bytes,
                    GError  **error)
{
  if (length == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_EMPTY,
                           _("zero-length frame"));
      return FALSE;
    }
  if (length > 0 && (gsize) length <= max_bytes)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
               _("frame length %d is not between 1 and %zu"), length,
               max_bytes);
  return FALSE;
}

/**
 * rthunk_frame_read:
 * @fd: a connected descriptor, blocking, ideally with rthunk_frame_set_timeouts()
 * @max_bytes: the largest frame body accepted; 0 for
 *   %RTHUNK_FRAME_DEFAULT_MAX_BYTES
 * @error: return location for a #GError
 *
 * Reads one frame and validates its message with rthunk_frame_validate()
 * and %RTHUNK_FRAME_MAX_DEPTH. The length is checked before anything is
 * allocated for the body.
 *
 * After any error but %RTHUNK_FRAME_ERROR_EMPTY,
 * %RTHUNK_FRAME_ERROR_TOO_DEEP or %RTHUNK_FRAME_ERROR_MALFORMED (which
 * consume exactly one frame) the position in the stream is unknown, and
 * the connection should be closed.
 *
 * Returns: (transfer full) (nullable): the message, without its header;
 *   %NULL with @error set on failure
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_read (int       fd,
                   gsize     max_bytes,
                   GError  **error)
{
  return rthunk_frame_read_within (fd, max_bytes, 0, error);
}

/**
 * rthunk_frame_read_within:
 * @fd: a connected descriptor
 * @max_bytes: the largest frame body accepted; 0 for the default
 * @budget_ms: once the frame's first byte arrived, how long the rest may
 *   take; 0 for no limit
 * @error: return location for a #GError
 *
 * rthunk_frame_read() with a whole-frame deadline: a peer that sends a
 * frame a byte at a time, slower than the budget allows, gets
 * %RTHUNK_FRAME_ERROR_TIMEOUT. (The socket timeouts bound each read, not
 * the frame.)
 *
 * Returns: (transfer full) (nullable): the message, or %NULL with @error set
 *
 * Since: 0.1
 */
/* A frame body charged to a memory budget: freeing it releases the charge. */
typedef struct
{
  RthunkBudget *budget;
  gsize length;
  guint8 data[];
} ChargedBody;

static void
charged_body_free (gpointer data)
{
  ChargedBody *body = data;

  rthunk_budget_release (body->budget, body->length + sizeof *body);
  g_free (body);
}

/* Room for a body of @length bytes, charged to @budget (if any) before
 * it is allocated; NULL with @error set when the budget has none. */
static guint8 *
alloc_body (RthunkBudget  *budget,
            gint32         length,
            ChargedBody  **charged,
            GError       **error)
{
  *charged = NULL;
  if (budget == NULL)
    return g_malloc ((gsize) length);
  if (!rthunk_budget_charge (budget, (guint64) length + sizeof (ChargedBody)))
    {
      g_autoptr(GError) refused = NULL;

      rthunk_budget_set_error (budget, &refused, RTHUNK_ERROR_OVERLOADED, _("a frame"), (guint64) length);
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE, refused->message);
      return NULL;
    }
  *charged = g_malloc (sizeof (ChargedBody) + (gsize) length);
  (*charged)->budget = budget;
  (*charged)->length = (gsize) length;
  return (*charged)->data;
}

GBytes *
rthunk_frame_read_message (const RthunkLink  *link,
                           gsize              max_bytes,
                           guint              budget_ms,
                           gint64             deadline_us,
                           gboolean           validate,
                           RthunkBudget      *memory,
                           GError           **error)
{
  ChargedBody *charged = NULL;
  g_autoptr(GBytes) message = NULL;
  FrameClock clock = { budget_ms, deadline_us, deadline_us != 0, FALSE, FALSE };
  guint8 *body;
  gint32 length;
  gsize got;
  gboolean counted = clock.whole_call && link->spin != NULL;
  gboolean header_read;

  if (max_bytes == 0)
    max_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  if (counted)
    clock.alone = g_atomic_int_add (&replies_awaited, 1) == 0;
  header_read = read_header (link, &length, &clock, error);
  if (counted)
    g_atomic_int_add (&replies_awaited, -1);
  if (!header_read
      || !check_frame_length (length, max_bytes, error)
      || (body = alloc_body (memory, length, &charged, error)) == NULL)
    return NULL;
  /* owned by the GBytes from now on, whatever happens */
  message = charged != NULL
    ? g_bytes_new_with_free_func (body, (gsize) length, charged_body_free, charged)
    : g_bytes_new_take (body, (gsize) length);
  if (!read_fully (link, body, (gsize) length, &got, &clock, error))
    return NULL;
  if (got < (gsize) length)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("connection closed inside a frame, after %zu of %d "
                     "bytes"), got, length);
      return NULL;
    }
  if (validate && !rthunk_frame_validate (body, (gsize) length, RTHUNK_FRAME_MAX_DEPTH, error))
    return NULL;
  return g_steal_pointer (&message);
}

GBytes *
rthunk_frame_read_within (int       fd,
                          gsize     max_bytes,
                          guint     budget_ms,
                          GError  **error)
{
  RthunkLink link = { fd, NULL };

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return rthunk_frame_read_message (&link, max_bytes, budget_ms, 0, TRUE, NULL, error);
}

/* sendmsg() for MSG_NOSIGNAL on sockets (and @flags); writev() for pipes
 * and files. */
static gssize
send_iov (int           fd,
          struct iovec *iov,
          int           n_iov,
          int           flags)
{
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t) n_iov;
  n = sendmsg (fd, &msg, MSG_NOSIGNAL | flags);
  if (n < 0 && errno == ENOTSOCK)
    n = writev (fd, iov, n_iov);
  return n;
}

static void
advance_iov (struct iovec **iov,
             int           *n_iov,
             gsize          n)
{
  while (*n_iov > 0 && n >= (*iov)->iov_len)
    {
      n -= (*iov)->iov_len;
      (*iov)++;
      (*n_iov)--;
    }
  if (*n_iov > 0)
    {
      (*iov)->iov_base = (guint8 *) (*iov)->iov_base + n;
      (*iov)->iov_len -= n;
    }
}

/* Waits until @link can be written, for at most @timeout_ms (0: no limit),
 * reading its input with @drain meanwhile while *@watch_input. FALSE with
 * @error when the time is up, poll() failed or @drain did. */
static gboolean
wait_writable (const RthunkLink      *link,
               guint                  timeout_ms,
               RthunkFrameDrainFunc   drain,
               gpointer               user_data,
               gboolean              *watch_input,
               GError               **error)
{
  for (;;)
    {
      struct pollfd p = { link->fd, POLLOUT | (*watch_input ? POLLIN : 0), 0 };
      int rc;

      /* read ahead, or a TLS session's: input that poll() does not see */
      if (*watch_input && rthunk_link_input_pending (link))
        rc = 1, p.revents = POLLIN;
      else
        rc = poll (&p, 1, timeout_ms > 0 ? (int) MIN (timeout_ms, G_MAXINT) : -1);
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        return rthunk_frame_set_errno_error (error, errno, _("writing a frame"));
      if (rc == 0)
        return rthunk_frame_set_errno_error (error, EAGAIN, _("writing a frame"));
      if ((p.revents & POLLIN) == 0 || !*watch_input)
        return TRUE;
      if (!drain (user_data, watch_input, error))
        return FALSE;
    }
}

/* One write of @iov to @link: the bytes written, 0 when @nonblocking and
 * nothing could be, -1 with @error set. */
static inline gssize
link_send (const RthunkLink  *link,
           struct iovec      *iov,
           int                n_iov,
           gboolean           nonblocking,
           GError           **error)
{
  for (;;)
    {
      gssize n;
      int errsv;

      if (link->tls != NULL)
        return rthunk_tls_writev (link->tls, iov, n_iov, nonblocking, error);
      n = send_iov (link->fd, iov, n_iov, nonblocking ? MSG_DONTWAIT : 0);
      if (n > 0)
        return n;
      errsv = n == 0 ? EIO : errno;
      if (errsv == EINTR)
        continue;
      if (nonblocking && rthunk_frame_errno_is_timeout (errsv))
        return 0;
      rthunk_frame_set_errno_error (error, errsv, _("writing a frame"));
      return -1;
    }
}

/* Writes @iov: blocking, or (with @drain) as @link becomes writable,
 * without blocking, draining its input meanwhile. */
static gboolean
write_iov (const RthunkLink      *link,
           struct iovec          *iov,
           int                    n_iov,
           guint                  timeout_ms,
           RthunkFrameDrainFunc   drain,
           gpointer               user_data,
           GError               **error)
{
  gboolean watch_input = drain != NULL;

  while (n_iov > 0)
    {
      gssize n;

      if (drain != NULL && !wait_writable (link, timeout_ms, drain, user_data, &watch_input, error))
        return FALSE;
      if ((n = link_send (link, iov, n_iov, drain != NULL, error)) < 0)
        return FALSE;
      advance_iov (&iov, &n_iov, (gsize) n);
    }
  return TRUE;
}

/**
 * rthunk_frame_write:
 * @fd: a connected descriptor
 * @data: (array length=len): one message, without a frame header
 * @len: the length of @data, 1 to %G_MAXINT32
 * @error: return location for a #GError
 *
 * Writes the 4-byte header and @data as one frame, resuming after partial
 * writes and %EINTR. Sockets are written with `MSG_NOSIGNAL`, so a peer that
 * went away gives %RTHUNK_FRAME_ERROR_IO (`EPIPE`), not `SIGPIPE`.
 *
 * Returns: %TRUE on success; %FALSE with @error set to
 *   %RTHUNK_FRAME_ERROR_EMPTY, %RTHUNK_FRAME_ERROR_TOO_LARGE,
 *   %RTHUNK_FRAME_ERROR_TIMEOUT or %RTHUNK_FRAME_ERROR_IO
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_write (int            fd,
                    const guint8  *data,
                    gsize          len,
                    GError       **error)
{
  return rthunk_frame_write_full (fd, data, len, 0, NULL, NULL, error);
}

/**
 * rthunk_frame_write_full:
 * @fd: a connected descriptor
 * @data: (array length=len): one message, without a frame header
 * @len: the length of @data, 1 to %G_MAXINT32
 * @timeout_ms: with @drain, how long to wait for @fd to take more bytes
 *   (0: no limit); without, unused (the descriptor's own send timeout
 *   counts)
 * @drain: (nullable) (scope call) (closure user_data): reads what arrives
 *   on @fd while the frame goes out
 * @user_data: data for @drain
 * @error: return location for a #GError
 *
 * Writes a frame as rthunk_frame_write() does. With @drain, it does not
 * block: while @fd cannot take more, input that arrives on it (the replies
 * to frames sent before, say) is handed to @drain, so that neither side
 * stops the other by filling its socket. @drain says whether to keep
 * watching the input; returning %FALSE with its error, it ends the write.
 *
 * Returns: %TRUE on success; %FALSE with @error set as for
 *   rthunk_frame_write(), or to @drain's error
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_write_full (int                    fd,
                         const guint8          *data,
                         gsize                  len,
                         guint                  timeout_ms,
                         RthunkFrameDrainFunc   drain,
                         gpointer               user_data,
                         GError               **error)
{
  RthunkLink link = { fd, NULL };

  g_return_val_if_fail (fd >= 0, FALSE);

  return rthunk_frame_write_link (&link, data, len, timeout_ms, drain, user_data, error);
}

/* rthunk_frame_write_full() on @link. */
gboolean
rthunk_frame_write_link (const RthunkLink      *link,
                         const guint8          *data,
                         gsize                  len,
                         guint                  timeout_ms,
                         RthunkFrameDrainFunc   drain,
                         gpointer               user_data,
                         GError               **error)
{
  struct iovec iov[2];
  guint32 be;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_EMPTY,
                           _("refusing to send a zero-length frame"));
      return FALSE;
    }
  if (len > G_MAXINT32)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("a message of %zu bytes does not fit in a frame"), len);
      return FALSE;
    }

  be = GUINT32_TO_BE ((guint32) len);
  iov[0].iov_base = &be;
  iov[0].iov_len = sizeof be;
  iov[1].iov_base = (gpointer) data;
  iov[1].iov_len = len;
  return write_iov (link, iov, G_N_ELEMENTS (iov), timeout_ms, drain, user_data, error);
}
