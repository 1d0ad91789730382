/* rthunk-wire.c — ASTs, values and types to and from the wire
 *
 * Trees travel as flat node lists, children before parents, root last.
 * Reading checks every index (earlier nodes only, each used exactly once,
 * so the list is a tree and cannot blow up by sharing), every kind's
 * required fields, UTF-8 text and the nesting depth.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-core-private.h"
#include "rthunk-wire.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-thrift-finalize.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

/* Sets @error to INVALID_REQUEST "invalid WHAT: node INDEX: MESSAGE" (the
 * codec's readers refuse a tree with the same words); returns FALSE. */
gboolean
rthunk_wire_invalid (GError     **error,
                     const char  *what,
                     guint        index,
                     const char  *message)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
               _("invalid %s: node %u: %s"), what, index, message);
  return FALSE;
}

/* Checks that @children of node @index name earlier, unused nodes, and
 * marks them used. */
static gboolean
check_children (const GArray *children,
                guint         index,
                guint8       *used,
                const char   *what,
                GError      **error)
{
  for (guint k = 0; k < children->len; k++)
    {
      gint32 child = g_array_index (children, gint32, k);

      if (child < 0 || (guint) child >= index)
        return rthunk_wire_invalid (error, what, index, _("a child index must name an earlier node"));
      if (used[child])
        return rthunk_wire_invalid (error, what, index, _("a node is used twice"));
      used[child] = 1;
    }
  return TRUE;
}

static gboolean
check_all_used (const guint8 *used,
                guint         n,
                const char   *what,
                GError      **error)
{
  for (guint k = 0; k + 1 < n; k++)
    if (!used[k])
      return rthunk_wire_invalid (error, what, k, _("the node is not part of the tree"));
  return TRUE;
}

static gboolean
check_text (const char  *text,
            guint        index,
            const char  *what,
            GError     **error)
{
  if (text == NULL)
    return rthunk_wire_invalid (error, what, index, _("text is missing"));
  if (!g_utf8_validate (text, -1, NULL))
    return rthunk_wire_invalid (error, what, index, _("text is not valid UTF-8"));
  return TRUE;
}

/* ---- flat trees -------------------------------------------------------- */

/* An AST, a value and a type travel alike: a list of nodes, each naming
 * its children by index, children before parents, the root last. What
 * differs is said here. */
typedef struct
{
  const char *what;             /* N_() words for errors: "AST", "value", "type" */
  const char *empty;
  const char *too_deep;
  guint max_depth;
  /* the node's list of child indices */
  const GArray *(*children) (gconstpointer node);
  /* the node built, its children in @built already; NULL with @error */
  gpointer (*build) (gconstpointer   node,
                     gpointer       *built,
                     guint           index,
                     gpointer        data,
                     GError        **error);
  gpointer (*ref) (gpointer item);
  GDestroyNotify unref;
} TreeKind;

/* Builds the tree @nodes describe, or fails with INVALID_REQUEST: every
 * child must be an earlier node not used before, every node but the root
 * used, and the depth within @kind's bound. @data goes to @kind->build. */
static gpointer
read_tree (const TreeKind   *kind,
           const GPtrArray  *nodes,
           gpointer          data,
           GError          **error)
{
  guint n = nodes != NULL ? nodes->len : 0;
  const char *what = _(kind->what);
  g_autofree gpointer *built = NULL;
  g_autofree guint8 *used = NULL;
  g_autofree guint16 *depth = NULL;
  gpointer root = NULL;
  guint k;

  if (n == 0)
    return rthunk_wire_invalid (error, what, 0, _(kind->empty)), NULL;
  built = g_new0 (gpointer, n);
  used = g_new0 (guint8, n);
  depth = g_new0 (guint16, n);
  for (k = 0; k < n; k++)
    {
      gconstpointer node = g_ptr_array_index (nodes, k);
      const GArray *children = kind->children (node);

      if (!check_children (children, k, used, what, error))
        goto out;
      for (guint c = 0; c < children->len; c++)
        depth[k] = MAX (depth[k], depth[g_array_index (children, gint32, c)] + 1);
      if (depth[k] > kind->max_depth)
        {
          rthunk_wire_invalid (error, what, k, _(kind->too_deep));
          goto out;
        }
      if ((built[k] = kind->build (node, built, k, data, error)) == NULL)
        goto out;
    }
  if (check_all_used (used, n, what, error))
    root = kind->ref (built[n - 1]);
out:
  for (k = 0; k < n; k++)
    if (built[k] != NULL)
      kind->unref (built[k]);
  return root;
}

/* ---- ASTs -------------------------------------------------------------- */

typedef struct
{
  RthunkWireAst *ast;
  GHashTable *node_types;
  GHashTable *type_index;     /* type string → index in ast->types */
} AstWriter;

