/* wireutil.h — the generated Thrift client over RthunkFrameTransport, as
 * rthunk-client.c builds it, for tests that need the calls RthunkClient
 * does not have (thunkGet, thunkAwait, thunkCancel) or the raw ids.
 * Shared by test-server, test-abuse, test-load and test-faults. Where a
 * call takes a WireFailure, NULL means it must succeed (else the test
 * fails there). */
#pragma once

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "testutil.h"

typedef struct
{
  RthunkFrameTransport *transport;
  ThriftProtocol *protocol;
  RthunkWireRemoteExecutionServiceIf *stub;
  RthunkWireAuth *auth;
} Wire;

/* What a call gave when it did not succeed: an IDL exception (type != 0,
 * with its code), or a transport/protocol failure (error != NULL). */
typedef struct
{
  GType type;
  gint code;
  char *message;
  GPtrArray *hashes;            /* GByteArray: of a MissingDefinitions */
  gint retry_after_ms;          /* of an Overloaded */
  GError *error;
} WireFailure;

Wire *wire_open            (TestServer *server,
                            guint       socket_timeout_ms);
void  wire_free            (Wire       *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Wire, wire_free)

void  wire_failure_clear   (WireFailure *f);
/* Takes the one non-NULL exception of @n in @exceptions into @f, or else
 * @error (a transport failure); with @f NULL, fails the test. */
void  wire_failure_take    (WireFailure *f,
                            GError      *error,
                            GObject    **exceptions,
                            guint        n);
/* A RemoteThunk naming @id. */
RthunkWireRemoteThunk *wire_remote_thunk_for (const GByteArray *id);

/* A request for @text, not checked here (the server checks);
 * @inline_budget_ms < 0 keeps the server's default. */
RthunkWireEvalRequest *wire_request_for (const char *text,
                                         gint        inline_budget_ms);

/* NULL and @f filled when the call failed. */
RthunkWireRemoteThunk *wire_submit (Wire                  *w,
                                    RthunkWireEvalRequest *request,
                                    WireFailure           *f);
/* submitEvalRequest of @request as the generated client writes it, but
 * with the first byte of @marker, which its message must hold, set to NUL
 * (a frame no client would write); the reply read as wire_submit() does. */
RthunkWireRemoteThunk *wire_submit_with_nul (Wire                  *w,
                                             RthunkWireEvalRequest *request,
                                             const char            *marker,
                                             WireFailure           *f);
RthunkWireVarCont     *wire_get    (Wire                  *w,
                                    const GByteArray      *id,
                                    WireFailure           *f);
/* thunkAwait over @ids (GByteArray*): the finished ones, or NULL. */
GPtrArray             *wire_await  (Wire                  *w,
                                    GPtrArray             *ids,
                                    gint32                 timeout_ms,
                                    WireFailure           *f);
/* thunkAwait sent, its answer never read. */
void                   wire_send_await (Wire              *w,
                                        GPtrArray         *ids,
                                        gint32             timeout_ms);
/* TRUE when the call succeeded; @was_unfinished says what it answered. */
gboolean               wire_cancel (Wire                  *w,
                                    const GByteArray      *id,
                                    gboolean              *was_unfinished,
                                    WireFailure           *f);

/* getServerInfo: its counters, running and queued; NULL when it failed. */
RthunkWireServerInfo  *wire_info   (Wire                  *w,
                                    WireFailure           *f);

/* thunkAwait in slices of 10 s (the socket timeout must be longer) until
 * the thunk @id finished, for @cap_us at most; its VarCont. */
RthunkWireVarCont *wire_wait_finished (Wire             *w,
                                       const GByteArray *id,
                                       gint64            cap_us);
/* Polls thunkGet until a worker has picked the thunk @id up (@cap_us at
 * most). */
void               wire_wait_running  (Wire             *w,
                                       const GByteArray *id,
                                       gint64            cap_us);
/* thunkCancel, which must succeed: whether the thunk was unfinished. */
gboolean           wire_cancel_unfinished (Wire             *w,
                                           const GByteArray *id);
/* Cancels the unfinished thunk @id and waits until it is CANCELLED. */
void               wire_cancel_and_reap (Wire             *w,
                                         const GByteArray *id,
                                         gint64            cap_us);

gboolean wire_same_id (const GByteArray *a,
                       const GByteArray *b);
/* The int in a wire value; asserts it is one. */
gint64   wire_value_int (RthunkWireValue *wire);
