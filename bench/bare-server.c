/* bare-server.c — the bare Thrift peer of the RPC benchmarks
 *
 * A minimal Thrift 0.17 c_glib server for bench/bare.thrift: plain
 * accept(2) on 127.0.0.1, one thread per connection, each connection a
 * ThriftSocket under a ThriftFramedTransport with the ThriftBinaryProtocol
 * (the framing and protocol rthunk speaks), TCP_NODELAY set (as rthunkd
 * sets it), one processor shared by every thread. add(a, b) returns a + b. Nothing more: no timeouts, no frame
 * validation, no limits — it is the floor an rthunk call is compared with.
 *
 *   bare-server [--port N]     prints "bare-server listening on 127.0.0.1:PORT"
 *                              on stdout once it accepts, then serves until
 *                              SIGTERM or SIGINT.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_framed_transport.h>
#include <thrift/c_glib/transport/thrift_socket.h>

#include "bench_bare.h"

/* ---- the handler ------------------------------------------------------- */

/* plain structs: G_DECLARE_FINAL_TYPE needs an autoptr cleanup function
 * for the generated parent, which Thrift does not define */
typedef struct
{
  BenchBareHandler parent_instance;
} BareAdder;

typedef struct
{
  BenchBareHandlerClass parent_class;
} BareAdderClass;

static GType bare_adder_get_type (void);
#define BARE_TYPE_ADDER (bare_adder_get_type ())

G_DEFINE_TYPE (BareAdder, bare_adder, BENCH_TYPE_BARE_HANDLER)

static gboolean
bare_adder_add (BenchBareIf  *iface,
                gint64       *_return,
                const gint64  a,
                const gint64  b,
                GError      **error)
{
  *_return = a + b;
  return TRUE;
}

static void
bare_adder_class_init (BareAdderClass *klass)
{
  BENCH_BARE_HANDLER_CLASS (klass)->add = bare_adder_add;
}

static void
bare_adder_init (BareAdder *self)
{
}

/* ---- connections ------------------------------------------------------- */

static ThriftProcessor *processor;

static gpointer
serve_connection (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  ThriftSocket *socket = g_object_new (THRIFT_TYPE_SOCKET, NULL);
  ThriftTransport *transport;
  ThriftProtocol *protocol;

  socket->sd = fd;            /* what ThriftServerSocket's accept does */
  transport = g_object_new (THRIFT_TYPE_FRAMED_TRANSPORT, "transport", socket, NULL);
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  for (;;)
    {
      GError *error = NULL;

      if (!thrift_processor_process (processor, protocol, protocol, &error))
        {
          g_clear_error (&error);
          break;
        }
    }
  thrift_transport_close (THRIFT_TRANSPORT (socket), NULL);
  g_object_unref (protocol);
  g_object_unref (transport);
  g_object_unref (socket);
  return NULL;
}

/* Thrift 0.17 warns "error reading start of message" each time a client
 * hangs up; a benchmark peer has nothing to say. */
static void
drop_log (const char     *domain,
          GLogLevelFlags  level,
          const char     *message,
          gpointer        user_data)
{
}

static void
on_signal (int sig)
{
  _exit (0);
}

int
main (int    argc,
      char **argv)
{
  struct sockaddr_in addr = { 0, };
  socklen_t len = sizeof addr;
  BareAdder *handler;
  int listen_fd, one = 1;
  int port = 0;

  for (int k = 1; k < argc; k++)
    {
      if (strcmp (argv[k], "--port") == 0 && k + 1 < argc)
        port = atoi (argv[++k]);
      else
        {
          fprintf (stderr, "usage: %s [--port N]\n", argv[0]);
          return 2;
        }
    }
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  signal (SIGPIPE, SIG_IGN);
  g_log_set_handler (NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, drop_log, NULL);

  /* the generated get_type functions register without a lock: all of
   * them once, before any thread starts */
  g_type_ensure (bench_bare_add_args_get_type ());
  g_type_ensure (bench_bare_add_result_get_type ());
  g_type_ensure (BARE_TYPE_ADDER);
  g_type_ensure (BENCH_TYPE_BARE_PROCESSOR);
  g_type_ensure (THRIFT_TYPE_SOCKET);
  g_type_ensure (THRIFT_TYPE_FRAMED_TRANSPORT);
  g_type_ensure (THRIFT_TYPE_BINARY_PROTOCOL);

  handler = g_object_new (BARE_TYPE_ADDER, NULL);
  processor = g_object_new (BENCH_TYPE_BARE_PROCESSOR, "handler", handler, NULL);

  listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    {
      perror ("bare-server: socket");
      return 1;
    }
  setsockopt (listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_family = AF_INET;
  addr.sin_port = htons ((guint16) port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (listen_fd, 512) < 0 ||
      getsockname (listen_fd, (struct sockaddr *) &addr, &len) < 0)
    {
      perror ("bare-server: bind");
      return 1;
    }
  printf ("bare-server listening on 127.0.0.1:%u\n", ntohs (addr.sin_port));
  fflush (stdout);

  for (;;)
    {
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      GThread *thread;
      int nodelay = 1;

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          perror ("bare-server: accept");
          return 1;
        }
      /* as rthunkd and every peer in bench/ do: no reply waits for Nagle */
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
      thread = g_thread_new ("bare-conn", serve_connection, GINT_TO_POINTER (fd));
      g_thread_unref (thread);
    }
}
