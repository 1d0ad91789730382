/* test-wire.c — ASTs, values and types to and from the generated Thrift
 * structs: round trips, and hostile structures refused without a crash */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include <thrift/c_glib/thrift_application_exception.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "codecutil.h"
#include "testtable.h"

#define SOURCE "<test>"
#define DEEP 2000

/* ---- helpers ------------------------------------------------------------------ */

/* Writes @object with the binary protocol, as a server would send it, and
 * reads the bytes back into a new @type. */
static gpointer
through_binary (gpointer object,
                GType    type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL,
                                                      "transport", transport, NULL);
  g_autoptr(GBytes) bytes = NULL;
  gpointer copy = g_object_new (type, NULL);

  g_assert_cmpint (thrift_struct_write (THRIFT_STRUCT (object), protocol, &error), >, 0);
  g_assert_no_error (error);
  bytes = rthunk_frame_transport_take_output (transport);
  rthunk_frame_transport_set_input (transport, bytes);
  g_assert_cmpint (thrift_struct_read (THRIFT_STRUCT (copy), protocol, &error), >, 0);
  g_assert_no_error (error);
  return copy;
}

/* ---- ASTs: round trips ------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
} AstCase;

static const AstCase ast_cases[] = {
  { "/wire/ast/roundtrip/int", "42" },
  { "/wire/ast/roundtrip/negative-int", "-9223372036854775808" },
  { "/wire/ast/roundtrip/float", "-2.5e-3" },
  { "/wire/ast/roundtrip/string", "\"a\\nb \\u{1F600} \\\"q\\\"\"" },
  { "/wire/ast/roundtrip/bool", "false" },
  { "/wire/ast/roundtrip/nil", "nil" },
  { "/wire/ast/roundtrip/symbol", "my-name?" },
  { "/wire/ast/roundtrip/keyword", ":on" },
  { "/wire/ast/roundtrip/empty-list", "()" },
  { "/wire/ast/roundtrip/empty-vector", "[]" },
  { "/wire/ast/roundtrip/call", "(+ 1 (/ 4 2))" },
  { "/wire/ast/roundtrip/defn", "(defn fib [n]\n  (if (< n 2)\n      n\n      (+ (fib (- n 1)) (fib (- n 2)))))" },
  { "/wire/ast/roundtrip/remote", "(remote :on \"alpha\" (let [x [1.5 2.5]] [x x]))" },
  { "/wire/ast/roundtrip/utf8", "(f \"h\xc3\xa9\" \xce\xbb)" },
};

static void
test_ast_roundtrip (gconstpointer data)
{
  const AstCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  RthunkNode *root = g_ptr_array_index (forms, 0);
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(RthunkWireAst) copy = NULL;
  g_autoptr(RthunkNode) back = NULL;
  g_autoptr(RthunkNode) back_copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = rthunk_node_to_string (root);
  g_autofree char *printed_back = NULL;
  guint n = count_nodes (root);

  rthunk_wire_fill_ast (ast, root, NULL);
  g_assert_cmpuint (ast->nodes->len, ==, n);
  g_assert_cmpstr (ast->source, ==, SOURCE);
  back = rthunk_wire_read_ast (ast, n, &error);
  g_assert_no_error (error);
  assert_same_node (root, back);
  printed_back = rthunk_node_to_string (back);
  g_assert_cmpstr (printed_back, ==, printed);
  /* and through the binary protocol */
  copy = through_binary (ast, RTHUNK_WIRE_TYPE_AST);
  back_copy = rthunk_wire_read_ast (copy, n, &error);
  g_assert_no_error (error);
  assert_same_node (root, back_copy);
}

/* With the types the checker found, each node names an interned type. */
static void
test_ast_with_types (void)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GPtrArray) forms = test_read_ok ("(let [id (fn [x] x)] [(id 1) (id 2)])");
  RthunkNode *root = g_ptr_array_index (forms, 0);
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check_typed (checker, root, &node_types, &error);
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(RthunkType) root_type = NULL;
  g_autofree char *root_text = NULL;
  RthunkWireAstNode *wire_root;
  guint typed = 0;

  g_assert_no_error (error);
  rthunk_wire_fill_ast (ast, root, node_types);
  for (guint k = 0; k < ast->nodes->len; k++)
    {
      RthunkWireAstNode *node = g_ptr_array_index (ast->nodes, k);

      if (!node->__isset_typeIndex)
        continue;
      typed++;
      g_assert_cmpint (node->typeIndex, >=, 0);
      g_assert_cmpint (node->typeIndex, <, (gint) ast->types->len);
    }
  g_assert_cmpuint (typed, ==, g_hash_table_size (node_types));
  /* every distinct type once: int, [int], (a -> a) and (int -> int) */
  g_assert_cmpuint (ast->types->len, <, typed);
  wire_root = g_ptr_array_index (ast->nodes, ast->nodes->len - 1);
  g_assert_true (wire_root->__isset_typeIndex);
  root_type = rthunk_wire_read_type (g_ptr_array_index (ast->types, wire_root->typeIndex), &error);
  g_assert_no_error (error);
  root_text = rthunk_type_to_string (root_type);
  g_assert_cmpstr (root_text, ==, "[int]");
}

/* The most deeply nested text the reader accepts also crosses the wire. */
static void
test_ast_reader_depth (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(RthunkNode) back = NULL;
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < RTHUNK_NODE_MAX_DEPTH; k++)
    g_string_append_c (text, '[');
  g_string_append_c (text, '1');
  for (guint k = 0; k < RTHUNK_NODE_MAX_DEPTH; k++)
    g_string_append_c (text, ']');
  forms = test_read_ok (text->str);
  rthunk_wire_fill_ast (ast, g_ptr_array_index (forms, 0), NULL);
  back = rthunk_wire_read_ast (ast, 10000, &error);
  g_assert_no_error (error);
  assert_same_node (g_ptr_array_index (forms, 0), back);
}

