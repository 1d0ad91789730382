/* rthunkd-sqlite — an rthunk provider over one SQLite database
 *
 *   rthunkd-sqlite --db FILE [--read-only] [--create] --port N [--name NAME]
 *                  [--bind ADDR] [--config FILE] [--token-file FILE]
 *                  [--busy-timeout-ms MS] [--sql-timeout-ms MS]
 *                  [--sql-connections N] [--sql-max-memory SIZE] [limits…]
 *
 * Publishes the standard library plus
 *   sql-query      : (str a -> [b])  io, provided   the rows of one read-only
 *                    statement, as records typed by the statement; its
 *                    named parameters from the record (rthunkd-sqlite-types.c)
 *   sql-query-text : (str -> [[str]])  io   the same for SQL built at run
 *                    time: each row a list of its columns as text
 *   sql-exec       : (str -> int)    io   runs statements, returns the changes
 * and the capability "db" (and, with --data-dir, the files of
 * rthunk_provider_options_add_files()). The server options, limits, --config and
 * --token-file are those of every provider (rthunk-provider.h); the
 * configuration file may also hold this program's own keys, in a [sqlite]
 * group: db, read-only, create, busy-timeout-ms, sql-timeout-ms,
 * sql-connections, sql-max-memory (flags win). Prints "rthunkd-sqlite NAME
 * listening on ADDR:PORT" once it accepts connections and stops cleanly on
 * SIGTERM or SIGINT, letting accepted thunks finish, then closes the
 * database.
 *
 * Connections: a pool of at most --sql-connections connections to the file.
 * Each SQL call borrows one for itself (waiting, cancellably, while all are
 * lent), so calls of different thunks run at once and never share a
 * connection's state. When the call ends the connection is checked before
 * it goes back: an unfinished transaction is rolled back, and a connection
 * whose state a call may have changed (any PRAGMA, any TEMP table, view,
 * trigger or index, ATTACH/DETACH, an out-of-memory error) is closed
 * instead; the next call that needs one opens a fresh connection. So no
 * TEMP object, PRAGMA setting or attached database outlives its call.
 *
 * sql-query only reads: it runs with PRAGMA query_only on and an authorizer
 * that allows SELECT, reading tables, recursive CTEs and functions (but
 * not those that reveal the connection's history), and refuses the rest,
 * TEMP tables and PRAGMAs included, with a clear error.
 *
 * Files: no ATTACH (SQLITE_LIMIT_ATTACHED is 0), so a client cannot open or
 * create another file; VACUUM and VACUUM INTO, which attach one, are refused
 * with it. SQLITE_DBCONFIG_DEFENSIVE is on; extensions stay unloadable.
 *
 * Bounds: every row of a result is charged to the thunk's memory limit
 * (--max-eval-bytes) before it is copied; everything SQLite allocates, in
 * all connections together, is bounded by --sql-max-memory
 * (sqlite3_hard_heap_limit64). A progress handler stops a statement when it
 * runs past --sql-timeout-ms, or when its thunk is cancelled or reaches its
 * deadline (rthunk_call_context_check()).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <sqlite3.h>

#include "rthunk.h"
#include "common/rthunk-locale.h"
#include "rthunkd-sqlite-types.h"

#define PROGRAM "rthunkd-sqlite"
#define CONFIG_GROUP "sqlite"
#define DEFAULT_BUSY_TIMEOUT_MS 5000
/* how long one SQL call may run: the server's default thunk deadline */
#define DEFAULT_SQL_TIMEOUT_MS 60000
/* connections open at once, so SQL calls that run at once */
#define DEFAULT_SQL_CONNECTIONS 4
#define MAX_SQL_CONNECTIONS 256
/* what SQLite may allocate in all, by default */
#define DEFAULT_SQL_MAX_MEMORY "64M"
#define MIN_SQL_MAX_MEMORY (1024 * 1024)
/* SQLite virtual machine steps between two deadline checks */
#define PROGRESS_STEPS 10000
/* how often a call waiting for a connection checks its thunk */
#define WAIT_SLICE_US (50 * 1000)
/* what one string or list costs beyond its bytes or pointers */
#define VALUE_OVERHEAD 32

