/* make-seeds.c — writes the seed corpora of fuzz-frame-wire,
 * fuzz-definitions and fuzz-codec: real request bodies, as the C client
 * writes them, and the structs inside them.
 *
 *   make-seeds OUT-FRAME-WIRE-DIR OUT-DEFINITIONS-DIR OUT-CODEC-DIR FILE.rth…
 *
 * For fuzz-codec, every form gives its Ast struct (selector byte 0) and,
 * when it type-checks, its type's TypeTerm (byte 2); every binding value
 * of the hand-made requests its Value (byte 1).
 *
 * For every form of every FILE it writes one submitEvalRequest message
 * (the AST filled with its checked types when it type-checks, as the
 * client sends it, without them otherwise); every file holding defn forms
 * also gives one putDefinitions message with all of them in order, each
 * with its real hash and its uses (earlier defns of the same file). A few
 * hand-made requests with bindings and options are added. Each output is a
 * frame body: the binary-protocol message without the 4-byte length.
 *
 * Not built by make: link it by hand against src/librthunk-internal.la, e.g.
 *   libtool --mode=link gcc -I… make-seeds.c src/librthunk-internal.la …
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "rthunk-codec.h"

static RthunkCatalog *catalog;
static const char *codec_dir;

/* One fuzz-codec seed: @selector, then the struct in @bytes. */
static void
write_codec_seed (const char *name,
                  guint8      selector,
                  GByteArray *bytes)
{
  g_autofree char *path = g_build_filename (codec_dir, name, NULL);

  g_byte_array_prepend (bytes, &selector, 1);
  g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));
}

static void
write_message (const char  *dir,
               const char  *name,
               const char  *method,
               ThriftStruct *args)
{
  g_autoptr(RthunkFrameTransport) transport = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL,
                                                     "transport", transport, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (thrift_protocol_write_message_begin (protocol, method, T_CALL, 1, &error), >=, 0);
  g_assert_cmpint (thrift_struct_write (args, protocol, &error), >=, 0);
  g_assert_cmpint (thrift_protocol_write_message_end (protocol, &error), >=, 0);
  g_assert_true (thrift_transport_flush (THRIFT_TRANSPORT (transport), &error));
  out = rthunk_frame_transport_take_output (transport);
  g_assert_true (rthunk_frame_validate (g_bytes_get_data (out, NULL), g_bytes_get_size (out),
                                        RTHUNK_FRAME_MAX_DEPTH, &error));
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (out, NULL),
                                      (gssize) g_bytes_get_size (out), &error));
}

static void
write_request (const char            *dir,
               const char            *name,
               RthunkWireEvalRequest *request)
{
  RthunkWireRemoteExecutionServiceSubmitEvalRequestArgs *args =
    g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_SUBMIT_EVAL_REQUEST_ARGS, NULL);

  g_object_unref (args->request);
  args->request = g_object_ref (request);
  args->__isset_request = TRUE;
  args->__isset_auth = TRUE;
  write_message (dir, name, "submitEvalRequest", THRIFT_STRUCT (args));
  g_object_unref (args);
}

static RthunkWireEvalRequest *
request_for (RthunkNode *form)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(RthunkType) type = NULL;

  type = rthunk_checker_check_typed (checker, form, &node_types, NULL);
  rthunk_wire_fill_ast (request->ast, form, node_types);
  if (type != NULL)
    {
      g_autoptr(GByteArray) bytes = g_byte_array_new ();
      static guint n_types;
      g_autofree char *name = g_strdup_printf ("type-%u.bin", n_types++);

      rthunk_codec_put_type (bytes, type);
      write_codec_seed (name, 2, bytes);
    }
  return request;
}

typedef struct
{
  GHashTable *hashes;   /* name → GBytes */
} Defs;

static gboolean
resolve (const char *name,
         guint8      hash[RTHUNK_HASH_LEN],
         gpointer    user_data)
{
  Defs *defs = user_data;
  GBytes *h = g_hash_table_lookup (defs->hashes, name);

  if (h == NULL)
    return FALSE;
  memcpy (hash, g_bytes_get_data (h, NULL), RTHUNK_HASH_LEN);
  return TRUE;
}

static RthunkWireDefinition *
definition_for (RthunkNode *form,
                Defs       *defs)
{
  RthunkWireDefinition *def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
  g_autoptr(GPtrArray) refs = rthunk_hash_collect_references (form, resolve, defs);
  guint8 hash[RTHUNK_HASH_LEN];
  g_autoptr(GError) error = NULL;

  g_assert_true (rthunk_hash_definition (form, resolve, defs, hash, &error));
  rthunk_wire_set_bytes (&def->hash, hash, RTHUNK_HASH_LEN);
  def->__isset_hash = TRUE;
  rthunk_wire_fill_ast (def->form, form, NULL);
  def->__isset_form = TRUE;
  for (guint k = 0; k < refs->len; k++)
    {
      RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, NULL);
      GBytes *h = g_hash_table_lookup (defs->hashes, g_ptr_array_index (refs, k));

      g_free (ref->name);
      ref->name = g_strdup (g_ptr_array_index (refs, k));
      rthunk_wire_set_bytes (&ref->hash, g_bytes_get_data (h, NULL), RTHUNK_HASH_LEN);
      g_ptr_array_add (def->uses, ref);
    }
  def->__isset_uses = TRUE;
  g_hash_table_replace (defs->hashes,
                        g_strdup (rthunk_node_get_text (rthunk_node_get_item (form, 1))),
                        g_bytes_new (hash, RTHUNK_HASH_LEN));
  return def;
}

