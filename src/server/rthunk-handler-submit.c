/* rthunk-handler-submit.c — a request validated, checked and queued
 *
 * One request, from either reader (rthunk-request-decode.c): its bindings
 * are read, its tree found in the memo or checked against the catalog with
 * the inputs' types, and the thunk answered from the result cache, run
 * right away if it is short and pure, or queued for the worker pool.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-bindings.h"
#include "rthunk-budget.h"
#include "rthunk-check.h"
#include "rthunk-conn-account.h"
#include "rthunk-def-store.h"
#include "rthunk-error.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-log.h"
#include "rthunk-lru.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk-table.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* The room a new thunk needs in the memory budget to be accepted. */
#define SUBMIT_ROOM (64 * 1024)

void
rthunk_handler_submission_clear (RthunkSubmission *sub)
{
  g_clear_pointer (&sub->definitions, g_ptr_array_unref);
  g_clear_pointer (&sub->def_names, g_hash_table_unref);
  g_clear_pointer (&sub->missing, g_ptr_array_unref);
  g_clear_pointer (&sub->expected, g_free);
  g_clear_pointer (&sub->found, g_free);
}

/* The error a submission that made no thunk failed with (owned by @sub): a refusal, or
 * definitions the store lacks. Call it before rthunk_handler_submission_clear(). */
GError *
rthunk_handler_submission_error (RthunkSubmission *sub)
{
  if (sub->error == NULL)
    sub->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
                              _("the server lacks %u definitions: send them with putDefinitions"),
                              sub->missing != NULL ? sub->missing->len : 0);
  return sub->error;
}

/* A binding whose value is a reference to a thunk of this server (promise
 * pipelining): the thunk, or NULL if the value is not a reference. */
static gboolean
read_thunk_ref (RthunkServerState         *state,
                const RthunkRequestInput  *binding,
                RthunkThunkEntry         **entry,
                GError                   **error)
{
  *entry = NULL;
  if (!binding->is_thunk)
    return TRUE;
  if (binding->thunk_id != NULL)
    *entry = rthunk_thunk_table_lookup (state->table, binding->thunk_id, binding->thunk_id_len);
  if (*entry == NULL && binding->holder != NULL)
    return (*entry = rthunk_handler_fetch_input (state, binding, error)) != NULL;
  if (*entry == NULL || (*entry)->type == NULL)
    {
      g_clear_pointer (entry, rthunk_thunk_entry_unref);
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK,
                   _("the input “%s” names a thunk this server does not hold"), rthunk_request_input_name (binding));
      return FALSE;
    }
  return TRUE;
}

static void
append_sig (GString    *sig,
            const char *name,
            RthunkType *type)
{
  g_string_append_len (sig, name, (gssize) strlen (name) + 1);      /* with its NUL */
  rthunk_type_append_key (type, sig);
}

/* Past this many inputs a request's names are told apart by a hash
 * table, not by comparing each with those before it. */
#define FEW_INPUTS 16

/* The first input of @request whose name is missing, invalid or that of
 * one before it (G_MAXUINT if none is): each name is checked once here;
 * *@name_bytes is what the valid names take, each with its NUL (the most
 * a list of them can hold). */
static guint
first_refused (const RthunkRequest *request,
               gsize               *name_bytes)
{
  guint n = rthunk_request_n_inputs (request), refused = G_MAXUINT;
  g_autoptr(GHashTable) seen = n > FEW_INPUTS ? g_hash_table_new (g_str_hash, g_str_equal) : NULL;

  *name_bytes = 0;
  for (guint k = 0; k < n; k++)
    {
      const char *name = rthunk_request_input_name (rthunk_request_input (request, k));
      gboolean valid = rthunk_handler_valid_name (name);

      if (valid)
        *name_bytes += strlen (name) + 1;
      if (refused != G_MAXUINT)
        continue;
      /* the names before this one are all valid: only they are compared */
      if (!valid)
        refused = k;
      else if (seen != NULL)
        refused = g_hash_table_add (seen, (gpointer) name) ? G_MAXUINT : k;
      for (guint j = 0; seen == NULL && j < k && refused == G_MAXUINT; j++)
        if (strcmp (rthunk_request_input_name (rthunk_request_input (request, j)), name) == 0)
          refused = k;
    }
  return refused;
}

/* The inputs of @request: their values (*@inputs) and the thunks they
 * name (*@thunk_inputs), each list made for its first input (both NULL
 * at first); each name and type is appended to @sig if given (the memo's
 * key of the types a tree was checked with). */