#define ARGS RthunkCallContext *context, RthunkValue *const *args, guint n_args, \
             gpointer user_data, GError **error

typedef struct _SqlPool SqlPool;

/* What the authorizer lets the statements of a connection do. */
typedef enum
{
  SQL_MODE_OWN,     /* the daemon's own statements: everything */
  SQL_MODE_READ,    /* sql-query: reads only */
  SQL_MODE_EXEC,    /* sql-exec: everything, noting what changes state */
} SqlMode;

/* One connection, lent to one call at a time. */
typedef struct
{
  sqlite3 *db;
  guint timeout_ms;             /* of one SQL call; 0: none */
  SqlMode mode;
  RthunkCallContext *context;   /* of the call it is lent to */
  gint64 deadline_us;           /* of that call's SQL; 0: none */
  GError *stop;                 /* why the progress handler stopped it */
  gboolean dirty;               /* a call may have changed its state */
  gboolean refused;             /* the authorizer refused a statement */
} SqlConn;

struct _SqlPool
{
  char *path;
  int open_flags;
  guint busy_timeout_ms;
  guint timeout_ms;
  guint max_connections;
  GMutex lock;
  GCond returned;
  GPtrArray *idle;              /* of SqlConn */
  guint n_open;                 /* idle and lent */
};

/* ---- one connection ------------------------------------------------------- */

/* Functions sql-query refuses: they report what earlier calls on the
 * connection did, or load code. */
static const char *const hidden_functions[] = {
  "changes", "total_changes", "last_insert_rowid", "load_extension", "fts3_tokenizer",
};

static gboolean
is_hidden_function (const char *name)
{
  for (guint k = 0; k < G_N_ELEMENTS (hidden_functions); k++)
    if (name != NULL && g_ascii_strcasecmp (name, hidden_functions[k]) == 0)
      return TRUE;
  return FALSE;
}

/* sql-query's rule: SELECT, reading, recursive CTEs, functions. */
static int
authorize_read (int         action,
                const char *function)
{
  switch (action)
    {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_FUNCTION:
      return is_hidden_function (function) ? SQLITE_DENY : SQLITE_OK;
    default:
      return SQLITE_DENY;
    }
}

/* Whether @action leaves state on the connection that a later call
 * would see. */
static gboolean
changes_connection (int action)
{
  switch (action)
    {
    case SQLITE_PRAGMA:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_VTABLE:
      return TRUE;
    default:
      return FALSE;
    }
}

static int
on_authorize (gpointer    user_data,
              int         action,
              const char *arg1,
              const char *arg2,
              const char *db_name,
              const char *trigger)
{
  SqlConn *conn = user_data;

  switch (conn->mode)
    {
    case SQL_MODE_READ:
      if (authorize_read (action, arg2) == SQLITE_OK)
        return SQLITE_OK;
      conn->refused = TRUE;
      return SQLITE_DENY;
    case SQL_MODE_EXEC:
      conn->dirty |= changes_connection (action);
      return SQLITE_OK;
    case SQL_MODE_OWN:
    default:
      return SQLITE_OK;
    }
}

/* Stops a statement at the SQL timeout, or when its thunk is cancelled or
 * past its deadline; @conn->stop says which. */
static int
on_progress (gpointer user_data)
{
  SqlConn *conn = user_data;

  if (conn->mode == SQL_MODE_OWN || conn->context == NULL)
    return 0;
  if (conn->stop != NULL)
    return 1;
  if (conn->deadline_us > 0 && g_get_monotonic_time () > conn->deadline_us)
    g_set_error (&conn->stop, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                 _("the SQL statement ran past its deadline of %u ms (--sql-timeout-ms)"),
                 conn->timeout_ms);
  else
    rthunk_call_context_check (conn->context, &conn->stop);
  return conn->stop != NULL;
}

