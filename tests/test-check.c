/* test-check.c — type inference against the standard library catalog */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "rthunk.h"
#include "rthunk-lang-private.h"
#include "testtable.h"

#define SOURCE TEST_SOURCE

/* ---- helpers ------------------------------------------------------------------ */

static RthunkChecker *
new_checker (void)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();

  return rthunk_checker_new (catalog);
}

/* Checks every form of @text but the last one, which it returns. */
static RthunkNode *
check_prefix (RthunkChecker *checker,
              GPtrArray     *forms)
{
  g_assert_cmpuint (forms->len, >, 0);
  for (guint k = 0; k + 1 < forms->len; k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkType) type = rthunk_checker_check (checker, g_ptr_array_index (forms, k), &error);

      g_assert_no_error (error);
      g_assert_nonnull (type);
    }
  return g_ptr_array_index (forms, forms->len - 1);
}

/* ---- well-typed expressions ----------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;       /* forms checked in order by one checker */
  const char *type;       /* of the last one */
} TypeCase;

static const TypeCase type_cases[] = {
  /* literals */
  { "/check/type/literal/int", "42", "int" },
  { "/check/type/literal/float", "1.5", "float" },
  { "/check/type/literal/str", "\"s\"", "str" },
  { "/check/type/literal/bool", "true", "bool" },
  { "/check/type/literal/nil", "nil", "nil" },
  { "/check/type/literal/list", "[1 2 3]", "[int]" },
  { "/check/type/literal/empty-list", "[]", "[a]" },
  { "/check/type/literal/nested-list", "[[1] []]", "[[int]]" },
  { "/check/type/record/literal", "{:name \"ada\" :age 36}", "{age: int, name: str}" },
  { "/check/type/record/empty", "{}", "{}" },
  { "/check/type/record/nested", "{:p {:x 1.5} :tags [\"a\"]}", "{p: {x: float}, tags: [str]}" },
  { "/check/type/record/field", "(:age {:name \"ada\" :age 36})", "int" },
  { "/check/type/record/get", "(get {:name \"ada\" :age 36} :name)", "str" },
  { "/check/type/record/assoc-keeps-type", "(assoc {:name \"ada\" :age 36} :age 37)", "{age: int, name: str}" },
  { "/check/type/record/keys", "(keys {:a 1})", "[str]" },
  { "/check/type/record/row-polymorphic", "(fn [r] (:age r))", "({age: a | b} -> a)" },
  { "/check/type/record/two-fields", "(fn [r] (+ (:age r) (:n r)))", "num a => ({age: a, n: a | b} -> a)" },
  { "/check/type/record/assoc-open", "(fn [r] (assoc r :age 1))", "({age: int | a} -> {age: int | a})" },
  { "/check/type/record/applied", "((fn [r] (:age r)) {:age 3 :x \"s\"})", "int" },
  { "/check/type/record/generalized", "(let [age (fn [r] (:age r))] [(age {:age 1}) (age {:age 2 :b true})])", "[int]" },
  { "/check/type/record/keyword-function", ":age", "({age: a | b} -> a)" },
  { "/check/type/record/map-keyword", "(map :age [{:age 1} {:age 2}])", "[int]" },
  { "/check/type/record/eq", "(= {:a 1} {:a 2})", "bool" },
  { "/check/type/maybe/parse-int", "(parse-int \"36\")", "(maybe int)" },
  { "/check/type/maybe/parse-float", "(parse-float \"3.5\")", "(maybe float)" },
  { "/check/type/maybe/or-else", "(or-else (parse-int \"x\") 0)", "int" },
  { "/check/type/maybe/some-p-nil", "(some? nil)", "bool" },
  { "/check/type/maybe/some", "(some 1)", "(maybe int)" },
  { "/check/type/maybe/if-nil-first", "(if true nil (some 3))", "(maybe int)" },
  { "/check/type/maybe/if-nil-second", "(if true (some 3) nil)", "(maybe int)" },
  { "/check/type/maybe/list-nil-first", "[nil (some 1)]", "[(maybe int)]" },
  { "/check/type/maybe/param", "(fn [m] (or-else m 0))", "((maybe int) -> int)" },
  { "/check/type/maybe/map", "(map parse-int [\"1\" \"x\"])", "[(maybe int)]" },
  { "/check/type/maybe/record-field", "{:age (parse-int \"36\") :name \"ada\"}", "{age: (maybe int), name: str}" },
  { "/check/type/maybe/eq", "(= (parse-int \"1\") nil)", "bool" },
  { "/check/type/record/list", "[{:a 1 :b \"x\"} {:b \"y\" :a 2}]", "[{a: int, b: str}]" },
  { "/check/type/literal/list-of-strings", "[\"a\" \"b\"]", "[str]" },
  /* the catalog */
  { "/check/type/call/add-int", "(+ 1 2)", "int" },
  { "/check/type/call/add-float", "(+ 1.5 2.0)", "float" },
  { "/check/type/call/nested", "(+ 1 (/ 4 2))", "int" },
  { "/check/type/call/mod", "(mod 7 2)", "int" },
  { "/check/type/call/eq", "(= 1 1)", "bool" },
  { "/check/type/call/eq-lists", "(= [1 2] [3])", "bool" },
  { "/check/type/call/ne-strings", "(!= \"a\" \"b\")", "bool" },
  { "/check/type/call/lt-int", "(< 1 2)", "bool" },
  { "/check/type/call/lt-str", "(< \"a\" \"b\")", "bool" },
  { "/check/type/call/not", "(not (> 2.0 1.0))", "bool" },
  { "/check/type/call/function-value", "+", "num a => (a a -> a)" },
  { "/check/type/call/eq-value", "=", "eq a => (a a -> bool)" },
  /* special forms */
  { "/check/type/if", "(if true 1 2)", "int" },
  { "/check/type/if-condition-call", "(if (< 1 2) \"small\" \"big\")", "str" },
  { "/check/type/do", "(do 1 \"a\")", "str" },
  { "/check/type/and", "(and true (< 1 2))", "bool" },
  { "/check/type/or", "(or false true false)", "bool" },
  { "/check/type/let", "(let [a 1 b (+ a 1)] (* a b))", "int" },
  { "/check/type/let-shadows", "(let [a 1 a \"s\"] a)", "str" },
  { "/check/type/let-body-of-several", "(let [a 1] a \"s\" true)", "bool" },
  { "/check/type/loop", "(loop [i 0] (if (< i 3) (recur (+ i 1)) i))", "int" },
  { "/check/type/loop-two-vars", "(loop [i 0 acc 0] (if (< i 10) (recur (+ i 1) (+ acc i)) acc))", "int" },
  { "/check/type/loop-recur-in-let", "(loop [i 0] (let [j (+ i 1)] (if (< j 3) (recur j) j)))", "int" },
  { "/check/type/loop-recur-in-do", "(loop [i 0] (do 1 (if (< i 3) (recur (+ i 1)) i)))", "int" },
  { "/check/type/loop-nested", "(loop [i 0] (if (< i 3) (recur (loop [j i] (if (< j 5) (recur (+ j 1)) j))) i))", "int" },
  { "/check/type/remote", "(remote (+ 1 2))", "int" },
  { "/check/type/remote-options", "(remote :on \"alpha\" :needs \"db\" (+ 1 2))", "int" },
  { "/check/type/remote-ref", "(remote :ref (range 0 3))", "[int]" },
  { "/check/type/remote-ref-and-on", "(remote :on \"alpha\" :ref :needs \"db\" (+ 1 2))", "int" },
  { "/check/type/remote-value-input", "(let [x 2] (remote (* x x)))", "int" },
  { "/check/type/await", "(await (remote 1.5))", "float" },
  { "/check/type/remote-defn-travels", "(defn f [x] (* x 2)) (remote (f 21))", "int" },
  /* functions and inference */
  { "/check/type/fn/identity", "(fn [x] x)", "(a -> a)" },
  { "/check/type/fn/no-params", "(fn [] 1)", "(-> int)" },
  { "/check/type/fn/const", "(fn [x y] x)", "(a b -> a)" },
  { "/check/type/fn/numeric", "(fn [x y] (+ x y))", "num a => (a a -> a)" },
  { "/check/type/fn/comparable", "(fn [x y] (= x y))", "eq a => (a a -> bool)" },
  { "/check/type/fn/ordered", "(fn [x] (< x x))", "ord a => (a -> bool)" },
  { "/check/type/fn/fixed-by-literal", "(fn [x] (+ x 1))", "(int -> int)" },
  { "/check/type/fn/twice", "(fn [f x] (f (f x)))", "((a -> a) a -> a)" },
  { "/check/type/fn/compose", "(fn [f g] (fn [x] (f (g x))))", "((a -> b) (c -> a) -> (c -> b))" },
  { "/check/type/fn/apply-now", "((fn [x] (+ x 1)) 2)", "int" },
  { "/check/type/fn/list-of-param", "(fn [x] [x x])", "(a -> [a])" },
  { "/check/type/fn/closure", "(let [x 1] (fn [y] (+ x y)))", "(int -> int)" },
  { "/check/type/fn/param-not-generalised", "(fn [x] (let [y x] (+ y 1)))", "(int -> int)" },
  { "/check/type/fn/captured-param-stays-mono", "(fn [x] (let [f (fn [y] x)] (f 1)))", "(a -> a)" },
  { "/check/type/let-polymorphism", "(let [id (fn [x] x)] (id 1))", "int" },
  { "/check/type/let-polymorphism-two-uses", "(let [id (fn [x] x)] (if (id true) (id 1) 2))", "int" },
  { "/check/type/let-polymorphism-list", "(let [id (fn [x] x)] [(id [1]) (id [])])", "[[int]]" },
  { "/check/type/defn/recursive", "(defn f [n] (if (< n 2) n (f (- n 1))))", "(int -> int)" },
  { "/check/type/defn/fib", "(defn fib [n] (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))", "(int -> int)" },
  { "/check/type/defn/then-call", "(defn sq [n] (* n n)) (sq 2.5)", "float" },
  { "/check/type/defn/generic", "(defn id [x] x)", "(a -> a)" },
  { "/check/type/defn/generalised", "(defn id [x] x) (if (id true) (id 1) 0)", "int" },
  { "/check/type/defn/numeric-generic", "(defn sq [n] (* n n)) [(sq 2) (sq 3)]", "[int]" },
  { "/check/type/defn/returns-closure", "(defn adder [n] (fn [x] (+ x n))) ((adder 3) 4)", "int" },
  { "/check/type/def/value", "(def x 10)", "int" },
  { "/check/type/def/then-use", "(def x 10) (+ x 1)", "int" },
  { "/check/type/def/generic-function", "(def id (fn [x] x)) [(id 1) (id 2)]", "[int]" },
  { "/check/type/def/redefined", "(def x 10) (def x \"s\") x", "str" },
  { "/check/type/def/in-do", "(do (def x 1) x)", "int" },
};

