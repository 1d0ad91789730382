/* rthunk-codec-write.c — the hot messages, written straight from trees
 *
 * See rthunk-codec.h; the reader is rthunk-codec.c. The field numbers are those of idl/rthunk.thrift;
 * tests/test-codec.c checks that what is written here is byte for byte
 * what the generated code writes, and that what is read here is what
 * rthunk-wire.c builds from the generated structs.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* ---- writing primitives -------------------------------------------------- */

void
rthunk_codec_put_u8 (GByteArray *out,
                     guint8      v)
{
  g_byte_array_append (out, &v, 1);
}

void
rthunk_codec_put_i16 (GByteArray *out,
                      gint16      v)
{
  guint16 be = GUINT16_TO_BE ((guint16) v);

  g_byte_array_append (out, (const guint8 *) &be, 2);
}

void
rthunk_codec_put_i32 (GByteArray *out,
                      gint32      v)
{
  guint32 be = GUINT32_TO_BE ((guint32) v);

  g_byte_array_append (out, (const guint8 *) &be, 4);
}

void
rthunk_codec_put_i64 (GByteArray *out,
                      gint64      v)
{
  guint64 be = GUINT64_TO_BE ((guint64) v);

  g_byte_array_append (out, (const guint8 *) &be, 8);
}

void
rthunk_codec_put_double (GByteArray *out,
                         double      v)
{
  gint64 bits;

  memcpy (&bits, &v, sizeof bits);
  rthunk_codec_put_i64 (out, bits);
}

/* A short binary's length and bytes are gathered on the stack and
 * appended at once: each g_byte_array_append() costs ~75 instructions,
 * and a reply is mostly short fields. */
#define SHORT_BINARY 60

void
rthunk_codec_put_binary (GByteArray *out,
                         const void *data,
                         gsize       len)
{
  guint8 buf[4 + SHORT_BINARY];
  guint32 be = GUINT32_TO_BE ((guint32) len);

  if (len > SHORT_BINARY)
    {
      rthunk_codec_put_i32 (out, (gint32) len);
      g_byte_array_append (out, data, (guint) len);
      return;
    }
  memcpy (buf, &be, 4);
  if (len > 0)
    memcpy (buf + 4, data, len);
  g_byte_array_append (out, buf, (guint) (4 + len));
}

void
rthunk_codec_put_string (GByteArray *out,
                         const char *text)
{
  rthunk_codec_put_binary (out, text, text != NULL ? strlen (text) : 0);
}

void
rthunk_codec_put_field (GByteArray *out,
                        guint8      type,
                        gint16      id)
{
  guint8 head[3] = { type, (guint8) ((guint16) id >> 8), (guint8) id };

  g_byte_array_append (out, head, 3);
}

void
rthunk_codec_put_stop (GByteArray *out)
{
  rthunk_codec_put_u8 (out, RTHUNK_CODEC_STOP);
}

void
rthunk_codec_put_list (GByteArray *out,
                       guint8      elem_type,
                       guint32     count)
{
  guint8 head[5] = { elem_type, (guint8) (count >> 24), (guint8) (count >> 16),
                     (guint8) (count >> 8), (guint8) count };

  g_byte_array_append (out, head, 5);
}

void
rthunk_codec_put_message (GByteArray *out,
                          const char *name,
                          guint8      type,
                          gint32      seqid)
{
  guint8 head[4 + 4 + SHORT_BINARY + 4];
  gsize len = strlen (name);
  guint32 be[2] = { GUINT32_TO_BE (0x80010000u | type), GUINT32_TO_BE ((guint32) len) };
  guint32 seq = GUINT32_TO_BE ((guint32) seqid);

  if (len > SHORT_BINARY)
    {
      rthunk_codec_put_i32 (out, (gint32) (0x80010000u | type));
      rthunk_codec_put_string (out, name);
      rthunk_codec_put_i32 (out, seqid);
      return;
    }
  memcpy (head, be, 8);
  memcpy (head + 8, name, len);
  memcpy (head + 8 + len, &seq, 4);
  g_byte_array_append (out, head, (guint) (12 + len));
}

