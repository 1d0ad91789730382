/* rthunk-handler.c — the IDL methods of a provider: the generated handler
 * class and the methods of RemoteExecutionService
 *
 * The server never trusts a client: every AST is rebuilt and validated by
 * rthunk-wire, re-checked against the provider's catalog with the types of
 * the bound inputs derived from their values, and only then queued for the
 * worker pool. Errors come back as the typed exceptions of the IDL.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-budget.h"
#include "rthunk-catalog.h"
#include "rthunk-codec.h"
#include "rthunk-conn-account.h"
#include "rthunk-def-store.h"
#include "rthunk-error.h"
#include "rthunk-handler-private.h"
#include "rthunk-handler.h"
#include "rthunk-lang-private.h"
#include "rthunk-log.h"
#include "rthunk-lru.h"
#include "rthunk-request-decode.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk-table.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"
#include "rthunk-version.h"
#include "rthunk-wire.h"

#define MAX_AWAIT_THUNKS 4096
#define MAX_AWAIT_MS 60000

struct _RthunkHandler
{
  RthunkWireRemoteExecutionServiceHandler parent_instance;
  RthunkServerState *state;
};

G_DEFINE_FINAL_TYPE (RthunkHandler, rthunk_handler,
                     RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_HANDLER)

/* ---- exceptions -------------------------------------------------------- */

/* Sets the "pos" of an exception or an ErrorInfo to the position a
 * "SOURCE:LINE:COL: error: …" @message starts with, if it starts with one. */
static void
set_position (gpointer    exception,
              const char *message)
{
  g_autofree char *source = NULL;
  RthunkWireSourcePos *pos;
  gint32 line, col;

  if (!rthunk_codec_message_position (message, &source, &line, &col))
    return;
  pos = g_object_new (RTHUNK_WIRE_TYPE_SOURCE_POS, "source", source, "line", line, "col", col, NULL);
  g_object_set (exception, "pos", pos, NULL);
  g_object_unref (pos);
}

static gboolean
throw_invalid (RthunkWireInvalidRequest **invalid,
               const GError              *error)
{
  rthunk_log_refused ("request", error);
  *invalid = g_object_new (RTHUNK_WIRE_TYPE_INVALID_REQUEST,
                           "code", error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_INVALID_REQUEST,
                           "message", error->message, NULL);
  set_position (*invalid, error->message);
  return FALSE;
}

static gboolean
throw_invalid_literal (RthunkWireInvalidRequest **invalid,
                       RthunkError                code,
                       const char                *message)
{
  g_autoptr(GError) error = g_error_new_literal (RTHUNK_ERROR, code, message);

  return throw_invalid (invalid, error);
}

static gboolean
throw_type_failure (RthunkWireTypeFailure **failure,
                    const GError           *error,
                    const char             *expected,
                    const char             *found)
{
  rthunk_log_refused ("request", error);
  *failure = g_object_new (RTHUNK_WIRE_TYPE_TYPE_FAILURE,
                           "code", error->code, "message", error->message, NULL);
  set_position (*failure, error->message);
  if (expected != NULL && found != NULL)
    g_object_set (*failure, "expected", expected, "found", found, NULL);
  return FALSE;
}

static RthunkWireErrorInfo *
error_info (const GError *error)
{
  RthunkWireErrorInfo *info = g_object_new (RTHUNK_WIRE_TYPE_ERROR_INFO,
                                            "code", error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_INTERNAL,
                                            "message", error->message, NULL);

  set_position (info, error->message);
  return info;
}

/* Puts @error in the "error" field of a RemoteThunk or a VarCont. */
static void
reply_set_error (gpointer      reply,
                 const GError *error)
{
  RthunkWireErrorInfo *info = error_info (error);

  g_object_set (reply, "error", info, NULL);
  g_object_unref (info);
}

/* ---- auth ---------------------------------------------------------------- */

/* Compares in time that depends only on the lengths. */
gboolean
rthunk_handler_tokens_equal (const char *given,
                             const char *expected)
{
  gsize n = strlen (expected), m = strlen (given);
  guint8 diff = n != m;

  for (gsize k = 0; k < n; k++)
    diff |= (guint8) expected[k] ^ (guint8) (k < m ? given[k] : 0);
  return diff == 0;
}

