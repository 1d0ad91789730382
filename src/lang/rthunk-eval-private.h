/* rthunk-eval-private.h — what the files of the evaluator share, never
 * installed: unboxed values, compiled code, the evaluator's state, and the
 * helpers of the hot path, kept inline */
#pragma once

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-budget.h"
#include "rthunk-eval.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define CHECK_EVERY 1024

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
static inline RthunkValue *
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
static inline Val
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
static inline RthunkValue *
val_box_take (Val v)
{
  RthunkValue *value = val_box (v);

  val_unref (v);
  return value;
}

/* Same as val_unbox, consuming @value. */
static inline Val
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
typedef struct _EvalPatches EvalPatches;
typedef struct _EvalPlaces EvalPlaces;

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

typedef struct
{
  const char *name;
  Prim prim;
} PrimName;

/* The operators of the standard library, by name (rthunk-eval-compile.c). */
G_GNUC_INTERNAL extern const PrimName rthunk_eval_prims[PRIM_NONE];

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
  char **input_names;          /* REMOTE, SPLIT */
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

/* The code of a form compiled lately (rthunk_eval_compiled_top()). */
typedef struct
{
  RthunkNode *form;             /* the form, */
  Lambda *top;                  /* its code, */
  GArray *consulted;            /* the globals it depends on (Consulted), */
  guint catalog_version;        /* the catalog it was compiled against, */
  guint shape;                  /* a hash of its form's shape, */
  EvalPatches *patches;         /* where its literals went, if a form of the same
                                   shape may reuse the code (NULL: it may not), */
  EvalPlaces *places;           /* and which node of the form each of its codes
                                   holds, made when it is first reused (NULL
                                   until then) */
} EvalCode;

struct _RthunkEvaluator
{
  GObject parent_instance;

  RthunkCatalog *catalog;
  GHashTable *globals;          /* name → RthunkValue */
  GHashTable *definitions;      /* name → the defn form that bound it */
  gboolean definitions_shared;  /* @definitions was handed out: copy before
                                   changing it (rthunk_eval_definitions_to_change()) */
  guint globals_version;        /* bumped whenever a global is (re)bound */
  guint running;                /* evaluations under way (nested ones too) */
  GPtrArray *retired;           /* values of rebound globals, kept while running */
  EvalCode codes[RTHUNK_EVAL_CODES]; /* the last forms compiled, the latest first */
  guint n_codes;
  guint64 compiled;             /* forms compiled, not reused */
  guint64 fuel;
  guint max_depth;
  gint64 deadline_us;           /* monotonic; 0 = none */
  guint64 max_bytes;
  RthunkBudget *budget;         /* (nullable) the server's, charged too */
  GCancellable *cancellable;
  RthunkRemoteFunc remote_func;
  gpointer remote_data;
  GDestroyNotify remote_destroy;
  GHashTable *no_options;       /* the empty options of every `(remote EXPR)`:
                                   one table, not one a form */
  RthunkServersFunc servers_func;
  gpointer servers_data;
  GDestroyNotify servers_destroy;
  RthunkPlaceFunc place_func;   /* where `(auto …)` runs; NULL: here */
  RthunkMeasuredFunc measured_func;
  gpointer place_data;
  guint64 steps;
  gboolean print_sink;          /* print goes to the bounded sink (servers) */
  gsize printed;                /* bytes printed by the evaluation under way */
};

struct _State
{
  RthunkEvaluator *ev;
  guint64 fuel_left;            /* not yet handed out as ticks */
  guint ticks;                  /* steps before the next check */
  guint depth;
  const char *stack_base;
  gsize stack_budget;           /* bytes of C stack it may use from there */
  guint64 bytes_used;
  guint64 budget_held;          /* charged to ev->budget, released at the end */
  guint pure_only;              /* > 0: inside rthunk_call_context_apply_pure() */
  GError *error;
};

struct _RthunkCallContext
{
  State *state;
  RthunkNode *call;
};

/* ---- splitting: pmap, psum, preduce (rthunk-eval-split.c) --------------- */

typedef enum { SPLIT_PMAP, SPLIT_PSUM, SPLIT_PREDUCE } SplitKind;

/* A symbol at the position of @where: the split forms compile and send it. */
static inline RthunkNode *
sym_at (const char *name,
        RthunkNode *where)
{
  return rthunk_node_set_position (rthunk_node_new_text (RTHUNK_NODE_SYMBOL, name),
                                   rthunk_node_get_source (where),
                                   rthunk_node_get_line (where), rthunk_node_get_col (where));
}

/* ---- calls (rthunk-eval-run.c) ----------------------------------------------- */

typedef struct _Native Native;

/* Fails unless @def may be called here: inside
 * rthunk_call_context_apply_pure() only pure catalog functions may. */
gboolean rthunk_eval_check_pure (State         *state,
                                 RthunkNode    *call,
                                 RthunkFuncDef *def);

/* A catalog function of the standard library run on unboxed values: its
 * arguments are forced and borrowed.  It may hand the call on to the
 * boxed function (rthunk_eval_call_native_boxed) for the cases it does not cover. */
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

