/* rthunk-handler.c — the IDL methods of a provider
 *
 * The server never trusts a client: every AST is rebuilt and validated by
 * rthunk-wire, re-checked against the provider's catalog with the types of
 * the bound inputs derived from their values, and only then queued for the
 * worker pool. Errors come back as the typed exceptions of the IDL.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <sys/random.h>

#include "rthunk-version.h"
#include "rthunk-handler.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client.h"
#include "rthunk-codec.h"
#include "rthunk-def-store.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-result-cache.h"
#include "rthunk-server.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk-table.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

#define MAX_AWAIT_THUNKS 4096
#define MAX_AWAIT_MS 60000
#define MAX_BATCH 4096
#define INLINE_FUEL 20000
/* A result that takes fewer steps than this is computed again rather than
 * cached: its cache key (a SHA-256 of the expression and its inputs) and
 * lookup would cost more than the evaluation. */
#define CACHE_MIN_STEPS 64
#define MAX_FETCHES 16            /* inputs fetched from other servers at once */
#define COUNT(counter) __atomic_fetch_add (&(counter), 1, __ATOMIC_RELAXED)

typedef struct _RthunkChecked RthunkChecked;
static void checked_unref (RthunkChecked *checked);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkChecked, checked_unref)
typedef struct _MemoShape MemoShape;
static void memo_shape_unref (MemoShape *shape);

struct _RthunkHandler
{
  RthunkWireRemoteExecutionServiceHandler parent_instance;
  RthunkServerState *state;
};

G_DEFINE_FINAL_TYPE (RthunkHandler, rthunk_handler,
                     RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_HANDLER)

/* ---- evaluation (worker threads) --------------------------------------- */

/* Each thread keeps one checker and one evaluator between requests: made
 * and finalized per request, these GObjects and their tables cost more
 * than checking or evaluating a small expression. A borrowed one is reset
 * when it comes back, so it holds no value or type of a finished request. */
static GPrivate thread_checker = G_PRIVATE_INIT (g_object_unref);
static GPrivate thread_evaluator = G_PRIVATE_INIT (g_object_unref);

typedef struct
{
  GPrivate *slot;
  gpointer (*make) (RthunkCatalog *catalog);
  gboolean (*reset) (gpointer object, RthunkCatalog *catalog);
} Reusable;

static gpointer
make_checker (RthunkCatalog *catalog)
{
  return rthunk_checker_new (catalog);
}

static gboolean
reset_checker (gpointer       checker,
               RthunkCatalog *catalog)
{
  return rthunk_checker_reset (checker, catalog);
}

static gpointer
make_evaluator (RthunkCatalog *catalog)
{
  return rthunk_evaluator_new (catalog);
}

static gboolean
reset_evaluator (gpointer       evaluator,
                 RthunkCatalog *catalog)
{
  return rthunk_evaluator_reset (evaluator, catalog);
}

static const Reusable reusable_checker = { &thread_checker, make_checker, reset_checker };
static const Reusable reusable_evaluator = { &thread_evaluator, make_evaluator, reset_evaluator };

/* The thread's object, reset for @state's catalog, or a new one. */
static gpointer
borrow (const Reusable    *reusable,
        RthunkServerState *state)
{
  gpointer object = g_private_get (reusable->slot);

  if (object == NULL)
    return reusable->make (state->catalog);
  g_private_set (reusable->slot, NULL);
  if (reusable->reset (object, state->catalog))
    return object;
  g_object_unref (object);
  return reusable->make (state->catalog);
}

/* Keeps @object for the thread's next request (reset, so that it holds
 * nothing of this one), unless the thread keeps one already. */
static void
give_back (const Reusable    *reusable,
           RthunkServerState *state,
           gpointer           object)
{
  if (g_private_get (reusable->slot) == NULL && reusable->reset (object, state->catalog))
    g_private_set (reusable->slot, object);
  else
    g_object_unref (object);
}

static void
bind_input (gpointer key,
            gpointer value,
            gpointer user_data)
{
  rthunk_evaluator_bind (user_data, key, value);
}

/* Makes every definition the thunk uses callable under its hash name (the
 * stored forms and the expression were renamed so). */
static gboolean
bind_definitions (RthunkEvaluator   *evaluator,
                  RthunkThunkEntry  *entry,
                  GError           **error)
{
  for (guint k = 0; entry->definitions != NULL && k < entry->definitions->len; k++)
    {
      RthunkDefinition *def = g_ptr_array_index (entry->definitions, k);
      g_autoptr(RthunkValue) closure = rthunk_evaluator_eval (evaluator, def->form, error);

      if (closure == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Waits for the thunks the expression takes as inputs (promise
 * pipelining: they were queued before it) and binds their values. */
static gboolean
bind_thunk_inputs (RthunkServerState  *state,
                   RthunkEvaluator    *evaluator,
                   RthunkThunkEntry   *entry,
                   GCancellable       *cancellable,
                   gint64              deadline,
                   GError            **error)
{
  GHashTableIter iter;
  gpointer name, value;

  if (entry->thunk_inputs == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, entry->thunk_inputs);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      RthunkThunkEntry *input = value;

      while (rthunk_thunk_table_get_state (state->table, input) <= RTHUNK_THUNK_RUNNING)
        {
          if (g_cancellable_is_cancelled (cancellable))
            return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                                _("the thunk was cancelled")), FALSE;
          if (deadline > 0 && g_get_monotonic_time () > deadline)
            return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                                _("the thunk ran past its deadline waiting for its input “%s”"),
                                (char *) name), FALSE;
          rthunk_thunk_table_wait_any (state->table, &input, 1, g_get_monotonic_time () + 100000);
        }
      if (rthunk_thunk_table_get_state (state->table, input) != RTHUNK_THUNK_DONE)
        return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
                            _("its input “%s” failed: %s"), (char *) name,
                            input->error != NULL ? input->error->message : _("cancelled")), FALSE;
      rthunk_evaluator_bind (evaluator, name, input->value);
    }
  return TRUE;
}

/* Evaluates @entry's expression with at most @fuel steps, until
 * @cancellable (if any) is cancelled. */
static RthunkValue *
evaluate_entry (RthunkServerState  *state,
                RthunkThunkEntry   *entry,
                guint64             fuel,
                GCancellable       *cancellable,
                GError            **error)
{
  RthunkEvaluator *evaluator = borrow (&reusable_evaluator, state);
  RthunkValue *value = NULL;
  gint64 deadline = 0;

  if (entry->deadline_ms > 0)
    deadline = entry->submitted_us + (gint64) entry->deadline_ms * 1000;
  rthunk_evaluator_set_limits (evaluator, fuel, state->limits.max_depth, deadline);
  rthunk_evaluator_set_max_bytes (evaluator, state->limits.max_eval_bytes);
  rthunk_evaluator_set_cancellable (evaluator, cancellable);
  if (entry->inputs != NULL)
    g_hash_table_foreach (entry->inputs, bind_input, evaluator);
  if (bind_thunk_inputs (state, evaluator, entry, cancellable, deadline, error) &&
      bind_definitions (evaluator, entry, error))
    value = rthunk_evaluator_eval (evaluator, entry->expr, error);
  give_back (&reusable_evaluator, state, evaluator);
  return value;
}

/* Whether G_MESSAGES_DEBUG asks for rthunk's debug messages (read once). */
static gboolean
debug_wanted (void)
{
  static gsize wanted = 0;

  if (g_once_init_enter (&wanted))
    {
      const char *domains = g_getenv ("G_MESSAGES_DEBUG");
      gboolean on = domains != NULL && (strstr (domains, "rthunk") != NULL || strstr (domains, "all") != NULL);

      g_once_init_leave (&wanted, on ? 2 : 1);
    }
  return wanted == 2;
}

/* Caches, counts and publishes the outcome of a started thunk. */
static void
complete_entry (RthunkServerState *state,
                RthunkThunkEntry  *entry,
                RthunkValue       *value,
                const GError      *error)
{
  g_clear_pointer (&entry->thunk_inputs, g_hash_table_unref);
  if (value != NULL && entry->cacheable)
    rthunk_result_cache_insert (state->cache, entry->cache_key, value);
  /* count before finishing: whoever sees the thunk finished sees it counted */
  if (value != NULL)
    COUNT (state->completed);
  else if (g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED))
    COUNT (state->cancelled);
  else
    COUNT (state->failed);
  /* with structured logging a message is formatted even when debug output
   * is off: ask first, this is the hot path */
  if (debug_wanted ())
    g_debug ("thunk finished in %" G_GINT64_FORMAT " µs: %s",
             g_get_monotonic_time () - entry->submitted_us,
             value != NULL ? "done" : error->message);
  rthunk_thunk_table_finish (state->table, entry, value, error);
}

static void
run_thunk (gpointer data,
           gpointer user_data)
{
  RthunkThunkEntry *entry = data;
  RthunkServerState *state = user_data;
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = NULL;

  if (!rthunk_thunk_table_start (state->table, entry))
    {
      /* cancelled while queued: counted by thunkCancel */
      rthunk_thunk_entry_unref (entry);
      return;
    }
  g_atomic_int_inc (&state->running);
  cancellable = rthunk_thunk_table_get_cancellable (state->table, entry);
  value = evaluate_entry (state, entry, entry->fuel, cancellable, &error);
  complete_entry (state, entry, value, error);
  g_atomic_int_dec_and_test (&state->running);
  rthunk_thunk_entry_unref (entry);
}

/* A short pure thunk is evaluated right away in the connection's thread,
 * with a little fuel: most small requests finish there, with no hand-off
 * to a worker. One that needs more fuel is queued and starts again from
 * scratch — harmless, since pure code has no effect to repeat. */
static gboolean
try_inline_within (RthunkServerState *state,
                   RthunkThunkEntry  *entry,
                   guint64            steps)
{
  g_autoptr(RthunkValue) value = NULL;
  g_autoptr(GError) error = NULL;
  guint64 fuel = MIN (entry->fuel, steps);

  /* too short to be worth a cancellable: a cancel finds it finished */
  value = evaluate_entry (state, entry, fuel, NULL, &error);
  if (value == NULL && fuel < entry->fuel &&
      g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_FUEL_EXHAUSTED))
    return FALSE;
  rthunk_thunk_table_start (state->table, entry);
  complete_entry (state, entry, value, error);
  return TRUE;
}