/* Runs the daemon's own @sql; FALSE if it failed. */
static gboolean
conn_run_own (SqlConn    *conn,
              const char *sql)
{
  SqlMode mode = conn->mode;
  gboolean ok;

  conn->mode = SQL_MODE_OWN;
  ok = sqlite3_exec (conn->db, sql, NULL, NULL, NULL) == SQLITE_OK;
  conn->mode = mode;
  return ok;
}

static void
conn_free (SqlConn *conn)
{
  if (sqlite3_close (conn->db) != SQLITE_OK)
    g_warning ("closing a connection: %s", sqlite3_errmsg (conn->db));
  g_clear_error (&conn->stop);
  g_free (conn);
}

static gboolean
configure_db (SqlConn *conn,
              guint    busy_timeout_ms)
{
  sqlite3_busy_timeout (conn->db, (int) MIN (busy_timeout_ms, (guint) G_MAXINT));
  /* no ATTACH: a client must not open (or create) other files */
  sqlite3_limit (conn->db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config (conn->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_set_authorizer (conn->db, on_authorize, conn);
  sqlite3_progress_handler (conn->db, PROGRESS_STEPS, on_progress, conn);
  /* reads the header now, so a file that is no database fails at once */
  return conn_run_own (conn, "PRAGMA schema_version");
}

/* A new connection to the pool's file. */
static SqlConn *
conn_open (SqlPool  *pool,
           GError  **error)
{
  SqlConn *conn = g_new0 (SqlConn, 1);
  int rc = sqlite3_open_v2 (pool->path, &conn->db, pool->open_flags, NULL);

  conn->timeout_ms = pool->timeout_ms;
  if (rc == SQLITE_OK && configure_db (conn, pool->busy_timeout_ms))
    return conn;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", pool->path,
               conn->db != NULL ? sqlite3_errmsg (conn->db) : sqlite3_errstr (rc));
  conn_free (conn);
  return NULL;
}

/* Whether @conn is as a fresh connection would be, once its call ended:
 * ends an open transaction and looks for TEMP objects. */
static gboolean
conn_is_clean (SqlConn *conn)
{
  sqlite3_stmt *stmt = NULL;
  gboolean empty;

  if (conn->dirty)
    return FALSE;
  if (!sqlite3_get_autocommit (conn->db) && !conn_run_own (conn, "ROLLBACK"))
    return FALSE;
  conn->mode = SQL_MODE_OWN;
  if (sqlite3_prepare_v2 (conn->db, "SELECT count(*) FROM temp.sqlite_master", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  empty = sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int64 (stmt, 0) == 0;
  sqlite3_finalize (stmt);
  return empty;
}

/* Sets @error from the connection's last failure; always FALSE. */
static gboolean
sql_error (SqlConn     *conn,
           const char  *func,
           GError     **error)
{
  int code = sqlite3_errcode (conn->db);

  if (code == SQLITE_INTERRUPT && conn->stop != NULL)
    g_set_error (error, conn->stop->domain, conn->stop->code, "%s: %s", func, conn->stop->message);
  else if (conn->refused)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                 _("%s: only reads are allowed here; this statement would write or change "
                   "the connection (use sql-exec)"), func);
  else if (code == SQLITE_NOMEM)
    {
      conn->dirty = TRUE;
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                   _("%s: SQLite ran out of the memory it may use (--sql-max-memory)"), func);
    }
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, "%s: %s", func,
                 sqlite3_errmsg (conn->db));
  return FALSE;
}

/* ---- the pool ------------------------------------------------------------- */

static void
sql_pool_init (SqlPool *pool)
{
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->returned);
  pool->idle = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_free);
}

/* Closes the idle connections; every lent one has come back. */
static void
sql_pool_clear (SqlPool *pool)
{
  g_clear_pointer (&pool->idle, g_ptr_array_unref);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->returned);
  g_clear_pointer (&pool->path, g_free);
}