static void
test_ast_source_fallback (void)
{
  g_autoptr(GPtrArray) forms = test_read_ok ("(f x)");
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(RthunkNode) no_source = NULL;
  g_autoptr(RthunkNode) bad_source = NULL;
  g_autoptr(GError) error = NULL;
  RthunkWireAstNode *root;

  rthunk_wire_fill_ast (ast, g_ptr_array_index (forms, 0), NULL);
  root = g_ptr_array_index (ast->nodes, ast->nodes->len - 1);
  root->line = -5;
  g_clear_pointer (&ast->source, g_free);
  ast->__isset_source = FALSE;
  no_source = rthunk_wire_read_ast (ast, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rthunk_node_get_source (no_source), ==, "<remote>");
  g_assert_cmpuint (rthunk_node_get_line (no_source), ==, 0);
  ast->source = g_strdup ("bad\xff");
  ast->__isset_source = TRUE;
  bad_source = rthunk_wire_read_ast (ast, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rthunk_node_get_source (bad_source), ==, "<remote>");
}

/* Reads @ast with its source set to @source, both ways a peer's tree is
 * read (the generated structs, the codec), and returns the source name
 * the codec's tree got, after checking that both got the same. */
static const char *
source_as_read (RthunkWireAst *ast,
                const char    *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) from_struct = NULL;
  g_autoptr(GByteArray) bytes = NULL;
  RthunkNode *from_codec;
  const char *name;

  g_free (ast->source);
  ast->source = g_strdup (source);
  ast->__isset_source = TRUE;
  from_struct = rthunk_wire_read_ast (ast, 100, &error);
  g_assert_no_error (error);
  bytes = generated_bytes (ast);
  from_codec = codec_read (CODEC_TREE_AST, bytes->data, bytes->len, 100, NULL, &error);
  g_assert_no_error (error);
  name = rthunk_node_get_source (from_codec);
  g_assert_true (name == rthunk_node_get_source (from_struct));
  codec_tree_free (CODEC_TREE_AST, from_codec);
  return name;
}

/* A peer's source names are interned (for ever): the first
 * RTHUNK_WIRE_MAX_SOURCE_NAMES new ones, of at most
 * RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES; past that a tree's source is
 * "<remote>", and a name already interned is still kept. */
static void
test_ast_source_names_bounded (void)
{
  g_autoptr(GPtrArray) forms = test_read_ok ("(f x)");
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autofree char *longest = g_strnfill (RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES, 'n');
  g_autofree char *too_long = g_strnfill (RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES + 1, 'n');
  guint k;

  rthunk_wire_fill_ast (ast, g_ptr_array_index (forms, 0), NULL);
  g_assert_cmpstr (source_as_read (ast, too_long), ==, "<remote>");
  g_assert_cmpstr (source_as_read (ast, longest), ==, longest);
  g_assert_cmpstr (source_as_read (ast, "kept.rth"), ==, "kept.rth");
  for (k = 0; k < RTHUNK_WIRE_MAX_SOURCE_NAMES; k++)
    {
      g_autofree char *name = g_strdup_printf ("peer-source-%u.rth", k);

      if (g_strcmp0 (source_as_read (ast, name), "<remote>") == 0)
        break;
    }
  g_assert_cmpuint (k, <, RTHUNK_WIRE_MAX_SOURCE_NAMES);
  g_assert_cmpstr (source_as_read (ast, "one-more.rth"), ==, "<remote>");
  g_assert_cmpuint (g_quark_try_string ("one-more.rth"), ==, 0);
  g_assert_cmpstr (source_as_read (ast, "kept.rth"), ==, "kept.rth");
}

/* ---- hand-built trees: a case's nodes as one string ---------------------------------- */

/* Appends a node of @kind with @n_children child indices to @wire (an
 * RthunkWireAst, RthunkWireValue or RthunkWireTypeTerm); the node. */
typedef gpointer (*AddNodeFunc) (gpointer      wire,
                                 gint          kind,
                                 const gint32 *children,
                                 guint         n_children);

/* The kind a word of a node spec names: an entry of @names (indexed by
 * kind), or a number. */
static gint
kind_named (const char        *word,
            const char *const *names,
            guint              n_names)
{
  for (guint k = 0; k < n_names; k++)
    if (g_strcmp0 (names[k], word) == 0)
      return (gint) k;
  return (gint) g_ascii_strtoll (word, NULL, 10);
}

/* Appends the nodes of @spec to @wire (whose array of nodes is @all) with
 * @add, one node per ';': its kind (named in @names) and the indices of
 * its children, e.g. "INT; LIST 0 1". Returns the first of them, if any. */
static gpointer
add_nodes (gpointer           wire,
           GPtrArray         *all,
           const char        *spec,
           const char *const *names,
           guint              n_names,
           AddNodeFunc        add)
{
  g_auto(GStrv) nodes = g_strsplit (spec, ";", -1);
  guint first = all->len;

  for (guint k = 0; nodes[k] != NULL; k++)
    {
      g_auto(GStrv) words = g_strsplit (g_strstrip (nodes[k]), " ", -1);
      g_autoptr(GArray) children = g_array_new (FALSE, FALSE, sizeof (gint32));

      if (words[0] == NULL || *words[0] == '\0')
        continue;
      for (guint c = 1; words[c] != NULL; c++)
        {
          gint32 child = (gint32) g_ascii_strtoll (words[c], NULL, 10);

          g_array_append_val (children, child);
        }
      add (wire, kind_named (words[0], names, n_names), (const gint32 *) children->data, children->len);
    }
  return first < all->len ? g_ptr_array_index (all, first) : NULL;
}

/* ---- ASTs: hostile structures --------------------------------------------------------- */

static const char *const ast_kinds[] = {
  [RTHUNK_WIRE_NODE_KIND_INT] = "INT", [RTHUNK_WIRE_NODE_KIND_FLOAT] = "FLOAT",
  [RTHUNK_WIRE_NODE_KIND_STR] = "STR", [RTHUNK_WIRE_NODE_KIND_BOOL] = "BOOL",
  [RTHUNK_WIRE_NODE_KIND_NIL] = "NIL", [RTHUNK_WIRE_NODE_KIND_SYMBOL] = "SYMBOL",
  [RTHUNK_WIRE_NODE_KIND_KEYWORD] = "KEYWORD", [RTHUNK_WIRE_NODE_KIND_LIST] = "LIST",
  [RTHUNK_WIRE_NODE_KIND_VECTOR] = "VECTOR",
};

