/* rthunk-handler-defs.c — content-addressed definitions: accepted and resolved
 *
 * A definition arrives by putDefinitions under the hash of its form and of
 * what it uses; it is checked and stored. A request names definitions by
 * hash: they are found in the store, with what they use, and renamed so
 * that every name of a definition is its hash.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-def-store.h"
#include "rthunk-error.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-type.h"
#include "rthunk-wire.h"

/* The global name a definition has while a thunk runs: its hash. Names in
 * requests and stored forms are only aliases, renamed to these, so two
 * clients' names never meet. */
#define DEF_NAME_PREFIX "__def_"

char *
rthunk_handler_def_global_name (const guint8 *hash)
{
  static const char digits[] = "0123456789abcdef";
  char *name = g_malloc (sizeof DEF_NAME_PREFIX + 2 * RTHUNK_HASH_LEN);
  char *p = name + sizeof DEF_NAME_PREFIX - 1;

  /* DEF_NAME_PREFIX and the hash in hex, without printf: every request
   * that calls a defn names it (32 printf calls were 36k instructions) */
  memcpy (name, DEF_NAME_PREFIX, sizeof DEF_NAME_PREFIX - 1);
  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    {
      *p++ = digits[hash[k] >> 4];
      *p++ = digits[hash[k] & 0xf];
    }
  *p = '\0';
  return name;
}

/* @form with its own name and the names of its uses renamed to hashes. */
static RthunkNode *
rename_definition (RthunkDefinition *def,
                   RthunkNode       *form)
{
  g_autoptr(GHashTable) renames = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint k = 0; k < def->n_uses; k++)
    g_hash_table_replace (renames, def->uses[k].name, rthunk_handler_def_global_name (def->uses[k].hash));
  g_hash_table_replace (renames, (gpointer) rthunk_node_get_text (rthunk_node_get_item (form, 1)),
                        rthunk_handler_def_global_name (def->hash));
  return rthunk_node_rename_free (form, renames);
}

static gboolean
valid_hash (const GByteArray *hash)
{
  return hash != NULL && hash->len == RTHUNK_HASH_LEN;
}

static gboolean
valid_hash_bytes (GBytes *hash)
{
  return hash != NULL && g_bytes_get_size (hash) == RTHUNK_HASH_LEN;
}

/* Whether every catalog function @node names is pure (locals that shadow
 * a catalog name make it look impure: only caching is lost). */
gboolean
rthunk_handler_names_only_pure (RthunkCatalog *catalog,
                                RthunkNode    *node)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      RthunkFuncDef *def = rthunk_catalog_lookup (catalog, rthunk_node_get_text (node));

      return def == NULL || (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PURE) != 0;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    if (!rthunk_handler_names_only_pure (catalog, rthunk_node_get_item (node, k)))
      return FALSE;
  return TRUE;
}

typedef struct
{
  RthunkDefUse *uses;
  guint n_uses;
} UseResolver;

static gboolean
resolve_use (const char *name,
             guint8      hash[RTHUNK_HASH_LEN],
             gpointer    user_data)
{
  UseResolver *r = user_data;

  for (guint k = 0; k < r->n_uses; k++)
    if (strcmp (r->uses[k].name, name) == 0)
      {
        memcpy (hash, r->uses[k].hash, RTHUNK_HASH_LEN);
        return TRUE;
      }
  return FALSE;
}

static gboolean
read_uses (const GPtrArray   *wire_uses,
           RthunkDefinition  *def,
           GError           **error)
{
  guint n = wire_uses != NULL ? wire_uses->len : 0;

  def->uses = g_new0 (RthunkDefUse, MAX (n, 1));
  for (guint k = 0; k < n; k++)
    {
      RthunkWireDefRef *ref = g_ptr_array_index (wire_uses, k);

      if (!rthunk_handler_valid_name (ref->name) || !valid_hash (ref->hash))
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("a definition names a use without a valid name and 32-byte hash"));
          return FALSE;
        }
      def->uses[k].name = g_strdup (ref->name);
      memcpy (def->uses[k].hash, ref->hash->data, RTHUNK_HASH_LEN);
      def->n_uses++;
    }
  return TRUE;
}

/* Checks @def (its form and uses read, nothing else set): a defn whose
 * hash is @claimed, whose uses the store holds (or the store below it),
 * and which type-checks with them. With @record, also the bytes the
 * store below memory keeps for it (see rthunk_handler_definition_record()). */
