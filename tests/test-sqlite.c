/* test-sqlite.c — the real rthunkd-sqlite on a real database file
 *
 * main() creates two SQLite files in a temporary directory with the sqlite3
 * API (the same tables in each) and starts two rthunkd-sqlite ($RTHUNKD_SQLITE)
 * on free loopback ports: one read-write with a small memory limit and a
 * short SQL timeout, one --read-only, and two for the interruption cases:
 * "sql-slow" (two connections, a long SQL timeout, a small --sql-max-memory)
 * and "sql-tight" (one connection, a short thunk deadline). The cases talk to them through
 * RthunkClient; getServerInfo (capabilities) goes through the generated
 * Thrift client over RthunkFrameTransport, since RthunkClient does not
 * expose capabilities. A case that changes the table undoes its change.
 * The /sqlite/typed/ cases go through an RthunkSession, as the shell does:
 * sql-query typed by its prepared statement (provideType), checked before
 * anything is sent.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "testutil.h"
#include "testtable.h"

#define RW_NAME "sql-rw"
#define RO_NAME "sql-ro"
#define MAX_EVAL_BYTES "1048576"
#define SQL_TIMEOUT_MS "3000"
#define SOCKET_TIMEOUT_MS 30000
#define N_THREADS 4
#define N_PER_THREAD 25
/* the interruption cases: what "promptly" means, against an SQL timeout
 * of SLOW_SQL_TIMEOUT_MS that an uninterrupted statement would run to */
#define SLOW_SQL_TIMEOUT_MS "30000"
#define PROMPT_US (5 * G_USEC_PER_SEC)
#define TIGHT_DEADLINE_MS "1500"
#define QUERY "select name, age from people where age > :min order by name"
#define ENDLESS_QUERY \
  "(sql-query-text \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c\")"

static char *tmp_dir;
static char *rw_path;
static TestServer *rw_server;
static TestServer *ro_server;
static TestServer *slow_server;
static TestServer *tight_server;

static const char *const fixture_sql =
  "CREATE TABLE items (name TEXT PRIMARY KEY, qty INTEGER, price REAL, note TEXT, data BLOB);"
  "INSERT INTO items VALUES ('cherry', 7, 4.0, 'sour', NULL);"
  "INSERT INTO items VALUES ('apple', 3, 0.5, NULL, x'00ff');"
  "INSERT INTO items VALUES ('banana', 12, 0.25, 'ripe', NULL);"
  "CREATE TABLE counter (thread INTEGER, k INTEGER);"
  /* for sql-query typed by its statement */
  "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL,"
  "                     email TEXT, score REAL, born DATE);"
  "INSERT INTO people (name, age, email, score) VALUES ('ada', 36, 'ada@example.org', 9.5);"
  "INSERT INTO people (name, age, email, score) VALUES ('alan', 41, NULL, NULL);"
  "INSERT INTO people (name, age, email, score) VALUES ('grace', 29, 'grace@example.org', 7);"
  "CREATE TABLE pets (owner INTEGER, pet TEXT NOT NULL);"
  "INSERT INTO pets VALUES (1, 'cat');";

/* ---- servers ------------------------------------------------------------------ */

static const char *
program (void)
{
  const char *path = g_getenv ("RTHUNKD_SQLITE");

  g_assert_nonnull (path);
  return path;
}

/* ---- the database from the test's side ------------------------------------- */

static void
make_db (const char *path)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_exec (db, fixture_sql, NULL, NULL, &message);
  g_assert_cmpstr (message, ==, NULL);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* The one integer @sql selects from the file at @path, opened on its own. */
static gint64
file_int (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  return value;
}

/* ---- evaluating through RthunkClient --------------------------------------- */

static RthunkClient *
connect_to (TestServer *server)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (server->address);
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&client);
}

/* The forced value of @text, or NULL with @error set. */
static RthunkValue *
client_eval (RthunkClient  *client,
             const char    *text,
             GError       **error)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, NULL, error);

  if (value == NULL)
    return NULL;
  return rthunk_value_force (value, error);
}

static RthunkValue *
eval_on (TestServer  *server,
         const char  *text,
         GError     **error)
{
  g_autoptr(RthunkClient) client = connect_to (server);

  return client_eval (client, text, error);
}

/* The printed value of @text, which must succeed. */
static char *
eval_print (TestServer *server,
            const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval_on (server, text, &error);
  GString *out = g_string_new (NULL);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  rthunk_value_print (value, out);
  return g_string_free (out, FALSE);
}

static gint64
eval_int (TestServer *server,
          const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval_on (server, text, &error);

  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_INT);
  return rthunk_value_get_int (value);
}

/* Asserts that @text fails with @code and a message containing @fragment. */
static void
assert_eval_fails (TestServer  *server,
                   const char  *text,
                   RthunkError  code,
                   const char  *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval_on (server, text, &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, (gint) code);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” failed with “%s”, which does not mention “%s”", text, error->message, fragment);
}

/* ---- getServerInfo through the generated client ---------------------------- */

