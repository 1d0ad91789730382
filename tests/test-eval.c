/* test-eval.c — read, check and evaluate with the standard library */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gio/gio.h>

#include "rthunk.h"
#include "rthunk-lang-private.h"
#include "testtable.h"

#define SOURCE TEST_SOURCE
#define ANY_COL 0

/* ---- helpers ------------------------------------------------------------------ */

typedef struct {
  RthunkCatalog *catalog;
  RthunkChecker *checker;
  RthunkEvaluator *evaluator;
} Session;

static Session *
session_new (void)
{
  Session *session = g_new0 (Session, 1);

  session->catalog = rthunk_stdlib_new_catalog ();
  session->checker = rthunk_checker_new (session->catalog);
  session->evaluator = rthunk_evaluator_new (session->catalog);
  return session;
}

static void
session_free (Session *session)
{
  g_object_unref (session->evaluator);
  g_object_unref (session->checker);
  g_object_unref (session->catalog);
  g_free (session);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Session, session_free)

/* Reads, checks and evaluates every form of @text (as the shell does with
 * --local); returns the value of the last one, or NULL with @error set by
 * the evaluation of the last one. Earlier forms must succeed. */
static RthunkValue *
session_run (Session     *session,
             const char  *text,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, text, -1, &local_error);

  g_assert_no_error (local_error);
  g_assert_cmpuint (forms->len, >, 0);
  for (guint k = 0; k < forms->len; k++)
    {
      RthunkNode *form = g_ptr_array_index (forms, k);
      g_autoptr(RthunkType) type = rthunk_checker_check (session->checker, form, &local_error);
      RthunkValue *value;

      g_assert_no_error (local_error);
      g_assert_nonnull (type);
      value = rthunk_evaluator_eval (session->evaluator, form, k + 1 == forms->len ? error : &local_error);
      g_assert_no_error (local_error);
      if (k + 1 == forms->len)
        return value;
      rthunk_value_unref (value);
    }
  g_assert_not_reached ();
}

