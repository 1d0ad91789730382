/* test-distributed.c — a session over real rthunkd processes: cancel
 * reaches the server that runs the thunk (through the cluster, for cells
 * and pmap chunks), a server that is down at start is
 * routed around, and a failed-over value is credited to the server that
 * computed it. Everything waits on what the servers report (their
 * getServerInfo counters), never on a sleep. */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "rthunk.h"
#include "rthunk-thunk-private.h"
#include "testutil.h"

#define WAIT_US (120 * G_USEC_PER_SEC)
#define LONG_LOOP "(loop [i 0] (if (< i 4000000000) (recur (+ i 1)) i))"

typedef struct
{
  TestServer *alpha;
  TestServer *beta;
  RthunkSession *session;
  RthunkClient *probe_alpha;
  RthunkClient *probe_beta;
} Fixture;

static RthunkClient *
probe_new (TestServer *server)
{
  g_autoptr(GError) error = NULL;
  RthunkClient *client = rthunk_client_new (server->address);

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  return client;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->alpha = test_server_start ("alpha", NULL);
  fixture->beta = test_server_start ("beta", NULL);
  fixture->session = rthunk_session_new ();
  g_assert_true (rthunk_session_add_server (fixture->session, fixture->alpha->address, &error));
  g_assert_true (rthunk_session_add_server (fixture->session, fixture->beta->address, &error));
  g_assert_no_error (error);
  fixture->probe_alpha = probe_new (fixture->alpha);
  fixture->probe_beta = probe_new (fixture->beta);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->probe_alpha);
  g_clear_object (&fixture->probe_beta);
  rthunk_session_close (fixture->session);
  g_clear_object (&fixture->session);
  if (fixture->alpha != NULL)
    test_server_kill (fixture->alpha);
  if (fixture->beta != NULL)
    test_server_kill (fixture->beta);
}

/* A getServerInfo field: "running", or a counter ("cancelled", …). */
static gint64
server_number (RthunkClient *probe,
               const char   *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) info = rthunk_client_get_server_info (probe, &error);
  g_autoptr(GVariant) counters = NULL;
  gint64 n = -1;
  gint32 running;

  g_assert_no_error (error);
  if (strcmp (what, "running") == 0)
    {
      g_assert_true (g_variant_lookup (info, "running", "i", &running));
      return running;
    }
  counters = g_variant_lookup_value (info, "counters", G_VARIANT_TYPE ("a{sx}"));
  g_assert_true (g_variant_lookup (counters, what, "x", &n));
  return n;
}

/* Runs the main context until @probe's server reports @what == @want. */
static void
wait_for_server (RthunkClient *probe,
                 const char   *what,
                 gint64        want)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (server_number (probe, what) != want)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20 * 1000);   /* polling interval of an observable condition */
    }
}

