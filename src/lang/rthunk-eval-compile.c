/* rthunk-eval-compile.c — compiling a checked form into compiled code
 *
 * Names are resolved here (slots, captures, globals through a per-site
 * cache, catalog functions as constants); the operators and loops of the
 * standard library get their specialised nodes; the code of the last
 * forms is kept with the globals it depends on.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-core-private.h"
#include "rthunk-eval-private.h"
#include "rthunk-forms.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

/* ---- compiled code --------------------------------------------------------- */

const PrimName rthunk_eval_prims[PRIM_NONE] = {
  { "+", PRIM_ADD }, { "-", PRIM_SUB }, { "*", PRIM_MUL }, { "/", PRIM_DIV },
  { "mod", PRIM_MOD }, { "<", PRIM_LT }, { "<=", PRIM_LE }, { ">", PRIM_GT },
  { ">=", PRIM_GE }, { "=", PRIM_EQ }, { "!=", PRIM_NE },
};

/* ---- compiling ---------------------------------------------------------------- */

/* A node and its kids' array in one block, from malloc and filled here:
 * glibc's calloc bypasses the thread's cache and takes the arena's lock,
 * and a server compiles every distinct form it is sent. */
static Code *
code_new (CodeFunc    run_func,
          RthunkNode *node,
          guint       n_kids)
{
  Code *code = g_malloc (sizeof (Code) + n_kids * sizeof (Code *));

  *code = (Code) {
    .run = run_func,
    .node = rthunk_node_ref (node),
    .kids = n_kids > 0 ? (Code **) (code + 1) : NULL,
    .n_kids = n_kids,
    .constant = val_nil (),
  };
  if (n_kids > 0)
    memset (code->kids, 0, n_kids * sizeof (Code *));
  return code;
}

static void
code_free (Code *code)
{
  if (code == NULL)
    return;
  for (guint k = 0; k < code->n_kids; k++)
    code_free (code->kids[k]);
  rthunk_node_unref (code->node);
  val_unref (code->constant);
  g_free (code->name);
  if (code->lambda != NULL)
    rthunk_eval_lambda_unref (code->lambda);
  g_strfreev (code->input_names);
  g_free (code);
}

/* An empty function, from malloc (see code_new()). */
static Lambda *
lambda_new (void)
{
  Lambda *lambda = g_new (Lambda, 1);

  *lambda = (Lambda) { .ref_count = 1 };
  return lambda;
}

void
rthunk_eval_lambda_unref (Lambda *lambda)
{
  if (!g_atomic_int_dec_and_test (&lambda->ref_count))
    return;
  code_free (lambda->body);
  g_free (lambda->captures);
  g_free (lambda->name);
  g_free (lambda);
}

/* Names the compiler knows, innermost first. */
typedef struct _Scope Scope;
struct _Scope
{
  const char *name;
  guint slot;
  Scope *next;
};

/* The function being compiled. */
typedef struct _FnCtx FnCtx;
struct _FnCtx
{
  FnCtx *parent;
  Scope *scope;
  guint n_slots;
  GArray *captures;             /* Capture */
  GPtrArray *capture_names;     /* const char *, parallel to captures */
};

/* A global name the compiler asked about, and whether it was bound. */
typedef struct
{
  char *name;
  gboolean bound;
} Consulted;

static void
consulted_clear (gpointer data)
{
  g_free (((Consulted *) data)->name);
}

/* ---- code reused by shape ---------------------------------------------------
 *
 * A server is sent the same expression with other literals again and again
 * ((+ t k) for every k), and compiling it costs more than running it. The
 * code of the last RTHUNK_EVAL_CODES forms is kept with the places its
 * literals went: the literal's own constant node and an operator that
 * copied its int. A form that is the same tree but for those literals runs
 * that code with its literals written in (rthunk_eval_compiled_top()); the
 * trees are compared before anything is written, so code of another shape
 * is left as it was. Several kinds of form in turn (a mix of requests on
 * one worker) each find their code.
 *
 * A form of the same shape may stand elsewhere: each line of a script
 * sends its own positions. Its nodes then take the place of the old ones
 * in the code, which holds them for positions alone, so that an error
 * names the new form's line and column. Which node each code holds is
 * found once, by the node's place in the form in pre-order (EvalPlaces);
 * code that holds a node its form does not (one the compiler made) is
 * reused only by forms at the same places.
 *
 * Code is reused only while nothing but the evaluator holds it (not while
 * it runs, nor while an evaluation waits in it), and only where its nodes
 * serve for positions alone, or are given the new form's: a (remote …)
 * sends the tree of its expression, whose literals are then carried by
 * the nodes (a patch with no code), so its code runs a form of its shape
 * only with that form's nodes. Forms that keep their tree (def, defn, the
 * split forms, auto, which may rewrite it) or make functions (fn: a
 * closure could outlive the run) are compiled each time. A form whose
 * literals go to more than MAX_PATCHES places (a literal, and an operator
 * that copied it, are two) is compiled each time too, and so is code
 * compiled while the catalog was different. */

#define MAX_PATCHES 32

typedef struct
{
  guint index;                  /* the literal's place in the form, in pre-order
                                   (first: index_compare()) */
  RthunkNode *literal;          /* borrowed: the constant's code node keeps it */
  Code *code;                   /* where its value goes; NULL: the literal is
                                   carried by a node the code sends */
} EvalPatch;

struct _EvalPatches
{
  gboolean carries;             /* the code sends a tree of its form: it runs a
                                   form of its shape only with that form's nodes */
  guint n;
  EvalPatch patch[];
};

typedef struct
{
  guint index;                  /* its node's place in the form, in pre-order
                                   (first: index_compare()) */
  Code *code;
} EvalPlace;

struct _EvalPlaces
{
  gboolean movable;             /* every code holds a node of the form */
  guint n;
  EvalPlace place[];
};

