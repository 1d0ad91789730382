/* test-client-codec.c — RthunkClient's hot calls written and read as bytes
 *
 * submitEvalRequest, submitBatch and thunkAwait are encoded and decoded by
 * rthunk-codec in the client, and only replies the codec does not expect
 * go to the generated Thrift code. Against a real rthunkd: values of every
 * kind come back as the server computed them, inputs of every kind reach
 * it intact, the request is byte for byte what the generated code writes,
 * and the errors are the ones they always were. Through a proxy that
 * forges the server's replies: every reply the codec leaves to the
 * generated code (an odd seqid, an exception, an EXCEPTION message, a
 * value it refuses) still gives the value or error it gave before, and
 * leaves the connection as it did.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rthunk.h"
#include "rthunk-check.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-frame.h"
#include "rthunk-type-private.h"
#include "rthunk-wire.h"
#include "testutil.h"
#include "testtable.h"

#define TOKEN "codec-Token-7"

static TestServer *shared_server;
static TestServer *auth_server;

/* ---- helpers ------------------------------------------------------------- */

static RthunkClient *
new_client (const char *address,
            const char *token)
{
  RthunkClient *client = g_object_new (RTHUNK_TYPE_CLIENT, "address", address, "max-connections", 1, NULL);

  if (token != NULL)
    rthunk_client_set_token (client, token);
  return client;
}

/* The value of @text submitted with @inputs, forced; NULL with @error set. */
static RthunkValue *
eval_remote (RthunkClient  *client,
             const char    *text,
             GHashTable    *inputs,
             GHashTable    *defs,
             GError       **error)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) value = rthunk_client_submit_full (client, expr, inputs, defs, error);

  if (value == NULL)
    return NULL;
  return rthunk_value_force (value, error);
}

static void
assert_eval (RthunkClient *client,
             const char   *text,
             const char   *printed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, NULL, &error);
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  got = rthunk_value_to_string (value);
  g_assert_cmpstr (got, ==, printed);
}

static void
assert_eval_fails (RthunkClient *client,
                   const char   *text,
                   gint          code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, NULL, &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, code);
}

static GHashTable *
inputs_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_value_unref);
}

/* ---- values of every kind, computed by the server ------------------------ */

typedef struct
{
  const char *path;
  const char *text;
  const char *printed;          /* NULL: it fails with @code */
  gint code;
} ValueCase;

static const ValueCase value_cases[] = {
  { "/client-codec/result/int", "(+ 1 2)", "3", 0 },
  { "/client-codec/result/int-negative", "(- 0 5)", "-5", 0 },
  { "/client-codec/result/int-large", "(* 4294967296 2147483647)", "9223372032559808512", 0 },
  { "/client-codec/result/float", "(* 1.5 2.25)", "3.375", 0 },
  { "/client-codec/result/bool-true", "(< 1 2)", "true", 0 },
  { "/client-codec/result/bool-false", "(empty? [1])", "false", 0 },
  { "/client-codec/result/nil", "nil", "nil", 0 },
  { "/client-codec/result/string-non-ascii", "(concat \"héllo \" \"wörld ☃ 日本\")",
    "\"héllo wörld ☃ 日本\"", 0 },
  { "/client-codec/result/string-empty", "(substr \"abc\" 1 0)", "\"\"", 0 },
  { "/client-codec/result/list-empty", "(range 0 0)", "[]", 0 },
  { "/client-codec/result/list-nested", "(reverse [[1 2] [] [3]])", "[[3] [] [1 2]]", 0 },
  { "/client-codec/result/list-of-strings", "[[\"é\"] [\"☃\" \"\"]]", "[[\"é\"] [\"☃\" \"\"]]", 0 },
  { "/client-codec/result/list-of-floats", "(map (fn [x] (* x 0.5)) [1.0 3.0])", "[0.5 1.5]", 0 },
  { "/client-codec/result/delayed", "(delay 50 [true false])", "[true false]", 0 },
  { "/client-codec/failed/division-by-zero", "(/ 1 0)", NULL, RTHUNK_ERROR_DIVISION_BY_ZERO },
  { "/client-codec/failed/index-out-of-range", "(nth [1 2] 5)", NULL, RTHUNK_ERROR_INDEX_OUT_OF_RANGE },
  { "/client-codec/failed/delayed", "(delay 50 (/ 1 0))", NULL, RTHUNK_ERROR_DIVISION_BY_ZERO },
  { "/client-codec/refused/unbound-name", "(frobnicate 1)", NULL, RTHUNK_ERROR_UNBOUND_NAME },
  { "/client-codec/refused/type-mismatch", "(+ 1 \"a\")", NULL, RTHUNK_ERROR_TYPE_MISMATCH },
};

static void
test_value (gconstpointer data)
{
  const ValueCase *c = data;
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);

  if (c->printed != NULL)
    assert_eval (client, c->text, c->printed);
  else
    assert_eval_fails (client, c->text, c->code);
  /* twice: the second time the memo's encoded Ast is sent */
  if (c->printed != NULL)
    assert_eval (client, c->text, c->printed);
  else
    assert_eval_fails (client, c->text, c->code);
}

/* ---- inputs of every kind, sent to the server and back -------------------- */

/* A list of @a and @b (each taken), of @a alone, or empty. */
static RthunkValue *
list_of (RthunkValue *a,
         RthunkValue *b)
{
  RthunkValue **items = g_new0 (RthunkValue *, 2);

  items[0] = a;
  items[1] = b;
  return rthunk_value_new_list_take (items, b != NULL ? 2 : a != NULL ? 1 : 0);
}

static void
test_inputs_round_trip (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  g_ptr_array_add (values, rthunk_value_new_int (G_MININT64));
  g_ptr_array_add (values, rthunk_value_new_int (G_MAXINT64));
  g_ptr_array_add (values, rthunk_value_new_float (0.1));
  g_ptr_array_add (values, rthunk_value_new_float (-0.0));
  g_ptr_array_add (values, rthunk_value_new_float (1e308));
  g_ptr_array_add (values, rthunk_value_new_float (5e-324));
  g_ptr_array_add (values, rthunk_value_new_bool (TRUE));
  g_ptr_array_add (values, rthunk_value_new_nil ());
  g_ptr_array_add (values, rthunk_value_new_str (""));
  g_ptr_array_add (values, rthunk_value_new_str ("naïve ☃ 日本語 \xf0\x9f\x98\x80"));
  g_ptr_array_add (values, list_of (NULL, NULL));
  g_ptr_array_add (values, list_of (list_of (rthunk_value_new_int (1), rthunk_value_new_int (2)),
                                    list_of (NULL, NULL)));
  g_ptr_array_add (values, list_of (list_of (rthunk_value_new_str ("é"), NULL),
                                    list_of (rthunk_value_new_str ("☃"), rthunk_value_new_str ("x"))));
  for (guint k = 0; k < values->len; k++)
    {
      RthunkValue *sent = g_ptr_array_index (values, k);
      g_autoptr(GHashTable) inputs = inputs_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) back = NULL;
      g_autofree char *printed = rthunk_value_to_string (sent);

      g_test_message ("input %s", printed);
      g_hash_table_insert (inputs, g_strdup ("x"), rthunk_value_ref (sent));
      back = eval_remote (client, "x", inputs, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (rthunk_value_equal (back, sent));
      if (rthunk_value_get_kind (sent) == RTHUNK_VALUE_FLOAT)
        {
          double a = rthunk_value_get_float (sent), b = rthunk_value_get_float (back);

          /* the same bits: -0.0 stays negative */
          g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
        }
    }
}

