/* testutil.h — shared by the integration tests: real rthunkd processes on
 * free loopback ports. */
#pragma once

#include <gio/gio.h>

#include "rthunk.h"

typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *address;         /* 127.0.0.1:PORT */
  GPid pid;              /* kept past its exit, for test_server_untrack() */
} TestServer;

/* Starts $RTHUNKD --port 0 --name NAME EXTRA… and waits for its
 * "listening on" line. Aborts the test on failure. */
TestServer *test_server_start    (const char        *name,
                                  const char *const *extra_args);
/* The same for another provider: PROGRAM --port 0 --name NAME EXTRA… */
TestServer *test_server_start_program (const char        *program,
                                       const char        *name,
                                       const char *const *extra_args);
/* SIGTERM, then waits; asserts a clean exit. */
void        test_server_stop     (TestServer        *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_stop)
/* Forgets @server for the kill on a failed test (a failed test SIGKILLs
 * every server still tracked): for a test that stops it itself (a
 * signal of its own, then g_subprocess_wait()). */
void        test_server_untrack  (TestServer        *server);
/* Resident set size of the server, in KiB. */
gsize       test_server_rss_kb   (TestServer        *server);
/* Whether the process is still running. */
gboolean    test_server_alive    (TestServer        *server);
/* A connected loopback TCP socket to the server (blocking, 5 s timeouts). */
int         test_server_connect  (TestServer        *server);
/* Starts ARGV as given (ARGV[0] is the program; nothing is added, so the
 * caller passes --port and --name, or a --config that sets them) and waits
 * for its "listening on" line. Aborts the test on failure. Every start
 * goes through here. */
TestServer *test_server_start_argv (const char *const *argv);
/* The same, but its standard output stays an open pipe that nobody reads
 * after that line (test_server_start_argv() closes its end, so the
 * server's writes fail at once instead of filling the pipe). */
TestServer *test_server_start_argv_unread (const char *const *argv);
/* The process id of the server. */
GPid        test_server_pid      (TestServer        *server);
/* The one form TEXT holds, read; asserts it reads. */
RthunkNode *test_parse_one (const char *text);
/* SIGKILL, then reaps it and frees @server. */
void        test_server_kill     (TestServer        *server);
/* A loopback port nothing listens on (bound, then closed again). */
guint16     test_unused_port     (void);
/* The id of the calling thread, for test_thread_wait_blocked_*. */
pid_t       test_thread_id       (void);
/* Waits until the thread @tid of this process is blocked in a system call
 * that waits for input (read, recv, poll; /proc/self/task/TID/syscall):
 * e.g. a client waiting for a server's answer. Aborts the test after
 * @cap_us. */
void        test_thread_wait_blocked_reading (pid_t  tid,
                                              gint64 cap_us);
/* The same for a futex: a mutex, or a condition (g_cond_wait). */
void        test_thread_wait_blocked_on_lock (pid_t  tid,
                                              gint64 cap_us);
/* A counter of the getServerInfo of the server at @address (submitted,
 * types-provided, …); asserts it answers. */
gint64       test_server_counter (const char     *address,
                                  const char     *name);
/* The value of @text (source "<test>") evaluated by @session, once the
 * session settled it (a minute at most); NULL with @error set. */
RthunkValue *test_session_eval   (RthunkSession  *session,
                                  const char     *text,
                                  GError        **error);
