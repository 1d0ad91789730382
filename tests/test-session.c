/* test-session.c — the reactive session: cells, dependencies, pending
 * values, failures, and the thunks under them
 *
 * A provider runs in this process with one extra function, `hold`, that
 * blocks until the test opens a gate: so a remote value is pending exactly
 * as long as a test wants, whatever the load of the machine. The session's
 * own catalog has `tick`, which records each time a cell is computed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <time.h>

#include <gio/gio.h>

#include "rthunk.h"
#include "rthunk-session-private.h"
#include "testutil.h"

#define WAIT_MS 60000          /* generous: the machine may be loaded */

/* ---- gates: remote values that arrive when the test says ----------------------- */

static GMutex gate_lock;
static GCond gate_cond;
static GHashTable *open_gates;  /* names */
static gboolean all_open;

static void
gate_open (const char *name)
{
  g_mutex_lock (&gate_lock);
  g_hash_table_add (open_gates, g_strdup (name));
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
}

static void
gates_reset (gboolean open)
{
  g_mutex_lock (&gate_lock);
  g_hash_table_remove_all (open_gates);
  all_open = open;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
}

/* (hold GATE V): V, once the test opened GATE. */
static RthunkValue *
native_hold (RthunkCallContext  *context,
             RthunkValue *const *args,
             guint               n_args,
             gpointer            user_data,
             GError            **error)
{
  const char *name = rthunk_value_get_str (args[0]);

  g_mutex_lock (&gate_lock);
  while (!all_open && !g_hash_table_contains (open_gates, name))
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);
  return rthunk_value_ref (args[1]);
}

/* ---- ticks: who was computed, in which order, in which thread --------------------------- */

static GMutex tick_lock;
static GPtrArray *ticks;         /* names */
static GThread *tick_thread;     /* of the last tick (not a reference) */

/* (tick NAME V): V, after noting NAME. */
static RthunkValue *
native_tick (RthunkCallContext  *context,
             RthunkValue *const *args,
             guint               n_args,
             gpointer            user_data,
             GError            **error)
{
  g_mutex_lock (&tick_lock);
  g_ptr_array_add (ticks, g_strdup (rthunk_value_get_str (args[0])));
  tick_thread = g_thread_self ();
  g_mutex_unlock (&tick_lock);
  return rthunk_value_ref (args[1]);
}

static char *
ticks_take (void)
{
  char *joined;

  g_mutex_lock (&tick_lock);
  g_ptr_array_add (ticks, NULL);
  joined = g_strjoinv (" ", (char **) ticks->pdata);
  g_ptr_array_set_size (ticks, 0);
  g_mutex_unlock (&tick_lock);
  return joined;
}

/* ---- the fixture ------------------------------------------------------------------------- */

typedef struct
{
  RthunkServer *server;
  RthunkSession *session;
  GPtrArray *events;            /* "name=value", "name!message" */
} Fixture;

static void
on_changed (RthunkSession *session,
            const char    *name,
            RthunkValue   *value,
            Fixture       *fixture)
{
  g_autofree char *printed = rthunk_value_to_string (value);

  g_assert_false (rthunk_value_is_pending (value));
  g_ptr_array_add (fixture->events, g_strdup_printf ("%s=%s", name, printed));
}

static void
on_failed (RthunkSession *session,
           const char    *name,
           const char    *message,
           Fixture       *fixture)
{
  g_ptr_array_add (fixture->events, g_strdup_printf ("%s!%s", name, message));
}

static char *
events_take (Fixture *fixture)
{
  char *joined;

  g_ptr_array_add (fixture->events, NULL);
  joined = g_strjoinv (" ", (char **) fixture->events->pdata);
  g_ptr_array_set_size (fixture->events, 0);
  return joined;
}

