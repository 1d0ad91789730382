/* test-server.c — the IDL methods of a real rthunkd, through the C library
 *
 * One rthunkd on a free loopback port serves every case but the last,
 * which starts its own to send it SIGTERM. Calls the RthunkClient does not
 * have (getServerInfo, thunkGet, thunkAwait, thunkCancel, submitBatch) go
 * through the generated Thrift client over RthunkFrameTransport, exactly
 * as rthunk-client.c builds it. Nothing here asserts on absolute times
 * beyond lower bounds the server guarantees; every wait has a generous cap.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "rthunk.h"
#include "rthunk-client-private.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "testtable.h"
#include "testutil.h"
#include "wireutil.h"

/* Runs until cancelled (or the server's deadline, 30 s here); %u makes
 * each one a different expression, so no cache or coalescing can merge two. */
#define SLOW_EXPR_FORMAT "(loop [i 0] (if (< i %u) (recur (+ i 1)) i))"
#define SLOW_BOUND 2000000000u
#define SERVER_NAME "test-server"
#define SOCKET_TIMEOUT_MS 90000   /* above every thunkAwait below */
#define AWAIT_SLICE_MS 10000
#define WAIT_CAP_US (120 * G_USEC_PER_SEC)
#define N_THREADS 8
#define N_PER_THREAD 200
#define BATCH_SIZE 100

static TestServer *shared_server;

/* ---- the generated client over our framing --------------------------------- */

static GPtrArray *
wire_func_defs (Wire       *w,
                GPtrArray  *names,
                WireFailure *thrown)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  GObject *exc[2] = { NULL, NULL };
  GError *error = NULL;

  if (rthunk_wire_remote_execution_service_if_get_func_defs (w->stub, &defs, names, w->auth,
                                                             (RthunkWireInvalidRequest **) &exc[0],
                                                             (RthunkWireNotAuthorized **) &exc[1],
                                                             &error))
    return g_steal_pointer (&defs);
  wire_failure_take (thrown, error, exc, G_N_ELEMENTS (exc));
  return NULL;
}

static GPtrArray *
wire_batch (Wire      *w,
            GPtrArray *requests)
{
  gboolean ok;
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  RthunkWireInvalidRequest *invalid = NULL;
  RthunkWireOverloaded *overloaded = NULL;
  RthunkWireNotAuthorized *denied = NULL;
  g_autoptr(GError) error = NULL;

  ok = rthunk_wire_remote_execution_service_if_submit_batch (w->stub, &thunks, requests, w->auth,
                                                             &invalid, &overloaded, &denied,
                                                             &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_null (invalid);
  g_assert_null (overloaded);
  g_assert_null (denied);
  return g_steal_pointer (&thunks);
}

/* ---- building requests ----------------------------------------------------- */

/* The int a submitted thunk resolved to: inline, or after waiting. */
static gint64
thunk_int (Wire                  *w,
           RthunkWireRemoteThunk *thunk)
{
  g_autoptr(RthunkWireVarCont) cont = NULL;

  if (thunk->__isset_state && thunk->state == RTHUNK_WIRE_THUNK_STATE_DONE)
    {
      g_assert_true (thunk->__isset_value);
      return wire_value_int (thunk->value);
    }
  g_assert_false (thunk->__isset_state && thunk->state > RTHUNK_WIRE_THUNK_STATE_DONE);
  cont = wire_wait_finished (w, thunk->id, WAIT_CAP_US);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  g_assert_true (cont->__isset_value);
  return wire_value_int (cont->value);
}

static gint64
submit_int (Wire       *w,
            const char *text,
            gint        inline_budget_ms)
{
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, inline_budget_ms);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);

  return thunk_int (w, thunk);
}

static GByteArray *
submit_slow (Wire *w)
{
  static guint serial;
  g_autofree char *text = g_strdup_printf (SLOW_EXPR_FORMAT,
                                           SLOW_BOUND + g_atomic_int_add (&serial, 1));
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);

  g_assert_false (thunk->__isset_state && thunk->state >= RTHUNK_WIRE_THUNK_STATE_DONE);
  return g_byte_array_ref (thunk->id);
}

/* A hand-built AST node; children index earlier nodes. */
typedef struct
{
  gint kind;
  gint64 int_value;
  const char *text;
  guint n_children;
  gint32 children[4];
} NodeSpec;

#define SYM(s) { RTHUNK_WIRE_NODE_KIND_SYMBOL, 0, s, 0, { 0 } }
#define INT(i) { RTHUNK_WIRE_NODE_KIND_INT, i, NULL, 0, { 0 } }
#define STR(s) { RTHUNK_WIRE_NODE_KIND_STR, 0, s, 0, { 0 } }

static RthunkWireEvalRequest *
request_from_specs (const NodeSpec *specs,
                    guint           n_specs)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);

  for (guint k = 0; k < n_specs; k++)
    {
      RthunkWireAstNode *node = g_object_new (RTHUNK_WIRE_TYPE_AST_NODE, NULL);

      node->kind = specs[k].kind;
      if (specs[k].kind == RTHUNK_WIRE_NODE_KIND_INT)
        {
          node->intValue = specs[k].int_value;
          node->__isset_intValue = TRUE;
        }
      if (specs[k].text != NULL)
        {
          node->text = g_strdup (specs[k].text);
          node->__isset_text = TRUE;
        }
      if (specs[k].n_children > 0 || specs[k].kind == RTHUNK_WIRE_NODE_KIND_LIST)
        {
          g_array_append_vals (node->children, specs[k].children, specs[k].n_children);
          node->__isset_children = TRUE;
        }
      node->line = 1;
      node->col = (gint32) k + 1;
      node->__isset_line = node->__isset_col = TRUE;
      g_ptr_array_add (request->ast->nodes, node);
    }
  return request;
}

/* A VECTOR of @n_items ints: @n_items + 1 nodes. */
static RthunkWireEvalRequest *
request_wide_vector (guint n_items)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  RthunkWireAstNode *root;

  for (guint k = 0; k < n_items; k++)
    {
      RthunkWireAstNode *node = g_object_new (RTHUNK_WIRE_TYPE_AST_NODE, NULL);

      node->kind = RTHUNK_WIRE_NODE_KIND_INT;
      node->intValue = k;
      node->__isset_intValue = TRUE;
      g_ptr_array_add (request->ast->nodes, node);
    }
  root = g_object_new (RTHUNK_WIRE_TYPE_AST_NODE, NULL);
  root->kind = RTHUNK_WIRE_NODE_KIND_VECTOR;
  for (gint32 k = 0; k < (gint32) n_items; k++)
    g_array_append_val (root->children, k);
  root->__isset_children = TRUE;
  g_ptr_array_add (request->ast->nodes, root);
  return request;
}

/* ---- getFuncDefs ----------------------------------------------------------- */

static RthunkWireFuncDef *
find_def (GPtrArray  *defs,
          const char *name)
{
  for (guint k = 0; k < defs->len; k++)
    {
      RthunkWireFuncDef *def = g_ptr_array_index (defs, k);

      if (g_strcmp0 (def->name, name) == 0)
        return def;
    }
  return NULL;
}

/* The published type term parses back and prints as the signature says. */
static void
assert_arith_def (RthunkWireFuncDef *def)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *printed = NULL;

  g_assert_nonnull (def);
  g_assert_cmpstr (def->signature, ==, "num a => (a a -> a)");
  g_assert_cmpint (def->arity, ==, 2);
  g_assert_true (def->flags & RTHUNK_WIRE_FUNC_FLAG_PURE);
  g_assert_false (def->flags & RTHUNK_WIRE_FUNC_FLAG_IO);
  g_assert_cmpuint (def->type->nodes->len, >, 0);
  type = rthunk_wire_read_type (def->type, &error);
  g_assert_no_error (error);
  printed = rthunk_type_to_string (type);
  g_assert_nonnull (strstr (printed, "->"));
}

