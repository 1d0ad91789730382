/* test-hostile.c — hostile bytes against a real rthunkd
 *
 * Each case opens a raw loopback socket, sends bytes that Thrift 0.17
 * c_glib alone would crash on, loop on or over-allocate for (see
 * notes/thrift-c_glib.md), and checks that the server closed that
 * connection — recv() gives end of stream or an error, not the 5 s socket
 * timeout. After every case both servers must still be running, answer a
 * normal client call correctly, and have a VmRSS no more than 4 MiB above
 * the baseline taken after a warm-up call. The servers run with
 * G_DEBUG=fatal-warnings: bytes that make one log a warning kill it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <thrift/c_glib/protocol/thrift_protocol.h>

#include "rthunk.h"
#include "rthunk-codec.h"
#include "testutil.h"
#include "testtable.h"

#define MAIN_MAX_FRAME "16000000"
#define SMALL_MAX_FRAME 65536
#define RSS_SLACK_KB 4096    /* RTHUNK_TEST_RSS_SLACK_KB overrides it (valgrind) */
#define RANDOM_SEED 0x5eed1e55u
#define STRICT_CALL (0x80010000u | T_CALL)

typedef enum {
  SERVER_MAIN,      /* --max-frame-bytes 16000000 */
  SERVER_SMALL,     /* --max-frame-bytes 65536 */
  N_SERVERS
} Which;

typedef struct
{
  TestServer *server;
  RthunkClient *persistent;   /* opened at warm-up, reused after each case */
  gsize baseline_kb;
} Target;

static Target targets[N_SERVERS];
static gsize rss_slack_kb = RSS_SLACK_KB;

/* ---- bytes (the codec's writers, rthunk-codec.h, and these) ------------------- */

static void
put_call_header (GByteArray *b,
                 const char *method)
{
  rthunk_codec_put_i32 (b, STRICT_CALL);
  rthunk_codec_put_string (b, method);
  rthunk_codec_put_i32 (b, 1);           /* seqid */
}

/* Puts the 4-byte frame header in front of what @b holds. */
static void
frame (GByteArray *b)
{
  guint32 be = GUINT32_TO_BE (b->len);

  g_byte_array_prepend (b, (const guint8 *) &be, sizeof be);
}

static void
put_random (GByteArray *b,
            gsize       n)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (RANDOM_SEED);

  for (gsize k = 0; k < n; k += 4)
    {
      guint32 word = g_rand_int (rand);

      g_byte_array_append (b, (const guint8 *) &word, (guint) MIN (4, n - k));
    }
}

/* ---- the cases ------------------------------------------------------------- */

static void
build_zero_length (GByteArray *b)
{
  rthunk_codec_put_i32 (b, 0);
}

static void
build_length_2g (GByteArray *b)
{
  rthunk_codec_put_i32 (b, G_MAXINT32);
}

static void
build_negative_length (GByteArray *b)
{
  rthunk_codec_put_i32 (b, 0xffffffffu);
}

/* getFuncDefs ([<a string that claims 2^31-1 bytes>]) in 30-odd bytes */
static void
build_string_length_2g (GByteArray *b)
{
  put_call_header (b, "getFuncDefs");
  rthunk_codec_put_field (b, T_LIST, 1);
  rthunk_codec_put_u8 (b, T_STRING);
  rthunk_codec_put_i32 (b, 1);
  rthunk_codec_put_i32 (b, G_MAXINT32);
  g_byte_array_append (b, (const guint8 *) "abc", 3);
  rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
}

/* the method name itself claims 2^31-1 bytes */
static void
build_name_length_2g (GByteArray *b)
{
  rthunk_codec_put_i32 (b, STRICT_CALL);
  rthunk_codec_put_i32 (b, G_MAXINT32);
  g_byte_array_append (b, (const guint8 *) "getFuncDefs", 11);
  rthunk_codec_put_i32 (b, 1);
  rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
}

/* getFuncDefs whose argument struct opens field 1 of type STRUCT a million
 * times, each closed again: well formed but for its depth (4 MB). */
