/* rthunk-value.c — immutable, refcounted, tagged values */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rthunk-value.h"
#include "rthunk-value-private.h"

G_DEFINE_BOXED_TYPE (RthunkValue, rthunk_value, rthunk_value_ref, rthunk_value_unref)

/* nil, the bools and small ints are shared, never freed: a reference count
 * below zero means immortal, and ref and unref leave it alone. */
#define IMMORTAL G_MININT
#define SMALL_INT_MIN (-16)
#define SMALL_INT_MAX 255

static RthunkValue immortal_nil = { IMMORTAL, RTHUNK_VALUE_NIL, { .i = 0 } };
static RthunkValue immortal_true = { IMMORTAL, RTHUNK_VALUE_BOOL, { .b = TRUE } };
static RthunkValue immortal_false = { IMMORTAL, RTHUNK_VALUE_BOOL, { .b = FALSE } };
static RthunkValue small_ints[SMALL_INT_MAX - SMALL_INT_MIN + 1];

static RthunkValue *
small_int (gint64 i)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (gint64 k = SMALL_INT_MIN; k <= SMALL_INT_MAX; k++)
        {
          small_ints[k - SMALL_INT_MIN].ref_count = IMMORTAL;
          small_ints[k - SMALL_INT_MIN].kind = RTHUNK_VALUE_INT;
          small_ints[k - SMALL_INT_MIN].u.i = k;
        }
      g_once_init_leave (&initialized, 1);
    }
  return &small_ints[i - SMALL_INT_MIN];
}

static RthunkValue *
value_alloc (RthunkValueKind kind)
{
  RthunkValue *value = g_new (RthunkValue, 1);

  value->ref_count = 1;
  value->kind = kind;
  return value;
}

/* A new value of @kind that stands for @data (a function or a pending
 * value's handle), printed as @name (taken, or @data's when
 * @name_borrowed); @destroy frees @data. */
static RthunkValue *
value_new_handle (RthunkValueKind  kind,
                  char            *name,
                  gboolean         name_borrowed,
                  gpointer         data,
                  GDestroyNotify   destroy)
{
  RthunkValue *value = value_alloc (kind);

  value->u.handle.name = name;
  value->u.handle.name_borrowed = name_borrowed;
  value->u.handle.data = data;
  value->u.handle.destroy = destroy;
  return value;
}

/* A pending value of @handle, forced by @force, named as
 * value_new_handle() says. */
static RthunkValue *
value_new_pending (char               *name,
                   gboolean            name_borrowed,
                   gpointer            handle,
                   RthunkPendingForce  force,
                   GDestroyNotify      destroy)
{
  RthunkValue *value = value_new_handle (RTHUNK_VALUE_PENDING, name, name_borrowed, handle, destroy);

  value->u.handle.force = force;
  value->u.handle.reference = FALSE;
  return value;
}

