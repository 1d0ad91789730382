/* rthunk-frame-transport.c — a ThriftTransport that serves one validated
 * message at a time
 *
 * RthunkFrameTransport serves the message rthunk-frame.c read to Thrift's
 * binary protocol and fails, instead of looping or blocking, when a decoder
 * asks for more than the message holds.
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

#include "rthunk-frame-private.h"
#include "rthunk-frame.h"
#include "rthunk-tls.h"

/* ---- RthunkFrameTransport ----------------------------------------------- */

/**
 * RthunkFrameTransport:
 *
 * A #ThriftTransport for one connection (or for memory) that hands Thrift's
 * binary protocol one validated message at a time.
 *
 * Reads are served from the current message and are all or nothing: asking
 * for more than the message has left fails with
 * %RTHUNK_FRAME_ERROR_TRUNCATED, never loops and never blocks. When the
 * message is used up and thrift_transport_read_end() marked its end, the
 * next read receives the next frame from the descriptor (that is how a
 * client reads a reply). Writes collect a message that
 * thrift_transport_flush() sends as one frame.
 *
 * The transport keeps #ThriftTransport's `remainingMessageSize_` and
 * `knowMessageSize_` equal to what is left of, and the size of, the
 * current message, which is what the binary protocol checks container
 * counts against.
 *
 * Since: 0.1
 */
struct _RthunkFrameTransport
{
  ThriftTransport  parent_instance;

  RthunkLink       link;           /* fd -1 in memory mode and once closed */
  gboolean         memory_mode;
  gsize            max_frame_bytes;
  guint            frame_budget_ms; /* whole-frame deadline; 0: none */
  RthunkBudget    *memory;         /* (nullable) charged for frames read */
  guint            call_budget_ms;  /* whole-call deadline of a receive; 0: none */
  guint            wait_ms;         /* more for the next receive (a long poll) */

  GBytes          *input;          /* the message being decoded, or NULL */
  gsize            input_pos;
  gboolean         input_checked;  /* validated (it is before any read) */
  gboolean         check_on_read;  /* receive leaves validation to the first read */
  gboolean         at_boundary;    /* no message begun since read_end */

  GByteArray      *output;
};

G_DEFINE_FINAL_TYPE (RthunkFrameTransport, rthunk_frame_transport,
                     THRIFT_TYPE_TRANSPORT)

static gsize
input_left (RthunkFrameTransport *self)
{
  if (self->input == NULL)
    return 0;
  return g_bytes_get_size (self->input) - self->input_pos;
}

/* The transport a method was called on, unchecked: Thrift calls these
 * only on an RthunkFrameTransport, and the checked cast
 * (g_type_check_instance_cast(), ~65 instructions) came several times a
 * request. */
static inline RthunkFrameTransport *
self_of (ThriftTransport *transport)
{
  return (RthunkFrameTransport *) transport;
}

static void
set_budget (RthunkFrameTransport *self,
            glong                 known,
            glong                 remaining)
{
  ThriftTransport *transport = &self->parent_instance;

  transport->knowMessageSize_ = known;
  transport->remainingMessageSize_ = remaining;
}

static void
drop_input (RthunkFrameTransport *self)
{
  g_clear_pointer (&self->input, g_bytes_unref);
  self->input_pos = 0;
  set_budget (self, 0, 0);
}

static void
load_message (RthunkFrameTransport *self,
              GBytes               *message)
{
  glong size = (glong) g_bytes_get_size (message);

  drop_input (self);
  self->input = g_bytes_ref (message);
  self->input_checked = TRUE;
  self->at_boundary = FALSE;
  set_budget (self, size, size);
}

static gboolean
set_closed_error (GError **error)
{
  g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                       _("the connection is closed"));
  return FALSE;
}

