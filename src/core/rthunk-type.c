/* rthunk-type.c — type terms, unification and printing */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-type.h"
#include "rthunk-error.h"
#include "rthunk-type-private.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

struct _RthunkType
{
  gint ref_count;
  RthunkTypeKind kind;
  RthunkTypeClass klass;    /* VAR */
  guint id;                 /* VAR */
  guint level;              /* VAR: RTHUNK_TYPE_GENERIC when quantified */
  RthunkType *instance;     /* VAR: what unification bound it to */
  char **names;             /* RECORD: the field names, sorted */
  gboolean open;            /* RECORD: the last child is the row variable */
  guint n_children;
  RthunkType *children[];
};

G_DEFINE_BOXED_TYPE (RthunkType, rthunk_type, rthunk_type_ref, rthunk_type_unref)

static RthunkType *
type_alloc (RthunkTypeKind kind,
            guint          n_children)
{
  RthunkType *type = g_malloc0 (sizeof (RthunkType) + n_children * sizeof (RthunkType *));

  type->ref_count = 1;
  type->kind = kind;
  type->n_children = n_children;
  return type;
}

/**
 * rthunk_type_new_basic:
 * @kind: one of the kinds without children or variables
 *
 * Makes one of the basic types.
 *
 * Returns: (transfer full): `int`, `float`, `bool`, `str` or `nil`
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_basic (RthunkTypeKind kind)
{
  /* immutable and shared: one each, never freed (reference count -1) */
  static RthunkType basics[RTHUNK_TYPE_NIL + 1];
  static gsize ready = 0;

  g_return_val_if_fail (kind >= RTHUNK_TYPE_INT && kind <= RTHUNK_TYPE_NIL, NULL);

  if (g_once_init_enter (&ready))
    {
      for (guint k = RTHUNK_TYPE_INT; k <= RTHUNK_TYPE_NIL; k++)
        {
          basics[k].ref_count = -1;
          basics[k].kind = (RthunkTypeKind) k;
        }
      g_once_init_leave (&ready, 1);
    }
  return &basics[kind];
}

/* A type of @kind with the one child @child. */
static RthunkType *
type_new_unary (RthunkTypeKind  kind,
                RthunkType     *child)
{
  RthunkType *type = type_alloc (kind, 1);

  type->children[0] = rthunk_type_ref (child);
  return type;
}

/**
 * rthunk_type_new_list:
 * @element: the element type
 *
 * Makes a list type.
 *
 * Returns: (transfer full): `[element]`
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_list (RthunkType *element)
{
  g_return_val_if_fail (element != NULL, NULL);

  return type_new_unary (RTHUNK_TYPE_LIST, element);
}

/**
 * rthunk_type_new_func:
 * @params: (array length=n_params) (nullable): the parameter types
 * @n_params: how many parameters
 * @result: the result type
 *
 * Makes a function type.
 *
 * Returns: (transfer full): `(params… -> result)`
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_func (RthunkType *const *params,
                      guint              n_params,
                      RthunkType        *result)
{
  RthunkType *type;

  g_return_val_if_fail (params != NULL || n_params == 0, NULL);
  g_return_val_if_fail (result != NULL, NULL);

  type = type_alloc (RTHUNK_TYPE_FUNC, n_params + 1);
  for (guint k = 0; k < n_params; k++)
    type->children[k] = rthunk_type_ref (params[k]);
  type->children[n_params] = rthunk_type_ref (result);
  return type;
}

/**
 * rthunk_type_new_maybe:
 * @inner: the type of the value when it is present
 *
 * Makes the type of a value that may be absent: a value of type @inner,
 * or `nil`. A maybe value is not wrapped: present, it is the value
 * itself. `nil` (of type `nil`) unifies with every maybe type.
 *
 * Returns: (transfer full): `(maybe inner)`
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_maybe (RthunkType *inner)
{
  g_return_val_if_fail (inner != NULL, NULL);

  return type_new_unary (RTHUNK_TYPE_MAYBE, inner);
}

/* A record of the fields @names (sorted, distinct) of types @fields,
 * closed when @row is NULL. */
static RthunkType *
record_alloc (const char *const *names,
              RthunkType *const *fields,
              guint              n_fields,
              RthunkType        *row)
{
  RthunkType *type = type_alloc (RTHUNK_TYPE_RECORD, n_fields + (row != NULL));

  type->names = g_new0 (char *, n_fields + 1);
  for (guint k = 0; k < n_fields; k++)
    {
      type->names[k] = g_strdup (names[k]);
      type->children[k] = rthunk_type_ref (fields[k]);
    }
  type->open = row != NULL;
  if (row != NULL)
    type->children[n_fields] = rthunk_type_ref (row);
  return type;
}

typedef struct
{
  const char *name;
  RthunkType *type;
} Field;

static int
field_compare (gconstpointer a,
               gconstpointer b)
{
  return strcmp (((const Field *) a)->name, ((const Field *) b)->name);
}

/* record_alloc() of @fields in any order: sorts them; FALSE when a name
 * repeats. */
