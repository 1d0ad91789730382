/* test-types.c — type terms: signatures, printing, unification */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "rthunk.h"
#include "rthunk-type-private.h"
#include "testtable.h"

/* ---- helpers ------------------------------------------------------------------- */

static RthunkType *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  RthunkType *type = rthunk_type_parse (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (type);
  return type;
}

static void
assert_prints (RthunkType *type,
               const char *expected)
{
  g_autofree char *text = rthunk_type_to_string (type);

  g_assert_cmpstr (text, ==, expected);
}

/* ---- signatures: parse, print, parse again ------------------------------------ */

typedef struct {
  const char *path;
  const char *text;
  const char *printed;    /* NULL: the same as text */
} RoundTripCase;

static const RoundTripCase roundtrip_cases[] = {
  { "/types/roundtrip/int", "int", NULL },
  { "/types/roundtrip/float", "float", NULL },
  { "/types/roundtrip/bool", "bool", NULL },
  { "/types/roundtrip/str", "str", NULL },
  { "/types/roundtrip/nil", "nil", NULL },
  { "/types/roundtrip/var", "a", NULL },
  { "/types/roundtrip/list", "[int]", NULL },
  { "/types/roundtrip/list-of-lists", "[[str]]", NULL },
  { "/types/roundtrip/record", "{age: int, name: str}", NULL },
  { "/types/roundtrip/record-sorted", "{name: str, age: int}", "{age: int, name: str}" },
  { "/types/roundtrip/record-empty", "{}", NULL },
  { "/types/roundtrip/record-open", "{age: int | r}", "{age: int | a}" },
  { "/types/roundtrip/record-open-empty", "{| r}", "{| a}" },
  { "/types/roundtrip/record-nested", "[{p: {x: float}, tags: [str]}]", NULL },
  { "/types/roundtrip/record-field-names", "{empty?: bool, first-name: str}", NULL },
  { "/types/roundtrip/record-func", "({age: a | r} -> a)", "({age: a | b} -> a)" },
  { "/types/roundtrip/maybe", "(maybe int)", NULL },
  { "/types/roundtrip/maybe-func", "((maybe a) a -> a)", NULL },
  { "/types/roundtrip/maybe-nested", "[{age: (maybe int), tags: (maybe [str])}]", NULL },
  { "/types/roundtrip/maybe-var-named-maybe", "(maybe -> maybe)", "(a -> a)" },
  { "/types/roundtrip/maybe-var-param", "(maybe int -> int)", "(a int -> int)" },
  { "/types/roundtrip/binary", "(int int -> int)", NULL },
  { "/types/roundtrip/no-params", "(-> int)", NULL },
  { "/types/roundtrip/num-constraint", "num a => (a a -> a)", NULL },
  { "/types/roundtrip/eq-constraint", "eq a => (a a -> bool)", NULL },
  { "/types/roundtrip/ord-constraint", "ord a => ([a] -> [a])", NULL },
  { "/types/roundtrip/map", "((a -> b) [a] -> [b])", NULL },
  { "/types/roundtrip/fold", "((b a -> b) b [a] -> b)", "((a b -> a) a [b] -> a)" },
  { "/types/roundtrip/higher-order-result", "(int -> (int -> int))", NULL },
  { "/types/roundtrip/renamed-in-order", "(x y -> x)", "(a b -> a)" },
  { "/types/roundtrip/long-names", "(elem [elem] -> bool)", "(a [a] -> bool)" },
  { "/types/roundtrip/constraints-in-order", "num b, eq a => (a b -> b)", "eq a, num b => (a b -> b)" },
  { "/types/roundtrip/two-constraints", "num a, ord b => (a b -> a)", NULL },
  { "/types/roundtrip/joined-constraints", "num a, eq a => (a -> a)", "num a => (a -> a)" },
  { "/types/roundtrip/eq-and-ord-join", "eq a, ord a => (a -> a)", "ord a => (a -> a)" },
  { "/types/roundtrip/unused-constraint", "num z => int", "int" },
  { "/types/roundtrip/spaces", "  (  int\t[ str ]  ->int )  ", "(int [str] -> int)" },
  { "/types/roundtrip/no-spaces", "(int->int)", "(int -> int)" },
  { "/types/roundtrip/underscore-name", "(my_var -> my_var)", "(a -> a)" },
};

