/* test-tls.c — TLS on every connection, against real rthunkd processes
 *
 * The certificates are made for each run by tests/make-tls-certs.sh: a test
 * CA, a server certificate for 127.0.0.1 (an IP SAN), a client certificate,
 * and an untrusted CA with a server certificate of its own. A tap (a TCP
 * proxy in this process) records every byte between client and server, to
 * show that the token is not on the wire in clear when TLS is on, and is
 * without it.
 */
#include "config.h"

#include <poll.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rthunk.h"
#include "testutil.h"

#define TOKEN "tls-test-token-7f3a9c"
#define REFUSAL_CAP_US (20 * G_USEC_PER_SEC)

static char *cert_dir;

static char *
cert (const char *name)
{
  return g_build_filename (cert_dir, name, NULL);
}

static void
make_certs (void)
{
  g_autofree char *script = g_build_filename (g_getenv ("RTHUNK_TOP_SRCDIR"), "tests", "make-tls-certs.sh", NULL);
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", script, cert_dir, NULL };
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* rthunkd with --tls-cert/--tls-key from the test CA, and @extra. */
static TestServer *
start_tls_server (const char *name,
                  const char *const *extra)
{
  g_autofree char *pem = cert ("server.pem");
  g_autofree char *key = cert ("server.key");
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (gpointer) "--tls-cert");
  g_ptr_array_add (args, pem);
  g_ptr_array_add (args, (gpointer) "--tls-key");
  g_ptr_array_add (args, key);
  for (guint k = 0; extra != NULL && extra[k] != NULL; k++)
    g_ptr_array_add (args, (gpointer) extra[k]);
  g_ptr_array_add (args, NULL);
  return test_server_start (name, (const char *const *) args->pdata);
}

static RthunkClient *
tls_client (const char *address,
            const char *ca,
            const char *client_cert)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (address);
  g_autofree char *ca_file = cert (ca);
  g_autofree char *cert_file = client_cert != NULL ? g_strdup_printf ("%s/%s.pem", cert_dir, client_cert) : NULL;
  g_autofree char *key_file = client_cert != NULL ? g_strdup_printf ("%s/%s.key", cert_dir, client_cert) : NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_client_set_tls (client, ca_file, cert_file, key_file, &error));
  g_assert_no_error (error);
  g_assert_true (rthunk_client_get_tls (client));
  return g_steal_pointer (&client);
}

/* (+ 40 2) on @client: its value, or -1 with @error set. */
static gint64
add_remote (RthunkClient  *client,
            GError       **error)
{
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 40 2)");
  g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, NULL, error);
  g_autoptr(RthunkValue) forced = value != NULL ? rthunk_value_force (value, error) : NULL;

  return forced != NULL ? rthunk_value_get_int (forced) : -1;
}

/* Connecting @client fails, promptly, with an error whose message holds
 * @says (any, when NULL: the server may cut the session before or
 * after the client saw its alert). */
static void
assert_refused (RthunkClient *client,
                const char   *says)
{
  g_autoptr(GError) error = NULL;
  gint64 started = g_get_monotonic_time ();
  gboolean ok = rthunk_client_connect (client, &error) && add_remote (client, &error) == 42;

  g_assert_false (ok);
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  g_assert_true (says == NULL || strstr (error->message, says) != NULL);
  g_assert_cmpint (g_get_monotonic_time () - started, <, REFUSAL_CAP_US);
}

/* ---- a tap: a TCP proxy that keeps every byte ------------------------------ */

typedef struct
{
  int listen_fd;
  guint16 port;
  guint16 server_port;
  GMutex lock;
  GByteArray *seen;             /* (lock) both directions, as they passed */
  GThread *thread;
} Tap;

static void
relay (Tap *tap,
       int  client_fd,
       int  server_fd)
{
  struct pollfd p[2] = { { client_fd, POLLIN, 0 }, { server_fd, POLLIN, 0 } };

  while (poll (p, 2, -1) > 0)
    for (guint k = 0; k < 2; k++)
      if (p[k].revents != 0)
        {
          guint8 buf[16384];
          gssize n = read (p[k].fd, buf, sizeof buf);

          if (n <= 0 || write (p[1 - k].fd, buf, (gsize) n) != n)
            return;
          g_mutex_lock (&tap->lock);
          g_byte_array_append (tap->seen, buf, (guint) n);
          g_mutex_unlock (&tap->lock);
        }
}

