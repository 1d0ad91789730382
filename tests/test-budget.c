/* test-budget.c — one memory budget per server (--max-memory), against a
 * real rthunkd started with --max-memory 64MiB: large results, large
 * definitions, half-sent frames and a thunkAwait of 300k ids each stay within the budget plus a
 * fixed slack (VmRSS), a normal client still gets an answer or a clear
 * Overloaded, and a value the budget evicted answers "expired".
 *
 * Without the budget, the forty results take about 1.9 GB, the
 * definitions (charged 64 bytes a node before) about 300 MB and the
 * frames about 800 MB.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wireutil.h"

#define MAX_MEMORY_MIB 64
#define SLACK_MIB 40            /* thread stacks, malloc's arenas, the catalog */
#define N_RESULTS 40
#define RESULT_LEN 1000000
#define N_DEFINITIONS 300
#define LITERAL_BYTES (1024 * 1024)
#define N_FRAMES 100
#define FRAME_BYTES 8000000
#define N_AWAIT_IDS 300000      /* 24 bytes each in the frame: 7.2 MB */

static TestServer *server;
static gsize baseline_kb;
/* Under AddressSanitizer freed memory waits in a quarantine, so resident
 * memory runs higher: the sanitizer build says how much more to allow. */
static gsize
sanitizer_slack_kb (void)
{
  const char *slack = g_getenv ("RTHUNK_TEST_RSS_SLACK_KB");

  return slack != NULL ? (gsize) g_ascii_strtoull (slack, NULL, 10) : 0;
}

static void
assert_within_budget (const char *what)
{
  gsize rss_kb = test_server_rss_kb (server);

  g_test_message ("%s: VmRSS %zu KiB (baseline %zu KiB, budget %d MiB)", what, rss_kb, baseline_kb,
                  MAX_MEMORY_MIB);
  g_assert_cmpuint (rss_kb, <=, baseline_kb + (MAX_MEMORY_MIB + SLACK_MIB) * 1024 + sanitizer_slack_kb ());
}

/* A normal client gets its answer, or a clear Overloaded. */
static void
assert_served (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (server->address);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 1 (/ 4 2))");
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_client_connect (client, &error));
  value = rthunk_client_submit (client, expr, NULL, &error);
  if (value != NULL)
    value = rthunk_value_force (value, &error);
  if (value == NULL)
    {
      g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_OVERLOADED);
      g_assert_nonnull (strstr (error->message, "server memory budget reached"));
      return;
    }
  g_assert_cmpint (rthunk_value_get_int (value), ==, 3);
}

/* Waits (bounded) until the thunk @id is finished; its VarCont. */
static RthunkWireVarCont *
wait_finished (Wire             *w,
               const GByteArray *id)
{
  for (guint tries = 0; tries < 600; tries++)
    {
      WireFailure f = { 0, };
      g_autoptr(GPtrArray) ids = g_ptr_array_new ();
      g_autoptr(GPtrArray) done = NULL;
      RthunkWireVarCont *cont;
      gint state;

      g_ptr_array_add (ids, (gpointer) id);
      done = wire_await (w, ids, 100, &f);
      wire_failure_clear (&f);
      cont = wire_get (w, id, &f);
      g_assert_nonnull (cont);
      g_object_get (cont, "state", &state, NULL);
      if (state > RTHUNK_THUNK_RUNNING)
        return cont;
      g_object_unref (cont);
    }
  g_assert_not_reached ();
}

static const char *
cont_message (RthunkWireVarCont *cont)
{
  return cont->__isset_error && cont->error->message != NULL ? cont->error->message : "";
}

/* 40 results of a million ints (8 MB each, 40 MB while they are built), one after the other: the
 * budget keeps only what fits, the oldest answer "expired". */
static void
test_large_results (void)
{
  g_autoptr(Wire) w = wire_open (server, 30000);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(RthunkWireVarCont) first = NULL;
  guint done = 0, refused = 0;

  for (guint k = 0; k < N_RESULTS; k++)
    {
      g_autofree char *text = g_strdup_printf ("(range %u %u)", k, k + RESULT_LEN);
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
      g_autoptr(RthunkWireVarCont) cont = NULL;
      WireFailure f = { 0, };
      gint state;

      thunk = wire_submit (w, request, &f);
      if (thunk == NULL)
        {
          g_assert_cmpint (f.code, ==, RTHUNK_ERROR_OVERLOADED);
          g_assert_nonnull (strstr (f.message, "server memory budget reached"));
          wire_failure_clear (&f);
          refused++;
          continue;
        }
      g_ptr_array_add (ids, g_byte_array_ref (thunk->id));
      cont = wait_finished (w, thunk->id);
      g_object_get (cont, "state", &state, NULL);
      /* a value too large for one reply reads FAILED to thunkGet: it was
       * made and kept all the same */
      if (state == RTHUNK_THUNK_DONE || strstr (cont_message (cont), "server memory budget") == NULL)
        done++;
      if (k % 10 == 9)
        assert_within_budget ("large results");
    }
  g_test_message ("%u results done, %u refused", done, refused);
  g_assert_cmpuint (done, >, 0);
  assert_within_budget ("large results");
  assert_served ();
  /* the first value was evicted to make room for the later ones */
  first = wait_finished (w, g_ptr_array_index (ids, 0));
  g_assert_nonnull (strstr (cont_message (first), "expired"));
}