static RthunkType *
record_from_fields (GArray     *fields,
                    RthunkType *row)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new ();

  g_array_sort (fields, field_compare);
  for (guint k = 0; k < fields->len; k++)
    {
      Field *field = &g_array_index (fields, Field, k);

      if (k > 0 && strcmp (field->name, g_array_index (fields, Field, k - 1).name) == 0)
        return NULL;
      g_ptr_array_add (names, (gpointer) field->name);
      g_ptr_array_add (types, field->type);
    }
  return record_alloc ((const char *const *) names->pdata, (RthunkType **) types->pdata,
                       fields->len, row);
}

/**
 * rthunk_type_new_record:
 * @names: (array length=n_fields): the field names, distinct, in any order,
 *   each a keyword name (see rthunk_value_new_record())
 * @fields: (array length=n_fields): their types
 * @n_fields: how many fields
 * @row: (nullable): the row variable of an open record, or %NULL
 *
 * Makes a record type. A closed record (@row %NULL) is exactly these
 * fields: `{age: int, name: str}`; an open one stands for any record that
 * has at least them: `{age: int | r}`.
 *
 * Returns: (transfer full) (nullable): the record type, or %NULL when a
 *   name repeats or is not a keyword name
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_record (const char *const *names,
                        RthunkType *const *fields,
                        guint              n_fields,
                        RthunkType        *row)
{
  g_autoptr(GArray) array = g_array_sized_new (FALSE, FALSE, sizeof (Field), n_fields);

  g_return_val_if_fail (names != NULL || n_fields == 0, NULL);
  g_return_val_if_fail (fields != NULL || n_fields == 0, NULL);
  g_return_val_if_fail (row == NULL || rthunk_type_get_kind (row) == RTHUNK_TYPE_VAR, NULL);

  for (guint k = 0; k < n_fields; k++)
    {
      Field field = { names[k], fields[k] };

      if (!rthunk_value_is_field_name (names[k]))
        return NULL;
      g_array_append_val (array, field);
    }
  return record_from_fields (array, row);
}

RthunkType *
rthunk_type_new_var_at (guint           id,
                        RthunkTypeClass klass,
                        guint           level)
{
  RthunkType *type = type_alloc (RTHUNK_TYPE_VAR, 0);

  type->id = id;
  type->klass = klass;
  type->level = level;
  return type;
}

/**
 * rthunk_type_new_var:
 * @id: the number of the variable, local to the term it is used in
 * @klass: its constraint
 *
 * Makes a type variable, as in the signature `(a [a] -> [a])`.
 *
 * Returns: (transfer full): a quantified type variable
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_new_var (guint           id,
                     RthunkTypeClass klass)
{
  return rthunk_type_new_var_at (id, klass, RTHUNK_TYPE_GENERIC);
}

/**
 * rthunk_type_ref:
 * @type: a type
 *
 * Takes a reference to @type.
 *
 * Returns: (transfer full): @type with one more reference
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_ref (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, NULL);

  if (type->ref_count >= 0)
    g_atomic_int_inc (&type->ref_count);
  return type;
}

/**
 * rthunk_type_unref:
 * @type: (transfer full): a type
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
rthunk_type_unref (RthunkType *type)
{
  g_return_if_fail (type != NULL);

  if (type->ref_count < 0 || !g_atomic_int_dec_and_test (&type->ref_count))
    return;
  for (guint k = 0; k < type->n_children; k++)
    rthunk_type_unref (type->children[k]);
  if (type->instance != NULL)
    rthunk_type_unref (type->instance);
  g_strfreev (type->names);
  g_free (type);
}

/* A type of the kind, fields and children count of @type, children unset. */
static RthunkType *
type_alloc_like (RthunkType *type)
{
  RthunkType *copy = type_alloc (type->kind, type->n_children);

  copy->names = g_strdupv (type->names);
  copy->open = type->open;
  return copy;
}

RthunkType *
rthunk_type_prune (RthunkType *type)
{
  while (type->kind == RTHUNK_TYPE_VAR && type->instance != NULL)
    type = type->instance;
  return type;
}

/**
 * rthunk_type_get_kind:
 * @type: a type
 *
 * Tells what @type is.
 *
 * Returns: the kind of @type (after following what unification bound)
 *
 * Since: 0.1
 */
RthunkTypeKind
rthunk_type_get_kind (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, RTHUNK_TYPE_VAR);

  return rthunk_type_prune (type)->kind;
}

/**
 * rthunk_type_get_n_children:
 * @type: a type
 *
 * Counts the children of a type.
 *
 * Returns: 1 for a list, the number of parameters + 1 for a function, else 0
 *
 * Since: 0.1
 */
guint
rthunk_type_get_n_children (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, 0);

  return rthunk_type_prune (type)->n_children;
}

