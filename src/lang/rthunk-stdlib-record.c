/* rthunk-stdlib-record.c — the standard library's functions on records
 * and on values that may be absent
 *
 * Reading and replacing a field are special forms (rthunk-check-record.c,
 * rthunk-eval-record.c): the field is a keyword written in the form. What
 * needs no name written is here, in a table of its own.
 *
 * A value of type (maybe T) is nil when absent and the T itself when
 * present (nothing wraps it): some? and or-else only look for nil.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-stdlib-private.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

#define ARGS RTHUNK_NATIVE_ARGS

/* (keys r): the field names, in order. */
static RthunkValue *
std_keys (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);
  RthunkValue **names = g_new (RthunkValue *, MAX (n, 1));

  for (gsize k = 0; k < n; k++)
    names[k] = rthunk_value_new_str (rthunk_value_get_field_name (args[0], k));
  return rthunk_value_new_list_take (names, n);
}

/* :field called as a function; user_data is the field name. */
static RthunkValue *
std_field (ARGS)
{
  RthunkValue *value;

  if (rthunk_value_get_kind (args[0]) != RTHUNK_VALUE_RECORD ||
      (value = rthunk_value_lookup_field (args[0], user_data)) == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                   _("the value has no field “:%s”"), (const char *) user_data);
      return NULL;
    }
  return rthunk_value_ref (value);
}

RthunkType *
rthunk_field_reader_type (const char *field,
                          guint       level,
                          guint      *next_var)
{
  g_autoptr(RthunkType) value = rthunk_type_new_var_at ((*next_var)++, RTHUNK_TYPE_CLASS_ANY, level);
  g_autoptr(RthunkType) row = rthunk_type_new_var_at ((*next_var)++, RTHUNK_TYPE_CLASS_ANY, level);
  g_autoptr(RthunkType) record = rthunk_type_new_record (&field, &value, 1, row);

  return rthunk_type_new_func (&record, 1, value);
}

RthunkFuncDef *
rthunk_stdlib_field_reader (const char *field)
{
  g_autofree char *name = g_strconcat (":", field, NULL);
  guint next_var = 0;
  g_autoptr(RthunkType) type = rthunk_field_reader_type (field, 1, &next_var);

  return rthunk_func_def_new_native (name, rthunk_type_generalize (type, 0), RTHUNK_FUNC_PURE,
                                     NULL, std_field, g_strdup (field), g_free);
}

/* (some? m): whether a maybe value is present. */
static RthunkValue *
std_is_some (ARGS)
{
  return rthunk_value_new_bool (rthunk_value_get_kind (args[0]) != RTHUNK_VALUE_NIL);
}

/* (or-else m default) */
static RthunkValue *
std_or_else (ARGS)
{
  return rthunk_value_ref (rthunk_value_get_kind (args[0]) != RTHUNK_VALUE_NIL ? args[0] : args[1]);
}

/* (some x): x, as a present maybe value. */
static RthunkValue *
std_some (ARGS)
{
  return rthunk_value_ref (args[0]);
}

/* The text of @value without the blanks around it, or NULL when nothing
 * is left. */
static char *
trimmed (RthunkValue *value)
{
  char *text = g_strstrip (g_strdup (rthunk_value_get_str (value)));

  if (*text != '\0')
    return text;
  g_free (text);
  return NULL;
}

/* (parse-int "36"): 36; nil for text that is not a whole decimal int. */
static RthunkValue *
std_parse_int (ARGS)
{
  g_autofree char *text = trimmed (args[0]);
  gint64 i;

  if (text == NULL || !g_ascii_string_to_signed (text[0] == '+' ? text + 1 : text, 10,
                                                 G_MININT64, G_MAXINT64, &i, NULL))
    return rthunk_value_new_nil ();
  return rthunk_value_new_int (i);
}

/* (parse-float "3.5"): 3.5; nil for text that is not a whole decimal
 * number (ints are numbers too; inf, nan and hex floats are not). */
static RthunkValue *
std_parse_float (ARGS)
{
  g_autofree char *text = trimmed (args[0]);
  const char *digits;
  char *end = NULL;
  double f;

  if (text == NULL)
    return rthunk_value_new_nil ();
  digits = text + (text[0] == '-' || text[0] == '+');
  if (!g_ascii_isdigit (digits[0]) && !(digits[0] == '.' && g_ascii_isdigit (digits[1])))
    return rthunk_value_new_nil ();
  if (strpbrk (digits, "xXnN") != NULL)
    return rthunk_value_new_nil ();
  f = g_ascii_strtod (text, &end);
  if (end == NULL || *end != '\0' || !isfinite (f))
    return rthunk_value_new_nil ();
  return rthunk_value_new_float (f);
}

static const RthunkNativeEntry record_functions[] = {
  { "keys", "({| r} -> [str])", RTHUNK_FUNC_PURE, std_keys, N_("the field names of a record, in order") },
  { "some?", "((maybe a) -> bool)", RTHUNK_FUNC_PURE, std_is_some, N_("whether a maybe value is present (not nil)") },
  { "or-else", "((maybe a) a -> a)", RTHUNK_FUNC_PURE, std_or_else, N_("a maybe value if it is present, else the default") },
  { "some", "(a -> (maybe a))", RTHUNK_FUNC_PURE, std_some, N_("a value as a present maybe value") },
  { "parse-int", "(str -> (maybe int))", RTHUNK_FUNC_PURE, std_parse_int, N_("the int a decimal text says (blanks around allowed), or nil") },
  { "parse-float", "(str -> (maybe float))", RTHUNK_FUNC_PURE, std_parse_float, N_("the float a decimal text says (blanks around allowed), or nil") },
};

void
rthunk_stdlib_add_records (RthunkCatalog *catalog)
{
  rthunk_stdlib_add_entries (catalog, record_functions, G_N_ELEMENTS (record_functions));
}