/* An input that is still running on the server travels as a THUNK node. */
static void
test_inputs_pending (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) slow = test_parse_one ("(delay 300 [\"ü\" \"é\"])");
  g_autoptr(GHashTable) inputs = inputs_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) pending = rthunk_client_submit (client, slow, NULL, &error);
  g_autoptr(RthunkValue) value = NULL;
  g_autofree char *printed = NULL;

  g_assert_no_error (error);
  g_assert_true (rthunk_value_is_pending (pending));
  g_hash_table_insert (inputs, g_strdup ("p"), rthunk_value_ref (pending));
  value = eval_remote (client, "(len p)", inputs, NULL, &error);
  g_assert_no_error (error);
  printed = rthunk_value_to_string (value);
  g_assert_cmpstr (printed, ==, "2");
}

/* ---- submitBatch and thunkAwait ------------------------------------------ */

static void
test_batch (void)
{
  static const char *const texts[] = { "(+ 1 2)", "(/ 1 0)", "(concat \"a\" \"é\")", "(delay 200 7)" };
  static const char *const printed[] = { "3", NULL, "\"aé\"", "7" };
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GPtrArray) exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < G_N_ELEMENTS (texts); k++)
    g_ptr_array_add (exprs, test_parse_one (texts[k]));
  values = rthunk_client_submit_batch (client, exprs, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (values->len, ==, G_N_ELEMENTS (texts));
  for (guint k = 0; k < values->len; k++)
    {
      g_autoptr(GError) force_error = NULL;
      g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &force_error);
      g_autofree char *got = value != NULL ? rthunk_value_to_string (value) : NULL;

      if (printed[k] == NULL)
        g_assert_error (force_error, RTHUNK_ERROR, RTHUNK_ERROR_DIVISION_BY_ZERO);
      else
        g_assert_cmpstr (got, ==, printed[k]);
    }
}

/* Four threads submit batches through one client at once: a member's
 * value is made when its reply is read, often by another thread's flush
 * (each thread's queue sends every RTHUNK_CLIENT_SEND_AT submissions).
 * Every member gets one value: finished, failed when forced, or pending
 * and then its own. */
#define BATCH_THREADS 4
#define BATCH_ROUNDS 4
#define BATCH_SIZE 200

static gpointer
batch_thread (gpointer data)
{
  RthunkClient *client = data;

  for (guint round = 0; round < BATCH_ROUNDS; round++)
    {
      g_autoptr(GPtrArray) exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) error = NULL;

      for (guint k = 0; k < BATCH_SIZE; k++)
        {
          g_autofree char *text = k % 50 == 7 ? g_strdup_printf ("(/ %u 0)", k)
                                  : k % 50 == 9 ? g_strdup_printf ("(delay 20 %u)", k)
                                  : g_strdup_printf ("(+ %u %u)", k, round);

          g_ptr_array_add (exprs, test_parse_one (text));
        }
      values = rthunk_client_submit_batch (client, exprs, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (values->len, ==, BATCH_SIZE);
      for (guint k = 0; k < BATCH_SIZE; k++)
        {
          g_autoptr(GError) force_error = NULL;
          g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &force_error);

          if (k % 50 == 7)
            g_assert_error (force_error, RTHUNK_ERROR, RTHUNK_ERROR_DIVISION_BY_ZERO);
          else
            {
              g_assert_no_error (force_error);
              g_assert_cmpint (rthunk_value_get_int (value), ==, k % 50 == 9 ? (gint64) k : (gint64) (k + round));
            }
        }
    }
  return NULL;
}

static void
test_batch_from_threads (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  GThread *threads[BATCH_THREADS];

  for (guint t = 0; t < BATCH_THREADS; t++)
    threads[t] = g_thread_new ("batch", batch_thread, client);
  for (guint t = 0; t < BATCH_THREADS; t++)
    g_thread_join (threads[t]);
}

typedef struct
{
  guint done;
  GString *seen;
} AwaitSeen;

static void
note_finished (GBytes       *id,
               RthunkValue  *value,
               const GError *error,
               gpointer      user_data)
{
  AwaitSeen *seen = user_data;
  g_autofree char *printed = value != NULL ? rthunk_value_to_string (value) : g_strdup (error->message);

  seen->done++;
  g_string_append_printf (seen->seen, "%s;", printed);
}

static void
test_await_many (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(delay 200 \"ü\")");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) pending = rthunk_client_submit (client, expr, NULL, &error);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GString) seen_text = g_string_new (NULL);
  AwaitSeen seen = { 0, seen_text };
  GBytes *id = NULL;

  g_assert_no_error (error);
  g_assert_true (rthunk_client_get_pending_thunk (pending, &id) == client);
  g_ptr_array_add (ids, id);
  while (seen.done == 0)
    {
      g_assert_true (rthunk_client_await_many (client, ids, 5000, note_finished, &seen, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpstr (seen_text->str, ==, "\"ü\";");
}

/* ---- the errors the generated code reads --------------------------------- */

/* Definitions by name, as rthunk_client_submit_full() takes them. */
static GHashTable *
defs_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_node_unref);
}

/* MissingDefinitions goes to the generated code, putDefinitions follows on
 * the same connection, and the request is sent again. */
static void
test_missing_definitions (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GHashTable) defs = defs_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) first = NULL;
  g_autoptr(RthunkValue) again = NULL;

  g_hash_table_insert (defs, g_strdup ("codec-sq"), test_parse_one ("(defn codec-sq [x] (* x x))"));
  g_hash_table_insert (defs, g_strdup ("codec-sumsq"),
                       test_parse_one ("(defn codec-sumsq [a b] (+ (codec-sq a) (codec-sq b)))"));
  first = eval_remote (client, "(codec-sumsq 3 4)", NULL, defs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (first), ==, 25);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (client), ==, 2);
  again = eval_remote (client, "(codec-sumsq 1 2)", NULL, defs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (again), ==, 5);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (client), ==, 2);
  /* the exception left the connection usable */
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), ==, 1);
}

/* A chain of more definitions than a request's hasher looks through
 * (each calls the one before): all of them are sent, in an order where
 * each comes after the one it calls, and the second request, whose
 * addresses are remembered, names the same ones. Two definitions that
 * call each other cannot be sent. */
static void
test_definition_chain (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GHashTable) defs = defs_new ();
  g_autoptr(GHashTable) mutual = defs_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) first = NULL;
  g_autoptr(RthunkValue) again = NULL;
  g_autoptr(RthunkValue) none = NULL;
  guint64 sent;

  g_hash_table_insert (defs, g_strdup ("chain-0"), test_parse_one ("(defn chain-0 [x] (+ x 1))"));
  for (guint k = 1; k < 20; k++)
    {
      g_autofree char *name = g_strdup_printf ("chain-%u", k);
      g_autofree char *text = g_strdup_printf ("(defn chain-%u [x] (+ (chain-%u x) 1))", k, k - 1);

      g_hash_table_insert (defs, g_steal_pointer (&name), test_parse_one (text));
    }
  sent = rthunk_client_get_definitions_sent (client);
  first = eval_remote (client, "(chain-19 100)", NULL, defs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (first), ==, 120);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (client) - sent, ==, 20);
  again = eval_remote (client, "(* 2 (chain-19 5))", NULL, defs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (again), ==, 50);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (client) - sent, ==, 20);

  /* a definition named before one that uses it: still sent after it */
  g_hash_table_insert (defs, g_strdup ("rv-b"), test_parse_one ("(defn rv-b [x] (* x 10))"));
  g_hash_table_insert (defs, g_strdup ("rv-a"), test_parse_one ("(defn rv-a [x] (+ (rv-b x) 1))"));
  g_clear_pointer (&again, rthunk_value_unref);
  again = eval_remote (client, "(+ (rv-b 1) (rv-a 2))", NULL, defs, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (again), ==, 31);

  g_hash_table_insert (mutual, g_strdup ("ping"), test_parse_one ("(defn ping [x] (pong x))"));
  g_hash_table_insert (mutual, g_strdup ("pong"), test_parse_one ("(defn pong [x] (ping x))"));
  none = eval_remote (client, "(ping 1)", NULL, mutual, &error);
  g_assert_null (none);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_nonnull (strstr (error->message, "mutual recursion"));
}

