/* rthunk-eval.c — the evaluator, with limits
 *
 * A tree-walking evaluator over the checked AST. Local bindings live in
 * refcounted frames that closures capture; globals in a table. Special
 * forms dispatch by head symbol to one small function each. `recur` is a
 * signal that the enclosing `loop` turns into its next iteration, so loops
 * run in constant stack. Every step costs fuel; depth, deadline and
 * cancellation are checked as evaluation goes.
 */
#include "config.h"

#include <string.h>

#include "rthunk-private.h"

#define CHECK_EVERY 1024

/* ---- environments ------------------------------------------------------ */

typedef struct _Env Env;
struct _Env
{
  gint ref_count;
  const char *name;        /* owned by the AST the frame was made from */
  RthunkValue *value;
  Env *next;
  RthunkNode *keep;        /* keeps the AST holding @name alive */
};

static Env *env_ref (Env *env);

static Env *
env_push (Env         *next,
          RthunkNode  *keep,
          const char  *name,
          RthunkValue *value)
{
  Env *env = g_new (Env, 1);

  env->ref_count = 1;
  env->name = name;
  env->value = rthunk_value_ref (value);
  env->next = env_ref (next);
  env->keep = rthunk_node_ref (keep);
  return env;
}

static Env *
env_ref (Env *env)
{
  if (env != NULL)
    g_atomic_int_inc (&env->ref_count);
  return env;
}

static void
env_unref (Env *env)
{
  while (env != NULL && g_atomic_int_dec_and_test (&env->ref_count))
    {
      Env *next = env->next;

      rthunk_value_unref (env->value);
      rthunk_node_unref (env->keep);
      g_free (env);
      env = next;
    }
}

/* Drops the frames pushed on top of @base: the top one owns the others. */
static void
env_pop_to (Env *env,
            Env *base)
{
  if (env != base)
    env_unref (env);
}

/* ---- callables --------------------------------------------------------- */

typedef enum { CALLABLE_NATIVE, CALLABLE_CLOSURE } CallableKind;

typedef struct
{
  CallableKind kind;
  RthunkFuncDef *def;      /* NATIVE */
  RthunkNode *form;        /* CLOSURE: (fn [params] body…) or (defn name [params] body…) */
  guint params_index;
  Env *env;
} Callable;

static void
callable_free (gpointer data)
{
  Callable *callable = data;

  g_clear_pointer (&callable->def, rthunk_func_def_unref);
  g_clear_pointer (&callable->form, rthunk_node_unref);
  env_unref (callable->env);
  g_free (callable);
}

static RthunkValue *
new_native (RthunkFuncDef *def)
{
  Callable *callable = g_new0 (Callable, 1);

  callable->kind = CALLABLE_NATIVE;
  callable->def = rthunk_func_def_ref (def);
  return rthunk_value_new_func (rthunk_func_def_get_name (def), callable, callable_free);
}

static RthunkValue *
new_closure (const char *name,
             RthunkNode *form,
             guint       params_index,
             Env        *env)
{
  Callable *callable = g_new0 (Callable, 1);

  callable->kind = CALLABLE_CLOSURE;
  callable->form = rthunk_node_ref (form);
  callable->params_index = params_index;
  callable->env = env_ref (env);
  return rthunk_value_new_func (name, callable, callable_free);
}

/* ---- the evaluator ----------------------------------------------------- */

struct _RthunkEvaluator
{
  GObject parent_instance;

  RthunkCatalog *catalog;
  GHashTable *globals;          /* name → RthunkValue */
  guint64 fuel;
  guint max_depth;
  gint64 deadline_us;           /* monotonic; 0 = none */
  GCancellable *cancellable;
  RthunkRemoteFunc remote_func;
  gpointer remote_data;
  GDestroyNotify remote_destroy;
  guint64 steps;
  guint64 max_bytes;
};

G_DEFINE_FINAL_TYPE (RthunkEvaluator, rthunk_evaluator, G_TYPE_OBJECT)

typedef struct
{
  RthunkEvaluator *ev;
  guint64 fuel_left;
  guint depth;
  guint until_check;
  GPtrArray *recur_values;      /* set while a recur travels to its loop */
  guint64 bytes_used;           /* by lists and strings built so far */
} State;