/* Takes an idle connection, or the right to open one, waiting while all
 * are lent; FALSE with @error set when the call stops meanwhile. */
static gboolean
sql_pool_take (SqlPool            *pool,
               RthunkCallContext  *context,
               SqlConn           **conn,
               GError            **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&pool->lock);
  while (pool->idle->len == 0 && pool->n_open >= pool->max_connections &&
         (context == NULL || (ok = rthunk_call_context_check (context, error))))
    g_cond_wait_until (&pool->returned, &pool->lock, g_get_monotonic_time () + WAIT_SLICE_US);
  if (ok && pool->idle->len > 0)
    *conn = g_ptr_array_steal_index (pool->idle, pool->idle->len - 1);
  else if (ok)
    pool->n_open++;
  g_mutex_unlock (&pool->lock);
  return ok;
}

/* Lends a connection to the call of @context (NULL: typing a statement
 * for provideType): its own until sql_pool_give_back(). NULL with @error
 * set if there is none. */
static SqlConn *
sql_pool_lend (SqlPool            *pool,
               RthunkCallContext  *context,
               SqlMode             mode,
               GError            **error)
{
  SqlConn *conn = NULL;

  if (!sql_pool_take (pool, context, &conn, error))
    return NULL;
  if (conn == NULL && (conn = conn_open (pool, error)) == NULL)
    {
      g_mutex_lock (&pool->lock);
      pool->n_open--;
      g_cond_signal (&pool->returned);
      g_mutex_unlock (&pool->lock);
      return NULL;
    }
  conn->context = context;
  conn->mode = mode;
  conn->deadline_us = pool->timeout_ms > 0
                      ? g_get_monotonic_time () + (gint64) pool->timeout_ms * 1000
                      : 0;
  return conn;
}

/* Takes @conn back from its call: kept for the next call if it is clean,
 * else closed. */
static void
sql_pool_give_back (SqlPool *pool,
                    SqlConn *conn)
{
  conn->context = NULL;
  conn->deadline_us = 0;
  conn->refused = FALSE;
  g_clear_error (&conn->stop);
  if (!conn_is_clean (conn))
    g_clear_pointer (&conn, conn_free);
  g_mutex_lock (&pool->lock);
  if (conn != NULL)
    g_ptr_array_add (pool->idle, conn);
  else
    pool->n_open--;
  g_cond_signal (&pool->returned);
  g_mutex_unlock (&pool->lock);
}

/* ---- sql-query ------------------------------------------------------------ */

/* The current row: a record of @columns (sql-query), or without them a
 * list of strings (sql-query-text); charged before it is built. */
static RthunkValue *
read_row (RthunkCallContext  *context,
          sqlite3_stmt       *stmt,
          GArray             *columns,
          GError            **error)
{
  int n_cols = sqlite3_column_count (stmt);
  guint64 bytes = (guint64) n_cols * sizeof (gpointer) + VALUE_OVERHEAD;
  RthunkValue **cells;

  for (int k = 0; k < n_cols; k++)
    {
      gsize length;

      sql_cell_bytes (stmt, k, &length);
      bytes += length + 1 + VALUE_OVERHEAD;
    }
  if (!rthunk_call_context_charge (context, bytes, error))
    return NULL;
  if (columns != NULL)
    return sql_row_record (stmt, columns, error);
  cells = g_new (RthunkValue *, MAX (n_cols, 1));
  for (int k = 0; k < n_cols; k++)
    cells[k] = rthunk_value_new_str_take (sql_cell_string (stmt, k));
  return rthunk_value_new_list_take (cells, n_cols);
}

/* Whether @tail holds no further statement (only spaces and comments). */
static gboolean
only_one_statement (SqlConn    *conn,
                    const char *tail)
{
  sqlite3_stmt *next = NULL;
  int rc = sqlite3_prepare_v2 (conn->db, tail, -1, &next, NULL);

  sqlite3_finalize (next);
  return rc == SQLITE_OK && next == NULL;
}

