/* test-codec.c — the codec (src/wire/rthunk-codec.c) against the generated
 * Thrift code it stands in for: the same bytes written, the same trees
 * and errors read, and hostile bytes refused without a crash */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include <glib.h>

#include "codecutil.h"
#include "testutil.h"
#include "testtable.h"

#define SOURCE TEST_SOURCE

/* ---- helpers ------------------------------------------------------------------ */

static void
assert_same_bytes (const GByteArray *codec,
                   const GByteArray *generated)
{
  g_assert_cmpmem (codec->data, codec->len, generated->data, generated->len);
}

static RthunkValue *value_of_node (RthunkNode *node);

/* A record literal, (record :k v …) as read, as a value. */
static RthunkValue *
record_of_node (RthunkNode *node)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 1; k + 1 < rthunk_node_get_n_items (node); k += 2)
    {
      g_ptr_array_add (names, (gpointer) rthunk_node_get_text (rthunk_node_get_item (node, k)));
      g_ptr_array_add (values, value_of_node (rthunk_node_get_item (node, k + 1)));
    }
  return rthunk_value_new_record ((const char *const *) names->pdata, (RthunkValue **) values->pdata,
                                  values->len);
}

/* A literal node (int, float, str, bool, nil, vector, record) as a value. */
static RthunkValue *
value_of_node (RthunkNode *node)
{
  g_autoptr(GPtrArray) items = NULL;

  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_LIST:
      return record_of_node (node);
    case RTHUNK_NODE_INT:
      return rthunk_value_new_int (rthunk_node_get_int (node));
    case RTHUNK_NODE_FLOAT:
      return rthunk_value_new_float (rthunk_node_get_float (node));
    case RTHUNK_NODE_STR:
      return rthunk_value_new_str (rthunk_node_get_text (node));
    case RTHUNK_NODE_BOOL:
      return rthunk_value_new_bool (rthunk_node_get_bool (node));
    case RTHUNK_NODE_VECTOR:
      items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        g_ptr_array_add (items, value_of_node (rthunk_node_get_item (node, k)));
      return rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);
    case RTHUNK_NODE_NIL:
    default:
      return rthunk_value_new_nil ();
    }
}

/* inf, -inf, nan and -0.0, which no literal reads as */
static RthunkNode *
special_floats_node (void)
{
  const double f[] = { INFINITY, -INFINITY, NAN, -0.0, 0.0, 5e-324 };
  RthunkNode *items[G_N_ELEMENTS (f)];
  RthunkNode *vector;

  for (guint k = 0; k < G_N_ELEMENTS (f); k++)
    items[k] = rthunk_node_set_position (rthunk_node_new_float (f[k]), SOURCE, 1, 2 + k);
  vector = rthunk_node_set_position (rthunk_node_new_seq (RTHUNK_NODE_VECTOR, items, G_N_ELEMENTS (f)),
                                     SOURCE, 1, 1);
  for (guint k = 0; k < G_N_ELEMENTS (f); k++)
    rthunk_node_unref (items[k]);
  return vector;
}

/* A function type of @n int parameters returning a. */
static RthunkType *
wide_func_type (guint n)
{
  g_autoptr(GString) text = g_string_new ("num a => (");

  for (guint k = 0; k < n; k++)
    g_string_append (text, k % 3 == 2 ? "a " : "int ");
  g_string_append (text, "-> a)");
  return rthunk_type_parse (text->str, NULL);
}

/* ---- ASTs: the generated writer's bytes, both readers' trees ------------------ */

typedef enum
{
  TYPES_NONE,
  TYPES_CHECKER,     /* what the checker inferred for each node */
  TYPES_CYCLE,       /* signatures handed out in turn, repeats included */
} TypesFrom;

typedef struct
{
  const char *path;
  const char *text;  /* NULL: special_floats_node () */
  TypesFrom types;
} AstCase;

static const AstCase ast_cases[] = {
  { "/codec/ast/int", "42", TYPES_NONE },
  { "/codec/ast/int-min", "-9223372036854775808", TYPES_NONE },
  { "/codec/ast/int-max", "9223372036854775807", TYPES_CHECKER },
  { "/codec/ast/negative", "[-1 -0 0 1]", TYPES_NONE },
  { "/codec/ast/floats", "[-0.0 1e300 2.2250738585072014e-308 -2.5e-3]", TYPES_CHECKER },
  { "/codec/ast/special-floats", NULL, TYPES_NONE },
  { "/codec/ast/string", "\"a\\nb\\t\\\\ \\\"q\\\" \\u{1F600} h\xc3\xa9\"", TYPES_NONE },
  { "/codec/ast/empty-string", "\"\"", TYPES_CHECKER },
  { "/codec/ast/symbol", "(\xce\xbb my-name? x*)", TYPES_NONE },
  { "/codec/ast/keyword", "[:on :off]", TYPES_NONE },
  { "/codec/ast/bools-nil", "[true false nil]", TYPES_CYCLE },
  { "/codec/ast/vectors", "[1 [2 [3 []]] ()]", TYPES_NONE },
  { "/codec/ast/wide-list", "(f 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20)", TYPES_CYCLE },
  { "/codec/ast/wide-vector", "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17]", TYPES_CHECKER },
  { "/codec/ast/exactly-16", "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16]", TYPES_CHECKER },
  { "/codec/ast/call", "(+ 1 (* 4 2))", TYPES_CHECKER },
  { "/codec/ast/let-poly", "(let [id (fn [x] x)] [(id 1) (id 2)])", TYPES_CHECKER },
  { "/codec/ast/compose", "(fn [f g] (fn [x] (f (g x))))", TYPES_CHECKER },
  { "/codec/ast/map", "(map (fn [x] (* x 2)) [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18])", TYPES_CHECKER },
  { "/codec/ast/defn", "(defn fib [n]\n  (if (< n 2)\n      n\n      (+ (fib (- n 1)) (fib (- n 2)))))", TYPES_CYCLE },
  { "/codec/ast/mixed", "(remote :on \"alpha\" (let [x [1.5 2.5]] [x x nil true \"s\"]))", TYPES_CYCLE },
};

static const char *const cycle_signatures[] = {
  "int", "num a => (a a -> a)", "[str]", "int", "((a -> b) [a] -> [b])",
  "eq a, ord b => (a b -> bool)", "[str]", "(-> nil)", "[[float]]",
};

static void
add_cycle_types (GHashTable *node_types,
                 RthunkNode *node,
                 guint      *turn)
{
  const char *signature = cycle_signatures[(*turn)++ % G_N_ELEMENTS (cycle_signatures)];

  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    add_cycle_types (node_types, rthunk_node_get_item (node, k), turn);
  if (*turn % 5 == 0)
    g_hash_table_insert (node_types, node, wide_func_type (20));
  else
    g_hash_table_insert (node_types, node, rthunk_type_parse (signature, NULL));
}