static gint32
intern_type (AstWriter  *writer,
             RthunkType *type)
{
  g_autofree char *key = rthunk_type_to_string (type);
  gpointer index;
  RthunkWireTypeTerm *term;

  if (g_hash_table_lookup_extended (writer->type_index, key, NULL, &index))
    return GPOINTER_TO_INT (index);
  term = g_object_new (RTHUNK_WIRE_TYPE_TYPE_TERM, NULL);
  rthunk_wire_fill_type (term, type);
  g_ptr_array_add (writer->ast->types, term);
  g_hash_table_insert (writer->type_index, g_steal_pointer (&key),
                       GINT_TO_POINTER (writer->ast->types->len - 1));
  return writer->ast->types->len - 1;
}

static gint32
write_node (AstWriter  *writer,
            RthunkNode *node)
{
  RthunkWireAstNode *wire = g_object_new (RTHUNK_WIRE_TYPE_AST_NODE, NULL);
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  RthunkType *type;

  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    {
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        {
          gint32 child = write_node (writer, rthunk_node_get_item (node, k));

          g_array_append_val (wire->children, child);
        }
      wire->__isset_children = TRUE;
    }
  switch (kind)
    {
    case RTHUNK_NODE_INT:
      wire->kind = RTHUNK_WIRE_NODE_KIND_INT;
      wire->intValue = rthunk_node_get_int (node);
      wire->__isset_intValue = TRUE;
      break;
    case RTHUNK_NODE_FLOAT:
      wire->kind = RTHUNK_WIRE_NODE_KIND_FLOAT;
      wire->floatValue = rthunk_node_get_float (node);
      wire->__isset_floatValue = TRUE;
      break;
    case RTHUNK_NODE_BOOL:
      wire->kind = RTHUNK_WIRE_NODE_KIND_BOOL;
      wire->boolValue = rthunk_node_get_bool (node);
      wire->__isset_boolValue = TRUE;
      break;
    case RTHUNK_NODE_NIL:
      wire->kind = RTHUNK_WIRE_NODE_KIND_NIL;
      break;
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      wire->kind = kind == RTHUNK_NODE_STR ? RTHUNK_WIRE_NODE_KIND_STR
                 : kind == RTHUNK_NODE_SYMBOL ? RTHUNK_WIRE_NODE_KIND_SYMBOL
                 : RTHUNK_WIRE_NODE_KIND_KEYWORD;
      wire->text = g_strdup (rthunk_node_get_text (node));
      wire->__isset_text = TRUE;
      break;
    case RTHUNK_NODE_LIST:
      wire->kind = RTHUNK_WIRE_NODE_KIND_LIST;
      break;
    case RTHUNK_NODE_VECTOR:
    default:
      wire->kind = RTHUNK_WIRE_NODE_KIND_VECTOR;
      break;
    }
  wire->line = rthunk_node_get_line (node);
  wire->col = rthunk_node_get_col (node);
  wire->__isset_line = wire->__isset_col = TRUE;
  if (writer->node_types != NULL && (type = g_hash_table_lookup (writer->node_types, node)) != NULL)
    {
      wire->typeIndex = intern_type (writer, type);
      wire->__isset_typeIndex = TRUE;
    }
  g_ptr_array_add (writer->ast->nodes, wire);
  return writer->ast->nodes->len - 1;
}

/* Fills @ast with the tree of @root and, if given, the type of each node. */
void
rthunk_wire_fill_ast (RthunkWireAst *ast,
                      RthunkNode    *root,
                      GHashTable    *node_types)
{
  AstWriter writer = { ast, node_types, NULL };

  writer.type_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  write_node (&writer, root);
  g_hash_table_unref (writer.type_index);
  rthunk_set_str (&ast->source, rthunk_node_get_source (root));
  ast->__isset_source = TRUE;
}

/* Wire node kinds (the IDL's NodeKind) to the library's. */
static const RthunkNodeKind ast_kinds[] = {
  [RTHUNK_WIRE_NODE_KIND_INT] = RTHUNK_NODE_INT,
  [RTHUNK_WIRE_NODE_KIND_FLOAT] = RTHUNK_NODE_FLOAT,
  [RTHUNK_WIRE_NODE_KIND_STR] = RTHUNK_NODE_STR,
  [RTHUNK_WIRE_NODE_KIND_BOOL] = RTHUNK_NODE_BOOL,
  [RTHUNK_WIRE_NODE_KIND_NIL] = RTHUNK_NODE_NIL,
  [RTHUNK_WIRE_NODE_KIND_SYMBOL] = RTHUNK_NODE_SYMBOL,
  [RTHUNK_WIRE_NODE_KIND_KEYWORD] = RTHUNK_NODE_KEYWORD,
  [RTHUNK_WIRE_NODE_KIND_LIST] = RTHUNK_NODE_LIST,
  [RTHUNK_WIRE_NODE_KIND_VECTOR] = RTHUNK_NODE_VECTOR,
};

static RthunkNode *
build_ast_seq (RthunkNodeKind  kind,
               const GArray   *children,
               RthunkNode    **built)
{
  RthunkNode *stack_items[16] = { NULL };
  RthunkNode **items = children->len <= G_N_ELEMENTS (stack_items)
    ? stack_items : g_new (RthunkNode *, children->len);
  RthunkNode *node;

  for (guint k = 0; k < children->len; k++)
    items[k] = built[g_array_index (children, gint32, k)];
  node = rthunk_node_new_seq (kind, items, children->len);
  if (items != stack_items)
    g_free (items);
  return node;
}

