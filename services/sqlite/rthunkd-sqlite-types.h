/* rthunkd-sqlite-types.h — sql-query's types, from the prepared statement */
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include "rthunk.h"

G_BEGIN_DECLS

/* What a result column is, as its declaration says. */
typedef enum
{
  SQL_COLUMN_INT,
  SQL_COLUMN_FLOAT,
  SQL_COLUMN_STR,
  SQL_COLUMN_TEXT,              /* no declared type (an expression): its text */
} SqlColumnKind;

typedef struct
{
  const char *name;             /* sqlite3_column_name(): the statement's */
  int index;                    /* in the statement */
  SqlColumnKind kind;
  gboolean nullable;            /* (maybe T): not declared NOT NULL */
} SqlColumn;

/* The bytes of column @k of @stmt's row as SQLite gives them, and the
 * length of their text: a blob's raw bytes with the length of its hex.
 * NULL is "". */
const char *sql_cell_bytes       (sqlite3_stmt  *stmt,
                                  int            k,
                                  gsize         *length);
/* Column @k as valid UTF-8: text as it is (invalid bytes replaced), a
 * number as its text, a blob as lowercase hex. */
char       *sql_cell_string      (sqlite3_stmt  *stmt,
                                  int            k);
/* The columns of @stmt, sorted by name as a record's fields are; NULL
 * with @error (TYPE_MISMATCH) when a column has no name a record field
 * can have or two have the same. Valid while @stmt is. */
GArray     *sql_columns_new      (sqlite3_stmt  *stmt,
                                  GError       **error);
/* sql-query's type for @stmt: (str {PARAMETERS} -> [{COLUMNS}]), each
 * named parameter a field of any type; NULL with @error (TYPE_MISMATCH)
 * when it has a parameter without a name. */
RthunkType *sql_statement_type   (sqlite3_stmt  *stmt,
                                  GError       **error);
/* Binds the fields of the record @params to @stmt's named parameters. */
gboolean    sql_bind_record      (sqlite3_stmt  *stmt,
                                  RthunkValue   *params,
                                  GError       **error);
/* The current row of @stmt as a record of @columns (sql_columns_new()):
 * ints and floats as numbers, NULL as nil where the type is (maybe T); a
 * cell that does not fit its column's type is an error. */
RthunkValue *sql_row_record      (sqlite3_stmt  *stmt,
                                  GArray        *columns,
                                  GError       **error);

G_END_DECLS
