/* rthunk-client-request.c — what a client submits: EvalRequests
 *
 * An expression is checked against the server's catalog and written as
 * the fields of an EvalRequest: its typed Ast, its inputs (a pending value
 * of a server that can fetch it travels as a reference to its thunk) and
 * the content addresses of the user definitions it calls, which are sent
 * when the server lacks them. The last request whose inputs were all
 * thunks, ints or floats is kept, prepared, for the next of its tree.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-client.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireMissingDefinitions, g_object_unref)

/* ---- inputs: values, and thunks by reference ---------------------------- */

/* The thunk on another server that @value stands for, when @self's server
 * fetches from that one and its type is known. */
static RemoteHandle *
fetchable_remote_handle (RthunkClient *self,
                         RthunkValue  *value)
{
  RemoteHandle *handle = rthunk_client_remote_handle (value);

  return handle != NULL && handle->client != self && handle->type != NULL &&
         rthunk_client_fetches_from (self, handle->client->address)
    ? handle : NULL;
}

/* A Binding of @name to @value; for an int or a float, where its eight
 * bytes went in *@scalar_at (0 for any other value). */
static gboolean
put_binding (GByteArray   *out,
             const char   *name,
             RthunkValue  *value,
             guint        *scalar_at,
             GError      **error)
{
  RthunkValueKind kind = rthunk_value_get_kind (value);

  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (out, name);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 2);
  if (!rthunk_codec_put_value (out, value, G_MAXSIZE, error))
    return FALSE;
  *scalar_at = kind == RTHUNK_VALUE_INT || kind == RTHUNK_VALUE_FLOAT
    ? out->len - RTHUNK_CODEC_SCALAR_VALUE_TAIL - 8 : 0;
  rthunk_codec_put_stop (out);
  return TRUE;
}

/* An input that is still being computed on this server travels as a
 * reference to its thunk (promise pipelining): nothing waits for it. The
 * Binding's value is one THUNK node. */
static guint
put_thunk_binding (GByteArray   *out,
                   const char   *name,
                   RemoteHandle *handle,
                   gboolean      foreign)
{
  guint at;

  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_string (out, name);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 2);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 1);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 1);
  rthunk_codec_put_i32 (out, RTHUNK_WIRE_VALUE_KIND_THUNK);
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 7);
  at = out->len + 4;
  rthunk_codec_put_binary (out, handle->id, handle->id_len);
  /* another server holds it: name that one, and say what type it has */
  if (foreign)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 8);
      rthunk_codec_put_string (out, handle->client->address);
    }
  rthunk_codec_put_stop (out);          /* the ValueNode */
  rthunk_codec_put_stop (out);          /* the Value */
  if (foreign)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 3);
      rthunk_codec_put_type (out, handle->type);
    }
  rthunk_codec_put_stop (out);
  return at;                    /* where the thunk's id went */
}

/* ---- content-addressed definitions -------------------------------------- */

/* An address a hasher found. */
typedef struct
{
  char *name;
  guint8 hash[RTHUNK_HASH_LEN];
} DefHashed;

/* Past this many addresses a hasher looks names up in a table. */
#define DEF_HASHED_SCANNED 16

static void
def_hashed_clear (gpointer data)
{
  g_free (((DefHashed *) data)->name);
}

/* A hasher of @forms (which may be NULL: no user function). Until a
 * definition is hashed nothing is allocated: most forms call none. */
void
rthunk_client_def_hasher_init (DefHasher  *h,
                               GHashTable *forms)
{
  gboolean some = forms != NULL && g_hash_table_size (forms) > 0;

  *h = (DefHasher) { .forms = some ? forms : NULL };
}

void
rthunk_client_def_hasher_clear (DefHasher *h)
{
  g_clear_pointer (&h->hashes, g_array_unref);
  g_clear_pointer (&h->index, g_hash_table_unref);
  g_clear_pointer (&h->visiting, g_ptr_array_unref);
  g_clear_error (&h->error);
}

/* The address @h found for the definition @name, or %NULL; valid until
 * it finds another. */
const guint8 *
rthunk_client_def_hasher_address (DefHasher  *h,
                                  const char *name)
{
  gpointer at;

  if (h->hashes == NULL)
    return NULL;
  if (h->index != NULL)
    return g_hash_table_lookup_extended (h->index, name, NULL, &at)
             ? g_array_index (h->hashes, DefHashed, GPOINTER_TO_UINT (at)).hash : NULL;
  for (guint k = 0; k < h->hashes->len; k++)
    if (strcmp (g_array_index (h->hashes, DefHashed, k).name, name) == 0)
      return g_array_index (h->hashes, DefHashed, k).hash;
  return NULL;
}

