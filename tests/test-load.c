/* test-load.c — many concurrent clients against one real rthunkd
 *
 * N_CLIENTS threads, each on its own connection, submit N_PER_CLIENT
 * thunks each in windows of WINDOW: mostly fast `(+ K 1)`, every
 * SLOW_EVERY-th a slow `(delay 20 K)`, and every CANCEL_EVERY-th slow one
 * is cancelled right after it was accepted. K is unique per submission, so
 * no cache or coalescing can merge two. Each window is then awaited with
 * thunkAwait until every accepted thunk has been reported finished:
 *   - DONE with exactly the right value, or
 *   - CANCELLED, and only one that this client cancelled;
 * none may FAIL (no expression here can: a failure is a wrong result);
 * no id is handed out twice, none is reported twice, none is lost.
 * Submissions refused with Overloaded are counted, not accepted.
 *
 * Three rounds: the server's VmRSS after the third is within a few MiB of
 * what it was after the second (finished thunks are forgotten after
 * --thunk-ttl-ms, the cache is off, so both end holding about the same;
 * the first round is the warm-up that grows the table to that size).
 *
 * The default scale (64 × 300) keeps the test near a minute on a loaded
 * 2-core machine; RTHUNK_LOAD_PER_CLIENT=1000 runs the full 64 × 1000.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "wireutil.h"

#define N_CLIENTS 64
#define N_PER_CLIENT 300
#define WINDOW 50
#define SLOW_EVERY 25
#define CANCEL_EVERY 3      /* of the slow ones */
#define RSS_SLACK_KB 4096
#define AWAIT_SLICE_MS 10000
#define WINDOW_CAP_US (120 * G_USEC_PER_SEC)
#define THUNK_TTL_MS "10000"

static TestServer *server;
static guint per_client = N_PER_CLIENT;
static gsize rss_slack_kb = RSS_SLACK_KB;

/* every id handed out, over both rounds: hex → TRUE */
static GHashTable *all_ids;
static GMutex ids_lock;
static guint total_accepted;

typedef struct
{
  guint index;
  guint round;
  guint accepted, done, failed, cancelled, overloaded;
  GError *error;     /* the first thing that went wrong */
} Client;

typedef struct
{
  GByteArray *id;
  gint64 expected;
  gboolean cancelled;
  gboolean finished;
} Slot;

static void
slot_clear (Slot *s)
{
  g_clear_pointer (&s->id, g_byte_array_unref);
}

#define FAIL(c, ...) G_STMT_START {                                     \
    if ((c)->error == NULL)                                              \
      g_set_error (&(c)->error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, __VA_ARGS__); \
  } G_STMT_END

static gboolean
note_new_id (Client           *c,
             const GByteArray *id)
{
  g_autofree char *hex = rthunk_wire_id_to_hex (id);
  gboolean fresh;

  g_mutex_lock (&ids_lock);
  fresh = g_hash_table_insert (all_ids, g_steal_pointer (&hex), GINT_TO_POINTER (TRUE));
  g_mutex_unlock (&ids_lock);
  if (!fresh)
    FAIL (c, "an id was handed out twice");
  return fresh;
}

/* Checks a thunk reported finished (inline or by thunkAwait). */
static void
check_finished (Client         *c,
                Slot           *s,
                gint            state,
                RthunkWireValue *value,
                gboolean        has_value,
                RthunkWireErrorInfo *error_info,
                gboolean        has_error)
{
  if (s->finished)
    {
      FAIL (c, "a thunk was reported finished twice");
      return;
    }
  s->finished = TRUE;
  switch (state)
    {
    case RTHUNK_WIRE_THUNK_STATE_DONE:
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(RthunkValue) v = has_value ? rthunk_wire_read_value (value, &error) : NULL;

        if (v == NULL || rthunk_value_get_kind (v) != RTHUNK_VALUE_INT ||
            rthunk_value_get_int (v) != s->expected)
          FAIL (c, "a thunk for %" G_GINT64_FORMAT " was DONE with another value", s->expected);
        c->done++;
        break;
      }
    case RTHUNK_WIRE_THUNK_STATE_FAILED:
      /* neither `(+ K 1)` nor `(delay 20 K)` can fail, and a cancelled
       * one ends CANCELLED (or DONE if it finished first): a FAILED one,
       * whatever its message, is a wrong result */
      if (!has_error || error_info == NULL || error_info->message == NULL)
        FAIL (c, "a thunk for %" G_GINT64_FORMAT " FAILED without a reason", s->expected);
      else
        FAIL (c, "a thunk for %" G_GINT64_FORMAT "%s FAILED: %s (code %d)", s->expected,
              s->cancelled ? " (cancelled)" : "", error_info->message, error_info->code);
      c->failed++;
      break;
    case RTHUNK_WIRE_THUNK_STATE_CANCELLED:
      if (!s->cancelled)
        FAIL (c, "a thunk nobody cancelled was CANCELLED");
      c->cancelled++;
      break;
    default:
      FAIL (c, "a thunk was reported finished in state %d", state);
    }
}

