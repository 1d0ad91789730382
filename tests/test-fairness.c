/* test-fairness.c — one client cannot deny service to the others, against
 * real rthunkd processes: long thunks do not starve a short one (the pool
 * grows past thunks that prove long), per-connection quotas on queued and
 * running thunks, and what a connection leaves behind when it goes.
 *
 * Every wait is on something the server reports (getServerInfo's
 * counters, a thunk's state), within a bounded loop.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "wireutil.h"

#define LONG_MS 30000           /* long thunks: far longer than any wait here */
#define WAIT_TRIES 1500         /* of 10 ms: 15 s */

static GPid server_pid;

static void
kill_on_abort (int sig)
{
  if (server_pid > 0)
    kill (server_pid, SIGKILL);
  signal (sig, SIG_DFL);
  raise (sig);
}

static TestServer *
start_server (const char *const *args)
{
  TestServer *server = test_server_start ("fairness", args);

  server_pid = test_server_pid (server);
  return server;
}

static void
stop_server (TestServer *server)
{
  test_server_stop (server);
  server_pid = 0;
}

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
  TestServer *server = start_server (args);
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
  stop_server (server);
}

/* With 2 workers, 4 long thunks (from 4 clients, so no quota holds them
 * back), then a 1 ms thunk from a fifth: it finishes while the long ones
 * still run — before, it waited behind them. */
static void
test_long_thunks_do_not_starve (void)
{
  const char *args[] = { "--workers", "2", "--long-thunk-ms", "100", "--drain-timeout-ms", "0", NULL };
  TestServer *server = start_server (args);
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
  stop_server (server);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGABRT, kill_on_abort);
  g_test_add_func ("/fairness/long-thunks-do-not-starve", test_long_thunks_do_not_starve);
  g_test_add_func ("/fairness/queued-quota", test_queued_quota);
  return g_test_run ();
}