static char *
run_to_string (Session    *session,
               const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = session_run (session, text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (value);
  return rthunk_value_to_string (value);
}

/* ---- values and how they print -------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
  const char *printed;
} ValueCase;

static const ValueCase value_cases[] = {
  /* printing */
  { "/eval/print/int", "42", "42" },
  { "/eval/print/negative-int", "-7", "-7" },
  { "/eval/print/float", "2.5", "2.5" },
  { "/eval/print/float-whole", "1.0", "1.0" },
  { "/eval/print/float-ten", "(* 5.0 2.0)", "10.0" },
  { "/eval/print/float-thousand", "1e3", "1000.0" },
  { "/eval/print/float-negative", "-2.5e-3", "-0.0025" },
  { "/eval/print/float-small", "1.5e-7", "1.5e-07" },
  { "/eval/print/float-large", "1e20", "1e+20" },
  { "/eval/print/float-shortest", "(+ 0.1 0.2)", "0.30000000000000004" },
  { "/eval/print/float-third", "(/ 1.0 3.0)", "0.3333333333333333" },
  { "/eval/print/float-infinity", "(/ 1.0 0.0)", "##Inf" },
  { "/eval/print/float-minus-infinity", "(/ -1.0 0.0)", "##-Inf" },
  { "/eval/print/float-nan", "(- (/ 1.0 0.0) (/ 1.0 0.0))", "##NaN" },
  { "/eval/read/float-infinity", "(+ ##Inf 1.0)", "##Inf" },
  { "/eval/read/float-nan", "(= ##NaN ##NaN)", "false" },
  { "/eval/print/true", "true", "true" },
  { "/eval/print/false", "false", "false" },
  { "/eval/print/nil", "nil", "nil" },
  { "/eval/print/string", "\"text\"", "\"text\"" },
  { "/eval/print/string-escaped", "\"a\\nb\"", "\"a\\nb\"" },
  { "/eval/print/string-quote-and-backslash", "\"q\\\"\\\\\"", "\"q\\\"\\\\\"" },
  { "/eval/print/string-unicode", "\"\\u{e9}\\u{1F600}\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
  { "/eval/print/list", "[1 2 3]", "[1 2 3]" },
  { "/eval/print/empty-list", "[]", "[]" },
  { "/eval/print/nested-list", "[[1 2] [] [3]]", "[[1 2] [] [3]]" },
  { "/eval/print/list-of-strings", "[\"a\" \"b\"]", "[\"a\" \"b\"]" },
  { "/eval/print/list-computed", "[(+ 1 1) (* 2 2)]", "[2 4]" },
  /* maybe values: nil when absent, the value itself when present */
  { "/eval/maybe/parse-int", "(parse-int \"36\")", "36" },
  { "/eval/maybe/parse-int-blanks", "(parse-int \" -7 \")", "-7" },
  { "/eval/maybe/parse-int-plus", "(parse-int \"+7\")", "7" },
  { "/eval/maybe/parse-int-not", "[(parse-int \"3x\") (parse-int \"\") (parse-int \"1.5\") (parse-int \"99999999999999999999\")]", "[nil nil nil nil]" },
  { "/eval/maybe/parse-float", "[(parse-float \"3.5\") (parse-float \"36\") (parse-float \"-1e3\") (parse-float \".5\")]", "[3.5 36.0 -1000.0 0.5]" },
  { "/eval/maybe/parse-float-not", "[(parse-float \"nan\") (parse-float \"inf\") (parse-float \"0x10\") (parse-float \"1e999\") (parse-float \"x\")]", "[nil nil nil nil nil]" },
  { "/eval/maybe/or-else", "[(or-else (parse-int \"x\") 0) (or-else (parse-int \"5\") 0) (or-else nil 3)]", "[0 5 3]" },
  { "/eval/maybe/some-p", "[(some? (parse-int \"1\")) (some? nil) (some? (some 0))]", "[true false true]" },
  { "/eval/maybe/map", "(map parse-int [\"1\" \"x\" \"3\"])", "[1 nil 3]" },
  { "/eval/maybe/sum-present", "(sum (map (fn [s] (or-else (parse-int s) 0)) [\"1\" \"x\" \"3\"]))", "4" },
  { "/eval/maybe/record", "{:age (parse-int \"36\") :born (parse-int \"?\")}", "{:age 36 :born nil}" },
  /* records print with their fields in the order of their names */
  { "/eval/record/literal", "{:name \"ada\" :age 36}", "{:age 36 :name \"ada\"}" },
  { "/eval/record/empty", "{}", "{}" },
  { "/eval/record/computed", "{:sum (+ 1 2) :l [1 2]}", "{:l [1 2] :sum 3}" },
  { "/eval/record/nested", "{:p {:y 2.5 :x 1.0}}", "{:p {:x 1.0 :y 2.5}}" },
  { "/eval/record/field", "(:age {:name \"ada\" :age 36})", "36" },
  { "/eval/record/get", "(get {:name \"ada\" :age 36} :name)", "\"ada\"" },
  { "/eval/record/assoc", "(assoc {:name \"ada\" :age 36} :age 37)", "{:age 37 :name \"ada\"}" },
  { "/eval/record/assoc-leaves-original", "(let [r {:a 1 :b 2} s (assoc r :a 5)] [(:a r) (:a s) (:b s)])", "[1 5 2]" },
  { "/eval/record/keys", "(keys {:name \"ada\" :age 36})", "[\"age\" \"name\"]" },
  { "/eval/record/keys-empty", "(keys {})", "[]" },
  { "/eval/record/row-polymorphic", "(let [age (fn [r] (:age r))] (+ (age {:age 1}) (age {:age 2 :x \"s\"})))", "3" },
  { "/eval/record/keyword-function", "(map :age [{:age 1} {:age 2}])", "[1 2]" },
  { "/eval/record/keyword-bound", "(let [f :x] (f {:x true}))", "true" },
  { "/eval/record/equal", "[(= {:a 1 :b [2]} {:b [2] :a 1}) (= {:a 1} {:a 2}) (!= {:a 1} {:a 2})]", "[true false true]" },
  { "/eval/record/fields-run-in-order-written", "(let [r {:z (str 1) :a (str 2)}] [(:a r) (:z r)])", "[\"2\" \"1\"]" },
  { "/eval/record/in-loop", "(reduce (fn [acc r] (+ acc (:n r))) 0 (map (fn [i] {:n i}) (range 0 5)))", "10" },
  { "/eval/record/string-escapes", "{:s \"a\\\"b\"}", "{:s \"a\\\"b\"}" },
  { "/eval/print/defn", "(defn sq [n] (* n n))", "<fn sq>" },
  { "/eval/print/defined-function", "(defn sq [n] (* n n)) sq", "<fn sq>" },
  { "/eval/print/native", "+", "<fn +>" },
  { "/eval/print/def", "(def x 10)", "10" },
  /* arithmetic */
  { "/eval/arith/add", "(+ 1 2)", "3" },
  { "/eval/arith/nested", "(+ 1 (/ 4 2))", "3" },
  { "/eval/arith/sub", "(- 3 10)", "-7" },
  { "/eval/arith/div-truncates", "(/ 7 2)", "3" },
  { "/eval/arith/div-truncates-negative", "(/ -7 2)", "-3" },
  { "/eval/arith/mod", "(mod 7 3)", "1" },
  { "/eval/arith/float-mod", "(mod 7.5 2.0)", "1.5" },
  { "/eval/arith/float", "(+ 1.5 2.0)", "3.5" },
  { "/eval/arith/max-int", "(+ 9223372036854775806 1)", "9223372036854775807" },
  { "/eval/arith/min-int", "(- -9223372036854775807 1)", "-9223372036854775808" },
  { "/eval/compare/lt", "(< 1 2)", "true" },
  { "/eval/compare/ge", "(>= 1 2)", "false" },
  { "/eval/compare/strings", "(< \"abc\" \"abd\")", "true" },
  { "/eval/compare/eq", "(= 1 1)", "true" },
  { "/eval/compare/eq-lists", "(= [[1] [2 3]] [[1] [2 3]])", "true" },
  { "/eval/compare/ne-lists", "(!= [1] [1 2])", "true" },
  { "/eval/compare/eq-strings", "(= \"a\" \"b\")", "false" },
  { "/eval/compare/not", "(not (= 1 2))", "true" },
  /* special forms */
  { "/eval/if/then", "(if (< 1 2) \"small\" \"big\")", "\"small\"" },
  { "/eval/if/else", "(if (> 1 2) \"small\" \"big\")", "\"big\"" },
  { "/eval/if/untaken-branch-not-evaluated", "(if true 1 (/ 1 0))", "1" },
  { "/eval/do", "(do 1 2 3)", "3" },
  { "/eval/let/simple", "(let [x 1] x)", "1" },
  { "/eval/let/sequential", "(let [a 1 b (+ a 1)] (* a b))", "2" },
  { "/eval/let/shadowing", "(let [x 1] (let [x (+ x 10)] x))", "11" },
  { "/eval/let/scope-ends", "(let [x 1] (do (let [x 2] x) x))", "1" },
  { "/eval/let/polymorphic", "(let [id (fn [x] x)] (if (id true) (id 5) 0))", "5" },
  { "/eval/and/all-true", "(and true (< 1 2))", "true" },
  { "/eval/and/short-circuit", "(and false (= (/ 1 0) 0))", "false" },
  { "/eval/and/last-false", "(and true true false)", "false" },
  { "/eval/or/short-circuit", "(or true (= (/ 1 0) 0))", "true" },
  { "/eval/or/all-false", "(or false false)", "false" },
  { "/eval/or/last-true", "(or false false true)", "true" },
  /* functions and closures */
  { "/eval/fn/apply", "((fn [x] (* x x)) 7)", "49" },
  { "/eval/fn/no-params", "((fn [] 5))", "5" },
  { "/eval/fn/closure", "(let [x 10] (let [f (fn [y] (+ x y))] (f 5)))", "15" },
  { "/eval/fn/closure-keeps-binding", "(let [f (let [x 10] (fn [y] (+ x y)))] (f 1))", "11" },
  { "/eval/fn/closure-not-dynamic", "(let [x 1 f (fn [] x) x 2] (f))", "1" },
  { "/eval/fn/higher-order", "(let [twice (fn [f x] (f (f x)))] (twice (fn [n] (* n 3)) 2))", "18" },
  { "/eval/fn/native-as-value", "(let [op +] (op 2 3))", "5" },
  { "/eval/fn/adder", "(defn adder [n] (fn [x] (+ x n))) ((adder 3) 4)", "7" },
  { "/eval/fn/adders-independent", "(defn adder [n] (fn [x] (+ x n))) (let [a (adder 1) b (adder 100)] [(a 1) (b 1) (a 2)])", "[2 101 3]" },
  { "/eval/defn/sq", "(defn sq [n] (* n n)) (sq 12)", "144" },
  { "/eval/defn/fib", "(defn fib [n] (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 15)", "610" },
  { "/eval/defn/fact", "(defn fact [n] (if (= n 0) 1 (* n (fact (- n 1))))) (fact 20)", "2432902008176640000" },
  { "/eval/defn/mutual-through-def", "(def k 3) (defn f [n] (+ n k)) (f 1)", "4" },
  { "/eval/defn/redefined", "(defn f [] 1) (defn f [] 2) (f)", "2" },
  { "/eval/defn/not-tail-recursive-1000", "(defn down [n] (if (= n 0) 0 (+ 1 (down (- n 1))))) (down 100)", "100" },
  { "/eval/def/then-use", "(def x 5) (+ x 1)", "6" },
  /* loop and recur */
  { "/eval/loop/sum", "(loop [i 0 acc 0] (if (< i 10) (recur (+ i 1) (+ acc i)) acc))", "45" },
  { "/eval/loop/no-iteration", "(loop [i 5] (if (< i 3) (recur (+ i 1)) i))", "5" },
  { "/eval/loop/recur-in-let", "(loop [i 0] (let [j (+ i 1)] (if (< j 3) (recur j) j)))", "3" },
  { "/eval/loop/nested", "(loop [i 0 acc 0] (if (< i 3) (recur (+ i 1) (+ acc (loop [j 0] (if (< j 4) (recur (+ j 1)) j)))) acc))", "12" },
  { "/eval/loop/in-function", "(defn count-to [n] (loop [i 0] (if (< i n) (recur (+ i 1)) i))) (count-to 50)", "50" },
  { "/eval/loop/closure-per-iteration", "(loop [i 0 f (fn [] -1)] (if (< i 3) (recur (+ i 1) (fn [] i)) (f)))", "2" },
  { "/eval/loop/million", "(loop [i 0] (if (< i 1000000) (recur (+ i 1)) i))", "1000000" },
  /* loops whose body is an if on a comparison run fused; every shape works */
  { "/eval/loop/fused-else-recur", "(loop [i 10 acc 0] (if (= i 0) acc (recur (- i 1) (+ acc i))))", "55" },
  { "/eval/loop/fused-nested-recur", "(loop [i 0 n 0] (if (< i 10) (if (= (mod i 2) 0) (recur (+ i 1) (+ n 1)) (recur (+ i 1) n)) n))", "5" },
  { "/eval/loop/fused-three-vars", "(loop [i 0 a 0 b 1] (if (< i 10) (recur (+ i 1) b (+ a b)) a))", "55" },
  { "/eval/loop/fused-float-bound", "(loop [x 0.0 n 0] (if (< x 2.5) (recur (+ x 1.0) (+ n 1)) n))", "3" },
  { "/eval/loop/fused-overflow-in-recur", "(loop [i 1 acc 0] (if (< i 100) (recur (+ i 1) (* acc 1)) acc))", "0" },
  /* lists of ints are kept unboxed; they behave as any other list */
  { "/eval/int-list/range", "(range 254 258)", "[254 255 256 257]" },
  { "/eval/int-list/nth", "(nth (range 0 1000) 999)", "999" },
  { "/eval/int-list/equal-literal", "(= (range 0 3) [0 1 2])", "true" },
  { "/eval/int-list/equal-mapped", "(= (map (fn [x] (* x 1000)) (range 0 3)) [0 1000 2000])", "true" },
  { "/eval/int-list/cons", "(cons 300 (range 299 301))", "[300 299 300]" },
  { "/eval/int-list/map-to-str", "(map str (range 999 1001))", "[\"999\" \"1000\"]" },
  { "/eval/int-list/map-to-float", "(map float (range 0 2))", "[0.0 1.0]" },
  { "/eval/int-list/map-boxed-later", "(map (fn [x] (if (< x 1) (* x 1000) x)) (range 0 3))", "[0 1 2]" },
  { "/eval/int-list/filter", "(filter odd? (map (fn [x] (* x 1001)) (range 0 5)))", "[1001 3003]" },
  { "/eval/int-list/reduce-op", "(reduce * 1 (range 1 11))", "3628800" },
  { "/eval/int-list/reduce-closure", "(reduce (fn [a x] (+ a x)) 0 (range 0 1001))", "500500" },
  { "/eval/int-list/reduce-floats", "(reduce + 0.5 (map float (range 0 3)))", "3.5" },
  { "/eval/int-list/reduce-strings", "(reduce concat \"\" (map str (range 8 11)))", "\"8910\"" },
  { "/eval/int-list/sum", "(sum (range 0 1001))", "500500" },
  { "/eval/int-list/empty", "(map even? (range 3 3))", "[]" },
};

static void
test_value (gconstpointer data)
{
  const ValueCase *tc = data;
  g_autoptr(Session) session = session_new ();
  g_autofree char *printed = run_to_string (session, tc->text);

  g_assert_cmpstr (printed, ==, tc->printed);
}

/* ---- runtime errors ------------------------------------------------------------- */

typedef struct {
  const char  *path;
  const char  *text;
  RthunkError  code;
  guint        line;
  guint        col;
  const char  *fragment;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "/eval/error/division-by-zero", "(/ 1 0)", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 1, "division by zero" },
  { "/eval/error/modulo-by-zero", "(mod 1 0)", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 1, "by zero" },
  { "/eval/error/float-modulo-by-zero", "(mod 1.0 0.0)", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 1, "modulo by zero" },
  { "/eval/error/division-by-zero-nested", "(+ 1 (/ 1 0))", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 6, "division by zero" },
  { "/eval/error/division-by-zero-in-record", "{:z [1 2] :a (/ 1 0) :m \"s\"}", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 14, "division by zero" },
  { "/eval/error/division-by-zero-second-line", "(let [x 0]\n  (/ 10 x))", RTHUNK_ERROR_DIVISION_BY_ZERO, 2, 3, "division by zero" },
  { "/eval/error/division-by-zero-in-function", "(defn inv [n] (/ 1 n))\n(inv 0)", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 15, "division by zero" },
  { "/eval/error/division-in-and", "(and true (= (/ 1 0) 0))", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 14, NULL },
  { "/eval/error/overflow-mul", "(* 9223372036854775807 2)", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow in *" },
  { "/eval/error/overflow-add", "(+ 9223372036854775807 1)", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow in +" },
  { "/eval/error/overflow-sub", "(- -9223372036854775808 1)", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow in -" },
  { "/eval/error/overflow-div", "(/ -9223372036854775808 -1)", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow" },
  { "/eval/error/overflow-mod", "(mod -9223372036854775808 -1)", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow" },
  { "/eval/error/overflow-in-loop", "(loop [i 1] (recur (* i 2)))", RTHUNK_ERROR_OVERFLOW, 1, 20, "integer overflow in *" },
  { "/eval/error/overflow-in-fused-loop", "(loop [i 1 n 0] (if (> i 0) (recur (* i 2) (+ n 1)) n))", RTHUNK_ERROR_OVERFLOW, 1, 36, "integer overflow in *" },
  { "/eval/error/overflow-fact", "(defn fact [n] (if (= n 0) 1 (* n (fact (- n 1))))) (fact 21)", RTHUNK_ERROR_OVERFLOW, 1, 30, "integer overflow" },
  { "/eval/error/overflow-in-reduce", "(reduce + 9223372036854775800 (range 0 10))", RTHUNK_ERROR_OVERFLOW, 1, 1, "integer overflow in +" },
  { "/eval/error/in-mapped-function", "(map (fn [x] (/ 1 x)) (range -2 2))", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 14, "division by zero" },
  { "/eval/error/remote-without-server", "(remote (+ 1 2))", RTHUNK_ERROR_CONNECTION, 1, 1, "--local" },
};

static void
test_error (gconstpointer data)
{
  const ErrorCase *tc = data;
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = session_run (session, tc->text, &error);

  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, (gint) tc->code);
  test_assert_error_at (error, tc->line, tc->col, tc->fragment);
}

/* ---- limits ---------------------------------------------------------------------- */

typedef enum { NO_DEADLINE, PAST_DEADLINE, FAR_DEADLINE } Deadline;

typedef struct {
  const char  *path;
  const char  *text;
  guint64      fuel;
  guint        max_depth;
  Deadline     deadline;
  gboolean     cancelled;
  int          code;        /* 0: succeeds */
  guint        col;         /* where, on line 1, or ANY_COL */
  const char  *fragment;
} LimitCase;

#define LONG_LOOP "(loop [i 0] (if (< i 1000000) (recur (+ i 1)) i))"
#define DOWN "(defn down [n] (if (= n 0) 0 (+ 1 (down (- n 1))))) "

static const LimitCase limit_cases[] = {
  { "/eval/limits/fuel/exhausted", LONG_LOOP, 100, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_FUEL_EXHAUSTED, ANY_COL, "ran out of fuel after 100 steps" },
  { "/eval/limits/fuel/zero", "((fn [] 1))", 0, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_FUEL_EXHAUSTED, ANY_COL, "ran out of fuel after 0 steps" },
  { "/eval/limits/fuel/in-recursion", DOWN "(down 1000)", 500, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_FUEL_EXHAUSTED, ANY_COL, "ran out of fuel" },
  { "/eval/limits/fuel/enough", "(loop [i 0] (if (< i 10) (recur (+ i 1)) i))", 1000, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    0, 0, NULL },
  { "/eval/limits/fuel/in-map", "(map (fn [x] x) (range 0 1000))", 500, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_FUEL_EXHAUSTED, ANY_COL, "ran out of fuel after 500 steps" },
  { "/eval/limits/depth/deep-recursion", DOWN "(down 100000)", RTHUNK_EVAL_DEFAULT_FUEL, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_LIMIT_EXCEEDED, ANY_COL, "deeper than 2000 levels" },
  { "/eval/limits/depth/small-limit", DOWN "(down 100)", RTHUNK_EVAL_DEFAULT_FUEL, 50, NO_DEADLINE, FALSE,
    RTHUNK_ERROR_LIMIT_EXCEEDED, ANY_COL, "deeper than 50 levels" },
  { "/eval/limits/depth/loop-is-flat", LONG_LOOP, RTHUNK_EVAL_DEFAULT_FUEL, 20, NO_DEADLINE, FALSE,
    0, 0, NULL },
  { "/eval/limits/deadline/past", LONG_LOOP, RTHUNK_EVAL_DEFAULT_FUEL, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, PAST_DEADLINE, FALSE,
    RTHUNK_ERROR_DEADLINE_EXCEEDED, ANY_COL, "past its deadline" },
  { "/eval/limits/deadline/far", LONG_LOOP, RTHUNK_EVAL_DEFAULT_FUEL, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, FAR_DEADLINE, FALSE,
    0, 0, NULL },
  { "/eval/limits/cancelled/loop", LONG_LOOP, RTHUNK_EVAL_DEFAULT_FUEL, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, TRUE,
    RTHUNK_ERROR_CANCELLED, ANY_COL, "cancelled" },
  { "/eval/limits/cancelled/recursion", DOWN "(down 1900)", RTHUNK_EVAL_DEFAULT_FUEL, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, NO_DEADLINE, TRUE,
    RTHUNK_ERROR_CANCELLED, ANY_COL, "cancelled" },
};

static void
test_limit (gconstpointer data)
{
  const LimitCase *tc = data;
  g_autoptr(Session) session = session_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  gint64 deadline = 0;

  if (tc->deadline == PAST_DEADLINE)
    deadline = g_get_monotonic_time () - 1;
  else if (tc->deadline == FAR_DEADLINE)
    deadline = g_get_monotonic_time () + (gint64) 3600 * G_USEC_PER_SEC;
  rthunk_evaluator_set_limits (session->evaluator, tc->fuel, tc->max_depth, deadline);
  if (tc->cancelled)
    g_cancellable_cancel (cancellable);
  rthunk_evaluator_set_cancellable (session->evaluator, cancellable);
  value = session_run (session, tc->text, &error);
  test_assert_outcome (value, error, tc->code, tc->fragment);
  if (tc->code == 0)
    g_assert_cmpuint (rthunk_evaluator_get_steps (session->evaluator), <=, tc->fuel);
  else
    test_assert_error_at (error, 1, tc->col, NULL);
}

/* The C stack an evaluation may use is what its thread has: on a thread
 * with a small stack (512 KiB) and a --max-depth far beyond it, deep
 * recursion is an error, not a stack overflow (the budget was once a fixed
 * 6 MiB whatever the thread's stack). */
typedef struct
{
  char *result;
  GError *error;
} DeepRun;

static gpointer
run_deep (gpointer data)
{
  DeepRun *run = data;
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkValue) value = NULL;

  rthunk_evaluator_set_limits (session->evaluator, G_MAXINT64, 10000000, 0);
  value = session_run (session, "(defn down [n] (if (= n 0) 0 (+ 1 (down (- n 1))))) (down 5000000)",
                       &run->error);
  if (value != NULL)
    run->result = rthunk_value_to_string (value);
  return NULL;
}

static void
test_small_thread_stack (void)
{
  DeepRun run = { NULL, NULL };
  pthread_attr_t attr;
  pthread_t thread;

  g_assert_cmpint (pthread_attr_init (&attr), ==, 0);
  g_assert_cmpint (pthread_attr_setstacksize (&attr, 512 * 1024), ==, 0);
  g_assert_cmpint (pthread_create (&thread, &attr, run_deep, &run), ==, 0);
  g_assert_cmpint (pthread_join (thread, NULL), ==, 0);
  pthread_attr_destroy (&attr);
  g_assert_null (run.result);
  g_assert_error (run.error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED);
  g_assert_nonnull (strstr (run.error->message, "nests too deeply"));
  g_clear_error (&run.error);
}

/* Fuel is per evaluation; an evaluator that ran out goes on working. */
static void
test_fuel_per_eval (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;

  rthunk_evaluator_set_limits (session->evaluator, 1000, RTHUNK_EVAL_DEFAULT_MAX_DEPTH, 0);
  first = session_run (session, LONG_LOOP, &error);
  g_assert_null (first);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_FUEL_EXHAUSTED);
  g_assert_cmpuint (rthunk_evaluator_get_steps (session->evaluator), ==, 1000);
  second = run_to_string (session, "(+ 1 2)");
  g_assert_cmpstr (second, ==, "3");
  g_assert_cmpuint (rthunk_evaluator_get_steps (session->evaluator), <, 10);
  third = run_to_string (session, "(loop [i 0] (if (< i 10) (recur (+ i 1)) i))");
  g_assert_cmpstr (third, ==, "10");
}

/* Cancelled from another thread while the evaluation runs: (started)
 * tells the canceller the loop is about to run. */
typedef struct
{
  GCancellable *cancellable;
  GMutex lock;
  GCond cond;
  gboolean started;
} Canceller;

static RthunkValue *
note_started (RthunkCallContext  *context,
              RthunkValue *const *args,
              guint               n_args,
              gpointer            user_data,
              GError            **error)
{
  Canceller *c = user_data;

  g_mutex_lock (&c->lock);
  c->started = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->lock);
  return rthunk_value_new_int (0);
}

static gpointer
cancel_once_started (gpointer data)
{
  Canceller *c = data;

  g_mutex_lock (&c->lock);
  while (!c->started)
    g_cond_wait (&c->cond, &c->lock);
  g_mutex_unlock (&c->lock);
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

static void
test_cancel_from_thread (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  Canceller c = { cancellable, { 0, }, { 0, }, FALSE };
  GThread *thread;

  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  g_assert_true (rthunk_catalog_add (session->catalog, "started", "(-> int)", RTHUNK_FUNC_IO,
                                     "tells the test the evaluation runs", note_started, &c, NULL, &error));
  g_assert_no_error (error);
  rthunk_evaluator_set_cancellable (session->evaluator, cancellable);
  thread = g_thread_new ("cancel", cancel_once_started, &c);
  value = session_run (session, "(+ (started) (loop [i 0] (if (< i 1000000000) (recur (+ i 1)) i)))", &error);
  g_thread_join (thread);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED);
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
}

/* ---- globals ---------------------------------------------------------------------- */

/* A record printed reads back as a literal of an equal record. */
static void
test_record_reads_back (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value =
    session_run (session, "{:name \"a \\\"b\\\" c\" :age 36 :xs [1.5 2.0] :inner {:ok? true :none nil}}", &error);
  g_autofree char *printed = NULL;
  g_autoptr(RthunkValue) again = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (rthunk_value_get_kind (value), ==, RTHUNK_VALUE_RECORD);
  g_assert_cmpuint (rthunk_value_get_length (value), ==, 4);
  g_assert_cmpstr (rthunk_value_get_field_name (value, 0), ==, "age");
  g_assert_cmpint (rthunk_value_get_int (rthunk_value_lookup_field (value, "age")), ==, 36);
  g_assert_null (rthunk_value_lookup_field (value, "agee"));
  printed = rthunk_value_to_string (value);
  again = session_run (session, printed, &error);
  g_assert_no_error (error);
  g_assert_true (rthunk_value_equal (value, again));
}

static void
test_bind_and_lookup (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkValue) seven = rthunk_value_new_int (7);
  g_autoptr(RthunkType) int_type = rthunk_type_new_basic (RTHUNK_TYPE_INT);
  g_autofree char *printed = NULL;

  rthunk_checker_bind (session->checker, "seven", int_type);
  rthunk_evaluator_bind (session->evaluator, "seven", seven);
  printed = run_to_string (session, "(def y (* seven 6)) y");
  g_assert_cmpstr (printed, ==, "42");
  g_assert_true (rthunk_evaluator_lookup (session->evaluator, "seven") == seven);
  g_assert_cmpint (rthunk_value_get_int (rthunk_evaluator_lookup (session->evaluator, "y")), ==, 42);
  g_assert_null (rthunk_evaluator_lookup (session->evaluator, "nope"));
}