typedef struct
{
  RthunkEvaluator *ev;
  FnCtx *fn;
  guint loop_slot;              /* first slot of the innermost loop */
  GArray *consulted;            /* Consulted: the globals whose being bound the code
                                   depends on, NULL for none */
  gboolean reusable;            /* whether a form of the same shape may run this
                                   code with its own literals (see patches) */
  gboolean carries;             /* whether the code sends a tree of its form */
  guint n_patches;
  EvalPatch patches[MAX_PATCHES];
} Compiler;

typedef enum { NAME_LOCAL, NAME_CAPTURED, NAME_GLOBAL } NameKind;

static Code *compile (Compiler *c, RthunkNode *node);

static guint
new_slot (FnCtx      *fn,
          const char *name)
{
  Scope *scope = g_new (Scope, 1);

  scope->name = name;
  scope->slot = fn->n_slots++;
  scope->next = fn->scope;
  fn->scope = scope;
  return scope->slot;
}

static void
scope_pop_to (FnCtx *fn,
              Scope *until)
{
  while (fn->scope != until)
    {
      Scope *next = fn->scope->next;

      g_free (fn->scope);
      fn->scope = next;
    }
}

/* Where @name lives, seen from @fn: a slot, a captured variable (added to
 * the closures on the way as needed), or a global. */
static NameKind
resolve (FnCtx      *fn,
         const char *name,
         guint      *index)
{
  Capture capture;
  guint parent_index;
  NameKind parent_kind;

  if (fn == NULL)
    return NAME_GLOBAL;
  for (Scope *s = fn->scope; s != NULL; s = s->next)
    if (strcmp (s->name, name) == 0)
      {
        *index = s->slot;
        return NAME_LOCAL;
      }
  for (guint k = 0; k < fn->capture_names->len; k++)
    if (strcmp (g_ptr_array_index (fn->capture_names, k), name) == 0)
      {
        *index = k;
        return NAME_CAPTURED;
      }
  parent_kind = resolve (fn->parent, name, &parent_index);
  if (parent_kind == NAME_GLOBAL)
    return NAME_GLOBAL;
  capture.from = parent_kind == NAME_LOCAL ? CAPTURE_SLOT : CAPTURE_CAPTURED;
  capture.index = parent_index;
  g_array_append_val (fn->captures, capture);
  g_ptr_array_add (fn->capture_names, (gpointer) name);
  *index = fn->captures->len - 1;
  return NAME_CAPTURED;
}

/* The catalog function @name names, if nothing else does. */
static RthunkFuncDef *
catalog_native (Compiler   *c,
                const char *name)
{
  RthunkFuncDef *def = rthunk_catalog_lookup (c->ev->catalog, name);

  return def != NULL && rthunk_func_def_is_native (def) ? def : NULL;
}

static Code *
compile_symbol (Compiler   *c,
                RthunkNode *node)
{
  const char *name = rthunk_node_get_text (node);
  guint index = 0;
  Code *code;
  RthunkFuncDef *def;

  switch (resolve (c->fn, name, &index))
    {
    case NAME_LOCAL:
      code = code_new (rthunk_eval_run_local, node, 0);
      code->op = OP_LOCAL;
      code->slot = index;
      return code;
    case NAME_CAPTURED:
      code = code_new (rthunk_eval_run_captured, node, 0);
      code->slot = index;
      return code;
    case NAME_GLOBAL:
    default:
      code = code_new (rthunk_eval_run_global, node, 0);
      code->name = g_strdup (name);
      if ((def = catalog_native (c, name)) != NULL)
        code->constant = val_obj (rthunk_eval_new_native (def));
      return code;
    }
}

static Code *
compile_const (RthunkNode *node,
               Val         v)
{
  Code *code = code_new (rthunk_eval_run_const, node, 0);

  code->op = OP_CONST;
  code->constant = v;
  return code;
}

/* The value of a scalar literal. */
static Val
literal_val (RthunkNode *node)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:   return val_int (rthunk_node_get_int (node));
    case RTHUNK_NODE_FLOAT: return val_float (rthunk_node_get_float (node));
    case RTHUNK_NODE_BOOL:  return val_bool (rthunk_node_get_bool (node));
    case RTHUNK_NODE_STR:   return val_obj (rthunk_value_new_str (rthunk_node_get_text (node)));
    default:                g_assert_not_reached ();
    }
}

/* Notes that @code holds the value of @literal. */
static void
patch_add (Compiler   *c,
           Code       *code,
           RthunkNode *literal)
{
  if (c->n_patches == MAX_PATCHES)
    {
      c->reusable = FALSE;
      return;
    }
  c->patches[c->n_patches++] = (EvalPatch) { G_MAXUINT, literal, code };
}

static Code *
compile_literal (Compiler   *c,
                 RthunkNode *node)
{
  Code *code = compile_const (node, literal_val (node));

  patch_add (c, code, node);
  return code;
}

static Code *
compile_kids (Compiler   *c,
              CodeFunc    run_func,
              RthunkNode *node,
              guint       first)
{
  guint n = rthunk_node_get_n_items (node);
  Code *code = code_new (run_func, node, n - first);

  for (guint k = first; k < n; k++)
    code->kids[k - first] = compile (c, rthunk_node_get_item (node, k));
  return code;
}

/* The forms of @form from @first on: one of them needs no do. */
static Code *
compile_body (Compiler   *c,
              RthunkNode *form,
              guint       first)
{
  if (rthunk_node_get_n_items (form) == first + 1)
    return compile (c, rthunk_node_get_item (form, first));
  return compile_kids (c, rthunk_eval_run_do, form, first);
}