static RthunkWireServerInfo *
server_info (TestServer *server)
{
  int fd = test_server_connect (server);
  RthunkFrameTransport *transport;
  ThriftProtocol *protocol;
  GObject *stub;
  RthunkWireAuth *auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);
  RthunkWireServerInfo *info = g_object_new (RTHUNK_WIRE_TYPE_SERVER_INFO, NULL);
  RthunkWireNotAuthorized *denied = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_assert_true (rthunk_frame_set_timeouts (fd, SOCKET_TIMEOUT_MS, NULL));
  transport = rthunk_frame_transport_new (fd, 16 * 1024 * 1024);
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                       "input_protocol", protocol, "output_protocol", protocol, NULL);
  ok = rthunk_wire_remote_execution_service_if_get_server_info (
         RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (stub), &info, auth, &denied, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_null (denied);
  g_object_unref (stub);
  g_object_unref (protocol);
  thrift_transport_close (THRIFT_TRANSPORT (transport), NULL);
  g_object_unref (transport);
  g_object_unref (auth);
  return info;
}

/* ---- the catalog and the server info --------------------------------------- */

static const struct
{
  const char *name;
  const char *signature;
} sql_funcs[] = {
  { "sql-query-text", "(str -> [[str]])" },
  { "sql-exec", "(str -> int)" },
};

static void
test_catalog (void)
{
  g_autoptr(RthunkClient) client = connect_to (rw_server);
  RthunkCatalog *catalog = rthunk_client_get_catalog (client);

  g_assert_cmpstr (rthunk_client_get_server_name (client), ==, RW_NAME);
  for (guint k = 0; k < G_N_ELEMENTS (sql_funcs); k++)
    {
      RthunkFuncDef *def = rthunk_catalog_lookup (catalog, sql_funcs[k].name);

      g_assert_nonnull (def);
      g_assert_cmpstr (rthunk_func_def_get_signature (def), ==, sql_funcs[k].signature);
      g_assert_cmpint (rthunk_func_def_get_flags (def), ==, RTHUNK_FUNC_IO);
      g_assert_cmpuint (rthunk_func_def_get_arity (def), ==, 1);
      g_assert_nonnull (rthunk_func_def_get_doc (def));
    }
  /* the standard library is there too */
  g_assert_nonnull (rthunk_catalog_lookup (catalog, "map"));
  g_assert_nonnull (rthunk_catalog_lookup (catalog, "+"));
}

static void
test_info_capability (void)
{
  g_autoptr(RthunkWireServerInfo) info = server_info (rw_server);
  gboolean found = FALSE;

  g_assert_cmpstr (info->name, ==, RW_NAME);
  g_assert_nonnull (info->capabilities);
  for (guint k = 0; k < info->capabilities->len; k++)
    found |= g_strcmp0 (g_ptr_array_index (info->capabilities, k), "db") == 0;
  g_assert_true (found);
  g_assert_cmpint (info->limits->maxEvalBytes, ==, g_ascii_strtoll (MAX_EVAL_BYTES, NULL, 10));
}

/* ---- values ---------------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *expr;
  const char *printed;
} ValueCase;

static const ValueCase value_cases[] = {
  { "/sqlite/query/rows",
    "(sql-query-text \"SELECT name, qty FROM items ORDER BY name\")",
    "[[\"apple\" \"3\"] [\"banana\" \"12\"] [\"cherry\" \"7\"]]" },
  { "/sqlite/query/null-float-blob",
    "(sql-query-text \"SELECT note, price, data FROM items WHERE name = 'apple'\")",
    "[[\"\" \"0.5\" \"00ff\"]]" },
  { "/sqlite/query/float-text",
    "(sql-query-text \"SELECT price, note FROM items WHERE name = 'cherry'\")",
    "[[\"4.0\" \"sour\"]]" },
  { "/sqlite/query/no-rows",
    "(sql-query-text \"SELECT name FROM items WHERE qty > 1000\")",
    "[]" },
  { "/sqlite/query/trailing-comment",
    "(sql-query-text \"SELECT count(*) FROM items; -- how many\")",
    "[[\"3\"]]" },
  { "/sqlite/query/computed",
    "(sql-query-text \"SELECT 6 * 7, 'x' || 'y', NULL\")",
    "[[\"42\" \"xy\" \"\"]]" },
  { "/sqlite/stdlib/arithmetic", "(+ 1 (* 2 3))", "7" },
  { "/sqlite/stdlib/map", "(map (fn [x] (* x x)) [1 2 3])", "[1 4 9]" },
  { "/sqlite/stdlib/with-rows",
    "(map (fn [row] (head row)) (sql-query-text \"SELECT name FROM items ORDER BY qty\"))",
    "[\"apple\" \"cherry\" \"banana\"]" },
  { "/sqlite/stdlib/sum-of-rows",
    "(sum (map (fn [row] (str-len (nth row 0))) (sql-query-text \"SELECT name FROM items\")))",
    "17" },
  { "/sqlite/exec/select-changes-nothing", "(sql-exec \"SELECT * FROM items\")", "0" },
  { "/sqlite/exec/empty", "(sql-exec \"  -- nothing\")", "0" },
};

static void
test_value (gconstpointer data)
{
  const ValueCase *c = data;
  g_autofree char *printed = eval_print (rw_server, c->expr);

  g_assert_cmpstr (printed, ==, c->printed);
}

/* ---- errors ---------------------------------------------------------------- */

