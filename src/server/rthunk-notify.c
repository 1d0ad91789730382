/* rthunk-notify.c — sd_notify without libsystemd
 *
 * A service started by systemd with Type=notify finds the path of a unix
 * datagram socket in NOTIFY_SOCKET (a leading '@' naming an abstract
 * socket) and sends it newline-separated KEY=VALUE lines: READY=1 once it
 * serves, STOPPING=1 when it starts to drain. That is the whole protocol
 * (sd_notify(3)); a GSocket speaks it, so the daemon needs no libsystemd.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "rthunk-notify.h"

/* The address NOTIFY_SOCKET names: a path, or '@' and an abstract name. */
static GSocketAddress *
notify_address (const char *where)
{
  if (where[0] == '@')
    return g_unix_socket_address_new_with_type (where + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  return g_unix_socket_address_new (where);
}

/**
 * rthunk_notify:
 * @state: what to tell, e.g. `READY=1`
 * @error: return location for a #GError
 *
 * Sends @state to the service manager when NOTIFY_SOCKET names one (a
 * path, or `@` and an abstract socket name), and does nothing otherwise.
 *
 * Returns: %FALSE with @error set if the datagram could not be sent
 */
gboolean
rthunk_notify (const char  *state,
               GError     **error)
{
  const char *where = g_getenv ("NOTIFY_SOCKET");
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;

  g_assert (state != NULL);

  if (where == NULL || where[0] == '\0')
    return TRUE;
  if (where[0] != '/' && where[0] != '@')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "NOTIFY_SOCKET is neither a path nor an abstract socket: %s", where);
      return FALSE;
    }
  address = notify_address (where);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  return socket != NULL &&
         g_socket_send_to (socket, address, state, strlen (state), NULL, error) >= 0;
}