static gboolean
close_fd (RthunkFrameTransport  *self,
          GError               **error)
{
  int fd = self->link.fd;
  int errsv;

  if (fd < 0)
    return TRUE;
  self->link.fd = -1;
  g_clear_pointer (&self->link.ahead, g_free);
  g_clear_pointer (&self->link.spin, g_free);
  shutdown (fd, SHUT_RDWR);  /* fails harmlessly on a non-socket */
  if (self->link.tls != NULL)
    {
      /* the session owns the descriptor */
      rthunk_tls_close (g_steal_pointer (&self->link.tls));
      return TRUE;
    }
  if (close (fd) == 0)
    return TRUE;
  errsv = errno;
  if (errsv == EINTR)  /* Linux has closed it anyway */
    return TRUE;
  return rthunk_frame_set_errno_error (error, errsv, _("closing the connection"));
}

static gboolean
rthunk_frame_transport_is_open (ThriftTransport *transport)
{
  RthunkFrameTransport *self = self_of (transport);

  return self->memory_mode || self->link.fd >= 0;
}

/* Non-blocking: TRUE while the peer may still send, FALSE once it closed. */
static gboolean
peek_fd (int       fd,
         GError  **error)
{
  for (;;)
    {
      guint8 byte;
      gssize n = recv (fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      int errsv = errno;

      if (n >= 0)
        return n > 0;
      if (rthunk_frame_errno_is_timeout (errsv) || errsv == ENOTSOCK)
        return TRUE;
      if (errsv != EINTR)
        return rthunk_frame_set_errno_error (error, errsv, _("peeking at the connection"));
    }
}

static gboolean
rthunk_frame_transport_peek (ThriftTransport  *transport,
                             GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  if (input_left (self) > 0 || rthunk_link_input_pending (&self->link))
    return TRUE;
  if (self->link.fd < 0)
    return FALSE;
  return peek_fd (self->link.fd, error);
}

static gboolean
rthunk_frame_transport_open (ThriftTransport  *transport,
                             GError          **error)
{
  if (rthunk_frame_transport_is_open (transport))
    return TRUE;
  return set_closed_error (error);
}

static gboolean
rthunk_frame_transport_close (ThriftTransport  *transport,
                              GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  drop_input (self);
  self->at_boundary = TRUE;
  return close_fd (self, error);
}

/* In fd mode, between messages, receives the next one. */
static gboolean
ensure_input (RthunkFrameTransport  *self,
              GError               **error)
{
  if (input_left (self) > 0 || !self->at_boundary || self->memory_mode)
    return TRUE;
  return rthunk_frame_transport_receive (self, error);
}

/* Thrift 0.17 does not always stop at the first failure: read_list_begin
 * and read_map_begin ask for "count × -1" bytes after
 * get_min_serialized_size() failed on an unknown type code, and a reader
 * may go on after a nested read failed. The first error stands; setting
 * another over it is a GLib warning (regressions/…/gerror-twice-*.bin). */
static gboolean
error_pending (GError **error)
{
  return error != NULL && *error != NULL;
}

static gint32
rthunk_frame_transport_read (ThriftTransport  *transport,
                             gpointer          buf,
                             guint32           len,
                             GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  if (error_pending (error))
    return -1;
  if (len == 0)
    return 0;
  if (!ensure_input (self, error))
    return -1;
  if (!rthunk_frame_transport_check_input (self, error))
    return -1;
  if (len > input_left (self))
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("read of %u bytes past the end of the message "
                     "(%zu bytes left)"), len, input_left (self));
      return -1;
    }
  memcpy (buf, (const guint8 *) g_bytes_get_data (self->input, NULL)
               + self->input_pos, len);
  self->input_pos += len;
  transport->remainingMessageSize_ = MAX (transport->remainingMessageSize_
                                          - (glong) len, 0);
  return (gint32) len;
}

/* Reads are already all or nothing; ThriftTransport's own read_all would
 * loop forever on a read that returns 0. */
static gint32
rthunk_frame_transport_read_all (ThriftTransport  *transport,
                                 gpointer          buf,
                                 guint32           len,
                                 GError          **error)
{
  return rthunk_frame_transport_read (transport, buf, len, error);
}

