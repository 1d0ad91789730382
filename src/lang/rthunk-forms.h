/* rthunk-forms.h — the special forms of the language, listed once.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-node.h"

G_BEGIN_DECLS

/* The forms the checker, the hasher and the compiler read other than as
 * calls; each keeps a table of its own indexed by these. */
typedef enum
{
  RTHUNK_FORM_PMAP,
  RTHUNK_FORM_PSUM,
  RTHUNK_FORM_PREDUCE,
  RTHUNK_FORM_IF,
  RTHUNK_FORM_DO,
  RTHUNK_FORM_AND,
  RTHUNK_FORM_OR,
  RTHUNK_FORM_LET,
  RTHUNK_FORM_FN,
  RTHUNK_FORM_DEF,
  RTHUNK_FORM_DEFN,
  RTHUNK_FORM_LOOP,
  RTHUNK_FORM_RECUR,
  RTHUNK_FORM_REMOTE,
  RTHUNK_FORM_AWAIT,
  RTHUNK_FORM_AUTO,
  RTHUNK_FORM_RECORD,
  RTHUNK_FORM_GET,
  RTHUNK_FORM_ASSOC,
  RTHUNK_N_FORMS
} RthunkForm;

gboolean    rthunk_form_lookup (const RthunkNode *head,
                                RthunkForm       *form);
const char *rthunk_form_name   (RthunkForm        form);

G_END_DECLS
