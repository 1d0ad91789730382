/* rthunk-client-validate.c — what a server sends, checked against the type
 * the client expects
 *
 * The client type-checked every expression it submitted, so it knows the
 * type of the value each thunk must deliver (the RemoteHandle of its
 * pending value keeps it). A server that is faulty or hostile may send
 * anything the wire can carry: nil, bools, ints, floats, strings, and
 * lists and records of them, nested. Before anything uses a value it is checked here,
 * structurally, against that type: a str where [int] is due, an int where
 * a function is due (functions never travel), a list that mixes its
 * elements' types. Type variables of a polymorphic result are bound by the
 * first value that meets them, so [a] accepts [1 2] and ["x"] but not
 * [1 "x"], and their classes hold (num a takes an int or a float).
 *
 * A scalar where a scalar is due costs two comparisons; only lists copy
 * the expected type (and only a type with variables needs the copy).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-client-internal.h"
#include "rthunk-client-private.h"
#include "rthunk-error.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* The type kind a value of a scalar kind has; RTHUNK_TYPE_VAR for the
 * others. */
static RthunkTypeKind
scalar_type_kind (RthunkValueKind kind)
{
  switch (kind)
    {
    case RTHUNK_VALUE_NIL:   return RTHUNK_TYPE_NIL;
    case RTHUNK_VALUE_BOOL:  return RTHUNK_TYPE_BOOL;
    case RTHUNK_VALUE_INT:   return RTHUNK_TYPE_INT;
    case RTHUNK_VALUE_FLOAT: return RTHUNK_TYPE_FLOAT;
    case RTHUNK_VALUE_STR:   return RTHUNK_TYPE_STR;
    case RTHUNK_VALUE_LIST:
    case RTHUNK_VALUE_FUNC:
    case RTHUNK_VALUE_PENDING:
    default:                 return RTHUNK_TYPE_VAR;
    }
}

static gboolean conforms (RthunkValue *value, RthunkType *type);
static gboolean record_conforms (RthunkValue *record, RthunkType *type);

/* A type variable meets a scalar: binds it (its class must allow it). */
static gboolean
bind_scalar (RthunkType     *var,
             RthunkTypeKind  kind)
{
  g_autoptr(RthunkType) basic = rthunk_type_new_basic (kind);

  return rthunk_type_unify (var, basic);
}

/* The elements of a list, against the element type @element. */
static gboolean
items_conform (RthunkValue *list,
               RthunkType  *element)
{
  gsize n = rthunk_value_peek_length (list);

  /* an unboxed list of ints is one check, whatever its length */
  if (rthunk_value_peek_ints (list) != NULL)
    {
      element = rthunk_type_prune (element);
      if (rthunk_type_get_kind (element) == RTHUNK_TYPE_VAR)
        return n == 0 || bind_scalar (element, RTHUNK_TYPE_INT);
      return n == 0 || rthunk_type_get_kind (element) == RTHUNK_TYPE_INT;
    }
  for (gsize k = 0; k < n; k++)
    if (!conforms (rthunk_value_get_item (list, k), element))
      return FALSE;
  return TRUE;
}

/* A record against @type: a record type has each of its fields (and only
 * them when it is closed); a variable becomes the record's own type, of
 * fresh variables, first. */
static gboolean
record_conforms (RthunkValue *record,
                 RthunkType  *type)
{
  gsize n = rthunk_value_get_length (record);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  RthunkType *row;

  if (rthunk_type_get_kind (type) == RTHUNK_TYPE_VAR)
    {
      g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
      g_autoptr(RthunkType) shape = NULL;

      for (gsize k = 0; k < n; k++)
        {
          g_ptr_array_add (fresh, rthunk_type_new_var_at (0, RTHUNK_TYPE_CLASS_ANY, 1));
          g_ptr_array_add (names, (gpointer) rthunk_value_get_field_name (record, k));
        }
      shape = rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType **) fresh->pdata, n, NULL);
      if (!rthunk_type_unify (type, shape))
        return FALSE;
      g_ptr_array_set_size (names, 0);
    }
  if (rthunk_type_get_kind (type) != RTHUNK_TYPE_RECORD)
    return FALSE;
  rthunk_type_record_fields (type, names, types, &row);
  if (names->len > n || (row == NULL && names->len != n))
    return FALSE;
  for (guint k = 0; k < names->len; k++)
    {
      RthunkValue *field = rthunk_value_lookup_field (record, g_ptr_array_index (names, k));

      if (field == NULL || !conforms (field, g_ptr_array_index (types, k)))
        return FALSE;
    }
  return TRUE;
}

