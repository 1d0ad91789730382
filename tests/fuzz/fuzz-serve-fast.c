/* fuzz-serve-fast.c — libFuzzer target: rthunkd's fast path for submissions
 *
 * Each input is one frame body, handed to rthunk_handler_serve_fast() as
 * rthunkd hands it every frame it receives: before any validation (the
 * codec's reader checks its own bounds). The server state is real: a
 * standard catalog, a worker pool, the thunk table, the memo and the
 * result cache, with small limits so that the table stays small.
 *
 * Nothing may crash, leak, hang, or log a warning or a critical. When the
 * fast path answers, (1) the frame must be one the frame validator
 * accepts (the fast path takes nothing the generated code would refuse),
 * but for nesting: the codec bounds the depth of a field it skips from
 * where the field starts, the validator from the top of the message; and
 * (2) its reply must itself be a valid message, which the generated
 * client decodes without an error.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-serve-fast CRASH-FILE        (replays one input)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-codec.h"
#include "rthunk-handler.h"
#include "rthunk-wire.h"
#include "fuzz-log.h"

#define FUZZ_MAX_INPUT_BYTES (256 * 1024)

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

static RthunkServerState *state;

/* At exit the pool's workers may still be in a thunk: let them finish and
 * free everything before the leak check looks. */
static void
free_state (void)
{
  g_clear_pointer (&state, rthunk_server_state_free);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(RthunkCatalog) catalog = NULL;
  RthunkServerLimits limits;

  g_setenv ("G_SLICE", "always-malloc", TRUE);
  fuzz_abort_on_warnings ();
  rthunk_wire_ensure_types ();
  catalog = rthunk_stdlib_new_catalog ();
  rthunk_server_limits_init (&limits);
  limits.workers = 1;
  limits.max_thunks = 2000;
  limits.max_queued = 1000;
  limits.thunk_ttl_ms = 1000;
  limits.fuel = 5000;
  limits.deadline_ms = 100;
  limits.max_eval_bytes = 1024 * 1024;    /* results are kept: keep them small */
  limits.inline_budget_ms = 0;
  limits.cache_entries = 1000;
  limits.cache_bytes = 1024 * 1024;
  state = rthunk_server_state_new (catalog, "fuzz", &limits);
  atexit (free_state);
  return 0;
}

/* The reply decodes with the generated client as what @name answers. */
static void
check_reply (const GByteArray *reply,
             gboolean          batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = g_bytes_new (reply->data, reply->len);
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  g_autoptr(GObject) stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                                          "input_protocol", protocol, "output_protocol", protocol, NULL);
  RthunkWireRemoteExecutionServiceIf *iface = RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (stub);
  GObject *exc[5] = { NULL, };
  gboolean ok;

  if (!rthunk_frame_validate (reply->data, reply->len, RTHUNK_FRAME_MAX_DEPTH, &error))
    g_error ("the fast path's reply is not a valid message: %s", error->message);
  rthunk_frame_transport_set_input (transport, message);
  if (batch)
    {
      g_autoptr(GPtrArray) thunks = g_ptr_array_new_with_free_func (g_object_unref);

      ok = rthunk_wire_remote_execution_service_client_recv_submit_batch (
        iface, &thunks, (RthunkWireInvalidRequest **) &exc[0], (RthunkWireOverloaded **) &exc[1],
        (RthunkWireNotAuthorized **) &exc[2], &error);
    }
  else
    {
      g_autoptr(RthunkWireRemoteThunk) thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);

      ok = rthunk_wire_remote_execution_service_client_recv_submit_eval_request (
        iface, &thunk, (RthunkWireInvalidRequest **) &exc[0], (RthunkWireTypeFailure **) &exc[1],
        (RthunkWireMissingDefinitions **) &exc[2], (RthunkWireOverloaded **) &exc[3],
        (RthunkWireNotAuthorized **) &exc[4], &error);
    }
  for (guint k = 0; k < G_N_ELEMENTS (exc); k++)
    g_clear_object (&exc[k]);
  if (!ok)
    g_error ("the generated client cannot read the fast path's reply: %s",
             error != NULL ? error->message : "an exception");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  RthunkCodecIn in;
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;

  if (size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  message = g_bytes_new (data, size);
  if (!rthunk_handler_serve_fast (state, message, reply))
    {
      g_assert_cmpuint (reply->len, ==, 0);
      return 0;
    }
  /* the one difference allowed: the codec bounds the nesting of what it
   * skips from where the skip starts, the validator from the message's
   * top; both keep the recursion bounded */
  if (!rthunk_frame_validate (data, size, RTHUNK_FRAME_MAX_DEPTH, &error) &&
      !g_error_matches (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_DEEP))
    g_error ("the fast path answered a frame the validator refuses: %s", error->message);
  rthunk_codec_in_init (&in, data, size);
  g_assert_true (rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid));
  check_reply (reply, name_len == strlen ("submitBatch") && memcmp (name, "submitBatch", name_len) == 0);
  return 0;
}