static gboolean
try_inline (RthunkServerState *state,
            RthunkThunkEntry  *entry)
{
  return try_inline_within (state, entry, INLINE_FUEL);
}

static void run_fetch (gpointer data, gpointer user_data);

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

static guint
ast_bytes_hash (gconstpointer key)
{
  gsize len;
  const guint8 *p = g_bytes_get_data ((GBytes *) key, &len);

  return hash_bytes (p, len);
}

RthunkServerState *
rthunk_server_state_new (RthunkCatalog            *catalog,
                         const char               *name,
                         const RthunkServerLimits *limits)
{
  RthunkServerState *state = g_new0 (RthunkServerState, 1);
  g_autoptr(GError) error = NULL;

  state->name = g_strdup (name);
  state->catalog = g_object_ref (catalog);
  state->limits = *limits;
  state->table = rthunk_thunk_table_new (limits->max_thunks, limits->thunk_ttl_ms);
  state->defs = rthunk_def_store_new (limits->max_definitions, limits->definitions_bytes);
  state->cache = rthunk_result_cache_new (limits->cache_entries, limits->cache_bytes);
  state->pool = g_thread_pool_new (run_thunk, state, MAX (limits->workers, 1), FALSE, &error);
  if (state->pool == NULL)
    g_error ("cannot start the worker pool: %s", error->message);
  g_mutex_init (&state->memo_lock);
  state->memo = g_hash_table_new_full (ast_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                       (GDestroyNotify) memo_shape_unref);
  g_mutex_init (&state->peers_lock);
  state->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  state->fetch_pool = g_thread_pool_new (run_fetch, state, MAX_FETCHES, FALSE, &error);
  if (state->fetch_pool == NULL)
    g_error ("cannot start the fetch pool: %s", error->message);
  if (getrandom (state->instance_id, sizeof state->instance_id, 0) != sizeof state->instance_id)
    for (guint k = 0; k < sizeof state->instance_id; k++)
      state->instance_id[k] = g_random_int_range (0, 256);
  return state;
}

/* Lets every queued thunk finish; no new one can be queued afterwards. */
void
rthunk_server_state_drain (RthunkServerState *state)
{
  if (state->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&state->pool), FALSE, TRUE);
}

void
rthunk_server_state_free (RthunkServerState *state)
{
  g_atomic_int_set (&state->stopping, TRUE);
  if (state->fetch_pool != NULL)
    g_thread_pool_free (g_steal_pointer (&state->fetch_pool), FALSE, TRUE);
  rthunk_server_state_drain (state);
  g_hash_table_unref (state->peers);
  g_mutex_clear (&state->peers_lock);
  g_hash_table_unref (state->memo);
  g_mutex_clear (&state->memo_lock);
  g_strfreev (state->fetch_from);
  rthunk_thunk_table_free (state->table);
  rthunk_def_store_free (state->defs);
  rthunk_result_cache_free (state->cache);
  g_free (state->token);
  g_object_unref (state->catalog);
  g_free (state->name);
  g_free (state);
}

/* ---- exceptions -------------------------------------------------------- */

/* The position a "SOURCE:LINE:COL: error: …" message starts with. */
static RthunkWireSourcePos *
position_of (const char *message)
{
  g_autofree char *source = NULL;
  gint32 line, col;

  if (!rthunk_codec_message_position (message, &source, &line, &col))
    return NULL;
  return g_object_new (RTHUNK_WIRE_TYPE_SOURCE_POS, "source", source, "line", line, "col", col, NULL);
}

static gboolean
throw_invalid (RthunkWireInvalidRequest **invalid,
               const GError              *error)
{
  RthunkWireSourcePos *pos = position_of (error->message);

  *invalid = g_object_new (RTHUNK_WIRE_TYPE_INVALID_REQUEST,
                           "code", error->domain == RTHUNK_ERROR ? error->code : RTHUNK_ERROR_INVALID_REQUEST,
                           "message", error->message, NULL);
  if (pos != NULL)
    {
      g_object_set (*invalid, "pos", pos, NULL);
      g_object_unref (pos);
    }
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
  RthunkWireSourcePos *pos = position_of (error->message);

  *failure = g_object_new (RTHUNK_WIRE_TYPE_TYPE_FAILURE,
                           "code", error->code, "message", error->message, NULL);
  if (pos != NULL)
    {
      g_object_set (*failure, "pos", pos, NULL);
      g_object_unref (pos);
    }
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
  RthunkWireSourcePos *pos = position_of (error->message);

  if (pos != NULL)
    {
      g_object_set (info, "pos", pos, NULL);
      g_object_unref (pos);
    }
  return info;
}

static gboolean
valid_name (const char *name)
{
  return name != NULL && name[0] != '\0' && strlen (name) <= 256 && g_utf8_validate (name, -1, NULL) &&
         !g_str_has_prefix (name, "__def_");
}

typedef struct
{
  RthunkThunkEntry *entry;
  GError *error;
  gboolean type_error;
  gboolean overloaded;
  char *expected;               /* of a type mismatch */
  char *found;
  GPtrArray *definitions;       /* RthunkDefinition the request uses */
  GHashTable *def_names;        /* name → hash (GBytes) */
  GPtrArray *missing;           /* hashes (GBytes) the store lacks */
} Submission;

static void
submission_clear (Submission *sub)
{
  g_clear_pointer (&sub->definitions, g_ptr_array_unref);
  g_clear_pointer (&sub->def_names, g_hash_table_unref);
  g_clear_pointer (&sub->missing, g_ptr_array_unref);
  g_clear_pointer (&sub->expected, g_free);
  g_clear_pointer (&sub->found, g_free);
}


/* ---- requests ------------------------------------------------------------ */


/* An input of a request as submit_one() reads it: a value sent along, or a
 * reference to a thunk (of this server, or held by another one). */
typedef struct
{
  char *name;                   /* NULL if the binding has none */
  RthunkValue *value;           /* the value sent along… */
  GError *value_error;          /* …or why it is not one */
  gboolean is_thunk;            /* the value is one THUNK node */
  GBytes *thunk_id;             /* its id, NULL if it has none */
  char *holder;                 /* the server that holds it, or NULL */
  gboolean has_type;            /* the binding declares a type */
  RthunkType *type;             /* that type, if well formed… */
  GError *type_error;           /* …or why it is not */
} RequestInput;

typedef struct
{
  char *name;                   /* NULL if missing */
  GBytes *hash;                 /* NULL if missing */
} RequestDefRef;

/* An EvalRequest as submit_one() reads it: from the generated struct
 * (request_from_wire()), or straight from the frame (request_decode()). */
typedef struct
{
  RthunkNode *expr;             /* the tree, when the codec built it… */
  RthunkWireAst *wire_ast;      /* …or the generated struct, if any… */
  GPtrArray *nodes;             /* …with its nodes in the Ast's order, if the memo may keep it… */
  MemoShape *shape;             /* …or the memo's tree of the same shape */
  const guint8 *ast_data;       /* the Ast bytes in the frame, if read from one */
  gsize ast_len;
  gboolean memo_ok;             /* the memo may keep it: read from a frame, no definitions */
  guint memo_hash;              /* the hash of its Ast bytes with the slots zeroed */
  GArray *inputs;               /* RequestInput */
  GArray *refs;                 /* RequestDefRef; NULL until the first (see refs_of()) */
  gboolean use_cache;
  gint64 fuel;                  /* ≤ 0: the server's */
  gint32 deadline_ms;           /* ≤ 0: the server's */
  gint32 inline_budget_ms;      /* < 0: the server's */
  gboolean by_reference;
  gboolean has_thunk_id;
  GBytes *thunk_id;             /* the id it proposes, NULL if none was sent */
} Request;

static void
request_input_clear (gpointer data)
{
  RequestInput *input = data;

  g_free (input->name);
  g_clear_pointer (&input->value, rthunk_value_unref);
  g_clear_error (&input->value_error);
  g_clear_pointer (&input->thunk_id, g_bytes_unref);
  g_free (input->holder);
  g_clear_pointer (&input->type, rthunk_type_unref);
  g_clear_error (&input->type_error);
}

static void
request_def_ref_clear (gpointer data)
{
  RequestDefRef *ref = data;

  g_free (ref->name);
  g_clear_pointer (&ref->hash, g_bytes_unref);
}

static void
request_init (Request *req)
{
  memset (req, 0, sizeof *req);
  req->inputs = g_array_new (FALSE, TRUE, sizeof (RequestInput));
  g_array_set_clear_func (req->inputs, request_input_clear);
  req->use_cache = TRUE;
  req->inline_budget_ms = -1;
}

/* How many definitions @req names. */
static guint
n_refs (const Request *req)
{
  return req->refs != NULL ? req->refs->len : 0;
}

/* @req's definition references, made for the first one (most requests
 * name none). */
static GArray *
refs_of (Request *req)
{
  if (req->refs == NULL)
    {
      req->refs = g_array_new (FALSE, TRUE, sizeof (RequestDefRef));
      g_array_set_clear_func (req->refs, request_def_ref_clear);
    }
  return req->refs;
}

static void
request_clear (Request *req)
{
  g_clear_pointer (&req->expr, rthunk_node_unref);
  g_clear_object (&req->wire_ast);
  g_clear_pointer (&req->nodes, g_ptr_array_unref);
  g_clear_pointer (&req->shape, memo_shape_unref);
  g_clear_pointer (&req->inputs, g_array_unref);
  g_clear_pointer (&req->refs, g_array_unref);
  g_clear_pointer (&req->thunk_id, g_bytes_unref);
}

static GBytes *
bytes_of (const GByteArray *array)
{
  return array != NULL ? g_bytes_new (array->data, array->len) : NULL;
}

