/* test-fast-path.c — rthunkd's fast path answers as the generated code does
 *
 * rthunk_handler_serve_fast() answers submitEvalRequest and submitBatch
 * frames without the generated processor. Each case here sends the same
 * frame to two fresh server states, one through the fast path and one
 * through the generated processor (as rthunkd ran before the fast path),
 * and compares the replies byte for byte. Requests propose their thunk ids
 * (EvalRequest.thunkId), so the replies are deterministic. Frames the fast
 * path leaves alone (exceptions, other methods, oddities) must leave its
 * reply empty and its state untouched. A thunk cancelled from another
 * thread while the fast path evaluates it inline must end cleanly.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-handler.h"
#include "rthunk-handler-private.h"
#include "rthunk-wire.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftProcessor, g_object_unref)

typedef struct
{
  RthunkServerState *fast;      /* answered by rthunk_handler_serve_fast() */
  RthunkServerState *slow;      /* answered by the generated processor */
  ThriftProcessor *processor;   /* over slow */
} Pair;

static Pair *
pair_new (const char *token)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkHandler) handler = NULL;
  RthunkServerLimits limits;
  Pair *pair = g_new0 (Pair, 1);

  rthunk_server_limits_init (&limits);
  limits.workers = 1;
  pair->fast = rthunk_server_state_new (catalog, "twin", &limits);
  pair->slow = rthunk_server_state_new (catalog, "twin", &limits);
  rthunk_server_state_set_token (pair->fast, token);
  rthunk_server_state_set_token (pair->slow, token);
  handler = rthunk_handler_new (pair->slow);
  pair->processor = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_PROCESSOR,
                                  "handler", handler, NULL);
  return pair;
}

static void
pair_free (Pair *pair)
{
  g_object_unref (pair->processor);
  rthunk_server_state_free (pair->fast);
  rthunk_server_state_free (pair->slow);
  g_free (pair);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pair, pair_free)

/* What the generated processor answers to @message. */
static GBytes *
slow_reply (Pair   *pair,
            GBytes *message)
{
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  g_autoptr(GError) error = NULL;

  rthunk_frame_transport_set_input (transport, message);
  g_assert_true (thrift_processor_process (pair->processor, protocol, protocol, &error));
  g_assert_no_error (error);
  return rthunk_frame_transport_take_output (transport);
}

/* The frame body the generated client writes for submitEvalRequest of
 * @request, or for submitBatch of @requests. */
static GBytes *
call_message (RthunkWireEvalRequest *request,
              GPtrArray             *requests,
              const char            *token)
{
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  g_autoptr(GObject) stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                                          "input_protocol", protocol, "output_protocol", protocol, NULL);
  RthunkWireRemoteExecutionServiceIf *iface = RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (stub);
  g_autoptr(RthunkWireAuth) auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);
  g_autoptr(GError) error = NULL;

  if (token != NULL)
    g_object_set (auth, "token", token, NULL);
  if (request != NULL)
    g_assert_true (rthunk_wire_remote_execution_service_client_send_submit_eval_request (iface, request, auth, &error));
  else
    g_assert_true (rthunk_wire_remote_execution_service_client_send_submit_batch (iface, requests, auth, &error));
  return rthunk_frame_transport_take_output (transport);
}

static GBytes *
submit_message (RthunkWireEvalRequest *request,
                const char            *token)
{
  return call_message (request, NULL, token);
}

static GBytes *
batch_message (GPtrArray  *requests,
               const char *token)
{
  return call_message (NULL, requests, token);
}

static guint next_id;

/* The thunk id the @n-th request proposes. */
static void
thunk_id_of (guint  n,
             guint8 id[16])
{
  memset (id, 0, 16);
  id[0] = 0x5a;
  memcpy (id + 12, &n, sizeof n);
}

/* A request for @text proposing the next thunk id; @x binds "x" to an int
 * when >= 0, or to the thunk of id @ref_id when @ref_id > 0. */