typedef struct
{
  const char *path;
  gboolean read_only;
  const char *expr;
  RthunkError code;
  const char *fragment;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "/sqlite/error/query-syntax", FALSE, "(sql-query-text \"SELEC name FROM items\")",
    RTHUNK_ERROR_EVAL_FAILED, "syntax error" },
  { "/sqlite/error/exec-syntax", FALSE, "(sql-exec \"INSERT INTO items VALUE (1)\")",
    RTHUNK_ERROR_EVAL_FAILED, "syntax error" },
  { "/sqlite/error/no-such-table", FALSE, "(sql-query-text \"SELECT * FROM nowhere\")",
    RTHUNK_ERROR_EVAL_FAILED, "no such table: nowhere" },
  { "/sqlite/error/constraint", FALSE, "(sql-exec \"INSERT INTO items (name) VALUES ('apple')\")",
    RTHUNK_ERROR_EVAL_FAILED, "UNIQUE constraint failed" },
  { "/sqlite/error/two-statements", FALSE, "(sql-query-text \"SELECT 1; SELECT 2\")",
    RTHUNK_ERROR_EVAL_FAILED, "exactly one statement" },
  { "/sqlite/error/no-statement", FALSE, "(sql-query-text \"\")",
    RTHUNK_ERROR_EVAL_FAILED, "no SQL statement" },
  { "/sqlite/error/attach", FALSE, "(sql-exec \"ATTACH 'other.db' AS other\")",
    RTHUNK_ERROR_EVAL_FAILED, "too many attached databases" },
  /* VACUUM INTO would write a file even on a read-only server */
  { "/sqlite/error/vacuum-into", TRUE, "(sql-exec \"VACUUM INTO 'copy.db'\")",
    RTHUNK_ERROR_EVAL_FAILED, "too many attached databases" },
  { "/sqlite/error/type-checked", FALSE, "(sql-query-text 42)",
    RTHUNK_ERROR_TYPE_MISMATCH, "" },
  /* a huge result hits the thunk's memory limit, not the server's memory */
  { "/sqlite/limits/memory", FALSE,
    "(sql-query-text \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000)"
    " SELECT x, printf('%0200d', x) FROM c\")",
    RTHUNK_ERROR_LIMIT_EXCEEDED, "bytes of memory" },
  /* an endless statement is interrupted at the deadline */
  { "/sqlite/limits/deadline", FALSE,
    "(sql-query-text \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c\")",
    RTHUNK_ERROR_DEADLINE_EXCEEDED, "deadline" },
  /* sql-query-text only reads, even on a writable server */
  { "/sqlite/query-only/insert", FALSE, "(sql-query-text \"INSERT INTO items (name) VALUES ('fig')\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/query-only/update-returning", FALSE,
    "(sql-query-text \"UPDATE items SET qty = qty + 1 RETURNING name\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/query-only/create-temp", FALSE, "(sql-query-text \"CREATE TEMP TABLE items (name)\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/query-only/pragma", FALSE, "(sql-query-text \"PRAGMA query_only = 0\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/query-only/history", FALSE, "(sql-query-text \"SELECT total_changes()\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/read-only/create-temp-query", TRUE, "(sql-query-text \"CREATE TEMP TABLE items (name)\")",
    RTHUNK_ERROR_EVAL_FAILED, "only reads are allowed" },
  { "/sqlite/read-only/insert", TRUE, "(sql-exec \"INSERT INTO items (name) VALUES ('fig')\")",
    RTHUNK_ERROR_EVAL_FAILED, "attempt to write a readonly database" },
  { "/sqlite/read-only/create", TRUE, "(sql-exec \"CREATE TABLE t (x)\")",
    RTHUNK_ERROR_EVAL_FAILED, "readonly" },
};

static void
test_error (gconstpointer data)
{
  const ErrorCase *c = data;
  TestServer *server = c->read_only ? ro_server : rw_server;

  assert_eval_fails (server, c->expr, c->code, c->fragment);
  /* the server goes on, and the connection's lock was released */
  g_assert_cmpint (eval_int (server, "(len (sql-query-text \"SELECT name FROM items\"))"), ==, 3);
}

/* ---- changes --------------------------------------------------------------- */