/* A call with the token marks its connection as authenticated: one that
 * never is gets closed after its first frame (rthunk-server.c). */
static gboolean
authorized (RthunkServerState         *state,
            const RthunkWireAuth      *auth,
            RthunkWireNotAuthorized  **denied)
{
  RthunkConnAccount *account = rthunk_conn_account_get_current ();

  if (state->token == NULL)
    return TRUE;
  if (auth != NULL && auth->__isset_token && auth->token != NULL &&
      rthunk_handler_tokens_equal (auth->token, state->token))
    {
      if (account != NULL)
        account->authenticated = TRUE;
      return TRUE;
    }
  {
    g_autoptr(GError) reason = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED,
                                                    _("this server needs a valid token (--token-file or RTHUNK_TOKEN)"));

    rthunk_log_refused ("request", reason);
    *denied = g_object_new (RTHUNK_WIRE_TYPE_NOT_AUTHORIZED, "code", reason->code, "message", reason->message, NULL);
  }
  return FALSE;
}

#define REQUIRE_AUTH(state, auth, denied) \
  G_STMT_START { if (!authorized ((state), (auth), (denied))) return FALSE; } G_STMT_END

/* While the server drains (rthunk_server_stop()), thunks it accepted run
 * on and can be polled, awaited and cancelled, but no new one is taken. */
static gboolean
refuse_while_draining (RthunkServerState     *state,
                       RthunkWireOverloaded **overloaded)
{
  g_autoptr(GError) reason = NULL;

  if (!g_atomic_int_get (&state->draining))
    return FALSE;
  reason = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_OVERLOADED,
                                _("the server is shutting down: it accepts no new thunks"));
  rthunk_log_refused ("submission", reason);
  *overloaded = g_object_new (RTHUNK_WIRE_TYPE_OVERLOADED, "code", reason->code, "message", reason->message,
                              "retryAfterMs", 0, NULL);
  return TRUE;
}

#define REFUSE_WHILE_DRAINING(state, overloaded) \
  G_STMT_START { if (refuse_while_draining ((state), (overloaded))) return FALSE; } G_STMT_END

/* ---- putDefinitions ----------------------------------------------------- */

static gboolean
handler_put_definitions (RthunkWireRemoteExecutionServiceIf  *iface,
                         gint32                              *_return,
                         const GPtrArray                     *definitions,
                         const RthunkWireAuth                *auth,
                         RthunkWireInvalidRequest           **invalid,
                         RthunkWireNotAuthorized            **denied,
                         GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  gint32 added = 0;

  REQUIRE_AUTH (state, auth, denied);
  if (definitions->len > MAX_BATCH)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                  _("putDefinitions takes at most 4096 definitions"));
  for (guint k = 0; k < definitions->len; k++)
    {
      g_autoptr(GError) failure = NULL;
      g_autoptr(GBytes) record = NULL;
      g_autoptr(RthunkDefinition) def = rthunk_handler_verify_definition (state, g_ptr_array_index (definitions, k),
                                                           state->store != NULL ? &record : NULL, &failure);

      if (def == NULL)
        {
          g_prefix_error (&failure, _("definition %u: "), k);
          return throw_invalid (invalid, failure);
        }
      switch (rthunk_def_store_insert (state->defs, def))
        {
        case RTHUNK_LRU_ADDED:
          rthunk_handler_store_definition (state, def, record);
          added++;
          break;
        case RTHUNK_LRU_REFUSED:
          rthunk_budget_set_error (state->budget, &failure, RTHUNK_ERROR_OVERLOADED,
                                   _("a definition"), def->bytes);
          g_prefix_error (&failure, _("definition %u: "), k);
          return throw_invalid (invalid, failure);
        case RTHUNK_LRU_PRESENT:
          break;
        }
    }
  *_return = added;
  return TRUE;
}

/* ---- getFuncDefs, getServerInfo ---------------------------------------- */