/**
 * rthunk_type_get_child:
 * @type: a list or function type
 * @index: below rthunk_type_get_n_children()
 *
 * Gives a child of a list or function type.
 *
 * Returns: (transfer none): the element type of a list; a parameter, or the
 *   result (last), of a function
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_get_child (RthunkType *type,
                       guint       index)
{
  g_return_val_if_fail (type != NULL, NULL);
  type = rthunk_type_prune (type);
  g_return_val_if_fail (index < type->n_children, NULL);

  return type->children[index];
}

/**
 * rthunk_type_get_var_id:
 * @type: a type variable
 *
 * Gives the number of a type variable.
 *
 * Returns: its number
 *
 * Since: 0.1
 */
guint
rthunk_type_get_var_id (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, 0);

  return rthunk_type_prune (type)->id;
}

/**
 * rthunk_type_get_class:
 * @type: a type variable
 *
 * Gives the constraint of a type variable: any, num, eq or ord.
 *
 * Returns: its constraint
 *
 * Since: 0.1
 */
RthunkTypeClass
rthunk_type_get_class (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, RTHUNK_TYPE_CLASS_ANY);

  return rthunk_type_prune (type)->klass;
}

/**
 * rthunk_type_get_n_fields:
 * @type: a record type, as the checker publishes it (rthunk_type_equal()
 *   and the printed form see through row variables; this does not)
 *
 * Counts the fields of a record type.
 *
 * Returns: the number of fields; 0 for a type that is not a record
 *
 * Since: 0.1
 */
guint
rthunk_type_get_n_fields (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, 0);

  type = rthunk_type_prune (type);
  if (type->kind != RTHUNK_TYPE_RECORD)
    return 0;
  return type->n_children - (type->open ? 1 : 0);
}

/**
 * rthunk_type_get_field_name:
 * @type: a record type
 * @index: below rthunk_type_get_n_fields()
 *
 * Gives the name of a field; its type is rthunk_type_get_child() at the
 * same index. Fields are in the order of their names.
 *
 * Returns: (transfer none): the name, without the colon
 *
 * Since: 0.1
 */
const char *
rthunk_type_get_field_name (RthunkType *type,
                            guint       index)
{
  g_return_val_if_fail (index < rthunk_type_get_n_fields (type), NULL);

  return rthunk_type_prune (type)->names[index];
}

/**
 * rthunk_type_get_row:
 * @type: a record type
 *
 * Gives the row variable of an open record type.
 *
 * Returns: (transfer none) (nullable): the row variable, or %NULL for a
 *   closed record
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_get_row (RthunkType *type)
{
  g_return_val_if_fail (type != NULL, NULL);

  type = rthunk_type_prune (type);
  if (type->kind != RTHUNK_TYPE_RECORD || !type->open)
    return NULL;
  return type->children[type->n_children - 1];
}

/* ---- rows ------------------------------------------------------------- */

/* A record seen through its row variables: unification extends an open
 * record by binding its row variable to a record of the new fields. */
typedef struct
{
  GArray *fields;           /* Field, in no order */
  RthunkType *tail;         /* the unbound row variable, or NULL: closed */
} Row;

static void
row_collect (RthunkType *type,
             Row        *row)
{
  row->fields = g_array_new (FALSE, FALSE, sizeof (Field));
  row->tail = NULL;
  for (type = rthunk_type_prune (type); type->kind == RTHUNK_TYPE_RECORD; )
    {
      guint n = type->n_children - (type->open ? 1 : 0);

      for (guint k = 0; k < n; k++)
        {
          Field field = { type->names[k], type->children[k] };

          g_array_append_val (row->fields, field);
        }
      if (!type->open)
        return;
      type = rthunk_type_prune (type->children[n]);
    }
  row->tail = type;
}

/* The sorted fields of @type, a record, with row variables seen through. */
static GArray *
row_sorted (RthunkType  *type,
            RthunkType **tail)
{
  Row row;

  row_collect (type, &row);
  g_array_sort (row.fields, field_compare);
  *tail = row.tail;
  return row.fields;
}

void
rthunk_type_record_fields (RthunkType  *type,
                           GPtrArray   *names,
                           GPtrArray   *types,
                           RthunkType **row)
{
  g_autoptr(GArray) fields = row_sorted (type, row);

  for (guint k = 0; k < fields->len; k++)
    {
      g_ptr_array_add (names, (gpointer) g_array_index (fields, Field, k).name);
      g_ptr_array_add (types, g_array_index (fields, Field, k).type);
    }
}

static RthunkType *
row_find (Row        *row,
          const char *name)
{
  for (guint k = 0; k < row->fields->len; k++)
    if (strcmp (g_array_index (row->fields, Field, k).name, name) == 0)
      return g_array_index (row->fields, Field, k).type;
  return NULL;
}

/* Whether a variable occurs in @type: any, or with @generic_only one
 * quantified (RTHUNK_TYPE_GENERIC). */
static gboolean
has_var (RthunkType *type,
         gboolean    generic_only)
{
  type = rthunk_type_prune (type);
  if (type->kind == RTHUNK_TYPE_VAR)
    return !generic_only || type->level == RTHUNK_TYPE_GENERIC;
  for (guint k = 0; k < type->n_children; k++)
    if (has_var (type->children[k], generic_only))
      return TRUE;
  return FALSE;
}

