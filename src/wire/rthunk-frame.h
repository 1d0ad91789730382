/* rthunk-frame.h — validated Thrift framed/binary messages (private, never installed)
 *
 * The wire format is Thrift's framed transport carrying the binary protocol:
 * a 4-byte big-endian signed length, then exactly one binary-protocol
 * message. Every frame is read and validated here before Thrift's own
 * decoder sees a byte of it, because Thrift 0.17 c_glib crashes, loops or
 * over-allocates on hostile input.
 */
#pragma once

#include <gio/gio.h>
#include <thrift/c_glib/transport/thrift_transport.h>

#include "rthunk-budget.h"

G_BEGIN_DECLS

/**
 * RTHUNK_FRAME_DEFAULT_MAX_BYTES:
 *
 * The largest frame body (without its 4-byte header) accepted when a caller
 * passes 0 as the limit.
 *
 * Since: 0.1
 */
#define RTHUNK_FRAME_DEFAULT_MAX_BYTES (8u * 1024u * 1024u)

/**
 * RTHUNK_FRAME_MAX_DEPTH:
 *
 * How deeply structs, lists, maps and sets may nest inside one message. The
 * argument or result struct of the message is level 1.
 *
 * Since: 0.1
 */
#define RTHUNK_FRAME_MAX_DEPTH 64

/**
 * RTHUNK_FRAME_ERROR:
 *
 * The error domain of the framing layer; codes are #RthunkFrameError.
 *
 * Since: 0.1
 */
#define RTHUNK_FRAME_ERROR (rthunk_frame_error_quark ())

/**
 * RthunkFrameError:
 * @RTHUNK_FRAME_ERROR_CLOSED: the peer closed cleanly before the first header byte
 * @RTHUNK_FRAME_ERROR_EMPTY: a zero-length frame
 * @RTHUNK_FRAME_ERROR_TOO_LARGE: a frame length above the limit, or negative
 * @RTHUNK_FRAME_ERROR_TRUNCATED: end of stream inside a header or body, or a
 *   decoder read past the end of the current message
 * @RTHUNK_FRAME_ERROR_TOO_DEEP: nesting deeper than the depth limit
 * @RTHUNK_FRAME_ERROR_MALFORMED: the frame is not exactly one well-formed
 *   Thrift binary-protocol message (this includes a message that ends
 *   before its frame does and one that the frame cuts short)
 * @RTHUNK_FRAME_ERROR_TIMEOUT: a socket receive or send timeout expired
 * @RTHUNK_FRAME_ERROR_IO: any other system error
 *
 * Error codes of %RTHUNK_FRAME_ERROR.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_FRAME_ERROR_CLOSED,
  RTHUNK_FRAME_ERROR_EMPTY,
  RTHUNK_FRAME_ERROR_TOO_LARGE,
  RTHUNK_FRAME_ERROR_TRUNCATED,
  RTHUNK_FRAME_ERROR_TOO_DEEP,
  RTHUNK_FRAME_ERROR_MALFORMED,
  RTHUNK_FRAME_ERROR_TIMEOUT,
  RTHUNK_FRAME_ERROR_IO
} RthunkFrameError;

GQuark   rthunk_frame_error_quark  (void);

gboolean rthunk_frame_set_timeouts (int            fd,
                                    guint          timeout_ms,
                                    GError       **error);
gboolean rthunk_frame_validate     (const guint8  *data,
                                    gsize          len,
                                    guint          max_depth,
                                    GError       **error);
gboolean rthunk_frame_check_call   (const guint8  *data,
                                    gsize          len,
                                    GError       **error);
G_GNUC_WARN_UNUSED_RESULT
GBytes  *rthunk_frame_read_within  (int            fd,
                                    gsize          max_bytes,
                                    guint          budget_ms,
                                    GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GBytes  *rthunk_frame_read         (int            fd,
                                    gsize          max_bytes,
                                    GError       **error);
gboolean rthunk_frame_write        (int            fd,
                                    const guint8  *data,
                                    gsize          len,
                                    GError       **error);

/**
 * RthunkFrameDrainFunc:
 * @user_data: the data given to rthunk_frame_write_full()
 * @watch_input: (inout): whether to go on watching the input; %TRUE on entry
 * @error: return location for a #GError
 *
 * Reads some of what arrived on the descriptor a frame is being written
 * to.
 *
 * Returns: %TRUE to go on writing, %FALSE with @error set to stop
 *
 * Since: 0.1
 */
