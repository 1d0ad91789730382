/* rthunk-tls.c — TLS sessions on a connected descriptor
 *
 * The server and the client accept and connect descriptors themselves (with
 * their own timeouts and cancellation); a TLS connection wraps one in a
 * GSocket and GIO's GTlsConnection (GnuTLS through glib-networking), does
 * the handshake within a timeout, and is then read and written through
 * here by rthunk-frame.c. Errors come out in %RTHUNK_FRAME_ERROR, as a
 * plain connection's do.
 */
#include "config.h"

#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "rthunk-frame.h"
#include "rthunk-tls.h"

/**
 * rthunk_tls_load_identity:
 * @cert_file: a PEM certificate (chain) file
 * @key_file: the PEM private key of its first certificate
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the certificate with its key, or
 *   %NULL with @error set naming the files
 */
GTlsCertificate *
rthunk_tls_load_identity (const char  *cert_file,
                          const char  *key_file,
                          GError     **error)
{
  g_autoptr(GError) local = NULL;
  GTlsCertificate *certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local);

  if (certificate == NULL)
    g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                 _("cannot load the TLS certificate %s with the key %s: %s"),
                 cert_file, key_file, local->message);
  return certificate;
}

/**
 * rthunk_tls_load_ca:
 * @ca_file: a PEM file of the certificate authorities to trust
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a database of those authorities, or
 *   %NULL with @error set naming the file
 */
GTlsDatabase *
rthunk_tls_load_ca (const char  *ca_file,
                    GError     **error)
{
  g_autoptr(GError) local = NULL;
  GTlsDatabase *database = g_tls_file_database_new (ca_file, &local);

  if (database == NULL)
    g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                 _("cannot load the TLS certificate authorities in %s: %s"),
                 ca_file, local != NULL ? local->message : _("no TLS support (is glib-networking installed?)"));
  return database;
}

/* A GSocketConnection owning @fd (closed on failure too), with @timeout_ms
 * (rounded up to seconds) on every blocking operation. */
static GIOStream *
socket_stream (int       fd,
               guint     timeout_ms,
               GError  **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }
  g_socket_set_timeout (socket, (timeout_ms + 999) / 1000);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* Sets @error from a failed TLS operation, in %RTHUNK_FRAME_ERROR. */
static void
set_tls_error (GError     **error,
               GError      *cause,
               const char  *doing)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("Timed out while %s"), doing);
  else
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                 _("TLS error while %s: %s"), doing, cause->message);
}

/**
 * rthunk_tls_handshake:
 * @tls: a session rthunk_tls_server_new() made
 * @error: return location for a #GError
 *
 * Returns: %TRUE once the handshake held; %FALSE with @error set
 */
gboolean
rthunk_tls_handshake (GIOStream  *tls,
                      GError    **error)
{
  g_autoptr(GError) local = NULL;

  if (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &local))
    return TRUE;
  set_tls_error (error, local, _("accepting a TLS connection"));
  return FALSE;
}

/* A server connection asks this of every client certificate (GIO leaves
 * the decision to the application): one that @client_ca verified. */
static gboolean
accept_verified_client (GTlsConnection       *connection,
                        GTlsCertificate      *peer,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return errors == 0;
}

/**
 * rthunk_tls_server_new:
 * @fd: an accepted descriptor, which this takes over (and closes on failure)
 * @certificate: the server's certificate, with its key
 * @client_ca: (nullable): when set, clients must present a certificate it
 *   verifies (mutual TLS)
 * @timeout_ms: the timeout of the handshake and of every later read or write
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the TLS session, for
 *   rthunk_tls_handshake()
 */
GIOStream *
rthunk_tls_server_new (int               fd,
                       GTlsCertificate  *certificate,
                       GTlsDatabase     *client_ca,
                       guint             timeout_ms,
                       GError          **error)
{
  g_autoptr(GIOStream) base = socket_stream (fd, timeout_ms, error);
  GIOStream *tls;

  if (base == NULL)
    return NULL;
  tls = g_tls_server_connection_new (base, certificate, error);
  if (tls == NULL)
    return NULL;
  /* frames carry their own lengths: a cut connection is only a close */
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  if (client_ca != NULL)
    {
      g_tls_connection_set_database (G_TLS_CONNECTION (tls), client_ca);
      g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
      g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_verified_client), NULL);
    }
  return tls;
}