static RthunkCatalog *
catalog_with (const char       *name,
              const char       *signature,
              RthunkFuncFlags   flags,
              RthunkNativeFunc  func)
{
  g_autoptr(GError) error = NULL;
  RthunkCatalog *catalog = rthunk_stdlib_new_catalog ();

  rthunk_catalog_add (catalog, name, signature, flags, "for the tests", func, NULL, NULL, &error);
  g_assert_no_error (error);
  return catalog;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RthunkCatalog) remote = catalog_with ("hold", "(str a -> a)", RTHUNK_FUNC_IO, native_hold);
  g_autoptr(RthunkCatalog) local = catalog_with ("tick", "(str a -> a)", RTHUNK_FUNC_IO, native_tick);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  gates_reset (FALSE);
  g_free (ticks_take ());
  fixture->events = g_ptr_array_new_with_free_func (g_free);
  fixture->server = rthunk_server_new (remote, "alpha");
  rthunk_server_listen (fixture->server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  address = g_strdup_printf ("127.0.0.1:%u", rthunk_server_get_port (fixture->server));
  fixture->session = rthunk_session_new_with_catalog (local);
  rthunk_session_add_server (fixture->session, address, &error);
  g_assert_no_error (error);
  g_signal_connect (fixture->session, "cell-changed", G_CALLBACK (on_changed), fixture);
  g_signal_connect (fixture->session, "cell-failed", G_CALLBACK (on_failed), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  gates_reset (TRUE);          /* nothing may stay blocked in the server */
  rthunk_session_close (fixture->session);
  g_clear_object (&fixture->session);
  rthunk_server_stop (fixture->server);
  g_clear_object (&fixture->server);
  g_ptr_array_unref (fixture->events);
}

/* Evaluates @text, which must succeed; returns the last value. */
static RthunkValue *
eval (Fixture    *fixture,
      const char *text)
{
  g_autoptr(GError) error = NULL;
  RthunkValue *value = rthunk_session_eval (fixture->session, text, "<test>", &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return value;
}

static void
eval_ok (Fixture    *fixture,
         const char *text)
{
  g_autoptr(RthunkValue) value = eval (fixture, text);
}

/* The value of a cell, waited for, printed. */
static char *
cell (Fixture    *fixture,
      const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  RthunkValue *current = rthunk_session_lookup (fixture->session, name);

  g_assert_nonnull (current);
  value = rthunk_session_wait (fixture->session, current, WAIT_MS, &error);
  g_assert_no_error (error);
  return rthunk_value_to_string (value);
}

static void
assert_cell (Fixture    *fixture,
             const char *name,
             const char *expected)
{
  g_autofree char *printed = cell (fixture, name);

  g_assert_cmpstr (printed, ==, expected);
}

static gboolean
is_pending (Fixture    *fixture,
            const char *name)
{
  RthunkValue *value = rthunk_session_lookup (fixture->session, name);

  g_assert_nonnull (value);
  return rthunk_value_is_pending (value) ||
         (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST && rthunk_value_get_length (value) > 0 &&
          rthunk_value_is_pending (rthunk_value_get_item (value, 0)));
}

static char *
pending_names (Fixture *fixture)
{
  g_auto(GStrv) names = rthunk_session_get_pending (fixture->session);

  return g_strjoinv (" ", names);
}

/* Runs the main context until nothing is pending. */
static void
settle (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  rthunk_session_wait_all (fixture->session, WAIT_MS, &error);
  g_assert_no_error (error);
}

/* ---- plain cells -------------------------------------------------------------------------- */

static void
test_cells_values (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RthunkValue) last = eval (fixture, "(def a 1) (def b (+ a 1)) (defn twice [n] (* 2 n)) (twice b)");
  g_autofree char *type_b = rthunk_session_get_cell_type (fixture->session, "b");
  g_autofree char *type_twice = rthunk_session_get_cell_type (fixture->session, "twice");
  g_auto(GStrv) cells = rthunk_session_list_cells (fixture->session);
  g_autofree char *joined = g_strjoinv (" ", cells);

  g_assert_cmpint (rthunk_value_get_int (last), ==, 4);
  assert_cell (fixture, "b", "2");
  g_assert_cmpstr (type_b, ==, "int");
  g_assert_cmpstr (type_twice, ==, "(int -> int)");
  g_assert_cmpstr (joined, ==, "a b twice");
  g_assert_null (rthunk_session_lookup (fixture->session, "nope"));
}

/* Redefining a cell recomputes what reads it, in dependency order, each
 * cell once: d reads b and c, c reads b. */
static void
test_cells_propagation_order (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *events = NULL;

  eval_ok (fixture, "(def a 1)"
                    "(def b (tick \"b\" (+ a 1)))"
                    "(def d (tick \"d\" (+ b 0)))"
                    "(def c (tick \"c\" (+ b 1)))"
                    "(def d (tick \"d\" (+ b c)))");
  first = ticks_take ();
  g_assert_cmpstr (first, ==, "b d c d");
  g_free (events_take (fixture));
  eval_ok (fixture, "(def a 10)");
  second = ticks_take ();
  g_assert_cmpstr (second, ==, "b c d");
  events = events_take (fixture);
  g_assert_cmpstr (events, ==, "a=10 b=11 c=12 d=23");
  assert_cell (fixture, "d", "23");
}

/* A function cell reads what its body reads: a cell that calls it is
 * recomputed when that changes. A local that shadows a cell is no read. */
static void
test_cells_function_reads (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  eval_ok (fixture, "(def k 2) (def n 100)"
                    "(defn scale [n] (* n k))"
                    "(def y (tick \"y\" (scale 5)))");
  before = ticks_take ();
  g_assert_cmpstr (before, ==, "y");
  eval_ok (fixture, "(def n 7)");
  eval_ok (fixture, "(def k 3)");
  after = ticks_take ();
  g_assert_cmpstr (after, ==, "y");
  assert_cell (fixture, "y", "15");
}

static const struct
{
  const char *setup;
  const char *text;
  const char *cycle;
} cycles[] = {
  { "(def a 1) (def b (+ a 1))", "(def a (+ b 1))", "a -> b -> a" },
  { "(def a 1)", "(def a (+ a 1))", "a -> a" },
  { "(def a 1) (def b a) (def c b)", "(def a (+ c 1))", "a -> c -> b -> a" },
  { "(def k 1) (defn f [n] (+ n k))", "(def k (f 1))", "k -> f -> k" },
  { "(def a 1)", "(def b (+ a 1)) (def a b)", "a -> b -> a" },
};

static void
test_cells_cycles (Fixture       *fixture,
                   gconstpointer  data)
{
  for (guint k = 0; k < G_N_ELEMENTS (cycles); k++)
    {
      g_autoptr(RthunkSession) session = rthunk_session_new ();
      g_autoptr(RthunkValue) setup = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = NULL;

      rthunk_session_set_local (session, TRUE);
      setup = rthunk_session_eval (session, cycles[k].setup, "<test>", &error);
      g_assert_no_error (error);
      value = rthunk_session_eval (session, cycles[k].text, "<test>", &error);
      g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
      g_assert_null (value);
      g_assert_nonnull (strstr (error->message, cycles[k].cycle));
      g_assert_true (g_str_has_prefix (error->message, "<test>:1:"));
      rthunk_session_close (session);
    }
  /* the refused definition changed nothing */
  eval_ok (fixture, "(def a 1) (def b (+ a 1))");
  g_assert_null (rthunk_session_eval (fixture->session, "(def a (+ b 1))", NULL, NULL));
  assert_cell (fixture, "a", "1");
  assert_cell (fixture, "b", "2");
}

/* A failed input fails its readers, with a message naming the root cause;
 * fixing the root recomputes them. */
static void
test_cells_failure_root_cause (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autofree char *events = NULL;
  const GError *c_error;

  eval_ok (fixture, "(def a 1) (def b (+ a 1)) (def c (* b 2))");
  g_free (events_take (fixture));
  value = rthunk_session_eval (fixture->session, "(def a (/ 1 0))", "<test>", &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DIVISION_BY_ZERO);
  g_assert_true (g_str_has_prefix (error->message, "<test>:1:8: error: "));
  c_error = rthunk_session_get_cell_error (fixture->session, "c");
  g_assert_nonnull (c_error);
  g_assert_cmpint (c_error->code, ==, RTHUNK_ERROR_DIVISION_BY_ZERO);
  g_assert_nonnull (strstr (c_error->message, "depends on a, which failed"));
  g_assert_nonnull (strstr (c_error->message, "division by zero"));
  events = events_take (fixture);
  g_assert_true (g_str_has_prefix (events, "a!"));
  g_assert_nonnull (strstr (events, " b!depends on a, which failed: "));
  g_assert_nonnull (strstr (events, " c!depends on a, which failed: "));

  /* waiting for a failed cell gives its error */
  g_clear_error (&error);
  g_clear_pointer (&value, rthunk_value_unref);
  value = rthunk_session_wait (fixture->session, rthunk_session_lookup (fixture->session, "c"),
                               WAIT_MS, &error);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DIVISION_BY_ZERO);

  eval_ok (fixture, "(def a 5)");
  assert_cell (fixture, "c", "12");
  g_assert_null (rthunk_session_get_cell_error (fixture->session, "c"));
}

