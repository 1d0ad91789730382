/* rthunk-session.c — named cells that recompute when their inputs change
 *
 * A session is a spreadsheet of cells over one checker and one evaluator.
 * Every top-level `def`/`defn` is a named cell; every other top-level form
 * is an anonymous cell that nothing reads.
 *
 * Dependencies. What a cell reads is found before it is evaluated, from its
 * form: the free names of the form that are session cells
 * (rthunk_hash_collect_references(), which knows the binding forms, so a
 * local that shadows a cell is not a read, and a defn's recursive use of
 * itself is not one either). A function cell reads what its body reads, so
 * a cell that calls it is recomputed when those change. This is an
 * over-approximation of what one evaluation reads (a branch not taken
 * still counts), which only ever recomputes a cell too often, never too
 * rarely. A definition that would close a cycle is refused before anything
 * runs, with the cycle in the message.
 *
 * Scheduling. A cell runs only when every cell it reads is settled (has a
 * value with nothing pending inside): until then it is waiting, and its
 * value is a pending value (a local #RthunkThunk, its future). When a cell
 * settles or fails, the waiting cells that read it are scheduled, through
 * one work queue, so each cell runs once per change and in dependency
 * order; a redefinition first marks every transitive dependent as waiting
 * (in topological order), then runs them. A failed input fails its readers
 * with a message that names the root cause.
 *
 * Evaluation runs in a thread pool. The main thread waits for it until it
 * is done, or until it has to wait for a thunk (the block hook of
 * rthunk-thunk tells), or until the evaluation budget is spent; then the
 * cell is pending and the result is applied later, in the session's main
 * context. The evaluator is one object used by one thread at a time: an
 * evaluation holds the evaluator lock while it runs and lets go of it while
 * it waits for a thunk or for a server to take a submission. Values that
 * the main thread binds are queued and bound by whoever holds the lock
 * next.
 *
 * A value with pending values inside (`(remote …)`, a list of them) is
 * settling: a settler waits for each thunk without blocking (the `resolved`
 * side of #RthunkThunk), and the cell settles when the last one arrived.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-session.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-cluster.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-reader.h"
#include "rthunk-server.h"
#include "rthunk-stdlib.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-type.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define DEFAULT_SOURCE "<eval>"
#define WAIT_WAKE_MS 100                /* longest sleep of a waiting loop */

typedef struct _Cell Cell;
typedef struct _Evaluation Evaluation;
typedef struct _Settler Settler;

typedef enum
{
  CELL_WAITING,       /* for inputs that are not settled */
  CELL_RUNNING,       /* being evaluated, off the main thread */
  CELL_SETTLING,      /* has a value with pending values inside */
  CELL_DONE,
  CELL_FAILED,
} CellState;

struct _Cell
{
  gint ref_count;
  char *name;                 /* NULL for an expression */
  RthunkNode *form;
  RthunkNode *expr;           /* what is evaluated */
  gboolean is_defn;
  GPtrArray *reads;           /* names of the cells the form reads */
  CellState state;
  guint generation;
  RthunkValue *value;
  RthunkThunk *future;        /* resolved when the cell settles or fails */
  GError *error;
  char *root;                 /* the cell whose own failure made this one fail */
  GError *root_error;
  GError *type_error;         /* the form no longer checks after a redefinition */
  Evaluation *evaluation;
  Settler *settler;
  char *origin;               /* the thunk its value came from */
  char *trigger;              /* the origin of the input that let it run */
  gint64 started_us;
  gint64 settled_us;
};

typedef enum
{
  EVAL_QUEUED,
  EVAL_RUNNING,
  EVAL_BLOCKED,
  EVAL_DONE,
} EvalStatus;

struct _Evaluation
{
  gint ref_count;
  RthunkSession *session;     /* not a reference: close() waits for evaluations */
  Cell *cell;
  guint generation;
  RthunkNode *expr;
  GCancellable *cancellable;
  RthunkBlockHook hook;
  GMutex lock;
  GCond cond;
  EvalStatus status;          /* under lock, with the next three */
  gboolean detached;
  RthunkThunk *blocked_on;
  RthunkValue *result;
  GError *error;
  gboolean locked;            /* the worker holds the evaluator lock */
  gboolean relock;
};

typedef void (*SettleFunc) (RthunkSession *self,
                            RthunkValue   *value,
                            const GError  *error,
                            const char    *origin,
                            gpointer       data);

struct _Settler
{
  gint ref_count;
  RthunkSession *session;     /* cleared when cancelled */
  RthunkValue *root;
  GCancellable *cancellable;
  GHashTable *watched;        /* RthunkThunk set */
  guint outstanding;
  char *origin;
  gboolean finished;
  SettleFunc func;
  gpointer data;
  GDestroyNotify destroy;
};

typedef struct
{
  RthunkClient *client;
  RthunkCollector *collector;
} Server;

typedef struct
{
  char *name;
  RthunkValue *value;
} Binding;

struct _RthunkSession
{
  GObject parent_instance;

  GMainContext *context;
  RthunkCatalog *catalog;
  RthunkChecker *checker;
  RthunkEvaluator *evaluator;
  GMutex eval_lock;           /* who uses the evaluator */
  GMutex bind_lock;
  GQueue binds;               /* Binding, waiting for the evaluator lock */
  GThreadPool *pool;
  GMutex servers_lock;
  GPtrArray *servers;         /* Server */
  RthunkCluster *cluster;     /* the same servers: routing, splitting, failover */
  char *token;
  RthunkServer *embedded;
  gboolean local;
  gint eval_budget_ms;
  gboolean sequential;
  gint closed;                /* atomic */

  GHashTable *cells;          /* name (the cell's) → Cell */
  GPtrArray *order;           /* Cell, in order of first definition */
  GPtrArray *anonymous;       /* Cell: expressions not settled yet */
  GQueue ready;               /* Cell: to schedule */
  gboolean pumping;
};

/**
 * RthunkSession:
 *
 * A reactive environment of named cells: what a REPL, a script or an
 * application evaluates rthunk code in.
 *
 * `(def NAME EXPR)` and `(defn NAME …)` define cells. Everything is
 * type-checked before anything runs; `(remote …)` returns at once with a
 * pending value; a cell that reads a pending cell is pending too, and is
 * computed when its inputs arrive, off the main thread when it has to wait
 * for a thunk. Redefining a cell recomputes every cell that reads it, in
 * dependency order, each once; a definition that would make a cycle is
 * refused; a failure fails the cells downstream with a message naming the
 * root cause. Results are applied, and signals emitted, in the main
 * context that was the thread default when the session was made.
 *
 * ```python
 * session = Rthunk.Session.new()
 * session.add_server("127.0.0.1:9090")
 * session.eval("(def x (remote (* 6 7))) (def y (+ x 1))")
 * print(session.wait(session.lookup("y"), 10000).to_string())   # 43
 * ```
 *
 * Since: 0.1
 */
G_DEFINE_FINAL_TYPE (RthunkSession, rthunk_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LOCAL,
  PROP_EVAL_BUDGET,
  PROP_SEQUENTIAL,
  N_PROPS
};

enum {
  SIGNAL_CELL_DEFINED,
  SIGNAL_CELL_CHANGED,
  SIGNAL_CELL_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];
static GPrivate current_evaluation;

static void schedule (RthunkSession *self, Cell *cell);
static void pump (RthunkSession *self);
static void cell_evaluated (RthunkSession *self, Cell *cell, guint generation,
                            RthunkValue *value, const GError *error);

/* ---- small helpers -------------------------------------------------------- */

static gboolean
is_closed (RthunkSession *self)
{
  return g_atomic_int_get (&self->closed) != 0;
}

static GError *
new_error (RthunkError  code,
           const char  *format,
           ...) G_GNUC_PRINTF (2, 3);

static GError *
new_error (RthunkError  code,
           const char  *format,
           ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (RTHUNK_ERROR, code, format, args);
  va_end (args);
  return error;
}

static const char *
cell_label (Cell *cell)
{
  return cell->name != NULL ? cell->name : _("the expression");
}

/* ---- values with pending values inside ------------------------------------- */

static gboolean
has_pending (RthunkValue *value)
{
  if (rthunk_value_is_pending (value))
    return TRUE;
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_LIST)
    return FALSE;
  for (gsize k = 0; k < rthunk_value_get_length (value); k++)
    if (has_pending (rthunk_value_get_item (value, k)))
      return TRUE;
  return FALSE;
}

/* @value with every pending value inside replaced by what it stands for;
 * blocks for those that have not arrived. */
static RthunkValue *
deep_force (RthunkValue  *value,
            GError      **error)
{
  g_autoptr(GPtrArray) items = NULL;
  gsize n;

  if (rthunk_value_is_pending (value))
    {
      g_autoptr(RthunkValue) forced = rthunk_value_force (value, error);

      return forced != NULL ? deep_force (forced, error) : NULL;
    }
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_LIST || !has_pending (value))
    return rthunk_value_ref (value);
  n = rthunk_value_get_length (value);
  items = g_ptr_array_new_full (n, (GDestroyNotify) rthunk_value_unref);
  for (gsize k = 0; k < n; k++)
    {
      RthunkValue *item = deep_force (rthunk_value_get_item (value, k), error);

      if (item == NULL)
        return NULL;
      g_ptr_array_add (items, item);
    }
  return rthunk_value_new_list ((RthunkValue *const *) items->pdata, n);
}

/* The first pending value inside @value that has not arrived: a thunk that
 * has not finished (@thunk), or a pending value of another kind. */
