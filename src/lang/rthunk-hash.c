/* rthunk-hash.c — content addresses of definitions
 *
 * The address of a definition — `(defn NAME [PARAMS] BODY…)` or
 * `(fn [PARAMS] BODY…)` — is the SHA-256 of its canonical encoding: bytes
 * that depend on what the code means, not on how it was written. Local
 * names (parameters, let bindings, loop variables) become de Bruijn
 * indices, the function's own name becomes SELF, another user definition
 * becomes its own address (so names are only aliases, as in Unison), and
 * positions, whitespace and comments are gone.
 *
 * Encoding, version 1. Integers are big-endian; u8, u32 and u64 are 1, 4
 * and 8 bytes.
 *
 *   definition := 'r' 't' 'h' 0x01 lambda
 *   lambda     := 0x0d u32:n_params u32:n_body expr{n_body}
 *   expr       := 0x01 u64                      int (two's complement)
 *               | 0x02 u64                      float: IEEE-754 bits (one NaN)
 *               | 0x03 u64:len byte{len}        string
 *               | 0x04 u8                       bool: 0 or 1
 *               | 0x05                          nil
 *               | 0x06 u64:len byte{len}        keyword, without its colon
 *               | 0x07 u64:len byte{len}        free name: a catalog function,
 *                                               a special form, an input
 *               | 0x08 u32:index                local: 0 = innermost binding
 *               | 0x09                          SELF: the defn being hashed
 *               | 0x0a byte{32}                 another user definition
 *               | 0x0b u32:n expr{n}            a call or another list form
 *               | 0x0c u32:n expr{n}            a vector
 *               | lambda                        a nested fn
 *               | 0x0e u32:n expr{n} u32:m expr{m}   let: n values, m body forms
 *               | 0x0f u32:n expr{n} u32:m expr{m}   loop: likewise
 *
 * Scopes: a lambda binds its parameters left to right, so in
 * `(fn [a b] …)` b is local 0 and a local 1; let and loop bind each name
 * after its value is encoded, so a value sees the names before it. A name
 * is looked up among the locals first, then as the defn's own name, then
 * through the resolver; else it is free. The head of a special form (if do
 * and or recur remote await) is always a free name, as the checker and the
 * evaluator dispatch on it whatever is bound. `(defn f [x] E)` and
 * `(fn [x] E)` share an address when E does not use f: a name is not code.
 *
 * The encoding is prefix-free: a tag fixes the size of what follows it (a
 * fixed size, a length or a count), so the bytes can be read back in one
 * way only and no encoding is a prefix of another. Two definitions share
 * bytes exactly when they are the same code up to local names and
 * positions.
 *
 * Changing anything here changes every address, and with it every stored
 * definition and cached result: bump the version byte if you must.
 * Mutually recursive definitions have no address: a definition can only
 * refer to definitions already hashed.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "rthunk-hash.h"
#include "rthunk-error.h"
#include "rthunk-forms.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"

#define ENCODING_VERSION 0x01

static const guint8 encoding_magic[] = { 'r', 't', 'h', ENCODING_VERSION };

typedef enum {
  TAG_INT = 0x01,
  TAG_FLOAT = 0x02,
  TAG_STR = 0x03,
  TAG_BOOL = 0x04,
  TAG_NIL = 0x05,
  TAG_KEYWORD = 0x06,
  TAG_NAME = 0x07,
  TAG_LOCAL = 0x08,
  TAG_SELF = 0x09,
  TAG_REF = 0x0a,
  TAG_LIST = 0x0b,
  TAG_VECTOR = 0x0c,
  TAG_LAMBDA = 0x0d,
  TAG_LET = 0x0e,
  TAG_LOOP = 0x0f,
} Tag;

typedef struct
{
  RthunkHashResolver resolve;
  gpointer user_data;
  GByteArray *out;       /* the encoding; NULL when only collecting */
  GPtrArray *refs;       /* names of the definitions used; NULL when encoding */
  GHashTable *seen;      /* the names in @refs, once there are REFS_SCANNED */
  GPtrArray *locals;     /* bound names, borrowed from the form; innermost last */
  const char *self;      /* the name of the defn being walked, or NULL */
  guint depth;           /* how many lists and vectors enclose the walk */
  gboolean lenient;      /* walk malformed forms as calls instead of failing */
} Walker;

typedef gboolean (*WalkFunc) (Walker *w, RthunkNode *node, GError **error);

