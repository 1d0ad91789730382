/* rthunk-thunk-state.c — the GType of RthunkThunkState */
#include "config.h"

#include "rthunk-thunk-state.h"

G_DEFINE_ENUM_TYPE (RthunkThunkState, rthunk_thunk_state,
                    G_DEFINE_ENUM_VALUE (RTHUNK_THUNK_PENDING, "pending"),
                    G_DEFINE_ENUM_VALUE (RTHUNK_THUNK_RUNNING, "running"),
                    G_DEFINE_ENUM_VALUE (RTHUNK_THUNK_DONE, "done"),
                    G_DEFINE_ENUM_VALUE (RTHUNK_THUNK_FAILED, "failed"),
                    G_DEFINE_ENUM_VALUE (RTHUNK_THUNK_CANCELLED, "cancelled"))