static void
test_roundtrip (gconstpointer data)
{
  const RoundTripCase *tc = data;
  const char *expected = tc->printed != NULL ? tc->printed : tc->text;
  g_autoptr(RthunkType) type = parse_ok (tc->text);
  g_autofree char *printed = rthunk_type_to_string (type);
  g_autoptr(RthunkType) again = parse_ok (printed);

  g_assert_cmpstr (printed, ==, expected);
  assert_prints (again, expected);
  g_assert_true (rthunk_type_equal (type, again));
}

/* ---- signatures that do not parse --------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
  int         character;    /* where the message says it stopped */
  const char *fragment;
} ParseErrorCase;

static const ParseErrorCase parse_error_cases[] = {
  { "/types/parse-error/empty", "", 1, "expected a type" },
  { "/types/parse-error/blank", "   ", 4, "expected a type" },
  { "/types/parse-error/unclosed-func", "(int ->", 8, "expected a type" },
  { "/types/parse-error/no-arrow", "(int int)", 9, "expected a type" },
  { "/types/parse-error/two-results", "(int -> int int)", 13, "expected “)”" },
  { "/types/parse-error/unclosed-list", "[int", 5, "expected “]”" },
  { "/types/parse-error/list-of-two", "[int str]", 6, "expected “]”" },
  { "/types/parse-error/empty-list", "[]", 2, "expected a type" },
  { "/types/parse-error/capitalised", "Int", 4, "unknown type name" },
  { "/types/parse-error/digit-name", "(1x -> int)", 4, "unknown type name" },
  { "/types/parse-error/trailing-text", "int int", 5, "unexpected text after the type" },
  { "/types/parse-error/trailing-paren", "(-> int))", 9, "unexpected text after the type" },
  { "/types/parse-error/unknown-class", "blah a => a", 7, "expected a constraint" },
  { "/types/parse-error/class-without-var", "num => a", 5, "expected a constraint" },
  { "/types/parse-error/any-is-not-a-constraint", "any a => a", 6, "expected a constraint" },
  { "/types/parse-error/constraint-separator", "num a eq b => a", 7, "expected “,” or “=>”" },
  { "/types/parse-error/only-constraint", "num a =>", 9, "expected a type" },
  { "/types/parse-error/stray-character", "(int -> $)", 9, "expected a type" },
  { "/types/parse-error/maybe-two", "(maybe int str)", 15, "expected a type" },
  { "/types/parse-error/record-unclosed", "{a: int", 8, "expected a field name" },
  { "/types/parse-error/record-no-colon", "{a int}", 4, "expected “:”" },
  { "/types/parse-error/record-repeated", "{a: int, a: str}", 17, "a field name repeats" },
  { "/types/parse-error/record-not-a-keyword", "{a$b: int}", 11, "not a keyword name" },
  { "/types/parse-error/record-row", "{a: int | Int}", 14, "expected a row variable" },
};

static void
test_parse_error (gconstpointer data)
{
  const ParseErrorCase *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_type_parse (tc->text, &error);
  g_autofree char *where = g_strdup_printf ("at character %d:", tc->character);

  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  if (strstr (error->message, where) == NULL || strstr (error->message, tc->fragment) == NULL)
    g_error ("“%s” does not say “%s” and “%s”", error->message, where, tc->fragment);
}