static gboolean walk (Walker *w, RthunkNode *node, GError **error);

/* ---- the walker --------------------------------------------------------- */

static void
walker_init (Walker             *w,
             RthunkHashResolver  resolve,
             gpointer            user_data,
             GByteArray         *out,
             gboolean            collect)
{
  memset (w, 0, sizeof *w);
  w->resolve = resolve;
  w->user_data = user_data;
  w->out = out;
  w->locals = g_ptr_array_new ();
  w->lenient = collect;
  if (collect)
    w->refs = g_ptr_array_new_with_free_func (g_free);
}

static void
walker_clear (Walker *w)
{
  g_clear_pointer (&w->locals, g_ptr_array_unref);
  g_clear_pointer (&w->refs, g_ptr_array_unref);
  g_clear_pointer (&w->seen, g_hash_table_unref);
}

/* A form names few definitions: they are looked for in @refs, and a
 * table is made only when there are more. */
#define REFS_SCANNED 8

static gboolean
is_noted (Walker     *w,
          const char *name)
{
  if (w->seen != NULL)
    return g_hash_table_contains (w->seen, name);
  for (guint k = 0; k < w->refs->len; k++)
    if (strcmp (g_ptr_array_index (w->refs, k), name) == 0)
      return TRUE;
  return FALSE;
}

static void
note_reference (Walker     *w,
                const char *name)
{
  char *copy;

  if (w->refs == NULL || is_noted (w, name))
    return;
  copy = g_strdup (name);
  g_ptr_array_add (w->refs, copy);
  if (w->seen == NULL && w->refs->len >= REFS_SCANNED)
    {
      w->seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint k = 0; k < w->refs->len; k++)
        g_hash_table_add (w->seen, g_ptr_array_index (w->refs, k));
    }
  else if (w->seen != NULL)
    g_hash_table_add (w->seen, copy);
}

/* ---- bytes -------------------------------------------------------------- */

static void
put_bytes (Walker     *w,
           const void *data,
           gsize       length)
{
  if (w->out != NULL)
    g_byte_array_append (w->out, data, length);
}

static void
put_u8 (Walker *w,
        guint8  value)
{
  put_bytes (w, &value, 1);
}

static void
put_u32 (Walker  *w,
         guint32  value)
{
  guint32 be = GUINT32_TO_BE (value);

  put_bytes (w, &be, sizeof be);
}

static void
put_u64 (Walker  *w,
         guint64  value)
{
  guint64 be = GUINT64_TO_BE (value);

  put_bytes (w, &be, sizeof be);
}

static void
put_text (Walker     *w,
          Tag         tag,
          const char *text)
{
  gsize length = strlen (text);

  put_u8 (w, tag);
  put_u64 (w, length);
  put_bytes (w, text, length);
}

/* The IEEE-754 bits of @f, with every NaN made the same quiet NaN. */
static guint64
float_bits (double f)
{
  guint64 bits = G_GUINT64_CONSTANT (0x7ff8000000000000);

  if (!isnan (f))
    memcpy (&bits, &f, sizeof bits);
  return bits;
}

/* ---- names -------------------------------------------------------------- */

static gboolean
lookup_local (Walker     *w,
              const char *name,
              guint32    *index)
{
  for (guint k = w->locals->len; k > 0; k--)
    if (strcmp (g_ptr_array_index (w->locals, k - 1), name) == 0)
      {
        *index = w->locals->len - k;
        return TRUE;
      }
  return FALSE;
}

static void
push_local (Walker     *w,
            RthunkNode *name)
{
  g_ptr_array_add (w->locals, (gpointer) rthunk_node_get_text (name));
}

static void
walk_name (Walker     *w,
           const char *name)
{
  guint8 hash[RTHUNK_HASH_LEN];
  guint32 index;

  if (lookup_local (w, name, &index))
    {
      put_u8 (w, TAG_LOCAL);
      put_u32 (w, index);
    }
  else if (w->self != NULL && strcmp (w->self, name) == 0)
    put_u8 (w, TAG_SELF);
  else if (w->resolve != NULL && w->resolve (name, hash, w->user_data))
    {
      put_u8 (w, TAG_REF);
      put_bytes (w, hash, RTHUNK_HASH_LEN);
      note_reference (w, name);
    }
  else
    put_text (w, TAG_NAME, name);
}