/* A redefinition that changes a type fails the readers that no longer
 * check, before anything runs. */
static void
test_cells_type_change (Fixture       *fixture,
                        gconstpointer  data)
{
  const GError *error;
  g_autofree char *type = NULL;

  eval_ok (fixture, "(def a 1) (def b (tick \"b\" (+ a 1))) (def c (tick \"c\" (* b 2)))");
  g_free (ticks_take ());
  eval_ok (fixture, "(def a \"one\")");
  g_autofree char *computed = ticks_take ();
  g_assert_cmpstr (computed, ==, "");
  error = rthunk_session_get_cell_error (fixture->session, "b");
  g_assert_error ((GError *) error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
  error = rthunk_session_get_cell_error (fixture->session, "c");
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "depends on b, which failed"));
  type = rthunk_session_get_cell_type (fixture->session, "a");
  g_assert_cmpstr (type, ==, "str");
}

static void
assert_cell_type (Fixture    *fixture,
                  const char *name,
                  const char *expected)
{
  g_autofree char *type = rthunk_session_get_cell_type (fixture->session, name);

  g_assert_cmpstr (type, ==, expected);
}

/* Evaluates @text, which must fail with @code. */
static void
eval_fails (Fixture    *fixture,
            const char *text,
            gint        code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_session_eval (fixture->session, text, "<test>", &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, code);
}

/* What a form reads is kept for its shape (the next line of a script is
 * often of the same shape), but not past the definition of a cell: a
 * name the form of that shape did not read may be one now. */
static void
test_cells_reads_by_shape (Fixture       *fixture,
                           gconstpointer  data)
{
  eval_fails (fixture, "(def total (+ q 1))", RTHUNK_ERROR_UNBOUND_NAME);
  eval_ok (fixture, "(def q 10)");
  eval_ok (fixture, "(def total (+ q 1))");
  assert_cell (fixture, "total", "11");
  eval_ok (fixture, "(def q 20)");
  assert_cell (fixture, "total", "21");
}

/* The types checked for forms that are then not committed (a later form
 * of the text does not check, or one fails as it runs) are taken back:
 * the cells keep the types of what they hold. */
static void
test_cells_uncommitted_types (Fixture       *fixture,
                              gconstpointer  data)
{
  eval_ok (fixture, "(def a 1) (def b (+ a 1))");
  eval_fails (fixture, "(def a \"s\") (def b2 (+ b 1)) (+ 1 \"x\")", RTHUNK_ERROR_TYPE_MISMATCH);
  assert_cell (fixture, "a", "1");
  assert_cell_type (fixture, "a", "int");
  assert_cell_type (fixture, "b", "int");
  assert_cell_type (fixture, "b2", NULL);
  eval_ok (fixture, "(def e (+ a 1))");
  assert_cell (fixture, "e", "2");
  /* z is committed though its value fails; the forms after it are not */
  eval_fails (fixture, "(def z (/ 1 0)) (def a \"t\") (defn fresh [x] x)", RTHUNK_ERROR_DIVISION_BY_ZERO);
  assert_cell_type (fixture, "z", "int");
  assert_cell_type (fixture, "a", "int");
  assert_cell_type (fixture, "fresh", NULL);
  eval_ok (fixture, "(def f (+ a b))");
  assert_cell (fixture, "f", "3");
  eval_fails (fixture, "(fresh 1)", RTHUNK_ERROR_UNBOUND_NAME);
  /* and a redefinition that is committed still re-checks its readers */
  eval_ok (fixture, "(def a \"u\")");
  g_assert_error ((GError *) rthunk_session_get_cell_error (fixture->session, "b"), RTHUNK_ERROR,
                  RTHUNK_ERROR_TYPE_MISMATCH);
}

/* A redefinition bound as before (the same type, by def or defn as
 * before) re-checks none of its readers, which keep their verdicts; one by
 * defn where there was a def, or the other way, is not the same. */
static void
test_cells_same_type (Fixture       *fixture,
                      gconstpointer  data)
{
  const GError *error;

  eval_ok (fixture, "(def a 1) (def b (+ a 1))");
  eval_ok (fixture, "(def a \"s\")");
  g_assert_error ((GError *) rthunk_session_get_cell_error (fixture->session, "b"), RTHUNK_ERROR,
                  RTHUNK_ERROR_TYPE_MISMATCH);
  eval_ok (fixture, "(def a \"t\")");
  g_assert_error ((GError *) rthunk_session_get_cell_error (fixture->session, "b"), RTHUNK_ERROR,
                  RTHUNK_ERROR_TYPE_MISMATCH);
  eval_ok (fixture, "(def a 5)");
  assert_cell (fixture, "b", "6");
  eval_ok (fixture, "(def a 6)");
  assert_cell (fixture, "b", "7");

  eval_ok (fixture, "(defn f [x] (+ x 1)) (def r (await (remote (f 1))))");
  assert_cell (fixture, "r", "2");
  eval_ok (fixture, "(def f (fn [x] (+ x 2)))");
  assert_cell_type (fixture, "f", "(int -> int)");
  error = rthunk_session_get_cell_error (fixture->session, "r");
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "cannot be sent to a server"));
  eval_ok (fixture, "(defn f [x] (+ x 3))");
  assert_cell (fixture, "r", "4");
}

/* A named cell keeps its code: recomputed because a cell it reads was
 * redefined, it is not compiled again (each redefinition of the input
 * is). More of them than the evaluator keeps for its last forms. */
static void
test_cells_kept_code (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GString) chain = g_string_new ("(def c0 0)");
  guint64 compiled;
  const guint n = RTHUNK_EVAL_CODES * 4;

  for (guint k = 1; k < n; k++)
    g_string_append_printf (chain, " (def c%u (+ c%u 1))", k, k - 1);
  eval_ok (fixture, chain->str);
  for (guint round = 1; round <= 3; round++)
    {
      g_autofree char *input = g_strdup_printf ("(def c0 %u)", 10 * round);
      g_autofree char *expected = g_strdup_printf ("%u", 10 * round + n - 1);
      g_autofree char *last = g_strdup_printf ("c%u", n - 1);

      compiled = rthunk_evaluator_get_compiled (fixture->session->evaluator);
      eval_ok (fixture, input);
      assert_cell (fixture, last, expected);
      g_assert_cmpuint (rthunk_evaluator_get_compiled (fixture->session->evaluator) - compiled, ==, 1);
    }
}

