/* rthunk-eval-split.c — pmap, psum and preduce: the work cut in one chunk
 * per server, submitted at once, and the chunks' results joined
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-error.h"
#include "rthunk-eval-private.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

/* ---- splitting: pmap, psum, preduce --------------------------------------- */

/* How many local arguments each form evaluates here before the inputs. */
guint
rthunk_eval_split_locals (SplitKind kind)
{
  return kind == SPLIT_PMAP ? 1 : kind == SPLIT_PSUM ? 2 : 4;
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
  g_autoptr(GHashTable) options = rthunk_eval_value_table_new ();
  GError *error = NULL;

  if (server != NULL)
    g_hash_table_insert (options, g_strdup ("on"), rthunk_value_new_str (server));
  *out = ev->remote_func (ev, expr, options, inputs, ev->remote_data, &error);
  return *out != NULL || rthunk_eval_fail_with (state, code->node, error);
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
  guint first = rthunk_eval_split_locals (kind);
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
      g_autoptr(GHashTable) inputs = rthunk_eval_value_table_new ();
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
                  if (!rthunk_eval_prim_int (state, code->node, PRIM_ADD, acc.u.i, part.u.i, &acc))
                    goto failed;
                }
              else if (!rthunk_eval_prim_float (state, code->node, PRIM_ADD, acc.u.f, part.u.f, &acc))
                goto failed;
            }
          else if (!rthunk_eval_apply (state, code->node, locals[0].u.obj, args, 2, &acc))
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
gboolean
rthunk_eval_run_split (Code *code, Frame *frame, Val *out)
{
  State *state = frame->state;
  guint n_locals = rthunk_eval_split_locals ((SplitKind) code->slot);
  Val locals[4] = { { V_NIL }, { V_NIL }, { V_NIL }, { V_NIL } };
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  gboolean ok = TRUE;

  if (state->ev->remote_func == NULL)
    return rthunk_eval_fail (state, code->node, RTHUNK_ERROR_CONNECTION,
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

