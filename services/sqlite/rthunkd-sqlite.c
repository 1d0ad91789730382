/* rthunkd-sqlite — an rthunk provider over one SQLite database
 *
 *   rthunkd-sqlite --db FILE [--read-only] [--create] --port N [--name NAME]
 *                  [--bind ADDR] [--config FILE] [--token-file FILE]
 *                  [--busy-timeout-ms MS] [--sql-timeout-ms MS] [limits…]
 *
 * Publishes the standard library plus
 *   sql-query : (str -> [[str]])   io   the rows of one statement
 *   sql-exec  : (str -> int)       io   runs statements, returns the changes
 * and the capability "db". The server options, limits, --config and
 * --token-file are those of every provider (rthunk-provider.h); the
 * configuration file may also hold this program's own keys, in a [sqlite]
 * group: db, read-only, create, busy-timeout-ms, sql-timeout-ms (flags
 * win). Prints "rthunkd-sqlite NAME listening on ADDR:PORT" once it accepts
 * connections and stops cleanly on SIGTERM or SIGINT, letting accepted
 * thunks finish, then closes the database.
 *
 * Threading: one connection, opened SQLITE_OPEN_FULLMUTEX (serialized), is
 * shared by every worker thread, and each call holds the connection's own
 * mutex (sqlite3_db_mutex) from its first statement to its last. So the
 * statements of two calls never interleave, sqlite3_errmsg() and the change
 * counters belong to the call that reads them, and a transaction a call
 * opens cannot leak into another call (an unfinished one is rolled back).
 * SQL calls therefore run one at a time; evaluation of everything else
 * still runs on all workers. A busy timeout covers other processes that
 * use the same file.
 *
 * Files: no ATTACH (SQLITE_LIMIT_ATTACHED is 0), so a client cannot open or
 * create another file; VACUUM and VACUUM INTO, which attach one, are refused
 * with it. SQLITE_DBCONFIG_DEFENSIVE is on; extensions stay unloadable.
 *
 * Bounds: every row of a result is charged to the thunk's memory limit
 * (--max-eval-bytes) before it is copied, and a statement that runs past
 * --sql-timeout-ms is interrupted by a progress handler.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <sqlite3.h>

#include "rthunk.h"

#define PROGRAM "rthunkd-sqlite"
#define CONFIG_GROUP "sqlite"
#define DEFAULT_BUSY_TIMEOUT_MS 5000
/* how long one SQL call may run: the server's default thunk deadline */
#define DEFAULT_SQL_TIMEOUT_MS 60000
/* SQLite virtual machine steps between two deadline checks */
#define PROGRESS_STEPS 10000
/* what one string or list costs beyond its bytes or pointers */
#define VALUE_OVERHEAD 32

#define ARGS RthunkCallContext *context, RthunkValue *const *args, guint n_args, \
             gpointer user_data, GError **error

typedef struct
{
  sqlite3 *db;
  guint timeout_ms;         /* of one SQL call; 0: none */
  gint64 call_deadline_us;  /* of the call holding the db mutex; 0: none */
} SqlDb;

/* ---- the connection, one call at a time --------------------------------- */

static int
on_progress (gpointer user_data)
{
  SqlDb *sdb = user_data;

  return sdb->call_deadline_us > 0 && g_get_monotonic_time () > sdb->call_deadline_us;
}

static void
sql_lock (SqlDb *sdb)
{
  sqlite3_mutex_enter (sqlite3_db_mutex (sdb->db));
  sdb->call_deadline_us = sdb->timeout_ms > 0
                          ? g_get_monotonic_time () + (gint64) sdb->timeout_ms * 1000
                          : 0;
}

static void
sql_unlock (SqlDb *sdb)
{
  sdb->call_deadline_us = 0;
  sqlite3_mutex_leave (sqlite3_db_mutex (sdb->db));
}

/* Sets @error from the connection's last failure; always FALSE. */
static gboolean
sql_error (SqlDb       *sdb,
           const char  *func,
           GError     **error)
{
  if (sqlite3_errcode (sdb->db) == SQLITE_INTERRUPT)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                 _("%s: the SQL statement ran past its deadline of %u ms (--sql-timeout-ms)"),
                 func, sdb->timeout_ms);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, "%s: %s", func,
                 sqlite3_errmsg (sdb->db));
  return FALSE;
}

/* ---- sql-query ------------------------------------------------------------ */

/* The bytes of column @k as SQLite gives them, and the length of their
 * text: a blob's raw bytes with the length of its hex. NULL is "". */