static RthunkValue *
find_unfinished (RthunkValue  *value,
                 RthunkThunk **thunk)
{
  if (rthunk_value_is_pending (value))
    {
      RthunkThunk *t = rthunk_thunk_get_from_value (value);

      if (t == NULL || !rthunk_thunk_is_finished (t))
        {
          *thunk = t;
          return value;
        }
      return rthunk_thunk_get_value (t) != NULL ? find_unfinished (rthunk_thunk_get_value (t), thunk) : NULL;
    }
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_LIST)
    return NULL;
  for (gsize k = 0; k < rthunk_value_get_length (value); k++)
    {
      RthunkValue *found = find_unfinished (rthunk_value_get_item (value, k), thunk);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* ---- cells ------------------------------------------------------------------ */

static Cell *
cell_ref (Cell *cell)
{
  g_atomic_int_inc (&cell->ref_count);
  return cell;
}

static void evaluation_unref (Evaluation *ev);
static void settler_cancel (Settler *settler);

static void
cell_unref (Cell *cell)
{
  if (!g_atomic_int_dec_and_test (&cell->ref_count))
    return;
  g_assert (cell->evaluation == NULL && cell->settler == NULL);
  g_free (cell->name);
  g_clear_pointer (&cell->form, rthunk_node_unref);
  g_clear_pointer (&cell->expr, rthunk_node_unref);
  g_clear_pointer (&cell->reads, g_ptr_array_unref);
  g_clear_pointer (&cell->value, rthunk_value_unref);
  g_clear_object (&cell->future);
  g_clear_error (&cell->error);
  g_clear_error (&cell->root_error);
  g_clear_error (&cell->type_error);
  g_free (cell->root);
  g_free (cell->origin);
  g_free (cell->trigger);
  g_free (cell);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cell, cell_unref)

static Cell *
cell_new (const char *name)
{
  Cell *cell = g_new0 (Cell, 1);

  cell->ref_count = 1;
  cell->name = g_strdup (name);
  cell->state = CELL_WAITING;
  cell->started_us = g_get_monotonic_time ();
  return cell;
}

static void
cell_set_value (Cell        *cell,
                RthunkValue *value)
{
  RthunkValue *old = cell->value;

  cell->value = rthunk_value_ref (value);
  g_clear_pointer (&old, rthunk_value_unref);
}

static gboolean
cell_reads (Cell       *cell,
            const char *name)
{
  for (guint k = 0; cell->reads != NULL && k < cell->reads->len; k++)
    if (strcmp (g_ptr_array_index (cell->reads, k), name) == 0)
      return TRUE;
  return FALSE;
}

/* Stops what the cell was doing for its previous generation. */
static void
cell_abandon (Cell *cell)
{
  if (cell->evaluation != NULL)
    {
      g_cancellable_cancel (cell->evaluation->cancellable);
      g_clear_pointer (&cell->evaluation, evaluation_unref);
    }
  if (cell->settler != NULL)
    settler_cancel (g_steal_pointer (&cell->settler));
}

/* ---- the evaluator lock and the bindings waiting for it ----------------------- */

static void
drain_binds_locked (RthunkSession *self)
{
  for (;;)
    {
      Binding *binding;

      g_mutex_lock (&self->bind_lock);
      binding = g_queue_pop_head (&self->binds);
      g_mutex_unlock (&self->bind_lock);
      if (binding == NULL)
        return;
      rthunk_evaluator_bind (self->evaluator, binding->name, binding->value);
      rthunk_value_unref (binding->value);
      g_free (binding->name);
      g_free (binding);
    }
}

/* Binds @name in the evaluator now, or as soon as its lock is free. */
static void
queue_bind (RthunkSession *self,
            const char    *name,
            RthunkValue   *value)
{
  Binding *binding = g_new (Binding, 1);

  binding->name = g_strdup (name);
  binding->value = rthunk_value_ref (value);
  g_mutex_lock (&self->bind_lock);
  g_queue_push_tail (&self->binds, binding);
  g_mutex_unlock (&self->bind_lock);
  if (g_mutex_trylock (&self->eval_lock))
    {
      drain_binds_locked (self);
      g_mutex_unlock (&self->eval_lock);
    }
}

/* What untracked readers see: the values of def cells (a defn binds
 * itself when it runs, with its definition). */
static void
cell_publish (RthunkSession *self,
              Cell          *cell)
{
  if (cell->name != NULL && cell->value != NULL &&
      !(cell->is_defn && cell->state == CELL_DONE))
    queue_bind (self, cell->name, cell->value);
}

static void
evaluator_enter (RthunkSession *self,
                 Evaluation    *ev)
{
  g_mutex_lock (&self->eval_lock);
  drain_binds_locked (self);
  rthunk_evaluator_set_cancellable (self->evaluator, ev->cancellable);
  ev->locked = TRUE;
}

static void
evaluator_leave (RthunkSession *self,
                 Evaluation    *ev)
{
  ev->locked = FALSE;
  rthunk_evaluator_set_cancellable (self->evaluator, NULL);
  g_mutex_unlock (&self->eval_lock);
}

/* ---- servers -------------------------------------------------------------------- */

static void
server_free (gpointer data)
{
  Server *server = data;

  rthunk_collector_stop (server->collector);
  rthunk_collector_unref (server->collector);
  g_object_unref (server->client);
  g_free (server);
}

static RthunkCatalog *
merged_catalog (GPtrArray *servers)
{
  RthunkCatalog *merged;

  if (servers->len == 1)
    return g_object_ref (rthunk_client_get_catalog (((Server *) g_ptr_array_index (servers, 0))->client));
  merged = rthunk_catalog_new ();
  for (guint k = 0; k < servers->len; k++)
    {
      g_autoptr(GPtrArray) defs = rthunk_catalog_list (rthunk_client_get_catalog (((Server *) g_ptr_array_index (servers, k))->client));

      for (guint d = 0; d < defs->len; d++)
        {
          RthunkFuncDef *def = g_ptr_array_index (defs, d);

          if (rthunk_catalog_lookup (merged, rthunk_func_def_get_name (def)) == NULL)
            rthunk_catalog_add_remote (merged, rthunk_func_def_get_name (def),
                                       rthunk_func_def_get_type_term (def),
                                       rthunk_func_def_get_flags (def),
                                       rthunk_func_def_get_doc (def), NULL);
        }
    }
  return merged;
}

static Server *
pick_server (RthunkSession  *self,
             GHashTable     *options,
             GError        **error)
{
  RthunkValue *on = g_hash_table_lookup (options, "on");
  g_autoptr(GString) names = g_string_new (NULL);
  g_autofree char *wanted = NULL;
  Server *found = NULL;

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len && found == NULL; k++)
    {
      Server *server = g_ptr_array_index (self->servers, k);
      const char *name = rthunk_client_get_server_name (server->client);

      if (on == NULL || (rthunk_value_get_kind (on) == RTHUNK_VALUE_STR &&
                         g_strcmp0 (rthunk_value_get_str (on), name) == 0))
        found = server;
      g_string_append_printf (names, "%s%s", k > 0 ? ", " : "", name);
    }
  g_mutex_unlock (&self->servers_lock);
  if (found != NULL)
    return found;
  if (on == NULL)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION, _("no server to evaluate remote expressions"));
  else
    {
      wanted = rthunk_value_to_string (on);
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("no server named %s (connected: %s)"), wanted, names->str);
    }
  return NULL;
}

static GHashTable *
copy_definitions (GHashTable *definitions)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) rthunk_node_unref);
  GHashTableIter iter;
  gpointer name, form;

  g_hash_table_iter_init (&iter, definitions);
  while (g_hash_table_iter_next (&iter, &name, &form))
    g_hash_table_insert (copy, g_strdup (name), rthunk_node_ref (form));
  return copy;
}

/* The client's (or cluster's) pending value a session thunk stands for:
 * while the thunk runs, a remote expression that reads it sends this one,
 * which travels as a reference to the thunk (promise pipelining). */
#define ORIGIN_KEY "rthunk-session-origin"

static void
keep_origin (RthunkThunk *thunk,
             RthunkValue *origin)
{
  g_object_set_data_full (G_OBJECT (thunk), ORIGIN_KEY, origin, (GDestroyNotify) rthunk_value_unref);
}

/* A value as the client or cluster should see it: the pending value of a
 * thunk still running becomes its origin again. */
static RthunkValue *
origin_of (RthunkValue *value,
           gpointer     user_data)
{
  RthunkThunk *thunk = rthunk_thunk_get_from_value (value);
  RthunkValue *origin = thunk != NULL ? g_object_get_data (G_OBJECT (thunk), ORIGIN_KEY) : NULL;

  return origin == NULL || rthunk_thunk_is_finished (thunk) ? value : origin;
}

/* A pending value a client returned becomes one of a thunk that the
 * server's collector finishes. */
static RthunkValue *
adopt_pending (RthunkSession *self,
               Server        *server,
               RthunkValue   *value)
{
  g_autoptr(GBytes) id = NULL;
  g_autoptr(RthunkThunk) thunk = NULL;

  /* a value, or a remote reference (fetched only when forced) */
  if (rthunk_value_is_reference (value) || rthunk_client_get_pending_thunk (value, &id) == NULL)
    return value;
  thunk = rthunk_thunk_new_in_context (rthunk_value_get_name (value),
                                       rthunk_client_get_server_name (server->client), id,
                                       self->context);
  rthunk_collector_add (server->collector, thunk);
  keep_origin (thunk, value);
  return rthunk_thunk_to_value (thunk);
}

static Server *
server_for_address (RthunkSession *self,
                    const char    *address)
{
  Server *found = NULL;

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len && found == NULL; k++)
    {
      Server *server = g_ptr_array_index (self->servers, k);

      if (g_strcmp0 (rthunk_client_get_address (server->client), address) == 0)
        found = server;
    }
  g_mutex_unlock (&self->servers_lock);
  return found;
}

typedef struct
{
  RthunkThunk *thunk;
  RthunkValue *value;
} Foreign;

static gpointer
foreign_wait (gpointer data)
{
  Foreign *foreign = data;
  GError *error = NULL;
  RthunkValue *value = rthunk_value_force (foreign->value, &error);

  if (value != NULL)
    rthunk_thunk_return_value (foreign->thunk, value);
  else
    rthunk_thunk_return_error (foreign->thunk, error);
  g_clear_pointer (&value, rthunk_value_unref);
  g_clear_error (&error);
  rthunk_value_unref (foreign->value);
  g_object_unref (foreign->thunk);
  g_free (foreign);
  return NULL;
}

/* A pending value that did not come from a server's own client (the
 * cluster routed it): adopted by the collector of its server when it is a
 * client's thunk, else waited for by a thread of its own. Either way every
 * pending value of a session stands for a #RthunkThunk, which evaluations
 * wait for without holding the evaluator, and which settlers watch. */
static RthunkValue *
adopt_foreign (RthunkSession *self,
               RthunkValue   *value)
{
  RthunkClient *client;
  Server *server = NULL;
  Foreign *foreign;

  if (!rthunk_value_is_pending (value) || rthunk_thunk_get_from_value (value) != NULL)
    return value;
  if ((client = rthunk_client_get_pending_thunk (value, NULL)) != NULL &&
      (server = server_for_address (self, rthunk_client_get_address (client))) != NULL)
    return adopt_pending (self, server, value);
  foreign = g_new (Foreign, 1);
  foreign->thunk = rthunk_thunk_new_in_context (rthunk_value_get_name (value), NULL, NULL, self->context);
  foreign->value = value;
  keep_origin (foreign->thunk, rthunk_value_ref (value));
  value = rthunk_thunk_to_value (foreign->thunk);
  g_thread_unref (g_thread_new ("rthunk-foreign", foreign_wait, foreign));
  return value;
}

/* Submits; a connection the server closed while it was idle (servers drop
 * idle connections) is reopened, and the submission made again, once. */
static RthunkValue *
submit (Server      *server,
        RthunkNode  *expr,
        GHashTable  *inputs,
        GHashTable  *definitions,
        gboolean     by_reference,
        GError     **error)
{
  g_autoptr(GError) first = NULL;
  RthunkValue *(*submit_one) (RthunkClient *, RthunkNode *, GHashTable *, GHashTable *, GError **) =
    by_reference ? rthunk_client_submit_reference : rthunk_client_submit_full;
  RthunkValue *value;

  value = submit_one (server->client, expr, inputs, definitions, &first);
  if (value != NULL || !(g_error_matches (first, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION) ||
                         g_error_matches (first, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION_LOST)))
    {
      if (value == NULL)
        g_propagate_error (error, g_steal_pointer (&first));
      return value;
    }
  return submit_one (server->client, expr, inputs, definitions, error);
}

/* ---- queued submissions: a burst of remote expressions in one frame --------- */

typedef struct
{
  RthunkThunk *thunk;
  RthunkCollector *collector;
} SessionQueued;

static void
session_queued_free (gpointer data)
{
  SessionQueued *q = data;

  g_object_unref (q->thunk);
  rthunk_collector_unref (q->collector);
  g_free (q);
}

/* How a queued submission went: finished inline, refused, or running (the
 * server's collector long-polls for it from now on). */
static void
session_queued_sent (RthunkValue  *value,
                     const GError *error,
                     gpointer      data)
{
  SessionQueued *q = data;

  if (error != NULL)
    rthunk_thunk_return_error (q->thunk, error);
  else if (value != NULL)
    rthunk_thunk_return_value (q->thunk, value);
  else
    rthunk_collector_add (q->collector, q->thunk);
}

/* Queues @expr on @server's client: its thunk exists at once, the request
 * leaves with the others of the burst (flush_all). */
static RthunkValue *
enqueue (RthunkSession  *self,
         Server         *server,
         RthunkNode     *expr,
         GHashTable     *inputs,
         GError        **error)
{
  guint8 id[RTHUNK_CLIENT_ID_LEN];
  g_autoptr(GBytes) id_bytes = NULL;
  g_autoptr(GByteArray) id_array = g_byte_array_new ();
  g_autofree char *label = NULL;
  g_autoptr(RthunkThunk) thunk = NULL;
  SessionQueued *q;
  RthunkValue *origin;

  rthunk_client_random_id (id);
  id_bytes = g_bytes_new (id, sizeof id);
  g_byte_array_append (id_array, id, sizeof id);
  label = rthunk_client_thunk_label (server->client, id_array);
  thunk = rthunk_thunk_new_in_context (label, rthunk_client_get_server_name (server->client), id_bytes,
                                       self->context);
  /* a flush (here or in another thread) frees @q once it reported */
  q = g_new0 (SessionQueued, 1);
  q->thunk = g_object_ref (thunk);
  q->collector = rthunk_collector_ref (server->collector);
  origin = rthunk_client_enqueue (server->client, expr, inputs, id, session_queued_sent, q,
                                  session_queued_free, error);
  if (origin == NULL)
    {
      session_queued_free (q);
      return NULL;
    }
  keep_origin (thunk, origin);
  if (rthunk_client_get_queued (server->client) >= RTHUNK_CLIENT_MAX_BATCH)
    rthunk_client_flush (server->client, NULL);
  return rthunk_thunk_to_value (thunk);
}

