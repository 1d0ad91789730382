/* rthunk-state-store.c — named, typed state cells a server holds
 *
 * A table of cells under the store's lock, each cell with a lock of its
 * own: the table lock is held only to find or add a cell, so updates of
 * different cells run in parallel. A cell's value is immutable and
 * refcounted; an update computes the new value with the cell locked and
 * swaps the pointer, so a reader sees the old value or the new one.
 *
 * With a file, a saver thread writes every cell (value and type) after
 * updates, at most every SAVE_BATCH_MS: off the request path, batched.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-state-store.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-type-private.h"

/* How long the saver waits after an update for more to save with it. */
#define SAVE_BATCH_MS 50

typedef struct
{
  GMutex lock;
  char *name;
  RthunkValue *value;           /* (lock) never NULL */
  RthunkType *type;             /* (lock) fixed by the first use */
} Cell;

struct _RthunkStateStore
{
  gatomicrefcount ref_count;
  GMutex lock;
  GHashTable *cells;            /* (lock) name → Cell */
  guint next_var;               /* (lock) type variables of list types */
  gint64 updates;               /* atomic */
  char *path;                   /* NULL: in memory only */
  GCond changed;
  gboolean dirty;               /* (lock) an update is unsaved */
  gboolean saving;              /* (lock) a save is being written */
  gboolean stopping;            /* (lock) the saver ends */
  GThread *saver;
};

static void
cell_free (gpointer data)
{
  Cell *cell = data;

  g_mutex_clear (&cell->lock);
  g_free (cell->name);
  rthunk_value_unref (cell->value);
  rthunk_type_unref (cell->type);
  g_free (cell);
}

/* The type of @value, or NULL with @error naming cell @name. */
static RthunkType *
type_of (RthunkStateStore  *self,
         const char        *name,
         RthunkValue       *value,
         GError           **error)
{
  RthunkType *type;
  guint next_var;

  g_mutex_lock (&self->lock);
  next_var = self->next_var;
  self->next_var += 1024;
  g_mutex_unlock (&self->lock);
  type = rthunk_type_of_value (value, &next_var, error);
  if (type == NULL)
    g_prefix_error (error, _("state cell “%s”: "), name);
  return type;
}

/* Wakes the saver: a cell is new or changed. */
static void
mark_dirty (RthunkStateStore *self)
{
  if (self->path == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->dirty = TRUE;
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
}

/* The cell @name, or NULL. */
static Cell *
find_cell (RthunkStateStore *self,
           const char       *name)
{
  Cell *cell;

  g_mutex_lock (&self->lock);
  cell = g_hash_table_lookup (self->cells, name);
  g_mutex_unlock (&self->lock);
  return cell;
}

/* Adds the cell @name holding @value; the one there if another thread
 * added it first. */
static Cell *
add_cell (RthunkStateStore *self,
          const char       *name,
          RthunkValue      *value,
          RthunkType       *type)
{
  Cell *cell;

  g_mutex_lock (&self->lock);
  if ((cell = g_hash_table_lookup (self->cells, name)) == NULL)
    {
      cell = g_new0 (Cell, 1);
      g_mutex_init (&cell->lock);
      cell->name = g_strdup (name);
      cell->value = rthunk_value_ref (value);
      cell->type = rthunk_type_ref (type);
      g_hash_table_insert (self->cells, cell->name, cell);
    }
  g_mutex_unlock (&self->lock);
  return cell;
}

/* The cell @name, made holding @initial (of the type it fixes) if it is
 * new; NULL with @error set if @initial has no type. Cells are never
 * removed while the store lives. */
static Cell *
get_cell (RthunkStateStore  *self,
          const char        *name,
          RthunkValue       *initial,
          GError           **error)
{
  g_autoptr(RthunkType) type = NULL;
  Cell *cell = find_cell (self, name);

  if (cell != NULL)
    return cell;
  if ((type = type_of (self, name, initial, error)) == NULL)
    return NULL;
  cell = add_cell (self, name, initial, type);
  mark_dirty (self);
  return cell;
}

/* Whether @value has @cell's type (with @cell locked); if not, @error
 * names the cell and both types. */
static gboolean
check_type (RthunkStateStore  *self,
            Cell              *cell,
            RthunkValue       *value,
            GError           **error)
{
  g_autoptr(RthunkType) type = type_of (self, cell->name, value, error);
  g_autoptr(RthunkType) want = NULL;
  g_autoptr(RthunkType) got = NULL;
  g_autofree char *want_text = NULL;
  g_autofree char *got_text = NULL;

  if (type == NULL)
    return FALSE;
  if (rthunk_type_unify (cell->type, type))
    return TRUE;
  want = rthunk_type_resolve (cell->type);
  got = rthunk_type_resolve (type);
  want_text = rthunk_type_to_string (want);
  got_text = rthunk_type_to_string (got);
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
               _("state cell “%s” holds %s, not %s: a cell's type is fixed by its first use"),
               cell->name, want_text, got_text);
  return FALSE;
}

