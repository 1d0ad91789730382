/* rthunk-check.c — Hindley–Milner type inference against catalogs
 *
 * Algorithm W with mutable type variables and binding levels (so that
 * generalisation at let and top-level def is linear). Special forms are
 * dispatched by the head symbol to one small function each.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-check.h"
#include "rthunk-check-private.h"
#include "rthunk-core-private.h"
#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-forms.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"

#define MIN_SUGGESTED_NAME 3    /* shorter unknown names get no "did you mean" */

/* A local scope: a linked list of bindings, innermost first. */
typedef struct _RthunkCheckScope Scope;
struct _RthunkCheckScope
{
  const char *name;
  RthunkType *type;          /* a scheme if generic variables occur in it */
  gboolean remote_visible;   /* bound inside the remote expression we are in */
  Scope *next;
};

typedef struct _RthunkCheckCtx Ctx;
struct _RthunkCheckCtx
{
  RthunkChecker *checker;
  GHashTable *node_types;    /* node → RthunkType, or NULL */
  GPtrArray *loop_types;     /* innermost loop's variable types (RthunkType *) */
  gboolean in_remote;
  guint level;
  guint nesting;             /* inside fn, let or loop, where def is refused */
  gboolean top;              /* the next form inferred is at the top level */
  gboolean form_top;         /* the special form being inferred is */
  RthunkFuncDef *looked_up;  /* the catalog function a name last resolved to */
  RthunkNode *callee;        /* the head of the call being inferred */
};

struct _RthunkChecker
{
  GObject parent_instance;

  RthunkCatalog *catalog;
  RthunkCatalog *remote;
  RthunkCheckGlobals globals;  /* what def, defn and _bind() bound */
  RthunkShapeMemo memo;        /* the last forms' types, by shape */
  gboolean remote_allowed;
  guint next_var;
  char *mismatch_expected;   /* of the last type error */
  char *mismatch_found;
};

/**
 * RthunkChecker:
 *
 * The type checker: Hindley–Milner inference of rthunk forms against a
 * [class@Rthunk.Catalog].
 *
 * [method@Rthunk.Checker.check] infers the type of a form read by the
 * reader (a [struct@Rthunk.Node]), or fails with a `TYPE_MISMATCH`,
 * `UNKNOWN_FUNCTION`, `UNBOUND_NAME` or `SYNTAX` error that carries the
 * source position; [method@Rthunk.Checker.get_mismatch] then gives the
 * expected and found types. Top-level `def` and `defn` forms bind their
 * names in the checker for the forms that follow
 * ([method@Rthunk.Checker.lookup]); [method@Rthunk.Checker.bind] gives
 * a name a type from outside, as a session does for its cells.
 *
 * The body of a `(remote …)` form is checked against the catalog of the
 * servers ([method@Rthunk.Checker.set_remote_catalog]); a server, whose
 * expressions are remote already, forbids the form with
 * [method@Rthunk.Checker.set_remote_allowed]. Nothing is evaluated: a
 * server checks every expression it receives in the same way before it
 * runs it.
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkChecker, rthunk_checker, G_TYPE_OBJECT)

typedef RthunkType *(*FormFunc) (Ctx *ctx, RthunkNode *form, Scope *scope,
                                 gboolean tail, GError **error);

static RthunkType *infer (Ctx *ctx, RthunkNode *node, Scope *scope, gboolean tail, GError **error);

/* ---- helpers ----------------------------------------------------------- */

static RthunkType *
fresh (Ctx *ctx)
{
  return rthunk_type_new_var_at (ctx->checker->next_var++, RTHUNK_TYPE_CLASS_ANY, ctx->level);
}

static RthunkType *
instantiate (Ctx        *ctx,
             RthunkType *scheme)
{
  return rthunk_type_instantiate (scheme, ctx->level, &ctx->checker->next_var);
}

static RthunkType *
record (Ctx        *ctx,
        RthunkNode *node,
        RthunkType *type)
{
  if (type != NULL && ctx->node_types != NULL)
    g_hash_table_replace (ctx->node_types, node, rthunk_type_ref (type));
  return type;
}

static gboolean mismatch (Ctx *ctx, RthunkType *expected, RthunkType *found, RthunkNode *where,
                          const char *what, GError **error);

/* Unifies @expected with @found, or fails at @where; @msgid, what
 * @where is (marked N_()), is translated only for a mismatch: a list
 * literal asked gettext for every element. */
static gboolean
expect (Ctx         *ctx,
        RthunkType  *expected,
        RthunkType  *found,
        RthunkNode  *where,
        const char  *msgid,
        GError     **error)
{
  if (rthunk_type_unify (expected, found))
    return TRUE;
  return mismatch (ctx, expected, found, where, _(msgid), error);
}

/* expect() for argument @k (from 0) of @callee: the words of the message
 * are only put together for a mismatch. */
static gboolean
expect_argument (Ctx         *ctx,
                 RthunkType  *expected,
                 RthunkType  *found,
                 RthunkNode  *where,
                 guint        k,
                 const char  *callee,
                 GError     **error)
{
  g_autofree char *what = NULL;

  if (rthunk_type_unify (expected, found))
    return TRUE;
  what = g_strdup_printf (_("argument %u of %s"), k + 1, callee);
  return mismatch (ctx, expected, found, where, what, error);
}

static gboolean
mismatch (Ctx         *ctx,
          RthunkType  *expected,
          RthunkType  *found,
          RthunkNode  *where,
          const char  *what,
          GError     **error)
{
  g_autofree char *es = NULL;
  g_autofree char *fs = NULL;
  g_autofree char *record_hint = rthunk_check_record_hint (expected, found);

  es = rthunk_type_to_string (expected);
  fs = rthunk_type_to_string (found);
  g_free (ctx->checker->mismatch_expected);
  g_free (ctx->checker->mismatch_found);
  ctx->checker->mismatch_expected = g_strdup (es);
  ctx->checker->mismatch_found = g_strdup (fs);
  rthunk_set_node_error (error, where, RTHUNK_ERROR_TYPE_MISMATCH,
                         _("%s: expected %s, found %s%s"), what, es, fs,
                         record_hint != NULL ? record_hint : rthunk_check_hint (expected, found));
  return FALSE;
}