struct _RthunkCallContext
{
  State *state;
  RthunkNode *call;
};

/* Returned by recur: not a value, a signal for the enclosing loop. */
static RthunkValue *const RECUR = (RthunkValue *) &RECUR;

typedef RthunkValue *(*FormFunc) (State *state, RthunkNode *form, Env *env, GError **error);

static RthunkValue *eval (State *state, RthunkNode *node, Env *env, GError **error);
static gboolean charge (State *state, RthunkNode *node, guint64 bytes, GError **error);
static RthunkValue *apply (State *state, RthunkNode *call, RthunkValue *func,
                           RthunkValue *const *args, guint n_args, GError **error);

static gboolean
check_limits (State       *state,
              RthunkNode  *node,
              GError     **error)
{
  RthunkEvaluator *ev = state->ev;

  if (state->fuel_left == 0)
    {
      rthunk_set_node_error (error, node, RTHUNK_ERROR_FUEL_EXHAUSTED,
                             _("evaluation ran out of fuel after %" G_GUINT64_FORMAT " steps"),
                             ev->fuel);
      return FALSE;
    }
  state->fuel_left--;
  if (--state->until_check > 0)
    return TRUE;
  state->until_check = CHECK_EVERY;
  if (ev->deadline_us > 0 && g_get_monotonic_time () > ev->deadline_us)
    {
      rthunk_set_node_error (error, node, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                             _("evaluation ran past its deadline"));
      return FALSE;
    }
  if (g_cancellable_is_cancelled (ev->cancellable))
    {
      rthunk_set_node_error (error, node, RTHUNK_ERROR_CANCELLED, _("evaluation was cancelled"));
      return FALSE;
    }
  return TRUE;
}

/* Forces a value that an operation needs, keeping the error's position. */
static RthunkValue *
force (RthunkValue *value,
       RthunkNode  *node,
       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  RthunkValue *forced;

  if (!rthunk_value_is_pending (value))
    return value;
  forced = rthunk_value_force (value, &local_error);
  rthunk_value_unref (value);
  if (forced == NULL)
    {
      if (g_str_has_prefix (local_error->message, rthunk_node_get_source (node)))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        rthunk_set_node_error (error, node, local_error->code, "%s", local_error->message);
    }
  return forced;
}

static RthunkValue *
eval_forced (State       *state,
             RthunkNode  *node,
             Env         *env,
             GError     **error)
{
  RthunkValue *value = eval (state, node, env, error);

  return value != NULL ? force (value, node, error) : NULL;
}

/* ---- atoms ------------------------------------------------------------- */

static RthunkValue *
eval_symbol (State       *state,
             RthunkNode  *node,
             Env         *env,
             GError     **error)
{
  const char *name = rthunk_node_get_text (node);
  RthunkValue *global;
  RthunkFuncDef *def;

  for (; env != NULL; env = env->next)
    if (strcmp (env->name, name) == 0)
      return rthunk_value_ref (env->value);
  if ((global = g_hash_table_lookup (state->ev->globals, name)) != NULL)
    return rthunk_value_ref (global);
  if ((def = rthunk_catalog_lookup (state->ev->catalog, name)) != NULL &&
      rthunk_func_def_is_native (def))
    return new_native (def);
  rthunk_set_node_error (error, node, RTHUNK_ERROR_UNBOUND_NAME, _("“%s” is not defined"), name);
  return NULL;
}

static RthunkValue *
eval_vector (State       *state,
             RthunkNode  *node,
             Env         *env,
             GError     **error)
{
  guint n = rthunk_node_get_n_items (node);
  g_autoptr(GPtrArray) items = NULL;

  if (!charge (state, node, (guint64) n * sizeof (gpointer) + 32, error))
    return NULL;
  items = g_ptr_array_new_full (n, (GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < n; k++)
    {
      RthunkValue *item = eval (state, rthunk_node_get_item (node, k), env, error);

      if (item == NULL)
        return NULL;
      g_ptr_array_add (items, item);
    }
  return rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);
}

/* ---- special forms ----------------------------------------------------- */