/* An expression that calls a user definition is checked once per shape
 * and definition: later ones of that shape come from the client's memo,
 * keyed by the definition's content address, so a definition changed
 * under the same name is checked again and gives its own type. */
static void
test_memo_with_definitions (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GHashTable) defs = defs_new ();
  g_autoptr(GError) error = NULL;

  g_hash_table_insert (defs, g_strdup ("memo-twice"), test_parse_one ("(defn memo-twice [x] (* 2 x))"));
  for (gint64 k = 0; k < 5; k++)
    {
      g_autofree char *text = g_strdup_printf ("(memo-twice %" G_GINT64_FORMAT ")", k);
      g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, defs, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 2 * k);
      g_assert_cmpuint (rthunk_client_get_checked_shapes (client), ==, 1);
    }
  /* the same name, another definition and type: not the memo's */
  g_hash_table_insert (defs, g_strdup ("memo-twice"), test_parse_one ("(defn memo-twice [x] (concat (str x) (str x)))"));
  for (gint64 k = 0; k < 3; k++)
    {
      g_autofree char *text = g_strdup_printf ("(memo-twice %" G_GINT64_FORMAT ")", k);
      g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT "%" G_GINT64_FORMAT, k, k);
      g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, defs, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (rthunk_value_get_str (value), ==, expected);
      g_assert_cmpuint (rthunk_client_get_checked_shapes (client), ==, 2);
    }
}

/* Requests that name definitions are checked by the server's memo too
 * once their shape was seen twice, each with its own literals; the
 * definitions' hashes are in the memo's key, so a definition of another
 * hash under the same name is checked anew, and one the server lacks is
 * asked for. */
static void
test_server_memo_definitions (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(GHashTable) defs = defs_new ();
  g_autoptr(GError) error = NULL;
  gint64 before;

  g_hash_table_insert (defs, g_strdup ("smemo-f"), test_parse_one ("(defn smemo-f [x] (* 3 x))"));
  for (gint64 k = 0; k < 2; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ (smemo-f %" G_GINT64_FORMAT ") 1)", k);
      g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, defs, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 3 * k + 1);
    }
  before = test_server_counter (shared_server->address, "memo-hits");
  for (gint64 k = 2; k < 8; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ (smemo-f %" G_GINT64_FORMAT ")\n   %" G_GINT64_FORMAT ")", k, k);
      g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, defs, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 4 * k);
    }
  g_assert_cmpint (test_server_counter (shared_server->address, "memo-hits") - before, ==, 6);
  /* the same name and tree, another definition: checked anew, its value */
  g_hash_table_insert (defs, g_strdup ("smemo-f"), test_parse_one ("(defn smemo-f [x] (- x 100))"));
  before = test_server_counter (shared_server->address, "memo-hits");
  for (gint64 k = 0; k < 3; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ (smemo-f %" G_GINT64_FORMAT ") 1)", k);
      g_autoptr(RthunkValue) value = eval_remote (client, text, NULL, defs, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, k - 99);
    }
  /* the first of the new key is checked, and replaces the old in the
   * memo (the calls come one at a time, so the pool gives each the same
   * connection, and the server the same thread with its last shapes) */
  g_assert_cmpint (test_server_counter (shared_server->address, "memo-hits") - before, ==, 2);
  /* the two definitions in turn: each finds its own template */
  before = test_server_counter (shared_server->address, "memo-hits");
  for (gint64 k = 0; k < 4; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ (smemo-f %" G_GINT64_FORMAT ") 1)", 10 + k);
      g_autoptr(RthunkValue) value = NULL;

      g_hash_table_insert (defs, g_strdup ("smemo-f"),
                           test_parse_one (k % 2 == 0 ? "(defn smemo-f [x] (* 3 x))" : "(defn smemo-f [x] (- x 100))"));
      value = eval_remote (client, text, NULL, defs, &error);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, k % 2 == 0 ? 3 * (10 + k) + 1 : 10 + k - 99);
    }
  g_assert_cmpint (test_server_counter (shared_server->address, "memo-hits") - before, ==, 4);
  /* a type error under the same name is not the memo's either */
  g_hash_table_insert (defs, g_strdup ("smemo-f"), test_parse_one ("(defn smemo-f [x] (str x))"));
  g_assert_null (eval_remote (client, "(+ (smemo-f 5) 1)", NULL, defs, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
}

/* The token travels in every hot call; a wrong one is refused in each. */
static void
test_token (void)
{
  g_autoptr(RthunkClient) client = new_client (auth_server->address, TOKEN);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 40 2)");
  g_autoptr(RthunkNode) slow_expr = test_parse_one ("(delay 300 1)");
  g_autoptr(GPtrArray) exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(RthunkValue) slow = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *id = NULL;

  assert_eval (client, "(+ 40 2)", "42");
  g_ptr_array_add (exprs, rthunk_node_ref (expr));
  values = rthunk_client_submit_batch (client, exprs, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&values, g_ptr_array_unref);
  slow = rthunk_client_submit (client, slow_expr, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_client_get_pending_thunk (slow, &id) == client);
  g_ptr_array_add (ids, id);

  rthunk_client_set_token (client, "not-" TOKEN);
  value = rthunk_client_submit (client, expr, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED);
  g_clear_error (&error);
  values = rthunk_client_submit_batch (client, exprs, NULL, &error);
  g_assert_null (values);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED);
  g_clear_error (&error);
  g_assert_false (rthunk_client_await_many (client, ids, 1000, note_finished, NULL, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED);
  /* exceptions do not break the connection */
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), ==, 1);
}

/* ---- the request, byte for byte -------------------------------------------- */

/* A proxy between a client and a real server that keeps the last
 * submitEvalRequest it passed on, and may answer it with a forged reply
 * instead of the server's (or, a NULL reply, close the connection). */
typedef GBytes *(*ForgeFunc) (GBytes *reply);

typedef struct
{
  int listen_fd;
  char *address;
  TestServer *upstream;
  ForgeFunc forge;
  GThread *thread;
  GMutex lock;
  int client_fd;                /* (lock) the connection being served, or -1 */
  GBytes *last_request;         /* (lock) */
} Proxy;

static gboolean
is_submit (GBytes *message)
{
  RthunkCodecIn in;
  const guint8 *name;
  guint32 len;
  guint8 type;
  gint32 seqid;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  rthunk_codec_in_init (&in, data, size);
  return rthunk_codec_get_message (&in, &name, &len, &type, &seqid) &&
         len == strlen ("submitEvalRequest") && memcmp (name, "submitEvalRequest", len) == 0;
}

