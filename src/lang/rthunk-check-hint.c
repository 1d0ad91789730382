/* rthunk-check-hint.c — what a type mismatch's message adds: a hint for
 * the mistakes people make most
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-check-private.h"

/* A hint for @found where @expected was due (" (hint: …)"), or "". */
const char *
rthunk_check_hint (RthunkType *expected,
                   RthunkType *found)
{
  RthunkTypeKind e = rthunk_type_get_kind (expected);
  RthunkTypeKind f = rthunk_type_get_kind (found);

  if ((e == RTHUNK_TYPE_INT && f == RTHUNK_TYPE_FLOAT) ||
      (e == RTHUNK_TYPE_FLOAT && f == RTHUNK_TYPE_INT))
    return _(" (hint: int and float do not mix; convert with (float x) or (int x))");
  if (e == RTHUNK_TYPE_VAR && rthunk_type_get_class (expected) == RTHUNK_TYPE_CLASS_EQ &&
      f == RTHUNK_TYPE_FUNC)
    return _(" (functions cannot be compared)");
  return "";
}
