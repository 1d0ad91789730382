/* rthunk-catalog.c — typed function catalogs */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

struct _RthunkFuncDef
{
  gint ref_count;
  char *name;
  char *signature;
  RthunkType *type;
  RthunkFuncFlags flags;
  char *doc;
  guint arity;
  RthunkNativeFunc func;
  RthunkProvideTypeFunc provide;  /* PROVIDED and native: its types */
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean stdlib;              /* the standard library's own: the evaluator
                                   may inline it */
};

G_DEFINE_BOXED_TYPE (RthunkFuncDef, rthunk_func_def, rthunk_func_def_ref, rthunk_func_def_unref)

struct _RthunkCatalog
{
  GObject parent_instance;

  GHashTable *funcs;           /* name → RthunkFuncDef */
  GPtrArray *capabilities;     /* NULL-terminated char* */
  guint version;               /* (atomic) bumped by every change of funcs */
};

/**
 * RthunkCatalog:
 *
 * The typed functions an expression may call: each a [struct@Rthunk.FuncDef]
 * with a name, a type signature, flags ([flags@Rthunk.FuncFlags]: pure,
 * io, assoc) and a one-line description.
 *
 * A provider fills one with native C functions ([method@Rthunk.Catalog.add],
 * the signature written as in `(int int -> int)`) and serves it with a
 * [class@Rthunk.Server]; [func@Rthunk.stdlib_new_catalog] makes one that
 * holds the standard library. On the client side a catalog describes what a
 * server offers: [method@Rthunk.Client.get_catalog] returns one whose
 * functions were added with [method@Rthunk.Catalog.add_remote], types and
 * flags without code. [method@Rthunk.Catalog.add_capability] names what a
 * server can do beyond its functions, for `:needs`.
 *
 * The [class@Rthunk.Checker] and the [class@Rthunk.Evaluator] look names
 * up in a catalog ([method@Rthunk.Catalog.lookup]).
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkCatalog, rthunk_catalog, G_TYPE_OBJECT)

/**
 * rthunk_func_def_ref:
 * @def: a function definition
 *
 * Takes a reference to @def.
 *
 * Returns: (transfer full): @def with one more reference
 *
 * Since: 0.1
 */
RthunkFuncDef *
rthunk_func_def_ref (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);

  g_atomic_int_inc (&def->ref_count);
  return def;
}

/**
 * rthunk_func_def_unref:
 * @def: (transfer full): a function definition
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
rthunk_func_def_unref (RthunkFuncDef *def)
{
  g_return_if_fail (def != NULL);

  if (!g_atomic_int_dec_and_test (&def->ref_count))
    return;
  if (def->destroy != NULL)
    def->destroy (def->user_data);
  g_free (def->name);
  g_free (def->signature);
  g_free (def->doc);
  rthunk_type_unref (def->type);
  g_free (def);
}

/**
 * rthunk_func_def_get_name:
 * @def: a function definition
 *
 * Gives the name the language calls the function by.
 *
 * Returns: (transfer none): its name
 *
 * Since: 0.1
 */
const char *
rthunk_func_def_get_name (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->name;
}

/**
 * rthunk_func_def_get_type_term:
 * @def: a function definition
 *
 * Gives the function's type.
 *
 * Returns: (transfer none): its type, a function type
 *
 * Since: 0.1
 */
RthunkType *
rthunk_func_def_get_type_term (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->type;
}

/**
 * rthunk_func_def_get_signature:
 * @def: a function definition
 *
 * Gives the function's type signature as text.
 *
 * Returns: (transfer none): its type as text, e.g. `(int int -> int)`
 *
 * Since: 0.1
 */
const char *
rthunk_func_def_get_signature (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->signature;
}

/**
 * rthunk_func_def_get_flags:
 * @def: a function definition
 *
 * Gives the function's flags: pure, io, assoc.
 *
 * Returns: its flags
 *
 * Since: 0.1
 */
RthunkFuncFlags
rthunk_func_def_get_flags (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, RTHUNK_FUNC_NONE);
  return def->flags;
}

/**
 * rthunk_func_def_get_doc:
 * @def: a function definition
 *
 * Gives the function's one-line description, as `:doc` shows it.
 *
 * Returns: (transfer none): its one-line documentation
 *
 * Since: 0.1
 */
const char *
rthunk_func_def_get_doc (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->doc;
}

/**
 * rthunk_func_def_get_arity:
 * @def: a function definition
 *
 * Gives the number of parameters of the function.
 *
 * Returns: how many arguments it takes
 *
 * Since: 0.1
 */
guint
rthunk_func_def_get_arity (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, 0);
  return def->arity;
}

