/* rthunk-eval-record.c — the runners of records: {:k v …}, (:k r),
 * (get r :k), (assoc r :k v)
 *
 * The checker has made sure every record read has the field; a record
 * that arrived without it (a bound input) fails with an evaluation error.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-error.h"
#include "rthunk-eval-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* {:k1 v1 …}: the kids are the values as written; code->constant is the
 * template record (rthunk-eval-compile.c): field k takes kid number
 * (the template's item k). */
gboolean
rthunk_eval_run_record (Code *code, Frame *frame, Val *out)
{
  RthunkValue *template = code->constant.u.obj;
  g_autofree RthunkValue **values = NULL;
  g_autofree RthunkValue **fields = NULL;
  gboolean ok = TRUE;
  guint n = code->n_kids;
  guint done = 0;

  if (!rthunk_eval_charge (frame->state, code->node, (guint64) n * 2 * sizeof (gpointer) + 32))
    return FALSE;
  values = g_new (RthunkValue *, MAX (n, 1));
  fields = g_new (RthunkValue *, MAX (n, 1));
  for (; ok && done < n; done++)
    {
      Val v;

      if ((ok = run (code->kids[done], frame, &v)))
        values[done] = val_box_take (v);
    }
  if (ok)
    {
      for (guint k = 0; k < n; k++)
        fields[k] = values[rthunk_value_get_int (rthunk_value_get_item (template, k))];
      *out = val_obj (rthunk_value_new_like (template, fields));
    }
  for (guint k = 0; k < done - (ok ? 0 : 1); k++)
    rthunk_value_unref (values[k]);
  return ok;
}

/* The record kids[0] evaluates to, forced, and the index of field
 * code->name in it. */
static gboolean
run_record_field (Code   *code,
                  Frame  *frame,
                  Val    *record,
                  gssize *index)
{
  if (!run_forced (code->kids[0], frame, record))
    return FALSE;
  if (record->tag == V_OBJ && rthunk_value_get_kind (record->u.obj) == RTHUNK_VALUE_RECORD &&
      (*index = rthunk_value_find_field (record->u.obj, code->name)) >= 0)
    return TRUE;
  val_unref (*record);
  return rthunk_eval_fail (frame->state, code->node, RTHUNK_ERROR_EVAL_FAILED,
                           _("the value has no field “:%s”"), code->name);
}

/* (:k r), (get r :k): kids[0] is the record, code->name the field. */
gboolean
rthunk_eval_run_field (Code *code, Frame *frame, Val *out)
{
  Val record;
  gssize index;

  if (!run_record_field (code, frame, &record, &index))
    return FALSE;
  *out = val_unbox (rthunk_value_get_item (record.u.obj, index));
  val_unref (record);
  return TRUE;
}

/* (assoc r :k v): kids[0] the record, kids[1] the new value. */
gboolean
rthunk_eval_run_assoc (Code *code, Frame *frame, Val *out)
{
  Val record, v;
  gssize index;
  RthunkValue *value;

  if (!run_record_field (code, frame, &record, &index))
    return FALSE;
  if (!rthunk_eval_charge (frame->state, code->node,
                           (guint64) rthunk_value_get_length (record.u.obj) * 2 * sizeof (gpointer) + 32) ||
      !run (code->kids[1], frame, &v))
    {
      val_unref (record);
      return FALSE;
    }
  value = val_box_take (v);
  *out = val_obj (rthunk_value_record_assoc (record.u.obj, index, value));
  rthunk_value_unref (value);
  val_unref (record);
  return TRUE;
}