/**
 * rthunk_value_new_nil:
 *
 * Makes the value `nil`.
 *
 * Returns: (transfer full): the value `nil`
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_nil (void)
{
  return &immortal_nil;
}

/**
 * rthunk_value_new_bool:
 * @b: the truth value
 *
 * Makes a bool value.
 *
 * Returns: (transfer full): a new bool value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_bool (gboolean b)
{
  return b ? &immortal_true : &immortal_false;
}

/**
 * rthunk_value_new_int:
 * @i: the integer
 *
 * Makes an int value.
 *
 * Returns: (transfer full): a new int value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_int (gint64 i)
{
  RthunkValue *value;

  if (i >= SMALL_INT_MIN && i <= SMALL_INT_MAX)
    return small_int (i);
  value = value_alloc (RTHUNK_VALUE_INT);

  value->u.i = i;
  return value;
}

/**
 * rthunk_value_new_float:
 * @f: the number
 *
 * Makes a float value.
 *
 * Returns: (transfer full): a new float value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_float (double f)
{
  RthunkValue *value = value_alloc (RTHUNK_VALUE_FLOAT);

  value->u.f = f;
  return value;
}

/**
 * rthunk_value_new_str:
 * @text: UTF-8 text, copied
 *
 * Makes a str value from a copy of @text.
 *
 * Returns: (transfer full): a new str value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_str (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  return rthunk_value_new_str_take (g_strdup (text));
}

/**
 * rthunk_value_new_str_take:
 * @text: (transfer full): UTF-8 text, owned by the value from now on
 *
 * Makes a str value that takes @text over, without copying it.
 *
 * Returns: (transfer full): a new str value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_str_take (char *text)
{
  RthunkValue *value;

  g_return_val_if_fail (text != NULL, NULL);

  value = value_alloc (RTHUNK_VALUE_STR);
  value->u.str = text;
  return value;
}

/**
 * rthunk_value_new_list:
 * @items: (array length=n_items) (transfer none) (nullable): the elements
 * @n_items: how many elements
 *
 * Makes a list value of @items.
 *
 * Returns: (transfer full): a new list holding a reference to each element
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_list (RthunkValue *const *items,
                       gsize               n_items)
{
  RthunkValue *value = value_alloc (RTHUNK_VALUE_LIST);

  g_return_val_if_fail (items != NULL || n_items == 0, NULL);

  value->u.list.n_items = n_items;
  value->u.list.ints = NULL;
  value->u.list.items = g_new (RthunkValue *, MAX (n_items, 1));
  for (gsize k = 0; k < n_items; k++)
    value->u.list.items[k] = rthunk_value_ref (items[k]);
  return value;
}

/**
 * rthunk_value_new_list_take: (skip)
 * @items: (array length=n_items) (transfer full): the elements, in an array
 *   allocated with g_malloc(); the list takes the array and its references
 * @n_items: how many elements
 *
 * Like rthunk_value_new_list(), without copying.
 *
 * Returns: (transfer full): a new list
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_list_take (RthunkValue **items,
                            gsize         n_items)
{
  RthunkValue *value = value_alloc (RTHUNK_VALUE_LIST);

  value->u.list.n_items = n_items;
  value->u.list.ints = NULL;
  value->u.list.items = items != NULL ? items : g_new (RthunkValue *, 1);
  return value;
}

typedef struct
{
  const char *name;
  RthunkValue *value;
} Field;

static int
field_compare (gconstpointer a,
               gconstpointer b)
{
  return strcmp (((const Field *) a)->name, ((const Field *) b)->name);
}

/* Whether the byte @c may stand in a field name: a letter, a digit, one
 * of -?!*+/<>=_.%&' or a byte of a multi-byte character. */
static gboolean
is_name_byte (guchar c)
{
  static const char others[] = "-?!*+/<>=_.%&'";

  return c >= 0x80 || g_ascii_isalnum (c) || (c != '\0' && memchr (others, c, sizeof others - 1) != NULL);
}

gboolean
rthunk_value_is_field_name (const char *name)
{
  /* a reader asks for every symbol it reads: a table, made once */
  static guint8 name_bytes[256];
  static gsize made;

  if (g_once_init_enter (&made))
    {
      for (guint c = 0; c < G_N_ELEMENTS (name_bytes); c++)
        name_bytes[c] = is_name_byte ((guchar) c);
      g_once_init_leave (&made, 1);
    }
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!name_bytes[(guchar) *p])
      return FALSE;
  return TRUE;
}

