/* rthunkd-sqlite-types.c — sql-query's types, from the prepared statement
 *
 * `(sql-query "select name, age from people where age > :min" {:min 30})`
 * has the type the statement says, as the client learns it with
 * provideType before anything is sent: a record per row, a field per
 * column, each column's type from its declaration by SQLite's rules of
 * affinity (a declared type holding INT is int; CHAR, CLOB or TEXT str;
 * REAL, FLOA or DOUB float; BLOB str, as hex; any other, NUMERIC, float),
 * `(maybe T)` unless the column is declared NOT NULL (or is the INTEGER
 * PRIMARY KEY). A column without a declaration (an expression: count(*),
 * a + 1) is `(maybe str)`, its value's text. The parameters record has a
 * field per named parameter (`:min`, `@min`, `$min` are all `min`) of any
 * type. At run time each row is read as that type says; a cell that does
 * not fit (text in an INTEGER column, NULL from the NOT NULL side of an
 * outer join) fails the call rather than lie.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "rthunkd-sqlite-types.h"

/* ---- columns -------------------------------------------------------------- */

/* SQLite's rules of affinity (https://sqlite.org/datatype3.html, 3.1). */
static SqlColumnKind
declared_kind (const char *decltype)
{
  g_autofree char *up = NULL;

  if (decltype == NULL)
    return SQL_COLUMN_TEXT;
  up = g_ascii_strup (decltype, -1);
  if (strstr (up, "INT") != NULL)
    return SQL_COLUMN_INT;
  if (strstr (up, "CHAR") != NULL || strstr (up, "CLOB") != NULL || strstr (up, "TEXT") != NULL ||
      strstr (up, "BLOB") != NULL || up[0] == '\0')
    return SQL_COLUMN_STR;
  return SQL_COLUMN_FLOAT;
}

/* Whether column @k of @stmt is a table's column declared NOT NULL (or
 * its INTEGER PRIMARY KEY, which is never NULL). */
static gboolean
declared_not_null (sqlite3_stmt *stmt,
                   int           k)
{
  const char *table = sqlite3_column_table_name (stmt, k);
  const char *column = sqlite3_column_origin_name (stmt, k);
  const char *type = NULL;
  int not_null = 0, primary = 0;

  if (table == NULL || column == NULL ||
      sqlite3_table_column_metadata (sqlite3_db_handle (stmt), sqlite3_column_database_name (stmt, k),
                                     table, column, &type, NULL, &not_null, &primary, NULL) != SQLITE_OK)
    return FALSE;
  return not_null || (primary && type != NULL && g_ascii_strcasecmp (type, "INTEGER") == 0);
}

static int
compare_columns (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (((const SqlColumn *) a)->name, ((const SqlColumn *) b)->name);
}

GArray *
sql_columns_new (sqlite3_stmt  *stmt,
                 GError       **error)
{
  int n = sqlite3_column_count (stmt);
  g_autoptr(GArray) columns = g_array_sized_new (FALSE, FALSE, sizeof (SqlColumn), n);

  for (int k = 0; k < n; k++)
    {
      SqlColumn column = { sqlite3_column_name (stmt, k), k, SQL_COLUMN_TEXT, TRUE };

      if (!rthunk_type_is_field_name (column.name))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
                       _("column %d, “%s”, has no name a record field can have: name it with AS"),
                       k + 1, column.name != NULL ? column.name : "");
          return NULL;
        }
      column.kind = declared_kind (sqlite3_column_decltype (stmt, k));
      column.nullable = !declared_not_null (stmt, k);
      g_array_append_val (columns, column);
    }
  g_array_sort (columns, compare_columns);
  for (guint k = 1; k < columns->len; k++)
    if (strcmp (g_array_index (columns, SqlColumn, k).name, g_array_index (columns, SqlColumn, k - 1).name) == 0)
      {
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
                     _("two columns are named “%s”: name them apart with AS"),
                     g_array_index (columns, SqlColumn, k).name);
        return NULL;
      }
  return g_steal_pointer (&columns);
}

/* ---- types ---------------------------------------------------------------- */