static void
test_parse_too_deep (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;

  for (guint k = 0; k < 100000; k++)
    g_string_append_c (text, '[');
  type = rthunk_type_parse (text->str, &error);
  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_parse_deep_enough (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(RthunkType) type = NULL;
  RthunkType *inner;
  guint depth = 0;

  /* 63 lists around int: 64 levels, the most a signature may nest */
  for (guint k = 0; k < 63; k++)
    g_string_append_c (text, '[');
  g_string_append (text, "int");
  for (guint k = 0; k < 63; k++)
    g_string_append_c (text, ']');
  type = parse_ok (text->str);
  for (inner = type; rthunk_type_get_kind (inner) == RTHUNK_TYPE_LIST; inner = rthunk_type_get_child (inner, 0))
    depth++;
  g_assert_cmpuint (depth, ==, 63);
  assert_prints (type, text->str);
}

/* ---- accessors ------------------------------------------------------------------ */

static void
test_accessors (void)
{
  g_autoptr(RthunkType) map = parse_ok ("ord b => ((a -> b) [a] -> [b])");
  RthunkType *f = rthunk_type_get_child (map, 0);
  RthunkType *result = rthunk_type_get_child (map, 2);

  g_assert_cmpint (rthunk_type_get_kind (map), ==, RTHUNK_TYPE_FUNC);
  g_assert_cmpuint (rthunk_type_get_n_children (map), ==, 3);
  g_assert_cmpint (rthunk_type_get_kind (f), ==, RTHUNK_TYPE_FUNC);
  g_assert_cmpint (rthunk_type_get_kind (rthunk_type_get_child (f, 0)), ==, RTHUNK_TYPE_VAR);
  g_assert_cmpint (rthunk_type_get_class (rthunk_type_get_child (f, 0)), ==, RTHUNK_TYPE_CLASS_ANY);
  g_assert_cmpint (rthunk_type_get_class (rthunk_type_get_child (f, 1)), ==, RTHUNK_TYPE_CLASS_ORD);
  /* one variable, one object: b in the function and b in the result */
  g_assert_true (rthunk_type_get_child (f, 1) == rthunk_type_get_child (result, 0));
  g_assert_cmpuint (rthunk_type_get_var_id (rthunk_type_get_child (f, 0)), !=,
                    rthunk_type_get_var_id (rthunk_type_get_child (f, 1)));
  g_assert_cmpint (rthunk_type_get_kind (result), ==, RTHUNK_TYPE_LIST);
  g_assert_cmpuint (rthunk_type_get_n_children (result), ==, 1);
  g_assert_true (rthunk_type_is_generic (map));
}

static void
test_constructors (void)
{
  g_autoptr(RthunkType) i = rthunk_type_new_basic (RTHUNK_TYPE_INT);
  g_autoptr(RthunkType) s = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  g_autoptr(RthunkType) a = rthunk_type_new_var (0, RTHUNK_TYPE_CLASS_NUM);
  g_autoptr(RthunkType) list = rthunk_type_new_list (a);
  g_autoptr(RthunkType) func = NULL;
  g_autoptr(RthunkType) parsed = parse_ok ("num a => ([a] int -> str)");
  RthunkType *params[2];

  params[0] = list;
  params[1] = i;
  func = rthunk_type_new_func (params, 2, s);
  assert_prints (func, "num a => ([a] int -> str)");
  g_assert_true (rthunk_type_equal (func, parsed));
  g_assert_false (rthunk_type_equal (func, list));
  g_assert_false (rthunk_type_is_generic (i));
}

static void
test_equal_up_to_names (void)
{
  g_autoptr(RthunkType) a = parse_ok ("(x [y] -> y)");
  g_autoptr(RthunkType) b = parse_ok ("(p [q] -> q)");
  g_autoptr(RthunkType) c = parse_ok ("(p [q] -> p)");
  g_autoptr(RthunkType) d = parse_ok ("num p => (p [q] -> q)");

  g_assert_true (rthunk_type_equal (a, b));
  g_assert_false (rthunk_type_equal (a, c));
  g_assert_false (rthunk_type_equal (a, d));
}

static void
test_many_variables_print (void)
{
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(RthunkType) result = rthunk_type_new_basic (RTHUNK_TYPE_NIL);
  g_autoptr(RthunkType) func = NULL;
  g_autofree char *text = NULL;

  for (guint k = 0; k < 28; k++)
    g_ptr_array_add (params, rthunk_type_new_var (k, RTHUNK_TYPE_CLASS_ANY));
  func = rthunk_type_new_func ((RthunkType **) params->pdata, params->len, result);
  text = rthunk_type_to_string (func);
  g_assert_true (g_str_has_prefix (text, "(a b c "));
  g_assert_true (g_str_has_suffix (text, " y z a1 b1 -> nil)"));
}

/* ---- unification ---------------------------------------------------------------- */

/* @pair is a signature `(LEFT RIGHT -> nil)`: its two parameters share their
 * variables. Both are instantiated with fresh variables, then unified. */
typedef struct {
  const char *path;
  const char *pair;
  gboolean    ok;
  const char *left;       /* the left side afterwards, when ok */
} UnifyCase;

static const UnifyCase unify_cases[] = {
  { "/types/unify/same-basic", "(int int -> nil)", TRUE, "int" },
  { "/types/unify/different-basics", "(int str -> nil)", FALSE, NULL },
  { "/types/unify/int-and-float", "(int float -> nil)", FALSE, NULL },
  { "/types/unify/var-binds-to-basic", "(a int -> nil)", TRUE, "int" },
  { "/types/unify/basic-binds-var", "(int a -> nil)", TRUE, "int" },
  { "/types/unify/var-binds-to-list", "(a [str] -> nil)", TRUE, "[str]" },
  { "/types/unify/var-binds-to-func", "(a (int -> bool) -> nil)", TRUE, "(int -> bool)" },
  { "/types/unify/var-with-var", "(a b -> nil)", TRUE, "a" },
  { "/types/unify/var-with-itself", "(a a -> nil)", TRUE, "a" },
  { "/types/unify/occurs-check-list", "(a [a] -> nil)", FALSE, NULL },
  { "/types/unify/occurs-check-func", "(a (a -> int) -> nil)", FALSE, NULL },
  { "/types/unify/occurs-check-deep", "([a] [[[a]]] -> nil)", FALSE, NULL },
  { "/types/unify/occurs-check-through-binding", "((a -> b) (b -> [a]) -> nil)", FALSE, NULL },
  { "/types/unify/lists", "([a] [[int]] -> nil)", TRUE, "[[int]]" },
  { "/types/unify/functions", "((a -> b) (int -> str) -> nil)", TRUE, "(int -> str)" },
  { "/types/unify/functions-share-vars", "((a a -> a) (int b -> b) -> nil)", TRUE, "(int int -> int)" },
  { "/types/unify/functions-conflict", "((a a -> a) (int str -> b) -> nil)", FALSE, NULL },
  { "/types/unify/function-arity", "((a b -> a) (int -> int) -> nil)", FALSE, NULL },
  { "/types/unify/list-and-func", "([a] (-> a) -> nil)", FALSE, NULL },
  { "/types/unify/num-accepts-int", "num a => (a int -> nil)", TRUE, "int" },
  { "/types/unify/num-accepts-float", "num a => (a float -> nil)", TRUE, "float" },
  { "/types/unify/num-refuses-str", "num a => (a str -> nil)", FALSE, NULL },
  { "/types/unify/num-refuses-bool", "num a => (a bool -> nil)", FALSE, NULL },
  { "/types/unify/num-refuses-list", "num a => (a [int] -> nil)", FALSE, NULL },
  { "/types/unify/num-refuses-func", "num a => ((int -> int) a -> nil)", FALSE, NULL },
  { "/types/unify/num-passes-to-var", "num a => (a b -> nil)", TRUE, "num a => a" },
  { "/types/unify/num-then-str", "num a => ((a a -> nil) (b str -> nil) -> nil)", FALSE, NULL },
  { "/types/unify/eq-accepts-int", "eq a => (a int -> nil)", TRUE, "int" },
  { "/types/unify/eq-accepts-list", "eq a => (a [str] -> nil)", TRUE, "[str]" },
  { "/types/unify/eq-refuses-func", "eq a => (a (int -> int) -> nil)", FALSE, NULL },
  { "/types/unify/eq-refuses-list-of-funcs", "eq a => (a [(int -> int)] -> nil)", FALSE, NULL },
  { "/types/unify/eq-reaches-into-list", "eq a => (a [b] -> nil)", TRUE, "eq a => [a]" },
  { "/types/unify/eq-then-func", "eq a => (([a] [a] -> nil) ([b] [(-> int)] -> nil) -> nil)", FALSE, NULL },
  { "/types/unify/ord-accepts-str", "ord a => (a str -> nil)", TRUE, "str" },
  { "/types/unify/ord-accepts-float", "ord a => (a float -> nil)", TRUE, "float" },
  { "/types/unify/ord-refuses-bool", "ord a => (a bool -> nil)", FALSE, NULL },
  { "/types/unify/ord-refuses-list", "ord a => (a [int] -> nil)", FALSE, NULL },
  { "/types/unify/num-and-eq-join", "num a, eq b => (a b -> nil)", TRUE, "num a => a" },
  { "/types/unify/eq-and-ord-join", "eq a, ord b => (a b -> nil)", TRUE, "ord a => a" },
  { "/types/unify/records", "({a: int, b: c} {b: str, a: d} -> nil)", TRUE, "{a: int, b: str}" },
  { "/types/unify/records-field-types", "({a: int} {a: str} -> nil)", FALSE, NULL },
  { "/types/unify/records-closed-differ", "({a: int} {b: int} -> nil)", FALSE, NULL },
  { "/types/unify/records-closed-more", "({a: int} {a: int, b: int} -> nil)", FALSE, NULL },
  { "/types/unify/record-open-takes-closed", "({a: x | r} {a: int, b: str} -> nil)", TRUE, "{a: int, b: str}" },
  { "/types/unify/record-open-lacks", "({a: x | r} {b: str} -> nil)", FALSE, NULL },
  { "/types/unify/records-both-open", "({a: int | r} {b: str | s} -> nil)", TRUE, "{a: int, b: str | a}" },
  { "/types/unify/records-same-row", "({a: int | r} {b: int | r} -> nil)", FALSE, NULL },
  { "/types/unify/record-occurs", "(a {x: a} -> nil)", FALSE, NULL },
  { "/types/unify/record-and-list", "({a: int} [int] -> nil)", FALSE, NULL },
  { "/types/unify/eq-accepts-record", "eq a => (a {x: int, y: [str]} -> nil)", TRUE, "{x: int, y: [str]}" },
  { "/types/unify/eq-refuses-record-of-func", "eq a => (a {f: (int -> int)} -> nil)", FALSE, NULL },
  { "/types/unify/ord-refuses-record", "ord a => (a {x: int} -> nil)", FALSE, NULL },
  { "/types/unify/maybes", "((maybe a) (maybe int) -> nil)", TRUE, "(maybe int)" },
  { "/types/unify/maybe-and-int", "((maybe int) int -> nil)", FALSE, NULL },
  { "/types/unify/nil-and-maybe", "(nil (maybe int) -> nil)", TRUE, "nil" },
  { "/types/unify/var-nil-widens", "((a a -> nil) (nil (maybe int) -> nil) -> nil)", TRUE, "((maybe int) (maybe int) -> nil)" },
  { "/types/unify/num-refuses-maybe", "num a => (a (maybe int) -> nil)", FALSE, NULL },
  { "/types/unify/eq-accepts-maybe", "eq a => (a (maybe int) -> nil)", TRUE, "(maybe int)" },
  { "/types/unify/joined-num-refuses-str", "num a, ord b => ((a b -> nil) (b str -> nil) -> nil)", FALSE, NULL },
};

static void
test_unify (gconstpointer data)
{
  const UnifyCase *tc = data;
  g_autoptr(RthunkType) scheme = parse_ok (tc->pair);
  g_autoptr(RthunkType) pair = NULL;
  g_autoptr(RthunkType) left = NULL;
  guint next_id = 100;
  gboolean ok;

  pair = rthunk_type_instantiate (scheme, 1, &next_id);
  g_assert_false (rthunk_type_is_generic (pair));
  ok = rthunk_type_unify (rthunk_type_get_child (pair, 0), rthunk_type_get_child (pair, 1));
  g_assert_cmpint (ok, ==, tc->ok);
  if (!ok)
    return;
  left = rthunk_type_resolve (rthunk_type_get_child (pair, 0));
  assert_prints (left, tc->left);
  /* unification is symmetric in its outcome */
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (pair, 1), rthunk_type_get_child (pair, 0)));
}