/* An AddNodeFunc: a symbol, string or keyword is "x", a literal has its
 * value set, every node is at 1:1. */
static gpointer
ast_add (gpointer      wire,
         gint          kind,
         const gint32 *children,
         guint         n_children)
{
  RthunkWireAst *ast = wire;
  RthunkWireAstNode *node = g_object_new (RTHUNK_WIRE_TYPE_AST_NODE, NULL);

  node->kind = kind;
  g_array_append_vals (node->children, children, n_children);
  node->__isset_children = n_children > 0;
  if (kind == RTHUNK_WIRE_NODE_KIND_SYMBOL || kind == RTHUNK_WIRE_NODE_KIND_STR ||
      kind == RTHUNK_WIRE_NODE_KIND_KEYWORD)
    {
      node->text = g_strdup ("x");
      node->__isset_text = TRUE;
    }
  /* a literal carries its value */
  node->__isset_intValue = kind == RTHUNK_WIRE_NODE_KIND_INT;
  node->__isset_floatValue = kind == RTHUNK_WIRE_NODE_KIND_FLOAT;
  node->__isset_boolValue = kind == RTHUNK_WIRE_NODE_KIND_BOOL;
  node->line = node->col = 1;
  g_ptr_array_add (ast->nodes, node);
  return node;
}

/* add_nodes() for this tree. */
static RthunkWireAstNode *
ast_add_nodes (RthunkWireAst *ast,
               const char    *spec)
{
  return add_nodes (ast, ast->nodes, spec, ast_kinds, G_N_ELEMENTS (ast_kinds), ast_add);
}

static void build_ast_bad_utf8 (RthunkWireAst *ast)
{
  RthunkWireAstNode *node = ast_add_nodes (ast, "SYMBOL; LIST 0");

  g_free (node->text);
  node->text = g_strdup ("ab\xff");
}

static void build_ast_bad_utf8_string (RthunkWireAst *ast)
{
  RthunkWireAstNode *node = ast_add_nodes (ast, "STR");

  g_free (node->text);
  node->text = g_strdup ("\xc0\xaf");
}

/* an int literal whose intValue is not there: once taken as 0 */
static void
build_ast_int_without_value (RthunkWireAst *ast)
{
  RthunkWireAstNode *node = ast_add_nodes (ast, "INT");

  node->__isset_intValue = FALSE;
}

static void build_ast_missing_text (RthunkWireAst *ast)
{
  RthunkWireAstNode *node = ast_add_nodes (ast, "KEYWORD");

  g_clear_pointer (&node->text, g_free);
  node->__isset_text = FALSE;
}

static void build_ast_too_many (RthunkWireAst *ast)
{
  for (guint k = 0; k < 11; k++)
    ast_add_nodes (ast, "INT");
}

static void
build_ast_chain (RthunkWireAst *ast,
                 guint          depth)
{
  ast_add_nodes (ast, "INT");
  for (guint k = 1; k <= depth; k++)
    {
      gint32 child = (gint32) k - 1;

      ast_add (ast, k % 2 ? RTHUNK_WIRE_NODE_KIND_LIST : RTHUNK_WIRE_NODE_KIND_VECTOR, &child, 1);
    }
}

static void build_ast_at_depth_limit (RthunkWireAst *ast) { build_ast_chain (ast, RTHUNK_NODE_MAX_DEPTH); }
static void build_ast_over_depth_limit (RthunkWireAst *ast) { build_ast_chain (ast, RTHUNK_NODE_MAX_DEPTH + 1); }
static void build_ast_deep (RthunkWireAst *ast) { build_ast_chain (ast, DEEP); }

/* A chain at the limit under a second child: the depth is that of the
 * deepest child, not of the first one. */
static void
build_ast_deep_side_branch (RthunkWireAst *ast)
{
  gint32 children[2] = { RTHUNK_NODE_MAX_DEPTH + 1, RTHUNK_NODE_MAX_DEPTH };

  build_ast_chain (ast, RTHUNK_NODE_MAX_DEPTH);
  ast_add_nodes (ast, "INT");
  ast_add (ast, RTHUNK_WIRE_NODE_KIND_LIST, children, 2);
}

typedef struct {
  const char *path;
  const char *nodes;         /* add_nodes(), then: */
  void      (*build) (RthunkWireAst *ast);
  guint       max_nodes;
  int         code;          /* 0: accepted */
  const char *fragment;
} HostileAstCase;

