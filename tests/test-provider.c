/* test-provider.c — rthunkd as a provider service: content-addressed
 * code, the result cache, cancellation, every limit with its flag, auth,
 * --config, the server functions, and many concurrent clients.
 *
 * Real rthunkd processes on free loopback ports. A case whose assertions
 * depend on exact counters starts a server of its own; the others share
 * one. Calls the RthunkClient does not have go through the generated
 * Thrift client over RthunkFrameTransport, as rthunk-client.c builds it.
 * Times are only ever bounded from below (what the server guarantees);
 * every wait has a generous cap, so a loaded machine makes this slower,
 * never red.
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "testtable.h"
#include "testutil.h"
#include "wireutil.h"

#define SHARED_NAME "provider"
#define TOKEN "s3cret-Token-42"
#define SOCKET_TIMEOUT_MS 90000         /* above every thunkAwait below */
#define AWAIT_SLICE_MS 10000
#define WAIT_CAP_US (180 * G_USEC_PER_SEC)
#define LONG_DELAY "(delay 600000 1)"   /* ten minutes: only cancel or a deadline ends it
                                         * (servers that hold one run with --deadline-ms 0) */
#define N_THREADS 16
#define N_PER_THREAD 500
#define BLOCK 50                        /* per thread: 25 single submissions, then a batch of 25 */

static TestServer *shared_server;
static TestServer *auth_server;
static char *tmp_dir;

/* ---- the generated client over our framing --------------------------------- */

/* A connection whose calls carry @token (none when NULL). */
static Wire *
conn_open_with (TestServer *server,
                const char *token,
                guint       timeout_ms)
{
  Wire *c = wire_open (server, timeout_ms);

  if (token != NULL)
    g_object_set (c->auth, "token", token, NULL);
  return c;
}

static Wire *
conn_open (TestServer *server)
{
  return conn_open_with (server, server == auth_server ? TOKEN : NULL, SOCKET_TIMEOUT_MS);
}

/* Fails the test unless the call threw an IDL exception. */
static void
assert_thrown (WireFailure *t,
               GType        type,
               gint         code)
{
  g_assert_no_error (t->error);
  if (t->type != type)
    g_error ("expected %s, got %s (code %d): %s", g_type_name (type),
             t->type != 0 ? g_type_name (t->type) : "nothing", t->code, t->message);
  g_assert_cmpint (t->code, ==, code);
  g_assert_nonnull (t->message);
  g_assert_cmpuint (strlen (t->message), >, 0);
}

/* Fails the test with what @t says: for a call that had to succeed. */
static void
assert_nothing_thrown (gboolean     ok,
                       WireFailure *t)
{
  if (ok)
    return;
  g_assert_no_error (t->error);
  g_error ("unexpected %s (code %d): %s", g_type_name (t->type), t->code, t->message);
}

#define EXC(p) ((gpointer) &(p))

static gboolean
call_func_defs (Wire         *c,
                GPtrArray    *names,
                GPtrArray   **defs,
                WireFailure  *t)
{
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;

  *defs = g_ptr_array_new_with_free_func (g_object_unref);
  if (rthunk_wire_remote_execution_service_if_get_func_defs (c->stub, defs, names, c->auth,
                                                             EXC (exc[0]), EXC (exc[1]), &error))
    return TRUE;
  g_clear_pointer (defs, g_ptr_array_unref);
  wire_failure_take (t, error, exc, G_N_ELEMENTS (exc));
  return FALSE;
}

static gboolean
call_batch (Wire         *c,
            GPtrArray    *requests,
            GPtrArray   **thunks,
            WireFailure  *t)
{
  GObject *exc[3] = { NULL, NULL, NULL };
  GError *error = NULL;

  *thunks = g_ptr_array_new_with_free_func (g_object_unref);
  if (rthunk_wire_remote_execution_service_if_submit_batch (c->stub, thunks, requests, c->auth,
                                                             EXC (exc[0]), EXC (exc[1]), EXC (exc[2]),
                                                             &error))
    return TRUE;
  g_clear_pointer (thunks, g_ptr_array_unref);
  wire_failure_take (t, error, exc, G_N_ELEMENTS (exc));
  return FALSE;
}

static gboolean
call_put (Wire        *c,
          GPtrArray   *definitions,
          gint32      *added,
          WireFailure *t)
{
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;

  *added = -1;
  if (rthunk_wire_remote_execution_service_if_put_definitions (c->stub, added, definitions, c->auth,
                                                               EXC (exc[0]), EXC (exc[1]), &error))
    return TRUE;
  wire_failure_take (t, error, exc, G_N_ELEMENTS (exc));
  return FALSE;
}

/* ---- calls that must succeed ----------------------------------------------- */

/* ---- requests and values ----------------------------------------------------- */

static RthunkWireEvalOptions *
options_of (RthunkWireEvalRequest *request)
{
  request->__isset_options = TRUE;
  return request->options;
}

/* A request for @text with no client-side check (the server checks);
 * @inline_budget_ms < 0 keeps the server's default. */
static RthunkWireEvalRequest *
request_new (const char *text,
             gint        inline_budget_ms)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  g_autoptr(RthunkNode) node = test_parse_one (text);

  rthunk_wire_fill_ast (request->ast, node, NULL);
  if (inline_budget_ms >= 0)
    {
      options_of (request)->inlineBudgetMs = inline_budget_ms;
      request->options->__isset_inlineBudgetMs = TRUE;
    }
  return request;
}

static void
request_bind (RthunkWireEvalRequest *request,
              const char            *name,
              RthunkValue           *value)
{
  RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_wire_fill_value (binding->value, value, &error));
  g_assert_no_error (error);
  g_ptr_array_add (request->bindings, binding);
  request->__isset_bindings = TRUE;
}

static void
request_bind_int (RthunkWireEvalRequest *request,
                  const char            *name,
                  gint64                 i)
{
  g_autoptr(RthunkValue) value = rthunk_value_new_int (i);

  request_bind (request, name, value);
}

static void
request_no_cache (RthunkWireEvalRequest *request)
{
  options_of (request)->useCache = FALSE;
  request->options->__isset_useCache = TRUE;
}

/* A VECTOR of @n_items ints: @n_items + 1 nodes. */
static RthunkWireEvalRequest *
request_wide_vector (guint n_items)
{
  g_autoptr(GString) text = g_string_new ("[");

  for (guint k = 0; k < n_items; k++)
    g_string_append_printf (text, "%s%u", k > 0 ? " " : "", k);
  g_string_append_c (text, ']');
  return request_new (text->str, -1);
}

static RthunkValue *
read_value (RthunkWireValue *wire)
{
  g_autoptr(GError) error = NULL;
  RthunkValue *value = rthunk_wire_read_value (wire, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

static char *
printed (RthunkWireValue *wire)
{
  g_autoptr(RthunkValue) value = read_value (wire);

  return rthunk_value_to_string (value);
}

/* What a finished thunk printed as, or fails the test with its error. */
static char *
cont_printed (RthunkWireVarCont *cont)
{
  if (cont->state != RTHUNK_WIRE_THUNK_STATE_DONE)
    g_error ("the thunk ended in state %d: %s (code %d)", cont->state,
             cont->__isset_error ? cont->error->message : "no error",
             cont->__isset_error ? cont->error->code : 0);
  g_assert_true (cont->__isset_value);
  return printed (cont->value);
}

static gint64
cont_int (RthunkWireVarCont *cont)
{
  g_autoptr(RthunkValue) value = NULL;

  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  value = read_value (cont->value);
  g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_INT);
  return rthunk_value_get_int (value);
}

/* Submits @request and waits for its end. */
static RthunkWireVarCont *
run (Wire                  *c,
     RthunkWireEvalRequest *request)
{
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (c, request, NULL);

  return wire_wait_finished (c, thunk->id, WAIT_CAP_US);
}

static char *
run_printed (Wire       *c,
             const char *text)
{
  g_autoptr(RthunkWireEvalRequest) request = request_new (text, -1);
  g_autoptr(RthunkWireVarCont) cont = run (c, request);

  return cont_printed (cont);
}

/* The connection still answers: the check after every refused call. */
static void
assert_conn_works (Wire *c)
{
  g_autofree char *value = run_printed (c, "(+ 1 2)");

  g_assert_cmpstr (value, ==, "3");
}

/* A long thunk that only cancel or a deadline ends. */
static GByteArray *
submit_long (Wire *c)
{
  g_autoptr(RthunkWireEvalRequest) request = request_new (LONG_DELAY, 0);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (c, request, NULL);

  g_assert_false (thunk->__isset_state && thunk->state >= RTHUNK_WIRE_THUNK_STATE_DONE);
  return g_byte_array_ref (thunk->id);
}

/* ---- definitions: name → defn form, hashed the way the library does -------- */

static GHashTable *
defs_new (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<defs>", text, -1, &error);
  GHashTable *defs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) rthunk_node_unref);

  g_assert_no_error (error);
  for (guint k = 0; k < forms->len; k++)
    {
      RthunkNode *form = g_ptr_array_index (forms, k);

      g_assert_true (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"));
      g_hash_table_insert (defs, g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, 1))),
                           rthunk_node_ref (form));
    }
  return defs;
}

static gboolean
resolve_in_defs (const char *name,
                 guint8      hash[RTHUNK_HASH_LEN],
                 gpointer    user_data)
{
  GHashTable *defs = user_data;
  RthunkNode *form = g_hash_table_lookup (defs, name);
  g_autoptr(GError) error = NULL;

  if (form == NULL)
    return FALSE;
  g_assert_true (rthunk_hash_definition (form, resolve_in_defs, defs, hash, &error));
  g_assert_no_error (error);
  return TRUE;
}

static GByteArray *
defs_hash (GHashTable *defs,
           const char *name)
{
  guint8 hash[RTHUNK_HASH_LEN];
  GByteArray *bytes = NULL;

  g_assert_true (resolve_in_defs (name, hash, defs));
  rthunk_wire_set_bytes (&bytes, hash, RTHUNK_HASH_LEN);
  return bytes;
}

/* The Definition message for @name, with the hash it really has. */
static RthunkWireDefinition *
defs_wire (GHashTable *defs,
           const char *name)
{
  RthunkNode *form = g_hash_table_lookup (defs, name);
  RthunkWireDefinition *def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
  g_autoptr(GPtrArray) uses = rthunk_hash_collect_references (form, resolve_in_defs, defs);

  g_assert_nonnull (form);
  g_clear_pointer (&def->hash, g_byte_array_unref);
  def->hash = defs_hash (defs, name);
  rthunk_wire_fill_ast (def->form, form, NULL);
  for (guint k = 0; k < uses->len; k++)
    {
      const char *used = g_ptr_array_index (uses, k);
      RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", used, NULL);

      g_clear_pointer (&ref->hash, g_byte_array_unref);
      ref->hash = defs_hash (defs, used);
      g_ptr_array_add (def->uses, ref);
    }
  return def;
}

