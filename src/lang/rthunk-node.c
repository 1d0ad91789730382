/* rthunk-node.c — the immutable AST */
#include "config.h"

#include <string.h>

#include "rthunk-node.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-value.h"

struct _RthunkNode
{
  gint ref_count;
  RthunkNodeKind kind;
  const char *source;     /* interned */
  guint line;
  guint col;
  union {
    gint64 i;
    double f;
    gboolean b;
    char *text;         /* in the node's own allocation, right after it */
    struct {
      RthunkNode **items;   /* in the node's own allocation, right after it */
      guint n_items;
      gint shape;           /* rthunk_node_shape_hash(), once asked (atomic; 0: not yet) */
    } seq;
  } u;
};

G_DEFINE_BOXED_TYPE (RthunkNode, rthunk_node, rthunk_node_ref, rthunk_node_unref)

/* "<ast>", interned once: g_intern_static_string() takes a global lock
 * and hashes, and every node the reader or a decoder makes starts here. */
static const char *
default_source (void)
{
  static const char *interned;
  const char *source = g_atomic_pointer_get (&interned);

  if (G_UNLIKELY (source == NULL))
    {
      source = g_intern_static_string ("<ast>");
      g_atomic_pointer_set (&interned, source);
    }
  return source;
}

/* A node with @extra bytes after it (a text node's text, a list's
 * items), which the caller fills. Not zeroed by calloc(): glibc's takes
 * the arena's lock where malloc() takes a thread's cache, and a server
 * decodes a tree of these a request on every connection at once. */
static RthunkNode *
node_alloc_extra (RthunkNodeKind kind,
                  gsize          extra)
{
  RthunkNode *node = g_malloc (sizeof (RthunkNode) + extra);

  node->ref_count = 1;
  node->kind = kind;
  node->source = default_source ();
  node->line = 0;
  node->col = 0;
  memset (&node->u, 0, sizeof node->u);
  return node;
}

static RthunkNode *
node_alloc (RthunkNodeKind kind)
{
  return node_alloc_extra (kind, 0);
}

/* A list or vector with room for @n_items children after it (sizeof
 * (RthunkNode) is a multiple of a pointer's alignment). */
static RthunkNode *
seq_alloc (RthunkNodeKind kind,
           guint          n_items)
{
  RthunkNode *node = node_alloc_extra (kind, n_items * sizeof (RthunkNode *));

  G_STATIC_ASSERT (sizeof (RthunkNode) % G_ALIGNOF (RthunkNode *) == 0);
  node->u.seq.n_items = n_items;
  node->u.seq.items = (RthunkNode **) (node + 1);
  return node;
}

