/* fuzz-connection.c — libFuzzer target: one whole rthunkd connection
 *
 * Each input is the byte stream a client sends on one connection: frames
 * one after another (each a 4-byte length and a body), possibly
 * malformed, truncated or oversized. It is written into one end of a
 * socketpair, whose other end is served by the server core's own
 * per-connection loop (rthunk_server_serve_transport(): frame receive,
 * the call check, the fast path, and the generated processor for every
 * other call), with a real server state over the standard catalog and
 * small limits (frames, AST nodes, fuel, deadline), so that no input runs
 * long. A thread of the client's side writes the input, then reads and
 * keeps what the server answers until the server hangs up, so the server
 * never blocks on a full socket.
 *
 * Nothing may crash, leak, hang (the loop must end when the input does)
 * or log a warning or a critical, and every frame the server sends must
 * be a valid message.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-connection CRASH-FILE        (replays one input)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-handler.h"
#include "rthunk-server-private.h"
#include "rthunk-wire.h"
#include "fuzz-log.h"

#define FUZZ_MAX_INPUT_BYTES (256 * 1024)
/* what the client's side keeps of the replies, to check them */
#define FUZZ_MAX_REPLY_BYTES (4 * 1024 * 1024)

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

static RthunkServerLimits limits;
static RthunkServerState *state;
static ThriftProcessor *processor;

/* At exit the pool's workers may still be in a thunk: let them finish and
 * free everything before the leak check looks. */
static void
free_server (void)
{
  g_clear_object (&processor);
  g_clear_pointer (&state, rthunk_server_state_free);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(RthunkHandler) handler = NULL;

  g_setenv ("G_SLICE", "always-malloc", TRUE);
  signal (SIGPIPE, SIG_IGN);
  fuzz_abort_on_warnings_quietly ();   /* a dropped connection is a message */
  rthunk_wire_ensure_types ();
  catalog = rthunk_stdlib_new_catalog ();
  rthunk_server_limits_init (&limits);
  limits.max_frame_bytes = 64 * 1024;
  limits.io_timeout_ms = 1000;
  limits.workers = 1;
  limits.max_queued = 1000;
  limits.max_thunks = 2000;
  limits.thunk_ttl_ms = 1000;
  limits.fuel = 5000;
  limits.deadline_ms = 100;
  limits.max_ast_nodes = 2000;
  limits.max_eval_bytes = 1024 * 1024;    /* results are kept: keep them small */
  limits.inline_budget_ms = 1;
  limits.cache_entries = 1000;
  limits.cache_bytes = 1024 * 1024;
  limits.max_definitions = 1000;
  limits.definitions_bytes = 1024 * 1024;
  state = rthunk_server_state_new (catalog, "fuzz", &limits);
  handler = rthunk_handler_new (state);
  processor = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_PROCESSOR,
                            "handler", handler, NULL);
  atexit (free_server);
  return 0;
}

/* The client's side of the connection. */
typedef struct
{
  int fd;
  const guint8 *data;
  gsize size;
  GByteArray *replies;          /* what the server sent, up to FUZZ_MAX_REPLY_BYTES */
  gboolean replies_cut;
} Peer;

/* Writes the input, then reads until the server hangs up; one poll loop,
 * so that neither side blocks on a full socket. */
static gpointer
peer_run (gpointer data)
{
  Peer *peer = data;
  gsize sent = 0;
  guint8 buf[16384];

  if (peer->size == 0)
    shutdown (peer->fd, SHUT_WR);
  for (;;)
    {
      struct pollfd p = { peer->fd, POLLIN | (sent < peer->size ? POLLOUT : 0), 0 };
      ssize_t n;

      if (poll (&p, 1, -1) < 0)
        {
          g_assert (errno == EINTR);
          continue;
        }
      if ((p.revents & POLLOUT) && sent < peer->size)
        {
          n = send (peer->fd, peer->data + sent, peer->size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n < 0 && errno != EAGAIN && errno != EINTR)
            sent = peer->size;          /* the server hung up: keep reading */
          else if (n > 0)
            sent += (gsize) n;
          if (sent == peer->size)
            shutdown (peer->fd, SHUT_WR);
        }
      if (p.revents & (POLLIN | POLLHUP | POLLERR))
        {
          n = recv (peer->fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
          if (n > 0 && peer->replies->len + (gsize) n <= FUZZ_MAX_REPLY_BYTES)
            g_byte_array_append (peer->replies, buf, (guint) n);
          else if (n > 0)
            peer->replies_cut = TRUE;
        }
    }
  close (peer->fd);
  return NULL;
}

/* Every frame the server sent is one valid message; only the last one
 * may be cut short, when the replies were too many to keep. */
static void
check_replies (const Peer *peer)
{
  const guint8 *p = peer->replies->data;
  gsize left = peer->replies->len;

  while (left >= 4)
    {
      g_autoptr(GError) error = NULL;
      guint32 len;

      memcpy (&len, p, 4);
      len = GUINT32_FROM_BE (len);

      if (len > left - 4)
        break;
      if (!rthunk_frame_validate (p + 4, len, RTHUNK_FRAME_MAX_DEPTH, &error))
        g_error ("the server sent an invalid message: %s", error->message);
      p += 4 + len;
      left -= 4 + len;
    }
  if (left > 0 && !peer->replies_cut)
    g_error ("the server sent %" G_GSIZE_FORMAT " bytes that are no whole frame", left);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GByteArray) replies = NULL;
  g_autoptr(RthunkFrameTransport) transport = NULL;
  Peer peer = { -1, data, size, NULL, FALSE };
  GThread *thread;
  int sv[2];

  if (size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  replies = peer.replies = g_byte_array_new ();
  peer.fd = sv[1];
  thread = g_thread_new ("fuzz-client", peer_run, &peer);
  transport = rthunk_server_transport_new (sv[0], &limits);
  rthunk_server_serve_transport (state, processor, transport);
  g_clear_object (&transport);    /* closes sv[0]: the client's side reads its end */
  g_thread_join (thread);
  check_replies (&peer);
  return 0;
}