/* A remote form sends the evaluator's defn forms without copying them:
 * the table it was given stays as it was when a later defn, def or
 * reset changes the evaluator's. */
static void
test_shared_definitions (void)
{
  g_autoptr(Session) session = session_new ();
  g_autofree char *printed = NULL;
  g_autoptr(GHashTable) none = rthunk_evaluator_share_definitions (session->evaluator);
  g_autoptr(GHashTable) first = NULL;
  g_autoptr(GHashTable) second = NULL;
  RthunkNode *twice;

  g_assert_null (none);
  printed = run_to_string (session, "(defn twice [x] (* 2 x)) (twice 4)");
  g_assert_cmpstr (printed, ==, "8");
  first = rthunk_evaluator_share_definitions (session->evaluator);
  g_assert_nonnull (first);
  twice = g_hash_table_lookup (first, "twice");
  g_assert_nonnull (twice);
  g_clear_pointer (&printed, g_free);
  printed = run_to_string (session, "(defn twice [x] (+ x x)) (defn thrice [x] (* 3 x)) (thrice 2)");
  g_assert_cmpstr (printed, ==, "6");
  /* what was shared: one form, the first */
  g_assert_cmpuint (g_hash_table_size (first), ==, 1);
  g_assert_true (g_hash_table_lookup (first, "twice") == twice);
  second = rthunk_evaluator_share_definitions (session->evaluator);
  g_assert_cmpuint (g_hash_table_size (second), ==, 2);
  g_assert_true (g_hash_table_lookup (second, "twice") != twice);
  /* a def of a defn's name drops it, from the evaluator's table only */
  g_clear_pointer (&printed, g_free);
  printed = run_to_string (session, "(def thrice 3) thrice");
  g_assert_cmpstr (printed, ==, "3");
  g_assert_cmpuint (g_hash_table_size (second), ==, 2);
  g_assert_cmpuint (g_hash_table_size (rthunk_evaluator_get_definitions (session->evaluator)), ==, 1);
  g_assert_true (rthunk_evaluator_reset (session->evaluator, session->catalog));
  g_assert_cmpuint (g_hash_table_size (second), ==, 2);
  g_assert_cmpuint (g_hash_table_size (rthunk_evaluator_get_definitions (session->evaluator)), ==, 0);
}

