/* test-faults.c — a real rthunkd dies or is stopped under its clients
 *
 *   /faults/kill9-while-awaiting: clients force pending thunks (thunkAwait
 *     inside RthunkClient) and the server is killed with SIGKILL: every
 *     client gets RTHUNK_ERROR_CONNECTION_LOST, long before any socket timeout.
 *   /faults/restart-unknown-id: a thunk id of a server that was killed is
 *     UNKNOWN_THUNK to the server started after it, on a new port and on
 *     the same port.
 *   /faults/sigterm-under-load: many slow thunks queued on two workers,
 *     clients awaiting them, then SIGTERM: the server drains. Submissions
 *     on open connections get Overloaded "shutting down", a new connection
 *     is refused, and every client still awaiting sees each of its
 *     accepted thunks finish through thunkAwait — DONE with the right
 *     value, or CANCELLED with the reason "server shut down before the
 *     thunk finished" once --drain-timeout-ms has passed — with no
 *     connection error; then the server exits 0.
 *   /faults/sigterm-twice: the drain timeout from the [server] group of
 *     a --config file (10 min) keeps a running thunk running well past
 *     the default (5 s); a second SIGTERM exits at once with 143.
 *
 * Every wait has a generous cap; nothing asserts how fast things are.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wireutil.h"

#define N_AWAITERS 6
#define CAP_US (60 * G_USEC_PER_SEC)
#define N_QUEUED 40
#define N_SIGTERM_CLIENTS 4
#define SHUTDOWN_REASON "server shut down before the thunk finished"

/* ---- kill -9 while clients wait -------------------------------------------- */

typedef struct
{
  TestServer *server;
  guint index;
  gint submitted;          /* atomic: the pending value is held */
  gint tid;                /* atomic: its thread */
  GError *error;           /* what forcing it gave */
  RthunkValue *value;
  gint64 waited_us;        /* from the kill to the answer */
} Awaiter;

static gint64 killed_at;   /* atomic-ish: written once before the awaiters return */

static gpointer
awaiter_run (gpointer data)
{
  Awaiter *a = data;
  g_autoptr(RthunkClient) client = rthunk_client_new (a->server->address);
  g_autofree char *text = g_strdup_printf ("(delay 600000 %u)", a->index);
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) pending = NULL;

  g_atomic_int_set (&a->tid, test_thread_id ());
  if (!rthunk_client_connect (client, &a->error))
    return NULL;
  pending = rthunk_client_submit (client, expr, NULL, &a->error);
  if (pending == NULL)
    return NULL;
  g_atomic_int_set (&a->submitted, 1);
  a->value = rthunk_value_force (pending, &a->error);
  a->waited_us = g_get_monotonic_time () - killed_at;
  return NULL;
}

static void
test_kill9_while_awaiting (void)
{
  const char *args[] = { "--workers", "2", "--deadline-ms", "600000", NULL };
  TestServer *server = test_server_start ("faults-kill9", args);
  Awaiter awaiters[N_AWAITERS];
  GThread *threads[N_AWAITERS];
  gint64 give_up = g_get_monotonic_time () + CAP_US;

  memset (awaiters, 0, sizeof awaiters);
  for (guint k = 0; k < N_AWAITERS; k++)
    {
      awaiters[k].server = server;
      awaiters[k].index = k;
      threads[k] = g_thread_new ("awaiter", awaiter_run, &awaiters[k]);
    }
  for (guint k = 0; k < N_AWAITERS; k++)
    while (!g_atomic_int_get (&awaiters[k].submitted))
      {
        g_assert_null (awaiters[k].error);
        g_assert_cmpint (g_get_monotonic_time (), <, give_up);
        g_usleep (10 * 1000);
      }
  /* each is blocked waiting for the server's answer to thunkAwait */
  for (guint k = 0; k < N_AWAITERS; k++)
    test_thread_wait_blocked_reading (g_atomic_int_get (&awaiters[k].tid), CAP_US);
  killed_at = g_get_monotonic_time ();
  test_server_kill (server);
  for (guint k = 0; k < N_AWAITERS; k++)
    {
      g_thread_join (threads[k]);
      g_assert_null (awaiters[k].value);
      g_assert_nonnull (awaiters[k].error);
      g_test_message ("awaiter %u after %" G_GINT64_FORMAT " ms: %s", k,
                      awaiters[k].waited_us / 1000, awaiters[k].error->message);
      g_assert_error (awaiters[k].error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST);
      /* not a socket timeout: far below the client's own */
      g_assert_cmpint (awaiters[k].waited_us, <, CAP_US);
      g_clear_error (&awaiters[k].error);
    }
}