static void
test_func_defs_all (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) defs = wire_func_defs (w, names, NULL);
  const char *arith[] = { "+", "-", "*", "/" };

  g_assert_cmpuint (defs->len, >=, G_N_ELEMENTS (arith));
  for (guint k = 0; k < G_N_ELEMENTS (arith); k++)
    assert_arith_def (find_def (defs, arith[k]));
  g_assert_true (find_def (defs, "+")->flags & RTHUNK_WIRE_FUNC_FLAG_ASSOC);
  g_assert_true (find_def (defs, "*")->flags & RTHUNK_WIRE_FUNC_FLAG_ASSOC);
  g_assert_false (find_def (defs, "-")->flags & RTHUNK_WIRE_FUNC_FLAG_ASSOC);
  for (guint k = 0; k < defs->len; k++)
    {
      RthunkWireFuncDef *def = g_ptr_array_index (defs, k);

      g_assert_nonnull (def->name);
      g_assert_nonnull (def->signature);
      g_assert_cmpuint (strlen (def->signature), >, 0);
      g_assert_cmpuint (def->type->nodes->len, >, 0);
    }
}

static void
test_func_defs_named (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) defs = NULL;

  g_ptr_array_add (names, g_strdup ("/"));
  g_ptr_array_add (names, g_strdup ("+"));
  defs = wire_func_defs (w, names, NULL);
  g_assert_cmpuint (defs->len, ==, 2);
  g_assert_cmpstr (((RthunkWireFuncDef *) defs->pdata[0])->name, ==, "/");
  g_assert_cmpstr (((RthunkWireFuncDef *) defs->pdata[1])->name, ==, "+");
  assert_arith_def (defs->pdata[0]);
  assert_arith_def (defs->pdata[1]);
}

typedef struct
{
  const char *path;
  const char *names[4];
} UnknownNamesCase;

static const UnknownNamesCase unknown_names_cases[] = {
  { "/server/func-defs/unknown/alone", { "no-such-function", NULL } },
  { "/server/func-defs/unknown/after-known", { "+", "no-such-function", NULL } },
  { "/server/func-defs/unknown/empty-name", { "", NULL } },
};

static void
test_func_defs_unknown (gconstpointer data)
{
  const UnknownNamesCase *c = data;
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) defs = NULL;
  WireFailure thrown = { 0, };

  for (guint k = 0; c->names[k] != NULL; k++)
    g_ptr_array_add (names, g_strdup (c->names[k]));
  defs = wire_func_defs (w, names, &thrown);
  g_assert_null (defs);
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (thrown.code, ==, RTHUNK_ERROR_UNKNOWN_FUNCTION);
  g_assert_nonnull (thrown.message);
  wire_failure_clear (&thrown);
  /* the connection is still good */
  g_assert_cmpint (submit_int (w, "(+ 1 2)", -1), ==, 3);
}

/* ---- getServerInfo --------------------------------------------------------- */

static void
test_info_basics (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) info = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) again = NULL;

  g_assert_cmpstr (info->name, ==, SERVER_NAME);
  g_assert_cmpstr (info->version, ==, RTHUNK_VERSION_S);
  g_assert_cmpint (info->protocolVersion, ==, RTHUNK_WIRE_PROTOCOL_VERSION);
  g_assert_cmpint (info->workers, ==, 4);
  g_assert_cmpint (info->limits->deadlineMs, ==, 30000);
  g_assert_cmpint (info->limits->maxFrameBytes, >, 0);
  g_assert_cmpint (info->limits->maxAstNodes, >, 0);
  g_assert_nonnull (info->instanceId);
  g_assert_cmpuint (info->instanceId->len, ==, 16);
  /* the instance id is stable within one run */
  again = wire_info (w, NULL);
  g_assert_true (wire_same_id (info->instanceId, again->instanceId));
}

static void
test_info_counters (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) before = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkWireEvalRequest) bad = wire_request_for ("(/ 1 0)", -1);
  g_autoptr(RthunkWireRemoteThunk) bad_thunk = NULL;
  g_autoptr(RthunkWireVarCont) bad_cont = NULL;
  const guint n = 5;

  /* no cache: every one of them is evaluated and counted */
  bad->options->useCache = FALSE;
  bad->options->__isset_useCache = TRUE;
  bad->__isset_options = TRUE;
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *text = g_strdup_printf ("(* %u 3)", k);
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;

      request->options->useCache = FALSE;
      request->options->__isset_useCache = TRUE;
      thunk = wire_submit (w, request, NULL);
      g_assert_cmpint (thunk_int (w, thunk), ==, k * 3);
    }
  bad_thunk = wire_submit (w, bad, NULL);
  bad_cont = wire_wait_finished (w, bad_thunk->id, WAIT_CAP_US);
  g_assert_cmpint (bad_cont->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (bad_cont->error->code, ==, RTHUNK_ERROR_DIVISION_BY_ZERO);

  after = wire_info (w, NULL);
  /* other cases may run on the server too: at least ours were counted */
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, >=, n + 1);
  g_assert_cmpint (after->counters->completed - before->counters->completed, >=, n);
  g_assert_cmpint (after->counters->failed - before->counters->failed, >=, 1);
}

/* ---- submitEvalRequest ----------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *expr;
  gint inline_budget_ms;
  gint64 expected;
} SubmitCase;

static const SubmitCase submit_cases[] = {
  { "/server/submit/inline", "(+ 1 (/ 4 2))", -1, 3 },
  { "/server/submit/await", "(+ 1 (/ 4 2))", 0, 3 },
  { "/server/submit/let", "(let [a 6 b (* a 7)] b)", -1, 42 },
  { "/server/submit/loop", "(loop [i 0 acc 0] (if (< i 10) (recur (+ i 1) (+ acc i)) acc))", 0, 45 },
  { "/server/submit/if", "(if (< 2 1) 10 20)", -1, 20 },
};

static void
test_submit (gconstpointer data)
{
  const SubmitCase *c = data;
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);

  g_assert_cmpint (submit_int (w, c->expr, c->inline_budget_ms), ==, c->expected);
}

/* The library client: the typed check before sending, then the value. */
static void
test_submit_client (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (shared_server->address);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ 1 (/ 4 2))");
  g_autoptr(RthunkNode) bad = test_parse_one ("(+ 1 \"x\")");
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) forced = NULL;
  g_autoptr(RthunkValue) refused = NULL;

  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (rthunk_client_get_server_name (client), ==, SERVER_NAME);
  g_assert_nonnull (rthunk_catalog_lookup (rthunk_client_get_catalog (client), "+"));
  value = rthunk_client_submit (client, expr, NULL, &error);
  g_assert_no_error (error);
  forced = rthunk_value_force (value, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (forced), ==, 3);
  /* refused by the client's own check, before sending */
  refused = rthunk_client_submit (client, bad, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
}

/* A record goes to a real server as an input and comes back changed; a
 * pure record computation long enough to be cached is answered from the
 * cache the second time, with the same record. */
static void
test_submit_record (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (shared_server->address);
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkNode) bump = test_parse_one ("(assoc r :age (+ (:age r) 1))");
  g_autoptr(RthunkNode) slow = test_parse_one ("(loop [i 0 acc {:n 0 :who (:name r)}] "
                                          "(if (< i 200) (recur (+ i 1) (assoc acc :n (+ (:n acc) i))) acc))");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  static const char *const names[] = { "name", "age" };
  RthunkValue *fields[] = { rthunk_value_new_str ("ada"), rthunk_value_new_int (36) };
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(GError) error = NULL;

  g_hash_table_insert (inputs, (gpointer) "r", rthunk_value_new_record (names, fields, 2));
  rthunk_value_unref (fields[0]);
  rthunk_value_unref (fields[1]);
  g_assert_true (rthunk_client_connect (client, &error));
  g_assert_no_error (error);
  {
    g_autoptr(RthunkValue) value = rthunk_client_submit (client, bump, inputs, &error);
    g_autoptr(RthunkValue) forced = rthunk_value_force (value, &error);
    g_autofree char *printed = rthunk_value_to_string (forced);

    g_assert_no_error (error);
    g_assert_cmpstr (printed, ==, "{:age 37 :name \"ada\"}");
  }
  before = wire_info (w, NULL);
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(RthunkValue) value = rthunk_client_submit (client, slow, inputs, &error);
      g_autoptr(RthunkValue) forced = rthunk_value_force (value, &error);
      g_autofree char *printed = rthunk_value_to_string (forced);

      g_assert_no_error (error);
      g_assert_cmpstr (printed, ==, "{:n 19900 :who \"ada\"}");
    }
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->cacheHits - before->counters->cacheHits, >=, 1);
}

