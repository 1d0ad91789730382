/* rthunk-encode-memo.c — the client's memo: encoded Asts by tree shape
 *
 * The encoding side of the two memos by shape. The client keys a checked
 * expression's tree by its shape (kinds, names, lengths; not its literals'
 * values, strings' texts included) and the types of its inputs, and keeps
 * the encoded, typed Ast of the first such tree with the offsets of its
 * literals: another tree of that shape is encoded by a copy with its own
 * literals written in, without a check. Its counterpart on the server,
 * rthunk-decode-memo.c, goes the other way: from Ast bytes to a checked
 * tree; it keeps a string's text in the shape.
 */
#include "config.h"

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-core-private.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"

/* ---- the memo of checked expressions ------------------------------------------- */

static int
compare_strings (const char **a,
                 const char **b)
{
  return strcmp (*a, *b);
}

/* "NAME=TYPE" for the memo's key, TYPE as rthunk_type_append_key()
 * writes it (it has no '='). */
char *
rthunk_client_typed_name (const char *name,
                          RthunkType *type)
{
  GString *key = g_string_sized_new (32);

  g_string_append (key, name);
  g_string_append_c (key, '=');
  rthunk_type_append_key (type, key);
  return g_string_free (key, FALSE);
}

/* A loop or a map submits expressions of one shape many times — the same
 * tree but for its literals' values and positions: (f 1), (f 2),
 * (str-len "ab") … — with inputs of the same types: their check and their
 * typed Ast are then the same but for those values, which the checker
 * never reads (but the string a provided function is called with, which
 * stays in the shape: append_shape()). The memo keeps,
 * by shape and input types, the encoded Ast of the first (its template)
 * and where its literals' values and positions are (its slots): another
 * expression of that shape costs a copy and a walk that writes its own
 * values into the slots. */
#define MAX_CHECKED 512
/* A template of more slots is not kept. */
#define MAX_SLOTS 128

typedef struct
{
  RthunkNode *expr;             /* the template's tree (held) */
  RthunkCatalog *catalog;       /* what it was checked against */
  GBytes *ast;                  /* its Ast struct */
  RthunkCodecSlot *slots;       /* its slots, in the order of the Ast's nodes */
  guint n_slots;
  gboolean texts;               /* some are string literals' texts */
  RthunkType *type;
} Checked;

void
rthunk_client_checked_free (gpointer data)
{
  Checked *checked = data;

  rthunk_node_unref (checked->expr);
  g_object_unref (checked->catalog);
  g_bytes_unref (checked->ast);
  g_free (checked->slots);
  rthunk_type_unref (checked->type);
  g_free (checked);
}

static void
append_count (GString *key,
              gsize    n,
              char     end)
{
  char digits[24];
  guint k = sizeof digits;

  digits[--k] = end;
  do
    digits[--k] = (char) ('0' + n % 10);
  while ((n /= 10) > 0);
  g_string_append_len (key, digits + k, (gssize) (sizeof digits - k));
}

/* Whether @list calls a provided function of @catalog, whose type
 * depends on the string literal it is called with
 * (rthunk-check-provided.c). */
static gboolean
calls_provided (RthunkNode    *list,
                RthunkCatalog *catalog)
{
  RthunkNode *head;
  RthunkFuncDef *def;

  if (catalog == NULL || rthunk_node_get_n_items (list) < 2 ||
      rthunk_node_get_kind ((head = rthunk_node_get_item (list, 0))) != RTHUNK_NODE_SYMBOL)
    return FALSE;
  def = rthunk_catalog_lookup (catalog, rthunk_node_get_text (head));
  return def != NULL && (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PROVIDED) != 0;
}

/* The shape of @node, in the order its Ast lists the nodes (children
 * first): kinds, names and lengths, not literals' values nor positions,
 * but for the text of a string literal when @text (the literal a
 * provided function is called with: its type depends on it). Returns
 * whether it wrote such a text. */
static gboolean
append_shape (GString       *key,
              RthunkNode    *node,
              RthunkCatalog *catalog,
              gboolean       text)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  gboolean provided, texts = FALSE;

  switch (kind)
    {
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      provided = kind == RTHUNK_NODE_LIST && calls_provided (node, catalog);
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        texts |= append_shape (key, rthunk_node_get_item (node, k), catalog, provided && k == 1);
      g_string_append_c (key, (char) ('a' + kind));
      append_count (key, rthunk_node_get_n_items (node), ',');
      break;
    case RTHUNK_NODE_STR:
      g_string_append_c (key, (char) ('a' + kind));
      if (!text)
        break;
      texts = TRUE;
      g_string_append_c (key, '=');     /* then the text, as a name's */
      G_GNUC_FALLTHROUGH;
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
      if (kind != RTHUNK_NODE_STR)
        g_string_append_c (key, (char) ('a' + kind));
      append_count (key, strlen (rthunk_node_get_text (node)), ':');
      g_string_append (key, rthunk_node_get_text (node));
      break;
    default:
      g_string_append_c (key, (char) ('a' + kind));
      break;
    }
  return texts;
}