static gboolean
check_arity (RthunkNode  *form,
             guint        min,
             guint        max,
             GError     **error)
{
  guint n = rthunk_node_get_n_items (form) - 1;
  const char *name = rthunk_node_get_text (rthunk_node_get_item (form, 0));

  if (n >= min && n <= max)
    return TRUE;
  if (max == G_MAXUINT)
    rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                           _("“%s” takes at least %u forms, got %u"), name, min, n);
  else if (min == max)
    rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                           _("“%s” takes %u forms, got %u"), name, min, n);
  else
    rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                           _("“%s” takes %u to %u forms, got %u"), name, min, max, n);
  return FALSE;
}

static gboolean
require_symbol (RthunkNode  *node,
                const char  *what,
                GError     **error)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    return TRUE;
  rthunk_set_node_error (error, node, RTHUNK_ERROR_SYNTAX, _("%s must be a name"), what);
  return FALSE;
}

static Scope *
scope_push (Scope      *next,
            const char *name,
            RthunkType *type,
            Ctx        *ctx)
{
  Scope *scope = g_new (Scope, 1);

  scope->name = name;
  scope->type = rthunk_type_ref (type);
  scope->remote_visible = ctx->in_remote;
  scope->next = next;
  return scope;
}

static void
scope_pop_to (Scope *scope,
              Scope *until)
{
  while (scope != until)
    {
      Scope *next = scope->next;

      rthunk_type_unref (scope->type);
      g_free (scope);
      scope = next;
    }
}

/* Infers the forms of a body (do, let, fn): the type of the last one. */
static RthunkType *
infer_body (Ctx        *ctx,
            RthunkNode *form,
            guint       first,
            Scope      *scope,
            gboolean    tail,
            GError    **error)
{
  guint n = rthunk_node_get_n_items (form);
  RthunkType *type = NULL;

  if (first >= n)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX, _("the body is empty"));
      return NULL;
    }
  for (guint k = first; k < n; k++)
    {
      g_clear_pointer (&type, rthunk_type_unref);
      if ((type = infer (ctx, rthunk_node_get_item (form, k), scope,
                         tail && k + 1 == n, error)) == NULL)
        return NULL;
    }
  return type;
}

/* ---- atoms ------------------------------------------------------------ */

static void set_unbound_error (Ctx *ctx, RthunkNode *node, Scope *scope, RthunkCatalog *catalog, GError **error);

static RthunkType *
lookup_catalog (Ctx        *ctx,
                RthunkNode *node,
                Scope      *scope,
                GError    **error)
{
  const char *name = rthunk_node_get_text (node);
  RthunkCatalog *catalog = ctx->in_remote && ctx->checker->remote != NULL
    ? ctx->checker->remote : ctx->checker->catalog;
  RthunkFuncDef *def = rthunk_catalog_lookup (catalog, name);

  if (def != NULL && node != ctx->callee && !rthunk_check_provided_value (def, node, error))
    return NULL;
  if ((ctx->looked_up = def) != NULL)
    return instantiate (ctx, rthunk_func_def_get_type_term (def));
  if (ctx->in_remote && rthunk_catalog_lookup (ctx->checker->catalog, name) != NULL)
    rthunk_set_node_error (error, node, RTHUNK_ERROR_UNKNOWN_FUNCTION,
                           _("“%s” is not provided by the server"), name);
  else
    set_unbound_error (ctx, node, scope, catalog, error);
  return NULL;
}

static RthunkType *
infer_symbol (Ctx        *ctx,
              RthunkNode *node,
              Scope      *scope,
              GError    **error)
{
  const char *name = rthunk_node_get_text (node);
  RthunkType *global;

  for (Scope *s = scope; s != NULL; s = s->next)
    if (strcmp (s->name, name) == 0)
      {
        if (ctx->in_remote && !s->remote_visible &&
            rthunk_type_get_kind (s->type) == RTHUNK_TYPE_FUNC)
          {
            rthunk_set_node_error (error, node, RTHUNK_ERROR_INVALID_REQUEST,
                                   _("the function “%s” cannot be sent to a server yet: only values travel as inputs"),
                                   name);
            return NULL;
          }
        return instantiate (ctx, s->type);
      }
  global = g_hash_table_lookup (ctx->checker->globals.types, name);
  if (global != NULL)
    {
      if (ctx->in_remote && rthunk_type_get_kind (global) == RTHUNK_TYPE_FUNC &&
          !g_hash_table_contains (ctx->checker->globals.definitions, name))
        {
          rthunk_set_node_error (error, node, RTHUNK_ERROR_INVALID_REQUEST,
                                 _("the function “%s” cannot be sent to a server yet: only values travel as inputs"),
                                 name);
          return NULL;
        }
      return instantiate (ctx, global);
    }
  return lookup_catalog (ctx, node, scope, error);
}

static RthunkType *
infer_vector (Ctx        *ctx,
              RthunkNode *node,
              Scope      *scope,
              GError    **error)
{
  g_autoptr(RthunkType) element = fresh (ctx);

  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    {
      RthunkNode *item = rthunk_node_get_item (node, k);
      g_autoptr(RthunkType) type = infer (ctx, item, scope, FALSE, error);

      if (type == NULL || !expect (ctx, element, type, item, N_("list element"), error))
        return NULL;
    }
  return rthunk_type_new_list (element);
}

/* ---- special forms ----------------------------------------------------- */

static RthunkType *
form_if (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  g_autoptr(RthunkType) bool_type = rthunk_type_new_basic (RTHUNK_TYPE_BOOL);
  g_autoptr(RthunkType) cond = NULL;
  g_autoptr(RthunkType) then_type = NULL;
  g_autoptr(RthunkType) else_type = NULL;

  if (!check_arity (form, 3, 3, error))
    return NULL;
  if ((cond = infer (ctx, rthunk_node_get_item (form, 1), scope, FALSE, error)) == NULL ||
      !expect (ctx, bool_type, cond, rthunk_node_get_item (form, 1), N_("condition of if"), error))
    return NULL;
  if ((then_type = infer (ctx, rthunk_node_get_item (form, 2), scope, tail, error)) == NULL ||
      (else_type = infer (ctx, rthunk_node_get_item (form, 3), scope, tail, error)) == NULL)
    return NULL;
  if (!expect (ctx, then_type, else_type, rthunk_node_get_item (form, 3),
               N_("the branches of if must have one type"), error))
    return NULL;
  /* (if c nil x) with x a maybe: the if is a maybe, not nil */
  if (rthunk_type_get_kind (then_type) == RTHUNK_TYPE_NIL)
    return g_steal_pointer (&else_type);
  return g_steal_pointer (&then_type);
}

