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

/* {:k1 v1 …}: the kids are the values, code->input_names their names. */
gboolean
rthunk_eval_run_record (Code *code, Frame *frame, Val *out)
{
  g_autoptr(GPtrArray) values = NULL;
  RthunkValue *record;

  if (!rthunk_eval_charge (frame->state, code->node, (guint64) code->n_kids * 2 * sizeof (gpointer) + 32))
    return FALSE;
  values = g_ptr_array_new_full (code->n_kids, (GDestroyNotify) rthunk_value_unref);
  for (guint k = 0; k < code->n_kids; k++)
    {
      Val v;

      if (!run (code->kids[k], frame, &v))
        return FALSE;
      g_ptr_array_add (values, val_box_take (v));
    }
  record = rthunk_value_new_record ((const char *const *) code->input_names,
                                    (RthunkValue **) values->pdata, values->len);
  g_assert (record != NULL);        /* the checker refuses a repeated name */
  *out = val_obj (record);
  return TRUE;
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