/* Maybe values travel as what they are, nil or the value: parse-int run on
 * a real server, on a list bound by the client, and the client's check of
 * what comes back ((maybe int) admits both). */
static void
test_submit_maybe (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (shared_server->address);
  g_autoptr(RthunkNode) parse = test_parse_one ("(map parse-int xs)");
  g_autoptr(RthunkNode) keep = test_parse_one ("(filter some? ms)");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  RthunkValue *texts[] = { rthunk_value_new_str ("36"), rthunk_value_new_str ("x") };
  RthunkValue *maybes[] = { rthunk_value_new_nil (), rthunk_value_new_int (5) };
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) submitted = NULL;
  g_autoptr(RthunkValue) submitted_kept = NULL;
  g_autoptr(RthunkValue) parsed = NULL;
  g_autoptr(RthunkValue) kept = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *printed_kept = NULL;

  g_hash_table_insert (inputs, (gpointer) "xs", rthunk_value_new_list (texts, 2));
  g_hash_table_insert (inputs, (gpointer) "ms", rthunk_value_new_list (maybes, 2));
  for (guint k = 0; k < 2; k++)
    {
      rthunk_value_unref (texts[k]);
      rthunk_value_unref (maybes[k]);
    }
  g_assert_true (rthunk_client_connect (client, &error));
  submitted = rthunk_client_submit (client, parse, inputs, &error);
  g_assert_no_error (error);
  parsed = rthunk_value_force (submitted, &error);
  g_assert_no_error (error);
  printed = rthunk_value_to_string (parsed);
  g_assert_cmpstr (printed, ==, "[36 nil]");
  /* a bound list of nil and ints is a list of (maybe int) */
  submitted_kept = rthunk_client_submit (client, keep, inputs, &error);
  g_assert_no_error (error);
  kept = rthunk_value_force (submitted_kept, &error);
  g_assert_no_error (error);
  printed_kept = rthunk_value_to_string (kept);
  g_assert_cmpstr (printed_kept, ==, "[5]");
}

/* One expression submitted again and again with inputs of other types: the
 * client checks it once per set of input types (its memo), and each time
 * the answer is the one of those inputs. */
static void
test_submit_same_expression (void)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (shared_server->address);
  g_autoptr(RthunkNode) expr = test_parse_one ("(+ x x)");
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  static const char *const texts[] = { "42", "2.5", "42", "\"ab\"", "2.5" };

  for (guint round = 0; round < 2; round++)
    for (guint k = 0; k < G_N_ELEMENTS (texts); k++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(RthunkValue) value = NULL;
        g_autoptr(RthunkValue) forced = NULL;
        g_autofree char *printed = NULL;

        g_hash_table_insert (inputs, (gpointer) "x",
                             k == 0 || k == 2 ? rthunk_value_new_int (21)
                             : k == 3 ? rthunk_value_new_str ("ab") : rthunk_value_new_float (1.25));
        value = rthunk_client_submit (client, expr, inputs, &error);
        if (k == 3)
          {
            /* + takes numbers: refused by the check, every time */
            g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
            continue;
          }
        g_assert_no_error (error);
        forced = rthunk_value_force (value, &error);
        g_assert_no_error (error);
        printed = rthunk_value_to_string (forced);
        g_assert_cmpstr (printed, ==, texts[k]);
      }
}

/* (+ 1 "x") with no client-side check: the server's own check refuses it. */
static void
test_type_error_hand_built (void)
{
  static const NodeSpec specs[] = {
    SYM ("+"), INT (1), STR ("x"),
    { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, 2 } },
  };
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireEvalRequest) request = request_from_specs (specs, G_N_ELEMENTS (specs));
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  WireFailure thrown = { 0, };

  thunk = wire_submit (w, request, &thrown);
  g_assert_null (thunk);
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_TYPE_FAILURE);
  g_assert_cmpint (thrown.code, ==, RTHUNK_ERROR_TYPE_MISMATCH);
  g_test_message ("type failure: %s", thrown.message);
  g_assert_nonnull (strstr (thrown.message, "int"));
  g_assert_nonnull (strstr (thrown.message, "str"));
  wire_failure_clear (&thrown);
  g_assert_cmpint (submit_int (w, "(+ 1 2)", -1), ==, 3);
}

/* ---- malformed ASTs -------------------------------------------------------- */

static const NodeSpec forward_child[] = {
  SYM ("+"), INT (1),
  { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, 3 } },
  INT (2),
};
static const NodeSpec used_twice[] = {
  SYM ("+"), INT (1),
  { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, 1 } },
};
static const NodeSpec self_child[] = {
  SYM ("+"), INT (1),
  { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, 2 } },
};
static const NodeSpec negative_child[] = {
  SYM ("+"), INT (1),
  { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, -1 } },
};
static const NodeSpec unknown_kind[] = {
  { 99, 0, NULL, 0, { 0 } },
};
static const NodeSpec unused_node[] = {
  INT (7), INT (8),
};
static const NodeSpec symbol_without_text[] = {
  { RTHUNK_WIRE_NODE_KIND_SYMBOL, 0, NULL, 0, { 0 } },
};

typedef struct
{
  const char *path;
  const NodeSpec *specs;
  guint n_specs;        /* G_MAXUINT: the server's maxAstNodes + 1 */
  gint code;
} MalformedCase;

#define SPECS(a) a, G_N_ELEMENTS (a)

static const MalformedCase malformed_cases[] = {
  { "/server/malformed/forward-child", SPECS (forward_child), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/used-twice", SPECS (used_twice), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/self-child", SPECS (self_child), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/negative-child", SPECS (negative_child), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/empty", NULL, 0, RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/unknown-kind", SPECS (unknown_kind), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/unused-node", SPECS (unused_node), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/symbol-without-text", SPECS (symbol_without_text), RTHUNK_ERROR_INVALID_REQUEST },
  { "/server/malformed/too-many-nodes", NULL, G_MAXUINT, RTHUNK_ERROR_LIMIT_EXCEEDED },
};

static void
test_malformed (gconstpointer data)
{
  const MalformedCase *c = data;
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireEvalRequest) request = NULL;
  g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
  WireFailure thrown = { 0, };

  if (c->n_specs == G_MAXUINT)
    {
      g_autoptr(RthunkWireServerInfo) info = wire_info (w, NULL);

      /* maxAstNodes + 1 nodes in all */
      request = request_wide_vector ((guint) info->limits->maxAstNodes);
    }
  else
    request = request_from_specs (c->specs, c->n_specs);
  thunk = wire_submit (w, request, &thrown);
  g_assert_null (thunk);
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (thrown.code, ==, c->code);
  g_test_message ("invalid request: %s", thrown.message);
  wire_failure_clear (&thrown);
  /* the same connection answers the next call */
  g_assert_cmpint (submit_int (w, "(+ 1 (/ 4 2))", -1), ==, 3);
}

/* ---- thunkGet, thunkAwait, thunkCancel ------------------------------------- */

typedef struct
{
  const char *path;
  guint id_len;
} UnknownThunkCase;

static const UnknownThunkCase unknown_thunk_cases[] = {
  { "/server/thunk-get/unknown-id", 16 },
  { "/server/thunk-get/short-id", 3 },
  { "/server/thunk-get/empty-id", 0 },
  { "/server/thunk-get/long-id", 64 },
};