static gboolean
rthunk_frame_transport_read_end (ThriftTransport  *transport,
                                 GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  drop_input (self);
  self->at_boundary = TRUE;
  return TRUE;
}

static gboolean
rthunk_frame_transport_write (ThriftTransport  *transport,
                              const gpointer    buf,
                              const guint32     len,
                              GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  if (!rthunk_frame_transport_is_open (transport))
    return set_closed_error (error);
  if (len > self->max_frame_bytes - self->output->len)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("message exceeds the frame limit of %zu bytes"),
                   self->max_frame_bytes);
      return FALSE;
    }
  g_byte_array_append (self->output, buf, len);
  return TRUE;
}

static gboolean
rthunk_frame_transport_write_end (ThriftTransport  *transport,
                                  GError          **error)
{
  return TRUE;
}

static gboolean
rthunk_frame_transport_flush (ThriftTransport  *transport,
                              GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);
  gboolean sent;

  if (self->memory_mode)
    return TRUE;  /* kept for rthunk_frame_transport_take_output() */
  if (self->link.fd < 0)
    return set_closed_error (error);
  if (self->output->len == 0)
    return TRUE;
  sent = rthunk_frame_write_link (&self->link, self->output->data, self->output->len,
                                  0, NULL, NULL, error);
  g_byte_array_set_size (self->output, 0);
  return sent;
}

static gboolean
rthunk_frame_transport_check_read_bytes_available (ThriftTransport  *transport,
                                                   glong             num_bytes,
                                                   GError          **error)
{
  if (error_pending (error))
    return FALSE;
  if (num_bytes >= 0 && num_bytes <= transport->remainingMessageSize_)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
               _("the decoder expects %ld bytes but the message has %ld left"),
               num_bytes, transport->remainingMessageSize_);
  return FALSE;
}

/* A negative @new_size means "no limit": all that is left of the message. */
static gboolean
rthunk_frame_transport_reset_consumed_message_size (ThriftTransport  *transport,
                                                    glong             new_size,
                                                    GError          **error)
{
  RthunkFrameTransport *self = self_of (transport);

  if (new_size < 0)
    new_size = (glong) input_left (self);
  if (new_size > transport->knowMessageSize_)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("message size %ld exceeds the known size %ld"),
                   new_size, transport->knowMessageSize_);
      return FALSE;
    }
  set_budget (self, new_size, new_size);
  return TRUE;
}

static gboolean
rthunk_frame_transport_count_consumed_message_bytes (ThriftTransport  *transport,
                                                     glong             num_bytes,
                                                     GError          **error)
{
  if (num_bytes >= 0 && num_bytes <= transport->remainingMessageSize_)
    {
      transport->remainingMessageSize_ -= num_bytes;
      return TRUE;
    }
  transport->remainingMessageSize_ = 0;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
               _("consumed %ld bytes past the end of the message"), num_bytes);
  return FALSE;
}

static gboolean
rthunk_frame_transport_update_known_message_size (ThriftTransport  *transport,
                                                  glong             size,
                                                  GError          **error)
{
  glong consumed = transport->knowMessageSize_
                   - transport->remainingMessageSize_;

  return rthunk_frame_transport_reset_consumed_message_size (transport, size,
                                                             error)
         && rthunk_frame_transport_count_consumed_message_bytes (transport,
                                                                 consumed,
                                                                 error);
}

static void
rthunk_frame_transport_constructed (GObject *object)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (object);

  G_OBJECT_CLASS (rthunk_frame_transport_parent_class)->constructed (object);
  /* ThriftTransport's construct properties default to 100 MiB */
  set_budget (self, 0, 0);
}

static void
rthunk_frame_transport_finalize (GObject *object)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (object);

  close_fd (self, NULL);
  g_clear_pointer (&self->link.ahead, g_free);
  g_clear_pointer (&self->link.spin, g_free);
  g_clear_pointer (&self->input, g_bytes_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
  G_OBJECT_CLASS (rthunk_frame_transport_parent_class)->finalize (object);
}