/* The same form evaluated again runs the code compiled the first time
 * (the server evaluates the memo's one tree for every request of a
 * shape). That code reads its globals when it runs, and was compiled for
 * `+` meaning the standard library's: once a global `+` is bound, the
 * form is compiled again and calls it; a rebound `x` is read anew. */
static RthunkNode *
parse_one (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, text, -1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (forms->len, ==, 1);
  return rthunk_node_ref (g_ptr_array_index (forms, 0));
}

static void
test_same_form_again (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) form = parse_one ("(+ x 10)");
  g_autoptr(RthunkNode) times = parse_one ("(fn [a b] (* a b))");
  g_autoptr(RthunkValue) product = NULL;
  g_autoptr(GError) error = NULL;

  product = rthunk_evaluator_eval (session->evaluator, times, &error);
  g_assert_no_error (error);
  for (gint64 x = 1; x <= 3; x++)
    {
      g_autoptr(RthunkValue) x_value = rthunk_value_new_int (x);
      g_autoptr(RthunkValue) value = NULL;

      rthunk_evaluator_bind (session->evaluator, "x", x_value);
      value = rthunk_evaluator_eval (session->evaluator, form, &error);
      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, x + 10);
    }
  rthunk_evaluator_bind (session->evaluator, "+", product);
  for (guint k = 0; k < 2; k++)
    {
      g_autoptr(RthunkValue) value = rthunk_evaluator_eval (session->evaluator, form, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rthunk_value_get_int (value), ==, 30);
    }
  /* reset forgets the global `+`: the library's again */
  g_assert_true (rthunk_evaluator_reset (session->evaluator, session->catalog));
  {
    g_autoptr(RthunkValue) x_value = rthunk_value_new_int (5);
    g_autoptr(RthunkValue) value = NULL;

    rthunk_evaluator_bind (session->evaluator, "x", x_value);
    value = rthunk_evaluator_eval (session->evaluator, form, &error);
    g_assert_no_error (error);
    g_assert_cmpint (rthunk_value_get_int (value), ==, 15);
  }
}