static GHashTable *
node_types_for (RthunkNode *root,
                TypesFrom   from)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;
  GHashTable *node_types = NULL;
  guint turn = 0;

  if (from == TYPES_CHECKER)
    {
      type = rthunk_checker_check_typed (checker, root, &node_types, &error);
      g_assert_no_error (error);
      g_assert_nonnull (node_types);
    }
  else if (from == TYPES_CYCLE)
    {
      node_types = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);
      add_cycle_types (node_types, root, &turn);
    }
  return node_types;
}

static void
assert_ast_agrees (RthunkNode *root,
                   GHashTable *node_types)
{
  g_autoptr(RthunkWireAst) wire = g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
  g_autoptr(GByteArray) generated = NULL;
  g_autoptr(GByteArray) codec = g_byte_array_new ();
  g_autoptr(RthunkNode) back = NULL;
  g_autoptr(GError) error = NULL;
  guint n = count_nodes (root);

  rthunk_wire_fill_ast (wire, root, node_types);
  if (node_types != NULL)
    g_assert_cmpuint (wire->types->len, >, 0);
  generated = generated_bytes (wire);
  rthunk_codec_put_ast (codec, root, node_types);
  assert_same_bytes (codec, generated);
  g_assert_cmpint (codec_check (CODEC_TREE_AST, codec->data, codec->len, n, NULL), ==, CODEC_AGREED_TREE);
  back = generated_read (CODEC_TREE_AST, codec->data, codec->len, n, &error);
  g_assert_no_error (error);
  assert_same_node (root, back);
  /* one node over the limit */
  g_assert_cmpint (codec_check (CODEC_TREE_AST, codec->data, codec->len, n - 1, &error), ==, CODEC_AGREED_ERROR);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED);
}

static void
test_ast (gconstpointer data)
{
  const AstCase *tc = data;
  g_autoptr(RthunkNode) root = tc->text != NULL ? test_parse_one (tc->text) : special_floats_node ();
  g_autoptr(GHashTable) node_types = node_types_for (root, tc->types);

  assert_ast_agrees (root, NULL);
  if (node_types != NULL)
    assert_ast_agrees (root, node_types);
}

/* The deepest text the reader accepts. */
static void
test_ast_deep (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(RthunkNode) root = NULL;

  for (guint k = 0; k < RTHUNK_NODE_MAX_DEPTH; k++)
    g_string_append_c (text, k % 2 ? '[' : '(');
  g_string_append_c (text, '1');
  for (guint k = RTHUNK_NODE_MAX_DEPTH; k > 0; k--)
    g_string_append_c (text, (k - 1) % 2 ? ']' : ')');
  root = test_parse_one (text->str);
  assert_ast_agrees (root, NULL);
}

/* ---- values ------------------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *literal;   /* read, then made a value; NULL: built by hand */
} ValueCase;

static const ValueCase value_cases[] = {
  { "/codec/value/nil", "nil" },
  { "/codec/value/bools", "[true false]" },
  { "/codec/value/int-min", "-9223372036854775808" },
  { "/codec/value/int-max", "9223372036854775807" },
  { "/codec/value/floats", "[-0.0 1e300 2.2250738585072014e-308 0.1]" },
  { "/codec/value/string", "\"tab\\tnewline\\n \\u{1F600} h\xc3\xa9 \\\\\"" },
  { "/codec/value/empty", "[\"\" []]" },
  { "/codec/value/nested", "[[[1 2]] [] [[3] [4]] [[[[[[nil]]]]]]]" },
  { "/codec/value/record", "{:name \"ada\" :age 36 :score 1.5 :ok true :none nil}" },
  { "/codec/value/record-empty", "{}" },
  { "/codec/value/record-nested", "[{:p {:x [1 2] :y {}} :q \"h\xc3\xa9\"} {:p {:x [] :y {}} :q \"\"}]" },
  { "/codec/value/wide", "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17]]" },
};

static GByteArray *
generated_value_bytes (RthunkValue *value)
{
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_wire_fill_value_within (wire, value, G_MAXSIZE, &error));
  return generated_bytes (wire);
}

/* The same bytes, and the codec reads them as the generated code does:
 * a tree, or for a function the same refusal. */
static void
assert_value_agrees (RthunkValue  *value,
                     CodecOutcome  expected)
{
  g_autoptr(GByteArray) generated = generated_value_bytes (value);
  g_autoptr(GByteArray) codec = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) back = NULL;

  g_assert_true (rthunk_codec_put_value (codec, value, G_MAXSIZE, &error));
  g_assert_no_error (error);
  assert_same_bytes (codec, generated);
  g_assert_cmpint (codec_check (CODEC_TREE_VALUE, codec->data, codec->len, 0, NULL), ==, expected);
  if (expected != CODEC_AGREED_TREE)
    return;
  back = generated_read (CODEC_TREE_VALUE, codec->data, codec->len, 0, &error);
  g_assert_no_error (error);
  assert_same_value (value, back);
}

static void
test_value (gconstpointer data)
{
  const ValueCase *tc = data;
  g_autoptr(RthunkNode) node = test_parse_one (tc->literal);
  g_autoptr(RthunkValue) value = value_of_node (node);

  assert_value_agrees (value, CODEC_AGREED_TREE);
}

static void
test_value_special_floats (void)
{
  g_autoptr(RthunkNode) node = special_floats_node ();
  g_autoptr(RthunkValue) value = value_of_node (node);

  assert_value_agrees (value, CODEC_AGREED_TREE);
}

static void
test_value_at_depth_limit (void)
{
  g_autoptr(RthunkValue) value = nested_value (RTHUNK_WIRE_MAX_VALUE_DEPTH);

  assert_value_agrees (value, CODEC_AGREED_TREE);
}

/* A function travels (for printing), the same bytes; it is never received. */
static void
test_value_function (void)
{
  g_autoptr(RthunkValue) func = rthunk_value_new_func ("inc", NULL, NULL);
  g_autoptr(RthunkValue) one = rthunk_value_new_int (1);
  RthunkValue *items[2] = { one, func };
  g_autoptr(RthunkValue) list = rthunk_value_new_list (items, 2);

  assert_value_agrees (func, CODEC_AGREED_ERROR);
  assert_value_agrees (list, CODEC_AGREED_ERROR);
}

/* ---- values: what may not be sent ---------------------------------------------- */

static RthunkValue *
force_nothing (gpointer   handle,
               GError   **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "never forced here");
  return NULL;
}

/* The codec refuses as rthunk_wire_fill_value_within() does, and leaves
 * what @out held. */
static void
assert_put_value_refused (RthunkValue *value,
                          gsize        max_bytes,
                          int          code)
{
  g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) wire_error = NULL;

  g_byte_array_append (out, (const guint8 *) "keep", 4);
  g_assert_false (rthunk_codec_put_value (out, value, max_bytes, &error));
  g_assert_error (error, RTHUNK_ERROR, code);
  g_assert_cmpmem (out->data, out->len, "keep", 4);
  g_assert_false (rthunk_wire_fill_value_within (wire, value, max_bytes, &wire_error));
  g_assert_error (wire_error, RTHUNK_ERROR, code);
  g_assert_cmpstr (error->message, ==, wire_error->message);
}