static void
def_hasher_add (DefHasher    *h,
                const char   *name,
                const guint8  hash[RTHUNK_HASH_LEN])
{
  DefHashed hashed = { g_strdup (name), };

  memcpy (hashed.hash, hash, RTHUNK_HASH_LEN);
  if (h->hashes == NULL)
    {
      h->hashes = g_array_new (FALSE, FALSE, sizeof (DefHashed));
      g_array_set_clear_func (h->hashes, def_hashed_clear);
    }
  g_array_append_val (h->hashes, hashed);
  if (h->index == NULL && h->hashes->len > DEF_HASHED_SCANNED)
    {
      h->index = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint k = 0; k + 1 < h->hashes->len; k++)
        g_hash_table_insert (h->index, g_array_index (h->hashes, DefHashed, k).name, GUINT_TO_POINTER (k));
    }
  if (h->index != NULL)
    g_hash_table_insert (h->index, g_array_index (h->hashes, DefHashed, h->hashes->len - 1).name,
                         GUINT_TO_POINTER (h->hashes->len - 1));
}

/* Whether @name is being hashed (a use of it now is a mutual recursion). */
static gboolean
is_visiting (DefHasher  *h,
             const char *name)
{
  for (guint k = 0; h->visiting != NULL && k < h->visiting->len; k++)
    if (strcmp (g_ptr_array_index (h->visiting, k), name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean hash_named (DefHasher *h, const char *name);

static gboolean
resolve_definition (const char *name,
                    guint8      hash[RTHUNK_HASH_LEN],
                    gpointer    user_data)
{
  DefHasher *h = user_data;

  if (h->resolved != NULL)
    rthunk_client_def_uses_add (h->resolved, name, h->forms != NULL ? g_hash_table_lookup (h->forms, name) : NULL);
  if (h->forms == NULL || !g_hash_table_contains (h->forms, name) || !hash_named (h, name))
    return FALSE;
  memcpy (hash, rthunk_client_def_hasher_address (h, name), RTHUNK_HASH_LEN);
  return TRUE;
}

/* Whether the address remembered for @form still holds: each name it
 * used resolves to the same form as then, and those forms' addresses
 * hold (hash_named() checks them the same way). */
static gboolean
remembered_address (DefHasher  *h,
                    RthunkNode *form,
                    guint8      hash[RTHUNK_HASH_LEN])
{
  g_autoptr(GArray) uses = NULL;

  if (!rthunk_client_def_address_lookup (form, hash, &uses))
    return FALSE;
  for (guint k = 0; k < uses->len; k++)
    {
      RthunkDefUse *use = &g_array_index (uses, RthunkDefUse, k);

      if (g_hash_table_lookup (h->forms, use->name) != use->form ||
          (use->form != NULL && !hash_named (h, use->name)))
        return FALSE;
    }
  return TRUE;
}

/* The address of the definition @form, hashed, and remembered with how
 * its names resolved. */
static gboolean
hash_form (DefHasher  *h,
           RthunkNode *form,
           guint8      hash[RTHUNK_HASH_LEN])
{
  g_autoptr(GArray) resolved = rthunk_client_def_uses_new ();
  GArray *outer = h->resolved;
  gboolean ok;

  h->resolved = resolved;
  ok = rthunk_hash_definition (form, resolve_definition, h, hash, h->error == NULL ? &h->error : NULL);
  h->resolved = outer;
  if (ok && h->error == NULL)
    rthunk_client_def_address_store (form, hash, resolved);
  return ok;
}

static gboolean
hash_named (DefHasher  *h,
            const char *name)
{
  guint8 hash[RTHUNK_HASH_LEN];
  RthunkNode *form;
  gboolean ok;

  if (rthunk_client_def_hasher_address (h, name) != NULL)
    return TRUE;
  if (h->error != NULL)
    return FALSE;
  if (is_visiting (h, name))
    {
      g_set_error (&h->error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("“%s” is part of a mutual recursion: such definitions cannot be sent to a server"),
                   name);
      return FALSE;
    }
  form = g_hash_table_lookup (h->forms, name);
  if (h->visiting == NULL)
    h->visiting = g_ptr_array_new ();
  g_ptr_array_add (h->visiting, (gpointer) name);
  ok = remembered_address (h, form, hash) || (h->error == NULL && hash_form (h, form, hash));
  g_ptr_array_remove_index (h->visiting, h->visiting->len - 1);
  if (!ok || h->error != NULL)
    return FALSE;
  def_hasher_add (h, name, hash);
  return TRUE;
}

/* Whether a symbol of @node, at any depth, is the name of one of @forms:
 * without one, @node uses no definition (most remote forms of a session
 * that has some), and nothing needs walking with the hasher. */
static gboolean
mentions_definition (RthunkNode *node,
                     GHashTable *forms,
                     guint       depth)
{
  switch (rthunk_node_get_kind (node))
    {
    case RTHUNK_NODE_SYMBOL:
      return g_hash_table_contains (forms, rthunk_node_get_text (node));
    case RTHUNK_NODE_LIST:
    case RTHUNK_NODE_VECTOR:
      if (depth >= RTHUNK_NODE_MAX_DEPTH)
        return TRUE;            /* the hasher's walk decides */
      for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
        if (mentions_definition (rthunk_node_get_item (node, k), forms, depth + 1))
          return TRUE;
      return FALSE;
    default:
      return FALSE;
    }
}

/* The names of the definitions the defn @name uses: those its address
 * was found with, when it was remembered (hash_named() has checked that
 * each still resolves to the same form), else a walk of its form. */
static GPtrArray *
definition_uses (DefHasher  *h,
                 const char *name)
{
  RthunkNode *form = g_hash_table_lookup (h->forms, name);
  guint8 hash[RTHUNK_HASH_LEN];
  g_autoptr(GArray) resolved = NULL;
  GPtrArray *uses;

  if (!hash_named (h, name) || !rthunk_client_def_address_lookup (form, hash, &resolved) ||
      memcmp (hash, rthunk_client_def_hasher_address (h, name), RTHUNK_HASH_LEN) != 0)
    return rthunk_hash_collect_references (form, resolve_definition, h);
  uses = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < resolved->len; k++)
    {
      RthunkDefUse *use = &g_array_index (resolved, RthunkDefUse, k);

      if (use->form != NULL)
        g_ptr_array_add (uses, g_strdup (use->name));
    }
  return uses;
}

/* A definition whose uses the closure is going through. */
typedef struct
{
  char *name;                   /* NULL for the expression itself */
  GPtrArray *uses;
  guint next;                   /* the next of @uses to go into */
} ClosureStep;

static void
closure_step_clear (gpointer data)
{
  ClosureStep *step = data;

  g_free (step->name);
  g_ptr_array_unref (step->uses);
}

/* The closure of an expression that calls no user function: one empty
 * array, read only, shared by all of them (most remote forms; an awaited
 * form allocated and freed one of its own). */
GPtrArray *
rthunk_client_no_closure (void)
{
  static GPtrArray *empty;

  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, g_ptr_array_new_with_free_func (g_free));
  return empty;
}

/* The names of every definition @expr uses, transitively, each once, in an
 * order where a definition comes after those it uses (a server checks
 * each with those before it): each after all of its own, depth first. The
 * caller reads it and unrefs it; it may be rthunk_client_no_closure(). */
GPtrArray *
rthunk_client_definition_closure (DefHasher   *h,
                                  RthunkNode  *expr,
                                  GError     **error)
{
  g_autoptr(GPtrArray) order = NULL;
  g_autoptr(GArray) path = NULL;
  g_autoptr(GHashTable) seen = NULL;
  ClosureStep root;

  /* no definitions, or none named: nothing to look for */
  if (h->forms == NULL || !mentions_definition (expr, h->forms, 0))
    return g_ptr_array_ref (rthunk_client_no_closure ());
  order = g_ptr_array_new_with_free_func (g_free);
  root = (ClosureStep) { NULL, rthunk_hash_collect_references (expr, resolve_definition, h), 0 };
  path = g_array_new (FALSE, FALSE, sizeof (ClosureStep));
  g_array_set_clear_func (path, closure_step_clear);
  g_array_append_val (path, root);
  /* its names are the steps' (freed after it: path, then order) */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  while (h->error == NULL && path->len > 0)
    {
      ClosureStep *top = &g_array_index (path, ClosureStep, path->len - 1);
      const char *use;
      ClosureStep next;

      if (top->next == top->uses->len)
        {
          /* all it uses are in order: it comes next */
          if (top->name != NULL)
            g_ptr_array_add (order, g_steal_pointer (&top->name));
          g_array_set_size (path, path->len - 1);
          continue;
        }
      use = g_ptr_array_index (top->uses, top->next++);
      if (g_hash_table_contains (seen, use))
        continue;
      next = (ClosureStep) { g_strdup (use), definition_uses (h, use), 0 };
      g_hash_table_add (seen, next.name);
      g_array_append_val (path, next);
    }
  if (h->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&h->error));
      return NULL;
    }
  return g_steal_pointer (&order);
}