/* Whether @value can have @type (a copy whose variables may be bound). */
static gboolean
conforms (RthunkValue *value,
          RthunkType  *type)
{
  RthunkValueKind kind = rthunk_value_get_kind (value);
  RthunkTypeKind scalar = scalar_type_kind (kind);
  g_autoptr(RthunkType) element = NULL;
  g_autoptr(RthunkType) list = NULL;

  type = rthunk_type_prune (type);
  /* a maybe value is nil or a value of its type, unwrapped */
  if (rthunk_type_get_kind (type) == RTHUNK_TYPE_MAYBE)
    return kind == RTHUNK_VALUE_NIL || conforms (value, rthunk_type_get_child (type, 0));
  if (scalar != RTHUNK_TYPE_VAR)
    return rthunk_type_get_kind (type) == RTHUNK_TYPE_VAR ? bind_scalar (type, scalar)
                                                          : rthunk_type_get_kind (type) == scalar;
  if (kind == RTHUNK_VALUE_RECORD)
    return record_conforms (value, type);
  if (kind != RTHUNK_VALUE_LIST)
    return FALSE;               /* functions and thunks never arrive as values */
  if (rthunk_type_get_kind (type) == RTHUNK_TYPE_LIST)
    return items_conform (value, rthunk_type_get_child (type, 0));
  if (rthunk_type_get_kind (type) != RTHUNK_TYPE_VAR)
    return FALSE;
  /* a variable meets a list: it becomes a list of a fresh variable */
  element = rthunk_type_new_var_at (0, RTHUNK_TYPE_CLASS_ANY, 1);
  list = rthunk_type_new_list (element);
  return rthunk_type_unify (type, list) && items_conform (value, element);
}

/* What @value looks like, for a message: its type when its lists are
 * uniform. */
static char *
describe_value (RthunkValue *value)
{
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *text = NULL;
  guint next_var = 0;

  if ((type = rthunk_type_of_value (value, &next_var, NULL)) == NULL)
    return g_strdup (_("a list mixing elements of different types"));
  text = rthunk_type_to_string (type);
  return g_strdup_printf (_("a value of type %s"), text);
}

/* The error for a value that is not of type @expected. */
static void
set_mismatch (RthunkClient  *self,
              RthunkValue   *value,
              RthunkType    *expected,
              GError       **error)
{
  g_autofree char *got = describe_value (value);
  g_autofree char *want = rthunk_type_to_string (expected);

  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
               _("server %s (%s) sent %s where %s was expected"),
               rthunk_client_get_server_name (self), self->address, got, want);
}

/**
 * rthunk_client_validate: (skip)
 * @self: the client whose server sent @value
 * @value: a value a thunk of that server delivered
 * @expected: (nullable): the type the client's check found; %NULL: none
 *   is known (rthunk_client_await_many() and rthunk_client_poll() of ids)
 * @error: return location for a #GError
 *
 * Returns: %TRUE when @value can have type @expected, else %FALSE with
 *   @error set (%RTHUNK_ERROR_PROTOCOL, naming the server)
 */
gboolean
rthunk_client_validate (RthunkClient  *self,
                        RthunkValue   *value,
                        RthunkType    *expected,
                        GError       **error)
{
  g_autoptr(RthunkType) resolved = NULL;
  g_autoptr(RthunkType) copy = NULL;
  RthunkTypeKind scalar;
  guint next_id = 1;

  if (expected == NULL)
    return TRUE;
  /* the commonest answer: an int where an int is due */
  scalar = scalar_type_kind (rthunk_value_get_kind (value));
  if (scalar != RTHUNK_TYPE_VAR && rthunk_type_get_kind (expected) == scalar)
    return TRUE;
  /* variables are bound on a copy: @expected is shared, and its own
   * variables are quantified */
  resolved = rthunk_type_resolve (expected);
  copy = rthunk_type_instantiate (resolved, 1, &next_id);
  if (conforms (value, copy))
    return TRUE;
  set_mismatch (self, value, expected, error);
  return FALSE;
}

/**
 * rthunk_client_validate_for: (skip)
 * @pending: a pending value that a client gave out, or any value
 * @value: the value the thunk @pending stands for delivered
 * @error: return location for a #GError
 *
 * rthunk_client_validate() for the thunk @pending stands for, when it is
 * a client's: what RthunkThunk's collector, which polls by id, calls.
 *
 * Returns: %TRUE when @value is of the type due, or no type is known
 */
gboolean
rthunk_client_validate_for (RthunkValue   *pending,
                            RthunkValue   *value,
                            GError       **error)
{
  RemoteHandle *handle = pending != NULL ? rthunk_client_remote_handle (pending) : NULL;

  return handle == NULL || rthunk_client_validate (handle->client, value, handle->type, error);
}