/* (let [a 1 b 2] body…): sets then the body, all in one do. */
static Code *
compile_let (Compiler *c, RthunkNode *form)
{
  RthunkNode *pairs = rthunk_node_get_item (form, 1);
  guint n_pairs = rthunk_node_get_n_items (pairs) / 2;
  guint n_body = rthunk_node_get_n_items (form) - 2;
  Scope *saved = c->fn->scope;
  Code *code = code_new (rthunk_eval_run_do, form, n_pairs + n_body);

  for (guint k = 0; k < n_pairs; k++)
    {
      Code *set = code_new (rthunk_eval_run_set, rthunk_node_get_item (pairs, 2 * k), 1);

      set->kids[0] = compile (c, rthunk_node_get_item (pairs, 2 * k + 1));
      set->slot = new_slot (c->fn, rthunk_node_get_text (rthunk_node_get_item (pairs, 2 * k)));
      code->kids[k] = set;
    }
  for (guint k = 0; k < n_body; k++)
    code->kids[n_pairs + k] = compile (c, rthunk_node_get_item (form, 2 + k));
  scope_pop_to (c->fn, saved);
  return code;
}

static Code *
compile_loop (Compiler *c, RthunkNode *form)
{
  RthunkNode *pairs = rthunk_node_get_item (form, 1);
  guint n_vars = rthunk_node_get_n_items (pairs) / 2;
  Scope *saved = c->fn->scope;
  guint saved_loop = c->loop_slot;
  Code *code = code_new (rthunk_eval_run_loop, form, n_vars + 1);

  /* initial values are evaluated in turn, each seeing the ones before */
  for (guint k = 0; k < n_vars; k++)
    {
      guint slot;

      code->kids[k] = compile (c, rthunk_node_get_item (pairs, 2 * k + 1));
      slot = new_slot (c->fn, rthunk_node_get_text (rthunk_node_get_item (pairs, 2 * k)));
      if (k == 0)
        code->slot = slot;
    }
  c->loop_slot = code->slot;
  code->kids[n_vars] = compile_body (c, form, 2);
  c->loop_slot = saved_loop;
  if (rthunk_eval_is_fused_if (code->kids[n_vars]))
    code->run = rthunk_eval_run_loop_if;
  scope_pop_to (c->fn, saved);
  return code;
}

/* A function: parameters in the first slots, captures found on the way. */
static Lambda *
compile_lambda (Compiler   *c,
                const char *name,
                RthunkNode *form,
                guint       params_index)
{
  RthunkNode *params = rthunk_node_get_item (form, params_index);
  FnCtx fn = { c->fn, NULL, 0, NULL, NULL };
  Lambda *lambda = lambda_new ();
  Code *body;

  fn.captures = g_array_new (FALSE, FALSE, sizeof (Capture));
  fn.capture_names = g_ptr_array_new ();
  c->fn = &fn;
  for (guint k = 0; k < rthunk_node_get_n_items (params); k++)
    new_slot (&fn, rthunk_node_get_text (rthunk_node_get_item (params, k)));
  body = compile_body (c, form, params_index + 1);
  c->fn = fn.parent;
  scope_pop_to (&fn, NULL);

  lambda->ref_count = 1;
  lambda->name = g_strdup (name);
  lambda->n_params = rthunk_node_get_n_items (params);
  lambda->n_slots = fn.n_slots;
  lambda->body = body;
  lambda->n_captures = fn.captures->len;
  lambda->captures = (Capture *) g_array_free (fn.captures, FALSE);
  g_ptr_array_unref (fn.capture_names);
  return lambda;
}

static Code *
compile_fn (Compiler *c, RthunkNode *form)
{
  Code *code = code_new (rthunk_eval_run_fn, form, 0);

  code->lambda = compile_lambda (c, "fn", form, 1);
  return code;
}

static Code *
compile_defn (Compiler *c, RthunkNode *form)
{
  const char *name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  Code *code = code_new (rthunk_eval_run_defn, form, 0);

  code->name = g_strdup (name);
  code->lambda = compile_lambda (c, name, form, 2);
  return code;
}

static Code *
compile_def (Compiler *c, RthunkNode *form)
{
  Code *code = code_new (rthunk_eval_run_def, form, 1);

  code->name = g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, 1)));
  code->kids[0] = compile (c, rthunk_node_get_item (form, 2));
  return code;
}

static Code *
compile_if (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, rthunk_eval_run_if, form, 1);

  code->run = rthunk_eval_specialize_if (code->kids[0]);
  return code;
}

static Code *
compile_do (Compiler *c, RthunkNode *form)
{
  return compile_kids (c, rthunk_eval_run_do, form, 1);
}

static Code *
compile_logic (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, rthunk_eval_run_logic, form, 1);

  code->slot = rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "and");
  return code;
}

static Code *
compile_recur (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, rthunk_eval_run_recur, form, 1);

  if (code->n_kids == 2)
    code->run = rthunk_eval_run_recur2;
  code->slot = c->loop_slot;
  return code;
}

static Code *
compile_await (Compiler *c, RthunkNode *form)
{
  return compile_kids (c, rthunk_eval_run_await, form, 1);
}

/* The symbols @node reads, the first of each name: those bound around it
 * travel with it. */
static void
collect_symbols (RthunkNode *node,
                 GPtrArray  *symbols)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);

      for (guint k = 0; k < symbols->len; k++)
        if (strcmp (rthunk_node_get_text (g_ptr_array_index (symbols, k)), name) == 0)
          return;
      g_ptr_array_add (symbols, node);
      return;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    collect_symbols (rthunk_node_get_item (node, k), symbols);
}

static gboolean
is_bound (Compiler   *c,
          const char *name)
{
  guint index;

  Consulted asked;

  if (resolve (c->fn, name, &index) != NAME_GLOBAL)
    return TRUE;
  asked.name = g_strdup (name);
  asked.bound = g_hash_table_contains (c->ev->globals, name);
  if (c->consulted == NULL)
    {
      c->consulted = g_array_new (FALSE, FALSE, sizeof (Consulted));
      g_array_set_clear_func (c->consulted, consulted_clear);
    }
  g_array_append_val (c->consulted, asked);
  return asked.bound;
}

