/* rthunk-thunk-state.h — where a thunk is in its life */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * RthunkThunkState:
 * @RTHUNK_THUNK_PENDING: submitted (or waiting for its inputs), not started
 * @RTHUNK_THUNK_RUNNING: being evaluated
 * @RTHUNK_THUNK_DONE: finished with a value
 * @RTHUNK_THUNK_FAILED: finished with an error
 * @RTHUNK_THUNK_CANCELLED: cancelled before it finished
 *
 * Where a #RthunkThunk is in its life. The values match the `ThunkState`
 * enum of the wire protocol.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_THUNK_PENDING = 1,
  RTHUNK_THUNK_RUNNING = 2,
  RTHUNK_THUNK_DONE = 3,
  RTHUNK_THUNK_FAILED = 4,
  RTHUNK_THUNK_CANCELLED = 5,
} RthunkThunkState;

#define RTHUNK_TYPE_THUNK_STATE (rthunk_thunk_state_get_type ())
RTHUNK_AVAILABLE_IN_ALL
GType rthunk_thunk_state_get_type (void) G_GNUC_CONST;

G_END_DECLS
