/* rthunk-value-private.h — the layout of values, for the evaluator's hot
 * paths only.  Private. */
#pragma once

#include "rthunk-value.h"

G_BEGIN_DECLS

struct _RthunkValue
{
  gint ref_count;
  RthunkValueKind kind;
  union {
    gboolean b;
    gint64 i;
    double f;
    char *str;
    struct {
      /* A list of ints keeps them unboxed in @ints; @items, the boxed
       * elements, is then made on the first rthunk_value_get_item() and
       * kept (set once, atomically).  Other lists have only @items. */
      RthunkValue **items;
      gint64 *ints;
      gsize n_items;
      char **names;             /* RECORD: the field names, sorted, in a
                                   reference-counted block (g_atomic_rc_box)
                                   that records of one shape share; a
                                   record keeps its values in @items */
    } list;
    struct {
      char *name;
      gpointer data;
      GDestroyNotify destroy;
      RthunkPendingForce force;
      gboolean reference;       /* PENDING: a remote reference, see rthunk_value_new_reference() */
    } handle;
  } u;
};

/* The handle of a function or pending value, without the public checks. */
static inline gpointer
rthunk_value_peek_handle (const RthunkValue *value)
{
  return value->u.handle.data;
}

static inline gboolean
rthunk_value_peek_pending (const RthunkValue *value)
{
  return value->kind == RTHUNK_VALUE_PENDING;
}

/* The unboxed elements of a list of ints, or %NULL for a list of boxed
 * elements. */
static inline const gint64 *
rthunk_value_peek_ints (const RthunkValue *value)
{
  return value->u.list.ints;
}

static inline gsize
rthunk_value_peek_length (const RthunkValue *value)
{
  return value->u.list.n_items;
}

RthunkValue *rthunk_value_new_int_list_take (gint64 *ints,
                                             gsize   n_items);

gsize rthunk_value_measure (RthunkValue *value);

/* Whether @name can be a field name: what the reader reads as a keyword
 * after its colon (letters, digits, and -?!*+/<>=_.%&' ), not empty. */
gboolean     rthunk_value_is_field_name (const char *name);

/* Whether @value holds other values as its items: a list or a record. */
static inline gboolean
rthunk_value_has_items (const RthunkValue *value)
{
  return value->kind == RTHUNK_VALUE_LIST || value->kind == RTHUNK_VALUE_RECORD;
}

/* A value of the kind of @container (a list, or a record with the same
 * field names) whose items are @items, as many as @container has. */
RthunkValue *rthunk_value_new_like      (const RthunkValue  *container,
                                         RthunkValue *const *items);

/* The index of field @name of @record, or -1. */
gssize       rthunk_value_find_field    (const RthunkValue *record,
                                         const char        *name);
/* @record with field @index set to @value. */
RthunkValue *rthunk_value_record_assoc  (const RthunkValue *record,
                                         gsize              index,
                                         RthunkValue       *value);

/* rthunk_value_ref() without the checks, for hot paths. */
static inline RthunkValue *
rthunk_value_ref_fast (RthunkValue *value)
{
  if (value->ref_count >= 0)
    g_atomic_int_inc (&value->ref_count);
  return value;
}

/* What rthunk_value_table_map() asks for each value: the one to put in
 * its place (borrowed). */
typedef RthunkValue *(*RthunkValueSwap) (RthunkValue *value,
                                         gpointer     user_data);

GHashTable *rthunk_value_table_map (GHashTable      *values,
                                    RthunkValueSwap  swap,
                                    gpointer         user_data);

G_END_DECLS