static gboolean is_catalog_name (Compiler *c, const char *name);

/* (pmap F XS) for (map F XS), at its position. */
static RthunkNode *
as_pmap (RthunkNode *map)
{
  g_autoptr(RthunkNode) head = sym_at ("pmap", map);
  RthunkNode *items[] = { head, rthunk_node_get_item (map, 1), rthunk_node_get_item (map, 2) };

  return rthunk_node_set_position (rthunk_node_new_seq (RTHUNK_NODE_LIST, items, G_N_ELEMENTS (items)),
                                   rthunk_node_get_source (map), rthunk_node_get_line (map),
                                   rthunk_node_get_col (map));
}

/* The names of the @symbols bound to locals of @c, appended to @names,
 * and the symbol of each to @values: the inputs a form that runs
 * elsewhere takes with it, each read where the form first names it. */
static void
add_bound_inputs (Compiler   *c,
                  GPtrArray  *symbols,
                  GPtrArray  *names,
                  GPtrArray  *values)
{
  for (guint k = 0; k < symbols->len; k++)
    {
      RthunkNode *symbol = g_ptr_array_index (symbols, k);

      if (is_bound (c, rthunk_node_get_text (symbol)))
        {
          g_ptr_array_add (names, (gpointer) rthunk_node_get_text (symbol));
          g_ptr_array_add (values, rthunk_node_ref (symbol));
        }
    }
}

/* Notes that the literals of @node, which the code sends as they are,
 * change with the form: the code's nodes carry them (EvalPatches). */
static void
carry_literals (Compiler   *c,
                RthunkNode *node)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:
    case RTHUNK_NODE_FLOAT:
    case RTHUNK_NODE_BOOL:
    case RTHUNK_NODE_STR:
      patch_add (c, NULL, node);
      break;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        carry_literals (c, rthunk_node_get_item (node, k));
      break;
    default:
      break;
    }
}

/* @code's input_names are @names; its kids from @first_kid on are
 * @values compiled, one a name. */
static void
compile_named_kids (Compiler  *c,
                    Code      *code,
                    guint      first_kid,
                    GPtrArray *names,
                    GPtrArray *values)
{
  code->input_names = g_new0 (char *, names->len + 1);
  for (guint k = 0; k < names->len; k++)
    {
      code->input_names[k] = g_strdup (g_ptr_array_index (names, k));
      code->kids[first_kid + k] = compile (c, g_ptr_array_index (values, k));
    }
}

/* (remote [:key value | :flag]… EXPR): kids are the option values (true
 * for a flag), then the inputs; input_names has the option names, then
 * the inputs' names; slot is the number of options. For (auto EXPR) the
 * "options" are EXPR compiled to run here and, for a map, the pmap it
 * may become. */
static Code *
compile_remote_with (Compiler *c, RthunkNode *form, CodeFunc run_func)
{
  guint n = rthunk_node_get_n_items (form);
  RthunkNode *expr = rthunk_node_get_item (form, n - 1);
  g_autoptr(GPtrArray) symbols = g_ptr_array_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  guint n_options;
  Code *code;

  /* auto: the expression itself first, as it runs here, then for
   * (map F XS) with the library's map, (pmap F XS) */
  if (run_func == rthunk_eval_run_auto)
    {
      g_ptr_array_add (names, (gpointer) "");
      g_ptr_array_add (values, rthunk_node_ref (expr));
      if (rthunk_node_get_kind (expr) == RTHUNK_NODE_LIST && rthunk_node_get_n_items (expr) == 3 &&
          rthunk_node_is_symbol (rthunk_node_get_item (expr, 0), "map") && is_catalog_name (c, "map"))
        {
          g_ptr_array_add (names, (gpointer) "");
          g_ptr_array_add (values, as_pmap (expr));
        }
    }
  for (guint k = 1; k + 1 < n; k++)
    {
      RthunkNode *key = rthunk_node_get_item (form, k);
      gboolean flag = rthunk_remote_option_is_flag (rthunk_node_get_text (key));

      g_ptr_array_add (names, (gpointer) rthunk_node_get_text (key));
      g_ptr_array_add (values, flag ? rthunk_node_set_position (rthunk_node_new_bool (TRUE),
                                                                rthunk_node_get_source (key),
                                                                rthunk_node_get_line (key),
                                                                rthunk_node_get_col (key))
                                    : rthunk_node_ref (rthunk_node_get_item (form, ++k)));
    }
  n_options = names->len;
  collect_symbols (expr, symbols);
  add_bound_inputs (c, symbols, names, values);
  code = code_new (run_func, form, names->len);
  code->slot = n_options;
  compile_named_kids (c, code, 0, names, values);
  return code;
}

/* (remote …) sends the tree of its expression: a form of the same shape
 * reuses the code only with its own nodes, literals and all. */
static Code *
compile_remote (Compiler *c, RthunkNode *form)
{
  Code *code = compile_remote_with (c, form, rthunk_eval_run_remote);

  carry_literals (c, rthunk_node_get_item (form, rthunk_node_get_n_items (form) - 1));
  c->carries = TRUE;
  return code;
}

/* (auto EXPR): like remote with no options, but the first kid is EXPR
 * compiled to run here, where the session may choose to run it. */
static Code *
compile_auto (Compiler *c, RthunkNode *form)
{
  return compile_remote_with (c, form, rthunk_eval_run_auto);
}