gboolean
rthunk_type_is_generic (RthunkType *type)
{
  return has_var (type, TRUE);
}

gboolean
rthunk_type_is_ground (RthunkType *type)
{
  return !has_var (type, FALSE);
}

typedef struct
{
  RthunkType *seen[32];         /* variables in order of appearance */
  guint n_seen;
} KeyVars;

static void
append_key (RthunkType *type,
            GString    *key,
            KeyVars    *vars)
{
  type = rthunk_type_prune (type);
  g_string_append_c (key, (char) ('A' + type->kind));
  if (type->kind == RTHUNK_TYPE_VAR)
    {
      guint k = 0;

      while (k < vars->n_seen && vars->seen[k] != type)
        k++;
      if (k == vars->n_seen && k < G_N_ELEMENTS (vars->seen))
        vars->seen[vars->n_seen++] = type;
      g_string_append_c (key, (char) ('0' + type->klass));
      g_string_append_c (key, type->level == RTHUNK_TYPE_GENERIC ? 'g' : 'f');
      /* past the first 32, the variable itself: a key that only misses */
      if (k < G_N_ELEMENTS (vars->seen))
        g_string_append_c (key, (char) ('a' + k));
      else
        g_string_append_printf (key, "@%p", (void *) type);
      return;
    }
  for (guint k = 0; k < type->n_children; k++)
    {
      if (type->names != NULL && type->names[k] != NULL)
        g_string_append_printf (key, "%s=", type->names[k]);
      else if (type->open)
        g_string_append_c (key, '|');
      append_key (type->children[k], key, vars);
    }
  if (type->kind == RTHUNK_TYPE_LIST || type->kind == RTHUNK_TYPE_FUNC ||
      type->kind == RTHUNK_TYPE_RECORD || type->kind == RTHUNK_TYPE_MAYBE)
    g_string_append_c (key, ')');
}

void
rthunk_type_append_key (RthunkType *type,
                        GString    *key)
{
  KeyVars vars = { { NULL }, 0 };

  append_key (type, key, &vars);
}

/* ---- unification ----------------------------------------------------- */

static gboolean
occurs (RthunkType *var,
        RthunkType *type)
{
  type = rthunk_type_prune (type);
  if (type == var)
    return TRUE;
  for (guint k = 0; k < type->n_children; k++)
    if (occurs (var, type->children[k]))
      return TRUE;
  return FALSE;
}

/* Lowers the level of every free variable in @type to at most @level, so
 * that a variable escaping into an outer scope is not generalised there. */
static void
adjust_levels (RthunkType *type,
               guint       level)
{
  type = rthunk_type_prune (type);
  if (type->kind == RTHUNK_TYPE_VAR)
    {
      if (type->level != RTHUNK_TYPE_GENERIC && type->level > level)
        type->level = level;
      return;
    }
  for (guint k = 0; k < type->n_children; k++)
    adjust_levels (type->children[k], level);
}

static RthunkTypeClass
join_classes (RthunkTypeClass a,
              RthunkTypeClass b)
{
  if (a == RTHUNK_TYPE_CLASS_ANY || a == b)
    return b;
  if (b == RTHUNK_TYPE_CLASS_ANY)
    return a;
  if (a == RTHUNK_TYPE_CLASS_NUM || b == RTHUNK_TYPE_CLASS_NUM)
    return RTHUNK_TYPE_CLASS_NUM;     /* num implies eq and ord */
  return RTHUNK_TYPE_CLASS_ORD;       /* eq + ord */
}

/* Whether @type (not a variable) can stand where @klass is required; pushes
 * the constraint into variables inside a list for eq. */
static gboolean
satisfies (RthunkType      *type,
           RthunkTypeClass  klass)
{
  type = rthunk_type_prune (type);
  if (type->kind == RTHUNK_TYPE_VAR)
    {
      type->klass = join_classes (type->klass, klass);
      return TRUE;
    }
  switch (klass)
    {
    case RTHUNK_TYPE_CLASS_ANY:
      return TRUE;
    case RTHUNK_TYPE_CLASS_NUM:
      return type->kind == RTHUNK_TYPE_INT || type->kind == RTHUNK_TYPE_FLOAT;
    case RTHUNK_TYPE_CLASS_ORD:
      return type->kind == RTHUNK_TYPE_INT || type->kind == RTHUNK_TYPE_FLOAT ||
             type->kind == RTHUNK_TYPE_STR;
    case RTHUNK_TYPE_CLASS_EQ:
    default:
      if (type->kind == RTHUNK_TYPE_FUNC)
        return FALSE;
      for (guint k = 0; k < type->n_children; k++)
        if (!satisfies (type->children[k], RTHUNK_TYPE_CLASS_EQ))
          return FALSE;
      return TRUE;
    }
}

