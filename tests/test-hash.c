/* test-hash.c — content addresses: what changes them and what does not */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "rthunk.h"
#include "testtable.h"

#define SOURCE "<test>"

/* ---- helpers ------------------------------------------------------------ */

static RthunkNode *
read_one (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, text, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (forms->len, ==, 1);
  return rthunk_node_ref (g_ptr_array_index (forms, 0));
}

/* A resolver over a table of name → address (GBytes of RTHUNK_HASH_LEN). */
static gboolean
table_resolve (const char *name,
               guint8      hash[RTHUNK_HASH_LEN],
               gpointer    user_data)
{
  GBytes *known = g_hash_table_lookup (user_data, name);

  if (known == NULL)
    return FALSE;
  memcpy (hash, g_bytes_get_data (known, NULL), RTHUNK_HASH_LEN);
  return TRUE;
}

static GHashTable *
table_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) g_bytes_unref);
}

/* The address of @text as hex, with definitions resolved through @table. */
static char *
hex_of (const char *text,
        GHashTable *table)
{
  g_autoptr(RthunkNode) form = read_one (text);
  g_autoptr(GError) error = NULL;
  guint8 hash[RTHUNK_HASH_LEN];

  g_assert_true (rthunk_hash_definition (form, table != NULL ? table_resolve : NULL,
                                         table, hash, &error));
  g_assert_no_error (error);
  return rthunk_hash_to_hex (hash);
}

/* Hashes @text and records its address in @table under @name. */
static void
define (GHashTable *table,
        const char *name,
        const char *text)
{
  g_autoptr(RthunkNode) form = read_one (text);
  g_autoptr(GError) error = NULL;
  guint8 hash[RTHUNK_HASH_LEN];

  g_assert_true (rthunk_hash_definition (form, table_resolve, table, hash, &error));
  g_assert_no_error (error);
  g_hash_table_replace (table, g_strdup (name), g_bytes_new (hash, sizeof hash));
}

/* ---- pairs that must share an address, and pairs that must not ---------- */

typedef struct
{
  const char *path;
  const char *a;
  const char *b;
} Pair;

static const Pair same_cases[] = {
  { "/hash/same/rename-parameter",
    "(defn sq [n] (* n n))",
    "(defn sq [m] (* m m))" },
  { "/hash/same/rename-function",
    "(defn fact [n] (if (< n 2) 1 (* n (fact (- n 1)))))",
    "(defn factorial [k] (if (< k 2) 1 (* k (factorial (- k 1)))))" },
  { "/hash/same/rename-let-local",
    "(fn [x] (let [a (+ x 1) b (* a 2)] (- b a)))",
    "(fn [x] (let [p (+ x 1) q (* p 2)] (- q p)))" },
  { "/hash/same/rename-loop-variable",
    "(defn sum [n] (loop [i 0 acc 0] (if (< i n) (recur (+ i 1) (+ acc i)) acc)))",
    "(defn sum [n] (loop [j 0 total 0] (if (< j n) (recur (+ j 1) (+ total j)) total)))" },
  { "/hash/same/rename-inner-fn-parameter",
    "(fn [xs] (map (fn [x] (* x 2)) xs))",
    "(fn [xs] (map (fn [y] (* y 2)) xs))" },
  { "/hash/same/whitespace-and-comments",
    "(defn sq [n] (* n n))",
    "; squares\n(defn   sq\n  [n]\n\n    (*  n\n\tn)) ; done" },
  { "/hash/same/float-spelling",
    "(fn [] 1e3)",
    "(fn [] 1000.0)" },
  { "/hash/same/defn-that-does-not-recurse-is-its-lambda",
    "(defn sq [n] (* n n))",
    "(fn [n] (* n n))" },
  { "/hash/same/special-form-head-is-a-name-even-when-shadowed",
    "(fn [if] (if true if 0))",
    "(fn [x] (if true x 0))" },
};