static void
build_nested_million (GByteArray *b)
{
  const guint levels = 1000000;

  put_call_header (b, "getFuncDefs");
  for (guint k = 0; k < levels; k++)
    rthunk_codec_put_field (b, T_STRUCT, 1);
  for (guint k = 0; k <= levels; k++)
    rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
}

/* the header promises 100 bytes; 10 arrive, then the stream ends */
static void
build_truncated (GByteArray *b)
{
  rthunk_codec_put_i32 (b, 100);
  put_call_header (b, "");
  rthunk_codec_put_u8 (b, T_STOP);
  g_byte_array_set_size (b, 4 + 10);
}

static void
build_random_raw (GByteArray *b)
{
  put_random (b, 64 * 1024);
}

static void
build_random_framed (GByteArray *b)
{
  put_random (b, 64 * 1024);
  frame (b);
}

/* a valid message, then garbage inside the same frame */
static void
build_trailing_garbage (GByteArray *b)
{
  put_call_header (b, "getServerInfo");
  rthunk_codec_put_field (b, T_STRUCT, 1);
  rthunk_codec_put_u8 (b, T_STOP);
  rthunk_codec_put_u8 (b, T_STOP);
  put_random (b, 1000);
  frame (b);
}

/* A call the fast path leaves to Thrift, with a field of an unknown type
 * code: refused before Thrift's processor reads it (which would log a
 * warning, fatal here). fuzz-connection found it. */
static void
build_bad_field_type (GByteArray *b)
{
  put_call_header (b, "getServerInfo");
  rthunk_codec_put_field (b, T_VOID, 1);
  rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
}

/* A well-formed message of a type a server never answers: 30 bytes of a
 * strict REPLY once crashed rthunkd before any token check. */
static void
put_strict_message (GByteArray *b,
                    guint32     type)
{
  rthunk_codec_put_i32 (b, 0x80010000u | type);
  rthunk_codec_put_string (b, "getServerInfo");
  rthunk_codec_put_i32 (b, 1);
  rthunk_codec_put_field (b, T_STRUCT, 0);
  rthunk_codec_put_u8 (b, T_STOP);
  rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
}

static void
build_strict_reply (GByteArray *b)
{
  put_strict_message (b, T_REPLY);
}

static void
build_strict_exception (GByteArray *b)
{
  put_strict_message (b, T_EXCEPTION);
}

static void
build_strict_oneway (GByteArray *b)
{
  put_strict_message (b, T_ONEWAY);
}

/* a plausible getFuncDefs of about 100 KB, above a 64 KiB limit */
static void
build_oversized (GByteArray *b)
{
  g_autofree char *name = g_strnfill (100 * 1024, 'x');

  put_call_header (b, "getFuncDefs");
  rthunk_codec_put_field (b, T_LIST, 1);
  rthunk_codec_put_u8 (b, T_STRING);
  rthunk_codec_put_i32 (b, 1);
  rthunk_codec_put_string (b, name);
  rthunk_codec_put_u8 (b, T_STOP);
  frame (b);
  g_assert_cmpuint (b->len, >, SMALL_MAX_FRAME + 4);
}

typedef struct
{
  const char *path;
  void (*build) (GByteArray *b);
  Which which;
  /* shut our sending side down after the bytes: only where the bytes
   * themselves cannot tell the server that they are wrong */
  gboolean half_close;
} HostileCase;

static const HostileCase hostile_cases[] = {
  { "/hostile/frame/zero-length", build_zero_length, SERVER_MAIN, FALSE },
  { "/hostile/frame/length-2g", build_length_2g, SERVER_MAIN, FALSE },
  { "/hostile/frame/negative-length", build_negative_length, SERVER_MAIN, FALSE },
  { "/hostile/frame/truncated", build_truncated, SERVER_MAIN, TRUE },
  { "/hostile/message/string-length-2g", build_string_length_2g, SERVER_MAIN, FALSE },
  { "/hostile/message/name-length-2g", build_name_length_2g, SERVER_MAIN, FALSE },
  { "/hostile/message/nested-million", build_nested_million, SERVER_MAIN, FALSE },
  { "/hostile/message/trailing-garbage", build_trailing_garbage, SERVER_MAIN, FALSE },
  { "/hostile/message/bad-field-type", build_bad_field_type, SERVER_MAIN, FALSE },
  { "/hostile/random/raw-64k", build_random_raw, SERVER_MAIN, TRUE },
  { "/hostile/random/framed-64k", build_random_framed, SERVER_MAIN, FALSE },
  { "/hostile/message/strict-reply", build_strict_reply, SERVER_MAIN, FALSE },
  { "/hostile/message/strict-exception", build_strict_exception, SERVER_MAIN, FALSE },
  { "/hostile/message/strict-oneway", build_strict_oneway, SERVER_MAIN, FALSE },
  { "/hostile/limit/oversized-frame", build_oversized, SERVER_SMALL, FALSE },
  { "/hostile/limit/length-2g", build_length_2g, SERVER_SMALL, FALSE },
};