static void
run_window (Client *c,
            Wire   *w,
            guint   first)
{
  Slot slots[WINDOW] = { { 0, }, };
  guint n = MIN (WINDOW, per_client - first);
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();
  gint64 give_up;

  for (guint k = 0; k < n && c->error == NULL; k++)
    {
      guint serial = first + k;
      gint64 key = (gint64) c->round * 1000000000 + (gint64) c->index * 1000000 + serial;
      gboolean slow = serial % SLOW_EVERY == SLOW_EVERY - 1;
      g_autofree char *text = slow ? g_strdup_printf ("(delay 20 %" G_GINT64_FORMAT ")", key)
                                   : g_strdup_printf ("(+ %" G_GINT64_FORMAT " 1)", key);
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, -1);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
      WireFailure failure = { 0, };

      thunk = wire_submit (w, request, &failure);
      if (thunk == NULL)
        {
          if (failure.type == RTHUNK_WIRE_TYPE_OVERLOADED)
            c->overloaded++;
          else
            FAIL (c, "a submission failed: %s",
                  failure.error != NULL ? failure.error->message : failure.message);
          wire_failure_clear (&failure);
          continue;
        }
      if (!note_new_id (c, thunk->id))
        break;
      c->accepted++;
      slots[k].id = g_byte_array_ref (thunk->id);
      slots[k].expected = slow ? key : key + 1;
      if (thunk->__isset_state && thunk->state >= RTHUNK_WIRE_THUNK_STATE_DONE)
        {
          check_finished (c, &slots[k], thunk->state, thunk->value, thunk->__isset_value,
                          thunk->error, thunk->__isset_error);
          continue;
        }
      if (slow && (serial / SLOW_EVERY) % CANCEL_EVERY == 0)
        {
          gboolean was_unfinished = FALSE;

          if (!wire_cancel (w, thunk->id, &was_unfinished, &failure))
            {
              FAIL (c, "thunkCancel failed");
              wire_failure_clear (&failure);
            }
          slots[k].cancelled = TRUE;
        }
    }

  give_up = g_get_monotonic_time () + WINDOW_CAP_US;
  for (;;)
    {
      g_autoptr(GPtrArray) done = NULL;
      WireFailure failure = { 0, };

      g_ptr_array_set_size (waiting, 0);
      for (guint k = 0; k < n; k++)
        if (slots[k].id != NULL && !slots[k].finished)
          g_ptr_array_add (waiting, slots[k].id);
      if (waiting->len == 0 || c->error != NULL)
        break;
      if (g_get_monotonic_time () > give_up)
        {
          FAIL (c, "%u accepted thunks were not reported finished within %d s (lost)",
                waiting->len, (int) (WINDOW_CAP_US / G_USEC_PER_SEC));
          break;
        }
      done = wire_await (w, waiting, AWAIT_SLICE_MS, &failure);
      if (done == NULL)
        {
          FAIL (c, "thunkAwait failed: %s (code %d)",
                failure.error != NULL ? failure.error->message : failure.message, failure.code);
          wire_failure_clear (&failure);
          break;
        }
      for (guint d = 0; d < done->len; d++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, d);
          Slot *slot = NULL;

          for (guint k = 0; k < n && slot == NULL; k++)
            if (wire_same_id (slots[k].id, cont->id))
              slot = &slots[k];
          if (slot == NULL)
            {
              FAIL (c, "thunkAwait reported an id it was not asked about");
              continue;
            }
          if (cont->state < RTHUNK_WIRE_THUNK_STATE_DONE)
            {
              FAIL (c, "thunkAwait reported an unfinished thunk (state %d)", cont->state);
              continue;
            }
          check_finished (c, slot, cont->state, cont->value, cont->__isset_value,
                          cont->error, cont->__isset_error);
        }
    }
  for (guint k = 0; k < n; k++)
    slot_clear (&slots[k]);
}