/* The forms of a top-level do are at the top level too. */
static RthunkType *
form_do (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  gboolean top = ctx->form_top;
  guint n = rthunk_node_get_n_items (form);
  RthunkType *type = NULL;

  if (n < 2)
    return infer_body (ctx, form, 1, scope, tail, error);
  for (guint k = 1; k < n; k++)
    {
      g_clear_pointer (&type, rthunk_type_unref);
      ctx->top = top;
      if ((type = infer (ctx, rthunk_node_get_item (form, k), scope, tail && k + 1 == n, error)) == NULL)
        return NULL;
    }
  return type;
}

static RthunkType *
form_logic (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  g_autoptr(RthunkType) bool_type = rthunk_type_new_basic (RTHUNK_TYPE_BOOL);

  if (!check_arity (form, 1, G_MAXUINT, error))
    return NULL;
  for (guint k = 1; k < rthunk_node_get_n_items (form); k++)
    {
      RthunkNode *item = rthunk_node_get_item (form, k);
      g_autoptr(RthunkType) type = infer (ctx, item, scope, FALSE, error);

      if (type == NULL || !expect (ctx, bool_type, type, item, N_("operand of and/or"), error))
        return NULL;
    }
  return g_steal_pointer (&bool_type);
}

/* A type larger than this is refused: with let-polymorphism a few lines
 * can make a type of exponential size (each binding doubling it). */
#define MAX_TYPE_NODES 4096

static gboolean
count_type_nodes (RthunkType *type,
                  guint      *budget)
{
  guint n;

  if (*budget == 0)
    return FALSE;
  (*budget)--;
  n = rthunk_type_get_n_children (type);
  for (guint k = 0; k < n; k++)
    if (!count_type_nodes (rthunk_type_get_child (type, k), budget))
      return FALSE;
  return TRUE;
}

static gboolean
check_type_size (RthunkType  *type,
                 RthunkNode  *where,
                 GError     **error)
{
  guint budget = MAX_TYPE_NODES;

  if (count_type_nodes (type, &budget))
    return TRUE;
  rthunk_set_node_error (error, where, RTHUNK_ERROR_LIMIT_EXCEEDED,
                         _("the type of this expression has more than %d parts"), MAX_TYPE_NODES);
  return FALSE;
}

/* Infers @value one level deeper and generalises what it did not share. */
static RthunkType *
infer_generalized (Ctx        *ctx,
                   RthunkNode *value,
                   Scope      *scope,
                   GError    **error)
{
  g_autoptr(RthunkType) type = NULL;

  ctx->level++;
  type = infer (ctx, value, scope, FALSE, error);
  ctx->level--;
  if (type == NULL || !check_type_size (type, value, error))
    return NULL;
  return rthunk_type_generalize (type, ctx->level);
}

/* The bindings vector of a let or loop @form, with its length in @n, or
 * NULL with @error set (to @message when it is not a vector of pairs). */
static RthunkNode *
get_bindings (RthunkNode  *form,
              const char  *message,
              guint       *n,
              GError     **error)
{
  RthunkNode *bindings;

  if (!check_arity (form, 2, G_MAXUINT, error))
    return NULL;
  bindings = rthunk_node_get_item (form, 1);
  *n = rthunk_node_get_n_items (bindings);
  if (rthunk_node_get_kind (bindings) != RTHUNK_NODE_VECTOR || *n % 2 != 0)
    {
      rthunk_set_node_error (error, bindings, RTHUNK_ERROR_SYNTAX, "%s", message);
      return NULL;
    }
  return bindings;
}

/* Infers the value of each of the @n items of name–value pairs in
 * @bindings and pushes its name onto *@scope. A let generalizes each type;
 * a loop (@types not NULL) does not, and keeps them in @types for recur. */
static gboolean
bind_pairs (Ctx         *ctx,
            RthunkNode  *bindings,
            guint        n,
            const char  *what,
            GPtrArray   *types,
            Scope      **scope,
            GError     **error)
{
  for (guint k = 0; k < n; k += 2)
    {
      RthunkNode *name = rthunk_node_get_item (bindings, k);
      RthunkNode *value = rthunk_node_get_item (bindings, k + 1);
      g_autoptr(RthunkType) bound = NULL;

      if (!require_symbol (name, what, error))
        return FALSE;
      if (types != NULL)
        bound = infer (ctx, value, *scope, FALSE, error);
      else
        bound = infer_generalized (ctx, value, *scope, error);
      if (bound == NULL)
        return FALSE;
      *scope = scope_push (*scope, rthunk_node_get_text (name), bound, ctx);
      if (types != NULL)
        g_ptr_array_add (types, g_steal_pointer (&bound));
    }
  return TRUE;
}

/* A let (@types NULL) or loop form: its bindings in a scope over its
 * body. A loop's body is in tail position, and @types (the variables'
 * types) is what a recur in it is checked against. */
static RthunkType *
infer_let_or_loop (Ctx         *ctx,
                   RthunkNode  *form,
                   Scope       *scope,
                   gboolean     tail,
                   GPtrArray   *types,
                   GError     **error)
{
  gboolean is_loop = types != NULL;
  GPtrArray *saved = ctx->loop_types;
  RthunkNode *bindings;
  Scope *inner = scope;
  RthunkType *type = NULL;
  guint n;

  bindings = get_bindings (form, is_loop ? _("loop needs a vector of name–value pairs")
                                         : _("let needs a vector of name–value pairs"), &n, error);
  if (bindings == NULL)
    return NULL;
  if (!bind_pairs (ctx, bindings, n, is_loop ? _("a loop variable") : _("a let binding"), types, &inner, error))
    goto out;
  if (is_loop)
    ctx->loop_types = types;
  ctx->nesting++;
  type = infer_body (ctx, form, 2, inner, is_loop || tail, error);
  ctx->nesting--;
  ctx->loop_types = saved;
out:
  scope_pop_to (inner, scope);
  return type;
}

static RthunkType *
form_let (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  return infer_let_or_loop (ctx, form, scope, tail, NULL, error);
}

/* Pushes the parameters of @params with fresh types into @types. */
static gboolean
bind_params (Ctx         *ctx,
             RthunkNode  *params,
             Scope      **scope,
             GPtrArray   *types,
             GError     **error)
{
  if (rthunk_node_get_kind (params) != RTHUNK_NODE_VECTOR)
    {
      rthunk_set_node_error (error, params, RTHUNK_ERROR_SYNTAX,
                             _("parameters are written as a vector of names"));
      return FALSE;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (params); k++)
    {
      RthunkNode *param = rthunk_node_get_item (params, k);
      RthunkType *type;

      if (!require_symbol (param, _("a parameter"), error))
        return FALSE;
      type = fresh (ctx);
      g_ptr_array_add (types, type);
      *scope = scope_push (*scope, rthunk_node_get_text (param), type, ctx);
    }
  return TRUE;
}

