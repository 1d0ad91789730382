/* rthunk-eval.c — the evaluator, with limits
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
 *    with a `recur` in one branch, runs as one node (run_loop_if);
 *  - map, filter, reduce, even?, odd? and the operators of the standard
 *    library, as function values, run on unboxed values, and lists of ints
 *    stay unboxed from range to reduce.
 *
 * Every call and every loop iteration costs one unit of fuel, handed out
 * CHECK_EVERY units at a time so that a step is one decrement; the depth of
 * calls is bounded, and so is the C stack that nested evaluation uses;
 * deadline and cancellation are checked at every hand-out; lists and
 * strings are charged against a memory budget.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "rthunk-eval.h"
#include "rthunk-catalog.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define CHECK_EVERY 1024
#define STACK_BUDGET (6u * 1024u * 1024u)   /* bytes of C stack one evaluation may use */

/* ---- unboxed values ------------------------------------------------------ */

typedef enum
{
  V_NIL,
  V_BOOL,
  V_INT,
  V_FLOAT,
  V_OBJ,          /* str, list, function or pending: a RthunkValue */
  V_RECUR,        /* not a value: recur on its way to its loop */
} VTag;

typedef struct
{
  VTag tag;
  union {
    gboolean b;
    gint64 i;
    double f;
    RthunkValue *obj;
  } u;
} Val;

static inline Val
val_int (gint64 i)
{
  Val v = { V_INT, { .i = i } };
  return v;
}

static inline Val
val_float (double f)
{
  Val v = { V_FLOAT, { .f = f } };
  return v;
}

static inline Val
val_bool (gboolean b)
{
  Val v = { V_BOOL, { .b = b } };
  return v;
}

static inline Val
val_nil (void)
{
  Val v = { V_NIL, { .i = 0 } };
  return v;
}

/* Takes ownership of @obj. */
static inline Val
val_obj (RthunkValue *obj)
{
  Val v = { V_OBJ, { .obj = obj } };
  return v;
}

/* Stores @v field by field.  A Val is most often made by two separate
 * stores (tag, then number); copying it whole with one 16-byte load would
 * defeat the CPU's store forwarding and stall for a dozen cycles, which
 * in a loop or a call costs more than all the rest. */
static inline void
val_set (Val *dst,
         Val  v)
{
  dst->tag = v.tag;
  dst->u.i = v.u.i;
}

static inline Val
val_ref (Val v)
{
  if (v.tag == V_OBJ)
    rthunk_value_ref_fast (v.u.obj);
  return v;
}

static inline void
val_unref (Val v)
{
  if (v.tag == V_OBJ)
    rthunk_value_unref (v.u.obj);
}

/* A value as the library sees it (new reference). */
static RthunkValue *
val_box (Val v)
{
  switch (v.tag)
    {
    case V_NIL:   return rthunk_value_new_nil ();
    case V_BOOL:  return rthunk_value_new_bool (v.u.b);
    case V_INT:   return rthunk_value_new_int (v.u.i);
    case V_FLOAT: return rthunk_value_new_float (v.u.f);
    case V_OBJ:   return rthunk_value_ref (v.u.obj);
    case V_RECUR:
    default:      g_assert_not_reached ();
    }
}

/* The unboxed form of @value (borrowed: a new reference for objects). */
static Val
val_unbox (RthunkValue *value)
{
  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_NIL:   return val_nil ();
    case RTHUNK_VALUE_BOOL:  return val_bool (rthunk_value_get_bool (value));
    case RTHUNK_VALUE_INT:   return val_int (rthunk_value_get_int (value));
    case RTHUNK_VALUE_FLOAT: return val_float (rthunk_value_get_float (value));
    case RTHUNK_VALUE_STR:
    case RTHUNK_VALUE_LIST:
    case RTHUNK_VALUE_FUNC:
    case RTHUNK_VALUE_PENDING:
    default:                 return val_obj (rthunk_value_ref (value));
    }
}

/* val_box, consuming @v. */
static RthunkValue *
val_box_take (Val v)
{
  RthunkValue *value = val_box (v);

  val_unref (v);
  return value;
}

/* Same as val_unbox, consuming @value. */
static Val
val_unbox_take (RthunkValue *value)
{
  Val v = val_unbox (value);

  rthunk_value_unref (value);
  return v;
}

static inline gboolean
val_is_pending (Val v)
{
  return v.tag == V_OBJ && rthunk_value_peek_pending (v.u.obj);
}

/* ---- compiled code --------------------------------------------------------- */

typedef struct _Code Code;
typedef struct _Lambda Lambda;
typedef struct _Frame Frame;
typedef struct _State State;

/* Runs @code in @frame: stores an owned value in @out, or returns FALSE with
 * the error in the state. */
typedef gboolean (*CodeFunc) (Code *code, Frame *frame, Val *out);

typedef enum { CAPTURE_SLOT, CAPTURE_CAPTURED } CaptureFrom;

typedef struct
{
  CaptureFrom from;
  guint index;
} Capture;

typedef enum
{
  PRIM_ADD, PRIM_SUB, PRIM_MUL, PRIM_DIV, PRIM_MOD,
  PRIM_LT, PRIM_LE, PRIM_GT, PRIM_GE, PRIM_EQ, PRIM_NE,
  PRIM_NONE,
} Prim;

static const struct
{
  const char *name;
  Prim prim;
} prims[] = {
  { "+", PRIM_ADD }, { "-", PRIM_SUB }, { "*", PRIM_MUL }, { "/", PRIM_DIV },
  { "mod", PRIM_MOD }, { "<", PRIM_LT }, { "<=", PRIM_LE }, { ">", PRIM_GT },
  { ">=", PRIM_GE }, { "=", PRIM_EQ }, { "!=", PRIM_NE },
};

/* Nodes that run() evaluates inline, without calling through @run. */
typedef enum
{
  OP_CALL = 0,     /* anything else: call code->run */
  OP_LOCAL,
  OP_CONST,
  OP_ADD_LK, OP_ADD_LL,
  OP_SUB_LK, OP_SUB_LL,
  OP_MUL_LK, OP_MUL_LL,
} InlineOp;

struct _Code
{
  CodeFunc run;
  InlineOp op;
  RthunkNode *node;            /* for positions; owned */
  Code **kids;                 /* owned */
  guint n_kids;
  guint slot;                  /* LOCAL, CAPTURED, SET, LOOP: first slot;
                                  fast operators: the left operand's */
  guint slot2;                 /* fast operators: the right operand's */
  Prim prim;
  Val constant;                /* CONST; fast operators: the right int */
  char *name;                  /* GLOBAL, DEF, DEFN */
  guint cache_version;         /* GLOBAL: when the cache was filled */
  RthunkValue *cache;          /* GLOBAL: borrowed from the globals table */
  gpointer in_place;           /* CALL_GLOBAL: the cache's closure, when it
                                  can be called in place */
  Lambda *lambda;              /* FN, DEFN */
  char **input_names;          /* REMOTE */
};

struct _Lambda
{
  gint ref_count;
  char *name;
  guint n_params;
  guint n_slots;
  Code *body;
  Capture *captures;
  guint n_captures;
};

/* What a function value's handle points to: a closure or a catalog
 * function, told apart by their first member. */
typedef enum { CALLABLE_CLOSURE = 0x636c6f73, CALLABLE_NATIVE = 0x6e617476 } CallableKind;

typedef struct
{
  CallableKind kind;
  Lambda *lambda;
  Val captured[];
} Closure;

struct _Frame
{
  State *state;
  Val *slots;
  Closure *closure;
};

/* ---- the evaluator ---------------------------------------------------------- */

struct _RthunkEvaluator
{
  GObject parent_instance;

