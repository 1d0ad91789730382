/* testutil.c — real rthunkd processes on free loopback ports */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "rthunk.h"
#include "testutil.h"

/* An rthunkd named @name with @extra_args; its results and definitions
 * stay in its memory (--store memory) unless @extra_args names a store:
 * two tests, or two cases, never share what they computed. */
TestServer *
test_server_start (const char        *name,
                   const char *const *extra_args)
{
  const char *rthunkd = g_getenv ("RTHUNKD");
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  gboolean store_given = FALSE;

  g_assert_nonnull (rthunkd);
  for (guint k = 0; extra_args != NULL && extra_args[k] != NULL; k++)
    {
      store_given = store_given || g_str_has_prefix (extra_args[k], "--store");
      g_ptr_array_add (args, (gpointer) extra_args[k]);
    }
  if (!store_given)
    {
      g_ptr_array_add (args, (gpointer) "--store");
      g_ptr_array_add (args, (gpointer) "memory");
    }
  g_ptr_array_add (args, NULL);
  return test_server_start_program (rthunkd, name, (const char *const *) args->pdata);
}

TestServer *
test_server_start_program (const char        *program,
                           const char        *name,
                           const char *const *extra_args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_assert_nonnull (program);
  g_ptr_array_add (argv, (gpointer) program);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, (gpointer) "0");
  g_ptr_array_add (argv, (gpointer) "--name");
  g_ptr_array_add (argv, (gpointer) name);
  for (guint k = 0; extra_args != NULL && extra_args[k] != NULL; k++)
    g_ptr_array_add (argv, (gpointer) extra_args[k]);
  g_ptr_array_add (argv, NULL);
  return test_server_start_argv ((const char *const *) argv->pdata);
}

/* ---- servers that do not outlive a failed test ------------------------------ */

/* The servers started and not yet stopped, by process id (0: a free
 * slot): what kill_tracked_on_abort() kills. */
static GPid tracked_pids[64];
G_LOCK_DEFINE_STATIC (tracked);

static void
kill_tracked_on_abort (int sig)
{
  for (guint k = 0; k < G_N_ELEMENTS (tracked_pids); k++)
    if (tracked_pids[k] > 0)
      kill (tracked_pids[k], SIGKILL);
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
track (TestServer *server)
{
  static gsize installed;

  /* a failed test (SIGABRT, SIGTRAP) SIGKILLs every server started here
   * and not yet stopped or killed, so that none outlives it */
  if (g_once_init_enter (&installed))
    {
      signal (SIGABRT, kill_tracked_on_abort);
      signal (SIGTRAP, kill_tracked_on_abort);  /* g_error() */
      g_once_init_leave (&installed, 1);
    }
  server->pid = test_server_pid (server);
  G_LOCK (tracked);
  for (guint k = 0; k < G_N_ELEMENTS (tracked_pids); k++)
    if (tracked_pids[k] == 0)
      {
        tracked_pids[k] = server->pid;
        G_UNLOCK (tracked);
        return;
      }
  G_UNLOCK (tracked);
  g_error ("too many servers at once");
}

void
test_server_untrack (TestServer *server)
{
  G_LOCK (tracked);
  for (guint k = 0; k < G_N_ELEMENTS (tracked_pids); k++)
    if (server->pid > 0 && tracked_pids[k] == server->pid)
      tracked_pids[k] = 0;
  G_UNLOCK (tracked);
}

static void
server_free (TestServer *server)
{
  g_object_unref (server->process);
  g_free (server->address);
  g_free (server);
}

void
test_server_stop (TestServer *server)
{
  g_autoptr(GError) error = NULL;

  test_server_untrack (server);
  g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (server->process));
  g_assert_cmpint (g_subprocess_get_exit_status (server->process), ==, 0);
  server_free (server);
}

gboolean
test_server_alive (TestServer *server)
{
  const char *id = g_subprocess_get_identifier (server->process);

  return id != NULL && kill ((pid_t) g_ascii_strtoll (id, NULL, 10), 0) == 0;
}

gsize
test_server_rss_kb (TestServer *server)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status",
                                           g_subprocess_get_identifier (server->process));
  g_autofree char *status = NULL;
  const char *rss;

  g_assert_true (g_file_get_contents (path, &status, NULL, NULL));
  rss = strstr (status, "VmRSS:");
  g_assert_nonnull (rss);
  return g_ascii_strtoull (rss + strlen ("VmRSS:"), NULL, 10);
}