/* Two sides where the first layer unifies and a later one does not. */
static void
test_unify_chained (void)
{
  guint next_id = 0;
  g_autoptr(RthunkType) a = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 1);
  g_autoptr(RthunkType) b = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 1);
  g_autoptr(RthunkType) c = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_NUM, 1);
  g_autoptr(RthunkType) str = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  g_autoptr(RthunkType) flt = rthunk_type_new_basic (RTHUNK_TYPE_FLOAT);

  g_assert_true (rthunk_type_unify (a, b));
  g_assert_true (rthunk_type_unify (b, c));
  /* a, b and c are one variable now, and it is num */
  g_assert_cmpint (rthunk_type_get_class (a), ==, RTHUNK_TYPE_CLASS_NUM);
  g_assert_false (rthunk_type_unify (a, str));
  g_assert_cmpint (rthunk_type_get_kind (a), ==, RTHUNK_TYPE_VAR);
  g_assert_true (rthunk_type_unify (a, flt));
  g_assert_cmpint (rthunk_type_get_kind (b), ==, RTHUNK_TYPE_FLOAT);
  g_assert_true (rthunk_type_prune (c) == flt);
}

static void
test_instantiate_is_fresh (void)
{
  g_autoptr(RthunkType) scheme = parse_ok ("(a -> a)");
  g_autoptr(RthunkType) first = NULL;
  g_autoptr(RthunkType) second = NULL;
  g_autoptr(RthunkType) i = rthunk_type_new_basic (RTHUNK_TYPE_INT);
  g_autoptr(RthunkType) s = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  guint next_id = 0;

  first = rthunk_type_instantiate (scheme, 1, &next_id);
  second = rthunk_type_instantiate (scheme, 1, &next_id);
  g_assert_cmpuint (next_id, ==, 2);
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (first, 0), i));
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (second, 0), s));
  assert_prints (first, "(int -> int)");
  assert_prints (second, "(str -> str)");
  /* the scheme itself is untouched */
  assert_prints (scheme, "(a -> a)");
  g_assert_true (rthunk_type_is_generic (scheme));
}