/* The request the generated code read. */
static void
request_from_wire (const RthunkWireEvalRequest *wire,
                   Request                     *req)
{
  const RthunkWireEvalOptions *o = wire->__isset_options ? wire->options : NULL;

  request_init (req);
  req->wire_ast = wire->ast != NULL ? g_object_ref (wire->ast) : NULL;
  if (o != NULL)
    {
      req->use_cache = !o->__isset_useCache || o->useCache;
      req->fuel = o->__isset_fuel ? o->fuel : 0;
      req->deadline_ms = o->__isset_deadlineMs ? o->deadlineMs : 0;
      req->inline_budget_ms = o->__isset_inlineBudgetMs ? o->inlineBudgetMs : -1;
      req->by_reference = o->__isset_byReference && o->byReference;
    }
  req->has_thunk_id = wire->__isset_thunkId;
  req->thunk_id = wire->__isset_thunkId ? bytes_of (wire->thunkId) : NULL;
  for (guint k = 0; wire->__isset_bindings && k < wire->bindings->len; k++)
    {
      RthunkWireBinding *binding = g_ptr_array_index (wire->bindings, k);
      const RthunkWireValue *value = binding->value;
      RthunkWireValueNode *node = value != NULL && value->nodes != NULL && value->nodes->len == 1
        ? g_ptr_array_index (value->nodes, 0) : NULL;
      RequestInput input = { g_strdup (binding->name), NULL, };

      if (node != NULL && node->kind == RTHUNK_WIRE_VALUE_KIND_THUNK)
        {
          input.is_thunk = TRUE;
          input.thunk_id = bytes_of (node->thunkId);
          input.holder = node->__isset_holder ? g_strdup (node->holder) : NULL;
        }
      else if (value != NULL)
        input.value = rthunk_wire_read_value (value, &input.value_error);
      else
        input.value_error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                                 _("a binding has no value"));
      input.has_type = binding->__isset_type && binding->type != NULL;
      if (input.has_type)
        input.type = rthunk_wire_read_type (binding->type, &input.type_error);
      g_array_append_val (req->inputs, input);
    }
  for (guint k = 0; wire->__isset_definitions && k < wire->definitions->len; k++)
    {
      RthunkWireDefRef *wref = g_ptr_array_index (wire->definitions, k);
      RequestDefRef ref = { g_strdup (wref->name), bytes_of (wref->hash) };

      g_array_append_val (refs_of (req), ref);
    }
}

/* The error a submission that made no thunk failed with (owned by @sub): a refusal, or
 * definitions the store lacks. Call it before submission_clear(). */
static GError *
submission_error (Submission *sub)
{
  if (sub->error == NULL)
    sub->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
                              _("the server lacks %u definitions: send them with putDefinitions"),
                              sub->missing != NULL ? sub->missing->len : 0);
  return sub->error;
}

static gboolean resolve_def_name (const char *name, guint8 hash[RTHUNK_HASH_LEN], gpointer user_data);
/* ---- auth ---------------------------------------------------------------- */

/* Compares in time that depends only on the lengths. */
static gboolean
tokens_equal (const char *given,
              const char *expected)
{
  gsize n = strlen (expected), m = strlen (given);
  guint8 diff = n != m;

  for (gsize k = 0; k < n; k++)
    diff |= (guint8) expected[k] ^ (guint8) (k < m ? given[k] : 0);
  return diff == 0;
}

static gboolean
authorized (RthunkServerState         *state,
            const RthunkWireAuth      *auth,
            RthunkWireNotAuthorized  **denied)
{
  if (state->token == NULL)
    return TRUE;
  if (auth != NULL && auth->__isset_token && auth->token != NULL &&
      tokens_equal (auth->token, state->token))
    return TRUE;
  *denied = g_object_new (RTHUNK_WIRE_TYPE_NOT_AUTHORIZED, "code", RTHUNK_ERROR_NOT_AUTHORIZED,
                          "message", _("this server needs a valid token (--token-file or RTHUNK_TOKEN)"),
                          NULL);
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
  if (!g_atomic_int_get (&state->draining))
    return FALSE;
  *overloaded = g_object_new (RTHUNK_WIRE_TYPE_OVERLOADED, "code", RTHUNK_ERROR_OVERLOADED,
                              "message", _("the server is shutting down: it accepts no new thunks"),
                              "retryAfterMs", 0, NULL);
  return TRUE;
}

#define REFUSE_WHILE_DRAINING(state, overloaded) \
  G_STMT_START { if (refuse_while_draining ((state), (overloaded))) return FALSE; } G_STMT_END

/* ---- definitions ------------------------------------------------------- */

/* The global name a definition has while a thunk runs: its hash. Names in
 * requests and stored forms are only aliases, renamed to these, so two
 * clients' names never meet. */
#define DEF_NAME_PREFIX "__def_"

static char *
def_global_name (const guint8 *hash)
{
  GString *name = g_string_new (DEF_NAME_PREFIX);

  for (guint k = 0; k < RTHUNK_HASH_LEN; k++)
    g_string_append_printf (name, "%02x", hash[k]);
  return g_string_free (name, FALSE);
}

/* @form with its own name and the names of its uses renamed to hashes. */
static RthunkNode *
rename_definition (RthunkDefinition *def,
                   RthunkNode       *form)
{
  g_autoptr(GHashTable) renames = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint k = 0; k < def->n_uses; k++)
    g_hash_table_replace (renames, def->uses[k].name, def_global_name (def->uses[k].hash));
  g_hash_table_replace (renames, (gpointer) rthunk_node_get_text (rthunk_node_get_item (form, 1)),
                        def_global_name (def->hash));
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
static gboolean
names_only_pure (RthunkCatalog *catalog,
                 RthunkNode    *node)
{
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      RthunkFuncDef *def = rthunk_catalog_lookup (catalog, rthunk_node_get_text (node));

      return def == NULL || (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PURE) != 0;
    }
  for (guint k = 0; k < rthunk_node_get_n_items (node); k++)
    if (!names_only_pure (catalog, rthunk_node_get_item (node, k)))
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

      if (!valid_name (ref->name) || !valid_hash (ref->hash))
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

/* Checks a definition that arrived: a defn whose hash is what it claims,
 * whose uses the store holds, and which type-checks with them. */
static RthunkDefinition *
verify_definition (RthunkServerState         *state,
                   const RthunkWireDefinition *wire,
                   GError                   **error)
{
  g_autoptr(RthunkDefinition) def = g_new0 (RthunkDefinition, 1);
  g_autoptr(RthunkChecker) checker = rthunk_checker_new (state->catalog);
  g_autoptr(RthunkType) type = NULL;
  UseResolver resolver;
  guint8 hash[RTHUNK_HASH_LEN];
  RthunkNode *name;
  RthunkNode *renamed;

  def->ref_count = 1;
  rthunk_checker_set_remote_allowed (checker, FALSE);
  if (!valid_hash (wire->hash))
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("a definition hash must be 32 bytes")), NULL;
  if (wire->form == NULL ||
      (def->form = rthunk_wire_read_ast (wire->form, state->limits.max_ast_nodes, error)) == NULL ||
      !read_uses (wire->uses, def, error))
    return NULL;
  if (rthunk_node_get_kind (def->form) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (def->form) < 4 ||
      !rthunk_node_is_symbol (rthunk_node_get_item (def->form, 0), "defn"))
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("a definition must be a (defn NAME [params] body…) form")), NULL;
  resolver.uses = def->uses;
  resolver.n_uses = def->n_uses;
  if (!rthunk_hash_definition (def->form, resolve_use, &resolver, hash, error))
    return NULL;
  if (memcmp (hash, wire->hash->data, RTHUNK_HASH_LEN) != 0)
    return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                        _("the definition does not have the hash it claims")), NULL;
  memcpy (def->hash, hash, RTHUNK_HASH_LEN);
  def->pure = names_only_pure (state->catalog, def->form);
  for (guint k = 0; k < def->n_uses; k++)
    {
      g_autoptr(RthunkDefinition) used = rthunk_def_store_lookup (state->defs, def->uses[k].hash);

      if (used == NULL)
        return g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS,
                            _("the definition uses “%s”, which the server does not hold: send it first"),
                            def->uses[k].name), NULL;
      rthunk_checker_bind (checker, def->uses[k].name, used->type);
      def->pure = def->pure && used->pure;
    }
  if ((type = rthunk_checker_check (checker, def->form, error)) == NULL)
    return NULL;
  name = rthunk_node_get_item (def->form, 1);
  def->type = rthunk_type_ref (rthunk_checker_lookup (checker, rthunk_node_get_text (name)));
  def->bytes = sizeof *def + wire->form->nodes->len * 64;
  /* kept as it runs: every name it uses for a definition is that one's hash */
  renamed = rename_definition (def, def->form);
  rthunk_node_unref (def->form);
  def->form = renamed;
  return g_steal_pointer (&def);
}

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
      g_autoptr(RthunkDefinition) def = verify_definition (state, g_ptr_array_index (definitions, k),
                                                           &failure);

      if (def == NULL)
        {
          g_prefix_error (&failure, _("definition %u: "), k);
          return throw_invalid (invalid, failure);
        }
      if (rthunk_def_store_insert (state->defs, def))
        added++;
    }
  *_return = added;
  return TRUE;
}

/* Finds every definition the request names, and what those use, in the
 * store; the hashes it lacks go to @missing. */
static gboolean
resolve_definitions (RthunkServerState *state,
                     const Request     *request,
                     RthunkChecker     *checker,
                     Submission        *out)
{
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GQueue) todo = NULL;

  if (n_refs (request) == 0)
    return TRUE;                /* no definitions: nothing to find */
  seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  todo = g_queue_new ();

  out->definitions = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_definition_unref);
  out->def_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  out->missing = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint k = 0; k < n_refs (request); k++)
    {
      RequestDefRef *ref = &g_array_index (request->refs, RequestDefRef, k);

      if (!valid_name (ref->name) || !valid_hash_bytes (ref->hash) ||
          g_hash_table_contains (out->def_names, ref->name))
        {
          out->error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                    _("definition reference %u: a missing, invalid or repeated name, or a hash that is not 32 bytes"), k);
          return FALSE;
        }
      g_hash_table_insert (out->def_names, g_strdup (ref->name), g_bytes_ref (ref->hash));
      g_queue_push_tail (todo, g_bytes_ref (ref->hash));
    }
  while (!g_queue_is_empty (todo))
    {
      g_autoptr(GBytes) hash = g_queue_pop_head (todo);
      RthunkDefinition *def;

      if (g_hash_table_contains (seen, hash))
        continue;
      g_hash_table_add (seen, g_bytes_ref (hash));
      if ((def = rthunk_def_store_lookup (state->defs, g_bytes_get_data (hash, NULL))) == NULL)
        {
          g_ptr_array_add (out->missing, g_bytes_ref (hash));
          continue;
        }
      g_ptr_array_add (out->definitions, def);
      for (guint u = 0; u < def->n_uses; u++)
        g_queue_push_tail (todo, g_bytes_new (def->uses[u].hash, RTHUNK_HASH_LEN));
    }
  if (out->missing->len > 0)
    return FALSE;
  for (guint d = 0; d < out->definitions->len; d++)
    {
      RthunkDefinition *def = g_ptr_array_index (out->definitions, d);
      g_autofree char *global = def_global_name (def->hash);

      rthunk_checker_bind (checker, global, def->type);
    }
  return TRUE;
}