  RthunkCatalog *catalog;
  GHashTable *globals;          /* name → RthunkValue */
  GHashTable *definitions;      /* name → the defn form that bound it */
  guint globals_version;        /* bumped whenever a global is (re)bound */
  guint running;                /* evaluations under way (nested ones too) */
  GPtrArray *retired;           /* values of rebound globals, kept while running */
  RthunkNode *last_form;        /* the last form compiled, */
  Lambda *last_top;             /* its code, */
  GArray *last_consulted;       /* and the globals it depends on (Consulted) */
  guint64 fuel;
  guint max_depth;
  gint64 deadline_us;           /* monotonic; 0 = none */
  guint64 max_bytes;
  GCancellable *cancellable;
  RthunkRemoteFunc remote_func;
  gpointer remote_data;
  GDestroyNotify remote_destroy;
  RthunkServersFunc servers_func;
  gpointer servers_data;
  GDestroyNotify servers_destroy;
  guint64 steps;
};

G_DEFINE_FINAL_TYPE (RthunkEvaluator, rthunk_evaluator, G_TYPE_OBJECT)

struct _State
{
  RthunkEvaluator *ev;
  guint64 fuel_left;            /* not yet handed out as ticks */
  guint ticks;                  /* steps before the next check */
  guint depth;
  const char *stack_base;
  guint64 bytes_used;
  GError *error;
};

struct _RthunkCallContext
{
  State *state;
  RthunkNode *call;
};

static gboolean apply (State *state, RthunkNode *call, RthunkValue *func,
                       Val *args, guint n_args, Val *out);
static gboolean run_args (Code **codes, guint n, Frame *frame, Val *args);
static gboolean prim_int (State *state, RthunkNode *node, Prim prim, gint64 a, gint64 b, Val *out);
static gboolean prim_float (State *state, RthunkNode *node, Prim prim, double a, double b, Val *out);

static gboolean
fail (State       *state,
      RthunkNode  *node,
      RthunkError  code,
      const char  *format,
      ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (State       *state,
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
static gboolean
fail_with (State      *state,
           RthunkNode *node,
           GError     *error)
{
  if (state->error != NULL)
    g_error_free (error);
  else if (strstr (error->message, ": error: ") != NULL)
    state->error = error;
  else
    {
      fail (state, node, error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_EVAL_FAILED,
            "%s", error->message);
      g_error_free (error);
    }
  return FALSE;
}

/* Hands out the next CHECK_EVERY steps of fuel, after checking the fuel,
 * the deadline and cancellation; takes one of them. */
static G_GNUC_NO_INLINE gboolean
step_refill (State      *state,
             RthunkNode *node)
{
  RthunkEvaluator *ev = state->ev;
  guint64 n;

  if (G_UNLIKELY (state->fuel_left == 0))
    return fail (state, node, RTHUNK_ERROR_FUEL_EXHAUSTED,
                 _("evaluation ran out of fuel after %" G_GUINT64_FORMAT " steps"), ev->fuel);
  if (ev->deadline_us > 0 && g_get_monotonic_time () > ev->deadline_us)
    return fail (state, node, RTHUNK_ERROR_DEADLINE_EXCEEDED, _("evaluation ran past its deadline"));
  if (g_cancellable_is_cancelled (ev->cancellable))
    return fail (state, node, RTHUNK_ERROR_CANCELLED, _("evaluation was cancelled"));
  n = MIN (state->fuel_left, CHECK_EVERY);
  state->fuel_left -= n;
  state->ticks = n - 1;
  return TRUE;
}

/* One step: a call or a loop iteration; one counter on the fast path. */
static inline gboolean
step (State      *state,
      RthunkNode *node)
{
  if (G_LIKELY (state->ticks > 0))
    {
      state->ticks--;
      return TRUE;
    }
  return step_refill (state, node);
}

static gboolean
charge (State       *state,
        RthunkNode  *node,
        guint64      bytes)
{
  guint64 max = state->ev->max_bytes;

  if (bytes <= max && state->bytes_used <= max - bytes)
    {
      state->bytes_used += bytes;
      return TRUE;
    }
  return fail (state, node, RTHUNK_ERROR_LIMIT_EXCEEDED,
               _("evaluation would use more than %" G_GUINT64_FORMAT " bytes of memory"), max);
}

/* Waits for a pending value that an operation needs. */
static gboolean force_slow (State *state, RthunkNode *node, Val *v);

static inline gboolean
force (State      *state,
       RthunkNode *node,
       Val        *v)
{
  return G_LIKELY (!val_is_pending (*v)) || force_slow (state, node, v);
}

static G_GNUC_NO_INLINE gboolean
force_slow (State      *state,
            RthunkNode *node,
            Val        *v)
{
  GError *error = NULL;
  RthunkValue *forced;

  forced = rthunk_value_force (v->u.obj, &error);
  val_unref (*v);
  *v = val_nil ();
  if (forced == NULL)
    return fail_with (state, node, error);
  *v = val_unbox_take (forced);
  return TRUE;
}

static gboolean run_const (Code *code, Frame *frame, Val *out);
static gboolean run_local (Code *code, Frame *frame, Val *out);

/* Runs a code node. Locals, constants and int arithmetic on locals, the
 * commonest nodes, are evaluated here without a call. */
G_ALWAYS_INLINE static inline gboolean
run (Code  *code,
     Frame *frame,
     Val   *out)
{
  Val a, b;
  gint64 r;

  switch (code->op)
    {
    case OP_LOCAL:
      val_set (out, val_ref (frame->slots[code->slot]));
      return TRUE;
    case OP_CONST:
      val_set (out, val_ref (code->constant));
      return TRUE;
#define INLINE_ARITH(OP, builtin, RIGHT)                                      \
    case OP:                                                                  \
      a = frame->slots[code->slot];                                           \
      b = RIGHT;                                                              \
      if (G_LIKELY (a.tag == V_INT && b.tag == V_INT) &&                      \
          !builtin (a.u.i, b.u.i, &r))                                        \
        {                                                                     \
          *out = val_int (r);                                                 \
          return TRUE;                                                        \
        }                                                                     \
      break;
    INLINE_ARITH (OP_ADD_LK, __builtin_add_overflow, code->constant)
    INLINE_ARITH (OP_ADD_LL, __builtin_add_overflow, frame->slots[code->slot2])
    INLINE_ARITH (OP_SUB_LK, __builtin_sub_overflow, code->constant)
    INLINE_ARITH (OP_SUB_LL, __builtin_sub_overflow, frame->slots[code->slot2])
    INLINE_ARITH (OP_MUL_LK, __builtin_mul_overflow, code->constant)
    INLINE_ARITH (OP_MUL_LL, __builtin_mul_overflow, frame->slots[code->slot2])
#undef INLINE_ARITH
    case OP_CALL:
    default:
      break;
    }
  return code->run (code, frame, out);
}

static gboolean
run_forced (Code  *code,
            Frame *frame,
            Val   *out)
{
  return run (code, frame, out) && force (frame->state, code->node, out);
}

/* ---- atoms ------------------------------------------------------------------ */

static gboolean
run_const (Code *code, Frame *frame, Val *out)
{
  val_set (out, val_ref (code->constant));
  return TRUE;
}

static gboolean
run_local (Code *code, Frame *frame, Val *out)
{
  val_set (out, val_ref (frame->slots[code->slot]));
  return TRUE;
}

static gboolean
run_captured (Code *code, Frame *frame, Val *out)
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

static gboolean
run_global (Code *code, Frame *frame, Val *out)
{
  RthunkValue *value = lookup_global (code, frame->state);

  if (value == NULL && code->constant.tag == V_OBJ)
    value = code->constant.u.obj;        /* the catalog function of that name */
  if (value == NULL)
    return fail (frame->state, code->node, RTHUNK_ERROR_UNBOUND_NAME,
                 _("“%s” is not defined"), code->name);
  *out = val_unbox (value);
  return TRUE;
}

/* ---- special forms ------------------------------------------------------------ */

static gboolean
run_if (Code *code, Frame *frame, Val *out)
{
  Val cond;

  if (!run (code->kids[0], frame, &cond))
    return FALSE;
  if (G_UNLIKELY (cond.tag != V_BOOL) && !force (frame->state, code->kids[0]->node, &cond))
    return FALSE;
  return run (code->kids[cond.u.b ? 1 : 2], frame, out);
}

static gboolean
run_do (Code *code, Frame *frame, Val *out)
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
static gboolean
run_set (Code *code, Frame *frame, Val *out)
{
  Val v;

  if (!run (code->kids[0], frame, &v))
    return FALSE;
  val_unref (frame->slots[code->slot]);
  val_set (&frame->slots[code->slot], v);
  *out = val_nil ();
  return TRUE;
}

static gboolean
run_logic (Code *code, Frame *frame, Val *out)
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
static gboolean
run_loop (Code *code, Frame *frame, Val *out)
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

static gboolean
run_recur2 (Code *code, Frame *frame, Val *out)
{
  out->tag = V_RECUR;
  return recur2_assign (code, frame);
}

/* In tail position nothing reads the loop variables after recur, so the
 * new values go straight into their slots (from code->slot on). */
static gboolean
run_recur (Code *code, Frame *frame, Val *out)
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

static void lambda_unref (Lambda *lambda);

static void
closure_free (gpointer data)
{
  Closure *closure = data;

  for (guint k = 0; k < closure->lambda->n_captures; k++)
    val_unref (closure->captured[k]);
  lambda_unref (closure->lambda);
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

static gboolean
run_fn (Code *code, Frame *frame, Val *out)
{
  *out = val_obj (make_closure (code->lambda, frame));
  return TRUE;
}

static void
bind_global (RthunkEvaluator *ev,
             const char      *name,
             RthunkValue     *value)
{
  RthunkValue *old = g_hash_table_lookup (ev->globals, name);

  /* a call of the old function may be running: it holds no reference */
  if (old != NULL && ev->running > 0)
    g_ptr_array_add (ev->retired, rthunk_value_ref (old));
  g_hash_table_remove (ev->definitions, name);
  g_hash_table_replace (ev->globals, g_strdup (name), value);
  ev->globals_version++;
}

static gboolean
run_def (Code *code, Frame *frame, Val *out)
{
  if (!run (code->kids[0], frame, out))
    return FALSE;
  bind_global (frame->state->ev, code->name, val_box (*out));
  return TRUE;
}

static gboolean
run_defn (Code *code, Frame *frame, Val *out)
{
  RthunkEvaluator *ev = frame->state->ev;
  RthunkValue *closure = make_closure (code->lambda, frame);

  bind_global (ev, code->name, rthunk_value_ref (closure));
  g_hash_table_replace (ev->definitions, g_strdup (code->name), rthunk_node_ref (code->node));
  *out = val_obj (closure);
  return TRUE;
}

static gboolean
run_await (Code *code, Frame *frame, Val *out)
{
  return run_forced (code->kids[0], frame, out);
}

/* kids: the option values, then the inputs; the names are in the code. */
static gboolean
run_remote (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  RthunkEvaluator *ev = state->ev;
  RthunkNode *form = code->node;
  guint n_options = code->slot;
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) rthunk_value_unref);
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) rthunk_value_unref);
  GError *error = NULL;
  RthunkValue *result;

  if (ev->remote_func == NULL)
    return fail (state, form, RTHUNK_ERROR_CONNECTION,
                 _("no server to evaluate remote expressions (running with --local?)"));
  for (guint k = 0; k < code->n_kids; k++)
    {
      Val v;

      if (!(k < n_options ? run_forced : run) (code->kids[k], frame, &v))
        return FALSE;
      if (k < n_options)
        g_hash_table_replace (options, g_strdup (code->input_names[k]), val_box (v));
      else if (v.tag != V_OBJ || rthunk_value_get_kind (v.u.obj) != RTHUNK_VALUE_FUNC)
        g_hash_table_replace (inputs, g_strdup (code->input_names[k]), val_box (v));
      /* functions travel as definitions, by content address, not as inputs */
      val_unref (v);
    }
  result = ev->remote_func (ev, rthunk_node_get_item (form, rthunk_node_get_n_items (form) - 1),
                            options, inputs, ev->remote_data, &error);
  if (result == NULL)
    return fail_with (state, form, error);
  *out = val_unbox_take (result);
  return TRUE;
}