/* ---- atoms -------------------------------------------------------------- */

static void
walk_atom (Walker     *w,
           RthunkNode *node)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_INT:
      put_u8 (w, TAG_INT);
      put_u64 (w, (guint64) rthunk_node_get_int (node));
      break;
    case RTHUNK_NODE_FLOAT:
      put_u8 (w, TAG_FLOAT);
      put_u64 (w, float_bits (rthunk_node_get_float (node)));
      break;
    case RTHUNK_NODE_BOOL:
      put_u8 (w, TAG_BOOL);
      put_u8 (w, rthunk_node_get_bool (node) ? 1 : 0);
      break;
    case RTHUNK_NODE_STR:     put_text (w, TAG_STR, rthunk_node_get_text (node)); break;
    case RTHUNK_NODE_KEYWORD: put_text (w, TAG_KEYWORD, rthunk_node_get_text (node)); break;
    case RTHUNK_NODE_SYMBOL:  walk_name (w, rthunk_node_get_text (node)); break;
    case RTHUNK_NODE_NIL:     put_u8 (w, TAG_NIL); break;
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
    default:
      g_assert_not_reached ();
    }
}

/* ---- sequences ---------------------------------------------------------- */

static gboolean
walk_items (Walker      *w,
            RthunkNode  *seq,
            guint        first,
            GError     **error)
{
  for (guint k = first; k < rthunk_node_get_n_items (seq); k++)
    if (!walk (w, rthunk_node_get_item (seq, k), error))
      return FALSE;
  return TRUE;
}

/* The items of @form from @first on, with their count: a body (fn, let,
 * loop), a vector, a call. */
static gboolean
walk_body (Walker      *w,
           RthunkNode  *form,
           guint        first,
           GError     **error)
{
  put_u32 (w, rthunk_node_get_n_items (form) - first);
  return walk_items (w, form, first, error);
}

static gboolean
walk_vector (Walker      *w,
             RthunkNode  *vector,
             GError     **error)
{
  put_u8 (w, TAG_VECTOR);
  return walk_body (w, vector, 0, error);
}

/* A special form that binds nothing: its head is a name whatever is bound. */
static gboolean
walk_special_call (Walker      *w,
                   RthunkNode  *form,
                   GError     **error)
{
  put_u8 (w, TAG_LIST);
  put_u32 (w, rthunk_node_get_n_items (form));
  put_text (w, TAG_NAME, rthunk_node_get_text (rthunk_node_get_item (form, 0)));
  return walk_items (w, form, 1, error);
}

/* A form the checker would refuse: an error, or when only collecting
 * references, walked as a call so that every name in it is still seen. */
static gboolean
malformed (Walker      *w,
           RthunkNode  *form,
           const char  *message,
           GError     **error)
{
  if (w->lenient)
    return walk_special_call (w, form, error);
  rthunk_set_node_error (error, form, RTHUNK_ERROR_SYNTAX, "%s", message);
  return FALSE;
}

/* ---- binding forms ------------------------------------------------------ */

static gboolean
is_param_vector (RthunkNode *params)
{
  if (rthunk_node_get_kind (params) != RTHUNK_NODE_VECTOR)
    return FALSE;
  for (guint k = 0; k < rthunk_node_get_n_items (params); k++)
    if (rthunk_node_get_kind (rthunk_node_get_item (params, k)) != RTHUNK_NODE_SYMBOL)
      return FALSE;
  return TRUE;
}

static gboolean
is_binding_vector (RthunkNode *pairs)
{
  guint n = rthunk_node_get_n_items (pairs);

  if (rthunk_node_get_kind (pairs) != RTHUNK_NODE_VECTOR || n % 2 != 0)
    return FALSE;
  for (guint k = 0; k < n; k += 2)
    if (rthunk_node_get_kind (rthunk_node_get_item (pairs, k)) != RTHUNK_NODE_SYMBOL)
      return FALSE;
  return TRUE;
}

/* The parameters at @params_index bind for the body that follows them. */
static gboolean
walk_lambda (Walker      *w,
             RthunkNode  *form,
             guint        params_index,
             GError     **error)
{
  RthunkNode *params = rthunk_node_get_item (form, params_index);
  guint n_params = rthunk_node_get_n_items (params);
  guint mark = w->locals->len;
  gboolean ok;

  put_u8 (w, TAG_LAMBDA);
  put_u32 (w, n_params);
  for (guint k = 0; k < n_params; k++)
    push_local (w, rthunk_node_get_item (params, k));
  ok = walk_body (w, form, params_index + 1, error);
  g_ptr_array_set_size (w->locals, mark);
  return ok;
}