/* A TCP socket, and the loopback address with @port. */
static int
loopback_socket (struct sockaddr_in *addr,
                 guint16             port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  memset (addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_port = htons (port);
  addr->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  return fd;
}

int
test_server_connect (TestServer *server)
{
  struct sockaddr_in addr;
  struct timeval tv = { 5, 0 };
  int fd = loopback_socket (&addr, server->port);

  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

/* Starts @argv and reads its "listening on" line; with @keep_stdout, its
 * standard output stays an open pipe that nobody reads after that line. */
static TestServer *
start_argv (const char *const *argv,
            gboolean           keep_stdout)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  TestServer *server = g_new0 (TestServer, 1);
  const char *colon;

  g_assert_nonnull (argv);
  g_assert_nonnull (argv[0]);
  server->process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  track (server);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), !keep_stdout);
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "listening on"));
  colon = strrchr (line, ':');
  g_assert_nonnull (colon);
  server->port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
  g_assert_cmpuint (server->port, >, 0);
  server->address = g_strdup_printf ("127.0.0.1:%u", server->port);
  return server;
}

TestServer *
test_server_start_argv (const char *const *argv)
{
  return start_argv (argv, FALSE);
}

TestServer *
test_server_start_argv_unread (const char *const *argv)
{
  return start_argv (argv, TRUE);
}

GPid
test_server_pid (TestServer *server)
{
  const char *id = g_subprocess_get_identifier (server->process);

  g_assert_nonnull (id);
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

void
test_server_kill (TestServer *server)
{
  g_autoptr(GError) error = NULL;

  test_server_untrack (server);
  g_subprocess_send_signal (server->process, SIGKILL);
  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  server_free (server);
}

guint16
test_unused_port (void)
{
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  int fd = loopback_socket (&addr, 0);

  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

RthunkNode *
test_parse_one (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<test>", text, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (forms->len, ==, 1);
  return rthunk_node_ref (g_ptr_array_index (forms, 0));
}

pid_t
test_thread_id (void)
{
  return (pid_t) syscall (SYS_gettid);
}

static gboolean
waits_for_input (long nr)
{
  return nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom || nr == SYS_recvmsg ||
#ifdef SYS_poll
         nr == SYS_poll ||
#endif
#ifdef SYS_select
         nr == SYS_select ||
#endif
         nr == SYS_ppoll || nr == SYS_pselect6;
}

static gboolean
waits_on_futex (long nr)
{
  return nr == SYS_futex
#ifdef SYS_futex_time64
         || nr == SYS_futex_time64
#endif
         ;
}

/* Waits until /proc/self/task/TID/syscall names a call @blocked accepts:
 * the file holds "running", or the number of the call the thread is
 * blocked in, then its arguments. */
static void
wait_blocked (pid_t        tid,
              gboolean   (*blocked) (long nr),
              const char  *what,
              gint64       cap_us)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/syscall", (int) tid);
  gint64 give_up = g_get_monotonic_time () + cap_us;

  for (;;)
    {
      g_autofree char *text = NULL;
      char *end = NULL;
      long nr;

      if (!g_file_get_contents (path, &text, NULL, NULL))
        g_error ("cannot read %s", path);
      nr = strtol (text, &end, 10);
      if (end != text && blocked (nr))
        return;
      if (g_get_monotonic_time () > give_up)
        g_error ("thread %d was not blocked %s within %d s (%s)", (int) tid, what,
                 (int) (cap_us / G_USEC_PER_SEC), g_strstrip (text));
      g_usleep (1000);
    }
}

void
test_thread_wait_blocked_reading (pid_t  tid,
                                  gint64 cap_us)
{
  wait_blocked (tid, waits_for_input, "reading", cap_us);
}

void
test_thread_wait_blocked_on_lock (pid_t  tid,
                                  gint64 cap_us)
{
  wait_blocked (tid, waits_on_futex, "on a lock or condition", cap_us);
}

gint64
test_server_counter (const char *address,
                     const char *name)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (address);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) info = rthunk_client_get_server_info (client, &error);
  g_autoptr(GVariant) counters = NULL;
  gint64 value = -1;

  g_assert_no_error (error);
  counters = g_variant_lookup_value (info, "counters", G_VARIANT_TYPE ("a{sx}"));
  g_assert_true (g_variant_lookup (counters, name, "x", &value));
  return value;
}

RthunkValue *
test_session_eval (RthunkSession  *session,
                   const char     *text,
                   GError        **error)
{
  g_autoptr(RthunkValue) value = rthunk_session_eval (session, text, "<test>", error);

  if (value == NULL || !rthunk_session_wait_all (session, 60000, error))
    return NULL;
  return rthunk_value_force (value, error);
}