static RthunkWireDefRef *
def_ref (DefHasher  *h,
         const char *name)
{
  RthunkWireDefRef *ref = g_object_new (RTHUNK_WIRE_TYPE_DEF_REF, "name", name, NULL);

  rthunk_wire_set_bytes (&ref->hash, rthunk_client_def_hasher_address (h, name), RTHUNK_HASH_LEN);
  return ref;
}

/* The Definition message for @name: its form and the names it uses. */
static RthunkWireDefinition *
wire_definition (DefHasher  *h,
                 const char *name)
{
  RthunkNode *form = g_hash_table_lookup (h->forms, name);
  RthunkWireDefinition *def = g_object_new (RTHUNK_WIRE_TYPE_DEFINITION, NULL);
  g_autoptr(GPtrArray) uses = rthunk_hash_collect_references (form, resolve_definition, h);

  rthunk_wire_set_bytes (&def->hash, rthunk_client_def_hasher_address (h, name), RTHUNK_HASH_LEN);
  rthunk_wire_fill_ast (def->form, form, NULL);
  for (guint k = 0; k < uses->len; k++)
    g_ptr_array_add (def->uses, def_ref (h, g_ptr_array_index (uses, k)));
  return def;
}

/* putDefinitions of @defs on @conn, counted in definitions_sent; how many
 * the server did not have yet in *@added. */