/* ---- splitting: pmap, psum, preduce --------------------------------------- */

typedef enum { SPLIT_PMAP, SPLIT_PSUM, SPLIT_PREDUCE } SplitKind;

/* How many local arguments each form evaluates here before the inputs. */
static guint
split_locals (SplitKind kind)
{
  return kind == SPLIT_PMAP ? 1 : kind == SPLIT_PSUM ? 2 : 4;
}

static RthunkNode *
sym_at (const char *name,
        RthunkNode *where)
{
  return rthunk_node_set_position (rthunk_node_new_text (RTHUNK_NODE_SYMBOL, name),
                                   rthunk_node_get_source (where),
                                   rthunk_node_get_line (where), rthunk_node_get_col (where));
}

/* (HEAD ARGS…), taking the references of the arguments. */
static RthunkNode *
call_at (RthunkNode  *where,
         const char  *head,
         guint        n,
         ...)
{
  RthunkNode *items[6];
  RthunkNode *node;
  va_list args;

  items[0] = sym_at (head, where);
  va_start (args, n);
  for (guint k = 0; k < n; k++)
    items[k + 1] = va_arg (args, RthunkNode *);
  va_end (args);
  node = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, n + 1);
  rthunk_node_set_position (node, rthunk_node_get_source (where), rthunk_node_get_line (where),
                            rthunk_node_get_col (where));
  for (guint k = 0; k <= n; k++)
    rthunk_node_unref (items[k]);
  return node;
}

/* (ITEMS…) or [ITEMS…] at @where, taking the references of the items. */
static RthunkNode *
seq_at (RthunkNode     *where,
        RthunkNodeKind  kind,
        guint           n,
        ...)
{
  RthunkNode *items[6];
  RthunkNode *node;
  va_list args;

  g_assert (n <= G_N_ELEMENTS (items));
  va_start (args, n);
  for (guint k = 0; k < n; k++)
    items[k] = va_arg (args, RthunkNode *);
  va_end (args);
  node = rthunk_node_new_seq (kind, items, n);
  for (guint k = 0; k < n; k++)
    rthunk_node_unref (items[k]);
  return rthunk_node_set_position (node, rthunk_node_get_source (where), rthunk_node_get_line (where),
                                   rthunk_node_get_col (where));
}

static RthunkNode *
int_at (RthunkNode *where,
        gint64      i)
{
  return rthunk_node_set_position (rthunk_node_new_int (i), rthunk_node_get_source (where),
                                   rthunk_node_get_line (where), rthunk_node_get_col (where));
}

/* What each server evaluates for its chunk:
 *   pmap:    (map F __xs)
 *   psum:    (let [__f F]
 *              (loop [__i (+ __lo 1) __acc (__f __lo)]
 *                (if (< __i __hi) (recur (+ __i 1) (+ __acc (__f __i))) __acc)))
 *   preduce: the same with (__op __acc (__f __i)), __op bound to OP
 * A chunk of a range is generated and reduced as it goes, in constant
 * memory: nothing but the bounds and F travel, and no list is built. */
static RthunkNode *
split_expr (SplitKind   kind,
            RthunkNode *form)
{
  RthunkNode *f = rthunk_node_get_item (form, kind == SPLIT_PREDUCE ? 3 : 1);
  RthunkNode *bindings, *step, *body;

  if (kind == SPLIT_PMAP)
    return call_at (form, "map", 2, rthunk_node_ref (f), sym_at ("__xs", form));
  step = kind == SPLIT_PSUM
    ? call_at (form, "+", 2, sym_at ("__acc", form), call_at (form, "__f", 1, sym_at ("__i", form)))
    : call_at (form, "__op", 2, sym_at ("__acc", form), call_at (form, "__f", 1, sym_at ("__i", form)));
  body = call_at (form, "loop", 2,
                  seq_at (form, RTHUNK_NODE_VECTOR, 4,
                          sym_at ("__i", form), call_at (form, "+", 2, sym_at ("__lo", form), int_at (form, 1)),
                          sym_at ("__acc", form), call_at (form, "__f", 1, sym_at ("__lo", form))),
                  call_at (form, "if", 3,
                           call_at (form, "<", 2, sym_at ("__i", form), sym_at ("__hi", form)),
                           call_at (form, "recur", 2,
                                    call_at (form, "+", 2, sym_at ("__i", form), int_at (form, 1)), step),
                           sym_at ("__acc", form)));
  bindings = kind == SPLIT_PSUM
    ? seq_at (form, RTHUNK_NODE_VECTOR, 2, sym_at ("__f", form), rthunk_node_ref (f))
    : seq_at (form, RTHUNK_NODE_VECTOR, 4, sym_at ("__f", form), rthunk_node_ref (f),
              sym_at ("__op", form), rthunk_node_ref (rthunk_node_get_item (form, 1)));
  return call_at (form, "let", 2, bindings, body);
}

