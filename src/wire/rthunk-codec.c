/* rthunk-codec.c — the hot messages, read straight from bytes into trees
 *
 * See rthunk-codec.h; the writer is rthunk-codec-write.c. The field numbers are those of idl/rthunk.thrift;
 * tests/test-codec.c checks that what is written here is byte for byte
 * what the generated code writes, and that what is read here is what
 * rthunk-wire.c builds from the generated structs.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* ---- reading primitives -------------------------------------------------- */

static inline guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* Skipping reads the bytes directly: it runs over every Ast a server
 * receives (to look the request up in its memo) and over every field it
 * does not use. */
static gboolean
skip_depth (RthunkCodecIn *in,
            guint8         type,
            guint          depth)
{
  static const guint8 fixed[16] = { [RTHUNK_CODEC_BOOL] = 1, [RTHUNK_CODEC_BYTE] = 1,
                                    [RTHUNK_CODEC_DOUBLE] = 8, [RTHUNK_CODEC_I16] = 2,
                                    [RTHUNK_CODEC_I32] = 4, [RTHUNK_CODEC_I64] = 8 };
  const guint8 *p = in->pos, *end = in->end;
  guint32 n;

  if (depth > 64 || type >= 16)
    return FALSE;
  if (fixed[type] > 0)
    {
      if ((gsize) (end - p) < fixed[type])
        return FALSE;
      in->pos = p + fixed[type];
      return TRUE;
    }
  switch (type)
    {
    case RTHUNK_CODEC_STRING:
      if (end - p < 4 || (n = be32 (p)) > G_MAXINT32 || (gsize) (end - p - 4) < n)
        return FALSE;
      /* a string holding a NUL is left to the generated code, which
       * refuses it if it reads that field (idl/patch-generated.sh) */
      if (memchr (p + 4, '\0', n) != NULL)
        return FALSE;
      in->pos = p + 4 + n;
      return TRUE;
    case RTHUNK_CODEC_STRUCT:
      for (;;)
        {
          guint8 t;

          if (p >= end)
            return FALSE;
          if ((t = *p) == RTHUNK_CODEC_STOP)
            {
              in->pos = p + 1;
              return TRUE;
            }
          if (end - p < 3)
            return FALSE;
          in->pos = p + 3;
          if (!skip_depth (in, t, depth + 1))
            return FALSE;
          p = in->pos;
        }
    case RTHUNK_CODEC_MAP:
    case RTHUNK_CODEC_SET:
    case RTHUNK_CODEC_LIST:
      {
        guint head = type == RTHUNK_CODEC_MAP ? 6 : 5;
        guint8 k = p < end ? p[0] : 0, v;

        if ((gsize) (end - p) < head)
          return FALSE;
        v = type == RTHUNK_CODEC_MAP ? p[1] : k;
        /* element types are checked even for no elements, as the frame
         * validator checks them */
        if ((n = be32 (p + head - 4)) > G_MAXINT32 || !rthunk_codec_is_value_type (k) || !rthunk_codec_is_value_type (v))
          return FALSE;
        in->pos = p + head;
        /* elements of a fixed size: one bounds check for all of them */
        if (type != RTHUNK_CODEC_MAP && fixed[k] > 0)
          {
            if ((gsize) (end - in->pos) / fixed[k] < n)
              return FALSE;
            in->pos += (gsize) n * fixed[k];
            return TRUE;
          }
        for (guint32 i = 0; i < n; i++)
          if (!skip_depth (in, k, depth + 1) ||
              (type == RTHUNK_CODEC_MAP && !skip_depth (in, v, depth + 1)))
            return FALSE;
        return TRUE;
      }
    default:
      return FALSE;
    }
}

gboolean
rthunk_codec_skip (RthunkCodecIn *in,
                   guint8         type)
{
  return skip_depth (in, type, 0);
}

/* A whole struct up to its STOP, each field read by @read_field into
 * @data: FALSE on a field it does not take, and (@refuse_repeats) on one
 * seen twice, which only the generated code may judge. */