static RthunkValue *
eval_body (State       *state,
           RthunkNode  *form,
           guint        first,
           Env         *env,
           GError     **error)
{
  guint n = rthunk_node_get_n_items (form);

  for (guint k = first; k + 1 < n; k++)
    {
      RthunkValue *value = eval (state, rthunk_node_get_item (form, k), env, error);

      if (value == NULL)
        return NULL;
      if (value != RECUR)
        rthunk_value_unref (value);
    }
  return eval (state, rthunk_node_get_item (form, n - 1), env, error);
}

static RthunkValue *
form_if (State *state, RthunkNode *form, Env *env, GError **error)
{
  g_autoptr(RthunkValue) cond = eval_forced (state, rthunk_node_get_item (form, 1), env, error);

  if (cond == NULL)
    return NULL;
  return eval (state, rthunk_node_get_item (form, rthunk_value_get_bool (cond) ? 2 : 3), env, error);
}

static RthunkValue *
form_do (State *state, RthunkNode *form, Env *env, GError **error)
{
  return eval_body (state, form, 1, env, error);
}

static RthunkValue *
form_logic (State *state, RthunkNode *form, Env *env, GError **error)
{
  gboolean is_and = rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "and");

  for (guint k = 1; k < rthunk_node_get_n_items (form); k++)
    {
      g_autoptr(RthunkValue) value = eval_forced (state, rthunk_node_get_item (form, k), env, error);

      if (value == NULL)
        return NULL;
      if (rthunk_value_get_bool (value) != is_and)
        return rthunk_value_new_bool (!is_and);
    }
  return rthunk_value_new_bool (is_and);
}

/* Evaluates the pairs of a let or loop vector, pushing frames on @env. */
static gboolean
bind_pairs (State       *state,
            RthunkNode  *form,
            RthunkNode  *pairs,
            Env        **env,
            GError     **error)
{
  for (guint k = 0; k < rthunk_node_get_n_items (pairs); k += 2)
    {
      RthunkValue *value = eval (state, rthunk_node_get_item (pairs, k + 1), *env, error);

      if (value == NULL)
        return FALSE;
      *env = env_push (*env, form, rthunk_node_get_text (rthunk_node_get_item (pairs, k)), value);
      rthunk_value_unref (value);
    }
  return TRUE;
}

static RthunkValue *
form_let (State *state, RthunkNode *form, Env *env, GError **error)
{
  Env *inner = env;
  RthunkValue *value = NULL;

  if (bind_pairs (state, form, rthunk_node_get_item (form, 1), &inner, error))
    value = eval_body (state, form, 2, inner, error);
  env_pop_to (inner, env);
  return value;
}

static RthunkValue *
form_fn (State *state, RthunkNode *form, Env *env, GError **error)
{
  return new_closure ("fn", form, 1, env);
}

static RthunkValue *
form_def (State *state, RthunkNode *form, Env *env, GError **error)
{
  RthunkValue *value = eval (state, rthunk_node_get_item (form, 2), env, error);

  if (value == NULL)
    return NULL;
  g_hash_table_replace (state->ev->globals,
                        g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, 1))),
                        rthunk_value_ref (value));
  return value;
}

static RthunkValue *
form_defn (State *state, RthunkNode *form, Env *env, GError **error)
{
  const char *name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  RthunkValue *value = new_closure (name, form, 2, env);

  g_hash_table_replace (state->ev->globals, g_strdup (name), rthunk_value_ref (value));
  return value;
}

static RthunkValue *
form_loop (State *state, RthunkNode *form, Env *env, GError **error)
{
  RthunkNode *pairs = rthunk_node_get_item (form, 1);
  guint n_vars = rthunk_node_get_n_items (pairs) / 2;
  Env *inner = env;
  RthunkValue *value = NULL;

  if (!bind_pairs (state, form, pairs, &inner, error))
    goto out;
  for (;;)
    {
      value = eval_body (state, form, 2, inner, error);
      if (value != RECUR)
        break;
      /* rebind the loop variables to the values recur carried */
      env_pop_to (inner, env);
      inner = env;
      for (guint k = 0; k < n_vars; k++)
        inner = env_push (inner, form, rthunk_node_get_text (rthunk_node_get_item (pairs, 2 * k)),
                          g_ptr_array_index (state->recur_values, k));
      g_clear_pointer (&state->recur_values, g_ptr_array_unref);
    }
out:
  env_pop_to (inner, env);
  return value;
}

