/* codecutil.c — the codec beside the generated Thrift code (codecutil.h) */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <thrift/c_glib/protocol/thrift_protocol.h>
#include <thrift/c_glib/transport/thrift_memory_buffer.h>

#include "rthunk-frame.h"
#include "codecutil.h"

/* ---- comparisons --------------------------------------------------------------- */

static void
assert_same_double (double a,
                    double b)
{
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
}

/* assert_same_node(), or with @positions FALSE assert_same_form() */
static void
assert_same_nodes (RthunkNode *a,
                   RthunkNode *b,
                   gboolean    positions)
{
  RthunkNodeKind kind = rthunk_node_get_kind (a);

  g_assert_cmpint (kind, ==, rthunk_node_get_kind (b));
  if (positions)
    {
      g_assert_cmpuint (rthunk_node_get_line (a), ==, rthunk_node_get_line (b));
      g_assert_cmpuint (rthunk_node_get_col (a), ==, rthunk_node_get_col (b));
      g_assert_cmpstr (rthunk_node_get_source (a), ==, rthunk_node_get_source (b));
    }
  switch (kind)
    {
    case RTHUNK_NODE_INT:
      g_assert_cmpint (rthunk_node_get_int (a), ==, rthunk_node_get_int (b));
      break;
    case RTHUNK_NODE_FLOAT:
      assert_same_double (rthunk_node_get_float (a), rthunk_node_get_float (b));
      break;
    case RTHUNK_NODE_BOOL:
      g_assert_cmpint (rthunk_node_get_bool (a), ==, rthunk_node_get_bool (b));
      break;
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      g_assert_cmpstr (rthunk_node_get_text (a), ==, rthunk_node_get_text (b));
      break;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      g_assert_cmpuint (rthunk_node_get_n_items (a), ==, rthunk_node_get_n_items (b));
      for (guint k = 0; k < rthunk_node_get_n_items (a); k++)
        assert_same_nodes (rthunk_node_get_item (a, k), rthunk_node_get_item (b, k), positions);
      break;
    case RTHUNK_NODE_NIL:
    default:
      break;
    }
}

void
assert_same_node (RthunkNode *a,
                  RthunkNode *b)
{
  assert_same_nodes (a, b, TRUE);
}

void
assert_same_form (RthunkNode *a,
                  RthunkNode *b)
{
  assert_same_nodes (a, b, FALSE);
}

guint
count_nodes (RthunkNode *node)
{
  guint n = 1;

  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    n += count_nodes (rthunk_node_get_item (node, k));
  return n;
}

void
assert_same_value (RthunkValue *a,
                   RthunkValue *b)
{
  RthunkValueKind kind = rthunk_value_get_kind (a);

  g_assert_cmpint (kind, ==, rthunk_value_get_kind (b));
  switch (kind)
    {
    case RTHUNK_VALUE_BOOL:
      g_assert_cmpint (rthunk_value_get_bool (a), ==, rthunk_value_get_bool (b));
      break;
    case RTHUNK_VALUE_INT:
      g_assert_cmpint (rthunk_value_get_int (a), ==, rthunk_value_get_int (b));
      break;
    case RTHUNK_VALUE_FLOAT:
      assert_same_double (rthunk_value_get_float (a), rthunk_value_get_float (b));
      break;
    case RTHUNK_VALUE_STR:
      g_assert_cmpstr (rthunk_value_get_str (a), ==, rthunk_value_get_str (b));
      break;
    case RTHUNK_VALUE_LIST:
      g_assert_cmpuint (rthunk_value_get_length (a), ==, rthunk_value_get_length (b));
      for (gsize k = 0; k < rthunk_value_get_length (a); k++)
        assert_same_value (rthunk_value_get_item (a, k), rthunk_value_get_item (b, k));
      break;
    case RTHUNK_VALUE_RECORD:
      g_assert_cmpuint (rthunk_value_get_length (a), ==, rthunk_value_get_length (b));
      for (gsize k = 0; k < rthunk_value_get_length (a); k++)
        {
          g_assert_cmpstr (rthunk_value_get_field_name (a, k), ==, rthunk_value_get_field_name (b, k));
          assert_same_value (rthunk_value_get_item (a, k), rthunk_value_get_item (b, k));
        }
      break;
    case RTHUNK_VALUE_NIL:
    default:
      break;
    }
}