/* ---- a restarted server does not know the old ids --------------------------- */

static void
assert_unknown (TestServer       *server,
                const GByteArray *id)
{
  g_autoptr(Wire) w = wire_open (server, 30000);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  WireFailure failure = { 0, };

  cont = wire_get (w, id, &failure);
  g_assert_null (cont);
  g_assert_no_error (failure.error);
  g_assert_true (failure.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (failure.code, ==, RTHUNK_ERROR_UNKNOWN_THUNK);
  wire_failure_clear (&failure);
  /* and it answers */
  {
    g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(+ 40 2)", 5000);
    g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, &failure);

    g_assert_no_error (failure.error);
    g_assert_nonnull (thunk);
    g_assert_false (wire_same_id (thunk->id, id));
  }
}

static void
test_restart_unknown_id (void)
{
  const char *args[] = { "--workers", "2", NULL };
  TestServer *old = test_server_start ("faults-old", args);
  g_autoptr(GByteArray) done_id = NULL;
  g_autoptr(GByteArray) pending_id = NULL;
  g_autofree char *port = g_strdup_printf ("%u", old->port);

  {
    g_autoptr(Wire) w = wire_open (old, 30000);
    g_autoptr(RthunkWireEvalRequest) fast = wire_request_for ("(+ 1 2)", 5000);
    g_autoptr(RthunkWireEvalRequest) slow = wire_request_for ("(delay 600000 7)", 0);
    g_autoptr(RthunkWireRemoteThunk) t1 = NULL;
    g_autoptr(RthunkWireRemoteThunk) t2 = NULL;
    g_autoptr(RthunkWireVarCont) cont = NULL;
    WireFailure failure = { 0, };

    t1 = wire_submit (w, fast, &failure);
    g_assert_nonnull (t1);
    t2 = wire_submit (w, slow, &failure);
    g_assert_nonnull (t2);
    done_id = g_byte_array_ref (t1->id);
    pending_id = g_byte_array_ref (t2->id);
    cont = wire_get (w, done_id, &failure);
    g_assert_nonnull (cont);
  }
  test_server_kill (old);

  /* a new process on a new port */
  {
    TestServer *fresh = test_server_start ("faults-new", args);

    assert_unknown (fresh, done_id);
    assert_unknown (fresh, pending_id);
    test_server_kill (fresh);
  }
  /* a new process on the same port */
  {
    const char *same_args[] = { "--workers", "2", "--port", port, NULL };
    TestServer *same = test_server_start ("faults-same-port", same_args);

    g_autofree char *address = g_strdup_printf ("127.0.0.1:%s", port);

    g_assert_cmpstr (same->address, ==, address);
    assert_unknown (same, done_id);
    assert_unknown (same, pending_id);
    test_server_stop (same);
  }
}

/* ---- SIGTERM under load ------------------------------------------------------ */

typedef struct
{
  TestServer *server;
  guint index;
  gint ready;                   /* atomic: all submitted */
  gint tid;                     /* atomic: its thread */
  guint accepted;
  guint reported;               /* finished, with a state and a reason */
  guint done, failed, cancelled;
  GError *error;                /* the clear error that ended its wait, if any */
  gchar *problem;               /* what went wrong, if anything */
} Loader;

