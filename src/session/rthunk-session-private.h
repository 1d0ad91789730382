/* rthunk-session-private.h — what the files of a session share: its
 * layout, its cells, evaluations and settlers, and the functions each file
 * offers the others.  Never installed. */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client.h"
#include "rthunk-cluster.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-server.h"
#include "rthunk-session.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

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

struct _Cell                  /* a g_atomic_rc_box */
{
  char *name;                 /* NULL for an expression */
  RthunkNode *form;
  RthunkNode *expr;           /* what is evaluated */
  gboolean is_defn;
  GPtrArray *reads;           /* names of the cells the form reads */
  guint64 serial;             /* when its reads were first set: orders readers */
  CellState state;
  guint generation;
  RthunkValue *value;
  RthunkThunk *future;        /* resolved when the cell settles or fails */
  GError *error;
  char *root;                 /* the cell whose own failure made this one fail */
  GError *root_error;
  GError *type_error;         /* the form no longer checks after a redefinition */
  Evaluation *evaluation;
  RthunkEvalKept *code;       /* a named cell's code, run again when it recomputes
                               * (under the evaluator lock) */
  GPtrArray *submitted;       /* RthunkThunk: the remote thunks its last evaluation
                               * submitted, kept while it settles (a chain's earlier
                               * links): cancelling the cell cancels them too */
  Settler *settler;
  char *origin;               /* the thunk its value came from */
  char *trigger;              /* the origin of the input that let it run */
  guint anonymous_at;         /* an expression's index in the session's @anonymous */
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

struct _Evaluation            /* a g_atomic_rc_box */
{
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
  gboolean here;              /* run by the thread that waits for it: nobody to wake */
  RthunkThunk *blocked_on;
  RthunkValue *result;
  GError *error;
  GPtrArray *submitted;       /* RthunkThunk: its remote thunks, under lock (cancelled with it) */
  gboolean locked;            /* the worker holds the evaluator lock */
  gboolean relock;
};

typedef void (*SettleFunc) (RthunkSession *self,
                            RthunkValue   *value,
                            const GError  *error,
                            const char    *origin,
                            gpointer       data);

struct _Settler               /* a g_rc_box: used in the main context only */
{
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
  GThread *thread;            /* that made it: may run @context unasked */
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
  RthunkServer *embedded;
  gboolean local;
  gint eval_budget_ms;
  guint call_timeout_ms;        /* of the clients it makes; 0: their default */
  gboolean sequential;
  gint closed;                /* atomic */

  GHashTable *cells;          /* name (the cell's) → Cell */
  GPtrArray *order;           /* Cell, in order of first definition */
  GPtrArray *anonymous;       /* Cell: expressions not settled yet, in no order
                               * (rthunk_session_anonymous_add()) */
  GHashTable *readers;        /* name → GPtrArray of Cell (not references):
                               * the cells of @order and @anonymous that read it */
  guint64 serials;            /* the last Cell.serial given */
  guint64 cells_added;        /* cells defined: what a name may read changed */
  guint64 texts_planned;      /* texts planned (Resolver.text) */
  RthunkShapeMemo reads_memo; /* the cells the last forms read, by shape */
  GQueue ready;               /* Cell: to schedule */
  gboolean pumping;

