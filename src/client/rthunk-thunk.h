/* rthunk-thunk.h — a future for one thunk */
#pragma once

#if !defined(__RTHUNK_INSIDE__) && !defined(RTHUNK_COMPILATION)
#error "Only <rthunk/rthunk.h> can be included directly."
#endif

#include <gio/gio.h>

#include "rthunk-thunk-state.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define RTHUNK_TYPE_THUNK (rthunk_thunk_get_type ())
G_DECLARE_FINAL_TYPE (RthunkThunk, rthunk_thunk, RTHUNK, THUNK, GObject)

RthunkThunk      *rthunk_thunk_new            (const char    *label) G_GNUC_WARN_UNUSED_RESULT;
const char       *rthunk_thunk_get_label      (RthunkThunk   *thunk);
const char       *rthunk_thunk_get_server     (RthunkThunk   *thunk);
GBytes           *rthunk_thunk_get_id         (RthunkThunk   *thunk);
RthunkThunkState  rthunk_thunk_get_state      (RthunkThunk   *thunk);
gboolean          rthunk_thunk_is_finished    (RthunkThunk   *thunk);
RthunkValue      *rthunk_thunk_get_value      (RthunkThunk   *thunk);
const GError     *rthunk_thunk_get_error      (RthunkThunk   *thunk);
gint64            rthunk_thunk_get_elapsed    (RthunkThunk   *thunk);
RthunkValue      *rthunk_thunk_wait           (RthunkThunk   *thunk,
                                               gint           timeout_ms,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
RthunkValue      *rthunk_thunk_wait_full      (RthunkThunk   *thunk,
                                               gint           timeout_ms,
                                               GCancellable  *cancellable,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
void              rthunk_thunk_wait_async     (RthunkThunk         *thunk,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
RthunkValue      *rthunk_thunk_wait_finish    (RthunkThunk   *thunk,
                                               GAsyncResult  *result,
                                               GError       **error) G_GNUC_WARN_UNUSED_RESULT;
void              rthunk_thunk_cancel         (RthunkThunk   *thunk);
void              rthunk_thunk_return_value   (RthunkThunk   *thunk,
                                               RthunkValue   *value);
void              rthunk_thunk_return_error   (RthunkThunk   *thunk,
                                               const GError  *error);
RthunkValue      *rthunk_thunk_to_value       (RthunkThunk   *thunk) G_GNUC_WARN_UNUSED_RESULT;
RthunkThunk      *rthunk_thunk_get_from_value (RthunkValue   *value);

G_END_DECLS
