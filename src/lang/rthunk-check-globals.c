/* rthunk-check-globals.c — the checker's global names, and taking them back
 *
 * A checker binds a name when it checks a top-level def or defn, or when
 * it is told to (rthunk_checker_bind()). A session checks every form of a
 * text, and re-checks the cells that read each name defined, before it
 * commits any of them; when a later form fails to check, or a definition
 * fails as it runs, the forms after it are not committed, and the types
 * their checks bound must not stay behind: a cell would keep the value of
 * its last committed definition while the checker typed it by one that
 * never ran. So from rthunk_checker_begin() to its _end(), every binding
 * remembers what it replaced, and a rollback puts that back, last first.
 */
#include "config.h"

#include <string.h>

#include "rthunk-check-private.h"
#include "rthunk-lang-private.h"
#include "rthunk-type-private.h"

typedef struct
{
  char *name;
  RthunkType *scheme;            /* (nullable) what @name was bound to before */
  gboolean definition;           /* and whether by defn */
} Undo;

static void
undo_clear (gpointer data)
{
  Undo *undo = data;

  g_free (undo->name);
  g_clear_pointer (&undo->scheme, rthunk_type_unref);
}

void
rthunk_check_globals_init (RthunkCheckGlobals *globals)
{
  globals->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rthunk_type_unref);
  globals->definitions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  globals->undo = NULL;
  globals->depth = 0;
  globals->nested = FALSE;
  globals->version = 0;
}

/* Forgets every name (not between a begin and its end: a position
 * handed out would mean nothing). */
void
rthunk_check_globals_clear (RthunkCheckGlobals *globals)
{
  g_return_if_fail (globals->depth == 0);

  g_hash_table_remove_all (globals->types);
  g_hash_table_remove_all (globals->definitions);
  globals->version++;
}

void
rthunk_check_globals_destroy (RthunkCheckGlobals *globals)
{
  g_clear_pointer (&globals->types, g_hash_table_unref);
  g_clear_pointer (&globals->definitions, g_hash_table_unref);
  g_clear_pointer (&globals->undo, g_array_unref);
}

/* Binds @name to @scheme (or unbinds it, NULL) without remembering. */
static void
bind (RthunkCheckGlobals *globals,
      const char         *name,
      RthunkType         *scheme,
      gboolean            definition)
{
  if (scheme != NULL)
    g_hash_table_replace (globals->types, g_strdup (name), scheme);
  else
    g_hash_table_remove (globals->types, name);
  if (definition)
    g_hash_table_add (globals->definitions, g_strdup (name));
  else
    g_hash_table_remove (globals->definitions, name);
  globals->version++;
}

void
rthunk_check_globals_set (RthunkCheckGlobals *globals,
                          const char         *name,
                          RthunkType         *scheme,
                          gboolean            definition)
{
  if (globals->depth > 0)
    {
      RthunkType *before = g_hash_table_lookup (globals->types, name);
      Undo undo = { g_strdup (name), before != NULL ? rthunk_type_ref (before) : NULL,
                    g_hash_table_contains (globals->definitions, name) };

      if (globals->undo == NULL)
        {
          globals->undo = g_array_new (FALSE, FALSE, sizeof (Undo));
          g_array_set_clear_func (globals->undo, undo_clear);
        }
      g_array_append_val (globals->undo, undo);
    }
  bind (globals, name, scheme, definition);
}

guint
rthunk_checker_begin (RthunkChecker *checker)
{
  RthunkCheckGlobals *globals = rthunk_check_globals_of (checker);

  /* a text evaluated while another is committed (from a signal's
   * handler, say) binds names after the positions of the first: to take
   * those back would take the second's too, so neither rolls back */
  if (globals->depth++ > 0)
    globals->nested = TRUE;
  return rthunk_checker_position (checker);
}

guint
rthunk_checker_position (RthunkChecker *checker)
{
  RthunkCheckGlobals *globals = rthunk_check_globals_of (checker);

  return globals->undo != NULL ? globals->undo->len : 0;
}

/* Undoes the bindings made since @position, the last first. */
void
rthunk_checker_rollback (RthunkChecker *checker,
                         guint          position)
{
  RthunkCheckGlobals *globals = rthunk_check_globals_of (checker);

  while (!globals->nested && globals->undo != NULL && globals->undo->len > position)
    {
      Undo *undo = &g_array_index (globals->undo, Undo, globals->undo->len - 1);

      bind (globals, undo->name, g_steal_pointer (&undo->scheme), undo->definition);
      g_array_set_size (globals->undo, globals->undo->len - 1);
    }
}

gboolean
rthunk_checker_rebound_same (RthunkChecker *checker,
                             const char    *name,
                             guint          position)
{
  RthunkCheckGlobals *globals = rthunk_check_globals_of (checker);
  RthunkType *now = g_hash_table_lookup (globals->types, name);

  for (guint k = position; globals->undo != NULL && k < globals->undo->len; k++)
    {
      Undo *undo = &g_array_index (globals->undo, Undo, k);

      if (strcmp (undo->name, name) == 0)
        return undo->scheme != NULL && now != NULL &&
               undo->definition == g_hash_table_contains (globals->definitions, name) &&
               rthunk_type_equal (undo->scheme, now);
    }
  return FALSE;
}

void
rthunk_checker_end (RthunkChecker *checker)
{
  RthunkCheckGlobals *globals = rthunk_check_globals_of (checker);

  g_return_if_fail (globals->depth > 0);
  if (--globals->depth > 0)
    return;
  g_clear_pointer (&globals->undo, g_array_unref);
  globals->nested = FALSE;
}

/**
 * rthunk_checker_bind:
 * @checker: a checker
 * @name: a global name
 * @type: its type (variables in it are quantified)
 *
 * Binds @name, as `def` would, e.g. for a session cell or a value sent
 * with a request.
 *
 * Since: 0.1
 */
void
rthunk_checker_bind (RthunkChecker *checker,
                     const char    *name,
                     RthunkType    *type)
{
  g_return_if_fail (RTHUNK_IS_CHECKER (checker));
  g_return_if_fail (name != NULL && type != NULL);

  rthunk_check_globals_set (rthunk_check_globals_of (checker), name, rthunk_type_resolve (type), FALSE);
}

/**
 * rthunk_checker_lookup:
 * @checker: a checker
 * @name: a global name
 *
 * Finds the type of a global name: one bound by a checked `def` or `defn`,
 * or with rthunk_checker_bind().
 *
 * Returns: (transfer none) (nullable): the type bound to @name
 *
 * Since: 0.1
 */
RthunkType *
rthunk_checker_lookup (RthunkChecker *checker,
                       const char    *name)
{
  g_return_val_if_fail (RTHUNK_IS_CHECKER (checker), NULL);

  return g_hash_table_lookup (rthunk_check_globals_of (checker)->types, name);
}