static gboolean
bind_var (RthunkType *var,
          RthunkType *type)
{
  g_assert (var->level != RTHUNK_TYPE_GENERIC);

  if (type->kind == RTHUNK_TYPE_VAR)
    {
      g_assert (type->level != RTHUNK_TYPE_GENERIC);
      type->klass = join_classes (type->klass, var->klass);
      type->level = MIN (type->level, var->level);
    }
  else
    {
      if (occurs (var, type) || !satisfies (type, var->klass))
        return FALSE;
      adjust_levels (type, var->level);
    }
  var->instance = rthunk_type_ref (type);
  return TRUE;
}

/* @var, a row variable, bound to a record of @fields, open with @row. */
static gboolean
bind_row (RthunkType *var,
          GArray     *fields,
          RthunkType *row)
{
  g_autoptr(RthunkType) rest = record_from_fields (fields, row);

  return bind_var (var, rest);
}

/* Each field in @from that @to lacks. */
static GArray *
row_missing (Row *from,
             Row *to)
{
  GArray *missing = g_array_new (FALSE, FALSE, sizeof (Field));

  for (guint k = 0; k < from->fields->len; k++)
    if (row_find (to, g_array_index (from->fields, Field, k).name) == NULL)
      g_array_append_val (missing, g_array_index (from->fields, Field, k));
  return missing;
}

/* Row unification: the fields both have unify; the fields one lacks are
 * added to it through its row variable, or it is closed and they fail. */
static gboolean
unify_records (RthunkType *a,
               RthunkType *b)
{
  g_autoptr(GArray) only_a = NULL;
  g_autoptr(GArray) only_b = NULL;
  g_autoptr(RthunkType) rest = NULL;
  Row ra, rb;
  gboolean ok = TRUE;

  row_collect (a, &ra);
  row_collect (b, &rb);
  for (guint k = 0; ok && k < ra.fields->len; k++)
    {
      Field *field = &g_array_index (ra.fields, Field, k);
      RthunkType *other = row_find (&rb, field->name);

      ok = other == NULL || rthunk_type_unify (field->type, other);
    }
  only_a = row_missing (&ra, &rb);
  only_b = row_missing (&rb, &ra);
  g_array_unref (ra.fields);
  g_array_unref (rb.fields);
  if (!ok || (only_b->len > 0 && ra.tail == NULL) || (only_a->len > 0 && rb.tail == NULL))
    return FALSE;
  if (ra.tail == NULL || rb.tail == NULL)
    return ra.tail != NULL ? bind_row (ra.tail, only_b, NULL)
         : rb.tail != NULL ? bind_row (rb.tail, only_a, NULL) : TRUE;
  if (ra.tail == rb.tail)
    return only_a->len == 0 && only_b->len == 0;
  rest = rthunk_type_new_var_at (ra.tail->id, RTHUNK_TYPE_CLASS_ANY,
                                 MIN (ra.tail->level, rb.tail->level));
  rest->klass = join_classes (ra.tail->klass, rb.tail->klass);
  return bind_row (ra.tail, only_b, rest) && bind_row (rb.tail, only_a, rest);
}

/* `nil` is the absent value of every maybe type: @nil_side (nil, or a
 * variable bound to nil) meets @maybe. A variable bound to nil now stands
 * for @maybe, so that what it types is seen as maybe from then on. */
static gboolean
widen_nil (RthunkType *nil_side,
           RthunkType *maybe)
{
  RthunkType *var = NULL;

  for (RthunkType *t = nil_side; t->kind == RTHUNK_TYPE_VAR && t->instance != NULL; t = t->instance)
    var = t;
  if (var == NULL)
    return TRUE;
  if (occurs (var, maybe))
    return FALSE;
  adjust_levels (maybe, var->level);
  rthunk_type_unref (var->instance);
  var->instance = rthunk_type_ref (maybe);
  return TRUE;
}

/**
 * rthunk_type_unify: (skip)
 *
 * Makes @a and @b the same type by binding the checker's fresh variables.
 * Returns FALSE when they cannot be; bindings made so far stay.
 */
gboolean
rthunk_type_unify (RthunkType *a,
                   RthunkType *b)
{
  RthunkType *pa = rthunk_type_prune (a);
  RthunkType *pb = rthunk_type_prune (b);

  if (pa->kind == RTHUNK_TYPE_NIL && pb->kind == RTHUNK_TYPE_MAYBE)
    return widen_nil (a, pb);
  if (pb->kind == RTHUNK_TYPE_NIL && pa->kind == RTHUNK_TYPE_MAYBE)
    return widen_nil (b, pa);
  a = pa;
  b = pb;
  if (a == b)
    return TRUE;
  if (a->kind == RTHUNK_TYPE_VAR)
    return bind_var (a, b);
  if (b->kind == RTHUNK_TYPE_VAR)
    return bind_var (b, a);
  if (a->kind == RTHUNK_TYPE_RECORD && b->kind == RTHUNK_TYPE_RECORD)
    return unify_records (a, b);
  if (a->kind != b->kind || a->n_children != b->n_children)
    return FALSE;
  for (guint k = 0; k < a->n_children; k++)
    if (!rthunk_type_unify (a->children[k], b->children[k]))
      return FALSE;
  return TRUE;
}

