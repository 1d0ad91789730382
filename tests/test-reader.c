/* test-reader.c — text to AST: every form, positions, errors, limits */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "rthunk.h"
#include "codecutil.h"
#include "testtable.h"
#include "rthunk-forms.h"

#define SOURCE TEST_SOURCE
#define END (-1)

/* ---- helpers ----------------------------------------------------------------- */

/* Every form of @forms printed, joined by one space. */
static char *
print_forms (GPtrArray *forms)
{
  GString *out = g_string_new (NULL);

  for (guint k = 0; k < forms->len; k++)
    {
      g_autofree char *text = rthunk_node_to_string (g_ptr_array_index (forms, k));

      if (k > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, text);
    }
  return g_string_free (out, FALSE);
}

/* "SOURCE:LINE:COL: error: " */
static char *
nested (const char *open,
        guint       levels,
        const char *inner,
        const char *close)
{
  GString *out = g_string_new (NULL);

  for (guint k = 0; k < levels; k++)
    g_string_append (out, open);
  g_string_append (out, inner);
  for (guint k = 0; k < levels; k++)
    g_string_append (out, close);
  return g_string_free (out, FALSE);
}

/* ---- atoms: one form, its kind and value -------------------------------------- */

typedef struct {
  const char     *path;
  const char     *text;
  RthunkNodeKind  kind;
  gint64          i;        /* INT, BOOL */
  double          f;        /* FLOAT */
  const char     *s;        /* STR, SYMBOL, KEYWORD */
} AtomCase;