static gpointer
loader_run (gpointer data)
{
  Loader *l = data;
  g_autoptr(Wire) w = wire_open (l->server, 120000);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 give_up;

  g_atomic_int_set (&l->tid, test_thread_id ());
  for (guint k = 0; k < N_QUEUED; k++)
    {
      gint64 key = (gint64) l->index * 1000 + k;
      g_autofree char *text = g_strdup_printf ("(delay 100 %" G_GINT64_FORMAT ")", key);
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
      WireFailure failure = { 0, };

      thunk = wire_submit (w, request, &failure);
      if (thunk == NULL)
        {
          l->problem = g_strdup_printf ("submission %u refused: %s", k,
                                        failure.error != NULL ? failure.error->message : failure.message);
          wire_failure_clear (&failure);
          g_atomic_int_set (&l->ready, 1);
          return NULL;
        }
      g_ptr_array_add (ids, g_byte_array_ref (thunk->id));
      g_array_append_val (expected, key);
      l->accepted++;
    }
  g_atomic_int_set (&l->ready, 1);

  give_up = g_get_monotonic_time () + 2 * CAP_US;
  while (ids->len > 0)
    {
      g_autoptr(GPtrArray) done = NULL;
      WireFailure failure = { 0, };

      if (g_get_monotonic_time () > give_up)
        {
          l->problem = g_strdup_printf ("%u thunks neither finished nor failed", ids->len);
          return NULL;
        }
      done = wire_await (w, ids, 5000, &failure);
      if (done == NULL)
        {
          if (failure.error != NULL)
            l->error = g_steal_pointer (&failure.error);
          else
            l->problem = g_strdup_printf ("thunkAwait threw code %d: %s", failure.code, failure.message);
          wire_failure_clear (&failure);
          return NULL;
        }
      for (guint d = 0; d < done->len; d++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, d);
          guint at = G_MAXUINT;

          for (guint k = 0; k < ids->len; k++)
            if (wire_same_id (g_ptr_array_index (ids, k), cont->id))
              at = k;
          if (at == G_MAXUINT)
            {
              l->problem = g_strdup ("thunkAwait reported an id twice or one not asked about");
              return NULL;
            }
          switch (cont->state)
            {
            case RTHUNK_WIRE_THUNK_STATE_DONE:
              if (!cont->__isset_value || wire_value_int (cont->value) != g_array_index (expected, gint64, at))
                l->problem = g_strdup ("a thunk was DONE with the wrong value");
              l->done++;
              break;
            case RTHUNK_WIRE_THUNK_STATE_FAILED:
            case RTHUNK_WIRE_THUNK_STATE_CANCELLED:
              if (!cont->__isset_error || cont->error->code == 0 || cont->error->message == NULL ||
                  cont->error->message[0] == '\0')
                l->problem = g_strdup ("a thunk failed without a reason");
              else if (cont->state != RTHUNK_WIRE_THUNK_STATE_CANCELLED ||
                       cont->error->code != RTHUNK_ERROR_CANCELLED ||
                       strstr (cont->error->message, SHUTDOWN_REASON) == NULL)
                l->problem = g_strdup_printf ("a thunk ended in state %d, code %d: %s (not cancelled "
                                              "by the drain)", cont->state, cont->error->code,
                                              cont->error->message);
              if (cont->state == RTHUNK_WIRE_THUNK_STATE_FAILED)
                l->failed++;
              else
                l->cancelled++;
              break;
            default:
              l->problem = g_strdup_printf ("thunkAwait reported state %d", cont->state);
            }
          l->reported++;
          g_ptr_array_remove_index (ids, at);
          g_array_remove_index (expected, at);
        }
    }
  return NULL;
}

static gint watchdog_stop;

/* Cancels the wait for the server's exit after 2 × CAP_US. */
static gpointer
watchdog_run (gpointer data)
{
  gint64 give_up = g_get_monotonic_time () + 2 * CAP_US;

  while (!g_atomic_int_get (&watchdog_stop))
    {
      if (g_get_monotonic_time () > give_up)
        {
          g_cancellable_cancel (data);
          break;
        }
      g_usleep (50 * 1000);
    }
  return NULL;
}