static const char *
cell_bytes (sqlite3_stmt *stmt,
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
static char *
cell_string (sqlite3_stmt *stmt,
             int           k)
{
  gsize length;
  const char *bytes = cell_bytes (stmt, k, &length);

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

/* The current row as a list of strings, charged before it is built. */
static RthunkValue *
read_row (RthunkCallContext  *context,
          sqlite3_stmt       *stmt,
          GError            **error)
{
  int n_cols = sqlite3_column_count (stmt);
  guint64 bytes = (guint64) n_cols * sizeof (gpointer) + VALUE_OVERHEAD;
  RthunkValue **cells;

  for (int k = 0; k < n_cols; k++)
    {
      gsize length;

      cell_bytes (stmt, k, &length);
      bytes += length + 1 + VALUE_OVERHEAD;
    }
  if (!rthunk_call_context_charge (context, bytes, error))
    return NULL;
  cells = g_new (RthunkValue *, MAX (n_cols, 1));
  for (int k = 0; k < n_cols; k++)
    cells[k] = rthunk_value_new_str_take (cell_string (stmt, k));
  return rthunk_value_new_list_take (cells, n_cols);
}

/* Whether @tail holds no further statement (only spaces and comments). */
static gboolean
only_one_statement (SqlDb       *sdb,
                    const char  *tail,
                    GError     **error)
{
  sqlite3_stmt *next = NULL;
  int rc = sqlite3_prepare_v2 (sdb->db, tail, -1, &next, NULL);

  sqlite3_finalize (next);
  if (rc == SQLITE_OK && next == NULL)
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
               _("sql-query: runs exactly one statement; use sql-exec for several"));
  return FALSE;
}

static gboolean
collect_rows (SqlDb              *sdb,
              RthunkCallContext  *context,
              sqlite3_stmt       *stmt,
              GPtrArray          *rows,
              GError            **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RthunkValue *row = read_row (context, stmt, error);

      if (row == NULL)
        return FALSE;
      g_ptr_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    return sql_error (sdb, "sql-query", error);
  return rthunk_call_context_charge (context, (guint64) rows->len * sizeof (gpointer) + VALUE_OVERHEAD,
                                     error);
}

static gboolean
run_query (SqlDb              *sdb,
           RthunkCallContext  *context,
           const char         *sql,
           GPtrArray          *rows,
           GError            **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (sdb->db, sql, -1, &stmt, &tail) != SQLITE_OK)
    return sql_error (sdb, "sql-query", error);
  if (stmt == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, _("sql-query: no SQL statement"));
      return FALSE;
    }
  ok = only_one_statement (sdb, tail, error) && collect_rows (sdb, context, stmt, rows, error);
  sqlite3_finalize (stmt);
  return ok;
}

static RthunkValue *
sql_query (ARGS)
{
  SqlDb *sdb = user_data;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  gboolean ok;
  guint n;

  sql_lock (sdb);
  ok = run_query (sdb, context, rthunk_value_get_str (args[0]), rows, error);
  sql_unlock (sdb);
  if (!ok)
    return NULL;
  n = rows->len;
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_steal (rows, NULL), n);
}

/* ---- sql-exec ------------------------------------------------------------- */

/* Runs one prepared statement to its end; adds its changes to @changes. */
static gboolean
run_statement (SqlDb         *sdb,
               sqlite3_stmt  *stmt,
               gint64        *changes,
               GError       **error)
{
  sqlite3_int64 before = sqlite3_total_changes64 (sdb->db);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    return sql_error (sdb, "sql-exec", error);
  /* sqlite3_changes64() keeps the last INSERT/UPDATE/DELETE's count through
   * other statements: only count it when this statement changed rows */
  if (sqlite3_total_changes64 (sdb->db) != before)
    *changes += sqlite3_changes64 (sdb->db);
  return TRUE;
}

static gboolean
run_statements (SqlDb       *sdb,
                const char  *sql,
                gint64      *changes,
                GError     **error)
{
  while (*sql != '\0')
    {
      sqlite3_stmt *stmt = NULL;
      const char *tail = NULL;
      gboolean ok;

      if (sqlite3_prepare_v2 (sdb->db, sql, -1, &stmt, &tail) != SQLITE_OK)
        return sql_error (sdb, "sql-exec", error);
      if (stmt == NULL)     /* only spaces and comments were left */
        break;
      ok = run_statement (sdb, stmt, changes, error);
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
  SqlDb *sdb = user_data;
  gint64 changes = 0;
  gboolean ok;

  sql_lock (sdb);
  ok = run_statements (sdb, rthunk_value_get_str (args[0]), &changes, error);
  if (!sqlite3_get_autocommit (sdb->db))
    {
      /* the connection is shared: a call must end the transactions it opens */
      if (ok)
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                     _("sql-exec: a transaction was left open; it was rolled back "
                       "(end each BEGIN with COMMIT in the same call)"));
      ok = FALSE;
      sdb->call_deadline_us = 0;    /* a rollback is never interrupted */
      sqlite3_exec (sdb->db, "ROLLBACK", NULL, NULL, NULL);
    }
  sql_unlock (sdb);
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
} SqlOptions;