/* ---- schemes --------------------------------------------------------- */

/* A scheme has few variables (`num a => a -> a -> a` has one): they are
 * paired with their copies in a list, and a table is made past that. */
#define COPY_VARS_LISTED 8

typedef struct
{
  RthunkType *old_vars[COPY_VARS_LISTED];
  RthunkType *new_vars[COPY_VARS_LISTED];  /* held */
  guint n_vars;
  GHashTable *map;    /* old var → new var, past COPY_VARS_LISTED */
  guint level;
  guint *next_id;
  gboolean generalize;
} CopyState;

static RthunkType *
copy_var_lookup (CopyState  *state,
                 RthunkType *var)
{
  for (guint k = 0; k < state->n_vars; k++)
    if (state->old_vars[k] == var)
      return state->new_vars[k];
  return state->map != NULL ? g_hash_table_lookup (state->map, var) : NULL;
}

static void
copy_var_insert (CopyState  *state,
                 RthunkType *var,
                 RthunkType *copy)
{
  if (state->n_vars < COPY_VARS_LISTED)
    {
      state->old_vars[state->n_vars] = var;
      state->new_vars[state->n_vars++] = copy;
      return;
    }
  if (state->map == NULL)
    state->map = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);
  g_hash_table_insert (state->map, var, copy);
}

static RthunkType *
copy_type (RthunkType *type,
           CopyState  *state)
{
  RthunkType *copy;

  type = rthunk_type_prune (type);
  if (type->kind == RTHUNK_TYPE_VAR)
    {
      gboolean replace = state->generalize
        ? (type->level != RTHUNK_TYPE_GENERIC && type->level > state->level)
        : type->level == RTHUNK_TYPE_GENERIC;

      if (!replace)
        return rthunk_type_ref (type);
      copy = copy_var_lookup (state, type);
      if (copy == NULL)
        {
          copy = state->generalize
            ? rthunk_type_new_var_at (type->id, type->klass, RTHUNK_TYPE_GENERIC)
            : rthunk_type_new_var_at ((*state->next_id)++, type->klass, state->level);
          copy_var_insert (state, type, copy);
        }
      return rthunk_type_ref (copy);
    }
  if (type->n_children == 0 && type->kind != RTHUNK_TYPE_RECORD)
    return rthunk_type_ref (type);
  copy = type_alloc_like (type);
  for (guint k = 0; k < type->n_children; k++)
    copy->children[k] = copy_type (type->children[k], state);
  return copy;
}

static RthunkType *
copy_with (RthunkType *type,
           guint       level,
           guint      *next_id,
           gboolean    generalize)
{
  CopyState state;
  RthunkType *copy;

  state.n_vars = 0;
  state.map = NULL;
  state.level = level;
  state.next_id = next_id;
  state.generalize = generalize;
  copy = copy_type (type, &state);
  for (guint k = 0; k < state.n_vars; k++)
    rthunk_type_unref (state.new_vars[k]);
  g_clear_pointer (&state.map, g_hash_table_unref);
  return copy;
}

/* A copy of @scheme whose quantified variables are fresh ones at @level. */
RthunkType *
rthunk_type_instantiate (RthunkType *scheme,
                         guint       level,
                         guint      *next_id)
{
  return copy_with (scheme, level, next_id, FALSE);
}

/* A scheme in which every variable made deeper than @level is quantified. */
RthunkType *
rthunk_type_generalize (RthunkType *type,
                        guint       level)
{
  return copy_with (type, level, NULL, TRUE);
}

static RthunkType *resolve_record (RthunkType *type, GHashTable **vars);

/* @vars maps each variable met to its copy, so that a variable occurring
 * twice stays one variable. */
static RthunkType *
resolve (RthunkType  *type,
         GHashTable **vars)
{
  RthunkType *copy;

  type = rthunk_type_prune (type);
  if (type->kind == RTHUNK_TYPE_VAR)
    {
      /* made at the first variable: most types have none */
      if (*vars == NULL)
        *vars = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);
      copy = g_hash_table_lookup (*vars, type);
      if (copy == NULL)
        {
          copy = rthunk_type_new_var (type->id, type->klass);
          g_hash_table_insert (*vars, type, copy);
        }
      return rthunk_type_ref (copy);
    }
  if (type->kind == RTHUNK_TYPE_RECORD)
    return resolve_record (type, vars);
  if (type->n_children == 0)
    return rthunk_type_ref (type);
  copy = type_alloc (type->kind, type->n_children);
  for (guint k = 0; k < type->n_children; k++)
    copy->children[k] = resolve (type->children[k], vars);
  return copy;
}

/* A record resolved: its fields and those its row variables were bound
 * to, in one record. */