static gboolean
walk_bindings (Walker      *w,
               Tag          tag,
               RthunkNode  *form,
               GError     **error)
{
  RthunkNode *pairs = rthunk_node_get_item (form, 1);
  guint n = rthunk_node_get_n_items (pairs);
  guint mark = w->locals->len;
  gboolean ok = TRUE;

  put_u8 (w, tag);
  put_u32 (w, n / 2);
  for (guint k = 0; ok && k < n; k += 2)
    {
      ok = walk (w, rthunk_node_get_item (pairs, k + 1), error);
      push_local (w, rthunk_node_get_item (pairs, k));
    }
  ok = ok && walk_body (w, form, 2, error);
  g_ptr_array_set_size (w->locals, mark);
  return ok;
}

static gboolean
walk_fn (Walker      *w,
         RthunkNode  *form,
         GError     **error)
{
  if (rthunk_node_get_n_items (form) < 2 || !is_param_vector (rthunk_node_get_item (form, 1)))
    return malformed (w, form, _("fn needs a vector of parameter names"), error);
  return walk_lambda (w, form, 1, error);
}

/* let and loop: a vector of name–value pairs, then a body. */
static gboolean
walk_let_or_loop (Walker      *w,
                  RthunkNode  *form,
                  GError     **error)
{
  gboolean loop = rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "loop");

  if (rthunk_node_get_n_items (form) < 2 || !is_binding_vector (rthunk_node_get_item (form, 1)))
    return malformed (w, form,
                      loop ? _("loop needs a vector of name–value pairs")
                           : _("let needs a vector of name–value pairs"),
                      error);
  return walk_bindings (w, loop ? TAG_LOOP : TAG_LET, form, error);
}

static gboolean
walk_nested_definition (Walker      *w,
                        RthunkNode  *form,
                        GError     **error)
{
  g_autofree char *message =
    g_strdup_printf (_("“%s” is only allowed at the top level"),
                     rthunk_node_get_text (rthunk_node_get_item (form, 0)));

  return malformed (w, form, message, error);
}

/* The special forms rthunk-check.c binds names in, and those that bind
 * nothing but whose head is a name whatever is bound; the split forms
 * hash as calls. */
static const WalkFunc form_walks[RTHUNK_N_FORMS] = {
  [RTHUNK_FORM_FN] = walk_fn,
  [RTHUNK_FORM_LET] = walk_let_or_loop,
  [RTHUNK_FORM_LOOP] = walk_let_or_loop,
  [RTHUNK_FORM_DEF] = walk_nested_definition,
  [RTHUNK_FORM_DEFN] = walk_nested_definition,
  [RTHUNK_FORM_IF] = walk_special_call,
  [RTHUNK_FORM_DO] = walk_special_call,
  [RTHUNK_FORM_AND] = walk_special_call,
  [RTHUNK_FORM_OR] = walk_special_call,
  [RTHUNK_FORM_RECUR] = walk_special_call,
  [RTHUNK_FORM_REMOTE] = walk_special_call,
  [RTHUNK_FORM_AWAIT] = walk_special_call,
  [RTHUNK_FORM_AUTO] = walk_special_call,
  [RTHUNK_FORM_RECORD] = walk_special_call,
  [RTHUNK_FORM_GET] = walk_special_call,
  [RTHUNK_FORM_ASSOC] = walk_special_call,
};

/* How to walk the special form @head names, or NULL for a call. */
static WalkFunc
lookup_form (RthunkNode *head)
{
  RthunkForm form;

  return rthunk_form_lookup (head, &form) ? form_walks[form] : NULL;
}

static gboolean
walk_list (Walker      *w,
           RthunkNode  *form,
           GError     **error)
{
  WalkFunc special = NULL;

  if (rthunk_node_get_n_items (form) > 0)
    special = lookup_form (rthunk_node_get_item (form, 0));
  if (special != NULL)
    return special (w, form, error);
  put_u8 (w, TAG_LIST);                 /* a call */
  return walk_body (w, form, 0, error);
}