static void
test_exec_insert (void)
{
  g_autofree char *rows = NULL;

  g_assert_cmpint (eval_int (rw_server,
                             "(sql-exec \"INSERT INTO items VALUES ('date', 5, 1.25, 'new', NULL)\")"),
                   ==, 1);
  rows = eval_print (rw_server, "(sql-query-text \"SELECT name, qty, note FROM items WHERE name = 'date'\")");
  g_assert_cmpstr (rows, ==, "[[\"date\" \"5\" \"new\"]]");
  /* on disk, as another connection sees it */
  g_assert_cmpint (file_int (rw_path, "SELECT qty FROM items WHERE name = 'date'"), ==, 5);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM items WHERE name = 'date'\")"), ==, 1);
  g_assert_cmpint (file_int (rw_path, "SELECT count(*) FROM items"), ==, 3);
}

/* The changes of every statement of one call, and none of DDL or SELECT. */
static void
test_exec_several (void)
{
  g_assert_cmpint (eval_int (rw_server,
                             "(sql-exec \"CREATE TABLE t2 (x INTEGER);"
                             " INSERT INTO t2 VALUES (1);"
                             " INSERT INTO t2 VALUES (2), (3);"
                             " SELECT * FROM t2;"
                             " UPDATE t2 SET x = x + 1;\")"),
                   ==, 6);
  g_assert_cmpint (file_int (rw_path, "SELECT sum(x) FROM t2"), ==, 9);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DROP TABLE t2\")"), ==, 0);
}

/* BEGIN … COMMIT in one call is one transaction; a failure inside it, or
 * a call that leaves it open, rolls it back. */
static void
test_exec_transactions (void)
{
  g_assert_cmpint (eval_int (rw_server,
                             "(sql-exec \"BEGIN; INSERT INTO counter VALUES (-1, 1);"
                             " INSERT INTO counter VALUES (-1, 2); COMMIT\")"),
                   ==, 2);
  assert_eval_fails (rw_server,
                     "(sql-exec \"BEGIN; DELETE FROM counter WHERE thread = -1; SELEC; COMMIT\")",
                     RTHUNK_ERROR_EVAL_FAILED, "syntax error");
  assert_eval_fails (rw_server, "(sql-exec \"BEGIN; DELETE FROM counter WHERE thread = -1\")",
                     RTHUNK_ERROR_EVAL_FAILED, "rolled back");
  g_assert_cmpint (file_int (rw_path, "SELECT count(*) FROM counter WHERE thread = -1"), ==, 2);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM counter WHERE thread = -1\")"), ==, 2);
}

static void
test_read_only_query (void)
{
  g_autofree char *rows = eval_print (ro_server, "(sql-query-text \"SELECT name FROM items ORDER BY name DESC\")");

  g_assert_cmpstr (rows, ==, "[[\"cherry\"] [\"banana\"] [\"apple\"]]");
}

/* ---- concurrency ----------------------------------------------------------- */

typedef struct
{
  guint index;
  GError *error;
} Worker;

static gboolean
worker_step (RthunkClient  *client,
             guint          index,
             guint          k,
             GError       **error)
{
  g_autofree char *insert = g_strdup_printf ("(sql-exec \"INSERT INTO counter VALUES (%u, %u)\")", index, k);
  g_autofree char *count = g_strdup_printf ("(sql-query-text \"SELECT count(*) FROM counter WHERE thread = %u\")",
                                            index);
  g_autoptr(RthunkValue) changed = client_eval (client, insert, error);
  g_autoptr(RthunkValue) rows = NULL;
  g_autofree char *expected = g_strdup_printf ("%u", k + 1);

  if (changed == NULL || (rows = client_eval (client, count, error)) == NULL)
    return FALSE;
  if (rthunk_value_get_int (changed) == 1 &&
      g_strcmp0 (rthunk_value_get_str (rthunk_value_get_item (rthunk_value_get_item (rows, 0), 0)),
                 expected) == 0)
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "thread %u step %u: wrong answer", index, k);
  return FALSE;
}

static gpointer
worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(RthunkClient) client = rthunk_client_new (rw_server->address);

  if (!rthunk_client_connect (client, &worker->error))
    return NULL;
  for (guint k = 0; k < N_PER_THREAD; k++)
    if (!worker_step (client, worker->index, k, &worker->error))
      break;
  return NULL;
}

/* Writers and readers on several connections at once share one database. */
static void
test_threads (void)
{
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];

  for (guint k = 0; k < N_THREADS; k++)
    {
      workers[k] = (Worker) { k, NULL };
      threads[k] = g_thread_new ("sql-worker", worker_run, &workers[k]);
    }
  for (guint k = 0; k < N_THREADS; k++)
    {
      g_thread_join (threads[k]);
      g_assert_no_error (workers[k].error);
    }
  g_assert_cmpint (file_int (rw_path, "SELECT count(*) FROM counter WHERE thread >= 0"), ==,
                   N_THREADS * N_PER_THREAD);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM counter\")"), ==,
                   N_THREADS * N_PER_THREAD);
}

/* ---- isolation: no call sees another call's connection state -------------- */

/* A's TEMP table named like a main table does not shadow it for B, even
 * on a read-only server (TEMP is writable there). */