static void
proxy_serve (Proxy *proxy,
             int    fd)
{
  int up = test_server_connect (proxy->upstream);

  for (;;)
    {
      g_autoptr(GBytes) request = rthunk_frame_read (fd, 0, NULL);
      g_autoptr(GBytes) reply = NULL;
      gboolean submit;

      if (request == NULL)
        break;
      submit = is_submit (request);
      if (submit)
        {
          g_mutex_lock (&proxy->lock);
          g_clear_pointer (&proxy->last_request, g_bytes_unref);
          proxy->last_request = g_bytes_ref (request);
          g_mutex_unlock (&proxy->lock);
        }
      /* a dead server: the client's connection is closed */
      if (!rthunk_frame_write (up, g_bytes_get_data (request, NULL), g_bytes_get_size (request), NULL) ||
          (reply = rthunk_frame_read (up, 0, NULL)) == NULL)
        break;
      if (submit && proxy->forge != NULL)
        {
          GBytes *forged = proxy->forge (reply);

          g_bytes_unref (reply);
          if ((reply = forged) == NULL)
            break;
        }
      if (!rthunk_frame_write (fd, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), NULL))
        break;
    }
  close (up);
}

static gpointer
proxy_run (gpointer data)
{
  Proxy *proxy = data;
  int fd;

  while ((fd = accept (proxy->listen_fd, NULL, NULL)) >= 0)
    {
      g_mutex_lock (&proxy->lock);
      proxy->client_fd = fd;
      g_mutex_unlock (&proxy->lock);
      proxy_serve (proxy, fd);
      g_mutex_lock (&proxy->lock);
      proxy->client_fd = -1;
      g_mutex_unlock (&proxy->lock);
      close (fd);
    }
  return NULL;
}

static Proxy *
proxy_start (TestServer *upstream,
             ForgeFunc   forge)
{
  Proxy *proxy = g_new0 (Proxy, 1);
  struct sockaddr_in addr = { 0, };
  socklen_t len = sizeof addr;

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  proxy->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (proxy->listen_fd, >=, 0);
  g_assert_cmpint (bind (proxy->listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (proxy->listen_fd, 8), ==, 0);
  g_assert_cmpint (getsockname (proxy->listen_fd, (struct sockaddr *) &addr, &len), ==, 0);
  proxy->address = g_strdup_printf ("127.0.0.1:%u", ntohs (addr.sin_port));
  proxy->upstream = upstream;
  proxy->forge = forge;
  proxy->client_fd = -1;
  g_mutex_init (&proxy->lock);
  proxy->thread = g_thread_new ("proxy", proxy_run, proxy);
  return proxy;
}

static void
proxy_stop (Proxy *proxy)
{
  /* wakes the blocked read() and accept() */
  g_mutex_lock (&proxy->lock);
  if (proxy->client_fd >= 0)
    shutdown (proxy->client_fd, SHUT_RDWR);
  g_mutex_unlock (&proxy->lock);
  shutdown (proxy->listen_fd, SHUT_RDWR);
  g_thread_join (proxy->thread);
  close (proxy->listen_fd);
  g_clear_pointer (&proxy->last_request, g_bytes_unref);
  g_mutex_clear (&proxy->lock);
  g_free (proxy->address);
  g_free (proxy);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Proxy, proxy_stop)

/* What the generated client writes for @expr with x bound to @x. */
static GBytes *
generated_request (RthunkClient *client,
                   RthunkNode   *expr,
                   RthunkValue  *x,
                   const char   *token)
{
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  g_autoptr(GObject) stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                                          "input_protocol", protocol, "output_protocol", protocol, NULL);
  g_autoptr(RthunkWireEvalRequest) request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  g_autoptr(RthunkWireAuth) auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, "token", token, NULL);
  RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", "x", NULL);
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (rthunk_client_get_catalog (client));
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(RthunkType) x_type = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autoptr(GError) error = NULL;
  guint next_var = 0;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  x_type = rthunk_type_of_value (x, &next_var, &error);
  g_assert_no_error (error);
  rthunk_checker_bind (checker, "x", x_type);
  type = rthunk_checker_check_typed (checker, expr, &node_types, &error);
  g_assert_no_error (error);
  rthunk_wire_fill_ast (request->ast, expr, node_types);
  g_assert_true (rthunk_wire_fill_value (binding->value, x, &error));
  g_ptr_array_add (request->bindings, binding);
  request->__isset_bindings = TRUE;
  g_assert_true (rthunk_wire_remote_execution_service_client_send_submit_eval_request (
                   RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (stub), request, auth, &error));
  g_assert_no_error (error);
  return rthunk_frame_transport_take_output (transport);
}

static void
test_request_bytes (void)
{
  g_autoptr(Proxy) proxy = proxy_start (auth_server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, TOKEN);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ (len (nth x 1)) 1)");
  g_autoptr(RthunkValue) x = list_of (list_of (rthunk_value_new_str ("é"), NULL),
                                      list_of (rthunk_value_new_str ("☃"), rthunk_value_new_str ("")));
  g_autoptr(GHashTable) inputs = inputs_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) expected = NULL;

  g_hash_table_insert (inputs, g_strdup ("x"), rthunk_value_ref (x));
  /* twice: the second request carries the memo's Ast */
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, inputs, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 3);
      if (expected == NULL)
        expected = generated_request (client, expr, x, TOKEN);
      g_mutex_lock (&proxy->lock);
      g_assert_true (g_bytes_equal (proxy->last_request, expected));
      g_mutex_unlock (&proxy->lock);
    }
}

/* Submits @text with @inputs (x bound to @x) through @proxy: its value,
 * after the request was seen to be byte for byte what the generated code
 * writes for it. */
static RthunkValue *
submit_as_generated (Proxy        *proxy,
                     RthunkClient *client,
                     const char   *text,
                     GHashTable   *inputs,
                     RthunkValue  *x)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, inputs, &error);
  g_autoptr(GBytes) expected = NULL;
  RthunkValue *got;

  g_assert_no_error (error);
  expected = generated_request (client, expr, x, TOKEN);
  g_mutex_lock (&proxy->lock);
  g_assert_true (g_bytes_equal (proxy->last_request, expected));
  g_mutex_unlock (&proxy->lock);
  /* pending if the server did not finish it within the call */
  got = rthunk_value_force (value, &error);
  g_assert_no_error (error);
  return got;
}

/* Expressions of one shape (the same tree but for literals' values and
 * positions) after the first are encoded from the memo's template with
 * their own values written in: each request is still byte for byte what
 * the generated code writes for that expression. */
static void
test_request_same_shape_bytes (void)
{
  static const struct { const char *text; gint64 value; } cases[] = {
    { "(if true (+ (len x) 1) (* 2 3))", 3 },
    { "(if false (+ (len x) 10) (* 20 -3))", -60 },
    { "(if  true (+ (len x)   100)\n   (* 7 8))", 102 },
    { "(if true (+ (len x) 9223372036854775805) (* 0 0))", G_MAXINT64 },
    { "(if (< 1.5 2.5) (len x) 0)", 2 },
    { "(if (< 3.25 -1.0) (len x) 7)", 7 },
    { "(if\n(<   -0.0 1e300)\n(len x)\n-1)", 2 },
  };
  g_autoptr(Proxy) proxy = proxy_start (auth_server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, TOKEN);
  g_autoptr(RthunkValue) x = list_of (rthunk_value_new_str ("a"), rthunk_value_new_str ("b"));
  g_autoptr(GHashTable) inputs = inputs_new ();

  g_hash_table_insert (inputs, g_strdup ("x"), rthunk_value_ref (x));
  for (guint round = 0; round < 2; round++)
    for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
      {
        g_autoptr(RthunkValue) value = submit_as_generated (proxy, client, cases[k].text, inputs, x);

        g_assert_cmpint (rthunk_value_get_int (value), ==, cases[k].value);
      }
}