static const Pair different_cases[] = {
  { "/hash/different/literal",
    "(defn inc [x] (+ x 1))",
    "(defn inc [x] (+ x 2))" },
  { "/hash/different/operator",
    "(defn f [a b] (+ a b))",
    "(defn f [a b] (- a b))" },
  { "/hash/different/shadowing",
    "(fn [x] (fn [x] x))",
    "(fn [x] (fn [y] x))" },
  { "/hash/different/let-shadows-parameter",
    "(fn [x] (let [x 1] x))",
    "(fn [x] (let [y 1] x))" },
  { "/hash/different/parameter-order",
    "(fn [a b] (- a b))",
    "(fn [a b] (- b a))" },
  { "/hash/different/arity",
    "(fn [a] 1)",
    "(fn [a b] 1)" },
  { "/hash/different/recursion-or-free-name",
    "(defn f [n] (f n))",
    "(defn f [n] (g n))" },
  { "/hash/different/parameter-shadows-function-name",
    "(defn f [f] (f 1))",
    "(defn f [g] (f 1))" },
  { "/hash/different/int-or-float",
    "(fn [] 1)",
    "(fn [] 1.0)" },
  { "/hash/different/string-or-name",
    "(fn [] \"x\")",
    "(fn [] x)" },
  { "/hash/different/string-boundaries",
    "(fn [] [\"ab\" \"c\"])",
    "(fn [] [\"a\" \"bc\"])" },
  { "/hash/different/call-or-vector",
    "(fn [] (f 1))",
    "(fn [] [f 1])" },
  { "/hash/different/nesting",
    "(fn [] [[1] 2])",
    "(fn [] [[1 2]])" },
  { "/hash/different/body-forms",
    "(fn [x] (print x) x)",
    "(fn [x] (do (print x) x))" },
  { "/hash/different/bool",
    "(fn [] true)",
    "(fn [] false)" },
  { "/hash/different/keyword-or-name",
    "(fn [] (remote :on \"a\" 1))",
    "(fn [] (remote on \"a\" 1))" },
  { "/hash/different/record-field-names",
    "(defn f [x] {:age x})",
    "(defn f [x] {:agee x})" },
  { "/hash/different/record-field-read",
    "(defn f [r] (:age r))",
    "(defn f [r] (:name r))" },
  { "/hash/different/record-get",
    "(defn f [r] (get r :age))",
    "(defn f [r] (get r :name))" },
  { "/hash/different/record-assoc",
    "(defn f [r] (assoc r :age 1))",
    "(defn f [r] (assoc r :n 1))" },
  { "/hash/different/let-or-loop",
    "(fn [] (let [i 0] i))",
    "(fn [] (loop [i 0] i))" },
};

static void
test_same (gconstpointer data)
{
  const Pair *pair = data;
  g_autofree char *a = hex_of (pair->a, NULL);
  g_autofree char *b = hex_of (pair->b, NULL);

  g_assert_cmpstr (a, ==, b);
}

static void
test_different (gconstpointer data)
{
  const Pair *pair = data;
  g_autofree char *a = hex_of (pair->a, NULL);
  g_autofree char *b = hex_of (pair->b, NULL);

  g_assert_cmpstr (a, !=, b);
}

/* ---- definitions that use definitions ----------------------------------- */

static void
test_dependency_changes (void)
{
  g_autoptr(GHashTable) v1 = table_new ();
  g_autoptr(GHashTable) v2 = table_new ();
  g_autofree char *g1 = NULL;
  g_autofree char *g2 = NULL;

  define (v1, "f", "(defn f [x] (* x 2))");
  define (v2, "f", "(defn f [x] (* x 3))");
  g1 = hex_of ("(defn g [y] (+ (f y) 1))", v1);
  g2 = hex_of ("(defn g [y] (+ (f y) 1))", v2);
  g_assert_cmpstr (g1, !=, g2);
}

static void
test_dependency_renamed (void)
{
  g_autoptr(GHashTable) old_names = table_new ();
  g_autoptr(GHashTable) new_names = table_new ();
  g_autofree char *g_old = NULL;
  g_autofree char *g_new = NULL;

  define (old_names, "f", "(defn f [x] (* x 2))");
  define (new_names, "double", "(defn double [n] (* n 2))");
  g_old = hex_of ("(defn g [y] (+ (f y) 1))", old_names);
  g_new = hex_of ("(defn g [y] (+ (double y) 1))", new_names);
  g_assert_cmpstr (g_old, ==, g_new);
}

/* A definition is referred to by its address, not by its name or text. */
static void
test_dependency_is_not_a_free_name (void)
{
  g_autoptr(GHashTable) table = table_new ();
  g_autofree char *resolved = NULL;
  g_autofree char *free_name = NULL;

  define (table, "f", "(defn f [x] (* x 2))");
  resolved = hex_of ("(defn g [y] (f y))", table);
  free_name = hex_of ("(defn g [y] (f y))", NULL);
  g_assert_cmpstr (resolved, !=, free_name);
}

/* A local that shadows a definition's name is the local. */
static void
test_local_shadows_definition (void)
{
  g_autoptr(GHashTable) table = table_new ();
  g_autofree char *with_f = NULL;
  g_autofree char *without = NULL;

  define (table, "f", "(defn f [x] (* x 2))");
  with_f = hex_of ("(fn [f] (let [g f] (g 1)))", table);
  without = hex_of ("(fn [f] (let [g f] (g 1)))", NULL);
  g_assert_cmpstr (with_f, ==, without);
}