static RthunkType *
infer_lambda (Ctx        *ctx,
              RthunkNode *form,
              guint       params_index,
              Scope      *scope,
              GError    **error)
{
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(RthunkType) result = NULL;
  GPtrArray *saved_loop = ctx->loop_types;
  Scope *inner = scope;

  if (!check_arity (form, params_index + 1, G_MAXUINT, error))
    return NULL;
  if (bind_params (ctx, rthunk_node_get_item (form, params_index), &inner, types, error))
    {
      ctx->loop_types = NULL;     /* recur does not cross a function boundary */
      ctx->nesting++;
      result = infer_body (ctx, form, params_index + 1, inner, TRUE, error);
      ctx->nesting--;
      ctx->loop_types = saved_loop;
    }
  scope_pop_to (inner, scope);
  if (result == NULL)
    return NULL;
  return rthunk_type_new_func ((RthunkType **) types->pdata, types->len, result);
}

static RthunkType *
form_fn (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  return infer_lambda (ctx, form, 1, scope, error);
}

static gboolean
require_top_level (Ctx         *ctx,
                   RthunkNode  *form,
                   Scope       *scope,
                   GError     **error)
{
  if (ctx->form_top && scope == NULL && ctx->level == 0 && !ctx->in_remote && ctx->nesting == 0)
    return TRUE;
  rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                         _("“%s” is only allowed at the top level"),
                         rthunk_node_get_text (rthunk_node_get_item (form, 0)));
  return FALSE;
}

static RthunkType *
form_def (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  RthunkNode *name;
  RthunkType *scheme;

  if (!check_arity (form, 2, 2, error) || !require_top_level (ctx, form, scope, error))
    return NULL;
  name = rthunk_node_get_item (form, 1);
  if (!require_symbol (name, _("the name of def"), error) ||
      (scheme = infer_generalized (ctx, rthunk_node_get_item (form, 2), scope, error)) == NULL)
    return NULL;
  rthunk_check_globals_set (&ctx->checker->globals, rthunk_node_get_text (name), scheme, FALSE);
  return instantiate (ctx, scheme);
}

static RthunkType *
form_defn (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  RthunkNode *name;
  g_autoptr(RthunkType) self = NULL;
  g_autoptr(RthunkType) type = NULL;
  Scope *inner;
  RthunkType *scheme;

  if (!check_arity (form, 3, G_MAXUINT, error) || !require_top_level (ctx, form, scope, error))
    return NULL;
  name = rthunk_node_get_item (form, 1);
  if (!require_symbol (name, _("the name of defn"), error))
    return NULL;
  ctx->level++;
  self = fresh (ctx);
  inner = scope_push (scope, rthunk_node_get_text (name), self, ctx);
  type = infer_lambda (ctx, form, 2, inner, error);
  scope_pop_to (inner, scope);
  ctx->level--;
  if (type == NULL || !expect (ctx, self, type, form, N_("recursive use of the function"), error) ||
      !check_type_size (type, form, error))
    return NULL;
  scheme = rthunk_type_generalize (type, ctx->level);
  rthunk_check_globals_set (&ctx->checker->globals, rthunk_node_get_text (name), scheme, TRUE);
  return instantiate (ctx, scheme);
}

static RthunkType *
form_loop (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);

  return infer_let_or_loop (ctx, form, scope, tail, types, error);
}

static RthunkType *
form_recur (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  GPtrArray *types = ctx->loop_types;
  guint n = rthunk_node_get_n_items (form) - 1;

  if (types == NULL || !tail)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             types == NULL ? _("recur outside of a loop")
                                           : _("recur must be in tail position"));
      return NULL;
    }
  if (n != types->len)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             _("recur takes %u values, one per loop variable, got %u"),
                             types->len, n);
      return NULL;
    }
  for (guint k = 0; k < n; k++)
    {
      RthunkNode *item = rthunk_node_get_item (form, k + 1);
      g_autoptr(RthunkType) type = infer (ctx, item, scope, FALSE, error);

      if (type == NULL || !expect (ctx, g_ptr_array_index (types, k), type, item,
                                   N_("value for a loop variable"), error))
        return NULL;
    }
  return fresh (ctx);
}

/* The options of remote, and the type of each one's value (a flag such
 * as :ref takes none). */
static const struct
{
  const char *name;
  RthunkTypeKind type;
} remote_options[] = {
  { "on", RTHUNK_TYPE_STR },
  { "needs", RTHUNK_TYPE_STR },
  { "verify", RTHUNK_TYPE_INT },
  { "timeout", RTHUNK_TYPE_INT },
  { "ref", RTHUNK_TYPE_NIL },
};

/* @option is one remote knows, and @value (unless it is a flag) has the
 * type it takes: a misspelt option is an error, never ignored. */
static gboolean
check_remote_option (Ctx         *ctx,
                     RthunkNode  *option,
                     RthunkNode  *value,
                     Scope       *scope,
                     GError     **error)
{
  const char *name = rthunk_node_get_text (option);
  const char *names[G_N_ELEMENTS (remote_options)];
  const char *nearest;
  g_autoptr(RthunkType) expected = NULL;
  g_autoptr(RthunkType) found = NULL;

  for (guint k = 0; k < G_N_ELEMENTS (remote_options); k++)
    {
      names[k] = remote_options[k].name;
      if (strcmp (name, names[k]) != 0)
        continue;
      if (rthunk_remote_option_is_flag (name))
        return TRUE;
      expected = rthunk_type_new_basic (remote_options[k].type);
      found = infer (ctx, value, scope, FALSE, error);
      return found != NULL && expect (ctx, expected, found, value, N_("value of a remote option"), error);
    }
  nearest = rthunk_nearest_name (name, names, G_N_ELEMENTS (names));
  if (nearest != NULL)
    rthunk_set_node_error (error, option, RTHUNK_ERROR_SYNTAX,
                           _("remote has no option :%s; did you mean :%s?"), name, nearest);
  else
    rthunk_set_node_error (error, option, RTHUNK_ERROR_SYNTAX,
                           _("remote has no option :%s (it takes :on, :needs, :verify, :timeout and :ref)"), name);
  return FALSE;
}

