/* rthunk-eval-run.c — the runners of compiled code: atoms, special forms,
 * operators and calls
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-eval-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* ---- atoms ------------------------------------------------------------------ */

gboolean
rthunk_eval_run_const (Code *code, Frame *frame, Val *out)
{
  val_set (out, val_ref (code->constant));
  return TRUE;
}

gboolean
rthunk_eval_run_local (Code *code, Frame *frame, Val *out)
{
  val_set (out, val_ref (frame->slots[code->slot]));
  return TRUE;
}

gboolean
rthunk_eval_run_captured (Code *code, Frame *frame, Val *out)
{
  val_set (out, val_ref (frame->closure->captured[code->slot]));
  return TRUE;
}

static RthunkValue *
lookup_global (Code  *code,
               State *state)
{
  RthunkEvaluator *ev = state->ev;

  if (code->cache == NULL || code->cache_version != ev->globals_version)
    {
      code->cache = g_hash_table_lookup (ev->globals, code->name);
      code->cache_version = ev->globals_version;
      code->in_place = NULL;
    }
  return code->cache;
}

gboolean
rthunk_eval_run_global (Code *code, Frame *frame, Val *out)
{
  RthunkValue *value = lookup_global (code, frame->state);

  if (value == NULL && code->constant.tag == V_OBJ)
    value = code->constant.u.obj;        /* the catalog function of that name */
  if (value == NULL)
    return rthunk_eval_fail (frame->state, code->node, RTHUNK_ERROR_UNBOUND_NAME,
                             _("“%s” is not defined"), code->name);
  *out = val_unbox (value);
  return TRUE;
}

/* ---- special forms ------------------------------------------------------------ */

gboolean
rthunk_eval_run_if (Code *code, Frame *frame, Val *out)
{
  Val cond;

  if (!run (code->kids[0], frame, &cond))
    return FALSE;
  if (G_UNLIKELY (cond.tag != V_BOOL) && !force (frame->state, code->kids[0]->node, &cond))
    return FALSE;
  return run (code->kids[cond.u.b ? 1 : 2], frame, out);
}

gboolean
rthunk_eval_run_do (Code *code, Frame *frame, Val *out)
{
  for (guint k = 0; k + 1 < code->n_kids; k++)
    {
      Val v;

      if (!run (code->kids[k], frame, &v))
        return FALSE;
      val_unref (v);
    }
  return run (code->kids[code->n_kids - 1], frame, out);
}

/* (let …) and loop bindings: evaluates into a slot, freeing what was there. */
gboolean
rthunk_eval_run_set (Code *code, Frame *frame, Val *out)
{
  Val v;

  if (!run (code->kids[0], frame, &v))
    return FALSE;
  val_unref (frame->slots[code->slot]);
  val_set (&frame->slots[code->slot], v);
  *out = val_nil ();
  return TRUE;
}

gboolean
rthunk_eval_run_logic (Code *code, Frame *frame, Val *out)
{
  gboolean is_and = code->slot;

  for (guint k = 0; k < code->n_kids; k++)
    {
      Val v;

      if (!run_forced (code->kids[k], frame, &v))
        return FALSE;
      if (v.u.b != is_and)
        {
          *out = val_bool (!is_and);
          return TRUE;
        }
    }
  *out = val_bool (is_and);
  return TRUE;
}

/* A loop's initial values into its slots (from code->slot on). */
static gboolean
loop_init (Code  *code,
           Frame *frame)
{
  for (guint k = 0; k + 1 < code->n_kids; k++)
    {
      Val v;

      if (!run (code->kids[k], frame, &v))
        return FALSE;
      val_unref (frame->slots[code->slot + k]);
      val_set (&frame->slots[code->slot + k], v);
    }
  return TRUE;
}

/* Runs @first, then the loop's body again for as long as it recurs. */
static gboolean
loop_from (Code  *code,
           Code  *first,
           Frame *frame,
           Val   *out)
{
  State *state = frame->state;
  Code *body = code->kids[code->n_kids - 1];

  for (Code *next = first;; next = body)
    {
      if (!run (next, frame, out))
        return FALSE;
      if (out->tag != V_RECUR)
        return TRUE;
      if (!step (state, code->node))
        return FALSE;
    }
}

/* kids: the initial values, then the body; slots from code->slot on. */
gboolean
rthunk_eval_run_loop (Code *code, Frame *frame, Val *out)
{
  return loop_init (code, frame) && loop_from (code, code->kids[code->n_kids - 1], frame, out);
}

/* recur with two values, the commonest loop: the new values go to the
 * loop's slots. */
G_ALWAYS_INLINE static inline gboolean
recur2_assign (Code  *code,
               Frame *frame)
{
  Val v0, v1;
  Val *slots = frame->slots + code->slot;

  if (!run (code->kids[0], frame, &v0))
    return FALSE;
  if (!run (code->kids[1], frame, &v1))
    {
      val_unref (v0);
      return FALSE;
    }
  val_unref (slots[0]);
  val_unref (slots[1]);
  val_set (&slots[0], v0);
  val_set (&slots[1], v1);
  return TRUE;
}

