/* rthunk-type.h — type terms, unification and printing */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * RthunkTypeKind:
 * @RTHUNK_TYPE_VAR: a type variable
 * @RTHUNK_TYPE_INT: `int`
 * @RTHUNK_TYPE_FLOAT: `float`
 * @RTHUNK_TYPE_BOOL: `bool`
 * @RTHUNK_TYPE_STR: `str`
 * @RTHUNK_TYPE_NIL: `nil`
 * @RTHUNK_TYPE_LIST: `[T]`, one child
 * @RTHUNK_TYPE_FUNC: `(T1 T2 -> R)`, the parameters and then the result
 * @RTHUNK_TYPE_RECORD: `{age: int, name: str}`, one child per field in the
 *   order of their names, then the row variable when the record is open
 *   (`{age: int | r}`: any record that has at least these fields)
 * @RTHUNK_TYPE_MAYBE: `(maybe T)`, one child: a T or `nil`, absent
 *
 * The kinds of type terms.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_TYPE_VAR,
  RTHUNK_TYPE_INT,
  RTHUNK_TYPE_FLOAT,
  RTHUNK_TYPE_BOOL,
  RTHUNK_TYPE_STR,
  RTHUNK_TYPE_NIL,
  RTHUNK_TYPE_LIST,
  RTHUNK_TYPE_FUNC,
  RTHUNK_TYPE_RECORD,
  RTHUNK_TYPE_MAYBE,
} RthunkTypeKind;

/**
 * RthunkTypeClass:
 * @RTHUNK_TYPE_CLASS_ANY: no constraint
 * @RTHUNK_TYPE_CLASS_NUM: `int` or `float` (written `num a`)
 * @RTHUNK_TYPE_CLASS_EQ: comparable with `=`: no function inside (`eq a`)
 * @RTHUNK_TYPE_CLASS_ORD: ordered: `int`, `float` or `str` (`ord a`)
 *
 * Constraints on a type variable.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_TYPE_CLASS_ANY,
  RTHUNK_TYPE_CLASS_NUM,
  RTHUNK_TYPE_CLASS_EQ,
  RTHUNK_TYPE_CLASS_ORD,
} RthunkTypeClass;

/**
 * RthunkType:
 *
 * A type term. Terms built by rthunk_type_parse() and the constructors are
 * immutable once published and can be shared between threads; the type
 * checker binds only the fresh variables it makes itself.
 *
 * Since: 0.1
 */
typedef struct _RthunkType RthunkType;

#define RTHUNK_TYPE_TYPE (rthunk_type_get_type ())
RTHUNK_AVAILABLE_IN_ALL
GType rthunk_type_get_type (void) G_GNUC_CONST;

RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_basic     (RthunkTypeKind      kind) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_list      (RthunkType         *element) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_func      (RthunkType *const  *params,
                                           guint               n_params,
                                           RthunkType         *result) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_maybe     (RthunkType         *inner) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_record    (const char *const  *names,
                                           RthunkType *const  *fields,
                                           guint               n_fields,
                                           RthunkType         *row) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_new_var       (guint               id,
                                           RthunkTypeClass     klass) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_parse         (const char         *text,
                                           GError            **error) G_GNUC_WARN_UNUSED_RESULT;

RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_ref           (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_type_unref         (RthunkType         *type);

RTHUNK_AVAILABLE_IN_0_1
RthunkTypeKind  rthunk_type_get_kind      (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_type_get_n_children (RthunkType        *type);
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_get_child     (RthunkType         *type,
                                           guint               index);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_type_get_n_fields  (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_type_get_field_name (RthunkType        *type,
                                           guint               index);
RTHUNK_AVAILABLE_IN_0_1
RthunkType     *rthunk_type_get_row       (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_type_is_field_name (const char         *name);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_type_get_var_id    (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
RthunkTypeClass rthunk_type_get_class     (RthunkType         *type);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_type_equal         (RthunkType         *a,
                                           RthunkType         *b);
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_type_to_string     (RthunkType         *type) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkType, rthunk_type_unref)

G_END_DECLS