/* Infers @node as code that runs on a server when @remote (inside a
 * remote, auto or splitting form that sends it there), here otherwise. */
static RthunkType *
infer_where (Ctx         *ctx,
             RthunkNode  *node,
             Scope       *scope,
             gboolean     remote,
             GError     **error)
{
  gboolean was_remote = ctx->in_remote;
  RthunkType *type;

  ctx->in_remote = remote;
  type = infer (ctx, node, scope, FALSE, error);
  ctx->in_remote = was_remote;
  return type;
}

/* (remote [:on "name"] [:needs "cap"] … EXPR) */
static RthunkType *
form_remote (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  guint n = rthunk_node_get_n_items (form);
  guint k = 1;

  if (!ctx->checker->remote_allowed || ctx->in_remote)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             ctx->in_remote ? _("remote inside remote is not allowed")
                                            : _("remote is not available here"));
      return NULL;
    }
  while (k < n && rthunk_node_get_kind (rthunk_node_get_item (form, k)) == RTHUNK_NODE_KEYWORD)
    {
      if (k + 1 >= n)
        break;
      k += rthunk_remote_option_is_flag (rthunk_node_get_text (rthunk_node_get_item (form, k))) ? 1 : 2;
    }
  if (k + 1 != n || rthunk_node_get_kind (rthunk_node_get_item (form, k)) == RTHUNK_NODE_KEYWORD)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             _("remote takes options (:keyword value, or :ref) and one expression"));
      return NULL;
    }
  for (guint o = 1; o < k; o++)
    {
      RthunkNode *option = rthunk_node_get_item (form, o);

      if (!check_remote_option (ctx, option, rthunk_node_get_item (form, o + 1), scope, error))
        return NULL;
      o += rthunk_remote_option_is_flag (rthunk_node_get_text (option)) ? 0 : 1;
    }
  return infer_where (ctx, rthunk_node_get_item (form, k), scope, TRUE, error);
}

static RthunkType *
form_await (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  if (!check_arity (form, 1, 1, error))
    return NULL;
  return infer (ctx, rthunk_node_get_item (form, 1), scope, FALSE, error);
}

/* Whether @node names a function that servers provide and this process
 * does not: an `(auto …)` body that does must be checked as remote. */
static gboolean
names_server_function (Ctx        *ctx,
                       RthunkNode *node,
                       Scope      *scope)
{
  guint n = rthunk_node_get_n_items (node);

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);

      for (Scope *s = scope; s != NULL; s = s->next)
        if (strcmp (s->name, name) == 0)
          return FALSE;
      return ctx->checker->remote != NULL && !g_hash_table_contains (ctx->checker->globals.types, name) &&
             rthunk_catalog_lookup (ctx->checker->catalog, name) == NULL &&
             rthunk_catalog_lookup (ctx->checker->remote, name) != NULL;
    }
  for (guint k = 0; k < n; k++)
    if (names_server_function (ctx, rthunk_node_get_item (node, k), scope))
      return TRUE;
  return FALSE;
}

/* (auto EXPR): checked as it runs here, or as remote when it uses a
 * function only servers provide (it then always goes there). */
static RthunkType *
form_auto (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  RthunkNode *body;

  if (!check_arity (form, 1, 1, error))
    return NULL;
  body = rthunk_node_get_item (form, 1);
  return infer_where (ctx, body, scope,
                      ctx->in_remote || (ctx->checker->remote_allowed && names_server_function (ctx, body, scope)),
                      error);
}

/* Infers a part of a splitting form that runs on the servers. */
static RthunkType *
infer_on_servers (Ctx         *ctx,
                  RthunkNode  *node,
                  Scope       *scope,
                  GError     **error)
{
  if (!ctx->checker->remote_allowed || ctx->in_remote)
    {
      rthunk_set_node_error (error, node, RTHUNK_ERROR_SYNTAX,
                             _("pmap, psum and preduce are not available here"));
      return NULL;
    }
  return infer_where (ctx, node, scope, TRUE, error);
}

/* Checks the arguments of a splitting form against @signature, each one
 * on the servers or here as @remote says. */
static RthunkType *
infer_split (Ctx         *ctx,
             RthunkNode  *form,
             Scope       *scope,
             const char  *signature,
             const char  *remote,
             GError     **error)
{
  g_autoptr(RthunkType) scheme = rthunk_type_parse (signature, NULL);
  g_autoptr(RthunkType) fn = instantiate (ctx, scheme);
  guint n = rthunk_type_get_n_children (fn) - 1;

  if (!check_arity (form, n, n, error))
    return NULL;
  for (guint k = 0; k < n; k++)
    {
      RthunkNode *arg = rthunk_node_get_item (form, k + 1);
      g_autoptr(RthunkType) type = remote[k] == 'r' ? infer_on_servers (ctx, arg, scope, error)
                                                    : infer (ctx, arg, scope, FALSE, error);
      if (type == NULL ||
          !expect_argument (ctx, rthunk_type_get_child (fn, k), type, arg, k,
                            rthunk_node_get_text (rthunk_node_get_item (form, 0)), error))
        return NULL;
    }
  return rthunk_type_ref (rthunk_type_get_child (fn, n));
}

/* (pmap F XS): F runs on the servers, one chunk of XS each. */
static RthunkType *
form_pmap (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  return infer_split (ctx, form, scope, rthunk_split_form_signature ("pmap"), "rl", error);
}

/* (psum F LO HI): the sum of (F i) for i in [LO, HI), a slice per server. */
static RthunkType *
form_psum (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  return infer_split (ctx, form, scope, rthunk_split_form_signature ("psum"), "rll", error);
}

/* (preduce OP INIT F LO HI): OP, associative, folds (F i) for i in [LO, HI)
 * on each server's slice, and here over the slices' results from INIT. */

/* Whether @name means a catalog function here: no local or global
 * shadows it. */
static RthunkFuncDef *
unshadowed_catalog_function (Ctx        *ctx,
                             const char *name,
                             Scope      *scope)
{
  RthunkCatalog *catalog = ctx->checker->remote != NULL ? ctx->checker->remote : ctx->checker->catalog;

  for (; scope != NULL; scope = scope->next)
    if (strcmp (scope->name, name) == 0)
      return NULL;
  if (g_hash_table_contains (ctx->checker->globals.types, name))
    return NULL;
  return rthunk_catalog_lookup (catalog, name);
}