static RthunkWireEvalRequest *
request_for (const char *text,
             gint64      x,
             guint       ref_id,
             gint        use_cache)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<fast>", text, -1, &error);
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  guint8 id[16];

  g_assert_no_error (error);
  rthunk_wire_fill_ast (request->ast, g_ptr_array_index (forms, 0), NULL);
  thunk_id_of (++next_id, id);
  rthunk_wire_set_bytes (&request->thunkId, id, sizeof id);
  request->__isset_thunkId = TRUE;
  if (x >= 0 || ref_id > 0)
    {
      RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, "name", "x", NULL);

      if (ref_id > 0)
        {
          RthunkWireValueNode *node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE,
                                                    "kind", RTHUNK_WIRE_VALUE_KIND_THUNK, NULL);

          memcpy (id + 12, &ref_id, sizeof ref_id);
          rthunk_wire_set_bytes (&node->thunkId, id, sizeof id);
          node->__isset_thunkId = TRUE;
          g_ptr_array_add (binding->value->nodes, node);
        }
      else
        {
          g_autoptr(RthunkValue) value = rthunk_value_new_int (x);

          g_assert_true (rthunk_wire_fill_value (binding->value, value, NULL));
        }
      g_ptr_array_add (request->bindings, binding);
      request->__isset_bindings = TRUE;
    }
  if (use_cache >= 0)
    {
      request->options->useCache = use_cache != 0;
      request->options->__isset_useCache = TRUE;
      request->__isset_options = TRUE;
    }
  return request;
}

/* A request for @text naming @name as a definition neither server holds:
 * it fails with MISSING_DEFINITIONS, in a batch in its place. */
static RthunkWireEvalRequest *
request_naming_unknown_definition (const char *text,
                                   const char *name)
{
  RthunkWireEvalRequest *request = request_for (text, -1, 0, -1);
  RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", name, NULL);
  guint8 hash[32];

  memset (hash, 0x3c, sizeof hash);
  rthunk_wire_set_bytes (&ref->hash, hash, sizeof hash);
  g_ptr_array_add (request->definitions, ref);
  request->__isset_definitions = TRUE;
  return request;
}

/* Both states get @message; the fast path must answer it (@answered) with
 * the generated processor's bytes, or leave it (then the processor
 * answers both, and the fast state must say the same). */
static void
assert_same_reply (Pair     *pair,
                   GBytes   *message,
                   gboolean  answered)
{
  g_autoptr(GByteArray) fast = g_byte_array_new ();
  g_autoptr(GBytes) slow = slow_reply (pair, message);

  g_assert_cmpint (rthunk_handler_serve_fast (pair->fast, message, fast), ==, answered);
  if (answered)
    {
      g_autoptr(GBytes) got = g_byte_array_free_to_bytes (g_steal_pointer (&fast));

      g_assert_true (g_bytes_equal (got, slow));
    }
  else
    g_assert_cmpuint (fast->len, ==, 0);
}

static const char *const values[] = {
  "(+ 1 2)", "(/ 7.0 2.0)", "(concat \"é\" \"x\")", "(= 1 1)", "nil", "[1 2 3]", "[[1] [2 3] []]",
  "(map (fn [i] (* i i)) (range 0 20))", "(head [\"a\" \"b\"])", "(fn [a] a)",
  "(loop [i 0 acc 0] (if (< i 100) (recur (+ i 1) (+ acc i)) acc))",
};

static void
test_values (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (values); k++)
    {
      /* twice: the second may come from the memo or the cache */
      for (guint again = 0; again < 2; again++)
        {
          g_autoptr(RthunkWireEvalRequest) request = request_for (values[k], -1, 0, -1);
          g_autoptr(GBytes) message = submit_message (request, NULL);

          g_test_message ("%s, %s time", values[k], again ? "second" : "first");
          assert_same_reply (pair, message, TRUE);
        }
    }
}

static void
test_runtime_errors (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  const char *const failing[] = { "(/ 1 0)", "(head (tail [1]))", "(nth [1 2] 5)" };

  for (guint k = 0; k < G_N_ELEMENTS (failing); k++)
    {
      g_autoptr(RthunkWireEvalRequest) request = request_for (failing[k], -1, 0, 0);
      g_autoptr(GBytes) message = submit_message (request, NULL);

      assert_same_reply (pair, message, TRUE);
    }
}

static void
test_bindings (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  g_autoptr(RthunkWireEvalRequest) first = request_for ("(* x 2)", 21, 0, -1);
  g_autoptr(GBytes) m1 = submit_message (first, NULL);
  guint first_id = next_id;
  g_autoptr(RthunkWireEvalRequest) second = request_for ("(+ x 1)", -1, first_id, -1);
  g_autoptr(GBytes) m2 = submit_message (second, NULL);

  assert_same_reply (pair, m1, TRUE);
  /* x is the first thunk: promise pipelining */
  assert_same_reply (pair, m2, TRUE);
}