/* String literals are literals too: expressions of one shape but for
 * their strings' texts (of other lengths, so that what follows them moves)
 * are encoded from one template each, and each request is still byte for
 * byte what the generated code writes. */
static void
test_request_same_shape_strings (void)
{
  static const struct { const char *text; const char *printed; } cases[] = {
    { "(+ (str-len \"ab\") 1)", "3" },
    { "(+ (str-len \"\") 10)", "10" },
    { "(+\n  (str-len \"a longer text\")\n  100)", "113" },
    { "(concat \"ab\" (concat \"c\" \"d\"))", "\"abcd\"" },
    { "(concat \"\" (concat \"a quite long one\" \"!\"))", "\"a quite long one!\"" },
    { "(concat  \"x\"\n(concat \"\" \"yz\"))", "\"xyz\"" },
  };
  g_autoptr(Proxy) proxy = proxy_start (auth_server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, TOKEN);
  g_autoptr(RthunkValue) x = rthunk_value_new_int (1);
  g_autoptr(GHashTable) inputs = inputs_new ();
  guint shapes = 0;

  g_hash_table_insert (inputs, g_strdup ("x"), rthunk_value_ref (x));
  for (guint round = 0; round < 2; round++)
    for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
      {
        g_autoptr(RthunkValue) value = submit_as_generated (proxy, client, cases[k].text, inputs, x);
        g_autofree char *printed = rthunk_value_to_string (value);

        g_assert_cmpstr (printed, ==, cases[k].printed);
        if (round == 0 && k == 0)
          shapes = rthunk_client_get_checked_shapes (client);
      }
  /* two shapes: one template each */
  g_assert_cmpuint (rthunk_client_get_checked_shapes (client), ==, shapes + 1);
}

/* A tree of the shape of one of the last trees, read anew each time,
 * gives the memo the key's part that one gave, without walking it (a
 * string of other text too: no provided function is called with it); a
 * tree of another name or another kind of literal is walked, and a shape
 * seen before, among others since, is not. Each request is still what
 * the generated code writes for it. (/provided/client-memo: the text a
 * provided function is called with is part of the key.) */
static void
test_request_shape_walks (void)
{
  static const struct { const char *text; const char *printed; guint64 walks; } cases[] = {
    { "(+ (len x) 1)", "3", 1 },
    { "(+ (len x)\n 20)", "22", 1 },
    { "(+  (len x) -300)", "-298", 1 },
    { "(* (len x) 2)", "4", 2 },
    { "(* (len x) 3)", "6", 2 },
    { "(+ (str-len \"ab\") 1)", "3", 3 },
    { "(+ (str-len \"ab\") 5)", "7", 3 },
    { "(+ (str-len \"abc\") 5)", "8", 3 },
    { "(< 1.5 2.5)", "true", 4 },
    { "(< 2 (len x))", "false", 5 },
    { "(< 1 (len x))", "true", 5 },
    { "(+ (len x) 7)", "9", 5 },
    { "(* (len x) 5)", "10", 5 },
  };
  g_autoptr(Proxy) proxy = proxy_start (auth_server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, TOKEN);
  g_autoptr(RthunkValue) x = list_of (rthunk_value_new_str ("a"), rthunk_value_new_str ("b"));
  g_autoptr(GHashTable) inputs = inputs_new ();
  guint64 before = 0;

  g_hash_table_insert (inputs, g_strdup ("x"), rthunk_value_ref (x));
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(RthunkValue) value = submit_as_generated (proxy, client, cases[k].text, inputs, x);
      g_autofree char *printed = rthunk_value_to_string (value);

      g_assert_cmpstr (printed, ==, cases[k].printed);
      if (k == 0)
        before = rthunk_client_get_shape_walks (client) - 1;
      g_assert_cmpuint (rthunk_client_get_shape_walks (client) - before, ==, cases[k].walks);
    }
}

/* ---- forged replies ----------------------------------------------------------- */

/* A reply to submitEvalRequest with @seqid and, as its result struct's
 * fields, @fields. */
static GBytes *
reply_named (const char *name,
             gsize       name_len,
             guint8      type,
             gint32      seqid,
             GByteArray *fields)
{
  GByteArray *out = g_byte_array_new ();

  rthunk_codec_put_i32 (out, (gint32) (0x80010000u | type));
  rthunk_codec_put_binary (out, name, name_len);
  rthunk_codec_put_i32 (out, seqid);
  g_byte_array_append (out, fields->data, fields->len);
  rthunk_codec_put_stop (out);
  g_byte_array_unref (fields);
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
reply_new (guint8      type,
           gint32      seqid,
           GByteArray *fields)
{
  return reply_named ("submitEvalRequest", strlen ("submitEvalRequest"), type, seqid, fields);
}

/* The server's reply, with another seqid: the codec leaves it to the
 * generated code, which does not look at seqids. */
static GBytes *
forge_seqid (GBytes *reply)
{
  GByteArray *copy = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (reply, &len);
  guint32 name_len;

  g_byte_array_append (copy, data, len);
  memcpy (&name_len, data + 4, 4);
  copy->data[4 + 4 + GUINT32_FROM_BE (name_len) + 3] ^= 7;
  return g_byte_array_free_to_bytes (copy);
}

static GBytes *
forge_application_exception (GBytes *reply)
{
  GByteArray *fields = g_byte_array_new ();

  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (fields, "forged failure");
  rthunk_codec_put_field (fields, RTHUNK_CODEC_I32, 2);
  rthunk_codec_put_i32 (fields, 6);
  return reply_new (RTHUNK_CODEC_EXCEPTION, 0, fields);
}

/* How put_done_thunk() forges its value. */
typedef enum
{
  VALUE_INT,            /* an INT 7 */
  VALUE_FORWARD,        /* a LIST whose item is not an earlier node */
  VALUE_NUL,            /* a STR "a\0b" */
} ForgedValue;

/* A Value of one node (see ForgedValue). */
static void
put_one_node_value (GByteArray  *out,
                    ForgedValue  forged)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  if (forged == VALUE_NUL)
    {
      rthunk_codec_put_i32 (out, RTHUNK_WIRE_VALUE_KIND_STR);
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 5);
      rthunk_codec_put_binary (out, "a\0b", 3);
    }
  else if (forged == VALUE_FORWARD)
    {
      rthunk_codec_put_i32 (out, RTHUNK_WIRE_VALUE_KIND_LIST);
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 6);
      rthunk_codec_put_list (out, RTHUNK_CODEC_I32, 1);
      rthunk_codec_put_i32 (out, 1);
    }
  else
    {
      rthunk_codec_put_i32 (out, RTHUNK_WIRE_VALUE_KIND_INT);
      rthunk_codec_put_field (out, RTHUNK_CODEC_I64, 3);
      rthunk_codec_put_i64 (out, 7);
    }
  rthunk_codec_put_stop (out);          /* the node */
  rthunk_codec_put_stop (out);          /* the Value */
}

/* A RemoteThunk field 0 of a finished thunk whose value is one node (see
 * put_one_node_value()); with @unknown, a field no version of the IDL has. */