/* ---- the known answer --------------------------------------------------- */

/* The canonical bytes of (defn sq [n] (* n n)), as documented at the top of
 * src/lang/rthunk-hash.c. */
static const guint8 sq_encoding[] = {
  'r', 't', 'h', 0x01,                              /* magic, version 1 */
  0x0d, 0, 0, 0, 1, 0, 0, 0, 1,                     /* lambda: 1 param, 1 body form */
  0x0b, 0, 0, 0, 3,                                 /* a list of 3 */
  0x07, 0, 0, 0, 0, 0, 0, 0, 1, '*',                /* the free name "*" */
  0x08, 0, 0, 0, 0,                                 /* local 0: n */
  0x08, 0, 0, 0, 0,                                 /* local 0: n */
};

/* SHA-256 of sq_encoding, computed once and written down. Every stored
 * definition, every request and every cached result is keyed by such
 * addresses: if this test fails, the encoding changed, and with it every
 * address ever computed. Do that only on purpose, with a new version
 * byte, and then update both constants. */
#define SQ_HEX "c13ddad8ea1af50d694711bb2e5e267452cb98fafa196c4982d75fdc234a1103"

static void
test_known_answer (void)
{
  g_autoptr(RthunkNode) form = read_one ("(defn sq [n] (* n n))");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = rthunk_hash_encode_definition (form, NULL, NULL, &error);
  g_autofree char *hex = hex_of ("(defn sq [n] (* n n))", NULL);
  g_autofree char *expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   sq_encoding, sizeof sq_encoding);
  g_assert_cmpstr (hex, ==, expected);
  g_assert_cmpstr (hex, ==, SQ_HEX);
}

static void
test_to_hex (void)
{
  guint8 hash[RTHUNK_HASH_LEN];
  g_autofree char *hex = NULL;

  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    hash[k] = (guint8) (k * 0x11 + 0x0f);
  hex = rthunk_hash_to_hex (hash);
  g_assert_cmpstr (hex, ==, "0f20314253647586"
                            "97a8b9cadbecfd0e"
                            "1f30415263748596"
                            "a7b8c9daebfc0d1e");
}

/* ---- the vectors of docs/protocol.md ------------------------------------ */

/* docs/protocol.md gives test vectors in ```hash-vector blocks, so that a
 * client in another language can check its encoder:
 *
 *   form:   (defn sq [n] (* n n))
 *   bytes:  72746801 0d 00000001 …     (hex; spaces and indented
 *   sha256: c13d…                       continuation lines allowed)
 *
 * Each is checked against the code here, so the document cannot drift
 * from it. A vector's defn resolves, as a user definition, in the vectors
 * after it. */
enum { FORM, BYTES, SHA256, N_FIELDS };

typedef struct
{
  GString *field[N_FIELDS];
} Vector;

static void
vector_clear (Vector *v)
{
  for (guint k = 0; k < N_FIELDS; k++)
    g_string_free (v->field[k], TRUE);
}

/* Appends @text to @field, without its spaces when it is hex. */
static void
vector_append (GString    *field,
               const char *text,
               gboolean    hex)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!hex || !g_ascii_isspace (*p))
      g_string_append_c (field, *p);
}

/* The vectors of @doc, in order; @n_blocks counts the blocks. */
static GArray *
read_vectors (const char *doc,
              guint      *n_blocks)
{
  g_auto(GStrv) lines = g_strsplit (doc, "\n", -1);
  GArray *vectors = g_array_new (FALSE, TRUE, sizeof (Vector));
  GString *field = NULL;
  gboolean inside = FALSE;

  g_array_set_clear_func (vectors, (GDestroyNotify) vector_clear);
  *n_blocks = 0;
  for (guint k = 0; lines[k] != NULL; k++)
    {
      const char *line = lines[k];
      Vector *v = vectors->len > 0 ? &g_array_index (vectors, Vector, vectors->len - 1) : NULL;

      if (!inside)
        {
          inside = strcmp (line, "```hash-vector") == 0;
          *n_blocks += inside;
        }
      else if (strcmp (line, "```") == 0)
        inside = FALSE, field = NULL;
      else if (g_str_has_prefix (line, "form:"))
        {
          Vector fresh = { { g_string_new (NULL), g_string_new (NULL), g_string_new (NULL) } };

          g_array_append_val (vectors, fresh);
          field = fresh.field[FORM];
          vector_append (field, line + 5 + strspn (line + 5, " "), FALSE);
        }
      else if (v != NULL && g_str_has_prefix (line, "bytes:"))
        vector_append (field = v->field[BYTES], line + 6, TRUE);
      else if (v != NULL && g_str_has_prefix (line, "sha256:"))
        vector_append (field = v->field[SHA256], line + 7, TRUE);
      else if (line[0] == '\0')
        field = NULL;
      else if (field != NULL && field != v->field[FORM] && g_ascii_isspace (line[0]))
        vector_append (field, line, TRUE);
      else
        g_assert_cmpstr (line, ==, "a form:, bytes: or sha256: line");
    }
  return vectors;
}