static const AtomCase atom_cases[] = {
  { "/reader/atom/int/zero", "0", RTHUNK_NODE_INT, 0, 0, NULL },
  { "/reader/atom/int/positive", "42", RTHUNK_NODE_INT, 42, 0, NULL },
  { "/reader/atom/int/plus-sign", "+7", RTHUNK_NODE_INT, 7, 0, NULL },
  { "/reader/atom/int/negative", "-7", RTHUNK_NODE_INT, -7, 0, NULL },
  { "/reader/atom/int/max", "9223372036854775807", RTHUNK_NODE_INT, G_MAXINT64, 0, NULL },
  { "/reader/atom/int/min", "-9223372036854775808", RTHUNK_NODE_INT, G_MININT64, 0, NULL },
  { "/reader/atom/float/simple", "1.5", RTHUNK_NODE_FLOAT, 0, 1.5, NULL },
  { "/reader/atom/float/exponent", "1e3", RTHUNK_NODE_FLOAT, 0, 1000.0, NULL },
  { "/reader/atom/float/exponent-upper", "2E2", RTHUNK_NODE_FLOAT, 0, 200.0, NULL },
  { "/reader/atom/float/negative-exponent", "-2.5e-3", RTHUNK_NODE_FLOAT, 0, -2.5e-3, NULL },
  { "/reader/atom/float/leading-dot", ".5", RTHUNK_NODE_FLOAT, 0, 0.5, NULL },
  { "/reader/atom/float/pi", "3.14", RTHUNK_NODE_FLOAT, 0, 3.14, NULL },
  { "/reader/atom/string/plain", "\"text\"", RTHUNK_NODE_STR, 0, 0, "text" },
  { "/reader/atom/string/empty", "\"\"", RTHUNK_NODE_STR, 0, 0, "" },
  { "/reader/atom/string/escape-newline", "\"a\\nb\"", RTHUNK_NODE_STR, 0, 0, "a\nb" },
  { "/reader/atom/string/escape-tab", "\"a\\tb\"", RTHUNK_NODE_STR, 0, 0, "a\tb" },
  { "/reader/atom/string/escape-return", "\"a\\rb\"", RTHUNK_NODE_STR, 0, 0, "a\rb" },
  { "/reader/atom/string/escape-backslash", "\"a\\\\b\"", RTHUNK_NODE_STR, 0, 0, "a\\b" },
  { "/reader/atom/string/escape-quote", "\"say \\\"hi\\\"\"", RTHUNK_NODE_STR, 0, 0, "say \"hi\"" },
  { "/reader/atom/string/escape-unicode", "\"\\u{41}\"", RTHUNK_NODE_STR, 0, 0, "A" },
  { "/reader/atom/string/escape-unicode-astral", "\"\\u{1F600}\"", RTHUNK_NODE_STR, 0, 0, "\xf0\x9f\x98\x80" },
  { "/reader/atom/string/escape-unicode-lower", "\"\\u{e9}\"", RTHUNK_NODE_STR, 0, 0, "\xc3\xa9" },
  { "/reader/atom/string/raw-utf8", "\"h\xc3\xa9llo\"", RTHUNK_NODE_STR, 0, 0, "h\xc3\xa9llo" },
  { "/reader/atom/string/raw-newline", "\"a\nb\"", RTHUNK_NODE_STR, 0, 0, "a\nb" },
  { "/reader/atom/string/semicolon", "\"a;b\"", RTHUNK_NODE_STR, 0, 0, "a;b" },
  { "/reader/atom/bool/true", "true", RTHUNK_NODE_BOOL, TRUE, 0, NULL },
  { "/reader/atom/bool/false", "false", RTHUNK_NODE_BOOL, FALSE, 0, NULL },
  { "/reader/atom/nil", "nil", RTHUNK_NODE_NIL, 0, 0, NULL },
  { "/reader/atom/symbol/plain", "x", RTHUNK_NODE_SYMBOL, 0, 0, "x" },
  { "/reader/atom/symbol/dash", "my-name", RTHUNK_NODE_SYMBOL, 0, 0, "my-name" },
  { "/reader/atom/symbol/question", "empty?", RTHUNK_NODE_SYMBOL, 0, 0, "empty?" },
  { "/reader/atom/symbol/bang", "set!", RTHUNK_NODE_SYMBOL, 0, 0, "set!" },
  { "/reader/atom/symbol/star", "*", RTHUNK_NODE_SYMBOL, 0, 0, "*" },
  { "/reader/atom/symbol/plus", "+", RTHUNK_NODE_SYMBOL, 0, 0, "+" },
  { "/reader/atom/symbol/minus", "-", RTHUNK_NODE_SYMBOL, 0, 0, "-" },
  { "/reader/atom/symbol/slash", "/", RTHUNK_NODE_SYMBOL, 0, 0, "/" },
  { "/reader/atom/symbol/less-equal", "<=", RTHUNK_NODE_SYMBOL, 0, 0, "<=" },
  { "/reader/atom/symbol/greater", ">", RTHUNK_NODE_SYMBOL, 0, 0, ">" },
  { "/reader/atom/symbol/equal", "=", RTHUNK_NODE_SYMBOL, 0, 0, "=" },
  { "/reader/atom/symbol/not-equal", "!=", RTHUNK_NODE_SYMBOL, 0, 0, "!=" },
  { "/reader/atom/symbol/arrow", "a->b", RTHUNK_NODE_SYMBOL, 0, 0, "a->b" },
  { "/reader/atom/symbol/mixed", "*x-1?!+/<>=", RTHUNK_NODE_SYMBOL, 0, 0, "*x-1?!+/<>=" },
  { "/reader/atom/symbol/dash-letter", "-x", RTHUNK_NODE_SYMBOL, 0, 0, "-x" },
  { "/reader/atom/symbol/true-prefix", "trueish", RTHUNK_NODE_SYMBOL, 0, 0, "trueish" },
  { "/reader/atom/symbol/utf8", "\xce\xbb", RTHUNK_NODE_SYMBOL, 0, 0, "\xce\xbb" },
  { "/reader/atom/keyword/plain", ":on", RTHUNK_NODE_KEYWORD, 0, 0, "on" },
  { "/reader/atom/keyword/dash", ":needs-db", RTHUNK_NODE_KEYWORD, 0, 0, "needs-db" },
  { "/reader/atom/surrounded-by-blanks", " \t\n 42 \n", RTHUNK_NODE_INT, 42, 0, NULL },
  { "/reader/atom/after-comment", "; a comment\n42", RTHUNK_NODE_INT, 42, 0, NULL },
};

