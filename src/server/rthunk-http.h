/* rthunk-http.h — rthunkd --http: the dashboard, /metrics and /api.  Private. */
#pragma once

#include <json-glib/json-glib.h>

#include "rthunk-metrics.h"
#include "rthunk-server.h"
#include "rthunk-thunk-table.h"

G_BEGIN_DECLS

/* The finished thunks /api/thunks lists, newest first. */
#define RTHUNK_HTTP_RECENT_THUNKS 200

typedef struct _RthunkHttp RthunkHttp;

RthunkHttp *rthunk_http_new      (RthunkServer      *server);
gboolean    rthunk_http_listen   (RthunkHttp        *http,
                                  const char        *host_port,
                                  GError           **error);
char       *rthunk_http_get_url  (RthunkHttp        *http);
void        rthunk_http_free     (RthunkHttp        *http);

/* rthunk-http-json.c: the bodies of /api/status and /api/thunks */
JsonNode   *rthunk_http_status_json (const char              *name,
                                     const RthunkServerStats *stats);
JsonNode   *rthunk_http_thunks_json (RthunkThunkTable        *table,
                                     guint                    max_finished);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkHttp, rthunk_http_free)

G_END_DECLS