/* A text that defines a reader again and then changes what it read
 * checks the reader as the text defines it. */
static void
test_cells_redefined_reader (Fixture       *fixture,
                             gconstpointer  data)
{
  eval_ok (fixture, "(def a 1) (def b (+ a 1))");
  eval_ok (fixture, "(def b (str a)) (def a \"s\")");
  g_assert_null (rthunk_session_get_cell_error (fixture->session, "b"));
  assert_cell (fixture, "b", "\"s\"");
  eval_ok (fixture, "(def a \"t\")");
  assert_cell (fixture, "b", "\"t\"");
}

static void
define_z_on_a (RthunkSession *session,
               const char    *name,
               gpointer       data)
{
  if (g_str_equal (name, "a"))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) value = rthunk_session_eval (session, "(def z \"s\")", "<nested>", &error);

      g_assert_no_error (error);
    }
}

/* A text evaluated while another is committed (from a signal's handler)
 * keeps its types though the other fails: what it committed stays typed. */
static void
test_cells_nested_eval (Fixture       *fixture,
                        gconstpointer  data)
{
  gulong handler = g_signal_connect (fixture->session, "cell-defined", G_CALLBACK (define_z_on_a), NULL);

  eval_fails (fixture, "(def a 1) (def c (/ 1 0)) (def d 2)", RTHUNK_ERROR_DIVISION_BY_ZERO);
  g_signal_handler_disconnect (fixture->session, handler);
  assert_cell (fixture, "z", "\"s\"");
  assert_cell_type (fixture, "z", "str");
  eval_ok (fixture, "(def n (str-len z))");
  assert_cell (fixture, "n", "1");
  /* and the next text rolls back again */
  eval_fails (fixture, "(def a \"x\") (+ 1 \"y\")", RTHUNK_ERROR_TYPE_MISMATCH);
  assert_cell_type (fixture, "a", "int");
}

/* Seconds of CPU to define a chain of @n cells, c0 = 0 and ck = (+ c(k-1) 1),
 * one form at a time, and to recompute it all by redefining c0. */
static double
chain_cpu_s (guint n)
{
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autofree char *last = g_strdup_printf ("c%u", n - 1);
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  struct timespec t0, t1;

  rthunk_session_set_local (session, TRUE);
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t0);
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *def = k == 0 ? g_strdup ("(def c0 0)") : g_strdup_printf ("(def c%u (+ c%u 1))", k, k - 1);
      g_autoptr(RthunkValue) defined = rthunk_session_eval (session, def, "<test>", &error);

      g_assert_no_error (error);
    }
  g_clear_pointer (&value, rthunk_value_unref);
  value = rthunk_session_eval (session, "(def c0 1)", "<test>", &error);
  g_assert_no_error (error);
  g_clear_pointer (&value, rthunk_value_unref);
  value = rthunk_session_wait (session, rthunk_session_lookup (session, last), WAIT_MS, &error);
  g_assert_no_error (error);
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t1);
  g_assert_cmpint (rthunk_value_get_int (value), ==, n);
  rthunk_session_close (session);
  return (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Defining and recomputing a chain of cells costs in proportion to its
 * length: ten times the cells, about ten times the CPU (a graph walked
 * per cell made it a hundred). */
static void
test_cells_long_chain (Fixture       *fixture,
                       gconstpointer  data)
{
  double small = chain_cpu_s (1000);
  double large = chain_cpu_s (10000);

  g_test_message ("chain of 1000 cells: %.3f s of CPU; of 10000: %.3f s", small, large);
  g_assert_cmpfloat (large, <, 30 * MAX (small, 0.001));
}

static guint count_threads (const char *comm);

/* Threads of a session's pool (named "pool-PROGRAM"; GLib's own
 * "pool-spawner" does not count). */
static guint
count_pool_threads (void)
{
  return count_threads ("pool-") - count_threads ("pool-spawner");
}

/* A form of literals, cells, operators, if, do, and, or is evaluated in
 * the session's thread, not handed to its pool; anything else still is.
 * In a process of its own, whose threads are counted. */
static void
test_cells_bounded_here (Fixture       *fixture,
                         gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      g_autoptr(RthunkSession) session = rthunk_session_new ();
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(RthunkValue) sum = NULL;
      g_autoptr(GError) error = NULL;

      rthunk_session_set_local (session, TRUE);
      value = rthunk_session_eval (session, "(def a 1) (def b (+ a 1)) (def c (if (and (< b 5) true) (* b 2) 0))"
                                            "(def a 3) (do [c c] (- c 1))", "<test>", &error);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 7);
      g_assert_cmpuint (count_pool_threads (), ==, 0);
      sum = rthunk_session_eval (session, "(sum [a b c])", "<test>", &error);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (sum), ==, 15);
      g_assert_cmpuint (count_pool_threads (), ==, 1);
      rthunk_session_close (session);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* ---- pending cells ------------------------------------------------------------------------ */

/* y reads a remote x: both pending; when x arrives y is computed, once. */
static void
test_pending_propagation (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RthunkValue) x = eval (fixture, "(def x (remote (hold \"x\" 41)))");
  g_autofree char *pending = NULL;
  g_autofree char *type = NULL;
  g_autofree char *computed = NULL;
  g_autofree char *events = NULL;
  g_autofree char *printed = NULL;

  eval_ok (fixture, "(def y (tick \"y\" (+ x 1))) (def z (* y 2))");
  g_assert_true (rthunk_value_is_pending (x));
  printed = rthunk_value_to_string (x);
  g_assert_true (g_str_has_prefix (printed, "<pending #"));
  g_assert_true (g_str_has_suffix (printed, " @alpha>"));
  g_assert_true (is_pending (fixture, "y"));
  pending = pending_names (fixture);
  g_assert_cmpstr (pending, ==, "x y z");
  type = rthunk_session_get_cell_type (fixture->session, "z");
  g_assert_cmpstr (type, ==, "int");
  g_autofree char *none_yet = ticks_take ();
  g_assert_cmpstr (none_yet, ==, "");

  gate_open ("x");
  assert_cell (fixture, "z", "84");
  settle (fixture);
  computed = ticks_take ();
  g_assert_cmpstr (computed, ==, "y");
  events = events_take (fixture);
  g_assert_cmpstr (events, ==, "x=41 y=42 z=84");
  g_assert_cmpstr (rthunk_session_get_cell_origin (fixture->session, "y"),
                   ==, rthunk_value_get_name (x));
}