static void
test_atom (gconstpointer data)
{
  const AtomCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  RthunkNode *node;

  g_assert_cmpuint (forms->len, ==, 1);
  node = g_ptr_array_index (forms, 0);
  g_assert_cmpint (rthunk_node_get_kind (node), ==, tc->kind);
  g_assert_cmpuint (rthunk_node_get_n_items (node), ==, 0);
  g_assert_cmpstr (rthunk_node_get_source (node), ==, SOURCE);
  switch (tc->kind)
    {
    case RTHUNK_NODE_INT:
      g_assert_cmpint (rthunk_node_get_int (node), ==, tc->i);
      break;
    case RTHUNK_NODE_BOOL:
      g_assert_cmpint (rthunk_node_get_bool (node), ==, tc->i);
      break;
    case RTHUNK_NODE_FLOAT:
      g_assert_cmpfloat (rthunk_node_get_float (node), ==, tc->f);
      break;
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      g_assert_cmpstr (rthunk_node_get_text (node), ==, tc->s);
      break;
    case RTHUNK_NODE_NIL:
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
    default:
      break;
    }
}

/* ---- structure: the forms as printed ------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
  guint       n_forms;
  const char *printed;      /* every form printed, joined by one space */
} FormsCase;

static const FormsCase forms_cases[] = {
  { "/reader/forms/empty-text", "", 0, "" },
  { "/reader/forms/only-blanks", "  \n\t ,, ", 0, "" },
  { "/reader/forms/only-comment", "; nothing here", 0, "" },
  { "/reader/forms/several-atoms", "1 2.5 \"s\" true nil x :k", 7, "1 2.5 \"s\" true nil x :k" },
  { "/reader/forms/call", "(+ 1 (/ 4 2))", 1, "(+ 1 (/ 4 2))" },
  { "/reader/forms/empty-list", "()", 1, "()" },
  { "/reader/forms/empty-vector", "[]", 1, "[]" },
  { "/reader/forms/vector", "[1 2 3]", 1, "[1 2 3]" },
  { "/reader/forms/nested-mix", "([[] ()] [(x)])", 1, "([[] ()] [(x)])" },
  { "/reader/forms/commas-are-blank", "[1,2,,3]", 1, "[1 2 3]" },
  { "/reader/forms/record", "{:name \"ada\" :age 36}", 1, "(record :name \"ada\" :age 36)" },
  { "/reader/forms/empty-record", "{}", 1, "(record)" },
  { "/reader/forms/nested-record", "{:p {:x [1 2]}}", 1, "(record :p (record :x [1 2]))" },
  { "/reader/forms/record-commas", "{:a 1, :b 2}", 1, "(record :a 1 :b 2)" },
  { "/reader/forms/record-tight", "[{:a 1}{:a 2}]", 1, "[(record :a 1) (record :a 2)]" },
  { "/reader/forms/no-space-between-forms", "(a)(b)[c]", 3, "(a) (b) [c]" },
  { "/reader/forms/string-touches-symbol", "(f\"x\"y)", 1, "(f \"x\" y)" },
  { "/reader/forms/comment-at-end-of-line", "(+ 1 ; one\n 2) ; done", 1, "(+ 1 2)" },
  { "/reader/forms/comment-inside-vector", "[1 ;; two is missing\n 3]", 1, "[1 3]" },
  { "/reader/forms/defn", "(defn sq [n] (* n n))", 1, "(defn sq [n] (* n n))" },
  { "/reader/forms/let", "(let [a 1 b (+ a 1)] (* a b))", 1, "(let [a 1 b (+ a 1)] (* a b))" },
  { "/reader/forms/loop", "(loop [i 0 acc 0] (if (< i 10) (recur (+ i 1) (+ acc i)) acc))", 1,
    "(loop [i 0 acc 0] (if (< i 10) (recur (+ i 1) (+ acc i)) acc))" },
  /* children beyond the reader's 16 on the stack; a token beyond its 64 */
  { "/reader/forms/many-items", "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34]", 1,
    "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34]" },
  { "/reader/forms/many-items-nested", "(f (g 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17) [a b c d e f g h i j k l m n o p q r])", 1,
    "(f (g 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17) [a b c d e f g h i j k l m n o p q r])" },
  { "/reader/forms/long-symbol", "(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1)", 1, "(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1)" },
  { "/reader/forms/long-keyword", "(f :aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)", 1, "(f :aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)" },
  { "/reader/forms/long-number", "1.00000000000000000000000000000000000000000000000000000000000000000000000000005", 1, "1.0" },
  { "/reader/forms/remote-options", "(remote :on \"alpha\" (f 1))", 1, "(remote :on \"alpha\" (f 1))" },
  { "/reader/forms/floats-print-with-point", "[1.0 -0.5 2e2 1.5e-7]", 1, "[1.0 -0.5 200.0 1.5e-07]" },
  { "/reader/forms/string-escapes-print", "\"tab\\tquote\\\"nl\\n\\\\\"", 1, "\"tab\\tquote\\\"nl\\n\\\\\"" },
  { "/reader/forms/unicode-escape-prints-raw", "\"\\u{41}\\u{e9}\"", 1, "\"A\xc3\xa9\"" },
  { "/reader/forms/control-char-escaped", "\"\\u{1}\"", 1, "\"\\u{1}\"" },
  { "/reader/forms/crlf-lines", "(a\r\n b)\r\n", 1, "(a b)" },
};

