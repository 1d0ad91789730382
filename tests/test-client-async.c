/* test-client-async.c — RthunkClient's _async forms and its connection pool,
 * against a real rthunkd
 *
 * One rthunkd on a free loopback port serves every case but the dead-server
 * one, which starts its own to kill it. Each async call is compared with
 * its sync form; the pool is watched through
 * rthunk_client_get_connections_opened/open(). Nothing asserts on times
 * beyond generous upper bounds and lower bounds the server guarantees
 * (`delay` never answers early).
 */
#include "config.h"

#include <string.h>

#include "rthunk.h"
#include "testutil.h"
#include "testtable.h"

#define WAIT_CAP_US (60 * G_USEC_PER_SEC)
#define AWAIT_TIMEOUT_MS 30000
#define N_CONCURRENT 8

static TestServer *shared_server;
static GThread *main_thread;

/* ---- waiting for callbacks ------------------------------------------------- */

/* A callback's result, kept for the test to finish. */
static void
keep_result (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  /* GTask calls back in the caller's thread-default main context */
  g_assert_true (g_thread_self () == main_thread);
  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

/* Runs the main context until every slot holds a result. */
static void
wait_results (GAsyncResult **slots,
              guint          n)
{
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;

  for (guint k = 0; k < n; k++)
    while (slots[k] == NULL)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, give_up);
        g_main_context_iteration (NULL, TRUE);
      }
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  wait_results (slot, 1);
  return *slot;
}

static RthunkClient *
new_client (guint max_connections)
{
  RthunkClient *client = g_object_new (RTHUNK_TYPE_CLIENT, "address", shared_server->address,
                                       "max-connections", max_connections, NULL);

  g_assert_cmpuint (rthunk_client_get_max_connections (client), ==, max_connections);
  return client;
}

static RthunkValue *
submit_sync (RthunkClient *client,
             const char   *text)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(GError) error = NULL;
  RthunkValue *value = rthunk_client_submit (client, expr, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

/* The id of the thunk a pending value stands for. */
static GBytes *
pending_id (RthunkClient *client,
            RthunkValue  *value)
{
  GBytes *id = NULL;

  g_assert_true (rthunk_client_get_pending_thunk (value, &id) == client);
  return id;
}

/* The ids to await for one pending value. */
static GPtrArray *
ids_of (RthunkClient *client,
        RthunkValue  *value)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  g_ptr_array_add (ids, pending_id (client, value));
  return ids;
}

static void
assert_int_value (RthunkValue *value,
                  gint64       expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) forced = rthunk_value_force (value, &error);

  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_kind (forced), ==, RTHUNK_VALUE_INT);
  g_assert_cmpint (rthunk_value_get_int (forced), ==, expected);
}

/* ---- each async call gives what the sync one gives -------------------------- */

/* connect and ping: a call that fills the client's name, capabilities
 * and catalog */
typedef struct
{
  const char *path;
  gboolean (*sync) (RthunkClient *client, GError **error);
  void (*start) (RthunkClient *client, GCancellable *cancellable,
                 GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*finish) (RthunkClient *client, GAsyncResult *result, GError **error);
} InfoCase;

static const InfoCase info_cases[] = {
  { "/client-async/same-as-sync/connect", rthunk_client_connect, rthunk_client_connect_async,
    rthunk_client_connect_finish },
  { "/client-async/same-as-sync/ping", rthunk_client_ping, rthunk_client_ping_async,
    rthunk_client_ping_finish },
};