static void
test_isolation_temp_table (void)
{
  g_assert_cmpint (eval_int (ro_server, "(sql-exec \"CREATE TEMP TABLE items (name TEXT)\")"), ==, 0);
  g_assert_cmpint (eval_int (ro_server, "(len (sql-query-text \"SELECT name FROM items\"))"), ==, 3);
}

/* A's TEMP trigger on a main table does not see B's insert. */
static void
test_isolation_temp_trigger (void)
{
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"CREATE TEMP TABLE stolen (name TEXT);"
                             " CREATE TEMP TRIGGER spy AFTER INSERT ON items"
                             " BEGIN INSERT INTO stolen VALUES (new.name); END\")"),
                   ==, 0);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"INSERT INTO items (name) VALUES ('secret')\")"),
                   ==, 1);
  assert_eval_fails (rw_server, "(sql-query-text \"SELECT name FROM stolen\")",
                     RTHUNK_ERROR_EVAL_FAILED, "no such table: stolen");
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM items WHERE name = 'secret'\")"), ==, 1);
}

/* A's RAISE(IGNORE) trigger does not silently drop B's insert. */
static void
test_isolation_ignore_trigger (void)
{
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"CREATE TEMP TRIGGER sink BEFORE INSERT ON counter"
                             " BEGIN SELECT RAISE(IGNORE); END\")"),
                   ==, 0);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"INSERT INTO counter VALUES (-2, 1)\")"), ==, 1);
  g_assert_cmpint (file_int (rw_path, "SELECT count(*) FROM counter WHERE thread = -2"), ==, 1);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM counter WHERE thread = -2\")"), ==, 1);
}

/* A PRAGMA that A sets does not hold for B. */
static void
test_isolation_pragma (void)
{
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"PRAGMA query_only = 1\")"), ==, 0);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"INSERT INTO counter VALUES (-3, 1)\")"), ==, 1);
  g_assert_cmpint (eval_int (rw_server, "(sql-exec \"DELETE FROM counter WHERE thread = -3\")"), ==, 1);
}

/* ---- interruption: cancel and deadline stop SQL ----------------------------- */

/* Submits the endless query on @client and waits until the server runs it;
 * returns the pending value and its thunk's id. */
static RthunkValue *
start_endless (RthunkClient  *client,
               GBytes       **id)
{
  g_autoptr(RthunkNode) expr = test_parse_one (ENDLESS_QUERY);
  g_autoptr(GError) error = NULL;
  RthunkValue *value = rthunk_client_submit (client, expr, NULL, &error);
  RthunkThunkState state;

  g_assert_no_error (error);
  g_assert_true (rthunk_client_get_pending_thunk (value, id) == client);
  while ((state = rthunk_client_poll (client, *id, NULL, &error)) == RTHUNK_THUNK_PENDING)
    g_usleep (10 * 1000);   /* polling the state the server reports */
  g_assert_no_error (error);
  g_assert_cmpint (state, ==, RTHUNK_THUNK_RUNNING);
  return value;
}

/* Asserts that a short query on a client of its own answers promptly. */
static void
assert_short_query_prompt (TestServer *server)
{
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpint (eval_int (server, "(len (sql-query-text \"SELECT name FROM items\"))"), ==, 3);
  g_assert_cmpint (g_get_monotonic_time () - start, <, PROMPT_US);
}

/* Asserts that forcing @value fails with @code promptly. */
static void
assert_fails_prompt (RthunkValue *value,
                     RthunkError  code)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) forced = rthunk_value_force (value, &error);

  g_assert_null (forced);
  g_assert_error (error, RTHUNK_ERROR, (gint) code);
  g_assert_cmpint (g_get_monotonic_time () - start, <, PROMPT_US);
}

/* On a server with two connections: while one endless query runs, another
 * client's short query answers at once; with two running, cancelling one
 * gives its connection back at once. */
static void
test_interrupt_cancel (void)
{
  g_autoptr(RthunkClient) a = connect_to (slow_server);
  g_autoptr(RthunkClient) c = connect_to (slow_server);
  g_autoptr(GBytes) a_id = NULL;
  g_autoptr(GBytes) c_id = NULL;
  g_autoptr(RthunkValue) a_value = start_endless (a, &a_id);
  g_autoptr(RthunkValue) c_value = NULL;
  g_autoptr(GError) error = NULL;

  assert_short_query_prompt (slow_server);
  c_value = start_endless (c, &c_id);
  g_assert_true (rthunk_client_cancel_thunk (a, a_id, &error));
  g_assert_no_error (error);
  assert_fails_prompt (a_value, RTHUNK_ERROR_CANCELLED);
  /* both connections were lent: this one is A's, given back */
  assert_short_query_prompt (slow_server);
  g_assert_true (rthunk_client_cancel_thunk (c, c_id, &error));
  g_assert_no_error (error);
  assert_fails_prompt (c_value, RTHUNK_ERROR_CANCELLED);
}

/* On a server with one connection: the thunk's deadline stops its
 * endless query long before the SQL timeout, and frees the connection. */