/* ---- writing trees ------------------------------------------------------- */

/* A list<i32> field of child indices. */
static void
put_indices (GByteArray   *out,
             gint16        id,
             const gint32 *indices,
             guint         n)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, id);
  rthunk_codec_put_list (out, RTHUNK_CODEC_I32, n);
  for (guint k = 0; k < n; k++)
    rthunk_codec_put_i32 (out, indices[k]);
}

/* The fields of one node gathered on the stack and appended at once: one
 * g_byte_array_append() a node rather than one a field (~150 instructions
 * each). */
typedef struct
{
  guint8 b[128];
  guint n;
} Scratch;

static inline void
scratch_flush (Scratch    *s,
               GByteArray *out)
{
  if (s->n > 0)
    g_byte_array_append (out, s->b, s->n);
  s->n = 0;
}

/* Room for @n more bytes. */
static inline void
scratch_room (Scratch    *s,
              GByteArray *out,
              guint       n)
{
  if (s->n + n > sizeof s->b)
    scratch_flush (s, out);
}

static inline void
scratch_field (Scratch *s,
               guint8   type,
               gint16   id)
{
  s->b[s->n++] = type;
  s->b[s->n++] = (guint8) ((guint16) id >> 8);
  s->b[s->n++] = (guint8) id;
}

static inline void
scratch_i32 (Scratch *s,
             gint32   v)
{
  guint32 be = GUINT32_TO_BE ((guint32) v);

  memcpy (s->b + s->n, &be, 4);
  s->n += 4;
}

static inline void
scratch_i64 (Scratch *s,
             gint64   v)
{
  guint64 be = GUINT64_TO_BE ((guint64) v);

  memcpy (s->b + s->n, &be, 8);
  s->n += 8;
}

/* A binary field: gathered if short, else appended after what @s holds. */
static void
scratch_binary_field (Scratch    *s,
                      GByteArray *out,
                      gint16      id,
                      const void *data,
                      gsize       len)
{
  scratch_room (s, out, 3 + 4 + MIN (len, SHORT_BINARY));
  scratch_field (s, RTHUNK_CODEC_STRING, id);
  if (len > SHORT_BINARY)
    {
      scratch_flush (s, out);
      rthunk_codec_put_binary (out, data, len);
      return;
    }
  scratch_i32 (s, (gint32) len);
  if (len > 0)
    memcpy (s->b + s->n, data, len);
  s->n += (guint) len;
}

/* A field of child indices. */
static void
scratch_indices (Scratch      *s,
                 GByteArray   *out,
                 gint16        id,
                 const gint32 *indices,
                 guint         n)
{
  scratch_room (s, out, 8);
  scratch_field (s, RTHUNK_CODEC_LIST, id);
  s->b[s->n++] = RTHUNK_CODEC_I32;
  scratch_i32 (s, (gint32) n);
  for (guint k = 0; k < n; k++)
    {
      scratch_room (s, out, 4);
      scratch_i32 (s, indices[k]);
    }
}

typedef struct
{
  GByteArray *nodes;          /* the encoded node structs */
  guint n_nodes;
  GHashTable *node_types;
  GHashTable *type_index;     /* type string → index */
  GHashTable *type_seen;      /* a type term (pruned) → its index */
  GByteArray *types;          /* the encoded TypeTerm structs */
} AstOut;

static gint32
intern_type (AstOut     *a,
             RthunkType *type)
{
  gpointer term = rthunk_type_prune (type);
  g_autofree char *key = NULL;
  gpointer index;
  guint n = g_hash_table_size (a->type_index);

  /* the same term again (basic types are one term each) needs no printing;
   * equal types that are other terms are found by their printed form */
  if (g_hash_table_lookup_extended (a->type_seen, term, NULL, &index))
    return GPOINTER_TO_INT (index);
  key = rthunk_type_to_string (type);
  if (!g_hash_table_lookup_extended (a->type_index, key, NULL, &index))
    {
      rthunk_codec_put_type (a->types, type);
      index = GINT_TO_POINTER (n);
      g_hash_table_insert (a->type_index, g_steal_pointer (&key), index);
    }
  g_hash_table_insert (a->type_seen, term, index);
  return GPOINTER_TO_INT (index);
}