  struct _RthunkHttpFront *http;  /* rthunk_session_serve_http(), in the main context */
  char *http_token;               /* what its pages ask for */
  gboolean auto_placement;    /* every top-level expression is (auto …) */
  GMutex place_lock;
  struct _RthunkLru *measures; /* content hash → what it cost here */
  char *why;                  /* where the last auto form went, and why */
};

enum {
  SIGNAL_CELL_DEFINED,
  SIGNAL_CELL_CHANGED,
  SIGNAL_CELL_FAILED,
  N_SIGNALS
};

/* rthunk-session.c: the object */
extern guint rthunk_session_signals[N_SIGNALS];

static inline gboolean
rthunk_session_is_closed (RthunkSession *self)
{
  return g_atomic_int_get (&self->closed) != 0;
}

void         rthunk_session_invoke          (RthunkSession *self,
                                             GSourceFunc    func,
                                             gpointer       data,
                                             GDestroyNotify destroy);
gboolean     rthunk_session_may_iterate     (RthunkSession *self);
GError      *rthunk_session_new_error       (RthunkError    code,
                                             const char    *format,
                                             ...) G_GNUC_PRINTF (2, 3);

/* Whether @server is the one rthunk_session_find_server() looks for. */
typedef gboolean (*ServerMatch) (RthunkSession *self,
                                 Server        *server,
                                 gconstpointer  data);

Server      *rthunk_session_find_server     (RthunkSession *self,
                                             ServerMatch    match,
                                             gconstpointer  data);

/* rthunk-session-cells.c: the cells and their graph */
Cell        *rthunk_session_cell_ref        (Cell          *cell);
void         rthunk_session_cell_unref      (Cell          *cell);
Cell        *rthunk_session_cell_new        (const char    *name);
gboolean     rthunk_session_cell_reads      (Cell          *cell,
                                             const char    *name);
void         rthunk_session_cell_set_reads  (RthunkSession *self,
                                             Cell          *cell,
                                             GPtrArray     *reads);
void         rthunk_session_cell_abandon    (Cell          *cell);
void         rthunk_session_anonymous_add   (RthunkSession *self,
                                             Cell          *cell);
void         rthunk_session_cell_fail       (RthunkSession *self,
                                             Cell          *cell,
                                             const GError  *error,
                                             const char    *root,
                                             const GError  *root_error);
void         rthunk_session_cell_evaluated  (RthunkSession *self,
                                             Cell          *cell,
                                             guint          generation,
                                             RthunkValue   *value,
                                             const GError  *error);
Cell        *rthunk_session_lookup_cell     (RthunkSession *self,
                                             const char    *name);
void         rthunk_session_schedule        (RthunkSession *self,
                                             Cell          *cell);
void         rthunk_session_pump            (RthunkSession *self);
gboolean     rthunk_session_check_cycle     (RthunkSession *self,
                                             GHashTable    *overlay,
                                             RthunkNode    *form,
                                             const char    *name,
                                             GPtrArray     *reads,
                                             GError       **error);
GPtrArray   *rthunk_session_downstream      (RthunkSession *self,
                                             Cell          *cell);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cell, rthunk_session_cell_unref)

/* rthunk-session-eval.c: the evaluator lock, evaluations, evaluating forms */
extern GPrivate rthunk_session_current_evaluation;     /* Evaluation, in its thread */

void         rthunk_session_cell_publish    (RthunkSession *self,
                                             Cell          *cell);
void         rthunk_session_evaluator_enter (RthunkSession *self,
                                             Evaluation    *ev);
void         rthunk_session_evaluator_leave (RthunkSession *self,
                                             Evaluation    *ev);
Evaluation  *rthunk_session_evaluation_new  (RthunkSession *self,
                                             Cell          *cell);
Evaluation  *rthunk_session_evaluation_ref  (Evaluation    *ev);
void         rthunk_session_evaluation_unref (Evaluation   *ev);
void         rthunk_session_evaluation_run  (gpointer       data,
                                             gpointer       user_data);
gboolean     rthunk_session_evaluation_run_here (RthunkSession *self,
                                                 Evaluation    *ev);
gboolean     rthunk_session_is_bounded      (RthunkSession *self,
                                             RthunkNode    *node);

/* rthunk-session-remote.c: servers and remote expressions */
void         rthunk_session_on_server_joined (RthunkCluster  *cluster,
                                              const char     *address,
                                              gpointer        data);
void         rthunk_session_server_free     (gpointer       data);
void         rthunk_session_flush_all       (RthunkSession *self);
RthunkValue *rthunk_session_remote_func     (RthunkEvaluator *evaluator,
                                             RthunkNode      *expr,
                                             GHashTable      *options,
                                             GHashTable      *inputs,
                                             gpointer         user_data,
                                             GError         **error);
GStrv        rthunk_session_servers_func    (RthunkEvaluator *evaluator,
                                             RthunkNode      *expr,
                                             gpointer         user_data);

/* rthunk-session-wait.c: pending values inside values, settlers, waiting */
gboolean     rthunk_session_has_pending     (RthunkValue   *value);
Settler     *rthunk_session_settler_start   (RthunkSession *self,
                                             RthunkValue   *value,
                                             SettleFunc     func,
                                             gpointer       data,
                                             GDestroyNotify destroy);
void         rthunk_session_settler_unref   (Settler       *settler);
void         rthunk_session_settler_cancel  (Settler       *settler);
void         rthunk_session_settler_cancel_thunks (Settler *settler);
void         rthunk_session_cell_foreach_submitted (Cell    *cell,
                                                    GFunc    func,
                                                    gpointer data);

/* rthunk-session-http.c: the shell's dashboard */
void         rthunk_session_http_stop       (RthunkSession *self);

/* rthunk-session-place.c: where (auto …) runs */
void         rthunk_session_place_init      (RthunkSession *self);
void         rthunk_session_place_clear     (RthunkSession *self);
RthunkNode  *rthunk_session_place_wrap      (RthunkSession *self,
                                             RthunkNode    *form,
                                             gboolean       is_definition);

/* rthunk-session-cancel.c: cancelling on the servers, with their answer */
void         rthunk_session_evaluation_track (Evaluation   *ev,
                                              RthunkValue  *value);

G_END_DECLS