static gboolean
read_bindings (RthunkServerState    *state,
               const RthunkRequest  *request,
               RthunkBindings      **inputs,
               RthunkBindings      **thunk_inputs,
               GString              *sig,
               GError              **error)
{
  guint n = rthunk_request_n_inputs (request), next_var = 0;
  gsize name_bytes;
  guint refused = first_refused (request, &name_bytes);

  for (guint k = 0; k < n; k++)
    {
      const RthunkRequestInput *binding = rthunk_request_input (request, k);
      const char *name = rthunk_request_input_name (binding);
      g_autoptr(RthunkType) type = NULL;

      RthunkThunkEntry *ref = NULL;

      if (k == refused)
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("binding %u: a missing, invalid or repeated name"), k);
          return FALSE;
        }
      if (!read_thunk_ref (state, binding, &ref, error))
        return FALSE;
      if (ref != NULL)
        {
          if (sig != NULL)
            append_sig (sig, name, ref->type);
          if (*thunk_inputs == NULL)
            *thunk_inputs = rthunk_bindings_new (n, name_bytes, (GDestroyNotify) rthunk_thunk_entry_unref);
          rthunk_bindings_add (*thunk_inputs, name, ref);
          continue;
        }
      if (binding->value == NULL)
        {
          g_propagate_error (error, g_error_copy (binding->value_error));
          return FALSE;
        }
      if ((type = rthunk_type_of_value (binding->value, &next_var, error)) == NULL)
        return FALSE;
      if (sig != NULL)
        append_sig (sig, name, type);
      if (*inputs == NULL)
        *inputs = rthunk_bindings_new (n, name_bytes, (GDestroyNotify) rthunk_value_unref);
      rthunk_bindings_add (*inputs, name, rthunk_value_ref (binding->value));
    }
  return TRUE;
}

/* Binds in @checker the type of each input read_bindings() accepted:
 * the thunk's, or its value's (type variables numbered in the request's
 * order, as read_bindings() numbered them). */
static void
bind_input_types (RthunkChecker  *checker,
                  RthunkBindings *inputs,
                  RthunkBindings *thunk_inputs)
{
  guint next_var = 0;

  for (guint k = 0; thunk_inputs != NULL && k < rthunk_bindings_len (thunk_inputs); k++)
    rthunk_checker_bind (checker, rthunk_bindings_name (thunk_inputs, k),
                         ((RthunkThunkEntry *) rthunk_bindings_item (thunk_inputs, k))->type);
  for (guint k = 0; inputs != NULL && k < rthunk_bindings_len (inputs); k++)
    {
      g_autoptr(RthunkType) type = rthunk_type_of_value (rthunk_bindings_item (inputs, k), &next_var, NULL);

      if (type != NULL)
        rthunk_checker_bind (checker, rthunk_bindings_name (inputs, k), type);
    }
}

static guint
count_unfinished (RthunkServerState *state,
                  RthunkBindings    *thunk_inputs)
{
  guint n = 0;

  for (guint k = 0; k < rthunk_bindings_len (thunk_inputs); k++)
    if (rthunk_thunk_table_get_state (state->table, rthunk_bindings_item (thunk_inputs, k)) <= RTHUNK_THUNK_RUNNING)
      n++;
  return n;
}

static gboolean
definitions_pure (GPtrArray *definitions)
{
  for (guint k = 0; definitions != NULL && k < definitions->len; k++)
    if (!((RthunkDefinition *) g_ptr_array_index (definitions, k))->pure)
      return FALSE;
  return TRUE;
}

static void
apply_options (RthunkServerState   *state,
               RthunkThunkEntry    *entry,
               const RthunkRequest *request)
{
  entry->fuel = state->limits.fuel;
  entry->deadline_ms = state->limits.deadline_ms;
  entry->by_reference = request->by_reference != FALSE;
  if (request->fuel > 0)
    entry->fuel = MIN (entry->fuel, (guint64) request->fuel);
  if (request->deadline_ms > 0)
    entry->deadline_ms = state->limits.deadline_ms > 0
      ? MIN (entry->deadline_ms, (guint) request->deadline_ms) : (guint) request->deadline_ms;
}

