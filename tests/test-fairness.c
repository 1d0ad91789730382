/* test-fairness.c — one client cannot deny service to the others, against
 * real rthunkd processes: long thunks do not starve a short one (the pool
 * grows past thunks that prove long), per-connection quotas on queued and
 * running thunks, and what a connection leaves behind when it goes.
 *
 * Every wait is on something the server reports (getServerInfo's
 * counters, a thunk's state), within a bounded loop.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "wireutil.h"

#define LONG_MS 30000           /* long thunks: far longer than any wait here */
#define WAIT_TRIES 1500         /* of 10 ms: 15 s */

static RthunkWireServerInfo *
info_of (Wire *w)
{
  WireFailure f = { 0, };
  RthunkWireServerInfo *info = wire_info (w, &f);

  g_assert_no_error (f.error);
  g_assert_nonnull (info);
  return info;
}

/* Submits @text without waiting for it; its id (asserts it is accepted). */
static GByteArray *
submit_id (Wire       *w,
           const char *text)
{
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  WireFailure f = { 0, };

  thunk = wire_submit (w, request, &f);
  if (thunk == NULL)
    g_error ("“%s” refused: %s", text, f.message != NULL ? f.message : f.error->message);
  return g_byte_array_ref (thunk->id);
}

/* Waits until the server reports @running thunks running. */
static void
wait_running (Wire *w,
              gint  running)
{
  for (guint tries = 0; tries < WAIT_TRIES; tries++)
    {
      g_autoptr(RthunkWireServerInfo) info = info_of (w);

      if (info->running >= running)
        return;
      g_usleep (10000);
    }
  g_error ("the server never ran %d thunks at once", running);
}

/* Awaits @id for up to @timeout_ms; its finished VarCont, or NULL. */
static RthunkWireVarCont *
await_one (Wire             *w,
           const GByteArray *id,
           gint              timeout_ms)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) done = NULL;
  WireFailure f = { 0, };

  g_ptr_array_add (ids, (gpointer) id);
  done = wire_await (w, ids, timeout_ms, &f);
  g_assert_no_error (f.error);
  g_assert_nonnull (done);
  return done->len > 0 ? g_object_ref (g_ptr_array_index (done, 0)) : NULL;
}

/* A 1 ms thunk (delay is not pure: it goes to the pool, not inline) is
 * answered within 15 s, with its value. */
static void
assert_short_answered (Wire *w)
{
  g_autoptr(GByteArray) id = submit_id (w, "(delay 1 7)");
  g_autoptr(RthunkWireVarCont) cont = NULL;
  gint state;

  for (guint tries = 0; cont == NULL && tries < 15; tries++)
    cont = await_one (w, id, 1000);
  g_assert_nonnull (cont);
  g_object_get (cont, "state", &state, NULL);
  g_assert_cmpint (state, ==, RTHUNK_THUNK_DONE);
  g_assert_cmpint (wire_value_int (cont->value), ==, 7);
}

static void
cancel_all (Wire      *w,
            GPtrArray *ids)
{
  for (guint k = 0; k < ids->len; k++)
    {
      WireFailure f = { 0, };

      g_assert_true (wire_cancel (w, g_ptr_array_index (ids, k), NULL, &f));
    }
}

/* One connection queues far past its quota (a quarter of --max-queued):
 * it gets Overloaded naming the quota, and another client still submits
 * and gets its answer — before, the first filled the whole queue and
 * every other client got Overloaded. With one running thunk per
 * connection, the other's thunk does not wait behind the first's. */
static void
test_queued_quota (void)
{
  const char *args[] = { "--workers", "1", "--max-queued", "400", "--max-running-per-client", "1",
                         "--drain-timeout-ms", "0", NULL };
  TestServer *server = test_server_start ("fairness", args);
  g_autofree char *long_text = g_strdup_printf ("(delay %d 1)", LONG_MS);
  g_autoptr(Wire) greedy = wire_open (server, 30000);
  g_autoptr(Wire) other = wire_open (server, 30000);
  guint accepted = 0, refused = 0;

  for (guint k = 0; k < 400; k++)
    {
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (long_text, 0);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
      WireFailure f = { 0, };

      if ((thunk = wire_submit (greedy, request, &f)) != NULL)
        {
          accepted++;
          continue;
        }
      g_assert_cmpint (f.code, ==, RTHUNK_ERROR_OVERLOADED);
      g_assert_nonnull (strstr (f.message, "--max-queued-per-client"));
      wire_failure_clear (&f);
      refused++;
    }
  g_test_message ("%u accepted, %u refused", accepted, refused);
  g_assert_cmpuint (accepted, ==, 100);
  assert_short_answered (other);
  test_server_stop (server);
}

