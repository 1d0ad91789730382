/* fuzz-frame-wire.c — libFuzzer target: the frame layer and the wire decoder
 *
 * Each input is one frame body (a Thrift binary-protocol message, without
 * the 4-byte length). As rthunkd does with every frame it receives, it is
 * first validated with rthunk_frame_validate(); a valid one is then decoded
 * through an RthunkFrameTransport in memory mode and ThriftBinaryProtocol
 * into the generated submitEvalRequest argument struct, whatever method
 * the header names, and its request is converted as the handler would:
 * rthunk_wire_read_ast() on the AST (then type-checked), and
 * rthunk_wire_read_value()/rthunk_wire_read_type() on every binding.
 * Nothing may crash, leak, hang, or log a warning or a critical; a frame
 * the validator accepted may still fail to decode, but only with a GError.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-frame-wire CRASH-FILE        (replays one input)
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
#include "rthunk-wire.h"
#include "fuzz-log.h"

#define FUZZ_MAX_INPUT_BYTES (256 * 1024)
#define FUZZ_MAX_AST_NODES   100000     /* rthunkd's default --max-ast-nodes */

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireRemoteExecutionServiceSubmitEvalRequestArgs, g_object_unref)

static RthunkCatalog *catalog;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  fuzz_abort_on_warnings ();
  rthunk_wire_ensure_types ();
  catalog = rthunk_stdlib_new_catalog ();
  return 0;
}

static void
check_ast (const RthunkWireAst *ast)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) root = NULL;
  g_autoptr(RthunkChecker) checker = NULL;
  g_autoptr(RthunkType) type = NULL;

  if (ast == NULL)
    return;
  root = rthunk_wire_read_ast (ast, FUZZ_MAX_AST_NODES, &error);
  if (root == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == RTHUNK_ERROR);
      return;
    }
  g_assert_no_error (error);
  checker = rthunk_checker_new (catalog);
  type = rthunk_checker_check (checker, root, &error);
  g_assert_true ((type == NULL) == (error != NULL));
}

static void
check_bindings (const GPtrArray *bindings)
{
  for (guint k = 0; bindings != NULL && k < bindings->len; k++)
    {
      RthunkWireBinding *binding = g_ptr_array_index (bindings, k);
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(RthunkType) type = NULL;

      if (binding->value != NULL)
        {
          value = rthunk_wire_read_value (binding->value, &error);
          g_assert_true ((value == NULL) == (error != NULL));
          g_clear_error (&error);
        }
      if (binding->__isset_type && binding->type != NULL)
        {
          type = rthunk_wire_read_type (binding->type, &error);
          g_assert_true ((type == NULL) == (error != NULL));
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(RthunkFrameTransport) transport = NULL;
  g_autoptr(ThriftProtocol) protocol = NULL;
  g_autoptr(RthunkWireRemoteExecutionServiceSubmitEvalRequestArgs) args = NULL;
  g_autofree char *name = NULL;
  ThriftMessageType mtype;
  gint32 seqid;

  if (size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  if (!rthunk_frame_validate (data, size, RTHUNK_FRAME_MAX_DEPTH, &error))
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == RTHUNK_FRAME_ERROR);
      return 0;
    }
  g_assert_no_error (error);

  message = g_bytes_new (data, size);
  transport = rthunk_frame_transport_new (-1, 0);
  rthunk_frame_transport_set_input (transport, message);
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  if (thrift_protocol_read_message_begin (protocol, &name, &mtype, &seqid, &error) < 0)
    {
      g_assert_nonnull (error);
      return 0;
    }
  args = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_SUBMIT_EVAL_REQUEST_ARGS, NULL);
  if (thrift_struct_read (THRIFT_STRUCT (args), protocol, &error) < 0)
    {
      g_assert_nonnull (error);
      return 0;
    }
  if (thrift_protocol_read_message_end (protocol, &error) < 0)
    {
      g_assert_nonnull (error);
      return 0;
    }
  if (args->request == NULL)
    return 0;
  check_ast (args->request->ast);
  if (args->request->__isset_bindings)
    check_bindings (args->request->bindings);
  return 0;
}