/* The expression with its names for definitions renamed to their hashes. */
static RthunkNode *
rename_request (RthunkNode *expr,
                GHashTable *def_names)
{
  g_autoptr(GHashTable) renames = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  GHashTableIter iter;
  gpointer name, hash;

  g_hash_table_iter_init (&iter, def_names);
  while (g_hash_table_iter_next (&iter, &name, &hash))
    g_hash_table_replace (renames, name, rthunk_handler_def_global_name (g_bytes_get_data (hash, NULL)));
  return rthunk_node_rename_free (expr, renames);
}

static gboolean
check_request (RthunkChecker     *checker,
               RthunkNode        *expr,
               RthunkType       **type,
               RthunkSubmission  *out)
{
  const char *expected, *found;

  if ((*type = rthunk_checker_check (checker, expr, &out->error)) != NULL)
    return TRUE;
  rthunk_checker_get_mismatch (checker, &expected, &found);
  out->type_error = TRUE;
  out->expected = g_strdup (expected);
  out->found = g_strdup (found);
  return FALSE;
}

/* The id the client proposed for the thunk, if any (*@id stays NULL). */
static gboolean
proposed_id (const RthunkRequest  *request,
             const guint8        **id,
             GError              **error)
{
  if (!request->has_thunk_id)
    return TRUE;
  if (request->thunk_id == NULL || request->thunk_id_len != RTHUNK_THUNK_ID_LEN)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("a proposed thunk id must be %d bytes"), RTHUNK_THUNK_ID_LEN);
      return FALSE;
    }
  *id = request->thunk_id;
  return TRUE;
}

static void
id_in_use (GError **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("the thunk id the request proposes is already in use"));
}

/* @request's tree @expr (taken; its nodes in the Ast's order are @nodes,
 * if known) renamed and checked by @checker, which has the inputs bound
 * (and remembered as the template of its shape). */
static RthunkChecked *
check_tree (RthunkServerState   *state,
            const RthunkRequest *request,
            RthunkChecker       *checker,
            RthunkNode          *expr,
            GPtrArray           *nodes,
            GString             *sig,
            gboolean             closed,
            RthunkSubmission    *out)
{
  g_autoptr(RthunkNode) tree = expr;
  g_autoptr(RthunkType) type = NULL;
  RthunkChecked *checked;

  if (!rthunk_handler_resolve_definitions (state, request, checker, out))
    return NULL;
  if (out->def_names != NULL && g_hash_table_size (out->def_names) > 0)
    {
      RthunkNode *renamed = rename_request (tree, out->def_names);

      rthunk_node_unref (tree);
      tree = renamed;
    }
  if (!check_request (checker, tree, &type, out))
    return NULL;
  checked = rthunk_handler_checked_new (g_steal_pointer (&tree), g_steal_pointer (&type), FALSE, closed);
  checked->pure = rthunk_handler_names_only_pure (state->catalog, checked->expr) && definitions_pure (out->definitions);
  if (request->memo_ok)
    rthunk_handler_memo_insert (state, request, nodes, checked, sig);
  return checked;
}

static void
free_string (gpointer data)
{
  g_string_free (data, TRUE);
}

static GPrivate thread_sig_string = G_PRIVATE_INIT (free_string);

/* The thread's string for the input types of a request (the memo's key
 * of the types a tree was checked with), emptied. */
static GString *
thread_sig (void)
{
  GString *sig = g_private_get (&thread_sig_string);

  if (sig == NULL)
    g_private_set (&thread_sig_string, (sig = g_string_sized_new (64)));
  g_string_truncate (sig, 0);
  return sig;
}

/* The definitions @request names, by name and hash, after its inputs'
 * types in @sig: the memo's template of an Ast is renamed and checked
 * with these definitions. */
static void
append_refs_sig (GString             *sig,
                 const RthunkRequest *request)
{
  for (guint k = 0; k < rthunk_request_n_refs (request); k++)
    {
      const RthunkRequestDefRef *ref = &g_array_index (request->refs, RthunkRequestDefRef, k);

      g_string_append_c (sig, '#');
      if (ref->name != NULL)
        g_string_append_len (sig, ref->name, (gssize) strlen (ref->name) + 1);      /* with its NUL */
      if (ref->hash != NULL)
        g_string_append_len (sig, g_bytes_get_data (ref->hash, NULL), (gssize) g_bytes_get_size (ref->hash));
    }
}

/* The memo's check of a request of its shape whose inputs and
 * definitions are the template's: the template's tree with the request's
 * literals, renamed to the request's definitions, found in the store
 * (rthunk_handler_resolve_definitions(): their hashes were in the key, so
 * the renamed tree checks as the template did). */