/* With 2 workers, 4 long thunks (from 4 clients, so no quota holds them
 * back), then a 1 ms thunk from a fifth: it finishes while the long ones
 * still run — before, it waited behind them. */
static void
test_long_thunks_do_not_starve (void)
{
  const char *args[] = { "--workers", "2", "--long-thunk-ms", "100", "--drain-timeout-ms", "0", NULL };
  TestServer *server = test_server_start ("fairness", args);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GPtrArray) wires = g_ptr_array_new_with_free_func ((GDestroyNotify) wire_free);
  g_autofree char *long_text = g_strdup_printf ("(delay %d 1)", LONG_MS);
  g_autoptr(Wire) shorty = wire_open (server, 30000);
  g_autoptr(RthunkWireServerInfo) info = NULL;

  for (guint k = 0; k < 4; k++)
    {
      Wire *w = wire_open (server, 30000);

      g_ptr_array_add (wires, w);
      g_ptr_array_add (ids, submit_id (w, long_text));
    }
  wait_running (shorty, 2);
  assert_short_answered (shorty);
  info = info_of (shorty);
  g_test_message ("running %d, queued %d, long thunks %" G_GINT64_FORMAT,
                  info->running, info->queued, info->counters->longThunks);
  /* the long ones are still running: the short one did not wait for them */
  g_assert_cmpint (info->running, >=, 4);
  g_assert_cmpint (info->counters->longThunks, >=, 2);
  cancel_all (shorty, ids);
  test_server_stop (server);
}

/* ---- what a connection leaves behind ------------------------------------------ */

/* Waits until the server has no thunk queued or running. */
static void
wait_nothing_unfinished (Wire *w)
{
  for (guint tries = 0; tries < WAIT_TRIES; tries++)
    {
      g_autoptr(RthunkWireServerInfo) info = info_of (w);

      if (info->running == 0 && info->queued == 0)
        return;
      g_usleep (10000);
    }
  g_error ("the thunks of a client that hung up still run or wait");
}

/* A client queues 10 long thunks (2 run, 8 wait) and hangs up without
 * naming them anywhere: nobody can fetch them, so the server cancels them
 * — running and queued go to 0, `cancelled` rises by 10. A thunk another
 * connection looked up survives its submitter. Before, they ran to their
 * end (or their deadline) for nobody. */
static void
test_orphans_cancelled (void)
{
  const char *args[] = { "--workers", "2", "--long-thunk-ms", "0", "--drain-timeout-ms", "0", NULL };
  TestServer *server = test_server_start ("fairness", args);
  g_autofree char *long_text = g_strdup_printf ("(delay %d 1)", LONG_MS);
  g_autoptr(Wire) other = wire_open (server, 30000);
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkWireVarCont) kept = NULL;
  g_autoptr(GByteArray) named = NULL;
  Wire *gone = wire_open (server, 30000);
  WireFailure f = { 0, };

  for (guint k = 0; k < 10; k++)
    g_byte_array_unref (submit_id (gone, long_text));
  named = submit_id (gone, "(delay 300 5)");
  kept = wire_get (other, named, &f);
  g_assert_nonnull (kept);
  g_clear_object (&kept);
  wait_running (other, 2);
  before = info_of (other);
  wire_free (gone);
  wait_nothing_unfinished (other);
  after = info_of (other);
  g_test_message ("cancelled %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT,
                  before->counters->cancelled, after->counters->cancelled);
  g_assert_cmpint (after->counters->cancelled - before->counters->cancelled, ==, 10);
  /* the one the other connection named ran to its end */
  kept = wire_get (other, named, &f);
  g_assert_nonnull (kept);
  g_assert_cmpint (wire_value_int (kept->value), ==, 5);
  test_server_stop (server);
}

/* ---- thunkAwait waiters ------------------------------------------------------ */

/* Waits until the server's `waiters` gauge reads @waiters. */
static void
wait_waiters (Wire   *w,
              gint64  waiters)
{
  gint64 last = -1;

  for (guint tries = 0; tries < WAIT_TRIES; tries++)
    {
      g_autoptr(RthunkWireServerInfo) info = info_of (w);

      if ((last = info->counters->waiters) == waiters)
        return;
      g_usleep (10000);
    }
  g_error ("the server reports %" G_GINT64_FORMAT " waiters, not %" G_GINT64_FORMAT, last, waiters);
}