/**
 * rthunk_wire_build_ast_node:
 * @fields: one node of an Ast, as read from the wire
 * @children: (element-type gint32): the indices of its children, checked
 * @built: the nodes built so far, by index
 * @index: the node's index, for errors
 * @error: return location for a #GError
 *
 * The one place an AST node is made from what the wire says, for the
 * generated structs (rthunk_wire_read_ast()) and the codec alike. Text is
 * checked here: missing or not UTF-8 is refused; text of @text_len bytes
 * that holds a NUL gives %NULL without an error (the generated code cuts
 * such text short: the codec leaves it to that code to answer).
 *
 * Returns: (transfer full) (nullable): the node, or %NULL
 */
RthunkNode *
rthunk_wire_build_ast_node (const RthunkWireNodeFields  *fields,
                            const GArray                *children,
                            RthunkNode                 **built,
                            guint                        index,
                            GError                     **error)
{
  g_autofree char *text = NULL;
  RthunkNodeKind kind;

  /* children first, then the kind, as the generated path always checked */
  if (children->len > 0 && fields->kind != RTHUNK_WIRE_NODE_KIND_LIST &&
      fields->kind != RTHUNK_WIRE_NODE_KIND_VECTOR)
    return rthunk_wire_invalid (error, _("AST"), index, _("only a list or a vector has children")), NULL;
  if (fields->kind < RTHUNK_WIRE_NODE_KIND_INT || fields->kind > RTHUNK_WIRE_NODE_KIND_VECTOR)
    return rthunk_wire_invalid (error, _("AST"), index, _("unknown node kind")), NULL;
  kind = ast_kinds[fields->kind];
  switch (kind)
    {
    case RTHUNK_NODE_INT:
    case RTHUNK_NODE_FLOAT:
    case RTHUNK_NODE_BOOL:
      /* a literal without its value is refused, never taken as 0 */
      if (!(kind == RTHUNK_NODE_INT ? fields->has_i : kind == RTHUNK_NODE_FLOAT ? fields->has_f : fields->has_b))
        return rthunk_wire_invalid (error, _("AST"), index, _("the literal has no value")), NULL;
      return kind == RTHUNK_NODE_INT ? rthunk_node_new_int (fields->i)
             : kind == RTHUNK_NODE_FLOAT ? rthunk_node_new_float (fields->f)
             : rthunk_node_new_bool (fields->b);
    case RTHUNK_NODE_NIL:
      return rthunk_node_new_nil ();
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      if (fields->text == NULL)
        return rthunk_wire_invalid (error, _("AST"), index, _("text is missing")), NULL;
      if (fields->text_len >= 0 && memchr (fields->text, '\0', (gsize) fields->text_len) != NULL)
        return NULL;
      if (!g_utf8_validate (fields->text, fields->text_len, NULL))
        return rthunk_wire_invalid (error, _("AST"), index, _("text is not valid UTF-8")), NULL;
      if (fields->text_len < 0)
        return rthunk_node_new_text (kind, fields->text);
      text = g_strndup (fields->text, (gsize) fields->text_len);
      return rthunk_node_new_text (kind, text);
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
    default:
      return build_ast_seq (kind, children, built);
    }
}

/* The interned source name of a tree that came from a peer: @name
 * (nullable, not yet checked) when it is valid UTF-8 of at most
 * %RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES and is interned already or is one of
 * the first %RTHUNK_WIRE_MAX_SOURCE_NAMES new names; "<remote>" otherwise.
 * Interned strings live as long as the process, so a peer sending a new
 * name with every tree would otherwise grow the server without bound. */
const char *
rthunk_wire_intern_source (const char *name)
{
  static GMutex lock;
  static guint n_interned;
  const char *interned = NULL;

  if (name == NULL || strnlen (name, RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES + 1) > RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES
      || !g_utf8_validate (name, -1, NULL))
    return g_intern_static_string ("<remote>");
  if (g_quark_try_string (name) != 0)
    return g_intern_string (name);
  g_mutex_lock (&lock);
  if (n_interned < RTHUNK_WIRE_MAX_SOURCE_NAMES)
    {
      n_interned++;
      interned = g_intern_string (name);
    }
  g_mutex_unlock (&lock);
  return interned != NULL ? interned : g_intern_static_string ("<remote>");
}

static const GArray *
ast_node_children (gconstpointer node)
{
  return ((const RthunkWireAstNode *) node)->children;
}