static void
test_value_too_large (void)
{
  g_autoptr(RthunkNode) node = test_parse_one ("[1 \"a string of some length\" [2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18]]");
  g_autoptr(RthunkValue) value = value_of_node (node);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize enough = 0;

  /* the smallest budget the generated filler accepts, the codec too */
  for (gsize budget = 0; enough == 0; budget++)
    {
      g_autoptr(RthunkWireValue) wire = g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);

      if (rthunk_wire_fill_value_within (wire, value, budget, NULL))
        enough = budget;
    }
  g_assert_true (rthunk_codec_put_value (out, value, enough, NULL));
  assert_put_value_refused (value, enough - 1, RTHUNK_ERROR_VALUE_TOO_LARGE);
  assert_put_value_refused (value, 0, RTHUNK_ERROR_VALUE_TOO_LARGE);
}

static void
test_value_too_deep_to_send (void)
{
  g_autoptr(RthunkValue) value = nested_value (RTHUNK_WIRE_MAX_VALUE_DEPTH + 1);

  assert_put_value_refused (value, G_MAXSIZE, RTHUNK_ERROR_LIMIT_EXCEEDED);
}

static void
test_value_pending (void)
{
  g_autoptr(RthunkValue) pending = rthunk_value_new_pending ("#1 @x", NULL, force_nothing, NULL);
  g_autoptr(RthunkValue) one = rthunk_value_new_int (1);
  RthunkValue *items[2] = { one, pending };
  g_autoptr(RthunkValue) list = rthunk_value_new_list (items, 2);

  assert_put_value_refused (pending, G_MAXSIZE, RTHUNK_ERROR_INVALID_REQUEST);
  assert_put_value_refused (list, G_MAXSIZE, RTHUNK_ERROR_INVALID_REQUEST);
}

/* ---- types -------------------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *signature;   /* NULL: wide_func_type (20) */
} TypeCase;

static const TypeCase type_cases[] = {
  { "/codec/type/int", "int" },
  { "/codec/type/basics", "(float bool str nil -> int)" },
  { "/codec/type/var", "a" },
  { "/codec/type/list", "[[str]]" },
  { "/codec/type/no-params", "(-> int)" },
  { "/codec/type/classes", "num a, eq b => ((a -> b) [b] -> a)" },
  { "/codec/type/ord", "ord a => ([a] -> [a])" },
  { "/codec/type/shared-vars", "((a b -> a) a [b] -> (c -> [c]))" },
  { "/codec/type/record", "{age: int, name: str}" },
  { "/codec/type/record-empty", "{}" },
  { "/codec/type/maybe", "((maybe a) a -> a)" },
  { "/codec/type/maybe-record", "[{age: (maybe int), name: str}]" },
  { "/codec/type/record-open", "num b => ({age: a, n: b | r} -> [{x: {| s}}])" },
  { "/codec/type/wide-func", NULL },
};

static void
test_type (gconstpointer data)
{
  const TypeCase *tc = data;
  g_autoptr(RthunkType) type = tc->signature != NULL ? rthunk_type_parse (tc->signature, NULL)
                                                    : wide_func_type (20);
  g_autoptr(RthunkWireTypeTerm) wire = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  g_autoptr(GByteArray) generated = NULL;
  g_autoptr(GByteArray) codec = g_byte_array_new ();
  g_autoptr(RthunkType) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *printed_back = NULL;

  g_assert_nonnull (type);
  rthunk_wire_fill_type (wire, type);
  generated = generated_bytes (wire);
  rthunk_codec_put_type (codec, type);
  assert_same_bytes (codec, generated);
  g_assert_cmpint (codec_check (CODEC_TREE_TYPE, codec->data, codec->len, 0, NULL), ==, CODEC_AGREED_TREE);
  back = codec_read (CODEC_TREE_TYPE, codec->data, codec->len, 0, NULL, &error);
  g_assert_no_error (error);
  printed = rthunk_type_to_string (type);
  printed_back = rthunk_type_to_string (back);
  g_assert_cmpstr (printed_back, ==, printed);
  g_assert_true (rthunk_type_equal (type, back));
}

/* ---- hostile bytes: built by hand ------------------------------------------------ */

#define NO_KIND G_MININT32   /* a node without its required kind */
#define DUP     (-100)       /* children again, in a second field */
#define INT_WITHOUT_VALUE 1001 /* an AST int node whose intValue is missing */

/* One node: a kind, a text (AST and value nodes; "" stands for one NUL
 * byte), children. */
typedef struct
{
  gint32 kind;
  const char *text;
  guint n;
  gint32 children[4];
  const char *names[3];      /* a record's fieldNames, NULL-terminated;
                              * "" is a NUL byte */
} Spec;

static void
put_spec_node (GByteArray *out,
               CodecTree   tree,
               const Spec *spec)
{
  gint16 children_id = tree == CODEC_TREE_TYPE ? 4 : 6;
  guint n = spec->n;

  if (spec->kind != NO_KIND)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
      rthunk_codec_put_i32 (out, spec->kind == INT_WITHOUT_VALUE ? 1 : spec->kind);
    }
  /* an AST literal carries its value: 0, 0.0 or false */
  if (tree == CODEC_TREE_AST && spec->kind == 1)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_I64, 2);
      rthunk_codec_put_i64 (out, 0);
    }
  else if (tree == CODEC_TREE_AST && spec->kind == 2)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_DOUBLE, 3);
      rthunk_codec_put_double (out, 0.0);
    }
  else if (tree == CODEC_TREE_AST && spec->kind == 4)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_BOOL, 4);
      rthunk_codec_put_u8 (out, 0);
    }
  if (spec->text != NULL)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 5);
      rthunk_codec_put_binary (out, spec->text, strlen (spec->text) + (spec->text[0] == '\0'));
    }
  if (spec->names[0] != NULL)
    {
      guint n_names = 0;

      while (n_names < G_N_ELEMENTS (spec->names) && spec->names[n_names] != NULL)
        n_names++;
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, tree == CODEC_TREE_TYPE ? 5 : 9);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRING, n_names);
      for (guint k = 0; k < n_names; k++)
        rthunk_codec_put_binary (out, spec->names[k], strlen (spec->names[k]) + (spec->names[k][0] == '\0'));
    }
  for (guint from = 0; from < n; )
    {
      guint to = from;

      while (to < n && spec->children[to] != DUP)
        to++;
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, children_id);
      rthunk_codec_put_list (out, RTHUNK_CODEC_I32, to - from);
      for (guint k = from; k < to; k++)
        rthunk_codec_put_i32 (out, spec->children[k]);
      from = to + 1;
    }
  rthunk_codec_put_stop (out);
}

static GByteArray *
spec_bytes (CodecTree   tree,
            const Spec *specs,
            guint       n)
{
  GByteArray *out = g_byte_array_new ();

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, n);
  for (guint k = 0; k < n; k++)
    put_spec_node (out, tree, &specs[k]);
  rthunk_codec_put_stop (out);
  return out;
}