static void
test_info_same (gconstpointer data)
{
  const InfoCase *c = data;
  g_autoptr(RthunkClient) sync_client = new_client (1);
  g_autoptr(RthunkClient) async_client = new_client (1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (c->sync (sync_client, &error));
  g_assert_no_error (error);
  g_assert_null (rthunk_client_get_catalog (async_client));
  c->start (async_client, NULL, keep_result, &result);
  g_assert_true (c->finish (async_client, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (rthunk_client_get_server_name (async_client), ==, "client-async");
  g_assert_cmpstr (rthunk_client_get_server_name (async_client), ==,
                   rthunk_client_get_server_name (sync_client));
  g_assert_true (g_strv_equal (rthunk_client_get_capabilities (async_client),
                               rthunk_client_get_capabilities (sync_client)));
  g_assert_cmpuint (rthunk_catalog_get_size (rthunk_client_get_catalog (async_client)), >, 0);
  g_assert_cmpuint (rthunk_catalog_get_size (rthunk_client_get_catalog (async_client)), ==,
                    rthunk_catalog_get_size (rthunk_client_get_catalog (sync_client)));
}

typedef struct
{
  const char *path;
  const char *text;
  gint64 value;                 /* when code is 0 */
  gint code;                    /* RTHUNK_ERROR code of a failure */
} SubmitCase;

static const SubmitCase submit_cases[] = {
  { "/client-async/same-as-sync/submit/inline", "(+ 1 2)", 3, 0 },
  { "/client-async/same-as-sync/submit/input", "(* n 7)", 42, 0 },
  { "/client-async/same-as-sync/submit/definition", "(twice 21)", 42, 0 },
  { "/client-async/same-as-sync/submit/pending", "(delay 300 9)", 9, 0 },
  { "/client-async/same-as-sync/submit/type-error", "(+ 1 \"a\")", 0, RTHUNK_ERROR_TYPE_MISMATCH },
  { "/client-async/same-as-sync/submit/unbound-name", "(no-such-fn 1)", 0, RTHUNK_ERROR_UNBOUND_NAME },
  { "/client-async/same-as-sync/submit/division-by-zero", "(/ 1 (- 2 2))", 0, RTHUNK_ERROR_DIVISION_BY_ZERO },
};

static GHashTable *
case_inputs (void)
{
  GHashTable *inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify) rthunk_value_unref);

  g_hash_table_insert (inputs, "n", rthunk_value_new_int (6));
  return inputs;
}

static GHashTable *
case_definitions (void)
{
  GHashTable *definitions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                   (GDestroyNotify) rthunk_node_unref);

  g_hash_table_insert (definitions, "twice", test_parse_one ("(defn twice [x] (* 2 x))"));
  return definitions;
}

/* A value or an error, as the same request gives it sync and async. */
static void
assert_submitted (const SubmitCase *c,
                  RthunkValue      *value,
                  GError           *error)
{
  if (c->code != 0)
    {
      g_assert_error (error, RTHUNK_ERROR, c->code);
      g_assert_null (value);
      return;
    }
  g_assert_no_error (error);
  assert_int_value (value, c->value);
}

static void
test_submit_same (gconstpointer data)
{
  const SubmitCase *c = data;
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkNode) expr = test_parse_one (c->text);
  g_autoptr(GHashTable) inputs = case_inputs ();
  g_autoptr(GHashTable) definitions = case_definitions ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) sync_error = NULL;
  g_autoptr(GError) async_error = NULL;
  g_autoptr(RthunkValue) sync_value = NULL;
  g_autoptr(RthunkValue) async_value = NULL;

  /* async first: it has to connect for the catalog by itself */
  rthunk_client_submit_async (client, expr, inputs, definitions, NULL, keep_result, &result);
  /* the call has its own copies */
  g_hash_table_remove_all (inputs);
  async_value = rthunk_client_submit_finish (client, wait_result (&result), &async_error);
  assert_submitted (c, async_value, async_error);
  g_clear_pointer (&inputs, g_hash_table_unref);
  inputs = case_inputs ();
  sync_value = rthunk_client_submit_full (client, expr, inputs, definitions, &sync_error);
  assert_submitted (c, sync_value, sync_error);
  if (sync_error != NULL)
    g_assert_cmpstr (sync_error->message, ==, async_error->message);
}

static void
test_poll_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkValue) pending = submit_sync (client, "(delay 2000 5)");
  g_autoptr(GBytes) id = pending_id (client, pending);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  RthunkThunkState state;

  /* a poll does not wait: the thunk runs for 2 s at least */
  state = rthunk_client_poll (client, id, &value, &error);
  g_assert_no_error (error);
  g_assert_true (state == RTHUNK_THUNK_PENDING || state == RTHUNK_THUNK_RUNNING);
  g_assert_null (value);
  rthunk_client_poll_async (client, id, NULL, keep_result, &result);
  state = rthunk_client_poll_finish (client, wait_result (&result), &value, &error);
  g_assert_no_error (error);
  g_assert_true (state == RTHUNK_THUNK_PENDING || state == RTHUNK_THUNK_RUNNING);
  g_assert_null (value);
  g_clear_object (&result);

  assert_int_value (pending, 5);
  g_assert_cmpint (rthunk_client_poll (client, id, &value, &error), ==, RTHUNK_THUNK_DONE);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (value), ==, 5);
  g_clear_pointer (&value, rthunk_value_unref);
  rthunk_client_poll_async (client, id, NULL, keep_result, &result);
  g_assert_cmpint (rthunk_client_poll_finish (client, wait_result (&result), &value, &error), ==,
                   RTHUNK_THUNK_DONE);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (value), ==, 5);
}