static void
put_done_thunk (GByteArray  *fields,
                ForgedValue  forged,
                gboolean     unknown)
{
  static const guint8 id[16] = { 1, 2, 3 };

  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRUCT, 0);
  if (unknown)
    {
      rthunk_codec_put_field (fields, RTHUNK_CODEC_LIST, 9);
      rthunk_codec_put_list (fields, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_string (fields, "from a newer server");
    }
  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_binary (fields, id, sizeof id);
  rthunk_codec_put_field (fields, RTHUNK_CODEC_I32, 3);
  rthunk_codec_put_i32 (fields, RTHUNK_WIRE_THUNK_STATE_DONE);
  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRUCT, 4);
  put_one_node_value (fields, forged);
  rthunk_codec_put_stop (fields);
}

/* An exception struct { 1: code, 2: message } as field @id. */
static void
put_exception (GByteArray *fields,
               gint16      id,
               gint32      code,
               const char *message)
{
  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRUCT, id);
  rthunk_codec_put_field (fields, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (fields, code);
  rthunk_codec_put_field (fields, RTHUNK_CODEC_STRING, 2);
  rthunk_codec_put_string (fields, message);
  rthunk_codec_put_stop (fields);
}

/* A result and an exception: the generated code reports the exception. */
static GBytes *
forge_result_and_type_failure (GBytes *reply)
{
  GByteArray *fields = g_byte_array_new ();

  put_done_thunk (fields, VALUE_INT, FALSE);
  put_exception (fields, 2, RTHUNK_ERROR_TYPE_MISMATCH, "forged type failure");
  return reply_new (RTHUNK_CODEC_REPLY, 0, fields);
}

static GBytes *
forge_overloaded (GBytes *reply)
{
  GByteArray *fields = g_byte_array_new ();

  put_exception (fields, 4, RTHUNK_ERROR_OVERLOADED, "forged overload");
  return reply_new (RTHUNK_CODEC_REPLY, 0, fields);
}

/* A reply of one finished thunk (see put_done_thunk()). */
static GBytes *
done_reply (ForgedValue forged,
            gboolean    unknown)
{
  GByteArray *fields = g_byte_array_new ();

  put_done_thunk (fields, forged, unknown);
  return reply_new (RTHUNK_CODEC_REPLY, 0, fields);
}

static GBytes *
forge_refused_value (GBytes *reply)
{
  return done_reply (VALUE_FORWARD, FALSE);
}

/* A finished thunk with an unknown field: the codec skips it. */
static GBytes *
forge_unknown_field (GBytes *reply)
{
  return done_reply (VALUE_INT, TRUE);
}

/* A string value holding a NUL byte, which a C string would cut short. */
static GBytes *
forge_nul_in_value (GBytes *reply)
{
  return done_reply (VALUE_NUL, FALSE);
}

/* The right reply under the method name "submitEvalRequest\0x". */
static GBytes *
forge_nul_in_method_name (GBytes *reply)
{
  static const char name[] = "submitEvalRequest\0x";
  GByteArray *fields = g_byte_array_new ();

  put_done_thunk (fields, VALUE_INT, FALSE);
  return reply_named (name, sizeof name - 1, RTHUNK_CODEC_REPLY, 0, fields);
}

static GBytes *
forge_close (GBytes *reply)
{
  return NULL;
}

typedef struct
{
  const char *path;
  ForgeFunc forge;
  const char *printed;          /* NULL: it fails with @code */
  gint code;
  const char *message;          /* part of the error's message */
  guint opened;                 /* connections opened after two calls */
} ForgeCase;

static const ForgeCase forge_cases[] = {
  { "/client-codec/forged/seqid", forge_seqid, "3", 0, NULL, 1 },
  { "/client-codec/forged/unknown-field", forge_unknown_field, "7", 0, NULL, 1 },
  { "/client-codec/forged/result-and-exception", forge_result_and_type_failure, NULL,
    RTHUNK_ERROR_TYPE_MISMATCH, "forged type failure", 1 },
  { "/client-codec/forged/overloaded", forge_overloaded, NULL, RTHUNK_ERROR_OVERLOADED, "forged overload", 1 },
  { "/client-codec/forged/refused-value", forge_refused_value, NULL, RTHUNK_ERROR_INVALID_REQUEST, NULL, 1 },
  { "/client-codec/forged/application-exception", forge_application_exception, NULL,
    RTHUNK_ERROR_CONNECTION_LOST, "forged failure", 2 },
  { "/client-codec/forged/nul-in-value", forge_nul_in_value, NULL, RTHUNK_ERROR_CONNECTION_LOST,
    "the string value_node.text holds a NUL byte", 2 },
  { "/client-codec/forged/nul-in-method-name", forge_nul_in_method_name, NULL, RTHUNK_ERROR_CONNECTION_LOST,
    "the method name at byte 8 holds a NUL byte", 2 },
  { "/client-codec/forged/connection-closed", forge_close, NULL, RTHUNK_ERROR_CONNECTION_LOST, NULL, 2 },
};

static void
test_forged (gconstpointer data)
{
  const ForgeCase *c = data;
  g_autoptr(Proxy) proxy = proxy_start (shared_server, c->forge);
  g_autoptr(RthunkClient) client = new_client (proxy->address, NULL);

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) value = eval_remote (client, "(+ 1 2)", NULL, NULL, &error);

      if (c->printed != NULL)
        {
          g_autofree char *got = NULL;

          g_assert_no_error (error);
          got = rthunk_value_to_string (value);
          g_assert_cmpstr (got, ==, c->printed);
          continue;
        }
      g_assert_null (value);
      g_assert_error (error, RTHUNK_ERROR, c->code);
      if (c->message != NULL)
        g_assert_nonnull (strstr (error->message, c->message));
    }
  /* an exception keeps the connection; a broken call drops it */
  g_assert_cmpuint (rthunk_client_get_connections_opened (client), ==, c->opened);
}

/* ---- a dead server ------------------------------------------------------------ */

static void
test_dead_server (void)
{
  TestServer *server = test_server_start ("codec-dead", NULL);
  g_autoptr(Proxy) proxy = proxy_start (server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 1 2)");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  assert_eval (client, "(+ 1 2)", "3");
  /* the proxy's connection stays open; the server behind it dies */
  test_server_kill (server);
  value = rthunk_client_submit (client, expr, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST);
}

/* ---- queued submissions: frames sent while a burst is made ---------------- */

/* The server's counter @name, read by a client of its own (the one under
 * test is not disturbed). */
static gint64
server_counter (const char *address,
                const char *name)
{
  g_autoptr(RthunkClient) observer = new_client (address, NULL);
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GVariant) counters = NULL;
  g_autoptr(GError) error = NULL;
  gint64 value = -1;

  info = rthunk_client_get_server_info (observer, &error);
  g_assert_no_error (error);
  counters = g_variant_lookup_value (info, "counters", G_VARIANT_TYPE ("a{sx}"));
  g_assert_true (g_variant_lookup (counters, name, "x", &value));
  return value;
}

/* rthunk_client_enqueue() with the pending value it makes at once (no
 * callback): the value, or %NULL with @error set. */
static RthunkValue *
enqueue_value (RthunkClient  *client,
               RthunkNode    *expr,
               GHashTable    *inputs,
               const guint8  *id,
               GError       **error)
{
  RthunkValue *value = NULL;

  if (!rthunk_client_enqueue (client, expr, inputs, id, NULL, NULL, NULL, &value, error))
    return NULL;
  return value;
}

/* Queues @n links of the chain (+ x 1) from 0, each naming the one before
 * by the id the client chose; returns the last link's pending value. */