/**
 * rthunk_value_new_record:
 * @names: (array length=n_fields): the field names, distinct, in any order;
 *   each a name the reader reads as a keyword after its colon (letters,
 *   digits and `-?!*+/<>=_.%&'`), so that the printed record reads back
 * @values: (array length=n_fields): their values
 * @n_fields: how many fields
 *
 * Makes a record: `{:age 36 :name "ada"}`. rthunk_value_get_length()
 * counts its fields, rthunk_value_get_item() and
 * rthunk_value_get_field_name() give them in the order of their names.
 *
 * Returns: (transfer full) (nullable): a new record holding a reference to
 *   each value, or %NULL when a name repeats or is not a keyword name
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_record (const char *const  *names,
                         RthunkValue *const *values,
                         gsize               n_fields)
{
  g_autofree Field *fields = g_new (Field, MAX (n_fields, 1));
  RthunkValue *value;

  g_return_val_if_fail (names != NULL || n_fields == 0, NULL);
  g_return_val_if_fail (values != NULL || n_fields == 0, NULL);

  for (gsize k = 0; k < n_fields; k++)
    {
      if (!rthunk_value_is_field_name (names[k]))
        return NULL;
      fields[k] = (Field) { names[k], values[k] };
    }
  qsort (fields, n_fields, sizeof (Field), field_compare);
  for (gsize k = 1; k < n_fields; k++)
    if (strcmp (fields[k].name, fields[k - 1].name) == 0)
      return NULL;
  value = value_alloc (RTHUNK_VALUE_RECORD);
  value->u.list.n_items = n_fields;
  value->u.list.ints = NULL;
  value->u.list.items = g_new (RthunkValue *, MAX (n_fields, 1));
  value->u.list.names = g_atomic_rc_box_alloc0 ((n_fields + 1) * sizeof (char *));
  for (gsize k = 0; k < n_fields; k++)
    {
      value->u.list.items[k] = rthunk_value_ref (fields[k].value);
      value->u.list.names[k] = g_strdup (fields[k].name);
    }
  return value;
}

static void
names_clear (gpointer names)
{
  for (char **p = names; *p != NULL; p++)
    g_free (*p);
}

RthunkValue *
rthunk_value_new_like (const RthunkValue  *container,
                       RthunkValue *const *items)
{
  gsize n = container->u.list.n_items;
  RthunkValue *value;

  if (container->kind == RTHUNK_VALUE_LIST)
    return rthunk_value_new_list (items, n);
  g_assert (container->kind == RTHUNK_VALUE_RECORD);
  value = value_alloc (RTHUNK_VALUE_RECORD);
  value->u.list.n_items = n;
  value->u.list.ints = NULL;
  value->u.list.items = g_new (RthunkValue *, MAX (n, 1));
  value->u.list.names = g_atomic_rc_box_acquire (container->u.list.names);
  for (gsize k = 0; k < n; k++)
    value->u.list.items[k] = rthunk_value_ref (items[k]);
  return value;
}

gssize
rthunk_value_find_field (const RthunkValue *record,
                         const char        *name)
{
  gsize lo = 0, hi = record->u.list.n_items;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      int c = strcmp (name, record->u.list.names[mid]);

      if (c == 0)
        return (gssize) mid;
      if (c < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return -1;
}

RthunkValue *
rthunk_value_record_assoc (const RthunkValue *record,
                           gsize              index,
                           RthunkValue       *value)
{
  g_autofree RthunkValue **items = g_memdup2 (record->u.list.items,
                                               record->u.list.n_items * sizeof (RthunkValue *));

  g_assert (index < record->u.list.n_items);
  items[index] = value;
  return rthunk_value_new_like (record, items);
}

/**
 * rthunk_value_get_field_name:
 * @value: a record
 * @index: below rthunk_value_get_length()
 *
 * Gives the name of a field of a record; its value is
 * rthunk_value_get_item() at the same index.
 *
 * Returns: (transfer none): the name, without the colon
 *
 * Since: 0.1
 */
const char *
rthunk_value_get_field_name (const RthunkValue *value,
                             gsize              index)
{
  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_RECORD, NULL);
  g_return_val_if_fail (index < value->u.list.n_items, NULL);

  return value->u.list.names[index];
}

/**
 * rthunk_value_lookup_field:
 * @value: a record
 * @name: a field name, without the colon
 *
 * Finds a field of a record by name.
 *
 * Returns: (transfer none) (nullable): its value, or %NULL when the record
 *   has no such field
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_lookup_field (const RthunkValue *value,
                           const char        *name)
{
  gssize index;

  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_RECORD, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  index = rthunk_value_find_field (value, name);
  return index < 0 ? NULL : value->u.list.items[index];
}

/* A list of ints, stored unboxed: takes @ints, allocated with g_malloc(). */
RthunkValue *
rthunk_value_new_int_list_take (gint64 *ints,
                                gsize   n_items)
{
  RthunkValue *value = value_alloc (RTHUNK_VALUE_LIST);

  value->u.list.n_items = n_items;
  value->u.list.ints = ints != NULL ? ints : g_new (gint64, 1);
  value->u.list.items = NULL;
  return value;
}

