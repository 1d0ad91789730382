/* rthunk-eval.h — the evaluator, with limits */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <gio/gio.h>

#include "rthunk-catalog.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/**
 * RTHUNK_EVAL_DEFAULT_FUEL:
 *
 * Steps an evaluation may take unless told otherwise.
 *
 * Since: 0.1
 */
#define RTHUNK_EVAL_DEFAULT_FUEL G_GUINT64_CONSTANT (1000000000)

/**
 * RTHUNK_EVAL_DEFAULT_MAX_DEPTH:
 *
 * How deeply evaluation may nest (calls and forms) unless told otherwise.
 *
 * Since: 0.1
 */
#define RTHUNK_EVAL_DEFAULT_MAX_DEPTH 2000

/**
 * RTHUNK_EVAL_DEFAULT_MAX_BYTES:
 *
 * Bytes of lists and strings one evaluation may build unless told
 * otherwise.
 *
 * Since: 0.1
 */
#define RTHUNK_EVAL_DEFAULT_MAX_BYTES (G_GUINT64_CONSTANT (256) * 1024 * 1024)

#define RTHUNK_TYPE_EVALUATOR (rthunk_evaluator_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkEvaluator, rthunk_evaluator, RTHUNK, EVALUATOR, GObject)

/**
 * RthunkRemoteFunc:
 * @evaluator: the evaluator meeting `(remote …)`
 * @expr: the expression to evaluate remotely
 * @options: (element-type utf8 RthunkValue): the options, keyword (without
 *   colon) to value, e.g. `on` → `"alpha"`; read only: every form without
 *   options gets the evaluator's one empty table
 * @inputs: (element-type utf8 RthunkValue): the values of the names @expr
 *   reads from its surroundings, in a table made for this call: the
 *   function may change it (the session swaps values in place) and keep a
 *   reference to it
 * @user_data: the data given to rthunk_evaluator_set_remote_func()
 * @error: return location for a #GError
 *
 * Sends @expr to a server. Usually returns a pending value at once.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL with @error set
 *
 * Since: 0.1
 */
typedef RthunkValue *(*RthunkRemoteFunc) (RthunkEvaluator  *evaluator,
                                          RthunkNode       *expr,
                                          GHashTable       *options,
                                          GHashTable       *inputs,
                                          gpointer          user_data,
                                          GError          **error);

/**
 * RthunkServersFunc:
 * @evaluator: the evaluator splitting work
 * @expr: what each chunk will evaluate
 * @user_data: the data given to rthunk_evaluator_set_servers_func()
 *
 * Names the servers that can run @expr, one chunk each.
 *
 * Returns: (transfer full) (nullable): server names, or %NULL
 *
 * Since: 0.1
 */
typedef GStrv (*RthunkServersFunc) (RthunkEvaluator *evaluator,
                                    RthunkNode      *expr,
                                    gpointer         user_data);

RTHUNK_AVAILABLE_IN_0_1
RthunkEvaluator *rthunk_evaluator_new           (RthunkCatalog     *catalog) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_set_limits    (RthunkEvaluator   *evaluator,
                                                 guint64            fuel,
                                                 guint              max_depth,
                                                 gint64             deadline_us);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_set_cancellable (RthunkEvaluator *evaluator,
                                                   GCancellable    *cancellable);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_set_remote_func (RthunkEvaluator *evaluator,
                                                   RthunkRemoteFunc func,
                                                   gpointer         user_data,
                                                   GDestroyNotify   destroy);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_set_servers_func (RthunkEvaluator   *evaluator,
                                                    RthunkServersFunc  func,
                                                    gpointer           user_data,
                                                    GDestroyNotify     destroy);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_bind          (RthunkEvaluator   *evaluator,
                                                 const char        *name,
                                                 RthunkValue       *value);
RTHUNK_AVAILABLE_IN_0_1
GHashTable      *rthunk_evaluator_get_definitions (RthunkEvaluator *evaluator);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue     *rthunk_evaluator_lookup        (RthunkEvaluator   *evaluator,
                                                 const char        *name);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue     *rthunk_evaluator_eval          (RthunkEvaluator   *evaluator,
                                                 RthunkNode        *form,
                                                 GError           **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
guint64          rthunk_evaluator_get_steps     (RthunkEvaluator   *evaluator);

RTHUNK_AVAILABLE_IN_0_1
RthunkValue     *rthunk_call_context_apply      (RthunkCallContext  *context,
                                                 RthunkValue        *func,
                                                 RthunkValue *const *args,
                                                 guint               n_args,
                                                 GError            **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkEvaluator *rthunk_call_context_get_evaluator (RthunkCallContext *context);
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_call_context_check      (RthunkCallContext  *context,
                                                 GError            **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean         rthunk_call_context_charge     (RthunkCallContext  *context,
                                                 guint64             bytes,
                                                 GError            **error);
RTHUNK_AVAILABLE_IN_0_1
void             rthunk_evaluator_set_max_bytes (RthunkEvaluator   *evaluator,
                                                 guint64            max_bytes);

G_END_DECLS