static gboolean
put_definitions (RthunkClient  *self,
                 RthunkConn    *conn,
                 GPtrArray     *defs,
                 gint32        *added,
                 GError       **error)
{
  g_autoptr(RthunkWireAuth) auth = rthunk_client_new_auth (self);
  RthunkCallFault fault = { NULL, };

  if (!rthunk_wire_remote_execution_service_if_put_definitions (conn->stub, added, defs, auth,
                                                                &fault.invalid, &fault.denied, &fault.error))
    return rthunk_client_call_fault_raise (self, conn, &fault, error);
  g_mutex_lock (&self->lock);
  self->definitions_sent += defs->len;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Sends the definitions the server said it lacks (with those of the
 * closure that come before them, in order). */
static gboolean
put_missing (RthunkClient                 *self,
             RthunkConn                   *conn,
             DefHasher                    *h,
             GPtrArray                    *closure,
             RthunkWireMissingDefinitions *missing,
             GError                      **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  gint32 added = 0;

  for (guint k = 0; k < closure->len; k++)
    {
      const char *name = g_ptr_array_index (closure, k);
      const guint8 *hash = rthunk_client_def_hasher_address (h, name);

      for (guint m = 0; m < missing->hashes->len; m++)
        {
          GByteArray *wanted = g_ptr_array_index (missing->hashes, m);

          if (wanted != NULL && wanted->len == RTHUNK_HASH_LEN &&
              memcmp (wanted->data, hash, RTHUNK_HASH_LEN) == 0)
            {
              g_ptr_array_add (defs, wire_definition (h, name));
              break;
            }
        }
    }
  if (defs->len == 0)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                        _("server %s asked for definitions this client never named"),
                        self->address), FALSE;
  return put_definitions (self, conn, defs, &added, error);
}

/* ---- requests ------------------------------------------------------------ */

/* An input as the checker sees it: its name and type. */
typedef struct
{
  const char *name;
  RthunkType *type;
} Bound;

static void
bound_clear (Bound *bound)
{
  rthunk_type_unref (bound->type);
}

static void
bound_add (GArray     *bound,
           const char *name,
           RthunkType *type)
{
  Bound b = { name, rthunk_type_ref (type) };

  g_array_append_val (bound, b);
}

/* An input of a prepared request: a thunk of this client's server (its
 * id at @at), or an int or a float value (its eight bytes, big-endian, at
 * @at); its name and its type. */
typedef struct
{
  char *name;
  RthunkType *type;
  guint at;
  RthunkValueKind scalar;       /* INT or FLOAT; PENDING: a thunk */
} PreparedInput;

static void
prepared_input_clear (gpointer data)
{
  PreparedInput *input = data;

  g_free (input->name);
  g_clear_pointer (&input->type, rthunk_type_unref);
}

/* The last request whose inputs were all thunks of this client's server
 * (a chain's link, a map's call of a pending value) or ints and floats (a
 * loop's counter): another one of the same tree, with inputs of the same
 * kinds and types, is the same bytes but for those thunks' ids and those
 * numbers — no check, no key, no memo lookup. */
typedef struct _Prepared
{
  RthunkNode *expr;
  RthunkCatalog *catalog;
  RthunkType *type;
  GByteArray *fields;           /* what rthunk_client_build_request() wrote */
  GArray *inputs;               /* PreparedInput, their ids in fields */
} Prepared;

void
rthunk_client_prepared_free (Prepared *prepared)
{
  rthunk_node_unref (prepared->expr);
  g_object_unref (prepared->catalog);
  rthunk_type_unref (prepared->type);
  g_byte_array_unref (prepared->fields);
  g_array_unref (prepared->inputs);
  g_free (prepared);
}

/* Writes @input's @value (a thunk's id, or a number) in place in @fields,
 * if it is of the input's kind and type. */
static gboolean
patch_prepared_input (RthunkClient        *self,
                      const PreparedInput *input,
                      RthunkValue         *value,
                      guint8              *fields)
{
  RemoteHandle *handle;
  guint64 be;
  double f;

  if (value == NULL)
    return FALSE;
  if (input->scalar == RTHUNK_VALUE_PENDING)
    {
      handle = rthunk_client_own_remote_handle (self, value);
      if (handle == NULL || handle->type != input->type || handle->id_len != RTHUNK_CLIENT_ID_LEN)
        return FALSE;
      memcpy (fields + input->at, handle->id, RTHUNK_CLIENT_ID_LEN);
      return TRUE;
    }
  if (rthunk_value_get_kind (value) != input->scalar)
    return FALSE;
  if (input->scalar == RTHUNK_VALUE_INT)
    be = GUINT64_TO_BE ((guint64) rthunk_value_get_int (value));
  else
    {
      f = rthunk_value_get_float (value);
      memcpy (&be, &f, sizeof be);
      be = GUINT64_TO_BE (be);
    }
  memcpy (fields + input->at, &be, sizeof be);
  return TRUE;
}

/* Writes the prepared request's fields for @expr with @inputs to @out, if
 * it is one: the same tree and catalog, and inputs of the same names,
 * kinds and types. */