/* The boxed elements of a list of ints, made once: two threads may race
 * to make them, and the loser frees its copy. */
static RthunkValue **
list_box_items (const RthunkValue *list)
{
  RthunkValue *value = (RthunkValue *) list;   /* only @items changes, once */
  RthunkValue **items = g_atomic_pointer_get (&value->u.list.items);
  gsize n = value->u.list.n_items;

  if (items != NULL)
    return items;
  items = g_new (RthunkValue *, MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    items[k] = rthunk_value_new_int (value->u.list.ints[k]);
  if (g_atomic_pointer_compare_and_exchange ((gpointer *) &value->u.list.items, NULL, items))
    return items;
  for (gsize k = 0; k < n; k++)
    rthunk_value_unref (items[k]);
  g_free (items);
  return g_atomic_pointer_get (&value->u.list.items);
}

/**
 * rthunk_value_new_func:
 * @name: the name the function prints as
 * @data: (nullable): what the evaluator needs to call it
 * @destroy: (nullable): frees @data
 *
 * Makes a function value.
 *
 * Returns: (transfer full): a new function value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_func (const char     *name,
                       gpointer        data,
                       GDestroyNotify  destroy)
{
  return value_new_handle (RTHUNK_VALUE_FUNC, g_strdup (name != NULL ? name : "fn"), FALSE, data, destroy);
}

/**
 * rthunk_value_new_pending:
 * @label: how the value prints, e.g. `#a1b2 @alpha`
 * @handle: what stands for the value until it arrives
 * @force: (scope forever): waits for the value of @handle
 * @destroy: (nullable): frees @handle
 *
 * Makes a pending value: one that stands for a value still to arrive, which
 * @force waits for.
 *
 * Returns: (transfer full): a new pending value
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_pending (const char         *label,
                          gpointer            handle,
                          RthunkPendingForce  force,
                          GDestroyNotify      destroy)
{
  g_return_val_if_fail (force != NULL, NULL);

  return value_new_pending (g_strdup (label != NULL ? label : "?"), FALSE, handle, force, destroy);
}

/* A copy of the name less per pending value: 10^5 of them held 3 MB. */
RthunkValue *
rthunk_value_new_pending_borrowing (const char         *label,
                                    gpointer            handle,
                                    RthunkPendingForce  force,
                                    GDestroyNotify      destroy)
{
  g_assert (label != NULL && force != NULL);
  return value_new_pending ((char *) label, TRUE, handle, force, destroy);
}

/**
 * rthunk_value_new_reference:
 * @label: how the value prints, e.g. `#a1b2 @alpha`
 * @handle: what names the value on its server
 * @force: (scope forever): fetches the value of @handle
 * @destroy: (nullable): frees @handle
 *
 * A remote reference: a value that stays on its server until someone needs
 * it. Unlike a pending value it counts as available
 * (rthunk_value_is_pending() is %FALSE): it can be bound, printed (as
 * `<ref LABEL>`) and sent to its server as a reference, and only
 * rthunk_value_force(), or an operation that needs the value, fetches it.
 *
 * Returns: (transfer full): a new remote reference
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_new_reference (const char         *label,
                            gpointer            handle,
                            RthunkPendingForce  force,
                            GDestroyNotify      destroy)
{
  RthunkValue *value = rthunk_value_new_pending (label, handle, force, destroy);

  if (value != NULL)
    value->u.handle.reference = TRUE;
  return value;
}

/**
 * rthunk_value_is_reference:
 * @value: a value
 *
 * Tells whether @value is a reference to a value kept on a server.
 *
 * Returns: whether @value is a remote reference (see
 *   rthunk_value_new_reference())
 *
 * Since: 0.1
 */
gboolean
rthunk_value_is_reference (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, FALSE);

  return value->kind == RTHUNK_VALUE_PENDING && value->u.handle.reference;
}

