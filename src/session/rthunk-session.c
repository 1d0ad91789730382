/* rthunk-session.c — named cells that recompute when their inputs change
 *
 * A session is a spreadsheet of cells over one checker and one evaluator.
 * Every top-level `def`/`defn` is a named cell; every other top-level form
 * is an anonymous cell that nothing reads.
 *
 * This file holds the object, its options and its lifetime; the rest is in
 * rthunk-session-cells.c (the cells and their graph), rthunk-session-eval.c
 * (evaluating forms), rthunk-session-remote.c (servers and remote
 * expressions) and rthunk-session-wait.c (waiting for pending values).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-session-private.h"
#include "rthunk-catalog.h"
#include "rthunk-check.h"
#include "rthunk-client-private.h"
#include "rthunk-cluster-private.h"
#include "rthunk-cluster.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-server.h"
#include "rthunk-stdlib.h"
#include "rthunk-thunk-private.h"
#include "rthunk-value.h"

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
  PROP_CALL_TIMEOUT,
  PROP_AUTO_PLACEMENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
guint rthunk_session_signals[N_SIGNALS];

/* The first of @self's servers that @match accepts, or NULL; looked for
 * under the servers' lock. A server is never taken out of the session:
 * the one found stays as long as @self. */
Server *
rthunk_session_find_server (RthunkSession *self,
                            ServerMatch    match,
                            gconstpointer  data)
{
  Server *found = NULL;

  g_mutex_lock (&self->servers_lock);
  for (guint k = 0; k < self->servers->len && found == NULL; k++)
    if (match (self, g_ptr_array_index (self->servers, k), data))
      found = g_ptr_array_index (self->servers, k);
  g_mutex_unlock (&self->servers_lock);
  return found;
}

/* ---- small helpers -------------------------------------------------------- */