/* (pmap F XS), (psum F LO HI), (preduce OP INIT F LO HI). */
static Code *
compile_split (Compiler   *c,
               RthunkNode *form,
               SplitKind   kind)
{
  guint n_locals = rthunk_eval_split_locals (kind);
  g_autoptr(GPtrArray) symbols = g_ptr_array_new ();
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  static const guint local_items[3][4] = { { 2 }, { 2, 3 }, { 1, 2, 4, 5 } };
  Code *code;

  collect_symbols (rthunk_node_get_item (form, kind == SPLIT_PREDUCE ? 3 : 1), symbols);
  if (kind == SPLIT_PREDUCE)
    collect_symbols (rthunk_node_get_item (form, 1), symbols);
  add_bound_inputs (c, symbols, inputs, refs);
  code = code_new (rthunk_eval_run_split, form, n_locals + inputs->len);
  code->slot = kind;
  for (guint k = 0; k < n_locals; k++)
    code->kids[k] = compile (c, rthunk_node_get_item (form, local_items[kind][k]));
  compile_named_kids (c, code, n_locals, inputs, refs);
  return code;
}

static Code *
compile_pmap (Compiler *c, RthunkNode *form)
{
  return compile_split (c, form, SPLIT_PMAP);
}

static Code *
compile_psum (Compiler *c, RthunkNode *form)
{
  return compile_split (c, form, SPLIT_PSUM);
}

static Code *
compile_preduce (Compiler *c, RthunkNode *form)
{
  return compile_split (c, form, SPLIT_PREDUCE);
}

/* :age as a function value. */
static Code *
compile_field_reader (RthunkNode *node)
{
  g_autoptr(RthunkFuncDef) def = rthunk_stdlib_field_reader (rthunk_node_get_text (node));

  return compile_const (node, val_obj (rthunk_eval_new_native (def)));
}

/* {:k1 v1 …}, read as (record :k1 v1 …): the values, in the order they
 * are written, and as the constant a template record of the field names
 * whose values say which of them goes in each field: the records it
 * makes share the template's names. */
static Code *
compile_record (Compiler *c, RthunkNode *form)
{
  guint n = rthunk_node_get_n_items (form) / 2;
  Code *code = code_new (rthunk_eval_run_record, form, n);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < n; k++)
    {
      g_ptr_array_add (names, (gpointer) rthunk_node_get_text (rthunk_node_get_item (form, 1 + 2 * k)));
      g_ptr_array_add (order, rthunk_value_new_int (k));
      code->kids[k] = compile (c, rthunk_node_get_item (form, 2 + 2 * k));
    }
  code->constant = val_obj (rthunk_value_new_record ((const char *const *) names->pdata,
                                                     (RthunkValue **) order->pdata, n));
  g_assert (code->constant.u.obj != NULL);   /* the checker refuses a repeated name */
  return code;
}

/* Field @key of the record @record, and @value for assoc. */
static Code *
compile_field (Compiler   *c,
               RthunkNode *form,
               RthunkNode *record,
               RthunkNode *key,
               RthunkNode *value)
{
  Code *code = code_new (value != NULL ? rthunk_eval_run_assoc : rthunk_eval_run_field,
                         form, value != NULL ? 2 : 1);

  code->name = g_strdup (rthunk_node_get_text (key));
  code->kids[0] = compile (c, record);
  if (value != NULL)
    code->kids[1] = compile (c, value);
  return code;
}

static Code *
compile_get (Compiler *c, RthunkNode *form)
{
  return compile_field (c, form, rthunk_node_get_item (form, 1), rthunk_node_get_item (form, 2), NULL);
}

static Code *
compile_assoc (Compiler *c, RthunkNode *form)
{
  return compile_field (c, form, rthunk_node_get_item (form, 1), rthunk_node_get_item (form, 2),
                        rthunk_node_get_item (form, 3));
}

typedef Code *(*FormCompiler) (Compiler *c, RthunkNode *form);

/* Each special form's compiler, and whether its code may be reused by
 * shape (see above). */
static const struct
{
  FormCompiler compile;
  gboolean reusable;
} forms[RTHUNK_N_FORMS] = {
  [RTHUNK_FORM_PMAP] = { compile_pmap, FALSE },
  [RTHUNK_FORM_PSUM] = { compile_psum, FALSE },
  [RTHUNK_FORM_PREDUCE] = { compile_preduce, FALSE },
  [RTHUNK_FORM_IF] = { compile_if, TRUE },
  [RTHUNK_FORM_DO] = { compile_do, TRUE },
  [RTHUNK_FORM_AND] = { compile_logic, TRUE },
  [RTHUNK_FORM_OR] = { compile_logic, TRUE },
  [RTHUNK_FORM_LET] = { compile_let, TRUE },
  [RTHUNK_FORM_FN] = { compile_fn, FALSE },
  [RTHUNK_FORM_DEF] = { compile_def, FALSE },
  [RTHUNK_FORM_DEFN] = { compile_defn, FALSE },
  [RTHUNK_FORM_LOOP] = { compile_loop, TRUE },
  [RTHUNK_FORM_RECUR] = { compile_recur, TRUE },
  [RTHUNK_FORM_REMOTE] = { compile_remote, TRUE },
  [RTHUNK_FORM_AWAIT] = { compile_await, TRUE },
  [RTHUNK_FORM_AUTO] = { compile_auto, FALSE },
  [RTHUNK_FORM_RECORD] = { compile_record, TRUE },
  [RTHUNK_FORM_GET] = { compile_get, TRUE },
  [RTHUNK_FORM_ASSOC] = { compile_assoc, TRUE },
};

/* Whether @name still means the standard library's own function of that
 * name here (a provider may have replaced it: then it is called). */
static gboolean
is_catalog_name (Compiler   *c,
                 const char *name)
{
  RthunkFuncDef *def;

  return !is_bound (c, name) && (def = catalog_native (c, name)) != NULL && rthunk_func_def_is_stdlib (def);
}