/**
 * rthunk_value_ref:
 * @value: a value
 *
 * Takes a reference to @value.
 *
 * Returns: (transfer full): @value with one more reference
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_ref (RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);

  return rthunk_value_ref_fast (value);
}

static void
value_free (RthunkValue *value)
{
  switch (value->kind)
    {
    case RTHUNK_VALUE_STR:
      g_free (value->u.str);
      break;
    case RTHUNK_VALUE_LIST:
    case RTHUNK_VALUE_RECORD:
      if (value->u.list.items != NULL)
        for (gsize k = 0; k < value->u.list.n_items; k++)
          rthunk_value_unref (value->u.list.items[k]);
      g_free (value->u.list.items);
      g_free (value->u.list.ints);
      if (value->kind == RTHUNK_VALUE_RECORD)
        g_atomic_rc_box_release_full (value->u.list.names, names_clear);
      break;
    case RTHUNK_VALUE_FUNC:
    case RTHUNK_VALUE_PENDING:
      if (value->u.handle.destroy != NULL)
        value->u.handle.destroy (value->u.handle.data);
      if (!value->u.handle.name_borrowed)
        g_free (value->u.handle.name);
      break;
    case RTHUNK_VALUE_NIL:
    case RTHUNK_VALUE_BOOL:
    case RTHUNK_VALUE_INT:
    case RTHUNK_VALUE_FLOAT:
    default:
      break;
    }
  g_free (value);
}

/**
 * rthunk_value_unref:
 * @value: (transfer full): a value
 *
 * Drops a reference; the last one frees the value.
 *
 * Since: 0.1
 */
void
rthunk_value_unref (RthunkValue *value)
{
  g_return_if_fail (value != NULL);

  if (value->ref_count >= 0 && g_atomic_int_dec_and_test (&value->ref_count))
    value_free (value);
}

/**
 * rthunk_value_get_kind:
 * @value: a value
 *
 * Tells what kind of value @value is.
 *
 * Returns: what @value holds
 *
 * Since: 0.1
 */
RthunkValueKind
rthunk_value_get_kind (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, RTHUNK_VALUE_NIL);

  return value->kind;
}

/**
 * rthunk_value_is_pending:
 * @value: a value
 *
 * Tells whether @value is still to arrive.
 *
 * Returns: whether @value stands for a thunk that has not delivered yet
 *   (a remote reference does not: it is available, as a reference)
 *
 * Since: 0.1
 */
gboolean
rthunk_value_is_pending (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, FALSE);

  return value->kind == RTHUNK_VALUE_PENDING && !value->u.handle.reference;
}

/**
 * rthunk_value_get_bool:
 * @value: a bool value
 *
 * Gives the truth value of a bool value.
 *
 * Returns: the truth value
 *
 * Since: 0.1
 */
gboolean
rthunk_value_get_bool (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_BOOL, FALSE);

  return value->u.b;
}

/**
 * rthunk_value_get_int:
 * @value: an int value
 *
 * Gives the integer of an int value.
 *
 * Returns: the integer
 *
 * Since: 0.1
 */
gint64
rthunk_value_get_int (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_INT, 0);

  return value->u.i;
}

/**
 * rthunk_value_get_float:
 * @value: a float value
 *
 * Gives the number of a float value.
 *
 * Returns: the number
 *
 * Since: 0.1
 */
double
rthunk_value_get_float (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_FLOAT, 0.0);

  return value->u.f;
}

/**
 * rthunk_value_get_str:
 * @value: a str value
 *
 * Gives the text of a str value.
 *
 * Returns: (transfer none): the text
 *
 * Since: 0.1
 */
const char *
rthunk_value_get_str (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL && value->kind == RTHUNK_VALUE_STR, NULL);

  return value->u.str;
}

/**
 * rthunk_value_get_length:
 * @value: a list value
 *
 * Counts the elements of a list value.
 *
 * Returns: the number of elements
 *
 * Since: 0.1
 */