/* ---- code reused by shape ----------------------------------------------------------- */

/* Two forms evaluated one after the other, and both again: the second
 * runs the first's code with its own literals when it is the same tree
 * but for literals and positions (then no form is compiled after the first), and
 * the first, asked again, gets its own literals back; when it is not,
 * each is compiled once and its code found again. */
typedef struct
{
  const char *path;
  const char *first, *then;
  const char *first_value, *then_value;       /* printed */
  gboolean reused;
} ShapeCase;

static const ShapeCase shape_cases[] = {
  { "/eval/compile/by-shape/int", "(+ 5 1)", "(+ 7 1)", "6", "8", TRUE },
  { "/eval/compile/by-shape/float", "(* 1.5 2.0)", "(* 2.5 2.0)", "3.0", "5.0", TRUE },
  { "/eval/compile/by-shape/string", "(str-len \"ab\")", "(str-len \"abc\")", "2", "3", TRUE },
  { "/eval/compile/by-shape/bool", "(if true  1 2)", "(if false 1 2)", "1", "2", TRUE },
  { "/eval/compile/by-shape/vector", "(sum [1 2 3])", "(sum [4 5 6])", "6", "15", TRUE },
  { "/eval/compile/by-shape/let", "(let [a 2] (* a 3))", "(let [a 4] (* a 5))", "6", "20", TRUE },
  /* the loop's operators copy their right-hand int into their own node */
  { "/eval/compile/by-shape/loop-operators", "(loop [i 0] (if (< i 5) (recur (+ i 1)) i))",
    "(loop [i 0] (if (< i 7) (recur (+ i 3)) i))", "5", "9", TRUE },
  { "/eval/compile/by-shape/record", "(get {:a 1 :b 2} :a)", "(get {:a 3 :b 4} :a)", "1", "3", TRUE },
  { "/eval/compile/by-shape/other-key", "(get {:a 1 :b 2} :a)", "(get {:a 1 :b 2} :b)", "1", "2", FALSE },
  { "/eval/compile/by-shape/other-operator", "(+ 5 1)", "(- 5 1)", "6", "4", FALSE },
  { "/eval/compile/by-shape/other-name", "(str-len \"ab\")", "(parse-int \"12\")", "2", "12", FALSE },
  { "/eval/compile/by-shape/other-length", "(sum [1 2])", "(sum [1 2 3])", "3", "6", FALSE },
  /* a literal that moves moves what follows it: the code takes the new
   * form's nodes, which errors name (/eval/compile/by-shape/moved-error) */
  { "/eval/compile/by-shape/other-position", "(+ 5 1)", "(+ 50 1)", "6", "51", TRUE },
  /* a function could outlive the run: its code is never written again */
  { "/eval/compile/by-shape/fn", "((fn [a] (+ a 5)) 1)", "((fn [a] (+ a 6)) 1)", "6", "7", FALSE },
};

static char *
eval_printed (Session    *session,
              RthunkNode *form)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkType) type = rthunk_checker_check (session->checker, form, &error);
  g_autoptr(RthunkValue) value = NULL;

  g_assert_no_error (error);
  value = rthunk_evaluator_eval (session->evaluator, form, &error);
  g_assert_no_error (error);
  return rthunk_value_to_string (value);
}

static RthunkNode *parse_one (const char *text);

static void
test_shape (gconstpointer data)
{
  const ShapeCase *c = data;
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) first = parse_one (c->first);
  g_autoptr(RthunkNode) then = parse_one (c->then);
  const char *values[] = { c->first_value, c->then_value, c->first_value, c->then_value };
  RthunkNode *forms[] = { first, then, first, then };
  guint64 compiled = 0;

  for (guint k = 0; k < G_N_ELEMENTS (forms); k++)
    {
      g_autofree char *printed = eval_printed (session, forms[k]);

      g_assert_cmpstr (printed, ==, values[k]);
      if (k == 0)
        compiled = rthunk_evaluator_get_compiled (session->evaluator);
    }
  /* reused: only the first was compiled; if not, the second too */
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled + (c->reused ? 0 : 1));
}

/* Forms of several shapes in turn, each with other literals every time
 * (a server's worker, a script): each shape is compiled once, and each
 * form runs with its own literals. */
static void
test_shape_in_turn (void)
{
  static const char *const texts[][2] = {
    { "(+ 5 1)", "6" }, { "(str-len \"ab\")", "2" }, { "(* 1.5 2.0)", "3.0" },
    { "(+ 7 1)", "8" }, { "(str-len \"abc\")", "3" }, { "(* 2.5 2.0)", "5.0" },
    { "(+ 9 1)", "10" }, { "(str-len \"abcd\")", "4" }, { "(* 3.5 2.0)", "7.0" },
  };
  g_autoptr(Session) session = session_new ();
  guint64 compiled = rthunk_evaluator_get_compiled (session->evaluator);

  for (guint k = 0; k < G_N_ELEMENTS (texts); k++)
    {
      g_autoptr(RthunkNode) form = parse_one (texts[k][0]);
      g_autofree char *printed = eval_printed (session, form);

      g_assert_cmpstr (printed, ==, texts[k][1]);
    }
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled + 3);
}

/* More shapes in turn than the evaluator keeps: the least lately used
 * goes, and every form still gets its own value. */
static void
test_shape_evicted (void)
{
  g_autoptr(Session) session = session_new ();
  guint64 compiled = rthunk_evaluator_get_compiled (session->evaluator);
  guint shapes = RTHUNK_EVAL_CODES + 2;

  for (guint round = 0; round < 2; round++)
    for (guint k = 0; k < shapes; k++)
      {
        /* (+ 1 (+ 1 … N)), k + 1 deep: a shape of its own */
        g_autoptr(GString) text = g_string_new (NULL);
        g_autofree char *printed = NULL;
        g_autofree char *expected = g_strdup_printf ("%u", k + 1 + round * 10);
        g_autoptr(RthunkNode) form = NULL;

        for (guint i = 0; i < k + 1; i++)
          g_string_append (text, "(+ 1 ");
        g_string_append_printf (text, "%u", round * 10);
        for (guint i = 0; i < k + 1; i++)
          g_string_append_c (text, ')');
        form = parse_one (text->str);
        printed = eval_printed (session, form);
        g_assert_cmpstr (printed, ==, expected);
      }
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled + 2 * shapes);
}

/* An error raised by reused code is at its own form's position. */
static void
test_shape_error (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) first = parse_one ("(+ 1 (/ 6 2))");
  g_autoptr(RthunkNode) then = parse_one ("(+ 1 (/ 6 0))");
  g_autofree char *printed = eval_printed (session, first);
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;
  guint64 compiled = rthunk_evaluator_get_compiled (session->evaluator);

  g_assert_cmpstr (printed, ==, "4");
  value = rthunk_evaluator_eval (session->evaluator, then, &error);
  g_assert_null (value);
  test_assert_error_at (error, 1, 6, "zero");
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled);
}

/* The same shape on other lines of a script, as the shell sends them:
 * reused (after a form of that shape at the same place), and an error is
 * at the line and column of the form that failed, the form before at
 * its own place again. */