/* Sends every queued submission: when an evaluation ends or has to wait. */
static void
flush_all (RthunkSession *self)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len; k++)
    g_ptr_array_add (clients, g_object_ref (((Server *) g_ptr_array_index (self->servers, k))->client));
  g_mutex_unlock (&self->servers_lock);
  for (guint k = 0; k < clients->len; k++)
    if (rthunk_client_get_queued (g_ptr_array_index (clients, k)) > 0)
      rthunk_client_flush (g_ptr_array_index (clients, k), NULL);
}

/* The evaluator's `(remote …)`: submits without holding the evaluator. */
static RthunkValue *
session_remote (RthunkEvaluator  *evaluator,
                RthunkNode       *expr,
                GHashTable       *options,
                GHashTable       *inputs,
                gpointer          user_data,
                GError          **error)
{
  RthunkSession *self = user_data;
  Evaluation *ev = g_private_get (&current_evaluation);
  g_autoptr(GHashTable) definitions = NULL;
  g_autoptr(GHashTable) sent = rthunk_value_table_map (inputs, origin_of, NULL);
  RthunkValue *value;
  Server *server = NULL;
  gboolean was_locked;
  gboolean by_cluster;
  gboolean queued;

  /* With several servers, a capability asked for or a verification, the
   * cluster routes (and fails over); one server is used directly and its
   * collector long-polls for the results. */
  by_cluster = rthunk_cluster_get_n_servers (self->cluster) > 1 ||
               g_hash_table_contains (options, "needs") || g_hash_table_contains (options, "verify");
  if (!by_cluster && (server = pick_server (self, options, error)) == NULL)
    return NULL;
  definitions = copy_definitions (rthunk_evaluator_get_definitions (evaluator));
  was_locked = ev != NULL && ev->locked;
  if (was_locked)
    evaluator_leave (self, ev);
  /* one server, nothing to send along, not a reference: queued, and sent
   * with the rest of the burst in one frame */
  queued = !by_cluster && !g_hash_table_contains (options, "ref") &&
           rthunk_client_can_enqueue (server->client, expr, definitions);
  if (queued)
    value = enqueue (self, server, expr, sent, error);
  else
    value = by_cluster ? rthunk_cluster_submit (self->cluster, expr, options, sent, definitions, error)
                       : submit (server, expr, sent, definitions, g_hash_table_contains (options, "ref"), error);
  if (was_locked)
    evaluator_enter (self, ev);
  if (value == NULL || queued)
    return value;
  return by_cluster ? adopt_foreign (self, value) : adopt_pending (self, server, value);
}

/* The servers that can run a chunk of pmap, psum or preduce. */
static GStrv
session_servers (RthunkEvaluator *evaluator,
                 RthunkNode      *expr,
                 gpointer         user_data)
{
  RthunkSession *self = user_data;

  return rthunk_cluster_eligible (self->cluster, expr, rthunk_evaluator_get_definitions (evaluator), NULL);
}

static void
update_checker (RthunkSession *self)
{
  g_autoptr(RthunkCatalog) remote = merged_catalog (self->servers);

  rthunk_checker_set_remote_catalog (self->checker, remote);
}

/**
 * rthunk_session_add_server:
 * @session: a session
 * @address: `HOST:PORT` of a provider
 * @error: return location for a #GError
 *
 * Connects to a provider and reads its catalog: remote expressions are
 * checked against it and sent to it. Each server gets one collector
 * thread, which long-polls for the results of every outstanding thunk at
 * once. `(remote :on NAME …)` picks a server by the name it gives itself;
 * otherwise the first server added is used.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_CONNECTION when
 *   the server cannot be reached)
 *
 * Since: 0.1
 */
gboolean
rthunk_session_add_server (RthunkSession  *session,
                           const char     *address,
                           GError        **error)
{
  g_autoptr(RthunkClient) client = NULL;
  g_autoptr(RthunkClient) poll = NULL;
  Server *server;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  client = rthunk_client_new (address);
  rthunk_client_set_token (client, session->token);
  if (!rthunk_client_connect (client, error) ||
      !rthunk_cluster_add_server (session->cluster, address, error))
    return FALSE;
  poll = rthunk_client_new (address);
  rthunk_client_set_token (poll, session->token);
  server = g_new0 (Server, 1);
  server->client = g_steal_pointer (&client);
  server->collector = rthunk_collector_new (server->client, poll);
  g_mutex_lock (&session->servers_lock);
  g_ptr_array_add (session->servers, server);
  g_mutex_unlock (&session->servers_lock);
  update_checker (session);
  return TRUE;
}

/**
 * rthunk_session_start_embedded:
 * @session: a session
 * @error: return location for a #GError
 *
 * Starts a provider inside this process, on a loopback port, with the
 * session's catalog, and adds it as a server: `(remote …)` then works
 * without any daemon. A session with no server and not local does this by
 * itself the first time it meets `(remote …)`.
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_session_start_embedded (RthunkSession  *session,
                               GError        **error)
{
  g_autofree char *address = NULL;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);
  g_return_val_if_fail (session->embedded == NULL, FALSE);

  session->embedded = rthunk_server_new (session->catalog, "embedded");
  if (!rthunk_server_listen (session->embedded, "127.0.0.1", 0, error))
    {
      g_clear_object (&session->embedded);
      return FALSE;
    }
  address = g_strdup_printf ("127.0.0.1:%u", rthunk_server_get_port (session->embedded));
  return rthunk_session_add_server (session, address, error);
}

/**
 * rthunk_session_get_servers:
 * @session: a session
 *
 * Returns: (transfer container) (element-type RthunkClient): a client for
 *   each server, in the order they were added
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_session_get_servers (RthunkSession *session)
{
  GPtrArray *clients = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), clients);

  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    g_ptr_array_add (clients, g_object_ref (((Server *) g_ptr_array_index (session->servers, k))->client));
  g_mutex_unlock (&session->servers_lock);
  return clients;
}

/**
 * rthunk_session_get_outstanding:
 * @session: a session
 *
 * Returns: how many remote thunks the session is waiting for
 *
 * Since: 0.1
 */
guint
rthunk_session_get_outstanding (RthunkSession *session)
{
  guint n = 0;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), 0);

  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    n += rthunk_collector_get_outstanding (((Server *) g_ptr_array_index (session->servers, k))->collector);
  g_mutex_unlock (&session->servers_lock);
  return n;
}

/* ---- evaluations ------------------------------------------------------------------ */

static Evaluation *
evaluation_ref (Evaluation *ev)
{
  g_atomic_int_inc (&ev->ref_count);
  return ev;
}

static void
evaluation_unref (Evaluation *ev)
{
  if (!g_atomic_int_dec_and_test (&ev->ref_count))
    return;
  g_clear_object (&ev->blocked_on);
  g_clear_pointer (&ev->result, rthunk_value_unref);
  g_clear_error (&ev->error);
  g_clear_object (&ev->cancellable);
  rthunk_node_unref (ev->expr);
  g_mutex_clear (&ev->lock);
  g_cond_clear (&ev->cond);
  /* the cell is only touched in the main context: see evaluation_apply() */
  g_free (ev);
}

/* The block hook: the evaluation is about to wait for @thunk. */
static void
evaluation_blocked (gpointer     data,
                    RthunkThunk *thunk)
{
  Evaluation *ev = data;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_BLOCKED;
  g_set_object (&ev->blocked_on, thunk);
  g_cond_broadcast (&ev->cond);
  g_mutex_unlock (&ev->lock);
  ev->relock = ev->locked;
  if (ev->relock)
    evaluator_leave (ev->session, ev);
  /* what the evaluation queued may be what it waits for */
  flush_all (ev->session);
}

static void
evaluation_unblocked (gpointer     data,
                      RthunkThunk *thunk)
{
  Evaluation *ev = data;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_RUNNING;
  g_clear_object (&ev->blocked_on);
  g_mutex_unlock (&ev->lock);
  if (ev->relock)
    evaluator_enter (ev->session, ev);
  ev->relock = FALSE;
}

static Evaluation *
evaluation_new (RthunkSession *self,
                Cell          *cell)
{
  Evaluation *ev = g_new0 (Evaluation, 1);

  ev->ref_count = 1;
  ev->session = self;
  ev->cell = cell;
  ev->generation = cell->generation;
  ev->expr = rthunk_node_ref (cell->expr);
  ev->cancellable = g_cancellable_new ();
  ev->hook.before = evaluation_blocked;
  ev->hook.after = evaluation_unblocked;
  ev->hook.cancellable = ev->cancellable;
  ev->hook.data = ev;
  g_mutex_init (&ev->lock);
  g_cond_init (&ev->cond);
  ev->status = EVAL_QUEUED;
  return ev;
}

typedef struct
{
  RthunkSession *session;
  Evaluation *ev;
  Cell *cell;
} Apply;

static void
apply_free (gpointer data)
{
  Apply *apply = data;

  cell_unref (apply->cell);
  evaluation_unref (apply->ev);
  g_object_unref (apply->session);
  g_free (apply);
}

/* In the main context: the result of a detached evaluation. */
static gboolean
evaluation_apply (gpointer data)
{
  Apply *apply = data;

  if (!is_closed (apply->session))
    cell_evaluated (apply->session, apply->cell, apply->ev->generation,
                    apply->ev->result, apply->ev->error);
  return G_SOURCE_REMOVE;
}

static void
evaluation_finish (Evaluation  *ev,
                   RthunkValue *value,
                   GError      *error)
{
  RthunkSession *self = ev->session;
  gboolean detached;
  Apply *apply;

  g_mutex_lock (&ev->lock);
  ev->status = EVAL_DONE;
  ev->result = value;
  ev->error = error;
  detached = ev->detached;
  g_cond_broadcast (&ev->cond);
  g_mutex_unlock (&ev->lock);
  if (!detached || is_closed (self))
    return;
  apply = g_new (Apply, 1);
  apply->session = g_object_ref (self);
  apply->ev = evaluation_ref (ev);
  apply->cell = ev->cell;   /* the main thread holds it for us: see cell_run() */
  ev->cell = NULL;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, evaluation_apply, apply, apply_free);
}

/* A thread of the pool. */
static void
evaluation_run (gpointer data,
                gpointer user_data)
{
  Evaluation *ev = data;
  RthunkSession *self = ev->session;
  GError *error = NULL;
  RthunkValue *value = NULL;

  g_private_set (&current_evaluation, ev);
  rthunk_thunk_set_block_hook (&ev->hook);
  evaluator_enter (self, ev);
  g_mutex_lock (&ev->lock);
  ev->status = EVAL_RUNNING;
  g_mutex_unlock (&ev->lock);
  if (g_cancellable_is_cancelled (ev->cancellable))
    error = new_error (RTHUNK_ERROR_CANCELLED, _("evaluation was cancelled"));
  else
    value = rthunk_evaluator_eval (self->evaluator, ev->expr, &error);
  evaluator_leave (self, ev);
  flush_all (self);
  rthunk_thunk_set_block_hook (NULL);
  g_private_set (&current_evaluation, NULL);
  evaluation_finish (ev, value, error);
  evaluation_unref (ev);
}

/* ---- futures of cells ------------------------------------------------------------ */

/* What a cell's future needs to stop the cell: not a reference to the
 * session, which a pending cell must not keep alive. */
typedef struct
{
  GWeakRef session;
  Cell *cell;
} CellRef;