gsize
rthunk_value_get_length (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, 0);
  g_return_val_if_fail (value->kind == RTHUNK_VALUE_LIST || value->kind == RTHUNK_VALUE_RECORD, 0);

  return value->u.list.n_items;
}

/**
 * rthunk_value_get_item:
 * @value: a list value
 * @index: an index below rthunk_value_get_length()
 *
 * Gives an element of a list value.
 *
 * Returns: (transfer none): the element at @index
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_get_item (const RthunkValue *value,
                       gsize              index)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (value->kind == RTHUNK_VALUE_LIST || value->kind == RTHUNK_VALUE_RECORD, NULL);
  g_return_val_if_fail (index < value->u.list.n_items, NULL);

  if (value->u.list.ints != NULL)
    return list_box_items (value)[index];
  return value->u.list.items[index];
}

/**
 * rthunk_value_get_name:
 * @value: a function or pending value
 *
 * Gives the name of a function value or the label of a pending one.
 *
 * Returns: (transfer none): the name of a function, the label of a pending
 *   value
 *
 * Since: 0.1
 */
const char *
rthunk_value_get_name (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (value->kind == RTHUNK_VALUE_FUNC ||
                        value->kind == RTHUNK_VALUE_PENDING, NULL);

  return value->u.handle.name;
}

/**
 * rthunk_value_get_handle:
 * @value: a function or pending value
 *
 * Gives the data behind a function or pending value.
 *
 * Returns: (transfer none) (nullable): the data given when @value was made
 *
 * Since: 0.1
 */
gpointer
rthunk_value_get_handle (const RthunkValue *value)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (value->kind == RTHUNK_VALUE_FUNC ||
                        value->kind == RTHUNK_VALUE_PENDING, NULL);

  return value->u.handle.data;
}

/**
 * rthunk_value_force:
 * @value: a value
 * @error: return location for a #GError
 *
 * Waits until a pending value has arrived. A value that is not pending is
 * returned as it is.
 *
 * Returns: (transfer full) (nullable): the value, never pending, or %NULL
 *   with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_value_force (RthunkValue  *value,
                    GError      **error)
{
  g_autoptr(RthunkValue) current = NULL;

  g_return_val_if_fail (value != NULL, NULL);

  current = rthunk_value_ref (value);
  while (current->kind == RTHUNK_VALUE_PENDING)
    {
      RthunkValue *next = current->u.handle.force (current->u.handle.data, error);

      if (next == NULL)
        return NULL;
      rthunk_value_unref (current);
      current = next;
    }
  return g_steal_pointer (&current);
}

/**
 * rthunk_value_equal:
 * @a: a value
 * @b: a value
 *
 * Structural equality. Functions and pending values are equal only to
 * themselves.
 *
 * Returns: whether @a equals @b
 *
 * Since: 0.1
 */
gboolean
rthunk_value_equal (const RthunkValue *a,
                    const RthunkValue *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a == b)
    return TRUE;
  if (a->kind != b->kind)
    return FALSE;
  switch (a->kind)
    {
    case RTHUNK_VALUE_NIL:
      return TRUE;
    case RTHUNK_VALUE_BOOL:
      return a->u.b == b->u.b;
    case RTHUNK_VALUE_INT:
      return a->u.i == b->u.i;
    case RTHUNK_VALUE_FLOAT:
      return a->u.f == b->u.f;
    case RTHUNK_VALUE_STR:
      return strcmp (a->u.str, b->u.str) == 0;
    case RTHUNK_VALUE_LIST:
      if (a->u.list.n_items != b->u.list.n_items)
        return FALSE;
      if (a->u.list.ints != NULL && b->u.list.ints != NULL)
        return memcmp (a->u.list.ints, b->u.list.ints, a->u.list.n_items * sizeof (gint64)) == 0;
      for (gsize k = 0; k < a->u.list.n_items; k++)
        if (!rthunk_value_equal (rthunk_value_get_item (a, k), rthunk_value_get_item (b, k)))
          return FALSE;
      return TRUE;
    case RTHUNK_VALUE_RECORD:
      if (a->u.list.n_items != b->u.list.n_items)
        return FALSE;
      for (gsize k = 0; k < a->u.list.n_items; k++)
        if ((a->u.list.names != b->u.list.names && strcmp (a->u.list.names[k], b->u.list.names[k]) != 0) ||
            !rthunk_value_equal (a->u.list.items[k], b->u.list.items[k]))
          return FALSE;
      return TRUE;
    case RTHUNK_VALUE_FUNC:
    case RTHUNK_VALUE_PENDING:
    default:
      return FALSE;
    }
}

