/* rthunk-tls.h — TLS sessions on a connected descriptor (private, never installed)
 *
 * A connection is a descriptor (RthunkLink.tls %NULL: the plain path, read
 * and written with system calls) or a GIO TLS session over it. The same
 * framed binary protocol runs inside the session.
 */
#pragma once

#include <gio/gio.h>
#include <sys/uio.h>

G_BEGIN_DECLS

/* The first byte of a TLS handshake record; a frame's first byte (the top
 * of its length) is 0 for any frame this side accepts. */
#define RTHUNK_TLS_HANDSHAKE_BYTE 0x16

typedef struct _RthunkReadahead RthunkReadahead;
typedef struct _RthunkReplySpin RthunkReplySpin;

/* One connection: its descriptor, and its TLS session when it has one (which
 * then owns the descriptor and closes it); on the plain path, optionally
 * the bytes read past the frame asked for (rthunk-frame-private.h). */
typedef struct
{
  int fd;
  GIOStream *tls;
  RthunkReadahead *ahead;       /* (nullable) */
  guint read_wait_ms;           /* plain path: how long one read(2) waits
                                   for input (SO_RCVTIMEO); 0: unknown or
                                   for ever */
  RthunkReplySpin *spin;        /* (nullable) plain path: how a caller
                                   waits for a reply's first byte */
} RthunkLink;

G_GNUC_WARN_UNUSED_RESULT
GTlsCertificate *rthunk_tls_load_identity (const char       *cert_file,
                                           const char       *key_file,
                                           GError          **error);
G_GNUC_WARN_UNUSED_RESULT
GTlsDatabase    *rthunk_tls_load_ca       (const char       *ca_file,
                                           GError          **error);
G_GNUC_WARN_UNUSED_RESULT
GIOStream       *rthunk_tls_server_new    (int               fd,
                                           GTlsCertificate  *certificate,
                                           GTlsDatabase     *client_ca,
                                           guint             timeout_ms,
                                           GError          **error);
gboolean         rthunk_tls_handshake     (GIOStream        *tls,
                                           GError          **error);
G_GNUC_WARN_UNUSED_RESULT
GIOStream       *rthunk_tls_client_new    (GIOStream             *base,
                                           const char            *host,
                                           guint16                port,
                                           GTlsDatabase          *ca,
                                           GTlsCertificate       *identity,
                                           GTlsCertificateFlags  *errors,
                                           GError               **error);
void             rthunk_tls_client_error  (const char            *address,
                                           const char            *ca_option,
                                           GTlsCertificateFlags   errors,
                                           GError                *cause,
                                           GError               **error);
G_GNUC_WARN_UNUSED_RESULT
GIOStream       *rthunk_tls_connect       (int               fd,
                                           const char       *address,
                                           const char       *host,
                                           const char       *port,
                                           GTlsDatabase     *ca,
                                           GTlsCertificate  *identity,
                                           guint             timeout_ms,
                                           GError          **error);
gssize           rthunk_tls_read          (GIOStream        *tls,
                                           guint8           *buf,
                                           gsize             len,
                                           GError          **error);
gssize           rthunk_tls_writev        (GIOStream        *tls,
                                           struct iovec     *iov,
                                           int               n_iov,
                                           gboolean          nonblocking,
                                           GError          **error);
gboolean         rthunk_tls_input_pending (GIOStream        *tls);
void             rthunk_tls_close         (GIOStream        *tls);

G_END_DECLS