gboolean
rthunk_eval_run_recur2 (Code *code, Frame *frame, Val *out)
{
  out->tag = V_RECUR;
  return recur2_assign (code, frame);
}

/* In tail position nothing reads the loop variables after recur, so the
 * new values go straight into their slots (from code->slot on). */
gboolean
rthunk_eval_run_recur (Code *code, Frame *frame, Val *out)
{
  guint n = code->n_kids;
  Val small[8];
  Val *values = n <= G_N_ELEMENTS (small) ? small : g_new (Val, n);
  gboolean ok = TRUE;
  guint k;

  for (k = 0; k < n && ok; k++)
    ok = run (code->kids[k], frame, &values[k]);
  if (ok)
    for (k = 0; k < n; k++)
      {
        val_unref (frame->slots[code->slot + k]);
        val_set (&frame->slots[code->slot + k], values[k]);
      }
  else
    for (guint j = 0; j + 1 < k; j++)
      val_unref (values[j]);
  if (values != small)
    g_free (values);
  out->tag = V_RECUR;
  return ok;
}

static void
closure_free (gpointer data)
{
  Closure *closure = data;

  for (guint k = 0; k < closure->lambda->n_captures; k++)
    val_unref (closure->captured[k]);
  rthunk_eval_lambda_unref (closure->lambda);
  g_free (closure);
}

static RthunkValue *
make_closure (Lambda *lambda,
              Frame  *frame)
{
  Closure *closure = g_malloc (sizeof (Closure) + lambda->n_captures * sizeof (Val));

  closure->kind = CALLABLE_CLOSURE;
  g_atomic_int_inc (&lambda->ref_count);
  closure->lambda = lambda;
  for (guint k = 0; k < lambda->n_captures; k++)
    {
      Capture *c = &lambda->captures[k];

      closure->captured[k] = val_ref (c->from == CAPTURE_SLOT ? frame->slots[c->index]
                                                              : frame->closure->captured[c->index]);
    }
  return rthunk_value_new_func (lambda->name, closure, closure_free);
}

gboolean
rthunk_eval_run_fn (Code *code, Frame *frame, Val *out)
{
  *out = val_obj (make_closure (code->lambda, frame));
  return TRUE;
}

void
rthunk_eval_bind_global (RthunkEvaluator *ev,
                         const char      *name,
                         RthunkValue     *value)
{
  RthunkValue *old;

  /* a call of the old function may be running: it holds no reference */
  if (ev->running > 0 && (old = g_hash_table_lookup (ev->globals, name)) != NULL)
    g_ptr_array_add (ev->retired, rthunk_value_ref (old));
  /* (a server binds each request's inputs: most evaluators hold no defn) */
  if (g_hash_table_size (ev->definitions) > 0 && g_hash_table_contains (ev->definitions, name))
    g_hash_table_remove (rthunk_eval_definitions_to_change (ev), name);
  g_hash_table_replace (ev->globals, g_strdup (name), value);
  ev->globals_version++;
}

gboolean
rthunk_eval_run_def (Code *code, Frame *frame, Val *out)
{
  if (!run (code->kids[0], frame, out))
    return FALSE;
  rthunk_eval_bind_global (frame->state->ev, code->name, val_box (*out));
  return TRUE;
}

gboolean
rthunk_eval_run_defn (Code *code, Frame *frame, Val *out)
{
  RthunkEvaluator *ev = frame->state->ev;
  RthunkValue *closure = make_closure (code->lambda, frame);

  rthunk_eval_bind_global (ev, code->name, rthunk_value_ref (closure));
  g_hash_table_replace (rthunk_eval_definitions_to_change (ev), g_strdup (code->name),
                        rthunk_node_ref (code->node));
  *out = val_obj (closure);
  return TRUE;
}

static gboolean run_remote_form (Code *code, Frame *frame, gboolean awaited, Val *out);

/* Whether the remote form being sent in this thread is the operand of
 * `await`: per thread, not per evaluator, since the remote function
 * leaves the evaluator while it sends, and another thread's evaluation
 * may then send forms of its own. */
static _Thread_local gboolean remote_awaited;

gboolean
rthunk_evaluator_remote_is_awaited (RthunkEvaluator *evaluator)
{
  return remote_awaited;
}

/* `(await (remote …))` tells the remote function that its value is
 * awaited at once (it may then wait for the answer rather than queue). */
gboolean
rthunk_eval_run_await (Code *code, Frame *frame, Val *out)
{
  Code *kid = code->kids[0];

  if (kid->run == rthunk_eval_run_remote)
    return run_remote_form (kid, frame, TRUE, out) && force (frame->state, kid->node, out);
  return run_forced (kid, frame, out);
}

/* Values by name, the names copied: the options or the inputs of one
 * remote form or chunk. A remote function may keep the table after the
 * code is gone, so the names are not the code's; nor interned, which a
 * peer's requests would grow without bound on a server. */
GHashTable *
rthunk_eval_value_table_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_value_unref);
}

