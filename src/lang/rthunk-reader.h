/* rthunk-reader.h — text to AST */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */


G_BEGIN_DECLS

/**
 * RthunkReadStatus:
 * @RTHUNK_READ_COMPLETE: the text is one or more complete forms
 * @RTHUNK_READ_INCOMPLETE: a form or string is still open: more lines follow
 * @RTHUNK_READ_INVALID: the text cannot be read, whatever follows
 *
 * What rthunk_reader_check_complete() found.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_READ_COMPLETE,
  RTHUNK_READ_INCOMPLETE,
  RTHUNK_READ_INVALID,
} RthunkReadStatus;

RTHUNK_AVAILABLE_IN_0_1
GPtrArray        *rthunk_reader_read_all        (const char  *source,
                                                 const char  *text,
                                                 gssize       length,
                                                 GError     **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkReadStatus  rthunk_reader_check_complete  (const char  *text);

G_END_DECLS