static void
test_forms (gconstpointer data)
{
  const FormsCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  g_autofree char *printed = print_forms (forms);

  g_assert_cmpuint (forms->len, ==, tc->n_forms);
  g_assert_cmpstr (printed, ==, tc->printed);
}

/* Printing a form and reading it again gives the same tree and text. */
static void
test_roundtrip (gconstpointer data)
{
  const FormsCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  g_autofree char *printed = print_forms (forms);
  g_autoptr(GPtrArray) again = test_read_ok (printed);
  g_autofree char *reprinted = print_forms (again);

  g_assert_cmpstr (reprinted, ==, printed);
  g_assert_cmpuint (again->len, ==, forms->len);
  for (guint k = 0; k < forms->len; k++)
    assert_same_form (g_ptr_array_index (forms, k), g_ptr_array_index (again, k));
}

static void
test_roundtrip_atom (gconstpointer data)
{
  const AtomCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  g_autofree char *printed = print_forms (forms);
  g_autoptr(GPtrArray) again = test_read_ok (printed);

  g_assert_cmpuint (again->len, ==, 1);
  assert_same_form (g_ptr_array_index (forms, 0), g_ptr_array_index (again, 0));
}

/* ---- positions ------------------------------------------------------------------ */

typedef struct {
  const char     *path;
  const char     *text;
  guint           form;      /* which top-level form */
  int             route[4];  /* item indices from that form, END-terminated */
  RthunkNodeKind  kind;
  guint           line;
  guint           col;
} PosCase;

