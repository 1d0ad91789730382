/* rthunk-error.c — the error domain of librthunk */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-error.h"
#include "rthunk-core-private.h"

/**
 * rthunk_error_quark:
 *
 * Gives the error domain of librthunk, %RTHUNK_ERROR; its codes are
 * #RthunkError, the same as the wire protocol's `ErrorCode`.
 *
 * Returns: the quark of `rthunk-error-quark`
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (rthunk-error-quark, rthunk_error)

/* "SOURCE:LINE:COL: error: MESSAGE": how every positioned error reads. */
void
rthunk_set_pos_error_valist (GError     **error,
                             const char  *source,
                             guint        line,
                             guint        col,
                             RthunkError  code,
                             const char  *format,
                             va_list      args)
{
  g_autofree char *message = NULL;

  if (error == NULL)
    return;
  message = g_strdup_vprintf (format, args);
  g_set_error (error, RTHUNK_ERROR, code, _("%s:%u:%u: error: %s"),
               source != NULL ? source : "<input>", line, col, message);
}
