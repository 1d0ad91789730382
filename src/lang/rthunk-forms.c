/* rthunk-forms.c — the special forms of the language, listed once
 *
 * A list whose head is one of these names is a special form wherever the
 * name is not rebound; the checker, the hasher, the compiler and the
 * session's completion all find the forms here.
 */
#include "config.h"

#include <string.h>

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

/* The forms whose name begins with each letter, ended by RTHUNK_N_FORMS:
 * asked of every list by the checker, hasher, compiler and session of
 * both sides, the lookup compares a symbol with at most four names (it
 * went through all of them, 1.6k instructions a line of the shell's mix). */
#define FORMS_A_LETTER 5

static guint8 forms_by_letter[26][FORMS_A_LETTER];

static void
index_forms (void)
{
  static gsize indexed;

  if (g_once_init_enter (&indexed))
    {
      guint n[26] = { 0, };

      memset (forms_by_letter, RTHUNK_N_FORMS, sizeof forms_by_letter);
      for (guint k = 0; k < RTHUNK_N_FORMS; k++)
        {
          guint letter = (guint) (form_names[k][0] - 'a');

          g_assert (letter < 26 && n[letter] < FORMS_A_LETTER - 1);
          forms_by_letter[letter][n[letter]++] = (guint8) k;
        }
      g_once_init_leave (&indexed, 1);
    }
}

/* Whether @head (the first item of a list) names a special form, and
 * which in *@form. */
gboolean
rthunk_form_lookup (const RthunkNode *head,
                    RthunkForm       *form)
{
  const char *name;
  const guint8 *k;

  if (rthunk_node_get_kind (head) != RTHUNK_NODE_SYMBOL)
    return FALSE;
  name = rthunk_node_get_text (head);
  if (name[0] < 'a' || name[0] > 'z')
    return FALSE;
  index_forms ();
  for (k = forms_by_letter[name[0] - 'a']; *k != RTHUNK_N_FORMS; k++)
    if (name[1] == form_names[*k][1] && strcmp (name, form_names[*k]) == 0)
      {
        *form = (RthunkForm) *k;
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