static gboolean
collect_rows (SqlConn            *conn,
              RthunkCallContext  *context,
              sqlite3_stmt       *stmt,
              GArray             *columns,
              GPtrArray          *rows,
              GError            **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RthunkValue *row = read_row (context, stmt, columns, error);

      if (row == NULL)
        return FALSE;
      g_ptr_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    return sql_error (conn, columns != NULL ? "sql-query" : "sql-query-text", error);
  return rthunk_call_context_charge (context, (guint64) rows->len * sizeof (gpointer) + VALUE_OVERHEAD,
                                     error);
}

/* Prepares the one statement of @sql for sql-query (@func); NULL with
 * @error set if it does not prepare or holds another statement. */
static sqlite3_stmt *
prepare_query (SqlConn     *conn,
               const char  *func,
               const char  *sql,
               GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;

  if (sqlite3_prepare_v2 (conn->db, sql, -1, &stmt, &tail) != SQLITE_OK)
    sql_error (conn, func, error);
  else if (stmt == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, _("%s: no SQL statement"), func);
  else if (!only_one_statement (conn, tail))
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                 _("%s: runs exactly one statement; use sql-exec for several"), func);
  else
    return stmt;
  sqlite3_finalize (stmt);
  return NULL;
}

/* Runs @sql, with the record @params bound (sql-query: rows as records),
 * or without (sql-query-text: rows as lists of strings). */
static gboolean
run_query (SqlConn            *conn,
           RthunkCallContext  *context,
           const char         *sql,
           RthunkValue        *params,
           GPtrArray          *rows,
           GError            **error)
{
  const char *func = params != NULL ? "sql-query" : "sql-query-text";
  sqlite3_stmt *stmt = prepare_query (conn, func, sql, error);
  g_autoptr(GArray) columns = NULL;
  gboolean ok;

  if (stmt == NULL)
    return FALSE;
  ok = params == NULL ||
       ((columns = sql_columns_new (stmt, error)) != NULL && sql_bind_record (stmt, params, error));
  ok = ok && collect_rows (conn, context, stmt, columns, rows, error);
  sqlite3_finalize (stmt);
  return ok;
}

static RthunkValue *
run_read (SqlPool            *pool,
          RthunkCallContext  *context,
          const char         *sql,
          RthunkValue        *params,
          GError            **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  SqlConn *conn = sql_pool_lend (pool, context, SQL_MODE_READ, error);
  gboolean ok;
  guint n;

  if (conn == NULL)
    return NULL;
  /* the authorizer allows reads only; query_only makes sure of it */
  conn->dirty |= !conn_run_own (conn, "PRAGMA query_only = 1");
  ok = run_query (conn, context, sql, params, rows, error);
  conn->dirty |= !conn_run_own (conn, "PRAGMA query_only = 0");
  sql_pool_give_back (pool, conn);
  if (!ok)
    return NULL;
  n = rows->len;
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_steal (rows, NULL), n);
}

static RthunkValue *
sql_query (ARGS)
{
  return run_read (user_data, context, rthunk_value_get_str (args[0]), args[1], error);
}

static RthunkValue *
sql_query_text (ARGS)
{
  return run_read (user_data, context, rthunk_value_get_str (args[0]), NULL, error);
}

/* sql-query's type for @sql, from its prepared statement: what the
 * client asks with provideType, and what the server's checker asks. A
 * statement that does not prepare is refused with SQLite's message. */
static RthunkType *
provide_sql_query (const char  *sql,
                   gpointer     user_data,
                   GError     **error)
{
  SqlConn *conn = sql_pool_lend (user_data, NULL, SQL_MODE_READ, error);
  sqlite3_stmt *stmt;
  RthunkType *type = NULL;

  if (conn == NULL)
    return NULL;
  if ((stmt = prepare_query (conn, "sql-query", sql, error)) != NULL)
    type = sql_statement_type (stmt, error);
  sqlite3_finalize (stmt);
  sql_pool_give_back (user_data, conn);
  return type;
}