/* One AST node; @data is the interned source name. */
static gpointer
build_ast_node (gconstpointer   node,
                gpointer       *built,
                guint           index,
                gpointer        data,
                GError        **error)
{
  const RthunkWireAstNode *wire = node;
  RthunkWireNodeFields fields;
  RthunkNode *built_node;

  fields.kind = wire->kind;
  fields.i = wire->intValue;
  fields.f = wire->floatValue;
  fields.b = wire->boolValue;
  fields.has_i = wire->__isset_intValue;
  fields.has_f = wire->__isset_floatValue;
  fields.has_b = wire->__isset_boolValue;
  fields.text = wire->text;
  fields.text_len = -1;
  built_node = rthunk_wire_build_ast_node (&fields, wire->children, (RthunkNode **) built, index, error);
  if (built_node != NULL)
    rthunk_node_set_position_interned (built_node, data, MAX (wire->line, 0), MAX (wire->col, 0));
  return built_node;
}

static const TreeKind ast_tree = {
  N_("AST"), N_("the AST is empty"), N_("the AST nests too deeply"), RTHUNK_NODE_MAX_DEPTH,
  ast_node_children, build_ast_node, (gpointer (*) (gpointer)) rthunk_node_ref,
  (GDestroyNotify) rthunk_node_unref,
};

/* Builds the tree an AST describes, or fails with INVALID_REQUEST. */
RthunkNode *
rthunk_wire_read_ast (const RthunkWireAst  *ast,
                      guint                 max_nodes,
                      GError              **error)
{
  guint n = ast->nodes != NULL ? ast->nodes->len : 0;

  if (n > max_nodes)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                   _("the AST has %u nodes, more than the limit of %u"), n, max_nodes);
      return NULL;
    }
  return read_tree (&ast_tree, ast->nodes,
                    (gpointer) rthunk_wire_intern_source (ast->__isset_source ? ast->source : NULL), error);
}

/* ---- values ------------------------------------------------------------ */

/* About what one value node takes on the wire, beyond its text and items:
 * the node's struct (kind, one value field, stop) and its place in the list. */
#define VALUE_NODE_BYTES 24

gsize
rthunk_wire_value_node_cost (RthunkValue *value)
{
  gsize cost = VALUE_NODE_BYTES;

  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_STR:
      return cost + strlen (rthunk_value_get_str (value));
    case RTHUNK_VALUE_LIST:
      return cost + 4 * rthunk_value_get_length (value);
    case RTHUNK_VALUE_RECORD:
      for (gsize k = 0; k < rthunk_value_get_length (value); k++)
        cost += 8 + strlen (rthunk_value_get_field_name (value, k));
      return cost;
    default:
      return cost;
    }
}

static gboolean
write_value (RthunkWireValue  *wire,
             RthunkValue      *value,
             guint             depth,
             gsize            *left,
             gint32           *index,
             GError          **error)
{
  RthunkWireValueNode *node;
  GArray *items = NULL;
  gsize cost = rthunk_wire_value_node_cost (value);

  if (depth > RTHUNK_WIRE_MAX_VALUE_DEPTH)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                   _("the value nests deeper than %d levels"), RTHUNK_WIRE_MAX_VALUE_DEPTH);
      return FALSE;
    }
  /* each item will be a node of its own: a list that cannot fit is refused
   * before its items are boxed (a list of ints keeps them once boxed) */
  if (cost > *left ||
      (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST &&
       rthunk_value_get_length (value) > (*left - cost) / VALUE_NODE_BYTES))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_VALUE_TOO_LARGE,
                   _("the value is too large to send in one frame: keep it where it is "
                     "(remote :ref …) and send something smaller made from it"));
      return FALSE;
    }
  *left -= cost;
  if (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST ||
      rthunk_value_get_kind (value) == RTHUNK_VALUE_RECORD)
    {
      items = g_array_new (FALSE, FALSE, sizeof (gint32));
      for (gsize k = 0; k < rthunk_value_get_length (value); k++)
        {
          gint32 child;

          if (!write_value (wire, rthunk_value_get_item (value, k), depth + 1, left, &child, error))
            {
              g_array_unref (items);
              return FALSE;
            }
          g_array_append_val (items, child);
        }
    }
  node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE, NULL);
  switch (rthunk_value_get_kind (value))
    {
    case RTHUNK_VALUE_NIL:
      node->kind = RTHUNK_WIRE_VALUE_KIND_NIL;
      break;
    case RTHUNK_VALUE_BOOL:
      node->kind = RTHUNK_WIRE_VALUE_KIND_BOOL;
      node->boolValue = rthunk_value_get_bool (value);
      node->__isset_boolValue = TRUE;
      break;
    case RTHUNK_VALUE_INT:
      node->kind = RTHUNK_WIRE_VALUE_KIND_INT;
      node->intValue = rthunk_value_get_int (value);
      node->__isset_intValue = TRUE;
      break;
    case RTHUNK_VALUE_FLOAT:
      node->kind = RTHUNK_WIRE_VALUE_KIND_FLOAT;
      node->floatValue = rthunk_value_get_float (value);
      node->__isset_floatValue = TRUE;
      break;
    case RTHUNK_VALUE_STR:
      node->kind = RTHUNK_WIRE_VALUE_KIND_STR;
      node->text = g_strdup (rthunk_value_get_str (value));
      node->__isset_text = TRUE;
      break;
    case RTHUNK_VALUE_LIST:
      node->kind = RTHUNK_WIRE_VALUE_KIND_LIST;
      g_array_unref (node->items);
      node->items = items;
      node->__isset_items = TRUE;
      break;
    case RTHUNK_VALUE_RECORD:
      node->kind = RTHUNK_WIRE_VALUE_KIND_RECORD;
      g_array_unref (node->items);
      node->items = items;
      node->__isset_items = TRUE;
      for (gsize k = 0; k < rthunk_value_get_length (value); k++)
        g_ptr_array_add (node->fieldNames, g_strdup (rthunk_value_get_field_name (value, k)));
      node->__isset_fieldNames = TRUE;
      break;
    case RTHUNK_VALUE_FUNC:
      node->kind = RTHUNK_WIRE_VALUE_KIND_FUNC;
      node->text = g_strdup (rthunk_value_get_name (value));
      node->__isset_text = TRUE;
      break;
    case RTHUNK_VALUE_PENDING:
    default:
      g_object_unref (node);
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("a pending value cannot travel yet: await it first"));
      return FALSE;
    }
  g_ptr_array_add (wire->nodes, node);
  *index = wire->nodes->len - 1;
  return TRUE;
}

