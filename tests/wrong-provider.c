/* wrong-provider — a provider for tests only, a faulty or hostile server:
 *
 * - its + is off by one, for (remote :verify N …) to catch;
 * - the lie-* functions return values of another type than their
 *   signature says, and lie-error fails with a message full of terminal
 *   escape codes, for the client's checks of what servers send;
 * - record-age, honest, publishes a signature with an open record type,
 *   as a provider of functions on records does. */
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

/* "abc", whatever the signature says */
static RthunkValue *
lie_str (RthunkCallContext  *context,
         RthunkValue *const *args,
         guint               n_args,
         gpointer            user_data,
         GError            **error)
{
  return rthunk_value_new_str ("abc");
}

/* 7, whatever the signature says */
static RthunkValue *
lie_int (RthunkCallContext  *context,
         RthunkValue *const *args,
         guint               n_args,
         gpointer            user_data,
         GError            **error)
{
  return rthunk_value_new_int (7);
}

/* ["a" "b"], whatever the signature says */
static RthunkValue *
lie_strs (RthunkCallContext  *context,
          RthunkValue *const *args,
          guint               n_args,
          gpointer            user_data,
          GError            **error)
{
  g_autoptr(RthunkValue) a = rthunk_value_new_str ("a");
  g_autoptr(RthunkValue) b = rthunk_value_new_str ("b");
  RthunkValue *items[] = { a, b };

  return rthunk_value_new_list (items, G_N_ELEMENTS (items));
}

/* [[1] ["x"]]: an int list, then a str list, where [[int]] is due */
static RthunkValue *
lie_nested (RthunkCallContext  *context,
            RthunkValue *const *args,
            guint               n_args,
            gpointer            user_data,
            GError            **error)
{
  g_autoptr(RthunkValue) one = rthunk_value_new_int (1);
  g_autoptr(RthunkValue) x = rthunk_value_new_str ("x");
  g_autoptr(RthunkValue) ints = rthunk_value_new_list (&one, 1);
  g_autoptr(RthunkValue) strs = rthunk_value_new_list (&x, 1);
  RthunkValue *items[] = { ints, strs };

  return rthunk_value_new_list (items, G_N_ELEMENTS (items));
}

/* {:agee 7 :name "abc"}: a field misnamed, where {age: int, name: str} is due */
static RthunkValue *
lie_record (RthunkCallContext  *context,
            RthunkValue *const *args,
            guint               n_args,
            gpointer            user_data,
            GError            **error)
{
  static const char *const names[] = { "agee", "name" };
  g_autoptr(RthunkValue) age = rthunk_value_new_int (7);
  g_autoptr(RthunkValue) name = rthunk_value_new_str ("abc");
  RthunkValue *values[] = { age, name };

  return rthunk_value_new_record (names, values, G_N_ELEMENTS (values));
}

/* (record-age r): the age field of any record that has one */
static RthunkValue *
record_age (RthunkCallContext  *context,
            RthunkValue *const *args,
            guint               n_args,
            gpointer            user_data,
            GError            **error)
{
  return rthunk_value_ref (rthunk_value_lookup_field (args[0], "age"));
}

/* A failure whose text would set the terminal's title and clear it. */
static RthunkValue *
lie_error (RthunkCallContext  *context,
           RthunkValue *const *args,
           guint               n_args,
           gpointer            user_data,
           GError            **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                       "boom\033]0;pwned\007\033[2J\033[1;1H\302\233" "31m");
  return NULL;
}

static const struct
{
  const char *name;
  const char *signature;
  RthunkNativeFunc func;
  const char *doc;
} lies[] = {
  { "lie-ints", "(int -> [int])", lie_str, "a str where [int] is due" },
  { "lie-strs-as-ints", "(int -> [int])", lie_strs, "[str] where [int] is due" },
  { "lie-str", "(int -> str)", lie_int, "an int where str is due" },
  { "lie-func", "(int -> (int -> int))", lie_int, "an int where a function is due" },
  { "lie-nested", "(int -> [[int]])", lie_nested, "a mixed list where [[int]] is due" },
  { "lie-any", "(int -> [a])", lie_nested, "a mixed list where [a] is due" },
  { "lie-error", "(int -> int)", lie_error, "fails with terminal escape codes" },
  { "lie-record", "(int -> {age: int, name: str})", lie_record, "a field misnamed in a record" },
  { "lie-maybe", "(int -> (maybe int))", lie_str, "a str where (maybe int) is due" },
  { "record-age", "({age: int | r} -> int)", record_age, "the age of any record that has one (honest)" },
};

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
  for (guint k = 0; k < G_N_ELEMENTS (lies); k++)
    g_assert_true (rthunk_catalog_add (catalog, lies[k].name, lies[k].signature, RTHUNK_FUNC_PURE, lies[k].doc,
                                       lies[k].func, NULL, NULL, NULL));
  return rthunk_provider_run (options, catalog);
}