/* What the server's certificate failed, as the client's verification saw it. */
static gboolean
on_accept_certificate (GTlsConnection       *connection,
                       GTlsCertificate      *peer,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  *(GTlsCertificateFlags *) user_data = errors;
  return FALSE;
}

static const char *
describe_other_errors (GTlsCertificateFlags errors)
{
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return _("it was issued for another host name or address");
  if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return _("it is not valid yet");
  if (errors & G_TLS_CERTIFICATE_EXPIRED)
    return _("it has expired");
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    return _("it has been revoked");
  if (errors & G_TLS_CERTIFICATE_INSECURE)
    return _("its algorithm is insecure");
  return _("it is not valid");
}

/* Why the server's certificate is refused; @ca_option, when not NULL, is
 * the flag that names the trusted authorities. */
static char *
describe_certificate_errors (GTlsCertificateFlags  errors,
                             const char           *ca_option)
{
  if ((errors & G_TLS_CERTIFICATE_UNKNOWN_CA) && ca_option != NULL)
    return g_strdup_printf (_("it is not signed by a trusted certificate authority (see %s)"), ca_option);
  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return g_strdup (_("it is not signed by a trusted certificate authority"));
  return g_strdup (describe_other_errors (errors));
}

/**
 * rthunk_tls_client_new:
 * @base: the connected stream to run the session over
 * @host: the host name or address the server's certificate must be issued for
 * @port: the port
 * @ca: (nullable): the authorities to trust; %NULL for the system's
 * @identity: (nullable): the client's own certificate, for mutual TLS
 * @errors: (out caller-allocates): where the handshake leaves what the
 *   server's certificate failed (0 while it holds); must outlive the handshake
 * @error: return location for a #GError
 *
 * A client session over @base, its handshake not done: the caller runs
 * it (with g_tls_connection_handshake() or its async form) and, when it
 * fails, describes the failure with rthunk_tls_client_error().
 *
 * Returns: (transfer full) (nullable): the TLS session
 */
GIOStream *
rthunk_tls_client_new (GIOStream             *base,
                       const char            *host,
                       guint16                port,
                       GTlsDatabase          *ca,
                       GTlsCertificate       *identity,
                       GTlsCertificateFlags  *errors,
                       GError               **error)
{
  g_autoptr(GSocketConnectable) server = g_network_address_new (host, port);
  GIOStream *tls;

  *errors = 0;
  if ((tls = g_tls_client_connection_new (base, server, error)) == NULL)
    return NULL;
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  if (ca != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), ca);
  if (identity != NULL)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), identity);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), errors);
  return tls;
}

/**
 * rthunk_tls_client_error:
 * @address: the server's address as the user wrote it, for messages
 * @ca_option: (nullable): the option naming the trusted authorities, for
 *   messages
 * @errors: what its certificate failed, as rthunk_tls_client_new() saw it
 * @cause: how the handshake failed
 * @error: return location for a #GError
 *
 * Sets @error (in %RTHUNK_FRAME_ERROR) from a client handshake that failed:
 * the certificate refused and why, or the TLS failure.
 */
void
rthunk_tls_client_error (const char            *address,
                         const char            *ca_option,
                         GTlsCertificateFlags   errors,
                         GError                *cause,
                         GError               **error)
{
  g_autofree char *why = NULL;

  if (errors != 0)
    {
      why = describe_certificate_errors (errors, ca_option);
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                   _("the TLS certificate of server %s is refused: %s"), address, why);
    }
  else
    set_tls_error (error, cause, _("connecting with TLS"));
}

/**
 * rthunk_tls_connect:
 * @fd: a connected descriptor, which this takes over (and closes on failure)
 * @address: the server's address as the user wrote it, for messages
 * @host: the host name or address its certificate must be issued for
 * @port: the port
 * @ca: (nullable): the authorities to trust; %NULL for the system's
 * @identity: (nullable): the client's own certificate, for mutual TLS
 * @timeout_ms: the timeout of the handshake and of every later read or write
 * @error: return location for a #GError
 *
 * Connects a TLS session and verifies the server's certificate: signed by
 * @ca (or the system's authorities), valid now, and issued for @host.
 *
 * Returns: (transfer full) (nullable): the TLS session, handshake done
 */
