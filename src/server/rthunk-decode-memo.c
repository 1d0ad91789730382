/* rthunk-decode-memo.c — the server's memo: checked trees by Ast bytes
 *
 * The decoding side of the two memos by shape: a request's Ast bytes, with
 * the slots of its literals zeroed, and its inputs' types key the checked
 * tree of the first such request. Its counterpart in the client,
 * rthunk-encode-memo.c, goes the other way: from a tree to Ast bytes.
 *
 * A request of a known shape gets the template's tree with its own literals
 * put in, and the template's type, purity and, when it is the same bytes
 * and closed, its cache key (docs/protocol.md). Each connection's thread
 * keeps the shapes of the last Asts it found in the memo: an Ast of one
 * of those shapes again costs a comparison, not the walk and the lookup.
 */
#include "config.h"

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-core-private.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-type.h"

/* Requests whose Asts differ only in their literals' values and positions
 * — a REPL line sent again, (+ 1 2) and (+ 5 7), the thousand (f i) of a
 * map — have the same shape: the same tree but for those, so the same
 * type, whatever the values (the checker never reads a literal's value).
 * The memo keeps one checked tree per shape, its template, by the Ast's
 * bytes with those slots zeroed, and the types of the inputs it was
 * checked with. A request of that shape with inputs of those types is
 * neither decoded nor checked: its tree is the template's, its new
 * literals and positions put in place (what did not change is shared).
 * A shape is kept the second time it is seen, at most MEMO_MAX_ENTRIES. */
#define MEMO_MAX_ENTRIES 1024
#define MEMO_MAX_AST_BYTES RTHUNK_REQUEST_MEMO_MAX_AST_BYTES
#define MEMO_MAX_SLOTS RTHUNK_REQUEST_MEMO_MAX_SLOTS

static void
checked_clear (RthunkChecked *checked)
{
  rthunk_node_unref (checked->expr);
  rthunk_type_unref (checked->type);
  g_clear_pointer (&checked->expr_sum, g_checksum_free);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkChecked, rthunk_handler_checked, checked_clear)

RthunkChecked *
rthunk_handler_checked_new (RthunkNode *expr,
                            RthunkType *type,
                            gboolean    pure,
                            gboolean    closed)
{
  /* one a request: not g_atomic_rc_box_new0, whose calloc takes glibc's
   * arena lock (malloc serves a thread from its own cache) */
  RthunkChecked *checked = g_atomic_rc_box_new (RthunkChecked);

  *checked = (RthunkChecked) { .expr = expr, .type = type, .pure = pure, .closed = closed };
  return checked;
}

static void
memo_shape_clear (RthunkRequestShape *shape)
{
  rthunk_handler_checked_unref (shape->checked);
  g_clear_pointer (&shape->sig, g_bytes_unref);
  for (guint k = 0; k < shape->n_nodes; k++)
    rthunk_node_unref (shape->nodes[k]);
  g_free (shape->nodes);
  g_free (shape->kid_start);
  g_free (shape->kids);
  g_free (shape->slots);
  g_free (shape->raw);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkRequestShape, rthunk_handler_memo_shape, memo_shape_clear)

/* The memo's hash of Ast bytes, eight bytes at a step (g_bytes_hash takes
 * one; an Ast with its types is a few hundred bytes). */