/* ---- checks ---------------------------------------------------------------- */

/* Sends what it can: the server may rightly close before it read it all. */
static void
send_hostile (int           fd,
              const guint8 *data,
              gsize         len)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = send (fd, data + done, len - done, MSG_NOSIGNAL);

      if (n > 0)
        done += (gsize) n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
        {
          g_test_message ("the server closed after %zu of %zu bytes", done, len);
          return;
        }
      else
        g_error ("send after %zu of %zu bytes: %s (the server neither read nor closed)",
                 done, len, g_strerror (errno));
    }
}

/* The server closed the connection without answering: end of stream or a
 * reset, not the 5 s receive timeout. */
static void
assert_closed_by_server (int fd)
{
  gsize got = 0;

  for (;;)
    {
      guint8 buf[4096];
      gssize n = recv (fd, buf, sizeof buf, 0);
      int errsv = errno;

      if (n > 0)
        {
          got += (gsize) n;
          continue;
        }
      if (n == 0)
        break;
      if (errsv == EINTR)
        continue;
      if (errsv == EAGAIN || errsv == EWOULDBLOCK)
        g_error ("the server kept the connection open for 5 s");
      g_test_message ("recv: %s", g_strerror (errsv));
      break;
    }
  g_assert_cmpuint (got, ==, 0);
}

static gint64
client_eval_int (RthunkClient *client,
                 const char   *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<test>", text, -1, &error);
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) forced = NULL;

  g_assert_no_error (error);
  value = rthunk_client_submit (client, g_ptr_array_index (forms, 0), NULL, &error);
  g_assert_no_error (error);
  forced = rthunk_value_force (value, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_kind (forced), ==, RTHUNK_VALUE_INT);
  return rthunk_value_get_int (forced);
}

/* A fresh client gets the right answer from @target. */
static void
assert_answers (Target *target)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (target->server->address);
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_cmpint (client_eval_int (client, "(+ 1 (/ 4 2))"), ==, 3);
}

static void
assert_healthy (Target *target)
{
  gsize rss_kb;

  g_assert_true (test_server_alive (target->server));
  assert_answers (target);
  g_assert_cmpint (client_eval_int (target->persistent, "(* 6 7)"), ==, 42);
  rss_kb = test_server_rss_kb (target->server);
  g_test_message ("%s: VmRSS %zu KiB (baseline %zu KiB)", target->server->address,
                  rss_kb, target->baseline_kb);
  g_assert_cmpuint (rss_kb, <=, target->baseline_kb + rss_slack_kb);
}

static void
test_hostile (gconstpointer data)
{
  const HostileCase *c = data;
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  int fd;

  c->build (bytes);
  fd = test_server_connect (targets[c->which].server);
  send_hostile (fd, bytes->data, bytes->len);
  if (c->half_close)
    shutdown (fd, SHUT_WR);
  assert_closed_by_server (fd);
  close (fd);
  for (guint k = 0; k < N_SERVERS; k++)
    assert_healthy (&targets[k]);
}

/* A client that connects and says nothing: the server does not wait on it
 * to serve the others. */
static void
test_idle_connection (void)
{
  int fd = test_server_connect (targets[SERVER_MAIN].server);

  assert_answers (&targets[SERVER_MAIN]);
  close (fd);
  assert_healthy (&targets[SERVER_MAIN]);
}