/* The operation of a preduce folds each slice apart and then the slices'
 * results, which gives the fold's answer only if it is associative: a
 * catalog function with the assoc flag, or (assoc-fn OP), the user's
 * promise that OP is. */
static gboolean
require_associative (Ctx         *ctx,
                     RthunkNode  *op,
                     Scope       *scope,
                     GError     **error)
{
  RthunkFuncDef *def;

  if (rthunk_node_get_kind (op) == RTHUNK_NODE_LIST && rthunk_node_get_n_items (op) == 2 &&
      rthunk_node_is_symbol (rthunk_node_get_item (op, 0), RTHUNK_ASSOC_FN) &&
      unshadowed_catalog_function (ctx, RTHUNK_ASSOC_FN, scope) != NULL)
    return TRUE;
  if (rthunk_node_get_kind (op) == RTHUNK_NODE_SYMBOL &&
      (def = unshadowed_catalog_function (ctx, rthunk_node_get_text (op), scope)) != NULL)
    {
      if (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_ASSOC)
        return TRUE;
      rthunk_set_node_error (error, op, RTHUNK_ERROR_INVALID_REQUEST,
                             _("preduce needs an associative operation, and “%s” is not: "
                               "each server folds its slice and the slices are folded here"),
                             rthunk_node_get_text (op));
      return FALSE;
    }
  rthunk_set_node_error (error, op, RTHUNK_ERROR_INVALID_REQUEST,
                         _("preduce needs an associative operation: write (%s OP) to promise "
                           "that OP is"), RTHUNK_ASSOC_FN);
  return FALSE;
}

static RthunkType *
form_preduce (Ctx *ctx, RthunkNode *form, Scope *scope, gboolean tail, GError **error)
{
  if (rthunk_node_get_n_items (form) > 1 &&
      !require_associative (ctx, rthunk_node_get_item (form, 1), scope, error))
    return NULL;
  return infer_split (ctx, form, scope, rthunk_split_form_signature ("preduce"), "rlrll", error);
}

static const FormFunc form_funcs[RTHUNK_N_FORMS] = {
  [RTHUNK_FORM_PMAP] = form_pmap,
  [RTHUNK_FORM_PSUM] = form_psum,
  [RTHUNK_FORM_PREDUCE] = form_preduce,
  [RTHUNK_FORM_IF] = form_if,
  [RTHUNK_FORM_DO] = form_do,
  [RTHUNK_FORM_AND] = form_logic,
  [RTHUNK_FORM_OR] = form_logic,
  [RTHUNK_FORM_LET] = form_let,
  [RTHUNK_FORM_FN] = form_fn,
  [RTHUNK_FORM_DEF] = form_def,
  [RTHUNK_FORM_DEFN] = form_defn,
  [RTHUNK_FORM_LOOP] = form_loop,
  [RTHUNK_FORM_RECUR] = form_recur,
  [RTHUNK_FORM_REMOTE] = form_remote,
  [RTHUNK_FORM_AWAIT] = form_await,
  [RTHUNK_FORM_AUTO] = form_auto,
  [RTHUNK_FORM_RECORD] = rthunk_check_record,
  [RTHUNK_FORM_GET] = rthunk_check_get,
  [RTHUNK_FORM_ASSOC] = rthunk_check_assoc,
};

/* “x” is not defined; with the nearest name in reach (a local, a global,
 * a function of @catalog or a special form) as “did you mean”, for a
 * name of three letters or more (any one-letter name is near another). */
static void
set_unbound_error (Ctx            *ctx,
                   RthunkNode     *node,
                   Scope          *scope,
                   RthunkCatalog  *catalog,
                   GError        **error)
{
  const char *name = rthunk_node_get_text (node);
  g_autoptr(GPtrArray) defs = rthunk_catalog_list (catalog);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer global;
  const char *nearest = NULL;

  for (; scope != NULL; scope = scope->next)
    g_ptr_array_add (names, (gpointer) scope->name);
  g_hash_table_iter_init (&iter, ctx->checker->globals.types);
  while (g_hash_table_iter_next (&iter, &global, NULL))
    g_ptr_array_add (names, global);
  for (guint k = 0; k < defs->len; k++)
    g_ptr_array_add (names, (gpointer) rthunk_func_def_get_name (g_ptr_array_index (defs, k)));
  for (RthunkForm form = 0; form < RTHUNK_N_FORMS; form++)
    g_ptr_array_add (names, (gpointer) rthunk_form_name (form));
  if (strlen (name) >= MIN_SUGGESTED_NAME)
    nearest = rthunk_nearest_name (name, (const char *const *) names->pdata, names->len);
  if (nearest != NULL)
    rthunk_set_node_error (error, node, RTHUNK_ERROR_UNBOUND_NAME,
                           _("“%s” is not defined; did you mean “%s”?"), name, nearest);
  else
    rthunk_set_node_error (error, node, RTHUNK_ERROR_UNBOUND_NAME,
                           _("“%s” is not defined"), name);
}

/* How to check the special form @head names, or NULL for a call. */
static FormFunc
lookup_form (RthunkNode *head)
{
  RthunkForm form;

  return rthunk_form_lookup (head, &form) ? form_funcs[form] : NULL;
}

/* ---- calls ------------------------------------------------------------- */