/* Puts @value in @cell (locked) and has it saved. */
static void
set_value (RthunkStateStore *self,
           Cell             *cell,
           RthunkValue      *value)
{
  RthunkValue *old = cell->value;

  cell->value = rthunk_value_ref (value);
  rthunk_value_unref (old);
  __atomic_add_fetch (&self->updates, 1, __ATOMIC_RELAXED);
  mark_dirty (self);
}

/* ---- the functions ---------------------------------------------------------- */

#define ARGS RTHUNK_NATIVE_ARGS

/* The cell NAME (args[0]), made holding DEFAULT (args[1]) if it is new,
 * locked, once DEFAULT is found of its type; NULL with @error if not. */
static Cell *
lock_cell (RthunkStateStore    *self,
           RthunkValue *const  *args,
           GError             **error)
{
  Cell *cell = get_cell (self, rthunk_value_get_str (args[0]), args[1], error);

  if (cell == NULL)
    return NULL;
  g_mutex_lock (&cell->lock);
  if (check_type (self, cell, args[1], error))
    return cell;
  g_mutex_unlock (&cell->lock);
  return NULL;
}

/* (state-get NAME DEFAULT): the cell's value, DEFAULT when it is new. */
static RthunkValue *
state_get (ARGS)
{
  Cell *cell = lock_cell (user_data, args, error);
  RthunkValue *value;

  if (cell == NULL)
    return NULL;
  value = rthunk_value_ref (cell->value);
  g_mutex_unlock (&cell->lock);
  return value;
}

/* F applied to @current, forced, of the cell's type: what swap! stores. */
static RthunkValue *
apply_update (RthunkStateStore   *self,
              RthunkCallContext  *context,
              Cell               *cell,
              RthunkValue        *func,
              GError            **error)
{
  g_autoptr(RthunkValue) result = rthunk_call_context_apply_pure (context, func, &cell->value, 1, error);
  g_autoptr(RthunkValue) forced = result != NULL ? rthunk_value_force (result, error) : NULL;

  if (forced == NULL || !check_type (self, cell, forced, error))
    return NULL;
  return g_steal_pointer (&forced);
}

/* (state-swap! NAME DEFAULT F): F applied to the cell's value (DEFAULT
 * when it is new) with the cell locked; the new value. */
static RthunkValue *
state_swap (ARGS)
{
  RthunkStateStore *self = user_data;
  Cell *cell = lock_cell (self, args, error);
  RthunkValue *value;

  if (cell == NULL)
    return NULL;
  if ((value = apply_update (self, context, cell, args[2], error)) != NULL)
    set_value (self, cell, value);
  g_mutex_unlock (&cell->lock);
  return value;
}

/* (state-cas! NAME OLD NEW): NEW replaces the value if it is OLD;
 * whether it did. A cell that does not exist yet holds nothing: false. */
static RthunkValue *
state_cas (ARGS)
{
  RthunkStateStore *self = user_data;
  Cell *cell = find_cell (self, rthunk_value_get_str (args[0]));
  gboolean swapped;

  if (cell == NULL)
    return rthunk_value_new_bool (FALSE);
  g_mutex_lock (&cell->lock);
  if (!check_type (self, cell, args[1], error) || !check_type (self, cell, args[2], error))
    {
      g_mutex_unlock (&cell->lock);
      return NULL;
    }
  if ((swapped = rthunk_value_equal (cell->value, args[1])))
    set_value (self, cell, args[2]);
  g_mutex_unlock (&cell->lock);
  return rthunk_value_new_bool (swapped);
}

static const RthunkNativeEntry functions[] = {
  { "state-get", "(str a -> a)", RTHUNK_FUNC_IO | RTHUNK_FUNC_STATE, state_get,
    N_("the value of the server's state cell NAME; DEFAULT (which fixes its type) when it is new") },
  { "state-swap!", "(str a (a -> a) -> a)", RTHUNK_FUNC_IO | RTHUNK_FUNC_STATE, state_swap,
    N_("applies the pure function F to the state cell NAME (DEFAULT when it is new) atomically; the new value") },
  { "state-cas!", "(str a a -> bool)", RTHUNK_FUNC_IO | RTHUNK_FUNC_STATE, state_cas,
    N_("sets the state cell NAME to NEW if it holds OLD; whether it did") },
};

void
rthunk_state_store_add_to (RthunkStateStore *store,
                           RthunkCatalog    *catalog)
{
  rthunk_catalog_add_entries (catalog, functions, G_N_ELEMENTS (functions), store,
                              (GBoxedCopyFunc) rthunk_state_store_ref,
                              (GDestroyNotify) rthunk_state_store_unref);
  rthunk_catalog_add_capability (catalog, "state");
}

/* ---- saving ------------------------------------------------------------------ */