static RthunkChecked *
memo_checked (RthunkServerState        *state,
              const RthunkRequest      *request,
              const RthunkRequestShape *shape,
              RthunkSubmission         *out)
{
  RthunkChecked *checked;
  RthunkNode *renamed;

  COUNT (state->counters.memo_hits);
  if (rthunk_request_n_refs (request) == 0)
    return rthunk_handler_shape_checked (shape, request->ast_data);
  if (!rthunk_handler_resolve_definitions (state, request, NULL, out))
    return NULL;
  checked = rthunk_handler_shape_checked (shape, request->ast_data);
  if (checked == shape->checked)
    return checked;
  /* a tree of the template's names: a check of one's own, renamed */
  renamed = rename_request (checked->expr, out->def_names);
  rthunk_node_unref (checked->expr);
  checked->expr = renamed;
  return checked;
}

/* A request's tree checked: from the memo (no checker is needed then),
 * or read, renamed and checked now. */
static RthunkChecked *
check_submission (RthunkServerState    *state,
                  const RthunkRequest  *request,
                  RthunkBindings      **inputs,
                  RthunkBindings      **thunk_inputs,
                  RthunkSubmission     *out)
{
  gboolean closed = rthunk_request_n_inputs (request) == 0 && rthunk_request_n_refs (request) == 0;
  GString *sig = request->memo_ok && !closed ? thread_sig () : NULL;
  g_autoptr(GPtrArray) shaped = NULL;
  GPtrArray *nodes = request->nodes;
  RthunkChecked *checked;
  RthunkChecker *checker;
  g_autoptr(RthunkNode) expr = NULL;

  if (!read_bindings (state, request, inputs, thunk_inputs, sig, &out->error))
    return NULL;
  if (sig != NULL)
    append_refs_sig (sig, request);
  if (request->shape != NULL)
    {
      g_autoptr(RthunkRequestShape) other = NULL;

      if (rthunk_handler_same_sig (request->shape->sig, sig))
        return memo_checked (state, request, request->shape, out);
      /* the same bytes checked for these inputs and definitions too, kept
       * beside the shape the request was found with (two in turn) */
      if ((other = rthunk_handler_last_shape_for_sig (state, request->shape, request->ast_data, sig)) != NULL)
        return memo_checked (state, request, other, out);
      /* inputs of other types: the tree is the same, its check is not */
      shaped = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
      expr = rthunk_handler_shape_tree (request->shape, request->ast_data, shaped);
      nodes = shaped;
    }
  else if (request->expr != NULL)
    expr = rthunk_node_ref (request->expr);
  else if (request->wire_ast == NULL ||
           (expr = rthunk_wire_read_ast (request->wire_ast, state->limits.max_ast_nodes, &out->error)) == NULL)
    return NULL;
  checker = rthunk_handler_borrow (&rthunk_handler_reusable_checker, state);
  rthunk_checker_set_remote_allowed (checker, FALSE);
  bind_input_types (checker, *inputs, *thunk_inputs);
  checked = check_tree (state, request, checker, g_steal_pointer (&expr), nodes, sig, closed, out);
  rthunk_handler_give_back (&rthunk_handler_reusable_checker, state, checker);
  return checked;
}

/* The cache key of a pure request is a SHA-256 of its expression
 * (definitions by hash, as in a content address), then each input by name
 * and printed value. This is its first part: the hash over the
 * expression. */
static GChecksum *
expr_sum_new (RthunkNode *expr,
              GHashTable *def_names)
{
  g_autoptr(RthunkNode) params = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, NULL, 0);
  g_autoptr(RthunkNode) fn_sym = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "fn");
  RthunkNode *items[3] = { fn_sym, params, expr };
  g_autoptr(RthunkNode) wrapped = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
  g_autoptr(GBytes) code = NULL;
  GChecksum *sum;

  if ((code = rthunk_hash_encode_definition (wrapped, rthunk_handler_resolve_def_name, def_names, NULL)) == NULL)
    return NULL;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) "rthunk-cache-1", 14);
  g_checksum_update (sum, g_bytes_get_data (code, NULL), g_bytes_get_size (code));
  return sum;
}

/* The key: @sum (the hash over the expression, consumed) and @inputs,
 * by name in strcmp() order. */