static void
test_shape_moved_error (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, "(+ 1 (/ 6 2))\n\n  (+ 1 (/ 6 0))\n(+ 1 (/ 8 0))\n", -1, &error);
  g_autofree char *printed = NULL;
  guint64 compiled;
  const guint at[][2] = { { 3, 8 }, { 4, 6 } };

  g_autoptr(RthunkNode) same_place = parse_one ("(+ 1 (/ 8 2))");

  g_assert_no_error (error);
  printed = eval_printed (session, g_ptr_array_index (forms, 0));
  g_assert_cmpstr (printed, ==, "4");
  compiled = rthunk_evaluator_get_compiled (session->evaluator);
  g_clear_pointer (&printed, g_free);
  printed = eval_printed (session, same_place);
  g_assert_cmpstr (printed, ==, "5");
  for (guint k = 0; k < G_N_ELEMENTS (at); k++)
    {
      g_autoptr(RthunkValue) value = rthunk_evaluator_eval (session->evaluator, g_ptr_array_index (forms, k + 1), &error);

      g_assert_null (value);
      test_assert_error_at (error, at[k][0], at[k][1], "zero");
      g_clear_error (&error);
    }
  g_clear_pointer (&printed, g_free);
  printed = eval_printed (session, g_ptr_array_index (forms, 0));
  g_assert_cmpstr (printed, ==, "4");
  {
    g_autoptr(RthunkNode) back = parse_one ("(+ 1 (/ 9 0))");
    g_autoptr(RthunkValue) value = rthunk_evaluator_eval (session->evaluator, back, &error);

    g_assert_null (value);
    test_assert_error_at (error, 1, 6, "zero");
  }
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled);
}

/* (@op @a @b), built in code. */
static RthunkNode *
call_node (const char *op,
           RthunkNode *a,
           RthunkNode *b)
{
  g_autoptr(RthunkNode) head = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, op);
  RthunkNode *items[] = { head, a, b };

  return rthunk_node_new_seq (RTHUNK_NODE_LIST, items, G_N_ELEMENTS (items));
}

static RthunkNode *
times_node (gint64 a,
            gint64 b)
{
  g_autoptr(RthunkNode) x = rthunk_node_new_int (a);
  g_autoptr(RthunkNode) y = rthunk_node_new_int (b);

  return call_node ("*", x, y);
}

/* A tree built in code may hold one subtree twice: its literals have one
 * code each, so a tree of the same shape whose two halves differ is
 * compiled anew. */
static void
test_shape_shared (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) shared = times_node (10, 5);
  g_autoptr(RthunkNode) first = call_node ("+", shared, shared);
  g_autoptr(RthunkNode) left = times_node (10, 5);
  g_autoptr(RthunkNode) right = times_node (10, 7);
  g_autoptr(RthunkNode) then = call_node ("+", left, right);
  g_autofree char *first_value = eval_printed (session, first);
  g_autofree char *then_value = eval_printed (session, then);

  g_assert_cmpstr (first_value, ==, "100");
  g_assert_cmpstr (then_value, ==, "120");
}

/* A node the tree holds at two places stands nowhere in particular: code
 * that holds it is not given a form of its shape that stands elsewhere
 * (whose two nodes differ), but compiled anew. */
static void
test_shape_shared_moved (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) x = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "x");
  g_autoptr(RthunkNode) five = rthunk_node_new_int (5);
  g_autoptr(RthunkNode) let = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "let");
  RthunkNode *binding_items[] = { x, five };
  g_autoptr(RthunkNode) bindings = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, binding_items, 2);
  g_autoptr(RthunkNode) body = call_node ("+", x, x);
  RthunkNode *items[] = { let, bindings, body };
  g_autoptr(RthunkNode) first = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
  g_autoptr(RthunkNode) then = parse_one ("\n  (let [x 6] (+ x x))");
  g_autofree char *first_value = eval_printed (session, first);
  guint64 compiled = rthunk_evaluator_get_compiled (session->evaluator);
  g_autofree char *then_value = eval_printed (session, then);

  g_assert_cmpstr (first_value, ==, "10");
  g_assert_cmpstr (then_value, ==, "12");
  g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled + 1);
}

static RthunkValue *
always_999 (RthunkCallContext  *context,
            RthunkValue *const *args,
            guint               n_args,
            gpointer            user_data,
            GError            **error)
{
  return rthunk_value_new_int (999);
}

/* Code is compiled against the catalog: once a function of it is
 * replaced, neither the same form nor one of its shape runs the old code. */
static void
test_shape_catalog_changed (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(RthunkNode) first = parse_one ("(let [x 5] (+ x 1))");
  g_autoptr(RthunkNode) then = parse_one ("(let [x 5] (+ x 2))");
  g_autofree char *before = eval_printed (session, first);
  g_autofree char *after = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (before, ==, "6");
  g_assert_true (rthunk_catalog_add (session->catalog, "+", "(int int -> int)", RTHUNK_FUNC_PURE,
                                     "for the test", always_999, NULL, NULL, &error));
  g_assert_no_error (error);
  after = eval_printed (session, then);
  again = eval_printed (session, first);
  g_assert_cmpstr (after, ==, "999");
  g_assert_cmpstr (again, ==, "999");
}

/* ---- remote, with a fake server ----------------------------------------------------- */

typedef struct {
  guint calls;
  char *last_on;
  GHashTable *last_inputs;     /* name → printed value */
  char *last_expr;             /* printed */
  guint last_line, last_col;   /* where it stands */
} FakeServer;

static RthunkValue *
force_ready (gpointer   handle,
             GError   **error)
{
  return rthunk_value_ref (handle);
}

/* Evaluates @expr at once with a fresh evaluator and returns it as a
 * pending value whose force hands it over. */
static RthunkValue *
fake_remote (RthunkEvaluator  *evaluator,
             RthunkNode       *expr,
             GHashTable       *options,
             GHashTable       *inputs,
             gpointer          user_data,
             GError          **error)
{
  FakeServer *server = user_data;
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();
  g_autoptr(RthunkEvaluator) remote = rthunk_evaluator_new (catalog);
  RthunkValue *on = g_hash_table_lookup (options, "on");
  RthunkValue *result;
  GHashTableIter iter;
  gpointer name, value;

  server->calls++;
  g_clear_pointer (&server->last_on, g_free);
  g_free (server->last_expr);
  server->last_expr = rthunk_node_to_string (expr);
  server->last_line = rthunk_node_get_line (expr);
  server->last_col = rthunk_node_get_col (expr);
  if (on != NULL)
    server->last_on = g_strdup (rthunk_value_get_str (on));
  g_hash_table_remove_all (server->last_inputs);
  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      rthunk_evaluator_bind (remote, name, value);
      g_hash_table_insert (server->last_inputs, g_strdup (name), rthunk_value_to_string (value));
    }
  result = rthunk_evaluator_eval (remote, expr, error);
  if (result == NULL)
    return NULL;
  return rthunk_value_new_pending ("#1 @fake", result, force_ready, (GDestroyNotify) rthunk_value_unref);
}

typedef struct {
  const char *path;
  const char *text;
  const char *printed;
  const char *input;       /* a name the remote expression took along, or NULL */
  const char *input_value;
} RemoteCase;

static const RemoteCase remote_cases[] = {
  { "/eval/remote/pending-value", "(remote (+ 1 2))", "<pending #1 @fake>", NULL, NULL },
  { "/eval/remote/await", "(await (remote (+ 1 2)))", "3", NULL, NULL },
  { "/eval/remote/arithmetic-forces", "(+ 1 (remote 2))", "3", NULL, NULL },
  { "/eval/remote/if-forces", "(if (remote true) 1 2)", "1", NULL, NULL },
  { "/eval/remote/list-keeps-pending", "[(remote 1) 2]", "[<pending #1 @fake> 2]", NULL, NULL },
  { "/eval/remote/local-input", "(let [x 20] (await (remote (+ x 1))))", "21", "x", "20" },
  { "/eval/remote/global-input", "(def xs [1 2]) (await (remote xs))", "[1 2]", "xs", "[1 2]" },
  { "/eval/remote/pinned", "(await (remote :on \"alpha\" 5))", "5", NULL, NULL },
  { "/eval/remote/passed-to-function", "(defn sq [n] (* n n)) (sq (remote 4))", "16", NULL, NULL },
  { "/eval/remote/split-local-input", "(let [k 3] (psum (fn [i] (* i k)) 0 4))", "18", "k", "3" },
  { "/eval/remote/preduce-local-input", "(let [k 2] (preduce + 0 (fn [i] (* i k)) 0 4))", "12", "k", "2" },
};

