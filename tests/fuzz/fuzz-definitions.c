/* fuzz-definitions.c — libFuzzer target: putDefinitions payloads
 *
 * Each input is one frame body. A body rthunk_frame_validate() accepts is
 * decoded through an RthunkFrameTransport in memory mode and
 * ThriftBinaryProtocol into the generated putDefinitions argument struct
 * (whatever method the header names), and every Definition in it is then
 * verified the way the handler's verify_definition() does: a 32-byte hash,
 * rthunk_wire_read_ast() on the form, valid uses, a (defn NAME [params]
 * body…) shape, rthunk_hash_definition() with a resolver over the uses,
 * and a type check with an RthunkChecker over the standard catalog (remote
 * calls not allowed) in which every use already verified earlier in the
 * same input is bound to its type — as the store would hold it.
 * Nothing may crash, leak, hang, or log a warning or a critical.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-definitions CRASH-FILE        (replays one input)
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
#define FUZZ_MAX_DEFINITIONS 4096       /* the handler's MAX_BATCH */
#define HASH_LEN             32

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireRemoteExecutionServicePutDefinitionsArgs, g_object_unref)

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

static gboolean
resolve_use (const char *name,
             guint8      hash[RTHUNK_HASH_LEN],
             gpointer    user_data)
{
  const GPtrArray *uses = user_data;

  for (guint k = 0; uses != NULL && k < uses->len; k++)
    {
      RthunkWireDefRef *ref = g_ptr_array_index (uses, k);

      if (strcmp (ref->name, name) == 0)
        {
          memcpy (hash, ref->hash->data, RTHUNK_HASH_LEN);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
valid_name (const char *name)
{
  return name != NULL && name[0] != '\0' && strlen (name) <= 256 && g_utf8_validate (name, -1, NULL) &&
         !g_str_has_prefix (name, "__def_");
}

static gboolean
valid_hash (const GByteArray *hash)
{
  return hash != NULL && hash->len == HASH_LEN;
}

/* What the store would hold: hash (GBytes) → type. */
static void
verify_one (const RthunkWireDefinition *wire,
            GHashTable                 *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkNode) form = NULL;
  g_autoptr(RthunkChecker) checker = NULL;
  g_autoptr(RthunkType) type = NULL;
  guint8 hash[RTHUNK_HASH_LEN];
  RthunkType *defined;

  if (!valid_hash (wire->hash) || wire->form == NULL)
    return;
  form = rthunk_wire_read_ast (wire->form, FUZZ_MAX_AST_NODES, &error);
  if (form == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == RTHUNK_ERROR);
      return;
    }
  for (guint k = 0; wire->uses != NULL && k < wire->uses->len; k++)
    {
      RthunkWireDefRef *ref = g_ptr_array_index (wire->uses, k);

      if (!valid_name (ref->name) || !valid_hash (ref->hash))
        return;
    }
  if (rthunk_node_get_kind (form) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (form) < 4 ||
      !rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"))
    return;
  if (!rthunk_hash_definition (form, resolve_use, wire->uses, hash, &error))
    {
      g_assert_nonnull (error);
      return;
    }
  /* The fuzzer cannot forge SHA-256: accept the claimed hash as is, so the
   * checker is reached, but store the definition under the computed one. */
  checker = rthunk_checker_new (catalog);
  rthunk_checker_set_remote_allowed (checker, FALSE);
  for (guint k = 0; wire->uses != NULL && k < wire->uses->len; k++)
    {
      RthunkWireDefRef *ref = g_ptr_array_index (wire->uses, k);
      g_autoptr(GBytes) key = g_bytes_new (ref->hash->data, HASH_LEN);
      RthunkType *used = g_hash_table_lookup (store, key);

      if (used == NULL)
        return;
      rthunk_checker_bind (checker, ref->name, used);
    }
  type = rthunk_checker_check (checker, form, &error);
  if (type == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_no_error (error);
  defined = rthunk_checker_lookup (checker, rthunk_node_get_text (rthunk_node_get_item (form, 1)));
  if (defined != NULL)
    {
      g_hash_table_replace (store, g_bytes_new (hash, HASH_LEN), rthunk_type_ref (defined));
      /* the claimed hash too, so that seeds built with real hashes chain */
      g_hash_table_replace (store, g_bytes_new (wire->hash->data, HASH_LEN), rthunk_type_ref (defined));
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
  g_autoptr(RthunkWireRemoteExecutionServicePutDefinitionsArgs) args = NULL;
  g_autoptr(GHashTable) store = NULL;
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
  message = g_bytes_new (data, size);
  transport = rthunk_frame_transport_new (-1, 0);
  rthunk_frame_transport_set_input (transport, message);
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  if (thrift_protocol_read_message_begin (protocol, &name, &mtype, &seqid, &error) < 0)
    return 0;
  args = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_PUT_DEFINITIONS_ARGS, NULL);
  if (thrift_struct_read (THRIFT_STRUCT (args), protocol, &error) < 0)
    return 0;
  if (thrift_protocol_read_message_end (protocol, &error) < 0)
    return 0;
  if (args->definitions == NULL || args->definitions->len > FUZZ_MAX_DEFINITIONS)
    return 0;
  store = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                 (GDestroyNotify) rthunk_type_unref);
  for (guint k = 0; k < args->definitions->len; k++)
    verify_one (g_ptr_array_index (args->definitions, k), store);
  return 0;
}