static RthunkWireFuncDef *
wire_func_def (RthunkFuncDef *def)
{
  RthunkWireFuncDef *wire = g_object_new (RTHUNK_WIRE_TYPE_FUNC_DEF,
                                          "name", rthunk_func_def_get_name (def),
                                          "signature", rthunk_func_def_get_signature (def),
                                          "flags", (gint) rthunk_func_def_get_flags (def),
                                          "doc", rthunk_func_def_get_doc (def),
                                          "arity", (gint) rthunk_func_def_get_arity (def),
                                          NULL);

  rthunk_wire_fill_type (wire->type, rthunk_func_def_get_type_term (def));
  return wire;
}

static gboolean
handler_get_func_defs (RthunkWireRemoteExecutionServiceIf  *iface,
                       GPtrArray                          **_return,
                       const GPtrArray                     *names,
                       const RthunkWireAuth                *auth,
                       RthunkWireInvalidRequest           **invalid,
                       RthunkWireNotAuthorized            **denied,
                       GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;

  REQUIRE_AUTH (state, auth, denied);
  if (names == NULL || names->len == 0)
    {
      g_autoptr(GPtrArray) all = rthunk_catalog_list (state->catalog);

      for (guint k = 0; k < all->len; k++)
        g_ptr_array_add (*_return, wire_func_def (g_ptr_array_index (all, k)));
      return TRUE;
    }
  for (guint k = 0; k < names->len; k++)
    {
      const char *name = g_ptr_array_index (names, k);
      RthunkFuncDef *def = name != NULL ? rthunk_catalog_lookup (state->catalog, name) : NULL;

      if (def == NULL)
        {
          g_autoptr(GError) unknown = NULL;

          unknown = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION,
                                 _("the server provides no function “%s”"),
                                 name != NULL && g_utf8_validate (name, -1, NULL) ? name : "?");
          return throw_invalid (invalid, unknown);
        }
      g_ptr_array_add (*_return, wire_func_def (def));
    }
  return TRUE;
}

/* The state cells: their number, updates, and each one's type. */
static void
set_state_info (RthunkWireServerInfo *info,
                RthunkStateStore     *store)
{
  g_autoptr(GHashTable) types = rthunk_state_store_types (store);
  GHashTableIter iter;
  gpointer name, type;

  g_object_set (info->counters,
                "stateCells", (gint64) g_hash_table_size (types),
                "stateUpdates", rthunk_state_store_updates (store), NULL);
  g_hash_table_iter_init (&iter, types);
  while (g_hash_table_iter_next (&iter, &name, &type))
    g_hash_table_insert (info->stateCellTypes, g_strdup (name), g_strdup (type));
  info->__isset_stateCellTypes = TRUE;
}

static gboolean
handler_get_server_info (RthunkWireRemoteExecutionServiceIf  *iface,
                         RthunkWireServerInfo               **_return,
                         const RthunkWireAuth                *auth,
                         RthunkWireNotAuthorized            **denied,
                         GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  RthunkWireServerInfo *info = *_return;
  const char *const *caps = rthunk_catalog_get_capabilities (state->catalog);
  RthunkServerStats stats;

  REQUIRE_AUTH (state, auth, denied);

  rthunk_server_state_get_stats (state, &stats);
  g_object_set (info, "name", state->name, "version", RTHUNK_VERSION_S,
                "protocolVersion", RTHUNK_PROTOCOL_VERSION,
                "running", (gint) stats.running, "queued", (gint) stats.queued,
                "workers", (gint) state->limits.workers, NULL);
  for (guint k = 0; caps[k] != NULL; k++)
    g_ptr_array_add (info->capabilities, g_strdup (caps[k]));
  g_object_set (info->limits,
                "maxFrameBytes", (gint64) state->limits.max_frame_bytes,
                "maxDepth", (gint) state->limits.max_depth,
                "maxAstNodes", (gint) state->limits.max_ast_nodes,
                "fuel", (gint64) state->limits.fuel,
                "deadlineMs", (gint) state->limits.deadline_ms,
                "maxQueued", (gint) state->limits.max_queued,
                "maxConnections", (gint) state->limits.max_connections,
                "maxEvalBytes", (gint64) state->limits.max_eval_bytes, NULL);
  g_object_set (info->counters,
                "submitted", stats.counters.submitted,
                "completed", stats.counters.completed,
                "failed", stats.counters.failed,
                "cancelled", stats.counters.cancelled,
                "cacheHits", stats.counters.cache_hits,
                "cacheHitsLocal", stats.counters.cache_hits - stats.counters.cache_hits_shared,
                "cacheHitsShared", stats.counters.cache_hits_shared,
                "definitionsLoaded", stats.counters.definitions_loaded,
                "definitionsStored", stats.definitions_stored,
                "pipelined", stats.counters.pipelined,
                "fetched", stats.counters.fetched,
                "batches", stats.counters.batches,
                "typesProvided", stats.counters.types_provided,
                "memoHits", stats.counters.memo_hits,
                "longThunks", stats.long_thunks,
                "waiters", stats.waiters, NULL);
  if (state->state_store != NULL)
    set_state_info (info, state->state_store);
  rthunk_wire_set_bytes (&info->instanceId, state->instance_id, sizeof state->instance_id);
  for (guint k = 0; state->fetch_from != NULL && state->fetch_from[k] != NULL; k++)
    g_ptr_array_add (info->fetchesFrom, g_strdup (state->fetch_from[k]));
  return TRUE;
}