void
assert_same_type (RthunkType *a,
                  RthunkType *b)
{
  RthunkTypeKind kind = rthunk_type_get_kind (a);

  g_assert_cmpint (kind, ==, rthunk_type_get_kind (b));
  g_assert_cmpuint (rthunk_type_get_n_children (a), ==, rthunk_type_get_n_children (b));
  if (kind == RTHUNK_TYPE_VAR)
    {
      g_assert_cmpuint (rthunk_type_get_var_id (a), ==, rthunk_type_get_var_id (b));
      g_assert_cmpint (rthunk_type_get_class (a), ==, rthunk_type_get_class (b));
    }
  for (guint k = 0; k < rthunk_type_get_n_children (a); k++)
    assert_same_type (rthunk_type_get_child (a, k), rthunk_type_get_child (b, k));
}

RthunkValue *
nested_value (guint depth)
{
  RthunkValue *value = rthunk_value_new_int (1);

  for (guint k = 0; k < depth; k++)
    {
      RthunkValue *list = rthunk_value_new_list (&value, 1);

      rthunk_value_unref (value);
      value = list;
    }
  return value;
}

/* ---- the generated code -------------------------------------------------------- */

GByteArray *
generated_bytes (gpointer object)
{
  g_autoptr(GObject) transport = g_object_new (THRIFT_TYPE_MEMORY_BUFFER,
                                               "buf_size", 1u << 28, NULL);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL,
                                                     "transport", transport, NULL);
  g_autoptr(GError) error = NULL;
  GByteArray *buf;

  g_assert_cmpint (thrift_struct_write (THRIFT_STRUCT (object), protocol, &error), >=, 0);
  g_assert_no_error (error);
  buf = THRIFT_MEMORY_BUFFER (transport)->buf;
  return g_byte_array_append (g_byte_array_new (), buf->data, buf->len);
}

static gpointer
generated_struct (CodecTree kind)
{
  switch (kind)
    {
    case CODEC_TREE_AST:
      return g_object_new (RTHUNK_WIRE_TYPE_AST, NULL);
    case CODEC_TREE_VALUE:
      return g_object_new (RTHUNK_WIRE_TYPE_VALUE, NULL);
    case CODEC_TREE_TYPE:
    default:
      return g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
    }
}

gpointer
generated_read (CodecTree      kind,
                const guint8  *data,
                gsize          len,
                guint          max_nodes,
                GError       **error)
{
  g_autoptr(GByteArray) message = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(RthunkFrameTransport) transport = NULL;
  g_autoptr(ThriftProtocol) protocol = NULL;
  g_autoptr(GObject) wire = NULL;
  g_autofree char *name = NULL;
  ThriftMessageType mtype;
  gint32 seqid;

  rthunk_codec_put_message (message, "read", RTHUNK_CODEC_CALL, 1);
  g_byte_array_append (message, data, (guint) len);
  if (!rthunk_frame_validate (message->data, message->len, RTHUNK_FRAME_MAX_DEPTH, error))
    return NULL;
  bytes = g_bytes_new (message->data, message->len);
  transport = rthunk_frame_transport_new (-1, 0);
  rthunk_frame_transport_set_input (transport, bytes);
  protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", transport, NULL);
  wire = generated_struct (kind);
  if (thrift_protocol_read_message_begin (protocol, &name, &mtype, &seqid, error) < 0 ||
      thrift_struct_read (THRIFT_STRUCT (wire), protocol, error) < 0)
    return NULL;
  switch (kind)
    {
    case CODEC_TREE_AST:
      return rthunk_wire_read_ast (RTHUNK_WIRE_AST (wire), max_nodes, error);
    case CODEC_TREE_VALUE:
      return rthunk_wire_read_value (RTHUNK_WIRE_VALUE (wire), error);
    case CODEC_TREE_TYPE:
    default:
      return rthunk_wire_read_type (RTHUNK_WIRE_TYPE_TERM (wire), error);
    }
}

