/* rthunk-thunk.h — a future for one thunk */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <gio/gio.h>

#include "rthunk-thunk-state.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define RTHUNK_TYPE_THUNK (rthunk_thunk_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkThunk, rthunk_thunk, RTHUNK, THUNK, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkThunk      *rthunk_thunk_new            (const char    *label) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
const char       *rthunk_thunk_get_label      (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
const char       *rthunk_thunk_get_server     (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
GBytes           *rthunk_thunk_get_id         (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
RthunkThunkState  rthunk_thunk_get_state      (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
gboolean          rthunk_thunk_is_finished    (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue      *rthunk_thunk_get_value      (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
const GError     *rthunk_thunk_get_error      (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
gint64            rthunk_thunk_get_elapsed    (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue      *rthunk_thunk_wait           (RthunkThunk   *thunk,
                                               gint           timeout_ms,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkValue      *rthunk_thunk_wait_full      (RthunkThunk   *thunk,
                                               gint           timeout_ms,
                                               GCancellable  *cancellable,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void              rthunk_thunk_wait_async     (RthunkThunk         *thunk,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue      *rthunk_thunk_wait_finish    (RthunkThunk   *thunk,
                                               GAsyncResult  *result,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void              rthunk_thunk_cancel         (RthunkThunk   *thunk);
RTHUNK_AVAILABLE_IN_0_1
void              rthunk_thunk_return_value   (RthunkThunk   *thunk,
                                               RthunkValue   *value);
RTHUNK_AVAILABLE_IN_0_1
void              rthunk_thunk_return_error   (RthunkThunk   *thunk,
                                               const GError  *error);
RTHUNK_AVAILABLE_IN_0_1
RthunkValue      *rthunk_thunk_to_value       (RthunkThunk   *thunk) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkThunk      *rthunk_thunk_get_from_value (RthunkValue   *value);

G_END_DECLS