/* ---- provideType ---------------------------------------------------------- */

/* The one string literal of provideType's @literal_args, or NULL with
 * @invalid set. */
static char *
read_literal (const GPtrArray            *literal_args,
              RthunkWireInvalidRequest  **invalid)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) bad = NULL;

  if (literal_args == NULL || literal_args->len != 1)
    {
      throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                             _("provideType takes exactly one literal argument"));
      return NULL;
    }
  if ((value = rthunk_wire_read_value (g_ptr_array_index (literal_args, 0), &bad)) == NULL)
    {
      throw_invalid (invalid, bad);
      return NULL;
    }
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_STR)
    {
      throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                             _("provideType takes a string literal"));
      return NULL;
    }
  return g_strdup (rthunk_value_get_str (value));
}

static gboolean
handler_provide_type (RthunkWireRemoteExecutionServiceIf  *iface,
                      RthunkWireTypeTerm                 **_return,
                      gchar *const                         fn,
                      const GPtrArray                     *literal_args,
                      const RthunkWireAuth                *auth,
                      RthunkWireInvalidRequest           **invalid,
                      RthunkWireTypeFailure              **failure,
                      RthunkWireNotAuthorized            **denied,
                      GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  RthunkFuncDef *def = fn != NULL ? rthunk_catalog_lookup (state->catalog, fn) : NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autoptr(GError) refused = NULL;
  g_autofree char *literal = NULL;

  REQUIRE_AUTH (state, auth, denied);
  if (def == NULL || !rthunk_func_def_has_provider (def))
    {
      refused = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION,
                             _("the server provides no function “%s” whose type depends on a literal"),
                             fn != NULL && g_utf8_validate (fn, -1, NULL) ? fn : "?");
      return throw_invalid (invalid, refused);
    }
  if ((literal = read_literal (literal_args, invalid)) == NULL)
    return FALSE;
  if ((type = rthunk_func_def_provide_type (def, literal, &refused)) == NULL)
    return throw_type_failure (failure, refused, NULL, NULL);
  rthunk_wire_fill_type (*_return, type);
  COUNT (state->counters.types_provided);
  return TRUE;
}

/* ---- submitEvalRequest, submitBatch ------------------------------------- */

static gboolean
throw_missing (RthunkWireMissingDefinitions **missing,
               GPtrArray                     *hashes)
{
  *missing = g_object_new (RTHUNK_WIRE_TYPE_MISSING_DEFINITIONS,
                           "code", RTHUNK_ERROR_MISSING_DEFINITIONS,
                           "message", _("the server lacks definitions: send them with putDefinitions"),
                           NULL);
  for (guint k = 0; k < hashes->len; k++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (hashes, k), &len);
      GByteArray *hash = NULL;

      rthunk_wire_set_bytes (&hash, data, len);
      g_ptr_array_add ((*missing)->hashes, hash);
    }
  return FALSE;
}

