/* rthunk-core-private.h — helpers shared inside librthunk's core layer
 * and everything above it, never installed */
#pragma once

#include <glib.h>
#include <glib/gi18n-lib.h>

#include "rthunk-error.h"

G_BEGIN_DECLS

void rthunk_set_pos_error_valist (GError     **error,
                                  const char  *source,
                                  guint        line,
                                  guint        col,
                                  RthunkError  code,
                                  const char  *format,
                                  va_list      args) G_GNUC_PRINTF (6, 0);
void rthunk_set_pos_error (GError     **error,
                           const char  *source,
                           guint        line,
                           guint        col,
                           RthunkError  code,
                           const char  *format,
                           ...) G_GNUC_PRINTF (6, 7);

const char *rthunk_nearest_name (const char        *name,
                                 const char *const *candidates,
                                 guint              n);

void rthunk_random_id (guint8 *out,
                       gsize   len);

G_END_DECLS