/* The servers a chunk may go to: NULL means "wherever remote goes". */
static GStrv
split_servers (State      *state,
               RthunkNode *expr)
{
  RthunkEvaluator *ev = state->ev;
  GStrv servers;

  if (ev->servers_func == NULL)
    return NULL;
  servers = ev->servers_func (ev, expr, ev->servers_data);
  if (servers != NULL && servers[0] == NULL)
    g_clear_pointer (&servers, g_strfreev);
  return servers;
}

/* Submits one chunk; its value is (usually) pending. */
static gboolean
submit_chunk (State       *state,
              Code        *code,
              RthunkNode  *expr,
              const char  *server,
              GHashTable  *inputs,
              RthunkValue **out)
{
  RthunkEvaluator *ev = state->ev;
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) rthunk_value_unref);
  GError *error = NULL;

  if (server != NULL)
    g_hash_table_insert (options, g_strdup ("on"), rthunk_value_new_str (server));
  *out = ev->remote_func (ev, expr, options, inputs, ev->remote_data, &error);
  return *out != NULL || fail_with (state, code->node, error);
}

/* The values of the names F (and OP) read here, as for remote. */
static gboolean
split_inputs (Code        *code,
              Frame       *frame,
              guint        first,
              GHashTable  *inputs)
{
  for (guint k = first; k < code->n_kids; k++)
    {
      Val v;

      if (!run (code->kids[k], frame, &v))
        return FALSE;
      if (v.tag != V_OBJ || rthunk_value_get_kind (v.u.obj) != RTHUNK_VALUE_FUNC)
        g_hash_table_replace (inputs, g_strdup (code->input_names[k - first]), val_box (v));
      val_unref (v);
    }
  return TRUE;
}

/* Cuts the work in one chunk per server and submits every chunk at once. */
static gboolean
submit_chunks (State      *state,
               Code       *code,
               Frame      *frame,
               Val        *locals,
               GPtrArray  *parts)
{
  SplitKind kind = (SplitKind) code->slot;
  g_autoptr(RthunkNode) expr = split_expr (kind, code->node);
  g_auto(GStrv) servers = split_servers (state, expr);
  guint n = servers != NULL ? g_strv_length (servers) : 1;
  guint first = split_locals (kind);
  gint64 lo = 0, hi = 0, total;

  if (kind == SPLIT_PMAP)
    total = rthunk_value_get_length (locals[0].u.obj);
  else
    {
      lo = locals[first - 2].u.i;
      hi = locals[first - 1].u.i;
      total = hi > lo ? hi - lo : 0;
    }
  n = MAX (1, (guint) MIN ((gint64) n, MAX (total, 1)));
  for (guint c = 0; c < n; c++)
    {
      g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            (GDestroyNotify) rthunk_value_unref);
      gint64 from = total * c / n, to = total * (c + 1) / n;
      RthunkValue *part;

      if (!split_inputs (code, frame, first, inputs))
        return FALSE;
      if (kind == SPLIT_PMAP)
        {
          RthunkValue **items = g_new (RthunkValue *, MAX (to - from, 1));

          for (gint64 k = from; k < to; k++)
            items[k - from] = rthunk_value_ref (rthunk_value_get_item (locals[0].u.obj, k));
          g_hash_table_insert (inputs, g_strdup ("__xs"), rthunk_value_new_list_take (items, to - from));
        }
      else
        {
          if (from == to)
            continue;
          g_hash_table_insert (inputs, g_strdup ("__lo"), rthunk_value_new_int (lo + from));
          g_hash_table_insert (inputs, g_strdup ("__hi"), rthunk_value_new_int (lo + to));
        }
      if (!submit_chunk (state, code, expr, servers != NULL ? servers[c] : NULL, inputs, &part))
        return FALSE;
      g_ptr_array_add (parts, part);
    }
  return TRUE;
}

/* Joins the chunks' results, in order. */
static gboolean
merge_parts (State      *state,
             Code       *code,
             Val        *locals,
             GPtrArray  *parts,
             Val        *out)
{
  SplitKind kind = (SplitKind) code->slot;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  Val acc = kind == SPLIT_PREDUCE ? val_ref (locals[1]) : val_int (0);

  for (guint k = 0; k < parts->len; k++)
    {
      Val part = val_unbox (g_ptr_array_index (parts, k));
      Val args[2];

      if (!force (state, code->node, &part))
        goto failed;
      if (kind == SPLIT_PMAP)
        for (gsize i = 0; i < rthunk_value_get_length (part.u.obj); i++)
          g_ptr_array_add (items, rthunk_value_ref (rthunk_value_get_item (part.u.obj, i)));
      else if (kind == SPLIT_PSUM && k == 0)
        acc = val_ref (part);
      else
        {
          /* psum adds, preduce applies OP, both here */
          args[0] = acc;
          args[1] = val_ref (part);
          if (kind == SPLIT_PSUM)
            {
              if (acc.tag == V_INT && part.tag == V_INT)
                {
                  if (!prim_int (state, code->node, PRIM_ADD, acc.u.i, part.u.i, &acc))
                    goto failed;
                }
              else if (!prim_float (state, code->node, PRIM_ADD, acc.u.f, part.u.f, &acc))
                goto failed;
            }
          else if (!apply (state, code->node, locals[0].u.obj, args, 2, &acc))
            {
              val_unref (part);
              return FALSE;
            }
        }
      val_unref (part);
      continue;
failed:
      val_unref (part);
      val_unref (acc);
      return FALSE;
    }
  if (kind == SPLIT_PMAP)
    *out = val_obj (rthunk_value_new_list ((RthunkValue **) items->pdata, items->len));
  else
    *out = acc;
  return TRUE;
}

/* kids: the local arguments (XS; or LO HI; or OP INIT LO HI), then the
 * inputs of F (and OP); code->prim is the SplitKind. */
static gboolean
run_split (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  guint n_locals = split_locals ((SplitKind) code->slot);
  Val locals[4] = { { V_NIL }, { V_NIL }, { V_NIL }, { V_NIL } };
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  gboolean ok = TRUE;

  if (state->ev->remote_func == NULL)
    return fail (state, code->node, RTHUNK_ERROR_CONNECTION,
                 _("no server to split the work across (running with --local?)"));
  for (guint k = 0; k < n_locals && ok; k++)
    ok = run_forced (code->kids[k], frame, &locals[k]);
  if (ok)
    ok = submit_chunks (state, code, frame, locals, parts) &&
         merge_parts (state, code, locals, parts, out);
  for (guint k = 0; k < n_locals; k++)
    val_unref (locals[k]);
  return ok;
}