static void
test_remote (gconstpointer data)
{
  const RemoteCase *tc = data;
  g_autoptr(Session) session = session_new ();
  FakeServer server = { 0, NULL, NULL, NULL, 0, 0 };
  g_autofree char *printed = NULL;

  server.last_inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  rthunk_evaluator_set_remote_func (session->evaluator, fake_remote, &server, NULL);
  printed = run_to_string (session, tc->text);
  g_assert_cmpstr (printed, ==, tc->printed);
  g_assert_cmpuint (server.calls, ==, 1);
  if (tc->input != NULL)
    g_assert_cmpstr (g_hash_table_lookup (server.last_inputs, tc->input), ==, tc->input_value);
  if (g_str_has_suffix (tc->path, "pinned"))
    g_assert_cmpstr (server.last_on, ==, "alpha");
  g_free (server.last_on);
  g_free (server.last_expr);
  g_hash_table_unref (server.last_inputs);
}

/* Remote forms of one shape on the lines of a script, as the shell sends
 * them: the first is compiled, the others run its code with their own
 * tree sent, literals, inputs and positions; a form with a flag
 * (:ref, whose node the compiler makes) is compiled each time. */
typedef struct {
  const char *text;
  const char *printed;
  const char *sent;
  const char *x;               /* the input x sent, or NULL */
  guint compiled;              /* forms compiled so far */
  guint line, col;             /* where the tree sent stands (0: not asked) */
} RemoteShapeStep;

static void
test_remote_by_shape (void)
{
  static const RemoteShapeStep steps[] = {
    { "(await (remote (+ 1 2)))", "3", "(+ 1 2)", NULL, 1, 1, 16 },
    { "\n  (await (remote (+ 5 6)))", "11", "(+ 5 6)", NULL, 1, 2, 18 },
    { "\n\n(await (remote (+ 5 6)))", "11", "(+ 5 6)", NULL, 1, 3, 16 },
    { "\n\n(await (remote (str-len \"ab\")))", "2", "(str-len \"ab\")", NULL, 2 },
    { "(await (remote (str-len \"abcd\")))", "4", "(str-len \"abcd\")", NULL, 2 },
    { "(let [x 20] (await (remote (+ x 1))))", "21", "(+ x 1)", "20", 3 },
    { "\n(let [x 30] (await (remote (+ x 2))))", "32", "(+ x 2)", "30", 3 },
    { "(await (remote :timeout 500 (+ 3 4)))", "7", "(+ 3 4)", NULL, 4 },
    { "(await (remote :timeout 600 (+ 8 9)))", "17", "(+ 8 9)", NULL, 4 },
    { "(remote :ref (+ 1 1))", "<pending #1 @fake>", "(+ 1 1)", NULL, 5 },
    { "(remote :ref (+ 2 2))", "<pending #1 @fake>", "(+ 2 2)", NULL, 6 },
  };
  g_autoptr(Session) session = session_new ();
  FakeServer server = { 0, NULL, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), NULL, 0, 0 };
  guint64 compiled = rthunk_evaluator_get_compiled (session->evaluator);

  rthunk_evaluator_set_remote_func (session->evaluator, fake_remote, &server, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
    {
      g_autoptr(RthunkNode) form = parse_one (steps[k].text);
      g_autofree char *printed = eval_printed (session, form);

      g_assert_cmpstr (printed, ==, steps[k].printed);
      g_assert_cmpstr (server.last_expr, ==, steps[k].sent);
      g_assert_cmpstr (g_hash_table_lookup (server.last_inputs, "x"), ==, steps[k].x);
      g_assert_cmpuint (rthunk_evaluator_get_compiled (session->evaluator), ==, compiled + steps[k].compiled);
      if (steps[k].line > 0)
        {
          g_assert_cmpuint (server.last_line, ==, steps[k].line);
          g_assert_cmpuint (server.last_col, ==, steps[k].col);
        }
    }
  g_assert_cmpuint (server.calls, ==, G_N_ELEMENTS (steps));
  g_free (server.last_on);
  g_free (server.last_expr);
  g_hash_table_unref (server.last_inputs);
}

static RthunkValue *
force_failing (gpointer   handle,
               GError   **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, "the server went away");
  return NULL;
}

static RthunkValue *
failing_remote (RthunkEvaluator  *evaluator,
                RthunkNode       *expr,
                GHashTable       *options,
                GHashTable       *inputs,
                gpointer          user_data,
                GError          **error)
{
  return rthunk_value_new_pending ("#2 @gone", NULL, force_failing, NULL);
}

/* A pending value that fails when forced fails the evaluation where it
 * was needed. */
static void
test_remote_failure (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  rthunk_evaluator_set_remote_func (session->evaluator, failing_remote, NULL, NULL);
  value = session_run (session, "(let [x (remote 1)]\n  (+ x 1))", &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
  test_assert_error_at (error, 2, ANY_COL, "the server went away");
}

/* What a remote function keeps of each call: the options table and a
 * reference to the inputs table. */
typedef struct {
  GPtrArray *options;      /* borrowed pointers, compared only */
  GPtrArray *inputs;       /* references */
} TableSpy;

static RthunkValue *
spy_remote (RthunkEvaluator  *evaluator,
            RthunkNode       *expr,
            GHashTable       *options,
            GHashTable       *inputs,
            gpointer          user_data,
            GError          **error)
{
  TableSpy *spy = user_data;

  g_ptr_array_add (spy->options, options);
  g_ptr_array_add (spy->inputs, g_hash_table_ref (inputs));
  return rthunk_value_new_int (g_hash_table_size (options));
}

/* Forms without options share the evaluator's one empty options table
 * (RthunkRemoteFunc says so); a form with options has a table of its own;
 * an inputs table kept by the remote function outlives the evaluator and
 * its code, names included (they are copied, not the code's). */
static void
test_remote_tables (void)
{
  Session *session = session_new ();
  TableSpy spy = { g_ptr_array_new (), g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref) };
  g_autofree char *printed = NULL;
  RthunkValue *kept;

  rthunk_evaluator_set_remote_func (session->evaluator, spy_remote, &spy, NULL);
  printed = run_to_string (session, "(let [x 20] [(remote 1) (remote (+ x 1)) (remote :on \"alpha\" 3)])");
  g_assert_cmpstr (printed, ==, "[0 0 1]");
  g_assert_cmpuint (spy.options->len, ==, 3);
  g_assert_true (g_ptr_array_index (spy.options, 0) == g_ptr_array_index (spy.options, 1));
  g_assert_true (g_ptr_array_index (spy.options, 2) != g_ptr_array_index (spy.options, 0));
  session_free (session);
  kept = g_hash_table_lookup (g_ptr_array_index (spy.inputs, 1), "x");
  g_assert_nonnull (kept);
  g_assert_cmpint (rthunk_value_get_int (kept), ==, 20);
  g_ptr_array_unref (spy.options);
  g_ptr_array_unref (spy.inputs);
}

/* ---- the data functions (rthunk-stdlib-data.c) ----------------------------------- */