/**
 * rthunk_node_new_int:
 * @i: the integer
 *
 * Makes an integer literal.
 *
 * Returns: (transfer full): an integer literal
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_int (gint64 i)
{
  RthunkNode *node = node_alloc (RTHUNK_NODE_INT);

  node->u.i = i;
  return node;
}

/**
 * rthunk_node_new_float:
 * @f: the number
 *
 * Makes a float literal.
 *
 * Returns: (transfer full): a float literal
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_float (double f)
{
  RthunkNode *node = node_alloc (RTHUNK_NODE_FLOAT);

  node->u.f = f;
  return node;
}

/**
 * rthunk_node_new_bool:
 * @b: the truth value
 *
 * Makes a bool literal.
 *
 * Returns: (transfer full): `true` or `false`
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_bool (gboolean b)
{
  RthunkNode *node = node_alloc (RTHUNK_NODE_BOOL);

  node->u.b = !!b;
  return node;
}

/**
 * rthunk_node_new_nil:
 *
 * Makes the `nil` literal.
 *
 * Returns: (transfer full): `nil`
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_nil (void)
{
  return node_alloc (RTHUNK_NODE_NIL);
}

/**
 * rthunk_node_new_text:
 * @kind: %RTHUNK_NODE_STR, %RTHUNK_NODE_SYMBOL or %RTHUNK_NODE_KEYWORD
 * @text: the string, the name, or the keyword without its colon
 *
 * Makes a string literal, a symbol or a keyword.
 *
 * Returns: (transfer full): a node carrying text
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_text (RthunkNodeKind  kind,
                      const char     *text)
{
  g_return_val_if_fail (kind == RTHUNK_NODE_STR || kind == RTHUNK_NODE_SYMBOL ||
                        kind == RTHUNK_NODE_KEYWORD, NULL);
  g_return_val_if_fail (text != NULL, NULL);

  return rthunk_node_new_text_len (kind, text, strlen (text));
}

RthunkNode *
rthunk_node_new_text_len (RthunkNodeKind  kind,
                          const char     *text,
                          gsize           length)
{
  RthunkNode *node = node_alloc_extra (kind, length + 1);

  node->u.text = (char *) (node + 1);
  memcpy (node->u.text, text, length);
  node->u.text[length] = '\0';
  return node;
}

/**
 * rthunk_node_new_seq:
 * @kind: %RTHUNK_NODE_LIST or %RTHUNK_NODE_VECTOR
 * @items: (array length=n_items) (nullable): the children
 * @n_items: how many children
 *
 * Makes a list `( … )` or a vector `[ … ]` of @items.
 *
 * Returns: (transfer full): a list or vector holding a reference to each child
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_new_seq (RthunkNodeKind     kind,
                     RthunkNode *const *items,
                     guint              n_items)
{
  RthunkNode *node;

  g_return_val_if_fail (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR, NULL);
  g_return_val_if_fail (items != NULL || n_items == 0, NULL);

  node = seq_alloc (kind, n_items);
  for (guint k = 0; k < n_items; k++)
    node->u.seq.items[k] = rthunk_node_ref (items[k]);
  return node;
}

RthunkNode *
rthunk_node_new_seq_take (RthunkNodeKind   kind,
                          RthunkNode     **items,
                          guint            n_items)
{
  RthunkNode *node = seq_alloc (kind, n_items);

  if (n_items > 0)
    memcpy (node->u.seq.items, items, n_items * sizeof (RthunkNode *));
  return node;
}

/**
 * rthunk_node_set_position:
 * @node: a node nobody else holds yet
 * @source: (nullable): the name of the source text
 * @line: 1-based line
 * @col: 1-based column
 *
 * Sets where @node was read. Only for a node being built: nodes are
 * immutable once shared.
 *
 * Returns: (transfer none): @node
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_set_position (RthunkNode *node,
                          const char *source,
                          guint       line,
                          guint       col)
{
  g_return_val_if_fail (node != NULL, NULL);

  if (source != NULL)
    node->source = g_intern_string (source);
  node->line = line;
  node->col = col;
  return node;
}

void
rthunk_node_set_position_interned (RthunkNode *node,
                                   const char *source,
                                   guint       line,
                                   guint       col)
{
  node->source = source;
  node->line = line;
  node->col = col;
}

/**
 * rthunk_node_ref:
 * @node: a node
 *
 * Takes a reference to @node.
 *
 * Returns: (transfer full): @node with one more reference
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_ref (RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);

  g_atomic_int_inc (&node->ref_count);
  return node;
}

static void
node_free (RthunkNode *node)
{
  if (node->kind == RTHUNK_NODE_LIST || node->kind == RTHUNK_NODE_VECTOR)
    for (guint k = 0; k < node->u.seq.n_items; k++)
      rthunk_node_unref (node->u.seq.items[k]);
  g_free (node);
}

/**
 * rthunk_node_unref:
 * @node: (transfer full): a node
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
rthunk_node_unref (RthunkNode *node)
{
  g_return_if_fail (node != NULL);

  if (g_atomic_int_dec_and_test (&node->ref_count))
    node_free (node);
}

/**
 * rthunk_node_get_kind:
 * @node: a node
 *
 * Tells what @node is: a literal, a symbol, a keyword, a list or a vector.
 *
 * Returns: its kind
 *
 * Since: 0.1
 */
RthunkNodeKind
rthunk_node_get_kind (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, RTHUNK_NODE_NIL);

  return node->kind;
}