/* Waits for the server to exit, at most 2 × CAP_US. */
static void
wait_exit (TestServer *server)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  GThread *watchdog;

  g_atomic_int_set (&watchdog_stop, 0);
  watchdog = g_thread_new ("watchdog", watchdog_run, cancellable);
  if (!g_subprocess_wait (server->process, cancellable, &error))
    g_error ("the server did not exit within %d s of SIGTERM: %s",
             (int) (2 * CAP_US / G_USEC_PER_SEC), error->message);
  g_atomic_int_set (&watchdog_stop, 1);
  g_thread_join (watchdog);
}

/* Submits on @w until the server, which was sent SIGTERM, refuses: the
 * refusal must be Overloaded "shutting down", not a dropped connection;
 * a batch is refused the same way, and a new connection is refused. */
static void
assert_draining_refuses (TestServer *server,
                         Wire       *w)
{
  gint64 give_up = g_get_monotonic_time () + CAP_US;
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(+ 1 2)", 0);
  g_autoptr(GPtrArray) requests = g_ptr_array_new ();
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  GObject *exc[3] = { NULL, };
  g_autoptr(GError) error = NULL;
  WireFailure failure = { 0, };
  struct sockaddr_in addr = { 0, };
  int fd;

  for (;;)
    {
      g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, &failure);

      if (thunk == NULL)
        break;
      /* accepted: the signal is not handled yet */
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_usleep (5 * 1000);
    }
  g_assert_no_error (failure.error);
  g_assert_true (failure.type == RTHUNK_WIRE_TYPE_OVERLOADED);
  g_assert_cmpint (failure.code, ==, RTHUNK_ERROR_OVERLOADED);
  g_assert_nonnull (strstr (failure.message, "shutting down"));
  wire_failure_clear (&failure);

  g_ptr_array_add (requests, request);
  g_assert_false (rthunk_wire_remote_execution_service_if_submit_batch (
                    w->stub, &thunks, requests, w->auth,
                    (RthunkWireInvalidRequest **) &exc[0], (RthunkWireOverloaded **) &exc[1],
                    (RthunkWireNotAuthorized **) &exc[2], &error));
  g_clear_error (&error);     /* the generated client also reports the exception here */
  g_assert_null (exc[0]);
  g_assert_null (exc[2]);
  g_assert_nonnull (exc[1]);
  g_assert_nonnull (strstr (((RthunkWireOverloaded *) exc[1])->message, "shutting down"));
  g_object_unref (exc[1]);

  /* the listening socket is closed before submissions are refused */
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_port = htons (server->port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), <, 0);
  close (fd);
}