/* The cache key of a pure request: its expression (definitions by hash,
 * as in a content address), then each input by name and printed value. */
static gboolean
cache_key (RthunkNode   *expr,
           GHashTable   *inputs,
           GHashTable   *def_names,
           guint8        key[RTHUNK_HASH_LEN])
{
  g_autoptr(RthunkNode) params = rthunk_node_new_seq (RTHUNK_NODE_VECTOR, NULL, 0);
  g_autoptr(RthunkNode) fn_sym = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "fn");
  RthunkNode *items[3] = { fn_sym, params, expr };
  g_autoptr(RthunkNode) wrapped = rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
  g_autoptr(GBytes) code = NULL;
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GList) names = NULL;
  gsize len = RTHUNK_HASH_LEN;

  if ((code = rthunk_hash_encode_definition (wrapped, resolve_def_name, def_names, NULL)) == NULL)
    return FALSE;
  g_checksum_update (sum, (const guchar *) "rthunk-cache-1", 14);
  g_checksum_update (sum, g_bytes_get_data (code, NULL), g_bytes_get_size (code));
  names = inputs != NULL ? g_list_sort (g_hash_table_get_keys (inputs), (GCompareFunc) strcmp) : NULL;
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *printed = rthunk_value_to_string (g_hash_table_lookup (inputs, l->data));

      g_checksum_update (sum, l->data, strlen (l->data) + 1);
      g_checksum_update (sum, (const guchar *) printed, strlen (printed) + 1);
    }
  g_checksum_get_digest (sum, key, &len);
  return TRUE;
}

static gboolean
resolve_def_name (const char *name,
                  guint8      hash[RTHUNK_HASH_LEN],
                  gpointer    user_data)
{
  GBytes *found = user_data != NULL ? g_hash_table_lookup (user_data, name) : NULL;

  if (found == NULL)
    return FALSE;
  memcpy (hash, g_bytes_get_data (found, NULL), RTHUNK_HASH_LEN);
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
  guint unfinished = rthunk_thunk_table_count_unfinished (state->table);
  guint running = g_atomic_int_get (&state->running);

  REQUIRE_AUTH (state, auth, denied);

  g_object_set (info, "name", state->name, "version", RTHUNK_VERSION_S,
                "protocolVersion", RTHUNK_PROTOCOL_VERSION,
                "running", (gint) running, "queued", (gint) (unfinished - MIN (unfinished, running)),
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
                "submitted", (gint64) __atomic_load_n (&state->submitted, __ATOMIC_RELAXED),
                "completed", (gint64) __atomic_load_n (&state->completed, __ATOMIC_RELAXED),
                "failed", (gint64) __atomic_load_n (&state->failed, __ATOMIC_RELAXED),
                "cancelled", (gint64) __atomic_load_n (&state->cancelled, __ATOMIC_RELAXED),
                "cacheHits", (gint64) __atomic_load_n (&state->cache_hits, __ATOMIC_RELAXED),
                "definitionsStored", (gint64) rthunk_def_store_size (state->defs),
                "pipelined", (gint64) __atomic_load_n (&state->pipelined, __ATOMIC_RELAXED),
                "fetched", (gint64) __atomic_load_n (&state->fetched, __ATOMIC_RELAXED),
                "batches", (gint64) __atomic_load_n (&state->batches, __ATOMIC_RELAXED),
                "memoHits", (gint64) __atomic_load_n (&state->memo_hits, __ATOMIC_RELAXED), NULL);
  rthunk_wire_set_bytes (&info->instanceId, state->instance_id, sizeof state->instance_id);
  for (guint k = 0; state->fetch_from != NULL && state->fetch_from[k] != NULL; k++)
    g_ptr_array_add (info->fetchesFrom, g_strdup (state->fetch_from[k]));
  return TRUE;
}

/* ---- inputs held by other servers ---------------------------------------- */

#define FETCH_SLICE_MS 1000

typedef struct
{
  RthunkServerState *state;
  RthunkThunkEntry *entry;      /* the placeholder the value goes to */
  char *holder;
  RthunkType *type;             /* what the client declared (a copy of its own) */
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  rthunk_thunk_entry_unref (fetch->entry);
  rthunk_type_unref (fetch->type);
  g_free (fetch->holder);
  g_free (fetch);
}

typedef struct
{
  RthunkValue *value;
  GError *error;
  gboolean finished;
} Fetched;

static void
on_fetched (GBytes       *id,
            RthunkValue  *value,
            const GError *error,
            gpointer      user_data)
{
  Fetched *out = user_data;

  out->finished = TRUE;
  if (value != NULL)
    out->value = rthunk_value_ref (value);
  else
    out->error = g_error_copy (error);
}

/* Whether @value has the type the client declared for it. */
static gboolean
fetched_type_ok (const Fetch  *fetch,
                 RthunkValue  *value,
                 GError      **error)
{
  g_autoptr(RthunkType) actual = NULL;
  guint next_var = 1u << 20;    /* clear of the declared type's variables */

  if ((actual = rthunk_type_of_value (value, &next_var, error)) == NULL)
    return FALSE;
  if (rthunk_type_unify (fetch->type, actual))
    return TRUE;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH,
               _("the value fetched from %s does not have the type the request declared"), fetch->holder);
  return FALSE;
}

/* The client for @address, made once and shared by the fetches (its pool
 * gives each its own connection). */
static RthunkClient *
peer_client (RthunkServerState *state,
             const char        *address)
{
  RthunkClient *client;

  g_mutex_lock (&state->peers_lock);
  if ((client = g_hash_table_lookup (state->peers, address)) == NULL)
    {
      client = rthunk_client_new (address);
      rthunk_client_set_token (client, state->token);
      g_hash_table_insert (state->peers, g_strdup (address), client);
    }
  g_object_ref (client);
  g_mutex_unlock (&state->peers_lock);
  return client;
}

/* A worker of the fetch pool: long-polls the holder for the value, checks
 * its type and finishes the placeholder, which starts whatever waits. */
static void
run_fetch (gpointer data,
           gpointer user_data)
{
  Fetch *fetch = data;
  RthunkServerState *state = user_data;
  RthunkThunkEntry *entry = fetch->entry;
  g_autoptr(RthunkClient) client = peer_client (state, fetch->holder);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  guint limit_ms = state->limits.deadline_ms > 0 ? state->limits.deadline_ms : 600000;
  gint64 give_up = g_get_monotonic_time () + (gint64) limit_ms * 1000;
  Fetched got = { NULL, NULL, FALSE };

  if (!rthunk_thunk_table_start (state->table, entry))
    {
      fetch_free (fetch);
      return;
    }
  cancellable = rthunk_thunk_table_get_cancellable (state->table, entry);
  g_ptr_array_add (ids, g_bytes_new (entry->id, RTHUNK_THUNK_ID_LEN));
  while (!got.finished && error == NULL)
    {
      if (g_atomic_int_get (&state->stopping) || g_cancellable_is_cancelled (cancellable))
        g_set_error (&error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED,
                     _("the fetch of an input from %s was stopped"), fetch->holder);
      else if (g_get_monotonic_time () > give_up)
        g_set_error (&error, RTHUNK_ERROR, RTHUNK_ERROR_DEADLINE_EXCEEDED,
                     _("%s did not give the input within %u ms"), fetch->holder, limit_ms);
      else if (!rthunk_client_await_many (client, ids, FETCH_SLICE_MS, on_fetched, &got, &error))
        g_prefix_error (&error, _("fetching an input from %s: "), fetch->holder);
    }
  if (got.error != NULL)
    {
      g_clear_error (&error);
      error = g_steal_pointer (&got.error);
      g_prefix_error (&error, _("the input fetched from %s failed: "), fetch->holder);
    }
  if (got.value != NULL && error == NULL && fetched_type_ok (fetch, got.value, &error))
    {
      COUNT (state->fetched);
      if (debug_wanted ())
        g_debug ("fetched an input from %s", fetch->holder);
    }
  else
    g_clear_pointer (&got.value, rthunk_value_unref);
  rthunk_thunk_table_finish (state->table, entry, got.value, error);
  g_clear_pointer (&got.value, rthunk_value_unref);
  fetch_free (fetch);
}

/* An input another server holds: a placeholder under the same id (ids are
 * random across servers), filled by a fetch; a second request naming the
 * same thunk finds the placeholder and shares the fetch. */
static RthunkThunkEntry *
fetch_input (RthunkServerState   *state,
             const RequestInput  *binding,
             GError             **error)
{
  g_autoptr(RthunkNode) nothing = NULL;
  g_autoptr(RthunkType) type = NULL;
  RthunkThunkEntry *entry;
  Fetch *fetch;

  const guint8 *id = binding->thunk_id != NULL ? g_bytes_get_data (binding->thunk_id, NULL) : NULL;

  if (!rthunk_address_allowed ((const char *const *) state->fetch_from, binding->holder))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED,
                   _("the input “%s” is held by %s, which this server does not fetch from (see --fetch-from)"),
                   binding->name, binding->holder);
      return NULL;
    }
  if (binding->has_type && binding->type_error != NULL && binding->thunk_id != NULL &&
      g_bytes_get_size (binding->thunk_id) == RTHUNK_THUNK_ID_LEN)
    {
      g_propagate_error (error, g_error_copy (binding->type_error));
      return NULL;
    }
  if (id == NULL || g_bytes_get_size (binding->thunk_id) != RTHUNK_THUNK_ID_LEN || binding->type == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the input “%s” names a thunk on %s without a 16-byte id and its type"),
                   binding->name, binding->holder);
      return NULL;
    }
  type = rthunk_type_ref (binding->type);
  nothing = rthunk_node_new_nil ();
  entry = rthunk_thunk_table_add (state->table, nothing, NULL, type, id);
  if (entry == NULL)
    {
      /* fetched already, or being fetched */
      if ((entry = rthunk_thunk_table_lookup (state->table, id, RTHUNK_THUNK_ID_LEN)) == NULL)
        g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK,
                     _("the input “%s” names a thunk that vanished"), binding->name);
      return entry;
    }
  fetch = g_new0 (Fetch, 1);
  fetch->state = state;
  fetch->entry = rthunk_thunk_entry_ref (entry);
  fetch->holder = g_strdup (binding->holder);
  /* a copy of its own: unifying it with what the fetch brings back must
   * not touch the type the placeholder carries */
  fetch->type = rthunk_type_resolve (type);
  g_thread_pool_push (state->fetch_pool, fetch, NULL);
  return entry;
}