/* A scheme of more variables than instantiation pairs in its list (then
 * in a table): each variable still stays one, wherever it occurs. */
static void
test_instantiate_many_variables (void)
{
  g_autoptr(RthunkType) scheme = parse_ok ("(a b c d e f g h i j k -> [(k j i h g f e d c b a -> a)])");
  g_autoptr(RthunkType) copy = NULL;
  g_autoptr(RthunkType) i = rthunk_type_new_basic (RTHUNK_TYPE_INT);
  g_autoptr(RthunkType) s = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  RthunkType *inner;
  guint next_id = 0;

  copy = rthunk_type_instantiate (scheme, 1, &next_id);
  g_assert_cmpuint (next_id, ==, 11);
  inner = rthunk_type_get_child (rthunk_type_get_child (copy, 11), 0);
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (copy, 0), i));     /* a */
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (copy, 10), s));    /* k */
  g_assert_true (rthunk_type_unify (rthunk_type_get_child (copy, 9), s));     /* j */
  assert_prints (inner, "(str str a b c d e f g h int -> int)");
  assert_prints (scheme, "(a b c d e f g h i j k -> [(k j i h g f e d c b a -> a)])");
}

static void
test_generalize_by_level (void)
{
  guint next_id = 0;
  g_autoptr(RthunkType) outer = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 0);
  g_autoptr(RthunkType) inner = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 1);
  g_autoptr(RthunkType) func = NULL;
  g_autoptr(RthunkType) scheme = NULL;
  g_autoptr(RthunkType) copy = NULL;
  g_autoptr(RthunkType) i = rthunk_type_new_basic (RTHUNK_TYPE_INT);
  RthunkType *params[1];

  params[0] = outer;
  func = rthunk_type_new_func (params, 1, inner);
  scheme = rthunk_type_generalize (func, 0);
  /* only the variable deeper than level 0 is quantified */
  g_assert_true (rthunk_type_get_child (scheme, 0) == outer);
  g_assert_true (rthunk_type_is_generic (rthunk_type_get_child (scheme, 1)));
  copy = rthunk_type_instantiate (scheme, 0, &next_id);
  g_assert_true (rthunk_type_get_child (copy, 0) == outer);
  g_assert_false (rthunk_type_get_child (copy, 1) == inner);
  g_assert_true (rthunk_type_unify (outer, i));
  assert_prints (scheme, "(int -> a)");
}