static const HostileAstCase hostile_ast_cases[] = {
  { "/wire/ast/valid/small", "SYMBOL; INT; LIST 0 1", NULL, 10, 0, NULL },
  { "/wire/ast/valid/at-depth-limit", NULL, build_ast_at_depth_limit, 10000, 0, NULL },
  { "/wire/ast/hostile/empty", "", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "the AST is empty" },
  { "/wire/ast/hostile/forward-index", "LIST 1; INT", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/ast/hostile/self-index", "INT; LIST 0 1", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/ast/hostile/negative-index", "INT; LIST 0 -1", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/ast/hostile/huge-index", "INT; LIST 2147483647", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/ast/hostile/node-used-twice", "INT; LIST 0 0", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "used twice" },
  { "/wire/ast/hostile/node-used-by-two-parents", "INT; VECTOR 0; LIST 0 1", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "used twice" },
  { "/wire/ast/hostile/unreachable-node", "INT; INT; LIST 1", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "node 0: the node is not part of the tree" },
  { "/wire/ast/hostile/two-roots", "INT; INT", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "not part of the tree" },
  { "/wire/ast/hostile/atom-with-children", "SYMBOL; INT 0", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "node 1: only a list or a vector has children" },
  { "/wire/ast/hostile/nil-with-children", "INT; NIL 0; LIST 1", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "only a list or a vector has children" },
  { "/wire/ast/hostile/kind-zero", "0", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, "unknown node kind" },
  { "/wire/ast/hostile/kind-unknown", "INT; 99 0", NULL, 10, RTHUNK_ERROR_INVALID_REQUEST, NULL },
  { "/wire/ast/hostile/symbol-not-utf8", NULL, build_ast_bad_utf8, 10, RTHUNK_ERROR_INVALID_REQUEST, "not valid UTF-8" },
  { "/wire/ast/hostile/string-overlong-utf8", NULL, build_ast_bad_utf8_string, 10, RTHUNK_ERROR_INVALID_REQUEST, "not valid UTF-8" },
  { "/wire/ast/hostile/int-without-value", NULL, build_ast_int_without_value, 10, RTHUNK_ERROR_INVALID_REQUEST, "node 0: the literal has no value" },
  { "/wire/ast/hostile/text-missing", NULL, build_ast_missing_text, 10, RTHUNK_ERROR_INVALID_REQUEST, "text is missing" },
  { "/wire/ast/hostile/too-many-nodes", NULL, build_ast_too_many, 10, RTHUNK_ERROR_LIMIT_EXCEEDED, "more than the limit of 10" },
  { "/wire/ast/hostile/one-too-deep", NULL, build_ast_over_depth_limit, 10000, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
  { "/wire/ast/hostile/deep-chain", NULL, build_ast_deep, 10000, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
  { "/wire/ast/hostile/deep-chain-too-many-nodes", NULL, build_ast_deep, 100, RTHUNK_ERROR_LIMIT_EXCEEDED, NULL },
  { "/wire/ast/hostile/deep-side-branch", NULL, build_ast_deep_side_branch, 10000, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
};

static void
test_hostile_ast (gconstpointer data)
{
  const HostileAstCase *tc = data;
  g_autoptr(RthunkWireAst) ast = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) node = NULL;

  if (tc->nodes != NULL)
    ast_add_nodes (ast, tc->nodes);
  if (tc->build != NULL)
    tc->build (ast);
  node = rthunk_wire_read_ast (ast, tc->max_nodes, &error);
  test_assert_outcome (node, error, tc->code, tc->fragment);
}

/* ---- values ----------------------------------------------------------------------- */

/* Values come from evaluating these texts. */
typedef struct {
  const char *path;
  const char *text;
} ValueCase;

static const ValueCase value_cases[] = {
  { "/wire/value/roundtrip/nil", "nil" },
  { "/wire/value/roundtrip/true", "true" },
  { "/wire/value/roundtrip/int", "-9223372036854775808" },
  { "/wire/value/roundtrip/float", "(/ 1.0 3.0)" },
  { "/wire/value/roundtrip/float-tiny", "2.2250738585072014e-308" },
  { "/wire/value/roundtrip/string", "\"tab\\tnewline\\n \\u{1F600} h\xc3\xa9\"" },
  { "/wire/value/roundtrip/empty-string", "\"\"" },
  { "/wire/value/roundtrip/empty-list", "[]" },
  { "/wire/value/roundtrip/list", "[1 2 3]" },
  { "/wire/value/roundtrip/nested-lists", "[[[1 2]] [] [[3] [4]]]" },
  { "/wire/value/roundtrip/nested-empty", "[[[]] [] [[] []]]" },
  { "/wire/value/roundtrip/strings", "[\"a\" \"\" \"c\\\\d\"]" },
  { "/wire/value/roundtrip/floats", "[[1.5 -0.0] [1e300]]" },
  { "/wire/value/roundtrip/record", "{:name \"ada\" :age 36 :ok true :none nil}" },
  { "/wire/value/roundtrip/record-empty", "{}" },
  { "/wire/value/roundtrip/maybe", "(map parse-int [\"1\" \"x\"])" },
  { "/wire/value/roundtrip/maybe-in-record", "{:age (parse-int \"36\") :born (parse-int \"?\")}" },
  { "/wire/value/roundtrip/records", "[{:p {:x [1 2]} :q \"a\"} {:p {:x []} :q \"\"}]" },
};

static RthunkValue *
evaluate (const char *text)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(RthunkEvaluator) evaluator = rthunk_evaluator_new (catalog);
  g_autoptr(GPtrArray) forms = test_read_ok (text);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  RthunkValue *value;

  g_assert_no_error (error);
  value = rthunk_evaluator_eval (evaluator, g_ptr_array_index (forms, 0), &error);
  g_assert_no_error (error);
  return value;
}

static void
assert_value_roundtrip (RthunkValue *value)
{
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(RthunkWireValue) copy = NULL;
  g_autoptr(RthunkValue) back = NULL;
  g_autoptr(RthunkValue) back_copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = rthunk_value_to_string (value);
  g_autofree char *printed_back = NULL;

  g_assert_true (rthunk_wire_fill_value (wire, value, &error));
  g_assert_no_error (error);
  back = rthunk_wire_read_value (wire, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_value_equal (value, back));
  printed_back = rthunk_value_to_string (back);
  g_assert_cmpstr (printed_back, ==, printed);
  copy = through_binary (wire, RTHUNK_WIRE_TYPE_VALUE);
  back_copy = rthunk_wire_read_value (copy, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_value_equal (value, back_copy));
}

static void
test_value_roundtrip (gconstpointer data)
{
  const ValueCase *tc = data;
  g_autoptr(RthunkValue) value = evaluate (tc->text);

  assert_value_roundtrip (value);
}

static void
test_value_at_depth_limit (void)
{
  g_autoptr(RthunkValue) value = nested_value (RTHUNK_WIRE_MAX_VALUE_DEPTH);

  assert_value_roundtrip (value);
}

static void
test_value_too_deep_to_send (void)
{
  g_autoptr(RthunkValue) value = nested_value (RTHUNK_WIRE_MAX_VALUE_DEPTH + 1);
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (rthunk_wire_fill_value (wire, value, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED);
}

static RthunkValue *
force_nothing (gpointer   handle,
               GError   **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "never forced here");
  return NULL;
}

static void
test_value_pending_refused (void)
{
  g_autoptr(RthunkValue) pending = rthunk_value_new_pending ("#1 @x", NULL, force_nothing, NULL);
  g_autoptr(RthunkValue) one = rthunk_value_new_int (1);
  g_autoptr(RthunkValue) list = NULL;
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(GError) error = NULL;
  RthunkValue *items[2] = { one, pending };

  list = rthunk_value_new_list (items, 2);
  g_assert_false (rthunk_wire_fill_value (wire, list, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
}

/* A function travels for printing only: it is never received. */
static void
test_value_function_not_received (void)
{
  g_autoptr(RthunkValue) func = evaluate ("(fn [x] x)");
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(RthunkValue) back = NULL;
  g_autoptr(GError) error = NULL;
  RthunkWireValueNode *node;

  g_assert_true (rthunk_wire_fill_value (wire, func, &error));
  g_assert_no_error (error);
  node = g_ptr_array_index (wire->nodes, 0);
  g_assert_cmpint (node->kind, ==, RTHUNK_WIRE_VALUE_KIND_FUNC);
  g_assert_nonnull (node->text);
  back = rthunk_wire_read_value (wire, &error);
  g_assert_null (back);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
}

/* ---- values: hostile structures --------------------------------------------------------- */

static const char *const value_kinds[] = {
  [RTHUNK_WIRE_VALUE_KIND_NIL] = "NIL", [RTHUNK_WIRE_VALUE_KIND_BOOL] = "BOOL",
  [RTHUNK_WIRE_VALUE_KIND_INT] = "INT", [RTHUNK_WIRE_VALUE_KIND_FLOAT] = "FLOAT",
  [RTHUNK_WIRE_VALUE_KIND_STR] = "STR", [RTHUNK_WIRE_VALUE_KIND_LIST] = "LIST",
  [RTHUNK_WIRE_VALUE_KIND_FUNC] = "FUNC", [RTHUNK_WIRE_VALUE_KIND_THUNK] = "THUNK",
  [RTHUNK_WIRE_VALUE_KIND_RECORD] = "RECORD",
};

/* An AddNodeFunc: a string or function has the text "x". */
static gpointer
value_add (gpointer      wire,
           gint          kind,
           const gint32 *items,
           guint         n_items)
{
  RthunkWireValue *value = wire;
  RthunkWireValueNode *node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE, NULL);

  node->kind = kind;
  g_array_append_vals (node->items, items, n_items);
  node->__isset_items = n_items > 0;
  if (kind == RTHUNK_WIRE_VALUE_KIND_STR || kind == RTHUNK_WIRE_VALUE_KIND_FUNC)
    {
      node->text = g_strdup ("x");
      node->__isset_text = TRUE;
    }
  g_ptr_array_add (value->nodes, node);
  return node;
}

/* add_nodes() for this tree. */
static RthunkWireValueNode *
value_add_nodes (RthunkWireValue *wire,
                 const char      *spec)
{
  return add_nodes (wire, wire->nodes, spec, value_kinds, G_N_ELEMENTS (value_kinds), value_add);
}

static void build_value_bad_utf8 (RthunkWireValue *w)
{
  RthunkWireValueNode *node = value_add_nodes (w, "STR");

  g_free (node->text);
  node->text = g_strdup ("\xed\xa0\x80");     /* a surrogate */
}

static void build_value_missing_text (RthunkWireValue *w)
{
  RthunkWireValueNode *node = value_add_nodes (w, "STR");

  g_clear_pointer (&node->text, g_free);
  node->__isset_text = FALSE;
}

/* {:b 1 :a 2} with the names @a and @b (NULL: none) */
static void
build_value_record_named (RthunkWireValue *w,
                          const char      *a,
                          const char      *b)
{
  RthunkWireValueNode *node;

  value_add_nodes (w, "INT; INT; RECORD 0 1");
  node = g_ptr_array_index (w->nodes, 2);
  if (a != NULL)
    g_ptr_array_add (node->fieldNames, g_strdup (a));
  if (b != NULL)
    g_ptr_array_add (node->fieldNames, g_strdup (b));
  node->__isset_fieldNames = TRUE;
}

static void build_value_record (RthunkWireValue *w) { build_value_record_named (w, "b", "a"); }
static void build_value_record_no_names (RthunkWireValue *w) { build_value_record_named (w, "a", NULL); }
static void build_value_record_repeated (RthunkWireValue *w) { build_value_record_named (w, "a", "a"); }
static void build_value_record_space (RthunkWireValue *w) { build_value_record_named (w, "a", "first name"); }
static void build_value_record_empty_name (RthunkWireValue *w) { build_value_record_named (w, "a", ""); }
static void build_value_record_bad_name (RthunkWireValue *w) { build_value_record_named (w, "a", "\xed\xa0\x80"); }

static void
build_value_chain (RthunkWireValue *w,
                   guint            depth)
{
  value_add_nodes (w, "NIL");
  for (guint k = 1; k <= depth; k++)
    {
      gint32 item = (gint32) k - 1;

      value_add (w, RTHUNK_WIRE_VALUE_KIND_LIST, &item, 1);
    }
}

static void build_value_at_depth_limit (RthunkWireValue *w) { build_value_chain (w, RTHUNK_WIRE_MAX_VALUE_DEPTH); }
static void build_value_over_depth_limit (RthunkWireValue *w) { build_value_chain (w, RTHUNK_WIRE_MAX_VALUE_DEPTH + 1); }
static void build_value_deep (RthunkWireValue *w) { build_value_chain (w, DEEP); }

typedef struct {
  const char *path;
  const char *nodes;         /* add_nodes(), then: */
  void      (*build) (RthunkWireValue *wire);
  int         code;          /* 0: accepted */
  const char *fragment;
} HostileValueCase;

static const HostileValueCase hostile_value_cases[] = {
  { "/wire/value/valid/small", "INT; INT; LIST 0 1", NULL, 0, NULL },
  { "/wire/value/valid/at-depth-limit", NULL, build_value_at_depth_limit, 0, NULL },
  { "/wire/value/hostile/empty", "", NULL, RTHUNK_ERROR_INVALID_REQUEST, "the value is empty" },
  { "/wire/value/hostile/forward-index", "LIST 1; INT", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/value/hostile/self-index", "LIST 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/value/hostile/negative-index", "INT; LIST -2147483648", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/value/hostile/node-used-twice", "STR; LIST 0 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "used twice" },
  { "/wire/value/hostile/unreachable-node", "INT; LIST", NULL, RTHUNK_ERROR_INVALID_REQUEST, "not part of the tree" },
  { "/wire/value/hostile/scalar-with-items", "INT; BOOL 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "only a list or a record has items" },
  { "/wire/value/valid/record", NULL, build_value_record, 0, NULL },
  { "/wire/value/hostile/record-names-missing", NULL, build_value_record_no_names, RTHUNK_ERROR_INVALID_REQUEST, "one field name per field" },
  { "/wire/value/hostile/record-name-repeats", NULL, build_value_record_repeated, RTHUNK_ERROR_INVALID_REQUEST, "a field name repeats" },
  { "/wire/value/hostile/record-name-not-a-keyword", NULL, build_value_record_space, RTHUNK_ERROR_INVALID_REQUEST, "not a keyword name" },
  { "/wire/value/hostile/record-name-empty", NULL, build_value_record_empty_name, RTHUNK_ERROR_INVALID_REQUEST, "not a keyword name" },
  { "/wire/value/hostile/record-name-not-utf8", NULL, build_value_record_bad_name, RTHUNK_ERROR_INVALID_REQUEST, "not valid UTF-8" },
  { "/wire/value/hostile/kind-zero", "0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "cannot be received" },
  { "/wire/value/hostile/kind-unknown", "1000", NULL, RTHUNK_ERROR_INVALID_REQUEST, "cannot be received" },
  { "/wire/value/hostile/function", "FUNC", NULL, RTHUNK_ERROR_INVALID_REQUEST, "cannot be received" },
  { "/wire/value/hostile/thunk-reference", "THUNK; LIST 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, NULL },
  { "/wire/value/hostile/string-not-utf8", NULL, build_value_bad_utf8, RTHUNK_ERROR_INVALID_REQUEST, "not valid UTF-8" },
  { "/wire/value/hostile/text-missing", NULL, build_value_missing_text, RTHUNK_ERROR_INVALID_REQUEST, "text is missing" },
  { "/wire/value/hostile/one-too-deep", NULL, build_value_over_depth_limit, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
  { "/wire/value/hostile/deep-chain", NULL, build_value_deep, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
};

static void
test_hostile_value (gconstpointer data)
{
  const HostileValueCase *tc = data;
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  if (tc->nodes != NULL)
    value_add_nodes (wire, tc->nodes);
  if (tc->build != NULL)
    tc->build (wire);
  value = rthunk_wire_read_value (wire, &error);
  test_assert_outcome (value, error, tc->code, tc->fragment);
}

/* ---- types -------------------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *signature;
} TypeCase;

static const TypeCase type_cases[] = {
  { "/wire/type/roundtrip/int", "int" },
  { "/wire/type/roundtrip/basics", "(float bool str nil -> int)" },
  { "/wire/type/roundtrip/var", "a" },
  { "/wire/type/roundtrip/list", "[[str]]" },
  { "/wire/type/roundtrip/no-params", "(-> int)" },
  { "/wire/type/roundtrip/binary", "(int int -> int)" },
  { "/wire/type/roundtrip/num", "num a => (a a -> a)" },
  { "/wire/type/roundtrip/eq", "eq a => (a a -> bool)" },
  { "/wire/type/roundtrip/ord", "ord a => ([a] -> [a])" },
  { "/wire/type/roundtrip/map", "((a -> b) [a] -> [b])" },
  { "/wire/type/roundtrip/mixed-constraints", "num a, eq b => ((a -> b) [b] -> a)" },
  { "/wire/type/roundtrip/higher-order", "((a b -> a) a [b] -> a)" },
  { "/wire/type/roundtrip/record", "{age: int, name: str}" },
  { "/wire/type/roundtrip/record-empty", "{}" },
  { "/wire/type/roundtrip/record-open", "({age: a | b} -> a)" },
  { "/wire/type/roundtrip/maybe", "(str -> (maybe int))" },
  { "/wire/type/roundtrip/maybe-record", "[{age: (maybe int), name: str}]" },
  { "/wire/type/roundtrip/record-nested", "eq a => ([{p: {x: a}, q: {| b}}] -> {| c})" },
};

static void
test_type_roundtrip (gconstpointer data)
{
  const TypeCase *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_type_parse (tc->signature, &error);
  g_autoptr(RthunkWireTypeTerm) wire = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  g_autoptr(RthunkWireTypeTerm) copy = NULL;
  g_autoptr(RthunkType) back = NULL;
  g_autoptr(RthunkType) back_copy = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *printed_back = NULL;

  g_assert_no_error (error);
  rthunk_wire_fill_type (wire, type);
  back = rthunk_wire_read_type (wire, &error);
  g_assert_no_error (error);
  printed = rthunk_type_to_string (type);
  printed_back = rthunk_type_to_string (back);
  g_assert_cmpstr (printed_back, ==, printed);
  g_assert_cmpstr (printed, ==, tc->signature);
  g_assert_true (rthunk_type_equal (type, back));
  copy = through_binary (wire, RTHUNK_WIRE_TYPE_TYPE_TERM);
  back_copy = rthunk_wire_read_type (copy, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_type_equal (type, back_copy));
}

/* What the checker infers travels too, and variables stay shared. */
static void
test_type_inferred (void)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GPtrArray) forms = test_read_ok ("(fn [f g] (fn [x] (f (g x))))");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  g_autoptr(RthunkWireTypeTerm) wire = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  g_autoptr(RthunkType) back = NULL;
  g_autofree char *printed = NULL;

  g_assert_no_error (error);
  rthunk_wire_fill_type (wire, type);
  back = rthunk_wire_read_type (wire, &error);
  g_assert_no_error (error);
  printed = rthunk_type_to_string (back);
  g_assert_cmpstr (printed, ==, "((a -> b) (c -> a) -> (c -> b))");
}

/* ---- types: hostile structures -------------------------------------------------------- */

static const char *const type_kinds[] = {
  [RTHUNK_WIRE_TYPE_KIND_VAR] = "VAR", [RTHUNK_WIRE_TYPE_KIND_INT] = "INT",
  [RTHUNK_WIRE_TYPE_KIND_FLOAT] = "FLOAT", [RTHUNK_WIRE_TYPE_KIND_BOOL] = "BOOL",
  [RTHUNK_WIRE_TYPE_KIND_STR] = "STR", [RTHUNK_WIRE_TYPE_KIND_NIL] = "NIL",
  [RTHUNK_WIRE_TYPE_KIND_LIST] = "LIST", [RTHUNK_WIRE_TYPE_KIND_FUNC] = "FUNC",
  [RTHUNK_WIRE_TYPE_KIND_RECORD] = "RECORD", [RTHUNK_WIRE_TYPE_KIND_MAYBE] = "MAYBE",
};

/* An AddNodeFunc: a variable is number 0. */
static gpointer
type_add (gpointer      wire,
          gint          kind,
          const gint32 *children,
          guint         n_children)
{
  RthunkWireTypeTerm *term = wire;
  RthunkWireTypeNode *node = g_object_new (RTHUNK_WIRE_TYPE_TYPE_NODE, NULL);

  node->kind = kind;
  g_array_append_vals (node->children, children, n_children);
  node->__isset_children = n_children > 0;
  if (kind == RTHUNK_WIRE_TYPE_KIND_VAR)
    {
      node->varId = 0;
      node->__isset_varId = TRUE;
    }
  g_ptr_array_add (term->nodes, node);
  return node;
}

/* add_nodes() for this tree. */
static RthunkWireTypeNode *
type_add_nodes (RthunkWireTypeTerm *wire,
                const char         *spec)
{
  return add_nodes (wire, wire->nodes, spec, type_kinds, G_N_ELEMENTS (type_kinds), type_add);
}

static void build_type_var_bad_class (RthunkWireTypeTerm *w)
{
  RthunkWireTypeNode *node = type_add_nodes (w, "VAR");

  node->constraint = (RthunkWireTypeClass) 7;
  node->__isset_constraint = TRUE;
}

static void build_type_var_negative_class (RthunkWireTypeTerm *w)
{
  RthunkWireTypeNode *node = type_add_nodes (w, "VAR");

  node->constraint = (RthunkWireTypeClass) -1;
  node->__isset_constraint = TRUE;
}

static void build_type_var_negative_id (RthunkWireTypeTerm *w)
{
  RthunkWireTypeNode *node = type_add_nodes (w, "VAR");

  node->varId = -3;
}

/* a record of two int fields named @a and @b (NULL: fewer names), its
 * last child of kind @last */
static void
build_type_record (RthunkWireTypeTerm *w,
                   const char         *a,
                   const char         *b,
                   RthunkWireTypeKind  last)
{
  static const gint32 fields[2] = { 0, 1 };
  RthunkWireTypeNode *node;

  type_add_nodes (w, "INT");
  type_add (w, last, NULL, 0);
  node = type_add (w, RTHUNK_WIRE_TYPE_KIND_RECORD, fields, 2);
  if (a != NULL)
    g_ptr_array_add (node->fieldNames, g_strdup (a));
  if (b != NULL)
    g_ptr_array_add (node->fieldNames, g_strdup (b));
  node->__isset_fieldNames = TRUE;
}

static void build_type_record_open (RthunkWireTypeTerm *w) { build_type_record (w, "a", NULL, RTHUNK_WIRE_TYPE_KIND_VAR); }
static void build_type_record_row_int (RthunkWireTypeTerm *w) { build_type_record (w, "a", NULL, RTHUNK_WIRE_TYPE_KIND_INT); }
static void build_type_record_no_names (RthunkWireTypeTerm *w) { build_type_record (w, NULL, NULL, RTHUNK_WIRE_TYPE_KIND_INT); }
static void build_type_record_repeated (RthunkWireTypeTerm *w) { build_type_record (w, "a", "a", RTHUNK_WIRE_TYPE_KIND_INT); }

static void
build_type_chain (RthunkWireTypeTerm *w,
                  guint               depth)
{
  type_add_nodes (w, "INT");
  for (guint k = 1; k <= depth; k++)
    {
      gint32 child = (gint32) k - 1;

      type_add (w, k % 2 ? RTHUNK_WIRE_TYPE_KIND_LIST : RTHUNK_WIRE_TYPE_KIND_FUNC, &child, 1);
    }
}

static void build_type_at_depth_limit (RthunkWireTypeTerm *w) { build_type_chain (w, 64); }
static void build_type_over_depth_limit (RthunkWireTypeTerm *w) { build_type_chain (w, 65); }
static void build_type_deep (RthunkWireTypeTerm *w) { build_type_chain (w, DEEP); }

typedef struct {
  const char *path;
  const char *nodes;         /* add_nodes(), then: */
  void      (*build) (RthunkWireTypeTerm *wire);
  int         code;          /* 0: accepted */
  const char *fragment;
} HostileTypeCase;

static const HostileTypeCase hostile_type_cases[] = {
  { "/wire/type/valid/shared-var", "VAR; LIST 0; VAR; FUNC 1 2", NULL, 0, NULL },
  { "/wire/type/valid/at-depth-limit", NULL, build_type_at_depth_limit, 0, NULL },
  { "/wire/type/hostile/empty", "", NULL, RTHUNK_ERROR_INVALID_REQUEST, "the type is empty" },
  { "/wire/type/hostile/forward-index", "LIST 1; INT", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/type/hostile/self-index", "LIST 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/type/hostile/negative-index", "INT; FUNC 0 -2", NULL, RTHUNK_ERROR_INVALID_REQUEST, "must name an earlier node" },
  { "/wire/type/hostile/node-used-twice", "INT; FUNC 0 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "used twice" },
  { "/wire/type/hostile/unreachable-node", "STR; INT", NULL, RTHUNK_ERROR_INVALID_REQUEST, "not part of the tree" },
  { "/wire/type/hostile/kind-zero", "0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "unknown type kind" },
  { "/wire/type/hostile/kind-unknown", "99", NULL, RTHUNK_ERROR_INVALID_REQUEST, "unknown type kind" },
  { "/wire/type/hostile/list-of-none", "LIST", NULL, RTHUNK_ERROR_INVALID_REQUEST, "a list type has one child" },
  { "/wire/type/hostile/list-of-two", "INT; INT; LIST 0 1", NULL, RTHUNK_ERROR_INVALID_REQUEST, "a list type has one child" },
  { "/wire/type/hostile/func-without-result", "FUNC", NULL, RTHUNK_ERROR_INVALID_REQUEST, "needs a result" },
  { "/wire/type/hostile/basic-with-children", "INT; BOOL 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "has no children" },
  { "/wire/type/hostile/var-with-children", "INT; VAR 0", NULL, RTHUNK_ERROR_INVALID_REQUEST, "malformed type variable" },
  { "/wire/type/hostile/var-bad-class", NULL, build_type_var_bad_class, RTHUNK_ERROR_INVALID_REQUEST, "malformed type variable" },
  { "/wire/type/hostile/var-negative-class", NULL, build_type_var_negative_class, RTHUNK_ERROR_INVALID_REQUEST, "malformed type variable" },
  { "/wire/type/hostile/var-negative-id", NULL, build_type_var_negative_id, RTHUNK_ERROR_INVALID_REQUEST, "malformed type variable" },
  { "/wire/type/hostile/one-too-deep", NULL, build_type_over_depth_limit, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
  { "/wire/type/hostile/deep-chain", NULL, build_type_deep, RTHUNK_ERROR_INVALID_REQUEST, "nests too deeply" },
  { "/wire/type/valid/record-open", NULL, build_type_record_open, 0, NULL },
  { "/wire/type/hostile/maybe-of-none", "MAYBE", NULL, RTHUNK_ERROR_INVALID_REQUEST, "a maybe type has one child" },
  { "/wire/type/hostile/record-row-not-var", NULL, build_type_record_row_int, RTHUNK_ERROR_INVALID_REQUEST, "row of a record type is a variable" },
  { "/wire/type/hostile/record-names-missing", NULL, build_type_record_no_names, RTHUNK_ERROR_INVALID_REQUEST, "one field name per field" },
  { "/wire/type/hostile/record-name-repeats", NULL, build_type_record_repeated, RTHUNK_ERROR_INVALID_REQUEST, "a field name repeats" },
};

static void
test_hostile_type (gconstpointer data)
{
  const HostileTypeCase *tc = data;
  g_autoptr(RthunkWireTypeTerm) wire = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;

  if (tc->nodes != NULL)
    type_add_nodes (wire, tc->nodes);
  if (tc->build != NULL)
    tc->build (wire);
  type = rthunk_wire_read_type (wire, &error);
  test_assert_outcome (type, error, tc->code, tc->fragment);
}

/* ---- odds and ends -------------------------------------------------------------------- */

static void
test_id_to_hex (void)
{
  static const guint8 bytes[] = { 0x00, 0x0f, 0xa0, 0xff };
  g_autoptr(GByteArray) id = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *none = rthunk_wire_id_to_hex (NULL);

  rthunk_wire_set_bytes (&id, bytes, sizeof bytes);
  rthunk_wire_set_bytes (&id, bytes, sizeof bytes);
  hex = rthunk_wire_id_to_hex (id);
  g_assert_cmpstr (hex, ==, "000fa0ff");
  g_assert_cmpstr (none, ==, "");
}

/* ---- Thrift's own classes ------------------------------------------------------ */

static void
count_destroyed (gpointer data)
{
  (*(guint *) data)++;
}

/* Thrift 0.17's finalizers of ThriftApplicationException (every T_EXCEPTION
 * reply a client reads, every unknown method a server answers) and of
 * ThriftMemoryBuffer do not chain up, so GObject's finalize, which frees
 * an object's data, never ran: the wire set-up chains them up, and an
 * object's data is freed exactly once. */
static void
test_thrift_finalize_chained (gconstpointer data)
{
  GType type = *(const GType *) data;
  GObject *object = g_object_new (type, NULL);
  guint destroyed = 0;

  g_object_set_data_full (object, "test", &destroyed, count_destroyed);
  g_object_unref (object);
  g_assert_cmpuint (destroyed, ==, 1);
}

/* ---- main ------------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  static GType thrift_types[2];

  g_test_init (&argc, &argv, NULL);
  rthunk_wire_ensure_types ();

  TEST_ADD_TABLE (ast_cases, test_ast_roundtrip);
  g_test_add_func ("/wire/ast/types", test_ast_with_types);
  g_test_add_func ("/wire/ast/reader-depth", test_ast_reader_depth);
  g_test_add_func ("/wire/ast/source-fallback", test_ast_source_fallback);
  g_test_add_func ("/wire/ast/source-names-bounded", test_ast_source_names_bounded);
  TEST_ADD_TABLE (hostile_ast_cases, test_hostile_ast);

  TEST_ADD_TABLE (value_cases, test_value_roundtrip);
  g_test_add_func ("/wire/value/roundtrip/at-depth-limit", test_value_at_depth_limit);
  g_test_add_func ("/wire/value/send/too-deep", test_value_too_deep_to_send);
  g_test_add_func ("/wire/value/send/pending-refused", test_value_pending_refused);
  g_test_add_func ("/wire/value/send/function-not-received", test_value_function_not_received);
  TEST_ADD_TABLE (hostile_value_cases, test_hostile_value);

  TEST_ADD_TABLE (type_cases, test_type_roundtrip);
  g_test_add_func ("/wire/type/inferred", test_type_inferred);
  TEST_ADD_TABLE (hostile_type_cases, test_hostile_type);

  g_test_add_func ("/wire/id/to-hex", test_id_to_hex);

  thrift_types[0] = THRIFT_TYPE_APPLICATION_EXCEPTION;
  thrift_types[1] = THRIFT_TYPE_MEMORY_BUFFER;
  g_test_add_data_func ("/wire/thrift/finalize-chained/application-exception",
                        &thrift_types[0], test_thrift_finalize_chained);
  g_test_add_data_func ("/wire/thrift/finalize-chained/memory-buffer",
                        &thrift_types[1], test_thrift_finalize_chained);

  return g_test_run ();
}