static void
sql_options_clear (SqlOptions *o)
{
  g_clear_pointer (&o->db_path, g_free);
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

/* Fills what the command line left unset from @config, then checks. */
static gboolean
sql_options_finish (SqlOptions  *o,
                    GKeyFile    *config,
                    GError     **error)
{
  if (o->db_path == NULL)
    o->db_path = g_key_file_get_string (config, CONFIG_GROUP, "db", NULL);
  o->read_only |= g_key_file_get_boolean (config, CONFIG_GROUP, "read-only", NULL);
  o->create |= g_key_file_get_boolean (config, CONFIG_GROUP, "create", NULL);
  if (!config_int (config, "busy-timeout-ms", &o->busy_timeout_ms, error) ||
      !config_int (config, "sql-timeout-ms", &o->sql_timeout_ms, error))
    return FALSE;
  if (o->busy_timeout_ms < 0)
    o->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
  if (o->sql_timeout_ms < 0)
    o->sql_timeout_ms = DEFAULT_SQL_TIMEOUT_MS;
  if (o->db_path == NULL || o->db_path[0] == '\0')
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--db FILE is required"));
  else if (o->read_only && o->create)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 _("--create and --read-only exclude each other"));
  return error == NULL || *error == NULL;
}

/* ---- the database --------------------------------------------------------- */

static gboolean
configure_db (sqlite3 *db,
              guint    busy_timeout_ms)
{
  sqlite3_busy_timeout (db, (int) MIN (busy_timeout_ms, (guint) G_MAXINT));
  /* no ATTACH: a client must not open (or create) other files */
  sqlite3_limit (db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  /* reads the header now, so a file that is no database fails at start */
  return sqlite3_exec (db, "PRAGMA schema_version", NULL, NULL, NULL) == SQLITE_OK;
}

static sqlite3 *
open_db (const SqlOptions  *o,
         GError           **error)
{
  int flags = SQLITE_OPEN_FULLMUTEX |
              (o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
              (o->create ? SQLITE_OPEN_CREATE : 0);
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (o->db_path, &db, flags, NULL);

  if (rc == SQLITE_OK && configure_db (db, (guint) o->busy_timeout_ms))
    return db;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", o->db_path,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  sqlite3_close (db);
  return NULL;
}

static RthunkCatalog *
new_catalog (SqlDb      *sdb,
             const char *server_name)
{
  RthunkCatalog *catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(GError) error = NULL;

  rthunk_stdlib_add_server_functions (catalog, server_name);
  if (!rthunk_catalog_add (catalog, "sql-query", "(str -> [[str]])", RTHUNK_FUNC_IO,
                           _("the rows of one SQL statement, each a list of its columns as text "
                             "(NULL as \"\", a blob as hex)"),
                           sql_query, sdb, NULL, &error) ||
      !rthunk_catalog_add (catalog, "sql-exec", "(str -> int)", RTHUNK_FUNC_IO,
                           _("runs SQL statements; the number of rows they inserted, updated "
                             "or deleted"),
                           sql_exec, sdb, NULL, &error))
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
  g_auto(SqlOptions) sql = { NULL, FALSE, FALSE, -1, -1 };
  SqlDb sdb = { NULL, 0, 0 };
  int status;
  const GOptionEntry entries[] = {
    { "db", 'd', 0, G_OPTION_ARG_FILENAME, &sql.db_path, N_("SQLite database file to serve"), N_("FILE") },
    { "read-only", 'r', 0, G_OPTION_ARG_NONE, &sql.read_only, N_("Open the database read-only"), NULL },
    { "create", 0, 0, G_OPTION_ARG_NONE, &sql.create, N_("Create the database file if it does not exist"), NULL },
    { "busy-timeout-ms", 0, 0, G_OPTION_ARG_INT, &sql.busy_timeout_ms, N_("How long to wait for a lock another process holds (default 5000)"), N_("MS") },
    { "sql-timeout-ms", 0, 0, G_OPTION_ARG_INT, &sql.sql_timeout_ms, N_("How long one SQL call may run (default 60000; 0: no limit)"), N_("MS") },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  options = rthunk_provider_options_new (PROGRAM, _("— serve an SQLite database over rthunk"));
  rthunk_provider_options_add_entries (options, entries);
  if (!rthunk_provider_options_parse (options, &argc, &argv, &error) ||
      !sql_options_finish (&sql, rthunk_provider_options_get_config (options), &error))
    {
      g_printerr (PROGRAM ": %s\n", error->message);
      return 2;
    }
  if ((sdb.db = open_db (&sql, &error)) == NULL)
    {
      g_printerr (PROGRAM ": %s\n", error->message);
      return 1;
    }
  sdb.timeout_ms = (guint) sql.sql_timeout_ms;
  sqlite3_progress_handler (sdb.db, PROGRESS_STEPS, on_progress, &sdb);

  catalog = new_catalog (&sdb, rthunk_provider_options_get_name (options));
  status = rthunk_provider_run (options, catalog);
  /* the server has stopped and every accepted thunk has finished */
  if (sqlite3_close (sdb.db) != SQLITE_OK)
    g_warning ("closing %s: %s", sql.db_path, sqlite3_errmsg (sdb.db));
  return status;
}