/* Refused requests are answered by the generated code, exceptions and
 * all: the fast path leaves them. */
static void
test_refused (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  const char *const refused[] = { "(+ 1 \"a\")", "(no-such-function 1)", "y" };

  for (guint k = 0; k < G_N_ELEMENTS (refused); k++)
    {
      g_autoptr(RthunkWireEvalRequest) request = request_for (refused[k], -1, 0, -1);
      g_autoptr(GBytes) message = submit_message (request, NULL);

      assert_same_reply (pair, message, FALSE);
    }
}

static void
test_token (void)
{
  g_autoptr(Pair) pair = pair_new ("sesame");
  g_autoptr(RthunkWireEvalRequest) wrong = request_for ("(+ 1 2)", -1, 0, -1);
  g_autoptr(RthunkWireEvalRequest) right = request_for ("(+ 1 2)", -1, 0, -1);
  g_autoptr(GBytes) m_wrong = submit_message (wrong, "open");
  g_autoptr(GBytes) m_none = submit_message (wrong, NULL);
  g_autoptr(GBytes) m_right = submit_message (right, "sesame");

  assert_same_reply (pair, m_wrong, FALSE);
  assert_same_reply (pair, m_none, FALSE);
  assert_same_reply (pair, m_right, TRUE);
}

static void
test_batch (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GBytes) message = NULL;
  guint before;

  g_ptr_array_add (requests, request_for ("(+ 1 2)", -1, 0, -1));
  before = next_id;
  g_ptr_array_add (requests, request_for ("(+ x 1)", -1, before, -1));     /* the one before */
  g_ptr_array_add (requests, request_for ("(+ 1 \"a\")", -1, 0, -1));      /* FAILED, in its place */
  g_ptr_array_add (requests, request_for ("(concat \"a\" x)", -1, 0, -1)); /* x unbound */
  g_ptr_array_add (requests, request_for ("(/ 1 0)", -1, 0, 0));
  g_ptr_array_add (requests, request_for ("[1 2 3]", -1, 0, -1));
  g_ptr_array_add (requests, request_naming_unknown_definition ("(sq 2)", "sq"));
  message = batch_message (requests, NULL);
  assert_same_reply (pair, message, TRUE);
}

/* Requests of three shapes in turn, with other literals each round (a
 * script's lines of a few kinds): the same replies, and from the fourth
 * round on each Ast is found among the connection thread's last shapes,
 * not walked and looked up (the memo keeps a shape the second time it is
 * seen, the thread the third). */
static char *
shape_text (guint kind,
            guint n)
{
  switch (kind)
    {
    case 0:  return g_strdup_printf ("(+ %u 1)", n);
    case 1:  return g_strdup_printf ("(str-len (str %u))", n);
    default: return g_strdup_printf ("(* %u.5 2.0)", n);
    }
}

static void
test_shapes_in_turn (void)
{
  const guint kinds = 3;
  g_autoptr(Pair) pair = pair_new (NULL);
  guint64 hits = 0;

  for (guint round = 0; round < 5; round++)
    {
      if (round == 3)
        hits = rthunk_handler_last_ast_hits ();
      for (guint k = 0; k < kinds; k++)
        {
          g_autofree char *text = shape_text (k, 10 * round + k);
          g_autoptr(RthunkWireEvalRequest) request = request_for (text, -1, 0, -1);
          g_autoptr(GBytes) message = submit_message (request, NULL);

          assert_same_reply (pair, message, TRUE);
        }
    }
  g_assert_cmpuint (rthunk_handler_last_ast_hits () - hits, ==, 2 * kinds);
}

/* Threads that answer requests of one shape at once, a new shape each
 * round: each misses the memo and inserts the shape it checked, the
 * same bytes as the others'. An insert that drops another thread's
 * shape from the memo must not free it while that thread still uses it
 * (caught by the sanitizers' build, or as heap corruption at exit). */
#define RACE_THREADS 4
#define RACE_ROUNDS 120

typedef struct
{
  RthunkServerState *state;
  GBytes *messages[RACE_THREADS][RACE_ROUNDS];
  GMutex lock;
  GCond cond;
  guint waiting;                /* threads at the barrier of this round */
  guint round;                  /* rounds every thread has reached */
  guint answered;
} Race;