/* The type of a column of @kind: T, or (maybe T) when @nullable. */
static RthunkType *
column_type (SqlColumnKind kind,
             gboolean      nullable)
{
  static const RthunkTypeKind kinds[] = {
    [SQL_COLUMN_INT] = RTHUNK_TYPE_INT, [SQL_COLUMN_FLOAT] = RTHUNK_TYPE_FLOAT,
    [SQL_COLUMN_STR] = RTHUNK_TYPE_STR, [SQL_COLUMN_TEXT] = RTHUNK_TYPE_STR,
  };
  g_autoptr(RthunkType) basic = rthunk_type_new_basic (kinds[kind]);

  return nullable || kind == SQL_COLUMN_TEXT ? rthunk_type_new_maybe (basic) : g_steal_pointer (&basic);
}

/* The record type of a row of @columns. */
static RthunkType *
row_type (GArray *columns)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);

  for (guint k = 0; k < columns->len; k++)
    {
      SqlColumn *column = &g_array_index (columns, SqlColumn, k);

      g_ptr_array_add (names, (gpointer) column->name);
      g_ptr_array_add (types, column_type (column->kind, column->nullable));
    }
  return rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType *const *) types->pdata,
                                 columns->len, NULL);
}

/* The field name of parameter @k (from 1) of @stmt, or NULL with @error
 * set when it has none (`?`, `?3`). */
static const char *
parameter_field (sqlite3_stmt  *stmt,
                 int            k,
                 GError       **error)
{
  const char *name = sqlite3_bind_parameter_name (stmt, k);

  if (name != NULL && name[0] != '?' && rthunk_type_is_field_name (name + 1))
    return name + 1;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
               _("parameter %d, “%s”, has no name: sql-query takes named parameters (:name), "
                 "given in its record"), k, name != NULL ? name : "?");
  return NULL;
}

/* The record type of the parameters of @stmt: a field of any type each. */
static RthunkType *
parameters_type (sqlite3_stmt  *stmt,
                 GError       **error)
{
  int n = sqlite3_bind_parameter_count (stmt);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);

  for (int k = 1; k <= n; k++)
    {
      const char *name = parameter_field (stmt, k, error);

      if (name == NULL)
        return NULL;
      g_ptr_array_add (names, (gpointer) name);
      g_ptr_array_add (types, rthunk_type_new_var ((guint) k, RTHUNK_TYPE_CLASS_ANY));
    }
  return rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType *const *) types->pdata,
                                 names->len, NULL);
}

RthunkType *
sql_statement_type (sqlite3_stmt  *stmt,
                    GError       **error)
{
  g_autoptr(GArray) columns = sql_columns_new (stmt, error);
  g_autoptr(RthunkType) params = NULL;
  g_autoptr(RthunkType) row = NULL;
  g_autoptr(RthunkType) rows = NULL;
  g_autoptr(RthunkType) sql = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  RthunkType *args[2];

  if (columns == NULL || (params = parameters_type (stmt, error)) == NULL)
    return NULL;
  row = row_type (columns);
  rows = rthunk_type_new_list (row);
  args[0] = sql;
  args[1] = params;
  return rthunk_type_new_func (args, 2, rows);
}

/* ---- values --------------------------------------------------------------- */

/* The bytes of column @k as SQLite gives them, and the length of their
 * text: a blob's raw bytes with the length of its hex. NULL is "". */
const char *
sql_cell_bytes (sqlite3_stmt *stmt,
            int           k,
            gsize        *length)
{
  const char *text;

  switch (sqlite3_column_type (stmt, k))
    {
    case SQLITE_NULL:
      *length = 0;
      return "";
    case SQLITE_BLOB:
      text = sqlite3_column_blob (stmt, k);
      *length = (gsize) sqlite3_column_bytes (stmt, k) * 2;
      return text != NULL ? text : "";
    default:
      text = (const char *) sqlite3_column_text (stmt, k);
      *length = (gsize) sqlite3_column_bytes (stmt, k);
      return text != NULL ? text : "";
    }
}

/* Column @k as valid UTF-8: text as it is (invalid bytes replaced), a
 * number as its text, a blob as lowercase hex. */