static gint32
put_ast_node (AstOut     *a,
              RthunkNode *node)
{
  static const gint32 wire_kinds[] = {
    [RTHUNK_NODE_INT] = 1, [RTHUNK_NODE_FLOAT] = 2, [RTHUNK_NODE_STR] = 3,
    [RTHUNK_NODE_BOOL] = 4, [RTHUNK_NODE_NIL] = 5, [RTHUNK_NODE_SYMBOL] = 6,
    [RTHUNK_NODE_KEYWORD] = 7, [RTHUNK_NODE_LIST] = 8, [RTHUNK_NODE_VECTOR] = 9,
  };
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  GByteArray *out = a->nodes;
  gint32 stack_children[16];
  gint32 *children = NULL;
  guint n = 0;
  RthunkType *type;
  Scratch sc;

  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    {
      n = rthunk_node_get_n_items (node);
      children = n <= G_N_ELEMENTS (stack_children) ? stack_children : g_new (gint32, n);
      for (guint k = 0; k < n; k++)
        children[k] = put_ast_node (a, rthunk_node_get_item (node, k));
    }
  sc.n = 0;
  type = a->node_types != NULL ? g_hash_table_lookup (a->node_types, node) : NULL;
  scratch_field (&sc, RTHUNK_CODEC_I32, 1);
  scratch_i32 (&sc, kind < G_N_ELEMENTS (wire_kinds) ? wire_kinds[kind] : 9);
  switch (kind)
    {
    case RTHUNK_NODE_INT:
      scratch_field (&sc, RTHUNK_CODEC_I64, 2);
      scratch_i64 (&sc, rthunk_node_get_int (node));
      break;
    case RTHUNK_NODE_FLOAT:
      {
        double f = rthunk_node_get_float (node);
        gint64 bits;

        memcpy (&bits, &f, sizeof bits);
        scratch_field (&sc, RTHUNK_CODEC_DOUBLE, 3);
        scratch_i64 (&sc, bits);
      }
      break;
    case RTHUNK_NODE_BOOL:
      scratch_field (&sc, RTHUNK_CODEC_BOOL, 4);
      sc.b[sc.n++] = rthunk_node_get_bool (node) ? 1 : 0;
      break;
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      {
        const char *text = rthunk_node_get_text (node);
        gsize len = strlen (text);

        scratch_field (&sc, RTHUNK_CODEC_STRING, 5);
        scratch_i32 (&sc, (gint32) len);
        if (len <= sizeof sc.b - sc.n - 40)
          {
            memcpy (sc.b + sc.n, text, len);
            sc.n += (guint) len;
          }
        else
          {
            scratch_flush (&sc, out);
            g_byte_array_append (out, (const guint8 *) text, (guint) len);
          }
      }
      break;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      scratch_indices (&sc, out, 6, children, n);
      break;
    case RTHUNK_NODE_NIL:
    default:
      break;
    }
  scratch_room (&sc, out, 22);
  scratch_field (&sc, RTHUNK_CODEC_I32, 7);
  scratch_i32 (&sc, (gint32) rthunk_node_get_line (node));
  scratch_field (&sc, RTHUNK_CODEC_I32, 8);
  scratch_i32 (&sc, (gint32) rthunk_node_get_col (node));
  if (type != NULL)
    {
      scratch_field (&sc, RTHUNK_CODEC_I32, 9);
      scratch_i32 (&sc, intern_type (a, type));
    }
  sc.b[sc.n++] = RTHUNK_CODEC_STOP;
  scratch_flush (&sc, out);
  if (children != stack_children)
    g_free (children);
  return (gint32) a->n_nodes++;
}

