/* rthunk-stdlib-data.c — the standard library's functions for data
 *
 * What computing on rows and columns needs: CSV text parsed (RFC 4180,
 * rthunk-csv.c), the mean, sorting by a key, grouping by a key, and the
 * string and column helpers that go with them. Pure, flagged "stdlib"
 * like the rest of the library (rthunk-stdlib.c), in a table of their own.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <string.h>

#include "rthunk-csv.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-stdlib-private.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define ARGS RTHUNK_NATIVE_ARGS
#define VALUE_OVERHEAD RTHUNK_STDLIB_VALUE_OVERHEAD

/* ---- csv-parse, mean ---------------------------------------------------- */

static RthunkValue *
data_csv_parse (ARGS)
{
  const char *text = rthunk_value_get_str (args[0]);

  return rthunk_csv_parse (context, "csv-parse", text, strlen (text), error);
}

/* Adds @x to the sum (*@sum, *@compensation) with Neumaier's compensated
 * summation, so that the mean of many floats loses no more than one. */
static void
add_compensated (double *sum,
                 double *compensation,
                 double  x)
{
  double t = *sum + x;

  if (ABS (*sum) >= ABS (x))
    *compensation += (*sum - t) + x;
  else
    *compensation += (x - t) + *sum;
  *sum = t;
}

static RthunkValue *
data_mean (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);
  const gint64 *ints = rthunk_value_peek_ints (args[0]);
  double sum = 0.0, compensation = 0.0;

  if (!rthunk_stdlib_nonempty (args[0], _("mean of an empty list"), error))
    return NULL;
  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) x = NULL;

      if (ints != NULL)
        {
          add_compensated (&sum, &compensation, (double) ints[k]);
          continue;
        }
      if ((x = rthunk_stdlib_item (args[0], k, error)) == NULL)
        return NULL;
      add_compensated (&sum, &compensation, rthunk_value_get_kind (x) == RTHUNK_VALUE_INT
                                            ? (double) rthunk_value_get_int (x)
                                            : rthunk_value_get_float (x));
    }
  return rthunk_value_new_float ((sum + compensation) / (double) n);
}

/* ---- sort, sort-by, group-by -------------------------------------------- */

/* An element and its key. */
typedef struct
{
  RthunkValue *key;             /* owned */
  RthunkValue *item;            /* borrowed from the list */
} Keyed;

static void
keyed_free (Keyed  *keyed,
            gsize   n)
{
  for (gsize k = 0; k < n; k++)
    g_clear_pointer (&keyed[k].key, rthunk_value_unref);
  g_free (keyed);
}

/* The elements of @list with their keys, forced: (@func element), or the
 * element itself when @func is %NULL. */
static Keyed *
keys_of (RthunkCallContext  *context,
         RthunkValue        *func,
         RthunkValue        *list,
         GError            **error)
{
  gsize n = rthunk_value_get_length (list);
  Keyed *keyed;

  if (!rthunk_stdlib_charge_list (context, 2 * (guint64) n, error))
    return NULL;
  keyed = g_new0 (Keyed, MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) key = NULL;

      keyed[k].item = rthunk_value_get_item (list, k);
      if (func == NULL)
        keyed[k].key = rthunk_value_force (keyed[k].item, error);
      else if ((key = rthunk_call_context_apply (context, func, &keyed[k].item, 1, error)) != NULL)
        keyed[k].key = rthunk_value_force (key, error);
      if (keyed[k].key == NULL)
        {
          keyed_free (keyed, k);
          return NULL;
        }
    }
  return keyed;
}

static gint
compare_keyed (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  return rthunk_stdlib_compare (((const Keyed *) a)->key, ((const Keyed *) b)->key);
}