gboolean
rthunk_handler_check_definition (RthunkServerState  *state,
                                 RthunkDefinition   *def,
                                 const guint8       *claimed,
                                 GBytes            **record,
                                 GError            **error)
{
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (state->catalog);
  g_autoptr(RthunkType) type = NULL;
  UseResolver resolver;
  guint8 hash[RTHUNK_HASH_LEN];
  RthunkNode *name;
  RthunkNode *renamed;

  rthunk_checker_set_remote_allowed (checker, FALSE);
  if (rthunk_node_get_kind (def->form) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (def->form) < 4 ||
      !rthunk_node_is_symbol (rthunk_node_get_item (def->form, 0), "defn"))
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("a definition must be a (defn NAME [params] body…) form")), FALSE;
  resolver.uses = def->uses;
  resolver.n_uses = def->n_uses;
  if (!rthunk_hash_definition (def->form, resolve_use, &resolver, hash, error))
    return FALSE;
  if (memcmp (hash, claimed, RTHUNK_HASH_LEN) != 0)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("the definition does not have the hash it claims")), FALSE;
  memcpy (def->hash, hash, RTHUNK_HASH_LEN);
  def->pure = rthunk_handler_names_only_pure (state->catalog, def->form);
  for (guint k = 0; k < def->n_uses; k++)
    {
      g_autoptr(RthunkDefinition) used = rthunk_handler_find_definition (state, def->uses[k].hash);

      if (used == NULL)
        return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
                            _("the definition uses “%s”, which the server does not hold: send it first"),
                            def->uses[k].name), FALSE;
      rthunk_checker_bind (checker, def->uses[k].name, used->type);
      def->pure = def->pure && used->pure;
    }
  if ((type = rthunk_checker_check (checker, def->form, error)) == NULL)
    return FALSE;
  name = rthunk_node_get_item (def->form, 1);
  def->type = rthunk_type_ref (rthunk_checker_lookup (checker, rthunk_node_get_text (name)));
  if (record != NULL)
    *record = rthunk_handler_definition_record (def);
  /* kept as it runs: every name it uses for a definition is that one's hash */
  renamed = rename_definition (def, def->form);
  rthunk_node_unref (def->form);
  def->form = renamed;
  /* what the store really holds: string literals count byte for byte */
  def->bytes = sizeof *def + rthunk_node_measure (def->form) + def->n_uses * (sizeof *def->uses + 32);
  return TRUE;
}

/* Checks a definition that arrived (see rthunk_handler_check_definition()). */
RthunkDefinition *
rthunk_handler_verify_definition (RthunkServerState           *state,
                                  const RthunkWireDefinition  *wire,
                                  GBytes                     **record,
                                  GError                     **error)
{
  g_autoptr(RthunkDefinition) def = rthunk_definition_new ();

  if (!valid_hash (wire->hash))
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("a definition hash must be 32 bytes")), NULL;
  if (wire->form == NULL ||
      (def->form = rthunk_wire_read_ast (wire->form, state->limits.max_ast_nodes, error)) == NULL ||
      !read_uses (wire->uses, def, error) ||
      !rthunk_handler_check_definition (state, def, wire->hash->data, record, error))
    return NULL;
  return g_steal_pointer (&def);
}

/* Past this many definitions a request's closure is looked through by a
 * table of the hashes seen. */
#define RESOLVE_SCANNED 16

/* A definition's hash as a key: its first bytes are as random as any. */
static guint
def_hash_hash (gconstpointer key)
{
  guint h;

  memcpy (&h, key, sizeof h);
  return h;
}

static gboolean
def_hash_equal (gconstpointer a,
                gconstpointer b)
{
  return memcmp (a, b, RTHUNK_HASH_LEN) == 0;
}

/* Whether the definition of @hash is among those @out found or lacks
 * already (@seen: their hashes, once there are many). */
static gboolean
resolve_seen (RthunkSubmission *out,
              GHashTable       *seen,
              const guint8     *hash)
{
  if (seen != NULL)
    return g_hash_table_contains (seen, hash);
  for (guint d = 0; d < out->definitions->len; d++)
    if (memcmp (((RthunkDefinition *) g_ptr_array_index (out->definitions, d))->hash, hash, RTHUNK_HASH_LEN) == 0)
      return TRUE;
  for (guint m = 0; out->missing != NULL && m < out->missing->len; m++)
    if (memcmp (g_bytes_get_data (g_ptr_array_index (out->missing, m), NULL), hash, RTHUNK_HASH_LEN) == 0)
      return TRUE;
  return FALSE;
}