static char *
bytes_to_hex (GBytes *bytes)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  GString *hex = g_string_sized_new (2 * size);

  for (gsize k = 0; k < size; k++)
    g_string_append_printf (hex, "%02x", data[k]);
  return g_string_free (hex, FALSE);
}

static void
check_vector (const Vector *v,
              GHashTable   *table)
{
  g_autoptr(RthunkNode) form = read_one (v->field[FORM]->str);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = rthunk_hash_encode_definition (form, table_resolve, table, &error);
  g_autofree char *bytes_hex = NULL;
  g_autofree char *sha256 = NULL;

  g_assert_no_error (error);
  bytes_hex = bytes_to_hex (bytes);
  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_test_message ("%s\n  bytes:  %s\n  sha256: %s", v->field[FORM]->str, bytes_hex, sha256);
  g_assert_cmpstr (v->field[BYTES]->str, ==, bytes_hex);
  g_assert_cmpstr (v->field[SHA256]->str, ==, sha256);
  if (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"))
    define (table, rthunk_node_get_text (rthunk_node_get_item (form, 1)), v->field[FORM]->str);
}

static void
test_protocol_vectors (void)
{
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) vectors = NULL;
  g_autoptr(GHashTable) table = table_new ();
  guint n_blocks;

  g_assert_true (g_file_get_contents (PROTOCOL_DOC, &doc, NULL, &error));
  g_assert_no_error (error);
  vectors = read_vectors (doc, &n_blocks);
  g_assert_cmpuint (n_blocks, >=, 1);
  g_assert_cmpuint (vectors->len, >=, 6);
  for (guint k = 0; k < vectors->len; k++)
    check_vector (&g_array_index (vectors, Vector, k), table);
}

/* ---- references --------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *text;
  const char *expected;    /* the names, comma-separated */
} RefsCase;

static const RefsCase refs_cases[] = {
  { "/hash/references/each-once-in-order",
    "(defn g [x] (+ (h x) (k (h (k x)))))", "h,k" },
  { "/hash/references/not-locals-nor-self",
    "(defn g [x] (let [f 1] (loop [h f] (if (k h) (g h) (recur (+ h 1))))))", "k" },
  { "/hash/references/inner-lambda",
    "(fn [xs] (map (fn [h] (h 1)) (f xs)))", "f" },
  { "/hash/references/expression",
    "(remote :on \"a\" (+ (f 1) (h 2)))", "f,h" },
  { "/hash/references/def-value",
    "(def y (k (f 1)))", "k,f" },
  { "/hash/references/none",
    "(defn g [x] (+ x 1))", "" },
  /* more names than the walker scans for in its list: then in a table */
  { "/hash/references/many-each-once",
    "(fn [x] [(m0 x) (m1 x) (m2 x) (m3 x) (m4 x) (m5 x) (m6 x) (m7 x) (m8 x) (m9 x) (m3 x) (m0 (m9 x)) (m7 x)])",
    "m0,m1,m2,m3,m4,m5,m6,m7,m8,m9" },
  { "/hash/references/malformed-let-still-searched",
    "(fn [x] (let [a] (f a)))", "f" },
};

static void
test_references (gconstpointer data)
{
  const RefsCase *c = data;
  g_autoptr(GHashTable) table = table_new ();
  g_autoptr(RthunkNode) form = read_one (c->text);
  g_autoptr(GPtrArray) refs = NULL;
  g_autofree char *joined = NULL;

  define (table, "f", "(defn f [x] x)");
  define (table, "h", "(defn h [x] (+ x 1))");
  define (table, "k", "(defn k [x] (* x 2))");
  define (table, "g", "(defn g [x] 0)");
  for (guint k = 0; k < 10; k++)
    {
      g_autofree char *name = g_strdup_printf ("m%u", k);
      g_autofree char *text = g_strdup_printf ("(defn m%u [x] (+ x %u))", k, k);

      define (table, name, text);
    }
  refs = rthunk_hash_collect_references (form, table_resolve, table);
  g_ptr_array_add (refs, NULL);
  joined = g_strjoinv (",", (char **) refs->pdata);
  g_assert_cmpstr (joined, ==, c->expected);
}