static gboolean
run_vector (Code *code, Frame *frame, Val *out)
{
  g_autoptr(GPtrArray) items = NULL;

  if (!charge (frame->state, code->node, (guint64) code->n_kids * sizeof (gpointer) + 32))
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
        return fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in +"));
      break;
    case PRIM_SUB:
      if (__builtin_sub_overflow (a, b, &r))
        return fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in -"));
      break;
    case PRIM_MUL:
      if (__builtin_mul_overflow (a, b, &r))
        return fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in *"));
      break;
    case PRIM_DIV:
    case PRIM_MOD:
      if (b == 0)
        return fail (state, node, RTHUNK_ERROR_DIVISION_BY_ZERO,
                     prim == PRIM_DIV ? _("division by zero") : _("modulo by zero"));
      if (a == G_MININT64 && b == -1)
        return fail (state, node, RTHUNK_ERROR_OVERFLOW, _("integer overflow in division"));
      r = prim == PRIM_DIV ? a / b : a % b;
      break;
    case PRIM_LT: *out = val_bool (a < b); return TRUE;
    case PRIM_LE: *out = val_bool (a <= b); return TRUE;
    case PRIM_GT: *out = val_bool (a > b); return TRUE;
    case PRIM_GE: *out = val_bool (a >= b); return TRUE;
    case PRIM_EQ: *out = val_bool (a == b); return TRUE;
    case PRIM_NE: *out = val_bool (a != b); return TRUE;
    default:      g_assert_not_reached ();
    }
  *out = val_int (r);
  return TRUE;
}

static gboolean
prim_float (State      *state,
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
        return fail (state, node, RTHUNK_ERROR_DIVISION_BY_ZERO, _("modulo by zero"));
      *out = val_float (fmod (a, b));
      return TRUE;
    case PRIM_LT: *out = val_bool (a < b); return TRUE;
    case PRIM_LE: *out = val_bool (a <= b); return TRUE;
    case PRIM_GT: *out = val_bool (a > b); return TRUE;
    case PRIM_GE: *out = val_bool (a >= b); return TRUE;
    case PRIM_EQ: *out = val_bool (a == b); return TRUE;
    case PRIM_NE: *out = val_bool (a != b); return TRUE;
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
      return fail (state, code->node, RTHUNK_ERROR_TYPE_MISMATCH,
                   _("arithmetic needs two ints or two floats"));
    }
}

static gboolean
run_prim (Code *code, Frame *frame, Val *out)
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
    return prim_float (state, code->node, code->prim, a.u.f, b.u.f, out);
  ok = force (state, code->kids[0]->node, &a) && force (state, code->kids[1]->node, &b);
  if (ok)
    {
      if (a.tag == V_INT && b.tag == V_INT)
        ok = prim_int (state, code->node, code->prim, a.u.i, b.u.i, out);
      else if (a.tag == V_FLOAT && b.tag == V_FLOAT)
        ok = prim_float (state, code->node, code->prim, a.u.f, b.u.f, out);
      else
        ok = prim_general (state, code, a, b, out);
    }
  val_unref (a);
  val_unref (b);
  return ok;
}

/* Operators whose left operand is a local and whose right operand is a
 * local or an int constant — (< n 2), (- n 1), (+ acc i) — with the int
 * case inline and everything else left to run_prim. */
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
    return run_prim (code, frame, out);                                      \
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
    return run_prim (code, frame, out);                                      \
  }