static RthunkValue *
eval (Fixture    *fixture,
      const char *text)
{
  g_autoptr(GError) error = NULL;
  RthunkValue *value = rthunk_session_eval (fixture->session, text, "<test>", &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

static void
got_result (GObject      *object,
            GAsyncResult *result,
            gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* Cancels cell @name (NULL: all); the servers that confirmed, joined. */
static char *
cancel_cell (Fixture    *fixture,
             const char *name,
             char      **unconfirmed)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_auto(GStrv) yes = NULL;
  g_auto(GStrv) no = NULL;
  g_autoptr(GError) error = NULL;

  rthunk_session_cancel_cell_async (fixture->session, name, got_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (rthunk_session_cancel_finish (fixture->session, result, &yes, &no, &error), >, 0);
  g_assert_no_error (error);
  *unconfirmed = g_strjoinv (",", no);
  return g_strjoinv (",", yes);
}

/* A cell pinned to alpha, cancelled: alpha confirms, stops running it and
 * counts it cancelled; the cell fails as cancelled. */
static void
test_cancel_cell (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RthunkValue) q = eval (fixture, "(def q (remote :on \"alpha\" " LONG_LOOP "))");
  g_autofree char *unconfirmed = NULL;
  g_autofree char *confirmed = NULL;

  wait_for_server (fixture->probe_alpha, "running", 1);
  confirmed = cancel_cell (fixture, "q", &unconfirmed);
  g_assert_cmpstr (confirmed, ==, "alpha");
  g_assert_cmpstr (unconfirmed, ==, "");
  wait_for_server (fixture->probe_alpha, "running", 0);
  g_assert_cmpint (server_number (fixture->probe_alpha, "cancelled"), ==, 1);
  g_assert_cmpint (server_number (fixture->probe_alpha, "completed"), ==, 0);
}

/* pmap's chunks run on both servers: cancelling the cell stops them all. */
static void
test_cancel_pmap (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RthunkValue) p = eval (fixture, "(def p (pmap (fn [n] " LONG_LOOP ") [1 2]))");
  g_autofree char *unconfirmed = NULL;
  g_autofree char *confirmed = NULL;

  wait_for_server (fixture->probe_alpha, "running", 1);
  wait_for_server (fixture->probe_beta, "running", 1);
  confirmed = cancel_cell (fixture, "p", &unconfirmed);
  g_assert_nonnull (strstr (confirmed, "alpha"));
  g_assert_nonnull (strstr (confirmed, "beta"));
  wait_for_server (fixture->probe_alpha, "running", 0);
  wait_for_server (fixture->probe_beta, "running", 0);
  g_assert_cmpint (server_number (fixture->probe_alpha, "cancelled"), >=, 1);
  g_assert_cmpint (server_number (fixture->probe_beta, "cancelled"), >=, 1);
}

/* A server down at start: the session starts, forms go to the other one,
 * and a form pinned to the down one fails saying so. */
static void
test_down_at_start (void)
{
  g_autoptr(GError) error = NULL;
  TestServer *alpha = test_server_start ("alpha", NULL);
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autofree char *down = g_strdup_printf ("127.0.0.1:%u", test_unused_port ());
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) got = NULL;

  g_assert_true (rthunk_session_add_server (session, alpha->address, &error));
  g_assert_true (rthunk_session_add_server (session, down, &error));
  g_assert_no_error (error);
  value = rthunk_session_eval (session, "(remote (+ 1 1))", "<test>", &error);
  g_assert_no_error (error);
  got = rthunk_session_wait (session, value, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (got), ==, 2);
  g_clear_pointer (&value, rthunk_value_unref);
  {
    g_autofree char *form = g_strdup_printf ("(remote :on \"%s\" 1)", down);

    value = rthunk_session_eval (session, form, "<test>", &error);
    g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
    g_assert_nonnull (strstr (error->message, "is down"));
    g_assert_nonnull (strstr (error->message, "pinned to it"));
  }
  rthunk_session_close (session);
  test_server_kill (alpha);
}