/* Binding a deeper variable to a type lowers the levels inside that type,
 * so a variable that escapes into an outer scope is not generalised. */
static void
test_binding_adjusts_levels (void)
{
  guint next_id = 0;
  g_autoptr(RthunkType) shallow = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 1);
  g_autoptr(RthunkType) deep = rthunk_type_new_var_at (next_id++, RTHUNK_TYPE_CLASS_ANY, 2);
  g_autoptr(RthunkType) list = rthunk_type_new_list (deep);
  g_autoptr(RthunkType) scheme = NULL;

  g_assert_true (rthunk_type_unify (shallow, list));
  scheme = rthunk_type_generalize (deep, 1);
  g_assert_false (rthunk_type_is_generic (scheme));
}

/* ---- types of values ---------------------------------------------------------- */

static RthunkValue *
int_list (guint n)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < n; k++)
    g_ptr_array_add (items, rthunk_value_new_int (k));
  return rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);
}

static void
test_type_of_values (void)
{
  g_autoptr(RthunkValue) nums = int_list (3);
  g_autoptr(RthunkValue) empty = int_list (0);
  g_autoptr(RthunkValue) word = rthunk_value_new_str ("w");
  g_autoptr(RthunkValue) nested = NULL;
  g_autoptr(RthunkValue) mixed = NULL;
  g_autoptr(RthunkType) t1 = NULL;
  g_autoptr(RthunkType) t2 = NULL;
  g_autoptr(RthunkType) t3 = NULL;
  g_autoptr(RthunkType) t4 = NULL;
  g_autoptr(GError) error = NULL;
  RthunkValue *items[2];
  guint next_var = 0;

  t1 = rthunk_type_of_value (nums, &next_var, &error);
  g_assert_no_error (error);
  assert_prints (t1, "[int]");
  t2 = rthunk_type_of_value (empty, &next_var, &error);
  g_assert_no_error (error);
  assert_prints (t2, "[a]");
  items[0] = nums;
  items[1] = empty;
  nested = rthunk_value_new_list (items, 2);
  t3 = rthunk_type_of_value (nested, &next_var, &error);
  g_assert_no_error (error);
  assert_prints (t3, "[[int]]");
  items[1] = word;
  mixed = rthunk_value_new_list (items, 2);
  t4 = rthunk_type_of_value (mixed, &next_var, &error);
  g_assert_null (t4);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
}