/**
 * rthunk_func_def_is_native:
 * @def: a function definition
 *
 * Tells whether the function has a C implementation here, or only describes
 * one a server runs.
 *
 * Returns: whether this process can run it (it has a C implementation)
 *
 * Since: 0.1
 */
gboolean
rthunk_func_def_is_native (RthunkFuncDef *def)
{
  g_return_val_if_fail (def != NULL, FALSE);
  return def->func != NULL;
}

/**
 * rthunk_func_def_call:
 * @def: a native function definition
 * @context: (nullable): the calling evaluation
 * @args: (array length=n_args): the arguments
 * @n_args: how many, exactly the arity
 * @error: return location for a #GError
 *
 * Calls the C implementation.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_func_def_call (RthunkFuncDef      *def,
                      RthunkCallContext  *context,
                      RthunkValue *const *args,
                      guint               n_args,
                      GError            **error)
{
  g_return_val_if_fail (def != NULL && def->func != NULL, NULL);
  g_return_val_if_fail (n_args == def->arity, NULL);

  return def->func (context, args, n_args, def->user_data, error);
}

static void
rthunk_catalog_finalize (GObject *object)
{
  RthunkCatalog *self = RTHUNK_CATALOG (object);

  g_hash_table_unref (self->funcs);
  g_ptr_array_unref (self->capabilities);
  G_OBJECT_CLASS (rthunk_catalog_parent_class)->finalize (object);
}

static void
rthunk_catalog_class_init (RthunkCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rthunk_catalog_finalize;
}

static void
rthunk_catalog_init (RthunkCatalog *self)
{
  self->funcs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) rthunk_func_def_unref);
  self->capabilities = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->capabilities, NULL);
}

/**
 * rthunk_catalog_new:
 *
 * Creates an empty catalog. A catalog is filled once, then only read, and
 * reading is safe from any thread.
 *
 * Returns: (transfer full): a new catalog
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_catalog_new (void)
{
  return g_object_new (RTHUNK_TYPE_CATALOG, NULL);
}

static gboolean
insert_def (RthunkCatalog  *catalog,
            RthunkFuncDef  *def,
            GError        **error)
{
  if (rthunk_type_get_kind (def->type) != RTHUNK_TYPE_FUNC)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the signature of “%s” is not a function type"), def->name);
      rthunk_func_def_unref (def);
      return FALSE;
    }
  def->arity = rthunk_type_get_n_children (def->type) - 1;
  if (def->signature == NULL)
    def->signature = rthunk_type_to_string (def->type);
  g_hash_table_replace (catalog->funcs, def->name, def);
  g_atomic_int_inc (&catalog->version);
  return TRUE;
}

/**
 * rthunk_catalog_add:
 * @catalog: a catalog
 * @name: the name the language calls it by
 * @signature: its type, e.g. `(int int -> int)`
 * @flags: pure, io, assoc
 * @doc: a one-line description
 * @func: (scope notified) (closure user_data) (destroy destroy): the C
 *   implementation
 * @user_data: (nullable): passed to @func
 * @destroy: (nullable): frees @user_data with the catalog
 * @error: return location for a #GError
 *
 * Adds (or replaces) a native function.
 *
 * Returns: %TRUE, or %FALSE with @error set if @signature does not parse
 *
 * Since: 0.1
 */
gboolean
rthunk_catalog_add (RthunkCatalog     *catalog,
                    const char        *name,
                    const char        *signature,
                    RthunkFuncFlags    flags,
                    const char        *doc,
                    RthunkNativeFunc   func,
                    gpointer           user_data,
                    GDestroyNotify     destroy,
                    GError           **error)
{
  RthunkFuncDef *def;
  RthunkType *type;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (name != NULL && signature != NULL && func != NULL, FALSE);

  if ((type = rthunk_type_parse (signature, error)) == NULL)
    return FALSE;
  def = rthunk_func_def_new_native (name, type, flags, doc, func, user_data, destroy);
  return insert_def (catalog, def, error);
}

void
rthunk_catalog_add_entries (RthunkCatalog           *catalog,
                            const RthunkNativeEntry *entries,
                            guint                    n_entries,
                            gpointer                 owner,
                            GBoxedCopyFunc           ref,
                            GDestroyNotify           unref)
{
  for (guint k = 0; k < n_entries; k++)
    {
      g_autoptr(GError) error = NULL;

      if (!rthunk_catalog_add (catalog, entries[k].name, entries[k].signature, entries[k].flags,
                               _(entries[k].doc), entries[k].func, owner != NULL ? ref (owner) : NULL,
                               owner != NULL ? unref : NULL, &error))
        g_error ("%s: %s", entries[k].name, error->message);
    }
}