/* 300 definitions with a 1 MiB string literal each. */
static void
test_large_definitions (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (server->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *literal = g_malloc (LITERAL_BYTES + 1);
  guint refused = 0;

  g_assert_true (rthunk_client_connect (client, &error));
  for (guint k = 0; k < N_DEFINITIONS; k++)
    {
      g_autofree char *defn = NULL;
      g_autofree char *call = g_strdup_printf ("(= (big%u) \"x\")", k);
      g_autoptr(RthunkNode) expr = test_parse_one (call);
      g_autoptr(GHashTable) defs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) rthunk_node_unref);
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) failure = NULL;

      memset (literal, 'a' + k % 26, LITERAL_BYTES);
      g_snprintf (literal, 12, "%010u", k);
      literal[10] = 'a';
      literal[LITERAL_BYTES] = '\0';
      defn = g_strdup_printf ("(defn big%u [] \"%s\")", k, literal);
      g_hash_table_insert (defs, g_strdup_printf ("big%u", k), test_parse_one (defn));
      value = rthunk_client_submit_full (client, expr, NULL, defs, &failure);
      if (value != NULL)
        value = rthunk_value_force (value, &failure);
      if (value == NULL)
        {
          g_assert_nonnull (strstr (failure->message, "server memory budget reached"));
          refused++;
        }
      if (k % 50 == 49)
        assert_within_budget ("large definitions");
    }
  g_test_message ("%u of %d definitions refused", refused, N_DEFINITIONS);
  assert_within_budget ("large definitions");
  assert_served ();
}

/* Sends what it can of @len bytes; FALSE once the server closed. */
static gboolean
send_some (int           fd,
           const guint8 *data,
           gsize         len)
{
  for (gsize done = 0; done < len;)
    {
      gssize n = send (fd, data + done, len - done, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

/* 100 connections each send all but the last byte of an 8 MB frame, and
 * hold it; no token is needed to do that. */
static void
test_half_sent_frames (void)
{
  g_autofree guint8 *frame = g_malloc0 (FRAME_BYTES + 4);
  guint32 be = GUINT32_TO_BE (FRAME_BYTES);
  int fds[N_FRAMES];
  guint held = 0;

  memcpy (frame, &be, sizeof be);
  for (guint k = 0; k < N_FRAMES; k++)
    {
      fds[k] = test_server_connect (server);
      if (send_some (fds[k], frame, FRAME_BYTES + 3))
        held++;
    }
  g_test_message ("%u of %d half-sent frames were taken in", held, N_FRAMES);
  assert_within_budget ("half-sent frames");
  assert_served ();
  for (guint k = 0; k < N_FRAMES; k++)
    close (fds[k]);
}

/* A thunkAwait naming 300k ids: a 7.2 MB frame that the generated code
 * would decode into some 130 MB of RemoteThunks before the handler could
 * refuse more than 4096. What decoding costs is charged first: the call is
 * refused with OVERLOADED naming the budget, the server's memory stays
 * within it, and the connection and the others are served on. */
static void
test_huge_await (void)
{
  g_autoptr(Wire) w = wire_open (server, 30000);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GPtrArray) done = NULL;
  g_autoptr(RthunkWireServerInfo) info = NULL;
  g_autofree char *expected = g_strdup_printf ("decoding %d thunk ids", N_AWAIT_IDS);
  WireFailure f = { 0, };

  for (guint k = 0; k < N_AWAIT_IDS; k++)
    {
      guint8 id[16] = { 0x7e, };

      memcpy (id + 4, &k, sizeof k);
      g_ptr_array_add (ids, g_byte_array_append (g_byte_array_new (), id, sizeof id));
    }
  done = wire_await (w, ids, 0, &f);
  g_assert_null (done);
  g_test_message ("refused: %s", f.message != NULL ? f.message : f.error->message);
  g_assert_true (f.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (f.code, ==, RTHUNK_ERROR_OVERLOADED);
  g_assert_nonnull (strstr (f.message, "server memory budget reached"));
  g_assert_nonnull (strstr (f.message, expected));
  wire_failure_clear (&f);
  assert_within_budget ("a thunkAwait of 300k ids");
  info = wire_info (w, &f);
  g_assert_nonnull (info);
  assert_served ();
}

int
main (int    argc,
      char **argv)
{
  const char *args[] = { "--max-memory", "64MiB", "--workers", "2", NULL };
  int rc;

  g_test_init (&argc, &argv, NULL);
  server = test_server_start ("budget", args);
  assert_served ();
  baseline_kb = test_server_rss_kb (server);
  g_test_add_func ("/budget/large-results", test_large_results);
  g_test_add_func ("/budget/large-definitions", test_large_definitions);
  g_test_add_func ("/budget/half-sent-frames", test_half_sent_frames);
  g_test_add_func ("/budget/huge-await", test_huge_await);
  rc = g_test_run ();
  test_server_stop (server);
  return rc;
}