/* @list ordered by the keys (stable: g_qsort_with_data is a merge sort). */
static RthunkValue *
sorted (RthunkCallContext  *context,
        RthunkValue        *func,
        RthunkValue        *list,
        GError            **error)
{
  gsize n = rthunk_value_get_length (list);
  Keyed *keyed = keys_of (context, func, list, error);
  RthunkValue **items;

  if (keyed == NULL)
    return NULL;
  g_qsort_with_data (keyed, (gint) n, sizeof (Keyed), compare_keyed, NULL);
  items = g_new (RthunkValue *, MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    items[k] = rthunk_value_ref (keyed[k].item);
  keyed_free (keyed, n);
  return rthunk_value_new_list_take (items, n);
}

static RthunkValue *
data_sort (ARGS)
{
  return sorted (context, NULL, args[0], error);
}

static RthunkValue *
data_sort_by (ARGS)
{
  return sorted (context, args[0], args[1], error);
}

/* A hash agreeing with rthunk_value_equal(), bounded in work: a list is
 * hashed by its length and its first elements' kinds and scalars. */
static guint
hash_scalar (RthunkValue *value)
{
  double f;

  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_INT:
      return g_int64_hash (&(gint64) { rthunk_value_get_int (value) });
    case RTHUNK_VALUE_FLOAT:
      f = rthunk_value_get_float (value);
      return f == 0.0 ? 0 : g_double_hash (&f);   /* 0.0 = -0.0 */
    case RTHUNK_VALUE_STR:
      return g_str_hash (rthunk_value_get_str (value));
    case RTHUNK_VALUE_BOOL:
      return rthunk_value_get_bool (value) ? 1 : 2;
    case RTHUNK_VALUE_LIST:
      return 31 * (guint) rthunk_value_get_length (value) + 7;
    default:
      return (guint) rthunk_value_get_kind (value);
    }
}

static guint
hash_key (gconstpointer key)
{
  RthunkValue *value = (RthunkValue *) key;
  guint h = hash_scalar (value);

  if (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST)
    for (gsize k = 0; k < MIN (rthunk_value_get_length (value), 8); k++)
      {
        RthunkValue *element = rthunk_value_get_item (value, k);

        if (rthunk_value_get_kind (element) != RTHUNK_VALUE_PENDING)
          h = h * 31 + hash_scalar (element);
      }
  return h;
}

static gboolean
equal_keys (gconstpointer a,
            gconstpointer b)
{
  return rthunk_value_equal (a, b);
}

/* The groups of @keyed as a list of lists, in order of first appearance. */
static RthunkValue *
groups_of (Keyed *keyed,
           gsize  n)
{
  g_autoptr(GHashTable) index = g_hash_table_new (hash_key, equal_keys);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  RthunkValue **lists;

  for (gsize k = 0; k < n; k++)
    {
      gpointer at;
      GPtrArray *group;

      if (g_hash_table_lookup_extended (index, keyed[k].key, NULL, &at))
        group = g_ptr_array_index (groups, GPOINTER_TO_UINT (at));
      else
        {
          g_hash_table_insert (index, keyed[k].key, GUINT_TO_POINTER (groups->len));
          g_ptr_array_add (groups, group = g_ptr_array_new ());
        }
      g_ptr_array_add (group, keyed[k].item);
    }
  lists = g_new (RthunkValue *, MAX (groups->len, 1));
  for (guint g = 0; g < groups->len; g++)
    {
      GPtrArray *group = g_ptr_array_index (groups, g);

      lists[g] = rthunk_value_new_list ((RthunkValue *const *) group->pdata, group->len);
    }
  return rthunk_value_new_list_take (lists, groups->len);
}

static RthunkValue *
data_group_by (ARGS)
{
  gsize n = rthunk_value_get_length (args[1]);
  Keyed *keyed;
  RthunkValue *groups;

  /* the lists of the groups hold n elements in all, and one list each */
  if (!rthunk_call_context_charge (context, (guint64) n * (2 * sizeof (gpointer) + VALUE_OVERHEAD), error) ||
      (keyed = keys_of (context, args[0], args[1], error)) == NULL)
    return NULL;
  groups = groups_of (keyed, n);
  keyed_free (keyed, n);
  return groups;
}

/* ---- strings ------------------------------------------------------------ */

static RthunkValue *
data_split (ARGS)
{
  const char *text = rthunk_value_get_str (args[0]);
  const char *separator = rthunk_value_get_str (args[1]);
  gsize step = strlen (separator);
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  const char *next;
  guint n;

  if (step == 0)
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_EVAL_FAILED, _("split: the separator is empty"));
  for (;; text = next + step)
    {
      next = strstr (text, separator);
      if (!rthunk_call_context_charge (context, (next != NULL ? (gsize) (next - text) : strlen (text)) +
                                       sizeof (gpointer) + VALUE_OVERHEAD + 1, error))
        return NULL;
      if (next == NULL)
        break;
      g_ptr_array_add (parts, rthunk_value_new_str_take (g_strndup (text, next - text)));
    }
  g_ptr_array_add (parts, rthunk_value_new_str (text));
  n = parts->len;
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_steal (parts, NULL), n);
}

static RthunkValue *
data_trim (ARGS)
{
  const char *text = rthunk_value_get_str (args[0]);
  const char *end = text + strlen (text);

  while (g_ascii_isspace (*text))
    text++;
  while (end > text && g_ascii_isspace (end[-1]))
    end--;
  if (!rthunk_call_context_charge (context, (gsize) (end - text) + VALUE_OVERHEAD + 1, error))
    return NULL;
  return rthunk_value_new_str_take (g_strndup (text, end - text));
}