GIOStream *
rthunk_tls_connect (int               fd,
                    const char       *address,
                    const char       *host,
                    const char       *port,
                    GTlsDatabase     *ca,
                    GTlsCertificate  *identity,
                    guint             timeout_ms,
                    GError          **error)
{
  g_autoptr(GIOStream) base = socket_stream (fd, timeout_ms, error);
  g_autoptr(GError) local = NULL;
  GTlsCertificateFlags errors = 0;
  GIOStream *tls;

  if (base == NULL)
    return NULL;
  tls = rthunk_tls_client_new (base, host, (guint16) g_ascii_strtoull (port, NULL, 10), ca, identity,
                               &errors, error);
  if (tls == NULL)
    return NULL;
  if (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &local))
    {
      g_signal_handlers_disconnect_by_func (tls, on_accept_certificate, &errors);
      return tls;
    }
  g_object_unref (tls);
  rthunk_tls_client_error (address, "--tls-ca", errors, local, error);
  return NULL;
}

/**
 * rthunk_tls_read:
 * @tls: a TLS session
 * @buf: (out caller-allocates) (array length=len): where to read to
 * @len: at most this many bytes
 * @error: return location for a #GError
 *
 * Returns: the bytes read, 0 at the end of the stream, -1 with @error set
 *   (%RTHUNK_FRAME_ERROR_TIMEOUT or %RTHUNK_FRAME_ERROR_IO)
 */
gssize
rthunk_tls_read (GIOStream  *tls,
                 guint8     *buf,
                 gsize       len,
                 GError    **error)
{
  g_autoptr(GError) local = NULL;
  gssize n = g_input_stream_read (g_io_stream_get_input_stream (tls), buf, len, NULL, &local);

  /* a peer that went away without closing the session has closed it */
  if (n < 0 && g_error_matches (local, G_TLS_ERROR, G_TLS_ERROR_EOF))
    return 0;
  if (n < 0)
    set_tls_error (error, local, _("reading a frame"));
  return n;
}

/**
 * rthunk_tls_writev:
 * @tls: a TLS session
 * @iov: (array length=n_iov): what to write
 * @n_iov: how many vectors
 * @nonblocking: whether to return 0 instead of waiting for the socket
 * @error: return location for a #GError
 *
 * Writes some of @iov. After a non-blocking write returned 0, the next
 * write must be of the same bytes (GnuTLS holds the record half sent).
 *
 * Returns: the bytes written (more than 0); 0 when @nonblocking and the
 *   socket takes nothing now; -1 with @error set
 */
gssize
rthunk_tls_writev (GIOStream     *tls,
                   struct iovec  *iov,
                   int            n_iov,
                   gboolean       nonblocking,
                   GError       **error)
{
  GOutputStream *output = g_io_stream_get_output_stream (tls);
  g_autoptr(GError) local = NULL;
  gsize written = 0;
  gboolean ok;

  G_STATIC_ASSERT (sizeof (GOutputVector) == sizeof (struct iovec));
  if (nonblocking)
    {
      GPollableReturn rc = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (output),
                                                                        (GOutputVector *) iov, (gsize) n_iov,
                                                                        &written, NULL, &local);
      if (rc == G_POLLABLE_RETURN_WOULD_BLOCK)
        return 0;
      ok = rc == G_POLLABLE_RETURN_OK;
    }
  else
    ok = g_output_stream_writev (output, (GOutputVector *) iov, (gsize) n_iov, &written, NULL, &local);
  if (!ok)
    {
      set_tls_error (error, local, _("writing a frame"));
      return -1;
    }
  return (gssize) written;
}

/**
 * rthunk_tls_input_pending:
 * @tls: a TLS session
 *
 * Returns: whether a read would not block: decrypted bytes wait in the
 *   session, which poll() on the descriptor does not see
 */
gboolean
rthunk_tls_input_pending (GIOStream *tls)
{
  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (tls)));
}

/**
 * rthunk_tls_close:
 * @tls: (transfer full): a TLS session
 *
 * Drops the session and closes its descriptor, without waiting for the
 * peer: the caller has shut the descriptor down already, or will never
 * read it again.
 */
void
rthunk_tls_close (GIOStream *tls)
{
  GIOStream *base = NULL;

  g_object_get (tls, "base-io-stream", &base, NULL);
  if (base != NULL)
    g_socket_close (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)), NULL);
  g_clear_object (&base);
  g_object_unref (tls);
}