/* ---- submission -------------------------------------------------------- */

/* A binding whose value is a reference to a thunk of this server (promise
 * pipelining): the thunk, or NULL if the value is not a reference. */
static gboolean
read_thunk_ref (RthunkServerState   *state,
                const RequestInput  *binding,
                RthunkThunkEntry   **entry,
                GError             **error)
{
  gsize len;
  const guint8 *id;

  *entry = NULL;
  if (!binding->is_thunk)
    return TRUE;
  if (binding->thunk_id != NULL)
    {
      id = g_bytes_get_data (binding->thunk_id, &len);
      *entry = rthunk_thunk_table_lookup (state->table, id, len);
    }
  if (*entry == NULL && binding->holder != NULL)
    return (*entry = fetch_input (state, binding, error)) != NULL;
  if (*entry == NULL || (*entry)->type == NULL)
    {
      g_clear_pointer (entry, rthunk_thunk_entry_unref);
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_THUNK,
                   _("the input “%s” names a thunk this server does not hold"), binding->name);
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

/* The inputs of @request: their values (*@inputs) and the thunks they
 * name (*@thunk_inputs), each table made for its first input (both NULL
 * at first); each name and type is appended to @sig if given (the memo's
 * key of the types a tree was checked with). */
static gboolean
read_bindings (RthunkServerState  *state,
               const Request      *request,
               GHashTable        **inputs,
               GHashTable        **thunk_inputs,
               GString            *sig,
               GError            **error)
{
  guint next_var = 0;

  for (guint k = 0; k < request->inputs->len; k++)
    {
      const RequestInput *binding = &g_array_index (request->inputs, RequestInput, k);
      g_autoptr(RthunkType) type = NULL;

      RthunkThunkEntry *ref = NULL;

      if (!valid_name (binding->name) || (*inputs != NULL && g_hash_table_contains (*inputs, binding->name)) ||
          (*thunk_inputs != NULL && g_hash_table_contains (*thunk_inputs, binding->name)))
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
            append_sig (sig, binding->name, ref->type);
          if (*thunk_inputs == NULL)
            *thunk_inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) rthunk_thunk_entry_unref);
          g_hash_table_insert (*thunk_inputs, g_strdup (binding->name), ref);
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
        append_sig (sig, binding->name, type);
      if (*inputs == NULL)
        *inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_value_unref);
      g_hash_table_insert (*inputs, g_strdup (binding->name), rthunk_value_ref (binding->value));
    }
  return TRUE;
}

/* Binds in @checker the type of each input of @request that
 * read_bindings() accepted: the thunk's, or its value's. */
static void
bind_input_types (RthunkChecker *checker,
                  const Request *request,
                  GHashTable    *inputs,
                  GHashTable    *thunk_inputs)
{
  guint next_var = 0;

  for (guint k = 0; k < request->inputs->len; k++)
    {
      const char *name = g_array_index (request->inputs, RequestInput, k).name;
      RthunkThunkEntry *ref = thunk_inputs != NULL ? g_hash_table_lookup (thunk_inputs, name) : NULL;
      g_autoptr(RthunkType) type = NULL;

      if (ref != NULL)
        rthunk_checker_bind (checker, name, ref->type);
      else if ((type = rthunk_type_of_value (g_hash_table_lookup (inputs, name), &next_var, NULL)) != NULL)
        rthunk_checker_bind (checker, name, type);
    }
}


static guint
count_unfinished (RthunkServerState *state,
                  GHashTable        *thunk_inputs)
{
  GHashTableIter iter;
  gpointer entry;
  guint n = 0;

  g_hash_table_iter_init (&iter, thunk_inputs);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    if (rthunk_thunk_table_get_state (state->table, entry) <= RTHUNK_THUNK_RUNNING)
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
apply_options (RthunkServerState *state,
               RthunkThunkEntry  *entry,
               const Request     *request)
{
  entry->fuel = state->limits.fuel;
  entry->deadline_ms = state->limits.deadline_ms;
  entry->by_reference = request->by_reference;
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
    g_hash_table_replace (renames, name, def_global_name (g_bytes_get_data (hash, NULL)));
  return rthunk_node_rename_free (expr, renames);
}

static gboolean
check_request (RthunkChecker *checker,
               RthunkNode    *expr,
               RthunkType   **type,
               Submission    *out)
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
proposed_id (const Request  *request,
             const guint8  **id,
             GError        **error)
{
  if (!request->has_thunk_id)
    return TRUE;
  if (request->thunk_id == NULL || g_bytes_get_size (request->thunk_id) != RTHUNK_THUNK_ID_LEN)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("a proposed thunk id must be %d bytes"), RTHUNK_THUNK_ID_LEN);
      return FALSE;
    }
  *id = g_bytes_get_data (request->thunk_id, NULL);
  return TRUE;
}

static void
id_in_use (GError **error)
{
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("the thunk id the request proposes is already in use"));
}

/* ---- the memo of checked requests ---------------------------------------- */

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
#define MEMO_MAX_AST_BYTES 4096
#define MEMO_MAX_SLOTS 128

struct _RthunkChecked           /* in a GLib atomic rc box */
{
  RthunkNode *expr;
  RthunkType *type;
  gboolean pure;                /* only pure catalog functions */
  gboolean closed;              /* no inputs: its cache key is its own */
  gint expensive;               /* (atomic) once took CACHE_MIN_STEPS or more */
  gint has_key;                 /* (atomic) key is set (under memo_lock) */
  guint8 key[RTHUNK_HASH_LEN];  /* the result cache's key, if closed */
};

struct _MemoShape               /* in a GLib atomic rc box */
{
  RthunkChecked *checked;       /* the template: its tree, type and purity */
  GBytes *sig;                  /* the input types it was checked with, NULL if none */
  guint8 *raw;                  /* the template's Ast bytes */
  gsize len;
  RthunkCodecSlot *slots;       /* their slots, by node */
  guint n_slots;
  RthunkNode **nodes;           /* the template's nodes in the Ast's order (refs) */
  guint n_nodes;
  guint32 *kid_start;           /* node k's children are kids[kid_start[k]] … */
  guint32 *kids;                /* … kids[kid_start[k + 1] - 1] */
};

#define checked_ref(checked) ((RthunkChecked *) g_atomic_rc_box_acquire (checked))

static void
checked_clear (gpointer data)
{
  RthunkChecked *checked = data;

  rthunk_node_unref (checked->expr);
  rthunk_type_unref (checked->type);
}

static void
checked_unref (RthunkChecked *checked)
{
  g_atomic_rc_box_release_full (checked, checked_clear);
}

static RthunkChecked *
checked_new (RthunkNode *expr,
             RthunkType *type,
             gboolean    pure,
             gboolean    closed)
{
  RthunkChecked *checked = g_atomic_rc_box_new0 (RthunkChecked);

  checked->expr = expr;
  checked->type = type;
  checked->pure = pure;
  checked->closed = closed;
  return checked;
}

static void
memo_shape_clear (gpointer data)
{
  MemoShape *shape = data;

  checked_unref (shape->checked);
  g_clear_pointer (&shape->sig, g_bytes_unref);
  for (guint k = 0; k < shape->n_nodes; k++)
    rthunk_node_unref (shape->nodes[k]);
  g_free (shape->nodes);
  g_free (shape->kid_start);
  g_free (shape->kids);
  g_free (shape->slots);
  g_free (shape->raw);
}

