/* rthunk-forms.c — the special forms of the language, listed once
 *
 * A list whose head is one of these names is a special form wherever the
 * name is not rebound; the checker, the hasher, the compiler and the
 * session's completion all find the forms here.
 */
#include "config.h"

#include "rthunk-forms.h"
#include "rthunk-node.h"

static const char *const form_names[RTHUNK_N_FORMS] = {
  [RTHUNK_FORM_PMAP] = "pmap",
  [RTHUNK_FORM_PSUM] = "psum",
  [RTHUNK_FORM_PREDUCE] = "preduce",
  [RTHUNK_FORM_IF] = "if",
  [RTHUNK_FORM_DO] = "do",
  [RTHUNK_FORM_AND] = "and",
  [RTHUNK_FORM_OR] = "or",
  [RTHUNK_FORM_LET] = "let",
  [RTHUNK_FORM_FN] = "fn",
  [RTHUNK_FORM_DEF] = "def",
  [RTHUNK_FORM_DEFN] = "defn",
  [RTHUNK_FORM_LOOP] = "loop",
  [RTHUNK_FORM_RECUR] = "recur",
  [RTHUNK_FORM_REMOTE] = "remote",
  [RTHUNK_FORM_AWAIT] = "await",
  [RTHUNK_FORM_AUTO] = "auto",
  [RTHUNK_FORM_RECORD] = "record",      /* what the reader makes of {:k v …} */
  [RTHUNK_FORM_GET] = "get",
  [RTHUNK_FORM_ASSOC] = "assoc",
};

/* Whether @head (the first item of a list) names a special form, and
 * which in *@form. */
gboolean
rthunk_form_lookup (const RthunkNode *head,
                    RthunkForm       *form)
{
  if (rthunk_node_get_kind (head) != RTHUNK_NODE_SYMBOL)
    return FALSE;
  for (guint k = 0; k < RTHUNK_N_FORMS; k++)
    if (rthunk_node_is_symbol (head, form_names[k]))
      {
        *form = (RthunkForm) k;
        return TRUE;
      }
  return FALSE;
}

/* The name of @form, as it is written. */
const char *
rthunk_form_name (RthunkForm form)
{
  g_assert (form < RTHUNK_N_FORMS);
  return form_names[form];
}