static void
rthunk_frame_transport_class_init (RthunkFrameTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  ThriftTransportClass *transport_class = THRIFT_TRANSPORT_CLASS (klass);

  object_class->constructed = rthunk_frame_transport_constructed;
  object_class->finalize = rthunk_frame_transport_finalize;

  transport_class->is_open = rthunk_frame_transport_is_open;
  transport_class->peek = rthunk_frame_transport_peek;
  transport_class->open = rthunk_frame_transport_open;
  transport_class->close = rthunk_frame_transport_close;
  transport_class->read = rthunk_frame_transport_read;
  transport_class->read_end = rthunk_frame_transport_read_end;
  transport_class->write = rthunk_frame_transport_write;
  transport_class->write_end = rthunk_frame_transport_write_end;
  transport_class->flush = rthunk_frame_transport_flush;
  transport_class->read_all = rthunk_frame_transport_read_all;
  transport_class->updateKnownMessageSize =
    rthunk_frame_transport_update_known_message_size;
  transport_class->checkReadBytesAvailable =
    rthunk_frame_transport_check_read_bytes_available;
  transport_class->resetConsumedMessageSize =
    rthunk_frame_transport_reset_consumed_message_size;
  transport_class->countConsumedMessageBytes =
    rthunk_frame_transport_count_consumed_message_bytes;
}

static void
rthunk_frame_transport_init (RthunkFrameTransport *self)
{
  self->link.fd = -1;
  self->memory_mode = TRUE;
  self->max_frame_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  self->at_boundary = TRUE;
  self->output = g_byte_array_new ();
}

/* @fd's SO_RCVTIMEO in milliseconds (rounded up); 0 when it has none. */
static guint
receive_timeout_ms (int fd)
{
  struct timeval tv = { 0, 0 };
  socklen_t len = sizeof tv;

  if (getsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) < 0)
    return 0;
  return (guint) MIN ((guint64) tv.tv_sec * 1000 + ((guint64) tv.tv_usec + 999) / 1000, G_MAXUINT);
}

/**
 * rthunk_frame_transport_new:
 * @fd: a connected descriptor, which the transport takes over and closes;
 *   or -1 for a transport that only works in memory
 * @max_frame_bytes: the largest frame received or sent; 0 for
 *   %RTHUNK_FRAME_DEFAULT_MAX_BYTES
 *
 * Creates a transport. With a descriptor, thrift_transport_flush() sends
 * what was written as one frame and reads receive frames as needed. In
 * memory mode, messages come from rthunk_frame_transport_set_input() and
 * go to rthunk_frame_transport_take_output().
 *
 * Returns: (transfer full): a new #RthunkFrameTransport
 *
 * Since: 0.1
 */
RthunkFrameTransport *
rthunk_frame_transport_new (int    fd,
                            gsize  max_frame_bytes)
{
  RthunkFrameTransport *self = g_object_new (RTHUNK_TYPE_FRAME_TRANSPORT,
                                             NULL);

  self->link.fd = fd >= 0 ? fd : -1;
  self->memory_mode = fd < 0;
  /* small frames in one read each (a TLS session reads ahead itself) */
  if (fd >= 0)
    {
      self->link.ahead = g_new0 (RthunkReadahead, 1);
      self->link.read_wait_ms = receive_timeout_ms (fd);
    }
  if (max_frame_bytes == 0)
    max_frame_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  self->max_frame_bytes = MIN (max_frame_bytes, (gsize) G_MAXINT32);
  return self;
}

/**
 * rthunk_frame_transport_new_tls:
 * @tls: (transfer full): a TLS session over @fd, handshake done
 *   (rthunk_tls_accept(), rthunk_tls_connect()), which owns @fd
 * @fd: the session's descriptor, watched with poll() and shut down to
 *   wake a blocked call
 * @max_frame_bytes: as for rthunk_frame_transport_new()
 *
 * Creates a transport whose frames go through @tls: the same framed binary
 * protocol, encrypted.
 *
 * Returns: (transfer full): a new #RthunkFrameTransport
 *
 * Since: 0.1
 */