static void
memo_shape_unref (MemoShape *shape)
{
  g_atomic_rc_box_release_full (shape, memo_shape_clear);
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
static MemoShape *
memo_lookup (RthunkServerState     *state,
             const guint8          *ast,
             gsize                  len,
             const RthunkCodecSlot *slots,
             guint                  n_slots,
             guint                 *hash)
{
  guint8 masked[MEMO_MAX_AST_BYTES];
  g_autoptr(GBytes) key = NULL;
  MemoShape *shape;

  mask_slots (ast, len, slots, n_slots, masked);
  *hash = hash_bytes (masked, len);
  key = g_bytes_new_static (masked, len);
  g_mutex_lock (&state->memo_lock);
  shape = g_hash_table_lookup (state->memo, key);
  if (shape != NULL)
    g_atomic_rc_box_acquire (shape);
  g_mutex_unlock (&state->memo_lock);
  return shape;
}

/* The last Ast a connection's thread found in the memo, byte for byte:
 * a client that sends the same expression again (other inputs, a chain's
 * next link) costs a comparison, not a walk of its slots and a lookup. */
typedef struct
{
  guint8 instance[RTHUNK_THUNK_ID_LEN]; /* the state whose memo it is (its
                                          instance id: a later state may
                                          have its address) */
  guint8 raw[MEMO_MAX_AST_BYTES];
  gsize len;
  MemoShape *shape;
  guint hash;
} LastAst;

static void
last_ast_free (gpointer data)
{
  LastAst *last = data;

  g_clear_pointer (&last->shape, memo_shape_unref);
  g_free (last);
}

static GPrivate thread_last_ast = G_PRIVATE_INIT (last_ast_free);

/* The shape of the Ast at @in's position if it is the thread's last one
 * (@in then past it), or NULL. */
static MemoShape *
last_ast_shape (RthunkServerState *state,
                RthunkCodecIn     *in,
                guint             *hash)
{
  LastAst *last = g_private_get (&thread_last_ast);

  if (last == NULL || memcmp (last->instance, state->instance_id, sizeof last->instance) != 0 ||
      last->shape == NULL || !rthunk_codec_need (in, last->len) ||
      memcmp (in->pos, last->raw, last->len) != 0)
    return NULL;
  /* the same bytes parse the same: the struct ends where the last one did */
  in->pos += last->len;
  *hash = last->hash;
  return g_atomic_rc_box_acquire (last->shape);
}

/* Keeps @shape as the shape of the thread's last Ast, @ast. */
static void
last_ast_keep (RthunkServerState *state,
               const guint8      *ast,
               gsize              len,
               MemoShape         *shape,
               guint              hash)
{
  LastAst *last = g_private_get (&thread_last_ast);

  if (last == NULL)
    g_private_set (&thread_last_ast, (last = g_new0 (LastAst, 1)));
  g_clear_pointer (&last->shape, memo_shape_unref);
  memcpy (last->instance, state->instance_id, sizeof last->instance);
  memcpy (last->raw, ast, len);
  last->len = len;
  last->shape = g_atomic_rc_box_acquire (shape);
  last->hash = hash;
}

static gboolean
same_sig (GBytes  *kept,
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
static RthunkNode *
shape_tree (const MemoShape *shape,
            const guint8    *ast,
            GPtrArray       *nodes)
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
        changed |= memcmp (ast + shape->slots[s].offset, shape->raw + shape->slots[s].offset,
                           shape->slots[s].size) != 0;
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
static RthunkChecked *
shape_checked (const MemoShape *shape,
               const guint8    *ast)
{
  RthunkChecked *t = shape->checked;

  if (memcmp (ast, shape->raw, shape->len) == 0)
    return checked_ref (t);
  return checked_new (shape_tree (shape, ast, NULL), rthunk_type_ref (t->type), t->pure, t->closed);
}

/* Keeps @checked, the check of @request's tree whose nodes are @nodes
 * (in the Ast's order), as the template of its shape for inputs of the
 * types @sig; the second time the shape is seen. */
static void
memo_insert (RthunkServerState *state,
             const Request     *request,
             GPtrArray         *nodes,
             RthunkChecked     *checked,
             GString           *sig)
{
  RthunkCodecSlot slots[MEMO_MAX_SLOTS];
  g_autoptr(GHashTable) index = NULL;
  guint8 masked[MEMO_MAX_AST_BYTES];
  RthunkCodecIn in;
  MemoShape *shape;
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
      !rthunk_codec_ast_slots (&in, request->ast_data, slots, G_N_ELEMENTS (slots), &n_slots) ||
      n_slots > G_N_ELEMENTS (slots))
    return;
  shape = g_atomic_rc_box_new0 (MemoShape);
  shape->checked = checked_ref (checked);
  shape->sig = sig != NULL && sig->len > 0 ? g_bytes_new (sig->str, sig->len) : NULL;
  shape->raw = g_memdup2 (request->ast_data, request->ast_len);
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
  g_mutex_lock (&state->memo_lock);
  /* full: start again (what is used again comes back at once) */
  if (g_hash_table_size (state->memo) >= MEMO_MAX_ENTRIES)
    g_hash_table_remove_all (state->memo);
  g_hash_table_replace (state->memo, g_bytes_new (masked, request->ast_len), shape);
  g_mutex_unlock (&state->memo_lock);
}

/* @request's tree @expr (taken; its nodes in the Ast's order are @nodes,
 * if known) renamed and checked by @checker, which has the inputs bound
 * (and remembered as the template of its shape). */
static RthunkChecked *
check_tree (RthunkServerState *state,
            const Request     *request,
            RthunkChecker     *checker,
            RthunkNode        *expr,
            GPtrArray         *nodes,
            GString           *sig,
            gboolean           closed,
            Submission        *out)
{
  g_autoptr(RthunkNode) tree = expr;
  g_autoptr(RthunkType) type = NULL;
  RthunkChecked *checked;

  if (!resolve_definitions (state, request, checker, out))
    return NULL;
  if (out->def_names != NULL && g_hash_table_size (out->def_names) > 0)
    {
      RthunkNode *renamed = rename_request (tree, out->def_names);

      rthunk_node_unref (tree);
      tree = renamed;
    }
  if (!check_request (checker, tree, &type, out))
    return NULL;
  checked = checked_new (g_steal_pointer (&tree), g_steal_pointer (&type), FALSE, closed);
  checked->pure = names_only_pure (state->catalog, checked->expr) && definitions_pure (out->definitions);
  if (request->memo_ok)
    memo_insert (state, request, nodes, checked, sig);
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

/* A request's tree checked: from the memo (no checker is needed then),
 * or read, renamed and checked now. */
static RthunkChecked *
check_submission (RthunkServerState  *state,
                  const Request      *request,
                  GHashTable        **inputs,
                  GHashTable        **thunk_inputs,
                  Submission         *out)
{
  gboolean closed = request->inputs->len == 0 && n_refs (request) == 0;
  GString *sig = request->memo_ok && !closed ? thread_sig () : NULL;
  g_autoptr(GPtrArray) shaped = NULL;
  GPtrArray *nodes = request->nodes;
  RthunkChecked *checked;
  RthunkChecker *checker;
  g_autoptr(RthunkNode) expr = NULL;

  if (!read_bindings (state, request, inputs, thunk_inputs, sig, &out->error))
    return NULL;
  if (request->shape != NULL)
    {
      if (same_sig (request->shape->sig, sig))
        {
          COUNT (state->memo_hits);
          return shape_checked (request->shape, request->ast_data);
        }
      /* inputs of other types: the tree is the same, its check is not */
      shaped = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
      expr = shape_tree (request->shape, request->ast_data, shaped);
      nodes = shaped;
    }
  else if (request->expr != NULL)
    expr = rthunk_node_ref (request->expr);
  else if (request->wire_ast == NULL ||
           (expr = rthunk_wire_read_ast (request->wire_ast, state->limits.max_ast_nodes, &out->error)) == NULL)
    return NULL;
  checker = borrow (&reusable_checker, state);
  rthunk_checker_set_remote_allowed (checker, FALSE);
  bind_input_types (checker, request, *inputs, *thunk_inputs);
  checked = check_tree (state, request, checker, g_steal_pointer (&expr), nodes, sig, closed, out);
  give_back (&reusable_checker, state, checker);
  return checked;
}

/* The result cache's key of @checked with @inputs: computed once for a
 * closed request the memo keeps, each time for one with inputs. */
static gboolean
checked_key (RthunkServerState *state,
             RthunkChecked     *checked,
             GHashTable        *inputs,
             GHashTable        *def_names,
             guint8             key[RTHUNK_HASH_LEN])
{
  if (!checked->closed)
    return cache_key (checked->expr, inputs, def_names, key);
  if (g_atomic_int_get (&checked->has_key))
    {
      memcpy (key, checked->key, RTHUNK_HASH_LEN);
      return TRUE;
    }
  if (!cache_key (checked->expr, inputs, def_names, key))
    return FALSE;
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
           GHashTable        *inputs,
           GHashTable        *def_names)
{
  g_autoptr(RthunkValue) hit = NULL;
  guint8 key[RTHUNK_HASH_LEN];

  if (!g_atomic_int_get (&checked->expensive))
    {
      if (try_inline_within (state, entry, CACHE_MIN_STEPS))
        return TRUE;
      g_atomic_int_set (&checked->expensive, TRUE);
    }
  if (!checked_key (state, checked, inputs, def_names, key))
    return FALSE;
  if ((hit = rthunk_result_cache_lookup (state->cache, key)) == NULL)
    {
      entry->cacheable = TRUE;
      entry->cache_key = g_memdup2 (key, RTHUNK_HASH_LEN);
      return FALSE;
    }
  rthunk_thunk_table_start (state->table, entry);
  /* count before finishing: whoever sees the thunk finished sees it counted */
  COUNT (state->completed);
  COUNT (state->cache_hits);
  rthunk_thunk_table_finish (state->table, entry, hit, NULL);
  return TRUE;
}

/* Validates, checks and queues one request (or answers it from the cache). */
static void
submit_one (RthunkServerState *state,
            const Request     *request,
            Submission        *out)
{
  g_autoptr(GHashTable) inputs = NULL;
  g_autoptr(GHashTable) thunk_inputs = NULL;
  g_autoptr(RthunkChecked) checked = NULL;
  const guint8 *id = NULL;
  gboolean cacheable;
  RthunkThunkEntry *entry;

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
  if ((entry = rthunk_thunk_table_add (state->table, checked->expr, inputs, checked->type, id)) == NULL)
    {
      id_in_use (&out->error);
      return;
    }
  apply_options (state, entry, request);
  entry->definitions = g_steal_pointer (&out->definitions);
  entry->def_names = g_steal_pointer (&out->def_names);
  if (thunk_inputs != NULL && count_unfinished (state, thunk_inputs) > 0)
    COUNT (state->pipelined);
  entry->thunk_inputs = g_steal_pointer (&thunk_inputs);
  COUNT (state->submitted);
  out->entry = entry;
  if (cacheable && try_cache (state, entry, checked, inputs, entry->def_names))
    return;
  /* inputs already computed (a chain sent in one frame) don't stop it */
  if ((entry->thunk_inputs == NULL || count_unfinished (state, entry->thunk_inputs) == 0) &&
      checked->pure && try_inline (state, entry))
    return;
  g_thread_pool_push (state->pool, rthunk_thunk_entry_ref (entry), NULL);
}

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

/* How large a value this server sends: a frame, less room for the rest. */
static gsize
sendable_bytes (RthunkServerState *state)
{
  gsize frame = state->limits.max_frame_bytes > 0 ? state->limits.max_frame_bytes
                                                  : RTHUNK_SERVER_DEFAULT_MAX_FRAME_BYTES;

  return frame > 4096 ? frame - 4096 : frame / 2;
}

/* Fills a RemoteThunk for @entry, with the value inline if it finished. */
static void
fill_remote_thunk (RthunkServerState     *state,
                   RthunkWireRemoteThunk *thunk,
                   RthunkThunkEntry      *entry)
{
  RthunkThunkState st = rthunk_thunk_table_get_state (state->table, entry);

  rthunk_wire_set_bytes (&thunk->id, entry->id, RTHUNK_THUNK_ID_LEN);
  g_object_set (thunk, "server", state->name, "state", (gint) st, NULL);
  /* a remote reference: the value stays here until thunkGet or thunkAwait */
  if (st == RTHUNK_THUNK_DONE && !entry->by_reference)
    {
      g_autoptr(GError) error = NULL;

      if (rthunk_wire_fill_value_within (thunk->value, entry->value, sendable_bytes (state), &error))
        thunk->__isset_value = TRUE;
      else
        {
          g_object_set (thunk, "state", (gint) RTHUNK_THUNK_FAILED, "error", NULL, NULL);
          g_object_unref (thunk->error);
          thunk->error = error_info (error);
          thunk->__isset_error = TRUE;
        }
    }
  else if (st > RTHUNK_THUNK_DONE)
    {
      g_object_unref (thunk->error);
      thunk->error = error_info (entry->error);
      thunk->__isset_error = TRUE;
    }
}

static guint
inline_budget (RthunkServerState *state,
               const Request     *request)
{
  if (request->inline_budget_ms >= 0)
    return MIN ((guint) request->inline_budget_ms, state->limits.inline_budget_ms);
  return state->limits.inline_budget_ms;
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
  Submission sub = { 0, };
  Request req;
  guint budget;

  REQUIRE_AUTH (state, auth, denied);
  REFUSE_WHILE_DRAINING (state, overloaded);
  request_from_wire (request, &req);
  submit_one (state, &req, &sub);
  budget = inline_budget (state, &req);
  request_clear (&req);
  if (sub.entry == NULL && sub.missing != NULL && sub.missing->len > 0)
    {
      throw_missing (missing, sub.missing);
      submission_clear (&sub);
      return FALSE;
    }
  if (sub.entry == NULL)
    {
      g_autoptr(GError) failure = sub.error;
      g_autofree char *expected = g_steal_pointer (&sub.expected);
      g_autofree char *found = g_steal_pointer (&sub.found);

      submission_clear (&sub);
      g_debug ("submission refused: %s", failure->message);
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
  submission_clear (&sub);
  if (budget > 0)
    rthunk_thunk_table_wait_any (state->table, &sub.entry, 1,
                                 g_get_monotonic_time () + (gint64) budget * 1000);
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
  COUNT (state->batches);
  if (requests->len > MAX_BATCH)
    return throw_invalid_literal (invalid, RTHUNK_ERROR_LIMIT_EXCEEDED,
                                  _("a batch holds at most 4096 requests"));
  for (guint k = 0; k < requests->len; k++)
    {
      RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
      Submission sub = { 0, };
      Request req;

      request_from_wire (g_ptr_array_index (requests, k), &req);
      submit_one (state, &req, &sub);
      request_clear (&req);
      if (sub.entry == NULL)
        submission_error (&sub);
      submission_clear (&sub);
      if (sub.entry != NULL)
        {
          fill_remote_thunk (state, thunk, sub.entry);
          rthunk_thunk_entry_unref (sub.entry);
        }
      else
        {
          g_object_set (thunk, "server", state->name, "state", (gint) RTHUNK_THUNK_FAILED, NULL);
          g_object_unref (thunk->error);
          thunk->error = error_info (sub.error);
          thunk->__isset_error = TRUE;
          g_error_free (sub.error);
        }
      g_ptr_array_add (*_return, thunk);
    }
  return TRUE;
}

/* ---- submissions straight from the frame ------------------------------------ */

/* submitEvalRequest and submitBatch are most of what a server does, and the
 * generated code would build a GObject for every node of every AST. These
 * read the frame with rthunk-codec into a Request and write the reply the
 * same way. Only the common case is taken: anything else (a field twice, a
 * string with a NUL in it, a wrong token, a refused submission…) leaves
 * the frame to the generated code, which answers it as it always did. */

/* Marks field @id of a struct seen; FALSE if it was already. */
static gboolean
first_time (guint32 *seen,
            gint16   id)
{
  guint32 bit = id > 0 && id < 32 ? 1u << id : 0;

  if (*seen & bit)
    return FALSE;
  *seen |= bit;
  return TRUE;
}

static gboolean
get_string (RthunkCodecIn  *in,
            char          **out)
{
  const guint8 *data;
  guint32 len;

  if (!rthunk_codec_get_binary (in, &data, &len) || memchr (data, '\0', len) != NULL)
    return FALSE;
  *out = g_strndup ((const char *) data, len);
  return TRUE;
}

static gboolean
get_bytes (RthunkCodecIn  *in,
           GBytes        **out)
{
  const guint8 *data;
  guint32 len;

  if (!rthunk_codec_get_binary (in, &data, &len))
    return FALSE;
  *out = g_bytes_new (data, len);
  return TRUE;
}

/* The fields of a struct, one by one: FALSE at its end or on a field seen
 * twice (with *@ok FALSE then). */
static gboolean
next_field (RthunkCodecIn *in,
            guint32       *seen,
            guint8        *type,
            gint16        *id,
            gboolean      *ok)
{
  *ok = rthunk_codec_get_field (in, type, id) && (*type == RTHUNK_CODEC_STOP || first_time (seen, *id));
  return *ok && *type != RTHUNK_CODEC_STOP;
}

/* A ValueNode that may be a THUNK: its kind, id and holder. */
static gboolean
get_thunk_node (RthunkCodecIn *in,
                RequestInput  *input)
{
  g_autoptr(GBytes) id = NULL;
  g_autofree char *holder = NULL;
  gint32 kind = 0;
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_I32)
        ok = rthunk_codec_get_i32 (in, &kind);
      else if (field == 7 && type == RTHUNK_CODEC_STRING)
        ok = get_bytes (in, &id);
      else if (field == 8 && type == RTHUNK_CODEC_STRING)
        ok = get_string (in, &holder);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  if (!ok || kind != RTHUNK_WIRE_VALUE_KIND_THUNK)
    return ok;
  input->is_thunk = TRUE;
  input->thunk_id = g_steal_pointer (&id);
  input->holder = g_steal_pointer (&holder);
  return TRUE;
}

/* The value of a binding: a reference to a thunk (one THUNK node), or a
 * value sent along. */
static gboolean
get_binding_value (RthunkCodecIn *in,
                   RequestInput  *input)
{
  RthunkCodecIn look = *in;
  guint32 seen = 0, n;
  guint8 type;
  gint16 field;
  gboolean ok;

  if (rthunk_codec_get_field (&look, &type, &field) && field == 1 && type == RTHUNK_CODEC_LIST &&
      rthunk_codec_get_list (&look, RTHUNK_CODEC_STRUCT, &n) && n == 1 &&
      get_thunk_node (&look, input) && input->is_thunk)
    {
      first_time (&seen, 1);
      while (next_field (&look, &seen, &type, &field, &ok))
        if (!rthunk_codec_skip (&look, type))
          return FALSE;
      *in = look;
      return ok;
    }
  input->is_thunk = FALSE;
  return (input->value = rthunk_codec_get_value (in, NULL)) != NULL;
}

static gboolean
get_binding (RthunkCodecIn *in,
             RequestInput  *input)
{
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRING)
        ok = get_string (in, &input->name);
      else if (field == 2 && type == RTHUNK_CODEC_STRUCT)
        ok = get_binding_value (in, input);
      else if (field == 3 && type == RTHUNK_CODEC_STRUCT)
        ok = (input->type = rthunk_codec_get_type (in, NULL)) != NULL && (input->has_type = TRUE);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  /* a binding without a value: the generated code's error */
  return ok && (input->value != NULL || input->is_thunk);
}

static gboolean
get_def_ref (RthunkCodecIn *in,
             RequestDefRef *ref)
{
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRING)
        ok = get_string (in, &ref->name);
      else if (field == 2 && type == RTHUNK_CODEC_STRING)
        ok = get_bytes (in, &ref->hash);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  return ok;
}