static void
key_of_inputs (GChecksum      *sum,
               RthunkBindings *inputs,
               guint8          key[RTHUNK_HASH_LEN])
{
  g_autofree guint *order = inputs != NULL ? rthunk_bindings_by_name (inputs) : NULL;
  gsize len = RTHUNK_HASH_LEN;

  for (guint k = 0; inputs != NULL && k < rthunk_bindings_len (inputs); k++)
    {
      const char *name = rthunk_bindings_name (inputs, order[k]);
      g_autofree char *printed = rthunk_value_to_string (rthunk_bindings_item (inputs, order[k]));

      g_checksum_update (sum, (const guchar *) name, strlen (name) + 1);
      g_checksum_update (sum, (const guchar *) printed, strlen (printed) + 1);
    }
  g_checksum_get_digest (sum, key, &len);
  g_checksum_free (sum);
}

/* The hash over @checked's expression, made once: a tree the memo keeps
 * is asked again with other inputs (a checked tree is used with the
 * definitions of the request it was checked for, or with none). */
static GChecksum *
checked_expr_sum (RthunkServerState *state,
                  RthunkChecked     *checked,
                  GHashTable        *def_names)
{
  GChecksum *sum = g_atomic_pointer_get (&checked->expr_sum);

  if (sum != NULL)
    return sum;
  if ((sum = expr_sum_new (checked->expr, def_names)) == NULL)
    return NULL;
  g_mutex_lock (&state->memo_lock);
  if (checked->expr_sum == NULL)
    g_atomic_pointer_set (&checked->expr_sum, sum);
  else
    g_checksum_free (sum);
  g_mutex_unlock (&state->memo_lock);
  return checked->expr_sum;
}

/* The result cache's key of @checked with @inputs: computed once for a
 * closed request the memo keeps; for one with inputs, its hash over the
 * expression once and its inputs each time. */
static gboolean
checked_key (RthunkServerState *state,
             RthunkChecked     *checked,
             RthunkBindings    *inputs,
             GHashTable        *def_names,
             guint8             key[RTHUNK_HASH_LEN])
{
  GChecksum *sum;

  if (!checked->closed)
    {
      if ((sum = checked_expr_sum (state, checked, def_names)) == NULL)
        return FALSE;
      key_of_inputs (g_checksum_copy (sum), inputs, key);
      return TRUE;
    }
  if (g_atomic_int_get (&checked->has_key))
    {
      memcpy (key, checked->key, RTHUNK_HASH_LEN);
      return TRUE;
    }
  if ((sum = expr_sum_new (checked->expr, def_names)) == NULL)
    return FALSE;
  key_of_inputs (sum, inputs, key);
  g_mutex_lock (&state->memo_lock);
  if (!g_atomic_int_get (&checked->has_key))
    {
      memcpy (checked->key, key, RTHUNK_HASH_LEN);
      g_atomic_int_set (&checked->has_key, TRUE);
    }
  g_mutex_unlock (&state->memo_lock);
  return TRUE;
}

/* A pure request whose result may be cached. A cheap one (fewer than
 * CACHE_MIN_STEPS steps) is simply evaluated here: keying and keeping its
 * result would cost more than computing it. One that costs more is
 * answered from the cache if it holds the result, or marked to be cached
 * when it finishes. Returns whether @entry is finished. */
static gboolean
try_cache (RthunkServerState *state,
           RthunkThunkEntry  *entry,
           RthunkChecked     *checked,
           RthunkBindings    *inputs,
           GHashTable        *def_names)
{
  g_autoptr(RthunkValue) hit = NULL;
  guint8 key[RTHUNK_HASH_LEN];

  if (!g_atomic_int_get (&checked->expensive))
    {
      if (rthunk_handler_try_inline_within (state, entry, CACHE_MIN_STEPS))
        return TRUE;
      g_atomic_int_set (&checked->expensive, TRUE);
    }
  if (!checked_key (state, checked, inputs, def_names, key))
    return FALSE;
  if ((hit = rthunk_lru_lookup (state->cache, key)) == NULL &&
      (hit = rthunk_handler_load_result (state, key, entry->type)) != NULL)
    COUNT (state->counters.cache_hits_shared);
  if (hit == NULL)
    {
      entry->cacheable = TRUE;
      entry->cache_key = g_memdup2 (key, RTHUNK_HASH_LEN);
      return FALSE;
    }
  /* count before finishing: whoever sees the thunk finished sees it counted */
  COUNT (state->counters.completed);
  COUNT (state->counters.cache_hits);
  rthunk_thunk_table_finish (state->table, entry, hit, NULL);
  rthunk_server_state_thunk_finished (state, entry, NULL, "cache");
  return TRUE;
}