/* Fills @wire with @value; pending values cannot travel (yet). */
gboolean
rthunk_wire_fill_value (RthunkWireValue  *wire,
                        RthunkValue      *value,
                        GError          **error)
{
  return rthunk_wire_fill_value_within (wire, value, G_MAXSIZE, error);
}

/* The same, refusing (VALUE_TOO_LARGE) a value that would take about more
 * than @max_bytes on the wire: better a clear error than a frame the peer
 * must refuse, or a huge tree of structs built for nothing. */
gboolean
rthunk_wire_fill_value_within (RthunkWireValue  *wire,
                               RthunkValue      *value,
                               gsize             max_bytes,
                               GError          **error)
{
  gint32 root;
  gsize left = max_bytes;

  if (!write_value (wire, value, 0, &left, &root, error))
    {
      g_ptr_array_set_size (wire->nodes, 0);
      return FALSE;
    }
  return TRUE;
}

/* Fills @wire with items [@offset, @offset + @n_items) of the list @list,
 * as a list value of its own (what thunkGetChunk sends), without copying
 * the list; refuses (VALUE_TOO_LARGE) a slice of about more than
 * @max_bytes. */
gboolean
rthunk_wire_fill_slice_within (RthunkWireValue  *wire,
                               RthunkValue      *list,
                               gsize             offset,
                               gsize             n_items,
                               gsize             max_bytes,
                               GError          **error)
{
  RthunkWireValueNode *node = g_object_new (RTHUNK_WIRE_TYPE_VALUE_NODE, NULL);
  gsize left = max_bytes;

  const gint64 *ints = rthunk_value_peek_ints (list);

  g_assert (offset + n_items <= rthunk_value_get_length (list));
  g_array_set_size (node->items, n_items);
  for (gsize k = 0; k < n_items; k++)
    {
      /* an unboxed list stays unboxed: each int boxed for its node only */
      g_autoptr(RthunkValue) item = ints != NULL ? rthunk_value_new_int (ints[offset + k])
                                                 : rthunk_value_ref (rthunk_value_get_item (list, offset + k));

      if (!write_value (wire, item, 1, &left, &g_array_index (node->items, gint32, k), error))
        {
          g_object_unref (node);
          g_ptr_array_set_size (wire->nodes, 0);
          return FALSE;
        }
    }
  node->kind = RTHUNK_WIRE_VALUE_KIND_LIST;
  node->__isset_items = TRUE;
  g_ptr_array_add (wire->nodes, node);
  return TRUE;
}

static const GArray *
value_node_items (gconstpointer node)
{
  return ((const RthunkWireValueNode *) node)->items;
}

/* Whether the @n_names @names are as many as @n children, each valid
 * text. */
static gboolean
check_field_names (const char *const *names,
                   guint              n_names,
                   guint              n,
                   guint              index,
                   const char        *what,
                   GError           **error)
{
  if (n_names != n)
    return rthunk_wire_invalid (error, what, index, _("a record has one field name per field"));
  for (guint k = 0; k < n_names; k++)
    if (!check_text (names[k], index, what, error))
      return FALSE;
  return TRUE;
}

/**
 * rthunk_wire_build_record_value:
 * @names: (array length=n_names): the field names, not checked yet
 * @n_names: how many names
 * @items: (element-type gint32): the indices of the field values, checked
 * @built: the nodes built so far, by index
 * @index: the node's index, for errors
 * @error: return location for a #GError
 *
 * A record value node, for the generated structs and the codec alike: a
 * name a field, each valid text, none repeated, each a keyword's.
 *
 * Returns: (transfer full) (nullable): the record, or %NULL with @error set
 */
