/* rthunk-stdlib.c — the standard library catalog
 *
 * Every function is a small native with its signature and flags in the
 * table at the end; the same table is what rthunkd publishes.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "rthunk-private.h"

#define ARGS RthunkCallContext *context, RthunkValue *const *args, guint n_args, \
             gpointer user_data, GError **error

static RthunkValue *
fail (GError     **error,
      RthunkError  code,
      const char  *message)
{
  g_set_error_literal (error, RTHUNK_ERROR, code, message);
  return NULL;
}

static gboolean
both_int (RthunkValue *const *args)
{
  return rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_INT;
}

/* ---- arithmetic --------------------------------------------------------- */

static RthunkValue *
std_add (ARGS)
{
  gint64 r;

  if (!both_int (args))
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) + rthunk_value_get_float (args[1]));
  if (__builtin_add_overflow (rthunk_value_get_int (args[0]), rthunk_value_get_int (args[1]), &r))
    return fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in +"));
  return rthunk_value_new_int (r);
}

static RthunkValue *
std_sub (ARGS)
{
  gint64 r;

  if (!both_int (args))
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) - rthunk_value_get_float (args[1]));
  if (__builtin_sub_overflow (rthunk_value_get_int (args[0]), rthunk_value_get_int (args[1]), &r))
    return fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in -"));
  return rthunk_value_new_int (r);
}

static RthunkValue *
std_mul (ARGS)
{
  gint64 r;

  if (!both_int (args))
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) * rthunk_value_get_float (args[1]));
  if (__builtin_mul_overflow (rthunk_value_get_int (args[0]), rthunk_value_get_int (args[1]), &r))
    return fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in *"));
  return rthunk_value_new_int (r);
}

static gboolean
check_int_divisor (RthunkValue *const *args,
                   GError            **error)
{
  gint64 a = rthunk_value_get_int (args[0]);
  gint64 b = rthunk_value_get_int (args[1]);

  if (b == 0)
    return fail (error, RTHUNK_ERROR_DIVISION_BY_ZERO, _("division by zero")), FALSE;
  if (a == G_MININT64 && b == -1)
    return fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in division")), FALSE;
  return TRUE;
}

static RthunkValue *
std_div (ARGS)
{
  if (!both_int (args))
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) / rthunk_value_get_float (args[1]));
  if (!check_int_divisor (args, error))
    return NULL;
  return rthunk_value_new_int (rthunk_value_get_int (args[0]) / rthunk_value_get_int (args[1]));
}

static RthunkValue *
std_mod (ARGS)
{
  if (!both_int (args))
    {
      double b = rthunk_value_get_float (args[1]);

      if (b == 0.0)
        return fail (error, RTHUNK_ERROR_DIVISION_BY_ZERO, _("modulo by zero"));
      return rthunk_value_new_float (fmod (rthunk_value_get_float (args[0]), b));
    }
  if (!check_int_divisor (args, error))
    return NULL;
  return rthunk_value_new_int (rthunk_value_get_int (args[0]) % rthunk_value_get_int (args[1]));
}

/* ---- comparison --------------------------------------------------------- */

static int
compare (RthunkValue *a,
         RthunkValue *b)
{
  switch (rthunk_value_get_kind (a))
    {
    case RTHUNK_VALUE_INT:
      return (rthunk_value_get_int (a) > rthunk_value_get_int (b)) -
             (rthunk_value_get_int (a) < rthunk_value_get_int (b));
    case RTHUNK_VALUE_FLOAT:
      return (rthunk_value_get_float (a) > rthunk_value_get_float (b)) -
             (rthunk_value_get_float (a) < rthunk_value_get_float (b));
    case RTHUNK_VALUE_STR:
    default:
      return strcmp (rthunk_value_get_str (a), rthunk_value_get_str (b));
    }
}

static RthunkValue *std_eq (ARGS) { return rthunk_value_new_bool (rthunk_value_equal (args[0], args[1])); }
static RthunkValue *std_ne (ARGS) { return rthunk_value_new_bool (!rthunk_value_equal (args[0], args[1])); }
static RthunkValue *std_lt (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) < 0); }
static RthunkValue *std_le (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) <= 0); }
static RthunkValue *std_gt (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) > 0); }
static RthunkValue *std_ge (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) >= 0); }
static RthunkValue *std_not (ARGS) { return rthunk_value_new_bool (!rthunk_value_get_bool (args[0])); }

/* ---- the table ---------------------------------------------------------- */

static const struct
{
  const char *name;
  const char *signature;
  RthunkFuncFlags flags;
  RthunkNativeFunc func;
  const char *doc;
} stdlib[] = {
  { "+", "num a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_add, N_("sum of two numbers") },
  { "-", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_sub, N_("difference of two numbers") },
  { "*", "num a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_mul, N_("product of two numbers") },
  { "/", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_div, N_("quotient; int division truncates") },
  { "mod", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_mod, N_("remainder of a division") },
  { "=", "eq a => (a a -> bool)", RTHUNK_FUNC_PURE, std_eq, N_("structural equality") },
  { "!=", "eq a => (a a -> bool)", RTHUNK_FUNC_PURE, std_ne, N_("structural inequality") },
  { "<", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_lt, N_("less than") },
  { "<=", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_le, N_("less than or equal") },
  { ">", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_gt, N_("greater than") },
  { ">=", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_ge, N_("greater than or equal") },
  { "not", "(bool -> bool)", RTHUNK_FUNC_PURE, std_not, N_("logical negation") },
};

/**
 * rthunk_stdlib_add_to:
 * @catalog: a catalog
 *
 * Adds the standard library to @catalog.
 *
 * Since: 0.1
 */
void
rthunk_stdlib_add_to (RthunkCatalog *catalog)
{
  g_return_if_fail (RTHUNK_IS_CATALOG (catalog));

  for (guint k = 0; k < G_N_ELEMENTS (stdlib); k++)
    {
      g_autoptr(GError) error = NULL;

      if (!rthunk_catalog_add (catalog, stdlib[k].name, stdlib[k].signature, stdlib[k].flags,
                               _(stdlib[k].doc), stdlib[k].func, NULL, NULL, &error))
        g_error ("standard library signature of %s: %s", stdlib[k].name, error->message);
    }
}

/**
 * rthunk_stdlib_new_catalog:
 *
 * Returns: (transfer full): a new catalog holding the standard library
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_stdlib_new_catalog (void)
{
  RthunkCatalog *catalog = rthunk_catalog_new ();

  rthunk_stdlib_add_to (catalog);
  return catalog;
}