/* (map (fn [i] (remote …)) …) submits every thunk at once; the sum is
 * pending until the last one arrives; a collector's few lanes poll them. */
static guint
count_threads (const char *comm)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *task;
  guint n = 0;

  if (dir == NULL)
    return 1;           /* no /proc: nothing to count */
  while ((task = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", task);
      g_autofree char *name = NULL;

      if (g_file_get_contents (path, &name, NULL, NULL) && g_str_has_prefix (name, comm))
        n++;
    }
  return n;
}

/* The threads named @comm once there is one: a new thread names itself
 * once it runs (GLib sets the name from inside it), so it may show under
 * its creator's name for a moment after g_thread_new() returned. */
static guint
wait_threads (const char *comm)
{
  gint64 give_up = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint n;

  while ((n = count_threads (comm)) == 0 && g_get_monotonic_time () < give_up)
    g_usleep (1000);
  return n;
}

static void
test_pending_fan_out (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RthunkValue) xs = eval (fixture, "(def xs (map (fn [i] (remote (hold \"fan\" i))) (range 0 100)))");
  g_autoptr(RthunkValue) total = eval (fixture, "(def total (tick \"total\" (sum xs)))");
  guint lanes;

  g_assert_cmpint (rthunk_value_get_kind (xs), ==, RTHUNK_VALUE_LIST);
  g_assert_cmpuint (rthunk_value_get_length (xs), ==, 100);
  for (guint k = 0; k < 100; k++)
    g_assert_true (rthunk_value_is_pending (rthunk_value_get_item (xs, k)));
  g_assert_true (rthunk_value_is_pending (total));
  g_assert_cmpuint (rthunk_session_get_outstanding (fixture->session), ==, 100);
  lanes = wait_threads ("rthunk-collect");
  g_assert_cmpuint (lanes, >=, 1);
  g_assert_cmpuint (lanes, <=, 4);        /* the collector's MAX_LANES, not one a value */

  gate_open ("fan");
  assert_cell (fixture, "total", "4950");
  g_autofree char *computed = ticks_take ();
  g_assert_cmpstr (computed, ==, "total");
  {
    g_autofree char *printed = cell (fixture, "xs");

    g_assert_true (g_str_has_prefix (printed, "[0 1 2 3 "));
    g_assert_true (g_str_has_suffix (printed, " 97 98 99]"));
  }
}

/* The example of the design: a sum of squares computed remotely. */
static void
test_pending_fan_out_squares (Fixture       *fixture,
                              gconstpointer  data)
{
  eval_ok (fixture, "(def xs (map (fn [i] (remote (* (hold \"sq\" i) i))) (range 0 100)))"
                    "(def total (sum xs))");
  g_assert_true (is_pending (fixture, "total"));
  gate_open ("sq");
  assert_cell (fixture, "total", "328350");
}

/* (await …) in a cell: the cell is pending, the evaluation goes on off the
 * main thread; an expression that waits returns a pending value too. */
static void
test_pending_await (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RthunkValue) z = eval (fixture, "(def z (+ 1 (await (remote (hold \"z\" 6)))))");
  g_autoptr(RthunkValue) e = eval (fixture, "(* 2 (remote (hold \"e\" 21)))");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) got = NULL;

  g_assert_true (rthunk_value_is_pending (z));
  g_assert_true (rthunk_value_is_pending (e));
  gate_open ("e");
  got = rthunk_session_wait (fixture->session, e, WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (got), ==, 42);
  g_assert_true (is_pending (fixture, "z"));
  gate_open ("z");
  assert_cell (fixture, "z", "7");
}

/* A remote expression whose input is pending is submitted when the input
 * arrives; user functions travel with it. */
static void
test_pending_remote_input (Fixture       *fixture,
                           gconstpointer  data)
{
  eval_ok (fixture, "(def x (remote (hold \"in\" 5)))"
                    "(defn sq [n] (* n n))"
                    "(def y (remote (+ (sq x) 1)))");
  g_assert_true (is_pending (fixture, "y"));
  gate_open ("in");
  assert_cell (fixture, "y", "26");
}

/* Redefining a pending cell: the late value of the old definition changes
 * nothing. */
static void
test_pending_redefined (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(RthunkValue) old = eval (fixture, "(def x (remote (hold \"old\" 1)))");
  g_autoptr(RthunkValue) late = NULL;
  g_autoptr(GError) error = NULL;

  eval_ok (fixture, "(def y (tick \"y\" (+ x 1)))");
  eval_ok (fixture, "(def x 5)");
  assert_cell (fixture, "y", "6");
  gate_open ("old");
  late = rthunk_session_wait (fixture->session, old, WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (late), ==, 1);
  settle (fixture);
  assert_cell (fixture, "x", "5");
  assert_cell (fixture, "y", "6");
  g_autofree char *computed = ticks_take ();
  g_assert_cmpstr (computed, ==, "y");
}

/* A pending expression that reads a redefined cell is stopped. */
static void
test_pending_expression_redefined (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(RthunkValue) pending = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;

  eval_ok (fixture, "(def x (remote (hold \"ex\" 1)))");
  pending = eval (fixture, "(+ x 1)");
  g_assert_true (rthunk_value_is_pending (pending));
  eval_ok (fixture, "(def x 2)");
  value = rthunk_session_wait (fixture->session, pending, WAIT_MS, &error);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
  g_assert_nonnull (strstr (error->message, "x was redefined"));
}

/* A remote failure arrives later: the cell and its readers fail. */
static void
test_pending_failure (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  const GError *y_error;

  eval_ok (fixture, "(def x (remote (/ 1 (hold \"f\" 0)))) (def y (+ x 1))");
  g_assert_true (is_pending (fixture, "y"));
  gate_open ("f");
  value = rthunk_session_wait (fixture->session, rthunk_session_lookup (fixture->session, "y"),
                               WAIT_MS, &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DIVISION_BY_ZERO);
  settle (fixture);
  y_error = rthunk_session_get_cell_error (fixture->session, "y");
  g_assert_nonnull (y_error);
  g_assert_nonnull (strstr (y_error->message, "depends on x, which failed"));
  g_assert_nonnull (strstr (y_error->message, "division by zero"));
}