/* ---- sql-exec ------------------------------------------------------------- */

/* Runs one prepared statement to its end; adds its changes to @changes. */
static gboolean
run_statement (SqlConn       *conn,
               sqlite3_stmt  *stmt,
               gint64        *changes,
               GError       **error)
{
  sqlite3_int64 before = sqlite3_total_changes64 (conn->db);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    return sql_error (conn, "sql-exec", error);
  /* sqlite3_changes64() keeps the last INSERT/UPDATE/DELETE's count through
   * other statements: only count it when this statement changed rows */
  if (sqlite3_total_changes64 (conn->db) != before)
    *changes += sqlite3_changes64 (conn->db);
  return TRUE;
}

static gboolean
run_statements (SqlConn     *conn,
                const char  *sql,
                gint64      *changes,
                GError     **error)
{
  while (*sql != '\0')
    {
      sqlite3_stmt *stmt = NULL;
      const char *tail = NULL;
      gboolean ok;

      if (sqlite3_prepare_v2 (conn->db, sql, -1, &stmt, &tail) != SQLITE_OK)
        return sql_error (conn, "sql-exec", error);
      if (stmt == NULL)     /* only spaces and comments were left */
        break;
      ok = run_statement (conn, stmt, changes, error);
      sqlite3_finalize (stmt);
      if (!ok)
        return FALSE;
      sql = tail;
    }
  return TRUE;
}

static RthunkValue *
sql_exec (ARGS)
{
  SqlPool *pool = user_data;
  gint64 changes = 0;
  SqlConn *conn = sql_pool_lend (pool, context, SQL_MODE_EXEC, error);
  gboolean ok;

  if (conn == NULL)
    return NULL;
  ok = run_statements (conn, rthunk_value_get_str (args[0]), &changes, error);
  if (ok && !sqlite3_get_autocommit (conn->db))
    {
      /* a transaction is one call's: giving the connection back rolls it back */
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                   _("sql-exec: a transaction was left open; it was rolled back "
                     "(end each BEGIN with COMMIT in the same call)"));
      ok = FALSE;
    }
  sql_pool_give_back (pool, conn);
  return ok ? rthunk_value_new_int (changes) : NULL;
}

/* ---- the options --------------------------------------------------------- */

typedef struct
{
  char *db_path;
  gboolean read_only;
  gboolean create;
  gint busy_timeout_ms;     /* -1: not given */
  gint sql_timeout_ms;      /* -1: not given */
  gint sql_connections;     /* -1: not given */
  char *sql_max_memory;     /* NULL: not given */
  guint64 max_memory;       /* sql_max_memory in bytes */
} SqlOptions;

static void
sql_options_clear (SqlOptions *o)
{
  g_clear_pointer (&o->db_path, g_free);
  g_clear_pointer (&o->sql_max_memory, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SqlOptions, sql_options_clear)

/* @value from the [sqlite] @key of @config when the command line left it
 * unset (-1). */
static gboolean
config_int (GKeyFile    *config,
            const char  *key,
            gint        *value,
            GError     **error)
{
  if (*value >= 0 || !g_key_file_has_key (config, CONFIG_GROUP, key, NULL))
    return TRUE;
  *value = g_key_file_get_integer (config, CONFIG_GROUP, key, error);
  return error == NULL || *error == NULL;
}

/* The power of two a size's suffix @suffix stands for: none, K, M or G;
 * 64 for anything else. */
static guint
size_shift (const char *suffix)
{
  if (suffix[0] == '\0')
    return 0;
  if (suffix[1] != '\0')
    return 64;
  switch (g_ascii_toupper (suffix[0]))
    {
    case 'K':
      return 10;
    case 'M':
      return 20;
    case 'G':
      return 30;
    default:
      return 64;
    }
}

/* A size in bytes: digits, then optionally K, M or G (powers of 1024). */
static gboolean
parse_size (const char  *text,
            guint64     *bytes,
            GError     **error)
{
  char *end = NULL;
  guint64 value = g_ascii_strtoull (text, &end, 10);
  guint shift = g_ascii_isdigit (text[0]) ? size_shift (end) : 64;

  if (shift == 64 || value > (G_MAXUINT64 >> shift))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--sql-max-memory: “%s” is no size (bytes, or a number with K, M or G)"), text);
      return FALSE;
    }
  *bytes = value << shift;
  return TRUE;
}

