/* rthunk-eval-unboxed.c — the standard library on unboxed values
 */
#include "config.h"

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-eval-private.h"
#include "rthunk-lang-private.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* ---- the standard library on unboxed values ----------------------------------
 *
 * Operators passed as values, even?/odd?, and map, filter and reduce, which
 * call their function on each element without boxing it: a list of ints
 * stays unboxed (rthunk_value_new_int_list_take()) from range to reduce.
 * Fuel, depth, memory and errors are as in the boxed functions. */

static void
native_free (gpointer data)
{
  Native *native = data;

  rthunk_func_def_unref (native->def);
  g_free (native);
}

static gboolean
native_prim (FAST_ARGS)
{
  if (n_args == 2 && args[0].tag == V_INT && args[1].tag == V_INT)
    return rthunk_eval_prim_int (state, call, native->prim, args[0].u.i, args[1].u.i, out);
  return rthunk_eval_call_native_boxed (state, call, native, args, n_args, out);
}

/* even?, or odd? when native->variant is 1 */
static gboolean
native_even (FAST_ARGS)
{
  if (n_args != 1 || args[0].tag != V_INT)
    return rthunk_eval_call_native_boxed (state, call, native, args, n_args, out);
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

  if (!rthunk_eval_charge (state, call, (guint64) xs.n * sizeof (gpointer) + 32))
    return FALSE;
  builder_init (&builder, xs.n);
  for (gsize k = 0; k < xs.n; k++)
    {
      Val arg = list_item (&xs, k), v;

      if (!rthunk_eval_apply (state, call, args[0].u.obj, &arg, 1, &v) || (filter && !force (state, call, &v)))
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
      if (!rthunk_eval_apply (state, call, args[0].u.obj, pair, 2, &acc))
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
RthunkValue *
rthunk_eval_new_native (RthunkFuncDef *def)
{
  Native *native = g_new0 (Native, 1);
  const char *name = rthunk_func_def_get_name (def);

  native->kind = CALLABLE_NATIVE;
  native->def = rthunk_func_def_ref (def);
  native->prim = PRIM_NONE;
  if (rthunk_func_def_is_stdlib (def))
    {
      for (guint k = 0; k < G_N_ELEMENTS (rthunk_eval_prims); k++)
        if (strcmp (name, rthunk_eval_prims[k].name) == 0)
          {
            native->fast = native_prim;
            native->prim = rthunk_eval_prims[k].prim;
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