static void
test_interrupt_deadline (void)
{
  g_autoptr(RthunkClient) a = connect_to (tight_server);
  g_autoptr(GBytes) a_id = NULL;
  g_autoptr(RthunkValue) a_value = start_endless (a, &a_id);

  assert_fails_prompt (a_value, RTHUNK_ERROR_DEADLINE_EXCEEDED);
  assert_short_query_prompt (tight_server);
}

/* ---- SQLite's own memory ----------------------------------------------------- */

/* A statement whose result is small but which makes SQLite allocate more
 * than --sql-max-memory fails; the server goes on. */
static void
test_sql_max_memory (void)
{
  assert_eval_fails (slow_server,
                     "(sql-query-text \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                     " WHERE x < 40000) SELECT length(group_concat(printf('%01000d', x))) FROM c\")",
                     RTHUNK_ERROR_LIMIT_EXCEEDED, "--sql-max-memory");
  assert_short_query_prompt (slow_server);
}

/* ---- starting and stopping ------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *db;            /* in the temporary directory; NULL: no --db */
  int status;
  const char *fragment;      /* of stderr */
} StartCase;

static const StartCase start_cases[] = {
  { "/sqlite/start/no-db", NULL, 2, "--db FILE is required" },
  { "/sqlite/start/missing-file", "nowhere/x.db", 1, "unable to open database file" },
  { "/sqlite/start/not-a-database", "text.db", 1, "file is not a database" },
};

static void
test_start_fails (gconstpointer data)
{
  const StartCase *c = data;
  g_autofree char *db = c->db != NULL ? g_build_filename (tmp_dir, c->db, NULL) : NULL;
  const char *argv[] = { program (), "--port", "0", db != NULL ? "--db" : NULL, db, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, c->status);
  g_assert_nonnull (strstr (err, c->fragment));
}

/* --create makes a new file; SIGTERM stops the server with status 0 and
 * what it wrote is on disk. */
static void
test_create_and_sigterm (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "created.db", NULL);
  const char *args[] = { "--db", path, "--create", NULL };
  TestServer *server = test_server_start_program (program (), "sql-new", args);

  g_assert_cmpint (eval_int (server, "(sql-exec \"CREATE TABLE t (x); INSERT INTO t VALUES (41 + 1)\")"),
                   ==, 1);
  test_server_stop (server);
  g_assert_cmpint (file_int (path, "SELECT x FROM t"), ==, 42);
}

/* The program's own settings from a --config file's [sqlite] group. */
static void
test_config_file (void)
{
  g_autofree char *db = g_build_filename (tmp_dir, "ro.db", NULL);
  g_autofree char *path = g_build_filename (tmp_dir, "sqlite.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[sqlite]\ndb=%s\nread-only=true\n", db);
  const char *args[] = { "--config", path, NULL };
  TestServer *server;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  server = test_server_start_program (program (), "sql-conf", args);
  g_assert_cmpint (eval_int (server, "(len (sql-query-text \"SELECT * FROM items\"))"), ==, 3);
  assert_eval_fails (server, "(sql-exec \"DELETE FROM items\")", RTHUNK_ERROR_EVAL_FAILED, "readonly");
  test_server_stop (server);
}

/* ---- a session on the server ---------------------------------------------- */

static RthunkSession *
new_session (void)
{
  g_autoptr(GError) error = NULL;
  RthunkSession *session = rthunk_session_new ();

  rthunk_session_add_server (session, ro_server->address, &error);
  g_assert_no_error (error);
  return session;
}

static char *
session_print (const char *text)
{
  g_autoptr(RthunkSession) session = new_session ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = test_session_eval (session, text, &error);
  GString *out = g_string_new (NULL);

  g_assert_no_error (error);
  rthunk_value_print (value, out);
  rthunk_session_close (session);
  return g_string_free (out, FALSE);
}

static gint64
counter (const char *name)
{
  return test_server_counter (ro_server->address, name);
}

typedef struct
{
  const char *path;
  const char *expr;
  const char *type;
} TypeCase;

static const TypeCase type_cases[] = {
  /* NOT NULL columns are T */
  { "/sqlite/typed/type/not-null", "(await (remote (sql-query \"" QUERY "\" {:min 30})))",
    "[{age: int, name: str}]" },
  /* the others (maybe T); REAL is float, DATE (NUMERIC) float; the
   * INTEGER PRIMARY KEY is never NULL */
  { "/sqlite/typed/type/nullable",
    "(await (remote (sql-query \"select id, email, score, born from people\" {})))",
    "[{born: (maybe float), email: (maybe str), id: int, score: (maybe float)}]" },
  /* an expression has no declared type: its text */
  { "/sqlite/typed/type/expression", "(await (remote (sql-query \"select count(*) as n from people\" {})))",
    "[{n: (maybe str)}]" },
  /* the row's type goes on through the rest of the form */
  { "/sqlite/typed/type/used", "(map :age (await (remote (sql-query \"" QUERY "\" {:min 30}))))", "[int]" },
};