#define N_WAITERS 50
#define N_NAMED 4000            /* --max-waiters-per-client here */

/* 50 connections await the same 4000 ids (one long thunk named 4000
 * times) for a minute, then hang up: the `waiters` gauge goes from 50 (a
 * thunk counts once per call) back to 0 at once, and another client's
 * work completes. Before, each waiter held on until its timeout, woken by
 * every thunk that finished; and each registered on the thunk once per
 * time it was named, so taking the waiters off its wait list, under the
 * table lock, took minutes (200 of them in `make attack`: hours, the
 * server answering nothing). An await naming more than
 * --max-waiters-per-client is refused. */
static void
test_waiters_leave_with_connection (void)
{
  const char *args[] = { "--workers", "2", "--max-waiters-per-client", "4000", "--drain-timeout-ms", "0", NULL };
  TestServer *server = test_server_start ("fairness", args);
  g_autofree char *long_text = g_strdup_printf ("(delay %d 1)", LONG_MS);
  g_autoptr(Wire) other = wire_open (server, 30000);
  g_autoptr(GByteArray) id = submit_id (other, long_text);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) wires = g_ptr_array_new_with_free_func ((GDestroyNotify) wire_free);
  g_autoptr(GPtrArray) too_many = NULL;
  WireFailure f = { 0, };

  for (guint k = 0; k < N_NAMED; k++)
    g_ptr_array_add (ids, id);
  for (guint k = 0; k < N_WAITERS; k++)
    {
      Wire *w = wire_open (server, 30000);

      g_ptr_array_add (wires, w);
      wire_send_await (w, ids, 60000);
    }
  wait_waiters (other, N_WAITERS);
  g_ptr_array_set_size (wires, 0);
  wait_waiters (other, 0);
  assert_short_answered (other);
  g_ptr_array_add (ids, id);
  too_many = wire_await (other, ids, 0, &f);
  g_assert_null (too_many);
  g_assert_cmpint (f.code, ==, RTHUNK_ERROR_LIMIT_EXCEEDED);
  g_assert_nonnull (strstr (f.message, "--max-waiters-per-client"));
  wire_failure_clear (&f);
  g_assert_true (wire_cancel (other, id, NULL, &f));
  test_server_stop (server);
}

/* ---- slots: idle and unauthenticated connections ------------------------- */

#define TOKEN "fairness-token"

/* A file holding TOKEN, for --token-file. */
static char *
token_file (void)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("rthunk-token-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, TOKEN, -1, &error));
  return path;
}

/* getServerInfo on a new connection, with @token (or none): whether it
 * was answered. */
static gboolean
served (TestServer *server,
        const char *token)
{
  g_autoptr(Wire) w = wire_open (server, 5000);
  g_autoptr(RthunkWireServerInfo) info = NULL;
  WireFailure f = { 0, };

  if (token != NULL)
    g_object_set (w->auth, "token", token, NULL);
  info = wire_info (w, &f);
  wire_failure_clear (&f);
  return info != NULL;
}

/* Waits until a client with the token is served on a new connection. */
static void
wait_served (TestServer *server)
{
  for (guint tries = 0; tries < WAIT_TRIES; tries++)
    {
      if (served (server, TOKEN))
        return;
      g_usleep (10000);
    }
  g_error ("a client with the token was kept out for 15 s");
}

/* Waits until the server closes @fd (reads its end of stream). */
static void
wait_closed_by_server (int fd)
{
  struct pollfd p = { fd, POLLIN, 0 };
  char byte;

  g_assert_cmpint (poll (&p, 1, 15000), ==, 1);
  g_assert_cmpint (read (fd, &byte, 1), ==, 0);
}

/* 8 connections that send nothing hold every slot of --max-connections
 * 8: another client is refused while they hold them, and served once
 * they sat idle past --idle-timeout-ms (before, they held the slots for
 * as long as a read may wait, --io-timeout-ms). */