static gpointer
client_run (gpointer data)
{
  Client *c = data;
  g_autoptr(Wire) w = wire_open (server, AWAIT_SLICE_MS + 60000);

  for (guint first = 0; first < per_client && c->error == NULL; first += WINDOW)
    run_window (c, w, first);
  return NULL;
}

static gsize
settled_rss_kb (void)
{
  gint64 give_up = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gsize rss_kb, prev_kb = 0;

  for (;;)
    {
      g_usleep (500 * 1000);
      rss_kb = test_server_rss_kb (server);
      if (rss_kb == prev_kb || g_get_monotonic_time () > give_up)
        return rss_kb;
      prev_kb = rss_kb;
    }
}

static gsize
run_round (guint round)
{
  Client clients[N_CLIENTS];
  GThread *threads[N_CLIENTS];
  guint accepted = 0, done = 0, failed = 0, cancelled = 0, overloaded = 0;
  gint64 t0 = g_get_monotonic_time ();
  gsize rss_kb;

  memset (clients, 0, sizeof clients);
  for (guint t = 0; t < N_CLIENTS; t++)
    {
      clients[t].index = t;
      clients[t].round = round;
      threads[t] = g_thread_new ("load-client", client_run, &clients[t]);
    }
  for (guint t = 0; t < N_CLIENTS; t++)
    g_thread_join (threads[t]);
  for (guint t = 0; t < N_CLIENTS; t++)
    {
      Client *c = &clients[t];

      if (c->error != NULL)
        g_error ("round %u, client %u: %s", round, t, c->error->message);
      g_assert_cmpuint (c->failed, ==, 0);
      g_assert_cmpuint (c->done + c->cancelled, ==, c->accepted);
      g_assert_cmpuint (c->accepted + c->overloaded, ==, per_client);
      accepted += c->accepted;
      done += c->done;
      failed += c->failed;
      cancelled += c->cancelled;
      overloaded += c->overloaded;
    }
  g_assert_true (test_server_alive (server));
  total_accepted += accepted;
  rss_kb = settled_rss_kb ();
  g_test_message ("round %u: %u × %u in %.1f s: %u accepted (%u done, %u failed, %u cancelled), "
                  "%u overloaded; VmRSS %zu KiB", round, N_CLIENTS, per_client,
                  (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC,
                  accepted, done, failed, cancelled, overloaded, rss_kb);
  g_assert_cmpuint (accepted, >, 0);
  return rss_kb;
}

static void
test_load (void)
{
  gsize first_kb, second_kb, third_kb;

  /* the first round grows the server to its working size (threads,
   * arenas, a table of finished thunks that the second round already
   * replaces as it goes): rounds two and three must match */
  first_kb = run_round (1);
  second_kb = run_round (2);
  third_kb = run_round (3);
  g_assert_cmpuint (g_hash_table_size (all_ids), ==, total_accepted);
  g_test_message ("VmRSS after rounds: %zu, %zu, %zu KiB", first_kb, second_kb, third_kb);
  g_assert_cmpuint (third_kb, <=, second_kb + rss_slack_kb);
}

int
main (int    argc,
      char **argv)
{
  const char *args[] = { "--workers", "2", "--max-connections", "256",
                         "--thunk-ttl-ms", THUNK_TTL_MS, "--cache-entries", "0", NULL };
  int status;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("RTHUNK_TEST_RSS_SLACK_KB") != NULL)
    rss_slack_kb = g_ascii_strtoull (g_getenv ("RTHUNK_TEST_RSS_SLACK_KB"), NULL, 10);
  if (g_getenv ("RTHUNK_LOAD_PER_CLIENT") != NULL)
    per_client = (guint) g_ascii_strtoull (g_getenv ("RTHUNK_LOAD_PER_CLIENT"), NULL, 10);
  g_assert_cmpuint (per_client, >, 0);
  g_assert_cmpuint (per_client, <, 1000000);
  signal (SIGPIPE, SIG_IGN);
  rthunk_wire_ensure_types ();
  all_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  server = test_server_start ("load", args);

  g_test_add_func ("/load/mixed-with-cancels", test_load);

  status = g_test_run ();
  test_server_stop (server);
  g_hash_table_unref (all_ids);
  return status;
}