gboolean
rthunk_codec_get_struct (RthunkCodecIn        *in,
                         gboolean              refuse_repeats,
                         RthunkCodecFieldFunc  read_field,
                         gpointer              data)
{
  guint32 seen = 0;
  guint8 type;
  gint16 id;

  while (rthunk_codec_get_field (in, &type, &id))
    {
      if (type == RTHUNK_CODEC_STOP)
        return TRUE;
      if ((refuse_repeats && !rthunk_codec_first_time (&seen, id)) || !read_field (in, type, id, data))
        return FALSE;
    }
  return FALSE;
}

typedef struct
{
  const RthunkCodecField *fields;
  guint n_fields;
  gpointer target;
} FieldTable;

/* A field of a FieldTable's struct: read as its entry says, else skipped. */
static gboolean
table_field (RthunkCodecIn *in,
             guint8         type,
             gint16         id,
             gpointer       data)
{
  const FieldTable *table = data;

  for (guint k = 0; k < table->n_fields; k++)
    if (table->fields[k].id == id && table->fields[k].type == type)
      return table->fields[k].get (in, (guint8 *) table->target + table->fields[k].offset);
  return rthunk_codec_skip (in, type);
}

gboolean
rthunk_codec_get_fields (RthunkCodecIn          *in,
                         gboolean                refuse_repeats,
                         const RthunkCodecField *fields,
                         guint                   n_fields,
                         gpointer                target)
{
  FieldTable table = { fields, n_fields, target };

  return rthunk_codec_get_struct (in, refuse_repeats, table_field, &table);
}

/* The wire's NodeKind of a string literal (idl/rthunk.thrift). */
#define WIRE_NODE_STR 3

/* One AstNode struct (at depth 2 of the Ast), its slots noted (@texts:
 * the text of a STR node too, which follows its kind). */
static gboolean
node_slots (RthunkCodecIn   *in,
            const guint8    *start,
            guint32          node,
            gboolean         texts,
            RthunkCodecSlot *slots,
            guint            max_slots,
            guint           *n_slots)
{
  gint32 kind = 0;

  for (;;)
    {
      guint8 type, size;
      gint16 id;
      guint32 len = 0;

      if (!rthunk_codec_get_field (in, &type, &id))
        return FALSE;
      if (type == RTHUNK_CODEC_STOP)
        return TRUE;
      switch (id * 16 + type)
        {
        case 1 * 16 + RTHUNK_CODEC_I32:
          if (!rthunk_codec_get_i32 (in, &kind))
            return FALSE;
          continue;
        case RTHUNK_CODEC_SLOT_TEXT * 16 + RTHUNK_CODEC_STRING:
          if (!texts || kind != WIRE_NODE_STR)
            {
              if (!skip_depth (in, type, 3))
                return FALSE;
              continue;
            }
          if (!rthunk_codec_need (in, 4))
            return FALSE;
          memcpy (&len, in->pos, 4);
          len = GUINT32_FROM_BE (len);
          size = 4;
          break;
        case RTHUNK_CODEC_SLOT_INT * 16 + RTHUNK_CODEC_I64:
        case RTHUNK_CODEC_SLOT_FLOAT * 16 + RTHUNK_CODEC_DOUBLE:
          size = 8;
          break;
        case RTHUNK_CODEC_SLOT_BOOL * 16 + RTHUNK_CODEC_BOOL:
          size = 1;
          break;
        case RTHUNK_CODEC_SLOT_LINE * 16 + RTHUNK_CODEC_I32:
        case RTHUNK_CODEC_SLOT_COL * 16 + RTHUNK_CODEC_I32:
          size = 4;
          break;
        default:
          if (!skip_depth (in, type, 3))
            return FALSE;
          continue;
        }
      if (len > G_MAXINT32 || !rthunk_codec_need (in, size + (gsize) len))
        return FALSE;
      if (*n_slots < max_slots)
        slots[*n_slots] = (RthunkCodecSlot) { node, (guint32) (in->pos - start), (guint8) id, size };
      if (*n_slots <= max_slots)
        (*n_slots)++;
      in->pos += size + len;
    }
}