static RthunkType *
resolve_record (RthunkType  *type,
                GHashTable **vars)
{
  RthunkType *tail;
  g_autoptr(GArray) fields = row_sorted (type, &tail);
  g_autoptr(RthunkType) row = tail != NULL ? resolve (tail, vars) : NULL;
  g_autoptr(GPtrArray) resolved = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);

  for (guint k = 0; k < fields->len; k++)
    {
      Field *field = &g_array_index (fields, Field, k);

      g_ptr_array_add (resolved, resolve (field->type, vars));
      field->type = g_ptr_array_index (resolved, k);
    }
  return record_from_fields (fields, row);
}

/* A copy without bindings: what the checker found, safe to publish. */
RthunkType *
rthunk_type_resolve (RthunkType *type)
{
  g_autoptr(GHashTable) vars = NULL;

  return resolve (type, &vars);
}

/**
 * rthunk_type_equal:
 * @a: a type
 * @b: a type
 *
 * Whether @a and @b are the same type, up to the names of variables.
 *
 * Returns: %TRUE if they are equal
 *
 * Since: 0.1
 */
gboolean
rthunk_type_equal (RthunkType *a,
                   RthunkType *b)
{
  g_autofree char *sa = NULL;
  g_autofree char *sb = NULL;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  sa = rthunk_type_to_string (a);
  sb = rthunk_type_to_string (b);
  return strcmp (sa, sb) == 0;
}

/* ---- printing -------------------------------------------------------- */

typedef struct
{
  GPtrArray *vars;     /* in order of appearance */
  GString *out;
} PrintState;

static void
var_name (guint    index,
          GString *out)
{
  g_string_append_c (out, 'a' + index % 26);
  if (index >= 26)
    g_string_append_printf (out, "%u", index / 26);
}

static void print_record (RthunkType *type, PrintState *state);

static void
print_type (RthunkType *type,
            PrintState *state)
{
  guint index;

  type = rthunk_type_prune (type);
  switch (type->kind)
    {
    case RTHUNK_TYPE_VAR:
      if (!g_ptr_array_find (state->vars, type, &index))
        {
          index = state->vars->len;
          g_ptr_array_add (state->vars, type);
        }
      var_name (index, state->out);
      break;
    case RTHUNK_TYPE_INT:   g_string_append (state->out, "int"); break;
    case RTHUNK_TYPE_FLOAT: g_string_append (state->out, "float"); break;
    case RTHUNK_TYPE_BOOL:  g_string_append (state->out, "bool"); break;
    case RTHUNK_TYPE_STR:   g_string_append (state->out, "str"); break;
    case RTHUNK_TYPE_NIL:   g_string_append (state->out, "nil"); break;
    case RTHUNK_TYPE_LIST:
      g_string_append_c (state->out, '[');
      print_type (type->children[0], state);
      g_string_append_c (state->out, ']');
      break;
    case RTHUNK_TYPE_RECORD:
      print_record (type, state);
      break;
    case RTHUNK_TYPE_MAYBE:
      g_string_append (state->out, "(maybe ");
      print_type (type->children[0], state);
      g_string_append_c (state->out, ')');
      break;
    case RTHUNK_TYPE_FUNC:
    default:
      g_string_append_c (state->out, '(');
      for (guint k = 0; k + 1 < type->n_children; k++)
        {
          print_type (type->children[k], state);
          g_string_append_c (state->out, ' ');
        }
      g_string_append (state->out, "-> ");
      print_type (type->children[type->n_children - 1], state);
      g_string_append_c (state->out, ')');
      break;
    }
}

/* {age: int, name: str}, {age: a | b}, {| a}, {} */
static void
print_record (RthunkType *type,
              PrintState *state)
{
  RthunkType *tail;
  g_autoptr(GArray) fields = row_sorted (type, &tail);

  g_string_append_c (state->out, '{');
  for (guint k = 0; k < fields->len; k++)
    {
      Field *field = &g_array_index (fields, Field, k);

      g_string_append_printf (state->out, "%s%s: ", k > 0 ? ", " : "", field->name);
      print_type (field->type, state);
    }
  if (tail != NULL)
    {
      g_string_append (state->out, fields->len > 0 ? " | " : "| ");
      print_type (tail, state);
    }
  g_string_append_c (state->out, '}');
}

static const char *const class_names[] = { "any", "num", "eq", "ord" };

/* The class a constraint's word names ("num", "eq", "ord"); ANY for any
 * other word, or %NULL. */
RthunkTypeClass
rthunk_type_class_from_name (const char *name)
{
  for (guint k = 1; k < G_N_ELEMENTS (class_names); k++)
    if (name != NULL && strcmp (name, class_names[k]) == 0)
      return k;
  return RTHUNK_TYPE_CLASS_ANY;
}

/* Adds @klass to the constraint of the variable @var. */
void
rthunk_type_constrain (RthunkType      *var,
                       RthunkTypeClass  klass)
{
  var->klass = join_classes (var->klass, klass);
}