/**
 * rthunk_node_get_int:
 * @node: an integer literal
 *
 * Gives the value of an integer literal.
 *
 * Returns: the integer
 *
 * Since: 0.1
 */
gint64
rthunk_node_get_int (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL && node->kind == RTHUNK_NODE_INT, 0);

  return node->u.i;
}

/**
 * rthunk_node_get_float:
 * @node: a float literal
 *
 * Gives the value of a float literal.
 *
 * Returns: the number
 *
 * Since: 0.1
 */
double
rthunk_node_get_float (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL && node->kind == RTHUNK_NODE_FLOAT, 0.0);

  return node->u.f;
}

/**
 * rthunk_node_get_bool:
 * @node: a bool literal
 *
 * Gives the value of a `true` or `false` literal.
 *
 * Returns: the truth value
 *
 * Since: 0.1
 */
gboolean
rthunk_node_get_bool (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL && node->kind == RTHUNK_NODE_BOOL, FALSE);

  return node->u.b;
}

/**
 * rthunk_node_get_text:
 * @node: a string, symbol or keyword
 *
 * Gives the text of a string, the name of a symbol, or a keyword without
 * its colon.
 *
 * Returns: (transfer none): its text
 *
 * Since: 0.1
 */
const char *
rthunk_node_get_text (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (node->kind == RTHUNK_NODE_STR || node->kind == RTHUNK_NODE_SYMBOL ||
                        node->kind == RTHUNK_NODE_KEYWORD, NULL);

  return node->u.text;
}

/**
 * rthunk_node_get_n_items:
 * @node: a node
 *
 * Counts the children of a list or vector.
 *
 * Returns: the number of children of a list or vector, else 0
 *
 * Since: 0.1
 */
guint
rthunk_node_get_n_items (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, 0);

  if (node->kind != RTHUNK_NODE_LIST && node->kind != RTHUNK_NODE_VECTOR)
    return 0;
  return node->u.seq.n_items;
}

/**
 * rthunk_node_get_item:
 * @node: a list or vector
 * @index: below rthunk_node_get_n_items()
 *
 * Gives a child of a list or vector.
 *
 * Returns: (transfer none): the child at @index
 *
 * Since: 0.1
 */
RthunkNode *
rthunk_node_get_item (const RthunkNode *node,
                      guint             index)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (node->kind == RTHUNK_NODE_LIST || node->kind == RTHUNK_NODE_VECTOR, NULL);
  g_return_val_if_fail (index < node->u.seq.n_items, NULL);

  return node->u.seq.items[index];
}

/**
 * rthunk_node_get_source:
 * @node: a node
 *
 * Gives the name of the source text, as error messages show it.
 *
 * Returns: (transfer none): the name of the text it was read from
 *
 * Since: 0.1
 */
const char *
rthunk_node_get_source (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);

  return node->source;
}

/**
 * rthunk_node_get_line:
 * @node: a node
 *
 * Gives the line at which @node starts in its source text.
 *
 * Returns: its 1-based line, or 0 if unknown
 *
 * Since: 0.1
 */
guint
rthunk_node_get_line (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, 0);

  return node->line;
}

/**
 * rthunk_node_get_col:
 * @node: a node
 *
 * Gives the column at which @node starts in its source text.
 *
 * Returns: its 1-based column, or 0 if unknown
 *
 * Since: 0.1
 */
guint
rthunk_node_get_col (const RthunkNode *node)
{
  g_return_val_if_fail (node != NULL, 0);

  return node->col;
}

/**
 * rthunk_node_is_symbol:
 * @node: a node
 * @name: a name
 *
 * Tells whether @node is a symbol spelt @name.
 *
 * Returns: whether @node is the symbol @name
 *
 * Since: 0.1
 */
gboolean
rthunk_node_is_symbol (const RthunkNode *node,
                       const char       *name)
{
  g_return_val_if_fail (node != NULL && name != NULL, FALSE);

  return node->kind == RTHUNK_NODE_SYMBOL && strcmp (node->u.text, name) == 0;
}

