/* rthunkd — the standard rthunk provider
 *
 * Publishes the standard library over the rthunk protocol:
 *   rthunkd --port N --name NAME [--bind ADDR] [--config FILE]
 *           [--token-file FILE] [limits…]
 * See rthunkd --help-all, or rthunkd(8).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "rthunk.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(RthunkProviderOptions) options = NULL;
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  options = rthunk_provider_options_new ("rthunkd", _("— serve the rthunk standard library"));
  if (!rthunk_provider_options_parse (options, &argc, &argv, &error))
    {
      g_printerr ("rthunkd: %s\n", error->message);
      return 2;
    }
  catalog = rthunk_stdlib_new_catalog ();
  rthunk_stdlib_add_server_functions (catalog, rthunk_provider_options_get_name (options));
  return rthunk_provider_run (options, catalog);
}