typedef gboolean (*RthunkFrameDrainFunc) (gpointer   user_data,
                                          gboolean  *watch_input,
                                          GError   **error);

gboolean rthunk_frame_write_full   (int                    fd,
                                    const guint8          *data,
                                    gsize                  len,
                                    guint                  timeout_ms,
                                    RthunkFrameDrainFunc   drain,
                                    gpointer               user_data,
                                    GError               **error);

/* G_DECLARE_FINAL_TYPE needs the parent's cleanup function; Thrift 0.17
 * does not define one. Other rthunk headers must test this guard too. */
#ifndef RTHUNK_THRIFT_TRANSPORT_AUTOPTR_DEFINED
#define RTHUNK_THRIFT_TRANSPORT_AUTOPTR_DEFINED 1
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftTransport, g_object_unref)
#endif

/**
 * RTHUNK_TYPE_FRAME_TRANSPORT:
 *
 * The #GType of #RthunkFrameTransport.
 *
 * Since: 0.1
 */
#define RTHUNK_TYPE_FRAME_TRANSPORT (rthunk_frame_transport_get_type ())

G_DECLARE_FINAL_TYPE (RthunkFrameTransport, rthunk_frame_transport,
                      RTHUNK, FRAME_TRANSPORT, ThriftTransport)

G_GNUC_WARN_UNUSED_RESULT
RthunkFrameTransport *rthunk_frame_transport_new         (int                    fd,
                                                          gsize                  max_frame_bytes);
G_GNUC_WARN_UNUSED_RESULT
RthunkFrameTransport *rthunk_frame_transport_new_tls     (GIOStream             *tls,
                                                          int                    fd,
                                                          gsize                  max_frame_bytes);
gboolean              rthunk_frame_transport_send        (RthunkFrameTransport  *self,
                                                          const guint8          *data,
                                                          gsize                  len,
                                                          guint                  timeout_ms,
                                                          RthunkFrameDrainFunc   drain,
                                                          gpointer               user_data,
                                                          GError               **error);
gboolean              rthunk_frame_transport_receive     (RthunkFrameTransport  *self,
                                                          GError               **error);
void                  rthunk_frame_transport_set_input   (RthunkFrameTransport  *self,
                                                          GBytes                *message);
G_GNUC_WARN_UNUSED_RESULT
GBytes               *rthunk_frame_transport_take_output (RthunkFrameTransport  *self);
void                  rthunk_frame_transport_set_frame_budget (RthunkFrameTransport *self,
                                                                guint                 budget_ms);
void                  rthunk_frame_transport_set_call_budget (RthunkFrameTransport *self,
                                                              guint                 budget_ms);
gboolean              rthunk_frame_transport_set_idle_timeout (RthunkFrameTransport *self,
                                                               guint                 idle_ms);
void                  rthunk_frame_transport_set_reply_spin (RthunkFrameTransport *self,
                                                             guint                 max_us);
void                  rthunk_frame_transport_get_reply_spin (RthunkFrameTransport *self,
                                                             guint64              *caught,
                                                             guint64              *missed);
guint                 rthunk_frame_replies_awaited       (void);
void                  rthunk_frame_transport_allow_wait  (RthunkFrameTransport  *self,
                                                          guint                  wait_ms);
int                   rthunk_frame_transport_get_fd      (RthunkFrameTransport  *self);
GIOStream            *rthunk_frame_transport_get_tls     (RthunkFrameTransport  *self);
gboolean              rthunk_frame_transport_input_pending (RthunkFrameTransport *self);
GBytes               *rthunk_frame_transport_get_input   (RthunkFrameTransport  *self);
void                  rthunk_frame_transport_set_memory_budget (RthunkFrameTransport *self,
                                                                 RthunkBudget         *budget);
void                  rthunk_frame_transport_set_check_on_read (RthunkFrameTransport *self,
                                                                gboolean              check_on_read);
gboolean              rthunk_frame_transport_check_input (RthunkFrameTransport  *self,
                                                          GError               **error);

G_END_DECLS