/* A chain of @depth lists over one leaf. */
static GByteArray *
chain_bytes (CodecTree tree,
             guint     depth)
{
  /* leaf and list kinds of an AST, a value, a type */
  static const gint32 leaf[] = { 1, 3, 2 }, list[] = { 8, 6, 7 };
  g_autofree Spec *specs = g_new0 (Spec, depth + 1);

  specs[0].kind = leaf[tree];
  for (guint k = 1; k <= depth; k++)
    {
      specs[k].kind = list[tree];
      specs[k].n = 1;
      specs[k].children[0] = (gint32) k - 1;
    }
  return spec_bytes (tree, specs, depth + 1);
}

typedef struct
{
  const char *path;
  CodecTree tree;
  Spec nodes[5];
  guint n;
  guint max_nodes;
  CodecOutcome outcome;
  int code;                /* of CODEC_AGREED_ERROR */
  const char *message;     /* the codec's, which is the generated code's;
                            * for CODEC_FELL_BACK, the generated code's */
} SpecCase;

#define A CODEC_TREE_AST
#define V CODEC_TREE_VALUE
#define T CODEC_TREE_TYPE
#define INVALID RTHUNK_ERROR_INVALID_REQUEST
#define LIMIT RTHUNK_ERROR_LIMIT_EXCEEDED

