/* test-provided.c — types from the data source: provided functions, the
 * provideType call, the client's cache, the checker's errors
 *
 * A provider runs in this process with one provided function, `column`:
 * `(column "int")` has the type [int], `(column "str")` [str], and any other
 * literal is refused, as a data source refuses SQL that does not prepare.
 * A session checks remote forms against it: the tests count, with the
 * server's getServerInfo, how often provideType was answered and how many
 * thunks were submitted, so a form refused at check time is seen never to
 * reach submitEvalRequest. (rthunkd-sqlite's sql-query and rthunkd's
 * csv-read are tested on real files by test-sqlite and test-files.)
 */
#include "config.h"

#include <string.h>

#include "rthunk.h"
#include "rthunk-client-private.h"
#include "testutil.h"

typedef struct
{
  RthunkServer *server;
  char *address;
  RthunkSession *session;
} Fixture;

/* `column`'s data source: a column type by its name. */
static RthunkType *
provide_column (const char  *literal,
                gpointer     user_data,
                GError     **error)
{
  if (strcmp (literal, "int") == 0)
    return rthunk_type_parse ("(str -> [int])", error);
  if (strcmp (literal, "str") == 0)
    return rthunk_type_parse ("(str -> [str])", error);
  if (strcmp (literal, "wrong") == 0)   /* not an instance of the signature */
    return rthunk_type_parse ("(str -> int)", error);
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH, "no column type “%s”", literal);
  return NULL;
}

static RthunkValue *
native_column (RthunkCallContext  *context,
               RthunkValue *const *args,
               guint               n_args,
               gpointer            user_data,
               GError            **error)
{
  RthunkValue *items[2];

  if (strcmp (rthunk_value_get_str (args[0]), "int") == 0)
    {
      items[0] = rthunk_value_new_int (1);
      items[1] = rthunk_value_new_int (2);
    }
  else
    {
      items[0] = rthunk_value_new_str ("a");
      items[1] = rthunk_value_new_str ("b");
    }
  return rthunk_value_new_list_take (g_memdup2 (items, sizeof items), 2);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(GError) error = NULL;

  rthunk_catalog_add_provided (catalog, "column", "(str -> [a])", RTHUNK_FUNC_IO, "a column",
                               native_column, provide_column, NULL, NULL, &error);
  g_assert_no_error (error);
  fixture->server = rthunk_server_new (catalog, "alpha");
  rthunk_server_listen (fixture->server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  fixture->address = g_strdup_printf ("127.0.0.1:%u", rthunk_server_get_port (fixture->server));
  fixture->session = rthunk_session_new ();
  rthunk_session_add_server (fixture->session, fixture->address, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  rthunk_session_close (fixture->session);
  g_clear_object (&fixture->session);
  if (fixture->server != NULL)
    rthunk_server_stop (fixture->server);
  g_clear_object (&fixture->server);
  g_free (fixture->address);
}

/* A counter of the server's getServerInfo. */
static gint64
counter (Fixture    *fixture,
         const char *name)
{
  return test_server_counter (fixture->address, name);
}

static RthunkValue *
eval (Fixture     *fixture,
      const char  *text,
      GError     **error)
{
  return test_session_eval (fixture->session, text, error);
}

/* Evaluating @text fails at check time with @code and a message holding
 * @part; nothing reaches the server's submitEvalRequest. */
static void
assert_refused (Fixture     *fixture,
                const char  *text,
                RthunkError  code,
                const char  *part)
{
  gint64 submitted = counter (fixture, "submitted");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = eval (fixture, text, &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, (gint) code);
  if (strstr (error->message, part) == NULL)
    g_error ("“%s” says “%s”, not “%s”", text, error->message, part);
  g_assert_cmpint (counter (fixture, "submitted"), ==, submitted);
}

/* The call's type is the data source's: [int] adds, [str] does not. */
static void
test_typed (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) sum = eval (fixture, "(+ 40 (head (await (remote (column \"int\")))))", &error);
  g_autoptr(RthunkValue) text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_int (sum), ==, 41);
  text = eval (fixture, "(head (await (remote (column \"str\"))))", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rthunk_value_get_str (text), ==, "a");
  assert_refused (fixture, "(+ 1 (head (await (remote (column \"str\")))))",
                  RTHUNK_ERROR_TYPE_MISMATCH, "expected int, found str");
}

/* A literal the data source refuses is an error at the literal's place,
 * with the data source's message. */