static const ValueCase data_value_cases[] = {
  /* csv-parse: RFC 4180 */
  { "/eval/data/csv/plain", "(csv-parse \"a,b\\n1,2\\n\")", "[[\"a\" \"b\"] [\"1\" \"2\"]]" },
  { "/eval/data/csv/no-final-line-break", "(csv-parse \"a,b\\n1,2\")", "[[\"a\" \"b\"] [\"1\" \"2\"]]" },
  { "/eval/data/csv/crlf", "(csv-parse \"a,b\\r\\n1,2\\r\\n\")", "[[\"a\" \"b\"] [\"1\" \"2\"]]" },
  { "/eval/data/csv/quoted-comma", "(csv-parse \"\\\"x,y\\\",z\")", "[[\"x,y\" \"z\"]]" },
  { "/eval/data/csv/doubled-quote", "(csv-parse \"\\\"say \\\"\\\"hi\\\"\\\"\\\",2\")", "[[\"say \\\"hi\\\"\" \"2\"]]" },
  { "/eval/data/csv/newline-in-quotes", "(csv-parse \"\\\"two\\nlines\\\",b\\r\\nc,d\")", "[[\"two\\nlines\" \"b\"] [\"c\" \"d\"]]" },
  { "/eval/data/csv/crlf-in-quotes", "(csv-parse \"\\\"a\\r\\nb\\\"\")", "[[\"a\\r\\nb\"]]" },
  { "/eval/data/csv/empty-fields", "(csv-parse \",,\\n\\\"\\\",x,\")", "[[\"\" \"\" \"\"] [\"\" \"x\" \"\"]]" },
  { "/eval/data/csv/empty-text", "(csv-parse \"\")", "[]" },
  { "/eval/data/csv/byte-order-mark", "(csv-parse \"\\u{FEFF}a,b\")", "[[\"a\" \"b\"]]" },
  { "/eval/data/csv/spaces-kept", "(csv-parse \" a , b \")", "[[\" a \" \" b \"]]" },
  { "/eval/data/csv/utf8", "(csv-parse \"caf\\u{e9},\\\"\\u{1F600}\\\"\")", "[[\"caf\xc3\xa9\" \"\xf0\x9f\x98\x80\"]]" },
  /* mean */
  { "/eval/data/mean/ints", "(mean [1 2 3 4])", "2.5" },
  { "/eval/data/mean/int-list", "(mean (range 0 101))", "50.0" },
  { "/eval/data/mean/floats", "(mean [1.5 2.5])", "2.0" },
  { "/eval/data/mean/one", "(mean [-7])", "-7.0" },
  { "/eval/data/mean/compensated", "(mean [1e16 1.0 -1e16 1.0])", "0.5" },
  /* sort, sort-by: ascending, stable */
  { "/eval/data/sort/ints", "(sort [3 1 2])", "[1 2 3]" },
  { "/eval/data/sort/strings", "(sort [\"b\" \"a\" \"c\"])", "[\"a\" \"b\" \"c\"]" },
  { "/eval/data/sort/empty", "(sort [])", "[]" },
  { "/eval/data/sort-by/key", "(sort-by (fn [x] (- 0 x)) [1 3 2])", "[3 2 1]" },
  { "/eval/data/sort-by/stable", "(sort-by (fn [r] (nth r 1)) [[\"1\" \"b\"] [\"2\" \"a\"] [\"3\" \"b\"] [\"4\" \"a\"]])",
    "[[\"2\" \"a\"] [\"4\" \"a\"] [\"1\" \"b\"] [\"3\" \"b\"]]" },
  { "/eval/data/sort-by/float-key", "(sort-by (fn [x] (float x)) [2 -1 0])", "[-1 0 2]" },
  /* group-by: [[a]], groups in order of first appearance */
  { "/eval/data/group-by/first-appearance", "(group-by (fn [x] (mod x 3)) [5 3 4 6 2])", "[[5 2] [3 6] [4]]" },
  { "/eval/data/group-by/strings", "(group-by str-len [\"a\" \"bb\" \"c\"])", "[[\"a\" \"c\"] [\"bb\"]]" },
  { "/eval/data/group-by/list-keys", "(group-by (fn [x] [(mod x 2)]) [1 2 3])", "[[1 3] [2]]" },
  { "/eval/data/group-by/zero-and-minus-zero", "(group-by (fn [x] (* 0.0 x)) [1.0 -1.0])", "[[1.0 -1.0]]" },
  { "/eval/data/group-by/empty", "(group-by (fn [x] x) [])", "[]" },
  /* strings and columns */
  { "/eval/data/split/simple", "(split \"a,b,,c\" \",\")", "[\"a\" \"b\" \"\" \"c\"]" },
  { "/eval/data/split/longer-separator", "(split \"1 - 2 - 3\" \" - \")", "[\"1\" \"2\" \"3\"]" },
  { "/eval/data/split/absent", "(split \"abc\" \",\")", "[\"abc\"]" },
  { "/eval/data/trim", "(trim \" \\t x y \\r\\n\")", "\"x y\"" },
  { "/eval/data/join", "(join \", \" [\"a\" \"b\" \"c\"])", "\"a, b, c\"" },
  { "/eval/data/join/empty", "(join \",\" [])", "\"\"" },
  { "/eval/data/column", "(column (tail (csv-parse \"k,v\\na,1\\nb,2\")) 1)", "[\"1\" \"2\"]" },
  { "/eval/data/index-of/found", "(index-of [\"k\" \"price\"] \"price\")", "1" },
  { "/eval/data/index-of/absent", "(index-of [1 2] 3)", "-1" },
  { "/eval/data/csv-column-by-name",
    "(let [rows (csv-parse \"item,price\\npen,2\\ncup,3\")] (column (tail rows) (index-of (head rows) \"price\")))",
    "[\"2\" \"3\"]" },
};

static const ErrorCase data_error_cases[] = {
  { "/eval/data/csv/error/quote-in-plain-field", "(csv-parse \"a,b\\n1,x\\\"y\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1,
    "csv-parse: line 2: a quote inside a field without quotes" },
  { "/eval/data/csv/error/text-after-quote", "(csv-parse \"a\\n\\n\\\"x\\\"y\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1,
    "csv-parse: line 3: text after the closing quote" },
  { "/eval/data/csv/error/unclosed-quote", "(csv-parse \"a,b\\n\\\"x\\n\\n\\n\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1,
    "csv-parse: line 2: a quoted field is never closed" },
  { "/eval/data/csv/error/width", "(csv-parse \"a,b\\n\\\"1\\n2\\\",3\\n4\\n\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1,
    "csv-parse: line 4: 1 field where the first record has 2" },
  { "/eval/data/csv/error/lone-carriage-return", "(csv-parse \"a\\rb\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1,
    "csv-parse: line 1: a carriage return that does not end a line" },
  { "/eval/data/mean/error/empty", "(mean [])", RTHUNK_ERROR_EMPTY_LIST, 1, 1, "mean of an empty list" },
  { "/eval/data/sort-by/error/in-key", "(sort-by (fn [x] (/ 1 x)) [1 0])", RTHUNK_ERROR_DIVISION_BY_ZERO, 1, 18, "division by zero" },
  { "/eval/data/split/error/empty-separator", "(split \"abc\" \"\")", RTHUNK_ERROR_EVAL_FAILED, 1, 1, "the separator is empty" },
  { "/eval/data/column/error/short-row", "(column [[1 2] [3]] 1)", RTHUNK_ERROR_INDEX_OUT_OF_RANGE, 1, 1,
    "column: row 1 has 1 element, no index 1" },
};

/* csv-parse charges what it builds: a large text fails at the limit. */
static void
test_csv_memory_limit (void)
{
  g_autoptr(Session) session = session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  rthunk_evaluator_set_max_bytes (session->evaluator, 1000000);
  value = session_run (session, "(csv-parse (join \"\" (map (fn [i] \"a,b\\n\") (range 0 10000))))", &error);
  g_assert_null (value);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED);
  test_assert_error_at (error, 1, 1, NULL);
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  TEST_ADD_TABLE (value_cases, test_value);
  TEST_ADD_TABLE (error_cases, test_error);
  TEST_ADD_TABLE (limit_cases, test_limit);
  g_test_add_func ("/eval/limits/fuel/per-eval", test_fuel_per_eval);
  g_test_add_func ("/eval/limits/cancelled/from-thread", test_cancel_from_thread);
  g_test_add_func ("/eval/globals/bind-and-lookup", test_bind_and_lookup);
  g_test_add_func ("/eval/record/reads-back", test_record_reads_back);
  g_test_add_func ("/eval/globals/same-form-again", test_same_form_again);
  g_test_add_func ("/eval/globals/shared-definitions", test_shared_definitions);
  TEST_ADD_TABLE (shape_cases, test_shape);
  g_test_add_func ("/eval/compile/by-shape/error-position", test_shape_error);
  g_test_add_func ("/eval/compile/by-shape/moved-error", test_shape_moved_error);
  g_test_add_func ("/eval/compile/by-shape/in-turn", test_shape_in_turn);
  g_test_add_func ("/eval/compile/by-shape/evicted", test_shape_evicted);
  g_test_add_func ("/eval/compile/by-shape/shared-subtree", test_shape_shared);
  g_test_add_func ("/eval/compile/by-shape/shared-node-moved", test_shape_shared_moved);
  g_test_add_func ("/eval/compile/by-shape/catalog-changed", test_shape_catalog_changed);
  TEST_ADD_TABLE (remote_cases, test_remote);
  g_test_add_func ("/eval/remote/failure", test_remote_failure);
  g_test_add_func ("/eval/remote/tables", test_remote_tables);
  g_test_add_func ("/eval/remote/by-shape", test_remote_by_shape);
  g_test_add_func ("/eval/limits/small-thread-stack", test_small_thread_stack);
  TEST_ADD_TABLE (data_value_cases, test_value);
  TEST_ADD_TABLE (data_error_cases, test_error);
  g_test_add_func ("/eval/data/csv/memory-limit", test_csv_memory_limit);

  return g_test_run ();
}