static void
test_thunk_get_unknown (gconstpointer data)
{
  const UnknownThunkCase *c = data;
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GByteArray) id = g_byte_array_new ();
  g_autoptr(RthunkWireVarCont) cont = NULL;
  WireFailure thrown = { 0, };

  for (guint k = 0; k < c->id_len; k++)
    {
      guint8 byte = (guint8) (0xa5 ^ k);

      g_byte_array_append (id, &byte, 1);
    }
  cont = wire_get (w, id, &thrown);
  g_assert_null (cont);
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (thrown.code, ==, RTHUNK_ERROR_UNKNOWN_THUNK);
  wire_failure_clear (&thrown);
  g_assert_cmpint (submit_int (w, "(+ 1 2)", -1), ==, 3);
}

static void
test_thunk_get_done (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(* 6 7)", -1);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);
  g_autoptr(RthunkWireVarCont) waited = wire_wait_finished (w, thunk->id, WAIT_CAP_US);
  g_autoptr(RthunkWireVarCont) cont = wire_get (w, thunk->id, NULL);
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *printed = NULL;

  g_assert_true (wire_same_id (cont->id, thunk->id));
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  g_assert_cmpint (wire_value_int (cont->value), ==, 42);
  g_assert_true (cont->__isset_type);
  type = rthunk_wire_read_type (cont->type, NULL);
  g_assert_nonnull (type);
  printed = rthunk_type_to_string (type);
  g_assert_cmpstr (printed, ==, "int");
  g_assert_true (cont->__isset_elapsedUs);
  g_assert_cmpint (cont->elapsedUs, >=, 0);
}

static void
test_await_first_done (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GByteArray) slow1 = submit_slow (w);
  g_autoptr(GByteArray) slow2 = submit_slow (w);
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(+ 1 2)", 0);
  g_autoptr(RthunkWireRemoteThunk) fast = wire_submit (w, request, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) done = NULL;
  RthunkWireVarCont *cont;
  gint64 started;

  g_ptr_array_add (ids, slow1);
  g_ptr_array_add (ids, fast->id);
  g_ptr_array_add (ids, slow2);
  started = g_get_monotonic_time ();
  done = wire_await (w, ids, 60000, NULL);
  /* it did not sit out the timeout: it returned for the fast one */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 50 * G_USEC_PER_SEC);
  g_assert_cmpuint (done->len, ==, 1);
  cont = g_ptr_array_index (done, 0);
  g_assert_true (wire_same_id (cont->id, fast->id));
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  g_assert_cmpint (wire_value_int (cont->value), ==, 3);

  wire_cancel_and_reap (w, slow1, WAIT_CAP_US);
  wire_cancel_and_reap (w, slow2, WAIT_CAP_US);
}

static void
test_await_timeout (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GByteArray) slow = submit_slow (w);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) done = NULL;
  g_autoptr(GPtrArray) done_now = NULL;
  g_autoptr(RthunkWireVarCont) cont = NULL;
  gint64 started;

  g_ptr_array_add (ids, slow);
  started = g_get_monotonic_time ();
  done = wire_await (w, ids, 300, NULL);
  /* the server waits at least the timeout, which began after our send */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 300 * 1000);
  g_assert_cmpuint (done->len, ==, 0);
  done_now = wire_await (w, ids, 0, NULL);
  g_assert_cmpuint (done_now->len, ==, 0);
  cont = wire_get (w, slow, NULL);
  g_assert_cmpint (cont->state, <=, RTHUNK_WIRE_THUNK_STATE_RUNNING);

  wire_cancel_and_reap (w, slow, WAIT_CAP_US);
}

static void
test_cancel_running (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) before = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(GByteArray) slow = submit_slow (w);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(RthunkWireVarCont) again = NULL;

  wire_wait_running (w, slow, WAIT_CAP_US);
  g_assert_true (wire_cancel_unfinished (w, slow));
  cont = wire_wait_finished (w, slow, WAIT_CAP_US);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  g_assert_true (cont->__isset_error);
  g_assert_cmpint (cont->error->code, ==, RTHUNK_ERROR_CANCELLED);
  g_assert_false (cont->__isset_value);
  /* a finished thunk cannot be cancelled again; its state sticks */
  g_assert_false (wire_cancel_unfinished (w, slow));
  again = wire_get (w, slow, NULL);
  g_assert_cmpint (again->state, ==, RTHUNK_WIRE_THUNK_STATE_CANCELLED);
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->cancelled - before->counters->cancelled, >=, 1);
}

/* ---- the memo of checked requests -------------------------------------------- */

/* Binds @name in @request to @value, or (@value NULL) to the thunk whose
 * 16-byte id is @id. */
static void
bind_input (RthunkWireEvalRequest *request,
            const char            *name,
            RthunkValue           *value,
            const guint8          *id)
{
  RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", name, NULL);
  g_autoptr(GError) error = NULL;

  if (value != NULL)
    g_assert_true (rthunk_wire_fill_value (binding->value, value, &error));
  else
    {
      RthunkWireValueNode *node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE,
                                                "kind", RTHUNK_WIRE_VALUE_KIND_THUNK, NULL);

      rthunk_wire_set_bytes (&node->thunkId, id, 16);
      node->__isset_thunkId = TRUE;
      g_ptr_array_add (binding->value->nodes, node);
    }
  g_ptr_array_add (request->bindings, binding);
  request->__isset_bindings = TRUE;
}

/* A submitEvalRequest of @text with x bound to @x. */
static RthunkWireEvalRequest *
request_with_x (const char  *text,
                RthunkValue *x)
{
  RthunkWireEvalRequest *request = wire_request_for (text, 0);

  bind_input (request, "x", x, NULL);
  return request;
}

static gint64
memo_hits (Wire *w)
{
  g_autoptr(RthunkWireServerInfo) info = wire_info (w, NULL);

  return info->counters->memoHits;
}

/* Requests that differ only in their literals' values and positions have
 * one shape: after it was seen twice, each is checked by the memo, and
 * each still gets its own values. */
static void
test_memo_shape (void)
{
  static const struct { const char *text; gint64 value; } cases[] = {
    { "(+ 1 (* 2 3))", 7 },
    { "(+ 10 (* 20 30))", 610 },
    { "(+    -100 (* -2 3))", -106 },
    { "(+ 0 (* 0 0))", 0 },
    { "(+ 4611686018427387904 (* 1 -1))", 4611686018427387903 },
    { "(+ 5\n (* 6 7))", 47 },
  };
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  gint64 before = memo_hits (w), after_first;

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    g_assert_cmpint (submit_int (w, cases[k].text, -1), ==, cases[k].value);
  /* distinct texts, one shape: all but the first two from the memo */
  after_first = memo_hits (w);
  g_assert_cmpint (after_first - before, >=, (gint64) G_N_ELEMENTS (cases) - 2);
  for (guint round = 0; round < 2; round++)
    for (guint k = G_N_ELEMENTS (cases); k-- > 0;)
      g_assert_cmpint (submit_int (w, cases[k].text, -1), ==, cases[k].value);
  g_assert_cmpint (memo_hits (w) - after_first, ==, 2 * G_N_ELEMENTS (cases));
  /* another shape is not taken for this one */
  g_assert_cmpint (submit_int (w, "(+ 1 (- 2 3))", -1), ==, 0);
  g_assert_cmpint (submit_int (w, "(* 1 (* 2 3))", -1), ==, 6);
}

/* A tree from the memo keeps its own positions: a runtime error names
 * where the request wrote the failing call. */
static void
test_memo_positions (void)
{
  static const struct { const char *text; const char *where; } cases[] = {
    { "(+ 1 (/ 2 0))", "<test>:1:6: error: division by zero" },
    { "(+ 3 (/ 4 0))", "<test>:1:6: error: division by zero" },
    { "(+   5 (/ 6 0))", "<test>:1:8: error: division by zero" },
    { "(+ 7\n  (/ 8 0))", "<test>:2:3: error: division by zero" },
    { "(+ 9 (/ 10 0))", "<test>:1:6: error: division by zero" },
  };
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);

  for (guint round = 0; round < 3; round++)
    for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
      {
        g_autoptr(RthunkWireEvalRequest) request = wire_request_for (cases[k].text, -1);
        g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);
        g_autoptr(RthunkWireVarCont) cont = wire_wait_finished (w, thunk->id, WAIT_CAP_US);

        g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
        g_assert_cmpstr (cont->error->message, ==, cases[k].where);
      }
}