/* Field names are keyword names: the printed record reads back. */
static void
test_record_names (void)
{
  static const char *const good[] = { "first-name", "ok?" };
  static const char *const spaced[] = { "first name" };
  static const char *const empty[] = { "" };
  g_autoptr(RthunkType) str = rthunk_type_new_basic (RTHUNK_TYPE_STR);
  g_autoptr(RthunkValue) text = rthunk_value_new_str ("x");
  RthunkType *types[] = { str, str };
  RthunkValue *values[] = { text, text };
  g_autoptr(RthunkType) type = rthunk_type_new_record (good, types, 2, NULL);
  g_autoptr(RthunkValue) value = rthunk_value_new_record (good, values, 2);

  assert_prints (type, "{first-name: str, ok?: str}");
  g_assert_cmpstr (rthunk_type_get_field_name (type, 1), ==, "ok?");
  g_assert_nonnull (value);
  g_assert_null (rthunk_type_new_record (spaced, types, 1, NULL));
  g_assert_null (rthunk_type_new_record (empty, types, 1, NULL));
  g_assert_null (rthunk_value_new_record (spaced, values, 1));
  g_assert_null (rthunk_value_new_record (empty, values, 1));
}

/* nil among values of a type: a list of maybe values; only nils: [nil] */
static void
test_type_of_maybe_values (void)
{
  g_autoptr(RthunkValue) nil = rthunk_value_new_nil ();
  g_autoptr(RthunkValue) one = rthunk_value_new_int (1);
  RthunkValue *items[3] = { nil, one, nil };
  g_autoptr(RthunkValue) mixed = rthunk_value_new_list (items, 3);
  g_autoptr(RthunkValue) first = rthunk_value_new_list (items + 1, 2);
  g_autoptr(RthunkValue) nils = rthunk_value_new_list (items + 2, 1);
  g_autoptr(RthunkType) t1 = NULL;
  g_autoptr(RthunkType) t2 = NULL;
  g_autoptr(RthunkType) t3 = NULL;
  guint next_var = 0;

  t1 = rthunk_type_of_value (mixed, &next_var, NULL);
  assert_prints (t1, "[(maybe int)]");
  t2 = rthunk_type_of_value (first, &next_var, NULL);
  assert_prints (t2, "[(maybe int)]");
  t3 = rthunk_type_of_value (nils, &next_var, NULL);
  assert_prints (t3, "[nil]");
}