/* The user definitions @closure an expression calls, by name and content
 * address: its check and its typed Ast depend on them only through their
 * addresses, which cover the definitions they use in turn. FALSE if one
 * has no address in @h. */
static gboolean
append_definitions (GString   *key,
                    DefHasher *h,
                    GPtrArray *closure)
{
  static const char hex[] = "0123456789abcdef";

  for (guint k = 0; k < closure->len; k++)
    {
      const char *name = g_ptr_array_index (closure, k);
      const guint8 *bytes = rthunk_client_def_hasher_address (h, name);
      gsize length = RTHUNK_HASH_LEN;

      if (bytes == NULL)
        return FALSE;
      g_string_append_c (key, '#');
      g_string_append (key, name);
      g_string_append_c (key, '@');
      for (gsize b = 0; b < length; b++)
        {
          g_string_append_c (key, hex[bytes[b] >> 4]);
          g_string_append_c (key, hex[bytes[b] & 0xf]);
        }
    }
  return TRUE;
}

/* What the part of the memo's key a tree gives depends on beside its
 * shape: its source (interned) and the catalog. */
static RthunkShapeMemoKey
shape_key_of (RthunkNode    *expr,
              RthunkCatalog *catalog)
{
  return (RthunkShapeMemoKey) { { (guintptr) rthunk_node_get_source (expr), }, (GObject *) catalog };
}

void
rthunk_client_shape_keys_clear (RthunkClient *self)
{
  rthunk_shape_memo_clear (&self->shape_keys);
}

/* The memo's key, into @key (emptied; the caller's, kept from one request
 * to the next): the expression's shape and source, the types of its
 * inputs, by name, and the definitions it calls (@closure, their
 * addresses in @h). The part of the tree is kept for the last trees of
 * RTHUNK_SHAPE_MEMO_FORMS shapes, and serves the trees of those shapes
 * (a loop submits one tree many times, with other inputs, or builds a
 * tree of one shape each time; a script's lines come in a few shapes).
 * FALSE when the expression cannot be kept. */
gboolean
rthunk_client_checked_key (RthunkClient  *self,
                           RthunkCatalog *catalog,
                           RthunkNode    *expr,
                           GPtrArray     *input_types,
                           DefHasher    *h,
                           GPtrArray    *closure,
                           GString      *key)
{
  const char *kept;

  RthunkShapeMemoKey shape_key = shape_key_of (expr, catalog);

  g_string_truncate (key, 0);
  g_mutex_lock (&self->lock);
  if ((kept = rthunk_shape_memo_find (&self->shape_keys, expr, &shape_key)) != NULL)
    g_string_append (key, kept);
  g_mutex_unlock (&self->lock);
  if (key->len == 0)
    {
      const char *source = rthunk_node_get_source (expr);
      gboolean texts;

      append_count (key, source != NULL ? strlen (source) : 0, ':');
      g_string_append (key, source != NULL ? source : "");
      texts = append_shape (key, expr, catalog, FALSE);
      g_mutex_lock (&self->lock);
      /* a string's text is part of it when a provided function takes it */
      rthunk_shape_memo_keep (&self->shape_keys, expr, &shape_key, g_strndup (key->str, key->len), texts);
      self->shape_walks++;
      g_mutex_unlock (&self->lock);
    }
  g_ptr_array_sort (input_types, (GCompareFunc) compare_strings);
  for (guint k = 0; k < input_types->len; k++)
    {
      g_string_append_c (key, '|');
      g_string_append (key, g_ptr_array_index (input_types, k));
    }
  return append_definitions (key, h, closure);
}

/* The node of each of @slots, into @nodes: the nodes of the tree under
 * @node in the Ast's order (children first), *@index the next one's,
 * *@s the next slot. */
static void
slot_nodes (RthunkNode            *node,
            const RthunkCodecSlot *slots,
            guint                  n_slots,
            guint                 *index,
            guint                 *s,
            RthunkNode           **nodes)
{
  RthunkNodeKind kind = rthunk_node_get_kind (node);
  guint k;

  if (kind == RTHUNK_NODE_LIST || kind == RTHUNK_NODE_VECTOR)
    for (guint c = 0; c < rthunk_node_get_n_items (node); c++)
      slot_nodes (rthunk_node_get_item (node, c), slots, n_slots, index, s, nodes);
  k = (*index)++;
  for (; *s < n_slots && slots[*s].node == k; (*s)++)
    nodes[*s] = node;
}

/* Writes @node's value or position for the fixed-size @slot at @at. */
static void
write_slot (guint8                *at,
            const RthunkCodecSlot *slot,
            RthunkNode            *node)
{
  guint64 v64 = 0;
  guint32 v32 = 0;
  double f;

  switch (slot->field)
    {
    case RTHUNK_CODEC_SLOT_INT:
      v64 = GUINT64_TO_BE ((guint64) rthunk_node_get_int (node));
      memcpy (at, &v64, 8);
      break;
    case RTHUNK_CODEC_SLOT_FLOAT:
      f = rthunk_node_get_float (node);
      memcpy (&v64, &f, 8);
      v64 = GUINT64_TO_BE (v64);
      memcpy (at, &v64, 8);
      break;
    case RTHUNK_CODEC_SLOT_BOOL:
      *at = rthunk_node_get_bool (node) ? 1 : 0;
      break;
    case RTHUNK_CODEC_SLOT_LINE:
    case RTHUNK_CODEC_SLOT_COL:
      v32 = GUINT32_TO_BE ((guint32) (slot->field == RTHUNK_CODEC_SLOT_LINE ? rthunk_node_get_line (node)
                                                                           : rthunk_node_get_col (node)));
      memcpy (at, &v32, 4);
      break;
    default:
      break;
    }
}