static void
request_add_def_ref (RthunkWireEvalRequest *request,
                     const char            *name,
                     const GByteArray      *hash)
{
  RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", name, NULL);

  rthunk_wire_set_bytes (&ref->hash, hash->data, hash->len);
  g_ptr_array_add (request->definitions, ref);
  request->__isset_definitions = TRUE;
}

/* Names every definition of @defs in @request. */
static void
request_add_defs (RthunkWireEvalRequest *request,
                  GHashTable            *defs)
{
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, defs);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      g_autoptr(GByteArray) hash = defs_hash (defs, name);

      request_add_def_ref (request, name, hash);
    }
}

/* putDefinitions of @names, in that order; returns how many were new. */
static gint32
put_defs (Wire              *c,
          GHashTable        *defs,
          const char *const *names)
{
  g_autoptr(GPtrArray) wire = g_ptr_array_new_with_free_func (g_object_unref);
  gint32 added;
  WireFailure t = { 0, };

  for (guint k = 0; names[k] != NULL; k++)
    g_ptr_array_add (wire, defs_wire (defs, names[k]));
  assert_nothing_thrown (call_put (c, wire, &added, &t), &t);
  return added;
}

/* ---- content-addressed code through RthunkClient ---------------------------- */

#define SQ "(defn sq [n] (* n n))"
#define SUMSQ "(defn sumsq [a b] (+ (sq a) (sq b)))"

static RthunkClient *
client_for (TestServer *server,
            const char *token)
{
  RthunkClient *client = rthunk_client_new (server->address);
  g_autoptr(GError) error = NULL;

  rthunk_client_set_token (client, token);
  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  return client;
}

/* rthunk_client_submit_full of @text with @defs; the forced value printed. */
static char *
client_eval (RthunkClient *client,
             const char   *text,
             GHashTable   *defs,
             GError      **error)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) value = rthunk_client_submit_full (client, expr, NULL, defs, error);
  g_autoptr(RthunkValue) forced = NULL;

  if (value == NULL || (forced = rthunk_value_force (value, error)) == NULL)
    return NULL;
  return rthunk_value_to_string (forced);
}

static void
assert_client_eval (RthunkClient *client,
                    const char   *text,
                    GHashTable   *defs,
                    const char   *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *value = client_eval (client, text, defs, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, expected);
}

/* The client remembers a defn's address with how its names resolved: the
 * same form of `twice-inc` is sent again after `inc` changed, after `inc`
 * became a catalog name, and as before; each time it means what the
 * table of the moment says. */
static void
test_defs_remembered_address (void)
{
  g_autoptr(TestServer) server = test_server_start ("defs-memo", NULL);
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<defs>",
                                                       "(defn twice-inc [x] (* 2 (inc x)))"
                                                       "(defn inc [x] (+ x 1))"
                                                       "(defn inc [x] (+ x 10))", -1, NULL);
  g_autoptr(GHashTable) defs = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(RthunkClient) client = client_for (server, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *unknown = NULL;

  g_hash_table_insert (defs, (gpointer) "twice-inc", g_ptr_array_index (forms, 0));
  g_hash_table_insert (defs, (gpointer) "inc", g_ptr_array_index (forms, 1));
  assert_client_eval (client, "(twice-inc 1)", defs, "4");
  g_hash_table_insert (defs, (gpointer) "inc", g_ptr_array_index (forms, 2));
  assert_client_eval (client, "(twice-inc 1)", defs, "22");
  g_hash_table_remove (defs, "inc");
  unknown = client_eval (client, "(twice-inc 1)", defs, &error);
  g_assert_null (unknown);
  g_assert_nonnull (error);
  g_hash_table_insert (defs, (gpointer) "inc", g_ptr_array_index (forms, 1));
  assert_client_eval (client, "(twice-inc 1)", defs, "4");
}

static void
test_defs_round_trip (void)
{
  g_autoptr(TestServer) server = test_server_start ("defs", NULL);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = defs_new (SQ SUMSQ);
  g_autoptr(GHashTable) renamed_params = defs_new ("(defn sq [x] (* x x))"
                                                   "(defn sumsq [p q] (+ (sq p) (sq q)))");
  g_autoptr(GHashTable) renamed_funcs = defs_new ("(defn square [k] (* k k))"
                                                  "(defn sum-of-squares [u v] (+ (square u) (square v)))");
  g_autoptr(RthunkClient) a = client_for (server, NULL);
  g_autoptr(RthunkClient) b = NULL;
  g_autoptr(RthunkClient) d = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(GByteArray) sq1 = defs_hash (defs, "sq");
  g_autoptr(GByteArray) sq2 = defs_hash (renamed_params, "sq");
  g_autoptr(GByteArray) sq3 = defs_hash (renamed_funcs, "square");
  g_autoptr(GByteArray) sumsq1 = defs_hash (defs, "sumsq");
  g_autoptr(GByteArray) sumsq2 = defs_hash (renamed_params, "sumsq");
  g_autoptr(GByteArray) sumsq3 = defs_hash (renamed_funcs, "sum-of-squares");

  /* names and parameter names are not code */
  g_assert_true (wire_same_id (sq1, sq2));
  g_assert_true (wire_same_id (sq1, sq3));
  g_assert_true (wire_same_id (sumsq1, sumsq2));
  g_assert_true (wire_same_id (sumsq1, sumsq3));
  g_assert_false (wire_same_id (sq1, sumsq1));

  /* one MissingDefinitions round trip ships both: sumsq, and sq it uses */
  assert_client_eval (a, "(sumsq 3 4)", defs, "25");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (a), ==, 2);
  before = wire_info (c, NULL);
  g_assert_cmpint (before->counters->definitionsStored, ==, 2);

  /* the second time no definition bytes travel */
  assert_client_eval (a, "(sumsq 3 4)", defs, "25");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (a), ==, 2);
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->definitionsStored, ==, 2);
  assert_client_eval (a, "(sumsq 5 6)", defs, "61");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (a), ==, 2);

  /* other clients, other names: the same hashes, nothing shipped */
  b = client_for (server, NULL);
  assert_client_eval (b, "(sumsq 1 2)", renamed_params, "5");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (b), ==, 0);
  d = client_for (server, NULL);
  assert_client_eval (d, "(sum-of-squares 2 3)", renamed_funcs, "13");
  assert_client_eval (d, "(square 9)", renamed_funcs, "81");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (d), ==, 0);

  g_clear_object (&after);
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->definitionsStored, ==, 2);
}

/* Names are only aliases: the server renames every name a request or a
 * stored definition uses for a definition to that definition's hash, so
 * two clients' names for different code never meet. */
static void
assert_alias_result (const GError *error,
                     const char   *value,
                     const char   *expected)
{
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, expected);
}

/* Names are only aliases: a client may call the same code by names that
 * another client used for other code. The stored forms of sumsq calls its
 * use "sq"; this client calls sumsq's code "sq" and sq's code "sumsq". */
static void
test_defs_aliases_swapped (void)
{
  g_autoptr(TestServer) server = test_server_start ("aliases", NULL);
  g_autoptr(GHashTable) defs = defs_new (SQ SUMSQ);
  g_autoptr(GHashTable) swapped = defs_new ("(defn sumsq [n] (* n n))"
                                            "(defn sq [a b] (+ (sumsq a) (sumsq b)))");
  g_autoptr(GByteArray) h1 = defs_hash (defs, "sumsq");
  g_autoptr(GByteArray) h2 = defs_hash (swapped, "sq");
  g_autoptr(RthunkClient) a = client_for (server, NULL);
  g_autoptr(RthunkClient) b = client_for (server, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;

  g_assert_true (wire_same_id (h1, h2));
  assert_client_eval (a, "(sumsq 3 4)", defs, "25");
  /* other arguments: (sq 3 4) would be answered from the cache, as it
   * should, since it is the same code with the same inputs */
  value = client_eval (b, "(sq 5 6)", swapped, &error);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (b), ==, 0);
  assert_alias_result (error, value, "61");
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "61");
}

/* Two stored definitions both call their use "f", for different code; one
 * request needs both. */
static void
test_defs_same_use_name (void)
{
  g_autoptr(TestServer) server = test_server_start ("use-names", NULL);
  g_autoptr(GHashTable) squares = defs_new ("(defn f [n] (* n n)) (defn g [x] (f x))");
  g_autoptr(GHashTable) doubles = defs_new ("(defn f [n] (+ n n)) (defn h [x] (f x))");
  g_autoptr(GHashTable) both = defs_new ("(defn sq [n] (* n n)) (defn g [x] (sq x))"
                                         "(defn dbl [n] (+ n n)) (defn h [x] (dbl x))");
  g_autoptr(RthunkClient) a = client_for (server, NULL);
  g_autoptr(RthunkClient) b = client_for (server, NULL);
  g_autoptr(RthunkClient) c = client_for (server, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;

  assert_client_eval (a, "(g 3)", squares, "9");
  assert_client_eval (b, "(h 3)", doubles, "6");
  /* (g 3) is 9 and (h 3) is 6, whatever the stored forms call their uses */
  value = client_eval (c, "(+ (* 100 (g 3)) (h 3))", both, &error);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (c), ==, 0);
  assert_alias_result (error, value, "906");
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "906");
}

/* An input of the request has the name a stored form calls its use. */
static void
test_defs_input_named_like_use (void)
{
  g_autoptr(TestServer) server = test_server_start ("input-names", NULL);
  g_autoptr(GHashTable) defs = defs_new (SQ SUMSQ);
  g_autoptr(GHashTable) other = defs_new ("(defn square [k] (* k k))"
                                          "(defn s2 [u v] (+ (square u) (square v)))");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autoptr(RthunkClient) a = client_for (server, NULL);
  g_autoptr(RthunkClient) b = client_for (server, NULL);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ sq (s2 1 2))");
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) forced = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *printed_value = NULL;

  assert_client_eval (a, "(sumsq 3 4)", defs, "25");
  g_hash_table_insert (inputs, (gpointer) "sq", rthunk_value_new_int (5));
  value = rthunk_client_submit_full (b, expr, inputs, other, &error);
  if (value != NULL)
    forced = rthunk_value_force (value, &error);
  if (forced != NULL)
    printed_value = rthunk_value_to_string (forced);
  g_assert_cmpuint (rthunk_client_get_definitions_sent (b), ==, 0);
  assert_alias_result (error, printed_value, "10");
  g_assert_no_error (error);
  g_assert_cmpstr (printed_value, ==, "10");
}