static gboolean
prepared_request (RthunkClient   *self,
                  RthunkCatalog  *catalog,
                  RthunkNode     *expr,
                  GHashTable     *inputs,
                  GByteArray     *out,
                  RthunkType    **type)
{
  Prepared *p;
  guint start = out->len;
  gboolean ok;

  g_mutex_lock (&self->lock);
  p = self->prepared;
  ok = p != NULL && p->expr == expr && p->catalog == catalog && inputs != NULL &&
       g_hash_table_size (inputs) == p->inputs->len;
  if (ok)
    g_byte_array_append (out, p->fields->data, p->fields->len);
  for (guint k = 0; ok && k < p->inputs->len; k++)
    {
      const PreparedInput *input = &g_array_index (p->inputs, PreparedInput, k);

      ok = patch_prepared_input (self, input, g_hash_table_lookup (inputs, input->name), out->data + start);
    }
  if (ok)
    *type = rthunk_type_ref (p->type);
  else
    g_byte_array_set_size (out, start);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Keeps the request @fields (@len bytes) of @expr as the prepared one;
 * @inputs (PreparedInput, taken) says where its thunks' ids and its
 * numbers are. */
static void
prepare_request (RthunkClient  *self,
                 RthunkNode    *expr,
                 RthunkCatalog *catalog,
                 RthunkType    *type,
                 const guint8  *fields,
                 guint          len,
                 GArray        *inputs)
{
  Prepared *p = g_new0 (Prepared, 1);

  p->expr = rthunk_node_ref (expr);
  p->catalog = g_object_ref (catalog);
  p->type = rthunk_type_ref (type);
  p->fields = g_byte_array_sized_new (len);
  g_byte_array_append (p->fields, fields, len);
  p->inputs = inputs;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->prepared, rthunk_client_prepared_free);
  self->prepared = p;
  g_mutex_unlock (&self->lock);
}

/* Writes the Binding of each input to @bindings, its type to @bound and
 * its "NAME=TYPE" to @input_types, one for each Binding; and, for each
 * thunk of this client's server and each int or float, where its id or
 * its number went in @prepared (PreparedInput). */
static gboolean
bind_inputs (RthunkClient   *self,
             GHashTable     *inputs,
             GByteArray     *bindings,
             GArray         *bound,
             GPtrArray      *input_types,
             GArray         *prepared,
             GError        **error)
{
  GHashTableIter iter;
  gpointer name, value;
  guint next_var = 0;
  guint scalar_at;

  if (inputs == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, inputs);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      RemoteHandle *handle = rthunk_client_own_remote_handle (self, value);
      RemoteHandle *foreign = handle == NULL ? fetchable_remote_handle (self, value) : NULL;
      g_autoptr(RthunkValue) forced = NULL;
      g_autoptr(RthunkType) input_type = NULL;

      if ((handle != NULL && handle->type != NULL) || foreign != NULL)
        {
          PreparedInput thunk = { g_strdup (name), rthunk_type_ref (handle != NULL ? handle->type : foreign->type), 0,
                                  RTHUNK_VALUE_PENDING };

          thunk.at = put_thunk_binding (bindings, name, handle != NULL ? handle : foreign, foreign != NULL);
          bound_add (bound, name, thunk.type);
          g_ptr_array_add (input_types, rthunk_client_typed_name (name, thunk.type));
          if (foreign == NULL && handle->id_len == RTHUNK_CLIENT_ID_LEN)
            g_array_append_val (prepared, thunk);
          else
            prepared_input_clear (&thunk);
          continue;
        }
      forced = rthunk_value_force (value, error);
      if (forced == NULL || (input_type = rthunk_type_of_value (forced, &next_var, error)) == NULL)
        return FALSE;
      bound_add (bound, name, input_type);
      if (!put_binding (bindings, name, forced, &scalar_at, error))
        return FALSE;
      g_ptr_array_add (input_types, rthunk_client_typed_name (name, input_type));
      if (scalar_at > 0)
        {
          PreparedInput number = { g_strdup (name), rthunk_type_ref (input_type), scalar_at,
                                   rthunk_value_get_kind (forced) };

          g_array_append_val (prepared, number);
        }
    }
  return TRUE;
}

/* Checks, with the inputs @bound, the definitions of @closure, then
 * @expr: its type, and its Ast with the type of every node. */
static GBytes *
check_expression (RthunkClient   *self,
                  RthunkCatalog  *catalog,
                  GArray         *bound,
                  DefHasher      *h,
                  GPtrArray      *closure,
                  RthunkNode     *expr,
                  RthunkType    **type,
                  GError        **error)
{
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (catalog);
  g_autoptr(GHashTable) node_types = NULL;
  GByteArray *ast;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  rthunk_checker_set_type_ask (checker, rthunk_client_ask_type, self);
  for (guint k = 0; k < bound->len; k++)
    {
      Bound *b = &g_array_index (bound, Bound, k);

      rthunk_checker_bind (checker, b->name, b->type);
    }
  for (guint k = 0; k < closure->len; k++)
    {
      const char *def_name = g_ptr_array_index (closure, k);
      g_autoptr(RthunkType) def_type = NULL;

      /* the type a definition has on the server: checked by a checker that
       * knows the definitions it uses */
      if ((def_type = rthunk_checker_check (checker, g_hash_table_lookup (h->forms, def_name), error)) == NULL)
        return NULL;
    }
  if ((*type = rthunk_checker_check_typed (checker, expr, &node_types, error)) == NULL)
    return NULL;
  ast = g_byte_array_new ();
  rthunk_codec_put_ast (ast, expr, node_types);
  return g_byte_array_free_to_bytes (ast);
}