/* The fewest significant digits that read back as the same double. */
static int
shortest_digits (double f)
{
  for (int digits = 1; digits < 17; digits++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      char format[8];

      g_snprintf (format, sizeof format, "%%.%de", digits - 1);
      g_ascii_formatd (buf, sizeof buf, format, f);
      if (g_ascii_strtod (buf, NULL) == f)
        return digits;
    }
  return 17;
}

static void
print_float (double f,
             GString *out)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];
  int digits;
  gint64 exponent;

  if (isnan (f))
    {
      g_string_append (out, "##NaN");
      return;
    }
  if (isinf (f))
    {
      g_string_append (out, f > 0 ? "##Inf" : "##-Inf");
      return;
    }
  digits = shortest_digits (f);
  g_snprintf (format, sizeof format, "%%.%de", digits - 1);
  g_ascii_formatd (buf, sizeof buf, format, f);
  /* everyday magnitudes without an exponent: 10.0, not 1e+01 */
  exponent = g_ascii_strtoll (strchr (buf, 'e') + 1, NULL, 10);
  if (exponent >= -4 && exponent < 16)
    {
      g_snprintf (format, sizeof format, "%%.%df", (int) MAX (digits - 1 - exponent, 0));
      g_ascii_formatd (buf, sizeof buf, format, f);
    }
  g_string_append (out, buf);
  if (strpbrk (buf, ".e") == NULL)
    g_string_append (out, ".0");
}

static void
print_str (const char *text,
           GString    *out)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\r': g_string_append (out, "\\r"); break;
        default:
          if ((guchar) *p < 0x20 || *p == 0x7f)
            g_string_append_printf (out, "\\u{%x}", (guchar) *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

/* Item @k of @list, printed, without boxing a list of ints. */
static void
print_item (const RthunkValue *list,
            gsize              k,
            GString           *out)
{
  if (list->u.list.ints != NULL)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, list->u.list.ints[k]);
  else
    rthunk_value_print (list->u.list.items[k], out);
}

/**
 * rthunk_value_print:
 * @value: a value
 * @out: where to append the printed form
 *
 * Appends the printed form of @value: `42`, `2.5`, `1.0`, `true`,
 * `"text"`, `nil`, `[1 2 3]`, `{:age 36 :name "ada"}`, `<fn sq>`, `<pending #ID @server>`.
 *
 * Since: 0.1
 */
void
rthunk_value_print (const RthunkValue *value,
                    GString           *out)
{
  g_return_if_fail (value != NULL && out != NULL);

  switch (value->kind)
    {
    case RTHUNK_VALUE_NIL:
      g_string_append (out, "nil");
      break;
    case RTHUNK_VALUE_BOOL:
      g_string_append (out, value->u.b ? "true" : "false");
      break;
    case RTHUNK_VALUE_INT:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, value->u.i);
      break;
    case RTHUNK_VALUE_FLOAT:
      print_float (value->u.f, out);
      break;
    case RTHUNK_VALUE_STR:
      print_str (value->u.str, out);
      break;
    case RTHUNK_VALUE_LIST:
      g_string_append_c (out, '[');
      for (gsize k = 0; k < value->u.list.n_items; k++)
        {
          if (k > 0)
            g_string_append_c (out, ' ');
          print_item (value, k, out);
        }
      g_string_append_c (out, ']');
      break;
    case RTHUNK_VALUE_RECORD:
      g_string_append_c (out, '{');
      for (gsize k = 0; k < value->u.list.n_items; k++)
        {
          g_string_append_printf (out, "%s:%s ", k > 0 ? " " : "", value->u.list.names[k]);
          rthunk_value_print (value->u.list.items[k], out);
        }
      g_string_append_c (out, '}');
      break;
    case RTHUNK_VALUE_FUNC:
      g_string_append_printf (out, "<fn %s>", value->u.handle.name);
      break;
    case RTHUNK_VALUE_PENDING:
    default:
      g_string_append_printf (out, value->u.handle.reference ? "<ref %s>" : "<pending %s>",
                              value->u.handle.name);
      break;
    }
}