GError *
rthunk_session_new_error (RthunkError  code,
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

/* Runs @func (once) in the thread that runs the session's context: here
 * when this thread owns the context, else from an idle source there. Not
 * g_main_context_invoke(): from a thread without a context of its own it
 * runs @func at once whenever it can take the global default context, so
 * cell code would run beside the main thread's. */
void
rthunk_session_invoke (RthunkSession  *self,
                       GSourceFunc     func,
                       gpointer        data,
                       GDestroyNotify  destroy)
{
  GSource *source;

  if (g_main_context_is_owner (self->context))
    {
      func (data);
      if (destroy != NULL)
        destroy (data);
      return;
    }
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, destroy);
  g_source_set_static_name (source, "[rthunk] session");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* Whether this thread may run the session's context while it waits: it
 * made the session, or the context is its thread default. */
gboolean
rthunk_session_may_iterate (RthunkSession *self)
{
  return g_thread_self () == self->thread || g_main_context_get_thread_default () == self->context;
}

/* ---- the object ------------------------------------------------------------------------------- */

/* Stops the cell's work; whoever waits for its future learns why. */
static void
cell_close (Cell *cell)
{
  g_autoptr(GError) error = rthunk_session_new_error (RTHUNK_ERROR_CANCELLED, _("the session was closed"));

  rthunk_session_cell_abandon (cell);
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
  /* no server joins any more */
  rthunk_cluster_unfollow_registry (session->cluster);
  g_signal_handlers_disconnect_by_data (session->cluster, session);
  g_mutex_lock (&session->servers_lock);
  for (guint k = 0; k < session->servers->len; k++)
    rthunk_collector_stop (((Server *) g_ptr_array_index (session->servers, k))->collector);
  g_mutex_unlock (&session->servers_lock);
  g_thread_pool_free (g_steal_pointer (&session->pool), FALSE, TRUE);
  rthunk_session_http_stop (session);
  if (session->embedded != NULL)
    rthunk_server_stop (session->embedded);
}

static void
rthunk_session_dispose (GObject *object)
{
  RthunkSession *self = RTHUNK_SESSION (object);

  rthunk_session_close (self);
  g_queue_clear_full (&self->ready, (GDestroyNotify) rthunk_session_cell_unref);
  g_hash_table_remove_all (self->readers);
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
  g_hash_table_unref (self->readers);
  g_hash_table_unref (self->cells);
  rthunk_shape_memo_clear (&self->reads_memo);
  g_ptr_array_unref (self->order);
  g_ptr_array_unref (self->anonymous);
  g_ptr_array_unref (self->servers);
  if (self->cluster != NULL)
    g_object_run_dispose (G_OBJECT (self->cluster));
  g_clear_object (&self->cluster);
  g_clear_object (&self->embedded);
  g_clear_object (&self->evaluator);
  g_clear_object (&self->checker);
  g_clear_object (&self->catalog);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->eval_lock);
  g_mutex_clear (&self->bind_lock);
  g_mutex_clear (&self->servers_lock);
  rthunk_session_place_clear (self);
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
    case PROP_CALL_TIMEOUT:
      g_value_set_uint (value, self->call_timeout_ms);
      break;
    case PROP_AUTO_PLACEMENT:
      g_value_set_boolean (value, self->auto_placement);
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
    case PROP_CALL_TIMEOUT:
      self->call_timeout_ms = g_value_get_uint (value);
      rthunk_cluster_set_call_timeout (self->cluster, self->call_timeout_ms);
      break;
    case PROP_AUTO_PLACEMENT:
      self->auto_placement = g_value_get_boolean (value);
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

  /**
   * RthunkSession:call-timeout-ms:
   *
   * The RthunkClient:call-timeout-ms of the clients of the servers added
   * from now on; 0 leaves their default.
   *
   * Since: 0.1
   */
  properties[PROP_CALL_TIMEOUT] =
    g_param_spec_uint ("call-timeout-ms", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * RthunkSession:auto-placement:
   *
   * Whether every top-level expression (not a definition, not one that
   * uses `remote`, `await`, `auto` or a splitting form) is evaluated as
   * `(auto EXPR)`: the session chooses where
   * it runs (see docs/distribution.md); rthunk_session_dup_why() says why.
   *
   * Since: 0.1
   */
  properties[PROP_AUTO_PLACEMENT] =
    g_param_spec_boolean ("auto-placement", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

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
  rthunk_session_signals[SIGNAL_CELL_DEFINED] =
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
  rthunk_session_signals[SIGNAL_CELL_CHANGED] =
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
  rthunk_session_signals[SIGNAL_CELL_FAILED] =
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
  self->thread = g_thread_self ();
  self->cells = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) rthunk_session_cell_unref);
  self->order = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_session_cell_unref);
  self->anonymous = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_session_cell_unref);
  self->readers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->servers = g_ptr_array_new_with_free_func (rthunk_session_server_free);
  self->cluster = rthunk_cluster_new ();
  g_signal_connect (self->cluster, "server-joined", G_CALLBACK (rthunk_session_on_server_joined), self);
  self->eval_budget_ms = -1;
  self->reads_memo.value_free = (GDestroyNotify) g_ptr_array_unref;
  g_mutex_init (&self->eval_lock);
  g_mutex_init (&self->bind_lock);
  g_mutex_init (&self->servers_lock);
  g_queue_init (&self->binds);
  g_queue_init (&self->ready);
  self->pool = g_thread_pool_new_full (rthunk_session_evaluation_run, self,
                                       (GDestroyNotify) rthunk_session_evaluation_unref,
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
  rthunk_evaluator_set_remote_func (self->evaluator, rthunk_session_remote_func, self, NULL);
  rthunk_evaluator_set_servers_func (self->evaluator, rthunk_session_servers_func, self, NULL);
  rthunk_session_place_init (self);
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
 * Gives the catalog of the functions the session runs itself.
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
 * Makes `(remote …)` evaluate in place, with no server, or not.
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
 * Tells whether `(remote …)` is evaluated in place.
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
 * Sets how long rthunk_session_eval() waits for a local evaluation before
 * it leaves it running as a pending cell.
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
 * Gives how long rthunk_session_eval() waits for a local evaluation before
 * it leaves it running as a pending cell.
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
 * Makes rthunk_session_eval() wait for each top-level expression before the
 * next form, as a script expects, or not.
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
 * Tells whether rthunk_session_eval() waits for each top-level expression
 * before the next form.
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
 * Sets the token sent with every call to a server started with `--token-
 * file`.
 *
 * Since: 0.1
 */
void
rthunk_session_set_token (RthunkSession *session,
                          const char    *token)
{
  g_return_if_fail (RTHUNK_IS_SESSION (session));

  rthunk_cluster_set_token (session->cluster, token);
}

/**
 * rthunk_session_set_tls:
 * @session: a session, before its servers are added
 * @ca_file: (nullable) (type filename): the authorities to trust; %NULL
 *   for the system's
 * @cert_file: (nullable) (type filename): a client certificate for mutual
 *   TLS, or %NULL
 * @key_file: (nullable) (type filename): its private key
 * @error: return location for a #GError
 *
 * Every server added from now on is reached over TLS, as
 * rthunk_client_set_tls() says.
 *
 * Returns: %TRUE when the files could be read; %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_session_set_tls (RthunkSession  *session,
                        const char     *ca_file,
                        const char     *cert_file,
                        const char     *key_file,
                        GError        **error)
{
  g_return_val_if_fail (RTHUNK_IS_SESSION (session), FALSE);

  return rthunk_cluster_set_tls (session->cluster, ca_file, cert_file, key_file, error);
}

/**
 * rthunk_session_get_cluster:
 * @session: a session
 *
 * Gives the cluster that routes the session's remote expressions.
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
