/* rthunk-cluster-state.c — where a form that uses state cells runs
 *
 * A state cell lives on one server: a form that calls state-get,
 * state-swap! or state-cas! (catalog flag state) runs on the server that
 * holds the cell. Without `:on`, that server is chosen among those up
 * with capability `state` by rendezvous hashing: the one whose name
 * hashed with the cell's name weighs most. Every client that sees the
 * same servers picks the same one, and a server that joins or leaves
 * moves only the cells it wins or held. The cell's name must be a string
 * literal in the form for that; otherwise `:on` must say where it runs.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-cluster-internal.h"
#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-node.h"

typedef struct
{
  RthunkCluster *cluster;
  GHashTable *definitions;      /* (nullable) name → defn form */
  GHashTable *seen_defs;
  GPtrArray *cells;             /* the literal cell names, in order */
  const char *dynamic;          /* a state function whose cell is not a literal */
} Walk;

static gboolean
is_state_function (RthunkCluster *self,
                   RthunkNode    *node)
{
  RthunkFuncDef *def;

  if (rthunk_node_get_kind (node) != RTHUNK_NODE_SYMBOL)
    return FALSE;
  def = rthunk_catalog_lookup (self->catalog, rthunk_node_get_text (node));
  return def != NULL && (rthunk_func_def_get_flags (def) & RTHUNK_FUNC_STATE) != 0;
}

static void walk_node (Walk *walk, RthunkNode *node);

/* A name: a state function used as a value, or a definition to look into. */
static void
walk_symbol (Walk       *walk,
             RthunkNode *node)
{
  const char *name = rthunk_node_get_text (node);
  RthunkNode *form = walk->definitions != NULL ? g_hash_table_lookup (walk->definitions, name) : NULL;

  if (form != NULL && !g_hash_table_contains (walk->seen_defs, name))
    {
      g_hash_table_add (walk->seen_defs, (gpointer) name);
      walk_node (walk, form);
    }
  else if (form == NULL && is_state_function (walk->cluster, node))
    walk->dynamic = name;
}

static void
walk_node (Walk       *walk,
           RthunkNode *node)
{
  guint n = rthunk_node_get_n_items (node);
  guint from = 0;

  if (rthunk_node_get_kind (node) == RTHUNK_NODE_SYMBOL)
    {
      walk_symbol (walk, node);
      return;
    }
  if (rthunk_node_get_kind (node) == RTHUNK_NODE_LIST && n > 0 &&
      is_state_function (walk->cluster, rthunk_node_get_item (node, 0)))
    {
      RthunkNode *cell = n > 1 ? rthunk_node_get_item (node, 1) : NULL;

      if (cell != NULL && rthunk_node_get_kind (cell) == RTHUNK_NODE_STR)
        g_ptr_array_add (walk->cells, (gpointer) rthunk_node_get_text (cell));
      else
        walk->dynamic = rthunk_node_get_text (rthunk_node_get_item (node, 0));
      from = 1;
    }
  for (guint k = from; k < n; k++)
    walk_node (walk, rthunk_node_get_item (node, k));
}

/* FNV-1a over the cell's name and the server's, then mixed (the
 * finalizer of splitmix64): the weight of @server for @cell. */
static guint64
weight (const char *cell,
        const char *server)
{
  guint64 h = 0xcbf29ce484222325ull;

  for (const char *p = cell; *p != '\0'; p++)
    h = (h ^ (guint8) *p) * 0x100000001b3ull;
  h = (h ^ 0xff) * 0x100000001b3ull;
  for (const char *p = server; *p != '\0'; p++)
    h = (h ^ (guint8) *p) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/* The name of the server, up with capability state, that holds @cell;
 * NULL if there is none. */
static char *
home_of (RthunkCluster *self,
         const char    *cell)
{
  const char *best = NULL;
  guint64 best_weight = 0;
  char *home;

  g_mutex_lock (&self->lock);
  for (guint k = 0; k < self->members->len; k++)
    {
      Member *m = g_ptr_array_index (self->members, k);
      const char *const *caps = rthunk_client_get_capabilities (m->client);
      const char *name = rthunk_cluster_member_name (m);
      guint64 w;

      if (m->state != RTHUNK_MEMBER_UP || m->quarantined || caps == NULL || !g_strv_contains (caps, "state"))
        continue;
      w = weight (cell, name);
      if (best == NULL || w > best_weight || (w == best_weight && strcmp (name, best) < 0))
        {
          best = name;
          best_weight = w;
        }
    }
  home = g_strdup (best);
  g_mutex_unlock (&self->lock);
  return home;
}

/* The one server that holds every cell of @cells, or NULL with @error. */
static char *
home_of_all (RthunkCluster  *self,
             GPtrArray      *cells,
             GError        **error)
{
  g_autofree char *home = NULL;

  for (guint k = 0; k < cells->len; k++)
    {
      const char *cell = g_ptr_array_index (cells, k);
      g_autofree char *here = home_of (self, cell);

      if (here == NULL)
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                       _("no server that is up has capability “state” to hold the state cell “%s”"), cell);
          return NULL;
        }
      if (home != NULL && strcmp (home, here) != 0)
        {
          g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                       _("the state cells “%s” and “%s” are held by different servers (%s and %s): "
                         "use them in separate forms"),
                       (const char *) g_ptr_array_index (cells, 0), cell, home, here);
          return NULL;
        }
      if (home == NULL)
        home = g_steal_pointer (&here);
    }
  return g_steal_pointer (&home);
}

/* Where @expr must run because of the state cells it uses: *@home is the
 * server holding them, or NULL when it uses none or @on already says
 * where it runs; *@uses_state whether it uses any. FALSE with @error when
 * the cell's server cannot be known: a name that is not a string literal
 * without @on, or cells held by different servers. */
gboolean
rthunk_cluster_state_route (RthunkCluster  *self,
                            RthunkNode     *expr,
                            GHashTable     *definitions,
                            const char     *on,
                            gboolean       *uses_state,
                            char          **home,
                            GError        **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) cells = g_ptr_array_new ();
  Walk walk = { self, definitions, seen, cells, NULL };

  *home = NULL;
  walk_node (&walk, expr);
  *uses_state = cells->len > 0 || walk.dynamic != NULL;
  if (!*uses_state || on != NULL)
    return TRUE;
  if (walk.dynamic != NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("%s is given a state cell's name that is not a string literal: the server holding "
                     "the cell cannot be known; say where it runs with (remote :on SERVER …)"), walk.dynamic);
      return FALSE;
    }
  return (*home = home_of_all (self, cells, error)) != NULL;
}