/* The length of the text of the TEXT slot at @at. */
static guint32
text_length (const guint8 *at)
{
  guint32 len;

  memcpy (&len, at, 4);
  return GUINT32_FROM_BE (len);
}

/* Appends @checked's template with @nodes' values and positions in its
 * slots: written in place when they are all fixed-size, else the
 * template's bytes between the slots copied and each string written
 * whole (a text of another length moves what follows it). */
static void
put_template (GByteArray    *out,
              const Checked *checked,
              RthunkNode   **nodes)
{
  gsize len, from = 0;
  const guint8 *template = g_bytes_get_data (checked->ast, &len);
  guint start = out->len;

  if (!checked->texts)
    {
      g_byte_array_append (out, template, len);
      for (guint s = 0; s < checked->n_slots; s++)
        write_slot (out->data + start + checked->slots[s].offset, &checked->slots[s], nodes[s]);
      return;
    }
  for (guint s = 0; s < checked->n_slots; s++)
    {
      const RthunkCodecSlot *slot = &checked->slots[s];

      g_byte_array_append (out, template + from, (guint) (slot->offset - from));
      if (slot->field == RTHUNK_CODEC_SLOT_TEXT)
        {
          rthunk_codec_put_string (out, rthunk_node_get_text (nodes[s]));
          from = slot->offset + slot->size + text_length (template + slot->offset);
          continue;
        }
      g_byte_array_append (out, template + slot->offset, slot->size);
      write_slot (out->data + out->len - slot->size, slot, nodes[s]);
      from = slot->offset + slot->size;
    }
  g_byte_array_append (out, template + from, (guint) (len - from));
}

/* Appends the memo's typed Ast for @expr to @out: the template's bytes,
 * with @expr's literals and positions if it is another tree of the same
 * shape. */
gboolean
rthunk_client_checked_lookup (RthunkClient   *self,
                              const char     *key,
                              RthunkNode     *expr,
                              RthunkCatalog  *catalog,
                              GByteArray     *out,
                              RthunkType    **type)
{
  Checked *checked;

  g_mutex_lock (&self->lock);
  checked = g_hash_table_lookup (self->checked, key);
  if (checked != NULL && checked->catalog == catalog)
    {
      RthunkNode *nodes[MAX_SLOTS];
      guint index = 0, s = 0;

      if (checked->expr == expr)
        g_byte_array_append (out, g_bytes_get_data (checked->ast, NULL), (guint) g_bytes_get_size (checked->ast));
      else
        {
          slot_nodes (expr, checked->slots, checked->n_slots, &index, &s, nodes);
          put_template (out, checked, nodes);
        }
      *type = rthunk_type_ref (checked->type);
    }
  g_mutex_unlock (&self->lock);
  return *type != NULL;
}

guint
rthunk_client_get_checked_shapes (RthunkClient *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return g_hash_table_size (self->checked);
}

guint64
rthunk_client_get_shape_walks (RthunkClient *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return self->shape_walks;
}

void
rthunk_client_checked_store (RthunkClient  *self,
                             char          *key,
                             RthunkNode    *expr,
                             RthunkCatalog *catalog,
                             GBytes        *ast,
                             RthunkType    *type)
{
  Checked *checked;
  RthunkCodecSlot slots[MAX_SLOTS];
  RthunkCodecIn in;
  gsize len;
  const guint8 *data = g_bytes_get_data (ast, &len);
  guint n_slots;

  rthunk_codec_in_init (&in, data, len);
  /* its own bytes: they always walk; a tree of more slots is not kept */
  if (!rthunk_codec_ast_slots (&in, data, TRUE, slots, G_N_ELEMENTS (slots), &n_slots) ||
      n_slots > G_N_ELEMENTS (slots))
    {
      g_free (key);
      return;
    }
  checked = g_new0 (Checked, 1);
  checked->expr = rthunk_node_ref (expr);
  checked->catalog = g_object_ref (catalog);
  checked->ast = g_bytes_ref (ast);
  checked->slots = g_memdup2 (slots, n_slots * sizeof slots[0]);
  checked->n_slots = n_slots;
  for (guint k = 0; k < n_slots; k++)
    checked->texts |= slots[k].field == RTHUNK_CODEC_SLOT_TEXT;
  checked->type = rthunk_type_ref (type);
  g_mutex_lock (&self->lock);
  if (g_hash_table_size (self->checked) >= MAX_CHECKED)
    g_hash_table_remove_all (self->checked);
  g_hash_table_replace (self->checked, key, checked);
  g_mutex_unlock (&self->lock);
}