static const SpecCase spec_cases[] = {
  { "/codec/hostile/ast/valid", A, { { 6, "f" }, { 1 }, { 8, NULL, 2, { 0, 1 } } }, 3, 10, CODEC_AGREED_TREE },
  { "/codec/hostile/ast/empty", A, { { 0 } }, 0, 10, CODEC_AGREED_ERROR, INVALID, "invalid AST: node 0: the AST is empty" },
  { "/codec/hostile/ast/forward-index", A, { { 8, NULL, 1, { 1 } }, { 1 } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 0: a child index must name an earlier node" },
  { "/codec/hostile/ast/self-index", A, { { 1 }, { 8, NULL, 2, { 0, 1 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: a child index must name an earlier node" },
  { "/codec/hostile/ast/negative-index", A, { { 1 }, { 8, NULL, 2, { 0, -1 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: a child index must name an earlier node" },
  { "/codec/hostile/ast/huge-index", A, { { 1 }, { 8, NULL, 1, { G_MAXINT32 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: a child index must name an earlier node" },
  { "/codec/hostile/ast/used-twice", A, { { 1 }, { 9, NULL, 2, { 0, 0 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: a node is used twice" },
  { "/codec/hostile/ast/two-parents", A, { { 1 }, { 9, NULL, 1, { 0 } }, { 8, NULL, 2, { 0, 1 } } }, 3, 10,
    CODEC_AGREED_ERROR, INVALID, "invalid AST: node 2: a node is used twice" },
  { "/codec/hostile/ast/not-used", A, { { 1 }, { 1 }, { 8, NULL, 1, { 1 } } }, 3, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 0: the node is not part of the tree" },
  { "/codec/hostile/ast/atom-with-children", A, { { 6, "f" }, { 1, NULL, 1, { 0 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: only a list or a vector has children" },
  { "/codec/hostile/ast/int-without-value", A, { { INT_WITHOUT_VALUE } }, 1, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 0: the literal has no value" },
  { "/codec/hostile/ast/kind-zero", A, { { 0 } }, 1, 10, CODEC_AGREED_ERROR, INVALID, "invalid AST: node 0: unknown node kind" },
  /* rthunk_wire_read_ast() looks at the children before the kind */
  { "/codec/hostile/ast/unknown-kind-with-child", A, { { 1 }, { 99, NULL, 1, { 0 } } }, 2, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 1: only a list or a vector has children" },
  { "/codec/hostile/ast/not-utf8", A, { { 6, "ab\xff" } }, 1, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 0: text is not valid UTF-8" },
  { "/codec/hostile/ast/overlong-utf8", A, { { 3, "\xc0\xaf" } }, 1, 10, CODEC_AGREED_ERROR, INVALID,
    "invalid AST: node 0: text is not valid UTF-8" },
  /* the generated code refuses text with a NUL: the codec leaves it that */
  { "/codec/hostile/ast/nul-in-text", A, { { 3, "" } }, 1, 10, CODEC_FELL_BACK, 0,
    "the string ast_node.text holds a NUL byte" },
  { "/codec/hostile/ast/text-missing", A, { { 7 } }, 1, 10, CODEC_AGREED_ERROR, INVALID, "invalid AST: node 0: text is missing" },
  { "/codec/hostile/ast/too-many-nodes", A, { { 1 }, { 1 }, { 9, NULL, 2, { 0, 1 } } }, 3, 2, CODEC_AGREED_ERROR, LIMIT,
    "the AST has 3 nodes, more than the limit of 2" },
  /* too many, and broken too: the limit comes first, as in rthunk_wire_read_ast() */
  { "/codec/hostile/ast/too-many-and-forward", A, { { 8, NULL, 1, { 2 } }, { 1 }, { 1 } }, 3, 2, CODEC_AGREED_ERROR, LIMIT,
    "the AST has 3 nodes, more than the limit of 2" },
  { "/codec/hostile/ast/kind-missing", A, { { 1 }, { NO_KIND } }, 2, 10, CODEC_FELL_BACK },
  /* a refused tree is not reported for bytes the generated code cannot decode */
  { "/codec/hostile/ast/forward-then-kind-missing", A, { { 8, NULL, 1, { 1 } }, { NO_KIND } }, 2, 10, CODEC_FELL_BACK },
  { "/codec/hostile/ast/too-many-then-kind-missing", A, { { 1 }, { 1 }, { NO_KIND } }, 3, 2, CODEC_FELL_BACK },
  /* a repeated field of children adds to the first, as in the generated code */
  { "/codec/hostile/ast/children-twice", A, { { 1 }, { 1 }, { 8, NULL, 3, { 0, DUP, 1 } } }, 3, 10, CODEC_AGREED_TREE },
  { "/codec/hostile/ast/children-twice-used-twice", A, { { 1 }, { 8, NULL, 3, { 0, DUP, 0 } } }, 2, 10, CODEC_AGREED_ERROR,
    INVALID, "invalid AST: node 1: a node is used twice" },

  { "/codec/hostile/value/valid", V, { { 3 }, { 5, "s" }, { 6, NULL, 2, { 0, 1 } } }, 3, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/value/empty", V, { { 0 } }, 0, 0, CODEC_AGREED_ERROR, INVALID, "invalid value: node 0: the value is empty" },
  { "/codec/hostile/value/forward-index", V, { { 6, NULL, 1, { 1 } }, { 3 } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: a child index must name an earlier node" },
  { "/codec/hostile/value/used-twice", V, { { 3 }, { 6, NULL, 2, { 0, 0 } } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 1: a node is used twice" },
  { "/codec/hostile/value/not-used", V, { { 3 }, { 3 } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: the node is not part of the tree" },
  { "/codec/hostile/value/scalar-with-items", V, { { 3 }, { 3, NULL, 1, { 0 } } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 1: only a list or a record has items" },
  { "/codec/hostile/value/kind-zero", V, { { 0 } }, 1, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: this kind of value cannot be received" },
  { "/codec/hostile/value/function", V, { { 7, "inc" } }, 1, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: this kind of value cannot be received" },
  { "/codec/hostile/value/thunk", V, { { 8 } }, 1, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: this kind of value cannot be received" },
  { "/codec/hostile/value/not-utf8", V, { { 5, "\xed\xa0\x80" } }, 1, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid value: node 0: text is not valid UTF-8" },
  /* the generated code refuses text with a NUL: the codec leaves it that */
  { "/codec/hostile/value/nul-in-text", V, { { 5, "" } }, 1, 0, CODEC_FELL_BACK, 0,
    "the string value_node.text holds a NUL byte" },
  { "/codec/hostile/value/text-missing", V, { { 5 } }, 1, 0, CODEC_AGREED_ERROR, INVALID, "invalid value: node 0: text is missing" },
  { "/codec/hostile/value/kind-missing", V, { { NO_KIND } }, 1, 0, CODEC_FELL_BACK },
  { "/codec/hostile/value/record", V, { { 3 }, { 5, "s" }, { 9, NULL, 2, { 0, 1 }, { "b", "a" } } }, 3, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/value/record-names-missing", V, { { 3 }, { 3 }, { 9, NULL, 2, { 0, 1 }, { "a" } } }, 3, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid value: node 2: a record has one field name per field" },
  { "/codec/hostile/value/record-name-repeats", V, { { 3 }, { 3 }, { 9, NULL, 2, { 0, 1 }, { "a", "a" } } }, 3, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid value: node 2: a field name repeats or is not a keyword name" },
  { "/codec/hostile/value/record-name-not-keyword", V, { { 3 }, { 9, NULL, 1, { 0 }, { "a b" } } }, 2, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid value: node 1: a field name repeats or is not a keyword name" },
  { "/codec/hostile/value/record-name-not-utf8", V, { { 3 }, { 9, NULL, 1, { 0 }, { "\xff" } } }, 2, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid value: node 1: text is not valid UTF-8" },
  { "/codec/hostile/value/record-name-nul", V, { { 3 }, { 9, NULL, 1, { 0 }, { "" } } }, 2, 0, CODEC_FELL_BACK },
  { "/codec/hostile/value/items-twice", V, { { 3 }, { 3 }, { 6, NULL, 3, { 0, DUP, 1 } } }, 3, 0, CODEC_AGREED_TREE },

  { "/codec/hostile/type/shared-var", T, { { 1 }, { 7, NULL, 1, { 0 } }, { 1 }, { 8, NULL, 2, { 1, 2 } } }, 4, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/type/empty", T, { { 0 } }, 0, 0, CODEC_AGREED_ERROR, INVALID, "invalid type: node 0: the type is empty" },
  { "/codec/hostile/type/kind-unknown", T, { { 99 } }, 1, 0, CODEC_AGREED_ERROR, INVALID, "invalid type: node 0: unknown type kind" },
  { "/codec/hostile/type/maybe-of-none", T, { { 10 } }, 1, 0, CODEC_AGREED_ERROR, INVALID, "invalid type: node 0: a maybe type has one child" },
  { "/codec/hostile/type/maybe-of-two", T, { { 2 }, { 2 }, { 10, NULL, 2, { 0, 1 } } }, 3, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 2: a maybe type has one child" },
  { "/codec/hostile/type/list-of-none", T, { { 7 } }, 1, 0, CODEC_AGREED_ERROR, INVALID, "invalid type: node 0: a list type has one child" },
  { "/codec/hostile/type/list-of-two", T, { { 2 }, { 2 }, { 7, NULL, 2, { 0, 1 } } }, 3, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 2: a list type has one child" },
  { "/codec/hostile/type/func-without-result", T, { { 8 } }, 1, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 0: a function type needs a result" },
  { "/codec/hostile/type/basic-with-children", T, { { 2 }, { 4, NULL, 1, { 0 } } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 1: a basic type has no children" },
  { "/codec/hostile/type/var-with-children", T, { { 2 }, { 1, NULL, 1, { 0 } } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 1: malformed type variable" },
  { "/codec/hostile/type/forward-index", T, { { 7, NULL, 1, { 1 } }, { 2 } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 0: a child index must name an earlier node" },
  { "/codec/hostile/type/not-used", T, { { 5 }, { 2 } }, 2, 0, CODEC_AGREED_ERROR, INVALID,
    "invalid type: node 0: the node is not part of the tree" },
  { "/codec/hostile/type/kind-missing", T, { { NO_KIND } }, 1, 0, CODEC_FELL_BACK },
  { "/codec/hostile/type/record", T, { { 2 }, { 5 }, { 9, NULL, 2, { 0, 1 }, { "a", "b" } } }, 3, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/type/record-open", T, { { 2 }, { 1 }, { 9, NULL, 2, { 0, 1 }, { "a" } } }, 3, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/type/record-row-not-var", T, { { 2 }, { 2 }, { 9, NULL, 2, { 0, 1 }, { "a" } } }, 3, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid type: node 2: the row of a record type is a variable" },
  { "/codec/hostile/type/record-names-missing", T, { { 2 }, { 2 }, { 2 }, { 9, NULL, 3, { 0, 1, 2 }, { "a" } } }, 4, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid type: node 3: a record has one field name per field" },
  { "/codec/hostile/type/record-name-repeats", T, { { 2 }, { 2 }, { 9, NULL, 2, { 0, 1 }, { "a", "a" } } }, 3, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid type: node 2: a field name repeats or is not a keyword name" },
  { "/codec/hostile/type/record-name-not-utf8", T, { { 2 }, { 9, NULL, 1, { 0 }, { "\xff" } } }, 2, 0,
    CODEC_AGREED_ERROR, INVALID, "invalid type: node 1: text is not valid UTF-8" },
  { "/codec/hostile/type/maybe", T, { { 2 }, { 10, NULL, 1, { 0 } } }, 2, 0, CODEC_AGREED_TREE },
  { "/codec/hostile/type/children-twice", T, { { 2 }, { 3 }, { 8, NULL, 3, { 0, DUP, 1 } } }, 3, 0, CODEC_AGREED_TREE },
};

static void
test_spec (gconstpointer data)
{
  const SpecCase *tc = data;
  g_autoptr(GByteArray) bytes = spec_bytes (tc->tree, tc->nodes, tc->n);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (codec_check (tc->tree, bytes->data, bytes->len, tc->max_nodes, &error), ==, tc->outcome);
  if (tc->outcome == CODEC_FELL_BACK && tc->message != NULL)
    {
      g_assert_null (generated_read (tc->tree, bytes->data, bytes->len, tc->max_nodes, &error));
      g_assert_error (error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_INVALID_DATA);
      g_assert_cmpstr (error->message, ==, tc->message);
      return;
    }
  if (tc->outcome != CODEC_AGREED_ERROR)
    {
      g_assert_no_error (error);
      return;
    }
  g_assert_error (error, RTHUNK_ERROR, tc->code);
  g_assert_cmpstr (error->message, ==, tc->message);
}

typedef struct
{
  const char *path;
  CodecTree tree;
  guint depth;
  CodecOutcome outcome;
} DepthCase;

static const DepthCase depth_cases[] = {
  { "/codec/depth/ast/at-limit", A, RTHUNK_NODE_MAX_DEPTH, CODEC_AGREED_TREE },
  { "/codec/depth/ast/over-limit", A, RTHUNK_NODE_MAX_DEPTH + 1, CODEC_AGREED_ERROR },
  { "/codec/depth/ast/far-over", A, 3000, CODEC_AGREED_ERROR },
  { "/codec/depth/value/at-limit", V, RTHUNK_WIRE_MAX_VALUE_DEPTH, CODEC_AGREED_TREE },
  { "/codec/depth/value/over-limit", V, RTHUNK_WIRE_MAX_VALUE_DEPTH + 1, CODEC_AGREED_ERROR },
  { "/codec/depth/type/at-limit", T, 64, CODEC_AGREED_TREE },
  { "/codec/depth/type/over-limit", T, 65, CODEC_AGREED_ERROR },
};

static void
test_depth (gconstpointer data)
{
  const DepthCase *tc = data;
  g_autoptr(GByteArray) bytes = chain_bytes (tc->tree, tc->depth);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (codec_check (tc->tree, bytes->data, bytes->len, G_MAXUINT, &error), ==, tc->outcome);
  if (tc->outcome == CODEC_AGREED_ERROR)
    g_assert_nonnull (strstr (error->message, "nests too deeply"));
}

/* ---- hostile bytes: around the nodes -------------------------------------------- */

/* An AST of one int node, with @extra (a whole field) after its nodes. */
static GByteArray *
ast_with_field (void (*extra) (GByteArray *out))
{
  static const Spec one = { 1 };
  GByteArray *out = g_byte_array_new ();

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  put_spec_node (out, A, &one);
  extra (out);
  rthunk_codec_put_stop (out);
  return out;
}

/* unknown fields of every type, nested: skipped by both */
static void
extra_unknown_nested (GByteArray *out)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 40);
  rthunk_codec_put_field (out, RTHUNK_CODEC_MAP, 1);
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_STRING);
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_LIST);
  rthunk_codec_put_i32 (out, 1);
  rthunk_codec_put_string (out, "k");
  rthunk_codec_put_list (out, RTHUNK_CODEC_SET, 1);
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_DOUBLE);
  rthunk_codec_put_i32 (out, 2);
  rthunk_codec_put_double (out, 1.5);
  rthunk_codec_put_double (out, 2.5);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I16, -3);
  rthunk_codec_put_i16 (out, 7);
  rthunk_codec_put_field (out, RTHUNK_CODEC_BYTE, 4);
  rthunk_codec_put_u8 (out, 9);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_field (out, RTHUNK_CODEC_BOOL, 7);
  rthunk_codec_put_u8 (out, 1);
  /* the source as an i32: skipped, the source is then "<remote>" */
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 3);
  rthunk_codec_put_i32 (out, 3);
}

/* a second node list: the generated code appends it to the first */
static void
extra_second_nodes (GByteArray *out)
{
  static const Spec list = { 8, NULL, 1, { 0 } };

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  put_spec_node (out, A, &list);
}

/* types whose node has no kind: the generated code refuses the Ast */
static void
extra_type_without_kind (GByteArray *out)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 2);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 2);
  rthunk_codec_put_i32 (out, 0);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_stop (out);
}

/* types as a list of i32: the generated code refuses the element type */
static void
extra_types_of_ints (GByteArray *out)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 2);
  rthunk_codec_put_list (out, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (out, 0);
}

/* an empty list of an element type the protocol does not have */
static void
extra_list_of_nothing (GByteArray *out)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 12);
  rthunk_codec_put_list (out, 9, 0);
}

/* a type code past the protocol's (16 + I32 = 24) */
static void
extra_type_code_24 (GByteArray *out)
{
  rthunk_codec_put_field (out, 24, 0);
  rthunk_codec_put_i32 (out, 7);
}

/* a source that is not UTF-8: "<remote>", as in rthunk_wire_read_ast() */
static void
extra_bad_source (GByteArray *out)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 3);
  rthunk_codec_put_string (out, "src\xff");
}

typedef struct
{
  const char *path;
  void (*extra) (GByteArray *out);
  CodecOutcome outcome;
} FieldCase;

static const FieldCase field_cases[] = {
  { "/codec/fields/unknown-nested", extra_unknown_nested, CODEC_AGREED_TREE },
  { "/codec/fields/second-node-list", extra_second_nodes, CODEC_FELL_BACK },
  { "/codec/fields/type-without-kind", extra_type_without_kind, CODEC_FELL_BACK },
  { "/codec/fields/types-of-ints", extra_types_of_ints, CODEC_FELL_BACK },
  { "/codec/fields/list-of-nothing", extra_list_of_nothing, CODEC_FELL_BACK },
  { "/codec/fields/type-code-24", extra_type_code_24, CODEC_FELL_BACK },
  { "/codec/fields/source-not-utf8", extra_bad_source, CODEC_AGREED_TREE },
};

static void
test_field (gconstpointer data)
{
  const FieldCase *tc = data;
  g_autoptr(GByteArray) bytes = ast_with_field (tc->extra);

  g_assert_cmpint (codec_check (A, bytes->data, bytes->len, 10, NULL), ==, tc->outcome);
}

/* Node fields of the wrong type are skipped: an int whose intValue came
 * as a string has no value, and both readers refuse it (it was once taken
 * as 0). */
static void
test_field_wrong_type (void)
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GByteArray) bytes = out;
  g_autoptr(GError) error = NULL;

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (out, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 2);   /* intValue is an i64 */
  rthunk_codec_put_string (out, "12");
  rthunk_codec_put_field (out, RTHUNK_CODEC_I64, 7);      /* line is an i32 */
  rthunk_codec_put_i64 (out, 5);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_stop (out);
  g_assert_cmpint (codec_check (A, bytes->data, bytes->len, 10, &error), ==, CODEC_AGREED_ERROR);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
  g_assert_nonnull (strstr (error->message, "the literal has no value"));
}

/* A count of nodes the bytes cannot hold. */
static void
test_count_too_large (void)
{
  for (guint tree = A; tree <= T; tree++)
    {
      GByteArray *out = g_byte_array_new ();
      g_autoptr(GByteArray) bytes = out;

      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, G_MAXINT32);
      rthunk_codec_put_stop (out);
      g_assert_cmpint (codec_check (tree, bytes->data, bytes->len, G_MAXUINT, NULL), ==, CODEC_FELL_BACK);
    }
}

/* ---- hostile bytes: every truncation, single-byte mutations --------------------- */

static GByteArray *
sample_bytes (CodecTree tree)
{
  g_autoptr(RthunkNode) node = test_parse_one ("(f [1 -2.5 \"h\xc3\xa9\" :k nil true] (g 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17))");
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(RthunkNode) literal = NULL;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(RthunkType) type = NULL;
  GByteArray *out = g_byte_array_new ();

  switch (tree)
    {
    case CODEC_TREE_AST:
      node_types = node_types_for (node, TYPES_CYCLE);
      rthunk_codec_put_ast (out, node, node_types);
      break;
    case CODEC_TREE_VALUE:
      literal = test_parse_one ("[1 [2.5 \"s\xc3\xa9\"] nil true [] [[-7]]]");
      value = value_of_node (literal);
      g_assert_true (rthunk_codec_put_value (out, value, G_MAXSIZE, NULL));
      break;
    case CODEC_TREE_TYPE:
    default:
      type = rthunk_type_parse ("num a, eq b => ((a -> b) [b] int -> (-> [a]))", NULL);
      rthunk_codec_put_type (out, type);
      break;
    }
  return out;
}

static void
test_truncations (gconstpointer data)
{
  CodecTree tree = GPOINTER_TO_UINT (data);
  g_autoptr(GByteArray) bytes = sample_bytes (tree);

  g_assert_cmpint (codec_check (tree, bytes->data, bytes->len, G_MAXUINT, NULL), ==, CODEC_AGREED_TREE);
  for (gsize len = 0; len < bytes->len; len++)
    {
      /* a copy of just that much, so that reading past it is caught */
      g_autofree guint8 *cut = g_memdup2 (bytes->data, len);

      g_assert_cmpint (codec_check (tree, cut, len, G_MAXUINT, NULL), ==, CODEC_FELL_BACK);
    }
}

static void
test_mutations (gconstpointer data)
{
  static const guint8 values[] = { 0x00, 0x01, 0x02, 0x08, 0x0b, 0x0f, 0x10, 0x7f, 0x80, 0xff };
  CodecTree tree = GPOINTER_TO_UINT (data);
  g_autoptr(GByteArray) bytes = sample_bytes (tree);
  guint outcomes[4] = { 0 };

  for (gsize at = 0; at < bytes->len; at++)
    for (guint v = 0; v <= G_N_ELEMENTS (values); v++)
      {
        g_autofree guint8 *mutant = g_memdup2 (bytes->data, bytes->len);

        mutant[at] = v < G_N_ELEMENTS (values) ? values[v] : mutant[at] ^ 0x01;
        outcomes[codec_check (tree, mutant, bytes->len, 40, NULL)]++;
      }
  g_test_message ("%u bytes: %u trees, %u errors, %u left to the generated code, %u refused by the frame layer",
                  bytes->len, outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
  g_assert_cmpuint (outcomes[CODEC_AGREED_TREE], >, 0);
  g_assert_cmpuint (outcomes[CODEC_AGREED_ERROR], >, 0);
  g_assert_cmpuint (outcomes[CODEC_FELL_BACK], >, 0);
}

/* ---- error infos and message positions ------------------------------------------ */

typedef struct
{
  const char *path;
  const char *message;
  gboolean has_position;
  const char *source;
  gint32 line;
  gint32 col;
} PositionCase;

static const PositionCase position_cases[] = {
  { "/codec/position/plain", "src:3:7: error: boom", TRUE, "src", 3, 7 },
  { "/codec/position/colons-in-source", "C:\\dir:x.rth:12:1: error: a: b", TRUE, "C:\\dir:x.rth", 12, 1 },
  { "/codec/position/remote", "<remote>:0:0: error: unbound name “x”", TRUE, "<remote>", 0, 0 },
  { "/codec/position/utf8", "h\xc3\xa9.rth:2:40: error: \xce\xbb", TRUE, "h\xc3\xa9.rth", 2, 40 },
  { "/codec/position/none", "boom", FALSE },
  { "/codec/position/no-error-word", "src:3:7: boom", FALSE },
  { "/codec/position/one-colon", "src3: error: boom", FALSE },
  { "/codec/position/empty", "", FALSE },
};

static void
test_position (gconstpointer data)
{
  const PositionCase *tc = data;
  g_autofree char *source = NULL;
  gint32 line = -1, col = -1;

  g_assert_cmpint (rthunk_codec_message_position (tc->message, &source, &line, &col), ==, tc->has_position);
  if (!tc->has_position)
    return;
  g_assert_cmpstr (source, ==, tc->source);
  g_assert_cmpint (line, ==, tc->line);
  g_assert_cmpint (col, ==, tc->col);
}

/* The ErrorInfo the generated code writes: code, message, and the
 * position when the message has one. */
static void
test_error_info (gconstpointer data)
{
  const PositionCase *tc = data;
  static const struct { GQuark (*domain) (void); gint code; gint32 wire_code; } errors[] = {
    { rthunk_error_quark, RTHUNK_ERROR_TYPE_MISMATCH, RTHUNK_ERROR_TYPE_MISMATCH },
    { rthunk_error_quark, RTHUNK_ERROR_EMPTY_LIST, RTHUNK_ERROR_EMPTY_LIST },
    { g_io_error_quark, 1, RTHUNK_ERROR_INTERNAL },
  };

  for (guint k = 0; k < G_N_ELEMENTS (errors); k++)
    {
      g_autoptr(GError) error = g_error_new_literal (errors[k].domain (), errors[k].code, tc->message);
      g_autoptr(GObject) info = g_object_new (RTHUNK_WIRE_TYPE_ERROR_INFO,
                                              "code", errors[k].wire_code,
                                              "message", tc->message, NULL);
      g_autoptr(GByteArray) codec = g_byte_array_new ();
      g_autoptr(GByteArray) generated = NULL;

      if (tc->has_position)
        {
          RthunkWireSourcePos *pos = g_object_new (RTHUNK_WIRE_TYPE_SOURCE_POS, "source", tc->source,
                                                   "line", tc->line, "col", tc->col, NULL);

          g_object_set (info, "pos", pos, NULL);
          g_object_unref (pos);
        }
      generated = generated_bytes (info);
      rthunk_codec_put_error_info (codec, error);
      assert_same_bytes (codec, generated);
    }
}

/* ---- message headers and skipping ------------------------------------------------ */

static void
test_message_strict (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;
  RthunkCodecIn in;

  rthunk_codec_put_message (out, "submitEvalRequest", RTHUNK_CODEC_REPLY, -5);
  rthunk_codec_put_u8 (out, 0xaa);
  rthunk_codec_in_init (&in, out->data, out->len);
  g_assert_true (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
  g_assert_cmpmem (name, name_len, "submitEvalRequest", 17);
  g_assert_cmpuint (type, ==, RTHUNK_CODEC_REPLY);
  g_assert_cmpint (seqid, ==, -5);
  g_assert_true (in.pos == out->data + out->len - 1);
  /* every shorter header fails */
  for (guint len = 0; len + 1 < out->len; len++)
    {
      rthunk_codec_in_init (&in, out->data, len);
      g_assert_false (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
    }
  /* another version */
  out->data[1] = 0x02;
  rthunk_codec_in_init (&in, out->data, out->len);
  g_assert_false (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
}

/* The old form: the name's length, the name, the type byte, the seqid. */
static void
test_message_non_strict (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;
  RthunkCodecIn in;

  rthunk_codec_put_string (out, "ping");
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_ONEWAY);
  rthunk_codec_put_i32 (out, 77);
  rthunk_codec_in_init (&in, out->data, out->len);
  g_assert_true (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
  g_assert_cmpmem (name, name_len, "ping", 4);
  g_assert_cmpuint (type, ==, RTHUNK_CODEC_ONEWAY);
  g_assert_cmpint (seqid, ==, 77);
  g_assert_true (in.pos == out->data + out->len);
  for (guint len = 0; len < out->len; len++)
    {
      rthunk_codec_in_init (&in, out->data, len);
      g_assert_false (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
    }
  /* a name longer than the bytes */
  out->data[3] = 0x7f;
  rthunk_codec_in_init (&in, out->data, out->len);
  g_assert_false (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
}

static void
test_skip_nested (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  RthunkCodecIn in;

  /* struct { 1: map<string, set<list<i64>>>, 2: struct { 1: bool }, 3: list<struct> } */
  rthunk_codec_put_field (out, RTHUNK_CODEC_MAP, 1);
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_STRING);
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_SET);
  rthunk_codec_put_i32 (out, 2);
  for (guint k = 0; k < 2; k++)
    {
      rthunk_codec_put_string (out, k ? "b" : "a");
      rthunk_codec_put_list (out, RTHUNK_CODEC_LIST, 1);
      rthunk_codec_put_list (out, RTHUNK_CODEC_I64, 2);
      rthunk_codec_put_i64 (out, 1);
      rthunk_codec_put_i64 (out, 2);
    }
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 2);
  rthunk_codec_put_field (out, RTHUNK_CODEC_BOOL, 1);
  rthunk_codec_put_u8 (out, 1);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 3);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 2);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_field (out, RTHUNK_CODEC_DOUBLE, 1);
  rthunk_codec_put_double (out, 0.5);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_stop (out);
  rthunk_codec_put_u8 (out, 0xee);            /* after the struct */
  rthunk_codec_in_init (&in, out->data, out->len);
  g_assert_true (rthunk_codec_skip (&in, RTHUNK_CODEC_STRUCT));
  g_assert_true (in.pos == out->data + out->len - 1);
  for (guint len = 0; len + 1 < out->len; len++)
    {
      rthunk_codec_in_init (&in, out->data, len);
      g_assert_false (rthunk_codec_skip (&in, RTHUNK_CODEC_STRUCT));
    }
}

static void
test_skip_refused (void)
{
  g_autoptr(GByteArray) deep = g_byte_array_new ();
  g_autoptr(GByteArray) negative = g_byte_array_new ();
  static const guint8 bad_types[] = { 1, 5, 7, 9, 16, 24, 0xff };
  RthunkCodecIn in;

  /* structs nested past 64 levels */
  for (guint k = 0; k < 100; k++)
    rthunk_codec_put_field (deep, RTHUNK_CODEC_STRUCT, 1);
  for (guint k = 0; k < 101; k++)
    rthunk_codec_put_stop (deep);
  rthunk_codec_in_init (&in, deep->data, deep->len);
  g_assert_false (rthunk_codec_skip (&in, RTHUNK_CODEC_STRUCT));
  /* a negative count */
  rthunk_codec_put_list (negative, RTHUNK_CODEC_I32, (guint32) -1);
  rthunk_codec_in_init (&in, negative->data, negative->len);
  g_assert_false (rthunk_codec_skip (&in, RTHUNK_CODEC_LIST));
  for (guint k = 0; k < G_N_ELEMENTS (bad_types); k++)
    {
      guint8 bytes[8] = { bad_types[k], 0, 0, 0, 0, 0, 0, 0 };

      rthunk_codec_in_init (&in, bytes, sizeof bytes);
      g_assert_false (rthunk_codec_skip (&in, bad_types[k]));
      /* nor as the element type of an empty list or map */
      rthunk_codec_in_init (&in, bytes, sizeof bytes);
      g_assert_false (rthunk_codec_skip (&in, RTHUNK_CODEC_LIST));
      rthunk_codec_in_init (&in, bytes, sizeof bytes);
      g_assert_false (rthunk_codec_skip (&in, RTHUNK_CODEC_MAP));
    }
}

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  static const char *const tree_names[] = { "ast", "value", "type" };
  gsize i;

  g_test_init (&argc, &argv, NULL);
  rthunk_wire_ensure_types ();

  TEST_ADD_TABLE (ast_cases, test_ast);
  g_test_add_func ("/codec/ast/deep", test_ast_deep);

  TEST_ADD_TABLE (value_cases, test_value);
  g_test_add_func ("/codec/value/special-floats", test_value_special_floats);
  g_test_add_func ("/codec/value/at-depth-limit", test_value_at_depth_limit);
  g_test_add_func ("/codec/value/function", test_value_function);
  g_test_add_func ("/codec/value/send/too-large", test_value_too_large);
  g_test_add_func ("/codec/value/send/too-deep", test_value_too_deep_to_send);
  g_test_add_func ("/codec/value/send/pending", test_value_pending);

  TEST_ADD_TABLE (type_cases, test_type);

  TEST_ADD_TABLE (spec_cases, test_spec);
  TEST_ADD_TABLE (depth_cases, test_depth);
  TEST_ADD_TABLE (field_cases, test_field);
  g_test_add_func ("/codec/fields/wrong-type", test_field_wrong_type);
  g_test_add_func ("/codec/fields/count-too-large", test_count_too_large);
  for (i = 0; i < G_N_ELEMENTS (tree_names); i++)
    {
      g_autofree char *truncations = g_strdup_printf ("/codec/%s/truncations", tree_names[i]);
      g_autofree char *mutations = g_strdup_printf ("/codec/%s/mutations", tree_names[i]);

      g_test_add_data_func (truncations, GUINT_TO_POINTER (i), test_truncations);
      g_test_add_data_func (mutations, GUINT_TO_POINTER (i), test_mutations);
    }

  for (i = 0; i < G_N_ELEMENTS (position_cases); i++)
    {
      g_autofree char *info = g_strconcat (position_cases[i].path, "/error-info", NULL);

      g_test_add_data_func (position_cases[i].path, &position_cases[i], test_position);
      g_test_add_data_func (info, &position_cases[i], test_error_info);
    }
  g_test_add_func ("/codec/message/strict", test_message_strict);
  g_test_add_func ("/codec/message/non-strict", test_message_non_strict);
  g_test_add_func ("/codec/skip/nested", test_skip_nested);
  g_test_add_func ("/codec/skip/refused", test_skip_refused);

  return g_test_run ();
}