#define DEFINE_OPERATOR_PAIR(suffix, what)                                   \
  DEFINE_ARITH (run_add_##suffix, __builtin_add_overflow, what)              \
  DEFINE_ARITH (run_sub_##suffix, __builtin_sub_overflow, what)              \
  DEFINE_ARITH (run_mul_##suffix, __builtin_mul_overflow, what)              \
  DEFINE_COMPARE (run_lt_##suffix, <, what)                                  \
  DEFINE_COMPARE (run_le_##suffix, <=, what)                                 \
  DEFINE_COMPARE (run_gt_##suffix, >, what)                                  \
  DEFINE_COMPARE (run_ge_##suffix, >=, what)                                 \
  DEFINE_COMPARE (run_eq_##suffix, ==, what)                                 \
  DEFINE_COMPARE (run_ne_##suffix, !=, what)

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
      return run_if (code, frame, out);                                      \
    if (a.u.i op b.u.i)         /* two dispatches, each predicted apart */   \
      return run (code->kids[1], frame, out);                                \
    return run (code->kids[2], frame, out);                                  \
  }
#define IF_CONST (cond->constant)
#define IF_LOCAL (frame->slots[cond->slot2])
DEFINE_IF_COMPARE (run_if_lt_lk, <, IF_CONST)
DEFINE_IF_COMPARE (run_if_le_lk, <=, IF_CONST)
DEFINE_IF_COMPARE (run_if_gt_lk, >, IF_CONST)
DEFINE_IF_COMPARE (run_if_ge_lk, >=, IF_CONST)
DEFINE_IF_COMPARE (run_if_eq_lk, ==, IF_CONST)
DEFINE_IF_COMPARE (run_if_ne_lk, !=, IF_CONST)
DEFINE_IF_COMPARE (run_if_lt_ll, <, IF_LOCAL)
DEFINE_IF_COMPARE (run_if_le_ll, <=, IF_LOCAL)
DEFINE_IF_COMPARE (run_if_gt_ll, >, IF_LOCAL)
DEFINE_IF_COMPARE (run_if_ge_ll, >=, IF_LOCAL)
DEFINE_IF_COMPARE (run_if_eq_ll, ==, IF_LOCAL)
DEFINE_IF_COMPARE (run_if_ne_ll, !=, IF_LOCAL)

static const struct { CodeFunc compare; CodeFunc fused; } fused_ifs[] = {
  { run_lt_lk, run_if_lt_lk }, { run_le_lk, run_if_le_lk }, { run_gt_lk, run_if_gt_lk },
  { run_ge_lk, run_if_ge_lk }, { run_eq_lk, run_if_eq_lk }, { run_ne_lk, run_if_ne_lk },
  { run_lt_ll, run_if_lt_ll }, { run_le_ll, run_if_le_ll }, { run_gt_ll, run_if_gt_ll },
  { run_ge_ll, run_if_ge_ll }, { run_eq_ll, run_if_eq_ll }, { run_ne_ll, run_if_ne_ll },
};

/* The fused form of an if whose condition is a fast comparison. */
static CodeFunc
specialize_if (Code *cond)
{
  for (guint k = 0; k < G_N_ELEMENTS (fused_ifs); k++)
    if (cond->run == fused_ifs[k].compare)
      return fused_ifs[k].fused;
  return run_if;
}

static gboolean
is_fused_if (Code *code)
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
    case PRIM_LT: return a < b;
    case PRIM_LE: return a <= b;
    case PRIM_GT: return a > b;
    case PRIM_GE: return a >= b;
    case PRIM_EQ: return a == b;
    case PRIM_NE: return a != b;
    default:      g_assert_not_reached ();
    }
}

/* A loop whose body is a fused if, (loop [...] (if (< i n) (recur ...) x)),
 * the commonest loop: the test is made here, and a recur of two values in
 * either branch runs here too, without a signal to the loop.  Any other
 * branch is left to the plain loop. */
static gboolean
run_loop_if (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  Code *test = code->kids[code->n_kids - 1];
  Code *cond = test->kids[0];
  const Val *a = &frame->slots[cond->slot];
  const Val *b = cond->kids[1]->run == run_const ? &cond->constant : &frame->slots[cond->slot2];

  if (!loop_init (code, frame))
    return FALSE;
  for (;;)
    {
      Code *branch = test;      /* anything but two ints: the if decides */

      if (G_LIKELY (a->tag == V_INT && b->tag == V_INT))
        branch = test->kids[int_compare (cond->prim, a->u.i, b->u.i) ? 1 : 2];
      if (branch->run != run_recur2)
        return loop_from (code, branch, frame, out);
      if (!recur2_assign (branch, frame) || !step (state, code->node))
        return FALSE;
    }
}

/* The inline form of an arithmetic node, if it has one. */
static InlineOp
inline_op (Code *code)
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

/* The specialised form of an operator node, or its generic run_prim. */
static CodeFunc
specialize_prim (Code *code)
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

  if (code->prim == PRIM_DIV || code->prim == PRIM_MOD || left->run != run_local)
    return run_prim;
  if (right->run == run_local)
    return ll[code->prim];
  if (right->run == run_const && right->constant.tag == V_INT)
    return lk[code->prim];
  return run_prim;
}

static gboolean
run_not (Code *code, Frame *frame, Val *out)
{
  Val v;

  if (!run_forced (code->kids[0], frame, &v))
    return FALSE;
  *out = val_bool (!v.u.b);
  return TRUE;
}

/* ---- calls -------------------------------------------------------------------- */

typedef struct _Native Native;

/* A catalog function of the standard library run on unboxed values: its
 * arguments are forced and borrowed.  It may hand the call on to the
 * boxed function (call_native_boxed) for the cases it does not cover. */
#define FAST_ARGS State *state, RthunkNode *call, const Native *native, \
                  Val *args, guint n_args, Val *out
typedef gboolean (*NativeFast) (FAST_ARGS);

struct _Native
{
  CallableKind kind;
  RthunkFuncDef *def;
  NativeFast fast;              /* or NULL */
  Prim prim;                    /* an operator's, for native_prim */
  guint variant;                /* which of the functions that share @fast */
};

static void
native_free (gpointer data)
{
  Native *native = data;

  rthunk_func_def_unref (native->def);
  g_free (native);
}

/* Calls the catalog function with boxed arguments (forced, borrowed). */
static gboolean
call_native_boxed (State        *state,
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
  if (result == NULL)
    return fail_with (state, call, error);
  *out = val_unbox_take (result);
  return TRUE;
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
  if (native->fast != NULL)
    return native->fast (state, call, native, args, n_args, out);
  return call_native_boxed (state, call, native, args, n_args, out);
}

static gboolean
call_closure (State      *state,
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
      ok = fail (state, call, RTHUNK_ERROR_TYPE_MISMATCH,
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
    return fail (state, call, RTHUNK_ERROR_LIMIT_EXCEEDED,
                 _("calls nest deeper than %u levels"), state->ev->max_depth);
  if ((gsize) (state->stack_base > &here ? state->stack_base - &here : &here - state->stack_base) > STACK_BUDGET)
    return fail (state, call, RTHUNK_ERROR_LIMIT_EXCEEDED, _("evaluation nests too deeply"));
  return TRUE;
}

/* Calls @func with @args, which it consumes. */
static gboolean
apply (State       *state,
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
    ok = call_closure (state, call, handle, args, n_args, out);
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
static gboolean
run_call (Code *code, Frame *frame, Val *out)
{
  guint n_args = code->n_kids - 1;
  Val small[8];
  Val *args = n_args <= G_N_ELEMENTS (small) ? small : g_new (Val, n_args);
  Val func;
  gboolean ok = FALSE;

  if (!run_forced (code->kids[0], frame, &func))
    goto out;
  if (run_args (code->kids + 1, n_args, frame, args))
    ok = apply (frame->state, code->node, func.u.obj, args, n_args, out);
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
    ok = fail (frame->state, code->node, RTHUNK_ERROR_UNBOUND_NAME,
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
      /* no reference: a global rebound meanwhile is kept (bind_global) */
      if (forced.tag == V_NIL)
        code->in_place = rthunk_value_peek_handle (func);
      ok = call_in_place (code, frame, rthunk_value_peek_handle (func), out);
    }
  else if (func != NULL && run_args (code->kids, n_args, frame, args))
    ok = apply (frame->state, code->node, func, args, n_args, out);
  val_unref (forced);
  if (args != small)
    g_free (args);
  return ok;
}

static gboolean
run_call_global (Code *code, Frame *frame, Val *out)
{
  if (G_LIKELY (code->in_place != NULL && code->cache_version == frame->state->ev->globals_version))
    return call_in_place (code, frame, code->in_place, out);
  return call_global_slow (code, frame, out);
}

/* ---- the standard library on unboxed values ----------------------------------
 *
 * Operators passed as values, even?/odd?, and map, filter and reduce, which
 * call their function on each element without boxing it: a list of ints
 * stays unboxed (rthunk_value_new_int_list_take()) from range to reduce.
 * Fuel, depth, memory and errors are as in the boxed functions. */

static gboolean
native_prim (FAST_ARGS)
{
  if (n_args == 2 && args[0].tag == V_INT && args[1].tag == V_INT)
    return prim_int (state, call, native->prim, args[0].u.i, args[1].u.i, out);
  return call_native_boxed (state, call, native, args, n_args, out);
}

/* even?, or odd? when native->variant is 1 */
static gboolean
native_even (FAST_ARGS)
{
  if (n_args != 1 || args[0].tag != V_INT)
    return call_native_boxed (state, call, native, args, n_args, out);
  *out = val_bool ((args[0].u.i % 2 != 0) == (native->variant == 1));
  return TRUE;
}

/* A list made element by element: unboxed while every element is an int. */
typedef struct
{
  gint64 *ints;
  RthunkValue **items;
  gsize len;
  gsize cap;
} ListBuilder;

static void
builder_init (ListBuilder *builder,
              gsize        cap)
{
  builder->ints = g_new (gint64, MAX (cap, 1));
  builder->items = NULL;
  builder->len = 0;
  builder->cap = cap;
}

/* Adds @v, which it consumes. */
static void
builder_add (ListBuilder *builder,
             Val          v)
{
  g_assert (builder->len < builder->cap);
  if (G_LIKELY (builder->ints != NULL && v.tag == V_INT))
    {
      builder->ints[builder->len++] = v.u.i;
      return;
    }
  if (builder->ints != NULL)
    {
      builder->items = g_new (RthunkValue *, MAX (builder->cap, 1));
      for (gsize k = 0; k < builder->len; k++)
        builder->items[k] = rthunk_value_new_int (builder->ints[k]);
      g_clear_pointer (&builder->ints, g_free);
    }
  builder->items[builder->len++] = val_box_take (v);
}

static Val
builder_finish (ListBuilder *builder)
{
  if (builder->ints != NULL)
    return val_obj (rthunk_value_new_int_list_take (builder->ints, builder->len));
  return val_obj (rthunk_value_new_list_take (builder->items, builder->len));
}

static void
builder_clear (ListBuilder *builder)
{
  if (builder->items != NULL)
    for (gsize k = 0; k < builder->len; k++)
      rthunk_value_unref (builder->items[k]);
  g_free (builder->items);
  g_free (builder->ints);
}

/* A list argument, read element by element. */
typedef struct
{
  RthunkValue *list;
  const gint64 *ints;           /* when it is a list of ints */
  gsize n;
} ListArg;

static inline ListArg
list_arg (Val v)
{
  ListArg arg = { v.u.obj, rthunk_value_peek_ints (v.u.obj), rthunk_value_peek_length (v.u.obj) };

  return arg;
}

/* Element @k (a new reference for an object). */
static inline Val
list_item (const ListArg *xs,
           gsize          k)
{
  return xs->ints != NULL ? val_int (xs->ints[k]) : val_unbox (rthunk_value_get_item (xs->list, k));
}

/* map, or filter when native->variant is 1: args are a function and a
 * list. */
static gboolean
native_map (FAST_ARGS)
{
  ListArg xs = list_arg (args[1]);
  gboolean filter = native->variant == 1;
  ListBuilder builder;

  if (!charge (state, call, (guint64) xs.n * sizeof (gpointer) + 32))
    return FALSE;
  builder_init (&builder, xs.n);
  for (gsize k = 0; k < xs.n; k++)
    {
      Val arg = list_item (&xs, k), v;

      if (!apply (state, call, args[0].u.obj, &arg, 1, &v) || (filter && !force (state, call, &v)))
        {
          builder_clear (&builder);
          return FALSE;
        }
      if (!filter)
        builder_add (&builder, v);
      else if (v.u.b)
        builder_add (&builder, list_item (&xs, k));
    }
  *out = builder_finish (&builder);
  return TRUE;
}

/* args: a function, the initial value, a list. */
static gboolean
native_reduce (FAST_ARGS)
{
  ListArg xs = list_arg (args[2]);
  Val acc = val_ref (args[1]);

  for (gsize k = 0; k < xs.n; k++)
    {
      Val pair[2];

      val_set (&pair[0], acc);
      val_set (&pair[1], list_item (&xs, k));
      if (!apply (state, call, args[0].u.obj, pair, 2, &acc))
        return FALSE;
    }
  val_set (out, acc);
  return TRUE;
}

static const struct
{
  const char *name;
  NativeFast fast;
  guint variant;
} natives_fast[] = {
  { "map", native_map, 0 }, { "filter", native_map, 1 }, { "reduce", native_reduce, 0 },
  { "even?", native_even, 0 }, { "odd?", native_even, 1 },
};

/* The function value of a catalog function; the standard library's own
 * get their unboxed forms. */
static RthunkValue *
new_native (RthunkFuncDef *def)
{
  Native *native = g_new0 (Native, 1);
  const char *name = rthunk_func_def_get_name (def);

  native->kind = CALLABLE_NATIVE;
  native->def = rthunk_func_def_ref (def);
  native->prim = PRIM_NONE;
  if (rthunk_stdlib_owns (def))
    {
      for (guint k = 0; k < G_N_ELEMENTS (prims); k++)
        if (strcmp (name, prims[k].name) == 0)
          {
            native->fast = native_prim;
            native->prim = prims[k].prim;
          }
      for (guint k = 0; k < G_N_ELEMENTS (natives_fast); k++)
        if (strcmp (name, natives_fast[k].name) == 0)
          {
            native->fast = natives_fast[k].fast;
            native->variant = natives_fast[k].variant;
          }
    }
  return rthunk_value_new_func (name, native, native_free);
}

/* ---- compiling ---------------------------------------------------------------- */

static Code *
code_new (CodeFunc    run_func,
          RthunkNode *node,
          guint       n_kids)
{
  Code *code = g_new0 (Code, 1);

  code->run = run_func;
  code->node = rthunk_node_ref (node);
  code->n_kids = n_kids;
  code->kids = n_kids > 0 ? g_new0 (Code *, n_kids) : NULL;
  code->constant = val_nil ();
  return code;
}

static void
code_free (Code *code)
{
  if (code == NULL)
    return;
  for (guint k = 0; k < code->n_kids; k++)
    code_free (code->kids[k]);
  g_free (code->kids);
  rthunk_node_unref (code->node);
  val_unref (code->constant);
  g_free (code->name);
  if (code->lambda != NULL)
    lambda_unref (code->lambda);
  g_strfreev (code->input_names);
  g_free (code);
}

static void
lambda_unref (Lambda *lambda)
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

typedef struct
{
  RthunkEvaluator *ev;
  FnCtx *fn;
  guint loop_slot;              /* first slot of the innermost loop */
  GArray *consulted;            /* Consulted: the globals whose being bound the code
                                   depends on, NULL for none */
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
      code = code_new (run_local, node, 0);
      code->op = OP_LOCAL;
      code->slot = index;
      return code;
    case NAME_CAPTURED:
      code = code_new (run_captured, node, 0);
      code->slot = index;
      return code;
    case NAME_GLOBAL:
    default:
      code = code_new (run_global, node, 0);
      code->name = g_strdup (name);
      if ((def = catalog_native (c, name)) != NULL)
        code->constant = val_obj (new_native (def));
      return code;
    }
}

static Code *
compile_const (RthunkNode *node,
               Val         v)
{
  Code *code = code_new (run_const, node, 0);

  code->op = OP_CONST;
  code->constant = v;
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
  return compile_kids (c, run_do, form, first);
}

/* (let [a 1 b 2] body…): sets then the body, all in one do. */
static Code *
compile_let (Compiler *c, RthunkNode *form)
{
  RthunkNode *pairs = rthunk_node_get_item (form, 1);
  guint n_pairs = rthunk_node_get_n_items (pairs) / 2;
  guint n_body = rthunk_node_get_n_items (form) - 2;
  Scope *saved = c->fn->scope;
  Code *code = code_new (run_do, form, n_pairs + n_body);

  for (guint k = 0; k < n_pairs; k++)
    {
      Code *set = code_new (run_set, rthunk_node_get_item (pairs, 2 * k), 1);

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
  Code *code = code_new (run_loop, form, n_vars + 1);

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
  if (is_fused_if (code->kids[n_vars]))
    code->run = run_loop_if;
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
  Lambda *lambda = g_new0 (Lambda, 1);
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
  Code *code = code_new (run_fn, form, 0);

  code->lambda = compile_lambda (c, "fn", form, 1);
  return code;
}

static Code *
compile_defn (Compiler *c, RthunkNode *form)
{
  const char *name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  Code *code = code_new (run_defn, form, 0);

  code->name = g_strdup (name);
  code->lambda = compile_lambda (c, name, form, 2);
  return code;
}

static Code *
compile_def (Compiler *c, RthunkNode *form)
{
  Code *code = code_new (run_def, form, 1);

  code->name = g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, 1)));
  code->kids[0] = compile (c, rthunk_node_get_item (form, 2));
  return code;
}

static Code *
compile_if (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, run_if, form, 1);

  code->run = specialize_if (code->kids[0]);
  return code;
}

static Code *
compile_do (Compiler *c, RthunkNode *form)
{
  return compile_kids (c, run_do, form, 1);
}

static Code *
compile_logic (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, run_logic, form, 1);

  code->slot = rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "and");
  return code;
}

static Code *
compile_recur (Compiler *c, RthunkNode *form)
{
  Code *code = compile_kids (c, run_recur, form, 1);

  if (code->n_kids == 2)
    code->run = run_recur2;
  code->slot = c->loop_slot;
  return code;
}

static Code *
compile_await (Compiler *c, RthunkNode *form)
{
  return compile_kids (c, run_await, form, 1);
}

/* The names @node reads that are bound around it: what travels with it. */
static void
collect_symbols (RthunkNode *node,
                 GPtrArray  *names)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (node);

      for (guint k = 0; k < names->len; k++)
        if (strcmp (g_ptr_array_index (names, k), name) == 0)
          return;
      g_ptr_array_add (names, (gpointer) name);
      return;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    collect_symbols (rthunk_node_get_item (node, k), names);
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

/* (remote [:key value | :flag]… EXPR): kids are the option values (true
 * for a flag), then the inputs; input_names has the option names, then
 * the inputs' names; slot is the number of options. */
static Code *
compile_remote (Compiler *c, RthunkNode *form)
{
  guint n = rthunk_node_get_n_items (form);
  RthunkNode *expr = rthunk_node_get_item (form, n - 1);
  g_autoptr(GPtrArray) symbols = g_ptr_array_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  guint n_options;
  Code *code;

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
  for (guint k = 0; k < symbols->len; k++)
    if (is_bound (c, g_ptr_array_index (symbols, k)))
      {
        RthunkNode *ref = rthunk_node_set_position (rthunk_node_new_text (RTHUNK_NODE_SYMBOL,
                                                                          g_ptr_array_index (symbols, k)),
                                                    rthunk_node_get_source (expr),
                                                    rthunk_node_get_line (expr), rthunk_node_get_col (expr));

        g_ptr_array_add (names, g_ptr_array_index (symbols, k));
        g_ptr_array_add (values, ref);
      }
  code = code_new (run_remote, form, names->len);
  code->slot = n_options;
  code->input_names = g_new0 (char *, names->len + 1);
  for (guint k = 0; k < names->len; k++)
    {
      code->input_names[k] = g_strdup (g_ptr_array_index (names, k));
      code->kids[k] = compile (c, g_ptr_array_index (values, k));
    }
  return code;
}

/* (pmap F XS), (psum F LO HI), (preduce OP INIT F LO HI). */
static Code *
compile_split (Compiler   *c,
               RthunkNode *form,
               SplitKind   kind)
{
  guint n_locals = split_locals (kind);
  g_autoptr(GPtrArray) symbols = g_ptr_array_new ();
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  static const guint local_items[3][4] = { { 2 }, { 2, 3 }, { 1, 2, 4, 5 } };
  Code *code;

  collect_symbols (rthunk_node_get_item (form, kind == SPLIT_PREDUCE ? 3 : 1), symbols);
  if (kind == SPLIT_PREDUCE)
    collect_symbols (rthunk_node_get_item (form, 1), symbols);
  for (guint k = 0; k < symbols->len; k++)
    if (is_bound (c, g_ptr_array_index (symbols, k)))
      g_ptr_array_add (inputs, g_ptr_array_index (symbols, k));
  code = code_new (run_split, form, n_locals + inputs->len);
  code->slot = kind;
  for (guint k = 0; k < n_locals; k++)
    code->kids[k] = compile (c, rthunk_node_get_item (form, local_items[kind][k]));
  code->input_names = g_new0 (char *, inputs->len + 1);
  for (guint k = 0; k < inputs->len; k++)
    {
      g_autoptr(RthunkNode) ref = sym_at (g_ptr_array_index (inputs, k), form);

      code->input_names[k] = g_strdup (g_ptr_array_index (inputs, k));
      code->kids[n_locals + k] = compile (c, ref);
    }
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

typedef Code *(*FormCompiler) (Compiler *c, RthunkNode *form);

static const struct
{
  const char *name;
  FormCompiler compile;
} special_forms[] = {
  { "pmap", compile_pmap },
  { "psum", compile_psum },
  { "preduce", compile_preduce },
  { "if", compile_if },
  { "do", compile_do },
  { "and", compile_logic },
  { "or", compile_logic },
  { "let", compile_let },
  { "fn", compile_fn },
  { "def", compile_def },
  { "defn", compile_defn },
  { "loop", compile_loop },
  { "recur", compile_recur },
  { "remote", compile_remote },
  { "await", compile_await },
};

/* Whether @name still means the standard library's own function of that
 * name here (a provider may have replaced it: then it is called). */
static gboolean
is_catalog_name (Compiler   *c,
                 const char *name)
{
  RthunkFuncDef *def;

  return !is_bound (c, name) && (def = catalog_native (c, name)) != NULL && rthunk_stdlib_owns (def);
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
    return compile_kids (c, run_not, form, 1);
  if (n_args != 2)
    return NULL;
  for (guint k = 0; k < G_N_ELEMENTS (prims); k++)
    if (strcmp (name, prims[k].name) == 0)
      {
        code = compile_kids (c, run_prim, form, 1);
        code->prim = prims[k].prim;
        code->run = specialize_prim (code);
        code->op = inline_op (code);
        if (code->run != run_prim)
          {
            /* the operands, read without going through the kids */
            code->slot = code->kids[0]->slot;
            code->slot2 = code->kids[1]->slot;
            if (code->kids[1]->constant.tag == V_INT)
              code->constant = code->kids[1]->constant;
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
  guint index;
  Code *code;

  if (rthunk_node_get_kind (head) == RTHUNK_NODE_SYMBOL)
    {
      const char *name = rthunk_node_get_text (head);
      RthunkFuncDef *def;

      for (guint k = 0; k < G_N_ELEMENTS (special_forms); k++)
        if (strcmp (name, special_forms[k].name) == 0)
          return special_forms[k].compile (c, form);
      if ((code = compile_operator (c, form, name, n_args)) != NULL)
        return code;
      if (resolve (c->fn, name, &index) == NAME_GLOBAL)
        {
          code = compile_kids (c, run_call_global, form, 1);
          code->name = g_strdup (name);
          if ((def = catalog_native (c, name)) != NULL)
            code->constant = val_obj (new_native (def));
          return code;
        }
    }
  return compile_kids (c, run_call, form, 0);
}

static Code *
compile (Compiler   *c,
         RthunkNode *node)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:    return compile_const (node, val_int (rthunk_node_get_int (node)));
    case RTHUNK_NODE_FLOAT:  return compile_const (node, val_float (rthunk_node_get_float (node)));
    case RTHUNK_NODE_BOOL:   return compile_const (node, val_bool (rthunk_node_get_bool (node)));
    case RTHUNK_NODE_NIL:    return compile_const (node, val_nil ());
    case RTHUNK_NODE_STR:    return compile_const (node, val_obj (rthunk_value_new_str (rthunk_node_get_text (node))));
    case RTHUNK_NODE_SYMBOL: return compile_symbol (c, node);
    case RTHUNK_NODE_VECTOR: return compile_kids (c, run_vector, node, 0);
    case RTHUNK_NODE_LIST:   return compile_list (c, node);
    case RTHUNK_NODE_KEYWORD:
    default:                 g_assert_not_reached ();
    }
}

/* The form as the body of a function of no parameters. */
static Lambda *
compile_top (RthunkEvaluator  *ev,
             RthunkNode       *form,
             GArray          **consulted)
{
  Compiler c = { ev, NULL, 0, NULL };
  FnCtx fn = { NULL, NULL, 0, NULL, NULL };
  Lambda *lambda = g_new0 (Lambda, 1);

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

/* @form's code: compiled now, or (the same form again: a request the
 * server's memo gave the same tree) the code compiled last time. Code
 * that reads a global finds it when it runs (by globals_version); what
 * compiling looked at is whether some names were bound (an operator a
 * global shadows), so the code is kept with those names. */
static Lambda *
compiled_top (RthunkEvaluator *ev,
              RthunkNode      *form)
{
  GArray *consulted = NULL;
  Lambda *top;

  if (ev->last_form == form && same_globals (ev, ev->last_consulted))
    {
      g_atomic_int_inc (&ev->last_top->ref_count);
      return ev->last_top;
    }
  top = compile_top (ev, form, &consulted);
  g_clear_pointer (&ev->last_form, rthunk_node_unref);
  g_clear_pointer (&ev->last_top, lambda_unref);
  g_clear_pointer (&ev->last_consulted, g_array_unref);
  ev->last_form = rthunk_node_ref (form);
  ev->last_top = top;
  ev->last_consulted = consulted;
  g_atomic_int_inc (&top->ref_count);
  return top;
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

/* Forgets the remote and servers hooks, freeing their data. */
static void
drop_hooks (RthunkEvaluator *self)
{
  if (self->remote_destroy != NULL)
    self->remote_destroy (self->remote_data);
  if (self->servers_destroy != NULL)
    self->servers_destroy (self->servers_data);
  self->remote_func = NULL;
  self->remote_data = NULL;
  self->remote_destroy = NULL;
  self->servers_func = NULL;
  self->servers_data = NULL;
  self->servers_destroy = NULL;
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
  g_clear_pointer (&self->last_form, rthunk_node_unref);
  g_clear_pointer (&self->last_top, lambda_unref);
  g_clear_pointer (&self->last_consulted, g_array_unref);
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

static void
rthunk_evaluator_init (RthunkEvaluator *self)
{
  self->globals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) rthunk_value_unref);
  self->definitions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) rthunk_node_unref);
  self->retired = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
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
  clear_table (self->definitions);
  g_ptr_array_set_size (self->retired, 0);
  self->globals_version++;
  set_default_limits (self);
  self->steps = 0;
  return TRUE;
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

  bind_global (evaluator, name, rthunk_value_ref (value));
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
  char base;
  State state;
  Lambda *top;
  Closure closure = { CALLABLE_CLOSURE, NULL };
  Val out = val_nil ();
  gboolean ok;

  g_return_val_if_fail (RTHUNK_IS_EVALUATOR (evaluator), NULL);
  g_return_val_if_fail (form != NULL, NULL);

  state_init (&state, evaluator, &base);
  top = compiled_top (evaluator, form);
  closure.lambda = top;
  evaluator->running++;
  ok = call_closure (&state, form, &closure, NULL, 0, &out);
  if (--evaluator->running == 0)
    g_ptr_array_set_size (evaluator->retired, 0);
  lambda_unref (top);
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
 * rthunk_evaluator_get_steps:
 * @evaluator: an evaluator
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
      if (!step (state, context->call))
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
       apply (state, context->call, f.u.obj, vals, n_args, &out);
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

  if (charge (context->state, context->call, bytes))
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

  if (evaluator->servers_destroy != NULL)
    evaluator->servers_destroy (evaluator->servers_data);
  evaluator->servers_func = func;
  evaluator->servers_data = user_data;
  evaluator->servers_destroy = destroy;
}
