/* rthunk-notify.h — telling the service manager how the server is doing */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

G_GNUC_INTERNAL
gboolean rthunk_notify (const char  *state,
                        GError     **error);

G_END_DECLS