/* Failover: the value is credited to the server that computed it. */
static void
test_failover_credit (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  /* a wait, not a loop: the survivor's run must not depend on how fast
   * this machine (or a sanitizer build) evaluates */
  g_autoptr(RthunkValue) v = eval (fixture, "(def v (remote (delay 4000 42)))");
  TestServer *victim;
  const char *survivor;
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (server_number (fixture->probe_alpha, "running") + server_number (fixture->probe_beta, "running") == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  if (server_number (fixture->probe_alpha, "running") == 1)
    {
      victim = g_steal_pointer (&fixture->alpha);
      survivor = "@beta, after alpha was lost";
    }
  else
    {
      victim = g_steal_pointer (&fixture->beta);
      survivor = "@alpha, after beta was lost";
    }
  test_server_kill (victim);
  g_assert_true (rthunk_session_wait_all (fixture->session, -1, &error));
  g_assert_no_error (error);
  if (rthunk_session_get_cell_error (fixture->session, "v") != NULL)
    g_error ("v failed: %s", rthunk_session_get_cell_error (fixture->session, "v")->message);
  g_assert_nonnull (strstr (rthunk_session_get_cell_origin (fixture->session, "v"), survivor));
}

static guint
count_threads (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Values the cluster routes are waited for by the collector of the server
 * that runs them, not by a thread each: 150 outstanding at once add no
 * thread to the process. */
static void
test_routed_no_thread_each (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(RthunkValue) xs = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  gint64 before_alpha = server_number (fixture->probe_alpha, "submitted");
  gint64 before_beta = server_number (fixture->probe_beta, "submitted");
  guint threads;

  xs = eval (fixture, "(def xs (map (fn [i] (remote (delay 600000 i))) (range 0 150)))");
  while (server_number (fixture->probe_alpha, "submitted") - before_alpha +
         server_number (fixture->probe_beta, "submitted") - before_beta < 150)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  threads = count_threads ();
  g_test_message ("%u threads with 150 routed values outstanding", threads);
  g_assert_cmpuint (threads, <, 40);
  g_assert_cmpuint (rthunk_session_get_outstanding (fixture->session), ==, 150);
}

/* A value submitted while the collector's poll waits on a long thunk is
 * not held up by that poll: an idle lane, or a new one, polls it. The
 * poll slice is made ten minutes long, so without a lane of its own the
 * value would wait ten minutes and the bounded wait would fail. */
static void
test_collector_new_lane (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RthunkValue) slow = NULL;
  g_autoptr(RthunkValue) quick = NULL;
  g_autoptr(RthunkValue) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *unconfirmed = NULL;
  g_autofree char *confirmed = NULL;
  gint64 completed = server_number (fixture->probe_alpha, "completed");

  rthunk_collector_set_poll_slice (600000);
  slow = eval (fixture, "(def slow (remote :on \"alpha\" " LONG_LOOP "))");
  wait_for_server (fixture->probe_alpha, "running", 1);
  quick = eval (fixture, "(def quick (remote :on \"alpha\" (delay 50 7)))");
  got = rthunk_session_wait (fixture->session, quick, 60000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (got), ==, 7);
  g_assert_cmpint (server_number (fixture->probe_alpha, "completed"), ==, completed + 1);
  /* the slow one still runs (the quick one may still be counted running
   * for a moment after its value was sent) */
  g_assert_cmpint (server_number (fixture->probe_alpha, "running"), >=, 1);
  g_assert_true (rthunk_value_is_pending (rthunk_session_lookup (fixture->session, "slow")));
  /* the slow one's poll returns when it is cancelled */
  confirmed = cancel_cell (fixture, "slow", &unconfirmed);
  g_assert_cmpstr (confirmed, ==, "alpha");
  wait_for_server (fixture->probe_alpha, "running", 0);
  rthunk_collector_set_poll_slice (250);
}

/* The int @text evaluates to in @session, waited for. */
static gint64
eval_wait_int (RthunkSession *session,
               const char    *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_session_eval (session, text, "<test>", &error);
  g_autoptr(RthunkValue) got = NULL;

  g_assert_no_error (error);
  got = rthunk_session_wait (session, value, 60000, &error);
  g_assert_no_error (error);
  return rthunk_value_get_int (got);
}

/* `(await (remote …))` is sent at once in a submitEvalRequest of its own
 * (its value comes back in the answer), while a value that is not awaited
 * at once is queued and goes in a submitBatch frame. */
static void
test_awaited_direct (void)
{
  TestServer *alpha = test_server_start ("alpha", NULL);
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(RthunkClient) probe = probe_new (alpha);
  g_autoptr(GError) error = NULL;
  gint64 batches, submitted;

  g_assert_true (rthunk_session_add_server (session, alpha->address, &error));
  g_assert_no_error (error);
  batches = server_number (probe, "batches");
  submitted = server_number (probe, "submitted");
  g_assert_cmpint (eval_wait_int (session, "(await (remote (+ 20 22)))"), ==, 42);
  g_assert_cmpint (server_number (probe, "submitted"), ==, submitted + 1);
  g_assert_cmpint (server_number (probe, "batches"), ==, batches);
  g_assert_cmpint (eval_wait_int (session, "(def q (remote (+ 1 2)))"), ==, 3);
  g_assert_cmpint (server_number (probe, "batches"), ==, batches + 1);
  rthunk_session_close (session);
  test_server_kill (alpha);
}

/* The line of rthunk_cluster_describe() for the server named @name. */
static char *
describe_line (RthunkCluster *cluster,
               const char    *name)
{
  g_autofree char *all = rthunk_cluster_describe (cluster);
  g_auto(GStrv) lines = g_strsplit (all, "\n", -1);

  for (guint k = 0; lines[k] != NULL; k++)
    if (g_str_has_prefix (lines[k], name))
      return g_strdup (lines[k]);
  g_error ("no line for %s in:\n%s", name, all);
}

/* The int @text gives, routed by @cluster and forced. */
static gint64
routed_int (RthunkCluster *cluster,
            const char    *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) pending = rthunk_cluster_submit (cluster, expr, NULL, NULL, NULL, &error);
  g_autoptr(RthunkValue) value = NULL;

  g_assert_no_error (error);
  value = rthunk_value_force (pending, &error);
  g_assert_no_error (error);
  return rthunk_value_get_int (value);
}