static void
cell_ref_free (gpointer data)
{
  CellRef *ref = data;

  cell_unref (ref->cell);
  g_weak_ref_clear (&ref->session);
  g_free (ref);
}

static void cell_stop (RthunkSession *self, Cell *cell);

static gboolean
cancel_in_context (gpointer data)
{
  CellRef *ref = data;
  g_autoptr(RthunkSession) session = g_weak_ref_get (&ref->session);

  if (session != NULL && !is_closed (session))
    cell_stop (session, ref->cell);
  return G_SOURCE_REMOVE;
}

/* A cell's future was cancelled, perhaps from another thread. */
static void
future_cancelled (RthunkThunk *thunk,
                  gpointer     data)
{
  CellRef *ref = data;
  g_autoptr(RthunkSession) session = g_weak_ref_get (&ref->session);
  CellRef *copy;

  if (session == NULL)
    return;
  copy = g_new0 (CellRef, 1);
  g_weak_ref_init (&copy->session, session);
  copy->cell = cell_ref (ref->cell);
  g_main_context_invoke_full (session->context, G_PRIORITY_DEFAULT, cancel_in_context,
                              copy, cell_ref_free);
}

/* Gives a cell that is not settled an unfinished future, and makes its
 * value the pending value that stands for it. */
static void
cell_ensure_future (RthunkSession *self,
                    Cell          *cell,
                    const char    *label)
{
  CellRef *ref;

  if (cell->future != NULL && !rthunk_thunk_is_finished (cell->future))
    return;
  g_clear_object (&cell->future);
  cell->future = rthunk_thunk_new_in_context (label, NULL, NULL, self->context);
  ref = g_new0 (CellRef, 1);
  g_weak_ref_init (&ref->session, self);
  ref->cell = cell_ref (cell);
  /* the reference cycle ends when the future finishes */
  rthunk_thunk_set_cancel_func (cell->future, future_cancelled, ref, cell_ref_free);
  g_clear_pointer (&cell->value, rthunk_value_unref);
  cell->value = rthunk_thunk_to_value (cell->future);
  cell_publish (self, cell);
}

/* ---- settling: waiting for the pending values inside a value -------------------------- */

static Settler *
settler_ref (Settler *settler)
{
  settler->ref_count++;
  return settler;
}

static void
settler_unref (Settler *settler)
{
  if (--settler->ref_count > 0)
    return;
  if (settler->destroy != NULL)
    settler->destroy (settler->data);
  rthunk_value_unref (settler->root);
  g_object_unref (settler->cancellable);
  g_hash_table_unref (settler->watched);
  g_free (settler->origin);
  g_free (settler);
}

static void
settler_done (Settler      *settler,
              RthunkValue  *value,
              const GError *error)
{
  RthunkSession *session = g_steal_pointer (&settler->session);

  settler->finished = TRUE;
  g_cancellable_cancel (settler->cancellable);
  if (session != NULL && !is_closed (session))
    settler->func (session, value, error, settler->origin, settler->data);
}

/* Nothing left to wait for: the value with everything substituted. */
static void
settler_complete (Settler *settler)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = deep_force (settler->root, &error);

  settler_done (settler, value, error);
}

static void settler_watch (Settler *settler, RthunkValue *value);

static void
settler_arrived (Settler      *settler,
                 RthunkValue  *value,
                 const GError *error,
                 const char   *origin)
{
  if (!settler->finished && value == NULL)
    settler_done (settler, NULL, error);
  if (!settler->finished)
    {
      if (origin != NULL)
        {
          g_free (settler->origin);
          settler->origin = g_strdup (origin);
        }
      settler_watch (settler, value);
    }
  /* this arrival counted as outstanding until its value was walked */
  if (--settler->outstanding == 0 && !settler->finished)
    settler_complete (settler);
}

static void
settler_thunk_done (GObject      *object,
                    GAsyncResult *result,
                    gpointer      data)
{
  Settler *settler = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_thunk_wait_finish (RTHUNK_THUNK (object), result, &error);

  settler_arrived (settler, value, error, rthunk_thunk_get_label (RTHUNK_THUNK (object)));
  settler_unref (settler);
}

static void
force_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;
  RthunkValue *value = rthunk_value_force (task_data, &error);

  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (task, error);
}

static void
settler_forced (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  Settler *settler = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = g_task_propagate_pointer (G_TASK (result), &error);

  settler_arrived (settler, value, error, NULL);
  settler_unref (settler);
}

/* A pending value that is not a thunk's: forced in a thread. */
static void
settler_watch_other (Settler     *settler,
                     RthunkValue *pending)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, settler_forced, settler_ref (settler));

  settler->outstanding++;
  g_task_set_task_data (task, rthunk_value_ref (pending), (GDestroyNotify) rthunk_value_unref);
  g_task_run_in_thread (task, force_in_thread);
}

static void
settler_watch_pending (Settler     *settler,
                       RthunkValue *pending)
{
  RthunkThunk *thunk = rthunk_thunk_get_from_value (pending);

  if (thunk == NULL)
    settler_watch_other (settler, pending);
  else if (rthunk_thunk_is_finished (thunk) && rthunk_thunk_get_value (thunk) != NULL)
    settler_watch (settler, rthunk_thunk_get_value (thunk));
  else if (!g_hash_table_contains (settler->watched, thunk))
    {
      g_hash_table_add (settler->watched, g_object_ref (thunk));
      settler->outstanding++;
      rthunk_thunk_wait_async (thunk, settler->cancellable, settler_thunk_done, settler_ref (settler));
    }
}

/* Waits for every pending value inside @value not waited for yet. */
static void
settler_watch (Settler     *settler,
               RthunkValue *value)
{
  if (rthunk_value_is_pending (value))
    settler_watch_pending (settler, value);
  else if (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST && has_pending (value))
    for (gsize k = 0; k < rthunk_value_get_length (value) && !settler->finished; k++)
      settler_watch (settler, rthunk_value_get_item (value, k));
}

/* Calls @func (in the session's context) with @value once everything
 * pending inside it arrived, or with the first error. */
static Settler *
settler_start (RthunkSession  *self,
               RthunkValue    *value,
               SettleFunc      func,
               gpointer        data,
               GDestroyNotify  destroy)
{
  Settler *settler = g_new0 (Settler, 1);

  settler->ref_count = 1;
  settler->outstanding = 1;
  settler->session = self;
  settler->root = rthunk_value_ref (value);
  settler->cancellable = g_cancellable_new ();
  settler->watched = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  settler->func = func;
  settler->data = data;
  settler->destroy = destroy;
  settler_ref (settler);
  settler_arrived (settler, value, NULL, NULL);     /* the initial walk */
  settler_unref (settler);
  return settler;
}

static void
settler_cancel (Settler *settler)
{
  settler->finished = TRUE;
  settler->session = NULL;
  g_cancellable_cancel (settler->cancellable);
  settler_unref (settler);
}

/* Cancels the thunks a settler still waits for. */
static void
settler_cancel_thunks (Settler *settler)
{
  GHashTableIter iter;
  gpointer thunk;

  g_hash_table_iter_init (&iter, settler->watched);
  while (g_hash_table_iter_next (&iter, &thunk, NULL))
    rthunk_thunk_cancel (thunk);
}

/* ---- the states of a cell ---------------------------------------------------------------- */

/* Queues a waiting reader of @cell, which just settled or failed; the
 * reader's value will have come from where @cell's did. */
static void
enqueue_reader (RthunkSession *self,
                Cell          *cell,
                Cell          *reader)
{
  if (reader->state != CELL_WAITING || !cell_reads (reader, cell->name))
    return;
  if (cell->origin != NULL)
    {
      g_free (reader->trigger);
      reader->trigger = g_strdup (cell->origin);
    }
  g_queue_push_tail (&self->ready, cell_ref (reader));
}

static void
enqueue_readers (RthunkSession *self,
                 Cell          *cell)
{
  if (cell->name == NULL)
    return;
  for (guint k = 0; k < self->order->len; k++)
    enqueue_reader (self, cell, g_ptr_array_index (self->order, k));
  for (guint k = 0; k < self->anonymous->len; k++)
    enqueue_reader (self, cell, g_ptr_array_index (self->anonymous, k));
}

static void
cell_finished (RthunkSession *self,
               Cell          *cell)
{
  cell->settled_us = g_get_monotonic_time ();
  if (cell->name == NULL)
    g_ptr_array_remove (self->anonymous, cell);
  else
    enqueue_readers (self, cell);
}

static void
cell_settle (RthunkSession *self,
             Cell          *cell,
             RthunkValue   *value,
             const char    *origin)
{
  g_autoptr(Cell) hold = cell_ref (cell);

  cell->state = CELL_DONE;
  cell_set_value (cell, value);
  g_free (cell->origin);
  cell->origin = g_strdup (origin != NULL ? origin : cell->trigger);
  cell_publish (self, cell);
  if (cell->future != NULL)
    rthunk_thunk_return_value (cell->future, value);
  cell_finished (self, cell);
  if (cell->name != NULL)
    g_signal_emit (self, signals[SIGNAL_CELL_CHANGED], 0, cell->name, value);
  pump (self);
}

static void
cell_fail (RthunkSession *self,
           Cell          *cell,
           const GError  *error,
           const char    *root,
           const GError  *root_error)
{
  g_autoptr(Cell) hold = cell_ref (cell);

  cell->state = CELL_FAILED;
  g_clear_error (&cell->error);
  g_clear_error (&cell->root_error);
  g_free (cell->root);
  cell->error = g_error_copy (error);
  cell->root = g_strdup (root);
  cell->root_error = g_error_copy (root_error != NULL ? root_error : error);
  cell_ensure_future (self, cell, cell_label (cell));
  rthunk_thunk_return_error (cell->future, error);
  cell_publish (self, cell);
  cell_finished (self, cell);
  if (cell->name != NULL)
    g_signal_emit (self, signals[SIGNAL_CELL_FAILED], 0, cell->name, error->message);
  pump (self);
}

/* A cell fails because @input, which it reads, failed. */
static void
cell_fail_from (RthunkSession *self,
                Cell          *cell,
                Cell          *input)
{
  const char *root = input->root != NULL ? input->root : input->name;
  g_autoptr(GError) error = g_error_new (RTHUNK_ERROR, input->root_error->code,
                                         _("depends on %s, which failed: %s"),
                                         root, input->root_error->message);

  cell_fail (self, cell, error, root, input->root_error);
}

static void
cell_settled_cb (RthunkSession *self,
                 RthunkValue   *value,
                 const GError  *error,
                 const char    *origin,
                 gpointer       data)
{
  Cell *cell = data;
  Settler *settler = g_steal_pointer (&cell->settler);

  if (value != NULL)
    cell_settle (self, cell, value, origin);
  else
    cell_fail (self, cell, error, cell->name, NULL);
  if (settler != NULL)
    settler_unref (settler);
}

static void
cell_start_settling (RthunkSession *self,
                     Cell          *cell,
                     RthunkValue   *value)
{
  Settler *settler;

  cell->state = CELL_SETTLING;
  cell_set_value (cell, value);
  cell_publish (self, cell);
  settler = settler_start (self, value, cell_settled_cb, cell_ref (cell), (GDestroyNotify) cell_unref);
  if (settler->finished)
    settler_unref (settler);       /* it settled at once */
  else
    cell->settler = settler;
}

static void
cell_evaluated (RthunkSession *self,
                Cell          *cell,
                guint          generation,
                RthunkValue   *value,
                const GError  *error)
{
  if (generation != cell->generation || cell->state != CELL_RUNNING)
    return;
  g_clear_pointer (&cell->evaluation, evaluation_unref);
  if (value == NULL)
    cell_fail (self, cell, error, cell->name, NULL);
  else if (has_pending (value))
    cell_start_settling (self, cell, value);
  else
    cell_settle (self, cell, value, NULL);
}

/* Waits for an evaluation until it is done, blocked on a thunk, or over
 * budget. Returns whether it is done. */