/* What an await reported, by id. */
static void
note_finished (GBytes       *id,
               RthunkValue  *value,
               const GError *error,
               gpointer      user_data)
{
  GHashTable *finished = user_data;

  g_assert_no_error (error);
  g_assert_nonnull (value);
  g_hash_table_insert (finished, g_bytes_ref (id), GINT_TO_POINTER ((gint) rthunk_value_get_int (value)));
}

static GHashTable *
new_finished (void)
{
  return g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
}

static void
test_await_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkValue) pending = submit_sync (client, "(delay 500 11)");
  g_autoptr(GPtrArray) ids = ids_of (client, pending);
  g_autoptr(GHashTable) sync_finished = new_finished ();
  g_autoptr(GHashTable) async_finished = new_finished ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_client_await_many_async (client, ids, AWAIT_TIMEOUT_MS, NULL, keep_result, &result);
  g_assert_true (rthunk_client_await_many_finish (client, wait_result (&result), note_finished,
                                                  async_finished, &error));
  g_assert_no_error (error);
  g_assert_true (rthunk_client_await_many (client, ids, AWAIT_TIMEOUT_MS, note_finished,
                                           sync_finished, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (async_finished), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (async_finished, ids->pdata[0])), ==, 11);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sync_finished, ids->pdata[0])), ==, 11);
}

static void
assert_cancelled_thunk (RthunkClient *client,
                        GBytes       *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;
  RthunkThunkState state;

  /* the server cancels a running thunk at its next check */
  while ((state = rthunk_client_poll (client, id, &value, &error)) == RTHUNK_THUNK_RUNNING)
    {
      g_assert_no_error (error);
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_usleep (20 * 1000);
    }
  g_assert_cmpint (state, ==, RTHUNK_THUNK_CANCELLED);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
  g_assert_null (value);
}

static void
test_cancel_thunk_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkValue) first = submit_sync (client, "(delay 60000 1)");
  g_autoptr(RthunkValue) second = submit_sync (client, "(delay 60000 2)");
  g_autoptr(GBytes) first_id = pending_id (client, first);
  g_autoptr(GBytes) second_id = pending_id (client, second);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_client_cancel_thunk_async (client, first_id, NULL, keep_result, &result);
  g_assert_true (rthunk_client_cancel_thunk_finish (client, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_true (rthunk_client_cancel_thunk (client, second_id, &error));
  g_assert_no_error (error);
  assert_cancelled_thunk (client, first_id);
  assert_cancelled_thunk (client, second_id);
}

/* ---- the pool --------------------------------------------------------------- */

static void
test_concurrent_submits (void)
{
  g_autoptr(RthunkClient) client = new_client (4);
  GAsyncResult *results[N_CONCURRENT] = { NULL, };
  GError *error = NULL;

  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ %u 1000)", k);
      g_autoptr(RthunkNode) expr = test_parse_one (text);

      rthunk_client_submit_async (client, expr, NULL, NULL, NULL, keep_result, &results[k]);
    }
  wait_results (results, N_CONCURRENT);
  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      g_autoptr(RthunkValue) value = rthunk_client_submit_finish (client, results[k], &error);

      g_assert_no_error (error);
      assert_int_value (value, k + 1000);
      g_object_unref (results[k]);
    }
  g_test_message ("%u connections for %u submissions", rthunk_client_get_connections_opened (client),
                  N_CONCURRENT);
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), >=, 1);
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), <=, 4);
  g_assert_cmpuint (rthunk_client_get_connections_open (client), <=, 4);
}

/* Eight long polls on two connections: they queue for the pool, all
 * finish, and no more than two sockets are ever opened. */