/* Adds the definition of @hash to those @out found, or to those it lacks,
 * unless it is there. */
static void
resolve_one (RthunkServerState  *state,
             RthunkSubmission   *out,
             GHashTable        **seen,
             const guint8       *hash)
{
  RthunkDefinition *def;
  guint known;

  if (resolve_seen (out, *seen, hash))
    return;
  if ((def = rthunk_handler_find_definition (state, hash)) != NULL)
    g_ptr_array_add (out->definitions, def);
  else
    {
      if (out->missing == NULL)
        out->missing = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_ptr_array_add (out->missing, g_bytes_new (hash, RTHUNK_HASH_LEN));
    }
  known = out->definitions->len + (out->missing != NULL ? out->missing->len : 0);
  if (*seen != NULL)
    g_hash_table_add (*seen, def != NULL ? def->hash : (gpointer) g_bytes_get_data (g_ptr_array_index (out->missing, out->missing->len - 1), NULL));
  else if (known > RESOLVE_SCANNED)
    {
      /* the hashes live in the definitions and the missing bytes */
      *seen = g_hash_table_new (def_hash_hash, def_hash_equal);
      for (guint d = 0; d < out->definitions->len; d++)
        g_hash_table_add (*seen, ((RthunkDefinition *) g_ptr_array_index (out->definitions, d))->hash);
      for (guint m = 0; out->missing != NULL && m < out->missing->len; m++)
        g_hash_table_add (*seen, (gpointer) g_bytes_get_data (g_ptr_array_index (out->missing, m), NULL));
    }
}

/* Finds every definition the request names, and what those use, in the
 * store, and binds their types in @checker (if any: the memo's template
 * was checked with them); the hashes it lacks go to @missing. The
 * definitions found are the queue of those whose uses are to be found. */
gboolean
rthunk_handler_resolve_definitions (RthunkServerState   *state,
                                    const RthunkRequest *request,
                                    RthunkChecker       *checker,
                                    RthunkSubmission    *out)
{
  g_autoptr(GHashTable) seen = NULL;

  if (rthunk_request_n_refs (request) == 0)
    return TRUE;                /* no definitions: nothing to find */
  out->definitions = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_definition_unref);
  out->def_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  for (guint k = 0; k < rthunk_request_n_refs (request); k++)
    {
      RthunkRequestDefRef *ref = &g_array_index (request->refs, RthunkRequestDefRef, k);

      if (!rthunk_handler_valid_name (ref->name) || !valid_hash_bytes (ref->hash) ||
          g_hash_table_contains (out->def_names, ref->name))
        {
          out->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                    _("definition reference %u: a missing, invalid or repeated name, or a hash that is not 32 bytes"), k);
          return FALSE;
        }
      g_hash_table_insert (out->def_names, g_strdup (ref->name), g_bytes_ref (ref->hash));
    }
  /* every reference valid before any is looked up: an invalid request is
   * refused as such, and loads nothing from the store */
  for (guint k = 0; k < rthunk_request_n_refs (request); k++)
    resolve_one (state, out, &seen, g_bytes_get_data (g_array_index (request->refs, RthunkRequestDefRef, k).hash, NULL));
  for (guint d = 0; d < out->definitions->len; d++)
    {
      RthunkDefinition *def = g_ptr_array_index (out->definitions, d);

      for (guint u = 0; u < def->n_uses; u++)
        resolve_one (state, out, &seen, def->uses[u].hash);
    }
  if (out->missing != NULL && out->missing->len > 0)
    return FALSE;
  for (guint d = 0; checker != NULL && d < out->definitions->len; d++)
    {
      RthunkDefinition *def = g_ptr_array_index (out->definitions, d);
      g_autofree char *global = rthunk_handler_def_global_name (def->hash);

      rthunk_checker_bind (checker, global, def->type);
    }
  return TRUE;
}

gboolean
rthunk_handler_resolve_def_name (const char *name,
                                 guint8      hash[RTHUNK_HASH_LEN],
                                 gpointer    user_data)
{
  GBytes *found = user_data != NULL ? g_hash_table_lookup (user_data, name) : NULL;

  if (found == NULL)
    return FALSE;
  memcpy (hash, g_bytes_get_data (found, NULL), RTHUNK_HASH_LEN);
  return TRUE;
}