static gboolean
evaluation_wait (RthunkSession  *self,
                 Evaluation     *ev,
                 RthunkThunk   **blocked_on)
{
  gint64 deadline = self->eval_budget_ms >= 0
                  ? g_get_monotonic_time () + (gint64) self->eval_budget_ms * 1000 : 0;
  gboolean done;

  g_mutex_lock (&ev->lock);
  while (ev->status < EVAL_BLOCKED)
    {
      if (deadline == 0)
        g_cond_wait (&ev->cond, &ev->lock);
      else if (!g_cond_wait_until (&ev->cond, &ev->lock, deadline))
        break;
    }
  done = ev->status == EVAL_DONE;
  if (!done)
    {
      ev->detached = TRUE;
      *blocked_on = ev->blocked_on != NULL ? g_object_ref (ev->blocked_on) : NULL;
    }
  g_mutex_unlock (&ev->lock);
  return done;
}

static void
cell_run (RthunkSession *self,
          Cell          *cell)
{
  g_autoptr(RthunkThunk) blocked_on = NULL;
  Evaluation *ev = evaluation_new (self, cell_ref (cell));

  cell->state = CELL_RUNNING;
  cell->evaluation = evaluation_ref (ev);
  if (cell->future != NULL)
    rthunk_thunk_set_running (cell->future);
  g_thread_pool_push (self->pool, evaluation_ref (ev), NULL);
  if (evaluation_wait (self, ev, &blocked_on))
    {
      cell_unref (g_steal_pointer (&ev->cell));
      cell_evaluated (self, cell, ev->generation, ev->result, ev->error);
    }
  else
    cell_ensure_future (self, cell, blocked_on != NULL ? rthunk_thunk_get_label (blocked_on)
                                                       : _("running"));
  evaluation_unref (ev);
}

static Cell *
lookup_cell (RthunkSession *self,
             const char    *name)
{
  return g_hash_table_lookup (self->cells, name);
}

/* Runs a waiting cell if everything it reads is settled; fails it if
 * something it reads failed. */
static void
schedule (RthunkSession *self,
          Cell          *cell)
{
  const char *unsettled = NULL;

  if (cell->state != CELL_WAITING || is_closed (self))
    return;
  if (cell->type_error != NULL)
    {
      cell_fail (self, cell, cell->type_error, cell->name, NULL);
      return;
    }
  for (guint k = 0; k < cell->reads->len; k++)
    {
      Cell *input = lookup_cell (self, g_ptr_array_index (cell->reads, k));

      if (input == NULL)
        continue;
      if (input->state == CELL_FAILED)
        {
          cell_fail_from (self, cell, input);
          return;
        }
      if (input->state != CELL_DONE && unsettled == NULL)
        unsettled = input->name;
    }
  if (unsettled != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("after %s"), unsettled);

      cell_ensure_future (self, cell, label);
      return;
    }
  cell_run (self, cell);
}

/* Schedules the cells that became ready, one after the other. */
static void
pump (RthunkSession *self)
{
  Cell *cell;

  if (self->pumping)
    return;
  self->pumping = TRUE;
  while ((cell = g_queue_pop_head (&self->ready)) != NULL)
    {
      schedule (self, cell);
      cell_unref (cell);
    }
  self->pumping = FALSE;
}

/* Stops a cell's work on request (its future was cancelled). */
static void
cell_stop (RthunkSession *self,
           Cell          *cell)
{
  g_autoptr(GError) error = new_error (RTHUNK_ERROR_CANCELLED, _("%s was cancelled"), cell_label (cell));
  g_autoptr(RthunkThunk) blocked_on = NULL;

  switch (cell->state)
    {
    case CELL_RUNNING:
      g_mutex_lock (&cell->evaluation->lock);
      g_set_object (&blocked_on, cell->evaluation->blocked_on);
      g_mutex_unlock (&cell->evaluation->lock);
      g_cancellable_cancel (cell->evaluation->cancellable);
      if (blocked_on != NULL)
        rthunk_thunk_cancel (blocked_on);
      break;
    case CELL_SETTLING:
      settler_cancel_thunks (cell->settler);
      break;
    case CELL_WAITING:
      cell->generation++;
      cell_fail (self, cell, error, cell->name, NULL);
      break;
    case CELL_DONE:
    case CELL_FAILED:
    default:
      break;
    }
}

/* ---- the graph -------------------------------------------------------------------------------- */

/* The reads of @name: those of this eval's (re)definition when there is
 * one, else those of the cell. */
static GPtrArray *
reads_of (RthunkSession *self,
          GHashTable    *overlay,
          const char    *name)
{
  GPtrArray *reads = overlay != NULL ? g_hash_table_lookup (overlay, name) : NULL;
  Cell *cell;

  if (reads != NULL)
    return reads;
  cell = lookup_cell (self, name);
  return cell != NULL ? cell->reads : NULL;
}

/* Whether @target can be reached from @from by following reads; the path
 * (without @from) is prepended to @path when it can. */
static gboolean
reaches (RthunkSession *self,
         GHashTable    *overlay,
         const char    *from,
         const char    *target,
         GHashTable    *visited,
         GQueue        *path)
{
  GPtrArray *reads;

  if (strcmp (from, target) == 0)
    return TRUE;
  if (!g_hash_table_add (visited, (gpointer) from))
    return FALSE;
  reads = reads_of (self, overlay, from);
  for (guint k = 0; reads != NULL && k < reads->len; k++)
    {
      const char *next = g_ptr_array_index (reads, k);

      if (reaches (self, overlay, next, target, visited, path))
        {
          g_queue_push_head (path, (gpointer) next);
          return TRUE;
        }
    }
  return FALSE;
}

/* Refuses a definition of @name reading @reads that closes a cycle. */
static gboolean
check_cycle (RthunkSession  *self,
             GHashTable     *overlay,
             RthunkNode     *form,
             const char     *name,
             GPtrArray      *reads,
             GError        **error)
{
  for (guint k = 0; k < reads->len; k++)
    {
      g_autoptr(GHashTable) visited = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(GString) cycle = g_string_new (name);
      GQueue path = G_QUEUE_INIT;
      const char *first = g_ptr_array_index (reads, k);

      if (!reaches (self, overlay, first, name, visited, &path))
        continue;
      g_queue_push_head (&path, (gpointer) first);
      for (GList *l = path.head; l != NULL; l = l->next)
        g_string_append_printf (cycle, " -> %s", (const char *) l->data);
      g_queue_clear (&path);
      rthunk_set_node_error (error, form, RTHUNK_ERROR_INVALID_REQUEST,
                             _("defining %s would make a cycle: %s"), name, cycle->str);
      return FALSE;
    }
  return TRUE;
}

/* The cells that read @cell, transitively, in an order where a cell comes
 * after every cell it reads (a depth-first post-order, reversed). */
static void
visit_readers (RthunkSession *self,
               Cell          *cell,
               GHashTable    *seen,
               GPtrArray     *post)
{
  if (!g_hash_table_add (seen, cell))
    return;
  for (guint k = 0; k < self->order->len; k++)
    {
      Cell *reader = g_ptr_array_index (self->order, k);

      if (cell_reads (reader, cell->name))
        visit_readers (self, reader, seen, post);
    }
  g_ptr_array_add (post, cell);
}

static GPtrArray *
downstream (RthunkSession *self,
            Cell          *cell)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) post = g_ptr_array_new ();
  GPtrArray *order = g_ptr_array_new ();

  visit_readers (self, cell, seen, post);
  for (guint k = post->len; k > 0; k--)
    g_ptr_array_add (order, g_ptr_array_index (post, k - 1));
  return order;
}

/* ---- evaluating text ---------------------------------------------------------------------- */

typedef enum
{
  PLAN_EXPR,
  PLAN_DEF,
  PLAN_DEFN,
} PlanKind;

typedef struct
{
  PlanKind kind;
  RthunkNode *form;
  const char *name;
  GPtrArray *reads;
} Plan;

static void
plan_free (gpointer data)
{
  Plan *plan = data;

  rthunk_node_unref (plan->form);
  g_ptr_array_unref (plan->reads);
  g_free (plan);
}

typedef struct
{
  RthunkSession *session;
  GHashTable *overlay;
} Resolver;

static gboolean
is_cell (const char *name,
         guint8      hash[RTHUNK_HASH_LEN],
         gpointer    user_data)
{
  Resolver *r = user_data;

  return g_hash_table_contains (r->session->cells, name) || g_hash_table_contains (r->overlay, name);
}

static PlanKind
form_kind (RthunkNode *form)
{
  if (rthunk_node_get_kind (form) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (form) < 3 ||
      rthunk_node_get_kind (rthunk_node_get_item (form, 1)) != RTHUNK_NODE_SYMBOL)
    return PLAN_EXPR;
  if (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "def"))
    return PLAN_DEF;
  if (rthunk_node_is_symbol (rthunk_node_get_item (form, 0), "defn"))
    return PLAN_DEFN;
  return PLAN_EXPR;
}

/* Re-checks the cells that read @name, after its type may have changed;
 * a cell that no longer checks gets a type error, applied when it runs. */
static void
recheck_readers (RthunkSession *self,
                 const char    *name,
                 GHashTable    *type_errors)
{
  Cell *cell = lookup_cell (self, name);
  g_autoptr(GPtrArray) order = NULL;

  if (cell == NULL)
    return;
  order = downstream (self, cell);
  for (guint k = 1; k < order->len; k++)
    {
      Cell *reader = g_ptr_array_index (order, k);
      g_autoptr(RthunkType) type = NULL;
      GError *error = NULL;

      if ((type = rthunk_checker_check (self->checker, reader->form, &error)) == NULL)
        g_hash_table_replace (type_errors, g_strdup (reader->name), error);
      else
        g_hash_table_remove (type_errors, reader->name);
    }
}

/* Everything about one form that can be known before anything runs: what
 * it reads, that it closes no cycle, that it type-checks. */
static Plan *
plan_form (RthunkSession  *self,
           RthunkNode     *form,
           GHashTable     *overlay,
           GHashTable     *type_errors,
           GError        **error)
{
  Resolver resolver = { self, overlay };
  g_autoptr(RthunkType) type = NULL;
  Plan *plan = g_new0 (Plan, 1);

  plan->kind = form_kind (form);
  plan->form = rthunk_node_ref (form);
  plan->reads = rthunk_hash_collect_references (form, is_cell, &resolver);
  if (plan->kind != PLAN_EXPR)
    plan->name = rthunk_node_get_text (rthunk_node_get_item (form, 1));
  if ((plan->name != NULL && !check_cycle (self, overlay, form, plan->name, plan->reads, error)) ||
      (type = rthunk_checker_check (self->checker, form, error)) == NULL)
    {
      plan_free (plan);
      return NULL;
    }
  if (plan->name != NULL)
    {
      g_hash_table_replace (overlay, g_strdup (plan->name), g_ptr_array_ref (plan->reads));
      g_hash_table_remove (type_errors, plan->name);
      recheck_readers (self, plan->name, type_errors);
    }
  return plan;
}

static gboolean
uses_remote (RthunkNode *node)
{
  guint n = rthunk_node_get_n_items (node);

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_LIST && n > 0 &&
      rthunk_node_is_symbol (rthunk_node_get_item (node, 0), "remote"))
    return TRUE;
  for (guint k = 0; k < n; k++)
    if (uses_remote (rthunk_node_get_item (node, k)))
      return TRUE;
  return FALSE;
}

/* Starts the embedded provider when @forms are the first to go remote. */
static gboolean
ensure_server (RthunkSession  *self,
               GPtrArray      *forms,
               GError        **error)
{
  gboolean any = FALSE;

  if (self->local || self->servers->len > 0 || self->embedded != NULL)
    return TRUE;
  for (guint k = 0; k < forms->len && !any; k++)
    any = uses_remote (g_ptr_array_index (forms, k));
  return !any || rthunk_session_start_embedded (self, error);
}