static void
node_print (const RthunkNode *node,
            GString          *out)
{
  g_autoptr(RthunkValue) literal = NULL;

  switch (node->kind)
    {
    case RTHUNK_NODE_INT:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, node->u.i);
      return;
    case RTHUNK_NODE_FLOAT:
      literal = rthunk_value_new_float (node->u.f);
      break;
    case RTHUNK_NODE_STR:
      literal = rthunk_value_new_str (node->u.text);
      break;
    case RTHUNK_NODE_BOOL:
      g_string_append (out, node->u.b ? "true" : "false");
      return;
    case RTHUNK_NODE_NIL:
      g_string_append (out, "nil");
      return;
    case RTHUNK_NODE_SYMBOL:
      g_string_append (out, node->u.text);
      return;
    case RTHUNK_NODE_KEYWORD:
      g_string_append_printf (out, ":%s", node->u.text);
      return;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
    default:
      g_string_append_c (out, node->kind == RTHUNK_NODE_LIST ? '(' : '[');
      for (guint k = 0; k < node->u.seq.n_items; k++)
        {
          if (k > 0)
            g_string_append_c (out, ' ');
          node_print (node->u.seq.items[k], out);
        }
      g_string_append_c (out, node->kind == RTHUNK_NODE_LIST ? ')' : ']');
      return;
    }
  rthunk_value_print (literal, out);
}

/**
 * rthunk_node_to_string:
 * @node: a node
 *
 * Prints @node as rthunk text.
 *
 * Returns: (transfer full): the text of @node, as the reader would read it
 *
 * Since: 0.1
 */
char *
rthunk_node_to_string (const RthunkNode *node)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (node != NULL, NULL);

  node_print (node, out);
  return g_string_free (out, FALSE);
}

/* ---- renaming free names (private) ---------------------------------------- */

typedef struct
{
  GHashTable *renames;          /* free name → new name */
  GPtrArray *bound;             /* names bound around the current node */
} Renamer;

static RthunkNode *rename_node (Renamer *r, RthunkNode *node);

static gboolean
is_bound_here (Renamer    *r,
               const char *name)
{
  for (guint k = r->bound->len; k > 0; k--)
    if (strcmp (g_ptr_array_index (r->bound, k - 1), name) == 0)
      return TRUE;
  return FALSE;
}

static RthunkNode *
with_position_of (RthunkNode *copy,
                  RthunkNode *node)
{
  rthunk_node_set_position_interned (copy, node->source, node->line, node->col);
  return copy;
}

static RthunkNode *
renamed_symbol (Renamer    *r,
                RthunkNode *node)
{
  const char *to = g_hash_table_lookup (r->renames, node->u.text);

  if (to == NULL || is_bound_here (r, node->u.text))
    return rthunk_node_ref (node);
  return with_position_of (rthunk_node_new_text (RTHUNK_NODE_SYMBOL, to), node);
}

/* Copies @node's items from @first on, renamed, into @items. */
static void
rename_items (Renamer    *r,
              RthunkNode *node,
              guint       first,
              GPtrArray  *items)
{
  for (guint k = first; k < node->u.seq.n_items; k++)
    g_ptr_array_add (items, rename_node (r, node->u.seq.items[k]));
}

/* Binds the symbols of a parameter vector for what follows. */
static void
bind_vector (Renamer    *r,
             RthunkNode *params)
{
  if (params->kind != RTHUNK_NODE_VECTOR)
    return;
  for (guint k = 0; k < params->u.seq.n_items; k++)
    if (params->u.seq.items[k]->kind == RTHUNK_NODE_SYMBOL)
      g_ptr_array_add (r->bound, params->u.seq.items[k]->u.text);
}

/* (let [a 1 b 2] body…) and loop: each value sees the names before it. */
static RthunkNode *
rename_bindings (Renamer    *r,
                 RthunkNode *pairs,
                 GPtrArray  *items)
{
  g_autoptr(GPtrArray) renamed = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);

  if (pairs->kind != RTHUNK_NODE_VECTOR)
    return rthunk_node_ref (pairs);
  for (guint k = 0; k < pairs->u.seq.n_items; k++)
    {
      RthunkNode *item = pairs->u.seq.items[k];

      if (k % 2 == 0)
        g_ptr_array_add (renamed, rthunk_node_ref (item));
      else
        {
          g_ptr_array_add (renamed, rename_node (r, item));
          if (pairs->u.seq.items[k - 1]->kind == RTHUNK_NODE_SYMBOL)
            g_ptr_array_add (r->bound, pairs->u.seq.items[k - 1]->u.text);
        }
    }
  return with_position_of (rthunk_node_new_seq (RTHUNK_NODE_VECTOR, (RthunkNode **) renamed->pdata,
                                                renamed->len), pairs);
}