static void
test_sigterm_under_load (void)
{
  const char *args[] = { "--workers", "2", "--deadline-ms", "60000", "--drain-timeout-ms", "3000", NULL };
  TestServer *server = test_server_start ("faults-sigterm", args);
  g_autoptr(Wire) prober = wire_open (server, 120000);
  Loader loaders[N_SIGTERM_CLIENTS];
  GThread *threads[N_SIGTERM_CLIENTS];
  gint64 give_up = g_get_monotonic_time () + CAP_US;
  guint accepted = 0, reported = 0, done = 0, failed = 0, cancelled = 0;

  memset (loaders, 0, sizeof loaders);
  for (guint k = 0; k < N_SIGTERM_CLIENTS; k++)
    {
      loaders[k].server = server;
      loaders[k].index = k;
      threads[k] = g_thread_new ("loader", loader_run, &loaders[k]);
    }
  for (guint k = 0; k < N_SIGTERM_CLIENTS; k++)
    while (!g_atomic_int_get (&loaders[k].ready))
      {
        g_assert_cmpint (g_get_monotonic_time (), <, give_up);
        g_usleep (10 * 1000);
      }
  /* each is blocked waiting for the server's answer to thunkAwait */
  for (guint k = 0; k < N_SIGTERM_CLIENTS; k++)
    {
      g_assert_null (loaders[k].problem);
      test_thread_wait_blocked_reading (g_atomic_int_get (&loaders[k].tid), CAP_US);
    }
  /* N_SIGTERM_CLIENTS × N_QUEUED × 100 ms on two workers are still
   * queued: more than the drain timeout lets run */
  g_subprocess_send_signal (server->process, SIGTERM);
  assert_draining_refuses (server, prober);
  wait_exit (server);
  g_assert_true (g_subprocess_get_if_exited (server->process));
  g_assert_cmpint (g_subprocess_get_exit_status (server->process), ==, 0);
  test_server_untrack (server);

  for (guint k = 0; k < N_SIGTERM_CLIENTS; k++)
    {
      Loader *l = &loaders[k];

      g_thread_join (threads[k]);
      if (l->problem != NULL)
        g_error ("client %u: %s", k, l->problem);
      g_test_message ("client %u: %u accepted, %u reported (%u done, %u failed, %u cancelled)%s%s",
                      k, l->accepted, l->reported, l->done, l->failed, l->cancelled,
                      l->error != NULL ? "; then: " : "", l->error != NULL ? l->error->message : "");
      g_assert_cmpuint (l->accepted, ==, N_QUEUED);
      /* every accepted thunk was reported finished to its client, which
       * was awaiting it when the signal came: no connection error */
      g_assert_no_error (l->error);
      g_assert_cmpuint (l->reported, ==, l->accepted);
      g_assert_cmpuint (l->failed, ==, 0);
      accepted += l->accepted;
      reported += l->reported;
      done += l->done;
      failed += l->failed;
      cancelled += l->cancelled;
      g_clear_error (&l->error);
    }
  g_test_message ("SIGTERM: %u accepted: %u done, %u failed, %u cancelled before exit",
                  accepted, done, failed, cancelled);
  /* 16 s of work, 3 s of drain: some finished, the rest were cancelled */
  g_assert_cmpuint (done, >, 0);
  g_assert_cmpuint (cancelled, >, 0);
  g_assert_cmpuint (done + cancelled, ==, N_SIGTERM_CLIENTS * N_QUEUED);
  g_object_unref (server->process);
  g_free (server->address);
  g_free (server);
}

static void
test_sigterm_twice (void)
{
  g_autofree char *dir = g_dir_make_tmp ("rthunk-faults-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (dir, "rthunkd.conf", NULL);
  const char *args[] = { "--workers", "2", "--config", config, NULL };
  TestServer *server;
  g_autoptr(Wire) w = NULL;
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(delay 600000 7)", 0);
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  WireFailure failure = { 0, };

  g_assert_nonnull (dir);
  g_assert_true (g_file_set_contents (config, "[server]\ndrain-timeout-ms=600000\n", -1, NULL));
  server = test_server_start ("faults-sigterm-twice", args);
  w = wire_open (server, 120000);
  thunk = wire_submit (w, request, &failure);
  g_assert_nonnull (thunk);

  g_subprocess_send_signal (server->process, SIGTERM);
  assert_draining_refuses (server, w);
  /* past the default drain timeout and its grace: still draining */
  g_usleep (8 * G_USEC_PER_SEC);
  cont = wire_get (w, thunk->id, &failure);
  g_assert_no_error (failure.error);
  g_assert_nonnull (cont);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_RUNNING);

  g_subprocess_send_signal (server->process, SIGTERM);
  wait_exit (server);
  g_assert_true (g_subprocess_get_if_exited (server->process));
  g_assert_cmpint (g_subprocess_get_exit_status (server->process), ==, 128 + SIGTERM);
  test_server_untrack (server);
  g_object_unref (server->process);
  g_free (server->address);
  g_free (server);
  g_unlink (config);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  rthunk_wire_ensure_types ();

  g_test_add_func ("/faults/kill9-while-awaiting", test_kill9_while_awaiting);
  g_test_add_func ("/faults/restart-unknown-id", test_restart_unknown_id);
  g_test_add_func ("/faults/sigterm-under-load", test_sigterm_under_load);
  g_test_add_func ("/faults/sigterm-twice", test_sigterm_twice);
  return g_test_run ();
}