/**
 * rthunk_type_to_string:
 * @type: a type
 *
 * Prints @type in signature syntax, naming variables `a`, `b`, … in order
 * of appearance and listing their constraints first: `num a => (a a -> a)`.
 *
 * Returns: (transfer full): the text
 *
 * Since: 0.1
 */
char *
rthunk_type_to_string (RthunkType *type)
{
  g_autoptr(GString) constraints = g_string_new (NULL);
  g_autoptr(GPtrArray) vars = g_ptr_array_new ();
  PrintState state = { vars, g_string_new (NULL) };

  g_return_val_if_fail (type != NULL, NULL);

  print_type (type, &state);
  for (guint k = 0; k < vars->len; k++)
    {
      RthunkType *var = g_ptr_array_index (vars, k);

      if (var->klass == RTHUNK_TYPE_CLASS_ANY)
        continue;
      g_string_append_printf (constraints, "%s%s ", constraints->len > 0 ? ", " : "",
                              class_names[var->klass]);
      var_name (k, constraints);
    }
  if (constraints->len > 0)
    {
      g_string_append (constraints, " => ");
      g_string_prepend (state.out, constraints->str);
    }
  return g_string_free (state.out, FALSE);
}

static RthunkType *
type_of_list (RthunkValue  *value,
              guint        *next_var,
              GError      **error)
{
  g_autoptr(RthunkType) element = rthunk_type_new_var_at ((*next_var)++, RTHUNK_TYPE_CLASS_ANY, 1);
  gboolean saw_nil = FALSE;

  for (gsize k = 0; k < rthunk_value_get_length (value); k++)
    {
      g_autoptr(RthunkType) item = rthunk_type_of_value (rthunk_value_get_item (value, k), next_var, error);

      if (item == NULL)
        return NULL;
      /* nil among values of a type T: they are values of (maybe T) */
      if (rthunk_type_get_kind (item) == RTHUNK_TYPE_NIL)
        saw_nil = TRUE;
      else if (!rthunk_type_unify (element, item))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("a bound list mixes elements of different types"));
          return NULL;
        }
    }
  if (saw_nil && rthunk_type_get_kind (element) == RTHUNK_TYPE_VAR)
    {
      g_autoptr(RthunkType) nil = rthunk_type_new_basic (RTHUNK_TYPE_NIL);

      rthunk_type_unify (element, nil);
    }
  else if (saw_nil && rthunk_type_get_kind (element) != RTHUNK_TYPE_MAYBE)
    {
      g_autoptr(RthunkType) maybe = rthunk_type_new_maybe (element);

      return rthunk_type_new_list (maybe);
    }
  return rthunk_type_new_list (element);
}

static RthunkType *
type_of_record (RthunkValue  *value,
                guint        *next_var,
                GError      **error)
{
  gsize n = rthunk_value_get_length (value);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);

  for (gsize k = 0; k < n; k++)
    {
      RthunkType *field = rthunk_type_of_value (rthunk_value_get_item (value, k), next_var, error);

      if (field == NULL)
        return NULL;
      g_ptr_array_add (names, (gpointer) rthunk_value_get_field_name (value, k));
      g_ptr_array_add (fields, field);
    }
  return record_alloc ((const char *const *) names->pdata, (RthunkType **) fields->pdata, n, NULL);
}

/* The type of a value (an input that arrived, a value to send): lists
 * must be uniform; functions and pending values have none. */
RthunkType *
rthunk_type_of_value (RthunkValue  *value,
               guint        *next_var,
               GError      **error)
{
  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_NIL:   return rthunk_type_new_basic (RTHUNK_TYPE_NIL);
    case RTHUNK_VALUE_BOOL:  return rthunk_type_new_basic (RTHUNK_TYPE_BOOL);
    case RTHUNK_VALUE_INT:   return rthunk_type_new_basic (RTHUNK_TYPE_INT);
    case RTHUNK_VALUE_FLOAT: return rthunk_type_new_basic (RTHUNK_TYPE_FLOAT);
    case RTHUNK_VALUE_STR:   return rthunk_type_new_basic (RTHUNK_TYPE_STR);
    case RTHUNK_VALUE_LIST:
      return type_of_list (value, next_var, error);
    case RTHUNK_VALUE_RECORD:
      return type_of_record (value, next_var, error);
    case RTHUNK_VALUE_FUNC:
    case RTHUNK_VALUE_PENDING:
    default:
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("this kind of value cannot be bound"));
      return NULL;
    }
}


/**
 * rthunk_type_is_field_name:
 * @name: (nullable): a name from outside: a column of a table, of a file
 *
 * Tells whether @name can name a record field: what the reader reads as
 * a keyword after its colon (letters, digits and `-?!*+/<>=_.%&'`), so
 * that a program reads it as `(:name r)`. A provider that makes record
 * types from its data (sql-query's columns, a CSV file's header) refuses
 * other names.
 *
 * Returns: whether @name can be a field name
 *
 * Since: 0.1
 */
gboolean
rthunk_type_is_field_name (const char *name)
{
  return name != NULL && rthunk_value_is_field_name (name);
}