/* Fills the fields a RemoteThunk and a VarCont share from @entry: its id,
 * its state, and its value (when @with_value) or its error. A value too
 * large for a frame fails the reply. Returns the state sent. */
static RthunkThunkState
fill_outcome (RthunkServerState *state,
              gpointer           reply,
              RthunkThunkEntry  *entry,
              gboolean           with_value)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GByteArray) id = NULL;
  RthunkThunkState st = rthunk_thunk_table_get_outcome (state->table, entry, &value);

  if (st == RTHUNK_THUNK_DONE && with_value)
    {
      g_autoptr(RthunkWireValue) wire = NULL;
      g_autoptr(GError) error = NULL;

      g_object_get (reply, "value", &wire, NULL);
      if (rthunk_wire_fill_value_within (wire, value, rthunk_handler_sendable_bytes (state), &error))
        g_object_set (reply, "value", wire, NULL);
      else
        {
          st = RTHUNK_THUNK_FAILED;
          reply_set_error (reply, error);
        }
    }
  else if (st > RTHUNK_THUNK_DONE)
    reply_set_error (reply, entry->error);
  rthunk_wire_set_bytes (&id, entry->id, RTHUNK_THUNK_ID_LEN);
  g_object_set (reply, "id", id, "state", (gint) st, NULL);
  return st;
}

/* Fills a RemoteThunk for @entry, with the value inline if it finished. */
static void
fill_remote_thunk (RthunkServerState     *state,
                   RthunkWireRemoteThunk *thunk,
                   RthunkThunkEntry      *entry)
{
  g_object_set (thunk, "server", state->name, NULL);
  /* a remote reference: the value stays here until thunkGet or thunkAwait */
  fill_outcome (state, thunk, entry, !entry->by_reference);
}

static gboolean
handler_submit_eval_request (RthunkWireRemoteExecutionServiceIf  *iface,
                             RthunkWireRemoteThunk              **_return,
                             const RthunkWireEvalRequest         *request,
                             const RthunkWireAuth                *auth,
                             RthunkWireInvalidRequest           **invalid,
                             RthunkWireTypeFailure              **type_failure,
                             RthunkWireMissingDefinitions       **missing,
                             RthunkWireOverloaded               **overloaded,
                             RthunkWireNotAuthorized            **denied,
                             GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  RthunkSubmission sub = { 0, };
  RthunkRequest req;
  guint budget;

  REQUIRE_AUTH (state, auth, denied);
  REFUSE_WHILE_DRAINING (state, overloaded);
  rthunk_request_from_wire (request, &req);
  rthunk_handler_submit_one (state, &req, &sub);
  budget = rthunk_handler_inline_budget (state, &req);
  rthunk_request_clear (&req);
  if (sub.entry == NULL && sub.missing != NULL && sub.missing->len > 0)
    {
      throw_missing (missing, sub.missing);
      rthunk_handler_submission_clear (&sub);
      return FALSE;
    }
  if (sub.entry == NULL)
    {
      g_autoptr(GError) failure = sub.error;
      g_autofree char *expected = g_steal_pointer (&sub.expected);
      g_autofree char *found = g_steal_pointer (&sub.found);

      rthunk_handler_submission_clear (&sub);
      if (sub.type_error)
        return throw_type_failure (type_failure, failure, expected, found);
      if (sub.overloaded)
        {
          *overloaded = g_object_new (RTHUNK_WIRE_TYPE_OVERLOADED, "code", failure->code,
                                      "message", failure->message, "retryAfterMs", 10, NULL);
          return FALSE;
        }
      return throw_invalid (invalid, failure);
    }
  rthunk_handler_submission_clear (&sub);
  if (budget > 0)
    rthunk_thunk_table_wait_any (state->table, &sub.entry, 1,
                                 g_get_monotonic_time () + (gint64) budget * 1000,
                                 rthunk_conn_account_get_current ());
  fill_remote_thunk (state, *_return, sub.entry);
  rthunk_thunk_entry_unref (sub.entry);
  return TRUE;
}

