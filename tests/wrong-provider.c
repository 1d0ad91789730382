/* wrong-provider — a provider for tests only, whose + is off by one: a
 * faulty or hostile server for (remote :verify N …) to catch. */
#include "config.h"

#include "rthunk.h"

static RthunkValue *
wrong_add (RthunkCallContext  *context,
           RthunkValue *const *args,
           guint               n_args,
           gpointer            user_data,
           GError            **error)
{
  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_FLOAT)
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) + rthunk_value_get_float (args[1]) + 1);
  return rthunk_value_new_int (rthunk_value_get_int (args[0]) + rthunk_value_get_int (args[1]) + 1);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(RthunkProviderOptions) options = rthunk_provider_options_new ("wrong-provider", "— adds wrongly");
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(GError) error = NULL;

  if (!rthunk_provider_options_parse (options, &argc, &argv, &error))
    {
      g_printerr ("wrong-provider: %s\n", error->message);
      return 2;
    }
  rthunk_stdlib_add_server_functions (catalog, rthunk_provider_options_get_name (options));
  g_assert_true (rthunk_catalog_add (catalog, "+", "num a => (a a -> a)", RTHUNK_FUNC_PURE, "off by one",
                                     wrong_add, NULL, NULL, NULL));
  return rthunk_provider_run (options, catalog);
}