/* Cancelling a pending value cancels its thunk; the cell fails cancelled. */
static void
test_pending_cancel (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  eval_ok (fixture, "(def x (remote (hold \"never\" 1))) (def y (+ x 1))");
  rthunk_session_cancel (fixture->session, rthunk_session_lookup (fixture->session, "x"));
  value = rthunk_session_wait (fixture->session, rthunk_session_lookup (fixture->session, "y"),
                               WAIT_MS, &error);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
  settle (fixture);
  g_assert_nonnull (rthunk_session_get_cell_error (fixture->session, "x"));
}

/* Waiting without blocking, and stopping the wait. */
static void
wait_done (GObject      *object,
           GAsyncResult *result,
           gpointer      data)
{
  GError **error = data;
  g_autoptr(RthunkValue) value = rthunk_session_wait_finish (RTHUNK_SESSION (object), result, error);

  if (value != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "arrived: %" G_GINT64_FORMAT,
                 rthunk_value_get_int (value));
}

static void
test_pending_wait_async (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RthunkValue) x = eval (fixture, "(def x (remote (hold \"async\" 3)))");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GError *stopped = NULL;
  GError *arrived = NULL;

  rthunk_session_wait_async (fixture->session, x, cancellable, wait_done, &stopped);
  rthunk_session_wait_async (fixture->session, x, NULL, wait_done, &arrived);
  g_cancellable_cancel (cancellable);
  while (stopped == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (stopped, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
  g_assert_null (arrived);
  gate_open ("async");
  while (arrived == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (arrived->message, ==, "arrived: 3");
  g_error_free (stopped);
  g_error_free (arrived);
}

/* ---- the rest of the API -------------------------------------------------------------------- */

static void
test_session_type_and_complete (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *type = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *joined = NULL;

  eval_ok (fixture, "(def range-end 3)");
  type = rthunk_session_type_of (fixture->session, "(map (fn [i] (* i 2)) [1 2])", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (type, ==, "[int]");
  g_assert_null (rthunk_session_type_of (fixture->session, "(def q 1)", &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
  names = rthunk_session_complete (fixture->session, "ra");
  joined = g_strjoinv (" ", names);
  g_assert_cmpstr (joined, ==, "range range-end");
  g_strfreev (g_steal_pointer (&names));
  names = rthunk_session_complete (fixture->session, "hol");
  g_assert_cmpstr (names[0], ==, "hold");
}

static void
test_session_local (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GPtrArray) servers = NULL;

  rthunk_session_set_local (session, TRUE);
  value = rthunk_session_eval (session, "(remote 1)", NULL, &error);
  g_assert_null (value);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "<eval>:1:1: error: "));
  servers = rthunk_session_get_servers (session);
  g_assert_cmpuint (servers->len, ==, 0);
}

static void
test_session_embedded (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) waited = NULL;
  g_autoptr(GPtrArray) servers = NULL;

  value = rthunk_session_eval (session, "(remote (+ 1 2))", NULL, &error);
  g_assert_no_error (error);
  waited = rthunk_session_wait (session, value, WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (waited), ==, 3);
  servers = rthunk_session_get_servers (session);
  g_assert_cmpuint (servers->len, ==, 1);
  g_assert_cmpstr (rthunk_client_get_server_name (g_ptr_array_index (servers, 0)), ==, "embedded");
  rthunk_session_close (session);
}

/* A script's order: each top-level expression is waited for. */
static void
test_session_sequential (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autofree char *order = NULL;

  rthunk_session_set_sequential (fixture->session, TRUE);
  gates_reset (TRUE);
  value = eval (fixture, "(tick \"a\" 1) (def x (remote (hold \"s\" 2))) (tick \"b\" (+ x 1)) (tick \"c\" 3)");
  order = ticks_take ();
  g_assert_cmpstr (order, ==, "a b c");
  g_assert_cmpint (rthunk_value_get_int (value), ==, 3);
}

/* The thread of the last tick. */
static GThread *
tick_thread_get (void)
{
  GThread *thread;

  g_mutex_lock (&tick_lock);
  thread = tick_thread;
  g_mutex_unlock (&tick_lock);
  return thread;
}

/* A script's expression (a sequential session waits for each) is
 * evaluated in the session's own thread, its await of a remote value
 * included: the pool only added thread switches. A session that is not
 * sequential still hands it to the pool, and stays free meanwhile. */
static void
test_session_sequential_here (Fixture       *fixture,
                              gconstpointer  data)
{
  const char *form = "(tick \"a\" (+ (await (remote (hold \"s\" 2))) 1))";
  g_autoptr(RthunkValue) here = NULL;
  g_autoptr(RthunkValue) pending = NULL;
  g_autoptr(RthunkValue) pooled = NULL;
  g_autoptr(GError) error = NULL;

  gates_reset (TRUE);
  rthunk_session_set_sequential (fixture->session, TRUE);
  here = eval (fixture, form);
  g_assert_cmpint (rthunk_value_get_int (here), ==, 3);
  g_assert_true (tick_thread_get () == g_thread_self ());
  rthunk_session_set_sequential (fixture->session, FALSE);
  pending = eval (fixture, form);
  pooled = rthunk_session_wait (fixture->session, pending, WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (pooled), ==, 3);
  g_assert_true (tick_thread_get () != g_thread_self ());
  g_free (ticks_take ());
}

/* A script's `(auto EXPR)` of operators on values runs here unmeasured,
 * as in the REPL, though the script's expressions run in an evaluation
 * of the session's own thread: :why says so. */
static void
test_session_sequential_bounded_auto (Fixture       *fixture,
                                      gconstpointer  data)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autofree char *why = NULL;

  rthunk_session_set_sequential (fixture->session, TRUE);
  value = eval (fixture, "(auto (* 6 7))");
  g_assert_cmpint (rthunk_value_get_int (value), ==, 42);
  why = rthunk_session_dup_why (fixture->session);
  g_assert_nonnull (why);
  g_assert_true (g_str_has_prefix (why, "local: operators on values"));
}

/* ---- RthunkThunk on its own ----------------------------------------------------------------- */