/* ---- content-addressed code by hand: putDefinitions, MissingDefinitions ----- */

static void
test_defs_put_valid (void)
{
  static const char *const sq[] = { "sq", NULL };
  static const char *const sumsq[] = { "sumsq", NULL };
  static const char *const both[] = { "sq", "sumsq", NULL };
  g_autoptr(TestServer) server = test_server_start ("put", NULL);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = defs_new (SQ SUMSQ);
  g_autoptr(RthunkWireServerInfo) info = NULL;

  g_assert_cmpint (put_defs (c, defs, sq), ==, 1);
  g_assert_cmpint (put_defs (c, defs, sq), ==, 0);          /* not new */
  g_assert_cmpint (put_defs (c, defs, sumsq), ==, 1);       /* its use is there now */
  g_assert_cmpint (put_defs (c, defs, both), ==, 0);
  info = wire_info (c, NULL);
  g_assert_cmpint (info->counters->definitionsStored, ==, 2);
}

typedef enum
{
  HASH_TRUE,          /* the hash the form has */
  HASH_FLIPPED,       /* one bit of it flipped */
  HASH_ZEROS,         /* 32 zero bytes (for forms that have no hash) */
  HASH_SHORT,         /* 31 bytes */
  HASH_LONG,          /* 33 bytes */
  HASH_EMPTY,         /* 0 bytes */
  USE_HASH_SHORT,     /* the true hash, but a use's hash is 31 bytes */
} HashMangle;

typedef struct
{
  const char *path;
  const char *defs;       /* definitions the hashes are computed from */
  const char *send;       /* the one sent: a name in @defs, or a form's text */
  HashMangle mangle;
  const char *args[3];
  gint code;
  const char *message_part;
} BadDefCase;

static const BadDefCase bad_def_cases[] = {
  { "/provider/defs/put/invalid/hash-mismatch", SQ, "sq", HASH_FLIPPED, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "hash" },
  { "/provider/defs/put/invalid/hash-of-other-code", SQ " (defn cube [n] (* n (* n n)))", "sq",
    HASH_ZEROS, { NULL }, RTHUNK_ERROR_INVALID_REQUEST, "hash" },
  { "/provider/defs/put/invalid/use-missing", SQ SUMSQ, "sumsq", HASH_TRUE, { NULL },
    RTHUNK_ERROR_MISSING_DEFINITIONS, "sq" },
  { "/provider/defs/put/invalid/type-error", "(defn bad [n] (+ n \"x\"))", "bad", HASH_TRUE, { NULL },
    RTHUNK_ERROR_TYPE_MISMATCH, "str" },
  { "/provider/defs/put/invalid/unbound-name", "(defn bad [n] (nope n))", "bad", HASH_TRUE, { NULL },
    RTHUNK_ERROR_UNBOUND_NAME, "nope" },
  { "/provider/defs/put/invalid/fn-not-defn", SQ, "(fn [n] (* n n))", HASH_TRUE, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "defn" },
  { "/provider/defs/put/invalid/call-not-defn", SQ, "(+ 1 2)", HASH_ZEROS, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "defn" },
  { "/provider/defs/put/invalid/defn-without-body", SQ, "(defn f [n])", HASH_ZEROS, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "defn" },
  { "/provider/defs/put/invalid/hash-short", SQ, "sq", HASH_SHORT, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "32" },
  { "/provider/defs/put/invalid/hash-long", SQ, "sq", HASH_LONG, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "32" },
  { "/provider/defs/put/invalid/hash-empty", SQ, "sq", HASH_EMPTY, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "32" },
  { "/provider/defs/put/invalid/use-hash-short", SQ SUMSQ, "sumsq", USE_HASH_SHORT, { NULL },
    RTHUNK_ERROR_INVALID_REQUEST, "32" },
  { "/provider/defs/put/invalid/too-many-nodes",
    "(defn big [n] (+ n (+ 1 (+ 2 (+ 3 (+ 4 (+ 5 (+ 6 (+ 7 (+ 8 (+ 9 10)))))))))))", "big", HASH_TRUE,
    { "--max-ast-nodes", "20", NULL }, RTHUNK_ERROR_LIMIT_EXCEEDED, NULL },
};

static RthunkWireDefinition *
bad_definition (const BadDefCase *bc,
                GHashTable       *defs)
{
  RthunkWireDefinition *def;
  guint8 byte = 0;

  if (g_hash_table_contains (defs, bc->send))
    def = defs_wire (defs, bc->send);
  else
    {
      g_autoptr(RthunkNode) form = test_parse_one (bc->send);
      guint8 hash[RTHUNK_HASH_LEN] = { 0, };

      def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
      rthunk_wire_fill_ast (def->form, form, NULL);
      if (bc->mangle == HASH_TRUE)
        g_assert_true (rthunk_hash_definition (form, NULL, NULL, hash, NULL));
      rthunk_wire_set_bytes (&def->hash, hash, RTHUNK_HASH_LEN);
    }
  switch (bc->mangle)
    {
    case HASH_TRUE:
      break;
    case HASH_FLIPPED:
      def->hash->data[7] ^= 0x10;
      break;
    case HASH_ZEROS:
      memset (def->hash->data, 0, def->hash->len);
      break;
    case HASH_SHORT:
      g_byte_array_set_size (def->hash, RTHUNK_HASH_LEN - 1);
      break;
    case HASH_LONG:
      g_byte_array_append (def->hash, &byte, 1);
      break;
    case HASH_EMPTY:
      g_byte_array_set_size (def->hash, 0);
      break;
    case USE_HASH_SHORT:
      g_assert_cmpuint (def->uses->len, >, 0);
      g_byte_array_set_size (((RthunkWireDefRef *) def->uses->pdata[0])->hash, RTHUNK_HASH_LEN - 1);
      break;
    default:
      g_assert_not_reached ();
    }
  return def;
}

static void
test_defs_put_invalid (gconstpointer data)
{
  const BadDefCase *bc = data;
  g_autoptr(TestServer) server = test_server_start ("bad-defs", bc->args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = defs_new (bc->defs);
  g_autoptr(GPtrArray) wire = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(RthunkWireServerInfo) info = NULL;
  gint32 added;
  WireFailure t = { 0, };

  g_ptr_array_add (wire, bad_definition (bc, defs));
  g_assert_false (call_put (c, wire, &added, &t));
  assert_thrown (&t, RTHUNK_WIRE_TYPE_INVALID_REQUEST, bc->code);
  g_test_message ("refused: %s", t.message);
  if (bc->message_part != NULL)
    g_assert_nonnull (strstr (t.message, bc->message_part));
  wire_failure_clear (&t);
  /* nothing was stored, and the same connection goes on */
  info = wire_info (c, NULL);
  g_assert_cmpint (info->counters->definitionsStored, ==, 0);
  assert_conn_works (c);
}

/* A request naming a hash the server lacks gets exactly that hash back. */
static void
test_defs_missing_unknown (void)
{
  static const char *const sq[] = { "sq", NULL };
  g_autoptr(TestServer) server = test_server_start ("missing", NULL);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = defs_new (SQ);
  g_autoptr(GByteArray) unknown = g_byte_array_new ();
  g_autoptr(GByteArray) sq_hash = defs_hash (defs, "sq");
  g_autoptr(RthunkWireEvalRequest) alone = request_new ("(mystery 3)", -1);
  g_autoptr(RthunkWireEvalRequest) mixed = request_new ("(+ (sq 2) (mystery 3))", -1);
  g_autoptr(RthunkWireEvalRequest) repeated = request_new ("(mystery 3)", -1);
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireServerInfo) before = wire_info (c, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  WireFailure t = { 0, };

  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    {
      guint8 byte = (guint8) (0x5a ^ (k * 7));

      g_byte_array_append (unknown, &byte, 1);
    }
  request_add_def_ref (alone, "mystery", unknown);
  thunk = wire_submit (c, alone, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_MISSING_DEFINITIONS, RTHUNK_ERROR_MISSING_DEFINITIONS);
  g_assert_cmpuint (t.hashes->len, ==, 1);
  g_assert_true (wire_same_id (g_ptr_array_index (t.hashes, 0), unknown));
  wire_failure_clear (&t);

  /* with one it holds and one it lacks: only the one it lacks */
  g_assert_cmpint (put_defs (c, defs, sq), ==, 1);
  request_add_def_ref (mixed, "sq", sq_hash);
  request_add_def_ref (mixed, "mystery", unknown);
  thunk = wire_submit (c, mixed, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_MISSING_DEFINITIONS, RTHUNK_ERROR_MISSING_DEFINITIONS);
  g_assert_cmpuint (t.hashes->len, ==, 1);
  g_assert_true (wire_same_id (g_ptr_array_index (t.hashes, 0), unknown));
  wire_failure_clear (&t);

  /* a reference that is not valid, after one to a hash it lacks: refused
   * as invalid, not asked for (nothing is looked up before all are read) */
  request_add_def_ref (repeated, "mystery", unknown);
  request_add_def_ref (repeated, "mystery", sq_hash);
  thunk = wire_submit (c, repeated, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_INVALID_REQUEST, RTHUNK_ERROR_INVALID_REQUEST);
  wire_failure_clear (&t);

  /* nothing was queued, and the connection goes on */
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->submitted, ==, before->counters->submitted);
  assert_conn_works (c);
}

/* The whole loop by hand: MissingDefinitions names both, putDefinitions
 * (dependencies first), the same request again. */