static RthunkType *
infer_call (Ctx        *ctx,
            RthunkNode *form,
            Scope      *scope,
            GError    **error)
{
  RthunkNode *head = rthunk_node_get_item (form, 0);
  guint n_args = rthunk_node_get_n_items (form) - 1;
  g_autoptr(RthunkType) callee = NULL;
  g_autofree char *callee_name = NULL;
  RthunkFuncDef *def;
  RthunkType *fn;

  ctx->looked_up = NULL;
  ctx->callee = head;
  callee = infer (ctx, head, scope, FALSE, error);
  def = ctx->looked_up;
  if (callee == NULL)
    return NULL;
  if (def != NULL && rthunk_node_get_kind (head) == RTHUNK_NODE_SYMBOL &&
      !rthunk_check_provided_call (ctx->checker, def, form, &callee, ctx->level, &ctx->checker->next_var, error))
    return NULL;
  callee_name = rthunk_node_get_kind (head) == RTHUNK_NODE_SYMBOL
    ? g_strdup (rthunk_node_get_text (head)) : g_strdup (_("the function"));
  fn = rthunk_type_prune (callee);
  if (rthunk_type_get_kind (fn) == RTHUNK_TYPE_VAR)
    {
      g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
      g_autoptr(RthunkType) result = fresh (ctx);
      g_autoptr(RthunkType) shape = NULL;

      for (guint k = 0; k < n_args; k++)
        g_ptr_array_add (params, fresh (ctx));
      shape = rthunk_type_new_func ((RthunkType **) params->pdata, n_args, result);
      if (!expect (ctx, callee, shape, head, N_("called value"), error))
        return NULL;
      fn = rthunk_type_prune (callee);
    }
  if (rthunk_type_get_kind (fn) != RTHUNK_TYPE_FUNC)
    {
      g_autofree char *found = rthunk_type_to_string (fn);

      rthunk_set_node_error (error, head, RTHUNK_ERROR_TYPE_MISMATCH,
                             _("%s is not a function: found %s"), callee_name, found);
      return NULL;
    }
  if (rthunk_type_get_n_children (fn) - 1 != n_args)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_TYPE_MISMATCH,
                             _("%s takes %u arguments, got %u"), callee_name,
                             rthunk_type_get_n_children (fn) - 1, n_args);
      return NULL;
    }
  for (guint k = 0; k < n_args; k++)
    {
      RthunkNode *arg = rthunk_node_get_item (form, k + 1);
      g_autoptr(RthunkType) type = infer (ctx, arg, scope, FALSE, error);
      if (type == NULL || !expect_argument (ctx, rthunk_type_get_child (fn, k), type, arg, k, callee_name, error))
        return NULL;
    }
  return rthunk_type_ref (rthunk_type_get_child (fn, n_args));
}

static RthunkType *
infer_list (Ctx        *ctx,
            RthunkNode *form,
            Scope      *scope,
            gboolean    tail,
            GError    **error)
{
  FormFunc special;

  if (rthunk_node_get_n_items (form) == 0)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             _("() is not an expression; the empty list is []"));
      return NULL;
    }
  special = lookup_form (rthunk_node_get_item (form, 0));
  if (special != NULL)
    return special (ctx, form, scope, tail, error);
  ctx->form_top = FALSE;
  if (rthunk_node_get_kind (rthunk_node_get_item (form, 0)) == RTHUNK_NODE_KEYWORD)
    return rthunk_check_field_call (ctx, form, scope, error);
  return infer_call (ctx, form, scope, error);
}

static RthunkType *
infer (Ctx        *ctx,
       RthunkNode *node,
       Scope      *scope,
       gboolean    tail,
       GError    **error)
{
  RthunkType *type = NULL;

  ctx->form_top = ctx->top;
  ctx->top = FALSE;
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:    type = rthunk_type_new_basic (RTHUNK_TYPE_INT); break;
    case RTHUNK_NODE_FLOAT:  type = rthunk_type_new_basic (RTHUNK_TYPE_FLOAT); break;
    case RTHUNK_NODE_STR:    type = rthunk_type_new_basic (RTHUNK_TYPE_STR); break;
    case RTHUNK_NODE_BOOL:   type = rthunk_type_new_basic (RTHUNK_TYPE_BOOL); break;
    case RTHUNK_NODE_NIL:    type = rthunk_type_new_basic (RTHUNK_TYPE_NIL); break;
    case RTHUNK_NODE_SYMBOL: type = infer_symbol (ctx, node, scope, error); break;
    case RTHUNK_NODE_VECTOR: type = infer_vector (ctx, node, scope, error); break;
    case RTHUNK_NODE_LIST:   type = infer_list (ctx, node, scope, tail, error); break;
    case RTHUNK_NODE_KEYWORD:
    default:
      /* :age as a function: ({age: a | r} -> a) */
      type = rthunk_field_reader_type (rthunk_node_get_text (node), ctx->level,
                                       &ctx->checker->next_var);
      break;
    }
  return record (ctx, node, type);
}

/* ---- for the checker's other files ------------------------------------ */

RthunkType *
rthunk_check_infer (Ctx         *ctx,
                    RthunkNode  *node,
                    Scope       *scope,
                    GError     **error)
{
  return infer (ctx, node, scope, FALSE, error);
}

RthunkType *
rthunk_check_fresh (Ctx *ctx)
{
  return fresh (ctx);
}

gboolean
rthunk_check_expect (Ctx         *ctx,
                     RthunkType  *expected,
                     RthunkType  *found,
                     RthunkNode  *where,
                     const char  *what,
                     GError     **error)
{
  return rthunk_type_unify (expected, found) || mismatch (ctx, expected, found, where, what, error);
}

/* ---- the object -------------------------------------------------------- */

static void
rthunk_checker_finalize (GObject *object)
{
  RthunkChecker *self = RTHUNK_CHECKER (object);

  g_clear_object (&self->catalog);
  g_clear_object (&self->remote);
  rthunk_shape_memo_clear (&self->memo);
  rthunk_check_globals_destroy (&self->globals);
  g_free (self->mismatch_expected);
  g_free (self->mismatch_found);
  G_OBJECT_CLASS (rthunk_checker_parent_class)->finalize (object);
}

static void
rthunk_checker_class_init (RthunkCheckerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_checker_finalize;
}

static void
rthunk_checker_init (RthunkChecker *self)
{
  rthunk_check_globals_init (&self->globals);
  self->remote_allowed = TRUE;
  self->memo.value_free = (GDestroyNotify) rthunk_type_unref;
}

/* Back to what rthunk_checker_new() made for @catalog, keeping the
 * allocations: a server checks one request after another on a thread. */
gboolean
rthunk_checker_reset (RthunkChecker *self,
                      RthunkCatalog *catalog)
{
  if (self->catalog != catalog || self->globals.depth > 0)
    return FALSE;
  g_clear_object (&self->remote);
  rthunk_check_globals_clear (&self->globals);
  /* what it kept was checked with the names just cleared */
  rthunk_shape_memo_clear (&self->memo);
  self->remote_allowed = TRUE;
  self->next_var = 0;
  g_clear_pointer (&self->mismatch_expected, g_free);
  g_clear_pointer (&self->mismatch_found, g_free);
  return TRUE;
}

guint64
rthunk_checker_get_memo_hits (RthunkChecker *checker)
{
  return checker->memo.hits;
}

RthunkCatalog *
rthunk_checker_peek_catalog (RthunkChecker *checker)
{
  return checker->catalog;
}

/**
 * rthunk_checker_new:
 * @catalog: the functions that local code may call
 *
 * Creates a type checker. A checker remembers the types of the names that
 * `def` and `defn` bind, and those given to rthunk_checker_bind(). It is
 * not thread-safe: use one per thread.
 *
 * Returns: (transfer full): a new checker
 *
 * Since: 0.1
 */