static gpointer
tap_connection (gpointer data)
{
  Tap *tap = ((gpointer *) data)[0];
  int client_fd = GPOINTER_TO_INT (((gpointer *) data)[1]);
  TestServer target = { NULL, tap->server_port, NULL };
  int server_fd = test_server_connect (&target);

  relay (tap, client_fd, server_fd);
  close (client_fd);
  close (server_fd);
  g_free (data);
  return NULL;
}

static gpointer
tap_accept (gpointer data)
{
  Tap *tap = data;
  int fd;

  while ((fd = accept (tap->listen_fd, NULL, NULL)) >= 0)
    {
      gpointer *pair = g_new (gpointer, 2);

      pair[0] = tap;
      pair[1] = GINT_TO_POINTER (fd);
      g_thread_unref (g_thread_new ("tap", tap_connection, pair));
    }
  return NULL;
}

static Tap *
tap_start (guint16 server_port)
{
  Tap *tap = g_new0 (Tap, 1);
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;

  tap->server_port = server_port;
  tap->seen = g_byte_array_new ();
  g_mutex_init (&tap->lock);
  tap->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (tap->listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (tap->listen_fd, 16), ==, 0);
  g_assert_cmpint (getsockname (tap->listen_fd, (struct sockaddr *) &addr, &len), ==, 0);
  tap->port = ntohs (addr.sin_port);
  tap->thread = g_thread_new ("tap-accept", tap_accept, tap);
  return tap;
}

static gboolean
tap_saw (Tap        *tap,
         const char *text)
{
  gboolean saw;

  g_mutex_lock (&tap->lock);
  saw = memmem (tap->seen->data, tap->seen->len, text, strlen (text)) != NULL;
  g_mutex_unlock (&tap->lock);
  return saw;
}

/* The tap's threads are left to the process's end: they hold only
 * loopback sockets. */
static void
tap_stop (Tap *tap)
{
  shutdown (tap->listen_fd, SHUT_RDWR);
  g_thread_join (tap->thread);
  close (tap->listen_fd);
}

/* ---- cases ------------------------------------------------------------------ */

