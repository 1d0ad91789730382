/* rthunk-csv-types.c — csv-read's types, from a file's header and first
 * rows
 *
 * `(csv-read "sales.csv")` has the type its file says, as the client
 * learns it with provideType before anything is sent: a record per row,
 * a field per column of the header, each column's type from the cells of
 * the sample — the records in the file's first RTHUNK_CSV_SAMPLE_BYTES
 * bytes: int when every cell of the column there is an integer, float
 * when every one is a number, str otherwise; `(maybe T)` when one of them
 * is empty (an empty cell is then nil). At run time the server takes the
 * sample of the same file the same way, so the rows come typed as the
 * check said; a cell past the sample that does not fit its column fails
 * the call, naming the row, rather than lie.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "rthunk-csv.h"
#include "rthunk-error.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

/* what one record costs beyond its cells */
#define RECORD_OVERHEAD 64

typedef enum
{
  KIND_INT,
  KIND_FLOAT,
  KIND_STR,
} Kind;

typedef struct
{
  const char *name;             /* the header's */
  guint index;                  /* in the file's rows */
  Kind kind;
  gboolean nullable;
} Column;

/* ---- cells ---------------------------------------------------------------- */

static gboolean
parse_int (const char *cell,
           gint64     *value)
{
  return g_ascii_string_to_signed (cell, 10, G_MININT64, G_MAXINT64, value, NULL);
}

/* A number as CSV files write them: digits, a sign, a point, an exponent;
 * not "nan" nor "inf". */
static gboolean
parse_float (const char *cell,
             double     *value)
{
  char *end = NULL;

  if (!(g_ascii_isdigit (cell[0]) || strchr ("+-.", cell[0]) != NULL))
    return FALSE;
  *value = g_ascii_strtod (cell, &end);
  return end != cell && *end == '\0' && isfinite (*value);
}

/* The kind a column can keep when it also holds @cell. */
static Kind
widen (Kind        kind,
       const char *cell)
{
  gint64 i;
  double f;

  if (kind == KIND_INT && parse_int (cell, &i))
    return KIND_INT;
  if (kind != KIND_STR && parse_float (cell, &f))
    return KIND_FLOAT;
  return KIND_STR;
}

/* ---- the columns ------------------------------------------------------------ */

static int
compare_columns (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (((const Column *) a)->name, ((const Column *) b)->name);
}

/* The columns of @sample's header, sorted by name, typed by the rows
 * after it; NULL with @error set for a header no record can have. */
static GArray *
sample_columns (const char   *what,
                RthunkValue  *sample,
                GError      **error)
{
  RthunkValue *header;
  g_autoptr(GArray) columns = NULL;
  gsize n_rows = rthunk_value_get_length (sample);

  if (n_rows == 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH, _("%s: the file has no header row"), what);
      return NULL;
    }
  header = rthunk_value_get_item (sample, 0);
  columns = g_array_new (FALSE, FALSE, sizeof (Column));
  for (gsize k = 0; k < rthunk_value_get_length (header); k++)
    {
      Column column = { rthunk_value_get_str (rthunk_value_get_item (header, k)), (guint) k, KIND_INT, FALSE };
      /* with no row to go by, a column is text */
      gboolean seen = FALSE;

      if (!rthunk_type_is_field_name (column.name))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
                       _("%s: column %u of the header, “%s”, has no name a record field can have"),
                       what, (guint) k + 1, column.name);
          return NULL;
        }
      for (gsize r = 1; r < n_rows; r++)
        {
          const char *cell = rthunk_value_get_str (rthunk_value_get_item (rthunk_value_get_item (sample, r), k));

          if (cell[0] == '\0')
            column.nullable = TRUE;
          else
            {
              column.kind = widen (column.kind, cell);
              seen = TRUE;
            }
        }
      if (!seen)
        column.kind = KIND_STR;
      g_array_append_val (columns, column);
    }
  g_array_sort (columns, compare_columns);
  for (guint k = 1; k < columns->len; k++)
    if (strcmp (g_array_index (columns, Column, k).name, g_array_index (columns, Column, k - 1).name) == 0)
      {
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH, _("%s: two columns are named “%s”"),
                     what, g_array_index (columns, Column, k).name);
        return NULL;
      }
  return g_steal_pointer (&columns);
}