static const PosCase pos_cases[] = {
  { "/reader/position/first-form", "42", 0, { END }, RTHUNK_NODE_INT, 1, 1 },
  { "/reader/position/leading-blanks", "   x", 0, { END }, RTHUNK_NODE_SYMBOL, 1, 4 },
  { "/reader/position/second-form", "1 22 333", 2, { END }, RTHUNK_NODE_INT, 1, 6 },
  { "/reader/position/second-line", "1\n  (f)", 1, { END }, RTHUNK_NODE_LIST, 2, 3 },
  { "/reader/position/call-head", "(+ 1 2)", 0, { 0, END }, RTHUNK_NODE_SYMBOL, 1, 2 },
  { "/reader/position/call-argument", "(+ 1 22)", 0, { 2, END }, RTHUNK_NODE_INT, 1, 6 },
  { "/reader/position/record", " {:a 1}", 0, { END }, RTHUNK_NODE_LIST, 1, 2 },
  { "/reader/position/record-head", " {:a 1}", 0, { 0, END }, RTHUNK_NODE_SYMBOL, 1, 2 },
  { "/reader/position/record-value", " {:a 1}", 0, { 2, END }, RTHUNK_NODE_INT, 1, 6 },
  { "/reader/position/nested-list", "(+ 1 (/ 4 2))", 0, { 2, END }, RTHUNK_NODE_LIST, 1, 6 },
  { "/reader/position/nested-item", "(+ 1 (/ 4 2))", 0, { 2, 2, END }, RTHUNK_NODE_INT, 1, 11 },
  { "/reader/position/vector-in-let", "(let [a 1\n      b 2]\n  b)", 0, { 1, 2, END }, RTHUNK_NODE_SYMBOL, 2, 7 },
  { "/reader/position/body-on-third-line", "(let [a 1\n      b 2]\n  b)", 0, { 2, END }, RTHUNK_NODE_SYMBOL, 3, 3 },
  { "/reader/position/deep", "(a [b (c [d :e])])", 0, { 1, 1, 1, 1 }, RTHUNK_NODE_KEYWORD, 1, 13 },
  { "/reader/position/after-comment", "; c\n  ; d\n (x)", 0, { 0, END }, RTHUNK_NODE_SYMBOL, 3, 3 },
  { "/reader/position/after-string", "(f \"ab\" c)", 0, { 2, END }, RTHUNK_NODE_SYMBOL, 1, 9 },
  { "/reader/position/after-escapes", "(f \"\\n\\u{41}\" c)", 0, { 2, END }, RTHUNK_NODE_SYMBOL, 1, 15 },
  { "/reader/position/after-multiline-string", "(f \"a\nbc\" d)", 0, { 2, END }, RTHUNK_NODE_SYMBOL, 2, 5 },
  { "/reader/position/columns-count-characters", "(f \"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\" x)", 0, { 2, END }, RTHUNK_NODE_SYMBOL, 1, 11 },
  { "/reader/position/after-utf8-symbol", "(\xce\xbb\xce\xbb x)", 0, { 1, END }, RTHUNK_NODE_SYMBOL, 1, 5 },
  { "/reader/position/after-tab", "\t(f x)", 0, { 1, END }, RTHUNK_NODE_SYMBOL, 1, 5 },
  { "/reader/position/after-commas", "[1,,,2]", 0, { 1, END }, RTHUNK_NODE_INT, 1, 6 },
  { "/reader/position/crlf", "(a\r\n b)", 0, { 1, END }, RTHUNK_NODE_SYMBOL, 2, 2 },
};

static void
test_position (gconstpointer data)
{
  const PosCase *tc = data;
  g_autoptr(GPtrArray) forms = test_read_ok (tc->text);
  RthunkNode *node;

  g_assert_cmpuint (tc->form, <, forms->len);
  node = g_ptr_array_index (forms, tc->form);
  for (guint k = 0; k < G_N_ELEMENTS (tc->route) && tc->route[k] != END; k++)
    node = rthunk_node_get_item (node, tc->route[k]);
  g_assert_cmpint (rthunk_node_get_kind (node), ==, tc->kind);
  g_assert_cmpuint (rthunk_node_get_line (node), ==, tc->line);
  g_assert_cmpuint (rthunk_node_get_col (node), ==, tc->col);
  g_assert_cmpstr (rthunk_node_get_source (node), ==, SOURCE);
}