static void
test_defs_missing_round_trip (void)
{
  static const char *const order[] = { "sq", "sumsq", NULL };
  g_autoptr(TestServer) server = test_server_start ("loop", NULL);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = defs_new (SQ SUMSQ);
  g_autoptr(GByteArray) sq_hash = defs_hash (defs, "sq");
  g_autoptr(GByteArray) sumsq_hash = defs_hash (defs, "sumsq");
  g_autoptr(RthunkWireEvalRequest) request = request_new ("(sumsq 3 4)", -1);
  g_autoptr(RthunkWireEvalRequest) batch_request = request_new ("(sumsq 1 1)", -1);
  g_autoptr(GPtrArray) requests = g_ptr_array_new ();
  g_autoptr(GPtrArray) thunks = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  RthunkWireRemoteThunk *failed;
  gboolean saw_sq = FALSE, saw_sumsq = FALSE;
  WireFailure t = { 0, };

  request_add_defs (request, defs);
  request_add_defs (batch_request, defs);
  thunk = wire_submit (c, request, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_MISSING_DEFINITIONS, RTHUNK_ERROR_MISSING_DEFINITIONS);
  g_assert_cmpuint (t.hashes->len, ==, 2);
  for (guint k = 0; k < t.hashes->len; k++)
    {
      saw_sq |= wire_same_id (g_ptr_array_index (t.hashes, k), sq_hash);
      saw_sumsq |= wire_same_id (g_ptr_array_index (t.hashes, k), sumsq_hash);
    }
  g_assert_true (saw_sq && saw_sumsq);
  wire_failure_clear (&t);

  /* in a batch the same lack fails that request in its place */
  g_ptr_array_add (requests, batch_request);
  assert_nothing_thrown (call_batch (c, requests, &thunks, &t), &t);
  g_assert_cmpuint (thunks->len, ==, 1);
  failed = g_ptr_array_index (thunks, 0);
  g_assert_cmpint (failed->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (failed->error->code, ==, RTHUNK_ERROR_MISSING_DEFINITIONS);

  g_assert_cmpint (put_defs (c, defs, order), ==, 2);
  thunk = wire_submit (c, request, NULL);
  cont = wire_wait_finished (c, thunk->id, WAIT_CAP_US);
  g_assert_cmpint (cont_int (cont), ==, 25);
}

/* ---- the result cache ------------------------------------------------------ */

typedef struct
{
  const char *path;
  const char *args[3];
  const char *defs;           /* definitions the expression uses, or NULL */
  const char *expr;
  const char *input;          /* an int input the expression reads, or NULL */
  gint64 first_input;
  gint64 second_input;
  gboolean first_no_cache;    /* options.useCache = false */
  gboolean second_no_cache;
  gboolean hit;               /* whether the second is answered from the cache */
  const char *printed;        /* the second's value */
} CacheCase;

/* Sums 0 … N − 1 in N loop steps: more than a server computes again
 * rather than caches (CACHE_MIN_STEPS, 64). Every case that must not be
 * cached but for the cheap one costs more than that too, so that only the
 * reason it names (input, useCache, delay, IO, …) keeps it out of the
 * cache: were it cached, cacheHits would rise. */
#define SUM_TO(n, x) "(loop [i 0 acc 0] (if (< i " n ") (recur (+ i 1) (+ acc " x ")) acc))"
#define TRI "(defn tri [n] (loop [i 0 acc 0] (if (< i n) (recur (+ i 1) (+ acc i)) acc)))"

static const CacheCase cache_cases[] = {
  { "/provider/cache/pure-repeat", { NULL }, NULL, SUM_TO ("100", "i"), NULL, 0, 0, FALSE, FALSE, TRUE, "4950" },
  { "/provider/cache/cheap-computed-again", { NULL }, NULL, "(+ 40 2)", NULL, 0, 0, FALSE, FALSE, FALSE, "42" },
  { "/provider/cache/same-input", { NULL }, NULL, SUM_TO ("100", "x"), "x", 21, 21, FALSE, FALSE, TRUE, "2100" },
  { "/provider/cache/other-input", { NULL }, NULL, SUM_TO ("100", "x"), "x", 21, 22, FALSE, FALSE, FALSE, "2200" },
  { "/provider/cache/delay-never", { NULL }, NULL, "(+ (delay 1 5) " SUM_TO ("100", "i") ")", NULL, 0, 0,
    FALSE, FALSE, FALSE, "4955" },
  { "/provider/cache/io-never", { NULL }, NULL, "(do " SUM_TO ("100", "i") " (print 1))", NULL, 0, 0,
    FALSE, FALSE, FALSE, "nil" },
  { "/provider/cache/io-inside-never", { NULL }, NULL, "(do (print 1) " SUM_TO ("100", "i") ")", NULL, 0, 0,
    FALSE, FALSE, FALSE, "4950" },
  { "/provider/cache/use-cache-false", { NULL }, NULL, SUM_TO ("100", "i"), NULL, 0, 0, TRUE, TRUE, FALSE, "4950" },
  { "/provider/cache/use-cache-false-second", { NULL }, NULL, SUM_TO ("100", "i"), NULL, 0, 0, FALSE, TRUE, FALSE,
    "4950" },
  { "/provider/cache/cache-entries-0", { "--cache-entries", "0", NULL }, NULL, SUM_TO ("100", "i"), NULL, 0, 0,
    FALSE, FALSE, FALSE, "4950" },
  { "/provider/cache/pure-definition", { NULL }, TRI, "(tri 100)", NULL, 0, 0, FALSE, FALSE, TRUE, "4950" },
  { "/provider/cache/delay-definition-never", { NULL },
    "(defn later [n] (+ (delay 1 n) " SUM_TO ("100", "i") "))", "(later 6)", NULL,
    0, 0, FALSE, FALSE, FALSE, "4956" },
  { "/provider/cache/io-definition-never", { NULL },
    "(defn shout [n] (do (print n) " SUM_TO ("100", "i") "))", "(shout 6)", NULL,
    0, 0, FALSE, FALSE, FALSE, "4950" },
};

static RthunkWireEvalRequest *
cache_request (const CacheCase *cc,
               GHashTable      *defs,
               gint64           input,
               gboolean         no_cache)
{
  RthunkWireEvalRequest *request = request_new (cc->expr, 0);

  if (cc->input != NULL)
    request_bind_int (request, cc->input, input);
  if (no_cache)
    request_no_cache (request);
  if (defs != NULL)
    request_add_defs (request, defs);
  return request;
}

static void
test_cache (gconstpointer data)
{
  const CacheCase *cc = data;
  g_autoptr(TestServer) server = test_server_start ("cache", cc->args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GHashTable) defs = cc->defs != NULL ? defs_new (cc->defs) : NULL;
  g_autoptr(RthunkWireEvalRequest) first = NULL;
  g_autoptr(RthunkWireEvalRequest) second = NULL;
  g_autoptr(RthunkWireVarCont) first_cont = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autofree char *value = NULL;

  if (defs != NULL)
    {
      g_autoptr(GPtrArray) wire = g_ptr_array_new_with_free_func (g_object_unref);
      GHashTableIter iter;
      gpointer name;
      gint32 added;
      WireFailure t = { 0, };

      g_hash_table_iter_init (&iter, defs);
      while (g_hash_table_iter_next (&iter, &name, NULL))
        g_ptr_array_add (wire, defs_wire (defs, name));
      assert_nothing_thrown (call_put (c, wire, &added, &t), &t);
    }
  first = cache_request (cc, defs, cc->first_input, cc->first_no_cache);
  first_cont = run (c, first);
  g_assert_cmpint (first_cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);

  before = wire_info (c, NULL);
  second = cache_request (cc, defs, cc->second_input, cc->second_no_cache);
  thunk = wire_submit (c, second, NULL);
  if (cc->hit)
    {
      /* answered before any worker could run it: done inline with a zero budget */
      g_assert_true (thunk->__isset_state);
      g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
    }
  cont = wire_wait_finished (c, thunk->id, WAIT_CAP_US);
  value = cont_printed (cont);
  g_assert_cmpstr (value, ==, cc->printed);
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->cacheHits - before->counters->cacheHits, ==, cc->hit ? 1 : 0);
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, ==, 1);
  g_assert_cmpint (after->counters->completed - before->counters->completed, ==, 1);
  g_assert_cmpint (after->counters->failed - before->counters->failed, ==, 0);
}

/* A hit is answered with nothing evaluated: the only worker is busy, and
 * the expression needs far more steps than a submission may spend in the
 * connection's thread, so without the cache it could not be done yet (the
 * same expression with another bound shows it). */
#define HEAVY "(loop [i 0 acc 0] (if (< i %u) (recur (+ i 1) (+ acc i)) acc))"

static void
test_cache_no_evaluation (void)
{
  const char *args[] = { "--workers", "1", "--deadline-ms", "0", NULL };
  g_autoptr(TestServer) server = test_server_start ("cache-busy", args);
  g_autoptr(Wire) c = conn_open (server);
  g_autofree char *heavy = g_strdup_printf (HEAVY, 200000u);
  g_autofree char *other = g_strdup_printf (HEAVY, 200001u);
  g_autoptr(RthunkWireEvalRequest) first = request_new (heavy, 0);
  g_autoptr(RthunkWireEvalRequest) again = request_new (heavy, 0);
  g_autoptr(RthunkWireEvalRequest) uncached = request_new (other, 0);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(RthunkWireRemoteThunk) hit = NULL;
  g_autoptr(RthunkWireRemoteThunk) miss = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(GByteArray) busy = NULL;
  g_autofree char *value = NULL;

  cont = run (c, first);
  g_assert_cmpint (cont_int (cont), ==, G_GINT64_CONSTANT (199999) * 200000 / 2);
  busy = submit_long (c);
  wire_wait_running (c, busy, WAIT_CAP_US);
  before = wire_info (c, NULL);
  hit = wire_submit (c, again, NULL);
  g_assert_cmpint (hit->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  value = printed (hit->value);
  g_assert_cmpstr (value, ==, "19999900000");
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->cacheHits - before->counters->cacheHits, ==, 1);
  g_assert_cmpint (after->counters->completed - before->counters->completed, ==, 1);
  /* the control: not cached, so it waits for the busy worker */
  miss = wire_submit (c, uncached, NULL);
  g_assert_cmpint (miss->state, ==, RTHUNK_WIRE_THUNK_STATE_PENDING);
  wire_cancel_and_reap (c, miss->id, WAIT_CAP_US);
  wire_cancel_and_reap (c, busy, WAIT_CAP_US);
}

/* ---- thunkCancel ----------------------------------------------------------- */