void
rthunk_codec_put_ast (GByteArray *out,
                      RthunkNode *root,
                      GHashTable *node_types)
{
  AstOut a = { g_byte_array_new (), 0, node_types, NULL, NULL, g_byte_array_new () };

  a.type_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  a.type_seen = g_hash_table_new (NULL, NULL);
  put_ast_node (&a, root);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, a.n_nodes);
  g_byte_array_append (out, a.nodes->data, a.nodes->len);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 2);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, g_hash_table_size (a.type_index));
  g_byte_array_append (out, a.types->data, a.types->len);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 3);
  rthunk_codec_put_string (out, rthunk_node_get_source (root));
  rthunk_codec_put_stop (out);
  g_hash_table_unref (a.type_index);
  g_hash_table_unref (a.type_seen);
  g_byte_array_unref (a.nodes);
  g_byte_array_unref (a.types);
}

/* About what one value node takes on the wire beyond its text and items,
 * as rthunk-wire.c counts it. */
#define VALUE_NODE_BYTES 24

static void put_field_names (GByteArray *out, gint16 id, RthunkValue *value, GPtrArray *names);

/* A node of a Value: a scalar one is gathered in @sc (which holds what
 * comes before it, not yet appended), any other is appended after what
 * @sc holds. */
static gboolean
put_value_node (GByteArray   *out,
                Scratch      *sc,
                RthunkValue  *value,
                guint         depth,
                gsize        *left,
                guint        *n_nodes,
                GError      **error)
{
  RthunkValueKind kind = rthunk_value_get_kind (value);
  gsize cost = rthunk_wire_value_node_cost (value);
  gint32 stack_items[16];
  gint32 *items = NULL;
  gsize n = 0;

  if (depth > RTHUNK_WIRE_MAX_VALUE_DEPTH)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                   _("the value nests deeper than %d levels"), RTHUNK_WIRE_MAX_VALUE_DEPTH);
      return FALSE;
    }
  /* each item will be a node of its own: a list that cannot fit is refused
   * before its items are boxed (a list of ints keeps them once boxed) */
  if (cost > *left ||
      (kind == RTHUNK_VALUE_LIST &&
       rthunk_value_get_length (value) > (*left - cost) / VALUE_NODE_BYTES))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_VALUE_TOO_LARGE,
                   _("the value is too large to send in one frame: keep it where it is "
                     "(remote :ref …) and send something smaller made from it"));
      return FALSE;
    }
  *left -= cost;
  if (kind == RTHUNK_VALUE_PENDING)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("a pending value cannot travel yet: await it first"));
      return FALSE;
    }
  if (kind == RTHUNK_VALUE_LIST || kind == RTHUNK_VALUE_RECORD)
    {
      n = rthunk_value_get_length (value);
      items = n <= G_N_ELEMENTS (stack_items) ? stack_items : g_new (gint32, n);
      for (gsize k = 0; k < n; k++)
        {
          if (!put_value_node (out, sc, rthunk_value_get_item (value, k), depth + 1, left, n_nodes, error))
            {
              if (items != stack_items)
                g_free (items);
              return FALSE;
            }
          items[k] = (gint32) *n_nodes - 1;
        }
    }
  if (kind == RTHUNK_VALUE_NIL || kind == RTHUNK_VALUE_BOOL || kind == RTHUNK_VALUE_INT ||
      kind == RTHUNK_VALUE_FLOAT)
    {
      /* a scalar node: gathered with what comes before and after it */
      gint64 bits;
      double f;

      scratch_room (sc, out, 3 + 4 + 3 + 8 + 1);
      scratch_field (sc, RTHUNK_CODEC_I32, 1);
      switch (kind)
        {
        case RTHUNK_VALUE_NIL:
          scratch_i32 (sc, 1);
          break;
        case RTHUNK_VALUE_BOOL:
          scratch_i32 (sc, 2);
          scratch_field (sc, RTHUNK_CODEC_BOOL, 2);
          sc->b[sc->n++] = rthunk_value_get_bool (value) ? 1 : 0;
          break;
        case RTHUNK_VALUE_INT:
          scratch_i32 (sc, 3);
          scratch_field (sc, RTHUNK_CODEC_I64, 3);
          scratch_i64 (sc, rthunk_value_get_int (value));
          break;
        default:
          f = rthunk_value_get_float (value);
          memcpy (&bits, &f, sizeof bits);
          scratch_i32 (sc, 4);
          scratch_field (sc, RTHUNK_CODEC_DOUBLE, 4);
          scratch_i64 (sc, bits);
          break;
        }
      sc->b[sc->n++] = RTHUNK_CODEC_STOP;
      (*n_nodes)++;
      return TRUE;
    }
  scratch_flush (sc, out);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  switch (kind)
    {
    case RTHUNK_VALUE_STR:
      rthunk_codec_put_i32 (out, 5);
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 5);
      rthunk_codec_put_string (out, rthunk_value_get_str (value));
      break;
    case RTHUNK_VALUE_LIST:
      rthunk_codec_put_i32 (out, 6);
      put_indices (out, 6, items, (guint) n);
      break;
    case RTHUNK_VALUE_RECORD:
      rthunk_codec_put_i32 (out, 9);
      put_indices (out, 6, items, (guint) n);
      put_field_names (out, 9, value, NULL);
      break;
    case RTHUNK_VALUE_FUNC:
    default:
      rthunk_codec_put_i32 (out, 7);
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 5);
      rthunk_codec_put_string (out, rthunk_value_get_name (value));
      break;
    }
  rthunk_codec_put_stop (out);
  if (items != NULL && items != stack_items)
    g_free (items);
  (*n_nodes)++;
  return TRUE;
}