/* ---- invalid text ------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *text;
  gssize      length;     /* -1: nul-terminated */
  guint       line;
  guint       col;
  const char *fragment;   /* a part of the message */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "/reader/invalid/unterminated-string", "(f \"abc", -1, 1, 4, "unterminated string" },
  { "/reader/invalid/unterminated-string-second-line", "1\n  \"abc\ndef", -1, 2, 3, "unterminated string" },
  { "/reader/invalid/unterminated-after-backslash", "\"abc\\", -1, 1, 5, "unterminated string" },
  { "/reader/invalid/unknown-escape", "\"a\\qb\"", -1, 1, 3, "unknown escape “\\q”" },
  { "/reader/invalid/unknown-escape-zero", "(f \"\\0\")", -1, 1, 5, "unknown escape" },
  { "/reader/invalid/bad-unicode-no-brace", "\"\\u41\"", -1, 1, 2, "expected “{”" },
  { "/reader/invalid/bad-unicode-empty", "\"\\u{}\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-not-hex", "\"\\u{4g}\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-unclosed", "\"\\u{41\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-too-long", "\"\\u{0000041}\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-too-large", "\"\\u{110000}\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-surrogate", "\"\\u{D800}\"", -1, 1, 2, "hex digits" },
  { "/reader/invalid/bad-unicode-nul", "\"\\u{0}\"", -1, 1, 2, "other than NUL" },
  { "/reader/invalid/unbalanced-paren", ")", -1, 1, 1, "unexpected “)”" },
  { "/reader/invalid/unbalanced-bracket", "(f x) ]", -1, 1, 7, "unexpected “]”" },
  { "/reader/invalid/mismatched-close", "(f [x)", -1, 1, 6, "“)” closes “[” opened at 1:4" },
  { "/reader/invalid/mismatched-close-vector", "[f (x]", -1, 1, 6, "“]” closes “(” opened at 1:4" },
  { "/reader/invalid/unclosed-paren", "(+ 1", -1, 1, 1, "“(” is never closed" },
  { "/reader/invalid/unclosed-after-many-items", "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 (x", -1, 1, 47, "“(” is never closed" },
  { "/reader/invalid/unclosed-inner", "(a\n (b c)\n (d", -1, 3, 2, "“(” is never closed" },
  { "/reader/invalid/unclosed-vector", "[1 2", -1, 1, 1, "“[” is never closed" },
  { "/reader/invalid/integer-overflow", "99999999999999999999", -1, 1, 1, "does not fit in 64 bits" },
  { "/reader/invalid/integer-overflow-by-one", "(f 9223372036854775808)", -1, 1, 4, "does not fit in 64 bits" },
  { "/reader/invalid/integer-underflow", "-9223372036854775809", -1, 1, 1, "does not fit in 64 bits" },
  { "/reader/invalid/malformed-number", "1.2.3", -1, 1, 1, "malformed number “1.2.3”" },
  { "/reader/invalid/malformed-number-in-list", "[1 2x]", -1, 1, 4, "malformed number “2x”" },
  { "/reader/invalid/malformed-exponent", "1e", -1, 1, 1, "malformed number" },
  { "/reader/invalid/malformed-trailing-dot", "5.", -1, 1, 1, "malformed number" },
  { "/reader/invalid/malformed-hex", "0x10", -1, 1, 1, "malformed number" },
  { "/reader/invalid/float-overflow", "1e999", -1, 1, 1, "malformed number" },
  { "/reader/invalid/keyword-empty", "(remote : 1)", -1, 1, 9, "malformed keyword" },
  { "/reader/invalid/keyword-double-colon", "::x", -1, 1, 1, "malformed keyword" },
  { "/reader/invalid/symbol-character", "(f a$b)", -1, 1, 4, "unexpected character" },
  { "/reader/invalid/unclosed-record", "{:a 1", -1, 1, 1, "“{” is never closed" },
  { "/reader/invalid/unbalanced-brace", "(f x) }", -1, 1, 7, "unexpected “}”" },
  { "/reader/invalid/brace-closes-paren", "(f x}", -1, 1, 5, "“}” closes “(” opened at 1:1" },
  { "/reader/invalid/symbol-hash", "#x", -1, 1, 1, "unexpected character" },
  { "/reader/invalid/utf8-lone-byte", "\xff", -1, 1, 1, "not valid UTF-8" },
  { "/reader/invalid/utf8-in-string", "(f \"ab\xff\")", -1, 1, 7, "not valid UTF-8" },
  { "/reader/invalid/utf8-second-line", "(a)\n (b \xc3)", -1, 2, 5, "not valid UTF-8" },
  { "/reader/invalid/utf8-overlong", "\xc0\xaf", -1, 1, 1, "not valid UTF-8" },
  { "/reader/invalid/utf8-stray-continuation", "a\x80", -1, 1, 2, "not valid UTF-8" },
  { "/reader/invalid/nul-byte", "(f\0 x)", 6, 1, 1, "NUL byte" },
  { "/reader/invalid/nul-byte-in-string", "\"a\0b\"", 5, 1, 1, "NUL byte" },
};

static void
test_invalid (gconstpointer data)
{
  const InvalidCase *tc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, tc->text, tc->length, &error);

  g_assert_null (forms);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  test_assert_error_at (error, tc->line, tc->col, tc->fragment);
}