RthunkFrameTransport *
rthunk_frame_transport_new_tls (GIOStream *tls,
                                int        fd,
                                gsize      max_frame_bytes)
{
  RthunkFrameTransport *self = rthunk_frame_transport_new (fd, max_frame_bytes);

  g_return_val_if_fail (G_IS_TLS_CONNECTION (tls) && fd >= 0, self);

  self->link.tls = tls;
  g_clear_pointer (&self->link.ahead, g_free);
  g_clear_pointer (&self->link.spin, g_free);
  return self;
}

/**
 * rthunk_frame_transport_send:
 * @self: a transport with a connection
 * @data: (array length=len): one message, without a frame header
 * @len: the length of @data
 * @timeout_ms: as for rthunk_frame_write_full()
 * @drain: (nullable) (scope call) (closure user_data): as for
 *   rthunk_frame_write_full()
 * @user_data: data for @drain
 * @error: return location for a #GError
 *
 * Sends @data as one frame on the transport's connection, as
 * rthunk_frame_write_full() does on a descriptor, past what was written
 * through thrift_transport_write().
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_send (RthunkFrameTransport  *self,
                             const guint8          *data,
                             gsize                  len,
                             guint                  timeout_ms,
                             RthunkFrameDrainFunc   drain,
                             gpointer               user_data,
                             GError               **error)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);

  if (self->link.fd < 0)
    return set_closed_error (error);
  return rthunk_frame_write_link (&self->link, data, len, timeout_ms, drain, user_data, error);
}

/**
 * rthunk_frame_transport_receive:
 * @self: a transport with a descriptor
 * @error: return location for a #GError
 *
 * Reads and validates the next frame with rthunk_frame_read(), dropping
 * whatever was left of the current message, and makes it the message that
 * reads are served from. Reads call this themselves at a message boundary,
 * so a caller only needs it to look at a message before decoding it.
 *
 * Returns: %TRUE on success; %FALSE with @error set as by
 *   rthunk_frame_read(), or to %RTHUNK_FRAME_ERROR_IO if the transport is
 *   closed or in memory mode
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_receive (RthunkFrameTransport  *self,
                                GError               **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  drop_input (self);
  self->at_boundary = TRUE;
  if (self->memory_mode)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                           _("a memory transport has no connection to "
                             "receive from"));
      return FALSE;
    }
  if (self->link.fd < 0)
    return set_closed_error (error);
  if (self->call_budget_ms > 0)
    {
      guint budget_ms = self->call_budget_ms + MIN (self->wait_ms, G_MAXUINT - self->call_budget_ms);

      self->wait_ms = 0;
      message = rthunk_frame_read_message (&self->link, self->max_frame_bytes, budget_ms,
                                           g_get_monotonic_time () + (gint64) budget_ms * 1000,
                                           !self->check_on_read, self->memory, error);
    }
  else
    message = rthunk_frame_read_message (&self->link, self->max_frame_bytes, self->frame_budget_ms, 0,
                                         !self->check_on_read, self->memory, error);
  if (message == NULL)
    return FALSE;
  load_message (self, message);
  self->input_checked = !self->check_on_read;
  return TRUE;
}

/**
 * rthunk_frame_transport_set_input:
 * @self: a transport
 * @message: (nullable): the next message to decode, already validated with
 *   rthunk_frame_validate(); or %NULL to drop the current one
 *
 * Makes @message the message that reads are served from, replacing what
 * was left of the previous one. The transport keeps a reference.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_input (RthunkFrameTransport *self,
                                  GBytes               *message)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  drop_input (self);
  self->at_boundary = TRUE;
  if (message != NULL)
    load_message (self, message);
}

/**
 * rthunk_frame_transport_take_output:
 * @self: a transport
 *
 * Takes the bytes written since the last take (in memory mode) or the last
 * flush (with a descriptor), leaving the output empty.
 *
 * Returns: (transfer full): the bytes, possibly empty
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_transport_take_output (RthunkFrameTransport *self)
{
  GByteArray *output;

  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), NULL);

  output = g_steal_pointer (&self->output);
  self->output = g_byte_array_new ();
  return g_byte_array_free_to_bytes (output);
}

/**
 * rthunk_frame_transport_get_input:
 * @self: a transport
 *
 * The message reads are served from, as rthunk_frame_transport_receive()
 * or rthunk_frame_transport_set_input() loaded it, for a caller that
 * decodes it itself (whatever was already read of it is not skipped).
 *
 * Returns: (transfer none) (nullable): the current message, or %NULL
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_transport_get_input (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), NULL);

  return self->input;
}

/**
 * rthunk_frame_transport_set_check_on_read:
 * @self: a transport
 * @check_on_read: whether rthunk_frame_transport_receive() leaves
 *   validation to the first read
 *
 * With %TRUE a received message is validated only when something reads
 * it through the transport (the generated code), not when it arrives: a
 * caller that decodes rthunk_frame_transport_get_input() with its own
 * bounds-checked reader (rthunk-codec) does not pay for it twice.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_check_on_read (RthunkFrameTransport *self,
                                          gboolean              check_on_read)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->check_on_read = check_on_read;
}

/**
 * rthunk_frame_transport_check_input:
 * @self: a transport
 * @error: return location for a #GError
 *
 * Validates the received message now, when rthunk_frame_transport_receive()
 * left that to the first read (rthunk_frame_transport_set_check_on_read()):
 * a caller about to hand the message to code that reports a failed read
 * with a warning (Thrift's dispatch processor) refuses it first, quietly.
 *
 * Returns: %TRUE when the message is valid, was checked already, or there
 *   is none; %FALSE with @error set otherwise
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_check_input (RthunkFrameTransport  *self,
                                    GError               **error)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);

  if (self->input_checked || self->input == NULL)
    return TRUE;
  if (!rthunk_frame_validate (g_bytes_get_data (self->input, NULL), g_bytes_get_size (self->input),
                              RTHUNK_FRAME_MAX_DEPTH, error))
    return FALSE;
  self->input_checked = TRUE;
  return TRUE;
}

/**
 * rthunk_frame_transport_get_fd:
 * @self: a transport
 *
 * Returns: the descriptor the transport owns, or -1 in memory mode and
 *   once closed
 *
 * Since: 0.1
 */