gboolean
rthunk_codec_put_value (GByteArray   *out,
                        RthunkValue  *value,
                        gsize         max_bytes,
                        GError      **error)
{
  guint start = out->len;
  guint count_at = start + 4, n_nodes = 0;     /* the list's count: after its field and type */
  gsize left = max_bytes;
  guint32 be;
  Scratch sc;

  /* gathered, so that a scalar value is one append */
  sc.n = 0;
  scratch_field (&sc, RTHUNK_CODEC_LIST, 1);
  sc.b[sc.n++] = RTHUNK_CODEC_STRUCT;
  scratch_i32 (&sc, 0);
  if (!put_value_node (out, &sc, value, 0, &left, &n_nodes, error))
    {
      g_byte_array_set_size (out, start);
      return FALSE;
    }
  scratch_room (&sc, out, 1);
  sc.b[sc.n++] = RTHUNK_CODEC_STOP;
  scratch_flush (&sc, out);
  be = GUINT32_TO_BE (n_nodes);
  memcpy (out->data + count_at, &be, 4);
  return TRUE;
}

void
rthunk_codec_put_thunk_head (GByteArray   *out,
                             const guint8 *id,
                             gsize         id_len,
                             const char   *server,
                             gint32        state,
                             gboolean      value_follows)
{
  Scratch sc;

  /* gathered: a reply is one RemoteThunk, and these are most of it */
  sc.n = 0;
  scratch_binary_field (&sc, out, 1, id, id_len);
  scratch_binary_field (&sc, out, 2, server, server != NULL ? strlen (server) : 0);
  scratch_room (&sc, out, 3 + 4 + 3);
  scratch_field (&sc, RTHUNK_CODEC_I32, 3);
  scratch_i32 (&sc, state);
  if (value_follows)
    scratch_field (&sc, RTHUNK_CODEC_STRUCT, 4);
  scratch_flush (&sc, out);
}

/* Field @id, a list<string>: the field names of the record value @value,
 * or @names. */
static void
put_field_names (GByteArray *out,
                 gint16      id,
                 RthunkValue *value,
                 GPtrArray  *names)
{
  guint n = value != NULL ? rthunk_value_get_length (value) : names->len;

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, id);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRING, n);
  for (guint k = 0; k < n; k++)
    rthunk_codec_put_string (out, value != NULL ? rthunk_value_get_field_name (value, k)
                                                : g_ptr_array_index (names, k));
}