static RthunkValue *
enqueue_chain (RthunkClient *client,
               guint         n)
{
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ x 1)");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GError) error = NULL;
  RthunkValue *x = rthunk_value_new_int (0);

  for (guint k = 0; k < n; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      g_hash_table_replace (inputs, (gpointer) "x", x);
      rthunk_client_random_id (id);
      x = enqueue_value (client, expr, inputs, id, &error);
      g_assert_no_error (error);
    }
  /* the table's last input is unreffed with it; x is the chain's end */
  return x;
}

/* A burst longer than RTHUNK_CLIENT_SEND_AT leaves while it is made: the
 * server holds the first frames' links before anything is flushed. A call
 * on the same client (one connection, which the frames in flight hold)
 * settles them first, and the chain's value is right. */
static void
test_queue_sends_while_made (void)
{
  const guint n = 3 * RTHUNK_CLIENT_SEND_AT + 5;
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkValue) last = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  gint64 submitted = server_counter (shared_server->address, "submitted");
  gint64 batches = server_counter (shared_server->address, "batches");
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  last = enqueue_chain (client, n);
  g_assert_cmpuint (rthunk_client_get_queued (client), <, RTHUNK_CLIENT_SEND_AT);
  /* nothing flushed: the server is seen to take three frames' links */
  while (server_counter (shared_server->address, "submitted") - submitted < 3 * RTHUNK_CLIENT_SEND_AT)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
  g_assert_cmpint (server_counter (shared_server->address, "batches") - batches, >=, 3);
  /* another call on the one connection: it waits for nothing */
  info = rthunk_client_get_server_info (client, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_client_get_queued (client), ==, 0);
  value = rthunk_value_force (last, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (value), ==, n);
}

/* Requests whose inputs are all pending thunks of the client's server
 * are made from the last such request of the same tree, its bytes with
 * the thunks' ids put in: each input must name its own thunk. Links of two
 * trees, one and two inputs, alternate and swap their inputs. */
static void
test_queue_prepared_inputs (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) inc = test_parse_one ("(+ x 1)");
  g_autoptr(RthunkNode) minus = test_parse_one ("(- x y)");
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autoptr(GError) error = NULL;
  /* each link: its tree, x and y (indices of earlier links; -1: none, or
   * the int 0 for x), another name for y if not "y" (an unused input of
   * (+ x 1)), and its value */
  static const struct { gboolean minus; gint x, y; const char *y_name; gint64 value; } links[] = {
    { FALSE, -1, -1, NULL, 1 }, { FALSE, 0, -1, NULL, 2 }, { FALSE, 1, -1, NULL, 3 },
    { TRUE, 2, 1, NULL, 1 }, { TRUE, 1, 2, NULL, -1 }, { TRUE, 3, 4, NULL, 2 }, { TRUE, 2, 0, NULL, 2 },
    { FALSE, 2, -1, NULL, 4 }, { FALSE, 7, -1, NULL, 5 }, { TRUE, 8, 7, NULL, 1 }, { FALSE, 9, -1, NULL, 2 },
    /* as many inputs as the last request of (+ x 1), not the same names */
    { FALSE, 10, 9, NULL, 3 }, { FALSE, 11, 9, "z", 4 }, { FALSE, 12, 9, "z", 5 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (links); k++)
    {
      g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                            (GDestroyNotify) rthunk_value_unref);
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      g_hash_table_insert (inputs, (gpointer) "x",
                           links[k].x < 0 ? rthunk_value_new_int (0)
                                          : rthunk_value_ref (g_ptr_array_index (values, links[k].x)));
      if (links[k].y >= 0)
        g_hash_table_insert (inputs, (gpointer) (links[k].y_name != NULL ? links[k].y_name : "y"),
                             rthunk_value_ref (g_ptr_array_index (values, links[k].y)));
      rthunk_client_random_id (id);
      g_ptr_array_add (values, enqueue_value (client, links[k].minus ? minus : inc, inputs, id, &error));
      g_assert_no_error (error);
    }
  g_assert_true (rthunk_client_flush (client, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < G_N_ELEMENTS (links); k++)
    {
      g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, links[k].value);
    }
}

/* The value @text spells: a string in quotes, a float with a point or an
 * exponent, an int otherwise. */
static RthunkValue *
number_or_string (const char *text)
{
  if (text[0] == '"')
    {
      g_autofree char *inside = g_strndup (text + 1, strlen (text) - 2);

      return rthunk_value_new_str (inside);
    }
  if (strpbrk (text, ".e") != NULL)
    return rthunk_value_new_float (g_ascii_strtod (text, NULL));
  return rthunk_value_new_int (g_ascii_strtoll (text, NULL, 10));
}

/* Requests whose inputs are ints and floats are made from the last one of
 * the same tree, the numbers put in (a loop's counter sent again and
 * again): each value must be its own, extremes included, and an input of
 * another kind or type must not be put where a number was. */
static void
test_prepared_numbers (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) twice = test_parse_one ("(* x 2)");
  g_autoptr(RthunkNode) half = test_parse_one ("(+ x 0.5)");
  g_autoptr(RthunkNode) both = test_parse_one ("(+ (* x 2) (int (sqrt y)))");
  static const struct { guint tree; const char *x; const char *y; const char *expected; } calls[] = {
    { 0, "3", NULL, "6" }, { 0, "-4", NULL, "-8" }, { 0, "1099511627776", NULL, "2199023255552" },
    { 0, "-4611686018427387904", NULL, "-9223372036854775808" }, { 0, "0", NULL, "0" },
    { 1, "1.25", NULL, "1.75" }, { 1, "-2.5", NULL, "-2.0" }, { 1, "1e300", NULL, "1e+300" },
    /* the same name, a float where an int was, then an int again */
    { 0, "1.5", NULL, NULL }, { 0, "7", NULL, "14" },
    /* a string where an int was: a type error, not a number read from its bytes */
    { 0, "\"ab\"", NULL, NULL }, { 0, "8", NULL, "16" },
    /* two numbers of two kinds */
    { 2, "5", "2.25", "11" }, { 2, "-5", "16.0", "-6" }, { 2, "6", "3", NULL }, { 2, "1", "1.0", "3" },
  };
  RthunkNode *trees[] = { twice, half, both };

  for (guint k = 0; k < G_N_ELEMENTS (calls); k++)
    {
      g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                            (GDestroyNotify) rthunk_value_unref);
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(RthunkValue) forced = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *printed = NULL;

      g_hash_table_insert (inputs, (gpointer) "x", number_or_string (calls[k].x));
      if (calls[k].y != NULL)
        g_hash_table_insert (inputs, (gpointer) "y", number_or_string (calls[k].y));
      value = rthunk_client_submit (client, trees[calls[k].tree], inputs, &error);
      if (value != NULL)
        forced = rthunk_value_force (value, &error);
      if (calls[k].expected == NULL)
        {
          g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
          continue;
        }
      g_assert_no_error (error);
      printed = rthunk_value_to_string (forced);
      g_assert_cmpstr (printed, ==, calls[k].expected);
    }
}

/* Large requests and large replies in flight at once: a client that wrote
 * its frames without reading the replies that came meanwhile would block
 * on a full socket while the server blocks writing to it. Each of 640
 * submissions carries a 48 KiB string and gets it back, one character
 * longer: about 30 MiB each way. */