gboolean
rthunk_codec_ast_slots (RthunkCodecIn   *in,
                        const guint8    *start,
                        gboolean         texts,
                        RthunkCodecSlot *slots,
                        guint            max_slots,
                        guint           *n_slots)
{
  guint32 node = 0;

  *n_slots = 0;
  for (;;)
    {
      guint8 type;
      gint16 id;
      guint32 n;

      if (!rthunk_codec_get_field (in, &type, &id))
        return FALSE;
      if (type == RTHUNK_CODEC_STOP)
        return TRUE;
      /* the nodes: a list of structs (the generated code appends a second
       * list to the first, so the indices go on) */
      if (id == 1 && type == RTHUNK_CODEC_LIST && rthunk_codec_need (in, 1) &&
          in->pos[0] == RTHUNK_CODEC_STRUCT)
        {
          if (!rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n))
            return FALSE;
          for (guint32 k = 0; k < n; k++, node++)
            if (!node_slots (in, start, node, texts, slots, max_slots, n_slots))
              return FALSE;
        }
      else if (!skip_depth (in, type, 1))
        return FALSE;
    }
}

gboolean
rthunk_codec_get_message (RthunkCodecIn  *in,
                          const guint8  **name,
                          guint32        *name_len,
                          guint8         *type,
                          gint32         *seqid)
{
  gint32 first;

  if (!rthunk_codec_get_i32 (in, &first))
    return FALSE;
  if (first < 0)
    {
      /* strict: version in the high half, the type in the low byte, the
       * byte between them unused (as the frame validator insists) */
      if (((guint32) first & 0xffffff00u) != 0x80010000u)
        return FALSE;
      *type = (guint8) (first & 0xff);
      return rthunk_codec_get_binary (in, name, name_len) && rthunk_codec_get_i32 (in, seqid);
    }
  if (!rthunk_codec_need (in, (gsize) first))
    return FALSE;
  *name = in->pos;
  *name_len = (guint32) first;
  in->pos += first;
  return rthunk_codec_get_u8 (in, type) && rthunk_codec_get_i32 (in, seqid);
}

/* A list<i32> of child indices, appended to @children as the generated
 * code appends a repeated field to the first. */
static gboolean
get_indices (RthunkCodecIn *in,
             GArray        *children)
{
  guint32 n;

  if (!rthunk_codec_get_list (in, RTHUNK_CODEC_I32, &n) || !rthunk_codec_need (in, (gsize) n * 4))
    return FALSE;
  for (guint32 k = 0; k < n; k++)
    {
      gint32 child;

      rthunk_codec_get_i32 (in, &child);
      g_array_append_val (children, child);
    }
  return TRUE;
}

/* ---- trees: the checks every flat node list gets ------------------------- */

/* The bookkeeping of one node list being read: which nodes are used and
 * how deep each one is. */
typedef struct
{
  const char *what;
  const char *too_deep;
  guint8 *used;
  guint16 *depth;
  guint n;
  guint max_depth;
} Tree;

static void
tree_init (Tree       *tree,
           const char *what,
           const char *too_deep,
           guint       n,
           guint       max_depth)
{
  tree->what = what;
  tree->too_deep = too_deep;
  tree->used = g_new0 (guint8, MAX (n, 1));
  tree->depth = g_new0 (guint16, MAX (n, 1));
  tree->n = n;
  tree->max_depth = max_depth;
}

static void
tree_clear (Tree *tree)
{
  g_free (tree->used);
  g_free (tree->depth);
}

/* Node @index names @children: earlier nodes, each used once, not too deep. */
static gboolean
tree_link (Tree         *tree,
           guint         index,
           const GArray *children,
           GError      **error)
{
  for (guint k = 0; k < children->len; k++)
    {
      gint32 child = g_array_index (children, gint32, k);

      if (child < 0 || (guint) child >= index)
        return rthunk_wire_invalid (error, tree->what, index, _("a child index must name an earlier node"));
      if (tree->used[child])
        return rthunk_wire_invalid (error, tree->what, index, _("a node is used twice"));
      tree->used[child] = 1;
      tree->depth[index] = MAX (tree->depth[index], tree->depth[child] + 1);
    }
  if (tree->depth[index] > tree->max_depth)
    return rthunk_wire_invalid (error, tree->what, index, _(tree->too_deep));
  return TRUE;
}