static Cell *
define_cell_object (RthunkSession  *self,
                    Plan           *plan,
                    GError        **error)
{
  Cell *cell = lookup_cell (self, plan->name);

  if (cell != NULL)
    return cell;
  if (g_hash_table_size (self->cells) >= RTHUNK_SESSION_MAX_CELLS)
    {
      rthunk_set_node_error (error, plan->form, RTHUNK_ERROR_LIMIT_EXCEEDED,
                             _("a session holds at most %u cells"), (guint) RTHUNK_SESSION_MAX_CELLS);
      return NULL;
    }
  cell = cell_new (plan->name);
  g_hash_table_insert (self->cells, cell->name, cell);
  g_ptr_array_add (self->order, cell_ref (cell));
  return cell;
}

/* Marks a cell as changed: what it did for its previous value stops. */
static void
cell_invalidate (RthunkSession *self,
                 Cell          *cell,
                 GHashTable    *type_errors)
{
  GError *type_error = cell->name != NULL ? g_hash_table_lookup (type_errors, cell->name) : NULL;

  cell_abandon (cell);
  cell->generation++;
  cell->state = CELL_WAITING;
  g_clear_error (&cell->type_error);
  cell->type_error = type_error != NULL ? g_error_copy (type_error) : NULL;
  g_clear_pointer (&cell->trigger, g_free);
  cell->started_us = g_get_monotonic_time ();
}

/* The error a form's own failure gives the caller of eval. */
static void
take_failure (Cell    *cell,
              GError **error)
{
  if (cell->state == CELL_FAILED)
    g_propagate_error (error, g_error_copy (cell->error));
}

/* Stops the pending expressions that read a cell being redefined: what
 * they read is gone (and an evaluation must never outlive, paused, a
 * global it borrowed). */
static void
stop_expressions_reading (RthunkSession *self,
                          GPtrArray     *affected)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_unref);

  for (guint k = 0; k < self->anonymous->len; k++)
    g_ptr_array_add (pending, cell_ref (g_ptr_array_index (self->anonymous, k)));
  for (guint k = 0; k < pending->len; k++)
    {
      Cell *expr = g_ptr_array_index (pending, k);

      for (guint a = 0; a < affected->len; a++)
        {
          Cell *changed = g_ptr_array_index (affected, a);
          g_autoptr(GError) error = NULL;

          if (expr->state == CELL_DONE || expr->state == CELL_FAILED || !cell_reads (expr, changed->name))
            continue;
          error = new_error (RTHUNK_ERROR_CANCELLED, _("%s was redefined while the expression waited"),
                             changed->name);
          cell_abandon (expr);
          expr->generation++;
          cell_fail (self, expr, error, NULL, NULL);
        }
    }
}

static RthunkValue *
commit_definition (RthunkSession  *self,
                   Plan           *plan,
                   GHashTable     *type_errors,
                   GError        **error)
{
  g_autoptr(GPtrArray) affected = NULL;
  gboolean was_pumping;
  Cell *cell;

  if ((cell = define_cell_object (self, plan, error)) == NULL)
    return NULL;
  g_clear_pointer (&cell->form, rthunk_node_unref);
  g_clear_pointer (&cell->expr, rthunk_node_unref);
  g_clear_pointer (&cell->reads, g_ptr_array_unref);
  cell->form = rthunk_node_ref (plan->form);
  cell->expr = rthunk_node_ref (plan->kind == PLAN_DEF ? rthunk_node_get_item (plan->form, 2) : plan->form);
  cell->is_defn = plan->kind == PLAN_DEFN;
  cell->reads = g_ptr_array_ref (plan->reads);
  affected = downstream (self, cell);
  stop_expressions_reading (self, affected);
  for (guint k = 0; k < affected->len; k++)
    cell_invalidate (self, g_ptr_array_index (affected, k), type_errors);
  g_signal_emit (self, signals[SIGNAL_CELL_DEFINED], 0, cell->name);
  /* readers are scheduled in order below: hold the queue meanwhile */
  was_pumping = self->pumping;
  self->pumping = TRUE;
  for (guint k = 0; k < affected->len; k++)
    schedule (self, g_ptr_array_index (affected, k));
  self->pumping = was_pumping;
  pump (self);
  if (cell->state == CELL_FAILED)
    {
      take_failure (cell, error);
      return NULL;
    }
  return rthunk_value_ref (cell->value);
}

static RthunkValue *
commit_expression (RthunkSession  *self,
                   Plan           *plan,
                   GError        **error)
{
  g_autoptr(Cell) cell = cell_new (NULL);

  cell->form = rthunk_node_ref (plan->form);
  cell->expr = rthunk_node_ref (plan->form);
  cell->reads = g_ptr_array_ref (plan->reads);
  g_ptr_array_add (self->anonymous, cell_ref (cell));
  schedule (self, cell);
  if (cell->state == CELL_FAILED)
    {
      take_failure (cell, error);
      return NULL;
    }
  if (self->sequential && has_pending (cell->value))
    return rthunk_session_wait (self, cell->value, -1, error);
  return rthunk_value_ref (cell->value);
}

static GPtrArray *
plan_all (RthunkSession  *self,
          GPtrArray      *forms,
          GHashTable     *type_errors,
          GError        **error)
{
  g_autoptr(GPtrArray) plans = g_ptr_array_new_with_free_func (plan_free);
  g_autoptr(GHashTable) overlay = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);

  for (guint k = 0; k < forms->len; k++)
    {
      Plan *plan = plan_form (self, g_ptr_array_index (forms, k), overlay, type_errors, error);

      if (plan == NULL)
        return NULL;
      g_ptr_array_add (plans, plan);
    }
  return g_steal_pointer (&plans);
}

/**
 * rthunk_session_eval:
 * @session: a session
 * @text: one or more forms
 * @source_name: (nullable): the name errors give the text, e.g. a file
 *   name; `<eval>` when %NULL
 * @error: return location for a #GError
 *
 * Reads every form of @text and type-checks them all (remote bodies
 * against the servers' catalogs) before anything is evaluated or sent,
 * then evaluates them in order. `(def NAME EXPR)` and `(defn NAME …)`
 * define cells: a cell whose inputs are pending is pending too, and is
 * computed when they arrive; redefining a cell recomputes the cells that
 * read it. A definition that would make a cycle is refused.
 *
 * An evaluation that has to wait for a thunk (or that takes longer than
 * #RthunkSession:eval-budget) goes on off the main thread; its cell is
 * pending meanwhile.
 *
 * Returns: (transfer full) (nullable): the value of the last form, maybe
 *   pending, or %NULL with @error set (the first error: reading, checking,
 *   or a form that failed at once)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_eval (RthunkSession  *session,
                     const char     *text,
                     const char     *source_name,
                     GError        **error)
{
  g_autoptr(GHashTable) type_errors = NULL;
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(GPtrArray) plans = NULL;
  g_autoptr(RthunkValue) last = NULL;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (is_closed (session))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST, _("the session is closed"));
      return NULL;
    }
  type_errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_error_free);
  if ((forms = rthunk_reader_read_all (source_name != NULL ? source_name : DEFAULT_SOURCE,
                                       text, -1, error)) == NULL ||
      !ensure_server (session, forms, error) ||
      (plans = plan_all (session, forms, type_errors, error)) == NULL)
    return NULL;
  for (guint k = 0; k < plans->len; k++)
    {
      Plan *plan = g_ptr_array_index (plans, k);

      g_clear_pointer (&last, rthunk_value_unref);
      last = plan->kind == PLAN_EXPR ? commit_expression (session, plan, error)
                                     : commit_definition (session, plan, type_errors, error);
      if (last == NULL)
        return NULL;
    }
  return last != NULL ? g_steal_pointer (&last) : rthunk_value_new_nil ();
}

/**
 * rthunk_session_type_of:
 * @session: a session
 * @text: one expression (not a definition)
 * @error: return location for a #GError
 *
 * Type-checks @text against the session's cells without evaluating it.
 *
 * Returns: (transfer full) (nullable): the type, e.g. `[int]`, or %NULL
 *   with @error set
 *
 * Since: 0.1
 */
char *
rthunk_session_type_of (RthunkSession  *session,
                        const char     *text,
                        GError        **error)
{
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(RthunkType) type = NULL;
  RthunkNode *form;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if ((forms = rthunk_reader_read_all ("<type>", text, -1, error)) == NULL)
    return NULL;
  if (forms->len != 1 || form_kind (g_ptr_array_index (forms, 0)) != PLAN_EXPR)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST, _("expected one expression"));
      return NULL;
    }
  form = g_ptr_array_index (forms, 0);
  if ((type = rthunk_checker_check (session->checker, form, error)) == NULL)
    return NULL;
  return rthunk_type_to_string (type);
}

/* ---- waiting ------------------------------------------------------------------------------ */

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* One iteration of @context, for at most WAIT_WAKE_MS (or until @deadline). */
static void
iterate_once (GMainContext *context,
              gint64        deadline)
{
  gint64 left_ms = deadline > 0 ? (deadline - g_get_monotonic_time () + 999) / 1000 : WAIT_WAKE_MS;
  GSource *timeout = g_timeout_source_new ((guint) CLAMP (left_ms, 0, WAIT_WAKE_MS));

  g_source_set_callback (timeout, wake_up, NULL, NULL);
  g_source_attach (timeout, context);
  g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
}

static gboolean
past (gint64 deadline)
{
  return deadline > 0 && g_get_monotonic_time () >= deadline;
}

static gboolean
timed_out (const char  *what,
           gint         timeout_ms,
           GError     **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT, _("%s did not arrive within %d ms"),
               what, timeout_ms);
  return FALSE;
}

/* Waits until @thunk finished, running the session's context when this
 * thread may (cells are scheduled there). */
static gboolean
wait_thunk (RthunkSession  *self,
            RthunkThunk    *thunk,
            gboolean        iterate,
            gint64          deadline,
            gint            timeout_ms,
            GError        **error)
{
  g_autoptr(RthunkValue) value = NULL;
  gint left;

  if (iterate)
    {
      while (!rthunk_thunk_is_finished (thunk) && !past (deadline))
        iterate_once (self->context, deadline);
      return rthunk_thunk_is_finished (thunk) ||
             timed_out (rthunk_thunk_get_label (thunk), timeout_ms, error);
    }
  left = deadline > 0 ? (gint) MAX ((deadline - g_get_monotonic_time ()) / 1000, 0) : -1;
  value = rthunk_thunk_wait (thunk, left, NULL);
  return rthunk_thunk_is_finished (thunk) ||
         timed_out (rthunk_thunk_get_label (thunk), timeout_ms, error);
}

/**
 * rthunk_session_wait:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 * @timeout_ms: how long to wait at most, or -1
 * @error: return location for a #GError
 *
 * Waits until everything pending inside @value arrived. Called from the
 * thread of the session's main context (the thread default context when
 * the session was made), it runs that context meanwhile, so cells waiting
 * for inputs get computed even when no main loop runs.
 *
 * Returns: (transfer full) (nullable): @value with every pending value
 *   replaced by what arrived, or %NULL with @error set (the first failure,
 *   or %RTHUNK_ERROR_TIMEOUT)
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_wait (RthunkSession  *session,
                     RthunkValue    *value,
                     gint            timeout_ms,
                     GError        **error)
{
  gint64 deadline = timeout_ms >= 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  g_autoptr(RthunkValue) held = NULL;
  gboolean iterate;
  RthunkValue *pending;
  RthunkThunk *thunk = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (value != NULL, NULL);

  /* the context may run: @value may be a cell's, replaced meanwhile */
  value = held = rthunk_value_ref (value);
  iterate = g_main_context_acquire (session->context);
  while (ok && (pending = find_unfinished (value, &thunk)) != NULL)
    {
      if (thunk != NULL)
        ok = wait_thunk (session, thunk, iterate, deadline, timeout_ms, error);
      else
        break;      /* not a thunk's: deep_force() blocks for it */
    }
  if (iterate)
    g_main_context_release (session->context);
  if (ok && rthunk_value_is_reference (value))
    {
      /* waiting for a remote reference fetches its value */
      g_autoptr(RthunkValue) fetched = rthunk_value_force (value, error);

      return fetched != NULL ? deep_force (fetched, error) : NULL;
    }
  return ok ? deep_force (value, error) : NULL;
}