/* The fields of an EvalRequest after its Ast, but its thunk id: the
 * @n_bindings Bindings in @bindings, a DefRef for each name of @closure,
 * and the options. Returns where in @out the Bindings begin. */
static guint
put_request_fields (GByteArray *out,
                    GByteArray *bindings,
                    guint       n_bindings,
                    DefHasher  *h,
                    GPtrArray  *closure,
                    gboolean    by_reference)
{
  guint at = 0;

  if (n_bindings > 0)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 2);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, n_bindings);
      at = out->len;
      g_byte_array_append (out, bindings->data, bindings->len);
    }
  if (closure->len > 0)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 3);
      rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, closure->len);
      for (guint k = 0; k < closure->len; k++)
        {
          const char *name = g_ptr_array_index (closure, k);

          rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
          rthunk_codec_put_string (out, name);
          rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 2);
          rthunk_codec_put_binary (out, rthunk_client_def_hasher_address (h, name), RTHUNK_HASH_LEN);
          rthunk_codec_put_stop (out);
        }
    }
  if (by_reference)
    {
      /* EvalOptions { 5: byReference = true } */
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 4);
      rthunk_codec_put_field (out, RTHUNK_CODEC_BOOL, 5);
      rthunk_codec_put_u8 (out, 1);
      rthunk_codec_put_stop (out);
    }
  return at;
}

/* The working arrays of one rthunk_client_build_request(): kept by each
 * thread from one request to the next (a burst of thunks would otherwise
 * allocate and free the five of them for every one), taken while in use
 * (forcing an input may build another request). */
typedef struct
{
  GByteArray *bindings;
  GArray *bound;                /* Bound */
  GPtrArray *input_types;       /* "NAME=TYPE" */
  GArray *prepared;             /* PreparedInput; NULL once a prepared request took it */
  GString *key;                 /* the memo's key */
} RequestScratch;

static void
request_scratch_free (RequestScratch *scratch)
{
  g_byte_array_unref (scratch->bindings);
  g_array_unref (scratch->bound);
  g_ptr_array_unref (scratch->input_types);
  g_clear_pointer (&scratch->prepared, g_array_unref);
  g_string_free (scratch->key, TRUE);
  g_free (scratch);
}

RTHUNK_THREAD_KEPT (request_scratch, request_scratch_free);

/* This thread's scratch, emptied; the caller gives it back with
 * request_scratch_put(). */
static RequestScratch *
request_scratch_take (void)
{
  RequestScratch *scratch = rthunk_thread_kept_take (&request_scratch);

  if (scratch == NULL)
    {
      scratch = g_new0 (RequestScratch, 1);
      scratch->bindings = g_byte_array_sized_new (128);
      scratch->bound = g_array_new (FALSE, FALSE, sizeof (Bound));
      g_array_set_clear_func (scratch->bound, (GDestroyNotify) bound_clear);
      scratch->input_types = g_ptr_array_new_with_free_func (g_free);
      scratch->key = g_string_sized_new (128);
    }
  if (scratch->prepared == NULL)
    {
      scratch->prepared = g_array_new (FALSE, FALSE, sizeof (PreparedInput));
      g_array_set_clear_func (scratch->prepared, prepared_input_clear);
    }
  return scratch;
}

/* Empties @scratch and keeps it for the thread's next request, unless a
 * request built meanwhile (forcing an input) kept its own. */
static void
request_scratch_put (RequestScratch *scratch)
{
  /* kept unless large inputs made it large */
  gboolean small = scratch->bindings->len <= 64 * 1024 && scratch->key->len <= 64 * 1024;

  g_byte_array_set_size (scratch->bindings, 0);
  g_array_set_size (scratch->bound, 0);
  g_ptr_array_set_size (scratch->input_types, 0);
  if (scratch->prepared != NULL)
    g_array_set_size (scratch->prepared, 0);
  if (!rthunk_thread_kept_give (&request_scratch, scratch, small))
    request_scratch_free (scratch);
}

/* A scratch taken for one request: given back when it goes out of scope. */
typedef RequestScratch RequestScratchLoan;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RequestScratchLoan, request_scratch_put)

/* Checks @expr against the server's catalog, with @inputs bound, and
 * writes the fields of its EvalRequest to @out, but the thunk id and the
 * end of the struct, which are the caller's. */