/* The memo keeps the types a tree was checked with: with an input of
 * another type the same tree is checked again, so a string where numbers
 * were is refused, and floats give a float. */
static void
test_memo_input_types (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  gint64 before = memo_hits (w);

  for (gint64 k = 0; k < 4; k++)
    {
      g_autoptr(RthunkValue) x = rthunk_value_new_int (40 + k);
      g_autoptr(RthunkWireEvalRequest) request = request_with_x ("(+ x x)", x);
      g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);

      g_assert_cmpint (thunk_int (w, thunk), ==, 80 + 2 * k);
    }
  g_assert_cmpint (memo_hits (w) - before, >=, 2);
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(RthunkValue) s = rthunk_value_new_str ("a");
      g_autoptr(RthunkValue) f = rthunk_value_new_float (1.25);
      g_autoptr(RthunkWireEvalRequest) refused = request_with_x ("(+ x x)", s);
      g_autoptr(RthunkWireEvalRequest) floats = request_with_x ("(+ x x)", f);
      g_autoptr(RthunkWireRemoteThunk) thunk = NULL;
      g_autoptr(RthunkWireRemoteThunk) none = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = NULL;
      WireFailure thrown = { 0, };

      none = wire_submit (w, refused, &thrown);
      g_assert_null (none);
      g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_TYPE_FAILURE);
      wire_failure_clear (&thrown);
      thunk = wire_submit (w, floats, NULL);
      g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
      value = rthunk_wire_read_value (thunk->value, &error);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_FLOAT);
      g_assert_cmpfloat (rthunk_value_get_float (value), ==, 2.5);
    }
}

/* ---- a request's inputs ---------------------------------------------------- */

/* The sum of (k + 1) × vk over n inputs v0 … v(n−1), each bound to
 * (k + 1)² (so the sum is (n(n + 1)/2)², and only if each name has its
 * own value): the first @thunks of them to a finished thunk of that
 * value, the rest sent along. */
static RthunkWireEvalRequest *
sum_request (Wire  *w,
             guint  n,
             guint  thunks)
{
  g_autoptr(GString) text = g_string_new ("0");
  RthunkWireEvalRequest *request;

  for (guint k = 0; k < n; k++)
    {
      g_autofree char *outer = g_strdup_printf ("(+ (* %u v%u) %s)", k + 1, k, text->str);

      g_string_assign (text, outer);
    }
  request = wire_request_for (text->str, -1);
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *name = g_strdup_printf ("v%u", k);
      g_autoptr(RthunkValue) value = rthunk_value_new_int ((gint64) (k + 1) * (k + 1));

      if (k < thunks)
        {
          g_autofree char *square = g_strdup_printf ("(* %u %u)", k + 1, k + 1);
          g_autoptr(RthunkWireEvalRequest) made = wire_request_for (square, -1);
          g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, made, NULL);

          g_assert_cmpint (thunk_int (w, thunk), ==, (gint64) (k + 1) * (k + 1));
          bind_input (request, name, NULL, thunk->id->data);
        }
      else
        bind_input (request, name, value, NULL);
    }
  return request;
}

/* @request (n inputs) with one more binding, named @name, is refused
 * as naming binding n wrongly. */
static void
assert_refused_binding (Wire                  *w,
                        RthunkWireEvalRequest *request,
                        guint                  n,
                        const char            *name)
{
  g_autoptr(RthunkValue) again = rthunk_value_new_int (1);
  g_autofree char *message = g_strdup_printf ("binding %u: a missing, invalid or repeated name", n);
  WireFailure thrown = { 0, };

  bind_input (request, name, again, NULL);
  g_assert_null (wire_submit (w, request, &thrown));
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (thrown.code, ==, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_cmpstr (thrown.message, ==, message);
  wire_failure_clear (&thrown);
}

/* Requests of 1 to 40 inputs, values and thunks, on both sides of the
 * count past which their names are told apart by a hash table: each
 * distinct name is bound to its own value; one more binding that repeats
 * a name (of a value, or of a thunk), or has an invalid one, is refused,
 * naming that binding. */
static void
test_inputs_names (void)
{
  static const guint sizes[] = { 1, 2, 3, 16, 17, 40 };
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint thunks = 0; thunks <= MIN (sizes[s], 2u); thunks++)
      {
        guint n = sizes[s];
        gint64 expected = (gint64) n * (n + 1) / 2 * ((gint64) n * (n + 1) / 2);
        g_autoptr(RthunkWireEvalRequest) request = sum_request (w, n, thunks);
        g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);
        g_autofree char *middle = g_strdup_printf ("v%u", n / 2);
        const char *names[] = { middle, "v0", "__def_v" };

        g_assert_cmpint (thunk_int (w, thunk), ==, expected);
        for (guint k = 0; k < G_N_ELEMENTS (names); k++)
          {
            g_autoptr(RthunkWireEvalRequest) refused = sum_request (w, n, thunks);

            assert_refused_binding (w, refused, n, names[k]);
          }
      }
}

/* The result cache keys inputs by name, not by the order a request gives
 * them in: the same pure request with its two inputs the other way round
 * is answered from the cache. */
static void
test_inputs_cache_key_order (void)
{
  static const char text[] = "(+ a (reduce + b (range 0 30001)))";
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkValue) a = rthunk_value_new_int (7);
  g_autoptr(RthunkValue) b = rthunk_value_new_int (11);
  g_autoptr(RthunkWireEvalRequest) ab = wire_request_for (text, -1);
  g_autoptr(RthunkWireEvalRequest) ba = wire_request_for (text, -1);
  g_autoptr(RthunkWireRemoteThunk) first = NULL;
  g_autoptr(RthunkWireRemoteThunk) second = NULL;
  g_autoptr(RthunkWireServerInfo) before = NULL;
  g_autoptr(RthunkWireServerInfo) after = NULL;
  gint64 expected = 7 + 11 + (gint64) 30000 * 30001 / 2;

  bind_input (ab, "a", a, NULL);
  bind_input (ab, "b", b, NULL);
  bind_input (ba, "b", b, NULL);
  bind_input (ba, "a", a, NULL);
  first = wire_submit (w, ab, NULL);
  g_assert_cmpint (thunk_int (w, first), ==, expected);
  before = wire_info (w, NULL);
  second = wire_submit (w, ba, NULL);
  g_assert_cmpint (thunk_int (w, second), ==, expected);
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->cacheHits - before->counters->cacheHits, ==, 1);
  /* each input is part of the key: another b is not that result */
  {
    g_autoptr(RthunkValue) other = rthunk_value_new_int (12);
    g_autoptr(RthunkWireEvalRequest) ba2 = wire_request_for (text, -1);
    g_autoptr(RthunkWireRemoteThunk) third = NULL;
    g_autoptr(RthunkWireServerInfo) last = NULL;

    bind_input (ba2, "b", other, NULL);
    bind_input (ba2, "a", a, NULL);
    third = wire_submit (w, ba2, NULL);
    g_assert_cmpint (thunk_int (w, third), ==, expected + 1);
    last = wire_info (w, NULL);
    g_assert_cmpint (last->counters->cacheHits, ==, after->counters->cacheHits);
  }
}

/* ---- submitBatch ----------------------------------------------------------- */

/* Waits until every thunk of @ids finished; fills @conts by id. */
static void
await_all (Wire       *w,
           GPtrArray  *ids,
           GHashTable *conts)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_copy (ids, NULL, NULL);
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;

  while (pending->len > 0)
    {
      g_autoptr(GPtrArray) done = NULL;

      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      done = wire_await (w, pending, AWAIT_SLICE_MS, NULL);
      for (guint k = 0; k < done->len; k++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, k);

          for (guint j = 0; j < pending->len; j++)
            if (wire_same_id (cont->id, g_ptr_array_index (pending, j)))
              {
                g_hash_table_insert (conts, g_ptr_array_index (pending, j), g_object_ref (cont));
                g_ptr_array_remove_index_fast (pending, j);
                break;
              }
        }
    }
}

