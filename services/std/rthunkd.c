/* rthunkd — the standard rthunk provider
 *
 * Publishes the standard library over the rthunk protocol:
 *   rthunkd --port N --name NAME [--bind ADDR] [limits…]
 * Prints "rthunkd NAME listening on ADDR:PORT" once it accepts connections
 * (so --port 0 can be used to pick a free port) and stops cleanly on
 * SIGTERM or SIGINT, letting accepted thunks finish.
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "rthunk.h"

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(RthunkServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  RthunkServerLimits limits;
  g_autofree char *bind = NULL;
  g_autofree char *name = NULL;
  gint port = -1;
  gint64 max_frame = 0, fuel = 0;
  gint max_connections = 0, workers = 0, io_timeout = 0, deadline = -1;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, N_("Port to listen on (0: any free port)"), N_("N") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, N_("Name of this server, as clients see it"), N_("NAME") },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &bind, N_("Address to bind (default 127.0.0.1)"), N_("ADDR") },
    { "max-frame-bytes", 0, 0, G_OPTION_ARG_INT64, &max_frame, N_("Largest request frame accepted"), N_("N") },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, N_("Connections served at once"), N_("N") },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, N_("Evaluation threads"), N_("N") },
    { "io-timeout-ms", 0, 0, G_OPTION_ARG_INT, &io_timeout, N_("Socket read/write timeout"), N_("MS") },
    { "fuel", 0, 0, G_OPTION_ARG_INT64, &fuel, N_("Steps one thunk may take"), N_("N") },
    { "deadline-ms", 0, 0, G_OPTION_ARG_INT, &deadline, N_("How long one thunk may run (0: no deadline)"), N_("MS") },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (_("— serve the rthunk standard library"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("rthunkd: %s\n", error->message);
      return 2;
    }
  if (port < 0 || port > 65535)
    {
      g_printerr (_("rthunkd: --port N is required (0 to 65535)\n"));
      return 2;
    }

  rthunk_server_limits_init (&limits);
  if (max_frame > 0)
    limits.max_frame_bytes = max_frame;
  if (max_connections > 0)
    limits.max_connections = max_connections;
  if (workers > 0)
    limits.workers = workers;
  if (io_timeout > 0)
    limits.io_timeout_ms = io_timeout;
  if (fuel > 0)
    limits.fuel = fuel;
  if (deadline >= 0)
    limits.deadline_ms = deadline;

  catalog = rthunk_stdlib_new_catalog ();
  server = rthunk_server_new (catalog, name != NULL ? name : "rthunkd");
  rthunk_server_set_limits (server, &limits);
  if (!rthunk_server_listen (server, bind, port, &error))
    {
      g_printerr ("rthunkd: %s\n", error->message);
      return 1;
    }
  g_print (_("rthunkd %s listening on %s:%u\n"), rthunk_server_get_name (server),
           bind != NULL ? bind : "127.0.0.1", rthunk_server_get_port (server));
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);

  g_message ("stopping: waiting for accepted thunks to finish");
  rthunk_server_stop (server);
  return 0;
}