gboolean
rthunk_client_build_request (RthunkClient  *self,
                             RthunkCatalog *catalog,
                             RthunkNode    *expr,
                             GHashTable    *inputs,
                             DefHasher     *h,
                             GPtrArray     *closure,
                             gboolean       by_reference,
                             GByteArray    *out,
                             RthunkType   **out_type,
                             GError       **error)
{
  g_autoptr(RequestScratchLoan) scratch = NULL;
  g_autoptr(GBytes) ast = NULL;
  g_autoptr(RthunkType) type = NULL;
  const char *key = NULL;
  gboolean preparable = closure->len == 0 && !by_reference;
  guint start = out->len, at;

  if (preparable && prepared_request (self, catalog, expr, inputs, out, out_type))
    return TRUE;
  scratch = request_scratch_take ();
  if (!bind_inputs (self, inputs, scratch->bindings, scratch->bound, scratch->input_types, scratch->prepared, error))
    return FALSE;
  if (rthunk_client_checked_key (self, catalog, expr, scratch->input_types, h, closure, scratch->key))
    key = scratch->key->str;
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 1);
  if (key == NULL || !rthunk_client_checked_lookup (self, key, expr, catalog, out, &type))
    {
      if ((ast = check_expression (self, catalog, scratch->bound, h, closure, expr, &type, error)) == NULL)
        {
          g_byte_array_set_size (out, start);
          return FALSE;
        }
      g_byte_array_append (out, g_bytes_get_data (ast, NULL), g_bytes_get_size (ast));
      if (key != NULL)
        rthunk_client_checked_store (self, g_strdup (key), expr, catalog, ast, type);
    }
  at = put_request_fields (out, scratch->bindings, scratch->input_types->len, h, closure, by_reference);
  if (preparable && scratch->input_types->len > 0 && scratch->prepared->len == scratch->input_types->len)
    {
      /* the ids' places in the fields, not in the bindings */
      for (guint k = 0; k < scratch->prepared->len; k++)
        g_array_index (scratch->prepared, PreparedInput, k).at += at - start;
      prepare_request (self, expr, catalog, type, out->data + start, out->len - start,
                       g_steal_pointer (&scratch->prepared));
    }
  *out_type = g_steal_pointer (&type);
  return TRUE;
}

/* Sends the submitEvalRequest @message, sending the definitions the server
 * asks for, and moves the one report of its reply into the empty @report. */
static gboolean
submit_with_definitions (RthunkClient  *self,
                         RthunkConn    *conn,
                         GByteArray    *message,
                         DefHasher     *h,
                         GPtrArray     *closure,
                         ThunkReport   *report,
                         GError       **error)
{
  for (guint attempt = 0; attempt < 4; attempt++)
    {
      g_autoptr(RthunkWireMissingDefinitions) missing = NULL;

      if (rthunk_client_call_for_report (self, conn, message, &missing, report, error))
        return TRUE;
      if (missing == NULL || !put_missing (self, conn, h, closure, missing, error))
        return FALSE;
    }
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
               _("server %s kept asking for definitions"), self->address);
  return FALSE;
}

/* The value a submission answered: finished inline, or pending. */
static RthunkValue *
submitted_value (RthunkClient  *self,
                 ThunkReport   *report,
                 RthunkType    *type,
                 gboolean       by_reference,
                 GError       **error)
{
  /* the generated reader leaves a missing id NULL */
  if (report->id_len == 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL, _("server %s sent a malformed thunk id"),
                   self->address);
      return NULL;
    }
  /* a remote reference is one even when it finished at once; a value too
   * large for the reply is fetched in chunks when it is forced */
  if (report->state >= RTHUNK_WIRE_THUNK_STATE_DONE &&
      (!by_reference || report->state > RTHUNK_WIRE_THUNK_STATE_DONE) &&
      !rthunk_client_error_is_too_large (report->error))
    return rthunk_client_report_outcome (self, report, type, error);
  return rthunk_client_new_pending (self, report->id, report->id_len, type, by_reference);
}

RthunkValue *
rthunk_client_submit_run (RthunkClient  *self,
                          RthunkNode    *expr,
                          GHashTable    *inputs,
                          GHashTable    *definitions,
                          gboolean       by_reference,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(RthunkClientMessage) message = rthunk_client_message_begin (rthunk_client_reply_submit_eval.method);
  g_auto(ThunkReport) report = { FALSE, };   /* on the stack: a call allocates no report */
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GPtrArray) closure = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_auto(DefHasher) h = { NULL, };
  RthunkCall call;

  if ((catalog = rthunk_client_dup_catalog (self)) == NULL &&
      (!rthunk_client_connect_run (self, FALSE, cancellable, error) ||
       (catalog = rthunk_client_dup_catalog (self)) == NULL))
    return NULL;
  rthunk_client_def_hasher_init (&h, definitions);
  rthunk_codec_put_field (message, RTHUNK_CODEC_STRUCT, 1);
  if ((closure = rthunk_client_definition_closure (&h, expr, error)) == NULL ||
      !rthunk_client_build_request (self, catalog, expr, inputs, &h, closure, by_reference, message, &type, error))
    return NULL;
  rthunk_codec_put_stop (message);      /* the EvalRequest */
  rthunk_client_message_end (self, message, 2);
  /* what was queued goes first (rthunk_client_begin_call() settles it): this request
   * may name those thunks */
  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return NULL;
  if (!rthunk_call_end (&call, submit_with_definitions (self, call.conn, message, &h, closure, &report, error), error))
    return NULL;
  return submitted_value (self, &report, type, by_reference, error);
}

