/* rthunk-value.h — immutable, refcounted, tagged values */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * RthunkValueKind:
 * @RTHUNK_VALUE_NIL: the value `nil`
 * @RTHUNK_VALUE_BOOL: `true` or `false`
 * @RTHUNK_VALUE_INT: a 64-bit integer
 * @RTHUNK_VALUE_FLOAT: a double
 * @RTHUNK_VALUE_STR: a UTF-8 string
 * @RTHUNK_VALUE_LIST: a list of values
 * @RTHUNK_VALUE_FUNC: a function
 * @RTHUNK_VALUE_PENDING: a value that a thunk has not delivered yet
 * @RTHUNK_VALUE_RECORD: fields by name, `{:age 36 :name "ada"}`; its
 *   items are the field values in the order of their names
 *
 * What a #RthunkValue holds.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_VALUE_NIL,
  RTHUNK_VALUE_BOOL,
  RTHUNK_VALUE_INT,
  RTHUNK_VALUE_FLOAT,
  RTHUNK_VALUE_STR,
  RTHUNK_VALUE_LIST,
  RTHUNK_VALUE_FUNC,
  RTHUNK_VALUE_PENDING,
  RTHUNK_VALUE_RECORD,
} RthunkValueKind;

/**
 * RthunkValue:
 *
 * An immutable value of the rthunk language. Values are refcounted and,
 * once built, never change, so they can be shared between threads.
 *
 * Since: 0.1
 */
typedef struct _RthunkValue RthunkValue;

/**
 * RthunkPendingForce:
 * @handle: the handle given to rthunk_value_new_pending()
 * @error: return location for a #GError
 *
 * Waits for the value a pending handle stands for.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
typedef RthunkValue *(*RthunkPendingForce) (gpointer   handle,
                                            GError   **error);

#define RTHUNK_TYPE_VALUE (rthunk_value_get_type ())
RTHUNK_AVAILABLE_IN_ALL
GType rthunk_value_get_type (void) G_GNUC_CONST;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_nil       (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_bool      (gboolean            b) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_int       (gint64              i) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_float     (double              f) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_str       (const char         *text) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_str_take  (char               *text) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_list      (RthunkValue *const *items,
                                            gsize               n_items) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_list_take (RthunkValue       **items,
                                            gsize               n_items) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_record    (const char *const  *names,
                                            RthunkValue *const *values,
                                            gsize               n_fields) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_func      (const char         *name,
                                            gpointer            data,
                                            GDestroyNotify      destroy) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_pending   (const char         *label,
                                            gpointer            handle,
                                            RthunkPendingForce  force,
                                            GDestroyNotify      destroy) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_ref           (RthunkValue        *value);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_value_unref         (RthunkValue        *value);

RTHUNK_AVAILABLE_IN_0_1
RthunkValueKind rthunk_value_get_kind      (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_value_is_pending    (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_new_reference (const char         *label,
                                            gpointer            handle,
                                            RthunkPendingForce  force,
                                            GDestroyNotify      destroy) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_value_is_reference  (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_value_get_bool      (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
gint64          rthunk_value_get_int       (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
double          rthunk_value_get_float     (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_value_get_str       (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
gsize           rthunk_value_get_length    (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_get_item      (const RthunkValue  *value,
                                            gsize               index);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_value_get_field_name (const RthunkValue *value,
                                            gsize              index);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_lookup_field  (const RthunkValue  *value,
                                            const char         *name);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_value_get_name      (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
gpointer        rthunk_value_get_handle    (const RthunkValue  *value);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue    *rthunk_value_force         (RthunkValue        *value,
                                            GError            **error) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_value_equal         (const RthunkValue  *a,
                                            const RthunkValue  *b);
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_value_to_string     (const RthunkValue  *value) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_value_print         (const RthunkValue  *value,
                                            GString            *out);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_value_print_abridged (const RthunkValue *value,
                                             gsize              max_items,
                                             GString           *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkValue, rthunk_value_unref)

G_END_DECLS
