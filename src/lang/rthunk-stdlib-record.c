/* rthunk-stdlib-record.c — the standard library's functions on records
 *
 * Reading and replacing a field are special forms (rthunk-check-record.c,
 * rthunk-eval-record.c): the field is a keyword written in the form. What
 * needs no name written is here, in a table of its own.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-stdlib-private.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

#define ARGS RthunkCallContext *context, RthunkValue *const *args, guint n_args, \
             gpointer user_data, GError **error

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

static const RthunkStdlibEntry record_functions[] = {
  { "keys", "({| r} -> [str])", RTHUNK_FUNC_PURE, std_keys, N_("the field names of a record, in order") },
};

void
rthunk_stdlib_add_records (RthunkCatalog *catalog)
{
  rthunk_stdlib_add_entries (catalog, record_functions, G_N_ELEMENTS (record_functions));
}