static void
test_references_without_resolver (void)
{
  g_autoptr(RthunkNode) form = read_one ("(defn g [x] (f x))");
  g_autoptr(GPtrArray) refs = rthunk_hash_collect_references (form, NULL, NULL);

  g_assert_cmpuint (refs->len, ==, 0);
}

/* ---- errors ------------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *text;
  gint code;               /* an RthunkError */
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "/hash/invalid/def", "(def x 1)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/literal", "42", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/call", "(f x)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/vector", "[fn [x] x]", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/defn-without-name", "(defn [x] x)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/defn-params-not-vector", "(defn f x x)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/fn-param-not-name", "(fn [1] 1)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/fn-alone", "(fn)", RTHUNK_ERROR_INVALID_REQUEST },
  { "/hash/invalid/inner-let-odd", "(fn [x] (let [a] a))", RTHUNK_ERROR_SYNTAX },
  { "/hash/invalid/inner-loop-not-names", "(fn [x] (loop [1 2] x))", RTHUNK_ERROR_SYNTAX },
  { "/hash/invalid/inner-fn", "(fn [x] (fn x x))", RTHUNK_ERROR_SYNTAX },
  { "/hash/invalid/inner-defn", "(fn [x] (defn g [y] y))", RTHUNK_ERROR_SYNTAX },
};

static void
test_error (gconstpointer data)
{
  const ErrorCase *c = data;
  g_autoptr(RthunkNode) form = read_one (c->text);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = rthunk_hash_encode_definition (form, NULL, NULL, &error);
  guint8 hash[RTHUNK_HASH_LEN];

  g_assert_null (bytes);
  g_assert_error (error, RTHUNK_ERROR, c->code);
  g_assert_true (strstr (error->message, SOURCE ":1:") == error->message);
  g_clear_error (&error);
  g_assert_false (rthunk_hash_definition (form, NULL, NULL, hash, &error));
  g_assert_error (error, RTHUNK_ERROR, c->code);
}

/* (fn [] [[…[1]…]]) with @levels lists and vectors in all. */
static RthunkNode *
nested_lambda (guint levels)
{
  g_autoptr(RthunkNode) inner = rthunk_node_new_int (1);
  g_autoptr(RthunkNode) fn = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "fn");
  g_autoptr(RthunkNode) params = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, NULL, 0);
  RthunkNode *items[3];

  for (guint k = 1; k < levels; k++)
    {
      RthunkNode *outer = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, &inner, 1);

      rthunk_node_unref (inner);
      inner = outer;
    }
  items[0] = fn;
  items[1] = params;
  items[2] = inner;
  return rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
}

static void
test_depth (void)
{
  g_autoptr(RthunkNode) deepest = nested_lambda (RTHUNK_NODE_MAX_DEPTH);
  g_autoptr(RthunkNode) too_deep = nested_lambda (RTHUNK_NODE_MAX_DEPTH + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) refs = NULL;
  guint8 hash[RTHUNK_HASH_LEN];

  g_assert_true (rthunk_hash_definition (deepest, NULL, NULL, hash, &error));
  g_assert_no_error (error);
  g_assert_false (rthunk_hash_definition (too_deep, NULL, NULL, hash, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED);
  refs = rthunk_hash_collect_references (too_deep, NULL, NULL);
  g_assert_cmpuint (refs->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  TEST_ADD_TABLE (same_cases, test_same);
  TEST_ADD_TABLE (different_cases, test_different);
  g_test_add_func ("/hash/dependency/body-changes", test_dependency_changes);
  g_test_add_func ("/hash/dependency/renamed", test_dependency_renamed);
  g_test_add_func ("/hash/dependency/not-a-free-name", test_dependency_is_not_a_free_name);
  g_test_add_func ("/hash/dependency/local-shadows", test_local_shadows_definition);
  g_test_add_func ("/hash/known-answer", test_known_answer);
  g_test_add_func ("/hash/to-hex", test_to_hex);
  g_test_add_func ("/hash/protocol-vectors", test_protocol_vectors);
  TEST_ADD_TABLE (refs_cases, test_references);
  g_test_add_func ("/hash/references/without-resolver", test_references_without_resolver);
  TEST_ADD_TABLE (error_cases, test_error);
  g_test_add_func ("/hash/depth", test_depth);

  return g_test_run ();
}