/* Many hostile connections at once, each left open until all are sent. */
static void
test_many_at_once (void)
{
  int fds[32];

  for (guint k = 0; k < G_N_ELEMENTS (fds); k++)
    {
      g_autoptr(GByteArray) bytes = g_byte_array_new ();

      hostile_cases[k % 3].build (bytes);
      fds[k] = test_server_connect (targets[SERVER_MAIN].server);
      send_hostile (fds[k], bytes->data, bytes->len);
    }
  for (guint k = 0; k < G_N_ELEMENTS (fds); k++)
    {
      assert_closed_by_server (fds[k]);
      close (fds[k]);
    }
  assert_healthy (&targets[SERVER_MAIN]);
}

/* Slowloris: a frame trickling in a byte at a time, each byte well within
 * the socket timeout, but the whole frame slower than the server allows
 * (--io-timeout-ms 1500 on this server): it is cut off, not held forever. */
static void
test_slowloris (void)
{
  const char *args[] = { "--io-timeout-ms", "1500", NULL };
  TestServer *server = test_server_start ("slowloris", args);
  g_autoptr(RthunkClient) client = rthunk_client_new (server->address);
  g_autoptr(GError) error = NULL;
  guint8 header[4] = { 0, 0, 0, 100 };
  gint64 start = g_get_monotonic_time ();
  gboolean closed = FALSE;
  int fd = test_server_connect (server);

  /* 1 byte every 250 ms: the 1.5 s frame budget runs out after about 6 */
  for (guint k = 0; k < 40 && !closed; k++)
    {
      guint8 byte = k < 4 ? header[k] : 0x0b;

      if (send (fd, &byte, 1, MSG_NOSIGNAL) != 1)
        closed = TRUE;
      else
        g_usleep (250 * 1000);
    }
  if (!closed)
    g_error ("the server kept reading a frame that trickled in for 10 s");
  g_test_message ("cut off after %" G_GINT64_FORMAT " ms", (g_get_monotonic_time () - start) / 1000);
  g_assert_true (test_server_alive (server));
  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_cmpint (client_eval_int (client, "(+ 40 2)"), ==, 42);
  close (fd);
  test_server_stop (server);
}

/* ---- main ------------------------------------------------------------------ */

static void
start_target (Which       which,
              const char *name,
              const char *max_frame)
{
  const char *args[] = { "--max-frame-bytes", max_frame, NULL };
  Target *target = &targets[which];
  g_autoptr(GError) error = NULL;

  target->server = test_server_start (name, args);
  target->persistent = rthunk_client_new (target->server->address);
  g_assert_true (rthunk_client_connect (target->persistent, &error));
  g_assert_no_error (error);
  g_assert_cmpint (client_eval_int (target->persistent, "(+ 1 (/ 4 2))"), ==, 3);
  assert_answers (target);
  target->baseline_kb = test_server_rss_kb (target->server);
}

static void
stop_target (Which which)
{
  g_clear_object (&targets[which].persistent);
  test_server_stop (targets[which].server);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *small = g_strdup_printf ("%d", SMALL_MAX_FRAME);
  int status;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("RTHUNK_TEST_RSS_SLACK_KB") != NULL)
    rss_slack_kb = g_ascii_strtoull (g_getenv ("RTHUNK_TEST_RSS_SLACK_KB"), NULL, 10);
  signal (SIGPIPE, SIG_IGN);
  /* a warning the servers log for hostile bytes kills them: every case
   * checks that they still run */
  {
    g_autofree char *debug = g_strjoin (",", g_getenv ("G_DEBUG") != NULL ? g_getenv ("G_DEBUG") : "",
                                        "fatal-warnings", NULL);

    g_setenv ("G_DEBUG", debug, TRUE);
  }
  start_target (SERVER_MAIN, "hostile", MAIN_MAX_FRAME);
  start_target (SERVER_SMALL, "hostile-small", small);

  TEST_ADD_TABLE (hostile_cases, test_hostile);
  g_test_add_func ("/hostile/connection/idle", test_idle_connection);
  g_test_add_func ("/hostile/connection/many-at-once", test_many_at_once);
  g_test_add_func ("/hostile/connection/slowloris", test_slowloris);

  status = g_test_run ();
  for (guint k = 0; k < N_SERVERS; k++)
    stop_target (k);
  return status;
}