static void
test_type (gconstpointer data)
{
  const TypeCase *tc = data;
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  RthunkNode *last = check_prefix (checker, forms);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check (checker, last, &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  text = rthunk_type_to_string (type);
  g_assert_cmpstr (text, ==, tc->type);
}

/* ---- type errors ---------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;          /* the last form fails */
  RthunkError code;
  guint       line;
  guint       col;
  const char *fragments[4];  /* NULL-terminated: parts of the message */
} ErrorCase;

static const ErrorCase error_cases[] = {
  /* a maybe is not its value: or-else gives the value */
  { "/check/error/maybe/add", "(+ 1 (parse-int \"3\"))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 6,
    { "argument 2 of +", "expected int", "found (maybe int)", NULL } },
  { "/check/error/maybe/or-else-default", "(or-else (parse-int \"36\") \"x\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 27,
    { "argument 2 of or-else", "expected int", "found str", NULL } },
  { "/check/error/maybe/some-p-int", "(some? 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 8,
    { "expected (maybe a)", "found int", NULL } },
  /* records: a missing field is named with the record's fields */
  { "/check/error/record/missing-field", "(:agee {:name \"ada\" :age 36})", RTHUNK_ERROR_TYPE_MISMATCH, 1, 8,
    { "no field “:agee”", "did you mean “:age”", ":age :name", NULL } },
  { "/check/error/record/missing-through-fn", "((fn [r] (:salary r)) {:name \"ada\"})", RTHUNK_ERROR_TYPE_MISMATCH, 1, 23,
    { "salary", "name", NULL } },
  { "/check/error/record/get-missing", "(get {:x 1} :y)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 6,
    { "no field “:y”", "its fields: :x", NULL } },
  { "/check/error/record/assoc-other-type", "(assoc {:age 1} :age \"x\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 22,
    { "field “:age”", "expected int", "found str", NULL } },
  { "/check/error/record/assoc-missing", "(assoc {:age 1} :name \"x\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 8,
    { "no field “:name”", ":age", NULL } },
  { "/check/error/record/not-a-record", "(:age 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 7,
    { "field access", "found int", NULL } },
  { "/check/error/record/list-of-different", "[{:a 1} {:b 1}]", RTHUNK_ERROR_TYPE_MISMATCH, 1, 9,
    { "list element", "expected {a: int}", "found {b: int}", NULL } },
  { "/check/error/record/odd", "{:a}", RTHUNK_ERROR_SYNTAX, 1, 1, { "a value after each field", NULL } },
  { "/check/error/record/not-keyword", "{\"a\" 1}", RTHUNK_ERROR_SYNTAX, 1, 2, { "keyword", NULL } },
  { "/check/error/record/repeated", "{:a 1 :a 2}", RTHUNK_ERROR_SYNTAX, 1, 1, { "repeats", NULL } },
  { "/check/error/record/compare-order", "(< {:a 1} {:a 2})", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "expected ord a => a", NULL } },
  /* mismatches name the expected and the found type */
  { "/check/error/add-int-str", "(+ 1 \"x\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 6,
    { "argument 2 of +", "expected int", "found str", NULL } },
  { "/check/error/add-str-first", "(+ \"x\" 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "argument 1 of +", "expected num a => a", "found str", NULL } },
  { "/check/error/int-float-hint", "(+ 1 2.5)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 6,
    { "expected int", "found float", "(float x)", NULL } },
  { "/check/error/float-int-hint", "(* 2.5 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 8,
    { "expected float", "found int", "int and float do not mix", NULL } },
  { "/check/error/if-condition", "(if 1 2 3)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 5,
    { "condition of if", "expected bool", "found int", NULL } },
  { "/check/error/if-branches", "(if true 1 \"a\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 12,
    { "branches of if", "expected int", "found str", NULL } },
  { "/check/error/compare-functions", "(= (fn [x] x) (fn [x] x))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "argument 1 of =", "found (a -> a)", "functions cannot be compared", NULL } },
  { "/check/error/compare-function-lists", "(= [+] [+])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "argument 1 of =", NULL } },
  { "/check/error/order-bools", "(< true false)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "expected ord a => a", "found bool", NULL } },
  { "/check/error/add-bools", "(+ true false)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "expected num a => a", "found bool", NULL } },
  { "/check/error/list-mixed", "[1 \"a\"]", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "list element", "expected int", "found str", NULL } },
  { "/check/error/list-mixed-late", "[[1] [2] [\"a\"]]", RTHUNK_ERROR_TYPE_MISMATCH, 1, 10,
    { "list element", "expected [int]", "found [str]", NULL } },
  { "/check/error/and-operand", "(and true 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 11,
    { "operand of and/or", "expected bool", "found int", NULL } },
  { "/check/error/not-a-function", "(1 2)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 2,
    { "not a function", "found int", NULL } },
  { "/check/error/self-application", "(fn [x] (x x))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 12,
    { "argument 1 of x", NULL } },
  { "/check/error/second-line", "(let [x 1]\n  (+ x \"s\"))", RTHUNK_ERROR_TYPE_MISMATCH, 2, 8,
    { "expected int", "found str", NULL } },
  { "/check/error/after-defn", "(defn sq [n] (* n n)) (sq \"s\")", RTHUNK_ERROR_TYPE_MISMATCH, 1, 27,
    { "argument 1 of sq", "expected num a => a", "found str", NULL } },
  { "/check/error/monomorphic-param", "(fn [f] [(f 1) (f \"s\")])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 19,
    { "expected int", "found str", NULL } },
  { "/check/error/recur-value-type", "(loop [i 0] (recur \"a\"))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 20,
    { "value for a loop variable", "expected int", "found str", NULL } },
  /* arity */
  { "/check/error/arity-too-few", "(+ 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 1,
    { "+ takes 2 arguments, got 1", NULL } },
  { "/check/error/arity-too-many", "(not true false)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 1,
    { "not takes 1 arguments, got 2", NULL } },
  { "/check/error/arity-lambda", "((fn [x] x) 1 2)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 1,
    { "takes 1 arguments, got 2", NULL } },
  { "/check/error/arity-defn", "(defn f [a b] a) (f 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 18,
    { "f takes 2 arguments, got 1", NULL } },
  /* names */
  { "/check/error/unknown-name", "nope", RTHUNK_ERROR_UNBOUND_NAME, 1, 1,
    { "“nope” is not defined", NULL } },
  { "/check/error/unknown-function", "(frobnicate 1)", RTHUNK_ERROR_UNBOUND_NAME, 1, 2,
    { "“frobnicate” is not defined", NULL } },
  { "/check/error/did-you-mean-function", "(mapp (fn [x] x) [1])", RTHUNK_ERROR_UNBOUND_NAME, 1, 2,
    { "“mapp” is not defined; did you mean “map”?", NULL } },
  { "/check/error/did-you-mean-local", "(let [count 1] (+ coutn 1))", RTHUNK_ERROR_UNBOUND_NAME, 1, 19,
    { "“coutn” is not defined; did you mean “count”?", NULL } },
  { "/check/error/did-you-mean-form", "(lett [x 1] x)", RTHUNK_ERROR_UNBOUND_NAME, 1, 2,
    { "did you mean “let”?", NULL } },
  { "/check/error/unknown-argument", "(+ 1 y)", RTHUNK_ERROR_UNBOUND_NAME, 1, 6,
    { "“y” is not defined", NULL } },
  { "/check/error/let-is-sequential-not-recursive", "(let [a b b 1] a)", RTHUNK_ERROR_UNBOUND_NAME, 1, 9,
    { "“b” is not defined", NULL } },
  { "/check/error/param-out-of-scope", "(do (fn [x] x) x)", RTHUNK_ERROR_UNBOUND_NAME, 1, 16,
    { "“x” is not defined", NULL } },
  /* recur */
  { "/check/error/recur-outside-loop", "(recur 1)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "recur outside of a loop", NULL } },
  { "/check/error/recur-in-function", "(loop [i 0] (fn [] (recur 1)))", RTHUNK_ERROR_SYNTAX, 1, 20,
    { "recur outside of a loop", NULL } },
  { "/check/error/recur-in-defn", "(defn f [n] (recur n))", RTHUNK_ERROR_SYNTAX, 1, 13,
    { "recur outside of a loop", NULL } },
  { "/check/error/recur-not-tail-arg", "(loop [i 0] (+ 1 (recur i)))", RTHUNK_ERROR_SYNTAX, 1, 18,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-not-tail-do", "(loop [i 0] (do (recur 1) 2))", RTHUNK_ERROR_SYNTAX, 1, 17,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-in-condition", "(loop [i 0] (if (recur 1) 1 2))", RTHUNK_ERROR_SYNTAX, 1, 17,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-in-binding", "(loop [i 0] (let [j (recur 1)] j))", RTHUNK_ERROR_SYNTAX, 1, 21,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-in-and", "(loop [i true] (and i (recur false)))", RTHUNK_ERROR_SYNTAX, 1, 23,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-in-list", "(loop [i 0] [(recur 1)])", RTHUNK_ERROR_SYNTAX, 1, 14,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-in-remote", "(loop [i 0] (remote (recur 1)))", RTHUNK_ERROR_SYNTAX, 1, 21,
    { "recur must be in tail position", NULL } },
  { "/check/error/recur-arity", "(loop [i 0] (recur 1 2))", RTHUNK_ERROR_SYNTAX, 1, 13,
    { "recur takes 1 values", "got 2", NULL } },
  /* def and defn only at the top */
  { "/check/error/def-in-let", "(let [x 1] (def y 2))", RTHUNK_ERROR_SYNTAX, 1, 12,
    { "“def” is only allowed at the top level", NULL } },
  { "/check/error/defn-in-let", "(let [x 1] (defn f [] x))", RTHUNK_ERROR_SYNTAX, 1, 12,
    { "“defn” is only allowed at the top level", NULL } },
  { "/check/error/def-in-defn", "(defn f [x] (def y x))", RTHUNK_ERROR_SYNTAX, 1, 13,
    { "only allowed at the top level", NULL } },
  { "/check/error/def-in-fn", "(fn [x] (def y x))", RTHUNK_ERROR_SYNTAX, 1, 9,
    { "only allowed at the top level", NULL } },
  { "/check/error/def-in-fn-without-params", "(fn [] (def y 1))", RTHUNK_ERROR_SYNTAX, 1, 8,
    { "only allowed at the top level", NULL } },
  { "/check/error/def-in-loop-body", "(loop [] (def y 1))", RTHUNK_ERROR_SYNTAX, 1, 10,
    { "only allowed at the top level", NULL } },
  { "/check/error/def-in-def", "(def x (def y 1))", RTHUNK_ERROR_SYNTAX, 1, 8,
    { "only allowed at the top level", NULL } },
  { "/check/error/def-in-remote", "(remote (def y 1))", RTHUNK_ERROR_SYNTAX, 1, 9,
    { "only allowed at the top level", NULL } },
  /* malformed special forms */
  { "/check/error/def-empty", "(def)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“def” takes 2 forms, got 0", NULL } },
  { "/check/error/def-not-a-name", "(def 1 2)", RTHUNK_ERROR_SYNTAX, 1, 6,
    { "the name of def must be a name", NULL } },
  { "/check/error/defn-no-body", "(defn f [x])", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“defn” takes at least 3 forms, got 2", NULL } },
  { "/check/error/if-without-else", "(if true 1)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“if” takes 3 forms, got 2", NULL } },
  { "/check/error/fn-no-body", "(fn [x])", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“fn” takes at least 2 forms, got 1", NULL } },
  { "/check/error/fn-params-not-vector", "(fn x x)", RTHUNK_ERROR_SYNTAX, 1, 5,
    { "parameters are written as a vector", NULL } },
  { "/check/error/fn-param-not-symbol", "(fn [1] 1)", RTHUNK_ERROR_SYNTAX, 1, 6,
    { "a parameter must be a name", NULL } },
  { "/check/error/let-odd-bindings", "(let [x] x)", RTHUNK_ERROR_SYNTAX, 1, 6,
    { "let needs a vector of name–value pairs", NULL } },
  { "/check/error/let-bindings-not-vector", "(let (x 1) x)", RTHUNK_ERROR_SYNTAX, 1, 6,
    { "let needs a vector", NULL } },
  { "/check/error/let-name-not-symbol", "(let [\"x\" 1] 2)", RTHUNK_ERROR_SYNTAX, 1, 7,
    { "a let binding must be a name", NULL } },
  { "/check/error/let-no-body", "(let [x 1])", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“let” takes at least 2 forms, got 1", NULL } },
  { "/check/error/do-empty", "(do)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "the body is empty", NULL } },
  { "/check/error/loop-odd-bindings", "(loop [i] i)", RTHUNK_ERROR_SYNTAX, 1, 7,
    { "loop needs a vector", NULL } },
  { "/check/error/await-arity", "(await)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "“await” takes 1 forms, got 0", NULL } },
  { "/check/error/empty-call", "()", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "the empty list is []", NULL } },
  /* a keyword is a function that reads a field: not a number */
  { "/check/error/keyword-as-value", "(+ :a 1)", RTHUNK_ERROR_TYPE_MISMATCH, 1, 4,
    { "argument 1 of +", "found ({a: a | b} -> a)", NULL } },
  /* remote */
  { "/check/error/remote-nested", "(remote (remote 1))", RTHUNK_ERROR_SYNTAX, 1, 9,
    { "remote inside remote", NULL } },
  { "/check/error/remote-empty", "(remote)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "remote takes options", NULL } },
  { "/check/error/remote-two-exprs", "(remote 1 2)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "remote takes options", NULL } },
  { "/check/error/remote-ref-alone", "(remote :ref)", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "remote takes options", NULL } },
  { "/check/error/remote-value-missing", "(remote :on (+ 1 2))", RTHUNK_ERROR_SYNTAX, 1, 1,
    { "remote takes options", NULL } },
  { "/check/error/remote-option-misspelt", "(remote :onn \"gamma\" (+ 1 2))", RTHUNK_ERROR_SYNTAX, 1, 9,
    { "remote has no option :onn; did you mean :on?", NULL } },
  { "/check/error/remote-option-unknown", "(remote :colour 100 (+ 1 2))", RTHUNK_ERROR_SYNTAX, 1, 9,
    { "remote has no option :colour", ":on, :needs, :verify, :timeout and :ref", NULL } },
  { "/check/error/remote-option-type", "(remote :on 3 (+ 1 2))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 13,
    { "expected str, found int", NULL } },
  { "/check/error/remote-verify-type", "(remote :verify \"two\" (+ 1 2))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 17,
    { "expected int, found str", NULL } },
  { "/check/error/remote-captures-function", "(let [f (fn [x] x)] (remote (f 1)))", RTHUNK_ERROR_INVALID_REQUEST, 1, 30,
    { "the function “f” cannot be sent", NULL } },
  { "/check/error/remote-def-function", "(def f (fn [x] x)) (remote (f 1))", RTHUNK_ERROR_INVALID_REQUEST, 1, 29,
    { "the function “f” cannot be sent", NULL } },
};

static void
test_error (gconstpointer data)
{
  const ErrorCase *tc = data;
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  RthunkNode *last = check_prefix (checker, forms);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check (checker, last, &error);

  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, (gint) tc->code);
  test_assert_error_at (error, tc->line, tc->col, NULL);
  for (guint k = 0; tc->fragments[k] != NULL; k++)
    test_assert_mentions (error->message, tc->fragments[k]);
}

/* ---- the checker as an object ------------------------------------------------------ */

static void
test_node_types (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok ("(let [id (fn [x] x)] [(id 1.5)])");
  RthunkNode *form = g_ptr_array_index (forms, 0);
  RthunkNode *vector = rthunk_node_get_item (form, 2);
  RthunkNode *call = rthunk_node_get_item (vector, 0);
  RthunkNode *lambda = rthunk_node_get_item (rthunk_node_get_item (form, 1), 1);
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check_typed (checker, form, &node_types, &error);
  g_autofree char *vector_type = NULL;
  g_autofree char *call_type = NULL;
  g_autofree char *lambda_type = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (node_types);
  vector_type = rthunk_type_to_string (g_hash_table_lookup (node_types, vector));
  call_type = rthunk_type_to_string (g_hash_table_lookup (node_types, call));
  lambda_type = rthunk_type_to_string (g_hash_table_lookup (node_types, lambda));
  g_assert_cmpstr (vector_type, ==, "[float]");
  g_assert_cmpstr (call_type, ==, "float");
  g_assert_cmpstr (lambda_type, ==, "(a -> a)");
  g_assert_true (g_hash_table_contains (node_types, form));
}

static void
test_node_types_on_error (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok ("(+ 1 \"x\")");
  GHashTable *node_types = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check_typed (checker, g_ptr_array_index (forms, 0),
                                                            &node_types, &error);

  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
  g_assert_null (node_types);
}

static void
test_bind_and_lookup (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(RthunkType) list = rthunk_type_parse ("[str]", NULL);
  g_autoptr(GPtrArray) forms = test_read_ok ("(def n 1) [n] names");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *text = NULL;

  g_assert_null (rthunk_checker_lookup (checker, "names"));
  rthunk_checker_bind (checker, "names", list);
  check_prefix (checker, forms);
  type = rthunk_checker_check (checker, g_ptr_array_index (forms, 2), &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_type_equal (type, list));
  text = rthunk_type_to_string (rthunk_checker_lookup (checker, "n"));
  g_assert_cmpstr (text, ==, "int");
}

/* A failed check leaves the checker usable, and its globals as they were. */
static void
test_error_then_success (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok ("(def x (+ 1 \"s\")) (def x 2) (+ x 1)");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) bad = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  g_autoptr(RthunkType) def = NULL;
  g_autoptr(RthunkType) use = NULL;

  g_assert_null (bad);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH);
  g_assert_null (rthunk_checker_lookup (checker, "x"));
  g_clear_error (&error);
  def = rthunk_checker_check (checker, g_ptr_array_index (forms, 1), &error);
  g_assert_no_error (error);
  use = rthunk_checker_check (checker, g_ptr_array_index (forms, 2), &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_type_get_kind (use), ==, RTHUNK_TYPE_INT);
}

static void
test_remote_not_allowed (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(GPtrArray) forms = test_read_ok ("(remote 1)");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  type = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  g_assert_null (type);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  test_assert_mentions (error->message, "remote is not available here");
}

/* Inside remote, names come from the server's catalog. */
static void
test_remote_catalog (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(RthunkCatalog) server = rthunk_catalog_new ();
  g_autoptr(RthunkType) slow = rthunk_type_parse ("(int -> int)", NULL);
  g_autoptr(GPtrArray) forms = test_read_ok ("(remote (slow 1)) (remote (+ 1 2)) (slow 1)");
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) ok = NULL;
  g_autoptr(RthunkType) missing = NULL;
  g_autoptr(RthunkType) local = NULL;

  g_assert_true (rthunk_catalog_add_remote (server, "slow", slow, RTHUNK_FUNC_PURE, "slowly", &error));
  g_assert_no_error (error);
  rthunk_checker_set_remote_catalog (checker, server);
  ok = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  g_assert_no_error (error);
  g_assert_cmpint (rthunk_type_get_kind (ok), ==, RTHUNK_TYPE_INT);
  /* + is local only: the server does not provide it */
  missing = rthunk_checker_check (checker, g_ptr_array_index (forms, 1), &error);
  g_assert_null (missing);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION);
  test_assert_mentions (error->message, "<test>:1:28: error: “+” is not provided by the server");
  g_clear_error (&error);
  /* and outside remote, slow is unknown */
  local = rthunk_checker_check (checker, g_ptr_array_index (forms, 2), &error);
  g_assert_null (local);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNBOUND_NAME);
}

/* ---- the memo of forms by shape (rthunk-check-memo.c) ---------------------------- */

/* Checks @text's one form; its type must print as @printed, and come
 * from the memo (@hit) or not. */
static void
check_memo (RthunkChecker *checker,
            const char    *text,
            const char    *printed,
            gboolean       hit)
{
  g_autoptr(GPtrArray) forms = test_read_ok (text);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *got = NULL;
  guint64 hits = rthunk_checker_get_memo_hits (checker);

  g_assert_cmpuint (forms->len, ==, 1);
  type = rthunk_checker_check (checker, g_ptr_array_index (forms, 0), &error);
  g_assert_no_error (error);
  got = rthunk_type_to_string (type);
  g_assert_cmpstr (got, ==, printed);
  g_assert_cmpuint (rthunk_checker_get_memo_hits (checker) - hits, ==, hit ? 1 : 0);
}

static RthunkValue *
memo_triple (RthunkCallContext  *context,
             RthunkValue *const *args,
             guint               n_args,
             gpointer            user_data,
             GError            **error)
{
  return rthunk_value_new_int (3 * rthunk_value_get_int (args[0]));
}

/* A form of a shape checked lately gets its type from the memo: not when
 * a literal has another kind, a string another text, a name another type
 * or the catalog another function; a def is checked every time, since it
 * binds its name. */
static void
test_memo_by_shape (void)
{
  g_autoptr(RthunkChecker) checker = new_checker ();
  g_autoptr(RthunkType) int_type = rthunk_type_parse ("int", NULL);
  g_autoptr(RthunkType) float_type = rthunk_type_parse ("float", NULL);
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkChecker) own = rthunk_checker_new (catalog);
  g_autoptr(GError) error = NULL;

  check_memo (checker, "(+ 1 2)", "int", FALSE);
  check_memo (checker, "(+ 30 40)", "int", TRUE);
  check_memo (checker, "(+ 1.5 2.5)", "float", FALSE);
  check_memo (checker, "(str-len \"ab\")", "int", FALSE);
  check_memo (checker, "(str-len \"abc\")", "int", FALSE);
  check_memo (checker, "(str-len \"abc\")", "int", TRUE);
  rthunk_checker_bind (checker, "x", int_type);
  check_memo (checker, "(* x 2)", "int", FALSE);
  check_memo (checker, "(* x 3)", "int", TRUE);
  rthunk_checker_bind (checker, "x", float_type);
  check_memo (checker, "(* x 4.0)", "float", FALSE);
  check_memo (checker, "(def y (* x 5.0))", "float", FALSE);
  check_memo (checker, "(def z (* x 6.0))", "float", FALSE);
  g_assert_nonnull (rthunk_checker_lookup (checker, "z"));
  /* a function the catalog gains may be what a name of the form means */
  check_memo (own, "(+ 1 2)", "int", FALSE);
  check_memo (own, "(+ 3 4)", "int", TRUE);
  g_assert_true (rthunk_catalog_add (catalog, "memo-triple", "(int -> int)", RTHUNK_FUNC_PURE,
                                     "for the tests", memo_triple, NULL, NULL, &error));
  g_assert_no_error (error);
  check_memo (own, "(+ 5 6)", "int", FALSE);
}