static void
test_concurrent_awaits (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autoptr(GHashTable) finished = new_finished ();
  GAsyncResult *results[N_CONCURRENT] = { NULL, };
  GError *error = NULL;
  gint64 start;

  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      g_autofree char *text = g_strdup_printf ("(delay 1000 %u)", k);

      g_ptr_array_add (pending, submit_sync (client, text));
    }
  start = g_get_monotonic_time ();
  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      g_autoptr(GPtrArray) ids = ids_of (client, pending->pdata[k]);

      rthunk_client_await_many_async (client, ids, AWAIT_TIMEOUT_MS, NULL, keep_result, &results[k]);
    }
  wait_results (results, N_CONCURRENT);
  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      gboolean ok = rthunk_client_await_many_finish (client, results[k], note_finished, finished, &error);

      g_assert_no_error (error);
      g_assert_true (ok);
      g_object_unref (results[k]);
    }
  g_assert_cmpuint (g_hash_table_size (finished), ==, N_CONCURRENT);
  for (guint k = 0; k < N_CONCURRENT; k++)
    {
      g_autoptr(GBytes) id = pending_id (client, pending->pdata[k]);

      g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (finished, id)), ==, k);
    }
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), <=, 2);
  g_assert_cmpint (g_get_monotonic_time () - start, <, WAIT_CAP_US);
}

typedef struct
{
  RthunkClient *client;
  RthunkValue *pending;
  gint done;                    /* atomic */
  GError *error;
  gint tid;                     /* atomic: the forcing thread */
} Forcer;

static gpointer
force_in_thread (gpointer data)
{
  Forcer *f = data;
  g_autoptr(RthunkValue) value = NULL;

  g_atomic_int_set (&f->tid, test_thread_id ());
  value = rthunk_value_force (f->pending, &f->error);

  if (value != NULL && rthunk_value_get_int (value) != 3)
    g_set_error_literal (&f->error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "wrong value");
  g_atomic_int_set (&f->done, 1);
  return NULL;
}

/* A thread blocked in a sync call holds one connection; another thread's
 * sync call on the same client goes through another, at once. */
static void
test_sync_threads (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkValue) pending = submit_sync (client, "(delay 3000 3)");
  g_autoptr(GError) error = NULL;
  Forcer f = { client, pending, 0, NULL, 0 };
  GThread *thread = g_thread_new ("forcer", force_in_thread, &f);

  /* the forcer needs 3 s, blocked waiting for the server's answer;
   * these take a few ms each */
  while (g_atomic_int_get (&f.tid) == 0)
    g_thread_yield ();
  test_thread_wait_blocked_reading (g_atomic_int_get (&f.tid), WAIT_CAP_US);
  g_assert_false (g_atomic_int_get (&f.done));
  for (guint k = 0; k < 5; k++)
    {
      g_autoptr(RthunkValue) value = submit_sync (client, "(+ 40 2)");

      g_assert_true (rthunk_client_ping (client, &error));
      g_assert_no_error (error);
      assert_int_value (value, 42);
    }
  g_assert_false (g_atomic_int_get (&f.done));
  g_thread_join (thread);
  g_assert_no_error (f.error);
  /* the forcer's connection, and one more for these */
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), ==, 2);
}