static Code *
compile_operator (Compiler   *c,
                  RthunkNode *form,
                  const char *name,
                  guint       n_args)
{
  Code *code;

  if (!is_catalog_name (c, name))
    return NULL;
  if (n_args == 1 && strcmp (name, "not") == 0)
    return compile_kids (c, rthunk_eval_run_not, form, 1);
  if (n_args != 2)
    return NULL;
  for (guint k = 0; k < G_N_ELEMENTS (rthunk_eval_prims); k++)
    if (strcmp (name, rthunk_eval_prims[k].name) == 0)
      {
        code = compile_kids (c, rthunk_eval_run_prim, form, 1);
        code->prim = rthunk_eval_prims[k].prim;
        code->run = rthunk_eval_specialize_prim (code);
        code->op = rthunk_eval_inline_op (code);
        if (code->run != rthunk_eval_run_prim)
          {
            /* the operands, read without going through the kids */
            code->slot = code->kids[0]->slot;
            code->slot2 = code->kids[1]->slot;
            if (code->kids[1]->constant.tag == V_INT)
              {
                code->constant = code->kids[1]->constant;
                patch_add (c, code, code->kids[1]->node);
              }
          }
        return code;
      }
  return NULL;
}

static Code *
compile_list (Compiler   *c,
              RthunkNode *form)
{
  RthunkNode *head = rthunk_node_get_item (form, 0);
  guint n_args = rthunk_node_get_n_items (form) - 1;
  RthunkForm special;
  guint index;
  Code *code;

  if (rthunk_form_lookup (head, &special))
    {
      c->reusable &= forms[special].reusable;
      return forms[special].compile (c, form);
    }
  if (rthunk_node_get_kind (head) == RTHUNK_NODE_KEYWORD)
    return compile_field (c, form, rthunk_node_get_item (form, 1), head, NULL);
  if (rthunk_node_get_kind (head) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (head);
      RthunkFuncDef *def;

      if ((code = compile_operator (c, form, name, n_args)) != NULL)
        return code;
      if (resolve (c->fn, name, &index) == NAME_GLOBAL)
        {
          code = compile_kids (c, rthunk_eval_run_call_global, form, 1);
          code->name = g_strdup (name);
          if ((def = catalog_native (c, name)) != NULL)
            code->constant = val_obj (rthunk_eval_new_native (def));
          return code;
        }
    }
  return compile_kids (c, rthunk_eval_run_call, form, 0);
}

static Code *
compile (Compiler   *c,
         RthunkNode *node)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:
    case RTHUNK_NODE_FLOAT:
    case RTHUNK_NODE_BOOL:
    case RTHUNK_NODE_STR:    return compile_literal (c, node);
    case RTHUNK_NODE_NIL:    return compile_const (node, val_nil ());
    case RTHUNK_NODE_SYMBOL: return compile_symbol (c, node);
    case RTHUNK_NODE_VECTOR: return compile_kids (c, rthunk_eval_run_vector, node, 0);
    case RTHUNK_NODE_LIST:   return compile_list (c, node);
    case RTHUNK_NODE_KEYWORD: return compile_field_reader (node);
    default:                 g_assert_not_reached ();
    }
}

/* Gives each literal that has patches its place in @form. A literal node
 * found at two places (a tree built with a shared subtree) has one code
 * for both: such a form's code is not reused. */
static gboolean
place_literal (RthunkNode *template,
               RthunkNode *node,
               guint       index,
               gpointer    data)
{
  Compiler *c = data;

  for (guint k = 0; k < c->n_patches; k++)
    if (c->patches[k].literal == node)
      {
        if (c->patches[k].index != G_MAXUINT && c->patches[k].index != index)
          c->reusable = FALSE;
        c->patches[k].index = index;
      }
  return FALSE;
}