static RthunkValue *
form_recur (State *state, RthunkNode *form, Env *env, GError **error)
{
  guint n = rthunk_node_get_n_items (form) - 1;
  g_autoptr(GPtrArray) values = g_ptr_array_new_full (n, (GDestroyNotify) rthunk_value_unref);

  for (guint k = 0; k < n; k++)
    {
      RthunkValue *value = eval (state, rthunk_node_get_item (form, k + 1), env, error);

      if (value == NULL)
        return NULL;
      g_ptr_array_add (values, value);
    }
  state->recur_values = g_steal_pointer (&values);
  return RECUR;
}

/* The names @node reads that are bound around it: what a remote expression
 * must take along. */
static void
collect_inputs (RthunkNode *node,
                Env        *env,
                GHashTable *globals,
                GHashTable *inputs)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);
      RthunkValue *value = NULL;

      if (g_hash_table_contains (inputs, name))
        return;
      for (Env *e = env; e != NULL && value == NULL; e = e->next)
        if (strcmp (e->name, name) == 0)
          value = e->value;
      if (value == NULL)
        value = g_hash_table_lookup (globals, name);
      if (value != NULL && rthunk_value_get_kind (value) != RTHUNK_VALUE_FUNC)
        g_hash_table_insert (inputs, g_strdup (name), rthunk_value_ref (value));
      return;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    collect_inputs (rthunk_node_get_item (node, k), env, globals, inputs);
}

static RthunkValue *
form_remote (State *state, RthunkNode *form, Env *env, GError **error)
{
  RthunkEvaluator *ev = state->ev;
  guint n = rthunk_node_get_n_items (form);
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) rthunk_value_unref);
  RthunkNode *expr = rthunk_node_get_item (form, n - 1);

  if (ev->remote_func == NULL)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_CONNECTION,
                             _("no server to evaluate remote expressions (running with --local?)"));
      return NULL;
    }
  for (guint k = 1; k + 1 < n; k += 2)
    {
      RthunkValue *value = eval_forced (state, rthunk_node_get_item (form, k + 1), env, error);

      if (value == NULL)
        return NULL;
      g_hash_table_replace (options, g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, k))),
                            value);
    }
  collect_inputs (expr, env, ev->globals, inputs);
  return ev->remote_func (ev, expr, options, inputs, ev->remote_data, error);
}

static RthunkValue *
form_await (State *state, RthunkNode *form, Env *env, GError **error)
{
  return eval_forced (state, rthunk_node_get_item (form, 1), env, error);
}

static const struct
{
  const char *name;
  FormFunc func;
} special_forms[] = {
  { "if", form_if },
  { "do", form_do },
  { "and", form_logic },
  { "or", form_logic },
  { "let", form_let },
  { "fn", form_fn },
  { "def", form_def },
  { "defn", form_defn },
  { "loop", form_loop },
  { "recur", form_recur },
  { "remote", form_remote },
  { "await", form_await },
};

static FormFunc
lookup_form (RthunkNode *head)
{
  if (rthunk_node_get_kind (head) != RTHUNK_NODE_SYMBOL)
    return NULL;
  for (guint k = 0; k < G_N_ELEMENTS (special_forms); k++)
    if (rthunk_node_is_symbol (head, special_forms[k].name))
      return special_forms[k].func;
  return NULL;
}

/* ---- calls ------------------------------------------------------------- */