static guint
hash_bytes (const guint8 *p,
            gsize         len)
{
  guint64 h = 0x9e3779b97f4a7c15u ^ len;
  gsize k = 0;

  for (; k + 8 <= len; k += 8)
    {
      guint64 w;

      memcpy (&w, p + k, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdu;
      h ^= h >> 32;
    }
  for (; k < len; k++)
    h = (h ^ p[k]) * 0x100000001b3u;
  return (guint) (h ^ (h >> 29));
}

guint
rthunk_handler_ast_bytes_hash (gconstpointer key)
{
  gsize len;
  const guint8 *p = g_bytes_get_data ((GBytes *) key, &len);

  return hash_bytes (p, len);
}

/* @ast with its slots zeroed, into @masked (MEMO_MAX_AST_BYTES). */
static void
mask_slots (const guint8          *ast,
            gsize                  len,
            const RthunkCodecSlot *slots,
            guint                  n_slots,
            guint8                *masked)
{
  memcpy (masked, ast, len);
  for (guint k = 0; k < n_slots; k++)
    memset (masked + slots[k].offset, 0, slots[k].size);
}

/* The shape of Ast bytes whose slots a request's decoding found. */
static RthunkRequestShape *
memo_lookup (RthunkServerState     *state,
             const guint8          *ast,
             gsize                  len,
             const RthunkCodecSlot *slots,
             guint                  n_slots,
             guint                 *hash)
{
  guint8 masked[MEMO_MAX_AST_BYTES];
  g_autoptr(GBytes) key = NULL;
  RthunkRequestShape *shape;

  mask_slots (ast, len, slots, n_slots, masked);
  *hash = hash_bytes (masked, len);
  key = g_bytes_new_static (masked, len);
  g_mutex_lock (&state->memo_lock);
  shape = g_hash_table_lookup (state->memo, key);
  if (shape != NULL)
    rthunk_handler_memo_shape_ref (shape);
  g_mutex_unlock (&state->memo_lock);
  return shape;
}

/* The shapes of the last Asts a connection's thread found in the memo,
 * the latest first: a client that sends an expression of a shape it sent
 * lately (other literals, other inputs, a chain's next link, a batch of
 * (f i), a script's lines of a few kinds in turn) costs a comparison of
 * the bytes outside the shape's slots, not a walk of its slots and a
 * lookup. As many as the evaluator keeps code for. */
#define LAST_ASTS RTHUNK_EVAL_CODES

typedef struct
{
  guint8 instance[RTHUNK_THUNK_ID_LEN]; /* the state whose memo it is (its
                                          instance id: a later state may
                                          have its address) */
  guint n;
  RthunkRequestShape *shapes[LAST_ASTS];
  guint hashes[LAST_ASTS];
  guint64 hits;                 /* Asts found among them */
} LastAst;

static void
last_ast_clear (LastAst *last)
{
  while (last->n > 0)
    g_clear_pointer (&last->shapes[--last->n], rthunk_handler_memo_shape_unref);
}

static void
last_ast_free (gpointer data)
{
  last_ast_clear (data);
  g_free (data);
}

/* Moves the shape at @k to the front, the latest used. */
static void
last_ast_raise (LastAst *last,
                guint    k)
{
  rthunk_array_raise (last->shapes, sizeof last->shapes[0], k);
  rthunk_array_raise (last->hashes, sizeof last->hashes[0], k);
}

static GPrivate thread_last_ast = G_PRIVATE_INIT (last_ast_free);

/* Sixteen bytes, compared as one (GCC's and Clang's vector extension). */
typedef guint8 Bytes16 __attribute__ ((vector_size (16)));

/* Whether @ast (at least @shape's length) is @shape's template but for
 * the values in its slots. Those are fixed-size fields whose field
 * headers are outside them, so the same bytes elsewhere parse the same:
 * the memo's key, the bytes with the slots zeroed, is the same. Through
 * the mask, sixteen bytes at a step: an Ast has a slot for each node's
 * line and column, and a memcmp() between each two costs more than the
 * bytes. */
static gboolean
same_but_slots (const RthunkRequestShape *shape,
                const guint8             *ast)
{
  gsize k = 0;

  for (; k + 16 <= shape->len; k += 16)
    {
      Bytes16 a, b, m, d;
      guint64 w[2];

      memcpy (&a, ast + k, 16);
      memcpy (&b, shape->raw + k, 16);
      memcpy (&m, shape->mask + k, 16);
      d = (a ^ b) & m;
      memcpy (w, &d, 16);
      if ((w[0] | w[1]) != 0)
        return FALSE;
    }
  for (; k < shape->len; k++)
    if (((ast[k] ^ shape->raw[k]) & shape->mask[k]) != 0)
      return FALSE;
  return TRUE;
}

/* Whether the slot @slot holds the same value in @ast as in @raw. */
static inline gboolean
same_in_slot (const RthunkCodecSlot *slot,
              const guint8          *ast,
              const guint8          *raw)
{
  guint64 a, b;
  guint32 a4, b4;

  switch (slot->size)
    {
    case 8:
      memcpy (&a, ast + slot->offset, 8);
      memcpy (&b, raw + slot->offset, 8);
      return a == b;
    case 4:
      memcpy (&a4, ast + slot->offset, 4);
      memcpy (&b4, raw + slot->offset, 4);
      return a4 == b4;
    case 1:
      return ast[slot->offset] == raw[slot->offset];
    default:
      return memcmp (ast + slot->offset, raw + slot->offset, slot->size) == 0;
    }
}

/* The thread's last Asts, if they are of @state's server. */
static LastAst *
thread_last_asts (RthunkServerState *state)
{
  LastAst *last = g_private_get (&thread_last_ast);

  return last != NULL && memcmp (last->instance, state->instance_id, sizeof last->instance) == 0 ? last : NULL;
}

/* The shape of the Ast at @in's position if it is that of one of the
 * thread's last Asts (@in then past it), or NULL. */
static RthunkRequestShape *
last_ast_shape (RthunkServerState *state,
                RthunkCodecIn     *in,
                guint             *hash)
{
  LastAst *last = thread_last_asts (state);

  for (guint k = 0; last != NULL && k < last->n; k++)
    {
      RthunkRequestShape *shape = last->shapes[k];

      if (!rthunk_codec_need (in, shape->len) || !same_but_slots (shape, in->pos))
        continue;
      /* the same bytes parse the same: the struct ends where that one did */
      in->pos += shape->len;
      last->hits++;
      last_ast_raise (last, k);
      *hash = last->hashes[0];
      return rthunk_handler_memo_shape_ref (shape);
    }
  return NULL;
}

/* Another of the thread's last shapes with the bytes of @ast, which has
 * @shape's, and the inputs' types and definitions @sig (a template of
 * those bytes checked for other inputs, kept beside @shape), moved first;
 * or NULL. */
RthunkRequestShape *
rthunk_handler_last_shape_for_sig (RthunkServerState        *state,
                                   const RthunkRequestShape *shape,
                                   const guint8             *ast,
                                   GString                  *sig)
{
  LastAst *last = thread_last_asts (state);

  for (guint k = 0; last != NULL && k < last->n; k++)
    {
      RthunkRequestShape *other = last->shapes[k];

      if (other == shape || other->len != shape->len || !same_but_slots (other, ast) ||
          !rthunk_handler_same_sig (other->sig, sig))
        continue;
      last->hits++;
      last_ast_raise (last, k);
      return rthunk_handler_memo_shape_ref (other);
    }
  return NULL;
}

guint64
rthunk_handler_last_ast_hits (void)
{
  LastAst *last = g_private_get (&thread_last_ast);

  return last != NULL ? last->hits : 0;
}

/* Keeps @shape first among the shapes of the thread's last Asts. */
static void
last_ast_keep (RthunkServerState  *state,
               RthunkRequestShape *shape,
               guint               hash)
{
  LastAst *last = g_private_get (&thread_last_ast);
  guint k;

  if (last == NULL)
    g_private_set (&thread_last_ast, (last = g_new0 (LastAst, 1)));
  if (memcmp (last->instance, state->instance_id, sizeof last->instance) != 0)
    {
      last_ast_clear (last);
      memcpy (last->instance, state->instance_id, sizeof last->instance);
    }
  for (k = 0; k < last->n && last->shapes[k] != shape; k++)
    ;
  if (k == last->n)
    {
      if (last->n == LAST_ASTS)
        rthunk_handler_memo_shape_unref (last->shapes[--last->n]);
      k = last->n++;
      last->shapes[k] = rthunk_handler_memo_shape_ref (shape);
    }
  last->hashes[k] = hash;
  last_ast_raise (last, k);
}

gboolean
rthunk_handler_same_sig (GBytes  *kept,
                         GString *sig)
{
  gsize len = 0;
  const void *data = kept != NULL ? g_bytes_get_data (kept, &len) : NULL;

  if (sig == NULL || sig->len == 0)
    return len == 0;
  return len == sig->len && memcmp (data, sig->str, len) == 0;
}

/* The template's tree with the literals and positions of @ast, which has
 * its shape; its nodes in the Ast's order are added to @nodes if given. */
RthunkNode *
rthunk_handler_shape_tree (const RthunkRequestShape *shape,
                           const guint8             *ast,
                           GPtrArray                *nodes)
{
  RthunkNode *stack[64];
  RthunkNode **fresh = shape->n_nodes <= G_N_ELEMENTS (stack) ? stack : g_new (RthunkNode *, shape->n_nodes);
  RthunkNode *root;
  guint s = 0;

  for (guint k = 0; k < shape->n_nodes; k++)
    {
      RthunkNode *was = shape->nodes[k], *node;
      RthunkNode *items_stack[16];
      RthunkNode **items;
      const guint32 *kids = shape->kids + shape->kid_start[k];
      guint first = s, n_kids = shape->kid_start[k + 1] - shape->kid_start[k];
      gboolean changed = FALSE;
      gint64 i = 0;
      double f = 0;
      guint8 b = 0;
      gint32 line = 0, col = 0;

      for (; s < shape->n_slots && shape->slots[s].node == k; s++)
        changed |= !same_in_slot (&shape->slots[s], ast, shape->raw);
      for (guint c = 0; c < n_kids && !changed; c++)
        changed = fresh[kids[c]] != shape->nodes[kids[c]];
      if (!changed)
        {
          fresh[k] = was;
          continue;
        }
      /* as the codec reads a node: the last of a repeated field counts */
      for (guint t = first; t < s; t++)
        {
          RthunkCodecIn in;

          rthunk_codec_in_init (&in, ast + shape->slots[t].offset, shape->slots[t].size);
          switch (shape->slots[t].field)
            {
            case RTHUNK_CODEC_SLOT_INT: rthunk_codec_get_i64 (&in, &i); break;
            case RTHUNK_CODEC_SLOT_FLOAT: rthunk_codec_get_double (&in, &f); break;
            case RTHUNK_CODEC_SLOT_BOOL: rthunk_codec_get_u8 (&in, &b); break;
            case RTHUNK_CODEC_SLOT_LINE: rthunk_codec_get_i32 (&in, &line); break;
            default: rthunk_codec_get_i32 (&in, &col); break;
            }
        }
      switch (rthunk_node_get_kind (was))
        {
        case RTHUNK_NODE_INT: node = rthunk_node_new_int (i); break;
        case RTHUNK_NODE_FLOAT: node = rthunk_node_new_float (f); break;
        case RTHUNK_NODE_BOOL: node = rthunk_node_new_bool (b != 0); break;
        case RTHUNK_NODE_NIL: node = rthunk_node_new_nil (); break;
        case RTHUNK_NODE_LIST:
        case RTHUNK_NODE_VECTOR:
          items = n_kids <= G_N_ELEMENTS (items_stack) ? items_stack : g_new (RthunkNode *, n_kids);
          for (guint c = 0; c < n_kids; c++)
            items[c] = fresh[kids[c]];
          node = rthunk_node_new_seq (rthunk_node_get_kind (was), items, n_kids);
          if (items != items_stack)
            g_free (items);
          break;
        default:
          node = rthunk_node_new_text (rthunk_node_get_kind (was), rthunk_node_get_text (was));
          break;
        }
      rthunk_node_set_position_interned (node, rthunk_node_get_source (was), MAX (line, 0), MAX (col, 0));
      fresh[k] = node;
    }
  root = rthunk_node_ref (fresh[shape->n_nodes - 1]);
  for (guint k = 0; k < shape->n_nodes; k++)
    {
      if (nodes != NULL)
        g_ptr_array_add (nodes, rthunk_node_ref (fresh[k]));
      /* a new node is held by its parent now (the root by the caller) */
      if (fresh[k] != shape->nodes[k])
        rthunk_node_unref (fresh[k]);
    }
  if (fresh != stack)
    g_free (fresh);
  return root;
}

/* A request of @shape whose inputs have the template's types, checked:
 * the template itself for the same bytes, else the template's check on a
 * tree with the request's literals. */
RthunkChecked *
rthunk_handler_shape_checked (const RthunkRequestShape *shape,
                              const guint8             *ast)
{
  RthunkChecked *t = shape->checked;

  if (memcmp (ast, shape->raw, shape->len) == 0)
    return rthunk_handler_checked_ref (t);
  return rthunk_handler_checked_new (rthunk_handler_shape_tree (shape, ast, NULL), rthunk_type_ref (t->type), t->pure, t->closed);
}

/* Keeps @checked, the check of @request's tree whose nodes are @nodes
 * (in the Ast's order), as the template of its shape for inputs of the
 * types @sig; the second time the shape is seen. */
void
rthunk_handler_memo_insert (RthunkServerState   *state,
                            const RthunkRequest *request,
                            GPtrArray           *nodes,
                            RthunkChecked       *checked,
                            GString             *sig)
{
  RthunkCodecSlot slots[MEMO_MAX_SLOTS];
  g_autoptr(GHashTable) index = NULL;
  guint8 masked[MEMO_MAX_AST_BYTES];
  RthunkCodecIn in;
  RthunkRequestShape *shape;
  guint n_slots, h = request->memo_hash;

  g_mutex_lock (&state->memo_lock);
  /* a stream of requests each made once would only churn the memo */
  if (state->memo_seen[h % G_N_ELEMENTS (state->memo_seen)] != h)
    {
      state->memo_seen[h % G_N_ELEMENTS (state->memo_seen)] = h;
      g_mutex_unlock (&state->memo_lock);
      return;
    }
  g_mutex_unlock (&state->memo_lock);
  rthunk_codec_in_init (&in, request->ast_data, request->ast_len);
  if (nodes == NULL || nodes->len == 0 ||
      !rthunk_codec_ast_slots (&in, request->ast_data, FALSE, slots, G_N_ELEMENTS (slots), &n_slots) ||
      n_slots > G_N_ELEMENTS (slots))
    return;
  shape = g_atomic_rc_box_new0 (RthunkRequestShape);
  shape->checked = rthunk_handler_checked_ref (checked);
  shape->sig = sig != NULL && sig->len > 0 ? g_bytes_new (sig->str, sig->len) : NULL;
  shape->raw = g_malloc (2 * request->ast_len);
  memcpy (shape->raw, request->ast_data, request->ast_len);
  shape->mask = shape->raw + request->ast_len;
  memset (shape->mask, 0xff, request->ast_len);
  for (guint k = 0; k < n_slots; k++)
    memset (shape->mask + slots[k].offset, 0, slots[k].size);
  shape->len = request->ast_len;
  shape->slots = g_memdup2 (slots, n_slots * sizeof slots[0]);
  shape->n_slots = n_slots;
  shape->n_nodes = nodes->len;
  shape->nodes = g_new (RthunkNode *, nodes->len);
  shape->kid_start = g_new (guint32, nodes->len + 1);
  index = g_hash_table_new (NULL, NULL);
  shape->kid_start[0] = 0;
  for (guint k = 0; k < nodes->len; k++)
    {
      shape->nodes[k] = rthunk_node_ref (g_ptr_array_index (nodes, k));
      g_hash_table_insert (index, shape->nodes[k], GUINT_TO_POINTER (k));
      /* rthunk_node_get_n_items() is 0 but for a list or a vector */
      shape->kid_start[k + 1] = shape->kid_start[k] + rthunk_node_get_n_items (shape->nodes[k]);
    }
  shape->kids = g_new (guint32, MAX (shape->kid_start[nodes->len], 1));
  for (guint k = 0; k < nodes->len; k++)
    for (guint c = 0; c < shape->kid_start[k + 1] - shape->kid_start[k]; c++)
      shape->kids[shape->kid_start[k] + c] =
        GPOINTER_TO_UINT (g_hash_table_lookup (index, rthunk_node_get_item (shape->nodes[k], c)));
  mask_slots (request->ast_data, request->ast_len, slots, n_slots, masked);
  /* first among the thread's last: it may replace a shape of the same
   * bytes checked with other inputs or definitions, which would be found
   * there before the memo is asked. Kept before the memo has it: once it
   * is there, another thread's insert of the same bytes (or a full memo
   * started again) may drop the memo's reference, the only one */
  last_ast_keep (state, shape, h);
  g_mutex_lock (&state->memo_lock);
  /* full: start again (what is used again comes back at once) */
  if (g_hash_table_size (state->memo) >= MEMO_MAX_ENTRIES)
    g_hash_table_remove_all (state->memo);
  g_hash_table_replace (state->memo, g_bytes_new (masked, request->ast_len), shape);
  g_mutex_unlock (&state->memo_lock);
}

/* What rthunk_request_decode() asks the memo, with the state as its data. */
const RthunkRequestMemo rthunk_handler_request_memo = {
  (RthunkRequestShape *(*) (gpointer, RthunkCodecIn *, guint *)) last_ast_shape,
  (RthunkRequestShape *(*) (gpointer, const guint8 *, gsize, const RthunkCodecSlot *, guint, guint *)) memo_lookup,
  (void (*) (gpointer, RthunkRequestShape *, guint)) last_ast_keep,
  rthunk_handler_memo_shape_unref,
};