static void
test_batch_hundred (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();
  g_autoptr(GHashTable) conts = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                      (GDestroyNotify) g_bytes_unref, NULL);

  for (guint k = 0; k < BATCH_SIZE; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ %u (* %u %u))", k, k, k);

      g_ptr_array_add (requests, wire_request_for (text, 0));
    }
  thunks = wire_batch (w, requests);
  g_assert_cmpuint (thunks->len, ==, BATCH_SIZE);
  for (guint k = 0; k < BATCH_SIZE; k++)
    {
      RthunkWireRemoteThunk *thunk = g_ptr_array_index (thunks, k);
      GBytes *id = g_bytes_new (thunk->id->data, thunk->id->len);

      g_assert_cmpuint (thunk->id->len, ==, 16);
      g_assert_false (g_hash_table_contains (seen, id));   /* ids are unique */
      g_hash_table_add (seen, id);
      if (thunk->__isset_state && thunk->state == RTHUNK_WIRE_THUNK_STATE_DONE)
        g_assert_cmpint (wire_value_int (thunk->value), ==, k + k * k);
      else
        {
          g_assert_false (thunk->__isset_state && thunk->state > RTHUNK_WIRE_THUNK_STATE_DONE);
          g_ptr_array_add (waiting, thunk->id);
        }
    }
  await_all (w, waiting, conts);
  for (guint k = 0; k < BATCH_SIZE; k++)
    {
      RthunkWireRemoteThunk *thunk = g_ptr_array_index (thunks, k);
      RthunkWireVarCont *cont = g_hash_table_lookup (conts, thunk->id);

      if (cont == NULL)
        continue;           /* it came back inline */
      g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
      g_assert_cmpint (wire_value_int (cont->value), ==, k + k * k);
    }
}

/* A request that fails its checks comes back FAILED in its place. */
/* A request of @text whose thunk gets the id the client chose, with x bound
 * to a reference to the thunk @input_id names (NULL: x = 0). */
static RthunkWireEvalRequest *
link_request (const char   *text,
              const guint8 *id,
              gsize         id_len,
              const guint8 *input_id)
{
  RthunkWireEvalRequest *request = wire_request_for (text, 0);
  g_autoptr(RthunkValue) zero = input_id == NULL ? rthunk_value_new_int (0) : NULL;

  rthunk_wire_set_bytes (&request->thunkId, id, id_len);
  request->__isset_thunkId = TRUE;
  bind_input (request, "x", zero, input_id);
  return request;
}

/* A chain sent in one frame: each link names the previous one by the id the
 * client chose for it, before any was answered. The first link runs on a
 * worker, so the others usually wait for it on the server, and the last gives
 * the length of the chain. (That they really waited is shown, without
 * depending on timing, by /server/batch/chain-waits.) */
static void
test_batch_chain_proposed_ids (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  g_autoptr(GPtrArray) last = g_ptr_array_new ();
  g_autoptr(GHashTable) conts = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  guint8 ids[50][16];
  RthunkWireVarCont *cont;

  for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
    for (guint b = 0; b < 16; b++)
      ids[k][b] = (guint8) g_random_int_range (0, 256);
  /* about a million steps: past the inline fuel, so it runs on a worker */
  g_ptr_array_add (requests, link_request ("(+ x (- (loop [i 0] (if (< i 300000) (recur (+ i 1)) i)) 299999))",
                                           ids[0], 16, NULL));
  for (guint k = 1; k < G_N_ELEMENTS (ids); k++)
    g_ptr_array_add (requests, link_request ("(+ x 1)", ids[k], 16, ids[k - 1]));
  thunks = wire_batch (w, requests);
  g_assert_cmpuint (thunks->len, ==, G_N_ELEMENTS (ids));
  for (guint k = 0; k < thunks->len; k++)
    {
      RthunkWireRemoteThunk *thunk = g_ptr_array_index (thunks, k);

      g_assert_false (thunk->__isset_state && thunk->state > RTHUNK_WIRE_THUNK_STATE_DONE);
      g_assert_cmpmem (thunk->id->data, thunk->id->len, ids[k], 16);
    }
  g_ptr_array_add (last, ((RthunkWireRemoteThunk *) g_ptr_array_index (thunks, thunks->len - 1))->id);
  await_all (w, last, conts);
  cont = g_hash_table_lookup (conts, g_ptr_array_index (last, 0));
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  g_assert_cmpint (wire_value_int (cont->value), ==, G_N_ELEMENTS (ids));
}

/* A chain whose first link never finishes by itself: every later link is
 * accepted while its input is pending (the pipelined counter counts each
 * one), none is answered, and cancelling the first link fails the whole
 * chain with a reason rather than leaving it waiting. */
static void
test_batch_chain_waits (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  g_autoptr(RthunkWireServerInfo) before = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autofree char *slow = g_strdup_printf ("(+ x " SLOW_EXPR_FORMAT ")", SLOW_BOUND);
  g_autoptr(RthunkWireVarCont) pending = NULL;
  g_autoptr(RthunkWireVarCont) last = NULL;
  RthunkWireRemoteThunk *first, *tail;
  guint8 ids[4][16];

  for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
    for (guint b = 0; b < 16; b++)
      ids[k][b] = (guint8) g_random_int_range (0, 256);
  g_ptr_array_add (requests, link_request (slow, ids[0], 16, NULL));
  for (guint k = 1; k < G_N_ELEMENTS (ids); k++)
    g_ptr_array_add (requests, link_request ("(+ x 1)", ids[k], 16, ids[k - 1]));
  thunks = wire_batch (w, requests);
  g_assert_cmpuint (thunks->len, ==, G_N_ELEMENTS (ids));
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->pipelined - before->counters->pipelined, ==,
                   G_N_ELEMENTS (ids) - 1);
  first = g_ptr_array_index (thunks, 0);
  tail = g_ptr_array_index (thunks, thunks->len - 1);
  pending = wire_get (w, tail->id, NULL);
  g_assert_cmpint (pending->state, <=, RTHUNK_WIRE_THUNK_STATE_RUNNING);
  wire_wait_running (w, first->id, WAIT_CAP_US);
  wire_cancel_and_reap (w, first->id, WAIT_CAP_US);
  last = wire_wait_finished (w, tail->id, WAIT_CAP_US);
  g_assert_cmpint (last->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_true (last->__isset_error);
  g_assert_nonnull (strstr (last->error->message, "input"));
  g_assert_false (last->__isset_value);
}

/* A proposed id must be 16 bytes and not in use: each mistake fails that
 * request only, with a reason, and the rest of the batch is served. */