static gboolean
tree_all_used (const Tree *tree,
               GError    **error)
{
  for (guint k = 0; k + 1 < tree->n; k++)
    if (!tree->used[k])
      return rthunk_wire_invalid (error, tree->what, k, _("the node is not part of the tree"));
  return TRUE;
}

/* Text of a node: valid UTF-8, copied. %NULL with an error for text
 * rthunk-wire.c refuses; %NULL without one for text holding a NUL, which
 * the generated code refuses (idl/patch-generated.sh): that is for it to
 * answer. */
static char *
get_text (const guint8  *data,
          guint32        len,
          guint          index,
          const char    *what,
          GError       **error)
{
  if (memchr (data, '\0', len) != NULL)
    return NULL;
  if (!g_utf8_validate ((const char *) data, len, NULL))
    return rthunk_wire_invalid (error, what, index, _("text is not valid UTF-8")), NULL;
  return g_strndup ((const char *) data, len);
}

/* ---- node lists ---------------------------------------------------------- */

/* Reading a struct whose field 1 is a node list (Ast, Value, TypeTerm)
 * goes on to its end once the tree is refused: the refusal is only
 * reported for bytes the generated code decodes whole, since for the others
 * it answers before rthunk-wire.c sees a node. */

/* The fields of one node struct, of whichever list. */
typedef struct
{
  gint32 kind;
  gboolean has_kind;
  gint64 i;
  double f;
  gboolean b;
  gboolean has_i;
  gboolean has_f;
  gboolean has_b;
  const guint8 *text;
  guint32 text_len;
  gboolean has_text;
  gint32 line;
  gint32 col;
  gint32 var_id;
  gint32 klass;
  gboolean has_class;
  const guint8 *names;          /* RECORD: the strings of fieldNames, read */
  guint32 n_names;
} NodeFields;

/* Where a field of a node struct goes in NodeFields. */
typedef enum
{
  SLOT_SKIP,
  SLOT_KIND,
  SLOT_I,
  SLOT_F,
  SLOT_B,
  SLOT_TEXT,
  SLOT_CHILDREN,
  SLOT_NAMES,
  SLOT_LINE,
  SLOT_COL,
  SLOT_VAR_ID,
  SLOT_CLASS,
} NodeSlot;

#define NODE_MAX_FIELD 9

/* One node struct of idl/rthunk.thrift, by field id: the Thrift type
 * the field has and where it goes; a field of another type, or one not
 * listed, is skipped as the generated code skips it. */
typedef struct
{
  guint8 type;
  guint8 slot;
} NodeLayout[NODE_MAX_FIELD + 1];

/* AstNode */
static const NodeLayout ast_layout = {
  [1] = { RTHUNK_CODEC_I32, SLOT_KIND },
  [2] = { RTHUNK_CODEC_I64, SLOT_I },
  [3] = { RTHUNK_CODEC_DOUBLE, SLOT_F },
  [4] = { RTHUNK_CODEC_BOOL, SLOT_B },
  [5] = { RTHUNK_CODEC_STRING, SLOT_TEXT },
  [6] = { RTHUNK_CODEC_LIST, SLOT_CHILDREN },
  [7] = { RTHUNK_CODEC_I32, SLOT_LINE },
  [8] = { RTHUNK_CODEC_I32, SLOT_COL },
};

/* ValueNode */
static const NodeLayout value_layout = {
  [1] = { RTHUNK_CODEC_I32, SLOT_KIND },
  [2] = { RTHUNK_CODEC_BOOL, SLOT_B },
  [3] = { RTHUNK_CODEC_I64, SLOT_I },
  [4] = { RTHUNK_CODEC_DOUBLE, SLOT_F },
  [5] = { RTHUNK_CODEC_STRING, SLOT_TEXT },
  [6] = { RTHUNK_CODEC_LIST, SLOT_CHILDREN },
  [9] = { RTHUNK_CODEC_LIST, SLOT_NAMES },
};