gpointer
codec_read (CodecTree      kind,
            const guint8  *data,
            gsize          len,
            guint          max_nodes,
            gsize         *len_read,
            GError       **error)
{
  RthunkCodecIn in;
  gpointer tree;

  rthunk_codec_in_init (&in, data, len);
  switch (kind)
    {
    case CODEC_TREE_AST:
      tree = rthunk_codec_get_ast (&in, max_nodes, error);
      break;
    case CODEC_TREE_VALUE:
      tree = rthunk_codec_get_value (&in, error);
      break;
    case CODEC_TREE_TYPE:
    default:
      tree = rthunk_codec_get_type (&in, error);
      break;
    }
  g_assert_true (in.pos >= data && in.pos <= data + len);
  if (len_read != NULL)
    *len_read = (gsize) (in.pos - data);
  return tree;
}

void
codec_tree_free (CodecTree kind,
                 gpointer  tree)
{
  if (tree == NULL)
    return;
  if (kind == CODEC_TREE_AST)
    rthunk_node_unref (tree);
  else if (kind == CODEC_TREE_VALUE)
    rthunk_value_unref (tree);
  else
    rthunk_type_unref (tree);
}

/* ---- agreement ----------------------------------------------------------------- */

static void
assert_same_tree (CodecTree kind,
                  gpointer  a,
                  gpointer  b)
{
  if (kind == CODEC_TREE_AST)
    assert_same_node (a, b);
  else if (kind == CODEC_TREE_VALUE)
    assert_same_value (a, b);
  else
    assert_same_type (a, b);
}

/* The codec's writer, then its reader: the same tree again. */
static void
assert_codec_roundtrip (CodecTree kind,
                        gpointer  tree)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  gpointer back;
  gsize len_read;

  if (kind == CODEC_TREE_AST)
    rthunk_codec_put_ast (out, tree, NULL);
  else if (kind == CODEC_TREE_VALUE)
    g_assert_true (rthunk_codec_put_value (out, tree, G_MAXSIZE, &error));
  else
    rthunk_codec_put_type (out, tree);
  back = codec_read (kind, out->data, out->len, G_MAXUINT, &len_read, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpuint (len_read, ==, out->len);
  if (kind == CODEC_TREE_TYPE)
    {
      /* the writer numbers the variables anew, from 0 */
      g_autofree char *printed = rthunk_type_to_string (tree);
      g_autofree char *printed_back = rthunk_type_to_string (back);

      g_assert_cmpstr (printed_back, ==, printed);
    }
  else
    assert_same_tree (kind, tree, back);
  codec_tree_free (kind, back);
}

CodecOutcome
codec_check (CodecTree      kind,
             const guint8  *data,
             gsize          len,
             guint          max_nodes,
             GError       **codec_error)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) generated_error = NULL;
  gpointer tree, generated;
  gsize len_read;
  CodecOutcome outcome;

  tree = codec_read (kind, data, len, max_nodes, &len_read, &error);
  if (tree == NULL && error == NULL)
    return CODEC_FELL_BACK;
  g_assert_true ((tree == NULL) != (error == NULL));
  if (error != NULL)
    g_assert_true (g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST) ||
                   g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED));
  /* the generated code reads what the codec read, no more */
  generated = generated_read (kind, data, len_read, max_nodes, &generated_error);
  if (g_error_matches (generated_error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_DEEP))
    outcome = CODEC_REFUSED_FRAME;    /* no struct this deep ever reaches the codec */
  else if (tree != NULL)
    {
      g_assert_no_error (generated_error);
      assert_same_tree (kind, tree, generated);
      assert_codec_roundtrip (kind, tree);
      outcome = CODEC_AGREED_TREE;
    }
  else
    {
      g_assert_null (generated);
      /* the generated reader refuses a string holding a NUL as soon as it
       * reads it (patch-generated.sh), where the codec may meet another
       * fault of the same bytes first: both refuse them */
      if (!(g_error_matches (generated_error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_INVALID_DATA) &&
            g_str_has_suffix (generated_error->message, "holds a NUL byte")))
        {
          g_assert_error (generated_error, RTHUNK_ERROR, error->code);
          g_assert_cmpstr (generated_error->message, ==, error->message);
        }
      outcome = CODEC_AGREED_ERROR;
    }
  codec_tree_free (kind, tree);
  codec_tree_free (kind, generated);
  if (codec_error != NULL)
    *codec_error = g_steal_pointer (&error);
  return outcome;
}
