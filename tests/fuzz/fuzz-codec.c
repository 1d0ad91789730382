/* fuzz-codec.c — libFuzzer target: the codec against the generated code
 *
 * The first byte of each input picks what the rest is read as: byte % 3
 * an Ast (0), a Value (1) or a TypeTerm (2) struct, and for an Ast,
 * byte / 3 the node limit (0: rthunkd's default). The rest goes through
 * rthunk_codec_get_ast/value/type() and, wrapped in a message, through
 * rthunk_frame_validate(), the generated reader and rthunk_wire_read_*()
 * (codec_check() in tests/codecutil.c). A tree from the codec must be the
 * generated one and come back the same through the codec's writer and
 * reader; an error from the codec must be the generated code's. Nothing
 * may crash, leak, or log a warning or a critical.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-codec CRASH-FILE        (replays one input)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>

#include "codecutil.h"
#include "fuzz-log.h"

#define FUZZ_MAX_INPUT_BYTES (256 * 1024)
#define FUZZ_MAX_AST_NODES   100000     /* rthunkd's default --max-ast-nodes */

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  fuzz_abort_on_warnings ();
  rthunk_wire_ensure_types ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint max_nodes;

  if (size < 1 || size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  max_nodes = data[0] / 3 != 0 ? data[0] / 3u : FUZZ_MAX_AST_NODES;
  codec_check ((CodecTree) (data[0] % 3), data + 1, size - 1, max_nodes, NULL);
  return 0;
}