/* TypeNode */
static const NodeLayout type_layout = {
  [1] = { RTHUNK_CODEC_I32, SLOT_KIND },
  [2] = { RTHUNK_CODEC_I32, SLOT_VAR_ID },
  [3] = { RTHUNK_CODEC_I32, SLOT_CLASS },
  [4] = { RTHUNK_CODEC_LIST, SLOT_CHILDREN },
  [5] = { RTHUNK_CODEC_LIST, SLOT_NAMES },
};

/* A list<string> of field names: checked, kept where it is in @f. */
static gboolean
get_names (RthunkCodecIn *in,
           NodeFields    *f)
{
  const guint8 *data;
  guint32 len;

  if (!rthunk_codec_get_list (in, RTHUNK_CODEC_STRING, &f->n_names))
    return FALSE;
  f->names = in->pos;
  for (guint32 k = 0; k < f->n_names; k++)
    if (!rthunk_codec_get_binary (in, &data, &len) || memchr (data, '\0', len) != NULL)
      return FALSE;
  return TRUE;
}

/* The start of a node struct's loop: the next field, FALSE at its end. */
static gboolean
next_node_field (RthunkCodecIn *in,
                 guint8        *type,
                 gint16        *id,
                 gboolean      *ok)
{
  *ok = rthunk_codec_get_field (in, type, id);
  return *ok && *type != RTHUNK_CODEC_STOP;
}

static void
node_fields_init (NodeFields *f,
                  GArray     *children)
{
  memset (f, 0, sizeof *f);
  g_array_set_size (children, 0);
}

/* One field of a node struct into its @slot of @f. */
static gboolean
get_node_field (RthunkCodecIn *in,
                NodeSlot       slot,
                NodeFields    *f,
                GArray        *children)
{
  switch (slot)
    {
    case SLOT_KIND:
      return f->has_kind = rthunk_codec_get_i32 (in, &f->kind);
    case SLOT_I:
      return f->has_i = rthunk_codec_get_i64 (in, &f->i);
    case SLOT_F:
      return f->has_f = rthunk_codec_get_double (in, &f->f);
    case SLOT_B:
      return f->has_b = rthunk_codec_get_bool (in, &f->b);
    case SLOT_TEXT:
      /* a NUL, even in text its kind does not use, is for the
       * generated code to refuse, as it reads it */
      return f->has_text = rthunk_codec_get_binary (in, &f->text, &f->text_len) &&
                           memchr (f->text, '\0', f->text_len) == NULL;
    case SLOT_CHILDREN:
      return get_indices (in, children);
    case SLOT_NAMES:
      return get_names (in, f);
    case SLOT_LINE:
      return rthunk_codec_get_i32 (in, &f->line);
    case SLOT_COL:
      return rthunk_codec_get_i32 (in, &f->col);
    case SLOT_VAR_ID:
      return rthunk_codec_get_i32 (in, &f->var_id);
    case SLOT_CLASS:
      return f->has_class = rthunk_codec_get_i32 (in, &f->klass);
    case SLOT_SKIP:
    default:
      g_assert_not_reached ();
    }
}

/* One node struct laid out as @layout: FALSE for bytes the generated
 * code refuses (this includes a missing required kind). */
static gboolean
get_node_fields (RthunkCodecIn    *in,
                 const NodeLayout *layout,
                 NodeFields       *f,
                 GArray           *children)
{
  guint8 type;
  gint16 id;
  gboolean ok;

  node_fields_init (f, children);
  while (next_node_field (in, &type, &id, &ok))
    {
      NodeSlot slot = id > 0 && id <= NODE_MAX_FIELD && (*layout)[id].type == type ? (*layout)[id].slot : SLOT_SKIP;

      ok = slot == SLOT_SKIP ? rthunk_codec_skip (in, type) : get_node_field (in, slot, f, children);
      if (!ok)
        return FALSE;
    }
  return ok && f->has_kind;
}

typedef struct
{
  const char *what;
  const char *empty;
  const char *too_deep;
  guint max_depth;
  /* the fields of one node struct */
  const NodeLayout *layout;
  /* NULL with @error set for a node rthunk-wire.c refuses, without it for
   * one the codec leaves to the generated code */
  gpointer (*build) (const NodeFields *f, const GArray *children, gpointer *built,
                     gpointer user_data, guint index, GError **error);
  /* fields other than 1; NULL: skipped */
  gboolean (*other_field) (RthunkCodecIn *in, guint8 type, gint16 id, gpointer user_data);
} NodeListKind;