static gboolean
get_options (RthunkCodecIn *in,
             Request       *req)
{
  guint32 seen = 0;
  guint8 type, b = 0;
  gint16 field;
  gboolean ok;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      switch (field * 16 + type)
        {
        case 1 * 16 + RTHUNK_CODEC_BOOL:
          ok = rthunk_codec_get_u8 (in, &b);
          req->use_cache = b != 0;
          break;
        case 2 * 16 + RTHUNK_CODEC_I64:
          ok = rthunk_codec_get_i64 (in, &req->fuel);
          break;
        case 3 * 16 + RTHUNK_CODEC_I32:
          ok = rthunk_codec_get_i32 (in, &req->deadline_ms);
          break;
        case 4 * 16 + RTHUNK_CODEC_I32:
          ok = rthunk_codec_get_i32 (in, &req->inline_budget_ms);
          break;
        case 5 * 16 + RTHUNK_CODEC_BOOL:
          ok = rthunk_codec_get_u8 (in, &b);
          req->by_reference = b != 0;
          break;
        default:
          ok = rthunk_codec_skip (in, type);
          break;
        }
      if (!ok)
        return FALSE;
    }
  return ok;
}

/* One EvalRequest struct. FALSE: leave it to the generated code. */
static gboolean
request_decode (RthunkServerState *state,
                RthunkCodecIn     *in,
                Request           *req)
{
  RthunkCodecSlot slots[MEMO_MAX_SLOTS];
  RthunkCodecIn ast;
  guint32 seen = 0, n;
  guint n_slots = G_N_ELEMENTS (slots) + 1;
  guint8 type;
  gint16 field;
  gboolean ok;

  request_init (req);
  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRUCT)
        {
          /* the bytes and their slots only: a request of a shape seen
           * before needs no decoding (whether it names definitions is
           * known at the end of the struct) */
          req->ast_data = in->pos;
          if (req->shape == NULL && (req->shape = last_ast_shape (state, in, &req->memo_hash)) != NULL)
            n_slots = 0;
          else
            {
              g_clear_pointer (&req->shape, memo_shape_unref);
              ok = rthunk_codec_ast_slots (in, in->pos, slots, G_N_ELEMENTS (slots), &n_slots);
            }
          req->ast_len = in->pos - req->ast_data;
        }
      else if (field == 2 && type == RTHUNK_CODEC_LIST)
        {
          ok = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n);
          for (guint32 k = 0; ok && k < n; k++)
            {
              g_array_set_size (req->inputs, k + 1);
              ok = get_binding (in, &g_array_index (req->inputs, RequestInput, k));
            }
        }
      else if (field == 3 && type == RTHUNK_CODEC_LIST)
        {
          ok = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n);
          for (guint32 k = 0; ok && k < n; k++)
            {
              g_array_set_size (refs_of (req), k + 1);
              ok = get_def_ref (in, &g_array_index (req->refs, RequestDefRef, k));
            }
        }
      else if (field == 4 && type == RTHUNK_CODEC_STRUCT)
        ok = get_options (in, req);
      else if (field == 5 && type == RTHUNK_CODEC_STRING)
        ok = get_bytes (in, &req->thunk_id) && (req->has_thunk_id = TRUE);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  if (!ok || req->ast_data == NULL)
    return FALSE;
  req->memo_ok = n_refs (req) == 0 && n_slots <= G_N_ELEMENTS (slots) && req->ast_len <= MEMO_MAX_AST_BYTES;
  if (req->shape != NULL && req->memo_ok)
    return TRUE;
  /* the last Ast again, but naming definitions: decoded */
  g_clear_pointer (&req->shape, memo_shape_unref);
  if (req->memo_ok &&
      (req->shape = memo_lookup (state, req->ast_data, req->ast_len, slots, n_slots, &req->memo_hash)) != NULL)
    {
      last_ast_keep (state, req->ast_data, req->ast_len, req->shape, req->memo_hash);
      return TRUE;
    }
  rthunk_codec_in_init (&ast, req->ast_data, req->ast_len);
  req->expr = rthunk_codec_get_ast_nodes (&ast, state->limits.max_ast_nodes,
                                          req->memo_ok ? &req->nodes : NULL, NULL);
  return req->expr != NULL;
}