static void
test_cancel_running (void)
{
  g_autoptr(Wire) c = conn_open (shared_server);
  g_autoptr(RthunkWireEvalRequest) request = request_new ("(delay 30000 1)", 0);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (c, request, NULL);
  g_autoptr(RthunkWireServerInfo) before = wire_info (c, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(RthunkWireVarCont) again = NULL;

  wire_wait_running (c, thunk->id, WAIT_CAP_US);
  g_assert_true (wire_cancel_unfinished (c, thunk->id));
  cont = wire_wait_finished (c, thunk->id, WAIT_CAP_US);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  g_assert_true (cont->__isset_error);
  g_assert_cmpint (cont->error->code, ==, RTHUNK_ERROR_CANCELLED);
  g_assert_false (cont->__isset_value);
  /* (CANCELLED, not DONE: it stopped at a check inside the delay) */
  g_assert_true (cont->__isset_elapsedUs);
  /* finished now: cancelling again says so, and the state sticks */
  g_assert_false (wire_cancel_unfinished (c, thunk->id));
  again = wire_get (c, thunk->id, NULL);
  g_assert_cmpint (again->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->cancelled - before->counters->cancelled, >=, 1);
}

/* A queued thunk (one worker, busy) is cancelled at once and never runs. */
static void
test_cancel_queued (void)
{
  const char *args[] = { "--workers", "1", "--deadline-ms", "0", NULL };
  g_autoptr(TestServer) server = test_server_start ("cancel-queued", args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GByteArray) busy = submit_long (c);
  g_autoptr(GByteArray) queued = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(RthunkWireServerInfo) info = NULL;

  wire_wait_running (c, busy, WAIT_CAP_US);
  queued = submit_long (c);
  cont = wire_get (c, queued, NULL);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_PENDING);
  g_clear_object (&cont);
  g_assert_true (wire_cancel_unfinished (c, queued));
  cont = wire_get (c, queued, NULL);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  g_assert_cmpint (cont->error->code, ==, RTHUNK_ERROR_CANCELLED);
  wire_cancel_and_reap (c, busy, WAIT_CAP_US);
  info = wire_info (c, NULL);
  g_assert_cmpint (info->counters->cancelled, ==, 2);
  g_assert_cmpint (info->counters->completed, ==, 0);
}

static void
test_cancel_unknown (void)
{
  g_autoptr(Wire) c = conn_open (shared_server);
  g_autoptr(GByteArray) id = g_byte_array_new ();
  gboolean unfinished;
  WireFailure t = { 0, };

  for (guint k = 0; k < 16; k++)
    {
      guint8 byte = (guint8) (0xc3 ^ (k * 13));

      g_byte_array_append (id, &byte, 1);
    }
  g_assert_false (wire_cancel (c, id, &unfinished, &t));
  assert_thrown (&t, RTHUNK_WIRE_TYPE_INVALID_REQUEST, RTHUNK_ERROR_UNKNOWN_THUNK);
  wire_failure_clear (&t);
  assert_conn_works (c);
}

static void
test_cancel_finished (void)
{
  g_autoptr(Wire) c = conn_open (shared_server);
  g_autoptr(RthunkWireEvalRequest) request = request_new ("(* 6 7)", -1);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (c, request, NULL);
  g_autoptr(RthunkWireVarCont) cont = wire_wait_finished (c, thunk->id, WAIT_CAP_US);
  g_autoptr(RthunkWireVarCont) again = NULL;

  g_assert_cmpint (cont_int (cont), ==, 42);
  g_assert_false (wire_cancel_unfinished (c, thunk->id));
  again = wire_get (c, thunk->id, NULL);
  g_assert_cmpint (cont_int (again), ==, 42);
}

/* ---- limits: each flag, its error ------------------------------------------ */

typedef enum
{
  LIMIT_FUEL,
  LIMIT_DEADLINE,
  LIMIT_EVAL_BYTES,
  LIMIT_AST_NODES,
} LimitField;

typedef struct
{
  const char *path;
  const char *args[3];
  LimitField field;
  gint64 value;                /* what getServerInfo must show for @field */
  const char *expr;            /* over the limit; NULL: a vector of @wide ints */
  guint wide;
  gboolean at_submit;          /* refused with InvalidRequest, not a failed thunk */
  gint code;
  const char *within;          /* under the limit, on the same server */
  const char *within_value;
} LimitCase;

static const LimitCase limit_cases[] = {
  { "/provider/limits/fuel", { "--fuel", "1000", NULL }, LIMIT_FUEL, 1000,
    "(loop [i 0] (if (< i 100000) (recur (+ i 1)) i))", 0, FALSE, RTHUNK_ERROR_FUEL_EXHAUSTED,
    "(loop [i 0] (if (< i 10) (recur (+ i 1)) i))", "10" },
  { "/provider/limits/deadline", { "--deadline-ms", "200", NULL }, LIMIT_DEADLINE, 200,
    "(delay 5000 1)", 0, FALSE, RTHUNK_ERROR_DEADLINE_EXCEEDED, "(+ 1 2)", "3" },
  { "/provider/limits/max-eval-bytes", { "--max-eval-bytes", "1000000", NULL }, LIMIT_EVAL_BYTES, 1000000,
    "(len (range 0 10000000))", 0, FALSE, RTHUNK_ERROR_LIMIT_EXCEEDED, "(len (range 0 1000))", "1000" },
  { "/provider/limits/max-ast-nodes", { "--max-ast-nodes", "50", NULL }, LIMIT_AST_NODES, 50,
    NULL, 60, TRUE, RTHUNK_ERROR_LIMIT_EXCEEDED, "(len [1 2 3 4 5 6 7 8 9 10])", "10" },
};

static gint64
limit_shown (RthunkWireLimits *limits,
             LimitField        field)
{
  switch (field)
    {
    case LIMIT_FUEL:
      return limits->fuel;
    case LIMIT_DEADLINE:
      return limits->deadlineMs;
    case LIMIT_EVAL_BYTES:
      return limits->maxEvalBytes;
    case LIMIT_AST_NODES:
      return limits->maxAstNodes;
    default:
      g_assert_not_reached ();
    }
  return -1;
}