/* ---- the data functions (rthunk-stdlib-data.c) ---------------------------------- */

static const TypeCase data_type_cases[] = {
  { "/check/data/csv-parse", "(csv-parse \"a,b\")", "[[str]]" },
  { "/check/data/mean-ints", "(mean [1 2])", "float" },
  { "/check/data/mean-floats", "(mean [1.5])", "float" },
  { "/check/data/mean-function", "mean", "num a => ([a] -> float)" },
  { "/check/data/sort", "(sort [\"b\" \"a\"])", "[str]" },
  { "/check/data/sort-by", "(sort-by (fn [r] (nth r 1)) [[\"a\" \"b\"]])", "[[str]]" },
  { "/check/data/sort-by-function", "sort-by", "ord b => ((a -> b) [a] -> [a])" },
  { "/check/data/sort-by-float-key", "(sort-by float [3 1])", "[int]" },
  { "/check/data/group-by", "(group-by (fn [x] (mod x 2)) [1 2 3])", "[[int]]" },
  { "/check/data/group-by-function", "group-by", "eq b => ((a -> b) [a] -> [[a]])" },
  { "/check/data/group-by-list-key", "(group-by (fn [s] [s]) [\"a\"])", "[[str]]" },
  { "/check/data/split", "(split \"a,b\" \",\")", "[str]" },
  { "/check/data/trim-join", "(join \",\" (map trim [\" a\"]))", "str" },
  { "/check/data/column", "(column (csv-parse \"a\") 0)", "[str]" },
  { "/check/data/index-of", "(index-of [1 2] 2)", "int" },
  { "/check/data/mean-of-column", "(mean (map str-len (column (csv-parse \"a,b\") 1)))", "float" },
};