RthunkValue *
rthunk_wire_build_record_value (const char *const  *names,
                                guint               n_names,
                                const GArray       *items,
                                RthunkValue       **built,
                                guint               index,
                                GError            **error)
{
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  RthunkValue *record;

  if (!check_field_names (names, n_names, items->len, index, _("value"), error))
    return NULL;
  for (guint k = 0; k < items->len; k++)
    g_ptr_array_add (values, built[g_array_index (items, gint32, k)]);
  record = rthunk_value_new_record (names, (RthunkValue **) values->pdata, values->len);
  if (record == NULL)
    rthunk_wire_invalid (error, _("value"), index, _("a field name repeats or is not a keyword name"));
  return record;
}

static gpointer
read_value_node (gconstpointer   wire_node,
                 gpointer       *built,
                 guint           index,
                 gpointer        data,
                 GError        **error)
{
  const RthunkWireValueNode *node = wire_node;
  g_autoptr(GPtrArray) items = NULL;

  if (node->items->len > 0 && node->kind != RTHUNK_WIRE_VALUE_KIND_LIST &&
      node->kind != RTHUNK_WIRE_VALUE_KIND_RECORD)
    return rthunk_wire_invalid (error, _("value"), index, _("only a list or a record has items")), NULL;
  switch (node->kind)
    {
    case RTHUNK_WIRE_VALUE_KIND_NIL:
      return rthunk_value_new_nil ();
    case RTHUNK_WIRE_VALUE_KIND_BOOL:
      return rthunk_value_new_bool (node->boolValue);
    case RTHUNK_WIRE_VALUE_KIND_INT:
      return rthunk_value_new_int (node->intValue);
    case RTHUNK_WIRE_VALUE_KIND_FLOAT:
      return rthunk_value_new_float (node->floatValue);
    case RTHUNK_WIRE_VALUE_KIND_STR:
      if (!check_text (node->text, index, _("value"), error))
        return NULL;
      return rthunk_value_new_str (node->text);
    case RTHUNK_WIRE_VALUE_KIND_LIST:
      items = g_ptr_array_new ();
      for (guint k = 0; k < node->items->len; k++)
        g_ptr_array_add (items, built[g_array_index (node->items, gint32, k)]);
      return rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);
    case RTHUNK_WIRE_VALUE_KIND_RECORD:
      return rthunk_wire_build_record_value ((const char *const *) node->fieldNames->pdata,
                                             node->fieldNames->len, node->items,
                                             (RthunkValue **) built, index, error);
    default:
      rthunk_wire_invalid (error, _("value"), index, _("this kind of value cannot be received"));
      return NULL;
    }
}

static const TreeKind value_tree = {
  N_("value"), N_("the value is empty"), N_("the value nests too deeply"), RTHUNK_WIRE_MAX_VALUE_DEPTH,
  value_node_items, read_value_node, (gpointer (*) (gpointer)) rthunk_value_ref,
  (GDestroyNotify) rthunk_value_unref,
};

/* Builds the value @wire describes, or fails with INVALID_REQUEST. */
RthunkValue *
rthunk_wire_read_value (const RthunkWireValue  *wire,
                        GError                **error)
{
  return read_tree (&value_tree, wire->nodes, NULL, error);
}

/* ---- types ------------------------------------------------------------- */

#define TYPE_MAX_DEPTH 64       /* a type term nests at most this deep */

static gint32 write_record_type (RthunkWireTypeTerm *wire, RthunkWireTypeNode *node,
                                 RthunkType *type, GHashTable *var_ids);

static gint32
write_type (RthunkWireTypeTerm *wire,
            RthunkType         *type,
            GHashTable         *var_ids)
{
  RthunkWireTypeNode *node = g_object_new (RTHUNK_WIRE_TYPE_TYPE_NODE, NULL);
  RthunkTypeKind kind = rthunk_type_get_kind (type);
  guint n = rthunk_type_get_n_children (type);

  if (kind == RTHUNK_TYPE_RECORD)
    return write_record_type (wire, node, type, var_ids);
  for (guint k = 0; k < n; k++)
    {
      gint32 child = write_type (wire, rthunk_type_get_child (type, k), var_ids);

      g_array_append_val (node->children, child);
    }
  node->__isset_children = n > 0;
  node->kind = (RthunkWireTypeKind) (kind + 1);    /* the wire numbers from 1 */
  if (kind == RTHUNK_TYPE_VAR)
    {
      gpointer key = rthunk_type_prune (type);
      gpointer id;

      if (!g_hash_table_lookup_extended (var_ids, key, NULL, &id))
        {
          id = GUINT_TO_POINTER (g_hash_table_size (var_ids));
          g_hash_table_insert (var_ids, key, id);
        }
      node->varId = GPOINTER_TO_UINT (id);
      node->__isset_varId = TRUE;
      node->constraint = (RthunkWireTypeClass) rthunk_type_get_class (type);
      node->__isset_constraint = TRUE;
    }
  g_ptr_array_add (wire->nodes, node);
  return wire->nodes->len - 1;
}

