/* rthunkd — the standard rthunk provider
 *
 * Publishes the standard library over the rthunk protocol:
 *   rthunkd --port N --name NAME [--bind ADDR] [--config FILE]
 *           [--token-file FILE] [--state-file FILE] [--data-dir DIR] [limits…]
 * See rthunkd --help-all, or rthunkd(8).
 */
#include "config.h"

#include <glib/gi18n.h>

#include "rthunk.h"
#include "common/rthunk-locale.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(RthunkProviderOptions) options = NULL;
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_program_init_locale ();

  options = rthunk_provider_options_new ("rthunkd", _("— serve the rthunk standard library"));
  if (!rthunk_provider_options_parse (options, &argc, &argv, &error))
    {
      g_printerr ("rthunkd: %s\n", error->message);
      return 2;
    }
  catalog = rthunk_stdlib_new_catalog ();
  rthunk_stdlib_add_server_functions (catalog, rthunk_provider_options_get_name (options));
  if (!rthunk_provider_options_add_state (options, catalog, &error) ||
      !rthunk_provider_options_add_files (options, catalog, &error))
    {
      g_printerr ("rthunkd: %s\n", error->message);
      return 1;
    }
  return rthunk_provider_run (options, catalog);
}