/* rthunk-eval.c: errors and limits */
G_GNUC_INTERNAL gboolean rthunk_eval_fail (State       *state,
                                           RthunkNode  *node,
                                           RthunkError  code,
                                           const char  *format,
                                           ...) G_GNUC_PRINTF (4, 5);
G_GNUC_INTERNAL gboolean rthunk_eval_fail_with (State *state, RthunkNode *node, GError *error);

/* What a call out of the evaluator gave (a native function's result, a
 * remote form's pending value, a forced value), taken into *@out; or, for
 * %NULL, the error it set in *@error, taken as the evaluation's at @node. */
static inline gboolean
take_result (State        *state,
             RthunkNode   *node,
             RthunkValue  *result,
             GError      **error,
             Val          *out)
{
  if (result == NULL)
    return rthunk_eval_fail_with (state, node, *error);
  *out = val_unbox_take (result);
  return TRUE;
}
G_GNUC_INTERNAL GHashTable *rthunk_eval_value_table_new (void);
G_GNUC_INTERNAL G_GNUC_NO_INLINE gboolean rthunk_eval_step_refill (State *state, RthunkNode *node);
G_GNUC_INTERNAL gboolean rthunk_eval_charge (State *state, RthunkNode *node, guint64 bytes);
G_GNUC_INTERNAL G_GNUC_NO_INLINE gboolean rthunk_eval_force_slow (State *state, RthunkNode *node,
                                                                  Val *v);

/* rthunk-eval-compile.c */
G_GNUC_INTERNAL void rthunk_eval_lambda_unref (Lambda *lambda);
G_GNUC_INTERNAL void rthunk_eval_forget_top (RthunkEvaluator *ev);
G_GNUC_INTERNAL Lambda *rthunk_eval_compiled_top (RthunkEvaluator *ev, RthunkNode *form);
G_GNUC_INTERNAL Lambda *rthunk_eval_kept_top (RthunkEvaluator *ev, RthunkNode *form, RthunkEvalKept **kept);

/* rthunk-eval-run.c: the runners of the compiled code */
G_GNUC_INTERNAL gboolean rthunk_eval_run_const (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_local (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_captured (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_global (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_if (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_do (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_set (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_logic (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_loop (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_recur (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_recur2 (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_fn (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_def (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_defn (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_await (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_remote (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_auto (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_vector (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_record (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_field (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_assoc (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_prim (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_not (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_loop_if (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_call (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_run_call_global (Code *code, Frame *frame, Val *out);
G_GNUC_INTERNAL GHashTable *rthunk_eval_definitions_to_change (RthunkEvaluator *ev);
G_GNUC_INTERNAL void rthunk_eval_bind_global (RthunkEvaluator *ev, const char *name,
                                              RthunkValue *value);
G_GNUC_INTERNAL gboolean rthunk_eval_prim_int (State *state, RthunkNode *node, Prim prim,
                                               gint64 a, gint64 b, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_prim_float (State *state, RthunkNode *node, Prim prim,
                                                 double a, double b, Val *out);
G_GNUC_INTERNAL CodeFunc rthunk_eval_specialize_if (Code *cond);
G_GNUC_INTERNAL gboolean rthunk_eval_is_fused_if (Code *code);
G_GNUC_INTERNAL InlineOp rthunk_eval_inline_op (Code *code);
G_GNUC_INTERNAL CodeFunc rthunk_eval_specialize_prim (Code *code);
G_GNUC_INTERNAL gboolean rthunk_eval_call_native_boxed (State *state, RthunkNode *call,
                                                        const Native *native,
                                                        Val *args, guint n_args, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_call_closure (State *state, RthunkNode *call, Closure *closure,
                                                   Val *args, guint n_args, Val *out);
G_GNUC_INTERNAL gboolean rthunk_eval_apply (State *state, RthunkNode *call, RthunkValue *func,
                                            Val *args, guint n_args, Val *out);

/* rthunk-eval-split.c */
G_GNUC_INTERNAL guint rthunk_eval_split_locals (SplitKind kind);
G_GNUC_INTERNAL G_GNUC_INTERNAL gboolean rthunk_eval_run_split (Code *code, Frame *frame, Val *out);

/* rthunk-eval-unboxed.c */
G_GNUC_INTERNAL RthunkValue *rthunk_eval_new_native (RthunkFuncDef *def);

/* ---- the hot path, inline in every file -------------------------------------- */

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
  return rthunk_eval_step_refill (state, node);
}

/* Waits for a pending value that an operation needs. */
static inline gboolean
force (State      *state,
       RthunkNode *node,
       Val        *v)
{
  return G_LIKELY (!val_is_pending (*v)) || rthunk_eval_force_slow (state, node, v);
}

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

static inline gboolean
run_forced (Code  *code,
            Frame *frame,
            Val   *out)
{
  return run (code, frame, out) && force (frame->state, code->node, out);
}

G_END_DECLS