/* Every cell's name, type and value, as they are now. */
static GArray *
snapshot (RthunkStateStore *self)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (RthunkStateEntry));
  g_autoptr(GPtrArray) cells = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer found;

  g_array_set_clear_func (entries, (GDestroyNotify) rthunk_state_entry_clear);
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->cells);
  while (g_hash_table_iter_next (&iter, NULL, &found))
    g_ptr_array_add (cells, found);
  g_mutex_unlock (&self->lock);
  for (guint k = 0; k < cells->len; k++)
    {
      Cell *cell = g_ptr_array_index (cells, k);
      RthunkStateEntry entry = { g_strdup (cell->name), NULL, NULL };

      g_mutex_lock (&cell->lock);
      entry.type = rthunk_type_resolve (cell->type);
      entry.value = rthunk_value_ref (cell->value);
      g_mutex_unlock (&cell->lock);
      g_array_append_val (entries, entry);
    }
  return entries;
}

/* Saves the cells if an update is unsaved (self->lock held, released
 * while writing), after the save under way if there is one: when it
 * returns, every update made before it is in the file. */
static gboolean
save_locked (RthunkStateStore  *self,
             GError           **error)
{
  g_autoptr(GArray) entries = NULL;
  gboolean ok;

  while (self->saving)
    g_cond_wait (&self->changed, &self->lock);
  if (!self->dirty)
    return TRUE;
  self->dirty = FALSE;
  self->saving = TRUE;
  g_mutex_unlock (&self->lock);
  entries = snapshot (self);
  ok = rthunk_state_file_save (self->path, entries, error);
  g_mutex_lock (&self->lock);
  self->saving = FALSE;
  if (!ok)
    self->dirty = TRUE;
  g_cond_broadcast (&self->changed);
  return ok;
}

static gpointer
saver_thread (gpointer data)
{
  RthunkStateStore *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      g_autoptr(GError) error = NULL;
      gint64 until;

      while (!self->dirty && !self->stopping)
        g_cond_wait (&self->changed, &self->lock);
      /* more updates may come with it: one write for them all */
      until = g_get_monotonic_time () + SAVE_BATCH_MS * G_TIME_SPAN_MILLISECOND;
      while (!self->stopping && g_cond_wait_until (&self->changed, &self->lock, until))
        ;
      if (!save_locked (self, &error))
        g_warning ("state file %s: %s", self->path, error->message);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

gboolean
rthunk_state_store_flush (RthunkStateStore  *store,
                          GError           **error)
{
  gboolean ok;

  if (store->path == NULL)
    return TRUE;
  g_mutex_lock (&store->lock);
  ok = save_locked (store, error);
  g_mutex_unlock (&store->lock);
  return ok;
}

/* ---- the store --------------------------------------------------------------- */

static gboolean
load (RthunkStateStore  *self,
      GError           **error)
{
  g_autoptr(GArray) entries = rthunk_state_file_load (self->path, error);

  if (entries == NULL)
    return FALSE;
  for (guint k = 0; k < entries->len; k++)
    {
      RthunkStateEntry *entry = &g_array_index (entries, RthunkStateEntry, k);
      /* the file's variables are quantified: a cell's may still be bound
       * (an empty list's element type, by the first element put in it) */
      g_autoptr(RthunkType) type = rthunk_type_instantiate (entry->type, 1, &self->next_var);

      add_cell (self, entry->name, entry->value, type);
    }
  return TRUE;
}

RthunkStateStore *
rthunk_state_store_new (const char  *path,
                        GError     **error)
{
  g_autoptr(RthunkStateStore) self = g_new0 (RthunkStateStore, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  g_cond_init (&self->changed);
  self->cells = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cell_free);
  self->path = g_strdup (path);
  if (path == NULL)
    return g_steal_pointer (&self);
  if (!load (self, error))
    return NULL;
  self->saver = g_thread_new ("rthunk-state-saver", saver_thread, self);
  return g_steal_pointer (&self);
}

/* What the last unref does: saves what is unsaved, then frees. */
static void
state_store_clear (RthunkStateStore *store)
{
  g_autoptr(GError) error = NULL;

  if (store->saver != NULL)
    {
      rthunk_thread_stop (&store->saver, &store->lock, &store->changed, &store->stopping);
      if (!rthunk_state_store_flush (store, &error))
        g_warning ("state file %s: %s", store->path, error->message);
    }
  g_hash_table_unref (store->cells);
  g_cond_clear (&store->changed);
  g_mutex_clear (&store->lock);
  g_free (store->path);
}

RTHUNK_DEFINE_REF_COUNT_REFS (RthunkStateStore, rthunk_state_store, state_store_clear)

guint
rthunk_state_store_count (RthunkStateStore *store)
{
  guint n;

  g_mutex_lock (&store->lock);
  n = g_hash_table_size (store->cells);
  g_mutex_unlock (&store->lock);
  return n;
}

gint64
rthunk_state_store_updates (RthunkStateStore *store)
{
  return __atomic_load_n (&store->updates, __ATOMIC_RELAXED);
}

GHashTable *
rthunk_state_store_types (RthunkStateStore *store)
{
  GHashTable *types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GArray) entries = snapshot (store);

  for (guint k = 0; k < entries->len; k++)
    {
      RthunkStateEntry *entry = &g_array_index (entries, RthunkStateEntry, k);

      g_hash_table_insert (types, g_strdup (entry->name), rthunk_type_to_string (entry->type));
    }
  return types;
}