/* Whether the memory budget has room for new work (SUBMIT_ROOM bytes,
 * after evicting what it may); if not, @out is refused as Overloaded with
 * the reason. */
static gboolean
room_for_work (RthunkServerState *state,
               RthunkSubmission  *out)
{
  if (rthunk_budget_charge (state->budget, SUBMIT_ROOM))
    {
      rthunk_budget_release (state->budget, SUBMIT_ROOM);
      return TRUE;
    }
  out->overloaded = TRUE;
  rthunk_budget_set_error (state->budget, &out->error, RTHUNK_ERROR_OVERLOADED,
                           _("a new thunk"), SUBMIT_ROOM);
  return FALSE;
}

/* Whether the connection of @account (if any) may have one more thunk
 * queued or running; if not, @out is refused as Overloaded naming its
 * quota. */
static gboolean
within_quota (RthunkServerState *state,
              RthunkConnAccount *account,
              RthunkSubmission  *out)
{
  guint quota = rthunk_handler_queued_quota (state);

  if (account == NULL || (guint) g_atomic_int_get (&account->unfinished) < quota)
    return TRUE;
  out->overloaded = TRUE;
  out->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_OVERLOADED,
                            _("this connection has %u thunks queued or running, its quota "
                              "(--max-queued-per-client); other clients are still served"),
                            quota);
  return FALSE;
}

/* Validates, checks and queues one request (or answers it from the cache). */
static void
submit (RthunkServerState   *state,
        const RthunkRequest *request,
        RthunkSubmission    *out)
{
  g_autoptr(RthunkBindings) inputs = NULL;
  g_autoptr(RthunkBindings) thunk_inputs = NULL;
  g_autoptr(RthunkChecked) checked = NULL;
  const guint8 *id = NULL;
  gboolean cacheable;
  guint waiting;
  RthunkThunkEntry *entry;
  RthunkConnAccount *account = rthunk_conn_account_get_current ();

  if (proposed_id (request, &id, &out->error))
    checked = check_submission (state, request, &inputs, &thunk_inputs, out);
  if (checked == NULL)
    return;
  cacheable = checked->pure && thunk_inputs == NULL && request->use_cache && state->limits.cache_entries > 0;
  if (rthunk_thunk_table_count_unfinished (state->table) >= state->limits.max_queued)
    {
      out->overloaded = TRUE;
      out->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_OVERLOADED,
                                _("the server has %u thunks queued, its limit"),
                                state->limits.max_queued);
      return;
    }
  if (!within_quota (state, account, out) || !room_for_work (state, out))
    return;
  if ((entry = rthunk_thunk_table_add (state->table, checked->expr, inputs, checked->type, id, account)) == NULL)
    {
      id_in_use (&out->error);
      return;
    }
  COUNT (state->counters.submitted);
  out->entry = entry;
  /* Another connection may name the thunk already (its id was proposed),
   * and this thread fills it in and may evaluate it, without the table's
   * lock: started, a thunkCancel only asks it to stop. Finishing a queued
   * thunk drops its expression, definitions and cache key, which this
   * thread still reads. A cancel that came first has ended it. */
  if (!rthunk_thunk_table_start (state->table, entry))
    return;
  apply_options (state, entry, request);
  entry->definitions = g_steal_pointer (&out->definitions);
  entry->def_names = g_steal_pointer (&out->def_names);
  /* counted once: an input that was finished stays so (the entry holds it) */
  waiting = thunk_inputs != NULL ? count_unfinished (state, thunk_inputs) : 0;
  if (waiting > 0)
    COUNT (state->counters.pipelined);
  entry->thunk_inputs = g_steal_pointer (&thunk_inputs);
  if (cacheable && try_cache (state, entry, checked, inputs, entry->def_names))
    return;
  /* inputs already computed (a chain sent in one frame) don't stop it */
  if (waiting == 0 && checked->pure && rthunk_handler_try_inline (state, entry))
    return;
  if (rthunk_thunk_table_unstart (state->table, entry))
    rthunk_handler_queue_thunk (state, entry);
  else
    COUNT (state->counters.cancelled);
}

/* submit(); a refusal is logged, with its reason and client. */
void
rthunk_handler_submit_one (RthunkServerState   *state,
                           const RthunkRequest *request,
                           RthunkSubmission    *out)
{
  submit (state, request, out);
  if (out->entry == NULL && out->error != NULL)
    rthunk_log_refused ("submission", out->error);
}