static RthunkValue *
data_join (ARGS)
{
  const char *separator = rthunk_value_get_str (args[0]);
  gsize n = rthunk_value_get_length (args[1]);
  g_autoptr(GString) out = g_string_new (NULL);

  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) part = rthunk_stdlib_item (args[1], k, error);
      const char *text = part != NULL ? rthunk_value_get_str (part) : NULL;

      if (text == NULL ||
          !rthunk_call_context_charge (context, strlen (text) + (k > 0 ? strlen (separator) : 0), error))
        return NULL;
      if (k > 0)
        g_string_append (out, separator);
      g_string_append (out, text);
    }
  if (!rthunk_call_context_charge (context, VALUE_OVERHEAD + 1, error))
    return NULL;
  return rthunk_value_new_str_take (g_string_free (g_steal_pointer (&out), FALSE));
}

/* ---- rows and columns --------------------------------------------------- */

static RthunkValue *
data_column (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);
  gint64 index = rthunk_value_get_int (args[1]);
  g_autoptr(GPtrArray) cells = g_ptr_array_new_full (n, (GDestroyNotify) rthunk_value_unref);

  if (!rthunk_stdlib_charge_list (context, n, error))
    return NULL;
  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) row = rthunk_stdlib_item (args[0], k, error);
      RthunkValue *cell;

      if (row == NULL)
        return NULL;
      if (!rthunk_stdlib_has_index (row, index))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INDEX_OUT_OF_RANGE,
                       g_dngettext (GETTEXT_PACKAGE,
                                    "column: row %" PRIu64 " has %" PRIu64 " element, no index %" PRId64,
                                    "column: row %" PRIu64 " has %" PRIu64 " elements, no index %" PRId64,
                                    rthunk_value_get_length (row)),
                       (guint64) k, (guint64) rthunk_value_get_length (row), index);
          return NULL;
        }
      if ((cell = rthunk_stdlib_item (row, (gsize) index, error)) == NULL)
        return NULL;
      g_ptr_array_add (cells, cell);
    }
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_steal (cells, NULL), n);
}

static RthunkValue *
data_index_of (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);

  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) x = rthunk_stdlib_item (args[0], k, error);

      if (x == NULL)
        return NULL;
      if (rthunk_value_equal (x, args[1]))
        return rthunk_value_new_int ((gint64) k);
    }
  return rthunk_value_new_int (-1);
}

/* ---- the table ---------------------------------------------------------- */

static const RthunkNativeEntry data_functions[] = {
  { "csv-parse", "(str -> [[str]])", RTHUNK_FUNC_PURE, data_csv_parse, N_("the rows of CSV text (RFC 4180), each a list of its fields, the header row included") },
  { "mean", "num a => ([a] -> float)", RTHUNK_FUNC_PURE, data_mean, N_("the arithmetic mean of a list of numbers; an empty list is an error") },
  { "sort", "ord a => ([a] -> [a])", RTHUNK_FUNC_PURE, data_sort, N_("a list in ascending order") },
  { "sort-by", "ord b => ((a -> b) [a] -> [a])", RTHUNK_FUNC_PURE, data_sort_by, N_("a list in ascending order of a key; elements of equal keys keep their order") },
  { "group-by", "eq b => ((a -> b) [a] -> [[a]])", RTHUNK_FUNC_PURE, data_group_by, N_("the elements in groups of equal keys, groups in order of first appearance") },
  { "split", "(str str -> [str])", RTHUNK_FUNC_PURE, data_split, N_("the parts of a string between the occurrences of a separator") },
  { "trim", "(str -> str)", RTHUNK_FUNC_PURE, data_trim, N_("a string without the spaces, tabs and line breaks at either end") },
  { "join", "(str [str] -> str)", RTHUNK_FUNC_PURE, data_join, N_("strings joined with a separator between them") },
  { "column", "([[a]] int -> [a])", RTHUNK_FUNC_PURE, data_column, N_("the element at an index (0-based) of every row") },
  { "index-of", "eq a => ([a] a -> int)", RTHUNK_FUNC_PURE, data_index_of, N_("the index of the first element equal to a value, or -1") },
};

void
rthunk_stdlib_data_add_to (RthunkCatalog *catalog)
{
  rthunk_stdlib_add_entries (catalog, data_functions, G_N_ELEMENTS (data_functions));
}