static void
test_idle_slots_reclaimed (void)
{
  g_autofree char *token_path = token_file ();
  const char *args[] = { "--max-connections", "8", "--token-file", token_path, "--idle-timeout-ms", "300",
                         "--io-timeout-ms", "60000", NULL };
  TestServer *server = test_server_start ("fairness", args);
  int idle[8];

  for (guint k = 0; k < G_N_ELEMENTS (idle); k++)
    idle[k] = test_server_connect (server);
  g_assert_false (served (server, TOKEN));
  wait_served (server);
  for (guint k = 0; k < G_N_ELEMENTS (idle); k++)
    {
      wait_closed_by_server (idle[k]);
      close (idle[k]);
    }
  test_server_stop (server);
  unlink (token_path);
}

/* With a token, 8 connections that each sent one call without it are
 * answered NotAuthorized and closed: they do not hold the 8 slots (before,
 * they held them until the idle timeout). */
static void
test_unauthenticated_closed (void)
{
  g_autofree char *token_path = token_file ();
  const char *args[] = { "--max-connections", "8", "--token-file", token_path, NULL };
  TestServer *server = test_server_start ("fairness", args);
  g_autoptr(GPtrArray) wires = g_ptr_array_new_with_free_func ((GDestroyNotify) wire_free);

  for (guint k = 0; k < 8; k++)
    {
      Wire *w = wire_open (server, 5000);
      g_autoptr(RthunkWireServerInfo) info = NULL;
      WireFailure f = { 0, };

      g_ptr_array_add (wires, w);
      info = wire_info (w, &f);
      g_assert_null (info);
      g_assert_cmpint (f.code, ==, RTHUNK_ERROR_NOT_AUTHORIZED);
      wire_failure_clear (&f);
    }
  for (guint k = 0; k < wires->len; k++)
    wait_closed_by_server (rthunk_frame_transport_get_fd (((Wire *) g_ptr_array_index (wires, k))->transport));
  wait_served (server);
  test_server_stop (server);
  unlink (token_path);
}

/* print never holds a worker: the server's stdout is a pipe the test
 * reads only for the "listening" line, so it fills at once. Ten thunks
 * that each print some 300 KB all finish (before, the first blocked in
 * fwrite with its worker, and the SIGTERM drain behind it), and the server
 * then stops cleanly on SIGTERM. */
/* rthunkd with its standard output a pipe that stays open and that
 * nobody reads after the "listening" line (test_server_start() closes
 * its end, so writes fail at once there instead of filling the pipe). */
static TestServer *
start_server_unread_stdout (const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) g_getenv ("RTHUNKD"));
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, (gpointer) "0");
  for (guint k = 0; args[k] != NULL; k++)
    g_ptr_array_add (argv, (gpointer) args[k]);
  g_ptr_array_add (argv, NULL);
  return test_server_start_argv_unread ((const char *const *) argv->pdata);
}

static void
test_print_never_blocks (void)
{
  const char *args[] = { "--workers", "2", "--drain-timeout-ms", "2000", NULL };
  TestServer *server = start_server_unread_stdout (args);
  g_autoptr(Wire) w = wire_open (server, 20000);
  GByteArray *ids[10];

  for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
    {
      g_autofree char *text = g_strdup_printf ("(do (print (str (range 0 50000))) %u)", k);

      ids[k] = submit_id (w, text);
    }
  for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
    {
      g_autoptr(RthunkWireVarCont) cont = NULL;
      gint state;

      for (guint tries = 0; cont == NULL && tries < 15; tries++)
        cont = await_one (w, ids[k], 1000);
      if (cont == NULL)
        g_error ("a printing thunk did not finish in 15 s: its worker is blocked on stdout");
      g_object_get (cont, "state", &state, NULL);
      g_assert_cmpint (state, ==, RTHUNK_THUNK_DONE);
      g_assert_cmpint (wire_value_int (cont->value), ==, (gint64) k);
      g_byte_array_unref (ids[k]);
    }
  test_server_stop (server);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fairness/long-thunks-do-not-starve", test_long_thunks_do_not_starve);
  g_test_add_func ("/fairness/queued-quota", test_queued_quota);
  g_test_add_func ("/fairness/orphans-cancelled", test_orphans_cancelled);
  g_test_add_func ("/fairness/print-never-blocks", test_print_never_blocks);
  g_test_add_func ("/fairness/waiters-leave-with-connection", test_waiters_leave_with_connection);
  g_test_add_func ("/fairness/idle-slots-reclaimed", test_idle_slots_reclaimed);
  g_test_add_func ("/fairness/unauthenticated-closed", test_unauthenticated_closed);
  return g_test_run ();
}
