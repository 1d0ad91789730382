/* rthunk-bindings.c — a submission's inputs by name, as its thunk keeps
 * them
 *
 * A request names a few inputs, most often one: the values it binds, and
 * the thunks whose values it waits for (promise pipelining). Its thunk
 * keeps each kind until it no longer needs them. A GHashTable with its
 * own copy of each name took five allocations and as many frees for one
 * input, a tenth of what a link of a pipelined chain cost the server;
 * these pairs, their names copied behind them, take one. They are read
 * in order (bound, counted, waited for) or sorted by name (the result
 * cache's key); the request's names were found distinct before they
 * came here, so nothing looks a name up.
 */
#include "config.h"

#include <string.h>

#include "rthunk-bindings.h"

typedef struct
{
  const char *name;             /* in the names behind the pairs */
  gpointer item;
} Pair;

struct _RthunkBindings
{
  gatomicrefcount ref_count;
  guint len;
  guint capacity;
  GDestroyNotify item_free;
  char *next_name;              /* where the next name is copied */
  const char *names_end;
  Pair pairs[];
};

/* @capacity pairs at most, whose names (each with its NUL) take
 * @name_bytes at most; @item_free drops an item. */
RthunkBindings *
rthunk_bindings_new (guint          capacity,
                     gsize          name_bytes,
                     GDestroyNotify item_free)
{
  gsize size = sizeof (RthunkBindings) + capacity * sizeof (Pair) + name_bytes;
  RthunkBindings *self = g_malloc (size);

  g_atomic_ref_count_init (&self->ref_count);
  self->len = 0;
  self->capacity = capacity;
  self->item_free = item_free;
  self->next_name = (char *) &self->pairs[capacity];
  self->names_end = (const char *) self + size;
  return self;
}

RthunkBindings *
rthunk_bindings_ref (RthunkBindings *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rthunk_bindings_unref (RthunkBindings *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  for (guint k = 0; k < self->len; k++)
    self->item_free (self->pairs[k].item);
  g_free (self);
}

/* Appends @name (copied) bound to @item (taken). */
void
rthunk_bindings_add (RthunkBindings *self,
                     const char     *name,
                     gpointer        item)
{
  gsize n = strlen (name) + 1;

  g_assert (self->len < self->capacity && self->next_name + n <= self->names_end);
  memcpy (self->next_name, name, n);
  self->pairs[self->len++] = (Pair) { self->next_name, item };
  self->next_name += n;
}

guint
rthunk_bindings_len (const RthunkBindings *self)
{
  return self->len;
}

const char *
rthunk_bindings_name (const RthunkBindings *self,
                      guint                 k)
{
  return self->pairs[k].name;
}

gpointer
rthunk_bindings_item (const RthunkBindings *self,
                      guint                 k)
{
  return self->pairs[k].item;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  const RthunkBindings *self = user_data;

  return strcmp (self->pairs[*(const guint *) a].name, self->pairs[*(const guint *) b].name);
}

/* The positions of the pairs, their names in strcmp() order: free with
 * g_free(). */
guint *
rthunk_bindings_by_name (const RthunkBindings *self)
{
  guint *order = g_new (guint, MAX (self->len, 1));

  for (guint k = 0; k < self->len; k++)
    order[k] = k;
  g_qsort_with_data (order, (gint) self->len, sizeof (guint), compare_names, (gpointer) self);
  return order;
}