/* ---- the type --------------------------------------------------------------- */

static RthunkType *
column_type (const Column *column)
{
  static const RthunkTypeKind kinds[] = {
    [KIND_INT] = RTHUNK_TYPE_INT, [KIND_FLOAT] = RTHUNK_TYPE_FLOAT, [KIND_STR] = RTHUNK_TYPE_STR,
  };
  g_autoptr(RthunkType) basic = rthunk_type_new_basic (kinds[column->kind]);

  return column->nullable ? rthunk_type_new_maybe (basic) : g_steal_pointer (&basic);
}

RthunkType *
rthunk_csv_type (const char   *what,
                 RthunkValue  *sample,
                 GError      **error)
{
  g_autoptr(GArray) columns = sample_columns (what, sample, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(RthunkType) row = NULL;
  g_autoptr(RthunkType) rows = NULL;
  g_autoptr(RthunkType) path = rthunk_type_new_basic (RTHUNK_TYPE_STR);

  if (columns == NULL)
    return NULL;
  for (guint k = 0; k < columns->len; k++)
    {
      g_ptr_array_add (names, (gpointer) g_array_index (columns, Column, k).name);
      g_ptr_array_add (types, column_type (&g_array_index (columns, Column, k)));
    }
  row = rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType *const *) types->pdata,
                                columns->len, NULL);
  rows = rthunk_type_new_list (row);
  return rthunk_type_new_func (&path, 1, rows);
}

/* ---- the values ------------------------------------------------------------- */

/* Cell @cell of row @r in @column, as its type says. */
static RthunkValue *
cell_value (const char    *what,
            const Column  *column,
            gsize          r,
            const char    *cell,
            GError       **error)
{
  gint64 i;
  double f;

  if (cell[0] == '\0' && column->nullable)
    return rthunk_value_new_nil ();
  if (column->kind == KIND_STR)
    return rthunk_value_new_str (cell);
  if (column->kind == KIND_INT && parse_int (cell, &i))
    return rthunk_value_new_int (i);
  if (column->kind == KIND_FLOAT && parse_float (cell, &f))
    return rthunk_value_new_float (f);
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
               _("%s: row %" PRIu64 ", column %s: “%s” is not of the column's type, %s, which the "
                 "file's first rows gave it"),
               what, (guint64) r + 1, column->name, cell,
               column->kind == KIND_INT ? "int" : column->kind == KIND_FLOAT ? "float" : "str");
  return NULL;
}

static RthunkValue *
row_record (const char   *what,
            GArray       *columns,
            RthunkValue  *cells,
            gsize         r,
            GError      **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < columns->len; k++)
    {
      const Column *column = &g_array_index (columns, Column, k);
      RthunkValue *value = cell_value (what, column, r,
                                       rthunk_value_get_str (rthunk_value_get_item (cells, column->index)), error);

      if (value == NULL)
        return NULL;
      g_ptr_array_add (names, (gpointer) column->name);
      g_ptr_array_add (values, value);
    }
  return rthunk_value_new_record ((const char *const *) names->pdata, (RthunkValue *const *) values->pdata,
                                  columns->len);
}

RthunkValue *
rthunk_csv_records (RthunkCallContext  *context,
                    const char         *what,
                    RthunkValue        *rows,
                    RthunkValue        *sample,
                    GError            **error)
{
  g_autoptr(GArray) columns = sample_columns (what, sample, error);
  gsize n = rthunk_value_get_length (rows);
  RthunkValue **records;

  if (columns == NULL)
    return NULL;
  if (!rthunk_call_context_charge (context, (guint64) n * (RECORD_OVERHEAD + columns->len * sizeof (gpointer)),
                                   error))
    return NULL;
  records = g_new0 (RthunkValue *, MAX (n, 1));
  for (gsize r = 1; r < n; r++)
    if ((records[r - 1] = row_record (what, columns, rthunk_value_get_item (rows, r), r, error)) == NULL ||
        (r % 1024 == 0 && !rthunk_call_context_check (context, error)))
      {
        for (gsize k = 0; k < r; k++)
          g_clear_pointer (&records[k], rthunk_value_unref);
        g_free (records);
        return NULL;
      }
  return rthunk_value_new_list_take (records, n > 0 ? n - 1 : 0);
}