static void
test_batch_proposed_id_refused (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  guint8 id[16], short_id[4] = { 1, 2, 3, 4 };
  RthunkWireRemoteThunk *thunk;

  for (guint b = 0; b < 16; b++)
    id[b] = (guint8) g_random_int_range (0, 256);
  g_ptr_array_add (requests, link_request ("(+ x 1)", id, 16, NULL));
  g_ptr_array_add (requests, link_request ("(+ x 2)", id, 16, NULL));
  g_ptr_array_add (requests, link_request ("(+ x 3)", short_id, sizeof short_id, NULL));
  g_ptr_array_add (requests, link_request ("(+ x 4)", id, 16, id));
  thunks = wire_batch (w, requests);
  g_assert_cmpuint (thunks->len, ==, 4);
  thunk = g_ptr_array_index (thunks, 0);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  g_assert_cmpint (wire_value_int (thunk->value), ==, 1);
  thunk = g_ptr_array_index (thunks, 1);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (thunk->error->code, ==, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_nonnull (strstr (thunk->error->message, "already in use"));
  thunk = g_ptr_array_index (thunks, 2);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_nonnull (strstr (thunk->error->message, "16 bytes"));
  thunk = g_ptr_array_index (thunks, 3);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_nonnull (strstr (thunk->error->message, "already in use"));
}

/* A reference to a thunk on another server, sent to a server that fetches
 * from nowhere (the default): refused, never a connection to that address. */
static void
test_batch_holder_refused (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  guint8 id[16], input[16];
  RthunkWireEvalRequest *request;
  RthunkWireBinding *binding;
  RthunkWireRemoteThunk *thunk;

  for (guint b = 0; b < 16; b++)
    {
      id[b] = (guint8) g_random_int_range (0, 256);
      input[b] = (guint8) g_random_int_range (0, 256);
    }
  request = link_request ("(+ x 1)", id, 16, input);
  binding = g_ptr_array_index (request->bindings, 0);
  g_object_set (g_ptr_array_index (binding->value->nodes, 0), "holder", "192.0.2.1:7000", NULL);
  g_ptr_array_add (requests, request);
  thunks = wire_batch (w, requests);
  thunk = g_ptr_array_index (thunks, 0);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (thunk->error->code, ==, RTHUNK_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (thunk->error->message, "does not fetch from"));
}

/* Through a session: b reads a, still running on the same server, so b's
 * request names a's thunk and is sent before a finished; the server's
 * pipelined counter shows it. */
static void
test_session_pipelines (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) before = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_session_add_server (session, shared_server->address, &error));
  g_assert_no_error (error);
  value = rthunk_session_eval (session, "(let [a (remote (delay 300 41)) b (remote (+ a 1))] b)",
                               "<test>", &error);
  g_assert_no_error (error);
  result = rthunk_session_wait (session, value, 60000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (result), ==, 42);
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->pipelined, >, before->counters->pipelined);
}

/* Through a session: a map that fans out 300 remote calls, and a chain of
 * 300 dependent ones, leave in submitBatch frames of RTHUNK_CLIENT_SEND_AT
 * (the client queues a burst, sends a frame each time that many are
 * queued, and the rest when the evaluation ends or waits). */
static void
test_session_coalesces (void)
{
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireServerInfo) before = wire_info (w, NULL);
  g_autoptr(RthunkWireServerInfo) after = NULL;
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(RthunkValue) sum = NULL;
  g_autoptr(RthunkValue) chain = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_session_add_server (session, shared_server->address, &error));
  g_assert_no_error (error);
  value = rthunk_session_eval (session, "(def xs (map (fn [i] (remote (* i i))) (range 0 300))) (sum xs)",
                               "<test>", &error);
  g_assert_no_error (error);
  sum = rthunk_session_wait (session, value, 60000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (sum), ==, 8955050);
  g_clear_pointer (&value, rthunk_value_unref);
  value = rthunk_session_eval (session, "(loop [i 0 x (remote 0)] (if (< i 300) (recur (+ i 1) (remote (+ x 1))) x))",
                               "<test>", &error);
  g_assert_no_error (error);
  chain = rthunk_session_wait (session, value, 60000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (chain), ==, 300);
  after = wire_info (w, NULL);
  g_assert_cmpint (after->counters->submitted - before->counters->submitted, >=, 601);
  /* 300 / 64 frames and one for the rest, each; other tests do not run
   * meanwhile */
  g_assert_cmpint (after->counters->batches - before->counters->batches, <=,
                   2 * (300 / RTHUNK_CLIENT_SEND_AT + 1));
}

static void
test_batch_mixed (void)
{
  static const NodeSpec type_error[] = {
    SYM ("+"), INT (1), STR ("x"),
    { RTHUNK_WIRE_NODE_KIND_LIST, 0, NULL, 3, { 0, 1, 2 } },
  };
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) thunks = NULL;
  RthunkWireRemoteThunk *thunk;

  g_ptr_array_add (requests, wire_request_for ("(+ 1 2)", 0));
  g_ptr_array_add (requests, request_from_specs (type_error, G_N_ELEMENTS (type_error)));
  g_ptr_array_add (requests, request_from_specs (used_twice, G_N_ELEMENTS (used_twice)));
  g_ptr_array_add (requests, wire_request_for ("(* 4 5)", 0));
  thunks = wire_batch (w, requests);
  g_assert_cmpuint (thunks->len, ==, 4);
  g_assert_cmpint (thunk_int (w, thunks->pdata[0]), ==, 3);
  thunk = g_ptr_array_index (thunks, 1);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (thunk->error->code, ==, RTHUNK_ERROR_TYPE_MISMATCH);
  thunk = g_ptr_array_index (thunks, 2);
  g_assert_cmpint (thunk->state, ==, RTHUNK_WIRE_THUNK_STATE_FAILED);
  g_assert_cmpint (thunk->error->code, ==, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_cmpint (thunk_int (w, thunks->pdata[3]), ==, 20);
}

/* ---- concurrency ----------------------------------------------------------- */

static gint64
client_eval_int (RthunkClient *client,
                 const char   *text,
                 GError      **error)
{
  g_autoptr(RthunkNode) expr = test_parse_one (text);
  g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, NULL, error);
  g_autoptr(RthunkValue) forced = NULL;

  if (value == NULL || (forced = rthunk_value_force (value, error)) == NULL)
    return G_MININT64;
  if (rthunk_value_get_kind (forced) != RTHUNK_VALUE_INT)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "%s: not an int", text);
      return G_MININT64;
    }
  return rthunk_value_get_int (forced);
}

/* Client A's slow thunk keeps running while client B gets its answer. */
static void
test_slow_does_not_block (void)
{
  g_autoptr(Wire) a = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkClient) b = rthunk_client_new (shared_server->address);
  g_autoptr(GByteArray) slow = submit_slow (a);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(GError) error = NULL;

  wire_wait_running (a, slow, WAIT_CAP_US);
  g_assert_true (rthunk_client_connect (b, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < 3; k++)
    {
      g_assert_cmpint (client_eval_int (b, "(+ 1 2)", &error), ==, 3);
      g_assert_no_error (error);
    }
  /* B is done; A's thunk is still running */
  cont = wire_get (a, slow, NULL);
  g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_RUNNING);
  wire_cancel_and_reap (a, slow, WAIT_CAP_US);
}

typedef struct
{
  guint index;
  guint correct;
  GError *error;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(RthunkClient) client = rthunk_client_new (shared_server->address);

  if (!rthunk_client_connect (client, &worker->error))
    return NULL;
  for (guint k = 0; k < N_PER_THREAD; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ (* %u 1000) (- %u 0))", worker->index, k);
      gint64 expected = worker->index * 1000 + k;
      gint64 got = client_eval_int (client, text, &worker->error);

      if (worker->error != NULL)
        return NULL;
      if (got != expected)
        {
          g_set_error (&worker->error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL,
                       "%s gave %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT, text, got, expected);
          return NULL;
        }
      worker->correct++;
    }
  return NULL;
}

static void
test_threads (void)
{
  Worker workers[N_THREADS] = { { 0, }, };
  GThread *threads[N_THREADS];

  for (guint t = 0; t < N_THREADS; t++)
    {
      workers[t].index = t;
      threads[t] = g_thread_new ("submitter", worker_run, &workers[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_assert_no_error (workers[t].error);
      g_assert_cmpuint (workers[t].correct, ==, N_PER_THREAD);
    }
}

#define N_QUEUED_THREADS 16
#define N_QUEUED_PER_THREAD 50

typedef struct
{
  guint index;
  GPtrArray *ids;               /* GByteArray: its thunks, in order */
} QueuedWorker;

/* Submits its thunks to the worker pool (no inline budget), then awaits
 * them all with thunkAwait until each was reported finished once, right. */
static gpointer
queued_worker_run (gpointer data)
{
  QueuedWorker *worker = data;
  g_autoptr(Wire) w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  g_autoptr(GPtrArray) pending = g_ptr_array_new ();
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;

  worker->ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  for (guint k = 0; k < N_QUEUED_PER_THREAD; k++)
    {
      g_autofree char *text = g_strdup_printf ("(+ %u %u)", worker->index * 1000, k);
      g_autoptr(RthunkWireEvalRequest) request = wire_request_for (text, 0);
      g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);

      g_ptr_array_add (worker->ids, g_byte_array_ref (thunk->id));
      g_ptr_array_add (pending, g_ptr_array_index (worker->ids, k));
    }
  while (pending->len > 0)
    {
      g_autoptr(GPtrArray) done = wire_await (w, pending, AWAIT_SLICE_MS, NULL);

      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
      for (guint d = 0; d < done->len; d++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, d);
          guint found = 0;

          g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
          for (guint p = pending->len; p > 0; p--)
            if (wire_same_id (g_ptr_array_index (pending, p - 1), cont->id))
              {
                g_ptr_array_remove_index (pending, p - 1);
                found++;
              }
          g_assert_cmpuint (found, ==, 1);
        }
    }
  return NULL;
}

