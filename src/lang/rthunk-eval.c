/* rthunk-eval.c — the evaluator: its object, public API and limits
 *
 * A checked top-level form is first compiled into a tree of small code
 * nodes, each with the function that runs it, and then run:
 *
 *  - names are resolved at compile time: a local is a slot of its
 *    function's frame, a variable of an enclosing function is copied into
 *    the closure when the closure is made (values are immutable, so a copy
 *    is the same as a reference), a global is looked up through a per-site
 *    cache, and a catalog function that nothing shadows becomes a constant;
 *  - ints, floats, bools and nil are unboxed (#Val), so arithmetic on them
 *    allocates nothing; the operators of the standard library compile to
 *    nodes of their own with the int case first;
 *  - `recur` is a signal that its `loop` turns into the next iteration, so
 *    loops run in constant stack; the usual loop, an `if` on a comparison
 *    with a `recur` in one branch, runs as one node (rthunk_eval_run_loop_if);
 *  - map, filter, reduce, even?, odd? and the operators of the standard
 *    library, as function values, run on unboxed values, and lists of ints
 *    stay unboxed from range to reduce.
 *
 * Every call and every loop iteration costs one unit of fuel, handed out
 * CHECK_EVERY units at a time so that a step is one decrement; the depth of
 * calls is bounded, and so is the C stack that nested evaluation uses;
 * deadline and cancellation are checked at every hand-out; lists and
 * strings are charged against a memory budget.
 *
 * Its parts: rthunk-eval-compile.c compiles a form, rthunk-eval-run.c
 * runs the compiled code (atoms, special forms, operators, calls),
 * rthunk-eval-split.c runs pmap, psum and preduce, rthunk-eval-unboxed.c
 * is the standard library on unboxed values; rthunk-eval-private.h holds
 * what they share.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <string.h>

#include "rthunk-eval.h"
#include "rthunk-print-sink.h"
#include "rthunk-catalog.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-eval-private.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* ---- the evaluator ---------------------------------------------------------- */

/**
 * RthunkEvaluator:
 *
 * Runs checked rthunk forms: the interpreter used by a
 * [class@Rthunk.Session] for local code and by a [class@Rthunk.Server]
 * for every thunk.
 *
 * [method@Rthunk.Evaluator.eval] evaluates one form the
 * [class@Rthunk.Checker] accepted and returns its [struct@Rthunk.Value];
 * `def` and `defn` forms bind their names for the forms after them
 * ([method@Rthunk.Evaluator.lookup]), and [method@Rthunk.Evaluator.bind]
 * binds a name from outside. Catalog functions are called through their
 * native implementations.
 *
 * Every call and loop iteration costs fuel; the depth of calls, the
 * bytes of lists and strings, a deadline and a cancellable bound a run
 * ([method@Rthunk.Evaluator.set_limits],
 * [method@Rthunk.Evaluator.set_max_bytes],
 * [method@Rthunk.Evaluator.set_cancellable]), so that untrusted code ends.
 * `(remote …)` forms are handed to the function given with
 * [method@Rthunk.Evaluator.set_remote_func].
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkEvaluator, rthunk_evaluator, G_TYPE_OBJECT)

gboolean
rthunk_eval_fail (State       *state,
                  RthunkNode  *node,
                  RthunkError  code,
                  const char  *format,
                  ...)
{
  va_list args;

  if (state->error != NULL)
    return FALSE;
  va_start (args, format);
  rthunk_set_pos_error_valist (&state->error, rthunk_node_get_source (node),
                               rthunk_node_get_line (node), rthunk_node_get_col (node),
                               code, format, args);
  va_end (args);
  return FALSE;
}

/* Keeps an error that already has a position; gives one to those without. */
gboolean
rthunk_eval_fail_with (State      *state,
                       RthunkNode *node,
                       GError     *error)
{
  if (state->error != NULL)
    g_error_free (error);
  else if (strstr (error->message, ": error: ") != NULL)
    state->error = error;
  else
    {
      rthunk_eval_fail (state, node, error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_EVAL_FAILED,
                        "%s", error->message);
      g_error_free (error);
    }
  return FALSE;
}

/* Hands out the next CHECK_EVERY steps of fuel, after checking the fuel,
 * the deadline and cancellation; takes one of them. */