static void
test_queue_large_both_ways (void)
{
  const guint n = 10 * RTHUNK_CLIENT_SEND_AT;
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(concat s \"!\")");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autofree char *big = g_strnfill (48 * 1024, 'a');
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < n; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      /* each its own: the server's result cache must not answer */
      big[0] = (char) ('a' + k % 26);
      big[1] = (char) ('a' + k / 26 % 26);
      g_hash_table_replace (inputs, (gpointer) "s", rthunk_value_new_str (big));
      rthunk_client_random_id (id);
      g_ptr_array_add (values, enqueue_value (client, expr, inputs, id, &error));
      g_assert_no_error (error);
    }
  g_assert_true (rthunk_client_flush (client, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &error);
      const char *got;

      g_assert_no_error (error);
      got = rthunk_value_get_str (value);
      g_assert_cmpuint (strlen (got), ==, 48 * 1024 + 1);
      g_assert_cmpint (got[0], ==, 'a' + k % 26);
      g_assert_cmpint (got[1], ==, 'a' + k / 26 % 26);
      g_assert_cmpint (got[48 * 1024], ==, '!');
    }
}

/* More queued than a frame takes (another thread was sending): the frames
 * take RTHUNK_CLIENT_MAX_BATCH at a time, the first ones cut from the
 * queue, the last the whole queue as it stands, and every value is its
 * own. */
static void
test_queue_past_one_frame (void)
{
  const guint n = 2 * RTHUNK_CLIENT_MAX_BATCH + RTHUNK_CLIENT_MAX_BATCH / 2;
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(* i 3)");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autoptr(GError) error = NULL;

  /* as if another thread were sending: enqueue sends nothing itself */
  g_mutex_lock (&client->flush_lock);
  for (guint k = 0; k < n; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      g_hash_table_replace (inputs, (gpointer) "i", rthunk_value_new_int (k));
      rthunk_client_random_id (id);
      g_ptr_array_add (values, enqueue_value (client, expr, inputs, id, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (rthunk_client_get_queued (client), ==, n);
  g_mutex_unlock (&client->flush_lock);
  g_assert_true (rthunk_client_flush (client, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rthunk_client_get_queued (client), ==, 0);
  for (guint k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 3 * (gint64) k);
    }
}

/* A thread whose last submission to queue fails (a type error) after one
 * that was queued: the buffer it took from the thread is given back, not
 * freed under the thread's GPrivate, which frees what it holds when the
 * thread ends. */
static gpointer
queue_then_fail (gpointer data)
{
  RthunkClient *client = data;
  g_autoptr(RthunkNode) good = test_parse_one ("(+ 1 2)");
  g_autoptr(RthunkNode) bad = test_parse_one ("(+ 1 \"x\")");
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) forced = NULL;
  g_autoptr(RthunkValue) none = NULL;
  g_autoptr(GError) error = NULL;
  guint8 id[RTHUNK_CLIENT_ID_LEN];

  rthunk_client_random_id (id);
  value = enqueue_value (client, good, NULL, id, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_client_flush (client, &error));
  forced = rthunk_value_force (value, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (forced), ==, 3);
  rthunk_client_random_id (id);
  none = enqueue_value (client, bad, NULL, id, &error);
  g_assert_null (none);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
  return NULL;
}

static void
test_queue_refused_then_thread_ends (void)
{
  g_autoptr(RthunkClient) client = new_client (shared_server->address, NULL);

  /* twice: the second thread may be given the first one's memory */
  for (guint k = 0; k < 2; k++)
    g_thread_join (g_thread_new ("queue-then-fail", queue_then_fail, client));
}

/* The server dies while frames are in flight: every queued submission
 * fails with the lost connection (none hangs, none is lost silently). */
static void
test_queue_server_dies (void)
{
  /* two frames, both sent by enqueue (the proxy takes no new connection
   * once its server is dead) */
  const guint n = 2 * RTHUNK_CLIENT_SEND_AT;
  TestServer *server = test_server_start ("codec-queue-dead", NULL);
  g_autoptr(Proxy) proxy = proxy_start (server, NULL);
  g_autoptr(RthunkClient) client = new_client (proxy->address, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 1 2)");
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autoptr(GError) error = NULL;

  assert_eval (client, "(+ 1 2)", "3");
  test_server_kill (server);
  for (guint k = 0; k < n; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      rthunk_client_random_id (id);
      g_ptr_array_add (values, enqueue_value (client, expr, NULL, id, &error));
      g_assert_no_error (error);
    }
  g_assert_false (rthunk_client_flush (client, &error));
  g_assert_true (g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST) ||
                 g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION));
  for (guint k = 0; k < n; k++)
    {
      g_autoptr(GError) force_error = NULL;
      g_autoptr(RthunkValue) value = rthunk_value_force (g_ptr_array_index (values, k), &force_error);

      g_assert_null (value);
      g_assert_true (g_error_matches (force_error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST) ||
                     g_error_matches (force_error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION));
    }
}

int
main (int    argc,
      char **argv)
{
  const char *args[] = { "--workers", "4", NULL };
  const char *auth_args[] = { "--workers", "2", "--token-file", NULL, NULL };
  g_autofree char *token_file = NULL;
  g_autoptr(GError) error = NULL;
  int fd, rc;

  g_test_init (&argc, &argv, NULL);
  fd = g_file_open_tmp ("test-client-codec-XXXXXX", &token_file, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (token_file, TOKEN "\n", -1, &error));
  close (fd);
  auth_args[3] = token_file;
  shared_server = test_server_start ("client-codec", args);
  auth_server = test_server_start ("client-codec-auth", auth_args);
  TEST_ADD_TABLE (value_cases, test_value);
  g_test_add_func ("/client-codec/inputs/round-trip", test_inputs_round_trip);
  g_test_add_func ("/client-codec/inputs/pending", test_inputs_pending);
  g_test_add_func ("/client-codec/batch/values-and-failures", test_batch);
  g_test_add_func ("/client-codec/batch/from-threads", test_batch_from_threads);
  g_test_add_func ("/client-codec/await/many", test_await_many);
  g_test_add_func ("/client-codec/errors/missing-definitions", test_missing_definitions);
  g_test_add_func ("/client-codec/errors/definition-chain", test_definition_chain);
  g_test_add_func ("/client-codec/request/memo-with-definitions", test_memo_with_definitions);
  g_test_add_func ("/client-codec/request/server-memo-definitions", test_server_memo_definitions);
  g_test_add_func ("/client-codec/errors/token", test_token);
  g_test_add_func ("/client-codec/errors/dead-server", test_dead_server);
  g_test_add_func ("/client-codec/request/same-bytes-as-generated", test_request_bytes);
  g_test_add_func ("/client-codec/request/same-shape-bytes", test_request_same_shape_bytes);
  g_test_add_func ("/client-codec/request/same-shape-strings", test_request_same_shape_strings);
  g_test_add_func ("/client-codec/request/shape-walks", test_request_shape_walks);
  g_test_add_func ("/client-codec/queue/sends-while-made", test_queue_sends_while_made);
  g_test_add_func ("/client-codec/queue/prepared-inputs", test_queue_prepared_inputs);
  g_test_add_func ("/client-codec/prepared-numbers", test_prepared_numbers);
  g_test_add_func ("/client-codec/queue/large-both-ways", test_queue_large_both_ways);
  g_test_add_func ("/client-codec/queue/past-one-frame", test_queue_past_one_frame);
  g_test_add_func ("/client-codec/queue/refused-then-thread-ends", test_queue_refused_then_thread_ends);
  g_test_add_func ("/client-codec/queue/server-dies", test_queue_server_dies);
  TEST_ADD_TABLE (forge_cases, test_forged);
  rc = g_test_run ();
  test_server_stop (shared_server);
  test_server_stop (auth_server);
  g_unlink (token_file);
  return rc;
}