static gboolean
handler_submit_batch (RthunkWireRemoteExecutionServiceIf  *iface,
                      GPtrArray                          **_return,
                      const GPtrArray                     *requests,
                      const RthunkWireAuth                *auth,
                      RthunkWireInvalidRequest           **invalid,
                      RthunkWireOverloaded               **overloaded,
                      RthunkWireNotAuthorized            **denied,
                      GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;

  REQUIRE_AUTH (state, auth, denied);
  REFUSE_WHILE_DRAINING (state, overloaded);
  COUNT (state->counters.batches);
  if (requests->len > MAX_BATCH)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                  _("a batch holds at most 4096 requests"));
  for (guint k = 0; k < requests->len; k++)
    {
      RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
      RthunkSubmission sub = { 0, };
      RthunkRequest req;

      rthunk_request_from_wire (g_ptr_array_index (requests, k), &req);
      rthunk_handler_submit_one (state, &req, &sub);
      rthunk_request_clear (&req);
      if (sub.entry == NULL)
        rthunk_handler_submission_error (&sub);
      rthunk_handler_submission_clear (&sub);
      if (sub.entry != NULL)
        {
          fill_remote_thunk (state, thunk, sub.entry);
          rthunk_thunk_entry_unref (sub.entry);
        }
      else
        {
          g_object_set (thunk, "server", state->name, "state", (gint) RTHUNK_THUNK_FAILED, NULL);
          reply_set_error (thunk, sub.error);
          g_error_free (sub.error);
        }
      g_ptr_array_add (*_return, thunk);
    }
  return TRUE;
}

/* ---- thunkGet, thunkAwait, thunkCancel ----------------------------------- */

static RthunkThunkEntry *
find_thunk (RthunkServerState           *state,
            const RthunkWireRemoteThunk *thunk,
            RthunkWireInvalidRequest   **invalid)
{
  RthunkThunkEntry *entry = NULL;

  if (thunk != NULL && thunk->id != NULL)
    entry = rthunk_thunk_table_lookup (state->table, thunk->id->data, thunk->id->len);
  if (entry == NULL)
    throw_invalid_literal (invalid, RTHUNK_ERROR_UNKNOWN_THUNK,
                           _("this server has no thunk with that id (never issued, or expired)"));
  return entry;
}

static void
fill_var_cont (RthunkServerState *state,
               RthunkWireVarCont *cont,
               RthunkThunkEntry  *entry)
{
  RthunkThunkState st = fill_outcome (state, cont, entry, TRUE);

  if (st == RTHUNK_THUNK_DONE)
    {
      rthunk_wire_fill_type (cont->type, entry->type);
      cont->__isset_type = TRUE;
    }
  if (st > RTHUNK_THUNK_RUNNING)
    g_object_set (cont, "elapsedUs", entry->finished_us - entry->submitted_us, NULL);
}

static gboolean
handler_thunk_get (RthunkWireRemoteExecutionServiceIf  *iface,
                   RthunkWireVarCont                  **_return,
                   const RthunkWireRemoteThunk         *thunk,
                   const RthunkWireAuth                *auth,
                   RthunkWireInvalidRequest           **invalid,
                   RthunkWireNotAuthorized            **denied,
                   GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  g_autoptr(RthunkThunkEntry) entry = NULL;

  REQUIRE_AUTH (state, auth, denied);
  if ((entry = find_thunk (state, thunk, invalid)) == NULL)
    return FALSE;
  fill_var_cont (state, *_return, entry);
  return TRUE;
}