/* Runs the kids of a remote form from @first on: the option values (below
 * code->slot) into @options, the inputs into @inputs. */
static gboolean
run_remote_kids (Code       *code,
                 Frame      *frame,
                 guint       first,
                 GHashTable *options,
                 GHashTable *inputs)
{
  for (guint k = first; k < code->n_kids; k++)
    {
      Val v;

      if (!(k < code->slot ? run_forced : run) (code->kids[k], frame, &v))
        return FALSE;
      if (k < code->slot)
        g_hash_table_replace (options, g_strdup (code->input_names[k]), val_box (v));
      else if (v.tag != V_OBJ || rthunk_value_get_kind (v.u.obj) != RTHUNK_VALUE_FUNC)
        g_hash_table_replace (inputs, g_strdup (code->input_names[k]), val_box (v));
      /* functions travel as definitions, by content address, not as inputs */
      val_unref (v);
    }
  return TRUE;
}

/* Sends the expression of the remote or auto form @code to a server. */
static gboolean
send_remote (Code       *code,
             Frame      *frame,
             GHashTable *options,
             GHashTable *inputs,
             Val        *out)
{
  State *state = frame->state;
  RthunkEvaluator *ev = state->ev;
  RthunkNode *form = code->node;
  GError *error = NULL;
  RthunkValue *result;

  if (ev->remote_func == NULL)
    return rthunk_eval_fail (state, form, RTHUNK_ERROR_CONNECTION,
                             _("no server to evaluate remote expressions (running with --local?)"));
  result = ev->remote_func (ev, rthunk_node_get_item (form, rthunk_node_get_n_items (form) - 1),
                            options, inputs, ev->remote_data, &error);
  return take_result (state, form, result, &error, out);
}

/* kids: the option values, then the inputs; the names are in the code.
 * A form without options gets the evaluator's one empty table. @awaited:
 * the form is the operand of `await`. */
static gboolean
run_remote_form (Code     *code,
                 Frame    *frame,
                 gboolean  awaited,
                 Val      *out)
{
  RthunkEvaluator *ev = frame->state->ev;
  g_autoptr(GHashTable) options = code->slot > 0 ? rthunk_eval_value_table_new ()
                                                 : g_hash_table_ref (ev->no_options);
  g_autoptr(GHashTable) inputs = rthunk_eval_value_table_new ();
  gboolean ok;

  if (ev->remote_func != NULL && !run_remote_kids (code, frame, 0, options, inputs))
    return FALSE;
  remote_awaited = awaited;
  ok = send_remote (code, frame, options, inputs, out);
  remote_awaited = FALSE;
  return ok;
}

gboolean
rthunk_eval_run_remote (Code *code, Frame *frame, Val *out)
{
  return run_remote_form (code, frame, FALSE, out);
}

static RthunkNode *
auto_expr (Code *code)
{
  return rthunk_node_get_item (code->node, rthunk_node_get_n_items (code->node) - 1);
}

/* Runs the expression of an auto form here, within @probe steps (0: the
 * evaluation's own fuel); *@ran_out when it used them up, the error then
 * cleared. Tells the evaluator's measured_func what it cost. */
static gboolean
run_here (Code     *code,
          Frame    *frame,
          guint64   probe,
          gboolean *ran_out,
          Val      *out)
{
  State *state = frame->state;
  RthunkEvaluator *ev = state->ev;
  guint64 left = state->fuel_left + state->ticks;
  guint64 limit = probe > 0 ? MIN (probe, left) : left;
  gint64 start = g_get_monotonic_time ();
  guint64 used;
  gboolean ok;

  state->fuel_left = limit;
  state->ticks = 0;
  ok = run (code->kids[0], frame, out);
  used = limit - MIN (limit, state->fuel_left + state->ticks);
  state->fuel_left = left - used;
  state->ticks = 0;
  *ran_out = !ok && limit < left && g_error_matches (state->error, RTHUNK_ERROR, RTHUNK_ERROR_FUEL_EXHAUSTED);
  if (*ran_out)
    g_clear_error (&state->error);
  if ((ok || *ran_out) && ev->measured_func != NULL)
    ev->measured_func (ev, auto_expr (code), used, g_get_monotonic_time () - start, *ran_out,
                       ev->place_data);
  return ok;
}

/* kids: the expression compiled to run here, for a map the pmap it may
 * become, then the inputs (slot: where they start). */