char *
sql_cell_string (sqlite3_stmt *stmt,
             int           k)
{
  gsize length;
  const char *bytes = sql_cell_bytes (stmt, k, &length);

  if (sqlite3_column_type (stmt, k) == SQLITE_BLOB)
    {
      GString *hex = g_string_sized_new (length + 1);

      for (gsize i = 0; i < length / 2; i++)
        g_string_append_printf (hex, "%02x", (guint) (guchar) bytes[i]);
      return g_string_free (hex, FALSE);
    }
  if (g_utf8_validate_len (bytes, length, NULL))
    return g_strndup (bytes, length);
  return g_utf8_make_valid (bytes, length);
}


/* Binds @value to parameter @k of @stmt. */
static gboolean
bind_value (sqlite3_stmt  *stmt,
            int            k,
            RthunkValue   *value,
            GError       **error)
{
  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_NIL:
      return sqlite3_bind_null (stmt, k) == SQLITE_OK;
    case RTHUNK_VALUE_BOOL:
      return sqlite3_bind_int (stmt, k, rthunk_value_get_bool (value)) == SQLITE_OK;
    case RTHUNK_VALUE_INT:
      return sqlite3_bind_int64 (stmt, k, rthunk_value_get_int (value)) == SQLITE_OK;
    case RTHUNK_VALUE_FLOAT:
      return sqlite3_bind_double (stmt, k, rthunk_value_get_float (value)) == SQLITE_OK;
    case RTHUNK_VALUE_STR:
      return sqlite3_bind_text (stmt, k, rthunk_value_get_str (value), -1, SQLITE_TRANSIENT) == SQLITE_OK;
    default:
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                   _("sql-query: parameter :%s is neither a number, a string, a bool nor nil"),
                   sqlite3_bind_parameter_name (stmt, k) + 1);
      return FALSE;
    }
}

gboolean
sql_bind_record (sqlite3_stmt  *stmt,
                 RthunkValue   *params,
                 GError       **error)
{
  int n = sqlite3_bind_parameter_count (stmt);

  for (int k = 1; k <= n; k++)
    {
      const char *name = parameter_field (stmt, k, error);
      RthunkValue *value = name != NULL ? rthunk_value_lookup_field (params, name) : NULL;

      if (name == NULL)
        return FALSE;
      if (value == NULL)
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                       _("sql-query: the parameters record has no field :%s"), name);
          return FALSE;
        }
      if (!bind_value (stmt, k, value, error))
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, "sql-query: %s",
                         sqlite3_errmsg (sqlite3_db_handle (stmt)));
          return FALSE;
        }
    }
  return TRUE;
}

/* Cell @column of the current row of @stmt, as its column's type says. */
static RthunkValue *
cell_value (sqlite3_stmt     *stmt,
            const SqlColumn  *column,
            GError          **error)
{
  int k = column->index;
  int storage = sqlite3_column_type (stmt, k);

  if (storage == SQLITE_NULL && column->nullable)
    return rthunk_value_new_nil ();
  if (column->kind == SQL_COLUMN_INT && storage == SQLITE_INTEGER)
    return rthunk_value_new_int (sqlite3_column_int64 (stmt, k));
  if (column->kind == SQL_COLUMN_FLOAT && (storage == SQLITE_FLOAT || storage == SQLITE_INTEGER))
    return rthunk_value_new_float (sqlite3_column_double (stmt, k));
  if ((column->kind == SQL_COLUMN_STR || column->kind == SQL_COLUMN_TEXT) && storage != SQLITE_NULL)
    return rthunk_value_new_str_take (sql_cell_string (stmt, k));
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
               storage == SQLITE_NULL
               ? _("sql-query: column %s is NULL in a row, though it is declared NOT NULL "
                   "(an outer join?): select it with coalesce() or through a view")
               : _("sql-query: column %s holds a value that is not of its declared type"),
               column->name);
  return NULL;
}

RthunkValue *
sql_row_record (sqlite3_stmt  *stmt,
                GArray        *columns,
                GError       **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < columns->len; k++)
    {
      SqlColumn *column = &g_array_index (columns, SqlColumn, k);
      RthunkValue *value = cell_value (stmt, column, error);

      if (value == NULL)
        return NULL;
      g_ptr_array_add (names, (gpointer) column->name);
      g_ptr_array_add (values, value);
    }
  return rthunk_value_new_record ((const char *const *) names->pdata, (RthunkValue *const *) values->pdata,
                                  columns->len);
}