/* Walks a list or vector one level deeper, within RTHUNK_NODE_MAX_DEPTH. */
static gboolean
walk_nested (Walker      *w,
             RthunkNode  *node,
             WalkFunc     func,
             GError     **error)
{
  gboolean ok;

  if (w->depth >= RTHUNK_NODE_MAX_DEPTH)
    {
      if (w->lenient)
        return TRUE;
      rthunk_set_node_error (error, node, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("forms nest deeper than %u levels"), RTHUNK_NODE_MAX_DEPTH);
      return FALSE;
    }
  w->depth++;
  ok = func (w, node, error);
  w->depth--;
  return ok;
}

static gboolean
walk (Walker      *w,
      RthunkNode  *node,
      GError     **error)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_LIST:   return walk_nested (w, node, walk_list, error);
    case RTHUNK_NODE_VECTOR: return walk_nested (w, node, walk_vector, error);
    case RTHUNK_NODE_INT:
    case RTHUNK_NODE_FLOAT:
    case RTHUNK_NODE_STR:
    case RTHUNK_NODE_BOOL:
    case RTHUNK_NODE_NIL:
    case RTHUNK_NODE_SYMBOL:
    case RTHUNK_NODE_KEYWORD:
    default:
      walk_atom (w, node);
      return TRUE;
    }
}

/* ---- definitions -------------------------------------------------------- */

/* Whether @form is (defn NAME [PARAMS] …) or (fn [PARAMS] …), and where
 * its parameters are. */
static gboolean
is_definition (RthunkNode *form,
               guint      *params_index)
{
  guint n;
  RthunkNode *head;

  if (rthunk_node_get_kind (form) != RTHUNK_NODE_LIST ||
      (n = rthunk_node_get_n_items (form)) < 2)
    return FALSE;
  head = rthunk_node_get_item (form, 0);
  if (rthunk_node_is_symbol (head, "fn"))
    *params_index = 1;
  else if (rthunk_node_is_symbol (head, "defn") && n >= 3 &&
           rthunk_node_get_kind (rthunk_node_get_item (form, 1)) == RTHUNK_NODE_SYMBOL)
    *params_index = 2;
  else
    return FALSE;
  return is_param_vector (rthunk_node_get_item (form, *params_index));
}

static gboolean
walk_definition (Walker      *w,
                 RthunkNode  *form,
                 guint        params_index,
                 GError     **error)
{
  if (params_index == 2)
    w->self = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  w->depth = 1;
  return walk_lambda (w, form, params_index, error);
}

/* What collecting walks of a form that is not a definition: an expression,
 * or the value of a top-level def. */
static void
walk_top_level (Walker     *w,
                RthunkNode *form)
{
  guint params_index;
  gboolean ok;

  if (is_definition (form, &params_index))
    ok = walk_definition (w, form, params_index, NULL);
  else if (rthunk_node_get_kind (form) == RTHUNK_NODE_LIST &&
           rthunk_node_get_n_items (form) == 3 &&
           rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "def"))
    ok = walk (w, rthunk_node_get_item (form, 2), NULL);
  else
    ok = walk (w, form, NULL);
  g_assert (ok);    /* a lenient walk does not fail */
}

/* ---- public API --------------------------------------------------------- */

/**
 * rthunk_hash_encode_definition:
 * @form: a definition: `(defn NAME [PARAMS] BODY…)` or `(fn [PARAMS] BODY…)`
 * @resolve: (scope call) (closure user_data) (nullable): tells which free
 *   names are other user definitions, and their addresses; %NULL if none are
 * @user_data: data for @resolve
 * @error: return location for a #GError
 *
 * Encodes @form canonically: local names become indices, the function's own
 * name a SELF marker, the names of other user definitions their addresses;
 * positions are left out. The format is documented at the top of
 * `rthunk-hash.c`.
 *
 * A @form that is not a definition is an %RTHUNK_ERROR_INVALID_REQUEST
 * error; a malformed fn, let or loop inside it, or a def or defn not at the
 * top level, an %RTHUNK_ERROR_SYNTAX error; nesting deeper than
 * %RTHUNK_NODE_MAX_DEPTH an %RTHUNK_ERROR_LIMIT_EXCEEDED error.
 *
 * Returns: (transfer full) (nullable): the canonical bytes, or %NULL with
 *   @error set
 *
 * Since: 0.1
 */