/* Field 1 of the struct, its list header read: @n nodes into @built. */
static gboolean
get_node_list (RthunkCodecIn       *in,
               const NodeListKind  *kind,
               guint32              n,
               guint                max_nodes,
               GPtrArray           *built,
               gpointer             user_data,
               GError             **refused)
{
  g_autoptr(GArray) children = g_array_new (FALSE, FALSE, sizeof (gint32));
  gboolean ok = TRUE;
  Tree tree;

  if (n > max_nodes)
    g_set_error (refused, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                 _("the AST has %u nodes, more than the limit of %u"), n, max_nodes);
  tree_init (&tree, kind->what, kind->too_deep, *refused == NULL ? n : 0, kind->max_depth);
  for (guint32 k = 0; ok && k < n; k++)
    {
      NodeFields f;
      gpointer node;

      ok = get_node_fields (in, kind->layout, &f, children);
      if (!ok || *refused != NULL || !tree_link (&tree, k, children, refused))
        continue;
      node = kind->build (&f, children, built->pdata, user_data, k, refused);
      ok = node != NULL || *refused != NULL;
      if (node != NULL)
        g_ptr_array_add (built, node);
    }
  if (ok && *refused == NULL && n > 0)
    tree_all_used (&tree, refused);
  tree_clear (&tree);
  return ok;
}

/* The whole struct: its root (a new reference), or NULL, with @error set
 * for a tree rthunk-wire.c refuses. */
static gpointer
get_tree_struct (RthunkCodecIn       *in,
                 const NodeListKind  *kind,
                 guint                max_nodes,
                 GPtrArray           *built,
                 gpointer             user_data,
                 GError             **error)
{
  g_autoptr(GError) refused = NULL;
  gboolean have_nodes = FALSE;
  guint8 type;
  gint16 id;

  for (;;)
    {
      gboolean ok;
      guint32 n;

      if (!rthunk_codec_get_field (in, &type, &id))
        return NULL;
      if (type == RTHUNK_CODEC_STOP)
        break;
      if (id == 1 && type == RTHUNK_CODEC_LIST)
        {
          /* the generated code appends a second list to the first */
          ok = !have_nodes && rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n) &&
               get_node_list (in, kind, n, max_nodes, built, user_data, &refused);
          have_nodes = TRUE;
        }
      else if (kind->other_field != NULL)
        ok = kind->other_field (in, type, id, user_data);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return NULL;
    }
  if (refused == NULL && built->len == 0)
    rthunk_wire_invalid (&refused, kind->what, 0, _(kind->empty));
  if (refused != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&refused));
      return NULL;
    }
  return g_ptr_array_steal_index (built, built->len - 1);
}

/* ---- ASTs ---------------------------------------------------------------- */

/* Where each node of an Ast being read is, and its source. */
typedef struct
{
  GArray *lines;
  char *source;
  GArray *scratch;
} AstExtra;

static gpointer
build_ast_node (const NodeFields *f,
                const GArray     *children,
                gpointer         *built,
                gpointer          user_data,
                guint             index,
                GError          **error)
{
  AstExtra *extra = user_data;
  RthunkWireNodeFields fields = {
    .kind = f->kind, .i = f->i, .f = f->f, .b = f->b,
    .has_i = f->has_i, .has_f = f->has_f, .has_b = f->has_b,
    .text = !f->has_text ? NULL : f->text != NULL ? (const char *) f->text : "",
    .text_len = f->text_len,
  };
  RthunkNode *node = rthunk_wire_build_ast_node (&fields, children, (RthunkNode **) built, index, error);
  gint32 pos[2] = { MAX (f->line, 0), MAX (f->col, 0) };

  if (node != NULL)
    g_array_append_vals (extra->lines, pos, 2);
  return node;
}

/* A TypeTerm inside an Ast: not built, only read as far as the generated
 * code reads it (the lists' element types, each node's required kind). */