/* ---- nesting limits --------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *open;
  const char *close;
  guint       levels;
  gboolean    ok;
} DepthCase;

static const DepthCase depth_cases[] = {
  { "/reader/depth/lists-at-limit", "(", ")", RTHUNK_NODE_MAX_DEPTH, TRUE },
  { "/reader/depth/vectors-at-limit", "[", "]", RTHUNK_NODE_MAX_DEPTH, TRUE },
  { "/reader/depth/mixed-at-limit", "([", "])", RTHUNK_NODE_MAX_DEPTH / 2, TRUE },
  { "/reader/depth/lists-one-too-deep", "(", ")", RTHUNK_NODE_MAX_DEPTH + 1, FALSE },
  { "/reader/depth/vectors-one-too-deep", "[", "]", RTHUNK_NODE_MAX_DEPTH + 1, FALSE },
  { "/reader/depth/lists-100000", "(", ")", 100000, FALSE },
  { "/reader/depth/vectors-100000", "[", "]", 100000, FALSE },
  { "/reader/depth/unclosed-100000", "(", "", 100000, FALSE },
};

static void
test_depth (gconstpointer data)
{
  const DepthCase *tc = data;
  g_autofree char *text = nested (tc->open, tc->levels, "x", tc->close);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, text, -1, &error);
  guint n_open = strlen (tc->open);

  if (tc->ok)
    {
      RthunkNode *node;
      guint depth = 0;

      g_assert_no_error (error);
      g_assert_cmpuint (forms->len, ==, 1);
      for (node = g_ptr_array_index (forms, 0);
           rthunk_node_get_n_items (node) == 1;
           node = rthunk_node_get_item (node, 0))
        depth++;
      g_assert_cmpuint (depth, ==, tc->levels * n_open);
      g_assert_true (rthunk_node_is_symbol (node, "x"));
      g_assert_cmpuint (rthunk_node_get_col (node), ==, tc->levels * n_open + 1);
      return;
    }
  g_assert_null (forms);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  /* the first form too many is named, wherever the text ends */
  test_assert_error_at (error, 1, RTHUNK_NODE_MAX_DEPTH + 1, NULL);
  g_assert_nonnull (strstr (error->message, "deeper than 1000 levels"));
  g_assert_cmpint (rthunk_reader_check_complete (text), ==, RTHUNK_READ_INVALID);
}

/* ---- completeness, for the line editor ---------------------------------------------- */

typedef struct {
  const char       *path;
  const char       *text;
  RthunkReadStatus  status;
} CompleteCase;

