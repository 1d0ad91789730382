/* rthunk-log.h — the server's log: structured, to stderr or the journal
 *
 * Private to the server and the provider programs.
 */
#pragma once

#include <glib.h>

#include "rthunk-conn-account.h"
#include "rthunk-node.h"
#include "rthunk-thunk-table.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

typedef enum
{
  RTHUNK_LOG_TEXT,
  RTHUNK_LOG_JSON,
} RthunkLogFormat;

gboolean rthunk_log_parse_format   (const char          *text,
                                    RthunkLogFormat     *format,
                                    GError             **error);
void     rthunk_log_install        (RthunkLogFormat      format);
gboolean rthunk_log_debug_wanted   (void);
char    *rthunk_log_peer_of        (int                  fd);
const char *rthunk_log_function_of (RthunkNode          *expr);
const char *rthunk_log_client_of   (RthunkConnAccount   *account);
char     *rthunk_log_thunk_id      (RthunkThunkEntry    *entry);
void     rthunk_log_thunk_finished (RthunkThunkEntry    *entry,
                                    const GError        *error,
                                    const char          *how);
void     rthunk_log_refused        (const char          *what,
                                    const GError        *reason);
void     rthunk_log_refused_from   (const char          *client,
                                    const char          *what,
                                    const GError        *reason);

G_END_DECLS