/* Waits until every thread has reached the start of @round. */
static void
race_barrier (Race  *race,
              guint  round)
{
  g_mutex_lock (&race->lock);
  if (++race->waiting == RACE_THREADS)
    {
      race->waiting = 0;
      race->round = round + 1;
      g_cond_broadcast (&race->cond);
    }
  while (race->round <= round)
    g_cond_wait (&race->cond, &race->lock);
  g_mutex_unlock (&race->lock);
}

static gpointer
race_thread (gpointer data)
{
  Race *race = data;
  static gint next_thread;
  guint me = (guint) g_atomic_int_add (&next_thread, 1) % RACE_THREADS;

  for (guint round = 0; round < RACE_ROUNDS; round++)
    {
      g_autoptr(GByteArray) reply = g_byte_array_new ();

      race_barrier (race, round);
      if (rthunk_handler_serve_fast (race->state, race->messages[me][round], reply) && reply->len > 0)
        g_atomic_int_inc (&race->answered);
    }
  return NULL;
}

static void
test_same_new_shape_from_threads (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  GThread *threads[RACE_THREADS];
  Race race = { pair->fast, };

  g_mutex_init (&race.lock);
  g_cond_init (&race.cond);
  for (guint round = 0; round < RACE_ROUNDS; round++)
    {
      /* (sum [1 1 … 1]), round + 1 items: a shape of its own */
      g_autoptr(GString) text = g_string_new ("(sum [1");

      for (guint k = 0; k < round; k++)
        g_string_append (text, " 1");
      g_string_append (text, "])");
      for (guint t = 0; t < RACE_THREADS; t++)
        {
          g_autoptr(RthunkWireEvalRequest) request = request_for (text->str, -1, 0, -1);

          race.messages[t][round] = submit_message (request, NULL);
        }
    }
  for (guint t = 0; t < RACE_THREADS; t++)
    threads[t] = g_thread_new ("race", race_thread, &race);
  for (guint t = 0; t < RACE_THREADS; t++)
    g_thread_join (threads[t]);
  g_assert_cmpuint (race.answered, ==, RACE_THREADS * RACE_ROUNDS);
  for (guint t = 0; t < RACE_THREADS; t++)
    for (guint round = 0; round < RACE_ROUNDS; round++)
      g_bytes_unref (race.messages[t][round]);
  g_mutex_clear (&race.lock);
  g_cond_clear (&race.cond);
}

/* A thunk the connection's thread evaluates inline is not under the
 * table's lock, and another connection may name it (its id was proposed)
 * and cancel it meanwhile. The cancel must not finish it under that
 * thread, dropping its definitions, the rest of its expression and its
 * cache key while they are read: that read freed memory or a null key
 * (a crash), or cached the value of the expression's head as the whole
 * expression's. The evaluation calls `gate`, whose first call waits
 * until the test, the other connection, has cancelled the thunk. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean stopped;             /* (lock) the first call is waiting */
  gboolean go;                  /* (lock) it may return */
} Gate;

static RthunkValue *
gate_call (RthunkCallContext  *context,
           RthunkValue *const *args,
           guint               n_args,
           gpointer            user_data,
           GError            **error)
{
  Gate *gate = user_data;

  g_mutex_lock (&gate->lock);
  if (!gate->stopped)
    {
      gate->stopped = TRUE;
      g_cond_broadcast (&gate->cond);
      while (!gate->go)
        g_cond_wait (&gate->cond, &gate->lock);
    }
  g_mutex_unlock (&gate->lock);
  return rthunk_value_ref (args[0]);
}

typedef struct
{
  RthunkServerState *state;
  GBytes *message;
} Submitter;

static gpointer
submit_thread (gpointer data)
{
  Submitter *submitter = data;
  g_autoptr(GByteArray) reply = g_byte_array_new ();

  return GINT_TO_POINTER (rthunk_handler_serve_fast (submitter->state, submitter->message, reply));
}

