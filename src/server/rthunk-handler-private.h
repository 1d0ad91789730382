/* rthunk-handler-private.h — what the handler's files share (private)
 *
 * The handler family: rthunk-handler.c (the IDL methods),
 * rthunk-fast-path.c, rthunk-handler-submit.c, rthunk-decode-memo.c,
 * rthunk-handler-defs.c, rthunk-peer-fetch.c, rthunk-worker-pool.c and
 * rthunk-server-state.c. Not installed.
 */
#pragma once

#include <string.h>

#include <glib.h>

#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-codec.h"
#include "rthunk-conn-account.h"
#include "rthunk-core-private.h"
#include "rthunk-def-store.h"
#include "rthunk-handler.h"
#include "rthunk-hash.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-server-state-private.h"
#include "rthunk-server.h"
#include "rthunk-thunk-table.h"
#include "rthunk-type.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* requests in a batch, definitions in a putDefinitions */
#define MAX_BATCH 4096

/* A result that takes fewer steps than this is computed again rather than
 * cached: its cache key (a SHA-256 of the expression and its inputs) and
 * lookup would cost more than the evaluation. */
#define CACHE_MIN_STEPS 64

/* a counter of RthunkServerState, bumped */
#define COUNT(counter) __atomic_fetch_add (&(counter), 1, __ATOMIC_RELAXED)

/* A request's tree checked: its type and purity (rthunk-decode-memo.c). */
typedef struct _RthunkChecked RthunkChecked;
RthunkChecked *rthunk_handler_checked_ref (RthunkChecked *checked);
void rthunk_handler_checked_unref (RthunkChecked *checked);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkChecked, rthunk_handler_checked_unref)

struct _RthunkChecked           /* in a GLib atomic rc box */
{
  RthunkNode *expr;
  RthunkType *type;
  gboolean pure;                /* only pure catalog functions */
  gboolean closed;              /* no inputs: its cache key is its own */
  gint expensive;               /* (atomic) once took CACHE_MIN_STEPS or more */
  gint has_key;                 /* (atomic) key is set (under memo_lock) */
  guint8 key[RTHUNK_HASH_LEN];  /* the result cache's key, if closed */
  GChecksum *expr_sum;          /* (atomic; set once under memo_lock) if
                                   not closed: that key's hash over the
                                   expression, before the inputs */
};

/* A shape the memo keeps (rthunk-decode-memo.c). */
struct _RthunkRequestShape      /* in a GLib atomic rc box */
{
  RthunkChecked *checked;       /* the template: its tree, type and purity */
  GBytes *sig;                  /* the input types it was checked with, NULL if none */
  guint8 *raw;                  /* the template's Ast bytes */
  guint8 *mask;                 /* 0xff for each byte outside the slots, 0 in
                                   them (in @raw's allocation) */
  gsize len;
  RthunkCodecSlot *slots;       /* their slots, by node */
  guint n_slots;
  RthunkNode **nodes;           /* the template's nodes in the Ast's order (refs) */
  guint n_nodes;
  guint32 *kid_start;           /* node k's children are kids[kid_start[k]] … */
  guint32 *kids;                /* … kids[kid_start[k + 1] - 1] */
};

/* What rthunk_handler_submit_one() made of a request: a thunk, or why not. */
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
} RthunkSubmission;

/* A name a request or a definition may bind. */
static inline gboolean
rthunk_handler_valid_name (const char *name)
{
  return name != NULL && name[0] != '\0' && strlen (name) <= 256 && g_utf8_validate (name, -1, NULL) &&
         strncmp (name, "__def_", 6) != 0;
}

/* The most items one thunkGetChunk answer carries. */
#define RTHUNK_HANDLER_MAX_CHUNK_ITEMS 262144

/* How large a value this server sends: a frame, less room for the rest. */
static inline gsize
rthunk_handler_sendable_bytes (RthunkServerState *state)
{
  gsize frame = state->limits.max_frame_bytes > 0 ? state->limits.max_frame_bytes
                                                  : RTHUNK_SERVER_DEFAULT_MAX_FRAME_BYTES;

  return frame > 4096 ? frame - 4096 : frame / 2;
}

/* Thunks one connection may have queued or running: the limit, or a
 * quarter of max_queued (at least 1) when it is 0. */
static inline guint
rthunk_handler_queued_quota (RthunkServerState *state)
{
  if (state->limits.max_queued_per_client > 0)
    return state->limits.max_queued_per_client;
  return MAX (state->limits.max_queued / 4, 1);
}

/* Thunks of one connection the worker pool runs at once: the limit, or
 * the number of workers when it is 0. */
static inline guint
rthunk_handler_running_quota (RthunkServerState *state)
{
  if (state->limits.max_running_per_client > 0)
    return state->limits.max_running_per_client;
  return MAX (state->limits.workers, 1);
}

/* How long a submission waits for its thunk before it answers. */
static inline guint
rthunk_handler_inline_budget (RthunkServerState   *state,
                              const RthunkRequest *request)
{
  if (request->inline_budget_ms >= 0)
    return MIN ((guint) request->inline_budget_ms, state->limits.inline_budget_ms);
  return state->limits.inline_budget_ms;
}