static gboolean
handler_thunk_await (RthunkWireRemoteExecutionServiceIf  *iface,
                     GPtrArray                          **_return,
                     const GPtrArray                     *thunks,
                     const gint32                         timeout_ms,
                     const RthunkWireAuth                *auth,
                     RthunkWireInvalidRequest           **invalid,
                     RthunkWireNotAuthorized            **denied,
                     GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  gint64 deadline = g_get_monotonic_time () + (gint64) CLAMP (timeout_ms, 0, MAX_AWAIT_MS) * 1000;

  REQUIRE_AUTH (state, auth, denied);
  if (thunks->len == 0 || thunks->len > MAX_AWAIT_THUNKS)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                                  _("thunkAwait takes 1 to 4096 thunks"));
  /* a connection makes one call at a time: its waiters are this call's */
  if (state->limits.max_waiters_per_client > 0 && thunks->len > state->limits.max_waiters_per_client)
    {
      g_autoptr(GError) quota = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                             _("thunkAwait names %u thunks; a connection may await "
                                               "%u at once (--max-waiters-per-client)"),
                                             thunks->len, state->limits.max_waiters_per_client);

      return throw_invalid (invalid, quota);
    }
  for (guint k = 0; k < thunks->len; k++)
    {
      RthunkThunkEntry *entry = find_thunk (state, g_ptr_array_index (thunks, k), invalid);

      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }
  rthunk_thunk_table_wait_any (state->table, (RthunkThunkEntry **) entries->pdata,
                               entries->len, deadline, rthunk_conn_account_get_current ());
  for (guint k = 0; k < entries->len; k++)
    {
      RthunkThunkEntry *entry = g_ptr_array_index (entries, k);
      RthunkWireVarCont *cont;

      if (rthunk_thunk_table_get_state (state->table, entry) <= RTHUNK_THUNK_RUNNING)
        continue;
      cont = g_object_new (RTHUNK_WIRE_TYPE_VAR_CONT, NULL);
      fill_var_cont (state, cont, entry);
      g_ptr_array_add (*_return, cont);
    }
  return TRUE;
}

/* The ints of a chunk: as many as a frame holds (8 bytes an item). */
static void
chunk_fill_ints (RthunkServerState     *state,
                 RthunkWireValueChunk  *chunk,
                 RthunkValue           *list,
                 gsize                  offset,
                 gsize                  n)
{
  n = MIN (n, (rthunk_handler_sendable_bytes (state) - 64) / sizeof (gint64));
  g_array_append_vals (chunk->ints, rthunk_value_peek_ints (list) + offset, n);
  chunk->__isset_ints = TRUE;
}

/* The boxed items of a chunk: at most RTHUNK_HANDLER_MAX_CHUNK_ITEMS,
 * halved until the slice fits in a frame. */
static gboolean
chunk_fill_items (RthunkServerState         *state,
                  RthunkWireValueChunk      *chunk,
                  RthunkValue               *list,
                  gsize                      offset,
                  gsize                      n,
                  RthunkWireInvalidRequest **invalid)
{
  g_autoptr(GError) too_large = NULL;

  n = MIN (n, RTHUNK_HANDLER_MAX_CHUNK_ITEMS);
  while (!rthunk_wire_fill_slice_within (chunk->items, list, offset, n,
                                         rthunk_handler_sendable_bytes (state), &too_large))
    {
      if (n <= 1 || !g_error_matches (too_large, RTHUNK_ERROR, RTHUNK_ERROR_VALUE_TOO_LARGE))
        return throw_invalid (invalid, too_large);
      g_clear_error (&too_large);
      n /= 2;
    }
  chunk->__isset_items = TRUE;
  return TRUE;
}

/* The bytes of a string's chunk: as many as a frame holds. */
static void
chunk_fill_text (RthunkServerState     *state,
                 RthunkWireValueChunk  *chunk,
                 RthunkValue           *str,
                 gsize                  offset,
                 gsize                  n)
{
  n = MIN (n, rthunk_handler_sendable_bytes (state) - 64);
  if (chunk->text == NULL)
    chunk->text = g_byte_array_sized_new (n);
  g_byte_array_append (chunk->text, (const guint8 *) rthunk_value_get_str (str) + offset, n);
  chunk->__isset_text = TRUE;
}

/* How many items (of a string: bytes) a chunk of @value counts. */
static gsize
chunk_total (RthunkValue *value)
{
  return rthunk_value_get_kind (value) == RTHUNK_VALUE_STR ? strlen (rthunk_value_get_str (value))
                                                           : rthunk_value_get_length (value);
}