/**
 * rthunk_value_print_abridged:
 * @value: a value
 * @max_items: how many items of a list to print at most
 * @out: where to append the printed form
 *
 * Like rthunk_value_print(), but a list of more than @max_items items
 * prints as its first @max_items items, its last item and its length:
 * `[0 1 2 … 1999999] (2000000 items)`. What a person is shown of a value
 * that may be large.
 *
 * Since: 0.1
 */
void
rthunk_value_print_abridged (const RthunkValue *value,
                             gsize              max_items,
                             GString           *out)
{
  gsize n;

  g_return_if_fail (value != NULL && out != NULL);

  if (value->kind != RTHUNK_VALUE_LIST || (n = value->u.list.n_items) <= max_items)
    {
      rthunk_value_print (value, out);
      return;
    }
  g_string_append_c (out, '[');
  for (gsize k = 0; k < max_items; k++)
    {
      print_item (value, k, out);
      g_string_append_c (out, ' ');
    }
  g_string_append (out, "… ");
  print_item (value, n - 1, out);
  g_string_append_printf (out, "] (%" G_GSIZE_FORMAT " items)", n);
}

/**
 * rthunk_value_to_string:
 * @value: a value
 *
 * Prints @value as the shell shows it.
 *
 * Returns: (transfer full): the printed form of @value
 *
 * Since: 0.1
 */
char *
rthunk_value_to_string (const RthunkValue *value)
{
  GString *out = g_string_new (NULL);

  rthunk_value_print (value, out);
  return g_string_free (out, FALSE);
}

/* A new table, name → value, of @values (which may be NULL) with each value
 * replaced by what @swap says. */
GHashTable *
rthunk_value_table_map (GHashTable      *values,
                        RthunkValueSwap  swap,
                        gpointer         user_data)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) rthunk_value_unref);
  GHashTableIter iter;
  gpointer name, value;

  if (values == NULL)
    return out;
  g_hash_table_iter_init (&iter, values);
  while (g_hash_table_iter_next (&iter, &name, &value))
    g_hash_table_insert (out, g_strdup (name), rthunk_value_ref (swap (value, user_data)));
  return out;
}

/* What @value really holds in memory, in bytes: the value itself, a
 * string's text, a list's unboxed ints and its boxed items (made by
 * rthunk_value_get_item(), which this never calls: measuring a list of a
 * million ints must not box them). Shared values count in full each time
 * they appear. Values nest at most a few hundred deep (evaluation and the
 * wire bound them). */
gsize
rthunk_value_measure (RthunkValue *value)
{
  RthunkValue **items;
  gsize size = sizeof (RthunkValue) + 16;       /* and malloc's header */

  switch (value->kind)
    {
    case RTHUNK_VALUE_STR:
      return size + strlen (value->u.str) + 1;
    case RTHUNK_VALUE_LIST:
      if (value->u.list.ints != NULL)
        size += value->u.list.n_items * sizeof (gint64);
      items = g_atomic_pointer_get (&value->u.list.items);
      for (gsize k = 0; items != NULL && k < value->u.list.n_items; k++)
        size += sizeof (gpointer) + rthunk_value_measure (items[k]);
      return size;
    case RTHUNK_VALUE_RECORD:
      for (gsize k = 0; k < value->u.list.n_items; k++)
        size += 2 * sizeof (gpointer) + strlen (value->u.list.names[k]) + 1 +
                rthunk_value_measure (value->u.list.items[k]);
      return size;
    default:
      return size;
    }
}