static gint32
put_type_node (GByteArray  *out,
               RthunkType  *type,
               GHashTable **var_ids,
               guint       *n_nodes)
{
  RthunkTypeKind kind = rthunk_type_get_kind (type);
  guint n = rthunk_type_get_n_children (type);
  gint32 stack_children[16];
  gint32 *children;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) types = NULL;
  Scratch sc;

  if (kind == RTHUNK_TYPE_RECORD)
    {
      /* seen through its row variables: the fields, then the row */
      RthunkType *row;

      names = g_ptr_array_new ();
      types = g_ptr_array_new ();
      rthunk_type_record_fields (type, names, types, &row);
      if (row != NULL)
        g_ptr_array_add (types, row);
      n = types->len;
    }
  children = n <= G_N_ELEMENTS (stack_children) ? stack_children : g_new (gint32, n);
  for (guint k = 0; k < n; k++)
    children[k] = put_type_node (out, types != NULL ? g_ptr_array_index (types, k) : rthunk_type_get_child (type, k),
                                 var_ids, n_nodes);
  sc.n = 0;
  scratch_field (&sc, RTHUNK_CODEC_I32, 1);
  scratch_i32 (&sc, (gint32) kind + 1);                /* the wire numbers from 1 */
  if (kind == RTHUNK_TYPE_VAR)
    {
      gpointer key = rthunk_type_prune (type);
      gpointer id;

      if (*var_ids == NULL)
        *var_ids = g_hash_table_new (NULL, NULL);     /* most types have no variable */
      if (!g_hash_table_lookup_extended (*var_ids, key, NULL, &id))
        {
          id = GUINT_TO_POINTER (g_hash_table_size (*var_ids));
          g_hash_table_insert (*var_ids, key, id);
        }
      scratch_field (&sc, RTHUNK_CODEC_I32, 2);
      scratch_i32 (&sc, (gint32) GPOINTER_TO_UINT (id));
      scratch_field (&sc, RTHUNK_CODEC_I32, 3);
      scratch_i32 (&sc, (gint32) rthunk_type_get_class (type));
    }
  if (n > 0)
    scratch_indices (&sc, out, 4, children, n);
  if (names != NULL)
    {
      scratch_flush (&sc, out);
      sc.n = 0;
      put_field_names (out, 5, NULL, names);
    }
  scratch_room (&sc, out, 1);
  sc.b[sc.n++] = RTHUNK_CODEC_STOP;
  scratch_flush (&sc, out);
  if (children != stack_children)
    g_free (children);
  return (gint32) (*n_nodes)++;
}

void
rthunk_codec_put_type (GByteArray *out,
                       RthunkType *type)
{
  g_autoptr(GHashTable) var_ids = NULL;
  guint count_at, n_nodes = 0;
  guint32 be;

  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 0);
  count_at = out->len - 4;
  put_type_node (out, type, &var_ids, &n_nodes);
  be = GUINT32_TO_BE (n_nodes);
  memcpy (out->data + count_at, &be, 4);
  rthunk_codec_put_stop (out);
}

gboolean
rthunk_codec_message_position (const char  *message,
                               char       **source,
                               gint32      *line,
                               gint32      *col)
{
  const char *end = strstr (message, ": error: ");
  g_autofree char *head = NULL;
  char *c, *l;

  if (end == NULL)
    return FALSE;
  head = g_strndup (message, end - message);
  if ((c = strrchr (head, ':')) == NULL)
    return FALSE;
  *c++ = '\0';
  if ((l = strrchr (head, ':')) == NULL)
    return FALSE;
  *l++ = '\0';
  *line = (gint32) g_ascii_strtoll (l, NULL, 10);
  *col = (gint32) g_ascii_strtoll (c, NULL, 10);
  *source = g_strdup (head);
  return TRUE;
}

void
rthunk_codec_put_error_info (GByteArray   *out,
                             const GError *error)
{
  g_autofree char *source = NULL;
  gint32 line, col;

  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (out, error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_INTERNAL);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 2);
  rthunk_codec_put_string (out, error->message);
  if (rthunk_codec_message_position (error->message, &source, &line, &col))
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 3);
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
      rthunk_codec_put_string (out, source);
      rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 2);
      rthunk_codec_put_i32 (out, line);
      rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 3);
      rthunk_codec_put_i32 (out, col);
      rthunk_codec_put_stop (out);
    }
  rthunk_codec_put_stop (out);
}