static const ErrorCase data_error_cases[] = {
  { "/check/data/error/mean-of-strings", "(mean [\"a\"])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 7,
    { "argument 1 of mean", "found [str]", NULL } },
  { "/check/data/error/mean-of-column-of-strings", "(mean (column (csv-parse \"a\") 0))", RTHUNK_ERROR_TYPE_MISMATCH, 1, 7,
    { "argument 1 of mean", "found [str]", NULL } },
  { "/check/data/error/sort-by-bool-key", "(sort-by (fn [x] (< x 1)) [1 2])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 10,
    { "argument 1 of sort-by", "bool", NULL } },
  { "/check/data/error/sort-functions", "(sort [+ -])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 7,
    { "argument 1 of sort", NULL } },
  { "/check/data/error/group-by-function-key", "(group-by (fn [x] (fn [y] x)) [1])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 11,
    { "argument 1 of group-by", "found (a -> (b -> a))", NULL } },
  { "/check/data/error/join-ints", "(join \",\" [1 2])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 11,
    { "argument 2 of join", "expected [str]", "found [int]", NULL } },
  { "/check/data/error/csv-parse-list", "(csv-parse [\"a\"])", RTHUNK_ERROR_TYPE_MISMATCH, 1, 12,
    { "argument 1 of csv-parse", "expected str", NULL } },
};

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  TEST_ADD_TABLE (type_cases, test_type);
  TEST_ADD_TABLE (error_cases, test_error);
  g_test_add_func ("/check/checker/node-types", test_node_types);
  g_test_add_func ("/check/checker/node-types-on-error", test_node_types_on_error);
  g_test_add_func ("/check/checker/bind-and-lookup", test_bind_and_lookup);
  g_test_add_func ("/check/checker/error-then-success", test_error_then_success);
  g_test_add_func ("/check/checker/remote-not-allowed", test_remote_not_allowed);
  g_test_add_func ("/check/checker/remote-catalog", test_remote_catalog);
  g_test_add_func ("/check/checker/memo-by-shape", test_memo_by_shape);
  TEST_ADD_TABLE (data_type_cases, test_type);
  TEST_ADD_TABLE (data_error_cases, test_error);

  return g_test_run ();
}