static void
test_answers (void)
{
  TestServer *server = start_tls_server ("tls-answers", NULL);
  g_autoptr(RthunkClient) client = tls_client (server->address, "ca.pem", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_cmpint (add_remote (client, &error), ==, 42);
  g_assert_no_error (error);
  g_assert_true (rthunk_client_ping (client, &error));
  g_clear_object (&client);
  test_server_stop (server);
}

static void
test_plain_client_refused (void)
{
  TestServer *server = start_tls_server ("tls-plain", NULL);
  g_autoptr(RthunkClient) client = rthunk_client_new (server->address);

  assert_refused (client, "connection closed by the peer");
  g_clear_object (&client);
  test_server_stop (server);
}

static void
test_wrong_ca (void)
{
  TestServer *server = start_tls_server ("tls-wrong-ca", NULL);
  g_autoptr(RthunkClient) client = tls_client (server->address, "other-ca.pem", NULL);

  assert_refused (client, "not signed by a trusted certificate authority");
  g_clear_object (&client);
  test_server_stop (server);
}

static void
test_mutual_needs_certificate (void)
{
  g_autofree char *client_ca = cert ("ca.pem");
  const char *extra[] = { "--tls-client-ca", client_ca, NULL };
  TestServer *server = start_tls_server ("tls-mutual", extra);
  g_autoptr(RthunkClient) anonymous = tls_client (server->address, "ca.pem", NULL);
  g_autoptr(RthunkClient) stranger = tls_client (server->address, "ca.pem", "other");
  g_autoptr(RthunkClient) known = tls_client (server->address, "ca.pem", "client");
  g_autoptr(GError) error = NULL;

  assert_refused (anonymous, NULL);
  assert_refused (stranger, NULL);
  g_assert_true (rthunk_client_connect (known, &error));
  g_assert_no_error (error);
  g_assert_cmpint (add_remote (known, &error), ==, 42);
  g_assert_no_error (error);
  g_clear_object (&anonymous);
  g_clear_object (&stranger);
  g_clear_object (&known);
  test_server_stop (server);
}

/* Runs (+ 40 2) with the token through a tap in front of @server; whether
 * the tap saw the token. */
static gboolean
token_seen_on_wire (TestServer *server,
                    gboolean    tls)
{
  Tap *tap = tap_start (server->port);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", tap->port);
  g_autoptr(RthunkClient) client = tls ? tls_client (address, "ca.pem", NULL) : rthunk_client_new (address);
  g_autoptr(GError) error = NULL;
  gboolean seen;

  rthunk_client_set_token (client, TOKEN);
  g_assert_cmpint (add_remote (client, &error), ==, 42);
  g_assert_no_error (error);
  g_clear_object (&client);
  tap_stop (tap);
  seen = tap_saw (tap, TOKEN);
  /* the tap saw the call itself */
  g_assert_cmpuint (tap->seen->len, >, 100);
  return seen;
}

static void
test_token_not_in_clear (void)
{
  g_autofree char *token_file = cert ("token");
  const char *extra[] = { "--token-file", token_file, NULL };
  TestServer *tls_server, *plain_server;

  g_assert_true (g_file_set_contents (token_file, TOKEN "\n", -1, NULL));
  tls_server = start_tls_server ("tls-token", extra);
  plain_server = test_server_start ("plain-token", extra);
  g_assert_false (token_seen_on_wire (tls_server, TRUE));
  /* the tap does see it on a plain connection: it would have seen it */
  g_assert_true (token_seen_on_wire (plain_server, FALSE));
  test_server_stop (tls_server);
  test_server_stop (plain_server);
}

static void
test_shell_tls_ca (void)
{
  TestServer *server = start_tls_server ("tls-shell", NULL);
  g_autofree char *ca = cert ("ca.pem");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  /* remote: (+ 40 2) alone would be evaluated by the shell itself */
  const char *argv[] = { g_getenv ("RTHUNK"), "--server", server->address, "--tls-ca", ca,
                         "-e", "(await (remote (+ 40 2)))", NULL };
  const char *plain_argv[] = { g_getenv ("RTHUNK"), "--server", server->address,
                               "-e", "(await (remote (+ 40 2)))", NULL };
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("shell: %s %s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (g_strstrip (out), ==, "42");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_spawn_sync (NULL, (char **) plain_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_test_message ("plain shell: %s %s", out, err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  /* the plain shell could not reach the TLS server: it says it is down */
  g_assert_nonnull (strstr (err, "is down"));
  test_server_stop (server);
}

/* LeakSanitizer's tracer crashes at exit in a process that loaded GnuTLS
 * (see main()): this test program, which is such a process, turns the
 * leak check off for itself. LeakSanitizer asks this function. */
int __lsan_is_turned_off (void);

int
__lsan_is_turned_off (void)
{
  return 1;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* In the sanitizer build, LeakSanitizer's tracer crashed at exit in a
   * server that had loaded GnuTLS ("Tracer caught signal 11 … LeakSanitizer
   * has encountered a fatal error"): a fault of the tracer, not a leak.
   * The TLS servers run without the leak check; every other test keeps it. */
  if (g_getenv ("RTHUNK_ASAN_RUNTIME") != NULL)
    g_setenv ("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", TRUE);
  cert_dir = g_dir_make_tmp ("rthunk-tls-XXXXXX", &error);
  g_assert_no_error (error);
  make_certs ();
  g_test_add_func ("/tls/client/answers", test_answers);
  g_test_add_func ("/tls/client/plain-refused", test_plain_client_refused);
  g_test_add_func ("/tls/client/wrong-ca", test_wrong_ca);
  g_test_add_func ("/tls/mutual/needs-certificate", test_mutual_needs_certificate);
  g_test_add_func ("/tls/token/not-in-clear", test_token_not_in_clear);
  g_test_add_func ("/tls/shell/tls-ca", test_shell_tls_ca);
  status = g_test_run ();
  {
    const char *rm[] = { "rm", "-rf", cert_dir, NULL };

    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
  return status;
}