static RthunkValue *
call_native (State              *state,
             RthunkNode         *call,
             RthunkFuncDef      *def,
             RthunkValue *const *args,
             guint               n_args,
             GError            **error)
{
  RthunkCallContext context = { state, call };
  g_autoptr(GPtrArray) forced = g_ptr_array_new_full (n_args, (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GError) local_error = NULL;
  RthunkValue *result;

  for (guint k = 0; k < n_args; k++)
    {
      RthunkValue *arg = force (rthunk_value_ref (args[k]), call, error);

      if (arg == NULL)
        return NULL;
      g_ptr_array_add (forced, arg);
    }
  result = rthunk_func_def_call (def, &context, (RthunkValue **) forced->pdata, n_args, &local_error);
  if (result == NULL)
    {
      /* messages from natives carry no position: give them the call's */
      if (strstr (local_error->message, ": error: ") != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        rthunk_set_node_error (error, call, local_error->code, "%s", local_error->message);
    }
  return result;
}

static RthunkValue *
call_closure (State              *state,
              RthunkNode         *call,
              Callable           *closure,
              RthunkValue *const *args,
              guint               n_args,
              GError            **error)
{
  RthunkNode *params = rthunk_node_get_item (closure->form, closure->params_index);
  Env *inner = closure->env;
  RthunkValue *value;

  if (rthunk_node_get_n_items (params) != n_args)
    {
      rthunk_set_node_error (error, call, RTHUNK_ERROR_TYPE_MISMATCH,
                             _("the function takes %u arguments, got %u"),
                             rthunk_node_get_n_items (params), n_args);
      return NULL;
    }
  for (guint k = 0; k < n_args; k++)
    inner = env_push (inner, closure->form, rthunk_node_get_text (rthunk_node_get_item (params, k)), args[k]);
  value = eval_body (state, closure->form, closure->params_index + 1, inner, error);
  env_pop_to (inner, closure->env);
  return value;
}

static RthunkValue *
apply (State              *state,
       RthunkNode         *call,
       RthunkValue        *func,
       RthunkValue *const *args,
       guint               n_args,
       GError            **error)
{
  Callable *callable;
  RthunkValue *value;

  if (rthunk_value_get_kind (func) != RTHUNK_VALUE_FUNC)
    {
      rthunk_set_node_error (error, call, RTHUNK_ERROR_TYPE_MISMATCH, _("not a function"));
      return NULL;
    }
  if (state->depth >= state->ev->max_depth)
    {
      rthunk_set_node_error (error, call, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("calls nest deeper than %u levels"), state->ev->max_depth);
      return NULL;
    }
  callable = rthunk_value_get_handle (func);
  state->depth++;
  if (callable->kind == CALLABLE_NATIVE)
    value = call_native (state, call, callable->def, args, n_args, error);
  else
    value = call_closure (state, call, callable, args, n_args, error);
  state->depth--;
  return value;
}

static RthunkValue *
eval_call (State       *state,
           RthunkNode  *form,
           Env         *env,
           GError     **error)
{
  guint n_args = rthunk_node_get_n_items (form) - 1;
  g_autoptr(RthunkValue) func = eval_forced (state, rthunk_node_get_item (form, 0), env, error);
  g_autoptr(GPtrArray) args = NULL;

  if (func == NULL)
    return NULL;
  args = g_ptr_array_new_full (n_args, (GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < n_args; k++)
    {
      RthunkValue *arg = eval (state, rthunk_node_get_item (form, k + 1), env, error);

      if (arg == NULL)
        return NULL;
      g_ptr_array_add (args, arg);
    }
  return apply (state, form, func, (RthunkValue **) args->pdata, n_args, error);
}

static RthunkValue *
eval_list (State       *state,
           RthunkNode  *form,
           Env         *env,
           GError     **error)
{
  FormFunc special;

  if (rthunk_node_get_n_items (form) == 0)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX, _("() is not an expression"));
      return NULL;
    }
  special = lookup_form (rthunk_node_get_item (form, 0));
  if (special != NULL)
    return special (state, form, env, error);
  return eval_call (state, form, env, error);
}

static RthunkValue *
eval (State       *state,
      RthunkNode  *node,
      Env         *env,
      GError     **error)
{
  RthunkValue *value = NULL;

  if (!check_limits (state, node, error))
    return NULL;
  if (state->depth >= state->ev->max_depth)
    {
      rthunk_set_node_error (error, node, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("evaluation nests deeper than %u levels"), state->ev->max_depth);
      return NULL;
    }
  state->depth++;
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:    value = rthunk_value_new_int (rthunk_node_get_int (node)); break;
    case RTHUNK_NODE_FLOAT:  value = rthunk_value_new_float (rthunk_node_get_float (node)); break;
    case RTHUNK_NODE_STR:    value = rthunk_value_new_str (rthunk_node_get_text (node)); break;
    case RTHUNK_NODE_BOOL:   value = rthunk_value_new_bool (rthunk_node_get_bool (node)); break;
    case RTHUNK_NODE_NIL:    value = rthunk_value_new_nil (); break;
    case RTHUNK_NODE_SYMBOL: value = eval_symbol (state, node, env, error); break;
    case RTHUNK_NODE_VECTOR: value = eval_vector (state, node, env, error); break;
    case RTHUNK_NODE_LIST:   value = eval_list (state, node, env, error); break;
    case RTHUNK_NODE_KEYWORD:
    default:
      rthunk_set_node_error (error, node, RTHUNK_ERROR_SYNTAX, _("a keyword is not a value"));
      break;
    }
  state->depth--;
  return value;
}