/* A native function outside any catalog; takes @type. */
RthunkFuncDef *
rthunk_func_def_new_native (const char       *name,
                            RthunkType       *type,
                            RthunkFuncFlags   flags,
                            const char       *doc,
                            RthunkNativeFunc  func,
                            gpointer          user_data,
                            GDestroyNotify    destroy)
{
  RthunkFuncDef *def = g_new0 (RthunkFuncDef, 1);

  def->ref_count = 1;
  def->name = g_strdup (name);
  def->type = type;
  def->flags = flags;
  def->doc = g_strdup (doc != NULL ? doc : "");
  def->func = func;
  def->user_data = user_data;
  def->destroy = destroy;
  def->arity = rthunk_type_get_n_children (type) - 1;
  return def;
}

/**
 * rthunk_catalog_add_provided:
 * @catalog: a catalog
 * @name: the name the language calls it by
 * @signature: the type of every call, e.g. `(str a -> [b])`: its first
 *   parameter is `str`, and what the data source says of a literal must
 *   be an instance of it
 * @flags: pure, io, assoc (%RTHUNK_FUNC_PROVIDED is added)
 * @doc: a one-line description
 * @func: (scope notified) (closure user_data) (destroy destroy): the C
 *   implementation
 * @provide: (scope notified) (closure user_data): the type of one call,
 *   from its literal
 * @user_data: (nullable): passed to @func and @provide
 * @destroy: (nullable): frees @user_data with the catalog
 * @error: return location for a #GError
 *
 * Adds (or replaces) a native function whose type depends on the string
 * literal it is called with, as a type provider does: `(sql-query "select
 * name from people" {})` has the type of the statement's columns. The
 * checker asks @provide (on a client, through the server's provideType)
 * each time it meets a call, and refuses a call whose first argument is
 * not a string literal.
 *
 * Returns: %TRUE, or %FALSE with @error set if @signature does not parse
 *   or does not take a string first
 *
 * Since: 0.1
 */
gboolean
rthunk_catalog_add_provided (RthunkCatalog         *catalog,
                             const char            *name,
                             const char            *signature,
                             RthunkFuncFlags        flags,
                             const char            *doc,
                             RthunkNativeFunc       func,
                             RthunkProvideTypeFunc  provide,
                             gpointer               user_data,
                             GDestroyNotify         destroy,
                             GError               **error)
{
  RthunkFuncDef *def;

  g_return_val_if_fail (provide != NULL, FALSE);

  if (!rthunk_catalog_add (catalog, name, signature, flags | RTHUNK_FUNC_PROVIDED, doc,
                           func, user_data, destroy, error))
    return FALSE;
  def = g_hash_table_lookup (catalog->funcs, name);
  if (def->arity == 0 ||
      rthunk_type_get_kind (rthunk_type_get_child (def->type, 0)) != RTHUNK_TYPE_STR)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the provided function “%s” must take a string first"), name);
      g_hash_table_remove (catalog->funcs, name);
      g_atomic_int_inc (&catalog->version);
      return FALSE;
    }
  def->provide = provide;
  return TRUE;
}

/**
 * rthunk_catalog_add_remote:
 * @catalog: a catalog
 * @name: the function's name
 * @type: its type, a function type
 * @flags: its flags
 * @doc: (nullable): its documentation
 * @error: return location for a #GError
 *
 * Adds a function known only by its type, as a server published it: the
 * checker can check calls of it, but only the server can run it.
 *
 * Returns: %TRUE, or %FALSE with @error set if @type is not a function type
 *
 * Since: 0.1
 */
gboolean
rthunk_catalog_add_remote (RthunkCatalog    *catalog,
                           const char       *name,
                           RthunkType       *type,
                           RthunkFuncFlags   flags,
                           const char       *doc,
                           GError          **error)
{
  RthunkFuncDef *def;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (name != NULL && type != NULL, FALSE);

  def = g_new0 (RthunkFuncDef, 1);
  def->ref_count = 1;
  def->name = g_strdup (name);
  def->type = rthunk_type_ref (type);
  def->flags = flags;
  def->doc = g_strdup (doc != NULL ? doc : "");
  return insert_def (catalog, def, error);
}

/**
 * rthunk_catalog_lookup:
 * @catalog: a catalog
 * @name: a function name
 *
 * Finds the function the language calls @name.
 *
 * Returns: (transfer none) (nullable): the function, or %NULL
 *
 * Since: 0.1
 */
RthunkFuncDef *
rthunk_catalog_lookup (RthunkCatalog *catalog,
                       const char    *name)
{
  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (catalog->funcs, name);
}

static int
compare_defs (gconstpointer a,
              gconstpointer b)
{
  RthunkFuncDef *da = *(RthunkFuncDef **) a;
  RthunkFuncDef *db = *(RthunkFuncDef **) b;

  return strcmp (da->name, db->name);
}