G_GNUC_NO_INLINE gboolean
rthunk_eval_step_refill (State      *state,
                         RthunkNode *node)
{
  RthunkEvaluator *ev = state->ev;
  guint64 n;

  if (G_UNLIKELY (state->fuel_left == 0))
    return rthunk_eval_fail (state, node, RTHUNK_ERROR_FUEL_EXHAUSTED,
                             _("evaluation ran out of fuel after %" PRIu64 " steps"), ev->fuel);
  if (ev->deadline_us > 0 && g_get_monotonic_time () > ev->deadline_us)
    return rthunk_eval_fail (state, node, RTHUNK_ERROR_DEADLINE_EXCEEDED, _("evaluation ran past its deadline"));
  if (g_cancellable_is_cancelled (ev->cancellable))
    return rthunk_eval_fail (state, node, RTHUNK_ERROR_CANCELLED, _("evaluation was cancelled"));
  n = MIN (state->fuel_left, CHECK_EVERY);
  state->fuel_left -= n;
  state->ticks = n - 1;
  return TRUE;
}

/* How much of the server's budget an evaluation takes at a time: one
 * atomic operation per BUDGET_CHUNK bytes built, not per list. */
#define BUDGET_CHUNK (64 * 1024)

/* Charges the server's budget for @bytes more (in chunks). */
static gboolean
charge_budget (State      *state,
               RthunkNode *node,
               guint64     bytes)
{
  guint64 need = state->bytes_used + bytes;
  guint64 more;
  g_autoptr(GError) refused = NULL;

  if (need <= state->budget_held)
    return TRUE;
  more = MAX (need - state->budget_held, BUDGET_CHUNK);
  if (rthunk_budget_charge (state->ev->budget, more) ||
      rthunk_budget_charge (state->ev->budget, more = need - state->budget_held))
    {
      state->budget_held += more;
      return TRUE;
    }
  rthunk_budget_set_error (state->ev->budget, &refused, RTHUNK_ERROR_LIMIT_EXCEEDED,
                           _("an evaluation's memory"), bytes);
  return rthunk_eval_fail (state, node, RTHUNK_ERROR_LIMIT_EXCEEDED, "%s", refused->message);
}

gboolean
rthunk_eval_charge (State       *state,
                    RthunkNode  *node,
                    guint64      bytes)
{
  guint64 max = state->ev->max_bytes;

  if (bytes <= max && state->bytes_used <= max - bytes)
    {
      if (state->ev->budget != NULL && !charge_budget (state, node, bytes))
        return FALSE;
      state->bytes_used += bytes;
      return TRUE;
    }
  return rthunk_eval_fail (state, node, RTHUNK_ERROR_LIMIT_EXCEEDED,
                           _("evaluation would use more than %" PRIu64 " bytes of memory"), max);
}

G_GNUC_NO_INLINE gboolean
rthunk_eval_force_slow (State      *state,
                        RthunkNode *node,
                        Val        *v)
{
  GError *error = NULL;
  RthunkValue *forced;

  forced = rthunk_value_force (v->u.obj, &error);
  val_unref (*v);
  *v = val_nil ();
  return take_result (state, node, forced, &error, v);
}
/* ---- the object --------------------------------------------------------------- */

/* Empties @table. A few entries are removed one by one: removing all at
 * once allocates the table's arrays anew (a server's evaluator holds a
 * request's one or two inputs). */
static void
clear_table (GHashTable *table)
{
  GHashTableIter iter;
  guint n = g_hash_table_size (table);

  if (n == 0)
    return;
  if (n > 8)
    {
      g_hash_table_remove_all (table);
      return;
    }
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, NULL))
    g_hash_table_iter_remove (&iter);
}

/* A hook's data replaced by @user_data, the old freed first. */
static void
set_hook_data (gpointer       *data,
               GDestroyNotify *destroy,
               gpointer        user_data,
               GDestroyNotify  new_destroy)
{
  if (*destroy != NULL)
    (*destroy) (*data);
  *data = user_data;
  *destroy = new_destroy;
}

/* Forgets the remote and servers hooks, freeing their data. */
static void
drop_hooks (RthunkEvaluator *self)
{
  set_hook_data (&self->remote_data, &self->remote_destroy, NULL, NULL);
  set_hook_data (&self->servers_data, &self->servers_destroy, NULL, NULL);
  self->remote_func = NULL;
  self->servers_func = NULL;
}

static void
rthunk_evaluator_finalize (GObject *object)
{
  RthunkEvaluator *self = RTHUNK_EVALUATOR (object);

  drop_hooks (self);
  g_clear_object (&self->catalog);
  g_clear_object (&self->cancellable);
  g_hash_table_unref (self->globals);
  g_hash_table_unref (self->definitions);
  g_ptr_array_unref (self->retired);
  rthunk_eval_forget_top (self);
  g_hash_table_unref (self->no_options);
  G_OBJECT_CLASS (rthunk_evaluator_parent_class)->finalize (object);
}

