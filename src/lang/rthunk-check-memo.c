/* rthunk-check-memo.c — the types of the last forms a checker checked, by shape
 *
 * A script's lines, or a REPL's, come in a few shapes that differ in their
 * literals: `(await (remote (concat s (str 1000))))`, then the same with
 * 1001. Their type depends on the shape, on the literals' kinds (an int is
 * not a float), on the text of a string literal (a provided function's
 * type may depend on it), on the names bound in the checker and on the
 * catalogs; not on the value of a number. The checker keeps the type of
 * each of the last RTHUNK_CHECK_MEMO_FORMS forms it checked with what it
 * depended on, and a form of one of those shapes, checked again with
 * nothing changed, gets that type without a walk of inference. Kept only
 * for a ground type (no variable) of a form that bound nothing: a def or
 * defn binds its name, and must be checked to do so.
 */
#include "config.h"

#include <string.h>

#include "rthunk-check-private.h"
#include "rthunk-core-private.h"
#include "rthunk-lang-private.h"

static void
entry_clear (RthunkCheckMemoEntry *entry)
{
  g_clear_pointer (&entry->form, rthunk_node_unref);
  g_clear_pointer (&entry->type, rthunk_type_unref);
  g_clear_object (&entry->key.remote);
}

void
rthunk_check_memo_clear (RthunkCheckMemo *memo)
{
  while (memo->n > 0)
    entry_clear (&memo->entries[--memo->n]);
}

/* Numbers and booleans are the literals a shape leaves open; a string's
 * text is part of it. */
static gboolean
number_in_slot (RthunkNode *template,
                RthunkNode *node,
                guint       index,
                gpointer    data)
{
  return rthunk_node_get_kind (template) != RTHUNK_NODE_STR;
}

static gboolean
same_key (const RthunkCheckMemoKey *a,
          const RthunkCheckMemoKey *b)
{
  return a->globals == b->globals && a->catalog == b->catalog && a->remote == b->remote &&
         a->remote_version == b->remote_version && a->remote_allowed == b->remote_allowed;
}

RthunkType *
rthunk_check_memo_find (RthunkCheckMemo          *memo,
                        RthunkNode               *form,
                        const RthunkCheckMemoKey *key)
{
  guint shape;

  if (memo->n == 0)
    return NULL;
  shape = rthunk_node_shape_hash (form);
  for (guint k = 0; k < memo->n; k++)
    {
      RthunkCheckMemoEntry *entry = &memo->entries[k];

      if (entry->shape != shape || !same_key (&entry->key, key) ||
          (entry->form != form && !rthunk_node_same_but_literals (entry->form, form, NULL, number_in_slot, NULL)))
        continue;
      rthunk_array_raise (memo->entries, sizeof memo->entries[0], k);
      memo->hits++;
      return rthunk_type_ref (memo->entries[0].type);
    }
  return NULL;
}

/* Whether @type has no variable: one to share between checks. */
static gboolean
is_ground (RthunkType *type)
{
  if (rthunk_type_get_kind (type) == RTHUNK_TYPE_VAR)
    return FALSE;
  for (guint k = 0; k < rthunk_type_get_n_children (type); k++)
    if (!is_ground (rthunk_type_get_child (type, k)))
      return FALSE;
  return TRUE;
}

void
rthunk_check_memo_keep (RthunkCheckMemo          *memo,
                        RthunkNode               *form,
                        const RthunkCheckMemoKey *key,
                        RthunkType               *type)
{
  if (!is_ground (type))
    return;
  if (memo->n == RTHUNK_CHECK_MEMO_FORMS)
    entry_clear (&memo->entries[--memo->n]);
  memo->entries[memo->n] = (RthunkCheckMemoEntry) {
    rthunk_node_ref (form), rthunk_node_shape_hash (form), rthunk_type_ref (type), *key,
  };
  if (key->remote != NULL)
    g_object_ref (key->remote);
  rthunk_array_raise (memo->entries, sizeof memo->entries[0], memo->n++);
}