/* Checks the numbers, once they are all known. */
static gboolean
sql_options_check (SqlOptions  *o,
                   GError     **error)
{
  if (o->db_path == NULL || o->db_path[0] == '\0')
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--db FILE is required"));
  else if (o->read_only && o->create)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("--create and --read-only exclude each other"));
  else if (o->sql_connections < 1 || o->sql_connections > MAX_SQL_CONNECTIONS)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("--sql-connections must be between 1 and %d"), MAX_SQL_CONNECTIONS);
  else if (parse_size (o->sql_max_memory, &o->max_memory, error) && o->max_memory < MIN_SQL_MAX_MEMORY)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("--sql-max-memory must be at least %d bytes"), MIN_SQL_MAX_MEMORY);
  return error == NULL || *error == NULL;
}

/* Fills what the command line left unset from @config, then checks. */
static gboolean
sql_options_finish (SqlOptions  *o,
                    GKeyFile    *config,
                    GError     **error)
{
  if (o->db_path == NULL)
    o->db_path = g_key_file_get_string (config, CONFIG_GROUP, "db", NULL);
  if (o->sql_max_memory == NULL)
    o->sql_max_memory = g_key_file_get_string (config, CONFIG_GROUP, "sql-max-memory", NULL);
  o->read_only |= g_key_file_get_boolean (config, CONFIG_GROUP, "read-only", NULL);
  o->create |= g_key_file_get_boolean (config, CONFIG_GROUP, "create", NULL);
  if (!config_int (config, "busy-timeout-ms", &o->busy_timeout_ms, error) ||
      !config_int (config, "sql-timeout-ms", &o->sql_timeout_ms, error) ||
      !config_int (config, "sql-connections", &o->sql_connections, error))
    return FALSE;
  if (o->busy_timeout_ms < 0)
    o->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
  if (o->sql_timeout_ms < 0)
    o->sql_timeout_ms = DEFAULT_SQL_TIMEOUT_MS;
  if (o->sql_connections < 0)
    o->sql_connections = DEFAULT_SQL_CONNECTIONS;
  if (o->sql_max_memory == NULL)
    o->sql_max_memory = g_strdup (DEFAULT_SQL_MAX_MEMORY);
  return sql_options_check (o, error);
}

/* ---- the database --------------------------------------------------------- */

/* Sets up @pool from @o and opens its first connection, so that a file
 * that cannot be served fails at start. */