int
rthunk_frame_transport_get_fd (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), -1);

  return self->link.fd;
}

/**
 * rthunk_frame_transport_input_pending:
 * @self: a transport
 *
 * Whether input that poll() on its descriptor cannot see is there already:
 * read ahead with an earlier frame, or decrypted by its TLS session.
 * Whoever waits for the descriptor to become readable asks this first.
 *
 * Returns: %TRUE when the next read needs no wait
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_input_pending (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);

  return rthunk_link_input_pending (&self->link);
}

/**
 * rthunk_frame_transport_get_tls:
 * @self: a transport
 *
 * Returns: (transfer none) (nullable): the TLS session of the connection,
 *   or %NULL for a plain one
 *
 * Since: 0.1
 */
GIOStream *
rthunk_frame_transport_get_tls (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), NULL);

  return self->link.tls;
}

/**
 * rthunk_frame_transport_set_frame_budget:
 * @self: a transport
 * @budget_ms: how long a frame may take to arrive once it started; 0: no limit
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_frame_budget (RthunkFrameTransport *self,
                                         guint                 budget_ms)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->frame_budget_ms = budget_ms;
}

/**
 * rthunk_frame_transport_set_idle_timeout:
 * @self: a transport
 * @idle_ms: how long a receive may wait for a frame's first byte; 0: no limit
 *
 * On a plain connection, makes the descriptor's receive timeout
 * (SO_RCVTIMEO) @idle_ms, so that a receive waits for the next frame in
 * its read(2) alone, with no poll() before it, and fails with
 * %RTHUNK_FRAME_ERROR_TIMEOUT ("idle …") when none began in time. Once a
 * frame began, the frame budget bounds the rest, as before. A TLS
 * connection is left as it is: its caller waits with poll().
 *
 * Returns: %TRUE when the receive now bounds the idle wait itself;
 *   %FALSE for a TLS connection, a transport without a descriptor, or a
 *   descriptor whose timeout cannot be set
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_set_idle_timeout (RthunkFrameTransport *self,
                                         guint                 idle_ms)
{
  struct timeval tv = { idle_ms / 1000, (idle_ms % 1000) * 1000 };

  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);

  if (self->link.fd < 0 || self->link.tls != NULL ||
      setsockopt (self->link.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    return FALSE;
  self->link.read_wait_ms = idle_ms;
  return TRUE;
}

/**
 * rthunk_frame_transport_set_reply_spin:
 * @self: a transport
 * @max_us: how long a receive under a call budget reads without blocking
 *   before it sleeps for the reply; 0: never
 *
 * On a plain connection, a caller waiting for a reply it expects soon
 * takes it without going to sleep when it comes within @max_us: waking a
 * CPU that went idle costs tens of microseconds on a virtual machine,
 * more than a loopback call itself. Waits that spin for nothing make the
 * next ones not spin for a while (see RthunkReplySpin), so a slow server
 * or a busy machine costs a spin now and then. TLS connections do not
 * spin.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_reply_spin (RthunkFrameTransport *self,
                                       guint                 max_us)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  if (self->link.fd < 0 || self->link.tls != NULL)
    return;
  if (self->link.spin == NULL)
    self->link.spin = g_new0 (RthunkReplySpin, 1);
  self->link.spin->max_us = max_us;
}

/**
 * rthunk_frame_transport_get_reply_spin:
 * @self: a transport
 * @caught: (out) (optional): replies taken while spinning
 * @missed: (out) (optional): spins that ended without a reply
 *
 * What the reply spin (rthunk_frame_transport_set_reply_spin()) did; any
 * thread may ask while a call spins.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_get_reply_spin (RthunkFrameTransport *self,
                                       guint64              *caught,
                                       guint64              *missed)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  if (caught != NULL)
    *caught = self->link.spin != NULL ? (guint) g_atomic_int_get (&self->link.spin->caught) : 0;
  if (missed != NULL)
    *missed = self->link.spin != NULL ? (guint) g_atomic_int_get (&self->link.spin->missed) : 0;
}

/**
 * rthunk_frame_transport_set_memory_budget:
 * @self: a transport with a descriptor
 * @budget: (nullable): a memory budget that outlives every frame read
 *
 * Charges @budget for each frame received, when its header arrives and
 * before its body is allocated, until the frame is freed. A frame the
 * budget has no room for is refused with %RTHUNK_FRAME_ERROR_TOO_LARGE
 * ("server memory budget reached: …"), and the connection should be
 * closed.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_memory_budget (RthunkFrameTransport *self,
                                          RthunkBudget         *budget)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->memory = budget;
}

/**
 * rthunk_frame_transport_set_call_budget:
 * @self: a transport
 * @budget_ms: how long a receive may take in all, from its start to the
 *   last byte of the frame; 0: no limit (the frame budget applies)
 *
 * A client's whole-call deadline: a server that answers a byte at a time,
 * or not at all, fails the receive with %RTHUNK_FRAME_ERROR_TIMEOUT after
 * @budget_ms, however the bytes trickle.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_call_budget (RthunkFrameTransport *self,
                                        guint                 budget_ms)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->call_budget_ms = budget_ms;
}

/**
 * rthunk_frame_transport_allow_wait:
 * @self: a transport
 * @wait_ms: how long the server may wait before answering the next call
 *   (a long poll's timeout), on top of the call budget
 *
 * Applies to the next receive only.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_allow_wait (RthunkFrameTransport *self,
                                   guint                 wait_ms)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->wait_ms = wait_ms;
}