static void
test_limit (gconstpointer data)
{
  const LimitCase *lc = data;
  g_autoptr(TestServer) server = test_server_start ("limits", lc->args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(RthunkWireServerInfo) info = wire_info (c, NULL);
  g_autoptr(RthunkWireEvalRequest) request = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autofree char *value = NULL;
  WireFailure t = { 0, };

  g_assert_cmpint (limit_shown (info->limits, lc->field), ==, lc->value);
  request = lc->expr != NULL ? request_new (lc->expr, -1) : request_wide_vector (lc->wide);
  if (lc->at_submit)
    {
      thunk = wire_submit (c, request, &t);
      g_assert_null (thunk);
      assert_thrown (&t, RTHUNK_WIRE_TYPE_INVALID_REQUEST, lc->code);
      g_test_message ("refused: %s", t.message);
      wire_failure_clear (&t);
    }
  else
    {
      g_autoptr(RthunkWireVarCont) cont = NULL;

      thunk = wire_submit (c, request, NULL);
      cont = wire_wait_finished (c, thunk->id, WAIT_CAP_US);
      g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
      g_assert_true (cont->__isset_error);
      g_test_message ("failed: %s", cont->error->message);
      g_assert_cmpint (cont->error->code, ==, lc->code);
      g_assert_false (cont->__isset_value);
    }
  value = run_printed (c, lc->within);
  g_assert_cmpstr (value, ==, lc->within_value);
}

/* A request may ask for lower limits, never higher. */
typedef struct
{
  const char *path;
  const char *args[3];
  const char *expr;
  gint64 fuel;                 /* options.fuel, or 0 for none */
  gint32 deadline_ms;          /* options.deadlineMs, or 0 for none */
  gint code;                   /* the failure, or 0 … */
  const char *printed;         /* … and this value */
} RequestLimitCase;

#define LOOP_5000 "(loop [i 0] (if (< i 5000) (recur (+ i 1)) i))"
#define LOOP_1M "(loop [i 0] (if (< i 1000000) (recur (+ i 1)) i))"

static const RequestLimitCase request_limit_cases[] = {
  { "/provider/request-limits/fuel-default", { "--fuel", "100000", NULL }, LOOP_5000, 0, 0, 0, "5000" },
  { "/provider/request-limits/fuel-lower", { "--fuel", "100000", NULL }, LOOP_5000, 1000, 0,
    RTHUNK_ERROR_FUEL_EXHAUSTED, NULL },
  { "/provider/request-limits/fuel-higher-capped", { "--fuel", "100000", NULL }, LOOP_1M,
    G_GINT64_CONSTANT (1000000000000), 0, RTHUNK_ERROR_FUEL_EXHAUSTED, NULL },
  { "/provider/request-limits/fuel-higher-within", { "--fuel", "100000", NULL }, LOOP_5000,
    G_GINT64_CONSTANT (1000000000000), 0, 0, "5000" },
  { "/provider/request-limits/deadline-lower", { "--deadline-ms", "0", NULL }, LONG_DELAY, 0, 200,
    RTHUNK_ERROR_DEADLINE_EXCEEDED, NULL },
  { "/provider/request-limits/deadline-higher-capped", { "--deadline-ms", "300", NULL }, LONG_DELAY, 0,
    G_MAXINT32, RTHUNK_ERROR_DEADLINE_EXCEEDED, NULL },
};

static void
test_request_limit (gconstpointer data)
{
  const RequestLimitCase *rc = data;
  g_autoptr(TestServer) server = test_server_start ("request-limits", rc->args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(RthunkWireEvalRequest) request = request_new (rc->expr, -1);
  g_autoptr(RthunkWireVarCont) cont = NULL;

  request_no_cache (request);
  if (rc->fuel > 0)
    {
      options_of (request)->fuel = rc->fuel;
      request->options->__isset_fuel = TRUE;
    }
  if (rc->deadline_ms > 0)
    {
      options_of (request)->deadlineMs = rc->deadline_ms;
      request->options->__isset_deadlineMs = TRUE;
    }
  cont = run (c, request);
  if (rc->code != 0)
    {
      g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
      g_test_message ("failed: %s", cont->error->message);
      g_assert_cmpint (cont->error->code, ==, rc->code);
    }
  else
    {
      g_autofree char *value = cont_printed (cont);

      g_assert_cmpstr (value, ==, rc->printed);
    }
}

/* A frame above --max-frame-bytes closes that connection; others work. */
static void
test_limit_frame (void)
{
  const char *args[] = { "--max-frame-bytes", "4096", NULL };
  g_autoptr(TestServer) server = test_server_start ("frames", args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(Wire) fresh = NULL;
  g_autoptr(RthunkWireServerInfo) info = wire_info (c, NULL);
  g_autoptr(RthunkWireEvalRequest) big = request_wide_vector (2000);
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  WireFailure t = { 0, };

  g_assert_cmpint (info->limits->maxFrameBytes, ==, 4096);
  assert_conn_works (c);
  thunk = wire_submit (c, big, &t);
  g_assert_null (thunk);
  /* no answer at all: the connection was closed, not timed out */
  g_assert_cmpint (t.type, ==, 0);
  g_assert_nonnull (t.error);
  g_test_message ("oversized frame: %s", t.error->message);
  g_assert_false (g_error_matches (t.error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT));
  wire_failure_clear (&t);
  g_assert_true (test_server_alive (server));
  fresh = conn_open (server);
  assert_conn_works (fresh);
}

/* --max-queued 2 with one worker: the third submission is Overloaded at
 * once, and everything else keeps answering. */
static void
test_limit_queued (void)
{
  /* one connection: its quota must not be what refuses here */
  const char *args[] = { "--max-queued", "2", "--max-queued-per-client", "2", "--workers", "1", "--deadline-ms", "0", NULL };
  g_autoptr(TestServer) server = test_server_start ("queued", args);
  g_autoptr(Wire) c = conn_open (server);
  g_autoptr(GByteArray) first = submit_long (c);
  g_autoptr(GByteArray) second = submit_long (c);
  g_autoptr(RthunkWireEvalRequest) third = request_new ("(delay 2000 3)", 0);
  g_autoptr(RthunkWireEvalRequest) cheap = request_new ("(+ 1 2)", 0);
  g_autoptr(GPtrArray) requests = g_ptr_array_new ();
  g_autoptr(GPtrArray) thunks = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  g_autoptr(RthunkWireServerInfo) info = NULL;
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;
  WireFailure t = { 0, };

  thunk = wire_submit (c, third, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_OVERLOADED, RTHUNK_ERROR_OVERLOADED);
  g_assert_cmpint (t.retry_after_ms, >, 0);
  wire_failure_clear (&t);
  thunk = wire_submit (c, cheap, &t);
  g_assert_null (thunk);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_OVERLOADED, RTHUNK_ERROR_OVERLOADED);
  wire_failure_clear (&t);
  /* in a batch, the refused request comes back FAILED in its place */
  g_ptr_array_add (requests, cheap);
  assert_nothing_thrown (call_batch (c, requests, &thunks, &t), &t);
  g_assert_cmpuint (thunks->len, ==, 1);
  g_assert_cmpint (((RthunkWireRemoteThunk *) thunks->pdata[0])->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (((RthunkWireRemoteThunk *) thunks->pdata[0])->error->code, ==, RTHUNK_ERROR_OVERLOADED);
  /* the load shows: one running, one queued */
  for (;;)
    {
      info = wire_info (c, NULL);
      if (info->running == 1)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_clear_object (&info);
      g_usleep (10000);
    }
  g_assert_cmpint (info->queued, ==, 1);
  g_assert_cmpint (info->limits->maxQueued, ==, 2);
  g_assert_cmpint (info->counters->submitted, ==, 2);
  /* room again once they are gone */
  wire_cancel_and_reap (c, second, WAIT_CAP_US);
  wire_cancel_and_reap (c, first, WAIT_CAP_US);
  assert_conn_works (c);
}

/* --max-connections 3: a fourth is closed at once; the three work on. */
static void
test_limit_connections (void)
{
  const char *args[] = { "--max-connections", "3", NULL };
  g_autoptr(TestServer) server = test_server_start ("connections", args);
  Wire *conns[3];
  g_autoptr(Wire) fourth = NULL;
  g_autoptr(RthunkWireServerInfo) info = NULL;
  gint64 give_up;
  WireFailure t = { 0, };

  for (guint k = 0; k < G_N_ELEMENTS (conns); k++)
    {
      g_autoptr(RthunkWireServerInfo) seen = NULL;

      conns[k] = conn_open (server);
      seen = wire_info (conns[k], NULL);     /* served: it holds a place */
      g_assert_cmpint (seen->limits->maxConnections, ==, 3);
    }
  /* a timeout here would mean it was left hanging, not closed */
  fourth = conn_open_with (server, NULL, 60000);
  info = wire_info (fourth, &t);
  g_assert_null (info);
  g_assert_cmpint (t.type, ==, 0);
  g_test_message ("the fourth connection: %s", t.error->message);
  g_assert_false (g_error_matches (t.error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT));
  wire_failure_clear (&t);
  for (guint k = 0; k < G_N_ELEMENTS (conns); k++)
    assert_conn_works (conns[k]);
  /* one leaves: a new one gets its place (once the server has seen it go) */
  wire_free (conns[0]);
  give_up = g_get_monotonic_time () + WAIT_CAP_US;
  for (;;)
    {
      g_autoptr(Wire) again = conn_open_with (server, NULL, 60000);

      if ((info = wire_info (again, &t)) != NULL)
        break;
      g_assert_cmpint (t.type, ==, 0);
      wire_failure_clear (&t);
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      g_usleep (20000);
    }
  g_clear_object (&info);
  wire_free (conns[1]);
  wire_free (conns[2]);
}

/* ---- auth: --token-file ----------------------------------------------------- */

typedef enum
{
  TOKEN_NONE,
  TOKEN_WRONG,
  TOKEN_PREFIX,
  TOKEN_LONGER,
  TOKEN_EMPTY,
} TokenKind;

static const struct
{
  const char *name;
  const char *token;
} token_kinds[] = {
  [TOKEN_NONE] = { "none", NULL },
  [TOKEN_WRONG] = { "wrong", "s3cret-Token-43" },
  [TOKEN_PREFIX] = { "prefix", "s3cret-Token-4" },
  [TOKEN_LONGER] = { "longer", TOKEN "x" },
  [TOKEN_EMPTY] = { "empty", "" },
};

/* What the methods are called on: a running thunk and a valid definition
 * on the auth server. */
static GByteArray *auth_target;

typedef gboolean (*AuthCall) (Wire *c, WireFailure *t);

static gboolean
auth_func_defs (Wire        *c,
                WireFailure *t)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) defs = NULL;

  return call_func_defs (c, names, &defs, t);
}

static gboolean
auth_info (Wire        *c,
           WireFailure *t)
{
  g_autoptr(RthunkWireServerInfo) info = NULL;

  return (info = wire_info (c, t)) != NULL;
}

static gboolean
auth_submit (Wire        *c,
             WireFailure *t)
{
  g_autoptr(RthunkWireEvalRequest) request = request_new ("(+ 1 2)", -1);
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;

  request_no_cache (request);
  return (thunk = wire_submit (c, request, t)) != NULL;
}

static gboolean
auth_batch (Wire        *c,
            WireFailure *t)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  gboolean ok;

  g_ptr_array_add (requests, request_new ("(+ 1 2)", -1));
  request_no_cache (requests->pdata[0]);
  ok = call_batch (c, requests, &thunks, t);
  if (ok)
    {
      g_assert_cmpuint (thunks->len, ==, 1);
      g_assert_cmpint (((RthunkWireRemoteThunk *) thunks->pdata[0])->error->code, !=,
                       RTHUNK_ERROR_NOT_AUTHORIZED);
    }
  return ok;
}

static gboolean
auth_get (Wire        *c,
          WireFailure *t)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;

  return (cont = wire_get (c, auth_target, t)) != NULL;
}

static gboolean
auth_await (Wire        *c,
            WireFailure *t)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) done = NULL;

  g_ptr_array_add (ids, auth_target);
  return (done = wire_await (c, ids, 0, t)) != NULL;
}

/* Cancels a thunk of its own, so that the shared target keeps running. */
static gboolean
auth_cancel_own (Wire        *c,
                 WireFailure *t)
{
  g_autoptr(Wire) owner = conn_open (auth_server);
  g_autoptr(GByteArray) own = submit_long (owner);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  gboolean unfinished;
  gboolean ok = wire_cancel (c, own, &unfinished, t);

  if (ok)
    g_assert_true (unfinished);
  else
    {
      /* the refused cancel did nothing */
      cont = wire_get (owner, own, NULL);
      g_assert_cmpint (cont->state, <=, RTHUNK_WIRE_THUNK_STATE_RUNNING);
      g_clear_object (&cont);
      g_assert_true (wire_cancel_unfinished (owner, own));
    }
  cont = wire_wait_finished (owner, own, WAIT_CAP_US);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  return ok;
}

static gboolean
auth_put (Wire        *c,
          WireFailure *t)
{
  g_autoptr(GHashTable) defs = defs_new (SQ);
  g_autoptr(GPtrArray) wire = g_ptr_array_new_with_free_func (g_object_unref);
  gint32 added;

  g_ptr_array_add (wire, defs_wire (defs, "sq"));
  return call_put (c, wire, &added, t);
}

static const struct
{
  const char *name;
  AuthCall call;
} auth_methods[] = {
  { "getFuncDefs", auth_func_defs },
  { "getServerInfo", auth_info },
  { "submitEvalRequest", auth_submit },
  { "submitBatch", auth_batch },
  { "thunkGet", auth_get },
  { "thunkAwait", auth_await },
  { "thunkCancel", auth_cancel_own },
  { "putDefinitions", auth_put },
};

typedef struct
{
  char *path;
  guint method;
  TokenKind kind;
} AuthCase;

/* The long thunk the denied calls must not touch; its connection stays
 * open (a thunk nobody else named is cancelled when its client goes). */
static Wire *auth_owner;

static void
ensure_auth_target (void)
{
  if (auth_target != NULL)
    return;
  auth_owner = conn_open (auth_server);
  auth_target = submit_long (auth_owner);
}

static void
test_auth_denied (gconstpointer data)
{
  const AuthCase *ac = data;
  g_autoptr(Wire) right = NULL;
  g_autoptr(Wire) c = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkWireVarCont) target = NULL;
  WireFailure t = { 0, };

  ensure_auth_target ();
  right = conn_open (auth_server);
  before = wire_info (right, NULL);
  c = conn_open_with (auth_server, token_kinds[ac->kind].token, SOCKET_TIMEOUT_MS);
  g_assert_false (auth_methods[ac->method].call (c, &t));
  assert_thrown (&t, RTHUNK_WIRE_TYPE_NOT_AUTHORIZED, RTHUNK_ERROR_NOT_AUTHORIZED);
  wire_failure_clear (&t);
  /* and the server closed the connection after that first frame: it
   * holds no slot (a second call finds it closed) */
  g_assert_false (auth_info (c, &t));
  g_assert_nonnull (t.error);
  wire_failure_clear (&t);
  /* nothing ran, nothing was stored, nothing was cancelled (auth_cancel_own
   * cancels its own thunk with the right token: one more, as it should) */
  after = wire_info (right, NULL);
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, ==,
                   auth_methods[ac->method].call == auth_cancel_own ? 1 : 0);
  g_assert_cmpint (after->counters->completed, ==, before->counters->completed);
  g_assert_cmpint (after->counters->definitionsStored, ==, before->counters->definitionsStored);
  g_assert_cmpint (after->counters->cancelled - before->counters->cancelled, ==,
                   auth_methods[ac->method].call == auth_cancel_own ? 1 : 0);
  target = wire_get (right, auth_target, NULL);
  g_assert_cmpint (target->state, <=, RTHUNK_WIRE_THUNK_STATE_RUNNING);
}