/* A checker or an evaluator a thread keeps between requests
 * (rthunk-worker-pool.c). */
typedef struct
{
  RthunkThreadKept *(*cell) (void);               /* the calling thread's */
  gpointer (*make) (RthunkCatalog *catalog);
  gboolean (*reset) (gpointer object, RthunkCatalog *catalog);
  RthunkCatalog *(*catalog) (gpointer object);   /* the one it was made for */
} RthunkReusable;

/* rthunk-worker-pool.c */
gpointer rthunk_handler_borrow (const RthunkReusable *reusable,
                                RthunkServerState    *state);
void rthunk_handler_give_back (const RthunkReusable *reusable,
                               RthunkServerState    *state,
                               gpointer              object);
void rthunk_handler_run_thunk (gpointer data,
                               gpointer user_data);
gboolean rthunk_handler_try_inline_within (RthunkServerState *state,
                                           RthunkThunkEntry  *entry,
                                           guint64            steps);
gboolean rthunk_handler_try_inline (RthunkServerState *state,
                                    RthunkThunkEntry  *entry);
void rthunk_handler_queue_thunk (RthunkServerState *state,
                                 RthunkThunkEntry  *entry);

extern const RthunkReusable rthunk_handler_reusable_checker;

/* rthunk-handler-submit.c */
void rthunk_handler_submission_clear (RthunkSubmission *sub);
GError *rthunk_handler_submission_error (RthunkSubmission *sub);
void rthunk_handler_submit_one (RthunkServerState   *state,
                                const RthunkRequest *request,
                                RthunkSubmission    *out);

/* rthunk-decode-memo.c */
RthunkChecked *rthunk_handler_checked_new (RthunkNode *expr,
                                           RthunkType *type,
                                           gboolean    pure,
                                           gboolean    closed);
RthunkRequestShape *rthunk_handler_memo_shape_ref (RthunkRequestShape *shape);
void rthunk_handler_memo_shape_unref (RthunkRequestShape *shape);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkRequestShape, rthunk_handler_memo_shape_unref)
guint rthunk_handler_ast_bytes_hash (gconstpointer key);
gboolean rthunk_handler_same_sig (GBytes  *kept,
                                  GString *sig);
RthunkNode *rthunk_handler_shape_tree (const RthunkRequestShape *shape,
                                       const guint8             *ast,
                                       GPtrArray                *nodes);
RthunkChecked *rthunk_handler_shape_checked (const RthunkRequestShape *shape,
                                             const guint8             *ast);
RthunkRequestShape *rthunk_handler_last_shape_for_sig (RthunkServerState        *state,
                                                       const RthunkRequestShape *shape,
                                                       const guint8             *ast,
                                                       GString                  *sig);
void rthunk_handler_memo_insert (RthunkServerState   *state,
                                 const RthunkRequest *request,
                                 GPtrArray           *nodes,
                                 RthunkChecked       *checked,
                                 GString             *sig);
extern const RthunkRequestMemo rthunk_handler_request_memo;
/* How many Asts the calling thread found among the shapes of its last
 * ones, not walked nor looked up in the memo. */
guint64 rthunk_handler_last_ast_hits (void);

/* rthunk-handler-defs.c */
char *rthunk_handler_def_global_name (const guint8 *hash);
gboolean rthunk_handler_names_only_pure (RthunkCatalog *catalog,
                                         RthunkNode    *node);
gboolean rthunk_handler_check_definition (RthunkServerState  *state,
                                          RthunkDefinition   *def,
                                          const guint8       *claimed,
                                          GBytes            **record,
                                          GError            **error);
RthunkDefinition *rthunk_handler_verify_definition (RthunkServerState           *state,
                                                    const RthunkWireDefinition  *wire,
                                                    GBytes                     **record,
                                                    GError                     **error);
gboolean rthunk_handler_resolve_definitions (RthunkServerState   *state,
                                             const RthunkRequest *request,
                                             RthunkChecker       *checker,
                                             RthunkSubmission    *out);
gboolean rthunk_handler_resolve_def_name (const char *name,
                                          guint8      hash[RTHUNK_HASH_LEN],
                                          gpointer    user_data);

/* rthunk-handler-store.c */
GBytes *rthunk_handler_definition_record (RthunkDefinition *def);
RthunkDefinition *rthunk_handler_find_definition (RthunkServerState *state,
                                                  const guint8      *hash);
void rthunk_handler_store_definition (RthunkServerState *state,
                                      RthunkDefinition  *def,
                                      GBytes            *record);
RthunkValue *rthunk_handler_load_result (RthunkServerState *state,
                                         const guint8      *key,
                                         RthunkType        *type);
void rthunk_handler_store_result (RthunkServerState *state,
                                  const guint8      *key,
                                  RthunkType        *type,
                                  RthunkValue       *value);

/* rthunk-peer-fetch.c */
void rthunk_handler_run_fetch (gpointer data,
                               gpointer user_data);
RthunkThunkEntry *rthunk_handler_fetch_input (RthunkServerState         *state,
                                              const RthunkRequestInput  *binding,
                                              GError                   **error);

/* rthunk-handler.c */
gboolean rthunk_handler_tokens_equal (const char *given,
                                      const char *expected);

G_END_DECLS