static gboolean
open_pool (SqlPool           *pool,
           const SqlOptions  *o,
           GError           **error)
{
  SqlConn *conn;

  pool->path = g_strdup (o->db_path);
  pool->open_flags = SQLITE_OPEN_FULLMUTEX |
                     (o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                     (o->create ? SQLITE_OPEN_CREATE : 0);
  pool->busy_timeout_ms = (guint) o->busy_timeout_ms;
  pool->timeout_ms = (guint) o->sql_timeout_ms;
  pool->max_connections = (guint) o->sql_connections;
  if ((conn = conn_open (pool, error)) == NULL)
    return FALSE;
  g_ptr_array_add (pool->idle, conn);
  pool->n_open = 1;
  return TRUE;
}

static RthunkCatalog *
new_catalog (SqlPool    *pool,
             const char *server_name)
{
  RthunkCatalog *catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(GError) error = NULL;

  rthunk_stdlib_add_server_functions (catalog, server_name);
  if (!rthunk_catalog_add_provided (catalog, "sql-query", "(str a -> [b])", RTHUNK_FUNC_IO,
                                    _("the rows of one SQL statement that only reads, as records typed "
                                      "by the statement, its named parameters (:name) from the record"),
                                    sql_query, provide_sql_query, pool, NULL, &error) ||
      !rthunk_catalog_add (catalog, "sql-query-text", "(str -> [[str]])", RTHUNK_FUNC_IO,
                           _("the rows of one SQL statement built at run time that only reads, each "
                             "a list of its columns as text (NULL as \"\", a blob as hex)"),
                           sql_query_text, pool, NULL, &error) ||
      !rthunk_catalog_add (catalog, "sql-exec", "(str -> int)", RTHUNK_FUNC_IO,
                           _("runs SQL statements; the number of rows they inserted, updated "
                             "or deleted"),
                           sql_exec, pool, NULL, &error))
    g_error ("sql signatures: %s", error->message);
  rthunk_catalog_add_capability (catalog, "db");
  return catalog;
}

/* ---- main ----------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autoptr(RthunkProviderOptions) options = NULL;
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(SqlOptions) sql = { NULL, FALSE, FALSE, -1, -1, -1, NULL, 0 };
  SqlPool pool = { NULL };
  int status;
  const GOptionEntry entries[] = {
    { "db", 'd', 0, G_OPTION_ARG_FILENAME, &sql.db_path, N_("SQLite database file to serve"), N_("FILE") },
    { "read-only", 'r', 0, G_OPTION_ARG_NONE, &sql.read_only, N_("Open the database read-only"), NULL },
    { "create", 0, 0, G_OPTION_ARG_NONE, &sql.create, N_("Create the database file if it does not exist"), NULL },
    { "busy-timeout-ms", 0, 0, G_OPTION_ARG_INT, &sql.busy_timeout_ms, N_("How long to wait for a lock another process holds (default 5000)"), N_("MS") },
    { "sql-timeout-ms", 0, 0, G_OPTION_ARG_INT, &sql.sql_timeout_ms, N_("How long one SQL call may run (default 60000; 0: no limit)"), N_("MS") },
    { "sql-connections", 0, 0, G_OPTION_ARG_INT, &sql.sql_connections, N_("Connections to the database, so SQL calls that run at once (default 4)"), N_("N") },
    { "sql-max-memory", 0, 0, G_OPTION_ARG_STRING, &sql.sql_max_memory, N_("Memory SQLite may use in all, in bytes or with K, M or G (default 64M)"), N_("SIZE") },
    { NULL }
  };

  rthunk_program_init_locale ();

  options = rthunk_provider_options_new (PROGRAM, _("— serve an SQLite database over rthunk"));
  rthunk_provider_options_add_entries (options, entries);
  if (!rthunk_provider_options_parse (options, &argc, &argv, &error) ||
      !sql_options_finish (&sql, rthunk_provider_options_get_config (options), &error))
    {
      g_printerr (PROGRAM ": %s\n", error->message);
      return 2;
    }
  sqlite3_hard_heap_limit64 ((sqlite3_int64) MIN (sql.max_memory, (guint64) G_MAXINT64));
  sql_pool_init (&pool);
  if (!open_pool (&pool, &sql, &error))
    {
      g_printerr (PROGRAM ": %s\n", error->message);
      sql_pool_clear (&pool);
      return 1;
    }

  catalog = new_catalog (&pool, rthunk_provider_options_get_name (options));
  if (!rthunk_provider_options_add_files (options, catalog, &error))
    {
      g_printerr (PROGRAM ": %s\n", error->message);
      sql_pool_clear (&pool);
      return 1;
    }
  status = rthunk_provider_run (options, catalog);
  /* the server has stopped and every accepted thunk has finished */
  sql_pool_clear (&pool);
  return status;
}