static void
test_auth_allowed (void)
{
  g_autoptr(Wire) c = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;

  ensure_auth_target ();
  c = conn_open_with (auth_server, TOKEN, SOCKET_TIMEOUT_MS);
  before = wire_info (c, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (auth_methods); k++)
    {
      WireFailure t = { 0, };

      g_test_message ("%s with the right token", auth_methods[k].name);
      assert_nothing_thrown (auth_methods[k].call (c, &t), &t);
    }
  after = wire_info (c, NULL);
  /* submitEvalRequest, submitBatch, and the thunk auth_cancel_own cancels */
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, ==, 3);
}

/* The library client: rthunk_client_set_token. */
static void
test_auth_client (void)
{
  g_autoptr(RthunkClient) without = rthunk_client_new (auth_server->address);
  g_autoptr(RthunkClient) wrong = rthunk_client_new (auth_server->address);
  g_autoptr(RthunkClient) right = NULL;
  g_autoptr(GHashTable) defs = defs_new ("(defn cube [n] (* n (* n n)))"
                                         "(defn sumcubes [a b] (+ (cube a) (cube b)))");
  g_autoptr(GError) error = NULL;

  g_assert_false (rthunk_client_connect (without, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED);
  g_clear_error (&error);
  rthunk_client_set_token (wrong, "not-" TOKEN);
  g_assert_false (rthunk_client_connect (wrong, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED);
  g_clear_error (&error);

  right = client_for (auth_server, TOKEN);
  assert_client_eval (right, "(sumcubes 2 3)", defs, "35");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (right), ==, 2);
  assert_client_eval (right, "(delay 1 (sumcubes 1 2))", defs, "9");
  g_assert_cmpuint (rthunk_client_get_definitions_sent (right), ==, 2);
}

/* ---- --config ---------------------------------------------------------------- */

static char *
write_temp (const char *name,
            const char *contents)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
  return path;
}

typedef struct
{
  const char *path;
  const char *config;          /* the [server] group's keys */
  const char *args[5];         /* after --config FILE */
  const char *name;            /* what getServerInfo and (server-name) show */
  gint64 fuel;
  gint deadline_ms;
  gint max_ast_nodes;
  gint workers;
} ConfigCase;

#define CONFIG_KEYS "port=0\nname=from-config\nfuel=12345\ndeadline-ms=4321\nmax-ast-nodes=777\nworkers=3\n"

static const ConfigCase config_cases[] = {
  { "/provider/config/file-only", CONFIG_KEYS, { NULL }, "from-config", 12345, 4321, 777, 3 },
  { "/provider/config/flag-wins", CONFIG_KEYS, { "--fuel", "999", "--name", "from-flag", NULL },
    "from-flag", 999, 4321, 777, 3 },
  { "/provider/config/flag-wins-port", CONFIG_KEYS "\n", { "--port", "0", "--workers", "2", NULL },
    "from-config", 12345, 4321, 777, 2 },
};

static void
test_config (gconstpointer data)
{
  const ConfigCase *cc = data;
  g_autofree char *contents = g_strconcat ("# rthunkd settings\n[server]\n", cc->config, NULL);
  g_autofree char *file = write_temp ("rthunkd.conf", contents);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(TestServer) server = NULL;
  g_autoptr(Wire) c = NULL;
  g_autoptr(RthunkWireServerInfo) info = NULL;
  g_autofree char *name = NULL;
  g_autofree char *quoted = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("RTHUNKD"));
  g_ptr_array_add (argv, (gpointer) "--config");
  g_ptr_array_add (argv, file);
  for (guint k = 0; cc->args[k] != NULL; k++)
    g_ptr_array_add (argv, (gpointer) cc->args[k]);
  g_ptr_array_add (argv, NULL);
  server = test_server_start_argv ((const char *const *) argv->pdata);
  c = conn_open (server);
  info = wire_info (c, NULL);
  g_assert_cmpstr (info->name, ==, cc->name);
  g_assert_cmpint (info->limits->fuel, ==, cc->fuel);
  g_assert_cmpint (info->limits->deadlineMs, ==, cc->deadline_ms);
  g_assert_cmpint (info->limits->maxAstNodes, ==, cc->max_ast_nodes);
  g_assert_cmpint (info->workers, ==, cc->workers);
  name = run_printed (c, "(server-name)");
  quoted = g_strdup_printf ("\"%s\"", cc->name);
  g_assert_cmpstr (name, ==, quoted);
}

/* token-file in the configuration file works like --token-file. */
static void
test_config_token_file (void)
{
  g_autofree char *token_file = write_temp ("config-token", "config-" TOKEN "\n");
  g_autofree char *contents = g_strdup_printf ("[server]\nport=0\nname=cfg-auth\ntoken-file=%s\n", token_file);
  g_autofree char *file = write_temp ("auth.conf", contents);
  const char *argv[] = { g_getenv ("RTHUNKD"), "--config", file, NULL };
  g_autoptr(TestServer) server = test_server_start_argv (argv);
  g_autoptr(Wire) without = conn_open_with (server, NULL, SOCKET_TIMEOUT_MS);
  g_autoptr(Wire) with = conn_open_with (server, "config-" TOKEN, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) info = NULL;
  WireFailure t = { 0, };

  info = wire_info (without, &t);
  g_assert_null (info);
  assert_thrown (&t, RTHUNK_WIRE_TYPE_NOT_AUTHORIZED, RTHUNK_ERROR_NOT_AUTHORIZED);
  wire_failure_clear (&t);
  info = wire_info (with, NULL);
  g_assert_cmpstr (info->name, ==, "cfg-auth");
}

typedef struct
{
  const char *path;
  const char *config;          /* NULL: no such file */
  const char *stderr_part;
} BadConfigCase;

static const BadConfigCase bad_config_cases[] = {
  { "/provider/config/invalid/negative", "[server]\nport=0\nfuel=-1\n", "fuel" },
  { "/provider/config/invalid/not-a-number", "[server]\nport=0\ndeadline-ms=soon\n", "deadline-ms" },
  { "/provider/config/invalid/not-a-key-file", "port = 0 [server\n", "rthunkd" },
  { "/provider/config/invalid/missing-file", NULL, "rthunkd" },
};

/* A bad file stops rthunkd before it listens, with a message. */
static void
test_config_invalid (gconstpointer data)
{
  const BadConfigCase *bc = data;
  g_autofree char *file = bc->config != NULL ? write_temp ("bad.conf", bc->config)
                                             : g_build_filename (tmp_dir, "no-such.conf", NULL);
  const char *argv[] = { g_getenv ("RTHUNKD"), "--config", file, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("stderr: %s", err);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), !=, 0);
  g_assert_null (strstr (out, "listening on"));
  g_assert_nonnull (strstr (err, bc->stderr_part));
}

/* ---- the server functions: server-name, delay -------------------------------- */

typedef struct
{
  const char *path;
  const char *expr;
  const char *printed;
  gint min_ms;                 /* it takes at least this long */
} StdCase;

static const StdCase std_cases[] = {
  { "/provider/stdlib/server-name", "(server-name)", "\"" SHARED_NAME "\"", 0 },
  { "/provider/stdlib/server-name-concat", "(concat (server-name) \"!\")", "\"" SHARED_NAME "!\"", 0 },
  { "/provider/stdlib/delay-int", "(delay 300 7)", "7", 300 },
  { "/provider/stdlib/delay-str", "(delay 100 \"x\")", "\"x\"", 100 },
  { "/provider/stdlib/delay-list", "(delay 50 [1 2])", "[1 2]", 50 },
  { "/provider/stdlib/delay-zero", "(delay 0 true)", "true", 0 },
  { "/provider/stdlib/delay-negative", "(delay -5 nil)", "nil", 0 },
  { "/provider/stdlib/delays-add-up", "(+ (delay 150 1) (delay 150 2))", "3", 300 },
};

static void
test_std (gconstpointer data)
{
  const StdCase *sc = data;
  g_autoptr(Wire) c = conn_open (shared_server);
  gint64 started = g_get_monotonic_time ();
  g_autofree char *value = run_printed (c, sc->expr);

  g_assert_cmpstr (value, ==, sc->printed);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, (gint64) sc->min_ms * 1000);
}

/* The catalog says what delay and server-name are. */
static void
test_std_flags (void)
{
  g_autoptr(Wire) c = conn_open (shared_server);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) defs = NULL;
  RthunkWireFuncDef *delay, *server_name;
  WireFailure t = { 0, };

  g_ptr_array_add (names, g_strdup ("delay"));
  g_ptr_array_add (names, g_strdup ("server-name"));
  assert_nothing_thrown (call_func_defs (c, names, &defs, &t), &t);
  g_assert_cmpuint (defs->len, ==, 2);
  delay = defs->pdata[0];
  server_name = defs->pdata[1];
  g_assert_cmpstr (delay->signature, ==, "(int a -> a)");
  g_assert_cmpint (delay->arity, ==, 2);
  g_assert_false (delay->flags & RTHUNK_WIRE_FUNC_FLAG_PURE);
  g_assert_cmpstr (server_name->signature, ==, "(-> str)");
  g_assert_cmpint (server_name->arity, ==, 0);
  g_assert_true (server_name->flags & RTHUNK_WIRE_FUNC_FLAG_IO);
  g_assert_false (server_name->flags & RTHUNK_WIRE_FUNC_FLAG_PURE);
}

/* ---- many clients at once ------------------------------------------------------ */

typedef struct
{
  guint index;
  guint checked;
  GError *error;
} Worker;

/* Two inputs per thunk, distinct across every thread and thunk. */
static RthunkWireEvalRequest *
worker_request (guint   thread,
                guint   k,
                gint64 *expected)
{
  gint64 x = (gint64) thread * 1000000 + k;
  gint64 y = (gint64) k * 7 + 3;
  RthunkWireEvalRequest *request = request_new (k % 3 == 0 ? "(+ (* x 2) y)"
                                                : k % 3 == 1 ? "(- (* x 2) y)"
                                                : "(let [z (* x 2)] (if (> y 0) (+ z y) z))",
                                                0);

  request_bind_int (request, "x", x);
  request_bind_int (request, "y", y);
  *expected = k % 3 == 1 ? 2 * x - y : 2 * x + y;
  return request;
}

