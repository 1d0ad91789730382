/* rthunk-check-provided.c — calls of provided functions, typed by their
 * data source
 *
 * A provided function (RTHUNK_FUNC_PROVIDED) publishes a general
 * signature, `(str {| p} -> [r])` say, and its data source gives the
 * exact type of each call from the string literal that is the call's first
 * argument, as F# type providers do: the columns of an SQL statement, the
 * header of a CSV file. The checker asks the function's own provider when
 * it has one (a server checking what it runs), else the RthunkTypeAskFunc
 * the layer above gave it (a client or a session, which ask the server's
 * provideType and keep the answers by literal). The answer must be an
 * instance of the signature; the call is then checked against it.
 *
 * Both memos by shape stay right: the text of the string literal a
 * provided function is called with is part of a tree's shape
 * (rthunk-encode-memo.c; rthunk-decode-memo.c keeps every string's), so
 * two calls with different literals never share a check.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"

/* The data source's answer for @literal, or NULL with @error set (no
 * position yet). */
static RthunkType *
ask_source (RthunkFuncDef      *def,
            const char         *literal,
            RthunkTypeAskFunc   ask,
            gpointer            ask_data,
            GError            **error)
{
  if (rthunk_func_def_has_provider (def))
    return rthunk_func_def_provide_type (def, literal, error);
  if (ask != NULL)
    return ask (def, literal, ask_data, error);
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_UNKNOWN_FUNCTION,
               _("no server can be asked for the type of this call here"));
  return NULL;
}

/* Whether @answer is a function type of @def's arity taking a string
 * first, as a provider must answer. */
static gboolean
is_call_type (RthunkFuncDef *def,
              RthunkType    *answer)
{
  return rthunk_type_get_kind (answer) == RTHUNK_TYPE_FUNC &&
         rthunk_type_get_n_children (answer) == rthunk_func_def_get_arity (def) + 1 &&
         rthunk_type_get_kind (rthunk_type_get_child (answer, 0)) == RTHUNK_TYPE_STR;
}

/* Where a checker keeps its asker: with the object, so that the checker's
 * own file knows nothing of it. */
typedef struct
{
  RthunkTypeAskFunc ask;
  gpointer data;
} Asker;

#define ASKER_KEY "rthunk-type-ask"

void
rthunk_checker_set_type_ask (RthunkChecker     *checker,
                             RthunkTypeAskFunc  ask,
                             gpointer           user_data)
{
  Asker *asker = g_new (Asker, 1);

  asker->ask = ask;
  asker->data = user_data;
  g_object_set_data_full (G_OBJECT (checker), ASKER_KEY, asker, g_free);
}

gboolean
rthunk_check_provided_call (RthunkChecker      *checker,
                            RthunkFuncDef      *def,
                            RthunkNode         *form,
                            RthunkType        **callee,
                            guint               level,
                            guint              *next_var,
                            GError            **error)
{
  Asker *asker = g_object_get_data (G_OBJECT (checker), ASKER_KEY);
  const char *name = rthunk_func_def_get_name (def);
  RthunkNode *literal = rthunk_node_get_n_items (form) > 1 ? rthunk_node_get_item (form, 1) : form;
  g_autoptr(RthunkType) answer = NULL;
  g_autoptr(RthunkType) call = NULL;
  g_autoptr(GError) refused = NULL;
  g_autofree char *text = NULL;

  if (!(rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PROVIDED) ||
      rthunk_node_get_n_items (form) - 1 != rthunk_func_def_get_arity (def))
    return TRUE;
  if (rthunk_node_get_kind (literal) != RTHUNK_NODE_STR)
    {
      rthunk_set_node_error (error, literal, RTHUNK_ERROR_TYPE_MISMATCH,
                             _("%s takes a string literal first: the type of the call comes from "
                               "its data source when it is checked"), name);
      return FALSE;
    }
  answer = ask_source (def, rthunk_node_get_text (literal), asker != NULL ? asker->ask : NULL,
                       asker != NULL ? asker->data : NULL, &refused);
  if (answer == NULL)
    {
      g_autofree char *prefix = g_strconcat (name, ": ", NULL);

      /* the provider's message may name the function already */
      if (g_error_matches (refused, RTHUNK_ERROR, RTHUNK_ERROR_TYPE_MISMATCH))
        rthunk_set_node_error (error, literal, RTHUNK_ERROR_TYPE_MISMATCH, "%s%s",
                               g_str_has_prefix (refused->message, prefix) ? "" : prefix, refused->message);
      else
        rthunk_set_node_error (error, literal, refused->domain == RTHUNK_ERROR ? refused->code : RTHUNK_ERROR_INTERNAL,
                               _("%s: the type of this call could not be asked of its data source: %s"),
                               name, refused->message);
      return FALSE;
    }
  call = rthunk_type_instantiate (answer, level, next_var);
  if (is_call_type (def, call) && rthunk_type_unify (*callee, call))
    {
      rthunk_type_unref (*callee);
      *callee = g_steal_pointer (&call);
      return TRUE;
    }
  text = rthunk_type_to_string (answer);
  rthunk_set_node_error (error, literal, RTHUNK_ERROR_PROTOCOL,
                         _("%s: its data source answered the type %s, which is not one of its signature %s"),
                         name, text, rthunk_func_def_get_signature (def));
  return FALSE;
}

gboolean
rthunk_check_provided_value (RthunkFuncDef  *def,
                             RthunkNode     *node,
                             GError        **error)
{
  if (!(rthunk_func_def_get_flags (def) & RTHUNK_FUNC_PROVIDED))
    return TRUE;
  rthunk_set_node_error (error, node, RTHUNK_ERROR_TYPE_MISMATCH,
                         _("%s cannot be used as a value: call it with a string literal, "
                           "whose type its data source gives"), rthunk_func_def_get_name (def));
  return FALSE;
}