/* An rthunk_session_wait_async() in flight. */
typedef struct
{
  GTask *task;
  GCancellable *cancellable;      /* the task's */
  gulong handler;
} Waiting;

static void
waiting_free (gpointer data)
{
  Waiting *waiting = data;

  g_object_unref (waiting->task);
  g_free (waiting);
}

static void
waiting_disconnect (Waiting *waiting)
{
  gulong handler = waiting->handler;

  waiting->handler = 0;
  if (handler != 0)
    g_cancellable_disconnect (waiting->cancellable, handler);
}

static void
wait_settled (RthunkSession *self,
              RthunkValue   *value,
              const GError  *error,
              const char    *origin,
              gpointer       data)
{
  Waiting *waiting = data;

  waiting_disconnect (waiting);
  if (value != NULL)
    g_task_return_pointer (waiting->task, rthunk_value_ref (value), (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (waiting->task, g_error_copy (error));
}

/* In the session's context: the caller stopped waiting. */
static gboolean
wait_stopped (gpointer data)
{
  Settler *settler = data;
  Waiting *waiting = settler->data;

  if (settler->finished)
    return G_SOURCE_REMOVE;
  settler->finished = TRUE;
  settler->session = NULL;
  g_cancellable_cancel (settler->cancellable);
  waiting_disconnect (waiting);
  g_task_return_new_error (waiting->task, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED, _("stopped waiting"));
  return G_SOURCE_REMOVE;
}

/* Any thread may cancel: the settler is only touched in its context, and
 * always from an idle (disconnecting inside `cancelled` would deadlock). */
static void
wait_cancelled (GCancellable *cancellable,
                gpointer      data)
{
  Settler *settler = data;
  Waiting *waiting = settler->data;
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, wait_stopped, settler_ref (settler), (GDestroyNotify) settler_unref);
  g_source_set_static_name (idle, "[rthunk] stop waiting");
  g_source_attach (idle, g_task_get_context (waiting->task));
  g_source_unref (idle);
}

/* A worker thread of rthunk_session_wait_async(): fetches a remote
 * reference (the task returns at once if it is cancelled). */
static void
fetch_reference (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  GError *error = NULL;
  RthunkValue *fetched = rthunk_value_force (data, &error);
  RthunkValue *value = fetched != NULL ? deep_force (fetched, &error) : NULL;

  g_clear_pointer (&fetched, rthunk_value_unref);
  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify) rthunk_value_unref);
  else
    g_task_return_error (task, error);
}

/**
 * rthunk_session_wait_async:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 * @cancellable: (nullable): stops the wait (not the thunks) when cancelled
 * @callback: (scope async) (closure user_data): called when everything
 *   inside @value arrived
 * @user_data: data for @callback
 *
 * Waits for @value without blocking. Finish with
 * rthunk_session_wait_finish(). Call it from the thread of the session's
 * main context.
 *
 * Since: 0.1
 */
void
rthunk_session_wait_async (RthunkSession       *session,
                           RthunkValue         *value,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Waiting *waiting;
  Settler *settler;

  g_return_if_fail (RTHUNK_IS_SESSION (session));
  g_return_if_fail (value != NULL);

  if (rthunk_value_is_reference (value))
    {
      g_autoptr(GTask) task = g_task_new (session, cancellable, callback, user_data);

      g_task_set_source_tag (task, rthunk_session_wait_async);
      g_task_set_task_data (task, rthunk_value_ref (value), (GDestroyNotify) rthunk_value_unref);
      g_task_set_return_on_cancel (task, TRUE);
      g_task_run_in_thread (task, fetch_reference);
      return;
    }
  waiting = g_new0 (Waiting, 1);
  waiting->task = g_task_new (session, cancellable, callback, user_data);
  waiting->cancellable = cancellable;
  g_task_set_source_tag (waiting->task, rthunk_session_wait_async);
  g_task_set_check_cancellable (waiting->task, FALSE);
  settler = settler_start (session, value, wait_settled, waiting, waiting_free);
  if (cancellable != NULL && !settler->finished)
    waiting->handler = g_cancellable_connect (cancellable, G_CALLBACK (wait_cancelled),
                                              settler_ref (settler), (GDestroyNotify) settler_unref);
  settler_unref (settler);
}

/**
 * rthunk_session_wait_finish:
 * @session: a session
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the value with everything pending
 *   replaced, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_wait_finish (RthunkSession  *session,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, session), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
anything_pending (RthunkSession *self)
{
  g_auto(GStrv) pending = rthunk_session_get_pending (self);

  return pending[0] != NULL || self->anonymous->len > 0;
}

/**
 * rthunk_session_wait_all:
 * @session: a session
 * @timeout_ms: how long to wait at most, or -1
 * @error: return location for a #GError
 *
 * Runs the session's main context until no cell is pending (settled or
 * failed, every one). Call it from the thread of that context.
 *
 * Returns: %TRUE, or %FALSE with @error set (%RTHUNK_ERROR_TIMEOUT)
 *
 * Since: 0.1
 */
gboolean
rthunk_session_wait_all (RthunkSession  *session,
                         gint            timeout_ms,
                         GError        **error)
{
  gint64 deadline = timeout_ms >= 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  while (anything_pending (session) && !past (deadline))
    iterate_once (session->context, deadline);
  /* what became ready in the last iteration is dispatched too */
  while (g_main_context_iteration (session->context, FALSE))
    ;
  return !anything_pending (session) || timed_out (_("every pending cell"), timeout_ms, error);
}

static void
cancel_leaves (RthunkValue *value)
{
  RthunkThunk *thunk;

  if (rthunk_value_is_pending (value) && (thunk = rthunk_thunk_get_from_value (value)) != NULL)
    {
      if (!rthunk_thunk_is_finished (thunk))
        rthunk_thunk_cancel (thunk);
      else if (rthunk_thunk_get_value (thunk) != NULL)
        cancel_leaves (rthunk_thunk_get_value (thunk));
      return;
    }
  if (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST)
    for (gsize k = 0; k < rthunk_value_get_length (value); k++)
      cancel_leaves (rthunk_value_get_item (value, k));
}

/**
 * rthunk_session_cancel:
 * @session: a session
 * @value: a value, maybe pending or with pending values inside
 *
 * Cancels what @value is waiting for: the remote thunks inside it (on
 * their servers too), and the evaluation of the cell or expression it
 * stands for, with what that evaluation waits for.
 *
 * Since: 0.1
 */
void
rthunk_session_cancel (RthunkSession *session,
                       RthunkValue   *value)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));
  g_return_if_fail (value != NULL);

  cancel_leaves (value);
}

/* ---- reading the cells ----------------------------------------------------------------------- */

/**
 * rthunk_session_lookup:
 * @session: a session
 * @name: the name of a cell
 *
 * A cell that is still waiting or running has a pending value; one that
 * failed has a pending value that fails when waited for (see
 * rthunk_session_get_cell_error()).
 *
 * Returns: (transfer none) (nullable): the cell's value, or %NULL when
 *   there is no such cell
 *
 * Since: 0.1
 */
RthunkValue *
rthunk_session_lookup (RthunkSession *session,
                       const char    *name)
{
  Cell *cell;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  cell = lookup_cell (session, name);
  return cell != NULL ? cell->value : NULL;
}

/**
 * rthunk_session_get_cell_type:
 * @session: a session
 * @name: the name of a cell
 *
 * The type of a cell is known as soon as it is defined, even while its
 * value is pending.
 *
 * Returns: (transfer full) (nullable): the type, e.g. `(int -> int)`
 *
 * Since: 0.1
 */
char *
rthunk_session_get_cell_type (RthunkSession *session,
                              const char    *name)
{
  RthunkType *type;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (lookup_cell (session, name) == NULL || (type = rthunk_checker_lookup (session->checker, name)) == NULL)
    return NULL;
  return rthunk_type_to_string (type);
}

/**
 * rthunk_session_get_cell_error:
 * @session: a session
 * @name: the name of a cell
 *
 * Returns: (transfer none) (nullable): why the cell failed, or %NULL
 *
 * Since: 0.1
 */
const GError *
rthunk_session_get_cell_error (RthunkSession *session,
                               const char    *name)
{
  Cell *cell;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  cell = lookup_cell (session, name);
  return cell != NULL && cell->state == CELL_FAILED ? cell->error : NULL;
}

/**
 * rthunk_session_get_cell_origin:
 * @session: a session
 * @name: the name of a cell
 *
 * Returns: (transfer none) (nullable): the label of the thunk whose arrival
 *   gave the cell its value (its own, or the one an input waited for),
 *   e.g. `#a1b2 @alpha`; %NULL when it was computed without waiting
 *
 * Since: 0.1
 */
const char *
rthunk_session_get_cell_origin (RthunkSession *session,
                                const char    *name)
{
  Cell *cell;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  cell = lookup_cell (session, name);
  return cell != NULL && cell->state == CELL_DONE ? cell->origin : NULL;
}

/**
 * rthunk_session_get_cell_elapsed:
 * @session: a session
 * @name: the name of a cell
 *
 * Returns: microseconds from the cell's (re)definition, or the change of
 *   an input, to its value (or until now while it is pending); -1 when
 *   there is no such cell
 *
 * Since: 0.1
 */
gint64
rthunk_session_get_cell_elapsed (RthunkSession *session,
                                 const char    *name)
{
  Cell *cell;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), -1);
  g_return_val_if_fail (name != NULL, -1);

  if ((cell = lookup_cell (session, name)) == NULL)
    return -1;
  if (cell->state == CELL_DONE || cell->state == CELL_FAILED)
    return cell->settled_us - cell->started_us;
  return g_get_monotonic_time () - cell->started_us;
}

/**
 * rthunk_session_list_cells:
 * @session: a session
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of every
 *   cell, in the order they were first defined
 *
 * Since: 0.1
 */
char **
rthunk_session_list_cells (RthunkSession *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  for (guint k = 0; k < session->order->len; k++)
    g_strv_builder_add (builder, ((Cell *) g_ptr_array_index (session->order, k))->name);
  return g_strv_builder_end (builder);
}

/**
 * rthunk_session_get_pending:
 * @session: a session
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   cells that are waiting for inputs, running, or waiting for thunks, in
 *   the order they were first defined
 *
 * Since: 0.1
 */
char **
rthunk_session_get_pending (RthunkSession *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  for (guint k = 0; k < session->order->len; k++)
    {
      Cell *cell = g_ptr_array_index (session->order, k);

      if (cell->state != CELL_DONE && cell->state != CELL_FAILED)
        g_strv_builder_add (builder, cell->name);
    }
  return g_strv_builder_end (builder);
}

static const char *const special_forms[] = {
  "def", "defn", "fn", "let", "if", "do", "loop", "recur", "and", "or",
  "remote", "await", "true", "false", "nil", NULL
};

static void
add_catalog_names (GHashTable    *names,
                   RthunkCatalog *catalog,
                   const char    *prefix)
{
  g_autoptr(GPtrArray) defs = NULL;

  if (catalog == NULL)
    return;
  defs = rthunk_catalog_list (catalog);
  for (guint k = 0; k < defs->len; k++)
    {
      const char *name = rthunk_func_def_get_name (g_ptr_array_index (defs, k));

      if (g_str_has_prefix (name, prefix))
        g_hash_table_add (names, g_strdup (name));
    }
}

static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/**
 * rthunk_session_complete:
 * @session: a session
 * @prefix: the start of a name
 *
 * Returns: (transfer full) (array zero-terminated=1): the names that start
 *   with @prefix — special forms, functions of the local and remote
 *   catalogs, cells — sorted, each once
 *
 * Since: 0.1
 */