static gboolean
worker_fail (Worker     *worker,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static gboolean
worker_fail (Worker     *worker,
             const char *format,
             ...)
{
  va_list args;

  if (worker->error == NULL)
    {
      g_autofree char *message = NULL;

      va_start (args, format);
      message = g_strdup_vprintf (format, args);
      va_end (args);
      worker->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "thread %u: %s",
                                   worker->index, message);
    }
  return FALSE;
}

/* Checks one finished thunk against what it should be. */
static gboolean
worker_check (Worker              *worker,
              gint                 state,
              RthunkWireValue     *value,
              RthunkWireErrorInfo *error_info,
              gint64               expected)
{
  g_autoptr(RthunkValue) got = NULL;

  if (state != RTHUNK_WIRE_THUNK_STATE_DONE)
    return worker_fail (worker, "state %d: %s", state, error_info != NULL ? error_info->message : "?");
  got = rthunk_wire_read_value (value, NULL);
  if (got == NULL || rthunk_value_get_kind (got) != RTHUNK_VALUE_INT ||
      rthunk_value_get_int (got) != expected)
    return worker_fail (worker, "a value is not %" G_GINT64_FORMAT, expected);
  worker->checked++;
  return TRUE;
}

/* Waits for every id in @pending (→ expected value) and checks each. */
static gboolean
worker_await (Worker     *worker,
              Wire       *c,
              GHashTable *pending)
{
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;

  while (g_hash_table_size (pending) > 0)
    {
      g_autoptr(GPtrArray) ids = g_ptr_array_new ();
      g_autoptr(GPtrArray) done = NULL;
      GHashTableIter iter;
      gpointer id;
      WireFailure t = { 0, };

      g_hash_table_iter_init (&iter, pending);
      while (g_hash_table_iter_next (&iter, &id, NULL))
        g_ptr_array_add (ids, id);

      if (g_get_monotonic_time () > give_up)
        return worker_fail (worker, "%u thunks did not finish", g_hash_table_size (pending));
      if ((done = wire_await (c, ids, AWAIT_SLICE_MS, &t)) == NULL)
        {
          worker_fail (worker, "thunkAwait: %s", t.error != NULL ? t.error->message : t.message);
          wire_failure_clear (&t);
          return FALSE;
        }
      for (guint k = 0; k < done->len; k++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, k);
          gpointer expected;

          if (!g_hash_table_lookup_extended (pending, cont->id, NULL, &expected))
            return worker_fail (worker, "thunkAwait returned an id it was not given");
          if (!worker_check (worker, cont->state, cont->__isset_value ? cont->value : NULL,
                             cont->__isset_error ? cont->error : NULL, *(gint64 *) expected))
            return FALSE;
          g_hash_table_remove (pending, cont->id);
        }
    }
  return TRUE;
}

static guint
id_hash (gconstpointer id)
{
  const GByteArray *bytes = id;
  guint h = 5381;

  for (guint k = 0; k < bytes->len; k++)
    h = h * 33 + bytes->data[k];
  return h;
}

static gboolean
id_equal (gconstpointer a,
          gconstpointer b)
{
  return wire_same_id (a, b);
}

/* One block: half single submissions, half one batch; every result checked. */
static gboolean
worker_block (Worker *worker,
              Wire   *c,
              guint   first)
{
  g_autoptr(GHashTable) pending = g_hash_table_new_full (id_hash, id_equal,
                                                         (GDestroyNotify) g_byte_array_unref, g_free);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) batch_expected = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) thunks = NULL;
  WireFailure t = { 0, };

  for (guint k = first; k < first + BLOCK / 2; k++)
    {
      gint64 expected;
      g_autoptr(RthunkWireEvalRequest) request = worker_request (worker->index, k, &expected);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;

      if ((thunk = wire_submit (c, request, &t)) == NULL)
        {
          worker_fail (worker, "submit: %s", t.error != NULL ? t.error->message : t.message);
          wire_failure_clear (&t);
          return FALSE;
        }
      g_hash_table_insert (pending, g_byte_array_ref (thunk->id), g_memdup2 (&expected, sizeof expected));
    }
  for (guint k = first + BLOCK / 2; k < first + BLOCK; k++)
    {
      gint64 expected;

      g_ptr_array_add (requests, worker_request (worker->index, k, &expected));
      g_array_append_val (batch_expected, expected);
    }
  if (!call_batch (c, requests, &thunks, &t))
    {
      worker_fail (worker, "batch: %s", t.error != NULL ? t.error->message : t.message);
      wire_failure_clear (&t);
      return FALSE;
    }
  if (thunks->len != requests->len)
    return worker_fail (worker, "%u thunks for a batch of %u", thunks->len, requests->len);
  for (guint k = 0; k < thunks->len; k++)
    {
      RthunkWireRemoteThunk *thunk = g_ptr_array_index (thunks, k);
      gint64 expected = g_array_index (batch_expected, gint64, k);

      if (thunk->id == NULL || thunk->id->len != 16 || g_hash_table_contains (pending, thunk->id))
        return worker_fail (worker, "a batch thunk id is malformed or repeated");
      g_hash_table_insert (pending, g_byte_array_ref (thunk->id), g_memdup2 (&expected, sizeof expected));
    }
  return worker_await (worker, c, pending);
}

static gpointer
worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(Wire) c = conn_open (shared_server);

  for (guint first = 0; first < N_PER_THREAD; first += BLOCK)
    if (!worker_block (worker, c, first))
      break;
  return NULL;
}

static void
test_concurrent_clients (void)
{
  Worker workers[N_THREADS] = { { 0, }, };
  GThread *threads[N_THREADS];
  g_autoptr(Wire) c = conn_open (shared_server);
  g_autoptr(RthunkWireServerInfo) before = wire_info (c, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;

  G_STATIC_ASSERT (N_PER_THREAD % BLOCK == 0);
  for (guint t = 0; t < N_THREADS; t++)
    {
      workers[t].index = t;
      threads[t] = g_thread_new ("client", worker_run, &workers[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_assert_no_error (workers[t].error);
      g_assert_cmpuint (workers[t].checked, ==, N_PER_THREAD);
    }
  after = wire_info (c, NULL);
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, >=, N_THREADS * N_PER_THREAD);
  g_assert_cmpint (after->counters->completed - before->counters->completed, >=, N_THREADS * N_PER_THREAD);
  g_assert_true (test_server_alive (shared_server));
}

/* ---- main ------------------------------------------------------------------ */

static void
auth_case_free (gpointer data)
{
  AuthCase *ac = data;

  g_free (ac->path);
  g_free (ac);
}

static void
add_auth_cases (void)
{
  for (guint m = 0; m < G_N_ELEMENTS (auth_methods); m++)
    for (guint k = 0; k < G_N_ELEMENTS (token_kinds); k++)
      {
        AuthCase *ac = g_new0 (AuthCase, 1);

        ac->method = m;
        ac->kind = k;
        ac->path = g_strdup_printf ("/provider/auth/denied/%s/token-%s", auth_methods[m].name,
                                    token_kinds[k].name);
        g_test_add_data_func_full (ac->path, ac, test_auth_denied, auth_case_free);
      }
}

static void
remove_tmp_dir (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}

static void
stop_auth_server (void)
{
  if (auth_target != NULL)
    {
      g_autoptr(Wire) c = conn_open (auth_server);

      wire_cancel_and_reap (c, auth_target, WAIT_CAP_US);
      g_clear_pointer (&auth_target, g_byte_array_unref);
      g_clear_pointer (&auth_owner, wire_free);
    }
  test_server_stop (auth_server);
}

int
main (int    argc,
      char **argv)
{
  const char *shared_args[] = { "--workers", "4", NULL };
  g_autofree char *token_file = NULL;
  g_autofree char *auth_arg = NULL;
  const char *auth_args[] = { "--workers", "4", "--deadline-ms", "0", "--token-file", NULL, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  rthunk_wire_ensure_types ();
  tmp_dir = g_dir_make_tmp ("rthunk-provider-XXXXXX", &error);
  g_assert_no_error (error);
  token_file = write_temp ("token", "  " TOKEN "\n");   /* surrounding space is not part of it */
  auth_args[5] = token_file;
  shared_server = test_server_start (SHARED_NAME, shared_args);
  auth_server = test_server_start ("auth", auth_args);

  g_test_add_func ("/provider/defs/round-trip", test_defs_round_trip);
  g_test_add_func ("/provider/defs/remembered-address", test_defs_remembered_address);
  g_test_add_func ("/provider/defs/aliases-swapped", test_defs_aliases_swapped);
  g_test_add_func ("/provider/defs/same-use-name", test_defs_same_use_name);
  g_test_add_func ("/provider/defs/input-named-like-use", test_defs_input_named_like_use);
  g_test_add_func ("/provider/defs/put/valid", test_defs_put_valid);
  TEST_ADD_TABLE (bad_def_cases, test_defs_put_invalid);
  g_test_add_func ("/provider/defs/missing/unknown-hash", test_defs_missing_unknown);
  g_test_add_func ("/provider/defs/missing/round-trip", test_defs_missing_round_trip);
  TEST_ADD_TABLE (cache_cases, test_cache);
  g_test_add_func ("/provider/cache/hit-without-evaluation", test_cache_no_evaluation);
  g_test_add_func ("/provider/cancel/running", test_cancel_running);
  g_test_add_func ("/provider/cancel/queued", test_cancel_queued);
  g_test_add_func ("/provider/cancel/unknown", test_cancel_unknown);
  g_test_add_func ("/provider/cancel/finished", test_cancel_finished);
  TEST_ADD_TABLE (limit_cases, test_limit);
  TEST_ADD_TABLE (request_limit_cases, test_request_limit);
  g_test_add_func ("/provider/limits/max-frame-bytes", test_limit_frame);
  g_test_add_func ("/provider/limits/max-queued", test_limit_queued);
  g_test_add_func ("/provider/limits/max-connections", test_limit_connections);
  add_auth_cases ();
  g_test_add_func ("/provider/auth/allowed", test_auth_allowed);
  g_test_add_func ("/provider/auth/client", test_auth_client);
  TEST_ADD_TABLE (config_cases, test_config);
  g_test_add_func ("/provider/config/token-file", test_config_token_file);
  TEST_ADD_TABLE (bad_config_cases, test_config_invalid);
  TEST_ADD_TABLE (std_cases, test_std);
  g_test_add_func ("/provider/stdlib/flags", test_std_flags);
  g_test_add_func ("/provider/concurrency/16x500", test_concurrent_clients);

  status = g_test_run ();
  stop_auth_server ();
  test_server_stop (shared_server);
  remove_tmp_dir ();
  return status;
}
