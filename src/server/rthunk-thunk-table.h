/* rthunk-thunk-table.h — the server's thunks by id.  Private. */
#pragma once

#include <gio/gio.h>

#include "rthunk-bindings.h"
#include "rthunk-budget.h"
#include "rthunk-conn-account.h"
#include "rthunk-node.h"
#include "rthunk-thunk-state.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define RTHUNK_THUNK_ID_LEN 16

/* RthunkThunkState (PENDING = 1 … CANCELLED = 5, the values of the wire's
 * ThunkState) is public: see rthunk-thunk.h. */

/* Reference-counted: rthunk_thunk_entry_ref() and _unref(). The table
 * keeps up to --max-thunks finished entries, so every byte counts: the
 * fields are ordered to leave no padding, the flags are single bytes, a
 * finished thunk reuses @expr for the head of its expression and @link
 * for its place among the finished (bench/README.md, "memory"). */
typedef struct
{
  /* first: the table's key (the id) and value (the entry) are then the
   * same pointer, and its hash table keeps no separate array of values */
  guint8 id[RTHUNK_THUNK_ID_LEN];
  gatomicrefcount ref_count;
  RthunkThunkState state;        /* read and written under its shard's lock */
  guint deadline_ms;
  guint8 cancel_asked;           /* cancelled before it had a cancellable (shard lock) */
  guint8 cacheable;
  guint8 by_reference;           /* the value stays here: not sent with the submission's answer */
  guint8 named_elsewhere;        /* another connection looked it up (shard lock) */
  RthunkNode *expr;              /* once finished: only its head (a symbol), or expr if no list (shard lock) */
  RthunkBindings *inputs;        /* name → RthunkValue */
  RthunkType *type;
  RthunkValue *value;            /* DONE (shard lock: the budget may take it) */
  gsize value_bytes;             /* what it is charged to the budget (shard lock) */
  GError *error;                 /* FAILED, CANCELLED */
  GCancellable *cancellable;     /* made when a worker runs it (shard lock) */
  guint64 fuel;
  gint64 submitted_us;
  gint64 started_us;             /* 0 until a worker (or the cache) starts it (shard lock) */
  gint64 finished_us;
  GPtrArray *definitions;        /* RthunkDefinition: everything it uses */
  GHashTable *def_names;         /* name in the expression → hash (GBytes) */
  guint8 *cache_key;             /* 32 bytes while it runs, when cacheable */
  RthunkBindings *thunk_inputs;  /* name → RthunkThunkEntry: inputs still being computed here */
  RthunkConnAccount *owner;      /* (nullable) the connection that submitted it */
  GList link;                    /* in the table's queue of queued and running thunks, then of finished ones */
} RthunkThunkEntry;

typedef struct _RthunkThunkTable RthunkThunkTable;

/* One thunk as rthunk_thunk_table_list() saw it, under its shard's lock. */
typedef struct
{
  RthunkThunkEntry *entry;       /* a reference */
  RthunkNode *expr;              /* (nullable) a reference: its expression, or its head once finished */
  RthunkThunkState state;
  gint64 started_us;             /* 0: not started */
  gint64 finished_us;            /* 0: not finished */
} RthunkThunkView;

RthunkThunkTable *rthunk_thunk_table_new       (guint              max_finished,
                                                guint              ttl_ms);
void              rthunk_thunk_table_free      (RthunkThunkTable  *table);
RthunkThunkEntry *rthunk_thunk_table_add       (RthunkThunkTable  *table,
                                                RthunkNode        *expr,
                                                RthunkBindings    *inputs,
                                                RthunkType        *type,
                                                const guint8      *proposed_id,
                                                RthunkConnAccount *owner);
void              rthunk_thunk_table_remove    (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry);
RthunkThunkEntry *rthunk_thunk_table_lookup    (RthunkThunkTable  *table,
                                                const guint8      *id,
                                                gsize              len);
gboolean          rthunk_thunk_table_start     (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry);
gboolean          rthunk_thunk_table_unstart   (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry);
GCancellable     *rthunk_thunk_table_get_cancellable (RthunkThunkTable *table,
                                                     RthunkThunkEntry *entry);
void              rthunk_thunk_table_finish    (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry,
                                                RthunkValue       *value,
                                                const GError      *error);
gboolean          rthunk_thunk_table_cancel    (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry,
                                                gboolean          *finished_now);
guint             rthunk_thunk_table_wait_any  (RthunkThunkTable  *table,
                                                RthunkThunkEntry **entries,
                                                guint              n_entries,
                                                gint64             deadline_us,
                                                RthunkConnAccount *account);
guint             rthunk_thunk_table_count_waiters (RthunkThunkTable *table);
guint             rthunk_thunk_table_cancel_orphans (RthunkThunkTable  *table,
                                                     RthunkConnAccount *owner);
RthunkThunkState  rthunk_thunk_table_get_state (RthunkThunkTable  *table,
                                                RthunkThunkEntry  *entry);
guint             rthunk_thunk_table_count_unfinished (RthunkThunkTable *table);
gboolean          rthunk_thunk_table_wait_idle (RthunkThunkTable  *table,
                                                gint64             deadline_us);
guint             rthunk_thunk_table_cancel_all (RthunkThunkTable *table,
                                                 const GError     *reason);
void              rthunk_thunk_table_close     (RthunkThunkTable  *table);
RthunkThunkState  rthunk_thunk_table_get_outcome (RthunkThunkTable *table,
                                                  RthunkThunkEntry *entry,
                                                  RthunkValue     **value);
GArray           *rthunk_thunk_table_list      (RthunkThunkTable *table,
                                                guint             max_finished);
void              rthunk_thunk_table_set_budget (RthunkThunkTable *table,
                                                 RthunkBudget     *budget);
guint             rthunk_thunk_table_n_shards  (RthunkThunkTable *table);
guint             rthunk_thunk_table_shard_index (RthunkThunkTable *table,
                                                  const guint8     *id);
guint             rthunk_thunk_table_count_finished (RthunkThunkTable *table);

RthunkThunkEntry *rthunk_thunk_entry_ref       (RthunkThunkEntry  *entry);
void              rthunk_thunk_entry_unref     (RthunkThunkEntry  *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkThunkEntry, rthunk_thunk_entry_unref)

G_END_DECLS