/* Orders EvalPatch and EvalPlace by their first member, the index. */
static int
index_compare (gconstpointer a,
               gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

/* The patches of code compiled from @form, in the order of its literals;
 * NULL if a literal went somewhere not in @form. */
static EvalPatches *
patches_of (Compiler   *c,
            RthunkNode *form)
{
  EvalPatches *patches;

  rthunk_node_same_but_literals (form, form, NULL, place_literal, c);
  if (!c->reusable)
    return NULL;
  for (guint k = 0; k < c->n_patches; k++)
    if (c->patches[k].index == G_MAXUINT)
      return NULL;
  qsort (c->patches, c->n_patches, sizeof (EvalPatch), index_compare);
  patches = g_malloc (sizeof (EvalPatches) + c->n_patches * sizeof (EvalPatch));
  patches->carries = c->carries;
  patches->n = c->n_patches;
  memcpy (patches->patch, c->patches, c->n_patches * sizeof (EvalPatch));
  return patches;
}

/* The form as the body of a function of no parameters. */
static Lambda *
compile_top (RthunkEvaluator  *ev,
             RthunkNode       *form,
             GArray          **consulted,
             EvalPatches     **patches)
{
  Compiler c;                   /* not zeroed: its patches are filled in order */
  FnCtx fn = { NULL, NULL, 0, NULL, NULL };
  Lambda *lambda = lambda_new ();

  c.ev = ev;
  c.fn = NULL;
  c.loop_slot = 0;
  c.consulted = NULL;
  c.reusable = TRUE;
  c.carries = FALSE;
  c.n_patches = 0;

  fn.captures = g_array_new (FALSE, FALSE, sizeof (Capture));
  fn.capture_names = g_ptr_array_new ();
  c.fn = &fn;
  lambda->ref_count = 1;
  lambda->name = g_strdup ("top");
  lambda->body = compile (&c, form);
  lambda->n_slots = fn.n_slots;
  g_assert (fn.captures->len == 0);
  g_array_unref (fn.captures);
  g_ptr_array_unref (fn.capture_names);
  *consulted = c.consulted;
  *patches = c.reusable ? patches_of (&c, form) : NULL;
  return lambda;
}

/* Whether the globals @consulted are bound (or not) as they were. */
static gboolean
same_globals (RthunkEvaluator *ev,
              GArray          *consulted)
{
  for (guint k = 0; consulted != NULL && k < consulted->len; k++)
    {
      const Consulted *asked = &g_array_index (consulted, Consulted, k);

      if (g_hash_table_contains (ev->globals, asked->name) != asked->bound)
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const EvalPatch *first, *next, *end;
  RthunkNode **found;           /* the literal of each patch, as it is taken */
} Patching;

/* Whether the literal at @index went anywhere; its node is kept for each
 * patch it goes to. */
static gboolean
take_literal (RthunkNode *template,
              RthunkNode *node,
              guint       index,
              gpointer    data)
{
  Patching *p = data;
  gboolean took = FALSE;

  for (; p->next < p->end && p->next->index == index; p->next++)
    {
      p->found[p->next - p->first] = node;
      took = TRUE;
    }
  return took;
}

/* Whether @code still means what it meant when it was compiled: the
 * globals it consulted are bound as they were, and the catalog it was
 * compiled against has not changed. */
static gboolean
code_holds (RthunkEvaluator *ev,
            const EvalCode  *code)
{
  return same_globals (ev, code->consulted) &&
         code->catalog_version == rthunk_catalog_get_version (ev->catalog);
}

/* Whether @code may run @form: it may be reused, nothing but this
 * evaluator holds it, and @form is its form but for literals and
 * positions; *@same_places says whether the positions are the same too. */
static gboolean
same_shape (const EvalCode  *code,
            RthunkNode      *form,
            gboolean        *same_places,
            RthunkNode     **found)
{
  Patching p;

  if (code->patches == NULL || g_atomic_int_get (&code->top->ref_count) != 1)
    return FALSE;
  p = (Patching) { code->patches->patch, code->patches->patch, code->patches->patch + code->patches->n, found };
  return rthunk_node_same_but_literals (code->form, form, same_places, take_literal, &p) && p.next == p.end;
}

/* Appends the nodes of the tree under @node to @out, in pre-order. */
static void
nodes_in_order (RthunkNode *node,
                GPtrArray  *out)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);

  g_ptr_array_add (out, node);
  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
      nodes_in_order (rthunk_node_get_item (node, k), out);
}

/* Appends to @places where the node of each code under @code stands
 * (@index_of: node → its place + 1); FALSE at a code whose node is not
 * one of them, or that holds a function. */
static gboolean
collect_places (Code       *code,
                GHashTable *index_of,
                GArray     *places)
{
  EvalPlace place = { GPOINTER_TO_UINT (g_hash_table_lookup (index_of, code->node)), code };

  if (place.index-- == 0 || code->lambda != NULL)
    return FALSE;
  g_array_append_val (places, place);
  for (guint k = 0; k < code->n_kids; k++)
    if (code->kids[k] != NULL && !collect_places (code->kids[k], index_of, places))
      return FALSE;
  return TRUE;
}

/* Which node of its form each of @code's codes holds, in the nodes'
 * order. */
static EvalPlaces *
places_of (const EvalCode *code)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr(GHashTable) index_of = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (EvalPlace));
  EvalPlaces *places;
  gboolean movable;

  nodes_in_order (code->form, nodes);
  /* a node at two places (a tree from the wire may share one) stands
   * nowhere in particular: a code that holds it is not movable */
  for (guint k = 0; k < nodes->len; k++)
    g_hash_table_insert (index_of, g_ptr_array_index (nodes, k),
                         GUINT_TO_POINTER (g_hash_table_contains (index_of, g_ptr_array_index (nodes, k)) ? 0 : k + 1));
  movable = collect_places (code->top->body, index_of, found);
  places = g_malloc (sizeof (EvalPlaces) + (movable ? found->len : 0) * sizeof (EvalPlace));
  places->movable = movable;
  places->n = movable ? found->len : 0;
  if (places->n > 0)
    {
      memcpy (places->place, found->data, places->n * sizeof (EvalPlace));
      qsort (places->place, places->n, sizeof (EvalPlace), index_compare);
    }
  return places;
}

/* Where @code's nodes stand, found the first time it is asked: before
 * its first reuse, while they are still those of its form. */
static const EvalPlaces *
code_places (EvalCode *code)
{
  if (code->places == NULL)
    code->places = places_of (code);
  return code->places;
}

/* Whether @code may run a form of its shape that stands elsewhere. */
static gboolean
movable (EvalCode *code)
{
  return code_places (code)->movable;
}

typedef struct
{
  const EvalPlace *next, *end;
  guint index;                  /* the next node's place */
} Moving;

/* Gives the codes of @m that hold the node at @node's place @node, and
 * so on under it, in pre-order. */
static void
move_in_order (RthunkNode *node,
               Moving     *m)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);

  for (; m->next < m->end && m->next->index == m->index; m->next++)
    if (m->next->code->node != node)
      {
        rthunk_node_unref (m->next->code->node);
        m->next->code->node = rthunk_node_ref (node);
      }
  m->index++;
  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    for (guint k = 0; k < rthunk_node_get_n_items (node) && m->next < m->end; k++)
      move_in_order (rthunk_node_get_item (node, k), m);
}

/* Gives @code's codes the nodes of @form, its shape at other places
 * (movable()). */
static void
move_nodes (EvalCode   *code,
            RthunkNode *form)
{
  const EvalPlaces *places = code_places (code);
  Moving m = { places->place, places->place + places->n, 0 };

  move_in_order (form, &m);
  g_assert (m.next == m.end);
}