/* The outcome of the thunk the @n-th request proposed, once finished. */
static RthunkThunkState
outcome_of (RthunkServerState  *state,
            guint               n,
            RthunkValue       **value)
{
  g_autoptr(RthunkThunkEntry) entry = NULL;
  guint8 id[16];

  thunk_id_of (n, id);
  entry = rthunk_thunk_table_lookup (state->table, id, sizeof id);
  g_assert_nonnull (entry);
  g_assert_cmpuint (rthunk_thunk_table_wait_any (state->table, &entry, 1, G_MAXINT64, NULL), ==, 1);
  return rthunk_thunk_table_get_outcome (state->table, entry, value);
}

/* @request names the definition of @form, (defn NAME …), of @hash. */
static void
request_add_definition (RthunkWireEvalRequest *request,
                        RthunkNode            *form,
                        const guint8          *hash)
{
  const char *name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", name, NULL);

  rthunk_wire_set_bytes (&ref->hash, hash, RTHUNK_HASH_LEN);
  g_ptr_array_add (request->definitions, ref);
  request->__isset_definitions = TRUE;
}

/* A submitEvalRequest of @text (and of @definition, if any, which uses no
 * other) is cancelled while the connection's thread evaluates it inline,
 * held up by `gate`; then the same request again. Each is @expected, or
 * the first is cancelled; it must be if it is too long to finish inline
 * (@queued). */
static void
cancel_while_inline (const char *text,
                     const char *definition,
                     gint64      expected,
                     gboolean    queued)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkWireEvalRequest) request = request_for (text, -1, 0, -1);
  guint cancelled_n = next_id;
  g_autoptr(RthunkWireEvalRequest) again = request_for (text, -1, 0, -1);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) again_message = NULL;
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  g_autoptr(RthunkThunkEntry) entry = NULL;
  g_autoptr(RthunkValue) value = NULL;
  Gate gate = { 0, };
  Submitter submitter = { NULL, };
  RthunkServerLimits limits;
  RthunkThunkState state;
  gboolean finished_now;
  GThread *thread;
  guint8 id[16];

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  g_assert_true (rthunk_catalog_add (catalog, "gate", "(int -> int)", RTHUNK_FUNC_PURE, "for the tests",
                                     gate_call, &gate, NULL, &error));
  g_assert_no_error (error);
  rthunk_server_limits_init (&limits);
  limits.workers = 1;
  submitter.state = rthunk_server_state_new (catalog, "twin", &limits);
  if (definition != NULL)
    {
      g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<fast>", definition, -1, &error);
      g_autoptr(RthunkDefinition) stored = NULL;
      RthunkWireDefinition *def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
      guint8 hash[RTHUNK_HASH_LEN];

      g_assert_no_error (error);
      g_assert_true (rthunk_hash_definition (g_ptr_array_index (forms, 0), NULL, NULL, hash, &error));
      rthunk_wire_set_bytes (&def->hash, hash, sizeof hash);
      rthunk_wire_fill_ast (def->form, g_ptr_array_index (forms, 0), NULL);
      stored = rthunk_handler_verify_definition (submitter.state, def, NULL, &error);
      g_object_unref (def);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_def_store_insert (submitter.state->defs, stored), ==, RTHUNK_LRU_ADDED);
      request_add_definition (request, g_ptr_array_index (forms, 0), hash);
      request_add_definition (again, g_ptr_array_index (forms, 0), hash);
    }
  submitter.message = message = submit_message (request, NULL);
  again_message = submit_message (again, NULL);
  thread = g_thread_new ("submit", submit_thread, &submitter);
  g_mutex_lock (&gate.lock);
  while (!gate.stopped)
    g_cond_wait (&gate.cond, &gate.lock);
  g_mutex_unlock (&gate.lock);
  /* what thunkCancel does, from another connection */
  thunk_id_of (cancelled_n, id);
  entry = rthunk_thunk_table_lookup (submitter.state->table, id, sizeof id);
  g_assert_nonnull (entry);
  g_assert_true (rthunk_thunk_table_cancel (submitter.state->table, entry, &finished_now));
  if (finished_now)
    COUNT (submitter.state->counters.cancelled);
  g_mutex_lock (&gate.lock);
  gate.go = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
  /* cancelled, or done before the cancel could stop it: its own value */
  state = outcome_of (submitter.state, cancelled_n, &value);
  g_assert_true (state == RTHUNK_THUNK_CANCELLED || (state == RTHUNK_THUNK_DONE && !queued));
  if (state == RTHUNK_THUNK_DONE)
    g_assert_cmpint (rthunk_value_get_int (value), ==, expected);
  g_clear_pointer (&value, rthunk_value_unref);
  /* the same request again, answered from the cache if the first was
   * kept there */
  g_assert_true (rthunk_handler_serve_fast (submitter.state, again_message, reply));
  g_assert_cmpint (outcome_of (submitter.state, next_id, &value), ==, RTHUNK_THUNK_DONE);
  g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_INT);
  g_assert_cmpint (rthunk_value_get_int (value), ==, expected);
  /* each counted once, as it ended */
  g_assert_cmpint (submitter.state->counters.submitted, ==, 2);
  g_assert_cmpint (submitter.state->counters.completed + submitter.state->counters.cancelled, ==, 2);
  rthunk_server_state_free (submitter.state);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
}