/* Audits: with every pure thunk audited, a server whose + is off by one is
 * caught at its first audited thunk and quarantined; no value it gave
 * reaches the caller, and nothing is sent to it afterwards. */
static void
test_audit_quarantine (void)
{
  g_autoptr(GError) error = NULL;
  TestServer *alpha = test_server_start ("alpha", NULL);
  TestServer *beta = test_server_start ("beta", NULL);
  TestServer *liar = test_server_start_program (g_getenv ("WRONG_PROVIDER"), "liar", NULL);
  g_autoptr(RthunkCluster) cluster = rthunk_cluster_new ();
  g_autoptr(RthunkClient) probe = probe_new (liar);
  g_autofree char *line = NULL;
  gint64 submitted;
  guint k;

  g_assert_true (rthunk_cluster_add_server (cluster, liar->address, &error));
  g_assert_true (rthunk_cluster_add_server (cluster, alpha->address, &error));
  g_assert_true (rthunk_cluster_add_server (cluster, beta->address, &error));
  rthunk_cluster_set_audit_rate (cluster, 1.0);
  /* the liar takes part as the first server or as the auditor (drawn at
   * random): it is caught the first time */
  for (k = 0; k < 60; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ %u 1)", k);

      g_assert_cmpint (routed_int (cluster, text), ==, k + 1);
      g_clear_pointer (&line, g_free);
      line = describe_line (cluster, "liar");
      if (strstr (line, "quarantined") != NULL)
        break;
    }
  g_assert_cmpuint (k, <, 60);
  g_assert_nonnull (strstr (line, "disagreed=1 quarantined"));
  g_clear_pointer (&line, g_free);
  line = describe_line (cluster, "alpha");
  g_assert_null (strstr (line, "quarantined"));
  /* nothing more goes to it, not even pinned */
  submitted = server_number (probe, "submitted");
  for (k = 0; k < 10; k++)
    {
      g_autoptr(RthunkNode) expr = test_parse_one ("(+ 40 2)");
      g_autoptr(RthunkValue) pending = rthunk_cluster_submit (cluster, expr, NULL, NULL, NULL, &error);
      g_autoptr(RthunkValue) value = rthunk_value_force (pending, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 42);
    }
  g_assert_cmpint (server_number (probe, "submitted"), ==, submitted);
  {
    g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) rthunk_value_unref);
    g_autoptr(RthunkNode) plain = test_parse_one ("(+ 1 1)");
    g_autoptr(RthunkValue) value = NULL;

    g_hash_table_insert (options, "on", rthunk_value_new_str ("liar"));
    value = rthunk_cluster_submit (cluster, plain, options, NULL, NULL, &error);
    g_assert_null (value);
    g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
    g_assert_nonnull (strstr (error->message, "quarantined"));
  }
  test_server_kill (liar);
  test_server_kill (beta);
  test_server_kill (alpha);
}