/* A slice of a finished list or string value too large for one frame: at
 * most @max_items (of a string: bytes) from @offset, as many as fit in a
 * frame. The value is read where it is, never copied whole. */
static gboolean
handler_thunk_get_chunk (RthunkWireRemoteExecutionServiceIf  *iface,
                         RthunkWireValueChunk               **_return,
                         const RthunkWireRemoteThunk         *thunk,
                         const gint64                         offset,
                         const gint32                         max_items,
                         const RthunkWireAuth                *auth,
                         RthunkWireInvalidRequest           **invalid,
                         RthunkWireNotAuthorized            **denied,
                         GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  g_autoptr(RthunkThunkEntry) entry = NULL;
  g_autoptr(RthunkValue) value = NULL;
  RthunkValueKind kind;
  gsize total, n;

  REQUIRE_AUTH (state, auth, denied);
  if ((entry = find_thunk (state, thunk, invalid)) == NULL)
    return FALSE;
  if (rthunk_thunk_table_get_outcome (state->table, entry, &value) != RTHUNK_THUNK_DONE || value == NULL)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                                  _("thunkGetChunk names a thunk that has no value (not finished, or failed)"));
  kind = rthunk_value_get_kind (value);
  if (kind != RTHUNK_VALUE_LIST && kind != RTHUNK_VALUE_STR)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                                  _("thunkGetChunk names a thunk whose value is neither a list nor a string"));
  total = chunk_total (value);
  if (offset < 0 || (guint64) offset > total || max_items < 1)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_INVALID_REQUEST,
                                  _("thunkGetChunk takes an offset within the value and at least 1 item"));
  g_object_set (*_return, "total", (gint64) total, "offset", offset, NULL);
  n = MIN ((gsize) max_items, total - (gsize) offset);
  if (kind == RTHUNK_VALUE_STR)
    chunk_fill_text (state, *_return, value, (gsize) offset, n);
  else if (rthunk_value_peek_ints (value) != NULL)
    chunk_fill_ints (state, *_return, value, (gsize) offset, n);
  else
    return chunk_fill_items (state, *_return, value, (gsize) offset, n, invalid);
  return TRUE;
}

static gboolean
handler_thunk_cancel (RthunkWireRemoteExecutionServiceIf  *iface,
                      gboolean                            *_return,
                      const RthunkWireRemoteThunk         *thunk,
                      const RthunkWireAuth                *auth,
                      RthunkWireInvalidRequest           **invalid,
                      RthunkWireNotAuthorized            **denied,
                      GError                             **error)
{
  RthunkServerState *state = RTHUNK_HANDLER (iface)->state;
  g_autoptr(RthunkThunkEntry) entry = NULL;
  gboolean finished_now;

  REQUIRE_AUTH (state, auth, denied);
  if ((entry = find_thunk (state, thunk, invalid)) == NULL)
    return FALSE;
  *_return = rthunk_thunk_table_cancel (state->table, entry, &finished_now);
  if (finished_now)
    COUNT (state->counters.cancelled);
  return TRUE;
}

static void
rthunk_handler_class_init (RthunkHandlerClass *klass)
{
  RthunkWireRemoteExecutionServiceHandlerClass *handler_class =
    RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_HANDLER_CLASS (klass);

  handler_class->get_func_defs = handler_get_func_defs;
  handler_class->get_server_info = handler_get_server_info;
  handler_class->submit_eval_request = handler_submit_eval_request;
  handler_class->submit_batch = handler_submit_batch;
  handler_class->thunk_get = handler_thunk_get;
  handler_class->thunk_await = handler_thunk_await;
  handler_class->thunk_get_chunk = handler_thunk_get_chunk;
  handler_class->thunk_cancel = handler_thunk_cancel;
  handler_class->put_definitions = handler_put_definitions;
  handler_class->provide_type = handler_provide_type;
}

static void
rthunk_handler_init (RthunkHandler *self)
{
}

RthunkHandler *
rthunk_handler_new (RthunkServerState *state)
{
  RthunkHandler *self = g_object_new (RTHUNK_TYPE_HANDLER, NULL);

  self->state = state;
  return self;
}