/* Cancelled in its first, short try (CACHE_MIN_STEPS): it then runs out of
 * those steps, is keyed for the cache and tried again with more. */
static void
test_cancel_in_first_try (void)
{
  cancel_while_inline ("(+ (gate 1) (reduce + 0 (range 0 100)))", NULL, 4951, FALSE);
}

/* The same, with a definition: its key is a hash over the definition's
 * name and hash, which the entry holds. */
static void
test_cancel_in_first_try_with_definition (void)
{
  cancel_while_inline ("(+ (gate 1) (add-up 100))", "(defn add-up [n] (reduce + 0 (range 0 n)))", 4951, FALSE);
}

/* Cancelled in its second try, once it has a key to be cached under. */
static void
test_cancel_in_second_try (void)
{
  cancel_while_inline ("(+ (reduce + 0 (range 0 100)) (gate 1))", NULL, 4951, FALSE);
}

/* Cancelled in its first try, and too long for the second: it is not
 * queued for a worker, the cancel ends it there. */
static void
test_cancel_before_queued (void)
{
  cancel_while_inline ("(+ (gate 1) (reduce + 0 (range 0 30000)))", NULL, 449985001, TRUE);
}

/* Other methods, and a message with bytes after its arguments. */
static void
test_left_alone (void)
{
  g_autoptr(Pair) pair = pair_new (NULL);
  g_autoptr(RthunkWireEvalRequest) request = request_for ("(+ 1 2)", -1, 0, -1);
  g_autoptr(GBytes) message = submit_message (request, NULL);
  g_autoptr(GByteArray) longer = g_byte_array_new ();
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  g_autoptr(GBytes) trailing = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);
  static const guint8 ping[] = { 0x80, 0x01, 0x00, 0x01, 0, 0, 0, 13, 'g', 'e', 't', 'S', 'e', 'r',
                                 'v', 'e', 'r', 'I', 'n', 'f', 'o', 0, 0, 0, 1, 0 };
  g_autoptr(GBytes) info = g_bytes_new_static (ping, sizeof ping);

  g_byte_array_append (longer, data, len);
  g_byte_array_append (longer, (const guint8 *) "\0", 1);
  trailing = g_bytes_new (longer->data, longer->len);
  g_assert_false (rthunk_handler_serve_fast (pair->fast, trailing, reply));
  g_assert_cmpuint (reply->len, ==, 0);
  g_assert_false (rthunk_handler_serve_fast (pair->fast, info, reply));
  g_assert_cmpuint (reply->len, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  rthunk_wire_ensure_types ();
  g_test_add_func ("/fast-path/values", test_values);
  g_test_add_func ("/fast-path/runtime-errors", test_runtime_errors);
  g_test_add_func ("/fast-path/bindings", test_bindings);
  g_test_add_func ("/fast-path/refused", test_refused);
  g_test_add_func ("/fast-path/token", test_token);
  g_test_add_func ("/fast-path/batch", test_batch);
  g_test_add_func ("/fast-path/shapes-in-turn", test_shapes_in_turn);
  g_test_add_func ("/fast-path/left-alone", test_left_alone);
  g_test_add_func ("/fast-path/same-new-shape-from-threads", test_same_new_shape_from_threads);
  g_test_add_func ("/fast-path/cancel-in-first-try", test_cancel_in_first_try);
  g_test_add_func ("/fast-path/cancel-in-first-try-with-definition", test_cancel_in_first_try_with_definition);
  g_test_add_func ("/fast-path/cancel-in-second-try", test_cancel_in_second_try);
  g_test_add_func ("/fast-path/cancel-before-queued", test_cancel_before_queued);
  return g_test_run ();
}