static RthunkNode *
rename_list (Renamer    *r,
             RthunkNode *node)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  RthunkNode *head = node->u.seq.n_items > 0 ? node->u.seq.items[0] : NULL;
  guint depth = r->bound->len;
  RthunkNode *result;

  if (head != NULL && head->kind == RTHUNK_NODE_SYMBOL && !is_bound_here (r, head->u.text) &&
      node->u.seq.n_items >= 2)
    {
      if (strcmp (head->u.text, "fn") == 0)
        {
          g_ptr_array_add (items, rthunk_node_ref (head));
          g_ptr_array_add (items, rthunk_node_ref (node->u.seq.items[1]));
          bind_vector (r, node->u.seq.items[1]);
          rename_items (r, node, 2, items);
        }
      else if (strcmp (head->u.text, "defn") == 0 && node->u.seq.n_items >= 3)
        {
          g_ptr_array_add (items, rthunk_node_ref (head));
          g_ptr_array_add (items, rename_node (r, node->u.seq.items[1]));
          g_ptr_array_add (items, rthunk_node_ref (node->u.seq.items[2]));
          bind_vector (r, node->u.seq.items[2]);
          rename_items (r, node, 3, items);
        }
      else if (strcmp (head->u.text, "let") == 0 || strcmp (head->u.text, "loop") == 0)
        {
          g_ptr_array_add (items, rthunk_node_ref (head));
          g_ptr_array_add (items, rename_bindings (r, node->u.seq.items[1], items));
          rename_items (r, node, 2, items);
        }
    }
  if (items->len == 0)
    rename_items (r, node, 0, items);
  g_ptr_array_set_size (r->bound, depth);
  result = rthunk_node_new_seq (RTHUNK_NODE_LIST, (RthunkNode **) items->pdata, items->len);
  return with_position_of (result, node);
}

static RthunkNode *
rename_node (Renamer    *r,
             RthunkNode *node)
{
  g_autoptr(GPtrArray) items = NULL;

  switch (node->kind)
    {
    case RTHUNK_NODE_SYMBOL:
      return renamed_symbol (r, node);
    case RTHUNK_NODE_LIST:
      return rename_list (r, node);
    case RTHUNK_NODE_VECTOR:
      items = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
      rename_items (r, node, 0, items);
      return with_position_of (rthunk_node_new_seq (RTHUNK_NODE_VECTOR, (RthunkNode **) items->pdata,
                                                    items->len), node);
    default:
      return rthunk_node_ref (node);
    }
}

/* A copy of @node in which every free occurrence of a name in @renames
 * (name → new name) has its new name; names bound by fn, defn, let and
 * loop inside @node keep theirs.  The name a defn defines is renamed too. */
RthunkNode *
rthunk_node_rename_free (RthunkNode *node,
                         GHashTable *renames)
{
  Renamer r = { renames, g_ptr_array_new () };
  RthunkNode *result = rename_node (&r, node);

  g_ptr_array_unref (r.bound);
  return result;
}

/* "SOURCE:LINE:COL: error: MESSAGE" at @node's position. */
void
rthunk_set_node_error (GError      **error,
                       RthunkNode   *node,
                       RthunkError   code,
                       const char   *format,
                       ...)
{
  va_list args;

  va_start (args, format);
  rthunk_set_pos_error_valist (error, rthunk_node_get_source (node),
                               rthunk_node_get_line (node),
                               rthunk_node_get_col (node), code, format, args);
  va_end (args);
}

typedef struct
{
  RthunkNodeLiteralFunc func;
  gpointer data;
  guint index;                  /* the next literal's, in pre-order */
  gboolean same_places;
} Sameness;