static gboolean
skip_type_term (RthunkCodecIn *in,
                GArray        *scratch)
{
  guint8 type;
  gint16 id;
  guint32 n;

  for (;;)
    {
      if (!rthunk_codec_get_field (in, &type, &id))
        return FALSE;
      if (type == RTHUNK_CODEC_STOP)
        return TRUE;
      if (id != 1 || type != RTHUNK_CODEC_LIST)
        {
          if (!rthunk_codec_skip (in, type))
            return FALSE;
          continue;
        }
      if (!rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n))
        return FALSE;
      for (guint32 k = 0; k < n; k++)
        {
          NodeFields f;

          if (!get_node_fields (in, &type_layout, &f, scratch))
            return FALSE;
        }
    }
}

static gboolean
get_ast_other_field (RthunkCodecIn *in,
                     guint8         type,
                     gint16         id,
                     gpointer       user_data)
{
  AstExtra *extra = user_data;
  const guint8 *data;
  guint32 len, n;

  if (id == 2 && type == RTHUNK_CODEC_LIST)
    {
      if (!rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n))
        return FALSE;
      for (guint32 k = 0; k < n; k++)
        if (!skip_type_term (in, extra->scratch))
          return FALSE;
      return TRUE;
    }
  if (id == 3 && type == RTHUNK_CODEC_STRING)
    {
      /* a NUL: the generated code refuses it */
      if (!rthunk_codec_get_binary (in, &data, &len) || memchr (data, '\0', len) != NULL)
        return FALSE;
      g_free (extra->source);
      extra->source = g_strndup ((const char *) data, len);
      return TRUE;
    }
  return rthunk_codec_skip (in, type);
}

static const NodeListKind ast_list = {
  "AST", N_("the AST is empty"), N_("the AST nests too deeply"), RTHUNK_NODE_MAX_DEPTH,
  &ast_layout, build_ast_node, get_ast_other_field,
};

RthunkNode *
rthunk_codec_get_ast (RthunkCodecIn  *in,
                      guint           max_nodes,
                      GError        **error)
{
  return rthunk_codec_get_ast_nodes (in, max_nodes, NULL, error);
}

RthunkNode *
rthunk_codec_get_ast_nodes (RthunkCodecIn  *in,
                            guint           max_nodes,
                            GPtrArray     **nodes,
                            GError        **error)
{
  g_autoptr(GPtrArray) built = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) scratch = g_array_new (FALSE, FALSE, sizeof (gint32));
  AstExtra extra = { lines, NULL, scratch };
  RthunkNode *root;
  const char *interned;

  root = get_tree_struct (in, &ast_list, max_nodes, built, &extra, error);
  if (root == NULL)
    {
      g_free (extra.source);
      return NULL;
    }
  interned = rthunk_wire_intern_source (extra.source);
  g_free (extra.source);
  /* the root is no longer in @built: it is node built->len */
  for (guint k = 0; k <= built->len; k++)
    rthunk_node_set_position_interned (k < built->len ? g_ptr_array_index (built, k) : root, interned,
                                       g_array_index (lines, gint32, 2 * k),
                                       g_array_index (lines, gint32, 2 * k + 1));
  if (nodes != NULL)
    {
      g_ptr_array_add (built, rthunk_node_ref (root));
      *nodes = g_steal_pointer (&built);
    }
  return root;
}

/* ---- values -------------------------------------------------------------- */

/* The field names @f holds, copied, not checked yet. */
static GPtrArray *
copy_names (const NodeFields *f)
{
  GPtrArray *names = g_ptr_array_new_full (f->n_names, g_free);
  const guint8 *p = f->names;

  for (guint32 k = 0; k < f->n_names; k++)
    {
      guint32 be, len;

      memcpy (&be, p, 4);
      len = GUINT32_FROM_BE (be);
      g_ptr_array_add (names, g_strndup ((const char *) p + 4, len));
      p += 4 + len;
    }
  return names;
}