/* A record seen through its row variables: one node. */
static gint32
write_record_type (RthunkWireTypeTerm *wire,
                   RthunkWireTypeNode *node,
                   RthunkType         *type,
                   GHashTable         *var_ids)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  RthunkType *row;

  rthunk_type_record_fields (type, names, types, &row);
  if (row != NULL)
    g_ptr_array_add (types, row);
  for (guint k = 0; k < types->len; k++)
    {
      gint32 child = write_type (wire, g_ptr_array_index (types, k), var_ids);

      g_array_append_val (node->children, child);
    }
  node->__isset_children = types->len > 0;
  for (guint k = 0; k < names->len; k++)
    g_ptr_array_add (node->fieldNames, g_strdup (g_ptr_array_index (names, k)));
  node->__isset_fieldNames = TRUE;
  node->kind = RTHUNK_WIRE_TYPE_KIND_RECORD;
  g_ptr_array_add (wire->nodes, node);
  return wire->nodes->len - 1;
}

/* Fills @wire with @type; variables are numbered from 0 in order. */
void
rthunk_wire_fill_type (RthunkWireTypeTerm *wire,
                       RthunkType         *type)
{
  g_autoptr(GHashTable) var_ids = g_hash_table_new (NULL, NULL);

  write_type (wire, type, var_ids);
}

static const GArray *
type_node_children (gconstpointer node)
{
  return ((const RthunkWireTypeNode *) node)->children;
}

/* A function type: its parameters, then its result, the last child. */
static RthunkType *
build_type_func (const GArray  *children,
                 RthunkType   **built)
{
  guint n = children->len;
  RthunkType *params[16] = { NULL };
  RthunkType **p = n <= G_N_ELEMENTS (params) ? params : g_new (RthunkType *, n);
  RthunkType *func;

  for (guint k = 0; k + 1 < n; k++)
    p[k] = built[g_array_index (children, gint32, k)];
  func = rthunk_type_new_func (p, n - 1, built[g_array_index (children, gint32, n - 1)]);
  if (p != params)
    g_free (p);
  return func;
}

/* A record type: a field a name, then its row variable if it is open. */
static RthunkType *
build_record_type (const RthunkWireTypeFields  *fields,
                   const GArray                *children,
                   RthunkType                 **built,
                   guint                        index,
                   GError                     **error)
{
  guint n_fields = fields->n_names;
  gboolean open = children->len == n_fields + 1;
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  RthunkType *row = NULL;
  RthunkType *record;

  if (!check_field_names (fields->names, n_fields, children->len - (open ? 1 : 0), index, _("type"), error))
    return NULL;
  for (guint k = 0; k < n_fields; k++)
    g_ptr_array_add (types, built[g_array_index (children, gint32, k)]);
  if (open && rthunk_type_get_kind (row = built[g_array_index (children, gint32, n_fields)]) != RTHUNK_TYPE_VAR)
    return rthunk_wire_invalid (error, _("type"), index, _("the row of a record type is a variable")), NULL;
  record = rthunk_type_new_record (fields->names, (RthunkType **) types->pdata, n_fields, row);
  if (record == NULL)
    rthunk_wire_invalid (error, _("type"), index, _("a field name repeats or is not a keyword name"));
  return record;
}

/* A type variable: the one of its id read before, or a new one kept in
 * @vars. */
static RthunkType *
build_type_var (const RthunkWireTypeFields  *fields,
                guint                        n_children,
                GHashTable                  *vars,
                guint                        index,
                GError                     **error)
{
  RthunkType *var = g_hash_table_lookup (vars, GINT_TO_POINTER (fields->var_id));

  if (n_children != 0 || fields->klass > RTHUNK_TYPE_CLASS_ORD || fields->var_id < 0)
    return rthunk_wire_invalid (error, _("type"), index, _("malformed type variable")), NULL;
  if (var == NULL)
    {
      var = rthunk_type_new_var (fields->var_id, fields->klass);
      g_hash_table_insert (vars, GINT_TO_POINTER (fields->var_id), var);
    }
  return rthunk_type_ref (var);
}

/**
 * rthunk_wire_build_type_node:
 * @fields: one node of a TypeTerm, as read from the wire
 * @children: (element-type gint32): the indices of its children, checked
 * @built: the nodes built so far, by index
 * @vars: the type variables read so far, by id
 * @index: the node's index, for errors
 * @error: return location for a #GError
 *
 * The one place a type node is made from what the wire says, for the
 * generated structs (rthunk_wire_read_type()) and the codec alike: each
 * kind's children counted, a variable's class checked, a record's field
 * names checked.
 *
 * Returns: (transfer full) (nullable): the type, or %NULL with @error set
 */