gboolean
rthunk_eval_run_auto (Code *code, Frame *frame, Val *out)
{
  RthunkEvaluator *ev = frame->state->ev;
  g_autoptr(GHashTable) options = NULL;
  g_autoptr(GHashTable) inputs = NULL;
  gboolean can_split = code->slot > 1;
  guint64 probe = 0;
  gboolean ran_out = FALSE;
  RthunkPlace place;

  if (ev->place_func == NULL || ev->remote_func == NULL)
    return run (code->kids[0], frame, out);
  options = rthunk_eval_value_table_new ();
  inputs = rthunk_eval_value_table_new ();
  if (!run_remote_kids (code, frame, code->slot, options, inputs))
    return FALSE;
  place = ev->place_func (ev, auto_expr (code), inputs, options, can_split, &probe, ev->place_data);
  if (place == RTHUNK_PLACE_HERE)
    {
      if (run_here (code, frame, probe, &ran_out, out))
        return TRUE;
      if (!ran_out)
        return FALSE;
      /* measured as having run out: placed again (a map may be split
       * now; with no server worker to spare it runs here after all) */
      probe = 0;
      place = ev->place_func (ev, auto_expr (code), inputs, options, can_split, &probe, ev->place_data);
      if (place == RTHUNK_PLACE_HERE)
        return run_here (code, frame, 0, &ran_out, out);
    }
  if (place == RTHUNK_PLACE_SPLIT && can_split)
    return run (code->kids[1], frame, out);
  return send_remote (code, frame, options, inputs, out);
}

gboolean
rthunk_eval_run_vector (Code *code, Frame *frame, Val *out)
{
  g_autoptr(GPtrArray) items = NULL;

  if (!rthunk_eval_charge (frame->state, code->node, (guint64) code->n_kids * sizeof (gpointer) + 32))
    return FALSE;
  items = g_ptr_array_new_full (code->n_kids, (GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < code->n_kids; k++)
    {
      Val v;

      if (!run (code->kids[k], frame, &v))
        return FALSE;
      g_ptr_array_add (items, val_box (v));
      val_unref (v);
    }
  *out = val_obj (rthunk_value_new_list ((RthunkValue **) items->pdata, items->len));
  return TRUE;
}

/* ---- operators ---------------------------------------------------------------- */

/* F (cmp, prim, op, x, y) for each of the six comparisons. */
#define FOR_EACH_COMPARISON(F, x, y)                                         \
  F (lt, PRIM_LT, <, x, y) F (le, PRIM_LE, <=, x, y)                         \
  F (gt, PRIM_GT, >, x, y) F (ge, PRIM_GE, >=, x, y)                         \
  F (eq, PRIM_EQ, ==, x, y) F (ne, PRIM_NE, !=, x, y)

/* The case of a switch on the Prim that compares @a and @b into *out, or
 * returns the comparison. */
#define COMPARE_CASE(cmp, prim, op, a, b)                                    \
  case prim: *out = val_bool ((a) op (b)); return TRUE;
#define COMPARE_RETURN(cmp, prim, op, a, b)                                  \
  case prim: return (a) op (b);

G_ALWAYS_INLINE static inline gboolean
prim_int (State      *state,
          RthunkNode *node,
          Prim        prim,
          gint64      a,
          gint64      b,
          Val        *out)
{
  gint64 r;

  switch (prim)
    {
    case PRIM_ADD:
      if (__builtin_add_overflow (a, b, &r))
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in +"));
      break;
    case PRIM_SUB:
      if (__builtin_sub_overflow (a, b, &r))
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in -"));
      break;
    case PRIM_MUL:
      if (__builtin_mul_overflow (a, b, &r))
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in *"));
      break;
    case PRIM_DIV:
    case PRIM_MOD:
      if (b == 0)
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_DIVISION_BY_ZERO,
                                 prim == PRIM_DIV ? _("division by zero") : _("modulo by zero"));
      if (a == G_MININT64 && b == -1)
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in division"));
      r = prim == PRIM_DIV ? a / b : a % b;
      break;
    FOR_EACH_COMPARISON (COMPARE_CASE, a, b)
    default:      g_assert_not_reached ();
    }
  *out = val_int (r);
  return TRUE;
}

/* prim_int, for the other files of the evaluator */
gboolean
rthunk_eval_prim_int (State      *state,
                      RthunkNode *node,
                      Prim        prim,
                      gint64      a,
                      gint64      b,
                      Val        *out)
{
  return prim_int (state, node, prim, a, b, out);
}

gboolean
rthunk_eval_prim_float (State      *state,
                        RthunkNode *node,
                        Prim        prim,
                        double      a,
                        double      b,
                        Val        *out)
{
  switch (prim)
    {
    case PRIM_ADD: *out = val_float (a + b); return TRUE;
    case PRIM_SUB: *out = val_float (a - b); return TRUE;
    case PRIM_MUL: *out = val_float (a * b); return TRUE;
    case PRIM_DIV: *out = val_float (a / b); return TRUE;
    case PRIM_MOD:
      if (b == 0.0)
        return rthunk_eval_fail (state, node, RTHUNK_ERROR_DIVISION_BY_ZERO, _("modulo by zero"));
      *out = val_float (fmod (a, b));
      return TRUE;
    FOR_EACH_COMPARISON (COMPARE_CASE, a, b)
    default:      g_assert_not_reached ();
    }
}