/**
 * rthunk_catalog_list:
 * @catalog: a catalog
 *
 * Lists every function of @catalog, native or remote.
 *
 * Returns: (transfer container) (element-type RthunkFuncDef): every function,
 *   sorted by name
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_catalog_list (RthunkCatalog *catalog)
{
  GPtrArray *list;
  GHashTableIter iter;
  gpointer def;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);

  list = g_ptr_array_new_full (g_hash_table_size (catalog->funcs),
                               (GDestroyNotify) rthunk_func_def_unref);
  g_hash_table_iter_init (&iter, catalog->funcs);
  while (g_hash_table_iter_next (&iter, NULL, &def))
    g_ptr_array_add (list, rthunk_func_def_ref (def));
  g_ptr_array_sort (list, compare_defs);
  return list;
}

/**
 * rthunk_catalog_get_size:
 * @catalog: a catalog
 *
 * Counts the functions of @catalog.
 *
 * Returns: how many functions it has
 *
 * Since: 0.1
 */
guint
rthunk_catalog_get_size (RthunkCatalog *catalog)
{
  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), 0);

  return g_hash_table_size (catalog->funcs);
}

/**
 * rthunk_catalog_add_capability:
 * @catalog: a catalog
 * @capability: a capability the provider offers, e.g. `db`
 *
 * Adds a capability that remote expressions can ask for with `:needs`.
 *
 * Since: 0.1
 */
void
rthunk_catalog_add_capability (RthunkCatalog *catalog,
                               const char    *capability)
{
  g_return_if_fail (RTHUNK_IS_CATALOG (catalog));
  g_return_if_fail (capability != NULL);

  g_ptr_array_insert (catalog->capabilities, catalog->capabilities->len - 1,
                      g_strdup (capability));
}

/**
 * rthunk_catalog_get_capabilities:
 * @catalog: a catalog
 *
 * Lists the capabilities added with rthunk_catalog_add_capability(), which
 * remote expressions can ask for with `:needs`.
 *
 * Returns: (transfer none) (array zero-terminated=1): the capabilities
 *
 * Since: 0.1
 */
const char *const *
rthunk_catalog_get_capabilities (RthunkCatalog *catalog)
{
  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);

  return (const char *const *) catalog->capabilities->pdata;
}

/* The C implementation, for the library's own checks (private). */
RthunkNativeFunc
rthunk_func_def_get_native (RthunkFuncDef *def)
{
  return def->func;
}

/* What @def's data source says of a call with @literal (private): the
 * function's own provider, which only a native provided function has;
 * NULL with @error set otherwise, or when it refuses @literal (then
 * always an RTHUNK_ERROR_TYPE_MISMATCH, whatever the provider said). */
RthunkType *
rthunk_func_def_provide_type (RthunkFuncDef  *def,
                              const char     *literal,
                              GError        **error)
{
  g_autoptr(GError) refused = NULL;
  RthunkType *type;

  if (def->provide == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("“%s” has no type provider here"), def->name);
      return NULL;
    }
  if ((type = def->provide (literal, def->user_data, &refused)) != NULL)
    return type;
  /* whatever the data source says against @literal refuses the call */
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH, refused->message);
  return NULL;
}

/* Whether @def has its own type provider (private). */
gboolean
rthunk_func_def_has_provider (RthunkFuncDef *def)
{
  return def->provide != NULL;
}

/* Marks @def as the standard library's own function (private). */
void
rthunk_func_def_set_stdlib (RthunkFuncDef *def)
{
  def->stdlib = TRUE;
}

/* Whether @def is the standard library's own function (private). */
gboolean
rthunk_func_def_is_stdlib (RthunkFuncDef *def)
{
  return def->stdlib;
}

/* A new catalog with the functions (shared, not copied: they are
 * immutable) and the capabilities of @catalog; what is added to one later
 * is not in the other. */
RthunkCatalog *
rthunk_catalog_copy (RthunkCatalog *catalog)
{
  RthunkCatalog *copy = rthunk_catalog_new ();
  GHashTableIter iter;
  gpointer def;

  g_hash_table_iter_init (&iter, catalog->funcs);
  while (g_hash_table_iter_next (&iter, NULL, &def))
    g_hash_table_replace (copy->funcs, ((RthunkFuncDef *) def)->name, rthunk_func_def_ref (def));
  for (guint k = 0; catalog->capabilities->pdata[k] != NULL; k++)
    rthunk_catalog_add_capability (copy, catalog->capabilities->pdata[k]);
  return copy;
}

/* A number that changes whenever @catalog's functions do: what code
 * compiled against it keeps (rthunk_eval_compiled_top()). */
guint
rthunk_catalog_get_version (RthunkCatalog *catalog)
{
  return (guint) g_atomic_int_get (&catalog->version);
}