RthunkType *
rthunk_wire_build_type_node (const RthunkWireTypeFields  *fields,
                             const GArray                *children,
                             RthunkType                 **built,
                             GHashTable                  *vars,
                             guint                        index,
                             GError                     **error)
{
  guint n = children->len;

  switch (fields->kind)
    {
    case RTHUNK_WIRE_TYPE_KIND_VAR:
      return build_type_var (fields, n, vars, index, error);
    case RTHUNK_WIRE_TYPE_KIND_INT:
    case RTHUNK_WIRE_TYPE_KIND_FLOAT:
    case RTHUNK_WIRE_TYPE_KIND_BOOL:
    case RTHUNK_WIRE_TYPE_KIND_STR:
    case RTHUNK_WIRE_TYPE_KIND_NIL:
      if (n != 0)
        return rthunk_wire_invalid (error, _("type"), index, _("a basic type has no children")), NULL;
      return rthunk_type_new_basic ((RthunkTypeKind) (fields->kind - 1));
    case RTHUNK_WIRE_TYPE_KIND_LIST:
      if (n != 1)
        return rthunk_wire_invalid (error, _("type"), index, _("a list type has one child")), NULL;
      return rthunk_type_new_list (built[g_array_index (children, gint32, 0)]);
    case RTHUNK_WIRE_TYPE_KIND_MAYBE:
      if (n != 1)
        return rthunk_wire_invalid (error, _("type"), index, _("a maybe type has one child")), NULL;
      return rthunk_type_new_maybe (built[g_array_index (children, gint32, 0)]);
    case RTHUNK_WIRE_TYPE_KIND_FUNC:
      if (n < 1)
        return rthunk_wire_invalid (error, _("type"), index, _("a function type needs a result")), NULL;
      return build_type_func (children, built);
    case RTHUNK_WIRE_TYPE_KIND_RECORD:
      return build_record_type (fields, children, built, index, error);
    default:
      return rthunk_wire_invalid (error, _("type"), index, _("unknown type kind")), NULL;
    }
}

/* One type node; @data is the variables read so far, by id. */
static gpointer
read_type_node (gconstpointer   wire_node,
                gpointer       *built,
                guint           index,
                gpointer        data,
                GError        **error)
{
  const RthunkWireTypeNode *node = wire_node;
  RthunkWireTypeFields fields;

  fields.kind = node->kind;
  fields.var_id = node->varId;
  fields.klass = node->__isset_constraint ? (guint) node->constraint : 0;
  fields.names = (const char *const *) node->fieldNames->pdata;
  fields.n_names = node->fieldNames->len;
  return rthunk_wire_build_type_node (&fields, node->children, (RthunkType **) built, data, index, error);
}

static const TreeKind type_tree = {
  N_("type"), N_("the type is empty"), N_("the type nests too deeply"), TYPE_MAX_DEPTH,
  type_node_children, read_type_node, (gpointer (*) (gpointer)) rthunk_type_ref,
  (GDestroyNotify) rthunk_type_unref,
};

/* Builds the type @wire describes, or fails with INVALID_REQUEST. */
RthunkType *
rthunk_wire_read_type (const RthunkWireTypeTerm  *wire,
                       GError                   **error)
{
  g_autoptr(GHashTable) vars = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) rthunk_type_unref);

  return read_tree (&type_tree, wire->nodes, vars, error);
}

/* The id as lower-case hex, for logs and labels (every pending value the
 * client makes has one: no printf per byte). */
char *
rthunk_wire_id_to_hex (const GByteArray *id)
{
  static const char digits[] = "0123456789abcdef";
  guint len = id != NULL ? id->len : 0;
  char *out = g_malloc (2 * (gsize) len + 1);

  for (guint k = 0; k < len; k++)
    {
      out[2 * k] = digits[id->data[k] >> 4];
      out[2 * k + 1] = digits[id->data[k] & 0xf];
    }
  out[2 * (gsize) len] = '\0';
  return out;
}

/* Whether @address ("HOST:PORT") is one @patterns allow: each pattern is
 * "HOST:PORT", "HOST:*" (any port of that host) or "*" (anywhere). */
gboolean
rthunk_address_allowed (const char *const *patterns,
                        const char        *address)
{
  const char *colon = address != NULL ? strrchr (address, ':') : NULL;

  for (guint k = 0; colon != NULL && patterns != NULL && patterns[k] != NULL; k++)
    {
      const char *p = patterns[k];
      gsize host_len = (gsize) (colon - address);

      if (strcmp (p, "*") == 0 || strcmp (p, address) == 0)
        return TRUE;
      if (g_str_has_suffix (p, ":*") && strlen (p) == host_len + 2 && strncmp (p, address, host_len) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Registers every generated type exactly once, whatever thread asks first:
 * the generated *_get_type () functions are not thread-safe on their own.
 * Also chains up the finalizers of Thrift's own classes that leak without
 * it (rthunk-thrift-finalize.c). */
void
rthunk_wire_ensure_types (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      rthunk_wire_register_types ();
      g_type_ensure (THRIFT_TYPE_BINARY_PROTOCOL);
      g_type_ensure (THRIFT_TYPE_APPLICATION_EXCEPTION);
      rthunk_thrift_finalize_chain_up ();
      g_once_init_leave (&done, 1);
    }
}

/* Sets a `binary` field (the generated code leaves them NULL). */
void
rthunk_wire_set_bytes (GByteArray   **field,
                       const guint8  *data,
                       gsize          len)
{
  if (*field != NULL)
    g_byte_array_unref (*field);
  *field = g_byte_array_sized_new (len);
  g_byte_array_append (*field, data, len);
}