GBytes *
rthunk_hash_encode_definition (RthunkNode          *form,
                               RthunkHashResolver   resolve,
                               gpointer             user_data,
                               GError             **error)
{
  g_autoptr(GByteArray) out = NULL;
  guint params_index;
  Walker w;
  gboolean ok;

  g_return_val_if_fail (form != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!is_definition (form, &params_index))
    {
      rthunk_set_node_error (error, form, RTHUNK_ERROR_INVALID_REQUEST,
                             _("not a definition: expected (defn NAME [PARAMS] BODY…) or (fn [PARAMS] BODY…)"));
      return NULL;
    }
  out = g_byte_array_new ();
  walker_init (&w, resolve, user_data, out, FALSE);
  put_bytes (&w, encoding_magic, sizeof encoding_magic);
  ok = walk_definition (&w, form, params_index, error);
  walker_clear (&w);
  if (!ok)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/**
 * rthunk_hash_definition:
 * @form: a definition: `(defn NAME [PARAMS] BODY…)` or `(fn [PARAMS] BODY…)`
 * @resolve: (scope call) (closure user_data) (nullable): tells which free
 *   names are other user definitions, and their addresses; %NULL if none are
 * @user_data: data for @resolve
 * @hash: (out caller-allocates) (array fixed-size=32): where to store the
 *   content address
 * @error: return location for a #GError
 *
 * Computes the content address of @form: the SHA-256 of
 * rthunk_hash_encode_definition(). Renaming the function, a parameter or a
 * local does not change it, nor does layout; changing the body does, and
 * so does changing a definition that @form uses.
 *
 * Returns: %TRUE if @hash was filled, %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_hash_definition (RthunkNode          *form,
                        RthunkHashResolver   resolve,
                        gpointer             user_data,
                        guint8               hash[RTHUNK_HASH_LEN],
                        GError             **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  gsize length = RTHUNK_HASH_LEN;

  g_return_val_if_fail (form != NULL, FALSE);
  g_return_val_if_fail (hash != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  bytes = rthunk_hash_encode_definition (form, resolve, user_data, error);
  if (bytes == NULL)
    return FALSE;
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_checksum_get_digest (checksum, hash, &length);
  g_assert (length == RTHUNK_HASH_LEN);
  return TRUE;
}

/**
 * rthunk_hash_to_hex:
 * @hash: (array fixed-size=32): a content address
 *
 * Formats @hash as 64 lowercase hexadecimal digits, the way addresses are
 * shown to people and written in logs.
 *
 * Returns: (transfer full): the hexadecimal text
 *
 * Since: 0.1
 */
char *
rthunk_hash_to_hex (const guint8 hash[RTHUNK_HASH_LEN])
{
  static const char digits[] = "0123456789abcdef";
  char *hex;

  g_return_val_if_fail (hash != NULL, NULL);

  hex = g_new (char, 2 * RTHUNK_HASH_LEN + 1);
  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    {
      hex[2 * k] = digits[hash[k] >> 4];
      hex[2 * k + 1] = digits[hash[k] & 0x0f];
    }
  hex[2 * RTHUNK_HASH_LEN] = '\0';
  return hex;
}

/**
 * rthunk_hash_collect_references:
 * @form: a definition, or any other form (e.g. the body of a `remote`)
 * @resolve: (scope call) (closure user_data) (nullable): tells which free
 *   names are user definitions; %NULL if none are
 * @user_data: data for @resolve
 *
 * Lists the user definitions @form uses: the free names for which @resolve
 * returns %TRUE, each once, in the order they first occur. Local names
 * that shadow a definition and a defn's recursive use of itself are not
 * references; for a top-level `(def NAME VALUE)` only VALUE is looked at.
 * These are the definitions whose addresses go into the address of @form,
 * and that a request must be able to ship.
 *
 * It does not fail: a malformed binding form is searched as if it were a
 * call, and nothing deeper than %RTHUNK_NODE_MAX_DEPTH is searched.
 *
 * Returns: (transfer container) (element-type utf8): the names
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_hash_collect_references (RthunkNode          *form,
                                RthunkHashResolver   resolve,
                                gpointer             user_data)
{
  g_autoptr(GPtrArray) refs = NULL;
  Walker w;

  g_return_val_if_fail (form != NULL, NULL);

  walker_init (&w, resolve, user_data, NULL, TRUE);
  walk_top_level (&w, form);
  refs = g_steal_pointer (&w.refs);
  walker_clear (&w);
  return g_steal_pointer (&refs);
}