static gboolean
same_but_literals (RthunkNode *t,
                   RthunkNode *n,
                   Sameness   *s)
{
  if (t->kind != n->kind)
    return FALSE;
  s->same_places &= t->line == n->line && t->col == n->col && t->source == n->source;
  switch (t->kind)
    {
    case RTHUNK_NODE_INT:
    case RTHUNK_NODE_FLOAT:
    case RTHUNK_NODE_BOOL:
    case RTHUNK_NODE_STR:
      if (s->func (t, n, s->index++, s->data))
        return TRUE;
      if (t->kind == RTHUNK_NODE_INT)
        return t->u.i == n->u.i;
      if (t->kind == RTHUNK_NODE_FLOAT)   /* the same bits: 0.0 is not -0.0 */
        return memcmp (&t->u.f, &n->u.f, sizeof (double)) == 0;
      if (t->kind == RTHUNK_NODE_BOOL)
        return t->u.b == n->u.b;
      return strcmp (t->u.text, n->u.text) == 0;
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      return strcmp (t->u.text, n->u.text) == 0;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      if (t->u.seq.n_items != n->u.seq.n_items)
        return FALSE;
      for (guint k = 0; k < t->u.seq.n_items; k++)
        if (!same_but_literals (t->u.seq.items[k], n->u.seq.items[k], s))
          return FALSE;
      return TRUE;
    case RTHUNK_NODE_NIL:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
rthunk_node_same_but_literals (RthunkNode            *template,
                               RthunkNode            *node,
                               gboolean              *same_places,
                               RthunkNodeLiteralFunc  func,
                               gpointer               data)
{
  Sameness s = { func, data, 0, TRUE };

  if (!same_but_literals (template, node, &s))
    return FALSE;
  if (same_places != NULL)
    *same_places = s.same_places;
  return TRUE;
}

guint
rthunk_node_shape_hash (RthunkNode *node)
{
  guint h = node->kind;

  switch (node->kind)
    {
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      return h * 31 + g_str_hash (node->u.text);
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      /* a tree is asked again by each memo that keeps things by shape */
      if ((h = (guint) g_atomic_int_get (&node->u.seq.shape)) != 0)
        return h;
      h = node->kind * 31 + node->u.seq.n_items;
      for (guint k = 0; k < node->u.seq.n_items; k++)
        h = h * 31 + rthunk_node_shape_hash (node->u.seq.items[k]);
      h = MAX (h, 1);
      g_atomic_int_set (&node->u.seq.shape, (gint) h);
      return h;
    default:
      return h;
    }
}

gsize
rthunk_node_measure (RthunkNode *node)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  gsize size = 0;

  g_ptr_array_add (stack, node);
  while (stack->len > 0)
    {
      RthunkNode *n = g_ptr_array_steal_index_fast (stack, stack->len - 1);

      size += sizeof (RthunkNode) + 16;         /* and malloc's header */
      switch (n->kind)
        {
        case RTHUNK_NODE_STR:
        case RTHUNK_NODE_SYMBOL:
        case RTHUNK_NODE_KEYWORD:
          size += strlen (n->u.text) + 1;       /* in the node's allocation */
          break;
        case RTHUNK_NODE_LIST:
        case RTHUNK_NODE_VECTOR:
          size += n->u.seq.n_items * sizeof (gpointer);    /* in the node's allocation */
          for (guint k = 0; k < n->u.seq.n_items; k++)
            g_ptr_array_add (stack, n->u.seq.items[k]);
          break;
        default:
          break;
        }
    }
  return size;
}

GHashTable *
rthunk_definitions_copy (GHashTable *definitions)
{
  GHashTable *copy;
  GHashTableIter iter;
  gpointer name, form;

  if (definitions == NULL)
    return NULL;
  copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_node_unref);
  g_hash_table_iter_init (&iter, definitions);
  while (g_hash_table_iter_next (&iter, &name, &form))
    g_hash_table_insert (copy, g_strdup (name), rthunk_node_ref (form));
  return copy;
}