static gpointer
build_value_node (const NodeFields *f,
                  const GArray     *items,
                  gpointer         *built,
                  gpointer          user_data,
                  guint             index,
                  GError          **error)
{
  char *text;

  if (items->len > 0 && f->kind != 6 && f->kind != 9)
    return rthunk_wire_invalid (error, "value", index, _("only a list or a record has items")), NULL;
  switch (f->kind)
    {
    case 1:
      return rthunk_value_new_nil ();
    case 2:
      return rthunk_value_new_bool (f->b);
    case 3:
      return rthunk_value_new_int (f->i);
    case 4:
      return rthunk_value_new_float (f->f);
    case 5:
      if (!f->has_text)
        return rthunk_wire_invalid (error, "value", index, _("text is missing")), NULL;
      if ((text = get_text (f->text, f->text_len, index, "value", error)) == NULL)
        return NULL;
      return rthunk_value_new_str_take (text);
    case 6:
      {
        RthunkValue **list = g_new (RthunkValue *, MAX (items->len, 1));

        for (guint k = 0; k < items->len; k++)
          list[k] = rthunk_value_ref (built[g_array_index (items, gint32, k)]);
        return rthunk_value_new_list_take (list, items->len);
      }
    case 9:
      {
        g_autoptr(GPtrArray) names = copy_names (f);

        return rthunk_wire_build_record_value ((const char *const *) names->pdata, names->len, items,
                                               (RthunkValue **) built, index, error);
      }
    default:
      rthunk_wire_invalid (error, "value", index, _("this kind of value cannot be received"));
      return NULL;
    }
}

static const NodeListKind value_list = {
  "value", N_("the value is empty"), N_("the value nests too deeply"), RTHUNK_WIRE_MAX_VALUE_DEPTH,
  &value_layout, build_value_node, NULL,
};

RthunkValue *
rthunk_codec_get_value (RthunkCodecIn  *in,
                        GError        **error)
{
  /* a lone int, the commonest answer, as every writer here puts it:
   * nodes = [{ kind = INT, intValue }] */
  static const guint8 lone_int[] = {
    RTHUNK_CODEC_LIST, 0, 1, RTHUNK_CODEC_STRUCT, 0, 0, 0, 1,
    RTHUNK_CODEC_I32, 0, 1, 0, 0, 0, 3, RTHUNK_CODEC_I64, 0, 3,
  };
  g_autoptr(GPtrArray) built = NULL;

  if (rthunk_codec_need (in, sizeof lone_int + 10) && memcmp (in->pos, lone_int, sizeof lone_int) == 0 &&
      in->pos[sizeof lone_int + 8] == RTHUNK_CODEC_STOP && in->pos[sizeof lone_int + 9] == RTHUNK_CODEC_STOP)
    {
      guint64 be;

      memcpy (&be, in->pos + sizeof lone_int, 8);
      in->pos += sizeof lone_int + 10;
      return rthunk_value_new_int ((gint64) GUINT64_FROM_BE (be));
    }
  built = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  return get_tree_struct (in, &value_list, G_MAXUINT, built, NULL, error);
}

/* ---- types --------------------------------------------------------------- */

static gpointer
build_type_node (const NodeFields *f,
                 const GArray     *children,
                 gpointer         *built,
                 gpointer          user_data,
                 guint             index,
                 GError          **error)
{
  g_autoptr(GPtrArray) names = f->n_names > 0 ? copy_names (f) : NULL;   /* records only */
  RthunkWireTypeFields fields;

  fields.kind = f->kind;
  fields.var_id = f->var_id;
  fields.klass = f->has_class ? (guint) f->klass : 0;
  fields.names = names != NULL ? (const char *const *) names->pdata : NULL;
  fields.n_names = f->n_names;
  return rthunk_wire_build_type_node (&fields, children, (RthunkType **) built, user_data, index, error);
}

static const NodeListKind type_list = {
  "type", N_("the type is empty"), N_("the type nests too deeply"), 64,
  &type_layout, build_type_node, NULL,
};

RthunkType *
rthunk_codec_get_type (RthunkCodecIn  *in,
                       GError        **error)
{
  g_autoptr(GPtrArray) built = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(GHashTable) vars = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);

  return get_tree_struct (in, &type_list, G_MAXUINT, built, vars, error);
}