/* Anything but two ints or two floats: strings, lists, bools, nil. */
static gboolean
prim_general (State *state,
              Code  *code,
              Val    a,
              Val    b,
              Val   *out)
{
  g_autoptr(RthunkValue) ba = val_box (a);
  g_autoptr(RthunkValue) bb = val_box (b);
  int cmp;

  switch (code->prim)
    {
    case PRIM_EQ: *out = val_bool (rthunk_value_equal (ba, bb)); return TRUE;
    case PRIM_NE: *out = val_bool (!rthunk_value_equal (ba, bb)); return TRUE;
    case PRIM_LT: case PRIM_LE: case PRIM_GT: case PRIM_GE:
      g_assert (rthunk_value_get_kind (ba) == RTHUNK_VALUE_STR &&
                rthunk_value_get_kind (bb) == RTHUNK_VALUE_STR);
      cmp = strcmp (rthunk_value_get_str (ba), rthunk_value_get_str (bb));
      *out = val_bool (code->prim == PRIM_LT ? cmp < 0 : code->prim == PRIM_LE ? cmp <= 0
                       : code->prim == PRIM_GT ? cmp > 0 : cmp >= 0);
      return TRUE;
    default:
      return rthunk_eval_fail (state, code->node, RTHUNK_ERROR_TYPE_MISMATCH,
                               _("arithmetic needs two ints or two floats"));
    }
}

gboolean
rthunk_eval_run_prim (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  Val a, b;
  gboolean ok;

  if (!run (code->kids[0], frame, &a))
    return FALSE;
  if (!run (code->kids[1], frame, &b))
    {
      val_unref (a);
      return FALSE;
    }
  if (G_LIKELY (a.tag == V_INT && b.tag == V_INT))
    return prim_int (state, code->node, code->prim, a.u.i, b.u.i, out);
  if (a.tag == V_FLOAT && b.tag == V_FLOAT)
    return rthunk_eval_prim_float (state, code->node, code->prim, a.u.f, b.u.f, out);
  ok = force (state, code->kids[0]->node, &a) && force (state, code->kids[1]->node, &b);
  if (ok)
    {
      if (a.tag == V_INT && b.tag == V_INT)
        ok = prim_int (state, code->node, code->prim, a.u.i, b.u.i, out);
      else if (a.tag == V_FLOAT && b.tag == V_FLOAT)
        ok = rthunk_eval_prim_float (state, code->node, code->prim, a.u.f, b.u.f, out);
      else
        ok = prim_general (state, code, a, b, out);
    }
  val_unref (a);
  val_unref (b);
  return ok;
}

/* Operators whose left operand is a local and whose right operand is a
 * local or an int constant — (< n 2), (- n 1), (+ acc i) — with the int
 * case inline and everything else left to rthunk_eval_run_prim. */
#define LEFT_LOCAL(code, frame) ((frame)->slots[(code)->slot])
#define RIGHT_LOCAL(code, frame) ((frame)->slots[(code)->slot2])
#define RIGHT_CONST(code, frame) ((code)->constant)

#define DEFINE_ARITH(name, builtin, right)                                   \
  static gboolean                                                            \
  name (Code *code, Frame *frame, Val *out)                                  \
  {                                                                          \
    Val a = LEFT_LOCAL (code, frame), b = right (code, frame);               \
    gint64 r;                                                                \
                                                                             \
    if (G_LIKELY (a.tag == V_INT && b.tag == V_INT) &&                       \
        !builtin (a.u.i, b.u.i, &r))                                         \
      {                                                                      \
        *out = val_int (r);                                                  \
        return TRUE;                                                         \
      }                                                                      \
    return rthunk_eval_run_prim (code, frame, out);                                      \
  }

#define DEFINE_COMPARE(name, op, right)                                      \
  static gboolean                                                            \
  name (Code *code, Frame *frame, Val *out)                                  \
  {                                                                          \
    Val a = LEFT_LOCAL (code, frame), b = right (code, frame);               \
                                                                             \
    if (G_LIKELY (a.tag == V_INT && b.tag == V_INT))                         \
      {                                                                      \
        *out = val_bool (a.u.i op b.u.i);                                    \
        return TRUE;                                                         \
      }                                                                      \
    return rthunk_eval_run_prim (code, frame, out);                                      \
  }