static void
test_typed_type (gconstpointer data)
{
  const TypeCase *c = data;
  g_autoptr(RthunkSession) session = new_session ();
  g_autoptr(GError) error = NULL;
  g_autofree char *type = rthunk_session_type_of (session, c->expr, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (type, ==, c->type);
  rthunk_session_close (session);
}

typedef struct
{
  const char *path;
  const char *expr;
  const char *printed;
} TypedValueCase;

static const TypedValueCase typed_value_cases[] = {
  { "/sqlite/typed/value/rows", "(await (remote (sql-query \"" QUERY "\" {:min 30})))",
    "[{:age 36 :name \"ada\"} {:age 41 :name \"alan\"}]" },
  { "/sqlite/typed/value/null", "(await (remote (sql-query \"select email, score from people where name = :n\" "
    "{:n \"alan\"})))", "[{:email nil :score nil}]" },
  { "/sqlite/typed/value/float", "(await (remote (sql-query \"select score from people where name = 'grace'\" {})))",
    "[{:score 7.0}]" },
  { "/sqlite/typed/value/computed", "(reduce + 0 (map :age (await (remote (sql-query \"" QUERY "\" {:min 0})))))",
    "106" },
  /* dynamic SQL stays available, as rows of strings */
  { "/sqlite/typed/value/text", "(await (remote (sql-query-text (concat \"select name from people \" "
    "\"where age < 30\"))))", "[[\"grace\"]]" },
};

static void
test_typed_value (gconstpointer data)
{
  const TypedValueCase *c = data;
  g_autofree char *printed = session_print (c->expr);

  g_assert_cmpstr (printed, ==, c->printed);
}

/* Refused at the client, never submitted. */
typedef struct
{
  const char *path;
  const char *expr;
  RthunkError code;
  const char *fragment;
} TypedErrorCase;

static const TypedErrorCase typed_error_cases[] = {
  /* a misspelt column: SQLite's message, at the string */
  { "/sqlite/typed/error/column", "(remote\n  (sql-query \"select name, agee from people\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "<test>:2:14: error: sql-query: no such column: agee" },
  { "/sqlite/typed/error/syntax", "(remote (sql-query \"selec name from people\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "<test>:1:20: error: sql-query: near \"selec\": syntax error" },
  { "/sqlite/typed/error/table", "(remote (sql-query \"select * from nowhere\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "no such table: nowhere" },
  /* writes are refused when the call is checked */
  { "/sqlite/typed/error/write", "(remote (sql-query \"delete from people\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "only reads are allowed" },
  { "/sqlite/typed/error/two-statements", "(remote (sql-query \"select 1 as a; select 2 as b\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "exactly one statement" },
  /* the parameters record against the statement's named parameters */
  { "/sqlite/typed/error/param-misspelt", "(remote (sql-query \"" QUERY "\" {:mn 30}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "min" },
  { "/sqlite/typed/error/param-missing", "(remote (sql-query \"" QUERY "\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "min" },
  { "/sqlite/typed/error/param-positional", "(remote (sql-query \"select name from people where age > ?\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "named parameters" },
  /* a field that is not a column */
  { "/sqlite/typed/error/field", "(map :email (await (remote (sql-query \"" QUERY "\" {:min 30}))))",
    RTHUNK_ERROR_TYPE_MISMATCH, "email" },
  { "/sqlite/typed/error/unnamed-column", "(remote (sql-query \"select count(*) from people\" {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "name it with AS" },
  /* dynamic SQL has its own function */
  { "/sqlite/typed/error/not-literal", "(remote (sql-query (concat \"select 1\" \" as a\") {}))",
    RTHUNK_ERROR_TYPE_MISMATCH, "sql-query takes a string literal first" },
};

static void
test_typed_error (gconstpointer data)
{
  const TypedErrorCase *c = data;
  g_autoptr(RthunkSession) session = new_session ();
  g_autoptr(GError) error = NULL;
  gint64 submitted = counter ("submitted");
  g_autoptr(RthunkValue) value = test_session_eval (session, c->expr, &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, (gint) c->code);
  if (strstr (error->message, c->fragment) == NULL)
    g_error ("“%s” failed with “%s”, which does not mention “%s”", c->expr, error->message, c->fragment);
  /* refused before anything left the client */
  g_assert_cmpint (counter ("submitted"), ==, submitted);
  rthunk_session_close (session);
}

/* The same literal is asked of the server once, in however many forms. */
static void
test_typed_cache (void)
{
  g_autoptr(RthunkSession) session = new_session ();
  const char *sql = "select name from people where age > :min";
  gint64 asked = counter ("types-provided");

  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *text = g_strdup_printf ("(len (await (remote (sql-query \"%s\" {:min %u}))))", sql, 30 + 10 * k);
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) n = test_session_eval (session, text, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (n), ==, (gint64) 2 - k);
    }
  g_assert_cmpint (counter ("types-provided") - asked, ==, 1);
  rthunk_session_close (session);
}

/* A NULL where the type says there is none (the NOT NULL side of an outer
 * join) fails the call rather than lie. */
static void
test_typed_outer_join (void)
{
  g_autoptr(RthunkSession) session = new_session ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = test_session_eval (session,
    "(await (remote (sql-query \"select people.name, pets.pet from people left join pets "
    "on pets.owner = people.id\" {})))", &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED);
  g_assert_nonnull (strstr (error->message, "column pet is NULL"));
  rthunk_session_close (session);
}

/* ---- main ------------------------------------------------------------------ */

static void
remove_tmp_dir (void)
{
  const char *names[] = { "rw.db", "ro.db", "text.db", "created.db", "sqlite.conf", NULL };

  for (guint k = 0; names[k] != NULL; k++)
    {
      g_autofree char *path = g_build_filename (tmp_dir, names[k], NULL);
      g_autofree char *journal = g_strconcat (path, "-journal", NULL);

      g_unlink (path);
      g_unlink (journal);
    }
  g_rmdir (tmp_dir);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ro_path = NULL;
  g_autofree char *text_path = NULL;
  g_autofree char *text = g_strnfill (1024, 'x');
  int status;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  rthunk_wire_ensure_types ();

  tmp_dir = g_dir_make_tmp ("rthunk-sqlite-XXXXXX", &error);
  g_assert_no_error (error);
  rw_path = g_build_filename (tmp_dir, "rw.db", NULL);
  ro_path = g_build_filename (tmp_dir, "ro.db", NULL);
  text_path = g_build_filename (tmp_dir, "text.db", NULL);
  make_db (rw_path);
  make_db (ro_path);
  g_assert_true (g_file_set_contents (text_path, text, -1, NULL));
  {
    const char *rw_args[] = { "--db", rw_path, "--workers", "4", "--max-eval-bytes", MAX_EVAL_BYTES,
                              "--sql-timeout-ms", SQL_TIMEOUT_MS, NULL };
    const char *ro_args[] = { "--db", ro_path, "--read-only", NULL };

    const char *slow_args[] = { "--db", rw_path, "--sql-connections", "2", "--sql-timeout-ms",
                                SLOW_SQL_TIMEOUT_MS, "--sql-max-memory", "16M", NULL };
    const char *tight_args[] = { "--db", ro_path, "--read-only", "--sql-connections", "1",
                                 "--sql-timeout-ms", SLOW_SQL_TIMEOUT_MS, "--deadline-ms",
                                 TIGHT_DEADLINE_MS, NULL };

    rw_server = test_server_start_program (program (), RW_NAME, rw_args);
    ro_server = test_server_start_program (program (), RO_NAME, ro_args);
    slow_server = test_server_start_program (program (), "sql-slow", slow_args);
    tight_server = test_server_start_program (program (), "sql-tight", tight_args);
  }

  g_test_add_func ("/sqlite/catalog", test_catalog);
  g_test_add_func ("/sqlite/info/capability", test_info_capability);
  TEST_ADD_TABLE (value_cases, test_value);
  TEST_ADD_TABLE (error_cases, test_error);
  g_test_add_func ("/sqlite/exec/insert", test_exec_insert);
  g_test_add_func ("/sqlite/exec/several", test_exec_several);
  g_test_add_func ("/sqlite/exec/transactions", test_exec_transactions);
  g_test_add_func ("/sqlite/read-only/query", test_read_only_query);
  g_test_add_func ("/sqlite/concurrency/threads", test_threads);
  g_test_add_func ("/sqlite/isolation/temp-table", test_isolation_temp_table);
  g_test_add_func ("/sqlite/isolation/temp-trigger", test_isolation_temp_trigger);
  g_test_add_func ("/sqlite/isolation/ignore-trigger", test_isolation_ignore_trigger);
  g_test_add_func ("/sqlite/isolation/pragma", test_isolation_pragma);
  g_test_add_func ("/sqlite/interrupt/cancel", test_interrupt_cancel);
  g_test_add_func ("/sqlite/interrupt/deadline", test_interrupt_deadline);
  g_test_add_func ("/sqlite/limits/sql-max-memory", test_sql_max_memory);
  TEST_ADD_TABLE (start_cases, test_start_fails);
  g_test_add_func ("/sqlite/start/config-file", test_config_file);
  TEST_ADD_TABLE (type_cases, test_typed_type);
  TEST_ADD_TABLE (typed_value_cases, test_typed_value);
  TEST_ADD_TABLE (typed_error_cases, test_typed_error);
  g_test_add_func ("/sqlite/typed/cache", test_typed_cache);
  g_test_add_func ("/sqlite/typed/outer-join", test_typed_outer_join);
  g_test_add_func ("/sqlite/sigterm/create", test_create_and_sigterm);

  status = g_test_run ();
  test_server_stop (rw_server);
  test_server_stop (ro_server);
  test_server_stop (slow_server);
  test_server_stop (tight_server);
  remove_tmp_dir ();
  g_free (rw_path);
  g_free (tmp_dir);
  return status;
}