static void
test_type_of_function_value (void)
{
  g_autoptr(RthunkValue) func = rthunk_value_new_func ("f", NULL, NULL);
  g_autoptr(RthunkType) type = NULL;
  g_autoptr(GError) error = NULL;
  guint next_var = 0;

  type = rthunk_type_of_value (func, &next_var, &error);
  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
}

/* ---- main --------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  TEST_ADD_TABLE (roundtrip_cases, test_roundtrip);
  TEST_ADD_TABLE (parse_error_cases, test_parse_error);
  g_test_add_func ("/types/parse-error/too-deep", test_parse_too_deep);
  g_test_add_func ("/types/parse/deep-enough", test_parse_deep_enough);
  g_test_add_func ("/types/accessors", test_accessors);
  g_test_add_func ("/types/constructors", test_constructors);
  g_test_add_func ("/types/equal/up-to-names", test_equal_up_to_names);
  g_test_add_func ("/types/print/many-variables", test_many_variables_print);
  TEST_ADD_TABLE (unify_cases, test_unify);
  g_test_add_func ("/types/unify/chained-vars", test_unify_chained);
  g_test_add_func ("/types/scheme/instantiate-is-fresh", test_instantiate_is_fresh);
  g_test_add_func ("/types/scheme/instantiate-many-variables", test_instantiate_many_variables);
  g_test_add_func ("/types/scheme/generalize-by-level", test_generalize_by_level);
  g_test_add_func ("/types/scheme/binding-adjusts-levels", test_binding_adjusts_levels);
  g_test_add_func ("/types/of-value/lists", test_type_of_values);
  g_test_add_func ("/types/of-value/maybe", test_type_of_maybe_values);
  g_test_add_func ("/types/record/names", test_record_names);
  g_test_add_func ("/types/of-value/function", test_type_of_function_value);

  return g_test_run ();
}