static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  assert_refused (fixture, "(remote\n  (column \"blob\"))", RTHUNK_ERROR_TYPE_MISMATCH,
                  "<test>:2:11: error: column: no column type “blob”");
}

/* Each (function, literal) is asked of the server once: provideType's
 * counter grows by one per new literal, not per check. */
static void
test_cached (Fixture       *fixture,
             gconstpointer  data)
{
  gint64 before = counter (fixture, "types-provided");
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < 3; k++)
    {
      g_autoptr(RthunkValue) first = eval (fixture, "(head (await (remote (column \"int\"))))", &error);
      g_autoptr(RthunkValue) other = NULL;

      g_assert_no_error (error);
      /* the same literal in another form: the same answer */
      other = eval (fixture, "(len (await (remote (tail (column \"int\")))))", &error);
      g_assert_no_error (error);
    }
  g_assert_cmpint (counter (fixture, "types-provided") - before, ==, 1);
  g_clear_pointer (&error, g_error_free);
  g_autoptr(RthunkValue) text = eval (fixture, "(head (await (remote (column \"str\"))))", &error);
  g_assert_no_error (error);
  g_assert_cmpint (counter (fixture, "types-provided") - before, ==, 2);
}

/* The client's memo by shape leaves strings' texts out of the shape, but
 * for the literal a provided function is called with: (column "int") and
 * (column "str") are checked apart, and each keeps its own type. */
static void
test_client_memo (Fixture       *fixture,
                  gconstpointer  data)
{
  static const struct { const char *text; const char *printed; } cases[] = {
    { "(column \"int\")", "[1 2]" },
    { "(column \"str\")", "[\"a\" \"b\"]" },
    { "(head (column \"int\"))", "1" },
    { "(head (column \"str\"))", "\"a\"" },
  };
  g_autoptr(RthunkClient) client = rthunk_client_new (fixture->address);

  for (guint round = 0; round < 2; round++)
    for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
      {
        g_autoptr(RthunkNode) expr = test_parse_one (cases[k].text);
        g_autoptr(GError) error = NULL;
        g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, NULL, &error);
        g_autoptr(RthunkValue) got = NULL;
        g_autofree char *printed = NULL;

        g_assert_no_error (error);
        /* pending if the server did not finish it within the call */
        got = rthunk_value_force (value, &error);
        g_assert_no_error (error);
        printed = rthunk_value_to_string (got);
        g_assert_cmpstr (printed, ==, cases[k].printed);
      }
  g_assert_cmpuint (rthunk_client_get_checked_shapes (client), ==, G_N_ELEMENTS (cases));
}

/* The literal must be there, as a literal; the function is never a value. */
static void
test_not_literal (Fixture       *fixture,
                  gconstpointer  data)
{
  assert_refused (fixture, "(remote (let [t \"int\"] (column t)))", RTHUNK_ERROR_TYPE_MISMATCH,
                  "<test>:1:32: error: column takes a string literal first");
  assert_refused (fixture, "(remote (map column [\"int\"]))", RTHUNK_ERROR_TYPE_MISMATCH,
                  "<test>:1:14: error: column cannot be used as a value");
}

/* An answer that is not an instance of the signature is refused. */
static void
test_bad_answer (Fixture       *fixture,
                 gconstpointer  data)
{
  assert_refused (fixture, "(remote (column \"wrong\"))", RTHUNK_ERROR_PROTOCOL,
                  "<test>:1:17: error: column: its data source answered the type (str -> int)");
}

/* A data source that cannot be asked: a clear error at the literal. */
static void
test_down (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  rthunk_server_stop (fixture->server);
  g_clear_object (&fixture->server);
  value = eval (fixture, "(remote (column \"int\"))", &error);
  g_assert_null (value);
  g_assert_nonnull (error);
  if (strstr (error->message, "<test>:1:17: error: column: the type of this call could not be asked "
                              "of its data source") == NULL)
    g_error ("a provider that is down: “%s”", error->message);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/provided/typed", test_typed);
  ADD ("/provided/refused", test_refused);
  ADD ("/provided/cached", test_cached);
  ADD ("/provided/not-literal", test_not_literal);
  ADD ("/provided/bad-answer", test_bad_answer);
  ADD ("/provided/down", test_down);
  ADD ("/provided/client-memo", test_client_memo);
#undef ADD
  return g_test_run ();
}