static void
rthunk_evaluator_class_init (RthunkEvaluatorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_evaluator_finalize;
}

static void
set_default_limits (RthunkEvaluator *self)
{
  self->fuel = RTHUNK_EVAL_DEFAULT_FUEL;
  self->max_depth = RTHUNK_EVAL_DEFAULT_MAX_DEPTH;
  self->deadline_us = 0;
  self->max_bytes = RTHUNK_EVAL_DEFAULT_MAX_BYTES;
}

static GHashTable *
new_definitions (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_node_unref);
}

static void
rthunk_evaluator_init (RthunkEvaluator *self)
{
  self->globals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) rthunk_value_unref);
  self->definitions = new_definitions ();
  self->retired = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  self->no_options = rthunk_eval_value_table_new ();
  set_default_limits (self);
}

/* Back to what rthunk_evaluator_new() made for @catalog, keeping the
 * allocations; FALSE (nothing done) for another catalog or while it runs. */
gboolean
rthunk_evaluator_reset (RthunkEvaluator *self,
                        RthunkCatalog   *catalog)
{
  if (self->catalog != catalog || self->running > 0)
    return FALSE;
  drop_hooks (self);
  g_clear_object (&self->cancellable);
  clear_table (self->globals);
  if (self->definitions_shared)
    {
      g_hash_table_unref (self->definitions);
      self->definitions = new_definitions ();
      self->definitions_shared = FALSE;
    }
  clear_table (self->definitions);
  g_ptr_array_set_size (self->retired, 0);
  self->globals_version++;
  set_default_limits (self);
  self->steps = 0;
  return TRUE;
}

RthunkCatalog *
rthunk_evaluator_peek_catalog (RthunkEvaluator *evaluator)
{
  return evaluator->catalog;
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
 * @fuel: steps (calls and loop iterations) each rthunk_evaluator_eval() may take
 * @max_depth: how deeply calls may nest
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

void
rthunk_evaluator_set_budget (RthunkEvaluator *evaluator,
                             RthunkBudget    *budget)
{
  evaluator->budget = budget;
}

/**
 * rthunk_evaluator_set_max_bytes:
 * @evaluator: an evaluator
 * @max_bytes: bytes of lists and strings one evaluation may build
 *
 * Bounds the memory an evaluation may build; past it, evaluation fails with
 * %RTHUNK_ERROR_LIMIT_EXCEEDED.
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

/**
 * rthunk_evaluator_set_cancellable:
 * @evaluator: an evaluator
 * @cancellable: (nullable): stops evaluation at its next check when cancelled
 *
 * Sets the cancellable that stops a running evaluation.
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
 * Sets what evaluates a `(remote …)` form: a session sends it to a server.
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

  set_hook_data (&evaluator->remote_data, &evaluator->remote_destroy, user_data, destroy);
  evaluator->remote_func = func;
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

  rthunk_eval_bind_global (evaluator, name, rthunk_value_ref (value));
}

/**
 * rthunk_evaluator_lookup:
 * @evaluator: an evaluator
 * @name: a global name
 *
 * Finds the value of a global name: one bound by an evaluated `def` or
 * `defn`, or with rthunk_evaluator_bind().
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

/* The C stack an evaluation may use: what is left of this thread's stack
 * below the evaluation's base, less a margin for the native functions it
 * calls and for what the thread does around it, so that no --max-depth
 * and no thread stack size (a program's own threads, ulimit -s) can make
 * it overflow. Read once per thread: pthread_getattr_np() reads
 * /proc/self/maps for the main thread. */
#define STACK_MARGIN (256u * 1024u)
#define STACK_FALLBACK (2u * 1024u * 1024u)

static gsize
stack_budget (const char *base)
{
  static __thread const char *low;   /* the lowest address of this thread's stack */
  static __thread gboolean known;
  pthread_attr_t attr;
  void *addr;
  size_t size;
  gsize left;

  if (!known)
    {
      known = TRUE;
      if (pthread_getattr_np (pthread_self (), &attr) == 0)
        {
          if (pthread_attr_getstack (&attr, &addr, &size) == 0)
            low = addr;
          pthread_attr_destroy (&attr);
        }
    }
  if (low == NULL || base <= low)
    return STACK_FALLBACK;
  left = (gsize) (base - low);
  return left > 2 * STACK_MARGIN ? left - STACK_MARGIN : left / 2;
}

void
rthunk_evaluator_set_print_sink (RthunkEvaluator *evaluator,
                                 gboolean         sink)
{
  evaluator->print_sink = sink;
}

void
rthunk_evaluator_print (RthunkEvaluator *evaluator,
                        const char      *text,
                        gsize            len)
{
  guint64 max_bytes = rthunk_print_sink_get_max_per_evaluation ();
  gsize room;

  if (evaluator == NULL || !evaluator->print_sink)
    {
      fwrite (text, 1, len, stdout);
      fflush (stdout);
      return;
    }
  room = (gsize) (max_bytes - MIN (evaluator->printed, max_bytes));
  if (len > room)
    rthunk_print_sink_count_dropped (len - room);
  len = MIN (len, room);
  evaluator->printed += len;
  if (len > 0)
    rthunk_print_sink_write (text, len);
}

static void
state_init (State           *state,
            RthunkEvaluator *evaluator,
            const char      *stack_base)
{
  memset (state, 0, sizeof *state);
  state->ev = evaluator;
  state->fuel_left = evaluator->fuel;
  state->ticks = 0;
  state->stack_base = stack_base;
  state->stack_budget = stack_budget (stack_base);
  if (evaluator->running == 0)
    evaluator->printed = 0;
}

/* Runs @top, @form's code (a reference, taken). */
static RthunkValue *
eval_top (RthunkEvaluator  *evaluator,
          RthunkNode       *form,
          Lambda           *top,
          GError          **error)
{
  char base;
  State state;
  Closure closure = { CALLABLE_CLOSURE, top };
  Val out = val_nil ();
  gboolean ok;

  state_init (&state, evaluator, &base);
  evaluator->running++;
  ok = rthunk_eval_call_closure (&state, form, &closure, NULL, 0, &out);
  if (--evaluator->running == 0)
    g_ptr_array_set_size (evaluator->retired, 0);
  rthunk_eval_lambda_unref (top);
  if (state.budget_held > 0)
    rthunk_budget_release (evaluator->budget, state.budget_held);
  evaluator->steps = evaluator->fuel - state.fuel_left - state.ticks;
  if (!ok)
    {
      g_propagate_error (error, state.error);
      return NULL;
    }
  g_assert (out.tag != V_RECUR);
  return val_box_take (out);
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
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);
  g_return_val_if_fail (form != NULL, NULL);

  return eval_top (evaluator, form, rthunk_eval_compiled_top (evaluator, form), error);
}