static void
count_resolved (RthunkThunk *thunk,
                guint       *count)
{
  (*count)++;
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_thunk_local (void)
{
  g_autoptr(RthunkThunk) thunk = rthunk_thunk_new ("#test");
  g_autoptr(RthunkValue) pending = rthunk_thunk_to_value (thunk);
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (42);
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = rthunk_value_to_string (pending);
  guint resolved = 0, notified = 0;

  g_signal_connect (thunk, "resolved", G_CALLBACK (count_resolved), &resolved);
  g_signal_connect (thunk, "notify::state", G_CALLBACK (count_notify), &notified);
  g_assert_cmpstr (printed, ==, "<pending #test>");
  g_assert_true (rthunk_thunk_get_from_value (pending) == thunk);
  g_assert_cmpint (rthunk_thunk_get_state (thunk), ==, RTHUNK_THUNK_PENDING);
  g_assert_null (rthunk_thunk_get_value (thunk));
  value = rthunk_thunk_wait (thunk, 10, &error);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT);
  g_clear_error (&error);

  rthunk_thunk_return_value (thunk, answer);
  g_assert_cmpint (rthunk_thunk_get_state (thunk), ==, RTHUNK_THUNK_DONE);
  g_assert_cmpuint (resolved, ==, 0);        /* only from the main context */
  while (resolved == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (notified, ==, 1);
  value = rthunk_value_force (pending, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (value), ==, 42);
  rthunk_thunk_cancel (thunk);              /* too late: nothing changes */
  g_assert_cmpint (rthunk_thunk_get_state (thunk), ==, RTHUNK_THUNK_DONE);
  g_assert_true (g_type_is_a (RTHUNK_TYPE_THUNK_STATE, G_TYPE_ENUM));
}

/* label, server and id are set once, when the thunk is made: a thunk
 * lends its label (a pending value prints with it, unreferenced). */
static void
test_thunk_set_once (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(RthunkThunk) thunk = rthunk_thunk_new ("#once");

      g_log_set_always_fatal (G_LOG_FATAL_MASK);   /* the critical is what is tested */
      g_object_set (thunk, "label", "#twice", NULL);
      g_assert_cmpstr (rthunk_thunk_get_label (thunk), ==, "#once");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*rthunk-CRITICAL*RthunkThunk:label is set once*");
}

static void
record_resolved (RthunkThunk *thunk,
                 GPtrArray   *order)
{
  g_ptr_array_add (order, thunk);
}

/* Thunks finished while their main context is busy wait there in one
 * idle source, not one each (a source a thunk held about 180 bytes per
 * pending value); they are resolved in the order they finished. */
static void
test_thunk_one_source (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (1);

  for (guint k = 0; k < 1000; k++)
    {
      char *label = g_strdup_printf ("#%u", k);   /* the thunk takes it */
      RthunkThunk *thunk = rthunk_thunk_new_in_context (label, NULL, NULL, 0, context);

      g_signal_connect (thunk, "resolved", G_CALLBACK (record_resolved), order);
      g_ptr_array_add (thunks, thunk);
    }
  for (guint k = 0; k < thunks->len; k++)
    rthunk_thunk_return_value (g_ptr_array_index (thunks, k), answer);
  for (guint k = 0; k < thunks->len; k++)
    g_assert_null (g_main_context_find_source_by_user_data (context, g_ptr_array_index (thunks, k)));
  while (order->len < thunks->len)
    g_main_context_iteration (context, TRUE);
  for (guint k = 0; k < thunks->len; k++)
    g_assert_true (g_ptr_array_index (order, k) == g_ptr_array_index (thunks, k));
  g_assert_false (g_main_context_pending (context));
}

/* A thunk nobody listens to finishes without waking its main context:
 * no idle is left there to emit into nothing. */
static void
test_thunk_unwatched (void)
{
  g_autoptr(RthunkThunk) thunk = rthunk_thunk_new ("#unwatched");
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (7);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  rthunk_thunk_set_running (thunk);
  rthunk_thunk_return_value (thunk, answer);
  g_assert_cmpint (rthunk_thunk_get_state (thunk), ==, RTHUNK_THUNK_DONE);
  g_assert_false (g_main_context_pending (NULL));
}

static RthunkValue *
never_forced (gpointer   handle,
              GError   **error)
{
  g_assert_not_reached ();
}

static void
mark_freed (gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* A thunk keeps the client's pending value it stands for (its origin)
 * only while it runs: finished, it is sent as its value, and 10^5
 * finished thunks held that much more. Its id and label survive. */
static void
test_thunk_origin_dropped (void)
{
  static const guint8 id[16] = { 0xa1, 0xb2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autofree char *server = g_strdup ("alpha");
  g_autoptr(RthunkThunk) thunk = rthunk_thunk_new_in_context (g_strdup ("#a1b2 @alpha"), server, id, sizeof id, context);
  g_autoptr(RthunkValue) pending = rthunk_thunk_to_value (thunk);
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (42);
  g_autoptr(RthunkValue) held = NULL;
  gboolean freed = FALSE;

  rthunk_thunk_take_origin (thunk, rthunk_value_new_pending ("#a1b2 @alpha", &freed, never_forced, mark_freed));
  held = rthunk_thunk_dup_origin (thunk);
  g_assert_nonnull (held);
  g_clear_pointer (&held, rthunk_value_unref);
  g_assert_false (freed);
  rthunk_thunk_return_value (thunk, answer);
  g_assert_true (freed);
  g_assert_null (rthunk_thunk_dup_origin (thunk));
  g_assert_cmpmem (g_bytes_get_data (rthunk_thunk_get_id (thunk), NULL), g_bytes_get_size (rthunk_thunk_get_id (thunk)),
                   id, sizeof id);
  g_clear_pointer (&server, g_free);
  g_assert_cmpstr (rthunk_thunk_get_server (thunk), ==, "alpha");
  g_assert_cmpstr (rthunk_value_get_name (pending), ==, "#a1b2 @alpha");
}

/* A queued submission's origin may be given twice, in either order: by
 * the flush that read its reply (even in another thread) and by the
 * thread that queued it. The first is kept, until the thunk finishes;
 * one given after the finish is dropped at once. */
static void
test_thunk_origin_given_twice (void)
{
  g_autoptr(RthunkThunk) thunk = rthunk_thunk_new ("#twice");
  g_autoptr(RthunkThunk) done = rthunk_thunk_new ("#done");
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (42);
  g_autoptr(RthunkValue) held = NULL;
  gboolean first_freed = FALSE, second_freed = FALSE, late_freed = FALSE;
  RthunkValue *first = rthunk_value_new_pending ("#twice", &first_freed, never_forced, mark_freed);

  rthunk_thunk_take_origin (thunk, first);
  rthunk_thunk_take_origin (thunk, rthunk_value_new_pending ("#twice", &second_freed, never_forced, mark_freed));
  g_assert_true (second_freed);
  g_assert_false (first_freed);
  held = rthunk_thunk_dup_origin (thunk);
  g_assert_true (held == first);
  g_clear_pointer (&held, rthunk_value_unref);

  rthunk_thunk_return_value (done, answer);
  rthunk_thunk_take_origin (done, rthunk_value_new_pending ("#done", &late_freed, never_forced, mark_freed));
  g_assert_true (late_freed);
  g_assert_null (rthunk_thunk_dup_origin (done));
}

typedef struct
{
  RthunkThunk *thunk;
  pid_t waiter;                 /* the thread in rthunk_thunk_wait */
} Finisher;

/* Returns the value once the waiter is blocked waiting for it. */
static gpointer
finish_later (gpointer data)
{
  Finisher *f = data;
  g_autoptr(RthunkValue) answer = rthunk_value_new_int (7);

  test_thread_wait_blocked_on_lock (f->waiter, 60 * G_USEC_PER_SEC);
  rthunk_thunk_return_value (f->thunk, answer);
  return NULL;
}

static void
test_thunk_threads (void)
{
  g_autoptr(RthunkThunk) thunk = rthunk_thunk_new ("#thread");
  g_autoptr(RthunkThunk) cancelled = rthunk_thunk_new ("#cancelled");
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  Finisher f = { thunk, test_thread_id () };
  GThread *thread = g_thread_new ("finisher", finish_later, &f);

  value = rthunk_thunk_wait (thunk, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (value), ==, 7);
  g_thread_join (thread);
  g_assert_cmpint (rthunk_thunk_get_elapsed (thunk), >, 0);

  rthunk_thunk_cancel (cancelled);
  g_assert_cmpint (rthunk_thunk_get_state (cancelled), ==, RTHUNK_THUNK_CANCELLED);
  g_clear_pointer (&value, rthunk_value_unref);
  value = rthunk_thunk_wait (cancelled, -1, &error);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
}

/* What a session runs in its context from other threads (an evaluation's
 * result, a cell's cancellation) runs in the thread that made it, never in
 * the thread that asked: a pool thread could otherwise take the global
 * default context and touch the cells beside the main thread. */
typedef struct
{
  RthunkSession *session;
  GThread *ran_in;
  gboolean asked;
} Invoked;

static gboolean
note_thread (gpointer data)
{
  Invoked *invoked = data;

  invoked->ran_in = g_thread_self ();
  return G_SOURCE_REMOVE;
}

static gpointer
invoke_from_thread (gpointer data)
{
  Invoked *invoked = data;

  rthunk_session_invoke (invoked->session, note_thread, invoked, NULL);
  g_atomic_int_set (&invoked->asked, TRUE);
  return NULL;
}

static void
test_session_invoke_thread (void)
{
  g_autoptr(RthunkSession) session = NULL;
  Invoked invoked = { NULL, NULL, FALSE };
  GThread *thread;

  /* the global default context, as the shell has it */
  g_assert_null (g_main_context_get_thread_default ());
  session = rthunk_session_new ();
  invoked.session = session;
  thread = g_thread_new ("asker", invoke_from_thread, &invoked);
  g_thread_join (thread);
  g_assert_true (g_atomic_int_get (&invoked.asked));
  g_assert_null (invoked.ran_in);
  while (invoked.ran_in == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (invoked.ran_in == g_thread_self ());

  /* asked from the thread that runs the context: at once */
  invoked.ran_in = NULL;
  g_assert_true (g_main_context_acquire (NULL));
  rthunk_session_invoke (session, note_thread, &invoked, NULL);
  g_main_context_release (NULL);
  g_assert_true (invoked.ran_in == g_thread_self ());
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  open_gates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ticks = g_ptr_array_new_with_free_func (g_free);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/session/cells/values", test_cells_values);
  ADD ("/session/cells/propagation-order", test_cells_propagation_order);
  ADD ("/session/cells/function-reads", test_cells_function_reads);
  ADD ("/session/cells/cycles", test_cells_cycles);
  ADD ("/session/cells/failure-root-cause", test_cells_failure_root_cause);
  ADD ("/session/cells/type-change", test_cells_type_change);
  ADD ("/session/cells/uncommitted-types", test_cells_uncommitted_types);
  ADD ("/session/cells/reads-by-shape", test_cells_reads_by_shape);
  ADD ("/session/cells/same-type", test_cells_same_type);
  ADD ("/session/cells/redefined-reader", test_cells_redefined_reader);
  ADD ("/session/cells/kept-code", test_cells_kept_code);
  ADD ("/session/cells/nested-eval", test_cells_nested_eval);
  ADD ("/session/cells/long-chain", test_cells_long_chain);
  ADD ("/session/cells/bounded-here", test_cells_bounded_here);
  ADD ("/session/pending/propagation", test_pending_propagation);
  ADD ("/session/pending/fan-out", test_pending_fan_out);
  ADD ("/session/pending/fan-out-squares", test_pending_fan_out_squares);
  ADD ("/session/pending/await", test_pending_await);
  ADD ("/session/pending/remote-input", test_pending_remote_input);
  ADD ("/session/pending/redefined", test_pending_redefined);
  ADD ("/session/pending/expression-redefined", test_pending_expression_redefined);
  ADD ("/session/pending/failure", test_pending_failure);
  ADD ("/session/pending/cancel", test_pending_cancel);
  ADD ("/session/pending/wait-async", test_pending_wait_async);
  ADD ("/session/api/type-and-complete", test_session_type_and_complete);
  ADD ("/session/api/local", test_session_local);
  ADD ("/session/api/embedded", test_session_embedded);
  ADD ("/session/api/sequential", test_session_sequential);
  ADD ("/session/api/sequential-here", test_session_sequential_here);
  ADD ("/session/api/sequential-bounded-auto", test_session_sequential_bounded_auto);
#undef ADD
  g_test_add_func ("/session/thunk/local", test_thunk_local);
  g_test_add_func ("/session/thunk/set-once", test_thunk_set_once);
  g_test_add_func ("/session/thunk/unwatched", test_thunk_unwatched);
  g_test_add_func ("/session/thunk/threads", test_thunk_threads);
  g_test_add_func ("/session/thunk/one-source", test_thunk_one_source);
  g_test_add_func ("/session/thunk/origin-dropped", test_thunk_origin_dropped);
  g_test_add_func ("/session/thunk/origin-given-twice", test_thunk_origin_given_twice);
  g_test_add_func ("/session/api/invoke-thread", test_session_invoke_thread);
  return g_test_run ();
}