/* The number after `cells=` in @line, or -1 without one. */
static gint64
cells_in (const char *line)
{
  const char *at = strstr (line, " cells=");

  return at != NULL ? g_ascii_strtoll (at + strlen (" cells="), NULL, 10) : -1;
}

/* State cells: each cell's forms go to one server, whose line of
 * `:servers` (rthunk_cluster_describe()) counts its cells once it has
 * reported them, and whose getServerInfo names each with its type; a
 * state form is never verified. */
static void
test_state_servers_line (void)
{
  g_autoptr(GError) error = NULL;
  TestServer *alpha = test_server_start ("alpha", NULL);
  TestServer *beta = test_server_start ("beta", NULL);
  g_autoptr(RthunkCluster) cluster = rthunk_cluster_new ();
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) rthunk_value_unref);
  g_autoptr(RthunkNode) swap = test_parse_one ("(state-swap! \"c0\" 0 (fn [n] (+ n 1)))");
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gint64 a = -1, b = -1;

  g_assert_true (rthunk_cluster_add_server (cluster, alpha->address, &error));
  g_assert_true (rthunk_cluster_add_server (cluster, beta->address, &error));
  for (guint k = 0; k < 12; k++)
    {
      g_autofree char *text = g_strdup_printf ("(state-swap! \"c%u\" 0 (fn [n] (+ n 1)))", k % 6);

      g_assert_cmpint (routed_int (cluster, text), ==, k / 6 + 1);
    }
  /* the cluster pings each server every second: their lines follow */
  while (a + b != 6)
    {
      g_autofree char *line_a = describe_line (cluster, "alpha");
      g_autofree char *line_b = describe_line (cluster, "beta");

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      a = cells_in (line_a);
      b = cells_in (line_b);
      g_assert_cmpint (a, >=, 0);
      g_assert_cmpint (b, >=, 0);
      if (a + b != 6)
        g_usleep (50 * 1000);
    }
  /* getServerInfo names each cell with its type */
  {
    g_autoptr(RthunkClient) probe = probe_new (alpha);
    g_autoptr(GVariant) info = rthunk_client_get_server_info (probe, &error);
    g_autoptr(GVariant) types = g_variant_lookup_value (info, "state-cell-types", G_VARIANT_TYPE ("a{ss}"));
    g_autoptr(GVariantIter) iter = NULL;
    const char *name, *type;

    g_assert_no_error (error);
    g_assert_nonnull (types);
    g_assert_cmpint (g_variant_n_children (types), ==, a);
    iter = g_variant_iter_new (types);
    while (g_variant_iter_next (iter, "{&s&s}", &name, &type))
      {
        g_assert_true (g_str_has_prefix (name, "c"));
        g_assert_cmpstr (type, ==, "int");
      }
  }
  g_hash_table_insert (options, "verify", rthunk_value_new_int (2));
  g_assert_null (rthunk_cluster_submit (cluster, swap, options, NULL, NULL, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_nonnull (strstr (error->message, "never verified"));
  test_server_kill (beta);
  test_server_kill (alpha);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* make check sets it: without it this is a broken setup, not a skip */
  if (g_getenv ("RTHUNKD") == NULL)
    g_error ("RTHUNKD is not set: run this test through make check");
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/distributed/cancel/cell", test_cancel_cell);
  ADD ("/distributed/cancel/pmap", test_cancel_pmap);
  ADD ("/distributed/failover/credit", test_failover_credit);
  g_test_add_func ("/distributed/down/at-start", test_down_at_start);
  g_test_add_func ("/distributed/audit/quarantine", test_audit_quarantine);
  g_test_add_func ("/distributed/state/servers-line", test_state_servers_line);
  ADD ("/distributed/routed/no-thread-each", test_routed_no_thread_each);
  ADD ("/distributed/collector/new-lane", test_collector_new_lane);
  g_test_add_func ("/distributed/await/direct", test_awaited_direct);
  return g_test_run ();
}