static const CompleteCase complete_cases[] = {
  { "/reader/complete/empty", "", RTHUNK_READ_COMPLETE },
  { "/reader/complete/atom", "42", RTHUNK_READ_COMPLETE },
  { "/reader/complete/call", "(+ 1 2)", RTHUNK_READ_COMPLETE },
  { "/reader/complete/two-forms", "(def x 1) (+ x 1)", RTHUNK_READ_COMPLETE },
  { "/reader/complete/trailing-comment", "(+ 1 2) ; (", RTHUNK_READ_COMPLETE },
  { "/reader/complete/multi-line", "(let [a 1]\n  a)\n", RTHUNK_READ_COMPLETE },
  { "/reader/incomplete/open-call", "(+ 1", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/open-vector", "[1 2", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/nested", "(let [a 1]\n  (+ a", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/open-string", "(print \"abc", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/string-ends-in-backslash", "\"abc\\", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/comment-after-open", "(+ 1 ; more later", RTHUNK_READ_INCOMPLETE },
  { "/reader/incomplete/after-complete-form", "(a) (b", RTHUNK_READ_INCOMPLETE },
  { "/reader/invalid-status/close-paren", ")", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/close-bracket", "]", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/mismatched", "(+ 1 ]", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/bad-number-in-open-form", "(+ 1.2.3", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/bad-escape-in-open-string", "(f \"\\q", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/overflow", "(f 99999999999999999999", RTHUNK_READ_INVALID },
  { "/reader/invalid-status/bad-utf8", "(f \xff", RTHUNK_READ_INVALID },
};

static void
test_complete (gconstpointer data)
{
  const CompleteCase *tc = data;

  g_assert_cmpint (rthunk_reader_check_complete (tc->text), ==, tc->status);
}

/* ---- odds and ends -------------------------------------------------------------------- */

static void
test_length_limits_text (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (SOURCE, "(f 1) (g 2)", 5, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (forms->len, ==, 1);
}

static void
test_default_source (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (NULL, ")", -1, &error);

  g_assert_null (forms);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, "<input>:1:1: error: "));
}

/* Every special form is found by its name, as a symbol, and nothing
 * else is: names that share a form's first letters, a form's name in
 * another case or with more after it. */
static void
test_special_forms (void)
{
  static const char *const not_forms[] = {
    "a", "d", "re", "rec", "iff", "defnx", "def-", "Remote", "AWAIT", "awaits", "an", "o", "ord",
    "p", "pma", "get?", "x", "+", "-", "record2", "assoc!",
  };

  for (guint k = 0; k < RTHUNK_N_FORMS; k++)
    {
      g_autoptr(RthunkNode) symbol = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, rthunk_form_name (k));
      g_autoptr(RthunkNode) keyword = rthunk_node_new_text (RTHUNK_NODE_KEYWORD, rthunk_form_name (k));
      RthunkForm found = RTHUNK_N_FORMS;

      g_assert_true (rthunk_form_lookup (symbol, &found));
      g_assert_cmpint (found, ==, k);
      g_assert_false (rthunk_form_lookup (keyword, &found));
    }
  for (guint k = 0; k < G_N_ELEMENTS (not_forms); k++)
    {
      g_autoptr(RthunkNode) symbol = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, not_forms[k]);
      RthunkForm found;

      g_assert_false (rthunk_form_lookup (symbol, &found));
    }
}

static void
test_built_nodes_print (void)
{
  g_autoptr(RthunkNode) plus = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "+");
  g_autoptr(RthunkNode) one = rthunk_node_new_int (1);
  g_autoptr(RthunkNode) half = rthunk_node_new_float (0.5);
  g_autoptr(RthunkNode) call = NULL;
  g_autoptr(RthunkNode) text = rthunk_node_new_text (RTHUNK_NODE_STR, "q\"");
  g_autoptr(RthunkNode) vec = NULL;
  g_autofree char *printed = NULL;
  RthunkNode *items[3];

  items[0] = plus;
  items[1] = one;
  items[2] = half;
  call = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
  items[0] = call;
  items[1] = text;
  vec = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, items, 2);
  printed = rthunk_node_to_string (vec);
  g_assert_cmpstr (printed, ==, "[(+ 1 0.5) \"q\\\"\"]");
  /* built nodes have no position until one is set */
  g_assert_cmpuint (rthunk_node_get_line (call), ==, 0);
  g_assert_cmpuint (rthunk_node_get_col (call), ==, 0);
}

/* ---- main ------------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  gsize i;

  g_test_init (&argc, &argv, NULL);

  for (i = 0; i < G_N_ELEMENTS (atom_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/reader/roundtrip", atom_cases[i].path + strlen ("/reader"), NULL);

      g_test_add_data_func (atom_cases[i].path, &atom_cases[i], test_atom);
      g_test_add_data_func (path, &atom_cases[i], test_roundtrip_atom);
    }
  for (i = 0; i < G_N_ELEMENTS (forms_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/reader/roundtrip", forms_cases[i].path + strlen ("/reader"), NULL);

      g_test_add_data_func (forms_cases[i].path, &forms_cases[i], test_forms);
      g_test_add_data_func (path, &forms_cases[i], test_roundtrip);
    }
  TEST_ADD_TABLE (pos_cases, test_position);
  TEST_ADD_TABLE (invalid_cases, test_invalid);
  TEST_ADD_TABLE (depth_cases, test_depth);
  TEST_ADD_TABLE (complete_cases, test_complete);
  g_test_add_func ("/reader/length/limits-text", test_length_limits_text);
  g_test_add_func ("/reader/source/default", test_default_source);
  g_test_add_func ("/reader/node/built-nodes-print", test_built_nodes_print);
  g_test_add_func ("/reader/node/special-forms", test_special_forms);

  return g_test_run ();
}