/* ---- cancellation ------------------------------------------------------------ */

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_await (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkValue) pending = submit_sync (client, "(delay 5000 1)");
  g_autoptr(GPtrArray) ids = ids_of (client, pending);
  g_autoptr(GHashTable) finished = new_finished ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpuint (rthunk_client_get_connections_open (client), ==, 1);
  rthunk_client_await_many_async (client, ids, AWAIT_TIMEOUT_MS, cancellable, keep_result, &result);
  /* long enough for the worker to be blocked in thunkAwait */
  g_timeout_add (1000, cancel_later, cancellable);
  g_assert_false (rthunk_client_await_many_finish (client, wait_result (&result), note_finished,
                                                   finished, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (g_hash_table_size (finished), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
  /* the connection that was abandoned mid-call is gone, not back in the pool */
  g_assert_cmpuint (rthunk_client_get_connections_open (client), ==, 0);
  g_clear_error (&error);

  /* the client still works, on a new connection, and the thunk still runs */
  g_assert_true (rthunk_client_ping (client, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), ==, 2);
  assert_int_value (pending, 1);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 1 2)");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  g_cancellable_cancel (cancellable);
  rthunk_client_submit_async (client, expr, NULL, NULL, cancellable, keep_result, &result);
  value = rthunk_client_submit_finish (client, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (value);
  g_assert_cmpuint (rthunk_client_get_connections_open (client), ==, 0);
}

/* ---- errors that name the server ------------------------------------------------ */

static void
test_refused (void)
{
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", test_unused_port ());
  g_autoptr(RthunkClient) client = rthunk_client_new (address);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (rthunk_client_connect (client, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
  g_assert_nonnull (strstr (error->message, address));
  g_clear_error (&error);
  rthunk_client_ping_async (client, NULL, keep_result, &result);
  g_assert_false (rthunk_client_ping_finish (client, wait_result (&result), &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
  g_assert_nonnull (strstr (error->message, address));
  g_assert_cmpuint (rthunk_client_get_connections_open (client), ==, 0);
}

typedef struct
{
  TestServer *server;
  gboolean killed;
} Killer;

static gboolean
kill_later (gpointer data)
{
  Killer *k = data;

  test_server_kill (g_steal_pointer (&k->server));
  k->killed = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_dead_server (void)
{
  Killer killer = { test_server_start ("client-async-dead", NULL), FALSE };
  g_autofree char *address = g_strdup (killer.server->address);
  g_autoptr(RthunkClient) client = rthunk_client_new (address);
  g_autoptr(RthunkValue) pending = submit_sync (client, "(delay 60000 1)");
  g_autoptr(GPtrArray) ids = ids_of (client, pending);
  g_autoptr(GHashTable) finished = new_finished ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_client_await_many_async (client, ids, AWAIT_TIMEOUT_MS, NULL, keep_result, &result);
  /* long enough for the worker to be blocked in thunkAwait */
  g_timeout_add (1000, kill_later, &killer);
  g_assert_false (rthunk_client_await_many_finish (client, wait_result (&result), note_finished,
                                                   finished, &error));
  g_assert_true (killer.killed);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST);
  g_assert_nonnull (strstr (error->message, address));
  g_assert_cmpuint (rthunk_client_get_connections_open (client), ==, 0);
  g_clear_error (&error);
  /* and now nothing listens there */
  g_assert_false (rthunk_client_ping (client, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
}

/* ---- getServerInfo, getFuncDefs, putDefinitions, submitBatch ----------------- */

static void
test_server_info_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(GVariant) sync_info = NULL;
  g_autoptr(GVariant) async_info = NULL;
  g_autoptr(GVariant) counters = NULL;
  GAsyncResult *result = NULL;
  const char *name = NULL, *async_name = NULL;
  gint64 submitted = -1;
  GError *error = NULL;

  sync_info = rthunk_client_get_server_info (client, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (sync_info, "name", "&s", &name));
  g_assert_cmpstr (name, ==, rthunk_client_get_server_name (client));
  counters = g_variant_lookup_value (sync_info, "counters", G_VARIANT_TYPE ("a{sx}"));
  g_assert_nonnull (counters);
  g_assert_true (g_variant_lookup (counters, "submitted", "x", &submitted));
  g_assert_cmpint (submitted, >=, 0);
  rthunk_client_get_server_info_async (client, NULL, keep_result, &result);
  async_info = rthunk_client_get_server_info_finish (client, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (async_info, "name", "&s", &async_name));
  g_assert_cmpstr (async_name, ==, name);
  g_object_unref (result);
}

static void
test_func_defs_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  const char *names[] = { "+", "len", NULL };
  const char *unknown[] = { "+", "no-such-function", NULL };
  g_autoptr(RthunkCatalog) sync_catalog = NULL;
  g_autoptr(RthunkCatalog) async_catalog = NULL;
  g_autoptr(RthunkCatalog) none = NULL;
  GAsyncResult *result = NULL;
  GError *error = NULL;

  sync_catalog = rthunk_client_get_func_defs (client, names, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rthunk_catalog_lookup (sync_catalog, "+"));
  g_assert_nonnull (rthunk_catalog_lookup (sync_catalog, "len"));
  g_assert_null (rthunk_catalog_lookup (sync_catalog, "map"));
  none = rthunk_client_get_func_defs (client, unknown, &error);
  g_assert_null (none);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION);
  g_clear_error (&error);
  rthunk_client_get_func_defs_async (client, names, NULL, keep_result, &result);
  async_catalog = rthunk_client_get_func_defs_finish (client, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (rthunk_catalog_lookup (async_catalog, "+"));
  g_assert_null (rthunk_catalog_lookup (async_catalog, "map"));
  g_object_unref (result);
}

static void
test_put_definitions_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  g_autoptr(GHashTable) defs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                      (GDestroyNotify) rthunk_node_unref);
  /* a body no other test sends, so the server has not stored it yet */
  g_autofree char *text = g_strdup_printf ("(defn cube [n] (* n (* n (+ n %u))))", g_random_int ());
  GAsyncResult *result = NULL;
  GError *error = NULL;

  g_hash_table_insert (defs, (gpointer) "cube", test_parse_one (text));
  g_assert_cmpint (rthunk_client_put_definitions (client, defs, &error), ==, 1);
  g_assert_no_error (error);
  /* stored now: nothing new the second time */
  rthunk_client_put_definitions_async (client, defs, NULL, keep_result, &result);
  g_assert_cmpint (rthunk_client_put_definitions_finish (client, wait_result (&result), &error), ==, 0);
  g_assert_no_error (error);
  g_object_unref (result);
}

static GPtrArray *
parse_all (const char *const *texts)
{
  GPtrArray *exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);

  for (guint k = 0; texts[k] != NULL; k++)
    g_ptr_array_add (exprs, test_parse_one (texts[k]));
  return exprs;
}

static void
assert_batch_values (GPtrArray *values)
{
  g_assert_cmpuint (values->len, ==, 3);
  assert_int_value (g_ptr_array_index (values, 0), 3);
  assert_int_value (g_ptr_array_index (values, 1), 42);
  assert_int_value (g_ptr_array_index (values, 2), 5);
}

static void
test_submit_batch_same (void)
{
  g_autoptr(RthunkClient) client = new_client (2);
  const char *texts[] = { "(+ 1 2)", "(* 6 7)", "(delay 200 5)", NULL };
  const char *bad_texts[] = { "(+ 1 2)", "(+ 1 \"two\")", NULL };
  g_autoptr(GPtrArray) exprs = parse_all (texts);
  g_autoptr(GPtrArray) bad = parse_all (bad_texts);
  g_autoptr(GPtrArray) sync_values = NULL;
  g_autoptr(GPtrArray) async_values = NULL;
  g_autoptr(GPtrArray) none = NULL;
  GAsyncResult *result = NULL;
  GError *error = NULL;

  sync_values = rthunk_client_submit_batch (client, exprs, NULL, &error);
  g_assert_no_error (error);
  assert_batch_values (sync_values);
  rthunk_client_submit_batch_async (client, exprs, NULL, NULL, keep_result, &result);
  async_values = rthunk_client_submit_batch_finish (client, wait_result (&result), &error);
  g_assert_no_error (error);
  assert_batch_values (async_values);
  g_object_unref (result);
  /* a type error is reported, naming the expression */
  none = rthunk_client_submit_batch (client, bad, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "expression 1 of the batch"));
  g_clear_error (&error);
}

int
main (int    argc,
      char **argv)
{
  const char *args[] = { "--workers", "4", NULL };
  int rc;

  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();
  shared_server = test_server_start ("client-async", args);
  TEST_ADD_TABLE (info_cases, test_info_same);
  TEST_ADD_TABLE (submit_cases, test_submit_same);
  g_test_add_func ("/client-async/same-as-sync/poll", test_poll_same);
  g_test_add_func ("/client-async/same-as-sync/await-many", test_await_same);
  g_test_add_func ("/client-async/same-as-sync/cancel-thunk", test_cancel_thunk_same);
  g_test_add_func ("/client-async/same-as-sync/server-info", test_server_info_same);
  g_test_add_func ("/client-async/same-as-sync/func-defs", test_func_defs_same);
  g_test_add_func ("/client-async/same-as-sync/put-definitions", test_put_definitions_same);
  g_test_add_func ("/client-async/same-as-sync/submit-batch", test_submit_batch_same);
  g_test_add_func ("/client-async/pool/concurrent-submits", test_concurrent_submits);
  g_test_add_func ("/client-async/pool/concurrent-awaits", test_concurrent_awaits);
  g_test_add_func ("/client-async/pool/sync-threads", test_sync_threads);
  g_test_add_func ("/client-async/cancel/await", test_cancel_await);
  g_test_add_func ("/client-async/cancel/before-start", test_cancel_before_start);
  g_test_add_func ("/client-async/errors/refused", test_refused);
  g_test_add_func ("/client-async/errors/dead-server", test_dead_server);
  rc = g_test_run ();
  test_server_stop (shared_server);
  return rc;
}