/* ---- the object -------------------------------------------------------- */

static void
rthunk_evaluator_finalize (GObject *object)
{
  RthunkEvaluator *self = RTHUNK_EVALUATOR (object);

  if (self->remote_destroy != NULL)
    self->remote_destroy (self->remote_data);
  g_clear_object (&self->catalog);
  g_clear_object (&self->cancellable);
  g_hash_table_unref (self->globals);
  G_OBJECT_CLASS (rthunk_evaluator_parent_class)->finalize (object);
}

static void
rthunk_evaluator_class_init (RthunkEvaluatorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_evaluator_finalize;
}

static void
rthunk_evaluator_init (RthunkEvaluator *self)
{
  self->globals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) rthunk_value_unref);
  self->fuel = RTHUNK_EVAL_DEFAULT_FUEL;
  self->max_depth = RTHUNK_EVAL_DEFAULT_MAX_DEPTH;
  self->max_bytes = RTHUNK_EVAL_DEFAULT_MAX_BYTES;
}

/**
 * rthunk_evaluator_new:
 * @catalog: the native functions evaluation may call
 *
 * Creates an evaluator. Evaluate only checked forms (see #RthunkChecker):
 * the evaluator trusts their types. One evaluator is used by one thread at
 * a time.
 *
 * Returns: (transfer full): a new evaluator
 *
 * Since: 0.1
 */
RthunkEvaluator *
rthunk_evaluator_new (RthunkCatalog *catalog)
{
  RthunkEvaluator *self;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);

  self = g_object_new (RTHUNK_TYPE_EVALUATOR, NULL);
  self->catalog = g_object_ref (catalog);
  return self;
}

/**
 * rthunk_evaluator_set_limits:
 * @evaluator: an evaluator
 * @fuel: steps each rthunk_evaluator_eval() may take
 * @max_depth: how deeply evaluation may nest
 * @deadline_us: a g_get_monotonic_time() after which evaluation stops, or 0
 *
 * Sets the limits; exceeding one is an error of its own code.
 *
 * Since: 0.1
 */
void
rthunk_evaluator_set_limits (RthunkEvaluator *evaluator,
                             guint64          fuel,
                             guint            max_depth,
                             gint64           deadline_us)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  evaluator->fuel = fuel;
  evaluator->max_depth = max_depth;
  evaluator->deadline_us = deadline_us;
}

/**
 * rthunk_evaluator_set_cancellable:
 * @evaluator: an evaluator
 * @cancellable: (nullable): stops evaluation at its next check when cancelled
 *
 * Since: 0.1
 */
void
rthunk_evaluator_set_cancellable (RthunkEvaluator *evaluator,
                                  GCancellable    *cancellable)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  g_set_object (&evaluator->cancellable, cancellable);
}

/**
 * rthunk_evaluator_set_remote_func:
 * @evaluator: an evaluator
 * @func: (scope notified) (closure user_data) (destroy destroy): what
 *   `(remote …)` calls
 * @user_data: (nullable): passed to @func
 * @destroy: (nullable): frees @user_data
 *
 * Since: 0.1
 */
void
rthunk_evaluator_set_remote_func (RthunkEvaluator *evaluator,
                                  RthunkRemoteFunc func,
                                  gpointer         user_data,
                                  GDestroyNotify   destroy)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  if (evaluator->remote_destroy != NULL)
    evaluator->remote_destroy (evaluator->remote_data);
  evaluator->remote_func = func;
  evaluator->remote_data = user_data;
  evaluator->remote_destroy = destroy;
}

/**
 * rthunk_evaluator_bind:
 * @evaluator: an evaluator
 * @name: a global name
 * @value: its value
 *
 * Binds a global name, as `def` does.
 *
 * Since: 0.1
 */