#define DEFINE_COMPARE_OF(cmp, prim, op, suffix, right)                      \
  DEFINE_COMPARE (run_##cmp##_##suffix, op, right)

#define DEFINE_OPERATOR_PAIR(suffix, what)                                   \
  DEFINE_ARITH (run_add_##suffix, __builtin_add_overflow, what)              \
  DEFINE_ARITH (run_sub_##suffix, __builtin_sub_overflow, what)              \
  DEFINE_ARITH (run_mul_##suffix, __builtin_mul_overflow, what)              \
  FOR_EACH_COMPARISON (DEFINE_COMPARE_OF, suffix, what)

DEFINE_OPERATOR_PAIR (lk, RIGHT_CONST)
DEFINE_OPERATOR_PAIR (ll, RIGHT_LOCAL)

/* (if (< a b) …) with a comparison of a local and a local or an int: the
 * comparison is made in place, without a value in between. */
#define DEFINE_IF_COMPARE(name, op, RIGHT)                                    \
  static gboolean                                                            \
  name (Code *code, Frame *frame, Val *out)                                  \
  {                                                                          \
    Code *cond = code->kids[0];                                              \
    Val a = frame->slots[cond->slot];                                        \
    Val b = RIGHT;                                                           \
                                                                             \
    if (G_UNLIKELY (a.tag != V_INT || b.tag != V_INT))                       \
      return rthunk_eval_run_if (code, frame, out);                                      \
    if (a.u.i op b.u.i)         /* two dispatches, each predicted apart */   \
      return run (code->kids[1], frame, out);                                \
    return run (code->kids[2], frame, out);                                  \
  }
#define IF_CONST (cond->constant)
#define IF_LOCAL (frame->slots[cond->slot2])
#define DEFINE_IF_COMPARE_OF(cmp, prim, op, suffix, RIGHT)                   \
  DEFINE_IF_COMPARE (run_if_##cmp##_##suffix, op, RIGHT)
FOR_EACH_COMPARISON (DEFINE_IF_COMPARE_OF, lk, IF_CONST)
FOR_EACH_COMPARISON (DEFINE_IF_COMPARE_OF, ll, IF_LOCAL)

static const struct { CodeFunc compare; CodeFunc fused; } fused_ifs[] = {
  { run_lt_lk, run_if_lt_lk }, { run_le_lk, run_if_le_lk }, { run_gt_lk, run_if_gt_lk },
  { run_ge_lk, run_if_ge_lk }, { run_eq_lk, run_if_eq_lk }, { run_ne_lk, run_if_ne_lk },
  { run_lt_ll, run_if_lt_ll }, { run_le_ll, run_if_le_ll }, { run_gt_ll, run_if_gt_ll },
  { run_ge_ll, run_if_ge_ll }, { run_eq_ll, run_if_eq_ll }, { run_ne_ll, run_if_ne_ll },
};

/* The fused form of an if whose condition is a fast comparison. */
CodeFunc
rthunk_eval_specialize_if (Code *cond)
{
  for (guint k = 0; k < G_N_ELEMENTS (fused_ifs); k++)
    if (cond->run == fused_ifs[k].compare)
      return fused_ifs[k].fused;
  return rthunk_eval_run_if;
}

gboolean
rthunk_eval_is_fused_if (Code *code)
{
  for (guint k = 0; k < G_N_ELEMENTS (fused_ifs); k++)
    if (code->run == fused_ifs[k].fused)
      return TRUE;
  return FALSE;
}

static inline gboolean
int_compare (Prim   prim,
             gint64 a,
             gint64 b)
{
  switch (prim)
    {
    FOR_EACH_COMPARISON (COMPARE_RETURN, a, b)
    default:      g_assert_not_reached ();
    }
}

/* A loop whose body is a fused if, (loop [...] (if (< i n) (recur ...) x)),
 * the commonest loop: the test is made here, and a recur of two values in
 * either branch runs here too, without a signal to the loop.  Any other
 * branch is left to the plain loop. */
gboolean
rthunk_eval_run_loop_if (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  Code *test = code->kids[code->n_kids - 1];
  Code *cond = test->kids[0];
  const Val *a = &frame->slots[cond->slot];
  const Val *b = cond->kids[1]->run == rthunk_eval_run_const ? &cond->constant : &frame->slots[cond->slot2];

  if (!loop_init (code, frame))
    return FALSE;
  for (;;)
    {
      Code *branch = test;      /* anything but two ints: the if decides */

      if (G_LIKELY (a->tag == V_INT && b->tag == V_INT))
        branch = test->kids[int_compare (cond->prim, a->u.i, b->u.i) ? 1 : 2];
      if (branch->run != rthunk_eval_run_recur2)
        return loop_from (code, branch, frame, out);
      if (!recur2_assign (branch, frame) || !step (state, code->node))
        return FALSE;
    }
}

/* The inline form of an arithmetic node, if it has one. */
InlineOp
rthunk_eval_inline_op (Code *code)
{
  static const struct { CodeFunc run; InlineOp op; } ops[] = {
    { run_add_lk, OP_ADD_LK }, { run_add_ll, OP_ADD_LL },
    { run_sub_lk, OP_SUB_LK }, { run_sub_ll, OP_SUB_LL },
    { run_mul_lk, OP_MUL_LK }, { run_mul_ll, OP_MUL_LL },
  };

  for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
    if (code->run == ops[k].run)
      return ops[k].op;
  return OP_CALL;
}

/* The specialised form of an operator node, or its generic rthunk_eval_run_prim. */
CodeFunc
rthunk_eval_specialize_prim (Code *code)
{
  static const CodeFunc lk[] = {
    [PRIM_ADD] = run_add_lk, [PRIM_SUB] = run_sub_lk, [PRIM_MUL] = run_mul_lk,
    [PRIM_LT] = run_lt_lk, [PRIM_LE] = run_le_lk, [PRIM_GT] = run_gt_lk,
    [PRIM_GE] = run_ge_lk, [PRIM_EQ] = run_eq_lk, [PRIM_NE] = run_ne_lk,
  };
  static const CodeFunc ll[] = {
    [PRIM_ADD] = run_add_ll, [PRIM_SUB] = run_sub_ll, [PRIM_MUL] = run_mul_ll,
    [PRIM_LT] = run_lt_ll, [PRIM_LE] = run_le_ll, [PRIM_GT] = run_gt_ll,
    [PRIM_GE] = run_ge_ll, [PRIM_EQ] = run_eq_ll, [PRIM_NE] = run_ne_ll,
  };
  Code *left = code->kids[0], *right = code->kids[1];

  if (code->prim == PRIM_DIV || code->prim == PRIM_MOD || left->run != rthunk_eval_run_local)
    return rthunk_eval_run_prim;
  if (right->run == rthunk_eval_run_local)
    return ll[code->prim];
  if (right->run == rthunk_eval_run_const && right->constant.tag == V_INT)
    return lk[code->prim];
  return rthunk_eval_run_prim;
}

gboolean
rthunk_eval_run_not (Code *code, Frame *frame, Val *out)
{
  Val v;

  if (!run_forced (code->kids[0], frame, &v))
    return FALSE;
  *out = val_bool (!v.u.b);
  return TRUE;
}

/* ---- calls -------------------------------------------------------------------- */

gboolean
rthunk_eval_check_pure (State         *state,
                        RthunkNode    *call,
                        RthunkFuncDef *def)
{
  if (state->pure_only == 0 || (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PURE))
    return TRUE;
  return rthunk_eval_fail (state, call, RTHUNK_ERROR_EVAL_FAILED,
                           _("%s is not pure: a function given to state-swap! may call only pure functions"),
                           rthunk_func_def_get_name (def));
}

/* Calls the catalog function with boxed arguments (forced, borrowed). */
gboolean
rthunk_eval_call_native_boxed (State        *state,
                               RthunkNode   *call,
                               const Native *native,
                               Val          *args,
                               guint         n_args,
                               Val          *out)
{
  RthunkCallContext context = { state, call };
  RthunkValue *boxed[16] = { NULL, };
  RthunkValue **argv = n_args <= G_N_ELEMENTS (boxed) ? boxed : g_new (RthunkValue *, n_args);
  GError *error = NULL;
  RthunkValue *result;

  for (guint k = 0; k < n_args; k++)
    argv[k] = val_box (args[k]);
  result = rthunk_func_def_call (native->def, &context, argv, n_args, &error);
  for (guint k = 0; k < n_args; k++)
    rthunk_value_unref (argv[k]);
  if (argv != boxed)
    g_free (argv);
  return take_result (state, call, result, &error, out);
}

/* Calls a catalog function with @args, which stay the caller's. */
static gboolean
call_native (State        *state,
             RthunkNode   *call,
             const Native *native,
             Val          *args,
             guint         n_args,
             Val          *out)
{
  for (guint k = 0; k < n_args; k++)
    if (!force (state, call, &args[k]))
      return FALSE;
  if (state->pure_only > 0 && !rthunk_eval_check_pure (state, call, native->def))
    return FALSE;
  if (native->fast != NULL)
    return native->fast (state, call, native, args, n_args, out);
  return rthunk_eval_call_native_boxed (state, call, native, args, n_args, out);
}

gboolean
rthunk_eval_call_closure (State      *state,
                          RthunkNode *call,
                          Closure    *closure,
                          Val        *args,
                          guint       n_args,
                          Val        *out)
{
  Lambda *lambda = closure->lambda;
  Val small[16];
  Val *slots = lambda->n_slots <= G_N_ELEMENTS (small) ? small : g_new (Val, lambda->n_slots);
  Frame frame = { state, slots, closure };
  gboolean ok;

  if (n_args != lambda->n_params)
    {
      for (guint k = 0; k < n_args; k++)
        val_unref (args[k]);
      ok = rthunk_eval_fail (state, call, RTHUNK_ERROR_TYPE_MISMATCH,
                             _("the function takes %u arguments, got %u"), lambda->n_params, n_args);
      goto out;
    }
  for (guint k = 0; k < n_args; k++)
    val_set (&slots[k], args[k]);
  for (guint k = n_args; k < lambda->n_slots; k++)
    val_set (&slots[k], val_nil ());
  ok = run (lambda->body, &frame, out);
  for (guint k = 0; k < lambda->n_slots; k++)
    val_unref (slots[k]);
out:
  if (slots != small)
    g_free (slots);
  return ok;
}

static inline gboolean
check_depth (State      *state,
             RthunkNode *call)
{
  char here;

  if (state->depth >= state->ev->max_depth)
    return rthunk_eval_fail (state, call, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("calls nest deeper than %u levels"), state->ev->max_depth);
  if ((gsize) (state->stack_base > &here ? state->stack_base - &here : &here - state->stack_base) > state->stack_budget)
    return rthunk_eval_fail (state, call, RTHUNK_ERROR_LIMIT_EXCEEDED, _("evaluation nests too deeply"));
  return TRUE;
}

/* Calls @func with @args, which it consumes. */
gboolean
rthunk_eval_apply (State       *state,
                   RthunkNode  *call,
                   RthunkValue *func,
                   Val         *args,
                   guint        n_args,
                   Val         *out)
{
  gpointer handle = rthunk_value_peek_handle (func);
  gboolean ok;

  if (G_UNLIKELY (!step (state, call) || !check_depth (state, call)))
    {
      for (guint k = 0; k < n_args; k++)
        val_unref (args[k]);
      return FALSE;
    }
  state->depth++;
  if (*(CallableKind *) handle == CALLABLE_CLOSURE)
    ok = rthunk_eval_call_closure (state, call, handle, args, n_args, out);
  else
    {
      ok = call_native (state, call, handle, args, n_args, out);
      for (guint k = 0; k < n_args; k++)
        val_unref (args[k]);
    }
  state->depth--;
  return ok;
}

/* Runs @n codes into @args; on failure nothing is left to free. */
G_ALWAYS_INLINE static inline gboolean
run_args (Code  **codes,
          guint   n,
          Frame  *frame,
          Val    *args)
{
  for (guint k = 0; k < n; k++)
    if (!run (codes[k], frame, &args[k]))
      {
        for (guint j = 0; j < k; j++)
          val_unref (args[j]);
        return FALSE;
      }
  return TRUE;
}

/* kids: the function, then the arguments. */
gboolean
rthunk_eval_run_call (Code *code, Frame *frame, Val *out)
{
  guint n_args = code->n_kids - 1;
  Val small[8];
  Val *args = n_args <= G_N_ELEMENTS (small) ? small : g_new (Val, n_args);
  Val func;
  gboolean ok = FALSE;

  if (!run_forced (code->kids[0], frame, &func))
    goto out;
  if (run_args (code->kids + 1, n_args, frame, args))
    ok = rthunk_eval_apply (frame->state, code->node, func.u.obj, args, n_args, out);
  val_unref (func);
out:
  if (args != small)
    g_free (args);
  return ok;
}

/* Calls a closure whose arguments are evaluated straight into its frame:
 * the commonest call, without copying the arguments. */
static gboolean
call_in_place (Code    *code,
               Frame   *frame,
               Closure *closure,
               Val     *out)
{
  State *state = frame->state;
  Lambda *lambda = closure->lambda;
  Val slots[16];
  Frame inner = { state, slots, closure };
  gboolean ok;

  if (!run_args (code->kids, code->n_kids, frame, slots))
    return FALSE;
  for (guint k = code->n_kids; k < lambda->n_slots; k++)
    val_set (&slots[k], val_nil ());
  if (G_UNLIKELY (!step (state, code->node) || !check_depth (state, code->node)))
    ok = FALSE;
  else
    {
      state->depth++;
      ok = run (lambda->body, &inner, out);
      state->depth--;
    }
  for (guint k = 0; k < lambda->n_slots; k++)
    val_unref (slots[k]);
  return ok;
}

/* A call of a global function: no reference taken on the function. */
static G_GNUC_NO_INLINE gboolean
call_global_slow (Code  *code,
                  Frame *frame,
                  Val   *out)
{
  guint n_args = code->n_kids;
  Val small[8];
  Val *args = n_args <= G_N_ELEMENTS (small) ? small : g_new (Val, n_args);
  RthunkValue *func = lookup_global (code, frame->state);
  Val forced = val_nil ();
  gboolean ok = FALSE;

  if (func == NULL && code->constant.tag == V_OBJ)
    func = code->constant.u.obj;        /* the catalog function of that name */
  if (func == NULL)
    ok = rthunk_eval_fail (frame->state, code->node, RTHUNK_ERROR_UNBOUND_NAME,
                           _("“%s” is not defined"), code->name);
  else if (G_UNLIKELY (rthunk_value_peek_pending (func)))
    {
      /* a global bound to a pending function value: wait for it */
      forced = val_unbox (func);
      if (force (frame->state, code->node, &forced))
        func = forced.u.obj;
      else
        func = NULL;
    }
  if (func != NULL && *(CallableKind *) rthunk_value_peek_handle (func) == CALLABLE_CLOSURE &&
      ((Closure *) rthunk_value_peek_handle (func))->lambda->n_slots <= 16 &&
      ((Closure *) rthunk_value_peek_handle (func))->lambda->n_params == n_args)
    {
      /* no reference: a global rebound meanwhile is kept (rthunk_eval_bind_global) */
      if (forced.tag == V_NIL)
        code->in_place = rthunk_value_peek_handle (func);
      ok = call_in_place (code, frame, rthunk_value_peek_handle (func), out);
    }
  else if (func != NULL && run_args (code->kids, n_args, frame, args))
    ok = rthunk_eval_apply (frame->state, code->node, func, args, n_args, out);
  val_unref (forced);
  if (args != small)
    g_free (args);
  return ok;
}

gboolean
rthunk_eval_run_call_global (Code *code, Frame *frame, Val *out)
{
  if (G_LIKELY (code->in_place != NULL && code->cache_version == frame->state->ev->globals_version))
    return call_in_place (code, frame, code->in_place, out);
  return call_global_slow (code, frame, out);
}
