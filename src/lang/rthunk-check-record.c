/* rthunk-check-record.c — records in the type checker
 *
 * A record literal {:age 36 :name "ada"} (read as (record :age 36 :name
 * "ada")) has the closed type {age: int, name: str}. Reading a field,
 * (:age r) or (get r :age), unifies the record's type with the open
 * record {age: a | r}: any record that has the field, whatever else it
 * has (row polymorphism). (assoc r :age 37) keeps the record's type.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-check-private.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"

/* (record :k1 v1 :k2 v2 …): a closed record of the values' types. */
RthunkType *
rthunk_check_record (RthunkCheckCtx    *ctx,
                     RthunkNode        *form,
                     RthunkCheckScope  *scope,
                     gboolean           tail,
                     GError           **error)
{
  guint n = rthunk_node_get_n_items (form);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  RthunkType *type;

  if (n % 2 == 0)
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX,
                             _("a record needs a value after each field name"));
      return NULL;
    }
  for (guint k = 1; k < n; k += 2)
    {
      RthunkNode *key = rthunk_node_get_item (form, k);
      RthunkType *value;

      if (rthunk_node_get_kind (key) != RTHUNK_NODE_KEYWORD)
        {
          rthunk_set_node_error (error, key, RTHUNK_ERROR_SYNTAX,
                                 _("a field name is a keyword such as :age"));
          return NULL;
        }
      if ((value = rthunk_check_infer (ctx, rthunk_node_get_item (form, k + 1), scope, error)) == NULL)
        return NULL;
      g_ptr_array_add (names, (gpointer) rthunk_node_get_text (key));
      g_ptr_array_add (types, value);
    }
  type = rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType **) types->pdata,
                                 types->len, NULL);
  if (type == NULL)
    rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX, _("a field name repeats in this record"));
  return type;
}

/* "the record has no field …": what a record of type @found that lacks
 * field @name is told. */
static char *
missing_field_text (RthunkType *found,
                    const char *name)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  g_autoptr(GString) list = g_string_new (NULL);
  const char *nearest = NULL;
  RthunkType *row;

  rthunk_type_record_fields (found, names, types, &row);
  if (names->len == 0)
    return g_strdup_printf (_("the record has no field “:%s”: it has no fields"), name);
  for (guint k = 0; k < names->len; k++)
    g_string_append_printf (list, "%s:%s", k > 0 ? " " : "", (char *) g_ptr_array_index (names, k));
  /* as for unknown names: a short one is near any other */
  if (strlen (name) >= 3)
    nearest = rthunk_nearest_name (name, (const char *const *) names->pdata, names->len);
  if (nearest != NULL)
    return g_strdup_printf (_("the record has no field “:%s” (did you mean “:%s”?); its fields: %s"),
                            name, nearest, list->str);
  return g_strdup_printf (_("the record has no field “:%s”; its fields: %s"), name, list->str);
}

/* When @expected and @found are records and @found, closed, lacks a field
 * @expected has: "; the record has no field …", for a mismatch's message. */
char *
rthunk_check_record_hint (RthunkType *expected,
                          RthunkType *found)
{
  g_autoptr(GPtrArray) want = g_ptr_array_new ();
  g_autoptr(GPtrArray) want_types = g_ptr_array_new ();
  g_autoptr(GPtrArray) have = g_ptr_array_new ();
  g_autoptr(GPtrArray) have_types = g_ptr_array_new ();
  g_autofree char *text = NULL;
  RthunkType *row;

  if (rthunk_type_get_kind (expected) != RTHUNK_TYPE_RECORD ||
      rthunk_type_get_kind (found) != RTHUNK_TYPE_RECORD)
    return NULL;
  rthunk_type_record_fields (expected, want, want_types, &row);
  rthunk_type_record_fields (found, have, have_types, &row);
  if (row != NULL)
    return NULL;
  for (guint k = 0; k < want->len; k++)
    if (!g_ptr_array_find_with_equal_func (have, g_ptr_array_index (want, k), g_str_equal, NULL))
      {
        text = missing_field_text (found, g_ptr_array_index (want, k));
        return g_strconcat ("; ", text, NULL);
      }
  return NULL;
}