void
rthunk_evaluator_bind (RthunkEvaluator *evaluator,
                       const char      *name,
                       RthunkValue     *value)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));
  g_return_if_fail (name != NULL && value != NULL);

  g_hash_table_replace (evaluator->globals, g_strdup (name), rthunk_value_ref (value));
}

/**
 * rthunk_evaluator_lookup:
 * @evaluator: an evaluator
 * @name: a global name
 *
 * Returns: (transfer none) (nullable): its value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_evaluator_lookup (RthunkEvaluator *evaluator,
                         const char      *name)
{
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);

  return g_hash_table_lookup (evaluator->globals, name);
}

/**
 * rthunk_evaluator_eval:
 * @evaluator: an evaluator
 * @form: a checked top-level form
 * @error: return location for a #GError
 *
 * Evaluates @form. The result may be pending when @form uses `remote`.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_evaluator_eval (RthunkEvaluator  *evaluator,
                       RthunkNode       *form,
                       GError          **error)
{
  State state = { evaluator, evaluator->fuel, 0, CHECK_EVERY, NULL, 0 };
  RthunkValue *value;

  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);
  g_return_val_if_fail (form != NULL, NULL);

  value = eval (&state, form, NULL, error);
  evaluator->steps = evaluator->fuel - state.fuel_left;
  g_clear_pointer (&state.recur_values, g_ptr_array_unref);
  g_assert (value != RECUR);
  return value;
}

/**
 * rthunk_evaluator_get_steps:
 * @evaluator: an evaluator
 *
 * Returns: how many steps the last evaluation took
 *
 * Since: 0.1
 */
guint64
rthunk_evaluator_get_steps (RthunkEvaluator *evaluator)
{
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), 0);

  return evaluator->steps;
}

/**
 * rthunk_call_context_apply:
 * @context: the context a native function was called with
 * @func: a function value
 * @args: (array length=n_args): the arguments
 * @n_args: how many
 * @error: return location for a #GError
 *
 * Calls @func from inside a native function (as `map` does), under the
 * same limits as the calling evaluation.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_call_context_apply (RthunkCallContext  *context,
                           RthunkValue        *func,
                           RthunkValue *const *args,
                           guint               n_args,
                           GError            **error)
{
  g_return_val_if_fail (context != NULL && func != NULL, NULL);

  if (!check_limits (context->state, context->call, error))
    return NULL;
  return apply (context->state, context->call, func, args, n_args, error);
}

/**
 * rthunk_call_context_get_evaluator:
 * @context: the context a native function was called with
 *
 * Returns: (transfer none): the evaluator that called it
 *
 * Since: 0.1
 */
RthunkEvaluator *
rthunk_call_context_get_evaluator (RthunkCallContext *context)
{
  g_return_val_if_fail (context != NULL, NULL);

  return context->state->ev;
}

static gboolean
charge (State       *state,
        RthunkNode  *node,
        guint64      bytes,
        GError     **error)
{
  guint64 max = state->ev->max_bytes;

  if (bytes <= max && state->bytes_used <= max - bytes)
    {
      state->bytes_used += bytes;
      return TRUE;
    }
  rthunk_set_node_error (error, node, RTHUNK_ERROR_LIMIT_EXCEEDED,
                         _("evaluation would use more than %" G_GUINT64_FORMAT " bytes of memory"),
                         max);
  return FALSE;
}

/**
 * rthunk_call_context_charge:
 * @context: the context a native function was called with
 * @bytes: how much memory the function is about to build
 * @error: return location for a #GError
 *
 * Counts @bytes against the evaluation's memory limit. A native that builds
 * a list or a string calls this first, and fails if it does.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_LIMIT_EXCEEDED)
 *
 * Since: 0.1
 */
gboolean
rthunk_call_context_charge (RthunkCallContext  *context,
                            guint64             bytes,
                            GError            **error)
{
  g_return_val_if_fail (context != NULL, FALSE);

  return charge (context->state, context->call, bytes, error);
}

/**
 * rthunk_evaluator_set_max_bytes:
 * @evaluator: an evaluator
 * @max_bytes: bytes of lists and strings one evaluation may build
 *
 * Since: 0.1
 */
void
rthunk_evaluator_set_max_bytes (RthunkEvaluator *evaluator,
                                guint64          max_bytes)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  evaluator->max_bytes = max_bytes;
}