char **
rthunk_session_complete (RthunkSession *session,
                         const char    *prefix)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) servers = NULL;
  g_autofree char **sorted = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (prefix != NULL, NULL);

  for (guint k = 0; special_forms[k] != NULL; k++)
    if (g_str_has_prefix (special_forms[k], prefix))
      g_hash_table_add (names, g_strdup (special_forms[k]));
  add_catalog_names (names, session->catalog, prefix);
  servers = rthunk_session_get_servers (session);
  for (guint k = 0; k < servers->len; k++)
    add_catalog_names (names, rthunk_client_get_catalog (g_ptr_array_index (servers, k)), prefix);
  for (guint k = 0; k < session->order->len; k++)
    {
      const char *name = ((Cell *) g_ptr_array_index (session->order, k))->name;

      if (g_str_has_prefix (name, prefix))
        g_hash_table_add (names, g_strdup (name));
    }
  sorted = (char **) g_hash_table_get_keys_as_array (names, &n);
  qsort (sorted, n, sizeof (char *), compare_names);
  for (guint k = 0; k < n; k++)
    g_strv_builder_add (builder, sorted[k]);
  return g_strv_builder_end (builder);
}

/* ---- the object ------------------------------------------------------------------------------- */

/* Stops the cell's work; whoever waits for its future learns why. */
static void
cell_close (Cell *cell)
{
  g_autoptr(GError) error = new_error (RTHUNK_ERROR_CANCELLED, _("the session was closed"));

  cell_abandon (cell);
  if (cell->future != NULL)
    rthunk_thunk_return_error (cell->future, error);
}

/**
 * rthunk_session_close:
 * @session: a session
 *
 * Stops everything: pending evaluations are cancelled (and waited for),
 * outstanding remote thunks are cancelled on their servers, the collector
 * threads and the embedded provider stop. Evaluating afterwards is an
 * error. Disposing of the session closes it.
 *
 * Since: 0.1
 */
void
rthunk_session_close (RthunkSession *session)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  if (!g_atomic_int_compare_and_exchange (&session->closed, 0, 1))
    return;
  for (guint k = 0; k < session->order->len; k++)
    cell_close (g_ptr_array_index (session->order, k));
  for (guint k = 0; k < session->anonymous->len; k++)
    cell_close (g_ptr_array_index (session->anonymous, k));
  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    rthunk_collector_stop (((Server *) g_ptr_array_index (session->servers, k))->collector);
  g_mutex_unlock (&session->servers_lock);
  g_thread_pool_free (g_steal_pointer (&session->pool), FALSE, TRUE);
  if (session->embedded != NULL)
    rthunk_server_stop (session->embedded);
}

static void
rthunk_session_dispose (GObject *object)
{
  RthunkSession *self = RTHUNK_SESSION (object);

  rthunk_session_close (self);
  g_queue_clear_full (&self->ready, (GDestroyNotify) cell_unref);
  g_ptr_array_set_size (self->anonymous, 0);
  g_ptr_array_set_size (self->order, 0);
  g_hash_table_remove_all (self->cells);
  G_OBJECT_CLASS (rthunk_session_parent_class)->dispose (object);
}

static void
binding_free (gpointer data)
{
  Binding *binding = data;

  rthunk_value_unref (binding->value);
  g_free (binding->name);
  g_free (binding);
}

static void
rthunk_session_finalize (GObject *object)
{
  RthunkSession *self = RTHUNK_SESSION (object);

  g_queue_clear_full (&self->binds, binding_free);
  g_hash_table_unref (self->cells);
  g_ptr_array_unref (self->order);
  g_ptr_array_unref (self->anonymous);
  g_ptr_array_unref (self->servers);
  if (self->cluster != NULL)
    g_object_run_dispose (G_OBJECT (self->cluster));
  g_clear_object (&self->cluster);
  g_free (self->token);
  g_clear_object (&self->embedded);
  g_clear_object (&self->evaluator);
  g_clear_object (&self->checker);
  g_clear_object (&self->catalog);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->eval_lock);
  g_mutex_clear (&self->bind_lock);
  g_mutex_clear (&self->servers_lock);
  G_OBJECT_CLASS (rthunk_session_parent_class)->finalize (object);
}

static void
rthunk_session_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  RthunkSession *self = RTHUNK_SESSION (object);

  switch (prop_id)
    {
    case PROP_LOCAL:
      g_value_set_boolean (value, self->local);
      break;
    case PROP_EVAL_BUDGET:
      g_value_set_int (value, self->eval_budget_ms);
      break;
    case PROP_SEQUENTIAL:
      g_value_set_boolean (value, self->sequential);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rthunk_session_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  RthunkSession *self = RTHUNK_SESSION (object);

  switch (prop_id)
    {
    case PROP_LOCAL:
      rthunk_session_set_local (self, g_value_get_boolean (value));
      break;
    case PROP_EVAL_BUDGET:
      rthunk_session_set_eval_budget (self, g_value_get_int (value));
      break;
    case PROP_SEQUENTIAL:
      rthunk_session_set_sequential (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
install_properties (GObjectClass *object_class)
{
  /**
   * RthunkSession:local:
   *
   * Whether the session uses no server at all: `(remote …)` is then a type
   * error.
   *
   * Since: 0.1
   */
  properties[PROP_LOCAL] =
    g_param_spec_boolean ("local", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkSession:eval-budget:
   *
   * How long, in milliseconds, rthunk_session_eval() waits for an
   * evaluation that does not wait for a thunk before it leaves it running
   * off the main thread as a pending cell; -1 waits until it is done.
   *
   * Since: 0.1
   */
  properties[PROP_EVAL_BUDGET] =
    g_param_spec_int ("eval-budget", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkSession:sequential:
   *
   * Whether rthunk_session_eval() waits for the value of each top-level
   * expression (not a definition) before it goes on to the next form, as a
   * script expects of `(print …)`.
   *
   * Since: 0.1
   */
  properties[PROP_SEQUENTIAL] =
    g_param_spec_boolean ("sequential", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
install_signals (GObjectClass *object_class)
{
  GType type = G_TYPE_FROM_CLASS (object_class);

  /**
   * RthunkSession::cell-defined:
   * @session: the session
   * @name: the cell
   *
   * Emitted by rthunk_session_eval() when it (re)defines a cell, before the
   * cell's value is computed.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CELL_DEFINED] =
    g_signal_new ("cell-defined", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * RthunkSession::cell-changed:
   * @session: the session
   * @name: the cell
   * @value: its new value, with nothing pending inside
   *
   * Emitted in the session's main context when a cell gets a value: at
   * once, or when what it waited for arrived, or when it was recomputed
   * because an input changed.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CELL_CHANGED] =
    g_signal_new ("cell-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, RTHUNK_TYPE_VALUE | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * RthunkSession::cell-failed:
   * @session: the session
   * @name: the cell
   * @message: why, naming the root cause when an input failed
   *
   * Emitted in the session's main context when a cell fails.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CELL_FAILED] =
    g_signal_new ("cell-failed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
rthunk_session_class_init (RthunkSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rthunk_session_dispose;
  object_class->finalize = rthunk_session_finalize;
  object_class->get_property = rthunk_session_get_property;
  object_class->set_property = rthunk_session_set_property;
  install_properties (object_class);
  install_signals (object_class);
}

static void
rthunk_session_init (RthunkSession *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->cells = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) cell_unref);
  self->order = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_unref);
  self->anonymous = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_unref);
  self->servers = g_ptr_array_new_with_free_func (server_free);
  self->cluster = rthunk_cluster_new ();
  self->eval_budget_ms = -1;
  g_mutex_init (&self->eval_lock);
  g_mutex_init (&self->bind_lock);
  g_mutex_init (&self->servers_lock);
  g_queue_init (&self->binds);
  g_queue_init (&self->ready);
  self->pool = g_thread_pool_new_full (evaluation_run, self, (GDestroyNotify) evaluation_unref,
                                       -1, FALSE, NULL);
}

/**
 * rthunk_session_new_with_catalog:
 * @catalog: the functions the session evaluates locally (and offers
 *   through its embedded provider)
 *
 * Creates a session in the thread default main context of the caller:
 * that is where its signals are emitted and where pending cells are
 * computed when their inputs arrive.
 *
 * Returns: (transfer full): a new session with no server yet
 *
 * Since: 0.1
 */
RthunkSession *
rthunk_session_new_with_catalog (RthunkCatalog *catalog)
{
  RthunkSession *self;

  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), NULL);

  self = g_object_new (RTHUNK_TYPE_SESSION, NULL);
  self->catalog = g_object_ref (catalog);
  self->checker = rthunk_checker_new (catalog);
  self->evaluator = rthunk_evaluator_new (catalog);
  rthunk_evaluator_set_remote_func (self->evaluator, session_remote, self, NULL);
  rthunk_evaluator_set_servers_func (self->evaluator, session_servers, self, NULL);
  return self;
}

/**
 * rthunk_session_new:
 *
 * Creates a session over the standard library. See
 * rthunk_session_new_with_catalog().
 *
 * Returns: (transfer full): a new session with no server yet
 *
 * Since: 0.1
 */
RthunkSession *
rthunk_session_new (void)
{
  g_autoptr(RthunkCatalog) catalog = rthunk_stdlib_new_catalog ();

  return rthunk_session_new_with_catalog (catalog);
}

/**
 * rthunk_session_get_catalog:
 * @session: a session
 *
 * Returns: (transfer none): the functions the session evaluates locally
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_session_get_catalog (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  return session->catalog;
}

/**
 * rthunk_session_set_local:
 * @session: a session
 * @local: whether to use no server at all
 *
 * Since: 0.1
 */
void
rthunk_session_set_local (RthunkSession *session,
                          gboolean       local)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  local = !!local;
  if (session->local == local)
    return;
  session->local = local;
  rthunk_checker_set_remote_allowed (session->checker, !local);
  g_object_notify_by_pspec (G_OBJECT (session), properties[PROP_LOCAL]);
}

/**
 * rthunk_session_get_local:
 * @session: a session
 *
 * Returns: whether the session uses no server at all
 *
 * Since: 0.1
 */
gboolean
rthunk_session_get_local (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  return session->local;
}

/**
 * rthunk_session_set_eval_budget:
 * @session: a session
 * @budget_ms: see #RthunkSession:eval-budget
 *
 * Since: 0.1
 */
void
rthunk_session_set_eval_budget (RthunkSession *session,
                                gint           budget_ms)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  budget_ms = MAX (budget_ms, -1);
  if (session->eval_budget_ms == budget_ms)
    return;
  session->eval_budget_ms = budget_ms;
  g_object_notify_by_pspec (G_OBJECT (session), properties[PROP_EVAL_BUDGET]);
}

/**
 * rthunk_session_get_eval_budget:
 * @session: a session
 *
 * Returns: see #RthunkSession:eval-budget
 *
 * Since: 0.1
 */
gint
rthunk_session_get_eval_budget (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), -1);

  return session->eval_budget_ms;
}

/**
 * rthunk_session_set_sequential:
 * @session: a session
 * @sequential: see #RthunkSession:sequential
 *
 * Since: 0.1
 */
void
rthunk_session_set_sequential (RthunkSession *session,
                               gboolean       sequential)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  sequential = !!sequential;
  if (session->sequential == sequential)
    return;
  session->sequential = sequential;
  g_object_notify_by_pspec (G_OBJECT (session), properties[PROP_SEQUENTIAL]);
}

/**
 * rthunk_session_get_sequential:
 * @session: a session
 *
 * Returns: see #RthunkSession:sequential
 *
 * Since: 0.1
 */
gboolean
rthunk_session_get_sequential (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  return session->sequential;
}

/**
 * rthunk_session_set_token:
 * @session: a session, before its servers are added
 * @token: (nullable): the token every call to a server carries
 *
 * Since: 0.1
 */
void
rthunk_session_set_token (RthunkSession *session,
                          const char    *token)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  g_free (session->token);
  session->token = g_strdup (token);
  rthunk_cluster_set_token (session->cluster, token);
}

/**
 * rthunk_session_get_cluster:
 * @session: a session
 *
 * Returns: (transfer none): the cluster of the session's servers (for
 *   `:servers`: rthunk_cluster_describe())
 *
 * Since: 0.1
 */
RthunkCluster *
rthunk_session_get_cluster (RthunkSession *session)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);

  return session->cluster;
}