RthunkValue *
rthunk_evaluator_eval_kept (RthunkEvaluator  *evaluator,
                            RthunkNode       *form,
                            RthunkEvalKept  **kept,
                            GError          **error)
{
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);
  g_return_val_if_fail (form != NULL && kept != NULL, NULL);

  return eval_top (evaluator, form, rthunk_eval_kept_top (evaluator, form, kept), error);
}

/**
 * rthunk_evaluator_get_steps:
 * @evaluator: an evaluator
 *
 * Gives the fuel the last evaluation used.
 *
 * Returns: how many steps (calls and loop iterations) the last evaluation took
 *
 * Since: 0.1
 */
guint64
rthunk_evaluator_get_steps (RthunkEvaluator *evaluator)
{
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), 0);

  return evaluator->steps;
}

static gboolean
any_pending (RthunkValue *const *args,
             guint               n_args)
{
  for (guint k = 0; k < n_args; k++)
    if (rthunk_value_peek_pending (args[k]))
      return TRUE;
  return FALSE;
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
  State *state;
  Val small[8];
  Val *vals;
  Val out = val_nil ();
  Val f;
  gboolean ok;

  g_return_val_if_fail (context != NULL && func != NULL, NULL);

  state = context->state;
  if (rthunk_value_get_kind (func) == RTHUNK_VALUE_FUNC &&
      *(CallableKind *) rthunk_value_peek_handle (func) == CALLABLE_NATIVE &&
      !any_pending (args, n_args))
    {
      /* a catalog function takes the values as they are */
      if (!step (state, context->call) ||
          !rthunk_eval_check_pure (state, context->call, ((Native *) rthunk_value_peek_handle (func))->def))
        {
          g_propagate_error (error, g_steal_pointer (&state->error));
          return NULL;
        }
      return rthunk_func_def_call (((Native *) rthunk_value_peek_handle (func))->def,
                                   context, args, n_args, error);
    }
  vals = n_args <= G_N_ELEMENTS (small) ? small : g_new (Val, n_args);
  for (guint k = 0; k < n_args; k++)
    vals[k] = val_unbox (args[k]);
  f = val_unbox (func);
  ok = force (state, context->call, &f) &&
       rthunk_eval_apply (state, context->call, f.u.obj, vals, n_args, &out);
  if (!ok && f.tag != V_OBJ)
    for (guint k = 0; k < n_args; k++)
      val_unref (vals[k]);
  val_unref (f);
  if (vals != small)
    g_free (vals);
  if (!ok)
    {
      /* the caller reports it; the state keeps no copy */
      g_propagate_error (error, g_steal_pointer (&state->error));
      return NULL;
    }
  return val_box_take (out);
}

