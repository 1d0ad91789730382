/* server-info — prints numbers from a server's getServerInfo, one a line,
 * for the shell tests to wait on and check:
 *
 *   server-info HOST:PORT KEY…
 *
 * KEY is running, queued or workers, or a counter: submitted, completed,
 * failed, cancelled, cache-hits, cache-hits-local, cache-hits-shared,
 * definitions-stored, definitions-loaded, pipelined, fetched,
 * batches, memo-hits, types-provided. Exits 1 when the server cannot be asked, 2 on an
 * unknown key. */
#include "config.h"

#include <stdio.h>

#include "rthunk.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(RthunkClient) client = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GVariant) counters = NULL;
  g_autoptr(GError) error = NULL;

  if (argc < 3)
    {
      g_printerr ("usage: server-info HOST:PORT KEY…\n");
      return 2;
    }
  client = rthunk_client_new (argv[1]);
  if ((info = rthunk_client_get_server_info (client, &error)) == NULL)
    {
      g_printerr ("server-info: %s: %s\n", argv[1], error->message);
      return 1;
    }
  counters = g_variant_lookup_value (info, "counters", G_VARIANT_TYPE ("a{sx}"));
  for (int k = 2; k < argc; k++)
    {
      gint32 i32;
      gint64 i64;

      if (g_variant_lookup (info, argv[k], "i", &i32))
        printf ("%" G_GINT32_FORMAT "\n", i32);
      else if (counters != NULL && g_variant_lookup (counters, argv[k], "x", &i64))
        printf ("%" G_GINT64_FORMAT "\n", i64);
      else
        {
          g_printerr ("server-info: no number “%s”\n", argv[k]);
          return 2;
        }
    }
  return 0;
}
