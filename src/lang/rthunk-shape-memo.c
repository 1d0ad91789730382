/* rthunk-shape-memo.c — what was worked out for the last forms, by shape
 *
 * A script's lines, or a REPL's, come in a few shapes that differ in their
 * literals: `(await (remote (concat s (str 1000))))`, then the same with
 * 1001. What depends only on a form's shape, on its literals' kinds (an
 * int is not a float) and on a few things outside the form can be kept
 * for the last RTHUNK_SHAPE_MEMO_FORMS forms and given to a form of one
 * of those shapes with the same things outside: the checker keeps types
 * this way (a string's text is part of the shape there: a provided
 * function's type may depend on it), a session the cells a form reads.
 */
#include "config.h"

#include <string.h>

#include "rthunk-core-private.h"
#include "rthunk-lang-private.h"

static void
entry_clear (RthunkShapeMemo      *memo,
             RthunkShapeMemoEntry *entry)
{
  g_clear_pointer (&entry->form, rthunk_node_unref);
  g_clear_pointer (&entry->value, memo->value_free);
  g_clear_object (&entry->key.object);
}

void
rthunk_shape_memo_clear (RthunkShapeMemo *memo)
{
  while (memo->n > 0)
    entry_clear (memo, &memo->entries[--memo->n]);
}

/* Which literals the shape of @data (an entry) leaves open: numbers and
 * booleans, and strings unless their texts are part of it. */
static gboolean
literal_open (RthunkNode *template,
              RthunkNode *node,
              guint       index,
              gpointer    data)
{
  const RthunkShapeMemoEntry *entry = data;

  return !entry->texts || rthunk_node_get_kind (template) != RTHUNK_NODE_STR;
}

gpointer
rthunk_shape_memo_find (RthunkShapeMemo          *memo,
                        RthunkNode               *form,
                        const RthunkShapeMemoKey *key)
{
  guint shape;

  if (memo->n == 0)
    return NULL;
  shape = rthunk_node_shape_hash (form);
  for (guint k = 0; k < memo->n; k++)
    {
      RthunkShapeMemoEntry *entry = &memo->entries[k];

      if (entry->shape != shape || entry->key.object != key->object ||
          memcmp (entry->key.words, key->words, sizeof key->words) != 0 ||
          (entry->form != form && !rthunk_node_same_but_literals (entry->form, form, NULL, literal_open, entry)))
        continue;
      rthunk_array_raise (memo->entries, sizeof memo->entries[0], k);
      memo->hits++;
      return memo->entries[0].value;
    }
  return NULL;
}

void
rthunk_shape_memo_keep (RthunkShapeMemo          *memo,
                        RthunkNode               *form,
                        const RthunkShapeMemoKey *key,
                        gpointer                  value,
                        gboolean                  texts)
{
  if (memo->n == RTHUNK_SHAPE_MEMO_FORMS)
    entry_clear (memo, &memo->entries[--memo->n]);
  memo->entries[memo->n] = (RthunkShapeMemoEntry) {
    rthunk_node_ref (form), rthunk_node_shape_hash (form), *key, value, texts,
  };
  if (key->object != NULL)
    g_object_ref (key->object);
  rthunk_array_raise (memo->entries, sizeof memo->entries[0], memo->n++);
}