/* rthunk_call_context_apply() where @func may call only pure catalog
 * functions: what state-swap! runs with its cell locked. */
RthunkValue *
rthunk_call_context_apply_pure (RthunkCallContext  *context,
                                RthunkValue        *func,
                                RthunkValue *const *args,
                                guint               n_args,
                                GError            **error)
{
  RthunkValue *result;

  context->state->pure_only++;
  result = rthunk_call_context_apply (context, func, args, n_args, error);
  context->state->pure_only--;
  return result;
}

/**
 * rthunk_call_context_get_evaluator:
 * @context: the context a native function was called with
 *
 * Gives a native function the evaluator that called it, e.g. to call a
 * function value it was passed with rthunk_call_context_apply().
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

  if (rthunk_eval_charge (context->state, context->call, bytes))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&context->state->error));
  return FALSE;
}

/**
 * rthunk_evaluator_get_definitions:
 * @evaluator: an evaluator
 *
 * The `defn` forms behind the globals they bound (and that nothing rebound
 * since): what a remote expression that calls them sends, by hash.
 *
 * Returns: (transfer none) (element-type utf8 RthunkNode): name → form
 *
 * Since: 0.1
 */
GHashTable *
rthunk_evaluator_get_definitions (RthunkEvaluator *evaluator)
{
  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);

  return evaluator->definitions;
}

GHashTable *
rthunk_evaluator_share_definitions (RthunkEvaluator *evaluator)
{
  if (g_hash_table_size (evaluator->definitions) == 0)
    return NULL;
  evaluator->definitions_shared = TRUE;
  return g_hash_table_ref (evaluator->definitions);
}

/* @ev's definitions, to be changed: a copy of them when they were shared,
 * so that whoever holds the shared table keeps what it was given. */
GHashTable *
rthunk_eval_definitions_to_change (RthunkEvaluator *ev)
{
  if (ev->definitions_shared)
    {
      GHashTable *copy = rthunk_definitions_copy (ev->definitions);

      g_hash_table_unref (ev->definitions);
      ev->definitions = copy;
      ev->definitions_shared = FALSE;
    }
  return ev->definitions;
}

/**
 * rthunk_call_context_check:
 * @context: the context a native function was called with
 * @error: return location for a #GError
 *
 * Checks the evaluation's deadline and cancellation now: a native that
 * waits or loops for long calls it as it goes, so it stops when told to.
 *
 * Returns: %TRUE to go on, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_call_context_check (RthunkCallContext  *context,
                           GError            **error)
{
  State *state;

  g_return_val_if_fail (context != NULL, FALSE);

  state = context->state;
  state->fuel_left += state->ticks;       /* check at this step */
  state->ticks = 0;
  if (step (state, context->call))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&state->error));
  return FALSE;
}

/**
 * rthunk_evaluator_set_servers_func:
 * @evaluator: an evaluator
 * @func: (scope notified) (closure user_data) (destroy destroy): names the
 *   servers that can run an expression, for pmap, psum and preduce
 * @user_data: (nullable): passed to @func
 * @destroy: (nullable): frees @user_data
 *
 * Without it, the splitting forms make one chunk, sent wherever `remote`
 * sends it.
 *
 * Since: 0.1
 */
void
rthunk_evaluator_set_servers_func (RthunkEvaluator  *evaluator,
                                   RthunkServersFunc func,
                                   gpointer          user_data,
                                   GDestroyNotify    destroy)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  set_hook_data (&evaluator->servers_data, &evaluator->servers_destroy, user_data, destroy);
  evaluator->servers_func = func;
}

/* Lets @place choose where each `(auto …)` runs (rthunk-lang-private.h). */
void
rthunk_evaluator_set_placement (RthunkEvaluator    *evaluator,
                                RthunkPlaceFunc     place,
                                RthunkMeasuredFunc  measured,
                                gpointer            user_data)
{
  g_return_if_fail (RTHUNK_IS_EVALUATOR (evaluator));

  evaluator->place_func = place;
  evaluator->measured_func = measured;
  evaluator->place_data = user_data;
}