/* The type of field @key of @record: unifies the record's type with
 * {key: a | r} and gives a. */
static RthunkType *
infer_field (RthunkCheckCtx    *ctx,
             RthunkNode        *record,
             RthunkNode        *key,
             RthunkCheckScope  *scope,
             RthunkType       **record_type,
             GError           **error)
{
  const char *name = rthunk_node_get_text (key);
  g_autoptr(RthunkType) found = NULL;
  g_autoptr(RthunkType) field = rthunk_check_fresh (ctx);
  g_autoptr(RthunkType) row = rthunk_check_fresh (ctx);
  g_autoptr(RthunkType) expected = rthunk_type_new_record (&name, &field, 1, row);

  if ((found = rthunk_check_infer (ctx, record, scope, error)) == NULL)
    return NULL;
  if (!rthunk_type_unify (expected, found))
    {
      if (rthunk_type_get_kind (found) == RTHUNK_TYPE_RECORD)
        {
          g_autofree char *text = missing_field_text (found, name);

          rthunk_set_node_error (error, record, RTHUNK_ERROR_TYPE_MISMATCH, "%s", text);
        }
      else
        rthunk_check_expect (ctx, expected, found, record, _("field access"), error);
      return NULL;
    }
  if (record_type != NULL)
    *record_type = g_steal_pointer (&found);
  return g_steal_pointer (&field);
}

static gboolean
require_keyword (RthunkNode  *node,
                 GError     **error)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_KEYWORD)
    return TRUE;
  rthunk_set_node_error (error, node, RTHUNK_ERROR_SYNTAX,
                         _("a field name is a keyword such as :age"));
  return FALSE;
}

static gboolean
require_args (RthunkNode  *form,
              guint        n_args,
              const char  *usage,
              GError     **error)
{
  if (rthunk_node_get_n_items (form) == n_args + 1)
    return TRUE;
  rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX, _("usage: %s"), usage);
  return FALSE;
}

/* (:age r) */
RthunkType *
rthunk_check_field_call (RthunkCheckCtx    *ctx,
                         RthunkNode        *form,
                         RthunkCheckScope  *scope,
                         GError           **error)
{
  if (!require_args (form, 1, "(:field record)", error))
    return NULL;
  return infer_field (ctx, rthunk_node_get_item (form, 1), rthunk_node_get_item (form, 0),
                      scope, NULL, error);
}

/* (get r :age) */
RthunkType *
rthunk_check_get (RthunkCheckCtx    *ctx,
                  RthunkNode        *form,
                  RthunkCheckScope  *scope,
                  gboolean           tail,
                  GError           **error)
{
  if (!require_args (form, 2, "(get record :field)", error) ||
      !require_keyword (rthunk_node_get_item (form, 2), error))
    return NULL;
  return infer_field (ctx, rthunk_node_get_item (form, 1), rthunk_node_get_item (form, 2),
                      scope, NULL, error);
}

/* (assoc r :age 37): the record with the field replaced by a value of its
 * type; the record's type stays. */
RthunkType *
rthunk_check_assoc (RthunkCheckCtx    *ctx,
                    RthunkNode        *form,
                    RthunkCheckScope  *scope,
                    gboolean           tail,
                    GError           **error)
{
  RthunkNode *value = NULL;
  g_autoptr(RthunkType) record_type = NULL;
  g_autoptr(RthunkType) field = NULL;
  g_autoptr(RthunkType) found = NULL;
  g_autofree char *what = NULL;

  if (!require_args (form, 3, "(assoc record :field value)", error) ||
      !require_keyword (rthunk_node_get_item (form, 2), error))
    return NULL;
  field = infer_field (ctx, rthunk_node_get_item (form, 1), rthunk_node_get_item (form, 2),
                       scope, &record_type, error);
  value = rthunk_node_get_item (form, 3);
  if (field == NULL || (found = rthunk_check_infer (ctx, value, scope, error)) == NULL)
    return NULL;
  what = g_strdup_printf (_("the new value of field “:%s”"),
                          rthunk_node_get_text (rthunk_node_get_item (form, 2)));
  if (!rthunk_check_expect (ctx, field, found, value, what, error))
    return NULL;
  return g_steal_pointer (&record_type);
}
