/* rthunk-thunk-private.h — what the session and the collector need of a
 * thunk, never installed. */
#pragma once

#include "rthunk-client.h"
#include "rthunk-thunk.h"

G_BEGIN_DECLS

/* A future made for @context: its `resolved` signal and its state
 * notifications are emitted there. @label (nullable) is taken (a queued
 * remote form makes its label for the thunk: no copy a form); @id
 * (@id_len bytes, usually 16) is copied; the thunk keeps one copy of
 * @server's name per name. */
RthunkThunk *rthunk_thunk_new_in_context (char         *label,
                                          const char   *server,
                                          const guint8 *id,
                                          gsize         id_len,
                                          GMainContext *context) G_GNUC_WARN_UNUSED_RESULT;

/* Moves a pending thunk to RUNNING (notified in its context). */
void         rthunk_thunk_set_running    (RthunkThunk  *thunk);

/* Called once, outside any lock, when the thunk is cancelled before it
 * finished; dropped (with @destroy) when it finishes either way. */
typedef void (*RthunkThunkCancelFunc) (RthunkThunk *thunk,
                                       gpointer     user_data);
void         rthunk_thunk_set_cancel_func (RthunkThunk          *thunk,
                                           RthunkThunkCancelFunc func,
                                           gpointer              user_data,
                                           GDestroyNotify        destroy);

/* Called once, outside any lock, in the thread that finishes the thunk
 * (at once if it has finished), with its value or its error. */
typedef void (*RthunkThunkFinishFunc) (RthunkThunk  *thunk,
                                       RthunkValue  *value,
                                       const GError *error,
                                       gpointer      user_data);
void         rthunk_thunk_set_finish_func (RthunkThunk          *thunk,
                                           RthunkThunkFinishFunc func,
                                           gpointer              user_data,
                                           GDestroyNotify        destroy);

/* rthunk_thunk_cancel() with @error (taken) as the thunk's error. */
void         rthunk_thunk_cancel_with    (RthunkThunk  *thunk,
                                          GError       *error);

/* A deadline (rthunk-thunk-deadline.c): unless @thunk finished within
 * @timeout_ms, it is cancelled, on its server too, with
 * %RTHUNK_ERROR_TIMEOUT. */
void         rthunk_thunk_set_deadline   (RthunkThunk  *thunk,
                                          guint         timeout_ms);

/* The pending value a client or the cluster gave for what @thunk stands
 * for (a session makes a thunk of its own for each): while @thunk runs, a
 * remote expression that reads it sends this one instead, which travels
 * as a reference to the thunk (promise pipelining).  Set once, with
 * rthunk_thunk_take_origin() (which takes @origin: a second one, or one
 * for a thunk that finished already, is dropped); dropped when the thunk
 * finishes, so any thread that reads it takes a reference, under the
 * thunk's lock (rthunk_thunk_dup_origin()). %NULL when there is none, or
 * no longer. */
void         rthunk_thunk_take_origin    (RthunkThunk  *thunk,
                                          RthunkValue  *origin);
RthunkValue *rthunk_thunk_dup_origin     (RthunkThunk  *thunk) G_GNUC_WARN_UNUSED_RESULT;

/* A new label (how it prints), set before the thunk finishes. */
void         rthunk_thunk_set_label      (RthunkThunk  *thunk,
                                          const char   *label);

/* Per thread: what forcing a pending thunk value does around the wait.
 * A session's evaluation thread sets one so that it learns that its
 * evaluation has to wait (and lets others use the evaluator meanwhile);
 * @cancellable stops the wait. */
typedef struct
{
  void (*before) (gpointer data, RthunkThunk *thunk);
  void (*after)  (gpointer data, RthunkThunk *thunk);
  GCancellable *cancellable;
  gpointer data;
} RthunkBlockHook;

void         rthunk_thunk_set_block_hook (const RthunkBlockHook *hook);

/* One collector per server (rthunk-collector.c): its threads (lanes, up
 * to four) long-poll thunkAwait for the outstanding thunks and resolve
 * them; a thunk added while every lane polls gets a lane of its own.
 * @poll is a client of its own (a long poll holds its connection);
 * @client sends cancellations. */
typedef struct _RthunkCollector RthunkCollector;

RthunkCollector *rthunk_collector_new          (RthunkClient    *client,
                                                RthunkClient    *poll);
RthunkCollector *rthunk_collector_ref          (RthunkCollector *collector);
void             rthunk_collector_unref        (RthunkCollector *collector);
void             rthunk_collector_add          (RthunkCollector *collector,
                                                RthunkThunk     *thunk);
guint            rthunk_collector_get_outstanding (RthunkCollector *collector);
void             rthunk_collector_set_poll_slice (guint          slice_ms);
void             rthunk_collector_stop         (RthunkCollector *collector);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkCollector, rthunk_collector_unref)

G_END_DECLS