RthunkChecker *
rthunk_checker_new (RthunkCatalog *catalog)
{
  RthunkChecker *self;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);

  self = g_object_new (RTHUNK_TYPE_CHECKER, NULL);
  self->catalog = g_object_ref (catalog);
  return self;
}

/**
 * rthunk_checker_set_remote_catalog:
 * @checker: a checker
 * @remote: (nullable): the functions a server provides
 *
 * Sets the catalog that the bodies of `(remote …)` are checked against.
 * With %NULL, remote bodies use the local catalog.
 *
 * Since: 0.1
 */
void
rthunk_checker_set_remote_catalog (RthunkChecker *checker,
                                   RthunkCatalog *remote)
{
  g_return_if_fail (RTHUNK_IS_CHECKER (checker));

  g_set_object (&checker->remote, remote);
}

/**
 * rthunk_checker_set_remote_allowed:
 * @checker: a checker
 * @allowed: whether `remote` may be used
 *
 * A server checks with `remote` not allowed: what it evaluates is already
 * remote.
 *
 * Since: 0.1
 */
void
rthunk_checker_set_remote_allowed (RthunkChecker *checker,
                                   gboolean       allowed)
{
  g_return_if_fail (RTHUNK_IS_CHECKER (checker));

  checker->remote_allowed = allowed;
}

/* What a check of a form depends on beside the form: the names bound, the
 * catalogs. */
static void
memo_key (RthunkChecker      *checker,
          RthunkShapeMemoKey *key)
{
  *key = (RthunkShapeMemoKey) {
    { checker->globals.version, rthunk_catalog_get_version (checker->catalog),
      checker->remote != NULL ? rthunk_catalog_get_version (checker->remote) : 0, checker->remote_allowed },
    (GObject *) checker->remote,
  };
}

/**
 * rthunk_checker_check_typed:
 * @checker: a checker
 * @form: a top-level form
 * @node_types: (out) (optional) (transfer container) (element-type RthunkNode RthunkType):
 *   the type of every node of @form, resolved
 * @error: return location for a #GError
 *
 * Infers the type of @form. Errors are %RTHUNK_ERROR_TYPE_MISMATCH and
 * friends, with a message naming `SOURCE:LINE:COL`, the expected and the
 * found type.
 *
 * Returns: (transfer full) (nullable): the type of @form, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
RthunkType *
rthunk_checker_check_typed (RthunkChecker  *checker,
                            RthunkNode     *form,
                            GHashTable    **node_types,
                            GError        **error)
{
  Ctx ctx = { checker, NULL, NULL, FALSE, 0 };
  g_autoptr(RthunkType) type = NULL;
  RthunkShapeMemoKey key;
  RthunkType *kept;

  g_return_val_if_fail (RTHUNK_IS_CHECKER (checker), NULL);
  g_return_val_if_fail (form != NULL, NULL);

  g_clear_pointer (&checker->mismatch_expected, g_free);
  g_clear_pointer (&checker->mismatch_found, g_free);
  /* a form of a shape checked lately, nothing changed since: its type */
  memo_key (checker, &key);
  if (node_types == NULL && (kept = rthunk_shape_memo_find (&checker->memo, form, &key)) != NULL)
    return rthunk_type_ref (kept);
  if (node_types != NULL)
    ctx.node_types = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);
  ctx.top = TRUE;
  type = infer (&ctx, form, NULL, FALSE, error);
  if (type != NULL)
    {
      RthunkType *inferred = g_steal_pointer (&type);

      type = rthunk_type_resolve (inferred);
      rthunk_type_unref (inferred);
      /* kept unless it bound a name (a def or defn) */
      if (key.words[0] == checker->globals.version && rthunk_type_is_ground (type))
        rthunk_shape_memo_keep (&checker->memo, form, &key, rthunk_type_ref (type), TRUE);
    }
  if (type != NULL && node_types != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, ctx.node_types);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_hash_table_iter_replace (&iter, rthunk_type_resolve (value));
      *node_types = g_steal_pointer (&ctx.node_types);
    }
  g_clear_pointer (&ctx.node_types, g_hash_table_unref);
  return g_steal_pointer (&type);
}

/**
 * rthunk_checker_check:
 * @checker: a checker
 * @form: a top-level form
 * @error: return location for a #GError
 *
 * Infers the type of @form; see rthunk_checker_check_typed().
 *
 * Returns: (transfer full) (nullable): the type, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkType *
rthunk_checker_check (RthunkChecker  *checker,
                      RthunkNode     *form,
                      GError        **error)
{
  return rthunk_checker_check_typed (checker, form, NULL, error);
}

RthunkCheckGlobals *
rthunk_check_globals_of (RthunkChecker *checker)
{
  return &checker->globals;
}

/**
 * rthunk_checker_get_mismatch:
 * @checker: a checker whose last check failed with a type mismatch
 * @expected: (out) (optional) (transfer none) (nullable): the expected type
 * @found: (out) (optional) (transfer none) (nullable): the type found
 *
 * The two types of the last %RTHUNK_ERROR_TYPE_MISMATCH, as text; %NULL
 * when the last check failed otherwise or succeeded.
 *
 * Since: 0.1
 */
void
rthunk_checker_get_mismatch (RthunkChecker  *checker,
                             const char    **expected,
                             const char    **found)
{
  g_return_if_fail (RTHUNK_IS_CHECKER (checker));

  if (expected != NULL)
    *expected = checker->mismatch_expected;
  if (found != NULL)
    *found = checker->mismatch_found;
}

/* The type of a splitting form (pmap, psum, preduce) as if it were a
 * function, or NULL for another name. */
const char *
rthunk_split_form_signature (const char *name)
{
  static const char *const signatures[][2] = {
    { "pmap", "((a -> b) [a] -> [b])" },
    { "psum", "num b => ((int -> b) int int -> b)" },
    { "preduce", "((b b -> b) b (int -> b) int int -> b)" },
  };

  for (guint k = 0; k < G_N_ELEMENTS (signatures); k++)
    if (g_strcmp0 (name, signatures[k][0]) == 0)
      return signatures[k][1];
  return NULL;
}

/* The catalog of what servers provide, or NULL. */
RthunkCatalog *
rthunk_checker_peek_remote_catalog (RthunkChecker *checker)
{
  return checker->remote;
}