/* Writes @form's literals into @code, of the same shape: @found, each
 * patch's (same_shape()); and @form's nodes unless they stand where the
 * old ones did and carry nothing the code sends. */
static void
write_literals (EvalCode    *code,
                RthunkNode  *form,
                gboolean     same_places,
                RthunkNode **found)
{
  /* found now: below, the code's form becomes @form while its nodes
   * may stay the old form's */
  code_places (code);
  for (guint k = 0; k < code->patches->n; k++)
    {
      Code *target = code->patches->patch[k].code;

      if (target == NULL)
        continue;
      val_unref (target->constant);
      target->constant = literal_val (found[k]);
    }
  if (!same_places || code->patches->carries)
    move_nodes (code, form);
  rthunk_node_unref (code->form);
  code->form = rthunk_node_ref (form);
}

static void
code_clear (EvalCode *code)
{
  g_clear_pointer (&code->form, rthunk_node_unref);
  g_clear_pointer (&code->top, rthunk_eval_lambda_unref);
  g_clear_pointer (&code->consulted, g_array_unref);
  g_clear_pointer (&code->patches, g_free);
  g_clear_pointer (&code->places, g_free);
}

/* Compiles @form, of the shape @shape, into the empty @code. */
static void
code_compile (RthunkEvaluator *ev,
              EvalCode        *code,
              RthunkNode      *form,
              guint            shape)
{
  code->catalog_version = rthunk_catalog_get_version (ev->catalog);
  code->shape = shape;
  code->top = compile_top (ev, form, &code->consulted, &code->patches);
  code->form = rthunk_node_ref (form);
  ev->compiled++;
}

/* Moves the code at @k to the front, the latest used. */
static EvalCode *
codes_raise (RthunkEvaluator *ev,
             guint            k)
{
  rthunk_array_raise (ev->codes, sizeof ev->codes[0], k);
  return &ev->codes[0];
}

/* Whether @code, of a form compiled lately, may run @form, another tree
 * of the shape @shape (not compared when NULL): the same but for its
 * literals and positions, which are then written in (write_literals(),
 * from @found). */
static gboolean
code_runs (RthunkEvaluator  *ev,
           EvalCode         *code,
           RthunkNode       *form,
           const guint      *shape,
           gboolean         *same_places,
           RthunkNode      **found)
{
  *same_places = TRUE;
  if ((shape != NULL && code->shape != *shape) || !same_shape (code, form, same_places, found) ||
      !code_holds (ev, code))
    return FALSE;
  return (*same_places && !code->patches->carries) || movable (code);
}

/* Moves the code at @k to the front and gives it to a run. */
static Lambda *
code_give (RthunkEvaluator *ev,
           guint            k)
{
  EvalCode *code = codes_raise (ev, k);

  g_atomic_int_inc (&code->top->ref_count);
  return code->top;
}

/* @form's code: compiled now, or kept from a form compiled lately that is
 * the same tree (a request the server's memo gave the same tree again) or
 * of the same shape (code_runs()). Code that reads a global finds it when
 * it runs (by globals_version); what compiling looked at is whether some
 * names were bound (an operator a global shadows), so the code is kept
 * with those names. */
Lambda *
rthunk_eval_compiled_top (RthunkEvaluator *ev,
                          RthunkNode      *form)
{
  EvalCode *code;
  gboolean same_places;
  guint shape = 0;
  RthunkNode *found[MAX_PATCHES];

  for (guint k = 0; k < ev->n_codes; k++)
    if (ev->codes[k].form == form && code_holds (ev, &ev->codes[k]))
      return code_give (ev, k);
  /* the shape of the latest most often: compared without a hash */
  for (guint k = 0; k < ev->n_codes; k++)
    {
      if (k == 1)
        shape = rthunk_node_shape_hash (form);
      if (!code_runs (ev, &ev->codes[k], form, k > 0 ? &shape : NULL, &same_places, found))
        continue;
      write_literals (&ev->codes[k], form, same_places, found);
      return code_give (ev, k);
    }
  if (ev->n_codes <= 1)
    shape = rthunk_node_shape_hash (form);
  if (ev->n_codes == RTHUNK_EVAL_CODES)
    code_clear (&ev->codes[--ev->n_codes]);
  code = codes_raise (ev, ev->n_codes++);
  code_compile (ev, code, form, shape);
  g_atomic_int_inc (&code->top->ref_count);
  return code->top;
}

struct _RthunkEvalKept
{
  RthunkEvaluator *evaluator;   /* whose code it is (not held) */
  EvalCode code;                /* reused only for its own form */
};

/* @form's code from *@kept, or compiled now into it: a code of its own,
 * apart from the evaluator's last forms', which a form of their shape
 * may write into. */
Lambda *
rthunk_eval_kept_top (RthunkEvaluator  *ev,
                      RthunkNode       *form,
                      RthunkEvalKept  **kept)
{
  RthunkEvalKept *k = *kept;

  if (k == NULL)
    *kept = k = g_new0 (RthunkEvalKept, 1);
  else if (k->evaluator != ev || k->code.form != form || !code_holds (ev, &k->code))
    code_clear (&k->code);
  if (k->code.top == NULL)
    {
      k->evaluator = ev;
      code_compile (ev, &k->code, form, 0);
    }
  g_atomic_int_inc (&k->code.top->ref_count);
  return k->code.top;
}

void
rthunk_eval_kept_free (RthunkEvalKept *kept)
{
  if (kept == NULL)
    return;
  code_clear (&kept->code);
  g_free (kept);
}

guint64
rthunk_evaluator_get_compiled (RthunkEvaluator *evaluator)
{
  return evaluator->compiled;
}

/* Drops the code of the forms compiled lately. */
void
rthunk_eval_forget_top (RthunkEvaluator *ev)
{
  while (ev->n_codes > 0)
    code_clear (&ev->codes[--ev->n_codes]);
}