/**
 * rthunk_client_submit:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @error: return location for a #GError
 *
 * Same as rthunk_client_submit_full() with no definitions.
 *
 * Returns: (transfer full) (nullable): the value, possibly pending, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit (RthunkClient  *client,
                      RthunkNode    *expr,
                      GHashTable    *inputs,
                      GError       **error)
{
  return rthunk_client_submit_full (client, expr, inputs, NULL, error);
}

/**
 * rthunk_client_submit_full:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @definitions: (nullable) (element-type utf8 RthunkNode): the `defn` forms
 *   of the user functions @expr may call, by name
 * @error: return location for a #GError
 *
 * Type-checks @expr against the server's catalog, submits the typed AST and
 * returns at once: with the value when the server finished within its
 * inline budget, else with a pending value that forcing (or
 * rthunk_value_force()) waits for. The user functions @expr calls travel by
 * content address: the request names their hashes, and when the server
 * answers that it lacks some, they are sent with putDefinitions and the
 * request is made again.
 *
 * Returns: (transfer full) (nullable): the value, possibly pending, or
 *   %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit_full (RthunkClient  *client,
                           RthunkNode    *expr,
                           GHashTable    *inputs,
                           GHashTable    *definitions,
                           GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  return rthunk_client_submit_run (client, expr, inputs, definitions, FALSE, NULL, error);
}

/**
 * rthunk_client_submit_reference:
 * @client: a connected client
 * @expr: the expression to evaluate on the server
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   @expr reads, sent along with it
 * @definitions: (nullable) (element-type utf8 RthunkNode): the `defn` forms
 *   of the user functions @expr may call, by name
 * @error: return location for a #GError
 *
 * Like rthunk_client_submit_full(), but the result stays on the server
 * (`(remote :ref …)`): what comes back is a remote reference (see
 * rthunk_value_new_reference()), even when the server finished at once.
 * Sent to the same server in another expression it travels as a reference
 * to the thunk, and the value is used in place; rthunk_value_force()
 * fetches it.
 *
 * Returns: (transfer full) (nullable): a remote reference, or %NULL with
 *   @error set (also when the evaluation failed before the answer)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_client_submit_reference (RthunkClient  *client,
                                RthunkNode    *expr,
                                GHashTable    *inputs,
                                GHashTable    *definitions,
                                GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (expr != NULL, NULL);

  return rthunk_client_submit_run (client, expr, inputs, definitions, TRUE, NULL, error);
}

/**
 * rthunk_client_get_definitions_sent:
 * @client: a client
 *
 * Counts the definitions the client had to send because the server lacked
 * them.
 *
 * Returns: how many definitions this client has sent with putDefinitions
 *
 * Since: 0.1
 */
guint
rthunk_client_get_definitions_sent (RthunkClient *client)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), 0);

  locker = g_mutex_locker_new (&client->lock);
  return client->definitions_sent;
}

/* ---- putDefinitions ---------------------------------------------------- */

gint
rthunk_client_put_definitions_run (RthunkClient  *self,
                                   GHashTable    *definitions,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  g_autoptr(GPtrArray) defs = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(DefHasher) h = { NULL, };
  GHashTableIter iter;
  gpointer name;
  gint32 added = 0;
  RthunkCall call;
  gboolean ok;

  rthunk_client_def_hasher_init (&h, definitions);
  g_hash_table_iter_init (&iter, definitions);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      if (!hash_named (&h, name))
        {
          if (h.error != NULL)
            g_propagate_error (error, g_steal_pointer (&h.error));
          else
            g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                         _("“%s” is not a definition that can be sent"), (const char *) name);
          return -1;
        }
      g_ptr_array_add (defs, wire_definition (&h, name));
    }
  if (!rthunk_client_begin_call (self, &call, cancellable, error))
    return -1;
  ok = put_definitions (self, call.conn, defs, &added, error);
  if (!rthunk_call_end (&call, ok, error))
    return -1;
  return MAX (added, 0);
}

/**
 * rthunk_client_put_definitions:
 * @client: a client
 * @definitions: (element-type utf8 RthunkNode): `defn` forms by name; the
 *   definitions they use must be among them
 * @error: return location for a #GError
 *
 * Calls putDefinitions with every definition of @definitions, each under
 * its content address. Submissions send the definitions they need by
 * themselves; this is for sending them ahead.
 *
 * Returns: how many the server had not stored yet, or -1 with @error set
 *
 * Since: 0.1
 */
gint
rthunk_client_put_definitions (RthunkClient  *client,
                               GHashTable    *definitions,
                               GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), -1);
  g_return_val_if_fail (definitions != NULL, -1);

  return rthunk_client_put_definitions_run (client, definitions, NULL, error);
}