/* The Auth struct: whether its token opens this server. */
static gboolean
get_auth (RthunkServerState *state,
          RthunkCodecIn     *in)
{
  g_autofree char *token = NULL;
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRING)
        ok = get_string (in, &token);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  return ok && (state->token == NULL || (token != NULL && tokens_equal (token, state->token)));
}

/* The server and state fields of a RemoteThunk, and its error if any. */
static void
put_thunk_state (RthunkServerState *state,
                 GByteArray        *out,
                 RthunkThunkState   st,
                 const GError      *error)
{
  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 2);
  rthunk_codec_put_string (out, state->name);
  rthunk_codec_put_field (out, RTHUNK_CODEC_I32, 3);
  rthunk_codec_put_i32 (out, st);
  if (error != NULL)
    {
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 5);
      rthunk_codec_put_error_info (out, error);
    }
}

/* The RemoteThunk struct fill_remote_thunk() makes, as bytes. */
static void
put_remote_thunk (RthunkServerState *state,
                  GByteArray        *out,
                  RthunkThunkEntry  *entry)
{
  RthunkThunkState st = rthunk_thunk_table_get_state (state->table, entry);
  guint mark;

  rthunk_codec_put_field (out, RTHUNK_CODEC_STRING, 1);
  rthunk_codec_put_binary (out, entry->id, RTHUNK_THUNK_ID_LEN);
  mark = out->len;
  if (st == RTHUNK_THUNK_DONE && !entry->by_reference)
    {
      g_autoptr(GError) error = NULL;

      put_thunk_state (state, out, st, NULL);
      rthunk_codec_put_field (out, RTHUNK_CODEC_STRUCT, 4);
      if (!rthunk_codec_put_value (out, entry->value, sendable_bytes (state), &error))
        {
          /* too large to send: failed, as fill_remote_thunk() says */
          g_byte_array_set_size (out, mark);
          put_thunk_state (state, out, RTHUNK_THUNK_FAILED, error);
        }
    }
  else
    put_thunk_state (state, out, st, st > RTHUNK_THUNK_DONE ? entry->error : NULL);
  rthunk_codec_put_stop (out);
}

/* The arguments of submitEvalRequest (1: request, 2: auth), submitted;
 * FALSE if the generated code should answer. */
static gboolean
fast_submit (RthunkServerState *state,
             RthunkCodecIn     *in,
             GByteArray        *reply)
{
  Request req = { NULL, };
  Submission sub = { 0, };
  gboolean have_request = FALSE, auth_ok = state->token == NULL;
  guint32 seen = 0;
  guint8 type;
  gint16 field;
  gboolean ok;
  guint budget;

  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRUCT)
        ok = have_request = request_decode (state, in, &req);
      else if (field == 2 && type == RTHUNK_CODEC_STRUCT)
        ok = auth_ok = get_auth (state, in);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        break;
    }
  /* the args struct must end the message: nothing is submitted for one
   * the generated code would refuse */
  if (ok && in->pos == in->end && have_request && auth_ok && !g_atomic_int_get (&state->draining))
    submit_one (state, &req, &sub);
  budget = inline_budget (state, &req);
  if (req.inputs != NULL)
    request_clear (&req);
  submission_clear (&sub);
  g_clear_error (&sub.error);
  if (sub.entry == NULL)
    return FALSE;
  if (budget > 0)
    rthunk_thunk_table_wait_any (state->table, &sub.entry, 1,
                                 g_get_monotonic_time () + (gint64) budget * 1000);
  rthunk_codec_put_field (reply, RTHUNK_CODEC_STRUCT, 0);
  put_remote_thunk (state, reply, sub.entry);
  rthunk_thunk_entry_unref (sub.entry);
  return TRUE;
}

/* The arguments of submitBatch (1: requests, 2: auth): every request is
 * decoded before any is submitted, or the generated code answers. */
static gboolean
fast_submit_batch (RthunkServerState *state,
                   RthunkCodecIn     *in,
                   GByteArray        *reply)
{
  g_autoptr(GArray) requests = g_array_new (FALSE, TRUE, sizeof (Request));
  gboolean have_requests = FALSE, auth_ok = state->token == NULL;
  guint32 seen = 0, n = 0;
  guint8 type;
  gint16 field;
  gboolean ok;

  g_array_set_clear_func (requests, (GDestroyNotify) request_clear);
  while (next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_LIST)
        {
          ok = have_requests = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n) && n <= MAX_BATCH;
          for (guint32 k = 0; ok && k < n; k++)
            {
              g_array_set_size (requests, k + 1);
              ok = request_decode (state, in, &g_array_index (requests, Request, k));
            }
        }
      else if (field == 2 && type == RTHUNK_CODEC_STRUCT)
        ok = auth_ok = get_auth (state, in);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  if (!ok || in->pos != in->end || !have_requests || !auth_ok || g_atomic_int_get (&state->draining))
    return FALSE;
  COUNT (state->batches);
  rthunk_codec_put_field (reply, RTHUNK_CODEC_LIST, 0);
  rthunk_codec_put_list (reply, RTHUNK_CODEC_STRUCT, n);
  for (guint32 k = 0; k < n; k++)
    {
      Submission sub = { 0, };

      submit_one (state, &g_array_index (requests, Request, k), &sub);
      if (sub.entry == NULL)
        submission_error (&sub);  /* before the clear: it counts what is missing */
      submission_clear (&sub);
      if (sub.entry != NULL)
        {
          put_remote_thunk (state, reply, sub.entry);
          rthunk_thunk_entry_unref (sub.entry);
        }
      else
        {
          rthunk_codec_put_field (reply, RTHUNK_CODEC_STRING, 1);
          rthunk_codec_put_binary (reply, NULL, 0);
          put_thunk_state (state, reply, RTHUNK_THUNK_FAILED, sub.error);
          rthunk_codec_put_stop (reply);
          g_clear_error (&sub.error);
        }
    }
  return TRUE;
}

/**
 * rthunk_handler_serve_fast:
 * @state: the server's state
 * @message: one validated message (a frame body)
 * @reply: (out caller-allocates): where the reply message goes
 *
 * Answers a submitEvalRequest or submitBatch call straight from its bytes,
 * as the generated processor would answer it.
 *
 * Returns: %TRUE if @reply holds the answer; %FALSE (and @reply empty)
 *   if the generated processor must take @message
 */
gboolean
rthunk_handler_serve_fast (RthunkServerState *state,
                           GBytes            *message,
                           GByteArray        *reply)
{
  RthunkCodecIn in;
  const guint8 *name;
  guint32 name_len;
  guint8 type;
  gint32 seqid;
  gboolean batch, done;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  rthunk_codec_in_init (&in, data, len);
  /* strict headers only, as the frame validator allows */
  if (len < 1 || (data[0] & 0x80) == 0 ||
      !rthunk_codec_get_message (&in, &name, &name_len, &type, &seqid) || type != RTHUNK_CODEC_CALL)
    return FALSE;
  if (name_len == strlen ("submitEvalRequest") && memcmp (name, "submitEvalRequest", name_len) == 0)
    batch = FALSE;
  else if (name_len == strlen ("submitBatch") && memcmp (name, "submitBatch", name_len) == 0)
    batch = TRUE;
  else
    return FALSE;
  g_byte_array_set_size (reply, 0);
  rthunk_codec_put_message (reply, batch ? "submitBatch" : "submitEvalRequest", RTHUNK_CODEC_REPLY, seqid);
  done = batch ? fast_submit_batch (state, &in, reply) : fast_submit (state, &in, reply);
  if (!done)
    {
      g_byte_array_set_size (reply, 0);
      return FALSE;
    }
  rthunk_codec_put_stop (reply);
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
  RthunkThunkState st = rthunk_thunk_table_get_state (state->table, entry);

  rthunk_wire_set_bytes (&cont->id, entry->id, RTHUNK_THUNK_ID_LEN);
  g_object_set (cont, "state", (gint) st, NULL);
  if (st == RTHUNK_THUNK_DONE)
    {
      g_autoptr(GError) error = NULL;

      if (rthunk_wire_fill_value_within (cont->value, entry->value, sendable_bytes (state), &error))
        {
          cont->__isset_value = TRUE;
          rthunk_wire_fill_type (cont->type, entry->type);
          cont->__isset_type = TRUE;
        }
      else
        {
          g_object_set (cont, "state", (gint) RTHUNK_THUNK_FAILED, NULL);
          g_object_unref (cont->error);
          cont->error = error_info (error);
          cont->__isset_error = TRUE;
        }
    }
  else if (st > RTHUNK_THUNK_DONE)
    {
      g_object_unref (cont->error);
      cont->error = error_info (entry->error);
      cont->__isset_error = TRUE;
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
  for (guint k = 0; k < thunks->len; k++)
    {
      RthunkThunkEntry *entry = find_thunk (state, g_ptr_array_index (thunks, k), invalid);

      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }
  rthunk_thunk_table_wait_any (state->table, (RthunkThunkEntry **) entries->pdata,
                               entries->len, deadline);
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
    COUNT (state->cancelled);
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
  handler_class->thunk_cancel = handler_thunk_cancel;
  handler_class->put_definitions = handler_put_definitions;
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
