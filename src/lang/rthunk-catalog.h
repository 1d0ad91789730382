/* rthunk-catalog.h — typed function catalogs */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

#include "rthunk-type.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/**
 * RthunkFuncFlags:
 * @RTHUNK_FUNC_NONE: no flag
 * @RTHUNK_FUNC_PURE: same inputs, same output: results may be cached,
 *   retried and moved
 * @RTHUNK_FUNC_IO: side effects: never cached, never retried, only run
 *   where provided
 * @RTHUNK_FUNC_ASSOC: an associative binary operation
 * @RTHUNK_FUNC_STATE: reads or updates a state cell of the server that
 *   runs it (always with @RTHUNK_FUNC_IO): a form that uses it runs on
 *   the server holding the cell
 * @RTHUNK_FUNC_PROVIDED: its type for one call depends on its first
 *   argument, which must be a string literal: the data source gives it
 *   when the call is checked (see rthunk_catalog_add_provided())
 *
 * Flags of a catalog function; the values match the wire's `FuncFlag`.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/ {
  RTHUNK_FUNC_NONE = 0,
  RTHUNK_FUNC_PURE = 1 << 0,
  RTHUNK_FUNC_IO = 1 << 1,
  RTHUNK_FUNC_ASSOC = 1 << 2,
  RTHUNK_FUNC_STATE = 1 << 3,
  RTHUNK_FUNC_PROVIDED = 1 << 4,
} RthunkFuncFlags;

/**
 * RthunkCallContext:
 *
 * What a native function may ask of the evaluation that calls it.
 *
 * Since: 0.1
 */
typedef struct _RthunkCallContext RthunkCallContext;

/**
 * RthunkNativeFunc:
 * @context: the calling evaluation
 * @args: (array length=n_args): the arguments, already forced (never pending)
 * @n_args: how many arguments (the signature's arity)
 * @user_data: the data given to rthunk_catalog_add()
 * @error: return location for a #GError
 *
 * A function implemented in C. It is called from any thread, so it must be
 * thread-safe.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error set
 *
 * Since: 0.1
 */
typedef RthunkValue *(*RthunkNativeFunc) (RthunkCallContext  *context,
                                          RthunkValue *const *args,
                                          guint               n_args,
                                          gpointer            user_data,
                                          GError            **error);

/**
 * RthunkProvideTypeFunc:
 * @literal: the string literal that is the call's first argument
 * @user_data: the data given to rthunk_catalog_add_provided()
 * @error: return location for a #GError
 *
 * Gives the type of one call of a provided function, as its data source
 * says for @literal: the columns of an SQL statement, the header of a
 * file. It is called from any thread, so it must be thread-safe. A literal
 * the data source refuses is an %RTHUNK_ERROR_TYPE_MISMATCH whose message
 * says why (SQLite's message, say), without position: the checker adds
 * the literal's.
 *
 * Returns: (transfer full) (nullable): a function type of the function's
 *   arity that its signature unifies with, or %NULL with @error set
 *
 * Since: 0.1
 */
typedef RthunkType *(*RthunkProvideTypeFunc) (const char  *literal,
                                              gpointer     user_data,
                                              GError     **error);

/**
 * RthunkFuncDef:
 *
 * A function of a catalog: its name, signature, flags and documentation,
 * and for a local function its implementation. Immutable.
 *
 * Since: 0.1
 */
typedef struct _RthunkFuncDef RthunkFuncDef;

#define RTHUNK_TYPE_FUNC_DEF (rthunk_func_def_get_type ())
RTHUNK_AVAILABLE_IN_ALL
GType rthunk_func_def_get_type (void) G_GNUC_CONST;

RTHUNK_AVAILABLE_IN_0_1
RthunkFuncDef   *rthunk_func_def_ref         (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_func_def_unref       (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
const char      *rthunk_func_def_get_name    (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
RthunkType      *rthunk_func_def_get_type_term (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
const char      *rthunk_func_def_get_signature (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
RthunkFuncFlags  rthunk_func_def_get_flags   (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
const char      *rthunk_func_def_get_doc     (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
guint            rthunk_func_def_get_arity   (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_func_def_is_native   (RthunkFuncDef *def);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue     *rthunk_func_def_call        (RthunkFuncDef      *def,
                                              RthunkCallContext  *context,
                                              RthunkValue *const *args,
                                              guint               n_args,
                                              GError            **error) G_GNUC_WARN_UNUSED_RESULT;

#define RTHUNK_TYPE_CATALOG (rthunk_catalog_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkCatalog, rthunk_catalog, RTHUNK, CATALOG, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog   *rthunk_catalog_new          (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_catalog_add          (RthunkCatalog     *catalog,
                                              const char        *name,
                                              const char        *signature,
                                              RthunkFuncFlags    flags,
                                              const char        *doc,
                                              RthunkNativeFunc   func,
                                              gpointer           user_data,
                                              GDestroyNotify     destroy,
                                              GError           **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_catalog_add_provided (RthunkCatalog     *catalog,
                                              const char        *name,
                                              const char        *signature,
                                              RthunkFuncFlags    flags,
                                              const char        *doc,
                                              RthunkNativeFunc   func,
                                              RthunkProvideTypeFunc provide,
                                              gpointer           user_data,
                                              GDestroyNotify     destroy,
                                              GError           **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_catalog_add_remote   (RthunkCatalog     *catalog,
                                              const char        *name,
                                              RthunkType        *type,
                                              RthunkFuncFlags    flags,
                                              const char        *doc,
                                              GError           **error);
RTHUNK_AVAILABLE_IN_0_1
RthunkFuncDef   *rthunk_catalog_lookup       (RthunkCatalog     *catalog,
                                              const char        *name);
RTHUNK_AVAILABLE_IN_0_1
GPtrArray       *rthunk_catalog_list         (RthunkCatalog     *catalog) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
guint            rthunk_catalog_get_size     (RthunkCatalog     *catalog);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_catalog_add_capability (RthunkCatalog   *catalog,
                                                const char      *capability);
RTHUNK_AVAILABLE_IN_0_1
const char *const *rthunk_catalog_get_capabilities (RthunkCatalog *catalog);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkFuncDef, rthunk_func_def_unref)

G_END_DECLS