static void
do_file (const char *path,
         const char *wire_dir,
         const char *defs_dir)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr(GPtrArray) forms = NULL;
  g_autofree char *base = g_path_get_basename (path);
  RthunkWireRemoteExecutionServicePutDefinitionsArgs *args =
    g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_PUT_DEFINITIONS_ARGS, NULL);
  Defs defs = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref) };

  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  forms = rthunk_reader_read_all ("<seed>", text, (gssize) len, NULL);
  if (forms != NULL)
    for (guint k = 0; k < forms->len; k++)
      {
        RthunkNode *form = g_ptr_array_index (forms, k);
        g_autoptr(RthunkWireEvalRequest) request = request_for (form);
        g_autofree char *name = g_strdup_printf ("%s.%u.bin", base, k);
        g_autoptr(GByteArray) ast = g_byte_array_new ();

        write_request (wire_dir, name, request);
        rthunk_codec_put_ast (ast, form, NULL);
        write_codec_seed (name, 0, ast);
        if (rthunk_node_get_kind (form) == RTHUNK_NODE_LIST && rthunk_node_get_n_items (form) >= 4 &&
            rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"))
          g_ptr_array_add (args->definitions, definition_for (form, &defs));
      }
  if (args->definitions->len > 0)
    {
      g_autofree char *name = g_strdup_printf ("%s.bin", base);

      args->__isset_definitions = TRUE;
      args->__isset_auth = TRUE;
      write_message (defs_dir, name, "putDefinitions", THRIFT_STRUCT (args));
    }
  g_object_unref (args);
  g_hash_table_unref (defs.hashes);
}

/* A request with bindings of several value kinds, and one with options. */
static void
do_extra (const char *wire_dir,
          const char *defs_dir)
{
  static const char *const sources[] = {
    "(+ x 1)", "(concat s \"!\")", "(count xs)", "(if b 1 2)", "(+ f 1.5)",
  };
  RthunkValue *values[G_N_ELEMENTS (sources)];
  const char *names[] = { "x", "s", "xs", "b", "f" };
  static const char *const defn_texts[] = {
    "(defn sq [x] (* x x))\n(defn quad [x] (sq (sq x)))\n(defn apply2 [f x] (f (f x)))\n"
    "(defn fact [n] (if (< n 2) 1 (* n (fact (- n 1)))))\n(defn use-all [n] (apply2 quad (fact n)))\n",
  };

  values[0] = rthunk_value_new_int (41);
  values[1] = rthunk_value_new_str ("hi");
  {
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);

    g_ptr_array_add (items, rthunk_value_new_int (1));
    g_ptr_array_add (items, rthunk_value_new_int (2));
    values[2] = rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);
  }
  values[3] = rthunk_value_new_bool (TRUE);
  values[4] = rthunk_value_new_float (2.5);
  for (guint k = 0; k < G_N_ELEMENTS (sources); k++)
    {
      g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<seed>", sources[k], -1, NULL);
      g_autoptr(RthunkWireEvalRequest) request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);
      RthunkWireBinding *binding = g_object_new (RTHUNK_WIRE_TYPE_BINDING, NULL);
      g_autofree char *name = g_strdup_printf ("binding-%s.bin", names[k]);
      g_autoptr(RthunkType) type = k == 0 ? rthunk_type_new_basic (RTHUNK_TYPE_INT) : NULL;

      rthunk_wire_fill_ast (request->ast, g_ptr_array_index (forms, 0), NULL);
      g_free (binding->name);
      binding->name = g_strdup (names[k]);
      g_assert_true (rthunk_wire_fill_value (binding->value, values[k], NULL));
      {
        g_autoptr(GByteArray) bytes = g_byte_array_new ();

        g_assert_true (rthunk_codec_put_value (bytes, values[k], G_MAXSIZE, NULL));
        write_codec_seed (name, 1, bytes);
      }
      if (type != NULL)
        {
          rthunk_wire_fill_type (binding->type, type);
          binding->__isset_type = TRUE;
        }
      g_ptr_array_add (request->bindings, binding);
      request->__isset_bindings = TRUE;
      request->options->inlineBudgetMs = 5;
      request->options->__isset_inlineBudgetMs = TRUE;
      request->__isset_options = TRUE;
      write_request (wire_dir, name, request);
      rthunk_value_unref (values[k]);
    }
  {
    g_autofree char *path = g_build_filename (g_get_tmp_dir (), "make-seeds-defs.rth", NULL);

    g_assert_true (g_file_set_contents (path, defn_texts[0], -1, NULL));
    do_file (path, wire_dir, defs_dir);
    g_unlink (path);
  }
}

int
main (int    argc,
      char **argv)
{
  if (argc < 4)
    {
      g_printerr ("usage: %s OUT-FRAME-WIRE-DIR OUT-DEFINITIONS-DIR OUT-CODEC-DIR FILE.rth…\n", argv[0]);
      return 2;
    }
  rthunk_wire_ensure_types ();
  catalog = rthunk_stdlib_new_catalog ();
  g_mkdir_with_parents (argv[1], 0755);
  g_mkdir_with_parents (argv[2], 0755);
  codec_dir = argv[3];
  g_mkdir_with_parents (codec_dir, 0755);
  for (int k = 4; k < argc; k++)
    do_file (argv[k], argv[1], argv[2]);
  do_extra (argv[1], argv[2]);
  return 0;
}