/* 16 connections at once submit to the worker pool and await their
 * thunks (a wait over thunks of many shards); afterwards another
 * connection finds every one of them by its id, with its value. */
static void
test_queued_findable (void)
{
  QueuedWorker workers[N_QUEUED_THREADS];
  GThread *threads[N_QUEUED_THREADS];
  g_autoptr(Wire) w = NULL;

  for (guint t = 0; t < N_QUEUED_THREADS; t++)
    {
      workers[t] = (QueuedWorker) { t, NULL };
      threads[t] = g_thread_new ("submitter", queued_worker_run, &workers[t]);
    }
  for (guint t = 0; t < N_QUEUED_THREADS; t++)
    g_thread_join (threads[t]);
  w = wire_open (shared_server, SOCKET_TIMEOUT_MS);
  for (guint t = 0; t < N_QUEUED_THREADS; t++)
    {
      for (guint k = 0; k < N_QUEUED_PER_THREAD; k++)
        {
          g_autoptr(RthunkWireVarCont) cont = wire_get (w, g_ptr_array_index (workers[t].ids, k), NULL);

          g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
          g_assert_cmpint (wire_value_int (cont->value), ==, t * 1000 + k);
        }
      g_ptr_array_unref (workers[t].ids);
    }
}

/* ---- --thunk-ttl-ms ---------------------------------------------------------- */

/* A finished thunk is forgotten once its time to live is over, though no
 * other thunk finishes after it (the table forgets a shard's oldest when
 * a thunk of that shard finishes; a lookup does not wait for that). */
static void
test_ttl_without_traffic (void)
{
  const char *args[] = { "--thunk-ttl-ms", "200", NULL };
  TestServer *server = test_server_start ("ttl", args);
  g_autoptr(Wire) w = wire_open (server, SOCKET_TIMEOUT_MS);
  g_autoptr(RthunkWireEvalRequest) request = wire_request_for ("(* 6 7)", -1);
  g_autoptr(RthunkWireRemoteThunk) thunk = wire_submit (w, request, NULL);
  g_autoptr(RthunkWireVarCont) done = wire_wait_finished (w, thunk->id, WAIT_CAP_US);
  gint64 give_up = g_get_monotonic_time () + WAIT_CAP_US;
  WireFailure thrown = { 0, };

  g_assert_cmpint (done->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
  for (;;)
    {
      g_autoptr(RthunkWireVarCont) cont = wire_get (w, thunk->id, &thrown);

      if (cont == NULL)
        break;
      g_assert_cmpint (cont->state, ==, RTHUNK_WIRE_THUNK_STATE_DONE);
      g_assert_cmpint (g_get_monotonic_time (), <, give_up);
    }
  g_assert_true (thrown.type == RTHUNK_WIRE_TYPE_INVALID_REQUEST);
  g_assert_cmpint (thrown.code, ==, RTHUNK_ERROR_UNKNOWN_THUNK);
  wire_failure_clear (&thrown);
  test_server_stop (server);
}

/* ---- SIGTERM --------------------------------------------------------------- */

/* The server drains: the running thunk stops at its deadline (3 s), and
 * the process exits 0 (test_server_stop asserts both). */
static void
test_sigterm_running (void)
{
  const char *args[] = { "--deadline-ms", "3000", "--workers", "2", NULL };
  TestServer *server = test_server_start ("sigterm", args);
  g_autoptr(Wire) w = wire_open (server, SOCKET_TIMEOUT_MS);
  g_autoptr(GByteArray) slow = submit_slow (w);
  g_autoptr(RthunkWireVarCont) cont = NULL;
  g_autoptr(GError) error = NULL;

  wire_wait_running (w, slow, WAIT_CAP_US);
  test_server_stop (server);
  /* the connection was closed, not left hanging */
  cont = g_object_new (RTHUNK_WIRE_TYPE_VAR_CONT, NULL);
  {
    g_autoptr(RthunkWireRemoteThunk) thunk = wire_remote_thunk_for (slow);
    RthunkWireInvalidRequest *invalid = NULL;
    RthunkWireNotAuthorized *denied = NULL;

    g_assert_false (rthunk_wire_remote_execution_service_if_thunk_get (w->stub, &cont, thunk, w->auth,
                                                                       &invalid, &denied, &error));
    g_assert_nonnull (error);
    g_assert_null (invalid);
  }
}

/* ---- main ------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  const char *args[] = { "--workers", "4", "--deadline-ms", "30000", NULL };
  int status;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  rthunk_wire_ensure_types ();
  shared_server = test_server_start (SERVER_NAME, args);

  g_test_add_func ("/server/func-defs/all", test_func_defs_all);
  g_test_add_func ("/server/func-defs/named", test_func_defs_named);
  TEST_ADD_TABLE (unknown_names_cases, test_func_defs_unknown);
  g_test_add_func ("/server/info/basics", test_info_basics);
  g_test_add_func ("/server/info/counters", test_info_counters);
  TEST_ADD_TABLE (submit_cases, test_submit);
  g_test_add_func ("/server/submit/client", test_submit_client);
  g_test_add_func ("/server/submit/same-expression", test_submit_same_expression);
  g_test_add_func ("/server/submit/record", test_submit_record);
  g_test_add_func ("/server/submit/maybe", test_submit_maybe);
  g_test_add_func ("/server/type-error/hand-built", test_type_error_hand_built);
  TEST_ADD_TABLE (malformed_cases, test_malformed);
  TEST_ADD_TABLE (unknown_thunk_cases, test_thunk_get_unknown);
  g_test_add_func ("/server/thunk-get/done", test_thunk_get_done);
  g_test_add_func ("/server/await/first-done", test_await_first_done);
  g_test_add_func ("/server/await/timeout", test_await_timeout);
  g_test_add_func ("/server/cancel/running", test_cancel_running);
  g_test_add_func ("/server/memo/shape", test_memo_shape);
  g_test_add_func ("/server/memo/positions", test_memo_positions);
  g_test_add_func ("/server/memo/input-types", test_memo_input_types);
  g_test_add_func ("/server/inputs/names", test_inputs_names);
  g_test_add_func ("/server/inputs/cache-key-order", test_inputs_cache_key_order);
  g_test_add_func ("/server/batch/hundred", test_batch_hundred);
  g_test_add_func ("/server/batch/mixed", test_batch_mixed);
  g_test_add_func ("/server/batch/chain-proposed-ids", test_batch_chain_proposed_ids);
  g_test_add_func ("/server/batch/chain-waits", test_batch_chain_waits);
  g_test_add_func ("/server/batch/proposed-id-refused", test_batch_proposed_id_refused);
  g_test_add_func ("/server/batch/holder-refused", test_batch_holder_refused);
  g_test_add_func ("/server/session/pipelines", test_session_pipelines);
  g_test_add_func ("/server/session/coalesces", test_session_coalesces);
  g_test_add_func ("/server/concurrency/slow-does-not-block", test_slow_does_not_block);
  g_test_add_func ("/server/concurrency/threads", test_threads);
  g_test_add_func ("/server/concurrency/queued-findable", test_queued_findable);
  g_test_add_func ("/server/thunk-ttl/without-traffic", test_ttl_without_traffic);
  g_test_add_func ("/server/sigterm/running-thunk", test_sigterm_running);

  status = g_test_run ();
  test_server_stop (shared_server);
  return status;
}
